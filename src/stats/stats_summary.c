/* One-sample statistics: summary, quantiles, mean CI, streaming moments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/stats.h>

#include "common/alloc.h"
#include "stats/stats_internal.h"

/* Normal-consistent MAD scale, as criterion.rs (1 / Phi^-1(3/4) = 1.48260222...). */
#define MAD_SCALE 1.4826

int vitte__stats_has_nan(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 1;
    return 0;
}

static int cmp_double(const void *pa, const void *pb)
{
    const double a = *(const double *)pa;
    const double b = *(const double *)pb;
    return (a > b) - (a < b);
}

void vitte__stats_sort(double *x, size_t n)
{
    if (n > 1)
        qsort(x, n, sizeof *x, cmp_double);
}

double vitte__stats_quantile_sorted(const double *s, size_t n, double q)
{
    const double h = (double)(n - 1) * q;
    double fl = floor(h);
    size_t lo = (size_t)fl;
    if (lo >= n - 1)
        return s[n - 1];
    return vitte__stats_lerp(s[lo], s[lo + 1], h - fl);
}

static void summary_nan(vitte_summary *out)
{
    out->n = 0;
    out->mean = out->variance = out->stddev = NAN;
    out->min = out->max = out->median = out->mad = NAN;
    out->skewness = out->kurtosis = out->cv = out->stderr_mean = NAN;
}

/* Derived figures from n, mean and the sums of powers of deviations. */
static void summary_from_moments(vitte_summary *out, double n, double mean, double m2, double m3,
                                 double m4)
{
    out->mean = mean;
    if (n >= 2.0) {
        out->variance = m2 / (n - 1.0);
        out->stddev = sqrt(out->variance);
        out->stderr_mean = out->stddev / sqrt(n);
        out->cv = mean != 0.0 ? out->stddev / mean : NAN;
    } else {
        out->variance = out->stddev = out->stderr_mean = out->cv = NAN;
    }
    const double p2 = m2 / n;
    if (p2 > 0.0) {
        out->skewness = (m3 / n) / (p2 * sqrt(p2));
        out->kurtosis = (m4 / n) / (p2 * p2) - 3.0;
    } else {
        out->skewness = out->kurtosis = NAN;
    }
}

double vitte__stats_mean(const double *x, size_t n)
{
    const double shift = x[0];
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] - shift;
    const double mu = shift + s / (double)n;
    double r = 0.0;
    for (size_t i = 0; i < n; i++)
        r += x[i] - mu;
    return mu + r / (double)n;
}

/* Mean and central power sums: mean on data shifted by x[0], refined once by
 * the mean residual; m2 with the corrected two-pass term.  mn, mx (NULL: not
 * wanted) receive the extremes, found in the first pass.  Sums run in
 * interleaved accumulators (four, then eight for the powers), added pairwise
 * at the end: the loops are not bound by the latency of one addition, and the
 * rounding is a little smaller.  Any NaN or infinity in x makes *mean
 * non-finite. */
