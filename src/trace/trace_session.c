/* Tracing sessions: the tracer object, its writer thread, flushing on exit,
 * on fatal signals and on request, fork, and VITTE_TRACE.
 *
 * The writer thread wakes every millisecond, moves what each thread's ring
 * holds into that thread's EVENTS chunk under construction, and writes the
 * chunks at least every flush interval (100 ms), so a SIGKILL loses at most
 * one interval.  On a fatal signal the handler asks the writer to write
 * everything and waits for it (bounded), then hands the signal on. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<vitte/trace_export.h>)
#include <vitte/trace_export.h>
#define HAVE_TRACE_EXPORT 1
#endif
#include <vitte/version.h>

#include "common/alloc.h"
#include "common/sigchain.h"
#include "format/vittrace_codec.h"
#include "format/vittrace_write.h"
#include "trace/trace_internal.h"

#define POLL_NS          1000000ull   /* the writer's wake-up period */
#define CHUNK_EVENTS_RAW (256u << 10) /* an EVENTS chunk is written past this size */
#define SIGNAL_WAIT_NS   2000000000ll /* how long a fatal signal waits for the flush */
/* A chunk that ends with an instant, counter or async event waits this long
 * for the arguments (vitte_trace_last_arg_*) the thread may still give it:
 * the format keeps such arguments in their event's chunk. */
#define POINT_GRACE_NS 2000000ull

struct vitte__session *_Atomic vitte__trace_session;
_Atomic uint64_t vitte__trace_min_dur;
_Atomic uint32_t vitte__trace_filter_gen = 1;
_Atomic int vitte__trace_blocking;
_Atomic int vitte__trace_tsc;

void vitte__trace_forget_thread(void);

struct vitte__session {
    vitte_tracer_config cfg;
    char *modules; /* copies of the filter strings */
    char *tags;
    char *path;      /* the .vittrace written */
    char *json_path; /* non-NULL: convert to Chrome JSON at destroy */
    struct vitte__vtw *w;
    pthread_t writer;
    pthread_mutex_t mx; /* flush requests and the stop flag */
    pthread_cond_t cv;
    uint64_t flush_req, flush_done;
    int stop;
    _Atomic int finished; /* the END chunk is written: nothing more goes to the file */
    uint64_t last_flush_ns;
    uint64_t last_ts;
    uint64_t total_events;
    uint64_t dead_dropped, dead_filtered, dead_events; /* of freed rings */
    struct vitte__vtw_stat *dead;                      /* each exited thread's totals, for STATS */
    size_t n_dead, cap_dead;
    struct vitte__tbuf *bufs; /* under g_lock */
    uint32_t pid;
    int enabled;
    int tsc;                /* rings hold TSC ticks */
    _Atomic int writer_tid; /* read by signal handlers */
};

/* g_lock guards the session pointer's changes and every session's ring list. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_enabled = 1; /* vitte_trace_set_enabled */

/* Fatal-signal hand-off between a handler and the writer. */
static _Atomic int g_emergency;      /* signal number asking for a flush */
static _Atomic int g_emergency_done; /* the writer has written everything */
static _Atomic int g_emergency_end;  /* the process will die: write END */
static const int g_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM, SIGINT};
#define N_SIGNALS (sizeof g_signals / sizeof g_signals[0])
static struct sigaction g_old[N_SIGNALS];
static int g_installed;

