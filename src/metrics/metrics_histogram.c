/* Log-linear histograms over doubles, sharded per thread.
 *
 * Index: for v in (2^emin, 2^(emax+1)] the bucket is read straight from the
 * IEEE-754 bits of v: the exponent picks the power of two, the top m mantissa
 * bits the linear sub-bucket.  Using the bits of the previous double
 * (bits - 1) makes buckets (lower, upper], so "values <= bound" is exact at
 * every bucket edge, as Prometheus' inclusive `le` wants.  No log, no
 * division, no floating point on the record path.
 *
 * Each recording thread owns a shard (found through its slot, see
 * metrics_shard.h) with one chunk of 2^m counters per power of two it has
 * touched.  Readers merge the shards under the shard lock.  Exited threads
 * and merges land in `base`.  A reset stores the current totals as a
 * baseline that later reads subtract, so writers never need a lock; min and
 * max restart by being set to +Inf/-Inf in every shard.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "metrics/metrics_internal.h"
#include "metrics/metrics_shard.h"

#define MIN_REL_ERR 1e-4
#define MAX_REL_ERR 0.5
#define MAX_BOUNDS  1024

struct hshard {
    _Atomic uint64_t zero;     /* 0 <= v <= 2^emin */
    _Atomic uint64_t over;     /* v > 2^(emax+1) */
    _Atomic uint64_t rejected; /* negative or NaN */
    _Atomic double sum;
    _Atomic double min;
    _Atomic double max;
    _Atomic(_Atomic uint64_t *) chunks[]; /* n_oct chunks of 2^m counters */
};

struct vitte_histogram {
    uint32_t id;
    int m;          /* sub-bucket bits */
    int emin, emax; /* powers of two covered */
    uint32_t n_oct;
    unsigned shift;    /* 52 - m */
    uint64_t lo_bits;  /* bits of 2^emin */
    uint64_t span;     /* n_oct << 52 */
    uint64_t base_idx; /* lo_bits >> shift */
    _Atomic size_t mem;
    struct hshard *base; /* exited threads, merges; changed under the shard lock */
    uint64_t *baseline;  /* totals at the last reset: counts, then zero, over, rejected */
    double baseline_sum; /* sum at the last reset */
    double lowest, highest, rel_err;
    double *bounds;
    size_t n_bounds;
    double export_scale;
    char *unit;
};

struct vitte_histogram_snapshot {
    int m, emin;
    uint32_t n_oct;
    unsigned shift;
    uint64_t base_idx;
    uint64_t zero, over, rejected, count;
    double sum, min, max;
    uint64_t counts[];
};

static void fold(void *owner, void *shard, int destroying);

static size_t n_counts(const vitte_histogram *h)
{
    return (size_t)h->n_oct << h->m;
}

/* ---- configuration --------------------------------------------------------- */

void vitte_histogram_config_init(vitte_histogram_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->lowest = 1e-9;
    cfg->highest = 1e15;
    cfg->max_relative_error = 0.01;
    cfg->export_scale = 1.0;
    cfg->unit = "";
}

static int floor_log2(double v)
{
    int e;
    frexp(v, &e); /* v = f * 2^e, f in [0.5, 1) */
    return e - 1;
}

/* 1, 2.5, 5 x 10^k from lo to hi inclusive. */
static size_t ladder(double lo, double hi, double *out)
{
    static const double steps[3] = {1.0, 2.5, 5.0};
    size_t n = 0;
    for (int k = (int)floor(log10(lo)); k <= (int)ceil(log10(hi)); k++) {
        for (int s = 0; s < 3; s++) {
            /* Build from a decimal string so that 0.001 is the double nearest
             * to 0.001, exactly what a Prometheus user writes. */
            char buf[32];
            snprintf(buf, sizeof buf, "%ge%d", steps[s], k);
            double b = strtod(buf, NULL);
            if (b >= lo * (1 - 1e-12) && b <= hi * (1 + 1e-12))
                out[n++] = b;
        }
    }
    return n;
}

