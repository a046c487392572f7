/* The timer-and-signal sampler (sigprof.h).
 *
 * Threads.  Each thread gets a POSIX timer on its own CPU-time clock (or on
 * CLOCK_MONOTONIC in wall mode) that sends SIGPROF to that thread only
 * (SIGEV_THREAD_ID).  The threads that exist at the start are found in
 * /proc/self/task; the writer thread rescans it every 50 ms to arm the
 * threads created since and to retire the ones that exited, so every
 * thread is covered without interposing anything.  The preload shim also
 * arms each new thread first thing in the thread (its pthread_create
 * trampoline calls vitte__sigprof_thread_begin()), so that short threads
 * are sampled too.  Threads made by a raw clone() are found by the rescan
 * only, like any other.
 *
 * The handler.  Its timer's si_value is the thread's slot number (plus a
 * per-sampler tag), looked up in a table that lives as long as the sampler,
 * and checked against the thread id, so that no SIGPROF of another origin
 * is mistaken for ours.  It reads its thread's CPU-time clock (the weight
 * is the CPU time since that thread's previous sample: CPU-time timers
 * fire on the scheduler tick, whatever rate is asked), walks the frame
 * pointers from the interrupted registers within the thread's stack bounds
 * (8-byte aligned, strictly increasing, at most 128 frames), and writes
 * {ts, weight, depth, ips...} into the thread's single-producer ring.  No
 * lock, no allocation; errno is preserved; a full ring counts a loss.
 *
 * Stack bounds.  A thread armed from inside itself (the caller of start,
 * the shim's new threads) gets pthread_getattr_np()'s bounds.  A thread
 * armed from the outside has none at first: its first samples are the leaf
 * alone, and they leave the stack pointer for the writer, which looks it up
 * in /proc/self/maps (the writable anonymous mapping or [stack] holding it)
 * and publishes the bounds.  A walk reads only between the interrupted
 * stack pointer and the top of that mapping, so it never touches unmapped
 * memory, whatever the frame pointers hold.
 *
 * The writer thread drains the rings every 20 ms into the profw writer
 * (smoothing the weights: smooth()), rewrites the module list when
 * dl_iterate_phdr's load/unload counters move, names the threads (and
 * renames them when their comm changes) and flushes every 100 ms.
 *
 * Stopping deletes the timers, sets SIGPROF to SIG_IGN for a moment (which
 * discards any signal still queued), waits for handlers under way to
 * leave, restores the program's SIGPROF disposition, drains, symbolizes and
 * closes the file.
 *
 * Fatal signals (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM,
 * SIGINT): the handler asks the writer to drain and flush everything and
 * waits for it (at most 2 s), then hands the signal on to the handler that
 * was installed before (the tracer's, the program's) or to the default
 * action.  When the signal is going to kill the process (the previous
 * disposition was SIG_DFL), the writer also completes the file (STATS,
 * END), without symbolizing: readers symbolize from the recorded modules.
 *
 * fork(): the child has no timers and no writer; its sampler state is reset
 * to "not running" (and a hook may start a new sampler there). */
#include "prof/sigprof.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <vitte/clock.h>
#include <vitte/common.h>
#include <vitte/trace.h>

#include "common/alloc.h"
#include "common/sigchain.h"
#include "common/clock_internal.h"
#include "prof/profw.h"

#if defined(__x86_64__) || defined(__aarch64__)
#define HAVE_SAMPLER 1
#else
#define HAVE_SAMPLER 0
#endif

#define MAX_DEPTH      128
#define REC_WORDS      3            /* ts, weight, depth; then the addresses */
#define RING_WORDS     4096u        /* 32 KiB a thread: ~30 full-depth samples */
#define DRAIN_NS       20000000ull  /* the writer's period */
#define SCAN_NS        50000000ull  /* /proc/self/task rescans */
#define FLUSH_NS       100000000ull /* profw flushes */
#define RENAME_SCANS   20           /* names are read again every 20 scans (1 s) */
#define RECENT         32           /* weights a thread's median is taken over */
#define CAP_MEDIANS    3            /* a sample weighs at most 3 medians (smooth()) */
#define SIGNAL_WAIT_NS 2000000000ll /* how long a fatal signal waits for the writer */
#define SLOT_BITS      8
#define SLOT_PAGE      (1u << SLOT_BITS)
#define SLOT_PAGES     1024u /* up to 262,144 threads sampled at once */
#define SLOT_MASK      0xfffffu
#define TAG_SHIFT      20

/* One sampled thread. */
struct thr {
    uint32_t tid;
    uint32_t slot;
    timer_t timer;
    int has_timer;
    clockid_t clock;     /* its CPU-time clock (CLOCK_MONOTONIC in wall mode) */
    uint64_t born;       /* the scan generation it was armed in */
    int seen;            /* present in the latest scan */
    unsigned name_reads; /* how many times its name was read */
    /* The writer's smoothing of weights (smooth()): */
    uint64_t debt;           /* weight carried over to the next samples */
    uint64_t recent[RECENT]; /* the latest raw weights */
    unsigned n_recent;
    int held; /* a sample held back (for the debt left at the end) */
    uint64_t held_ts, held_w, held_n;
    uint64_t *held_ips;        /* MAX_DEPTH words after the ring */
    char name[32];             /* the name last written */
    uint64_t *words;           /* the ring: RING_WORDS words */
    _Atomic uint64_t head;     /* written by the handler */
    _Atomic uint64_t tail;     /* written by the writer */
    _Atomic uint64_t last_ns;  /* the clock at the previous sample */
    _Atomic uint64_t stack_lo; /* bounds of the stack; hi == 0: unknown */
    _Atomic uint64_t stack_hi;
    _Atomic uint64_t want_sp; /* a stack pointer with no known bounds */
    _Atomic uint64_t dropped; /* the handler's counts */
    _Atomic uint64_t unwind_failed;
    _Atomic uint64_t truncated;
};

typedef _Atomic(struct thr *) slot_t;

enum { ST_RUNNING = 1, ST_STOPPING = 2 };

