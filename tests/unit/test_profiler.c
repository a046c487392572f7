/* The profiler (vitte_profiler_start/stop, the timer-and-signal sampler):
 * samples reach the file with stacks and CPU-time weights, threads started
 * before and after the start are sampled, wall mode samples sleeping
 * threads, a second start is refused, fork and a crash are survived.
 *
 * Assertions are about correctness, with generous margins on anything
 * timed: CPU-time timers fire on the scheduler tick (often 250 Hz) and the
 * VM is shared, so only "about" is asserted for counts and weights. */
#pragma GCC optimize("no-omit-frame-pointer")
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vitte/profiler.h>
#include <vitte/trace.h>

#include "prof/sigprof.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t my_tid(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

static _Thread_local volatile unsigned long sink; /* per thread: no data race */

/* CPU work for ns of this thread's CPU time, in a function of its own. */
__attribute__((noinline)) static void spin_cpu(uint64_t ns)
{
    uint64_t end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
    unsigned long x = sink;
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 20000; i++)
            x = x * 6364136223846793005ul + 1442695040888963407ul;
    sink = x;
}

/* What a profile holds, counted. */
struct tally {
    uint64_t samples, weight, wall_samples, deep, leaf_spin;
    int complete;
    int status;   /* of the last reader_next */
    uint32_t tid; /* count for this thread: */
    uint64_t tid_samples, tid_weight, tid_deep, tid_wall;
    char tid_name[32];
};

static int read_profile(const char *path, uint32_t tid, struct tally *t)
{
    memset(t, 0, sizeof *t);
    t->tid = tid;
    vitte_trace_reader *r;
    vitte_diag d;
    int rc = vitte_trace_reader_open(path, 0, &r, &d);
    if (rc != VITTE_OK) {
        print_error("open %s: %s\n", path, d.message);
        return rc;
    }
    const vitte_trace_event *ev;
    while ((rc = vitte_trace_reader_next(r, &ev, &d)) == 1) {
        if (ev->type != VITTE_EVENT_SAMPLE)
            continue;
        t->samples++;
        t->weight += ev->dur_ns;
        t->wall_samples += ev->sample_kind == VITTE_SAMPLE_WALL;
        t->deep += ev->n_frames > 1;
        if (ev->n_frames > 0 && strstr(ev->frames[0].function, "spin_") != NULL)
            t->leaf_spin++;
        if (ev->tid == tid) {
            t->tid_samples++;
            t->tid_weight += ev->dur_ns;
            t->tid_deep += ev->n_frames > 1;
            t->tid_wall += ev->sample_kind == VITTE_SAMPLE_WALL;
        }
    }
    t->status = rc;
    vitte_trace_file_info fi;
    if (vitte_trace_reader_info(r, &fi) == VITTE_OK)
        t->complete = fi.complete;
    size_t n;
    const vitte_trace_thread *th = vitte_trace_reader_threads(r, &n);
    for (size_t i = 0; i < n; i++)
        if (th[i].tid == tid)
            snprintf(t->tid_name, sizeof t->tid_name, "%s", th[i].name);
    vitte_trace_reader_close(r);
    return rc < 0 ? rc : VITTE_OK;
}

/* ---- start, samples, weights ----------------------------------------------------------- */

