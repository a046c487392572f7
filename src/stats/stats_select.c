/* Order statistics of large samples without sorting them: a radix selection
 * on the bits of the doubles.
 *
 * A double maps to a 64-bit key that sorts as the value does (sign bit set:
 * all bits flipped; else the sign bit set).  One pass counts the values in
 * 2^8 .. 2^16 equal slices of the key range, which finds the slice holding
 * rank k; a second pass copies that slice out (and notes the smallest value
 * above it, which is rank k + 1 when the slice ends at k).  The slice is
 * selected from the same way, with its own key range, until it is small
 * enough to sort.  Slices of key space are geometric across octaves and linear
 * within one, so a slice holds few values whatever the scale of the data; the
 * work is two streaming passes over the data plus a little, and no copy of the
 * whole sample is made.
 *
 * Large inputs first try one pass (Floyd and Rivest's idea, "Expected time
 * bounds for selection", CACM 1975): the order statistics of a sample of
 * SEL_SAMPLE values taken at regular positions bracket rank k with a margin of
 * 4 binomial standard deviations; one pass counts the values below the bracket
 * and copies those inside it (a few per cent), and the radix selection runs
 * on that copy.  When the bracket misses (rare; or on adversarial periodic
 * data) the radix selection runs on the whole input instead: same result. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <vitte/common.h>

#include "common/alloc.h"
#include "stats/stats_internal.h"

#define SEL_MIN_BITS 8
#define SEL_MAX_BITS 16
/* Values counted in 32-bit counters before they are added up (a macro so
 * that a test build can make it small). */
#ifndef SEL_CHUNK
#define SEL_CHUNK ((size_t)1 << 31)
#endif
/* Sampling first from this many values on; the sample's size. */
#define SEL_SAMPLE_MIN ((size_t)1 << 16)
#define SEL_SAMPLE     ((size_t)8192)
/* At or below this many values, a sorted copy is cheaper. */
#define SEL_SORT_MAX 4096

static uint64_t key_of(double v)
{
    v += 0.0; /* -0 -> +0: one key for zero */
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    /* negative: flip every bit; else set the sign bit (branch-free) */
    const uint64_t mask = (uint64_t)((int64_t)u >> 63) | ((uint64_t)1 << 63);
    return u ^ mask;
}

