/* The .vittrace reader: round trips through a small test-only encoder (so
 * the tests do not depend on the writer), then damage: every truncation,
 * bit flips, foreign files, bad lengths and records, resync, follow mode.
 *
 * VITTE_FUZZ_SEED_DIR=dir  also writes the fuzz seeds there;
 * VITTE_READ_BENCH=N       also times reading a file of N synthetic events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vitte/vitte.h>
#include <zstd.h>

#include "format/vittrace_codec.h"
#include "format/vittrace_read.h"

/* ---- test-only encoder ------------------------------------------------------------ */

struct tb {
    unsigned char *p;
    size_t n, cap;
};

static void tb_put(struct tb *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void tb_u8(struct tb *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    tb_put(b, &c, 1);
}

static void tb_v(struct tb *b, uint64_t v)
{
    unsigned char t[10];
    tb_put(b, t, vitte__put_varint(t, v));
}

static void tb_sv(struct tb *b, int64_t v)
{
    tb_v(b, vitte__zigzag(v));
}

static void tb_f64(struct tb *b, double v)
{
    uint64_t bits;
    unsigned char t[8];
    memcpy(&bits, &v, 8);
    vitte__put_u64(t, bits);
    tb_put(b, t, 8);
}

static void tb_str(struct tb *b, const char *s)
{
    tb_v(b, strlen(s));
    tb_put(b, s, strlen(s));
}

static void tb_free(struct tb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void enc_header_ex(struct tb *f, uint32_t pid, uint32_t flags, uint16_t min_reader,
                          uint16_t header_size)
{
    unsigned char h[64] = {0};
    memcpy(h, "VITTRACE", 8);
    vitte__put_u16(h + 8, 1);
    vitte__put_u16(h + 10, 0);
    vitte__put_u16(h + 12, min_reader);
    vitte__put_u16(h + 14, header_size);
    vitte__put_u32(h + 16, flags);
    vitte__put_u32(h + 20, pid);
    vitte__put_u64(h + 24, 1000);       /* start_ns */
    vitte__put_u64(h + 32, 1700000000); /* start_realtime_ns */
    vitte__put_u64(h + 40, 1000);
    double hz = flags & 1 ? 2.5e9 : 0;
    uint64_t bits;
    memcpy(&bits, &hz, 8);
    vitte__put_u64(h + 48, bits);
    vitte__put_u32(h + 60, vitte__crc32(h, 60));
    tb_put(f, h, 64);
    for (unsigned i = 64; i < header_size; i++)
        tb_u8(f, 0);
}

static void enc_header(struct tb *f, uint32_t pid)
{
    enc_header_ex(f, pid, 0, 1, 64);
}

/* A chunk header with the given fields and valid CRCs. */
static void enc_chunk_raw(struct tb *f, unsigned type, unsigned comp, uint32_t stored_size,
                          uint32_t raw_size, const void *payload, size_t n)
{
    unsigned char h[24];
    memcpy(h, "VCHK", 4);
    h[4] = (unsigned char)type;
    h[5] = (unsigned char)comp;
    vitte__put_u16(h + 6, 0);
    vitte__put_u32(h + 8, stored_size);
    vitte__put_u32(h + 12, raw_size);
    vitte__put_u32(h + 16, vitte__crc32(payload, n));
    vitte__put_u32(h + 20, vitte__crc32(h, 20));
    tb_put(f, h, 24);
    tb_put(f, payload, n);
}

static void enc_chunk(struct tb *f, unsigned type, int zstd, const struct tb *payload)
{
    if (!zstd) {
        enc_chunk_raw(f, type, 0, (uint32_t)payload->n, (uint32_t)payload->n, payload->p,
                      payload->n);
        return;
    }
    size_t cap = ZSTD_compressBound(payload->n);
    void *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, payload->p, payload->n, 3);
    assert_false(ZSTD_isError(zn));
    enc_chunk_raw(f, type, 1, (uint32_t)zn, (uint32_t)payload->n, z, zn);
    free(z);
}

struct sdef {
    uint64_t id;
    const char *s;
};

static void enc_strings(struct tb *f, int zstd, size_t n, const struct sdef *d)
{
    struct tb p = {0};
    tb_v(&p, n);
    for (size_t i = 0; i < n; i++) {
        tb_v(&p, d[i].id);
        tb_str(&p, d[i].s);
    }
    enc_chunk(f, VITTE__CH_STRINGS, zstd, &p);
    tb_free(&p);
}

struct sitedef {
    uint64_t id, name, module, tags, func, file, line;
};

static void enc_sites(struct tb *f, int zstd, size_t n, const struct sitedef *d)
{
    struct tb p = {0};
    tb_v(&p, n);
    for (size_t i = 0; i < n; i++) {
        tb_v(&p, d[i].id);
        tb_v(&p, d[i].name);
        tb_v(&p, d[i].module);
        tb_v(&p, d[i].tags);
        tb_v(&p, d[i].func);
        tb_v(&p, d[i].file);
        tb_v(&p, d[i].line);
    }
    enc_chunk(f, VITTE__CH_SITES, zstd, &p);
    tb_free(&p);
}

static void enc_thread(struct tb *f, uint32_t tid, uint64_t name)
{
    struct tb p = {0};
    tb_v(&p, tid);
    tb_v(&p, name);
    enc_chunk(f, VITTE__CH_THREAD, 0, &p);
    tb_free(&p);
}

static void enc_info(struct tb *f, int zstd, size_t n, const char *const *kv)
{
    struct tb p = {0};
    for (size_t i = 0; i < 2 * n; i++)
        tb_str(&p, kv[i]);
    enc_chunk(f, VITTE__CH_INFO, zstd, &p);
    tb_free(&p);
}

struct stat_def {
    uint32_t tid;
    uint64_t events, dropped, filtered;
};

static void enc_stats(struct tb *f, size_t n, const struct stat_def *d)
{
    struct tb p = {0};
    tb_v(&p, n);
    for (size_t i = 0; i < n; i++) {
        tb_v(&p, d[i].tid);
        tb_v(&p, d[i].events);
        tb_v(&p, d[i].dropped);
        tb_v(&p, d[i].filtered);
    }
    enc_chunk(f, VITTE__CH_STATS, 0, &p);
    tb_free(&p);
}

static void enc_end(struct tb *f, uint64_t events, uint64_t dropped, uint64_t end_ns)
{
    struct tb p = {0};
    tb_v(&p, events);
    tb_v(&p, dropped);
    tb_v(&p, end_ns);
    enc_chunk(f, VITTE__CH_END, 0, &p);
    tb_free(&p);
}

/* One EVENTS chunk under construction. */
struct evb {
    struct tb body;
    uint64_t count, base, ts;
    uint32_t tid;
};

static void evb_init(struct evb *e, uint32_t tid, uint64_t base)
{
    memset(e, 0, sizeof *e);
    e->tid = tid;
    e->base = e->ts = base;
}

static void evb_ts(struct evb *e, uint64_t ts)
{
    tb_sv(&e->body, (int64_t)(ts - e->ts));
    e->ts = ts;
}

static void evb_span(struct evb *e, uint64_t site, uint32_t depth, uint64_t t0, uint64_t t1)
{
    e->count++;
    tb_u8(&e->body, VITTE__EV_SPAN);
    tb_v(&e->body, site);
    tb_v(&e->body, depth);
    evb_ts(e, t1);
    tb_v(&e->body, t1 - t0);
}

static void evb_instant(struct evb *e, uint64_t site, uint64_t ts)
{
    e->count++;
    tb_u8(&e->body, VITTE__EV_INSTANT);
    tb_v(&e->body, site);
    evb_ts(e, ts);
}

static void evb_counter(struct evb *e, uint64_t site, uint64_t ts, double v)
{
    e->count++;
    tb_u8(&e->body, VITTE__EV_COUNTER);
    tb_v(&e->body, site);
    evb_ts(e, ts);
    tb_f64(&e->body, v);
}

static void evb_async(struct evb *e, int type, uint64_t site, uint64_t ts, uint64_t id)
{
    e->count++;
    tb_u8(&e->body, (unsigned)type);
    tb_v(&e->body, site);
    evb_ts(e, ts);
    tb_v(&e->body, id);
}

static void evb_flow(struct evb *e, int type, uint64_t ts, uint64_t id)
{
    e->count++;
    tb_u8(&e->body, (unsigned)type);
    evb_ts(e, ts);
    tb_v(&e->body, id);
}

static void evb_arg_head(struct evb *e, int target, uint32_t depth, uint64_t key, int kind)
{
    e->count++;
    tb_u8(&e->body, VITTE__EV_ARG);
    tb_u8(&e->body, (unsigned)target);
    tb_v(&e->body, depth);
    tb_v(&e->body, key);
    tb_u8(&e->body, (unsigned)kind);
}

static void evb_arg_int(struct evb *e, int target, uint32_t depth, uint64_t key, int64_t v)
{
    evb_arg_head(e, target, depth, key, VITTE_ARG_INT);
    tb_sv(&e->body, v);
}

static void evb_arg_dbl(struct evb *e, int target, uint32_t depth, uint64_t key, double v)
{
    evb_arg_head(e, target, depth, key, VITTE_ARG_DOUBLE);
    tb_f64(&e->body, v);
}

static void evb_arg_str(struct evb *e, int target, uint32_t depth, uint64_t key, const char *s)
{
    evb_arg_head(e, target, depth, key, VITTE_ARG_STRING);
    tb_str(&e->body, s);
}

static void evb_drop(struct evb *e, uint32_t depth)
{
    e->count++;
    tb_u8(&e->body, VITTE__EV_SPAN_DROP);
    tb_v(&e->body, depth);
}

/* Raw bytes into the record stream, counted as `records` records. */
static void evb_raw(struct evb *e, uint64_t records, const void *d, size_t n)
{
    e->count += records;
    tb_put(&e->body, d, n);
}

static void evb_flush(struct tb *f, struct evb *e, int zstd)
{
    struct tb p = {0};
    tb_v(&p, e->tid);
    tb_v(&p, e->count);
    tb_v(&p, e->base);
    tb_put(&p, e->body.p, e->body.n);
    enc_chunk(f, VITTE__CH_EVENTS, zstd, &p);
    tb_free(&p);
    tb_free(&e->body);
    e->count = 0;
    e->base = e->ts;
}

/* ---- reading back --------------------------------------------------------------------- */

struct garg {
    char key[32];
    int type;
    int64_t i;
    double d;
    char s[64];
};

struct gev {
    int type;
    uint32_t pid, tid, depth, line;
    uint64_t ts, dur, id;
    double value;
    char name[48], module[32], tags[32], file[32];
    size_t n_args;
    struct garg args[6];
};

struct rd {
    int open_rc;
    vitte_diag open_diag;
    struct gev *ev;
    size_t n, cap;
    int n_format;
    vitte_diag first_err;
    int final;
    vitte_diag final_diag;
    vitte_trace_file_info info;
    uint64_t damaged, skipped;
    size_t n_threads;
    vitte_trace_thread th[8];
    char th_names[8][32];
    char process[32], clock[32];
};

static void copy_event(struct gev *g, const vitte_trace_event *e)
{
    memset(g, 0, sizeof *g);
    g->type = e->type;
    g->pid = e->pid;
    g->tid = e->tid;
    g->depth = e->depth;
    g->line = e->line;
    g->ts = e->ts_ns;
    g->dur = e->dur_ns;
    g->id = e->id;
    g->value = e->value;
    assert_non_null(e->name);
    assert_non_null(e->module);
    assert_non_null(e->tags);
    assert_non_null(e->file);
    snprintf(g->name, sizeof g->name, "%s", e->name);
    snprintf(g->module, sizeof g->module, "%s", e->module);
    snprintf(g->tags, sizeof g->tags, "%s", e->tags);
    snprintf(g->file, sizeof g->file, "%s", e->file);
    g->n_args = e->n_args;
    if (e->n_args > 0)
        assert_non_null(e->args);
    for (size_t i = 0; i < e->n_args && i < 6; i++) {
        const vitte_trace_arg *a = &e->args[i];
        snprintf(g->args[i].key, sizeof g->args[i].key, "%s", a->key);
        g->args[i].type = a->type;
        g->args[i].i = a->i;
        g->args[i].d = a->d;
        if (a->type == VITTE_ARG_STRING)
            snprintf(g->args[i].s, sizeof g->args[i].s, "%s", a->s);
    }
}

/* Read to the end, going on after VITTE_EFORMAT like a tolerant consumer. */
static void read_reader(vitte_trace_reader *r, struct rd *out)
{
    for (int guard = 0; guard < 100000; guard++) {
        const vitte_trace_event *e;
        vitte_diag d;
        int rc = vitte_trace_reader_next(r, &e, &d);
        if (rc == 1) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 64;
                out->ev = realloc(out->ev, out->cap * sizeof *out->ev);
                assert_non_null(out->ev);
            }
            copy_event(&out->ev[out->n++], e);
            continue;
        }
        if (rc == VITTE_EFORMAT) {
            assert_int_equal(d.status, VITTE_EFORMAT);
            assert_true(strlen(d.message) > 0);
            if (out->n_format++ == 0)
                out->first_err = d;
            continue;
        }
        assert_true(rc <= 0);
        out->final = rc;
        out->final_diag = d;
        if (rc != 0) {
            assert_int_equal(d.status, rc);
            /* Sticky: the end is reported again. */
            vitte_diag d2;
            assert_int_equal(vitte_trace_reader_next(r, &e, &d2), rc);
            assert_null(e);
            assert_string_equal(d2.message, d.message);
        }
        break;
    }
    assert_int_equal(vitte_trace_reader_info(r, &out->info), VITTE_OK);
    snprintf(out->process, sizeof out->process, "%s", out->info.process_name);
    snprintf(out->clock, sizeof out->clock, "%s", out->info.clock);
    out->damaged = vitte__trace_reader_damaged(r);
    out->skipped = vitte__trace_reader_skipped(r);
    const vitte_trace_thread *th = vitte_trace_reader_threads(r, &out->n_threads);
    for (size_t i = 0; i < out->n_threads && i < 8; i++) {
        out->th[i] = th[i];
        snprintf(out->th_names[i], sizeof out->th_names[i], "%s", th[i].name);
        out->th[i].name = out->th_names[i];
    }
}

