/* bench_util.h: the small harness shared by the vitte benchmarks.
 *
 * Every benchmark follows the same method (docs/benchmarks.md):
 *   - the vitte call and its baseline(s) or peer run in the same process, in
 *     the same repetition, one after the other (interleaved), so machine noise
 *     hits them alike;
 *   - each figure is the median of --reps repetitions (7 by default);
 *   - nothing is pinned; timing never makes the program fail (only a wrong
 *     count, printed MISMATCH, gives exit status 1);
 *   - a line reads: name, value, baseline name, baseline value, ratio
 *     (vitte / baseline, below 1 means vitte is faster) and the target.
 */
#ifndef VITTE_BENCH_UTIL_H
#define VITTE_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct bench_opts {
    int reps;             /* repetitions, median reported (--reps, default 7) */
    double scale;         /* multiplies every operation count (--scale, default 1) */
    const char *filter;   /* run only benchmarks whose name contains this */
    const char *progname; /* argv[0] */
} bench_opts;

/* Parse --reps N, --scale F, --quick (scale 0.1), --help and one optional
 * filter word.  Exits with status 2 on a usage error (a benchmark program,
 * not the library, so printing and exiting is fine here). */
void bench_parse_args(int argc, char **argv, bench_opts *o);

/* Non-zero when the benchmark called name should run. */
int bench_selected(const bench_opts *o, const char *name);

/* ops scaled by o->scale, at least 1000. */
uint64_t bench_ops(const bench_opts *o, uint64_t ops);

/* CLOCK_MONOTONIC in nanoseconds: the harness' own clock, independent of the
 * library under test. */
uint64_t bench_ns(void);

/* Median of v[0..n) (v is reordered).  NaN when n == 0. */
double bench_median(double *v, size_t n);
double bench_min(const double *v, size_t n);
double bench_max(const double *v, size_t n);

/* Print the machine and build description, each line starting with "# ".
 * linkage is "static" or "shared"; clock_line describes vitte's clock
 * (the caller fills it from vitte_clock_get_info()). */
void bench_print_machine(const bench_opts *o, const char *bench_name, const char *linkage,
                         const char *clock_line);

/* Results of one measured quantity: the median and the spread of the reps. */
typedef struct bench_result {
    double median;
    double min;
    double max;
} bench_result;

bench_result bench_summarize(double *v, size_t n);

/* One result line:
 *   name  value unit  baseline value  ratio x.xx  target text: met|NOT MET
 * base_name NULL: no baseline column.  target NULL: "target -".
 * target_max <= 0: no target check (target text printed as is). */
void bench_line(const char *name, bench_result v, const char *unit, const char *base_name,
                bench_result base, const char *target, double target_max);

/* The same, with the target on the ratio (met when ratio <= target_ratio). */
void bench_line_ratio(const char *name, bench_result v, const char *unit, const char *base_name,
                      bench_result base, const char *target, double target_ratio);

/* A further comparison for the line just printed:
 *   "    vs name  value unit  ratio x.xx" (ratio = vitte / this). */
void bench_vs(const char *name, bench_result vitte, bench_result other, const char *unit);

/* A line of information (no comparison). */
void bench_info(const char *name, bench_result v, const char *unit, const char *note);

/* Count results: correctness checks and targets. */
void bench_check(const char *what, int ok);
/* Print the summary; returns the exit status (1 on any MISMATCH). */
int bench_finish(void);

/* Where optimizers must not see through: results are stored here. */
extern volatile uint64_t bench_sink;

#endif
