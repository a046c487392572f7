/* System metrics: process and machine samples, unreadable files, the
 * sampler thread, the Prometheus process metrics (with the registry's
 * collectors and scaled counters), and running a command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vitte/vitte.h>
#include <vitte/system.h>

static double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void burn_cpu(double seconds)
{
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    volatile uint64_t x = 0;
    do {
        for (int i = 0; i < 100000; i++)
            x += (uint64_t)i * 7;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9 < seconds);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A child that sleeps until killed, named name (NULL: unchanged). */
static pid_t spawn_sleeper(const char *name)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* never outlives a failed test */
        if (name != NULL)
            prctl(PR_SET_NAME, name, 0, 0, 0);
        for (;;)
            pause();
    }
    assert_true(pid > 0);
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* ---- one process --------------------------------------------------------------- */

static void test_proc_self(void **state)
{
    (void)state;
    vitte_proc *p;
    assert_int_equal(vitte_proc_open(0, 0, &p), VITTE_OK);
    assert_int_equal(vitte_proc_pid(p), (int)getpid());
    vitte_proc_sample s;
    assert_int_equal(vitte_proc_sample_read(p, &s), VITTE_OK);
    assert_true(s.valid & VITTE_PROC_STAT);
    assert_true(s.valid & VITTE_PROC_STATUS);
    assert_true(s.valid & VITTE_PROC_FDS);
    assert_true(s.valid & VITTE_PROC_LIMITS);
    assert_false(s.valid & VITTE_PROC_PSS); /* not asked for */
    assert_int_equal(s.pid, (int)getpid());
    assert_true(s.rss_bytes > 100 * 1024);
    assert_true(s.vsize_bytes >= s.rss_bytes);
    assert_true(s.threads >= 1);
    assert_true(s.minor_faults > 0);
    assert_true(s.open_fds >= 3);
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(s.max_fds == (uint64_t)rl.rlim_cur);
    /* started within the last day, not in the future (btime is whole seconds) */
    double now = now_unix();
    assert_true(s.start_time <= now + 1.5 && s.start_time > now - 86400);
    /* CPU times agree with getrusage */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    assert_true(fabs(s.user_seconds + s.system_seconds - cpu) < 0.05);
    /* IO is readable for oneself */
    assert_true(s.valid & VITTE_PROC_IO);

    /* CPU percent over an interval of computation: the CPU time used over
     * the wall time (how much of a CPU it got depends on the machine's load) */
    vitte_proc_sample a, b;
    assert_int_equal(vitte_proc_sample_read(p, &a), VITTE_OK);
    burn_cpu(0.2);
    assert_int_equal(vitte_proc_sample_read(p, &b), VITTE_OK);
    double used = b.user_seconds + b.system_seconds - (a.user_seconds + a.system_seconds);
    double wall = (double)(b.time_ns - a.time_ns) * 1e-9;
    assert_true(used >= 0.19);
    assert_true(fabs(b.cpu_percent - 100.0 * used / wall) < 1.0);
    assert_true(b.cpu_percent > 0 &&
                b.cpu_percent <= 100.0 * 1.05 * (double)sysconf(_SC_NPROCESSORS_ONLN));

    /* RSS grows by what is touched */
    size_t big = 64u << 20;
    char *m = malloc(big);
    assert_non_null(m);
    memset(m, 1, big);
    assert_int_equal(vitte_proc_sample_read(p, &b), VITTE_OK);
    assert_true(b.rss_bytes >= a.rss_bytes + big - (8u << 20));
    /* IO: written bytes show in wchar */
    FILE *f = tmpfile();
    assert_non_null(f);
    fwrite(m, 1, 1 << 20, f);
    fflush(f);
    fclose(f);
    free(m);
    assert_int_equal(vitte_proc_sample_read(p, &b), VITTE_OK);
    assert_true(b.io_wchar >= a.io_wchar + (1u << 20));
    vitte_proc_close(p);

    /* PSS on request */
    assert_int_equal(vitte_proc_open(0, VITTE_PROC_ALL, &p), VITTE_OK);
    assert_int_equal(vitte_proc_sample_read(p, &s), VITTE_OK);
    assert_true(s.valid & VITTE_PROC_PSS);
    assert_true(s.pss_bytes > 0 && s.pss_bytes <= s.rss_bytes + (1u << 20));
    vitte_proc_close(p);
}