static int read_mem(const void *data, size_t n, unsigned flags, struct rd *out)
{
    memset(out, 0, sizeof *out);
    vitte_trace_reader *r;
    out->open_rc = vitte__trace_reader_open_mem(data, n, flags, &r, &out->open_diag);
    if (out->open_rc != VITTE_OK) {
        assert_null(r);
        assert_int_equal(out->open_diag.status, out->open_rc);
        assert_true(strlen(out->open_diag.message) > 0);
        return out->open_rc;
    }
    read_reader(r, out);
    vitte_trace_reader_close(r);
    return VITTE_OK;
}

static char tmpdir[256];

static void tmp_path(char *buf, size_t cap, const char *name)
{
    if (tmpdir[0] == '\0') {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(tmpdir, sizeof tmpdir, "%s/vitte-read-XXXXXX", base);
        assert_non_null(mkdtemp(tmpdir));
    }
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *d, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(d, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static int read_path(const char *path, unsigned flags, struct rd *out)
{
    memset(out, 0, sizeof *out);
    vitte_trace_reader *r;
    out->open_rc = vitte_trace_reader_open(path, flags, &r, &out->open_diag);
    if (out->open_rc != VITTE_OK) {
        assert_null(r);
        assert_int_equal(out->open_diag.status, out->open_rc);
        return out->open_rc;
    }
    read_reader(r, out);
    vitte_trace_reader_close(r);
    return VITTE_OK;
}

static void rd_free(struct rd *r)
{
    free(r->ev);
    r->ev = NULL;
}

/* ---- a small file with every chunk and event type -------------------------------------- */

enum {
    S_MAIN = 1,
    S_COMPILE,
    S_IO,
    S_TAGS,
    S_FUNC,
    S_FILE,
    S_QUEUE,
    S_REQUEST,
    S_TICK,
    S_KI,
    S_KD,
    S_KS,
    S_WORKER
};

static const struct sdef std_strings[] = {
    {S_MAIN, "main"},       {S_COMPILE, "compile"}, {S_IO, "io"},       {S_TAGS, "hot,disk"},
    {S_FUNC, "compile_fn"}, {S_FILE, "src/a.c"},    {S_QUEUE, "queue"}, {S_REQUEST, "request"},
    {S_TICK, "tick"},       {S_KI, "ki"},           {S_KD, "kd"},       {S_KS, "ks"},
    {S_WORKER, "worker"}};

static const struct sitedef std_sites[] = {{1, S_COMPILE, S_IO, S_TAGS, S_FUNC, S_FILE, 42},
                                           {2, S_TICK, 0, 0, 0, S_FILE, 7},
                                           {3, S_QUEUE, 0, 0, 0, 0, 0},
                                           {4, S_REQUEST, S_IO, 0, 0, S_FILE, 99}};

static const char *const std_info[] = {"vitte_version",
                                       "0.1.0",
                                       "clock",
                                       "CLOCK_MONOTONIC",
                                       "process",
                                       "demo",
                                       "cmdline",
                                       "demo -x",
                                       "host",
                                       "h1",
                                       "future",
                                       "ignored",
                                       "flush_interval_ns",
                                       "100000000"};

/* Chunk boundaries and the events before each, for the damage tests. */
struct layout {
    size_t n;
    size_t off[32];
    size_t events_before[32]; /* events in chunks before chunk i */
    int type[32];
};

static void mark(struct layout *l, const struct tb *f, int type, size_t events_before)
{
    l->off[l->n] = f->n;
    l->type[l->n] = type;
    l->events_before[l->n] = events_before;
    l->n++;
}

/* 9 events on thread 101, 1 event on thread 102; stored or zstd chunks. */
static void build_std(struct tb *f, int zstd, struct layout *l)
{
    struct layout dummy;
    if (l == NULL)
        l = &dummy;
    memset(l, 0, sizeof *l);
    enc_header(f, 4242);
    mark(l, f, VITTE__CH_INFO, 0);
    enc_info(f, zstd, 7, std_info);
    mark(l, f, VITTE__CH_STRINGS, 0);
    enc_strings(f, zstd, 13, std_strings);
    mark(l, f, VITTE__CH_SITES, 0);
    enc_sites(f, zstd, 4, std_sites);
    mark(l, f, VITTE__CH_THREAD, 0);
    enc_thread(f, 101, S_MAIN);
    struct evb e;
    evb_init(&e, 101, 1000);
    evb_span(&e, 1, 1, 1010, 1020);
    evb_instant(&e, 2, 1025);
    evb_counter(&e, 3, 1030, 12.5);
    evb_async(&e, VITTE__EV_ASYNC_BEGIN, 4, 1040, 7);
    evb_async(&e, VITTE__EV_ASYNC_END, 4, 1050, 7);
    evb_flow(&e, VITTE__EV_FLOW_BEGIN, 1060, 99);
    evb_flow(&e, VITTE__EV_FLOW_STEP, 1058, 99); /* a negative delta */
    evb_flow(&e, VITTE__EV_FLOW_END, 1062, 99);
    evb_span(&e, 1, 0, 1000, 1070);
    mark(l, f, VITTE__CH_EVENTS, 0);
    evb_flush(f, &e, zstd);
    mark(l, f, VITTE__CH_THREAD, 9);
    enc_thread(f, 102, S_WORKER);
    evb_init(&e, 102, 2000);
    evb_span(&e, 1, 0, 2000, 2100);
    mark(l, f, VITTE__CH_EVENTS, 9);
    evb_flush(f, &e, zstd);
    const struct stat_def st[] = {{101, 9, 1, 2}, {102, 1, 0, 0}};
    mark(l, f, VITTE__CH_STATS, 10);
    enc_stats(f, 2, st);
    mark(l, f, VITTE__CH_END, 10);
    enc_end(f, 10, 1, 2100);
    l->off[l->n] = f->n; /* end of file */
    l->events_before[l->n] = 10;
}

static void check_std(const struct rd *r)
{
    assert_int_equal(r->open_rc, VITTE_OK);
    assert_int_equal(r->final, 0);
    assert_int_equal(r->n_format, 0);
    assert_int_equal(r->n, 10);
    const struct gev *e = r->ev;
    assert_int_equal(e[0].type, VITTE_EVENT_SPAN);
    assert_int_equal(e[0].pid, 4242);
    assert_int_equal(e[0].tid, 101);
    assert_int_equal(e[0].depth, 1);
    assert_int_equal(e[0].ts, 1010);
    assert_int_equal(e[0].dur, 10);
    assert_string_equal(e[0].name, "compile");
    assert_string_equal(e[0].module, "io");
    assert_string_equal(e[0].tags, "hot,disk");
    assert_string_equal(e[0].file, "src/a.c");
    assert_int_equal(e[0].line, 42);
    assert_int_equal(e[0].n_args, 0);
    assert_int_equal(e[1].type, VITTE_EVENT_INSTANT);
    assert_int_equal(e[1].ts, 1025);
    assert_string_equal(e[1].name, "tick");
    assert_string_equal(e[1].module, "");
    assert_int_equal(e[1].line, 7);
    assert_int_equal(e[2].type, VITTE_EVENT_COUNTER);
    assert_int_equal(e[2].ts, 1030);
    assert_true(e[2].value == 12.5);
    assert_string_equal(e[2].name, "queue");
    assert_string_equal(e[2].file, "");
    assert_int_equal(e[3].type, VITTE_EVENT_ASYNC_BEGIN);
    assert_int_equal(e[3].id, 7);
    assert_int_equal(e[3].ts, 1040);
    assert_string_equal(e[3].name, "request");
    assert_int_equal(e[4].type, VITTE_EVENT_ASYNC_END);
    assert_int_equal(e[4].id, 7);
    assert_int_equal(e[4].ts, 1050);
    assert_int_equal(e[5].type, VITTE_EVENT_FLOW_BEGIN);
    assert_int_equal(e[5].ts, 1060);
    assert_int_equal(e[5].id, 99);
    assert_string_equal(e[5].name, "");
    assert_int_equal(e[6].type, VITTE_EVENT_FLOW_STEP);
    assert_int_equal(e[6].ts, 1058);
    assert_int_equal(e[7].type, VITTE_EVENT_FLOW_END);
    assert_int_equal(e[7].ts, 1062);
    assert_int_equal(e[8].type, VITTE_EVENT_SPAN);
    assert_int_equal(e[8].depth, 0);
    assert_int_equal(e[8].ts, 1000);
    assert_int_equal(e[8].dur, 70);
    assert_int_equal(e[9].tid, 102);
    assert_int_equal(e[9].ts, 2000);
    assert_int_equal(e[9].dur, 100);

    assert_int_equal(r->info.version_major, 1);
    assert_int_equal(r->info.version_minor, 0);
    assert_int_equal(r->info.pid, 4242);
    assert_int_equal(r->info.complete, 1);
    assert_int_equal(r->info.events, 10);
    assert_int_equal(r->info.dropped, 1);
    assert_int_equal(r->info.start_ns, 1000);
    assert_int_equal(r->info.start_realtime_ns, 1700000000);
    assert_int_equal(r->info.end_ns, 2100);
    assert_string_equal(r->process, "demo");
    assert_string_equal(r->clock, "CLOCK_MONOTONIC");
    assert_int_equal(r->damaged, 0);
    assert_int_equal(r->n_threads, 2);
    assert_int_equal(r->th[0].tid, 101);
    assert_int_equal(r->th[0].pid, 4242);
    assert_string_equal(r->th[0].name, "main");
    assert_int_equal(r->th[0].events, 9);
    assert_int_equal(r->th[0].dropped, 1);
    assert_int_equal(r->th[1].tid, 102);
    assert_string_equal(r->th[1].name, "worker");
}

static void test_roundtrip_stored(void **state)
{
    (void)state;
    struct tb f = {0};
    build_std(&f, 0, NULL);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    check_std(&r);
    rd_free(&r);
    /* The same through a real file. */
    char path[300];
    tmp_path(path, sizeof path, "std.vittrace");
    write_file(path, f.p, f.n);
    read_path(path, 0, &r);
    check_std(&r);
    assert_int_equal(r.final_diag.status, VITTE_OK);
    rd_free(&r);
    tb_free(&f);
}

static void test_roundtrip_zstd(void **state)
{
    (void)state;
    struct tb f = {0};
    build_std(&f, 1, NULL);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    check_std(&r);
    rd_free(&r);
    tb_free(&f);
}

static void test_info_from_header(void **state)
{
    (void)state;
    /* No INFO chunk: the clock comes from the header flags. */
    struct tb f = {0};
    enc_header_ex(&f, 7, VITTE__VT_FLAG_TSC, 1, 64);
    enc_end(&f, 0, 0, 5);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n, 0);
    assert_string_equal(r.clock, "TSC");
    assert_string_equal(r.process, "");
    assert_true(r.info.tsc_hz == 2.5e9);
    assert_int_equal(r.info.complete, 1);
    rd_free(&r);
    tb_free(&f);
}

/* ---- arguments ---------------------------------------------------------------------------- */

static void test_args(void **state)
{
    (void)state;
    struct tb f = {0};
    enc_header(&f, 1);
    enc_strings(&f, 0, 13, std_strings);
    enc_sites(&f, 1, 4, std_sites);
    struct evb e;
    evb_init(&e, 7, 100);
    evb_arg_int(&e, 0, 0, S_KI, -5);      /* root span: pending across chunks */
    evb_arg_dbl(&e, 0, 1, S_KD, 2.5);     /* first child */
    evb_span(&e, 1, 1, 101, 102);         /* ev0: kd=2.5 */
    evb_instant(&e, 2, 103);              /* ev1: ks="hello", ki=3 */
    evb_arg_str(&e, 1, 0, S_KS, "hello"); /* target 1 */
    evb_arg_int(&e, 1, 0, S_KI, 3);
    evb_arg_str(&e, 0, 1, S_KS, "dropped");
    evb_drop(&e, 1);                     /* that child was filtered out */
    evb_counter(&e, 3, 104, 1.0);        /* ev2: ki=77 */
    evb_span(&e, 1, 1, 104, 105);        /* ev3: no args */
    evb_arg_int(&e, 1, 0, S_KI, 77);     /* attaches to the counter, not the span */
    evb_arg_str(&e, 0, 0, S_KS, "late"); /* pending string across chunks */
    evb_flush(&f, &e, 0);
    evb_init(&e, 7, 200);
    evb_arg_dbl(&e, 0, 0, S_KD, 1e300);
    evb_arg_int(&e, 0, 3, S_KI, 1);                  /* orphan: a shallower argument follows */
    evb_arg_int(&e, 0, 2, S_KI, 1);                  /* orphan: no span at depth 2 follows */
    evb_span(&e, 1, 0, 100, 201);                    /* ev4: ki=-5, ks="late", kd=1e300 */
    evb_arg_int(&e, 1, 0, S_KI, 1);                  /* nothing to attach to in this chunk */
    evb_async(&e, VITTE__EV_ASYNC_BEGIN, 4, 202, 5); /* ev5: ks="" and an unknown key */
    evb_arg_str(&e, 1, 0, S_KS, "");
    evb_arg_int(&e, 1, 0, 999, 1);
    evb_flush(&f, &e, 1);
    enc_end(&f, 6, 0, 202);

    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n_format, 0);
    assert_int_equal(r.n, 6);
    const struct gev *v = r.ev;
    assert_int_equal(v[0].n_args, 1);
    assert_string_equal(v[0].args[0].key, "kd");
    assert_int_equal(v[0].args[0].type, VITTE_ARG_DOUBLE);
    assert_true(v[0].args[0].d == 2.5);
    assert_int_equal(v[1].type, VITTE_EVENT_INSTANT);
    assert_int_equal(v[1].n_args, 2);
    assert_string_equal(v[1].args[0].key, "ks");
    assert_int_equal(v[1].args[0].type, VITTE_ARG_STRING);
    assert_string_equal(v[1].args[0].s, "hello");
    assert_string_equal(v[1].args[1].key, "ki");
    assert_int_equal(v[1].args[1].i, 3);
    assert_int_equal(v[2].type, VITTE_EVENT_COUNTER);
    assert_int_equal(v[2].n_args, 1);
    assert_int_equal(v[2].args[0].i, 77);
    assert_int_equal(v[3].n_args, 0);
    assert_int_equal(v[4].type, VITTE_EVENT_SPAN);
    assert_int_equal(v[4].depth, 0);
    assert_int_equal(v[4].n_args, 3);
    assert_string_equal(v[4].args[0].key, "ki");
    assert_int_equal(v[4].args[0].type, VITTE_ARG_INT);
    assert_int_equal(v[4].args[0].i, -5);
    assert_string_equal(v[4].args[1].s, "late");
    assert_true(v[4].args[2].d == 1e300);
    assert_int_equal(v[5].type, VITTE_EVENT_ASYNC_BEGIN);
    assert_int_equal(v[5].n_args, 2);
    assert_string_equal(v[5].args[0].s, "");
    assert_string_equal(v[5].args[1].key, "?");
    /* The orphans, the target-1 argument with no event and the unknown key. */
    assert_int_equal(r.damaged, 4);
    rd_free(&r);
    tb_free(&f);
}

