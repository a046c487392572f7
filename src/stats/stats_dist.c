/* Distribution functions: incomplete beta, Student t, normal. */
#include <float.h>
#include <math.h>

#include "stats/stats_internal.h"

static double log_gamma(double x)
{
#if defined(__GLIBC__)
    /* lgamma() writes the global signgam: a data race between threads. */
    int sign;
    return lgamma_r(x, &sign);
#else
    return lgamma(x);
#endif
}

/* Continued fraction of I_x(a, b) (modified Lentz), good for
 * x < (a + 1) / (a + b + 2).  Returns the fraction's value; the caller
 * multiplies by x^a y^b / (a B(a, b)). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    const double eps = 1e-16;
    double c = 1.0;
    double d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 100000; m++) {
        const double md = m;
        const double m2 = 2.0 * md;
        /* even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)) */
        double num = md * (b - md) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + num * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + num / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        h *= d * c;
        /* odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) */
        num = -(a + md) * (a + b + md) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + num * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + num / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        const double step = d * c;
        h *= step;
        if (fabs(step - 1.0) < eps)
            break;
    }
    return h;
}

/* Stirling's series remainder: lgamma(x) - ((x - 1/2) ln x - x + ln(2 pi)/2),
 * x >= 100 (the first omitted term is below 1e-21 there). */
static double stirling_rest(double x)
{
    const double r = 1.0 / (x * x);
    return (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r / 1680.0))) / x;
}

/* ln B(a, b).  When one argument is large, lgamma(big) - lgamma(big + small)
 * cancels (lgamma(5e8) ~ 1e10: 1e-6 absolute lost), so take that difference
 * from Stirling's formula term by term. */
static double log_beta(double a, double b)
{
    const double big = a > b ? a : b;
    const double small = a > b ? b : a;
    if (big < 100.0)
        return log_gamma(a) + log_gamma(b) - log_gamma(a + b);
    const double s = big + small;
    /* (big - 1/2) ln big - (s - 1/2) ln s + small, rearranged without cancellation */
    const double diff = -(big - 0.5) * log1p(small / big) - small * log(s) + small +
                        stirling_rest(big) - stirling_rest(s);
    return log_gamma(small) + diff;
}

double vitte__stats_ibeta(double a, double b, double x, double y)
{
    if (x <= 0.0)
        return 0.0;
    if (y <= 0.0)
        return 1.0;
    /* ln x from y when x is near 1 (and the other way): a * ln x with a large
     * amplifies the rounding of x itself. */
    const double lx = x > 0.5 ? log1p(-y) : log(x);
    const double ly = y > 0.5 ? log1p(-x) : log(y);
    const double front = exp(a * lx + b * ly - log_beta(a, b));
    if (x < (a + 1.0) / (a + b + 2.0))
        return front * beta_cf(a, b, x) / a;
    return 1.0 - front * beta_cf(b, a, y) / b;
}

double vitte__stats_t_p2(double t, double df)
{
    if (isnan(t) || isnan(df) || df <= 0.0)
        return NAN;
    if (isinf(t))
        return 0.0;
    const double t2 = t * t;
    /* P(|T| >= |t|) = I_{df/(df+t^2)}(df/2, 1/2) */
    double p = vitte__stats_ibeta(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2));
    if (p > 1.0)
        p = 1.0;
    if (p < 0.0)
        p = 0.0;
    return p;
}

double vitte__stats_t_crit2(double alpha, double df)
{
    if (!(alpha > 0.0 && alpha < 1.0) || !(df > 0.0))
        return NAN;
    /* p(t) decreases from 1 at t = 0 to 0: bracket, then bisect to the last bit. */
    double lo = 0.0;
    double hi = 1.0;
    while (vitte__stats_t_p2(hi, df) > alpha) {
        lo = hi;
        hi *= 2.0;
        if (hi > 1e300)
            return INFINITY;
    }
    for (int i = 0; i < 2000 && hi - lo > 2.0 * DBL_EPSILON * hi; i++) {
        const double mid = lo + 0.5 * (hi - lo);
        if (mid <= lo || mid >= hi)
            break;
        if (vitte__stats_t_p2(mid, df) > alpha)
            lo = mid;
        else
            hi = mid;
    }
    return lo + 0.5 * (hi - lo);
}

double vitte__stats_norm_sf(double z)
{
    static const double inv_sqrt2 = 0.70710678118654752440;
    if (isnan(z))
        return NAN;
    return 0.5 * erfc(z * inv_sqrt2);
}