static void batch_moments(const double *x, size_t n, double *mean, double *m2, double *m3,
                          double *m4, double *mn, double *mx)
{
    const double shift = x[0];
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    double lo[4] = {shift, shift, shift, shift}, hi[4] = {shift, shift, shift, shift};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int k = 0; k < 4; k++) {
            const double v = x[i + (size_t)k];
            a[k] += v - shift;
            lo[k] = v < lo[k] ? v : lo[k];
            hi[k] = v > hi[k] ? v : hi[k];
        }
    }
    for (; i < n; i++) {
        a[0] += x[i] - shift;
        lo[0] = x[i] < lo[0] ? x[i] : lo[0];
        hi[0] = x[i] > hi[0] ? x[i] : hi[0];
    }
    if (mn != NULL) {
        *mn = fmin(fmin(lo[0], lo[1]), fmin(lo[2], lo[3]));
        *mx = fmax(fmax(hi[0], hi[1]), fmax(hi[2], hi[3]));
    }
    double mu = shift + ((a[0] + a[1]) + (a[2] + a[3])) / (double)n;
    a[0] = a[1] = a[2] = a[3] = 0.0;
    for (i = 0; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            a[k] += x[i + (size_t)k] - mu;
    for (; i < n; i++)
        a[0] += x[i] - mu;
    mu += ((a[0] + a[1]) + (a[2] + a[3])) / (double)n;
    double p1[2] = {0.0, 0.0}, p2[2] = {0.0, 0.0}, p3[2] = {0.0, 0.0}, p4[2] = {0.0, 0.0};
    for (i = 0; i + 2 <= n; i += 2) {
        for (int k = 0; k < 2; k++) {
            const double d = x[i + (size_t)k] - mu;
            const double d2 = d * d;
            p1[k] += d;
            p2[k] += d2;
            p3[k] += d2 * d;
            p4[k] += d2 * d2;
        }
    }
    if (i < n) {
        const double d = x[i] - mu;
        const double d2 = d * d;
        p1[0] += d;
        p2[0] += d2;
        p3[0] += d2 * d;
        p4[0] += d2 * d2;
    }
    double s1 = p1[0] + p1[1], s2 = p2[0] + p2[1], s3 = p3[0] + p3[1], s4 = p4[0] + p4[1];
    /* Moments about mu + e, the mean corrected by the residual e: expand
     * sum (d - e)^k (exact algebra; e is tiny, of the order of mu's ulp). */
    const double dn = (double)n;
    const double e = s1 / dn;
    *mean = mu + e;
    s4 = s4 - 4.0 * e * s3 + 6.0 * e * e * s2 - 4.0 * e * e * e * s1 + dn * e * e * e * e;
    s3 = s3 - 3.0 * e * s2 + 3.0 * e * e * s1 - dn * e * e * e;
    s2 -= s1 * e;
    *m2 = s2 > 0.0 ? s2 : 0.0;
    *m3 = s3;
    *m4 = s4 > 0.0 ? s4 : 0.0;
}

/* 1 if x[0..n) is all finite, with its minimum and maximum. */
static int finite_min_max(const double *x, size_t n, double *mn, double *mx)
{
    double lo = x[0], hi = x[0];
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        const double v = x[i];
        finite &= isfinite(v) != 0;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    *mn = lo;
    *mx = hi;
    return finite;
}

/* Median and MAD: sorted copy for small samples, selection for large ones
 * (the same order statistics, so the same bits). */
static int median_mad(const double *x, size_t n, double mn, double mx, double *median, double *mad)
{
    if (n > VITTE__STATS_SORT_MAX) {
        int rc = vitte__stats_quantile_select(x, n, 0.5, 0.0, 0, mn, mx, median);
        if (rc != VITTE_OK)
            return rc;
        const double dmax = fmax(mx - *median, *median - mn);
        double m;
        rc = vitte__stats_quantile_select(x, n, 0.5, *median, 1, 0.0, dmax, &m);
        *mad = MAD_SCALE * m;
        return rc;
    }
    double *s = vitte__calloc(n, sizeof *s);
    if (s == NULL)
        return VITTE_ENOMEM;
    memcpy(s, x, n * sizeof *s);
    vitte__stats_sort(s, n);
    *median = vitte__stats_quantile_sorted(s, n, 0.5);
    for (size_t i = 0; i < n; i++)
        s[i] = fabs(s[i] - *median);
    vitte__stats_sort(s, n);
    *mad = MAD_SCALE * vitte__stats_quantile_sorted(s, n, 0.5);
    vitte__free(s);
    return VITTE_OK;
}

