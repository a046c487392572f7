/* Trace exporters, on synthetic events: the driver (filters, clock alignment,
 * self time, errors) and every sink (text, Chrome JSON, folded, SVG, JSON,
 * CSV), through the internal source and sink interfaces, with no .vittrace
 * file involved.
 *
 * Where a real consumer is installed it checks the output too: python3 parses
 * the JSON, xmllint the SVG (skipped, with a note, when missing).
 *
 * VITTE_EXPORT_BENCH=N (events, e.g. 20000000) adds a throughput run of the
 * Chrome export and a memory check of the text summary on a big stream. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <vitte/vitte.h>

#include "common/textbuf.h"
#include "export/export_trace.h"

/* ---- a synthetic source ------------------------------------------------------------------ */

#define START_NS 1000000000ull /* the file's start_ns: timeline 0 */

typedef struct mem_source {
    vitte_trace_event *ev;
    size_t n, cap, pos;
    vitte_trace_file_info info;
    vitte_trace_thread threads[8];
    size_t n_threads;
    int open_error;  /* open() fails with it */
    size_t error_at; /* next() fails when pos reaches it (SIZE_MAX: never) */
    int error_code;
    /* Thread names appear only once every event was read, as when a
     * THREAD chunk comes after a thread's first events. */
    int names_late;
    const char *late_names[8];
    int opens;
} mem_source;

static void ms_init(mem_source *m, uint32_t pid)
{
    memset(m, 0, sizeof *m);
    m->info.version_major = 1;
    m->info.pid = pid;
    m->info.process_name = "proc";
    m->info.clock = "CLOCK_MONOTONIC";
    m->info.start_ns = START_NS;
    m->info.start_realtime_ns = 1700000000000000000ll;
    m->info.complete = 1;
    m->error_at = SIZE_MAX;
}

static void ms_free(mem_source *m)
{
    free(m->ev);
}

static vitte_trace_event *ms_add(mem_source *m, vitte_trace_event_type type, uint32_t tid,
                                 uint64_t ts_rel, const char *name)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->ev = realloc(m->ev, m->cap * sizeof *m->ev);
        assert_non_null(m->ev);
    }
    vitte_trace_event *e = &m->ev[m->n++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->pid = m->info.pid;
    e->tid = tid;
    e->ts_ns = START_NS + ts_rel;
    e->name = name;
    e->module = "";
    e->tags = "";
    e->file = "";
    if (m->info.end_ns < e->ts_ns)
        m->info.end_ns = e->ts_ns;
    return e;
}

/* A span [start, start + dur) at depth: add them in end order, as a tracer
 * records them. */
static vitte_trace_event *ms_span(mem_source *m, uint32_t tid, uint32_t depth, uint64_t start,
                                  uint64_t dur, const char *name)
{
    vitte_trace_event *e = ms_add(m, VITTE_EVENT_SPAN, tid, start, name);
    e->depth = depth;
    e->dur_ns = dur;
    if (m->info.end_ns < e->ts_ns + dur)
        m->info.end_ns = e->ts_ns + dur;
    return e;
}

static void ms_thread(mem_source *m, uint32_t tid, const char *name)
{
    m->threads[m->n_threads++] = (vitte_trace_thread){m->info.pid, tid, name, 0, 0};
}

static int ms_open(void *ctx, vitte_diag *diag)
{
    mem_source *m = ctx;
    m->opens++;
    if (m->open_error != 0) {
        diag->status = m->open_error;
        diag->offset = 0;
        snprintf(diag->message, sizeof diag->message, "not a vitte trace");
        return m->open_error;
    }
    m->pos = 0;
    return VITTE_OK;
}

static int ms_next(void *ctx, const vitte_trace_event **ev, vitte_diag *diag)
{
    mem_source *m = ctx;
    if (m->pos == m->error_at) {
        diag->status = m->error_code;
        diag->offset = 4242;
        snprintf(diag->message, sizeof diag->message, "chunk cut short");
        return m->error_code;
    }
    if (m->pos >= m->n)
        return 0;
    *ev = &m->ev[m->pos++];
    return 1;
}

static int ms_info(void *ctx, vitte_trace_file_info *out)
{
    mem_source *m = ctx;
    *out = m->info;
    out->events = m->pos;
    return VITTE_OK;
}

static const vitte_trace_thread *ms_threads(void *ctx, size_t *n)
{
    mem_source *m = ctx;
    if (m->names_late) {
        for (size_t i = 0; i < m->n_threads; i++)
            m->threads[i].name = m->pos >= m->n ? m->late_names[i] : "";
    }
    *n = m->n_threads;
    return m->threads;
}

static void ms_close(void *ctx)
{
    (void)ctx;
}

static const vitte__xsource_ops ms_ops = {ms_open, ms_next, ms_info, ms_threads, ms_close};

/* Export the sources; returns the text (free()) and the status. */
static char *run_export(mem_source **ms, size_t n, const vitte_trace_export_options *opt, int *rc,
                        vitte_diag *diag)
{
    vitte__xsource src[8];
    static const char *const paths[] = {"a.vittrace", "b.vittrace", "c.vittrace"};
    for (size_t i = 0; i < n; i++)
        src[i] = (vitte__xsource){&ms_ops, ms[i], paths[i % 3]};
    vitte__buf b;
    vitte__buf_init_libc(&b);
    vitte_diag d;
    *rc = vitte__export_trace_run(src, n, opt, &b, diag != NULL ? diag : &d);
    char *s = vitte__buf_detach(&b, NULL);
    assert_non_null(s);
    return s;
}

static char *export1(mem_source *m, vitte_trace_format fmt, int *rc)
{
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = fmt;
    return run_export(&m, 1, &o, rc, NULL);
}

/* The value of the folded line for path ("a;b;c"), -1 if absent. */
static long long folded_value(const char *text, const char *path)
{
    size_t n = strlen(path);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, path, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static unsigned long long folded_sum(const char *text, size_t *lines)
{
    unsigned long long sum = 0;
    *lines = 0;
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        const char *sp = nl;
        while (sp > p && sp[-1] != ' ')
            sp--;
        assert_true(sp > p);
        sum += strtoull(sp, NULL, 10);
        (*lines)++;
        p = nl + 1;
    }
    return sum;
}

static int have_tool(const char *cmd)
{
    char buf[256];
    snprintf(buf, sizeof buf, "command -v %s >/dev/null 2>&1", cmd);
    return system(buf) == 0;
}

/* Run a shell command on text written to a temporary file ({} in cmd). */
static int check_with(const char *text, const char *cmd_fmt)
{
    char path[] = "/tmp/vitte-test-export-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, cmd_fmt, path);
    int rc = system(cmd);
    unlink(path);
    return rc;
}

static void expect_valid_json(const char *text)
{
    if (!have_tool("python3")) {
        print_message("note: python3 missing, JSON not parsed\n");
        return;
    }
    int rc = check_with(text, "python3 -c 'import json,sys; json.load(open(sys.argv[1], "
                              "encoding=\"utf-8\"))' %s");
    if (rc != 0)
        fail_msg("not valid JSON:\n%.2000s", text);
}

