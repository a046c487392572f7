/* bench_symbolize: cost of symbolizing 100,000 distinct addresses.
 *
 * The program symbolized (bench_symbolize_target) is generated at build time
 * by bench_symbolize_gen: 24 C files x 400 functions, each function with two
 * levels of static inline helpers, compiled with -O2 -g
 * -fno-omit-frame-pointer.  From its .symtab, 100,000 distinct random
 * addresses inside its functions are drawn (a fixed seed), in random order.
 *
 *   vitte       vitte__symbolize() on each address, cold: a new symbolizer,
 *               so module loading and every index are included (the
 *               answers compared come from one more, untimed, run)
 *   addr2line   GNU addr2line -f -i -a -e FILE, the peer, fed the same
 *               addresses in one batch on stdin (one process)
 *
 * Each figure is the median of --reps repetitions (3 by default here: each
 * repetition runs both, about a second), wall time and CPU time (user +
 * system: this process for vitte, the children for addr2line).  The answers are compared: function
 * names of the whole inline chain, and file:line of the innermost frame.
 * Memory: what the first cold run adds to this process's VmRSS (mapped
 * files included), and the peak RSS of the addr2line children (RUSAGE_CHILDREN).
 *
 * Build (not part of the default build: the generated program takes about
 * two CPU-minutes to compile):
 *   cmake --build build/release --target bench_symbolize
 * Run: build/release/bench/bench_symbolize [--reps N] [--scale F]
 * VITTE_BENCH_SYMBOLIZE_TARGET=FILE symbolizes another ELF file instead (its
 * .symtab must list sized functions). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vitte/vitte.h>

#include "bench_util.h"
#include "prof/symbolize.h"

#ifndef BENCH_LINKAGE
#define BENCH_LINKAGE "static"
#endif
#ifndef BENCH_SYMBOLIZE_TARGET
#define BENCH_SYMBOLIZE_TARGET ""
#endif

typedef struct range {
    uint64_t lo, size, cum; /* cum: bytes of the ranges before this one */
} range;

typedef struct target {
    const char *path;
    range *funcs;
    size_t n_funcs;
    uint64_t total;
    GElf_Phdr loads[16];
    size_t n_loads;
    uint64_t text_bytes;
    off_t file_bytes;
} target;

/* One answer: the function names (innermost first), innermost file:line. */
typedef struct answer {
    int n;
    char *names; /* names joined by '\n' */
    char *file;  /* basename */
    unsigned line;
} answer;

static int read_target(target *t)
{
    elf_version(EV_CURRENT);
    int fd = open(t->path, O_RDONLY);
    if (fd < 0) {
        perror(t->path);
        return -1;
    }
    t->file_bytes = lseek(fd, 0, SEEK_END);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    if (elf == NULL) {
        close(fd);
        return -1;
    }
    size_t nph = 0;
    elf_getphdrnum(elf, &nph);
    for (size_t i = 0; i < nph && t->n_loads < 16; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) != NULL && ph.p_type == PT_LOAD)
            t->loads[t->n_loads++] = ph;
    }
    size_t cap = 0;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) == NULL)
            continue;
        if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_type == SHT_PROGBITS)
            t->text_bytes += sh.sh_size;
        if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        size_t n = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; d != NULL && i < n; i++) {
            GElf_Sym s;
            if (gelf_getsym(d, (int)i, &s) == NULL || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
                s.st_size == 0 || s.st_shndx == SHN_UNDEF)
                continue;
            if (t->n_funcs == cap) {
                cap = cap ? cap * 2 : 1024;
                t->funcs = realloc(t->funcs, cap * sizeof *t->funcs);
                if (t->funcs == NULL)
                    return -1;
            }
            t->funcs[t->n_funcs++] = (range){s.st_value, s.st_size, 0};
        }
    }
    elf_end(elf);
    close(fd);
    for (size_t i = 0; i < t->n_funcs; i++) {
        t->funcs[i].cum = t->total;
        t->total += t->funcs[i].size;
    }
    return t->n_funcs > 0 ? 0 : -1;
}

