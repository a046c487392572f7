/* vitte: tracing.  Scoped spans, instants, counters, async spans and flows,
 * with arguments, a module (category) and tags, recorded per thread without
 * locks into a streaming, compressed .vittrace file (docs/formats/vittrace.md),
 * and read back event by event in bounded memory.
 *
 *     vitte_tracer *t = vitte_tracer_create("build-trace.vittrace");
 *     {
 *         VITTE_TRACE_SCOPE("compile");          // ends with the block
 *         VITTE_TRACE_COUNTER("queue_depth", 12);
 *     }
 *     vitte_tracer_destroy(t);                    // flushes and closes
 *
 * Or, with no code in main: run an instrumented program with
 * VITTE_TRACE=out.vittrace in its environment.
 *
 * Recording (the macros and vitte_zone_*) is lock-free, allocation-free and
 * system-call-free after a thread's first event: an event is one store into
 * the thread's own buffer, drained by a background writer.  When a buffer is
 * full the event is dropped and counted (never blocks, unless the tracer was
 * created with blocking = 1); drops appear in the file and every summary.
 * One tracer is active per process at a time; the macros record into it and
 * do nothing (one load and a branch) when there is none.
 *
 * -DVITTE_TRACE_ENABLED=0 removes every macro: they expand to nothing and
 * their arguments are not evaluated.
 */
#ifndef VITTE_TRACE_H
#define VITTE_TRACE_H

#include <vitte/common.h>

VITTE_BEGIN_DECLS

#ifndef VITTE_TRACE_ENABLED
#define VITTE_TRACE_ENABLED 1
#endif

/* ---- sessions -------------------------------------------------------------- */

typedef struct vitte_tracer vitte_tracer;

typedef struct vitte_tracer_config {
    uint32_t struct_size;       /* set by vitte_tracer_config_init() */
    size_t buffer_bytes;        /* per recording thread, faulted in at its first event
                                 * (default 4 MiB: 131072 events, 26 ms at 5 M/s) */
    uint64_t flush_interval_ns; /* longest time between writes to the file (100 ms) */
    int blocking;               /* 1: a full buffer makes the thread wait (0) */
    int compression_level;      /* zstd level, 0 = store uncompressed (default 1) */
    int catch_signals;          /* flush on SIGSEGV, SIGBUS, SIGABRT, SIGTERM, SIGINT (1) */
    /* Record-time filters (NULL/0: record everything). */
    const char *modules;      /* comma list of modules to keep; "-m" drops module m */
    const char *tags;         /* comma list: keep events with one of these tags; "-t" drops */
    uint64_t min_duration_ns; /* drop spans shorter than this */
} vitte_tracer_config;

VITTE_API void vitte_tracer_config_init(vitte_tracer_config *cfg);

/** Start tracing to path: a .vittrace file, or Chrome trace JSON when path
 * ends in ".json" (a .vittrace is streamed next to it and converted at
 * destroy).  NULL on error: another tracer active, path not writable, bad
 * configuration.  vitte_tracer_create_ex() says which (VITTE_ESTATE, VITTE_EIO,
 * VITTE_EINVAL...). */
VITTE_API vitte_tracer *vitte_tracer_create(const char *path);
VITTE_API int vitte_tracer_create_ex(const char *path, const vitte_tracer_config *cfg,
                                     vitte_tracer **out);
/** Make everything recorded so far (by every thread) reach the file. */
VITTE_API int vitte_tracer_flush(vitte_tracer *t);
/** Flush, write the end marker, close.  Returns the first error met while
 * tracing (VITTE_EIO, VITTE_ENOSPC) or VITTE_OK.  NULL: no-op. */
VITTE_API int vitte_tracer_destroy(vitte_tracer *t);
/** The active tracer (NULL if none), e.g. the one VITTE_TRACE started. */
VITTE_API vitte_tracer *vitte_tracer_active(void);

