/* vitte_profiler_start/stop (profiler.h) and VITTE_PROFILE.
 *
 * The sampler itself is sigprof.c.  This file adds the public handle, "%p"
 * in paths, and profiling with no code: VITTE_PROFILE=path in the
 * environment starts a profiler when the library (or the preload shim) is
 * loaded, and an atexit handler stops it.
 *
 * The library and the shim are two copies of this code.  When both are in
 * a process (a program linked with libvitte run under the shim), the shim
 * profiles and the library's copy stands aside: the shim exports one symbol,
 * vitte_preload_profiling(), that the library looks for. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vitte/profiler.h>

#include "common/alloc.h"
#include "prof/sigprof.h"

struct vitte_profiler {
    vitte__sigprof *sp;
};

/* Defined (hidden) by the shim's preload.c only: in libvitte it stays
 * undefined, so its address is NULL. */
extern const int vitte__preload_shim __attribute__((weak, visibility("hidden")));

static int in_shim(void)
{
    return &vitte__preload_shim != NULL;
}

/* Is the preload shim loaded in this process and profiling?  (Asked by the
 * library's copy only.) */
static int shim_profiling(void)
{
    if (in_shim())
        return 0;
    int (*f)(void);
    void *p = dlsym(RTLD_DEFAULT, "vitte_preload_profiling");
    memcpy(&f, &p, sizeof f);
    return f != NULL && f();
}

static int shim_present(void)
{
    return !in_shim() && dlsym(RTLD_DEFAULT, "vitte_preload_profiling") != NULL;
}

/* path with each "%p" replaced by the process id. */
static int expand_path(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            int n = snprintf(out + o, cap - o, "%d", (int)getpid());
            if (n < 0 || (size_t)n >= cap - o)
                return VITTE_ERANGE;
            o += (size_t)n;
            p++;
        } else {
            if (o + 1 >= cap)
                return VITTE_ERANGE;
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return VITTE_OK;
}

static int start(const char *path, const vitte_profiler_options *uopt, int symbolize,
                 vitte_profiler **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return VITTE_EINVAL;
    vitte_profiler_options opt;
    memset(&opt, 0, sizeof opt);
    opt.struct_size = sizeof opt;
    if (uopt != NULL) {
        if (uopt->struct_size < sizeof(size_t) || uopt->struct_size > sizeof opt)
            return VITTE_EINVAL;
        memcpy(&opt, uopt, uopt->struct_size);
    }
    if (opt.freq_hz > 100000)
        return VITTE_EINVAL;
    if (shim_profiling())
        return VITTE_ESTATE;
    char full[4096];
    int rc = expand_path(path, full, sizeof full);
    if (rc != VITTE_OK)
        return VITTE_EINVAL;
    vitte_profiler *p = vitte__calloc(1, sizeof *p);
    if (p == NULL)
        return VITTE_ENOMEM;
    vitte__sigprof_options so;
    memset(&so, 0, sizeof so);
    so.path = full;
    so.freq_hz = opt.freq_hz;
    so.wall = opt.wall != 0;
    so.catch_signals = 1;
    so.symbolize = symbolize;
    so.sampler = "signal";
    char err[256];
    rc = vitte__sigprof_start(&so, &p->sp, err);
    if (rc != VITTE_OK) {
        vitte__free(p);
        /* The header promises VITTE_EIO for a file that cannot be created. */
        return rc == VITTE_EPERM || rc == VITTE_ENOENT ? VITTE_EIO : rc;
    }
    *out = p;
    return VITTE_OK;
}

int vitte_profiler_start(const char *path, const vitte_profiler_options *opt, vitte_profiler **out)
{
    return start(path, opt, 1, out);
}

int vitte_profiler_stop(vitte_profiler *p)
{
    if (p == NULL)
        return VITTE_EINVAL;
    int rc = vitte__sigprof_stop(p->sp);
    vitte__free(p);
    return rc;
}

/* ---- VITTE_PROFILE ------------------------------------------------------------------- */

static vitte_profiler *g_auto;
static int g_atexit;

static void auto_fork_child(void);

static void auto_stop(void)
{
    vitte_profiler *p = g_auto;
    g_auto = NULL;
    if (p != NULL)
        vitte_profiler_stop(p);
}

/* VITTE_PROFILE_FREQ (Hz) and VITTE_PROFILE_WALL=1 refine it;
 * VITTE_PROFILE_PID (set by `vitte run`) names the one process meant, when
 * the path has no %p. */
static void auto_start(int after_fork)
{
    const char *env = getenv("VITTE_PROFILE");
    if (env == NULL || env[0] == '\0')
        return;
    int per_process = strstr(env, "%p") != NULL;
    if (after_fork && !per_process)
        return;
    const char *want_pid = getenv("VITTE_PROFILE_PID");
    if (!per_process && want_pid != NULL && want_pid[0] != '\0' &&
        strtol(want_pid, NULL, 10) != (long)getpid())
        return;
    vitte_profiler_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    const char *freq = getenv("VITTE_PROFILE_FREQ");
    if (freq != NULL && freq[0] != '\0') {
        char *end;
        unsigned long f = strtoul(freq, &end, 10);
        if (*end == '\0' && f > 0 && f <= 100000)
            o.freq_hz = (uint32_t)f;
    }
    const char *wall = getenv("VITTE_PROFILE_WALL");
    o.wall = wall != NULL && strcmp(wall, "1") == 0;
    char path[4096];
    snprintf(path, sizeof path, "%s", env);
    g_auto = NULL;
    if (start(path, &o, 1, &g_auto) != VITTE_OK)
        return;
    if (!g_atexit) {
        atexit(auto_stop);
        g_atexit = 1;
    }
    if (per_process)
        vitte__sigprof_set_fork_child_hook(auto_fork_child);
    /* Without %p the file is this process's alone: programs it starts must
     * not inherit VITTE_PROFILE and write over it.  (With %p each gets a
     * file of its own.)  Done once, at load, before main. */
    if (!per_process && !after_fork)
        unsetenv("VITTE_PROFILE");
}

static void auto_fork_child(void)
{
    /* The parent's handle is not valid here (its sampler is the parent's);
     * atexit(auto_stop) is inherited and stops the child's own. */
    g_auto = NULL;
    auto_start(1);
}

void vitte__profiler_from_env(void)
{
    auto_start(0);
}

__attribute__((constructor)) static void profile_from_environment(void)
{
    /* In the shim, preload.c calls vitte__profiler_from_env(); in the
     * library, nothing is done when the shim is there to do it. */
    if (in_shim() || shim_present())
        return;
    vitte__profiler_from_env();
}
