/* vitte: the events of a trace as JSON (docs/formats/trace-events-json.md)
 * and CSV (docs/formats/trace-events-csv.md), one record per event with a
 * fixed set of fields, in the order they were read.  Both stream: nothing is
 * kept per event. */
#include "export/export_trace.h"

#include <math.h>

#include <vitte/version.h>

#include "common/alloc.h"
#include "common/jsonw.h"

#define TRACE_EVENTS_VERSION 1

static int has_id(int type)
{
    return type >= VITTE_EVENT_ASYNC_BEGIN && type <= VITTE_EVENT_FLOW_END;
}

/* ---- JSON -------------------------------------------------------------------------------------
 */

typedef struct json_sink {
    vitte__xsink base;
    vitte__jsonw w;
} json_sink;

static int json_event(vitte__xsink *s, const vitte__xevent *e)
{
    json_sink *j = (json_sink *)s;
    vitte__buf *b = s->out;
    const vitte_trace_event *ev = e->ev;
    /* Written by hand after an empty raw value: the writer keeps the commas,
     * and the event costs no second copy. */
    vitte__json_raw(&j->w, "\n", 1);
    vitte__buf_append(b, "{\"type\":\"", 9);
    vitte__buf_puts(b, vitte__export_event_type_name(ev->type));
    vitte__buf_append(b, "\",\"pid\":", 8);
    vitte__buf_u64(b, e->pid);
    vitte__buf_append(b, ",\"tid\":", 7);
    vitte__buf_u64(b, ev->tid);
    vitte__buf_append(b, ",\"ts_ns\":", 9);
    vitte__buf_i64(b, e->ts);
    int span = ev->type == VITTE_EVENT_SPAN;
    vitte__buf_append(b, ",\"dur_ns\":", 10);
    vitte__buf_u64(b, span ? ev->dur_ns : 0);
    vitte__buf_append(b, ",\"self_ns\":", 11);
    vitte__buf_u64(b, span ? e->self_ns : 0);
    vitte__buf_append(b, ",\"depth\":", 9);
    vitte__buf_u64(b, span ? ev->depth : 0);
    vitte__buf_append(b, ",\"id\":", 6);
    if (has_id(ev->type)) {
        vitte__buf_putc(b, '"');
        vitte__export_put_hex(b, ev->id);
        vitte__buf_putc(b, '"');
    } else {
        vitte__buf_append(b, "null", 4);
    }
    vitte__buf_append(b, ",\"value\":", 9);
    if (ev->type == VITTE_EVENT_COUNTER)
        vitte__export_put_jdouble(b, ev->value);
    else
        vitte__buf_append(b, "null", 4);
    vitte__buf_append(b, ",\"name\":", 8);
    vitte__export_put_jstr(b, ev->name);
    vitte__buf_append(b, ",\"module\":", 10);
    vitte__export_put_jstr(b, ev->module);
    vitte__buf_append(b, ",\"tags\":", 8);
    vitte__export_put_jstr(b, ev->tags);
    vitte__buf_append(b, ",\"file\":", 8);
    vitte__export_put_jstr(b, ev->file);
    vitte__buf_append(b, ",\"line\":", 8);
    vitte__buf_u64(b, ev->line);
    vitte__buf_append(b, ",\"args\":{", 9);
    vitte__export_put_jargs(b, ev, 0);
    vitte__buf_append(b, "}}", 2);
    return b->err;
}

