/* Counters, gauges, histograms, meters, series and the registry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <vitte/vitte.h>

/* ---- a deterministic generator (xoshiro-like splitmix) ------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double rng_unit(void) /* (0, 1) */
{
    return ((double)(rng_u64() >> 11) + 0.5) / 9007199254740992.0;
}
static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- counters ---------------------------------------------------------------- */

static void test_counter_basic(void **state)
{
    (void)state;
    vitte_counter *c;
    assert_int_equal(vitte_counter_create(NULL), VITTE_EINVAL);
    assert_int_equal(vitte_counter_create(&c), VITTE_OK);
    assert_int_equal(vitte_counter_value(c), 0);
    vitte_counter_add(c, 5);
    vitte_counter_inc(c);
    assert_int_equal(vitte_counter_value(c), 6);
    vitte_counter_add(NULL, 1); /* no crash */
    assert_int_equal(vitte_counter_value(NULL), 0);
    vitte_counter_destroy(c);
    vitte_counter_destroy(NULL);
    /* A new counter reusing the freed id starts from zero. */
    assert_int_equal(vitte_counter_create(&c), VITTE_OK);
    assert_int_equal(vitte_counter_value(c), 0);
    vitte_counter_destroy(c);
}

enum { N_THREADS = 8, N_ADDS = 1000000 };

struct hammer {
    vitte_counter *c;
    vitte_histogram *h;
    int id;
};

static void *hammer_thread(void *arg)
{
    struct hammer *hm = arg;
    for (int i = 0; i < N_ADDS; i++) {
        vitte_counter_add(hm->c, 1);
        if ((i & 15) == 0) /* integers: the sum is exact in a double */
            vitte_histogram_record(hm->h, (double)(1 + (i % 1000)));
    }
    return NULL;
}

static _Atomic int stop_reader;
static void *reader_thread(void *arg)
{
    struct hammer *hm = arg;
    uint64_t prev = 0, prev_h = 0;
    long bad = 0;
    while (!atomic_load(&stop_reader)) {
        uint64_t v = vitte_counter_value(hm->c);
        uint64_t hc = vitte_histogram_count(hm->h);
        if (v < prev || hc < prev_h)
            bad++;
        prev = v;
        prev_h = hc;
    }
    return (void *)bad;
}

/* 8 threads on one counter and one histogram, a reader all along, and the
 * threads exit before the final read (their shards are folded). */
static void test_counter_threads_exact(void **state)
{
    (void)state;
    vitte_counter *c;
    vitte_histogram *h;
    assert_int_equal(vitte_counter_create(&c), VITTE_OK);
    assert_int_equal(vitte_histogram_create(NULL, &h), VITTE_OK);
    pthread_t th[N_THREADS], rd;
    struct hammer hm[N_THREADS];
    atomic_store(&stop_reader, 0);
    pthread_create(&rd, NULL, reader_thread, &(struct hammer){c, h, -1});
    for (int i = 0; i < N_THREADS; i++) {
        hm[i] = (struct hammer){c, h, i};
        pthread_create(&th[i], NULL, hammer_thread, &hm[i]);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop_reader, 1);
    void *bad;
    pthread_join(rd, &bad);
    assert_int_equal((long)bad, 0); /* never went backwards */
    assert_int_equal(vitte_counter_value(c), (uint64_t)N_THREADS * N_ADDS);
    uint64_t per = (N_ADDS + 15) / 16;
    double sum = 0, mx = 0;
    for (int i = 0; i < N_ADDS; i += 16) {
        sum += 1 + (i % 1000);
        mx = fmax(mx, 1 + (i % 1000));
    }
    assert_int_equal(vitte_histogram_count(h), per * N_THREADS);
    assert_true(vitte_histogram_sum(h) == sum * N_THREADS);
    assert_true(vitte_histogram_min(h) == 1.0);
    assert_true(vitte_histogram_max(h) == mx);
    vitte_counter_destroy(c);
    vitte_histogram_destroy(h);
}

