/* Statistics, second part: bootstrap and order-statistic CIs, outliers,
 * trends, comparisons, histogram quantiles, selection of order statistics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vitte/vitte.h>

#include "stats/stats_internal.h"

static void assert_close(double got, double want, double rtol)
{
    const double diff = fabs(got - want);
    if (!(diff <= rtol * fabs(want) || diff <= 1e-300)) {
        print_error("got %.17g, want %.17g (rtol %g)\n", got, want, rtol);
        fail();
    }
}

/* ---- the documented generator, written again here ------------------------------ */

static uint64_t sm_state;
static uint64_t sm_next(void)
{
    uint64_t z = (sm_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static size_t sm_index(size_t n)
{
    /* floor(z n / 2^64) by 32-bit halves, independently of the library's form */
    const uint64_t z = sm_next();
    const uint64_t z0 = z & 0xffffffffu, z1 = z >> 32, n0 = n & 0xffffffffu, n1 = n >> 32;
    const uint64_t mid = ((z0 * n0) >> 32) + ((z0 * n1) & 0xffffffffu) + ((z1 * n0) & 0xffffffffu);
    return (size_t)(z1 * n1 + ((z0 * n1) >> 32) + ((z1 * n0) >> 32) + (mid >> 32));
}

static int cmp_double(const void *pa, const void *pb)
{
    const double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Type-7 quantile of sorted s. */
static double q7(const double *s, size_t n, double q)
{
    const double h = (double)(n - 1) * q;
    const size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return s[n - 1];
    const double t = h - floor(h), d = s[lo + 1] - s[lo];
    return t >= 0.5 ? s[lo + 1] - d * (1.0 - t) : s[lo] + d * t;
}

static void test_generator(void **state)
{
    (void)state;
    /* splitmix64's published first outputs for seed 0 */
    sm_state = 0;
    assert_true(sm_next() == 0xe220a8397b1dcdafULL);
    assert_true(sm_next() == 0x6e789e6aa1b965f4ULL);
    assert_true(sm_next() == 0x06c45d188009454fULL);
}

/* A bootstrap replayed by hand from the documented draw sequence: B = 7
 * resamples of 5 values. */
static void test_bootstrap_replay(void **state)
{
    (void)state;
    const double x[] = {3.0, 1.0, 4.0, 1.5, 9.0};
    const size_t n = 5, B = 7;
    vitte_stats_bootstrap_options o;
    vitte_stats_bootstrap_options_init(&o);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.resamples, 10000);
    assert_true(o.level == 0.95 && o.seed == VITTE_STATS_DEFAULT_SEED);
    o.resamples = (uint32_t)B;
    o.level = 0.8;
    o.seed = 12345;

    double means[7], medians[7], ratios[7];
    sm_state = 12345;
    for (size_t r = 0; r < B; r++) {
        double v[5], s = 0.0;
        for (size_t i = 0; i < n; i++) {
            v[i] = x[sm_index(n)];
            s += v[i];
        }
        means[r] = s / 5.0;
        qsort(v, n, sizeof v[0], cmp_double);
        medians[r] = v[2];
    }
    sm_state = 12345;
    const double b[] = {2.0, 4.0, 8.0};
    for (size_t r = 0; r < B; r++) {
        double sa = 0.0, sb = 0.0;
        for (size_t i = 0; i < n; i++)
            sa += x[sm_index(n)];
        for (size_t i = 0; i < 3; i++)
            sb += b[sm_index(3)];
        ratios[r] = (sa / 5.0) / (sb / 3.0);
    }
    qsort(means, B, sizeof means[0], cmp_double);
    qsort(medians, B, sizeof medians[0], cmp_double);
    qsort(ratios, B, sizeof ratios[0], cmp_double);

    vitte_ci ci;
    assert_int_equal(vitte_stats_bootstrap_mean_ci(x, n, &o, &ci), VITTE_OK);
    assert_close(ci.estimate, 3.7, 1e-15);
    assert_close(ci.lo, q7(means, B, 0.1), 1e-14);
    assert_close(ci.hi, q7(means, B, 0.9), 1e-14);
    assert_true(ci.level == 0.8 && ci.coverage == 0.8);
    assert_true(ci.stderr_boot > 0.0);
    assert_int_equal(vitte_stats_bootstrap_median_ci(x, n, &o, &ci), VITTE_OK);
    assert_true(ci.estimate == 3.0);
    assert_close(ci.lo, q7(medians, B, 0.1), 1e-15);
    assert_close(ci.hi, q7(medians, B, 0.9), 1e-15);
    assert_int_equal(vitte_stats_bootstrap_ratio_ci(x, n, b, 3, &o, &ci), VITTE_OK);
    assert_close(ci.estimate, 3.7 / (14.0 / 3.0), 1e-15);
    assert_close(ci.lo, q7(ratios, B, 0.1), 1e-14);
    assert_close(ci.hi, q7(ratios, B, 0.9), 1e-14);
}

static void test_bootstrap_properties(void **state)
{
    (void)state;
    vitte_ci ci, ci2;
    /* constant data and one value: a point */
    const double c[] = {2.5, 2.5, 2.5, 2.5};
    assert_int_equal(vitte_stats_bootstrap_mean_ci(c, 4, NULL, &ci), VITTE_OK);
    assert_true(ci.lo == 2.5 && ci.hi == 2.5 && ci.estimate == 2.5 && ci.stderr_boot == 0.0);
    assert_int_equal(vitte_stats_bootstrap_median_ci(c, 1, NULL, &ci), VITTE_OK);
    assert_true(ci.lo == 2.5 && ci.hi == 2.5);

    /* 1e9 offset: the resampled means keep their digits */
    double x[50], y[50];
    for (int i = 0; i < 50; i++) {
        y[i] = (double)((i * 37) % 50) / 8.0;
        x[i] = 1e9 + y[i];
    }
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 50, NULL, &ci), VITTE_OK);
    assert_int_equal(vitte_stats_bootstrap_mean_ci(x, 50, NULL, &ci2), VITTE_OK);
    assert_close(ci2.lo - 1e9, ci.lo, 1e-6);
    assert_close(ci2.hi - 1e9, ci.hi, 1e-6);
    assert_true(ci.lo < ci.estimate && ci.estimate < ci.hi);
    /* even n: medians of resamples interpolate */
    assert_int_equal(vitte_stats_bootstrap_median_ci(x, 50, NULL, &ci), VITTE_OK);
    assert_true(ci.estimate == vitte_stats_quantile(x, 50, 0.5));
    assert_true(ci.lo <= ci.estimate && ci.estimate <= ci.hi);

    /* same seed, same result; another seed, another */
    vitte_stats_bootstrap_options o;
    vitte_stats_bootstrap_options_init(&o);
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 50, &o, &ci2), VITTE_OK);
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 50, NULL, &ci), VITTE_OK);
    assert_true(ci.lo == ci2.lo && ci.hi == ci2.hi);
    o.seed = 1;
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 50, &o, &ci2), VITTE_OK);
    assert_true(ci.lo != ci2.lo || ci.hi != ci2.hi);
    /* an older, shorter options struct: the rest defaults */
    vitte_stats_bootstrap_options old;
    vitte_stats_bootstrap_options_init(&old);
    old.struct_size = (uint32_t)offsetof(vitte_stats_bootstrap_options, level);
    old.resamples = 200;
    old.level = 0.5; /* beyond struct_size: ignored */
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 50, &old, &ci2), VITTE_OK);
    assert_true(ci2.level == 0.95);

    /* errors: NaN out */
    assert_int_equal(vitte_stats_bootstrap_mean_ci(NULL, 3, NULL, &ci), VITTE_EINVAL);
    assert_true(isnan(ci.lo) && isnan(ci.estimate));
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 0, NULL, &ci), VITTE_EINVAL);
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 3, NULL, NULL), VITTE_EINVAL);
    o.resamples = 0;
    assert_int_equal(vitte_stats_bootstrap_median_ci(y, 3, &o, &ci), VITTE_EINVAL);
    vitte_stats_bootstrap_options_init(&o);
    o.level = 1.0;
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 3, &o, &ci), VITTE_EINVAL);
    o.level = NAN;
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 3, &o, &ci), VITTE_EINVAL);
    vitte_stats_bootstrap_options_init(&o);
    o.struct_size = 2;
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 3, &o, &ci), VITTE_EINVAL);
    o.struct_size = sizeof o + 8;
    assert_int_equal(vitte_stats_bootstrap_mean_ci(y, 3, &o, &ci), VITTE_EINVAL);
    const double bad[] = {1.0, NAN};
    assert_int_equal(vitte_stats_bootstrap_mean_ci(bad, 2, NULL, &ci), VITTE_ERANGE);
    assert_int_equal(vitte_stats_bootstrap_ratio_ci(y, 3, bad, 2, NULL, &ci), VITTE_ERANGE);
    const double zero[] = {1.0, 0.0}, mixed[] = {1.0, -1.0}, neg[] = {-1.0, -3.0};
    assert_int_equal(vitte_stats_bootstrap_ratio_ci(y, 3, zero, 2, NULL, &ci), VITTE_EINVAL);
    assert_true(isnan(ci.lo));
    assert_int_equal(vitte_stats_bootstrap_ratio_ci(y, 3, mixed, 2, NULL, &ci), VITTE_EINVAL);
    assert_int_equal(vitte_stats_bootstrap_ratio_ci(y, 3, NULL, 2, NULL, &ci), VITTE_EINVAL);
    assert_int_equal(vitte_stats_bootstrap_ratio_ci(c, 4, neg, 2, NULL, &ci), VITTE_OK);
    assert_true(ci.estimate == -1.25 && ci.lo >= -2.5 && ci.hi <= -2.5 / 3.0);
}

