/* bench_trace: cost of tracing, each figure beside a baseline from the same run.
 *
 *   span              VITTE_TRACE_SCOPE (begin + end) with a tracer recording and its
 *                     writer thread running, vs the floor: two __rdtsc() and two
 *                     16-byte stores into a pre-faulted array as large as vitte's
 *                     ring (the ring holds the whole loop: nothing may be dropped)
 *                     target: <= 1.3 x the floor
 *                     the same loop after vitte_trace_set_enabled(0), vs the empty loop
 *                     target: <= 1 ns over the empty loop
 *                     the same loop compiled with -DVITTE_TRACE_ENABLED=0
 *                     (bench_trace_off.c), vs the empty loop of that file
 *                     target: the cost of the empty loop
 *   size              bytes on disk per event (vitte_tracer_get_stats: bytes_written /
 *                     events) of a span-heavy trace: 4 threads running a frame loop of
 *                     nested spans (12 names, 3 modules, depth 0..4) with work between
 *                     them; default compression (zstd 1) vs stored (level 0)
 *                     target: <= 4 bytes per event
 *   sustained         one thread paced at 5 million spans per second for 3 s into a
 *                     tracer with the default settings (vitte_tracer_create)
 *                     target: 0 dropped
 *   inspect           `vitte inspect --format chrome` on a trace of ~5 M events: CPU and
 *                     wall ns per event (and events/s), vs reading the same file with
 *                     vitte_trace_reader and a naive fprintf JSON writer; the peak RSS
 *                     of the text summary on traces of ~10, 80 and 330 MB, extrapolated
 *                     to 1 GB (target: a 1 GB trace in <= 256 MB)
 *                     Runs only when `vitte inspect` exists ($VITTE_BIN, else the
 *                     `vitte` built next to this program).
 *
 * CPU figures are thread CPU time (CLOCK_THREAD_CPUTIME_ID) minus the empty loop's,
 * per span, median of --reps repetitions (the method of the reference figures);
 * wall-clock figures are printed beside them.  Nothing is pinned: on a 2-CPU machine
 * the tracer's writer thread runs on the other CPU.
 *
 * LTTng-UST side by side: bench_trace_lttng (a separate program, so that this one
 * has no LTTng dependency).
 *
 * Run: build/release/bench/bench_trace [--reps N] [--scale F] [FILTER]
 * FILTER: span, size, sustained, inspect.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vitte/vitte.h>
#include <vitte/trace.h>

#include "bench_trace_loops.h"
#include "bench_util.h"

#ifndef BENCH_LINKAGE
#define BENCH_LINKAGE "static"
#endif
#ifndef BENCH_HAVE_LTTNG
#define BENCH_HAVE_LTTNG 0
#endif

#define REC_BYTES 32 /* one span = one 32-byte record in vitte's ring */

static char tmpdir[512];
static int keep_files; /* BENCH_TRACE_KEEP=1: leave the traces in tmpdir */

static void discard(const char *path)
{
    if (!keep_files)
        unlink(path);
}

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static bench_result one(double v)
{
    bench_result r = {v, v, v};
    return r;
}

static int start_tracer(const char *path, const vitte_tracer_config *cfg, vitte_tracer **t)
{
    int rc = cfg != NULL ? vitte_tracer_create_ex(path, cfg, t)
                         : ((*t = vitte_tracer_create(path)) != NULL ? VITTE_OK : VITTE_EIO);
    if (rc != VITTE_OK)
        fprintf(stderr, "bench_trace: cannot start a tracer on %s: %s\n", path, vitte_strerror(rc));
    return rc;
}

/* ---- span: enabled, disabled at run time, compiled out ----------------------------------- */

/* Compare the code of two functions byte by byte up to the first `ret` of
 * the first one (x86-64: both are small leaf loops, position-independent
 * among themselves).  1 same, 0 different, -1 not checked (other CPUs). */
static int same_machine_code(bt_loop_fn a, bt_loop_fn b)
{
#if defined(__x86_64__)
    const unsigned char *pa, *pb;
    memcpy(&pa, &a, sizeof pa);
    memcpy(&pb, &b, sizeof pb);
    for (size_t i = 0; i < 256; i++) {
        if (pa[i] != pb[i])
            return 0;
        if (pa[i] == 0xc3) /* ret */
            return 1;
    }
    return 0;
#else
    (void)a;
    (void)b;
    return -1;
#endif
}

enum span_kind {
    S_EMPTY,     /* bt_loop_empty, n_loop */
    S_FLOOR,     /* n_span */
    S_VITTE,     /* n_span */
    S_DISABLED,  /* n_loop */
    S_OFF,       /* n_loop */
    S_OFF_EMPTY, /* n_loop */
    S_COUNT
};

