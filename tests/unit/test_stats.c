/* Statistics: summaries, quantiles, streaming moments, tests, distributions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
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

static void test_summary_known(void **state)
{
    (void)state;
    /* mean 5; deviations -3 -1 -1 -1 0 0 2 4: sums of powers 32, 42, 356 */
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    double copy[8];
    memcpy(copy, x, sizeof x);
    vitte_summary s;
    assert_int_equal(vitte_stats_summary(copy, 8, &s), VITTE_OK);
    assert_memory_equal(copy, x, sizeof x);
    assert_int_equal(s.n, 8);
    assert_close(s.mean, 5.0, 1e-15);
    assert_close(s.variance, 32.0 / 7.0, 1e-15);
    assert_close(s.stddev, sqrt(32.0 / 7.0), 1e-15);
    assert_true(s.min == 2.0 && s.max == 9.0);
    assert_true(s.median == 4.5);
    assert_close(s.mad, 0.5 * 1.4826, 1e-15); /* |x - 4.5|: five 0.5s, 2.5, 2.5, 4.5 */
    assert_close(s.skewness, (42.0 / 8.0) / 8.0, 1e-14);
    assert_close(s.kurtosis, (356.0 / 8.0) / 16.0 - 3.0, 1e-14);
    assert_close(s.cv, sqrt(32.0 / 7.0) / 5.0, 1e-15);
    assert_close(s.stderr_mean, sqrt(4.0 / 7.0), 1e-15);

    /* one value: the figures that need two are NaN */
    const double one = 3.5;
    assert_int_equal(vitte_stats_summary(&one, 1, &s), VITTE_OK);
    assert_true(s.mean == 3.5 && s.median == 3.5 && s.min == 3.5 && s.mad == 0.0);
    assert_true(isnan(s.variance) && isnan(s.stddev) && isnan(s.stderr_mean));
    assert_true(isnan(s.skewness) && isnan(s.kurtosis));

    /* constant: variance 0, skewness and kurtosis undefined */
    const double c[] = {7, 7, 7, 7};
    assert_int_equal(vitte_stats_summary(c, 4, &s), VITTE_OK);
    assert_true(s.variance == 0.0 && s.mad == 0.0 && s.cv == 0.0);
    assert_true(isnan(s.skewness) && isnan(s.kurtosis));
}

