/* vitte internal: metrics exporters (Prometheus text, JSON, CSV).
 *
 * Each format is a visitor over vitte_metrics_visit(): it reads the metrics
 * through the public readers only and appends text to a vitte__buf, which
 * either grows in memory (vitte_metrics_to_string) or streams to a FILE in
 * 64 KiB chunks (vitte_metrics_write).  Layouts: docs/formats/metrics-*.md.
 */
#ifndef VITTE_EXPORT_METRICS_H
#define VITTE_EXPORT_METRICS_H

#include <vitte/metrics.h>

#include "common/jsonw.h"
#include "common/textbuf.h"

/* Shared state of one export.  A visitor returns non-zero to stop the walk
 * after setting err. */
typedef struct vitte__mexp {
    vitte__buf *out;
    int err;
    vitte__buf family; /* exported name of the current family */
    vitte__buf labels; /* label text of the current label set */
    int family_open;   /* JSON: a family object is open */
    vitte__jsonw json;
    /* Prometheus: le="..." texts of the last bounds seen, reused while the
     * next histograms have the same bounds (all children of a family do). */
    double *le_bounds;
    size_t n_le;
    size_t *le_end; /* end offset of each text in le_text */
    vitte__buf le_text;
} vitte__mexp;

/* Figures of one histogram read from one snapshot, in exported units. */
typedef struct vitte__mexp_hist {
    vitte_histogram_snapshot *snap;
    double scale;
    double divisor; /* 1 / scale when that is a whole number, else 0 */
    uint64_t count;
    double sum, min, max, mean, p50, p90, p99, p999;
    uint64_t rejected;
} vitte__mexp_hist;

/** Snapshot h and read its figures (the quantiles only with quantiles != 0;
 * NaN otherwise).  Returns VITTE_OK or VITTE_ENOMEM. */
int vitte__export_hist_read(vitte_histogram *h, int quantiles, vitte__mexp_hist *out);
void vitte__export_hist_release(vitte__mexp_hist *hs);
/** A recorded value in exported units. */
double vitte__export_hist_value(const vitte__mexp_hist *hs, double v);
/** export_scale of h, 1 when it is not a usable positive finite number. */
double vitte__export_hist_scale(const vitte_histogram *h);
/* Cumulative bucket counts at increasing bounds in one walk over the
 * non-empty buckets.  Each result is what vitte_histogram_snapshot_count_le()
 * gives for bound / export_scale (a bucket counts when its upper edge or its
 * midpoint is <= the bound; the overflow bucket when the bound reaches the
 * maximum), but calling that per bound rescans every bucket each time: 25
 * bounds made a histogram cost 25 full scans.  test_export checks that both
 * agree.  Results are also made non-decreasing and capped at count, so the
 * exported buckets are valid whatever the approximation. */
typedef struct vitte__mexp_cum {
    const vitte__mexp_hist *hs;
    vitte_histogram_iter it;
    vitte_histogram_bucket bk; /* next finite bucket not yet counted */
    int have;                  /* bk is valid */
    uint64_t below;            /* counts of the finite buckets counted so far */
    int over_known;
    uint64_t over; /* count of the overflow bucket, found when first needed */
    double max;    /* recorded maximum */
    uint64_t prev; /* last result */
} vitte__mexp_cum;

void vitte__export_cum_init(vitte__mexp_cum *c, const vitte__mexp_hist *hs);
/** Count of values <= bound (in exported units); bounds must come in
 * increasing order. */
uint64_t vitte__export_cum_next(vitte__mexp_cum *c, double bound);

/** Set *err from a status and return 1 (a visitor's "stop"). */
int vitte__export_fail(vitte__mexp *x, int status);

/* The formats.  *_visit is a vitte_metrics_visit_fn with a vitte__mexp. */
int vitte__export_prom_visit(const vitte_metric_info *info, void *ud);

void vitte__export_json_begin(vitte__mexp *x);
int vitte__export_json_visit(const vitte_metric_info *info, void *ud);
void vitte__export_json_end(vitte__mexp *x);

void vitte__export_csv_begin(vitte__mexp *x);
int vitte__export_csv_visit(const vitte_metric_info *info, void *ud);

#endif