static int json_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    json_sink *j = (json_sink *)s;
    vitte__jsonw *w = &j->w;
    vitte__json_end_array(w);
    vitte__json_key(w, "files");
    vitte__json_begin_array(w);
    for (size_t i = 0; i < sum->n_files; i++) {
        const vitte__xfile *f = &sum->files[i];
        vitte__json_begin_object(w);
        vitte__json_kv_string(w, "path", f->path);
        vitte__json_kv_bool(w, "read", f->opened);
        vitte__json_kv_uint(w, "pid", f->pid);
        vitte__json_kv_uint(w, "recorded_pid", f->file_pid);
        vitte__json_kv_string(w, "process_name", f->process_name != NULL ? f->process_name : "");
        vitte__json_kv_string(w, "clock", f->clock != NULL ? f->clock : "");
        vitte__json_kv_double(w, "tsc_hz", f->tsc_hz);
        vitte__json_kv_uint(w, "start_ns", f->start_ns);
        vitte__json_kv_int(w, "start_realtime_ns", f->start_realtime_ns);
        vitte__json_kv_int(w, "offset_ns", f->offset_ns);
        vitte__json_kv_uint(w, "duration_ns", f->duration_ns);
        vitte__json_kv_uint(w, "events", f->events);
        vitte__json_kv_uint(w, "dropped", f->dropped);
        vitte__json_kv_bool(w, "complete", f->complete);
        if (f->status != VITTE_OK) {
            vitte__json_kv_string(w, "error", f->diag.message);
            vitte__json_kv_uint(w, "error_offset", f->diag.offset);
        } else {
            vitte__json_key(w, "error");
            vitte__json_null(w);
        }
        vitte__json_end_object(w);
    }
    vitte__json_end_array(w);
    vitte__json_key(w, "threads");
    vitte__json_begin_array(w);
    for (size_t i = 0; i < sum->n_threads; i++) {
        const vitte__xthread *t = &sum->threads[i];
        vitte__json_begin_object(w);
        vitte__json_kv_uint(w, "pid", t->pid);
        vitte__json_kv_uint(w, "tid", t->tid);
        vitte__json_kv_string(w, "name", t->name);
        vitte__json_kv_uint(w, "events", t->events);
        vitte__json_kv_uint(w, "dropped", t->dropped);
        vitte__json_end_object(w);
    }
    vitte__json_end_array(w);
    vitte__json_key(w, "summary");
    vitte__json_begin_object(w);
    vitte__json_kv_string(w, "time_base",
                          sum->realtime_base ? "CLOCK_REALTIME" : "CLOCK_MONOTONIC");
    vitte__json_kv_int(w, "start_realtime_ns", sum->start_realtime_ns);
    vitte__json_kv_uint(w, "duration_ns", sum->duration_ns);
    vitte__json_kv_uint(w, "events_read", sum->events_read);
    vitte__json_kv_uint(w, "events_exported", sum->events_kept);
    vitte__json_kv_uint(w, "dropped", sum->dropped);
    vitte__json_kv_uint(w, "orphan_spans", sum->orphans);
    vitte__json_end_object(w);
    vitte__json_key(w, "warnings");
    vitte__json_begin_array(w);
    for (size_t i = 0; i < sum->n_warnings; i++)
        vitte__json_string(w, sum->warnings[i]);
    vitte__json_end_array(w);
    vitte__json_end_object(w);
    vitte__buf_putc(s->out, '\n');
    return vitte__json_finish(w);
}

static void json_destroy(vitte__xsink *s)
{
    vitte__free(s);
}

static const vitte__xsink_ops json_ops = {json_event, NULL, NULL, json_finish, json_destroy};

int vitte__export_json_events_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                     vitte__xsink **sink)
{
    json_sink *j = vitte__calloc(1, sizeof *j);
    if (j == NULL)
        return VITTE_ENOMEM;
    j->base = (vitte__xsink){&json_ops, out, opt};
    vitte__json_init(&j->w, out, 0);
    vitte__json_begin_object(&j->w);
    vitte__json_kv_string(&j->w, "format", "vitte-trace-events");
    vitte__json_kv_int(&j->w, "version", TRACE_EVENTS_VERSION);
    vitte__json_kv_string(&j->w, "vitte_version", vitte_version_string());
    vitte__json_key(&j->w, "events");
    vitte__json_begin_array(&j->w);
    *sink = &j->base;
    return VITTE_OK;
}

/* ---- CSV
 * ----------------------------------------------------------------------------------------- */

#define CRLF "\r\n"

typedef struct csv_sink {
    vitte__xsink base;
    vitte__buf args; /* one event's args as JSON, quoted afterwards */
} csv_sink;