struct vitte__sigprof {
    vitte__profw *w;
    int wall;
    int symbolize;
    uint32_t pid;
    uint32_t tag;
    uint64_t period_ns;
    _Atomic int state;
    pthread_t writer;
    int writer_started;
    _Atomic int writer_tid;
    _Atomic int stop;
    int efd; /* wakes the writer (the fatal-signal handler writes to it) */
    int err; /* the first write error */

    pthread_mutex_t mx; /* the thread list, the slot table's pages, scan_gen */
    struct thr **thr;
    size_t n_thr, cap_thr;
    _Atomic(slot_t *) pages[SLOT_PAGES];
    uint32_t *free_slots;
    size_t n_free, cap_free;
    uint32_t next_slot;
    uint64_t scan_gen;

    /* Modules: dl_iterate_phdr's counters at the last scan. */
    unsigned long long adds, subs;
    char exe[PATH_MAX];

    /* Totals (read by vitte__sigprof_get_stats from any thread). */
    _Atomic uint64_t samples, weight_ns;
    _Atomic uint32_t n_armed, timer_errors;
    uint64_t gone_dropped, gone_unwind, gone_truncated; /* of retired threads */
    uint64_t counts_set[3];                             /* as last given to profw */
    uint64_t n_scans;
    _Atomic uint64_t lost, unwind_failed, truncated;
};

/* start/stop and the session pointer */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vitte__sigprof *g_session; /* under g_lock */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void (*g_fork_hook)(void);

/* What the handlers see. */
static struct vitte__sigprof *_Atomic g_active;
static _Atomic int g_inflight;

