/* Samples (VITTE_EVENT_SAMPLE) in the text and Chrome exports, on synthetic
 * events through the internal source interface: the profile section of the
 * text summary (sampler facts, functions by self and total time, threads,
 * modules), the flame chart tracks of the Chrome export (layout, nesting,
 * totals equal to the text's), the sampler facts in otherData, span-only
 * output left as it was, and memory bounded by distinct stacks.
 *
 * Where python3 is installed it parses the JSON too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vitte/vitte.h>

#include "common/textbuf.h"
#include "export/export_trace.h"

#define START_NS 1000000000ull /* the file's start_ns: timeline 0 */
#define MS       1000000ull
#define TRACK    0x40000000u /* tid offset of the samples tracks */

/* ---- a synthetic source with INFO values ------------------------------------------------- */

typedef struct fsrc {
    vitte_trace_event *ev;
    size_t n, cap, pos;
    vitte_trace_file_info info;
    vitte_trace_thread threads[4];
    size_t n_threads;
    const char *kv[16][2];
    size_t n_kv;
} fsrc;

static void fs_init(fsrc *f, uint32_t pid)
{
    memset(f, 0, sizeof *f);
    f->info.version_major = 1;
    f->info.version_minor = 1;
    f->info.pid = pid;
    f->info.process_name = "prog";
    f->info.clock = "CLOCK_MONOTONIC";
    f->info.start_ns = START_NS;
    f->info.start_realtime_ns = 1700000000000000000ll;
    f->info.complete = 1;
}

static void fs_free(fsrc *f)
{
    free(f->ev);
}

static void fs_kv(fsrc *f, const char *key, const char *value)
{
    f->kv[f->n_kv][0] = key;
    f->kv[f->n_kv][1] = value;
    f->n_kv++;
}

static void fs_thread(fsrc *f, uint32_t tid, const char *name)
{
    f->threads[f->n_threads++] = (vitte_trace_thread){f->info.pid, tid, name, 0, 0};
}

static vitte_trace_event *fs_add(fsrc *f, vitte_trace_event_type type, uint32_t tid, uint64_t ts)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->ev = realloc(f->ev, f->cap * sizeof *f->ev);
        assert_non_null(f->ev);
    }
    vitte_trace_event *e = &f->ev[f->n++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->pid = f->info.pid;
    e->tid = tid;
    e->ts_ns = START_NS + ts;
    e->name = e->module = e->tags = e->file = "";
    if (f->info.end_ns < e->ts_ns)
        f->info.end_ns = e->ts_ns;
    return e;
}

/* A sample taken at ts of weight w; frames[0] is the leaf. */
static void fs_sample(fsrc *f, uint32_t tid, uint64_t ts, uint64_t w,
                      const vitte_trace_frame *frames, size_t n)
{
    vitte_trace_event *e = fs_add(f, VITTE_EVENT_SAMPLE, tid, ts);
    e->dur_ns = w;
    e->frames = frames;
    e->n_frames = n;
    e->sample_kind = VITTE_SAMPLE_CPU;
    if (n > 0) {
        e->name = frames[0].function;
        if (frames[0].mapping != NULL) {
            const char *slash = strrchr(frames[0].mapping->path, '/');
            e->module = slash != NULL ? slash + 1 : frames[0].mapping->path;
        }
    }
}

static void fs_span(fsrc *f, uint32_t tid, uint32_t depth, uint64_t start, uint64_t dur,
                    const char *name)
{
    vitte_trace_event *e = fs_add(f, VITTE_EVENT_SPAN, tid, start);
    e->depth = depth;
    e->dur_ns = dur;
    e->name = name;
    if (f->info.end_ns < e->ts_ns + dur)
        f->info.end_ns = e->ts_ns + dur;
}

static int fs_open(void *ctx, vitte_diag *diag)
{
    (void)diag;
    ((fsrc *)ctx)->pos = 0;
    return VITTE_OK;
}

static int fs_next(void *ctx, const vitte_trace_event **ev, vitte_diag *diag)
{
    (void)diag;
    fsrc *f = ctx;
    if (f->pos >= f->n)
        return 0;
    *ev = &f->ev[f->pos++];
    return 1;
}

static int fs_info(void *ctx, vitte_trace_file_info *out)
{
    fsrc *f = ctx;
    *out = f->info;
    out->events = f->pos;
    return VITTE_OK;
}

static const vitte_trace_thread *fs_threads(void *ctx, size_t *n)
{
    fsrc *f = ctx;
    *n = f->n_threads;
    return f->threads;
}

static void fs_close(void *ctx)
{
    (void)ctx;
}

static const char *fs_info_value(void *ctx, const char *key)
{
    fsrc *f = ctx;
    for (size_t i = 0; i < f->n_kv; i++)
        if (strcmp(f->kv[i][0], key) == 0)
            return f->kv[i][1];
    return NULL;
}

static const vitte__xsource_ops fs_ops = {fs_open, fs_next, fs_info, fs_threads, fs_close};

