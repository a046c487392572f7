/* vitte: span stacks in one streaming pass, and the folded-stacks export.
 *
 * Folded stacks are Brendan Gregg's collapsed format, one line per distinct
 * stack: "root;child;leaf <value>", here with the stack's self time in
 * nanoseconds as the value (flamegraph.pl, inferno and speedscope read it).
 *
 * Spans arrive when they end, children before parents, with their depth.
 * Per thread and depth a map holds the suffix paths (the subtree below a
 * parent not yet seen) with their self time; when the parent at depth d
 * arrives it prefixes its name to everything waiting deeper and moves it to
 * depth d.  Depth-0 spans complete a stack, which goes into the result map.
 * A suffix path is an interned node (name, rest-of-path), so prefixing is a
 * hash lookup, and memory is bounded by the number of distinct paths, not by
 * the number of events. */
#include "export/export_trace.h"

#include <stdlib.h>

#include "common/alloc.h"

struct vitte__xstack_thread {
    uint32_t stream, tid;
    vitte__xmap *lv; /* per depth: node -> self ns waiting for the parent */
    size_t cap;
    uint32_t maxd; /* no level above it holds anything */
};

void vitte__xstacks_init(vitte__xstacks *st, int per_thread)
{
    memset(st, 0, sizeof *st);
    vitte__xnames_init(&st->names);
    vitte__xmap_init(&st->node_index);
    vitte__xmap_init(&st->threads);
    vitte__xmap_init(&st->done);
    vitte__xmap_init(&st->sample_paths);
    st->per_thread = per_thread;
}

static void free_levels(struct vitte__xstack_thread *t)
{
    for (size_t k = 0; k < t->cap; k++)
        vitte__xmap_fini(&t->lv[k]);
    vitte__free(t->lv);
    t->lv = NULL;
    t->cap = 0;
    t->maxd = 0;
}

void vitte__xstacks_fini(vitte__xstacks *st)
{
    for (size_t i = 0; i < st->n_th; i++)
        free_levels(&st->th[i]);
    vitte__free(st->th);
    vitte__free(st->node_name);
    vitte__free(st->node_next);
    vitte__xmap_fini(&st->node_index);
    vitte__xmap_fini(&st->threads);
    vitte__xmap_fini(&st->done);
    vitte__xmap_fini(&st->sample_paths);
    vitte__xnames_fini(&st->names);
    memset(st, 0, sizeof *st);
}

static uint32_t node_of(vitte__xstacks *st, uint32_t name, uint32_t next)
{
    int created;
    uint64_t *v = vitte__xmap_upsert(&st->node_index, (uint64_t)name << 32 | next, &created);
    if (v == NULL)
        goto nomem;
    if (!created)
        return (uint32_t)*v;
    if (st->n_nodes == st->cap_nodes) {
        size_t cap = st->cap_nodes != 0 ? st->cap_nodes * 2 : 256;
        uint32_t *nn = vitte__realloc(st->node_name, cap * sizeof *nn);
        if (nn == NULL)
            goto nomem;
        st->node_name = nn;
        uint32_t *nx = vitte__realloc(st->node_next, cap * sizeof *nx);
        if (nx == NULL)
            goto nomem;
        st->node_next = nx;
        st->cap_nodes = cap;
    }
    st->node_name[st->n_nodes] = name;
    st->node_next[st->n_nodes] = next;
    *v = st->n_nodes;
    return (uint32_t)st->n_nodes++;
nomem:
    st->err = VITTE_ENOMEM;
    return VITTE__XSTACK_NIL;
}

static void add(vitte__xstacks *st, vitte__xmap *m, uint64_t key, uint64_t ns)
{
    uint64_t *v = vitte__xmap_upsert(m, key, NULL);
    if (v == NULL)
        st->err = VITTE_ENOMEM;
    else
        *v += ns;
}

