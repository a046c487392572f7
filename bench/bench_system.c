/* bench_system: cost of a system-metrics sample.
 *
 *   proc_sample_other  vitte_proc_sample_read() of another process (a sleeping
 *                      child): stat, status, io, fd/, limits on kept fds with
 *                      pread()          vs fopen/fscanf of the same files and
 *                                       opendir/readdir of fd/ (naive code)
 *                      (target: at most 10 us per full sample)
 *   proc_sample_self   the same for the calling process (getrusage stands in
 *                      for status and getrlimit for limits) vs the same naive
 *                      reads of /proc/self
 *   proc_sample_other_no_status  the same without status (VITTE_PROC_STATUS
 *                      off): what the context switches of another process cost
 *   proc_sample_pss    with smaps_rollup (VITTE_PROC_ALL; information)
 *   host_sample        vitte_host_sample_read(): stat, meminfo, loadavg,
 *                      pressure/{cpu,memory,io}, diskstats, net/dev
 *                                       vs fopen/fscanf of the same files
 *
 * Each figure is the median of --reps repetitions of n samples, vitte and
 * baseline interleaved within each repetition.
 *
 * Run: build/release/bench/bench_system [--reps N] [--scale F] [FILTER]
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vitte/vitte.h>
#include <vitte/system.h>

#include "bench_util.h"

#ifndef BENCH_LINKAGE
#define BENCH_LINKAGE "static"
#endif

/* ---- the naive baseline: what code that reads /proc each time looks like ---- */

struct naive_proc {
    unsigned long minflt, majflt, utime, stime, vsize;
    long threads, rss;
    unsigned long long start;
    unsigned long vcsw, ivcsw;
    unsigned long long rchar, wchar, read_bytes, write_bytes;
    long fds;
    unsigned long max_fds;
};

static int naive_proc_sample(int pid, struct naive_proc *s)
{
    char path[64], line[512];
    FILE *f;
    int ok = 0;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) != NULL) {
        ok += fscanf(f,
                     "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %lu %*u %lu %*u %lu %lu %*d %*d "
                     "%*d %*d %ld %*d %llu %lu %ld",
                     &s->minflt, &s->majflt, &s->utime, &s->stime, &s->threads, &s->start,
                     &s->vsize, &s->rss) == 8;
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if ((f = fopen(path, "r")) != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            sscanf(line, "voluntary_ctxt_switches: %lu", &s->vcsw);
            sscanf(line, "nonvoluntary_ctxt_switches: %lu", &s->ivcsw);
        }
        fclose(f);
        ok++;
    }
    snprintf(path, sizeof path, "/proc/%d/io", pid);
    if ((f = fopen(path, "r")) != NULL) {
        ok += fscanf(f,
                     "rchar: %llu wchar: %llu syscr: %*u syscw: %*u read_bytes: %llu "
                     "write_bytes: %llu",
                     &s->rchar, &s->wchar, &s->read_bytes, &s->write_bytes) == 4;
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d != NULL) {
        long n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        s->fds = n;
        ok++;
    }
    snprintf(path, sizeof path, "/proc/%d/limits", pid);
    if ((f = fopen(path, "r")) != NULL) {
        while (fgets(line, sizeof line, f) != NULL)
            if (sscanf(line, "Max open files %lu", &s->max_fds) == 1)
                ok++;
        fclose(f);
    }
    return ok;
}

static int naive_host_sample(void)
{
    static const char *const files[] = {
        "/proc/stat",         "/proc/meminfo",         "/proc/loadavg",
        "/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io",
        "/proc/diskstats",    "/proc/net/dev"};
    char line[1024];
    int ok = 0;
    unsigned long long a, b, c, d;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f = fopen(files[i], "r");
        if (f == NULL)
            continue;
        while (fgets(line, sizeof line, f) != NULL) {
            /* what a reader of each file has to scan: every line */
            if (sscanf(line, "cpu %llu %llu %llu %llu", &a, &b, &c, &d) == 4)
                ok++;
            else if (sscanf(line, "MemAvailable: %llu", &a) == 1)
                ok++;
            else if (sscanf(line, "%*u %*u %*s %llu %*u %llu", &a, &b) == 2)
                ok++;
        }
        fclose(f);
    }
    return ok;
}

