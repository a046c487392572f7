/* vitte internal: growable text buffer, number formatting, UTF-8 checks. */
#include "common/textbuf.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "common/alloc.h"

void vitte__buf_init(vitte__buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->sink = NULL;
    b->err = 0;
    b->libc = 0;
}

void vitte__buf_init_libc(vitte__buf *b)
{
    vitte__buf_init(b);
    b->libc = 1;
}

void vitte__buf_init_file(vitte__buf *b, FILE *f)
{
    vitte__buf_init(b);
    b->sink = f;
}

void vitte__buf_free(vitte__buf *b)
{
    if (b->libc)
        free(b->data);
    else
        vitte__free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* realloc through the allocator the buffer was made with; the hooks are
 * not asked to accept a NULL pointer. */
static char *resize(vitte__buf *b, size_t cap)
{
    if (b->libc)
        return realloc(b->data, cap);
    if (b->data == NULL)
        return vitte__malloc(cap);
    return vitte__realloc(b->data, cap);
}

static int status_from_errno(int e)
{
    return e == ENOSPC ? VITTE_ENOSPC : VITTE_EIO;
}

/* Write the pending bytes to the sink; keeps the first error. */
static int write_out(vitte__buf *b)
{
    if (b->len == 0)
        return b->err;
    errno = 0;
    size_t done = fwrite(b->data, 1, b->len, b->sink);
    if (done != b->len && b->err == 0)
        b->err = status_from_errno(errno);
    b->len = 0;
    return b->err;
}

int vitte__buf_grow(vitte__buf *b, size_t n)
{
    if (b->err != 0)
        return b->err;
    if (b->cap - b->len > n)
        return 0;
    if (b->sink != NULL && b->len != 0) {
        /* File mode: drain first; usually that makes enough room. */
        if (write_out(b) != 0)
            return b->err;
        if (b->cap > n)
            return 0;
    }
    if (n > SIZE_MAX / 2 - b->len) {
        b->err = VITTE_ENOMEM;
        return b->err;
    }
    size_t want = b->len + n + 1;
    size_t cap = b->cap != 0 ? b->cap : (b->sink != NULL ? VITTE__BUF_FILE_CHUNK : 256);
    while (cap < want)
        cap *= 2;
    char *p = resize(b, cap);
    if (p == NULL) {
        b->err = VITTE_ENOMEM;
        return b->err;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int vitte__buf_flush(vitte__buf *b)
{
    if (b->sink == NULL)
        return b->err;
    write_out(b);
    errno = 0;
    if (fflush(b->sink) != 0 && b->err == 0)
        b->err = status_from_errno(errno);
    /* A failure stdio recorded without returning it (an earlier fwrite of a
     * partial buffer) still makes the output incomplete. */
    if (b->err == 0 && ferror(b->sink))
        b->err = status_from_errno(errno);
    return b->err;
}

char *vitte__buf_detach(vitte__buf *b, size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (b->err == 0 && b->data == NULL)
        vitte__buf_grow(b, 1);
    if (b->err != 0 || b->sink != NULL) {
        vitte__buf_free(b);
        return NULL;
    }
    char *s = b->data;
    s[b->len] = '\0';
    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return s;
}

/* ---- integers ---------------------------------------------------------------- */

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

size_t vitte__fmt_u64(char *out, uint64_t v)
{
    /* Two digits per division: half the divisions of the naive loop. */
    char tmp[VITTE__FMT_U64_MAX];
    size_t i = sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        tmp[--i] = digit_pairs[2 * r + 1];
        tmp[--i] = digit_pairs[2 * r];
    }
    if (v >= 10) {
        tmp[--i] = digit_pairs[2 * v + 1];
        tmp[--i] = digit_pairs[2 * v];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    size_t n = sizeof tmp - i;
    memcpy(out, tmp + i, n);
    return n;
}

void vitte__buf_u64(vitte__buf *b, uint64_t v)
{
    if (vitte__buf_reserve(b, VITTE__FMT_U64_MAX) == 0)
        b->len += vitte__fmt_u64(b->data + b->len, v);
}

void vitte__buf_i64(vitte__buf *b, int64_t v)
{
    if (vitte__buf_reserve(b, VITTE__FMT_U64_MAX + 1) != 0)
        return;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        b->data[b->len++] = '-';
        u = 0 - u; /* well defined for INT64_MIN too */
    }
    b->len += vitte__fmt_u64(b->data + b->len, u);
}

/* ---- doubles --------------------------------------------------------------------- */

static size_t put_str(char *out, const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
}

static size_t fmt_nonfinite(char *out, double v)
{
    if (isnan(v))
        return put_str(out, "NaN");
    return put_str(out, v > 0 ? "+Inf" : "-Inf");
}

/* printf and strtod follow LC_NUMERIC, and a program may have set a locale
 * whose decimal point is ',' (or a multi-byte character).  Rewrite any run of
 * bytes that is not part of a C-locale number as a single '.'. */
static size_t fix_decimal_point(char *s)
{
    size_t r = 0, w = 0;
    while (s[r] != '\0') {
        char c = s[r];
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E') {
            s[w++] = c;
            r++;
        } else {
            s[w++] = '.';
            while (s[r] != '\0' && !((s[r] >= '0' && s[r] <= '9') || s[r] == 'e' || s[r] == 'E' ||
                                     s[r] == '-' || s[r] == '+'))
                r++;
        }
    }
    s[w] = '\0';
    return w;
}

/* An integral double below 2^53 prints exactly as its integer. */
static int small_integer(double v, double limit)
{
    return v > -limit && v < limit && v == (double)(int64_t)v;
}

static size_t fmt_integer(char *out, double v)
{
    size_t n = 0;
    if (v < 0 || (v == 0 && signbit(v))) {
        out[n++] = '-';
        v = -v;
    }
    n += vitte__fmt_u64(out + n, (uint64_t)v);
    out[n] = '\0';
    return n;
}

size_t vitte__fmt_double(char *out, double v)
{
    if (!isfinite(v))
        return fmt_nonfinite(out, v);
    /* %.15g prints every integer below 1e15 in full, so the fast path gives
     * the same text as the slow one. */
    if (small_integer(v, 1e15))
        return fmt_integer(out, v);
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, VITTE__FMT_DOUBLE_MAX, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            break;
    }
    return fix_decimal_point(out);
}

