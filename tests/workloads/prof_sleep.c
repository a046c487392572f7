/* prof_sleep: sleeps 300 ms, then spins about 100 ms, for --wall in
 * tests/scripts/test_run_profile.sh: wall-clock samples see the sleep. */
#include <time.h>

static volatile double sink;

__attribute__((noinline)) static void spin_a_bit(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    double x = 1;
    do {
        for (int i = 0; i < 100000; i++)
            x = x * 1.0000001 + 1e-9;
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 100000000L);
    sink = x;
}

int main(void)
{
    struct timespec t = {0, 300000000};
    while (nanosleep(&t, &t) != 0) {
    }
    spin_a_bit();
    return 0;
}
