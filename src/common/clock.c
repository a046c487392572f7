/* The clock: calibrated invariant TSC, else CLOCK_MONOTONIC.
 *
 * Nothing happens at load time.  The first call to vitte_now_ns() takes a
 * (TSC, CLOCK_MONOTONIC) pair and returns clock_gettime() values while the
 * calibration runs; the first call at least CALIB_NS later takes a second pair,
 * derives the TSC period, checks it against an independent estimate (the two
 * halves of the interval, or a short extra interval when no call fell in the
 * middle), and from then on the hot path is rdtsc, one 128-bit multiply and a
 * shift.  A calibration that is implausible or inconsistent is refused and
 * CLOCK_MONOTONIC stays the source.  The TSC time base is anchored on the
 * CLOCK_MONOTONIC value of the second pair, so both share an epoch.
 */
#include <vitte/clock.h>

#include "common/clock_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#define CALIB_NS      20000000ull /* length of the calibration interval */
#define CALIB_MID_NS  10000000ull /* earliest point for the middle pair */
#define CALIB_TOL     1e-3        /* the two estimates must agree within 0.1 % */
#define TSC_MIN_HZ    1e8
#define TSC_MAX_HZ    2e10
#define FALLBACK_SPIN 1000000ull /* extra interval when no middle pair exists */

enum { ST_UNINIT = 0, ST_CALIBRATING = 1, ST_TSC = 2, ST_MONOTONIC = 3 };

struct pair {
    uint64_t tsc;
    uint64_t ns;
    uint64_t width; /* TSC ticks between the two TSC reads around clock_gettime */
};

static struct {
    _Atomic int state;
    _Atomic int finishing; /* one thread finishes the calibration */
    double tsc_hz;
    double calib_error;
    uint64_t calib_ns;
    const char *reason;
    /* Calibration pairs. */
    struct pair p0;
    struct pair pmid;
    _Atomic int have_mid;
} clk;

/* The conversion itself, shared with clock_internal.h's inline reader. */
struct vitte__clock_fast vitte__clk_fast;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if HAVE_TSC
static int tsc_invariant(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return 0;
    if (!__get_cpuid(0x80000007u, &a, &b, &c, &d))
        return 0;
    return (d >> 8) & 1u;
}

/* The tightest of a few (TSC, CLOCK_MONOTONIC) pairs. */
static struct pair take_pair(void)
{
    struct pair best = {0, 0, UINT64_MAX};
    for (int i = 0; i < 7; i++) {
        uint64_t t1 = __rdtsc();
        uint64_t ns = mono_ns();
        uint64_t t2 = __rdtsc();
        if (t2 >= t1 && t2 - t1 < best.width) {
            best.tsc = t1 + (t2 - t1) / 2;
            best.ns = ns;
            best.width = t2 - t1;
        }
    }
    return best;
}

static double pair_hz(const struct pair *a, const struct pair *b)
{
    if (b->ns <= a->ns || b->tsc <= a->tsc)
        return 0.0;
    return (double)(b->tsc - a->tsc) * 1e9 / (double)(b->ns - a->ns);
}

static void refuse(const char *reason)
{
    clk.reason = reason;
    atomic_store_explicit(&clk.state, ST_MONOTONIC, memory_order_release);
}

static void finish_calibration(void)
{
    struct pair p1 = take_pair();
    double hz = pair_hz(&clk.p0, &p1);
    if (hz < TSC_MIN_HZ || hz > TSC_MAX_HZ) {
        refuse("TSC calibration refused: implausible frequency");
        return;
    }
    /* An independent second estimate: the halves of the interval, or a short
     * extra interval after it. */
    double h1, h2;
    if (atomic_load_explicit(&clk.have_mid, memory_order_acquire)) {
        h1 = pair_hz(&clk.p0, &clk.pmid);
        h2 = pair_hz(&clk.pmid, &p1);
    } else {
        struct pair p2;
        do
            p2 = take_pair();
        while (p2.ns - p1.ns < FALLBACK_SPIN);
        h1 = hz;
        h2 = pair_hz(&p1, &p2);
    }
    double err = h1 > h2 ? (h1 - h2) / hz : (h2 - h1) / hz;
    clk.calib_error = err;
    clk.calib_ns = p1.ns - clk.p0.ns;
    if (h1 <= 0.0 || h2 <= 0.0 || err > CALIB_TOL) {
        refuse("TSC calibration refused: estimates disagree (TSC unstable or not synchronized)");
        return;
    }
    clk.tsc_hz = hz;
    vitte__clk_fast.mult = (uint64_t)(1e9 / hz * 4294967296.0 + 0.5);
    vitte__clk_fast.tsc_base = p1.tsc;
    /* Anchor half a pair width late so that no reader sees time step back
     * when it moves from clock_gettime to the TSC. */
    vitte__clk_fast.ns_base = p1.ns + (uint64_t)((double)p1.width * 1e9 / hz / 2.0) + 1;
    clk.reason = "invariant TSC, calibrated against CLOCK_MONOTONIC";
    atomic_store_explicit(&vitte__clk_fast.tsc_ready, 1, memory_order_release);
    atomic_store_explicit(&clk.state, ST_TSC, memory_order_release);
}

