/* bench_profile_inspect: `vitte inspect` on a profile of one million samples
 * (target: the text report in at most 2 s), beside the floor of reading
 * the same file (every sample and its frames, no export) in the same run.
 *
 * The profile is written with the sample writer (src/prof/profw.c) the way
 * `vitte run --profile` writes one: 1,000,000 samples of 4 threads over
 * 20,000 distinct stacks, 8 to 40 frames deep, whose addresses are real
 * instructions of this machine's libc (so symbolization and its inlined
 * frames are real), then a SYMBOLS chunk.
 *
 *   bench_profile_inspect [--reps N] [--scale F] [FILTER] */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vitte/vitte.h>

#include "prof/profw.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* libc's executable mapping in this process. */
static int libc_text(uint64_t *start, uint64_t *limit, uint64_t *off, char *path, size_t n)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    char line[1024];
    int found = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi, o;
        char perm[8], p[900] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %899s", &lo, &hi, perm, &o, p) >= 4 &&
            perm[2] == 'x' && strstr(p, "libc.so") != NULL) {
            *start = lo;
            *limit = hi;
            *off = o;
            snprintf(path, n, "%s", p);
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

static double write_profile(const char *path, uint64_t n_samples)
{
    uint64_t start, limit, off;
    char lib[900];
    if (libc_text(&start, &limit, &off, lib, sizeof lib) != 0) {
        fprintf(stderr, "bench_profile_inspect: no libc mapping found\n");
        exit(1);
    }
    vitte__profw_options o = {path, 1000, "bench", "bench", "perf", "dwarf", 999, 0};
    vitte__profw *w;
    char err[256];
    if (vitte__profw_open(&o, &w, err) != VITTE_OK) {
        fprintf(stderr, "bench_profile_inspect: %s\n", err);
        exit(1);
    }
    vitte__profw_mapping(w, 1000, start, limit, off, lib, NULL, 0);
    enum { N_STACKS = 20000, N_LOCS = 3000, MAX_DEPTH = 40 };
    static uint64_t locs[N_LOCS];
    for (int i = 0; i < N_LOCS; i++)
        locs[i] = start + rnd() % (limit - start);
    static uint64_t stacks[N_STACKS][MAX_DEPTH];
    static int depth[N_STACKS];
    for (int s = 0; s < N_STACKS; s++) {
        depth[s] = 8 + (int)(rnd() % (MAX_DEPTH - 8));
        /* shared roots, varied leaves, like real programs */
        for (int k = 0; k < depth[s]; k++) {
            int from_root = depth[s] - 1 - k;
            uint64_t spread = from_root < 4 ? 8 : (uint64_t)N_LOCS;
            stacks[s][k] = locs[rnd() % spread];
        }
    }
    uint64_t t0 = bench_ns();
    uint64_t ts = 1000000;
    for (uint64_t i = 0; i < n_samples; i++) {
        /* a skewed choice of stack: a few hot paths */
        uint64_t r = rnd();
        int s = (int)((r % 4 == 0) ? r % 50 : r % N_STACKS);
        ts += 250000;
        vitte__profw_sample(w, 1000, 1001 + (uint32_t)(i % 4), ts, 1001001, VITTE_SAMPLE_CPU,
                            stacks[s], (size_t)depth[s]);
        if ((i & 0xffff) == 0)
            vitte__profw_flush(w);
    }
    vitte__profw_symbolize(w, NULL, 0, NULL, NULL);
    vitte__profw_close(w, ts);
    return (double)(bench_ns() - t0) / 1e9;
}

static double read_only(const char *path, uint64_t *frames)
{
    uint64_t t0 = bench_ns();
    vitte_trace_reader *r;
    if (vitte_trace_reader_open(path, 0, &r, NULL) != VITTE_OK)
        exit(1);
    const vitte_trace_event *e;
    uint64_t n = 0;
    size_t sum = 0;
    while (vitte_trace_reader_next(r, &e, NULL) == 1) {
        n += e->n_frames;
        for (size_t k = 0; k < e->n_frames; k++)
            sum += (size_t)e->frames[k].function[0];
    }
    vitte_trace_reader_close(r);
    *frames = n + (sum & 1) * 0;
    return (double)(bench_ns() - t0) / 1e9;
}

static double export_to_null(const char *path, vitte_trace_format fmt)
{
    FILE *out = fopen("/dev/null", "w");
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = fmt;
    const char *paths[] = {path};
    uint64_t t0 = bench_ns();
    int rc = vitte_trace_export(paths, 1, &o, out, NULL);
    double s = (double)(bench_ns() - t0) / 1e9;
    fclose(out);
    if (rc != VITTE_OK) {
        fprintf(stderr, "bench_profile_inspect: export %s: %s\n", vitte_trace_format_name(fmt),
                vitte_strerror(rc));
        exit(1);
    }
    return s;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    bench_opts opt;
    bench_parse_args(argc, argv, &opt);
    uint64_t n = (uint64_t)(1000000 * opt.scale);
    char path[256];
    snprintf(path, sizeof path, "/tmp/bench_profile_inspect_%d.vittrace", (int)getpid());
    bench_print_machine(&opt, "bench_profile_inspect", "static", "");
    double wsec = write_profile(path, n);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    printf("profile: %llu samples, 4 threads, 20,000 stacks of 8..40 frames in libc; %.1f MB; "
           "written and symbolized in %.2f s\n",
           (unsigned long long)n, (double)size / 1e6, wsec);
    struct {
        const char *name;
        int fmt; /* 0: read only */
    } cases[] = {{"read (floor)", 0},
                 {"text", VITTE_TRACE_FORMAT_TEXT},
                 {"folded", VITTE_TRACE_FORMAT_FOLDED},
                 {"svg", VITTE_TRACE_FORMAT_SVG},
                 {"pprof", VITTE_TRACE_FORMAT_PPROF},
                 {"chrome", VITTE_TRACE_FORMAT_CHROME}};
    double floor_s = 0;
    printf("%-14s %10s %10s %8s\n", "export", "median s", "M samp/s", "÷ floor");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (cases[c].fmt != 0 && !bench_selected(&opt, cases[c].name))
            continue;
        double t[64];
        int reps = opt.reps > 64 ? 64 : opt.reps;
        uint64_t frames = 0;
        for (int r = 0; r < reps; r++)
            t[r] = cases[c].fmt == 0 ? read_only(path, &frames)
                                     : export_to_null(path, (vitte_trace_format)cases[c].fmt);
        qsort(t, (size_t)reps, sizeof t[0], cmp_d);
        double med = t[reps / 2];
        if (cases[c].fmt == 0)
            floor_s = med;
        printf("%-14s %10.3f %10.2f %8.2f   [%.3f..%.3f]\n", cases[c].name, med,
               (double)n / med / 1e6, med / floor_s, t[0], t[reps - 1]);
    }
    unlink(path);
    return 0;
}