/* The signal dispositions replaced. */
static struct sigaction g_old_prof;
static int g_prof_installed;
static const int g_fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM, SIGINT};
#define N_FATAL (sizeof g_fatal / sizeof g_fatal[0])
static struct sigaction g_old_fatal[N_FATAL];
static int g_fatal_installed;
static _Atomic int g_emergency;      /* the fatal signal asking for a flush */
static _Atomic int g_emergency_end;  /* the process will die: complete the file */
static _Atomic int g_emergency_done; /* the writer has written everything */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t gettid_u32(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

/* The CPU-time clock of thread tid of this process (the kernel's encoding,
 * as pthread_getcpuclockid() makes it): usable with timer_create and
 * clock_gettime from any thread of the process. */
static clockid_t thread_cpu_clock(uint32_t tid)
{
    unsigned v = (~(unsigned)tid << 3) | 4u /* per thread */ | 2u /* sched */;
    return (clockid_t)v;
}

/* ---- the slot table ---------------------------------------------------------------- */

static struct thr *slot_get(struct vitte__sigprof *s, uint32_t id)
{
    if ((id >> TAG_SHIFT) != s->tag)
        return NULL;
    uint32_t slot = id & SLOT_MASK;
    if (slot == 0 || slot >= SLOT_PAGES * SLOT_PAGE)
        return NULL;
    slot_t *page = atomic_load_explicit(&s->pages[slot >> SLOT_BITS], memory_order_acquire);
    if (page == NULL)
        return NULL;
    return atomic_load_explicit(&page[slot & (SLOT_PAGE - 1)], memory_order_acquire);
}

/* A free slot number, its page allocated (with s->mx held); 0 if none. */
static uint32_t slot_alloc(struct vitte__sigprof *s)
{
    uint32_t slot;
    if (s->n_free > 0) {
        slot = s->free_slots[--s->n_free];
    } else {
        if (s->next_slot >= SLOT_PAGES * SLOT_PAGE)
            return 0;
        slot = s->next_slot;
    }
    uint32_t pg = slot >> SLOT_BITS;
    if (atomic_load_explicit(&s->pages[pg], memory_order_relaxed) == NULL) {
        slot_t *page = vitte__calloc(SLOT_PAGE, sizeof *page);
        if (page == NULL) {
            if (slot != s->next_slot)
                s->free_slots[s->n_free++] = slot;
            return 0;
        }
        for (uint32_t i = 0; i < SLOT_PAGE; i++)
            atomic_init(&page[i], NULL);
        atomic_store_explicit(&s->pages[pg], page, memory_order_release);
    }
    if (slot == s->next_slot)
        s->next_slot++;
    return slot;
}

static void slot_set(struct vitte__sigprof *s, uint32_t slot, struct thr *t)
{
    slot_t *page = atomic_load_explicit(&s->pages[slot >> SLOT_BITS], memory_order_relaxed);
    atomic_store_explicit(&page[slot & (SLOT_PAGE - 1)], t, memory_order_release);
}

static void slot_free(struct vitte__sigprof *s, uint32_t slot)
{
    slot_set(s, slot, NULL);
    if (s->n_free == s->cap_free) {
        size_t cap = s->cap_free ? s->cap_free * 2 : 64;
        uint32_t *p = vitte__realloc(s->free_slots, cap * sizeof *p);
        if (p == NULL)
            return; /* the slot is not reused: harmless */
        s->free_slots = p;
        s->cap_free = cap;
    }
    s->free_slots[s->n_free++] = slot;
}

/* ---- the signal handler ------------------------------------------------------------ */

/* Walk the frame pointers of the interrupted code.  Reads only words in
 * [sp, hi) of the thread's own stack.  Not instrumented: the words read are
 * whatever the stack holds (saved registers, other frames' locals). */
__attribute__((no_sanitize("address", "thread", "undefined"))) static size_t
walk(struct thr *t, const ucontext_t *uc, uint64_t *ips, int *truncated)
{
#if defined(__x86_64__)
    uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    uint64_t sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
    uint64_t fp = (uint64_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
    uint64_t pc = (uint64_t)uc->uc_mcontext.pc;
    uint64_t sp = (uint64_t)uc->uc_mcontext.sp;
    uint64_t fp = (uint64_t)uc->uc_mcontext.regs[29];
#else
    uint64_t pc = 0, sp = 0, fp = 0;
    (void)uc;
#endif
    *truncated = 0;
    ips[0] = pc;
    size_t n = 1;
    uint64_t hi = atomic_load_explicit(&t->stack_hi, memory_order_acquire);
    uint64_t lo = atomic_load_explicit(&t->stack_lo, memory_order_relaxed);
    if (hi == 0 || sp < lo || sp >= hi) {
        /* Unknown bounds (or a stack of its own: sigaltstack): ask the writer. */
        atomic_store_explicit(&t->want_sp, sp, memory_order_relaxed);
        return n;
    }
    uint64_t low = sp;
    while (fp >= low && fp <= hi - 16 && (fp & 7) == 0) {
        const uint64_t *f = (const uint64_t *)(uintptr_t)fp;
        uint64_t next = f[0], ret = f[1];
        if (ret < 4096)
            break;
        if (n == MAX_DEPTH) {
            *truncated = 1;
            break;
        }
        ips[n++] = ret;
        low = fp + 16;
        fp = next;
    }
    return n;
}

static void take_sample(struct vitte__sigprof *s, struct thr *t, const ucontext_t *uc)
{
    uint64_t now = clock_ns(s->wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID);
    uint64_t last = atomic_load_explicit(&t->last_ns, memory_order_relaxed);
    atomic_store_explicit(&t->last_ns, now, memory_order_relaxed);
    uint64_t weight = now > last ? now - last : 0;
    uint64_t ts = vitte__now_ns();

    uint64_t ips[MAX_DEPTH];
    int truncated;
    size_t n = walk(t, uc, ips, &truncated);
    if (n == 1)
        atomic_store_explicit(&t->unwind_failed,
                              atomic_load_explicit(&t->unwind_failed, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    if (truncated)
        atomic_store_explicit(&t->truncated,
                              atomic_load_explicit(&t->truncated, memory_order_relaxed) + 1,
                              memory_order_relaxed);

    uint64_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&t->tail, memory_order_acquire);
    if (RING_WORDS - (head - tail) < REC_WORDS + n) {
        atomic_store_explicit(&t->dropped,
                              atomic_load_explicit(&t->dropped, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return;
    }
    uint64_t *w = t->words;
    const uint64_t mask = RING_WORDS - 1;
    w[head++ & mask] = ts;
    w[head++ & mask] = weight;
    w[head++ & mask] = n;
    for (size_t i = 0; i < n; i++)
        w[head++ & mask] = ips[i];
    atomic_store_explicit(&t->head, head, memory_order_release);
}

static void on_sigprof(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    atomic_fetch_add(&g_inflight, 1);
    struct vitte__sigprof *s = atomic_load(&g_active);
    struct thr *t = NULL;
    if (s != NULL && si != NULL && si->si_code == SI_TIMER)
        t = slot_get(s, (uint32_t)si->si_value.sival_int);
    if (t != NULL && t->tid == gettid_u32()) {
        take_sample(s, t, uc);
    } else if (s == NULL || si == NULL || si->si_code != SI_TIMER ||
               (uint32_t)si->si_value.sival_int >> TAG_SHIFT != s->tag) {
        /* Not one of our timers: the program's own SIGPROF, if it has one. */
        if ((g_old_prof.sa_flags & SA_SIGINFO) && g_old_prof.sa_sigaction != NULL)
            g_old_prof.sa_sigaction(sig, si, uc);
        else if (!(g_old_prof.sa_flags & SA_SIGINFO) && g_old_prof.sa_handler != SIG_DFL &&
                 g_old_prof.sa_handler != SIG_IGN)
            g_old_prof.sa_handler(sig);
    }
    atomic_fetch_sub(&g_inflight, 1);
    errno = saved_errno;
}

/* ---- fatal signals ------------------------------------------------------------------ */

static void wake_writer(struct vitte__sigprof *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->efd, &one, sizeof one);
    (void)r;
}

/* Ask the writer to write everything (sig < 0: and complete the file) and
 * wait for it, at most SIGNAL_WAIT_NS.  With g_inflight held. */
static void ask_writer(struct vitte__sigprof *s, int sig, int end)
{
    if (s == NULL || atomic_load(&s->state) != ST_RUNNING ||
        (int)gettid_u32() == atomic_load(&s->writer_tid) || s->pid != (uint32_t)getpid())
        return;
    int expect = 0;
    if (!atomic_compare_exchange_strong(&g_emergency, &expect, sig))
        return; /* another thread is at it */
    atomic_store(&g_emergency_done, 0);
    atomic_store(&g_emergency_end, end);
    wake_writer(s);
    struct timespec ts = {0, 1000000};
    for (long long waited = 0; waited < SIGNAL_WAIT_NS && !atomic_load(&g_emergency_done);
         waited += 1000000)
        nanosleep(&ts, NULL);
}

void vitte__sigprof_exit_now(void)
{
    int saved_errno = errno;
    atomic_fetch_add(&g_inflight, 1);
    ask_writer(atomic_load(&g_active), -1, 1);
    atomic_fetch_sub(&g_inflight, 1);
    errno = saved_errno;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    size_t k = 0;
    while (k < N_FATAL && g_fatal[k] != sig)
        k++;
    struct sigaction *old = k < N_FATAL ? &g_old_fatal[k] : NULL;
    int dies = old == NULL || (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_DFL);
    atomic_fetch_add(&g_inflight, 1); /* the sampler is not freed under us */
    ask_writer(atomic_load(&g_active), sig, dies);
    atomic_fetch_sub(&g_inflight, 1);
    vitte__sig_chain(old, sig, si, uc, dies);
    errno = saved_errno;
}

static void install_fatal(void)
{
    if (g_fatal_installed)
        return;
    vitte__sig_install(g_fatal, N_FATAL, on_fatal, g_old_fatal);
    g_fatal_installed = 1;
}

static void restore_fatal(void)
{
    if (!g_fatal_installed)
        return;
    vitte__sig_restore(g_fatal, N_FATAL, on_fatal, g_old_fatal);
    g_fatal_installed = 0;
}

static int install_sigprof(void)
{
    if (g_prof_installed)
        return VITTE_OK;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, &g_old_prof) != 0)
        return VITTE_ENOTSUP;
    g_prof_installed = 1;
    return VITTE_OK;
}

static int is_ours(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_sigprof;
}

/* Give SIGPROF back to the program.  SIG_IGN first: setting it discards
 * every SIGPROF still queued, so that no signal of our (deleted) timers
 * reaches the program's disposition afterwards.  Left alone if the program
 * installed a handler of its own meanwhile. */
static void restore_sigprof(void)
{
    if (!g_prof_installed)
        return;
    struct sigaction cur;
    if (sigaction(SIGPROF, NULL, &cur) == 0 && is_ours(&cur)) {
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGPROF, &ign, NULL);
        sigaction(SIGPROF, &g_old_prof, NULL);
    }
    g_prof_installed = 0;
}

/* ---- small file helpers ------------------------------------------------------------ */

/* Read a small file into buf (NUL-terminated); the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* The whole of a /proc file, allocated (NULL on failure). */
static char *read_proc(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 16384, n = 0;
    char *buf = vitte__malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            char *p = vitte__realloc(buf, cap * 2);
            if (p == NULL) {
                vitte__free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* ---- modules ----------------------------------------------------------------------- */

struct phdr_scan {
    struct vitte__sigprof *s;
    unsigned long long adds, subs;
    int counters_only;
};

/* The GNU build id in a loaded object's PT_NOTE segments. */
static size_t note_build_id(struct dl_phdr_info *info, uint8_t *out, size_t cap)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        size_t align = ph->p_align == 8 ? 8 : 4;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) nh;
            memcpy(&nh, p, sizeof nh);
            const unsigned char *name = p + sizeof nh;
            const unsigned char *desc = name + ((nh.n_namesz + align - 1) & ~(align - 1));
            const unsigned char *next = desc + ((nh.n_descsz + align - 1) & ~(align - 1));
            if (next > end || next <= p)
                break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                size_t n = nh.n_descsz < cap ? nh.n_descsz : cap;
                memcpy(out, desc, n);
                return n;
            }
            p = next;
        }
    }
    return 0;
}