static void test_summary_large_offset(void **state)
{
    (void)state;
    const double small[] = {1, 2, 3};
    const double big[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    vitte_summary s;
    assert_int_equal(vitte_stats_summary(big, 3, &s), VITTE_OK);
    assert_true(s.mean == 1e9 + 2);
    assert_true(s.variance == 1.0);
    assert_true(s.stddev == 1.0);
    assert_true(s.skewness == 0.0);
    assert_int_equal(vitte_stats_summary(small, 3, &s), VITTE_OK);
    assert_true(s.variance == 1.0);

    double x[1000], y[1000];
    for (int i = 0; i < 1000; i++) {
        y[i] = (double)((i * 7919) % 1000) / 16.0; /* exact in binary */
        x[i] = 1e9 + y[i];
    }
    vitte_summary sx, sy;
    assert_int_equal(vitte_stats_summary(x, 1000, &sx), VITTE_OK);
    assert_int_equal(vitte_stats_summary(y, 1000, &sy), VITTE_OK);
    assert_true(sx.mean == 1e9 + sy.mean);
    assert_true(sx.variance == sy.variance);
    assert_close(sx.skewness + 1.0, sy.skewness + 1.0, 1e-14);
    assert_close(sx.kurtosis, sy.kurtosis, 1e-14);
    assert_true(sx.median == 1e9 + sy.median);
    assert_true(sx.mad == sy.mad);
    /* 1..10 (as 1e9 + k): variance 55/6, skewness 0, excess kurtosis -1.2242... */
    double t[10];
    for (int i = 0; i < 10; i++)
        t[i] = 1e9 + (i + 1);
    assert_int_equal(vitte_stats_summary(t, 10, &s), VITTE_OK);
    assert_true(s.variance == 55.0 / 6.0);
    assert_true(s.skewness == 0.0);
    assert_close(s.kurtosis, -1.2242424242424244, 1e-14);
}

static void test_quantile(void **state)
{
    (void)state;
    const double one = 42.0;
    assert_true(vitte_stats_quantile(&one, 1, 0.0) == 42.0);
    assert_true(vitte_stats_quantile(&one, 1, 0.37) == 42.0);
    assert_true(vitte_stats_quantile(&one, 1, 1.0) == 42.0);

    const double x[] = {3, 1, 4, 2};
    double copy[4];
    memcpy(copy, x, sizeof x);
    assert_true(vitte_stats_quantile(copy, 4, 0.0) == 1.0);
    assert_true(vitte_stats_quantile(copy, 4, 1.0) == 4.0);
    assert_true(vitte_stats_quantile(copy, 4, 0.5) == 2.5);   /* h = 1.5 */
    assert_true(vitte_stats_quantile(copy, 4, 0.25) == 1.75); /* h = 0.75 */
    assert_true(vitte_stats_quantile(copy, 4, 1.0 / 3.0) == 2.0);
    assert_close(vitte_stats_quantile(copy, 4, 0.9), 3.7, 1e-15); /* h = 2.7 */
    assert_memory_equal(copy, x, sizeof x);
    const double two[] = {10, 0};
    assert_close(vitte_stats_quantile(two, 2, 0.1), 1.0, 1e-15);

    const double nan_in[] = {1, NAN, 3};
    assert_true(isnan(vitte_stats_quantile(NULL, 3, 0.5)));
    assert_true(isnan(vitte_stats_quantile(x, 0, 0.5)));
    assert_true(isnan(vitte_stats_quantile(x, 4, -0.01)));
    assert_true(isnan(vitte_stats_quantile(x, 4, 1.01)));
    assert_true(isnan(vitte_stats_quantile(x, 4, NAN)));
    assert_true(isnan(vitte_stats_quantile(nan_in, 3, 0.5)));
}

static void summary_close(const vitte_summary *a, const vitte_summary *b, double rtol)
{
    assert_int_equal(a->n, b->n);
    assert_close(a->mean, b->mean, rtol);
    assert_close(a->variance, b->variance, rtol);
    assert_close(a->skewness, b->skewness, rtol);
    assert_close(a->kurtosis, b->kurtosis, rtol);
    assert_true(a->min == b->min && a->max == b->max);
}

static void test_moments_merge(void **state)
{
    (void)state;
    enum { N = 500 };
    double x[N];
    uint64_t r = 12345;
    for (int i = 0; i < N; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u = (double)(r >> 11) * 0x1.0p-53;
        x[i] = 5.0 + u * u * 20.0; /* skewed */
    }
    vitte_summary batch, stream;
    assert_int_equal(vitte_stats_summary(x, N, &batch), VITTE_OK);

    /* one accumulator */
    vitte_moments all;
    vitte_moments_init(&all);
    for (int i = 0; i < N; i++)
        vitte_moments_add(&all, x[i]);
    assert_int_equal(vitte_moments_summary(&all, &stream), VITTE_OK);
    summary_close(&stream, &batch, 1e-12);
    assert_true(isnan(stream.median) && isnan(stream.mad));

    /* uneven parts, one empty, merged */
    const int cut[] = {0, 0, 1, 38, 300, N};
    vitte_moments part[5], merged;
    vitte_moments_init(&merged);
    for (int p = 0; p < 5; p++) {
        vitte_moments_init(&part[p]);
        for (int i = cut[p]; i < cut[p + 1]; i++)
            vitte_moments_add(&part[p], x[i]);
        assert_int_equal(vitte_moments_merge(&merged, &part[p]), VITTE_OK);
    }
    assert_int_equal(vitte_moments_summary(&merged, &stream), VITTE_OK);
    summary_close(&stream, &batch, 1e-12);

    /* merged in the other order, tree-wise */
    assert_int_equal(vitte_moments_merge(&part[4], &part[3]), VITTE_OK);
    assert_int_equal(vitte_moments_merge(&part[2], &part[1]), VITTE_OK);
    assert_int_equal(vitte_moments_merge(&part[4], &part[2]), VITTE_OK);
    assert_int_equal(vitte_moments_summary(&part[4], &stream), VITTE_OK);
    summary_close(&stream, &batch, 1e-12);

    /* self-merge: every value twice */
    vitte_moments twice = all;
    assert_int_equal(vitte_moments_merge(&twice, &twice), VITTE_OK);
    assert_int_equal(twice.n, 2 * N);
    assert_close(twice.mean, all.mean, 1e-15);
    assert_close(twice.m2, 2.0 * all.m2, 1e-13);

    /* large offset: Welford keeps the variance well, see docs/stats.md */
    vitte_moments off;
    vitte_moments_init(&off);
    for (int i = 1; i <= 3; i++)
        vitte_moments_add(&off, 1e9 + i);
    assert_int_equal(vitte_moments_summary(&off, &stream), VITTE_OK);
    assert_true(stream.mean == 1e9 + 2);
    assert_close(stream.variance, 1.0, 1e-12);

    /* errors */
    vitte_moments empty;
    vitte_moments_init(&empty);
    assert_int_equal(vitte_moments_summary(&empty, &stream), VITTE_EINVAL);
    assert_int_equal(stream.n, 0);
    assert_int_equal(vitte_moments_summary(NULL, &stream), VITTE_EINVAL);
    assert_int_equal(vitte_moments_summary(&all, NULL), VITTE_EINVAL);
    assert_int_equal(vitte_moments_merge(NULL, &all), VITTE_EINVAL);
    assert_int_equal(vitte_moments_merge(&all, NULL), VITTE_EINVAL);
    vitte_moments_add(&empty, 1.0);
    vitte_moments_add(&empty, NAN);
    vitte_moments_add(&empty, 2.0);
    assert_int_equal(vitte_moments_summary(&empty, &stream), VITTE_ERANGE);
    vitte_moments_init(&empty);
    vitte_moments_add(&empty, 1.0);
    vitte_moments_add(&empty, INFINITY);
    assert_int_equal(vitte_moments_summary(&empty, &stream), VITTE_ERANGE);
    vitte_moments_add(NULL, 1.0); /* no-op */
    vitte_moments_init(NULL);
}

static void test_mean_ci(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4, 10};
    double lo, hi;
    /* mean 4, s / sqrt(n) = sqrt(2.5), t_{0.975, 4} = 2.7764451051977987 */
    assert_int_equal(vitte_stats_mean_ci(x, 5, 0.95, &lo, &hi), VITTE_OK);
    assert_close(hi - 4.0, 2.7764451051977987 * sqrt(2.5), 1e-13);
    assert_close(4.0 - lo, 2.7764451051977987 * sqrt(2.5), 1e-13);
    /* df = 1 has a closed form: t = tan(pi (q - 1/2)) */
    const double two[] = {0, 2};
    assert_int_equal(vitte_stats_mean_ci(two, 2, 0.9, &lo, &hi), VITTE_OK);
    assert_close(hi - 1.0, tan(3.14159265358979323846 * 0.45), 1e-13);
    const double c[] = {3, 3, 3};
    assert_int_equal(vitte_stats_mean_ci(c, 3, 0.95, &lo, &hi), VITTE_OK);
    assert_true(lo == 3.0 && hi == 3.0);

    assert_int_equal(vitte_stats_mean_ci(x, 1, 0.95, &lo, &hi), VITTE_EINVAL);
    assert_true(isnan(lo) && isnan(hi));
    assert_int_equal(vitte_stats_mean_ci(x, 5, 0.0, &lo, &hi), VITTE_EINVAL);
    assert_int_equal(vitte_stats_mean_ci(x, 5, 1.0, &lo, &hi), VITTE_EINVAL);
    assert_int_equal(vitte_stats_mean_ci(x, 5, NAN, &lo, &hi), VITTE_EINVAL);
    assert_int_equal(vitte_stats_mean_ci(NULL, 5, 0.95, &lo, &hi), VITTE_EINVAL);
    assert_int_equal(vitte_stats_mean_ci(x, 5, 0.95, NULL, &hi), VITTE_EINVAL);
    const double bad[] = {1, INFINITY};
    assert_int_equal(vitte_stats_mean_ci(bad, 2, 0.95, &lo, &hi), VITTE_ERANGE);
}

