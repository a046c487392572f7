/* Internal helpers of the statistics module: distributions and sorting. */
#ifndef VITTE_STATS_INTERNAL_H
#define VITTE_STATS_INTERNAL_H

#include <stddef.h>

#include <vitte/stats.h>

/* Regularized incomplete beta I_x(a, b) for a, b > 0; y = 1 - x given
 * separately so that callers can pass it without cancellation. */
double vitte__stats_ibeta(double a, double b, double x, double y);
/* Two-sided Student-t tail: P(|T| >= |t|) for df > 0 degrees of freedom. */
double vitte__stats_t_p2(double t, double df);
/* t > 0 with P(|T| >= t) = alpha, 0 < alpha < 1 (the (1 - alpha/2) quantile). */
double vitte__stats_t_crit2(double alpha, double df);
/* Upper tail of the standard normal: P(Z >= z). */
double vitte__stats_norm_sf(double z);
/* 1 if any x[i] is NaN. */
int vitte__stats_has_nan(const double *x, size_t n);
/* Ascending sort in place (no NaN). */
void vitte__stats_sort(double *x, size_t n);
/* Type-7 quantile of sorted s[0..n), n >= 1, 0 <= q <= 1. */
double vitte__stats_quantile_sorted(const double *s, size_t n, double q);
/* numpy's _lerp: a + t (b - a), exact at both ends, monotone in t. */
double vitte__stats_lerp(double a, double b, double t);

/* Above this many values, order statistics are found by selection
 * (stats_select.c) rather than by sorting a copy. */
#define VITTE__STATS_SORT_MAX 4096
/* Values of ranks k and k + 1 (0-based; vk1 may be NULL) of v_i = x_i
 * (absdev = 0) or v_i = |x_i - center| (absdev = 1), i < n, without modifying
 * x.  Every v_i must be finite and within [lo, hi].  Memory: a copy of the
 * values near rank k only (radix selection).  Returns VITTE_OK or
 * VITTE_ENOMEM. */
int vitte__stats_select(const double *x, size_t n, size_t k, double center, int absdev, double lo,
                        double hi, double *vk, double *vk1);
/* Type-7 quantile q of the same v_i, by selection. */
int vitte__stats_quantile_select(const double *x, size_t n, double q, double center, int absdev,
                                 double lo, double hi, double *out);
/* Mean of x[0..n), n >= 1: summed shifted by x[0], refined by the mean
 * residual. */
double vitte__stats_mean(const double *x, size_t n);

/* Bootstrap options as given (NULL: defaults), checked.  VITTE_EINVAL. */
int vitte__stats_bootstrap_opts(const vitte_stats_bootstrap_options *in,
                                vitte_stats_bootstrap_options *o);
/* Every field NaN. */
void vitte__stats_ci_nan(vitte_ci *out);
/* Percentile-bootstrap CI of mean(a) / mean(b) (minus_one = 0) or of
 * mean(a) / mean(b) - 1 computed as (mean(a) - mean(b)) / mean(b)
 * (minus_one = 1), with checked options and finite samples; VITTE_EINVAL if b
 * has a zero or both signs. */
int vitte__stats_ratio_boot(const double *a, size_t na, const double *b, size_t nb, int minus_one,
                            const vitte_stats_bootstrap_options *o, vitte_ci *out);
/* mean(a) - mean(b), both taken on data shifted by b[0]. */
double vitte__stats_mean_diff(const double *a, size_t na, const double *b, size_t nb);

#endif