static int bench_span(const bench_opts *o)
{
    const uint64_t n_span = bench_ops(o, 400000);
    const uint64_t n_loop = bench_ops(o, 20000000);
    const int reps = o->reps;
    /* The ring holds the whole measured loop, and the floor's array is as large. */
    size_t ring = bt_pow2_at_least((size_t)n_span * REC_BYTES);
    if (ring < (64u << 10))
        ring = 64u << 10;

    double *cpu[S_COUNT], *wall[S_COUNT], *writer = calloc((size_t)reps, sizeof(double));
    for (int k = 0; k < S_COUNT; k++) {
        cpu[k] = calloc((size_t)reps, sizeof(double));
        wall[k] = calloc((size_t)reps, sizeof(double));
        if (cpu[k] == NULL || wall[k] == NULL || writer == NULL)
            return 1;
    }
    if (bt_floor_setup(ring) != 0)
        return 1;

    char path[600];
    path_in_tmp(path, sizeof path, "span.vittrace");
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    cfg.buffer_bytes = ring;
    vitte_tracer *t;
    if (start_tracer(path, &cfg, &t) != VITTE_OK)
        return 1;
    printf("# span: %" PRIu64 " spans per repetition for the floor and vitte (ring and floor "
           "array %zu KiB, pre-faulted), %" PRIu64 " iterations for the empty, disabled and "
           "compiled-out loops\n",
           n_span, ring >> 10, n_loop);

    /* Warm-up: attaches this thread's ring (allocated and pre-faulted there),
     * faults in the floor's code and the loops. */
    bt_time_loop(bt_loop_empty, n_loop / 10);
    bt_time_loop(bt_loop_floor, n_span);
    bt_time_loop(bt_loop_vitte_span, n_span);
    vitte_tracer_flush(t);
    vitte_trace_set_enabled(0);
    bt_time_loop(bt_loop_vitte_span, n_loop / 10);
    vitte_trace_set_enabled(1);
    bt_time_loop(bt_loop_off_span, n_loop / 10);
    bt_time_loop(bt_loop_off_empty, n_loop / 10);

    for (int r = 0; r < reps; r++) {
        bt_time x;
        x = bt_time_loop(bt_loop_empty, n_loop);
        cpu[S_EMPTY][r] = x.cpu;
        wall[S_EMPTY][r] = x.wall;
        x = bt_time_loop(bt_loop_floor, n_span);
        cpu[S_FLOOR][r] = x.cpu;
        wall[S_FLOOR][r] = x.wall;

        /* The writer's CPU for these spans: process CPU minus this thread's,
         * over the loop and the flush that drains and writes them. */
        uint64_t p0 = bt_process_cpu_ns(), c0 = bt_thread_cpu_ns();
        x = bt_time_loop(bt_loop_vitte_span, n_span);
        vitte_tracer_flush(t);
        uint64_t p1 = bt_process_cpu_ns(), c1 = bt_thread_cpu_ns();
        cpu[S_VITTE][r] = x.cpu;
        wall[S_VITTE][r] = x.wall;
        writer[r] = (double)((p1 - p0) - (c1 - c0)) / (double)n_span;

        vitte_trace_set_enabled(0);
        x = bt_time_loop(bt_loop_vitte_span, n_loop);
        vitte_trace_set_enabled(1);
        cpu[S_DISABLED][r] = x.cpu;
        wall[S_DISABLED][r] = x.wall;
        x = bt_time_loop(bt_loop_off_span, n_loop);
        cpu[S_OFF][r] = x.cpu;
        wall[S_OFF][r] = x.wall;
        x = bt_time_loop(bt_loop_off_empty, n_loop);
        cpu[S_OFF_EMPTY][r] = x.cpu;
        wall[S_OFF_EMPTY][r] = x.wall;
    }

    vitte_tracer_flush(t);
    vitte_tracer_stats st;
    memset(&st, 0, sizeof st);
    vitte_tracer_get_stats(t, &st);
    int drc = vitte_tracer_destroy(t);
    uint64_t fsize = file_size(path);
    discard(path);
    bt_floor_teardown();

    /* Net figures: each repetition's loop minus that repetition's empty loop. */
    double *net_floor = calloc((size_t)reps, sizeof(double));
    double *net_vitte = calloc((size_t)reps, sizeof(double));
    double *net_floor_w = calloc((size_t)reps, sizeof(double));
    double *net_vitte_w = calloc((size_t)reps, sizeof(double));
    double *net_dis = calloc((size_t)reps, sizeof(double));
    if (!net_floor || !net_vitte || !net_floor_w || !net_vitte_w || !net_dis)
        return 1;
    for (int r = 0; r < reps; r++) {
        net_floor[r] = cpu[S_FLOOR][r] - cpu[S_EMPTY][r];
        net_vitte[r] = cpu[S_VITTE][r] - cpu[S_EMPTY][r];
        net_floor_w[r] = wall[S_FLOOR][r] - wall[S_EMPTY][r];
        net_vitte_w[r] = wall[S_VITTE][r] - wall[S_EMPTY][r];
        net_dis[r] = cpu[S_DISABLED][r] - cpu[S_EMPTY][r];
    }
    size_t nr = (size_t)reps;
    bench_result floor_c = bench_summarize(net_floor, nr);
    bench_result vitte_c = bench_summarize(net_vitte, nr);
    bench_result floor_w = bench_summarize(net_floor_w, nr);
    bench_result vitte_w = bench_summarize(net_vitte_w, nr);
    bench_result dis_net = bench_summarize(net_dis, nr);
    bench_result empty_c = bench_summarize(cpu[S_EMPTY], nr);
    bench_result dis_c = bench_summarize(cpu[S_DISABLED], nr);
    bench_result dis_w = bench_summarize(wall[S_DISABLED], nr);
    bench_result off_c = bench_summarize(cpu[S_OFF], nr);
    bench_result offe_c = bench_summarize(cpu[S_OFF_EMPTY], nr);
    bench_result wr = bench_summarize(writer, nr);

    printf("\n");
    bench_line_ratio("span/enabled (thread CPU)", vitte_c, "ns/span", "floor", floor_c,
                     "ratio <= 1.30", 1.30);
    bench_line("span/enabled (wall)", vitte_w, "ns/span", "floor (wall)", floor_w, NULL, 0);
    bench_info("    writer thread CPU", wr, "ns/span",
               "(draining, encoding, zstd, write: on the other CPU)");
    double expected = (double)n_span * (double)(reps + 1);
    printf("    tracer stats: %" PRIu64 " events, %" PRIu64 " dropped, %" PRIu64
           " bytes written (%.2f B/event), file %" PRIu64 " bytes; destroy: %s\n",
           st.events, st.dropped, st.bytes_written,
           st.events ? (double)st.bytes_written / (double)st.events : 0.0, fsize,
           vitte_strerror(drc));
    bench_check("span: events = spans emitted", (double)st.events == expected);
    bench_check("span: 0 dropped (else the figure does not count)", st.dropped == 0);

    /* Disabled: the raw loop beside the raw empty loop; the target is on the difference. */
    bench_line("span/disabled_at_run_time", dis_c, "ns/span", "empty_loop", empty_c,
               "<= 1 ns over the empty loop", empty_c.median + 1.0);
    bench_info("    net of the empty loop", dis_net, "ns/span", NULL);
    bench_line("span/disabled_at_run_time (wall)", dis_w, "ns/span", "empty_loop (wall)",
               bench_summarize(wall[S_EMPTY], nr), NULL, 0);
    bench_line_ratio("span/compiled_out", off_c, "ns/span", "empty_loop (same TU)", offe_c,
                     "ratio <= 1.10 (= the empty loop, within noise)", 1.10);
    bench_vs("empty_loop (bench_trace_loops.c)", off_c, empty_c, "ns/span");
    int same = same_machine_code(bt_loop_off_span, bt_loop_off_empty);
    if (same >= 0)
        bench_check("compiled_out: same machine code as the empty loop", same);

    for (int k = 0; k < S_COUNT; k++) {
        free(cpu[k]);
        free(wall[k]);
    }
    free(writer);
    free(net_floor);
    free(net_vitte);
    free(net_floor_w);
    free(net_vitte_w);
    free(net_dis);
    return 0;
}