static int on_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct phdr_scan *ps = arg;
    if (ps->counters_only) {
        if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
            ps->adds = info->dlpi_adds;
            ps->subs = info->dlpi_subs;
        }
        return 1; /* the counters are the same in every entry */
    }
    struct vitte__sigprof *s = ps->s;
    uint64_t vdso = (uint64_t)getauxval(AT_SYSINFO_EHDR);
    const char *name = info->dlpi_name != NULL ? info->dlpi_name : "";
    char resolved[PATH_MAX];
    const char *path = name;
    int is_vdso = 0;
    for (int i = 0; i < info->dlpi_phnum && vdso != 0; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && vdso >= a && vdso < a + ph->p_memsz)
            is_vdso = 1;
    }
    if (is_vdso)
        path = "[vdso]";
    else if (name[0] == '\0')
        path = s->exe; /* the main program */
    else if (name[0] != '/' && realpath(name, resolved) != NULL)
        path = resolved;
    if (path[0] == '\0')
        return 0;
    uint8_t bid[64];
    size_t bid_len = note_build_id(info, bid, sizeof bid);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || ph->p_memsz == 0)
            continue;
        uint64_t start = info->dlpi_addr + ph->p_vaddr;
        vitte__profw_mapping(s->w, s->pid, start, start + ph->p_memsz, ph->p_offset, path,
                             bid_len > 0 ? bid : NULL, bid_len);
    }
    return 0;
}

/* Record the modules when the set of loaded objects changed (always with force). */
static void scan_modules(struct vitte__sigprof *s, int force)
{
    struct phdr_scan ps = {s, 0, 0, 1};
    dl_iterate_phdr(on_phdr, &ps);
    if (!force && ps.adds == s->adds && ps.subs == s->subs)
        return;
    s->adds = ps.adds;
    s->subs = ps.subs;
    ps.counters_only = 0;
    dl_iterate_phdr(on_phdr, &ps);
}

/* ---- arming threads ------------------------------------------------------------------ */

static void thr_free(struct thr *t)
{
    vitte__free(t->words);
    vitte__free(t);
}

static struct thr *find_thr(struct vitte__sigprof *s, uint32_t tid)
{
    for (size_t i = 0; i < s->n_thr; i++)
        if (s->thr[i]->tid == tid)
            return s->thr[i];
    return NULL;
}

/* Give thread tid a ring and a timer (with s->mx held).  lo/hi: its stack
 * bounds when known (hi == 0: not known).  Returns the thread or NULL. */
