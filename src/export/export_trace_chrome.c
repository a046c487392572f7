/* vitte: trace events as Chrome Trace Event Format JSON (object form), for
 * Perfetto, chrome://tracing, DevTools and speedscope.
 *
 *   spans       adjacent "B"/"E" pairs, ts in microseconds with 3 decimals
 *               (exact: integer ns split by hand, no floating point), args
 *               on both
 *   instants    "I" with "s":"t" (thread scope): DevTools' engine reads only
 *               the upper-case spelling, Perfetto and catapult read both
 *   counters    "C" with args {name: value}
 *   async       "b"/"e" with a hex string id, module as cat
 *   flows       "s"/"t"/"f" with "bp":"e", bound to their enclosing span
 *   names       "M" process_name / thread_name, written last (names may
 *               arrive after a thread's first events)
 *   samples     a flame chart per thread on a track of its own (same pid,
 *               tid + 2^30, named "NAME (CPU samples)"): each function of
 *               the stack is a B/E pair that lasts as long as consecutive
 *               samples keep it on the stack (see "Samples" below)
 *
 * What the consumers need, found with them (tests/consumers/README.md):
 *
 * Spans as B/E pairs, not X.  Readers end an X at ts + dur in doubles, so
 * two boundaries on the same nanosecond (a child ending with its parent, a
 * span starting as its sibling ends) come out a rounding step apart, in
 * either order: speedscope then mis-nests ("Tried to end ..."), DevTools
 * drops the child.  A B/E pair writes each boundary as its own decimal:
 * speedscope reads them as they are, DevTools takes E - B as the duration,
 * exact for any span that starts after half its end time (Sterbenz), so
 * equal boundaries stay equal.  DevTools pairs B and E in file order with
 * one stack for the whole file, so a span's B and E are written next to
 * each other.  speedscope sorts Bs by ts and keeps the file order of equal
 * ones, which must then be the parent's first; spans arrive children first,
 * so the pair of a span that is the first child of a parent not yet seen is
 * held, with the held pairs of its own first children that start with it,
 * and written after the parent's pair.  That is one chain per depth, as
 * long as the run of equal starts: memory bounded by the depth.  (Equal
 * ends need nothing: speedscope matches the E of the frame on top among
 * equal ones.)  speedscope names a frame by name and args, so the E repeats
 * the args of the B.
 *
 * Flow binding.  DevTools ties a flow event to a slice only when cat, pid,
 * tid and ts all equal the slice's, so a flow is held until the innermost
 * kept span that contains it arrives (spans come when they end, so the first
 * containing span to arrive is the innermost), then written with that span's
 * start and cat.  DevTools also reads flow events in file order and drops a
 * "t" or "f" that comes before its "s": those wait for their "s".
 *
 * Samples.  A sample stands for the weight before its timestamp, [ts - w,
 * ts] (a sampler fires at the end of the period it measured).  Per thread,
 * the frames a sample shares with the previous one (from the root) stay
 * open, the others close where it starts and its own open there.  Each
 * sample is laid out with exactly its weight, so that the time of a
 * function on the track is the weight of the samples holding it (what the
 * text summary says): a sample starts where the previous one ended when
 * they overlap (timer jitter) or when the gap between them is at most its
 * weight (consecutive samples of a thread that runs most of the time); a
 * larger gap (the thread slept) closes every frame, and the next sample
 * starts at ts - w.  So a sample is drawn at most one weight away from
 * where it was taken.  The frames go on their own track, not the thread's
 * spans: they interleave with spans and could not nest with them.  A frame
 * is written when it closes, as a B/E pair placed like a span (closed
 * frames arrive children first, with their depth), so everything above
 * about spans holds for them.
 *
 * Events are written straight into the output buffer after a
 * vitte__json_raw() of their leading newline, which keeps the JSON writer's
 * comma bookkeeping while costing no copy. */
#include "export/export_trace.h"

#include <stdio.h>

#include <vitte/version.h>

#include "common/alloc.h"
#include "common/jsonw.h"

/* Flows held per thread at most; beyond, the oldest is written unbound. */
#define MAX_HELD_FLOWS 4096

/* The track of a thread's samples: tid + this (Linux tids are below 2^22). */
#define SAMPLE_TID_OFFSET 0x40000000u
/* Frames of a sample beyond this (from the root) are left out. */
#define MAX_SAMPLE_DEPTH 65536u

/* A frame open on a samples track. */
typedef struct sframe {
    uint64_t id; /* name id << 32 | module id */
    int64_t start;
} sframe;

typedef struct held_flow {
    int64_t ts;
    uint64_t id;
    int type;
} held_flow;

/* Per depth: the B/E pairs held for the first child of a parent not yet
 * seen (and its first children that start with it). */
typedef struct level {
    vitte__buf held;     /* events, each followed by a NUL (JSON never holds one) */
    int has_first;       /* the parent's first child arrived */
    int64_t first_start; /* its start */
} level;