static void test_median_ci(void **state)
{
    (void)state;
    vitte_ci ci;
    double x[100];
    for (int i = 0; i < 100; i++)
        x[i] = (double)((i * 61) % 100) + 1.0; /* 1..100 shuffled */
    /* n = 100 at 95 %: ranks 40 and 61 (P(B <= 39) = 0.0176 <= 0.025 < P(B <= 40)) */
    assert_int_equal(vitte_stats_median_ci(x, 100, 0.95, &ci), VITTE_OK);
    assert_true(ci.lo == 40.0 && ci.hi == 61.0 && ci.estimate == 50.5);
    assert_close(ci.coverage, 1.0 - 2.0 * 0.017600100108852428, 1e-12);
    assert_true(ci.level == 0.95 && isnan(ci.stderr_boot));
    /* n = 10: ranks 2 and 9, coverage 1 - 2 * 11 / 1024 exactly */
    assert_int_equal(vitte_stats_median_ci(x, 10, 0.95, &ci), VITTE_OK);
    double s[10];
    memcpy(s, x, sizeof s);
    qsort(s, 10, sizeof s[0], cmp_double);
    assert_true(ci.lo == s[1] && ci.hi == s[8]);
    assert_true(ci.coverage == 1.0 - 22.0 / 1024.0);
    /* n = 6: [min, max] reaches 1 - 2/64 >= 0.95; n = 5 cannot: 1 - 2/32 */
    assert_int_equal(vitte_stats_median_ci(x, 6, 0.95, &ci), VITTE_OK);
    assert_true(ci.coverage == 1.0 - 2.0 / 64.0);
    assert_int_equal(vitte_stats_median_ci(x, 5, 0.95, &ci), VITTE_OK);
    assert_true(ci.coverage == 0.9375);
    memcpy(s, x, 5 * sizeof s[0]);
    qsort(s, 5, sizeof s[0], cmp_double);
    assert_true(ci.lo == s[0] && ci.hi == s[4] && ci.estimate == s[2]);
    /* a dyadic boundary is exact: n = 2, level 0.5, P(B <= 0) = 0.25 = a */
    assert_int_equal(vitte_stats_median_ci(x, 2, 0.5, &ci), VITTE_OK);
    assert_true(ci.coverage == 0.5);
    assert_int_equal(vitte_stats_median_ci(x, 1, 0.95, &ci), VITTE_OK);
    assert_true(ci.lo == x[0] && ci.hi == x[0] && ci.coverage == 0.0);

    /* large n (selection path) = sorted reference */
    enum { N = 20001 };
    double *big = malloc(N * sizeof *big), *sorted = malloc(N * sizeof *sorted);
    assert_non_null(big);
    assert_non_null(sorted);
    uint64_t r = 7;
    for (int i = 0; i < N; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        big[i] = round((double)(r >> 11) * 0x1.0p-53 * 5000.0) / 10.0; /* ties */
    }
    memcpy(sorted, big, N * sizeof *big);
    qsort(sorted, N, sizeof *sorted, cmp_double);
    assert_int_equal(vitte_stats_median_ci(big, N, 0.99, &ci), VITTE_OK);
    /* normal approximation of the rank: n/2 - 2.5758 sqrt(n)/2, within 2 */
    const double l_approx = N / 2.0 - 2.5758293035489 * sqrt((double)N) / 2.0;
    int found = 0;
    for (int l = (int)l_approx - 3; l <= (int)l_approx + 3; l++)
        found |= ci.lo == sorted[l - 1] && ci.hi == sorted[N - l];
    assert_true(found);
    assert_true(ci.estimate == sorted[N / 2]);
    assert_true(ci.coverage >= 0.99 && ci.coverage < 0.9905);
    free(big);
    free(sorted);

    assert_int_equal(vitte_stats_median_ci(NULL, 5, 0.95, &ci), VITTE_EINVAL);
    assert_true(isnan(ci.lo));
    assert_int_equal(vitte_stats_median_ci(x, 0, 0.95, &ci), VITTE_EINVAL);
    assert_int_equal(vitte_stats_median_ci(x, 5, 1.0, &ci), VITTE_EINVAL);
    assert_int_equal(vitte_stats_median_ci(x, 5, 0.95, NULL), VITTE_EINVAL);
    const double bad[] = {1.0, INFINITY};
    assert_int_equal(vitte_stats_median_ci(bad, 2, 0.95, &ci), VITTE_ERANGE);
}

