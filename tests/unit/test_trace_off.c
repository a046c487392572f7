/* -DVITTE_TRACE_ENABLED=0: every macro vanishes and its arguments are not
 * evaluated, even with a tracer running. */
#define VITTE_TRACE_ENABLED 0

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <vitte/trace.h>

static int evaluated;

/* Unused once the macros vanish: that is the point. */
__attribute__((unused)) static const char *side_effect(void)
{
    evaluated++;
    return "name";
}

static void test_macros_vanish(void **state)
{
    (void)state;
    char path[] = "/tmp/vitte-trace-off-XXXXXX.vittrace";
    int fd = mkstemps(path, 9);
    assert_true(fd >= 0);
    close(fd);
    vitte_tracer *t = vitte_tracer_create(path);
    assert_non_null(t);
    {
        VITTE_TRACE_SCOPE(side_effect());
        VITTE_TRACE_SCOPE_M(side_effect(), side_effect());
        VITTE_TRACE_BEGIN(z, side_effect());
        VITTE_TRACE_INSTANT(side_effect());
        VITTE_TRACE_COUNTER(side_effect(), evaluated++);
        VITTE_TRACE_ASYNC_BEGIN(side_effect(), (uint64_t)evaluated++);
        VITTE_TRACE_ASYNC_END(side_effect(), (uint64_t)evaluated++);
        VITTE_TRACE_END(z);
    }
    assert_int_equal(evaluated, 0);
    assert_int_equal(vitte_tracer_destroy(t), VITTE_OK);
    vitte_trace_reader *r;
    assert_int_equal(vitte_trace_reader_open(path, 0, &r, NULL), VITTE_OK);
    const vitte_trace_event *ev;
    assert_int_equal(vitte_trace_reader_next(r, &ev, NULL), 0); /* no event at all */
    vitte_trace_reader_close(r);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_macros_vanish)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