static void test_welch(void **state)
{
    (void)state;
    const double a[] = {1, 2, 3, 4, 10};
    const double b[] = {5, 6, 7, 8, 9, 11};
    vitte_test_result r;
    assert_int_equal(vitte_stats_welch_t(a, 5, b, 6, &r), VITTE_OK);
    /* (4 - 23/3) / sqrt(12.5/5 + (14/3)/6) */
    const double va = 2.5, vb = 14.0 / 18.0;
    assert_close(r.statistic, (4.0 - 23.0 / 3.0) / sqrt(va + vb), 1e-14);
    assert_close(r.df, (va + vb) * (va + vb) / (va * va / 4 + vb * vb / 5), 1e-14);
    assert_close(r.p_value, 0.08641514916391017, 1e-9); /* scipy ttest_ind */
    /* swapped: t negated, same p */
    vitte_test_result s;
    assert_int_equal(vitte_stats_welch_t(b, 6, a, 5, &s), VITTE_OK);
    assert_close(s.statistic, -r.statistic, 1e-15);
    assert_close(s.p_value, r.p_value, 1e-15);

    const double c[] = {2, 2, 2};
    assert_int_equal(vitte_stats_welch_t(c, 3, c, 3, &r), VITTE_EINVAL);
    assert_true(isnan(r.statistic) && isnan(r.p_value));
    assert_int_equal(vitte_stats_welch_t(a, 1, b, 6, &r), VITTE_EINVAL);
    assert_int_equal(vitte_stats_welch_t(NULL, 5, b, 6, &r), VITTE_EINVAL);
    assert_int_equal(vitte_stats_welch_t(a, 5, b, 6, NULL), VITTE_EINVAL);
    const double n[] = {1, NAN};
    assert_int_equal(vitte_stats_welch_t(a, 5, n, 2, &r), VITTE_ERANGE);
}