static uint64_t mono_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t gettid_u32(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

static void update_on(struct vitte__session *s)
{
    __atomic_store_n(&vitte__trace_on, s != NULL && g_enabled && !s->finished ? 1 : 0,
                     __ATOMIC_RELAXED);
}

/* ---- filters ----------------------------------------------------------------------- */

/* Is `word` in the comma list (and not negated)?  Returns 1 keep, 0 drop, -1
 * not mentioned. */
static int list_decides(const char *list, const char *word)
{
    int has_positive = 0, verdict = -1;
    size_t wl = word != NULL ? strlen(word) : 0;
    for (const char *p = list; *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        int neg = n > 0 && p[0] == '-';
        const char *item = p + neg;
        size_t il = n - (size_t)neg;
        if (!neg)
            has_positive = 1;
        if (word != NULL && il == wl && memcmp(item, word, wl) == 0)
            verdict = !neg;
        p += n + (e != NULL);
    }
    if (verdict == -1 && has_positive)
        return -2; /* a positive list that does not name it */
    return verdict;
}

/* Tags: a comma list on the site; keep if any tag is kept, drop if any is dropped. */
static int tags_pass(const char *filter, const char *tags)
{
    int any_pos = 0, kept = 0;
    for (const char *p = filter; *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        any_pos |= !(n > 0 && p[0] == '-');
        p += n + (e != NULL);
    }
    for (const char *t = tags != NULL ? tags : ""; *t != '\0';) {
        const char *e = strchr(t, ',');
        size_t n = e != NULL ? (size_t)(e - t) : strlen(t);
        char one[128];
        if (n < sizeof one) {
            memcpy(one, t, n);
            one[n] = '\0';
            int d = list_decides(filter, one);
            if (d == 0)
                return 0;
            if (d == 1)
                kept = 1;
        }
        t += n + (e != NULL);
    }
    return kept || !any_pos;
}

int vitte__trace_site_passes(const struct vitte_srcloc *loc)
{
    struct vitte__session *s = atomic_load_explicit(&vitte__trace_session, memory_order_acquire);
    if (s == NULL)
        return 1;
    if (s->modules != NULL) {
        int d = list_decides(s->modules, loc->module != NULL ? loc->module : "");
        if (d == 0 || d == -2)
            return 0;
    }
    if (s->tags != NULL && !tags_pass(s->tags, loc->tags))
        return 0;
    return 1;
}

/* ---- rings ------------------------------------------------------------------------- */

static void buf_free(struct vitte__tbuf *b)
{
    if (b->enc != NULL) {
        vitte__vtw_ev_free(b->enc);
        vitte__free(b->enc);
    }
    vitte__free(b->slots);
    vitte__free(b);
}

/* Thread exit: the writer frees an attached ring once drained; a detached
 * one is freed here. */
static void thread_exit(void *arg)
{
    struct vitte__tbuf *b = arg;
    vitte__trace_forget_thread();
    pthread_mutex_lock(&g_lock);
    if (atomic_load_explicit(&b->session, memory_order_relaxed) != NULL)
        atomic_store_explicit(&b->dead, 1, memory_order_release);
    else
        buf_free(b);
    pthread_mutex_unlock(&g_lock);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&g_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&g_lock);
}

static void auto_start(const char *why);

/* The child stops tracing: the parent's session, its file and its writer
 * are the parent's.  With "%p" in VITTE_TRACE the child starts its own. */
static void fork_child(void)
{
    struct vitte__session *s = atomic_load_explicit(&vitte__trace_session, memory_order_relaxed);
    atomic_store_explicit(&vitte__trace_session, NULL, memory_order_relaxed);
    __atomic_store_n(&vitte__trace_on, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g_lock);
    (void)s; /* its memory is left alone: the writer thread does not exist here */
    const char *env = getenv("VITTE_TRACE");
    if (env != NULL && strstr(env, "%p") != NULL)
        auto_start("fork");
}