static void test_cpu_samples_and_weights(void **state)
{
    (void)state;
    const char *path = tmp_path("cpu.vittrace");
    vitte_profiler *p = NULL;
    assert_int_equal(vitte_profiler_start(path, NULL, &p), VITTE_OK);
    assert_non_null(p);
    uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    /* errno survives the handler: check it between short bursts. */
    for (int i = 0; i < 40; i++) {
        errno = 4242;
        spin_cpu(10000000);
        assert_int_equal(errno, 4242);
    }
    uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);

    struct sigaction sa;
    sigaction(SIGPROF, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL); /* given back */

    struct tally t;
    assert_int_equal(read_profile(path, my_tid(), &t), VITTE_OK);
    print_message("400 ms of CPU: %llu samples (%llu of this thread), weight %.1f ms of %.1f ms, "
                  "%llu with the spin function as leaf, %llu deeper than the leaf\n",
                  (unsigned long long)t.samples, (unsigned long long)t.tid_samples,
                  t.tid_weight / 1e6, cpu / 1e6, (unsigned long long)t.leaf_spin,
                  (unsigned long long)t.deep);
    assert_true(t.complete);
    assert_int_equal(t.status, 0);
    /* 400 ms at the tick (250 Hz here; fewer per CPU second on a busy machine) */
    assert_true(t.tid_samples >= 8);
    assert_int_equal(t.wall_samples, 0);
    /* The weights are the CPU time measured: within 40%. */
    assert_true(t.tid_weight >= cpu * 6 / 10 && t.tid_weight <= cpu * 14 / 10);
    /* Symbolized: the leaf is the spinning function most of the time. */
    assert_true(t.leaf_spin * 2 >= t.tid_samples);
    /* Frame pointers: stacks go past the leaf. */
    assert_true(t.tid_deep * 2 >= t.tid_samples);
}

static void test_start_twice(void **state)
{
    (void)state;
    vitte_profiler *p = NULL, *q = (vitte_profiler *)&q;
    assert_int_equal(vitte_profiler_start(tmp_path("twice.vittrace"), NULL, &p), VITTE_OK);
    assert_int_equal(vitte_profiler_start(tmp_path("twice2.vittrace"), NULL, &q), VITTE_ESTATE);
    assert_null(q);
    spin_cpu(20000000);
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);
    /* and again, once stopped */
    assert_int_equal(vitte_profiler_start(tmp_path("twice3.vittrace"), NULL, &q), VITTE_OK);
    spin_cpu(20000000);
    assert_int_equal(vitte_profiler_stop(q), VITTE_OK);
}

static void test_invalid(void **state)
{
    (void)state;
    vitte_profiler *p = (vitte_profiler *)&p;
    assert_int_equal(vitte_profiler_start(NULL, NULL, &p), VITTE_EINVAL);
    assert_null(p);
    assert_int_equal(vitte_profiler_start("", NULL, &p), VITTE_EINVAL);
    assert_int_equal(vitte_profiler_start(tmp_path("x.vittrace"), NULL, NULL), VITTE_EINVAL);
    vitte_profiler_options o = {0};
    assert_int_equal(vitte_profiler_start(tmp_path("x.vittrace"), &o, &p), VITTE_EINVAL);
    o.struct_size = sizeof o;
    o.freq_hz = 1000000;
    assert_int_equal(vitte_profiler_start(tmp_path("x.vittrace"), &o, &p), VITTE_EINVAL);
    assert_int_equal(vitte_profiler_start(tmp_path("no/such/dir/x.vittrace"), NULL, &p), VITTE_EIO);
    assert_null(p);
    assert_int_equal(vitte_profiler_stop(NULL), VITTE_EINVAL);
    /* nothing left behind: a start works */
    assert_int_equal(vitte_profiler_start(tmp_path("x.vittrace"), NULL, &p), VITTE_OK);
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);
}

/* A program's own SIGPROF handler is there again after the profiler. */
static void own_prof(int sig)
{
    (void)sig;
}

static void test_program_handler_restored(void **state)
{
    (void)state;
    struct sigaction sa, old, now;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_prof;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, &old);
    vitte_profiler *p;
    assert_int_equal(vitte_profiler_start(tmp_path("own.vittrace"), NULL, &p), VITTE_OK);
    spin_cpu(20000000);
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);
    sigaction(SIGPROF, NULL, &now);
    assert_true(now.sa_handler == own_prof);
    sigaction(SIGPROF, &old, NULL);
}

/* ---- threads ------------------------------------------------------------------------------ */

struct worker {
    uint64_t ns;
    _Atomic uint32_t tid;
    _Atomic int go;
    const char *name;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_setname_np(pthread_self(), w->name);
    atomic_store(&w->tid, my_tid());
    while (!atomic_load(&w->go))
        sched_yield();
    spin_cpu(w->ns);
    return NULL;
}

