/* Status codes, allocator hooks, the string map and the clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vitte/vitte.h>

#include "common/alloc.h"
#include "common/strmap.h"

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(vitte_strerror(VITTE_OK), "success");
    assert_string_equal(vitte_strerror(VITTE_EINVAL), "invalid argument");
    assert_string_equal(vitte_strerror(12345), "unknown status");
    assert_string_equal(vitte_status_name(VITTE_ENOMEM), "VITTE_ENOMEM");
    assert_string_equal(vitte_status_name(-999), "VITTE_UNKNOWN");
    /* Every code in the list has a distinct, non-empty text. */
    int codes[] = {
#define X(name, value, text) value,
        VITTE_STATUS_MAP(X)
#undef X
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_true(codes[i] <= 0);
        assert_true(strlen(vitte_strerror(codes[i])) > 0);
        assert_string_not_equal(vitte_strerror(codes[i]), "unknown status");
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(vitte_version(), VITTE_VERSION_NUMBER);
    assert_string_equal(vitte_version_string(), VITTE_VERSION_STRING);
}

static size_t counted_allocs;
static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    counted_allocs++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return realloc(p, n);
}
static void count_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static void test_allocator(void **state)
{
    (void)state;
    vitte_allocator bad = {count_malloc, NULL, count_free, NULL};
    assert_int_equal(vitte_set_allocator(&bad), VITTE_EINVAL);
    vitte_allocator a = {count_malloc, count_realloc, count_free, NULL};
    assert_int_equal(vitte_set_allocator(&a), VITTE_OK);
    counted_allocs = 0;
    vitte_metrics *m = vitte_metrics_create();
    assert_non_null(m);
    vitte_metrics_destroy(m);
    assert_true(counted_allocs > 0);
    assert_int_equal(vitte_set_allocator(NULL), VITTE_OK);
    assert_null(vitte__calloc((size_t)-1 / 2, 4)); /* overflow is refused */
}

static void test_strmap(void **state)
{
    (void)state;
    struct vitte__strmap m;
    vitte__strmap_init(&m);
    assert_null(vitte__strmap_get(&m, "a", 1));
    char key[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(vitte__strmap_put(&m, key, (size_t)n, (void *)(intptr_t)(i + 1)), 0);
    }
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        assert_int_equal((intptr_t)vitte__strmap_get(&m, key, (size_t)n), i + 1);
    }
    assert_null(vitte__strmap_get(&m, "k1000", 5));
    /* Keys with NUL bytes are distinct by length. */
    assert_int_equal(vitte__strmap_put(&m, "x\0y", 3, (void *)1), 0);
    assert_null(vitte__strmap_get(&m, "x", 1));
    assert_non_null(vitte__strmap_get(&m, "x\0y", 3));
    vitte__strmap_fini(&m);
}

static uint64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t test_start_ns;

static void test_clock_info(void **state)
{
    (void)state;
    assert_int_equal(vitte_clock_get_info(NULL, 0), VITTE_EINVAL);
    vitte_clock_info info;
    assert_int_equal(vitte_clock_get_info(&info, 1), VITTE_OK);
    assert_true(info.source == VITTE_CLOCK_TSC || info.source == VITTE_CLOCK_MONOTONIC);
    assert_non_null(info.reason);
    assert_true(info.resolution_ns > 0);
    assert_true(info.cost_ns > 0);
    if (info.source == VITTE_CLOCK_TSC) {
        assert_true(info.tsc_hz > 1e8 && info.tsc_hz < 2e10);
        assert_true(info.calibration_error < 1e-3);
    }
    print_message("clock: %s, %.0f Hz, resolution %.3f ns, cost %.1f ns (%s)\n",
                  vitte_clock_source_name(info.source), info.tsc_hz, info.resolution_ns,
                  info.cost_ns, info.reason);
}

/* vitte_now_ns() shares CLOCK_MONOTONIC's epoch and rate.  The tolerances come
 * from the bracketing reads, not from a timing assumption. */
static void test_clock_agrees_with_monotonic(void **state)
{
    (void)state;
    vitte_clock_info info;
    vitte_clock_get_info(&info, 1);
    for (int round = 0; round < 3; round++) {
        uint64_t m0 = mono(), v0 = vitte_now_ns(), m1 = mono();
        struct timespec ts = {0, 30000000};
        nanosleep(&ts, NULL);
        uint64_t m2 = mono(), v1 = vitte_now_ns(), m3 = mono();
        /* Epoch: v0 lies within [m0, m1] up to the calibration's drift. */
        /* 20 us for anchoring, plus the drift the calibration error allows
         * over the time since the calibration ended (at most since start). */
        double slack =
            20000 + 2 * info.calibration_error * (double)(m0 - test_start_ns + 100000000);
        assert_true((double)v0 + slack >= (double)m0 && (double)v0 <= (double)m1 + slack);
        /* Rate: the elapsed times agree within the bracket widths + 0.1 %. */
        double dv = (double)(v1 - v0), dm_lo = (double)(m2 - m1), dm_hi = (double)(m3 - m0);
        double tol = 1e-3 + info.calibration_error;
        assert_true(dv >= dm_lo * (1 - tol) - 2000 && dv <= dm_hi * (1 + tol) + 2000);
    }
}

static void *monotonic_thread(void *arg)
{
    uint64_t *bad = arg, prev = vitte_now_ns();
    for (int i = 0; i < 200000; i++) {
        uint64_t now = vitte_now_ns();
        if (now < prev)
            (*bad)++;
        prev = now;
    }
    return NULL;
}

static void test_clock_monotonic_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    uint64_t bad[4] = {0};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, monotonic_thread, &bad[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(bad[i], 0);
    }
}

static void test_timer(void **state)
{
    (void)state;
    vitte_timer t = vitte_timer_start("calcul_intensif");
    assert_string_equal(t.name, "calcul_intensif");
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    uint64_t ns = vitte_timer_stop(&t);
    assert_int_equal(ns, t.elapsed_ns);
    assert_true(ns >= 2000000);
    uint64_t again = vitte_timer_stop(&t);
    assert_true(again >= ns);
}

int main(void)
{
    test_start_ns = mono();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_allocator),
        cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_clock_info),
        cmocka_unit_test(test_clock_agrees_with_monotonic),
        cmocka_unit_test(test_clock_monotonic_threads),
        cmocka_unit_test(test_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
