/* A traced program that forks: both processes record spans.  For
 * test_trace_env.sh: with VITTE_TRACE=...%p... each writes its own file; the
 * child also checks that it is tracing to a file of its own. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vitte/vitte.h>

static void parent_work(void)
{
    for (int i = 0; i < 100; i++) {
        VITTE_TRACE_SCOPE_M("work", "parent");
    }
}

static void child_work(void)
{
    for (int i = 0; i < 100; i++) {
        VITTE_TRACE_SCOPE_M("work", "child");
    }
}

int main(void)
{
    parent_work();
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        child_work();
        /* exit() runs the atexit handler that finishes the child's trace. */
        return vitte_tracer_active() != NULL ? 0 : 3;
    }
    int status;
    waitpid(pid, &status, 0);
    parent_work();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}