typedef struct vitte_tracer_stats {
    uint64_t events;  /* recorded */
    uint64_t dropped; /* buffer full */
    uint64_t filtered;
    uint64_t bytes_written;
    uint64_t chunks_written;
} vitte_tracer_stats;
VITTE_API int vitte_tracer_get_stats(vitte_tracer *t, vitte_tracer_stats *out);

/** Switch recording off and on at run time (one relaxed load per event). */
VITTE_API void vitte_trace_set_enabled(int on);
VITTE_API int vitte_trace_enabled(void);

/* ---- instrumentation --------------------------------------------------------- */

/* A static description of an instrumentation site; the macros make one per
 * site.  `state` belongs to the library (filter decisions); leave it 0. */
struct vitte_srcloc {
    const char *name;
    const char *module; /* category; NULL for none */
    const char *tags;   /* comma-separated tags; NULL for none */
    const char *func;
    const char *file;
    uint32_t line;
    uint32_t state;
};

/** A span under way: a value on the caller's stack; end it exactly once, on
 * the thread that began it. */
typedef struct vitte_zone {
    uint64_t t0;                    /* start, in the recorder's units (TSC ticks when the clock is
                                     * the TSC, else nanoseconds); 0 for a filtered span */
    const struct vitte_srcloc *loc; /* NULL: not recorded */
} vitte_zone;

/* Non-zero while a tracer records (library-private; read it through
 * vitte_zone_begin, which inlines the check so a disabled span costs one load). */
VITTE_API extern int vitte__trace_on;
VITTE_API vitte_zone vitte__zone_begin(struct vitte_srcloc *loc);
VITTE_API void vitte__zone_end(vitte_zone zone);

static inline int vitte__trace_is_on(void)
{
#if defined(__GNUC__)
    return __atomic_load_n(&vitte__trace_on, __ATOMIC_RELAXED);
#else
    return *(volatile int *)&vitte__trace_on;
#endif
}

/** Begin a span at a static site.  Signals: not AS-safe. */
static inline vitte_zone vitte_zone_begin(struct vitte_srcloc *loc)
{
    if (!vitte__trace_is_on()) {
        vitte_zone z = {0, 0};
        return z;
    }
    return vitte__zone_begin(loc);
}

/** End a span (exactly once, on the thread that began it). */
static inline void vitte_zone_end(vitte_zone zone)
{
    if (zone.loc != 0)
        vitte__zone_end(zone);
}
/** A span whose name is only known at run time (the name is copied and
 * interned once: fine for a few thousand distinct names, not for unique ids). */
VITTE_API vitte_zone vitte_zone_begin_named(const char *name, const char *module);

VITTE_API void vitte_trace_instant(struct vitte_srcloc *loc);
VITTE_API void vitte_trace_counter(struct vitte_srcloc *loc, double value);
/** Async spans: begin and end may be on different threads; (name, id) pairs them. */
VITTE_API void vitte_trace_async_begin(struct vitte_srcloc *loc, uint64_t id);
VITTE_API void vitte_trace_async_end(struct vitte_srcloc *loc, uint64_t id);
/** Flows link the innermost open span of the calling thread to spans on
 * other threads: begin in the producer, step/end in consumers, same id. */
VITTE_API void vitte_trace_flow_begin(uint64_t id);
VITTE_API void vitte_trace_flow_step(uint64_t id);
VITTE_API void vitte_trace_flow_end(uint64_t id);

/* Arguments.  vitte_trace_arg_* attach to the innermost span still open on
 * the calling thread; vitte_trace_last_arg_* to the last instant, counter or
 * async event this thread recorded.  key must be a string literal (or live
 * as long as the tracer); string values are copied (up to 255 bytes). */
VITTE_API void vitte_trace_arg_int(const char *key, int64_t value);
VITTE_API void vitte_trace_arg_double(const char *key, double value);
VITTE_API void vitte_trace_arg_str(const char *key, const char *value);
VITTE_API void vitte_trace_last_arg_int(const char *key, int64_t value);
VITTE_API void vitte_trace_last_arg_double(const char *key, double value);
VITTE_API void vitte_trace_last_arg_str(const char *key, const char *value);

