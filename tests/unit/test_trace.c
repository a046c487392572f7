/* The tracer: record from many threads, read back with the public reader,
 * and the cases that must not lose or corrupt data (fork, SIGKILL, SIGSEGV,
 * full buffers, filters, switching off). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vitte/vitte.h>
#include <vitte/trace.h>

#include "common/clock_internal.h" /* zone.t0 is in TSC ticks on a TSC clock */
#include "format/vittrace_codec.h"
#include "format/vittrace_write.h"
#include <fcntl.h>

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* Everything a trace holds, counted. */
struct tally {
    uint64_t spans, instants, counters, async_b, async_e, flows, args, events;
    uint64_t by_depth[8];
    int complete;
    int end_status;
    uint64_t dropped;
    char last_str_arg[64];
};

static int read_all(const char *path, struct tally *t,
                    void (*each)(const vitte_trace_event *, void *), void *ud)
{
    memset(t, 0, sizeof *t);
    vitte_trace_reader *r;
    vitte_diag d;
    int rc = vitte_trace_reader_open(path, 0, &r, &d);
    if (rc != VITTE_OK) {
        print_error("open %s: %s\n", path, d.message);
        return rc;
    }
    const vitte_trace_event *ev;
    while ((rc = vitte_trace_reader_next(r, &ev, &d)) == 1) {
        t->events++;
        switch (ev->type) {
        case VITTE_EVENT_SPAN:
            t->spans++;
            if (ev->depth < 8)
                t->by_depth[ev->depth]++;
            break;
        case VITTE_EVENT_INSTANT:
            t->instants++;
            break;
        case VITTE_EVENT_COUNTER:
            t->counters++;
            break;
        case VITTE_EVENT_ASYNC_BEGIN:
            t->async_b++;
            break;
        case VITTE_EVENT_ASYNC_END:
            t->async_e++;
            break;
        default:
            t->flows++;
            break;
        }
        t->args += ev->n_args;
        for (size_t i = 0; i < ev->n_args; i++)
            if (ev->args[i].type == VITTE_ARG_STRING)
                snprintf(t->last_str_arg, sizeof t->last_str_arg, "%s", ev->args[i].s);
        if (each != NULL)
            each(ev, ud);
    }
    t->end_status = rc;
    vitte_trace_file_info info;
    vitte_trace_reader_info(r, &info);
    t->complete = info.complete;
    t->dropped = info.dropped;
    vitte_trace_reader_close(r);
    return VITTE_OK;
}

/* ---- round trip from 8 threads ------------------------------------------------- */

enum { THREADS = 8, ITER = 2000 };

struct worker {
    int id;
    uint64_t *t0s; /* the begin time of every outer span, as the API returned it */
    size_t n;
};

static void inner(int i)
{
    VITTE_TRACE_SCOPE_M("inner", "compute");
    if (i % 100 == 0)
        vitte_trace_arg_int("i", i);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char name[32];
    snprintf(name, sizeof name, "worker-%d", w->id);
    vitte_trace_set_thread_name(name);
    for (int i = 0; i < ITER; i++) {
        VITTE_TRACE_BEGIN(z, "outer");
        w->t0s[w->n++] = z.t0;
        {
            VITTE_TRACE_SCOPE("middle");
            inner(i);
            inner(i + 1);
        }
        if (i % 500 == 0) {
            VITTE_TRACE_INSTANT("milestone");
            vitte_trace_last_arg_str("label", "half-way");
        }
        VITTE_TRACE_COUNTER("progress", i);
        /* An async span begun here and ended by the next worker's thread is
         * exercised in test_async_flow; here one on the same thread. */
        VITTE_TRACE_ASYNC_BEGIN("job", (uint64_t)w->id * 100000 + (uint64_t)i);
        VITTE_TRACE_ASYNC_END("job", (uint64_t)w->id * 100000 + (uint64_t)i);
        VITTE_TRACE_END(z);
    }
    return NULL;
}

