#include <zlib.h>

#include "format/vittrace_codec.h"

uint32_t vitte__crc32(const void *data, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *p = data;
    while (n > 0) { /* zlib takes uInt lengths */
        uInt part = n > 0x40000000u ? 0x40000000u : (uInt)n;
        c = crc32(c, p, part);
        p += part;
        n -= part;
    }
    return (uint32_t)c;
}