static struct thr *arm(struct vitte__sigprof *s, uint32_t tid, uint64_t lo, uint64_t hi)
{
    struct thr *t = find_thr(s, tid);
    if (t != NULL) {
        if (hi != 0) {
            atomic_store_explicit(&t->stack_lo, lo, memory_order_relaxed);
            atomic_store_explicit(&t->stack_hi, hi, memory_order_release);
        }
        return t;
    }
    if (s->n_thr == s->cap_thr) {
        size_t cap = s->cap_thr ? s->cap_thr * 2 : 16;
        struct thr **p = vitte__realloc(s->thr, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        s->thr = p;
        s->cap_thr = cap;
    }
    t = vitte__calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->words = vitte__calloc(RING_WORDS + MAX_DEPTH, sizeof(uint64_t));
    t->held_ips = t->words != NULL ? t->words + RING_WORDS : NULL;
    uint32_t slot = t->words != NULL ? slot_alloc(s) : 0;
    if (slot == 0) {
        thr_free(t);
        return NULL;
    }
    t->tid = tid;
    t->slot = slot;
    t->born = s->scan_gen;
    t->clock = s->wall ? CLOCK_MONOTONIC : thread_cpu_clock(tid);
    atomic_init(&t->head, 0);
    atomic_init(&t->tail, 0);
    atomic_init(&t->stack_lo, lo);
    atomic_init(&t->stack_hi, hi);
    atomic_init(&t->want_sp, 0);
    atomic_init(&t->dropped, 0);
    atomic_init(&t->unwind_failed, 0);
    atomic_init(&t->truncated, 0);
    struct timespec now;
    if (clock_gettime(t->clock, &now) != 0) { /* the thread is gone */
        slot_free(s, slot);
        thr_free(t);
        return NULL;
    }
    atomic_init(&t->last_ns, (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);
    slot_set(s, slot, t);

    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_value.sival_int = (int)(slot | (s->tag << TAG_SHIFT));
    sev._sigev_un._tid = (pid_t)tid;
    if (timer_create(t->clock, &sev, &t->timer) != 0) {
        atomic_fetch_add_explicit(&s->timer_errors, 1, memory_order_relaxed);
        slot_free(s, slot);
        thr_free(t);
        return NULL;
    }
    t->has_timer = 1;
    /* The first expiry at a pseudo-random point of the period, so that
     * wall-clock timers of many threads do not fire in lockstep. */
    uint64_t first = s->period_ns / 2 + (tid * 2654435761u) % (s->period_ns / 2 + 1);
    struct itimerspec its = {
        {(time_t)(s->period_ns / 1000000000ull), (long)(s->period_ns % 1000000000ull)},
        {(time_t)(first / 1000000000ull), (long)(first % 1000000000ull)}};
    if (timer_settime(t->timer, 0, &its, NULL) != 0) {
        timer_delete(t->timer);
        atomic_fetch_add_explicit(&s->timer_errors, 1, memory_order_relaxed);
        slot_free(s, slot);
        thr_free(t);
        return NULL;
    }
    s->thr[s->n_thr++] = t;
    atomic_fetch_add_explicit(&s->n_armed, 1, memory_order_relaxed);
    return t;
}

/* The calling thread's stack bounds. */
static void own_stack(uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return;
    void *addr;
    size_t size;
    if (pthread_attr_getstack(&a, &addr, &size) == 0 && addr != NULL && size > 0) {
        *lo = (uint64_t)(uintptr_t)addr;
        *hi = *lo + size;
    }
    pthread_attr_destroy(&a);
}

/* ---- the writer ------------------------------------------------------------------------ */

static void note_error(struct vitte__sigprof *s, int rc)
{
    if (rc != VITTE_OK && s->err == VITTE_OK)
        s->err = rc;
}

static void name_thread(struct vitte__sigprof *s, struct thr *t)
{
    char path[64], name[64];
    snprintf(path, sizeof path, "/proc/self/task/%u/comm", t->tid);
    if (read_small(path, name, sizeof name) <= 0)
        return;
    name[strcspn(name, "\n")] = '\0';
    if (strncmp(name, t->name, sizeof t->name - 1) == 0 && t->name[0] != '\0')
        return;
    size_t len = strlen(name);
    if (len >= sizeof t->name)
        len = sizeof t->name - 1;
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    note_error(s, vitte__profw_thread(s->w, s->pid, t->tid, name));
}

/* The weight written for a sample whose raw weight is w.  The raw weight
 * is the CPU time since the thread's previous sample; now and then a gap
 * piles a lot onto one sample (a thread that ran between ticks for a while,
 * a virtual CPU the host did not run), and that one stack, whatever it is,
 * would get it all: a few such samples can carry a third of the weight and
 * swing a profile by several points.  The excess over CAP_MEDIANS times the
 * thread's recent median is carried over to the following samples instead,
 * so that the weights still add up to the thread's CPU time (the thread's
 * last sample takes what is left, see flush_held()). */
static uint64_t smooth(struct vitte__sigprof *s, struct thr *t, uint64_t w)
{
    uint64_t cap = UINT64_MAX;
    size_t n = t->n_recent < RECENT ? t->n_recent : RECENT;
    if (n >= 8) {
        uint64_t v[RECENT];
        memcpy(v, t->recent, n * sizeof *v);
        for (size_t i = 1; i < n; i++) /* insertion sort: n <= 32 */
            for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                uint64_t x = v[j];
                v[j] = v[j - 1];
                v[j - 1] = x;
            }
        cap = v[n / 2] * CAP_MEDIANS;
        if (cap < s->period_ns)
            cap = s->period_ns;
    }
    t->recent[t->n_recent++ % RECENT] = w;
    uint64_t total = w + t->debt;
    uint64_t out = total < cap ? total : cap;
    t->debt = total - out;
    return out;
}

static void write_sample(struct vitte__sigprof *s, struct thr *t, uint64_t ts, uint64_t w,
                         const uint64_t *ips, size_t n)
{
    if (s->w == NULL)
        return;
    note_error(s, vitte__profw_sample(s->w, s->pid, t->tid, ts, w,
                                      s->wall ? VITTE_SAMPLE_WALL : VITTE_SAMPLE_CPU, ips, n));
    atomic_fetch_add_explicit(&s->samples, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->weight_ns, w, memory_order_relaxed);
}

/* Write the sample held back, with the weight still carried over. */
static void flush_held(struct vitte__sigprof *s, struct thr *t)
{
    if (!t->held)
        return;
    write_sample(s, t, t->held_ts, t->held_w + t->debt, t->held_ips, (size_t)t->held_n);
    t->debt = 0;
    t->held = 0;
}

/* Move thread t's samples to the writer, holding its latest one back
 * (final: not even that one). */
static void drain(struct vitte__sigprof *s, struct thr *t, int final)
{
    const uint64_t mask = RING_WORDS - 1;
    uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&t->head, memory_order_acquire);
    while (head - tail >= REC_WORDS) {
        uint64_t ts = t->words[tail & mask];
        uint64_t wt = t->words[(tail + 1) & mask];
        uint64_t n = t->words[(tail + 2) & mask];
        if (n == 0 || n > MAX_DEPTH || head - tail < REC_WORDS + n) {
            tail = head; /* cannot happen; never read garbage */
            break;
        }
        if (t->held)
            write_sample(s, t, t->held_ts, t->held_w, t->held_ips, (size_t)t->held_n);
        for (uint64_t i = 0; i < n; i++)
            t->held_ips[i] = t->words[(tail + REC_WORDS + i) & mask];
        t->held = 1;
        t->held_ts = ts;
        t->held_w = smooth(s, t, wt);
        t->held_n = n;
        tail += REC_WORDS + n;
    }
    atomic_store_explicit(&t->tail, tail, memory_order_release);
    if (final)
        flush_held(s, t);
}

/* Snapshot the thread list (the writer is the only one that removes). */
static struct thr **snapshot(struct vitte__sigprof *s, size_t *n)
{
    pthread_mutex_lock(&s->mx);
    struct thr **v = vitte__malloc((s->n_thr + 1) * sizeof *v);
    *n = 0;
    if (v != NULL) {
        memcpy(v, s->thr, s->n_thr * sizeof *v);
        *n = s->n_thr;
    }
    pthread_mutex_unlock(&s->mx);
    return v;
}

