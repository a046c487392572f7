/* Per-thread slots for counters and histograms (internal to src/metrics).
 *
 * Every counter and histogram gets a process-wide id.  Each thread that
 * records owns a two-level table of 64-bit slots indexed by id: the slot is
 * the thread's count for a counter, or a pointer to the thread's shard for a
 * histogram.  Only the owning thread writes its slots (relaxed load + store,
 * no lock, no read-modify-write); readers take the registry lock and sum the
 * slots of every live thread plus the "base" of values folded in from exited
 * threads.  A thread's values are folded into the base before its table is
 * unlinked, under the lock, so sums never go backwards.
 */
#ifndef VITTE_METRICS_SHARD_H
#define VITTE_METRICS_SHARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define VITTE__SHARD_PAGE_BITS 9
#define VITTE__SHARD_PAGE      (1u << VITTE__SHARD_PAGE_BITS) /* slots per page */
#define VITTE__SHARD_PAGES     1024u
#define VITTE__SHARD_MAX_IDS   (VITTE__SHARD_PAGE * VITTE__SHARD_PAGES)

struct vitte__tls {
    _Atomic(_Atomic uint64_t *) pages[VITTE__SHARD_PAGES];
    struct vitte__tls *next;
    struct vitte__tls *prev;
};

extern __thread struct vitte__tls *vitte__tls_cur __attribute__((tls_model("initial-exec")));

/* Kinds of ids: what a thread's slot holds, and how to fold it on exit. */
enum { VITTE__ID_FREE = 0, VITTE__ID_COUNTER = 1, VITTE__ID_HISTOGRAM = 2 };

/* Called with the lock held when a thread holding a histogram shard exits
 * (fold into the histogram's base, then free the shard) or when the
 * histogram is destroyed (free only). */
typedef void (*vitte__shard_fold_fn)(void *owner, void *shard, int destroying);

/* Allocate an id of the given kind (owner is passed to fold for histograms).
 * Returns 0 or VITTE_ELIMIT / VITTE_ENOMEM. */
int vitte__shard_id_alloc(int kind, void *owner, vitte__shard_fold_fn fold, uint32_t *id);
/* Free an id: every thread's slot is cleared (histogram shards freed through
 * fold with destroying = 1). */
void vitte__shard_id_free(uint32_t id);

/* The calling thread's slot for id, creating the thread's table and page if
 * needed (slow path).  NULL when out of memory. */
_Atomic uint64_t *vitte__shard_slot_slow(uint32_t id);

/* The calling thread's slot, fast when it exists. */
static inline _Atomic uint64_t *vitte__shard_slot(uint32_t id)
{
    struct vitte__tls *t = vitte__tls_cur;
    if (__builtin_expect(t != NULL, 1)) {
        _Atomic uint64_t *pg =
            atomic_load_explicit(&t->pages[id >> VITTE__SHARD_PAGE_BITS], memory_order_relaxed);
        if (__builtin_expect(pg != NULL, 1))
            return &pg[id & (VITTE__SHARD_PAGE - 1)];
    }
    return vitte__shard_slot_slow(id);
}

/* Reading: lock, then walk each live thread's slot for an id. */
void vitte__shard_lock(void);
void vitte__shard_unlock(void);
/* With the lock held: call fn on each live thread's slot value for id (only
 * where the page exists). */
typedef void (*vitte__shard_each_fn)(uint64_t slot_value, void *ud);
void vitte__shard_each(uint32_t id, vitte__shard_each_fn fn, void *ud);
/* With the lock held: the base (exited threads' folded counts) of a counter. */
_Atomic uint64_t *vitte__shard_base(uint32_t id);

#endif