/** Names shown for this thread and process (copied). */
VITTE_API void vitte_trace_set_thread_name(const char *name);
VITTE_API void vitte_trace_set_process_name(const char *name);

/* Used by VITTE_TRACE_SCOPE; not for direct use. */
static inline void vitte__zone_cleanup(vitte_zone *zone)
{
    vitte_zone_end(*zone);
}

#if VITTE_TRACE_ENABLED
#define VITTE__LOC(id, name, module, tags)                                                         \
    static struct vitte_srcloc id = {(name), (module), (tags), __func__, __FILE__, __LINE__, 0}

#define VITTE_TRACE_BEGIN_MT(ctx, name, module, tags)                                              \
    VITTE__LOC(VITTE__CAT(vitte__loc_, __LINE__), name, module, tags);                             \
    vitte_zone ctx = vitte_zone_begin(&VITTE__CAT(vitte__loc_, __LINE__))
#define VITTE_TRACE_BEGIN_M(ctx, name, module) VITTE_TRACE_BEGIN_MT(ctx, name, module, NULL)
#define VITTE_TRACE_BEGIN(ctx, name)           VITTE_TRACE_BEGIN_MT(ctx, name, NULL, NULL)
#define VITTE_TRACE_END(ctx)                   vitte_zone_end(ctx)

#if defined(__GNUC__)
/* A span that ends when the enclosing block ends. */
#define VITTE_TRACE_SCOPE_MT(name, module, tags)                                                   \
    VITTE__LOC(VITTE__CAT(vitte__loc_, __LINE__), name, module, tags);                             \
    vitte_zone VITTE__CAT(vitte__zone_, __LINE__) __attribute__((cleanup(vitte__zone_cleanup))) =  \
        vitte_zone_begin(&VITTE__CAT(vitte__loc_, __LINE__))
#define VITTE_TRACE_SCOPE_M(name, module) VITTE_TRACE_SCOPE_MT(name, module, NULL)
#define VITTE_TRACE_SCOPE(name)           VITTE_TRACE_SCOPE_MT(name, NULL, NULL)
#define VITTE_TRACE_FUNCTION()            VITTE_TRACE_SCOPE_MT(__func__, NULL, NULL)
#endif

#define VITTE_TRACE_INSTANT_MT(name, module, tags)                                                 \
    do {                                                                                           \
        VITTE__LOC(vitte__loc, name, module, tags);                                                \
        vitte_trace_instant(&vitte__loc);                                                          \
    } while (0)
#define VITTE_TRACE_INSTANT(name) VITTE_TRACE_INSTANT_MT(name, NULL, NULL)
#define VITTE_TRACE_COUNTER(name, value)                                                           \
    do {                                                                                           \
        VITTE__LOC(vitte__loc, name, NULL, NULL);                                                  \
        vitte_trace_counter(&vitte__loc, (double)(value));                                         \
    } while (0)
#define VITTE_TRACE_ASYNC_BEGIN(name, id)                                                          \
    do {                                                                                           \
        VITTE__LOC(vitte__loc, name, NULL, NULL);                                                  \
        vitte_trace_async_begin(&vitte__loc, (id));                                                \
    } while (0)
#define VITTE_TRACE_ASYNC_END(name, id)                                                            \
    do {                                                                                           \
        VITTE__LOC(vitte__loc, name, NULL, NULL);                                                  \
        vitte_trace_async_end(&vitte__loc, (id));                                                  \
    } while (0)
