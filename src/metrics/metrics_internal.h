/* Internal definitions shared by the files of src/metrics. */
#ifndef VITTE_METRICS_INTERNAL_H
#define VITTE_METRICS_INTERNAL_H

#include <stdatomic.h>
#include <string.h>
#include <vitte/metrics.h>

/* A double's bits and back (for atomics on doubles and the histogram index). */
static inline uint64_t dbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static inline double bitsd(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

struct vitte_counter {
    uint32_t id; /* slot id (metrics_shard.h) */
};

struct vitte_gauge {
    _Atomic uint64_t bits; /* the double's bits */
};

/* Registry-owned objects are created and destroyed through these. */
int vitte__counter_init(vitte_counter *c);
void vitte__counter_fini(vitte_counter *c);
/* Compare two histogram configurations as the registry does (0: same). */
int vitte__histogram_config_cmp(const vitte_histogram *h, const vitte_histogram_config *cfg);

#endif
