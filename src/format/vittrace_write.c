/* The .vittrace encoder (docs/formats/vittrace.md). */
#include "format/vittrace_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "common/alloc.h"
#include "common/strmap.h"
#include "format/vittrace_codec.h"

/* Pointer -> id, open addressing (site addresses are never NULL). */
struct ptrmap {
    const void **keys;
    uint32_t *vals;
    size_t cap, n;
};

struct vitte__vtw {
    int fd;
    int level;
    int err;
    ZSTD_CCtx *zc;
    uint64_t bytes, chunks;
    struct vitte__strmap strings; /* content -> id (as uintptr) */
    uint32_t next_string;
    struct ptrmap sites;
    uint32_t next_site;
    struct vitte__bytes defs_strings; /* queued STRINGS records */
    uint32_t n_defs_strings;
    struct vitte__bytes defs_sites;
    uint32_t n_defs_sites;
    struct vitte__bytes scratch; /* chunk framing */
};

/* ---- byte buffers -------------------------------------------------------------- */

int vitte__bytes_reserve(struct vitte__bytes *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return VITTE_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    unsigned char *p = vitte__realloc(b->p, cap);
    if (p == NULL)
        return VITTE_ENOMEM;
    b->p = p;
    b->cap = cap;
    return VITTE_OK;
}

void vitte__bytes_varint(struct vitte__bytes *b, uint64_t v)
{
    b->len += vitte__put_varint(b->p + b->len, v);
}

void vitte__bytes_put(struct vitte__bytes *b, const void *p, size_t n)
{
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* ---- the pointer map ----------------------------------------------------------- */

static uint32_t *ptrmap_slot(struct ptrmap *m, const void *k)
{
    uintptr_t h = (uintptr_t)k;
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    for (size_t i = (h >> 20) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k || m->keys[i] == NULL) {
            m->keys[i] = k;
            return &m->vals[i];
        }
    }
}

static uint32_t *ptrmap_get(struct ptrmap *m, const void *k)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        struct ptrmap nm = {vitte__calloc(cap, sizeof(void *)), vitte__calloc(cap, 4), cap, m->n};
        if (nm.keys == NULL || nm.vals == NULL) {
            vitte__free(nm.keys);
            vitte__free(nm.vals);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != NULL)
                *ptrmap_slot(&nm, m->keys[i]) = m->vals[i];
        vitte__free(m->keys);
        vitte__free(m->vals);
        *m = nm;
    }
    return ptrmap_slot(m, k);
}

/* ---- writing ------------------------------------------------------------------- */

static int write_all(struct vitte__vtw *w, const void *p, size_t n)
{
    if (w->err != VITTE_OK)
        return w->err;
    const unsigned char *q = p;
    while (n > 0) {
        ssize_t r = write(w->fd, q, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            w->err = r < 0 && errno == ENOSPC ? VITTE_ENOSPC : VITTE_EIO;
            return w->err;
        }
        q += r;
        n -= (size_t)r;
        w->bytes += (uint64_t)r;
    }
    return VITTE_OK;
}

/* Frame, compress and write one chunk (a single write(2): header + payload). */
static int write_chunk(struct vitte__vtw *w, int type, const void *payload, size_t n)
{
    if (w->err != VITTE_OK)
        return w->err;
    if (n > VITTE__VT_MAX_PAYLOAD)
        return VITTE_ERANGE;
    struct vitte__bytes *s = &w->scratch;
    size_t bound = w->level > 0 ? ZSTD_compressBound(n) : n;
    s->len = 0;
    if (vitte__bytes_reserve(s, VITTE__VT_CHUNK_HEADER + bound) != VITTE_OK)
        return VITTE_ENOMEM;
    unsigned char *h = s->p, *body = s->p + VITTE__VT_CHUNK_HEADER;
    size_t stored = n;
    int comp = VITTE__COMP_NONE;
    if (w->level > 0 && n > 64) {
        size_t c = ZSTD_compressCCtx(w->zc, body, bound, payload, n, w->level);
        if (!ZSTD_isError(c) && c < n) {
            stored = c;
            comp = VITTE__COMP_ZSTD;
        }
    }
    if (comp == VITTE__COMP_NONE)
        memcpy(body, payload, n);
    memcpy(h, VITTE__VT_CHUNK_MAGIC, 4);
    h[4] = (unsigned char)type;
    h[5] = (unsigned char)comp;
    vitte__put_u16(h + 6, 0);
    vitte__put_u32(h + 8, (uint32_t)stored);
    vitte__put_u32(h + 12, (uint32_t)n);
    vitte__put_u32(h + 16, vitte__crc32(body, stored));
    vitte__put_u32(h + 20, vitte__crc32(h, 20));
    int rc = write_all(w, s->p, VITTE__VT_CHUNK_HEADER + stored);
    if (rc == VITTE_OK)
        w->chunks++;
    return rc;
}

