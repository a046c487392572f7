/* vitte: helpers shared by the trace exporters: a u64 hash map, string
 * interning, exact microsecond formatting, JSON pieces, sink construction. */
#include "export/export_trace.h"

#include <math.h>
#include <stdio.h>

#include "common/alloc.h"
#include "common/jsonw.h"

/* ---- u64 -> u64 map ------------------------------------------------------------------ */

static size_t xmap_hash(uint64_t key, size_t mask)
{
    /* Keys are small ids or packed pairs: a multiplicative mix spreads them. */
    key ^= key >> 29;
    key *= 0x9e3779b97f4a7c15ull;
    return (size_t)(key >> 32) & mask;
}

void vitte__xmap_init(vitte__xmap *m)
{
    memset(m, 0, sizeof *m);
}

void vitte__xmap_fini(vitte__xmap *m)
{
    vitte__free(m->keys);
    vitte__free(m->vals);
    vitte__free(m->slot);
    vitte__free(m->index);
    memset(m, 0, sizeof *m);
}

static int xmap_reindex(vitte__xmap *m, size_t index_cap)
{
    uint32_t *index = vitte__calloc(index_cap, sizeof *index);
    if (index == NULL)
        return VITTE_ENOMEM;
    vitte__free(m->index);
    m->index = index;
    m->index_cap = index_cap;
    for (size_t i = 0; i < m->n; i++) {
        size_t s = xmap_hash(m->keys[i], index_cap - 1);
        while (index[s] != 0)
            s = (s + 1) & (index_cap - 1);
        index[s] = (uint32_t)(i + 1);
        m->slot[i] = (uint32_t)s;
    }
    return VITTE_OK;
}

uint64_t *vitte__xmap_find(const vitte__xmap *m, uint64_t key)
{
    if (m->index_cap == 0)
        return NULL;
    size_t mask = m->index_cap - 1;
    for (size_t s = xmap_hash(key, mask);; s = (s + 1) & mask) {
        uint32_t e = m->index[s];
        if (e == 0)
            return NULL;
        if (m->keys[e - 1] == key)
            return &m->vals[e - 1];
    }
}

uint64_t *vitte__xmap_upsert(vitte__xmap *m, uint64_t key, int *created)
{
    uint64_t *v = vitte__xmap_find(m, key);
    if (created != NULL)
        *created = v == NULL;
    if (v != NULL)
        return v;
    if (m->n >= UINT32_MAX - 1)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap != 0 ? m->cap * 2 : 8;
        uint64_t *k = vitte__realloc(m->keys, cap * sizeof *k);
        if (k == NULL)
            return NULL;
        m->keys = k;
        uint64_t *vals = vitte__realloc(m->vals, cap * sizeof *vals);
        if (vals == NULL)
            return NULL;
        m->vals = vals;
        uint32_t *slot = vitte__realloc(m->slot, cap * sizeof *slot);
        if (slot == NULL)
            return NULL;
        m->slot = slot;
        m->cap = cap;
    }
    /* Load factor at most 1/2: probes stay short for the many tiny maps. */
    if ((m->n + 1) * 2 > m->index_cap &&
        xmap_reindex(m, m->index_cap != 0 ? m->index_cap * 2 : 16) != VITTE_OK)
        return NULL;
    size_t mask = m->index_cap - 1;
    size_t s = xmap_hash(key, mask);
    while (m->index[s] != 0)
        s = (s + 1) & mask;
    size_t i = m->n++;
    m->keys[i] = key;
    m->vals[i] = 0;
    m->slot[i] = (uint32_t)s;
    m->index[s] = (uint32_t)(i + 1);
    return &m->vals[i];
}

void vitte__xmap_clear(vitte__xmap *m)
{
    /* Entry by entry, not a memset of the index: a map that once grew large
     * (one wide level of a deep trace) is cleared at the price of what it
     * holds now, which is usually nothing or a handful. */
    for (size_t i = 0; i < m->n; i++)
        m->index[m->slot[i]] = 0;
    m->n = 0;
}