static void init_once(void)
{
    pthread_key_create(&g_key, thread_exit);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

struct vitte__tbuf *vitte__trace_attach(void)
{
    pthread_mutex_lock(&g_lock);
    struct vitte__session *s = atomic_load_explicit(&vitte__trace_session, memory_order_relaxed);
    if (s == NULL || s->finished) {
        pthread_mutex_unlock(&g_lock);
        return NULL;
    }
    struct vitte__tbuf *b = pthread_getspecific(g_key);
    size_t n = s->cfg.buffer_bytes / sizeof(struct vitte__rec);
    if (b == NULL) {
        b = vitte__calloc(1, sizeof *b);
        if (b == NULL) {
            pthread_mutex_unlock(&g_lock);
            return NULL;
        }
        pthread_setspecific(g_key, b);
    }
    if (b->slots == NULL || b->mask + 1 != n) {
        vitte__free(b->slots);
        b->slots = vitte__calloc(n, sizeof(struct vitte__rec));
        if (b->slots == NULL) {
            pthread_setspecific(g_key, NULL);
            vitte__free(b);
            pthread_mutex_unlock(&g_lock);
            return NULL;
        }
        b->mask = n - 1;
        /* Fault every page in now: a first touch while recording would be
         * a trip into the kernel on the hot path. */
        long page = sysconf(_SC_PAGESIZE);
        size_t step = page > 0 ? (size_t)page : 4096;
        for (size_t off = 0; off < n * sizeof(struct vitte__rec); off += step)
            ((volatile char *)b->slots)[off] = 0;
    }
    /* A fresh start: what the ring held belonged to an earlier session (or,
     * after fork, to the parent). */
    b->head_local = b->tail_cache = 0;
    atomic_store_explicit(&b->head, 0, memory_order_relaxed);
    atomic_store_explicit(&b->tail, 0, memory_order_relaxed);
    b->filt_depth = b->rec_depth = 0;
    b->filtered_mask = b->argged_mask = 0;
    atomic_store_explicit(&b->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&b->filtered, 0, memory_order_relaxed);
    atomic_store_explicit(&b->dead, 0, memory_order_relaxed);
    b->tid = gettid_u32();
    b->events = 0;
    b->named = 0;
    b->next = s->bufs;
    s->bufs = b;
    atomic_store_explicit(&b->session, s, memory_order_release);
    pthread_mutex_unlock(&g_lock);
    return b;
}

/* ---- the writer --------------------------------------------------------------------- */

static struct vitte__vtw_events *enc_of(struct vitte__tbuf *b)
{
    if (b->enc == NULL) {
        b->enc = vitte__calloc(1, sizeof(struct vitte__vtw_events));
        if (b->enc != NULL)
            vitte__vtw_ev_init(b->enc, b->tid);
    }
    return b->enc;
}

static void name_thread(struct vitte__session *s, struct vitte__tbuf *b)
{
    char path[64], name[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%u/comm", b->tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, name, sizeof name - 1);
        close(fd);
        if (n > 0) {
            name[n] = '\0';
            name[strcspn(name, "\n")] = '\0';
        }
    }
    if (name[0] != '\0')
        vitte__vtw_thread(s->w, b->tid, name);
    b->named = 1;
}

/* Gather the bytes of `len` that follow record i into out. */
static void gather_bytes(struct vitte__tbuf *b, uint64_t i, size_t len, char *out)
{
    for (size_t off = 0; off < len; off += 32) {
        const struct vitte__rec *c = &b->slots[(i + 1 + off / 32) & b->mask];
        memcpy(out + off, c, len - off < 32 ? len - off : 32);
    }
}

/* Move ring b's records into its EVENTS chunk.  With g_lock held. */
static void drain(struct vitte__session *s, struct vitte__tbuf *b)
{
    struct vitte__vtw_events *e = enc_of(b);
    if (e == NULL)
        return;
    if (!b->named)
        name_thread(s, b);
    /* Locals: the ring's fields are not reread record after record. */
    const struct vitte__rec *slots = b->slots;
    uint64_t mask = b->mask, events = b->events;
    uint64_t tail = atomic_load_explicit(&b->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&b->head, memory_order_acquire);
    while (tail < head) {
        const struct vitte__rec *r = &slots[tail & mask];
        uint64_t used = 1, ts = 0;
        switch (r->type) {
        case VITTE__EV_SPAN:
            ts = vitte__trace_ts_ns(r->b, s->tsc);
            vitte__vtw_ev_span(e, vitte__vtw_site(s->w, r->p), r->depth,
                               vitte__trace_ts_ns(r->a, s->tsc), ts);
            break;
        case VITTE__EV_INSTANT:
        case VITTE__EV_ASYNC_BEGIN:
        case VITTE__EV_ASYNC_END:
            ts = vitte__trace_ts_ns(r->a, s->tsc);
            vitte__vtw_ev_point(e, r->type, vitte__vtw_site(s->w, r->p), ts, r->b);
            break;
        case VITTE__EV_COUNTER: {
            double v;
            memcpy(&v, &r->b, 8);
            ts = vitte__trace_ts_ns(r->a, s->tsc);
            vitte__vtw_ev_counter(e, vitte__vtw_site(s->w, r->p), ts, v);
            break;
        }
        case VITTE__EV_FLOW_BEGIN:
        case VITTE__EV_FLOW_STEP:
        case VITTE__EV_FLOW_END:
            ts = vitte__trace_ts_ns(r->a, s->tsc);
            vitte__vtw_ev_flow(e, r->type, ts, r->b);
            break;
        case VITTE__EV_ARG: {
            int kind = (int)(r->aux & 0xff), target = (int)((r->aux >> 8) & 0xff);
            size_t len = r->aux >> 16;
            char str[288];
            if (kind == VITTE_ARG_STRING) {
                gather_bytes(b, tail, len, str);
                used += (len + 31) / 32;
            }
            double d;
            memcpy(&d, &r->b, 8);
            const char *key = r->p;
            vitte__vtw_ev_arg(e, target, r->depth, vitte__vtw_string(s->w, key, strlen(key)), kind,
                              (int64_t)r->b, d, str, len);
            break;
        }
        case VITTE__EV_SPAN_DROP:
            vitte__vtw_ev_span_drop(e, r->depth);
            break;
        case VITTE__REC_THREAD_NAME: {
            size_t len = r->aux;
            char name[288];
            gather_bytes(b, tail, len, name);
            name[len] = '\0';
            used += (len + 31) / 32;
            vitte__vtw_thread(s->w, b->tid, name);
            break;
        }
        default:
            break;
        }
        if (r->type <= VITTE__EV_FLOW_END) {
            events++;
            if (ts > s->last_ts)
                s->last_ts = ts;
        }
        tail += used;
        if (e->last_point)
            b->point_ns = vitte_now_ns();
        else if (e->body.len >= CHUNK_EVENTS_RAW)
            vitte__vtw_ev_flush(s->w, e);
    }
    b->events = events;
    atomic_store_explicit(&b->tail, tail, memory_order_release);
}

static struct vitte__vtw_stat stat_of(struct vitte__tbuf *b)
{
    struct vitte__vtw_stat st = {b->tid, b->events,
                                 atomic_load_explicit(&b->dropped, memory_order_relaxed),
                                 atomic_load_explicit(&b->filtered, memory_order_relaxed)};
    return st;
}

/* STATS: the live threads, then the exited ones (cumulative totals). */
static void write_stats(struct vitte__session *s)
{
    size_t n = s->n_dead;
    for (struct vitte__tbuf *b = s->bufs; b != NULL; b = b->next)
        n++;
    struct vitte__vtw_stat *st = vitte__calloc(n ? n : 1, sizeof *st);
    if (st == NULL)
        return;
    size_t i = 0;
    for (struct vitte__tbuf *b = s->bufs; b != NULL; b = b->next)
        st[i++] = stat_of(b);
    if (s->n_dead > 0)
        memcpy(st + i, s->dead, s->n_dead * sizeof *st);
    vitte__vtw_stats(s->w, st, n);
    vitte__free(st);
}

/* Keep an exited thread's totals (a thread whose tid is reused gets them added). */
static void remember_dead(struct vitte__session *s, struct vitte__tbuf *b)
{
    struct vitte__vtw_stat st = stat_of(b);
    s->dead_events += st.events;
    s->dead_dropped += st.dropped;
    s->dead_filtered += st.filtered;
    for (size_t i = 0; i < s->n_dead; i++) {
        if (s->dead[i].tid == st.tid) {
            s->dead[i].events += st.events;
            s->dead[i].dropped += st.dropped;
            s->dead[i].filtered += st.filtered;
            return;
        }
    }
    if (s->n_dead == s->cap_dead) {
        size_t cap = s->cap_dead ? s->cap_dead * 2 : 16;
        struct vitte__vtw_stat *d = vitte__realloc(s->dead, cap * sizeof *d);
        if (d == NULL)
            return; /* the totals above still count it */
        s->dead = d;
        s->cap_dead = cap;
    }
    s->dead[s->n_dead++] = st;
}

static void totals(struct vitte__session *s, uint64_t *events, uint64_t *dropped,
                   uint64_t *filtered)
{
    *events = s->dead_events;
    *dropped = s->dead_dropped;
    *filtered = s->dead_filtered;
    for (struct vitte__tbuf *b = s->bufs; b != NULL; b = b->next) {
        *events += b->events;
        *dropped += atomic_load_explicit(&b->dropped, memory_order_relaxed);
        *filtered += atomic_load_explicit(&b->filtered, memory_order_relaxed);
    }
}

/* One pass: drain every ring; with `flush`, write every chunk under way
 * (flush > 1: all of them now, even one that waits for arguments). */
static void pass(struct vitte__session *s, int flush)
{
    pthread_mutex_lock(&g_lock);
    if (s->finished) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    for (struct vitte__tbuf **pb = &s->bufs; *pb != NULL;) {
        struct vitte__tbuf *b = *pb;
        int dead = atomic_load_explicit(&b->dead, memory_order_acquire);
        drain(s, b);
        if (dead) {
            if (b->enc != NULL)
                vitte__vtw_ev_flush(s->w, b->enc);
            remember_dead(s, b);
            *pb = b->next;
            buf_free(b);
            continue;
        }
        if (flush && b->enc != NULL &&
            (!((struct vitte__vtw_events *)b->enc)->last_point || flush > 1 ||
             vitte_now_ns() - b->point_ns >= POINT_GRACE_NS))
            vitte__vtw_ev_flush(s->w, b->enc);
        pb = &b->next;
    }
    if (flush) {
        write_stats(s);
        s->last_flush_ns = vitte_now_ns();
    }
    pthread_mutex_unlock(&g_lock);
}

/* Write STATS and END; nothing is written after.  With g_lock held. */
static void finish(struct vitte__session *s, const char *why)
{
    if (s->finished)
        return;
    if (why != NULL)
        vitte__vtw_info(s->w, "terminated_by", why);
    write_stats(s);
    uint64_t ev, dr, fi;
    totals(s, &ev, &dr, &fi);
    vitte__vtw_end(s->w, ev, dr, s->last_ts);
    s->finished = 1;
    update_on(s);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGABRT:
        return "SIGABRT";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    }
    return "signal";
}

