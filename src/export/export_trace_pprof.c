/* vitte: the pprof export.  Stack samples (VITTE_EVENT_SAMPLE) aggregated
 * into one gzipped profile.proto message, as `go tool pprof` reads it
 * (docs/formats/pprof.md).  Other events are ignored.
 *
 * Everything is deduplicated as it arrives, so memory is bounded by what the
 * profile holds, not by the number of samples:
 *
 *   strings    the string table, "" first (index 0);
 *   functions  by (name, file);
 *   mappings   by content (path, build id, start, limit, offset): a
 *              frame's mapping pointer is only valid during the event;
 *   locations  one non-inlined frame with the inlined frames just before it
 *              (line[0] the innermost), by (mapping, address, lines);
 *   samples    by (locations, thread), values summed.
 *
 * Values: samples/count, then cpu/nanoseconds and/or wall/nanoseconds, the
 * kind met first before the other.  A profile of one kind (the usual case)
 * has two values; a mix of kinds gets all three, each sample counting its
 * weight in its own kind's column and 0 in the other, and a warning.
 *
 * The message is built at finish() and packed straight into deflate (gzip
 * wrapper), so the packed bytes never exist in full in memory. */
#include "export/export_trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <zlib.h>

#include "profile.pb-c.h"

#include "common/alloc.h"

/* Distinct weights tracked to find the most common one (the period). */
#define MAX_WEIGHTS 4096

/* ---- an index of entries by hash: slots hold (hash << 32 | entry + 1) -------------------------
 */

typedef struct htab {
    uint64_t *slot;
    size_t cap; /* power of two, or 0 */
    size_t n;
} htab;

typedef struct pprof_sink pprof_sink;
/* Is entry idx equal to the key being looked up (kept in the sink)? */
typedef int (*eq_fn)(const pprof_sink *p, uint32_t idx);

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h;
}

static int ht_grow(htab *t)
{
    size_t cap = t->cap != 0 ? t->cap * 2 : 1024;
    uint64_t *slot = vitte__calloc(cap, sizeof *slot);
    if (slot == NULL)
        return VITTE_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        uint64_t s = t->slot[i];
        if (s == 0)
            continue;
        size_t k = (size_t)(s >> 32) & (cap - 1);
        while (slot[k] != 0)
            k = (k + 1) & (cap - 1);
        slot[k] = s;
    }
    vitte__free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return VITTE_OK;
}

/* The entry equal to the key (eq), or UINT32_MAX with *at set to the free
 * slot where it goes (call ht_set next).  *at is SIZE_MAX when out of memory. */
static uint32_t ht_find(htab *t, const pprof_sink *p, uint64_t hash, eq_fn eq, size_t *at)
{
    *at = SIZE_MAX;
    if ((t->n + 1) * 4 > t->cap * 3 && ht_grow(t) != VITTE_OK)
        return UINT32_MAX;
    uint32_t h = (uint32_t)hash;
    for (size_t k = h & (t->cap - 1);; k = (k + 1) & (t->cap - 1)) {
        uint64_t s = t->slot[k];
        if (s == 0) {
            *at = k;
            return UINT32_MAX;
        }
        if ((uint32_t)(s >> 32) == h && eq(p, (uint32_t)s - 1))
            return (uint32_t)s - 1;
    }
}

static void ht_set(htab *t, size_t at, uint64_t hash, uint32_t idx)
{
    t->slot[at] = (uint64_t)(uint32_t)hash << 32 | ((uint64_t)idx + 1);
    t->n++;
}

/* Make room for need elements of size elem in *arr (capacity *cap). */
static int reserve(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return VITTE_OK;
    size_t c = *cap != 0 ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = vitte__realloc(*(void **)arr, c * elem);
    if (q == NULL)
        return VITTE_ENOMEM;
    *(void **)arr = q;
    *cap = c;
    return VITTE_OK;
}

/* ---- the sink's tables --------------------------------------------------------------------- */

typedef struct pmapping {
    uint64_t start, limit, offset;
    uint32_t path, build_id; /* strings */
    uint8_t has_functions, has_filenames, has_line_numbers, has_inline_frames;
} pmapping;

typedef struct plocation {
    uint64_t address;
    uint32_t mapping; /* index + 1; 0 = none */
    uint32_t first_line, n_lines;
} plocation;

typedef struct pline {
    uint32_t function; /* index */
    uint32_t line;
} pline;

typedef struct psample {
    uint32_t first_loc, n_locs; /* in loc_pool */
    uint32_t thread;            /* index */
    uint64_t count;
    uint64_t ns[2]; /* by vitte_sample_kind */
} psample;

typedef struct pthread_key {
    uint32_t stream, tid, pid;
} pthread_key;

