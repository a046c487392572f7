/* Internal helpers of the statistics module: distributions and sorting. */
#ifndef VITTE_STATS_INTERNAL_H
#define VITTE_STATS_INTERNAL_H

#include <stddef.h>

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

#endif
