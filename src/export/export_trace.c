/* vitte: the trace export driver.  Opens the sources, puts them on one
 * timeline, applies the filters, computes self times and feeds the sink.
 *
 * Self time needs the children of a span, which arrive before it (a span is
 * recorded when it ends).  Per thread and depth the driver keeps the summed
 * duration of the spans that wait for their parent; a span at depth d takes
 * what waits below it.  That is O(1) memory per thread and depth, whatever
 * the number of events. */
#include "export/export_trace.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"

/* Files whose CLOCK_REALTIME - CLOCK_MONOTONIC offsets differ by more than
 * this were not recorded on one host in one boot: their monotonic clocks
 * share no epoch, so they are aligned on the realtime clock instead.  On one
 * host the offsets differ only by NTP slewing between the starts
 * (microseconds to milliseconds), far below it. */
#define SAME_HOST_OFFSET_NS 1000000000ll

/* Span depths are below 2^16 (docs/formats/vittrace.md). */
#define MAX_DEPTH 65536u

/* Warnings kept for the output; more are counted, not stored. */
#define MAX_WARNINGS 64

/* ---- options --------------------------------------------------------------------------- */

void vitte_trace_export_options_init(vitte_trace_export_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->format = VITTE_TRACE_FORMAT_TEXT;
    o->by = VITTE_TRACE_BY_NAME;
}

static const char *const format_names[] = {NULL,  "text", "chrome", "folded",
                                           "svg", "json", "csv",    "pprof"};
#define N_FORMAT_NAMES (sizeof format_names / sizeof format_names[0])

const char *vitte_trace_format_name(vitte_trace_format format)
{
    if ((int)format < 1 || (size_t)format >= N_FORMAT_NAMES)
        return "?";
    return format_names[format];
}

vitte_trace_format vitte_trace_format_from_name(const char *name)
{
    if (name == NULL)
        return (vitte_trace_format)0;
    for (size_t i = 1; i < N_FORMAT_NAMES; i++)
        if (strcmp(name, format_names[i]) == 0)
            return (vitte_trace_format)i;
    return (vitte_trace_format)0;
}

int vitte__export_options_copy(const vitte_trace_export_options *in, vitte_trace_export_options *o)
{
    vitte_trace_export_options_init(o);
    if (in != NULL) {
        /* A caller built against an older header passes a shorter struct:
         * take what it has, keep the defaults for the rest. */
        size_t n = in->struct_size;
        if (n < offsetof(vitte_trace_export_options, module))
            return VITTE_EINVAL;
        if (n > sizeof *o)
            n = sizeof *o;
        memcpy(o, in, n);
        o->struct_size = (uint32_t)sizeof *o;
    }
    if ((int)o->format < VITTE_TRACE_FORMAT_TEXT || o->format > VITTE_TRACE_FORMAT_PPROF)
        return VITTE_EINVAL;
    if (o->by < VITTE_TRACE_BY_NAME || o->by > VITTE_TRACE_BY_MODULE)
        return VITTE_EINVAL;
    if (o->to_ns != 0 && o->to_ns <= o->from_ns)
        return VITTE_EINVAL;
    return VITTE_OK;
}

/* ---- filters ------------------------------------------------------------------------------ */

/* A parsed comma list: "a,b,-c" keeps a and b, drops c. */
typedef struct name_list {
    char **keep;
    size_t n_keep;
    char **drop;
    size_t n_drop;
} name_list;

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->n_keep; i++)
        vitte__free(l->keep[i]);
    for (size_t i = 0; i < l->n_drop; i++)
        vitte__free(l->drop[i]);
    vitte__free(l->keep);
    vitte__free(l->drop);
    memset(l, 0, sizeof *l);
}