/* CPU seconds (user + system) of this process or of its waited-for children. */
static double cpu_seconds(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Resident set size of this process now, in bytes (VmRSS). */
static double rss_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtod(line + 6, NULL);
    if (f != NULL)
        fclose(f);
    return kb * 1024.0;
}

static uint64_t vaddr_to_offset(const target *t, uint64_t va)
{
    for (size_t i = 0; i < t->n_loads; i++)
        if (va >= t->loads[i].p_vaddr && va < t->loads[i].p_vaddr + t->loads[i].p_filesz)
            return va - t->loads[i].p_vaddr + t->loads[i].p_offset;
    return UINT64_MAX;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* n distinct addresses inside the functions, in random order. */
static uint64_t *pick_addresses(const target *t, size_t n)
{
    if (n > t->total)
        n = (size_t)t->total;
    uint8_t *taken = calloc((size_t)(t->total / 8 + 1), 1);
    uint64_t *va = malloc(n * sizeof *va);
    if (taken == NULL || va == NULL)
        return NULL;
    for (size_t k = 0; k < n;) {
        uint64_t pos = next_rand() % t->total;
        if (taken[pos / 8] & (1u << (pos % 8)))
            continue;
        taken[pos / 8] |= (uint8_t)(1u << (pos % 8));
        size_t lo = 0, hi = t->n_funcs;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (t->funcs[mid].cum <= pos)
                lo = mid;
            else
                hi = mid;
        }
        va[k++] = t->funcs[lo].lo + (pos - t->funcs[lo].cum);
    }
    free(taken);
    return va;
}

static const char *base_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s != NULL ? s + 1 : p;
}

static char *join_names(const vitte__symframe *f, int n)
{
    size_t len = 1;
    for (int k = 0; k < n; k++)
        len += strlen(f[k].function) + 1;
    char *s = malloc(len), *p = s;
    if (s == NULL)
        return NULL;
    for (int k = 0; k < n; k++)
        p += sprintf(p, "%s%s", k ? "\n" : "", f[k].function);
    *p = '\0';
    return s;
}

/* vitte, cold.  Returns seconds; fills out[] when not NULL. */
static double run_vitte(const target *t, const uint64_t *off, size_t n, answer *out,
                        uint64_t *frames_total, uint64_t *inline_total, double *rss_growth)
{
    double rss0 = rss_now();
    uint64_t t0 = bench_ns();
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    uint64_t frames = 0, inl = 0;
    for (size_t i = 0; s != NULL && i < n; i++) {
        const vitte__symframe *f;
        int k = vitte__symbolize(s, t->path, NULL, 0, off[i], &f);
        if (k < 0)
            break;
        frames += (uint64_t)k;
        inl += k > 0 ? (uint64_t)k - 1 : 0;
        if (out != NULL) {
            out[i].n = k;
            out[i].names = join_names(f, k);
            out[i].file = strdup(k > 0 ? base_of(f[0].file) : "");
            out[i].line = k > 0 ? f[0].line : 0;
        }
    }
    uint64_t t1 = bench_ns();
    *rss_growth = rss_now() - rss0;
    vitte__symbolizer_destroy(s);
    *frames_total = frames;
    *inline_total = inl;
    return (double)(t1 - t0) / 1e9;
}

/* Parse addr2line -f -i -a output: per address "0x...", then pairs of
 * function and file:line lines. */
