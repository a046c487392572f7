/* One process' figures from /proc/PID: stat, status, io, fd/, limits and
 * smaps_rollup, each kept open and re-read with pread().  For the calling
 * process getrusage() replaces status (whole-process context switches, and
 * CPU times in microseconds rather than 10 ms ticks). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vitte/clock.h>

#include "common/alloc.h"
#include "system/system_internal.h"

struct vitte_proc {
    int pid;
    int self; /* the calling process: getrusage/getrlimit where they are better */
    unsigned flags;
    struct vitte__pfile stat, status, io, limits, smaps;
    int fd_dir; /* /proc/PID/fd, or -1 */
    /* the previous sample, for cpu_percent */
    int have_prev;
    uint64_t prev_ns;
    double prev_cpu;
};

int vitte_proc_pid(const vitte_proc *p)
{
    return p != NULL ? p->pid : 0;
}

void vitte_proc_close(vitte_proc *p)
{
    if (p == NULL)
        return;
    vitte__pfile_close(&p->stat);
    vitte__pfile_close(&p->status);
    vitte__pfile_close(&p->io);
    vitte__pfile_close(&p->limits);
    vitte__pfile_close(&p->smaps);
    if (p->fd_dir >= 0)
        close(p->fd_dir);
    vitte__free(p);
}

/* Open an optional file: a refusal (EACCES) or absence leaves it closed;
 * only running out of memory is an error. */
static int open_optional(struct vitte__pfile *f, int dirfd, const char *name, size_t cap)
{
    int rc = vitte__pfile_openat(f, dirfd, name, cap);
    return rc == VITTE_ENOMEM ? rc : VITTE_OK;
}

int vitte_proc_open(int pid, unsigned flags, vitte_proc **out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    *out = NULL;
    if (pid < 0 || (flags & ~(unsigned)VITTE_PROC_ALL) != 0)
        return VITTE_EINVAL;
    if (flags == 0)
        flags = VITTE_PROC_DEFAULT;
    flags |= VITTE_PROC_STAT;

    vitte_proc *p = vitte__calloc(1, sizeof *p);
    if (p == NULL)
        return VITTE_ENOMEM;
    struct vitte__pfile closed = VITTE__PFILE_INIT;
    p->stat = p->status = p->io = p->limits = p->smaps = closed;
    p->fd_dir = -1;
    p->self = pid == 0 || pid == (int)getpid();
    p->pid = p->self ? (int)getpid() : pid;
    p->flags = flags;

    char path[64];
    snprintf(path, sizeof path, "/proc/%d", p->pid);
    int dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        int err = errno;
        vitte__free(p);
        if (err == ENOENT && access("/proc/self/stat", R_OK) != 0)
            return VITTE_ENOTSUP; /* no /proc at all */
        return vitte__sys_status(err);
    }
    int rc = vitte__pfile_openat(&p->stat, dirfd, "stat", 512);
    if (rc == VITTE_OK && (flags & VITTE_PROC_STATUS) && !p->self)
        rc = open_optional(&p->status, dirfd, "status", 2048);
    if (rc == VITTE_OK && (flags & VITTE_PROC_IO))
        rc = open_optional(&p->io, dirfd, "io", 256);
    if (rc == VITTE_OK && (flags & VITTE_PROC_LIMITS) && !p->self)
        rc = open_optional(&p->limits, dirfd, "limits", 2048);
    if (rc == VITTE_OK && (flags & VITTE_PROC_PSS))
        rc = open_optional(&p->smaps, dirfd, "smaps_rollup", 1024);
    if (rc == VITTE_OK && (flags & VITTE_PROC_FDS))
        p->fd_dir = openat(dirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dirfd);
    if (rc != VITTE_OK) {
        vitte_proc_close(p);
        return rc;
    }
    *out = p;
    return VITTE_OK;
}

/* ---- parsers ---------------------------------------------------------------------- */

/* /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and
 * parentheses, so fields are counted from the last ')'. */
