/* Unit tests: JSON writer, text buffer and number formatting, and the
 * metrics exporters (Prometheus text, JSON, CSV). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/vitte.h>

#include "common/jsonw.h"
#include "common/alloc.h"
#include "common/textbuf.h"
#include "export/export_metrics.h"

/* ---- helpers ------------------------------------------------------------------------- */

typedef void (*json_fn)(vitte__jsonw *w);

/* Run fn on a fresh writer; return the text (free()) and the writer's error. */
static char *json_of(json_fn fn, unsigned indent, int *err)
{
    vitte__buf b;
    vitte__jsonw w;
    vitte__buf_init_libc(&b);
    vitte__json_init(&w, &b, indent);
    fn(&w);
    *err = vitte__json_finish(&w);
    if (b.err != 0) {
        vitte__buf_free(&b);
        return NULL;
    }
    return vitte__buf_detach(&b, NULL);
}

static char *prom_text(vitte_metrics *m)
{
    char *s = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    assert_non_null(s);
    return s;
}

/* The value of the sample line that starts with prefix (prefix ends before
 * the space), as a double; fails the test if there is none. */
static double sample_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    fail_msg("no sample line starting with %s in:\n%s", prefix, text);
    return NAN;
}

static size_t count_lines_with(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- text buffer and number formatting ------------------------------------------------- */

static void test_fmt_u64(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *s;
    } cases[] = {{0, "0"},
                 {7, "7"},
                 {10, "10"},
                 {99, "99"},
                 {100, "100"},
                 {1000000, "1000000"},
                 {UINT64_MAX, "18446744073709551615"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[VITTE__FMT_U64_MAX + 1];
        size_t n = vitte__fmt_u64(out, cases[i].v);
        out[n] = '\0';
        assert_string_equal(out, cases[i].s);
    }
    vitte__buf b;
    vitte__buf_init_libc(&b);
    vitte__buf_i64(&b, INT64_MIN);
    vitte__buf_putc(&b, ' ');
    vitte__buf_i64(&b, -5);
    char *s = vitte__buf_detach(&b, NULL);
    assert_string_equal(s, "-9223372036854775808 -5");
    free(s);
}

static void test_fmt_double_cases(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {{0.1, "0.1"},       {1.0 / 3.0, "0.3333333333333333"},
                 {0.0, "0"},         {-0.0, "-0"},
                 {1e15, "1e+15"},    {123456789012345.0, "123456789012345"},
                 {2.5, "2.5"},       {1e-7, "1e-07"},
                 {NAN, "NaN"},       {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[VITTE__FMT_DOUBLE_MAX];
        vitte__fmt_double(out, cases[i].v);
        assert_string_equal(out, cases[i].s);
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng_next(void)
{
    /* xorshift64*: enough to spread bit patterns over all exponents */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static void test_fmt_double_round_trip(void **state)
{
    (void)state;
    const double fixed[] = {DBL_MIN,   DBL_MAX, 5e-324, -DBL_MAX,
                            0.1 + 0.2, 1e21,    1e22,   9007199254740993.0,
                            123.456,   1e-300,  4.35,   0.3};
    for (size_t i = 0; i < 100000 + sizeof fixed / sizeof fixed[0]; i++) {
        double v;
        if (i < sizeof fixed / sizeof fixed[0]) {
            v = fixed[i];
        } else {
            uint64_t bits = rng_next();
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v))
                continue;
        }
        char a[VITTE__FMT_DOUBLE_MAX], g[VITTE__FMT_DOUBLE_MAX];
        size_t na = vitte__fmt_double(a, v);
        size_t ng = vitte__fmt_double_go(g, v);
        assert_true(na < VITTE__FMT_DOUBLE_MAX && ng < VITTE__FMT_DOUBLE_MAX);
        if (strtod(a, NULL) != v || strtod(g, NULL) != v)
            fail_msg("%.17g printed as %s / %s", v, a, g);
        /* no more digits than needed: %.15g is tried first */
        char p15[40];
        snprintf(p15, sizeof p15, "%.15g", v);
        if (strtod(p15, NULL) == v && strcmp(p15, a) != 0)
            fail_msg("%.17g: expected %s, got %s", v, p15, a);
    }
}

static void test_fmt_double_go(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {{0.005, "0.005"},
                 {0.01, "0.01"},
                 {0.025, "0.025"},
                 {2.5, "2.5"},
                 {1, "1"},
                 {100, "100"},
                 {123456, "123456"},
                 {1e6, "1e+06"},
                 {1234567, "1.234567e+06"},
                 {1e-6, "1e-06"},
                 {2.5e-6, "2.5e-06"},
                 {0.0001, "0.0001"},
                 {1e-5, "1e-05"},
                 {0.00025, "0.00025"},
                 {-1.5, "-1.5"},
                 {1e100, "1e+100"},
                 {0.1, "0.1"},
                 {0.0, "0"},
                 {-0.0, "-0"},
                 {NAN, "NaN"},
                 {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"},
                 {999999.5, "999999.5"},
                 {1.5e300, "1.5e+300"},
                 {5e-324, "5e-324"},
                 {1.2345678901234568e+17, "1.2345678901234568e+17"},
                 {0.1 + 0.2, "0.30000000000000004"},
                 {12345.678, "12345.678"},
                 {1e21, "1e+21"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[VITTE__FMT_DOUBLE_MAX];
        vitte__fmt_double_go(out, cases[i].v);
        if (strcmp(out, cases[i].s) != 0)
            fail_msg("%.17g: expected %s, got %s", cases[i].v, cases[i].s, out);
    }
}

static void test_fmt_double_locale(void **state)
{
    (void)state;
    const char *locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE.utf8", "fr_FR.utf8"};
    const char *set = NULL;
    for (size_t i = 0; i < 4 && set == NULL; i++)
        set = setlocale(LC_NUMERIC, locales[i]);
    if (set == NULL)
        skip(); /* no locale with a decimal comma installed */
    char out[VITTE__FMT_DOUBLE_MAX];
    vitte__fmt_double(out, 0.25);
    assert_string_equal(out, "0.25");
    vitte__fmt_double_go(out, 1.0 / 3.0);
    assert_string_equal(out, "0.3333333333333333");
    setlocale(LC_NUMERIC, "C");
}

static void test_utf8_seq_len(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        {"a", 1},
        {"\xC3\xA9", 2},         /* é */
        {"\xE2\x9C\x93", 3},     /* ✓ */
        {"\xF0\x9F\x98\x80", 4}, /* 😀 */
        {"\x80", 0},             /* stray continuation */
        {"\xC0\xAF", 0},         /* overlong '/' */
        {"\xE0\x80\xAF", 0},     /* overlong */
        {"\xED\xA0\x80", 0},     /* surrogate */
        {"\xF4\x90\x80\x80", 0}, /* above U+10FFFF */
        {"\xF5\x80\x80\x80", 0}, /* invalid lead */
        {"\xE2\x9C", 0},         /* truncated */
        {"\xF4\x8F\xBF\xBF", 4}, /* U+10FFFF */
        {"\xEF\xBF\xBD", 3},     /* U+FFFD */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(vitte__utf8_seq_len((const unsigned char *)cases[i].s, strlen(cases[i].s)),
                         cases[i].n);
}

static void test_buf_file_chunks(void **state)
{
    (void)state;
    /* More than one chunk, plus one append larger than a chunk. */
    FILE *f = tmpfile();
    assert_non_null(f);
    vitte__buf b;
    vitte__buf_init_file(&b, f);
    size_t expect = 0;
    for (int i = 0; i < 50000; i++) {
        vitte__buf_puts(&b, "0123456789");
        expect += 10;
    }
    size_t big = 3 * VITTE__BUF_FILE_CHUNK;
    char *blob = malloc(big);
    assert_non_null(blob);
    memset(blob, 'x', big);
    vitte__buf_append(&b, blob, big);
    expect += big;
    free(blob);
    assert_int_equal(vitte__buf_flush(&b), 0);
    vitte__buf_free(&b);
    assert_int_equal(ftell(f), (long)expect);
    fclose(f);
}

/* ---- JSON writer ------------------------------------------------------------------------ */

static void json_escapes(vitte__jsonw *w)
{
    static const char s[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f"
                            "\xC3\xA9\xF0\x9F\x98\x80"
                            "\xFF\xC0\xAF\xED\xA0\x80|\xE2\x9C";
    vitte__json_string_n(w, s, sizeof s - 1);
}

static void test_json_escaping(void **state)
{
    (void)state;
    int err;
    char *s = json_of(json_escapes, 0, &err);
    assert_int_equal(err, 0);
    assert_string_equal(s, "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f"
                           "\xC3\xA9\xF0\x9F\x98\x80"
                           /* each invalid byte becomes one U+FFFD */
                           "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                           "\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\"");
    free(s);
}

static void json_nul(vitte__jsonw *w)
{
    vitte__json_string_n(w, "a\0b", 3);
}

static void json_document(vitte__jsonw *w)
{
    vitte__json_begin_object(w);
    vitte__json_kv_string(w, "name", "x");
    vitte__json_kv_int(w, "neg", -3);
    vitte__json_kv_uint(w, "big", UINT64_MAX);
    vitte__json_kv_double(w, "d", 0.1);
    vitte__json_kv_double(w, "nan", NAN);
    vitte__json_kv_double(w, "inf", -INFINITY);
    vitte__json_kv_bool(w, "t", 1);
    vitte__json_kv_bool(w, "f", 0);
    vitte__json_key(w, "n");
    vitte__json_null(w);
    vitte__json_kv_string(w, "s", NULL);
    vitte__json_key(w, "empty_a");
    vitte__json_begin_array(w);
    vitte__json_end_array(w);
    vitte__json_key(w, "empty_o");
    vitte__json_begin_object(w);
    vitte__json_end_object(w);
    vitte__json_key(w, "a");
    vitte__json_begin_array(w);
    vitte__json_uint(w, 1);
    vitte__json_begin_array_compact(w);
    vitte__json_double(w, 1.5);
    vitte__json_string(w, "z");
    vitte__json_end_array(w);
    vitte__json_raw(w, "{}", 2);
    vitte__json_begin_object_compact(w);
    vitte__json_kv_uint(w, "k", 1);
    vitte__json_key(w, "l");
    vitte__json_begin_array(w);
    vitte__json_end_array(w);
    vitte__json_end_object(w);
    vitte__json_end_array(w);
    vitte__json_end_object(w);
}

static void test_json_document(void **state)
{
    (void)state;
    int err;
    char *s = json_of(json_nul, 0, &err);
    assert_string_equal(s, "\"a\\u0000b\"");
    free(s);

    s = json_of(json_document, 0, &err);
    assert_int_equal(err, 0);
    assert_string_equal(
        s, "{\"name\":\"x\",\"neg\":-3,\"big\":18446744073709551615,\"d\":0.1,"
           "\"nan\":null,\"inf\":null,\"t\":true,\"f\":false,\"n\":null,\"s\":null,"
           "\"empty_a\":[],\"empty_o\":{},\"a\":[1,[1.5,\"z\"],{},{\"k\":1,\"l\":[]}]}");
    free(s);

    s = json_of(json_document, 2, &err);
    assert_int_equal(err, 0);
    assert_string_equal(s, "{\n"
                           "  \"name\": \"x\",\n"
                           "  \"neg\": -3,\n"
                           "  \"big\": 18446744073709551615,\n"
                           "  \"d\": 0.1,\n"
                           "  \"nan\": null,\n"
                           "  \"inf\": null,\n"
                           "  \"t\": true,\n"
                           "  \"f\": false,\n"
                           "  \"n\": null,\n"
                           "  \"s\": null,\n"
                           "  \"empty_a\": [],\n"
                           "  \"empty_o\": {},\n"
                           "  \"a\": [\n"
                           "    1,\n"
                           "    [1.5, \"z\"],\n"
                           "    {},\n"
                           "    {\"k\": 1, \"l\": []}\n"
                           "  ]\n"
                           "}");
    free(s);
}

static void json_value_without_key(vitte__jsonw *w)
{
    vitte__json_begin_object(w);
    vitte__json_uint(w, 1);
    vitte__json_end_object(w);
}

static void json_key_in_array(vitte__jsonw *w)
{
    vitte__json_begin_array(w);
    vitte__json_key(w, "k");
}

static void json_mismatch(vitte__jsonw *w)
{
    vitte__json_begin_array(w);
    vitte__json_end_object(w);
}

static void json_unclosed(vitte__jsonw *w)
{
    vitte__json_begin_object(w);
    vitte__json_key(w, "k");
}

static void json_too_deep(vitte__jsonw *w)
{
    for (int i = 0; i < VITTE__JSON_MAX_DEPTH + 1; i++)
        vitte__json_begin_array(w);
}

static void json_lines(vitte__jsonw *w)
{
    vitte__json_begin_object(w);
    vitte__json_end_object(w);
    vitte__json_uint(w, 2);
}

static void test_json_misuse(void **state)
{
    (void)state;
    json_fn bad[] = {json_value_without_key, json_key_in_array, json_mismatch, json_unclosed,
                     json_too_deep};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int err = 0;
        char *s = json_of(bad[i], 0, &err);
        assert_int_equal(err, VITTE_ESTATE);
        free(s);
    }
    int err;
    char *s = json_of(json_lines, 0, &err);
    assert_int_equal(err, 0);
    assert_string_equal(s, "{}\n2");
    free(s);
}

/* ---- Prometheus ----------------------------------------------------------------------- */

static void test_prom_counter_gauge(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    assert_non_null(m);
    const char *get[] = {"method", "GET", "code", "200", NULL};
    const char *post[] = {"method", "POST", "code", "500", NULL};
    vitte_counter *c1 = vitte_metrics_counter(m, "http.requests-count/x", "Requests.", get);
    vitte_counter *c2 = vitte_metrics_counter(m, "http.requests-count/x", "Requests.", post);
    assert_non_null(c1);
    assert_non_null(c2);
    vitte_counter_add(c1, 3);
    vitte_counter_inc(c2);
    vitte_counter *done = vitte_metrics_counter(m, "jobs_total", "Jobs.", NULL);
    vitte_counter_add(done, 18446744073709551615u);
    vitte_gauge *g = vitte_metrics_gauge(m, "queue_depth", "Line one\nline two \\ end", NULL);
    vitte_gauge_set(g, -2.5);
    vitte_gauge *gn = vitte_metrics_gauge(m, "ratio_nan", "NaN gauge.", NULL);
    vitte_gauge_set(gn, NAN);
    vitte_gauge *gi = vitte_metrics_gauge(m, "ratio_inf", NULL, NULL);
    vitte_gauge_set(gi, INFINITY);

    char *s = prom_text(m);
    assert_string_equal(s, "# HELP http_requests_count_x_total Requests.\n"
                           "# TYPE http_requests_count_x_total counter\n"
                           "http_requests_count_x_total{code=\"200\",method=\"GET\"} 3\n"
                           "http_requests_count_x_total{code=\"500\",method=\"POST\"} 1\n"
                           "# HELP jobs_total Jobs.\n"
                           "# TYPE jobs_total counter\n"
                           "jobs_total 18446744073709551615\n"
                           "# HELP queue_depth Line one\\nline two \\\\ end\n"
                           "# TYPE queue_depth gauge\n"
                           "queue_depth -2.5\n"
                           "# HELP ratio_nan NaN gauge.\n"
                           "# TYPE ratio_nan gauge\n"
                           "ratio_nan NaN\n"
                           "# HELP ratio_inf ratio_inf\n"
                           "# TYPE ratio_inf gauge\n"
                           "ratio_inf +Inf\n");
    free(s);
    vitte_metrics_destroy(m);
}

static void test_prom_hostile_labels(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    const char *hostile[] = {"path", "a\"b\\c\nd \xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80", NULL};
    const char *invalid[] = {"path",
                             "bad\xFF\xC0"
                             "end",
                             NULL};
    const char *commas[] = {"path", "x,y;z=w", NULL};
    vitte_counter_inc(vitte_metrics_counter(m, "hostile", "Hostile.", hostile));
    vitte_counter_inc(vitte_metrics_counter(m, "hostile", "Hostile.", invalid));
    vitte_counter_inc(vitte_metrics_counter(m, "hostile", "Hostile.", commas));
    char *s = prom_text(m);
    assert_string_equal(s, "# HELP hostile_total Hostile.\n"
                           "# TYPE hostile_total counter\n"
                           "hostile_total{path=\"a\\\"b\\\\c\\nd \xC3\xA9 \xE2\x9C\x93 "
                           "\xF0\x9F\x98\x80\"} 1\n"
                           "hostile_total{path=\"bad\xEF\xBF\xBD\xEF\xBF\xBD"
                           "end\"} 1\n"
                           "hostile_total{path=\"x,y;z=w\"} 1\n");
    free(s);

    /* The same values through JSON and CSV. */
    char *j = vitte_metrics_to_json(m);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"path\": \"a\\\"b\\\\c\\nd \xC3\xA9 \xE2\x9C\x93 "
                              "\xF0\x9F\x98\x80\""));
    assert_non_null(strstr(j, "\"path\": \"bad\xEF\xBF\xBD\xEF\xBF\xBD"
                              "end\""));
    free(j);
    char *c = vitte_metrics_to_string(m, VITTE_FORMAT_CSV);
    assert_non_null(c);
    assert_string_equal(c, "name,type,unit,labels,stat,value\r\n"
                           "hostile,counter,,\"path=a\"\"b\\\\c\nd \xC3\xA9 \xE2\x9C\x93 "
                           "\xF0\x9F\x98\x80\",value,1\r\n"
                           "hostile,counter,,path=bad\xEF\xBF\xBD\xEF\xBF\xBD"
                           "end,value,1\r\n"
                           "hostile,counter,,\"path=x,y\\;z\\=w\",value,1\r\n");
    free(c);
    vitte_metrics_destroy(m);
}

static void test_prom_histogram(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    static const double bounds[] = {1, 2, 5};
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    cfg.bounds = bounds;
    cfg.n_bounds = 3;
    cfg.unit = "bytes";
    const char *l[] = {"op", "read", NULL};
    vitte_histogram *h = NULL;
    assert_int_equal(vitte_metrics_add_histogram(m, "io.size", "Sizes.", l, &cfg, &h), VITTE_OK);
    const double v[] = {0.5, 1.5, 1.5, 3, 10};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(vitte_histogram_record(h, v[i]), VITTE_OK);
    assert_int_equal(vitte_histogram_record(h, -1), VITTE_ERANGE);

    char *s = prom_text(m);
    assert_string_equal(s, "# HELP io_size_bytes Sizes.\n"
                           "# TYPE io_size_bytes histogram\n"
                           "io_size_bytes_bucket{op=\"read\",le=\"1\"} 1\n"
                           "io_size_bytes_bucket{op=\"read\",le=\"2\"} 3\n"
                           "io_size_bytes_bucket{op=\"read\",le=\"5\"} 4\n"
                           "io_size_bytes_bucket{op=\"read\",le=\"+Inf\"} 5\n"
                           "io_size_bytes_sum{op=\"read\"} 16.5\n"
                           "io_size_bytes_count{op=\"read\"} 5\n");
    free(s);

    char *j = vitte_metrics_to_json(m);
    assert_non_null(strstr(j, "\"count\": 5"));
    assert_non_null(strstr(j, "\"sum\": 16.5"));
    assert_non_null(strstr(j, "\"rejected\": 1"));
    assert_non_null(strstr(j, "\"min\": 0.5"));
    assert_non_null(strstr(j, "\"max\": 10"));
    free(j);
    char *c = vitte_metrics_to_string(m, VITTE_FORMAT_CSV);
    assert_non_null(strstr(c, "io.size,histogram,bytes,op=read,count,5\r\n"));
    assert_non_null(strstr(c, "io.size,histogram,bytes,op=read,le=2,3\r\n"));
    assert_non_null(strstr(c, "io.size,histogram,bytes,op=read,le=+Inf,5\r\n"));
    assert_non_null(strstr(c, "io.size,histogram,bytes,op=read,rejected,1\r\n"));
    free(c);
    vitte_metrics_destroy(m);
}

/* Timers record nanoseconds and export seconds: buckets over the default
 * seconds ladder must be cumulative and end at the count. */
static void test_prom_timer_cumulative(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_histogram *h = vitte_metrics_timer(m, "op.latency", "Latency.", NULL);
    assert_non_null(h);
    uint64_t expect = 0;
    double sum_ns = 0;
    for (uint64_t ns = 100; ns < 50000000000u; ns = ns * 3 / 2 + 7) {
        vitte_histogram_record(h, (double)ns);
        expect++;
        sum_ns += (double)ns;
    }
    char *s = prom_text(m);
    assert_non_null(strstr(s, "# TYPE op_latency_seconds histogram\n"));
    assert_non_null(strstr(s, "op_latency_seconds_bucket{le=\"1e-06\"} "));
    assert_non_null(strstr(s, "op_latency_seconds_bucket{le=\"0.005\"} "));
    assert_non_null(strstr(s, "op_latency_seconds_bucket{le=\"100\"} "));
    double prev = 0;
    size_t n = 0;
    for (const char *p = strstr(s, "op_latency_seconds_bucket{"); p != NULL;
         p = strstr(p + 1, "op_latency_seconds_bucket{")) {
        double v = strtod(strchr(p, ' ') + 1, NULL);
        assert_true(v >= prev);
        prev = v;
        n++;
    }
    assert_int_equal(n, 26); /* 1, 2.5, 5 x 10^-6..10^1 and 100: 25 bounds, plus +Inf */
    assert_true(prev == (double)expect);
    assert_true(sample_value(s, "op_latency_seconds_bucket{le=\"+Inf\"}") ==
                sample_value(s, "op_latency_seconds_count"));
    assert_true(fabs(sample_value(s, "op_latency_seconds_sum") - sum_ns * 1e-9) <=
                1e-9 * sum_ns * 1e-9);
    /* le=1e-06 holds 100 ns .. 1 us: a handful of the values, not zero. */
    double small = sample_value(s, "op_latency_seconds_bucket{le=\"1e-06\"}");
    assert_true(small > 0 && small < (double)expect);
    free(s);
    vitte_metrics_destroy(m);
}

static void test_prom_total_rule(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_counter_inc(vitte_metrics_counter(m, "a_total", "A.", NULL));
    vitte_counter_inc(vitte_metrics_counter(m, "b.total", "B.", NULL));
    vitte_counter_inc(vitte_metrics_counter(m, "c_totals", "C.", NULL));
    vitte_meter_mark(vitte_metrics_meter(m, "frames", "Frames.", NULL), 7);
    vitte_meter_mark(vitte_metrics_meter(m, "ticks_total", "Ticks.", NULL), 2);
    char *s = prom_text(m);
    assert_non_null(strstr(s, "# TYPE a_total counter\na_total 1\n"));
    assert_non_null(strstr(s, "# TYPE b_total counter\nb_total 1\n"));
    assert_non_null(strstr(s, "# TYPE c_totals_total counter\nc_totals_total 1\n"));
    assert_non_null(strstr(s, "# TYPE frames_total counter\nframes_total 7\n"));
    assert_non_null(strstr(s, "# TYPE ticks_total counter\nticks_total 2\n"));
    assert_null(strstr(s, "_total_total"));
    free(s);
    vitte_metrics_destroy(m);
}

static void test_prom_unit_suffix(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    cfg.unit = "seconds";
    vitte_histogram *h = NULL;
    assert_int_equal(vitte_metrics_add_histogram(m, "wait_seconds", "W.", NULL, &cfg, &h), 0);
    vitte_histogram_record(h, 0.25);
    cfg.unit = "bytes";
    assert_int_equal(vitte_metrics_add_histogram(m, "payload", "P.", NULL, &cfg, &h), 0);
    cfg.unit = "ms"; /* not a base unit: no suffix */
    assert_int_equal(vitte_metrics_add_histogram(m, "legacy", "L.", NULL, &cfg, &h), 0);
    char *s = prom_text(m);
    assert_non_null(strstr(s, "# TYPE wait_seconds histogram\n"));
    assert_null(strstr(s, "wait_seconds_seconds"));
    assert_non_null(strstr(s, "# TYPE payload_bytes histogram\n"));
    assert_non_null(strstr(s, "# TYPE legacy histogram\n"));
    /* An empty histogram still has every bucket, at 0. */
    assert_non_null(strstr(s, "payload_bytes_bucket{le=\"+Inf\"} 0\n"));
    assert_non_null(strstr(s, "payload_bytes_sum 0\npayload_bytes_count 0\n"));
    free(s);
    vitte_metrics_destroy(m);
}

static void test_prom_series_summary(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_series *sr = vitte_series_create("frame.time", VITTE_METRIC_LATENCY, "seconds", 8);
    assert_non_null(sr);
    for (int i = 1; i <= 4; i++)
        vitte_series_set(sr, i);
    const char *l[] = {"scene", "intro", NULL};
    assert_int_equal(vitte_metrics_add_series(m, sr, "Frame times.", l), VITTE_OK);
    vitte_series *empty = vitte_series_create("idle", VITTE_METRIC_GAUGE, "", 4);
    assert_int_equal(vitte_metrics_add_series(m, empty, "Idle.", NULL), VITTE_OK);

    char *s = prom_text(m);
    assert_non_null(strstr(s, "# HELP frame_time_seconds Frame times.\n"
                              "# TYPE frame_time_seconds summary\n"
                              "frame_time_seconds{scene=\"intro\",quantile=\"0.5\"} 2.5\n"));
    assert_non_null(strstr(s, "frame_time_seconds{scene=\"intro\",quantile=\"0.9\"} "));
    assert_non_null(strstr(s, "frame_time_seconds{scene=\"intro\",quantile=\"0.99\"} "));
    assert_non_null(strstr(s, "frame_time_seconds_sum{scene=\"intro\"} 10\n"
                              "frame_time_seconds_count{scene=\"intro\"} 4\n"));
    assert_non_null(strstr(s, "# TYPE idle summary\nidle{quantile=\"0.5\"} NaN\n"));
    assert_non_null(strstr(s, "idle_sum 0\nidle_count 0\n"));
    free(s);

    char *j = vitte_metrics_to_json(m);
    assert_non_null(strstr(j, "\"values\": [1, 2, 3, 4]"));
    assert_non_null(strstr(j, "\"kind\": \"latency\""));
    assert_non_null(strstr(j, "\"total_count\": 4"));
    assert_non_null(strstr(j, "\"values\": []"));
    free(j);
    vitte_metrics_destroy(m);
}

static void test_empty_registry(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    char *s = prom_text(m);
    assert_string_equal(s, "");
    free(s);
    s = vitte_metrics_to_string(m, VITTE_FORMAT_CSV);
    assert_string_equal(s, "name,type,unit,labels,stat,value\r\n");
    free(s);
    s = vitte_metrics_to_json(m);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"format\": \"vitte-metrics\""));
    assert_non_null(strstr(s, "\"version\": 1,"));
    assert_non_null(strstr(s, "\"metrics\": []\n}\n"));
    free(s);
    vitte_metrics_destroy(m);
}

static void test_null_args(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    assert_int_equal(vitte_metrics_write(NULL, VITTE_FORMAT_JSON, stdout), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_write(m, VITTE_FORMAT_JSON, NULL), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_write(m, (vitte_format)0, stdout), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_write(m, (vitte_format)42, stdout), VITTE_EINVAL);
    assert_null(vitte_metrics_to_string(NULL, VITTE_FORMAT_PROMETHEUS));
    assert_null(vitte_metrics_to_string(m, (vitte_format)9));
    assert_null(vitte_metrics_to_json(NULL));
    vitte_metrics_destroy(m);
}

static void test_write_dev_full(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (f == NULL)
        skip();
    vitte_metrics *m = vitte_metrics_create();
    vitte_counter_inc(vitte_metrics_counter(m, "c", "C.", NULL));
    assert_int_equal(vitte_metrics_write(m, VITTE_FORMAT_PROMETHEUS, f), VITTE_ENOSPC);
    assert_int_equal(vitte_metrics_write(m, VITTE_FORMAT_JSON, f), VITTE_ENOSPC);
    fclose(f);
    /* A stream opened for reading only: the write fails with EBADF. */
    f = fopen("/dev/null", "r");
    assert_non_null(f);
    assert_int_equal(vitte_metrics_write(m, VITTE_FORMAT_CSV, f), VITTE_EIO);
    fclose(f);
    vitte_metrics_destroy(m);
}

/* Streaming through many 64 KiB chunks gives exactly the in-memory text. */
static void test_write_matches_string(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    assert_int_equal(vitte_metrics_set_max_series(m, 5000), VITTE_OK);
    char val[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(val, sizeof val, "worker-%d", i);
        const char *l[] = {"worker", val, NULL};
        vitte_counter_add(vitte_metrics_counter(m, "work_items", "Items.", l), (uint64_t)i * 7);
        vitte_gauge_set(vitte_metrics_gauge(m, "load", "Load.", l), i / 8.0);
    }
    char *s = prom_text(m);
    FILE *f = tmpfile();
    assert_int_equal(vitte_metrics_write(m, VITTE_FORMAT_PROMETHEUS, f), VITTE_OK);
    long len = ftell(f);
    assert_int_equal(len, (long)strlen(s));
    assert_true(len > (long)(2 * VITTE__BUF_FILE_CHUNK));
    char *back = malloc((size_t)len + 1);
    rewind(f);
    assert_int_equal(fread(back, 1, (size_t)len, f), (size_t)len);
    back[len] = '\0';
    assert_string_equal(back, s);
    assert_int_equal(count_lines_with(s, "work_items_total{worker=\""), 5000);
    free(back);
    free(s);
    fclose(f);
    vitte_metrics_destroy(m);
}

/* The seed example: a timer recorded into the registry, exported as JSON. */
static void test_seed_timer_json(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_timer t = vitte_timer_start("calcul_intensif");
    volatile double acc = 0;
    for (int i = 0; i < 1000; i++)
        acc += i * 0.5;
    vitte_timer_stop(&t);
    assert_int_equal(vitte_metrics_insert_timer(m, &t), VITTE_OK);
    char *json = vitte_metrics_to_json(m);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"name\": \"calcul_intensif\""));
    assert_non_null(strstr(json, "\"type\": \"histogram\""));
    assert_non_null(strstr(json, "\"unit\": \"seconds\""));
    assert_non_null(strstr(json, "\"export_scale\": 1e-09"));
    assert_non_null(strstr(json, "\"count\": 1,"));
    free(json);
    char *p = prom_text(m);
    assert_non_null(strstr(p, "calcul_intensif_seconds_count 1\n"));
    free(p);
    vitte_metrics_destroy(m);
}

