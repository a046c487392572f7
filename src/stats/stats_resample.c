/* Confidence intervals: percentile bootstrap (mean, median, ratio of means)
 * with a counter-based generator, and the order-statistic interval for the
 * median. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/stats.h>

#include "common/alloc.h"
#include "stats/stats_internal.h"

/* ---- generator ---------------------------------------------------------------
 * splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): draw j is mix(seed + (j + 1) * GAMMA).  Written
 * from the published constants; the sequence is part of the documented
 * interface (stats.h), so it must not change. */
#define GAMMA 0x9E3779B97F4A7C15ULL

typedef struct rng {
    uint64_t state;
} rng;

static inline uint64_t rng_next(rng *g)
{
    uint64_t z = (g->state += GAMMA);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* floor(z * n / 2^64): the high word of the 128-bit product (Lemire's
 * multiply-shift, without the rejection step: the bias is below n / 2^64). */
static inline uint64_t mul_hi(uint64_t z, uint64_t n)
{
#if defined(__SIZEOF_INT128__)
    return (uint64_t)(((unsigned __int128)z * n) >> 64);
#else
    const uint64_t z0 = z & 0xffffffffu, z1 = z >> 32;
    const uint64_t n0 = n & 0xffffffffu, n1 = n >> 32;
    const uint64_t p00 = z0 * n0, p01 = z0 * n1, p10 = z1 * n0, p11 = z1 * n1;
    const uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

static inline size_t rng_index(rng *g, size_t n)
{
    return (size_t)mul_hi(rng_next(g), (uint64_t)n);
}

/* ---- options and results ------------------------------------------------------ */

void vitte_stats_bootstrap_options_init(vitte_stats_bootstrap_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->resamples = VITTE_STATS_DEFAULT_RESAMPLES;
    o->level = 0.95;
    o->seed = VITTE_STATS_DEFAULT_SEED;
}

int vitte__stats_bootstrap_opts(const vitte_stats_bootstrap_options *in,
                                vitte_stats_bootstrap_options *o)
{
    vitte_stats_bootstrap_options_init(o);
    if (in != NULL) {
        if (in->struct_size < sizeof(uint32_t) || in->struct_size > sizeof *o)
            return VITTE_EINVAL;
        memcpy(o, in, in->struct_size);
        o->struct_size = (uint32_t)sizeof *o;
    }
    if (o->resamples < 1 || !(o->level > 0.0 && o->level < 1.0))
        return VITTE_EINVAL;
    return VITTE_OK;
}

void vitte__stats_ci_nan(vitte_ci *out)
{
    out->estimate = out->lo = out->hi = out->level = out->coverage = out->stderr_boot = NAN;
}

/* Percentile interval and spread of the B statistics in t (sorted here). */
static void percentile_ci(double *t, size_t b, double level, vitte_ci *out)
{
    /* standard deviation, ddof 1: corrected two-pass about the mean (exactly 0
     * for a constant distribution) */
    const double m = vitte__stats_mean(t, b);
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < b; i++) {
        const double d = t[i] - m;
        s1 += d;
        s2 += d * d;
    }
    s2 -= s1 * s1 / (double)b;
    out->stderr_boot = b > 1 ? sqrt(s2 > 0.0 ? s2 / (double)(b - 1) : 0.0) : NAN;
    vitte__stats_sort(t, b);
    const double a = (1.0 - level) / 2.0; /* as scipy: alpha, 1 - alpha */
    out->lo = vitte__stats_quantile_sorted(t, b, a);
    out->hi = vitte__stats_quantile_sorted(t, b, 1.0 - a);
    out->level = level;
    out->coverage = level;
}

/* ---- bootstrap --------------------------------------------------------------- */

/* Common checks of one sample; fills *o. */
static int boot_begin(const double *x, size_t n, const vitte_stats_bootstrap_options *opt,
                      vitte_ci *out, vitte_stats_bootstrap_options *o)
{
    if (out == NULL)
        return VITTE_EINVAL;
    vitte__stats_ci_nan(out);
    if (x == NULL || n == 0)
        return VITTE_EINVAL;
    const int rc = vitte__stats_bootstrap_opts(opt, o);
    if (rc != VITTE_OK)
        return rc;
    if (vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    return VITTE_OK;
}

/* x minus its mean (the resampled means are mean + mean of these: no digits
 * lost to a common offset). */
static double *centered(const double *x, size_t n, double *mean)
{
    double *d = vitte__calloc(n, sizeof *d);
    if (d == NULL)
        return NULL;
    *mean = vitte__stats_mean(x, n);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i] - *mean;
    return d;
}

/* Mean of x - shift (shifted sum, refined by the residual). */
static double shifted_mean(const double *x, size_t n, double shift)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] - shift;
    const double mu = s / (double)n;
    double r = 0.0;
    for (size_t i = 0; i < n; i++)
        r += (x[i] - shift) - mu;
    return mu + r / (double)n;
}

static double *shifted_copy(const double *x, size_t n, double shift)
{
    double *d = vitte__calloc(n, sizeof *d);
    for (size_t i = 0; d != NULL && i < n; i++)
        d[i] = x[i] - shift;
    return d;
}

