/* The registry: families of labelled metrics, found by name and label values.
 *
 * Registration takes the registry mutex; recording never does (callers keep
 * the handle).  A family is created with its first label set, so every
 * family has at least one child, and a label-less family is exported (as 0)
 * from the moment it is registered.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strmap.h"
#include "metrics/metrics_internal.h"

#define MAX_NAME       200
#define MAX_LABELS     32
#define DEFAULT_SERIES 2000

struct child {
    char **values; /* in the family's label-name order */
    vitte_counter counter;
    vitte_gauge gauge;
    vitte_histogram *hist;
    vitte_meter *meter;
    vitte_series *series;
};

struct family {
    char *name;
    char *san; /* name with every character outside [A-Za-z0-9_:] made '_' */
    char *help;
    char *unit;
    vitte_family_type type;
    double scale; /* counters: export scale (1 but for scaled counters) */
    size_t n_labels;
    char **label_names; /* sorted */
    struct child **children;
    size_t n_children, cap_children;
    struct vitte__strmap by_values;
};

struct collector {
    vitte_metrics_collect_fn fn;
    void *ud;
    void (*free_fn)(void *ud);
};

struct vitte_metrics {
    pthread_mutex_t lock;
    struct family **fams;
    size_t n_fams, cap_fams;
    struct vitte__strmap by_name;
    struct vitte__strmap by_san;
    size_t max_series;
    /* Collectors: the list and their runs under collect_lock, never under
     * lock (a collector may register metrics). */
    pthread_mutex_t collect_lock;
    struct collector *collectors;
    size_t n_collectors, cap_collectors;
};

const char *vitte_family_type_name(vitte_family_type type)
{
    switch (type) {
    case VITTE_FAMILY_COUNTER:
        return "counter";
    case VITTE_FAMILY_GAUGE:
        return "gauge";
    case VITTE_FAMILY_HISTOGRAM:
        return "histogram";
    case VITTE_FAMILY_METER:
        return "meter";
    case VITTE_FAMILY_SERIES:
        return "series";
    }
    return "unknown";
}

vitte_metrics *vitte_metrics_create(void)
{
    vitte_metrics *m = vitte__calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->collect_lock, NULL);
    vitte__strmap_init(&m->by_name);
    vitte__strmap_init(&m->by_san);
    m->max_series = DEFAULT_SERIES;
    return m;
}

static void child_free(struct family *f, struct child *c)
{
    if (c == NULL)
        return;
    switch (f->type) {
    case VITTE_FAMILY_COUNTER:
        vitte__counter_fini(&c->counter);
        break;
    case VITTE_FAMILY_HISTOGRAM:
        vitte_histogram_destroy(c->hist);
        break;
    case VITTE_FAMILY_METER:
        vitte_meter_destroy(c->meter);
        break;
    case VITTE_FAMILY_SERIES:
        vitte_series_destroy(c->series);
        break;
    case VITTE_FAMILY_GAUGE:
        break;
    }
    for (size_t i = 0; c->values != NULL && i < f->n_labels; i++)
        vitte__free(c->values[i]);
    vitte__free(c->values);
    vitte__free(c);
}

static void family_free(struct family *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_children; i++)
        child_free(f, f->children[i]);
    vitte__free(f->children);
    vitte__strmap_fini(&f->by_values);
    for (size_t i = 0; f->label_names != NULL && i < f->n_labels; i++)
        vitte__free(f->label_names[i]);
    vitte__free(f->label_names);
    vitte__free(f->name);
    vitte__free(f->san);
    vitte__free(f->help);
    vitte__free(f->unit);
    vitte__free(f);
}