static void test_proc_other(void **state)
{
    (void)state;
    /* a name with the characters that break naive /proc/PID/stat parsers */
    pid_t pid = spawn_sleeper("a) (b c) d");
    sleep_ms(20);
    vitte_proc *p;
    assert_int_equal(vitte_proc_open(pid, VITTE_PROC_ALL, &p), VITTE_OK);
    vitte_proc_sample s;
    assert_int_equal(vitte_proc_sample_read(p, &s), VITTE_OK);
    assert_true(s.valid & VITTE_PROC_STAT);
    assert_true(s.valid & VITTE_PROC_STATUS);
    assert_true(s.threads >= 1); /* 1, or 2 under TSan (its runtime's thread) */
    assert_true(s.rss_bytes > 0 && s.vsize_bytes >= s.rss_bytes);
    assert_true(s.voluntary_ctxt_switches >= 1); /* pause() sleeps */
    double now = now_unix();
    assert_true(s.start_time <= now + 1.5 && s.start_time > now - 5);
    /* the same user (or root): everything is readable */
    assert_true(s.valid & VITTE_PROC_IO);
    assert_true(s.valid & VITTE_PROC_FDS);
    assert_true(s.valid & VITTE_PROC_LIMITS);
    assert_true(s.max_fds > 0);

    /* gone: a clear status, a zeroed sample, no crash */
    reap(pid);
    assert_int_equal(vitte_proc_sample_read(p, &s), VITTE_ENOENT);
    assert_int_equal(s.valid, 0);
    assert_int_equal(vitte_proc_sample_read(p, &s), VITTE_ENOENT);
    vitte_proc_close(p);
}

static void test_proc_errors(void **state)
{
    (void)state;
    vitte_proc *p = (vitte_proc *)&p;
    /* a PID that cannot exist (pid_max is at most 2^22) */
    assert_int_equal(vitte_proc_open(999999999, 0, &p), VITTE_ENOENT);
    assert_null(p);
    assert_int_equal(vitte_proc_open(-1, 0, &p), VITTE_EINVAL);
    assert_int_equal(vitte_proc_open(0, 1u << 20, &p), VITTE_EINVAL);
    assert_int_equal(vitte_proc_open(0, 0, NULL), VITTE_EINVAL);
    vitte_proc_sample s;
    assert_int_equal(vitte_proc_sample_read(NULL, &s), VITTE_EINVAL);
    vitte_proc_close(NULL);
    /* an exited but unreaped process (a zombie) still reads */
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    sleep_ms(50);
    assert_int_equal(vitte_proc_open(pid, 0, &p), VITTE_OK);
    assert_int_equal(vitte_proc_sample_read(p, &s), VITTE_OK);
    waitpid(pid, NULL, 0);
    assert_int_equal(vitte_proc_sample_read(p, &s), VITTE_ENOENT);
    vitte_proc_close(p);
}

/* Another user's process: io, fd/ and smaps_rollup are refused (EACCES),
 * stat and status are not.  Run as `nobody` in a child when root; as
 * ourselves against PID 1 otherwise. */
static void test_proc_unreadable(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0) {
            struct passwd *pw = getpwnam("nobody");
            if (pw == NULL || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
                _exit(77);
        } else {
            struct stat st;
            if (stat("/proc/1", &st) != 0 || st.st_uid == geteuid())
                _exit(78); /* PID 1 is ours (a container): nothing is refused */
        }
        int code = 0;
        vitte_proc *p;
        if (vitte_proc_open(1, VITTE_PROC_ALL, &p) != VITTE_OK)
            _exit(10);
        vitte_proc_sample s;
        if (vitte_proc_sample_read(p, &s) != VITTE_OK)
            code = 11;
        else if (!(s.valid & VITTE_PROC_STAT) || s.rss_bytes == 0)
            code = 12;
        else if (s.valid & (VITTE_PROC_IO | VITTE_PROC_FDS | VITTE_PROC_PSS))
            code = 13; /* must be refused to another user */
        else if (s.io_rchar != 0 || s.open_fds != 0 || s.pss_bytes != 0)
            code = 14;
        vitte_proc_close(p);
        _exit(code);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77 || WEXITSTATUS(st) == 78)
        skip(); /* no user nobody, or PID 1 is ours */
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- the machine ----------------------------------------------------------------- */

