/* vitte_now_ns() inlined, for the library's own hot paths (the tracer reads
 * the clock twice per span; a call each time is measurable). */
#ifndef VITTE_COMMON_CLOCK_INTERNAL_H
#define VITTE_COMMON_CLOCK_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <vitte/clock.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define VITTE__HAVE_TSC 1
#else
#define VITTE__HAVE_TSC 0
#endif

/* The conversion, published (release) before `tsc_ready` becomes 1. */
struct vitte__clock_fast {
    _Atomic int tsc_ready;
    uint64_t tsc_base;
    uint64_t ns_base;
    uint64_t mult; /* nanoseconds per tick, 32.32 fixed point */
};

extern struct vitte__clock_fast vitte__clk_fast;

/* TSC ticks to vitte_now_ns() nanoseconds (valid once tsc_ready is set):
 * the same arithmetic vitte_now_ns() does, so converting later gives the
 * same value as reading vitte_now_ns() at the time. */
static inline uint64_t vitte__tsc_to_ns(uint64_t tsc)
{
    int64_t d = (int64_t)(tsc - vitte__clk_fast.tsc_base);
    if (d < 0) /* a CPU whose TSC is a few ticks behind the base one */
        d = 0;
    return vitte__clk_fast.ns_base +
           (uint64_t)(((unsigned __int128)(uint64_t)d * vitte__clk_fast.mult) >> 32);
}

static inline uint64_t vitte__now_ns(void)
{
#if VITTE__HAVE_TSC
    if (__builtin_expect(atomic_load_explicit(&vitte__clk_fast.tsc_ready, memory_order_acquire),
                         1)) {
        int64_t d = (int64_t)(__rdtsc() - vitte__clk_fast.tsc_base);
        if (d < 0) /* a CPU whose TSC is a few ticks behind the base one */
            d = 0;
        return vitte__clk_fast.ns_base +
               (uint64_t)(((unsigned __int128)(uint64_t)d * vitte__clk_fast.mult) >> 32);
    }
#endif
    return vitte_now_ns();
}

#endif
