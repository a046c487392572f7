// peer_prometheus_cpp.cc: prometheus-cpp (the C++ Prometheus client library,
// Debian's prometheus-cpp-dev) behind the C interface of peer_prometheus_cpp.h,
// so that bench_metrics times it in the same run as vitte.
#include "peer_prometheus_cpp.h"

#include <cstdio>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

struct peer_prom_counter {
    prometheus::Counter c;
};

struct peer_prom_gauge {
    prometheus::Gauge g;
};

struct peer_prom_histogram {
    explicit peer_prom_histogram(const prometheus::Histogram::BucketBoundaries &b) : h(b)
    {
    }
    prometheus::Histogram h;
};

struct peer_prom_registry {
    std::shared_ptr<prometheus::Registry> reg = std::make_shared<prometheus::Registry>();
};

namespace
{

// A stream buffer that counts and discards: the serializer's /dev/null.
class CountingNullBuf : public std::streambuf
{
  public:
    size_t bytes = 0;

  protected:
    int_type overflow(int_type ch) override
    {
        if (ch != traits_type::eof())
            bytes++;
        return traits_type::not_eof(ch);
    }
    std::streamsize xsputn(const char *, std::streamsize n) override
    {
        bytes += static_cast<size_t>(n);
        return n;
    }
};

std::string fmt_int(const char *fmt, int v)
{
    char buf[128];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

} // namespace

extern "C" {

peer_prom_counter *peer_prom_counter_create(void)
{
    return new peer_prom_counter();
}

void peer_prom_counter_loop(peer_prom_counter *c, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        c->c.Increment();
}

double peer_prom_counter_value(const peer_prom_counter *c)
{
    return c->c.Value();
}

void peer_prom_counter_destroy(peer_prom_counter *c)
{
    delete c;
}

peer_prom_gauge *peer_prom_gauge_create(void)
{
    return new peer_prom_gauge();
}

void peer_prom_gauge_loop(peer_prom_gauge *g, const double *vals, size_t mask, size_t off,
                          uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        g->g.Set(vals[(off + i) & mask]);
}

void peer_prom_gauge_destroy(peer_prom_gauge *g)
{
    delete g;
}

peer_prom_histogram *peer_prom_histogram_create(const double *bounds, size_t n_bounds)
{
    return new peer_prom_histogram(
        prometheus::Histogram::BucketBoundaries(bounds, bounds + n_bounds));
}

void peer_prom_histogram_loop(peer_prom_histogram *h, const double *vals, size_t mask, size_t off,
                              uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        h->h.Observe(vals[(off + i) & mask]);
}

uint64_t peer_prom_histogram_count(const peer_prom_histogram *h)
{
    return h->h.Collect().histogram.sample_count;
}

void peer_prom_histogram_destroy(peer_prom_histogram *h)
{
    delete h;
}

peer_prom_registry *peer_prom_registry_create(int families, int series, const double *bounds,
                                              size_t n_bounds)
{
    auto *r = new peer_prom_registry();
    for (int f = 0; f < families; f++) {
        if (bounds == nullptr) {
            auto &fam = prometheus::BuildCounter()
                            .Name(fmt_int(BENCH_COUNTER_FAMILY_FMT, f))
                            .Help(fmt_int(BENCH_HELP_FMT, f))
                            .Register(*r->reg);
            for (int s = 0; s < series; s++) {
                auto &c = fam.Add({{"region", fmt_int(BENCH_REGION_FMT, s % 10)},
                                   {"worker", fmt_int(BENCH_WORKER_FMT, s)}});
                c.Increment(static_cast<double>(BENCH_COUNTER_VALUE(f, s)));
            }
        } else {
            const prometheus::Histogram::BucketBoundaries b(bounds, bounds + n_bounds);
            auto &fam = prometheus::BuildHistogram()
                            .Name(fmt_int(BENCH_HISTOGRAM_FAMILY_FMT, f))
                            .Help(fmt_int(BENCH_HELP_FMT, f))
                            .Register(*r->reg);
            for (int s = 0; s < series; s++) {
                auto &h = fam.Add({{"region", fmt_int(BENCH_REGION_FMT, s % 10)},
                                   {"worker", fmt_int(BENCH_WORKER_FMT, s)}},
                                  b);
                for (int j = 0; j < BENCH_HISTOGRAM_SAMPLES; j++)
                    h.Observe(BENCH_HISTOGRAM_VALUE(f, s, j));
            }
        }
    }
    return r;
}

size_t peer_prom_registry_serialize(peer_prom_registry *r)
{
    CountingNullBuf buf;
    std::ostream out(&buf);
    prometheus::TextSerializer ser;
    ser.Serialize(out, r->reg->Collect());
    out.flush();
    return buf.bytes;
}

void peer_prom_registry_destroy(peer_prom_registry *r)
{
    delete r;
}

} // extern "C"