/* Chunks longer than a decoding segment: target-1 arguments far from their
 * event, spans with pending arguments, many instants. */
static void test_long_chunks(void **state)
{
    (void)state;
    struct tb f = {0};
    enc_header(&f, 1);
    enc_strings(&f, 0, 13, std_strings);
    enc_sites(&f, 0, 4, std_sites);
    struct evb e;
    evb_init(&e, 3, 0);
    uint64_t t = 10;
    evb_instant(&e, 2, t);
    for (int i = 0; i < 10000; i++) { /* many spans between the instant and its argument */
        evb_arg_int(&e, 0, 1, S_KI, i);
        evb_span(&e, 1, 1, t, t + 1);
        t += 2;
    }
    evb_arg_int(&e, 1, 0, S_KI, -1); /* for the instant, 10000 events back */
    evb_arg_int(&e, 1, 0, S_KD, -2);
    for (int i = 0; i < 9000; i++) { /* then instants, each with one argument */
        evb_instant(&e, 2, t++);
        evb_arg_int(&e, 1, 0, S_KI, i);
    }
    evb_counter(&e, 3, t, 3);
    for (int i = 0; i < 5000; i++) /* spans after the last counter, then its argument */
        evb_span(&e, 1, 1, t, t + 1), t += 2;
    evb_arg_str(&e, 1, 0, S_KS, "far");
    evb_flush(&f, &e, 1);
    enc_end(&f, 0, 0, t);

    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n_format, 0);
    assert_int_equal(r.n, 1 + 10000 + 9000 + 1 + 5000);
    assert_int_equal(r.damaged, 0);
    assert_int_equal(r.ev[0].n_args, 2);
    assert_int_equal(r.ev[0].args[0].i, -1);
    assert_string_equal(r.ev[0].args[1].key, "kd");
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(r.ev[1 + i].n_args, 1);
        assert_int_equal(r.ev[1 + i].args[0].i, i);
    }
    for (int i = 0; i < 9000; i++) {
        assert_int_equal(r.ev[10001 + i].type, VITTE_EVENT_INSTANT);
        assert_int_equal(r.ev[10001 + i].n_args, 1);
        assert_int_equal(r.ev[10001 + i].args[0].i, i);
    }
    assert_int_equal(r.ev[19001].type, VITTE_EVENT_COUNTER);
    assert_int_equal(r.ev[19001].n_args, 1);
    assert_string_equal(r.ev[19001].args[0].s, "far");
    for (size_t i = 19002; i < r.n; i++)
        assert_int_equal(r.ev[i].n_args, 0);
    /* Timestamps decode in order. */
    for (size_t i = 1; i <= 10000; i++)
        assert_int_equal(r.ev[i].ts, 10 + 2 * (i - 1));
    rd_free(&r);
    tb_free(&f);
}

