/* vitte: metrics.  Counters, gauges, histograms, timers, throughput meters and
 * value series, standalone or in a registry of labelled families, exported as
 * JSON, CSV and Prometheus text.
 *
 * Hot-path calls (vitte_counter_add, vitte_gauge_set, vitte_histogram_record)
 * take a handle only: no lock, no string work, no system call.  The first call
 * on a new thread for a given counter or histogram allocates that thread's
 * slot (once); later calls never allocate.  A NULL handle is accepted and does
 * nothing, so a failed registration never crashes the program.
 *
 * Counters and histograms are sharded per thread (each thread writes its own
 * slot with plain loads and stores); readers sum the shards.  Sums are exact:
 * no increment is lost however many threads write, and when a thread exits its
 * shard is folded into the metric first, so totals never go backwards.
 */
#ifndef VITTE_METRICS_H
#define VITTE_METRICS_H

#include <stdio.h>
#include <vitte/common.h>
#include <vitte/clock.h>

VITTE_BEGIN_DECLS

typedef struct vitte_metrics vitte_metrics;
typedef struct vitte_counter vitte_counter;
typedef struct vitte_gauge vitte_gauge;
typedef struct vitte_histogram vitte_histogram;
typedef struct vitte_histogram_snapshot vitte_histogram_snapshot;
typedef struct vitte_meter vitte_meter;
typedef struct vitte_series vitte_series;

/* ---- counters: monotonic uint64 ------------------------------------------ */

VITTE_API int vitte_counter_create(vitte_counter **out);
/** Destroy a standalone counter (never one owned by a registry).  NULL: no-op. */
VITTE_API void vitte_counter_destroy(vitte_counter *c);
/** Add n.  Threads: any.  Signals: AS-safe once the thread has used this counter. */
VITTE_API void vitte_counter_add(vitte_counter *c, uint64_t n);
VITTE_API void vitte_counter_inc(vitte_counter *c);
/** Current total over all threads (live and exited).  Never torn; never decreases. */
VITTE_API uint64_t vitte_counter_value(const vitte_counter *c);

/* ---- gauges: a double that goes up and down ------------------------------ */

VITTE_API int vitte_gauge_create(vitte_gauge **out);
VITTE_API void vitte_gauge_destroy(vitte_gauge *g);
/** Set the value (one atomic store).  Threads: any.  Signals: AS-safe. */
VITTE_API void vitte_gauge_set(vitte_gauge *g, double v);
/** Add d (may be negative; an atomic compare-and-swap loop).  Threads: any. */
VITTE_API void vitte_gauge_add(vitte_gauge *g, double d);
VITTE_API double vitte_gauge_value(const vitte_gauge *g);

/* ---- histograms: log-linear buckets over doubles ------------------------- */

/* Values fall into log-linear buckets: each power of two is split into 2^k
 * equal sub-buckets, with k the smallest giving a relative error of at most
 * max_relative_error for every quantile (k = 6, i.e. 64 sub-buckets and at
 * most 0.78 % error, for the 1 % default).  Buckets are (lower, upper], like
 * Prometheus' inclusive `le`.  lowest is rounded down and highest up to
 * powers of two, L and H:
 *   0 <= v <= L : counted in the zero bucket [0, L]; a quantile that lands
 *                 there returns the exact minimum (absolute error <= L).
 *   v > H       : counted in the overflow bucket; a quantile that lands there
 *                 returns the exact maximum.  +Inf lands there too (sum +Inf).
 *   v < 0, NaN  : rejected (VITTE_ERANGE), counted by
 *                 vitte_histogram_rejected(), not in count or sum.
 * count, sum, min and max are exact.  Memory: a header of ~300 bytes plus
 * 8 * 2^k bytes (512 B at the default) for every power of two that holds a
 * value, per thread that records into the histogram; at most
 * 8 * 2^k * log2(H/L) bytes per thread (40 KiB for the defaults, whose range
 * 1e-9..1e15 spans 80 powers of two), plus the same again once for merged and
 * exited-thread data and once more after a reset.  vitte_histogram_memory()
 * tells. */
