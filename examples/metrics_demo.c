/* metrics_demo: a tour of the vitte metrics API, run by scripts/run-example.sh.
 *
 *   metrics_demo [OUTPUT_DIR]        (default: out)
 *
 * Four worker threads serve made-up requests and count them in a counter
 * family labelled by method and status, record request sizes in a histogram
 * and keep a gauge of busy workers.  Meanwhile the main thread times a
 * computation with vitte_timer (the statistics-seed example), and renders
 * frames counted by a meter (an FPS counter) whose instantaneous rate goes
 * into a series.  Everything ends in one registry, written to OUTPUT_DIR as
 * metrics.json, metrics.csv and metrics.prom, and summarized on stdout.
 */
#define _XOPEN_SOURCE 700 /* mkdir, nanosleep, realpath under -std=c11 */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <vitte/vitte.h>

#define N_WORKERS           4
#define REQUESTS_PER_WORKER 25000
#define N_COMPUTE_RUNS      200
#define N_FRAMES            100
#define FRAME_SLEEP_NS      3000000 /* ~300 fps: a short run, even under sanitizers */

static const char *const methods[] = {"GET", "POST", "DELETE"};
static const char *const statuses[] = {"200", "404", "500"};

struct worker {
    vitte_metrics *m;
    vitte_histogram *sizes; /* shared by all workers: recording is per-thread sharded */
    vitte_gauge *busy;
    uint64_t seed;
    int failed;
};

/* xorshift64*: a reproducible stream per worker without the C library's
 * rand(), whose hidden state is shared between threads. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* Handles are looked up once per label set, outside the request loop:
     * registration takes a lock, vitte_counter_inc() does not. */
    vitte_counter *requests[3][3] = {{NULL}};

    vitte_gauge_add(w->busy, 1);
    for (int i = 0; i < REQUESTS_PER_WORKER; i++) {
        uint64_t r = next_random(&w->seed);
        size_t method = r % 100 < 70 ? 0 : r % 100 < 95 ? 1 : 2;
        size_t status = (r >> 8) % 100 < 95 ? 0 : (r >> 8) % 100 < 99 ? 1 : 2;
        if (requests[method][status] == NULL) {
            const char *const labels[] = {"method", methods[method], "status", statuses[status],
                                          NULL};
            requests[method][status] = vitte_metrics_counter(
                w->m, "demo_requests_total", "Requests handled, by method and status", labels);
            if (requests[method][status] == NULL)
                w->failed = 1; /* counting into NULL is a no-op: keep going */
        }
        vitte_counter_inc(requests[method][status]);
        /* Sizes spread over powers of two, 64 B to 32 KiB. */
        double size = (double)(64u << ((r >> 16) % 10)) + (double)((r >> 24) % 64);
        vitte_histogram_record(w->sizes, size);
    }
    vitte_gauge_add(w->busy, -1);
    return NULL;
}

/* The work being timed: a partial sum whose length varies a little from run
 * to run, so the timer's histogram has a spread worth a p99. */
static double calcul_intensif(int run)
{
    double x = 0;
    int n = 20000 + (run % 10) * 4000;
    for (int i = 1; i <= n; i++)
        x += 1.0 / ((double)i * i);
    return x;
}

static void sleep_ns(long ns)
{
    struct timespec ts = {0, ns};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* mkdir -p: the output directory may be nested and may already exist. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    return 0;
}

static int write_file(vitte_metrics *m, const char *dir, const char *name, vitte_format format)
{
    char path[PATH_MAX];
    char shown[PATH_MAX];

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -1;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "metrics_demo: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = vitte_metrics_write(m, format, f);
    if (fclose(f) != 0 && rc == VITTE_OK)
        rc = VITTE_EIO;
    if (rc != VITTE_OK) {
        fprintf(stderr, "metrics_demo: writing %s failed: %s\n", path, vitte_strerror(rc));
        return -1;
    }
    printf("  %s\n", realpath(path, shown) != NULL ? shown : path);
    return 0;
}

/* ---- the summary: read the registry back through vitte_metrics_visit() ---- */

struct summary {
    uint64_t requests;
};

