/* Series: a ring of the last N values with summary figures over them. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "metrics/metrics_internal.h"

struct vitte_series {
    pthread_mutex_t lock;
    char *name;
    char *unit;
    vitte_metric_kind kind;
    size_t cap, len, head; /* head: where the next value goes */
    uint64_t total_count;
    double total_sum;
    double values[];
};

const char *vitte_metric_kind_name(vitte_metric_kind kind)
{
    switch (kind) {
    case VITTE_METRIC_CUSTOM:
        return "custom";
    case VITTE_METRIC_THROUGHPUT:
        return "throughput";
    case VITTE_METRIC_LATENCY:
        return "latency";
    case VITTE_METRIC_COUNT:
        return "count";
    case VITTE_METRIC_GAUGE:
        return "gauge";
    case VITTE_METRIC_RATIO:
        return "ratio";
    case VITTE_METRIC_SIZE:
        return "size";
    }
    return "unknown";
}

vitte_series *vitte_series_create(const char *name, vitte_metric_kind kind, const char *unit,
                                  size_t capacity)
{
    if (name == NULL || name[0] == '\0' || capacity == 0 ||
        capacity > ((size_t)1 << 40) / sizeof(double) || (unsigned)kind > VITTE_METRIC_SIZE)
        return NULL;
    vitte_series *s = vitte__calloc(1, sizeof *s + capacity * sizeof(double));
    if (s == NULL)
        return NULL;
    s->name = vitte__strdup(name);
    s->unit = vitte__strdup(unit != NULL ? unit : "");
    if (s->name == NULL || s->unit == NULL) {
        vitte__free(s->name);
        vitte__free(s->unit);
        vitte__free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->kind = kind;
    s->cap = capacity;
    return s;
}

void vitte_series_destroy(vitte_series *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->lock);
    vitte__free(s->name);
    vitte__free(s->unit);
    vitte__free(s);
}

int vitte_series_set(vitte_series *s, double v)
{
    if (s == NULL)
        return VITTE_EINVAL;
    if (isnan(v))
        return VITTE_ERANGE;
    pthread_mutex_lock(&s->lock);
    s->values[s->head] = v;
    s->head = (s->head + 1) % s->cap;
    if (s->len < s->cap)
        s->len++;
    s->total_count++;
    s->total_sum += v;
    pthread_mutex_unlock(&s->lock);
    return VITTE_OK;
}

const char *vitte_series_name(const vitte_series *s)
{
    return s != NULL ? s->name : "";
}

const char *vitte_series_unit(const vitte_series *s)
{
    return s != NULL ? s->unit : "";
}

vitte_metric_kind vitte_series_kind(const vitte_series *s)
{
    return s != NULL ? s->kind : VITTE_METRIC_CUSTOM;
}

size_t vitte_series_capacity(const vitte_series *s)
{
    return s != NULL ? s->cap : 0;
}

#define LOCKED(s, expr)                                                                            \
    do {                                                                                           \
        pthread_mutex_lock(&((vitte_series *)(s))->lock);                                          \
        expr;                                                                                      \
        pthread_mutex_unlock(&((vitte_series *)(s))->lock);                                        \
    } while (0)

size_t vitte_series_len(const vitte_series *s)
{
    size_t n = 0;
    if (s != NULL)
        LOCKED(s, n = s->len);
    return n;
}

uint64_t vitte_series_total_count(const vitte_series *s)
{
    uint64_t n = 0;
    if (s != NULL)
        LOCKED(s, n = s->total_count);
    return n;
}

double vitte_series_total_sum(const vitte_series *s)
{
    double v = 0;
    if (s != NULL)
        LOCKED(s, v = s->total_sum);
    return v;
}

/* Copy the held values, oldest first; with the lock held. */
static size_t copy_values(const vitte_series *s, double *out, size_t cap)
{
    size_t n = s->len < cap ? s->len : cap;
    size_t first = (s->head + s->cap - s->len) % s->cap;
    for (size_t i = 0; i < n; i++)
        out[i] = s->values[(first + i) % s->cap];
    return n;
}

int vitte_series_values(const vitte_series *s, double *out, size_t cap, size_t *n)
{
    if (n != NULL)
        *n = 0;
    if (s == NULL || (out == NULL && cap > 0) || n == NULL)
        return VITTE_EINVAL;
    LOCKED(s, *n = copy_values(s, out, cap));
    return VITTE_OK;
}

double vitte_series_last(const vitte_series *s)
{
    double v = NAN;
    if (s != NULL)
        LOCKED(s, if (s->len > 0) v = s->values[(s->head + s->cap - 1) % s->cap]);
    return v;
}

enum { FIG_MIN, FIG_MAX, FIG_MEAN };

static double figure(const vitte_series *s, int which)
{
    if (s == NULL)
        return NAN;
    double r = NAN;
    pthread_mutex_lock(&((vitte_series *)s)->lock);
    if (s->len > 0) {
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        for (size_t i = 0; i < s->len; i++) {
            double v = s->values[i]; /* order does not matter for these */
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            sum += v;
        }
        r = which == FIG_MIN ? mn : which == FIG_MAX ? mx : sum / (double)s->len;
    }
    pthread_mutex_unlock(&((vitte_series *)s)->lock);
    return r;
}

double vitte_series_min(const vitte_series *s)
{
    return figure(s, FIG_MIN);
}

double vitte_series_max(const vitte_series *s)
{
    return figure(s, FIG_MAX);
}

double vitte_series_mean(const vitte_series *s)
{
    return figure(s, FIG_MEAN);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double vitte_series_quantile(const vitte_series *s, double q)
{
    if (s == NULL || !(q >= 0.0 && q <= 1.0))
        return NAN;
    size_t cap = vitte_series_capacity(s);
    double *tmp = vitte__malloc(cap * sizeof(double));
    if (tmp == NULL)
        return NAN;
    size_t n;
    LOCKED(s, n = copy_values(s, tmp, cap));
    double r = NAN;
    if (n > 0) {
        qsort(tmp, n, sizeof(double), cmp_double);
        /* Hyndman-Fan type 7: h = (n - 1) q, interpolate between floor and ceil. */
        double h = (double)(n - 1) * q;
        size_t lo = (size_t)floor(h);
        size_t hi = lo + 1 < n ? lo + 1 : lo;
        r = tmp[lo] + (h - (double)lo) * (tmp[hi] - tmp[lo]);
    }
    vitte__free(tmp);
    return r;
}