static void expect_valid_xml(const char *text)
{
    if (!have_tool("xmllint")) {
        print_message("note: xmllint missing, SVG not checked\n");
        return;
    }
    int rc = check_with(text, "xmllint --noout %s");
    if (rc != 0)
        fail_msg("not well-formed XML:\n%.3000s", text);
}

/* A small nested trace on one thread (times in ns from the start):
 *   main [0, 1000)
 *     a [100, 400)        b [150, 250) inside
 *     c [500, 900)        b [600, 700) inside
 * Self: main 300, a 200, b 100 + 100, c 300. */
static void nested_trace(mem_source *m, uint32_t tid)
{
    ms_span(m, tid, 2, 150, 100, "b");
    ms_span(m, tid, 1, 100, 300, "a");
    ms_span(m, tid, 2, 600, 100, "b");
    ms_span(m, tid, 1, 500, 400, "c");
    ms_span(m, tid, 0, 0, 1000, "main");
}

static size_t count(const char *s, const char *needle);

/* ---- formatting ---------------------------------------------------------------------------- */

static void test_us_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ns;
        const char *s;
    } cases[] = {{0, "0.000"},
                 {1, "0.001"},
                 {999, "0.999"},
                 {1000, "1.000"},
                 {1234567, "1234.567"},
                 {100010, "100.010"},
                 {-1, "-0.001"},
                 {-1500, "-1.500"},
                 {INT64_MAX, "9223372036854775.807"},
                 {INT64_MIN, "-9223372036854775.808"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vitte__buf b;
        vitte__buf_init_libc(&b);
        vitte__export_put_us(&b, cases[i].ns);
        char *s = vitte__buf_detach(&b, NULL);
        assert_string_equal(s, cases[i].s);
        free(s);
    }
    /* Every ns value round-trips exactly through the text. */
    for (int64_t ns = 0; ns < 3000000; ns += 7919) {
        vitte__buf b;
        vitte__buf_init_libc(&b);
        vitte__export_put_us(&b, ns);
        char *s = vitte__buf_detach(&b, NULL);
        char *dot = strchr(s, '.');
        assert_non_null(dot);
        assert_int_equal(strlen(dot + 1), 3);
        int64_t back = strtoll(s, NULL, 10) * 1000 + strtoll(dot + 1, NULL, 10);
        assert_int_equal(back, ns);
        free(s);
    }
}

static void test_fmt_dur(void **state)
{
    (void)state;
    char buf[24];
    vitte__export_fmt_dur(buf, sizeof buf, 950);
    assert_string_equal(buf, "950 ns");
    vitte__export_fmt_dur(buf, sizeof buf, 12345);
    assert_string_equal(buf, "12.35 us");
    vitte__export_fmt_dur(buf, sizeof buf, 999999);
    assert_string_equal(buf, "1.000 ms");
    vitte__export_fmt_dur(buf, sizeof buf, 1234000000);
    assert_string_equal(buf, "1.234 s");
    vitte__export_fmt_dur(buf, sizeof buf, 4000000000000ull);
    assert_string_equal(buf, "4000 s");
}

static void test_xmap(void **state)
{
    (void)state;
    vitte__xmap m;
    vitte__xmap_init(&m);
    for (uint64_t k = 0; k < 10000; k++) {
        int created;
        uint64_t *v = vitte__xmap_upsert(&m, k * 0x100000001ull, &created);
        assert_non_null(v);
        assert_true(created);
        *v = k + 1;
    }
    for (uint64_t k = 0; k < 10000; k++) {
        uint64_t *v = vitte__xmap_find(&m, k * 0x100000001ull);
        assert_non_null(v);
        assert_int_equal(*v, k + 1);
        assert_int_equal(m.keys[k], k * 0x100000001ull); /* insertion order */
    }
    assert_null(vitte__xmap_find(&m, 3));
    vitte__xmap_clear(&m);
    assert_int_equal(m.n, 0);
    assert_null(vitte__xmap_find(&m, 0x100000001ull));
    uint64_t *v = vitte__xmap_upsert(&m, 5, NULL);
    *v = 9;
    assert_int_equal(*vitte__xmap_find(&m, 5), 9);
    vitte__xmap_fini(&m);
}

/* ---- folded ---------------------------------------------------------------------------------- */

static void test_folded_nesting(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 100);
    nested_trace(&m, 1);
    nested_trace(&m, 2); /* a second thread with the same stacks: merged by default */
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_FOLDED, &rc);
    assert_int_equal(rc, VITTE_OK);
    assert_int_equal(folded_value(s, "main"), 600);
    assert_int_equal(folded_value(s, "main;a"), 400);
    assert_int_equal(folded_value(s, "main;a;b"), 200);
    assert_int_equal(folded_value(s, "main;c"), 600);
    assert_int_equal(folded_value(s, "main;c;b"), 200);
    size_t lines;
    assert_int_equal(folded_sum(s, &lines), 2000); /* = the root durations, exactly */
    assert_int_equal(lines, 5);
    /* Sorted, so the output does not depend on thread order. */
    assert_string_equal(s, "main 600\nmain;a 400\nmain;a;b 200\nmain;c 600\nmain;c;b 200\n");
    free(s);

    /* Per thread: a root frame per thread, named when the thread is. */
    ms_thread(&m, 1, "worker");
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_FOLDED;
    o.per_thread = 1;
    mem_source *p = &m;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_OK);
    assert_int_equal(folded_value(s, "worker (tid 1);main;a;b"), 100);
    assert_int_equal(folded_value(s, "tid 2;main;c"), 300);
    assert_int_equal(folded_sum(s, &lines), 2000);
    assert_int_equal(lines, 10);
    free(s);
    ms_free(&m);
}

