/* Internal allocation through the hooks of vitte_set_allocator(). */
#ifndef VITTE_COMMON_ALLOC_H
#define VITTE_COMMON_ALLOC_H

#include <stddef.h>
#include <vitte/common.h>

void *vitte__malloc(size_t size);
void *vitte__calloc(size_t n, size_t size); /* zeroed; checks n * size for overflow */
void *vitte__realloc(void *ptr, size_t size);
void vitte__free(void *ptr);
char *vitte__strdup(const char *s);

/* Debug-only invariant check: compiled out unless VITTE_DEBUG is defined. */
#ifdef VITTE_DEBUG
#include <assert.h>
#define VITTE_ASSERT(x) assert(x)
#else
#define VITTE_ASSERT(x) ((void)0)
#endif

#endif