/* ---- definitions across chunks, renames, totals ------------------------------------------ */

static void test_definitions_across_chunks(void **state)
{
    (void)state;
    struct tb f = {0};
    enc_header(&f, 9);
    const char *const info1[] = {"process", "first", "clock", "TSC"};
    enc_info(&f, 0, 2, info1);
    const struct sdef s1[] = {{1, "alpha"}, {2, "t-one"}};
    enc_strings(&f, 0, 2, s1);
    const struct sitedef site1[] = {{1, 1, 0, 0, 0, 0, 1}};
    enc_sites(&f, 0, 1, site1);
    enc_thread(&f, 5, 2);
    struct evb e;
    evb_init(&e, 5, 10);
    evb_instant(&e, 1, 11);
    evb_flush(&f, &e, 0);
    const struct stat_def st1[] = {{5, 1, 3, 0}};
    enc_stats(&f, 1, st1);
    /* Later definitions may use earlier strings, sites and thread ids. */
    const struct sdef s2[] = {{3, "beta"}, {4, "t-renamed"}, {1000, "sparse"}};
    enc_strings(&f, 1, 3, s2);
    const struct sitedef site2[] = {{2, 3, 1, 0, 0, 0, 2}, {77777, 1000, 0, 0, 0, 0, 3}};
    enc_sites(&f, 1, 2, site2);
    enc_thread(&f, 5, 4);
    const char *const info2[] = {"process", "second"};
    enc_info(&f, 0, 1, info2);
    evb_init(&e, 5, 20);
    evb_instant(&e, 1, 21);
    evb_instant(&e, 2, 22);
    evb_instant(&e, 77777, 23);
    evb_flush(&f, &e, 0);
    const struct stat_def st2[] = {{5, 4, 5, 1}, {6, 0, 2, 0}};
    enc_stats(&f, 2, st2);

    /* Before END: dropped comes from the last STATS. */
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, VITTE_ETRUNCATED);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.ev[0].name, "alpha");
    assert_string_equal(r.ev[1].name, "alpha");
    assert_string_equal(r.ev[2].name, "beta");
    assert_string_equal(r.ev[2].module, "alpha");
    assert_string_equal(r.ev[3].name, "sparse");
    assert_int_equal(r.ev[3].line, 3);
    assert_string_equal(r.process, "second");
    assert_string_equal(r.clock, "TSC");
    assert_int_equal(r.info.complete, 0);
    assert_int_equal(r.info.dropped, 7);
    assert_int_equal(r.n_threads, 2);
    assert_string_equal(r.th[0].name, "t-renamed");
    assert_int_equal(r.th[0].events, 4);
    assert_int_equal(r.th[0].dropped, 5);
    assert_int_equal(r.th[1].tid, 6);
    assert_string_equal(r.th[1].name, "");
    rd_free(&r);

    /* END's totals win. */
    enc_end(&f, 4, 9, 3000);
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.info.complete, 1);
    assert_int_equal(r.info.dropped, 9);
    assert_int_equal(r.info.end_ns, 3000);
    assert_int_equal(r.info.events, 4);
    rd_free(&r);

    /* The internal INFO accessor. */
    vitte_trace_reader *rr;
    assert_int_equal(vitte__trace_reader_open_mem(f.p, f.n, 0, &rr, NULL), VITTE_OK);
    const vitte_trace_event *ev;
    while (vitte_trace_reader_next(rr, &ev, NULL) == 1)
        ;
    assert_string_equal(vitte__trace_reader_info_value(rr, "process"), "second");
    assert_null(vitte__trace_reader_info_value(rr, "host"));
    assert_null(vitte__trace_reader_info_value(rr, "nope"));
    vitte_trace_reader_close(rr);
    tb_free(&f);
}

static void test_unknown_ids(void **state)
{
    (void)state;
    struct tb f = {0};
    enc_header(&f, 1);
    const struct sdef s[] = {{1, "known"}};
    enc_strings(&f, 0, 1, s);
    /* Site 1 names an undefined string; site 5 is never defined. */
    const struct sitedef site[] = {{1, 1, 44, 0, 0, 0, 1}};
    enc_sites(&f, 0, 1, site);
    enc_thread(&f, 3, 55);
    struct evb e;
    evb_init(&e, 3, 0);
    evb_instant(&e, 1, 1);
    evb_instant(&e, 5, 2);
    evb_span(&e, 0, 0, 0, 3); /* site 0 does not exist */
    evb_flow(&e, VITTE__EV_FLOW_BEGIN, 4, 1);
    evb_flush(&f, &e, 0);
    enc_end(&f, 4, 0, 4);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.ev[0].name, "known");
    assert_string_equal(r.ev[0].module, "?");
    assert_string_equal(r.ev[1].name, "?");
    assert_string_equal(r.ev[2].name, "?");
    assert_string_equal(r.ev[3].name, "");
    assert_string_equal(r.th[0].name, "?");
    assert_int_equal(r.damaged, 4); /* three events and the thread name */
    rd_free(&r);
    tb_free(&f);
}

/* ---- damage --------------------------------------------------------------------------- */

static void test_no_end_marker(void **state)
{
    (void)state;
    struct tb f = {0};
    struct layout l;
    build_std(&f, 1, &l);
    size_t cut = l.off[l.n - 1]; /* drop END: a clean stop at a chunk boundary */
    struct rd r;
    read_mem(f.p, cut, 0, &r);
    assert_int_equal(r.n, 10);
    assert_int_equal(r.n_format, 0);
    assert_int_equal(r.final, VITTE_ETRUNCATED);
    assert_int_equal(r.final_diag.offset, cut);
    assert_non_null(strstr(r.final_diag.message, "no end marker"));
    assert_non_null(strstr(r.final_diag.message, "10 events read"));
    assert_int_equal(r.info.complete, 0);
    assert_int_equal(r.info.dropped, 1); /* from STATS */
    rd_free(&r);
    tb_free(&f);
}

/* Every prefix of a valid file: never a crash; the events of the complete
 * chunks, then VITTE_ETRUNCATED (or EFORMAT for an empty file). */
static void check_prefixes(int zstd, int via_file)
{
    struct tb f = {0};
    struct layout l;
    build_std(&f, zstd, &l);
    char path[300];
    tmp_path(path, sizeof path, "prefix.vittrace");
    if (via_file)
        write_file(path, f.p, f.n);
    for (size_t len = f.n + 1; len-- > 0;) {
        struct rd r;
        if (via_file) {
            assert_int_equal(truncate(path, (off_t)len), 0);
            read_path(path, 0, &r);
        } else {
            read_mem(f.p, len, 0, &r);
        }
        if (len < 64) {
            assert_int_equal(r.open_rc, len == 0 ? VITTE_EFORMAT : VITTE_ETRUNCATED);
            continue;
        }
        assert_int_equal(r.open_rc, VITTE_OK);
        assert_int_equal(r.n_format, 0);
        size_t k = 0; /* chunks wholly inside the prefix */
        while (k < l.n && l.off[k + 1] <= len)
            k++;
        assert_int_equal(r.n, l.events_before[k]);
        if (len == f.n) {
            assert_int_equal(r.final, 0);
            check_std(&r);
        } else {
            assert_int_equal(r.final, VITTE_ETRUNCATED);
            if (len == l.off[k] || len == 64) {
                assert_int_equal(r.final_diag.offset, len);
                assert_non_null(strstr(r.final_diag.message, "no end marker"));
            } else {
                assert_int_equal(r.final_diag.offset, l.off[k]);
                assert_non_null(strstr(r.final_diag.message, "file ends inside chunk"));
            }
        }
        rd_free(&r);
    }
    tb_free(&f);
}

static void test_every_truncation(void **state)
{
    (void)state;
    check_prefixes(0, 0);
    check_prefixes(1, 0);
    check_prefixes(1, 1);
}