static void update_counts(struct vitte__sigprof *s)
{
    uint64_t lost = s->gone_dropped, unw = s->gone_unwind, tr = s->gone_truncated;
    pthread_mutex_lock(&s->mx);
    for (size_t i = 0; i < s->n_thr; i++) {
        lost += atomic_load_explicit(&s->thr[i]->dropped, memory_order_relaxed);
        unw += atomic_load_explicit(&s->thr[i]->unwind_failed, memory_order_relaxed);
        tr += atomic_load_explicit(&s->thr[i]->truncated, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->mx);
    atomic_store_explicit(&s->lost, lost, memory_order_relaxed);
    atomic_store_explicit(&s->unwind_failed, unw, memory_order_relaxed);
    atomic_store_explicit(&s->truncated, tr, memory_order_relaxed);
    /* Written with the next flush, only when they changed. */
    if (s->w != NULL &&
        (lost != s->counts_set[0] || unw != s->counts_set[1] || tr != s->counts_set[2])) {
        vitte__profw_counts c = {lost, unw, tr, 0, 0};
        vitte__profw_set_counts(s->w, &c);
        s->counts_set[0] = lost;
        s->counts_set[1] = unw;
        s->counts_set[2] = tr;
    }
}

static void drain_all(struct vitte__sigprof *s, int final)
{
    size_t n;
    struct thr **v = snapshot(s, &n);
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        drain(s, v[i], final);
    vitte__free(v);
}

/* Remove thread t (it exited, or the sampler stops): with s->mx held. */
static void retire(struct vitte__sigprof *s, size_t i)
{
    struct thr *t = s->thr[i];
    s->thr[i] = s->thr[--s->n_thr];
    if (t->has_timer)
        timer_delete(t->timer);
    s->gone_dropped += atomic_load_explicit(&t->dropped, memory_order_relaxed);
    s->gone_unwind += atomic_load_explicit(&t->unwind_failed, memory_order_relaxed);
    s->gone_truncated += atomic_load_explicit(&t->truncated, memory_order_relaxed);
    slot_free(s, t->slot);
    thr_free(t);
}

static int is_number(const char *p)
{
    if (*p == '\0')
        return 0;
    for (; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/* Arm the threads that appeared and retire the ones that exited. */
static void scan_threads(struct vitte__sigprof *s)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return;
    pthread_mutex_lock(&s->mx);
    uint64_t gen = s->scan_gen++;
    for (size_t i = 0; i < s->n_thr; i++)
        s->thr[i]->seen = 0;
    pthread_mutex_unlock(&s->mx);
    uint32_t self = (uint32_t)atomic_load(&s->writer_tid);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_number(e->d_name))
            continue;
        uint32_t tid = (uint32_t)strtoul(e->d_name, NULL, 10);
        if (tid == self)
            continue;
        pthread_mutex_lock(&s->mx);
        struct thr *t = find_thr(s, tid);
        if (t == NULL && atomic_load(&s->state) == ST_RUNNING)
            t = arm(s, tid, 0, 0);
        if (t != NULL)
            t->seen = 1;
        pthread_mutex_unlock(&s->mx);
    }
    closedir(d);
    /* Gone: not listed, and armed before the listing began (a thread armed
     * since, by the shim, may be missing from it). */
    pthread_mutex_lock(&s->mx);
    for (size_t i = 0; i < s->n_thr;) {
        struct thr *t = s->thr[i];
        if (!t->seen && t->born <= gen) {
            drain(s, t, 1);
            retire(s, i);
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&s->mx);
}

/* Stack bounds for the threads whose samples asked for them. */
static void resolve_stacks(struct vitte__sigprof *s)
{
    size_t n;
    struct thr **v = snapshot(s, &n);
    if (v == NULL)
        return;
    char *maps = NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        struct thr *t = v[i];
        uint64_t sp = atomic_exchange_explicit(&t->want_sp, 0, memory_order_relaxed);
        if (sp == 0)
            continue;
        if (maps == NULL && (maps = read_proc("/proc/self/maps", &len)) == NULL)
            break;
        for (char *line = maps; line != NULL && *line != '\0';) {
            char *nl = strchr(line, '\n');
            unsigned long long a, b;
            char perms[8] = "";
            int off = 0;
            if (sscanf(line, "%llx-%llx %7s %*s %*s %*s%n", &a, &b, perms, &off) >= 3 && sp >= a &&
                sp < b) {
                const char *p = line + off;
                while (*p == ' ')
                    p++;
                int anon = *p == '\n' || *p == '\0' || strncmp(p, "[stack", 6) == 0;
                if (perms[0] == 'r' && perms[1] == 'w' && anon) {
                    atomic_store_explicit(&t->stack_lo, a, memory_order_relaxed);
                    atomic_store_explicit(&t->stack_hi, b, memory_order_release);
                }
                break;
            }
            line = nl != NULL ? nl + 1 : NULL;
        }
    }
    vitte__free(maps);
    vitte__free(v);
}

/* New threads are named over their first three scans (programs name them
 * just after creating them); every thread again every RENAME_SCANS scans. */
static void name_threads(struct vitte__sigprof *s)
{
    size_t n;
    struct thr **v = snapshot(s, &n);
    if (v == NULL)
        return;
    int all = ++s->n_scans % RENAME_SCANS == 0;
    for (size_t i = 0; i < n; i++)
        if (all || v[i]->name_reads < 3) {
            v[i]->name_reads++;
            name_thread(s, v[i]);
        }
    vitte__free(v);
}

/* A fatal signal (or _exit: sig < 0) asked for everything to be written. */
static void emergency(struct vitte__sigprof *s, int sig)
{
    if (s->w != NULL) {
        drain_all(s, 1);
        update_counts(s);
        if (sig < 0) {
            note_error(s, vitte__profw_close(s->w, vitte_now_ns()));
            s->w = NULL;
        } else if (atomic_load(&g_emergency_end)) {
            const char *name = sig == SIGSEGV   ? "SIGSEGV"
                               : sig == SIGBUS  ? "SIGBUS"
                               : sig == SIGABRT ? "SIGABRT"
                               : sig == SIGFPE  ? "SIGFPE"
                               : sig == SIGILL  ? "SIGILL"
                               : sig == SIGTERM ? "SIGTERM"
                               : sig == SIGINT  ? "SIGINT"
                                                : "signal";
            vitte__profw_info(s->w, "terminated_by", name);
            note_error(s, vitte__profw_close(s->w, vitte_now_ns()));
            s->w = NULL; /* the file is complete; nothing more goes to it */
        } else {
            note_error(s, vitte__profw_flush(s->w));
        }
    }
    atomic_store(&g_emergency, 0);
    atomic_store(&g_emergency_done, 1);
}