typedef struct vitte_histogram_config {
    uint32_t struct_size;      /* set by vitte_histogram_config_init() */
    double lowest;             /* default 1e-9; > 0 */
    double highest;            /* default 1e15; > lowest */
    double max_relative_error; /* default 0.01; 1e-4 .. 0.5 */
    /* Export only (Prometheus cumulative buckets): strictly increasing finite
     * upper bounds, copied at creation.  NULL: 1, 2.5, 5 x 10^k covering
     * 1e-6..100 when unit is "seconds", else 1e-3..1e6.  +Inf is implied. */
    const double *bounds;
    size_t n_bounds;
    /* Export only: exported value = recorded value * export_scale (default 1;
     * timers record nanoseconds and export seconds with 1e-9). */
    double export_scale;
    const char *unit; /* unit of exported values ("seconds", "bytes"; default "") */
} vitte_histogram_config;

VITTE_API void vitte_histogram_config_init(vitte_histogram_config *cfg);
/** cfg NULL: defaults.  Returns VITTE_EINVAL for an invalid configuration. */
VITTE_API int vitte_histogram_create(const vitte_histogram_config *cfg, vitte_histogram **out);
VITTE_API void vitte_histogram_destroy(vitte_histogram *h);
/** Record one value.  Threads: any (sharded per thread, exact).
 * Returns VITTE_OK, or VITTE_ERANGE for a negative or NaN value (counted as rejected). */
VITTE_API int vitte_histogram_record(vitte_histogram *h, double value);
/** Record the same value n times. */
VITTE_API int vitte_histogram_record_n(vitte_histogram *h, double value, uint64_t n);

/* Readers (any thread, while writers run).  Each call merges the shards; to
 * read several figures consistently, take a snapshot. */
VITTE_API uint64_t vitte_histogram_count(const vitte_histogram *h);
VITTE_API double vitte_histogram_sum(const vitte_histogram *h);
VITTE_API double vitte_histogram_min(const vitte_histogram *h);  /* NaN when empty */
VITTE_API double vitte_histogram_max(const vitte_histogram *h);  /* NaN when empty */
VITTE_API double vitte_histogram_mean(const vitte_histogram *h); /* NaN when empty */
/** Value at quantile q in [0, 1] (NaN when empty or q out of range).  The
 * result is within max_relative_error of a value whose rank is q*(count-1)
 * rounded to the nearest rank (q = 0 gives min, q = 1 gives max exactly). */
VITTE_API double vitte_histogram_quantile(const vitte_histogram *h, double q);
VITTE_API uint64_t vitte_histogram_rejected(const vitte_histogram *h);
/** Bytes currently allocated for this histogram (all shards). */
VITTE_API size_t vitte_histogram_memory(const vitte_histogram *h);
/** Add src's data into dst.  Both must have the same lowest, highest and
 * precision (VITTE_EINVAL otherwise).  src is unchanged. */
VITTE_API int vitte_histogram_merge(vitte_histogram *dst, const vitte_histogram *src);
/** Forget everything recorded so far (for interval reporting).  Writers may
 * run concurrently: a record racing with the reset lands on either side. */
VITTE_API void vitte_histogram_reset(vitte_histogram *h);
VITTE_API const char *vitte_histogram_unit(const vitte_histogram *h);
VITTE_API double vitte_histogram_export_scale(const vitte_histogram *h);
/** Export bounds (see config); *n receives their number (+Inf not included). */
VITTE_API const double *vitte_histogram_bounds(const vitte_histogram *h, size_t *n);

/** A consistent merged copy of a histogram at one moment. */
VITTE_API int vitte_histogram_snapshot_create(const vitte_histogram *h,
                                              vitte_histogram_snapshot **out);
