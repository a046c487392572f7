/* bench_stats: cost of the statistics of <vitte/stats.h>, each beside a naive
 * C baseline in the same run.
 *
 *   bootstrap_mean     vitte_stats_bootstrap_mean_ci, 10,000 resamples of 100 values
 *                      vs naive: xorshift64* % n indices, a sum per resample,
 *                         qsort of the 10,000 means, two percentiles
 *                      target: <= 30 ms
 *   bootstrap_median   vitte_stats_bootstrap_median_ci, same sizes
 *                      vs naive: copy + qsort per resample, then as above
 *                      target: <= 30 ms
 *   summary            vitte_stats_summary of 10,000,000 values (mean, variance,
 *                      skewness, kurtosis, min, max, median, MAD)
 *                      vs naive: copy + qsort for the median, two-pass mean and
 *                         variance (less work: no MAD, skewness or kurtosis)
 *                      target: <= 100 ms
 *
 * The values are log-normal (median 1 ms, sigma 0.5, as run times), generated
 * once outside the timed code.  Each figure is the median of --reps
 * repetitions in milliseconds per call; vitte and the baseline alternate.  The
 * results are cross-checked (same median and variance; bootstrap intervals
 * within 0.3 bootstrap standard errors of the baseline's, whose generator
 * differs).  --scale F multiplies the summary's 10,000,000 values (the target
 * then does not apply); the bootstrap sizes are fixed.
 *
 * Run: build/release/bench/bench_stats [--reps N] [--scale F] [FILTER]
 * FILTER: bootstrap_mean, bootstrap_median, summary.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/vitte.h>

#include "bench_util.h"

#ifndef BENCH_LINKAGE
#define BENCH_LINKAGE "static"
#endif

#define BOOT_N    100
#define BOOT_B    10000
#define SUMMARY_N 10000000ULL

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rng_u64(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static double rng_uniform(void) /* (0, 1) */
{
    return ((double)(rng_u64() >> 11) + 0.5) * 0x1.0p-53;
}

static void lognormal(double *x, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        const double r = sqrt(-2.0 * log(rng_uniform()));
        const double a = 6.283185307179586 * rng_uniform();
        x[i] = 1e-3 * exp(0.5 * r * cos(a));
        if (i + 1 < n)
            x[i + 1] = 1e-3 * exp(0.5 * r * sin(a));
    }
}

static int cmp_double(const void *pa, const void *pb)
{
    const double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double q7(const double *s, size_t n, double q)
{
    const double h = (double)(n - 1) * q;
    const size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return s[n - 1];
    const double f = h - floor(h), d = s[lo + 1] - s[lo];
    return f >= 0.5 ? s[lo + 1] - d * (1.0 - f) : s[lo] + d * f; /* numpy's lerp */
}

/* ---- naive baselines -------------------------------------------------------- */

typedef struct naive_ci {
    double lo, hi, se;
} naive_ci;

static naive_ci naive_finish(double *t, size_t b)
{
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < b; i++)
        s += t[i];
    const double m = s / (double)b;
    for (size_t i = 0; i < b; i++)
        ss += (t[i] - m) * (t[i] - m);
    qsort(t, b, sizeof *t, cmp_double);
    return (naive_ci){q7(t, b, 0.025), q7(t, b, 0.975), sqrt(ss / (double)(b - 1))};
}

static naive_ci naive_boot_mean(const double *x, size_t n, double *t)
{
    for (size_t r = 0; r < BOOT_B; r++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += x[rng_u64() % n];
        t[r] = s / (double)n;
    }
    return naive_finish(t, BOOT_B);
}

static naive_ci naive_boot_median(const double *x, size_t n, double *t, double *scratch)
{
    for (size_t r = 0; r < BOOT_B; r++) {
        for (size_t i = 0; i < n; i++)
            scratch[i] = x[rng_u64() % n];
        qsort(scratch, n, sizeof *scratch, cmp_double);
        t[r] = q7(scratch, n, 0.5);
    }
    return naive_finish(t, BOOT_B);
}

typedef struct naive_summary {
    double mean, variance, median;
} naive_summary;

