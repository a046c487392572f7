/* metrics_export_tool: fills a registry with every metric type, hostile
 * label values and many label sets, records from several threads, and
 * writes the three exports plus the values they must contain, for
 * tests/scripts/test_export_consumers.sh to check with real consumers.
 *
 *   metrics_export_tool OUTDIR
 *       OUTDIR/metrics.json, metrics.csv, metrics.prom, expected.json
 *   metrics_export_tool --bench [RUNS]
 *       time the Prometheus export of 10,000 counter series (and more)
 *
 * Uses only the public API.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/vitte.h>

#define N_THREADS 4
#define ITERS     1000

static int die(const char *what, int rc)
{
    fprintf(stderr, "metrics_export_tool: %s: %s\n", what, vitte_strerror(rc));
    exit(1);
}

/* ---- a tiny JSON printer for expected.json (the library's is internal) ---- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* labels: NULL-terminated key, value, ... */
static void json_labels(FILE *f, const char *const *labels)
{
    fputc('{', f);
    for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
        if (i != 0)
            fputs(", ", f);
        json_str(f, labels[i]);
        fputs(": ", f);
        json_str(f, labels[i + 1]);
    }
    fputc('}', f);
}

/* One entry of expected.json: name, exported Prometheus name, labels and a
 * pre-formatted tail of type-specific fields. */
struct expect {
    char type[16];
    char name[64];
    char prom[64];
    const char *labels[8];
    char fields[512];
};

static struct expect expects[128];
static size_t n_expects;

static struct expect *expect_add(const char *type, const char *name, const char *prom,
                                 const char *const *labels)
{
    if (n_expects == sizeof expects / sizeof expects[0]) {
        fprintf(stderr, "metrics_export_tool: too many expectations\n");
        exit(1);
    }
    struct expect *e = &expects[n_expects++];
    memset(e, 0, sizeof *e);
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->prom, sizeof e->prom, "%s", prom);
    for (size_t i = 0; labels != NULL && labels[i] != NULL && i < 6; i++)
        e->labels[i] = labels[i];
    return e;
}

/* ---- the registry ------------------------------------------------------------------- */

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
static const char *const codes[] = {"200", "301", "404", "500", "503"};

/* Hostile label values: quotes, backslashes, newlines, CSV and label-list
 * separators, non-ASCII text, braces. */
static const char *const hostile[] = {
    "a\"b\\c\nd \xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC",
    "x,y;z=w\\",
    "{}=,\"'",
    "end\\",
    "tab\there",
    "\\n is not a newline",
    "line1\nline2\n",
    " spaced ",
};
#define N_HOSTILE (sizeof hostile / sizeof hostile[0])

static const double payload_bounds[] = {64, 256, 1024, 4096};
/* Far from every bound (more than the 1 % precision), so the cumulative
 * bucket counts are exact. */
static const double payload_values[] = {10, 100, 500, 2000, 10000};
static const uint64_t latency_ns[] = {1500, 42000, 2000000, 750000000};

struct shared {
    vitte_counter *req[4][5];
    vitte_histogram *payload[2];
    vitte_histogram *latency;
    vitte_meter *frames;
};

static void *worker(void *arg)
{
    const struct shared *sh = arg;
    for (int it = 0; it < ITERS; it++) {
        for (int mi = 0; mi < 4; mi++)
            for (int ci = 0; ci < 5; ci++)
                vitte_counter_add(sh->req[mi][ci], (uint64_t)(mi * 5 + ci + 1));
        for (int op = 0; op < 2; op++)
            vitte_histogram_record(sh->payload[op], payload_values[(it + op) % 5]);
        vitte_histogram_record(sh->latency, (double)latency_ns[it % 4]);
        vitte_meter_mark(sh->frames, 2);
    }
    return NULL;
}

static void fmt_g(char *out, size_t n, double v)
{
    snprintf(out, n, "%.17g", v);
}