struct pprof_sink {
    vitte__xsink base;
    int err;
    vitte__xnames strings;
    vitte__buf scratch; /* UTF-8 repair */

    vitte__xmap fn_index; /* (name << 32 | file) -> index + 1 */
    uint32_t *fn_name, *fn_file;
    size_t n_fn, cap_fn, cap_fn2;

    htab map_index;
    pmapping *maps;
    size_t n_maps, cap_maps;

    htab loc_index;
    plocation *locs;
    size_t n_locs, cap_locs;
    pline *lines;
    size_t n_lines, cap_lines;

    htab sample_index;
    psample *samples;
    size_t n_samples, cap_samples;
    uint32_t *loc_pool;
    size_t n_pool, cap_pool;

    vitte__xmap thread_index; /* (stream << 32 | tid) -> index + 1 */
    pthread_key *threads;
    size_t n_threads, cap_threads;

    vitte__xmap weights; /* weight -> samples of the first kind */

    /* (stream << 32 | stack id) -> index + 1 in stack_at: a file's stack
     * becomes locations once (stack_at[i] = first << 32 | n, in loc_pool) */
    vitte__xmap stack_cache;
    uint64_t *stack_at;
    size_t n_stack_at, cap_stack_at;

    /* The key being looked up. */
    pmapping key_map;
    plocation key_loc;
    pline *key_lines;
    size_t cap_key_lines;
    uint32_t *key_locs;
    size_t n_key_locs, cap_key_locs;
    uint32_t key_thread;

    uint64_t n_kind[2]; /* samples per kind */
    int first_kind;     /* -1 until a sample arrives */
    uint64_t no_frames; /* samples without any frame */
    uint64_t bad_kind;  /* unknown sample_kind, counted as CPU */
};

static uint32_t str_id(pprof_sink *p, const char *s)
{
    if (s == NULL)
        s = "";
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    if (i < n) {
        /* Not ASCII: make it valid UTF-8, as protobuf strings must be. */
        vitte__buf *b = &p->scratch;
        vitte__buf_clear(b);
        vitte__buf_append(b, s, i);
        while (i < n) {
            if ((unsigned char)s[i] < 0x80)
                vitte__buf_putc(b, s[i++]);
            else
                i += vitte__buf_utf8(b, (const unsigned char *)s + i, n - i);
        }
        if (b->err != 0) {
            p->err = b->err;
            return 0;
        }
        s = b->data;
        n = b->len;
    }
    int64_t id = vitte__xnames_intern(&p->strings, s, n);
    if (id < 0 || id >= (int64_t)UINT32_MAX) {
        p->err = VITTE_ENOMEM;
        return 0;
    }
    return (uint32_t)id;
}

static uint32_t function_id(pprof_sink *p, const char *name, const char *file)
{
    uint32_t nm = str_id(p, name != NULL ? name : "?");
    uint32_t fl = str_id(p, file);
    int created;
    uint64_t *v = vitte__xmap_upsert(&p->fn_index, (uint64_t)nm << 32 | fl, &created);
    if (v == NULL || p->err != 0)
        goto nomem;
    if (created) {
        if (reserve(&p->fn_name, &p->cap_fn, p->n_fn + 1, sizeof *p->fn_name) != VITTE_OK ||
            reserve(&p->fn_file, &p->cap_fn2, p->n_fn + 1, sizeof *p->fn_file) != VITTE_OK) {
            *v = 0; /* a tombstone: looked up again, it fails the same way */
            goto nomem;
        }
        p->fn_name[p->n_fn] = nm;
        p->fn_file[p->n_fn] = fl;
        *v = ++p->n_fn;
    }
    if (*v == 0)
        goto nomem;
    return (uint32_t)(*v - 1);
nomem:
    if (p->err == 0)
        p->err = VITTE_ENOMEM;
    return 0;
}

static int map_eq(const pprof_sink *p, uint32_t idx)
{
    const pmapping *a = &p->maps[idx], *b = &p->key_map;
    return a->start == b->start && a->limit == b->limit && a->offset == b->offset &&
           a->path == b->path && a->build_id == b->build_id;
}