/* Export f (info values given when with_info); the text, to free(). */
static char *export_opt(fsrc *f, const vitte_trace_export_options *o, int with_info)
{
    vitte__xsource src = {&fs_ops, f, "prof.vittrace"};
    vitte__buf b;
    vitte__buf_init_libc(&b);
    vitte_diag d;
    int rc = vitte__export_trace_run_ex(&src, 1, with_info ? fs_info_value : NULL, o, &b, &d);
    assert_int_equal(rc, VITTE_OK);
    char *s = vitte__buf_detach(&b, NULL);
    assert_non_null(s);
    return s;
}

/* VITTE_TEST_SHOW=1 prints the exports, to look at them. */
static char *export_fmt(fsrc *f, vitte_trace_format fmt, int by)
{
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = fmt;
    o.by = by;
    char *s = export_opt(f, &o, 1);
    if (getenv("VITTE_TEST_SHOW") != NULL)
        printf("%s\n", s);
    return s;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static int have_tool(const char *cmd)
{
    char buf[256];
    snprintf(buf, sizeof buf, "command -v %s >/dev/null 2>&1", cmd);
    return system(buf) == 0;
}

static void expect_valid_json(const char *text)
{
    if (!have_tool("python3")) {
        print_message("note: python3 missing, JSON not parsed\n");
        return;
    }
    char path[] = "/tmp/vitte-test-samples-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding=\"utf-8\"))' %s",
             path);
    int rc = system(cmd);
    unlink(path);
    if (rc != 0)
        fail_msg("not valid JSON:\n%.3000s", text);
}

/* The line after `after` (a section title) that ends with "  name": a
 * copy, to free(); fails the test when there is none. */
static char *row(const char *text, const char *after, const char *name)
{
    const char *p = strstr(text, after);
    if (p == NULL)
        fail_msg("no \"%s\" in:\n%s", after, text);
    size_t n = strlen(name);
    for (p = strchr(p, '\n'); p != NULL && p[1] != '\0' && p[1] != '\n'; p = strchr(p + 1, '\n')) {
        const char *start = p + 1;
        const char *end = strchr(start, '\n');
        if (end == NULL)
            end = start + strlen(start);
        if ((size_t)(end - start) > n + 2 && memcmp(end - n, name, n) == 0 &&
            memcmp(end - n - 2, "  ", 2) == 0) {
            char *line = malloc((size_t)(end - start) + 1);
            assert_non_null(line);
            memcpy(line, start, (size_t)(end - start));
            line[end - start] = '\0';
            return line;
        }
    }
    fail_msg("no row \"%s\" after \"%s\" in:\n%s", name, after, text);
    return NULL;
}

static void expect_in(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("\"%s\" not in:\n%s", needle, hay);
}

static void expect_row(const char *text, const char *after, const char *name, const char *a,
                       const char *b)
{
    char *line = row(text, after, name);
    expect_in(line, a);
    if (b != NULL)
        expect_in(line, b);
    free(line);
}

/* ---- the stacks of the tests ----------------------------------------------------------------- */

static const vitte_trace_mapping map_prog = {"/usr/bin/prog", "abcd", 0x400000, 0x500000, 0};
static const vitte_trace_mapping map_foo = {"/usr/lib/libfoo.so", "", 0x7f0000, 0x7f1000, 0};

#define FR(fn, file, line, inl)                                                                    \
    {                                                                                              \
        fn, file, line, inl, 1, 0x401000, &map_prog                                                \
    }

static const vitte_trace_frame st_hot[] = {FR("hot", "/src/hot.c", 30, 0),
                                           FR("work", "/src/work.c", 12, 0),
                                           FR("main", "/src/main.c", 5, 0)};
static const vitte_trace_frame st_hot2[] = {FR("hot", "/src/hot.c", 25, 0),
                                            FR("work", "/src/work.c", 13, 0),
                                            FR("main", "/src/main.c", 5, 0)};
static const vitte_trace_frame st_cold[] = {FR("cold", "/src/cold.c", 7, 0),
                                            FR("work", "/src/work.c", 14, 0),
                                            FR("main", "/src/main.c", 5, 0)};
static const vitte_trace_frame st_rec[] = {
    FR("rec", "/src/rec.c", 9, 0), FR("rec", "/src/rec.c", 9, 0), FR("rec", "/src/rec.c", 9, 0),
    FR("worker_main", "/src/worker.c", 3, 0)};
static const vitte_trace_frame st_inl[] = {FR("mix", "/src/mix.h", 4, 1),
                                           FR("work", "/src/work.c", 20, 0),
                                           FR("main", "/src/main.c", 5, 0)};
static const vitte_trace_frame st_unsym[] = {{"libfoo.so+0x10", "", 0, 0, 0, 0x7f0010, &map_foo},
                                             FR("work", "/src/work.c", 21, 0),
                                             FR("main", "/src/main.c", 5, 0)};

/* 12 samples of 1 ms: thread 1 (prog) hot x6, cold x2, mix x1, libfoo x1;
 * thread 2 (worker) rec x2, recursive. */