static double resampled_mean(rng *g, const double *d, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += d[rng_index(g, n)];
    return s / (double)n;
}

int vitte_stats_bootstrap_mean_ci(const double *x, size_t n,
                                  const vitte_stats_bootstrap_options *opt, vitte_ci *out)
{
    vitte_stats_bootstrap_options o;
    int rc = boot_begin(x, n, opt, out, &o);
    if (rc != VITTE_OK)
        return rc;
    double mean;
    double *d = centered(x, n, &mean);
    double *t = vitte__calloc(o.resamples, sizeof *t);
    if (d == NULL || t == NULL) {
        vitte__free(d);
        vitte__free(t);
        return VITTE_ENOMEM;
    }
    rng g = {o.seed};
    for (size_t r = 0; r < o.resamples; r++)
        t[r] = mean + resampled_mean(&g, d, n);
    percentile_ci(t, o.resamples, o.level, out);
    out->estimate = mean;
    vitte__free(d);
    vitte__free(t);
    return VITTE_OK;
}

typedef struct ranked_value {
    double v;
    size_t i;
} ranked_value;

static int cmp_ranked_value(const void *pa, const void *pb)
{
    const ranked_value *a = pa, *b = pb;
    return (a->v > b->v) - (a->v < b->v);
}

int vitte_stats_bootstrap_median_ci(const double *x, size_t n,
                                    const vitte_stats_bootstrap_options *opt, vitte_ci *out)
{
    vitte_stats_bootstrap_options o;
    int rc = boot_begin(x, n, opt, out, &o);
    if (rc != VITTE_OK)
        return rc;
    /* A resample is a multiset of ranks of the sorted sample: count how often
     * each rank is drawn and walk the counts to the middle, O(n) per resample. */
    ranked_value *rv = vitte__calloc(n, sizeof *rv);
    double *s = vitte__calloc(n, sizeof *s);
    size_t *rank = vitte__calloc(n, sizeof *rank);
    size_t *count = vitte__calloc(n, sizeof *count);
    double *t = vitte__calloc(o.resamples, sizeof *t);
    if (rv == NULL || s == NULL || rank == NULL || count == NULL || t == NULL) {
        rc = VITTE_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        rv[i] = (ranked_value){x[i], i};
    qsort(rv, n, sizeof *rv, cmp_ranked_value);
    for (size_t p = 0; p < n; p++) {
        s[p] = rv[p].v;
        rank[rv[p].i] = p;
    }
    const double h = (double)(n - 1) * 0.5;
    const size_t k = (size_t)floor(h);
    const double frac = h - floor(h);
    rng g = {o.seed};
    for (size_t r = 0; r < o.resamples; r++) {
        memset(count, 0, n * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[rank[rng_index(&g, n)]]++;
        size_t p = 0, below = 0;
        while (below + count[p] <= k)
            below += count[p++];
        const double lo = s[p];
        double hi = lo;
        if (frac > 0.0) { /* n even: rank k + 1 too */
            if (below + count[p] <= k + 1) {
                p++;
                while (count[p] == 0)
                    p++;
            }
            hi = s[p];
        }
        t[r] = vitte__stats_lerp(lo, hi, frac);
    }
    percentile_ci(t, o.resamples, o.level, out);
    out->estimate = vitte__stats_quantile_sorted(s, n, 0.5);
done:
    vitte__free(rv);
    vitte__free(s);
    vitte__free(rank);
    vitte__free(count);
    vitte__free(t);
    return rc;
}

double vitte__stats_mean_diff(const double *a, size_t na, const double *b, size_t nb)
{
    return shifted_mean(a, na, b[0]) - shifted_mean(b, nb, b[0]);
}

int vitte__stats_ratio_boot(const double *a, size_t na, const double *b, size_t nb, int minus_one,
                            const vitte_stats_bootstrap_options *o, vitte_ci *out)
{
    /* b of one strict sign: no resampled mean of b is 0 */
    int pos = 0, neg = 0;
    for (size_t i = 0; i < nb; i++) {
        pos |= b[i] > 0.0;
        neg |= b[i] < 0.0;
        if (b[i] == 0.0)
            return VITTE_EINVAL;
    }
    if (pos && neg)
        return VITTE_EINVAL;
    /* ratio: each sample less its own mean; ratio - 1: both less b[0], so that
     * the difference of two resampled means near 1e9 that differ by 1e-6 keeps
     * its digits (it is taken between exact differences). */
    double sa = 0.0, sb = 0.0; /* set by centered() (gcc -O3 cannot see it) */
    double *da, *db;
    if (minus_one) {
        sa = sb = b[0];
        da = shifted_copy(a, na, sa);
        db = shifted_copy(b, nb, sb);
    } else {
        da = centered(a, na, &sa);
        db = centered(b, nb, &sb);
    }
    double *t = vitte__calloc(o->resamples, sizeof *t);
    if (da == NULL || db == NULL || t == NULL) {
        vitte__free(da);
        vitte__free(db);
        vitte__free(t);
        return VITTE_ENOMEM;
    }
    rng g = {o->seed};
    for (size_t r = 0; r < o->resamples; r++) {
        const double ra = resampled_mean(&g, da, na);
        const double rb = resampled_mean(&g, db, nb);
        t[r] = minus_one ? (ra - rb) / (sb + rb) : (sa + ra) / (sb + rb);
    }
    percentile_ci(t, o->resamples, o->level, out);
    if (minus_one) {
        const double mb = shifted_mean(b, nb, sb);
        out->estimate = (shifted_mean(a, na, sb) - mb) / (sb + mb);
    } else {
        out->estimate = sa / sb;
    }
    vitte__free(da);
    vitte__free(db);
    vitte__free(t);
    return VITTE_OK;
}

int vitte_stats_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
                                   const vitte_stats_bootstrap_options *opt, vitte_ci *out)
{
    vitte_stats_bootstrap_options o;
    int rc = boot_begin(a, na, opt, out, &o);
    if (rc != VITTE_OK)
        return rc;
    if (b == NULL || nb == 0)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(b, nb))
        return VITTE_ERANGE;
    rc = vitte__stats_ratio_boot(a, na, b, nb, 0, &o, out);
    if (rc != VITTE_OK)
        vitte__stats_ci_nan(out);
    return rc;
}