typedef struct cthread {
    uint32_t stream, pid, tid;
    held_flow *flows;
    size_t n, cap;
    level *lv;
    size_t n_lv;
    size_t hi; /* no level at or above it holds a span */
    /* ,"pid":P,"tid":T once formatted: every event of the thread has it. */
    char ids[48];
    size_t ids_len;
    /* A samples track: the thread's tid, its open frames (root first) and
     * where its last sample ended. */
    int is_samples;
    uint32_t real_tid;
    unsigned kinds; /* 1 << vitte_sample_kind */
    sframe *open;
    size_t n_open, cap_open;
    int64_t cur_end;
    int has_end;
} cthread;

/* A "t" or "f" whose "s" was not written yet. */
typedef struct early_flow {
    uint64_t id;
    char *text;
    size_t len;
} early_flow;

typedef struct chrome_sink {
    vitte__xsink base;
    vitte__jsonw w;
    vitte__xmap th_index; /* (stream << 32 | tid) -> index + 1 */
    cthread *th;
    size_t n_th, cap_th;
    uint64_t last_key;
    size_t last;         /* index + 1 of the cached thread, 0 = none */
    vitte__xmap started; /* flow id -> 1 once its "s" is written */
    early_flow *early;
    size_t n_early, cap_early;
    vitte__buf scratch; /* one flow event, when it has to wait */
    vitte__buf head;    /* "name":"...","cat":"..." of the span being placed */
    vitte__buf args;    /* its ,"args":{...} */
    uint64_t unbound;   /* flows written without an enclosing span */
    /* samples */
    vitte__xnames names; /* frame names and modules */
    vitte__buf fname;    /* a frame's name, built */
    uint64_t *stack;     /* a sample's frame ids, root first */
    size_t cap_stack;
    uint64_t samples, sample_weight;
    int err;
    /* (stream << 32 | stack id) -> offset + 1 in id_pool: n, then the n
     * frame ids root first, made on the stack's first sample */
    vitte__xmap stack_cache;
    uint64_t *id_pool;
    size_t n_id_pool, cap_id_pool;
} chrome_sink;

static cthread *get_track(chrome_sink *c, uint32_t stream, uint32_t pid, uint32_t tid)
{
    uint64_t key = (uint64_t)stream << 32 | tid;
    if (c->last != 0 && c->last_key == key)
        return &c->th[c->last - 1];
    int created;
    uint64_t *v = vitte__xmap_upsert(&c->th_index, key, &created);
    if (v == NULL)
        return NULL;
    if (created) {
        if (c->n_th == c->cap_th) {
            size_t cap = c->cap_th != 0 ? c->cap_th * 2 : 16;
            cthread *th = vitte__realloc(c->th, cap * sizeof *th);
            if (th == NULL)
                return NULL;
            c->th = th;
            c->cap_th = cap;
        }
        cthread *t = &c->th[c->n_th];
        memset(t, 0, sizeof *t);
        t->stream = stream;
        t->pid = pid;
        t->tid = tid;
        t->ids_len = (size_t)snprintf(t->ids, sizeof t->ids, ",\"pid\":%u,\"tid\":%u", pid, tid);
        *v = ++c->n_th;
    }
    if (*v == 0)
        return NULL;
    c->last_key = key;
    c->last = (size_t)*v;
    return &c->th[*v - 1];
}

static cthread *get_thread(chrome_sink *c, const vitte__xevent *e)
{
    return get_track(c, e->stream, e->pid, e->ev->tid);
}

/* {"ph":"X","name":...,"cat":...,"ts":...,"pid":...,"tid":... (left open) */
static void put_head(vitte__buf *b, const cthread *t, char ph, const char *name, const char *cat,
                     int64_t ts)
{
    if (vitte__buf_reserve(b, 20) == 0) {
        memcpy(b->data + b->len, "{\"ph\":\"X\",\"name\":\"", 18);
        b->data[b->len + 7] = ph;
        b->len += 18;
    }
    vitte__json_escape(b, name, strlen(name));
    vitte__buf_append(b, "\",\"cat\":\"", 9);
    vitte__json_escape(b, cat, strlen(cat));
    vitte__buf_append(b, "\",\"ts\":", 7);
    vitte__export_put_us(b, ts);
    vitte__buf_append(b, t->ids, t->ids_len);
}

/* The next event of the traceEvents array starts here. */
static vitte__buf *next_event(chrome_sink *c)
{
    vitte__json_raw(&c->w, "\n", 1);
    return c->base.out;
}

/* ,"args":{...} when the event has args or tags. */
static void put_args(vitte__buf *b, const vitte_trace_event *ev)
{
    if (ev->n_args != 0 || ev->tags[0] != '\0') {
        vitte__buf_append(b, ",\"args\":{", 9);
        size_t n = vitte__export_put_jargs(b, ev, 0);
        if (ev->tags[0] != '\0') {
            if (n != 0)
                vitte__buf_putc(b, ',');
            vitte__buf_append(b, "\"tags\":", 7);
            vitte__export_put_jstr(b, ev->tags);
        }
        vitte__buf_putc(b, '}');
    }
}

