/* vitte: metrics as JSON (docs/formats/metrics-json.md). */
#include "export/export_metrics.h"

#include "common/alloc.h"
#include <time.h>

#include <vitte/version.h>

#define METRICS_JSON_VERSION 1

static uint64_t unix_time_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vitte__export_json_begin(vitte__mexp *x)
{
    vitte__jsonw *w = &x->json;
    vitte__json_init(w, x->out, 2);
    vitte__json_begin_object(w);
    vitte__json_kv_string(w, "format", "vitte-metrics");
    vitte__json_kv_int(w, "version", METRICS_JSON_VERSION);
    vitte__json_kv_string(w, "vitte_version", vitte_version_string());
    vitte__json_kv_uint(w, "timestamp_unix_ns", unix_time_ns());
    vitte__json_key(w, "metrics");
    vitte__json_begin_array(w);
}

static void close_family(vitte__mexp *x)
{
    if (x->family_open) {
        vitte__json_end_array(&x->json);  /* series */
        vitte__json_end_object(&x->json); /* family */
        x->family_open = 0;
    }
}

void vitte__export_json_end(vitte__mexp *x)
{
    vitte__jsonw *w = &x->json;
    close_family(x);
    vitte__json_end_array(w);
    vitte__json_end_object(w);
    vitte__buf_putc(x->out, '\n');
    int rc = vitte__json_finish(w);
    if (rc != 0 && x->err == 0)
        x->err = rc;
}

static void open_family(vitte__mexp *x, const vitte_metric_info *info)
{
    vitte__jsonw *w = &x->json;
    close_family(x);
    vitte__json_begin_object(w);
    vitte__json_kv_string(w, "name", info->name);
    vitte__json_kv_string(w, "type", vitte_family_type_name(info->type));
    vitte__json_kv_string(w, "help", info->help != NULL ? info->help : "");
    vitte__json_kv_string(w, "unit", info->unit != NULL ? info->unit : "");
    vitte__json_key(w, "label_names");
    vitte__json_begin_array_compact(w);
    for (size_t i = 0; i < info->n_labels; i++)
        vitte__json_string(w, info->label_names[i]);
    vitte__json_end_array(w);
    if (info->type == VITTE_FAMILY_HISTOGRAM)
        vitte__json_kv_double(w, "export_scale", vitte__export_hist_scale(info->histogram));
    vitte__json_key(w, "series");
    vitte__json_begin_array(w);
    x->family_open = 1;
}

static int put_histogram(vitte__jsonw *w, vitte_histogram *h)
{
    vitte__mexp_hist hs;
    int rc = vitte__export_hist_read(h, 1, &hs);
    if (rc != VITTE_OK)
        return rc;
    vitte__json_kv_uint(w, "count", hs.count);
    vitte__json_kv_double(w, "sum", hs.sum);
    vitte__json_kv_double(w, "min", hs.min);
    vitte__json_kv_double(w, "max", hs.max);
    vitte__json_kv_double(w, "mean", hs.mean);
    vitte__json_kv_double(w, "p50", hs.p50);
    vitte__json_kv_double(w, "p90", hs.p90);
    vitte__json_kv_double(w, "p99", hs.p99);
    vitte__json_kv_double(w, "p999", hs.p999);
    vitte__json_kv_uint(w, "rejected", hs.rejected);
    vitte__json_key(w, "buckets");
    vitte__json_begin_array(w);
    vitte_histogram_iter it;
    vitte_histogram_bucket bk;
    vitte_histogram_iter_init(&it, hs.snap);
    while (vitte_histogram_iter_next(&it, &bk)) {
        vitte__json_begin_array_compact(w);
        vitte__json_double(w, vitte__export_hist_value(&hs, bk.lower));
        /* null for the overflow bucket */
        vitte__json_double(w, vitte__export_hist_value(&hs, bk.upper));
        vitte__json_uint(w, bk.count);
        vitte__json_end_array(w);
    }
    vitte__json_end_array(w);
    vitte__export_hist_release(&hs);
    return VITTE_OK;
}

static int put_series(vitte__jsonw *w, vitte_series *s)
{
    vitte__json_kv_string(w, "kind", vitte_metric_kind_name(vitte_series_kind(s)));
    vitte__json_kv_string(w, "unit", vitte_series_unit(s));
    size_t cap = vitte_series_capacity(s);
    vitte__json_kv_uint(w, "capacity", cap);
    double *v = vitte__calloc(cap != 0 ? cap : 1, sizeof *v);
    if (v == NULL)
        return VITTE_ENOMEM;
    size_t n = 0;
    int rc = vitte_series_values(s, v, cap, &n);
    if (rc != VITTE_OK) {
        vitte__free(v);
        return rc;
    }
    vitte__json_key(w, "values");
    vitte__json_begin_array_compact(w);
    for (size_t i = 0; i < n; i++)
        vitte__json_double(w, v[i]);
    vitte__json_end_array(w);
    vitte__free(v);
    vitte__json_kv_double(w, "last", vitte_series_last(s));
    vitte__json_kv_double(w, "min", vitte_series_min(s));
    vitte__json_kv_double(w, "max", vitte_series_max(s));
    vitte__json_kv_double(w, "mean", vitte_series_mean(s));
    vitte__json_kv_double(w, "p50", vitte_series_quantile(s, 0.5));
    vitte__json_kv_double(w, "p90", vitte_series_quantile(s, 0.9));
    vitte__json_kv_double(w, "p99", vitte_series_quantile(s, 0.99));
    vitte__json_kv_uint(w, "total_count", vitte_series_total_count(s));
    vitte__json_kv_double(w, "total_sum", vitte_series_total_sum(s));
    return VITTE_OK;
}

int vitte__export_json_visit(const vitte_metric_info *info, void *ud)
{
    vitte__mexp *x = ud;
    vitte__jsonw *w = &x->json;
    if (info->child_index == 0 || !x->family_open)
        open_family(x, info);

    vitte__json_begin_object(w);
    vitte__json_key(w, "labels");
    vitte__json_begin_object_compact(w);
    for (size_t i = 0; i < info->n_labels; i++)
        vitte__json_kv_string(w, info->label_names[i], info->label_values[i]);
    vitte__json_end_object(w);

    int rc = VITTE_OK;
    switch (info->type) {
    case VITTE_FAMILY_COUNTER:
        if (info->export_scale != 1.0) /* a scaled counter */
            vitte__json_kv_double(w, "value",
                                  (double)vitte_counter_value(info->counter) * info->export_scale);
        else
            vitte__json_kv_uint(w, "value", vitte_counter_value(info->counter));
        break;
    case VITTE_FAMILY_GAUGE:
        vitte__json_kv_double(w, "value", vitte_gauge_value(info->gauge));
        break;
    case VITTE_FAMILY_HISTOGRAM:
        rc = put_histogram(w, info->histogram);
        break;
    case VITTE_FAMILY_METER:
        vitte__json_kv_uint(w, "count", vitte_meter_count(info->meter));
        vitte__json_kv_double(w, "rate", vitte_meter_rate(info->meter));
        vitte__json_kv_double(w, "ewma", vitte_meter_ewma(info->meter));
        vitte__json_kv_double(w, "mean_rate", vitte_meter_mean_rate(info->meter));
        break;
    case VITTE_FAMILY_SERIES:
        rc = put_series(w, info->series);
        break;
    }
    vitte__json_end_object(w);
    if (rc != VITTE_OK)
        return vitte__export_fail(x, rc);
    rc = vitte__json_error(w);
    if (rc != 0)
        return vitte__export_fail(x, rc);
    return 0;
}
