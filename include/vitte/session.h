/* vitte: performance sessions.  A manager owns a reports directory; a session
 * in it times named sections of code (as trace spans, with per-name
 * statistics), samples system metrics, collects caller series, and writes a
 * report (JSON and Markdown), a flame graph and its trace.
 *
 *     vitte_manager *mgr = vitte_manager_create("./performance_reports");
 *     vitte_session *s = vitte_manager_start_session(mgr, "my_session");
 *     vitte_session_start_system_metrics(s);
 *     vitte_session_start_timing(s, "my_function");
 *     my_function();
 *     uint64_t ns;
 *     vitte_session_stop_timing(s, "my_function", &ns);
 *     vitte_series *fps = vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 100);
 *     vitte_series_set(fps, 30.0);
 *     vitte_session_add_series(s, fps);             // the session owns fps now
 *     vitte_manager_stop_session(mgr);              // writes DIR/my_session/...
 *     vitte_manager_destroy(mgr);
 *
 * One session is active per manager at a time.  The session owns the
 * process' tracer (one is active per process: see vitte_tracer_create),
 * streaming to DIR/NAME/trace.vittrace; its timings are spans of the module
 * NAME.  When another tracer is already active (VITTE_TRACE in the
 * environment, another manager's session), the session still works but its
 * spans go to that tracer: it writes no trace or flame graph of its own
 * (vitte_session_generate_flamegraph returns VITTE_ESTATE) and its report
 * says "trace": null.
 *
 * Threads: any, for every function here (internally locked; timings are
 * not for a hot path: each start and stop takes a lock).  The exception is
 * the end of a session's life: no call on a session may run concurrently
 * with (or follow) vitte_manager_stop_session or vitte_manager_destroy.
 * docs/sessions.md describes the files written; docs/formats/session-report.md
 * the report.
 */
#ifndef VITTE_SESSION_H
#define VITTE_SESSION_H

#include <vitte/common.h>
#include <vitte/metrics.h>

VITTE_BEGIN_DECLS

typedef struct vitte_manager vitte_manager;
typedef struct vitte_session vitte_session;

/* ---- the manager ------------------------------------------------------------ */

/** Create a manager writing under dir (NULL: "./performance_reports"),
 * which is created (with its parents) if needed and must be writable.
 * Returns NULL on any error; vitte_manager_create_ex says which:
 * VITTE_EINVAL (empty dir), VITTE_EPERM (permission denied, read-only file
 * system), VITTE_EIO (cannot be created for another reason, e.g. under
 * /proc, or not a directory), VITTE_ENOSPC, VITTE_ENOMEM. */
VITTE_API vitte_manager *vitte_manager_create(const char *dir);
VITTE_API int vitte_manager_create_ex(const char *dir, vitte_manager **out);
/** Stop the active session (writing its files, errors ignored) and free
 * everything.  NULL: no-op. */
VITTE_API void vitte_manager_destroy(vitte_manager *mgr);
/** The reports directory (as given; valid as long as the manager). */
VITTE_API const char *vitte_manager_directory(const vitte_manager *mgr);

/** Start a session named name (1 to 200 bytes, no '/', not "." or "..";
 * copied): creates DIR/NAME and starts its tracer.  NULL on any error;
 * vitte_manager_start_session_ex says which: VITTE_EINVAL (bad name),
 * VITTE_EEXIST (this manager already had a session of that name: names are
 * unique for the manager's life, so no session overwrites another's files;
 * files left in DIR/NAME by an earlier run are overwritten), VITTE_ESTATE
 * (another session of this manager is active), VITTE_EPERM / VITTE_EIO /
 * VITTE_ENOSPC (DIR/NAME or its trace cannot be created), VITTE_ENOMEM.
 * The session belongs to the manager. */
VITTE_API vitte_session *vitte_manager_start_session(vitte_manager *mgr, const char *name);
VITTE_API int vitte_manager_start_session_ex(vitte_manager *mgr, const char *name,
                                             vitte_session **out);
/** The active session, or NULL. */
VITTE_API vitte_session *vitte_manager_active_session(vitte_manager *mgr);
/** End the active session: stop its system sampler, close its trace, write
 * DIR/NAME/report.json, report.md and flamegraph.svg (next to
 * trace.vittrace), and free the session (its handle is invalid afterwards).
 * Timings still open are left out of the trace and counted as "open" in the
 * report.  Every file is attempted; the first error is returned:
 * VITTE_ESTATE (no active session), VITTE_EIO / VITTE_ENOSPC / VITTE_EPERM
 * (a file could not be written), or the tracer's error. */
