/* bench_trace_lttng: LTTng-UST side by side with vitte's tracer, in the same run.
 *
 *   lttng/enabled     the span loop of bench_trace with one LTTng-UST tracepoint
 *                     (vitte_bench:ev, one int field, bench_tp.h) at the begin and one
 *                     at the end: 2 events per span, LTTng has no spans; default
 *                     channel (per-UID buffers, discard mode), session to a temp dir
 *                     vs the floor (2 x rdtsc + 2 x 16-byte stores) and vs
 *                     VITTE_TRACE_SCOPE, both timed in the same repetitions
 *   lttng/size        bytes per event on disk (du -sb of the trace directory /
 *                     events) vs vitte's (bytes_written / events) for the same loop
 *   lttng/disabled    the tracepoints with no session (daemon running) vs vitte
 *                     disabled at run time, vs the empty loop
 *
 * The program controls LTTng itself: it starts `lttng-sessiond --daemonize
 * --no-kernel` unless a session daemon already runs (then it reuses it), and runs
 * the measurements in a child process (itself, re-executed) so that the child's
 * tracepoints register with the daemon at start-up.  The child creates a session
 * writing to a temporary directory, enables the event, starts, runs the loops,
 * stops and destroys the session.  The parent removes the directory and stops the
 * daemon it started (SIGTERM to its PID), never one it did not start.
 *
 * Without lttng / lttng-sessiond in PATH the program says so and exits 0.
 * babeltrace2, when found, counts the events in the trace (else discarded
 * events come from `lttng list` only).
 *
 * Run: build/release/bench/bench_trace_lttng [--reps N] [--scale F]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vitte/vitte.h>
#include <vitte/trace.h>

#include "bench_tp.h"
#include "bench_trace_loops.h"
#include "bench_util.h"

#ifndef BENCH_LINKAGE
#define BENCH_LINKAGE "static"
#endif

#define CHILD_ENV "VITTE_BENCH_LTTNG_CHILD" /* the trace directory, in the child */
#define REC_BYTES 32

/* ---- running commands ------------------------------------------------------------------ */

/* Run argv (searched in PATH), output to /dev/null unless verbose; the exit status,
 * or -1 when it could not run. */
static int run_quiet(char *const argv[], int verbose)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!verbose) {
            int nul = open("/dev/null", O_RDWR);
            if (nul >= 0) {
                dup2(nul, 1);
                dup2(nul, 2);
            }
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    char buf[1024];
    for (const char *p = path; *p != '\0';) {
        const char *e = strchr(p, ':');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        p += n + (e != NULL);
    }
    return 0;
}

/* The first line of a shell command's output that contains `key`, or "". */
static void shell_grep(const char *cmd, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL)
        if (out[0] == '\0' && (key == NULL || strstr(line, key) != NULL)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, cap, "%s", line);
        }
    pclose(f);
}

/* Sum of a number after `key` over every line of a command's output. */
static uint64_t shell_sum_after(const char *cmd, const char *key, int *found)
{
    uint64_t sum = 0;
    *found = 0;
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return 0;
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        const char *k = strstr(line, key);
        if (k != NULL) {
            sum += strtoull(k + strlen(key), NULL, 10);
            *found = 1;
        }
    }
    pclose(f);
    return sum;
}

/* The number that starts the last line containing `key` (babeltrace2's counter
 * sink prints "  2251039 Event messages", the last block being the total). */
static uint64_t shell_last_before(const char *cmd, const char *key, int *found)
{
    uint64_t v = 0;
    *found = 0;
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return 0;
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, key) != NULL) {
            v = strtoull(line, NULL, 10);
            *found = 1;
        }
    pclose(f);
    return v;
}

static int rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_tree(sub);
            }
            closedir(d);
        }
        return rmdir(path);
    }
    return unlink(path);
}

/* ---- the session daemon ------------------------------------------------------------------ */

static int sessiond_running(void)
{
    char *argv[] = {"lttng", "--no-sessiond", "list", NULL};
    return run_quiet(argv, 0) == 0;
}

static void pidfile_path(char *out, size_t cap)
{
    if (geteuid() == 0) {
        snprintf(out, cap, "/var/run/lttng/lttng-sessiond.pid");
        return;
    }
    const char *home = getenv("LTTNG_HOME");
    if (home == NULL || home[0] == '\0')
        home = getenv("HOME");
    snprintf(out, cap, "%s/.lttng/lttng-sessiond.pid", home != NULL ? home : "");
}