#else
#define VITTE_TRACE_BEGIN_MT(ctx, name, module, tags) vitte_zone ctx = {0, 0}
#define VITTE_TRACE_BEGIN_M(ctx, name, module)        vitte_zone ctx = {0, 0}
#define VITTE_TRACE_BEGIN(ctx, name)                  vitte_zone ctx = {0, 0}
#define VITTE_TRACE_END(ctx)                          ((void)(ctx))
#define VITTE_TRACE_SCOPE_MT(name, module, tags)      ((void)0)
#define VITTE_TRACE_SCOPE_M(name, module)             ((void)0)
#define VITTE_TRACE_SCOPE(name)                       ((void)0)
#define VITTE_TRACE_FUNCTION()                        ((void)0)
#define VITTE_TRACE_INSTANT_MT(name, module, tags)    ((void)0)
#define VITTE_TRACE_INSTANT(name)                     ((void)0)
#define VITTE_TRACE_COUNTER(name, value)              ((void)0)
#define VITTE_TRACE_ASYNC_BEGIN(name, id)             ((void)0)
#define VITTE_TRACE_ASYNC_END(name, id)               ((void)0)
#endif

/* ---- reading .vittrace files --------------------------------------------------- */

/** Where and why reading stopped (parsers take an optional diag). */
typedef struct vitte_diag {
    int status;        /* VITTE_EFORMAT, VITTE_ETRUNCATED, VITTE_EIO... */
    uint64_t offset;   /* byte offset in the file */
    char message[256]; /* "chunk 12: checksum mismatch" */
} vitte_diag;

typedef enum vitte_trace_event_type {
    VITTE_EVENT_SPAN = 1, /* ts_ns .. ts_ns + dur_ns, at depth on its thread */
    VITTE_EVENT_INSTANT = 2,
    VITTE_EVENT_COUNTER = 3,     /* value */
    VITTE_EVENT_ASYNC_BEGIN = 4, /* id */
    VITTE_EVENT_ASYNC_END = 5,   /* id */
    VITTE_EVENT_FLOW_BEGIN = 6,  /* id; bound to the span open at ts_ns on the thread */
    VITTE_EVENT_FLOW_STEP = 7,
    VITTE_EVENT_FLOW_END = 8,
    VITTE_EVENT_SAMPLE = 9 /* a sampled call stack: frames, weight in dur_ns */
} vitte_trace_event_type;

/* What a sample's weight measures. */
typedef enum vitte_sample_kind {
    VITTE_SAMPLE_CPU = 0, /* CPU time (on-CPU sampling) */
    VITTE_SAMPLE_WALL = 1 /* wall-clock time, blocked or not (--wall) */
} vitte_sample_kind;

/* A memory mapping of a sampled process: where a module was loaded. */
typedef struct vitte_trace_mapping {
    const char *path;     /* as mapped ("[vdso]" for the vDSO); never NULL */
    const char *build_id; /* lowercase hex, "" when unknown */
    uint64_t start;       /* first address */
    uint64_t limit;       /* one past the last address */
    uint64_t file_offset; /* offset in the file of start */
} vitte_trace_mapping;

/* One frame of a sampled stack.  Inlined functions get frames of their
 * own, innermost first, with the same address. */
typedef struct vitte_trace_frame {
    const char *function;               /* never NULL: "libfoo.so+0x1a2b" when unknown */
    const char *file;                   /* source file, "" when unknown */
    uint32_t line;                      /* 0 when unknown */
    uint8_t inlined;                    /* inlined into the next frame */
    uint8_t symbolized;                 /* 0: function is the module+offset placeholder */
    uint64_t address;                   /* the instruction (callers: return address - 1) */
    const vitte_trace_mapping *mapping; /* NULL when in no known mapping */
} vitte_trace_frame;

typedef enum vitte_trace_arg_type {
    VITTE_ARG_INT = 1,
    VITTE_ARG_DOUBLE = 2,
    VITTE_ARG_STRING = 3
} vitte_trace_arg_type;

typedef struct vitte_trace_arg {
    const char *key;
    vitte_trace_arg_type type;
    int64_t i;
    double d;
    const char *s;
} vitte_trace_arg;