struct spancheck {
    uint64_t *t0s; /* all outer t0s, sorted */
    size_t n, found;
    uint64_t bad_nesting;
    /* per thread: the last depth-1 span end must lie within the next depth-0 span */
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void check_span(const vitte_trace_event *ev, void *ud)
{
    struct spancheck *c = ud;
    if (ev->type == VITTE_EVENT_SPAN && strcmp(ev->name, "outer") == 0) {
        if (bsearch(&ev->ts_ns, c->t0s, c->n, sizeof(uint64_t), cmp_u64) != NULL)
            c->found++;
        if (ev->depth != 0)
            c->bad_nesting++;
    }
    if (ev->type == VITTE_EVENT_SPAN && strcmp(ev->name, "middle") == 0 && ev->depth != 1)
        c->bad_nesting++;
    if (ev->type == VITTE_EVENT_SPAN && strcmp(ev->name, "inner") == 0 &&
        (ev->depth != 2 || strcmp(ev->module, "compute") != 0))
        c->bad_nesting++;
}

static void test_round_trip_threads(void **state)
{
    (void)state;
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    cfg.blocking = 1; /* no drop: every event must come back */
    vitte_tracer *t;
    const char *path = tmp_path("threads.vittrace");
    assert_int_equal(vitte_tracer_create_ex(path, &cfg, &t), VITTE_OK);
    assert_ptr_equal(vitte_tracer_active(), t);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){i, calloc(ITER, sizeof(uint64_t)), 0};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    vitte_tracer_stats st;
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    assert_null(vitte_tracer_active());
    (void)st;

    struct spancheck c = {calloc(THREADS * ITER, sizeof(uint64_t)), 0, 0, 0};
    for (int i = 0; i < THREADS; i++) {
        memcpy(c.t0s + c.n, w[i].t0s, w[i].n * sizeof(uint64_t));
        c.n += w[i].n;
        free(w[i].t0s);
    }
    vitte_clock_info ci;
    vitte_clock_get_info(&ci, 0);
    if (ci.source == VITTE_CLOCK_TSC)
        for (size_t i = 0; i < c.n; i++)
            c.t0s[i] = vitte__tsc_to_ns(c.t0s[i]);
    qsort(c.t0s, c.n, sizeof(uint64_t), cmp_u64);
    struct tally tl;
    assert_int_equal(read_all(path, &tl, check_span, &c), VITTE_OK);
    assert_int_equal(tl.end_status, 0);
    assert_true(tl.complete);
    assert_int_equal(tl.dropped, 0);
    assert_int_equal(tl.spans, (uint64_t)THREADS * ITER * 4);
    assert_int_equal(tl.by_depth[0], (uint64_t)THREADS * ITER);
    assert_int_equal(tl.by_depth[1], (uint64_t)THREADS * ITER);
    assert_int_equal(tl.by_depth[2], (uint64_t)THREADS * ITER * 2);
    assert_int_equal(tl.counters, (uint64_t)THREADS * ITER);
    assert_int_equal(tl.instants, (uint64_t)THREADS * (ITER / 500));
    assert_int_equal(tl.async_b, (uint64_t)THREADS * ITER);
    assert_int_equal(tl.async_e, (uint64_t)THREADS * ITER);
    /* args: inner(i) with i % 100 == 0 and inner(i + 1) with (i + 1) % 100 == 0, plus labels */
    assert_int_equal(tl.args, (uint64_t)THREADS * (ITER / 100 * 2 + ITER / 500));
    assert_string_equal(tl.last_str_arg, "half-way");
    assert_int_equal(c.found, c.n); /* begin times exact */
    assert_int_equal(c.bad_nesting, 0);
    free(c.t0s);
}

/* ---- async spans and flows across threads ------------------------------------------ */

static void *consumer(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    VITTE_TRACE_SCOPE("consume");
    vitte_trace_flow_end(id);
    VITTE_TRACE_ASYNC_END("request", id);
    return NULL;
}

struct flowcheck {
    uint64_t begin_tid, end_tid, flow_b, flow_e;
};

static void check_flow(const vitte_trace_event *ev, void *ud)
{
    struct flowcheck *c = ud;
    if (ev->type == VITTE_EVENT_ASYNC_BEGIN && ev->id == 42)
        c->begin_tid = ev->tid;
    if (ev->type == VITTE_EVENT_ASYNC_END && ev->id == 42)
        c->end_tid = ev->tid;
    if (ev->type == VITTE_EVENT_FLOW_BEGIN && ev->id == 42)
        c->flow_b = ev->tid;
    if (ev->type == VITTE_EVENT_FLOW_END && ev->id == 42)
        c->flow_e = ev->tid;
}

