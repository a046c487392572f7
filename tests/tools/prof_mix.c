/* A workload with known CPU shares, for the signal sampler's tests
 * (tests/scripts/test_profiler.sh): each worker thread spends 60% of its
 * CPU time in mix_sixty(), 30% in mix_thirty() and 10% in mix_ten(),
 * interleaved in rounds of ten equal units (about 20 us each), so that any
 * sampling instant falls in each function with those odds.
 *
 *   prof_mix [CPU_SECONDS_PER_THREAD] [THREADS] [--crash]
 *
 * Prints "cpu_ns N" (the CPU time of the whole process) at the end; with
 * --crash it dies of a SIGSEGV instead, after the work.  It calls into
 * libvitte (so that it is linked with it: VITTE_PROFILE works without the
 * shim, and under the shim both copies of the profiler are in the
 * process). */
#define _GNU_SOURCE
#pragma GCC optimize("no-omit-frame-pointer")
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vitte/version.h>

#define UNIT_ITERS 20000

static _Thread_local volatile unsigned long sink; /* per thread: no data race */
static double g_seconds = 1.0;

static unsigned long long cpu_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* Three loops of the same cost per unit (different constants: not merged). */
__attribute__((noinline, noipa)) static void mix_sixty(int units)
{
    unsigned long x = sink;
    for (long i = 0; i < (long)units * UNIT_ITERS; i++)
        x = x * 6364136223846793005ul + 1442695040888963407ul;
    sink = x;
}

__attribute__((noinline, noipa)) static void mix_thirty(int units)
{
    unsigned long x = sink;
    for (long i = 0; i < (long)units * UNIT_ITERS; i++)
        x = x * 2862933555777941757ul + 3037000493ul;
    sink = x;
}

__attribute__((noinline, noipa)) static void mix_ten(int units)
{
    unsigned long x = sink;
    for (long i = 0; i < (long)units * UNIT_ITERS; i++)
        x = x * 3935559000370003845ul + 2691343689449507681ul;
    sink = x;
}

__attribute__((noinline)) static void *mix_worker(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "mix-%d", (int)(long)arg);
    pthread_setname_np(pthread_self(), name);
    unsigned long long end =
        cpu_ns(CLOCK_THREAD_CPUTIME_ID) + (unsigned long long)(g_seconds * 1e9);
    while (cpu_ns(CLOCK_THREAD_CPUTIME_ID) < end) {
        for (int r = 0; r < 10; r++) {
            mix_sixty(6);
            mix_thirty(3);
            mix_ten(1);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 2, crash = 0, pos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--crash") == 0)
            crash = 1;
        else if (pos++ == 0)
            g_seconds = atof(argv[i]);
        else
            threads = atoi(argv[i]);
    }
    if (threads < 1 || threads > 64 || g_seconds <= 0) {
        fprintf(stderr, "usage: prof_mix [CPU_SECONDS_PER_THREAD] [THREADS] [--crash]\n");
        return 2;
    }
    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, mix_worker, (void *)(long)i) != 0)
            return 1;
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    if (crash) {
        volatile int *volatile p = NULL;
        *p = 1;
    }
    printf("cpu_ns %llu (libvitte %s)\n", cpu_ns(CLOCK_PROCESS_CPUTIME_ID), vitte_version_string());
    return 0;
}