typedef struct vitte_trace_event {
    vitte_trace_event_type type;
    uint32_t pid;
    uint32_t tid;
    uint32_t depth;     /* spans: 0 for a top-level span of its thread */
    uint64_t ts_ns;     /* vitte_now_ns() time base (CLOCK_MONOTONIC epoch) */
    uint64_t dur_ns;    /* spans */
    uint64_t id;        /* async and flow events; samples: the stack's id in its file
                         * (one id, one list of frames; 0 when no stack) */
    double value;       /* counters */
    const char *name;   /* never NULL ("" for flows) */
    const char *module; /* "" when none */
    const char *tags;   /* "" when none */
    const char *file;   /* "" when unknown */
    uint32_t line;
    size_t n_args;
    const vitte_trace_arg *args;
    /* Samples (name is the leaf function, dur_ns the weight). */
    vitte_sample_kind sample_kind;
    size_t n_frames;
    const vitte_trace_frame *frames; /* frames[0] is the leaf; the last is the root */
} vitte_trace_event;

typedef struct vitte_trace_thread {
    uint32_t pid;
    uint32_t tid;
    const char *name; /* "" until named */
    uint64_t events;
    uint64_t dropped;
} vitte_trace_thread;

typedef struct vitte_trace_file_info {
    uint16_t version_major, version_minor;
    uint32_t pid;
    const char *process_name; /* "" when unknown */
    const char *clock;        /* "TSC" or "CLOCK_MONOTONIC" */
    double tsc_hz;
    uint64_t start_ns;         /* vitte_now_ns() at start */
    int64_t start_realtime_ns; /* CLOCK_REALTIME at start, to align hosts */
    uint64_t end_ns;           /* last timestamp seen so far */
    uint64_t events;           /* read so far */
    uint64_t dropped;          /* as recorded so far */
    int complete;              /* the end marker has been read */
    uint64_t damaged;          /* events lost to damage (unknown names, orphan arguments) */
    uint64_t skipped_bytes;    /* bytes passed over to get past corrupt chunks */
    uint64_t bytes_read;       /* how far into the file reading has got */
} vitte_trace_file_info;

typedef struct vitte_trace_reader vitte_trace_reader;

#define VITTE_READER_FOLLOW 1u /* at the end, wait for the file to grow (tail -f) */

/** Open a .vittrace file.  Bad or foreign files: VITTE_EFORMAT with diag set. */
VITTE_API int vitte_trace_reader_open(const char *path, unsigned flags, vitte_trace_reader **out,
                                      vitte_diag *diag);
/** The next event: 1 and *ev set (valid until the next call), 0 at the end,
 * or an error (diag: offset and reason; what was read before stays valid).
 * A file cut short, as by a crash, ends with VITTE_ETRUNCATED after its last
 * complete chunk.  Memory stays bounded by the largest chunk plus the
 * strings and threads met. */
VITTE_API int vitte_trace_reader_next(vitte_trace_reader *r, const vitte_trace_event **ev,
                                      vitte_diag *diag);
VITTE_API int vitte_trace_reader_info(vitte_trace_reader *r, vitte_trace_file_info *out);
/** Threads met so far (names may arrive after a thread's first events). */
VITTE_API const vitte_trace_thread *vitte_trace_reader_threads(vitte_trace_reader *r, size_t *n);
VITTE_API void vitte_trace_reader_close(vitte_trace_reader *r);
/** Symbolize samples with the modules (and their debug information) found
 * in these directories (colon-separated; searched by build id, then by file
 * name), before the paths they were mapped from.  Without it, samples use
 * the symbols the profiler stored at the end of the recording, or, when
 * there are none, the modules at their recorded paths (checked by build
 * id).  Call before the first vitte_trace_reader_next(). */
VITTE_API int vitte_trace_reader_set_symbol_dirs(vitte_trace_reader *r, const char *dirs);

VITTE_END_DECLS

#endif
