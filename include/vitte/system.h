/* vitte: system metrics.  What a process and the machine are doing, read from
 * /proc (Linux), cheaply enough to sample often; a sampler thread that fills
 * series; the standard Prometheus process metrics for a registry; and running
 * a command with its resource usage and perf_event counters (`vitte stat`).
 * docs/system.md describes every figure, its source and its cost.
 *
 * Handles keep their /proc files open and re-read them with pread(): a full
 * process sample costs a few microseconds (bench/bench_system.c measures it).
 * A file that cannot be read (another user's /proc/PID/io, PSI disabled) is
 * not an error: the figures it gives are left 0 and their bit in `valid` is
 * clear.  A process that has exited gives VITTE_ENOENT.
 *
 * Threads: a vitte_proc or vitte_host handle is used by one thread at a time;
 * the sampler is "Threads: any".  Nothing here is async-signal-safe.
 * Platforms: Linux; elsewhere the functions return VITTE_ENOTSUP.
 */
#ifndef VITTE_SYSTEM_H
#define VITTE_SYSTEM_H

#include <vitte/common.h>
#include <vitte/metrics.h>

VITTE_BEGIN_DECLS

/* ---- one process ------------------------------------------------------------ */

typedef struct vitte_proc vitte_proc;

/* What a process sample reads (flags of vitte_proc_open) and what it could
 * read (vitte_proc_sample.valid). */
enum {
    VITTE_PROC_STAT = 1u << 0,   /* stat: CPU times, faults, threads, sizes, start (always) */
    VITTE_PROC_STATUS = 1u << 1, /* context switches (status; getrusage for the caller) */
    VITTE_PROC_IO = 1u << 2,     /* io: bytes read and written (needs ptrace access) */
    VITTE_PROC_FDS = 1u << 3,    /* fd/: open descriptors (needs ptrace access) */
    VITTE_PROC_LIMITS = 1u << 4, /* limits: the open-file limit (max_fds) */
    VITTE_PROC_PSS = 1u << 5,    /* smaps_rollup: PSS; costs 10+ us, O(mappings) */
    /* flags 0 means this: everything but PSS */
    VITTE_PROC_DEFAULT =
        VITTE_PROC_STAT | VITTE_PROC_STATUS | VITTE_PROC_IO | VITTE_PROC_FDS | VITTE_PROC_LIMITS,
    VITTE_PROC_ALL = VITTE_PROC_DEFAULT | VITTE_PROC_PSS
};

typedef struct vitte_proc_sample {
    uint64_t time_ns; /* vitte_now_ns() when taken */
    uint32_t valid;   /* VITTE_PROC_* bits of the groups read; others are 0 */
    int pid;
    /* VITTE_PROC_STAT */
    double user_seconds;   /* CPU time in user mode, all threads, live and exited */
    double system_seconds; /* CPU time in the kernel */
    /* (user + system) / wall * 100 since the previous sample on this handle;
     * on the first, since the process started.  100 = one CPU busy. */
    double cpu_percent;
    uint64_t rss_bytes;   /* resident set size */
    uint64_t vsize_bytes; /* virtual memory size */
    uint64_t minor_faults, major_faults;
    uint64_t threads;
    double start_time; /* Unix time, seconds (1 s precision: the kernel's btime) */
    /* VITTE_PROC_STATUS.  For the caller the whole process (getrusage); for
     * another process its main thread only (the kernel's /proc/PID/status). */
    uint64_t voluntary_ctxt_switches, involuntary_ctxt_switches;
    /* VITTE_PROC_IO: rchar/wchar (all read()/write() bytes, caches included)
     * and read_bytes/write_bytes (what reached the storage layer). */
    uint64_t io_rchar, io_wchar, io_read_bytes, io_write_bytes;
    /* VITTE_PROC_FDS: for the caller this includes the handle's own files. */
    uint64_t open_fds;
    /* VITTE_PROC_LIMITS: soft limit of open files (UINT64_MAX: unlimited). */
    uint64_t max_fds;
    /* VITTE_PROC_PSS: proportional set size. */
    uint64_t pss_bytes;
} vitte_proc_sample;

