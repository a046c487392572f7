/* vitte: the text summary of a trace.
 *
 * File facts first (what was read, how long, how many threads and events,
 * what the tracer dropped); then, when the trace holds samples, the
 * profile: the sampler's facts per file, functions by self and by total
 * time, CPU time per thread and per module; then one table of span names
 * sorted by self time (count, total, self, mean, p50, p90, p99, max), per
 * thread or per module when asked, then counters and instants, then the
 * warnings.
 *
 * Memory is bounded by the number of distinct (group, name) rows: each row
 * holds exact sums and one log-linear vitte_histogram for the quantiles
 * (within 1 %), whatever the number of events; samples, by the number of
 * distinct functions, threads and modules. */
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

/* A function of the samples: (name, module, inlined).  An inlined
 * instance is a function of its own, as in pprof. */
typedef struct tfunc {
    uint32_t name, module;
    uint32_t file; /* names id, or UINT32_MAX when unknown */
    uint32_t line; /* the lowest line sampled in it, 0 when unknown */
    uint8_t inlined;
    uint64_t self, total;     /* sample weight, ns */
    uint64_t self_n, total_n; /* samples */
    uint64_t stamp;           /* the last sample counted in total (recursion) */
} tfunc;

/* Samples of a thread (key stream << 32 | tid) or a module (key: its name). */
typedef struct tsgroup {
    uint64_t key;
    uint64_t n, weight;
} tsgroup;

/* Samples of a file. */
typedef struct tsstream {
    uint64_t n, weight;
    unsigned kinds; /* 1 << vitte_sample_kind */
} tsstream;

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
    /* samples */
    vitte__xmap func_index; /* name << 32 | module << 1 | inlined -> index + 1 */
    tfunc *funcs;
    size_t n_funcs, cap_funcs;
    vitte__xmap sthread_index;
    tsgroup *sthreads;
    size_t n_sthreads, cap_sthreads;
    vitte__xmap smodule_index;
    tsgroup *smodules;
    size_t n_smodules, cap_smodules;
    tsstream *streams;
    size_t n_streams;
    uint64_t samples, weight; /* all of them */
    uint64_t unsymbolized;    /* weight whose leaf has no symbol */
    unsigned kinds;
    /* What a stack of a file adds, worked out on its first sample:
     * (stream << 32 | stack id) -> offset + 1 in pool, where pool holds
     * n, leaf function, leaf module group, leaf unsymbolized, then the n
     * distinct functions of the stack. */
    vitte__xmap stack_cache;
    uint32_t *pool;
    size_t n_pool, cap_pool;
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