/* Shortest decimal digits of a finite v > 0 that read back as v: digits
 * d[0..n) with no trailing zero, meaning d[0].d[1]...d[n-1] x 10^*exp10. */
static size_t shortest_digits(double v, char *d, int *exp10)
{
    char tmp[48];
    /* For a normal double, a shorter round-trip form is %.15e's digits with
     * trailing zeros.  Subnormals carry fewer bits, so fewer digits than 15
     * may suffice without showing up as zeros (5e-324, not
     * 4.94065645841247e-324): search upward from 1 digit for them. */
    for (int prec = v < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    size_t nd = 0;
    const char *p = tmp;
    for (; *p != '\0' && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            d[nd++] = *p;
    int neg = 0, e = 0;
    if (*p == 'e')
        p++;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    for (; *p >= '0' && *p <= '9'; p++)
        e = e * 10 + (*p - '0');
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    *exp10 = neg ? -e : e;
    return nd;
}

size_t vitte__fmt_double_go(char *out, double v)
{
    if (!isfinite(v))
        return fmt_nonfinite(out, v);
    /* Go switches to exponent notation from 1e6 on. */
    if (small_integer(v, 1e6))
        return fmt_integer(out, v);
    char *p = out;
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    char d[24];
    int x;
    size_t nd = shortest_digits(v, d, &x);
    if (x < -4 || x >= 6) {
        /* Go's 'g' with the shortest precision decides with precision 6. */
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, d + 1, nd - 1);
            p += nd - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        unsigned ax = (unsigned)(x < 0 ? -x : x);
        if (ax < 10)
            *p++ = '0';
        p += vitte__fmt_u64(p, ax);
    } else if (x >= 0) {
        for (int i = 0; i <= x; i++)
            *p++ = (size_t)i < nd ? d[i] : '0';
        if (nd > (size_t)x + 1) {
            *p++ = '.';
            memcpy(p, d + x + 1, nd - (size_t)x - 1);
            p += nd - (size_t)x - 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x - 1; i++)
            *p++ = '0';
        memcpy(p, d, nd);
        p += nd;
    }
    *p = '\0';
    return (size_t)(p - out);
}

void vitte__buf_double(vitte__buf *b, double v)
{
    if (vitte__buf_reserve(b, VITTE__FMT_DOUBLE_MAX) == 0)
        b->len += vitte__fmt_double(b->data + b->len, v);
}

void vitte__buf_double_go(vitte__buf *b, double v)
{
    if (vitte__buf_reserve(b, VITTE__FMT_DOUBLE_MAX) == 0)
        b->len += vitte__fmt_double_go(b->data + b->len, v);
}

/* ---- UTF-8 ----------------------------------------------------------------------- */

size_t vitte__utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

size_t vitte__buf_utf8(vitte__buf *b, const unsigned char *s, size_t n)
{
    size_t len = vitte__utf8_seq_len(s, n);
    if (len == 0) {
        vitte__buf_append(b, VITTE__UTF8_REPLACEMENT, 3);
        return 1;
    }
    vitte__buf_append(b, s, len);
    return len;
}

void vitte__buf_printf(vitte__buf *b, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    /* Format in place; if it did not fit, grow to the size it needs and redo. */
    int n =
        vitte__buf_reserve(b, 64) == 0 ? vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap) : -1;
    if (n >= 0 && (size_t)n >= b->cap - b->len && vitte__buf_reserve(b, (size_t)n) == 0)
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
    if (n > 0 && b->err == 0 && (size_t)n < b->cap - b->len)
        b->len += (size_t)n;
    va_end(again);
    va_end(ap);
}