/** Open pid's /proc files (pid 0: the calling process) for sampling what
 * flags select (0: VITTE_PROC_DEFAULT).  Files that cannot be opened for
 * lack of permission are skipped (their bit never becomes valid).  After a
 * fork(), the child must open its own handle.
 * Returns:   VITTE_OK; VITTE_EINVAL (pid < 0, out NULL, unknown flags);
 *            VITTE_ENOENT (no such process); VITTE_EPERM (even stat refused);
 *            VITTE_ENOMEM; VITTE_ENOTSUP (no /proc).
 */
VITTE_API int vitte_proc_open(int pid, unsigned flags, vitte_proc **out);
VITTE_API void vitte_proc_close(vitte_proc *p);
/** The process the handle follows. */
VITTE_API int vitte_proc_pid(const vitte_proc *p);
/** Read the process' figures now.  Never allocates once the handle has seen
 * its files at their largest.
 * Returns:   VITTE_OK (see out->valid); VITTE_EINVAL; VITTE_ENOENT when the
 *            process has exited (out is zeroed then).
 */
VITTE_API int vitte_proc_sample_read(vitte_proc *p, vitte_proc_sample *out);

/* ---- the machine --------------------------------------------------------------- */

typedef struct vitte_host vitte_host;

enum {
    VITTE_HOST_CPU = 1u << 0,     /* /proc/stat */
    VITTE_HOST_MEMORY = 1u << 1,  /* /proc/meminfo */
    VITTE_HOST_LOAD = 1u << 2,    /* /proc/loadavg */
    VITTE_HOST_PSI = 1u << 3,     /* /proc/pressure/{cpu,memory,io} (Linux 4.20+, psi=1) */
    VITTE_HOST_DISK = 1u << 4,    /* /proc/diskstats */
    VITTE_HOST_NETWORK = 1u << 5, /* /proc/net/dev (the caller's network namespace) */
};

/* Pressure stall information: the share of wall time some (or all, "full")
 * runnable tasks were stalled on a resource, as percentages averaged over
 * 10, 60 and 300 s, and the total stall time. */
typedef struct vitte_psi {
    double avg10, avg60, avg300;
    uint64_t total_us;
} vitte_psi;

/* A disk (bytes read, written) or a network interface (received, sent). */
typedef struct vitte_host_dev {
    char name[32];
    uint64_t read_bytes;  /* disk: read; network: received */
    uint64_t write_bytes; /* disk: written; network: transmitted */
} vitte_host_dev;

typedef struct vitte_host_sample {
    uint64_t time_ns; /* vitte_now_ns() when taken */
    uint32_t valid;   /* VITTE_HOST_* bits */
    /* VITTE_HOST_CPU, in percent of the time of all CPUs (100 = all busy)
     * since the previous sample on the handle (the first: since boot).
     * Busy = everything but idle and iowait; user includes nice and guest,
     * system includes irq and softirq. */
    double cpu_percent;
    double cpu_user_percent, cpu_system_percent, cpu_iowait_percent, cpu_steal_percent;
    size_t n_cpus;                     /* highest CPU number + 1 */
    const double *cpu_percent_per_cpu; /* [n_cpus], busy percent of each CPU (NaN:
                                        * offline); valid until the next sample */
    /* VITTE_HOST_MEMORY.  used = total - available (as free(1)); cached is
     * the page cache (Cached), buffers the block-device cache. */
    uint64_t mem_total_bytes, mem_available_bytes, mem_used_bytes, mem_free_bytes;
    uint64_t mem_cached_bytes, mem_buffers_bytes, swap_total_bytes, swap_free_bytes;
    /* VITTE_HOST_LOAD */
    double load1, load5, load15;
    uint64_t tasks_running, tasks_total;
    /* VITTE_HOST_PSI.  cpu "full" is 0 on kernels before 5.13. */
    vitte_psi psi_cpu_some, psi_cpu_full, psi_memory_some, psi_memory_full, psi_io_some,
        psi_io_full;
    /* VITTE_HOST_DISK: totals since boot over whole disks (partitions, loop,
     * ram, zram, device-mapper and md devices left out so no byte counts
     * twice), and each whole disk but loop/ram/zram in disks[]. */
    uint64_t disk_read_bytes, disk_write_bytes;
    size_t n_disks;
    const vitte_host_dev *disks; /* valid until the next sample */
    /* VITTE_HOST_NETWORK: totals over every interface but lo; each in nets[]. */
    uint64_t net_rx_bytes, net_tx_bytes;
    size_t n_nets;
    const vitte_host_dev *nets; /* valid until the next sample */
} vitte_host_sample;