/* The exporters' one-pass cumulative counts must equal what
 * vitte_histogram_snapshot_count_le() gives bound by bound (made
 * non-decreasing the same way). */
static void check_cumulative(vitte_histogram *h, const double *bounds, size_t n)
{
    vitte__mexp_hist hs;
    assert_int_equal(vitte__export_hist_read(h, 0, &hs), VITTE_OK);
    vitte__mexp_cum cum;
    vitte__export_cum_init(&cum, &hs);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t want = vitte_histogram_snapshot_count_le(hs.snap, bounds[i] / hs.scale);
        if (want < prev)
            want = prev;
        if (want > hs.count)
            want = hs.count;
        prev = want;
        uint64_t got = vitte__export_cum_next(&cum, bounds[i]);
        if (got != want)
            fail_msg("bound %.17g (#%zu): one-pass %llu, count_le %llu", bounds[i], i,
                     (unsigned long long)got, (unsigned long long)want);
    }
    vitte__export_hist_release(&hs);
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * 0x1p-53;
}

static void test_cumulative_matches_count_le(void **state)
{
    (void)state;
    for (int round = 0; round < 60; round++) {
        vitte_histogram_config cfg;
        vitte_histogram_config_init(&cfg);
        if (round % 3 == 1) {
            cfg.lowest = 1;
            cfg.highest = 1000; /* values below and above: zero and overflow buckets */
            cfg.max_relative_error = 0.05;
        } else if (round % 3 == 2) {
            cfg.export_scale = 1e-9;
            cfg.unit = "seconds";
        }
        vitte_histogram *h = NULL;
        assert_int_equal(vitte_histogram_create(&cfg, &h), VITTE_OK);
        double top = round % 3 == 2 ? 1e10 : 5000;
        int nvals = round % 7 == 0 ? 0 : 1 + (int)(rng_next() % 2000);
        for (int i = 0; i < nvals; i++) {
            double u = rng_unit();
            double v = u < 0.05 ? 0.0 : top * pow(rng_unit(), 4);
            vitte_histogram_record(h, v);
        }
        /* increasing bounds: random ones, the histogram's own edges and
         * midpoints, negative ones, the maximum itself */
        double b[400];
        size_t nb = 0;
        double max = vitte_histogram_max(h) * vitte_histogram_export_scale(h);
        double scale = vitte_histogram_export_scale(h);
        b[nb++] = -1;
        vitte_histogram_snapshot *snap = NULL;
        assert_int_equal(vitte_histogram_snapshot_create(h, &snap), VITTE_OK);
        vitte_histogram_iter it;
        vitte_histogram_bucket bk;
        vitte_histogram_iter_init(&it, snap);
        while (nb < 300 && vitte_histogram_iter_next(&it, &bk)) {
            if (isfinite(bk.upper)) {
                b[nb++] = bk.lower * scale;
                b[nb++] = (bk.lower + (bk.upper - bk.lower) / 2) * scale;
            }
        }
        vitte_histogram_snapshot_destroy(snap);
        for (int i = 0; i < 60; i++)
            b[nb++] = top * scale * rng_unit() * 1.5;
        if (isfinite(max))
            b[nb++] = max;
        /* sort, drop duplicates */
        for (size_t i = 1; i < nb; i++)
            for (size_t j = i; j > 0 && b[j - 1] > b[j]; j--) {
                double t = b[j];
                b[j] = b[j - 1];
                b[j - 1] = t;
            }
        size_t w = 0;
        for (size_t i = 0; i < nb; i++)
            if (w == 0 || b[i] > b[w - 1])
                b[w++] = b[i];
        check_cumulative(h, b, w);
        vitte_histogram_destroy(h);
    }
}