VITTE_API void vitte_histogram_snapshot_destroy(vitte_histogram_snapshot *s);
VITTE_API uint64_t vitte_histogram_snapshot_count(const vitte_histogram_snapshot *s);
VITTE_API double vitte_histogram_snapshot_sum(const vitte_histogram_snapshot *s);
VITTE_API double vitte_histogram_snapshot_min(const vitte_histogram_snapshot *s);
VITTE_API double vitte_histogram_snapshot_max(const vitte_histogram_snapshot *s);
VITTE_API double vitte_histogram_snapshot_mean(const vitte_histogram_snapshot *s);
VITTE_API double vitte_histogram_snapshot_quantile(const vitte_histogram_snapshot *s, double q);
/** Number of recorded values <= bound.  Exact when bound is a bucket edge
 * (powers of two and the 2^k points between them, e.g. 1, 1.25, 2.5, 5, 10 at
 * the default precision); otherwise a bucket straddling the bound counts as
 * below it when its midpoint is <= bound (values within max_relative_error of
 * the bound may land on either side). */
VITTE_API uint64_t vitte_histogram_snapshot_count_le(const vitte_histogram_snapshot *s,
                                                     double bound);

/** Non-empty buckets in increasing order. */
typedef struct vitte_histogram_bucket {
    double lower; /* exclusive (0 for the zero bucket, which includes it) */
    double upper; /* inclusive (+Inf for the overflow bucket) */
    uint64_t count;
} vitte_histogram_bucket;
typedef struct vitte_histogram_iter {
    const vitte_histogram_snapshot *snap;
    size_t pos;
} vitte_histogram_iter;
VITTE_API void vitte_histogram_iter_init(vitte_histogram_iter *it,
                                         const vitte_histogram_snapshot *s);
/** Returns 1 and fills *b, or 0 at the end. */
VITTE_API int vitte_histogram_iter_next(vitte_histogram_iter *it, vitte_histogram_bucket *b);

/** Fill out[0..count) with start, start+width, ... (Prometheus client rule). */
VITTE_API int vitte_buckets_linear(double start, double width, size_t count, double *out);
/** Fill out[0..count) with start, start*factor, ... (start > 0, factor > 1). */
VITTE_API int vitte_buckets_exponential(double start, double factor, size_t count, double *out);

/* ---- throughput meters (an FPS counter) ----------------------------------- */

typedef struct vitte_meter_config {
    uint32_t struct_size; /* set by vitte_meter_config_init() */
    uint64_t window_ns;   /* sliding window for vitte_meter_rate (default 1 s) */
    uint64_t tick_ns;     /* resolution of the window, divides it (default 100 ms) */
    uint64_t ewma_tau_ns; /* time constant of the EWMA rate (default 1 s) */
} vitte_meter_config;

VITTE_API void vitte_meter_config_init(vitte_meter_config *cfg);
VITTE_API int vitte_meter_create(const vitte_meter_config *cfg, vitte_meter **out);
VITTE_API void vitte_meter_destroy(vitte_meter *m);
/** Count n events now.  Threads: any.  Costs one atomic add and one clock read. */
VITTE_API void vitte_meter_mark(vitte_meter *m, uint64_t n);
VITTE_API uint64_t vitte_meter_count(const vitte_meter *m);
/** Events per second over the last window_ns (over the time since creation
 * while that is shorter than the window). */
VITTE_API double vitte_meter_rate(vitte_meter *m);
/** Exponentially weighted moving average of the rate, events per second. */
VITTE_API double vitte_meter_ewma(vitte_meter *m);
/** Events per second since creation. */
VITTE_API double vitte_meter_mean_rate(vitte_meter *m);
/* The same with an explicit time (vitte_now_ns() base), for replay and tests.
 * Times must not go backwards (earlier times are treated as the latest one). */
