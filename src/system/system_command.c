/* Running a command for `vitte stat`: fork, open perf_event counters on the
 * child while it waits on a pipe, let it exec (the counters start at the
 * exec: enable_on_exec), then wait4() for its rusage and read the counters.
 *
 * The child runs only async-signal-safe calls between fork and exec (read,
 * execve, write, _exit): the program is looked up in PATH before the fork,
 * so this is safe in a multi-threaded caller. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "system/system_internal.h"

extern char **environ;

static const struct {
    uint32_t type;
    uint64_t config;
    const char *name;
} events[VITTE_PERF_EVENT_COUNT] = {
    [VITTE_PERF_TASK_CLOCK] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, "task-clock"},
    [VITTE_PERF_CONTEXT_SWITCHES] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES,
                                     "context-switches"},
    [VITTE_PERF_CPU_MIGRATIONS] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS,
                                   "cpu-migrations"},
    [VITTE_PERF_PAGE_FAULTS] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "page-faults"},
    [VITTE_PERF_CYCLES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "cycles"},
    [VITTE_PERF_INSTRUCTIONS] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, "instructions"},
    [VITTE_PERF_BRANCHES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, "branches"},
    [VITTE_PERF_BRANCH_MISSES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, "branch-misses"},
    [VITTE_PERF_CACHE_MISSES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, "cache-misses"},
};

const char *vitte_perf_event_name(vitte_perf_event event)
{
    if ((unsigned)event >= VITTE_PERF_EVENT_COUNT)
        return NULL;
    return events[event].name;
}

const char *vitte_perf_status_name(vitte_perf_status status)
{
    switch (status) {
    case VITTE_PERF_OK:
        return "ok";
    case VITTE_PERF_NOT_REQUESTED:
        return "not requested";
    case VITTE_PERF_NOT_SUPPORTED:
        return "not supported";
    case VITTE_PERF_NOT_PERMITTED:
        return "not permitted";
    case VITTE_PERF_NOT_COUNTED:
        return "not counted";
    }
    return "unknown";
}

void vitte_command_config_init(vitte_command_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->perf_events = (1u << VITTE_PERF_EVENT_COUNT) - 1;
}

struct vitte_command {
    pid_t pid;
    int waited;
    uint64_t t0_ns; /* CLOCK_MONOTONIC when the child was let go */
    int fd[VITTE_PERF_EVENT_COUNT];
    vitte_perf_status status[VITTE_PERF_EVENT_COUNT];
    int user_only[VITTE_PERF_EVENT_COUNT];
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- perf_event ----------------------------------------------------------------------- */

static int perf_open(pid_t pid, vitte_perf_event e, int user_only)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = events[e].type;
    attr.config = events[e].config;
    attr.disabled = 1;
    attr.enable_on_exec = 1; /* count the program, not the fork and the wait */
    attr.inherit = 1;        /* and the threads and children it creates */
    attr.exclude_kernel = user_only ? 1 : 0;
    attr.exclude_hv = user_only ? 1 : 0;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    long fd = syscall(SYS_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -1 : (int)fd;
}

/* Open each counter on its own: one refused (no PMU) leaves the others.
 * Kernel and user mode first; user mode alone when the kernel refuses the
 * first (perf_event_paranoid 2 for an unprivileged user). */
static void open_counters(vitte_command *c, uint32_t mask)
{
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++) {
        c->fd[e] = -1;
        c->user_only[e] = 0;
        if (!(mask & (1u << e))) {
            c->status[e] = VITTE_PERF_NOT_REQUESTED;
            continue;
        }
        int fd = perf_open(c->pid, (vitte_perf_event)e, 0);
        if (fd < 0 && (errno == EACCES || errno == EPERM)) {
            fd = perf_open(c->pid, (vitte_perf_event)e, 1);
            c->user_only[e] = fd >= 0;
        }
        if (fd >= 0) {
            c->fd[e] = fd;
            c->status[e] = VITTE_PERF_OK;
        } else if (errno == EACCES || errno == EPERM) {
            c->status[e] = VITTE_PERF_NOT_PERMITTED;
        } else {
            /* ENOENT (no PMU, e.g. a VM), EOPNOTSUPP, ENODEV, ENOSYS, ... */
            c->status[e] = VITTE_PERF_NOT_SUPPORTED;
        }
    }
}