/* The mapping of m as index + 1 (0: none, or out of memory with err set). */
static uint32_t mapping_id(pprof_sink *p, const vitte_trace_mapping *m)
{
    if (m == NULL)
        return 0;
    pmapping *k = &p->key_map;
    memset(k, 0, sizeof *k);
    k->start = m->start;
    k->limit = m->limit;
    k->offset = m->file_offset;
    k->path = str_id(p, m->path);
    k->build_id = str_id(p, m->build_id);
    if (p->err != 0)
        return 0;
    uint64_t h = mix(mix(mix(mix(mix(0, k->start), k->limit), k->offset), k->path), k->build_id);
    size_t at;
    uint32_t idx = ht_find(&p->map_index, p, h, map_eq, &at);
    if (idx != UINT32_MAX)
        return idx + 1;
    if (at == SIZE_MAX ||
        reserve(&p->maps, &p->cap_maps, p->n_maps + 1, sizeof *p->maps) != VITTE_OK) {
        p->err = VITTE_ENOMEM;
        return 0;
    }
    p->maps[p->n_maps] = *k;
    ht_set(&p->map_index, at, h, (uint32_t)p->n_maps);
    return (uint32_t)++p->n_maps;
}

static int loc_eq(const pprof_sink *p, uint32_t idx)
{
    const plocation *a = &p->locs[idx], *b = &p->key_loc;
    if (a->address != b->address || a->mapping != b->mapping || a->n_lines != b->n_lines)
        return 0;
    const pline *la = &p->lines[a->first_line];
    for (uint32_t i = 0; i < a->n_lines; i++)
        if (la[i].function != p->key_lines[i].function || la[i].line != p->key_lines[i].line)
            return 0;
    return 1;
}

/* The location of frames f[0..n) (inlined ones, then the one they were
 * inlined into): its index, with err set when out of memory. */
static uint32_t location_id(pprof_sink *p, const vitte_trace_frame *f, size_t n)
{
    const vitte_trace_frame *outer = &f[n - 1];
    if (reserve(&p->key_lines, &p->cap_key_lines, n, sizeof *p->key_lines) != VITTE_OK) {
        p->err = VITTE_ENOMEM;
        return 0;
    }
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        p->key_lines[i].function = function_id(p, f[i].function, f[i].file);
        p->key_lines[i].line = f[i].line;
        h = mix(h, (uint64_t)p->key_lines[i].function << 32 | f[i].line);
    }
    uint32_t map = mapping_id(p, outer->mapping);
    if (p->err != 0)
        return 0;
    p->key_loc = (plocation){outer->address, map, 0, (uint32_t)n};
    h = mix(mix(h, outer->address), map);
    size_t at;
    uint32_t idx = ht_find(&p->loc_index, p, h, loc_eq, &at);
    if (idx == UINT32_MAX) {
        if (at == SIZE_MAX || p->n_locs >= UINT32_MAX - 1 ||
            reserve(&p->locs, &p->cap_locs, p->n_locs + 1, sizeof *p->locs) != VITTE_OK ||
            reserve(&p->lines, &p->cap_lines, p->n_lines + n, sizeof *p->lines) != VITTE_OK) {
            p->err = VITTE_ENOMEM;
            return 0;
        }
        p->key_loc.first_line = (uint32_t)p->n_lines;
        memcpy(&p->lines[p->n_lines], p->key_lines, n * sizeof *p->lines);
        p->n_lines += n;
        p->locs[p->n_locs] = p->key_loc;
        idx = (uint32_t)p->n_locs++;
        ht_set(&p->loc_index, at, h, idx);
    }
    /* What the mapping's frames tell about its symbols. */
    if (map != 0) {
        pmapping *m = &p->maps[map - 1];
        for (size_t i = 0; i < n; i++) {
            m->has_functions |= f[i].symbolized != 0;
            m->has_filenames |= f[i].file != NULL && f[i].file[0] != '\0';
            m->has_line_numbers |= f[i].line != 0;
            /* Inline chains come with the line tables (DWARF): known
             * wherever line numbers are. */
            m->has_inline_frames |= f[i].line != 0 || f[i].inlined != 0;
        }
    }
    return idx;
}

static int sample_eq(const pprof_sink *p, uint32_t idx)
{
    const psample *a = &p->samples[idx];
    return a->thread == p->key_thread && a->n_locs == p->n_key_locs &&
           memcmp(&p->loc_pool[a->first_loc], p->key_locs, p->n_key_locs * sizeof *p->key_locs) ==
               0;
}

static uint32_t thread_id(pprof_sink *p, const vitte__xevent *e)
{
    int created;
    uint64_t *v =
        vitte__xmap_upsert(&p->thread_index, (uint64_t)e->stream << 32 | e->ev->tid, &created);
    if (v == NULL)
        goto nomem;
    if (created) {
        if (reserve(&p->threads, &p->cap_threads, p->n_threads + 1, sizeof *p->threads) !=
            VITTE_OK) {
            *v = 0;
            goto nomem;
        }
        p->threads[p->n_threads] = (pthread_key){e->stream, e->ev->tid, e->pid};
        *v = ++p->n_threads;
    }
    if (*v == 0)
        goto nomem;
    return (uint32_t)(*v - 1);
nomem:
    p->err = VITTE_ENOMEM;
    return 0;
}