static struct vitte__xstack_thread *get_thread(vitte__xstacks *st, uint32_t stream, uint32_t tid,
                                               uint32_t *index)
{
    int created;
    uint64_t *v = vitte__xmap_upsert(&st->threads, (uint64_t)stream << 32 | tid, &created);
    if (v == NULL)
        goto nomem;
    if (created) {
        if (st->n_th == st->cap_th) {
            size_t cap = st->cap_th != 0 ? st->cap_th * 2 : 16;
            struct vitte__xstack_thread *th = vitte__realloc(st->th, cap * sizeof *th);
            if (th == NULL)
                goto nomem;
            st->th = th;
            st->cap_th = cap;
        }
        memset(&st->th[st->n_th], 0, sizeof st->th[0]);
        st->th[st->n_th].stream = stream;
        st->th[st->n_th].tid = tid;
        *v = ++st->n_th;
    }
    if (*v == 0)
        goto nomem;
    *index = (uint32_t)(*v - 1);
    return &st->th[*v - 1];
nomem:
    st->err = VITTE_ENOMEM;
    return NULL;
}

static int ensure_levels(vitte__xstacks *st, struct vitte__xstack_thread *t, uint32_t depth)
{
    if ((size_t)depth < t->cap)
        return 0;
    size_t cap = t->cap != 0 ? t->cap : 8;
    while (cap <= depth)
        cap *= 2;
    vitte__xmap *lv = vitte__realloc(t->lv, cap * sizeof *lv);
    if (lv == NULL) {
        st->err = VITTE_ENOMEM;
        return -1;
    }
    for (size_t k = t->cap; k < cap; k++)
        vitte__xmap_init(&lv[k]);
    t->lv = lv;
    t->cap = cap;
    return 0;
}

/* Complete stacks of level 0 go to the result. */
static void flush_level(vitte__xstacks *st, vitte__xmap *m, uint32_t thread_index)
{
    uint64_t hi = st->per_thread ? (uint64_t)thread_index << 32 : 0;
    for (size_t i = 0; i < m->n; i++)
        add(st, &st->done, hi | m->keys[i], m->vals[i]);
    vitte__xmap_clear(m);
}

int vitte__xstacks_span(vitte__xstacks *st, const vitte__xevent *e)
{
    const vitte_trace_event *ev = e->ev;
    uint32_t ti;
    struct vitte__xstack_thread *t = get_thread(st, e->stream, ev->tid, &ti);
    uint32_t d = ev->depth;
    if (t == NULL || ensure_levels(st, t, d) != 0)
        return st->err;
    int64_t name = vitte__xnames_intern(&st->names, ev->name, strlen(ev->name));
    if (name < 0 || name >= (int64_t)UINT32_MAX) {
        st->err = VITTE_ENOMEM;
        return st->err;
    }
    vitte__xmap *target = &t->lv[d];
    uint32_t leaf = node_of(st, (uint32_t)name, VITTE__XSTACK_NIL);
    add(st, target, leaf, e->self_ns);
    for (uint32_t k = d + 1; k <= t->maxd && k < t->cap; k++) {
        vitte__xmap *below = &t->lv[k];
        for (size_t i = 0; i < below->n; i++)
            add(st, target, node_of(st, (uint32_t)name, (uint32_t)below->keys[i]), below->vals[i]);
        vitte__xmap_clear(below);
    }
    t->maxd = d;
    if (d == 0)
        flush_level(st, target, ti);
    return st->err;
}