static void profile_trace(fsrc *f)
{
    fs_init(f, 100);
    fs_thread(f, 1, "prog");
    fs_thread(f, 2, "worker");
    fs_kv(f, "sampler", "perf");
    fs_kv(f, "call_graph", "fp");
    fs_kv(f, "sample_freq", "1000");
    fs_kv(f, "prof_samples", "12");
    fs_kv(f, "prof_lost", "3");
    fs_kv(f, "prof_unwind_failed", "2");
    fs_kv(f, "prof_truncated", "1");
    fs_kv(f, "prof_throttled", "0");
    fs_kv(f, "prof_unknown_mappings", "0");
    fs_kv(f, "exit_status", "status 0");
    uint64_t ts = MS;
    fs_sample(f, 1, ts, MS, st_hot2, 3);
    fs_sample(f, 2, ts, MS, st_rec, 4);
    for (int i = 0; i < 5; i++)
        fs_sample(f, 1, ts += MS, MS, st_hot, 3);
    fs_sample(f, 2, ts, MS, st_rec, 4);
    fs_sample(f, 1, ts += MS, MS, st_cold, 3);
    fs_sample(f, 1, ts += MS, MS, st_cold, 3);
    fs_sample(f, 1, ts += MS, MS, st_inl, 3);
    fs_sample(f, 1, ts += MS, MS, st_unsym, 3);
}

/* ---- text --------------------------------------------------------------------------------------
 */

static void test_text_profile(void **state)
{
    (void)state;
    fsrc f;
    profile_trace(&f);
    char *s = export_fmt(&f, VITTE_TRACE_FORMAT_TEXT, VITTE_TRACE_BY_NAME);
    expect_in(s, "format 1.1");
    expect_in(s, "0 flow, 12 samples)\n");
    expect_in(s, "\nprofile (sampled call stacks)\n");
    expect_in(s, "sampler:   perf, call graph fp, 1000 Hz asked, 1000 Hz reached (12 samples in "
                 "12.00 ms of CPU time)\n");
    expect_in(s, "samples:   12, lost 3 (20.0%), incomplete stacks 3 (25.0%: 2 not unwound, 1 "
                 "truncated)\n");
    expect_in(s, "hint:      stacks stop in code built without frame pointers: rebuild with\n"
                 "           -fno-omit-frame-pointer, or record with --call-graph dwarf\n");
    expect_in(s, "program:   status 0\n");
    expect_in(s, "CPU time:  12.00 ms in 12 samples, 2 threads");
    expect_in(s, "symbols:   8.3% of the samples are in code without symbols");
    assert_null(strstr(s, "no spans"));

    /* Self: hot 6, cold 2, rec 2, mix 1, libfoo 1; functions with no self
     * time are only in the total table. */
    const char *self = "functions by self time";
    expect_row(s, self, "hot", "6.000 ms  50.0%   6.000 ms  50.0%        6", "hot.c:25");
    expect_row(s, self, "cold", "2.000 ms  16.7%", "cold.c:7");
    expect_row(s, self, "rec", "2.000 ms  16.7%   2.000 ms  16.7%        2", "rec.c:9");
    expect_row(s, self, "mix (inline)", "1.000 ms   8.3%", "mix.h:4");
    expect_row(s, self, "libfoo.so+0x10", "1.000 ms   8.3%", NULL);
    const char *tot = strstr(s, "functions by total time");
    assert_non_null(tot);
    const char *work = strstr(strstr(s, self), "  work\n");
    assert_true(work > tot);
    /* Total: work under hot, cold, mix, libfoo; rec once per sample. */
    expect_row(s, "functions by total time", "work", "0 ns   0.0%   10.00 ms  83.3%       10",
               "work.c:12");
    expect_row(s, "functions by total time", "main", "10.00 ms  83.3%       10", "main.c:5");
    expect_row(s, "functions by total time", "rec", "2.000 ms  16.7%        2", NULL);
    expect_row(s, "functions by total time", "worker_main", "2.000 ms  16.7%", NULL);
    /* The self table is sorted by self time, the total one by total. */
    assert_true(strstr(s, "  hot\n") < strstr(s, "  cold\n"));
    char *t_work = strstr(tot, "  work\n"), *t_hot = strstr(tot, "  hot\n");
    assert_non_null(t_work);
    assert_non_null(t_hot);
    assert_true(t_work < t_hot);

    expect_row(s, "threads (CPU time by thread)", "prog (tid 1)", "10   10.00 ms  83.3%", NULL);
    expect_row(s, "threads (CPU time by thread)", "worker (tid 2)", "2   2.000 ms  16.7%", NULL);
    expect_row(s, "modules (self time by module)", "prog", "11   11.00 ms  91.7%", NULL);
    expect_row(s, "modules (self time by module)", "libfoo.so", "1   1.000 ms   8.3%", NULL);
    /* Default order: functions, threads, modules. */
    assert_true(strstr(s, "functions by self") < strstr(s, "threads (CPU"));
    assert_true(strstr(s, "threads (CPU") < strstr(s, "modules (self"));
    free(s);

    /* --by thread / module: that table first. */
    s = export_fmt(&f, VITTE_TRACE_FORMAT_TEXT, VITTE_TRACE_BY_THREAD);
    assert_true(strstr(s, "threads (CPU") < strstr(s, "functions by self"));
    assert_true(strstr(s, "functions by self") < strstr(s, "modules (self"));
    free(s);
    s = export_fmt(&f, VITTE_TRACE_FORMAT_TEXT, VITTE_TRACE_BY_MODULE);
    assert_true(strstr(s, "modules (self") < strstr(s, "functions by self"));
    assert_true(strstr(s, "functions by self") < strstr(s, "threads (CPU"));
    free(s);

    /* The thread filter applies to samples. */
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.thread = "worker";
    s = export_opt(&f, &o, 1);
    expect_in(s, "CPU time:  2.000 ms in 2 samples, 1 thread,");
    expect_row(s, "functions by self time", "rec", "2.000 ms 100.0%", NULL);
    assert_null(strstr(s, "  hot\n"));
    free(s);

    /* The module filter: the leaf's module. */
    vitte_trace_export_options_init(&o);
    o.module = "libfoo.so";
    s = export_opt(&f, &o, 1);
    expect_in(s, "CPU time:  1.000 ms in 1 sample, 1 thread,");
    free(s);
    o.module = "nothing";
    s = export_opt(&f, &o, 1);
    expect_in(s, "no span, instant, counter, async event or sample passed the filters");
    expect_in(s, "\nno spans\n");
    free(s);

    /* Without sampler facts (an older or synthetic file): what the samples say. */
    s = export_opt(&f, NULL, 0);
    expect_in(s, "sampler:   unknown, 1000 Hz reached (12 samples in 12.00 ms of CPU time)\n");
    assert_null(strstr(s, "lost"));
    expect_row(s, "functions by self time", "hot", "50.0%", NULL);
    free(s);
    fs_free(&f);
}