void vitte_metrics_destroy(vitte_metrics *m)
{
    if (m == NULL)
        return;
    /* Collectors first: their state may refer to the metrics. */
    for (size_t i = 0; i < m->n_collectors; i++)
        if (m->collectors[i].free_fn != NULL)
            m->collectors[i].free_fn(m->collectors[i].ud);
    vitte__free(m->collectors);
    pthread_mutex_destroy(&m->collect_lock);
    for (size_t i = 0; i < m->n_fams; i++)
        family_free(m->fams[i]);
    vitte__free(m->fams);
    vitte__strmap_fini(&m->by_name);
    vitte__strmap_fini(&m->by_san);
    pthread_mutex_destroy(&m->lock);
    vitte__free(m);
}

int vitte_metrics_set_max_series(vitte_metrics *m, size_t max_series)
{
    if (m == NULL || max_series == 0)
        return VITTE_EINVAL;
    pthread_mutex_lock(&m->lock);
    m->max_series = max_series;
    pthread_mutex_unlock(&m->lock);
    return VITTE_OK;
}

/* ---- names and labels -------------------------------------------------------- */

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int valid_name(const char *s)
{
    if (s == NULL || !is_alpha(s[0]))
        return 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!is_alpha(s[n]) && !is_digit(s[n]) && strchr(":.-/", s[n]) == NULL)
            return 0;
    return n <= MAX_NAME;
}

static int valid_label_name(const char *s)
{
    if (s == NULL || !is_alpha(s[0]) || strncmp(s, "__", 2) == 0 || strcmp(s, "le") == 0 ||
        strcmp(s, "quantile") == 0)
        return 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!is_alpha(s[n]) && !is_digit(s[n]))
            return 0;
    return n <= MAX_NAME;
}

struct labelset {
    size_t n;
    const char *names[MAX_LABELS];
    const char *values[MAX_LABELS];
};

/* Parse and sort a NULL-terminated key, value list. */
static int parse_labels(const char *const *labels, struct labelset *ls)
{
    ls->n = 0;
    if (labels == NULL)
        return VITTE_OK;
    for (size_t i = 0; labels[i] != NULL; i += 2) {
        if (ls->n == MAX_LABELS || labels[i + 1] == NULL || !valid_label_name(labels[i]))
            return VITTE_EINVAL;
        /* Insertion sort by name; a repeated name is an error. */
        size_t j = ls->n;
        while (j > 0 && strcmp(ls->names[j - 1], labels[i]) > 0) {
            ls->names[j] = ls->names[j - 1];
            ls->values[j] = ls->values[j - 1];
            j--;
        }
        if (j > 0 && strcmp(ls->names[j - 1], labels[i]) == 0)
            return VITTE_EINVAL;
        ls->names[j] = labels[i];
        ls->values[j] = labels[i + 1];
        ls->n++;
    }
    return VITTE_OK;
}

/* The lookup key of a label set: each value as <length>:<bytes>. */
static char *values_key(const struct labelset *ls, size_t *len)
{
    size_t n = 1;
    for (size_t i = 0; i < ls->n; i++)
        n += strlen(ls->values[i]) + 21;
    char *k = vitte__malloc(n);
    if (k == NULL)
        return NULL;
    size_t off = 0;
    for (size_t i = 0; i < ls->n; i++) {
        size_t vl = strlen(ls->values[i]);
        off += (size_t)snprintf(k + off, n - off, "%zu:", vl);
        memcpy(k + off, ls->values[i], vl);
        off += vl;
    }
    k[off] = '\0';
    *len = off;
    return k;
}

/* ---- registration ------------------------------------------------------------- */

struct request {
    vitte_family_type type;
    const char *name;
    const char *help;
    const char *unit;
    const vitte_histogram_config *cfg; /* histograms */
    vitte_series *series;              /* series: the object to adopt */
    double scale;                      /* counters: export scale (0 means 1) */
};

static double request_scale(const struct request *r)
{
    return r->scale != 0 ? r->scale : 1.0;
}

