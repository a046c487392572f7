/* Outliers, classified and reported (never removed): Tukey's fences and the
 * modified z-score. */
#include <math.h>
#include <string.h>

#include <vitte/stats.h>

#include "common/alloc.h"
#include "stats/stats_internal.h"

/* Type-7 quantiles qs[0..nq) of x: a sorted copy for small samples, selection
 * for large ones.  x finite, n >= 1. */
static int quantiles(const double *x, size_t n, const double *qs, size_t nq, double *out)
{
    double mn = x[0], mx = x[0];
    for (size_t i = 0; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    if (n > VITTE__STATS_SORT_MAX) {
        for (size_t j = 0; j < nq; j++) {
            const int rc = vitte__stats_quantile_select(x, n, qs[j], 0.0, 0, mn, mx, &out[j]);
            if (rc != VITTE_OK)
                return rc;
        }
        return VITTE_OK;
    }
    double *s = vitte__calloc(n, sizeof *s);
    if (s == NULL)
        return VITTE_ENOMEM;
    memcpy(s, x, n * sizeof *s);
    vitte__stats_sort(s, n);
    for (size_t j = 0; j < nq; j++)
        out[j] = vitte__stats_quantile_sorted(s, n, qs[j]);
    vitte__free(s);
    return VITTE_OK;
}

static void tukey_nan(vitte_tukey_result *r)
{
    memset(r, 0, sizeof *r);
    r->q1 = r->q3 = r->iqr = NAN;
    r->low_severe_fence = r->low_mild_fence = r->high_mild_fence = r->high_severe_fence = NAN;
}

int vitte_stats_outliers_tukey(const double *x, size_t n, vitte_tukey_result *out, uint8_t *classes,
                               size_t *indices)
{
    if (out == NULL)
        return VITTE_EINVAL;
    tukey_nan(out);
    if (x == NULL || n == 0)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    static const double qs[2] = {0.25, 0.75};
    double q[2];
    const int rc = quantiles(x, n, qs, 2, q);
    if (rc != VITTE_OK)
        return rc;
    vitte_tukey_result r = {0};
    r.n = n;
    r.q1 = q[0];
    r.q3 = q[1];
    r.iqr = q[1] - q[0];
    r.low_severe_fence = r.q1 - 3.0 * r.iqr;
    r.low_mild_fence = r.q1 - 1.5 * r.iqr;
    r.high_mild_fence = r.q3 + 1.5 * r.iqr;
    r.high_severe_fence = r.q3 + 3.0 * r.iqr;
    for (size_t i = 0; i < n; i++) {
        const double v = x[i];
        uint8_t c = VITTE_OUTLIER_NONE;
        if (v < r.low_severe_fence) {
            c = VITTE_OUTLIER_LOW_SEVERE;
            r.low_severe++;
        } else if (v < r.low_mild_fence) {
            c = VITTE_OUTLIER_LOW_MILD;
            r.low_mild++;
        } else if (v > r.high_severe_fence) {
            c = VITTE_OUTLIER_HIGH_SEVERE;
            r.high_severe++;
        } else if (v > r.high_mild_fence) {
            c = VITTE_OUTLIER_HIGH_MILD;
            r.high_mild++;
        }
        if (classes != NULL)
            classes[i] = c;
        if (c != VITTE_OUTLIER_NONE && indices != NULL)
            indices[r.count] = i;
        r.count += c != VITTE_OUTLIER_NONE;
    }
    *out = r;
    return VITTE_OK;
}

/* 0.6745 ~ Phi^-1(3/4): the modified z-score is near a standard normal z
 * for normal data (Iglewicz and Hoaglin, 1993). */
#define MZ_SCALE 0.6745

int vitte_stats_outliers_mzscore(const double *x, size_t n, double threshold,
                                 vitte_mzscore_result *out, uint8_t *classes, size_t *indices,
                                 double *scores)
{
    if (out == NULL)
        return VITTE_EINVAL;
    memset(out, 0, sizeof *out);
    out->median = out->mad_raw = out->threshold = NAN;
    if (x == NULL || n == 0 || !(threshold > 0.0))
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    double med;
    static const double half = 0.5;
    int rc = quantiles(x, n, &half, 1, &med);
    if (rc != VITTE_OK)
        return rc;
    double dmax = 0.0;
    for (size_t i = 0; i < n; i++)
        dmax = fmax(dmax, fabs(x[i] - med));
    double mad;
    if (n > VITTE__STATS_SORT_MAX) {
        rc = vitte__stats_quantile_select(x, n, 0.5, med, 1, 0.0, dmax, &mad);
    } else {
        double *d = vitte__calloc(n, sizeof *d);
        if (d == NULL)
            return VITTE_ENOMEM;
        for (size_t i = 0; i < n; i++)
            d[i] = fabs(x[i] - med);
        vitte__stats_sort(d, n);
        mad = vitte__stats_quantile_sorted(d, n, 0.5);
        vitte__free(d);
    }
    if (rc != VITTE_OK)
        return rc;
    vitte_mzscore_result r = {0};
    r.n = n;
    r.median = med;
    r.mad_raw = mad;
    r.threshold = threshold;
    for (size_t i = 0; i < n; i++) {
        const double dev = x[i] - med;
        double z;
        if (mad > 0.0)
            z = MZ_SCALE * dev / mad;
        else
            z = dev == 0.0 ? 0.0 : copysign(INFINITY, dev);
        uint8_t c = VITTE_OUTLIER_NONE;
        if (z > threshold) {
            c = VITTE_OUTLIER_HIGH;
            r.high++;
        } else if (z < -threshold) {
            c = VITTE_OUTLIER_LOW;
            r.low++;
        }
        if (scores != NULL)
            scores[i] = z;
        if (classes != NULL)
            classes[i] = c;
        if (c != VITTE_OUTLIER_NONE && indices != NULL)
            indices[r.count] = i;
        r.count += c != VITTE_OUTLIER_NONE;
    }
    *out = r;
    return VITTE_OK;
}
