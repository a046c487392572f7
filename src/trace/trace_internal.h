/* Internal state shared by the recorder (trace_record.c) and the session and
 * writer thread (trace_session.c). */
#ifndef VITTE_TRACE_INTERNAL_H
#define VITTE_TRACE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <vitte/clock.h>
#include <vitte/trace.h>

/* One 32-byte record in a thread's ring. */
struct vitte__rec {
    uint64_t a;    /* t0, or the time of a point event */
    uint64_t b;    /* t1, id, value bits or argument value */
    const void *p; /* site, argument key, or NULL */
    uint16_t type; /* VITTE__EV_* or VITTE__REC_* */
    uint16_t depth;
    uint32_t aux; /* argument: kind | target << 8 | string length << 16 */
};
_Static_assert(sizeof(struct vitte__rec) == 32, "records are 32 bytes");

/* Record types beyond the file's event types. */
enum {
    VITTE__REC_THREAD_NAME = 100, /* aux = name length; the bytes follow in records */
    VITTE__REC_BYTES = 101        /* continuation: 32 raw bytes */
};

/* A thread's ring: single producer (the thread), single consumer (the writer).
 * Fields are grouped by who writes them, each group on cache lines of its own
 * (VITTE__LINE bytes apart, whatever the allocation's alignment): the
 * producer writes its group on every event, and a writer reading a field
 * that shared one of those lines would stall both threads (measured: spans
 * 1.0x the floor when separated, up to 1.4x when not). */
#define VITTE__LINE 64
struct vitte__tbuf {
    /* Read-mostly: set at attach. */
    struct vitte__rec *slots;
    uint64_t mask;
    uint32_t tid;
    struct vitte__session *_Atomic session; /* the session this ring is attached to */
    struct vitte__tbuf *next;               /* the session's list (under its lock) */
    char pad0[VITTE__LINE];
    /* Written by the producer on every event. */
    uint64_t head_local;
    uint64_t tail_cache;
    uint32_t filt_depth;       /* open zones the filters dropped */
    uint32_t rec_depth;        /* open recorded spans */
    uint64_t filtered_mask;    /* bit d: the zone at level d (of all open zones) is filtered */
    uint64_t argged_mask;      /* bit d: the span at rec-depth d has arguments */
    _Atomic uint64_t dropped;  /* single writer: the thread */
    _Atomic uint64_t filtered; /* single writer: the thread */
    _Atomic uint64_t head;     /* published by the producer (release) */
    char pad1[VITTE__LINE];
    /* Written by the writer thread. */
    _Atomic uint64_t tail; /* published by the writer (release) */
    _Atomic int dead;      /* the thread has exited; the writer frees the buffer */
    uint64_t events;
    uint64_t point_ns; /* when the writer encoded the chunk's last point event */
    int named;
    void *enc; /* the writer's EVENTS chunk under construction */
};

struct vitte__session; /* trace_session.c */

/* The session the recorder records into, NULL if none. */
extern struct vitte__session *_Atomic vitte__trace_session;
extern _Atomic uint64_t vitte__trace_min_dur; /* in timestamp units (ticks or ns) */
/* 1 while the session records raw TSC ticks (converted by the writer). */
extern _Atomic int vitte__trace_tsc;
extern _Atomic uint32_t vitte__trace_filter_gen;
extern _Atomic int vitte__trace_blocking;

#include "common/clock_internal.h"

/* A recording timestamp: raw TSC ticks in TSC sessions, else nanoseconds.
 * Converting to nanoseconds is left to the writer (off the hot path). */
static inline uint64_t vitte__trace_ts(void)
{
#if VITTE__HAVE_TSC
    if (__builtin_expect(atomic_load_explicit(&vitte__trace_tsc, memory_order_relaxed), 1))
        return __rdtsc();
#endif
    return vitte_now_ns();
}

/* The writer's side: a recorded timestamp in nanoseconds. */
static inline uint64_t vitte__trace_ts_ns(uint64_t ts, int tsc)
{
    return tsc ? vitte__tsc_to_ns(ts) : ts;
}

/* Attach the calling thread to the current session (slow path). */
struct vitte__tbuf *vitte__trace_attach(void);
/* Decide whether a site passes the session's module and tag filters. */
int vitte__trace_site_passes(const struct vitte_srcloc *loc);

#endif
