/* bench_util.c: argument parsing, timing, medians, machine description and
 * the result lines shared by the benchmarks (see bench_util.h). */
#include "bench_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#include <vitte/version.h>

#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "unknown"
#endif
#ifndef BENCH_C_FLAGS
#define BENCH_C_FLAGS ""
#endif

volatile uint64_t bench_sink;

static int n_mismatch;
static int n_checks;
static int n_targets_met;
static int n_targets_missed;

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--reps N] [--scale F] [--quick] [FILTER]\n"
            "  --reps N   repetitions per benchmark, the median is printed (default 7)\n"
            "  --scale F  multiply every operation count by F (default 1)\n"
            "  --quick    same as --scale 0.1\n"
            "  FILTER     run only the benchmarks whose name contains FILTER\n",
            prog);
}

void bench_parse_args(int argc, char **argv, bench_opts *o)
{
    o->reps = 7;
    o->scale = 1.0;
    o->filter = NULL;
    o->progname = argc > 0 ? argv[0] : "bench";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--reps") == 0 && i + 1 < argc) {
            o->reps = atoi(argv[++i]);
        } else if (strcmp(a, "--scale") == 0 && i + 1 < argc) {
            o->scale = strtod(argv[++i], NULL);
        } else if (strcmp(a, "--quick") == 0) {
            o->scale = 0.1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, o->progname);
            exit(0);
        } else if (a[0] != '-' && o->filter == NULL) {
            o->filter = a;
        } else {
            usage(stderr, o->progname);
            exit(2);
        }
    }
    if (o->reps < 1 || o->reps > 1000 || !(o->scale > 0) || o->scale > 1000) {
        usage(stderr, o->progname);
        exit(2);
    }
}

int bench_selected(const bench_opts *o, const char *name)
{
    return o->filter == NULL || strstr(name, o->filter) != NULL;
}

uint64_t bench_ops(const bench_opts *o, uint64_t ops)
{
    double n = (double)ops * o->scale;
    return n < 1000 ? 1000 : (uint64_t)n;
}

uint64_t bench_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_min(const double *v, size_t n)
{
    double m = n ? v[0] : NAN;
    for (size_t i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

double bench_max(const double *v, size_t n)
{
    double m = n ? v[0] : NAN;
    for (size_t i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

bench_result bench_summarize(double *v, size_t n)
{
    bench_result r;
    r.min = bench_min(v, n);
    r.max = bench_max(v, n);
    r.median = bench_median(v, n);
    return r;
}

/* First line of /proc/cpuinfo starting with key, value copied to out. */
static int cpuinfo_field(const char *key, char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return 0;
    char line[4096];
    size_t klen = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, klen) != 0)
            continue;
        const char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        snprintf(out, cap, "%s", colon);
        out[strcspn(out, "\n")] = '\0';
        found = 1;
    }
    fclose(f);
    return found;
}

static void read_first_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f == NULL) {
        snprintf(out, cap, "?");
        return;
    }
    if (fgets(out, (int)cap, f) == NULL)
        snprintf(out, cap, "?");
    out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

void bench_print_machine(const bench_opts *o, const char *bench_name, const char *linkage,
                         const char *clock_line)
{
    char model[256] = "?", family[32] = "?", modelno[32] = "?", mhz[64] = "?";
    char flags[8192] = "";
    cpuinfo_field("model name", model, sizeof model);
    cpuinfo_field("cpu family", family, sizeof family);
    cpuinfo_field("model\t", modelno, sizeof modelno);
    cpuinfo_field("cpu MHz", mhz, sizeof mhz);
    cpuinfo_field("flags", flags, sizeof flags);
    int guest = strstr(flags, " hypervisor") != NULL;

    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);

    char clocksource[64], loadavg[128];
    read_first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", clocksource,
                    sizeof clocksource);
    read_first_line("/proc/loadavg", loadavg, sizeof loadavg);

    char date[64] = "?";
    time_t now = time(NULL);
    struct tm tmv;
    if (gmtime_r(&now, &tmv) != NULL)
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tmv);

    printf("# %s: vitte %s (header %s), %s library, %s build, C flags \"%s\"\n", bench_name,
           vitte_version_string(), VITTE_VERSION_STRING, linkage, BENCH_BUILD_TYPE, BENCH_C_FLAGS);
    printf("# cpu: %s (family %s, model %s, %s MHz), %ld online CPUs%s\n", model, family, modelno,
           mhz, sysconf(_SC_NPROCESSORS_ONLN), guest ? ", virtual machine (hypervisor flag)" : "");
    printf("# kernel: %s %s %s, clocksource %s\n", u.sysname, u.release, u.machine, clocksource);
