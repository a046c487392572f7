/* vitte: statistics for benchmark samples.  Summaries (mean, sample variance,
 * median, MAD, moments), type-7 quantiles, streaming moments that merge, a
 * Student-t confidence interval for the mean, two two-sample tests (Welch t,
 * Mann-Whitney U), seeded percentile-bootstrap and order-statistic confidence
 * intervals, outlier classification (Tukey fences, modified z-score), trends
 * (least-squares line, moving averages, counter rates), the comparison of two
 * samples with a verdict, and quantiles of metric histograms.  docs/stats.md
 * gives the formulas and conventions; they match numpy/scipy defaults except
 * where stated there.
 *
 * Common rules:
 *   - input arrays are never modified; a NaN or infinity in them -> VITTE_ERANGE;
 *   - NULL pointers or samples too small for the function -> VITTE_EINVAL;
 *   - a figure that does not exist for the data (variance of one value,
 *     skewness of constant data, ...) is NaN, not an error;
 *   - on error the output structures are filled with NaN (n = 0).
 * Threads: every function is reentrant (no shared state).  Functions that take
 * a whole sample and need its order (median, MAD, quantiles, Mann-Whitney,
 * outliers, bootstrap) allocate memory through vitte__malloc and may fail with
 * VITTE_ENOMEM: a sorted copy up to 4096 values; above that, order statistics
 * are found by selection in O(n) time, copying only the values near the rank
 * sought (a few per cent).
 * Signals: vitte_moments_init/add/merge are AS-safe; nothing else is.
 */
#ifndef VITTE_STATS_H
#define VITTE_STATS_H

#include <vitte/common.h>
#include <vitte/metrics.h>

VITTE_BEGIN_DECLS

/* ---- summary of one sample ----------------------------------------------- */

typedef struct vitte_summary {
    size_t n;
    double mean;
    double variance; /* sample variance, divisor n - 1 (NaN for n = 1) */
    double stddev;   /* sqrt(variance) */
    double min, max;
    double median;      /* type-7 quantile at 0.5 */
    double mad;         /* median absolute deviation x 1.4826 (normal-consistent) */
    double skewness;    /* g1 = m3 / m2^1.5, population moments (scipy bias=True) */
    double kurtosis;    /* excess: g2 = m4 / m2^2 - 3, population moments */
    double cv;          /* stddev / mean (NaN if mean = 0) */
    double stderr_mean; /* stddev / sqrt(n) */
} vitte_summary;

/** Summary figures of x[0..n).  Numerically stable: the mean is accumulated
 * on data shifted by x[0] and the central moments by a corrected two-pass sum,
 * so 1e9 + {1, 2, 3} has variance exactly 1.
 * Ownership: none transferred; x is read only.
 * Cost: O(n), four streaming passes over x for the moments and extremes and
 * about one each for the median and the MAD (selection, see above): 10^7
 * values in ~55-65 ms (bench/bench_stats.c).
 * Returns:   VITTE_OK; VITTE_EINVAL if x or out is NULL or n = 0; VITTE_ERANGE
 *            if x holds a NaN or infinity; VITTE_ENOMEM (median and MAD need
 *            memory, see above).
 */
VITTE_API int vitte_stats_summary(const double *x, size_t n, vitte_summary *out);

/** Quantile q of x[0..n) by linear interpolation between order statistics,
 * Hyndman-Fan type 7 (numpy.quantile's default): h = (n - 1) q,
 * Q = x(floor h) + (h - floor h) (x(floor h + 1) - x(floor h)).  x need not be
 * sorted and is not modified.
 * Returns:   the quantile; NaN if x is NULL, n = 0, q is outside [0, 1] or NaN,
 *            x holds a NaN or infinity, or memory runs out.
 */
VITTE_API double vitte_stats_quantile(const double *x, size_t n, double q);

/** Student-t confidence interval for the mean at the given level (e.g. 0.95):
 * mean -/+ t_{(1+level)/2, n-1} * s / sqrt(n), as scipy.stats.t.interval.
 * Returns:   VITTE_OK; VITTE_EINVAL if a pointer is NULL, n < 2 or level is not
 *            in (0, 1); VITTE_ERANGE if x holds a NaN or infinity.  *lo, *hi are
 *            NaN on error.
 */
VITTE_API int vitte_stats_mean_ci(const double *x, size_t n, double level, double *lo, double *hi);

/* ---- two-sample tests ----------------------------------------------------- */

typedef struct vitte_test_result {
    double statistic; /* Welch: t; Mann-Whitney: U of the first sample */
    double p_value;   /* two-sided */
    double df;        /* Welch: Welch-Satterthwaite degrees of freedom; MWU: NaN */
} vitte_test_result;