static void *writer_main(void *arg)
{
    struct vitte__sigprof *s = arg;
    /* Termination requests go to the program's threads, not this one. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    atomic_store(&s->writer_tid, (int)gettid_u32());
    uint64_t last_scan = 0, last_flush = clock_ns(CLOCK_MONOTONIC);
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->efd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(DRAIN_NS / 1000000));
        if (pr > 0 && (pfd.revents & POLLNVAL)) {
            /* The program closed our descriptor (daemons close them all):
             * sleep instead, never spin. */
            struct timespec ts = {0, (long)DRAIN_NS};
            nanosleep(&ts, NULL);
        } else if (pr > 0) {
            uint64_t v;
            ssize_t r = read(s->efd, &v, sizeof v);
            (void)r;
        }
        int sig = atomic_load(&g_emergency);
        if (sig != 0) {
            emergency(s, sig);
            continue;
        }
        if (atomic_load(&s->stop) || s->w == NULL)
            continue;
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        scan_modules(s, 0); /* before draining: a new module's samples find it */
        if (now - last_scan >= SCAN_NS) {
            scan_threads(s);
            resolve_stacks(s);
            name_threads(s);
            last_scan = now;
        }
        drain_all(s, 0);
        if (now - last_flush >= FLUSH_NS) {
            update_counts(s);
            note_error(s, vitte__profw_flush(s->w));
            last_flush = now;
        }
    }
    return NULL;
}

/* ---- fork -------------------------------------------------------------------------------- */

static void fork_prepare(void)
{
    pthread_mutex_lock(&g_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&g_lock);
}

/* The child has no timers and no writer thread: the parent's sampler is
 * not the child's.  Its memory is left alone (the parent owns the file). */
static void fork_child(void)
{
    atomic_store(&g_active, NULL);
    atomic_store(&g_inflight, 0);
    atomic_store(&g_emergency, 0);
    g_session = NULL;
    pthread_mutex_unlock(&g_lock);
    if (g_fork_hook != NULL)
        g_fork_hook();
}

static void init_once(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void vitte__sigprof_set_fork_child_hook(void (*hook)(void))
{
    pthread_once(&g_once, init_once);
    g_fork_hook = hook;
}

/* ---- start and stop ----------------------------------------------------------------------- */

static void session_free(struct vitte__sigprof *s)
{
    for (size_t i = 0; i < s->n_thr; i++)
        thr_free(s->thr[i]);
    vitte__free(s->thr);
    for (size_t i = 0; i < SLOT_PAGES; i++)
        vitte__free(atomic_load_explicit(&s->pages[i], memory_order_relaxed));
    vitte__free(s->free_slots);
    if (s->efd >= 0)
        close(s->efd);
    pthread_mutex_destroy(&s->mx);
    vitte__free(s);
}

static void open_options(const vitte__sigprof_options *o, vitte__profw_options *po, char *comm,
                         size_t comm_cap, char *cmdline, size_t cmd_cap)
{
    memset(po, 0, sizeof *po);
    po->path = o->path;
    po->pid = (uint32_t)getpid();
    po->sampler = o->sampler != NULL ? o->sampler : "signal";
    po->call_graph = "fp";
    po->freq_hz = o->freq_hz;
    ssize_t n = read_small("/proc/self/comm", comm, comm_cap);
    if (n > 0) {
        comm[strcspn(comm, "\n")] = '\0';
        po->process_name = comm;
    }
    n = read_small("/proc/self/cmdline", cmdline, cmd_cap);
    if (n > 0) {
        for (ssize_t i = 0; i < n - 1; i++)
            if (cmdline[i] == '\0')
                cmdline[i] = ' ';
        po->cmdline = cmdline;
    }
}

int vitte__sigprof_start(const vitte__sigprof_options *o, vitte__sigprof **out, char err[256])
{
    *out = NULL;
    err[0] = '\0';
    if (o == NULL || o->path == NULL || o->path[0] == '\0') {
        snprintf(err, 256, "no output file");
        return VITTE_EINVAL;
    }
    if (!HAVE_SAMPLER) {
        snprintf(err, 256, "the signal sampler supports x86-64 and AArch64 only");
        return VITTE_ENOTSUP;
    }
    uint32_t freq = o->freq_hz != 0 ? o->freq_hz : 999;
    if (freq > 100000) {
        snprintf(err, 256, "sampling rate %u Hz is above 100 kHz", freq);
        return VITTE_EINVAL;
    }
    pthread_once(&g_once, init_once);
    (void)vitte_now_ns(); /* the clock is set up before any handler reads it */

    struct vitte__sigprof *s = vitte__calloc(1, sizeof *s);
    if (s == NULL)
        return VITTE_ENOMEM;
    s->efd = -1;
    pthread_mutex_init(&s->mx, NULL);
    for (size_t i = 0; i < SLOT_PAGES; i++)
        atomic_init(&s->pages[i], NULL);
    s->wall = o->wall != 0;
    s->symbolize = o->symbolize;
    s->pid = (uint32_t)getpid();
    s->period_ns = 1000000000ull / freq;
    s->next_slot = 1;
    s->tag = (uint32_t)((vitte_now_ns() ^ (uint64_t)getpid() * 40503u) % 2047u) + 1u;
    atomic_init(&s->state, ST_RUNNING);
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
    s->exe[n > 0 ? n : 0] = '\0';

    pthread_mutex_lock(&g_lock);
    if (g_session != NULL) {
        pthread_mutex_unlock(&g_lock);
        session_free(s);
        snprintf(err, 256, "a profiler is already running in this process");
        return VITTE_ESTATE;
    }
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        pthread_mutex_unlock(&g_lock);
        session_free(s);
        snprintf(err, 256, "eventfd: %s", strerror(errno));
        return VITTE_ENOTSUP;
    }
    vitte__profw_options po;
    char comm[64], cmdline[4096];
    open_options(o, &po, comm, sizeof comm, cmdline, sizeof cmdline);
    po.freq_hz = freq;
    int rc = vitte__profw_open(&po, &s->w, err);
    if (rc != VITTE_OK) {
        pthread_mutex_unlock(&g_lock);
        session_free(s);
        return rc;
    }
    vitte__profw_info(s->w, "sample_clock", s->wall ? "monotonic" : "thread_cputime");
    scan_modules(s, 1);

    rc = install_sigprof();
    if (rc != VITTE_OK) {
        snprintf(err, 256, "sigaction(SIGPROF): %s", strerror(errno));
        goto fail;
    }
    atomic_store(&g_active, s);
    /* The calling thread with its exact stack bounds, then the others. */
    uint64_t lo, hi;
    own_stack(&lo, &hi);
    pthread_mutex_lock(&s->mx);
    struct thr *me = arm(s, gettid_u32(), lo, hi);
    pthread_mutex_unlock(&s->mx);
    if (me == NULL) {
        snprintf(err, 256, "timer_create for the calling thread: %s", strerror(errno));
        rc = errno == EAGAIN ? VITTE_ELIMIT : VITTE_ENOTSUP;
        goto fail_armed;
    }
    scan_threads(s);
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        snprintf(err, 256, "cannot start the writer thread");
        rc = VITTE_ENOMEM;
        goto fail_armed;
    }
    s->writer_started = 1;
    if (o->catch_signals)
        install_fatal();
    g_session = s;
    pthread_mutex_unlock(&g_lock);
    *out = s;
    return VITTE_OK;