/* ---- a span-heavy workload: 4 threads, nested spans, several names ----------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1du;
}

/* Work between spans: about k nanoseconds of integer arithmetic. */
static void spin(uint64_t *s, uint64_t k)
{
    uint64_t x = *s | 1;
    for (uint64_t i = 0; i < k; i++) {
        x ^= x << 7;
        x ^= x >> 9;
        BT_LOOP_BARRIER(x);
    }
    *s ^= x;
}

struct work {
    int id;
    uint64_t frames;
    int with_args; /* an int argument on every leaf (larger, less compressible events) */
    uint64_t spans;
};

/* One frame of a game-like loop: 12 span names, 3 modules, depth 0..4,
 * leaves of 20..400 ns of work.  About 50 spans per frame. */
static uint64_t frame(uint64_t *s, int with_args)
{
    uint64_t spans = 1;
    VITTE_TRACE_SCOPE_M("frame", "game");
    {
        VITTE_TRACE_SCOPE_M("update", "game");
        spans++;
        uint64_t k = 8 + rng_next(s) % 9;
        for (uint64_t e = 0; e < k; e++) {
            VITTE_TRACE_SCOPE_M("entity", "game");
            spans++;
            if (with_args)
                vitte_trace_arg_int("id", (int64_t)(rng_next(s) >> 20));
            spin(s, 20 + rng_next(s) % 300);
            if (rng_next(s) % 4 == 0) {
                VITTE_TRACE_SCOPE_M("ai", "game");
                spans++;
                spin(s, 50 + rng_next(s) % 350);
            }
        }
        {
            VITTE_TRACE_SCOPE_M("physics", "physics");
            spans++;
            {
                VITTE_TRACE_SCOPE_M("broadphase", "physics");
                spans++;
                spin(s, 100 + rng_next(s) % 300);
            }
            uint64_t m = 2 + rng_next(s) % 5;
            for (uint64_t j = 0; j < m; j++) {
                VITTE_TRACE_SCOPE_M("narrowphase", "physics");
                spans++;
                spin(s, 20 + rng_next(s) % 200);
                if (rng_next(s) % 2) {
                    VITTE_TRACE_SCOPE_M("contact", "physics");
                    spans++;
                    spin(s, 20 + rng_next(s) % 100);
                }
            }
        }
    }
    {
        VITTE_TRACE_SCOPE_M("render", "gfx");
        spans++;
        {
            VITTE_TRACE_SCOPE_M("cull", "gfx");
            spans++;
            spin(s, 100 + rng_next(s) % 300);
        }
        uint64_t d = 10 + rng_next(s) % 20;
        for (uint64_t j = 0; j < d; j++) {
            VITTE_TRACE_SCOPE_M("draw", "gfx");
            spans++;
            if (with_args)
                vitte_trace_arg_int("mesh", (int64_t)(rng_next(s) % 100000));
            spin(s, 20 + rng_next(s) % 150);
        }
    }
    {
        VITTE_TRACE_SCOPE_M("present", "gfx");
        spans++;
        spin(s, 50 + rng_next(s) % 100);
    }
    return spans;
}

