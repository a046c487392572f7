/* Writing sampled call stacks into .vittrace 1.1 chunks (profw.h,
 * docs/formats/vittrace.md "Samples"). */
#include "prof/profw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vitte/clock.h>
#include <vitte/common.h>
#include <vitte/trace.h>
#include <vitte/version.h>

#include "common/alloc.h"
#include "common/strmap.h"
#include "format/vittrace_codec.h"
#include "format/vittrace_write.h"
#include "prof/symbolize.h"

#define SAMPLES_CHUNK_MAX (256u << 10)

/* u64 -> u32 open-addressing map (key 0 is reserved: keys are made non-zero). */
struct u64map {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
};

struct mapping {
    uint32_t id, pid, gen;
    uint64_t start, limit, pgoff;
    char *path;
    uint8_t bid[64];
    size_t bid_len;
    int active;
};

struct loc {
    uint32_t mapping; /* index + 1, 0 = none */
    uint64_t address; /* as given, after the -1 of return addresses */
};

struct pidgen {
    uint32_t pid, gen;
};

/* SYMBOLS is self-contained (its own string table) so that a reader can
 * load it before the chunks that come ahead of it. */
struct symstr {
    struct vitte__strmap map;
    struct vitte__bytes tab;
    uint32_t n;
};

struct vitte__profw {
    struct vitte__vtw *w;
    char *path;
    struct mapping *maps;
    size_t n_maps, cap_maps;
    size_t last_map; /* lookup cache */
    struct pidgen *gens;
    size_t n_gens, cap_gens;
    struct vitte__strmap locs; /* (pid, gen, address) -> loc id */
    struct loc *loc;           /* by loc id - 1 */
    size_t n_loc, cap_loc;
    struct u64map stacks; /* (parent << 32 | loc) -> stack id */
    uint32_t n_stacks;
    /* queued definitions */
    struct vitte__bytes d_maps, d_locs, d_stacks;
    uint32_t n_d_maps, n_d_locs, n_d_stacks;
    /* the SAMPLES chunk being built */
    struct vitte__bytes smp;
    uint32_t smp_pid, smp_count;
    uint64_t smp_base, smp_ts;
    uint64_t samples, last_ts;
    /* counter tracks: sites with stable addresses, and their events */
    struct vitte__strmap csites; /* "module\0name" -> struct vitte_srcloc * */
    struct vitte_srcloc **cloc;
    size_t n_cloc, cap_cloc;
    struct vitte__vtw_events cev;
    vitte__profw_counts counts;
    int counts_dirty;
    /* symbolization, possibly done a little at a time while recording */
    vitte__symbolizer *sym;
    struct symstr sst;
    struct vitte__bytes srecs; /* SYMBOLS records so far */
    uint32_t n_srecs;
    size_t sym_next; /* locations below this one are done */
    int err;
};

/* ---- small containers ---------------------------------------------------------- */

static void put_str(struct vitte__bytes *b, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n > 65535)
        n = 65535;
    vitte__bytes_varint(b, n);
    vitte__bytes_put(b, s, n);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    return x;
}

static uint32_t *u64map_slot(struct u64map *m, uint64_t k)
{
    for (size_t i = mix(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k || m->keys[i] == 0) {
            m->keys[i] = k;
            return &m->vals[i];
        }
    }
}

/* The value slot of k (0 when new), or NULL when out of memory. */
static uint32_t *u64map_get(struct u64map *m, uint64_t k)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        struct u64map nm = {vitte__calloc(cap, 8), vitte__calloc(cap, 4), cap, m->n};
        if (nm.keys == NULL || nm.vals == NULL) {
            vitte__free(nm.keys);
            vitte__free(nm.vals);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != 0)
                *u64map_slot(&nm, m->keys[i]) = m->vals[i];
        vitte__free(m->keys);
        vitte__free(m->vals);
        *m = nm;
    }
    return u64map_slot(m, k);
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return VITTE_OK;
    size_t c = *cap ? *cap * 2 : 16;
    void *q = vitte__realloc(*p, c * size);
    if (q == NULL)
        return VITTE_ENOMEM;
    *p = q;
    *cap = c;
    return VITTE_OK;
}