static void test_async_flow(void **state)
{
    (void)state;
    const char *path = tmp_path("flow.vittrace");
    vitte_tracer *t = vitte_tracer_create(path);
    assert_non_null(t);
    {
        VITTE_TRACE_SCOPE("produce");
        VITTE_TRACE_ASYNC_BEGIN("request", 42);
        vitte_trace_flow_begin(42);
        pthread_t th;
        pthread_create(&th, NULL, consumer, (void *)(uintptr_t)42);
        pthread_join(th, NULL);
    }
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    struct tally tl;
    struct flowcheck c = {0};
    assert_int_equal(read_all(path, &tl, check_flow, &c), VITTE_OK);
    assert_true(c.begin_tid != 0 && c.end_tid != 0 && c.begin_tid != c.end_tid);
    assert_true(c.flow_b == c.begin_tid && c.flow_e == c.end_tid);
}

/* ---- filters, switching off, drops ------------------------------------------------- */

static void test_filters(void **state)
{
    (void)state;
    const char *path = tmp_path("filters.vittrace");
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    cfg.modules = "net,-db";
    cfg.tags = "-noisy";
    vitte_tracer *t;
    assert_int_equal(vitte_tracer_create_ex(path, &cfg, &t), VITTE_OK);
    for (int i = 0; i < 10; i++) {
        VITTE_TRACE_SCOPE_M("send", "net");
        {
            VITTE_TRACE_SCOPE_M("query", "db"); /* dropped: module db */
            vitte_trace_arg_int("dropped_with_its_span", 1);
        }
        {
            VITTE_TRACE_SCOPE_MT("poll", "net", "noisy,io"); /* dropped: tag noisy */
        }
        {
            VITTE_TRACE_SCOPE("untagged"); /* dropped: module not listed */
        }
        vitte_trace_arg_int("kept", i);
    }
    vitte_tracer_stats st;
    vitte_tracer_flush(t);
    vitte_tracer_get_stats(t, &st);
    assert_int_equal(st.filtered, 30);
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    struct tally tl;
    assert_int_equal(read_all(path, &tl, NULL, NULL), VITTE_OK);
    assert_int_equal(tl.spans, 10);
    assert_int_equal(tl.by_depth[0], 10);
    assert_int_equal(tl.args, 10);

    /* Minimum duration, and run-time off. */
    vitte_tracer_config_init(&cfg);
    cfg.min_duration_ns = 5000000; /* 5 ms */
    assert_int_equal(vitte_tracer_create_ex(path, &cfg, &t), VITTE_OK);
    for (int i = 0; i < 5; i++) {
        VITTE_TRACE_SCOPE("quick");
        vitte_trace_arg_int("lost_with_span", i);
    }
    {
        VITTE_TRACE_SCOPE("slow");
        struct timespec ts = {0, 6000000};
        nanosleep(&ts, NULL);
    }
    vitte_trace_set_enabled(0);
    assert_false(vitte_trace_enabled());
    for (int i = 0; i < 5; i++) {
        VITTE_TRACE_SCOPE("while_off");
        struct timespec ts = {0, 6000000};
        nanosleep(&ts, NULL);
    }
    vitte_trace_set_enabled(1);
    assert_true(vitte_trace_enabled());
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    assert_int_equal(read_all(path, &tl, NULL, NULL), VITTE_OK);
    assert_int_equal(tl.spans, 1);
    assert_int_equal(tl.args, 0);
}

static void *spam(void *arg)
{
    for (int i = 0; i < 200000; i++) {
        VITTE_TRACE_SCOPE("spam");
    }
    return arg;
}

