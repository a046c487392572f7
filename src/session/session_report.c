/* Session reports: JSON (docs/formats/session-report.md) and Markdown. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vitte/clock.h>
#include <vitte/version.h>

#include "common/alloc.h"
#include "common/jsonw.h"
#include "common/textbuf.h"
#include "session/session_internal.h"

/* Everything a report shows, gathered first (s->lock held). */
struct series_row {
    const char *name, *unit, *kind;
    uint64_t count; /* values ever set */
    size_t window;  /* values held, over which the figures below are */
    double mean, min, max, p50, p90, p99, last;
};

static void series_row_fill(struct series_row *r, const vitte_series *v)
{
    r->name = vitte_series_name(v);
    r->unit = vitte_series_unit(v);
    r->kind = vitte_metric_kind_name(vitte_series_kind(v));
    r->count = vitte_series_total_count(v);
    r->window = vitte_series_len(v);
    r->mean = vitte_series_mean(v);
    r->min = vitte_series_min(v);
    r->max = vitte_series_max(v);
    r->p50 = vitte_series_quantile(v, 0.5);
    r->p90 = vitte_series_quantile(v, 0.9);
    r->p99 = vitte_series_quantile(v, 0.99);
    r->last = vitte_series_last(v);
}

/* Timing records with count > 0, by total time, largest first. */
static int cmp_total(const void *a, const void *b)
{
    const struct vitte__timing_rec *x = *(const struct vitte__timing_rec *const *)a;
    const struct vitte__timing_rec *y = *(const struct vitte__timing_rec *const *)b;
    if (x->total_ns != y->total_ns)
        return x->total_ns > y->total_ns ? -1 : 1;
    return strcmp(x->name, y->name);
}

struct report {
    const struct vitte__timing_rec **timings;
    size_t n_timings;
    struct series_row *system;
    size_t n_system;
    struct series_row *series;
    size_t n_series;
    uint64_t duration_ns;
    uint64_t now_ns;
    int has_trace;
    vitte_tracer_stats trace;
};

static int gather(vitte_session *s, struct report *r)
{
    memset(r, 0, sizeof *r);
    r->now_ns = vitte_now_ns();
    uint64_t end = s->stop_ns != 0 ? s->stop_ns : r->now_ns;
    r->duration_ns = end > s->start_ns ? end - s->start_ns : 0;
    r->timings = vitte__calloc(s->n_recs + 1, sizeof *r->timings);
    r->system = vitte__calloc(vitte__session_n_sys_metrics, sizeof *r->system);
    r->series = vitte__calloc(s->n_series + 1, sizeof *r->series);
    if (r->timings == NULL || r->system == NULL || r->series == NULL)
        return VITTE_ENOMEM;
    for (size_t i = 0; i < s->n_recs; i++)
        if (s->recs[i].count > 0)
            r->timings[r->n_timings++] = &s->recs[i];
    qsort(r->timings, r->n_timings, sizeof *r->timings, cmp_total);
    if (s->sampler != NULL) {
        for (size_t i = 0; i < vitte__session_n_sys_metrics; i++) {
            vitte_series *v = vitte_sys_sampler_series(s->sampler, vitte__session_sys_metrics[i]);
            if (v != NULL)
                series_row_fill(&r->system[r->n_system++], v);
        }
    }
    for (size_t i = 0; i < s->n_series; i++)
        series_row_fill(&r->series[r->n_series++], s->series[i]);
    if (s->tracer != NULL) {
        r->has_trace = 1;
        if (s->trace_closed)
            r->trace = s->trace_stats;
        else
            vitte_tracer_get_stats(s->tracer, &r->trace);
    }
    return VITTE_OK;
}

