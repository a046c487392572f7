/* vitte internal: sessions (include/vitte/session.h).  session.c keeps the
 * state; session_report.c writes it as JSON or Markdown. */
#ifndef VITTE_SESSION_INTERNAL_H
#define VITTE_SESSION_INTERNAL_H

#include <pthread.h>
#include <stdio.h>

#include <vitte/session.h>
#include <vitte/system.h>
#include <vitte/trace.h>

#include "common/strmap.h"

/* Per-name statistics; created at the first start of the name. */
struct vitte__timing_rec {
    char *name;
    uint64_t count, total_ns, min_ns, max_ns;
    vitte_histogram *hist; /* durations in ns */
};

/* A timing under way on some thread. */
struct vitte__open_timing {
    pthread_t thread;
    size_t rec; /* index in recs */
    uint64_t t0;
    vitte_zone zone;
};

struct vitte_session {
    vitte_manager *mgr;
    char *name;
    char *dir;        /* DIR/NAME */
    char *trace_path; /* DIR/NAME/trace.vittrace */
    pthread_mutex_t lock;
    vitte_tracer *tracer;           /* NULL: another tracer was active (no trace of our own) */
    int trace_closed;               /* the tracer was destroyed (at stop) */
    vitte_tracer_stats trace_stats; /* taken when it was closed */
    uint64_t start_ns, stop_ns;     /* vitte_now_ns(); stop_ns 0 while running */
    int64_t start_unix_ns;

    struct vitte__strmap names; /* name -> index + 1 in recs */
    struct vitte__timing_rec *recs;
    size_t n_recs, cap_recs;
    struct vitte__open_timing *open;
    size_t n_open, cap_open;

    vitte_series **series; /* owned */
    size_t n_series, cap_series;

    vitte_sys_sampler *sampler;
    int sampling;
    uint64_t sample_interval_ns;
};

/* The metrics the session samples. */
extern const vitte_sys_metric vitte__session_sys_metrics[];
extern const size_t vitte__session_n_sys_metrics;

/** Write the report of s (its lock held by the caller) to f. */
int vitte__session_write_report(vitte_session *s, FILE *f, vitte_report_format format);
/** A status for errno after a failed open/write. */
int vitte__session_errno_status(int err);

#endif