/* ---- spans ------------------------------------------------------------------------------- */

/* {"ph":"B","name":...,"cat":...,"ts":...,"pid":...,"tid":...,"args":{...}} */
static void put_edge(chrome_sink *c, vitte__buf *b, const cthread *t, char ph, int64_t ts)
{
    if (vitte__buf_reserve(b, 10) == 0) {
        memcpy(b->data + b->len, "{\"ph\":\"B\",", 10);
        b->data[b->len + 7] = ph;
        b->len += 10;
    }
    vitte__buf_append(b, c->head.data, c->head.len);
    vitte__buf_append(b, ",\"ts\":", 6);
    vitte__export_put_us(b, ts);
    vitte__buf_append(b, t->ids, t->ids_len);
    vitte__buf_append(b, c->args.data, c->args.len);
    vitte__buf_putc(b, '}');
}

/* Write the held events of a level, in order, and empty it. */
static void write_held(chrome_sink *c, level *l)
{
    const char *p = l->held.data, *end = p + l->held.len;
    while (p < end) {
        size_t n = strlen(p);
        vitte__json_raw(&c->w, "\n", 1);
        vitte__buf_append(c->base.out, p, n);
        p += n + 1;
    }
    vitte__buf_clear(&l->held);
    l->has_first = 0;
}

/* Write every chain held at depth >= from. */
static void flush_levels(chrome_sink *c, cthread *t, size_t from)
{
    for (size_t k = from; k < t->hi; k++)
        write_held(c, &t->lv[k]);
    if (from < t->hi)
        t->hi = from;
}

static int ensure_levels(cthread *t, uint32_t d)
{
    if ((size_t)d + 2 <= t->n_lv)
        return VITTE_OK;
    size_t n = t->n_lv != 0 ? t->n_lv : 8;
    while (n < (size_t)d + 2)
        n *= 2;
    level *lv = vitte__realloc(t->lv, n * sizeof *lv);
    if (lv == NULL)
        return VITTE_ENOMEM;
    for (size_t k = t->n_lv; k < n; k++) {
        vitte__buf_init(&lv[k].held);
        lv[k].has_first = 0;
        lv[k].first_start = 0;
    }
    t->lv = lv;
    t->n_lv = n;
    return VITTE_OK;
}

static void append_held(vitte__buf *dst, const vitte__buf *src)
{
    vitte__buf_append(dst, src->data, src->len);
}

/* A span's B and E, next to each other. */
static void put_pair(chrome_sink *c, vitte__buf *b, const cthread *t, int64_t start, int64_t end,
                     int held)
{
    if (!held)
        vitte__json_raw(&c->w, "\n", 1);
    put_edge(c, b, t, 'B', start);
    if (held)
        vitte__buf_putc(b, '\0');
    else
        vitte__json_raw(&c->w, "\n", 1);
    put_edge(c, b, t, 'E', end);
    if (held)
        vitte__buf_putc(b, '\0');
}