/* ---- gauges -------------------------------------------------------------------- */

static void *gauge_thread(void *arg)
{
    for (int i = 0; i < 100000; i++)
        vitte_gauge_add(arg, 0.5);
    return NULL;
}

static void test_gauge(void **state)
{
    (void)state;
    vitte_gauge *g;
    assert_int_equal(vitte_gauge_create(&g), VITTE_OK);
    assert_true(vitte_gauge_value(g) == 0.0);
    vitte_gauge_set(g, 42.5);
    assert_true(vitte_gauge_value(g) == 42.5);
    vitte_gauge_add(g, -2.5);
    assert_true(vitte_gauge_value(g) == 40.0);
    vitte_gauge_set(g, 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, gauge_thread, g);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(vitte_gauge_value(g) == 200000.0); /* halves add exactly */
    vitte_gauge_set(NULL, 1);
    vitte_gauge_add(NULL, 1);
    vitte_gauge_destroy(g);
}

/* ---- histograms ------------------------------------------------------------------ */

static void test_histogram_config(void **state)
{
    (void)state;
    vitte_histogram *h;
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    assert_true(cfg.max_relative_error == 0.01);
    cfg.lowest = 0;
    assert_int_equal(vitte_histogram_create(&cfg, &h), VITTE_EINVAL);
    assert_null(h);
    vitte_histogram_config_init(&cfg);
    cfg.highest = cfg.lowest;
    assert_int_equal(vitte_histogram_create(&cfg, &h), VITTE_EINVAL);
    vitte_histogram_config_init(&cfg);
    cfg.max_relative_error = 0.9;
    assert_int_equal(vitte_histogram_create(&cfg, &h), VITTE_EINVAL);
    vitte_histogram_config_init(&cfg);
    double bad_bounds[] = {1, 3, 2};
    cfg.bounds = bad_bounds;
    cfg.n_bounds = 3;
    assert_int_equal(vitte_histogram_create(&cfg, &h), VITTE_EINVAL);
    cfg.struct_size = 1000;
    assert_int_equal(vitte_histogram_create(&cfg, &h), VITTE_EINVAL);
    assert_int_equal(vitte_histogram_create(NULL, NULL), VITTE_EINVAL);
    /* Default bounds: 1, 2.5, 5 ladder, strictly increasing. */
    assert_int_equal(vitte_histogram_create(NULL, &h), VITTE_OK);
    size_t n;
    const double *b = vitte_histogram_bounds(h, &n);
    assert_true(n > 10);
    assert_true(b[0] == 0.001);
    for (size_t i = 1; i < n; i++)
        assert_true(b[i] > b[i - 1]);
    assert_true(b[n - 1] == 1e6);
    assert_int_equal(vitte_histogram_record(NULL, 1), VITTE_EINVAL);
    vitte_histogram_destroy(h);
    double lin[3], ex[3];
    assert_int_equal(vitte_buckets_linear(1, 2, 3, lin), VITTE_OK);
    assert_true(lin[0] == 1 && lin[1] == 3 && lin[2] == 5);
    assert_int_equal(vitte_buckets_exponential(1, 2, 3, ex), VITTE_OK);
    assert_true(ex[0] == 1 && ex[1] == 2 && ex[2] == 4);
    assert_int_equal(vitte_buckets_exponential(0, 2, 3, ex), VITTE_EINVAL);
    assert_int_equal(vitte_buckets_linear(0, 0, 3, lin), VITTE_EINVAL);
}