static int family_matches(const struct family *f, const struct request *r,
                          const struct labelset *ls)
{
    if (f->type != r->type || f->n_labels != ls->n)
        return 0;
    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(f->label_names[i], ls->names[i]) != 0)
            return 0;
    if (r->help != NULL && r->help[0] != '\0' && f->help[0] != '\0' &&
        strcmp(r->help, f->help) != 0)
        return 0;
    if (f->type == VITTE_FAMILY_HISTOGRAM &&
        vitte__histogram_config_cmp(f->children[0]->hist, r->cfg) != 0)
        return 0;
    if (f->type == VITTE_FAMILY_COUNTER &&
        (f->scale != request_scale(r) || strcmp(f->unit, r->unit != NULL ? r->unit : "") != 0))
        return 0;
    return 1;
}

static struct family *family_new(const struct request *r, const struct labelset *ls)
{
    struct family *f = vitte__calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->type = r->type;
    f->scale = request_scale(r);
    f->name = vitte__strdup(r->name);
    f->san = vitte__strdup(r->name);
    f->help = vitte__strdup(r->help != NULL ? r->help : "");
    f->unit = vitte__strdup(r->unit != NULL ? r->unit : "");
    f->n_labels = ls->n;
    f->label_names = vitte__calloc(ls->n ? ls->n : 1, sizeof(char *));
    vitte__strmap_init(&f->by_values);
    if (f->name == NULL || f->san == NULL || f->help == NULL || f->unit == NULL ||
        f->label_names == NULL) {
        family_free(f);
        return NULL;
    }
    for (char *p = f->san; *p != '\0'; p++)
        if (!is_alpha(*p) && !is_digit(*p) && *p != ':')
            *p = '_';
    for (size_t i = 0; i < ls->n; i++) {
        if ((f->label_names[i] = vitte__strdup(ls->names[i])) == NULL) {
            f->n_labels = i;
            family_free(f);
            return NULL;
        }
    }
    return f;
}

static int child_new(const struct request *r, const struct labelset *ls, struct child **out)
{
    struct child *c = vitte__calloc(1, sizeof *c);
    if (c == NULL)
        return VITTE_ENOMEM;
    c->values = vitte__calloc(ls->n ? ls->n : 1, sizeof(char *));
    int rc = c->values != NULL ? VITTE_OK : VITTE_ENOMEM;
    for (size_t i = 0; rc == VITTE_OK && i < ls->n; i++)
        if ((c->values[i] = vitte__strdup(ls->values[i])) == NULL)
            rc = VITTE_ENOMEM;
    if (rc == VITTE_OK) {
        switch (r->type) {
        case VITTE_FAMILY_COUNTER:
            rc = vitte__counter_init(&c->counter);
            break;
        case VITTE_FAMILY_GAUGE:
            break;
        case VITTE_FAMILY_HISTOGRAM:
            rc = vitte_histogram_create(r->cfg, &c->hist);
            break;
        case VITTE_FAMILY_METER:
            rc = vitte_meter_create(NULL, &c->meter);
            break;
        case VITTE_FAMILY_SERIES:
            c->series = r->series;
            break;
        }
    }
    if (rc != VITTE_OK) {
        for (size_t i = 0; c->values != NULL && i < ls->n; i++)
            vitte__free(c->values[i]);
        vitte__free(c->values);
        vitte__free(c);
        return rc;
    }
    *out = c;
    return VITTE_OK;
}

static int append(void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        void **na = vitte__realloc(*arr, nc * sizeof *na);
        if (na == NULL)
            return VITTE_ENOMEM;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = item;
    return VITTE_OK;
}