static void *writer_main(void *arg)
{
    struct vitte__session *s = arg;
    /* Termination requests go to the program's threads, not this one. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    atomic_store(&s->writer_tid, (int)gettid_u32());
    pthread_mutex_lock(&s->mx);
    while (!s->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)POLL_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (s->flush_req == s->flush_done)
            pthread_cond_timedwait(&s->cv, &s->mx, &ts);
        uint64_t req = s->flush_req;
        pthread_mutex_unlock(&s->mx);

        int sig = atomic_load_explicit(&g_emergency, memory_order_acquire);
        if (sig != 0) {
            vitte__vtw_set_level(s->w, 0); /* quick: store the chunks as they are */
            pass(s, 2);
            if (atomic_load_explicit(&g_emergency_end, memory_order_acquire)) {
                pthread_mutex_lock(&g_lock);
                finish(s, signal_name(sig));
                pthread_mutex_unlock(&g_lock);
            }
            vitte__vtw_set_level(s->w, s->cfg.compression_level);
            atomic_store_explicit(&g_emergency, 0, memory_order_relaxed);
            atomic_store_explicit(&g_emergency_done, 1, memory_order_release);
        }
        int due = vitte_now_ns() - s->last_flush_ns >= s->cfg.flush_interval_ns;
        pass(s, req != s->flush_done ? 2 : due); /* a flush request writes everything */

        pthread_mutex_lock(&s->mx);
        if (req != s->flush_done) {
            s->flush_done = req;
            pthread_cond_broadcast(&s->cv);
        }
    }
    pthread_mutex_unlock(&s->mx);
    return NULL;
}