static void close_counters(vitte_command *c)
{
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++) {
        if (c->fd[e] >= 0)
            close(c->fd[e]);
        c->fd[e] = -1;
    }
}

static void read_counter(vitte_command *c, int e, vitte_perf_value *v)
{
    v->status = c->status[e];
    v->user_only = c->user_only[e];
    v->value = 0;
    v->running_ratio = 0;
    if (c->fd[e] < 0)
        return;
    uint64_t r[3]; /* value, time enabled, time running */
    ssize_t n;
    do
        n = read(c->fd[e], r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof r || r[1] == 0 || r[2] == 0) {
        v->status = VITTE_PERF_NOT_COUNTED; /* never scheduled (or never exec'd) */
        return;
    }
    v->running_ratio = (double)r[2] / (double)r[1];
    /* Multiplexed: scale up to the whole enabled time, as perf stat does. */
    v->value = r[2] < r[1] ? (uint64_t)((double)r[0] * (double)r[1] / (double)r[2]) : r[0];
}

/* ---- starting ----------------------------------------------------------------------------- */

static int is_executable_file(const char *path, int *exists)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISDIR(st.st_mode))
        return 0;
    *exists = 1;
    return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0; /* as execve will judge */
}

/* The file execvp() would run, allocated; *status says why there is none. */
static char *find_program(const char *name, int *status)
{
    int exists = 0;
    if (strchr(name, '/') != NULL) {
        if (is_executable_file(name, &exists))
            return vitte__strdup(name);
        *status = exists ? VITTE_EPERM : VITTE_ENOENT;
        if (!exists && access(name, F_OK) == 0)
            *status = VITTE_EPERM; /* a directory */
        return NULL;
    }
    if (name[0] == '\0') {
        *status = VITTE_ENOENT;
        return NULL;
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin"; /* glibc's default */
    size_t nl = strlen(name);
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t dl = end != NULL ? (size_t)(end - p) : strlen(p);
        char *full = vitte__malloc(dl + nl + 3);
        if (full == NULL) {
            *status = VITTE_ENOMEM;
            return NULL;
        }
        if (dl == 0) { /* an empty entry is the current directory */
            full[0] = '.';
            dl = 1;
        } else {
            memcpy(full, p, dl);
        }
        full[dl] = '/';
        memcpy(full + dl + 1, name, nl + 1);
        if (is_executable_file(full, &exists))
            return full;
        vitte__free(full);
        if (end == NULL)
            break;
        p = end + 1;
    }
    *status = exists ? VITTE_EPERM : VITTE_ENOENT;
    return NULL;
}

static int exec_status(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        return VITTE_ENOENT;
    case EACCES:
    case EPERM:
    case EISDIR:
        return VITTE_EPERM;
    case ENOEXEC:
        return VITTE_EFORMAT;
    case ENOMEM:
        return VITTE_ENOMEM;
    default:
        return VITTE_EIO;
    }
}

static void write_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