static void test_histogram_special_values(void **state)
{
    (void)state;
    vitte_histogram *h;
    assert_int_equal(vitte_histogram_create(NULL, &h), VITTE_OK);
    assert_true(isnan(vitte_histogram_quantile(h, 0.5)));
    assert_true(isnan(vitte_histogram_min(h)));
    assert_int_equal(vitte_histogram_count(h), 0);
    assert_int_equal(vitte_histogram_record(h, -1.0), VITTE_ERANGE);
    assert_int_equal(vitte_histogram_record(h, NAN), VITTE_ERANGE);
    assert_int_equal(vitte_histogram_rejected(h), 2);
    assert_int_equal(vitte_histogram_count(h), 0);
    assert_int_equal(vitte_histogram_record(h, 0.0), VITTE_OK);
    assert_int_equal(vitte_histogram_record(h, -0.0), VITTE_OK);
    assert_int_equal(vitte_histogram_record(h, 1e-12), VITTE_OK); /* below lowest */
    assert_int_equal(vitte_histogram_record(h, 5.0), VITTE_OK);
    assert_int_equal(vitte_histogram_record(h, 1e300), VITTE_OK); /* above highest */
    assert_int_equal(vitte_histogram_count(h), 5);
    assert_true(vitte_histogram_min(h) == 0.0);
    assert_true(vitte_histogram_max(h) == 1e300);
    assert_true(vitte_histogram_quantile(h, 0.0) == 0.0);
    assert_true(vitte_histogram_quantile(h, 0.25) == 0.0); /* zero bucket: the minimum */
    assert_true(vitte_histogram_quantile(h, 1.0) == 1e300);
    double q = vitte_histogram_quantile(h, 0.75);
    assert_true(fabs(q - 5.0) / 5.0 <= 0.01);
    assert_true(isnan(vitte_histogram_quantile(h, 1.5)));
    assert_true(isnan(vitte_histogram_quantile(h, -0.1)));
    assert_int_equal(vitte_histogram_record(h, INFINITY), VITTE_OK);
    assert_true(isinf(vitte_histogram_sum(h)));
    /* Iteration covers every value, in increasing order. */
    vitte_histogram_snapshot *s;
    assert_int_equal(vitte_histogram_snapshot_create(h, &s), VITTE_OK);
    vitte_histogram_iter it;
    vitte_histogram_bucket b;
    vitte_histogram_iter_init(&it, s);
    uint64_t total = 0;
    double prev_upper = -1;
    while (vitte_histogram_iter_next(&it, &b)) {
        assert_true(b.lower >= prev_upper);
        assert_true(b.upper > b.lower);
        prev_upper = b.upper;
        total += b.count;
    }
    assert_int_equal(total, vitte_histogram_snapshot_count(s));
    assert_true(isinf(prev_upper));
    vitte_histogram_snapshot_destroy(s);
    vitte_histogram_destroy(h);
}

/* Buckets are (lower, upper]: a value on an edge counts as <= that edge. */
static void test_histogram_count_le_edges(void **state)
{
    (void)state;
    vitte_histogram *h;
    assert_int_equal(vitte_histogram_create(NULL, &h), VITTE_OK);
    double vals[] = {1.0, 2.5, 2.5000001, 5.0, 10.0, 10.5};
    for (size_t i = 0; i < 6; i++)
        vitte_histogram_record(h, vals[i]);
    vitte_histogram_snapshot *s;
    vitte_histogram_snapshot_create(h, &s);
    assert_int_equal(vitte_histogram_snapshot_count_le(s, 1.0), 1);
    assert_int_equal(vitte_histogram_snapshot_count_le(s, 2.5), 2);
    assert_int_equal(vitte_histogram_snapshot_count_le(s, 5.0), 4);
    assert_int_equal(vitte_histogram_snapshot_count_le(s, 10.0), 5);
    assert_int_equal(vitte_histogram_snapshot_count_le(s, INFINITY), 6);
    assert_int_equal(vitte_histogram_snapshot_count_le(s, 0.5), 0);
    vitte_histogram_snapshot_destroy(s);
    vitte_histogram_destroy(h);
}

