/* vitte internal: trace exporters.
 *
 * Three layers, so that each can be tested without the others:
 *
 *   source  (vitte__xsource)  where events come from: a .vittrace reader in
 *                             export_trace_reader.c, synthetic events in tests;
 *   driver  (export_trace.c)  opens the sources, aligns their clocks on one
 *                             timeline, applies the filters, computes self
 *                             times, and hands what is kept to
 *   sink    (vitte__xsink)    one per format (export_trace_<format>.c), which
 *                             writes into a vitte__buf.
 *
 * Only export_trace_reader.c calls vitte_trace_reader_*: everything else
 * builds and runs on synthetic events.
 */
#ifndef VITTE_EXPORT_TRACE_H
#define VITTE_EXPORT_TRACE_H

#include <vitte/trace.h>
#include <vitte/trace_export.h>

#include "common/strmap.h"
#include "common/textbuf.h"

/* ---- sources ------------------------------------------------------------------ */

typedef struct vitte__xsource_ops {
    /* (Re)start at the first event: called once per pass (the thread filter
     * may need a first pass to learn thread names).  VITTE_OK or an error
     * with diag set. */
    int (*open)(void *ctx, vitte_diag *diag);
    /* As vitte_trace_reader_next(): 1 and *ev, 0 at the end, < 0 an error. */
    int (*next)(void *ctx, const vitte_trace_event **ev, vitte_diag *diag);
    int (*info)(void *ctx, vitte_trace_file_info *out);
    const vitte_trace_thread *(*threads)(void *ctx, size_t *n);
    void (*close)(void *ctx); /* after a pass; open() may follow */
} vitte__xsource_ops;

typedef struct vitte__xsource {
    const vitte__xsource_ops *ops;
    void *ctx;
    const char *path; /* for messages */
} vitte__xsource;

/* Optional, beside the ops (sources without it pass NULL): the latest value
 * of an INFO key of the source's file (vitte__trace_reader_info_value()), or
 * NULL.  The driver asks for the sampler's facts of a profile with it. */
typedef const char *(*vitte__xsource_info_value_fn)(void *ctx, const char *key);

/* ---- what the sinks see ---------------------------------------------------------- */

/* One kept event.  ev is as read (valid during the call only): sinks use
 * the fields below instead of ev->pid and ev->ts_ns. */
typedef struct vitte__xevent {
    const vitte_trace_event *ev;
    uint32_t stream;  /* index of the source: (stream, tid) names a thread */
    uint32_t pid;     /* as exported (unique per source) */
    int64_t ts;       /* ns on the merged timeline (spans: their start) */
    uint64_t self_ns; /* spans: dur_ns minus the time of their kept descendants */
} vitte__xevent;

typedef struct vitte__xfile {
    const char *path;
    int opened;               /* 0: the file could not be opened */
    int status;               /* VITTE_OK, or what stopped the reading */
    vitte_diag diag;          /* when status != VITTE_OK */
    uint32_t pid;             /* as exported */
    uint32_t file_pid;        /* as recorded */
    const char *process_name; /* "" when unknown */
    const char *clock;
    double tsc_hz;
    uint16_t version_major, version_minor;
    uint64_t start_ns; /* vitte_now_ns() at start, as recorded */
    int64_t start_realtime_ns;
    int64_t offset_ns;    /* the file's start on the merged timeline */
    uint64_t duration_ns; /* last timestamp - start */
    uint64_t events;      /* read */
    uint64_t dropped;     /* recorded as dropped by the tracer */
    int complete;         /* the end marker was read */
    /* The sampler's facts of a profile (INFO keys, docs/formats/vittrace.md),
     * "" and 0 when the file has none (non-NULL once opened). */
    const char *sampler;      /* "perf", "signal" */
    const char *call_graph;   /* "dwarf", "fp" */
    const char *sampler_note; /* why this sampler, when it was not the one asked */
    const char *exit_status;  /* "status 0", "signal 11" */
    uint64_t sample_freq;     /* asked, in samples per second of CPU time */
    uint64_t prof_samples, prof_lost, prof_unwind_failed, prof_truncated, prof_throttled,
        prof_unknown_mappings;
} vitte__xfile;

typedef struct vitte__xthread {
    uint32_t stream, pid, tid;
    const char *name; /* "" when never named */
    uint64_t events, dropped;
} vitte__xthread;