int vitte_histogram_create(const vitte_histogram_config *ucfg, vitte_histogram **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    if (ucfg != NULL) {
        if (ucfg->struct_size < sizeof(uint32_t) || ucfg->struct_size > sizeof cfg)
            return VITTE_EINVAL;
        memcpy(&cfg, ucfg, ucfg->struct_size);
    }
    if (!(cfg.lowest > 0) || !(cfg.highest > cfg.lowest) || !isfinite(cfg.highest) ||
        cfg.lowest < 0x1p-1000 || cfg.highest > 0x1p1000 ||
        !(cfg.max_relative_error >= MIN_REL_ERR && cfg.max_relative_error <= MAX_REL_ERR) ||
        !(cfg.export_scale > 0) || !isfinite(cfg.export_scale) || cfg.n_bounds > MAX_BOUNDS ||
        (cfg.n_bounds > 0 && cfg.bounds == NULL))
        return VITTE_EINVAL;
    for (size_t i = 0; i < cfg.n_bounds; i++)
        if (!isfinite(cfg.bounds[i]) || (i > 0 && !(cfg.bounds[i] > cfg.bounds[i - 1])))
            return VITTE_EINVAL;

    vitte_histogram *h = vitte__calloc(1, sizeof *h);
    if (h == NULL)
        return VITTE_ENOMEM;
    /* Smallest m with 1 / 2^(m+1) <= max_relative_error. */
    h->m = 1;
    while (1.0 / (double)(2ull << h->m) > cfg.max_relative_error)
        h->m++;
    h->emin = floor_log2(cfg.lowest);
    h->emax = floor_log2(cfg.highest);
    h->n_oct = (uint32_t)(h->emax - h->emin + 1);
    h->shift = 52u - (unsigned)h->m;
    h->lo_bits = (uint64_t)(h->emin + 1023) << 52;
    h->span = (uint64_t)h->n_oct << 52;
    h->base_idx = h->lo_bits >> h->shift;
    h->lowest = cfg.lowest;
    h->highest = cfg.highest;
    h->rel_err = cfg.max_relative_error;
    h->export_scale = cfg.export_scale;
    h->unit = vitte__strdup(cfg.unit != NULL ? cfg.unit : "");
    double def[64];
    const double *bounds = cfg.bounds;
    size_t nb = cfg.n_bounds;
    if (bounds == NULL) {
        if (h->unit != NULL && strcmp(h->unit, "seconds") == 0)
            nb = ladder(1e-6, 100, def);
        else
            nb = ladder(1e-3, 1e6, def);
        bounds = def;
    }
    h->bounds = vitte__calloc(nb ? nb : 1, sizeof(double));
    size_t shard_size = sizeof(struct hshard) + h->n_oct * sizeof(h->base->chunks[0]);
    h->base = vitte__calloc(1, shard_size);
    if (h->unit == NULL || h->bounds == NULL || h->base == NULL) {
        vitte_histogram_destroy(h);
        return VITTE_ENOMEM;
    }
    memcpy(h->bounds, bounds, nb * sizeof(double));
    h->n_bounds = nb;
    atomic_init(&h->base->min, INFINITY);
    atomic_init(&h->base->max, -INFINITY);
    atomic_init(&h->mem, sizeof *h + shard_size);
    int rc = vitte__shard_id_alloc(VITTE__ID_HISTOGRAM, h, fold, &h->id);
    if (rc != VITTE_OK) {
        h->id = 0;
        vitte_histogram_destroy(h);
        return rc;
    }
    *out = h;
    return VITTE_OK;
}

static void shard_free(vitte_histogram *h, struct hshard *s)
{
    for (uint32_t o = 0; o < h->n_oct; o++)
        vitte__free((void *)atomic_load_explicit(&s->chunks[o], memory_order_relaxed));
    vitte__free(s);
}

void vitte_histogram_destroy(vitte_histogram *h)
{
    if (h == NULL)
        return;
    if (h->id != 0)
        vitte__shard_id_free(h->id); /* frees every thread's shard through fold() */
    if (h->base != NULL)
        shard_free(h, h->base);
    vitte__free(h->baseline);
    vitte__free(h->bounds);
    vitte__free(h->unit);
    vitte__free(h);
}

int vitte__histogram_config_cmp(const vitte_histogram *h, const vitte_histogram_config *ucfg)
{
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    if (ucfg != NULL)
        memcpy(&cfg, ucfg, ucfg->struct_size <= sizeof cfg ? ucfg->struct_size : sizeof cfg);
    if (cfg.lowest != h->lowest || cfg.highest != h->highest ||
        cfg.max_relative_error != h->rel_err || cfg.export_scale != h->export_scale ||
        strcmp(cfg.unit != NULL ? cfg.unit : "", h->unit) != 0)
        return 1;
    if (cfg.bounds != NULL && (cfg.n_bounds != h->n_bounds ||
                               memcmp(cfg.bounds, h->bounds, cfg.n_bounds * sizeof(double)) != 0))
        return 1;
    return 0;
}