/** Welch's unequal-variance t test of mean(a) = mean(b), two-sided, as
 * scipy.stats.ttest_ind(a, b, equal_var=False).
 * Returns:   VITTE_OK; VITTE_EINVAL if a pointer is NULL, na < 2, nb < 2, or
 *            both samples are constant (zero variance: no t exists);
 *            VITTE_ERANGE if a sample holds a NaN or infinity.
 */
VITTE_API int vitte_stats_welch_t(const double *a, size_t na, const double *b, size_t nb,
                                  vitte_test_result *r);

/** Mann-Whitney U test, two-sided; statistic = U of a (pairs a > b, ties
 * counting one half).  Method as scipy.stats.mannwhitneyu(method='auto',
 * use_continuity=True): the exact null distribution of U when there are no
 * ties and min(na, nb) <= 8, else the normal approximation with tie
 * correction and continuity correction.  p is clipped to [0, 1].
 * Ownership: none transferred (a merged, sorted copy is allocated).
 * Returns:   VITTE_OK; VITTE_EINVAL if a pointer is NULL or na or nb is 0;
 *            VITTE_ERANGE if a sample holds a NaN or infinity; VITTE_ENOMEM.
 */
VITTE_API int vitte_stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
                                       vitte_test_result *r);

/* ---- streaming moments ---------------------------------------------------- */

/* Count, mean, sums of powers of deviations from the mean (m2 = sum (x-mean)^2,
 * m3, m4), min and max, updated one value at a time (Welford, Terriberry) and
 * merged pairwise (Pebay), so per-thread accumulators can be combined.  Caller
 * storage; no allocation. */
typedef struct vitte_moments {
    uint64_t n;
    double mean, m2, m3, m4, min, max;
} vitte_moments;

/** Empty accumulator.  Signals: AS-safe. */
VITTE_API void vitte_moments_init(vitte_moments *m);
/** Add one value.  A NaN or infinity poisons the accumulator (vitte_moments_summary then
 * returns VITTE_ERANGE).  m NULL: no-op.  Signals: AS-safe. */
VITTE_API void vitte_moments_add(vitte_moments *m, double x);
/** dst += src (src unchanged; dst == src allowed).  Signals: AS-safe.
 * Returns:   VITTE_OK, or VITTE_EINVAL if a pointer is NULL. */
VITTE_API int vitte_moments_merge(vitte_moments *dst, const vitte_moments *src);
/** Summary of what was added, same conventions as vitte_stats_summary; median
 * and mad are NaN (a stream keeps no order statistics).
 * Returns:   VITTE_OK; VITTE_EINVAL if a pointer is NULL or nothing was added;
 *            VITTE_ERANGE if a NaN or infinity was added. */
VITTE_API int vitte_moments_summary(const vitte_moments *m, vitte_summary *out);

/* ---- confidence intervals: bootstrap and order statistics ---------------- */

/* A confidence interval around an estimate. */
typedef struct vitte_ci {
    double estimate;    /* the statistic of the data as given */
    double lo, hi;      /* the interval */
    double level;       /* the level asked for */
    double coverage;    /* order-statistic CI: the exact coverage of [lo, hi] (>= level,
                           less only when the sample is too small, see below);
                           bootstrap: = level (nominal) */
    double stderr_boot; /* bootstrap: standard deviation of the bootstrap
                           distribution (ddof 1, scipy's standard_error); else NaN */
} vitte_ci;

/* Default seed of the bootstrap generator: results are reproducible unless a
 * seed is chosen. */
#define VITTE_STATS_DEFAULT_SEED      0x7669747465626f6fULL
#define VITTE_STATS_DEFAULT_RESAMPLES 10000u

typedef struct vitte_stats_bootstrap_options {
    uint32_t struct_size; /* set by vitte_stats_bootstrap_options_init() */
    uint32_t resamples;   /* B, default 10,000; >= 1 */
    double level;         /* default 0.95; 0 < level < 1 */
    uint64_t seed;        /* default VITTE_STATS_DEFAULT_SEED; any value */
} vitte_stats_bootstrap_options;

/** Defaults (above).  o NULL: no-op. */
VITTE_API void vitte_stats_bootstrap_options_init(vitte_stats_bootstrap_options *o);

