/* vitte: the clock and timers.
 *
 * vitte_now_ns() is the one timestamp source of the library: monotonic
 * nanoseconds, on the same time base as CLOCK_MONOTONIC (its epoch is
 * CLOCK_MONOTONIC's, so values can be compared with clock_gettime() ones).
 *
 * Source: on x86-64 with an invariant TSC (CPUID 0x80000007 EDX bit 8) the
 * time-stamp counter, calibrated against CLOCK_MONOTONIC during the first
 * ~20 ms after the first call (until then, and whenever the calibration is
 * refused, clock_gettime(CLOCK_MONOTONIC)).  Set VITTE_CLOCK=monotonic in the
 * environment to force clock_gettime.  vitte_clock_get_info() says which source
 * is in use, its resolution and its measured cost; `vitte clock` prints it.
 */
#ifndef VITTE_CLOCK_H
#define VITTE_CLOCK_H

#include <vitte/common.h>

VITTE_BEGIN_DECLS

/** Monotonic nanoseconds (CLOCK_MONOTONIC's epoch).
 * Threads:   any; values never go backwards on one thread.
 * Signals:   AS-safe.
 */
VITTE_API uint64_t vitte_now_ns(void);

typedef enum vitte_clock_source {
    VITTE_CLOCK_CALIBRATING = 0, /* TSC calibration under way; CLOCK_MONOTONIC meanwhile */
    VITTE_CLOCK_MONOTONIC = 1,   /* clock_gettime(CLOCK_MONOTONIC) */
    VITTE_CLOCK_TSC = 2          /* calibrated invariant TSC */
} vitte_clock_source;

typedef struct vitte_clock_info {
    vitte_clock_source source;
    double tsc_hz;            /* calibrated TSC frequency, 0 when not used */
    double resolution_ns;     /* smallest step of the source */
    double cost_ns;           /* measured cost of one vitte_now_ns() call */
    const char *reason;       /* why this source (static string) */
    uint64_t calibration_ns;  /* length of the calibration interval */
    double calibration_error; /* relative disagreement of the two calibration halves */
} vitte_clock_info;

/** Describe the clock.  With wait != 0, first wait (at most ~50 ms) until the TSC
 * calibration has finished, so the answer is final.  Measures cost_ns (~1 ms).
 * Returns: VITTE_OK or VITTE_EINVAL.
 */
VITTE_API int vitte_clock_get_info(vitte_clock_info *info, int wait);

VITTE_API const char *vitte_clock_source_name(vitte_clock_source source);

/* ---- timers ------------------------------------------------------------ */

/** A stopwatch; a plain value on the caller's stack.  The name is not copied:
 * it must outlive the timer (a string literal is the usual case). */
typedef struct vitte_timer {
    const char *name;
    uint64_t start_ns;
    uint64_t elapsed_ns; /* set by vitte_timer_stop() */
} vitte_timer;

/** Start a timer.  Signals: AS-safe. */
static inline vitte_timer vitte_timer_start(const char *name)
{
    vitte_timer t;
    t.name = name;
    t.elapsed_ns = 0;
    t.start_ns = vitte_now_ns();
    return t;
}

/** Stop a timer and return the elapsed nanoseconds (also kept in t->elapsed_ns).
 * Stopping again measures again from the same start.  Signals: AS-safe. */
static inline uint64_t vitte_timer_stop(vitte_timer *t)
{
    uint64_t now = vitte_now_ns();
    t->elapsed_ns = now - t->start_ns;
    return t->elapsed_ns;
}

VITTE_END_DECLS

#endif
