/* traced_work: a program built with libvitte that traces its own spans
 * and counters with no tracer code in main (VITTE_TRACE starts it), for
 * tests/scripts/test_run_profile.sh: under `vitte run --profile` its spans
 * must land in the profile, beside the samples. */
#include <stdio.h>
#include <vitte/vitte.h>

static volatile double sink;

__attribute__((noinline)) static void traced_spin(long n)
{
    double x = 1;
    for (long i = 0; i < n; i++)
        x = x * 1.0000001 + 1e-9;
    sink = x;
}

int main(void)
{
    for (int i = 0; i < 20; i++) {
        VITTE_TRACE_SCOPE("round");
        {
            VITTE_TRACE_SCOPE("inner");
            traced_spin(3000000);
        }
        VITTE_TRACE_COUNTER("round_index", i);
    }
    puts("traced_work: done");
    return 0;
}
