/* The machine's figures: /proc/stat (CPU), meminfo, loadavg, pressure/{cpu,memory,io},
 * diskstats and net/dev, each kept open and re-read with pread(). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <vitte/clock.h>

#include "common/alloc.h"
#include "system/system_internal.h"

/* CPU time of one "cpu" line of /proc/stat, in ticks. */
struct cpu_times {
    uint64_t busy, total, user, system, iowait, steal;
    int seen; /* present in the last read */
};

/* A disk or interface seen once, and what to do with it. */
struct known_dev {
    char name[32];
    int listed;  /* in disks[] / nets[] */
    int counted; /* in the totals */
};

struct dev_table {
    struct known_dev *known;
    size_t n_known, cap_known;
    vitte_host_dev *out; /* this sample's listed devices (cap_known entries) */
    size_t n_out;
};

enum { PSI_CPU, PSI_MEMORY, PSI_IO, N_PSI };

struct vitte_host {
    struct vitte__pfile stat, meminfo, loadavg, diskstats, netdev, psi[N_PSI];
    /* CPU: [0] is the "cpu" line, [1 + n] the line of CPU n. */
    struct cpu_times *prev, *cur;
    size_t cap_cpu;
    double *pcpu; /* per-CPU percent handed out */
    int have_prev;
    struct dev_table disks, nets;
};

void vitte_host_close(vitte_host *h)
{
    if (h == NULL)
        return;
    vitte__pfile_close(&h->stat);
    vitte__pfile_close(&h->meminfo);
    vitte__pfile_close(&h->loadavg);
    vitte__pfile_close(&h->diskstats);
    vitte__pfile_close(&h->netdev);
    for (int i = 0; i < N_PSI; i++)
        vitte__pfile_close(&h->psi[i]);
    vitte__free(h->prev);
    vitte__free(h->cur);
    vitte__free(h->pcpu);
    vitte__free(h->disks.known);
    vitte__free(h->disks.out);
    vitte__free(h->nets.known);
    vitte__free(h->nets.out);
    vitte__free(h);
}

int vitte_host_open(vitte_host **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    vitte_host *h = vitte__calloc(1, sizeof *h);
    if (h == NULL)
        return VITTE_ENOMEM;
    struct vitte__pfile closed = VITTE__PFILE_INIT;
    h->stat = h->meminfo = h->loadavg = h->diskstats = h->netdev = closed;
    for (int i = 0; i < N_PSI; i++)
        h->psi[i] = closed;

    int rc = vitte__pfile_open(&h->stat, "/proc/stat", 4096);
    if (rc != VITTE_OK) {
        vitte_host_close(h);
        return rc == VITTE_ENOMEM ? rc : VITTE_ENOTSUP;
    }
    static const char *const psi_path[N_PSI] = {"/proc/pressure/cpu", "/proc/pressure/memory",
                                                "/proc/pressure/io"};
    struct {
        struct vitte__pfile *f;
        const char *path;
        size_t cap;
    } opt[] = {{&h->meminfo, "/proc/meminfo", 4096},
               {&h->loadavg, "/proc/loadavg", 128},
               {&h->diskstats, "/proc/diskstats", 4096},
               {&h->netdev, "/proc/net/dev", 2048},
               {&h->psi[0], psi_path[0], 256},
               {&h->psi[1], psi_path[1], 256},
               {&h->psi[2], psi_path[2], 256}};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
        rc = vitte__pfile_open(opt[i].f, opt[i].path, opt[i].cap);
        if (rc == VITTE_ENOMEM) {
            vitte_host_close(h);
            return rc;
        }
    }
    *out = h;
    return VITTE_OK;
}

/* ---- CPU ------------------------------------------------------------------------------- */