VITTE_API void vitte_meter_mark_at(vitte_meter *m, uint64_t n, uint64_t now_ns);
VITTE_API double vitte_meter_rate_at(vitte_meter *m, uint64_t now_ns);
VITTE_API double vitte_meter_ewma_at(vitte_meter *m, uint64_t now_ns);
VITTE_API double vitte_meter_mean_rate_at(vitte_meter *m, uint64_t now_ns);

/* ---- series: the last N values of a named measurement -------------------- */

typedef enum vitte_metric_kind {
    VITTE_METRIC_CUSTOM = 0,
    VITTE_METRIC_THROUGHPUT = 1, /* events per unit of time (fps, req/s) */
    VITTE_METRIC_LATENCY = 2,    /* a duration */
    VITTE_METRIC_COUNT = 3,      /* a number of things */
    VITTE_METRIC_GAUGE = 4,      /* a level (queue depth, temperature) */
    VITTE_METRIC_RATIO = 5,      /* 0..1 */
    VITTE_METRIC_SIZE = 6        /* bytes */
} vitte_metric_kind;

VITTE_API const char *vitte_metric_kind_name(vitte_metric_kind kind);

/** A ring of the last `capacity` values (name and unit are copied).
 * Threads: any (internally locked; not for a hot path).  NULL on bad
 * arguments (empty name, capacity 0) or out of memory. */
VITTE_API vitte_series *vitte_series_create(const char *name, vitte_metric_kind kind,
                                            const char *unit, size_t capacity);
VITTE_API void vitte_series_destroy(vitte_series *s);
/** Append a value (the oldest is dropped when full).  NaN gives VITTE_ERANGE. */
VITTE_API int vitte_series_set(vitte_series *s, double value);
VITTE_API const char *vitte_series_name(const vitte_series *s);
VITTE_API const char *vitte_series_unit(const vitte_series *s);
VITTE_API vitte_metric_kind vitte_series_kind(const vitte_series *s);
VITTE_API size_t vitte_series_capacity(const vitte_series *s);
/** Values currently held (<= capacity). */
VITTE_API size_t vitte_series_len(const vitte_series *s);
/** Values ever set, and their sum (cumulative, unaffected by the ring). */
VITTE_API uint64_t vitte_series_total_count(const vitte_series *s);
VITTE_API double vitte_series_total_sum(const vitte_series *s);
/* Over the values held; NaN when empty. */
VITTE_API double vitte_series_last(const vitte_series *s);
VITTE_API double vitte_series_min(const vitte_series *s);
VITTE_API double vitte_series_max(const vitte_series *s);
VITTE_API double vitte_series_mean(const vitte_series *s);
/** Quantile with linear interpolation between order statistics (numpy's
 * default, Hyndman-Fan type 7). */
VITTE_API double vitte_series_quantile(const vitte_series *s, double q);
/** Copy up to cap values, oldest first; *n receives the number copied. */
VITTE_API int vitte_series_values(const vitte_series *s, double *out, size_t cap, size_t *n);

/* ---- the registry ---------------------------------------------------------- */

typedef enum vitte_family_type {
    VITTE_FAMILY_COUNTER = 1,
    VITTE_FAMILY_GAUGE = 2,
    VITTE_FAMILY_HISTOGRAM = 3,
    VITTE_FAMILY_METER = 4,
    VITTE_FAMILY_SERIES = 5
} vitte_family_type;

/** "counter", "gauge", "histogram", "meter", "series": these names are part of the
 * JSON and CSV export formats and do not change. */
VITTE_API const char *vitte_family_type_name(vitte_family_type type);

/** Create an empty registry.  Threads: every registry function may be called
 * from any thread.  NULL when out of memory. */
VITTE_API vitte_metrics *vitte_metrics_create(void);
/** Destroy the registry and every metric it owns.  NULL: no-op. */
VITTE_API void vitte_metrics_destroy(vitte_metrics *m);
/** Maximum number of label sets per family (default 2000; VITTE_ELIMIT past it). */
VITTE_API int vitte_metrics_set_max_series(vitte_metrics *m, size_t max_series);