static void test_tukey(void **state)
{
    (void)state;
    /* sorted: -20 1 2 3 4 5 6 7 8 18 40; Q1 = 2.5, Q3 = 7.5 (h = 2.5, 7.5),
     * IQR 5, fences -12.5, -5, 15, 22.5 */
    const double x[] = {5, 40, 1, -20, 7, 2, 18, 3, 8, 4, 6};
    vitte_tukey_result t;
    uint8_t cls[11];
    size_t idx[11];
    assert_int_equal(vitte_stats_outliers_tukey(x, 11, &t, cls, idx), VITTE_OK);
    assert_true(t.q1 == 2.5 && t.q3 == 7.5 && t.iqr == 5.0);
    assert_true(t.low_severe_fence == -12.5 && t.low_mild_fence == -5.0);
    assert_true(t.high_mild_fence == 15.0 && t.high_severe_fence == 22.5);
    assert_int_equal(t.n, 11);
    assert_int_equal(t.count, 3);
    assert_int_equal(t.low_severe, 1);
    assert_int_equal(t.low_mild, 0);
    assert_int_equal(t.high_mild, 1);
    assert_int_equal(t.high_severe, 1);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 3);
    assert_int_equal(idx[2], 6);
    assert_int_equal(cls[1], VITTE_OUTLIER_HIGH_SEVERE);
    assert_int_equal(cls[3], VITTE_OUTLIER_LOW_SEVERE);
    assert_int_equal(cls[6], VITTE_OUTLIER_HIGH_MILD);
    assert_int_equal(cls[0], VITTE_OUTLIER_NONE);

    /* on the fences: not beyond them.  Q1 = 3, Q3 = 7, fences -9, -3, 13, 19 */
    const double f[] = {-3, 2, 3, 4, 5, 6, 7, 8, 13};
    assert_int_equal(vitte_stats_outliers_tukey(f, 9, &t, NULL, NULL), VITTE_OK);
    assert_true(t.q1 == 3.0 && t.q3 == 7.0 && t.count == 0);
    const double g[] = {-9.5, 2, 3, 4, 5, 6, 7, 8, 19};
    assert_int_equal(vitte_stats_outliers_tukey(g, 9, &t, cls, NULL), VITTE_OK);
    assert_true(t.count == 2 && t.low_severe == 1 && t.high_mild == 1);
    assert_int_equal(cls[0], VITTE_OUTLIER_LOW_SEVERE);
    assert_int_equal(cls[8], VITTE_OUTLIER_HIGH_MILD);
    const double h[] = {-4, 2, 3, 4, 5, 6, 7, 8, 19.5};
    assert_int_equal(vitte_stats_outliers_tukey(h, 9, &t, cls, NULL), VITTE_OK);
    assert_true(t.low_mild == 1 && t.high_severe == 1);
    assert_int_equal(cls[0], VITTE_OUTLIER_LOW_MILD);
    /* one value, constant data: nothing */
    assert_int_equal(vitte_stats_outliers_tukey(x, 1, &t, cls, idx), VITTE_OK);
    assert_true(t.count == 0 && t.iqr == 0.0 && cls[0] == VITTE_OUTLIER_NONE);

    assert_int_equal(vitte_stats_outliers_tukey(NULL, 3, &t, NULL, NULL), VITTE_EINVAL);
    assert_true(isnan(t.q1) && t.count == 0);
    assert_int_equal(vitte_stats_outliers_tukey(x, 0, &t, NULL, NULL), VITTE_EINVAL);
    assert_int_equal(vitte_stats_outliers_tukey(x, 3, NULL, NULL, NULL), VITTE_EINVAL);
    const double bad[] = {1.0, NAN};
    assert_int_equal(vitte_stats_outliers_tukey(bad, 2, &t, NULL, NULL), VITTE_ERANGE);
}

