/* vitte internal: a growable char buffer that either collects text in memory
 * or streams it to a FILE in large chunks.
 *
 * Exporters produce many small pieces (a name, a label, a number); stdio's
 * per-call locking and printf's format parsing dominate such workloads, so
 * the pieces are appended here with inline fast paths and written out with
 * one fwrite() per chunk.  Integers are formatted by hand.
 *
 * Errors are sticky: the first failure (VITTE_ENOMEM, VITTE_EIO,
 * VITTE_ENOSPC) is kept in err and every later append is a no-op, so callers
 * can append freely and check once at the end.
 */
#ifndef VITTE_COMMON_TEXTBUF_H
#define VITTE_COMMON_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vitte/common.h>

/* A file-mode buffer writes out once it holds this much. */
#define VITTE__BUF_FILE_CHUNK ((size_t)64 * 1024)

/* Room needed by the vitte__fmt_* functions (plus a NUL). */
#define VITTE__FMT_U64_MAX    20
#define VITTE__FMT_DOUBLE_MAX 32

typedef struct vitte__buf {
    char *data;
    size_t len;
    size_t cap;
    FILE *sink;         /* NULL: memory mode */
    int err;            /* first error, 0 while all is well */
    unsigned char libc; /* storage from the C library's malloc, not the hooks */
} vitte__buf;

/** Memory mode, storage from the library's allocator (vitte__malloc): for
 * text that stays inside the library; free a detached string with vitte__free. */
void vitte__buf_init(vitte__buf *b);
/** Memory mode, storage from the C library's malloc: for text handed to a
 * caller who frees it with free() (see the allocator note in common.h). */
void vitte__buf_init_libc(vitte__buf *b);
/** File mode: text is written to f whenever VITTE__BUF_FILE_CHUNK bytes are
 * pending and by vitte__buf_flush(). */
void vitte__buf_init_file(vitte__buf *b, FILE *f);
/** Release the storage (does not flush). */
void vitte__buf_free(vitte__buf *b);
/** Slow path of vitte__buf_reserve(). */
int vitte__buf_grow(vitte__buf *b, size_t n);
/** Write the pending text to the sink and fflush() it.  Memory mode: no-op.
 * Returns the sticky error (0 on success). */
int vitte__buf_flush(vitte__buf *b);
/** Memory mode: the NUL-terminated text, released with free() or vitte__free()
 * according to the init function; the buffer is left empty.  NULL (and the
 * storage released) if an error occurred. */
char *vitte__buf_detach(vitte__buf *b, size_t *len);

/** Make room for n more bytes (always keeping one spare for a NUL).
 * Returns 0, or the sticky error. */
static inline int vitte__buf_reserve(vitte__buf *b, size_t n)
{
    if (b->err == 0 && b->cap - b->len > n)
        return 0;
    return vitte__buf_grow(b, n);
}

static inline void vitte__buf_append(vitte__buf *b, const void *p, size_t n)
{
    if (n != 0 && vitte__buf_reserve(b, n) == 0) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
}

static inline void vitte__buf_puts(vitte__buf *b, const char *s)
{
    vitte__buf_append(b, s, strlen(s));
}

static inline void vitte__buf_putc(vitte__buf *b, char c)
{
    if (vitte__buf_reserve(b, 1) == 0)
        b->data[b->len++] = c;
}

/** printf-style append, never truncated (for text that is not on a hot path:
 * the integer and double paths above avoid printf). */
void vitte__buf_printf(vitte__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** Forget the contents (keeps the storage and the error). */
static inline void vitte__buf_clear(vitte__buf *b)
{
    b->len = 0;
}

/* ---- number formatting (no printf on the integer paths) ----------------- */

/** Decimal digits of v into out (no NUL); returns the length (1..20). */
size_t vitte__fmt_u64(char *out, uint64_t v);
/** Shortest of %.15g, %.16g, %.17g that reads back as the same double, with
 * '.' as decimal point whatever the locale.  NaN, +Inf, -Inf are written as
 * "NaN", "+Inf", "-Inf".  NUL-terminated; returns the length. */
size_t vitte__fmt_double(char *out, double v);
/** The shortest round-trip form in the layout of Go's
 * strconv.FormatFloat(v, 'g', -1, 64), which Prometheus clients use for
 * values and for le/quantile labels: "0.005", "2.5", "1e-06", "1e+06";
 * "NaN", "+Inf", "-Inf".  NUL-terminated; returns the length. */
size_t vitte__fmt_double_go(char *out, double v);

void vitte__buf_u64(vitte__buf *b, uint64_t v);
void vitte__buf_i64(vitte__buf *b, int64_t v);
/** vitte__fmt_double() appended. */
void vitte__buf_double(vitte__buf *b, double v);
/** vitte__fmt_double_go() appended. */
void vitte__buf_double_go(vitte__buf *b, double v);

/* ---- UTF-8 ---------------------------------------------------------------- */

/** Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 if s[0]
 * does not start one (stray continuation byte, overlong form, surrogate,
 * code point above U+10FFFF, truncated sequence).  n must be >= 1. */
size_t vitte__utf8_seq_len(const unsigned char *s, size_t n);

/** The UTF-8 encoding of U+FFFD, which replaces each invalid byte. */
#define VITTE__UTF8_REPLACEMENT "\xEF\xBF\xBD"

/** Append the UTF-8 sequence at s[0..n) (n >= 1), or U+FFFD if s[0] does
 * not start a well-formed one; returns the input bytes consumed. */
size_t vitte__buf_utf8(vitte__buf *b, const unsigned char *s, size_t n);

#endif