static double value_of(uint64_t key)
{
    const uint64_t u = (key >> 63) ? (key & ~((uint64_t)1 << 63)) : ~key;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static inline double transform(double x, double center, int absdev)
{
    return absdev ? fabs(x - center) : x;
}

/* Ranks k and k + 1 of the transformed values, all of whose keys lie in
 * [kmin, kmax].  vk1 NULL: rank k only. */
static int select_rec(const double *x, size_t n, size_t k, double center, int absdev, uint64_t kmin,
                      uint64_t kmax, double *vk, double *vk1)
{
    if (kmin == kmax) { /* one key: all values equal */
        *vk = value_of(kmin);
        if (vk1 != NULL)
            *vk1 = *vk;
        return VITTE_OK;
    }
    if (n <= SEL_SORT_MAX) {
        double *s = vitte__calloc(n, sizeof *s);
        if (s == NULL)
            return VITTE_ENOMEM;
        for (size_t i = 0; i < n; i++)
            s[i] = transform(x[i], center, absdev);
        vitte__stats_sort(s, n);
        *vk = s[k];
        if (vk1 != NULL)
            *vk1 = s[k + 1 < n ? k + 1 : k];
        vitte__free(s);
        return VITTE_OK;
    }
    /* About 16 values per slice on average, 2^8 .. 2^16 slices. */
    unsigned bits = SEL_MIN_BITS;
    while (bits < SEL_MAX_BITS && ((size_t)16 << bits) < n)
        bits++;
    const size_t nb = (size_t)1 << bits;
    unsigned shift = 0;
    while (((kmax - kmin) >> shift) >= nb)
        shift++;
    /* 32-bit counters (the tables stay in cache) in two interleaved tables, so
     * that runs of equal values do not wait on one counter's increments;
     * summed into counts every SEL_CHUNK values. */
    size_t *counts = vitte__calloc(nb, sizeof *counts);
    uint32_t *c32 = vitte__malloc(2 * nb * sizeof *c32);
    if (counts == NULL || c32 == NULL) {
        vitte__free(counts);
        vitte__free(c32);
        return VITTE_ENOMEM;
    }
    uint32_t *c32b = c32 + nb;
    for (size_t start = 0; start < n; start += SEL_CHUNK) {
        const size_t end = n - start > SEL_CHUNK ? start + SEL_CHUNK : n;
        memset(c32, 0, 2 * nb * sizeof *c32);
        size_t i = start;
        for (; i + 2 <= end; i += 2) {
            c32[(key_of(transform(x[i], center, absdev)) - kmin) >> shift]++;
            c32b[(key_of(transform(x[i + 1], center, absdev)) - kmin) >> shift]++;
        }
        if (i < end)
            c32[(key_of(transform(x[i], center, absdev)) - kmin) >> shift]++;
        for (size_t s = 0; s < nb; s++)
            counts[s] += (size_t)c32[s] + c32b[s];
    }
    vitte__free(c32);
    size_t b = 0, before = 0;
    while (before + counts[b] <= k)
        before += counts[b++];
    const size_t m = counts[b];
    vitte__free(counts);

    /* Copy slice b out, branch-free (sub[j] is written every time, kept when
     * the value belongs): with many ties the test is unpredictable. */
    double *sub = vitte__malloc((m + 1) * sizeof *sub);
    if (sub == NULL)
        return VITTE_ENOMEM;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = transform(x[i], center, absdev);
        sub[j] = v;
        j += ((key_of(v) - kmin) >> shift) == b;
    }
    VITTE_ASSERT(j == m);
    /* The slice's actual range: ties end the recursion at once. */
    double smin = sub[0], smax = sub[0];
    for (j = 1; j < m; j++) {
        smin = sub[j] < smin ? sub[j] : smin;
        smax = sub[j] > smax ? sub[j] : smax;
    }
    const size_t kk = k - before;
    int rc;
    if (vk1 != NULL && kk + 1 >= m) {
        /* rank k + 1 is the smallest value above slice b: one more pass, rare
         * (only when rank k is the last of its slice) */
        rc = select_rec(sub, m, kk, 0.0, 0, key_of(smin), key_of(smax), vk, NULL);
        double above = INFINITY;
        for (size_t i = 0; i < n; i++) {
            const double v = transform(x[i], center, absdev);
            if (((key_of(v) - kmin) >> shift) > b && v < above)
                above = v;
        }
        *vk1 = k + 1 < n ? above : *vk;
    } else {
        rc = select_rec(sub, m, kk, 0.0, 0, key_of(smin), key_of(smax), vk, vk1);
    }
    vitte__free(sub);
    return rc;
}

/* The value of rank r of the bracketed pass (below: b0 values; lo: up to b1;
 * sub: up to b2; hi beyond). */
static int bracket_value(const double *sub, size_t nsub, size_t r, size_t b1, size_t b2, double lo,
                         double hi, double *v)
{
    if (r < b1) {
        *v = lo;
        return VITTE_OK;
    }
    if (r >= b2) {
        *v = hi;
        return VITTE_OK;
    }
    return select_rec(sub, nsub, r - b1, 0.0, 0, key_of(lo), key_of(hi), v, NULL);
}

/* One-pass attempt (see the top of the file).  *done = 1 when it found the
 * answer; 0 (with VITTE_OK) when the bracket missed. */