/* Nanoseconds exported as seconds read as the decimal a person would write:
 * 1200000 ns is 0.0012, not 0.0012000000000000001 (1e-9 is inexact). */
static void test_timer_scale_exact(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_histogram *h = vitte_metrics_timer(m, "q", "Q.", NULL);
    vitte_histogram_record(h, 1.2e6);
    vitte_histogram_record(h, 45.5e6);
    char *p = prom_text(m);
    assert_non_null(strstr(p, "q_seconds_sum 0.0467\n"));
    free(p);
    char *j = vitte_metrics_to_json(m);
    assert_non_null(strstr(j, "\"min\": 0.0012,"));
    assert_non_null(strstr(j, "\"sum\": 0.0467,"));
    free(j);
    vitte_metrics_destroy(m);
}

/* ---- exports while other threads record ---------------------------------------------------- */

struct recorder {
    vitte_histogram *h;
    vitte_counter *c;
    atomic_int *stop;
};

static void *record_loop(void *arg)
{
    const struct recorder *r = arg;
    for (uint64_t i = 0; !atomic_load(r->stop); i++) {
        vitte_histogram_record(r->h, (double)(i % 5000) * 1000.0);
        vitte_counter_inc(r->c);
    }
    return NULL;
}

static void test_export_while_recording(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    atomic_int stop = 0;
    struct recorder r = {vitte_metrics_timer(m, "busy", "Busy.", NULL),
                         vitte_metrics_counter(m, "ops", "Ops.", NULL), &stop};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, record_loop, &r), 0);
    /* The exports take microseconds: let the recorders start first (bounded). */
    uint64_t t0 = vitte_now_ns();
    while (vitte_counter_value(r.c) < 1000 && vitte_now_ns() - t0 < 5000000000u)
        ;
    assert_true(vitte_counter_value(r.c) >= 1000);
    double last_ops = 0;
    for (int round = 0; round < 40; round++) {
        char *s = prom_text(m);
        double inf = sample_value(s, "busy_seconds_bucket{le=\"+Inf\"}");
        assert_true(inf == sample_value(s, "busy_seconds_count"));
        double prev = 0;
        for (const char *p = strstr(s, "busy_seconds_bucket{"); p != NULL;
             p = strstr(p + 1, "busy_seconds_bucket{")) {
            double v = strtod(strchr(p, ' ') + 1, NULL);
            assert_true(v >= prev);
            prev = v;
        }
        double ops = sample_value(s, "ops_total");
        assert_true(ops >= last_ops);
        last_ops = ops;
        free(s);
        char *j = vitte_metrics_to_json(m);
        assert_non_null(j);
        free(j);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_true(last_ops >= 1000);
    assert_true((double)vitte_counter_value(r.c) >= last_ops);
    vitte_metrics_destroy(m);
}

