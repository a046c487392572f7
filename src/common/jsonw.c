/* vitte internal: streaming JSON writer. */
#include "common/jsonw.h"

#include <math.h>

void vitte__json_init(vitte__jsonw *w, vitte__buf *out, unsigned indent)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->indent = indent;
    w->compact_from = VITTE__JSON_MAX_DEPTH + 1;
}

int vitte__json_error(const vitte__jsonw *w)
{
    return w->err != 0 ? w->err : w->out->err;
}

int vitte__json_finish(vitte__jsonw *w)
{
    if (w->err == 0 && (w->depth != 0 || w->after_key))
        w->err = VITTE_ESTATE;
    return vitte__json_error(w);
}

static void newline_indent(vitte__jsonw *w, unsigned depth)
{
    if (w->indent == 0 || w->depth >= w->compact_from)
        return;
    size_t n = (size_t)w->indent * depth;
    if (vitte__buf_reserve(w->out, n + 1) != 0)
        return;
    char *p = w->out->data + w->out->len;
    p[0] = '\n';
    memset(p + 1, ' ', n);
    w->out->len += n + 1;
}

/* Everything that precedes a value: the comma and indentation inside an
 * array, nothing after a key (the key wrote them), a newline between
 * top-level values.  Returns 0 when the value may be written. */
static int before_value(vitte__jsonw *w)
{
    if (vitte__json_error(w) != 0)
        return -1;
    if (w->depth == 0) {
        if (w->top_count != 0)
            vitte__buf_putc(w->out, '\n');
        return 0;
    }
    unsigned d = w->depth - 1;
    if (w->is_object[d]) {
        if (!w->after_key) {
            w->err = VITTE_ESTATE; /* a value in an object needs a key first */
            return -1;
        }
        w->after_key = 0;
        return 0;
    }
    if (w->has_items[d]) {
        vitte__buf_putc(w->out, ',');
        if (w->indent != 0 && w->depth >= w->compact_from)
            vitte__buf_putc(w->out, ' ');
    }
    w->has_items[d] = 1;
    newline_indent(w, w->depth);
    return 0;
}

/* After a complete value at the top level. */
static void after_value(vitte__jsonw *w)
{
    if (w->depth == 0 && w->top_count < 255)
        w->top_count++;
}

static void begin(vitte__jsonw *w, char open, unsigned char is_object, int compact)
{
    if (before_value(w) != 0)
        return;
    if (w->depth >= VITTE__JSON_MAX_DEPTH) {
        w->err = VITTE_ESTATE;
        return;
    }
    vitte__buf_putc(w->out, open);
    w->is_object[w->depth] = is_object;
    w->has_items[w->depth] = 0;
    w->depth++;
    if (compact && w->compact_from > w->depth)
        w->compact_from = w->depth;
}

static void end(vitte__jsonw *w, char close, unsigned char is_object)
{
    if (vitte__json_error(w) != 0)
        return;
    if (w->depth == 0 || w->is_object[w->depth - 1] != is_object || w->after_key) {
        w->err = VITTE_ESTATE;
        return;
    }
    unsigned had_items = w->has_items[w->depth - 1];
    if (had_items)
        newline_indent(w, w->depth - 1);
    if (w->compact_from == w->depth)
        w->compact_from = VITTE__JSON_MAX_DEPTH + 1;
    w->depth--;
    vitte__buf_putc(w->out, close);
    after_value(w);
}

void vitte__json_begin_object(vitte__jsonw *w)
{
    begin(w, '{', 1, 0);
}

void vitte__json_begin_object_compact(vitte__jsonw *w)
{
    begin(w, '{', 1, 1);
}

void vitte__json_end_object(vitte__jsonw *w)
{
    end(w, '}', 1);
}

void vitte__json_begin_array(vitte__jsonw *w)
{
    begin(w, '[', 0, 0);
}

void vitte__json_begin_array_compact(vitte__jsonw *w)
{
    begin(w, '[', 0, 1);
}

void vitte__json_end_array(vitte__jsonw *w)
{
    end(w, ']', 0);
}

/* ---- strings -------------------------------------------------------------------- */