/* ---- samples -------------------------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static int64_t sample_func(text_sink *t, const char *name, const char *module, int inlined,
                           const char *file, uint32_t line)
{
    int64_t n = intern(t, name);
    int64_t m = intern(t, module);
    if (n < 0 || m < 0 || m >= INT32_MAX)
        return -1;
    uint64_t key = (uint64_t)n << 32 | (uint64_t)m << 1 | (inlined != 0);
    int64_t i = lookup(&t->func_index, (void **)&t->funcs, &t->n_funcs, &t->cap_funcs,
                       sizeof *t->funcs, key);
    if (i < 0)
        return -1;
    tfunc *f = &t->funcs[i];
    if (f->total_n == 0 && f->stamp == 0) {
        f->name = (uint32_t)n;
        f->module = (uint32_t)m;
        f->inlined = inlined != 0;
        f->file = UINT32_MAX;
    }
    if (file[0] != '\0') {
        if (f->file == UINT32_MAX) {
            int64_t id = intern(t, file);
            if (id < 0)
                return -1;
            f = &t->funcs[i];
            f->file = (uint32_t)id;
            f->line = line;
        } else if (line != 0 && (f->line == 0 || line < f->line) &&
                   strcmp(t->names.str[f->file], file) == 0) {
            f->line = line;
        }
    }
    return i;
}

static int64_t sample_group(vitte__xmap *index, tsgroup **arr, size_t *n, size_t *cap, uint64_t key)
{
    int64_t i = lookup(index, (void **)arr, n, cap, sizeof **arr, key);
    if (i >= 0)
        (*arr)[i].key = key;
    return i;
}

static int text_sample(text_sink *t, const vitte__xevent *e)
{
    const vitte_trace_event *ev = e->ev;
    uint64_t w = ev->dur_ns;
    uint64_t seq = ++t->samples;
    t->weight += w;
    t->kinds |= 1u << (ev->sample_kind & 7);
    if (e->stream >= t->n_streams) {
        size_t n = (size_t)e->stream + 1;
        tsstream *st = vitte__realloc(t->streams, n * sizeof *st);
        if (st == NULL)
            return VITTE_ENOMEM;
        memset(st + t->n_streams, 0, (n - t->n_streams) * sizeof *st);
        t->streams = st;
        t->n_streams = n;
    }
    tsstream *st = &t->streams[e->stream];
    st->n++;
    st->weight += w;
    st->kinds |= 1u << (ev->sample_kind & 7);
    int64_t th = sample_group(&t->sthread_index, &t->sthreads, &t->n_sthreads, &t->cap_sthreads,
                              (uint64_t)e->stream << 32 | ev->tid);
    if (th < 0)
        return VITTE_ENOMEM;
    t->sthreads[th].n++;
    t->sthreads[th].weight += w;

    /* A stack seen before: its functions are known. */
    uint64_t ckey = (uint64_t)e->stream << 32 | ev->id;
    int cacheable = ev->id != 0 && ev->id < UINT32_MAX && ev->n_frames > 0;
    if (cacheable) {
        const uint64_t *c = vitte__xmap_find(&t->stack_cache, ckey);
        if (c != NULL) {
            const uint32_t *p = t->pool + (*c - 1);
            tfunc *leaf = &t->funcs[p[1]];
            leaf->self += w;
            leaf->self_n++;
            t->smodules[p[2]].n++;
            t->smodules[p[2]].weight += w;
            if (p[3])
                t->unsymbolized += w;
            for (uint32_t k = 0; k < p[0]; k++) {
                tfunc *f = &t->funcs[p[4 + k]];
                f->total += w;
                f->total_n++;
                f->stamp = seq;
            }
            return VITTE_OK;
        }
    }
    size_t pool_at = t->n_pool;
    uint32_t n_distinct = 0;
    if (cacheable) {
        if (t->n_pool + 4 + ev->n_frames > t->cap_pool) {
            size_t cap = t->cap_pool ? t->cap_pool : 4096;
            while (cap < t->n_pool + 4 + ev->n_frames)
                cap *= 2;
            uint32_t *np = vitte__realloc(t->pool, cap * sizeof *np);
            if (np == NULL)
                return VITTE_ENOMEM;
            t->pool = np;
            t->cap_pool = cap;
        }
        t->n_pool += 4;
    }

    /* A sample without frames counts for its leaf name, if any. */
    vitte_trace_frame none;
    const vitte_trace_frame *frames = ev->frames;
    size_t n = ev->n_frames;
    if (n == 0 || frames == NULL) {
        memset(&none, 0, sizeof none);
        none.function = ev->name[0] != '\0' ? ev->name : "(no stack)";
        none.file = ev->file;
        none.line = ev->line;
        none.symbolized = 1;
        frames = &none;
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const vitte_trace_frame *fr = &frames[i];
        const char *module = fr->mapping != NULL ? base_name(fr->mapping->path)
                             : frames == &none   ? ev->module
                                                 : "";
        int64_t fi = sample_func(t, fr->function != NULL ? fr->function : "?", module, fr->inlined,
                                 fr->file != NULL ? fr->file : "", fr->line);
        if (fi < 0)
            return VITTE_ENOMEM;
        tfunc *f = &t->funcs[fi];
        if (i == 0) {
            f->self += w;
            f->self_n++;
            if (!fr->symbolized)
                t->unsymbolized += w;
            int64_t mi = sample_group(&t->smodule_index, &t->smodules, &t->n_smodules,
                                      &t->cap_smodules, f->module);
            if (mi < 0)
                return VITTE_ENOMEM;
            f = &t->funcs[fi];
            t->smodules[mi].n++;
            t->smodules[mi].weight += w;
            if (cacheable) {
                t->pool[pool_at + 1] = (uint32_t)fi;
                t->pool[pool_at + 2] = (uint32_t)mi;
                t->pool[pool_at + 3] = !fr->symbolized;
            }
        }
        if (f->stamp != seq) {
            /* Once per sample: a recursive function is not counted twice. */
            f->stamp = seq;
            f->total += w;
            f->total_n++;
            if (cacheable)
                t->pool[t->n_pool + n_distinct++] = (uint32_t)fi;
        }
    }
    if (cacheable) {
        t->pool[pool_at] = n_distinct;
        t->n_pool += n_distinct;
        uint64_t *slot = vitte__xmap_upsert(&t->stack_cache, ckey, NULL);
        if (slot == NULL)
            return VITTE_ENOMEM;
        *slot = pool_at + 1;
    }
    return VITTE_OK;
}