static void report_free(struct report *r)
{
    vitte__free(r->timings);
    vitte__free(r->system);
    vitte__free(r->series);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_series(vitte__jsonw *w, const struct series_row *r, int with_kind)
{
    vitte__json_begin_object(w);
    vitte__json_kv_string(w, "name", r->name);
    if (with_kind)
        vitte__json_kv_string(w, "kind", r->kind);
    vitte__json_kv_string(w, "unit", r->unit);
    vitte__json_kv_uint(w, "count", r->count);
    vitte__json_kv_uint(w, "window", r->window);
    vitte__json_kv_double(w, "mean", r->mean);
    vitte__json_kv_double(w, "min", r->min);
    vitte__json_kv_double(w, "max", r->max);
    vitte__json_kv_double(w, "p50", r->p50);
    vitte__json_kv_double(w, "p90", r->p90);
    vitte__json_kv_double(w, "p99", r->p99);
    vitte__json_kv_double(w, "last", r->last);
    vitte__json_end_object(w);
}

static void write_json(vitte_session *s, const struct report *r, vitte__buf *b)
{
    vitte__jsonw w;
    vitte__json_init(&w, b, 2);
    vitte__json_begin_object(&w);
    vitte__json_kv_string(&w, "format", "vitte-session-report");
    vitte__json_kv_int(&w, "version", 1);
    vitte__json_kv_string(&w, "vitte_version", vitte_version_string());
    vitte__json_kv_string(&w, "session", s->name);
    vitte__json_kv_string(&w, "directory", s->dir);
    vitte__json_kv_int(&w, "pid", (int64_t)getpid());
    vitte__json_kv_int(&w, "start_unix_ns", s->start_unix_ns);
    vitte__json_kv_uint(&w, "duration_ns", r->duration_ns);
    vitte__json_kv_bool(&w, "complete", s->stop_ns != 0);

    vitte__json_key(&w, "trace");
    if (r->has_trace) {
        vitte__json_begin_object(&w);
        vitte__json_kv_string(&w, "path", s->trace_path);
        vitte__json_kv_uint(&w, "events", r->trace.events);
        vitte__json_kv_uint(&w, "dropped", r->trace.dropped);
        vitte__json_kv_uint(&w, "bytes_written", r->trace.bytes_written);
        vitte__json_end_object(&w);
    } else {
        vitte__json_null(&w);
    }

    vitte__json_key(&w, "timings");
    vitte__json_begin_array(&w);
    for (size_t i = 0; i < r->n_timings; i++) {
        const struct vitte__timing_rec *t = r->timings[i];
        vitte__json_begin_object(&w);
        vitte__json_kv_string(&w, "name", t->name);
        vitte__json_kv_uint(&w, "count", t->count);
        vitte__json_kv_uint(&w, "total_ns", t->total_ns);
        vitte__json_kv_double(&w, "mean_ns", (double)t->total_ns / (double)t->count);
        vitte__json_kv_uint(&w, "min_ns", t->min_ns);
        vitte__json_kv_uint(&w, "max_ns", t->max_ns);
        vitte__json_kv_double(&w, "p50_ns", vitte_histogram_quantile(t->hist, 0.5));
        vitte__json_kv_double(&w, "p90_ns", vitte_histogram_quantile(t->hist, 0.9));
        vitte__json_kv_double(&w, "p99_ns", vitte_histogram_quantile(t->hist, 0.99));
        vitte__json_end_object(&w);
    }
    vitte__json_end_array(&w);

    vitte__json_key(&w, "open_timings");
    vitte__json_begin_array(&w);
    for (size_t i = 0; i < s->n_open; i++) {
        const struct vitte__open_timing *o = &s->open[i];
        uint64_t end = s->stop_ns != 0 ? s->stop_ns : r->now_ns;
        vitte__json_begin_object(&w);
        vitte__json_kv_string(&w, "name", s->recs[o->rec].name);
        vitte__json_kv_uint(&w, "elapsed_ns", end > o->t0 ? end - o->t0 : 0);
        vitte__json_end_object(&w);
    }
    vitte__json_end_array(&w);

    vitte__json_key(&w, "system");
    if (s->sampler != NULL) {
        vitte__json_begin_object(&w);
        vitte__json_kv_uint(&w, "interval_ns", s->sample_interval_ns);
        vitte__json_kv_uint(&w, "samples", vitte_sys_sampler_samples(s->sampler));
        vitte__json_key(&w, "metrics");
        vitte__json_begin_array(&w);
        for (size_t i = 0; i < r->n_system; i++)
            json_series(&w, &r->system[i], 0);
        vitte__json_end_array(&w);
        vitte__json_end_object(&w);
    } else {
        vitte__json_null(&w);
    }

    vitte__json_key(&w, "series");
    vitte__json_begin_array(&w);
    for (size_t i = 0; i < r->n_series; i++)
        json_series(&w, &r->series[i], 1);
    vitte__json_end_array(&w);
    vitte__json_end_object(&w);
    if (vitte__json_finish(&w) != 0 && b->err == 0)
        b->err = vitte__json_error(&w);
    vitte__buf_putc(b, '\n');
}

/* ---- Markdown -------------------------------------------------------------- */

/* A table cell: '|' escaped, line breaks as spaces. */
static void md_text(vitte__buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            vitte__buf_puts(b, "\\|");
        else if (*s == '\n' || *s == '\r')
            vitte__buf_putc(b, ' ');
        else
            vitte__buf_putc(b, *s);
    }
}