static vitte_metrics *build_registry(void)
{
    vitte_metrics *m = vitte_metrics_create();
    if (m == NULL)
        die("vitte_metrics_create", VITTE_ENOMEM);
    struct shared sh;
    memset(&sh, 0, sizeof sh);
    int rc;

    /* Counters from several threads, 20 label sets. */
    for (int mi = 0; mi < 4; mi++) {
        for (int ci = 0; ci < 5; ci++) {
            const char *l[] = {"method", methods[mi], "code", codes[ci], NULL};
            rc = vitte_metrics_add_counter(m, "vitte_test_requests", "Requests handled.", l,
                                           &sh.req[mi][ci]);
            if (rc != VITTE_OK)
                die("add_counter requests", rc);
            struct expect *e =
                expect_add("counter", "vitte_test_requests", "vitte_test_requests_total", l);
            snprintf(e->fields, sizeof e->fields, "\"value\": %llu",
                     (unsigned long long)N_THREADS * ITERS * (uint64_t)(mi * 5 + ci + 1));
        }
    }
    /* Histograms with explicit bounds and a byte unit. */
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    cfg.bounds = payload_bounds;
    cfg.n_bounds = 4;
    cfg.unit = "bytes";
    for (int op = 0; op < 2; op++) {
        const char *l[] = {"op", op == 0 ? "read" : "write", NULL};
        rc = vitte_metrics_add_histogram(m, "vitte_test_payload", "Payload sizes.", l, &cfg,
                                         &sh.payload[op]);
        if (rc != VITTE_OK)
            die("add_histogram", rc);
        uint64_t per[5] = {0};
        for (int it = 0; it < ITERS; it++)
            per[(it + op) % 5] += N_THREADS;
        double sum = 0;
        uint64_t count = 0;
        for (int k = 0; k < 5; k++) {
            sum += payload_values[k] * (double)per[k];
            count += per[k];
        }
        struct expect *e =
            expect_add("histogram", "vitte_test_payload", "vitte_test_payload_bytes", l);
        /* values 10,100,500,2000 fall under 64,256,1024,4096; 10000 above */
        snprintf(
            e->fields, sizeof e->fields,
            "\"count\": %llu, \"sum\": %.17g, \"buckets\": [[64, %llu], [256, %llu], "
            "[1024, %llu], [4096, %llu], [\"+Inf\", %llu]]",
            (unsigned long long)count, sum, (unsigned long long)per[0],
            (unsigned long long)(per[0] + per[1]), (unsigned long long)(per[0] + per[1] + per[2]),
            (unsigned long long)(per[0] + per[1] + per[2] + per[3]), (unsigned long long)count);
    }
    /* A timer: nanoseconds in, seconds out. */
    rc = vitte_metrics_add_timer(m, "vitte_test_latency", "Request latency.", NULL, &sh.latency);
    if (rc != VITTE_OK)
        die("add_timer", rc);
    {
        double sum_ns = 0;
        for (int it = 0; it < ITERS; it++)
            sum_ns += (double)latency_ns[it % 4];
        struct expect *e =
            expect_add("histogram", "vitte_test_latency", "vitte_test_latency_seconds", NULL);
        snprintf(e->fields, sizeof e->fields, "\"count\": %d, \"sum\": %.17g", N_THREADS * ITERS,
                 sum_ns * N_THREADS * 1e-9);
    }
    /* A meter, exported as a counter. */
    rc = vitte_metrics_add_meter(m, "vitte_test_frames", "Frames rendered.", NULL, &sh.frames);
    if (rc != VITTE_OK)
        die("add_meter", rc);
    snprintf(expect_add("meter", "vitte_test_frames", "vitte_test_frames_total", NULL)->fields,
             sizeof expects[0].fields, "\"count\": %d", N_THREADS * ITERS * 2);

    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++)
        if (pthread_create(&th[t], NULL, worker, &sh) != 0)
            die("pthread_create", VITTE_EIO);
    for (int t = 0; t < N_THREADS; t++)
        pthread_join(th[t], NULL);

    /* Hostile label values. */
    for (size_t i = 0; i < N_HOSTILE; i++) {
        const char *l[] = {"path", hostile[i], NULL};
        vitte_counter *c = NULL;
        rc = vitte_metrics_add_counter(m, "vitte_test_hostile", "Hostile \"label\" values\\.\n", l,
                                       &c);
        if (rc != VITTE_OK)
            die("add_counter hostile", rc);
        vitte_counter_add(c, i + 1);
        snprintf(expect_add("counter", "vitte_test_hostile", "vitte_test_hostile_total", l)->fields,
                 sizeof expects[0].fields, "\"value\": %zu", i + 1);
    }
    /* Many label sets (checked in bulk by the script). */
    for (int i = 0; i < 500; i++) {
        char shard[16];
        snprintf(shard, sizeof shard, "%03d", i);
        const char *l[] = {"shard", shard, NULL};
        vitte_counter *c = NULL;
        rc = vitte_metrics_add_counter(m, "vitte_test_items", "Items per shard.", l, &c);
        if (rc != VITTE_OK)
            die("add_counter items", rc);
        vitte_counter_add(c, (uint64_t)i * 3);
    }
    /* A name that needs sanitizing. */
    vitte_counter *odd = NULL;
    rc = vitte_metrics_add_counter(m, "vitte.test-odd/name", "Odd name.", NULL, &odd);
    if (rc != VITTE_OK)
        die("add_counter odd", rc);
    vitte_counter_add(odd, 77);
    snprintf(
        expect_add("counter", "vitte.test-odd/name", "vitte_test_odd_name_total", NULL)->fields,
        sizeof expects[0].fields, "\"value\": 77");
    /* Gauges. */
    static const struct {
        const char *room;
        double v;
    } gauges[] = {{"kitchen", 21.5}, {"cellar", -3.25}, {"attic", 1.0 / 3.0}, {"sun", 1e300}};
    for (size_t i = 0; i < 4; i++) {
        const char *l[] = {"room", gauges[i].room, NULL};
        vitte_gauge *g = NULL;
        rc = vitte_metrics_add_gauge(m, "vitte_test_temperature", "Temperature.", l, &g);
        if (rc != VITTE_OK)
            die("add_gauge", rc);
        vitte_gauge_set(g, gauges[i].v);
        char v[40];
        fmt_g(v, sizeof v, gauges[i].v);
        snprintf(expect_add("gauge", "vitte_test_temperature", "vitte_test_temperature", l)->fields,
                 sizeof expects[0].fields, "\"value\": %s", v);
    }
    /* A series: the ring keeps the last 16 of 20 values. */
    vitte_series *s = vitte_series_create("vitte_test_fps", VITTE_METRIC_THROUGHPUT, "", 16);
    if (s == NULL)
        die("vitte_series_create", VITTE_ENOMEM);
    for (int i = 1; i <= 20; i++)
        vitte_series_set(s, i);
    const char *sl[] = {"scene", "intro", NULL};
    rc = vitte_metrics_add_series(m, s, "Frames per second.", sl);
    if (rc != VITTE_OK)
        die("add_series", rc);
    snprintf(expect_add("series", "vitte_test_fps", "vitte_test_fps", sl)->fields,
             sizeof expects[0].fields,
             "\"values\": [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], "
             "\"total_count\": 20, \"total_sum\": 210, \"p50\": 12.5");
    /* The statistics seed example. */
    vitte_timer t = vitte_timer_start("calcul_intensif");
    volatile double acc = 0;
    for (int i = 0; i < 100000; i++)
        acc += sqrt((double)i);
    vitte_timer_stop(&t);
    rc = vitte_metrics_insert_timer(m, &t);
    if (rc != VITTE_OK)
        die("insert_timer", rc);
    {
        struct expect *e =
            expect_add("histogram", "calcul_intensif", "calcul_intensif_seconds", NULL);
        snprintf(e->fields, sizeof e->fields, "\"count\": 1, \"sum\": %.17g",
                 (double)t.elapsed_ns * 1e-9);
    }
    return m;
}

