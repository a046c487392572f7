/* Counters (per-thread slots, exact sums) and gauges (one atomic double). */
#include <string.h>

#include "common/alloc.h"
#include "metrics/metrics_internal.h"
#include "metrics/metrics_shard.h"

int vitte__counter_init(vitte_counter *c)
{
    return vitte__shard_id_alloc(VITTE__ID_COUNTER, c, NULL, &c->id);
}

void vitte__counter_fini(vitte_counter *c)
{
    if (c->id != 0)
        vitte__shard_id_free(c->id);
    c->id = 0;
}

int vitte_counter_create(vitte_counter **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    vitte_counter *c = vitte__calloc(1, sizeof *c);
    if (c == NULL)
        return VITTE_ENOMEM;
    int rc = vitte__counter_init(c);
    if (rc != VITTE_OK) {
        vitte__free(c);
        return rc;
    }
    *out = c;
    return VITTE_OK;
}

void vitte_counter_destroy(vitte_counter *c)
{
    if (c == NULL)
        return;
    vitte__counter_fini(c);
    vitte__free(c);
}

void vitte_counter_add(vitte_counter *c, uint64_t n)
{
    if (__builtin_expect(c == NULL, 0))
        return;
    _Atomic uint64_t *slot = vitte__shard_slot(c->id);
    if (__builtin_expect(slot != NULL, 1)) {
        /* Single writer: a plain add, published with a relaxed store so a
         * reader never sees a torn value. */
        atomic_store_explicit(slot, atomic_load_explicit(slot, memory_order_relaxed) + n,
                              memory_order_relaxed);
        return;
    }
    /* No memory for this thread's slot: count in the shared base instead. */
    vitte__shard_lock();
    _Atomic uint64_t *base = vitte__shard_base(c->id);
    if (base != NULL)
        atomic_fetch_add_explicit(base, n, memory_order_relaxed);
    vitte__shard_unlock();
}

void vitte_counter_inc(vitte_counter *c)
{
    vitte_counter_add(c, 1);
}

static void sum_slot(uint64_t v, void *ud)
{
    *(uint64_t *)ud += v;
}

uint64_t vitte_counter_value(const vitte_counter *c)
{
    if (c == NULL || c->id == 0)
        return 0;
    uint64_t sum = 0;
    vitte__shard_lock();
    _Atomic uint64_t *base = vitte__shard_base(c->id);
    if (base != NULL)
        sum = atomic_load_explicit(base, memory_order_relaxed);
    vitte__shard_each(c->id, sum_slot, &sum);
    vitte__shard_unlock();
    return sum;
}

/* ---- gauges ---------------------------------------------------------------- */

int vitte_gauge_create(vitte_gauge **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = vitte__calloc(1, sizeof **out);
    return *out != NULL ? VITTE_OK : VITTE_ENOMEM;
}

void vitte_gauge_destroy(vitte_gauge *g)
{
    vitte__free(g);
}

void vitte_gauge_set(vitte_gauge *g, double v)
{
    if (g != NULL)
        atomic_store_explicit(&g->bits, dbits(v), memory_order_relaxed);
}

void vitte_gauge_add(vitte_gauge *g, double d)
{
    if (g == NULL)
        return;
    uint64_t old = atomic_load_explicit(&g->bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&g->bits, &old, dbits(bitsd(old) + d),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

double vitte_gauge_value(const vitte_gauge *g)
{
    if (g == NULL)
        return 0.0;
    return bitsd(atomic_load_explicit(&((vitte_gauge *)g)->bits, memory_order_relaxed));
}