/* ---- opening ----------------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vitte__profw_open(const vitte__profw_options *o, vitte__profw **out, char err[256])
{
    *out = NULL;
    err[0] = '\0';
    if (o == NULL || o->path == NULL || o->path[0] == '\0') {
        snprintf(err, 256, "no output file");
        return VITTE_EINVAL;
    }
    vitte__profw *w = vitte__calloc(1, sizeof *w);
    if (w == NULL || (w->path = vitte__strdup(o->path)) == NULL) {
        vitte__free(w);
        return VITTE_ENOMEM;
    }
    vitte__strmap_init(&w->locs);
    vitte__strmap_init(&w->csites);
    vitte__vtw_ev_init(&w->cev, o->pid);
    int fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        snprintf(err, 256, "cannot create %s: %s", o->path, strerror(e));
        vitte__strmap_fini(&w->locs);
        vitte__strmap_fini(&w->csites);
        vitte__free(w->path);
        vitte__free(w);
        return e == EACCES || e == EPERM ? VITTE_EPERM : e == ENOENT ? VITTE_ENOENT : VITTE_EIO;
    }
    vitte_clock_info ci;
    vitte_clock_get_info(&ci, 1);
    struct vitte__vtw_header h = {o->pid,
                                  ci.source == VITTE_CLOCK_TSC,
                                  vitte_now_ns(),
                                  (int64_t)clock_ns(CLOCK_REALTIME),
                                  clock_ns(CLOCK_MONOTONIC),
                                  ci.tsc_hz};
    int rc = vitte__vtw_open(fd, &h, o->zstd_level > 0 ? o->zstd_level : 3, &w->w);
    if (rc != VITTE_OK) {
        if (rc != VITTE_ENOMEM)
            close(fd);
        snprintf(err, 256, "cannot write %s: %s", o->path, vitte_strerror(rc));
        vitte__strmap_fini(&w->locs);
        vitte__strmap_fini(&w->csites);
        vitte__free(w->path);
        vitte__free(w);
        return rc;
    }
    vitte__vtw_info(w->w, "vitte_version", VITTE_VERSION_STRING);
    vitte__vtw_info(w->w, "clock", vitte_clock_source_name(ci.source));
    if (o->process_name != NULL)
        vitte__vtw_info(w->w, "process", o->process_name);
    if (o->cmdline != NULL)
        vitte__vtw_info(w->w, "cmdline", o->cmdline);
    char buf[256];
    if (gethostname(buf, sizeof buf) == 0) {
        buf[sizeof buf - 1] = '\0';
        vitte__vtw_info(w->w, "host", buf);
    }
    if (o->sampler != NULL)
        vitte__vtw_info(w->w, "sampler", o->sampler);
    if (o->call_graph != NULL)
        vitte__vtw_info(w->w, "call_graph", o->call_graph);
    if (o->freq_hz > 0) {
        snprintf(buf, sizeof buf, "%u", o->freq_hz);
        vitte__vtw_info(w->w, "sample_freq", buf);
    }
    w->err = vitte__vtw_error(w->w);
    *out = w;
    return VITTE_OK;
}

/* ---- mappings ------------------------------------------------------------------------ */

static uint32_t pid_gen(vitte__profw *w, uint32_t pid)
{
    for (size_t i = 0; i < w->n_gens; i++)
        if (w->gens[i].pid == pid)
            return w->gens[i].gen;
    return 0;
}

void vitte__profw_exec(vitte__profw *w, uint32_t pid)
{
    for (size_t i = 0; i < w->n_maps; i++)
        if (w->maps[i].pid == pid)
            w->maps[i].active = 0;
    for (size_t i = 0; i < w->n_gens; i++)
        if (w->gens[i].pid == pid) {
            w->gens[i].gen++;
            return;
        }
    if (grow((void **)&w->gens, &w->cap_gens, w->n_gens, sizeof *w->gens) == VITTE_OK)
        w->gens[w->n_gens++] = (struct pidgen){pid, 1};
}

