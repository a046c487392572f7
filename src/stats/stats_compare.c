/* Comparing a candidate sample with a baseline: effect sizes, the relative
 * difference of the means with a bootstrap CI, a test, and a verdict. */
#include <math.h>
#include <string.h>

#include <vitte/stats.h>

#include "stats/stats_internal.h"

void vitte_stats_compare_options_init(vitte_stats_compare_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->test = VITTE_STATS_TEST_WELCH;
    o->alpha = 0.05;
    o->noise = 0.01;
    o->strict = 0;
    vitte_stats_bootstrap_options_init(&o->bootstrap);
}

const char *vitte_verdict_name(vitte_verdict v)
{
    switch (v) {
    case VITTE_VERDICT_NO_CHANGE:
        return "no change";
    case VITTE_VERDICT_FASTER:
        return "faster";
    case VITTE_VERDICT_SLOWER:
        return "slower";
    }
    return "unknown";
}

static void comparison_nan(vitte_comparison *r)
{
    memset(r, 0, sizeof *r);
    r->mean_base = r->mean_cand = r->rel_diff = r->rel_diff_lo = r->rel_diff_hi = NAN;
    r->cohen_d = r->cliff_delta = r->cles = NAN;
    r->test.statistic = r->test.p_value = r->test.df = NAN;
    r->verdict = VITTE_VERDICT_NO_CHANGE;
}

/* Sum of squared deviations from mean (corrected two-pass). */
static double sum_sq(const double *x, size_t n, double mean)
{
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = x[i] - mean;
        s1 += d;
        s2 += d * d;
    }
    s2 -= s1 * s1 / (double)n;
    return s2 > 0.0 ? s2 : 0.0;
}

static int compare_opts(const vitte_stats_compare_options *in, vitte_stats_compare_options *o,
                        vitte_stats_bootstrap_options *bo)
{
    vitte_stats_compare_options_init(o);
    if (in != NULL) {
        if (in->struct_size < sizeof(uint32_t) || in->struct_size > sizeof *o)
            return VITTE_EINVAL;
        memcpy(o, in, in->struct_size);
    }
    if (o->test > VITTE_STATS_TEST_MANN_WHITNEY || !(o->alpha > 0.0 && o->alpha < 1.0) ||
        !(o->noise >= 0.0) || !isfinite(o->noise) || (o->strict != 0 && o->strict != 1))
        return VITTE_EINVAL;
    return vitte__stats_bootstrap_opts(&o->bootstrap, bo);
}

int vitte_stats_compare(const double *base, size_t n_base, const double *cand, size_t n_cand,
                        const vitte_stats_compare_options *opt, vitte_comparison *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    comparison_nan(out);
    vitte_stats_compare_options o;
    vitte_stats_bootstrap_options bo;
    if (base == NULL || cand == NULL || n_base < 2 || n_cand < 2 ||
        compare_opts(opt, &o, &bo) != VITTE_OK)
        return VITTE_EINVAL;
    if (vitte__stats_has_nan(base, n_base) || vitte__stats_has_nan(cand, n_cand))
        return VITTE_ERANGE;
    vitte_comparison r;
    comparison_nan(&r);
    r.n_base = n_base;
    r.n_cand = n_cand;
    r.mean_base = vitte__stats_mean(base, n_base);
    r.mean_cand = vitte__stats_mean(cand, n_cand);
    if (r.mean_base == 0.0)
        return VITTE_EINVAL;
    /* the difference on data shifted alike: means near 1e9 keep its digits */
    const double diff = vitte__stats_mean_diff(cand, n_cand, base, n_base);
    r.rel_diff = diff / r.mean_base;

    /* relative difference: percentile bootstrap of the ratio of means, less 1 */
    vitte_ci ci;
    int rc = vitte__stats_ratio_boot(cand, n_cand, base, n_base, 1, &bo, &ci);
    if (rc == VITTE_ENOMEM)
        return rc;
    if (rc == VITTE_OK) {
        r.rel_diff_lo = ci.lo;
        r.rel_diff_hi = ci.hi;
    }

    /* Cohen's d with the pooled standard deviation */
    const double ss = sum_sq(base, n_base, r.mean_base) + sum_sq(cand, n_cand, r.mean_cand);
    const double sp = sqrt(ss / (double)(n_base + n_cand - 2));
    r.cohen_d = diff / sp; /* 0 / 0: NaN; x / 0: +-inf */

    /* Cliff's delta and the common-language effect from U of the candidate */
    vitte_test_result mw;
    rc = vitte_stats_mann_whitney(cand, n_cand, base, n_base, &mw);
    if (rc != VITTE_OK)
        return rc;
    const double pairs = (double)n_cand * (double)n_base;
    r.cles = mw.statistic / pairs;
    r.cliff_delta = (2.0 * mw.statistic - pairs) / pairs;

    r.test_used = o.test;
    if (o.test == VITTE_STATS_TEST_MANN_WHITNEY) {
        r.test = mw;
    } else {
        rc = vitte_stats_welch_t(cand, n_cand, base, n_base, &r.test);
        if (rc == VITTE_EINVAL) {
            /* both samples constant: no t; the difference is certain */
            const int same = diff == 0.0;
            r.test.statistic = same ? NAN : copysign(INFINITY, diff);
            r.test.p_value = same ? 1.0 : 0.0;
        } else if (rc != VITTE_OK) {
            return rc;
        }
    }

    r.verdict = VITTE_VERDICT_NO_CHANGE;
    if (r.test.p_value < o.alpha) {
        if (o.strict) {
            if (r.rel_diff_lo > o.noise)
                r.verdict = VITTE_VERDICT_SLOWER;
            else if (r.rel_diff_hi < -o.noise)
                r.verdict = VITTE_VERDICT_FASTER;
        } else if (fabs(r.rel_diff) > o.noise) {
            r.verdict = r.rel_diff < 0.0 ? VITTE_VERDICT_FASTER : VITTE_VERDICT_SLOWER;
        }
    }
    *out = r;
    return VITTE_OK;
}
