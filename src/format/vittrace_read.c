/* The .vittrace reader (docs/formats/vittrace.md).
 *
 * A file is read chunk by chunk with pread(), so memory stays bounded by the
 * largest chunk plus the strings, sites, threads and pending arguments met.
 * Every length is checked against the checksummed chunk header and every
 * record against its payload; damage is reported through vitte_diag and the
 * reader carries on at the next intact chunk.
 *
 * EVENTS chunks are decoded in segments of at most SEG_HARD events rather
 * than whole: a zstd chunk of 64 MiB of 3-byte records would otherwise
 * expand into gigabytes of event structs.  The one thing that needs
 * look-ahead is a target-1 ARG, which belongs to the latest instant, counter
 * or async record of the chunk however far back; a segment therefore ends
 * just before such a record when it can, and otherwise scans ahead once for
 * the arguments of its last one (lookahead_t1).
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDCtx_advanced: allocate through vitte__malloc */
#include "format/vittrace_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "common/alloc.h"
#include "format/vittrace_codec.h"
#include "prof/symbolize.h"

#define MAX_STRING     (64u << 10) /* spec: strings <= 64 KiB */
#define MAX_DEPTH      (1u << 16)  /* spec: depth < 2^16 */
#define SEG_EVENTS     2048        /* a segment may end before an instant-like record from here */
#define SEG_HARD       4096        /* ...and must end here */
#define SCAN_BLOCK     (64u << 10)
#define ARENA_BLOCK    (64u << 10)
#define FOLLOW_POLL_NS 20000000L
#define NO_ARG         UINT32_MAX

_Static_assert(VITTE__VT_HEADER_SIZE == 64, "file header is 64 bytes");
_Static_assert(VITTE__VT_CHUNK_HEADER == 24, "chunk header is 24 bytes");

/* ---- a bump allocator for everything that lives as long as the reader ---- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
};

/* ---- id -> pointer table: dense array for the ids a writer hands out (1,
 * 2, 3...), hash for the rest, so a damaged or hostile id costs one slot
 * rather than an array that large. ---- */

struct idslot {
    uint64_t key;
    void *val; /* NULL: empty */
};

struct idtab {
    void **dense;
    size_t dense_cap;
    struct idslot *slots;
    size_t cap, n_hash;
    size_t n;
};

struct site {
    const char *name, *module, *tags, *func, *file;
    uint32_t line;
    int damaged; /* refers to a string that was never defined */
};

/* An argument waiting for its span (target 0), owned by its thread. */
struct pendarg {
    uint32_t depth;
    vitte_trace_arg_type type;
    const char *key;
    int64_t i;
    double d;
    char *s; /* vitte__malloc'ed copy for strings */
    size_t slen;
};

/* A thread's pending arguments, sorted by depth.  Spans nest, so an
 * argument at depth k is recorded while no deeper span is open: anything
 * pending deeper is an orphan (its span record was lost) and goes.  That
 * keeps the stack sorted and every operation amortized O(1), whatever the
 * input. */
struct rthread {
    struct pendarg *v;
    uint32_t n, cap;
};

/* A decoded event of the current segment, with its arguments as a list
 * into sargs (a target-1 argument may follow other events' arguments). */
struct sev {
    vitte_trace_event ev;
    uint32_t arg_head, arg_tail;
};

struct sarg {
    const char *key;
    vitte_trace_arg_type type;
    int64_t i;
    double d;
    size_t s_off; /* into sstr, which may move while the segment grows */
    uint32_t next;
};

/* The EVENTS chunk being handed out. */
struct evchunk {
    int active;
    uint64_t off; /* chunk offset, for messages */
    const unsigned char *p, *end;
    uint64_t ts, left, count;
    uint32_t tid;
    size_t thread;
    /* Target-1 arguments before this point were attached by look-ahead. */
    const unsigned char *t1_done;
};

/* One parsed record, before it is applied. */
struct rec {
    uint64_t site, depth, dur, id, key;
    int64_t delta;
    double value;
    unsigned target;
    vitte_trace_arg_type kind;
    int64_t i;
    const unsigned char *s;
    size_t slen;
};

static const char *const info_keys[] = {
    "vitte_version", "clock", "host", "process", "cmdline", "flush_interval_ns",
    /* 1.1: samplers */
    "sampler", "call_graph", "sample_freq", "prof_samples", "prof_lost", "prof_unwind_failed",
    "prof_truncated", "prof_throttled", "prof_unknown_mappings", "sampler_note", "exit_status"};
#define N_INFO_KEYS (sizeof info_keys / sizeof info_keys[0])
enum { KV_CLOCK = 1, KV_PROCESS = 3 }; /* their slots in info_keys */

/* 1.1 sample model: locations (an address in a mapping, with its symbols
 * once known) and a prefix tree of stacks (leaf node -> parent). */
struct rloc {
    const vitte_trace_mapping *mapping; /* NULL: in no known mapping */
    uint64_t address;
    const vitte_trace_frame *sym; /* symbol frames (innermost first), or NULL */
    uint32_t n_sym;
    uint8_t tried;           /* lazy symbolization was attempted */
    const char *placeholder; /* "module+0x..." (made on first use) */
};

struct rstack {
    uint32_t parent, loc;
};

struct vitte_trace_reader {
    int fd; /* -1 when reading memory */
    const unsigned char *mem;
    size_t mem_size;
    unsigned flags;

    vitte_trace_file_info info;
    uint64_t pos; /* next chunk, or where to go on searching when resync */
    int resync;
    int done;
    int final_rc; /* sticky: EIO, ENOMEM, or ETRUNCATED once the end is reached */
    vitte_diag final_diag;
    uint64_t trunc_off;
    char trunc_msg[160];

    unsigned char *stored;
    size_t stored_cap;
    unsigned char *raw;
    size_t raw_cap;
    unsigned char *scan;
    ZSTD_DCtx *dctx;
    const unsigned char *body; /* current chunk's raw payload, for error offsets */

    struct arena_block *arena;
    struct idtab strings, sites, tids;
    vitte_trace_thread *threads;
    struct rthread *rth;
    size_t n_threads, cap_threads;
    const char *kv[N_INFO_KEYS];
    size_t kv_len[N_INFO_KEYS];

    struct evchunk ch;
    struct sev *seg;
    size_t seg_n, seg_pos, seg_cap;
    struct sarg *sargs;
    size_t n_sargs, cap_sargs;
    char *sstr;
    size_t n_sstr, cap_sstr;
    vitte_trace_arg *out_args;
    size_t cap_out_args;

    uint64_t damaged, skipped;
    /* samples */
    struct idtab mappings, locs, stacks;
    vitte_trace_frame *frames;
    size_t cap_frames;
    uint64_t sym_prescan_end; /* SYMBOLS chunks before this offset are loaded already */
    int have_symbols;         /* a SYMBOLS chunk was found */
    vitte__symbolizer *sym;   /* lazy symbolization (no SYMBOLS, or dirs given) */
    char **sym_dirs;
    size_t n_sym_dirs;
    int sym_failed;
    int have_end;
    uint64_t end_events, end_dropped;
    char err[192];
};

static const struct site unknown_site = {"?", "", "", "", "", 0, 1};

/* ---- diagnostics ------------------------------------------------------------------ */

