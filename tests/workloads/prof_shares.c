/* A workload with known CPU shares, for the profiler's tests
 * (tests/scripts/test_run_profile.sh): each thread spends about 60% of its
 * CPU time in heavy(), 30% in medium() (under a recursion five calls deep)
 * and 10% in lib_work() of a shared library (prof_lib.c).
 *
 *   prof_shares [UNITS] [THREADS]     exit status 7 (to test pass-through)
 *   prof_shares --crash               work, then a SIGSEGV
 *   prof_shares --fork-exec PROGRAM   work, then fork and exec PROGRAM */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

double lib_work(long n); /* prof_lib.c */

static volatile double sink;
static long g_units = 40;

__attribute__((noinline)) static double heavy(long n)
{
    double x = 1;
    for (long i = 0; i < n; i++)
        x = x * 1.0000001 + (double)i * 1e-9;
    sink = x; /* a side effect: the calls cannot be hoisted out of the loop */
    return x;
}

__attribute__((noinline)) static double medium(long n)
{
    double x = 2;
    for (long i = 0; i < n; i++)
        x = x * 0.9999999 + (double)i * 2e-9;
    sink = x;
    return x;
}

__attribute__((noinline)) static double recurse(int depth, long n)
{
    if (depth == 0)
        return medium(n);
    double r = recurse(depth - 1, n);
    sink = r; /* not a tail call */
    return r + depth;
}

#define UNIT 1000000L

static void *worker(void *arg)
{
    (void)arg;
    for (long u = 0; u < g_units; u++) {
        sink = heavy(6 * UNIT);
        sink = recurse(5, 3 * UNIT);
        sink = lib_work(1 * UNIT);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1;
    if (argc > 1 && strcmp(argv[1], "--crash") == 0) {
        g_units = 20;
        worker(NULL);
        volatile int *p = NULL;
        *p = 1;
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--fork-exec") == 0) {
        g_units = 10;
        worker(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            execv(argv[2], argv + 2);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    }
    if (argc > 1)
        g_units = atol(argv[1]);
    if (argc > 2)
        threads = atoi(argv[2]);
    pthread_t t[64];
    for (int i = 1; i < threads && i < 64; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    worker(NULL);
    for (int i = 1; i < threads && i < 64; i++)
        pthread_join(t[i], NULL);
    printf("prof_shares: done\n");
    return 7;
}