typedef struct vitte__xsummary {
    const vitte_trace_export_options *opt;
    const vitte__xfile *files;
    size_t n_files;
    const vitte__xthread *threads;
    size_t n_threads;
    int realtime_base;         /* files aligned on CLOCK_REALTIME (else CLOCK_MONOTONIC) */
    int64_t start_realtime_ns; /* CLOCK_REALTIME of timeline 0 (0 if unknown) */
    uint64_t duration_ns;      /* timeline length: first start to last timestamp */
    uint64_t events_read;      /* from every file */
    uint64_t events_kept;      /* after the filters */
    uint64_t kept_by_type[10]; /* indexed by vitte_trace_event_type */
    uint64_t dropped;          /* by the tracers, all files */
    uint64_t orphans;          /* spans whose parent never arrived */
    const char *const *warnings;
    size_t n_warnings;
} vitte__xsummary;

/* ---- sinks ------------------------------------------------------------------------ */

typedef struct vitte__xsink vitte__xsink;

typedef struct vitte__xsink_ops {
    /* A kept event.  Returns 0, or an error that stops the export. */
    int (*event)(vitte__xsink *s, const vitte__xevent *e);
    /* A span the filters dropped (NULL if the sink does not care): the
     * stack sinks need it to keep depths consistent. */
    void (*skip)(vitte__xsink *s, uint32_t stream, uint32_t tid, uint32_t depth);
    /* Source `stream` has no more events (NULL if the sink does not care). */
    void (*stream_end)(vitte__xsink *s, uint32_t stream);
    /* Everything was read: write what is left.  Returns 0 or an error. */
    int (*finish)(vitte__xsink *s, const vitte__xsummary *sum);
    void (*destroy)(vitte__xsink *s);
} vitte__xsink_ops;

struct vitte__xsink {
    const vitte__xsink_ops *ops;
    vitte__buf *out;
    const vitte_trace_export_options *opt;
};

/** The sink for opt->format writing into out (which it does not own): the
 * format's opening text is written at once.  VITTE_OK, VITTE_EINVAL (unknown
 * format) or VITTE_ENOMEM. */
int vitte__export_sink_create(const vitte_trace_export_options *opt, vitte__buf *out,
                              vitte__xsink **sink);
void vitte__export_sink_destroy(vitte__xsink *s);

/* The constructors behind it, one per file: each fills in out and opt
 * and writes its opening text. */
typedef int (*vitte__xsink_create_fn)(vitte__buf *out, const vitte_trace_export_options *opt,
                                      vitte__xsink **sink);
int vitte__export_text_create(vitte__buf *out, const vitte_trace_export_options *opt,
                              vitte__xsink **sink);
int vitte__export_chrome_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                vitte__xsink **sink);
int vitte__export_folded_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                vitte__xsink **sink);
int vitte__export_svg_create(vitte__buf *out, const vitte_trace_export_options *opt,
                             vitte__xsink **sink);
int vitte__export_json_events_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                     vitte__xsink **sink);
int vitte__export_csv_events_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                    vitte__xsink **sink);
int vitte__export_pprof_create(vitte__buf *out, const vitte_trace_export_options *opt,
                               vitte__xsink **sink);

/* ---- the driver --------------------------------------------------------------------- */

/** Options as given (NULL: defaults), copied into *o honouring struct_size.
 * VITTE_EINVAL if struct_size is too small or the format unknown. */
int vitte__export_options_copy(const vitte_trace_export_options *in, vitte_trace_export_options *o);

/** Export from n sources into out (see vitte_trace_export()).  Sources
 * whose open() fails are reported and skipped.  out is not flushed. */
int vitte__export_trace_run(const vitte__xsource *src, size_t n,
                            const vitte_trace_export_options *opt, vitte__buf *out,
                            vitte_diag *diag);
/** The same, with info_value (NULL: none) asked for each source's INFO
 * values (the sampler's facts, in vitte__xfile). */
int vitte__export_trace_run_ex(const vitte__xsource *src, size_t n,
                               vitte__xsource_info_value_fn info_value,
                               const vitte_trace_export_options *opt, vitte__buf *out,
                               vitte_diag *diag);

/* ---- shared helpers (export_trace_util.c) --------------------------------------------- */

/* A u64 -> u64 hash map with entries in insertion order (so output built
 * from it is deterministic) and a clear that costs what it holds. */
typedef struct vitte__xmap {
    uint64_t *keys;
    uint64_t *vals;
    uint32_t *slot;   /* index slot of each entry */
    size_t n, cap;    /* entries */
    uint32_t *index;  /* entry + 1, 0 = empty */
    size_t index_cap; /* power of two, or 0 */
} vitte__xmap;

void vitte__xmap_init(vitte__xmap *m);
void vitte__xmap_fini(vitte__xmap *m);
/** The value of key, inserted as 0 if absent (*created set then).  NULL when
 * out of memory.  The pointer is valid until the next insertion. */