static int summarize(const vitte_metric_info *info, void *ud)
{
    struct summary *s = ud;

    if (info->type == VITTE_FAMILY_COUNTER) {
        uint64_t v = vitte_counter_value(info->counter);
        if (strcmp(info->name, "demo_requests_total") == 0)
            s->requests += v;
        printf("  %s{", info->name);
        for (size_t i = 0; i < info->n_labels; i++)
            printf("%s%s=\"%s\"", i > 0 ? "," : "", info->label_names[i], info->label_values[i]);
        printf("} %llu\n", (unsigned long long)v);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out";
    int failed = 0;

    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: metrics_demo [OUTPUT_DIR]\n");
        return 2;
    }
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "metrics_demo: cannot create directory %s: %s\n", dir, strerror(errno));
        return 1;
    }

    vitte_metrics *m = vitte_metrics_create();
    if (m == NULL) {
        fprintf(stderr, "metrics_demo: out of memory\n");
        return 1;
    }

    /* A histogram of request sizes in bytes, exported to Prometheus with
     * buckets 64 B, 256 B, ... 1 MiB. */
    double bounds[8];
    vitte_buckets_exponential(64, 4, 8, bounds);
    vitte_histogram_config size_cfg;
    vitte_histogram_config_init(&size_cfg);
    size_cfg.unit = "bytes";
    size_cfg.bounds = bounds;
    size_cfg.n_bounds = 8;
    vitte_histogram *sizes = NULL;
    int rc = vitte_metrics_add_histogram(m, "demo_request_size_bytes", "Size of each request", NULL,
                                         &size_cfg, &sizes);
    vitte_gauge *busy = vitte_metrics_gauge(m, "demo_workers_busy", "Workers serving now", NULL);
    vitte_gauge *frame_time =
        vitte_metrics_gauge(m, "demo_frame_seconds", "Duration of the last frame", NULL);
    vitte_meter *frames = vitte_metrics_meter(m, "demo_frames", "Frames rendered", NULL);
    /* vitte_metrics_insert_timer() would create this timer family by itself;
     * registering it first gives it a help text for the exports. */
    vitte_histogram *timer =
        vitte_metrics_timer(m, "calcul_intensif", "Duration of one calcul_intensif() run", NULL);
    /* The series keeps the last 100 instantaneous frame rates; the registry
     * owns it once added. */
    vitte_series *fps = vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 100);
    if (rc != VITTE_OK || busy == NULL || frame_time == NULL || frames == NULL || timer == NULL ||
        fps == NULL ||
        vitte_metrics_add_series(m, fps, "Frames per second, frame by frame", NULL) != VITTE_OK) {
        fprintf(stderr, "metrics_demo: registering the metrics failed\n");
        vitte_series_destroy(fps);
        vitte_metrics_destroy(m);
        return 1;
    }

    struct worker workers[N_WORKERS];
    pthread_t threads[N_WORKERS];
    int started = 0;
    for (int i = 0; i < N_WORKERS; i++) {
        workers[i] = (struct worker){m, sizes, busy, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1), 0};
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "metrics_demo: cannot start worker %d\n", i);
            failed = 1;
            break;
        }
        started++;
    }

    /* While the workers run: the seed example, once per run, into the same
     * registry (each insert feeds the histogram named after the timer). */
    double sink = 0;
    for (int run = 0; run < N_COMPUTE_RUNS; run++) {
        vitte_timer t = vitte_timer_start("calcul_intensif");
        sink += calcul_intensif(run);
        vitte_timer_stop(&t); /* elapsed nanoseconds, also in t.elapsed_ns */
        if (vitte_metrics_insert_timer(m, &t) != VITTE_OK)
            failed = 1;
    }

    /* An FPS counter: mark the meter once per frame, and keep each frame's
     * instantaneous rate in the series. */
    for (int f = 0; f < N_FRAMES; f++) {
        vitte_timer frame = vitte_timer_start("frame");
        sink += calcul_intensif(f);
        sleep_ns(FRAME_SLEEP_NS);
        uint64_t ns = vitte_timer_stop(&frame);
        vitte_meter_mark(frames, 1);
        vitte_gauge_set(frame_time, (double)ns * 1e-9);
        vitte_series_set(fps, 1e9 / (double)(ns > 0 ? ns : 1));
    }

    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        failed |= workers[i].failed;
    }

    /* ---- summary ---- */
    vitte_clock_info clk;
    vitte_clock_get_info(&clk, 0);
    printf("vitte metrics demo (libvitte %s, clock %s, work checksum %.3f)\n\n",
           vitte_version_string(), vitte_clock_source_name(clk.source), sink);

    printf("counters (%d threads x %d requests):\n", N_WORKERS, REQUESTS_PER_WORKER);
    struct summary s = {0};
    vitte_metrics_visit(m, summarize, &s);
    uint64_t sent = (uint64_t)started * REQUESTS_PER_WORKER;
    printf("  total %llu of %llu sent%s\n\n", (unsigned long long)s.requests,
           (unsigned long long)sent, s.requests == sent ? " (none lost)" : " (MISMATCH)");
    if (s.requests != sent)
        failed = 1;

    /* The timer's histogram holds nanoseconds (exported as seconds). */
    printf("timer calcul_intensif: %llu runs, p50 %.1f us, p99 %.1f us, max %.1f us\n",
           (unsigned long long)vitte_histogram_count(timer),
           vitte_histogram_quantile(timer, 0.50) / 1e3, vitte_histogram_quantile(timer, 0.99) / 1e3,
           vitte_histogram_max(timer) / 1e3);
    printf("histogram demo_request_size_bytes: %llu requests, p50 %.0f B, p99 %.0f B, "
           "mean %.0f B\n",
           (unsigned long long)vitte_histogram_count(sizes), vitte_histogram_quantile(sizes, 0.50),
           vitte_histogram_quantile(sizes, 0.99), vitte_histogram_mean(sizes));
    printf("gauge demo_workers_busy: %g (every worker finished)\n", vitte_gauge_value(busy));
    printf("meter demo_frames: %llu frames, %.0f fps on average\n",
           (unsigned long long)vitte_meter_count(frames), vitte_meter_mean_rate(frames));
    printf("series fps: last %zu frames, p50 %.0f fps, min %.0f fps, max %.0f fps\n\n",
           vitte_series_len(fps), vitte_series_quantile(fps, 0.5), vitte_series_min(fps),
           vitte_series_max(fps));

    printf("wrote:\n");
    if (write_file(m, dir, "metrics.json", VITTE_FORMAT_JSON) != 0 ||
        write_file(m, dir, "metrics.csv", VITTE_FORMAT_CSV) != 0 ||
        write_file(m, dir, "metrics.prom", VITTE_FORMAT_PROMETHEUS) != 0)
        failed = 1;

    vitte_metrics_destroy(m); /* also destroys fps, which the registry owns */
    if (failed)
        fprintf(stderr, "metrics_demo: something failed (see above)\n");
    return failed ? 1 : 0;
}