/** Open the machine's /proc files.  Missing ones (PSI) are skipped.
 * Returns:   VITTE_OK; VITTE_EINVAL; VITTE_ENOMEM; VITTE_ENOTSUP (no /proc/stat). */
VITTE_API int vitte_host_open(vitte_host **out);
VITTE_API void vitte_host_close(vitte_host *h);
/** Read the machine's figures now.  The arrays of out belong to the handle.
 * Returns:   VITTE_OK (see out->valid); VITTE_EINVAL; VITTE_ENOMEM (a new
 *            CPU or device and no memory for it). */
VITTE_API int vitte_host_sample_read(vitte_host *h, vitte_host_sample *out);

/* ---- the sampler: series filled by a thread ------------------------------------ */

/* Each metric is a vitte_series named as below.  Rates are per second over
 * the sampling interval. */
typedef enum vitte_sys_metric {
    VITTE_SYS_PROC_CPU_PERCENT = 0, /* "process_cpu_percent"            % of one CPU */
    VITTE_SYS_PROC_RSS,             /* "process_resident_memory_bytes"  bytes */
    VITTE_SYS_PROC_PSS,             /* "process_pss_bytes"              bytes */
    VITTE_SYS_PROC_VSIZE,           /* "process_virtual_memory_bytes"   bytes */
    VITTE_SYS_PROC_THREADS,         /* "process_threads" */
    VITTE_SYS_PROC_OPEN_FDS,        /* "process_open_fds" */
    VITTE_SYS_PROC_FAULTS_RATE,     /* "process_page_faults_per_second"  minor + major */
    VITTE_SYS_PROC_CTXT_RATE,       /* "process_context_switches_per_second" */
    VITTE_SYS_PROC_IO_READ_RATE,    /* "process_io_read_bytes_per_second"   rchar */
    VITTE_SYS_PROC_IO_WRITE_RATE,   /* "process_io_write_bytes_per_second"  wchar */
    VITTE_SYS_HOST_CPU_PERCENT,     /* "host_cpu_percent"                % of all CPUs */
    VITTE_SYS_HOST_MEM_USED,        /* "host_memory_used_bytes" */
    VITTE_SYS_HOST_MEM_AVAILABLE,   /* "host_memory_available_bytes" */
    VITTE_SYS_HOST_LOAD1,           /* "host_load1" */
    VITTE_SYS_HOST_PSI_CPU,         /* "host_pressure_cpu_some_percent"    avg10 */
    VITTE_SYS_HOST_PSI_MEMORY,      /* "host_pressure_memory_some_percent" avg10 */
    VITTE_SYS_HOST_PSI_IO,          /* "host_pressure_io_some_percent"     avg10 */
    VITTE_SYS_HOST_DISK_READ_RATE,  /* "host_disk_read_bytes_per_second" */
    VITTE_SYS_HOST_DISK_WRITE_RATE, /* "host_disk_write_bytes_per_second" */
    VITTE_SYS_HOST_NET_RX_RATE,     /* "host_network_receive_bytes_per_second" */
    VITTE_SYS_HOST_NET_TX_RATE,     /* "host_network_transmit_bytes_per_second" */
    VITTE_SYS_METRIC_COUNT
} vitte_sys_metric;

/** The series name of a metric (static; NULL for an unknown value). */
VITTE_API const char *vitte_sys_metric_name(vitte_sys_metric metric);

typedef struct vitte_sys_sampler vitte_sys_sampler;

typedef struct vitte_sys_sampler_config {
    uint32_t struct_size; /* set by vitte_sys_sampler_config_init() */
    uint64_t interval_ns; /* between samples; default 1 s, at least 1 ms */
    int pid;              /* the process of the PROC metrics; default 0 (the caller) */
    size_t capacity;      /* values kept per series; default 600 */
    /* The metrics to sample; NULL: process CPU percent and RSS, host CPU
     * percent and used memory.  A metric whose source is unreadable (PSS of
     * another user's process, PSI disabled) gets no values. */
    const vitte_sys_metric *metrics;
    size_t n_metrics;
    /* Not NULL: the series are put in this registry (with labels, NULL or
     * key, value, ..., NULL), which owns them and must outlive the sampler.
     * NULL: the sampler owns them. */
    vitte_metrics *registry;
    const char *const *labels;
} vitte_sys_sampler_config;

