/* /proc files kept open and re-read with pread(), and their parsers. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "system/system_internal.h"

/* Files past this size are refused rather than grown into (no /proc file
 * the module reads comes near it; /proc/stat on 1024 CPUs is ~200 KiB). */
#define PFILE_MAX (16u << 20)

int vitte__sys_status(int err)
{
    switch (err) {
    case ENOENT:
    case ESRCH:
        return VITTE_ENOENT;
    case EACCES:
    case EPERM:
        return VITTE_EPERM;
    case ENOMEM:
        return VITTE_ENOMEM;
    default:
        return VITTE_EIO;
    }
}

static int pfile_alloc(struct vitte__pfile *f, int fd, size_t cap)
{
    f->buf = vitte__malloc(cap);
    if (f->buf == NULL) {
        close(fd);
        f->fd = -1;
        return VITTE_ENOMEM;
    }
    f->fd = fd;
    f->cap = cap;
    f->len = 0;
    f->buf[0] = '\0';
    return VITTE_OK;
}

int vitte__pfile_open(struct vitte__pfile *f, const char *path, size_t cap)
{
    f->fd = -1;
    f->buf = NULL;
    f->cap = f->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vitte__sys_status(errno);
    return pfile_alloc(f, fd, cap < 64 ? 64 : cap);
}

int vitte__pfile_openat(struct vitte__pfile *f, int dirfd, const char *name, size_t cap)
{
    f->fd = -1;
    f->buf = NULL;
    f->cap = f->len = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vitte__sys_status(errno);
    return pfile_alloc(f, fd, cap < 64 ? 64 : cap);
}

int vitte__pfile_read(struct vitte__pfile *f, const char *stop)
{
    if (f->fd < 0)
        return VITTE_EINVAL;
    for (;;) {
        ssize_t n;
        do
            n = pread(f->fd, f->buf, f->cap - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            f->len = 0;
            f->buf[0] = '\0';
            return vitte__sys_status(errno);
        }
        f->len = (size_t)n;
        f->buf[n] = '\0';
        if ((size_t)n < f->cap - 1 || (stop != NULL && strstr(f->buf, stop) != NULL))
            return VITTE_OK;
        /* Filled: the file may be longer.  Grow and read it again from 0
         * (a second pread at an offset would see a later state). */
        if (f->cap >= PFILE_MAX)
            return VITTE_ELIMIT;
        char *nb = vitte__realloc(f->buf, f->cap * 2);
        if (nb == NULL)
            return VITTE_ENOMEM;
        f->buf = nb;
        f->cap *= 2;
    }
}

void vitte__pfile_close(struct vitte__pfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    vitte__free(f->buf);
    f->fd = -1;
    f->buf = NULL;
    f->cap = f->len = 0;
}

double vitte__parse_decimal(const char **p)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    double v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    if (*s == '.') {
        double scale = 0.1;
        for (s++; *s >= '0' && *s <= '9'; s++, scale *= 0.1)
            v += (*s - '0') * scale;
    }
    *p = s;
    return v;
}

void vitte__skip_fields(const char **p, int n)
{
    const char *s = *p;
    for (int i = 0; i < n; i++) {
        while (*s == ' ')
            s++;
        while (*s != ' ' && *s != '\0' && *s != '\n')
            s++;
    }
    *p = s;
}

uint64_t vitte__field_u64(const char *text, const char *key, int *found)
{
    size_t kl = strlen(key);
    const char *s = text;
    *found = 0;
    while (s != NULL && *s != '\0') {
        if (strncmp(s, key, kl) == 0) {
            s += kl;
            *found = 1;
            return vitte__parse_u64(&s);
        }
        s = strchr(s, '\n');
        if (s != NULL)
            s++;
    }
    return 0;
}

static long clk_tck = 100, page_size = 4096;
static uint64_t btime;
static pthread_once_t consts_once = PTHREAD_ONCE_INIT;

static void consts_init(void)
{
    long v = sysconf(_SC_CLK_TCK);
    if (v > 0)
        clk_tck = v;
    v = sysconf(_SC_PAGESIZE);
    if (v > 0)
        page_size = v;
    struct vitte__pfile f;
    if (vitte__pfile_open(&f, "/proc/stat", 8192) == VITTE_OK) {
        if (vitte__pfile_read(&f, NULL) == VITTE_OK) {
            int found;
            const char *p = strstr(f.buf, "\nbtime ");
            if (p != NULL)
                btime = vitte__field_u64(p + 1, "btime ", &found);
        }
        vitte__pfile_close(&f);
    }
}

long vitte__sys_clk_tck(void)
{
    pthread_once(&consts_once, consts_init);
    return clk_tck;
}

long vitte__sys_page_size(void)
{
    pthread_once(&consts_once, consts_init);
    return page_size;
}

uint64_t vitte__sys_btime(void)
{
    pthread_once(&consts_once, consts_init);
    return btime;
}