/* A thread started after vitte_profiler_start (found by the rescan). */
static void test_thread_started_later(void **state)
{
    (void)state;
    const char *path = tmp_path("later.vittrace");
    vitte_profiler *p;
    assert_int_equal(vitte_profiler_start(path, NULL, &p), VITTE_OK);
    struct worker w = {300000000, 0, 1, "prof-late"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker_main, &w), 0);
    pthread_join(th, NULL);
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);
    struct tally t;
    assert_int_equal(read_profile(path, atomic_load(&w.tid), &t), VITTE_OK);
    print_message("late thread: %llu samples, %.1f ms, %llu deeper than the leaf, named '%s'\n",
                  (unsigned long long)t.tid_samples, t.tid_weight / 1e6,
                  (unsigned long long)t.tid_deep, t.tid_name);
    assert_true(t.tid_samples >= 3);
    assert_true(t.tid_weight <= 300000000ull * 14 / 10);
    assert_true(t.tid_weight >= 300000000ull * 2 / 10); /* the first 50 ms may be missed */
    assert_string_equal(t.tid_name, "prof-late");
}

/* A thread that exists before the start: armed from the outside, its stack
 * bounds found from its samples; its later stacks go past the leaf. */
static void test_thread_started_before(void **state)
{
    (void)state;
    const char *path = tmp_path("before.vittrace");
    struct worker w = {300000000, 0, 0, "prof-early"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker_main, &w), 0);
    while (atomic_load(&w.tid) == 0)
        sched_yield();
    vitte_profiler *p;
    assert_int_equal(vitte_profiler_start(path, NULL, &p), VITTE_OK);
    atomic_store(&w.go, 1);
    pthread_join(th, NULL);
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);
    struct tally t;
    assert_int_equal(read_profile(path, atomic_load(&w.tid), &t), VITTE_OK);
    print_message("early thread: %llu samples, %.1f ms, %llu deeper than the leaf\n",
                  (unsigned long long)t.tid_samples, t.tid_weight / 1e6,
                  (unsigned long long)t.tid_deep);
    assert_true(t.tid_samples >= 5);
    assert_true(t.tid_weight >= 300000000ull * 6 / 10 && t.tid_weight <= 300000000ull * 14 / 10);
    assert_true(t.tid_deep >= 1);
    assert_string_equal(t.tid_name, "prof-early");
}

/* Wall mode: a sleeping thread is sampled, weighted by wall time. */
static void *sleeper(void *arg)
{
    struct worker *w = arg;
    atomic_store(&w->tid, my_tid());
    uint64_t end = clock_ns(CLOCK_MONOTONIC) + w->ns;
    for (uint64_t now; (now = clock_ns(CLOCK_MONOTONIC)) < end;) {
        struct timespec ts = {0, (long)(end - now)};
        nanosleep(&ts, NULL); /* EINTR: the profiler's signal */
    }
    return NULL;
}

static void test_wall_mode(void **state)
{
    (void)state;
    const char *path = tmp_path("wall.vittrace");
    vitte_profiler_options o = {sizeof o, 200, 1};
    vitte_profiler *p;
    assert_int_equal(vitte_profiler_start(path, &o, &p), VITTE_OK);
    struct worker w = {400000000, 0, 1, "sleeper"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sleeper, &w), 0);
    pthread_join(th, NULL);
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);
    struct tally t;
    assert_int_equal(read_profile(path, atomic_load(&w.tid), &t), VITTE_OK);
    print_message("sleeping thread, wall mode at 200 Hz: %llu samples, %.1f ms\n",
                  (unsigned long long)t.tid_samples, t.tid_weight / 1e6);
    assert_true(t.tid_samples >= 10);
    assert_int_equal(t.tid_wall, t.tid_samples);
    assert_true(t.tid_weight <= 400000000ull * 14 / 10);
    assert_true(t.tid_weight >= 400000000ull * 3 / 10);
}