static void test_folded_deep_and_random(void **state)
{
    (void)state;
    /* Random trees: the folded sum must equal the sum of root durations
     * exactly, and each line the self time of its path. */
    mem_source m;
    ms_init(&m, 1);
    uint64_t rng = 12345, roots = 0, t = 0;
    static const char *const names[] = {"f", "g", "h", "k"};
    /* Emit a subtree in end order: children first. */
    struct frame {
        uint64_t start, dur;
        uint32_t depth;
        int kids_left;
        uint64_t cursor;
        const char *name;
    } stack[64];
    for (int tree = 0; tree < 200; tree++) {
        int sp = 0;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t dur = 1000 + (rng >> 40) % 100000;
        stack[sp++] = (struct frame){t, dur, 0, (int)((rng >> 20) % 4), t, names[(rng >> 8) % 4]};
        roots += dur;
        while (sp > 0) {
            struct frame *f = &stack[sp - 1];
            uint64_t room = f->start + f->dur - f->cursor;
            if (f->kids_left > 0 && sp < 60 && room > 8) {
                f->kids_left--;
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                uint64_t cd = 1 + (rng >> 33) % (room / 2);
                uint64_t cs = f->cursor + (rng >> 50) % (room - cd + 1) / 2;
                f->cursor = cs + cd;
                stack[sp] = (struct frame){
                    cs, cd, f->depth + 1, (int)((rng >> 24) % 4), cs, names[(rng >> 12) % 4]};
                sp++;
            } else {
                ms_span(&m, 7, f->depth, f->start, f->dur, f->name);
                sp--;
            }
        }
        t += dur + 10;
    }
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_FOLDED, &rc);
    assert_int_equal(rc, VITTE_OK);
    size_t lines;
    assert_int_equal(folded_sum(s, &lines), roots);
    assert_true(lines > 20);
    free(s);

    /* A 2000-deep chain (the folded text grows with depth squared). */
    mem_source d;
    ms_init(&d, 1);
    for (uint32_t k = 2000; k-- > 0;)
        ms_span(&d, 1, k, k, 2 * (2000 - k), k % 2 ? "odd" : "even");
    s = export1(&d, VITTE_TRACE_FORMAT_FOLDED, &rc);
    assert_int_equal(rc, VITTE_OK);
    assert_int_equal(folded_sum(s, &lines), 4000);
    assert_int_equal(lines, 2000);
    free(s);
    s = export1(&d, VITTE_TRACE_FORMAT_SVG, &rc);
    assert_int_equal(rc, VITTE_OK);
    free(s);

    /* An impossible depth (damage) is left out, not allocated for. */
    ms_span(&d, 1, 4000000000u, 0, 5, "deep");
    s = export1(&d, VITTE_TRACE_FORMAT_TEXT, &rc);
    assert_int_equal(rc, VITTE_OK);
    assert_non_null(strstr(s, "1 spans with a depth of 2^16 or more were left out"));
    free(s);
    ms_free(&m);
    ms_free(&d);
}

static void test_folded_filters_transparent(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 1);
    nested_trace(&m, 1);
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_FOLDED;
    o.min_duration_ns = 350; /* drops a (300) and both b (100): their time goes up */
    mem_source *p = &m;
    int rc;
    char *s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_OK);
    assert_string_equal(s, "main 600\nmain;c 400\n");
    free(s);

    /* Dropping the root: its children become roots. */
    m.ev[4].module = "boot";
    o.min_duration_ns = 0;
    o.module = "-boot";
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_OK);
    assert_string_equal(s, "a 200\na;b 100\nc 300\nc;b 100\n");
    free(s);
    ms_free(&m);
}

static void test_folded_orphans(void **state)
{
    (void)state;
    /* The root never ended (a crashed program): its children are kept as
     * roots and the export says so. */
    mem_source m;
    ms_init(&m, 1);
    ms_span(&m, 1, 2, 150, 100, "b");
    ms_span(&m, 1, 1, 100, 300, "a");
    int rc;
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_FOLDED;
    mem_source *p = &m;
    char *s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_OK);
    assert_string_equal(s, "a 200\na;b 100\n");
    free(s);
    s = export1(&m, VITTE_TRACE_FORMAT_TEXT, &rc);
    assert_non_null(strstr(s, "1 spans have no parent"));
    free(s);
    ms_free(&m);
}

/* ---- Chrome ---------------------------------------------------------------------------------- */

static void test_chrome_basic(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 4321);
    nested_trace(&m, 11);
    m.ev[1].module = "io";
    vitte_trace_arg args[3] = {{"bytes", VITTE_ARG_INT, -4096, 0, NULL},
                               {"ratio", VITTE_ARG_DOUBLE, 0, 0.25, NULL},
                               {"path", VITTE_ARG_STRING, 0, 0, "/tmp/x"}};
    m.ev[1].args = args;
    m.ev[1].n_args = 3;
    m.ev[1].tags = "hot,disk";
    vitte_trace_event *e = ms_add(&m, VITTE_EVENT_INSTANT, 11, 1234567, "tick");
    e = ms_add(&m, VITTE_EVENT_COUNTER, 11, 2000, "queue");
    e->value = 12.5;
    e = ms_add(&m, VITTE_EVENT_COUNTER, 11, 2001, "nan");
    e->value = NAN;
    e = ms_add(&m, VITTE_EVENT_ASYNC_BEGIN, 11, 3000, "request");
    e->id = 0xabcdef;
    e = ms_add(&m, VITTE_EVENT_ASYNC_END, 12, 4000, "request");
    e->id = 0xabcdef;
    ms_thread(&m, 11, "main");
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_CHROME, &rc);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_json(s);
    assert_true(strncmp(s, "{\"traceEvents\":[", 16) == 0);
    /* Spans as B/E pairs, args on both (speedscope keys frames by them). */
    assert_non_null(strstr(s, "{\"ph\":\"B\",\"name\":\"main\",\"cat\":\"\",\"ts\":0.000,\"pid\":"
                              "4321,\"tid\":11}"));
    assert_non_null(strstr(s, "{\"ph\":\"E\",\"name\":\"main\",\"cat\":\"\",\"ts\":1.000,\"pid\":"
                              "4321,\"tid\":11}"));
    static const char a_args[] = ",\"args\":{\"bytes\":-4096,\"ratio\":0.25,\"path\":\"/tmp/x\","
                                 "\"tags\":\"hot,disk\"}}";
    char want[512];
    snprintf(want, sizeof want,
             "{\"ph\":\"B\",\"name\":\"a\",\"cat\":\"io\",\"ts\":0.100,"
             "\"pid\":4321,\"tid\":11%s",
             a_args);
    assert_non_null(strstr(s, want));
    snprintf(want, sizeof want,
             "{\"ph\":\"E\",\"name\":\"a\",\"cat\":\"io\",\"ts\":0.400,"
             "\"pid\":4321,\"tid\":11%s",
             a_args);
    assert_non_null(strstr(s, want));
    assert_int_equal(count(s, "\"ph\":\"B\""), 5);
    assert_int_equal(count(s, "\"ph\":\"E\""), 5);
    assert_int_equal(count(s, "\"ph\":\"X\""), 0);
    assert_non_null(strstr(s, "{\"ph\":\"I\",\"name\":\"tick\",\"cat\":\"\",\"ts\":1234.567,"
                              "\"pid\":4321,\"tid\":11,\"s\":\"t\"}"));
    assert_non_null(strstr(s, "\"ph\":\"C\",\"name\":\"queue\",\"cat\":\"\",\"ts\":2.000,"
                              "\"pid\":4321,\"tid\":11,\"args\":{\"queue\":12.5}}"));
    assert_non_null(strstr(s, "\"args\":{\"nan\":null}"));
    assert_non_null(strstr(s, "\"ph\":\"b\",\"name\":\"request\",\"cat\":\"\",\"ts\":3.000,"
                              "\"pid\":4321,\"tid\":11,\"id\":\"0xabcdef\"}"));
    assert_non_null(strstr(s, "\"ph\":\"e\",\"name\":\"request\",\"cat\":\"\",\"ts\":4.000,"
                              "\"pid\":4321,\"tid\":12,\"id\":\"0xabcdef\"}"));
    assert_non_null(strstr(s, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":4321,\"tid\":0,"
                              "\"args\":{\"name\":\"proc\"}}"));
    assert_non_null(strstr(s, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":4321,\"tid\":11,"
                              "\"args\":{\"name\":\"main\"}}"));
    assert_non_null(strstr(s, "\"displayTimeUnit\":\"ns\""));
    assert_non_null(strstr(s, "\"otherData\":{\"producer\":\"vitte\""));
    assert_non_null(strstr(s, "\"dropped\":0"));
    free(s);
    ms_free(&m);
}