static void test_host(void **state)
{
    (void)state;
    vitte_host *h;
    assert_int_equal(vitte_host_open(&h), VITTE_OK);
    vitte_host_sample s;
    assert_int_equal(vitte_host_sample_read(h, &s), VITTE_OK);
    unsigned need =
        VITTE_HOST_CPU | VITTE_HOST_MEMORY | VITTE_HOST_LOAD | VITTE_HOST_NETWORK | VITTE_HOST_DISK;
    assert_int_equal(s.valid & need, need);
    /* highest online CPU + 1 */
    assert_true(s.n_cpus >= 1 && s.n_cpus <= (size_t)sysconf(_SC_NPROCESSORS_CONF));
    assert_true(s.cpu_percent >= 0 && s.cpu_percent <= 100);
    assert_true(s.mem_total_bytes > (64u << 20));
    assert_true(s.mem_available_bytes <= s.mem_total_bytes);
    assert_true(s.mem_used_bytes == s.mem_total_bytes - s.mem_available_bytes);
    assert_true(s.tasks_total >= 1 && s.tasks_running >= 1);
    assert_true(s.load1 >= 0);
    if (access("/proc/pressure/cpu", R_OK) == 0) {
        assert_true(s.valid & VITTE_HOST_PSI);
        assert_true(s.psi_cpu_some.avg10 >= 0 && s.psi_cpu_some.avg10 <= 100);
    }
    int lo = 0;
    for (size_t i = 0; i < s.n_nets; i++)
        lo |= strcmp(s.nets[i].name, "lo") == 0;
    assert_true(lo);

    /* a second sample: CPU over the interval, in which we burnt 0.2 s */
    uint64_t t0 = s.time_ns;
    burn_cpu(0.2);
    assert_int_equal(vitte_host_sample_read(h, &s), VITTE_OK);
    double dt = (double)(s.time_ns - t0) * 1e-9;
    assert_true(s.cpu_percent >= 0 && s.cpu_percent <= 100);
    /* busy CPU-seconds of the machine >= ours (ticks of 10 ms: some slack) */
    assert_true(s.cpu_percent / 100.0 * (double)s.n_cpus * dt >= 0.15);
    double sum = 0;
    size_t online = 0;
    for (size_t i = 0; i < s.n_cpus; i++) {
        double v = s.cpu_percent_per_cpu[i];
        assert_true(isnan(v) || (v >= 0 && v <= 100));
        if (!isnan(v)) {
            sum += v;
            online++;
        }
    }
    /* the machine's figure is the mean of its CPUs' (to a tick or two) */
    assert_true(online >= 1 && fabs(sum / (double)online - s.cpu_percent) < 5);
    assert_true(s.cpu_user_percent + s.cpu_system_percent <= s.cpu_percent + 0.01);

    /* network bytes over lo show in nets[] but not in the totals */
    vitte_host_close(h);
    vitte_host_close(NULL);
    assert_int_equal(vitte_host_open(NULL), VITTE_EINVAL);
    assert_int_equal(vitte_host_sample_read(NULL, &s), VITTE_EINVAL);
}

/* ---- the sampler -------------------------------------------------------------------- */

static int find_name(const vitte_metric_info *info, void *ud)
{
    return strcmp(info->name, (const char *)ud) == 0;
}