/* Which chunk holds byte `pos`: index into the layout, or -1 for the header. */
static int chunk_of(const struct layout *l, size_t pos)
{
    int k = -1;
    for (size_t i = 0; i < l->n; i++)
        if (pos >= l->off[i])
            k = (int)i;
    return k;
}

static void check_bitflips(int zstd)
{
    struct tb f = {0};
    struct layout l;
    build_std(&f, zstd, &l);
    unsigned char *buf = malloc(f.n);
    for (size_t pos = 0; pos < f.n; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, f.p, f.n);
            buf[pos] ^= (unsigned char)(1u << bit);
            struct rd r;
            read_mem(buf, f.n, 0, &r);
            int k = chunk_of(&l, pos);
            if (k < 0) {
                assert_int_equal(r.open_rc, VITTE_EFORMAT);
                const char *m = r.open_diag.message;
                assert_true(strstr(m, "not a vitte trace") || strstr(m, "checksum mismatch") ||
                            strstr(m, "needs a newer vitte"));
                if (pos < 8)
                    assert_non_null(strstr(m, "not a vitte trace"));
                continue;
            }
            assert_int_equal(r.open_rc, VITTE_OK);
            /* Detected, skipped, and every other chunk still read. */
            assert_int_equal(r.n_format, 1);
            assert_int_equal(r.first_err.offset, l.off[k]);
            size_t lost = l.events_before[k + 1] - l.events_before[k];
            assert_int_equal(r.n, 10 - lost);
            if (l.type[k] == VITTE__CH_END) {
                assert_int_equal(r.final, VITTE_ETRUNCATED);
            } else {
                assert_int_equal(r.final, 0);
                assert_int_equal(r.info.complete, 1);
            }
            if (pos - l.off[k] < 24) /* chunk header: found again by searching */
                assert_non_null(strstr(r.first_err.message, "skipped"));
            else
                assert_non_null(strstr(r.first_err.message, "payload checksum mismatch"));
            /* Names defined in a lost chunk come out as "?". */
            if (l.type[k] == VITTE__CH_STRINGS || l.type[k] == VITTE__CH_SITES)
                assert_true(r.damaged > 0);
            rd_free(&r);
        }
    }
    free(buf);
    tb_free(&f);
}

static void test_bitflips(void **state)
{
    (void)state;
    check_bitflips(0);
    check_bitflips(1);
}

static void test_bad_header(void **state)
{
    (void)state;
    struct tb f = {0};
    struct rd r;
    enc_header_ex(&f, 1, 0, 2, 64);
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    assert_non_null(strstr(r.open_diag.message, "needs a newer vitte"));
    tb_free(&f);

    enc_header_ex(&f, 1, 0, 1, 5000);
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    assert_non_null(strstr(r.open_diag.message, "header_size"));
    tb_free(&f);

    /* A larger header: its first chunk is at header_size. */
    enc_header_ex(&f, 1, 0, 1, 100);
    enc_end(&f, 0, 0, 0);
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.open_rc, VITTE_OK);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.info.complete, 1);
    tb_free(&f);

    /* A version 1 file from a later minor (or major with min_reader 1) reads. */
    enc_header(&f, 1);
    vitte__put_u16(f.p + 8, 3);
    vitte__put_u16(f.p + 10, 9);
    vitte__put_u32(f.p + 60, vitte__crc32(f.p, 60));
    enc_end(&f, 0, 0, 0);
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.info.version_major, 3);
    assert_int_equal(r.info.version_minor, 9);
    tb_free(&f);
}