/* Exact quantiles (nearest rank) of a million values vs the histogram. */
static void check_accuracy(const char *name, double *v, size_t n, double max_err)
{
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    cfg.max_relative_error = max_err;
    vitte_histogram *h;
    assert_int_equal(vitte_histogram_create(&cfg, &h), VITTE_OK);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(vitte_histogram_record(h, v[i]), VITTE_OK);
        sum += v[i];
    }
    qsort(v, n, sizeof *v, cmp_double);
    static const double qs[] = {0,   0.001, 0.01, 0.1,   0.25,   0.5,     0.75,
                                0.9, 0.95,  0.99, 0.999, 0.9999, 0.99999, 1};
    double worst = 0;
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        size_t k = (size_t)llround(qs[i] * (double)(n - 1));
        double exact = v[k], got = vitte_histogram_quantile(h, qs[i]);
        double err = exact == 0 ? fabs(got) : fabs(got - exact) / exact;
        if (err > worst)
            worst = err;
        if (err > max_err)
            print_error("%s q=%g exact=%.17g got=%.17g err=%g\n", name, qs[i], exact, got, err);
        assert_true(err <= max_err);
    }
    assert_int_equal(vitte_histogram_count(h), n);
    assert_true(fabs(vitte_histogram_sum(h) - sum) <= 1e-9 * fabs(sum));
    assert_true(vitte_histogram_min(h) == v[0]);
    assert_true(vitte_histogram_max(h) == v[n - 1]);
    print_message("%-12s max rel. error %.4f%% (bound %.2f%%), memory %zu bytes\n", name,
                  worst * 100, max_err * 100, vitte_histogram_memory(h));
    vitte_histogram_destroy(h);
}

static void test_histogram_accuracy(void **state)
{
    (void)state;
    enum { N = 1000000 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < N; i++)
        v[i] = 1.0 + rng_unit() * 999.0;
    check_accuracy("uniform", v, N, 0.01);
    for (size_t i = 0; i < N; i++)
        v[i] = exp(10.0 + 2.0 * rng_normal()); /* log-normal latencies in ns */
    check_accuracy("lognormal", v, N, 0.01);
    for (size_t i = 0; i < N; i++)
        v[i] = 1e3 / pow(rng_unit(), 1.0 / 1.1); /* Pareto alpha 1.1: heavy tail */
    check_accuracy("pareto", v, N, 0.01);
    for (size_t i = 0; i < N; i++)
        v[i] = 123.456;
    check_accuracy("constant", v, N, 0.01);
    for (size_t i = 0; i < N; i++)
        v[i] = exp(3.0 * rng_normal());
    check_accuracy("lognormal-0.1%", v, N, 0.001);
    free(v);
}

static void test_histogram_merge_reset(void **state)
{
    (void)state;
    vitte_histogram *a, *b, *c;
    assert_int_equal(vitte_histogram_create(NULL, &a), VITTE_OK);
    assert_int_equal(vitte_histogram_create(NULL, &b), VITTE_OK);
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    cfg.max_relative_error = 0.001;
    assert_int_equal(vitte_histogram_create(&cfg, &c), VITTE_OK);
    for (int i = 1; i <= 100; i++)
        vitte_histogram_record(a, i);
    for (int i = 101; i <= 200; i++)
        vitte_histogram_record(b, i);
    assert_int_equal(vitte_histogram_merge(a, c), VITTE_EINVAL); /* other precision */
    assert_int_equal(vitte_histogram_merge(a, a), VITTE_EINVAL);
    assert_int_equal(vitte_histogram_merge(a, b), VITTE_OK);
    assert_int_equal(vitte_histogram_count(a), 200);
    assert_int_equal(vitte_histogram_count(b), 100); /* src unchanged */
    assert_true(vitte_histogram_sum(a) == 20100.0);
    assert_true(vitte_histogram_min(a) == 1.0 && vitte_histogram_max(a) == 200.0);
    assert_true(fabs(vitte_histogram_quantile(a, 0.5) - 100.0) <= 1.0);
    /* Reset: the interval starts empty; min and max restart. */
    vitte_histogram_reset(a);
    assert_int_equal(vitte_histogram_count(a), 0);
    assert_true(vitte_histogram_sum(a) == 0.0);
    assert_true(isnan(vitte_histogram_min(a)));
    vitte_histogram_record(a, 50);
    vitte_histogram_record(a, 60);
    assert_int_equal(vitte_histogram_count(a), 2);
    assert_true(vitte_histogram_sum(a) == 110.0);
    assert_true(vitte_histogram_min(a) == 50.0 && vitte_histogram_max(a) == 60.0);
    vitte_histogram_reset(a);
    vitte_histogram_record(a, 7);
    assert_int_equal(vitte_histogram_count(a), 1);
    assert_true(vitte_histogram_min(a) == 7.0 && vitte_histogram_max(a) == 7.0);
    assert_true(vitte_histogram_memory(a) > 0);
    vitte_histogram_destroy(a);
    vitte_histogram_destroy(b);
    vitte_histogram_destroy(c);
}

