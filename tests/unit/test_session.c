/* Sessions: the example flow end to end, error cases, nested timings,
 * timings from several threads, series, and a session that finds another
 * tracer active. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vitte/vitte.h>
#include <vitte/session.h>

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/vitte-session-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p != NULL) {
        size_t got = fread(p, 1, (size_t)n, f);
        p[got] = '\0';
    }
    fclose(f);
    return p;
}

static int file_contains(const char *path, const char *needle)
{
    char *p = slurp(path);
    int found = p != NULL && strstr(p, needle) != NULL;
    free(p);
    return found;
}

static int file_nonempty(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* A small structural JSON check: balanced brackets outside strings, one
 * top-level object, nothing after it but whitespace. */
static int json_sane(const char *path)
{
    char *p = slurp(path);
    if (p == NULL)
        return 0;
    int depth = 0, in_str = 0, ok = 1, closed = 0;
    const char *c = p;
    while (*c == ' ' || *c == '\n')
        c++;
    if (*c != '{')
        ok = 0;
    for (; *c != '\0' && ok; c++) {
        if (closed) {
            ok = *c == '\n' || *c == ' ';
            continue;
        }
        if (in_str) {
            if (*c == '\\')
                c++;
            else if (*c == '"')
                in_str = 0;
            continue;
        }
        if (*c == '"')
            in_str = 1;
        else if (*c == '{' || *c == '[')
            depth++;
        else if (*c == '}' || *c == ']') {
            if (--depth < 0)
                ok = 0;
            if (depth == 0)
                closed = 1;
        }
    }
    free(p);
    return ok && closed && !in_str;
}

static void spin_ns(uint64_t ns)
{
    uint64_t t0 = vitte_now_ns();
    volatile double x = 0;
    while (vitte_now_ns() - t0 < ns)
        x += 1.0;
}

static void my_function(void)
{
    spin_ns(2000000);
}

static void test_example_flow(void **state)
{
    (void)state;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/performance_reports", tmpdir);
    vitte_manager *mgr = vitte_manager_create(dir);
    assert_non_null(mgr);
    assert_string_equal(vitte_manager_directory(mgr), dir);
    vitte_session *s = vitte_manager_start_session(mgr, "my_session");
    assert_non_null(s);
    assert_ptr_equal(vitte_manager_active_session(mgr), s);
    assert_string_equal(vitte_session_name(s), "my_session");
    assert_int_equal(vitte_session_start_system_metrics_ex(s, 10000000), VITTE_OK);

    assert_int_equal(vitte_session_start_timing(s, "my_function"), VITTE_OK);
    my_function();
    uint64_t ns = 0;
    assert_int_equal(vitte_session_stop_timing(s, "my_function", &ns), VITTE_OK);
    assert_true(ns >= 2000000);

    vitte_series *fps = vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 100);
    assert_non_null(fps);
    assert_int_equal(vitte_series_set(fps, 30.0), VITTE_OK);
    assert_int_equal(vitte_session_add_series(s, fps), VITTE_OK);
    assert_int_equal(vitte_series_set(fps, 60.0), VITTE_OK); /* still usable */
    spin_ns(30000000);                                       /* a few samples */

    snprintf(path, sizeof path, "%s/report.json", tmpdir);
    assert_int_equal(vitte_session_save_report(s, path, VITTE_REPORT_JSON), VITTE_OK);
    assert_true(json_sane(path));
    assert_true(file_contains(path, "\"my_function\""));
    assert_true(file_contains(path, "\"fps\""));
    assert_true(file_contains(path, "\"process_cpu_percent\""));
    assert_true(file_contains(path, "\"complete\": false"));
    snprintf(path, sizeof path, "%s/report.md", tmpdir);
    assert_int_equal(vitte_session_save_report(s, path, VITTE_REPORT_MARKDOWN), VITTE_OK);
    assert_true(file_contains(path, "| my_function | 1 |"));
    assert_true(file_contains(path, "## System metrics"));
    snprintf(path, sizeof path, "%s/flamegraph.svg", tmpdir);
    assert_int_equal(vitte_session_generate_flamegraph(s, path), VITTE_OK);
    assert_true(file_contains(path, "<svg"));
    assert_true(file_contains(path, "my_function"));
    /* default paths */
    assert_int_equal(vitte_session_save_report(s, NULL, VITTE_REPORT_JSON), VITTE_OK);
    assert_int_equal(vitte_session_save_report(s, path, (vitte_report_format)7), VITTE_EINVAL);

    assert_int_equal(vitte_manager_stop_session(mgr), VITTE_OK);
    assert_null(vitte_manager_active_session(mgr));
    const char *files[] = {"report.json", "report.md", "flamegraph.svg", "trace.vittrace"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/my_session/%s", dir, files[i]);
        assert_true(file_nonempty(path));
    }
    snprintf(path, sizeof path, "%s/my_session/report.json", dir);
    assert_true(json_sane(path));
    assert_true(file_contains(path, "\"complete\": true"));
    assert_true(file_contains(path, "\"host_cpu_percent\""));
    snprintf(path, sizeof path, "%s/my_session/flamegraph.svg", dir);
    assert_true(file_contains(path, "my_function"));
    assert_int_equal(vitte_manager_stop_session(mgr), VITTE_ESTATE);
    vitte_manager_destroy(mgr);
}

