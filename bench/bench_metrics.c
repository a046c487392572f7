/* bench_metrics: cost of the metrics hot paths and of the exporters, each
 * beside a baseline (and prometheus-cpp, when built with it) in the same run.
 *
 *   counter_add/Nt       vitte_counter_add(c, 1), N = 1, 2, 4 threads on ONE counter
 *                        vs one shared atomic_fetch_add (relaxed)
 *                        vs a per-thread padded slot (relaxed load + store)
 *                        vs prometheus-cpp Counter::Increment()
 *                        targets: <= 2 ns (1 thread), <= 3 ns per op per thread (2 threads)
 *   histogram_record/Nt  vitte_histogram_record(h, v), N = 1, 2 threads on ONE histogram,
 *                        v from a pre-generated log-normal array (not timed)
 *                        vs lean_loglinear: clz index, 64 sub-buckets per power of two,
 *                           a plain array increment (one histogram per thread, out-of-line)
 *                        vs the same also keeping count, sum, min and max (vitte's work)
 *                        vs prometheus-cpp Histogram::Observe() (11 default buckets)
 *                        target: <= 3 ns
 *   gauge_set/Nt         vitte_gauge_set vs a relaxed atomic store of a double
 *                        vs prometheus-cpp Gauge::Set()
 *   export_*             vitte_metrics_write() of 10,000 counter series (100 families x
 *                        100 label sets) and 1,000 histogram series into /dev/null,
 *                        Prometheus text and JSON, vs a naive exporter (one fprintf per
 *                        line) and prometheus-cpp's Collect() + TextSerializer
 *                        target: <= 10 ms for the 10,000 counter series
 *
 * Figures are ns per operation per thread (each thread times its own loop;
 * with more threads than CPUs that includes waiting for a CPU), median of
 * --reps repetitions; counts are checked exactly after each group.
 *
 * Run: build/release/bench/bench_metrics [--reps N] [--scale F] [FILTER]
 * FILTER selects the groups whose name contains it: counter_add/1t,
 * histogram_record/2t, gauge_set/1t, export_counters, export_histograms...
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vitte/vitte.h>

#include "bench_util.h"
#include "peer_prometheus_cpp.h"

#ifndef BENCH_LINKAGE
#define BENCH_LINKAGE "static"
#endif
#ifndef BENCH_HAVE_PROMETHEUS_CPP
#define BENCH_HAVE_PROMETHEUS_CPP 0
#endif

#if defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

#define MAX_THREADS 4

/* ---- input values --------------------------------------------------------- */

/* Log-normal latencies: median 5 ms, sigma 1.5 (about 55 us .. 450 ms for the
 * central 99.7 %, so they spread over the Prometheus default buckets); a power-of-two array read
 * sequentially, so the values are not generated in the timed loop. */
#define VALS_BITS 14
#define VALS_N    (1u << VALS_BITS)
#define VALS_MASK ((size_t)VALS_N - 1)