/* ---- interned names ---------------------------------------------------------------------- */

void vitte__xnames_init(vitte__xnames *t)
{
    memset(t, 0, sizeof *t);
    vitte__strmap_init(&t->map);
}

void vitte__xnames_fini(vitte__xnames *t)
{
    vitte__strmap_fini(&t->map);
    for (size_t i = 0; i < t->n; i++)
        vitte__free((void *)t->str[i]);
    vitte__free(t->str);
    vitte__free(t->len);
    memset(t, 0, sizeof *t);
}

int64_t vitte__xnames_intern(vitte__xnames *t, const char *s, size_t n)
{
    void *v = vitte__strmap_get(&t->map, s, n);
    if (v != NULL)
        return (int64_t)((uintptr_t)v - 1);
    if (t->n == t->cap) {
        size_t cap = t->cap != 0 ? t->cap * 2 : 64;
        const char **str = vitte__realloc(t->str, cap * sizeof *str);
        if (str == NULL)
            return -1;
        t->str = str;
        size_t *len = vitte__realloc(t->len, cap * sizeof *len);
        if (len == NULL)
            return -1;
        t->len = len;
        t->cap = cap;
    }
    if (vitte__strmap_put(&t->map, s, n, (void *)(uintptr_t)(t->n + 1)) != VITTE_OK)
        return -1;
    char *copy = vitte__malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    t->str[t->n] = copy;
    t->len[t->n] = n;
    return (int64_t)t->n++;
}

/* ---- numbers and JSON pieces ----------------------------------------------------------------- */

void vitte__export_put_us(vitte__buf *b, int64_t ns)
{
    if (vitte__buf_reserve(b, VITTE__FMT_U64_MAX + 6) != 0)
        return;
    char *p = b->data + b->len;
    uint64_t u = (uint64_t)ns;
    if (ns < 0) {
        *p++ = '-';
        u = 0 - u; /* well defined for INT64_MIN too */
    }
    p += vitte__fmt_u64(p, u / 1000);
    unsigned r = (unsigned)(u % 1000);
    p[0] = '.';
    p[1] = (char)('0' + r / 100);
    p[2] = (char)('0' + r / 10 % 10);
    p[3] = (char)('0' + r % 10);
    b->len = (size_t)(p + 4 - b->data);
}

void vitte__export_put_jstr(vitte__buf *b, const char *s)
{
    vitte__buf_putc(b, '"');
    if (s != NULL)
        vitte__json_escape(b, s, strlen(s));
    vitte__buf_putc(b, '"');
}

void vitte__export_put_jdouble(vitte__buf *b, double v)
{
    if (isfinite(v))
        vitte__buf_double(b, v);
    else
        vitte__buf_append(b, "null", 4);
}

void vitte__export_put_hex(vitte__buf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[18];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = digits[v & 15];
        v >>= 4;
    } while (v != 0);
    tmp[--n] = 'x';
    tmp[--n] = '0';
    vitte__buf_append(b, tmp + n, sizeof tmp - n);
}

size_t vitte__export_put_jargs(vitte__buf *b, const vitte_trace_event *ev, int lead_comma)
{
    size_t written = 0;
    for (size_t i = 0; i < ev->n_args; i++) {
        const vitte_trace_arg *a = &ev->args[i];
        if (lead_comma || written != 0)
            vitte__buf_putc(b, ',');
        vitte__export_put_jstr(b, a->key != NULL ? a->key : "");
        vitte__buf_putc(b, ':');
        switch (a->type) {
        case VITTE_ARG_INT:
            vitte__buf_i64(b, a->i);
            break;
        case VITTE_ARG_DOUBLE:
            vitte__export_put_jdouble(b, a->d);
            break;
        case VITTE_ARG_STRING:
            vitte__export_put_jstr(b, a->s != NULL ? a->s : "");
            break;
        default:
            vitte__buf_append(b, "null", 4);
            break;
        }
        written++;
    }
    return written;
}