static int proc_is(pid_t pid, const char *comm)
{
    char p[64], buf[64] = "";
    snprintf(p, sizeof p, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return 0;
    if (fgets(buf, sizeof buf, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return strcmp(buf, comm) == 0;
}

/* Start a session daemon; its PID, or -1. */
static pid_t sessiond_start(void)
{
    char *argv[] = {"lttng-sessiond", "--daemonize", "--no-kernel", NULL};
    if (run_quiet(argv, 0) != 0)
        return -1;
    char path[1024], line[64] = "";
    pidfile_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    fclose(f);
    pid_t pid = (pid_t)atoi(line);
    return pid > 1 && proc_is(pid, "lttng-sessiond") ? pid : -1;
}

/* A process that is gone or a zombie. */
static int proc_gone(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return 1;
    int gone = 0;
    if (fgets(buf, sizeof buf, f) != NULL) {
        const char *rp = strrchr(buf, ')');
        gone = rp != NULL && rp[1] == ' ' && rp[2] == 'Z';
    }
    fclose(f);
    return gone;
}

static void sessiond_stop(pid_t pid)
{
    if (!proc_is(pid, "lttng-sessiond")) {
        printf("# lttng-sessiond %d already gone\n", (int)pid);
        return;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 200 && !proc_gone(pid); i++) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    printf("# stopped the lttng-sessiond this program started (PID %d): %s\n", (int)pid,
           proc_gone(pid) ? "exited" : "STILL RUNNING after 10 s");
}

/* ---- the child: the measurements ---------------------------------------------------------- */

BT_NOINLINE static void loop_lttng(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        lttng_ust_tracepoint(vitte_bench, ev, (int)i);
        BT_LOOP_BARRIER(i);
        lttng_ust_tracepoint(vitte_bench, ev, (int)i);
    }
}

static int lttng_cmd(const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = {"lttng", "--no-sessiond", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int rc = run_quiet(argv, 0);
    if (rc != 0)
        fprintf(stderr, "bench_trace_lttng: `lttng %s %s %s %s` failed (%d)\n", a1, a2 ? a2 : "",
                a3 ? a3 : "", a4 ? a4 : "", rc);
    return rc;
}

enum { E_EMPTY, E_FLOOR, E_VITTE, E_LTTNG, E_COUNT };
enum { D_EMPTY, D_LTTNG, D_VITTE, D_COUNT };

static double *alloc_reps(int reps)
{
    double *v = calloc((size_t)reps, sizeof(double));
    if (v == NULL)
        exit(1);
    return v;
}

static int child_main(const bench_opts *o, const char *dir)
{
    const uint64_t n_span = bench_ops(o, 400000);
    const uint64_t n_loop = bench_ops(o, 20000000);
    const int reps = o->reps;
    size_t ring = bt_pow2_at_least((size_t)n_span * REC_BYTES);
    if (ring < (64u << 10))
        ring = 64u << 10;
    char session[64], out[1100], vpath[1100];
    snprintf(session, sizeof session, "vitte_bench_%d", (int)getpid());
    snprintf(out, sizeof out, "--output=%s/lttng", dir);
    snprintf(vpath, sizeof vpath, "%s/vitte.vittrace", dir);

    if (bt_floor_setup(ring) != 0)
        return 1;
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    cfg.buffer_bytes = ring;
    vitte_tracer *t;
    int rc = vitte_tracer_create_ex(vpath, &cfg, &t);
    if (rc != VITTE_OK) {
        fprintf(stderr, "bench_trace_lttng: vitte tracer on %s: %s\n", vpath, vitte_strerror(rc));
        return 1;
    }

    /* Disabled: the daemon runs, no session enables the event. */
    double *dis[D_COUNT];
    for (int k = 0; k < D_COUNT; k++)
        dis[k] = alloc_reps(reps);
    bt_time_loop(bt_loop_empty, n_loop / 10);
    bt_time_loop(loop_lttng, n_loop / 10);
    vitte_trace_set_enabled(0);
    bt_time_loop(bt_loop_vitte_span, n_loop / 10);
    for (int r = 0; r < reps; r++) {
        dis[D_EMPTY][r] = bt_time_loop(bt_loop_empty, n_loop).cpu;
        dis[D_LTTNG][r] = bt_time_loop(loop_lttng, n_loop).cpu;
        dis[D_VITTE][r] = bt_time_loop(bt_loop_vitte_span, n_loop).cpu;
    }
    vitte_trace_set_enabled(1);

    /* Enabled. */
    if (lttng_cmd("create", session, out, NULL) != 0)
        return 1;
    int session_ok = lttng_cmd("enable-event", "-u", "vitte_bench:ev", NULL) == 0 &&
                     lttng_cmd("start", session, NULL, NULL) == 0;
    if (!session_ok) {
        lttng_cmd("destroy", session, NULL, NULL);
        return 1;
    }
    double *cpu[E_COUNT], *wall[E_COUNT];
    for (int k = 0; k < E_COUNT; k++) {
        cpu[k] = alloc_reps(reps);
        wall[k] = alloc_reps(reps);
    }
    /* Warm-up: one repetition of each (vitte's ring is attached here). */
    bt_time_loop(bt_loop_floor, n_span);
    bt_time_loop(bt_loop_vitte_span, n_span);
    vitte_tracer_flush(t);
    bt_time_loop(loop_lttng, n_span);
    /* Discards so far (the warm-up), to tell them from those of the timed loops. */
    char cmd[2300];
    snprintf(cmd, sizeof cmd, "lttng --no-sessiond list %s 2>/dev/null", session);
    int have_disc = 0;
    uint64_t disc_warm = shell_sum_after(cmd, "Discarded events:", &have_disc);
    for (int r = 0; r < reps; r++) {
        bt_time x = bt_time_loop(bt_loop_empty, n_loop / 10);
        cpu[E_EMPTY][r] = x.cpu, wall[E_EMPTY][r] = x.wall;
        x = bt_time_loop(bt_loop_floor, n_span);
        cpu[E_FLOOR][r] = x.cpu, wall[E_FLOOR][r] = x.wall;
        x = bt_time_loop(bt_loop_vitte_span, n_span);
        vitte_tracer_flush(t);
        cpu[E_VITTE][r] = x.cpu, wall[E_VITTE][r] = x.wall;
        x = bt_time_loop(loop_lttng, n_span);
        cpu[E_LTTNG][r] = x.cpu, wall[E_LTTNG][r] = x.wall;
    }
    lttng_cmd("stop", session, NULL, NULL);
    /* Discarded events, as the session daemon counts them. */
    uint64_t discarded = shell_sum_after(cmd, "Discarded events:", &have_disc);
    lttng_cmd("destroy", session, NULL, NULL);

    vitte_tracer_stats vst;
    memset(&vst, 0, sizeof vst);
    vitte_tracer_flush(t);
    vitte_tracer_get_stats(t, &vst);
    vitte_tracer_destroy(t);
    bt_floor_teardown();

    const uint64_t expected = 2 * n_span * (uint64_t)(reps + 1);
    char line[1024];
    snprintf(cmd, sizeof cmd, "du -sb %s/lttng", dir);
    shell_grep(cmd, NULL, line, sizeof line);
    uint64_t lttng_bytes = strtoull(line, NULL, 10);
    uint64_t counted = 0;
    int have_count = 0;
    if (in_path("babeltrace2")) {
        snprintf(cmd, sizeof cmd, "babeltrace2 %s/lttng -c sink.utils.counter 2>/dev/null", dir);
        counted = shell_last_before(cmd, "Event messages", &have_count);
    }

    /* Results. */
    size_t nr = (size_t)reps;
    double *net[E_COUNT], *netw[E_COUNT];
    for (int k = 0; k < E_COUNT; k++) {
        net[k] = alloc_reps(reps);
        netw[k] = alloc_reps(reps);
        for (int r = 0; r < reps; r++) {
            net[k][r] = cpu[k][r] - cpu[E_EMPTY][r];
            netw[k][r] = wall[k][r] - wall[E_EMPTY][r];
        }
    }
    bench_result floor_c = bench_summarize(net[E_FLOOR], nr);
    bench_result vitte_c = bench_summarize(net[E_VITTE], nr);
    bench_result lttng_c = bench_summarize(net[E_LTTNG], nr);
    bench_result floor_w = bench_summarize(netw[E_FLOOR], nr);
    bench_result vitte_w = bench_summarize(netw[E_VITTE], nr);
    bench_result lttng_w = bench_summarize(netw[E_LTTNG], nr);

    printf("\n# enabled: %" PRIu64 " spans per repetition; LTTng: 2 tracepoints per span, "
           "session %s, default channel (per-UID, 4 x 512 KiB per CPU, discard mode)\n",
           n_span, session);
    bench_line("lttng/enabled (thread CPU)", lttng_c, "ns/span", "floor", floor_c, NULL, 0);
    bench_vs("vitte span (same run)", lttng_c, vitte_c, "ns/span");
    bench_line("lttng/enabled (wall)", lttng_w, "ns/span", "floor (wall)", floor_w, NULL, 0);
    bench_vs("vitte span (wall)", lttng_w, vitte_w, "ns/span");
    bench_line("vitte/enabled (thread CPU)", vitte_c, "ns/span", "floor", floor_c, NULL, 0);
    double lttng_ev = (double)(have_count ? counted : expected);
    double lttng_bpe = lttng_ev > 0 ? (double)lttng_bytes / lttng_ev : 0;
    double vitte_bpe = vst.events ? (double)vst.bytes_written / (double)vst.events : 0;
    bench_result lb = {lttng_bpe, lttng_bpe, lttng_bpe};
    bench_result vb = {vitte_bpe, vitte_bpe, vitte_bpe};
    bench_line("lttng/size", lb, "B/event", "vitte (same loop)", vb, NULL, 0);
    printf("    lttng: %" PRIu64 " bytes (du -sb) for %" PRIu64 " events emitted", lttng_bytes,
           expected);
    if (have_count)
        printf(", %" PRIu64 " in the trace (babeltrace2)", counted);
    printf("; discarded events %s%" PRIu64 " (lttng list), of which %" PRIu64
           " in the warm-up repetition (not timed)\n",
           have_disc ? "" : "(not reported) ", discarded, disc_warm);
    printf("    vitte: %" PRIu64 " events, %" PRIu64 " dropped, %" PRIu64 " bytes written\n",
           vst.events, vst.dropped, vst.bytes_written);
    if (discarded > disc_warm)
        printf("    WARNING: LTTng discarded events in the timed loops: its figures are for a "
               "run that did not keep everything\n");
    else if ((have_count && counted != expected) || discarded != 0)
        printf("    note: LTTng discarded events in the warm-up only (%" PRIu64
               "): the timed loops kept every event\n",
               disc_warm);

    bench_result de = bench_summarize(dis[D_EMPTY], nr);
    bench_result dl = bench_summarize(dis[D_LTTNG], nr);
    bench_result dv = bench_summarize(dis[D_VITTE], nr);
    printf("\n# disabled: %" PRIu64 " iterations; LTTng: daemon running, no session; "
           "vitte: vitte_trace_set_enabled(0)\n",
           n_loop);
    bench_line("lttng/disabled (raw)", dl, "ns/span", "empty_loop", de, NULL, 0);
    bench_vs("vitte disabled (raw)", dl, dv, "ns/span");
    for (int k = 0; k < E_COUNT; k++) {
        free(cpu[k]);
        free(wall[k]);
        free(net[k]);
        free(netw[k]);
    }
    for (int k = 0; k < D_COUNT; k++)
        free(dis[k]);
    return 0;
}

/* ---- the parent: the daemon, the directory, the child --------------------------------------- */

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_args(argc, argv, &o);
    const char *child_dir = getenv(CHILD_ENV);
    if (child_dir != NULL && child_dir[0] != '\0') {
        int rc = child_main(&o, child_dir);
        fflush(stdout);
        return rc != 0 ? rc : bench_finish();
    }

    vitte_clock_info info;
    memset(&info, 0, sizeof info);
    char clock_line[512] = "unknown";
    if (vitte_clock_get_info(&info, 1) == VITTE_OK)
        snprintf(clock_line, sizeof clock_line, "source %s, tsc %.6f GHz",
                 vitte_clock_source_name(info.source), info.tsc_hz / 1e9);
    bench_print_machine(&o, "bench_trace_lttng", BENCH_LINKAGE, clock_line);

    if (!in_path("lttng") || !in_path("lttng-sessiond")) {
        printf("\nlttng: SKIPPED: lttng and lttng-sessiond are not in PATH "
               "(Debian: apt-get install lttng-tools liblttng-ust-dev)\n");
        return 0;
    }
    char version[256];
    shell_grep("lttng --version 2>/dev/null", NULL, version, sizeof version);
    printf("# %s\n", version);

    pid_t started = -1;
    if (sessiond_running()) {
        printf("# reusing the lttng-sessiond already running\n");
    } else {
        started = sessiond_start();
        if (started < 0) {
            printf("\nlttng: SKIPPED: could not start `lttng-sessiond --daemonize --no-kernel`\n");
            return 0;
        }
        printf("# started lttng-sessiond --daemonize --no-kernel (PID %d)\n", (int)started);
    }

    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/vitte-bench-lttng-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    int status = 1;
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_trace_lttng: mkdtemp: %s\n", strerror(errno));
    } else {
        printf("# trace directory %s (removed at the end)\n", dir);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            setenv(CHILD_ENV, dir, 1);
            execv("/proc/self/exe", argv);
            _exit(127);
        }
        if (pid > 0) {
            int st;
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        }
        rm_tree(dir);
    }
    if (started > 0)
        sessiond_stop(started);
    return status;
}