static void test_foreign_files(void **state)
{
    (void)state;
    struct rd r;
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                        0,    0,   0,   13,  'I',  'H',  'D',  'R'};
    char path[300];
    tmp_path(path, sizeof path, "image.png");
    write_file(path, png, sizeof png);
    read_path(path, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    assert_non_null(strstr(r.open_diag.message, "not a vitte trace (magic \"\\x89PNG"));

    unsigned char rnd[4096];
    srand(12345);
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (unsigned char)rand();
    read_mem(rnd, sizeof rnd, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    assert_non_null(strstr(r.open_diag.message, "not a vitte trace"));

    tmp_path(path, sizeof path, "empty");
    write_file(path, "", 0);
    read_path(path, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    assert_non_null(strstr(r.open_diag.message, "empty file"));

    tmp_path(path, sizeof path, "dir");
    assert_int_equal(mkdir(path, 0700) == 0 || errno == EEXIST, 1);
    read_path(path, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    assert_non_null(strstr(r.open_diag.message, "directory"));

    tmp_path(path, sizeof path, "does-not-exist");
    read_path(path, 0, &r);
    assert_int_equal(r.open_rc, VITTE_ENOENT);
    assert_non_null(strstr(r.open_diag.message, "does-not-exist"));

    /* Right magic, garbage after: the header checksum catches it. */
    unsigned char hdr[64];
    memcpy(hdr, "VITTRACE", 8);
    memset(hdr + 8, 0, 56);
    read_mem(hdr, sizeof hdr, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    assert_non_null(strstr(r.open_diag.message, "checksum"));
}

static void test_api_misuse(void **state)
{
    (void)state;
    vitte_trace_reader *r = (vitte_trace_reader *)1;
    vitte_diag d;
    assert_int_equal(vitte_trace_reader_open(NULL, 0, &r, &d), VITTE_EINVAL);
    assert_null(r);
    assert_int_equal(d.status, VITTE_EINVAL);
    assert_int_equal(vitte_trace_reader_open("x", 0, NULL, NULL), VITTE_EINVAL);
    assert_int_equal(vitte_trace_reader_open("x", 0x80, &r, NULL), VITTE_EINVAL);
    /* The internal flag is not public. */
    assert_int_equal(vitte_trace_reader_open("x", VITTE__READER_NO_CRC, &r, NULL), VITTE_EINVAL);
    const vitte_trace_event *ev = (const vitte_trace_event *)1;
    assert_int_equal(vitte_trace_reader_next(NULL, &ev, NULL), VITTE_EINVAL);
    assert_null(ev);
    vitte_trace_file_info info;
    assert_int_equal(vitte_trace_reader_info(NULL, &info), VITTE_EINVAL);
    size_t n = 5;
    assert_null(vitte_trace_reader_threads(NULL, &n));
    assert_int_equal(n, 0);
    vitte_trace_reader_close(NULL);
}

static void test_unknown_chunk_skipped(void **state)
{
    (void)state;
    struct tb f = {0};
    enc_header(&f, 1);
    const struct sdef s[] = {{1, "x"}};
    enc_strings(&f, 0, 1, s);
    const struct sitedef site[] = {{1, 1, 0, 0, 0, 0, 1}};
    enc_sites(&f, 0, 1, site);
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    evb_flush(&f, &e, 0);
    /* Future chunk types, one with a compression this reader does not know. */
    static const unsigned char junk[] = "a later minor version's chunk";
    enc_chunk_raw(&f, 42, 0, sizeof junk, sizeof junk, junk, sizeof junk);
    enc_chunk_raw(&f, 200, 9, sizeof junk, 12345, junk, sizeof junk);
    enc_chunk_raw(&f, 0, 0, 0, 0, junk, 0);
    struct tb empty = {0}; /* an INFO chunk with no pairs is valid */
    enc_chunk(&f, VITTE__CH_INFO, 0, &empty);
    enc_chunk(&f, VITTE__CH_INFO, 1, &empty);
    evb_init(&e, 1, 5);
    evb_instant(&e, 1, 6);
    evb_flush(&f, &e, 1);
    enc_end(&f, 2, 0, 6);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n_format, 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[1].ts, 6);
    rd_free(&r);
    char path[300];
    tmp_path(path, sizeof path, "unknown.vittrace");
    write_file(path, f.p, f.n);
    read_path(path, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n_format, 0);
    assert_int_equal(r.n, 2);
    rd_free(&r);
    tb_free(&f);
}

/* A file: header, a good EVENTS chunk, `bad`, a good EVENTS chunk, END. */
static void sandwich(struct tb *f, void (*bad)(struct tb *))
{
    enc_header(f, 1);
    const struct sdef s[] = {{1, "x"}};
    enc_strings(f, 0, 1, s);
    const struct sitedef site[] = {{1, 1, 0, 0, 0, 0, 1}};
    enc_sites(f, 0, 1, site);
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    evb_flush(f, &e, 0);
    bad(f);
    evb_init(&e, 1, 10);
    evb_instant(&e, 1, 11);
    evb_flush(f, &e, 0);
    enc_end(f, 2, 0, 11);
}

static size_t bad_at;

static void expect_one_bad(void (*bad)(struct tb *), const char *msg)
{
    struct tb f = {0};
    sandwich(&f, bad);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.n_format, 1);
    if (strstr(r.first_err.message, msg) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", msg, r.first_err.message);
    assert_int_equal(r.first_err.offset, bad_at);
    assert_int_equal(r.n, 2); /* the good chunks on both sides */
    assert_int_equal(r.ev[1].ts, 11);
    assert_int_equal(r.final, 0);
    rd_free(&r);
    tb_free(&f);
}

static void bad_oversize(struct tb *f)
{
    bad_at = f->n;
    enc_chunk_raw(f, VITTE__CH_EVENTS, 0, (64u << 20) + 1, (64u << 20) + 1, "", 0);
}

static void bad_raw_size(struct tb *f)
{
    bad_at = f->n;
    enc_chunk_raw(f, VITTE__CH_STRINGS, 0, 3, 4, "\x01\x01\x00", 3);
}

static void bad_zstd_size(struct tb *f)
{
    bad_at = f->n;
    unsigned char z[64];
    size_t zn = ZSTD_compress(z, sizeof z, "\x00", 1, 1);
    enc_chunk_raw(f, VITTE__CH_STRINGS, 1, (uint32_t)zn, 2, z, zn);
}

static void bad_zstd_garbage(struct tb *f)
{
    bad_at = f->n;
    enc_chunk_raw(f, VITTE__CH_STRINGS, 1, 8, 8, "notzstd!", 8);
}

static void bad_compression(struct tb *f)
{
    bad_at = f->n;
    enc_chunk_raw(f, VITTE__CH_STRINGS, 5, 1, 1, "\x00", 1);
}

static void bad_string_len(struct tb *f)
{
    bad_at = f->n;
    struct tb p = {0};
    tb_v(&p, 1);
    tb_v(&p, 2);
    tb_v(&p, (64u << 10) + 1);
    for (unsigned i = 0; i < (64u << 10) + 1; i++)
        tb_u8(&p, 'a');
    enc_chunk(f, VITTE__CH_STRINGS, 1, &p);
    tb_free(&p);
}

static void bad_count(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    e.count = 1000; /* more records than bytes */
    evb_flush(f, &e, 0);
}

static void bad_varint(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    static const unsigned char v[] = {
        VITTE__EV_INSTANT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0};
    evb_raw(&e, 1, v, sizeof v);
    evb_flush(f, &e, 0);
}

static void bad_varint10(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    static const unsigned char v[] = {
        VITTE__EV_INSTANT, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    evb_raw(&e, 1, v, sizeof v);
    evb_flush(f, &e, 0);
}

static void bad_trailing(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    evb_raw(&e, 0, "\x02\x01\x00", 3);
    evb_flush(f, &e, 0);
}

static void bad_missing(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    evb_raw(&e, 0, "\x02", 1); /* a record cut short, and one too few */
    e.count++;
    evb_flush(f, &e, 0);
}

static void bad_record_type(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_raw(&e, 1, "\x33\x00", 2);
    evb_flush(f, &e, 0);
}

static void bad_arg_kind(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_arg_head(&e, 0, 0, 1, 4);
    evb_flush(f, &e, 0);
}

static void bad_arg_target(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_arg_int(&e, 2, 0, 1, 1);
    evb_flush(f, &e, 0);
}

static void bad_depth(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_span(&e, 1, 65536, 0, 1);
    evb_flush(f, &e, 0);
}

static void bad_span_before_zero(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 5);
    evb_span(&e, 1, 0, 0, 5);
    e.body.p[e.body.n - 1] = 6; /* 6 ns long, ending at 5 */
    evb_flush(f, &e, 0);
}

static void bad_tid(struct tb *f)
{
    bad_at = f->n;
    struct tb p = {0};
    tb_v(&p, 1ull << 40);
    tb_v(&p, 0);
    tb_v(&p, 0);
    enc_chunk(f, VITTE__CH_EVENTS, 0, &p);
    tb_free(&p);
}

static void bad_string_dup(struct tb *f)
{
    bad_at = f->n;
    const struct sdef s[] = {{1, "again"}};
    enc_strings(f, 0, 1, s);
}

static void bad_site_zero(struct tb *f)
{
    bad_at = f->n;
    const struct sitedef site[] = {{0, 1, 0, 0, 0, 0, 1}};
    enc_sites(f, 0, 1, site);
}

static void bad_line(struct tb *f)
{
    bad_at = f->n;
    const struct sitedef site[] = {{9, 1, 0, 0, 0, 0, 1ull << 32}};
    enc_sites(f, 0, 1, site);
}

static void bad_thread_trailing(struct tb *f)
{
    bad_at = f->n;
    enc_chunk_raw(f, VITTE__CH_THREAD, 0, 3, 3, "\x01\x01\x01", 3);
}

static void bad_info_odd(struct tb *f)
{
    bad_at = f->n;
    enc_chunk_raw(f, VITTE__CH_INFO, 0, 4, 4, "\x03key", 4);
}

static void bad_garbage(struct tb *f)
{
    bad_at = f->n;
    /* Not a chunk at all, with a fake "VCHK" whose header CRC is wrong. */
    static const unsigned char g[] = "garbage VCHK\x05\x00\x00\x00\x10\x00\x00\x00"
                                     "\x10\x00\x00\x00....more garbage";
    tb_put(f, g, sizeof g);
}

static void bad_payload_crc(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    evb_flush(f, &e, 0);
    f->p[f->n - 1] ^= 0x40;
}

static void bad_string_zero(struct tb *f)
{
    bad_at = f->n;
    const struct sdef s[] = {{0, "zero"}};
    enc_strings(f, 0, 1, s);
}

static void bad_arg_depth(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_arg_int(&e, 0, 65536, 1, 1);
    evb_flush(f, &e, 0);
}

static void bad_drop_depth(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_drop(&e, 70000);
    evb_flush(f, &e, 0);
}

static void bad_arg_cut(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_raw(&e, 1, "\x09", 1); /* ends before the target */
    evb_flush(f, &e, 0);
}

static void bad_arg_cut_kind(struct tb *f)
{
    bad_at = f->n;
    struct evb e;
    evb_init(&e, 1, 0);
    evb_raw(&e, 1, "\x09\x00\x00\x01", 4); /* ends before the kind */
    evb_flush(f, &e, 0);
}

static void bad_two_frames(struct tb *f)
{
    bad_at = f->n;
    unsigned char z[128];
    size_t a = ZSTD_compress(z, sizeof z, "\x00", 1, 1);
    size_t b = ZSTD_compress(z + a, sizeof z - a, "\x00", 1, 1);
    enc_chunk_raw(f, VITTE__CH_STRINGS, 1, (uint32_t)(a + b), 1, z, a + b);
}

static void test_damaged_chunks(void **state)
{
    (void)state;
    expect_one_bad(bad_oversize, "above 64 MiB");
    expect_one_bad(bad_raw_size, "raw_size 4 != stored_size 3");
    expect_one_bad(bad_zstd_size, "raw_size says 2");
    expect_one_bad(bad_zstd_garbage, "zstd");
    expect_one_bad(bad_compression, "unknown compression 5");
    expect_one_bad(bad_string_len, "at most 64 KiB");
    expect_one_bad(bad_count, "1000 records announced");
    expect_one_bad(bad_varint, "longer than 64 bits");
    expect_one_bad(bad_varint10, "longer than 64 bits");
    expect_one_bad(bad_trailing, "3 bytes left after the last of 1 records");
    expect_one_bad(bad_missing, "record 2 of 2");
    expect_one_bad(bad_record_type, "unknown record type 51");
    expect_one_bad(bad_arg_kind, "argument kind 4");
    expect_one_bad(bad_arg_target, "argument target 2");
    expect_one_bad(bad_depth, "span depth 65536");
    expect_one_bad(bad_span_before_zero, "before time 0");
    expect_one_bad(bad_tid, "does not fit in 32 bits");
    expect_one_bad(bad_string_dup, "defined twice");
    expect_one_bad(bad_site_zero, "site 0 defined");
    expect_one_bad(bad_line, "site line");
    expect_one_bad(bad_thread_trailing, "bytes left after the thread name");
    expect_one_bad(bad_info_odd, "INFO value");
    expect_one_bad(bad_garbage, "skipped 41 bytes to the next chunk");
    expect_one_bad(bad_payload_crc, "payload checksum mismatch");
    expect_one_bad(bad_string_zero, "string id 0 defined");
    expect_one_bad(bad_arg_depth, "argument depth 65536");
    expect_one_bad(bad_drop_depth, "dropped span depth 70000");
    expect_one_bad(bad_arg_cut, "payload ends inside argument target");
    expect_one_bad(bad_arg_cut_kind, "payload ends inside argument kind");
    expect_one_bad(bad_two_frames, "not exactly one zstd frame");
}

/* A chunk whose header promises more than the file holds is a truncation. */
static void test_length_past_end(void **state)
{
    (void)state;
    struct tb f = {0};
    enc_header(&f, 1);
    size_t at = f.n;
    unsigned char z[16] = {0};
    enc_chunk_raw(&f, VITTE__CH_EVENTS, 0, 60u << 20, 60u << 20, z, sizeof z);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, VITTE_ETRUNCATED);
    assert_int_equal(r.final_diag.offset, at);
    assert_non_null(strstr(r.final_diag.message, "16 of 62914560 payload bytes"));
    tb_free(&f);
}

/* Damage before the end with nothing after it. */
static void test_damage_to_eof(void **state)
{
    (void)state;
    struct tb f = {0};
    struct layout l;
    build_std(&f, 0, &l);
    f.n = l.off[l.n - 1];
    static const unsigned char g[100] = {1, 2, 3};
    tb_put(&f, g, sizeof g);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.n, 10);
    assert_int_equal(r.n_format, 1);
    assert_non_null(strstr(r.first_err.message, "no chunk in the"));
    assert_int_equal(r.final, VITTE_ETRUNCATED);
    assert_non_null(strstr(r.final_diag.message, "no end marker"));
    assert_int_equal(r.skipped, 100);
    rd_free(&r);
    tb_free(&f);
}

/* Searching a file (not memory) across many read blocks: fake magics,
 * some across block edges, before the next real chunk. */
static void long_garbage(struct tb *f)
{
    bad_at = f->n;
    unsigned char *g = calloc(200000, 1);
    for (size_t i = 0; i + 4 <= 200000; i += 9973)
        memcpy(g + i, "VCHK", 4);
    for (size_t edge = 65536; edge < 200000; edge += 65536)
        memcpy(g + edge - 2, "VCHK", 4);
    tb_put(f, g, 200000);
    free(g);
}

static void test_resync_file(void **state)
{
    (void)state;
    struct tb f = {0};
    sandwich(&f, long_garbage);
    char path[300];
    tmp_path(path, sizeof path, "garbage.vittrace");
    write_file(path, f.p, f.n);
    struct rd r;
    for (int mem = 0; mem < 2; mem++) {
        if (mem)
            read_mem(f.p, f.n, 0, &r);
        else
            read_path(path, 0, &r);
        assert_int_equal(r.n_format, 1);
        assert_non_null(strstr(r.first_err.message, "skipped 200000 bytes to the next chunk"));
        assert_int_equal(r.first_err.offset, bad_at);
        assert_int_equal(r.n, 2);
        assert_int_equal(r.final, 0);
        assert_int_equal(r.skipped, 200000);
        rd_free(&r);
    }
    tb_free(&f);
}

/* Ids far from the dense run go to the hash part, and move to the dense
 * part when it grows past them. */
static void test_sparse_ids(void **state)
{
    (void)state;
    struct tb f = {0};
    enc_header(&f, 1);
    struct tb p = {0};
    tb_v(&p, 4502 + 40 + 4);
    tb_v(&p, 5000);
    tb_str(&p, "five-thousand");
    for (unsigned k = 0; k < 40; k++) { /* enough sparse ids to grow the hash part */
        tb_v(&p, 1000000 + 7919 * (uint64_t)k);
        tb_str(&p, "sparse");
    }
    char *big = malloc(20001); /* a string bigger than a quarter arena block */
    memset(big, 'b', 20000);
    big[20000] = '\0';
    for (unsigned k = 0; k < 4; k++) { /* the fourth needs a block of its own */
        tb_v(&p, 999996 + k);
        tb_str(&p, big);
    }
    free(big);
    tb_v(&p, 1ull << 60);
    tb_str(&p, "huge");
    for (unsigned id = 1; id <= 4500; id++) {
        char name[16];
        snprintf(name, sizeof name, "s%u", id);
        tb_v(&p, id);
        tb_str(&p, name);
    }
    enc_chunk(&f, VITTE__CH_STRINGS, 1, &p);
    tb_free(&p);
    const struct sitedef site[] = {
        {1, 5000, 1ull << 60, 4500, 0, 1, 1},
        {(1ull << 62) + 3, 4096, 999999, 1000000 + 7919 * 39, 999996, 0, 2}};
    enc_sites(&f, 0, 2, site);
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    evb_instant(&e, (1ull << 62) + 3, 2);
    evb_flush(&f, &e, 0);
    enc_end(&f, 2, 0, 2);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.ev[0].name, "five-thousand");
    assert_string_equal(r.ev[0].module, "huge");
    assert_string_equal(r.ev[0].tags, "s4500");
    assert_string_equal(r.ev[0].file, "s1");
    assert_string_equal(r.ev[1].name, "s4096");
    assert_int_equal(strlen(r.ev[1].module), sizeof r.ev[1].module - 1); /* copy truncated */
    assert_string_equal(r.ev[1].tags, "sparse");
    assert_int_equal(r.damaged, 0);
    rd_free(&r);
    tb_free(&f);
}