/* ---- allocation failures --------------------------------------------------------------------- */

static long alloc_budget = -1; /* allocations left before failing; -1: unlimited */

static void *failing_malloc(size_t n, void *ud)
{
    (void)ud;
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(n);
}

static void *failing_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return realloc(p, n);
}

static void plain_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static void test_export_out_of_memory(void **state)
{
    (void)state;
    /* The hooks pass through to malloc, so objects made before they were set
     * are safely released through them. */
    const vitte_allocator hooks = {failing_malloc, failing_realloc, plain_free, NULL};
    assert_int_equal(vitte_set_allocator(&hooks), VITTE_OK);
    vitte_metrics *m = vitte_metrics_create();
    const char *l[] = {"k", "v", NULL};
    vitte_counter_inc(vitte_metrics_counter(m, "c", "C.", l));
    vitte_histogram_record(vitte_metrics_timer(m, "t", "T.", l), 1000);
    vitte_series *sr = vitte_series_create("s", VITTE_METRIC_CUSTOM, "", 4);
    vitte_series_set(sr, 1);
    assert_int_equal(vitte_metrics_add_series(m, sr, "S.", NULL), VITTE_OK);
    const vitte_format formats[] = {VITTE_FORMAT_PROMETHEUS, VITTE_FORMAT_JSON, VITTE_FORMAT_CSV};
    for (size_t fi = 0; fi < 3; fi++) {
        int ok = 0;
        for (long budget = 0; budget < 100 && !ok; budget++) {
            FILE *f = tmpfile();
            alloc_budget = budget;
            int rc = vitte_metrics_write(m, formats[fi], f);
            alloc_budget = -1;
            fclose(f);
            assert_true(rc == VITTE_OK || rc == VITTE_ENOMEM);
            ok = rc == VITTE_OK;
        }
        assert_true(ok);
    }
    vitte_metrics_destroy(m);
    assert_int_equal(vitte_set_allocator(NULL), VITTE_OK);
}