static void test_errors(void **state)
{
    (void)state;
    vitte_manager *m = NULL;
    int rc = vitte_manager_create_ex("/proc/nonexistent/reports", &m);
    assert_true(rc == VITTE_EIO || rc == VITTE_EPERM);
    assert_null(m);
    assert_null(vitte_manager_create("/proc/nonexistent"));
    assert_int_equal(vitte_manager_create_ex("", &m), VITTE_EINVAL);
    char file[400];
    snprintf(file, sizeof file, "%s/plainfile", tmpdir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(vitte_manager_create_ex(file, &m), VITTE_EIO);

    vitte_manager *mgr = vitte_manager_create(tmpdir);
    assert_non_null(mgr);
    vitte_session *s = NULL;
    assert_int_equal(vitte_manager_stop_session(mgr), VITTE_ESTATE);
    const char *bad[] = {"", ".", "..", "a/b"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(vitte_manager_start_session_ex(mgr, bad[i], &s), VITTE_EINVAL);
    assert_int_equal(vitte_manager_start_session_ex(mgr, "one", &s), VITTE_OK);
    vitte_session *s2 = (vitte_session *)1;
    assert_int_equal(vitte_manager_start_session_ex(mgr, "one", &s2), VITTE_EEXIST);
    assert_null(s2);
    assert_null(vitte_manager_start_session(mgr, "one"));
    assert_int_equal(vitte_manager_start_session_ex(mgr, "two", &s2), VITTE_ESTATE);

    uint64_t ns = 42;
    assert_int_equal(vitte_session_stop_timing(s, "never", &ns), VITTE_ENOENT);
    assert_int_equal(ns, 0);
    assert_int_equal(vitte_session_stop_timing(s, "", NULL), VITTE_EINVAL);
    assert_int_equal(vitte_session_start_timing(s, NULL), VITTE_EINVAL);
    vitte_timing_stats st;
    assert_int_equal(vitte_session_timing_stats(s, "never", &st), VITTE_ENOENT);
    /* misnested stop */
    assert_int_equal(vitte_session_start_timing(s, "outer"), VITTE_OK);
    assert_int_equal(vitte_session_start_timing(s, "inner"), VITTE_OK);
    assert_int_equal(vitte_session_stop_timing(s, "outer", NULL), VITTE_ESTATE);
    assert_int_equal(vitte_session_stop_timing(s, "inner", NULL), VITTE_OK);
    assert_int_equal(vitte_session_stop_timing(s, "outer", NULL), VITTE_OK);
    assert_int_equal(vitte_session_stop_timing(s, "outer", NULL), VITTE_ENOENT);
    /* started, never stopped: open in the report, no stats */
    assert_int_equal(vitte_session_start_timing(s, "dangling"), VITTE_OK);
    assert_int_equal(vitte_session_timing_stats(s, "dangling", &st), VITTE_ENOENT);

    /* system metrics: once */
    assert_int_equal(vitte_session_stop_system_metrics(s), VITTE_ESTATE);
    assert_int_equal(vitte_session_start_system_metrics_ex(s, 1000), VITTE_EINVAL);
    assert_int_equal(vitte_session_start_system_metrics(s), VITTE_OK);
    assert_int_equal(vitte_session_start_system_metrics(s), VITTE_ESTATE);
    assert_int_equal(vitte_session_stop_system_metrics(s), VITTE_OK);
    assert_int_equal(vitte_session_stop_system_metrics(s), VITTE_ESTATE);

    /* series: duplicates refused, the caller keeps them */
    vitte_series *a = vitte_series_create("latency", VITTE_METRIC_LATENCY, "ms", 10);
    vitte_series *b = vitte_series_create("latency", VITTE_METRIC_LATENCY, "ms", 10);
    vitte_series *c = vitte_series_create("process_cpu_percent", VITTE_METRIC_RATIO, "%", 10);
    assert_int_equal(vitte_session_add_series(s, a), VITTE_OK);
    assert_int_equal(vitte_session_add_series(s, a), VITTE_EEXIST);
    assert_int_equal(vitte_session_add_series(s, b), VITTE_EEXIST);
    assert_int_equal(vitte_session_add_series(s, c), VITTE_EEXIST);
    assert_int_equal(vitte_session_add_series(s, NULL), VITTE_EINVAL);
    vitte_series_destroy(b);
    vitte_series_destroy(c);

    /* unwritable report path */
    assert_int_equal(vitte_session_save_report(s, "/proc/nonexistent/r.json", VITTE_REPORT_JSON),
                     VITTE_EIO);
    assert_int_equal(vitte_session_generate_flamegraph(s, "/proc/nonexistent/f.svg"), VITTE_EIO);

    assert_int_equal(vitte_manager_stop_session(mgr), VITTE_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/one/report.json", tmpdir);
    assert_true(json_sane(path));
    assert_true(file_contains(path, "\"dangling\""));
    assert_true(file_contains(path, "\"latency\""));
    /* names stay taken for the manager's life */
    assert_int_equal(vitte_manager_start_session_ex(mgr, "one", &s), VITTE_EEXIST);
    assert_int_equal(vitte_manager_start_session_ex(mgr, "two", &s), VITTE_OK);
    vitte_manager_destroy(mgr); /* stops "two", writes its files */
    snprintf(path, sizeof path, "%s/two/report.md", tmpdir);
    assert_true(file_nonempty(path));
    vitte_manager_destroy(NULL);
}

static void test_nested(void **state)
{
    (void)state;
    vitte_manager *mgr = vitte_manager_create(tmpdir);
    vitte_session *s = vitte_manager_start_session(mgr, "nested");
    assert_non_null(s);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vitte_session_start_timing(s, "frame"), VITTE_OK);
        assert_int_equal(vitte_session_start_timing(s, "physics"), VITTE_OK);
        spin_ns(200000);
        /* recursion: the same name inside itself */
        assert_int_equal(vitte_session_start_timing(s, "physics"), VITTE_OK);
        spin_ns(100000);
        assert_int_equal(vitte_session_stop_timing(s, "physics", NULL), VITTE_OK);
        assert_int_equal(vitte_session_stop_timing(s, "physics", NULL), VITTE_OK);
        assert_int_equal(vitte_session_start_timing(s, "render"), VITTE_OK);
        spin_ns(300000);
        assert_int_equal(vitte_session_stop_timing(s, "render", NULL), VITTE_OK);
        assert_int_equal(vitte_session_stop_timing(s, "frame", NULL), VITTE_OK);
    }
    vitte_timing_stats frame, physics, render;
    assert_int_equal(vitte_session_timing_stats(s, "frame", &frame), VITTE_OK);
    assert_int_equal(vitte_session_timing_stats(s, "physics", &physics), VITTE_OK);
    assert_int_equal(vitte_session_timing_stats(s, "render", &render), VITTE_OK);
    assert_int_equal(frame.count, 3);
    assert_int_equal(physics.count, 6);
    assert_int_equal(render.count, 3);
    assert_true(frame.min_ns >= 600000);
    assert_true(frame.min_ns <= frame.max_ns);
    assert_true(render.min_ns >= 300000);
    assert_true(frame.total_ns >= render.total_ns + 900000);
    assert_true(frame.p50_ns >= frame.min_ns * 0.99 && frame.p50_ns <= frame.max_ns * 1.01);
    assert_true(frame.p99_ns >= frame.p50_ns);
    assert_true(frame.mean_ns > 0);

    char path[600];
    snprintf(path, sizeof path, "%s/nested.folded", tmpdir);
    assert_int_equal(vitte_session_generate_flamegraph(s, NULL), VITTE_OK);
    assert_int_equal(vitte_manager_stop_session(mgr), VITTE_OK);
    /* the spans nest in the trace: frame;physics;physics */
    snprintf(path, sizeof path, "%s/nested/trace.vittrace", tmpdir);
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_FOLDED;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    const char *paths[] = {path};
    assert_int_equal(vitte_trace_export(paths, 1, &o, mem, NULL), VITTE_OK);
    fclose(mem);
    assert_non_null(strstr(buf, "frame;physics;physics "));
    assert_non_null(strstr(buf, "frame;render "));
    free(buf);
    snprintf(path, sizeof path, "%s/nested/flamegraph.svg", tmpdir);
    assert_true(file_contains(path, "physics"));
    vitte_manager_destroy(mgr);
}

enum { THREADS = 4, ITERS = 300 };

struct worker {
    vitte_session *s;
    int id;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char own[32];
    snprintf(own, sizeof own, "thread_%d", w->id);
    for (int i = 0; i < ITERS; i++) {
        w->failures += vitte_session_start_timing(w->s, "work") != VITTE_OK;
        w->failures += vitte_session_start_timing(w->s, own) != VITTE_OK;
        w->failures += vitte_session_start_timing(w->s, "leaf") != VITTE_OK;
        w->failures += vitte_session_stop_timing(w->s, "leaf", NULL) != VITTE_OK;
        w->failures += vitte_session_stop_timing(w->s, own, NULL) != VITTE_OK;
        uint64_t ns;
        w->failures += vitte_session_stop_timing(w->s, "work", &ns) != VITTE_OK;
        if (i % 50 == 0) {
            vitte_timing_stats st;
            w->failures += vitte_session_timing_stats(w->s, "work", &st) != VITTE_OK;
        }
    }
    return NULL;
}

static void *foreign_stop(void *arg)
{
    vitte_session *s = arg;
    return (void *)(intptr_t)vitte_session_stop_timing(s, "main_only", NULL);
}

static void test_threads(void **state)
{
    (void)state;
    vitte_manager *mgr = vitte_manager_create(tmpdir);
    vitte_session *s = vitte_manager_start_session(mgr, "threads");
    assert_non_null(s);
    assert_int_equal(vitte_session_start_system_metrics_ex(s, 5000000), VITTE_OK);
    vitte_series *q = vitte_series_create("queue", VITTE_METRIC_GAUGE, "", 1000);
    assert_int_equal(vitte_session_add_series(s, q), VITTE_OK);

    /* a timing belongs to its thread */
    assert_int_equal(vitte_session_start_timing(s, "main_only"), VITTE_OK);
    pthread_t t;
    void *ret;
    assert_int_equal(pthread_create(&t, NULL, foreign_stop, s), 0);
    pthread_join(t, &ret);
    assert_int_equal((int)(intptr_t)ret, VITTE_ENOENT);
    assert_int_equal(vitte_session_stop_timing(s, "main_only", NULL), VITTE_OK);

    struct worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){s, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 200; i++) {
        vitte_series_set(q, (double)i);
        if (i % 50 == 0)
            assert_int_equal(vitte_session_save_report(s, NULL, VITTE_REPORT_JSON), VITTE_OK);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    vitte_timing_stats st;
    assert_int_equal(vitte_session_timing_stats(s, "work", &st), VITTE_OK);
    assert_int_equal(st.count, THREADS * ITERS);
    assert_int_equal(vitte_session_timing_stats(s, "leaf", &st), VITTE_OK);
    assert_int_equal(st.count, THREADS * ITERS);
    assert_int_equal(vitte_session_timing_stats(s, "thread_3", &st), VITTE_OK);
    assert_int_equal(st.count, ITERS);
    assert_int_equal(vitte_manager_stop_session(mgr), VITTE_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/threads/report.json", tmpdir);
    assert_true(json_sane(path));
    assert_true(file_contains(path, "\"thread_0\""));
    assert_true(file_contains(path, "\"queue\""));
    snprintf(path, sizeof path, "%s/threads/flamegraph.svg", tmpdir);
    assert_true(file_contains(path, "leaf"));
    vitte_manager_destroy(mgr);
}

/* Another tracer holds the process: the session records into it and has no
 * trace or flame graph of its own. */
static void test_foreign_tracer(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/other.vittrace", tmpdir);
    vitte_tracer *t = vitte_tracer_create(path);
    assert_non_null(t);
    vitte_manager *mgr = vitte_manager_create(tmpdir);
    vitte_session *s = vitte_manager_start_session(mgr, "guest");
    assert_non_null(s);
    assert_int_equal(vitte_session_start_timing(s, "guest_work"), VITTE_OK);
    assert_int_equal(vitte_session_stop_timing(s, "guest_work", NULL), VITTE_OK);
    assert_int_equal(vitte_session_generate_flamegraph(s, NULL), VITTE_ESTATE);
    assert_int_equal(vitte_manager_stop_session(mgr), VITTE_OK);
    snprintf(path, sizeof path, "%s/guest/report.json", tmpdir);
    assert_true(file_contains(path, "\"trace\": null"));
    assert_true(file_contains(path, "\"guest_work\""));
    snprintf(path, sizeof path, "%s/guest/flamegraph.svg", tmpdir);
    assert_false(file_nonempty(path));
    vitte_manager_destroy(mgr);
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    /* the span went to the other tracer, in the session's module */
    snprintf(path, sizeof path, "%s/other.vittrace", tmpdir);
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_FOLDED;
    o.module = "guest";
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    const char *paths[] = {path};
    assert_int_equal(vitte_trace_export(paths, 1, &o, mem, NULL), VITTE_OK);
    fclose(mem);
    assert_non_null(strstr(buf, "guest_work"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_example_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_tracer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