static void *work_main(void *arg)
{
    struct work *w = arg;
    char name[32];
    snprintf(name, sizeof name, "worker-%d", w->id);
    vitte_trace_set_thread_name(name);
    uint64_t s = 0x9e3779b97f4a7c15u * (uint64_t)(w->id + 1);
    uint64_t spans = 0;
    for (uint64_t f = 0; f < w->frames; f++)
        spans += frame(&s, w->with_args);
    w->spans = spans;
    return NULL;
}

#define WORK_THREADS 4

/* Trace the workload into path; *spans gets the spans emitted. */
static int run_workload(const char *path, const vitte_tracer_config *cfg, uint64_t frames,
                        int with_args, uint64_t *spans, vitte_tracer_stats *st, double *secs)
{
    vitte_tracer *t;
    if (start_tracer(path, cfg, &t) != VITTE_OK)
        return 1;
    struct work w[WORK_THREADS];
    pthread_t th[WORK_THREADS];
    uint64_t t0 = bench_ns();
    for (int i = 0; i < WORK_THREADS; i++) {
        w[i] = (struct work){i, frames, with_args, 0};
        if (pthread_create(&th[i], NULL, work_main, &w[i]) != 0)
            return 1;
    }
    *spans = 0;
    for (int i = 0; i < WORK_THREADS; i++) {
        pthread_join(th[i], NULL);
        *spans += w[i].spans;
    }
    vitte_tracer_flush(t);
    *secs = (double)(bench_ns() - t0) / 1e9;
    memset(st, 0, sizeof *st);
    vitte_tracer_get_stats(t, st);
    int rc = vitte_tracer_destroy(t);
    if (rc != VITTE_OK)
        fprintf(stderr, "bench_trace: vitte_tracer_destroy: %s\n", vitte_strerror(rc));
    return rc != VITTE_OK;
}

static int bench_size(const bench_opts *o)
{
    const uint64_t frames = bench_ops(o, 10000);
    printf("\n# size: %d threads x %" PRIu64 " frames of nested spans, blocking = 1 (so that "
           "nothing is dropped; the encoding does not depend on it), other settings default\n",
           WORK_THREADS, frames);
    const int levels[2] = {1, 0};
    double bpe[2] = {0, 0};
    uint64_t fsz[2] = {0, 0};
    vitte_tracer_stats sts[2];
    uint64_t spans[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        char path[600];
        path_in_tmp(path, sizeof path, i == 0 ? "size_zstd1.vittrace" : "size_stored.vittrace");
        vitte_tracer_config cfg;
        vitte_tracer_config_init(&cfg);
        cfg.blocking = 1;
        cfg.compression_level = levels[i];
        double secs;
        if (run_workload(path, &cfg, frames, 0, &spans[i], &sts[i], &secs) != 0)
            return 1;
        fsz[i] = file_size(path);
        discard(path);
        bpe[i] = sts[i].events ? (double)sts[i].bytes_written / (double)sts[i].events : 0;
        printf("    level %d: %" PRIu64 " events (%" PRIu64 " spans emitted), %" PRIu64
               " dropped, %" PRIu64 " bytes written, %" PRIu64 " chunks, file %" PRIu64
               " bytes, %.2f s\n",
               levels[i], sts[i].events, spans[i], sts[i].dropped, sts[i].bytes_written,
               sts[i].chunks_written, fsz[i], secs);
    }
    bench_line("size/span_heavy_4t (zstd 1)", one(bpe[0]), "B/event", "stored (level 0)",
               one(bpe[1]), "<= 4 B/event", 4.0);
    bench_vs("ring record (in memory)", one(bpe[0]), one(REC_BYTES), "B/event");
    bench_vs("file size / events", one(bpe[0]),
             one(sts[0].events ? (double)fsz[0] / (double)sts[0].events : 0), "B/event");
    bench_check("size: events = spans emitted, 0 dropped",
                sts[0].events == spans[0] && sts[0].dropped == 0 && sts[1].events == spans[1] &&
                    sts[1].dropped == 0);
    return 0;
}