int vitte__xstacks_sample(vitte__xstacks *st, const vitte__xevent *e)
{
    const vitte_trace_event *ev = e->ev;
    uint32_t ti;
    if (get_thread(st, e->stream, ev->tid, &ti) == NULL)
        return st->err;
    /* One path per stack of a file: made once, found again by the stack id. */
    uint64_t *cached = NULL;
    if (ev->id != 0 && ev->id < UINT32_MAX) {
        int created;
        cached =
            vitte__xmap_upsert(&st->sample_paths, (uint64_t)e->stream << 32 | ev->id, &created);
        if (cached == NULL) {
            st->err = VITTE_ENOMEM;
            return st->err;
        }
        if (*cached != 0) {
            uint64_t hi = st->per_thread ? (uint64_t)ti << 32 : 0;
            add(st, &st->done, hi | (*cached - 1), ev->dur_ns);
            return st->err;
        }
    }
    /* frames[0] is the leaf: build the path from the leaf up, so the last
     * node made is the whole stack from its root. */
    uint32_t node = VITTE__XSTACK_NIL;
    for (size_t i = 0; i < ev->n_frames; i++) {
        const char *fn = ev->frames[i].function;
        int64_t name = vitte__xnames_intern(&st->names, fn, strlen(fn));
        if (name < 0 || name >= (int64_t)UINT32_MAX) {
            st->err = VITTE_ENOMEM;
            return st->err;
        }
        node = node_of(st, (uint32_t)name, node);
        if (node == VITTE__XSTACK_NIL)
            return st->err;
    }
    if (node == VITTE__XSTACK_NIL) { /* no frame at all */
        int64_t name = vitte__xnames_intern(&st->names, "[unknown]", 9);
        if (name < 0) {
            st->err = VITTE_ENOMEM;
            return st->err;
        }
        node = node_of(st, (uint32_t)name, VITTE__XSTACK_NIL);
    }
    if (cached != NULL && node != VITTE__XSTACK_NIL) {
        /* the map may have grown since: look the slot up again */
        uint64_t *slot = vitte__xmap_find(&st->sample_paths, (uint64_t)e->stream << 32 | ev->id);
        if (slot != NULL)
            *slot = (uint64_t)node + 1;
    }
    uint64_t hi = st->per_thread ? (uint64_t)ti << 32 : 0;
    add(st, &st->done, hi | node, ev->dur_ns);
    return st->err;
}

void vitte__xstacks_skip(vitte__xstacks *st, uint32_t stream, uint32_t tid, uint32_t depth)
{
    uint32_t ti;
    struct vitte__xstack_thread *t = get_thread(st, stream, tid, &ti);
    if (t == NULL || ensure_levels(st, t, depth) != 0)
        return;
    /* A span filtered out is transparent: what waited for it waits for its
     * parent, unprefixed. */
    vitte__xmap *target = &t->lv[depth];
    for (uint32_t k = depth + 1; k <= t->maxd && k < t->cap; k++) {
        vitte__xmap *below = &t->lv[k];
        for (size_t i = 0; i < below->n; i++)
            add(st, target, below->keys[i], below->vals[i]);
        vitte__xmap_clear(below);
    }
    t->maxd = depth;
    if (depth == 0)
        flush_level(st, target, ti);
}

void vitte__xstacks_stream_end(vitte__xstacks *st, uint32_t stream)
{
    for (size_t i = 0; i < st->n_th; i++) {
        struct vitte__xstack_thread *t = &st->th[i];
        if (t->stream != stream)
            continue;
        /* Parents that never arrived (still open at the end, or lost):
         * their subtrees become stacks of their own. */
        for (size_t k = 0; k < t->cap; k++)
            flush_level(st, &t->lv[k], (uint32_t)i);
        free_levels(t);
    }
}

void vitte__xstacks_thread_key(const vitte__xstacks *st, uint32_t i, uint32_t *stream,
                               uint32_t *tid)
{
    *stream = i < st->n_th ? st->th[i].stream : 0;
    *tid = i < st->n_th ? st->th[i].tid : 0;
}

/* ---- the folded export --------------------------------------------------------------------- */

typedef struct folded_sink {
    vitte__xsink base;
    vitte__xstacks st;
} folded_sink;

/* A frame name as folded text: ';' separates frames and the line ends the
 * record, so ';' becomes ':' and control characters become spaces; invalid
 * UTF-8 becomes U+FFFD, so consumers always get valid text. */
static void put_frame(vitte__buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            i += vitte__buf_utf8(b, p + i, n - i);
            continue;
        }
        vitte__buf_putc(b, c == ';' ? ':' : c < 0x20 || c == 0x7f ? ' ' : (char)c);
        i++;
    }
    if (n == 0)
        vitte__buf_putc(b, '?'); /* an empty frame would merge with its neighbour */
}

static int folded_event(vitte__xsink *s, const vitte__xevent *e)
{
    folded_sink *f = (folded_sink *)s;
    if (e->ev->type == VITTE_EVENT_SAMPLE)
        return vitte__xstacks_sample(&f->st, e);
    if (e->ev->type != VITTE_EVENT_SPAN)
        return 0;
    return vitte__xstacks_span(&f->st, e);
}