/* Percentile bootstrap (Efron): B resamples of n values drawn with
 * replacement, the statistic of each, and [lo, hi] = the type-7 quantiles
 * (1 -/+ level)/2 of those B values: scipy.stats.bootstrap(method='percentile')
 * with the generator below.  The resamples are reproducible: draw number j
 * (j = 0, 1, ...; resample r uses draws r*n .. r*n + n - 1, and a two-sample
 * resample takes its na values of a, then its nb values of b) is
 *   z = splitmix64 output for state seed + (j + 1) * 0x9E3779B97F4A7C15,
 *   index = floor(z * n / 2^64)   (the high word of the 128-bit product),
 * so another program can replay them (tests/scripts/test_stats_scipy.sh does,
 * in numpy).  opt NULL: defaults.  No state is shared: reentrant.
 * Returns:   VITTE_OK; VITTE_EINVAL if a pointer is NULL, n = 0, or an
 *            option is out of range (or struct_size is wrong); VITTE_ERANGE if
 *            a sample holds a NaN or infinity; VITTE_ENOMEM.  *out is NaN on
 *            error. */

/** Bootstrap CI for the mean.  Per resample O(n); memory B doubles. */
VITTE_API int vitte_stats_bootstrap_mean_ci(const double *x, size_t n,
                                            const vitte_stats_bootstrap_options *opt,
                                            vitte_ci *out);
/** Bootstrap CI for the median (type 7).  Per resample O(n) (a count per
 * distinct rank, no sorting); memory B doubles + n (sorted copy, ranks). */
VITTE_API int vitte_stats_bootstrap_median_ci(const double *x, size_t n,
                                              const vitte_stats_bootstrap_options *opt,
                                              vitte_ci *out);
/** Bootstrap CI for the ratio of means mean(a) / mean(b), a and b resampled
 * independently (unpaired).  b's values must all be > 0 or all be < 0 (so no
 * resample divides by 0): VITTE_EINVAL otherwise. */
VITTE_API int vitte_stats_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
                                             const vitte_stats_bootstrap_options *opt,
                                             vitte_ci *out);

/** Distribution-free confidence interval for the median from order
 * statistics: [x(l), x(n+1-l)] (1-based ranks of the sorted sample) with l the
 * largest rank such that P(B < l) <= (1 - level)/2, B ~ Binomial(n, 1/2); its
 * coverage 1 - 2 P(B < l) >= level is returned in out->coverage.  When even
 * [min, max] covers less than level (n < 6 at 95 %), that is returned, with
 * its coverage 1 - 2^(1-n) < level.  estimate = the type-7 median.
 * Returns:   VITTE_OK; VITTE_EINVAL if a pointer is NULL, n = 0 or level is
 *            not in (0, 1); VITTE_ERANGE (non-finite value); VITTE_ENOMEM. */
VITTE_API int vitte_stats_median_ci(const double *x, size_t n, double level, vitte_ci *out);

/* ---- outliers: classified and reported, never removed --------------------- */

/* Class of a value (one byte per value in the optional classes[] arrays). */
typedef enum vitte_outlier_class {
    VITTE_OUTLIER_NONE = 0,
    VITTE_OUTLIER_LOW_SEVERE = 1,  /* Tukey: x < Q1 - 3 IQR */
    VITTE_OUTLIER_LOW_MILD = 2,    /* Tukey: Q1 - 3 IQR <= x < Q1 - 1.5 IQR */
    VITTE_OUTLIER_HIGH_MILD = 3,   /* Tukey: Q3 + 1.5 IQR < x <= Q3 + 3 IQR */
    VITTE_OUTLIER_HIGH_SEVERE = 4, /* Tukey: x > Q3 + 3 IQR */
    VITTE_OUTLIER_LOW = 5,         /* modified z-score: z < -threshold */
    VITTE_OUTLIER_HIGH = 6         /* modified z-score: z > threshold */
} vitte_outlier_class;

typedef struct vitte_tukey_result {
    size_t n;     /* values examined */
    size_t count; /* outliers (mild and severe) = entries written to indices[] */
    size_t low_severe, low_mild, high_mild, high_severe;
    double q1, q3, iqr;       /* type-7 quartiles, iqr = q3 - q1 */
    double low_severe_fence;  /* q1 - 3 iqr */
    double low_mild_fence;    /* q1 - 1.5 iqr */
    double high_mild_fence;   /* q3 + 1.5 iqr */
    double high_severe_fence; /* q3 + 3 iqr */
} vitte_tukey_result;

/** Tukey's fences (as criterion.rs): mild beyond 1.5 IQR, severe beyond 3 IQR,
 * strictly.  classes (n bytes, vitte_outlier_class values) and indices
 * (room for n; receives the outliers' indices in increasing order, out->count
 * of them) are optional (NULL).  x is not modified.
 * Returns:   VITTE_OK; VITTE_EINVAL (x or out NULL, n = 0); VITTE_ERANGE;
 *            VITTE_ENOMEM. */