int vitte__vtw_open(int fd, const struct vitte__vtw_header *hd, int level, struct vitte__vtw **out)
{
    *out = NULL;
    struct vitte__vtw *w = vitte__calloc(1, sizeof *w);
    if (w == NULL)
        return VITTE_ENOMEM;
    w->fd = fd;
    w->level = level;
    w->zc = ZSTD_createCCtx();
    w->next_string = 1;
    w->next_site = 1;
    vitte__strmap_init(&w->strings);
    if (w->zc == NULL) {
        vitte__free(w);
        return VITTE_ENOMEM;
    }
    unsigned char h[VITTE__VT_HEADER_SIZE] = {0};
    memcpy(h, VITTE__VT_MAGIC, 8);
    vitte__put_u16(h + 8, VITTE__VT_MAJOR);
    vitte__put_u16(h + 10, VITTE__VT_MINOR);
    vitte__put_u16(h + 12, VITTE__VT_MAJOR);
    vitte__put_u16(h + 14, VITTE__VT_HEADER_SIZE);
    vitte__put_u32(h + 16, hd->tsc ? VITTE__VT_FLAG_TSC : 0);
    vitte__put_u32(h + 20, hd->pid);
    vitte__put_u64(h + 24, hd->start_ns);
    vitte__put_u64(h + 32, (uint64_t)hd->start_realtime_ns);
    vitte__put_u64(h + 40, hd->start_monotonic_ns);
    uint64_t hz;
    memcpy(&hz, &hd->tsc_hz, 8);
    vitte__put_u64(h + 48, hz);
    vitte__put_u32(h + 60, vitte__crc32(h, 60));
    int rc = write_all(w, h, sizeof h);
    if (rc != VITTE_OK) {
        w->fd = -1;
        vitte__vtw_close(w);
        return rc;
    }
    *out = w;
    return VITTE_OK;
}

int vitte__vtw_close(struct vitte__vtw *w)
{
    if (w == NULL)
        return VITTE_OK;
    int rc = w->err;
    if (w->fd >= 0 && close(w->fd) != 0 && rc == VITTE_OK)
        rc = errno == ENOSPC ? VITTE_ENOSPC : VITTE_EIO;
    ZSTD_freeCCtx(w->zc);
    vitte__strmap_fini(&w->strings);
    vitte__free(w->sites.keys);
    vitte__free(w->sites.vals);
    vitte__free(w->defs_strings.p);
    vitte__free(w->defs_sites.p);
    vitte__free(w->scratch.p);
    vitte__free(w);
    return rc;
}

int vitte__vtw_error(const struct vitte__vtw *w)
{
    return w->err;
}

uint64_t vitte__vtw_bytes_written(const struct vitte__vtw *w)
{
    return w->bytes;
}

uint64_t vitte__vtw_chunks_written(const struct vitte__vtw *w)
{
    return w->chunks;
}

void vitte__vtw_set_level(struct vitte__vtw *w, int level)
{
    w->level = level;
}

/* ---- definitions --------------------------------------------------------------- */

uint32_t vitte__vtw_string(struct vitte__vtw *w, const char *s, size_t n)
{
    if (s == NULL || n == 0)
        return 0;
    if (n > 65535)
        n = 65535;
    void *v = vitte__strmap_get(&w->strings, s, n);
    if (v != NULL)
        return (uint32_t)(uintptr_t)v;
    uint32_t id = w->next_string;
    if (vitte__bytes_reserve(&w->defs_strings, n + 20) != VITTE_OK ||
        vitte__strmap_put(&w->strings, s, n, (void *)(uintptr_t)id) != VITTE_OK)
        return 0;
    w->next_string++;
    vitte__bytes_varint(&w->defs_strings, id);
    vitte__bytes_varint(&w->defs_strings, n);
    vitte__bytes_put(&w->defs_strings, s, n);
    w->n_defs_strings++;
    return id;
}

static uint32_t str_id(struct vitte__vtw *w, const char *s)
{
    return s != NULL ? vitte__vtw_string(w, s, strlen(s)) : 0;
}

uint32_t vitte__vtw_site(struct vitte__vtw *w, const struct vitte_srcloc *loc)
{
    uint32_t *slot = ptrmap_get(&w->sites, loc);
    if (slot == NULL)
        return 0;
    if (*slot != 0)
        return *slot;
    uint32_t name = str_id(w, loc->name), module = str_id(w, loc->module),
             tags = str_id(w, loc->tags), func = str_id(w, loc->func), file = str_id(w, loc->file);
    if (vitte__bytes_reserve(&w->defs_sites, 70) != VITTE_OK)
        return 0;
    uint32_t id = w->next_site++;
    *slot = id;
    w->sites.n++;
    vitte__bytes_varint(&w->defs_sites, id);
    vitte__bytes_varint(&w->defs_sites, name);
    vitte__bytes_varint(&w->defs_sites, module);
    vitte__bytes_varint(&w->defs_sites, tags);
    vitte__bytes_varint(&w->defs_sites, func);
    vitte__bytes_varint(&w->defs_sites, file);
    vitte__bytes_varint(&w->defs_sites, loc->line);
    w->n_defs_sites++;
    return id;
}