/* ---- recording ----------------------------------------------------------------- */

static inline void inc(_Atomic uint64_t *p, uint64_t n)
{
    atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Widen the shard's [min, max] to take [mn, mx] in (owner or lock holder). */
static inline void widen(struct hshard *s, double mn, double mx)
{
    if (mn < atomic_load_explicit(&s->min, memory_order_relaxed))
        atomic_store_explicit(&s->min, mn, memory_order_relaxed);
    if (mx > atomic_load_explicit(&s->max, memory_order_relaxed))
        atomic_store_explicit(&s->max, mx, memory_order_relaxed);
}

static struct hshard *new_shard(vitte_histogram *h, _Atomic uint64_t *slot)
{
    size_t size = sizeof(struct hshard) + h->n_oct * sizeof(h->base->chunks[0]);
    struct hshard *s = vitte__calloc(1, size);
    if (s == NULL)
        return NULL;
    atomic_init(&s->min, INFINITY);
    atomic_init(&s->max, -INFINITY);
    atomic_fetch_add_explicit(&h->mem, size, memory_order_relaxed);
    atomic_store_explicit(slot, (uint64_t)(uintptr_t)s, memory_order_release);
    return s;
}

static _Atomic uint64_t *new_chunk(vitte_histogram *h, struct hshard *s, uint32_t o)
{
    _Atomic uint64_t *c = vitte__calloc((size_t)1 << h->m, sizeof(uint64_t));
    if (c == NULL)
        return NULL;
    atomic_fetch_add_explicit(&h->mem, sizeof(uint64_t) << h->m, memory_order_relaxed);
    atomic_store_explicit(&s->chunks[o], c, memory_order_release);
    return c;
}

/* Record into shard s (owned by the caller, or the base under the lock). */
static int record_into(vitte_histogram *h, struct hshard *s, double v, uint64_t n)
{
    uint64_t b1 = dbits(v) - 1; /* buckets are (lower, upper] */
    if (__builtin_expect(b1 - h->lo_bits < h->span, 1)) {
        uint64_t idx = (b1 >> h->shift) - h->base_idx;
        uint32_t o = (uint32_t)(idx >> h->m);
        _Atomic uint64_t *c = atomic_load_explicit(&s->chunks[o], memory_order_relaxed);
        if (__builtin_expect(c == NULL, 0) && (c = new_chunk(h, s, o)) == NULL)
            return VITTE_ENOMEM;
        inc(&c[idx & ((1u << h->m) - 1)], n);
    } else if (v >= 0) { /* also -0.0 */
        inc(v <= bitsd(h->lo_bits) ? &s->zero : &s->over, n);
    } else { /* negative or NaN */
        inc(&s->rejected, n);
        return VITTE_ERANGE;
    }
    atomic_store_explicit(&s->sum,
                          atomic_load_explicit(&s->sum, memory_order_relaxed) + v * (double)n,
                          memory_order_relaxed);
    widen(s, v, v);
    return VITTE_OK;
}

/* The common case, inlined: a value in range, its chunk already there. */
static inline __attribute__((always_inline)) int record_fast(vitte_histogram *h, struct hshard *s,
                                                             double v)
{
    uint64_t b1 = dbits(v) - 1;
    if (__builtin_expect(b1 - h->lo_bits >= h->span, 0))
        return record_into(h, s, v, 1);
    uint64_t idx = (b1 >> h->shift) - h->base_idx;
    _Atomic uint64_t *c = atomic_load_explicit(&s->chunks[idx >> h->m], memory_order_relaxed);
    if (__builtin_expect(c == NULL, 0))
        return record_into(h, s, v, 1);
    inc(&c[idx & ((1u << h->m) - 1)], 1);
    atomic_store_explicit(&s->sum, atomic_load_explicit(&s->sum, memory_order_relaxed) + v,
                          memory_order_relaxed);
    widen(s, v, v);
    return VITTE_OK;
}

static int record_slow(vitte_histogram *h, double v, uint64_t n)
{
    _Atomic uint64_t *slot = vitte__shard_slot(h->id);
    struct hshard *s = NULL;
    if (slot != NULL) {
        s = (struct hshard *)(uintptr_t)atomic_load_explicit(slot, memory_order_relaxed);
        if (s == NULL)
            s = new_shard(h, slot);
    }
    if (s != NULL) {
        int rc = record_into(h, s, v, n);
        if (rc != VITTE_ENOMEM)
            return rc;
    }
    /* Out of memory for this thread's shard: record into the base, locked. */
    vitte__shard_lock();
    int rc = record_into(h, h->base, v, n);
    vitte__shard_unlock();
    return rc;
}

int vitte_histogram_record(vitte_histogram *h, double v)
{
    if (__builtin_expect(h == NULL, 0))
        return VITTE_EINVAL;
    struct vitte__tls *t = vitte__tls_cur;
    if (__builtin_expect(t != NULL, 1)) {
        _Atomic uint64_t *pg =
            atomic_load_explicit(&t->pages[h->id >> VITTE__SHARD_PAGE_BITS], memory_order_relaxed);
        if (__builtin_expect(pg != NULL, 1)) {
            struct hshard *s = (struct hshard *)(uintptr_t)atomic_load_explicit(
                &pg[h->id & (VITTE__SHARD_PAGE - 1)], memory_order_relaxed);
            if (__builtin_expect(s != NULL, 1)) {
                int rc = record_fast(h, s, v);
                if (__builtin_expect(rc != VITTE_ENOMEM, 1))
                    return rc;
            }
        }
    }
    return record_slow(h, v, 1);
}

int vitte_histogram_record_n(vitte_histogram *h, double v, uint64_t n)
{
    if (h == NULL)
        return VITTE_EINVAL;
    if (n == 0)
        return VITTE_OK;
    return record_slow(h, v, n);
}

/* ---- merging shards ---------------------------------------------------------- */

/* Add shard s into the dense totals (counts, then zero, over, rejected). */
static void add_shard(const vitte_histogram *h, struct hshard *s, uint64_t *dense)
{
    size_t per = (size_t)1 << h->m;
    for (uint32_t o = 0; o < h->n_oct; o++) {
        _Atomic uint64_t *c = atomic_load_explicit(&s->chunks[o], memory_order_acquire);
        if (c == NULL)
            continue;
        uint64_t *d = dense + (size_t)o * per;
        for (size_t i = 0; i < per; i++)
            d[i] += atomic_load_explicit(&c[i], memory_order_relaxed);
    }
    size_t nc = n_counts(h);
    dense[nc] += atomic_load_explicit(&s->zero, memory_order_relaxed);
    dense[nc + 1] += atomic_load_explicit(&s->over, memory_order_relaxed);
    dense[nc + 2] += atomic_load_explicit(&s->rejected, memory_order_relaxed);
}

struct gather {
    const vitte_histogram *h;
    uint64_t *dense;
    double sum, min, max;
};

static void gather_shard(const vitte_histogram *h, struct hshard *s, struct gather *g)
{
    add_shard(h, s, g->dense);
    g->sum += atomic_load_explicit(&s->sum, memory_order_relaxed);
    double mn = atomic_load_explicit(&s->min, memory_order_relaxed);
    double mx = atomic_load_explicit(&s->max, memory_order_relaxed);
    if (mn < g->min)
        g->min = mn;
    if (mx > g->max)
        g->max = mx;
}

static void gather_slot(uint64_t slot, void *ud)
{
    struct gather *g = ud;
    if (slot != 0)
        gather_shard(g->h, (struct hshard *)(uintptr_t)slot, g);
}

/* With the shard lock held: raw totals of every shard into g (dense zeroed,
 * n_counts + 3 entries). */
static void gather_all(const vitte_histogram *h, struct gather *g)
{
    g->h = h;
    g->sum = 0;
    g->min = INFINITY;
    g->max = -INFINITY;
    gather_shard(h, h->base, g);
    vitte__shard_each(h->id, gather_slot, g);
}

/* Add dense totals into shard s (the base), allocating its chunks.  With the
 * lock held.  Returns VITTE_ENOMEM if a chunk could not be allocated. */
static int add_dense_to_base(vitte_histogram *h, const uint64_t *dense, double sum, double mn,
                             double mx)
{
    struct hshard *s = h->base;
    size_t per = (size_t)1 << h->m;
    int rc = VITTE_OK;
    for (uint32_t o = 0; o < h->n_oct; o++) {
        const uint64_t *d = dense + (size_t)o * per;
        size_t i;
        for (i = 0; i < per && d[i] == 0; i++)
            ;
        if (i == per)
            continue;
        _Atomic uint64_t *c = atomic_load_explicit(&s->chunks[o], memory_order_relaxed);
        if (c == NULL && (c = new_chunk(h, s, o)) == NULL) {
            rc = VITTE_ENOMEM;
            continue;
        }
        for (i = 0; i < per; i++)
            if (d[i] != 0)
                inc(&c[i], d[i]);
    }
    size_t nc = n_counts(h);
    inc(&s->zero, dense[nc]);
    inc(&s->over, dense[nc + 1]);
    inc(&s->rejected, dense[nc + 2]);
    atomic_store_explicit(&s->sum, atomic_load_explicit(&s->sum, memory_order_relaxed) + sum,
                          memory_order_relaxed);
    widen(s, mn, mx);
    return rc;
}

/* Thread exit (fold into the base) or histogram destruction (free only). */
static void fold(void *owner, void *shard, int destroying)
{
    vitte_histogram *h = owner;
    struct hshard *s = shard;
    if (!destroying) {
        uint64_t *dense = vitte__calloc(n_counts(h) + 3, sizeof(uint64_t));
        if (dense != NULL) {
            struct gather g = {h, dense, 0, INFINITY, -INFINITY};
            gather_shard(h, s, &g);
            add_dense_to_base(h, dense, g.sum, g.min, g.max);
            vitte__free(dense);
        }
    }
    size_t size = sizeof(struct hshard) + h->n_oct * sizeof(s->chunks[0]);
    for (uint32_t o = 0; o < h->n_oct; o++)
        if (atomic_load_explicit(&s->chunks[o], memory_order_relaxed) != NULL)
            size += sizeof(uint64_t) << h->m;
    atomic_fetch_sub_explicit(&h->mem, size, memory_order_relaxed);
    shard_free(h, s);
}

/* ---- snapshots and reading ----------------------------------------------------- */

int vitte_histogram_snapshot_create(const vitte_histogram *h, vitte_histogram_snapshot **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (h == NULL)
        return VITTE_EINVAL;
    size_t nc = n_counts(h);
    vitte_histogram_snapshot *s = vitte__calloc(1, sizeof *s + (nc + 3) * sizeof(uint64_t));
    if (s == NULL)
        return VITTE_ENOMEM;
    s->m = h->m;
    s->emin = h->emin;
    s->n_oct = h->n_oct;
    s->shift = h->shift;
    s->base_idx = h->base_idx;
    struct gather g;
    g.dense = s->counts;
    vitte__shard_lock();
    gather_all(h, &g);
    double bsum = h->baseline_sum;
    if (h->baseline != NULL)
        for (size_t i = 0; i < nc + 3; i++)
            s->counts[i] -= h->baseline[i];
    vitte__shard_unlock();
    s->zero = s->counts[nc];
    s->over = s->counts[nc + 1];
    s->rejected = s->counts[nc + 2];
    s->counts[nc] = s->counts[nc + 1] = s->counts[nc + 2] = 0;
    s->count = s->zero + s->over;
    for (size_t i = 0; i < nc; i++)
        s->count += s->counts[i];
    s->sum = g.sum - bsum;
    s->min = g.min;
    s->max = g.max;
    if (s->count == 0) {
        s->min = s->max = NAN;
        s->sum = 0;
    }
    *out = s;
    return VITTE_OK;
}

void vitte_histogram_snapshot_destroy(vitte_histogram_snapshot *s)
{
    vitte__free(s);
}

static double bucket_upper(const vitte_histogram_snapshot *s, size_t idx)
{
    return bitsd((idx + 1 + s->base_idx) << s->shift);
}

static double bucket_lower(const vitte_histogram_snapshot *s, size_t idx)
{
    return bitsd((idx + s->base_idx) << s->shift);
}

uint64_t vitte_histogram_snapshot_count(const vitte_histogram_snapshot *s)
{
    return s != NULL ? s->count : 0;
}

double vitte_histogram_snapshot_sum(const vitte_histogram_snapshot *s)
{
    return s != NULL ? s->sum : NAN;
}

double vitte_histogram_snapshot_min(const vitte_histogram_snapshot *s)
{
    return s != NULL ? s->min : NAN;
}

double vitte_histogram_snapshot_max(const vitte_histogram_snapshot *s)
{
    return s != NULL ? s->max : NAN;
}

double vitte_histogram_snapshot_mean(const vitte_histogram_snapshot *s)
{
    return s != NULL && s->count > 0 ? s->sum / (double)s->count : NAN;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

double vitte_histogram_snapshot_quantile(const vitte_histogram_snapshot *s, double q)
{
    if (s == NULL || s->count == 0 || !(q >= 0.0 && q <= 1.0))
        return NAN;
    if (q == 0.0)
        return s->min;
    if (q == 1.0)
        return s->max;
    /* The value of rank k (0-based), k the nearest rank to q * (count - 1). */
    uint64_t k = (uint64_t)llround(q * (double)(s->count - 1));
    if (k < s->zero)
        return s->min;
    uint64_t seen = s->zero;
    size_t nc = (size_t)s->n_oct << s->m;
    for (size_t i = 0; i < nc; i++) {
        seen += s->counts[i];
        if (k < seen) {
            double lo = bucket_lower(s, i), hi = bucket_upper(s, i);
            return clamp(lo + (hi - lo) / 2, s->min, s->max);
        }
    }
    return s->max;
}

uint64_t vitte_histogram_snapshot_count_le(const vitte_histogram_snapshot *s, double bound)
{
    if (s == NULL || isnan(bound) || bound < 0)
        return 0;
    if (bound == INFINITY)
        return s->count;
    uint64_t n = 0;
    double zero_top = bitsd((s->base_idx) << s->shift);
    if (bound >= zero_top / 2)
        n += s->zero;
    size_t nc = (size_t)s->n_oct << s->m;
    for (size_t i = 0; i < nc; i++) {
        if (s->counts[i] == 0)
            continue;
        double lo = bucket_lower(s, i), hi = bucket_upper(s, i);
        if (hi <= bound || lo + (hi - lo) / 2 <= bound)
            n += s->counts[i];
        else
            break;
    }
    if (s->over > 0 && bound >= s->max)
        n += s->over;
    return n;
}

void vitte_histogram_iter_init(vitte_histogram_iter *it, const vitte_histogram_snapshot *s)
{
    if (it == NULL)
        return;
    it->snap = s;
    it->pos = 0;
}

/* Positions: 0 is the zero bucket, 1..nc the log-linear ones, nc+1 overflow. */
int vitte_histogram_iter_next(vitte_histogram_iter *it, vitte_histogram_bucket *b)
{
    if (it == NULL || it->snap == NULL || b == NULL)
        return 0;
    const vitte_histogram_snapshot *s = it->snap;
    size_t nc = (size_t)s->n_oct << s->m;
    while (it->pos <= nc + 1) {
        size_t p = it->pos++;
        if (p == 0 && s->zero > 0) {
            *b = (vitte_histogram_bucket){0.0, bitsd(s->base_idx << s->shift), s->zero};
            return 1;
        }
        if (p >= 1 && p <= nc && s->counts[p - 1] > 0) {
            *b = (vitte_histogram_bucket){bucket_lower(s, p - 1), bucket_upper(s, p - 1),
                                          s->counts[p - 1]};
            return 1;
        }
        if (p == nc + 1 && s->over > 0) {
            *b = (vitte_histogram_bucket){bucket_upper(s, nc - 1), INFINITY, s->over};
            return 1;
        }
    }
    return 0;
}

/* Single figures: one snapshot each. */
#define SNAP_READ(fn, type, empty)                                                                 \
    type vitte_histogram_##fn(const vitte_histogram *h)                                            \
    {                                                                                              \
        vitte_histogram_snapshot *s;                                                               \
        if (vitte_histogram_snapshot_create(h, &s) != VITTE_OK)                                    \
            return empty;                                                                          \
        type v = vitte_histogram_snapshot_##fn(s);                                                 \
        vitte_histogram_snapshot_destroy(s);                                                       \
        return v;                                                                                  \
    }
SNAP_READ(count, uint64_t, 0)
SNAP_READ(sum, double, NAN)
SNAP_READ(min, double, NAN)
SNAP_READ(max, double, NAN)
SNAP_READ(mean, double, NAN)
#undef SNAP_READ

double vitte_histogram_quantile(const vitte_histogram *h, double q)
{
    vitte_histogram_snapshot *s;
    if (vitte_histogram_snapshot_create(h, &s) != VITTE_OK)
        return NAN;
    double v = vitte_histogram_snapshot_quantile(s, q);
    vitte_histogram_snapshot_destroy(s);
    return v;
}

uint64_t vitte_histogram_rejected(const vitte_histogram *h)
{
    vitte_histogram_snapshot *s;
    if (vitte_histogram_snapshot_create(h, &s) != VITTE_OK)
        return 0;
    uint64_t v = s->rejected;
    vitte_histogram_snapshot_destroy(s);
    return v;
}

size_t vitte_histogram_memory(const vitte_histogram *h)
{
    if (h == NULL)
        return 0;
    size_t extra = h->baseline != NULL ? (n_counts(h) + 3) * sizeof(uint64_t) : 0;
    return atomic_load_explicit(&((vitte_histogram *)h)->mem, memory_order_relaxed) + extra +
           h->n_bounds * sizeof(double);
}

int vitte_histogram_merge(vitte_histogram *dst, const vitte_histogram *src)
{
    if (dst == NULL || src == NULL || dst == src)
        return VITTE_EINVAL;
    if (dst->m != src->m || dst->emin != src->emin || dst->emax != src->emax)
        return VITTE_EINVAL;
    vitte_histogram_snapshot *s;
    int rc = vitte_histogram_snapshot_create(src, &s);
    if (rc != VITTE_OK)
        return rc;
    size_t nc = n_counts(src);
    s->counts[nc] = s->zero;
    s->counts[nc + 1] = s->over;
    s->counts[nc + 2] = s->rejected;
    vitte__shard_lock();
    rc = s->count > 0 || s->rejected > 0
             ? add_dense_to_base(dst, s->counts, s->sum, s->count ? s->min : INFINITY,
                                 s->count ? s->max : -INFINITY)
             : VITTE_OK;
    vitte__shard_unlock();
    vitte_histogram_snapshot_destroy(s);
    return rc;
}

static void restart_minmax(struct hshard *s)
{
    atomic_store_explicit(&s->min, INFINITY, memory_order_relaxed);
    atomic_store_explicit(&s->max, -INFINITY, memory_order_relaxed);
}

static void restart_slot(uint64_t slot, void *ud)
{
    (void)ud;
    if (slot != 0)
        restart_minmax((struct hshard *)(uintptr_t)slot);
}

void vitte_histogram_reset(vitte_histogram *h)
{
    if (h == NULL)
        return;
    size_t nc = n_counts(h);
    uint64_t *dense = vitte__calloc(nc + 3, sizeof(uint64_t));
    vitte__shard_lock();
    if (dense == NULL && h->baseline != NULL) {
        dense = h->baseline; /* reuse the old baseline's memory */
        memset(dense, 0, (nc + 3) * sizeof(uint64_t));
        h->baseline = NULL;
    }
    if (dense != NULL) {
        struct gather g;
        g.dense = dense;
        gather_all(h, &g);
        vitte__free(h->baseline);
        h->baseline = dense;
        h->baseline_sum = g.sum;
        /* min and max restart.  An owner racing with this only ever stores
         * the value it records, so it can only leave a value of its own. */
        restart_minmax(h->base);
        vitte__shard_each(h->id, restart_slot, NULL);
    }
    vitte__shard_unlock();
}

const char *vitte_histogram_unit(const vitte_histogram *h)
{
    return h != NULL ? h->unit : "";
}

double vitte_histogram_export_scale(const vitte_histogram *h)
{
    return h != NULL ? h->export_scale : 1.0;
}

const double *vitte_histogram_bounds(const vitte_histogram *h, size_t *n)
{
    if (n != NULL)
        *n = h != NULL ? h->n_bounds : 0;
    return h != NULL ? h->bounds : NULL;
}

int vitte_buckets_linear(double start, double width, size_t count, double *out)
{
    if (out == NULL || count == 0 || !isfinite(start) || !(width > 0) || !isfinite(width))
        return VITTE_EINVAL;
    for (size_t i = 0; i < count; i++)
        out[i] = start + width * (double)i;
    return VITTE_OK;
}

int vitte_buckets_exponential(double start, double factor, size_t count, double *out)
{
    if (out == NULL || count == 0 || !(start > 0) || !isfinite(start) || !(factor > 1) ||
        !isfinite(factor))
        return VITTE_EINVAL;
    double v = start;
    for (size_t i = 0; i < count; i++, v *= factor) {
        if (!isfinite(v))
            return VITTE_ERANGE;
        out[i] = v;
    }
    return VITTE_OK;
}