int vitte_stats_summary(const double *x, size_t n, vitte_summary *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    summary_nan(out);
    if (x == NULL || n == 0)
        return VITTE_EINVAL;
    double mean, m2, m3, m4, mn, mx;
    batch_moments(x, n, &mean, &m2, &m3, &m4, &mn, &mx);
    /* a NaN or infinity makes the mean non-finite (finite values can too, by
     * overflow: then look) */
    if (!isfinite(mean) && vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    double median, mad;
    const int rc = median_mad(x, n, mn, mx, &median, &mad);
    if (rc != VITTE_OK)
        return rc;
    out->min = mn;
    out->max = mx;
    out->mad = mad;
    out->n = n;
    out->median = median;
    summary_from_moments(out, (double)n, mean, m2, m3, m4);
    return VITTE_OK;
}

double vitte_stats_quantile(const double *x, size_t n, double q)
{
    if (x == NULL || n == 0 || !(q >= 0.0 && q <= 1.0))
        return NAN;
    double mn, mx;
    if (!finite_min_max(x, n, &mn, &mx))
        return NAN;
    double v = NAN;
    if (n > VITTE__STATS_SORT_MAX) {
        if (vitte__stats_quantile_select(x, n, q, 0.0, 0, mn, mx, &v) != VITTE_OK)
            return NAN;
        return v;
    }
    double *s = vitte__calloc(n, sizeof *s);
    if (s == NULL)
        return NAN;
    memcpy(s, x, n * sizeof *s);
    vitte__stats_sort(s, n);
    v = vitte__stats_quantile_sorted(s, n, q);
    vitte__free(s);
    return v;
}

int vitte_stats_mean_ci(const double *x, size_t n, double level, double *lo, double *hi)
{
    if (lo != NULL)
        *lo = NAN;
    if (hi != NULL)
        *hi = NAN;
    if (x == NULL || lo == NULL || hi == NULL || n < 2 || !(level > 0.0 && level < 1.0))
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    double mean, m2, m3, m4;
    batch_moments(x, n, &mean, &m2, &m3, &m4, NULL, NULL);
    const double se = sqrt(m2 / (double)(n - 1) / (double)n);
    const double half = se > 0.0 ? vitte__stats_t_crit2(1.0 - level, (double)(n - 1)) * se : 0.0;
    *lo = mean - half;
    *hi = mean + half;
    return VITTE_OK;
}

/* ---- streaming ------------------------------------------------------------ */

void vitte_moments_init(vitte_moments *m)
{
    if (m == NULL)
        return;
    m->n = 0;
    m->mean = m->m2 = m->m3 = m->m4 = 0.0;
    m->min = INFINITY;
    m->max = -INFINITY;
}

void vitte_moments_add(vitte_moments *m, double x)
{
    if (m == NULL)
        return;
    const double n1 = (double)m->n;
    m->n++;
    const double n = (double)m->n;
    const double delta = x - m->mean;
    const double dn = delta / n;
    const double dn2 = dn * dn;
    const double term1 = delta * dn * n1;
    m->mean += dn;
    m->m4 += term1 * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * m->m2 - 4.0 * dn * m->m3;
    m->m3 += term1 * dn * (n - 2.0) - 3.0 * dn * m->m2;
    m->m2 += term1;
    if (isnan(x)) {
        m->min = m->max = NAN;
        return;
    }
    if (x < m->min)
        m->min = x;
    if (x > m->max)
        m->max = x;
}

int vitte_moments_merge(vitte_moments *dst, const vitte_moments *src)
{
    if (dst == NULL || src == NULL)
        return VITTE_EINVAL;
    const vitte_moments b = *src; /* dst == src allowed */
    if (b.n == 0)
        return VITTE_OK;
    if (dst->n == 0) {
        *dst = b;
        return VITTE_OK;
    }
    const vitte_moments a = *dst;
    const double na = (double)a.n;
    const double nb = (double)b.n;
    const double n = na + nb;
    const double d = b.mean - a.mean;
    const double d2 = d * d;
    dst->n = a.n + b.n;
    dst->mean = a.mean + d * nb / n;
    dst->m2 = a.m2 + b.m2 + d2 * na * nb / n;
    dst->m3 = a.m3 + b.m3 + d2 * d * na * nb * (na - nb) / (n * n) +
              3.0 * d * (na * b.m2 - nb * a.m2) / n;
    dst->m4 = a.m4 + b.m4 + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n) +
              6.0 * d2 * (na * na * b.m2 + nb * nb * a.m2) / (n * n) +
              4.0 * d * (na * b.m3 - nb * a.m3) / n;
    dst->min = b.min < a.min ? b.min : a.min;
    dst->max = b.max > a.max ? b.max : a.max;
    if (isnan(a.min) || isnan(b.min))
        dst->min = dst->max = NAN;
    return VITTE_OK;
}

int vitte_moments_summary(const vitte_moments *m, vitte_summary *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    summary_nan(out);
    if (m == NULL || m->n == 0)
        return VITTE_EINVAL;
    if (!isfinite(m->mean) || !isfinite(m->m2) || isnan(m->min) || isnan(m->max))
        return VITTE_ERANGE;
    out->n = (size_t)m->n;
    out->min = m->min;
    out->max = m->max;
    summary_from_moments(out, (double)m->n, m->mean, m->m2 > 0.0 ? m->m2 : 0.0, m->m3, m->m4);
    return VITTE_OK;
}
