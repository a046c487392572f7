/* Two-sample tests: Welch's t and Mann-Whitney U. */
#include <math.h>
#include <stdlib.h>

#include <vitte/stats.h>

#include "common/alloc.h"
#include "stats/stats_internal.h"

/* Exact Mann-Whitney: used when min(na, nb) <= EXACT_MAX_SMALL (scipy's rule)
 * and there are no ties, unless the DP would exceed EXACT_MAX_WORK steps. */
#define EXACT_MAX_SMALL 8
#define EXACT_MAX_WORK  2e8

static void result_nan(vitte_test_result *r)
{
    r->statistic = r->p_value = r->df = NAN;
}

/* Mean of x minus shift, and the sum of squared deviations: corrected
 * two-pass on shifted data.  Both samples of a test share one shift so that
 * the difference of their means keeps its digits when both sit far from 0. */
static void mean_ss(const double *x, size_t n, double shift, double *mean, double *ss)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] - shift;
    const double mu = s / (double)n;
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (x[i] - shift) - mu;
        s1 += d;
        s2 += d * d;
    }
    *mean = mu + s1 / (double)n;
    s2 -= s1 * s1 / (double)n;
    *ss = s2 > 0.0 ? s2 : 0.0;
}

int vitte_stats_welch_t(const double *a, size_t na, const double *b, size_t nb,
                        vitte_test_result *r)
{
    if (r == NULL)
        return VITTE_EINVAL;
    result_nan(r);
    if (a == NULL || b == NULL || na < 2 || nb < 2)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(a, na) || vitte__stats_has_nan(b, nb))
        return VITTE_ERANGE;
    double ma, ssa, mb, ssb;
    mean_ss(a, na, a[0], &ma, &ssa);
    mean_ss(b, nb, a[0], &mb, &ssb);
    const double va = ssa / (double)(na - 1) / (double)na; /* squared standard errors */
    const double vb = ssb / (double)(nb - 1) / (double)nb;
    const double v = va + vb;
    if (!(v > 0.0))
        return VITTE_EINVAL;
    r->statistic = (ma - mb) / sqrt(v);
    r->df = v * v / (va * va / (double)(na - 1) + vb * vb / (double)(nb - 1));
    r->p_value = vitte__stats_t_p2(r->statistic, r->df);
    return VITTE_OK;
}

/* P(U <= u0) under H0 for sample sizes m <= n, no ties.  c[k][u] counts the
 * arrangements of k values of the first sample among j of the second with
 * U = u; adding the j-th (largest so far) value of the second sample either
 * keeps U (it is the largest) or the largest is from the first sample and
 * beats all j: c_j[k][u] = c_{j-1}[k][u] + c_j[k-1][u - j].  Only u <= u0 is
 * kept.  Returns NaN if out of memory. */
static double exact_cdf(size_t m, size_t n, size_t u0)
{
    const size_t w = u0 + 1;
    double *c = vitte__calloc((m + 1) * w, sizeof *c);
    if (c == NULL)
        return NAN;
    for (size_t k = 0; k <= m; k++)
        c[k * w] = 1.0; /* j = 0: U = 0 */
    for (size_t j = 1; j <= n; j++) {
        if (j > u0)
            break; /* the shift moves everything past u0: no change */
        for (size_t k = 1; k <= m; k++) {
            double *row = c + k * w;
            const double *prev = c + (k - 1) * w;
            for (size_t u = u0 + 1; u-- > j;)
                row[u] += prev[u - j];
        }
    }
    double count = 0.0;
    for (size_t u = 0; u <= u0; u++)
        count += c[m * w + u];
    vitte__free(c);
    double total = 1.0; /* C(m + n, m) */
    for (size_t i = 1; i <= m; i++)
        total = total * (double)(n + i) / (double)i;
    return count / total;
}

typedef struct ranked {
    double v;
    int from_a;
} ranked;

static int cmp_ranked(const void *pa, const void *pb)
{
    const double a = ((const ranked *)pa)->v;
    const double b = ((const ranked *)pb)->v;
    return (a > b) - (a < b);
}

int vitte_stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
                             vitte_test_result *r)
{
    if (r == NULL)
        return VITTE_EINVAL;
    result_nan(r);
    if (a == NULL || b == NULL || na == 0 || nb == 0)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(a, na) || vitte__stats_has_nan(b, nb))
        return VITTE_ERANGE;
    const size_t n = na + nb;
    ranked *all = vitte__calloc(n, sizeof *all);
    if (all == NULL)
        return VITTE_ENOMEM;
    for (size_t i = 0; i < na; i++)
        all[i] = (ranked){a[i], 1};
    for (size_t i = 0; i < nb; i++)
        all[na + i] = (ranked){b[i], 0};
    qsort(all, n, sizeof *all, cmp_ranked);
    /* Average ranks over runs of ties; tie term sum (t^3 - t). */
    double rank_a = 0.0, tie_term = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && all[j].v == all[i].v)
            j++;
        const double t = (double)(j - i);
        const double avg = 0.5 * ((double)(i + 1) + (double)j); /* ranks i+1 .. j */
        for (size_t k = i; k < j; k++)
            if (all[k].from_a)
                rank_a += avg;
        tie_term += t * t * t - t;
        i = j;
    }
    vitte__free(all);
    const double dna = (double)na, dnb = (double)nb, dn = (double)n;
    const double u1 = rank_a - dna * (dna + 1.0) / 2.0;
    const double u2 = dna * dnb - u1;
    const double umax = u1 > u2 ? u1 : u2;
    r->statistic = u1;
    const size_t small = na < nb ? na : nb;
    const size_t large = na < nb ? nb : na;
    const size_t umin = (size_t)(dna * dnb - umax); /* an integer without ties */
    double p;
    if (tie_term == 0.0 && small <= EXACT_MAX_SMALL &&
        (double)small * (double)large * (double)(umin + 1) <= EXACT_MAX_WORK) {
        /* P(U >= umax) = P(U <= mn - umax) by symmetry. */
        p = 2.0 * exact_cdf(small, large, umin);
        if (isnan(p))
            return VITTE_ENOMEM;
    } else {
        const double mu = dna * dnb / 2.0;
        const double s = sqrt(dna * dnb / 12.0 * ((dn + 1.0) - tie_term / (dn * (dn - 1.0))));
        const double num = umax - mu - 0.5;
        if (s > 0.0)
            p = 2.0 * vitte__stats_norm_sf(num / s);
        else
            p = num > 0.0 ? 0.0 : 2.0; /* all values tied: no evidence */
    }
    r->p_value = p > 1.0 ? 1.0 : (p < 0.0 ? 0.0 : p);
    return VITTE_OK;
}
