/* Throughput meters: a count, a sliding-window rate and an EWMA rate.
 *
 * mark() adds to an atomic count and, once per tick, folds the events of the
 * elapsed ticks into a ring of per-tick counts and into the EWMA (under a
 * mutex, taken only when a tick boundary has passed).  Readers tick up to
 * "now" first, so rates decay while nothing is marked.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "metrics/metrics_internal.h"

struct vitte_meter {
    _Atomic uint64_t count;
    _Atomic uint64_t next_tick; /* time of the next tick boundary */
    pthread_mutex_t lock;
    uint64_t start_ns;
    uint64_t tick_ns, window_ns, tau_ns;
    uint32_t n_ticks;    /* window_ns / tick_ns */
    uint64_t tick_end;   /* end of the last folded tick */
    uint64_t count_tick; /* count at tick_end */
    uint64_t latest;     /* latest time seen */
    uint32_t head;       /* ring slot of the last folded tick */
    uint32_t filled;     /* folded ticks in the ring (<= n_ticks) */
    double ewma;
    int ewma_set;
    uint64_t ring[];
};

void vitte_meter_config_init(vitte_meter_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->window_ns = 1000000000ull;
    cfg->tick_ns = 100000000ull;
    cfg->ewma_tau_ns = 1000000000ull;
}

int vitte_meter_create(const vitte_meter_config *ucfg, vitte_meter **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    vitte_meter_config cfg;
    vitte_meter_config_init(&cfg);
    if (ucfg != NULL) {
        if (ucfg->struct_size < sizeof(uint32_t) || ucfg->struct_size > sizeof cfg)
            return VITTE_EINVAL;
        memcpy(&cfg, ucfg, ucfg->struct_size);
    }
    if (cfg.tick_ns == 0 || cfg.window_ns < cfg.tick_ns || cfg.window_ns % cfg.tick_ns != 0 ||
        cfg.window_ns / cfg.tick_ns > 100000 || cfg.ewma_tau_ns == 0)
        return VITTE_EINVAL;
    uint32_t n = (uint32_t)(cfg.window_ns / cfg.tick_ns);
    vitte_meter *m = vitte__calloc(1, sizeof *m + n * sizeof(uint64_t));
    if (m == NULL)
        return VITTE_ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    m->tick_ns = cfg.tick_ns;
    m->window_ns = cfg.window_ns;
    m->tau_ns = cfg.ewma_tau_ns;
    m->n_ticks = n;
    m->start_ns = vitte_now_ns();
    m->tick_end = m->start_ns;
    m->latest = m->start_ns;
    atomic_init(&m->next_tick, m->start_ns + m->tick_ns);
    *out = m;
    return VITTE_OK;
}

void vitte_meter_destroy(vitte_meter *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->lock);
    vitte__free(m);
}

/* Fold the ticks that ended by `now`.  With the lock held. */
static void tick(vitte_meter *m, uint64_t now)
{
    if (now > m->latest)
        m->latest = now;
    now = m->latest;
    if (now < m->tick_end + m->tick_ns)
        return;
    uint64_t k = (now - m->tick_end) / m->tick_ns;
    uint64_t c = atomic_load_explicit(&m->count, memory_order_relaxed);
    uint64_t delta = c - m->count_tick;
    double dt = (double)m->tick_ns / 1e9;
    double alpha = 1.0 - exp(-(double)m->tick_ns / (double)m->tau_ns);
    /* Events since the last fold are put in the first elapsed tick. */
    double inst = (double)delta / dt;
    if (!m->ewma_set) {
        m->ewma = inst;
        m->ewma_set = 1;
    } else {
        m->ewma += alpha * (inst - m->ewma);
    }
    if (k > 1)
        m->ewma *= pow(1.0 - alpha, (double)(k - 1));
    uint64_t slots = k < m->n_ticks ? k : m->n_ticks;
    for (uint64_t i = 0; i < slots; i++) {
        m->head = (m->head + 1) % m->n_ticks;
        m->ring[m->head] = i == 0 ? delta : 0;
    }
    if (k > m->n_ticks && delta != 0) /* the delta fell out of the window's ring */
        m->ring[(m->head + m->n_ticks - (uint32_t)slots + 1) % m->n_ticks] = 0;
    m->filled = (uint32_t)(m->filled + slots < m->n_ticks ? m->filled + slots : m->n_ticks);
    m->tick_end += k * m->tick_ns;
    m->count_tick = c;
    atomic_store_explicit(&m->next_tick, m->tick_end + m->tick_ns, memory_order_relaxed);
}

void vitte_meter_mark_at(vitte_meter *m, uint64_t n, uint64_t now)
{
    if (m == NULL)
        return;
    if (__builtin_expect(now >= atomic_load_explicit(&m->next_tick, memory_order_relaxed), 0)) {
        pthread_mutex_lock(&m->lock);
        tick(m, now);
        pthread_mutex_unlock(&m->lock);
    }
    atomic_fetch_add_explicit(&m->count, n, memory_order_relaxed);
}

void vitte_meter_mark(vitte_meter *m, uint64_t n)
{
    if (m != NULL)
        vitte_meter_mark_at(m, n, vitte_now_ns());
}

uint64_t vitte_meter_count(const vitte_meter *m)
{
    return m != NULL ? atomic_load_explicit(&((vitte_meter *)m)->count, memory_order_relaxed) : 0;
}

double vitte_meter_rate_at(vitte_meter *m, uint64_t now)
{
    if (m == NULL)
        return NAN;
    pthread_mutex_lock(&m->lock);
    tick(m, now);
    now = m->latest;
    uint64_t c = atomic_load_explicit(&m->count, memory_order_relaxed);
    uint64_t events = c - m->count_tick; /* the tick under way */
    for (uint32_t i = 0; i < m->filled; i++)
        events += m->ring[(m->head + m->n_ticks - i) % m->n_ticks];
    /* The window: the folded ticks plus the part of the current one. */
    uint64_t span = (uint64_t)m->filled * m->tick_ns + (now - m->tick_end);
    pthread_mutex_unlock(&m->lock);
    return span > 0 ? (double)events * 1e9 / (double)span : 0.0;
}

double vitte_meter_ewma_at(vitte_meter *m, uint64_t now)
{
    if (m == NULL)
        return NAN;
    pthread_mutex_lock(&m->lock);
    tick(m, now);
    double r = m->ewma_set ? m->ewma : 0.0;
    if (!m->ewma_set && m->latest > m->start_ns) /* less than one tick: the mean so far */
        r = (double)atomic_load_explicit(&m->count, memory_order_relaxed) * 1e9 /
            (double)(m->latest - m->start_ns);
    pthread_mutex_unlock(&m->lock);
    return r;
}

double vitte_meter_mean_rate_at(vitte_meter *m, uint64_t now)
{
    if (m == NULL)
        return NAN;
    pthread_mutex_lock(&m->lock);
    tick(m, now);
    uint64_t span = m->latest - m->start_ns;
    uint64_t c = atomic_load_explicit(&m->count, memory_order_relaxed);
    pthread_mutex_unlock(&m->lock);
    return span > 0 ? (double)c * 1e9 / (double)span : 0.0;
}

double vitte_meter_rate(vitte_meter *m)
{
    return vitte_meter_rate_at(m, vitte_now_ns());
}

double vitte_meter_ewma(vitte_meter *m)
{
    return vitte_meter_ewma_at(m, vitte_now_ns());
}

double vitte_meter_mean_rate(vitte_meter *m)
{
    return vitte_meter_mean_rate_at(m, vitte_now_ns());
}