uint64_t *vitte__xmap_upsert(vitte__xmap *m, uint64_t key, int *created);
/** The value of key, or NULL. */
uint64_t *vitte__xmap_find(const vitte__xmap *m, uint64_t key);
void vitte__xmap_clear(vitte__xmap *m);

/* Interned strings: id <-> copy, ids from 0 in order of first sight. */
typedef struct vitte__xnames {
    struct vitte__strmap map; /* string -> id + 1; owns the copies */
    const char **str;         /* id -> the map's copy (stable) */
    size_t *len;
    size_t n, cap;
} vitte__xnames;

void vitte__xnames_init(vitte__xnames *t);
void vitte__xnames_fini(vitte__xnames *t);
/** The id of s[0..n), added if new.  Returns the id or -1 (out of memory). */
int64_t vitte__xnames_intern(vitte__xnames *t, const char *s, size_t n);

/** "12.345" microseconds from ns, exact (no floating point); negative values
 * keep their sign. */
void vitte__export_put_us(vitte__buf *b, int64_t ns);
/** s as a JSON string, quotes included. */
void vitte__export_put_jstr(vitte__buf *b, const char *s);
/** A JSON number (null when not finite). */
void vitte__export_put_jdouble(vitte__buf *b, double v);
/** "0x" and lowercase hex digits. */
void vitte__export_put_hex(vitte__buf *b, uint64_t v);
/** The args of ev as JSON object members ("k":v,...), with a leading comma
 * when lead_comma; returns the number written. */
size_t vitte__export_put_jargs(vitte__buf *b, const vitte_trace_event *ev, int lead_comma);
/** "span", "instant", "counter", "async_begin", "async_end", "flow_begin",
 * "flow_step", "flow_end", "sample" ("?" otherwise). */
const char *vitte__export_event_type_name(int type);
/** A human duration with 4 significant digits: "950 ns", "12.35 us",
 * "1.234 s" (NUL-terminated, at most 24 bytes). */
void vitte__export_fmt_dur(char *out, size_t size, uint64_t ns);

/* Stack accumulation for folded and SVG (export_trace_folded.c): spans
 * arrive parent-after-children with their depth; per thread and depth a
 * map of suffix path -> self ns waits for the parent, which prefixes its
 * name.  A suffix path is an interned node (name, next node), so prefixing
 * is one hash lookup, and memory is bounded by the distinct paths. */
#define VITTE__XSTACK_NIL UINT32_MAX
typedef struct vitte__xstacks {
    vitte__xnames names;
    uint32_t *node_name; /* per node */
    uint32_t *node_next; /* per node: the rest of the path, or NIL */
    size_t n_nodes, cap_nodes;
    vitte__xmap node_index; /* (name << 32 | next) -> node */
    vitte__xmap threads;    /* (stream << 32 | tid) -> thread index + 1 */
    struct vitte__xstack_thread *th;
    size_t n_th, cap_th;
    vitte__xmap done;         /* (thread index << 32 | node) -> self ns; thread 0 when merged */
    vitte__xmap sample_paths; /* samples: (stream << 32 | stack id) -> path node + 1 */
    int per_thread;
    int err;
} vitte__xstacks;

void vitte__xstacks_init(vitte__xstacks *st, int per_thread);
void vitte__xstacks_fini(vitte__xstacks *st);
int vitte__xstacks_span(vitte__xstacks *st, const vitte__xevent *e);
void vitte__xstacks_skip(vitte__xstacks *st, uint32_t stream, uint32_t tid, uint32_t depth);
/** A sample: its frames (root to leaf) become one stack weighted by the
 * sample's weight (dur_ns). */
int vitte__xstacks_sample(vitte__xstacks *st, const vitte__xevent *e);
/** Flush what waits on the threads of stream (parents that never arrived:
 * the paths become roots). */
void vitte__xstacks_stream_end(vitte__xstacks *st, uint32_t stream);
/** Thread of index i (for per-thread roots): its stream and tid. */
void vitte__xstacks_thread_key(const vitte__xstacks *st, uint32_t i, uint32_t *stream,
                               uint32_t *tid);

/* The display name of a thread root frame: "NAME (tid T)" or "tid T", and
 * in multi-file exports "PROCESS (pid P)" frames above them. */
void vitte__export_thread_label(vitte__buf *b, const vitte__xsummary *sum, uint32_t stream,
                                uint32_t tid);
void vitte__export_process_label(vitte__buf *b, const vitte__xsummary *sum, uint32_t stream);

#endif