static int grow_cpus(vitte_host *h, size_t need)
{
    if (need <= h->cap_cpu)
        return VITTE_OK;
    size_t nc = h->cap_cpu ? h->cap_cpu : 8;
    while (nc < need)
        nc *= 2;
    struct cpu_times *np = vitte__realloc(h->prev, nc * sizeof *np);
    if (np == NULL)
        return VITTE_ENOMEM;
    h->prev = np;
    struct cpu_times *nu = vitte__realloc(h->cur, nc * sizeof *nu);
    if (nu == NULL)
        return VITTE_ENOMEM;
    h->cur = nu;
    double *pc = vitte__realloc(h->pcpu, nc * sizeof *pc);
    if (pc == NULL)
        return VITTE_ENOMEM;
    h->pcpu = pc;
    memset(h->prev + h->cap_cpu, 0, (nc - h->cap_cpu) * sizeof *np);
    memset(h->cur + h->cap_cpu, 0, (nc - h->cap_cpu) * sizeof *nu);
    h->cap_cpu = nc;
    return VITTE_OK;
}

static void parse_cpu_line(const char *p, struct cpu_times *t)
{
    uint64_t v[8];
    for (int i = 0; i < 8; i++) /* user nice system idle iowait irq softirq steal */
        v[i] = vitte__parse_u64(&p);
    /* guest and guest_nice are already inside user and nice. */
    t->user = v[0] + v[1];
    t->system = v[2] + v[5] + v[6];
    t->iowait = v[4];
    t->steal = v[7];
    t->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    t->busy = t->total - v[3] - v[4];
    t->seen = 1;
}

static double pct(uint64_t part_now, uint64_t part_prev, uint64_t dtotal)
{
    if (dtotal == 0)
        return 0.0;
    uint64_t d = part_now >= part_prev ? part_now - part_prev : 0;
    return 100.0 * (double)d / (double)dtotal;
}