/* ---- timed loops: ns per sample -------------------------------------------- */

static double time_vitte_proc(vitte_proc *p, uint64_t n, int *fail)
{
    vitte_proc_sample s;
    uint64_t acc = 0;
    uint64_t t0 = bench_ns();
    for (uint64_t i = 0; i < n; i++) {
        if (vitte_proc_sample_read(p, &s) != VITTE_OK)
            (*fail)++;
        acc += s.rss_bytes + s.open_fds;
    }
    uint64_t t1 = bench_ns();
    bench_sink = acc;
    return (double)(t1 - t0) / (double)n;
}

static double time_naive_proc(int pid, uint64_t n, int *fail, int expect)
{
    struct naive_proc s;
    uint64_t acc = 0;
    uint64_t t0 = bench_ns();
    for (uint64_t i = 0; i < n; i++) {
        memset(&s, 0, sizeof s);
        if (naive_proc_sample(pid, &s) != expect)
            (*fail)++;
        acc += (uint64_t)s.rss + (uint64_t)s.fds;
    }
    uint64_t t1 = bench_ns();
    bench_sink = acc;
    return (double)(t1 - t0) / (double)n;
}

static double time_vitte_host(vitte_host *h, uint64_t n, int *fail)
{
    vitte_host_sample s;
    uint64_t acc = 0;
    uint64_t t0 = bench_ns();
    for (uint64_t i = 0; i < n; i++) {
        if (vitte_host_sample_read(h, &s) != VITTE_OK)
            (*fail)++;
        acc += s.mem_available_bytes;
    }
    uint64_t t1 = bench_ns();
    bench_sink = acc;
    return (double)(t1 - t0) / (double)n;
}

static double time_naive_host(uint64_t n)
{
    uint64_t acc = 0;
    uint64_t t0 = bench_ns();
    for (uint64_t i = 0; i < n; i++)
        acc += (uint64_t)naive_host_sample();
    uint64_t t1 = bench_ns();
    bench_sink = acc;
    return (double)(t1 - t0) / (double)n;
}