/* vitte__buf_printf never truncates, in memory and in file mode. */
static void test_buf_printf(void **state)
{
    (void)state;
    static char big[100001];
    memset(big, 'x', sizeof big - 1);
    vitte__buf b;
    vitte__buf_init(&b);
    vitte__buf_printf(&b, "%d-%s", 42, "ab");
    vitte__buf_printf(&b, "[%s]", big);
    size_t len;
    char *text = vitte__buf_detach(&b, &len);
    assert_non_null(text);
    assert_int_equal(len, 5 + sizeof big - 1 + 2);
    assert_memory_equal(text, "42-ab[x", 7);
    assert_int_equal(text[len - 1], ']');
    vitte__free(text);

    FILE *f = tmpfile();
    assert_non_null(f);
    vitte__buf_init_file(&b, f);
    vitte__buf_puts(&b, "head ");
    vitte__buf_printf(&b, "%s|", big); /* longer than the file chunk */
    assert_int_equal(vitte__buf_flush(&b), 0);
    vitte__buf_free(&b);
    assert_int_equal(ftell(f), (long)(5 + sizeof big));
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_u64),
        cmocka_unit_test(test_fmt_double_cases),
        cmocka_unit_test(test_fmt_double_round_trip),
        cmocka_unit_test(test_fmt_double_go),
        cmocka_unit_test(test_buf_printf),
        cmocka_unit_test(test_fmt_double_locale),
        cmocka_unit_test(test_utf8_seq_len),
        cmocka_unit_test(test_buf_file_chunks),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_json_misuse),
        cmocka_unit_test(test_prom_counter_gauge),
        cmocka_unit_test(test_prom_hostile_labels),
        cmocka_unit_test(test_prom_histogram),
        cmocka_unit_test(test_prom_timer_cumulative),
        cmocka_unit_test(test_cumulative_matches_count_le),
        cmocka_unit_test(test_prom_total_rule),
        cmocka_unit_test(test_prom_unit_suffix),
        cmocka_unit_test(test_prom_series_summary),
        cmocka_unit_test(test_empty_registry),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_write_dev_full),
        cmocka_unit_test(test_write_matches_string),
        cmocka_unit_test(test_seed_timer_json),
        cmocka_unit_test(test_timer_scale_exact),
        cmocka_unit_test(test_export_while_recording),
        cmocka_unit_test(test_export_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
