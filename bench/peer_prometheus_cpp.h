/* peer_prometheus_cpp.h: a C view of the prometheus-cpp client library
 * (jupp0r/prometheus-cpp, Debian's prometheus-cpp-dev), so bench_metrics can
 * time it in the same run as vitte.  Each loop runs inside the C++ file: the
 * timed code is exactly what a C++ program calling the library would run.
 * Built only when CMake finds prometheus-cpp (BENCH_HAVE_PROMETHEUS_CPP). */
#ifndef VITTE_BENCH_PEER_PROMETHEUS_CPP_H
#define VITTE_BENCH_PEER_PROMETHEUS_CPP_H

#include <stddef.h>
#include <stdint.h>

/* The export benchmark's series, the same for vitte, the naive exporter and
 * the peer: family f (0-based), label set s (0-based). */
#define BENCH_COUNTER_FAMILY_FMT   "bench_requests_%03d_total"
#define BENCH_HISTOGRAM_FAMILY_FMT "bench_latency_%02d_seconds"
#define BENCH_HELP_FMT             "Benchmark family number %d."
#define BENCH_REGION_FMT           "eu-west-%d"  /* s % 10 */
#define BENCH_WORKER_FMT           "worker-%03d" /* s */
#define BENCH_COUNTER_VALUE(f, s)  ((uint64_t)((f)*100 + (s)) * 37u + 1u)
/* Histogram series hold BENCH_HISTOGRAM_SAMPLES values, 0.1 ms .. 0.5 s. */
#define BENCH_HISTOGRAM_SAMPLES        20
#define BENCH_HISTOGRAM_VALUE(f, s, j) (1e-4 * (double)(1 + ((f)*131 + (s)*17 + (j)*29) % 5000))

#ifdef __cplusplus
extern "C" {
#endif

typedef struct peer_prom_counter peer_prom_counter;
typedef struct peer_prom_gauge peer_prom_gauge;
typedef struct peer_prom_histogram peer_prom_histogram;
typedef struct peer_prom_registry peer_prom_registry;

/* A standalone prometheus::Counter; loop calls Increment() n times. */
peer_prom_counter *peer_prom_counter_create(void);
void peer_prom_counter_loop(peer_prom_counter *c, uint64_t n);
double peer_prom_counter_value(const peer_prom_counter *c);
void peer_prom_counter_destroy(peer_prom_counter *c);

/* A standalone prometheus::Gauge; loop calls Set(vals[(off + i) & mask]). */
peer_prom_gauge *peer_prom_gauge_create(void);
void peer_prom_gauge_loop(peer_prom_gauge *g, const double *vals, size_t mask, size_t off,
                          uint64_t n);
void peer_prom_gauge_destroy(peer_prom_gauge *g);

/* A standalone prometheus::Histogram with the given bucket bounds; loop calls
 * Observe(vals[(off + i) & mask]). */
peer_prom_histogram *peer_prom_histogram_create(const double *bounds, size_t n_bounds);
void peer_prom_histogram_loop(peer_prom_histogram *h, const double *vals, size_t mask, size_t off,
                              uint64_t n);
uint64_t peer_prom_histogram_count(const peer_prom_histogram *h);
void peer_prom_histogram_destroy(peer_prom_histogram *h);

/* A Registry with `families` counter families of `series` label sets each
 * (names and labels as bench_metrics.c makes them for vitte), or histogram
 * families with the given bounds when bounds != NULL. */
peer_prom_registry *peer_prom_registry_create(int families, int series, const double *bounds,
                                              size_t n_bounds);
/* Registry::Collect() + TextSerializer into a discarding stream; returns the
 * number of bytes produced. */
size_t peer_prom_registry_serialize(peer_prom_registry *r);
void peer_prom_registry_destroy(peer_prom_registry *r);

#ifdef __cplusplus
}
#endif

#endif
