/* Allocator hooks (vitte_set_allocator) and the internal wrappers. */
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

static void *default_malloc(size_t size, void *ud)
{
    (void)ud;
    return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return realloc(ptr, size);
}

static void default_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static vitte_allocator allocator = {default_malloc, default_realloc, default_free, NULL};

int vitte_set_allocator(const vitte_allocator *alloc)
{
    if (alloc == NULL) {
        allocator = (vitte_allocator){default_malloc, default_realloc, default_free, NULL};
        return VITTE_OK;
    }
    if (alloc->malloc_fn == NULL || alloc->realloc_fn == NULL || alloc->free_fn == NULL)
        return VITTE_EINVAL;
    allocator = *alloc;
    return VITTE_OK;
}

void *vitte__malloc(size_t size)
{
    return allocator.malloc_fn(size ? size : 1, allocator.ud);
}

void *vitte__calloc(size_t n, size_t size)
{
    if (size != 0 && n > (size_t)-1 / size)
        return NULL;
    void *p = vitte__malloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *vitte__realloc(void *ptr, size_t size)
{
    return allocator.realloc_fn(ptr, size ? size : 1, allocator.ud);
}

void vitte__free(void *ptr)
{
    if (ptr != NULL)
        allocator.free_fn(ptr, allocator.ud);
}

char *vitte__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = vitte__malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}