static void md_duration(vitte__buf *b, double ns)
{
    if (isnan(ns))
        vitte__buf_puts(b, "-");
    else if (ns < 1e3)
        vitte__buf_printf(b, "%.0f ns", ns);
    else if (ns < 1e6)
        vitte__buf_printf(b, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        vitte__buf_printf(b, "%.2f ms", ns / 1e6);
    else
        vitte__buf_printf(b, "%.3f s", ns / 1e9);
}

static void md_number(vitte__buf *b, double v)
{
    if (isnan(v))
        vitte__buf_puts(b, "-");
    else
        vitte__buf_printf(b, "%.4g", v);
}

static void md_series(vitte__buf *b, const struct series_row *rows, size_t n, int with_kind)
{
    vitte__buf_puts(b, with_kind ? "| Series | Kind | Unit | Count | Mean | Min | p50 | p90 | p99 "
                                   "| Max | Last |\n|---|---|---|"
                                 : "| Metric | Unit | Count | Mean | Min | p50 | p90 | p99 | Max "
                                   "| Last |\n|---|---|");
    vitte__buf_puts(b, "---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const struct series_row *r = &rows[i];
        vitte__buf_puts(b, "| ");
        md_text(b, r->name);
        if (with_kind) {
            vitte__buf_puts(b, " | ");
            vitte__buf_puts(b, r->kind);
        }
        vitte__buf_puts(b, " | ");
        md_text(b, r->unit);
        vitte__buf_printf(b, " | %llu", (unsigned long long)r->count);
        const double v[] = {r->mean, r->min, r->p50, r->p90, r->p99, r->max, r->last};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
            vitte__buf_puts(b, " | ");
            md_number(b, v[k]);
        }
        vitte__buf_puts(b, " |\n");
    }
}

static void write_markdown(vitte_session *s, const struct report *r, vitte__buf *b)
{
    vitte__buf_puts(b, "# Session report: ");
    md_text(b, s->name);
    vitte__buf_puts(b, "\n\n");
    time_t t = (time_t)(s->start_unix_ns / 1000000000);
    struct tm tm;
    char when[64] = "?";
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    vitte__buf_printf(b, "- Started: %s\n- Duration: ", when);
    md_duration(b, (double)r->duration_ns);
    vitte__buf_printf(b, "%s\n- Process: %d\n- Directory: `%s`\n",
                      s->stop_ns != 0 ? "" : " (still running)", (int)getpid(), s->dir);
    if (r->has_trace)
        vitte__buf_printf(b, "- Trace: `%s` (%llu events, %llu dropped)\n", s->trace_path,
                          (unsigned long long)r->trace.events,
                          (unsigned long long)r->trace.dropped);
    else
        vitte__buf_puts(b, "- Trace: none (another tracer was active)\n");

    vitte__buf_puts(b, "\n## Timings\n\n");
    if (r->n_timings == 0) {
        vitte__buf_puts(b, "No timing was stopped.\n");
    } else {
        vitte__buf_puts(b, "| Name | Count | Total | Mean | Min | p50 | p90 | p99 | Max |\n"
                           "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < r->n_timings; i++) {
            const struct vitte__timing_rec *tr = r->timings[i];
            vitte__buf_puts(b, "| ");
            md_text(b, tr->name);
            vitte__buf_printf(b, " | %llu", (unsigned long long)tr->count);
            const double v[] = {(double)tr->total_ns,
                                (double)tr->total_ns / (double)tr->count,
                                (double)tr->min_ns,
                                vitte_histogram_quantile(tr->hist, 0.5),
                                vitte_histogram_quantile(tr->hist, 0.9),
                                vitte_histogram_quantile(tr->hist, 0.99),
                                (double)tr->max_ns};
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
                vitte__buf_puts(b, " | ");
                md_duration(b, v[k]);
            }
            vitte__buf_puts(b, " |\n");
        }
    }
    if (s->n_open > 0)
        vitte__buf_printf(b, "\n%zu timing(s) still open, not counted above.\n", s->n_open);

    if (s->sampler != NULL) {
        vitte__buf_puts(b, "\n## System metrics\n\nEvery ");
        md_duration(b, (double)s->sample_interval_ns);
        vitte__buf_printf(b, ", %llu samples.\n\n",
                          (unsigned long long)vitte_sys_sampler_samples(s->sampler));
        md_series(b, r->system, r->n_system, 0);
    }
    if (r->n_series > 0) {
        vitte__buf_puts(b, "\n## Series\n\n");
        md_series(b, r->series, r->n_series, 1);
    }
}

int vitte__session_write_report(vitte_session *s, FILE *f, vitte_report_format format)
{
    struct report r;
    int rc = gather(s, &r);
    if (rc == VITTE_OK) {
        vitte__buf b;
        vitte__buf_init_file(&b, f);
        if (format == VITTE_REPORT_JSON)
            write_json(s, &r, &b);
        else
            write_markdown(s, &r, &b);
        rc = vitte__buf_flush(&b);
        vitte__buf_free(&b);
    }
    report_free(&r);
    return rc;
}