static void test_sampler(void **state)
{
    (void)state;
    vitte_sys_sampler_config cfg;
    vitte_sys_sampler_config_init(&cfg);
    vitte_sys_metric ms[] = {VITTE_SYS_PROC_CPU_PERCENT, VITTE_SYS_PROC_RSS,
                             VITTE_SYS_PROC_OPEN_FDS,    VITTE_SYS_PROC_IO_WRITE_RATE,
                             VITTE_SYS_HOST_CPU_PERCENT, VITTE_SYS_HOST_MEM_USED,
                             VITTE_SYS_HOST_NET_RX_RATE};
    cfg.metrics = ms;
    cfg.n_metrics = sizeof ms / sizeof ms[0];
    cfg.interval_ns = 10000000; /* 10 ms */
    cfg.capacity = 1000;
    vitte_sys_sampler *s;
    assert_int_equal(vitte_sys_sampler_create(&cfg, &s), VITTE_OK);
    assert_null(vitte_sys_sampler_series(s, VITTE_SYS_PROC_PSS)); /* not chosen */
    vitte_series *cpu = vitte_sys_sampler_series(s, VITTE_SYS_PROC_CPU_PERCENT);
    vitte_series *rss = vitte_sys_sampler_series(s, VITTE_SYS_PROC_RSS);
    assert_non_null(cpu);
    assert_string_equal(vitte_series_name(rss), "process_resident_memory_bytes");
    assert_int_equal(vitte_sys_sampler_stop(s), VITTE_ESTATE);
    assert_int_equal(vitte_sys_sampler_start(s), VITTE_OK);
    assert_int_equal(vitte_sys_sampler_start(s), VITTE_ESTATE);
    burn_cpu(0.15);
    assert_int_equal(vitte_sys_sampler_stop(s), VITTE_OK);
    uint64_t n = vitte_sys_sampler_samples(s);
    assert_true(n >= 5);
    assert_int_equal(vitte_series_total_count(cpu), n);
    assert_true(vitte_series_max(cpu) > 30); /* one CPU was kept busy */
    assert_true(vitte_series_min(rss) > 0);
    /* stopped means stopped */
    sleep_ms(40);
    assert_int_equal(vitte_sys_sampler_samples(s), n);
    /* by hand, and a restart */
    assert_int_equal(vitte_sys_sampler_sample_now(s), VITTE_OK);
    assert_int_equal(vitte_sys_sampler_samples(s), n + 1);
    assert_int_equal(vitte_sys_sampler_start(s), VITTE_OK);
    sleep_ms(30);
    vitte_sys_sampler_destroy(s); /* stops and joins */

    /* into a registry, which owns the series and exports them */
    vitte_metrics *m = vitte_metrics_create();
    const char *labels[] = {"job", "test", NULL};
    cfg.registry = m;
    cfg.labels = labels;
    cfg.metrics = NULL; /* the defaults */
    assert_int_equal(vitte_sys_sampler_create(&cfg, &s), VITTE_OK);
    assert_int_equal(vitte_sys_sampler_sample_now(s), VITTE_OK);
    vitte_sys_sampler_destroy(s);
    assert_int_equal(vitte_metrics_visit(m, find_name, (void *)"host_cpu_percent"), 1);
    char *text = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    assert_non_null(text);
    assert_non_null(strstr(text, "process_cpu_percent{job=\"test\",quantile=\"0.5\"}"));
    free(text);
    /* the same names again: refused */
    assert_int_equal(vitte_sys_sampler_create(&cfg, &s), VITTE_EEXIST);
    vitte_metrics_destroy(m);

    /* bad configurations */
    vitte_sys_sampler_config_init(&cfg);
    cfg.interval_ns = 1000;
    assert_int_equal(vitte_sys_sampler_create(&cfg, &s), VITTE_EINVAL);
    vitte_sys_sampler_config_init(&cfg);
    cfg.pid = 999999999;
    assert_int_equal(vitte_sys_sampler_create(&cfg, &s), VITTE_ENOENT);
    assert_string_equal(vitte_sys_metric_name(VITTE_SYS_HOST_LOAD1), "host_load1");
    assert_null(vitte_sys_metric_name(VITTE_SYS_METRIC_COUNT));
    vitte_sys_sampler_destroy(NULL);
}