int vitte__profw_mapping(vitte__profw *w, uint32_t pid, uint64_t start, uint64_t limit,
                         uint64_t pgoff, const char *path, const uint8_t *build_id, size_t bid_len)
{
    if (limit <= start || path == NULL)
        return VITTE_EINVAL;
    if (bid_len > 64)
        bid_len = 64;
    /* An identical active mapping is not repeated (samplers rescan). */
    for (size_t i = 0; i < w->n_maps; i++) {
        struct mapping *m = &w->maps[i];
        if (m->active && m->pid == pid && m->start == start && m->limit == limit &&
            m->pgoff == pgoff && strcmp(m->path, path) == 0)
            return VITTE_OK;
    }
    /* Older mappings overlapping this one are gone. */
    for (size_t i = 0; i < w->n_maps; i++) {
        struct mapping *m = &w->maps[i];
        if (m->active && m->pid == pid && m->start < limit && start < m->limit)
            m->active = 0;
    }
    if (grow((void **)&w->maps, &w->cap_maps, w->n_maps, sizeof *w->maps) != VITTE_OK)
        return VITTE_ENOMEM;
    struct mapping *m = &w->maps[w->n_maps];
    memset(m, 0, sizeof *m);
    if ((m->path = vitte__strdup(path)) == NULL)
        return VITTE_ENOMEM;
    m->id = (uint32_t)w->n_maps + 1;
    m->pid = pid;
    m->gen = pid_gen(w, pid);
    m->start = start;
    m->limit = limit;
    m->pgoff = pgoff;
    if (build_id != NULL && bid_len > 0)
        memcpy(m->bid, build_id, bid_len);
    m->bid_len = build_id != NULL ? bid_len : 0;
    m->active = 1;
    w->n_maps++;
    if (vitte__bytes_reserve(&w->d_maps, strlen(path) + 140) != VITTE_OK)
        return VITTE_ENOMEM;
    vitte__bytes_varint(&w->d_maps, m->id);
    vitte__bytes_varint(&w->d_maps, pid);
    vitte__bytes_varint(&w->d_maps, start);
    vitte__bytes_varint(&w->d_maps, limit);
    vitte__bytes_varint(&w->d_maps, pgoff);
    put_str(&w->d_maps, path);
    vitte__bytes_varint(&w->d_maps, m->bid_len);
    vitte__bytes_put(&w->d_maps, m->bid, m->bid_len);
    w->n_d_maps++;
    return VITTE_OK;
}

static uint32_t find_mapping(vitte__profw *w, uint32_t pid, uint64_t ip)
{
    if (w->last_map < w->n_maps) {
        const struct mapping *m = &w->maps[w->last_map];
        if (m->active && m->pid == pid && ip >= m->start && ip < m->limit)
            return m->id;
    }
    for (size_t i = w->n_maps; i-- > 0;) {
        const struct mapping *m = &w->maps[i];
        if (m->active && m->pid == pid && ip >= m->start && ip < m->limit) {
            w->last_map = i;
            return m->id;
        }
    }
    return 0;
}

int vitte__profw_thread(vitte__profw *w, uint32_t pid, uint32_t tid, const char *name)
{
    (void)pid;
    int rc = vitte__vtw_thread(w->w, tid, name != NULL ? name : "");
    if (rc != VITTE_OK && w->err == VITTE_OK)
        w->err = rc;
    return rc;
}

/* ---- samples ------------------------------------------------------------------------- */

static uint32_t intern_loc(vitte__profw *w, uint32_t pid, uint64_t addr)
{
    unsigned char key[16];
    uint32_t gen = pid_gen(w, pid);
    memcpy(key, &pid, 4);
    memcpy(key + 4, &gen, 4);
    memcpy(key + 8, &addr, 8);
    void *v = vitte__strmap_get(&w->locs, (const char *)key, sizeof key);
    if (v != NULL)
        return (uint32_t)(uintptr_t)v;
    if (grow((void **)&w->loc, &w->cap_loc, w->n_loc, sizeof *w->loc) != VITTE_OK ||
        vitte__bytes_reserve(&w->d_locs, 40) != VITTE_OK)
        return 0;
    uint32_t id = (uint32_t)w->n_loc + 1;
    if (vitte__strmap_put(&w->locs, (const char *)key, sizeof key, (void *)(uintptr_t)id) !=
        VITTE_OK)
        return 0;
    uint32_t map = find_mapping(w, pid, addr);
    if (map == 0)
        w->counts.mappings_unknown++;
    w->loc[w->n_loc++] = (struct loc){map, addr};
    vitte__bytes_varint(&w->d_locs, id);
    vitte__bytes_varint(&w->d_locs, map);
    vitte__bytes_varint(&w->d_locs, addr);
    w->n_d_locs++;
    return id;
}

