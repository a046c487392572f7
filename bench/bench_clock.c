/* bench_clock: cost of reading the time.
 *
 *   now_ns            vitte_now_ns()                      vs clock_gettime(CLOCK_MONOTONIC)
 *                                                          and a raw __rdtsc() (x86-64)
 *   timer_start_stop  vitte_timer_start + vitte_timer_stop vs two vitte_now_ns() calls
 *                     (target: at most 1.2x)
 *
 * Each figure is the median of --reps repetitions of a loop of calls; the
 * loop's own cost (about one cycle) is included in every figure alike.
 * vitte_clock_get_info(&i, 1) is called first, so the TSC calibration has
 * finished and the source printed is the one measured.
 *
 * Run: build/release/bench/bench_clock [--reps N] [--scale F] [FILTER]
 * VITTE_CLOCK=monotonic in the environment measures the clock_gettime path.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_RDTSC 1
#else
#define BENCH_HAVE_RDTSC 0
#endif

#include <vitte/vitte.h>

#include "bench_util.h"

#ifndef BENCH_LINKAGE
#define BENCH_LINKAGE "static"
#endif

enum clock_kind { K_NOW_NS, K_CLOCK_GETTIME, K_RDTSC, K_TIMER, K_TWO_NOW, K_COUNT };

/* One timed loop of n operations of the given kind; returns ns per operation. */
static double run_kind(enum clock_kind k, uint64_t n)
{
    uint64_t acc = 0;
    uint64_t t0 = bench_ns();
    switch (k) {
    case K_NOW_NS:
        for (uint64_t i = 0; i < n; i++)
            acc += vitte_now_ns();
        break;
    case K_CLOCK_GETTIME:
        for (uint64_t i = 0; i < n; i++) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            acc += (uint64_t)ts.tv_nsec;
        }
        break;
    case K_RDTSC:
#if BENCH_HAVE_RDTSC
        for (uint64_t i = 0; i < n; i++)
            acc += __rdtsc();
#endif
        break;
    case K_TIMER:
        for (uint64_t i = 0; i < n; i++) {
            vitte_timer t = vitte_timer_start("bench");
            acc += vitte_timer_stop(&t);
        }
        break;
    case K_TWO_NOW:
        for (uint64_t i = 0; i < n; i++) {
            uint64_t a = vitte_now_ns();
            uint64_t b = vitte_now_ns();
            acc += b - a;
        }
        break;
    case K_COUNT:
        break;
    }
    uint64_t t1 = bench_ns();
    bench_sink = acc;
    return (double)(t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_args(argc, argv, &o);

    /* Wait for the end of the TSC calibration: the source printed is the one measured. */
    vitte_clock_info info;
    memset(&info, 0, sizeof info);
    int rc = vitte_clock_get_info(&info, 1);
    char clock_line[512];
    if (rc != VITTE_OK) {
        snprintf(clock_line, sizeof clock_line, "vitte_clock_get_info failed: %s",
                 vitte_strerror(rc));
    } else {
        snprintf(clock_line, sizeof clock_line,
                 "source %s, tsc %.6f GHz, resolution %.2f ns, self-measured cost %.2f ns, "
                 "calibration %.1f ms (error %.2g), reason: %s",
                 vitte_clock_source_name(info.source), info.tsc_hz / 1e9, info.resolution_ns,
                 info.cost_ns, (double)info.calibration_ns / 1e6, info.calibration_error,
                 info.reason ? info.reason : "-");
    }
    bench_print_machine(&o, "bench_clock", BENCH_LINKAGE, clock_line);
    if (getenv("VITTE_CLOCK") != NULL)
        printf("# VITTE_CLOCK=%s in the environment\n", getenv("VITTE_CLOCK"));

    const uint64_t n = bench_ops(&o, 20000000);
    const int reps = o.reps;
    double *res[K_COUNT];
    for (int k = 0; k < K_COUNT; k++) {
        res[k] = calloc((size_t)reps, sizeof(double));
        if (res[k] == NULL)
            return 1;
    }
    int want_now = bench_selected(&o, "now_ns");
    int want_timer = bench_selected(&o, "timer_start_stop");

    /* Warm-up: fault in the code and vDSO page, settle the CPU frequency. */
    for (int k = 0; k < K_COUNT; k++)
        run_kind((enum clock_kind)k, n / 20);

    for (int r = 0; r < reps; r++) {
        if (want_now) {
            res[K_NOW_NS][r] = run_kind(K_NOW_NS, n);
            res[K_CLOCK_GETTIME][r] = run_kind(K_CLOCK_GETTIME, n);
            res[K_RDTSC][r] = run_kind(K_RDTSC, n);
        }
        if (want_timer) {
            res[K_TIMER][r] = run_kind(K_TIMER, n / 2);
            res[K_TWO_NOW][r] = run_kind(K_TWO_NOW, n / 2);
        }
    }

    printf("\n");
    if (want_now) {
        bench_result now = bench_summarize(res[K_NOW_NS], (size_t)reps);
        bench_result cg = bench_summarize(res[K_CLOCK_GETTIME], (size_t)reps);
        bench_result tsc = bench_summarize(res[K_RDTSC], (size_t)reps);
        bench_line("now_ns", now, "ns/op", "clock_gettime_monotonic", cg, NULL, 0);
#if BENCH_HAVE_RDTSC
        bench_vs("rdtsc (raw, uncalibrated)", now, tsc, "ns/op");
#endif
    }
    if (want_timer) {
        bench_result timer = bench_summarize(res[K_TIMER], (size_t)reps);
        bench_result two = bench_summarize(res[K_TWO_NOW], (size_t)reps);
        bench_line_ratio("timer_start_stop", timer, "ns/op", "two_now_ns", two, "ratio <= 1.20",
                         1.20);
    }
    printf("\n");
    for (int k = 0; k < K_COUNT; k++)
        free(res[k]);
    return bench_finish();
}