/* Hints for the dwarf call graph, a signal sampler's rate, few incomplete
 * stacks (no hint), wall-clock samples. */
static void test_text_hints(void **state)
{
    (void)state;
    fsrc f;
    fs_init(&f, 7);
    fs_kv(&f, "sampler", "signal");
    fs_kv(&f, "call_graph", "dwarf");
    fs_kv(&f, "sample_freq", "999");
    fs_kv(&f, "prof_samples", "4");
    fs_kv(&f, "prof_truncated", "2");
    for (int i = 0; i < 4; i++)
        fs_sample(&f, 7, (uint64_t)(i + 1) * 4 * MS, 4 * MS, st_hot, 3);
    char *s = export_fmt(&f, VITTE_TRACE_FORMAT_TEXT, 0);
    expect_in(s, "signal, call graph dwarf, 999 Hz asked, 250 Hz reached (4 samples in 16.00 ms "
                 "of CPU time)\n           (CPU-time timers tick at the kernel's HZ, whatever is "
                 "asked)\n");
    expect_in(s, "incomplete stacks 2 (50.0%: 0 not unwound, 2 truncated)\n");
    expect_in(s, "hint:      stacks deeper than the copied stack are cut: record with a larger\n"
                 "           --stack-size\n");
    free(s);
    fs_free(&f);

    fs_init(&f, 7);
    fs_kv(&f, "sampler", "perf");
    fs_kv(&f, "call_graph", "fp");
    fs_kv(&f, "prof_samples", "100");
    fs_kv(&f, "prof_unwind_failed", "10");
    for (int i = 0; i < 4; i++) {
        fs_sample(&f, 7, (uint64_t)(i + 1) * MS, MS, st_cold, 3);
        f.ev[f.n - 1].sample_kind = VITTE_SAMPLE_WALL;
    }
    s = export_fmt(&f, VITTE_TRACE_FORMAT_TEXT, 0);
    expect_in(s, "incomplete stacks 10 (10.0%: 10 not unwound, 0 truncated)\n");
    assert_null(strstr(s, "hint:"));
    expect_in(s, "of wall time)\n");
    expect_in(s, "\ntime:      4.000 ms in 4 samples");
    expect_in(s, "threads (wall time by thread)");
    free(s);
    fs_free(&f);
}

/* More functions than the tables show: the rest is summed up. */
static void test_text_many_functions(void **state)
{
    (void)state;
    static char names[40][8];
    static vitte_trace_frame frames[40][2];
    fsrc f;
    fs_init(&f, 3);
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "fn%02d", i);
        frames[i][0] = (vitte_trace_frame)FR(names[i], "", 0, 0);
        frames[i][1] = (vitte_trace_frame)FR("main", "", 0, 0);
        /* fn00 has 40 samples of 1 us, fn39 one. */
        for (int k = 0; k < 40 - i; k++)
            fs_sample(&f, 3, (uint64_t)(f.n + 1) * 1000, 1000, frames[i], 2);
    }
    char *s = export_fmt(&f, VITTE_TRACE_FORMAT_TEXT, 0);
    expect_in(s, "functions by self time (top 30 of 40)\n");
    expect_in(s, "functions by total time (top 30 of 41)\n");
    /* fn30..fn39: 10+9+...+1 = 55 samples of 820. */
    expect_in(s, "\n  55.00 us   6.7%  ... 10 more functions\n");
    expect_in(s, "  fn29\n");
    assert_null(strstr(s, "  fn30\n"));
    free(s);
    fs_free(&f);
}