static void *record_and_exit(void *arg)
{
    for (int i = 1; i <= 1000; i++)
        vitte_histogram_record(arg, i);
    return NULL;
}

/* Shards of exited threads are folded; a reset then still subtracts them. */
static void test_histogram_thread_exit_and_reset(void **state)
{
    (void)state;
    vitte_histogram *h;
    assert_int_equal(vitte_histogram_create(NULL, &h), VITTE_OK);
    pthread_t th;
    pthread_create(&th, NULL, record_and_exit, h);
    pthread_join(th, NULL);
    assert_int_equal(vitte_histogram_count(h), 1000);
    assert_true(vitte_histogram_max(h) == 1000.0);
    vitte_histogram_reset(h);
    pthread_create(&th, NULL, record_and_exit, h);
    pthread_join(th, NULL);
    assert_int_equal(vitte_histogram_count(h), 1000);
    assert_true(vitte_histogram_sum(h) == 500500.0);
    vitte_histogram_destroy(h);
}

/* ---- meters -------------------------------------------------------------------- */

static void test_meter(void **state)
{
    (void)state;
    vitte_meter *m;
    vitte_meter_config cfg;
    vitte_meter_config_init(&cfg);
    cfg.tick_ns = 300000000; /* does not divide 1 s */
    assert_int_equal(vitte_meter_create(&cfg, &m), VITTE_EINVAL);
    assert_int_equal(vitte_meter_create(NULL, &m), VITTE_OK);
    /* 30 frames per second for 10 s, on a simulated clock. */
    uint64_t t0 = vitte_now_ns(), t = t0;
    for (int f = 0; f < 300; f++) {
        t = t0 + (uint64_t)f * 1000000000ull / 30;
        vitte_meter_mark_at(m, 1, t);
    }
    assert_int_equal(vitte_meter_count(m), 300);
    double rate = vitte_meter_rate_at(m, t), ewma = vitte_meter_ewma_at(m, t);
    assert_true(fabs(rate - 30.0) < 1.5);
    assert_true(fabs(ewma - 30.0) < 3.0);
    assert_true(fabs(vitte_meter_mean_rate_at(m, t) - 30.0) < 0.5);
    /* Then 60 fps for 5 s: the window follows at once, the EWMA converges. */
    uint64_t t1 = t;
    for (int f = 1; f <= 300; f++) {
        t = t1 + (uint64_t)f * 1000000000ull / 60;
        vitte_meter_mark_at(m, 1, t);
    }
    rate = vitte_meter_rate_at(m, t);
    ewma = vitte_meter_ewma_at(m, t);
    assert_true(fabs(rate - 60.0) < 3.0);
    assert_true(fabs(ewma - 60.0) < 6.0);
    /* Silence: rates decay to 0. */
    t += 20000000000ull;
    assert_true(vitte_meter_rate_at(m, t) == 0.0);
    assert_true(vitte_meter_ewma_at(m, t) < 0.1);
    /* Time going backwards is treated as the latest time. */
    vitte_meter_mark_at(m, 1, t0);
    assert_int_equal(vitte_meter_count(m), 601);
    vitte_meter_destroy(m);
    vitte_meter_mark(NULL, 1);
    assert_true(isnan(vitte_meter_rate(NULL)));
}