VITTE_API void vitte_sys_sampler_config_init(vitte_sys_sampler_config *cfg);
/** Create a sampler (not started): opens the files and takes a first sample,
 * the base of the first interval.  cfg NULL: defaults.
 * Returns:   VITTE_OK; VITTE_EINVAL (bad configuration); VITTE_ENOENT (no
 *            such process); VITTE_EEXIST (a series name already taken in the
 *            registry); VITTE_ENOMEM. */
VITTE_API int vitte_sys_sampler_create(const vitte_sys_sampler_config *cfg,
                                       vitte_sys_sampler **out);
/** Start the thread: one sample every interval_ns.  Threads: any.
 * Returns VITTE_OK, VITTE_ESTATE (already running) or VITTE_ENOMEM. */
VITTE_API int vitte_sys_sampler_start(vitte_sys_sampler *s);
/** Stop the thread and join it (returns after its last sample).  Threads:
 * any.  Returns VITTE_OK, or VITTE_ESTATE when not running. */
VITTE_API int vitte_sys_sampler_stop(vitte_sys_sampler *s);
/** Take one sample now, in the calling thread (running or not).  Threads: any.
 * Returns VITTE_OK, or VITTE_ENOENT once the process has exited. */
VITTE_API int vitte_sys_sampler_sample_now(vitte_sys_sampler *s);
/** Samples taken so far (by the thread or sample_now). */
VITTE_API uint64_t vitte_sys_sampler_samples(const vitte_sys_sampler *s);
/** The series of a metric, or NULL when it was not chosen. */
VITTE_API vitte_series *vitte_sys_sampler_series(vitte_sys_sampler *s, vitte_sys_metric metric);
/** Stop (if running) and free; the series go with it unless a registry owns
 * them.  NULL: no-op. */
VITTE_API void vitte_sys_sampler_destroy(vitte_sys_sampler *s);

/* ---- Prometheus process metrics ------------------------------------------------- */

/** Register the standard Prometheus process metrics of pid (0: the caller)
 * in m, refreshed by a collector before every export (vitte_metrics_visit):
 *   process_cpu_seconds_total      counter  user + system CPU seconds
 *   process_start_time_seconds     gauge    start, Unix time
 *   process_resident_memory_bytes  gauge
 *   process_virtual_memory_bytes   gauge
 *   process_threads                gauge
 *   process_open_fds               gauge    (only when fd/ is readable)
 *   process_max_fds                gauge    (only when limits is readable)
 * The collector's state belongs to m.  Once the process has exited the
 * values stay at their last reading.
 * Returns:   VITTE_OK; VITTE_EINVAL; VITTE_ENOENT (no such process);
 *            VITTE_EEXIST (a name taken, e.g. registered twice); VITTE_ENOMEM.
 */
VITTE_API int vitte_process_metrics_register(vitte_metrics *m, int pid);

/* ---- running a command: rusage and perf_event counters --------------------------- */

/* The counters of `perf stat`'s default set. */
typedef enum vitte_perf_event {
    VITTE_PERF_TASK_CLOCK = 0,   /* "task-clock", ns of CPU time (software) */
    VITTE_PERF_CONTEXT_SWITCHES, /* "context-switches" (software) */
    VITTE_PERF_CPU_MIGRATIONS,   /* "cpu-migrations" (software) */
    VITTE_PERF_PAGE_FAULTS,      /* "page-faults" (software) */
    VITTE_PERF_CYCLES,           /* "cycles" (hardware) */
    VITTE_PERF_INSTRUCTIONS,     /* "instructions" (hardware) */
    VITTE_PERF_BRANCHES,         /* "branches" (hardware) */
    VITTE_PERF_BRANCH_MISSES,    /* "branch-misses" (hardware) */
    VITTE_PERF_CACHE_MISSES,     /* "cache-misses" (hardware) */
    VITTE_PERF_EVENT_COUNT
} vitte_perf_event;

/** perf's name of an event ("task-clock"); NULL for an unknown value. */
VITTE_API const char *vitte_perf_event_name(vitte_perf_event event);