static void test_chrome_flows(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 7);
    /* Producer: flow begins inside "send" (inside "loop"); consumer: flow
     * ends inside "recv"; a step with no enclosing span stays unbound. */
    ms_add(&m, VITTE_EVENT_FLOW_BEGIN, 1, 150, "")->id = 77;
    ms_span(&m, 1, 1, 100, 100, "send")->module = "net";
    ms_span(&m, 1, 0, 50, 500, "loop");
    ms_add(&m, VITTE_EVENT_FLOW_END, 2, 720, "")->id = 77;
    ms_span(&m, 2, 0, 700, 50, "recv")->module = "net";
    ms_add(&m, VITTE_EVENT_FLOW_STEP, 3, 900, "")->id = 78;
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_CHROME, &rc);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_json(s);
    /* Bound: the span's ts and cat, the flow's thread. */
    assert_non_null(strstr(s, "{\"ph\":\"s\",\"name\":\"flow\",\"cat\":\"net\",\"ts\":0.100,"
                              "\"pid\":7,\"tid\":1,\"id\":\"0x4d\",\"bp\":\"e\"}"));
    assert_non_null(strstr(s, "{\"ph\":\"f\",\"name\":\"flow\",\"cat\":\"net\",\"ts\":0.700,"
                              "\"pid\":7,\"tid\":2,\"id\":\"0x4d\",\"bp\":\"e\"}"));
    assert_non_null(strstr(s, "{\"ph\":\"t\",\"name\":\"flow\",\"cat\":\"\",\"ts\":0.900,"
                              "\"pid\":7,\"tid\":3,\"id\":\"0x4e\",\"bp\":\"e\"}"));
    assert_non_null(strstr(s, "\"unbound_flows\":1"));
    free(s);
    ms_free(&m);

    /* The consumer's thread comes first in the file: its "f" still follows
     * the "s" in the output (DevTools reads flows in file order). */
    ms_init(&m, 7);
    ms_add(&m, VITTE_EVENT_FLOW_END, 2, 720, "")->id = 5;
    ms_span(&m, 2, 0, 700, 50, "recv");
    ms_add(&m, VITTE_EVENT_FLOW_BEGIN, 1, 150, "")->id = 5;
    ms_span(&m, 1, 0, 100, 100, "send");
    s = export1(&m, VITTE_TRACE_FORMAT_CHROME, &rc);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_json(s);
    const char *fs = strstr(s, "{\"ph\":\"s\"");
    const char *ff = strstr(s, "{\"ph\":\"f\"");
    assert_non_null(fs);
    assert_non_null(ff);
    assert_true(fs < ff);
    free(s);
    ms_free(&m);
}

/* Equal boundaries: readers sort by ts and keep the file order of equal
 * ones, which must be ends inner first, then begins outer first. */
static void test_chrome_ties(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 3);
    /* p [0, 100): children first [0, 40) (same start), middle [45, 50),
     * last [60, 100) (same end).  q [200, 300) holds r [200, 300), which
     * holds s [250, 300).  u [400, 500) holds z, zero-length at 400, and
     * v [400, 450): three spans starting together. */
    ms_span(&m, 1, 1, 0, 40, "first");
    ms_span(&m, 1, 1, 45, 5, "middle");
    ms_span(&m, 1, 1, 60, 40, "last");
    ms_span(&m, 1, 0, 0, 100, "p");
    ms_span(&m, 1, 2, 250, 50, "s");
    ms_span(&m, 1, 1, 200, 100, "r");
    ms_span(&m, 1, 0, 200, 100, "q");
    ms_span(&m, 1, 2, 400, 0, "z");
    ms_span(&m, 1, 1, 400, 50, "v");
    ms_span(&m, 1, 0, 400, 100, "u");
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_CHROME, &rc);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_json(s);
    /* Among equal starts, the outer B first (speedscope keeps file order). */
    static const char *const before[][2] = {
        {"\"B\",\"name\":\"p\"", "\"B\",\"name\":\"first\""},
        {"\"B\",\"name\":\"q\"", "\"B\",\"name\":\"r\""},
        {"\"B\",\"name\":\"u\"", "\"B\",\"name\":\"v\""},
        {"\"B\",\"name\":\"v\"", "\"B\",\"name\":\"z\""},
    };
    for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
        const char *a = strstr(s, before[i][0]), *b = strstr(s, before[i][1]);
        assert_non_null(a);
        assert_non_null(b);
        if (a > b)
            fail_msg("%s should come before %s in:\n%s", before[i][0], before[i][1], s);
    }
    /* Each B is followed by its E (DevTools pairs them in file order with
     * one stack for the whole file). */
    for (const char *p = strstr(s, "{\"ph\":\"B\""); p != NULL;
         p = strstr(p + 1, "{\"ph\":\"B\"")) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        const char *name = strstr(p, "\"name\":");
        size_t n = (size_t)(strstr(name, ",\"cat\"") - name);
        assert_ptr_equal(name, p + 10);
        assert_true(strncmp(nl + 1, "{\"ph\":\"E\",", 10) == 0);
        assert_true(strncmp(nl + 11, name, n) == 0);
    }
    assert_int_equal(count(s, "\"ph\":\"B\""), 10);
    assert_int_equal(count(s, "\"ph\":\"E\""), 10);
    free(s);
    ms_free(&m);
}