static void test_mann_whitney(void **state)
{
    (void)state;
    vitte_test_result r;
    /* exact, by hand: U = 0; P(U = 0) = 1 / C(3, 1) and 1 / C(5, 2) */
    const double a1[] = {1}, b1[] = {2, 3};
    assert_int_equal(vitte_stats_mann_whitney(a1, 1, b1, 2, &r), VITTE_OK);
    assert_true(r.statistic == 0.0);
    assert_close(r.p_value, 2.0 / 3.0, 1e-15);
    assert_true(isnan(r.df));
    const double a2[] = {2, 1}, b2[] = {5, 3, 4};
    assert_int_equal(vitte_stats_mann_whitney(a2, 2, b2, 3, &r), VITTE_OK);
    assert_close(r.p_value, 0.2, 1e-15);
    assert_int_equal(vitte_stats_mann_whitney(b2, 3, a2, 2, &r), VITTE_OK);
    assert_true(r.statistic == 6.0);
    assert_close(r.p_value, 0.2, 1e-15);

    /* scipy.stats.mannwhitneyu references */
    const double a[] = {1, 2, 3, 4, 10};
    const double b[] = {5, 6, 7, 8, 9, 11};
    assert_int_equal(vitte_stats_mann_whitney(a, 5, b, 6, &r), VITTE_OK);
    assert_true(r.statistic == 5.0);
    assert_close(r.p_value, 0.08225108225108226, 1e-12); /* exact */
    const double t1[] = {1, 2, 2, 3}, t2[] = {2, 3, 3, 4, 5};
    assert_int_equal(vitte_stats_mann_whitney(t1, 4, t2, 5, &r), VITTE_OK);
    assert_true(r.statistic == 3.0);
    assert_close(r.p_value, 0.09934224785346528, 1e-12); /* ties: normal */
    double big1[20], big2[20];
    for (int i = 0; i < 20; i++) {
        big1[i] = i;
        big2[i] = i + 10;
    }
    assert_int_equal(vitte_stats_mann_whitney(big1, 20, big2, 20, &r), VITTE_OK);
    assert_true(r.statistic == 50.0);
    assert_close(r.p_value, 5.2125496206037515e-05, 1e-9);
    /* all tied: no evidence */
    const double c[] = {4, 4, 4};
    assert_int_equal(vitte_stats_mann_whitney(c, 3, c, 2, &r), VITTE_OK);
    assert_true(r.p_value == 1.0 && r.statistic == 3.0);

    assert_int_equal(vitte_stats_mann_whitney(a, 0, b, 6, &r), VITTE_EINVAL);
    assert_true(isnan(r.statistic));
    assert_int_equal(vitte_stats_mann_whitney(a, 5, NULL, 6, &r), VITTE_EINVAL);
    assert_int_equal(vitte_stats_mann_whitney(a, 5, b, 6, NULL), VITTE_EINVAL);
    const double n[] = {NAN};
    assert_int_equal(vitte_stats_mann_whitney(n, 1, b, 6, &r), VITTE_ERANGE);
}

