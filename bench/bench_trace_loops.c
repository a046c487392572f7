/* bench_trace_loops.c: the timed loops of the tracing benchmarks (see
 * bench_trace_loops.h).  Compiled with tracing on (the default). */
#include "bench_trace_loops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BT_RDTSC() __rdtsc()
#else
#define BT_RDTSC() bt_wall_ns()
#endif

#include <vitte/trace.h>

static uint64_t ts_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bt_thread_cpu_ns(void)
{
    return ts_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t bt_process_cpu_ns(void)
{
    return ts_ns(CLOCK_PROCESS_CPUTIME_ID);
}

uint64_t bt_wall_ns(void)
{
    return ts_ns(CLOCK_MONOTONIC);
}

bt_time bt_time_loop(bt_loop_fn fn, uint64_t n)
{
    uint64_t w0 = bt_wall_ns();
    uint64_t c0 = bt_thread_cpu_ns();
    fn(n);
    uint64_t c1 = bt_thread_cpu_ns();
    uint64_t w1 = bt_wall_ns();
    bt_time t = {(double)(c1 - c0) / (double)n, (double)(w1 - w0) / (double)n};
    return t;
}

size_t bt_pow2_at_least(size_t v)
{
    size_t p = 1;
    while (p < v)
        p *= 2;
    return p;
}

/* ---- the loops ------------------------------------------------------------------ */

BT_NOINLINE void bt_loop_empty(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        BT_LOOP_BARRIER(i);
}

/* A 16-byte store: what a begin or an end of the floor writes. */
struct bt_half {
    uint64_t ts;
    const void *what;
};

static struct bt_half *floor_buf;
static size_t floor_halves; /* a power of two */
static const char floor_site[] = "s";

int bt_floor_setup(size_t bytes)
{
    bytes = bt_pow2_at_least(bytes < 4096 ? 4096 : bytes);
    floor_buf = aligned_alloc(4096, bytes);
    if (floor_buf == NULL)
        return -1;
    memset(floor_buf, 1, bytes); /* every page faulted in, as vitte's ring is at attach */
    floor_halves = bytes / sizeof(struct bt_half);
    return 0;
}

void bt_floor_teardown(void)
{
    free(floor_buf);
    floor_buf = NULL;
}

/* Two rdtsc and two 16-byte stores per iteration, sequentially, wrapping
 * at the end of the array (which bt_floor_setup sized to hold the loop). */
BT_NOINLINE void bt_loop_floor(uint64_t n)
{
    struct bt_half *a = floor_buf;
    const uint64_t mask = floor_halves - 1;
    for (uint64_t i = 0; i < n; i++) {
        struct bt_half *h = &a[(2 * i) & mask];
        h[0].ts = BT_RDTSC();
        h[0].what = floor_site;
        BT_LOOP_BARRIER(i);
        h[1].ts = BT_RDTSC();
        h[1].what = NULL;
    }
}

BT_NOINLINE void bt_loop_vitte_span(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        VITTE_TRACE_SCOPE("s");
        BT_LOOP_BARRIER(i);
    }
}