static void test_hostile_names(void **state)
{
    (void)state;
    static const char *const hostile[] = {
        "q\"uote\\back",        "new\nline\ttab\r",
        "<tag>&amp;'apos'",     "semi;colon,comma",
        "bad\xff\xfeutf8",      "ctl\x01\x1f\x7f",
        "\xef\xbf\xbe",         "]]></script>",
        "ok \xc3\xa9t\xc3\xa9", "",
    };
    size_t n = sizeof hostile / sizeof hostile[0];
    mem_source m;
    ms_init(&m, 1);
    for (size_t i = 0; i < n; i++) {
        ms_span(&m, 1, 1, 10 * i, 5, hostile[i])->module = hostile[(i + 1) % n];
        ms_span(&m, 1, 0, 10 * i, 9, hostile[n - 1 - i])->tags = hostile[i];
        ms_add(&m, VITTE_EVENT_INSTANT, 1, 10 * i + 1, hostile[i]);
    }
    ms_thread(&m, 1, "thr\"ead<&>");
    m.info.process_name = "pro\ncess";
    for (int f = VITTE_TRACE_FORMAT_TEXT; f <= VITTE_TRACE_FORMAT_CSV; f++) {
        int rc;
        char *s = export1(&m, (vitte_trace_format)f, &rc);
        assert_int_equal(rc, VITTE_OK);
        if (f == VITTE_TRACE_FORMAT_CHROME || f == VITTE_TRACE_FORMAT_JSON)
            expect_valid_json(s);
        if (f == VITTE_TRACE_FORMAT_SVG)
            expect_valid_xml(s);
        if (f == VITTE_TRACE_FORMAT_FOLDED) {
            /* Two frames per line, whatever the names hold. */
            for (const char *p = s; *p != '\0'; p = strchr(p, '\n') + 1) {
                const char *nl = strchr(p, '\n');
                size_t semis = 0;
                for (const char *q = p; q < nl; q++)
                    semis += *q == ';';
                assert_true(semis <= 1);
            }
        }
        free(s);
    }
    ms_free(&m);
}

/* ---- SVG --------------------------------------------------------------------------------------
 */

static void test_svg(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 1);
    nested_trace(&m, 1);
    ms_thread(&m, 1, "main");
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_SVG, &rc);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_xml(s);
    assert_non_null(strstr(s, "xmlns:fg=\"http://github.com/jonhoo/inferno\""));
    /* The root spans everything; "main" is all of it; siblings are packed
     * in name order, so c (40 %) comes after a (30 %). */
    assert_non_null(strstr(s, "<title>all\n1.000 us, 100.00%, self 0 ns</title>"));
    assert_non_null(strstr(s, "<title>main\n1.000 us, 100.00%, self 300 ns</title>"));
    assert_non_null(strstr(s, "<title>c\n400 ns, 40.00%, self 300 ns</title><rect x=\"30.0000%\""));
    assert_non_null(strstr(s, "fg:x=\"300\" fg:w=\"400\""));
    assert_non_null(strstr(s, "<text id=\"search\""));
    assert_non_null(strstr(s, "function zoomTo"));
    /* Flame: deeper frames are higher up (smaller y). */
    const char *ya = strstr(s, "<title>a\n");
    const char *yb = strstr(s, "<title>b\n");
    assert_non_null(ya);
    assert_non_null(yb);
    int y_a = atoi(strstr(ya, " y=\"") + 4), y_b = atoi(strstr(yb, " y=\"") + 4);
    assert_true(y_b < y_a);
    free(s);

    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_SVG;
    o.icicle = 1;
    o.title = "My <graph> & co";
    mem_source *p = &m;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_xml(s);
    assert_non_null(strstr(s, "My &lt;graph&gt; &amp; co"));
    ya = strstr(s, "<title>a\n");
    yb = strstr(s, "<title>b\n");
    y_a = atoi(strstr(ya, " y=\"") + 4);
    y_b = atoi(strstr(yb, " y=\"") + 4);
    assert_true(y_b > y_a); /* icicle: top-down */
    free(s);

    /* Labels cut to fit: a long name in a thin frame. */
    mem_source w;
    ms_init(&w, 1);
    ms_span(&w, 1, 1, 0, 60, "a_very_long_function_name_that_cannot_fit_in_a_small_frame");
    ms_span(&w, 1, 0, 0, 1000, "root");
    s = export1(&w, VITTE_TRACE_FORMAT_SVG, &rc);
    /* 60 ns of 1000 = 70.8 px: (70.8 - 6) / 7.2 = 9 characters. */
    assert_non_null(strstr(s, ">a_very_..</text>"));
    free(s);

    /* No spans: still a valid document that says so. */
    mem_source e;
    ms_init(&e, 1);
    s = export1(&e, VITTE_TRACE_FORMAT_SVG, &rc);
    expect_valid_xml(s);
    assert_non_null(strstr(s, "no spans"));
    free(s);
    ms_free(&m);
    ms_free(&w);
    ms_free(&e);
}

/* ---- text
 * ------------------------------------------------------------------------------------------ */

static void test_text_summary(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 99);
    nested_trace(&m, 1);
    nested_trace(&m, 2);
    ms_add(&m, VITTE_EVENT_COUNTER, 1, 5, "queue")->value = 3;
    ms_add(&m, VITTE_EVENT_COUNTER, 1, 6, "queue")->value = 5;
    ms_add(&m, VITTE_EVENT_INSTANT, 1, 7, "tick");
    ms_thread(&m, 1, "main");
    ms_thread(&m, 2, "worker");
    m.info.dropped = 17;
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_TEXT, &rc);
    assert_int_equal(rc, VITTE_OK);
    assert_non_null(strstr(s, "file:      a.vittrace: pid 99 (proc), format 1.0, clock "
                              "CLOCK_MONOTONIC, complete\n"));
    assert_non_null(strstr(s, "duration:  1.000 us"));
    assert_non_null(strstr(s, "processes: 1, threads: 2\n"));
    assert_non_null(strstr(s, "events:    13 read (10 spans, 1 instants, 2 counter values"));
    assert_non_null(strstr(s, "dropped:   17"));
    /* main: 2 spans, total 2 us, self 600 ns = 30 % of 2 us; sorted by self:
     * main (600) and c (600) before a (400) and b (400). */
    assert_non_null(strstr(s, "         2   2.000 us     600 ns  30.0%   1.000 us   1.000 us   "
                              "1.000 us   1.000 us   1.000 us  main\n"));
    assert_non_null(strstr(s, "         4     400 ns     400 ns  20.0%     100 ns     100 ns     "
                              "100 ns     100 ns     100 ns  b\n"));
    assert_true(strstr(s, "  c\n") < strstr(s, "  a\n"));
    assert_true(strstr(s, "  main\n") < strstr(s, "  b\n"));
    assert_non_null(strstr(s, "counters\n"));
    assert_non_null(strstr(s, "         2            3            4            5            5  "
                              "queue\n"));
    assert_non_null(strstr(s, "         1  tick\n"));
    assert_non_null(strstr(s, "warnings\n  17 events were dropped"));
    free(s);

    /* By thread: one table per thread. */
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.by = VITTE_TRACE_BY_THREAD;
    mem_source *p = &m;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_non_null(strstr(s, "\nthread main (tid 1): 5 spans, self 1.000 us\n"));
    assert_non_null(strstr(s, "\nthread worker (tid 2): 5 spans, self 1.000 us\n"));
    free(s);
    m.ev[1].module = "io";
    o.by = VITTE_TRACE_BY_MODULE;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_non_null(strstr(s, "\nmodule io: 1 spans, self 200 ns\n"));
    assert_non_null(strstr(s, "\nmodule (none): 9 spans, self 1.800 us\n"));
    free(s);
    ms_free(&m);
}