static void test_summary_errors(void **state)
{
    (void)state;
    vitte_summary s;
    const double x[] = {1, 2};
    assert_int_equal(vitte_stats_summary(NULL, 2, &s), VITTE_EINVAL);
    assert_int_equal(s.n, 0);
    assert_true(isnan(s.mean));
    assert_int_equal(vitte_stats_summary(x, 0, &s), VITTE_EINVAL);
    assert_int_equal(vitte_stats_summary(x, 2, NULL), VITTE_EINVAL);
    const double n[] = {1, NAN, 2};
    assert_int_equal(vitte_stats_summary(n, 3, &s), VITTE_ERANGE);
    assert_true(isnan(s.mean));
    const double inf[] = {1, -INFINITY};
    assert_int_equal(vitte_stats_summary(inf, 2, &s), VITTE_ERANGE);
}

static void test_distributions(void **state)
{
    (void)state;
    const double pi = 3.14159265358979323846;
    const double ts[] = {0.0, 0.1, 1.0, 2.5, 12.7, 1e3, 1e8};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        const double t = ts[i];
        /* df = 1 (Cauchy) and df = 2 have closed forms, written here without
         * cancellation: 1 - 2 atan(t) / pi and 1 - t / sqrt(2 + t^2) */
        const double r = sqrt(2.0 + t * t);
        const double p1 = t > 0.0 ? 2.0 * atan(1.0 / t) / pi : 1.0;
        assert_close(vitte__stats_t_p2(t, 1.0), p1, 1e-13);
        assert_close(vitte__stats_t_p2(-t, 2.0), 2.0 / (r * (r + t)), 1e-13);
    }
    /* upper tails, relative: 2 / (pi t) for df = 1 far out */
    assert_close(vitte__stats_t_p2(1e8, 1.0), 2.0 / (pi * 1e8), 1e-9);
    /* large df tends to the normal */
    assert_close(vitte__stats_t_p2(1.959963984540054, 1e7), 0.05, 1e-6);
    assert_close(2.0 * vitte__stats_norm_sf(1.959963984540054), 0.05, 1e-14);
    const double alphas[] = {0.5, 0.1, 0.05, 0.01, 1e-6};
    for (size_t i = 0; i < sizeof alphas / sizeof alphas[0]; i++) {
        /* quantile q = 1 - alpha/2: tan(pi (q - 1/2)) = 1 / tan(pi alpha / 2) for
         * df = 1, (2q - 1) / sqrt(2 q (1 - q)) for df = 2, with 1 - q exact */
        const double a = alphas[i], q = 1.0 - a / 2.0;
        assert_close(vitte__stats_t_crit2(a, 1.0), 1.0 / tan(pi * a / 2.0), 1e-13);
        assert_close(vitte__stats_t_crit2(a, 2.0), (1.0 - a) / sqrt(2.0 * q * (a / 2.0)), 1e-13);
    }
    assert_true(isnan(vitte__stats_t_crit2(0.0, 3.0)));
    assert_true(isnan(vitte__stats_t_p2(1.0, 0.0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_known), cmocka_unit_test(test_summary_large_offset),
        cmocka_unit_test(test_quantile),      cmocka_unit_test(test_moments_merge),
        cmocka_unit_test(test_mean_ci),       cmocka_unit_test(test_welch),
        cmocka_unit_test(test_mann_whitney),  cmocka_unit_test(test_summary_errors),
        cmocka_unit_test(test_distributions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