static int set_diag(vitte_diag *d, int status, uint64_t off, const char *fmt, ...)
{
    if (d != NULL) {
        d->status = status;
        d->offset = off;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->message, sizeof d->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Record-level problems go to r->err; the chunk code adds where. */
static int bad(struct vitte_trace_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return VITTE_EFORMAT;
}

static const char *chunk_name(unsigned type)
{
    static const char *const names[] = {"?",      "INFO",   "STRINGS", "SITES",
                                        "THREAD", "EVENTS", "STATS",   "END"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

/* ---- arena ------------------------------------------------------------------------ */

static void *arena_alloc(struct vitte_trace_reader *r, size_t n, size_t align)
{
    struct arena_block *b = r->arena;
    if (b != NULL) {
        size_t at = (b->used + align - 1) & ~(align - 1);
        if (at <= b->cap && b->cap - at >= n) {
            b->used = at + n;
            return b->data + at;
        }
    }
    /* Big requests get a block of their own, behind the current one, so
     * the space left in the current block is not lost. */
    size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
    struct arena_block *nb = vitte__malloc(sizeof *nb + cap);
    if (nb == NULL)
        return NULL;
    nb->used = n;
    nb->cap = cap;
    if (b != NULL && cap == n) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        r->arena = nb;
    }
    return nb->data;
}

static const char *arena_str(struct vitte_trace_reader *r, const unsigned char *s, size_t n)
{
    char *d = arena_alloc(r, n + 1, 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- id table ---------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static void *idtab_get(const struct idtab *t, uint64_t key)
{
    if (key < t->dense_cap)
        return t->dense[key];
    if (t->cap == 0)
        return NULL;
    for (size_t i = mix64(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].val == NULL)
            return NULL;
        if (t->slots[i].key == key)
            return t->slots[i].val;
    }
}

static void hash_insert(struct idslot *slots, size_t cap, uint64_t key, void *val)
{
    size_t i = mix64(key) & (cap - 1);
    while (slots[i].val != NULL)
        i = (i + 1) & (cap - 1);
    slots[i] = (struct idslot){key, val};
}

/* Rebuild the hash part with room for `need` entries, keeping only the keys
 * the dense array does not cover. */
static int hash_rebuild(struct idtab *t, size_t need)
{
    size_t cap = 16;
    while (need * 4 > cap * 3)
        cap *= 2;
    struct idslot *slots = vitte__calloc(cap, sizeof *slots);
    if (slots == NULL)
        return VITTE_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].val != NULL) {
            if (t->slots[i].key < t->dense_cap)
                t->dense[t->slots[i].key] = t->slots[i].val;
            else {
                hash_insert(slots, cap, t->slots[i].key, t->slots[i].val);
                n++;
            }
        }
    vitte__free(t->slots);
    t->slots = slots;
    t->cap = cap;
    t->n_hash = n;
    return VITTE_OK;
}

/* key must be absent, val not NULL. */
static int idtab_put(struct idtab *t, uint64_t key, void *val)
{
    /* Ids a writer hands out are dense: grow the array for any id within
     * twice the count so far, which bounds it by the entries held. */
    if (key >= t->dense_cap && key < 2 * (uint64_t)t->n + 1024) {
        size_t cap = t->dense_cap ? t->dense_cap : 256;
        while (cap <= key)
            cap *= 2;
        void **dense = vitte__realloc(t->dense, cap * sizeof *dense);
        if (dense == NULL)
            return VITTE_ENOMEM;
        memset(dense + t->dense_cap, 0, (cap - t->dense_cap) * sizeof *dense);
        t->dense = dense;
        t->dense_cap = cap;
        if (t->n_hash > 0 && hash_rebuild(t, t->n_hash) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    if (key < t->dense_cap) {
        t->dense[key] = val;
    } else {
        if ((t->n_hash + 1) * 4 > t->cap * 3 && hash_rebuild(t, t->n_hash + 1) != VITTE_OK)
            return VITTE_ENOMEM;
        hash_insert(t->slots, t->cap, key, val);
        t->n_hash++;
    }
    t->n++;
    return VITTE_OK;
}

static void idtab_fini(struct idtab *t)
{
    vitte__free(t->dense);
    vitte__free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- input ------------------------------------------------------------------------- */

static int read_at(struct vitte_trace_reader *r, uint64_t off, void *buf, size_t n, size_t *got)
{
    *got = 0;
    if (r->fd < 0) {
        if (off < r->mem_size) {
            size_t k = r->mem_size - off < n ? (size_t)(r->mem_size - off) : n;
            memcpy(buf, r->mem + off, k);
            *got = k;
        }
        return VITTE_OK;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(r->fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return VITTE_EIO;
        if (k == 0)
            break;
        done += (size_t)k;
    }
    *got = done;
    return VITTE_OK;
}

static int source_size(struct vitte_trace_reader *r, uint64_t *size)
{
    if (r->fd < 0) {
        *size = r->mem_size;
        return VITTE_OK;
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0)
        return VITTE_EIO;
    *size = (uint64_t)st.st_size;
    return VITTE_OK;
}

static int grow_buf(unsigned char **buf, size_t *cap, size_t need)
{
    if (*buf != NULL && need <= *cap) /* allocated even for 0: no arithmetic on NULL */
        return VITTE_OK;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    /* No copy needed: the old contents are dead. */
    unsigned char *p = vitte__malloc(n);
    if (p == NULL)
        return VITTE_ENOMEM;
    vitte__free(*buf);
    *buf = p;
    *cap = n;
    return VITTE_OK;
}

static void poll_sleep(void)
{
    struct timespec ts = {0, FOLLOW_POLL_NS};
    nanosleep(&ts, NULL);
}

/* ---- payload primitives -------------------------------------------------------------- */

static inline int getv(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
    const unsigned char *p = *pp;
    if (p < end && *p < 0x80) { /* most fields fit in one byte */
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    return vitte__get_varint(pp, end, v);
}

static inline int rd_v(struct vitte_trace_reader *r, const unsigned char **pp,
                       const unsigned char *end, uint64_t *v, const char *what)
{
    if (getv(pp, end, v) == 0)
        return 0;
    *v = 0; /* never read, but the compiler cannot tell */
    if (*pp >= end)
        return bad(r, "payload ends inside %s", what);
    return bad(r, "varint for %s is longer than 64 bits", what);
}

static inline int rd_u32v(struct vitte_trace_reader *r, const unsigned char **pp,
                          const unsigned char *end, uint32_t *v, const char *what)
{
    uint64_t x;
    *v = 0;
    if (rd_v(r, pp, end, &x, what) != 0)
        return VITTE_EFORMAT;
    if (x > UINT32_MAX)
        return bad(r, "%s %llu does not fit in 32 bits", what, (unsigned long long)x);
    *v = (uint32_t)x;
    return 0;
}

static inline int rd_str(struct vitte_trace_reader *r, const unsigned char **pp,
                         const unsigned char *end, const unsigned char **s, size_t *n,
                         const char *what)
{
    uint64_t len;
    *s = NULL;
    *n = 0;
    if (rd_v(r, pp, end, &len, what) != 0)
        return VITTE_EFORMAT;
    if (len > MAX_STRING)
        return bad(r, "%s of %llu bytes (strings are at most 64 KiB)", what,
                   (unsigned long long)len);
    if (len > (uint64_t)(end - *pp))
        return bad(r, "%s of %llu bytes runs past the payload", what, (unsigned long long)len);
    *s = *pp;
    *n = (size_t)len;
    *pp += len;
    return 0;
}

static inline int rd_f64(struct vitte_trace_reader *r, const unsigned char **pp,
                         const unsigned char *end, double *v, const char *what)
{
    if (end - *pp < 8)
        return bad(r, "payload ends inside %s", what);
    uint64_t bits = vitte__get_u64(*pp);
    memcpy(v, &bits, sizeof *v);
    *pp += 8;
    return 0;
}

/* A sid's text: "" for 0, "?" (and one more damaged) when never defined. */
/* A list chunk's count of records ("strings", "sites"...), each at least
 * min_bytes long: a count the payload cannot hold is refused before any
 * allocation. */
static int rd_count(struct vitte_trace_reader *r, const unsigned char **pp,
                    const unsigned char *end, uint64_t min_bytes, const char *what, uint64_t *count)
{
    if (rd_v(r, pp, end, count, what))
        return VITTE_EFORMAT;
    if (*count > (uint64_t)(end - *pp) / min_bytes)
        return bad(r, "%llu %s announced in %llu bytes", (unsigned long long)*count, what,
                   (unsigned long long)(end - *pp));
    return VITTE_OK;
}

/* The records of a list chunk must use its payload exactly. */
static int rd_end(struct vitte_trace_reader *r, const unsigned char *p, const unsigned char *end,
                  uint64_t count, const char *what)
{
    if (p != end)
        return bad(r, "%llu bytes left after %llu %s", (unsigned long long)(end - p),
                   (unsigned long long)count, what);
    return VITTE_OK;
}

static const char *sid_str(struct vitte_trace_reader *r, uint64_t sid, int *damaged)
{
    if (sid == 0)
        return "";
    const char *s = idtab_get(&r->strings, sid);
    if (s != NULL)
        return s;
    *damaged = 1;
    return "?";
}

/* ---- threads ------------------------------------------------------------------------- */

static int get_thread(struct vitte_trace_reader *r, uint32_t tid, size_t *idx)
{
    void *v = idtab_get(&r->tids, tid);
    if (v != NULL) {
        *idx = (size_t)((uintptr_t)v - 1);
        return VITTE_OK;
    }
    if (r->n_threads == r->cap_threads) {
        size_t cap = r->cap_threads ? r->cap_threads * 2 : 16;
        vitte_trace_thread *t = vitte__realloc(r->threads, cap * sizeof *t);
        if (t == NULL)
            return VITTE_ENOMEM;
        r->threads = t;
        struct rthread *rt = vitte__realloc(r->rth, cap * sizeof *rt);
        if (rt == NULL)
            return VITTE_ENOMEM;
        r->rth = rt;
        r->cap_threads = cap;
    }
    size_t i = r->n_threads;
    if (idtab_put(&r->tids, tid, (void *)(uintptr_t)(i + 1)) != VITTE_OK)
        return VITTE_ENOMEM;
    r->threads[i] = (vitte_trace_thread){r->info.pid, tid, "", 0, 0};
    r->rth[i] = (struct rthread){NULL, 0, 0};
    r->n_threads++;
    *idx = i;
    return VITTE_OK;
}

/* Pop the pending arguments at depth >= from.  Those at depth `keep` (a
 * span's own, handed over or dropped with SPAN_DROP) are not damage; deeper
 * ones are orphans, since a span record at depth d means every deeper span
 * has ended. */
static uint32_t pend_cut(const struct rthread *t, uint32_t from)
{
    uint32_t i = t->n;
    while (i > 0 && t->v[i - 1].depth >= from)
        i--;
    return i;
}

static void pend_pop(struct vitte_trace_reader *r, struct rthread *t, uint32_t from, uint32_t keep)
{
    for (uint32_t k = pend_cut(t, from); k < t->n; k++) {
        r->damaged += t->v[k].depth != keep;
        vitte__free(t->v[k].s);
    }
    t->n = pend_cut(t, from);
}

/* Damage may have hidden the span records the pending arguments were
 * waiting for: attaching them to a later span would be wrong. */
static void pend_clear_all(struct vitte_trace_reader *r)
{
    for (size_t i = 0; i < r->n_threads; i++)
        pend_pop(r, &r->rth[i], 0, UINT32_MAX);
}

static int pend_push(struct vitte_trace_reader *r, struct rthread *t, uint32_t depth,
                     const char *key, const struct rec *x)
{
    if (t->n > 0 && t->v[t->n - 1].depth > depth)
        pend_pop(r, t, depth + 1, UINT32_MAX);
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 8;
        if (cap < t->cap)
            return VITTE_ENOMEM;
        struct pendarg *v = vitte__realloc(t->v, (size_t)cap * sizeof *v);
        if (v == NULL)
            return VITTE_ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    struct pendarg a = {depth, x->kind, key, x->i, x->value, NULL, 0};
    if (x->kind == VITTE_ARG_STRING) {
        a.s = vitte__malloc(x->slen + 1);
        if (a.s == NULL)
            return VITTE_ENOMEM;
        memcpy(a.s, x->s, x->slen);
        a.s[x->slen] = '\0';
        a.slen = x->slen;
    }
    t->v[t->n++] = a;
    return VITTE_OK;
}

/* ---- the current segment's arguments ----------------------------------------------- */

static int sarg_add(struct vitte_trace_reader *r, size_t ev, const char *key,
                    vitte_trace_arg_type type, int64_t i, double d, const void *s, size_t slen)
{
    if (r->n_sargs == r->cap_sargs) {
        size_t cap = r->cap_sargs ? r->cap_sargs * 2 : 256;
        if (cap >= NO_ARG)
            return VITTE_ENOMEM;
        struct sarg *v = vitte__realloc(r->sargs, cap * sizeof *v);
        if (v == NULL)
            return VITTE_ENOMEM;
        r->sargs = v;
        r->cap_sargs = cap;
    }
    size_t off = 0;
    if (type == VITTE_ARG_STRING) {
        if (r->cap_sstr - r->n_sstr < slen + 1) {
            size_t cap = r->cap_sstr ? r->cap_sstr : 4096;
            while (cap - r->n_sstr < slen + 1)
                cap *= 2;
            char *p = vitte__realloc(r->sstr, cap);
            if (p == NULL)
                return VITTE_ENOMEM;
            r->sstr = p;
            r->cap_sstr = cap;
        }
        off = r->n_sstr;
        memcpy(r->sstr + off, s, slen);
        r->sstr[off + slen] = '\0';
        r->n_sstr += slen + 1;
    }
    uint32_t k = (uint32_t)r->n_sargs++;
    r->sargs[k] = (struct sarg){key, type, i, d, off, NO_ARG};
    struct sev *e = &r->seg[ev];
    if (e->arg_head == NO_ARG)
        e->arg_head = k;
    else
        r->sargs[e->arg_tail].next = k;
    e->arg_tail = k;
    e->ev.n_args++;
    return VITTE_OK;
}

/* Hand the arguments pending at `depth` to the span just decoded. */
static int pend_take(struct vitte_trace_reader *r, struct rthread *t, uint32_t depth, size_t ev)
{
    for (uint32_t k = pend_cut(t, depth); k < t->n && t->v[k].depth == depth; k++) {
        const struct pendarg *a = &t->v[k];
        if (sarg_add(r, ev, a->key, a->type, a->i, a->d, a->s, a->slen) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    pend_pop(r, t, depth, depth);
    return VITTE_OK;
}

/* Turn the argument lists of the segment into the arrays events point to. */
static int seg_finish_args(struct vitte_trace_reader *r)
{
    if (r->n_sargs == 0)
        return VITTE_OK;
    if (r->cap_out_args < r->n_sargs) {
        vitte_trace_arg *v = vitte__realloc(r->out_args, r->n_sargs * sizeof *v);
        if (v == NULL)
            return VITTE_ENOMEM;
        r->out_args = v;
        r->cap_out_args = r->n_sargs;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->seg_n; i++) {
        struct sev *e = &r->seg[i];
        if (e->arg_head == NO_ARG)
            continue;
        e->ev.args = r->out_args + k;
        for (uint32_t j = e->arg_head; j != NO_ARG; j = r->sargs[j].next) {
            const struct sarg *a = &r->sargs[j];
            r->out_args[k++] =
                (vitte_trace_arg){a->key, a->type, a->i, a->d,
                                  a->type == VITTE_ARG_STRING ? r->sstr + a->s_off : NULL};
        }
    }
    return VITTE_OK;
}

/* ---- EVENTS records -------------------------------------------------------------------- */

static inline int is_instant_like(unsigned type)
{
    return type >= VITTE__EV_INSTANT && type <= VITTE__EV_ASYNC_END;
}

/* Parse one record whose type byte was consumed.  No side effects, so the
 * look-ahead can use it too. */
static inline int parse_record(struct vitte_trace_reader *r, unsigned type,
                               const unsigned char **pp, const unsigned char *end, struct rec *x)
{
    uint64_t v;
    switch (type) {
    case VITTE__EV_SPAN:
        if (rd_v(r, pp, end, &x->site, "span site") || rd_v(r, pp, end, &x->depth, "span depth") ||
            rd_v(r, pp, end, &v, "span time delta") || rd_v(r, pp, end, &x->dur, "span duration"))
            return VITTE_EFORMAT;
        if (x->depth >= MAX_DEPTH)
            return bad(r, "span depth %llu (at most 65535)", (unsigned long long)x->depth);
        x->delta = vitte__unzigzag(v);
        return 0;
    case VITTE__EV_INSTANT:
    case VITTE__EV_COUNTER:
    case VITTE__EV_ASYNC_BEGIN:
    case VITTE__EV_ASYNC_END:
        if (rd_v(r, pp, end, &x->site, "event site") || rd_v(r, pp, end, &v, "event time delta"))
            return VITTE_EFORMAT;
        x->delta = vitte__unzigzag(v);
        if (type == VITTE__EV_COUNTER)
            return rd_f64(r, pp, end, &x->value, "counter value");
        if (type != VITTE__EV_INSTANT)
            return rd_v(r, pp, end, &x->id, "async id");
        return 0;
    case VITTE__EV_FLOW_BEGIN:
    case VITTE__EV_FLOW_STEP:
    case VITTE__EV_FLOW_END:
        if (rd_v(r, pp, end, &v, "flow time delta") || rd_v(r, pp, end, &x->id, "flow id"))
            return VITTE_EFORMAT;
        x->delta = vitte__unzigzag(v);
        return 0;
    case VITTE__EV_ARG:
        if (*pp >= end)
            return bad(r, "payload ends inside argument target");
        x->target = *(*pp)++;
        if (x->target > VITTE__ARG_TARGET_PREV)
            return bad(r, "argument target %u (0 or 1)", x->target);
        if (rd_v(r, pp, end, &x->depth, "argument depth") ||
            rd_v(r, pp, end, &x->key, "argument key"))
            return VITTE_EFORMAT;
        if (x->depth >= MAX_DEPTH)
            return bad(r, "argument depth %llu (at most 65535)", (unsigned long long)x->depth);
        if (*pp >= end)
            return bad(r, "payload ends inside argument kind");
        unsigned kind = *(*pp)++;
        x->kind = (vitte_trace_arg_type)kind;
        x->i = 0;
        x->value = 0;
        x->s = NULL;
        x->slen = 0;
        if (kind == VITTE_ARG_INT) {
            if (rd_v(r, pp, end, &v, "int argument"))
                return VITTE_EFORMAT;
            x->i = vitte__unzigzag(v);
            return 0;
        }
        if (kind == VITTE_ARG_DOUBLE)
            return rd_f64(r, pp, end, &x->value, "double argument");
        if (kind == VITTE_ARG_STRING)
            return rd_str(r, pp, end, &x->s, &x->slen, "string argument");
        return bad(r, "argument kind %u (1 int, 2 double, 3 string)", kind);
    case VITTE__EV_SPAN_DROP:
        if (rd_v(r, pp, end, &x->depth, "dropped span depth"))
            return VITTE_EFORMAT;
        if (x->depth >= MAX_DEPTH)
            return bad(r, "dropped span depth %llu (at most 65535)", (unsigned long long)x->depth);
        return 0;
    default:
        return bad(r, "unknown record type %u", type);
    }
}

/* The segment must end while its last instant-like event may still get
 * target-1 arguments: collect them from the records ahead, up to the next
 * instant-like record, and remember not to attach them twice.  A malformed
 * record stops the scan; the decoder reports it when it gets there. */
static int lookahead_t1(struct vitte_trace_reader *r, size_t il)
{
    const unsigned char *p = r->ch.p, *end = r->ch.end;
    uint64_t left = r->ch.left;
    char saved[sizeof r->err];
    memcpy(saved, r->err, sizeof saved);
    while (left > 0 && p < end) {
        const unsigned char *rec = p;
        unsigned type = *p++;
        struct rec x;
        if (is_instant_like(type) || parse_record(r, type, &p, end, &x) != 0) {
            p = rec;
            break;
        }
        if (type == VITTE__EV_ARG && x.target == VITTE__ARG_TARGET_PREV) {
            int dmg = 0;
            const char *key = sid_str(r, x.key, &dmg);
            r->damaged += (uint64_t)dmg;
            if (sarg_add(r, il, key, x.kind, x.i, x.value, x.s, x.slen) != VITTE_OK)
                return VITTE_ENOMEM;
        }
        left--;
    }
    memcpy(r->err, saved, sizeof saved);
    r->ch.t1_done = p;
    return VITTE_OK;
}

static inline void set_site(struct vitte_trace_reader *r, vitte_trace_event *e, uint64_t id)
{
    const struct site *s = id < r->sites.dense_cap ? r->sites.dense[id] : idtab_get(&r->sites, id);
    if (s == NULL)
        s = &unknown_site;
    r->damaged += (uint64_t)s->damaged;
    e->name = s->name;
    e->module = s->module;
    e->tags = s->tags;
    e->file = s->file;
    e->line = s->line;
}

/* Decode the next segment of the current EVENTS chunk into r->seg. */
static int fill_segment(struct vitte_trace_reader *r)
{
    struct evchunk *c = &r->ch;
    struct rthread *th = &r->rth[c->thread];
    const unsigned char *p = c->p, *const end = c->end;
    uint64_t ts = c->ts, left = c->left;
    size_t last_il = SIZE_MAX;
    int rc;

    r->seg_n = r->seg_pos = 0;
    r->n_sargs = r->n_sstr = 0;
    while (left > 0) {
        if (p >= end)
            return bad(r, "payload ends after %llu of %llu records",
                       (unsigned long long)(c->count - left), (unsigned long long)c->count);
        unsigned type = *p;
        if (r->seg_n >= SEG_EVENTS && is_instant_like(type))
            break; /* every event so far is final */
        if (r->seg_n >= SEG_HARD) {
            c->p = p;
            c->left = left;
            if (last_il != SIZE_MAX && (rc = lookahead_t1(r, last_il)) != VITTE_OK)
                return rc;
            break;
        }
        const unsigned char *rec = p++;
        struct rec x;
        if (parse_record(r, type, &p, end, &x) != 0) {
            char why[sizeof r->err];
            memcpy(why, r->err, sizeof why);
            return bad(r, "record %llu of %llu (at payload byte %llu): %s",
                       (unsigned long long)(c->count - left + 1), (unsigned long long)c->count,
                       (unsigned long long)(rec - r->body), why);
        }
        left--;
        if (type == VITTE__EV_ARG) {
            int dmg = 0;
            const char *key = sid_str(r, x.key, &dmg);
            r->damaged += (uint64_t)dmg;
            if (x.target == VITTE__ARG_TARGET_SPAN)
                rc = pend_push(r, th, (uint32_t)x.depth, key, &x);
            else if (rec < c->t1_done)
                rc = VITTE_OK; /* attached by the look-ahead */
            else if (last_il != SIZE_MAX)
                rc = sarg_add(r, last_il, key, x.kind, x.i, x.value, x.s, x.slen);
            else {
                r->damaged++; /* no instant, counter or async record before it */
                rc = VITTE_OK;
            }
            if (rc != VITTE_OK)
                return rc;
            continue;
        }
        if (type == VITTE__EV_SPAN_DROP) {
            if (th->n > 0 && th->v[th->n - 1].depth >= x.depth)
                pend_pop(r, th, (uint32_t)x.depth, (uint32_t)x.depth);
            continue;
        }
        ts += (uint64_t)x.delta; /* wraps like the writer's arithmetic */
        if (r->seg_n == r->seg_cap) {
            size_t cap = r->seg_cap ? 2 * r->seg_cap : 64;
            struct sev *v = vitte__realloc(r->seg, cap * sizeof *v);
            if (v == NULL)
                return VITTE_ENOMEM;
            r->seg = v;
            r->seg_cap = cap;
        }
        size_t idx = r->seg_n++;
        struct sev *se = &r->seg[idx];
        vitte_trace_event *e = &se->ev;
        se->arg_head = se->arg_tail = NO_ARG;
        e->type = (vitte_trace_event_type)type;
        e->pid = r->info.pid;
        e->tid = c->tid;
        e->depth = 0;
        e->ts_ns = ts;
        e->dur_ns = 0;
        e->id = 0;
        e->value = 0;
        e->n_args = 0;
        e->args = NULL;
        e->sample_kind = VITTE_SAMPLE_CPU;
        e->n_frames = 0;
        e->frames = NULL;
        if (type == VITTE__EV_SPAN) {
            if (x.dur > ts)
                return bad(r, "record %llu: span of %llu ns ends at %llu, before time 0",
                           (unsigned long long)(c->count - left), (unsigned long long)x.dur,
                           (unsigned long long)ts);
            e->depth = (uint32_t)x.depth;
            e->ts_ns = ts - x.dur;
            e->dur_ns = x.dur;
            set_site(r, e, x.site);
            if (th->n > 0 && th->v[th->n - 1].depth >= x.depth &&
                (rc = pend_take(r, th, (uint32_t)x.depth, idx)) != VITTE_OK)
                return rc;
        } else if (type <= VITTE__EV_ASYNC_END) {
            set_site(r, e, x.site);
            if (type == VITTE__EV_COUNTER)
                e->value = x.value;
            else if (type != VITTE__EV_INSTANT)
                e->id = x.id;
            last_il = idx;
        } else {
            e->id = x.id;
            e->name = e->module = e->tags = e->file = "";
            e->line = 0;
        }
    }
    c->p = p;
    c->ts = ts;
    c->left = left;
    if (left == 0) {
        c->active = 0;
        if (p != end)
            return bad(r, "%llu bytes left after the last of %llu records",
                       (unsigned long long)(end - p), (unsigned long long)c->count);
    }
    return seg_finish_args(r);
}

static int begin_events(struct vitte_trace_reader *r, uint64_t off, const unsigned char *p,
                        const unsigned char *end)
{
    uint32_t tid;
    uint64_t count, base;
    if (rd_u32v(r, &p, end, &tid, "thread id") || rd_v(r, &p, end, &count, "record count") ||
        rd_v(r, &p, end, &base, "base timestamp"))
        return VITTE_EFORMAT;
    if (count > (uint64_t)(end - p)) /* every record takes at least one byte */
        return bad(r, "%llu records announced in %llu bytes", (unsigned long long)count,
                   (unsigned long long)(end - p));
    size_t idx;
    if (get_thread(r, tid, &idx) != VITTE_OK)
        return VITTE_ENOMEM;
    r->ch = (struct evchunk){1, off, p, end, base, count, count, tid, idx, p};
    return VITTE_OK;
}

/* ---- the other chunks -------------------------------------------------------------------- */

static int parse_info(struct vitte_trace_reader *r, const unsigned char *p,
                      const unsigned char *end)
{
    while (p < end) {
        const unsigned char *k, *v;
        size_t kn, vn;
        if (rd_str(r, &p, end, &k, &kn, "INFO key") || rd_str(r, &p, end, &v, &vn, "INFO value"))
            return VITTE_EFORMAT;
        for (size_t i = 0; i < N_INFO_KEYS; i++) {
            if (strlen(info_keys[i]) != kn || memcmp(info_keys[i], k, kn) != 0)
                continue;
            /* Copies live as long as the reader (pointers handed out stay
             * valid); an unchanged value is not copied again. */
            if (r->kv[i] == NULL || r->kv_len[i] != vn || memcmp(r->kv[i], v, vn) != 0) {
                const char *s = arena_str(r, v, vn);
                if (s == NULL)
                    return VITTE_ENOMEM;
                r->kv[i] = s;
                r->kv_len[i] = vn;
            }
        }
    }
    if (r->kv[KV_CLOCK] != NULL)
        r->info.clock = r->kv[KV_CLOCK];
    if (r->kv[KV_PROCESS] != NULL)
        r->info.process_name = r->kv[KV_PROCESS];
    return VITTE_OK;
}

static int parse_strings(struct vitte_trace_reader *r, const unsigned char *p,
                         const unsigned char *end)
{
    uint64_t count;
    if (rd_count(r, &p, end, 2, "strings", &count) != VITTE_OK)
        return VITTE_EFORMAT;
    for (uint64_t n = 0; n < count; n++) {
        uint64_t id;
        const unsigned char *s;
        size_t len;
        if (rd_v(r, &p, end, &id, "string id") || rd_str(r, &p, end, &s, &len, "string"))
            return VITTE_EFORMAT;
        if (id == 0)
            return bad(r, "string id 0 defined (0 means none)");
        if (idtab_get(&r->strings, id) != NULL)
            return bad(r, "string id %llu defined twice", (unsigned long long)id);
        const char *c = arena_str(r, s, len);
        if (c == NULL || idtab_put(&r->strings, id, (void *)c) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    return rd_end(r, p, end, count, "strings");
}

static int parse_sites(struct vitte_trace_reader *r, const unsigned char *p,
                       const unsigned char *end)
{
    uint64_t count;
    if (rd_count(r, &p, end, 7, "sites", &count) != VITTE_OK)
        return VITTE_EFORMAT;
    for (uint64_t n = 0; n < count; n++) {
        uint64_t id, sid[5];
        uint32_t line;
        if (rd_v(r, &p, end, &id, "site id") || rd_v(r, &p, end, &sid[0], "site name") ||
            rd_v(r, &p, end, &sid[1], "site module") || rd_v(r, &p, end, &sid[2], "site tags") ||
            rd_v(r, &p, end, &sid[3], "site function") || rd_v(r, &p, end, &sid[4], "site file") ||
            rd_u32v(r, &p, end, &line, "site line"))
            return VITTE_EFORMAT;
        if (id == 0)
            return bad(r, "site 0 defined (site ids start at 1)");
        if (idtab_get(&r->sites, id) != NULL)
            return bad(r, "site %llu defined twice", (unsigned long long)id);
        struct site *s = arena_alloc(r, sizeof *s, _Alignof(struct site));
        if (s == NULL)
            return VITTE_ENOMEM;
        int dmg = 0;
        s->name = sid_str(r, sid[0], &dmg);
        s->module = sid_str(r, sid[1], &dmg);
        s->tags = sid_str(r, sid[2], &dmg);
        s->func = sid_str(r, sid[3], &dmg);
        s->file = sid_str(r, sid[4], &dmg);
        s->line = line;
        s->damaged = dmg;
        if (idtab_put(&r->sites, id, s) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    return rd_end(r, p, end, count, "sites");
}

static int parse_thread(struct vitte_trace_reader *r, const unsigned char *p,
                        const unsigned char *end)
{
    uint32_t tid;
    uint64_t sid;
    if (rd_u32v(r, &p, end, &tid, "thread id") || rd_v(r, &p, end, &sid, "thread name"))
        return VITTE_EFORMAT;
    if (p != end)
        return bad(r, "%llu bytes left after the thread name", (unsigned long long)(end - p));
    size_t idx;
    if (get_thread(r, tid, &idx) != VITTE_OK)
        return VITTE_ENOMEM;
    int dmg = 0;
    r->threads[idx].name = sid_str(r, sid, &dmg);
    r->damaged += (uint64_t)dmg;
    return VITTE_OK;
}

static int parse_stats(struct vitte_trace_reader *r, const unsigned char *p,
                       const unsigned char *end)
{
    uint64_t count;
    if (rd_count(r, &p, end, 4, "threads", &count) != VITTE_OK)
        return VITTE_EFORMAT;
    for (uint64_t n = 0; n < count; n++) {
        uint32_t tid;
        uint64_t events, dropped, filtered;
        if (rd_u32v(r, &p, end, &tid, "thread id") || rd_v(r, &p, end, &events, "event count") ||
            rd_v(r, &p, end, &dropped, "dropped count") ||
            rd_v(r, &p, end, &filtered, "filtered count"))
            return VITTE_EFORMAT;
        size_t idx;
        if (get_thread(r, tid, &idx) != VITTE_OK)
            return VITTE_ENOMEM;
        r->threads[idx].events = events; /* cumulative: the latest wins */
        r->threads[idx].dropped = dropped;
    }
    return rd_end(r, p, end, count, "threads");
}

static int parse_end(struct vitte_trace_reader *r, const unsigned char *p, const unsigned char *end)
{
    uint64_t events, dropped, end_ns;
    if (rd_v(r, &p, end, &events, "event total") || rd_v(r, &p, end, &dropped, "dropped total") ||
        rd_v(r, &p, end, &end_ns, "end time"))
        return VITTE_EFORMAT;
    if (p != end)
        return bad(r, "%llu bytes left after the end marker", (unsigned long long)(end - p));
    r->have_end = 1;
    r->end_events = events;
    r->end_dropped = dropped;
    if (end_ns > r->info.end_ns)
        r->info.end_ns = end_ns;
    r->done = 1;
    return VITTE_OK;
}

/* ---- 1.1: samples -------------------------------------------------------------------------- */

static int parse_mappings(struct vitte_trace_reader *r, const unsigned char *p,
                          const unsigned char *end)
{
    uint64_t count;
    if (rd_count(r, &p, end, 7, "mappings", &count) != VITTE_OK)
        return VITTE_EFORMAT;
    for (uint64_t n = 0; n < count; n++) {
        uint64_t id, pid, start, limit, pgoff, bid_len;
        const unsigned char *path, *bid;
        size_t path_len;
        if (rd_v(r, &p, end, &id, "mapping id") || rd_v(r, &p, end, &pid, "mapping pid") ||
            rd_v(r, &p, end, &start, "mapping start") ||
            rd_v(r, &p, end, &limit, "mapping limit") ||
            rd_v(r, &p, end, &pgoff, "mapping offset") ||
            rd_str(r, &p, end, &path, &path_len, "mapping path") ||
            rd_v(r, &p, end, &bid_len, "build id length"))
            return VITTE_EFORMAT;
        if (bid_len > 64 || bid_len > (uint64_t)(end - p))
            return bad(r, "build id of %llu bytes", (unsigned long long)bid_len);
        bid = p;
        p += bid_len;
        if (id == 0 || idtab_get(&r->mappings, id) != NULL)
            return bad(r, "mapping id %llu invalid or defined twice", (unsigned long long)id);
        vitte_trace_mapping *m = arena_alloc(r, sizeof *m, _Alignof(vitte_trace_mapping));
        char *hex = arena_alloc(r, 2 * bid_len + 1, 1);
        if (m == NULL || hex == NULL || (m->path = arena_str(r, path, path_len)) == NULL)
            return VITTE_ENOMEM;
        for (uint64_t i = 0; i < bid_len; i++) {
            static const char digits[] = "0123456789abcdef";
            hex[2 * i] = digits[bid[i] >> 4];
            hex[2 * i + 1] = digits[bid[i] & 15];
        }
        hex[2 * bid_len] = '\0';
        m->build_id = hex;
        m->start = start;
        m->limit = limit;
        m->file_offset = pgoff;
        if (idtab_put(&r->mappings, id, m) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    return rd_end(r, p, end, count, "mappings");
}

/* The location of id, created empty when SYMBOLS come before LOCATIONS. */
static struct rloc *loc_get(struct vitte_trace_reader *r, uint64_t id)
{
    struct rloc *l = idtab_get(&r->locs, id);
    if (l != NULL)
        return l;
    l = arena_alloc(r, sizeof *l, _Alignof(struct rloc));
    if (l == NULL)
        return NULL;
    memset(l, 0, sizeof *l);
    return idtab_put(&r->locs, id, l) == VITTE_OK ? l : NULL;
}

static int parse_locations(struct vitte_trace_reader *r, const unsigned char *p,
                           const unsigned char *end)
{
    uint64_t count;
    if (rd_count(r, &p, end, 3, "locations", &count) != VITTE_OK)
        return VITTE_EFORMAT;
    for (uint64_t n = 0; n < count; n++) {
        uint64_t id, map, addr;
        if (rd_v(r, &p, end, &id, "location id") || rd_v(r, &p, end, &map, "location mapping") ||
            rd_v(r, &p, end, &addr, "location address"))
            return VITTE_EFORMAT;
        if (id == 0)
            return bad(r, "location id 0");
        struct rloc *l = loc_get(r, id);
        if (l == NULL)
            return VITTE_ENOMEM;
        l->address = addr;
        l->mapping = map != 0 ? idtab_get(&r->mappings, map) : NULL;
        if (map != 0 && l->mapping == NULL)
            r->damaged++;
    }
    return rd_end(r, p, end, count, "locations");
}

static int parse_stacks(struct vitte_trace_reader *r, const unsigned char *p,
                        const unsigned char *end)
{
    uint64_t count;
    if (rd_count(r, &p, end, 3, "stacks", &count) != VITTE_OK)
        return VITTE_EFORMAT;
    for (uint64_t n = 0; n < count; n++) {
        uint64_t id;
        uint32_t parent, loc;
        if (rd_v(r, &p, end, &id, "stack id") || rd_u32v(r, &p, end, &parent, "stack parent") ||
            rd_u32v(r, &p, end, &loc, "stack location"))
            return VITTE_EFORMAT;
        /* Parents come first, so a chain always ends at 0 (no cycles). */
        if (id == 0 || parent >= id || idtab_get(&r->stacks, id) != NULL)
            return bad(r, "stack %llu: bad id or parent %u", (unsigned long long)id, parent);
        struct rstack *s = arena_alloc(r, sizeof *s, _Alignof(struct rstack));
        if (s == NULL)
            return VITTE_ENOMEM;
        s->parent = parent;
        s->loc = loc;
        if (idtab_put(&r->stacks, id, s) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    return rd_end(r, p, end, count, "stacks");
}

static int parse_symbols(struct vitte_trace_reader *r, const unsigned char *p,
                         const unsigned char *end)
{
    uint64_t n_str, count;
    if (rd_v(r, &p, end, &n_str, "symbol string count"))
        return VITTE_EFORMAT;
    if (n_str > (uint64_t)(end - p))
        return bad(r, "%llu symbol strings announced in %llu bytes", (unsigned long long)n_str,
                   (unsigned long long)(end - p));
    const char **str = vitte__malloc((size_t)(n_str + 1) * sizeof *str);
    if (str == NULL)
        return VITTE_ENOMEM;
    int rc = VITTE_OK;
    str[0] = "";
    for (uint64_t i = 1; i <= n_str; i++) {
        const unsigned char *s;
        size_t len;
        if (rd_str(r, &p, end, &s, &len, "symbol string")) {
            rc = VITTE_EFORMAT;
            goto out;
        }
        if ((str[i] = arena_str(r, s, len)) == NULL) {
            rc = VITTE_ENOMEM;
            goto out;
        }
    }
    if (rd_v(r, &p, end, &count, "symbol count")) {
        rc = VITTE_EFORMAT;
        goto out;
    }
    for (uint64_t n = 0; n < count; n++) {
        uint64_t id, nf;
        if (rd_v(r, &p, end, &id, "symbol location") || rd_v(r, &p, end, &nf, "frame count")) {
            rc = VITTE_EFORMAT;
            goto out;
        }
        if (id == 0 || nf == 0 || nf > (uint64_t)(end - p) / 4) {
            rc = bad(r, "symbols of location %llu: %llu frames", (unsigned long long)id,
                     (unsigned long long)nf);
            goto out;
        }
        vitte_trace_frame *f = arena_alloc(r, (size_t)nf * sizeof *f, _Alignof(vitte_trace_frame));
        struct rloc *l = loc_get(r, id);
        if (f == NULL || l == NULL) {
            rc = VITTE_ENOMEM;
            goto out;
        }
        for (uint64_t k = 0; k < nf; k++) {
            uint64_t fn, fl;
            uint32_t line;
            if (rd_v(r, &p, end, &fn, "frame function") || rd_v(r, &p, end, &fl, "frame file") ||
                rd_u32v(r, &p, end, &line, "frame line") || p >= end) {
                rc = r->err[0] ? VITTE_EFORMAT : bad(r, "frame cut short");
                goto out;
            }
            if (fn > n_str || fl > n_str || fn == 0) {
                rc = bad(r, "frame string %llu of %llu", (unsigned long long)fn,
                         (unsigned long long)n_str);
                goto out;
            }
            memset(&f[k], 0, sizeof f[k]);
            f[k].function = str[fn];
            f[k].file = str[fl];
            f[k].line = line;
            f[k].inlined = *p++ != 0;
            f[k].symbolized = 1;
        }
        l->sym = f;
        l->n_sym = (uint32_t)nf;
        l->tried = 1;
    }
    if (p != end)
        rc = bad(r, "%llu bytes left after %llu symbols", (unsigned long long)(end - p),
                 (unsigned long long)count);
    r->have_symbols = 1;
out:
    vitte__free(str);
    return rc;
}

/* A SAMPLES chunk is decoded whole into the segment (the writer keeps them
 * under 256 KiB raw; the count is checked against the payload). */
static int parse_samples(struct vitte_trace_reader *r, const unsigned char *p,
                         const unsigned char *end)
{
    uint32_t pid;
    uint64_t count, ts;
    if (rd_u32v(r, &p, end, &pid, "sample pid") || rd_v(r, &p, end, &count, "sample count") ||
        rd_v(r, &p, end, &ts, "sample base time"))
        return VITTE_EFORMAT;
    if (count > (uint64_t)(end - p) / 5)
        return bad(r, "%llu samples announced in %llu bytes", (unsigned long long)count,
                   (unsigned long long)(end - p));
    r->seg_n = r->seg_pos = 0;
    r->n_sargs = r->n_sstr = 0;
    if (count > r->seg_cap) {
        struct sev *v = vitte__realloc(r->seg, (size_t)count * sizeof *v);
        if (v == NULL)
            return VITTE_ENOMEM;
        r->seg = v;
        r->seg_cap = (size_t)count;
    }
    for (uint64_t n = 0; n < count; n++) {
        uint32_t tid;
        uint64_t zz, stack, weight;
        if (rd_u32v(r, &p, end, &tid, "sample thread") || p >= end)
            return r->err[0] ? VITTE_EFORMAT : bad(r, "sample cut short");
        unsigned kind = *p++;
        if (rd_v(r, &p, end, &zz, "sample time") || rd_v(r, &p, end, &stack, "sample stack") ||
            rd_v(r, &p, end, &weight, "sample weight"))
            return VITTE_EFORMAT;
        if (kind > VITTE_SAMPLE_WALL)
            return bad(r, "sample kind %u", kind);
        ts += (uint64_t)vitte__unzigzag(zz);
        size_t idx;
        if (get_thread(r, tid, &idx) != VITTE_OK)
            return VITTE_ENOMEM;
        struct sev *se = &r->seg[r->seg_n++];
        vitte_trace_event *e = &se->ev;
        memset(e, 0, sizeof *e);
        se->arg_head = se->arg_tail = NO_ARG;
        e->type = VITTE_EVENT_SAMPLE;
        e->pid = pid;
        e->tid = tid;
        e->ts_ns = ts;
        e->dur_ns = weight;
        e->id = stack; /* resolved into frames when returned */
        e->sample_kind = (vitte_sample_kind)kind;
        e->name = e->module = e->tags = e->file = "";
    }
    return rd_end(r, p, end, count, "samples");
}

static int sym_dirs_set(struct vitte_trace_reader *r, const char *dirs)
{
    for (size_t i = 0; i < r->n_sym_dirs; i++)
        vitte__free(r->sym_dirs[i]);
    vitte__free(r->sym_dirs);
    r->sym_dirs = NULL;
    r->n_sym_dirs = 0;
    if (dirs == NULL || dirs[0] == '\0')
        return VITTE_OK;
    size_t n = 1;
    for (const char *c = dirs; *c; c++)
        n += *c == ':';
    if ((r->sym_dirs = vitte__calloc(n, sizeof *r->sym_dirs)) == NULL)
        return VITTE_ENOMEM;
    for (const char *c = dirs;;) {
        size_t len = strcspn(c, ":");
        if (len > 0) {
            char *d = vitte__malloc(len + 1);
            if (d == NULL)
                return VITTE_ENOMEM;
            memcpy(d, c, len);
            d[len] = '\0';
            r->sym_dirs[r->n_sym_dirs++] = d;
        }
        if (c[len] == '\0')
            break;
        c += len + 1;
    }
    return VITTE_OK;
}

/* Symbolize l now, if the file had no SYMBOLS or directories were given. */
static void loc_symbolize(struct vitte_trace_reader *r, struct rloc *l)
{
    l->tried = 1;
    if (l->mapping == NULL || r->sym_failed || (r->flags & VITTE__READER_NO_SYMBOLIZE) ||
        (r->have_symbols && r->n_sym_dirs == 0))
        return;
    if (r->sym == NULL) {
        vitte__symbolizer_options o = {(const char *const *)r->sym_dirs, r->n_sym_dirs};
        if ((r->sym = vitte__symbolizer_create(&o)) == NULL) {
            r->sym_failed = 1;
            return;
        }
    }
    const vitte_trace_mapping *m = l->mapping;
    uint8_t bid[64];
    size_t bl = strlen(m->build_id) / 2;
    for (size_t i = 0; i < bl && i < sizeof bid; i++) {
        unsigned hi = (unsigned)(m->build_id[2 * i] <= '9' ? m->build_id[2 * i] - '0'
                                                           : m->build_id[2 * i] - 'a' + 10);
        unsigned lo = (unsigned)(m->build_id[2 * i + 1] <= '9' ? m->build_id[2 * i + 1] - '0'
                                                               : m->build_id[2 * i + 1] - 'a' + 10);
        bid[i] = (uint8_t)(hi << 4 | lo);
    }
    const vitte__symframe *sf;
    int n = vitte__symbolize(r->sym, m->path, bid, bl > sizeof bid ? sizeof bid : bl,
                             l->address - m->start + m->file_offset, &sf);
    if (n <= 0)
        return;
    vitte_trace_frame *f = arena_alloc(r, (size_t)n * sizeof *f, _Alignof(vitte_trace_frame));
    if (f == NULL)
        return;
    for (int k = 0; k < n; k++) {
        memset(&f[k], 0, sizeof f[k]);
        f[k].function = arena_str(r, (const unsigned char *)sf[k].function, strlen(sf[k].function));
        f[k].file = arena_str(r, (const unsigned char *)sf[k].file, strlen(sf[k].file));
        f[k].line = sf[k].line;
        f[k].inlined = sf[k].inlined;
        f[k].symbolized = 1;
        if (f[k].function == NULL || f[k].file == NULL)
            return;
    }
    l->sym = f;
    l->n_sym = (uint32_t)n;
}

static const char *loc_placeholder(struct vitte_trace_reader *r, struct rloc *l)
{
    if (l->placeholder != NULL)
        return l->placeholder;
    char buf[300];
    if (l->mapping != NULL)
        snprintf(buf, sizeof buf, "%s+0x%llx", vitte__module_basename(l->mapping->path),
                 (unsigned long long)(l->address - l->mapping->start + l->mapping->file_offset));
    else
        snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)l->address);
    l->placeholder = arena_str(r, (const unsigned char *)buf, strlen(buf));
    return l->placeholder != NULL ? l->placeholder : "?";
}

static int frames_push(struct vitte_trace_reader *r, size_t n)
{
    if (n < r->cap_frames)
        return VITTE_OK;
    size_t cap = r->cap_frames ? 2 * r->cap_frames : 128;
    vitte_trace_frame *f = vitte__realloc(r->frames, cap * sizeof *f);
    if (f == NULL)
        return VITTE_ENOMEM;
    r->frames = f;
    r->cap_frames = cap;
    return VITTE_OK;
}

/* Fill e->frames from its stack id (kept in e->id by parse_samples). */
static int resolve_sample(struct vitte_trace_reader *r, vitte_trace_event *e)
{
    size_t n = 0;
    uint64_t id = e->id; /* stays: sinks key their caches by it */
    while (id != 0) {
        const struct rstack *s = idtab_get(&r->stacks, id);
        if (s == NULL) {
            r->damaged++;
            break;
        }
        struct rloc *l = idtab_get(&r->locs, s->loc);
        if (l == NULL) {
            r->damaged++;
            break;
        }
        if (!l->tried)
            loc_symbolize(r, l);
        uint32_t k = l->sym != NULL ? l->n_sym : 1;
        for (uint32_t i = 0; i < k; i++) {
            if (frames_push(r, n) != VITTE_OK)
                return VITTE_ENOMEM;
            vitte_trace_frame *f = &r->frames[n++];
            if (l->sym != NULL) {
                *f = l->sym[i];
            } else {
                memset(f, 0, sizeof *f);
                f->function = loc_placeholder(r, l);
                f->file = "";
            }
            f->address = l->address;
            f->mapping = l->mapping;
        }
        id = s->parent;
    }
    e->n_frames = n;
    e->frames = n > 0 ? r->frames : NULL;
    e->name = n > 0 ? r->frames[0].function : "?";
    e->file = n > 0 ? r->frames[0].file : "";
    e->line = n > 0 ? r->frames[0].line : 0;
    e->module = n > 0 && r->frames[0].mapping != NULL
                    ? vitte__module_basename(r->frames[0].mapping->path)
                    : "";
    return VITTE_OK;
}

/* ---- chunks -------------------------------------------------------------------------------- */

enum { R_CHUNK = 1, R_EOF = 2, R_PARTIAL = 3 };

static int chunk_header_ok(const struct vitte_trace_reader *r, const unsigned char *h)
{
    if (memcmp(h, VITTE__VT_CHUNK_MAGIC, 4) != 0)
        return 0;
    if (!(r->flags & VITTE__READER_NO_CRC) && vitte__crc32(h, 20) != vitte__get_u32(h + 20))
        return 0;
    return vitte__get_u32(h + 8) <= VITTE__VT_MAX_PAYLOAD &&
           vitte__get_u32(h + 12) <= VITTE__VT_MAX_PAYLOAD;
}

/* Search from `from` for the next "VCHK" with a valid header, or one cut by
 * the end of the file (it may be a chunk still being written).  1: found at
 * *at; 0: none before the end, *at is where to go on searching. */
static int scan_for_chunk(struct vitte_trace_reader *r, uint64_t from, uint64_t *at)
{
    const size_t want = SCAN_BLOCK + VITTE__VT_CHUNK_HEADER - 1;
    if (r->fd >= 0 && r->scan == NULL && (r->scan = vitte__malloc(want)) == NULL)
        return VITTE_ENOMEM;
    for (uint64_t off = from;;) {
        const unsigned char *b;
        size_t got;
        if (r->fd < 0) {
            b = r->mem + (off < r->mem_size ? off : r->mem_size);
            got = off < r->mem_size ? (size_t)(r->mem_size - off) : 0;
            if (got > want)
                got = want;
        } else {
            if (read_at(r, off, r->scan, want, &got) != VITTE_OK)
                return VITTE_EIO;
            b = r->scan;
        }
        size_t lim = got == want ? SCAN_BLOCK : (got >= 4 ? got - 3 : 0);
        for (size_t i = 0; i < lim; i++) {
            const unsigned char *q = memchr(b + i, 'V', lim - i);
            if (q == NULL)
                break;
            i = (size_t)(q - b);
            if (memcmp(q, VITTE__VT_CHUNK_MAGIC, 4) != 0)
                continue;
            if (i + VITTE__VT_CHUNK_HEADER > got || chunk_header_ok(r, q)) {
                *at = off + i;
                return 1;
            }
        }
        if (got < want) {
            /* A follower keeps the last bytes: they may be the start of a
             * magic still being written. */
            *at = off + ((r->flags & VITTE_READER_FOLLOW) && r->fd >= 0 ? lim : got);
            return 0;
        }
        off += SCAN_BLOCK;
    }
}

/* A chunk header that cannot be trusted: search for the next one now, so
 * the message can say how much was skipped. */
static int corrupt_header(struct vitte_trace_reader *r, vitte_diag *diag, uint64_t off,
                          const char *why)
{
    uint64_t at;
    int rc = scan_for_chunk(r, off + 1, &at);
    if (rc < 0)
        return set_diag(diag, rc, off, "chunk at offset %llu: %s; %s", (unsigned long long)off, why,
                        rc == VITTE_EIO ? "read error" : "out of memory");
    r->skipped += at - off;
    r->pos = at;
    r->resync = rc == 0;
    pend_clear_all(r);
    if (rc == 1)
        return set_diag(diag, VITTE_EFORMAT, off,
                        "chunk at offset %llu: %s; skipped %llu bytes to the next chunk at "
                        "offset %llu",
                        (unsigned long long)off, why, (unsigned long long)(at - off),
                        (unsigned long long)at);
    return set_diag(diag, VITTE_EFORMAT, off,
                    "chunk at offset %llu: %s; no chunk in the %llu bytes after it (skipped)",
                    (unsigned long long)off, why, (unsigned long long)(at - off));
}

/* A chunk whose header is sound but whose payload is not: skip it whole. */
static int corrupt_chunk(struct vitte_trace_reader *r, vitte_diag *diag, uint64_t off,
                         unsigned type, uint32_t stored, const char *why)
{
    if (type == VITTE__CH_EVENTS)
        pend_clear_all(r);
    return set_diag(diag, VITTE_EFORMAT, off, "chunk at offset %llu (%s, %u bytes, skipped): %s",
                    (unsigned long long)off, chunk_name(type), stored, why);
}

static void *zalloc(void *opaque, size_t size)
{
    (void)opaque;
    return vitte__malloc(size);
}

static void zfree(void *opaque, void *p)
{
    (void)opaque;
    vitte__free(p);
}

static int decompress(struct vitte_trace_reader *r, const unsigned char *src, size_t n, size_t raw)
{
    unsigned long long fcs = ZSTD_getFrameContentSize(src, n);
    if (fcs == ZSTD_CONTENTSIZE_ERROR)
        return bad(r, "payload is not a zstd frame");
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != raw)
        return bad(r, "zstd frame holds %llu bytes, raw_size says %zu", fcs, raw);
    size_t fsz = ZSTD_findFrameCompressedSize(src, n);
    if (ZSTD_isError(fsz))
        return bad(r, "zstd: %s", ZSTD_getErrorName(fsz));
    if (fsz != n)
        return bad(r, "payload is not exactly one zstd frame (%zu of %zu bytes)", fsz, n);
    if (r->dctx == NULL) {
        r->dctx = ZSTD_createDCtx_advanced((ZSTD_customMem){zalloc, zfree, NULL});
        if (r->dctx == NULL)
            return VITTE_ENOMEM;
    }
    if (grow_buf(&r->raw, &r->raw_cap, raw) != VITTE_OK)
        return VITTE_ENOMEM;
    size_t k = ZSTD_decompressDCtx(r->dctx, r->raw, raw, src, n);
    if (ZSTD_isError(k))
        return bad(r, "zstd: %s", ZSTD_getErrorName(k));
    if (k != raw)
        return bad(r, "zstd gave %zu bytes, raw_size says %zu", k, raw);
    return VITTE_OK;
}

/* Read and apply the chunk at r->pos.  R_CHUNK when one was consumed (and
 * r->pos moved past it), R_EOF at a clean end, R_PARTIAL when the file ends
 * inside it (r->trunc_msg says where), or an error with diag set. */
static int read_chunk(struct vitte_trace_reader *r, vitte_diag *diag)
{
    if (r->resync) {
        uint64_t at;
        int rc = scan_for_chunk(r, r->pos, &at);
        if (rc < 0)
            return set_diag(diag, rc, r->pos, "reading after offset %llu: %s",
                            (unsigned long long)r->pos, vitte_strerror(rc));
        r->skipped += at - r->pos;
        r->pos = at;
        if (rc == 0)
            return R_EOF;
        r->resync = 0;
    }

    const uint64_t off = r->pos;
    unsigned char h[VITTE__VT_CHUNK_HEADER];
    size_t got;
    if (read_at(r, off, h, sizeof h, &got) != VITTE_OK)
        return set_diag(diag, VITTE_EIO, off, "chunk at offset %llu: read error: %s",
                        (unsigned long long)off, strerror(errno));
    if (got == 0)
        return R_EOF;
    if (got < sizeof h) {
        r->trunc_off = off;
        snprintf(r->trunc_msg, sizeof r->trunc_msg,
                 "file ends inside chunk at offset %llu (%zu of 24 header bytes)",
                 (unsigned long long)off, got);
        return R_PARTIAL;
    }
    if (memcmp(h, VITTE__VT_CHUNK_MAGIC, 4) != 0)
        return corrupt_header(r, diag, off, "no chunk magic");
    if (!(r->flags & VITTE__READER_NO_CRC) && vitte__crc32(h, 20) != vitte__get_u32(h + 20))
        return corrupt_header(r, diag, off, "chunk header checksum mismatch");
    const unsigned type = h[4], comp = h[5];
    const uint32_t stored = vitte__get_u32(h + 8), raw = vitte__get_u32(h + 12);
    if (stored > VITTE__VT_MAX_PAYLOAD || raw > VITTE__VT_MAX_PAYLOAD)
        return corrupt_header(r, diag, off, "payload size above 64 MiB");

    /* Check the size first: a cut chunk must not cost a 64 MiB buffer. */
    const uint64_t end = off + VITTE__VT_CHUNK_HEADER + stored;
    uint64_t size;
    if (source_size(r, &size) != VITTE_OK)
        return set_diag(diag, VITTE_EIO, off, "chunk at offset %llu: %s", (unsigned long long)off,
                        strerror(errno));
    const unsigned char *payload;
    got = size > off + VITTE__VT_CHUNK_HEADER ? (size_t)(size - off - VITTE__VT_CHUNK_HEADER) : 0;
    if (got >= stored) {
        if (r->fd < 0) {
            payload = r->mem + off + VITTE__VT_CHUNK_HEADER;
        } else {
            if (grow_buf(&r->stored, &r->stored_cap, stored) != VITTE_OK)
                return set_diag(diag, VITTE_ENOMEM, off, "chunk at offset %llu: out of memory",
                                (unsigned long long)off);
            if (read_at(r, off + VITTE__VT_CHUNK_HEADER, r->stored, stored, &got) != VITTE_OK)
                return set_diag(diag, VITTE_EIO, off, "chunk at offset %llu: read error: %s",
                                (unsigned long long)off, strerror(errno));
            payload = r->stored;
        }
    }
    if (got < stored) {
        r->trunc_off = off;
        snprintf(r->trunc_msg, sizeof r->trunc_msg,
                 "file ends inside chunk at offset %llu (%zu of %u payload bytes)",
                 (unsigned long long)off, got, stored);
        return R_PARTIAL;
    }
    r->pos = end;
    if (!(r->flags & VITTE__READER_NO_CRC) &&
        vitte__crc32(payload, stored) != vitte__get_u32(h + 16))
        return corrupt_chunk(r, diag, off, type, stored, "payload checksum mismatch");
    if (type < VITTE__CH_INFO || type > VITTE__CH_LAST)
        return R_CHUNK; /* a later minor version's chunk: complete and checksummed, skip it */
    if (type == VITTE__CH_SYMBOLS && off < r->sym_prescan_end)
        return R_CHUNK; /* loaded when the file was opened */

    const unsigned char *body = payload;
    int rc;
    if (comp == VITTE__COMP_NONE) {
        if (raw != stored) {
            snprintf(r->err, sizeof r->err, "stored chunk with raw_size %u != stored_size %u", raw,
                     stored);
            return corrupt_chunk(r, diag, off, type, stored, r->err);
        }
    } else if (comp == VITTE__COMP_ZSTD) {
        if ((rc = decompress(r, payload, stored, raw)) != VITTE_OK) {
            if (rc == VITTE_ENOMEM)
                return set_diag(diag, rc, off, "chunk at offset %llu: out of memory",
                                (unsigned long long)off);
            return corrupt_chunk(r, diag, off, type, stored, r->err);
        }
        body = r->raw;
    } else {
        snprintf(r->err, sizeof r->err, "unknown compression %u", comp);
        return corrupt_chunk(r, diag, off, type, stored, r->err);
    }

    const unsigned char *bend = body + raw;
    r->body = body;
    switch (type) {
    case VITTE__CH_INFO:
        rc = parse_info(r, body, bend);
        break;
    case VITTE__CH_STRINGS:
        rc = parse_strings(r, body, bend);
        break;
    case VITTE__CH_SITES:
        rc = parse_sites(r, body, bend);
        break;
    case VITTE__CH_THREAD:
        rc = parse_thread(r, body, bend);
        break;
    case VITTE__CH_EVENTS:
        rc = begin_events(r, off, body, bend);
        break;
    case VITTE__CH_STATS:
        rc = parse_stats(r, body, bend);
        break;
    case VITTE__CH_MAPPINGS:
        rc = parse_mappings(r, body, bend);
        break;
    case VITTE__CH_LOCATIONS:
        rc = parse_locations(r, body, bend);
        break;
    case VITTE__CH_STACKS:
        rc = parse_stacks(r, body, bend);
        break;
    case VITTE__CH_SAMPLES:
        rc = parse_samples(r, body, bend);
        if (rc != VITTE_OK)
            r->seg_n = r->seg_pos = 0;
        break;
    case VITTE__CH_SYMBOLS:
        rc = parse_symbols(r, body, bend);
        break;
    default:
        rc = parse_end(r, body, bend);
        break;
    }
    if (rc == VITTE_ENOMEM)
        return set_diag(diag, rc, off, "chunk at offset %llu: out of memory",
                        (unsigned long long)off);
    if (rc != VITTE_OK)
        return corrupt_chunk(r, diag, off, type, stored, r->err);
    return R_CHUNK;
}

/* ---- opening ---------------------------------------------------------------------------- */

/* Load the SYMBOLS chunks first: a profiler writes them at the end, once it
 * has symbolized every location, but samples need them when they are
 * returned.  Only chunk headers are read on the way; the walk stops at the
 * first damaged or cut chunk (what lies beyond is then symbolized lazily). */
static int prescan_symbols(struct vitte_trace_reader *r)
{
    uint64_t off = r->pos, size;
    if (source_size(r, &size) != VITTE_OK)
        return VITTE_OK;
    unsigned char h[VITTE__VT_CHUNK_HEADER];
    while (off + sizeof h <= size) {
        size_t got;
        if (read_at(r, off, h, sizeof h, &got) != VITTE_OK || got < sizeof h ||
            !chunk_header_ok(r, h))
            break;
        uint32_t stored = vitte__get_u32(h + 8), raw = vitte__get_u32(h + 12);
        uint64_t next = off + sizeof h + stored;
        if (next > size)
            break;
        if (h[4] == VITTE__CH_SYMBOLS) {
            const unsigned char *payload;
            if (r->fd < 0) {
                payload = r->mem + off + sizeof h;
            } else {
                if (grow_buf(&r->stored, &r->stored_cap, stored) != VITTE_OK)
                    return VITTE_ENOMEM;
                if (read_at(r, off + sizeof h, r->stored, stored, &got) != VITTE_OK || got < stored)
                    break;
                payload = r->stored;
            }
            if (!(r->flags & VITTE__READER_NO_CRC) &&
                vitte__crc32(payload, stored) != vitte__get_u32(h + 16))
                break;
            const unsigned char *body = payload;
            if (h[5] == VITTE__COMP_ZSTD) {
                int rc = decompress(r, payload, stored, raw);
                if (rc == VITTE_ENOMEM)
                    return rc;
                if (rc != VITTE_OK)
                    break;
                body = r->raw;
            } else if (h[5] != VITTE__COMP_NONE || raw != stored) {
                break;
            }
            int rc = parse_symbols(r, body, body + raw);
            if (rc == VITTE_ENOMEM)
                return rc;
            if (rc != VITTE_OK)
                break; /* reported when the normal pass meets it */
            r->sym_prescan_end = next;
        }
        off = next;
    }
    r->err[0] = '\0';
    return VITTE_OK;
}

static void escape_magic(char *out, size_t cap, const unsigned char *m, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && k + 5 < cap; i++) {
        if (m[i] >= 0x20 && m[i] < 0x7f && m[i] != '"' && m[i] != '\\')
            out[k++] = (char)m[i];
        else
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", m[i]);
    }
    out[k] = '\0';
}

static int read_header(struct vitte_trace_reader *r, vitte_diag *diag)
{
    unsigned char h[VITTE__VT_HEADER_SIZE];
    size_t got;
    for (;;) {
        if (read_at(r, 0, h, sizeof h, &got) != VITTE_OK)
            return set_diag(diag, VITTE_EIO, 0, "read error: %s", strerror(errno));
        size_t m = got < 8 ? got : 8;
        if (memcmp(h, VITTE__VT_MAGIC, m) != 0) {
            char esc[48];
            escape_magic(esc, sizeof esc, h, m);
            return set_diag(diag, VITTE_EFORMAT, 0,
                            "not a vitte trace (magic \"%s\", expected \"VITTRACE\")", esc);
        }
        if (got == sizeof h)
            break;
        /* Following: the writer may not have written its header yet. */
        if ((r->flags & VITTE_READER_FOLLOW) && r->fd >= 0) {
            poll_sleep();
            continue;
        }
        if (got == 0)
            return set_diag(diag, VITTE_EFORMAT, 0, "empty file: not a vitte trace");
        return set_diag(diag, VITTE_ETRUNCATED, 0, "file ends inside the header (%zu of 64 bytes)",
                        got);
    }
    const unsigned major = vitte__get_u16(h + 8), minor = vitte__get_u16(h + 10);
    const unsigned min_reader = vitte__get_u16(h + 12), header_size = vitte__get_u16(h + 14);
    if (min_reader > VITTE__VT_MAJOR)
        return set_diag(diag, VITTE_EFORMAT, 12,
                        "needs a newer vitte: format %u.%u wants a reader of version %u or "
                        "later, this one reads version %u",
                        major, minor, min_reader, VITTE__VT_MAJOR);
    const uint32_t crc = vitte__crc32(h, 60), want = vitte__get_u32(h + 60);
    if (!(r->flags & VITTE__READER_NO_CRC) && crc != want)
        return set_diag(diag, VITTE_EFORMAT, 60,
                        "file header checksum mismatch (stored %08x, computed %08x)", want, crc);
    if (header_size < VITTE__VT_HEADER_SIZE || header_size > 4096)
        return set_diag(diag, VITTE_EFORMAT, 14, "header_size %u is not within 64..4096",
                        header_size);
    const uint32_t flags = vitte__get_u32(h + 16);
    uint64_t hz = vitte__get_u64(h + 48);
    r->info.version_major = (uint16_t)major;
    r->info.version_minor = (uint16_t)minor;
    r->info.pid = vitte__get_u32(h + 20);
    r->info.process_name = "";
    r->info.clock = (flags & VITTE__VT_FLAG_TSC) ? "TSC" : "CLOCK_MONOTONIC";
    memcpy(&r->info.tsc_hz, &hz, sizeof hz);
    r->info.start_ns = vitte__get_u64(h + 24);
    r->info.start_realtime_ns = (int64_t)vitte__get_u64(h + 32);
    r->info.end_ns = r->info.start_ns;
    r->pos = header_size;
    return VITTE_OK;
}

static vitte_trace_reader *reader_new(unsigned flags)
{
    vitte_trace_reader *r = vitte__calloc(1, sizeof *r);
    if (r != NULL) {
        r->fd = -1;
        r->flags = flags;
    }
    return r;
}

int vitte__trace_reader_open_mem(const void *data, size_t size, unsigned flags,
                                 vitte_trace_reader **out, vitte_diag *diag)
{
    if (out != NULL)
        *out = NULL;
    set_diag(diag, VITTE_OK, 0, "%s", "");
    if (out == NULL || (data == NULL && size > 0) ||
        (flags & ~(VITTE_READER_FOLLOW | VITTE__READER_NO_CRC | VITTE__READER_NO_SYMBOLIZE)))
        return set_diag(diag, VITTE_EINVAL, 0, "invalid argument");
    vitte_trace_reader *r = reader_new(flags);
    if (r == NULL)
        return set_diag(diag, VITTE_ENOMEM, 0, "out of memory");
    r->mem = data != NULL ? data : (const unsigned char *)"";
    r->mem_size = size;
    int rc = read_header(r, diag);
    if (rc == VITTE_OK && !(flags & VITTE_READER_FOLLOW) && prescan_symbols(r) != VITTE_OK)
        rc = set_diag(diag, VITTE_ENOMEM, 0, "out of memory");
    if (rc != VITTE_OK) {
        vitte_trace_reader_close(r);
        return rc;
    }
    *out = r;
    return VITTE_OK;
}

int vitte_trace_reader_open(const char *path, unsigned flags, vitte_trace_reader **out,
                            vitte_diag *diag)
{
    if (out != NULL)
        *out = NULL;
    set_diag(diag, VITTE_OK, 0, "%s", "");
    if (path == NULL || out == NULL || (flags & ~VITTE_READER_FOLLOW))
        return set_diag(diag, VITTE_EINVAL, 0, "invalid argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        int rc = e == ENOENT ? VITTE_ENOENT : (e == EACCES || e == EPERM) ? VITTE_EPERM : VITTE_EIO;
        return set_diag(diag, rc, 0, "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int isdir = S_ISDIR(st.st_mode);
        close(fd);
        if (isdir)
            return set_diag(diag, VITTE_EFORMAT, 0, "%s is a directory, not a vitte trace", path);
        return set_diag(diag, VITTE_EIO, 0, "cannot stat %s", path);
    }
    vitte_trace_reader *r = reader_new(flags);
    if (r == NULL) {
        close(fd);
        return set_diag(diag, VITTE_ENOMEM, 0, "out of memory");
    }
    r->fd = fd;
    int rc = read_header(r, diag);
    if (rc == VITTE_OK && !(flags & VITTE_READER_FOLLOW) && prescan_symbols(r) != VITTE_OK)
        rc = set_diag(diag, VITTE_ENOMEM, 0, "out of memory");
    if (rc != VITTE_OK) {
        vitte_trace_reader_close(r);
        return rc;
    }
    *out = r;
    return VITTE_OK;
}

/* ---- reading ------------------------------------------------------------------------------ */

static int fail_final(struct vitte_trace_reader *r, vitte_diag *diag)
{
    if (diag != NULL)
        *diag = r->final_diag;
    return r->final_rc;
}

int vitte_trace_reader_next(vitte_trace_reader *r, const vitte_trace_event **ev, vitte_diag *diag)
{
    if (ev != NULL)
        *ev = NULL;
    if (r == NULL || ev == NULL)
        return set_diag(diag, VITTE_EINVAL, 0, "invalid argument");
    for (;;) {
        if (r->seg_pos < r->seg_n) {
            vitte_trace_event *e = &r->seg[r->seg_pos++].ev;
            if (e->type == VITTE_EVENT_SAMPLE && resolve_sample(r, e) != VITTE_OK) {
                r->final_rc = set_diag(&r->final_diag, VITTE_ENOMEM, r->pos, "out of memory");
                return fail_final(r, diag);
            }
            uint64_t t = e->type == VITTE_EVENT_SAMPLE ? e->ts_ns : e->ts_ns + e->dur_ns;
            if (t > r->info.end_ns)
                r->info.end_ns = t;
            r->info.events++;
            *ev = e;
            return 1;
        }
        if (r->ch.active) {
            int rc = fill_segment(r);
            if (rc == VITTE_OK)
                continue;
            const struct evchunk *c = &r->ch;
            r->ch.active = 0;
            r->seg_n = r->seg_pos = 0;
            if (rc == VITTE_ENOMEM) {
                r->final_rc =
                    set_diag(&r->final_diag, rc, c->off, "chunk at offset %llu: out of memory",
                             (unsigned long long)c->off);
                return fail_final(r, diag);
            }
            pend_clear_all(r);
            return set_diag(diag, VITTE_EFORMAT, c->off,
                            "chunk at offset %llu (EVENTS of thread %u, rest skipped): %s",
                            (unsigned long long)c->off, c->tid, r->err);
        }
        if (r->done) {
            set_diag(diag, VITTE_OK, r->pos, "complete: %llu events",
                     (unsigned long long)r->info.events);
            return 0;
        }
        if (r->final_rc != VITTE_OK)
            return fail_final(r, diag);
        int rc = read_chunk(r, diag);
        if (rc == R_CHUNK)
            continue;
        if (rc == R_EOF || rc == R_PARTIAL) {
            if ((r->flags & VITTE_READER_FOLLOW) && r->fd >= 0) {
                poll_sleep();
                continue;
            }
            r->final_rc = VITTE_ETRUNCATED;
            if (rc == R_PARTIAL)
                set_diag(&r->final_diag, VITTE_ETRUNCATED, r->trunc_off, "%s", r->trunc_msg);
            else
                set_diag(&r->final_diag, VITTE_ETRUNCATED, r->pos,
                         "no end marker: the writer did not finish (crash or kill?) — %llu "
                         "events read",
                         (unsigned long long)r->info.events);
            return fail_final(r, diag);
        }
        if (rc == VITTE_EFORMAT)
            return rc; /* r->pos is past the damage: the next call goes on */
        r->final_rc = rc;
        if (diag != NULL)
            r->final_diag = *diag;
        else
            set_diag(&r->final_diag, rc, r->pos, "%s", vitte_strerror(rc));
        return rc;
    }
}

int vitte_trace_reader_info(vitte_trace_reader *r, vitte_trace_file_info *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (r == NULL || out == NULL)
        return VITTE_EINVAL;
    *out = r->info;
    if (r->have_end) {
        out->dropped = r->end_dropped;
    } else {
        uint64_t d = 0;
        for (size_t i = 0; i < r->n_threads; i++)
            d += r->threads[i].dropped;
        out->dropped = d;
    }
    out->complete = r->done;
    out->damaged = r->damaged;
    out->skipped_bytes = r->skipped;
    out->bytes_read = r->pos;
    return VITTE_OK;
}

const vitte_trace_thread *vitte_trace_reader_threads(vitte_trace_reader *r, size_t *n)
{
    if (n != NULL)
        *n = r != NULL ? r->n_threads : 0;
    return r != NULL ? r->threads : NULL;
}

void vitte_trace_reader_close(vitte_trace_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; i < r->n_threads; i++) {
        struct rthread *t = &r->rth[i];
        for (uint32_t k = 0; k < t->n; k++)
            vitte__free(t->v[k].s);
        vitte__free(t->v);
    }
    vitte__free(r->threads);
    vitte__free(r->rth);
    while (r->arena != NULL) {
        struct arena_block *b = r->arena;
        r->arena = b->next;
        vitte__free(b);
    }
    idtab_fini(&r->strings);
    idtab_fini(&r->sites);
    idtab_fini(&r->tids);
    idtab_fini(&r->mappings);
    idtab_fini(&r->locs);
    idtab_fini(&r->stacks);
    vitte__free(r->frames);
    vitte__symbolizer_destroy(r->sym);
    sym_dirs_set(r, NULL);
    ZSTD_freeDCtx(r->dctx);
    vitte__free(r->stored);
    vitte__free(r->raw);
    vitte__free(r->scan);
    vitte__free(r->seg);
    vitte__free(r->sargs);
    vitte__free(r->sstr);
    vitte__free(r->out_args);
    vitte__free(r);
}

int vitte_trace_reader_set_symbol_dirs(vitte_trace_reader *r, const char *dirs)
{
    if (r == NULL)
        return VITTE_EINVAL;
    vitte__symbolizer_destroy(r->sym);
    r->sym = NULL;
    r->sym_failed = 0;
    return sym_dirs_set(r, dirs);
}

uint64_t vitte__trace_reader_damaged(const vitte_trace_reader *r)
{
    return r != NULL ? r->damaged : 0;
}

uint64_t vitte__trace_reader_skipped(const vitte_trace_reader *r)
{
    return r != NULL ? r->skipped : 0;
}

const char *vitte__trace_reader_info_value(const vitte_trace_reader *r, const char *key)
{
    if (r == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < N_INFO_KEYS; i++)
        if (strcmp(info_keys[i], key) == 0)
            return r->kv[i];
    return NULL;
}
