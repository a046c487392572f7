/* vitte: trace exporters.  Read one or more .vittrace files and write them as
 * a text summary, Chrome trace JSON, folded stacks, a flame graph SVG, or the
 * events themselves as JSON or CSV, with filters applied on the way.
 *
 *     vitte_trace_export_options o;
 *     vitte_trace_export_options_init(&o);
 *     o.format = VITTE_TRACE_FORMAT_CHROME;
 *     o.min_duration_ns = 1000000;              // spans of 1 ms and more
 *     const char *paths[] = {"a.vittrace", "b.vittrace"};
 *     vitte_diag d;
 *     int rc = vitte_trace_export(paths, 2, &o, stdout, &d);
 *
 * Everything streams: a trace larger than memory can be exported.  Memory is
 * bounded by what the output needs, never by the number of events: the text
 * summary keeps one row per (group, span name) with a fixed-size histogram,
 * folded and SVG keep one entry per distinct stack, Chrome keeps a few spans
 * per depth and the flow events waiting for their enclosing span, JSON and
 * CSV keep nothing.
 *
 * Several files are several processes merged into one timeline.  Files
 * recorded on one host share CLOCK_MONOTONIC and are aligned on it; files
 * whose monotonic and realtime clocks disagree by more than a second (other
 * hosts, other boots) are aligned on CLOCK_REALTIME instead.  Times in the
 * output (and from_ns/to_ns) count from the earliest start among the files.
 *
 * Layouts: docs/formats/trace-events-json.md, docs/formats/trace-events-csv.md;
 * the other formats are those of their consumers (Chrome Trace Event Format,
 * Brendan Gregg's folded stacks, SVG 1.1); docs/cli/vitte-inspect.md shows them.
 */
#ifndef VITTE_TRACE_EXPORT_H
#define VITTE_TRACE_EXPORT_H

#include <stdio.h>

#include <vitte/common.h>
#include <vitte/trace.h>

VITTE_BEGIN_DECLS

typedef enum vitte_trace_format {
    VITTE_TRACE_FORMAT_TEXT = 1, /* summary: file facts, then spans by self time */
    VITTE_TRACE_FORMAT_CHROME,   /* Chrome Trace Event Format (JSON object form) */
    VITTE_TRACE_FORMAT_FOLDED,   /* "a;b;c <self ns>" per distinct stack */
    VITTE_TRACE_FORMAT_SVG,      /* interactive flame graph (or icicle) */
    VITTE_TRACE_FORMAT_JSON,     /* every event, docs/formats/trace-events-json.md */
    VITTE_TRACE_FORMAT_CSV,      /* every event, docs/formats/trace-events-csv.md */
    VITTE_TRACE_FORMAT_PPROF     /* samples as gzipped pprof profile.proto */
} vitte_trace_format;

/* How the text summary groups its span rows. */
typedef enum vitte_trace_group {
    VITTE_TRACE_BY_NAME = 0,   /* one table of span names */
    VITTE_TRACE_BY_THREAD = 1, /* one table per thread */
    VITTE_TRACE_BY_MODULE = 2  /* one table per module */
} vitte_trace_group;

typedef struct vitte_trace_export_options {
    uint32_t struct_size;      /* set by vitte_trace_export_options_init() */
    vitte_trace_format format; /* default VITTE_TRACE_FORMAT_TEXT */
    /* Filters, applied to every format.  module and tag are comma lists:
     * "io,net" keeps events of those modules (tags), "-gc" drops module gc.
     * thread is a comma list of thread names or TIDs.  NULL: no filter.
     * A filtered-out span is transparent: its children stay, its time counts
     * as its parent's self time.  Flow events follow only the thread and time
     * filters (they have no name or module). */
    const char *module;
    const char *tag;
    const char *thread;
    uint64_t min_duration_ns; /* drop spans shorter than this (other events stay) */
    uint64_t from_ns, to_ns;  /* keep what overlaps [from, to) on the merged
                               * timeline; 0 = open at that end */
    int by;                   /* text: a vitte_trace_group */
    int icicle;               /* svg: top-down (roots at the top) */
    int per_thread;           /* folded, svg: a root frame per thread (default: merged) */
    const char *title;        /* svg title (default "Flame Graph") */
    /* Called for each warning as it is met (damaged or unreadable file,
     * dropped events, spans without parent...), e.g. to print them when
     * the format has no room for them (folded, CSV).  NULL: not called. */
    void (*on_warning)(const char *message, void *ud);
    void *warning_ud;
    /* Called every 65536 events read and at the end of each file with the
     * bytes read so far and the total size of the input files (for a
     * progress display; a thread filter by name reads the files twice, and
     * the count starts again for the second pass).  NULL: not called. */
    void (*on_progress)(uint64_t bytes_done, uint64_t bytes_total, void *ud);
    void *progress_ud;
    /* Samples: directories searched for binaries and debug files
     * (colon-separated), as vitte_trace_reader_set_symbol_dirs().  NULL:
     * the symbols stored in the trace, else the recorded paths. */
    const char *symbol_dirs;
} vitte_trace_export_options;

/** Defaults: text format, no filters, merged stacks. */
VITTE_API void vitte_trace_export_options_init(vitte_trace_export_options *o);

/** "text", "chrome", "folded", "svg", "json", "csv", "pprof" (static; "?" for others). */
VITTE_API const char *vitte_trace_format_name(vitte_trace_format format);
/** The format named name (as above), or 0 if none. */
VITTE_API vitte_trace_format vitte_trace_format_from_name(const char *name);

/** Read every file (several = several processes merged into one timeline)
 * and write the export to out.  Files that cannot be opened, and damage met
 * while reading, do not stop the export: everything that could be read is
 * written, the problems are listed as warnings in the output where the
 * format has room for them (text summary, Chrome otherData, JSON), and the
 * first one is returned.
 * Ownership: none transferred; out is written and flushed, not closed.
 * Returns:   VITTE_OK; or the first reading error (VITTE_ENOENT, VITTE_EFORMAT,
 *            VITTE_ETRUNCATED, VITTE_EIO...) with diag->message naming the
 *            file and the reason, and diag->offset the byte offset; or
 *            VITTE_EINVAL (bad arguments, nothing written); or VITTE_EIO /
 *            VITTE_ENOSPC / VITTE_ENOMEM when the output could not be
 *            written (diag says so).  diag may be NULL.
 */
VITTE_API int vitte_trace_export(const char *const *paths, size_t n_paths,
                                 const vitte_trace_export_options *opt, FILE *out,
                                 vitte_diag *diag);

VITTE_END_DECLS

#endif