static void folded_skip(vitte__xsink *s, uint32_t stream, uint32_t tid, uint32_t depth)
{
    vitte__xstacks_skip(&((folded_sink *)s)->st, stream, tid, depth);
}

static void folded_stream_end(vitte__xsink *s, uint32_t stream)
{
    vitte__xstacks_stream_end(&((folded_sink *)s)->st, stream);
}

typedef struct line_ref {
    const char *p; /* the path in the text buffer, once it stopped growing */
    size_t off, len;
    uint64_t ns;
} line_ref;

static int cmp_lines(const void *a, const void *b)
{
    const line_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int folded_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    folded_sink *f = (folded_sink *)s;
    vitte__xstacks *st = &f->st;
    if (st->err != 0)
        return st->err;
    /* Build every path, sort them (the output then does not depend on the
     * order threads were flushed in, and diffs well), write. */
    vitte__buf text;
    vitte__buf_init(&text);
    line_ref *lines = vitte__calloc(st->done.n != 0 ? st->done.n : 1, sizeof *lines);
    if (lines == NULL) {
        vitte__buf_free(&text);
        return VITTE_ENOMEM;
    }
    size_t n_lines = 0;
    for (size_t i = 0; i < st->done.n; i++) {
        if (st->done.vals[i] == 0)
            continue;
        uint64_t key = st->done.keys[i];
        size_t off = text.len;
        if (st->per_thread) {
            uint32_t stream, tid;
            vitte__xstacks_thread_key(st, (uint32_t)(key >> 32), &stream, &tid);
            vitte__buf label;
            vitte__buf_init(&label);
            if (sum->n_files > 1) {
                vitte__export_process_label(&label, sum, stream);
                put_frame(&text, label.data != NULL ? label.data : "", label.len);
                vitte__buf_putc(&text, ';');
                vitte__buf_clear(&label);
            }
            vitte__export_thread_label(&label, sum, stream, tid);
            put_frame(&text, label.data != NULL ? label.data : "", label.len);
            vitte__buf_free(&label);
            vitte__buf_putc(&text, ';');
        }
        /* A node is (name, rest of the path towards the leaf): the chain
         * reads root first. */
        for (uint32_t node = (uint32_t)key; node != VITTE__XSTACK_NIL; node = st->node_next[node]) {
            if (node != (uint32_t)key)
                vitte__buf_putc(&text, ';');
            uint32_t nm = st->node_name[node];
            put_frame(&text, st->names.str[nm], st->names.len[nm]);
        }
        lines[n_lines++] = (line_ref){NULL, off, text.len - off, st->done.vals[i]};
    }
    int rc = text.err;
    if (rc == 0) {
        for (size_t i = 0; i < n_lines; i++)
            lines[i].p = text.data + lines[i].off;
        qsort(lines, n_lines, sizeof *lines, cmp_lines);
        for (size_t i = 0; i < n_lines; i++) {
            vitte__buf_append(s->out, lines[i].p, lines[i].len);
            vitte__buf_putc(s->out, ' ');
            vitte__buf_u64(s->out, lines[i].ns);
            vitte__buf_putc(s->out, '\n');
        }
        rc = s->out->err;
    }
    vitte__free(lines);
    vitte__buf_free(&text);
    return rc;
}

static void folded_destroy(vitte__xsink *s)
{
    folded_sink *f = (folded_sink *)s;
    vitte__xstacks_fini(&f->st);
    vitte__free(f);
}

static const vitte__xsink_ops folded_ops = {folded_event, folded_skip, folded_stream_end,
                                            folded_finish, folded_destroy};

int vitte__export_folded_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                vitte__xsink **sink)
{
    folded_sink *f = vitte__calloc(1, sizeof *f);
    if (f == NULL)
        return VITTE_ENOMEM;
    f->base = (vitte__xsink){&folded_ops, out, opt};
    vitte__xstacks_init(&f->st, opt->per_thread);
    *sink = &f->base;
    return VITTE_OK;
}
