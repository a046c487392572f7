/* vitte internal: the timer-and-signal sampler (the engine of
 * vitte_profiler_start(), VITTE_PROFILE and the preload shim; the fallback
 * of `vitte run` when perf_event_open is refused).
 *
 * Every thread of the process gets a timer (timer_create on that thread's
 * CPU-time clock, or CLOCK_MONOTONIC in wall mode) that sends SIGPROF to
 * that thread only (SIGEV_THREAD_ID).  The handler walks frame pointers
 * within the thread's stack bounds (no locks, no allocation) and writes a
 * fixed-layout record into the thread's single-producer ring; a writer
 * thread drains the rings into the profw writer, arms timers for threads
 * that appeared (it rescans /proc/self/task every 50 ms, so no
 * interposition is needed), names threads and records the loaded modules.
 *
 * One sampler per process at a time (SIGPROF is process-wide). */
#ifndef VITTE_PROF_SIGPROF_H
#define VITTE_PROF_SIGPROF_H

#include <stddef.h>
#include <stdint.h>

typedef struct vitte__sigprof vitte__sigprof;

typedef struct vitte__sigprof_options {
    const char *path;    /* the .vittrace to create */
    uint32_t freq_hz;    /* requested rate per thread; 0: 999 */
    int wall;            /* 1: CLOCK_MONOTONIC timers, wall-clock weights */
    int catch_signals;   /* 1: on a fatal signal, write what was sampled first */
    int symbolize;       /* 1: symbolize at stop (SYMBOLS chunk) */
    const char *sampler; /* INFO "sampler"; NULL: "signal" */
} vitte__sigprof_options;

typedef struct vitte__sigprof_stats {
    uint64_t samples;       /* handed to the writer */
    uint64_t lost;          /* dropped: a thread's ring was full */
    uint64_t unwind_failed; /* stacks that ended at the leaf */
    uint64_t truncated;     /* stacks cut at the depth limit */
    uint64_t weight_ns;     /* sum of the weights written */
    uint32_t threads;       /* threads that got a timer */
    uint32_t timer_errors;  /* threads that could not get one */
} vitte__sigprof_stats;

/** Start sampling this process into o->path.  VITTE_ESTATE if a sampler
 * runs already; VITTE_EIO, VITTE_EPERM, VITTE_ENOENT (the file: err says
 * why); VITTE_ENOTSUP (no timer or signal support); VITTE_ENOMEM. */
int vitte__sigprof_start(const vitte__sigprof_options *o, vitte__sigprof **out, char err[256]);

/** Disarm every timer, write what the rings hold, symbolize, complete the
 * file and free s.  Returns the first error met while writing. */
int vitte__sigprof_stop(vitte__sigprof *s);

/** Totals so far (the writer thread's view: what is written). */
void vitte__sigprof_get_stats(vitte__sigprof *s, vitte__sigprof_stats *out);

/** The running sampler, or NULL. */
vitte__sigprof *vitte__sigprof_active(void);

/** Arm the calling thread now (the shim calls it first thing in each new
 * thread, so a thread is sampled from its start and with exact stack
 * bounds).  Does nothing when no sampler runs or the thread has a timer. */
void vitte__sigprof_thread_begin(void);

/** The process is about to end without exit() (the shim's _exit): have
 * the writer write what the rings hold and complete the file (no
 * symbolization), waiting for it at most 2 s.  Signals: AS-safe. */
void vitte__sigprof_exit_now(void);

/** Is fn the start routine of the sampler's own thread (not to be armed)? */
int vitte__sigprof_is_own_thread(void *(*fn)(void *));

/** Called in the child after fork(), once the child's sampler state is
 * reset (the parent's sampler is not the child's; nothing of it runs). */
void vitte__sigprof_set_fork_child_hook(void (*hook)(void));

/** profiler.c: start a profiler as VITTE_PROFILE says, if it is set (the
 * library's constructor, or the shim's). */
void vitte__profiler_from_env(void);

#endif
