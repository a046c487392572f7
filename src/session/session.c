/* Sessions: the manager, timings, series, system metrics, files.
 * The report writers are in session_report.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vitte/clock.h>
#include <vitte/trace_export.h>

#include "common/alloc.h"
#include "session/session_internal.h"

#define DEFAULT_DIR         "./performance_reports"
#define MAX_NAME            200
#define DEFAULT_INTERVAL_NS 100000000ull /* 100 ms */
#define SERIES_CAPACITY     3000         /* 5 minutes at 100 ms */

const vitte_sys_metric vitte__session_sys_metrics[] = {
    VITTE_SYS_PROC_CPU_PERCENT, VITTE_SYS_PROC_RSS,      VITTE_SYS_PROC_THREADS,
    VITTE_SYS_HOST_CPU_PERCENT, VITTE_SYS_HOST_MEM_USED,
};
const size_t vitte__session_n_sys_metrics =
    sizeof vitte__session_sys_metrics / sizeof vitte__session_sys_metrics[0];

struct vitte_manager {
    char *dir;
    pthread_mutex_t lock;
    vitte_session *active;
    struct vitte__strmap used; /* names of every session started */
};

int vitte__session_errno_status(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
        return VITTE_EPERM;
    case ENOSPC:
    case EDQUOT:
        return VITTE_ENOSPC;
    case ENOMEM:
        return VITTE_ENOMEM;
    default:
        return VITTE_EIO;
    }
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = vitte__malloc(la + lb + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

/* mkdir -p, then check that the directory is usable. */
static int make_dir(const char *path)
{
    char *p = vitte__strdup(path);
    if (p == NULL)
        return VITTE_ENOMEM;
    int rc = VITTE_OK;
    size_t n = strlen(p);
    for (size_t i = 1; i <= n && rc == VITTE_OK; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = vitte__session_errno_status(errno);
        p[i] = c;
    }
    vitte__free(p);
    if (rc != VITTE_OK)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return vitte__session_errno_status(errno);
    if (!S_ISDIR(st.st_mode))
        return VITTE_EIO;
    if (access(path, W_OK | X_OK) != 0)
        return vitte__session_errno_status(errno);
    return VITTE_OK;
}

/* ---- the manager ------------------------------------------------------------ */

int vitte_manager_create_ex(const char *dir, vitte_manager **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (dir == NULL)
        dir = DEFAULT_DIR;
    if (dir[0] == '\0')
        return VITTE_EINVAL;
    int rc = make_dir(dir);
    if (rc != VITTE_OK)
        return rc;
    vitte_manager *m = vitte__calloc(1, sizeof *m);
    if (m == NULL)
        return VITTE_ENOMEM;
    if ((m->dir = vitte__strdup(dir)) == NULL) {
        vitte__free(m);
        return VITTE_ENOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    vitte__strmap_init(&m->used);
    *out = m;
    return VITTE_OK;
}

vitte_manager *vitte_manager_create(const char *dir)
{
    vitte_manager *m;
    return vitte_manager_create_ex(dir, &m) == VITTE_OK ? m : NULL;
}

const char *vitte_manager_directory(const vitte_manager *mgr)
{
    return mgr != NULL ? mgr->dir : NULL;
}

static void session_free(vitte_session *s)
{
    if (s == NULL)
        return;
    vitte_sys_sampler_destroy(s->sampler);
    if (s->tracer != NULL && !s->trace_closed)
        vitte_tracer_destroy(s->tracer);
    for (size_t i = 0; i < s->n_recs; i++) {
        vitte__free(s->recs[i].name);
        vitte_histogram_destroy(s->recs[i].hist);
    }
    for (size_t i = 0; i < s->n_series; i++)
        vitte_series_destroy(s->series[i]);
    vitte__strmap_fini(&s->names);
    vitte__free(s->recs);
    vitte__free(s->open);
    vitte__free(s->series);
    vitte__free(s->name);
    vitte__free(s->dir);
    vitte__free(s->trace_path);
    pthread_mutex_destroy(&s->lock);
    vitte__free(s);
}

static int valid_name(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strlen(name);
    if (n == 0 || n > MAX_NAME || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return 0;
    return 1;
}

static int session_create(vitte_manager *mgr, const char *name, vitte_session **out)
{
    vitte_session *s = vitte__calloc(1, sizeof *s);
    if (s == NULL)
        return VITTE_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    vitte__strmap_init(&s->names);
    s->mgr = mgr;
    s->name = vitte__strdup(name);
    s->dir = join(mgr->dir, name);
    s->trace_path = s->dir != NULL ? join(s->dir, "trace.vittrace") : NULL;
    if (s->name == NULL || s->dir == NULL || s->trace_path == NULL) {
        session_free(s);
        return VITTE_ENOMEM;
    }
    int rc = make_dir(s->dir);
    if (rc != VITTE_OK) {
        session_free(s);
        return rc;
    }
    vitte_tracer_config tc;
    vitte_tracer_config_init(&tc);
    tc.catch_signals = 0; /* the program's signal handlers are its own */
    rc = vitte_tracer_create_ex(s->trace_path, &tc, &s->tracer);
    if (rc == VITTE_ESTATE) {
        s->tracer = NULL; /* another tracer is active: record into it */
    } else if (rc != VITTE_OK) {
        session_free(s);
        return rc;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->start_unix_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    s->start_ns = vitte_now_ns();
    *out = s;
    return VITTE_OK;
}

int vitte_manager_start_session_ex(vitte_manager *mgr, const char *name, vitte_session **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (mgr == NULL || !valid_name(name))
        return VITTE_EINVAL;
    pthread_mutex_lock(&mgr->lock);
    int rc;
    if (vitte__strmap_get(&mgr->used, name, strlen(name)) != NULL)
        rc = VITTE_EEXIST;
    else if (mgr->active != NULL)
        rc = VITTE_ESTATE;
    else if ((rc = session_create(mgr, name, &mgr->active)) == VITTE_OK &&
             (rc = vitte__strmap_put(&mgr->used, name, strlen(name), (void *)1)) != VITTE_OK) {
        session_free(mgr->active);
        mgr->active = NULL;
    }
    if (rc == VITTE_OK)
        *out = mgr->active;
    pthread_mutex_unlock(&mgr->lock);
    return rc;
}

vitte_session *vitte_manager_start_session(vitte_manager *mgr, const char *name)
{
    vitte_session *s;
    return vitte_manager_start_session_ex(mgr, name, &s) == VITTE_OK ? s : NULL;
}

vitte_session *vitte_manager_active_session(vitte_manager *mgr)
{
    if (mgr == NULL)
        return NULL;
    pthread_mutex_lock(&mgr->lock);
    vitte_session *s = mgr->active;
    pthread_mutex_unlock(&mgr->lock);
    return s;
}

static int write_report_file(vitte_session *s, const char *path, vitte_report_format format)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return vitte__session_errno_status(errno);
    int rc = vitte__session_write_report(s, f, format);
    if (fclose(f) != 0 && rc == VITTE_OK)
        rc = vitte__session_errno_status(errno);
    return rc;
}

/* Export the trace file as a flame graph (s->lock held). */
static int write_flamegraph(vitte_session *s, const char *path)
{
    if (s->tracer == NULL)
        return VITTE_ESTATE;
    if (!s->trace_closed) {
        int rc = vitte_tracer_flush(s->tracer);
        if (rc != VITTE_OK)
            return rc;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return vitte__session_errno_status(errno);
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_SVG;
    o.title = s->name;
    const char *paths[1] = {s->trace_path};
    int rc = vitte_trace_export(paths, 1, &o, f, NULL);
    /* A trace still being written has no end marker yet. */
    if (rc == VITTE_ETRUNCATED && !s->trace_closed)
        rc = VITTE_OK;
    if (fclose(f) != 0 && rc == VITTE_OK)
        rc = vitte__session_errno_status(errno);
    return rc;
}

static void stop_sampling(vitte_session *s)
{
    if (s->sampling) {
        vitte_sys_sampler_stop(s->sampler);
        vitte_sys_sampler_sample_now(s->sampler); /* at least one value, even if short */
        s->sampling = 0;
    }
}

static void keep_first(int *rc, int r)
{
    if (*rc == VITTE_OK && r != VITTE_OK)
        *rc = r;
}

int vitte_manager_stop_session(vitte_manager *mgr)
{
    if (mgr == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&mgr->lock);
    vitte_session *s = mgr->active;
    if (s == NULL) {
        pthread_mutex_unlock(&mgr->lock);
        return VITTE_ESTATE;
    }
    int rc = VITTE_OK;
    pthread_mutex_lock(&s->lock);
    stop_sampling(s);
    s->stop_ns = vitte_now_ns();
    if (s->tracer != NULL) {
        keep_first(&rc, vitte_tracer_flush(s->tracer));
        vitte_tracer_get_stats(s->tracer, &s->trace_stats);
        keep_first(&rc, vitte_tracer_destroy(s->tracer));
        s->trace_closed = 1;
    }
    char *p = join(s->dir, "report.json");
    keep_first(&rc, p != NULL ? write_report_file(s, p, VITTE_REPORT_JSON) : VITTE_ENOMEM);
    vitte__free(p);
    p = join(s->dir, "report.md");
    keep_first(&rc, p != NULL ? write_report_file(s, p, VITTE_REPORT_MARKDOWN) : VITTE_ENOMEM);
    vitte__free(p);
    if (s->tracer != NULL) {
        p = join(s->dir, "flamegraph.svg");
        keep_first(&rc, p != NULL ? write_flamegraph(s, p) : VITTE_ENOMEM);
        vitte__free(p);
    }
    pthread_mutex_unlock(&s->lock);
    session_free(s);
    mgr->active = NULL;
    pthread_mutex_unlock(&mgr->lock);
    return rc;
}

void vitte_manager_destroy(vitte_manager *mgr)
{
    if (mgr == NULL)
        return;
    (void)vitte_manager_stop_session(mgr); /* VITTE_ESTATE when none is active */
    vitte__strmap_fini(&mgr->used);
    pthread_mutex_destroy(&mgr->lock);
    vitte__free(mgr->dir);
    vitte__free(mgr);
}

/* ---- sessions ------------------------------------------------------------------ */

const char *vitte_session_name(const vitte_session *s)
{
    return s != NULL ? s->name : NULL;
}

const char *vitte_session_directory(const vitte_session *s)
{
    return s != NULL ? s->dir : NULL;
}

/* The record of name, created if needed (s->lock held); SIZE_MAX on ENOMEM. */
static size_t rec_get(vitte_session *s, const char *name)
{
    size_t n = strlen(name);
    void *v = vitte__strmap_get(&s->names, name, n);
    if (v != NULL)
        return (size_t)(uintptr_t)v - 1;
    if (s->n_recs == s->cap_recs) {
        size_t cap = s->cap_recs ? 2 * s->cap_recs : 16;
        struct vitte__timing_rec *r = vitte__realloc(s->recs, cap * sizeof *r);
        if (r == NULL)
            return SIZE_MAX;
        s->recs = r;
        s->cap_recs = cap;
    }
    struct vitte__timing_rec *r = &s->recs[s->n_recs];
    memset(r, 0, sizeof *r);
    vitte_histogram_config hc;
    vitte_histogram_config_init(&hc);
    hc.lowest = 1;
    hc.unit = "nanoseconds";
    if ((r->name = vitte__strdup(name)) == NULL || vitte_histogram_create(&hc, &r->hist) != 0 ||
        vitte__strmap_put(&s->names, name, n, (void *)(uintptr_t)(s->n_recs + 1)) != VITTE_OK) {
        vitte__free(r->name);
        vitte_histogram_destroy(r->hist);
        return SIZE_MAX;
    }
    return s->n_recs++;
}

int vitte_session_start_timing(vitte_session *s, const char *name)
{
    if (s == NULL || name == NULL || name[0] == '\0')
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->lock);
    int rc = VITTE_OK;
    size_t rec = rec_get(s, name);
    if (rec == SIZE_MAX) {
        rc = VITTE_ENOMEM;
    } else if (s->n_open == s->cap_open) {
        size_t cap = s->cap_open ? 2 * s->cap_open : 16;
        struct vitte__open_timing *o = vitte__realloc(s->open, cap * sizeof *o);
        if (o == NULL) {
            rc = VITTE_ENOMEM;
        } else {
            s->open = o;
            s->cap_open = cap;
        }
    }
    if (rc == VITTE_OK) {
        struct vitte__open_timing *o = &s->open[s->n_open++];
        o->thread = pthread_self();
        o->rec = rec;
        o->zone = vitte_zone_begin_named(name, s->name);
        o->t0 = vitte_now_ns();
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vitte_session_stop_timing(vitte_session *s, const char *name, uint64_t *ns)
{
    uint64_t t1 = vitte_now_ns();
    if (ns != NULL)
        *ns = 0;
    if (s == NULL || name == NULL || name[0] == '\0')
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->lock);
    pthread_t self = pthread_self();
    size_t i = s->n_open, innermost = SIZE_MAX;
    while (i-- > 0) {
        if (!pthread_equal(s->open[i].thread, self))
            continue;
        if (innermost == SIZE_MAX)
            innermost = i;
        if (strcmp(s->recs[s->open[i].rec].name, name) == 0)
            break;
    }
    if (i == SIZE_MAX) {
        pthread_mutex_unlock(&s->lock);
        return VITTE_ENOENT;
    }
    if (i != innermost) {
        pthread_mutex_unlock(&s->lock);
        return VITTE_ESTATE;
    }
    struct vitte__open_timing o = s->open[i];
    memmove(&s->open[i], &s->open[i + 1], (s->n_open - i - 1) * sizeof s->open[0]);
    s->n_open--;
    uint64_t d = t1 > o.t0 ? t1 - o.t0 : 0;
    struct vitte__timing_rec *r = &s->recs[o.rec];
    if (r->count == 0 || d < r->min_ns)
        r->min_ns = d;
    if (d > r->max_ns)
        r->max_ns = d;
    r->count++;
    r->total_ns += d;
    vitte_histogram_record(r->hist, (double)d);
    pthread_mutex_unlock(&s->lock);
    vitte_zone_end(o.zone);
    if (ns != NULL)
        *ns = d;
    return VITTE_OK;
}

int vitte_session_timing_stats(vitte_session *s, const char *name, vitte_timing_stats *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (s == NULL || name == NULL || out == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->lock);
    void *v = vitte__strmap_get(&s->names, name, strlen(name));
    int rc = VITTE_ENOENT;
    if (v != NULL) {
        const struct vitte__timing_rec *r = &s->recs[(size_t)(uintptr_t)v - 1];
        if (r->count > 0) {
            out->count = r->count;
            out->total_ns = r->total_ns;
            out->min_ns = r->min_ns;
            out->max_ns = r->max_ns;
            out->mean_ns = (double)r->total_ns / (double)r->count;
            out->p50_ns = vitte_histogram_quantile(r->hist, 0.5);
            out->p90_ns = vitte_histogram_quantile(r->hist, 0.9);
            out->p99_ns = vitte_histogram_quantile(r->hist, 0.99);
            rc = VITTE_OK;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- system metrics and series ------------------------------------------------- */

int vitte_session_start_system_metrics_ex(vitte_session *s, uint64_t interval_ns)
{
    if (s == NULL)
        return VITTE_EINVAL;
    if (interval_ns == 0)
        interval_ns = DEFAULT_INTERVAL_NS;
    if (interval_ns < 1000000)
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->lock);
    int rc = VITTE_OK;
    if (s->sampler != NULL) {
        rc = VITTE_ESTATE;
    } else {
        vitte_sys_sampler_config c;
        vitte_sys_sampler_config_init(&c);
        c.interval_ns = interval_ns;
        c.capacity = SERIES_CAPACITY;
        c.metrics = vitte__session_sys_metrics;
        c.n_metrics = vitte__session_n_sys_metrics;
        rc = vitte_sys_sampler_create(&c, &s->sampler);
        if (rc == VITTE_OK && (rc = vitte_sys_sampler_start(s->sampler)) != VITTE_OK) {
            vitte_sys_sampler_destroy(s->sampler);
            s->sampler = NULL;
        }
        if (rc == VITTE_OK) {
            s->sampling = 1;
            s->sample_interval_ns = interval_ns;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vitte_session_start_system_metrics(vitte_session *s)
{
    return vitte_session_start_system_metrics_ex(s, 0);
}

int vitte_session_stop_system_metrics(vitte_session *s)
{
    if (s == NULL)
        return VITTE_EINVAL;
    pthread_mutex_lock(&s->lock);
    int rc = s->sampling ? VITTE_OK : VITTE_ESTATE;
    stop_sampling(s);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vitte_session_add_series(vitte_session *s, vitte_series *series)
{
    if (s == NULL || series == NULL)
        return VITTE_EINVAL;
    const char *name = vitte_series_name(series);
    for (size_t i = 0; i < vitte__session_n_sys_metrics; i++)
        if (strcmp(name, vitte_sys_metric_name(vitte__session_sys_metrics[i])) == 0)
            return VITTE_EEXIST;
    pthread_mutex_lock(&s->lock);
    int rc = VITTE_OK;
    for (size_t i = 0; i < s->n_series && rc == VITTE_OK; i++)
        if (s->series[i] == series || strcmp(vitte_series_name(s->series[i]), name) == 0)
            rc = VITTE_EEXIST;
    if (rc == VITTE_OK && s->n_series == s->cap_series) {
        size_t cap = s->cap_series ? 2 * s->cap_series : 8;
        vitte_series **p = vitte__realloc(s->series, cap * sizeof *p);
        if (p == NULL) {
            rc = VITTE_ENOMEM;
        } else {
            s->series = p;
            s->cap_series = cap;
        }
    }
    if (rc == VITTE_OK)
        s->series[s->n_series++] = series;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- output ----------------------------------------------------------------------- */

int vitte_session_save_report(vitte_session *s, const char *path, vitte_report_format format)
{
    if (s == NULL || (format != VITTE_REPORT_JSON && format != VITTE_REPORT_MARKDOWN))
        return VITTE_EINVAL;
    char *def = NULL;
    if (path == NULL) {
        def = join(s->dir, format == VITTE_REPORT_JSON ? "report.json" : "report.md");
        if (def == NULL)
            return VITTE_ENOMEM;
        path = def;
    }
    pthread_mutex_lock(&s->lock);
    int rc = write_report_file(s, path, format);
    pthread_mutex_unlock(&s->lock);
    vitte__free(def);
    return rc;
}

int vitte_session_generate_flamegraph(vitte_session *s, const char *path)
{
    if (s == NULL)
        return VITTE_EINVAL;
    char *def = NULL;
    if (path == NULL) {
        if ((def = join(s->dir, "flamegraph.svg")) == NULL)
            return VITTE_ENOMEM;
        path = def;
    }
    pthread_mutex_lock(&s->lock);
    int rc = write_flamegraph(s, path);
    pthread_mutex_unlock(&s->lock);
    vitte__free(def);
    return rc;
}