/* ---- fatal signals ----------------------------------------------------------------- */

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    size_t k = 0;
    while (k < N_SIGNALS && g_signals[k] != sig)
        k++;
    struct sigaction *old = k < N_SIGNALS ? &g_old[k] : NULL;
    int dies = old == NULL || (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_DFL);
    struct vitte__session *s = atomic_load_explicit(&vitte__trace_session, memory_order_acquire);
    /* The writer does the writing; wait for it (bounded).  Not if this is
     * the writer itself, or another signal is already being handled. */
    if (s != NULL && !atomic_load(&s->finished) &&
        (int)gettid_u32() != atomic_load(&s->writer_tid)) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&g_emergency, &expect, sig)) {
            atomic_store(&g_emergency_done, 0);
            atomic_store(&g_emergency_end, dies);
            struct timespec ts = {0, 1000000};
            for (long waited = 0; waited < SIGNAL_WAIT_NS && !atomic_load(&g_emergency_done);
                 waited += 1000000)
                nanosleep(&ts, NULL);
        }
    }
    vitte__sig_chain(old, sig, si, uc, dies);
    errno = saved_errno;
}

static void install_signals(void)
{
    if (g_installed)
        return;
    vitte__sig_install(g_signals, N_SIGNALS, on_fatal, g_old);
    g_installed = 1;
}

