/* vitte: common definitions shared by every public header.
 *
 * Status codes, export macros, allocator hooks.  Conventions that hold for the
 * whole API unless a declaration says otherwise (see docs/design.md):
 *   - functions return VITTE_OK (0) or a negative vitte_status;
 *   - out-parameters come last and are set to NULL/0 on error;
 *   - destroy functions accept NULL;
 *   - the library never prints, aborts or exits on input a caller controls;
 *   - nothing is async-signal-safe unless its comment says "Signals: AS-safe".
 */
#ifndef VITTE_COMMON_H
#define VITTE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define VITTE_BEGIN_DECLS extern "C" {
#define VITTE_END_DECLS   }
#else
#define VITTE_BEGIN_DECLS
#define VITTE_END_DECLS
#endif

#if defined(_WIN32)
#if defined(VITTE_STATIC)
#define VITTE_API
#elif defined(VITTE_BUILDING)
#define VITTE_API __declspec(dllexport)
#else
#define VITTE_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define VITTE_API __attribute__((visibility("default")))
#else
#define VITTE_API
#endif

#if defined(__GNUC__)
#define VITTE_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define VITTE_DEPRECATED(msg)
#endif

#define VITTE__CAT2(a, b) a##b
#define VITTE__CAT(a, b)  VITTE__CAT2(a, b)

VITTE_BEGIN_DECLS

/* The one list of status codes.  Append only: a retired code keeps its slot. */
#define VITTE_STATUS_MAP(X)                                                                        \
    X(OK, 0, "success")                                                                            \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EFORMAT, -3, "malformed or unsupported data")                                                \
    X(EPERM, -4, "permission denied")                                                              \
    X(ENOTSUP, -5, "not supported on this platform")                                               \
    X(EEXIST, -6, "name already registered with another type or configuration")                    \
    X(ERANGE, -7, "value out of range")                                                            \
    X(ELIMIT, -8, "limit reached (too many series or entries)")                                    \
    X(EIO, -9, "input/output error")                                                               \
    X(ENOENT, -10, "no such file, name or entry")                                                  \
    X(ESTATE, -11, "call not valid in the current state")                                          \
    X(ECLOCK, -12, "clock unusable (calibration failed)")                                          \
    X(ETRUNCATED, -13, "data ends before it is complete")                                          \
    X(ENOSPC, -14, "no space left on device")

typedef enum vitte_status {
#define VITTE__STATUS_ENUM(name, value, text) VITTE_##name = (value),
    VITTE_STATUS_MAP(VITTE__STATUS_ENUM)
#undef VITTE__STATUS_ENUM
} vitte_status;

/** Text for a status code.
 * Returns:   a static string, never NULL ("unknown status" for codes not in the list).
 * Signals:   AS-safe.
 */
VITTE_API const char *vitte_strerror(int status);

/** Name of a status code, e.g. "VITTE_EINVAL" (static, never NULL). Signals: AS-safe. */
VITTE_API const char *vitte_status_name(int status);

/* Allocator hooks.  Every allocation the library makes for its own objects
 * goes through these.  Strings returned to the caller "to free with free()"
 * are always allocated with the C library's malloc, whatever is set here. */
typedef struct vitte_allocator {
    void *(*malloc_fn)(size_t size, void *ud);
    void *(*realloc_fn)(void *ptr, size_t size, void *ud);
    void (*free_fn)(void *ptr, void *ud);
    void *ud;
} vitte_allocator;

/** Replace the allocator (NULL restores malloc/realloc/free).
 * Threads:   call before any other vitte function, while no vitte object exists.
 */
VITTE_API int vitte_set_allocator(const vitte_allocator *alloc);

VITTE_END_DECLS

#endif /* VITTE_COMMON_H */