/* RFC 4180: a field holding a comma, a quote or a line break is quoted and
 * its quotes doubled.  Invalid UTF-8 becomes U+FFFD so the file is text. */
static void put_field(vitte__buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    int quote = 0, ascii = 1;
    for (size_t i = 0; i < n; i++) {
        quote |= p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
        ascii &= p[i] < 0x80;
    }
    if (!quote && ascii) {
        vitte__buf_append(b, s, n);
        return;
    }
    if (quote)
        vitte__buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        if (p[i] >= 0x80) {
            i += vitte__buf_utf8(b, p + i, n - i);
            continue;
        }
        if (p[i] == '"')
            vitte__buf_putc(b, '"');
        vitte__buf_putc(b, (char)p[i]);
        i++;
    }
    if (quote)
        vitte__buf_putc(b, '"');
}

static void put_sfield(vitte__buf *b, const char *s)
{
    put_field(b, s, strlen(s));
}

static int csv_event(vitte__xsink *s, const vitte__xevent *e)
{
    csv_sink *c = (csv_sink *)s;
    vitte__buf *b = s->out;
    const vitte_trace_event *ev = e->ev;
    int span = ev->type == VITTE_EVENT_SPAN;
    vitte__buf_puts(b, vitte__export_event_type_name(ev->type));
    vitte__buf_putc(b, ',');
    vitte__buf_u64(b, e->pid);
    vitte__buf_putc(b, ',');
    vitte__buf_u64(b, ev->tid);
    vitte__buf_putc(b, ',');
    vitte__buf_i64(b, e->ts);
    vitte__buf_putc(b, ',');
    vitte__buf_u64(b, span ? ev->dur_ns : 0);
    vitte__buf_putc(b, ',');
    vitte__buf_u64(b, span ? e->self_ns : 0);
    vitte__buf_putc(b, ',');
    vitte__buf_u64(b, span ? ev->depth : 0);
    vitte__buf_putc(b, ',');
    if (has_id(ev->type))
        vitte__export_put_hex(b, ev->id);
    vitte__buf_putc(b, ',');
    if (ev->type == VITTE_EVENT_COUNTER)
        vitte__buf_double(b, ev->value);
    vitte__buf_putc(b, ',');
    put_sfield(b, ev->name);
    vitte__buf_putc(b, ',');
    put_sfield(b, ev->module);
    vitte__buf_putc(b, ',');
    put_sfield(b, ev->tags);
    vitte__buf_putc(b, ',');
    put_sfield(b, ev->file);
    vitte__buf_putc(b, ',');
    vitte__buf_u64(b, ev->line);
    vitte__buf_putc(b, ',');
    if (ev->n_args != 0) {
        vitte__buf_clear(&c->args);
        vitte__buf_putc(&c->args, '{');
        vitte__export_put_jargs(&c->args, ev, 0);
        vitte__buf_putc(&c->args, '}');
        if (c->args.err != 0)
            return c->args.err;
        put_field(b, c->args.data, c->args.len);
    }
    vitte__buf_append(b, CRLF, 2);
    return b->err;
}

static int csv_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    (void)sum; /* CSV has no room for file facts: the JSON export has them */
    return s->out->err;
}

static void csv_destroy(vitte__xsink *s)
{
    csv_sink *c = (csv_sink *)s;
    vitte__buf_free(&c->args);
    vitte__free(c);
}

static const vitte__xsink_ops csv_ops = {csv_event, NULL, NULL, csv_finish, csv_destroy};

int vitte__export_csv_events_create(vitte__buf *out, const vitte_trace_export_options *opt,
                                    vitte__xsink **sink)
{
    csv_sink *c = vitte__calloc(1, sizeof *c);
    if (c == NULL)
        return VITTE_ENOMEM;
    c->base = (vitte__xsink){&csv_ops, out, opt};
    vitte__buf_init(&c->args);
    vitte__buf_puts(out, "type,pid,tid,ts_ns,dur_ns,self_ns,depth,id,value,name,module,tags,file,"
                         "line,args" CRLF);
    *sink = &c->base;
    return VITTE_OK;
}