static void test_mzscore(void **state)
{
    (void)state;
    /* median 3, |x - 3| = 2 1 0 1 97: MAD 1; z(100) = 0.6745 * 97 */
    const double x[] = {1, 2, 3, 4, 100};
    vitte_mzscore_result m;
    uint8_t cls[6];
    size_t idx[6];
    double z[6];
    assert_int_equal(vitte_stats_outliers_mzscore(x, 5, VITTE_STATS_MZ_THRESHOLD, &m, cls, idx, z),
                     VITTE_OK);
    assert_true(m.median == 3.0 && m.mad_raw == 1.0 && m.threshold == 3.5);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.high, 1);
    assert_int_equal(m.low, 0);
    assert_int_equal(idx[0], 4);
    assert_int_equal(cls[4], VITTE_OUTLIER_HIGH);
    assert_int_equal(cls[0], VITTE_OUTLIER_NONE);
    assert_true(z[4] == 0.6745 * 97.0 && z[0] == 0.6745 * -2.0 && z[2] == 0.0);
    /* hyperfine's threshold 10 keeps 65.4 flagged; 70 does not */
    assert_int_equal(vitte_stats_outliers_mzscore(x, 5, 70.0, &m, NULL, NULL, NULL), VITTE_OK);
    assert_int_equal(m.count, 0);
    /* low side */
    const double y[] = {-100, 2, 3, 4, 5};
    assert_int_equal(vitte_stats_outliers_mzscore(y, 5, 3.5, &m, cls, idx, NULL), VITTE_OK);
    assert_true(m.low == 1 && idx[0] == 0 && cls[0] == VITTE_OUTLIER_LOW);
    /* MAD 0: every value off the median is flagged, with an infinite score */
    const double c[] = {5, 5, 6, 5, 4, 5};
    assert_int_equal(vitte_stats_outliers_mzscore(c, 6, 3.5, &m, cls, idx, z), VITTE_OK);
    assert_true(m.mad_raw == 0.0 && m.count == 2 && m.high == 1 && m.low == 1);
    assert_true(idx[0] == 2 && idx[1] == 4);
    assert_true(isinf(z[2]) && z[2] > 0 && isinf(z[4]) && z[4] < 0 && z[0] == 0.0);

    assert_int_equal(vitte_stats_outliers_mzscore(x, 5, 0.0, &m, NULL, NULL, NULL), VITTE_EINVAL);
    assert_true(isnan(m.median));
    assert_int_equal(vitte_stats_outliers_mzscore(x, 5, NAN, &m, NULL, NULL, NULL), VITTE_EINVAL);
    assert_int_equal(vitte_stats_outliers_mzscore(NULL, 5, 3.5, &m, NULL, NULL, NULL),
                     VITTE_EINVAL);
    assert_int_equal(vitte_stats_outliers_mzscore(x, 0, 3.5, &m, NULL, NULL, NULL), VITTE_EINVAL);
    const double bad[] = {1.0, -INFINITY};
    assert_int_equal(vitte_stats_outliers_mzscore(bad, 2, 3.5, &m, NULL, NULL, NULL), VITTE_ERANGE);
}

