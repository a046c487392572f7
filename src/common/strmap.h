/* A string-keyed hash map (open addressing, linear probing).  Keys are
 * byte strings with a length (they may hold NUL); the map copies them. */
#ifndef VITTE_COMMON_STRMAP_H
#define VITTE_COMMON_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct vitte__strmap_slot {
    char *key;
    size_t len;
    uint64_t hash;
    void *value;
};

struct vitte__strmap {
    struct vitte__strmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
};

uint64_t vitte__hash(const void *data, size_t len);
void vitte__strmap_init(struct vitte__strmap *m);
void vitte__strmap_fini(struct vitte__strmap *m);
void *vitte__strmap_get(const struct vitte__strmap *m, const char *key, size_t len);
/* Insert a new key (must not be present).  Returns 0 or VITTE_ENOMEM. */
int vitte__strmap_put(struct vitte__strmap *m, const char *key, size_t len, void *value);

#endif