/* ---- sustained: 5 million events per second, default settings --------------------------- */

/* A thread's scheduler statistics (/proc/self/task/TID/schedstat): time on a
 * CPU, time waiting runnable on a run queue, number of timeslices. */
struct sched_stat {
    uint64_t run_ns, wait_ns, slices;
};

static int read_schedstat(pid_t tid, struct sched_stat *st)
{
    char p[96];
    snprintf(p, sizeof p, "/proc/self/task/%d/schedstat", (int)tid);
    FILE *f = fopen(p, "r");
    memset(st, 0, sizeof *st);
    if (f == NULL)
        return -1;
    int n = fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64, &st->run_ns, &st->wait_ns, &st->slices);
    fclose(f);
    return n == 3 ? 0 : -1;
}

/* The process's thread other than the caller: the tracer's writer, when it
 * is the only other thread.  0 if there is not exactly one. */
static pid_t other_thread(void)
{
    pid_t self = (pid_t)gettid(), found = 0;
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid > 0 && tid != self) {
            found = tid;
            n++;
        }
    }
    closedir(d);
    return n == 1 ? found : 0;
}

struct sustained {
    uint64_t emitted, skipped, lags, elapsed_ns, producer_cpu_ns, writer_cpu_ns;
    vitte_tracer_stats st;
    uint64_t file_bytes;
    struct sched_stat wr, pr; /* writer's and producer's deltas */
    int have_wr;
};

/* One thread emits spans at `rate` for secs into a tracer with cfg (NULL:
 * vitte_tracer_create's defaults).  Span i is due at start + i / rate; when
 * the producer runs late (preempted) it catches up in a burst of at most
 * 1 ms of spans, beyond which the missed time is skipped (counted), not
 * replayed: the rate seen by the tracer never exceeds what 1 ms of backlog
 * gives. */
static int sustained_run(const vitte_tracer_config *cfg, double rate, double secs,
                         struct sustained *out)
{
    const uint64_t period_ns = (uint64_t)(1e9 / rate);
    const uint64_t max_lag_ns = 1000000;
    char path[600];
    path_in_tmp(path, sizeof path, "sustained.vittrace");
    vitte_tracer *t;
    if (start_tracer(path, cfg, &t) != VITTE_OK)
        return 1;
    memset(out, 0, sizeof *out);
    pid_t writer = other_thread(), self = (pid_t)gettid();
    struct sched_stat w0, w1, s0, s1;
    out->have_wr = writer != 0 && read_schedstat(writer, &w0) == 0;
    read_schedstat(self, &s0);

    uint64_t p0 = bt_process_cpu_ns(), c0 = bt_thread_cpu_ns();
    uint64_t start = vitte_now_ns();
    uint64_t end = start + (uint64_t)(secs * 1e9);
    uint64_t next = start;
    for (;;) {
        uint64_t now = vitte_now_ns();
        if (now >= end)
            break;
        if (now < next)
            continue;
        if (now - next > max_lag_ns) {
            uint64_t lost = (now - next - max_lag_ns) / period_ns;
            out->skipped += lost;
            next += lost * period_ns;
            out->lags++;
        }
        {
            VITTE_TRACE_SCOPE("s");
            BT_LOOP_BARRIER(now);
        }
        out->emitted++;
        next += period_ns;
    }
    out->elapsed_ns = vitte_now_ns() - start;
    uint64_t c1 = bt_thread_cpu_ns();
    if (out->have_wr)
        out->have_wr = read_schedstat(writer, &w1) == 0;
    read_schedstat(self, &s1);
    vitte_tracer_flush(t);
    uint64_t p1 = bt_process_cpu_ns(), c2 = bt_thread_cpu_ns();
    vitte_tracer_get_stats(t, &out->st);
    vitte_tracer_destroy(t);
    out->file_bytes = file_size(path);
    discard(path);
    out->producer_cpu_ns = c1 - c0;
    out->writer_cpu_ns = (p1 - p0) - (c2 - c0);
    if (out->have_wr)
        out->wr = (struct sched_stat){w1.run_ns - w0.run_ns, w1.wait_ns - w0.wait_ns,
                                      w1.slices - w0.slices};
    out->pr =
        (struct sched_stat){s1.run_ns - s0.run_ns, s1.wait_ns - s0.wait_ns, s1.slices - s0.slices};
    return 0;
}