static void test_linreg(void **state)
{
    (void)state;
    vitte_linreg r;
    /* x 1..5, y 2 4 5 4 5: Sxx 10, Sxy 6, Syy 6; scipy.stats.linregress */
    const double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 5, 4, 5};
    assert_int_equal(vitte_stats_linreg(x, y, 5, &r), VITTE_OK);
    assert_int_equal(r.n, 5);
    assert_close(r.slope, 0.6, 1e-15);
    assert_close(r.intercept, 2.2, 1e-15);
    assert_close(r.r, 0.7745966692414835, 1e-15);
    assert_close(r.r2, 0.6, 1e-15);
    assert_close(r.slope_stderr, sqrt(0.08), 1e-15);
    assert_close(r.intercept_stderr, sqrt(0.88), 1e-15);
    assert_close(r.p_value, 0.12402706265755442, 1e-12);
    /* x NULL: 0..4 */
    assert_int_equal(vitte_stats_linreg(NULL, y, 5, &r), VITTE_OK);
    assert_close(r.slope, 0.6, 1e-15);
    assert_close(r.intercept, 2.8, 1e-15);
    assert_close(r.intercept_stderr, 0.6928203230275507, 1e-15);
    /* an exact line: no error, p = 0; far from 0 too */
    double t[6], v[6];
    for (int i = 0; i < 6; i++) {
        t[i] = 1.7e9 + 10.0 * i;
        v[i] = 3.0 - 0.5 * (t[i] - 1.7e9);
    }
    assert_int_equal(vitte_stats_linreg(t, v, 6, &r), VITTE_OK);
    assert_true(r.slope == -0.5 && r.r == -1.0 && r.r2 == 1.0);
    assert_close(r.intercept, 3.0 + 0.85e9, 1e-15);
    assert_true(r.slope_stderr == 0.0 && r.intercept_stderr == 0.0 && r.p_value == 0.0);
    /* constant y: r = 0 (scipy), p = 1 */
    const double k[] = {4, 4, 4};
    assert_int_equal(vitte_stats_linreg(x, k, 3, &r), VITTE_OK);
    assert_true(r.slope == 0.0 && r.r == 0.0 && r.p_value == 1.0 && r.intercept == 4.0);
    /* n = 2: exact, standard errors 0 */
    assert_int_equal(vitte_stats_linreg(x, y, 2, &r), VITTE_OK);
    assert_true(r.slope == 2.0 && r.intercept == 0.0 && r.slope_stderr == 0.0);
    assert_true(r.p_value == 0.0 && r.r == 1.0);

    assert_int_equal(vitte_stats_linreg(k, y, 3, &r), VITTE_EINVAL); /* x constant */
    assert_true(isnan(r.slope));
    assert_int_equal(vitte_stats_linreg(x, y, 1, &r), VITTE_EINVAL);
    assert_int_equal(vitte_stats_linreg(x, NULL, 5, &r), VITTE_EINVAL);
    assert_int_equal(vitte_stats_linreg(x, y, 5, NULL), VITTE_EINVAL);
    const double bad[] = {1.0, NAN, 3.0};
    assert_int_equal(vitte_stats_linreg(bad, y, 3, &r), VITTE_ERANGE);
    assert_int_equal(vitte_stats_linreg(x, bad, 3, &r), VITTE_ERANGE);
}

static void test_moving_averages(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4, 5};
    double out[5];
    assert_int_equal(vitte_stats_sma(x, 5, 2, out), VITTE_OK);
    assert_true(isnan(out[0]) && out[1] == 1.5 && out[2] == 2.5 && out[3] == 3.5 && out[4] == 4.5);
    assert_int_equal(vitte_stats_sma(x, 5, 5, out), VITTE_OK);
    assert_true(isnan(out[3]) && out[4] == 3.0);
    assert_int_equal(vitte_stats_sma(x, 5, 1, out), VITTE_OK);
    assert_memory_equal(out, x, sizeof x);
    /* 1e9 + k/4 over a long run: no drift, every window correctly rounded */
    enum { N = 10000, W = 7 };
    static double big[N], avg[N];
    for (int i = 0; i < N; i++)
        big[i] = 1e9 + (double)((i * 13) % 29) / 4.0;
    assert_int_equal(vitte_stats_sma(big, N, W, avg), VITTE_OK);
    for (int i = W - 1; i < N; i++) {
        double s = 0.0;
        for (int j = i - W + 1; j <= i; j++)
            s += big[j] - 1e9;
        assert_true(avg[i] == 1e9 + s / W); /* the sums are exact: one rounding */
    }
    assert_int_equal(vitte_stats_sma(x, 5, 0, out), VITTE_EINVAL);
    assert_int_equal(vitte_stats_sma(x, 5, 6, out), VITTE_EINVAL);
    assert_int_equal(vitte_stats_sma(x, 5, 2, (double *)x), VITTE_EINVAL);
    assert_int_equal(vitte_stats_sma(NULL, 5, 2, out), VITTE_EINVAL);
    const double bad[] = {1.0, NAN};
    assert_int_equal(vitte_stats_sma(bad, 2, 1, out), VITTE_ERANGE);

    /* EWMA alpha 1/2: 0, 1, 2.5, 2.75; in place */
    double e[] = {0, 2, 4, 3};
    assert_int_equal(vitte_stats_ewma(e, 4, 0.5, e), VITTE_OK);
    assert_true(e[0] == 0.0 && e[1] == 1.0 && e[2] == 2.5 && e[3] == 2.75);
    assert_int_equal(vitte_stats_ewma(x, 5, 1.0, out), VITTE_OK);
    assert_memory_equal(out, x, sizeof x);
    assert_int_equal(vitte_stats_ewma(x, 5, 0.0, out), VITTE_EINVAL);
    assert_int_equal(vitte_stats_ewma(x, 5, 1.5, out), VITTE_EINVAL);
    assert_int_equal(vitte_stats_ewma(x, 0, 0.5, out), VITTE_EINVAL);
    assert_int_equal(vitte_stats_ewma(bad, 2, 0.5, out), VITTE_ERANGE);
}