static uint32_t intern_stack(vitte__profw *w, uint32_t parent, uint32_t loc)
{
    uint32_t *slot = u64map_get(&w->stacks, ((uint64_t)parent << 32 | loc) + 1);
    if (slot == NULL)
        return 0;
    if (*slot != 0)
        return *slot;
    if (vitte__bytes_reserve(&w->d_stacks, 20) != VITTE_OK)
        return 0;
    uint32_t id = ++w->n_stacks;
    *slot = id;
    w->stacks.n++;
    vitte__bytes_varint(&w->d_stacks, id);
    vitte__bytes_varint(&w->d_stacks, parent);
    vitte__bytes_varint(&w->d_stacks, loc);
    w->n_d_stacks++;
    return id;
}

static int flush_defs(vitte__profw *w, int type, struct vitte__bytes *d, uint32_t *n)
{
    if (*n == 0)
        return VITTE_OK;
    struct vitte__bytes out = {0};
    int rc = vitte__bytes_reserve(&out, d->len + 10);
    if (rc == VITTE_OK) {
        vitte__bytes_varint(&out, *n);
        vitte__bytes_put(&out, d->p, d->len);
        rc = vitte__vtw_chunk(w->w, type, out.p, out.len);
    }
    vitte__free(out.p);
    d->len = 0;
    *n = 0;
    return rc;
}

static int flush_samples(vitte__profw *w)
{
    int rc = flush_defs(w, VITTE__CH_MAPPINGS, &w->d_maps, &w->n_d_maps);
    if (rc == VITTE_OK)
        rc = flush_defs(w, VITTE__CH_LOCATIONS, &w->d_locs, &w->n_d_locs);
    if (rc == VITTE_OK)
        rc = flush_defs(w, VITTE__CH_STACKS, &w->d_stacks, &w->n_d_stacks);
    if (rc == VITTE_OK && w->cev.count > 0)
        rc = vitte__vtw_ev_flush(w->w, &w->cev);
    if (rc == VITTE_OK && w->smp_count > 0) {
        struct vitte__bytes out = {0};
        rc = vitte__bytes_reserve(&out, w->smp.len + 40);
        if (rc == VITTE_OK) {
            vitte__bytes_varint(&out, w->smp_pid);
            vitte__bytes_varint(&out, w->smp_count);
            vitte__bytes_varint(&out, w->smp_base);
            vitte__bytes_put(&out, w->smp.p, w->smp.len);
            rc = vitte__vtw_chunk(w->w, VITTE__CH_SAMPLES, out.p, out.len);
        }
        vitte__free(out.p);
    }
    w->smp.len = 0;
    w->smp_count = 0;
    if (rc != VITTE_OK && w->err == VITTE_OK)
        w->err = rc;
    return rc;
}

int vitte__profw_sample(vitte__profw *w, uint32_t pid, uint32_t tid, uint64_t ts_ns,
                        uint64_t weight_ns, int kind, const uint64_t *ips, size_t n)
{
    if (w->err != VITTE_OK)
        return w->err;
    uint32_t stack = 0;
    for (size_t i = n; i-- > 0;) {
        uint64_t a = ips[i];
        if (i > 0 && a > 0)
            a--; /* a return address: the call is the byte before */
        uint32_t loc = intern_loc(w, pid, a);
        if (loc == 0 || (stack = intern_stack(w, stack, loc)) == 0)
            return VITTE_ENOMEM;
    }
    if (w->smp_count > 0 && (w->smp_pid != pid || w->smp.len >= SAMPLES_CHUNK_MAX)) {
        int rc = flush_samples(w);
        if (rc != VITTE_OK)
            return rc;
    }
    if (vitte__bytes_reserve(&w->smp, 50) != VITTE_OK)
        return VITTE_ENOMEM;
    if (w->smp_count == 0) {
        w->smp_pid = pid;
        w->smp_base = w->smp_ts = ts_ns;
    }
    vitte__bytes_varint(&w->smp, tid);
    w->smp.p[w->smp.len++] = (unsigned char)kind;
    vitte__bytes_varint(&w->smp, vitte__zigzag((int64_t)(ts_ns - w->smp_ts)));
    w->smp_ts = ts_ns;
    vitte__bytes_varint(&w->smp, stack);
    vitte__bytes_varint(&w->smp, weight_ns);
    w->smp_count++;
    w->samples++;
    if (ts_ns > w->last_ts)
        w->last_ts = ts_ns;
    return VITTE_OK;
}