static int sample_cpu(vitte_host *h, vitte_host_sample *s)
{
    int rc = vitte__pfile_read(&h->stat, "\nintr ");
    if (rc != VITTE_OK)
        return rc;
    size_t max_cpu = 0;
    for (size_t i = 0; i < h->cap_cpu; i++)
        h->cur[i].seen = 0;
    int have_total = 0;
    for (const char *p = h->stat.buf; p != NULL && strncmp(p, "cpu", 3) == 0;) {
        const char *q = p + 3;
        size_t idx = 0;
        if (*q == ' ') {
            idx = 0;
        } else {
            idx = (size_t)vitte__parse_u64(&q) + 1;
            if (idx > 65536)
                break; /* not a CPU number we believe */
        }
        rc = grow_cpus(h, idx + 1);
        if (rc != VITTE_OK)
            return rc;
        parse_cpu_line(q, &h->cur[idx]);
        if (idx == 0)
            have_total = 1;
        else if (idx > max_cpu)
            max_cpu = idx;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    if (!have_total)
        return VITTE_EFORMAT;

    struct cpu_times zero = {0, 0, 0, 0, 0, 0, 0};
    const struct cpu_times *a = &h->cur[0], *b = h->have_prev ? &h->prev[0] : &zero;
    uint64_t dt = a->total >= b->total ? a->total - b->total : 0;
    s->cpu_percent = pct(a->busy, b->busy, dt);
    s->cpu_user_percent = pct(a->user, b->user, dt);
    s->cpu_system_percent = pct(a->system, b->system, dt);
    s->cpu_iowait_percent = pct(a->iowait, b->iowait, dt);
    s->cpu_steal_percent = pct(a->steal, b->steal, dt);
    s->n_cpus = max_cpu; /* CPU n is index n + 1 */
    for (size_t i = 1; i <= max_cpu; i++) {
        a = &h->cur[i];
        b = h->have_prev && h->prev[i].seen ? &h->prev[i] : &zero;
        if (!a->seen) {
            h->pcpu[i - 1] = NAN;
            continue;
        }
        dt = a->total >= b->total ? a->total - b->total : 0;
        h->pcpu[i - 1] = pct(a->busy, b->busy, dt);
    }
    s->cpu_percent_per_cpu = h->pcpu;
    /* The current times become the previous ones; CPUs absent now keep
     * their last times (an offline CPU coming back is measured from there). */
    for (size_t i = 0; i < h->cap_cpu; i++)
        if (h->cur[i].seen)
            h->prev[i] = h->cur[i];
    h->have_prev = 1;
    return VITTE_OK;
}

/* ---- memory, load, pressure ------------------------------------------------------------- */

static int sample_memory(vitte_host *h, vitte_host_sample *s)
{
    int rc = vitte__pfile_read(&h->meminfo, NULL);
    if (rc != VITTE_OK)
        return rc;
    static const char *const keys[] = {
        "MemTotal:", "MemFree:", "MemAvailable:", "Buffers:", "Cached:", "SwapTotal:", "SwapFree:"};
    uint64_t *dst[] = {&s->mem_total_bytes,   &s->mem_free_bytes,   &s->mem_available_bytes,
                       &s->mem_buffers_bytes, &s->mem_cached_bytes, &s->swap_total_bytes,
                       &s->swap_free_bytes};
    int found = 0;
    /* One pass over the lines; each key is looked for once. */
    for (const char *p = h->meminfo.buf; p != NULL && *p != '\0';) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t kl = strlen(keys[k]);
            if (!(found & (1 << k)) && strncmp(p, keys[k], kl) == 0) {
                const char *q = p + kl;
                *dst[k] = vitte__parse_u64(&q) * 1024;
                found |= 1 << k;
                break;
            }
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    if (!(found & 1))
        return VITTE_EFORMAT;
    if (!(found & 4)) /* kernels before 3.14: estimate as free + cache */
        s->mem_available_bytes = s->mem_free_bytes + s->mem_cached_bytes + s->mem_buffers_bytes;
    s->mem_used_bytes = s->mem_total_bytes > s->mem_available_bytes
                            ? s->mem_total_bytes - s->mem_available_bytes
                            : 0;
    return VITTE_OK;
}

static int sample_load(vitte_host *h, vitte_host_sample *s)
{
    int rc = vitte__pfile_read(&h->loadavg, NULL);
    if (rc != VITTE_OK)
        return rc;
    const char *p = h->loadavg.buf;
    s->load1 = vitte__parse_decimal(&p);
    s->load5 = vitte__parse_decimal(&p);
    s->load15 = vitte__parse_decimal(&p);
    s->tasks_running = vitte__parse_u64(&p);
    if (*p != '/')
        return VITTE_EFORMAT;
    p++;
    s->tasks_total = vitte__parse_u64(&p);
    return VITTE_OK;
}

static void parse_psi_line(const char *p, vitte_psi *v)
{
    const char *q;
    if ((q = strstr(p, "avg10=")) != NULL) {
        q += 6;
        v->avg10 = vitte__parse_decimal(&q);
    }
    if ((q = strstr(p, "avg60=")) != NULL) {
        q += 6;
        v->avg60 = vitte__parse_decimal(&q);
    }
    if ((q = strstr(p, "avg300=")) != NULL) {
        q += 7;
        v->avg300 = vitte__parse_decimal(&q);
    }
    if ((q = strstr(p, "total=")) != NULL) {
        q += 6;
        v->total_us = vitte__parse_u64(&q);
    }
}

static int sample_psi(vitte_host *h, vitte_host_sample *s)
{
    vitte_psi *some[N_PSI] = {&s->psi_cpu_some, &s->psi_memory_some, &s->psi_io_some};
    vitte_psi *full[N_PSI] = {&s->psi_cpu_full, &s->psi_memory_full, &s->psi_io_full};
    for (int i = 0; i < N_PSI; i++) {
        int rc = vitte__pfile_read(&h->psi[i], NULL);
        if (rc != VITTE_OK)
            return rc;
        const char *buf = h->psi[i].buf;
        if (strncmp(buf, "some ", 5) != 0)
            return VITTE_EFORMAT;
        const char *nl = strchr(buf, '\n');
        /* parse the "some" line alone: cut it at its newline */
        char line[256];
        size_t n = nl != NULL ? (size_t)(nl - buf) : strlen(buf);
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, buf, n);
        line[n] = '\0';
        parse_psi_line(line, some[i]);
        const char *f = strstr(buf, "\nfull ");
        if (f != NULL)
            parse_psi_line(f + 1, full[i]);
    }
    return VITTE_OK;
}