const char *vitte__export_event_type_name(int type)
{
    static const char *const names[] = {
        "?",         "span",       "instant",   "counter",  "async_begin",
        "async_end", "flow_begin", "flow_step", "flow_end", "sample",
    };
    if (type < 1 || type > 9)
        return "?";
    return names[type];
}

void vitte__export_fmt_dur(char *out, size_t size, uint64_t ns)
{
    static const struct {
        double div;
        const char *unit;
    } units[] = {{1e3, "us"}, {1e6, "ms"}, {1e9, "s"}};

    if (ns < 1000) {
        snprintf(out, size, "%llu ns", (unsigned long long)ns);
        return;
    }
    size_t u = 0;
    /* Move up a unit when 4 significant digits would round to 1000. */
    while (u + 1 < sizeof units / sizeof units[0] && (double)ns / units[u].div >= 999.95)
        u++;
    double v = (double)ns / units[u].div;
    const char *fmt = v < 9.9995   ? "%.3f %s"
                      : v < 99.995 ? "%.2f %s"
                      : v < 999.95 ? "%.1f %s"
                                   : "%.0f %s";
    snprintf(out, size, fmt, v, units[u].unit);
}

/* ---- labels for thread and process frames ------------------------------------------------------
 */

static const vitte__xthread *find_thread(const vitte__xsummary *sum, uint32_t stream, uint32_t tid)
{
    for (size_t i = 0; i < sum->n_threads; i++)
        if (sum->threads[i].stream == stream && sum->threads[i].tid == tid)
            return &sum->threads[i];
    return NULL;
}

void vitte__export_thread_label(vitte__buf *b, const vitte__xsummary *sum, uint32_t stream,
                                uint32_t tid)
{
    const vitte__xthread *t = find_thread(sum, stream, tid);
    if (t != NULL && t->name != NULL && t->name[0] != '\0') {
        vitte__buf_puts(b, t->name);
        vitte__buf_puts(b, " (tid ");
        vitte__buf_u64(b, tid);
        vitte__buf_putc(b, ')');
    } else {
        vitte__buf_puts(b, "tid ");
        vitte__buf_u64(b, tid);
    }
}

void vitte__export_process_label(vitte__buf *b, const vitte__xsummary *sum, uint32_t stream)
{
    const vitte__xfile *f = stream < sum->n_files ? &sum->files[stream] : NULL;
    if (f == NULL) {
        vitte__buf_puts(b, "?");
        return;
    }
    if (f->process_name != NULL && f->process_name[0] != '\0') {
        vitte__buf_puts(b, f->process_name);
        vitte__buf_puts(b, " (pid ");
        vitte__buf_u64(b, f->pid);
        vitte__buf_putc(b, ')');
    } else {
        vitte__buf_puts(b, "pid ");
        vitte__buf_u64(b, f->pid);
    }
}

/* ---- sinks
 * ---------------------------------------------------------------------------------------- */

int vitte__export_sink_create(const vitte_trace_export_options *opt, vitte__buf *out,
                              vitte__xsink **sink)
{
    vitte__xsink_create_fn create = NULL;
    *sink = NULL;
    switch (opt->format) {
    case VITTE_TRACE_FORMAT_TEXT:
        create = vitte__export_text_create;
        break;
    case VITTE_TRACE_FORMAT_CHROME:
        create = vitte__export_chrome_create;
        break;
    case VITTE_TRACE_FORMAT_FOLDED:
        create = vitte__export_folded_create;
        break;
    case VITTE_TRACE_FORMAT_SVG:
        create = vitte__export_svg_create;
        break;
    case VITTE_TRACE_FORMAT_JSON:
        create = vitte__export_json_events_create;
        break;
    case VITTE_TRACE_FORMAT_CSV:
        create = vitte__export_csv_events_create;
        break;
    case VITTE_TRACE_FORMAT_PPROF:
        create = vitte__export_pprof_create;
        break;
    }
    if (create == NULL)
        return VITTE_EINVAL;
    return create(out, opt, sink);
}

void vitte__export_sink_destroy(vitte__xsink *s)
{
    if (s != NULL)
        s->ops->destroy(s);
}