int vitte__profw_counter(vitte__profw *w, uint32_t tid, const char *name, const char *module,
                         uint64_t ts_ns, double value)
{
    size_t nl = strlen(name), ml = strlen(module);
    char key[512];
    if (nl + ml + 2 > sizeof key)
        return VITTE_EINVAL;
    memcpy(key, module, ml + 1);
    memcpy(key + ml + 1, name, nl + 1);
    struct vitte_srcloc *loc = vitte__strmap_get(&w->csites, key, nl + ml + 2);
    if (loc == NULL) {
        if (grow((void **)&w->cloc, &w->cap_cloc, w->n_cloc, sizeof *w->cloc) != VITTE_OK ||
            (loc = vitte__calloc(1, sizeof *loc + nl + ml + 2)) == NULL)
            return VITTE_ENOMEM;
        char *mem = (char *)(loc + 1);
        memcpy(mem, key, nl + ml + 2);
        loc->module = mem;
        loc->name = mem + ml + 1;
        loc->func = loc->file = loc->tags = "";
        w->cloc[w->n_cloc++] = loc;
        if (vitte__strmap_put(&w->csites, key, nl + ml + 2, loc) != VITTE_OK)
            return VITTE_ENOMEM;
    }
    uint32_t site = vitte__vtw_site(w->w, loc);
    if (site == 0)
        return VITTE_ENOMEM;
    if (w->cev.count > 0 && w->cev.tid != tid) {
        int rc = vitte__vtw_ev_flush(w->w, &w->cev);
        if (rc != VITTE_OK)
            return rc;
    }
    w->cev.tid = tid;
    return vitte__vtw_ev_counter(&w->cev, site, ts_ns, value);
}

uint64_t vitte__profw_samples(const vitte__profw *w)
{
    return w->samples;
}

void vitte__profw_set_counts(vitte__profw *w, const vitte__profw_counts *c)
{
    uint64_t unknown = w->counts.mappings_unknown;
    w->counts = *c;
    w->counts.mappings_unknown = unknown + c->mappings_unknown;
    w->counts_dirty = 1;
}

int vitte__profw_info(vitte__profw *w, const char *key, const char *value)
{
    return vitte__vtw_info(w->w, key, value);
}

static void write_counts(vitte__profw *w)
{
    char buf[32];
    static const char *const keys[] = {"prof_samples",   "prof_lost",      "prof_unwind_failed",
                                       "prof_truncated", "prof_throttled", "prof_unknown_mappings"};
    uint64_t v[] = {w->samples,          w->counts.lost,      w->counts.unwind_failed,
                    w->counts.truncated, w->counts.throttled, w->counts.mappings_unknown};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v[i]);
        vitte__vtw_info(w->w, keys[i], buf);
    }
    w->counts_dirty = 0;
}

int vitte__profw_flush(vitte__profw *w)
{
    int rc = flush_samples(w);
    if (rc == VITTE_OK && w->counts_dirty)
        write_counts(w);
    return rc != VITTE_OK ? rc : vitte__vtw_error(w->w);
}

/* ---- symbols ------------------------------------------------------------------------- */

static uint32_t symstr_id(struct symstr *t, const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    if (n > 65535)
        n = 65535;
    void *v = vitte__strmap_get(&t->map, s, n);
    if (v != NULL)
        return (uint32_t)(uintptr_t)v;
    if (vitte__bytes_reserve(&t->tab, n + 10) != VITTE_OK ||
        vitte__strmap_put(&t->map, s, n, (void *)(uintptr_t)(t->n + 1)) != VITTE_OK)
        return UINT32_MAX;
    vitte__bytes_varint(&t->tab, n);
    vitte__bytes_put(&t->tab, s, n);
    return ++t->n;
}