VITTE_API int vitte_manager_stop_session(vitte_manager *mgr);

/* ---- sessions ------------------------------------------------------------------ */

VITTE_API const char *vitte_session_name(const vitte_session *s);
/** DIR/NAME, where the session's files go. */
VITTE_API const char *vitte_session_directory(const vitte_session *s);

/** Start timing name (copied) on the calling thread: a trace span begins.
 * Timings nest: a thread may time "frame" and, inside, "physics".  The same
 * name may be open several times (recursion); a stop ends the latest.
 * Returns VITTE_OK, VITTE_EINVAL (NULL or empty name), VITTE_ENOMEM. */
VITTE_API int vitte_session_start_timing(vitte_session *s, const char *name);
/** Stop the latest timing of name that the calling thread started, record
 * its duration in the name's statistics and end its span.  A timing belongs
 * to the thread that started it (trace spans do): another thread cannot
 * stop it.  Timings on a thread end innermost first.  ns (may be NULL)
 * receives the duration in nanoseconds (0 on error).
 * Returns:   VITTE_OK; VITTE_EINVAL; VITTE_ENOENT (no timing of that name
 *            open on this thread); VITTE_ESTATE (the thread started a timing
 *            of another name inside it that is still open: stop that first).
 */
VITTE_API int vitte_session_stop_timing(vitte_session *s, const char *name, uint64_t *ns);

/* Statistics of one timing name, over the timings stopped so far. */
typedef struct vitte_timing_stats {
    uint64_t count;
    uint64_t total_ns;
    uint64_t min_ns, max_ns;
    double mean_ns;
    double p50_ns, p90_ns, p99_ns; /* from a histogram: within 1 % */
} vitte_timing_stats;

/** Statistics of name.  Returns VITTE_OK, VITTE_EINVAL, or VITTE_ENOENT when
 * no timing of that name was ever stopped (out zeroed). */
VITTE_API int vitte_session_timing_stats(vitte_session *s, const char *name,
                                         vitte_timing_stats *out);

/** Sample process CPU %, resident memory and threads, host CPU % and used
 * memory every interval_ns (vitte_session_start_system_metrics_ex; 0 and
 * the plain function: 100 ms) in a thread, until the session stops or
 * vitte_session_stop_system_metrics.  The report summarizes each metric.
 * Returns VITTE_OK, VITTE_ESTATE (already started once for this session),
 * VITTE_EINVAL (interval under 1 ms), VITTE_ENOTSUP (no /proc),
 * VITTE_ENOMEM. */
VITTE_API int vitte_session_start_system_metrics(vitte_session *s);
VITTE_API int vitte_session_start_system_metrics_ex(vitte_session *s, uint64_t interval_ns);
/** Stop sampling (the values stay in the report).  VITTE_ESTATE when not sampling. */
VITTE_API int vitte_session_stop_system_metrics(vitte_session *s);

/** Put a series in the session's report; the session takes it on success
 * (it destroys it; keep setting values from any thread until the session
 * stops).  Returns VITTE_OK, VITTE_EINVAL, VITTE_EEXIST (a series of that
 * name is already there, a system metric's included: the caller keeps the
 * series), VITTE_ENOMEM. */
VITTE_API int vitte_session_add_series(vitte_session *s, vitte_series *series);

typedef enum vitte_report_format {
    VITTE_REPORT_JSON = 1,    /* docs/formats/session-report.md */
    VITTE_REPORT_MARKDOWN = 2 /* tables, for people */
} vitte_report_format;

/** Write the report as it stands now to path (NULL: DIR/NAME/report.json
 * or report.md).  Returns VITTE_OK, VITTE_EINVAL, VITTE_EPERM / VITTE_EIO /
 * VITTE_ENOSPC (cannot write path), VITTE_ENOMEM. */
VITTE_API int vitte_session_save_report(vitte_session *s, const char *path,
                                        vitte_report_format format);
/** Write a flame graph SVG of the session's spans so far (the trace is
 * flushed first; open timings are not in it) to path (NULL:
 * DIR/NAME/flamegraph.svg).  Returns VITTE_OK, VITTE_EINVAL, VITTE_ESTATE
 * (the session has no trace of its own: see the top of this header),
 * VITTE_EPERM / VITTE_EIO / VITTE_ENOSPC, or a trace reading error. */
VITTE_API int vitte_session_generate_flamegraph(vitte_session *s, const char *path);

VITTE_END_DECLS

#endif /* VITTE_SESSION_H */