static int list_parse(const char *spec, name_list *l)
{
    memset(l, 0, sizeof *l);
    if (spec == NULL)
        return VITTE_OK;
    size_t n = 1;
    for (const char *p = spec; *p != '\0'; p++)
        n += *p == ',';
    l->keep = vitte__calloc(n, sizeof *l->keep);
    l->drop = vitte__calloc(n, sizeof *l->drop);
    if (l->keep == NULL || l->drop == NULL)
        goto nomem;
    for (const char *p = spec;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        int neg = len > 0 && p[0] == '-';
        const char *s = p + neg;
        size_t slen = len - (size_t)neg;
        if (slen > 0) {
            char *copy = vitte__malloc(slen + 1);
            if (copy == NULL)
                goto nomem;
            memcpy(copy, s, slen);
            copy[slen] = '\0';
            if (neg)
                l->drop[l->n_drop++] = copy;
            else
                l->keep[l->n_keep++] = copy;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return VITTE_OK;
nomem:
    list_free(l);
    return VITTE_ENOMEM;
}

static int list_has(char *const *items, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(items[i], s, len) == 0 && items[i][len] == '\0')
            return 1;
    return 0;
}

static int list_match_one(const name_list *l, const char *s)
{
    size_t len = strlen(s);
    if (l->n_keep != 0 && !list_has(l->keep, l->n_keep, s, len))
        return 0;
    return !list_has(l->drop, l->n_drop, s, len);
}

/* tags is itself a comma list: keep when one tag is wanted and none dropped. */
static int list_match_tags(const name_list *l, const char *tags)
{
    int wanted = l->n_keep == 0;
    for (const char *p = tags;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            if (list_has(l->drop, l->n_drop, p, len))
                return 0;
            if (!wanted && list_has(l->keep, l->n_keep, p, len))
                wanted = 1;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return wanted;
}

/* ---- driver state ---------------------------------------------------------------------------- */

typedef struct dthread {
    uint32_t stream, tid;
    int keep;        /* passes the thread filter */
    uint64_t events; /* read, before filters */
    uint32_t maxd;   /* deepest level that may hold waiting children */
    size_t cap;      /* levels allocated */
    uint64_t *child; /* per depth: summed duration of kept spans waiting for a parent */
    uint64_t *count; /* per depth: how many spans wait (for the orphan count) */
} dthread;

typedef struct driver {
    const vitte_trace_export_options *opt;
    vitte__xsource_info_value_fn info_value; /* NULL: the sources have no INFO values */
    name_list modules, tags, threads;
    vitte__xmap thread_ok;    /* (stream << 32 | tid) -> 1: passes the thread filter */
    vitte__xmap thread_index; /* (stream << 32 | tid) -> index + 1 in th */
    dthread *th;
    size_t n_th, cap_th;
    uint64_t last_key;
    dthread *last;
    vitte__xfile *files;
    vitte__xthread *xthreads;
    size_t n_xthreads, cap_xthreads;
    char **warnings;
    size_t n_warnings;
    size_t more_warnings;
    vitte__xsummary sum;
    int first_err; /* first reading error */
    vitte_diag first_diag;
    int out_err;           /* output or memory error: stops everything */
    uint64_t bad_depth;    /* spans with an impossible depth, left out */
    uint64_t bytes_total;  /* of the input files, for on_progress */
    uint64_t bytes_before; /* of the files already read */
    uint64_t samples_read; /* before the filters */
} driver;

static void warn(driver *d, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void warn(driver *d, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (d->opt->on_warning != NULL)
        d->opt->on_warning(tmp, d->opt->warning_ud);
    if (d->n_warnings >= MAX_WARNINGS) {
        d->more_warnings++;
        return;
    }
    if (d->warnings == NULL) {
        d->warnings = vitte__calloc(MAX_WARNINGS + 1, sizeof *d->warnings);
        if (d->warnings == NULL)
            return; /* a warning lost to memory pressure is not worth failing for */
    }
    char *w = vitte__strdup(tmp);
    if (w != NULL)
        d->warnings[d->n_warnings++] = w;
}

static void set_diag(vitte_diag *diag, int status, uint64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void set_diag(vitte_diag *diag, int status, uint64_t offset, const char *fmt, ...)
{
    if (diag == NULL)
        return;
    diag->status = status;
    diag->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->message, sizeof diag->message, fmt, ap);
    va_end(ap);
}

static void reading_error(driver *d, vitte__xfile *f, int rc, const vitte_diag *rd, int opening)
{
    const char *why = rd->message[0] != '\0' ? rd->message : vitte_strerror(rc);
    f->status = rc;
    f->diag = *rd;
    f->diag.status = rc;
    if (opening)
        warn(d, "%s: cannot read: %s", f->path, why);
    else
        warn(d, "%s: offset %llu: %s (the events before it were exported)", f->path,
             (unsigned long long)rd->offset, why);
}

/* The error returned is the first file's, in the order given, whatever the
 * order they were met in (all files are opened before any is read). */
static void pick_first_error(driver *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const vitte__xfile *f = &d->files[i];
        if (f->status == VITTE_OK)
            continue;
        const char *why = f->diag.message[0] != '\0' ? f->diag.message : vitte_strerror(f->status);
        d->first_err = f->status;
        set_diag(&d->first_diag, f->status, f->diag.offset, "%s: %s", f->path, why);
        return;
    }
}

static dthread *get_thread(driver *d, uint32_t stream, uint32_t tid)
{
    uint64_t key = (uint64_t)stream << 32 | tid;
    if (d->last != NULL && d->last_key == key)
        return d->last;
    int created;
    uint64_t *v = vitte__xmap_upsert(&d->thread_index, key, &created);
    if (v == NULL)
        return NULL;
    if (created) {
        if (d->n_th == d->cap_th) {
            size_t cap = d->cap_th != 0 ? d->cap_th * 2 : 16;
            dthread *th = vitte__realloc(d->th, cap * sizeof *th);
            if (th == NULL) {
                *v = 0; /* left as a tombstone: lookups fail the same way */
                return NULL;
            }
            d->th = th;
            d->cap_th = cap;
        }
        dthread *t = &d->th[d->n_th];
        memset(t, 0, sizeof *t);
        t->stream = stream;
        t->tid = tid;
        t->keep = d->opt->thread == NULL || vitte__xmap_find(&d->thread_ok, key) != NULL;
        /* A TID given as a number needs no name, so no first pass. */
        if (!t->keep) {
            char num[24];
            snprintf(num, sizeof num, "%u", tid);
            t->keep = list_has(d->threads.keep, d->threads.n_keep, num, strlen(num));
        }
        *v = ++d->n_th;
    }
    if (*v == 0)
        return NULL;
    d->last_key = key;
    d->last = &d->th[*v - 1];
    return d->last;
}

static int ensure_depth(dthread *t, uint32_t depth)
{
    if ((size_t)depth + 1 < t->cap)
        return VITTE_OK;
    size_t cap = t->cap != 0 ? t->cap : 16;
    while (cap <= (size_t)depth + 1)
        cap *= 2;
    uint64_t *child = vitte__realloc(t->child, cap * sizeof *child);
    if (child == NULL)
        return VITTE_ENOMEM;
    t->child = child;
    uint64_t *count = vitte__realloc(t->count, cap * sizeof *count);
    if (count == NULL)
        return VITTE_ENOMEM;
    t->count = count;
    memset(child + t->cap, 0, (cap - t->cap) * sizeof *child);
    memset(count + t->cap, 0, (cap - t->cap) * sizeof *count);
    t->cap = cap;
    return VITTE_OK;
}

/* Does a non-flow event pass the module and tag filters? */
static int passes_names(const driver *d, const vitte_trace_event *ev)
{
    if (d->opt->module != NULL && !list_match_one(&d->modules, ev->module))
        return 0;
    if (d->opt->tag != NULL && !list_match_tags(&d->tags, ev->tags))
        return 0;
    return 1;
}

static int in_window(const vitte_trace_export_options *o, int64_t start, int64_t end)
{
    if (o->from_ns != 0 && end < (int64_t)o->from_ns)
        return 0;
    if (o->to_ns != 0 && start >= (int64_t)o->to_ns)
        return 0;
    return 1;
}

/* ---- one pass over one source
 * ---------------------------------------------------------------------- */

/* First pass for a thread filter by name: names may arrive after a thread's
 * first events, so learn them all before exporting anything. */
static void learn_thread_names(driver *d, const vitte__xsource *src, uint32_t stream)
{
    const vitte_trace_event *ev;
    vitte_diag rd;
    while (src->ops->next(src->ctx, &ev, &rd) > 0)
        ;
    size_t n = 0;
    const vitte_trace_thread *t = src->ops->threads(src->ctx, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name = t[i].name != NULL ? t[i].name : "";
        if (name[0] != '\0' && list_has(d->threads.keep, d->threads.n_keep, name, strlen(name)))
            if (vitte__xmap_upsert(&d->thread_ok, (uint64_t)stream << 32 | t[i].tid, NULL) == NULL)
                d->out_err = VITTE_ENOMEM;
    }
}

static int add_xthread(driver *d, uint32_t stream, uint32_t tid, const char *name, uint64_t events,
                       uint64_t dropped)
{
    if (d->n_xthreads == d->cap_xthreads) {
        size_t cap = d->cap_xthreads != 0 ? d->cap_xthreads * 2 : 16;
        vitte__xthread *x = vitte__realloc(d->xthreads, cap * sizeof *x);
        if (x == NULL)
            return VITTE_ENOMEM;
        d->xthreads = x;
        d->cap_xthreads = cap;
    }
    char *copy = vitte__strdup(name != NULL ? name : "");
    if (copy == NULL)
        return VITTE_ENOMEM;
    d->xthreads[d->n_xthreads++] =
        (vitte__xthread){stream, d->files[stream].pid, tid, copy, events, dropped};
    return VITTE_OK;
}

/* The threads of a stream: those that had events, named from the reader's
 * list, plus those the reader knows only for their drops (every event of a
 * thread can have been dropped). */
static void keep_threads(driver *d, const vitte__xsource *src, uint32_t stream)
{
    size_t n = 0;
    const vitte_trace_thread *t = src->ops->threads(src->ctx, &n);
    for (size_t i = 0; i < d->n_th; i++) {
        const dthread *th = &d->th[i];
        if (th->stream != stream)
            continue;
        const vitte_trace_thread *r = NULL;
        for (size_t k = 0; k < n && r == NULL; k++)
            if (t[k].tid == th->tid)
                r = &t[k];
        if (add_xthread(d, stream, th->tid, r != NULL ? r->name : "", th->events,
                        r != NULL ? r->dropped : 0) != VITTE_OK) {
            d->out_err = VITTE_ENOMEM;
            return;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (t[k].dropped == 0 ||
            vitte__xmap_find(&d->thread_index, (uint64_t)stream << 32 | t[k].tid) != NULL)
            continue;
        if (add_xthread(d, stream, t[k].tid, t[k].name, 0, t[k].dropped) != VITTE_OK) {
            d->out_err = VITTE_ENOMEM;
            return;
        }
    }
}

static void stream_done(driver *d, uint32_t stream)
{
    uint64_t orphans = 0;
    for (size_t i = 0; i < d->n_th; i++) {
        dthread *t = &d->th[i];
        if (t->stream != stream)
            continue;
        for (size_t k = 1; k < t->cap; k++)
            orphans += t->count[k];
        /* Free the levels: a later file never continues this thread. */
        vitte__free(t->child);
        vitte__free(t->count);
        t->child = t->count = NULL;
        t->cap = 0;
        t->maxd = 0;
    }
    if (orphans != 0) {
        d->sum.orphans += orphans;
        warn(d,
             "%s: %llu spans have no parent in the file (the parent was still open when "
             "the trace ended, or was lost): they are shown as roots",
             d->files[stream].path, (unsigned long long)orphans);
    }
}

/* Tell on_progress how far reading has got. */
static void progress(driver *d, const vitte__xsource *src)
{
    if (d->opt->on_progress == NULL)
        return;
    vitte_trace_file_info info;
    if (src->ops->info(src->ctx, &info) != VITTE_OK)
        return;
    d->opt->on_progress(d->bytes_before + info.bytes_read, d->bytes_total, d->opt->progress_ud);
}

static int export_stream(driver *d, vitte__xsink *sink, const vitte__xsource *src, uint32_t stream,
                         int64_t shift)
{
    const vitte_trace_export_options *o = d->opt;
    vitte__xfile *f = &d->files[stream];
    vitte__xevent x = {NULL, stream, f->pid, 0, 0};
    for (;;) {
        const vitte_trace_event *ev;
        vitte_diag rd;
        memset(&rd, 0, sizeof rd);
        int r = src->ops->next(src->ctx, &ev, &rd);
        if (r == 0)
            break;
        if (r < 0) {
            reading_error(d, f, r, &rd, 0);
            break;
        }
        if ((++d->sum.events_read & 0xffff) == 0)
            progress(d, src);
        dthread *t = get_thread(d, stream, ev->tid);
        if (t == NULL)
            return VITTE_ENOMEM;
        t->events++;
        d->samples_read += ev->type == VITTE_EVENT_SAMPLE;
        if (!t->keep)
            continue;
        int64_t ts = (int64_t)ev->ts_ns + shift;
        if (ev->type == VITTE_EVENT_SPAN) {
            uint32_t dep = ev->depth;
            if (dep >= MAX_DEPTH) {
                /* The format caps depth below 2^16: anything deeper is
                 * damage, and would make every sink allocate for it. */
                d->bad_depth++;
                continue;
            }
            if (ensure_depth(t, dep) != VITTE_OK)
                return VITTE_ENOMEM;
            uint64_t below = 0, n_below = 0;
            for (uint32_t k = dep + 1; k <= t->maxd; k++) {
                below += t->child[k];
                n_below += t->count[k];
                t->child[k] = 0;
                t->count[k] = 0;
            }
            t->maxd = dep;
            int keep = ev->dur_ns >= o->min_duration_ns &&
                       in_window(o, ts, ts + (int64_t)ev->dur_ns) && passes_names(d, ev);
            if (!keep) {
                /* Transparent: the children wait for the grandparent, and
                 * this span's own time becomes the grandparent's self time. */
                t->child[dep] += below;
                t->count[dep] += n_below;
                if (sink->ops->skip != NULL)
                    sink->ops->skip(sink, stream, ev->tid, dep);
                continue;
            }
            t->child[dep] += ev->dur_ns;
            t->count[dep]++;
            x.self_ns = ev->dur_ns > below ? ev->dur_ns - below : 0;
        } else {
            int flow = ev->type >= VITTE_EVENT_FLOW_BEGIN && ev->type <= VITTE_EVENT_FLOW_END;
            if (!in_window(o, ts, ts) || (!flow && !passes_names(d, ev)))
                continue;
            x.self_ns = 0;
        }
        x.ev = ev;
        x.ts = ts;
        d->sum.events_kept++;
        if ((unsigned)ev->type < sizeof d->sum.kept_by_type / sizeof d->sum.kept_by_type[0])
            d->sum.kept_by_type[ev->type]++;
        int rc = sink->ops->event(sink, &x);
        if (rc != 0)
            return rc;
    }
    return VITTE_OK;
}

/* ---- the run
 * ------------------------------------------------------------------------------------------ */

static void driver_free(driver *d)
{
    list_free(&d->modules);
    list_free(&d->tags);
    list_free(&d->threads);
    vitte__xmap_fini(&d->thread_ok);
    vitte__xmap_fini(&d->thread_index);
    for (size_t i = 0; i < d->n_th; i++) {
        vitte__free(d->th[i].child);
        vitte__free(d->th[i].count);
    }
    vitte__free(d->th);
    for (size_t i = 0; i < d->n_xthreads; i++)
        vitte__free((void *)d->xthreads[i].name);
    vitte__free(d->xthreads);
    for (size_t i = 0; i < d->n_warnings; i++)
        vitte__free(d->warnings[i]);
    vitte__free(d->warnings);
}

static void free_files(vitte__xfile *files, size_t n)
{
    for (size_t i = 0; files != NULL && i < n; i++) {
        vitte__free((void *)files[i].process_name);
        vitte__free((void *)files[i].clock);
        vitte__free((void *)files[i].sampler);
        vitte__free((void *)files[i].call_graph);
        vitte__free((void *)files[i].sampler_note);
        vitte__free((void *)files[i].exit_status);
    }
    vitte__free(files);
}

/* Strings of the file info are the reader's: copy what outlives it. */
static void take_info(driver *d, const vitte__xsource *src, vitte__xfile *f)
{
    vitte_trace_file_info info;
    memset(&info, 0, sizeof info);
    if (src->ops->info(src->ctx, &info) != VITTE_OK)
        return;
    f->file_pid = info.pid;
    f->version_major = info.version_major;
    f->version_minor = info.version_minor;
    f->tsc_hz = info.tsc_hz;
    f->start_ns = info.start_ns;
    f->start_realtime_ns = info.start_realtime_ns;
    f->duration_ns = info.end_ns > info.start_ns ? info.end_ns - info.start_ns : 0;
    f->events = info.events;
    f->dropped = info.dropped;
    f->complete = info.complete;
    char *pn = vitte__strdup(info.process_name != NULL ? info.process_name : "");
    char *ck = vitte__strdup(info.clock != NULL ? info.clock : "");
    if (pn == NULL || ck == NULL) {
        vitte__free(pn);
        vitte__free(ck);
        d->out_err = VITTE_ENOMEM;
        return;
    }
    vitte__free((void *)f->process_name);
    vitte__free((void *)f->clock);
    f->process_name = pn;
    f->clock = ck;
}

/* The sampler's facts of a profile, from the INFO values (the counts are
 * written again as recording goes on: the latest are kept). */
static void take_facts(driver *d, const vitte__xsource *src, vitte__xfile *f)
{
    static const char *const str_keys[] = {"sampler", "call_graph", "sampler_note", "exit_status"};
    const char **strs[] = {&f->sampler, &f->call_graph, &f->sampler_note, &f->exit_status};
    static const char *const num_keys[] = {
        "sample_freq",          "prof_samples",   "prof_lost",
        "prof_unwind_failed",   "prof_truncated", "prof_throttled",
        "prof_unknown_mappings"};
    uint64_t *nums[] = {&f->sample_freq,          &f->prof_samples,   &f->prof_lost,
                        &f->prof_unwind_failed,   &f->prof_truncated, &f->prof_throttled,
                        &f->prof_unknown_mappings};
    for (size_t i = 0; i < sizeof str_keys / sizeof str_keys[0]; i++) {
        const char *v = d->info_value != NULL ? d->info_value(src->ctx, str_keys[i]) : NULL;
        char *copy = vitte__strdup(v != NULL ? v : "");
        if (copy == NULL) {
            d->out_err = VITTE_ENOMEM;
            return;
        }
        vitte__free((void *)*strs[i]);
        *strs[i] = copy;
    }
    for (size_t i = 0; i < sizeof num_keys / sizeof num_keys[0]; i++) {
        const char *v = d->info_value != NULL ? d->info_value(src->ctx, num_keys[i]) : NULL;
        *nums[i] = v != NULL ? strtoull(v, NULL, 10) : 0;
    }
}

int vitte__export_trace_run(const vitte__xsource *src, size_t n,
                            const vitte_trace_export_options *opt_in, vitte__buf *out,
                            vitte_diag *diag)
{
    return vitte__export_trace_run_ex(src, n, NULL, opt_in, out, diag);
}

int vitte__export_trace_run_ex(const vitte__xsource *src, size_t n,
                               vitte__xsource_info_value_fn info_value,
                               const vitte_trace_export_options *opt_in, vitte__buf *out,
                               vitte_diag *diag)
{
    vitte_trace_export_options opt;
    if (diag != NULL)
        memset(diag, 0, sizeof *diag);
    if ((src == NULL && n != 0) || out == NULL) {
        set_diag(diag, VITTE_EINVAL, 0, "no output or no sources");
        return VITTE_EINVAL;
    }
    int rc = vitte__export_options_copy(opt_in, &opt);
    if (rc != VITTE_OK) {
        set_diag(diag, rc, 0, "invalid export options (format, grouping or time window)");
        return rc;
    }

    driver d;
    memset(&d, 0, sizeof d);
    d.opt = &opt;
    d.info_value = info_value;
    vitte__xmap_init(&d.thread_ok);
    vitte__xmap_init(&d.thread_index);
    vitte__xsink *sink = NULL;
    d.files = vitte__calloc(n != 0 ? n : 1, sizeof *d.files);
    if (d.files == NULL || list_parse(opt.module, &d.modules) != VITTE_OK ||
        list_parse(opt.tag, &d.tags) != VITTE_OK ||
        list_parse(opt.thread, &d.threads) != VITTE_OK) {
        rc = VITTE_ENOMEM;
        goto done;
    }
    rc = vitte__export_sink_create(&opt, out, &sink);
    if (rc != VITTE_OK)
        goto done;

    for (size_t i = 0; i < n && opt.on_progress != NULL; i++) {
        struct stat st;
        if (src[i].path != NULL && stat(src[i].path, &st) == 0 && S_ISREG(st.st_mode))
            d.bytes_total += (uint64_t)st.st_size;
    }
    /* Open everything first: the timeline starts at the earliest file. */
    for (size_t i = 0; i < n; i++) {
        vitte__xfile *f = &d.files[i];
        f->path = src[i].path != NULL ? src[i].path : "?";
        vitte_diag rd;
        memset(&rd, 0, sizeof rd);
        int orc = src[i].ops->open(src[i].ctx, &rd);
        if (orc != VITTE_OK) {
            reading_error(&d, f, orc, &rd, 1);
            continue;
        }
        f->opened = 1;
        take_info(&d, &src[i], f);
        take_facts(&d, &src[i], f);
    }

    int64_t origin = 0, min_off = 0, max_off = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!d.files[i].opened)
            continue;
        int64_t off = d.files[i].start_realtime_ns - (int64_t)d.files[i].start_ns;
        if (!any || off < min_off)
            min_off = off;
        if (!any || off > max_off)
            max_off = off;
        any = 1;
    }
    d.sum.realtime_base = any && max_off - min_off > SAME_HOST_OFFSET_NS;
    any = 0;
    for (size_t i = 0; i < n; i++) {
        vitte__xfile *f = &d.files[i];
        if (!f->opened)
            continue;
        int64_t start = d.sum.realtime_base ? f->start_realtime_ns : (int64_t)f->start_ns;
        if (!any || start < origin) {
            origin = start;
            d.sum.start_realtime_ns = f->start_realtime_ns;
        }
        any = 1;
    }
    /* Pids name processes in the output: two files with one pid (a pid
     * reused, or containers) would merge into one process. */
    for (size_t i = 0; i < n; i++) {
        vitte__xfile *f = &d.files[i];
        f->pid = f->file_pid;
        for (size_t j = 0; j < i && f->opened; j++) {
            if (d.files[j].opened && d.files[j].pid == f->pid) {
                f->pid = 0x40000000u + (uint32_t)i;
                warn(&d, "%s: pid %u already used by %s: shown as pid %u", f->path, f->file_pid,
                     d.files[j].path, f->pid);
                break;
            }
        }
    }

    for (size_t i = 0; i < n && d.out_err == 0; i++) {
        vitte__xfile *f = &d.files[i];
        if (!f->opened)
            continue;
        int64_t base = d.sum.realtime_base ? f->start_realtime_ns - (int64_t)f->start_ns : 0;
        int64_t shift = base - origin;
        f->offset_ns = (int64_t)f->start_ns + shift;
        if (opt.thread != NULL) {
            learn_thread_names(&d, &src[i], (uint32_t)i);
            src[i].ops->close(src[i].ctx);
            vitte_diag rd;
            memset(&rd, 0, sizeof rd);
            int orc = src[i].ops->open(src[i].ctx, &rd);
            if (orc != VITTE_OK) {
                reading_error(&d, f, orc, &rd, 1);
                continue;
            }
        }
        int erc = export_stream(&d, sink, &src[i], (uint32_t)i, shift);
        progress(&d, &src[i]);
        vitte_trace_file_info done_info;
        if (src[i].ops->info(src[i].ctx, &done_info) == VITTE_OK)
            d.bytes_before += done_info.bytes_read;
        take_info(&d, &src[i], f);
        take_facts(&d, &src[i], f);
        keep_threads(&d, &src[i], (uint32_t)i);
        src[i].ops->close(src[i].ctx);
        if (erc != VITTE_OK) {
            d.out_err = erc;
            break;
        }
        stream_done(&d, (uint32_t)i);
        if (sink->ops->stream_end != NULL)
            sink->ops->stream_end(sink, (uint32_t)i);
    }

    /* The summary. */
    for (size_t i = 0; i < n; i++) {
        const vitte__xfile *f = &d.files[i];
        if (!f->opened)
            continue;
        d.sum.dropped += f->dropped;
        uint64_t end = f->offset_ns > 0 ? (uint64_t)f->offset_ns + f->duration_ns : f->duration_ns;
        if (end > d.sum.duration_ns)
            d.sum.duration_ns = end;
        if (f->status == VITTE_OK && !f->complete)
            warn(&d, "%s: no end marker: the trace was not finished", f->path);
    }
    if (d.sum.dropped != 0)
        warn(&d,
             "%llu events were dropped while recording (thread buffers full): counts and "
             "times are low, stacks may be incomplete",
             (unsigned long long)d.sum.dropped);
    if (d.bad_depth != 0)
        warn(&d, "%llu spans with a depth of 2^16 or more were left out (damaged data)",
             (unsigned long long)d.bad_depth);
    const uint64_t *k = d.sum.kept_by_type;
    uint64_t flows = k[VITTE_EVENT_FLOW_BEGIN] + k[VITTE_EVENT_FLOW_STEP] + k[VITTE_EVENT_FLOW_END];
    if (d.sum.events_read != 0 && d.sum.events_kept == flows)
        warn(&d, d.samples_read != 0
                     ? "no span, instant, counter, async event or sample passed the filters"
                     : "no span, instant, counter or async event passed the filters");
    if (d.more_warnings != 0 && d.warnings != NULL) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "... and %zu more warnings", d.more_warnings);
        char *w = vitte__strdup(tmp);
        if (w != NULL)
            d.warnings[d.n_warnings++] = w;
    }
    d.sum.opt = &opt;
    d.sum.files = d.files;
    d.sum.n_files = n;
    d.sum.threads = d.xthreads;
    d.sum.n_threads = d.n_xthreads;
    d.sum.warnings = (const char *const *)d.warnings;
    d.sum.n_warnings = d.n_warnings;
    if (d.out_err == 0) {
        int frc = sink->ops->finish(sink, &d.sum);
        if (frc != 0)
            d.out_err = frc;
    }
    if (d.out_err == 0 && out->err != 0)
        d.out_err = out->err;
    pick_first_error(&d, n);
    rc = d.out_err != 0 ? d.out_err : d.first_err;

done:
    if (rc != VITTE_OK && d.out_err == 0 && d.first_err != VITTE_OK && rc == d.first_err) {
        if (diag != NULL)
            *diag = d.first_diag;
    } else if (rc != VITTE_OK) {
        set_diag(diag, rc, 0, "writing the export: %s", vitte_strerror(rc));
    }
    vitte__export_sink_destroy(sink);
    free_files(d.files, n);
    driver_free(&d);
    return rc;
}