/* Find or create the child for (name, labels).  With the registry locked. */
static int lookup(vitte_metrics *m, const struct request *r, const char *const *labels,
                  struct child **out)
{
    struct labelset ls;
    int rc = parse_labels(labels, &ls);
    if (rc != VITTE_OK)
        return rc;
    size_t klen;
    char *key = values_key(&ls, &klen);
    if (key == NULL)
        return VITTE_ENOMEM;
    struct family *f = vitte__strmap_get(&m->by_name, r->name, strlen(r->name));
    int new_family = f == NULL;
    if (f != NULL) {
        if (!family_matches(f, r, &ls)) {
            rc = VITTE_EEXIST;
            goto done;
        }
        struct child *c = vitte__strmap_get(&f->by_values, key, klen);
        if (c != NULL) {
            /* A series is an object of its own: one per label set. */
            rc = r->type == VITTE_FAMILY_SERIES ? VITTE_EEXIST : VITTE_OK;
            if (rc == VITTE_OK)
                *out = c;
            goto done;
        }
        if (f->n_children >= m->max_series) {
            rc = VITTE_ELIMIT;
            goto done;
        }
        if (f->help[0] == '\0' && r->help != NULL && r->help[0] != '\0') {
            char *h = vitte__strdup(r->help);
            if (h != NULL) {
                vitte__free(f->help);
                f->help = h;
            }
        }
    } else {
        f = family_new(r, &ls);
        if (f == NULL) {
            rc = VITTE_ENOMEM;
            goto done;
        }
        /* Two names that export alike (a.b and a_b) would collide. */
        if (vitte__strmap_get(&m->by_san, f->san, strlen(f->san)) != NULL) {
            family_free(f);
            rc = VITTE_EEXIST;
            goto done;
        }
    }
    struct child *c;
    rc = child_new(r, &ls, &c);
    if (rc != VITTE_OK)
        goto fail_family;
    rc = vitte__strmap_put(&f->by_values, key, klen, c);
    if (rc == VITTE_OK) {
        rc = append((void ***)&f->children, &f->n_children, &f->cap_children, c);
        if (rc != VITTE_OK) /* the map holds it but the list does not: it cannot stay */
            goto fail_family;
    } else {
        if (r->type == VITTE_FAMILY_SERIES)
            c->series = NULL; /* not adopted */
        child_free(f, c);
        goto fail_family;
    }
    if (new_family) {
        if (vitte__strmap_put(&m->by_name, f->name, strlen(f->name), f) != VITTE_OK ||
            vitte__strmap_put(&m->by_san, f->san, strlen(f->san), f) != VITTE_OK ||
            append((void ***)&m->fams, &m->n_fams, &m->cap_fams, f) != VITTE_OK) {
            /* Out of memory with the maps half updated: keep the family alive
             * (maps point to it) rather than risk a dangling pointer. */
            rc = VITTE_ENOMEM;
            goto done;
        }
    }
    *out = c;
    rc = VITTE_OK;
    goto done;
fail_family:
    if (new_family)
        family_free(f);
done:
    vitte__free(key);
    return rc;
}

