/* `vitte bench`: a small JSON reader, for --baseline files (a previous
 * --export-json of vitte bench, or of hyperfine).
 *
 * RFC 8259 as a tree: numbers as doubles, strings decoded to UTF-8 (\u
 * escapes and surrogate pairs included), nesting limited to 64 levels. */
#include "bench_common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct parser {
    const char *p, *end, *start;
    char *err;
    size_t err_len;
    int failed;
};

static void fail(struct parser *ps, const char *what)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    size_t line = 1;
    for (const char *q = ps->start; q < ps->p && q < ps->end; q++)
        line += *q == '\n';
    snprintf(ps->err, ps->err_len, "line %zu: %s", line, what);
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static void free_value(struct bjson *v)
{
    free(v->string);
    for (size_t i = 0; i < v->n; i++) {
        free_value(&v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

void bjson_free(struct bjson *v)
{
    if (v == NULL)
        return;
    free_value(v);
    free(v);
}

const struct bjson *bjson_get(const struct bjson *obj, const char *key)
{
    if (obj == NULL || obj->type != BJSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote.  The decoded string is never longer than the text. */
static char *parse_string(struct parser *ps)
{
    const char *q = ++ps->p;
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    char *s = malloc((size_t)(q - ps->p) + 1), *o = s;
    if (s == NULL) {
        fail(ps, "out of memory");
        return NULL;
    }
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            fail(ps, "control character in a string");
            goto bad;
        }
        if (c != '\\') {
            *o++ = (char)c;
            ps->p++;
            continue;
        }
        char e = ps->p[1];
        ps->p += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            *o++ = e;
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (q - ps->p < 4 || hex4(ps->p, &cp) != 0) {
                fail(ps, "bad \\u escape");
                goto bad;
            }
            ps->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && q - ps->p >= 6 && ps->p[0] == '\\' &&
                ps->p[1] == 'u' && hex4(ps->p + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                ps->p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate */
            }
            if (cp == 0) {
                fail(ps, "NUL in a string");
                goto bad;
            }
            o += put_utf8(o, cp);
            break;
        }
        default:
            fail(ps, "bad escape in a string");
            goto bad;
        }
    }
    *o = '\0';
    ps->p = q + 1;
    return s;
bad:
    free(s);
    return NULL;
}

static int parse_value(struct parser *ps, struct bjson *v, int depth);

/* Appends one element (and its key) to an array or object under construction. */
static struct bjson *grow(struct parser *ps, struct bjson *v, size_t *cap, char *key)
{
    if (v->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        struct bjson *items = realloc(v->items, nc * sizeof *items);
        if (items == NULL) {
            fail(ps, "out of memory");
            free(key);
            return NULL;
        }
        v->items = items;
        if (v->type == BJSON_OBJECT) {
            char **keys = realloc(v->keys, nc * sizeof *keys);
            if (keys == NULL) {
                fail(ps, "out of memory");
                free(key);
                return NULL;
            }
            v->keys = keys;
        }
        *cap = nc;
    }
    struct bjson *e = &v->items[v->n];
    memset(e, 0, sizeof *e);
    if (v->type == BJSON_OBJECT)
        v->keys[v->n] = key;
    v->n++;
    return e;
}

static int parse_container(struct parser *ps, struct bjson *v, int depth)
{
    const char close = *ps->p == '[' ? ']' : '}';
    size_t cap = 0;
    v->type = close == ']' ? BJSON_ARRAY : BJSON_OBJECT;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (v->type == BJSON_OBJECT) {
            if (ps->p >= ps->end || *ps->p != '"') {
                fail(ps, "expected a member name");
                return -1;
            }
            if ((key = parse_string(ps)) == NULL)
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                fail(ps, "expected ':'");
                return -1;
            }
            ps->p++;
        }
        struct bjson *e = grow(ps, v, &cap, key);
        if (e == NULL || parse_value(ps, e, depth + 1) != 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        fail(ps, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
        return -1;
    }
}

static int parse_number(struct parser *ps, struct bjson *v)
{
    const char *q = ps->p;
    char buf[64];
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || *q < '0' || *q > '9') {
        fail(ps, "unexpected character");
        return -1;
    }
    while (q < ps->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' ||
                           *q == '+' || *q == '-'))
        q++;
    size_t len = (size_t)(q - ps->p);
    if (len >= sizeof buf) {
        fail(ps, "number too long");
        return -1;
    }
    memcpy(buf, ps->p, len);
    buf[len] = '\0';
    char *end;
    v->type = BJSON_NUMBER;
    v->number = strtod(buf, &end);
    if (*end != '\0') {
        fail(ps, "malformed number");
        return -1;
    }
    ps->p = q;
    return 0;
}

static int parse_literal(struct parser *ps, struct bjson *v, const char *word, enum bjson_type t)
{
    size_t len = strlen(word);
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0) {
        fail(ps, "unexpected character");
        return -1;
    }
    ps->p += len;
    v->type = t;
    return 0;
}

static int parse_value(struct parser *ps, struct bjson *v, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(ps, "nested too deeply");
        return -1;
    }
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of the file");
        return -1;
    }
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_container(ps, v, depth);
    case '"':
        v->type = BJSON_STRING;
        return (v->string = parse_string(ps)) != NULL ? 0 : -1;
    case 't':
        return parse_literal(ps, v, "true", BJSON_TRUE);
    case 'f':
        return parse_literal(ps, v, "false", BJSON_FALSE);
    case 'n':
        return parse_literal(ps, v, "null", BJSON_NULL);
    default:
        return parse_number(ps, v);
    }
}

struct bjson *bjson_parse(const char *text, size_t len, char *err, size_t err_len)
{
    struct parser ps = {text, text + len, text, err, err_len, 0};
    struct bjson *v = calloc(1, sizeof *v);
    if (v == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    if (parse_value(&ps, v, 0) == 0) {
        skip_ws(&ps);
        if (ps.p == ps.end)
            return v;
        fail(&ps, "text after the value");
    }
    bjson_free(v);
    return NULL;
}