/* Full buffers drop and count: recorded + dropped = produced, exactly. */
static void test_drops_accounted(void **state)
{
    (void)state;
    const char *path = tmp_path("drops.vittrace");
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    cfg.buffer_bytes = 64 << 10; /* 2048 events */
    vitte_tracer *t;
    assert_int_equal(vitte_tracer_create_ex(path, &cfg, &t), VITTE_OK);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, spam, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    struct tally tl;
    assert_int_equal(read_all(path, &tl, NULL, NULL), VITTE_OK);
    assert_int_equal(tl.spans + tl.dropped, 4 * 200000);
    print_message("drops: %llu of %d with a 64 KiB buffer and 4 threads\n",
                  (unsigned long long)tl.dropped, 4 * 200000);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_errors(void **state)
{
    (void)state;
    vitte_tracer *t, *t2;
    assert_int_equal(vitte_tracer_create_ex(NULL, NULL, &t), VITTE_EINVAL);
    assert_int_equal(vitte_tracer_create_ex("/nonexistent/dir/x.vittrace", NULL, &t), VITTE_ENOENT);
    assert_null(vitte_tracer_create("/nonexistent/dir/x.vittrace"));
    vitte_tracer_config cfg;
    vitte_tracer_config_init(&cfg);
    cfg.buffer_bytes = 10;
    assert_int_equal(vitte_tracer_create_ex(tmp_path("e.vittrace"), &cfg, &t), VITTE_EINVAL);
    assert_int_equal(vitte_tracer_create_ex(tmp_path("e.vittrace"), NULL, &t), VITTE_OK);
    assert_int_equal(vitte_tracer_create_ex(tmp_path("e2.vittrace"), NULL, &t2), VITTE_ESTATE);
    assert_int_equal(vitte_tracer_flush(NULL), VITTE_EINVAL);
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    assert_int_equal(vitte_tracer_destroy(NULL), VITTE_OK);
    /* No tracer: the API does nothing and does not crash. */
    VITTE_TRACE_INSTANT("nobody");
    vitte_trace_arg_int("k", 1);
    vitte_trace_set_thread_name("x");
    {
        VITTE_TRACE_SCOPE("nobody");
    }
    /* Full disk: the writer's error comes back from destroy. */
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(vitte_tracer_create_ex("/dev/full", NULL, &t), VITTE_ENOSPC);
    }
}

/* ---- processes: fork, SIGKILL, SIGSEGV ----------------------------------------------- */