static void test_counter_rate(void **state)
{
    (void)state;
    /* 0 -> 100 (+100), reset to 50 (+50), -> 80 (+30): 180 over 30 s */
    const double t[] = {0, 10, 20, 30}, v[] = {0, 100, 50, 80};
    double inc, rate;
    assert_int_equal(vitte_stats_counter_rate(t, v, 4, &inc, &rate), VITTE_OK);
    assert_true(inc == 180.0 && rate == 6.0);
    assert_int_equal(vitte_stats_counter_rate(t, v, 2, NULL, &rate), VITTE_OK);
    assert_true(rate == 10.0);
    /* reset to 0, repeated timestamps allowed */
    const double t2[] = {5, 5, 7}, v2[] = {10, 0, 4};
    assert_int_equal(vitte_stats_counter_rate(t2, v2, 3, &inc, &rate), VITTE_OK);
    assert_true(inc == 4.0 && rate == 2.0);

    const double back[] = {0, 10, 5};
    assert_int_equal(vitte_stats_counter_rate(back, v, 3, &inc, &rate), VITTE_EINVAL);
    assert_true(isnan(inc) && isnan(rate));
    const double same[] = {3, 3};
    assert_int_equal(vitte_stats_counter_rate(same, v, 2, &inc, &rate), VITTE_EINVAL);
    assert_int_equal(vitte_stats_counter_rate(t, v, 1, &inc, &rate), VITTE_EINVAL);
    assert_int_equal(vitte_stats_counter_rate(t, v, 4, &inc, NULL), VITTE_EINVAL);
    const double bad[] = {0, NAN};
    assert_int_equal(vitte_stats_counter_rate(t, bad, 2, &inc, &rate), VITTE_ERANGE);
}