static int text_event(vitte__xsink *s, const vitte__xevent *e)
{
    text_sink *t = (text_sink *)s;
    const vitte_trace_event *ev = e->ev;
    if (ev->type == VITTE_EVENT_SPAN)
        return text_span(t, e);
    if (ev->type == VITTE_EVENT_SAMPLE)
        return text_sample(t, e);
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
    vitte__buf_printf(b, " (%llu spans, %llu instants, %llu counter values, %llu async, %llu flow",
                      (unsigned long long)k[VITTE_EVENT_SPAN],
                      (unsigned long long)k[VITTE_EVENT_INSTANT],
                      (unsigned long long)k[VITTE_EVENT_COUNTER],
                      (unsigned long long)(k[VITTE_EVENT_ASYNC_BEGIN] + k[VITTE_EVENT_ASYNC_END]),
                      (unsigned long long)(k[VITTE_EVENT_FLOW_BEGIN] + k[VITTE_EVENT_FLOW_STEP] +
                                           k[VITTE_EVENT_FLOW_END]));
    if (k[VITTE_EVENT_SAMPLE] != 0)
        vitte__buf_printf(b, ", %llu samples", (unsigned long long)k[VITTE_EVENT_SAMPLE]);
    vitte__buf_puts(b, ")\n");
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

/* ---- the profile ------------------------------------------------------------------------------
 */

/* Rows of the function tables; more are summed up in one line. */
#define MAX_FUNCTION_ROWS 30
/* Incomplete stacks above this share get a hint. */
#define INCOMPLETE_HINT_PCT 10.0

static double pct(uint64_t part, uint64_t whole)
{
    return whole != 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* "CPU", "wall" or "sampled" time, after the kinds of samples met. */
static const char *kind_word(unsigned kinds)
{
    if (kinds == 1u << VITTE_SAMPLE_WALL)
        return "wall";
    if (kinds == 1u << VITTE_SAMPLE_CPU || kinds == 0)
        return "CPU";
    return "sampled";
}

static void put_rate(vitte__buf *b, double hz)
{
    if (hz >= 100)
        vitte__buf_printf(b, "%.0f Hz", hz);
    else
        vitte__buf_printf(b, "%.1f Hz", hz);
}

/* A hint on two lines at most. */
static void put_hint(vitte__buf *b, const char *line1, const char *line2)
{
    vitte__buf_printf(b, "%-11s%s\n", "hint:", line1);
    if (line2 != NULL)
        vitte__buf_printf(b, "%-11s%s\n", "", line2);
}

/* The sampler's facts of one file. */
static void put_sampler(vitte__buf *b, const vitte__xfile *f, const tsstream *st)
{
    char d1[24];
    const char *kw = kind_word(st->kinds);
    double secs = (double)st->weight / 1e9;
    vitte__buf_printf(b, "%-11s", "sampler:");
    if (f->sampler[0] != '\0') {
        put_name(b, f->sampler);
        if (f->call_graph[0] != '\0') {
            vitte__buf_puts(b, ", call graph ");
            put_name(b, f->call_graph);
        }
        vitte__buf_puts(b, ", ");
    } else {
        vitte__buf_puts(b, "unknown, ");
    }
    if (f->sample_freq != 0)
        vitte__buf_printf(b, "%llu Hz asked, ", (unsigned long long)f->sample_freq);
    if (secs > 0) {
        double hz = (double)st->n / secs;
        put_rate(b, hz);
        vitte__buf_printf(b, " reached (%llu sample%s in %s of %s time)", (unsigned long long)st->n,
                          st->n == 1 ? "" : "s", dur(d1, st->weight), kw);
        vitte__buf_putc(b, '\n');
        if (f->sample_freq != 0 && hz < 0.8 * (double)f->sample_freq &&
            strcmp(f->sampler, "signal") == 0)
            vitte__buf_printf(b,
                              "%-11s(CPU-time timers tick at the kernel's HZ, whatever is "
                              "asked)\n",
                              "");
    } else {
        vitte__buf_printf(b, "%llu samples, no time measured\n", (unsigned long long)st->n);
    }
    if (f->sampler_note[0] != '\0') {
        vitte__buf_printf(b, "%-11s", "");
        put_name(b, f->sampler_note);
        vitte__buf_putc(b, '\n');
    }
    if (f->sampler[0] == '\0')
        return; /* no counts from the sampler */

    uint64_t written = f->prof_samples != 0 ? f->prof_samples : st->n;
    uint64_t incomplete = f->prof_unwind_failed + f->prof_truncated;
    double inc_pct = pct(incomplete, written);
    vitte__buf_printf(b, "%-11s%llu, lost %llu (%.1f%%)", "samples:", (unsigned long long)written,
                      (unsigned long long)f->prof_lost, pct(f->prof_lost, written + f->prof_lost));
    if (f->prof_throttled != 0)
        vitte__buf_printf(b, ", throttled %llu times", (unsigned long long)f->prof_throttled);
    vitte__buf_printf(b, ", incomplete stacks %llu", (unsigned long long)incomplete);
    if (incomplete != 0)
        vitte__buf_printf(b, " (%.1f%%: %llu not unwound, %llu truncated)", inc_pct,
                          (unsigned long long)f->prof_unwind_failed,
                          (unsigned long long)f->prof_truncated);
    vitte__buf_putc(b, '\n');
    if (inc_pct > INCOMPLETE_HINT_PCT) {
        if (strcmp(f->call_graph, "fp") == 0)
            put_hint(b, "stacks stop in code built without frame pointers: rebuild with",
                     "-fno-omit-frame-pointer, or record with --call-graph dwarf");
        else if (strcmp(f->call_graph, "dwarf") == 0 && f->prof_truncated >= f->prof_unwind_failed)
            put_hint(b, "stacks deeper than the copied stack are cut: record with a larger",
                     "--stack-size");
        else if (strcmp(f->call_graph, "dwarf") == 0)
            put_hint(b, "unwinding fails in code without unwind tables (.eh_frame): do not",
                     "strip them, or build with -fno-omit-frame-pointer and use --call-graph fp");
        else
            put_hint(b, "these stacks could not be unwound: try the other --call-graph mode", NULL);
    }
    if (f->prof_throttled != 0)
        put_hint(b, "the kernel lowered the rate (kernel.perf_event_max_sample_rate):",
                 "ask for a lower --freq");
    if (f->prof_unknown_mappings != 0)
        vitte__buf_printf(b, "%-11s%llu sampled addresses were in no known mapping\n", "",
                          (unsigned long long)f->prof_unknown_mappings);
    if (f->exit_status[0] != '\0') {
        vitte__buf_printf(b, "%-11s", "program:");
        put_name(b, f->exit_status);
        vitte__buf_putc(b, '\n');
    }
}

typedef struct func_order {
    const tfunc *f;
    const char *name;
} func_order;

static int cmp_self(const void *a, const void *b)
{
    const func_order *x = a, *y = b;
    if (x->f->self != y->f->self)
        return x->f->self > y->f->self ? -1 : 1;
    if (x->f->total != y->f->total)
        return x->f->total > y->f->total ? -1 : 1;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (int)x->f->inlined - (int)y->f->inlined;
}

static int cmp_total(const void *a, const void *b)
{
    const func_order *x = a, *y = b;
    if (x->f->total != y->f->total)
        return x->f->total > y->f->total ? -1 : 1;
    return cmp_self(a, b);
}

static int cmp_sgroups(const void *a, const void *b)
{
    const tsgroup *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* "file.c:12" (the file's base name) into out; "" when unknown. */
static void func_where(const text_sink *t, const tfunc *f, char *out, size_t size)
{
    out[0] = '\0';
    if (f->file == UINT32_MAX)
        return;
    const char *file = base_name(t->names.str[f->file]);
    if (f->line != 0)
        snprintf(out, size, "%s:%u", file, f->line);
    else
        snprintf(out, size, "%s", file);
    for (char *p = out; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

static void put_functions(text_sink *t, vitte__buf *b, func_order *order, int by_total)
{
    size_t n = t->n_funcs;
    qsort(order, n, sizeof *order, by_total ? cmp_total : cmp_self);
    /* Rows with no time in the column sorted on add nothing. */
    size_t shown = 0, listed = 0;
    for (size_t i = 0; i < n; i++)
        if ((by_total ? order[i].f->total : order[i].f->self) != 0)
            listed++;
    shown = listed < MAX_FUNCTION_ROWS ? listed : MAX_FUNCTION_ROWS;
    int width = 5;
    char where[96];
    for (size_t i = 0; i < shown; i++) {
        func_where(t, order[i].f, where, sizeof where);
        if ((int)strlen(where) > width)
            width = (int)strlen(where);
    }
    vitte__buf_printf(b, "\nfunctions by %s time", by_total ? "total" : "self");
    if (shown < listed)
        vitte__buf_printf(b, " (top %zu of %zu)", shown, listed);
    vitte__buf_printf(b, "\n%10s %6s %10s %6s %8s  %-*s  %s\n", "self", "self%", "total", "total%",
                      "samples", width, "where", "function");
    uint64_t rest_self = 0, rest_total = 0;
    for (size_t i = 0; i < listed; i++) {
        const tfunc *f = order[i].f;
        if (i >= shown) {
            rest_self += f->self;
            rest_total += f->total;
            continue;
        }
        char c1[24], c2[24];
        func_where(t, f, where, sizeof where);
        vitte__buf_printf(b, "%10s %5.1f%% %10s %5.1f%% %8llu  %-*s  ", dur(c1, f->self),
                          pct(f->self, t->weight), dur(c2, f->total), pct(f->total, t->weight),
                          (unsigned long long)f->total_n, width, where);
        put_name(b, order[i].name);
        if (f->inlined)
            vitte__buf_puts(b, " (inline)");
        vitte__buf_putc(b, '\n');
    }
    if (shown < listed) {
        char c1[24];
        if (by_total)
            vitte__buf_printf(b, "%10s  ... %zu more functions\n", "", listed - shown);
        else
            vitte__buf_printf(b, "%10s %5.1f%%  ... %zu more functions\n", dur(c1, rest_self),
                              pct(rest_self, t->weight), listed - shown);
    }
}

/* Sorts the rows in place: their index maps are stale after (no sample
 * comes after finish). */
static void put_threads(text_sink *t, vitte__buf *b, const vitte__xsummary *sum)
{
    qsort(t->sthreads, t->n_sthreads, sizeof *t->sthreads, cmp_sgroups);
    const char *kw = kind_word(t->kinds);
    vitte__buf_printf(b, "\nthreads (%s time by thread)\n%8s %10s %6s  %s\n", kw, "samples",
                      strcmp(kw, "CPU") == 0 ? "CPU" : "time", "share", "thread");
    for (size_t i = 0; i < t->n_sthreads; i++) {
        const tsgroup *g = &t->sthreads[i];
        char c1[24];
        vitte__buf_printf(b, "%8llu %10s %5.1f%%  ", (unsigned long long)g->n, dur(c1, g->weight),
                          pct(g->weight, t->weight));
        uint32_t stream = (uint32_t)(g->key >> 32), tid = (uint32_t)g->key;
        vitte__export_thread_label(b, sum, stream, tid);
        if (sum->n_files > 1) {
            vitte__buf_puts(b, " in ");
            vitte__export_process_label(b, sum, stream);
        }
        vitte__buf_putc(b, '\n');
    }
}

static void put_modules(text_sink *t, vitte__buf *b)
{
    qsort(t->smodules, t->n_smodules, sizeof *t->smodules, cmp_sgroups);
    vitte__buf_printf(b, "\nmodules (self time by module)\n%8s %10s %6s  %s\n", "samples", "self",
                      "self%", "module");
    for (size_t i = 0; i < t->n_smodules; i++) {
        const tsgroup *g = &t->smodules[i];
        char c1[24];
        vitte__buf_printf(b, "%8llu %10s %5.1f%%  ", (unsigned long long)g->n, dur(c1, g->weight),
                          pct(g->weight, t->weight));
        const char *m = t->names.str[g->key];
        put_name(b, m[0] != '\0' ? m : "(unknown)");
        vitte__buf_putc(b, '\n');
    }
}

static int put_profile(text_sink *t, vitte__buf *b, const vitte__xsummary *sum)
{
    char d1[24], d2[24];
    const char *kw = kind_word(t->kinds);
    vitte__buf_puts(b, "\nprofile (sampled call stacks)\n");
    for (size_t i = 0; i < sum->n_files; i++) {
        const vitte__xfile *f = &sum->files[i];
        static const tsstream none = {0, 0, 0};
        const tsstream *st = i < t->n_streams ? &t->streams[i] : &none;
        if (!f->opened || f->sampler == NULL || (f->sampler[0] == '\0' && st->n == 0))
            continue;
        if (sum->n_files > 1) {
            vitte__buf_printf(b, "%-11s", "file:");
            put_name(b, f->path);
            vitte__buf_putc(b, '\n');
        }
        put_sampler(b, f, st);
    }
    vitte__buf_printf(b, "%-11s%s in %llu sample%s, %zu thread%s",
                      strcmp(kw, "CPU") == 0 ? "CPU time:" : "time:", dur(d1, t->weight),
                      (unsigned long long)t->samples, t->samples == 1 ? "" : "s", t->n_sthreads,
                      t->n_sthreads == 1 ? "" : "s");
    if (sum->duration_ns != 0)
        vitte__buf_printf(b, ", over %s of wall time", dur(d2, sum->duration_ns));
    vitte__buf_putc(b, '\n');
    if (t->unsymbolized != 0)
        vitte__buf_printf(b,
                          "%-11s%.1f%% of the samples are in code without symbols "
                          "(module+0xoffset)\n",
                          "symbols:", pct(t->unsymbolized, t->weight));

    func_order *order = vitte__calloc(t->n_funcs != 0 ? t->n_funcs : 1, sizeof *order);
    if (order == NULL)
        return VITTE_ENOMEM;
    for (size_t i = 0; i < t->n_funcs; i++)
        order[i] = (func_order){&t->funcs[i], t->names.str[t->funcs[i].name]};
    int by = t->base.opt->by;
    if (by == VITTE_TRACE_BY_THREAD)
        put_threads(t, b, sum);
    else if (by == VITTE_TRACE_BY_MODULE)
        put_modules(t, b);
    put_functions(t, b, order, 0);
    put_functions(t, b, order, 1);
    if (by != VITTE_TRACE_BY_THREAD)
        put_threads(t, b, sum);
    if (by != VITTE_TRACE_BY_MODULE)
        put_modules(t, b);
    vitte__free(order);
    return VITTE_OK;
}

static int text_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    text_sink *t = (text_sink *)s;
    vitte__buf *b = s->out;
    put_facts(b, sum);
    if (t->samples != 0 && put_profile(t, b, sum) != VITTE_OK)
        return VITTE_ENOMEM;

    if (t->n_rows == 0) {
        if (t->samples == 0)
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
    vitte__free(t->funcs);
    vitte__free(t->sthreads);
    vitte__free(t->smodules);
    vitte__free(t->streams);
    vitte__xmap_fini(&t->func_index);
    vitte__xmap_fini(&t->stack_cache);
    vitte__free(t->pool);
    vitte__xmap_fini(&t->sthread_index);
    vitte__xmap_fini(&t->smodule_index);
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
    vitte__xmap_init(&t->func_index);
    vitte__xmap_init(&t->stack_cache);
    vitte__xmap_init(&t->sthread_index);
    vitte__xmap_init(&t->smodule_index);
    /* Durations in ns from 1 ns to 2^50 ns (13 days): about 50 powers of
     * two, at most ~25 KiB per row, usually a few KiB. */
    vitte_histogram_config_init(&t->hcfg);
    t->hcfg.lowest = 1;
    t->hcfg.highest = 1125899906842624.0;
    *sink = &t->base;
    return VITTE_OK;
}