static void test_fork_child_stops(void **state)
{
    (void)state;
    const char *path = tmp_path("fork.vittrace");
    vitte_tracer *t = vitte_tracer_create(path);
    assert_non_null(t);
    {
        VITTE_TRACE_SCOPE("parent_before");
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The child's events go nowhere; the parent's file stays intact. */
        for (int i = 0; i < 1000; i++) {
            VITTE_TRACE_SCOPE("child");
        }
        _exit(vitte_trace_enabled() ? 3 : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    {
        VITTE_TRACE_SCOPE("parent_after");
    }
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    struct tally tl;
    assert_int_equal(read_all(path, &tl, NULL, NULL), VITTE_OK);
    assert_int_equal(tl.end_status, 0);
    assert_int_equal(tl.spans, 2);
}

static void test_sigkill_keeps_flushed(void **state)
{
    (void)state;
    const char *path = tmp_path("kill.vittrace");
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        vitte_tracer *t = vitte_tracer_create(path);
        for (int i = 0; i < 1000; i++) {
            VITTE_TRACE_SCOPE("before_flush");
        }
        vitte_tracer_flush(t);
        (void)!write(pfd[1], "x", 1);
        for (;;) { /* keep recording until killed */
            VITTE_TRACE_SCOPE("after_flush");
            usleep(100);
        }
    }
    char c;
    assert_int_equal(read(pfd[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(pfd[0]);
    close(pfd[1]);
    struct tally tl;
    assert_int_equal(read_all(path, &tl, NULL, NULL), VITTE_OK);
    assert_true(tl.spans >= 1000); /* everything up to the flush */
    assert_false(tl.complete);
    assert_int_equal(tl.end_status, VITTE_ETRUNCATED);
}

static void test_sigsegv_flushes(void **state)
{
    (void)state;
    const char *path = tmp_path("segv.vittrace");
    pid_t pid = fork();
    if (pid == 0) {
        /* The test harness's own handler would catch the crash: the default
         * action is what a real program has. */
        signal(SIGSEGV, SIG_DFL);
        vitte_tracer *t = vitte_tracer_create(path);
        (void)t;
        for (int i = 0; i < 777; i++) {
            VITTE_TRACE_SCOPE("doomed");
        }
        raise(SIGSEGV);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    struct tally tl;
    assert_int_equal(read_all(path, &tl, NULL, NULL), VITTE_OK);
    assert_int_equal(tl.spans, 777);
    assert_true(tl.complete); /* the handler wrote the end marker before dying */
}

static int user_handler_ran;
static void user_handler(int sig)
{
    (void)sig;
    user_handler_ran = 1;
}

/* The program's own handler still runs, and the trace goes on. */
static void test_program_handler_kept(void **state)
{
    (void)state;
    signal(SIGINT, user_handler);
    vitte_tracer *t = vitte_tracer_create(tmp_path("handler.vittrace"));
    raise(SIGINT);
    assert_true(user_handler_ran);
    {
        VITTE_TRACE_SCOPE("still_tracing");
    }
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    struct sigaction cur;
    sigaction(SIGINT, NULL, &cur);
    assert_ptr_equal(cur.sa_handler, user_handler); /* restored */
    signal(SIGINT, SIG_DFL);
    struct tally tl;
    assert_int_equal(read_all(tmp_path("handler.vittrace"), &tl, NULL, NULL), VITTE_OK);
    assert_int_equal(tl.spans, 1);
}

static void test_chrome_json_path(void **state)
{
    (void)state;
    const char *path = tmp_path("build-trace.json");
    vitte_tracer *t = vitte_tracer_create(path);
    assert_non_null(t);
    {
        VITTE_TRACE_SCOPE("compile");
    }
    int rc = vitte_tracer_destroy(t);
    assert_int_equal(rc, VITTE_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[64] = "";
    assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(buf, "traceEvents"));
}

/* A chunk whose first record is an argument (the span it belongs to began
 * in an earlier chunk) still gets the right base time: regression test for
 * timestamps that came out shifted by the whole base. */
static void test_writer_chunk_starting_with_arg(void **state)
{
    (void)state;
    const char *path = tmp_path("argfirst.vittrace");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    struct vitte__vtw_header h = {1234, 0, 1000000, 0, 1000000, 0};
    struct vitte__vtw *w;
    assert_int_equal(vitte__vtw_open(fd, &h, 1, &w), VITTE_OK);
    static struct vitte_srcloc loc = {"work", NULL, NULL, "f", "f.c", 1, 0};
    uint32_t site = vitte__vtw_site(w, &loc);
    uint32_t key = vitte__vtw_string(w, "k", 1);
    struct vitte__vtw_events e;
    vitte__vtw_ev_init(&e, 77);
    /* First chunk: a span. Second chunk: an argument, then its span. */
    assert_int_equal(vitte__vtw_ev_span(&e, site, 0, 5000000, 6000000), VITTE_OK);
    assert_int_equal(vitte__vtw_ev_span(&e, site, 0, 6500000, 6600000), VITTE_OK);
    assert_int_equal(vitte__vtw_ev_flush(w, &e), VITTE_OK);
    assert_int_equal(
        vitte__vtw_ev_arg(&e, VITTE__ARG_TARGET_SPAN, 0, key, VITTE_ARG_INT, 42, 0, NULL, 0),
        VITTE_OK);
    assert_int_equal(vitte__vtw_ev_span(&e, site, 0, 7000000, 9000000), VITTE_OK);
    assert_int_equal(vitte__vtw_ev_flush(w, &e), VITTE_OK);
    assert_int_equal(vitte__vtw_end(w, 3, 0, 9000000), VITTE_OK);
    vitte__vtw_ev_free(&e);
    assert_int_equal(vitte__vtw_close(w), VITTE_OK);

    vitte_trace_reader *r;
    assert_int_equal(vitte_trace_reader_open(path, 0, &r, NULL), VITTE_OK);
    const vitte_trace_event *ev;
    assert_int_equal(vitte_trace_reader_next(r, &ev, NULL), 1);
    assert_int_equal(ev->ts_ns, 5000000);
    assert_int_equal(ev->dur_ns, 1000000);
    assert_int_equal(vitte_trace_reader_next(r, &ev, NULL), 1);
    assert_int_equal(ev->ts_ns, 6500000);
    assert_int_equal(vitte_trace_reader_next(r, &ev, NULL), 1);
    assert_int_equal(ev->ts_ns, 7000000);
    assert_int_equal(ev->dur_ns, 2000000);
    assert_int_equal(ev->n_args, 1);
    assert_int_equal(ev->args[0].i, 42);
    assert_int_equal(vitte_trace_reader_next(r, &ev, NULL), 0);
    vitte_trace_reader_close(r);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vitte-test-trace-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_threads),
        cmocka_unit_test(test_async_flow),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_drops_accounted),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fork_child_stops),
        cmocka_unit_test(test_sigkill_keeps_flushed),
        cmocka_unit_test(test_sigsegv_flushes),
        cmocka_unit_test(test_program_handler_kept),
        cmocka_unit_test(test_chrome_json_path),
        cmocka_unit_test(test_writer_chunk_starting_with_arg),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (rc == 0 && system(cmd) != 0)
        return 1;
    return rc;
}