/* Symbolize locations [w->sym_next, end) into the pending SYMBOLS records. */
static int sym_upto(vitte__profw *w, const char *const *dirs, size_t n_dirs, size_t end,
                    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg)
{
    if (w->sym == NULL) {
        vitte__symbolizer_options so = {dirs, n_dirs};
        if ((w->sym = vitte__symbolizer_create(&so)) == NULL)
            return VITTE_ENOMEM;
        vitte__strmap_init(&w->sst.map);
    }
    for (size_t i = w->sym_next; i < end; i++) {
        if (progress != NULL && (i & 1023) == 0)
            progress(arg, i, w->n_loc);
        const struct loc *l = &w->loc[i];
        w->sym_next = i + 1;
        if (l->mapping == 0)
            continue;
        const struct mapping *m = &w->maps[l->mapping - 1];
        const vitte__symframe *f;
        int n = vitte__symbolize(w->sym, m->path, m->bid, m->bid_len,
                                 l->address - m->start + m->pgoff, &f);
        if (n < 0)
            return VITTE_ENOMEM;
        if (n == 0)
            continue;
        if (vitte__bytes_reserve(&w->srecs, 20 + (size_t)n * 24) != VITTE_OK)
            return VITTE_ENOMEM;
        vitte__bytes_varint(&w->srecs, i + 1);
        vitte__bytes_varint(&w->srecs, (uint64_t)n);
        for (int k = 0; k < n; k++) {
            uint32_t fn = symstr_id(&w->sst, f[k].function), fl = symstr_id(&w->sst, f[k].file);
            if (fn == UINT32_MAX || fl == UINT32_MAX)
                return VITTE_ENOMEM;
            vitte__bytes_varint(&w->srecs, fn);
            vitte__bytes_varint(&w->srecs, fl);
            vitte__bytes_varint(&w->srecs, f[k].line);
            w->srecs.p[w->srecs.len++] = f[k].inlined;
        }
        w->n_srecs++;
    }
    return VITTE_OK;
}

static void sym_free(vitte__profw *w)
{
    if (w->sym == NULL)
        return;
    vitte__free(w->srecs.p);
    vitte__free(w->sst.tab.p);
    vitte__strmap_fini(&w->sst.map);
    vitte__symbolizer_destroy(w->sym);
    w->sym = NULL;
}

int vitte__profw_symbolize_some(vitte__profw *w, const char *const *dirs, size_t n_dirs, size_t max)
{
    size_t end = w->n_loc - w->sym_next > max ? w->sym_next + max : w->n_loc;
    return end > w->sym_next ? sym_upto(w, dirs, n_dirs, end, NULL, NULL) : VITTE_OK;
}

int vitte__profw_symbolize(vitte__profw *w, const char *const *dirs, size_t n_dirs,
                           void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg)
{
    int rc = flush_samples(w);
    if (rc != VITTE_OK)
        return rc;
    if (w->n_loc == 0)
        return VITTE_OK;
    rc = sym_upto(w, dirs, n_dirs, w->n_loc, progress, arg);
    if (progress != NULL)
        progress(arg, w->n_loc, w->n_loc);
    if (rc == VITTE_OK) {
        struct vitte__bytes out = {0};
        rc = vitte__bytes_reserve(&out, w->sst.tab.len + w->srecs.len + 20);
        if (rc == VITTE_OK) {
            vitte__bytes_varint(&out, w->sst.n);
            vitte__bytes_put(&out, w->sst.tab.p, w->sst.tab.len);
            vitte__bytes_varint(&out, w->n_srecs);
            vitte__bytes_put(&out, w->srecs.p, w->srecs.len);
            rc = vitte__vtw_chunk(w->w, VITTE__CH_SYMBOLS, out.p, out.len);
        }
        vitte__free(out.p);
    }
    sym_free(w);
    return rc;
}

/* ---- importing a program's own trace -------------------------------------------------- */

/* Sites need stable vitte_srcloc addresses (the encoder keys them by
 * address): one per distinct (name, module, tags, file, line), kept until
 * the import ends. */