static void test_compare(void **state)
{
    (void)state;
    vitte_comparison c;
    vitte_stats_compare_options o;
    vitte_stats_compare_options_init(&o);
    assert_int_equal(o.struct_size, sizeof o);
    assert_true(o.alpha == 0.05 && o.noise == 0.01 && o.strict == 0);
    assert_int_equal(o.test, VITTE_STATS_TEST_WELCH);
    assert_int_equal(o.bootstrap.resamples, 10000);

    /* effect sizes by hand: base 1 2 3, cand 3 4 5: pooled sd 1, d = 2;
     * cand > base in 8 of 9 pairs, 1 tie: delta 8/9, CLES 8.5/9 */
    const double b3[] = {1, 2, 3}, c3[] = {3, 4, 5};
    assert_int_equal(vitte_stats_compare(b3, 3, c3, 3, NULL, &c), VITTE_OK);
    assert_true(c.mean_base == 2.0 && c.mean_cand == 4.0 && c.rel_diff == 1.0);
    assert_close(c.cohen_d, 2.0, 1e-15);
    assert_close(c.cliff_delta, 8.0 / 9.0, 1e-15);
    assert_close(c.cles, 8.5 / 9.0, 1e-15);
    assert_close(c.test.statistic, 2.449489742783178, 1e-14); /* scipy ttest_ind */
    assert_close(c.test.p_value, 0.07048399691021993, 1e-9);
    assert_int_equal(c.verdict, VITTE_VERDICT_NO_CHANGE); /* p > 0.05 */
    assert_true(c.rel_diff_lo <= 1.0 && 1.0 <= c.rel_diff_hi);

    /* 10 % faster, clearly */
    double base[30], cand[30];
    for (int i = 0; i < 30; i++) {
        base[i] = 100.0 + (double)((i * 7) % 11) * 0.1;
        cand[i] = 90.0 + (double)((i * 5) % 11) * 0.1;
    }
    assert_int_equal(vitte_stats_compare(base, 30, cand, 30, &o, &c), VITTE_OK);
    assert_int_equal(c.verdict, VITTE_VERDICT_FASTER);
    assert_true(c.rel_diff < -0.09 && c.rel_diff_hi < -0.09 && c.rel_diff_lo > -0.11);
    assert_true(c.cliff_delta == -1.0 && c.cohen_d < -10.0 && c.test.p_value < 1e-10);
    assert_int_equal(vitte_stats_compare(cand, 30, base, 30, &o, &c), VITTE_OK);
    assert_int_equal(c.verdict, VITTE_VERDICT_SLOWER);
    assert_string_equal(vitte_verdict_name(c.verdict), "slower");
    assert_string_equal(vitte_verdict_name(VITTE_VERDICT_FASTER), "faster");
    assert_string_equal(vitte_verdict_name(VITTE_VERDICT_NO_CHANGE), "no change");
    assert_string_equal(vitte_verdict_name((vitte_verdict)9), "unknown");
    o.test = VITTE_STATS_TEST_MANN_WHITNEY;
    assert_int_equal(vitte_stats_compare(cand, 30, base, 30, &o, &c), VITTE_OK);
    assert_int_equal(c.test_used, VITTE_STATS_TEST_MANN_WHITNEY);
    assert_true(c.test.statistic == 900.0 && isnan(c.test.df));
    assert_int_equal(c.verdict, VITTE_VERDICT_SLOWER);

    /* significant but within the noise: 0.5 % slower, tiny spread */
    for (int i = 0; i < 30; i++)
        cand[i] = base[i] * 1.005;
    vitte_stats_compare_options_init(&o);
    assert_int_equal(vitte_stats_compare(base, 30, cand, 30, &o, &c), VITTE_OK);
    assert_true(c.test.p_value < 1e-6);
    assert_int_equal(c.verdict, VITTE_VERDICT_NO_CHANGE);
    o.noise = 0.004;
    assert_int_equal(vitte_stats_compare(base, 30, cand, 30, &o, &c), VITTE_OK);
    assert_int_equal(c.verdict, VITTE_VERDICT_SLOWER);
    /* strict: the whole CI must clear the threshold */
    o.strict = 1;
    o.noise = c.rel_diff_lo + 1e-6; /* just above the lower end */
    assert_int_equal(vitte_stats_compare(base, 30, cand, 30, &o, &c), VITTE_OK);
    assert_int_equal(c.verdict, VITTE_VERDICT_NO_CHANGE);
    o.noise = c.rel_diff_lo - 1e-6;
    assert_int_equal(vitte_stats_compare(base, 30, cand, 30, &o, &c), VITTE_OK);
    assert_int_equal(c.verdict, VITTE_VERDICT_SLOWER);

    /* both constant: p = 0 when the means differ, 1 when equal */
    const double k1[] = {5, 5, 5}, k2[] = {4, 4, 4, 4};
    assert_int_equal(vitte_stats_compare(k1, 3, k2, 4, NULL, &c), VITTE_OK);
    assert_true(c.test.p_value == 0.0 && isinf(c.cohen_d) && c.cohen_d < 0);
    assert_int_equal(c.verdict, VITTE_VERDICT_FASTER);
    assert_true(c.rel_diff_lo == c.rel_diff && c.rel_diff_hi == c.rel_diff);
    assert_int_equal(vitte_stats_compare(k1, 3, k1, 2, NULL, &c), VITTE_OK);
    assert_true(c.test.p_value == 1.0 && isnan(c.cohen_d) && c.rel_diff == 0.0);
    assert_int_equal(c.verdict, VITTE_VERDICT_NO_CHANGE);
    /* a baseline of mixed signs: no CI, the rest is there */
    const double mixed[] = {-1, 3, 4};
    assert_int_equal(vitte_stats_compare(mixed, 3, c3, 3, NULL, &c), VITTE_OK);
    assert_true(isnan(c.rel_diff_lo) && c.rel_diff == 1.0);

    /* errors */
    assert_int_equal(vitte_stats_compare(b3, 1, c3, 3, NULL, &c), VITTE_EINVAL);
    assert_true(isnan(c.rel_diff) && c.verdict == VITTE_VERDICT_NO_CHANGE);
    assert_int_equal(vitte_stats_compare(NULL, 3, c3, 3, NULL, &c), VITTE_EINVAL);
    assert_int_equal(vitte_stats_compare(b3, 3, c3, 3, NULL, NULL), VITTE_EINVAL);
    const double zero[] = {-1, 1};
    assert_int_equal(vitte_stats_compare(zero, 2, c3, 3, NULL, &c), VITTE_EINVAL);
    vitte_stats_compare_options_init(&o);
    o.alpha = 0.0;
    assert_int_equal(vitte_stats_compare(b3, 3, c3, 3, &o, &c), VITTE_EINVAL);
    vitte_stats_compare_options_init(&o);
    o.noise = -0.1;
    assert_int_equal(vitte_stats_compare(b3, 3, c3, 3, &o, &c), VITTE_EINVAL);
    vitte_stats_compare_options_init(&o);
    o.test = 7;
    assert_int_equal(vitte_stats_compare(b3, 3, c3, 3, &o, &c), VITTE_EINVAL);
    vitte_stats_compare_options_init(&o);
    o.bootstrap.resamples = 0;
    assert_int_equal(vitte_stats_compare(b3, 3, c3, 3, &o, &c), VITTE_EINVAL);
    vitte_stats_compare_options_init(&o);
    o.struct_size = 1;
    assert_int_equal(vitte_stats_compare(b3, 3, c3, 3, &o, &c), VITTE_EINVAL);
    const double bad[] = {1, NAN};
    assert_int_equal(vitte_stats_compare(b3, 3, bad, 2, NULL, &c), VITTE_ERANGE);
}