static void test_sampler_process_exit(void **state)
{
    (void)state;
    pid_t pid = spawn_sleeper(NULL);
    vitte_sys_sampler_config cfg;
    vitte_sys_sampler_config_init(&cfg);
    cfg.pid = pid;
    vitte_sys_sampler *s;
    assert_int_equal(vitte_sys_sampler_create(&cfg, &s), VITTE_OK);
    assert_int_equal(vitte_sys_sampler_sample_now(s), VITTE_OK);
    reap(pid);
    assert_int_equal(vitte_sys_sampler_sample_now(s), VITTE_ENOENT);
    /* the machine's figures go on */
    vitte_series *host = vitte_sys_sampler_series(s, VITTE_SYS_HOST_CPU_PERCENT);
    uint64_t before = vitte_series_total_count(host);
    vitte_sys_sampler_sample_now(s);
    assert_int_equal(vitte_series_total_count(host), before + 1);
    vitte_sys_sampler_destroy(s);
}

/* ---- registry: collectors, scaled counters, process metrics ------------------------------- */

static int collect_calls, free_calls;

static void collect_fn(vitte_metrics *m, void *ud)
{
    (void)m;
    collect_calls++;
    vitte_gauge_set(ud, (double)collect_calls);
}

static void free_fn(void *ud)
{
    (void)ud;
    free_calls++;
}

static void test_collectors(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_gauge *g = vitte_metrics_gauge(m, "calls", NULL, NULL);
    assert_int_equal(vitte_metrics_add_collector(m, collect_fn, g, free_fn), VITTE_OK);
    collect_calls = free_calls = 0;
    char *t = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    assert_non_null(strstr(t, "calls 1\n"));
    free(t);
    vitte_metrics_collect(m);
    assert_int_equal(collect_calls, 2);
    assert_int_equal(vitte_metrics_remove_collector(m, collect_fn, g), VITTE_OK);
    assert_int_equal(free_calls, 1);
    assert_int_equal(vitte_metrics_remove_collector(m, collect_fn, g), VITTE_ENOENT);
    vitte_metrics_collect(m);
    assert_int_equal(collect_calls, 2);
    assert_int_equal(vitte_metrics_add_collector(m, collect_fn, g, free_fn), VITTE_OK);
    assert_int_equal(vitte_metrics_add_collector(NULL, collect_fn, g, free_fn), VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_collector(m, NULL, g, free_fn), VITTE_EINVAL);
    vitte_metrics_destroy(m); /* frees the collector's state */
    assert_int_equal(free_calls, 2);
}

static void test_scaled_counter(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    vitte_counter *c;
    assert_int_equal(
        vitte_metrics_add_scaled_counter(m, "busy_seconds_total", "h", NULL, "seconds", 1e-9, &c),
        VITTE_OK);
    vitte_counter_add(c, 1500000000u);
    char *t = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    assert_non_null(strstr(t, "# TYPE busy_seconds_total counter\n"));
    assert_non_null(strstr(t, "busy_seconds_total 1.5\n"));
    free(t);
    t = vitte_metrics_to_string(m, VITTE_FORMAT_JSON);
    assert_non_null(strstr(t, "1.5"));
    free(t);
    t = vitte_metrics_to_string(m, VITTE_FORMAT_CSV);
    assert_non_null(strstr(t, ",1.5"));
    free(t);
    /* same family: same handle; other scale, unit or a plain counter: refused */
    vitte_counter *c2;
    assert_int_equal(
        vitte_metrics_add_scaled_counter(m, "busy_seconds_total", "h", NULL, "seconds", 1e-9, &c2),
        VITTE_OK);
    assert_ptr_equal(c, c2);
    assert_int_equal(
        vitte_metrics_add_scaled_counter(m, "busy_seconds_total", "h", NULL, "seconds", 1e-6, &c2),
        VITTE_EEXIST);
    assert_int_equal(vitte_metrics_add_counter(m, "busy_seconds_total", "h", NULL, &c2),
                     VITTE_EEXIST);
    assert_int_equal(vitte_metrics_add_scaled_counter(m, "x", "h", NULL, "seconds", 0, &c2),
                     VITTE_EINVAL);
    assert_int_equal(vitte_metrics_add_scaled_counter(m, "x", "h", NULL, "seconds", NAN, &c2),
                     VITTE_EINVAL);
    assert_null(c2);
    /* a plain counter stays an integer */
    vitte_counter_add(vitte_metrics_counter(m, "plain_total", NULL, NULL), 3);
    t = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    assert_non_null(strstr(t, "plain_total 3\n"));
    free(t);
    vitte_metrics_destroy(m);
}

