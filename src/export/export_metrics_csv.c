/* vitte: metrics as CSV, RFC 4180, one statistic per row
 * (docs/formats/metrics-csv.md). */
#include "export/export_metrics.h"

#include <math.h>

#define CRLF "\r\n"

/* RFC 4180: a field holding a comma, a quote or a line break is quoted and
 * its quotes doubled. */
static void put_field(vitte__buf *b, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        vitte__buf_append(b, s, n);
        return;
    }
    vitte__buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            vitte__buf_append(b, s + start, i + 1 - start);
            vitte__buf_putc(b, '"');
            start = i + 1;
        }
    }
    vitte__buf_append(b, s + start, n - start);
    vitte__buf_putc(b, '"');
}

/* Within the labels column '\\', ';' and '=' are escaped with '\\' so that
 * "k=v;k=v" splits unambiguously; invalid UTF-8 becomes U+FFFD so the file
 * is valid UTF-8 text. */
static void put_label_text(vitte__buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n && b->err == 0) {
        unsigned char c = p[i];
        if (c == '\\' || c == ';' || c == '=') {
            char esc[2] = {'\\', (char)c};
            vitte__buf_append(b, esc, 2);
            i++;
        } else if (c < 0x80) {
            vitte__buf_putc(b, (char)c);
            i++;
        } else {
            i += vitte__buf_utf8(b, p + i, n - i);
        }
    }
}

/* The first four columns of every row of the current label set are the
 * same: built once into x->labels. */
static void build_prefix(vitte__mexp *x, const vitte_metric_info *info)
{
    vitte__buf *b = &x->labels;
    vitte__buf_clear(b);
    put_field(b, info->name, strlen(info->name));
    vitte__buf_putc(b, ',');
    vitte__buf_puts(b, vitte_family_type_name(info->type));
    vitte__buf_putc(b, ',');
    const char *unit = info->unit != NULL ? info->unit : "";
    put_field(b, unit, strlen(unit));
    vitte__buf_putc(b, ',');
    vitte__buf *t = &x->family; /* scratch for the labels column */
    vitte__buf_clear(t);
    for (size_t i = 0; i < info->n_labels; i++) {
        if (i != 0)
            vitte__buf_putc(t, ';');
        put_label_text(t, info->label_names[i]);
        vitte__buf_putc(t, '=');
        put_label_text(t, info->label_values[i]);
    }
    if (t->err != 0)
        b->err = t->err;
    else
        put_field(b, t->data != NULL ? t->data : "", t->len);
    vitte__buf_putc(b, ',');
}

static void row_start(vitte__mexp *x, const char *stat)
{
    vitte__buf_append(x->out, x->labels.data, x->labels.len);
    vitte__buf_puts(x->out, stat);
    vitte__buf_putc(x->out, ',');
}

static void row_u64(vitte__mexp *x, const char *stat, uint64_t v)
{
    row_start(x, stat);
    vitte__buf_u64(x->out, v);
    vitte__buf_append(x->out, CRLF, 2);
}

static void row_double(vitte__mexp *x, const char *stat, double v)
{
    row_start(x, stat);
    vitte__buf_double(x->out, v);
    vitte__buf_append(x->out, CRLF, 2);
}

static int put_histogram(vitte__mexp *x, vitte_histogram *h)
{
    vitte__mexp_hist hs;
    int rc = vitte__export_hist_read(h, 1, &hs);
    if (rc != VITTE_OK)
        return rc;
    row_u64(x, "count", hs.count);
    row_double(x, "sum", hs.sum);
    row_double(x, "min", hs.min);
    row_double(x, "max", hs.max);
    row_double(x, "mean", hs.mean);
    row_double(x, "p50", hs.p50);
    row_double(x, "p90", hs.p90);
    row_double(x, "p99", hs.p99);
    row_double(x, "p999", hs.p999);
    row_u64(x, "rejected", hs.rejected);
    /* Cumulative counts at the export bounds, as Prometheus would see them. */
    size_t n = 0;
    const double *bounds = vitte_histogram_bounds(h, &n);
    vitte__mexp_cum cum;
    vitte__export_cum_init(&cum, &hs);
    char stat[8 + VITTE__FMT_DOUBLE_MAX];
    for (size_t i = 0; bounds != NULL && i < n; i++) {
        if (!isfinite(bounds[i]))
            continue;
        memcpy(stat, "le=", 3);
        vitte__fmt_double(stat + 3, bounds[i]);
        row_u64(x, stat, vitte__export_cum_next(&cum, bounds[i]));
    }
    row_u64(x, "le=+Inf", hs.count);
    vitte__export_hist_release(&hs);
    return VITTE_OK;
}

static void put_series(vitte__mexp *x, vitte_series *s)
{
    row_u64(x, "len", vitte_series_len(s));
    row_double(x, "last", vitte_series_last(s));
    row_double(x, "min", vitte_series_min(s));
    row_double(x, "max", vitte_series_max(s));
    row_double(x, "mean", vitte_series_mean(s));
    row_double(x, "p50", vitte_series_quantile(s, 0.5));
    row_double(x, "p90", vitte_series_quantile(s, 0.9));
    row_double(x, "p99", vitte_series_quantile(s, 0.99));
    row_u64(x, "total_count", vitte_series_total_count(s));
    row_double(x, "total_sum", vitte_series_total_sum(s));
}

void vitte__export_csv_begin(vitte__mexp *x)
{
    vitte__buf_puts(x->out, "name,type,unit,labels,stat,value" CRLF);
}

int vitte__export_csv_visit(const vitte_metric_info *info, void *ud)
{
    vitte__mexp *x = ud;
    build_prefix(x, info);
    if (x->labels.err != 0)
        return vitte__export_fail(x, x->labels.err);
    int rc = VITTE_OK;
    switch (info->type) {
    case VITTE_FAMILY_COUNTER:
        if (info->export_scale != 1.0) /* a scaled counter */
            row_double(x, "value", (double)vitte_counter_value(info->counter) * info->export_scale);
        else
            row_u64(x, "value", vitte_counter_value(info->counter));
        break;
    case VITTE_FAMILY_GAUGE:
        row_double(x, "value", vitte_gauge_value(info->gauge));
        break;
    case VITTE_FAMILY_HISTOGRAM:
        rc = put_histogram(x, info->histogram);
        break;
    case VITTE_FAMILY_METER:
        row_u64(x, "count", vitte_meter_count(info->meter));
        row_double(x, "rate", vitte_meter_rate(info->meter));
        row_double(x, "ewma", vitte_meter_ewma(info->meter));
        row_double(x, "mean_rate", vitte_meter_mean_rate(info->meter));
        break;
    case VITTE_FAMILY_SERIES:
        put_series(x, info->series);
        break;
    }
    if (rc != VITTE_OK)
        return vitte__export_fail(x, rc);
    if (x->out->err != 0)
        return vitte__export_fail(x, x->out->err);
    return 0;
}