struct import_site {
    struct vitte_srcloc loc;
    char *mem;
};

struct import {
    vitte__profw *w;
    struct vitte__strmap sites; /* key -> index + 1 */
    struct import_site *v;
    size_t n, cap;
    struct vitte__vtw_events *ev; /* per thread (ev[i].tid) */
    size_t n_th, cap_th;
};

static const struct vitte_srcloc *import_site(struct import *im, const vitte_trace_event *e)
{
    const char *f[4] = {e->name, e->module, e->tags, e->file};
    size_t len[4], total = 16;
    for (int i = 0; i < 4; i++)
        total += (len[i] = strlen(f[i])) + 1;
    char *key = vitte__malloc(total);
    if (key == NULL)
        return NULL;
    size_t k = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(key + k, f[i], len[i] + 1);
        k += len[i] + 1;
    }
    memcpy(key + k, &e->line, sizeof e->line);
    k += sizeof e->line;
    void *v = vitte__strmap_get(&im->sites, key, k);
    if (v != NULL) {
        vitte__free(key);
        return &im->v[(uintptr_t)v - 1].loc;
    }
    if (grow((void **)&im->v, &im->cap, im->n, sizeof *im->v) != VITTE_OK ||
        vitte__strmap_put(&im->sites, key, k, (void *)(uintptr_t)(im->n + 1)) != VITTE_OK) {
        vitte__free(key);
        return NULL;
    }
    struct import_site *s = &im->v[im->n++];
    s->mem = key; /* the strings live in the key copy */
    s->loc.name = key;
    s->loc.module = key + len[0] + 1;
    s->loc.tags = s->loc.module + len[1] + 1;
    s->loc.file = s->loc.tags + len[2] + 1;
    s->loc.func = "";
    s->loc.line = e->line;
    s->loc.state = 0;
    return &s->loc;
}

static struct vitte__vtw_events *import_thread(struct import *im, uint32_t tid)
{
    for (size_t i = 0; i < im->n_th; i++)
        if (im->ev[i].tid == tid)
            return &im->ev[i];
    if (grow((void **)&im->ev, &im->cap_th, im->n_th, sizeof *im->ev) != VITTE_OK)
        return NULL;
    vitte__vtw_ev_init(&im->ev[im->n_th], tid);
    return &im->ev[im->n_th++];
}

static int import_args(struct import *im, struct vitte__vtw_events *ev, const vitte_trace_event *e,
                       int target)
{
    for (size_t i = 0; i < e->n_args; i++) {
        const vitte_trace_arg *a = &e->args[i];
        uint32_t key = vitte__vtw_string(im->w->w, a->key, strlen(a->key));
        const char *s = a->type == VITTE_ARG_STRING ? a->s : NULL;
        int rc = vitte__vtw_ev_arg(ev, target, target == VITTE__ARG_TARGET_SPAN ? e->depth : 0, key,
                                   (int)a->type, a->i, a->d, s, s != NULL ? strlen(s) : 0);
        if (rc != VITTE_OK)
            return rc;
    }
    return VITTE_OK;
}

