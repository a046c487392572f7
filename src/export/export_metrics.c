/* vitte: metrics export entry points and the pieces the formats share. */
#include "export/export_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "common/alloc.h"

int vitte__export_fail(vitte__mexp *x, int status)
{
    if (x->err == 0)
        x->err = status;
    return 1;
}

double vitte__export_hist_scale(const vitte_histogram *h)
{
    double s = vitte_histogram_export_scale(h);
    return (isfinite(s) && s > 0) ? s : 1.0;
}

int vitte__export_hist_read(vitte_histogram *h, int quantiles, vitte__mexp_hist *out)
{
    memset(out, 0, sizeof *out);
    int rc = vitte_histogram_snapshot_create(h, &out->snap);
    if (rc != VITTE_OK || out->snap == NULL)
        return rc != VITTE_OK ? rc : VITTE_ENOMEM;
    const vitte_histogram_snapshot *s = out->snap;
    out->scale = vitte__export_hist_scale(h);
    /* Scales such as 1e-9 are the reciprocal of a whole number. */
    double inv = nearbyint(1.0 / out->scale);
    if (out->scale < 1 && inv < 0x1p53 && 1.0 / inv == out->scale)
        out->divisor = inv;
    out->count = vitte_histogram_snapshot_count(s);
    out->sum = vitte__export_hist_value(out, vitte_histogram_snapshot_sum(s));
    out->min = vitte__export_hist_value(out, vitte_histogram_snapshot_min(s));
    out->max = vitte__export_hist_value(out, vitte_histogram_snapshot_max(s));
    out->mean = vitte__export_hist_value(out, vitte_histogram_snapshot_mean(s));
    out->p50 = out->p90 = out->p99 = out->p999 = NAN;
    if (quantiles) {
        out->p50 = vitte__export_hist_value(out, vitte_histogram_snapshot_quantile(s, 0.5));
        out->p90 = vitte__export_hist_value(out, vitte_histogram_snapshot_quantile(s, 0.9));
        out->p99 = vitte__export_hist_value(out, vitte_histogram_snapshot_quantile(s, 0.99));
        out->p999 = vitte__export_hist_value(out, vitte_histogram_snapshot_quantile(s, 0.999));
    }
    /* Not part of the snapshot: rejections are counted apart from values. */
    out->rejected = vitte_histogram_rejected(h);
    return VITTE_OK;
}

double vitte__export_hist_value(const vitte__mexp_hist *hs, double v)
{
    /* 1e-9 is not a double, 1e9 is: 1200000 ns / 1e9 is the double nearest
     * 0.0012 and prints as such, 1200000 * 1e-9 prints as
     * 0.0012000000000000001. */
    return hs->divisor != 0 ? v / hs->divisor : v * hs->scale;
}

void vitte__export_hist_release(vitte__mexp_hist *hs)
{
    vitte_histogram_snapshot_destroy(hs->snap);
    hs->snap = NULL;
}

static void cum_advance(vitte__mexp_cum *c)
{
    int more = vitte_histogram_iter_next(&c->it, &c->bk);
    c->have = more && isfinite(c->bk.upper);
    if (!c->have) {
        /* At the end or at the overflow bucket, which comes last. */
        c->over = more ? c->bk.count : 0;
        c->over_known = 1;
    }
}

void vitte__export_cum_init(vitte__mexp_cum *c, const vitte__mexp_hist *hs)
{
    memset(c, 0, sizeof *c);
    c->hs = hs;
    c->max = vitte_histogram_snapshot_max(hs->snap);
    vitte_histogram_iter_init(&c->it, hs->snap);
    cum_advance(c);
}

/* The overflow bucket comes last; while finite buckets remain uncounted,
 * a second iterator walks to it, only when a bound reaches the maximum. */
static uint64_t cum_overflow(vitte__mexp_cum *c)
{
    if (!c->over_known) {
        vitte_histogram_iter it;
        vitte_histogram_bucket bk;
        vitte_histogram_iter_init(&it, c->hs->snap);
        while (vitte_histogram_iter_next(&it, &bk))
            if (!isfinite(bk.upper))
                c->over = bk.count;
        c->over_known = 1;
    }
    return c->over;
}