static int parse_stat(const char *buf, vitte_proc_sample *s, uint64_t *ticks_user,
                      uint64_t *ticks_sys, uint64_t *ticks_start)
{
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return VITTE_EFORMAT;
    p++;
    vitte__skip_fields(&p, 7);              /* state ppid pgrp session tty_nr tpgid flags (3..9) */
    s->minor_faults = vitte__parse_u64(&p); /* 10 minflt */
    vitte__skip_fields(&p, 1);              /* 11 cminflt */
    s->major_faults = vitte__parse_u64(&p); /* 12 majflt */
    vitte__skip_fields(&p, 1);              /* 13 cmajflt */
    *ticks_user = vitte__parse_u64(&p);     /* 14 utime */
    *ticks_sys = vitte__parse_u64(&p);      /* 15 stime */
    vitte__skip_fields(&p, 4);              /* 16 cutime 17 cstime 18 priority 19 nice */
    s->threads = vitte__parse_u64(&p);      /* 20 num_threads */
    vitte__skip_fields(&p, 1);              /* 21 itrealvalue */
    uint64_t start = vitte__parse_u64(&p);  /* 22 starttime, ticks after boot */
    s->vsize_bytes = vitte__parse_u64(&p);  /* 23 vsize, bytes */
    uint64_t rss = vitte__parse_u64(&p);    /* 24 rss, pages */
    if (*p != ' ')
        return VITTE_EFORMAT; /* cut short: not the format we know */
    long tck = vitte__sys_clk_tck();
    s->rss_bytes = rss * (uint64_t)vitte__sys_page_size();
    s->start_time = (double)vitte__sys_btime() + (double)start / (double)tck;
    *ticks_start = start;
    return VITTE_OK;
}

static int count_fds(int fd, uint64_t *out)
{
    /* Since Linux 6.2 the size of /proc/PID/fd is the number of open
     * descriptors: one fstat() instead of listing them. */
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        *out = (uint64_t)st.st_size;
        return VITTE_OK;
    }
    /* Older kernels: getdents64 straight into a stack buffer (no DIR, no
     * allocation). */
    _Alignas(8) char buf[4096];
    uint64_t n = 0;
    if (lseek(fd, 0, SEEK_SET) < 0)
        return vitte__sys_status(errno);
    for (;;) {
        ssize_t r = getdents64(fd, buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return vitte__sys_status(errno);
        }
        if (r == 0)
            break;
        for (size_t off = 0; off < (size_t)r;) {
            struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
            if (d->d_name[0] != '.')
                n++;
            off += d->d_reclen;
        }
    }
    *out = n;
    return VITTE_OK;
}

static uint64_t parse_max_open_files(const char *buf, int *ok)
{
    const char *p = strstr(buf, "Max open files");
    *ok = 0;
    if (p == NULL)
        return 0;
    p += strlen("Max open files");
    while (*p == ' ')
        p++;
    *ok = 1;
    if (strncmp(p, "unlimited", 9) == 0)
        return UINT64_MAX;
    if (*p < '0' || *p > '9') {
        *ok = 0;
        return 0;
    }
    return vitte__parse_u64(&p);
}

/* Seconds since boot from /proc/uptime (10 ms precision, unlike btime's
 * whole seconds), or -1. */