static int add(vitte_metrics *m, const struct request *r, const char *const *labels,
               struct child **out)
{
    *out = NULL;
    if (m == NULL || !valid_name(r->name))
        return VITTE_EINVAL;
    pthread_mutex_lock(&m->lock);
    int rc = lookup(m, r, labels, out);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int vitte_metrics_add_counter(vitte_metrics *m, const char *name, const char *help,
                              const char *const *labels, vitte_counter **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    struct request r = {VITTE_FAMILY_COUNTER, name, help, NULL, NULL, NULL, 1.0};
    struct child *c;
    int rc = add(m, &r, labels, &c);
    *out = rc == VITTE_OK ? &c->counter : NULL;
    return rc;
}

int vitte_metrics_add_scaled_counter(vitte_metrics *m, const char *name, const char *help,
                                     const char *const *labels, const char *unit,
                                     double export_scale, vitte_counter **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (!(export_scale > 0) || isinf(export_scale))
        return VITTE_EINVAL;
    struct request r = {VITTE_FAMILY_COUNTER, name, help, unit, NULL, NULL, export_scale};
    struct child *c;
    int rc = add(m, &r, labels, &c);
    *out = rc == VITTE_OK ? &c->counter : NULL;
    return rc;
}

int vitte_metrics_add_gauge(vitte_metrics *m, const char *name, const char *help,
                            const char *const *labels, vitte_gauge **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    struct request r = {VITTE_FAMILY_GAUGE, name, help, NULL, NULL, NULL, 0};
    struct child *c;
    int rc = add(m, &r, labels, &c);
    *out = rc == VITTE_OK ? &c->gauge : NULL;
    return rc;
}

int vitte_metrics_add_histogram(vitte_metrics *m, const char *name, const char *help,
                                const char *const *labels, const vitte_histogram_config *cfg,
                                vitte_histogram **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    vitte_histogram_config def;
    if (cfg == NULL) {
        vitte_histogram_config_init(&def);
        cfg = &def;
    }
    if (cfg->struct_size < sizeof(uint32_t) || cfg->struct_size > sizeof def)
        return VITTE_EINVAL;
    struct request r = {VITTE_FAMILY_HISTOGRAM, name, help, cfg->unit, cfg, NULL, 0};
    struct child *c;
    int rc = add(m, &r, labels, &c);
    *out = rc == VITTE_OK ? c->hist : NULL;
    return rc;
}

int vitte_metrics_add_timer(vitte_metrics *m, const char *name, const char *help,
                            const char *const *labels, vitte_histogram **out)
{
    vitte_histogram_config cfg;
    vitte_histogram_config_init(&cfg);
    cfg.lowest = 1.0;   /* nanoseconds */
    cfg.highest = 1e15; /* about 11.6 days */
    cfg.export_scale = 1e-9;
    cfg.unit = "seconds";
    return vitte_metrics_add_histogram(m, name, help, labels, &cfg, out);
}

int vitte_metrics_add_meter(vitte_metrics *m, const char *name, const char *help,
                            const char *const *labels, vitte_meter **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    struct request r = {VITTE_FAMILY_METER, name, help, NULL, NULL, NULL, 0};
    struct child *c;
    int rc = add(m, &r, labels, &c);
    *out = rc == VITTE_OK ? c->meter : NULL;
    return rc;
}

int vitte_metrics_add_series(vitte_metrics *m, vitte_series *s, const char *help,
                             const char *const *labels)
{
    if (s == NULL)
        return VITTE_EINVAL;
    struct request r = {
        VITTE_FAMILY_SERIES, vitte_series_name(s), help, vitte_series_unit(s), NULL, s, 0};
    struct child *c;
    return add(m, &r, labels, &c);
}

vitte_counter *vitte_metrics_counter(vitte_metrics *m, const char *name, const char *help,
                                     const char *const *labels)
{
    vitte_counter *c;
    return vitte_metrics_add_counter(m, name, help, labels, &c) == VITTE_OK ? c : NULL;
}

vitte_gauge *vitte_metrics_gauge(vitte_metrics *m, const char *name, const char *help,
                                 const char *const *labels)
{
    vitte_gauge *g;
    return vitte_metrics_add_gauge(m, name, help, labels, &g) == VITTE_OK ? g : NULL;
}

vitte_histogram *vitte_metrics_histogram(vitte_metrics *m, const char *name, const char *help,
                                         const char *const *labels)
{
    vitte_histogram *h;
    return vitte_metrics_add_histogram(m, name, help, labels, NULL, &h) == VITTE_OK ? h : NULL;
}

vitte_histogram *vitte_metrics_timer(vitte_metrics *m, const char *name, const char *help,
                                     const char *const *labels)
{
    vitte_histogram *h;
    return vitte_metrics_add_timer(m, name, help, labels, &h) == VITTE_OK ? h : NULL;
}

vitte_meter *vitte_metrics_meter(vitte_metrics *m, const char *name, const char *help,
                                 const char *const *labels)
{
    vitte_meter *t;
    return vitte_metrics_add_meter(m, name, help, labels, &t) == VITTE_OK ? t : NULL;
}

int vitte_metrics_insert_timer(vitte_metrics *m, const vitte_timer *t)
{
    if (m == NULL || t == NULL || t->name == NULL)
        return VITTE_EINVAL;
    vitte_histogram *h;
    int rc = vitte_metrics_add_timer(m, t->name, NULL, NULL, &h);
    if (rc != VITTE_OK)
        return rc;
    return vitte_histogram_record(h, (double)t->elapsed_ns);
}

/* ---- collectors ----------------------------------------------------------------- */

int vitte_metrics_add_collector(vitte_metrics *m, vitte_metrics_collect_fn fn, void *ud,
                                void (*free_fn)(void *ud))
{
    if (m == NULL || fn == NULL)
        return VITTE_EINVAL;
    int rc = VITTE_OK;
    pthread_mutex_lock(&m->collect_lock);
    if (m->n_collectors == m->cap_collectors) {
        size_t nc = m->cap_collectors ? m->cap_collectors * 2 : 4;
        struct collector *na = vitte__realloc(m->collectors, nc * sizeof *na);
        if (na == NULL)
            rc = VITTE_ENOMEM;
        else {
            m->collectors = na;
            m->cap_collectors = nc;
        }
    }
    if (rc == VITTE_OK)
        m->collectors[m->n_collectors++] = (struct collector){fn, ud, free_fn};
    pthread_mutex_unlock(&m->collect_lock);
    return rc;
}

int vitte_metrics_remove_collector(vitte_metrics *m, vitte_metrics_collect_fn fn, void *ud)
{
    if (m == NULL || fn == NULL)
        return VITTE_EINVAL;
    struct collector gone = {NULL, NULL, NULL};
    pthread_mutex_lock(&m->collect_lock);
    for (size_t i = 0; i < m->n_collectors; i++) {
        if (m->collectors[i].fn == fn && m->collectors[i].ud == ud) {
            gone = m->collectors[i];
            memmove(&m->collectors[i], &m->collectors[i + 1],
                    (m->n_collectors - i - 1) * sizeof m->collectors[0]);
            m->n_collectors--;
            break;
        }
    }
    pthread_mutex_unlock(&m->collect_lock);
    if (gone.fn == NULL)
        return VITTE_ENOENT;
    if (gone.free_fn != NULL)
        gone.free_fn(gone.ud);
    return VITTE_OK;
}

void vitte_metrics_collect(vitte_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->collect_lock);
    for (size_t i = 0; i < m->n_collectors; i++)
        m->collectors[i].fn(m, m->collectors[i].ud);
    pthread_mutex_unlock(&m->collect_lock);
}

