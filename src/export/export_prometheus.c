/* vitte: Prometheus text exposition format 0.0.4 (docs/formats/metrics-prometheus.md).
 *
 * Sized for scrapes of tens of thousands of series: one family name built
 * per family, the label text of a label set built once and reused by every
 * bucket line, le texts formatted once per set of bounds, integers
 * formatted by hand, and no stdio call per sample.
 */
#include "export/export_metrics.h"

#include <math.h>
#include "common/alloc.h"

/* ---- names ------------------------------------------------------------------------ */

static int name_char(unsigned char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':')
        return 1;
    return !first && c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]*: other bytes become '_', a leading digit gets a
 * '_' in front (so "9lives" stays readable as "_9lives"). */
static void put_sanitized_name(vitte__buf *b, const char *name)
{
    const unsigned char *p = (const unsigned char *)name;
    if (*p >= '0' && *p <= '9')
        vitte__buf_putc(b, '_');
    else if (*p == '\0')
        vitte__buf_putc(b, '_'); /* never produce an empty name */
    for (size_t i = 0; p[i] != '\0'; i++)
        vitte__buf_putc(b, name_char(p[i], 0) ? (char)p[i] : '_');
}

/* Label names may not contain ':'. */
static void put_label_name(vitte__buf *b, const char *name)
{
    const unsigned char *p = (const unsigned char *)name;
    if (*p >= '0' && *p <= '9')
        vitte__buf_putc(b, '_');
    for (size_t i = 0; p[i] != '\0'; i++)
        vitte__buf_putc(b, (name_char(p[i], 0) && p[i] != ':') ? (char)p[i] : '_');
}

static int buf_ends_with(const vitte__buf *b, const char *suffix)
{
    size_t n = strlen(suffix);
    return b->len >= n && memcmp(b->data + b->len - n, suffix, n) == 0;
}

/* Prometheus base units (docs/practices/naming): a metric carrying one of
 * them gets it as a name suffix.  Other units ("ms", "req/s", "%") are not
 * base units and are left to HELP and the JSON/CSV unit field. */
static int unit_is_suffix(const char *unit)
{
    static const char *const base_units[] = {"seconds", "bytes",   "ratio",  "celsius", "meters",
                                             "volts",   "amperes", "joules", "grams",   "hertz"};
    for (size_t i = 0; i < sizeof base_units / sizeof base_units[0]; i++)
        if (strcmp(unit, base_units[i]) == 0)
            return 1;
    return 0;
}

/* The family name as exported: sanitized, the unit appended ("_seconds")
 * unless already there, and "_total" last for counters and meters. */
static void build_family_name(vitte__mexp *x, const vitte_metric_info *info)
{
    vitte__buf *b = &x->family;
    vitte__buf_clear(b);
    put_sanitized_name(b, info->name);
    int counter = info->type == VITTE_FAMILY_COUNTER || info->type == VITTE_FAMILY_METER;
    if (counter && buf_ends_with(b, "_total"))
        b->len -= 6; /* put back after the unit */
    if (info->unit != NULL && unit_is_suffix(info->unit)) {
        size_t ulen = strlen(info->unit);
        int has = b->len >= ulen && memcmp(b->data + b->len - ulen, info->unit, ulen) == 0 &&
                  (b->len == ulen || b->data[b->len - ulen - 1] == '_');
        if (!has) {
            vitte__buf_putc(b, '_');
            vitte__buf_append(b, info->unit, ulen);
        }
    }
    if (counter)
        vitte__buf_append(b, "_total", 6);
}

/* ---- escaping ------------------------------------------------------------------------- */

/* HELP escapes '\\' and newline; label values also '"'.  Invalid UTF-8 is
 * replaced by U+FFFD because Prometheus refuses such label values. */
static void put_escaped(vitte__buf *b, const char *s, int label_value)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n && b->err == 0) {
        size_t run = i;
        while (run < n && p[run] < 0x80 && p[run] != '\\' && p[run] != '\n' &&
               !(label_value && p[run] == '"'))
            run++;
        if (run > i) {
            vitte__buf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c == '\\') {
            vitte__buf_append(b, "\\\\", 2);
            i++;
        } else if (c == '\n') {
            vitte__buf_append(b, "\\n", 2);
            i++;
        } else if (c == '"') {
            vitte__buf_append(b, "\\\"", 2);
            i++;
        } else {
            i += vitte__buf_utf8(b, p + i, n - i);
        }
    }
}