static void parse_addr2line(char *buf, size_t n, answer *out, uint64_t *frames_total,
                            uint64_t *inline_total)
{
    char *p = buf;
    long cur = -1;
    int have_name = 0;
    char names[8192];
    size_t nl = 0;
    *frames_total = *inline_total = 0;
    for (char *line = strtok(p, "\n");; line = strtok(NULL, "\n")) {
        int is_addr = line != NULL && line[0] == '0' && line[1] == 'x';
        if (line == NULL || is_addr) {
            if (cur >= 0 && (size_t)cur < n) {
                names[nl] = '\0';
                if (strcmp(names, "??") == 0) {
                    out[cur].n = 0;
                    names[0] = '\0';
                }
                out[cur].names = strdup(names);
                if (out[cur].n > 0) {
                    *frames_total += (uint64_t)out[cur].n;
                    *inline_total += (uint64_t)out[cur].n - 1;
                }
            }
            if (line == NULL)
                break;
            cur++;
            nl = 0;
            have_name = 0;
            if ((size_t)cur < n) {
                out[cur].n = 0;
                out[cur].file = NULL;
                out[cur].line = 0;
            }
            continue;
        }
        if (cur < 0 || (size_t)cur >= n)
            continue;
        if (!have_name) {
            size_t l = strlen(line);
            if (nl + l + 2 < sizeof names) {
                if (nl > 0)
                    names[nl++] = '\n';
                memcpy(names + nl, line, l);
                nl += l;
            }
            have_name = 1;
            out[cur].n++;
        } else {
            if (out[cur].file == NULL) {
                char *sp = strchr(line, ' '); /* " (discriminator N)" */
                if (sp != NULL)
                    *sp = '\0';
                char *colon = strrchr(line, ':');
                unsigned ln = 0;
                if (colon != NULL) {
                    *colon = '\0';
                    ln = (unsigned)strtoul(colon + 1, NULL, 10);
                }
                out[cur].file = strdup(strcmp(line, "??") == 0 ? "" : base_of(line));
                out[cur].line = ln;
            }
            have_name = 0;
        }
    }
}

/* GNU addr2line in one batch: seconds, or a negative value when it cannot
 * run.  out[] filled when not NULL. */