typedef enum vitte_perf_status {
    VITTE_PERF_OK = 0,            /* counted */
    VITTE_PERF_NOT_REQUESTED = 1, /* not in vitte_command_config.perf_events */
    VITTE_PERF_NOT_SUPPORTED = 2, /* no such event here (no PMU in a VM: ENOENT) */
    VITTE_PERF_NOT_PERMITTED = 3, /* perf_event_paranoid or seccomp refused it */
    VITTE_PERF_NOT_COUNTED = 4    /* opened but never scheduled (multiplexing) */
} vitte_perf_status;

/** "ok", "not requested", "not supported", "not permitted", "not counted". */
VITTE_API const char *vitte_perf_status_name(vitte_perf_status status);

typedef struct vitte_perf_value {
    vitte_perf_status status;
    int user_only;        /* counted in user mode only (exclude_kernel: paranoid >= 2) */
    uint64_t value;       /* scaled up by enabled / running when multiplexed */
    double running_ratio; /* time counting / time enabled: 1 unless multiplexed */
} vitte_perf_value;

typedef struct vitte_command_config {
    uint32_t struct_size; /* set by vitte_command_config_init() */
    /* Bit (1u << e) for each vitte_perf_event e to count; default all.  0:
     * no perf_event counters (rusage only). */
    uint32_t perf_events;
} vitte_command_config;

VITTE_API void vitte_command_config_init(vitte_command_config *cfg);

/* What a finished command used: wait4()'s rusage (the command and the
 * descendants it waited for) and the perf_event counters (the command and
 * every thread and child it created, inherited). */
typedef struct vitte_command_result {
    int exited;          /* 1: it called exit; 0: a signal killed it */
    int exit_code;       /* when exited */
    int signal;          /* when killed */
    int core_dumped;     /* when killed */
    int status;          /* as a shell says it: exit_code, or 128 + signal */
    double wall_seconds; /* from the exec to the end (CLOCK_MONOTONIC) */
    double user_seconds, system_seconds;
    uint64_t max_rss_bytes; /* peak resident set of the largest process */
    uint64_t minor_faults, major_faults;
    uint64_t voluntary_ctxt_switches, involuntary_ctxt_switches;
    uint64_t fs_inputs, fs_outputs; /* 512-byte blocks read from / written to storage */
    vitte_perf_value perf[VITTE_PERF_EVENT_COUNT];
} vitte_command_result;

typedef struct vitte_command vitte_command;

/** Start argv[0] with arguments argv[1..] (NULL-terminated), found in PATH
 * when it holds no '/', with the counters of cfg (NULL: defaults) opened on
 * it before its exec (enable_on_exec, inherited by its threads and
 * children; each counter on its own, so one refused does not stop the
 * others; user mode only when the kernel refuses kernel mode).  The command
 * inherits the environment, descriptors, signal mask and ignored signals.
 * The caller's signal handlers are not touched: to pass Ctrl-C on, the
 * command already shares the terminal's process group; a wrapper forwards
 * signals sent to itself with vitte_command_pid().
 * Returns:   VITTE_OK; VITTE_EINVAL; VITTE_ENOENT (not found: a shell's 127);
 *            VITTE_EPERM (not executable: 126); VITTE_EFORMAT (not a format
 *            the kernel runs); VITTE_EIO (fork failed or another exec
 *            error); VITTE_ENOMEM.  On error nothing is left running.
 */
VITTE_API int vitte_command_start(const vitte_command_config *cfg, char *const argv[],
                                  vitte_command **out);
/** The command's process id. */
VITTE_API int vitte_command_pid(const vitte_command *c);
/** Wait for the command to end (retrying after signals) and fill out.
 * Returns VITTE_OK, VITTE_EINVAL, or VITTE_ESTATE when already waited for. */
VITTE_API int vitte_command_wait(vitte_command *c, vitte_command_result *out);
/** Free the command; one still running is killed (SIGKILL) and reaped.
 * NULL: no-op. */
VITTE_API void vitte_command_destroy(vitte_command *c);
/** Start, wait, destroy. */
VITTE_API int vitte_command_run(const vitte_command_config *cfg, char *const argv[],
                                vitte_command_result *out);

VITTE_END_DECLS

#endif /* VITTE_SYSTEM_H */
