/* vitte_profile_run(): start a program and sample its call stacks with
 * perf_event_open, or hand over to the preload shim (signal sampler).
 *
 * The perf path (sampling.md §2): fork, the child waits on a pipe; one
 * software cpu-clock event per online CPU with pid = child, inherit (threads
 * and children), enable_on_exec (the profiler's own fork/exec is not
 * sampled), user space only (permitted at perf_event_paranoid 2); a ring
 * per CPU.  Then the child execs and this thread drains the rings, merges
 * their records by time, keeps the address space of every process from the
 * MMAP2/COMM/FORK records, and unwinds each sample:
 *
 *   --call-graph fp     the kernel's frame-pointer chain (PERF_SAMPLE_CALLCHAIN);
 *   --call-graph dwarf  a copy of the user stack and registers with each
 *                       sample, unwound here with libdw from .eh_frame /
 *                       .debug_frame (one Dwfl per process, modules reported
 *                       as they are mapped, CFI cached by libdw).
 *
 * Samples go through profw (profw.h) into the .vittrace, which is
 * symbolized at the end while the binaries still exist. */
#include <vitte/clock.h>
#include <vitte/profiler.h>
#include <vitte/system.h>
#include <vitte/trace.h>

#include <dirent.h>
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "prof/profw.h"
#include "prof/symbolize.h"

#define MAX_FRAMES 256
#define RECORD_MAX 65536 /* a perf record's size is a u16 */

/* perf's x86-64 user register numbers (arch/x86/include/uapi/asm/perf_regs.h) */
enum {
    PR_AX = 0,
    PR_BX = 1,
    PR_CX = 2,
    PR_DX = 3,
    PR_SI = 4,
    PR_DI = 5,
    PR_BP = 6,
    PR_SP = 7,
    PR_IP = 8,
    PR_R8 = 16,
    PR_R15 = 23
};
#define REGS_MASK                                                                                  \
    ((1ull << PR_AX) | (1ull << PR_BX) | (1ull << PR_CX) | (1ull << PR_DX) | (1ull << PR_SI) |     \
     (1ull << PR_DI) | (1ull << PR_BP) | (1ull << PR_SP) | (1ull << PR_IP) | (0xffull << PR_R8))
#define N_REGS 17 /* the bits of REGS_MASK */

/* ---- address spaces --------------------------------------------------------------------- */

struct pmap {
    uint64_t start, limit, pgoff;
    char *path;
    uint8_t bid[20];
    uint8_t bid_len;
    uint8_t reported; /* to the process's Dwfl */
};

struct proc {
    uint32_t pid;
    struct pmap *maps;
    size_t n_maps, cap_maps;
    Dwfl *dwfl;
    int attached, dwfl_failed;
};

struct ring {
    int fd;
    struct perf_event_mmap_page *meta;
    unsigned char *data;
    uint64_t size; /* data bytes, a power of two */
    size_t map_len;
};

struct pending {
    uint64_t ts;
    uint32_t seq;
    uint32_t off; /* into the drain buffer */
};

struct uctx {
    uint32_t tid;
    const uint64_t *regs; /* perf order, REGS_MASK bits */
    const unsigned char *stack;
    uint64_t stack_size, sp;
    uint64_t ips[MAX_FRAMES];
    size_t n;
};

struct run {
    const vitte_run_options *o;
    vitte_run_result *res;
    vitte__profw *w;
    pid_t child;
    int dwarf;
    uint32_t stack_bytes;
    struct ring *rings;
    size_t n_rings;
    struct proc *procs;
    size_t n_procs, cap_procs;
    unsigned char *buf; /* drained records */
    size_t buf_len, buf_cap;
    struct pending *pend;
    size_t n_pend, cap_pend;
    uint32_t *tids;
    size_t n_tids, cap_tids;
    int vdso_fd; /* a copy of this kernel's vDSO, for unwinding through it */
    uint64_t unwind_fail, truncated, lost, throttled, cpu_ns;
    struct uctx u;
    Dwfl_Callbacks dwfl_cb;
    char *debuginfo_path;
};

static void msg(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(struct run *r, const char *fmt, ...)
{
    if (r->o->on_message == NULL)
        return;
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    r->o->on_message(r->o->arg, b);
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return VITTE_OK;
    size_t c = *cap ? *cap * 2 : 16;
    while (c <= n)
        c *= 2;
    void *q = vitte__realloc(*p, c * size);
    if (q == NULL)
        return VITTE_ENOMEM;
    *p = q;
    *cap = c;
    return VITTE_OK;
}

static struct proc *proc_get(struct run *r, uint32_t pid, int create)
{
    for (size_t i = 0; i < r->n_procs; i++)
        if (r->procs[i].pid == pid)
            return &r->procs[i];
    if (!create || grow((void **)&r->procs, &r->cap_procs, r->n_procs, sizeof *r->procs))
        return NULL;
    struct proc *p = &r->procs[r->n_procs++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    return p;
}

static void proc_reset(struct proc *p)
{
    for (size_t i = 0; i < p->n_maps; i++)
        vitte__free(p->maps[i].path);
    p->n_maps = 0;
    if (p->dwfl != NULL)
        dwfl_end(p->dwfl);
    p->dwfl = NULL;
    p->attached = p->dwfl_failed = 0;
}

static void note_tid(struct run *r, uint32_t tid)
{
    for (size_t i = 0; i < r->n_tids; i++)
        if (r->tids[i] == tid)
            return;
    if (grow((void **)&r->tids, &r->cap_tids, r->n_tids, sizeof *r->tids) == VITTE_OK)
        r->tids[r->n_tids++] = tid;
}

/* ---- libdw unwinding ----------------------------------------------------------------- */

/* No separate debug files for unwinding (.eh_frame is in the binary), and
 * never debuginfod. */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                        char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc;
    *debuginfo_file_name = NULL;
    return -1;
}

static pid_t u_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
    (void)dwfl;
    struct run *r = arg;
    if (*thread_argp != NULL)
        return 0;
    *thread_argp = &r->u;
    return (pid_t)r->u.tid;
}