static void sustained_print(const char *label, const struct sustained *r)
{
    double secs = (double)r->elapsed_ns / 1e9;
    printf("    %s: emitted %" PRIu64 " spans in %.3f s = %.2f M events/s (%" PRIu64
           " skipped after %" PRIu64 " producer lags > 1 ms); producer CPU %.2f s\n",
           label, r->emitted, secs, (double)r->emitted / secs / 1e6, r->skipped, r->lags,
           (double)r->producer_cpu_ns / 1e9);
    printf("      tracer stats: %" PRIu64 " events, %" PRIu64 " dropped (%.3f %%), %" PRIu64
           " bytes written (%.2f B/event)\n",
           r->st.events, r->st.dropped,
           r->emitted ? 100.0 * (double)r->st.dropped / (double)r->emitted : 0.0,
           r->st.bytes_written,
           r->st.events ? (double)r->st.bytes_written / (double)r->st.events : 0.0);
    printf("      writer thread CPU %.2f s (%.0f %% of one CPU, %.1f ns/event)",
           (double)r->writer_cpu_ns / 1e9, 100.0 * (double)r->writer_cpu_ns / (double)r->elapsed_ns,
           (double)r->writer_cpu_ns / (double)(r->st.events ? r->st.events : 1));
    if (r->have_wr)
        printf("; runnable but waiting for a CPU: writer %.1f ms over %" PRIu64
               " timeslices (%.0f us each), producer %.1f ms",
               (double)r->wr.wait_ns / 1e6, r->wr.slices,
               r->wr.slices ? (double)r->wr.wait_ns / 1e3 / (double)r->wr.slices : 0.0,
               (double)r->pr.wait_ns / 1e6);
    printf("\n");
}

static int bench_sustained(const bench_opts *o)
{
    const double rate = 5e6;
    double secs = 3.0 * o->scale;
    if (secs < 0.3)
        secs = 0.3;
    if (secs > 30)
        secs = 30;
    vitte_tracer_config def;
    vitte_tracer_config_init(&def);
    printf("\n# sustained: one thread, %.0f spans/s (1 event each) for %.1f s, "
           "vitte_tracer_create() defaults: %zu KiB ring per thread (%zu events = %.1f ms at "
           "this rate), writer wakes every 1 ms, flush every %.0f ms, zstd %d\n",
           rate, secs, def.buffer_bytes >> 10, def.buffer_bytes / REC_BYTES,
           (double)(def.buffer_bytes / REC_BYTES) / rate * 1e3, (double)def.flush_interval_ns / 1e6,
           def.compression_level);

    struct sustained d, big;
    if (sustained_run(NULL, rate, secs, &d) != 0)
        return 1;
    sustained_print("defaults", &d);
    /* The same with an 8 MiB ring (not a default): separates a writer that
     * cannot keep up (drops stay) from one that does not get a CPU in time
     * (drops go away with more room). */
    vitte_tracer_config cfg = def;
    cfg.buffer_bytes = 8u << 20;
    if (sustained_run(&cfg, rate, secs, &big) != 0)
        return 1;
    sustained_print("8 MiB ring", &big);

    bench_line("sustained_5M/dropped (defaults)", one((double)d.st.dropped), "events",
               "events recorded", one((double)d.st.events), "0 dropped", 0.5);
    bench_line("sustained_5M/dropped (8 MiB ring)", one((double)big.st.dropped), "events",
               "events recorded", one((double)big.st.events), NULL, 0);
    bench_check("sustained: events + dropped = spans emitted",
                d.st.events + d.st.dropped == d.emitted &&
                    big.st.events + big.st.dropped == big.emitted);
    return 0;
}

/* ---- inspect: the exporter's throughput and memory ---------------------------------------- */

static char vitte_bin[1024];

/* Run argv with stdout to out_path (NULL: /dev/null) and stderr to a file
 * whose first lines are printed when the program fails.  Returns the exit
 * status (-1 if it did not run); *ru gets its resource use. */