/* ---- series -------------------------------------------------------------------- */

static void test_series(void **state)
{
    (void)state;
    assert_null(vitte_series_create("", VITTE_METRIC_THROUGHPUT, "fps", 10));
    assert_null(vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 0));
    vitte_series *s = vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 100);
    assert_non_null(s);
    assert_string_equal(vitte_series_name(s), "fps");
    assert_string_equal(vitte_series_unit(s), "fps");
    assert_int_equal(vitte_series_kind(s), VITTE_METRIC_THROUGHPUT);
    assert_string_equal(vitte_metric_kind_name(vitte_series_kind(s)), "throughput");
    assert_true(isnan(vitte_series_mean(s)));
    assert_int_equal(vitte_series_set(s, 30.0), VITTE_OK);
    assert_int_equal(vitte_series_set(s, NAN), VITTE_ERANGE);
    assert_true(vitte_series_last(s) == 30.0);
    for (int i = 1; i <= 150; i++)
        vitte_series_set(s, i);
    /* The ring keeps the last 100: 51..150. */
    assert_int_equal(vitte_series_len(s), 100);
    assert_int_equal(vitte_series_total_count(s), 151);
    assert_true(vitte_series_total_sum(s) == 30.0 + 150 * 151 / 2);
    assert_true(vitte_series_min(s) == 51 && vitte_series_max(s) == 150);
    assert_true(vitte_series_mean(s) == 100.5);
    assert_true(vitte_series_last(s) == 150);
    /* numpy.quantile(np.arange(51, 151), [0.5, 0.9, 0.99]) = 100.5, 140.1, 149.01 */
    assert_true(fabs(vitte_series_quantile(s, 0.5) - 100.5) < 1e-9);
    assert_true(fabs(vitte_series_quantile(s, 0.9) - 140.1) < 1e-9);
    assert_true(fabs(vitte_series_quantile(s, 0.99) - 149.01) < 1e-9);
    assert_true(vitte_series_quantile(s, 0) == 51 && vitte_series_quantile(s, 1) == 150);
    double out[200];
    size_t n;
    assert_int_equal(vitte_series_values(s, out, 200, &n), VITTE_OK);
    assert_int_equal(n, 100);
    assert_true(out[0] == 51 && out[99] == 150);
    assert_int_equal(vitte_series_values(s, NULL, 10, &n), VITTE_EINVAL);
    vitte_series_destroy(s);
}

/* ---- the registry -------------------------------------------------------------- */

static void test_registry_same_handle(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    const char *l1[] = {"method", "GET", "code", "200", NULL};
    const char *l2[] = {"code", "200", "method", "GET", NULL}; /* same set, other order */
    const char *l3[] = {"method", "POST", "code", "200", NULL};
    vitte_counter *a = vitte_metrics_counter(m, "http_requests", "Requests.", l1);
    vitte_counter *b = vitte_metrics_counter(m, "http_requests", "Requests.", l2);
    vitte_counter *c = vitte_metrics_counter(m, "http_requests", NULL, l3);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_non_null(c);
    assert_ptr_not_equal(a, c);
    vitte_counter_add(a, 3);
    assert_int_equal(vitte_counter_value(b), 3);
    vitte_histogram *t1 = vitte_metrics_timer(m, "op", "Op time.", NULL);
    assert_ptr_equal(t1, vitte_metrics_timer(m, "op", NULL, NULL));
    assert_string_equal(vitte_histogram_unit(t1), "seconds");
    assert_true(vitte_histogram_export_scale(t1) == 1e-9);
    vitte_metrics_destroy(m);
    vitte_metrics_destroy(NULL);
}