static bool u_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
    (void)dwfl;
    struct run *r = arg;
    *thread_argp = &r->u;
    return (uint32_t)tid == r->u.tid;
}

static bool u_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
    (void)dwfl;
    struct run *r = arg;
    const struct uctx *u = &r->u;
    if (addr < u->sp || addr - u->sp + 8 > u->stack_size)
        return false;
    memcpy(result, u->stack + (addr - u->sp), 8);
    return true;
}

static bool u_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
    const struct uctx *u = thread_arg;
    const uint64_t *g = u->regs; /* in mask order: AX BX CX DX SI DI BP SP IP R8..R15 */
    Dwarf_Word d[17];
    d[0] = g[0]; /* rax */
    d[1] = g[3]; /* rdx */
    d[2] = g[2]; /* rcx */
    d[3] = g[1]; /* rbx */
    d[4] = g[4]; /* rsi */
    d[5] = g[5]; /* rdi */
    d[6] = g[6]; /* rbp */
    d[7] = g[7]; /* rsp */
    for (int i = 0; i < 8; i++)
        d[8 + i] = g[9 + i]; /* r8..r15 */
    d[16] = g[8];            /* rip */
    if (!dwfl_thread_state_registers(thread, 0, 17, d))
        return false;
    dwfl_thread_state_register_pc(thread, g[8]);
    return true;
}

static const Dwfl_Thread_Callbacks thread_cb = {
    u_next_thread, u_get_thread, u_memory_read, u_set_initial_registers, NULL, NULL};

/* The load bias of a module: mapping start minus the ELF virtual address
 * of the mapped file offset (from the PT_LOAD segment that holds it). */
static int module_bias(int fd, uint64_t start, uint64_t pgoff, uint64_t *bias)
{
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (e == NULL)
        return -1;
    size_t n;
    int rc = -1;
    GElf_Ehdr eh;
    if (gelf_getehdr(e, &eh) != NULL && elf_getphdrnum(e, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(e, (int)i, &ph) == NULL || ph.p_type != PT_LOAD)
                continue;
            uint64_t a = ph.p_offset & ~(uint64_t)0xfff;
            if (pgoff >= a && pgoff < ph.p_offset + ph.p_filesz) {
                uint64_t vaddr = ph.p_vaddr - (ph.p_offset - pgoff);
                *bias = eh.e_type == ET_EXEC ? 0 : start - vaddr;
                rc = 0;
                break;
            }
        }
    }
    elf_end(e);
    return rc;
}