static void restore_signals(void)
{
    if (!g_installed)
        return;
    vitte__sig_restore(g_signals, N_SIGNALS, on_fatal, g_old);
    g_installed = 0;
}

/* ---- the public API ------------------------------------------------------------------ */

void vitte_tracer_config_init(vitte_tracer_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->buffer_bytes = 4u << 20;
    cfg->flush_interval_ns = 100000000ull;
    cfg->compression_level = 1;
    cfg->catch_signals = 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void write_info(struct vitte__session *s, const vitte_clock_info *ci)
{
    vitte__vtw_info(s->w, "vitte_version", VITTE_VERSION_STRING);
    vitte__vtw_info(s->w, "clock", vitte_clock_source_name(ci->source));
    char buf[4096];
    int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = '\0';
            buf[strcspn(buf, "\n")] = '\0';
            vitte__vtw_info(s->w, "process", buf);
        }
    }
    fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            for (ssize_t i = 0; i < n - 1; i++)
                if (buf[i] == '\0')
                    buf[i] = ' ';
            buf[n] = '\0';
            vitte__vtw_info(s->w, "cmdline", buf);
        }
    }
    if (gethostname(buf, sizeof buf) == 0) {
        buf[sizeof buf - 1] = '\0';
        vitte__vtw_info(s->w, "host", buf);
    }
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->cfg.flush_interval_ns);
    vitte__vtw_info(s->w, "flush_interval_ns", buf);
}

static void session_free(struct vitte__session *s)
{
    pthread_mutex_destroy(&s->mx);
    pthread_cond_destroy(&s->cv);
    vitte__free(s->modules);
    vitte__free(s->tags);
    vitte__free(s->path);
    vitte__free(s->json_path);
    vitte__free(s->dead);
    vitte__free(s);
}