static void test_registry_errors(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_counter *c;
    vitte_gauge *g;
    vitte_histogram *h;
    assert_int_equal(vitte_metrics_add_counter(m, "x", "X.", NULL, &c), VITTE_OK);
    /* Same name, other type / labels / help. */
    assert_int_equal(vitte_metrics_add_gauge(m, "x", "X.", NULL, &g), VITTE_EEXIST);
    assert_null(g);
    const char *lab[] = {"k", "v", NULL};
    assert_int_equal(vitte_metrics_add_counter(m, "x", "X.", lab, &c), VITTE_EEXIST);
    assert_int_equal(vitte_metrics_add_counter(m, "x", "Other help.", NULL, &c), VITTE_EEXIST);
    assert_int_equal(vitte_metrics_add_histogram(m, "op", NULL, NULL, NULL, &h), VITTE_OK);
    assert_int_equal(vitte_metrics_add_timer(m, "op", NULL, NULL, &h), VITTE_EEXIST);
    /* Names that would export alike. */
    assert_int_equal(vitte_metrics_add_counter(m, "a.b", NULL, NULL, &c), VITTE_OK);
    assert_int_equal(vitte_metrics_add_counter(m, "a_b", NULL, NULL, &c), VITTE_EEXIST);
    /* Invalid names and labels. */
    const char *bad_names[] = {"", "1abc", "a b", "a\"b", "é"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        assert_int_equal(vitte_metrics_add_counter(m, bad_names[i], NULL, NULL, &c), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_counter(m, NULL, NULL, NULL, &c), VITTE_EINVAL);
    char long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(vitte_metrics_add_counter(m, long_name, NULL, NULL, &c), VITTE_EINVAL);
    const char *le[] = {"le", "1", NULL};
    const char *dunder[] = {"__x", "1", NULL};
    const char *dup[] = {"k", "1", "k", "2", NULL};
    const char *odd[] = {"k", NULL};
    const char *badkey[] = {"a-b", "1", NULL};
    assert_int_equal(vitte_metrics_add_counter(m, "y", NULL, le, &c), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_counter(m, "y", NULL, dunder, &c), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_counter(m, "y", NULL, dup, &c), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_counter(m, "y", NULL, odd, &c), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_counter(m, "y", NULL, badkey, &c), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_counter(NULL, "y", NULL, NULL, &c), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_counter(m, "y", NULL, NULL, NULL), VITTE_EINVAL);
    assert_null(vitte_metrics_counter(m, "1bad", NULL, NULL));
    /* The cardinality limit. */
    assert_int_equal(vitte_metrics_set_max_series(m, 3), VITTE_OK);
    char val[16];
    int ok = 0, limited = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(val, sizeof val, "%d", i);
        const char *l[] = {"i", val, NULL};
        int rc = vitte_metrics_add_counter(m, "many", NULL, l, &c);
        ok += rc == VITTE_OK;
        limited += rc == VITTE_ELIMIT;
    }
    assert_int_equal(ok, 3);
    assert_int_equal(limited, 2);
    /* insert_timer */
    assert_int_equal(vitte_metrics_insert_timer(m, NULL), VITTE_EINVAL);
    vitte_timer t = {NULL, 0, 0};
    assert_int_equal(vitte_metrics_insert_timer(m, &t), VITTE_EINVAL);
    t.name = "x"; /* a counter */
    assert_int_equal(vitte_metrics_insert_timer(m, &t), VITTE_EEXIST);
    vitte_metrics_destroy(m);
}

struct visit_acc {
    int families, children;
    char names[16][32];
};

static int visit_fn(const vitte_metric_info *info, void *ud)
{
    struct visit_acc *a = ud;
    if (info->child_index == 0)
        snprintf(a->names[a->families++], 32, "%s", info->name);
    a->children++;
    return 0;
}

static int stop_fn(const vitte_metric_info *info, void *ud)
{
    (void)info;
    return ++*(int *)ud == 2 ? 7 : 0;
}