static int naive_summary_of(const double *x, size_t n, double *copy, naive_summary *out)
{
    memcpy(copy, x, n * sizeof *x);
    qsort(copy, n, sizeof *copy, cmp_double);
    out->median = q7(copy, n, 0.5);
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    out->mean = s / (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - out->mean) * (x[i] - out->mean);
    out->variance = ss / (double)(n - 1);
    return 0;
}

/* ---- main ---------------------------------------------------------------------- */

static double ms_since(uint64_t t0)
{
    return (double)(bench_ns() - t0) / 1e6;
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_args(argc, argv, &o);
    vitte_clock_info info;
    memset(&info, 0, sizeof info);
    char clock_line[256];
    if (vitte_clock_get_info(&info, 1) == VITTE_OK)
        snprintf(clock_line, sizeof clock_line, "source %s (not used: timing by bench_ns)",
                 vitte_clock_source_name(info.source));
    else
        snprintf(clock_line, sizeof clock_line, "unavailable");
    bench_print_machine(&o, "bench_stats", BENCH_LINKAGE, clock_line);

    const int reps = o.reps > 0 ? o.reps : 1;
    double *tv = calloc((size_t)reps, sizeof *tv), *tb = calloc((size_t)reps, sizeof *tb);
    double boot_x[BOOT_N], scratch[BOOT_N];
    double *t = calloc(BOOT_B, sizeof *t);
    if (tv == NULL || tb == NULL || t == NULL)
        return 1;
    lognormal(boot_x, BOOT_N);
    vitte_stats_bootstrap_options bo;
    vitte_stats_bootstrap_options_init(&bo); /* 10,000 resamples, 95 % */
    printf("\n");

    for (int median = 0; median <= 1; median++) {
        const char *name = median ? "bootstrap_median/100x10000" : "bootstrap_mean/100x10000";
        if (!bench_selected(&o, name))
            continue;
        vitte_ci ci = {0};
        naive_ci nc = {0};
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = bench_ns();
            const int rc = median ? vitte_stats_bootstrap_median_ci(boot_x, BOOT_N, &bo, &ci)
                                  : vitte_stats_bootstrap_mean_ci(boot_x, BOOT_N, &bo, &ci);
            tv[r] = ms_since(t0);
            if (rc != VITTE_OK) {
                printf("%s: %s\n", name, vitte_strerror(rc));
                return 1;
            }
            t0 = bench_ns();
            nc = median ? naive_boot_median(boot_x, BOOT_N, t, scratch)
                        : naive_boot_mean(boot_x, BOOT_N, t);
            tb[r] = ms_since(t0);
        }
        bench_line(name, bench_summarize(tv, (size_t)reps), "ms",
                   median ? "naive_qsort_each" : "naive_modulo_sum",
                   bench_summarize(tb, (size_t)reps), "<= 30 ms", 30.0);
        const double tol = 0.3 * nc.se;
        bench_check("interval ends within 0.3 SE of the baseline's",
                    fabs(ci.lo - nc.lo) <= tol && fabs(ci.hi - nc.hi) <= tol);
    }

    if (bench_selected(&o, "summary")) {
        const size_t n = (size_t)bench_ops(&o, SUMMARY_N);
        double *x = malloc(n * sizeof *x), *copy = malloc(n * sizeof *copy);
        if (x == NULL || copy == NULL)
            return 1;
        lognormal(x, n);
        vitte_summary s;
        naive_summary ns;
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = bench_ns();
            const int rc = vitte_stats_summary(x, n, &s);
            tv[r] = ms_since(t0);
            if (rc != VITTE_OK) {
                printf("summary: %s\n", vitte_strerror(rc));
                return 1;
            }
            t0 = bench_ns();
            naive_summary_of(x, n, copy, &ns);
            tb[r] = ms_since(t0);
        }
        char name[64];
        snprintf(name, sizeof name, "summary/%zu", n);
        bench_line(name, bench_summarize(tv, (size_t)reps), "ms", "naive_qsort_twopass",
                   bench_summarize(tb, (size_t)reps), n == SUMMARY_N ? "<= 100 ms" : "-",
                   n == SUMMARY_N ? 100.0 : 0.0);
        bench_check("same median", s.median == ns.median);
        bench_check("same variance (1e-9)", fabs(s.variance - ns.variance) <= 1e-9 * ns.variance);
        free(x);
        free(copy);
    }
    printf("\n");
    free(tv);
    free(tb);
    free(t);
    return bench_finish();
}