static double run_addr2line(const target *t, const uint64_t *va, size_t n, answer *out,
                            uint64_t *frames_total, uint64_t *inline_total)
{
    char *in = malloc(n * 20 + 1);
    if (in == NULL)
        return -1;
    size_t in_len = 0;
    for (size_t i = 0; i < n; i++)
        in_len += (size_t)sprintf(in + in_len, "%llx\n", (unsigned long long)va[i]);
    size_t out_cap = 1 << 20, out_len = 0;
    char *obuf = malloc(out_cap);
    if (obuf == NULL) {
        free(in);
        return -1;
    }
    uint64_t t0 = bench_ns();
    int pin[2], pout[2];
    if (pipe(pin) != 0 || pipe(pout) != 0) {
        free(in);
        free(obuf);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        execlp("addr2line", "addr2line", "-f", "-i", "-a", "-e", t->path, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    fcntl(pin[1], F_SETFL, O_NONBLOCK);
    size_t written = 0;
    int wfd = pin[1];
    for (;;) {
        struct pollfd pf[2] = {{pout[0], POLLIN, 0}, {wfd, POLLOUT, 0}};
        int np = wfd >= 0 ? 2 : 1;
        if (poll(pf, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (np == 2 && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(wfd, in + written, in_len - written);
            if (w > 0)
                written += (size_t)w;
            if (w < 0 && errno != EAGAIN) {
                close(wfd);
                wfd = -1;
            } else if (written == in_len) {
                close(wfd);
                wfd = -1;
            }
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (out_cap - out_len < 65536) {
                out_cap *= 2;
                char *nb = realloc(obuf, out_cap);
                if (nb == NULL)
                    break;
                obuf = nb;
            }
            ssize_t r = read(pout[0], obuf + out_len, out_cap - out_len - 1);
            if (r <= 0)
                break;
            out_len += (size_t)r;
        }
    }
    if (wfd >= 0)
        close(wfd);
    close(pout[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    uint64_t t1 = bench_ns();
    obuf[out_len] = '\0';
    double secs = (double)(t1 - t0) / 1e9;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        secs = -1;
    else if (out != NULL)
        parse_addr2line(obuf, n, out, frames_total, inline_total);
    else
        *frames_total = *inline_total = 0;
    free(in);
    free(obuf);
    return secs;
}

static void free_answers(answer *a, size_t n)
{
    for (size_t i = 0; a != NULL && i < n; i++) {
        free(a[i].names);
        free(a[i].file);
    }
    free(a);
}

int main(int argc, char **argv)
{
    bench_opts o;
    int reps_given = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--reps") == 0)
            reps_given = 1;
    bench_parse_args(argc, argv, &o);
    if (!reps_given)
        o.reps = 3;
    signal(SIGPIPE, SIG_IGN);

    target t = {0};
    t.path = getenv("VITTE_BENCH_SYMBOLIZE_TARGET");
    if (t.path == NULL || t.path[0] == '\0')
        t.path = BENCH_SYMBOLIZE_TARGET;
    bench_print_machine(&o, "bench_symbolize", BENCH_LINKAGE, "-");
    if (read_target(&t) != 0) {
        fprintf(stderr, "bench_symbolize: cannot read the functions of '%s'\n", t.path);
        return 1;
    }
    size_t n = (size_t)bench_ops(&o, 100000);
    uint64_t *va = pick_addresses(&t, n);
    if (va == NULL)
        return 1;
    if (n > t.total)
        n = (size_t)t.total;
    uint64_t *off = malloc(n * sizeof *off);
    if (off == NULL)
        return 1;
    for (size_t i = 0; i < n; i++)
        off[i] = vaddr_to_offset(&t, va[i]);
    printf("# target %s: %zu functions, %.2f MB text, %.1f MB file; %zu distinct addresses\n",
           t.path, t.n_funcs, (double)t.text_bytes / 1e6, (double)t.file_bytes / 1e6, n);

    double *tv = calloc((size_t)o.reps, sizeof *tv), *ta = calloc((size_t)o.reps, sizeof *ta);
    answer *av = calloc(n, sizeof *av), *aa = calloc(n, sizeof *aa);
    if (tv == NULL || ta == NULL || av == NULL || aa == NULL)
        return 1;
    uint64_t fv = 0, iv = 0, fa = 0, ia = 0, dummy1, dummy2;
    double rss_v = 0, rss_dummy;
    int have_peer = 1;
    double *cv = calloc((size_t)o.reps, sizeof *cv), *ca = calloc((size_t)o.reps, sizeof *ca);
    if (cv == NULL || ca == NULL)
        return 1;
    for (int r = 0; r < o.reps; r++) {
        /* Memory from the first run only: later runs reuse freed heap. */
        double c0 = cpu_seconds(RUSAGE_SELF);
        tv[r] = run_vitte(&t, off, n, NULL, &fv, &iv, r == 0 ? &rss_v : &rss_dummy) * 1e3;
        cv[r] = (cpu_seconds(RUSAGE_SELF) - c0) * 1e3;
        if (have_peer) {
            c0 = cpu_seconds(RUSAGE_CHILDREN);
            double s = run_addr2line(&t, va, n, r == 0 ? aa : NULL, r == 0 ? &fa : &dummy1,
                                     r == 0 ? &ia : &dummy2);
            ca[r] = (cpu_seconds(RUSAGE_CHILDREN) - c0) * 1e3;
            if (s < 0)
                have_peer = 0;
            ta[r] = s * 1e3;
        }
    }
    struct rusage kids;
    getrusage(RUSAGE_CHILDREN, &kids);
    /* The answers compared, from one more (untimed) run. */
    run_vitte(&t, off, n, av, &dummy1, &dummy2, &rss_dummy);
    printf("\n");
    bench_result v = bench_summarize(tv, (size_t)o.reps);
    bench_result per = {v.median * 1e3 / (double)n, v.min * 1e3 / (double)n,
                        v.max * 1e3 / (double)n};
    char target_text[64];
    double target_ms = 0.5e3 * (double)n / 1e5;
    snprintf(target_text, sizeof target_text, "<= %.0f ms", target_ms);
    if (have_peer) {
        bench_result a = bench_summarize(ta, (size_t)o.reps);
        bench_result aper = {a.median * 1e3 / (double)n, a.min * 1e3 / (double)n,
                             a.max * 1e3 / (double)n};
        bench_line("symbolize_cold", v, "ms", "addr2line_batch", a, target_text, target_ms);
        bench_line("symbolize_per_address", per, "us", "addr2line_batch", aper, NULL, 0);
        /* CPU time: what a loaded machine disturbs least. */
        bench_line("symbolize_cold_cpu", bench_summarize(cv, (size_t)o.reps), "ms",
                   "addr2line_batch_cpu", bench_summarize(ca, (size_t)o.reps), NULL, 0);
    } else {
        printf("# addr2line not found or failed: peer skipped (apt-get install binutils)\n");
        bench_line("symbolize_cold", v, "ms", NULL, v, target_text, target_ms);
        bench_info("symbolize_per_address", per, "us", NULL);
    }
    printf("    frames: vitte %llu (%llu inlined)", (unsigned long long)fv, (unsigned long long)iv);
    if (have_peer)
        printf(", addr2line %llu (%llu inlined)", (unsigned long long)fa, (unsigned long long)ia);
    printf("\n    memory: vitte +%.0f MB resident while loaded (VmRSS growth)", rss_v / 1e6);
    if (have_peer)
        printf(", addr2line %.0f MB peak RSS", (double)kids.ru_maxrss * 1024.0 / 1e6);
    printf("\n");

    if (have_peer) {
        size_t same_names = 0, same_line = 0, known_v = 0, known_a = 0;
        for (size_t i = 0; i < n; i++) {
            known_v += av[i].n > 0;
            known_a += aa[i].n > 0;
            if (av[i].names != NULL && aa[i].names != NULL && strcmp(av[i].names, aa[i].names) == 0)
                same_names++;
            if (av[i].file != NULL && aa[i].file != NULL && strcmp(av[i].file, aa[i].file) == 0 &&
                av[i].line == aa[i].line)
                same_line++;
        }
        printf("    agreement with addr2line: function names (whole inline chain) %.2f%% "
               "(%zu/%zu), innermost file:line %.2f%%; named: vitte %zu, addr2line %zu\n",
               100.0 * (double)same_names / (double)n, same_names, n,
               100.0 * (double)same_line / (double)n, known_v, known_a);
        size_t shown = 0;
        for (size_t i = 0; i < n && shown < 3; i++)
            if (av[i].names != NULL && aa[i].names != NULL &&
                strcmp(av[i].names, aa[i].names) != 0) {
                printf("    differs at 0x%llx: vitte [%s] addr2line [%s]\n",
                       (unsigned long long)va[i], av[i].names, aa[i].names);
                shown++;
            }
        bench_check("function names agree (>= 99%)", same_names * 100 >= n * 99);
        bench_result a = bench_summarize(ta, (size_t)o.reps);
        bench_result vc = bench_summarize(cv, (size_t)o.reps);
        bench_result ac = bench_summarize(ca, (size_t)o.reps);
        printf("# figure (CPU): vitte %.2f s, addr2line %.2f s, ratio %.2f\n", vc.median / 1e3,
               ac.median / 1e3, vc.median / ac.median);
        printf(
            "# figure: %zu distinct addresses, %.2f MB text: vitte %.2f s cold (%.2f us/address), "
            "GNU addr2line -f -i batch %.2f s (%.2f us/address), ratio %.2f; names agree "
            "%.2f%%\n",
            n, (double)t.text_bytes / 1e6, v.median / 1e3, per.median, a.median / 1e3,
            a.median * 1e3 / (double)n, v.median / a.median,
            100.0 * (double)same_names / (double)n);
    }
    printf("\n");
    free_answers(av, n);
    free_answers(aa, n);
    free(tv);
    free(ta);
    free(cv);
    free(ca);
    free(va);
    free(off);
    free(t.funcs);
    return bench_finish();
}