VITTE_API int vitte_stats_outliers_tukey(const double *x, size_t n, vitte_tukey_result *out,
                                         uint8_t *classes, size_t *indices);

/* Iglewicz and Hoaglin's threshold for the modified z-score.  (hyperfine
 * warns at 10.) */
#define VITTE_STATS_MZ_THRESHOLD 3.5

typedef struct vitte_mzscore_result {
    size_t n, count; /* count = low + high = entries written to indices[] */
    size_t low, high;
    double median;    /* type 7 */
    double mad_raw;   /* median |x - median|, unscaled */
    double threshold; /* as given */
} vitte_mzscore_result;

/** Modified z-score z = 0.6745 (x - median) / mad_raw, flagged when
 * |z| > threshold (VITTE_STATS_MZ_THRESHOLD usually).  mad_raw = 0 (more
 * than half the values equal): every value other than the median has an
 * infinite score and is flagged.  classes and indices as for Tukey; scores
 * (n doubles) optional too, receives z (0 for x = median when mad_raw = 0).
 * Returns:   VITTE_OK; VITTE_EINVAL (x or out NULL, n = 0, threshold not > 0);
 *            VITTE_ERANGE; VITTE_ENOMEM. */
VITTE_API int vitte_stats_outliers_mzscore(const double *x, size_t n, double threshold,
                                           vitte_mzscore_result *out, uint8_t *classes,
                                           size_t *indices, double *scores);

/* ---- trends ---------------------------------------------------------------- */

typedef struct vitte_linreg {
    size_t n;
    double slope, intercept;
    double r;                /* Pearson r (0 when y is constant, as scipy) */
    double r2;               /* r * r */
    double slope_stderr;     /* sqrt(SSE / (n - 2) / Sxx); 0 for n = 2 */
    double intercept_stderr; /* slope_stderr * sqrt(sum x^2 / n); 0 for n = 2 */
    double p_value;          /* two-sided, H0: slope = 0, Student t with n - 2 df */
} vitte_linreg;

/** Ordinary least-squares line y = intercept + slope x, as
 * scipy.stats.linregress (slope, intercept, rvalue, pvalue, stderr,
 * intercept_stderr).  x NULL: x_i = i (a series' index).  The sums are taken
 * about the means (corrected two-pass) and SSE from the residuals, so
 * near-perfect fits keep their standard errors.
 * Returns:   VITTE_OK; VITTE_EINVAL if y or out is NULL, n < 2 or all x are
 *            equal; VITTE_ERANGE (non-finite value). */
VITTE_API int vitte_stats_linreg(const double *x, const double *y, size_t n, vitte_linreg *out);

/** Simple moving average over window values: out[i] = mean(x[i-window+1 .. i])
 * for i >= window - 1 and NaN before (pandas rolling(window).mean()).  A
 * compensated running sum of the data shifted by x[0]: O(n), accurate to a
 * few ulps of the spread.  out has n doubles and must not overlap x.
 * Returns:   VITTE_OK; VITTE_EINVAL (NULL, n = 0, window = 0 or > n, out == x);
 *            VITTE_ERANGE (non-finite value). */
VITTE_API int vitte_stats_sma(const double *x, size_t n, size_t window, double *out);

/** Exponentially weighted moving average: out[0] = x[0], out[i] = out[i-1] +
 * alpha (x[i] - out[i-1]) (pandas ewm(alpha, adjust=False).mean()).  out may
 * be x (in place).
 * Returns:   VITTE_OK; VITTE_EINVAL (NULL, n = 0, alpha not in (0, 1]);
 *            VITTE_ERANGE (non-finite value). */
VITTE_API int vitte_stats_ewma(const double *x, size_t n, double alpha, double *out);

/** Increase and per-second rate of a monotonic counter sampled at times t
 * (seconds, non-decreasing, t[n-1] > t[0]) with values v: a value below the
 * previous one means the counter was reset, and counts from 0 (Prometheus'
 * rate() and increase(), without their extrapolation to the window edges):
 * increase = sum over i of (v[i] >= v[i-1] ? v[i] - v[i-1] : v[i]),
 * rate = increase / (t[n-1] - t[0]).  increase may be NULL.
 * Returns:   VITTE_OK; VITTE_EINVAL (NULL t, v or rate, n < 2, t decreasing
 *            or t[n-1] = t[0]); VITTE_ERANGE (non-finite value). */