int vitte__profw_import_trace(vitte__profw *w, const char *path, uint64_t *events)
{
    *events = 0;
    int rc = flush_samples(w);
    if (rc != VITTE_OK)
        return rc;
    vitte_trace_reader *r;
    vitte_diag d;
    rc = vitte_trace_reader_open(path, 0, &r, &d);
    if (rc != VITTE_OK)
        return rc;
    struct import im = {w, {0}, NULL, 0, 0, NULL, 0, 0};
    vitte__strmap_init(&im.sites);
    const vitte_trace_event *e;
    while ((rc = vitte_trace_reader_next(r, &e, &d)) != 0) {
        if (rc == VITTE_EFORMAT)
            continue; /* damage: the reader goes on after it */
        if (rc < 0)
            break;
        struct vitte__vtw_events *ev = import_thread(&im, e->tid);
        if (ev == NULL) {
            rc = VITTE_ENOMEM;
            break;
        }
        const struct vitte_srcloc *loc = NULL;
        uint32_t site = 0;
        if (e->type <= VITTE_EVENT_ASYNC_END) {
            if ((loc = import_site(&im, e)) == NULL || (site = vitte__vtw_site(w->w, loc)) == 0) {
                rc = VITTE_ENOMEM;
                break;
            }
        }
        switch (e->type) {
        case VITTE_EVENT_SPAN:
            rc = import_args(&im, ev, e, VITTE__ARG_TARGET_SPAN);
            if (rc == VITTE_OK)
                rc = vitte__vtw_ev_span(ev, site, e->depth, e->ts_ns, e->ts_ns + e->dur_ns);
            break;
        case VITTE_EVENT_INSTANT:
        case VITTE_EVENT_ASYNC_BEGIN:
        case VITTE_EVENT_ASYNC_END:
            rc = vitte__vtw_ev_point(ev, (int)e->type, site, e->ts_ns, e->id);
            if (rc == VITTE_OK)
                rc = import_args(&im, ev, e, VITTE__ARG_TARGET_PREV);
            break;
        case VITTE_EVENT_COUNTER:
            rc = vitte__vtw_ev_counter(ev, site, e->ts_ns, e->value);
            if (rc == VITTE_OK)
                rc = import_args(&im, ev, e, VITTE__ARG_TARGET_PREV);
            break;
        case VITTE_EVENT_FLOW_BEGIN:
        case VITTE_EVENT_FLOW_STEP:
        case VITTE_EVENT_FLOW_END:
            rc = vitte__vtw_ev_flow(ev, (int)e->type, e->ts_ns, e->id);
            break;
        default:
            break; /* samples of a nested profile: not copied */
        }
        if (rc != VITTE_OK)
            break;
        (*events)++;
        if (ev->body.len >= SAMPLES_CHUNK_MAX && !ev->last_point)
            rc = vitte__vtw_ev_flush(w->w, ev);
        if (rc != VITTE_OK)
            break;
    }
    if (rc == 0 || rc == VITTE_ETRUNCATED) /* a crashed program's trace: keep what is there */
        rc = VITTE_OK;
    size_t nt;
    const vitte_trace_thread *th = vitte_trace_reader_threads(r, &nt);
    for (size_t i = 0; i < im.n_th; i++) {
        int frc = vitte__vtw_ev_flush(w->w, &im.ev[i]);
        if (rc == VITTE_OK)
            rc = frc;
        vitte__vtw_ev_free(&im.ev[i]);
    }
    for (size_t i = 0; th != NULL && i < nt; i++)
        if (th[i].name[0] != '\0')
            vitte__vtw_thread(w->w, th[i].tid, th[i].name);
    vitte_trace_reader_close(r);
    for (size_t i = 0; i < im.n; i++)
        vitte__free(im.v[i].mem);
    vitte__free(im.v);
    vitte__free(im.ev);
    vitte__strmap_fini(&im.sites);
    return rc;
}

/* ---- closing ----------------------------------------------------------------------- */

int vitte__profw_close(vitte__profw *w, uint64_t end_ns)
{
    if (w == NULL)
        return VITTE_OK;
    int rc = flush_samples(w);
    write_counts(w);
    if (end_ns < w->last_ts)
        end_ns = w->last_ts;
    int rc2 = vitte__vtw_end(w->w, w->samples, w->counts.lost, end_ns);
    int rc3 = vitte__vtw_close(w->w);
    if (rc == VITTE_OK)
        rc = w->err != VITTE_OK ? w->err : rc2 != VITTE_OK ? rc2 : rc3;
    for (size_t i = 0; i < w->n_maps; i++)
        vitte__free(w->maps[i].path);
    vitte__free(w->maps);
    vitte__free(w->gens);
    vitte__strmap_fini(&w->locs);
    vitte__free(w->loc);
    vitte__free(w->stacks.keys);
    vitte__free(w->stacks.vals);
    vitte__free(w->d_maps.p);
    vitte__free(w->d_locs.p);
    vitte__free(w->d_stacks.p);
    vitte__free(w->smp.p);
    vitte__vtw_ev_free(&w->cev);
    sym_free(w);
    for (size_t i = 0; i < w->n_cloc; i++)
        vitte__free(w->cloc[i]);
    vitte__free(w->cloc);
    vitte__strmap_fini(&w->csites);
    vitte__free(w->path);
    vitte__free(w);
    return rc;
}