static void test_histogram_quantile(void **state)
{
    (void)state;
    vitte_histogram *h;
    assert_int_equal(vitte_histogram_create(NULL, &h), VITTE_OK);
    vitte_histogram_snapshot *s;
    assert_int_equal(vitte_histogram_snapshot_create(h, &s), VITTE_OK);
    assert_true(isnan(vitte_stats_histogram_quantile(s, 0.5))); /* empty */
    vitte_histogram_snapshot_destroy(s);

    /* 1.5 and 3 are bucket edges at the default precision (64 per octave):
     * buckets (1.484375, 1.5] and (2.96875, 3] */
    assert_int_equal(vitte_histogram_record_n(h, 1.5, 4), VITTE_OK);
    assert_int_equal(vitte_histogram_record_n(h, 3.0, 4), VITTE_OK);
    assert_int_equal(vitte_histogram_snapshot_create(h, &s), VITTE_OK);
    assert_true(vitte_stats_histogram_quantile(s, 0.0) == 1.5);
    assert_true(vitte_stats_histogram_quantile(s, 0.25) == 1.5);
    assert_true(vitte_stats_histogram_quantile(s, 0.5) == 1.5);
    /* rank 6: halfway through the second bucket */
    assert_true(vitte_stats_histogram_quantile(s, 0.75) == 2.984375);
    assert_true(vitte_stats_histogram_quantile(s, 1.0) == 3.0);
    assert_true(isnan(vitte_stats_histogram_quantile(s, 1.5)));
    assert_true(isnan(vitte_stats_histogram_quantile(s, NAN)));
    assert_true(isnan(vitte_stats_histogram_quantile(NULL, 0.5)));
    vitte_histogram_snapshot_destroy(s);

    /* 1..1000: within the bucket's 0.78 % of the type-7 quantile, monotone */
    vitte_histogram_reset(h);
    double v[1000];
    for (int i = 0; i < 1000; i++) {
        v[i] = i + 1;
        assert_int_equal(vitte_histogram_record(h, v[i]), VITTE_OK);
    }
    assert_int_equal(vitte_histogram_snapshot_create(h, &s), VITTE_OK);
    double prev = 0.0;
    for (int k = 0; k <= 100; k++) {
        const double q = k / 100.0;
        const double got = vitte_stats_histogram_quantile(s, q);
        assert_true(got >= prev);
        prev = got;
        const double want = vitte_stats_quantile(v, 1000, q);
        assert_true(fabs(got - want) <= 0.0079 * want + 1.0);
    }
    assert_true(vitte_stats_histogram_quantile(s, 0.0) == 1.0);
    assert_true(vitte_stats_histogram_quantile(s, 1.0) == 1000.0);
    vitte_histogram_snapshot_destroy(s);
    vitte_histogram_destroy(h);
}

/* Selection = sorting, for every kind of data and ranks near both ends. */
static void test_selection(void **state)
{
    (void)state;
    enum { N = 30011 };
    double *x = malloc(N * sizeof *x), *s = malloc(N * sizeof *s), *d = malloc(N * sizeof *d);
    assert_non_null(x);
    assert_non_null(s);
    assert_non_null(d);
    uint64_t r = 99;
    for (int kind = 0; kind < 7; kind++) {
        const size_t sizes[] = {VITTE__STATS_SORT_MAX + 1, 10000, N};
        for (size_t si = 0; si < 3; si++) {
            const size_t n = sizes[si];
            for (size_t i = 0; i < n; i++) {
                r = r * 6364136223846793005ULL + 1442695040888963407ULL;
                const double u = (double)(r >> 11) * 0x1.0p-53;
                switch (kind) {
                case 0:
                    x[i] = u;
                    break;
                case 1:
                    x[i] = tan(3.14159265358979 * (u - 0.5));
                    break; /* Cauchy */
                case 2:
                    x[i] = floor(u * 7.0) - 3.0;
                    break; /* ties, -0 */
                case 3:
                    x[i] = 1e9 + u;
                    break;
                case 4:
                    x[i] = u < 0.999 ? 1e-3 * (1.0 + u * 0.01) : 5.0;
                    break;
                case 5:
                    x[i] = (i % 2) ? -0.0 : 0.0;
                    break;
                default:
                    x[i] = u < 0.5 ? -1e300 * u : 1e-300 * u;
                    break;
                }
            }
            memcpy(s, x, n * sizeof *x);
            qsort(s, n, sizeof *s, cmp_double);
            const size_t ks[] = {0, 1, n / 3, n / 2 - 1, n / 2, n - 2, n - 1};
            for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
                double a, b;
                assert_int_equal(vitte__stats_select(x, n, ks[j], 0.0, 0, s[0], s[n - 1], &a, &b),
                                 VITTE_OK);
                assert_true(a == s[ks[j]]);
                assert_true(b == s[ks[j] + 1 < n ? ks[j] + 1 : ks[j]]);
            }
            /* absolute deviations from the median */
            const double med = q7(s, n, 0.5);
            for (size_t i = 0; i < n; i++)
                d[i] = fabs(x[i] - med);
            qsort(d, n, sizeof *d, cmp_double);
            double got;
            assert_int_equal(vitte__stats_quantile_select(x, n, 0.5, med, 1, 0.0, d[n - 1], &got),
                             VITTE_OK);
            assert_true(got == q7(d, n, 0.5));
            /* the public functions on the selection path */
            vitte_summary sum;
            assert_int_equal(vitte_stats_summary(x, n, &sum), VITTE_OK);
            assert_true(sum.median == med && sum.min == s[0] && sum.max == s[n - 1]);
            assert_true(sum.mad == 1.4826 * q7(d, n, 0.5));
            assert_true(vitte_stats_quantile(x, n, 0.9) == q7(s, n, 0.9));
        }
    }
    free(x);
    free(s);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_bootstrap_replay),
        cmocka_unit_test(test_bootstrap_properties),
        cmocka_unit_test(test_median_ci),
        cmocka_unit_test(test_tukey),
        cmocka_unit_test(test_mzscore),
        cmocka_unit_test(test_linreg),
        cmocka_unit_test(test_moving_averages),
        cmocka_unit_test(test_counter_rate),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_histogram_quantile),
        cmocka_unit_test(test_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