static double prom_value(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return NAN;
}

/* promtool's verdict on a Prometheus text: its exit status, or -1 when
 * promtool is not installed. */
static int promtool_check(const char *text, char *msg, size_t cap)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        return -1;
    char in[] = "/tmp/vitte-test-system-XXXXXX";
    int fd = mkstemp(in);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", in);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(msg, 1, cap - 1, p);
    msg[n] = '\0';
    int st = pclose(p);
    unlink(in);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_process_metrics(void **state)
{
    (void)state;
    vitte_metrics *m = vitte_metrics_create();
    assert_int_equal(vitte_process_metrics_register(m, 0), VITTE_OK);
    assert_int_equal(vitte_process_metrics_register(m, 0), VITTE_EEXIST);
    char *t = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    assert_non_null(strstr(t, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(t, "# TYPE process_start_time_seconds gauge\n"));
    double cpu0 = prom_value(t, "process_cpu_seconds_total");
    double start = prom_value(t, "process_start_time_seconds");
    double now = now_unix();
    assert_true(start > now - 86400 && start <= now + 1.5); /* Unix time, not ticks */
    assert_true(prom_value(t, "process_resident_memory_bytes") > 0);
    assert_true(prom_value(t, "process_virtual_memory_bytes") > 0);
    assert_true(prom_value(t, "process_open_fds") >= 3);
    assert_true(prom_value(t, "process_max_fds") > 0);
    assert_true(prom_value(t, "process_threads") >= 1);
    /* the exposition and the names pass promtool's checks and lint */
    char msg[4096];
    int verdict = promtool_check(t, msg, sizeof msg);
    if (verdict > 0)
        print_error("promtool check metrics: exit %d\n%s\n%s\n", verdict, msg, t);
    assert_true(verdict <= 0);
    free(t);
    burn_cpu(0.1);
    t = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    double cpu1 = prom_value(t, "process_cpu_seconds_total");
    /* fractional seconds, refreshed at export */
    assert_true(cpu1 >= cpu0 + 0.08);
    assert_true(cpu1 != floor(cpu1));
    free(t);
    vitte_metrics_destroy(m);

    /* another process; once it has exited the values stay */
    pid_t pid = spawn_sleeper(NULL);
    m = vitte_metrics_create();
    assert_int_equal(vitte_process_metrics_register(m, pid), VITTE_OK);
    reap(pid);
    t = vitte_metrics_to_string(m, VITTE_FORMAT_PROMETHEUS);
    assert_non_null(t);
    assert_true(prom_value(t, "process_resident_memory_bytes") > 0);
    free(t);
    vitte_metrics_destroy(m);
    m = vitte_metrics_create();
    assert_int_equal(vitte_process_metrics_register(m, 999999999), VITTE_ENOENT);
    assert_int_equal(vitte_process_metrics_register(NULL, 0), VITTE_EINVAL);
    vitte_metrics_destroy(m);
}

/* ---- running a command ------------------------------------------------------------------ */

static void test_command(void **state)
{
    (void)state;
    vitte_command_result r;
    char *exit3[] = {"sh", "-c", "exit 3", NULL};
    assert_int_equal(vitte_command_run(NULL, exit3, &r), VITTE_OK);
    assert_true(r.exited);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.status, 3);
    assert_true(r.wall_seconds > 0 && r.wall_seconds < 10);
    assert_true(r.max_rss_bytes > 0);

    char *killed[] = {"sh", "-c", "kill -TERM $$", NULL};
    assert_int_equal(vitte_command_run(NULL, killed, &r), VITTE_OK);
    assert_false(r.exited);
    assert_int_equal(r.signal, SIGTERM);
    assert_int_equal(r.status, 128 + SIGTERM);

    char *sleeper[] = {"sleep", "0.2", NULL};
    assert_int_equal(vitte_command_run(NULL, sleeper, &r), VITTE_OK);
    assert_true(r.wall_seconds >= 0.2 && r.wall_seconds < 5);
    assert_true(r.user_seconds + r.system_seconds < 0.1);
    /* software counters open everywhere perf_event_open is allowed */
    vitte_perf_status tc = r.perf[VITTE_PERF_TASK_CLOCK].status;
    assert_true(tc == VITTE_PERF_OK || tc == VITTE_PERF_NOT_PERMITTED ||
                tc == VITTE_PERF_NOT_SUPPORTED);
    if (tc == VITTE_PERF_OK) {
        assert_true(r.perf[VITTE_PERF_TASK_CLOCK].value > 0);
        assert_true(r.perf[VITTE_PERF_TASK_CLOCK].value < 100000000u); /* < 0.1 s of CPU */
        assert_true(r.perf[VITTE_PERF_PAGE_FAULTS].value > 0);
        assert_true(r.perf[VITTE_PERF_TASK_CLOCK].running_ratio > 0.99);
    }
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++)
        assert_true(r.perf[e].status != VITTE_PERF_NOT_REQUESTED);

    /* no counters asked for */
    vitte_command_config cfg;
    vitte_command_config_init(&cfg);
    cfg.perf_events = 0;
    char *t[] = {"true", NULL};
    assert_int_equal(vitte_command_run(&cfg, t, &r), VITTE_OK);
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++)
        assert_int_equal(r.perf[e].status, VITTE_PERF_NOT_REQUESTED);

    /* start, pid, wait, wait again */
    vitte_command *c;
    assert_int_equal(vitte_command_start(NULL, sleeper, &c), VITTE_OK);
    assert_true(vitte_command_pid(c) > 0);
    assert_int_equal(vitte_command_wait(c, &r), VITTE_OK);
    assert_int_equal(vitte_command_wait(c, &r), VITTE_ESTATE);
    vitte_command_destroy(c);
    /* destroyed while running: killed and reaped */
    char *longer[] = {"sleep", "30", NULL};
    assert_int_equal(vitte_command_start(NULL, longer, &c), VITTE_OK);
    pid_t pid = vitte_command_pid(c);
    vitte_command_destroy(c);
    assert_int_equal(kill(pid, 0), -1);

    /* what a shell would call 127 and 126 */
    char *missing[] = {"vitte-no-such-program", NULL};
    assert_int_equal(vitte_command_run(NULL, missing, &r), VITTE_ENOENT);
    char *missing_path[] = {"/nonexistent/prog", NULL};
    assert_int_equal(vitte_command_run(NULL, missing_path, &r), VITTE_ENOENT);
    char *not_exec[] = {"/etc/passwd", NULL}; /* no x bit: refused even to root */
    assert_int_equal(vitte_command_run(NULL, not_exec, &r), VITTE_EPERM);
    char *dir[] = {"/tmp", NULL};
    assert_int_equal(vitte_command_run(NULL, dir, &r), VITTE_EPERM);
    char *empty[] = {NULL};
    assert_int_equal(vitte_command_run(NULL, empty, &r), VITTE_EINVAL);
    assert_string_equal(vitte_perf_event_name(VITTE_PERF_BRANCH_MISSES), "branch-misses");
    assert_null(vitte_perf_event_name(VITTE_PERF_EVENT_COUNT));
    assert_string_equal(vitte_perf_status_name(VITTE_PERF_NOT_SUPPORTED), "not supported");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_self),
        cmocka_unit_test(test_proc_other),
        cmocka_unit_test(test_proc_errors),
        cmocka_unit_test(test_proc_unreadable),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_sampler_process_exit),
        cmocka_unit_test(test_collectors),
        cmocka_unit_test(test_scaled_counter),
        cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
