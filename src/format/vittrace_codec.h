/* The .vittrace layout (docs/formats/vittrace.md): constants and the
 * varint, zigzag and CRC helpers shared by the writer and the reader. */
#ifndef VITTE_FORMAT_VITTRACE_CODEC_H
#define VITTE_FORMAT_VITTRACE_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VITTE__VT_MAGIC        "VITTRACE"
#define VITTE__VT_CHUNK_MAGIC  "VCHK"
#define VITTE__VT_MAJOR        1
#define VITTE__VT_MINOR        1
#define VITTE__VT_HEADER_SIZE  64
#define VITTE__VT_CHUNK_HEADER 24
#define VITTE__VT_MAX_PAYLOAD  (64u << 20)
#define VITTE__VT_FLAG_TSC     1u

enum {
    VITTE__CH_INFO = 1,
    VITTE__CH_STRINGS = 2,
    VITTE__CH_SITES = 3,
    VITTE__CH_THREAD = 4,
    VITTE__CH_EVENTS = 5,
    VITTE__CH_STATS = 6,
    VITTE__CH_END = 7,
    /* 1.1: sampled call stacks */
    VITTE__CH_MAPPINGS = 8,
    VITTE__CH_LOCATIONS = 9,
    VITTE__CH_STACKS = 10,
    VITTE__CH_SAMPLES = 11,
    VITTE__CH_SYMBOLS = 12,
    VITTE__CH_LAST = 12
};

enum { VITTE__COMP_NONE = 0, VITTE__COMP_ZSTD = 1 };

enum {
    VITTE__EV_SPAN = 1,
    VITTE__EV_INSTANT = 2,
    VITTE__EV_COUNTER = 3,
    VITTE__EV_ASYNC_BEGIN = 4,
    VITTE__EV_ASYNC_END = 5,
    VITTE__EV_FLOW_BEGIN = 6,
    VITTE__EV_FLOW_STEP = 7,
    VITTE__EV_FLOW_END = 8,
    VITTE__EV_ARG = 9,
    VITTE__EV_SPAN_DROP = 10
};

enum { VITTE__ARG_TARGET_SPAN = 0, VITTE__ARG_TARGET_PREV = 1 };

/* CRC-32 (zlib's) of n bytes. */
uint32_t vitte__crc32(const void *data, size_t n);

static inline void vitte__put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void vitte__put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void vitte__put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t vitte__get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t vitte__get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t vitte__get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t vitte__zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t vitte__unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Write a varint at p (room for 10 bytes needed); returns the bytes written. */
static inline size_t vitte__put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Read a varint from [*p, end): 0 and *p advanced, or -1 if malformed or cut. */
static inline int vitte__get_varint(const unsigned char **p, const unsigned char *end,
                                    uint64_t *out)
{
    uint64_t v = 0;
    const unsigned char *q = *p;
    *out = 0; /* defined on failure too (and compilers can see it is) */
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (q == end)
            return -1;
        unsigned char b = *q++;
        if (shift == 63 && b > 1)
            return -1; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *p = q;
            *out = v;
            return 0;
        }
    }
    return -1;
}

#endif