static void test_registry_visit_and_timer(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_timer t = vitte_timer_start("calcul_intensif");
    volatile double x = 0;
    for (int i = 0; i < 100000; i++)
        x += sqrt((double)i);
    uint64_t ns = vitte_timer_stop(&t);
    assert_int_equal(vitte_metrics_insert_timer(m, &t), VITTE_OK);
    assert_int_equal(vitte_metrics_insert_timer(m, &t), VITTE_OK);
    vitte_histogram *h = vitte_metrics_timer(m, "calcul_intensif", NULL, NULL);
    assert_non_null(h);
    assert_int_equal(vitte_histogram_count(h), 2);
    assert_true(vitte_histogram_sum(h) == 2.0 * (double)ns);
    const char *l[] = {"k", "a", NULL}, *l2[] = {"k", "b", NULL};
    vitte_metrics_counter(m, "c", NULL, l);
    vitte_metrics_gauge(m, "g", NULL, NULL);
    vitte_metrics_counter(m, "c", NULL, l2);
    vitte_metrics_meter(m, "frames", NULL, NULL);
    vitte_series *s = vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 100);
    vitte_series_set(s, 30.0);
    assert_int_equal(vitte_metrics_add_series(m, s, "Frames per second.", NULL), VITTE_OK);
    vitte_series *s2 = vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 10);
    assert_int_equal(vitte_metrics_add_series(m, s2, NULL, NULL), VITTE_EEXIST);
    vitte_series_destroy(s2); /* not adopted */
    struct visit_acc acc = {0};
    assert_int_equal(vitte_metrics_visit(m, visit_fn, &acc), 0);
    assert_int_equal(acc.families, 5);
    assert_int_equal(acc.children, 6);
    assert_string_equal(acc.names[0], "calcul_intensif"); /* registration order */
    assert_string_equal(acc.names[1], "c");
    assert_string_equal(acc.names[4], "fps");
    int calls = 0;
    assert_int_equal(vitte_metrics_visit(m, stop_fn, &calls), 7);
    assert_int_equal(calls, 2);
    assert_int_equal(vitte_metrics_visit(m, NULL, NULL), VITTE_EINVAL);
    char *json = vitte_metrics_to_json(m);
    assert_non_null(json);
    assert_non_null(strstr(json, "calcul_intensif"));
    free(json);
    vitte_metrics_destroy(m); /* frees the adopted series */
}

static void *register_thread(void *arg)
{
    vitte_metrics *m = arg;
    char val[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(val, sizeof val, "%d", i % 50);
        const char *l[] = {"shard", val, NULL};
        vitte_counter_add(vitte_metrics_counter(m, "reg_total", "Registered.", l), 1);
        vitte_histogram_record(vitte_metrics_histogram(m, "reg_hist", NULL, l), i);
    }
    return NULL;
}

static int sum_counters(const vitte_metric_info *info, void *ud)
{
    if (info->counter != NULL)
        *(uint64_t *)ud += vitte_counter_value(info->counter);
    return 0;
}

/* Registration and recording from many threads at once. */
static void test_registry_threads(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        pthread_create(&th[i], NULL, register_thread, m);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    uint64_t total = 0;
    vitte_metrics_visit(m, sum_counters, &total);
    assert_int_equal(total, (uint64_t)N_THREADS * 2000);
    vitte_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_basic),
        cmocka_unit_test(test_counter_threads_exact),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_histogram_config),
        cmocka_unit_test(test_histogram_special_values),
        cmocka_unit_test(test_histogram_count_le_edges),
        cmocka_unit_test(test_histogram_accuracy),
        cmocka_unit_test(test_histogram_merge_reset),
        cmocka_unit_test(test_histogram_thread_exit_and_reset),
        cmocka_unit_test(test_meter),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_registry_same_handle),
        cmocka_unit_test(test_registry_errors),
        cmocka_unit_test(test_registry_visit_and_timer),
        cmocka_unit_test(test_registry_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
