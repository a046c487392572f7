/* libvitte_preload.so: the sampling profiler for unmodified programs.
 *
 *     VITTE_PROFILE=out.vittrace LD_PRELOAD=.../libvitte_preload.so ./prog
 *
 * (`vitte run --sampler signal` sets both.)  The shim carries its own copy
 * of the library (linked from the same objects, every symbol hidden), so it
 * needs no libvitte.so and does not clash with one the program links.  At
 * load it starts the timer-and-signal sampler when VITTE_PROFILE is set
 * (VITTE_PROFILE_FREQ, VITTE_PROFILE_WALL=1, VITTE_PROFILE_PID refine it;
 * "%p" in the path is the process id), and it stops it at exit, which
 * symbolizes and completes the file.
 *
 * Exported:
 *   pthread_create   interposed so that each new thread arms its timer first
 *                    thing, with exact stack bounds (the sampler's rescan of
 *                    /proc/self/task would find it too, up to 50 ms later);
 *   _exit, _Exit     interposed so that a program ending that way (shells
 *                    do) still completes its file: the sampler's writer
 *                    writes what is left and the END marker (async-signal-
 *                    safe: the writer does the work; no symbolization,
 *                    readers symbolize from the recorded modules);
 *   vitte_preload_profiling()  by which a libvitte in the same process
 *                    knows that the shim profiles (and leaves VITTE_PROFILE
 *                    to it). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prof/sigprof.h"

#define SHIM_API __attribute__((visibility("default")))

/* profiler.c looks for it to know that it runs in the shim. */
const int vitte__preload_shim = 1;

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static _Atomic(create_fn) g_real_create;

static create_fn real_create(void)
{
    create_fn f = atomic_load_explicit(&g_real_create, memory_order_acquire);
    if (f == NULL) {
        void *p = dlsym(RTLD_NEXT, "pthread_create");
        memcpy(&f, &p, sizeof f);
        atomic_store_explicit(&g_real_create, f, memory_order_release);
    }
    return f;
}

struct start {
    void *(*fn)(void *);
    void *arg;
};

static void *trampoline(void *p)
{
    struct start st = *(struct start *)p;
    free(p);
    vitte__sigprof_thread_begin();
    return st.fn(st.arg);
}

SHIM_API int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                            void *arg);

SHIM_API int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                            void *arg)
{
    create_fn create = real_create();
    if (create == NULL)
        return EAGAIN;
    /* Not profiling (or the sampler's own writer): nothing to add. */
    if (vitte__sigprof_is_own_thread(fn) || vitte__sigprof_active() == NULL)
        return create(thread, attr, fn, arg);
    struct start *st = malloc(sizeof *st);
    if (st == NULL)
        return create(thread, attr, fn, arg);
    st->fn = fn;
    st->arg = arg;
    int rc = create(thread, attr, trampoline, st);
    if (rc != 0)
        free(st);
    return rc;
}

/* _exit and _Exit: the real one is looked up at load (dlsym is not
 * async-signal-safe; _exit must be). */
typedef void (*exit_fn)(int);
static exit_fn g_real_exit;

__attribute__((noreturn)) static void real_exit(int status)
{
    if (g_real_exit != NULL)
        g_real_exit(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

SHIM_API void _exit(int status)
{
    vitte__sigprof_exit_now();
    real_exit(status);
}

SHIM_API void _Exit(int status)
{
    vitte__sigprof_exit_now();
    real_exit(status);
}

SHIM_API int vitte_preload_profiling(void);

SHIM_API int vitte_preload_profiling(void)
{
    return vitte__sigprof_active() != NULL;
}

__attribute__((constructor)) static void preload_init(void)
{
    real_create();
    void *p = dlsym(RTLD_NEXT, "_exit");
    memcpy(&g_real_exit, &p, sizeof g_real_exit);
    vitte__profiler_from_env();
}