int vitte_tracer_create_ex(const char *path, const vitte_tracer_config *ucfg, vitte_tracer **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return VITTE_EINVAL;
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    if (ucfg != NULL) {
        if (ucfg->struct_size < sizeof(uint32_t) || ucfg->struct_size > sizeof cfg)
            return VITTE_EINVAL;
        memcpy(&cfg, ucfg, ucfg->struct_size);
    }
    /* Ring sizes: a power of two number of records, 64 KiB .. 1 GiB. */
    if (cfg.buffer_bytes < (64u << 10) || cfg.buffer_bytes > (1ull << 30) ||
        cfg.flush_interval_ns < POLL_NS || cfg.compression_level < 0 || cfg.compression_level > 19)
        return VITTE_EINVAL;
    size_t recs = 1;
    while (recs * 2 * sizeof(struct vitte__rec) <= cfg.buffer_bytes)
        recs *= 2;
    cfg.buffer_bytes = recs * sizeof(struct vitte__rec);
    pthread_once(&g_once, init_once);

    struct vitte__session *s = vitte__calloc(1, sizeof *s);
    if (s == NULL)
        return VITTE_ENOMEM;
    pthread_mutex_init(&s->mx, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->cfg = cfg;
    s->pid = (uint32_t)getpid();
    int rc = VITTE_ENOMEM;
    if (cfg.modules != NULL && (s->modules = vitte__strdup(cfg.modules)) == NULL)
        goto fail;
    if (cfg.tags != NULL && (s->tags = vitte__strdup(cfg.tags)) == NULL)
        goto fail;
    if (ends_with(path, ".json")) {
        s->json_path = vitte__strdup(path);
        s->path = vitte__malloc(strlen(path) + 10);
        if (s->json_path == NULL || s->path == NULL)
            goto fail;
        sprintf(s->path, "%s.vittrace", path);
    } else if ((s->path = vitte__strdup(path)) == NULL) {
        goto fail;
    }
    s->cfg.modules = s->modules;
    s->cfg.tags = s->tags;

    pthread_mutex_lock(&g_lock);
    if (atomic_load_explicit(&vitte__trace_session, memory_order_relaxed) != NULL) {
        pthread_mutex_unlock(&g_lock);
        rc = VITTE_ESTATE;
        goto fail;
    }
    int fd = open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        pthread_mutex_unlock(&g_lock);
        rc = errno == EACCES || errno == EPERM ? VITTE_EPERM
             : errno == ENOENT                 ? VITTE_ENOENT
                                               : VITTE_EIO;
        goto fail;
    }
    vitte_clock_info ci;
    vitte_clock_get_info(&ci, 1); /* the header states the final clock */
    struct vitte__vtw_header h = {s->pid,
                                  ci.source == VITTE_CLOCK_TSC,
                                  vitte_now_ns(),
                                  (int64_t)mono_ns(CLOCK_REALTIME),
                                  mono_ns(CLOCK_MONOTONIC),
                                  ci.tsc_hz};
    rc = vitte__vtw_open(fd, &h, cfg.compression_level, &s->w);
    if (rc != VITTE_OK) {
        close(fd);
        pthread_mutex_unlock(&g_lock);
        goto fail;
    }
    write_info(s, &ci);
    s->last_flush_ns = vitte_now_ns();
    s->last_ts = h.start_ns;
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        vitte__vtw_close(s->w);
        pthread_mutex_unlock(&g_lock);
        rc = VITTE_ENOMEM;
        goto fail;
    }
    /* Rings hold raw TSC ticks when the clock is the TSC: the writer
     * converts them.  The minimum duration is compared in the same unit. */
    s->tsc = ci.source == VITTE_CLOCK_TSC;
    atomic_store_explicit(&vitte__trace_tsc, s->tsc, memory_order_relaxed);
    atomic_store_explicit(&vitte__trace_min_dur,
                          s->tsc ? (uint64_t)((double)cfg.min_duration_ns * ci.tsc_hz / 1e9)
                                 : cfg.min_duration_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&vitte__trace_blocking, cfg.blocking, memory_order_relaxed);
    atomic_fetch_add_explicit(&vitte__trace_filter_gen, 1, memory_order_relaxed);
    atomic_store_explicit(&vitte__trace_session, s, memory_order_release);
    update_on(s);
    if (cfg.catch_signals)
        install_signals();
    pthread_mutex_unlock(&g_lock);
    *out = (vitte_tracer *)s;
    return VITTE_OK;
fail:
    session_free(s);
    return rc;
}

vitte_tracer *vitte_tracer_create(const char *path)
{
    vitte_tracer *t;
    return vitte_tracer_create_ex(path, NULL, &t) == VITTE_OK ? t : NULL;
}

vitte_tracer *vitte_tracer_active(void)
{
    return (vitte_tracer *)atomic_load_explicit(&vitte__trace_session, memory_order_acquire);
}

int vitte_tracer_flush(vitte_tracer *t)
{
    struct vitte__session *s = (struct vitte__session *)t;
    if (s == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->mx);
    uint64_t req = ++s->flush_req;
    pthread_cond_broadcast(&s->cv);
    while (s->flush_done < req && !s->stop)
        pthread_cond_wait(&s->cv, &s->mx);
    pthread_mutex_unlock(&s->mx);
    return vitte__vtw_error(s->w);
}

int vitte_tracer_get_stats(vitte_tracer *t, vitte_tracer_stats *out)
{
    struct vitte__session *s = (struct vitte__session *)t;
    if (s == NULL || out == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&g_lock);
    memset(out, 0, sizeof *out);
    totals(s, &out->events, &out->dropped, &out->filtered);
    out->bytes_written = vitte__vtw_bytes_written(s->w);
    out->chunks_written = vitte__vtw_chunks_written(s->w);
    pthread_mutex_unlock(&g_lock);
    return VITTE_OK;
}