fail_armed:
    pthread_mutex_lock(&s->mx);
    for (size_t i = 0; i < s->n_thr; i++)
        if (s->thr[i]->has_timer) {
            timer_delete(s->thr[i]->timer);
            s->thr[i]->has_timer = 0;
        }
    pthread_mutex_unlock(&s->mx);
    restore_sigprof();
    atomic_store(&g_active, NULL);
    while (atomic_load(&g_inflight) != 0)
        sched_yield();
fail:
    pthread_mutex_unlock(&g_lock);
    vitte__profw_close(s->w, vitte_now_ns());
    s->w = NULL;
    unlink(o->path);
    session_free(s);
    return rc;
}

int vitte__sigprof_stop(vitte__sigprof *s)
{
    if (s == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&g_lock);
    if (g_session != s || atomic_load(&s->state) != ST_RUNNING) {
        pthread_mutex_unlock(&g_lock);
        return VITTE_ESTATE;
    }
    pthread_mutex_lock(&s->mx); /* no thread gets armed from here on */
    atomic_store(&s->state, ST_STOPPING);
    pthread_mutex_unlock(&s->mx);
    pthread_mutex_unlock(&g_lock);

    /* The writer first (it arms threads), then the timers. */
    atomic_store(&s->stop, 1);
    wake_writer(s);
    pthread_join(s->writer, NULL);
    pthread_mutex_lock(&s->mx);
    for (size_t i = 0; i < s->n_thr; i++)
        if (s->thr[i]->has_timer) {
            timer_delete(s->thr[i]->timer);
            s->thr[i]->has_timer = 0;
        }
    pthread_mutex_unlock(&s->mx);
    /* Discard what is still queued, then wait for handlers under way. */
    restore_sigprof();
    atomic_store(&g_active, NULL);
    while (atomic_load(&g_inflight) != 0)
        sched_yield();
    restore_fatal();

    int rc = VITTE_OK;
    if (s->w != NULL) {
        scan_modules(s, 0);
        drain_all(s, 1);
        update_counts(s);
        uint64_t samples = atomic_load(&s->samples), weight = atomic_load(&s->weight_ns);
        if (samples > 0 && weight > 0) {
            char buf[32];
            /* samples per second of (CPU or wall) time, per thread */
            snprintf(buf, sizeof buf, "%.1f", (double)samples * 1e9 / (double)weight);
            vitte__profw_info(s->w, "sample_rate_reached", buf);
        }
        note_error(s, vitte__profw_flush(s->w));
        if (s->symbolize)
            note_error(s, vitte__profw_symbolize(s->w, NULL, 0, NULL, NULL));
        rc = vitte__profw_close(s->w, vitte_now_ns());
        s->w = NULL;
    }
    if (rc == VITTE_OK)
        rc = s->err;
    pthread_mutex_lock(&g_lock);
    if (g_session == s)
        g_session = NULL;
    pthread_mutex_unlock(&g_lock);
    session_free(s);
    return rc;
}

void vitte__sigprof_get_stats(vitte__sigprof *s, vitte__sigprof_stats *out)
{
    memset(out, 0, sizeof *out);
    if (s == NULL)
        return;
    out->samples = atomic_load_explicit(&s->samples, memory_order_relaxed);
    out->weight_ns = atomic_load_explicit(&s->weight_ns, memory_order_relaxed);
    out->lost = atomic_load_explicit(&s->lost, memory_order_relaxed);
    out->unwind_failed = atomic_load_explicit(&s->unwind_failed, memory_order_relaxed);
    out->truncated = atomic_load_explicit(&s->truncated, memory_order_relaxed);
    out->threads = atomic_load_explicit(&s->n_armed, memory_order_relaxed);
    out->timer_errors = atomic_load_explicit(&s->timer_errors, memory_order_relaxed);
}

vitte__sigprof *vitte__sigprof_active(void)
{
    pthread_mutex_lock(&g_lock);
    struct vitte__sigprof *s = g_session;
    pthread_mutex_unlock(&g_lock);
    return s;
}

void vitte__sigprof_thread_begin(void)
{
    if (atomic_load_explicit(&g_active, memory_order_relaxed) == NULL)
        return; /* the common case: not profiling */
    uint64_t lo, hi;
    own_stack(&lo, &hi);
    pthread_mutex_lock(&g_lock);
    struct vitte__sigprof *s = g_session;
    if (s != NULL) {
        pthread_mutex_lock(&s->mx);
        if (atomic_load(&s->state) == ST_RUNNING)
            arm(s, gettid_u32(), lo, hi);
        pthread_mutex_unlock(&s->mx);
    }
    pthread_mutex_unlock(&g_lock);
}

int vitte__sigprof_is_own_thread(void *(*fn)(void *))
{
    return fn == writer_main;
}
