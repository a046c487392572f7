/* bench_trace_loops.h: the timed loops shared by bench_trace and
 * bench_trace_lttng, and how they are timed (docs/benchmarks.md, "Tracing").
 *
 * Every loop runs n iterations of the same skeleton: a counter, a compiler
 * barrier that keeps the loop (BT_LOOP_BARRIER), and the work under test.
 * A figure is (the loop's thread CPU time - the empty loop's) / n: the
 * method of the reference measurements (tracing.md, section 2), so time the
 * thread spends preempted does not count.  Wall time is kept beside it.
 */
#ifndef VITTE_BENCH_TRACE_LOOPS_H
#define VITTE_BENCH_TRACE_LOOPS_H

#include <stddef.h>
#include <stdint.h>

/* Keeps the loop and its counter; no instruction of its own. */
#define BT_LOOP_BARRIER(i) __asm__ volatile("" : : "r"(i) : "memory")

#if defined(__GNUC__)
#define BT_NOINLINE __attribute__((noinline, noipa))
#else
#define BT_NOINLINE
#endif

/* Time of one loop, per iteration. */
typedef struct bt_time {
    double cpu;  /* CLOCK_THREAD_CPUTIME_ID, ns per iteration */
    double wall; /* CLOCK_MONOTONIC, ns per iteration */
} bt_time;

typedef void (*bt_loop_fn)(uint64_t n);

/* Run fn(n) once and return its per-iteration thread CPU and wall time. */
bt_time bt_time_loop(bt_loop_fn fn, uint64_t n);

/* Thread and process CPU time, CLOCK_MONOTONIC: nanoseconds. */
uint64_t bt_thread_cpu_ns(void);
uint64_t bt_process_cpu_ns(void);
uint64_t bt_wall_ns(void);

/* The loops.  Each is out of line and keeps its own copy of the skeleton. */
void bt_loop_empty(uint64_t n);
/* The floor: two __rdtsc() and two 16-byte stores per iteration into the
 * array given to bt_floor_setup (pre-faulted, written from its start). */
void bt_loop_floor(uint64_t n);
/* One VITTE_TRACE_SCOPE("s") per iteration (begin + end, one span). */
void bt_loop_vitte_span(uint64_t n);

/* Allocate and pre-fault the floor's array: bytes rounded up to a power of
 * two, at least n * 32 bytes.  Returns 0 on success. */
int bt_floor_setup(size_t bytes);
void bt_floor_teardown(void);

/* bench_trace_off.c, compiled with -DVITTE_TRACE_ENABLED=0: the span loop
 * with the macro compiled out, and an empty loop from the same translation
 * unit (the two should be the same machine code). */
void bt_loop_off_span(uint64_t n);
void bt_loop_off_empty(uint64_t n);

/* The smallest power of two >= v (v >= 1). */
size_t bt_pow2_at_least(size_t v);

#endif