static int pprof_event(vitte__xsink *s, const vitte__xevent *e)
{
    pprof_sink *p = (pprof_sink *)s;
    const vitte_trace_event *ev = e->ev;
    if (ev->type != VITTE_EVENT_SAMPLE)
        return 0;
    if (p->err != 0)
        return p->err;
    int kind = ev->sample_kind == VITTE_SAMPLE_WALL ? VITTE_SAMPLE_WALL : VITTE_SAMPLE_CPU;
    if (ev->sample_kind != VITTE_SAMPLE_CPU && ev->sample_kind != VITTE_SAMPLE_WALL)
        p->bad_kind++;
    if (p->first_kind < 0)
        p->first_kind = kind;

    /* The stack, leaf first, as locations. */
    static const vitte_trace_frame unknown = {"[unknown]", "", 0, 0, 0, 0, NULL};
    const vitte_trace_frame *fr = ev->frames;
    size_t nf = ev->frames != NULL ? ev->n_frames : 0;
    if (nf == 0) {
        /* Keep its weight: one frame that says so. */
        p->no_frames++;
        fr = &unknown;
        nf = 1;
    }
    p->n_key_locs = 0;
    uint64_t ckey = (uint64_t)e->stream << 32 | ev->id;
    int cacheable = ev->id != 0 && ev->id < UINT32_MAX && ev->n_frames > 0;
    const uint64_t *hit = cacheable ? vitte__xmap_find(&p->stack_cache, ckey) : NULL;
    if (hit != NULL) {
        uint64_t at = p->stack_at[*hit - 1];
        size_t first = (size_t)(at >> 32), n = (size_t)(at & 0xffffffffu);
        if (reserve(&p->key_locs, &p->cap_key_locs, n, sizeof *p->key_locs) != VITTE_OK)
            return p->err = VITTE_ENOMEM;
        memcpy(p->key_locs, &p->loc_pool[first], n * sizeof *p->key_locs);
        p->n_key_locs = n;
        nf = 0; /* skip the frames: their locations are known */
    }
    for (size_t i = 0; i < nf;) {
        size_t j = i;
        while (j + 1 < nf && fr[j].inlined)
            j++;
        uint32_t loc = location_id(p, &fr[i], j - i + 1);
        if (p->err != 0)
            return p->err;
        if (reserve(&p->key_locs, &p->cap_key_locs, p->n_key_locs + 1, sizeof *p->key_locs) !=
            VITTE_OK)
            return p->err = VITTE_ENOMEM;
        p->key_locs[p->n_key_locs++] = loc;
        i = j + 1;
    }
    if (cacheable && hit == NULL) {
        if (p->n_pool + p->n_key_locs >= UINT32_MAX ||
            reserve(&p->loc_pool, &p->cap_pool, p->n_pool + p->n_key_locs, sizeof *p->loc_pool) !=
                VITTE_OK ||
            reserve(&p->stack_at, &p->cap_stack_at, p->n_stack_at + 1, sizeof *p->stack_at) !=
                VITTE_OK)
            return p->err = VITTE_ENOMEM;
        uint64_t *slot = vitte__xmap_upsert(&p->stack_cache, ckey, NULL);
        if (slot == NULL)
            return p->err = VITTE_ENOMEM;
        memcpy(&p->loc_pool[p->n_pool], p->key_locs, p->n_key_locs * sizeof *p->key_locs);
        p->stack_at[p->n_stack_at++] = (uint64_t)p->n_pool << 32 | p->n_key_locs;
        *slot = p->n_stack_at;
        p->n_pool += p->n_key_locs;
    }
    p->key_thread = thread_id(p, e);
    if (p->err != 0)
        return p->err;
    uint64_t h = mix(0, p->key_thread);
    for (size_t i = 0; i < p->n_key_locs; i++)
        h = mix(h, p->key_locs[i]);
    size_t at;
    uint32_t idx = ht_find(&p->sample_index, p, h, sample_eq, &at);
    if (idx == UINT32_MAX) {
        if (at == SIZE_MAX || p->n_samples >= UINT32_MAX - 1 ||
            p->n_pool + p->n_key_locs >= UINT32_MAX ||
            reserve(&p->samples, &p->cap_samples, p->n_samples + 1, sizeof *p->samples) !=
                VITTE_OK ||
            reserve(&p->loc_pool, &p->cap_pool, p->n_pool + p->n_key_locs, sizeof *p->loc_pool) !=
                VITTE_OK)
            return p->err = VITTE_ENOMEM;
        memcpy(&p->loc_pool[p->n_pool], p->key_locs, p->n_key_locs * sizeof *p->key_locs);
        psample *sm = &p->samples[p->n_samples];
        memset(sm, 0, sizeof *sm);
        sm->first_loc = (uint32_t)p->n_pool;
        sm->n_locs = (uint32_t)p->n_key_locs;
        sm->thread = p->key_thread;
        p->n_pool += p->n_key_locs;
        idx = (uint32_t)p->n_samples++;
        ht_set(&p->sample_index, at, h, idx);
    }
    psample *sm = &p->samples[idx];
    sm->count++;
    sm->ns[kind] += ev->dur_ns;
    p->n_kind[kind]++;

    if (kind == p->first_kind) {
        uint64_t *w = vitte__xmap_find(&p->weights, ev->dur_ns);
        if (w == NULL && p->weights.n < MAX_WEIGHTS) {
            w = vitte__xmap_upsert(&p->weights, ev->dur_ns, NULL);
            if (w == NULL)
                return p->err = VITTE_ENOMEM;
        }
        if (w != NULL)
            (*w)++;
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

/* protobuf-c packs into this: each piece goes through deflate into out. */
typedef struct gz_writer {
    ProtobufCBuffer base;
    z_stream z;
    vitte__buf *out;
    int err;
} gz_writer;

static voidpf gz_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return vitte__calloc(items, size);
}

static void gz_free(voidpf opaque, voidpf ptr)
{
    (void)opaque;
    vitte__free(ptr);
}

static void gz_run(gz_writer *g, int flush)
{
    unsigned char chunk[16384];
    for (;;) {
        g->z.next_out = chunk;
        g->z.avail_out = sizeof chunk;
        int zrc = deflate(&g->z, flush);
        if (zrc == Z_STREAM_ERROR) {
            g->err = VITTE_ENOMEM;
            return;
        }
        vitte__buf_append(g->out, chunk, sizeof chunk - g->z.avail_out);
        if (flush == Z_FINISH ? zrc == Z_STREAM_END : g->z.avail_in == 0 && g->z.avail_out != 0)
            return;
        if (g->out->err != 0)
            return;
    }
}

static void gz_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    gz_writer *g = (gz_writer *)b;
    while (len > 0 && g->err == 0 && g->out->err == 0) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        g->z.next_in = (Bytef *)(uintptr_t)data;
        g->z.avail_in = n;
        gz_run(g, Z_NO_FLUSH);
        data += n;
        len -= n;
    }
}

