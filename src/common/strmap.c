#include "common/strmap.h"

#include <string.h>
#include <vitte/common.h>

#include "common/alloc.h"

/* FNV-1a, 64 bits: short keys, no adversary to worry about here. */
uint64_t vitte__hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void vitte__strmap_init(struct vitte__strmap *m)
{
    memset(m, 0, sizeof *m);
}

void vitte__strmap_fini(struct vitte__strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        vitte__free(m->slots[i].key);
    vitte__free(m->slots);
    memset(m, 0, sizeof *m);
}

static struct vitte__strmap_slot *find(const struct vitte__strmap *m, const char *key, size_t len,
                                       uint64_t h)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct vitte__strmap_slot *s = &m->slots[i];
        if (s->key == NULL || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

void *vitte__strmap_get(const struct vitte__strmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return NULL;
    struct vitte__strmap_slot *s = find(m, key, len, vitte__hash(key, len));
    return s->key != NULL ? s->value : NULL;
}

static int grow(struct vitte__strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct vitte__strmap_slot *slots = vitte__calloc(cap, sizeof *slots);
    if (slots == NULL)
        return VITTE_ENOMEM;
    struct vitte__strmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key != NULL)
            *find(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash) = old.slots[i];
    vitte__free(old.slots);
    return VITTE_OK;
}

int vitte__strmap_put(struct vitte__strmap *m, const char *key, size_t len, void *value)
{
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) != VITTE_OK)
        return VITTE_ENOMEM;
    char *k = vitte__malloc(len + 1);
    if (k == NULL)
        return VITTE_ENOMEM;
    memcpy(k, key, len);
    k[len] = '\0';
    uint64_t h = vitte__hash(key, len);
    *find(m, key, len, h) = (struct vitte__strmap_slot){k, len, h, value};
    m->n++;
    return VITTE_OK;
}