/* Names: a letter or '_' then letters, digits, '_', ':', '.', '-' or '/' (at
 * most 200 bytes); exporters that need stricter names replace the others with
 * '_', and two names that would then collide are refused (VITTE_EEXIST).
 * Label names: a letter or '_' then letters, digits or '_'; "le", "quantile"
 * and names starting with "__" are reserved.  Label values: any UTF-8 text.
 * labels: NULL, or a NULL-terminated array of key, value, key, value, ...
 * The same name and label set return the same handle (label order does not
 * matter); the same name with another type, help text or label names is
 * refused (VITTE_EEXIST).  help may be NULL (exported as the empty string). */
VITTE_API int vitte_metrics_add_counter(vitte_metrics *m, const char *name, const char *help,
                                        const char *const *labels, vitte_counter **out);
VITTE_API int vitte_metrics_add_gauge(vitte_metrics *m, const char *name, const char *help,
                                      const char *const *labels, vitte_gauge **out);
/** cfg NULL: defaults.  A second call with another cfg for the same family is
 * VITTE_EEXIST unless the precision, range, bounds, scale and unit match. */
VITTE_API int vitte_metrics_add_histogram(vitte_metrics *m, const char *name, const char *help,
                                          const char *const *labels,
                                          const vitte_histogram_config *cfg, vitte_histogram **out);
/** A histogram of durations recorded in nanoseconds and exported in seconds. */
VITTE_API int vitte_metrics_add_timer(vitte_metrics *m, const char *name, const char *help,
                                      const char *const *labels, vitte_histogram **out);
VITTE_API int vitte_metrics_add_meter(vitte_metrics *m, const char *name, const char *help,
                                      const char *const *labels, vitte_meter **out);
/** Put a series in the registry (it takes ownership on success; the series'
 * own name is the family name).  A second series of the same name needs
 * other label values. */
VITTE_API int vitte_metrics_add_series(vitte_metrics *m, vitte_series *s, const char *help,
                                       const char *const *labels);

/** A counter whose integer value is exported multiplied by export_scale, as a
 * floating-point number, with a unit: it counts in a fine unit and exports in
 * a base one, as timers do (add nanoseconds, export seconds with 1e-9).  unit
 * works as a histogram's ("seconds": the Prometheus name ends in
 * _seconds_total).  export_scale must be finite and > 0.  The same name with
 * another unit or scale, or as a plain counter, is VITTE_EEXIST. */
VITTE_API int vitte_metrics_add_scaled_counter(vitte_metrics *m, const char *name, const char *help,
                                               const char *const *labels, const char *unit,
                                               double export_scale, vitte_counter **out);

/* Shorthands that return the handle, or NULL on any error. */
VITTE_API vitte_counter *vitte_metrics_counter(vitte_metrics *m, const char *name, const char *help,
                                               const char *const *labels);
VITTE_API vitte_gauge *vitte_metrics_gauge(vitte_metrics *m, const char *name, const char *help,
                                           const char *const *labels);
VITTE_API vitte_histogram *vitte_metrics_histogram(vitte_metrics *m, const char *name,
                                                   const char *help, const char *const *labels);
VITTE_API vitte_histogram *vitte_metrics_timer(vitte_metrics *m, const char *name, const char *help,
                                               const char *const *labels);
VITTE_API vitte_meter *vitte_metrics_meter(vitte_metrics *m, const char *name, const char *help,
                                           const char *const *labels);

/** Record a stopped timer's elapsed time into the timer family named after it
 * (no labels; created on first use).  Returns VITTE_EINVAL for a NULL or
 * unnamed timer, VITTE_EEXIST if the name is taken by another type. */
VITTE_API int vitte_metrics_insert_timer(vitte_metrics *m, const vitte_timer *t);

/* ---- reading the registry (for exporters) ------------------------------ */