/* k="v",k2="v2" (no braces) for the label set of info. */
static void put_labels(vitte__buf *b, const vitte_metric_info *info)
{
    for (size_t i = 0; i < info->n_labels; i++) {
        if (i != 0)
            vitte__buf_putc(b, ',');
        put_label_name(b, info->label_names[i]);
        vitte__buf_append(b, "=\"", 2);
        put_escaped(b, info->label_values[i], 1);
        vitte__buf_putc(b, '"');
    }
}

/* ---- samples --------------------------------------------------------------------------- */

/* name[suffix]{labels[,extra]} — the part of a sample line before the value,
 * followed by the separating space. */
static void put_series(vitte__mexp *x, const char *suffix, size_t suffix_len, const char *extra,
                       size_t extra_len)
{
    vitte__buf *b = x->out;
    vitte__buf_append(b, x->family.data, x->family.len);
    vitte__buf_append(b, suffix, suffix_len);
    if (x->labels.len != 0 || extra_len != 0) {
        vitte__buf_putc(b, '{');
        vitte__buf_append(b, x->labels.data, x->labels.len);
        if (x->labels.len != 0 && extra_len != 0)
            vitte__buf_putc(b, ',');
        vitte__buf_append(b, extra, extra_len);
        vitte__buf_putc(b, '}');
    }
    vitte__buf_putc(b, ' ');
}

static void put_u64_line(vitte__buf *b, uint64_t v)
{
    vitte__buf_u64(b, v);
    vitte__buf_putc(b, '\n');
}

static void put_double_line(vitte__buf *b, double v)
{
    vitte__buf_double_go(b, v);
    vitte__buf_putc(b, '\n');
}

static void put_header(vitte__mexp *x, const vitte_metric_info *info, const char *type)
{
    vitte__buf *b = x->out;
    /* Families made without help text (vitte_metrics_insert_timer() makes
     * them) get their registered name: promtool and client conventions
     * want a HELP for every family, and the name at least says where the
     * metric came from once sanitizing has changed it. */
    const char *help = info->help != NULL && info->help[0] != '\0' ? info->help : info->name;
    vitte__buf_append(b, "# HELP ", 7);
    vitte__buf_append(b, x->family.data, x->family.len);
    vitte__buf_putc(b, ' ');
    put_escaped(b, help, 0);
    vitte__buf_putc(b, '\n');
    vitte__buf_append(b, "# TYPE ", 7);
    vitte__buf_append(b, x->family.data, x->family.len);
    vitte__buf_putc(b, ' ');
    vitte__buf_puts(b, type);
    vitte__buf_putc(b, '\n');
}

/* The le="..." texts for these bounds, formatted once and reused while the
 * following histograms carry the same bounds. */
static int prepare_le(vitte__mexp *x, const double *bounds, size_t n)
{
    if (n == 0) {
        x->n_le = 0;
        return VITTE_OK;
    }
    if (n == x->n_le && memcmp(bounds, x->le_bounds, n * sizeof *bounds) == 0)
        return VITTE_OK;
    vitte__free(x->le_bounds);
    vitte__free(x->le_end);
    x->le_bounds = vitte__calloc(n, sizeof *x->le_bounds);
    x->le_end = vitte__calloc(n, sizeof *x->le_end);
    x->n_le = 0;
    if (x->le_bounds == NULL || x->le_end == NULL)
        return VITTE_ENOMEM;
    memcpy(x->le_bounds, bounds, n * sizeof *bounds);
    vitte__buf_clear(&x->le_text);
    for (size_t i = 0; i < n; i++) {
        vitte__buf_append(&x->le_text, "le=\"", 4);
        vitte__buf_double_go(&x->le_text, bounds[i]);
        vitte__buf_putc(&x->le_text, '"');
        x->le_end[i] = x->le_text.len;
    }
    if (x->le_text.err != 0)
        return x->le_text.err;
    x->n_le = n;
    return VITTE_OK;
}