static int run_child(char *const argv[], const char *out_path, struct rusage *ru, double *wall_s)
{
    char err_path[600];
    path_in_tmp(err_path, sizeof err_path, "child.stderr");
    uint64_t t0 = bench_ns();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd =
            open(out_path != NULL ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || efd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(efd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage r;
    memset(&r, 0, sizeof r);
    if (wait4(pid, &status, 0, &r) < 0)
        return -1;
    if (wall_s != NULL)
        *wall_s = (double)(bench_ns() - t0) / 1e9;
    if (ru != NULL)
        *ru = r;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    FILE *ef = rc != 0 ? fopen(err_path, "r") : NULL;
    if (ef != NULL) {
        char line[512];
        for (int i = 0; i < 5 && fgets(line, sizeof line, ef) != NULL; i++)
            printf("    %s: %s", argv[0], line);
        fclose(ef);
    }
    unlink(err_path);
    return rc;
}

static int find_inspect(void)
{
    const char *env = getenv("VITTE_BIN");
    if (env != NULL && env[0] != '\0') {
        snprintf(vitte_bin, sizeof vitte_bin, "%s", env);
    } else {
        char self[900];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return 0;
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL)
            *slash = '\0';
        snprintf(vitte_bin, sizeof vitte_bin, "%s/../vitte", self);
    }
    if (access(vitte_bin, X_OK) != 0)
        return 0;
    char *argv[] = {vitte_bin, "inspect", "--help", NULL};
    return run_child(argv, NULL, NULL, NULL) == 0;
}

/* The same-run baseline: read the file with vitte_trace_reader and write every
 * span as a Chrome "X" event with one fprintf. */
static int naive_chrome(const char *in, const char *out, uint64_t *events)
{
    vitte_trace_reader *r;
    vitte_diag d;
    if (vitte_trace_reader_open(in, 0, &r, &d) != VITTE_OK)
        return 1;
    FILE *f = fopen(out, "w");
    if (f == NULL) {
        vitte_trace_reader_close(r);
        return 1;
    }
    static char buf[1 << 16];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    fputs("{\"traceEvents\":[\n", f);
    const vitte_trace_event *ev;
    uint64_t n = 0, start = 0;
    int rc;
    while ((rc = vitte_trace_reader_next(r, &ev, &d)) == 1) {
        if (n == 0) {
            vitte_trace_file_info fi;
            if (vitte_trace_reader_info(r, &fi) == VITTE_OK)
                start = fi.start_ns; /* times from the trace's start, as vitte's */
        }
        if (ev->type == VITTE_EVENT_SPAN)
            fprintf(f,
                    "%s{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,"
                    "\"pid\":%u,\"tid\":%u}\n",
                    n ? "," : "", ev->name, ev->module, (double)(ev->ts_ns - start) / 1e3,
                    (double)ev->dur_ns / 1e3, ev->pid, ev->tid);
        n++;
    }
    fputs("]}\n", f);
    fclose(f);
    vitte_trace_reader_close(r);
    *events = n;
    return rc < 0;
}

static int bench_inspect(const bench_opts *o)
{
    printf("\n");
    if (!find_inspect()) {
        printf("inspect: PENDING: `%s inspect --help` does not run (no `vitte inspect` yet); "
               "set VITTE_BIN to a vitte binary that has it\n",
               vitte_bin[0] ? vitte_bin : "vitte");
        return 0;
    }
    printf("# inspect: %s\n", vitte_bin);
    /* ~5 M events: 4 threads x frames x ~50 spans, blocking mode. */
    const uint64_t frames = bench_ops(o, 25000);
    char trace[600], out[600];
    path_in_tmp(trace, sizeof trace, "inspect.vittrace");
    path_in_tmp(out, sizeof out, "inspect.json");
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    cfg.blocking = 1;
    uint64_t spans;
    vitte_tracer_stats st;
    double secs;
    if (run_workload(trace, &cfg, frames, 0, &spans, &st, &secs) != 0)
        return 1;
    uint64_t tsz = file_size(trace);
    printf("# inspect: trace of %" PRIu64 " events, %" PRIu64 " bytes (%.2f B/event), "
           "%" PRIu64 " dropped\n",
           st.events, tsz, (double)tsz / (double)st.events, st.dropped);

    const int reps = o->reps < 3 ? o->reps : 3;
    double v_cpu[3], v_wall[3], n_cpu[3], n_wall[3];
    uint64_t out_bytes = 0, naive_bytes = 0;
    const double nev = (double)st.events;
    int ok = 1;
    for (int r = 0; r < reps; r++) {
        char *argv[] = {vitte_bin, "inspect", "--format", "chrome", trace, NULL};
        struct rusage ru;
        double wall;
        int rc = run_child(argv, out, &ru, &wall);
        if (rc != 0) {
            printf("inspect: `vitte inspect --format chrome` exited with %d\n", rc);
            ok = 0;
            break;
        }
        out_bytes = file_size(out);
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        v_cpu[r] = cpu * 1e9 / nev;
        v_wall[r] = wall * 1e9 / nev;
        uint64_t w0 = bench_ns(), c0 = bt_thread_cpu_ns(), n_read = 0;
        if (naive_chrome(trace, out, &n_read) != 0 || n_read != st.events) {
            printf("inspect: the reader failed on the trace (%" PRIu64 " events read)\n", n_read);
            ok = 0;
            break;
        }
        n_cpu[r] = (double)(bt_thread_cpu_ns() - c0) / nev;
        n_wall[r] = (double)(bench_ns() - w0) / nev;
        naive_bytes = file_size(out);
    }
    discard(out);
    if (ok) {
        bench_result vc = bench_summarize(v_cpu, (size_t)reps);
        bench_result vw = bench_summarize(v_wall, (size_t)reps);
        bench_result nc = bench_summarize(n_cpu, (size_t)reps);
        bench_result nw = bench_summarize(n_wall, (size_t)reps);
        bench_line("inspect/chrome (CPU)", vc, "ns/ev", "reader + naive fprintf", nc, NULL, 0);
        bench_line("inspect/chrome (wall)", vw, "ns/ev", "reader + naive (wall)", nw, NULL, 0);
        printf("    = %.2f M events/s of CPU, %.2f M events/s wall (naive: %.2f, %.2f); "
               "vitte inspect's CPU is user + sys of the child, the naive writer's its "
               "thread's CPU\n",
               1e3 / vc.median, 1e3 / vw.median, 1e3 / nc.median, 1e3 / nw.median);
        printf("    output: vitte %" PRIu64 " bytes (%.1f B/event), naive %" PRIu64
               " bytes (%.1f B/event, spans only, no metadata)\n",
               out_bytes, (double)out_bytes / nev, naive_bytes, (double)naive_bytes / nev);
    }

    /* Peak RSS of the text summary on growing traces of the same workload:
     * the trace above, then 8 and 32 times as many frames (about 80 and 330 MB
     * at scale 1).  BENCH_TRACE_RSS_ARGS=1 adds an int argument to every leaf
     * span (larger events, so fewer of them per MB). */
    const char *ea = getenv("BENCH_TRACE_RSS_ARGS");
    const int rss_args = ea != NULL && ea[0] == '1';
    const uint64_t sizes[3] = {frames, 8 * frames, 32 * frames};
    double rss_mb[3] = {0, 0, 0}, trace_mb[3] = {0, 0, 0};
    int n_sizes = 0;
    for (int i = 0; i < 3; i++) {
        if ((i > 0 || rss_args) &&
            run_workload(trace, &cfg, sizes[i], rss_args, &spans, &st, &secs) != 0)
            break;
        char *argv[] = {vitte_bin, "inspect", trace, NULL};
        struct rusage ru;
        double wall;
        int rc = run_child(argv, NULL, &ru, &wall);
        trace_mb[i] = (double)file_size(trace) / 1e6;
        discard(trace);
        if (rc != 0) {
            printf("inspect: `vitte inspect` (text) exited with %d\n", rc);
            break;
        }
        rss_mb[i] = (double)ru.ru_maxrss / 1024.0;
        printf("    text summary of %.0f MB (%" PRIu64 " events, %" PRIu64
               " dropped): peak RSS %.1f MiB, %.2f s = %.1f M events/s\n",
               trace_mb[i], st.events, st.dropped, rss_mb[i], wall, (double)st.events / wall / 1e6);
        n_sizes++;
    }
    discard(trace);
    if (n_sizes >= 2) {
        /* Extrapolate linearly from the last two sizes to 1 GB. */
        int a = n_sizes - 2, b = n_sizes - 1;
        double slope = (rss_mb[b] - rss_mb[a]) / (trace_mb[b] - trace_mb[a]);
        if (slope < 0)
            slope = 0;
        double at_1g = rss_mb[b] + slope * (1000.0 - trace_mb[b]);
        printf("    RSS growth %.4f MiB per MB of trace, from %.0f to %.0f MB; 1 GB extrapolated "
               "linearly\n",
               slope, trace_mb[a], trace_mb[b]);
        bench_line("inspect/text peak RSS at 1 GB", one(at_1g), "MiB", "smallest trace",
                   one(rss_mb[0]), "<= 256 MiB (extrapolated)", 256.0);
    }
    return 0;
}

/* ---- main ----------------------------------------------------------------------------------- */

static void remove_tmpdir(void)
{
    if (tmpdir[0] != '\0')
        rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_args(argc, argv, &o);

    vitte_clock_info info;
    memset(&info, 0, sizeof info);
    char clock_line[512] = "unknown";
    if (vitte_clock_get_info(&info, 1) == VITTE_OK)
        snprintf(clock_line, sizeof clock_line, "source %s, tsc %.6f GHz, cost %.2f ns",
                 vitte_clock_source_name(info.source), info.tsc_hz / 1e9, info.cost_ns);
    bench_print_machine(&o, "bench_trace", BENCH_LINKAGE, clock_line);
    printf("# tracer: the writer thread is not pinned; with 2 CPUs it runs on the one the "
           "measured thread does not use\n");

    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/vitte-bench-trace-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        fprintf(stderr, "bench_trace: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    keep_files = getenv("BENCH_TRACE_KEEP") != NULL && getenv("BENCH_TRACE_KEEP")[0] == '1';
    atexit(remove_tmpdir);
    printf("# files: %s (%s)\n", tmpdir,
           keep_files ? "kept: BENCH_TRACE_KEEP=1" : "removed at the end");

    int fail = 0;
    if (bench_selected(&o, "span"))
        fail |= bench_span(&o);
    if (bench_selected(&o, "size"))
        fail |= bench_size(&o);
    if (bench_selected(&o, "sustained"))
        fail |= bench_sustained(&o);
    if (bench_selected(&o, "inspect"))
        fail |= bench_inspect(&o);
#if BENCH_HAVE_LTTNG
    printf("\n# LTTng-UST side by side: run bench_trace_lttng (built next to this program)\n");
#else
    printf("\n# LTTng-UST side by side: bench_trace_lttng was not built (LTTng-UST not found "
           "at configure time: apt-get install liblttng-ust-dev lttng-tools)\n");
#endif
    printf("\n");
    int rc = bench_finish();
    return rc != 0 ? rc : fail;
}