typedef struct vitte_metric_info {
    const char *name; /* as registered */
    const char *help; /* never NULL */
    const char *unit; /* never NULL ("" when none) */
    vitte_family_type type;
    size_t n_labels;
    const char *const *label_names;  /* sorted by name */
    const char *const *label_values; /* in the same order */
    size_t child_index;              /* 0 for the first label set of a family */
    size_t n_children;               /* label sets in this family */
    /* The one handle matching type; the others are NULL. */
    vitte_counter *counter;
    vitte_gauge *gauge;
    vitte_histogram *histogram;
    vitte_meter *meter;
    vitte_series *series;
    /* Counters: the exported value is vitte_counter_value() * export_scale, a
     * floating-point number when export_scale != 1 (vitte_metrics_add_scaled_counter).
     * 1 for every other family. */
    double export_scale;
} vitte_metric_info;

/** Call fn for every label set of every family: families in registration
 * order, each family's label sets together in creation order.  fn returning
 * non-zero stops the walk and that value is returned.  fn must not register
 * metrics in m (it would deadlock: the registry is locked for registration
 * during the walk; recording into metrics is fine). */
typedef int (*vitte_metrics_visit_fn)(const vitte_metric_info *info, void *ud);
/** Runs the collectors first (vitte_metrics_collect), then walks. */
VITTE_API int vitte_metrics_visit(vitte_metrics *m, vitte_metrics_visit_fn fn, void *ud);

/* ---- collectors: values refreshed when they are read ---------------------- */

/* A collector brings metrics up to date just before they are read: it sets
 * gauges and adds to counters that mirror a value kept elsewhere (the
 * process' CPU time and memory, a queue's length).  vitte_metrics_visit(), so
 * every export, first runs every collector of the registry, in the order they
 * were added, without the registry lock (a collector may register metrics).
 * The collectors of one registry never run concurrently: two exports at once
 * take turns.  A collector must not add or remove collectors, nor visit or
 * export the registry (it would deadlock). */
typedef void (*vitte_metrics_collect_fn)(vitte_metrics *m, void *ud);

/** Add a collector.  free_fn (may be NULL) is called with ud when the
 * collector is removed or the registry destroyed: the registry owns ud then.
 * Returns VITTE_OK, VITTE_EINVAL (m or fn NULL) or VITTE_ENOMEM (then free_fn
 * is not called: ud stays the caller's). */
VITTE_API int vitte_metrics_add_collector(vitte_metrics *m, vitte_metrics_collect_fn fn, void *ud,
                                          void (*free_fn)(void *ud));
/** Remove the collector added with fn and ud (its free_fn is called).
 * Returns VITTE_OK, VITTE_EINVAL, or VITTE_ENOENT when there is none. */
VITTE_API int vitte_metrics_remove_collector(vitte_metrics *m, vitte_metrics_collect_fn fn,
                                             void *ud);
/** Run the collectors now (to read handles directly with fresh values). */
VITTE_API void vitte_metrics_collect(vitte_metrics *m);

/* ---- export ------------------------------------------------------------- */

typedef enum vitte_format {
    VITTE_FORMAT_JSON = 1,      /* docs/formats/metrics-json.md */
    VITTE_FORMAT_CSV = 2,       /* docs/formats/metrics-csv.md */
    VITTE_FORMAT_PROMETHEUS = 3 /* text exposition format 0.0.4 */
} vitte_format;

/** Write every metric to f.  Returns VITTE_OK, VITTE_EINVAL, or VITTE_EIO
 * when writing fails (ENOSPC is reported as VITTE_ENOSPC). */
VITTE_API int vitte_metrics_write(vitte_metrics *m, vitte_format format, FILE *f);
/** The same into a string the caller frees with free(); NULL on error. */
VITTE_API char *vitte_metrics_to_string(vitte_metrics *m, vitte_format format);
/** vitte_metrics_to_string(m, VITTE_FORMAT_JSON). */
VITTE_API char *vitte_metrics_to_json(vitte_metrics *m);

VITTE_END_DECLS

#endif