/* 1 for bytes that can be copied as they are: printable ASCII except '"'
 * and '\\'.  Bytes >= 0x80 go through the UTF-8 check. */
static int plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void vitte__json_escape(vitte__buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && b->err == 0) {
        size_t run = i;
        while (run < n && plain_byte(p[run]))
            run++;
        if (run > i) {
            vitte__buf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            i += vitte__buf_utf8(b, p + i, n - i);
            continue;
        }
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default: /* other control characters */
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
            break;
        }
        vitte__buf_append(b, esc, elen);
        i++;
    }
}

static void put_quoted(vitte__buf *b, const char *s, size_t n)
{
    vitte__buf_putc(b, '"');
    vitte__json_escape(b, s, n);
    vitte__buf_putc(b, '"');
}

void vitte__json_key_n(vitte__jsonw *w, const char *key, size_t n)
{
    if (vitte__json_error(w) != 0)
        return;
    if (w->depth == 0 || !w->is_object[w->depth - 1] || w->after_key || key == NULL) {
        w->err = VITTE_ESTATE;
        return;
    }
    unsigned d = w->depth - 1;
    if (w->has_items[d]) {
        vitte__buf_putc(w->out, ',');
        if (w->indent != 0 && w->depth >= w->compact_from)
            vitte__buf_putc(w->out, ' ');
    }
    w->has_items[d] = 1;
    newline_indent(w, w->depth);
    put_quoted(w->out, key, n);
    if (w->indent != 0)
        vitte__buf_append(w->out, ": ", 2);
    else
        vitte__buf_putc(w->out, ':');
    w->after_key = 1;
}

void vitte__json_key(vitte__jsonw *w, const char *key)
{
    vitte__json_key_n(w, key, key != NULL ? strlen(key) : 0);
}

void vitte__json_string_n(vitte__jsonw *w, const char *s, size_t n)
{
    if (s == NULL) {
        vitte__json_null(w);
        return;
    }
    if (before_value(w) != 0)
        return;
    put_quoted(w->out, s, n);
    after_value(w);
}

void vitte__json_string(vitte__jsonw *w, const char *s)
{
    vitte__json_string_n(w, s, s != NULL ? strlen(s) : 0);
}

/* ---- scalars ---------------------------------------------------------------------- */

void vitte__json_raw(vitte__jsonw *w, const char *json, size_t n)
{
    if (before_value(w) != 0)
        return;
    vitte__buf_append(w->out, json, n);
    after_value(w);
}

void vitte__json_int(vitte__jsonw *w, int64_t v)
{
    if (before_value(w) != 0)
        return;
    vitte__buf_i64(w->out, v);
    after_value(w);
}

void vitte__json_uint(vitte__jsonw *w, uint64_t v)
{
    if (before_value(w) != 0)
        return;
    vitte__buf_u64(w->out, v);
    after_value(w);
}

void vitte__json_double(vitte__jsonw *w, double v)
{
    if (!isfinite(v)) {
        vitte__json_null(w);
        return;
    }
    if (before_value(w) != 0)
        return;
    vitte__buf_double(w->out, v);
    after_value(w);
}

void vitte__json_bool(vitte__jsonw *w, int v)
{
    if (v)
        vitte__json_raw(w, "true", 4);
    else
        vitte__json_raw(w, "false", 5);
}

void vitte__json_null(vitte__jsonw *w)
{
    vitte__json_raw(w, "null", 4);
}

void vitte__json_kv_string(vitte__jsonw *w, const char *key, const char *s)
{
    vitte__json_key(w, key);
    vitte__json_string(w, s);
}

void vitte__json_kv_int(vitte__jsonw *w, const char *key, int64_t v)
{
    vitte__json_key(w, key);
    vitte__json_int(w, v);
}

void vitte__json_kv_uint(vitte__jsonw *w, const char *key, uint64_t v)
{
    vitte__json_key(w, key);
    vitte__json_uint(w, v);
}

void vitte__json_kv_double(vitte__jsonw *w, const char *key, double v)
{
    vitte__json_key(w, key);
    vitte__json_double(w, v);
}

void vitte__json_kv_bool(vitte__jsonw *w, const char *key, int v)
{
    vitte__json_key(w, key);
    vitte__json_bool(w, v);
}