int vitte_command_start(const vitte_command_config *cfg, char *const argv[], vitte_command **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (argv == NULL || argv[0] == NULL)
        return VITTE_EINVAL;
    vitte_command_config c;
    vitte_command_config_init(&c);
    if (cfg != NULL) {
        if (cfg->struct_size < sizeof(uint32_t) || cfg->struct_size > sizeof c)
            return VITTE_EINVAL;
        memcpy(&c, cfg, cfg->struct_size);
    }

    int rc = VITTE_OK;
    char *path = find_program(argv[0], &rc);
    if (path == NULL)
        return rc;
    vitte_command *cmd = vitte__calloc(1, sizeof *cmd);
    if (cmd == NULL) {
        vitte__free(path);
        return VITTE_ENOMEM;
    }
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++)
        cmd->fd[e] = -1;

    int go[2], err[2];
    if (pipe2(go, O_CLOEXEC) != 0) {
        vitte__free(path);
        vitte__free(cmd);
        return VITTE_EIO;
    }
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(go[0]);
        close(go[1]);
        vitte__free(path);
        vitte__free(cmd);
        return VITTE_EIO;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: wait for the counters, then become the program. */
        close(go[1]);
        close(err[0]);
        char b;
        ssize_t n;
        do
            n = read(go[0], &b, 1);
        while (n < 0 && errno == EINTR);
        if (n == 1) {
            execve(path, argv, environ);
            int e = errno;
            write_all(err[1], &e, sizeof e);
        }
        _exit(127);
    }
    close(go[0]);
    close(err[1]);
    vitte__free(path);
    if (pid < 0) {
        close(go[1]);
        close(err[0]);
        vitte__free(cmd);
        return VITTE_EIO;
    }
    cmd->pid = pid;
    open_counters(cmd, c.perf_events);

    cmd->t0_ns = mono_ns();
    char b = 'x';
    write_all(go[1], &b, 1);
    close(go[1]);
    int child_errno = 0;
    ssize_t n;
    do
        n = read(err[0], &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    close(err[0]);
    if (n > 0) { /* the exec failed: the child has exited with 127 */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close_counters(cmd);
        vitte__free(cmd);
        return n == (ssize_t)sizeof child_errno ? exec_status(child_errno) : VITTE_EIO;
    }
    *out = cmd;
    return VITTE_OK;
}

int vitte_command_pid(const vitte_command *c)
{
    return c != NULL ? (int)c->pid : 0;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

int vitte_command_wait(vitte_command *c, vitte_command_result *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return VITTE_EINVAL;
    if (c->waited)
        return VITTE_ESTATE;
    int status;
    struct rusage ru;
    pid_t r;
    do
        r = wait4(c->pid, &status, 0, &ru);
    while (r < 0 && errno == EINTR);
    uint64_t t1 = mono_ns();
    if (r < 0)
        return VITTE_EIO; /* ECHILD: SIGCHLD ignored, the kernel reaped it */
    c->waited = 1;

    out->wall_seconds = (double)(t1 - c->t0_ns) * 1e-9;
    if (WIFEXITED(status)) {
        out->exited = 1;
        out->exit_code = WEXITSTATUS(status);
        out->status = out->exit_code;
    } else if (WIFSIGNALED(status)) {
        out->signal = WTERMSIG(status);
        out->core_dumped = WCOREDUMP(status) ? 1 : 0;
        out->status = 128 + out->signal;
    }
    out->user_seconds = tv_seconds(ru.ru_utime);
    out->system_seconds = tv_seconds(ru.ru_stime);
    out->max_rss_bytes = (uint64_t)ru.ru_maxrss * 1024; /* KiB on Linux */
    out->minor_faults = (uint64_t)ru.ru_minflt;
    out->major_faults = (uint64_t)ru.ru_majflt;
    out->voluntary_ctxt_switches = (uint64_t)ru.ru_nvcsw;
    out->involuntary_ctxt_switches = (uint64_t)ru.ru_nivcsw;
    out->fs_inputs = (uint64_t)ru.ru_inblock;
    out->fs_outputs = (uint64_t)ru.ru_oublock;
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++)
        read_counter(c, e, &out->perf[e]);
    close_counters(c);
    return VITTE_OK;
}

void vitte_command_destroy(vitte_command *c)
{
    if (c == NULL)
        return;
    if (!c->waited) {
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close_counters(c);
    vitte__free(c);
}

int vitte_command_run(const vitte_command_config *cfg, char *const argv[],
                      vitte_command_result *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    vitte_command *c;
    int rc = vitte_command_start(cfg, argv, &c);
    if (rc != VITTE_OK)
        return rc;
    rc = vitte_command_wait(c, out);
    vitte_command_destroy(c);
    return rc;
}