static int select_sampled(const double *x, size_t n, size_t k, double center, int absdev,
                          double *vk, double *vk1, int *done)
{
    *done = 0;
    const size_t m = SEL_SAMPLE;
    double *smp = vitte__malloc(m * sizeof *smp);
    if (smp == NULL)
        return VITTE_ENOMEM;
    for (size_t j = 0; j < m; j++)
        smp[j] = transform(x[(size_t)((uint64_t)j * n / m)], center, absdev);
    vitte__stats_sort(smp, m);
    const double p = ((double)k + 0.5) / (double)n;
    const double c = p * (double)m;
    const double delta = 4.0 * sqrt((double)m * p * (1.0 - p)) + 2.0;
    const double rlo = floor(c - delta), rhi = ceil(c + delta);
    const double lo = rlo < 0.0 ? -INFINITY : smp[(size_t)rlo];
    const double hi = rhi > (double)(m - 1) ? INFINITY : smp[(size_t)rhi];
    vitte__free(smp);
    /* Values equal to lo or hi are only counted (ties: the bracket may be one
     * value); those strictly inside are copied, with room for twice their
     * expected number (+ 1: the store is branch-free). */
    const double share =
        ((rhi < (double)m ? rhi : (double)m) - (rlo > 0.0 ? rlo : 0.0)) / (double)m;
    const size_t cap = (size_t)(2.0 * share * (double)n) + 1024;
    double *sub = vitte__malloc((cap + 1) * sizeof *sub);
    if (sub == NULL)
        return VITTE_ENOMEM;
    const int two = lo < hi;
    size_t below = 0, elo = 0, ehi = 0, j = 0;
    for (size_t i = 0; i < n && j < cap; i++) {
        const double v = transform(x[i], center, absdev);
        below += v < lo;
        elo += v == lo;
        ehi += (v == hi) & two;
        sub[j] = v;
        j += (v > lo) & (v < hi);
    }
    const size_t b1 = below + elo, b2 = b1 + j, b3 = b2 + ehi;
    const size_t k1 = k + 1 < n ? k + 1 : k;
    const size_t need = vk1 != NULL ? k1 : k;
    int rc = VITTE_OK;
    if (j < cap && below <= k && need < b3) {
        if (vk1 != NULL && k >= b1 && k1 < b2) {
            rc = select_rec(sub, j, k - b1, 0.0, 0, key_of(lo), key_of(hi), vk, vk1);
        } else {
            rc = bracket_value(sub, j, k, b1, b2, lo, hi, vk);
            if (rc == VITTE_OK && vk1 != NULL)
                rc = bracket_value(sub, j, k1, b1, b2, lo, hi, vk1);
        }
        *done = rc == VITTE_OK;
    }
    vitte__free(sub);
    return rc;
}

int vitte__stats_select(const double *x, size_t n, size_t k, double center, int absdev, double lo,
                        double hi, double *vk, double *vk1)
{
    VITTE_ASSERT(n > 0 && k < n && lo <= hi);
    if (n >= SEL_SAMPLE_MIN && lo < hi) {
        int done;
        const int rc = select_sampled(x, n, k, center, absdev, vk, vk1, &done);
        if (rc != VITTE_OK || done)
            return rc;
    }
    return select_rec(x, n, k, center, absdev, key_of(lo), key_of(hi), vk, vk1);
}

double vitte__stats_lerp(double a, double b, double t)
{
    /* numpy's _lerp: exact at both ends, monotone in t. */
    const double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

int vitte__stats_quantile_select(const double *x, size_t n, double q, double center, int absdev,
                                 double lo, double hi, double *out)
{
    const double h = (double)(n - 1) * q;
    const double fl = floor(h);
    const size_t k = (size_t)fl;
    if (k >= n - 1)
        return vitte__stats_select(x, n, n - 1, center, absdev, lo, hi, out, NULL);
    double a, b;
    const int rc = vitte__stats_select(x, n, k, center, absdev, lo, hi, &a, &b);
    if (rc == VITTE_OK)
        *out = vitte__stats_lerp(a, b, h - fl);
    return rc;
}