VITTE_API int vitte_stats_counter_rate(const double *t, const double *v, size_t n, double *increase,
                                       double *rate);

/* ---- comparing two samples (timings: lower is better) ------------------------ */

typedef enum vitte_verdict {
    VITTE_VERDICT_NO_CHANGE = 0,
    VITTE_VERDICT_FASTER = 1, /* the candidate's mean is lower */
    VITTE_VERDICT_SLOWER = 2  /* the candidate's mean is higher */
} vitte_verdict;

typedef enum vitte_stats_test {
    VITTE_STATS_TEST_WELCH = 0,       /* Welch's t (default) */
    VITTE_STATS_TEST_MANN_WHITNEY = 1 /* Mann-Whitney U */
} vitte_stats_test;

typedef struct vitte_stats_compare_options {
    uint32_t struct_size;                    /* set by vitte_stats_compare_options_init() */
    uint32_t test;                           /* vitte_stats_test; default Welch */
    double alpha;                            /* significance level, default 0.05 */
    double noise;                            /* relative-difference threshold, default 0.01 (1 %) */
    int strict;                              /* 0 (default): |rel_diff| > noise; 1: the whole CI of
                                                rel_diff beyond -noise or +noise (criterion.rs) */
    vitte_stats_bootstrap_options bootstrap; /* CI of rel_diff (level, B, seed) */
} vitte_stats_compare_options;

/** Defaults (above).  o NULL: no-op. */
VITTE_API void vitte_stats_compare_options_init(vitte_stats_compare_options *o);

typedef struct vitte_comparison {
    size_t n_base, n_cand;
    double mean_base, mean_cand;
    double rel_diff;        /* mean_cand / mean_base - 1 (-0.1: 10 % faster) */
    double rel_diff_lo;     /* percentile-bootstrap CI of rel_diff (ratio of */
    double rel_diff_hi;     /* means, minus 1); NaN if base has mixed signs  */
    double cohen_d;         /* (mean_cand - mean_base) / pooled sd */
    double cliff_delta;     /* P(cand > base) - P(cand < base), in [-1, 1] */
    double cles;            /* common-language effect P(cand > base) + P(=)/2 */
    vitte_test_result test; /* the test used (p_value drives the verdict) */
    uint32_t test_used;     /* vitte_stats_test */
    vitte_verdict verdict;
} vitte_comparison;

/** Compares a candidate with a baseline, for timings (lower is better).
 * verdict = FASTER or SLOWER only when p < alpha and the relative difference
 * of the means is beyond the noise threshold (strict = 0: |rel_diff| > noise;
 * strict = 1: the whole bootstrap CI of rel_diff is beyond it, on one side);
 * else NO_CHANGE.  If both samples are constant the t test does not exist:
 * p = 0 when their means differ, 1 when equal (and so with Mann-Whitney's
 * tie rule).  opt NULL: defaults.
 * rel_diff and its interval are computed as (mean difference) / mean_base, the
 * difference taken on both samples less base[0] (digits kept when both means
 * are large); the bootstrap resamples the candidate, then the baseline (the
 * two-sample draw order above, a = cand, b = base).
 * Returns:   VITTE_OK; VITTE_EINVAL (NULL, a sample of fewer than 2 values,
 *            an option out of range, mean_base = 0); VITTE_ERANGE;
 *            VITTE_ENOMEM. */
VITTE_API int vitte_stats_compare(const double *base, size_t n_base, const double *cand,
                                  size_t n_cand, const vitte_stats_compare_options *opt,
                                  vitte_comparison *out);

/** Name of a verdict: "faster", "slower", "no change" (static; "unknown"). */
VITTE_API const char *vitte_verdict_name(vitte_verdict v);

/* ---- metric histograms ------------------------------------------------------ */

/** Quantile q in [0, 1] of a histogram snapshot, interpolating linearly
 * within the bucket (Prometheus' histogram_quantile(): the bucket's values
 * taken as spread evenly over it): rank r = q * count, in the bucket where the
 * cumulative count reaches r, lower + (upper - lower) * (r - below) / count_b;
 * each bucket's range is first clipped to the snapshot's exact [min, max], so
 * q = 0 gives the minimum, q = 1 the maximum, and the zero and overflow
 * buckets interpolate up to min(L, max) and from their lower edge to max.
 * vitte_histogram_snapshot_quantile() instead returns the midpoint of the
 * bucket at the nearest rank.
 * Returns:   the quantile; NaN if s is NULL or empty or q is not in [0, 1]. */
VITTE_API double vitte_stats_histogram_quantile(const vitte_histogram_snapshot *s, double q);

VITTE_END_DECLS

#endif