static void test_text_quantiles(void **state)
{
    (void)state;
    /* 1..1000 us: p50 ~ 500 us, p99 ~ 990 us, within 1 %. */
    mem_source m;
    ms_init(&m, 1);
    for (uint64_t i = 1; i <= 1000; i++)
        ms_span(&m, 1, 0, i * 2000000, i * 1000, "work");
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_TEXT, &rc);
    const char *row = strstr(s, "      1000 ");
    assert_non_null(row);
    char total[16], self[16], mean[16], p50[16], p90[16], p99[16], mx[16], u[9][8];
    double pct;
    int n = sscanf(row, "%*u %15s %7s %15s %7s %lf%% %15s %7s %15s %7s %15s %7s %15s %7s %15s %7s",
                   total, u[0], self, u[1], &pct, mean, u[2], p50, u[3], p90, u[4], p99, u[5], mx,
                   u[6]);
    assert_int_equal(n, 15);
    assert_string_equal(total, "500.5");
    assert_string_equal(u[0], "ms");
    assert_string_equal(mean, "500.5");
    assert_true(fabs(atof(p50) - 500) <= 5);
    assert_true(fabs(atof(p90) - 900) <= 9);
    assert_true(fabs(atof(p99) - 990) <= 10);
    assert_string_equal(mx, "1.000");
    assert_string_equal(u[6], "ms");
    free(s);
    ms_free(&m);
}

/* ---- JSON and CSV events
 * ------------------------------------------------------------------------------ */

static void test_events_json_csv(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 5);
    nested_trace(&m, 1);
    vitte_trace_arg args[2] = {{"k", VITTE_ARG_INT, 42, 0, NULL},
                               {"s", VITTE_ARG_STRING, 0, 0, "a,\"b\""}};
    m.ev[4].args = args;
    m.ev[4].n_args = 2;
    m.ev[4].file = "main.c";
    m.ev[4].line = 12;
    ms_add(&m, VITTE_EVENT_COUNTER, 1, 5, "q")->value = 0.5;
    ms_add(&m, VITTE_EVENT_FLOW_BEGIN, 1, 6, "")->id = 255;
    int rc;
    char *s = export1(&m, VITTE_TRACE_FORMAT_JSON, &rc);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_json(s);
    assert_true(strncmp(s, "{\"format\":\"vitte-trace-events\",\"version\":1,", 42) == 0);
    assert_non_null(strstr(s, "{\"type\":\"span\",\"pid\":5,\"tid\":1,\"ts_ns\":0,\"dur_ns\":1000,"
                              "\"self_ns\":300,\"depth\":0,\"id\":null,\"value\":null,\"name\":"
                              "\"main\",\"module\":\"\",\"tags\":\"\",\"file\":\"main.c\","
                              "\"line\":12,\"args\":{\"k\":42,\"s\":\"a,\\\"b\\\"\"}}"));
    assert_non_null(strstr(s, "\"type\":\"counter\",\"pid\":5,\"tid\":1,\"ts_ns\":5,\"dur_ns\":0,"
                              "\"self_ns\":0,\"depth\":0,\"id\":null,\"value\":0.5,"));
    assert_non_null(strstr(s, "\"type\":\"flow_begin\",\"pid\":5,\"tid\":1,\"ts_ns\":6,"
                              "\"dur_ns\":0,\"self_ns\":0,\"depth\":0,\"id\":\"0xff\","));
    assert_non_null(strstr(s, "\"files\":[{\"path\":\"a.vittrace\",\"read\":true,\"pid\":5,"));
    free(s);

    s = export1(&m, VITTE_TRACE_FORMAT_CSV, &rc);
    assert_int_equal(rc, VITTE_OK);
    static const char header[] =
        "type,pid,tid,ts_ns,dur_ns,self_ns,depth,id,value,name,module,tags,file,line,args\r\n";
    assert_true(strncmp(s, header, sizeof header - 1) == 0);
    assert_non_null(strstr(s, "\r\nspan,5,1,150,100,100,2,,,b,,,,0,\r\n"));
    assert_non_null(strstr(s, "\r\nspan,5,1,0,1000,300,0,,,main,,,main.c,12,"
                              "\"{\"\"k\"\":42,\"\"s\"\":\"\"a,\\\"\"b\\\"\"\"\"}\"\r\n"));
    assert_non_null(strstr(s, "\r\ncounter,5,1,5,0,0,0,,0.5,q,,,,0,\r\n"));
    assert_non_null(strstr(s, "\r\nflow_begin,5,1,6,0,0,0,0xff,,,,,,0,\r\n"));
    free(s);
    ms_free(&m);
}

/* ---- filters
 * ----------------------------------------------------------------------------------------- */

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_filters(void **state)
{
    (void)state;
    mem_source m;
    ms_init(&m, 1);
    nested_trace(&m, 1);
    nested_trace(&m, 2);
    m.ev[1].module = "io";
    m.ev[1].tags = "hot,disk";
    m.ev[6].module = "io";
    m.ev[6].tags = "cold";
    ms_add(&m, VITTE_EVENT_INSTANT, 2, 50, "tick")->module = "io";
    ms_add(&m, VITTE_EVENT_FLOW_BEGIN, 2, 60, "")->id = 1;
    ms_thread(&m, 1, "main");
    ms_thread(&m, 2, "worker");
    mem_source *p = &m;
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_JSON;
    int rc;

    o.module = "io";
    char *s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"span\""), 2);
    assert_int_equal(count(s, "\"type\":\"instant\""), 1);
    assert_int_equal(count(s, "\"type\":\"flow_begin\""), 1); /* flows have no module */
    free(s);

    o.module = "-io";
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"span\""), 8);
    assert_int_equal(count(s, "\"type\":\"instant\""), 0);
    free(s);

    o.module = NULL;
    o.tag = "disk";
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"span\""), 1);
    assert_non_null(strstr(s, "\"tags\":\"hot,disk\""));
    free(s);
    o.tag = "-hot,-cold";
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"span\""), 8);
    free(s);

    o.tag = NULL;
    o.thread = "worker";
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"tid\":1,\"ts_ns\""), 0);
    assert_int_equal(count(s, "\"type\":\"span\",\"pid\":1,\"tid\":2"), 5);
    free(s);
    o.thread = "1";
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"span\",\"pid\":1,\"tid\":1"), 5);
    assert_int_equal(count(s, "\"type\":\"span\",\"pid\":1,\"tid\":2"), 0);
    free(s);

    /* A name known only at the end of the file still selects the thread. */
    m.names_late = 1;
    m.late_names[0] = "main";
    m.late_names[1] = "worker";
    o.thread = "main";
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"span\",\"pid\":1,\"tid\":1"), 5);
    assert_int_equal(count(s, "\"tid\":2,\"ts_ns\""), 0);
    free(s);
    m.names_late = 0;

    /* Window: [600, 700) overlaps main, c and the second b on each thread. */
    o.thread = NULL;
    o.from_ns = 600;
    o.to_ns = 700;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"span\""), 6);
    assert_int_equal(count(s, "\"name\":\"a\""), 0);
    free(s);
    o.from_ns = 0;
    o.to_ns = 55;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(count(s, "\"type\":\"instant\""), 1);
    assert_int_equal(count(s, "\"type\":\"flow_begin\""), 0);
    free(s);

    /* Nothing passes: said so. */
    o.to_ns = 0;
    o.module = "nosuch";
    o.format = VITTE_TRACE_FORMAT_TEXT;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_non_null(strstr(s, "no span, instant, counter or async event passed the filters"));
    assert_non_null(strstr(s, "filters:   module=nosuch"));
    free(s);

    /* Bad options. */
    o.module = NULL;
    o.from_ns = 10;
    o.to_ns = 5;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_EINVAL);
    free(s);
    vitte_trace_export_options_init(&o);
    o.format = (vitte_trace_format)42;
    s = run_export(&p, 1, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_EINVAL);
    free(s);
    ms_free(&m);
}