/* ---- order-statistic interval for the median ----------------------------------- */

/* 1 if P(B <= m) <= a for B ~ Binomial(n, 1/2), m < n. */
static int binom_half_cdf_le(size_t n, size_t m, double a)
{
    if (n <= 53) {
        /* exact: sum of C(n, i) over i <= m, against a * 2^n (both exact) */
        uint64_t c = 1, sum = 1;
        for (size_t i = 1; i <= m; i++) {
            c = c * (n - i + 1) / i; /* exact: C(n, i-1) (n-i+1) is divisible by i */
            sum += c;
        }
        return (double)sum <= ldexp(a, (int)n);
    }
    /* P(B <= m) = I_{1/2}(n - m, m + 1) */
    return vitte__stats_ibeta((double)(n - m), (double)(m + 1), 0.5, 0.5) <= a;
}

static double binom_half_cdf(size_t n, size_t m)
{
    if (n <= 53) {
        uint64_t c = 1, sum = 1;
        for (size_t i = 1; i <= m; i++) {
            c = c * (n - i + 1) / i;
            sum += c;
        }
        return ldexp((double)sum, -(int)n);
    }
    return vitte__stats_ibeta((double)(n - m), (double)(m + 1), 0.5, 0.5);
}

/* Order statistic of rank k (0-based) of x. */
static int order_stat(const double *x, const double *sorted, size_t n, double mn, double mx,
                      size_t k, double *v)
{
    if (sorted != NULL) {
        *v = sorted[k];
        return VITTE_OK;
    }
    return vitte__stats_select(x, n, k, 0.0, 0, mn, mx, v, NULL);
}

int vitte_stats_median_ci(const double *x, size_t n, double level, vitte_ci *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    vitte__stats_ci_nan(out);
    if (x == NULL || n == 0 || !(level > 0.0 && level < 1.0))
        return VITTE_EINVAL;
    double mn = x[0], mx = x[0];
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return VITTE_ERANGE;
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    /* Coverage of [x(l), x(n+1-l)] is P(l <= B <= n - l) = 1 - 2 P(B <= l - 1):
     * l - 1 = the largest m with P(B <= m) <= a, by bisection (the cdf grows
     * with m, and P(B <= n/2) >= 1/2 > a).  No such m: l = 1, less coverage. */
    const double a = (1.0 - level) / 2.0;
    size_t l = 1;
    if (binom_half_cdf_le(n, 0, a)) {
        size_t lo = 0, hi = n / 2;
        while (hi - lo > 1) {
            const size_t mid = lo + (hi - lo) / 2;
            if (binom_half_cdf_le(n, mid, a))
                lo = mid;
            else
                hi = mid;
        }
        l = lo + 1;
    }
    double *s = NULL;
    if (n <= VITTE__STATS_SORT_MAX) {
        s = vitte__calloc(n, sizeof *s);
        if (s == NULL)
            return VITTE_ENOMEM;
        memcpy(s, x, n * sizeof *s);
        vitte__stats_sort(s, n);
    }
    double lo_v, hi_v, med;
    int rc = order_stat(x, s, n, mn, mx, l - 1, &lo_v);
    if (rc == VITTE_OK)
        rc = order_stat(x, s, n, mn, mx, n - l, &hi_v);
    if (rc == VITTE_OK) {
        if (s != NULL)
            med = vitte__stats_quantile_sorted(s, n, 0.5);
        else
            rc = vitte__stats_quantile_select(x, n, 0.5, 0.0, 0, mn, mx, &med);
    }
    vitte__free(s);
    if (rc != VITTE_OK)
        return rc;
    out->estimate = med;
    out->lo = lo_v;
    out->hi = hi_v;
    out->level = level;
    out->coverage = 1.0 - 2.0 * binom_half_cdf(n, l - 1);
    return VITTE_OK;
}