static inline uint64_t tsc_to_ns(uint64_t tsc)
{
    const struct vitte__clock_fast *f = &vitte__clk_fast;
    int64_t d = (int64_t)(tsc - f->tsc_base);
    if (d < 0) /* a CPU whose TSC is a few ticks behind the base one */
        d = 0;
    return f->ns_base + (uint64_t)(((unsigned __int128)(uint64_t)d * f->mult) >> 32);
}
#endif

static void start(void)
{
    int expect = ST_UNINIT;
    if (!atomic_compare_exchange_strong(&clk.state, &expect, ST_CALIBRATING))
        return; /* another thread got there first */
    const char *env = getenv("VITTE_CLOCK");
    if (env != NULL && strcmp(env, "monotonic") == 0) {
        clk.reason = "CLOCK_MONOTONIC requested by VITTE_CLOCK=monotonic";
        atomic_store_explicit(&clk.state, ST_MONOTONIC, memory_order_release);
        return;
    }
#if HAVE_TSC
    if (!tsc_invariant()) {
        clk.reason = "CPU has no invariant TSC";
        atomic_store_explicit(&clk.state, ST_MONOTONIC, memory_order_release);
        return;
    }
    clk.reason = "TSC calibration under way";
    clk.p0 = take_pair();
#else
    clk.reason = "no TSC support on this architecture";
    atomic_store_explicit(&clk.state, ST_MONOTONIC, memory_order_release);
#endif
}

static uint64_t now_slow(void)
{
    int st = atomic_load_explicit(&clk.state, memory_order_acquire);
    if (st == ST_UNINIT) {
        start();
        st = atomic_load_explicit(&clk.state, memory_order_acquire);
    }
#if HAVE_TSC
    if (st == ST_TSC)
        return tsc_to_ns(__rdtsc());
    uint64_t ns = mono_ns();
    if (st == ST_CALIBRATING) {
        uint64_t since = ns - clk.p0.ns;
        int expect = 0;
        if (since >= CALIB_NS) {
            if (atomic_compare_exchange_strong(&clk.finishing, &expect, 1))
                finish_calibration();
        } else if (since >= CALIB_MID_NS &&
                   !atomic_load_explicit(&clk.have_mid, memory_order_relaxed) &&
                   atomic_compare_exchange_strong(&clk.finishing, &expect, 1)) {
            clk.pmid = take_pair();
            atomic_store_explicit(&clk.have_mid, 1, memory_order_release);
            atomic_store_explicit(&clk.finishing, 0, memory_order_release);
        }
    }
    return ns;
#else
    return mono_ns();
#endif
}

uint64_t vitte_now_ns(void)
{
#if HAVE_TSC
    if (__builtin_expect(atomic_load_explicit(&clk.state, memory_order_acquire) == ST_TSC, 1))
        return tsc_to_ns(__rdtsc());
#endif
    return now_slow();
}

const char *vitte_clock_source_name(vitte_clock_source source)
{
    switch (source) {
    case VITTE_CLOCK_CALIBRATING:
        return "calibrating";
    case VITTE_CLOCK_MONOTONIC:
        return "CLOCK_MONOTONIC";
    case VITTE_CLOCK_TSC:
        return "TSC";
    }
    return "unknown";
}

int vitte_clock_get_info(vitte_clock_info *info, int wait)
{
    if (info == NULL)
        return VITTE_EINVAL;
    memset(info, 0, sizeof *info);
    uint64_t t0 = vitte_now_ns();
    if (wait) {
        /* Calibration ends at the first call after CALIB_NS; poll for it. */
        uint64_t deadline = mono_ns() + 10 * CALIB_NS;
        while (atomic_load_explicit(&clk.state, memory_order_acquire) == ST_CALIBRATING &&
               mono_ns() < deadline) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            (void)vitte_now_ns();
        }
    }
    (void)t0;
    int st = atomic_load_explicit(&clk.state, memory_order_acquire);
    info->source = st == ST_TSC         ? VITTE_CLOCK_TSC
                   : st == ST_MONOTONIC ? VITTE_CLOCK_MONOTONIC
                                        : VITTE_CLOCK_CALIBRATING;
    info->reason = clk.reason != NULL ? clk.reason : "";
    info->calibration_ns = clk.calib_ns;
    info->calibration_error = clk.calib_error;
    if (st == ST_TSC) {
        info->tsc_hz = clk.tsc_hz;
        info->resolution_ns = 1e9 / clk.tsc_hz;
    } else {
        struct timespec res;
        clock_getres(CLOCK_MONOTONIC, &res);
        info->resolution_ns = (double)res.tv_sec * 1e9 + (double)res.tv_nsec;
    }
    /* Cost: the best of a few batches of calls. */
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        enum { N = 2000 };
        uint64_t a = mono_ns();
        uint64_t sink = 0;
        for (int i = 0; i < N; i++)
            sink += vitte_now_ns();
        uint64_t b = mono_ns();
        __asm__ volatile("" : : "r"(sink));
        double per = (double)(b - a) / N;
        if (per < best)
            best = per;
    }
    info->cost_ns = best;
    return VITTE_OK;
}