/* A trace of spans only: not one byte changes with the sample code in. */
static void test_text_spans_unchanged(void **state)
{
    (void)state;
    fsrc f;
    fs_init(&f, 9);
    fs_thread(&f, 1, "main");
    fs_span(&f, 1, 1, 100, 300, "child");
    fs_span(&f, 1, 0, 0, 1000, "parent");
    fs_kv(&f, "sampler", "perf"); /* even so: no samples, no profile */
    for (int fmt = VITTE_TRACE_FORMAT_TEXT; fmt <= VITTE_TRACE_FORMAT_CHROME; fmt++) {
        vitte_trace_export_options o;
        vitte_trace_export_options_init(&o);
        o.format = (vitte_trace_format)fmt;
        char *with = export_opt(&f, &o, 1), *without = export_opt(&f, &o, 0);
        if (fmt == VITTE_TRACE_FORMAT_TEXT) {
            assert_string_equal(with, without);
            expect_in(with, "(2 spans, 0 instants, 0 counter values, 0 async, 0 flow)\n");
            assert_null(strstr(with, "profile"));
            assert_null(strstr(with, "samples"));
        } else {
            /* Chrome: the sampler's facts go to otherData, nothing else. */
            const char *a = strstr(with, "\"otherData\""), *b = strstr(without, "\"otherData\"");
            assert_non_null(a);
            assert_non_null(b);
            assert_int_equal(a - with, b - without);
            assert_memory_equal(with, without, (size_t)(a - with));
            assert_null(strstr(without, "\"sampler\""));
            expect_in(with, "\"sampler\":{\"sampler\":\"perf\"");
            assert_null(strstr(with, "\"sample_weight_ns\""));
        }
        free(with);
        free(without);
    }
    fs_free(&f);
}

/* ---- chrome ------------------------------------------------------------------------------------
 */

typedef struct pair {
    char name[32];
    uint32_t tid;
    int64_t b, e; /* ns */
    size_t order;
} pair;

static int64_t parse_us(const char *p)
{
    char *end;
    long long us = strtoll(p, &end, 10);
    assert_true(*end == '.');
    long long frac = strtoll(end + 1, NULL, 10);
    return (int64_t)us * 1000 + (us < 0 || p[0] == '-' ? -frac : frac);
}

/* The B/E pairs of the export (each B followed by its E). */
static size_t pairs_of(const char *json, pair *out, size_t max)
{
    size_t n = 0;
    for (const char *p = strstr(json, "{\"ph\":\"B\""); p != NULL;
         p = strstr(p + 1, "{\"ph\":\"B\"")) {
        assert_true(n < max);
        pair *x = &out[n];
        const char *nm = strstr(p, "\"name\":\"") + 8;
        size_t len = (size_t)(strchr(nm, '"') - nm);
        assert_true(len < sizeof x->name);
        memcpy(x->name, nm, len);
        x->name[len] = '\0';
        x->b = parse_us(strstr(p, "\"ts\":") + 5);
        x->tid = (uint32_t)strtoul(strstr(p, "\"tid\":") + 6, NULL, 10);
        const char *e = strchr(p, '\n');
        assert_non_null(e);
        assert_memory_equal(e + 1, "{\"ph\":\"E\"", 9);
        x->e = parse_us(strstr(e, "\"ts\":") + 5);
        assert_true(x->e >= x->b);
        x->order = n;
        n++;
    }
    return n;
}

static const pair *find_pair(const pair *p, size_t n, uint32_t tid, const char *name, int64_t b)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].tid == tid && p[i].b == b && strcmp(p[i].name, name) == 0)
            return &p[i];
    fail_msg("no pair %s at %lld on tid %u", name, (long long)b, tid);
    return NULL;
}

static int cmp_start(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return x->order < y->order ? -1 : 1;
}

/* As speedscope reads them: per track, by start then file order, each pair
 * must nest in the one still open before it. */
static void expect_nested(pair *p, size_t n)
{
    qsort(p, n, sizeof *p, cmp_start);
    const pair *stack[256];
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && p[i].tid != p[i - 1].tid)
            depth = 0;
        while (depth > 0 && stack[depth - 1]->e <= p[i].b && stack[depth - 1]->b < p[i].b)
            depth--;
        if (depth > 0 && p[i].e > stack[depth - 1]->e)
            fail_msg("%s [%lld, %lld] overlaps %s [%lld, %lld] on tid %u", p[i].name,
                     (long long)p[i].b, (long long)p[i].e, stack[depth - 1]->name,
                     (long long)stack[depth - 1]->b, (long long)stack[depth - 1]->e, p[i].tid);
        assert_true(depth < 256);
        stack[depth++] = &p[i];
    }
}