static int place_span(chrome_sink *c, cthread *t, const vitte__xevent *e)
{
    const vitte_trace_event *ev = e->ev;
    uint32_t d = ev->depth;
    if (ensure_levels(t, d) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__buf_clear(&c->head);
    vitte__buf_clear(&c->args);
    vitte__buf_append(&c->head, "\"name\":\"", 8);
    vitte__json_escape(&c->head, ev->name, strlen(ev->name));
    vitte__buf_append(&c->head, "\",\"cat\":\"", 9);
    vitte__json_escape(&c->head, ev->module, strlen(ev->module));
    vitte__buf_putc(&c->head, '"');
    put_args(&c->args, ev);
    if (c->head.err != 0 || c->args.err != 0)
        return VITTE_ENOMEM;
    int64_t start = e->ts, end = e->ts + (int64_t)ev->dur_ns;

    /* Chains held deeper than our children (their parent was filtered out
     * or lost) have nothing left to wait for. */
    flush_levels(c, t, (size_t)d + 2);
    level *kids = &t->lv[d + 1];
    level *mine = &t->lv[d];
    /* We wait if we are the first child of a parent still to come. */
    if (d == 0 || mine->has_first) {
        put_pair(c, c->base.out, t, start, end, 0);
        write_held(c, kids); /* after us: right for equal starts, harmless otherwise */
        return c->base.out->err;
    }
    vitte__buf *h = &mine->held;
    put_pair(c, h, t, start, end, 1);
    if (kids->has_first && kids->first_start == start) {
        append_held(h, &kids->held);
        vitte__buf_clear(&kids->held);
        kids->has_first = 0;
    } else {
        write_held(c, kids); /* other starts: the order does not matter */
    }
    mine->has_first = 1;
    mine->first_start = start;
    if (t->hi < (size_t)d + 1)
        t->hi = (size_t)d + 1;
    return h->err != 0 ? h->err : c->base.out->err;
}

/* ---- flows ------------------------------------------------------------------------------- */

static int emit_flow(chrome_sink *c, const cthread *t, const held_flow *f, const char *cat,
                     int64_t ts)
{
    static const char ph[] = {'s', 't', 'f'};
    int is_start = f->type == VITTE_EVENT_FLOW_BEGIN;
    int started = vitte__xmap_find(&c->started, f->id) != NULL;
    vitte__buf *b = &c->scratch;
    vitte__buf_clear(b);
    put_head(b, t, ph[f->type - VITTE_EVENT_FLOW_BEGIN], "flow", cat, ts);
    vitte__buf_append(b, ",\"id\":\"", 7);
    vitte__export_put_hex(b, f->id);
    vitte__buf_append(b, "\",\"bp\":\"e\"}", 11);
    if (b->err != 0)
        return b->err;
    if (!is_start && !started) {
        /* Its "s" has not been written: DevTools would drop it. */
        if (c->n_early == c->cap_early) {
            size_t cap = c->cap_early != 0 ? c->cap_early * 2 : 16;
            early_flow *e = vitte__realloc(c->early, cap * sizeof *e);
            if (e == NULL)
                return VITTE_ENOMEM;
            c->early = e;
            c->cap_early = cap;
        }
        char *text = vitte__malloc(b->len);
        if (text == NULL)
            return VITTE_ENOMEM;
        memcpy(text, b->data, b->len);
        c->early[c->n_early++] = (early_flow){f->id, text, b->len};
        return VITTE_OK;
    }
    vitte__json_raw(&c->w, "\n", 1);
    vitte__buf_append(c->base.out, b->data, b->len);
    if (is_start) {
        if (vitte__xmap_upsert(&c->started, f->id, NULL) == NULL)
            return VITTE_ENOMEM;
        /* Steps and ends that were waiting for it follow, in their order. */
        size_t kept = 0;
        for (size_t i = 0; i < c->n_early; i++) {
            early_flow *w = &c->early[i];
            if (w->id == f->id) {
                vitte__json_raw(&c->w, "\n", 1);
                vitte__buf_append(c->base.out, w->text, w->len);
                vitte__free(w->text);
            } else {
                c->early[kept++] = *w;
            }
        }
        c->n_early = kept;
    }
    return c->base.out->err;
}

/* Flows inside [start, end] of a span that just arrived bind to it. */
static int bind_flows(chrome_sink *c, cthread *t, const vitte__xevent *e)
{
    int64_t start = e->ts, end = e->ts + (int64_t)e->ev->dur_ns;
    size_t kept = 0;
    int rc = VITTE_OK;
    for (size_t i = 0; i < t->n; i++) {
        held_flow *f = &t->flows[i];
        if (rc == VITTE_OK && f->ts >= start && f->ts <= end)
            rc = emit_flow(c, t, f, e->ev->module, start);
        else
            t->flows[kept++] = *f;
    }
    t->n = kept;
    return rc;
}

static int put_unbound(chrome_sink *c, const cthread *t, const held_flow *f)
{
    c->unbound++;
    return emit_flow(c, t, f, "", f->ts);
}

static int hold_flow(chrome_sink *c, cthread *t, const vitte__xevent *e)
{
    if (t->n == MAX_HELD_FLOWS) {
        /* A span that never ends (main's, in a crashed program) must not
         * make memory grow with the trace. */
        int rc = put_unbound(c, t, &t->flows[0]);
        if (rc != VITTE_OK)
            return rc;
        memmove(t->flows, t->flows + 1, (t->n - 1) * sizeof *t->flows);
        t->n--;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap != 0 ? t->cap * 2 : 8;
        held_flow *f = vitte__realloc(t->flows, cap * sizeof *f);
        if (f == NULL)
            return VITTE_ENOMEM;
        t->flows = f;
        t->cap = cap;
    }
    t->flows[t->n++] = (held_flow){e->ts, e->ev->id, (int)e->ev->type};
    return VITTE_OK;
}

/* ---- samples ------------------------------------------------------------------------------ */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Close the frames of a samples track from depth `from` up, at `at`:
 * deepest first, as spans arrive. */
static int close_frames(chrome_sink *c, cthread *t, size_t from, int64_t at, int spread)
{
    size_t deepest = t->n_open;
    while (t->n_open > from) {
        const sframe *f = &t->open[t->n_open - 1];
        /* Closing everything before a gap or at the end (spread): each frame ends 1 ns after
         * the frame it holds.  When a whole stack ended at one instant and
         * its two innermost frames had the same bounds (an inlined function
         * and its caller), DevTools' trace engine nested them wrongly and
         * dropped both; parents a few ns longer remove the tie. */
        int64_t end = spread ? at + (int64_t)(deepest - t->n_open) : at;
        vitte_trace_event fe;
        memset(&fe, 0, sizeof fe);
        fe.type = VITTE_EVENT_SPAN;
        fe.tid = t->tid;
        fe.depth = (uint32_t)(t->n_open - 1);
        fe.dur_ns = (uint64_t)(end - f->start);
        fe.name = c->names.str[f->id >> 32];
        fe.module = c->names.str[(uint32_t)f->id];
        fe.tags = fe.file = "";
        vitte__xevent x = {&fe, t->stream, t->pid, f->start, 0};
        t->n_open--;
        int rc = place_span(c, t, &x);
        if (rc != VITTE_OK)
            return rc;
    }
    if (spread && deepest > 0 && at + (int64_t)deepest - 1 > t->cur_end)
        t->cur_end = at + (int64_t)deepest - 1; /* the next frames start after the last end */
    return VITTE_OK;
}

static int64_t intern_name(chrome_sink *c, const char *s, size_t n)
{
    int64_t id = vitte__xnames_intern(&c->names, s, n);
    return id >= 0 && id < (int64_t)UINT32_MAX ? id : -1;
}

/* The id of a frame: its name (" (inline)" added for an inlined
 * function, as in the text summary) and its module. */
static int frame_id(chrome_sink *c, const char *function, int inlined, const char *module,
                    uint64_t *id)
{
    vitte__buf *nb = &c->fname;
    vitte__buf_clear(nb);
    vitte__buf_puts(nb, function);
    if (inlined)
        vitte__buf_puts(nb, " (inline)");
    if (nb->err != 0)
        return VITTE_ENOMEM;
    int64_t n = intern_name(c, nb->data != NULL ? nb->data : "", nb->len);
    int64_t m = intern_name(c, module, strlen(module));
    if (n < 0 || m < 0)
        return VITTE_ENOMEM;
    *id = (uint64_t)n << 32 | (uint64_t)m;
    return VITTE_OK;
}

static int chrome_sample(chrome_sink *c, const vitte__xevent *e)
{
    const vitte_trace_event *ev = e->ev;
    int64_t w =
        (int64_t)(ev->dur_ns > (uint64_t)INT64_MAX / 4 ? (uint64_t)INT64_MAX / 4 : ev->dur_ns);
    c->samples++;
    c->sample_weight += ev->dur_ns;
    if (w == 0)
        return VITTE_OK; /* no time to draw */
    cthread *t = get_track(c, e->stream, e->pid, ev->tid + SAMPLE_TID_OFFSET);
    if (t == NULL)
        return VITTE_ENOMEM;
    t->is_samples = 1;
    t->real_tid = ev->tid;
    t->kinds |= 1u << (ev->sample_kind & 7);

    /* Where it goes (see the top of the file). */
    int64_t start = e->ts - w;
    int rc;
    if (t->n_open != 0 && start - t->cur_end > w) {
        rc = close_frames(c, t, 0, t->cur_end, 1);
        if (rc != VITTE_OK)
            return rc;
    } else if (t->n_open != 0) {
        start = t->cur_end;
    }
    if (t->has_end && start < t->cur_end)
        start = t->cur_end;
    if (start < 0)
        start = 0;

    /* Its frames, root first. */
    size_t n = ev->n_frames;
    if (ev->frames == NULL)
        n = 0;
    if (n > MAX_SAMPLE_DEPTH)
        n = MAX_SAMPLE_DEPTH;
    size_t need = n != 0 ? n : 1;
    if (need > c->cap_stack) {
        size_t cap = c->cap_stack != 0 ? c->cap_stack : 64;
        while (cap < need)
            cap *= 2;
        uint64_t *st = vitte__realloc(c->stack, cap * sizeof *st);
        if (st == NULL)
            return VITTE_ENOMEM;
        c->stack = st;
        c->cap_stack = cap;
    }
    uint64_t ckey = (uint64_t)e->stream << 32 | ev->id;
    int cacheable = n != 0 && n == ev->n_frames && ev->id != 0 && ev->id < UINT32_MAX;
    const uint64_t *hit = cacheable ? vitte__xmap_find(&c->stack_cache, ckey) : NULL;
    if (hit != NULL) {
        memcpy(c->stack, &c->id_pool[*hit], n * sizeof *c->stack);
    } else if (n == 0) {
        /* No stack: one frame of the leaf's name. */
        rc =
            frame_id(c, ev->name[0] != '\0' ? ev->name : "(no stack)", 0, ev->module, &c->stack[0]);
        if (rc != VITTE_OK)
            return rc;
        n = 1;
    } else {
        for (size_t k = 0; k < n; k++) {
            const vitte_trace_frame *fr = &ev->frames[ev->n_frames - 1 - k];
            const char *module = fr->mapping != NULL ? base_name(fr->mapping->path) : "";
            rc = frame_id(c, fr->function != NULL ? fr->function : "?", fr->inlined, module,
                          &c->stack[k]);
            if (rc != VITTE_OK)
                return rc;
        }
        if (cacheable) {
            if (c->n_id_pool + n + 1 > c->cap_id_pool) {
                size_t cap = c->cap_id_pool != 0 ? c->cap_id_pool : 4096;
                while (cap < c->n_id_pool + n + 1)
                    cap *= 2;
                uint64_t *p = vitte__realloc(c->id_pool, cap * sizeof *p);
                if (p == NULL)
                    return VITTE_ENOMEM;
                c->id_pool = p;
                c->cap_id_pool = cap;
            }
            uint64_t *slot = vitte__xmap_upsert(&c->stack_cache, ckey, NULL);
            if (slot == NULL)
                return VITTE_ENOMEM;
            c->id_pool[c->n_id_pool] = n;
            memcpy(&c->id_pool[c->n_id_pool + 1], c->stack, n * sizeof *c->stack);
            *slot = c->n_id_pool + 1; /* the ids start after the count */
            c->n_id_pool += n + 1;
        }
    }
    size_t common = 0;
    while (common < t->n_open && common < n && t->open[common].id == c->stack[common])
        common++;
    rc = close_frames(c, t, common, start, 0);
    if (rc != VITTE_OK)
        return rc;
    if (n > t->cap_open) {
        size_t cap = t->cap_open != 0 ? t->cap_open : 16;
        while (cap < n)
            cap *= 2;
        sframe *o = vitte__realloc(t->open, cap * sizeof *o);
        if (o == NULL)
            return VITTE_ENOMEM;
        t->open = o;
        t->cap_open = cap;
    }
    for (size_t k = common; k < n; k++)
        t->open[k] = (sframe){c->stack[k], start};
    t->n_open = n;
    t->cur_end = start + w;
    t->has_end = 1;
    return VITTE_OK;
}

/* ---- the sink ------------------------------------------------------------------------------ */

static int chrome_event(vitte__xsink *s, const vitte__xevent *e)
{
    chrome_sink *c = (chrome_sink *)s;
    const vitte_trace_event *ev = e->ev;
    if (c->err != 0)
        return c->err;
    if (ev->type == VITTE_EVENT_SAMPLE)
        return chrome_sample(c, e);
    cthread *t = get_thread(c, e);
    if (t == NULL)
        return VITTE_ENOMEM;
    vitte__buf *b;
    switch (ev->type) {
    case VITTE_EVENT_SPAN: {
        int rc = place_span(c, t, e);
        if (rc == VITTE_OK && t->n != 0)
            rc = bind_flows(c, t, e);
        return rc;
    }
    case VITTE_EVENT_INSTANT:
        b = next_event(c);
        put_head(b, t, 'I', ev->name, ev->module, e->ts);
        vitte__buf_append(b, ",\"s\":\"t\"", 8);
        put_args(b, ev);
        vitte__buf_putc(b, '}');
        break;
    case VITTE_EVENT_COUNTER:
        b = next_event(c);
        put_head(b, t, 'C', ev->name, ev->module, e->ts);
        /* One series per numeric key of args: only the value, so extra
         * arguments do not become series of their own. */
        vitte__buf_append(b, ",\"args\":{", 9);
        vitte__export_put_jstr(b, ev->name);
        vitte__buf_putc(b, ':');
        vitte__export_put_jdouble(b, ev->value);
        vitte__buf_append(b, "}}", 2);
        break;
    case VITTE_EVENT_ASYNC_BEGIN:
    case VITTE_EVENT_ASYNC_END:
        b = next_event(c);
        put_head(b, t, ev->type == VITTE_EVENT_ASYNC_BEGIN ? 'b' : 'e', ev->name, ev->module,
                 e->ts);
        vitte__buf_append(b, ",\"id\":\"", 7);
        vitte__export_put_hex(b, ev->id);
        vitte__buf_putc(b, '"');
        put_args(b, ev);
        vitte__buf_putc(b, '}');
        break;
    case VITTE_EVENT_FLOW_BEGIN:
    case VITTE_EVENT_FLOW_STEP:
    case VITTE_EVENT_FLOW_END:
        return hold_flow(c, t, e);
    default:
        return VITTE_OK; /* a type from a newer reader: nothing to map it to */
    }
    return c->base.out->err;
}

static void chrome_skip(vitte__xsink *s, uint32_t stream, uint32_t tid, uint32_t depth)
{
    chrome_sink *c = (chrome_sink *)s;
    uint64_t key = (uint64_t)stream << 32 | tid;
    uint64_t *v = vitte__xmap_find(&c->th_index, key);
    if (v == NULL || *v == 0)
        return;
    cthread *t = &c->th[*v - 1];
    if (ensure_levels(t, depth) != VITTE_OK) {
        c->err = VITTE_ENOMEM;
        return;
    }
    /* Transparent: the skipped span's first children become its parent's,
     * unless the parent already has a first child. */
    flush_levels(c, t, (size_t)depth + 2);
    level *kids = &t->lv[depth + 1], *mine = &t->lv[depth];
    if (depth == 0 || mine->has_first || !kids->has_first) {
        write_held(c, kids);
        return;
    }
    append_held(&mine->held, &kids->held);
    mine->has_first = 1;
    mine->first_start = kids->first_start;
    vitte__buf_clear(&kids->held);
    kids->has_first = 0;
    if (t->hi < (size_t)depth + 1)
        t->hi = (size_t)depth + 1;
}

static void chrome_stream_end(vitte__xsink *s, uint32_t stream)
{
    chrome_sink *c = (chrome_sink *)s;
    for (size_t i = 0; i < c->n_th; i++) {
        cthread *t = &c->th[i];
        if (t->stream != stream)
            continue;
        if (t->is_samples && c->err == 0)
            c->err = close_frames(c, t, 0, t->cur_end, 1);
        flush_levels(c, t, 0);
        for (size_t k = 0; k < t->n && c->err == 0; k++)
            c->err = put_unbound(c, t, &t->flows[k]);
        t->n = 0;
    }
}

static void put_meta(chrome_sink *c, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
    vitte__buf *b = next_event(c);
    vitte__buf_append(b, "{\"ph\":\"M\",\"name\":\"", 18);
    vitte__buf_puts(b, what);
    vitte__buf_append(b, "\",\"pid\":", 8);
    vitte__buf_u64(b, pid);
    vitte__buf_append(b, ",\"tid\":", 7);
    vitte__buf_u64(b, tid);
    vitte__buf_append(b, ",\"args\":{\"name\":", 16);
    vitte__export_put_jstr(b, name);
    vitte__buf_append(b, "}}", 2);
}

static int chrome_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    chrome_sink *c = (chrome_sink *)s;
    vitte__jsonw *w = &c->w;
    if (c->err != 0)
        return c->err;
    /* Steps and ends whose start never came: written anyway (Perfetto may
     * still use them). */
    for (size_t i = 0; i < c->n_early; i++) {
        vitte__json_raw(w, "\n", 1);
        vitte__buf_append(s->out, c->early[i].text, c->early[i].len);
    }
    for (size_t i = 0; i < sum->n_files; i++) {
        const vitte__xfile *f = &sum->files[i];
        if (!f->opened)
            continue;
        const char *name = f->process_name[0] != '\0' ? f->process_name : base_name(f->path);
        put_meta(c, "process_name", f->pid, 0, name);
    }
    for (size_t i = 0; i < sum->n_threads; i++) {
        const vitte__xthread *t = &sum->threads[i];
        if (t->name[0] != '\0')
            put_meta(c, "thread_name", t->pid, t->tid, t->name);
    }
    for (size_t i = 0; i < c->n_th; i++) {
        const cthread *t = &c->th[i];
        if (!t->is_samples)
            continue;
        const char *name = "";
        for (size_t k = 0; k < sum->n_threads && name[0] == '\0'; k++)
            if (sum->threads[k].stream == t->stream && sum->threads[k].tid == t->real_tid)
                name = sum->threads[k].name;
        const char *kind = t->kinds == 1u << VITTE_SAMPLE_WALL  ? "wall samples"
                           : t->kinds == 1u << VITTE_SAMPLE_CPU ? "CPU samples"
                                                                : "samples";
        vitte__buf_clear(&c->fname);
        if (name[0] != '\0')
            vitte__buf_printf(&c->fname, "%s (%s)", name, kind);
        else
            vitte__buf_printf(&c->fname, "tid %u (%s)", t->real_tid, kind);
        vitte__buf_putc(&c->fname, '\0');
        if (c->fname.err != 0)
            return VITTE_ENOMEM;
        put_meta(c, "thread_name", t->pid, t->tid, c->fname.data);
    }
    vitte__json_end_array(w);
    vitte__json_kv_string(w, "displayTimeUnit", "ns");
    vitte__json_key(w, "otherData");
    vitte__json_begin_object(w);
    vitte__json_kv_string(w, "producer", "vitte");
    vitte__json_kv_string(w, "vitte_version", vitte_version_string());
    vitte__json_kv_string(w, "time_base",
                          sum->realtime_base ? "CLOCK_REALTIME" : "CLOCK_MONOTONIC");
    vitte__json_kv_int(w, "start_realtime_ns", sum->start_realtime_ns);
    vitte__json_kv_uint(w, "duration_ns", sum->duration_ns);
    vitte__json_kv_uint(w, "events_read", sum->events_read);
    vitte__json_kv_uint(w, "events_exported", sum->events_kept);
    vitte__json_kv_uint(w, "dropped", sum->dropped);
    vitte__json_kv_uint(w, "unbound_flows", c->unbound);
    if (c->samples != 0) {
        vitte__json_kv_uint(w, "samples", c->samples);
        vitte__json_kv_uint(w, "sample_weight_ns", c->sample_weight);
        vitte__json_kv_uint(w, "sample_tid_offset", SAMPLE_TID_OFFSET);
    }
    vitte__json_key(w, "files");
    vitte__json_begin_array(w);
    for (size_t i = 0; i < sum->n_files; i++) {
        const vitte__xfile *f = &sum->files[i];
        vitte__json_begin_object(w);
        vitte__json_kv_string(w, "path", f->path);
        vitte__json_kv_bool(w, "read", f->opened);
        if (f->opened) {
            vitte__json_kv_uint(w, "pid", f->pid);
            vitte__json_kv_string(w, "process_name", f->process_name);
            vitte__json_kv_string(w, "clock", f->clock);
            vitte__json_kv_int(w, "offset_ns", f->offset_ns);
            vitte__json_kv_uint(w, "duration_ns", f->duration_ns);
            vitte__json_kv_uint(w, "events", f->events);
            vitte__json_kv_uint(w, "dropped", f->dropped);
            vitte__json_kv_bool(w, "complete", f->complete);
            if (f->sampler != NULL && f->sampler[0] != '\0') {
                /* The sampler's facts, as recorded (INFO keys). */
                vitte__json_key(w, "sampler");
                vitte__json_begin_object(w);
                vitte__json_kv_string(w, "sampler", f->sampler);
                vitte__json_kv_string(w, "call_graph", f->call_graph);
                vitte__json_kv_uint(w, "sample_freq", f->sample_freq);
                vitte__json_kv_uint(w, "samples", f->prof_samples);
                vitte__json_kv_uint(w, "lost", f->prof_lost);
                vitte__json_kv_uint(w, "unwind_failed", f->prof_unwind_failed);
                vitte__json_kv_uint(w, "truncated", f->prof_truncated);
                vitte__json_kv_uint(w, "throttled", f->prof_throttled);
                vitte__json_kv_uint(w, "unknown_mappings", f->prof_unknown_mappings);
                if (f->sampler_note[0] != '\0')
                    vitte__json_kv_string(w, "note", f->sampler_note);
                if (f->exit_status[0] != '\0')
                    vitte__json_kv_string(w, "exit_status", f->exit_status);
                vitte__json_end_object(w);
            }
        }
        vitte__json_end_object(w);
    }
    vitte__json_end_array(w);
    vitte__json_key(w, "warnings");
    vitte__json_begin_array(w);
    for (size_t i = 0; i < sum->n_warnings; i++)
        vitte__json_string(w, sum->warnings[i]);
    vitte__json_end_array(w);
    vitte__json_end_object(w);
    vitte__json_end_object(w);
    vitte__buf_putc(s->out, '\n');
    return vitte__json_finish(w);
}

