/* Trends: least-squares line, moving averages, the rate of a counter. */
#include <math.h>
#include <string.h>

#include <vitte/stats.h>

#include "stats/stats_internal.h"

static void linreg_nan(vitte_linreg *r)
{
    r->n = 0;
    r->slope = r->intercept = r->r = r->r2 = NAN;
    r->slope_stderr = r->intercept_stderr = r->p_value = NAN;
}

static inline double xval(const double *x, size_t i)
{
    return x != NULL ? x[i] : (double)i;
}

int vitte_stats_linreg(const double *x, const double *y, size_t n, vitte_linreg *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    linreg_nan(out);
    if (y == NULL || n < 2)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(y, n) || (x != NULL && vitte__stats_has_nan(x, n)))
        return VITTE_ERANGE;
    const double dn = (double)n;
    const double mx = x != NULL ? vitte__stats_mean(x, n) : (dn - 1.0) / 2.0;
    const double my = vitte__stats_mean(y, n);
    /* Sums about the means, corrected by the residual sums (corrected
     * two-pass: exact algebra for sums about the exact means). */
    double ex = 0.0, ey = 0.0, sxx = 0.0, sxy = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double dx = xval(x, i) - mx;
        const double dy = y[i] - my;
        ex += dx;
        ey += dy;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    sxx -= ex * ex / dn;
    sxy -= ex * ey / dn;
    syy -= ey * ey / dn;
    if (!(sxx > 0.0))
        return VITTE_EINVAL; /* all x equal: no line */
    if (syy < 0.0)
        syy = 0.0;
    vitte_linreg r;
    r.n = n;
    r.slope = sxy / sxx;
    /* the means of the data, not mx, my: the residual sums move them */
    const double xbar = mx + ex / dn, ybar = my + ey / dn;
    r.intercept = ybar - r.slope * xbar;
    if (syy > 0.0) {
        r.r = sxy / sqrt(sxx * syy);
        r.r = r.r > 1.0 ? 1.0 : (r.r < -1.0 ? -1.0 : r.r);
    } else {
        r.r = 0.0; /* y constant: scipy's convention */
    }
    r.r2 = r.r * r.r;
    if (n == 2) {
        r.slope_stderr = r.intercept_stderr = 0.0;
        r.p_value = y[0] == y[1] ? 1.0 : 0.0;
    } else {
        /* SSE from the residuals, not (1 - r^2) Syy: no cancellation when the
         * fit is nearly perfect. */
        double sse = 0.0;
        for (size_t i = 0; i < n; i++) {
            const double e = (y[i] - ybar) - r.slope * (xval(x, i) - xbar);
            sse += e * e;
        }
        const double df = dn - 2.0;
        r.slope_stderr = sqrt(sse / df / sxx);
        r.intercept_stderr = r.slope_stderr * sqrt(sxx / dn + xbar * xbar);
        if (r.slope_stderr > 0.0)
            r.p_value = vitte__stats_t_p2(r.slope / r.slope_stderr, df);
        else
            r.p_value = r.slope == 0.0 ? 1.0 : 0.0;
    }
    *out = r;
    return VITTE_OK;
}

/* Neumaier's compensated sum: s + c carries the sum to about twice the
 * working precision. */
typedef struct ksum {
    double s, c;
} ksum;

static inline void ksum_add(ksum *k, double v)
{
    const double t = k->s + v;
    if (fabs(k->s) >= fabs(v))
        k->c += (k->s - t) + v;
    else
        k->c += (v - t) + k->s;
    k->s = t;
}

int vitte_stats_sma(const double *x, size_t n, size_t window, double *out)
{
    if (x == NULL || out == NULL || n == 0 || window == 0 || window > n || out == x)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    const double shift = x[0];
    const double w = (double)window;
    ksum k = {0.0, 0.0};
    for (size_t i = 0; i < n; i++) {
        ksum_add(&k, x[i] - shift);
        if (i >= window)
            ksum_add(&k, -(x[i - window] - shift));
        out[i] = i + 1 >= window ? shift + (k.s + k.c) / w : NAN;
    }
    return VITTE_OK;
}

int vitte_stats_ewma(const double *x, size_t n, double alpha, double *out)
{
    if (x == NULL || out == NULL || n == 0 || !(alpha > 0.0 && alpha <= 1.0))
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(x, n))
        return VITTE_ERANGE;
    double s = x[0];
    out[0] = s;
    for (size_t i = 1; i < n; i++) {
        s += alpha * (x[i] - s);
        out[i] = s;
    }
    return VITTE_OK;
}

int vitte_stats_counter_rate(const double *t, const double *v, size_t n, double *increase,
                             double *rate)
{
    if (increase != NULL)
        *increase = NAN;
    if (rate != NULL)
        *rate = NAN;
    if (t == NULL || v == NULL || rate == NULL || n < 2)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(t, n) || vitte__stats_has_nan(v, n))
        return VITTE_ERANGE;
    for (size_t i = 1; i < n; i++)
        if (t[i] < t[i - 1])
            return VITTE_EINVAL;
    const double span = t[n - 1] - t[0];
    if (!(span > 0.0))
        return VITTE_EINVAL;
    ksum k = {0.0, 0.0};
    for (size_t i = 1; i < n; i++)
        ksum_add(&k, v[i] >= v[i - 1] ? v[i] - v[i - 1] : v[i]); /* a drop: a reset */
    const double inc = k.s + k.c;
    if (increase != NULL)
        *increase = inc;
    *rate = inc / span;
    return VITTE_OK;
}
