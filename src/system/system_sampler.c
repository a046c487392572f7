/* The sampler: a thread that reads a process and the machine every interval
 * and appends the chosen figures to series. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "system/system_internal.h"

struct metric_def {
    const char *name;
    vitte_metric_kind kind;
    const char *unit;
    const char *help;
    unsigned proc_flags; /* the process groups it needs; 0: a host metric */
};

static const struct metric_def defs[VITTE_SYS_METRIC_COUNT] = {
    [VITTE_SYS_PROC_CPU_PERCENT] = {"process_cpu_percent", VITTE_METRIC_GAUGE, "%",
                                    "CPU use of the process, % of one CPU", VITTE_PROC_STAT},
    [VITTE_SYS_PROC_RSS] = {"process_resident_memory_bytes", VITTE_METRIC_SIZE, "bytes",
                            "Resident set size", VITTE_PROC_STAT},
    [VITTE_SYS_PROC_PSS] = {"process_pss_bytes", VITTE_METRIC_SIZE, "bytes",
                            "Proportional set size", VITTE_PROC_PSS},
    [VITTE_SYS_PROC_VSIZE] = {"process_virtual_memory_bytes", VITTE_METRIC_SIZE, "bytes",
                              "Virtual memory size", VITTE_PROC_STAT},
    [VITTE_SYS_PROC_THREADS] = {"process_threads", VITTE_METRIC_COUNT, "", "Threads",
                                VITTE_PROC_STAT},
    [VITTE_SYS_PROC_OPEN_FDS] = {"process_open_fds", VITTE_METRIC_COUNT, "",
                                 "Open file descriptors", VITTE_PROC_FDS},
    [VITTE_SYS_PROC_FAULTS_RATE] = {"process_page_faults_per_second", VITTE_METRIC_THROUGHPUT,
                                    "1/s", "Page faults (minor + major) per second",
                                    VITTE_PROC_STAT},
    [VITTE_SYS_PROC_CTXT_RATE] = {"process_context_switches_per_second", VITTE_METRIC_THROUGHPUT,
                                  "1/s", "Context switches (voluntary + involuntary) per second",
                                  VITTE_PROC_STATUS},
    [VITTE_SYS_PROC_IO_READ_RATE] = {"process_io_read_bytes_per_second", VITTE_METRIC_THROUGHPUT,
                                     "bytes/s", "Bytes read (rchar) per second", VITTE_PROC_IO},
    [VITTE_SYS_PROC_IO_WRITE_RATE] = {"process_io_write_bytes_per_second", VITTE_METRIC_THROUGHPUT,
                                      "bytes/s", "Bytes written (wchar) per second", VITTE_PROC_IO},
    [VITTE_SYS_HOST_CPU_PERCENT] = {"host_cpu_percent", VITTE_METRIC_GAUGE, "%",
                                    "CPU use of the machine, % of all CPUs", 0},
    [VITTE_SYS_HOST_MEM_USED] = {"host_memory_used_bytes", VITTE_METRIC_SIZE, "bytes",
                                 "Memory used (total - available)", 0},
    [VITTE_SYS_HOST_MEM_AVAILABLE] = {"host_memory_available_bytes", VITTE_METRIC_SIZE, "bytes",
                                      "Memory available (MemAvailable)", 0},
    [VITTE_SYS_HOST_LOAD1] = {"host_load1", VITTE_METRIC_GAUGE, "", "Load average over 1 min", 0},
    [VITTE_SYS_HOST_PSI_CPU] = {"host_pressure_cpu_some_percent", VITTE_METRIC_GAUGE, "%",
                                "CPU pressure, some, avg10", 0},
    [VITTE_SYS_HOST_PSI_MEMORY] = {"host_pressure_memory_some_percent", VITTE_METRIC_GAUGE, "%",
                                   "Memory pressure, some, avg10", 0},
    [VITTE_SYS_HOST_PSI_IO] = {"host_pressure_io_some_percent", VITTE_METRIC_GAUGE, "%",
                               "IO pressure, some, avg10", 0},
    [VITTE_SYS_HOST_DISK_READ_RATE] = {"host_disk_read_bytes_per_second", VITTE_METRIC_THROUGHPUT,
                                       "bytes/s", "Bytes read from disks per second", 0},
    [VITTE_SYS_HOST_DISK_WRITE_RATE] = {"host_disk_write_bytes_per_second", VITTE_METRIC_THROUGHPUT,
                                        "bytes/s", "Bytes written to disks per second", 0},
    [VITTE_SYS_HOST_NET_RX_RATE] = {"host_network_receive_bytes_per_second",
                                    VITTE_METRIC_THROUGHPUT, "bytes/s",
                                    "Bytes received per second (all interfaces but lo)", 0},
    [VITTE_SYS_HOST_NET_TX_RATE] = {"host_network_transmit_bytes_per_second",
                                    VITTE_METRIC_THROUGHPUT, "bytes/s",
                                    "Bytes sent per second (all interfaces but lo)", 0},
};