static void report_module(struct run *r, struct proc *p, struct pmap *m)
{
    m->reported = 1;
    if (p->dwfl == NULL)
        return;
    int fd;
    if (strcmp(m->path, "[vdso]") == 0) {
        if (r->vdso_fd < 0)
            return;
        fd = dup(r->vdso_fd);
    } else {
        if (m->path[0] != '/')
            return; /* anonymous, [heap], [stack], JIT... */
        fd = open(m->path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return;
    uint64_t bias;
    if (module_bias(fd, m->start, m->pgoff, &bias) != 0) {
        close(fd);
        return;
    }
    dwfl_report_begin_add(p->dwfl);
    /* The Dwfl owns fd from here (closed by dwfl_end). */
    dwfl_report_elf(p->dwfl, m->path, m->path, fd, bias, true);
    dwfl_report_end(p->dwfl, NULL, NULL);
}

/* Point the callbacks at this sample; make sure p has an attached Dwfl.
 * 0 when unwinding can go ahead. */
static int unwind_prepare(struct run *r, struct proc *p, uint32_t tid, const uint64_t *regs,
                          const unsigned char *stack, uint64_t size)
{
    struct uctx *u = &r->u;
    u->n = 0;
    u->tid = tid;
    u->regs = regs;
    u->stack = stack;
    u->stack_size = size;
    u->sp = regs[7];
    if (p->dwfl_failed)
        return -1;
    if (p->dwfl == NULL) {
        if ((p->dwfl = dwfl_begin(&r->dwfl_cb)) == NULL) {
            p->dwfl_failed = 1;
            return -1;
        }
        for (size_t i = 0; i < p->n_maps; i++)
            report_module(r, p, &p->maps[i]);
    }
    if (!p->attached) {
        if (!dwfl_attach_state(p->dwfl, NULL, (pid_t)p->pid, &thread_cb, r))
            return -1; /* no module with an ELF yet: try again later */
        p->attached = 1;
    }
    return 0;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
    struct uctx *u = arg;
    Dwarf_Addr pc;
    bool act;
    if (!dwfl_frame_pc(state, &pc, &act) || pc == 0)
        return DWARF_CB_ABORT;
    if (u->n >= MAX_FRAMES)
        return DWARF_CB_ABORT;
    u->ips[u->n++] = pc;
    return DWARF_CB_OK;
}

/* Unwind into r->u.ips: returns 0 for a complete stack, 1 when it stopped
 * early (error or copy exhausted). */
static int unwind_dwarf(struct run *r, struct proc *p, uint32_t tid, const uint64_t *regs,
                        const unsigned char *stack, uint64_t size)
{
    struct uctx *u = &r->u;
    if (unwind_prepare(r, p, tid, regs, stack, size) != 0) {
        u->n = 1;
        u->ips[0] = regs[8];
        return 1;
    }
    u->n = 0;
    int rc = dwfl_getthread_frames(p->dwfl, (pid_t)tid, frame_cb, u);
    if (u->n == 0) {
        u->ips[u->n++] = regs[8];
        return 1;
    }
    return rc != 0 && u->n < MAX_FRAMES ? 1 : 0;
}

/* ---- records ------------------------------------------------------------------------------- */

static void add_mapping(struct run *r, uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
                        const char *path, const uint8_t *bid, size_t bid_len)
{
    struct proc *p = proc_get(r, pid, 1);
    if (p == NULL || len == 0)
        return;
    if (grow((void **)&p->maps, &p->cap_maps, p->n_maps, sizeof *p->maps) != VITTE_OK)
        return;
    struct pmap *m = &p->maps[p->n_maps];
    memset(m, 0, sizeof *m);
    if ((m->path = vitte__strdup(path)) == NULL)
        return;
    m->start = start;
    m->limit = start + len;
    m->pgoff = pgoff;
    uint8_t fbid[20];
    if (bid_len == 0 && path[0] == '/') {
        int n = vitte__elf_build_id(path, fbid, sizeof fbid);
        if (n > 0) {
            bid = fbid;
            bid_len = (size_t)n;
        }
    }
    if (bid_len > sizeof m->bid)
        bid_len = sizeof m->bid;
    if (bid_len > 0)
        memcpy(m->bid, bid, bid_len);
    m->bid_len = (uint8_t)bid_len;
    p->n_maps++;
    report_module(r, p, m);
    vitte__profw_mapping(r->w, pid, start, start + len, pgoff, path, m->bid, m->bid_len);
}

/* The process forked: the child starts with the parent's mappings. */
static void fork_proc(struct run *r, uint32_t ppid, uint32_t pid)
{
    struct proc *pp = proc_get(r, ppid, 0);
    struct proc *p = proc_get(r, pid, 1);
    if (p == NULL)
        return;
    proc_reset(p);
    pp = proc_get(r, ppid, 0); /* the array may have moved */
    if (pp == NULL)
        return;
    size_t n = pp->n_maps;
    for (size_t i = 0; i < n; i++) {
        pp = proc_get(r, ppid, 0);
        struct pmap m = pp->maps[i];
        add_mapping(r, pid, m.start, m.limit - m.start, m.pgoff, m.path, m.bid, m.bid_len);
    }
}

static void thread_name(struct run *r, uint32_t pid, uint32_t tid, const char *comm)
{
    vitte__profw_thread(r->w, pid, tid, comm);
}

/* Parse one record (hdr first); sample_type tells the SAMPLE layout. */
static void handle_record(struct run *r, const unsigned char *rec, uint64_t sample_type)
{
    const struct perf_event_header *h = (const void *)rec;
    const unsigned char *p = rec + sizeof *h, *end = rec + h->size;
#define TAKE(dst, n)                                                                               \
    do {                                                                                           \
        if ((size_t)(end - p) < (n))                                                               \
            return;                                                                                \
        memcpy((dst), p, (n));                                                                     \
        p += (n);                                                                                  \
    } while (0)
    switch (h->type) {
    case PERF_RECORD_SAMPLE: {
        uint64_t ip, ts, period = 0;
        uint32_t pt[2], cpu[2];
        TAKE(&ip, 8);
        TAKE(pt, 8);
        TAKE(&ts, 8);
        TAKE(cpu, 8);
        TAKE(&period, 8);
        uint32_t pid = pt[0], tid = pt[1];
        if (r->o->no_follow_fork && pid != (uint32_t)r->child)
            return;
        note_tid(r, tid);
        struct proc *pr = proc_get(r, pid, 1);
        if (pr == NULL)
            return;
        r->cpu_ns += period;
        if (sample_type & PERF_SAMPLE_CALLCHAIN) {
            uint64_t nr;
            TAKE(&nr, 8);
            if (nr > (uint64_t)(end - p) / 8)
                return;
            uint64_t ips[MAX_FRAMES];
            size_t n = 0;
            for (uint64_t i = 0; i < nr; i++) {
                uint64_t a;
                memcpy(&a, p + 8 * i, 8);
                if (a >= PERF_CONTEXT_MAX)
                    continue; /* PERF_CONTEXT_USER and friends */
                if (n < MAX_FRAMES)
                    ips[n++] = a;
            }
            if (n == 0)
                ips[n++] = ip;
            if (n == 1)
                r->unwind_fail++;
            vitte__profw_sample(r->w, pid, tid, ts, period, VITTE_SAMPLE_CPU, ips, n);
        } else {
            uint64_t abi, regs[N_REGS], size, dyn = 0;
            TAKE(&abi, 8);
            if (abi != PERF_SAMPLE_REGS_ABI_NONE)
                TAKE(regs, sizeof regs);
            TAKE(&size, 8);
            const unsigned char *stack = p;
            if (size > (uint64_t)(end - p))
                return;
            p += size;
            if (size > 0)
                TAKE(&dyn, 8);
            if (abi == PERF_SAMPLE_REGS_ABI_NONE) {
                /* a kernel thread or no user context: only the ip */
                vitte__profw_sample(r->w, pid, tid, ts, period, VITTE_SAMPLE_CPU, &ip, 1);
                r->unwind_fail++;
                return;
            }
            int cut = unwind_dwarf(r, pr, tid, regs, stack, dyn);
            if (r->u.n <= 1)
                r->unwind_fail++;
            else if (cut)
                r->truncated++;
            vitte__profw_sample(r->w, pid, tid, ts, period, VITTE_SAMPLE_CPU, r->u.ips, r->u.n);
        }
        break;
    }
    case PERF_RECORD_MMAP2: {
        uint32_t pt[2], prot, flags;
        uint64_t addr, len, pgoff;
        unsigned char id[24];
        TAKE(pt, 8);
        TAKE(&addr, 8);
        TAKE(&len, 8);
        TAKE(&pgoff, 8);
        TAKE(id, 24);
        TAKE(&prot, 4);
        TAKE(&flags, 4);
        size_t n = strnlen((const char *)p, (size_t)(end - p));
        if (n == (size_t)(end - p))
            return;
        const char *path = (const char *)p;
        const uint8_t *bid = NULL;
        size_t bid_len = 0;
        if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
            bid_len = id[0] <= 20 ? id[0] : 20;
            bid = id + 4;
        }
        if (!(prot & PROT_EXEC))
            return;
        add_mapping(r, pt[0], addr, len, pgoff, path, bid, bid_len);
        break;
    }
    case PERF_RECORD_COMM: {
        uint32_t pt[2];
        TAKE(pt, 8);
        size_t n = strnlen((const char *)p, (size_t)(end - p));
        if (n == (size_t)(end - p))
            return;
        if (h->misc & PERF_RECORD_MISC_COMM_EXEC) {
            /* exec: a new address space; its MMAP2 records follow */
            struct proc *pr = proc_get(r, pt[0], 0);
            if (pr != NULL && pt[0] == pt[1])
                proc_reset(pr);
            vitte__profw_exec(r->w, pt[0]);
        }
        note_tid(r, pt[1]);
        thread_name(r, pt[0], pt[1], (const char *)p);
        break;
    }
    case PERF_RECORD_FORK: {
        uint32_t v[4]; /* pid, ppid, tid, ptid */
        TAKE(v, 16);
        note_tid(r, v[2]);
        if (v[0] != v[1] && v[0] == v[2] && !r->o->no_follow_fork)
            fork_proc(r, v[1], v[0]);
        break;
    }
    case PERF_RECORD_LOST: {
        uint64_t v[2];
        TAKE(v, 16);
        r->lost += v[1];
        break;
    }
    case PERF_RECORD_LOST_SAMPLES: {
        uint64_t v;
        TAKE(&v, 8);
        r->lost += v;
        break;
    }
    case PERF_RECORD_THROTTLE:
        r->throttled++;
        break;
    default:
        break;
    }
#undef TAKE
}

/* The time of a record: SAMPLE has it after ip and tid; the others carry
 * the sample_id trailer (TID, TIME, CPU: 24 bytes at the end). */
static uint64_t record_time(const unsigned char *rec)
{
    const struct perf_event_header *h = (const void *)rec;
    uint64_t ts = 0;
    if (h->type == PERF_RECORD_SAMPLE) {
        if (h->size >= sizeof *h + 24)
            memcpy(&ts, rec + sizeof *h + 16, 8);
    } else if (h->size >= sizeof *h + 24) {
        memcpy(&ts, rec + h->size - 16, 8);
    }
    return ts;
}

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Copy every record out of the rings, then handle them in time order. */
static void drain(struct run *r, uint64_t sample_type)
{
    r->buf_len = 0;
    r->n_pend = 0;
    for (size_t i = 0; i < r->n_rings; i++) {
        struct ring *g = &r->rings[i];
        uint64_t head = __atomic_load_n(&g->meta->data_head, __ATOMIC_ACQUIRE);
        uint64_t tail = g->meta->data_tail;
        while (tail < head) {
            struct perf_event_header h;
            uint64_t at = tail & (g->size - 1);
            for (size_t k = 0; k < sizeof h; k++)
                ((unsigned char *)&h)[k] = g->data[(at + k) & (g->size - 1)];
            if (h.size < sizeof h || tail + h.size > head)
                break;
            if (grow((void **)&r->buf, &r->buf_cap, r->buf_len + h.size + 8, 1) != VITTE_OK ||
                grow((void **)&r->pend, &r->cap_pend, r->n_pend, sizeof *r->pend) != VITTE_OK)
                break;
            unsigned char *dst = r->buf + r->buf_len;
            uint64_t first = g->size - at < h.size ? g->size - at : h.size;
            memcpy(dst, g->data + at, first);
            memcpy(dst + first, g->data, h.size - first);
            r->pend[r->n_pend++] =
                (struct pending){record_time(dst), (uint32_t)r->n_pend, (uint32_t)r->buf_len};
            r->buf_len += (h.size + 7) & ~(size_t)7;
            tail += h.size;
        }
        __atomic_store_n(&g->meta->data_tail, tail, __ATOMIC_RELEASE);
    }
    qsort(r->pend, r->n_pend, sizeof *r->pend, cmp_pending);
    for (size_t i = 0; i < r->n_pend; i++)
        handle_record(r, r->buf + r->pend[i].off, sample_type);
}

/* ---- setup ------------------------------------------------------------------------------------
 */

static long perf_open(struct perf_event_attr *a, pid_t pid, int cpu)
{
    return syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void fill_attr(struct perf_event_attr *a, const struct run *r)
{
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->type = PERF_TYPE_SOFTWARE;
    a->config = PERF_COUNT_SW_CPU_CLOCK;
    a->freq = 1;
    a->sample_freq = r->o->freq_hz;
    a->sample_type =
        PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD;
    if (r->dwarf) {
        a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
        a->sample_regs_user = REGS_MASK;
        a->sample_stack_user = r->stack_bytes;
    } else {
        a->sample_type |= PERF_SAMPLE_CALLCHAIN;
        a->exclude_callchain_kernel = 1;
    }
    a->disabled = 1;
    a->enable_on_exec = 1;
    a->inherit = 1;
    a->exclude_kernel = 1;
    a->exclude_hv = 1;
    a->mmap = 1;
    a->mmap2 = 1;
    a->comm = 1;
    a->comm_exec = 1;
    a->task = 1;
    a->sample_id_all = 1;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    a->watermark = 1;
    a->build_id = 1;
}

/* Why perf_event_open failed, and what to do about it. */
static void perf_denied_text(char *out, size_t n, int e)
{
    int level = 99;
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    if (f != NULL) {
        if (fscanf(f, "%d", &level) != 1)
            level = 99;
        fclose(f);
    }
    if (e == ENOSYS || e == ENOENT)
        snprintf(out, n, "perf_event_open is not available here (%s)", strerror(e));
    else if (level != 99 && level <= 2)
        snprintf(out, n,
                 "perf_event_open refused (%s) although kernel.perf_event_paranoid is %d: a "
                 "seccomp policy or a container forbids it (allow the perf_event_open system "
                 "call, or run outside the container)",
                 strerror(e), level);
    else if (level != 99)
        snprintf(out, n,
                 "perf_event_open refused (%s; kernel.perf_event_paranoid = %d): set "
                 "kernel.perf_event_paranoid <= 2 or grant CAP_PERFMON",
                 strerror(e), level);
    else
        snprintf(out, n, "perf_event_open refused (%s)", strerror(e));
}

/* Can this process sample a child with perf?  0 or errno. */
static int perf_probe(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = perf_open(&a, 0, -1);
    if (fd < 0)
        return errno;
    close((int)fd);
    return 0;
}

static int open_rings(struct run *r, pid_t child, char *why, size_t why_n)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    if (ncpu < 1)
        ncpu = 1;
    r->rings = vitte__calloc((size_t)ncpu, sizeof *r->rings);
    if (r->rings == NULL)
        return VITTE_ENOMEM;
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = geteuid() == 0 ? 512 : 64; /* unprivileged: perf_event_mlock_kb per CPU */
    struct perf_event_attr a;
    fill_attr(&a, r);
    for (long c = 0; c < ncpu; c++) {
        long fd = perf_open(&a, child, (int)c);
        if (fd < 0 && errno == EINVAL) {
            a.build_id = 0; /* before Linux 5.12 */
            fd = perf_open(&a, child, (int)c);
        }
        if (fd < 0) {
            if (errno == ENODEV || errno == EBUSY)
                continue; /* an offline CPU */
            perf_denied_text(why, why_n, errno);
            return VITTE_EPERM;
        }
        struct ring *g = &r->rings[r->n_rings];
        g->fd = (int)fd;
        for (;;) {
            a.wakeup_watermark = (uint32_t)(pages * (size_t)page / 4);
            size_t len = (pages + 1) * (size_t)page;
            void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
            if (m != MAP_FAILED) {
                g->meta = m;
                g->data = (unsigned char *)m + page;
                g->size = (uint64_t)pages * (uint64_t)page;
                g->map_len = len;
                break;
            }
            if ((errno == EPERM || errno == ENOMEM) && pages > 8) {
                pages /= 2; /* over perf_event_mlock_kb: a smaller ring */
                continue;
            }
            snprintf(why, why_n, "cannot map the perf ring buffer (%s)", strerror(errno));
            close((int)fd);
            return VITTE_EPERM;
        }
        r->n_rings++;
    }
    return r->n_rings > 0 ? VITTE_OK : VITTE_EPERM;
}

/* A copy of this kernel's vDSO in a memfd (the child's is the same image). */
static int vdso_copy(void)
{
    unsigned long base = getauxval(AT_SYSINFO_EHDR);
    if (base == 0)
        return -1;
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        return -1;
    char line[512];
    unsigned long lo = 0, hi = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "[vdso]") != NULL && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            break;
    fclose(f);
    if (lo != base || hi <= lo)
        return -1;
    int fd = (int)syscall(SYS_memfd_create, "vdso", 1u /* MFD_CLOEXEC */);
    if (fd < 0)
        return -1;
    if (write(fd, (const void *)lo, hi - lo) != (ssize_t)(hi - lo)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the run ----------------------------------------------------------------------------------
 */

void vitte_run_options_init(vitte_run_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->freq_hz = 999;
    o->call_graph = VITTE_CALL_GRAPH_DWARF;
    o->stack_bytes = 16384;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void cmdline_of(char *const argv[], char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; argv[i] != NULL && k + 1 < n; i++)
        k += (size_t)snprintf(out + k, n - k, i ? " %s" : "%s", argv[i]);
}

static void sym_progress(void *arg, uint64_t done, uint64_t total)
{
    const struct run *r = arg;
    if (r->o->on_progress != NULL)
        r->o->on_progress(r->o->arg, "symbolizing", done, total);
}

/* fork + exec with a start pipe; the child reports an exec failure's errno
 * on a close-on-exec pipe.  env: extra "K=V" entries (NULL-terminated) or NULL. */
static pid_t spawn(char *const argv[], int *go_fd, int *err_fd, char *const *env, int mark_pid)
{
    int go[2], er[2];
    if (pipe2(go, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(er, O_CLOEXEC) != 0) {
        close(go[0]);
        close(go[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(go[0]);
        close(go[1]);
        close(er[0]);
        close(er[1]);
        return -1;
    }
    if (pid == 0) {
        close(go[1]);
        close(er[0]);
        char c;
        while (read(go[0], &c, 1) < 0 && errno == EINTR) {
        }
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv(env[i]);
        if (mark_pid) {
            char b[32];
            snprintf(b, sizeof b, "%d", (int)getpid());
            setenv("VITTE_PROFILE_PID", b, 1);
        }
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(er[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(go[0]);
    close(er[1]);
    *go_fd = go[1];
    *err_fd = er[0];
    return pid;
}

static void start_failed(vitte_run_result *res, const char *prog, int e)
{
    snprintf(res->message, sizeof res->message, "cannot run %s: %s", prog,
             e == ENOENT ? "command not found" : strerror(e));
}

/* Wait for exec: 0 when it happened, the exec errno otherwise. */
static int exec_result(int err_fd)
{
    int e = 0;
    ssize_t n;
    while ((n = read(err_fd, &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(err_fd);
    return n == (ssize_t)sizeof e ? e : 0;
}

static int wait_child(pid_t pid, int *status, int block)
{
    for (;;) {
        pid_t w = waitpid(pid, status, block ? 0 : WNOHANG);
        if (w == pid)
            return 1;
        if (w == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* The signal sampler: the shim does the work inside the program. */
static int run_signal(char *const argv[], const vitte_run_options *o, vitte_run_result *res,
                      const char *out)
{
    char shim[4096];
    if (o->preload != NULL) {
        snprintf(shim, sizeof shim, "%s", o->preload);
    } else {
        Dl_info di;
        shim[0] = '\0';
        if (dladdr((void *)vitte_profile_run, &di) != 0 && di.dli_fname != NULL) {
            char dir[3800];
            snprintf(dir, sizeof dir, "%s", di.dli_fname);
            char *slash = strrchr(dir, '/');
            if (slash != NULL)
                *slash = '\0';
            snprintf(shim, sizeof shim, "%s/vitte/libvitte_preload.so", dir);
            if (access(shim, R_OK) != 0)
                snprintf(shim, sizeof shim, "%s/libvitte_preload.so", dir);
        }
    }
    if (shim[0] == '\0' || access(shim, R_OK) != 0) {
        snprintf(res->message, sizeof res->message,
                 "the preload shim libvitte_preload.so was not found (looked next to libvitte); "
                 "set VITTE_PRELOAD");
        return VITTE_ENOENT;
    }
    char abs_out[4096];
    if (out[0] != '/' && getcwd(abs_out, sizeof abs_out - 1) != NULL) {
        size_t k = strlen(abs_out);
        snprintf(abs_out + k, sizeof abs_out - k, "/%s", out);
    } else {
        snprintf(abs_out, sizeof abs_out, "%s", out);
    }
    const char *old = getenv("LD_PRELOAD");
    size_t n = strlen(shim) + (old ? strlen(old) : 0) + 32;
    char *pre = vitte__malloc(n);
    char *prof = vitte__malloc(strlen(abs_out) + 16);
    char freq[48], wall[32], cg[32];
    if (pre == NULL || prof == NULL) {
        vitte__free(pre);
        vitte__free(prof);
        return VITTE_ENOMEM;
    }
    snprintf(pre, n, "LD_PRELOAD=%s%s%s", shim, old && old[0] ? ":" : "", old ? old : "");
    sprintf(prof, "VITTE_PROFILE=%s", abs_out);
    snprintf(freq, sizeof freq, "VITTE_PROFILE_FREQ=%u", o->freq_hz);
    snprintf(wall, sizeof wall, "VITTE_PROFILE_WALL=%d", o->wall ? 1 : 0);
    snprintf(cg, sizeof cg, "VITTE_PROFILE_SAMPLER=signal");
    char *env[] = {pre, prof, freq, wall, cg, NULL};
    int go, er;
    uint64_t t0 = mono_ns();
    pid_t pid = spawn(argv, &go, &er, env, 1);
    if (pid < 0) {
        vitte__free(pre);
        vitte__free(prof);
        snprintf(res->message, sizeof res->message, "fork: %s", strerror(errno));
        return VITTE_EIO;
    }
    if (o->on_start != NULL)
        o->on_start(o->arg, (int)pid);
    close(go);
    int e = exec_result(er);
    int st = 0;
    wait_child(pid, &st, 1);
    vitte__free(pre);
    vitte__free(prof);
    res->wall_ns = mono_ns() - t0;
    if (e != 0) {
        start_failed(res, argv[0], e);
        return VITTE_ENOENT;
    }
    res->wait_status = st;
    res->sampler = VITTE_SAMPLER_SIGNAL;
    /* Read the counts back from the file the shim wrote. */
    vitte_trace_reader *rd;
    if (vitte_trace_reader_open(out, 0, &rd, NULL) == VITTE_OK) {
        const vitte_trace_event *ev;
        while (vitte_trace_reader_next(rd, &ev, NULL) == 1)
            if (ev->type == VITTE_EVENT_SAMPLE) {
                res->samples++;
                res->cpu_ns += ev->dur_ns;
                if (ev->n_frames <= 1)
                    res->unwind_failed++;
            }
        size_t nt;
        vitte_trace_reader_threads(rd, &nt);
        res->threads = (uint32_t)nt;
        res->processes = 1;
        vitte_trace_reader_close(rd);
    } else {
        snprintf(res->message, sizeof res->message,
                 "the program ran but left no readable profile in %s (did it clear LD_PRELOAD?)",
                 out);
    }
    return VITTE_OK;
}

/* --system: one sample of the program and the machine as counter tracks on
 * the program's main thread. */
struct sysrec {
    vitte_proc *proc;
    vitte_host *host;
    uint64_t next_ns, interval_ns;
};

static void system_sample(struct run *r, struct sysrec *s, uint64_t now)
{
    if (now < s->next_ns)
        return;
    s->next_ns = now + s->interval_ns;
    uint32_t tid = (uint32_t)r->child;
    vitte_proc_sample ps;
    /* RSS 0: a zombie (exited, not yet reaped): nothing to record. */
    if (s->proc != NULL && vitte_proc_sample_read(s->proc, &ps) == VITTE_OK && ps.rss_bytes > 0) {
        uint64_t t = ps.time_ns;
        vitte__profw_counter(r->w, tid, "cpu_percent", "process", t, ps.cpu_percent);
        vitte__profw_counter(r->w, tid, "rss_bytes", "process", t, (double)ps.rss_bytes);
        vitte__profw_counter(r->w, tid, "threads", "process", t, (double)ps.threads);
        vitte__profw_counter(r->w, tid, "minor_faults", "process", t, (double)ps.minor_faults);
        vitte__profw_counter(r->w, tid, "major_faults", "process", t, (double)ps.major_faults);
        if (ps.valid & VITTE_PROC_STATUS) {
            vitte__profw_counter(r->w, tid, "voluntary_ctxt_switches", "process", t,
                                 (double)ps.voluntary_ctxt_switches);
            vitte__profw_counter(r->w, tid, "involuntary_ctxt_switches", "process", t,
                                 (double)ps.involuntary_ctxt_switches);
        }
        if (ps.valid & VITTE_PROC_IO) {
            vitte__profw_counter(r->w, tid, "io_read_bytes", "process", t, (double)ps.io_rchar);
            vitte__profw_counter(r->w, tid, "io_write_bytes", "process", t, (double)ps.io_wchar);
        }
        if (ps.valid & VITTE_PROC_FDS)
            vitte__profw_counter(r->w, tid, "open_fds", "process", t, (double)ps.open_fds);
    }
    vitte_host_sample hs;
    if (s->host != NULL && vitte_host_sample_read(s->host, &hs) == VITTE_OK) {
        uint64_t t = vitte_now_ns();
        vitte__profw_counter(r->w, tid, "host_cpu_percent", "system", t, hs.cpu_percent);
        vitte__profw_counter(r->w, tid, "mem_available_bytes", "system", t,
                             (double)hs.mem_available_bytes);
    }
}

static void close_rings(struct run *r)
{
    for (size_t i = 0; i < r->n_rings; i++) {
        munmap(r->rings[i].meta, r->rings[i].map_len);
        close(r->rings[i].fd);
    }
    vitte__free(r->rings);
    r->rings = NULL;
    r->n_rings = 0;
}

int vitte_profile_run(char *const argv[], const vitte_run_options *uo, vitte_run_result *res)
{
    vitte_run_options o;
    vitte_run_options_init(&o);
    if (res == NULL || argv == NULL || argv[0] == NULL)
        return VITTE_EINVAL;
    memset(res, 0, sizeof *res);
    res->wait_status = -1;
    if (uo != NULL) {
        if (uo->struct_size < sizeof(size_t) || uo->struct_size > sizeof o)
            return VITTE_EINVAL;
        memcpy(&o, uo, uo->struct_size);
    }
    if (o.freq_hz == 0)
        o.freq_hz = 999;
    if (o.stack_bytes == 0)
        o.stack_bytes = 16384;
    if (o.freq_hz > 100000 || o.stack_bytes > 65528 || (o.stack_bytes & 7))
        return VITTE_EINVAL;
    const char *out = o.out != NULL ? o.out : "vitte.vittrace";

    struct run r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    r.res = res;
    r.vdso_fd = -1;
    r.dwarf = o.call_graph == VITTE_CALL_GRAPH_DWARF;
    r.stack_bytes = o.stack_bytes;

    vitte_sampler which = o.sampler;
    if (o.wall)
        which = VITTE_SAMPLER_SIGNAL;
    if (which == VITTE_SAMPLER_AUTO) {
        int e = perf_probe();
        if (e == 0) {
            which = VITTE_SAMPLER_PERF;
        } else {
            char why[200];
            perf_denied_text(why, sizeof why, e);
            msg(&r, "sampler: signal (%s)", why);
            which = VITTE_SAMPLER_SIGNAL;
        }
    } else if (which == VITTE_SAMPLER_PERF && perf_probe() != 0) {
        perf_denied_text(res->message, sizeof res->message, errno);
        return VITTE_EPERM;
    }
    if (which == VITTE_SAMPLER_SIGNAL) {
        if (o.wall)
            msg(&r, "sampler: signal, wall-clock timers per thread (--wall)");
        return run_signal(argv, &o, res, out);
    }
    res->sampler = VITTE_SAMPLER_PERF;

    char cmd[1024];
    cmdline_of(argv, cmd, sizeof cmd);
    vitte__profw_options wo = {out, 0, NULL, cmd, "perf", r.dwarf ? "dwarf" : "fp", o.freq_hz, 0};
    const char *base = strrchr(argv[0], '/');
    wo.process_name = base != NULL ? base + 1 : argv[0];
    /* A program built with libvitte traces its spans into a side file (unless
     * VITTE_TRACE is set already), copied into the profile at the end. */
    char spans_env[4200], spans_path[4200];
    char *env[] = {spans_env, NULL};
    int import_spans = getenv("VITTE_TRACE") == NULL && strlen(out) < 4000;
    snprintf(spans_env, sizeof spans_env, "VITTE_TRACE=%s.spans-%%p.vittrace", out);
    int go, er;
    uint64_t t0 = mono_ns();
    pid_t pid = spawn(argv, &go, &er, import_spans ? env : NULL, 0);
    if (pid < 0) {
        snprintf(res->message, sizeof res->message, "fork: %s", strerror(errno));
        return VITTE_EIO;
    }
    r.child = pid;
    wo.pid = (uint32_t)pid;
    char err[256];
    int rc = vitte__profw_open(&wo, &r.w, err);
    if (rc == VITTE_OK)
        rc = open_rings(&r, pid, res->message, sizeof res->message);
    else
        snprintf(res->message, sizeof res->message, "%s", err);
    if (rc != VITTE_OK) {
        /* Let nothing run unprofiled: the child dies before exec. */
        kill(pid, SIGKILL);
        close(go);
        close(er);
        int st;
        wait_child(pid, &st, 1);
        close_rings(&r);
        if (r.w != NULL)
            vitte__profw_close(r.w, 0);
        return rc;
    }
    if (r.dwarf) {
        r.vdso_fd = vdso_copy();
        r.dwfl_cb.find_elf = dwfl_build_id_find_elf;
        r.dwfl_cb.find_debuginfo = no_debuginfo;
        r.dwfl_cb.section_address = dwfl_offline_section_address;
        r.dwfl_cb.debuginfo_path = &r.debuginfo_path;
    }
    if (o.on_start != NULL)
        o.on_start(o.arg, (int)pid);
    close(go); /* the child execs now; the events start at exec */
    int e = exec_result(er);
    int status = 0;
    if (e != 0) {
        wait_child(pid, &status, 1);
        close_rings(&r);
        vitte__profw_close(r.w, 0);
        unlink(out);
        start_failed(res, argv[0], e);
        return VITTE_ENOENT;
    }

    struct perf_event_attr a;
    fill_attr(&a, &r);
    struct pollfd *pf = vitte__calloc(r.n_rings, sizeof *pf);
    for (size_t i = 0; pf != NULL && i < r.n_rings; i++)
        pf[i] = (struct pollfd){r.rings[i].fd, POLLIN, 0};
    uint64_t last_flush = mono_ns();
    /* Symbols are resolved while the program runs, a few hundred locations
     * per wake-up, on the CPU time of this process rather than after the
     * program has exited; the end of the run does the rest. */
    const char *dirs[16];
    size_t nd = 0;
    char *dcopy = o.symbol_dirs != NULL ? vitte__strdup(o.symbol_dirs) : NULL;
    for (char *s = dcopy, *save = NULL, *t; s != NULL && nd < 16 && (t = strtok_r(s, ":", &save));
         s = NULL)
        dirs[nd++] = t;
    struct sysrec sys = {
        NULL, NULL, 0, (uint64_t)(o.system_interval_ms ? o.system_interval_ms : 100) * 1000000ull};
    if (o.system) {
        if (vitte_proc_open((int)pid, 0, &sys.proc) != VITTE_OK)
            msg(&r, "--system: cannot read /proc/%d: process metrics are missing", (int)pid);
        if (vitte_host_open(&sys.host) != VITTE_OK)
            msg(&r, "--system: cannot read the machine's /proc files: system metrics are missing");
    }
    for (;;) {
        if (o.system)
            system_sample(&r, &sys, vitte_now_ns());
        if (pf != NULL)
            poll(pf, r.n_rings, 20);
        else
            usleep(10000);
        drain(&r, a.sample_type);
        vitte__profw_symbolize_some(r.w, dirs, nd, 500);
        int w = wait_child(pid, &status, 0);
        if (w != 0) {
            drain(&r, a.sample_type);
            break;
        }
        if (mono_ns() - last_flush > 100000000ull) {
            vitte__profw_counts c = {r.lost, r.unwind_fail, r.truncated, r.throttled, 0};
            vitte__profw_set_counts(r.w, &c);
            vitte__profw_flush(r.w);
            last_flush = mono_ns();
        }
    }
    uint64_t t1 = mono_ns();
    vitte_proc_close(sys.proc);
    vitte_host_close(sys.host);
    vitte__free(pf);
    close_rings(&r);
    res->wait_status = status;
    res->wall_ns = t1 - t0;

    vitte__profw_counts c = {r.lost, r.unwind_fail, r.truncated, r.throttled, 0};
    vitte__profw_set_counts(r.w, &c);
    char b[64];
    if (WIFEXITED(status))
        snprintf(b, sizeof b, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(b, sizeof b, "signal %d", WTERMSIG(status));
    else
        snprintf(b, sizeof b, "status %d", status);
    vitte__profw_info(r.w, "exit_status", b);
    vitte__profw_flush(r.w);
    if (import_spans) {
        snprintf(spans_path, sizeof spans_path, "%s.spans-%d.vittrace", out, (int)pid);
        uint64_t n = 0;
        if (access(spans_path, F_OK) == 0) {
            int irc = vitte__profw_import_trace(r.w, spans_path, &n);
            if (irc == VITTE_OK) {
                unlink(spans_path);
                msg(&r, "%llu events traced by the program itself are in the profile too",
                    (unsigned long long)n);
            } else {
                msg(&r, "the program's own trace %s could not be read (%s); it is left there",
                    spans_path, vitte_strerror(irc));
            }
        }
    }

    /* The rest of the symbols, while every binary is still there. */
    rc = vitte__profw_symbolize(r.w, dirs, nd, sym_progress, &r);
    vitte__free(dcopy);

    res->samples = vitte__profw_samples(r.w);
    res->lost = r.lost;
    res->unwind_failed = r.unwind_fail;
    res->truncated = r.truncated;
    res->cpu_ns = r.cpu_ns;
    res->threads = (uint32_t)r.n_tids;
    res->processes = (uint32_t)r.n_procs;
    int rc2 = vitte__profw_close(r.w, vitte_now_ns());
    if (rc == VITTE_OK)
        rc = rc2;
    if (rc != VITTE_OK)
        snprintf(res->message, sizeof res->message, "writing %s: %s", out, vitte_strerror(rc));
    if (res->samples > 20 && (r.truncated + r.unwind_fail) * 10 > res->samples)
        msg(&r, "%.0f%% of the stacks are incomplete: %s",
            100.0 * (double)(r.truncated + r.unwind_fail) / (double)res->samples,
            r.dwarf ? "deep stacks need a larger copy (--stack-size 65528)"
                    : "the program (or a library it calls) has no frame pointers: use "
                      "--call-graph dwarf, or rebuild with -fno-omit-frame-pointer");
    for (size_t i = 0; i < r.n_procs; i++) {
        proc_reset(&r.procs[i]);
        vitte__free(r.procs[i].maps);
    }
    vitte__free(r.procs);
    vitte__free(r.buf);
    vitte__free(r.pend);
    vitte__free(r.tids);
    if (r.vdso_fd >= 0)
        close(r.vdso_fd);
    return rc == VITTE_OK ? VITTE_OK : VITTE_EIO;
}
