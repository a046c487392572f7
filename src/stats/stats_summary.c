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
    const double t = h - fl;
    const double a = s[lo];
    const double b = s[lo + 1];
    /* numpy's _lerp: exact at both ends, monotone in t. */
    const double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
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

/* Mean and central power sums: mean on data shifted by x[0], refined once by
 * the mean residual; m2 with the corrected two-pass term. */
static void batch_moments(const double *x, size_t n, double *mean, double *m2, double *m3,
                          double *m4)
{
    const double shift = x[0];
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] - shift;
    double mu = shift + s / (double)n;
    double r = 0.0;
    for (size_t i = 0; i < n; i++)
        r += x[i] - mu;
    mu += r / (double)n;
    double s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = x[i] - mu;
        const double d2 = d * d;
        s1 += d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
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

int vitte_stats_summary(const double *x, size_t n, vitte_summary *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    summary_nan(out);
    if (x == NULL || n == 0)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    double *s = vitte__calloc(n, sizeof *s);
    if (s == NULL)
        return VITTE_ENOMEM;
    double mean, m2, m3, m4;
    batch_moments(x, n, &mean, &m2, &m3, &m4);
    memcpy(s, x, n * sizeof *s);
    vitte__stats_sort(s, n);
    const double median = vitte__stats_quantile_sorted(s, n, 0.5);
    out->min = s[0];
    out->max = s[n - 1];
    for (size_t i = 0; i < n; i++)
        s[i] = fabs(s[i] - median);
    vitte__stats_sort(s, n);
    out->mad = MAD_SCALE * vitte__stats_quantile_sorted(s, n, 0.5);
    vitte__free(s);
    out->n = n;
    out->median = median;
    summary_from_moments(out, (double)n, mean, m2, m3, m4);
    return VITTE_OK;
}

double vitte_stats_quantile(const double *x, size_t n, double q)
{
    if (x == NULL || n == 0 || !(q >= 0.0 && q <= 1.0) || vitte__stats_has_nan(x, n))
        return NAN;
    double *s = vitte__calloc(n, sizeof *s);
    if (s == NULL)
        return NAN;
    memcpy(s, x, n * sizeof *s);
    vitte__stats_sort(s, n);
    const double v = vitte__stats_quantile_sorted(s, n, q);
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
    batch_moments(x, n, &mean, &m2, &m3, &m4);
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