/* The time of name on track tid, nested instances counted once (as the
 * text's totals and speedscope's). */
static int64_t track_total(const pair *p, size_t n, uint32_t tid, const char *name)
{
    int64_t sum = 0, open_end = INT64_MIN;
    /* p is sorted by start (expect_nested). */
    for (size_t i = 0; i < n; i++) {
        if (p[i].tid != tid || strcmp(p[i].name, name) != 0)
            continue;
        if (p[i].b >= open_end) {
            sum += p[i].e - p[i].b;
            open_end = p[i].e;
        } else if (p[i].e > open_end) {
            sum += p[i].e - open_end;
            open_end = p[i].e;
        }
    }
    return sum;
}

static const vitte_trace_frame st_ab[] = {FR("B", "", 0, 0), FR("A", "", 0, 0)};
static const vitte_trace_frame st_ac[] = {FR("C", "", 0, 0), FR("A", "", 0, 0)};

static void test_chrome_layout(void **state)
{
    (void)state;
    fsrc f;
    fs_init(&f, 100);
    fs_thread(&f, 1, "main");
    fs_kv(&f, "sampler", "perf");
    fs_kv(&f, "call_graph", "dwarf");
    fs_kv(&f, "sample_freq", "1000");
    fs_kv(&f, "prof_samples", "8");
    /* Thread 1: [0,1] A>B, [1,2] A>B, taken at 3.5 ms: starts at 2 (a gap of
     * at most its weight), A>C; taken at 3.9 ms: overlaps, starts at 3, A>C;
     * then 5 ms of nothing: everything closes at 4; A>B at [9,10]. */
    fs_sample(&f, 1, 1 * MS, MS, st_ab, 2);
    fs_sample(&f, 1, 2 * MS, MS, st_ab, 2);
    fs_span(&f, 1, 0, 0, 5 * MS, "span"); /* on the thread's own track */
    fs_sample(&f, 1, 3500000, MS, st_ac, 2);
    fs_sample(&f, 1, 3900000, MS, st_ac, 2);
    fs_sample(&f, 1, 10 * MS, MS, st_ab, 2);
    fs_sample(&f, 1, 10 * MS, 0, st_ac, 2); /* no weight: counted, not drawn */
    /* Thread 2: recursion, and a first sample taken before its weight. */
    fs_sample(&f, 2, MS / 2, MS, st_rec, 4);
    fs_sample(&f, 2, MS / 2 + MS, MS, st_rec, 4);
    char *s = export_fmt(&f, VITTE_TRACE_FORMAT_CHROME, 0);
    expect_valid_json(s);

    pair p[64];
    size_t n = pairs_of(s, p, 64);
    uint32_t t1 = 1 + TRACK, t2 = 2 + TRACK;
    /* Before a gap and at the end, a frame ends 1 ns after the frame it
     * holds (so A, holding C, ends at 4 ms + 1 ns): DevTools' trace engine
     * needs the tie broken (see close_frames()). */
    assert_int_equal(find_pair(p, n, t1, "A", 0)->e, 4 * MS + 1);
    assert_int_equal(find_pair(p, n, t1, "B", 0)->e, 2 * MS);
    assert_int_equal(find_pair(p, n, t1, "C", 2 * MS)->e, 4 * MS);
    assert_int_equal(find_pair(p, n, t1, "A", 9 * MS)->e, 10 * MS + 1);
    assert_int_equal(find_pair(p, n, t1, "B", 9 * MS)->e, 10 * MS);
    assert_int_equal(find_pair(p, n, 1, "span", 0)->e, 5 * MS);
    /* Clamped at the timeline's start, still 1 ms long. */
    assert_int_equal(find_pair(p, n, t2, "worker_main", 0)->e, 2 * MS + 3);
    assert_int_equal(find_pair(p, n, t2, "rec", 0)->e, 2 * MS + 2);
    assert_int_equal(n, 5 + 1 + 4);
    expect_nested(p, n);
    assert_int_equal(track_total(p, n, t1, "A"), 5 * MS + 2);
    assert_int_equal(track_total(p, n, t1, "B"), 3 * MS);
    assert_int_equal(track_total(p, n, t1, "C"), 2 * MS);
    assert_int_equal(track_total(p, n, t2, "rec"), 2 * MS + 2);

    /* Names of the tracks, and the facts. */
    expect_in(s, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":100,\"tid\":1073741825,"
                 "\"args\":{\"name\":\"main (CPU samples)\"}}");
    expect_in(s, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":100,\"tid\":1073741826,"
                 "\"args\":{\"name\":\"tid 2 (CPU samples)\"}}");
    expect_in(s, "\"samples\":8,\"sample_weight_ns\":7000000,\"sample_tid_offset\":1073741824");
    expect_in(s, "\"sampler\":{\"sampler\":\"perf\",\"call_graph\":\"dwarf\",\"sample_freq\":1000,"
                 "\"samples\":8,\"lost\":0,");
    /* Frames carry their module as cat, and no args (speedscope would
     * split a function by its args). */
    expect_in(s, "{\"ph\":\"B\",\"name\":\"A\",\"cat\":\"prog\",\"ts\":0.000,\"pid\":100,"
                 "\"tid\":1073741825}");
    free(s);
    fs_free(&f);
}

