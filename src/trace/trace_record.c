/* The recorder: what an instrumented thread runs.  One store of 32 bytes per
 * event into the thread's own ring, no lock, no allocation, no system call
 * (after the thread's first event, which attaches its ring). */
#include <sched.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock_internal.h"
#include "format/vittrace_codec.h"
#include "trace/trace_internal.h"

int vitte__trace_on; /* session active and recording enabled */
static __thread struct vitte__tbuf *tls_buf __attribute__((tls_model("initial-exec")));

/* The ring of the calling thread for the current session, or NULL. */
static inline struct vitte__tbuf *my_buf(void)
{
    struct vitte__tbuf *b = tls_buf;
    struct vitte__session *s = atomic_load_explicit(&vitte__trace_session, memory_order_acquire);
    if (__builtin_expect(b != NULL && s != NULL &&
                             atomic_load_explicit(&b->session, memory_order_relaxed) == s,
                         1))
        return b;
    b = vitte__trace_attach();
    tls_buf = b;
    return b;
}

void vitte__trace_forget_thread(void);
void vitte__trace_forget_thread(void)
{
    tls_buf = NULL;
}

/* Full ring: look at the writer's progress again, then wait (blocking mode)
 * or drop and count. */
static __attribute__((noinline)) struct vitte__rec *reserve_slow(struct vitte__tbuf *b, uint32_t n)
{
    uint64_t h = b->head_local;
    b->tail_cache = atomic_load_explicit(&b->tail, memory_order_acquire);
    while (h + n - b->tail_cache > b->mask + 1) {
        if (!atomic_load_explicit(&vitte__trace_blocking, memory_order_relaxed) ||
            n > b->mask + 1) {
            atomic_store_explicit(&b->dropped,
                                  atomic_load_explicit(&b->dropped, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
            return NULL;
        }
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
        b->tail_cache = atomic_load_explicit(&b->tail, memory_order_acquire);
    }
    return &b->slots[h & b->mask];
}

/* Reserve n consecutive records; NULL (and a drop counted) when full. */
static inline struct vitte__rec *reserve(struct vitte__tbuf *b, uint32_t n)
{
    uint64_t h = b->head_local;
    if (__builtin_expect(h + n - b->tail_cache > b->mask + 1, 0))
        return reserve_slow(b, n);
    return &b->slots[h & b->mask];
}

static inline void commit(struct vitte__tbuf *b, uint32_t n)
{
    b->head_local += n;
    atomic_store_explicit(&b->head, b->head_local, memory_order_release);
}

static inline struct vitte__rec *slot_at(struct vitte__tbuf *b, uint64_t i)
{
    return &b->slots[(b->head_local + i) & b->mask];
}

static void count_filtered(struct vitte__tbuf *b)
{
    atomic_store_explicit(&b->filtered,
                          atomic_load_explicit(&b->filtered, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Module and tag filters, decided once per site and session (generation). */
static inline int site_passes(struct vitte_srcloc *loc)
{
    uint32_t gen = atomic_load_explicit(&vitte__trace_filter_gen, memory_order_relaxed);
    uint32_t st = __atomic_load_n(&loc->state, __ATOMIC_RELAXED);
    if (__builtin_expect((st >> 1) == gen, 1))
        return st & 1;
    int ok = vitte__trace_site_passes(loc);
    __atomic_store_n(&loc->state, (gen << 1) | (uint32_t)ok, __ATOMIC_RELAXED);
    return ok;
}

/* ---- spans ----------------------------------------------------------------------- */

/* A zone the filters drop (t0 == 0).  Its level is remembered so that
 * arguments given inside it are dropped with it. */
static __attribute__((noinline)) vitte_zone zone_filtered(struct vitte__tbuf *b,
                                                          struct vitte_srcloc *loc)
{
    uint32_t level = b->rec_depth + b->filt_depth;
    if (level < 64)
        b->filtered_mask |= 1ull << level;
    b->filt_depth++;
    count_filtered(b);
    vitte_zone z = {0, loc};
    return z;
}

vitte_zone vitte__zone_begin(struct vitte_srcloc *loc)
{
    struct vitte__tbuf *b = my_buf();
    if (__builtin_expect(b == NULL, 0)) {
        vitte_zone z = {0, NULL};
        return z;
    }
    if (__builtin_expect(!site_passes(loc), 0))
        return zone_filtered(b, loc);
    b->rec_depth++;
    vitte_zone z = {vitte__trace_ts(), loc};
    return z;
}

static void push_span(struct vitte__tbuf *b, vitte_zone z, uint64_t t1, uint32_t depth)
{
    struct vitte__rec *r = reserve(b, 1);
    if (__builtin_expect(r != NULL, 1)) {
        r->a = z.t0;
        r->b = t1;
        r->p = z.loc;
        r->type = VITTE__EV_SPAN;
        r->depth = (uint16_t)depth;
        r->aux = 0;
        commit(b, 1);
    }
}

/* The uncommon ends: a span that had arguments, recording switched off
 * (or the session ended: the ring then belongs to no session and is reset
 * when the thread attaches again), or a span too short to keep. */
static __attribute__((noinline)) void zone_end_slow(struct vitte__tbuf *b, vitte_zone z,
                                                    uint64_t t1, uint32_t depth)
{
    uint64_t bit = depth < 64 ? 1ull << depth : 0;
    int argged = (b->argged_mask & bit) != 0;
    b->argged_mask &= ~bit;
    int on = __atomic_load_n(&vitte__trace_on, __ATOMIC_RELAXED);
    if (on && t1 - z.t0 >= atomic_load_explicit(&vitte__trace_min_dur, memory_order_relaxed)) {
        push_span(b, z, t1, depth);
        return;
    }
    if (on) {
        count_filtered(b);
        struct vitte__rec *r;
        if (argged && (r = reserve(b, 1)) != NULL) {
            *r = (struct vitte__rec){0, 0, NULL, VITTE__EV_SPAN_DROP, (uint16_t)depth, 0};
            commit(b, 1);
        }
    }
}

static __attribute__((noinline)) void zone_end_filtered(struct vitte__tbuf *b)
{
    b->filt_depth--;
    uint32_t level = b->rec_depth + b->filt_depth;
    if (level < 64)
        b->filtered_mask &= ~(1ull << level);
}

void vitte__zone_end(vitte_zone z)
{
    struct vitte__tbuf *b = tls_buf;
    uint64_t t1 = vitte__trace_ts();
    if (__builtin_expect(b == NULL, 0))
        return;
    if (__builtin_expect(z.t0 == 0, 0)) {
        zone_end_filtered(b);
        return;
    }
    uint32_t depth = --b->rec_depth;
    if (__builtin_expect(
            b->argged_mask != 0 || !__atomic_load_n(&vitte__trace_on, __ATOMIC_RELAXED) ||
                t1 - z.t0 < atomic_load_explicit(&vitte__trace_min_dur, memory_order_relaxed),
            0)) {
        zone_end_slow(b, z, t1, depth);
        return;
    }
    push_span(b, z, t1, depth);
}

/* ---- run-time names ---------------------------------------------------------------- */

#include <pthread.h>

#include "common/strmap.h"

static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vitte__strmap names; /* "module\0name" -> struct vitte_srcloc * */

vitte_zone vitte_zone_begin_named(const char *name, const char *module)
{
    vitte_zone z = {0, NULL};
    if (!vitte__trace_is_on() || name == NULL)
        return z;
    size_t ml = module != NULL ? strlen(module) : 0, nl = strlen(name);
    char stackkey[256];
    char *key = ml + nl + 1 <= sizeof stackkey ? stackkey : vitte__malloc(ml + nl + 1);
    if (key == NULL)
        return z;
    if (ml > 0)
        memcpy(key, module, ml);
    key[ml] = '\0';
    memcpy(key + ml + 1, name, nl);
    pthread_mutex_lock(&names_lock);
    struct vitte_srcloc *loc = vitte__strmap_get(&names, key, ml + 1 + nl);
    if (loc == NULL) {
        /* Interned for the life of the process: sites are referred to by address. */
        loc = vitte__calloc(1, sizeof *loc + ml + nl + 2);
        if (loc != NULL) {
            char *n = (char *)(loc + 1);
            memcpy(n, name, nl + 1);
            loc->name = n;
            if (module != NULL) {
                memcpy(n + nl + 1, module, ml + 1);
                loc->module = n + nl + 1;
            }
            loc->func = "";
            loc->file = "";
            if (vitte__strmap_put(&names, key, ml + 1 + nl, loc) != VITTE_OK) {
                vitte__free(loc);
                loc = NULL;
            }
        }
    }
    pthread_mutex_unlock(&names_lock);
    if (key != stackkey)
        vitte__free(key);
    return loc != NULL ? vitte__zone_begin(loc) : z;
}

/* ---- point events ------------------------------------------------------------------- */

static void point(struct vitte_srcloc *loc, int type, uint64_t b_field)
{
    if (!vitte__trace_is_on())
        return;
    struct vitte__tbuf *b = my_buf();
    if (b == NULL)
        return;
    if (loc != NULL && !site_passes(loc)) {
        count_filtered(b);
        return;
    }
    struct vitte__rec *r = reserve(b, 1);
    if (r != NULL) {
        *r = (struct vitte__rec){vitte__trace_ts(),      b_field, loc, (uint16_t)type,
                                 (uint16_t)b->rec_depth, 0};
        commit(b, 1);
    }
}

void vitte_trace_instant(struct vitte_srcloc *loc)
{
    if (loc != NULL)
        point(loc, VITTE__EV_INSTANT, 0);
}

void vitte_trace_counter(struct vitte_srcloc *loc, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, 8);
    if (loc != NULL)
        point(loc, VITTE__EV_COUNTER, bits);
}

void vitte_trace_async_begin(struct vitte_srcloc *loc, uint64_t id)
{
    if (loc != NULL)
        point(loc, VITTE__EV_ASYNC_BEGIN, id);
}

void vitte_trace_async_end(struct vitte_srcloc *loc, uint64_t id)
{
    if (loc != NULL)
        point(loc, VITTE__EV_ASYNC_END, id);
}

void vitte_trace_flow_begin(uint64_t id)
{
    point(NULL, VITTE__EV_FLOW_BEGIN, id);
}

void vitte_trace_flow_step(uint64_t id)
{
    point(NULL, VITTE__EV_FLOW_STEP, id);
}

void vitte_trace_flow_end(uint64_t id)
{
    point(NULL, VITTE__EV_FLOW_END, id);
}

/* ---- arguments ------------------------------------------------------------------------ */

#define MAX_STR_ARG 255

static void arg(int target, const char *key, int kind, uint64_t value, const char *s)
{
    if (!vitte__trace_is_on() || key == NULL)
        return;
    struct vitte__tbuf *b = my_buf();
    if (b == NULL)
        return;
    uint32_t depth = 0;
    if (target == VITTE__ARG_TARGET_SPAN) {
        /* The innermost zone must be a recorded span. */
        uint32_t level = b->rec_depth + b->filt_depth;
        if (b->rec_depth == 0 || (level - 1 < 64 && (b->filtered_mask >> (level - 1)) & 1))
            return;
        depth = b->rec_depth - 1;
    }
    size_t len = 0;
    if (kind == VITTE_ARG_STRING) {
        len = s != NULL ? strnlen(s, MAX_STR_ARG) : 0;
    }
    uint32_t n = 1 + (uint32_t)((len + 31) / 32);
    struct vitte__rec *r = reserve(b, n);
    if (r == NULL)
        return;
    *r = (struct vitte__rec){0,
                             value,
                             key,
                             VITTE__EV_ARG,
                             (uint16_t)depth,
                             (uint32_t)kind | (uint32_t)target << 8 | (uint32_t)len << 16};
    for (uint32_t i = 1; i < n; i++) {
        struct vitte__rec *c = slot_at(b, i);
        size_t off = (size_t)(i - 1) * 32, part = len - off < 32 ? len - off : 32;
        memcpy(c, s + off, part);
    }
    if (target == VITTE__ARG_TARGET_SPAN && depth < 64)
        b->argged_mask |= 1ull << depth;
    commit(b, n);
}

static uint64_t dbl_bits(double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return v;
}

void vitte_trace_arg_int(const char *key, int64_t v)
{
    arg(VITTE__ARG_TARGET_SPAN, key, VITTE_ARG_INT, (uint64_t)v, NULL);
}

void vitte_trace_arg_double(const char *key, double v)
{
    arg(VITTE__ARG_TARGET_SPAN, key, VITTE_ARG_DOUBLE, dbl_bits(v), NULL);
}

void vitte_trace_arg_str(const char *key, const char *v)
{
    arg(VITTE__ARG_TARGET_SPAN, key, VITTE_ARG_STRING, 0, v);
}

void vitte_trace_last_arg_int(const char *key, int64_t v)
{
    arg(VITTE__ARG_TARGET_PREV, key, VITTE_ARG_INT, (uint64_t)v, NULL);
}

void vitte_trace_last_arg_double(const char *key, double v)
{
    arg(VITTE__ARG_TARGET_PREV, key, VITTE_ARG_DOUBLE, dbl_bits(v), NULL);
}

void vitte_trace_last_arg_str(const char *key, const char *v)
{
    arg(VITTE__ARG_TARGET_PREV, key, VITTE_ARG_STRING, 0, v);
}

void vitte_trace_set_thread_name(const char *name)
{
    if (name == NULL || atomic_load_explicit(&vitte__trace_session, memory_order_acquire) == NULL)
        return;
    struct vitte__tbuf *b = my_buf();
    if (b == NULL)
        return;
    size_t len = strnlen(name, MAX_STR_ARG);
    uint32_t n = 1 + (uint32_t)((len + 31) / 32);
    struct vitte__rec *r = reserve(b, n);
    if (r == NULL)
        return;
    *r = (struct vitte__rec){0, 0, NULL, VITTE__REC_THREAD_NAME, 0, (uint32_t)len};
    for (uint32_t i = 1; i < n; i++) {
        size_t off = (size_t)(i - 1) * 32, part = len - off < 32 ? len - off : 32;
        memcpy(slot_at(b, i), name + off, part);
    }
    commit(b, n);
}
