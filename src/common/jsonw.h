/* vitte internal: a streaming JSON writer.
 *
 * Writes straight into a vitte__buf (memory or FILE), so a document of any
 * size is produced in bounded memory.  Commas, colons and (optionally)
 * indentation are inserted automatically; the caller only says what comes
 * next.  Strings are escaped per RFC 8259: '"' and '\\' escaped, control
 * characters as \b \f \n \r \t or \u00XX, well-formed UTF-8 passed through,
 * and every byte that does not start a well-formed UTF-8 sequence replaced by
 * U+FFFD, so the output is always valid UTF-8.  Doubles use the shortest of
 * %.15g/%.16g/%.17g that reads back exactly; NaN and infinities, which JSON
 * cannot express, are written as null.
 *
 * Misuse (a value where a key is due, an unbalanced end, nesting deeper than
 * VITTE__JSON_MAX_DEPTH) sets the sticky error VITTE_ESTATE and stops output;
 * errors of the underlying buffer are reported the same way.
 *
 *     vitte__buf b;  vitte__jsonw w;
 *     vitte__buf_init(&b);
 *     vitte__json_init(&w, &b, 2);
 *     vitte__json_begin_object(&w);
 *     vitte__json_kv_string(&w, "name", "x");
 *     vitte__json_key(&w, "values");
 *     vitte__json_begin_array(&w);  vitte__json_uint(&w, 1);  vitte__json_end_array(&w);
 *     vitte__json_end_object(&w);
 *     if (vitte__json_finish(&w) == 0) text = vitte__buf_detach(&b, NULL);
 */
#ifndef VITTE_COMMON_JSONW_H
#define VITTE_COMMON_JSONW_H

#include "common/textbuf.h"

#define VITTE__JSON_MAX_DEPTH 64

typedef struct vitte__jsonw {
    vitte__buf *out;
    int err;
    unsigned indent;         /* spaces per level; 0 writes compact JSON */
    unsigned depth;          /* open containers */
    unsigned compact_from;   /* depth from which no newlines are written */
    unsigned char after_key; /* a key was written, its value is due */
    unsigned char top_count; /* complete top-level values written (saturates) */
    unsigned char is_object[VITTE__JSON_MAX_DEPTH];
    unsigned char has_items[VITTE__JSON_MAX_DEPTH];
} vitte__jsonw;

/** Start writing into out.  indent: spaces per level, 0 for compact output.
 * Several top-level values are separated by newlines (JSON Lines). */
void vitte__json_init(vitte__jsonw *w, vitte__buf *out, unsigned indent);
/** The first error of the writer or its buffer, 0 if none. */
int vitte__json_error(const vitte__jsonw *w);
/** Check that every container was closed (VITTE_ESTATE otherwise); returns
 * the first error, 0 if none.  Does not flush the buffer. */
int vitte__json_finish(vitte__jsonw *w);

void vitte__json_begin_object(vitte__jsonw *w);
void vitte__json_end_object(vitte__jsonw *w);
void vitte__json_begin_array(vitte__jsonw *w);
/** An array written on one line even in indented output (short tuples, long
 * runs of numbers); containers nested in it are on that line too. */
void vitte__json_begin_array_compact(vitte__jsonw *w);
void vitte__json_end_array(vitte__jsonw *w);
/** An object written on one line even in indented output. */
void vitte__json_begin_object_compact(vitte__jsonw *w);

/** An object key; the next call must write its value. */
void vitte__json_key(vitte__jsonw *w, const char *key);
void vitte__json_key_n(vitte__jsonw *w, const char *key, size_t n);

/** A string value; NULL writes null. */
void vitte__json_string(vitte__jsonw *w, const char *s);
/** A string of n bytes (may contain NUL, written as \u0000). */
void vitte__json_string_n(vitte__jsonw *w, const char *s, size_t n);
void vitte__json_int(vitte__jsonw *w, int64_t v);
void vitte__json_uint(vitte__jsonw *w, uint64_t v);
/** Finite: shortest round-trip text; NaN, +Inf, -Inf: null. */
void vitte__json_double(vitte__jsonw *w, double v);
void vitte__json_bool(vitte__jsonw *w, int v);
void vitte__json_null(vitte__jsonw *w);
/** A value the caller has already written as valid JSON text. */
void vitte__json_raw(vitte__jsonw *w, const char *json, size_t n);

/* Key and value in one call. */
void vitte__json_kv_string(vitte__jsonw *w, const char *key, const char *s);
void vitte__json_kv_int(vitte__jsonw *w, const char *key, int64_t v);
void vitte__json_kv_uint(vitte__jsonw *w, const char *key, uint64_t v);
void vitte__json_kv_double(vitte__jsonw *w, const char *key, double v);
void vitte__json_kv_bool(vitte__jsonw *w, const char *key, int v);

/** Append the escaped form of s[0..n) without the surrounding quotes (for
 * writers that build JSON strings piecewise). */
void vitte__json_escape(vitte__buf *b, const char *s, size_t n);

#endif