uint64_t vitte__export_cum_next(vitte__mexp_cum *c, double bound)
{
    /* Bounds are in exported units, recorded values are not. */
    double b = bound / c->hs->scale;
    uint64_t n = 0;
    if (b >= 0) {
        while (c->have &&
               (c->bk.upper <= b || c->bk.lower + (c->bk.upper - c->bk.lower) / 2 <= b)) {
            c->below += c->bk.count;
            cum_advance(c);
        }
        n = c->below;
        if (b >= c->max)
            n += cum_overflow(c);
    }
    if (n < c->prev)
        n = c->prev;
    if (n > c->hs->count)
        n = c->hs->count;
    c->prev = n;
    return n;
}

/* ---- driver -------------------------------------------------------------------------- */

static void mexp_init(vitte__mexp *x, vitte__buf *out)
{
    memset(x, 0, sizeof *x);
    x->out = out;
    vitte__buf_init(&x->family);
    vitte__buf_init(&x->labels);
    vitte__buf_init(&x->le_text);
}

static void mexp_release(vitte__mexp *x)
{
    vitte__buf_free(&x->family);
    vitte__buf_free(&x->labels);
    vitte__buf_free(&x->le_text);
    vitte__free(x->le_bounds);
    vitte__free(x->le_end);
}

static int format_known(vitte_format format)
{
    return format == VITTE_FORMAT_PROMETHEUS || format == VITTE_FORMAT_JSON ||
           format == VITTE_FORMAT_CSV;
}

static int run_export(vitte_metrics *m, vitte_format format, vitte__buf *out)
{
    vitte__mexp x;
    vitte_metrics_visit_fn fn;
    switch (format) {
    case VITTE_FORMAT_PROMETHEUS:
        fn = vitte__export_prom_visit;
        break;
    case VITTE_FORMAT_JSON:
        fn = vitte__export_json_visit;
        break;
    case VITTE_FORMAT_CSV:
        fn = vitte__export_csv_visit;
        break;
    default:
        return VITTE_EINVAL;
    }
    mexp_init(&x, out);
    if (format == VITTE_FORMAT_JSON)
        vitte__export_json_begin(&x);
    else if (format == VITTE_FORMAT_CSV)
        vitte__export_csv_begin(&x);

    int rc = vitte_metrics_visit(m, fn, &x);
    if (x.err == 0 && rc < 0)
        x.err = rc; /* the walk itself failed */
    if (x.err == 0 && format == VITTE_FORMAT_JSON)
        vitte__export_json_end(&x);
    if (x.err == 0)
        x.err = out->err;
    int err = x.err;
    mexp_release(&x);
    return err;
}

int vitte_metrics_write(vitte_metrics *m, vitte_format format, FILE *f)
{
    if (m == NULL || f == NULL)
        return VITTE_EINVAL;
    if (!format_known(format))
        return VITTE_EINVAL;
    vitte__buf out;
    vitte__buf_init_file(&out, f);
    int rc = run_export(m, format, &out);
    /* Flush even after a failure: the FILE then holds what was produced and
     * a write error, if any, is reported rather than left in the stream. */
    int frc = vitte__buf_flush(&out);
    vitte__buf_free(&out);
    return rc != 0 ? rc : frc;
}

char *vitte_metrics_to_string(vitte_metrics *m, vitte_format format)
{
    if (m == NULL || !format_known(format))
        return NULL;
    vitte__buf out;
    vitte__buf_init_libc(&out);
    if (run_export(m, format, &out) != 0) {
        vitte__buf_free(&out);
        return NULL;
    }
    return vitte__buf_detach(&out, NULL);
}

char *vitte_metrics_to_json(vitte_metrics *m)
{
    return vitte_metrics_to_string(m, VITTE_FORMAT_JSON);
}
