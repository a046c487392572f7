/* vitte: statistics for benchmark samples.  Summaries (mean, sample variance,
 * median, MAD, moments), type-7 quantiles, streaming moments that merge, a
 * Student-t confidence interval for the mean, and two two-sample tests (Welch
 * t, Mann-Whitney U).  docs/stats.md gives the formulas and conventions; they
 * match numpy/scipy defaults except where stated there.
 *
 * Common rules:
 *   - input arrays are never modified; a NaN or infinity in them -> VITTE_ERANGE;
 *   - NULL pointers or samples too small for the function -> VITTE_EINVAL;
 *   - a figure that does not exist for the data (variance of one value,
 *     skewness of constant data, ...) is NaN, not an error;
 *   - on error the output structures are filled with NaN (n = 0).
 * Threads: every function is reentrant (no shared state).  Functions that take
 * a whole sample and need its order (median, MAD, quantiles, Mann-Whitney)
 * allocate a copy through vitte__malloc and may fail with VITTE_ENOMEM.
 * Signals: vitte_moments_init/add/merge are AS-safe; nothing else is.
 */
#ifndef VITTE_STATS_H
#define VITTE_STATS_H

#include <vitte/common.h>

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
 * Returns:   VITTE_OK; VITTE_EINVAL if x or out is NULL or n = 0; VITTE_ERANGE
 *            if x holds a NaN or infinity; VITTE_ENOMEM (median and MAD need a
 *            sorted copy).
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

VITTE_END_DECLS

#endif