const char *vitte_sys_metric_name(vitte_sys_metric metric)
{
    if ((unsigned)metric >= VITTE_SYS_METRIC_COUNT)
        return NULL;
    return defs[metric].name;
}

enum { ST_IDLE, ST_RUNNING, ST_STOPPING };

struct vitte_sys_sampler {
    /* sampling: the handles, the previous figures, the series */
    pthread_mutex_t lock;
    vitte_proc *proc;
    vitte_host *host;
    vitte_proc_sample pprev;
    vitte_host_sample hprev; /* scalars only: its arrays belong to host */
    int have_pprev, have_hprev, proc_gone;
    vitte_series *series[VITTE_SYS_METRIC_COUNT];
    int owns_series;
    _Atomic uint64_t samples;
    /* the thread */
    pthread_mutex_t ctl;
    pthread_cond_t wake;
    pthread_t thread;
    int state, stop;
    uint64_t interval_ns;
};

void vitte_sys_sampler_config_init(vitte_sys_sampler_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->interval_ns = 1000000000u;
    cfg->capacity = 600;
}

static double rate(uint64_t now, uint64_t before, double dt)
{
    return now >= before && dt > 0 ? (double)(now - before) / dt : 0.0;
}

static void put(vitte_sys_sampler *s, vitte_sys_metric m, double v)
{
    if (s->series[m] != NULL)
        vitte_series_set(s->series[m], v);
}

static int sample_locked(vitte_sys_sampler *s)
{
    int rc = VITTE_OK;
    if (s->proc != NULL && !s->proc_gone) {
        vitte_proc_sample ps;
        rc = vitte_proc_sample_read(s->proc, &ps);
        if (rc == VITTE_OK) {
            double dt = s->have_pprev ? (double)(ps.time_ns - s->pprev.time_ns) * 1e-9 : 0;
            const vitte_proc_sample *b = &s->pprev;
            put(s, VITTE_SYS_PROC_CPU_PERCENT, ps.cpu_percent);
            put(s, VITTE_SYS_PROC_RSS, (double)ps.rss_bytes);
            put(s, VITTE_SYS_PROC_VSIZE, (double)ps.vsize_bytes);
            put(s, VITTE_SYS_PROC_THREADS, (double)ps.threads);
            if (ps.valid & VITTE_PROC_PSS)
                put(s, VITTE_SYS_PROC_PSS, (double)ps.pss_bytes);
            if (ps.valid & VITTE_PROC_FDS)
                put(s, VITTE_SYS_PROC_OPEN_FDS, (double)ps.open_fds);
            if (s->have_pprev) {
                put(s, VITTE_SYS_PROC_FAULTS_RATE,
                    rate(ps.minor_faults + ps.major_faults, b->minor_faults + b->major_faults, dt));
                if (ps.valid & b->valid & VITTE_PROC_STATUS)
                    put(s, VITTE_SYS_PROC_CTXT_RATE,
                        rate(ps.voluntary_ctxt_switches + ps.involuntary_ctxt_switches,
                             b->voluntary_ctxt_switches + b->involuntary_ctxt_switches, dt));
                if (ps.valid & b->valid & VITTE_PROC_IO) {
                    put(s, VITTE_SYS_PROC_IO_READ_RATE, rate(ps.io_rchar, b->io_rchar, dt));
                    put(s, VITTE_SYS_PROC_IO_WRITE_RATE, rate(ps.io_wchar, b->io_wchar, dt));
                }
            }
            s->pprev = ps;
            s->have_pprev = 1;
        } else if (rc == VITTE_ENOENT) {
            s->proc_gone = 1; /* the host figures go on */
        }
    }
    if (s->host != NULL) {
        vitte_host_sample hs;
        int hrc = vitte_host_sample_read(s->host, &hs);
        if (hrc == VITTE_OK) {
            const vitte_host_sample *b = &s->hprev;
            double dt = s->have_hprev ? (double)(hs.time_ns - b->time_ns) * 1e-9 : 0;
            if (hs.valid & VITTE_HOST_CPU)
                put(s, VITTE_SYS_HOST_CPU_PERCENT, hs.cpu_percent);
            if (hs.valid & VITTE_HOST_MEMORY) {
                put(s, VITTE_SYS_HOST_MEM_USED, (double)hs.mem_used_bytes);
                put(s, VITTE_SYS_HOST_MEM_AVAILABLE, (double)hs.mem_available_bytes);
            }
            if (hs.valid & VITTE_HOST_LOAD)
                put(s, VITTE_SYS_HOST_LOAD1, hs.load1);
            if (hs.valid & VITTE_HOST_PSI) {
                put(s, VITTE_SYS_HOST_PSI_CPU, hs.psi_cpu_some.avg10);
                put(s, VITTE_SYS_HOST_PSI_MEMORY, hs.psi_memory_some.avg10);
                put(s, VITTE_SYS_HOST_PSI_IO, hs.psi_io_some.avg10);
            }
            if (s->have_hprev && (hs.valid & b->valid & VITTE_HOST_DISK)) {
                put(s, VITTE_SYS_HOST_DISK_READ_RATE,
                    rate(hs.disk_read_bytes, b->disk_read_bytes, dt));
                put(s, VITTE_SYS_HOST_DISK_WRITE_RATE,
                    rate(hs.disk_write_bytes, b->disk_write_bytes, dt));
            }
            if (s->have_hprev && (hs.valid & b->valid & VITTE_HOST_NETWORK)) {
                put(s, VITTE_SYS_HOST_NET_RX_RATE, rate(hs.net_rx_bytes, b->net_rx_bytes, dt));
                put(s, VITTE_SYS_HOST_NET_TX_RATE, rate(hs.net_tx_bytes, b->net_tx_bytes, dt));
            }
            s->hprev = hs;
            s->hprev.cpu_percent_per_cpu = NULL; /* not ours to keep */
            s->hprev.disks = s->hprev.nets = NULL;
            s->have_hprev = 1;
        } else if (rc == VITTE_OK) {
            rc = hrc;
        }
    }
    atomic_fetch_add_explicit(&s->samples, 1, memory_order_relaxed);
    return rc;
}

