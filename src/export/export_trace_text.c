/* vitte: the text summary of a trace.
 *
 * File facts first (what was read, how long, how many threads and events,
 * what the tracer dropped), then one table of span names sorted by self
 * time (count, total, self, mean, p50, p90, p99, max), per thread or per
 * module when asked, then counters and instants, then the warnings.
 *
 * Memory is bounded by the number of distinct (group, name) rows: each row
 * holds exact sums and one log-linear vitte_histogram for the quantiles
 * (within 1 %), whatever the number of events. */
#include "export/export_trace.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <vitte/metrics.h>

#include "common/alloc.h"

typedef struct trow {
    uint32_t group;
    uint32_t name;
    uint64_t count, total, self, max;
    vitte_histogram *h;
} trow;

typedef struct tgroup {
    uint64_t key; /* thread: stream << 32 | tid; module: its name id; by name: 0 */
    uint64_t self;
    uint64_t count;
} tgroup;

typedef struct tcounter {
    uint32_t name;
    uint64_t count;
    double min, max, sum, last;
} tcounter;

typedef struct tinstant {
    uint32_t name;
    uint64_t count;
} tinstant;

typedef struct text_sink {
    vitte__xsink base;
    vitte__xnames names;
    vitte_histogram_config hcfg;
    vitte__xmap group_index; /* group key -> index + 1 */
    tgroup *groups;
    size_t n_groups, cap_groups;
    vitte__xmap row_index; /* group << 32 | name -> index + 1 */
    trow *rows;
    size_t n_rows, cap_rows;
    vitte__xmap counter_index; /* name -> index + 1 */
    tcounter *counters;
    size_t n_counters, cap_counters;
    vitte__xmap instant_index;
    tinstant *instants;
    size_t n_instants, cap_instants;
    uint64_t total_self;
    int err;
} text_sink;

/* Grow *arr (elements of size) to hold one more; returns 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap != 0 ? *cap * 2 : 16;
    void *p = vitte__realloc(*arr, c * size);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static int64_t intern(text_sink *t, const char *s)
{
    int64_t id = vitte__xnames_intern(&t->names, s, strlen(s));
    if (id < 0 || id >= (int64_t)UINT32_MAX)
        return -1;
    return id;
}

/* The index of the entry for key in (index, arr), created zeroed if new. */
static int64_t lookup(vitte__xmap *index, void **arr, size_t *n, size_t *cap, size_t size,
                      uint64_t key)
{
    int created;
    uint64_t *v = vitte__xmap_upsert(index, key, &created);
    if (v == NULL)
        return -1;
    if (created) {
        if (grow(arr, cap, *n, size) != 0) {
            *v = 0;
            return -1;
        }
        memset((char *)*arr + *n * size, 0, size);
        *v = ++*n;
    }
    if (*v == 0)
        return -1;
    return (int64_t)(*v - 1);
}

