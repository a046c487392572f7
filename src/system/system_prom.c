/* The standard Prometheus process metrics (prometheus/docs,
 * writing_clientlibs.md "Process metrics"), kept in a registry and refreshed
 * by a collector before every export. */
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "system/system_internal.h"

struct process_metrics {
    vitte_proc *proc;
    vitte_counter *cpu;
    uint64_t cpu_ns; /* added to cpu so far */
    vitte_gauge *start, *rss, *vsize, *threads, *open_fds, *max_fds;
};

static void pm_free(void *ud)
{
    struct process_metrics *pm = ud;
    vitte_proc_close(pm->proc);
    vitte__free(pm);
}

static void pm_update(struct process_metrics *pm, const vitte_proc_sample *s)
{
    /* The counter holds nanoseconds and is exported in seconds; it only
     * grows, by what the process used since the last collection. */
    double cpu = (s->user_seconds + s->system_seconds) * 1e9;
    uint64_t ns = cpu > 0 ? (uint64_t)llround(cpu) : 0;
    if (ns > pm->cpu_ns) {
        vitte_counter_add(pm->cpu, ns - pm->cpu_ns);
        pm->cpu_ns = ns;
    }
    vitte_gauge_set(pm->start, s->start_time);
    vitte_gauge_set(pm->rss, (double)s->rss_bytes);
    vitte_gauge_set(pm->vsize, (double)s->vsize_bytes);
    vitte_gauge_set(pm->threads, (double)s->threads);
    if (pm->open_fds != NULL && (s->valid & VITTE_PROC_FDS))
        vitte_gauge_set(pm->open_fds, (double)s->open_fds);
    if (pm->max_fds != NULL && (s->valid & VITTE_PROC_LIMITS))
        vitte_gauge_set(pm->max_fds, (double)s->max_fds);
}

static void pm_collect(vitte_metrics *m, void *ud)
{
    (void)m;
    struct process_metrics *pm = ud;
    vitte_proc_sample s;
    /* A process that has exited keeps its last values. */
    if (vitte_proc_sample_read(pm->proc, &s) == VITTE_OK)
        pm_update(pm, &s);
}

static int find_cpu_family(const vitte_metric_info *info, void *ud)
{
    (void)ud;
    return strcmp(info->name, "process_cpu_seconds_total") == 0;
}

int vitte_process_metrics_register(vitte_metrics *m, int pid)
{
    if (m == NULL || pid < 0)
        return VITTE_EINVAL;
    /* The registry hands out the existing handles for a name registered
     * again: a second set would count the CPU time twice. */
    if (vitte_metrics_visit(m, find_cpu_family, NULL) > 0)
        return VITTE_EEXIST;
    struct process_metrics *pm = vitte__calloc(1, sizeof *pm);
    if (pm == NULL)
        return VITTE_ENOMEM;
    int rc = vitte_proc_open(pid, VITTE_PROC_STAT | VITTE_PROC_FDS | VITTE_PROC_LIMITS, &pm->proc);
    vitte_proc_sample s;
    if (rc == VITTE_OK)
        rc = vitte_proc_sample_read(pm->proc, &s);
    if (rc != VITTE_OK) {
        pm_free(pm);
        return rc;
    }
    rc = vitte_metrics_add_scaled_counter(m, "process_cpu_seconds_total",
                                          "Total user and system CPU time spent in seconds.", NULL,
                                          "seconds", 1e-9, &pm->cpu);
    struct {
        vitte_gauge **g;
        const char *name, *help;
        int needed;
    } gauges[] = {
        {&pm->start, "process_start_time_seconds",
         "Start time of the process since unix epoch in seconds.", 1},
        {&pm->rss, "process_resident_memory_bytes", "Resident memory size in bytes.", 1},
        {&pm->vsize, "process_virtual_memory_bytes", "Virtual memory size in bytes.", 1},
        {&pm->threads, "process_threads", "Number of OS threads in the process.", 1},
        /* Omitted rather than exported as a made-up 0 when unreadable. */
        {&pm->open_fds, "process_open_fds", "Number of open file descriptors.",
         (s.valid & VITTE_PROC_FDS) != 0},
        {&pm->max_fds, "process_max_fds", "Maximum number of open file descriptors.",
         (s.valid & VITTE_PROC_LIMITS) != 0},
    };
    for (size_t i = 0; rc == VITTE_OK && i < sizeof gauges / sizeof gauges[0]; i++)
        if (gauges[i].needed)
            rc = vitte_metrics_add_gauge(m, gauges[i].name, gauges[i].help, NULL, gauges[i].g);
    if (rc == VITTE_OK) {
        pm_update(pm, &s);
        rc = vitte_metrics_add_collector(m, pm_collect, pm, pm_free);
    }
    if (rc != VITTE_OK)
        pm_free(pm);
    return rc;
}