/* The Chrome exporter, when linked (it lives in src/export). */
static int convert_to_json(struct vitte__session *s)
{
    size_t n = strlen(s->json_path);
    char *tmp = vitte__malloc(n + 8);
    if (tmp == NULL)
        return VITTE_ENOMEM;
    sprintf(tmp, "%s.tmp", s->json_path);
    FILE *f = fopen(tmp, "w");
    int rc = VITTE_EIO;
#ifndef HAVE_TRACE_EXPORT
    rc = VITTE_ENOTSUP;
    if (f != NULL)
        fclose(f);
    f = NULL;
#endif
    if (f != NULL) {
#ifdef HAVE_TRACE_EXPORT
        vitte_trace_export_options o;
        vitte_trace_export_options_init(&o);
        o.format = VITTE_TRACE_FORMAT_CHROME;
        const char *paths[1] = {s->path};
        vitte_diag d;
        rc = vitte_trace_export(paths, 1, &o, f, &d);
#endif
        if (fclose(f) != 0 && rc == VITTE_OK)
            rc = VITTE_EIO;
    }
    if (rc == VITTE_OK && rename(tmp, s->json_path) == 0)
        unlink(s->path);
    else
        unlink(tmp);
    vitte__free(tmp);
    return rc;
}

int vitte_tracer_destroy(vitte_tracer *t)
{
    struct vitte__session *s = (struct vitte__session *)t;
    if (s == NULL)
        return VITTE_OK;
    pthread_mutex_lock(&g_lock);
    if (atomic_load_explicit(&vitte__trace_session, memory_order_relaxed) == s)
        restore_signals();
    pthread_mutex_unlock(&g_lock);
    /* Stop the writer, then a last pass: every committed event, STATS, END. */
    pthread_mutex_lock(&s->mx);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mx);
    pthread_join(s->writer, NULL);
    pass(s, 2);
    pthread_mutex_lock(&g_lock);
    finish(s, NULL);
    atomic_store_explicit(&vitte__trace_session, NULL, memory_order_release);
    __atomic_store_n(&vitte__trace_on, 0, __ATOMIC_RELAXED);
    /* Detach the rings; the threads keep them for a later session. */
    while (s->bufs != NULL) {
        struct vitte__tbuf *b = s->bufs;
        s->bufs = b->next;
        if (atomic_load_explicit(&b->dead, memory_order_acquire)) {
            buf_free(b);
        } else {
            if (b->enc != NULL) {
                vitte__vtw_ev_free(b->enc);
                vitte__free(b->enc);
                b->enc = NULL;
            }
            atomic_store_explicit(&b->session, NULL, memory_order_release);
        }
    }
    pthread_mutex_unlock(&g_lock);
    int rc = vitte__vtw_close(s->w);
    if (rc == VITTE_OK && s->json_path != NULL)
        rc = convert_to_json(s);
    session_free(s);
    return rc;
}

void vitte_trace_set_enabled(int on)
{
    pthread_mutex_lock(&g_lock);
    g_enabled = on != 0;
    update_on(atomic_load_explicit(&vitte__trace_session, memory_order_relaxed));
    pthread_mutex_unlock(&g_lock);
}

int vitte_trace_enabled(void)
{
    return vitte__trace_is_on();
}

void vitte_trace_set_process_name(const char *name)
{
    struct vitte__session *s = atomic_load_explicit(&vitte__trace_session, memory_order_acquire);
    if (s == NULL || name == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    if (!s->finished)
        vitte__vtw_info(s->w, "process", name);
    pthread_mutex_unlock(&g_lock);
}

/* ---- VITTE_TRACE: tracing with no code in main -------------------------------------- */

static vitte_tracer *g_auto;

static void auto_stop(void)
{
    vitte_tracer *t = g_auto;
    g_auto = NULL;
    if (t != NULL)
        vitte_tracer_destroy(t);
}

static void auto_start(const char *why)
{
    const char *env = getenv("VITTE_TRACE");
    if (env == NULL || env[0] == '\0')
        return;
    /* %p becomes the process id, so that forked children get files of their own. */
    char path[4096];
    size_t o = 0;
    for (const char *p = env; *p != '\0' && o < sizeof path - 24; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(path + o, sizeof path - o, "%d", (int)getpid());
            p++;
        } else {
            path[o++] = *p;
        }
    }
    path[o] = '\0';
    g_auto = NULL;
    if (vitte_tracer_create_ex(path, NULL, &g_auto) == VITTE_OK && why == NULL)
        atexit(auto_stop);
}

__attribute__((constructor)) static void trace_from_environment(void)
{
    auto_start(NULL);
}