/* A zstd frame that does not record its size: raw_size is checked
 * against what decompression gives. */
static void enc_zstd_unsized(struct tb *f, unsigned type, const struct tb *payload, uint32_t raw)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    unsigned char z[256];
    ZSTD_outBuffer out = {z, sizeof z, 0};
    ZSTD_inBuffer in = {payload->p, payload->n, 0};
    assert_int_equal(ZSTD_compressStream2(c, &out, &in, ZSTD_e_end), 0);
    ZSTD_freeCCtx(c);
    assert_int_equal(ZSTD_getFrameContentSize(z, out.pos), ZSTD_CONTENTSIZE_UNKNOWN);
    enc_chunk_raw(f, type, 1, (uint32_t)out.pos, raw, z, out.pos);
}

static void test_zstd_unsized(void **state)
{
    (void)state;
    struct tb f = {0}, p = {0};
    enc_header(&f, 1);
    tb_v(&p, 1);
    tb_v(&p, 1);
    tb_str(&p, "name");
    enc_zstd_unsized(&f, VITTE__CH_STRINGS, &p, (uint32_t)p.n);
    enc_zstd_unsized(&f, VITTE__CH_STRINGS, &p, (uint32_t)p.n + 1); /* promises too much */
    enc_zstd_unsized(&f, VITTE__CH_STRINGS, &p, (uint32_t)p.n - 1); /* too little */
    tb_free(&p);
    const struct sitedef site[] = {{1, 1, 0, 0, 0, 0, 1}};
    enc_sites(&f, 0, 1, site);
    struct evb e;
    evb_init(&e, 1, 0);
    evb_instant(&e, 1, 1);
    evb_flush(&f, &e, 0);
    enc_end(&f, 1, 0, 1);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.final, 0);
    assert_int_equal(r.n_format, 2);
    if (strstr(r.first_err.message, "zstd gave 7 bytes, raw_size says 8") == NULL)
        fail_msg("%s", r.first_err.message);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.ev[0].name, "name");
    rd_free(&r);
    tb_free(&f);
}

/* With checksums ignored (the fuzzing mode), damage reaches the parsers. */
static void test_no_crc_mode(void **state)
{
    (void)state;
    struct tb f = {0};
    struct layout l;
    build_std(&f, 0, &l);
    f.p[60] ^= 1;            /* header CRC */
    f.p[l.off[1] + 20] ^= 1; /* STRINGS header CRC */
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    assert_int_equal(r.open_rc, VITTE_EFORMAT);
    read_mem(f.p, f.n, VITTE__READER_NO_CRC, &r);
    assert_int_equal(r.open_rc, VITTE_OK);
    check_std(&r);
    rd_free(&r);
    tb_free(&f);
}

/* ---- follow mode ------------------------------------------------------------------------- */

struct follower {
    char path[300];
    struct tb file;
    size_t cuts[128];
    size_t n_cuts;
    size_t slow_cut; /* the reader must see the file stop here */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void *append_thread(void *arg)
{
    struct follower *fw = arg;
    int fd = open(fw->path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    size_t done = 0;
    for (size_t i = 0; i < fw->n_cuts; i++) {
        size_t to = fw->cuts[i];
        while (done < to) {
            ssize_t k = write(fd, fw->file.p + done, to - done);
            assert_true(k > 0);
            done += (size_t)k;
        }
        sleep_ms(i == fw->slow_cut ? 100 : 7);
    }
    close(fd);
    return NULL;
}

static void test_follow(void **state)
{
    (void)state;
    static struct follower fw;
    memset(&fw, 0, sizeof fw);
    tmp_path(fw.path, sizeof fw.path, "follow.vittrace");
    write_file(fw.path, "", 0);
    /* A file grown chunk by chunk, some chunks in two writes, and the
     * header itself late: the reader must wait for all of it. */
    struct tb *f = &fw.file;
    fw.cuts[fw.n_cuts++] = 10;
    enc_header(f, 77);
    fw.cuts[fw.n_cuts++] = f->n;
    const struct sdef s[] = {{1, "x"}};
    enc_strings(f, 0, 1, s);
    const struct sitedef site[] = {{1, 1, 0, 0, 0, 0, 1}};
    enc_sites(f, 1, 1, site);
    fw.cuts[fw.n_cuts++] = f->n - 5;
    fw.cuts[fw.n_cuts++] = f->n;
    uint64_t t = 0;
    for (int c = 0; c < 20; c++) {
        struct evb e;
        evb_init(&e, 1, t);
        for (int i = 0; i < 50; i++) {
            evb_instant(&e, 1, ++t);
            evb_arg_int(&e, 1, 0, 1, (int64_t)t);
        }
        if (c == 10) { /* damage, then the writer goes on */
            static const unsigned char junk[100] = {'j', 'u', 'n', 'k', [97] = 'V', 'C', 'H'};
            tb_put(f, junk, sizeof junk);
            fw.slow_cut = fw.n_cuts;
            fw.cuts[fw.n_cuts++] = f->n;
        }
        size_t at = f->n;
        evb_flush(f, &e, c & 1);
        fw.cuts[fw.n_cuts++] = at + 10;      /* inside the chunk header */
        fw.cuts[fw.n_cuts++] = at + 24 + 30; /* inside the payload */
        fw.cuts[fw.n_cuts++] = f->n;
    }
    enc_end(f, 1000, 0, t);
    fw.cuts[fw.n_cuts++] = f->n;
    assert_true(fw.n_cuts <= 128);

    vitte_trace_reader *r;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, append_thread, &fw), 0);
    vitte_diag d;
    assert_int_equal(vitte_trace_reader_open(fw.path, VITTE_READER_FOLLOW, &r, &d), VITTE_OK);
    const vitte_trace_event *ev;
    uint64_t n = 0;
    int rc, n_format = 0;
    while ((rc = vitte_trace_reader_next(r, &ev, &d)) == 1 || rc == VITTE_EFORMAT) {
        if (rc == VITTE_EFORMAT) {
            n_format++;
            continue;
        }
        n++;
        assert_int_equal(ev->ts_ns, n);
        assert_int_equal(ev->n_args, 1);
        assert_int_equal(ev->args[0].i, (int64_t)n);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 1000);
    assert_int_equal(n_format, 1);
    assert_int_equal(vitte__trace_reader_skipped(r), 100);
    vitte_trace_file_info info;
    vitte_trace_reader_info(r, &info);
    assert_int_equal(info.complete, 1);
    assert_int_equal(info.pid, 77);
    vitte_trace_reader_close(r);
    pthread_join(th, NULL);
    tb_free(f);
}

/* ---- allocator hooks: every byte goes through them and comes back ----------------------- */

static long live_allocs;

static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    live_allocs++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (p == NULL)
        live_allocs++;
    return realloc(p, n);
}

static void count_free(void *p, void *ud)
{
    (void)ud;
    if (p != NULL)
        live_allocs--;
    free(p);
}

static void test_allocator(void **state)
{
    (void)state;
    vitte_allocator a = {count_malloc, count_realloc, count_free, NULL};
    assert_int_equal(vitte_set_allocator(&a), VITTE_OK);
    live_allocs = 0;
    struct tb f = {0};
    build_std(&f, 1, NULL);
    struct rd r;
    read_mem(f.p, f.n, 0, &r);
    check_std(&r);
    assert_true(live_allocs == 0);
    vitte_set_allocator(NULL);
    rd_free(&r);
    tb_free(&f);
}

/* Every allocation failing in turn: VITTE_ENOMEM, never a crash or a leak. */
static long fail_at;

static void *failing_malloc(size_t n, void *ud)
{
    (void)ud;
    if (fail_at-- == 0)
        return NULL;
    live_allocs++;
    return malloc(n);
}