/* ---- errors and several files
 * -------------------------------------------------------------------------- */

static void test_reading_errors(void **state)
{
    (void)state;
    mem_source good, cut, bad;
    ms_init(&good, 10);
    ms_init(&cut, 20);
    ms_init(&bad, 30);
    nested_trace(&good, 1);
    nested_trace(&cut, 1);
    cut.error_at = 3; /* three spans read, then the file is cut */
    cut.error_code = VITTE_ETRUNCATED;
    cut.info.complete = 0;
    bad.open_error = VITTE_EFORMAT;
    mem_source *ms[3] = {&good, &cut, &bad};
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    int rc;
    vitte_diag d;
    char *s = run_export(ms, 3, &o, &rc, &d);
    assert_int_equal(rc, VITTE_ETRUNCATED); /* the first problem met */
    assert_int_equal(d.status, VITTE_ETRUNCATED);
    assert_int_equal(d.offset, 4242);
    assert_string_equal(d.message, "b.vittrace: chunk cut short");
    assert_non_null(strstr(s, "b.vittrace: offset 4242: chunk cut short (the events before it "
                              "were exported)"));
    assert_non_null(strstr(s, "c.vittrace: cannot read: not a vitte trace"));
    assert_non_null(strstr(s, "           c.vittrace: not read\n"));
    assert_non_null(strstr(s, "b.vittrace: pid 20 (proc), format 1.0, clock CLOCK_MONOTONIC, "
                              "damaged (see warnings)"));
    assert_non_null(strstr(s, "events:    8 read"));
    free(s);

    /* Chrome: everything readable is there, valid, with the warnings. */
    o.format = VITTE_TRACE_FORMAT_CHROME;
    s = run_export(ms, 3, &o, &rc, &d);
    assert_int_equal(rc, VITTE_ETRUNCATED);
    expect_valid_json(s);
    assert_int_equal(count(s, "\"ph\":\"B\""), 8);
    assert_non_null(strstr(s, "\"warnings\":["));
    assert_non_null(strstr(s, "\"b.vittrace: offset 4242: chunk cut short"));
    assert_non_null(strstr(s, "\"c.vittrace: cannot read: not a vitte trace\""));
    free(s);

    /* Only an unreadable file: an empty but valid export, and the error. */
    mem_source *only = &bad;
    s = run_export(&only, 1, &o, &rc, &d);
    assert_int_equal(rc, VITTE_EFORMAT);
    assert_string_equal(d.message, "a.vittrace: not a vitte trace");
    expect_valid_json(s);
    free(s);
    ms_free(&good);
    ms_free(&cut);
    ms_free(&bad);
}

static void test_several_files(void **state)
{
    (void)state;
    mem_source a, b, c;
    ms_init(&a, 10);
    ms_init(&b, 20);
    ms_init(&c, 10); /* same pid as a: renumbered */
    /* b started 5 us after a on the same host (same realtime offset). */
    b.info.start_ns = START_NS + 5000;
    b.info.start_realtime_ns += 5000;
    nested_trace(&a, 1);
    ms_span(&b, 1, 0, 0, 100, "b_main");
    for (size_t i = 0; i < b.n; i++)
        b.ev[i].ts_ns += 5000;
    ms_span(&c, 1, 0, 0, 10, "c_main");
    mem_source *ms[3] = {&a, &b, &c};
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_CHROME;
    int rc;
    char *s = run_export(ms, 3, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_OK);
    expect_valid_json(s);
    assert_non_null(strstr(s, "\"name\":\"b_main\",\"cat\":\"\",\"ts\":5.000,\"pid\":20"));
    assert_non_null(strstr(s, "\"name\":\"c_main\",\"cat\":\"\",\"ts\":0.000,\"pid\":1073741826"));
    assert_non_null(strstr(s, "pid 10 already used by a.vittrace"));
    assert_non_null(strstr(s, "\"time_base\":\"CLOCK_MONOTONIC\""));
    free(s);

    /* Another host: monotonic clocks unrelated, aligned on realtime. */
    b.info.start_ns = 77000000000000ull;
    for (size_t i = 0; i < b.n; i++)
        b.ev[i].ts_ns = 77000000000000ull + 3000;
    b.info.start_realtime_ns = a.info.start_realtime_ns + 2000;
    s = run_export(ms, 2, &o, &rc, NULL);
    assert_int_equal(rc, VITTE_OK);
    assert_non_null(strstr(s, "\"name\":\"b_main\",\"cat\":\"\",\"ts\":5.000,\"pid\":20"));
    assert_non_null(strstr(s, "\"time_base\":\"CLOCK_REALTIME\""));
    free(s);

    o.format = VITTE_TRACE_FORMAT_FOLDED;
    o.per_thread = 1;
    s = run_export(ms, 2, &o, &rc, NULL);
    assert_int_equal(folded_value(s, "proc (pid 20);tid 1;b_main"), 100);
    assert_int_equal(folded_value(s, "proc (pid 10);tid 1;main;a;b"), 100);
    free(s);
    ms_free(&a);
    ms_free(&b);
    ms_free(&c);
}

static void test_public_helpers(void **state)
{
    (void)state;
    for (int f = VITTE_TRACE_FORMAT_TEXT; f <= VITTE_TRACE_FORMAT_PPROF; f++)
        assert_int_equal(
            vitte_trace_format_from_name(vitte_trace_format_name((vitte_trace_format)f)), f);
    assert_int_equal(vitte_trace_format_from_name("perfetto"), 0);
    assert_string_equal(vitte_trace_format_name((vitte_trace_format)99), "?");
    /* An older caller's shorter struct: the fields it has, defaults after. */
    vitte_trace_export_options small;
    vitte_trace_export_options_init(&small);
    small.struct_size = (uint32_t)offsetof(vitte_trace_export_options, by);
    small.format = VITTE_TRACE_FORMAT_CSV;
    small.icicle = 77; /* beyond its size: ignored */
    vitte_trace_export_options o;
    assert_int_equal(vitte__export_options_copy(&small, &o), VITTE_OK);
    assert_int_equal(o.format, VITTE_TRACE_FORMAT_CSV);
    assert_int_equal(o.icicle, 0);
    small.struct_size = 4;
    assert_int_equal(vitte__export_options_copy(&small, &o), VITTE_EINVAL);
}