/* The Chrome tracks hold, per function, what the text's total column says. */
static void test_chrome_matches_text(void **state)
{
    (void)state;
    fsrc f;
    profile_trace(&f);
    char *s = export_fmt(&f, VITTE_TRACE_FORMAT_CHROME, 0);
    expect_valid_json(s);
    pair p[128];
    size_t n = pairs_of(s, p, 128);
    expect_nested(p, n);
    static const struct {
        const char *name;
        int64_t total;
    } want[] = {{"main", 10 * MS}, {"work", 10 * MS},        {"hot", 6 * MS},
                {"cold", 2 * MS},  {"mix (inline)", 1 * MS}, {"libfoo.so+0x10", 1 * MS},
                {"rec", 2 * MS},   {"worker_main", 2 * MS}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int64_t sum =
            track_total(p, n, 1 + TRACK, want[i].name) + track_total(p, n, 2 + TRACK, want[i].name);
        /* + 1 ns per level above the innermost frame at each full close */
        if (sum < want[i].total || sum > want[i].total + 8)
            fail_msg("%s: %lld ns on the tracks, %lld in the samples", want[i].name, (long long)sum,
                     (long long)want[i].total);
    }
    /* The libfoo frame has its module as cat. */
    expect_in(s, "\"name\":\"libfoo.so+0x10\",\"cat\":\"libfoo.so\"");
    free(s);
    fs_free(&f);
}

/* Random stacks over a small tree of functions, random gaps and jitter:
 * the tracks always nest, and hold exactly the weights. */
static void test_chrome_random(void **state)
{
    (void)state;
    static vitte_trace_frame pool[8][6];
    static const char *const names[] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};
    fsrc f;
    fs_init(&f, 5);
    uint64_t seed = 12345;
    uint64_t ts[3] = {0, 0, 0};
    for (int k = 0; k < 8; k++) {
        /* Stack k: depth 1..6, names by (k, level) from a small set. */
        for (int d = 0; d < 6; d++)
            pool[k][d] = (vitte_trace_frame){
                names[(k * 3 + d * 5) % 8 < 4 ? d : (k + d) % 8], "", 0, 0, 1, 0, &map_prog};
    }
    int depth_of[8];
    for (int k = 0; k < 8; k++)
        depth_of[k] = 1 + k % 6;
    for (int i = 0; i < 3000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(seed >> 33);
        uint32_t tid = 1 + r % 3;
        int k = (int)(r >> 3) % 8;
        uint64_t w = 1000 + (r >> 8) % 3000;
        uint64_t gap = (r >> 12) % 4 == 0 ? (r >> 14) % 10000 : 0;
        uint64_t jitter = (r >> 16) % 3 == 0 ? (r >> 18) % 500 : 0;
        ts[tid - 1] += w + gap;
        fs_sample(&f, tid, ts[tid - 1] > jitter ? ts[tid - 1] - jitter : 0, w, pool[k],
                  (size_t)depth_of[k]);
    }
    char *s = export_fmt(&f, VITTE_TRACE_FORMAT_CHROME, 0);
    size_t cap = 40000;
    pair *p = malloc(cap * sizeof *p);
    assert_non_null(p);
    size_t n = pairs_of(s, p, cap);
    expect_nested(p, n);
    /* Per leaf-to-root stack, the text's totals equal the tracks'. */
    char *t = export_fmt(&f, VITTE_TRACE_FORMAT_TEXT, 0);
    for (int k = 0; k < 8; k++) {
        const char *name = names[k];
        int64_t sum = 0;
        for (uint32_t tid = 1; tid <= 3; tid++)
            sum += track_total(p, n, tid + TRACK, name);
        /* The text's total, in its 4 significant digits. */
        const char *tot = strstr(t, "functions by total time");
        assert_non_null(tot);
        char pat[32];
        snprintf(pat, sizeof pat, "  %s\n", name);
        const char *line = strstr(tot, pat);
        if (line == NULL) {
            assert_int_equal(sum, 0);
            continue;
        }
        while (line > tot && line[-1] != '\n')
            line--;
        double self, total;
        char u1[8], u2[8];
        assert_int_equal(sscanf(line, "%lf %7s %*s %lf %7s", &self, u1, &total, u2), 4);
        double scale = strcmp(u2, "ms") == 0   ? 1e6
                       : strcmp(u2, "us") == 0 ? 1e3
                       : strcmp(u2, "ns") == 0 ? 1
                                               : 1e9;
        double want = total * scale;
        if (fabs(want - (double)sum) > want * 0.0006)
            fail_msg("%s: %lld ns on the tracks, text says %s", name, (long long)sum, line);
    }
    free(t);
    free(p);
    free(s);
    fs_free(&f);
}

/* ---- memory ---------------------------------------------------------------------------------- */