static double vals_ns[VALS_N];    /* nanoseconds, for vitte and the gauges */
static uint64_t vals_u64[VALS_N]; /* the same, integer nanoseconds, for lean_loglinear */
static double vals_s[VALS_N];     /* the same in seconds, for prometheus-cpp */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double rng_uniform(void) /* (0, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t x = rng_state * 0x2545f4914f6cdd1du;
    return ((double)(x >> 11) + 0.5) / 9007199254740992.0;
}

static void make_values(void)
{
    const double two_pi = 6.283185307179586;
    for (size_t i = 0; i < VALS_N; i++) {
        double z = sqrt(-2.0 * log(rng_uniform())) * cos(two_pi * rng_uniform());
        double v = exp(log(5e6) + 1.5 * z);
        if (v < 1)
            v = 1;
        vals_ns[i] = v;
        vals_u64[i] = (uint64_t)v;
        vals_s[i] = v * 1e-9;
    }
}

/* Prometheus clients' default buckets, in seconds. */
static const double prom_default_bounds[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
#define N_PROM_BOUNDS (sizeof prom_default_bounds / sizeof prom_default_bounds[0])

/* ---- the lean baseline histogram -------------------------------------------- */

/* Log-linear over uint64: values below 128 exact, then each power of two
 * split into 64 linear sub-buckets (<= 1.6 % bucket width).  Index by clz,
 * no floating point; count, sum, min and max kept as vitte keeps them. */
#define LEAN_SUB_BITS 6
#define LEAN_SUB      (1u << LEAN_SUB_BITS)
#define LEAN_BUCKETS  ((64u - LEAN_SUB_BITS) * LEAN_SUB + LEAN_SUB)

struct lean_hist {
    uint64_t count, sum, min, max;
    uint64_t counts[LEAN_BUCKETS];
};

static unsigned lean_msb(uint64_t v) /* v != 0 */
{
#if defined(__GNUC__)
    return 63u - (unsigned)__builtin_clzll(v);
#else
    unsigned e = 0;
    while (v >>= 1)
        e++;
    return e;
#endif
}

static size_t lean_index(uint64_t v)
{
    if (v < 2 * LEAN_SUB)
        return (size_t)v;
    unsigned shift = lean_msb(v) - LEAN_SUB_BITS; /* >= 1 */
    return ((size_t)shift << LEAN_SUB_BITS) + (size_t)(v >> shift);
}

/* Both out of line on purpose: a library's record is a call too.  The
 * baseline is the plain array increment; lean_record_full also keeps count,
 * sum, min and max, the work vitte_histogram_record does. */
static BENCH_NOINLINE void lean_record(struct lean_hist *h, uint64_t v)
{
    h->counts[lean_index(v)]++;
}

static BENCH_NOINLINE void lean_record_full(struct lean_hist *h, uint64_t v)
{
    h->counts[lean_index(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

static struct lean_hist *lean_create(void)
{
    struct lean_hist *h = aligned_alloc(64, (sizeof(struct lean_hist) + 63) / 64 * 64);
    if (h != NULL) {
        memset(h, 0, sizeof *h);
        h->min = UINT64_MAX;
    }
    return h;
}

/* ---- what the threads hit ----------------------------------------------------- */

enum kind {
    K_CTR_VITTE,
    K_CTR_ATOMIC,
    K_CTR_SLOT,
    K_CTR_PEER,
    K_HIST_VITTE,
    K_HIST_LEAN,
    K_HIST_LEAN_FULL,
    K_HIST_PEER,
    K_GAUGE_VITTE,
    K_GAUGE_ATOMIC,
    K_GAUGE_PEER,
    K_COUNT
};

/* Operations per thread per run: the slow peers get fewer (ns/op is normalized). */
static const uint64_t kind_ops[K_COUNT] = {
    [K_CTR_VITTE] = 20000000,      [K_CTR_ATOMIC] = 20000000, [K_CTR_SLOT] = 20000000,
    [K_CTR_PEER] = 5000000,        [K_HIST_VITTE] = 10000000, [K_HIST_LEAN] = 10000000,
    [K_HIST_LEAN_FULL] = 10000000, [K_HIST_PEER] = 2000000,   [K_GAUGE_VITTE] = 20000000,
    [K_GAUGE_ATOMIC] = 20000000,   [K_GAUGE_PEER] = 5000000,
};

struct padded_u64 {
    alignas(64) _Atomic uint64_t v;
};

static struct targets {
    vitte_counter *ctr;
    struct padded_u64 shared;
    struct padded_u64 slots[MAX_THREADS];
    vitte_histogram *hist;
    struct lean_hist *lean[MAX_THREADS];
    vitte_gauge *gauge;
    alignas(64) _Atomic double gauge_base;
    alignas(64) _Atomic int hist_errors;
    peer_prom_counter *pctr;
    peer_prom_histogram *phist;
    peer_prom_gauge *pgauge;
} tg;

/* One timed loop of n operations on thread id; returns ns per operation. */
static double run_loop(enum kind k, int id, uint64_t n)
{
    const size_t off = (size_t)id * 4099u; /* threads read different values */
    uint64_t t0 = bench_ns();
    switch (k) {
    case K_CTR_VITTE: {
        vitte_counter *c = tg.ctr;
        for (uint64_t i = 0; i < n; i++)
            vitte_counter_add(c, 1);
        break;
    }
    case K_CTR_ATOMIC:
        for (uint64_t i = 0; i < n; i++)
            atomic_fetch_add_explicit(&tg.shared.v, 1, memory_order_relaxed);
        break;
    case K_CTR_SLOT: {
        _Atomic uint64_t *s = &tg.slots[id].v;
        for (uint64_t i = 0; i < n; i++)
            atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
        break;
    }
    case K_CTR_PEER:
#if BENCH_HAVE_PROMETHEUS_CPP
        peer_prom_counter_loop(tg.pctr, n);
#endif
        break;
    case K_HIST_VITTE: {
        vitte_histogram *h = tg.hist;
        int bad = 0;
        for (uint64_t i = 0; i < n; i++)
            bad |= vitte_histogram_record(h, vals_ns[(off + i) & VALS_MASK]);
        if (bad)
            atomic_fetch_add(&tg.hist_errors, 1);
        break;
    }
    case K_HIST_LEAN: {
        struct lean_hist *h = tg.lean[id];
        for (uint64_t i = 0; i < n; i++)
            lean_record(h, vals_u64[(off + i) & VALS_MASK]);
        break;
    }
    case K_HIST_LEAN_FULL: {
        struct lean_hist *h = tg.lean[id];
        for (uint64_t i = 0; i < n; i++)
            lean_record_full(h, vals_u64[(off + i) & VALS_MASK]);
        break;
    }
    case K_HIST_PEER:
#if BENCH_HAVE_PROMETHEUS_CPP
        peer_prom_histogram_loop(tg.phist, vals_s, VALS_MASK, off, n);
#endif
        break;
    case K_GAUGE_VITTE: {
        vitte_gauge *g = tg.gauge;
        for (uint64_t i = 0; i < n; i++)
            vitte_gauge_set(g, vals_ns[(off + i) & VALS_MASK]);
        break;
    }
    case K_GAUGE_ATOMIC:
        for (uint64_t i = 0; i < n; i++)
            atomic_store_explicit(&tg.gauge_base, vals_ns[(off + i) & VALS_MASK],
                                  memory_order_relaxed);
        break;
    case K_GAUGE_PEER:
#if BENCH_HAVE_PROMETHEUS_CPP
        peer_prom_gauge_loop(tg.pgauge, vals_ns, VALS_MASK, off, n);
#endif
        break;
    case K_COUNT:
        break;
    }
    uint64_t t1 = bench_ns();
    return (double)(t1 - t0) / (double)n;
}

/* ---- a pool of threads kept for a whole group, so that neither thread
 * creation nor the first-use slot allocation is timed ------------------------- */

struct pool {
    int n;
    pthread_t tid[MAX_THREADS];
    int ids[MAX_THREADS];
    pthread_barrier_t start, done;
    enum kind kind; /* written by main before `start`, read by workers after it */
    uint64_t ops;
    int quit;
    double ns[MAX_THREADS];
};

static struct pool pool;

static void *worker(void *arg)
{
    const int id = *(const int *)arg;
    for (;;) {
        pthread_barrier_wait(&pool.start);
        if (pool.quit)
            break;
        pool.ns[id] = run_loop(pool.kind, id, pool.ops);
        pthread_barrier_wait(&pool.done);
    }
    return NULL;
}

static int pool_start(int n)
{
    pool.n = n;
    pool.quit = 0;
    if (pthread_barrier_init(&pool.start, NULL, (unsigned)n + 1) != 0 ||
        pthread_barrier_init(&pool.done, NULL, (unsigned)n + 1) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        pool.ids[i] = i;
        if (pthread_create(&pool.tid[i], NULL, worker, &pool.ids[i]) != 0)
            return -1;
    }
    return 0;
}

/* Run kind on every pool thread at once; returns the mean ns/op over threads. */
static double pool_run(enum kind k, uint64_t ops)
{
    pool.kind = k;
    pool.ops = ops;
    pthread_barrier_wait(&pool.start);
    pthread_barrier_wait(&pool.done);
    double sum = 0;
    for (int i = 0; i < pool.n; i++)
        sum += pool.ns[i];
    return sum / pool.n;
}

static void pool_stop(void)
{
    pool.quit = 1;
    pthread_barrier_wait(&pool.start);
    for (int i = 0; i < pool.n; i++)
        pthread_join(pool.tid[i], NULL);
    pthread_barrier_destroy(&pool.start);
    pthread_barrier_destroy(&pool.done);
}

/* ---- hot-path groups ----------------------------------------------------------- */

static int kind_available(enum kind k)
{
    if (k == K_CTR_PEER || k == K_HIST_PEER || k == K_GAUGE_PEER)
        return BENCH_HAVE_PROMETHEUS_CPP;
    return 1;
}

static int setup_targets(int nthreads)
{
    memset(&tg, 0, sizeof tg);
    if (vitte_counter_create(&tg.ctr) != VITTE_OK || vitte_histogram_create(NULL, &tg.hist) ||
        vitte_gauge_create(&tg.gauge) != VITTE_OK)
        return -1;
    for (int i = 0; i < nthreads; i++) {
        tg.lean[i] = lean_create();
        if (tg.lean[i] == NULL)
            return -1;
    }
#if BENCH_HAVE_PROMETHEUS_CPP
    tg.pctr = peer_prom_counter_create();
    tg.phist = peer_prom_histogram_create(prom_default_bounds, N_PROM_BOUNDS);
    tg.pgauge = peer_prom_gauge_create();
#endif
    return 0;
}

static void teardown_targets(void)
{
    vitte_counter_destroy(tg.ctr);
    vitte_histogram_destroy(tg.hist);
    vitte_gauge_destroy(tg.gauge);
    for (int i = 0; i < MAX_THREADS; i++)
        free(tg.lean[i]);
#if BENCH_HAVE_PROMETHEUS_CPP
    peer_prom_counter_destroy(tg.pctr);
    peer_prom_histogram_destroy(tg.phist);
    peer_prom_gauge_destroy(tg.pgauge);
#endif
}

static void print_counter_group(int t, double *res[K_COUNT], int reps, const uint64_t *expected)
{
    char name[64];
    snprintf(name, sizeof name, "counter_add/%dt", t);
    bench_result v = bench_summarize(res[K_CTR_VITTE], (size_t)reps);
    bench_result a = bench_summarize(res[K_CTR_ATOMIC], (size_t)reps);
    bench_result s = bench_summarize(res[K_CTR_SLOT], (size_t)reps);
    if (t == 1)
        bench_line(name, v, "ns/op", "atomic_fetch_add", a, "<= 2 ns", 2.0);
    else if (t == 2)
        bench_line(name, v, "ns/op", "atomic_fetch_add", a, "<= 3 ns/thread", 3.0);
    else {
        char note[64];
        snprintf(note, sizeof note, "- (%d threads, %ld CPUs)", t, sysconf(_SC_NPROCESSORS_ONLN));
        bench_line(name, v, "ns/op", "atomic_fetch_add", a, note, 0);
    }
    bench_vs("per_thread_store", v, s, "ns/op");
#if BENCH_HAVE_PROMETHEUS_CPP
    bench_vs("prometheus-cpp Increment()", v, bench_summarize(res[K_CTR_PEER], (size_t)reps),
             "ns/op");
#endif
    uint64_t slots = 0;
    for (int i = 0; i < t; i++)
        slots += atomic_load(&tg.slots[i].v);
    uint64_t got = vitte_counter_value(tg.ctr);
    char what[96];
    snprintf(what, sizeof what, "vitte counter %" PRIu64 " of %" PRIu64, got,
             expected[K_CTR_VITTE]);
    bench_check(what, got == expected[K_CTR_VITTE]);
    bench_check("shared atomic, per-thread slots",
                atomic_load(&tg.shared.v) == expected[K_CTR_ATOMIC] &&
                    slots == expected[K_CTR_SLOT]);
#if BENCH_HAVE_PROMETHEUS_CPP
    bench_check("prometheus-cpp counter",
                peer_prom_counter_value(tg.pctr) == (double)expected[K_CTR_PEER]);
#endif
}

static void print_histogram_group(int t, double *res[K_COUNT], int reps, const uint64_t *expected)
{
    char name[64];
    snprintf(name, sizeof name, "histogram_record/%dt", t);
    bench_result v = bench_summarize(res[K_HIST_VITTE], (size_t)reps);
    bench_result l = bench_summarize(res[K_HIST_LEAN], (size_t)reps);
    bench_line(name, v, "ns/op", "lean_loglinear", l, "<= 3 ns", 3.0);
    bench_vs("lean + count,sum,min,max", v, bench_summarize(res[K_HIST_LEAN_FULL], (size_t)reps),
             "ns/op");
#if BENCH_HAVE_PROMETHEUS_CPP
    bench_vs("prometheus-cpp Observe()", v, bench_summarize(res[K_HIST_PEER], (size_t)reps),
             "ns/op");
#endif
    uint64_t lean = 0, lean_full = 0;
    for (int i = 0; i < t; i++) {
        for (size_t b = 0; b < LEAN_BUCKETS; b++)
            lean += tg.lean[i]->counts[b];
        lean_full += tg.lean[i]->count;
    }
    uint64_t got = vitte_histogram_count(tg.hist);
    char what[96];
    snprintf(what, sizeof what, "vitte histogram %" PRIu64 " of %" PRIu64, got,
             expected[K_HIST_VITTE]);
    bench_check(what, got == expected[K_HIST_VITTE] && atomic_load(&tg.hist_errors) == 0);
    bench_check("lean_loglinear", lean == expected[K_HIST_LEAN] + expected[K_HIST_LEAN_FULL] &&
                                      lean_full == expected[K_HIST_LEAN_FULL]);
#if BENCH_HAVE_PROMETHEUS_CPP
    bench_check("prometheus-cpp histogram",
                peer_prom_histogram_count(tg.phist) == expected[K_HIST_PEER]);
#endif
}

static void print_gauge_group(int t, double *res[K_COUNT], int reps)
{
    char name[64];
    snprintf(name, sizeof name, "gauge_set/%dt", t);
    bench_result v = bench_summarize(res[K_GAUGE_VITTE], (size_t)reps);
    bench_result a = bench_summarize(res[K_GAUGE_ATOMIC], (size_t)reps);
    bench_line(name, v, "ns/op", "atomic_store_relaxed", a, NULL, 0);
#if BENCH_HAVE_PROMETHEUS_CPP
    bench_vs("prometheus-cpp Set()", v, bench_summarize(res[K_GAUGE_PEER], (size_t)reps), "ns/op");
#endif
    double g = vitte_gauge_value(tg.gauge);
    int found = 0;
    for (size_t i = 0; i < VALS_N && !found; i++)
        found = g == vals_ns[i];
    bench_check("vitte gauge holds a value that was set", found);
}

static int bench_threads(const bench_opts *o, int t)
{
    char name[64];
    int want[K_COUNT] = {0};
    snprintf(name, sizeof name, "counter_add/%dt", t);
    int want_ctr = bench_selected(o, name);
    snprintf(name, sizeof name, "histogram_record/%dt", t);
    int want_hist = t <= 2 && bench_selected(o, name);
    snprintf(name, sizeof name, "gauge_set/%dt", t);
    int want_gauge = t <= 2 && bench_selected(o, name);
    if (!want_ctr && !want_hist && !want_gauge)
        return 0;
    for (int k = 0; k < K_COUNT; k++) {
        int group_wanted = k <= K_CTR_PEER ? want_ctr : k <= K_HIST_PEER ? want_hist : want_gauge;
        want[k] = group_wanted && kind_available((enum kind)k);
    }

    if (setup_targets(t) != 0 || pool_start(t) != 0) {
        fprintf(stderr, "bench_metrics: setup failed\n");
        return -1;
    }
    double *res[K_COUNT];
    uint64_t expected[K_COUNT] = {0};
    for (int k = 0; k < K_COUNT; k++)
        res[k] = calloc((size_t)o->reps, sizeof(double));

    /* Warm-up: first-use slot allocation, page faults, code. */
    for (int k = 0; k < K_COUNT; k++) {
        if (!want[k])
            continue;
        uint64_t ops = bench_ops(o, kind_ops[k] / 20);
        pool_run((enum kind)k, ops);
        expected[k] += (uint64_t)t * ops;
    }
    for (int r = 0; r < o->reps; r++) {
        for (int k = 0; k < K_COUNT; k++) {
            if (!want[k])
                continue;
            uint64_t ops = bench_ops(o, kind_ops[k]);
            res[k][r] = pool_run((enum kind)k, ops);
            expected[k] += (uint64_t)t * ops;
        }
    }
    pool_stop();

    if (want_ctr)
        print_counter_group(t, res, o->reps, expected);
    if (want_hist)
        print_histogram_group(t, res, o->reps, expected);
    if (want_gauge)
        print_gauge_group(t, res, o->reps);

    for (int k = 0; k < K_COUNT; k++)
        free(res[k]);
    teardown_targets();
    return 0;
}

/* ---- export ---------------------------------------------------------------------- */

#define EXP_FAMILIES      100 /* counter families */
#define EXP_SERIES        100 /* label sets per family */
#define EXP_HIST_FAMILIES 10

struct naive_data {
    char fam[EXP_FAMILIES][64];
    char hfam[EXP_HIST_FAMILIES][64];
    char help[EXP_FAMILIES][64];
    char region[EXP_SERIES][32];
    char worker[EXP_SERIES][32];
    uint64_t value[EXP_FAMILIES][EXP_SERIES];
    uint64_t hcum[EXP_HIST_FAMILIES][EXP_SERIES][N_PROM_BOUNDS];
    double hsum[EXP_HIST_FAMILIES][EXP_SERIES];
};

static int build_registries(vitte_metrics *mc, vitte_metrics *mh, struct naive_data *d)
{
    for (int s = 0; s < EXP_SERIES; s++) {
        snprintf(d->region[s], sizeof d->region[s], BENCH_REGION_FMT, s % 10);
        snprintf(d->worker[s], sizeof d->worker[s], BENCH_WORKER_FMT, s);
    }
    for (int f = 0; f < EXP_FAMILIES; f++) {
        snprintf(d->fam[f], sizeof d->fam[f], BENCH_COUNTER_FAMILY_FMT, f);
        snprintf(d->help[f], sizeof d->help[f], BENCH_HELP_FMT, f);
        for (int s = 0; s < EXP_SERIES; s++) {
            const char *labels[] = {"region", d->region[s], "worker", d->worker[s], NULL};
            vitte_counter *c = NULL;
            int rc = vitte_metrics_add_counter(mc, d->fam[f], d->help[f], labels, &c);
            if (rc != VITTE_OK) {
                fprintf(stderr, "bench_metrics: add_counter %s: %s\n", d->fam[f],
                        vitte_strerror(rc));
                return -1;
            }
            d->value[f][s] = BENCH_COUNTER_VALUE(f, s);
            vitte_counter_add(c, d->value[f][s]);
        }
    }
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    cfg.bounds = prom_default_bounds;
    cfg.n_bounds = N_PROM_BOUNDS;
    for (int f = 0; f < EXP_HIST_FAMILIES; f++) {
        snprintf(d->hfam[f], sizeof d->hfam[f], BENCH_HISTOGRAM_FAMILY_FMT, f);
        for (int s = 0; s < EXP_SERIES; s++) {
            const char *labels[] = {"region", d->region[s], "worker", d->worker[s], NULL};
            vitte_histogram *h = NULL;
            int rc = vitte_metrics_add_histogram(mh, d->hfam[f], d->help[f], labels, &cfg, &h);
            if (rc != VITTE_OK) {
                fprintf(stderr, "bench_metrics: add_histogram %s: %s\n", d->hfam[f],
                        vitte_strerror(rc));
                return -1;
            }
            d->hsum[f][s] = 0;
            memset(d->hcum[f][s], 0, sizeof d->hcum[f][s]);
            for (int j = 0; j < BENCH_HISTOGRAM_SAMPLES; j++) {
                double v = BENCH_HISTOGRAM_VALUE(f, s, j);
                vitte_histogram_record(h, v);
                d->hsum[f][s] += v;
                for (size_t b = 0; b < N_PROM_BOUNDS; b++)
                    d->hcum[f][s][b] += v <= prom_default_bounds[b];
            }
        }
    }
    return 0;
}

/* The naive exporter: every line one fprintf, values from plain arrays. */
static size_t naive_counters(FILE *f, const struct naive_data *d)
{
    size_t bytes = 0;
    for (int i = 0; i < EXP_FAMILIES; i++) {
        bytes += (size_t)fprintf(f, "# HELP %s %s\n", d->fam[i], d->help[i]);
        bytes += (size_t)fprintf(f, "# TYPE %s counter\n", d->fam[i]);
        for (int s = 0; s < EXP_SERIES; s++)
            bytes += (size_t)fprintf(f, "%s{region=\"%s\",worker=\"%s\"} %" PRIu64 "\n", d->fam[i],
                                     d->region[s], d->worker[s], d->value[i][s]);
    }
    return bytes;
}

static size_t naive_histograms(FILE *f, const struct naive_data *d)
{
    size_t bytes = 0;
    for (int i = 0; i < EXP_HIST_FAMILIES; i++) {
        bytes += (size_t)fprintf(f, "# HELP %s %s\n", d->hfam[i], d->help[i]);
        bytes += (size_t)fprintf(f, "# TYPE %s histogram\n", d->hfam[i]);
        for (int s = 0; s < EXP_SERIES; s++) {
            for (size_t b = 0; b < N_PROM_BOUNDS; b++)
                bytes += (size_t)fprintf(f,
                                         "%s_bucket{region=\"%s\",worker=\"%s\",le=\"%g\"} "
                                         "%" PRIu64 "\n",
                                         d->hfam[i], d->region[s], d->worker[s],
                                         prom_default_bounds[b], d->hcum[i][s][b]);
            bytes +=
                (size_t)fprintf(f, "%s_bucket{region=\"%s\",worker=\"%s\",le=\"+Inf\"} %d\n",
                                d->hfam[i], d->region[s], d->worker[s], BENCH_HISTOGRAM_SAMPLES);
            bytes += (size_t)fprintf(f, "%s_sum{region=\"%s\",worker=\"%s\"} %.17g\n", d->hfam[i],
                                     d->region[s], d->worker[s], d->hsum[i][s]);
            bytes += (size_t)fprintf(f, "%s_count{region=\"%s\",worker=\"%s\"} %d\n", d->hfam[i],
                                     d->region[s], d->worker[s], BENCH_HISTOGRAM_SAMPLES);
        }
    }
    return bytes;
}

enum exp_kind {
    E_PROM_COUNTERS,
    E_NAIVE_COUNTERS,
    E_PEER_COUNTERS,
    E_JSON_COUNTERS,
    E_PROM_HIST,
    E_NAIVE_HIST,
    E_PEER_HIST,
    E_JSON_HIST,
    E_COUNT
};

struct exp_ctx {
    vitte_metrics *mc, *mh;
    struct naive_data *d;
    FILE *devnull;
    peer_prom_registry *pc, *ph;
    int write_errors;
    size_t bytes[E_COUNT];
};

/* One export; returns milliseconds. */
static double run_export(struct exp_ctx *x, enum exp_kind k)
{
    uint64_t t0 = bench_ns();
    int rc = VITTE_OK;
    switch (k) {
    case E_PROM_COUNTERS:
        rc = vitte_metrics_write(x->mc, VITTE_FORMAT_PROMETHEUS, x->devnull);
        break;
    case E_JSON_COUNTERS:
        rc = vitte_metrics_write(x->mc, VITTE_FORMAT_JSON, x->devnull);
        break;
    case E_PROM_HIST:
        rc = vitte_metrics_write(x->mh, VITTE_FORMAT_PROMETHEUS, x->devnull);
        break;
    case E_JSON_HIST:
        rc = vitte_metrics_write(x->mh, VITTE_FORMAT_JSON, x->devnull);
        break;
    case E_NAIVE_COUNTERS:
        x->bytes[k] = naive_counters(x->devnull, x->d);
        break;
    case E_NAIVE_HIST:
        x->bytes[k] = naive_histograms(x->devnull, x->d);
        break;
    case E_PEER_COUNTERS:
#if BENCH_HAVE_PROMETHEUS_CPP
        x->bytes[k] = peer_prom_registry_serialize(x->pc);
#endif
        break;
    case E_PEER_HIST:
#if BENCH_HAVE_PROMETHEUS_CPP
        x->bytes[k] = peer_prom_registry_serialize(x->ph);
#endif
        break;
    case E_COUNT:
        break;
    }
    if (fflush(x->devnull) != 0 || rc != VITTE_OK)
        x->write_errors++;
    return (double)(bench_ns() - t0) / 1e6;
}

/* Bytes and sample lines (lines not starting with '#') of a vitte export. */
static void export_size(vitte_metrics *m, vitte_format fmt, size_t *bytes, size_t *samples)
{
    char *s = vitte_metrics_to_string(m, fmt);
    *bytes = 0;
    *samples = 0;
    if (s == NULL)
        return;
    *bytes = strlen(s);
    for (const char *p = s; *p != '\0';) {
        if (*p != '#')
            (*samples)++;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    free(s);
}

static void print_bytes(size_t vitte, size_t samples, size_t naive, size_t peer)
{
    printf("    bytes: vitte %zu (%zu sample lines), naive %zu", vitte, samples, naive);
    if (BENCH_HAVE_PROMETHEUS_CPP)
        printf(", prometheus-cpp %zu", peer);
    printf("\n");
}

static int bench_export(const bench_opts *o)
{
    int want_c = bench_selected(o, "export_counters");
    int want_h = bench_selected(o, "export_histograms");
    if (!want_c && !want_h)
        return 0;

    struct exp_ctx x;
    memset(&x, 0, sizeof x);
    x.d = calloc(1, sizeof *x.d);
    x.mc = vitte_metrics_create();
    x.mh = vitte_metrics_create();
    x.devnull = fopen("/dev/null", "w");
    if (x.d == NULL || x.mc == NULL || x.mh == NULL || x.devnull == NULL) {
        fprintf(stderr, "bench_metrics: export setup failed\n");
        return -1;
    }
    setvbuf(x.devnull, NULL, _IOFBF, 1 << 16);
    uint64_t t0 = bench_ns();
    if (build_registries(x.mc, x.mh, x.d) != 0)
        return -1;
    double build_ms = (double)(bench_ns() - t0) / 1e6;
#if BENCH_HAVE_PROMETHEUS_CPP
    x.pc = peer_prom_registry_create(EXP_FAMILIES, EXP_SERIES, NULL, 0);
    x.ph = peer_prom_registry_create(EXP_HIST_FAMILIES, EXP_SERIES, prom_default_bounds,
                                     N_PROM_BOUNDS);
#endif

    int want[E_COUNT];
    for (int k = 0; k < E_COUNT; k++) {
        int peer = k == E_PEER_COUNTERS || k == E_PEER_HIST;
        want[k] = (k <= E_JSON_COUNTERS ? want_c : want_h) && (!peer || BENCH_HAVE_PROMETHEUS_CPP);
    }
    double *res[E_COUNT];
    for (int k = 0; k < E_COUNT; k++)
        res[k] = calloc((size_t)o->reps, sizeof(double));
    int inner = o->scale < 1 ? 1 : 3; /* exports per repetition: the fastest of them */
    for (int k = 0; k < E_COUNT; k++)
        if (want[k])
            run_export(&x, (enum exp_kind)k); /* warm-up */
    for (int r = 0; r < o->reps; r++) {
        for (int k = 0; k < E_COUNT; k++) {
            if (!want[k])
                continue;
            double best = 0;
            for (int i = 0; i < inner; i++) {
                double ms = run_export(&x, (enum exp_kind)k);
                best = i == 0 || ms < best ? ms : best;
            }
            res[k][r] = best;
        }
    }

    size_t vb[E_COUNT] = {0}, vs[E_COUNT] = {0};
    export_size(x.mc, VITTE_FORMAT_PROMETHEUS, &vb[E_PROM_COUNTERS], &vs[E_PROM_COUNTERS]);
    export_size(x.mc, VITTE_FORMAT_JSON, &vb[E_JSON_COUNTERS], &vs[E_JSON_COUNTERS]);
    export_size(x.mh, VITTE_FORMAT_PROMETHEUS, &vb[E_PROM_HIST], &vs[E_PROM_HIST]);
    export_size(x.mh, VITTE_FORMAT_JSON, &vb[E_JSON_HIST], &vs[E_JSON_HIST]);

    bench_result r[E_COUNT];
    for (int k = 0; k < E_COUNT; k++)
        r[k] = bench_summarize(res[k], want[k] ? (size_t)o->reps : 0);
    char note[160];
    snprintf(note, sizeof note, "(1 run: %d counters + %d histograms registered)",
             EXP_FAMILIES * EXP_SERIES, EXP_HIST_FAMILIES * EXP_SERIES);
    bench_result b = {build_ms, build_ms, build_ms};
    bench_info("registry_build", b, "ms", note);
    if (want_c) {
        bench_line("export_counters_prometheus", r[E_PROM_COUNTERS], "ms", "naive_fprintf",
                   r[E_NAIVE_COUNTERS], "<= 10 ms", 10.0);
#if BENCH_HAVE_PROMETHEUS_CPP
        bench_vs("prometheus-cpp TextSerializer", r[E_PROM_COUNTERS], r[E_PEER_COUNTERS], "ms");
#endif
        print_bytes(vb[E_PROM_COUNTERS], vs[E_PROM_COUNTERS], x.bytes[E_NAIVE_COUNTERS],
                    x.bytes[E_PEER_COUNTERS]);
        bench_line("export_counters_json", r[E_JSON_COUNTERS], "ms", "naive_fprintf (prom)",
                   r[E_NAIVE_COUNTERS], NULL, 0);
        printf("    bytes: vitte %zu\n", vb[E_JSON_COUNTERS]);
        bench_check("10,000 counter sample lines exported",
                    vs[E_PROM_COUNTERS] == EXP_FAMILIES * EXP_SERIES);
    }
    if (want_h) {
        bench_line("export_histograms_prometheus", r[E_PROM_HIST], "ms", "naive_fprintf",
                   r[E_NAIVE_HIST], NULL, 0);
#if BENCH_HAVE_PROMETHEUS_CPP
        bench_vs("prometheus-cpp TextSerializer", r[E_PROM_HIST], r[E_PEER_HIST], "ms");
#endif
        print_bytes(vb[E_PROM_HIST], vs[E_PROM_HIST], x.bytes[E_NAIVE_HIST], x.bytes[E_PEER_HIST]);
        bench_line("export_histograms_json", r[E_JSON_HIST], "ms", "naive_fprintf (prom)",
                   r[E_NAIVE_HIST], NULL, 0);
        printf("    bytes: vitte %zu\n", vb[E_JSON_HIST]);
        bench_check("1,000 histogram series exported",
                    vs[E_PROM_HIST] == EXP_HIST_FAMILIES * EXP_SERIES * (N_PROM_BOUNDS + 3));
    }
    bench_check("every export wrote without error", x.write_errors == 0);

    for (int k = 0; k < E_COUNT; k++)
        free(res[k]);
#if BENCH_HAVE_PROMETHEUS_CPP
    peer_prom_registry_destroy(x.pc);
    peer_prom_registry_destroy(x.ph);
#endif
    fclose(x.devnull);
    vitte_metrics_destroy(x.mc);
    vitte_metrics_destroy(x.mh);
    free(x.d);
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_args(argc, argv, &o);

    vitte_clock_info info;
    memset(&info, 0, sizeof info);
    char clock_line[256] = "unknown";
    if (vitte_clock_get_info(&info, 1) == VITTE_OK)
        snprintf(clock_line, sizeof clock_line, "source %s, cost %.2f ns",
                 vitte_clock_source_name(info.source), info.cost_ns);
    bench_print_machine(&o, "bench_metrics", BENCH_LINKAGE, clock_line);
    printf("# peer: %s\n", BENCH_HAVE_PROMETHEUS_CPP
                               ? "prometheus-cpp (Debian prometheus-cpp-dev), same run"
                               : "prometheus-cpp not built (install prometheus-cpp-dev and "
                                 "a C++ compiler, then reconfigure)");
    printf("# values: %u log-normal values (median 5 ms, sigma 1.5) generated before "
           "timing\n\n",
           VALS_N);
    make_values();

    int rc = 0;
    const int threads[] = {1, 2, 4};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0] && rc == 0; i++)
        rc = bench_threads(&o, threads[i]);
    if (rc == 0)
        rc = bench_export(&o);
    printf("\n");
    int status = bench_finish();
    return rc != 0 ? 1 : status;
}
