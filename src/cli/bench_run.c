/* `vitte bench`: running one command and measuring it.
 *
 * The cost of a run is what a benchmark of a fast command measures, so it is
 * kept small: the executable is found on PATH once, /dev/null is opened once,
 * and each run is one posix_spawn() (glibc: clone(CLONE_VM | CLONE_VFORK),
 * no page tables copied) and one wait4(), which also gives the run's own CPU
 * times and peak RSS, with CLOCK_MONOTONIC read just around the two. */
#include "bench_common.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- words ----------------------------------------------------------------- */

void bench_free_words(char **words)
{
    if (words == NULL)
        return;
    for (size_t i = 0; words[i] != NULL; i++)
        free(words[i]);
    free(words);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int bench_split_words(const char *s, char ***words, size_t *n, const char **err)
{
    size_t len = strlen(s), count = 0, cap = 4;
    char **w = malloc(cap * sizeof *w);
    char *buf = malloc(len + 1); /* a word is never longer than s */

    *words = NULL;
    *n = 0;
    *err = "out of memory";
    if (w == NULL || buf == NULL)
        goto fail;
    for (const char *p = s;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        size_t k = 0;
        while (*p != '\0' && !is_blank(*p)) {
            if (*p == '\'') {
                const char *q = strchr(p + 1, '\'');
                if (q == NULL) {
                    *err = "unterminated single quote";
                    goto fail;
                }
                memcpy(buf + k, p + 1, (size_t)(q - p - 1));
                k += (size_t)(q - p - 1);
                p = q + 1;
            } else if (*p == '"') {
                for (p++; *p != '"'; p++) {
                    if (*p == '\0') {
                        *err = "unterminated double quote";
                        goto fail;
                    }
                    if (*p == '\\' && p[1] != '\0' && strchr("\"\\$`", p[1]) != NULL)
                        p++;
                    buf[k++] = *p;
                }
                p++;
            } else if (*p == '\\') {
                if (p[1] == '\0') {
                    *err = "backslash at the end";
                    goto fail;
                }
                buf[k++] = p[1];
                p += 2;
            } else {
                buf[k++] = *p++;
            }
        }
        if (count + 2 > cap) {
            char **g = realloc(w, 2 * cap * sizeof *w);
            if (g == NULL)
                goto fail;
            w = g;
            cap *= 2;
        }
        if ((w[count] = malloc(k + 1)) == NULL)
            goto fail;
        memcpy(w[count], buf, k);
        w[count][k] = '\0';
        count++;
    }
    w[count] = NULL;
    free(buf);
    *words = w;
    *n = count;
    *err = NULL;
    return 0;

fail:
    if (w != NULL) {
        w[count] = NULL;
        bench_free_words(w);
    }
    free(buf);
    return -1;
}

/* ---- finding the executable --------------------------------------------------- */

/* name as execvp() would find it: a name with a slash as is, else the first
 * executable regular file of that name in $PATH.  Returns 0 with *path
 * allocated, or ENOENT / EACCES / ENOMEM. */
static int resolve(const char *name, char **path)
{
    *path = NULL;
    if (name[0] == '\0')
        return ENOENT;
    if (strchr(name, '/') != NULL) {
        *path = strdup(name);
        return *path != NULL ? 0 : ENOMEM;
    }
    const char *dirs = getenv("PATH");
    if (dirs == NULL || dirs[0] == '\0')
        dirs = "/usr/local/bin:/usr/bin:/bin";
    size_t name_len = strlen(name);
    int found_denied = 0;
    for (const char *d = dirs;;) {
        const char *end = strchr(d, ':');
        size_t dlen = end != NULL ? (size_t)(end - d) : strlen(d);
        char *cand = malloc(dlen + name_len + 3);
        if (cand == NULL)
            return ENOMEM;
        if (dlen == 0) { /* an empty entry is the current directory */
            memcpy(cand, "./", 2);
            dlen = 2;
        } else {
            memcpy(cand, d, dlen);
            cand[dlen++] = '/';
        }
        memcpy(cand + dlen, name, name_len + 1);
        struct stat sb;
        if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (access(cand, X_OK) == 0) {
                *path = cand;
                return 0;
            }
            found_denied = 1;
        }
        free(cand);
        if (end == NULL)
            break;
        d = end + 1;
    }
    return found_denied ? EACCES : ENOENT;
}

void bench_prog_free(struct bench_prog *p)
{
    free(p->path);
    bench_free_words(p->argv);
    p->path = NULL;
    p->argv = NULL;
}

int bench_prog_init(struct bench_prog *p, const char *cmd, char *const *shell, char *err,
                    size_t err_len)
{
    p->path = NULL;
    p->argv = NULL;
    size_t n = 0;
    if (shell != NULL) {
        while (shell[n] != NULL)
            n++;
        p->argv = calloc(n + 3, sizeof *p->argv);
        if (p->argv == NULL)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            if ((p->argv[i] = strdup(shell[i])) == NULL)
                goto nomem;
        if ((p->argv[n] = strdup("-c")) == NULL || (p->argv[n + 1] = strdup(cmd)) == NULL)
            goto nomem;
    } else {
        const char *why;
        if (bench_split_words(cmd, &p->argv, &n, &why) != 0) {
            snprintf(err, err_len, "cannot split '%s' into words: %s", cmd, why);
            return 1;
        }
        if (n == 0) {
            snprintf(err, err_len,
                     "empty command (with -N, a command is a program and its "
                     "arguments)");
            bench_prog_free(p);
            return 1;
        }
    }
    int rc = resolve(p->argv[0], &p->path);
    if (rc != 0) {
        snprintf(err, err_len, "cannot run '%s': %s", p->argv[0],
                 rc == ENOENT ? "command not found" : strerror(rc));
        bench_prog_free(p);
        return -1;
    }
    return 0;

nomem:
    snprintf(err, err_len, "out of memory");
    bench_prog_free(p);
    return -1;
}

/* ---- running ------------------------------------------------------------------ */

int bench_io_init(struct bench_io *io)
{
    io->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (io->devnull < 0)
        return errno;
    int rc = posix_spawn_file_actions_init(&io->quiet);
    if (rc == 0)
        rc = posix_spawn_file_actions_init(&io->shown);
    /* dup2 clears FD_CLOEXEC on the copies, which is what the child keeps */
    for (int fd = 0; fd <= 2 && rc == 0; fd++)
        rc = posix_spawn_file_actions_adddup2(&io->quiet, io->devnull, fd);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&io->shown, io->devnull, 0);
    return rc;
}

void bench_io_free(struct bench_io *io)
{
    posix_spawn_file_actions_destroy(&io->quiet);
    posix_spawn_file_actions_destroy(&io->shown);
    if (io->devnull >= 0)
        close(io->devnull);
    io->devnull = -1;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

int bench_prog_run(const struct bench_prog *p, const struct bench_io *io, int show_output,
                   struct bench_measure *m)
{
    struct timespec t0, t1;
    struct rusage ru;
    pid_t pid;
    int st;

    memset(m, 0, sizeof *m);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc =
        posix_spawn(&pid, p->path, show_output ? &io->shown : &io->quiet, NULL, p->argv, environ);
    if (rc != 0)
        return rc;
    while (wait4(pid, &st, 0, &ru) < 0) {
        if (errno != EINTR)
            return errno;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    m->wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    m->user = tv_seconds(ru.ru_utime);
    m->system = tv_seconds(ru.ru_stime);
    m->maxrss = (int64_t)ru.ru_maxrss * 1024; /* Linux: kilobytes */
    m->status = st;
    return 0;
}