static int text_span(text_sink *t, const vitte__xevent *e)
{
    const vitte_trace_event *ev = e->ev;
    uint64_t gkey = 0;
    if (t->base.opt->by == VITTE_TRACE_BY_THREAD) {
        gkey = (uint64_t)e->stream << 32 | ev->tid;
    } else if (t->base.opt->by == VITTE_TRACE_BY_MODULE) {
        int64_t m = intern(t, ev->module);
        if (m < 0)
            return VITTE_ENOMEM;
        gkey = (uint64_t)m;
    }
    int64_t g = lookup(&t->group_index, (void **)&t->groups, &t->n_groups, &t->cap_groups,
                       sizeof *t->groups, gkey);
    int64_t name = intern(t, ev->name);
    if (g < 0 || name < 0)
        return VITTE_ENOMEM;
    t->groups[g].key = gkey;
    int64_t r = lookup(&t->row_index, (void **)&t->rows, &t->n_rows, &t->cap_rows, sizeof *t->rows,
                       (uint64_t)g << 32 | (uint64_t)name);
    if (r < 0)
        return VITTE_ENOMEM;
    trow *row = &t->rows[r];
    if (row->h == NULL) {
        row->group = (uint32_t)g;
        row->name = (uint32_t)name;
        if (vitte_histogram_create(&t->hcfg, &row->h) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    row->count++;
    row->total += ev->dur_ns;
    row->self += e->self_ns;
    if (ev->dur_ns > row->max)
        row->max = ev->dur_ns;
    vitte_histogram_record(row->h, (double)ev->dur_ns);
    t->groups[g].self += e->self_ns;
    t->groups[g].count++;
    t->total_self += e->self_ns;
    return VITTE_OK;
}

static int text_event(vitte__xsink *s, const vitte__xevent *e)
{
    text_sink *t = (text_sink *)s;
    const vitte_trace_event *ev = e->ev;
    if (ev->type == VITTE_EVENT_SPAN)
        return text_span(t, e);
    if (ev->type == VITTE_EVENT_COUNTER) {
        int64_t name = intern(t, ev->name);
        if (name < 0)
            return VITTE_ENOMEM;
        int64_t i = lookup(&t->counter_index, (void **)&t->counters, &t->n_counters,
                           &t->cap_counters, sizeof *t->counters, (uint64_t)name);
        if (i < 0)
            return VITTE_ENOMEM;
        tcounter *c = &t->counters[i];
        if (c->count == 0) {
            c->name = (uint32_t)name;
            c->min = c->max = ev->value;
        }
        c->count++;
        c->min = fmin(c->min, ev->value);
        c->max = fmax(c->max, ev->value);
        c->sum += ev->value;
        c->last = ev->value;
    } else if (ev->type == VITTE_EVENT_INSTANT) {
        int64_t name = intern(t, ev->name);
        if (name < 0)
            return VITTE_ENOMEM;
        int64_t i = lookup(&t->instant_index, (void **)&t->instants, &t->n_instants,
                           &t->cap_instants, sizeof *t->instants, (uint64_t)name);
        if (i < 0)
            return VITTE_ENOMEM;
        t->instants[i].name = (uint32_t)name;
        t->instants[i].count++;
    }
    return VITTE_OK;
}

/* ---- writing ----------------------------------------------------------------------------------
 */

static const char *dur(char *buf, uint64_t ns)
{
    vitte__export_fmt_dur(buf, 24, ns);
    return buf;
}

/* A name on one line: control characters would break the table. */
static void put_name(vitte__buf *b, const char *s)
{
    if (s[0] == '\0') {
        vitte__buf_puts(b, "(unnamed)");
        return;
    }
    for (const char *p = s; *p != '\0'; p++)
        vitte__buf_putc(b, (unsigned char)*p < 0x20 ? ' ' : *p);
}

static void put_facts(vitte__buf *b, const vitte__xsummary *sum)
{
    char d1[24];
    vitte__buf_puts(b, "vitte trace summary\n");
    size_t processes = 0;
    for (size_t i = 0; i < sum->n_files; i++) {
        const vitte__xfile *f = &sum->files[i];
        vitte__buf_printf(b, "%-11s", i == 0 ? "file:" : "");
        put_name(b, f->path);
        if (!f->opened) {
            vitte__buf_puts(b, ": not read\n");
            continue;
        }
        processes++;
        vitte__buf_printf(b, ": pid %u", f->pid);
        if (f->process_name[0] != '\0') {
            vitte__buf_puts(b, " (");
            put_name(b, f->process_name);
            vitte__buf_putc(b, ')');
        }
        vitte__buf_printf(b, ", format %u.%u, clock %s", f->version_major, f->version_minor,
                          f->clock[0] != '\0' ? f->clock : "?");
        if (f->tsc_hz > 0)
            vitte__buf_printf(b, " %.3f GHz", f->tsc_hz / 1e9);
        vitte__buf_printf(b, ", %s\n",
                          f->status != VITTE_OK ? "damaged (see warnings)"
                          : f->complete         ? "complete"
                                                : "not finished");
    }
    if (sum->n_files == 0)
        vitte__buf_puts(b, "file:      (none)\n");
    vitte__buf_printf(b, "duration:  %s", dur(d1, sum->duration_ns));
    if (sum->start_realtime_ns > 0) {
        time_t secs = (time_t)(sum->start_realtime_ns / 1000000000);
        struct tm tm;
        char when[64];
        if (gmtime_r(&secs, &tm) != NULL && strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm))
            vitte__buf_printf(b, " from %s.%03d UTC", when,
                              (int)(sum->start_realtime_ns / 1000000 % 1000));
    }
    vitte__buf_putc(b, '\n');
    vitte__buf_printf(b, "processes: %zu, threads: %zu\n", processes, sum->n_threads);
    const uint64_t *k = sum->kept_by_type;
    vitte__buf_printf(b, "events:    %llu read", (unsigned long long)sum->events_read);
    if (sum->events_kept != sum->events_read)
        vitte__buf_printf(b, ", %llu after filters", (unsigned long long)sum->events_kept);
    vitte__buf_printf(
        b, " (%llu spans, %llu instants, %llu counter values, %llu async, %llu flow)\n",
        (unsigned long long)k[VITTE_EVENT_SPAN], (unsigned long long)k[VITTE_EVENT_INSTANT],
        (unsigned long long)k[VITTE_EVENT_COUNTER],
        (unsigned long long)(k[VITTE_EVENT_ASYNC_BEGIN] + k[VITTE_EVENT_ASYNC_END]),
        (unsigned long long)(k[VITTE_EVENT_FLOW_BEGIN] + k[VITTE_EVENT_FLOW_STEP] +
                             k[VITTE_EVENT_FLOW_END]));
    vitte__buf_printf(b, "dropped:   %llu%s\n", (unsigned long long)sum->dropped,
                      sum->dropped != 0 ? " (buffers were full: figures below are low)" : "");
    if (sum->n_files > 1)
        vitte__buf_printf(b, "timeline:  %zu files aligned on %s\n", sum->n_files,
                          sum->realtime_base ? "CLOCK_REALTIME (different hosts or boots)"
                                             : "CLOCK_MONOTONIC");

    const vitte_trace_export_options *o = sum->opt;
    if (o->module != NULL || o->tag != NULL || o->thread != NULL || o->min_duration_ns != 0 ||
        o->from_ns != 0 || o->to_ns != 0) {
        vitte__buf_puts(b, "filters:  ");
        if (o->module != NULL)
            vitte__buf_printf(b, " module=%s", o->module);
        if (o->tag != NULL)
            vitte__buf_printf(b, " tag=%s", o->tag);
        if (o->thread != NULL)
            vitte__buf_printf(b, " thread=%s", o->thread);
        if (o->min_duration_ns != 0)
            vitte__buf_printf(b, " min-duration=%s", dur(d1, o->min_duration_ns));
        if (o->from_ns != 0)
            vitte__buf_printf(b, " from=%s", dur(d1, o->from_ns));
        if (o->to_ns != 0)
            vitte__buf_printf(b, " to=%s", dur(d1, o->to_ns));
        vitte__buf_putc(b, '\n');
    }
}

static int cmp_groups(const void *a, const void *b)
{
    const tgroup *x = *(const tgroup *const *)a, *y = *(const tgroup *const *)b;
    if (x->self != y->self)
        return x->self > y->self ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

typedef struct row_order {
    const trow *row;
    const char *name;
} row_order;

static int cmp_rows(const void *a, const void *b)
{
    const row_order *x = a, *y = b;
    if (x->row->group != y->row->group)
        return x->row->group < y->row->group ? -1 : 1;
    if (x->row->self != y->row->self)
        return x->row->self > y->row->self ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void put_row_header(vitte__buf *b)
{
    vitte__buf_printf(b, "%10s %10s %10s %6s %10s %10s %10s %10s %10s  %s\n", "count", "total",
                      "self", "self%", "mean", "p50", "p90", "p99", "max", "name");
}

static void put_row(vitte__buf *b, const trow *r, const char *name, uint64_t total_self)
{
    char c[9][24];
    double pct = total_self != 0 ? 100.0 * (double)r->self / (double)total_self : 0.0;
    uint64_t q[3];
    static const double qs[3] = {0.5, 0.9, 0.99};
    for (int i = 0; i < 3; i++) {
        double v = vitte_histogram_quantile(r->h, qs[i]);
        q[i] = isfinite(v) && v > 0 ? (uint64_t)llround(v) : 0;
    }
    vitte__buf_printf(b, "%10llu %10s %10s %5.1f%% %10s %10s %10s %10s %10s  ",
                      (unsigned long long)r->count, dur(c[0], r->total), dur(c[1], r->self), pct,
                      dur(c[2], r->count != 0 ? r->total / r->count : 0), dur(c[3], q[0]),
                      dur(c[4], q[1]), dur(c[5], q[2]), dur(c[6], r->max));
    put_name(b, name);
    vitte__buf_putc(b, '\n');
}

static void put_group_title(text_sink *t, vitte__buf *b, const tgroup *g,
                            const vitte__xsummary *sum)
{
    if (t->base.opt->by == VITTE_TRACE_BY_THREAD) {
        uint32_t stream = (uint32_t)(g->key >> 32), tid = (uint32_t)g->key;
        vitte__buf_puts(b, "\nthread ");
        vitte__export_thread_label(b, sum, stream, tid);
        if (sum->n_files > 1) {
            vitte__buf_puts(b, " in ");
            vitte__export_process_label(b, sum, stream);
        }
    } else {
        const char *m = t->names.str[g->key];
        vitte__buf_puts(b, "\nmodule ");
        put_name(b, m[0] != '\0' ? m : "(none)");
    }
    char d[24];
    vitte__buf_printf(b, ": %llu spans, self %s\n", (unsigned long long)g->count, dur(d, g->self));
}

static int text_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    text_sink *t = (text_sink *)s;
    vitte__buf *b = s->out;
    put_facts(b, sum);

    if (t->n_rows == 0) {
        vitte__buf_puts(b, "\nno spans\n");
    } else {
        row_order *order = vitte__calloc(t->n_rows, sizeof *order);
        const tgroup **gorder = vitte__calloc(t->n_groups, sizeof *gorder);
        uint32_t *rank = vitte__calloc(t->n_groups, sizeof *rank);
        if (order == NULL || gorder == NULL || rank == NULL) {
            vitte__free(order);
            vitte__free(gorder);
            vitte__free(rank);
            return VITTE_ENOMEM;
        }
        for (size_t i = 0; i < t->n_groups; i++)
            gorder[i] = &t->groups[i];
        qsort(gorder, t->n_groups, sizeof *gorder, cmp_groups);
        for (size_t i = 0; i < t->n_groups; i++)
            rank[gorder[i] - t->groups] = (uint32_t)i;
        /* Sort rows by (group rank, self desc, name): rewrite each row's
         * group as its rank for the comparison. */
        for (size_t i = 0; i < t->n_rows; i++) {
            t->rows[i].group = rank[t->rows[i].group];
            order[i] = (row_order){&t->rows[i], t->names.str[t->rows[i].name]};
        }
        qsort(order, t->n_rows, sizeof *order, cmp_rows);
        vitte__buf_printf(
            b, "\nspans by self time (self: time not in child spans; quantiles within 1%%)\n");
        uint32_t cur = UINT32_MAX;
        for (size_t i = 0; i < t->n_rows; i++) {
            const trow *r = order[i].row;
            if (r->group != cur) {
                cur = r->group;
                if (t->base.opt->by != VITTE_TRACE_BY_NAME)
                    put_group_title(t, b, gorder[cur], sum);
                put_row_header(b);
            }
            put_row(b, r, order[i].name, t->total_self);
        }
        vitte__free(order);
        vitte__free(gorder);
        vitte__free(rank);
    }

    if (t->n_counters != 0) {
        vitte__buf_printf(b, "\ncounters\n%10s %12s %12s %12s %12s  %s\n", "values", "min", "mean",
                          "max", "last", "name");
        for (size_t i = 0; i < t->n_counters; i++) {
            const tcounter *c = &t->counters[i];
            vitte__buf_printf(b, "%10llu %12.6g %12.6g %12.6g %12.6g  ",
                              (unsigned long long)c->count, c->min, c->sum / (double)c->count,
                              c->max, c->last);
            put_name(b, t->names.str[c->name]);
            vitte__buf_putc(b, '\n');
        }
    }
    if (t->n_instants != 0) {
        vitte__buf_printf(b, "\ninstants\n%10s  %s\n", "count", "name");
        for (size_t i = 0; i < t->n_instants; i++) {
            vitte__buf_printf(b, "%10llu  ", (unsigned long long)t->instants[i].count);
            put_name(b, t->names.str[t->instants[i].name]);
            vitte__buf_putc(b, '\n');
        }
    }
    if (sum->n_warnings != 0) {
        vitte__buf_puts(b, "\nwarnings\n");
        for (size_t i = 0; i < sum->n_warnings; i++) {
            vitte__buf_puts(b, "  ");
            put_name(b, sum->warnings[i]);
            vitte__buf_putc(b, '\n');
        }
    }
    return b->err;
}

static void text_destroy(vitte__xsink *s)
{
    text_sink *t = (text_sink *)s;
    for (size_t i = 0; i < t->n_rows; i++)
        vitte_histogram_destroy(t->rows[i].h);
    vitte__free(t->rows);
    vitte__free(t->groups);
    vitte__free(t->counters);
    vitte__free(t->instants);
    vitte__xmap_fini(&t->row_index);
    vitte__xmap_fini(&t->group_index);
    vitte__xmap_fini(&t->counter_index);
    vitte__xmap_fini(&t->instant_index);
    vitte__xnames_fini(&t->names);
    vitte__free(t);
}

static const vitte__xsink_ops text_ops = {text_event, NULL, NULL, text_finish, text_destroy};

int vitte__export_text_create(vitte__buf *out, const vitte_trace_export_options *opt,
                              vitte__xsink **sink)
{
    text_sink *t = vitte__calloc(1, sizeof *t);
    if (t == NULL)
        return VITTE_ENOMEM;
    t->base = (vitte__xsink){&text_ops, out, opt};
    vitte__xnames_init(&t->names);
    vitte__xmap_init(&t->row_index);
    vitte__xmap_init(&t->group_index);
    vitte__xmap_init(&t->counter_index);
    vitte__xmap_init(&t->instant_index);
    /* Durations in ns from 1 ns to 2^50 ns (13 days): about 50 powers of
     * two, at most ~25 KiB per row, usually a few KiB. */
    vitte_histogram_config_init(&t->hcfg);
    t->hcfg.lowest = 1;
    t->hcfg.highest = 1125899906842624.0;
    *sink = &t->base;
    return VITTE_OK;
}