/* The weight most samples of the first kind have (the smallest on a tie). */
static uint64_t common_weight(const pprof_sink *p)
{
    uint64_t best = 0, best_n = 0;
    for (size_t i = 0; i < p->weights.n; i++) {
        uint64_t w = p->weights.keys[i], n = p->weights.vals[i];
        if (n > best_n || (n == best_n && w < best)) {
            best = w;
            best_n = n;
        }
    }
    return best;
}

/* Does the basename of path look like a shared library ("libc.so.6")? */
static int is_library(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    return path[0] == '[' || strstr(base, ".so") != NULL;
}

/* Our own warnings: to on_warning, and into the profile's comments. */
static void note(pprof_sink *p, int64_t *comments, size_t *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void note(pprof_sink *p, int64_t *comments, size_t *n, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    const vitte_trace_export_options *o = p->base.opt;
    if (o->on_warning != NULL)
        o->on_warning(tmp, o->warning_ud);
    char line[280];
    snprintf(line, sizeof line, "warning: %s", tmp);
    comments[(*n)++] = str_id(p, line);
}

/* Everything finish() allocates for the message. */
typedef struct msg_store {
    Perftools__Profiles__ValueType vt[4], *vtp[3];
    Perftools__Profiles__Function *fn, **fnp;
    Perftools__Profiles__Mapping *map, **mapp;
    uint64_t *map_ids; /* mapping index -> id */
    Perftools__Profiles__Location *loc, **locp;
    Perftools__Profiles__Line *line, **linep;
    Perftools__Profiles__Label *label, **labelp; /* 3 per thread */
    size_t *n_labels;                            /* per thread */
    Perftools__Profiles__Sample *smp, **smpp;
    uint64_t *loc_ids;
    int64_t *values;
    int64_t *comments;
} msg_store;

static void store_free(msg_store *m)
{
    vitte__free(m->fn);
    vitte__free(m->fnp);
    vitte__free(m->map);
    vitte__free(m->mapp);
    vitte__free(m->map_ids);
    vitte__free(m->loc);
    vitte__free(m->locp);
    vitte__free(m->line);
    vitte__free(m->linep);
    vitte__free(m->label);
    vitte__free(m->labelp);
    vitte__free(m->n_labels);
    vitte__free(m->smp);
    vitte__free(m->smpp);
    vitte__free(m->loc_ids);
    vitte__free(m->values);
    vitte__free(m->comments);
}

static const char *thread_name(const vitte__xsummary *sum, uint32_t stream, uint32_t tid)
{
    for (size_t i = 0; i < sum->n_threads; i++)
        if (sum->threads[i].stream == stream && sum->threads[i].tid == tid)
            return sum->threads[i].name != NULL ? sum->threads[i].name : "";
    return "";
}

static int pprof_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    pprof_sink *p = (pprof_sink *)s;
    if (p->err != 0)
        return p->err;
    msg_store m;
    memset(&m, 0, sizeof m);
    int rc = VITTE_ENOMEM;

    /* Comments: the export's warnings, then ours (at most 4). */
    m.comments = vitte__calloc(sum->n_warnings + 4, sizeof *m.comments);
    if (m.comments == NULL)
        goto done;
    size_t n_comments = 0;
    for (size_t i = 0; i < sum->n_warnings; i++) {
        char line[600];
        snprintf(line, sizeof line, "warning: %s", sum->warnings[i]);
        m.comments[n_comments++] = str_id(p, line);
    }
    int first = p->first_kind >= 0 ? p->first_kind : VITTE_SAMPLE_CPU;
    int other = first == VITTE_SAMPLE_CPU ? VITTE_SAMPLE_WALL : VITTE_SAMPLE_CPU;
    if (p->n_samples == 0)
        note(p, m.comments, &n_comments,
             "no stack samples in the input: the pprof profile is empty (was the program "
             "run with the profiler?)");
    if (p->n_kind[other] != 0)
        note(p, m.comments, &n_comments,
             "%llu %s samples among %llu %s samples: they have a value type of their own",
             (unsigned long long)p->n_kind[other], other == VITTE_SAMPLE_CPU ? "cpu" : "wall",
             (unsigned long long)p->n_kind[first], first == VITTE_SAMPLE_CPU ? "cpu" : "wall");
    if (p->no_frames != 0)
        note(p, m.comments, &n_comments,
             "%llu samples had no stack: they are counted under \"[unknown]\"",
             (unsigned long long)p->no_frames);
    if (p->bad_kind != 0)
        note(p, m.comments, &n_comments,
             "%llu samples of an unknown kind were counted as cpu samples",
             (unsigned long long)p->bad_kind);

    /* Value types: samples/count, the first kind, the other kind if met. */
    static const char *const kind_name[2] = {"cpu", "wall"};
    size_t n_types = p->n_kind[other] != 0 ? 3 : 2;
    int col_kind[3] = {-1, first, other}; /* what each value column holds */
    uint32_t s_samples = str_id(p, "samples"), s_count = str_id(p, "count");
    uint32_t s_ns = str_id(p, "nanoseconds");
    uint32_t s_kind[2] = {str_id(p, kind_name[0]), str_id(p, kind_name[1])};
    for (size_t i = 0; i < 4; i++)
        perftools__profiles__value_type__init(&m.vt[i]);
    m.vt[0].type = s_samples;
    m.vt[0].unit = s_count;
    for (size_t i = 1; i < n_types; i++) {
        m.vt[i].type = s_kind[col_kind[i]];
        m.vt[i].unit = s_ns;
    }
    for (size_t i = 0; i < n_types; i++)
        m.vtp[i] = &m.vt[i];
    m.vt[3].type = s_kind[first]; /* period type */
    m.vt[3].unit = s_ns;

    /* Thread labels, shared by the samples of a thread. */
    uint32_t s_thread = str_id(p, "thread"), s_tid = str_id(p, "tid"), s_pid = str_id(p, "pid");
    size_t nth = p->n_threads != 0 ? p->n_threads : 1;
    m.label = vitte__calloc(nth * 3, sizeof *m.label);
    m.labelp = vitte__calloc(nth * 3, sizeof *m.labelp);
    m.n_labels = vitte__calloc(nth, sizeof *m.n_labels);
    if (m.label == NULL || m.labelp == NULL || m.n_labels == NULL)
        goto done;
    for (size_t i = 0; i < p->n_threads; i++) {
        const pthread_key *t = &p->threads[i];
        Perftools__Profiles__Label *l = &m.label[i * 3];
        size_t k = 0;
        const char *name = thread_name(sum, t->stream, t->tid);
        if (name[0] != '\0') {
            perftools__profiles__label__init(&l[k]);
            l[k].key = s_thread;
            l[k++].str = str_id(p, name);
        }
        perftools__profiles__label__init(&l[k]);
        l[k].key = s_tid;
        l[k++].num = t->tid;
        perftools__profiles__label__init(&l[k]);
        l[k].key = s_pid;
        l[k++].num = t->pid;
        for (size_t j = 0; j < k; j++)
            m.labelp[i * 3 + j] = &l[j];
        m.n_labels[i] = k;
    }
    if (p->err != 0) {
        rc = p->err;
        goto done;
    }

    /* Functions. */
    size_t nfn = p->n_fn != 0 ? p->n_fn : 1;
    m.fn = vitte__calloc(nfn, sizeof *m.fn);
    m.fnp = vitte__calloc(nfn, sizeof *m.fnp);
    if (m.fn == NULL || m.fnp == NULL)
        goto done;
    for (size_t i = 0; i < p->n_fn; i++) {
        Perftools__Profiles__Function *f = &m.fn[i];
        perftools__profiles__function__init(f);
        f->id = i + 1;
        f->name = f->system_name = p->fn_name[i];
        f->filename = p->fn_file[i];
        m.fnp[i] = f;
    }

    /* Mappings: the main binary first (pprof names the profile after
     * mapping[0]): the lowest mapping that is no shared library. */
    size_t nmap = p->n_maps != 0 ? p->n_maps : 1;
    m.map = vitte__calloc(nmap, sizeof *m.map);
    m.mapp = vitte__calloc(nmap, sizeof *m.mapp);
    m.map_ids = vitte__calloc(nmap, sizeof *m.map_ids);
    if (m.map == NULL || m.mapp == NULL || m.map_ids == NULL)
        goto done;
    size_t main_map = SIZE_MAX;
    for (size_t i = 0; i < p->n_maps; i++) {
        const pmapping *pm = &p->maps[i];
        if (is_library(p->strings.str[pm->path]))
            continue;
        if (main_map == SIZE_MAX || pm->start < p->maps[main_map].start)
            main_map = i;
    }
    uint64_t next_id = 1;
    if (main_map != SIZE_MAX)
        m.map_ids[main_map] = next_id++;
    for (size_t i = 0; i < p->n_maps; i++)
        if (i != main_map)
            m.map_ids[i] = next_id++;
    for (size_t i = 0; i < p->n_maps; i++) {
        const pmapping *pm = &p->maps[i];
        Perftools__Profiles__Mapping *x = &m.map[m.map_ids[i] - 1];
        perftools__profiles__mapping__init(x);
        x->id = m.map_ids[i];
        x->memory_start = pm->start;
        x->memory_limit = pm->limit;
        x->file_offset = pm->offset;
        x->filename = pm->path;
        x->build_id = pm->build_id;
        x->has_functions = pm->has_functions;
        x->has_filenames = pm->has_filenames;
        x->has_line_numbers = pm->has_line_numbers;
        x->has_inline_frames = pm->has_inline_frames;
        m.mapp[x->id - 1] = x;
    }

    /* Locations and their lines. */
    size_t nloc = p->n_locs != 0 ? p->n_locs : 1;
    size_t nline = p->n_lines != 0 ? p->n_lines : 1;
    m.loc = vitte__calloc(nloc, sizeof *m.loc);
    m.locp = vitte__calloc(nloc, sizeof *m.locp);
    m.line = vitte__calloc(nline, sizeof *m.line);
    m.linep = vitte__calloc(nline, sizeof *m.linep);
    if (m.loc == NULL || m.locp == NULL || m.line == NULL || m.linep == NULL)
        goto done;
    for (size_t i = 0; i < p->n_lines; i++) {
        perftools__profiles__line__init(&m.line[i]);
        m.line[i].function_id = (uint64_t)p->lines[i].function + 1;
        m.line[i].line = p->lines[i].line;
        m.linep[i] = &m.line[i];
    }
    for (size_t i = 0; i < p->n_locs; i++) {
        const plocation *pl = &p->locs[i];
        Perftools__Profiles__Location *x = &m.loc[i];
        perftools__profiles__location__init(x);
        x->id = i + 1;
        x->mapping_id = pl->mapping != 0 ? m.map_ids[pl->mapping - 1] : 0;
        x->address = pl->address;
        x->n_line = pl->n_lines;
        x->line = &m.linep[pl->first_line];
        m.locp[i] = x;
    }

    /* Samples. */
    size_t nsm = p->n_samples != 0 ? p->n_samples : 1;
    m.smp = vitte__calloc(nsm, sizeof *m.smp);
    m.smpp = vitte__calloc(nsm, sizeof *m.smpp);
    m.loc_ids = vitte__calloc(p->n_pool != 0 ? p->n_pool : 1, sizeof *m.loc_ids);
    m.values = vitte__calloc(nsm, n_types * sizeof *m.values);
    if (m.smp == NULL || m.smpp == NULL || m.loc_ids == NULL || m.values == NULL)
        goto done;
    for (size_t i = 0; i < p->n_pool; i++)
        m.loc_ids[i] = (uint64_t)p->loc_pool[i] + 1;
    for (size_t i = 0; i < p->n_samples; i++) {
        const psample *ps = &p->samples[i];
        Perftools__Profiles__Sample *x = &m.smp[i];
        perftools__profiles__sample__init(x);
        x->n_location_id = ps->n_locs;
        x->location_id = &m.loc_ids[ps->first_loc];
        x->n_value = n_types;
        x->value = &m.values[i * n_types];
        x->value[0] = (int64_t)ps->count;
        for (size_t k = 1; k < n_types; k++)
            x->value[k] = (int64_t)ps->ns[col_kind[k]];
        x->n_label = m.n_labels[ps->thread];
        x->label = &m.labelp[ps->thread * 3];
        m.smpp[i] = x;
    }
    if (p->err != 0) {
        rc = p->err;
        goto done;
    }

    Perftools__Profiles__Profile prof;
    perftools__profiles__profile__init(&prof);
    prof.n_sample_type = n_types;
    prof.sample_type = m.vtp;
    prof.n_sample = p->n_samples;
    prof.sample = m.smpp;
    prof.n_mapping = p->n_maps;
    prof.mapping = m.mapp;
    prof.n_location = p->n_locs;
    prof.location = m.locp;
    prof.n_function = p->n_fn;
    prof.function = m.fnp;
    prof.n_string_table = p->strings.n;
    prof.string_table = (char **)(uintptr_t)p->strings.str;
    prof.time_nanos = sum->start_realtime_ns;
    prof.duration_nanos = sum->duration_ns <= INT64_MAX ? (int64_t)sum->duration_ns : INT64_MAX;
    prof.period_type = &m.vt[3];
    uint64_t period = common_weight(p);
    prof.period = period <= INT64_MAX ? (int64_t)period : 0;
    prof.n_comment = n_comments;
    prof.comment = m.comments;
    if (n_types == 3)
        prof.default_sample_type = s_kind[first];

    gz_writer g;
    memset(&g, 0, sizeof g);
    g.base.append = gz_append;
    g.out = s->out;
    g.z.zalloc = gz_alloc;
    g.z.zfree = gz_free;
    /* 15 + 16: the gzip wrapper (mtime 0: the same input gives the same bytes). */
    if (deflateInit2(&g.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        goto done;
    perftools__profiles__profile__pack_to_buffer(&prof, &g.base);
    if (g.err == 0 && s->out->err == 0) {
        g.z.next_in = NULL;
        g.z.avail_in = 0;
        gz_run(&g, Z_FINISH);
    }
    deflateEnd(&g.z);
    rc = g.err != 0 ? g.err : s->out->err;

done:
    store_free(&m);
    return rc;
}

static void pprof_destroy(vitte__xsink *s)
{
    pprof_sink *p = (pprof_sink *)s;
    vitte__xnames_fini(&p->strings);
    vitte__buf_free(&p->scratch);
    vitte__xmap_fini(&p->fn_index);
    vitte__free(p->fn_name);
    vitte__free(p->fn_file);
    vitte__free(p->map_index.slot);
    vitte__free(p->maps);
    vitte__free(p->loc_index.slot);
    vitte__free(p->locs);
    vitte__free(p->lines);
    vitte__free(p->sample_index.slot);
    vitte__free(p->samples);
    vitte__free(p->loc_pool);
    vitte__xmap_fini(&p->thread_index);
    vitte__free(p->threads);
    vitte__xmap_fini(&p->weights);
    vitte__xmap_fini(&p->stack_cache);
    vitte__free(p->stack_at);
    vitte__free(p->key_lines);
    vitte__free(p->key_locs);
    vitte__free(p);
}

static const vitte__xsink_ops pprof_ops = {pprof_event, NULL, NULL, pprof_finish, pprof_destroy};

int vitte__export_pprof_create(vitte__buf *out, const vitte_trace_export_options *opt,
                               vitte__xsink **sink)
{
    pprof_sink *p = vitte__calloc(1, sizeof *p);
    if (p == NULL)
        return VITTE_ENOMEM;
    p->base = (vitte__xsink){&pprof_ops, out, opt};
    vitte__xnames_init(&p->strings);
    vitte__buf_init(&p->scratch);
    vitte__xmap_init(&p->fn_index);
    vitte__xmap_init(&p->thread_index);
    vitte__xmap_init(&p->weights);
    vitte__xmap_init(&p->stack_cache);
    p->first_kind = -1;
    /* string_table[0] must be "". */
    if (vitte__xnames_intern(&p->strings, "", 0) != 0) {
        pprof_destroy(&p->base);
        return VITTE_ENOMEM;
    }
    *sink = &p->base;
    return VITTE_OK;
}