enum {
    R_OTHER,
    R_OTHER_NAIVE,
    R_OTHER_NOSTATUS,
    R_SELF,
    R_SELF_NAIVE,
    R_PSS,
    R_HOST,
    R_HOST_NAIVE,
    R_COUNT
};

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_args(argc, argv, &o);
    vitte_clock_info info;
    vitte_clock_get_info(&info, 1);
    char clock_line[256];
    snprintf(clock_line, sizeof clock_line, "source %s (timings use CLOCK_MONOTONIC)",
             vitte_clock_source_name(info.source));
    bench_print_machine(&o, "bench_system", BENCH_LINKAGE, clock_line);

    /* The other process: a child that sleeps, so its figures hold still. */
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    if (child < 0) {
        perror("fork");
        return 1;
    }
    int self = (int)getpid();

    vitte_proc *pother = NULL, *pself = NULL, *ppss = NULL, *pnostatus = NULL;
    vitte_host *host = NULL;
    int rc = vitte_proc_open(child, VITTE_PROC_DEFAULT, &pother);
    if (rc == VITTE_OK)
        rc = vitte_proc_open(child, VITTE_PROC_DEFAULT & ~(unsigned)VITTE_PROC_STATUS, &pnostatus);
    if (rc == VITTE_OK)
        rc = vitte_proc_open(0, VITTE_PROC_DEFAULT, &pself);
    if (rc == VITTE_OK)
        rc = vitte_proc_open(0, VITTE_PROC_ALL, &ppss);
    if (rc == VITTE_OK)
        rc = vitte_host_open(&host);
    if (rc != VITTE_OK) {
        fprintf(stderr, "bench_system: %s\n", vitte_strerror(rc));
        kill(child, SIGKILL);
        return 1;
    }
    /* What is readable here decides what both sides read. */
    vitte_proc_sample ps;
    vitte_proc_sample_read(pother, &ps);
    printf("# other process: pid %d, valid groups 0x%x (stat 1, status 2, io 4, fds 8, "
           "limits 16)\n",
           (int)child, ps.valid);
    struct naive_proc ns;
    int expect_other = naive_proc_sample(child, &ns);
    int expect_self = naive_proc_sample(self, &ns);

    const uint64_t n = bench_ops(&o, 20000);
    const int reps = o.reps;
    double *res[R_COUNT];
    for (int k = 0; k < R_COUNT; k++)
        if ((res[k] = calloc((size_t)reps, sizeof(double))) == NULL)
            return 1;
    int want_other = bench_selected(&o, "proc_sample_other");
    int want_self = bench_selected(&o, "proc_sample_self");
    int want_pss = bench_selected(&o, "proc_sample_pss");
    int want_host = bench_selected(&o, "host_sample");
    int fail = 0, naive_fail = 0;

    /* Warm-up: buffers at their size, files in the dentry cache. */
    time_vitte_proc(pother, n / 10, &fail);
    time_naive_proc(child, n / 10, &naive_fail, expect_other);
    time_vitte_host(host, n / 20, &fail);

    for (int r = 0; r < reps; r++) {
        if (want_other) {
            res[R_OTHER][r] = time_vitte_proc(pother, n, &fail);
            res[R_OTHER_NAIVE][r] = time_naive_proc(child, n, &naive_fail, expect_other);
            res[R_OTHER_NOSTATUS][r] = time_vitte_proc(pnostatus, n, &fail);
        }
        if (want_self) {
            res[R_SELF][r] = time_vitte_proc(pself, n, &fail);
            res[R_SELF_NAIVE][r] = time_naive_proc(self, n, &naive_fail, expect_self);
        }
        if (want_pss)
            res[R_PSS][r] = time_vitte_proc(ppss, n / 4, &fail);
        if (want_host) {
            res[R_HOST][r] = time_vitte_host(host, n / 4, &fail);
            res[R_HOST_NAIVE][r] = time_naive_host(n / 4);
        }
    }

    printf("\n");
    if (want_other) {
        bench_result v = bench_summarize(res[R_OTHER], (size_t)reps);
        bench_result b = bench_summarize(res[R_OTHER_NAIVE], (size_t)reps);
        bench_line("proc_sample_other", v, "ns/sample", "fopen_fscanf", b, "<= 10000 ns", 10000);
        bench_info("proc_sample_other_no_status",
                   bench_summarize(res[R_OTHER_NOSTATUS], (size_t)reps), "ns/sample",
                   "without /proc/PID/status (no context switches)");
    }
    if (want_self) {
        bench_result v = bench_summarize(res[R_SELF], (size_t)reps);
        bench_result b = bench_summarize(res[R_SELF_NAIVE], (size_t)reps);
        bench_line("proc_sample_self", v, "ns/sample", "fopen_fscanf", b, "<= 10000 ns", 10000);
    }
    if (want_pss)
        bench_info("proc_sample_pss", bench_summarize(res[R_PSS], (size_t)reps), "ns/sample",
                   "self with smaps_rollup (VITTE_PROC_ALL)");
    if (want_host) {
        bench_result v = bench_summarize(res[R_HOST], (size_t)reps);
        bench_result b = bench_summarize(res[R_HOST_NAIVE], (size_t)reps);
        bench_line("host_sample", v, "ns/sample", "fopen_fscanf", b, NULL, 0);
    }
    printf("\n");
    bench_check("every vitte sample succeeded", fail == 0);
    bench_check("every naive sample read all its files", naive_fail == 0);

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    vitte_proc_close(pother);
    vitte_proc_close(pself);
    vitte_proc_close(ppss);
    vitte_proc_close(pnostatus);
    vitte_host_close(host);
    for (int k = 0; k < R_COUNT; k++)
        free(res[k]);
    return bench_finish();
}