static double uptime_seconds(void)
{
    struct vitte__pfile f;
    double up = -1;
    if (vitte__pfile_open(&f, "/proc/uptime", 128) != VITTE_OK)
        return up;
    if (vitte__pfile_read(&f, NULL) == VITTE_OK) {
        const char *q = f.buf;
        up = vitte__parse_decimal(&q);
    }
    vitte__pfile_close(&f);
    return up;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

int vitte_proc_sample_read(vitte_proc *p, vitte_proc_sample *out)
{
    if (out == NULL)
        return VITTE_EINVAL;
    memset(out, 0, sizeof *out);
    if (p == NULL)
        return VITTE_EINVAL;

    int rc = vitte__pfile_read(&p->stat, NULL);
    if (rc != VITTE_OK)
        return rc; /* ESRCH (VITTE_ENOENT): the process is gone */
    out->time_ns = vitte_now_ns();
    out->pid = p->pid;
    uint64_t tu = 0, ts = 0, start = 0;
    rc = parse_stat(p->stat.buf, out, &tu, &ts, &start);
    if (rc != VITTE_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->valid |= VITTE_PROC_STAT;
    double tck = (double)vitte__sys_clk_tck();
    out->user_seconds = (double)tu / tck;
    out->system_seconds = (double)ts / tck;

    if (p->self) {
        /* The whole process, in microseconds, and its context switches. */
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) {
            out->user_seconds = tv_seconds(ru.ru_utime);
            out->system_seconds = tv_seconds(ru.ru_stime);
            out->minor_faults = (uint64_t)ru.ru_minflt;
            out->major_faults = (uint64_t)ru.ru_majflt;
            if (p->flags & VITTE_PROC_STATUS) {
                out->voluntary_ctxt_switches = (uint64_t)ru.ru_nvcsw;
                out->involuntary_ctxt_switches = (uint64_t)ru.ru_nivcsw;
                out->valid |= VITTE_PROC_STATUS;
            }
        }
        struct rlimit rl;
        if ((p->flags & VITTE_PROC_LIMITS) && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
            out->valid |= VITTE_PROC_LIMITS;
        }
    } else if (vitte__pfile_is_open(&p->status) &&
               vitte__pfile_read(&p->status, NULL) == VITTE_OK) {
        /* The last two lines of the file: strstr() runs through the rest
         * faster than a line-by-line walk. */
        const char *v = strstr(p->status.buf, "\nvoluntary_ctxt_switches:");
        const char *nv = strstr(p->status.buf, "\nnonvoluntary_ctxt_switches:");
        int f1 = v != NULL, f2 = nv != NULL;
        if (f1) {
            v += strlen("\nvoluntary_ctxt_switches:");
            out->voluntary_ctxt_switches = vitte__parse_u64(&v);
        }
        if (f2) {
            nv += strlen("\nnonvoluntary_ctxt_switches:");
            out->involuntary_ctxt_switches = vitte__parse_u64(&nv);
        }
        if (f1 && f2)
            out->valid |= VITTE_PROC_STATUS;
    }

    if (vitte__pfile_is_open(&p->io) && vitte__pfile_read(&p->io, NULL) == VITTE_OK) {
        int f1, f2, f3, f4;
        out->io_rchar = vitte__field_u64(p->io.buf, "rchar:", &f1);
        out->io_wchar = vitte__field_u64(p->io.buf, "wchar:", &f2);
        out->io_read_bytes = vitte__field_u64(p->io.buf, "read_bytes:", &f3);
        out->io_write_bytes = vitte__field_u64(p->io.buf, "write_bytes:", &f4);
        if (f1 && f2 && f3 && f4)
            out->valid |= VITTE_PROC_IO;
    }

    if (p->fd_dir >= 0 && count_fds(p->fd_dir, &out->open_fds) == VITTE_OK)
        out->valid |= VITTE_PROC_FDS;

    if (!p->self && (p->flags & VITTE_PROC_LIMITS)) {
        /* prlimit() reads it in a system call where permitted (same user,
         * or CAP_SYS_RESOURCE); the text of limits costs ten times more. */
        struct rlimit rl;
        if (prlimit(p->pid, RLIMIT_NOFILE, NULL, &rl) == 0) {
            out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
            out->valid |= VITTE_PROC_LIMITS;
        } else if (vitte__pfile_is_open(&p->limits) &&
                   vitte__pfile_read(&p->limits, NULL) == VITTE_OK) {
            int ok;
            out->max_fds = parse_max_open_files(p->limits.buf, &ok);
            if (ok)
                out->valid |= VITTE_PROC_LIMITS;
        }
    }

    if (vitte__pfile_is_open(&p->smaps) && vitte__pfile_read(&p->smaps, NULL) == VITTE_OK) {
        int ok;
        out->pss_bytes = vitte__field_u64(p->smaps.buf, "Pss:", &ok) * 1024;
        if (ok)
            out->valid |= VITTE_PROC_PSS;
    }

    double cpu = out->user_seconds + out->system_seconds;
    if (p->have_prev) {
        double dt = (double)(out->time_ns - p->prev_ns) * 1e-9;
        double dc = cpu - p->prev_cpu;
        out->cpu_percent = dt > 0 && dc > 0 ? 100.0 * dc / dt : 0.0;
    } else {
        /* The first sample: the average since the process started. */
        double age = uptime_seconds() - (double)start / tck;
        out->cpu_percent = age > 0.01 ? 100.0 * cpu / age : 0.0;
    }
    p->have_prev = 1;
    p->prev_ns = out->time_ns;
    p->prev_cpu = cpu;
    return VITTE_OK;
}