/* An endless stream of samples over 16 distinct stacks, 2 threads. */
typedef struct gen {
    uint64_t n, pos;
    vitte_trace_event ev;
    vitte_trace_frame frames[16][24];
    char names[32][16];
    vitte_trace_thread threads[2];
} gen;

static int gen_open(void *ctx, vitte_diag *diag)
{
    (void)diag;
    ((gen *)ctx)->pos = 0;
    return VITTE_OK;
}

static int gen_next(void *ctx, const vitte_trace_event **ev, vitte_diag *diag)
{
    (void)diag;
    gen *g = ctx;
    if (g->pos >= g->n)
        return 0;
    uint64_t i = g->pos++;
    vitte_trace_event *e = &g->ev;
    int k = (int)((i * 7) % 16);
    e->type = VITTE_EVENT_SAMPLE;
    e->tid = 10 + (uint32_t)(i % 2);
    e->ts_ns = START_NS + (i / 2 + 1) * 1000;
    e->dur_ns = 1000;
    e->frames = g->frames[k];
    e->n_frames = 8 + (size_t)k;
    e->name = g->frames[k][0].function;
    *ev = e;
    return 1;
}

static int gen_info(void *ctx, vitte_trace_file_info *out)
{
    gen *g = ctx;
    memset(out, 0, sizeof *out);
    out->version_major = 1;
    out->pid = 1;
    out->process_name = "gen";
    out->clock = "TSC";
    out->start_ns = START_NS;
    out->end_ns = START_NS + (g->n / 2 + 1) * 1000;
    out->events = g->pos;
    out->complete = 1;
    return VITTE_OK;
}

static const vitte_trace_thread *gen_threads(void *ctx, size_t *n)
{
    *n = 2;
    return ((gen *)ctx)->threads;
}

static const vitte__xsource_ops gen_ops = {gen_open, gen_next, gen_info, gen_threads, fs_close};

static size_t heap_now, heap_peak;

static void *count_malloc(size_t size, void *ud)
{
    (void)ud;
    void *p = malloc(size);
    if (p != NULL) {
        heap_now += malloc_usable_size(p);
        if (heap_now > heap_peak)
            heap_peak = heap_now;
    }
    return p;
}

static void *count_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    size_t old = ptr != NULL ? malloc_usable_size(ptr) : 0;
    void *p = realloc(ptr, size);
    if (p != NULL) {
        heap_now += malloc_usable_size(p) - old;
        if (heap_now > heap_peak)
            heap_peak = heap_now;
    }
    return p;
}

static void count_free(void *ptr, void *ud)
{
    (void)ud;
    if (ptr != NULL)
        heap_now -= malloc_usable_size(ptr);
    free(ptr);
}

static size_t peak_of(uint64_t n, vitte_trace_format fmt)
{
    gen *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->n = n;
    g->ev.module = g->ev.tags = g->ev.file = "";
    for (int i = 0; i < 32; i++)
        snprintf(g->names[i], sizeof g->names[i], "function_%02d", i);
    for (int k = 0; k < 16; k++)
        for (int d = 0; d < 24; d++)
            g->frames[k][d] = (vitte_trace_frame){
                g->names[(k + d * 3) % 32], "/src/gen.c", (uint32_t)(10 + d), 0, 1, 0, &map_prog};
    g->threads[0] = (vitte_trace_thread){1, 10, "a", 0, 0};
    g->threads[1] = (vitte_trace_thread){1, 11, "b", 0, 0};
    vitte__xsource src = {&gen_ops, g, "gen"};
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    vitte__buf b;
    vitte__buf_init_file(&b, devnull);
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = fmt;
    static const vitte_allocator counting = {count_malloc, count_realloc, count_free, NULL};
    heap_now = heap_peak = 0;
    vitte_set_allocator(&counting);
    vitte_diag d;
    int rc = vitte__export_trace_run(&src, 1, &o, &b, &d);
    vitte__buf_flush(&b);
    vitte_set_allocator(NULL);
    assert_int_equal(rc, VITTE_OK);
    vitte__buf_free(&b);
    fclose(devnull);
    free(g);
    return heap_peak;
}

static void test_memory_bounded(void **state)
{
    (void)state;
    for (int fmt = VITTE_TRACE_FORMAT_TEXT; fmt <= VITTE_TRACE_FORMAT_CHROME; fmt++) {
        size_t small = peak_of(20000, (vitte_trace_format)fmt);
        size_t big = peak_of(400000, (vitte_trace_format)fmt);
        print_message("%s: heap peak %.1f KiB for 20000 samples, %.1f KiB for 400000\n",
                      vitte_trace_format_name((vitte_trace_format)fmt), (double)small / 1024,
                      (double)big / 1024);
        assert_true(big < small + 16384);
        assert_true(big < 1024 * 1024);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_profile),        cmocka_unit_test(test_text_hints),
        cmocka_unit_test(test_text_many_functions), cmocka_unit_test(test_text_spans_unchanged),
        cmocka_unit_test(test_chrome_layout),       cmocka_unit_test(test_chrome_matches_text),
        cmocka_unit_test(test_chrome_random),       cmocka_unit_test(test_memory_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