/* ---- throughput and memory (VITTE_EXPORT_BENCH=N)
 * -------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: on a loaded machine wall time measures the
 * neighbours too. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An endless synthetic stream: 4 threads, nested spans 4 deep over 64
 * names with 1 arg in 4, instants and counters. */
typedef struct gen_source {
    uint64_t n, pos;
    vitte_trace_event ev;
    vitte_trace_arg arg;
    char names[64][16];
    vitte_trace_thread threads[4];
} gen_source;

static int gen_open(void *ctx, vitte_diag *diag)
{
    (void)diag;
    ((gen_source *)ctx)->pos = 0;
    return VITTE_OK;
}

static int gen_next(void *ctx, const vitte_trace_event **ev, vitte_diag *diag)
{
    (void)diag;
    gen_source *g = ctx;
    if (g->pos >= g->n)
        return 0;
    uint64_t i = g->pos++;
    vitte_trace_event *e = &g->ev;
    e->tid = 100 + (uint32_t)(i / 256 % 4); /* chunks of 256 events per thread */
    e->ts_ns = START_NS + i * 50;
    e->n_args = 0;
    if (i % 16 == 15) {
        e->type = VITTE_EVENT_COUNTER;
        e->name = "queue_depth";
        e->value = (double)(i % 100);
    } else if (i % 16 == 7) {
        e->type = VITTE_EVENT_INSTANT;
        e->name = "tick";
    } else {
        e->type = VITTE_EVENT_SPAN;
        e->depth = (uint32_t)(3 - i % 4);
        e->dur_ns = 40 + (i % 4) * 100 + (i * 2654435761u) % 1000;
        e->name = g->names[(i * 7) % 64];
        if (i % 4 == 0) {
            e->n_args = 1;
            e->args = &g->arg;
            g->arg.i = (int64_t)i;
        }
    }
    *ev = e;
    return 1;
}

static int gen_info(void *ctx, vitte_trace_file_info *out)
{
    gen_source *g = ctx;
    memset(out, 0, sizeof *out);
    out->version_major = 1;
    out->pid = 1;
    out->process_name = "bench";
    out->clock = "TSC";
    out->start_ns = START_NS;
    out->end_ns = START_NS + g->n * 50;
    out->events = g->pos;
    out->complete = 1;
    return VITTE_OK;
}

static const vitte_trace_thread *gen_threads(void *ctx, size_t *n)
{
    *n = 4;
    return ((gen_source *)ctx)->threads;
}

static const vitte__xsource_ops gen_ops = {gen_open, gen_next, gen_info, gen_threads, ms_close};

/* Allocation hooks that count what the library holds, and its peak: the
 * memory of one export, whatever ran before in this process. */
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

static void bench_one(uint64_t n, vitte_trace_format fmt, int by)
{
    gen_source *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->n = n;
    g->ev.module = "";
    g->ev.tags = "";
    g->ev.file = "bench.c";
    g->arg = (vitte_trace_arg){"i", VITTE_ARG_INT, 0, 0, NULL};
    for (int i = 0; i < 64; i++)
        snprintf(g->names[i], sizeof g->names[i], "function_%02d", i);
    for (int i = 0; i < 4; i++)
        g->threads[i] = (vitte_trace_thread){1, 100 + (uint32_t)i, "worker", 0, 0};
    vitte__xsource src = {&gen_ops, g, "bench"};
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    vitte__buf b;
    vitte__buf_init_file(&b, devnull);
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = fmt;
    o.by = by;
    heap_now = heap_peak = 0;
    static const vitte_allocator counting = {count_malloc, count_realloc, count_free, NULL};
    /* The cost of producing the synthetic events alone, to subtract. */
    double t0 = cpu_s();
    const vitte_trace_event *ev;
    vitte_diag d;
    uint64_t sink = 0;
    while (gen_next(g, &ev, &d) > 0)
        sink += ev->ts_ns;
    double gen = cpu_s() - t0;
    g->pos = 0;
    vitte_set_allocator(&counting);
    double w0 = now_s();
    t0 = cpu_s();
    int rc = vitte__export_trace_run(&src, 1, &o, &b, &d);
    vitte__buf_flush(&b);
    double dt = cpu_s() - t0, wall = now_s() - w0;
    vitte_set_allocator(NULL);
    assert_int_equal(rc, VITTE_OK);
    print_message("bench: %-6s by=%d %llu events in %.3f s CPU (%.3f s wall): %.2f M events/s "
                  "(%.2f M/s without the generator's %.3f s); library heap peak %.1f KiB%s\n",
                  vitte_trace_format_name(fmt), by, (unsigned long long)n, dt, wall,
                  (double)n / dt / 1e6, (double)n / (dt - gen) / 1e6, gen, (double)heap_peak / 1024,
                  sink == 1 ? "" : "");
    vitte__buf_free(&b);
    fclose(devnull);
    free(g);
}

static void test_bench(void **state)
{
    (void)state;
    const char *env = getenv("VITTE_EXPORT_BENCH");
    if (env == NULL) {
        /* Always run a small one: the code path must work. */
        bench_one(200000, VITTE_TRACE_FORMAT_CHROME, 0);
        return;
    }
    uint64_t n = strtoull(env, NULL, 10);
    const char *only = getenv("VITTE_EXPORT_BENCH_FORMAT"); /* one format, for profiling */
    if (only != NULL) {
        bench_one(n, vitte_trace_format_from_name(only), 0);
        return;
    }
    bench_one(n, VITTE_TRACE_FORMAT_CHROME, 0);
    bench_one(n, VITTE_TRACE_FORMAT_TEXT, 0);
    bench_one(n, VITTE_TRACE_FORMAT_TEXT, 1);
    bench_one(n, VITTE_TRACE_FORMAT_FOLDED, 0);
    bench_one(n, VITTE_TRACE_FORMAT_JSON, 0);
    bench_one(n, VITTE_TRACE_FORMAT_CSV, 0);
    bench_one(n, VITTE_TRACE_FORMAT_SVG, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_us_format),
        cmocka_unit_test(test_fmt_dur),
        cmocka_unit_test(test_xmap),
        cmocka_unit_test(test_folded_nesting),
        cmocka_unit_test(test_folded_deep_and_random),
        cmocka_unit_test(test_folded_filters_transparent),
        cmocka_unit_test(test_folded_orphans),
        cmocka_unit_test(test_chrome_basic),
        cmocka_unit_test(test_chrome_flows),
        cmocka_unit_test(test_chrome_ties),
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_text_summary),
        cmocka_unit_test(test_text_quantiles),
        cmocka_unit_test(test_events_json_csv),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_reading_errors),
        cmocka_unit_test(test_several_files),
        cmocka_unit_test(test_public_helpers),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