int vitte_sys_sampler_sample_now(vitte_sys_sampler *s)
{
    if (s == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->lock);
    int rc = sample_locked(s);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

uint64_t vitte_sys_sampler_samples(const vitte_sys_sampler *s)
{
    return s != NULL ? atomic_load_explicit(&s->samples, memory_order_relaxed) : 0;
}

vitte_series *vitte_sys_sampler_series(vitte_sys_sampler *s, vitte_sys_metric metric)
{
    if (s == NULL || (unsigned)metric >= VITTE_SYS_METRIC_COUNT)
        return NULL;
    return s->series[metric];
}

static void free_sampler(vitte_sys_sampler *s)
{
    if (s->owns_series)
        for (int i = 0; i < VITTE_SYS_METRIC_COUNT; i++)
            vitte_series_destroy(s->series[i]);
    vitte_proc_close(s->proc);
    vitte_host_close(s->host);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->ctl);
    pthread_mutex_destroy(&s->lock);
    vitte__free(s);
}

int vitte_sys_sampler_create(const vitte_sys_sampler_config *cfg, vitte_sys_sampler **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    vitte_sys_sampler_config c;
    vitte_sys_sampler_config_init(&c);
    if (cfg != NULL) {
        if (cfg->struct_size < sizeof(uint32_t) || cfg->struct_size > sizeof c)
            return VITTE_EINVAL;
        memcpy(&c, cfg, cfg->struct_size);
    }
    static const vitte_sys_metric default_metrics[] = {
        VITTE_SYS_PROC_CPU_PERCENT, VITTE_SYS_PROC_RSS, VITTE_SYS_HOST_CPU_PERCENT,
        VITTE_SYS_HOST_MEM_USED};
    if (c.metrics == NULL) {
        c.metrics = default_metrics;
        c.n_metrics = sizeof default_metrics / sizeof default_metrics[0];
    }
    if (c.interval_ns < 1000000u || c.capacity == 0 || c.pid < 0 || c.n_metrics == 0)
        return VITTE_EINVAL;
    unsigned proc_flags = 0;
    int want_host = 0;
    for (size_t i = 0; i < c.n_metrics; i++) {
        if ((unsigned)c.metrics[i] >= VITTE_SYS_METRIC_COUNT)
            return VITTE_EINVAL;
        proc_flags |= defs[c.metrics[i]].proc_flags;
        want_host |= defs[c.metrics[i]].proc_flags == 0;
    }

    vitte_sys_sampler *s = vitte__calloc(1, sizeof *s);
    if (s == NULL)
        return VITTE_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->ctl, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    s->interval_ns = c.interval_ns;
    s->owns_series = c.registry == NULL;
    s->state = ST_IDLE;

    int rc = VITTE_OK;
    if (proc_flags != 0)
        rc = vitte_proc_open(c.pid, proc_flags | VITTE_PROC_STAT, &s->proc);
    if (rc == VITTE_OK && want_host)
        rc = vitte_host_open(&s->host);
    for (size_t i = 0; rc == VITTE_OK && i < c.n_metrics; i++) {
        vitte_sys_metric m = c.metrics[i];
        if (s->series[m] != NULL)
            continue; /* named twice */
        const struct metric_def *d = &defs[m];
        vitte_series *ser = vitte_series_create(d->name, d->kind, d->unit, c.capacity);
        if (ser == NULL) {
            rc = VITTE_ENOMEM;
            break;
        }
        if (c.registry != NULL) {
            rc = vitte_metrics_add_series(c.registry, ser, d->help, c.labels);
            if (rc != VITTE_OK) {
                vitte_series_destroy(ser); /* not adopted */
                break;
            }
        }
        s->series[m] = ser;
    }
    if (rc != VITTE_OK) {
        free_sampler(s);
        return rc;
    }
    /* The base of the first interval: figures, no values. */
    if (s->proc != NULL && vitte_proc_sample_read(s->proc, &s->pprev) == VITTE_OK)
        s->have_pprev = 1;
    if (s->host != NULL && vitte_host_sample_read(s->host, &s->hprev) == VITTE_OK) {
        s->hprev.cpu_percent_per_cpu = NULL;
        s->hprev.disks = s->hprev.nets = NULL;
        s->have_hprev = 1;
    }
    *out = s;
    return VITTE_OK;
}

