/* The .vittrace encoder: builds chunks and writes them to a file descriptor.
 * Used by the tracer's writer thread only (not thread-safe). */
#ifndef VITTE_FORMAT_VITTRACE_WRITE_H
#define VITTE_FORMAT_VITTRACE_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <vitte/trace.h>

struct vitte__vtw;

struct vitte__vtw_header {
    uint32_t pid;
    int tsc;
    uint64_t start_ns;
    int64_t start_realtime_ns;
    uint64_t start_monotonic_ns;
    double tsc_hz;
};

/* A growable byte buffer for one chunk's payload. */
struct vitte__bytes {
    unsigned char *p;
    size_t len, cap;
};

/* Room for extra more bytes in b (grows by doubling).  VITTE_OK or
 * VITTE_ENOMEM.  The appends below assume the room was reserved. */
int vitte__bytes_reserve(struct vitte__bytes *b, size_t extra);
/* Append a varint (at most 10 bytes). */
void vitte__bytes_varint(struct vitte__bytes *b, uint64_t v);
/* Append n bytes. */
void vitte__bytes_put(struct vitte__bytes *b, const void *p, size_t n);

/* One thread's EVENTS chunk under construction. */
struct vitte__vtw_events {
    uint32_t tid;
    uint32_t count;
    uint64_t base_ts;
    uint64_t ts;    /* running timestamp */
    int last_point; /* the last record is an instant, counter or async event */
    int timed;      /* a record with a timestamp has set base_ts */
    struct vitte__bytes body;
};

/* Open on fd (which the encoder owns and closes); writes the file header.
 * level: zstd level, 0 = store uncompressed. */
int vitte__vtw_open(int fd, const struct vitte__vtw_header *h, int level, struct vitte__vtw **out);
/* Close the fd and free everything.  Returns the first write error, if any. */
int vitte__vtw_close(struct vitte__vtw *w);
/* The first write error (sticky): VITTE_EIO, VITTE_ENOSPC, or VITTE_OK. */
int vitte__vtw_error(const struct vitte__vtw *w);
uint64_t vitte__vtw_bytes_written(const struct vitte__vtw *w);
uint64_t vitte__vtw_chunks_written(const struct vitte__vtw *w);
/* Store chunks uncompressed from now on (signal context: no zstd). */
void vitte__vtw_set_level(struct vitte__vtw *w, int level);

int vitte__vtw_info(struct vitte__vtw *w, const char *key, const char *value);
int vitte__vtw_thread(struct vitte__vtw *w, uint32_t tid, const char *name);
/* Intern a site (by address) or a string (by content); definitions are
 * queued and written before the next EVENTS chunk.  0 on allocation failure. */
uint32_t vitte__vtw_site(struct vitte__vtw *w, const struct vitte_srcloc *loc);
uint32_t vitte__vtw_string(struct vitte__vtw *w, const char *s, size_t n);

/* Append events to e (sites/strings interned through w first). */
void vitte__vtw_ev_init(struct vitte__vtw_events *e, uint32_t tid);
void vitte__vtw_ev_free(struct vitte__vtw_events *e);
int vitte__vtw_ev_span(struct vitte__vtw_events *e, uint32_t site, uint32_t depth, uint64_t t0,
                       uint64_t t1);
int vitte__vtw_ev_point(struct vitte__vtw_events *e, int type, uint32_t site, uint64_t ts,
                        uint64_t id);
int vitte__vtw_ev_counter(struct vitte__vtw_events *e, uint32_t site, uint64_t ts, double v);
int vitte__vtw_ev_flow(struct vitte__vtw_events *e, int type, uint64_t ts, uint64_t id);
/* kind: VITTE_ARG_INT / DOUBLE / STRING; target VITTE__ARG_TARGET_*. */
int vitte__vtw_ev_arg(struct vitte__vtw_events *e, int target, uint32_t depth, uint32_t key,
                      int kind, int64_t i, double d, const char *s, size_t slen);
int vitte__vtw_ev_span_drop(struct vitte__vtw_events *e, uint32_t depth);
/* Write pending definitions then e as one EVENTS chunk, and reset e. */
int vitte__vtw_ev_flush(struct vitte__vtw *w, struct vitte__vtw_events *e);

struct vitte__vtw_stat {
    uint32_t tid;
    uint64_t events, dropped, filtered;
};
/* Write pending definitions, then one chunk of the given type and payload
 * (the 1.1 sample chunks are built by src/prof/profw.c). */
int vitte__vtw_chunk(struct vitte__vtw *w, int type, const void *payload, size_t n);

int vitte__vtw_stats(struct vitte__vtw *w, const struct vitte__vtw_stat *st, size_t n);
int vitte__vtw_end(struct vitte__vtw *w, uint64_t events, uint64_t dropped, uint64_t end_ns);

#endif