static void write_file(vitte_metrics *m, const char *dir, const char *name, vitte_format fmt)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "metrics_export_tool: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    int rc = vitte_metrics_write(m, fmt, f);
    if (fclose(f) != 0 && rc == VITTE_OK)
        rc = VITTE_EIO;
    if (rc != VITTE_OK)
        die(path, rc);
}

static void write_expected(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "metrics_export_tool: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fputs("{\n  \"hostile_values\": [", f);
    for (size_t i = 0; i < N_HOSTILE; i++) {
        fputs(i ? ", " : "", f);
        json_str(f, hostile[i]);
    }
    fputs("],\n  \"items_shards\": 500,\n  \"metrics\": [\n", f);
    for (size_t i = 0; i < n_expects; i++) {
        const struct expect *e = &expects[i];
        fputs("    {\"type\": ", f);
        json_str(f, e->type);
        fputs(", \"name\": ", f);
        json_str(f, e->name);
        fputs(", \"prom\": ", f);
        json_str(f, e->prom);
        fputs(", \"labels\": ", f);
        json_labels(f, e->labels);
        fprintf(f, ", %s}%s\n", e->fields, i + 1 < n_expects ? "," : "");
    }
    fputs("  ]\n}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "metrics_export_tool: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* ---- benchmark ------------------------------------------------------------------------ */

static double now_ms(void)
{
    return (double)vitte_now_ns() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and minimum over runs of one export. */
static void bench_one(const char *what, vitte_metrics *m, vitte_format fmt, int runs)
{
    double *t = calloc((size_t)runs, sizeof *t);
    FILE *null = fopen("/dev/null", "wb");
    if (t == NULL || null == NULL)
        die("bench setup", VITTE_ENOMEM);
    long bytes = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        int rc = vitte_metrics_write(m, fmt, null);
        t[r] = now_ms() - t0;
        if (rc != VITTE_OK)
            die("vitte_metrics_write", rc);
    }
    char *s = vitte_metrics_to_string(m, fmt);
    if (s != NULL)
        bytes = (long)strlen(s);
    free(s);
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("%-52s median %7.3f ms  min %7.3f ms  max %7.3f ms  (%ld bytes, %d runs)\n", what,
           t[runs / 2], t[0], t[runs - 1], bytes, runs);
    fclose(null);
    free(t);
}

static int bench(int runs)
{
    /* 10,000 counter series: 10 families of 1,000 label sets, two labels each. */
    vitte_metrics *m = vitte_metrics_create();
    char fam[64], a[32], b[32];
    for (int f = 0; f < 10; f++) {
        snprintf(fam, sizeof fam, "bench_family_%d_requests", f);
        for (int i = 0; i < 1000; i++) {
            snprintf(a, sizeof a, "instance-%d", i / 10);
            snprintf(b, sizeof b, "endpoint-%d", i % 10);
            const char *l[] = {"instance", a, "endpoint", b, NULL};
            vitte_counter *c = vitte_metrics_counter(m, fam, "Requests per endpoint.", l);
            if (c == NULL)
                die("bench counter", VITTE_ENOMEM);
            vitte_counter_add(c, (uint64_t)f * 1000003u + (uint64_t)i * 7919u);
        }
    }
    bench_one("prometheus: 10,000 counter series (10 families)", m, VITTE_FORMAT_PROMETHEUS, runs);
    bench_one("json:       10,000 counter series (10 families)", m, VITTE_FORMAT_JSON, runs);
    bench_one("csv:        10,000 counter series (10 families)", m, VITTE_FORMAT_CSV, runs);
    vitte_metrics_destroy(m);

    /* The same in one family. */
    m = vitte_metrics_create();
    vitte_metrics_set_max_series(m, 10000);
    for (int i = 0; i < 10000; i++) {
        snprintf(a, sizeof a, "instance-%d", i / 10);
        snprintf(b, sizeof b, "endpoint-%d", i % 10);
        const char *l[] = {"instance", a, "endpoint", b, NULL};
        vitte_counter_add(vitte_metrics_counter(m, "bench_requests", "Requests.", l), (uint64_t)i);
    }
    bench_one("prometheus: 10,000 counter series (1 family)", m, VITTE_FORMAT_PROMETHEUS, runs);
    vitte_metrics_destroy(m);

    /* 1,000 timers with the default 25 bounds. */
    m = vitte_metrics_create();
    for (int i = 0; i < 1000; i++) {
        snprintf(a, sizeof a, "op-%d", i);
        const char *l[] = {"op", a, NULL};
        vitte_histogram *h = vitte_metrics_timer(m, "bench_latency", "Latency.", l);
        for (int k = 0; k < 100; k++)
            vitte_histogram_record(h, 1000.0 * (k + 1) * (i % 50 + 1));
    }
    bench_one("prometheus: 1,000 timer histograms (26 buckets each)", m, VITTE_FORMAT_PROMETHEUS,
              runs);
    vitte_metrics_destroy(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
        int runs = argc >= 3 ? atoi(argv[2]) : 31;
        return bench(runs > 0 ? runs : 31);
    }
    if (argc != 2) {
        fprintf(stderr, "usage: metrics_export_tool OUTDIR | --bench [RUNS]\n");
        return 2;
    }
    vitte_metrics *m = build_registry();
    write_file(m, argv[1], "metrics.json", VITTE_FORMAT_JSON);
    write_file(m, argv[1], "metrics.csv", VITTE_FORMAT_CSV);
    write_file(m, argv[1], "metrics.prom", VITTE_FORMAT_PROMETHEUS);
    write_expected(argv[1]);
    vitte_metrics_destroy(m);
    return 0;
}