/* A definition chunk: count varint then the queued records. */
static int flush_defs(struct vitte__vtw *w, int type, struct vitte__bytes *d, uint32_t *n)
{
    if (*n == 0)
        return VITTE_OK;
    struct vitte__bytes out = {0};
    if (vitte__bytes_reserve(&out, d->len + 10) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__bytes_varint(&out, *n);
    vitte__bytes_put(&out, d->p, d->len);
    int rc = write_chunk(w, type, out.p, out.len);
    vitte__free(out.p);
    d->len = 0;
    *n = 0;
    return rc;
}

static int flush_all_defs(struct vitte__vtw *w)
{
    int rc = flush_defs(w, VITTE__CH_STRINGS, &w->defs_strings, &w->n_defs_strings);
    if (rc == VITTE_OK)
        rc = flush_defs(w, VITTE__CH_SITES, &w->defs_sites, &w->n_defs_sites);
    return rc;
}

int vitte__vtw_info(struct vitte__vtw *w, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    struct vitte__bytes b = {0};
    if (vitte__bytes_reserve(&b, kl + vl + 20) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__bytes_varint(&b, kl);
    vitte__bytes_put(&b, key, kl);
    vitte__bytes_varint(&b, vl);
    vitte__bytes_put(&b, value, vl);
    int rc = write_chunk(w, VITTE__CH_INFO, b.p, b.len);
    vitte__free(b.p);
    return rc;
}

int vitte__vtw_thread(struct vitte__vtw *w, uint32_t tid, const char *name)
{
    uint32_t sid = str_id(w, name);
    int rc = flush_all_defs(w);
    if (rc != VITTE_OK)
        return rc;
    unsigned char b[20];
    size_t n = vitte__put_varint(b, tid);
    n += vitte__put_varint(b + n, sid);
    return write_chunk(w, VITTE__CH_THREAD, b, n);
}

/* ---- events -------------------------------------------------------------------- */

void vitte__vtw_ev_init(struct vitte__vtw_events *e, uint32_t tid)
{
    memset(e, 0, sizeof *e);
    e->tid = tid;
}

void vitte__vtw_ev_free(struct vitte__vtw_events *e)
{
    vitte__free(e->body.p);
    memset(e, 0, sizeof *e);
}

/* Room for one record of up to `extra` bytes, and the running time. */
static int ev_start(struct vitte__vtw_events *e, int type, size_t extra, uint64_t ts)
{
    if (vitte__bytes_reserve(&e->body, extra + 40) != VITTE_OK)
        return VITTE_ENOMEM;
    /* The first timed record sets the chunk's base time (an ARG or SPAN_DROP
     * may come before it: they carry no time and do not count here). */
    if (!e->timed) {
        e->base_ts = e->ts = ts;
        e->timed = 1;
    }
    e->count++;
    e->body.p[e->body.len++] = (unsigned char)type;
    e->last_point = type == VITTE__EV_INSTANT || type == VITTE__EV_COUNTER ||
                    type == VITTE__EV_ASYNC_BEGIN || type == VITTE__EV_ASYNC_END;
    return VITTE_OK;
}

static void ev_delta(struct vitte__vtw_events *e, uint64_t ts)
{
    vitte__bytes_varint(&e->body, vitte__zigzag((int64_t)(ts - e->ts)));
    e->ts = ts;
}

int vitte__vtw_ev_span(struct vitte__vtw_events *e, uint32_t site, uint32_t depth, uint64_t t0,
                       uint64_t t1)
{
    if (ev_start(e, VITTE__EV_SPAN, 0, t1) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__bytes_varint(&e->body, site);
    vitte__bytes_varint(&e->body, depth);
    ev_delta(e, t1);
    vitte__bytes_varint(&e->body, t1 - t0);
    return VITTE_OK;
}

int vitte__vtw_ev_point(struct vitte__vtw_events *e, int type, uint32_t site, uint64_t ts,
                        uint64_t id)
{
    if (ev_start(e, type, 0, ts) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__bytes_varint(&e->body, site);
    ev_delta(e, ts);
    if (type == VITTE__EV_ASYNC_BEGIN || type == VITTE__EV_ASYNC_END)
        vitte__bytes_varint(&e->body, id);
    return VITTE_OK;
}

int vitte__vtw_ev_counter(struct vitte__vtw_events *e, uint32_t site, uint64_t ts, double v)
{
    if (ev_start(e, VITTE__EV_COUNTER, 8, ts) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__bytes_varint(&e->body, site);
    ev_delta(e, ts);
    uint64_t bits;
    memcpy(&bits, &v, 8);
    vitte__put_u64(e->body.p + e->body.len, bits);
    e->body.len += 8;
    return VITTE_OK;
}

int vitte__vtw_ev_flow(struct vitte__vtw_events *e, int type, uint64_t ts, uint64_t id)
{
    if (ev_start(e, type, 0, ts) != VITTE_OK)
        return VITTE_ENOMEM;
    ev_delta(e, ts);
    vitte__bytes_varint(&e->body, id);
    return VITTE_OK;
}

int vitte__vtw_ev_arg(struct vitte__vtw_events *e, int target, uint32_t depth, uint32_t key,
                      int kind, int64_t i, double d, const char *s, size_t slen)
{
    /* An ARG has no timestamp: it does not move the running time. */
    if (vitte__bytes_reserve(&e->body, slen + 50) != VITTE_OK)
        return VITTE_ENOMEM;
    e->count++;
    e->last_point = 0;
    e->body.p[e->body.len++] = VITTE__EV_ARG;
    e->body.p[e->body.len++] = (unsigned char)target;
    vitte__bytes_varint(&e->body, depth);
    vitte__bytes_varint(&e->body, key);
    e->body.p[e->body.len++] = (unsigned char)kind;
    if (kind == VITTE_ARG_INT) {
        vitte__bytes_varint(&e->body, vitte__zigzag(i));
    } else if (kind == VITTE_ARG_DOUBLE) {
        uint64_t bits;
        memcpy(&bits, &d, 8);
        vitte__put_u64(e->body.p + e->body.len, bits);
        e->body.len += 8;
    } else {
        vitte__bytes_varint(&e->body, slen);
        vitte__bytes_put(&e->body, s, slen);
    }
    return VITTE_OK;
}

int vitte__vtw_ev_span_drop(struct vitte__vtw_events *e, uint32_t depth)
{
    if (vitte__bytes_reserve(&e->body, 20) != VITTE_OK)
        return VITTE_ENOMEM;
    e->count++;
    e->last_point = 0;
    e->body.p[e->body.len++] = VITTE__EV_SPAN_DROP;
    vitte__bytes_varint(&e->body, depth);
    return VITTE_OK;
}

int vitte__vtw_ev_flush(struct vitte__vtw *w, struct vitte__vtw_events *e)
{
    if (e->count == 0)
        return VITTE_OK;
    int rc = flush_all_defs(w);
    struct vitte__bytes out = {0};
    if (rc == VITTE_OK && vitte__bytes_reserve(&out, e->body.len + 32) != VITTE_OK)
        rc = VITTE_ENOMEM;
    if (rc == VITTE_OK) {
        vitte__bytes_varint(&out, e->tid);
        vitte__bytes_varint(&out, e->count);
        vitte__bytes_varint(&out, e->base_ts);
        vitte__bytes_put(&out, e->body.p, e->body.len);
        rc = write_chunk(w, VITTE__CH_EVENTS, out.p, out.len);
    }
    vitte__free(out.p);
    e->count = 0;
    e->last_point = 0;
    e->timed = 0;
    e->body.len = 0;
    return rc;
}

int vitte__vtw_chunk(struct vitte__vtw *w, int type, const void *payload, size_t n)
{
    int rc = flush_all_defs(w);
    return rc != VITTE_OK ? rc : write_chunk(w, type, payload, n);
}

int vitte__vtw_stats(struct vitte__vtw *w, const struct vitte__vtw_stat *st, size_t n)
{
    struct vitte__bytes b = {0};
    if (vitte__bytes_reserve(&b, 10 + n * 40) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__bytes_varint(&b, n);
    for (size_t i = 0; i < n; i++) {
        vitte__bytes_varint(&b, st[i].tid);
        vitte__bytes_varint(&b, st[i].events);
        vitte__bytes_varint(&b, st[i].dropped);
        vitte__bytes_varint(&b, st[i].filtered);
    }
    int rc = write_chunk(w, VITTE__CH_STATS, b.p, b.len);
    vitte__free(b.p);
    return rc;
}

int vitte__vtw_end(struct vitte__vtw *w, uint64_t events, uint64_t dropped, uint64_t end_ns)
{
    int rc = flush_all_defs(w);
    if (rc != VITTE_OK)
        return rc;
    unsigned char b[40];
    size_t n = vitte__put_varint(b, events);
    n += vitte__put_varint(b + n, dropped);
    n += vitte__put_varint(b + n, end_ns);
    return write_chunk(w, VITTE__CH_END, b, n);
}