static int put_histogram(vitte__mexp *x, vitte_histogram *h)
{
    size_t n = 0;
    const double *bounds = vitte_histogram_bounds(h, &n);
    if (bounds == NULL)
        n = 0;
    int rc = prepare_le(x, bounds, n);
    if (rc != VITTE_OK)
        return rc;
    vitte__mexp_hist hs;
    rc = vitte__export_hist_read(h, 0, &hs);
    if (rc != VITTE_OK)
        return rc;
    /* Every line below comes from this one snapshot, so the +Inf bucket,
     * _count and _sum agree even while other threads record. */
    vitte__mexp_cum cum;
    vitte__export_cum_init(&cum, &hs);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        /* A bound at +Inf would duplicate the implied one; NaN is no bound. */
        if (!isfinite(bounds[i])) {
            start = x->le_end[i];
            continue;
        }
        put_series(x, "_bucket", 7, x->le_text.data + start, x->le_end[i] - start);
        put_u64_line(x->out, vitte__export_cum_next(&cum, bounds[i]));
        start = x->le_end[i];
    }
    put_series(x, "_bucket", 7, "le=\"+Inf\"", 9);
    put_u64_line(x->out, hs.count);
    put_series(x, "_sum", 4, NULL, 0);
    put_double_line(x->out, hs.sum);
    put_series(x, "_count", 6, NULL, 0);
    put_u64_line(x->out, hs.count);
    vitte__export_hist_release(&hs);
    return VITTE_OK;
}

static void put_summary(vitte__mexp *x, const vitte_series *s)
{
    static const struct {
        double q;
        const char *label;
    } qs[] = {{0.5, "quantile=\"0.5\""}, {0.9, "quantile=\"0.9\""}, {0.99, "quantile=\"0.99\""}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        put_series(x, "", 0, qs[i].label, strlen(qs[i].label));
        put_double_line(x->out, vitte_series_quantile(s, qs[i].q));
    }
    put_series(x, "_sum", 4, NULL, 0);
    put_double_line(x->out, vitte_series_total_sum(s));
    put_series(x, "_count", 6, NULL, 0);
    put_u64_line(x->out, vitte_series_total_count(s));
}

static const char *prom_type(vitte_family_type type)
{
    switch (type) {
    case VITTE_FAMILY_COUNTER:
    case VITTE_FAMILY_METER:
        return "counter";
    case VITTE_FAMILY_GAUGE:
        return "gauge";
    case VITTE_FAMILY_HISTOGRAM:
        return "histogram";
    case VITTE_FAMILY_SERIES:
        return "summary";
    }
    return "untyped";
}

int vitte__export_prom_visit(const vitte_metric_info *info, void *ud)
{
    vitte__mexp *x = ud;
    if (info->child_index == 0 || x->family.len == 0) {
        build_family_name(x, info);
        if (x->family.err != 0)
            return vitte__export_fail(x, x->family.err);
        put_header(x, info, prom_type(info->type));
    }
    vitte__buf_clear(&x->labels);
    put_labels(&x->labels, info);
    if (x->labels.err != 0)
        return vitte__export_fail(x, x->labels.err);

    int rc = VITTE_OK;
    switch (info->type) {
    case VITTE_FAMILY_COUNTER:
        put_series(x, "", 0, NULL, 0);
        if (info->export_scale != 1.0) /* a scaled counter: CPU seconds from nanoseconds */
            put_double_line(x->out,
                            (double)vitte_counter_value(info->counter) * info->export_scale);
        else
            put_u64_line(x->out, vitte_counter_value(info->counter));
        break;
    case VITTE_FAMILY_GAUGE:
        put_series(x, "", 0, NULL, 0);
        put_double_line(x->out, vitte_gauge_value(info->gauge));
        break;
    case VITTE_FAMILY_METER:
        put_series(x, "", 0, NULL, 0);
        put_u64_line(x->out, vitte_meter_count(info->meter));
        break;
    case VITTE_FAMILY_HISTOGRAM:
        rc = put_histogram(x, info->histogram);
        break;
    case VITTE_FAMILY_SERIES:
        put_summary(x, info->series);
        break;
    }
    if (rc != VITTE_OK)
        return vitte__export_fail(x, rc);
    if (x->out->err != 0)
        return vitte__export_fail(x, x->out->err);
    return 0;
}
