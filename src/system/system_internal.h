/* Internal definitions shared by the files of src/system: /proc files kept
 * open and re-read with pread(), and the small parsers their text needs. */
#ifndef VITTE_SYSTEM_INTERNAL_H
#define VITTE_SYSTEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <vitte/system.h>

/* A /proc file kept open.  buf holds the last read, NUL-terminated. */
struct vitte__pfile {
    int fd; /* -1: not open */
    char *buf;
    size_t cap; /* bytes of buf */
    size_t len; /* bytes read last time */
};

#define VITTE__PFILE_INIT                                                                          \
    {                                                                                              \
        -1, NULL, 0, 0                                                                             \
    }

/* errno -> status: ENOENT/ESRCH -> VITTE_ENOENT, EACCES/EPERM -> VITTE_EPERM,
 * ENOMEM -> VITTE_ENOMEM, anything else VITTE_EIO. */
int vitte__sys_status(int err);

/* Open path read-only (O_CLOEXEC) with a first buffer of cap bytes. */
int vitte__pfile_open(struct vitte__pfile *f, const char *path, size_t cap);
/* The same relative to a directory descriptor. */
int vitte__pfile_openat(struct vitte__pfile *f, int dirfd, const char *name, size_t cap);
/* Read the whole file from offset 0 in one pread() (the buffer grows and the
 * read starts again when it was too small, so the text is one snapshot).
 * stop: when not NULL, a read that filled the buffer is enough if it holds
 * stop (the caller needs only what comes before it). */
int vitte__pfile_read(struct vitte__pfile *f, const char *stop);
void vitte__pfile_close(struct vitte__pfile *f);
static inline int vitte__pfile_is_open(const struct vitte__pfile *f)
{
    return f->fd >= 0;
}

/* Parse an unsigned decimal after optional blanks; *p moves past it.  No
 * digit: 0 and *p after the blanks. */
static inline uint64_t vitte__parse_u64(const char **p)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    *p = s;
    return v;
}

/* A decimal like "12.34" (PSI, loadavg) after optional blanks. */
double vitte__parse_decimal(const char **p);
/* Move *p past the next n blank-separated fields. */
void vitte__skip_fields(const char **p, int n);
/* The value after "key" (which includes its ':' if any) at the start of a
 * line of text, or 0 when absent; *found set to 1 when present. */
uint64_t vitte__field_u64(const char *text, const char *key, int *found);

/* Constants of the machine, read once: ticks per second and page size. */
long vitte__sys_clk_tck(void);
long vitte__sys_page_size(void);
/* Boot time, Unix seconds, from /proc/stat btime (0 if unreadable). */
uint64_t vitte__sys_btime(void);

#endif