/* ---- disks and interfaces ------------------------------------------------------------ */

static int name_starts(const char *name, const char *prefix)
{
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* Whole disks are the names in /sys/block ('/' in a name is '!' there). */
static void classify_disk(struct known_dev *k)
{
    char path[80];
    int n = snprintf(path, sizeof path, "/sys/block/%s", k->name);
    for (int i = (int)strlen("/sys/block/"); i < n && path[i] != '\0'; i++)
        if (path[i] == '/')
            path[i] = '!';
    int whole = access(path, F_OK) == 0;
    k->listed = whole && !name_starts(k->name, "loop") && !name_starts(k->name, "ram") &&
                !name_starts(k->name, "zram");
    /* device-mapper and md devices sit on other disks that count already */
    k->counted = k->listed && !name_starts(k->name, "dm-") && !name_starts(k->name, "md");
}

static void classify_net(struct known_dev *k)
{
    k->listed = 1;
    k->counted = strcmp(k->name, "lo") != 0;
}

static struct known_dev *find_dev(struct dev_table *t, const char *name, size_t len,
                                  void (*classify)(struct known_dev *), int *rc)
{
    if (len >= sizeof t->known[0].name)
        len = sizeof t->known[0].name - 1;
    for (size_t i = 0; i < t->n_known; i++)
        if (strncmp(t->known[i].name, name, len) == 0 && t->known[i].name[len] == '\0')
            return &t->known[i];
    if (t->n_known == t->cap_known) {
        size_t nc = t->cap_known ? t->cap_known * 2 : 8;
        struct known_dev *nk = vitte__realloc(t->known, nc * sizeof *nk);
        if (nk == NULL) {
            *rc = VITTE_ENOMEM;
            return NULL;
        }
        t->known = nk;
        vitte_host_dev *no = vitte__realloc(t->out, nc * sizeof *no);
        if (no == NULL) {
            *rc = VITTE_ENOMEM;
            return NULL;
        }
        t->out = no;
        t->cap_known = nc;
    }
    struct known_dev *k = &t->known[t->n_known++];
    memset(k, 0, sizeof *k);
    memcpy(k->name, name, len);
    classify(k);
    return k;
}

static void add_dev(struct dev_table *t, const struct known_dev *k, uint64_t rd, uint64_t wr,
                    uint64_t *tot_rd, uint64_t *tot_wr)
{
    if (k->listed && t->n_out < t->cap_known) {
        vitte_host_dev *d = &t->out[t->n_out++];
        memcpy(d->name, k->name, sizeof d->name);
        d->read_bytes = rd;
        d->write_bytes = wr;
    }
    if (k->counted) {
        *tot_rd += rd;
        *tot_wr += wr;
    }
}

static int sample_disks(vitte_host *h, vitte_host_sample *s)
{
    int rc = vitte__pfile_read(&h->diskstats, NULL);
    if (rc != VITTE_OK)
        return rc;
    h->disks.n_out = 0;
    for (const char *p = h->diskstats.buf; p != NULL && *p != '\0';) {
        /* major minor name reads merged sectors_read ms writes merged sectors_written */
        const char *q = p;
        vitte__parse_u64(&q);
        vitte__parse_u64(&q);
        while (*q == ' ')
            q++;
        const char *name = q;
        while (*q != ' ' && *q != '\0' && *q != '\n')
            q++;
        size_t len = (size_t)(q - name);
        vitte__skip_fields(&q, 2);
        uint64_t rd = vitte__parse_u64(&q) * 512; /* sectors are 512 bytes here, always */
        vitte__skip_fields(&q, 3);
        uint64_t wr = vitte__parse_u64(&q) * 512;
        if (len > 0) {
            struct known_dev *k = find_dev(&h->disks, name, len, classify_disk, &rc);
            if (k == NULL)
                return rc;
            add_dev(&h->disks, k, rd, wr, &s->disk_read_bytes, &s->disk_write_bytes);
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    s->n_disks = h->disks.n_out;
    s->disks = h->disks.out;
    return VITTE_OK;
}

static int sample_nets(vitte_host *h, vitte_host_sample *s)
{
    int rc = vitte__pfile_read(&h->netdev, NULL);
    if (rc != VITTE_OK)
        return rc;
    h->nets.n_out = 0;
    const char *p = h->netdev.buf;
    for (int i = 0; i < 2 && p != NULL; i++) { /* two header lines */
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    while (p != NULL && *p != '\0') {
        while (*p == ' ')
            p++;
        const char *colon = strchr(p, ':');
        const char *nl = strchr(p, '\n');
        if (colon == NULL || (nl != NULL && colon > nl))
            return VITTE_EFORMAT;
        const char *q = colon + 1;
        uint64_t rx = vitte__parse_u64(&q);
        vitte__skip_fields(&q, 7); /* packets errs drop fifo frame compressed multicast */
        uint64_t tx = vitte__parse_u64(&q);
        struct known_dev *k = find_dev(&h->nets, p, (size_t)(colon - p), classify_net, &rc);
        if (k == NULL)
            return rc;
        add_dev(&h->nets, k, rx, tx, &s->net_rx_bytes, &s->net_tx_bytes);
        p = nl != NULL ? nl + 1 : NULL;
    }
    s->n_nets = h->nets.n_out;
    s->nets = h->nets.out;
    return VITTE_OK;
}

int vitte_host_sample_read(vitte_host *h, vitte_host_sample *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    memset(out, 0, sizeof *out);
    if (h == NULL)
        return VITTE_EINVAL;
    out->time_ns = vitte_now_ns();
    int rc = sample_cpu(h, out);
    if (rc == VITTE_ENOMEM)
        return rc;
    if (rc == VITTE_OK)
        out->valid |= VITTE_HOST_CPU;
    if (vitte__pfile_is_open(&h->meminfo) && sample_memory(h, out) == VITTE_OK)
        out->valid |= VITTE_HOST_MEMORY;
    if (vitte__pfile_is_open(&h->loadavg) && sample_load(h, out) == VITTE_OK)
        out->valid |= VITTE_HOST_LOAD;
    int psi_open = 1;
    for (int i = 0; i < N_PSI; i++)
        psi_open &= vitte__pfile_is_open(&h->psi[i]);
    /* PSI files exist but reads fail (EOPNOTSUPP) when booted with psi=0. */
    if (psi_open && sample_psi(h, out) == VITTE_OK) {
        out->valid |= VITTE_HOST_PSI;
    } else { /* what a failed read left half filled */
        vitte_psi none = {0, 0, 0, 0};
        out->psi_cpu_some = out->psi_cpu_full = out->psi_memory_some = none;
        out->psi_memory_full = out->psi_io_some = out->psi_io_full = none;
    }
    if (vitte__pfile_is_open(&h->diskstats)) {
        rc = sample_disks(h, out);
        if (rc == VITTE_OK) {
            out->valid |= VITTE_HOST_DISK;
        } else {
            out->disk_read_bytes = out->disk_write_bytes = 0;
            out->n_disks = 0;
            out->disks = NULL;
            if (rc == VITTE_ENOMEM)
                return rc;
        }
    }
    if (vitte__pfile_is_open(&h->netdev)) {
        rc = sample_nets(h, out);
        if (rc == VITTE_OK) {
            out->valid |= VITTE_HOST_NETWORK;
        } else {
            out->net_rx_bytes = out->net_tx_bytes = 0;
            out->n_nets = 0;
            out->nets = NULL;
            if (rc == VITTE_ENOMEM)
                return rc;
        }
    }
    return VITTE_OK;
}