int vitte_metrics_visit(vitte_metrics *m, vitte_metrics_visit_fn fn, void *ud)
{
    if (m == NULL || fn == NULL)
        return VITTE_EINVAL;
    vitte_metrics_collect(m);
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; rc == 0 && i < m->n_fams; i++) {
        struct family *f = m->fams[i];
        for (size_t j = 0; rc == 0 && j < f->n_children; j++) {
            struct child *c = f->children[j];
            vitte_metric_info info = {
                .name = f->name,
                .help = f->help,
                .unit = f->unit,
                .type = f->type,
                .n_labels = f->n_labels,
                .label_names = (const char *const *)f->label_names,
                .label_values = (const char *const *)c->values,
                .child_index = j,
                .n_children = f->n_children,
                .export_scale = f->type == VITTE_FAMILY_COUNTER ? f->scale : 1.0,
            };
            switch (f->type) {
            case VITTE_FAMILY_COUNTER:
                info.counter = &c->counter;
                break;
            case VITTE_FAMILY_GAUGE:
                info.gauge = &c->gauge;
                break;
            case VITTE_FAMILY_HISTOGRAM:
                info.histogram = c->hist;
                break;
            case VITTE_FAMILY_METER:
                info.meter = c->meter;
                break;
            case VITTE_FAMILY_SERIES:
                info.series = c->series;
                break;
            }
            rc = fn(&info, ud);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}