static void deadline_add(struct timespec *ts, uint64_t ns)
{
    uint64_t t = (uint64_t)ts->tv_nsec + ns % 1000000000u;
    ts->tv_sec += (time_t)(ns / 1000000000u + t / 1000000000u);
    ts->tv_nsec = (long)(t % 1000000000u);
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *sampler_main(void *arg)
{
    vitte_sys_sampler *s = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    deadline_add(&next, s->interval_ns);
    pthread_mutex_lock(&s->ctl);
    while (!s->stop) {
        int w = pthread_cond_timedwait(&s->wake, &s->ctl, &next);
        if (s->stop)
            break;
        if (w != ETIMEDOUT)
            continue; /* spurious wake-up: the deadline stands */
        pthread_mutex_unlock(&s->ctl);
        vitte_sys_sampler_sample_now(s);
        pthread_mutex_lock(&s->ctl);
        /* Fixed rate; after a stall (suspend, overload) start again from now
         * rather than catching up with a burst. */
        deadline_add(&next, s->interval_ns);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ts_before(&next, &now)) {
            next = now;
            deadline_add(&next, s->interval_ns);
        }
    }
    pthread_mutex_unlock(&s->ctl);
    return NULL;
}

int vitte_sys_sampler_start(vitte_sys_sampler *s)
{
    if (s == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->ctl);
    int rc = VITTE_OK;
    if (s->state != ST_IDLE) {
        rc = VITTE_ESTATE;
    } else {
        s->stop = 0;
        if (pthread_create(&s->thread, NULL, sampler_main, s) != 0)
            rc = VITTE_ENOMEM;
        else
            s->state = ST_RUNNING;
    }
    pthread_mutex_unlock(&s->ctl);
    return rc;
}

int vitte_sys_sampler_stop(vitte_sys_sampler *s)
{
    if (s == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->ctl);
    if (s->state != ST_RUNNING) {
        pthread_mutex_unlock(&s->ctl);
        return VITTE_ESTATE;
    }
    s->state = ST_STOPPING;
    s->stop = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->ctl);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->ctl);
    s->state = ST_IDLE;
    pthread_mutex_unlock(&s->ctl);
    return VITTE_OK;
}

void vitte_sys_sampler_destroy(vitte_sys_sampler *s)
{
    if (s == NULL)
        return;
    vitte_sys_sampler_stop(s);
    free_sampler(s);
}
