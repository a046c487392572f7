/* vitte internal: writing sampled call stacks into a .vittrace file.
 *
 * Every sampler (perf_event in `vitte run`, the timer-and-signal sampler of
 * the preload shim and of vitte_profiler_start()) collects raw samples:
 * a thread, a time, a weight and the instruction addresses of its stack.
 * This writer interns them (mappings, locations, a prefix tree of stacks),
 * writes them as MAPPINGS, LOCATIONS, STACKS and SAMPLES chunks (format
 * 1.1, docs/formats/vittrace.md), and at the end can symbolize every
 * location once, while the binaries still exist, into a SYMBOLS chunk.
 *
 * Not thread-safe: one thread (the sampler's reader or writer thread)
 * calls it. */
#ifndef VITTE_PROF_PROFW_H
#define VITTE_PROF_PROFW_H

#include <stddef.h>
#include <stdint.h>

typedef struct vitte__profw vitte__profw;

typedef struct vitte__profw_options {
    const char *path;         /* the file to create (truncated) */
    uint32_t pid;             /* the header's process */
    const char *process_name; /* INFO "process" (NULL: none) */
    const char *cmdline;      /* INFO "cmdline" (NULL: none) */
    const char *sampler;      /* INFO "sampler": "perf", "signal" */
    const char *call_graph;   /* INFO "call_graph": "dwarf", "fp" */
    uint32_t freq_hz;         /* INFO "sample_freq" (requested) */
    int zstd_level;           /* 0: default (3) */
} vitte__profw_options;

/* Counts reported in the file (INFO "prof_*" keys, rewritten at each flush). */
typedef struct vitte__profw_counts {
    uint64_t lost;             /* samples the kernel or a full ring lost */
    uint64_t unwind_failed;    /* stacks that could not be unwound past the leaf */
    uint64_t truncated;        /* stacks cut by the stack copy or the depth limit */
    uint64_t throttled;        /* kernel throttling events */
    uint64_t mappings_unknown; /* frames in no known mapping */
} vitte__profw_counts;

/** Create the file and write its header and INFO.  VITTE_OK, VITTE_EIO (diag
 * text in *err, up to 256 bytes), VITTE_ENOMEM. */
int vitte__profw_open(const vitte__profw_options *o, vitte__profw **out, char err[256]);

/** A module mapped in process pid at [start, limit) from file offset pgoff.
 * build_id may be NULL.  Later mappings over the same range replace earlier
 * ones (exec, dlclose + dlopen).  Returns VITTE_OK or an error. */
int vitte__profw_mapping(vitte__profw *w, uint32_t pid, uint64_t start, uint64_t limit,
                         uint64_t pgoff, const char *path, const uint8_t *build_id, size_t bid_len);
/** Process pid's address space was replaced (exec): forget its mappings. */
void vitte__profw_exec(vitte__profw *w, uint32_t pid);
/** Name (or rename) thread tid of process pid. */
int vitte__profw_thread(vitte__profw *w, uint32_t pid, uint32_t tid, const char *name);

/** One sample: ips[0] is the interrupted instruction, ips[1..n) are return
 * addresses (the writer subtracts 1 from those to land in the call).
 * weight_ns: the CPU (or wall) time the sample stands for.  kind:
 * VITTE_SAMPLE_CPU or VITTE_SAMPLE_WALL.  Timestamps on the vitte_now_ns()
 * time base. */
int vitte__profw_sample(vitte__profw *w, uint32_t pid, uint32_t tid, uint64_t ts_ns,
                        uint64_t weight_ns, int kind, const uint64_t *ips, size_t n);

/** A counter track's value from ts_ns on (system metrics of `vitte run
 * --system`): name and module are copied; the track belongs to thread tid
 * of the file's process. */
int vitte__profw_counter(vitte__profw *w, uint32_t tid, const char *name, const char *module,
                         uint64_t ts_ns, double value);

/** Replace the counts written with the next flush. */
void vitte__profw_set_counts(vitte__profw *w, const vitte__profw_counts *c);
/** Set an INFO key now (e.g. "sample_rate_reached"). */
int vitte__profw_info(vitte__profw *w, const char *key, const char *value);

/** Write what is buffered (whole chunks).  Call it at least every 100 ms
 * so that a crash of the writer loses little. */
int vitte__profw_flush(vitte__profw *w);

/** Symbolize every location met (dirs: extra search directories, may be
 * NULL) and write the SYMBOLS chunk.  progress, when not NULL, is called
 * with (done, total) now and then. */
int vitte__profw_symbolize(vitte__profw *w, const char *const *dirs, size_t n_dirs,
                           void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg);

/** Copy the events of the .vittrace at path (spans, instants, counters,
 * async spans, flows, their arguments, thread names: what a program built
 * with libvitte traced during the run) into this file, so that they sit on
 * the samples' timeline.  *events receives the number copied.  VITTE_OK, or
 * the reading error (what was read before it is kept). */
int vitte__profw_import_trace(vitte__profw *w, const char *path, uint64_t *events);

/** Symbolize up to max of the locations met since the last call, now (to
 * spread the work over the recording, while the binaries surely exist);
 * vitte__profw_symbolize() does the rest and writes the chunk.  dirs must
 * be the same in both calls. */
int vitte__profw_symbolize_some(vitte__profw *w, const char *const *dirs, size_t n_dirs,
                                size_t max);

/** Write STATS and END, close the file and free w.  Returns the first error
 * met while writing (the file is as complete as it could be made). */
int vitte__profw_close(vitte__profw *w, uint64_t end_ns);

/** Samples written so far. */
uint64_t vitte__profw_samples(const vitte__profw *w);

#endif