static void chrome_destroy(vitte__xsink *s)
{
    chrome_sink *c = (chrome_sink *)s;
    for (size_t i = 0; i < c->n_th; i++) {
        cthread *t = &c->th[i];
        for (size_t k = 0; k < t->n_lv; k++)
            vitte__buf_free(&t->lv[k].held);
        vitte__free(t->lv);
        vitte__free(t->flows);
        vitte__free(t->open);
    }
    for (size_t i = 0; i < c->n_early; i++)
        vitte__free(c->early[i].text);
    vitte__free(c->early);
    vitte__free(c->th);
    vitte__xmap_fini(&c->th_index);
    vitte__xmap_fini(&c->started);
    vitte__buf_free(&c->scratch);
    vitte__buf_free(&c->head);
    vitte__buf_free(&c->args);
    vitte__buf_free(&c->fname);
    vitte__free(c->stack);
    vitte__xnames_fini(&c->names);
    vitte__xmap_fini(&c->stack_cache);
    vitte__free(c->id_pool);
    vitte__free(c);
}

static const vitte__xsink_ops chrome_ops = {chrome_event, chrome_skip, chrome_stream_end,
                                            chrome_finish, chrome_destroy};

int vitte__export_chrome_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                vitte__xsink **sink)
{
    chrome_sink *c = vitte__calloc(1, sizeof *c);
    if (c == NULL)
        return VITTE_ENOMEM;
    c->base = (vitte__xsink){&chrome_ops, out, opt};
    vitte__xmap_init(&c->th_index);
    vitte__xmap_init(&c->started);
    vitte__buf_init(&c->scratch);
    vitte__buf_init(&c->head);
    vitte__buf_init(&c->args);
    vitte__buf_init(&c->fname);
    vitte__xnames_init(&c->names);
    vitte__xmap_init(&c->stack_cache);
    vitte__json_init(&c->w, out, 0);
    vitte__json_begin_object(&c->w);
    vitte__json_key(&c->w, "traceEvents");
    vitte__json_begin_array(&c->w);
    *sink = &c->base;
    return VITTE_OK;
}
