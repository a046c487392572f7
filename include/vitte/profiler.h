/* vitte: sampling the calling process's own call stacks, on demand.
 *
 *     vitte_profiler *p;
 *     if (vitte_profiler_start("out.vittrace", NULL, &p) == VITTE_OK) {
 *         work();
 *         vitte_profiler_stop(p);          // finishes and symbolizes the file
 *     }
 *
 * or, for a whole run with no code at all, VITTE_PROFILE=out.vittrace in
 * the environment of a program linked with libvitte or started under the
 * preload shim (`vitte run --sampler signal` does that).  "%p" in the path
 * becomes the process id.
 *
 * Each thread gets a CPU-time timer (timer_create on its CPU-time clock);
 * the SIGPROF handler walks frame pointers with bounds checks (no locks, no
 * allocation, no libc unwinding in the handler) into a per-thread ring that
 * a writer thread drains.  Such timers fire on the scheduler tick (often
 * 250 Hz, whatever is asked), so each sample is weighted by the CPU time
 * it measured, not by the requested period.  Threads started with
 * pthread_create after the start are covered. */
#ifndef VITTE_PROFILER_H
#define VITTE_PROFILER_H

#include <stdint.h>
#include <vitte/common.h>

VITTE_BEGIN_DECLS

typedef struct vitte_profiler vitte_profiler;

typedef struct vitte_profiler_options {
    size_t struct_size; /* sizeof(vitte_profiler_options) */
    uint32_t freq_hz;   /* requested rate per thread; 0: 999 */
    int wall;           /* 1: wall-clock sampling (blocked threads too) */
} vitte_profiler_options;

/** Start sampling this process into path.  VITTE_ESTATE if a profiler is
 * already running (or the preload shim is profiling this process),
 * VITTE_EIO (cannot create the file), VITTE_EINVAL, VITTE_ENOTSUP (no
 * per-thread CPU-time timers here), VITTE_ENOMEM, VITTE_ELIMIT (too many
 * threads). */
VITTE_API int vitte_profiler_start(const char *path, const vitte_profiler_options *opt,
                                   vitte_profiler **out);
/** Stop sampling, symbolize, and complete the file.  Returns the first
 * error met while writing. */
VITTE_API int vitte_profiler_stop(vitte_profiler *p);

/* ---- profiling a command (what `vitte run --profile` does) ------------------------- */

typedef enum vitte_sampler {
    VITTE_SAMPLER_AUTO = 0,  /* perf when permitted, else signal (says why) */
    VITTE_SAMPLER_PERF = 1,  /* perf_event_open on the child: exact rate, all threads */
    VITTE_SAMPLER_SIGNAL = 2 /* the preload shim: per-thread CPU-time timers */
} vitte_sampler;

typedef enum vitte_call_graph {
    VITTE_CALL_GRAPH_DWARF = 0, /* copy the user stack, unwind with .eh_frame (default) */
    VITTE_CALL_GRAPH_FP = 1     /* the kernel's frame-pointer chains */
} vitte_call_graph;

typedef struct vitte_run_options {
    size_t struct_size; /* sizeof(vitte_run_options) */
    const char *out;    /* the trace to write; NULL: "vitte.vittrace" */
    uint32_t freq_hz;   /* 0: 999 */
    vitte_call_graph call_graph;
    uint32_t stack_bytes; /* DWARF mode: user stack copied per sample; 0: 16384 */
    vitte_sampler sampler;
    int wall;                /* wall-clock samples, blocked threads too (signal sampler) */
    int no_follow_fork;      /* 1: only the started process, not its children */
    const char *preload;     /* the shim for the signal sampler; NULL: found next to libvitte */
    const char *symbol_dirs; /* extra directories for symbols (colon-separated) */
    /* System metrics of the program (CPU %, RSS, threads, faults, context
     * switches, IO, open files) and of the machine (CPU %, available
     * memory), recorded every system_interval_ms (0: 100) as counter tracks
     * in the same trace.  Perf sampler only. */
    int system;
    uint32_t system_interval_ms;
    /* Called once the program has started (pid), e.g. to forward signals. */
    void (*on_start)(void *arg, int pid);
    /* Facts worth telling the user: which sampler and why, truncated stacks. */
    void (*on_message)(void *arg, const char *message);
    /* Long steps after the run (symbolization): done of total. */
    void (*on_progress)(void *arg, const char *what, uint64_t done, uint64_t total);
    void *arg;
} vitte_run_options;

typedef struct vitte_run_result {
    int wait_status;        /* as from waitpid() (WIFEXITED...), -1 if never started */
    vitte_sampler sampler;  /* the one used */
    uint64_t samples;       /* written */
    uint64_t lost;          /* lost by the kernel or a full buffer */
    uint64_t unwind_failed; /* stacks that stopped at the leaf */
    uint64_t truncated;     /* stacks cut by the stack copy size */
    uint64_t cpu_ns;        /* sum of the samples' weights */
    uint64_t wall_ns;       /* from start to exit */
    uint32_t threads;       /* threads seen */
    uint32_t processes;     /* processes seen */
    char message[256];      /* why it failed, when it did */
} vitte_run_result;

/** Defaults: struct_size set, 999 Hz, DWARF stacks, sampler auto. */
VITTE_API void vitte_run_options_init(vitte_run_options *o);

/** Run argv (PATH lookup, environment and stdio inherited) and sample its
 * call stacks until it exits, then symbolize and complete the trace.
 * Returns VITTE_OK when the program ran (whatever its exit status: see
 * res->wait_status); VITTE_ENOENT when it could not be started (not found,
 * not executable: res->message says which), VITTE_EPERM when sampling is not
 * permitted at all, VITTE_EIO when the trace cannot be written. */
VITTE_API int vitte_profile_run(char *const argv[], const vitte_run_options *opt,
                                vitte_run_result *res);

VITTE_END_DECLS

#endif