#if defined(__clang__)
    printf("# compiler: clang %s", __clang_version__);
#elif defined(__GNUC__)
    printf("# compiler: gcc %s", __VERSION__);
#else
    printf("# compiler: unknown");
#endif
#if defined(__GLIBC__)
    printf(", glibc %s\n", gnu_get_libc_version());
#else
    printf("\n");
#endif
    printf("# vitte clock: %s\n", clock_line);
    printf("# date: %s, load average at start: %s\n", date, loadavg);
    printf("# method: median of %d repetitions (min..max in brackets), runs interleaved, "
           "no pinning, scale %g\n",
           o->reps, o->scale);
    printf("# ratio = vitte / baseline (below 1.00: vitte is faster); timing never fails "
           "the run\n");
    if (strcmp(BENCH_BUILD_TYPE, "Release") != 0)
        printf("# WARNING: not a Release build; figures are not representative\n");
    fflush(stdout);
}

static void print_value(bench_result r, const char *unit)
{
    printf("%9.2f %-6s [%.2f..%.2f]", r.median, unit, r.min, r.max);
}

static void count_target(int met)
{
    if (met)
        n_targets_met++;
    else
        n_targets_missed++;
}

static void line_head(const char *name, bench_result v, const char *unit, const char *base_name,
                      bench_result base)
{
    printf("%-34s ", name);
    print_value(v, unit);
    if (base_name != NULL) {
        printf("  %-22s %9.2f", base_name, base.median);
        printf("  ratio %5.2f", v.median / base.median);
    }
}

void bench_line(const char *name, bench_result v, const char *unit, const char *base_name,
                bench_result base, const char *target, double target_max)
{
    line_head(name, v, unit, base_name, base);
    if (target == NULL) {
        printf("  target -\n");
    } else if (target_max > 0) {
        int met = v.median <= target_max;
        printf("  target %s: %s\n", target, met ? "met" : "NOT MET");
        count_target(met);
    } else {
        printf("  target %s\n", target);
    }
    fflush(stdout);
}

void bench_line_ratio(const char *name, bench_result v, const char *unit, const char *base_name,
                      bench_result base, const char *target, double target_ratio)
{
    line_head(name, v, unit, base_name, base);
    int met = v.median / base.median <= target_ratio;
    printf("  target %s: %s\n", target, met ? "met" : "NOT MET");
    count_target(met);
    fflush(stdout);
}

void bench_vs(const char *name, bench_result vitte, bench_result other, const char *unit)
{
    printf("    vs %-27s ", name);
    print_value(other, unit);
    printf("  ratio %5.2f\n", vitte.median / other.median);
    fflush(stdout);
}

void bench_info(const char *name, bench_result v, const char *unit, const char *note)
{
    printf("%-34s ", name);
    print_value(v, unit);
    if (note != NULL && note[0] != '\0')
        printf("  %s", note);
    printf("\n");
    fflush(stdout);
}

void bench_check(const char *what, int ok)
{
    n_checks++;
    if (!ok)
        n_mismatch++;
    printf("    check %-40s %s\n", what, ok ? "OK" : "MISMATCH");
    fflush(stdout);
}

int bench_finish(void)
{
    char loadavg[128];
    read_first_line("/proc/loadavg", loadavg, sizeof loadavg);
    printf("# load average at end: %s\n", loadavg);
    printf("# summary: %d targets met, %d not met; %d count checks, %d mismatches\n", n_targets_met,
           n_targets_missed, n_checks, n_mismatch);
    return n_mismatch ? 1 : 0;
}