/* The engine's own counts. */
static void test_sampler_counts(void **state)
{
    (void)state;
    vitte__sigprof_options o = {tmp_path("counts.vittrace"), 0, 0, 0, 0, NULL};
    vitte__sigprof *s;
    char err[256];
    assert_int_equal(vitte__sigprof_start(&o, &s, err), VITTE_OK);
    assert_ptr_equal(vitte__sigprof_active(), s);
    spin_cpu(200000000);
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
    vitte__sigprof_stats st;
    do { /* the writer drains every 20 ms */
        vitte__sigprof_get_stats(s, &st);
    } while (st.samples == 0 && clock_ns(CLOCK_MONOTONIC) - t0 < 2000000000ull);
    print_message("engine: %llu samples, %u threads, %llu lost, %llu leaf-only\n",
                  (unsigned long long)st.samples, st.threads, (unsigned long long)st.lost,
                  (unsigned long long)st.unwind_failed);
    assert_true(st.samples > 0);
    assert_true(st.threads >= 1);
    assert_int_equal(st.timer_errors, 0);
    assert_int_equal(vitte__sigprof_stop(s), VITTE_OK);
    assert_null(vitte__sigprof_active());
}

/* ---- fork and crashes ---------------------------------------------------------------------- */

/* The child of a profiled process is not profiled by the parent's sampler
 * and may start its own; the parent's profile is unaffected. */
static void test_fork(void **state)
{
    (void)state;
    const char *path = tmp_path("parent.vittrace");
    const char *child_path = tmp_path("child.vittrace");
    vitte_profiler *p;
    assert_int_equal(vitte_profiler_start(path, NULL, &p), VITTE_OK);
    spin_cpu(50000000);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        spin_cpu(50000000); /* no timer here: no SIGPROF */
        int rc = 0;
        if (!UNDER_TSAN) { /* TSan cannot follow threads started after fork */
            vitte_profiler *c;
            if (vitte_profiler_start(child_path, NULL, &c) != VITTE_OK)
                rc = 3;
            spin_cpu(50000000);
            if (rc == 0 && vitte_profiler_stop(c) != VITTE_OK)
                rc = 4;
        }
        _exit(rc);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    spin_cpu(50000000);
    assert_int_equal(vitte_profiler_stop(p), VITTE_OK);
    struct tally t;
    assert_int_equal(read_profile(path, my_tid(), &t), VITTE_OK);
    assert_true(t.complete);
    assert_true(t.tid_samples >= 3);
    if (!UNDER_TSAN) {
        assert_int_equal(read_profile(child_path, (uint32_t)pid, &t), VITTE_OK);
        assert_true(t.complete);
        assert_true(t.tid_samples >= 1);
    }
}

/* A real crash (not UBSan's report of a null store). */
__attribute__((noinline, no_sanitize("undefined"))) static void crash_now(void)
{
    volatile int *volatile nowhere = NULL;
    *nowhere = 1;
}

/* A profiled process that dies of SIGSEGV leaves a readable file with the
 * samples taken before. */
static void test_crash(void **state)
{
    (void)state;
    if (UNDER_TSAN) {
        skip(); /* the child starts the writer thread after fork */
        return;
    }
    const char *path = tmp_path("crash.vittrace");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: die */
        vitte_profiler *p;
        if (vitte_profiler_start(path, NULL, &p) != VITTE_OK)
            _exit(3);
        spin_cpu(200000000);
        crash_now();
        _exit(4);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    /* killed by SIGSEGV (or, under ASan, its report's exit status) */
    assert_true(
        (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) ||
        (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 3 && WEXITSTATUS(st) != 4));
    struct tally t;
    read_profile(path, (uint32_t)pid, &t);
    print_message("crashed child: %llu samples, %.1f ms, complete %d\n",
                  (unsigned long long)t.samples, t.weight / 1e6, t.complete);
    assert_true(t.tid_samples >= 3);
    if (WIFSIGNALED(st))
        assert_true(t.complete);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vitte_test_profiler_XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_samples_and_weights),
        cmocka_unit_test(test_start_twice),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_program_handler_restored),
        cmocka_unit_test(test_thread_started_later),
        cmocka_unit_test(test_thread_started_before),
        cmocka_unit_test(test_wall_mode),
        cmocka_unit_test(test_sampler_counts),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_crash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