static void *failing_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (fail_at-- == 0)
        return NULL;
    if (p == NULL)
        live_allocs++;
    return realloc(p, n);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    /* The standard file, plus a chunk long enough for several segments,
     * with pending and target-1 string arguments. */
    struct tb f = {0};
    struct layout l;
    build_std(&f, 1, &l);
    f.n = l.off[l.n - 1]; /* END goes after the extra chunk */
    struct evb e;
    evb_init(&e, 9, 5000);
    for (int i = 0; i < 3000; i++) {
        evb_arg_str(&e, 0, 0, S_KS, "pending");
        evb_instant(&e, 2, 5001 + (uint64_t)i);
        evb_arg_str(&e, 1, 0, S_KS, "arg");
        evb_span(&e, 1, 0, 5001 + (uint64_t)i, 5002 + (uint64_t)i);
    }
    evb_flush(&f, &e, 1);
    enc_end(&f, 6010, 1, 9000);
    vitte_allocator a = {failing_malloc, failing_realloc, count_free, NULL};
    int saw_ok = 0;
    for (long n = 0; !saw_ok; n++) {
        assert_true(n < 100000);
        assert_int_equal(vitte_set_allocator(&a), VITTE_OK);
        live_allocs = 0;
        fail_at = n;
        vitte_trace_reader *r;
        int rc = vitte__trace_reader_open_mem(f.p, f.n, 0, &r, NULL);
        long events = 0;
        if (rc == VITTE_OK) {
            const vitte_trace_event *ev;
            vitte_diag d;
            while ((rc = vitte_trace_reader_next(r, &ev, &d)) == 1)
                events++;
            if (rc == VITTE_ENOMEM) {
                assert_int_equal(d.status, VITTE_ENOMEM);
                assert_int_equal(vitte_trace_reader_next(r, &ev, NULL), VITTE_ENOMEM);
            }
            vitte_trace_reader_close(r);
        }
        vitte_set_allocator(NULL);
        if (rc != VITTE_ENOMEM) {
            assert_int_equal(rc, 0);
            assert_int_equal(events, 6010);
            saw_ok = 1;
        }
        assert_true(live_allocs == 0);
    }
    tb_free(&f);
}

/* ---- fuzz seeds and timing (on request) ---------------------------------------------- */

static void write_seed(const char *dir, const char *name, const struct tb *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_true(f->n < 4096);
    write_file(path, f->p, f->n);
}

static void test_write_fuzz_seeds(void **state)
{
    (void)state;
    const char *dir = getenv("VITTE_FUZZ_SEED_DIR");
    if (dir == NULL)
        skip();
    struct tb f = {0};
    struct layout l;
    build_std(&f, 0, &l);
    write_seed(dir, "valid-stored.vittrace", &f);
    struct tb g = f;
    g.n = l.off[l.n - 1];
    write_seed(dir, "no-end.vittrace", &g);
    g.n = l.off[5] + 30;
    write_seed(dir, "cut-mid-chunk.vittrace", &g);
    f.p[l.off[5] + 30] ^= 4;
    write_seed(dir, "bitflip-payload.vittrace", &f);
    f.p[l.off[5] + 30] ^= 4;
    f.p[l.off[2] + 9] ^= 1;
    write_seed(dir, "bitflip-chunk-header.vittrace", &f);
    tb_free(&f);
    build_std(&f, 1, NULL);
    write_seed(dir, "valid-zstd.vittrace", &f);
    tb_free(&f);
    enc_header(&f, 1);
    write_seed(dir, "header-only.vittrace", &f);
    tb_free(&f);

    struct {
        const char *name;
        void (*bad)(struct tb *);
    } bads[] = {
        {"garbage-between.vittrace", bad_garbage}, {"bad-record-type.vittrace", bad_record_type},
        {"bad-varint.vittrace", bad_varint},       {"bad-zstd-size.vittrace", bad_zstd_size},
        {"trailing-bytes.vittrace", bad_trailing}, {"dup-string.vittrace", bad_string_dup}};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        sandwich(&f, bads[i].bad);
        write_seed(dir, bads[i].name, &f);
        tb_free(&f);
    }

    /* Arguments of every kind and target, unknown ids, an unknown chunk. */
    enc_header(&f, 1);
    enc_strings(&f, 0, 13, std_strings);
    enc_sites(&f, 0, 4, std_sites);
    struct evb e;
    evb_init(&e, 7, 100);
    evb_arg_int(&e, 0, 0, S_KI, -5);
    evb_arg_dbl(&e, 0, 1, S_KD, 2.5);
    evb_span(&e, 1, 1, 101, 102);
    evb_instant(&e, 2, 103);
    evb_arg_str(&e, 1, 0, S_KS, "hello");
    evb_arg_str(&e, 0, 1, S_KS, "dropped");
    evb_drop(&e, 1);
    evb_counter(&e, 3, 104, 1.0);
    evb_span(&e, 9, 1, 104, 105);
    evb_arg_int(&e, 1, 0, 99, 77);
    evb_flush(&f, &e, 0);
    enc_chunk_raw(&f, 42, 0, 3, 3, "abc", 3);
    evb_init(&e, 7, 200);
    evb_arg_dbl(&e, 0, 0, S_KD, 1e300);
    evb_span(&e, 1, 0, 100, 201);
    evb_async(&e, VITTE__EV_ASYNC_BEGIN, 4, 202, 5);
    evb_flow(&e, VITTE__EV_FLOW_BEGIN, 203, 5);
    evb_flush(&f, &e, 1);
    enc_end(&f, 6, 0, 202);
    write_seed(dir, "args.vittrace", &f);
    tb_free(&f);

    /* More events than one decoding segment, compressed. */
    enc_header(&f, 1);
    enc_strings(&f, 0, 13, std_strings);
    enc_sites(&f, 0, 4, std_sites);
    evb_init(&e, 3, 0);
    evb_instant(&e, 2, 1);
    for (int i = 0; i < 5000; i++)
        evb_span(&e, 1, 1, 2 + (uint64_t)i, 3 + (uint64_t)i);
    evb_arg_int(&e, 1, 0, S_KI, 1);
    evb_flush(&f, &e, 1);
    enc_end(&f, 5001, 0, 5003);
    write_seed(dir, "long-chunk.vittrace", &f);
    tb_free(&f);
}

static void test_read_speed(void **state)
{
    (void)state;
    const char *env = getenv("VITTE_READ_BENCH");
    if (env == NULL)
        skip();
    long n = atol(env);
    /* Chunks like the writer's: about 256 KiB raw, one thread each, a mix
     * of spans (most), instants, counters and a few arguments. */
    struct tb f = {0};
    enc_header(&f, 1);
    enc_strings(&f, 1, 13, std_strings);
    enc_sites(&f, 1, 4, std_sites);
    uint64_t t = 1000, x = 88172645463325252ull;
    long made = 0;
    while (made < n) {
        struct evb e;
        evb_init(&e, 100 + (uint32_t)(made / 20000) % 8, t);
        while (e.body.n < (250u << 10) && made < n) {
            /* xorshift: jitter so that zstd sees data like a real trace's */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int k = (int)(made % 16);
            uint64_t gap = 20 + (x & 1023), site = 1 + ((x >> 12) & 3);
            if (k == 0) {
                evb_instant(&e, 2, t + gap);
            } else if (k == 1) {
                evb_counter(&e, 3, t + gap, (double)(x >> 40));
            } else if (k == 2) {
                evb_arg_int(&e, 0, 1, S_KI, made);
                evb_span(&e, site, 1, t, t + gap);
            } else {
                evb_span(&e, site, (uint32_t)(k & 3), t, t + gap + ((x >> 20) & 4095));
            }
            t += gap + ((x >> 20) & 4095);
            made++;
        }
        evb_flush(&f, &e, 1);
    }
    enc_end(&f, (uint64_t)n, 0, t);
    char path[300];
    tmp_path(path, sizeof path, "bench.vittrace");
    write_file(path, f.p, f.n);
    tb_free(&f);

    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        vitte_trace_reader *r;
        assert_int_equal(vitte_trace_reader_open(path, 0, &r, NULL), VITTE_OK);
        const vitte_trace_event *ev;
        long got = 0;
        uint64_t sum = 0;
        while (vitte_trace_reader_next(r, &ev, NULL) == 1) {
            got++;
            sum += ev->dur_ns + ev->n_args;
        }
        vitte_trace_reader_close(r);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_int_equal(got, n);
        double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        double rate = (double)got / s;
        if (rate > best)
            best = rate;
        print_message("read %ld events in %.3f s: %.1f M events/s (checksum %llu)\n", got, s,
                      rate / 1e6, (unsigned long long)sum);
    }
    struct stat st;
    stat(path, &st);
    print_message("file %lld bytes (%.2f bytes/event); best %.1f M events/s\n",
                  (long long)st.st_size, (double)st.st_size / (double)n, best / 1e6);
    unlink(path);
}

static int cleanup(void **state)
{
    (void)state;
    if (tmpdir[0] != '\0') {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_stored),
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_info_from_header),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_long_chunks),
        cmocka_unit_test(test_definitions_across_chunks),
        cmocka_unit_test(test_unknown_ids),
        cmocka_unit_test(test_no_end_marker),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_bitflips),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_foreign_files),
        cmocka_unit_test(test_api_misuse),
        cmocka_unit_test(test_unknown_chunk_skipped),
        cmocka_unit_test(test_damaged_chunks),
        cmocka_unit_test(test_length_past_end),
        cmocka_unit_test(test_damage_to_eof),
        cmocka_unit_test(test_no_crc_mode),
        cmocka_unit_test(test_follow),
        cmocka_unit_test(test_allocator),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_resync_file),
        cmocka_unit_test(test_sparse_ids),
        cmocka_unit_test(test_zstd_unsized),
        cmocka_unit_test(test_write_fuzz_seeds),
        cmocka_unit_test(test_read_speed),
    };
    return cmocka_run_group_tests_name("vittrace_read", tests, NULL, cleanup);
}
