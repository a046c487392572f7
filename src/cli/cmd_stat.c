/* `vitte stat`: run a program and report what it used, `perf stat` and
 * `/usr/bin/time -v` in one: wall, user and system time, CPU use, peak RSS,
 * page faults, context switches (wait4's rusage) and perf_event counters
 * (software ones always; hardware ones where there is a PMU).  With -r N
 * the program runs N times and each figure is mean +- standard deviation.
 *
 * The report goes to stderr (or -o FILE), so the program's own output on
 * stdout stays clean; vitte stat exits with the program's status. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/vitte.h>
#include <vitte/system.h>

enum { OPT_HELP, OPT_JSON, OPT_REPEAT, OPT_OUTPUT };

static const struct cli_opt stat_opts[] = {
    {OPT_REPEAT, 'r', "repeat", "N", "run the program N times, show mean +- sd (default 1)"},
    {OPT_JSON, 0, "json", NULL, "print one JSON object (for scripts) instead of text"},
    {OPT_OUTPUT, 'o', "output", "FILE", "write the report to FILE instead of stderr"},
    {OPT_HELP, 'h', "help", NULL, "show this help"},
};
#define N_STAT_OPTS (sizeof stat_opts / sizeof stat_opts[0])

/* Exit statuses of our own failures, as env(1), timeout(1) and shells. */
enum { EXIT_OWN_FAILURE = 125, EXIT_NOT_EXECUTABLE = 126, EXIT_NOT_FOUND = 127 };

#define MAX_RUNS 100000

static void print_help(FILE *out)
{
    fputs("Usage: vitte stat [-r N] [--json] [-o FILE] [--] PROGRAM [ARGS...]\n"
          "\n"
          "Run PROGRAM and report what it used: what `perf stat` and `/usr/bin/time -v`\n"
          "show together.  From wait4(): wall, user and system time, CPU use, peak\n"
          "resident memory, page faults (minor, major), context switches (voluntary,\n"
          "involuntary), file system blocks.  From perf_event counters opened on the\n"
          "program before its exec and inherited by its threads and children:\n"
          "task-clock, context-switches, cpu-migrations, page-faults, and cycles,\n"
          "instructions, branches, branch-misses, cache-misses where the machine has\n"
          "a PMU (\"not supported\" otherwise, e.g. in most VMs).  A name ending in :u\n"
          "was counted in user mode only (kernel.perf_event_paranoid >= 2).\n"
          "\n"
          "The report goes to stderr (or FILE), after the program ends; the program's\n"
          "own input and output are untouched.  Options end at PROGRAM (or at \"--\").\n"
          "Ctrl-C reaches the program; vitte stat then reports and exits 130.\n"
          "\n"
          "Options:\n",
          out);
    cli_print_options(out, stat_opts, N_STAT_OPTS);
    fputs("\n"
          "Examples:\n"
          "  vitte stat -- make -j2             time a build, with its peak memory\n"
          "  vitte stat -r 10 ./bench           mean +- sd over 10 runs\n"
          "  vitte stat --json -o s.json -- ./a.out && jq .wall_seconds.mean s.json\n"
          "\n"
          "Exit status: the program's (128 + N when signal N killed it; with -r, the\n"
          "last run's), 127 program not found, 126 not executable, 125 vitte stat\n"
          "itself failed, 2 usage error (nothing was run).\n"
          "See also: docs/cli/vitte-stat.md, docs/system.md\n",
          out);
}

/* ---- signals: pass on what is sent to us ------------------------------------------ */

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t pending_signal; /* came while no program ran */

static const int forwarded[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
#define N_FORWARDED (sizeof forwarded / sizeof forwarded[0])

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved_errno = errno; /* kill() may set it; the interrupted code may read it */
    got_signal = sig;
    /* Ctrl-C at a terminal (SI_KERNEL) already went to the whole process
     * group, the program included; a signal sent to vitte alone (kill,
     * SI_USER and the like, si_code <= 0) is passed on. */
    if (child_pid > 0 && si->si_code <= 0)
        kill((pid_t)child_pid, sig);
    else if (child_pid == 0)
        pending_signal = sig; /* between runs or while one starts */
    errno = saved_errno;
}

static void install_forwarding(struct sigaction *saved)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_FORWARDED; i++)
        sigaction(forwarded[i], &sa, &saved[i]);
}

static void restore_signals(const struct sigaction *saved)
{
    for (size_t i = 0; i < N_FORWARDED; i++)
        sigaction(forwarded[i], &saved[i], NULL);
}

/* ---- the figures ----------------------------------------------------------------- */

enum fig_kind { FIG_SECONDS, FIG_PERCENT, FIG_BYTES, FIG_COUNT };

enum {
    F_WALL,
    F_USER,
    F_SYSTEM,
    F_CPU,
    F_RSS,
    F_MINFLT,
    F_MAJFLT,
    F_VCSW,
    F_IVCSW,
    F_INBLOCK,
    F_OUBLOCK,
    N_FIGS
};

static const struct {
    const char *label; /* text report */
    const char *key;   /* JSON */
    enum fig_kind kind;
} figs[N_FIGS] = {
    [F_WALL] = {"wall time", "wall_seconds", FIG_SECONDS},
    [F_USER] = {"user time", "user_seconds", FIG_SECONDS},
    [F_SYSTEM] = {"system time", "system_seconds", FIG_SECONDS},
    [F_CPU] = {"CPU use", "cpu_percent", FIG_PERCENT},
    [F_RSS] = {"max RSS", "max_rss_bytes", FIG_BYTES},
    [F_MINFLT] = {"page faults, minor", "minor_faults", FIG_COUNT},
    [F_MAJFLT] = {"page faults, major", "major_faults", FIG_COUNT},
    [F_VCSW] = {"context switches, voluntary", "voluntary_context_switches", FIG_COUNT},
    [F_IVCSW] = {"context switches, involuntary", "involuntary_context_switches", FIG_COUNT},
    [F_INBLOCK] = {"file system inputs", "fs_inputs", FIG_COUNT},
    [F_OUBLOCK] = {"file system outputs", "fs_outputs", FIG_COUNT},
};

static void figures_of(const vitte_command_result *r, double *v)
{
    v[F_WALL] = r->wall_seconds;
    v[F_USER] = r->user_seconds;
    v[F_SYSTEM] = r->system_seconds;
    v[F_CPU] =
        r->wall_seconds > 0 ? 100.0 * (r->user_seconds + r->system_seconds) / r->wall_seconds : 0.0;
    v[F_RSS] = (double)r->max_rss_bytes;
    v[F_MINFLT] = (double)r->minor_faults;
    v[F_MAJFLT] = (double)r->major_faults;
    v[F_VCSW] = (double)r->voluntary_ctxt_switches;
    v[F_IVCSW] = (double)r->involuntary_ctxt_switches;
    v[F_INBLOCK] = (double)r->fs_inputs;
    v[F_OUBLOCK] = (double)r->fs_outputs;
}

/* Everything measured over the runs. */
struct runs {
    size_t n;
    double *fig[N_FIGS];                  /* [n] each */
    double *perf[VITTE_PERF_EVENT_COUNT]; /* [n] each */
    vitte_perf_status perf_status[VITTE_PERF_EVENT_COUNT];
    int perf_user_only[VITTE_PERF_EVENT_COUNT];
    int *status; /* [n] exit statuses */
    vitte_command_result last;
};

static int runs_alloc(struct runs *R, size_t n)
{
    memset(R, 0, sizeof *R);
    for (int i = 0; i < N_FIGS; i++)
        if ((R->fig[i] = calloc(n, sizeof(double))) == NULL)
            return -1;
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++)
        if ((R->perf[e] = calloc(n, sizeof(double))) == NULL)
            return -1;
    if ((R->status = calloc(n, sizeof(int))) == NULL)
        return -1;
    return 0;
}

static void runs_free(struct runs *R)
{
    for (int i = 0; i < N_FIGS; i++)
        free(R->fig[i]);
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++)
        free(R->perf[e]);
    free(R->status);
}

static void runs_add(struct runs *R, const vitte_command_result *r)
{
    double v[N_FIGS];
    size_t k = R->n;
    figures_of(r, v);
    for (int i = 0; i < N_FIGS; i++)
        R->fig[i][k] = v[i];
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++) {
        const vitte_perf_value *p = &r->perf[e];
        R->perf[e][k] = (double)p->value;
        /* A counter is shown only if every run counted it. */
        if (k == 0 || (R->perf_status[e] == VITTE_PERF_OK && p->status != VITTE_PERF_OK))
            R->perf_status[e] = p->status;
        R->perf_user_only[e] |= p->user_only;
    }
    R->status[k] = r->status;
    R->last = *r;
    R->n++;
}

static vitte_summary summarize(const double *x, size_t n)
{
    vitte_summary s;
    if (vitte_stats_summary(x, n, &s) != VITTE_OK) {
        memset(&s, 0, sizeof s);
        s.mean = s.stddev = s.min = s.max = NAN;
    }
    return s;
}

/* ---- text report ------------------------------------------------------------------ */

/* A report line is built here and written without trailing blanks. */
struct line {
    char b[256];
    size_t n;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
lput(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->b + l->n, sizeof l->b - l->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        l->n = l->n + (size_t)k < sizeof l->b ? l->n + (size_t)k : sizeof l->b - 1;
}

static void lend(FILE *out, struct line *l)
{
    while (l->n > 0 && l->b[l->n - 1] == ' ')
        l->n--;
    l->b[l->n] = '\0';
    fputs(l->b, out);
    fputc('\n', out);
    l->n = 0;
}

static void put_value(struct line *l, enum fig_kind kind, double v)
{
    switch (kind) {
    case FIG_SECONDS:
        lput(l, "%14.6f s  ", v);
        break;
    case FIG_PERCENT:
        lput(l, "%14.1f %%  ", v);
        break;
    case FIG_BYTES:
        lput(l, "%14.1f MiB", v / (1024.0 * 1024.0));
        break;
    case FIG_COUNT:
        lput(l, "%14.0f    ", v);
        break;
    }
}

static void put_spread(struct line *l, enum fig_kind kind, const vitte_summary *s)
{
    if (s->n < 2)
        return;
    double rel = s->mean != 0 ? 100.0 * s->stddev / fabs(s->mean) : 0.0;
    switch (kind) {
    case FIG_SECONDS:
        lput(l, "  +- %.6f s", s->stddev);
        break;
    case FIG_PERCENT:
        lput(l, "  +- %.1f %%", s->stddev);
        break;
    case FIG_BYTES:
        lput(l, "  +- %.1f MiB", s->stddev / (1024.0 * 1024.0));
        break;
    case FIG_COUNT:
        lput(l, "  +- %.1f", s->stddev);
        break;
    }
    lput(l, " (%.1f %%)", rel);
}

/* The command line as a shell would take it back: words with blanks or
 * shell characters in single quotes. */
static void put_command(FILE *out, char **argv)
{
    for (size_t i = 0; argv[i] != NULL; i++) {
        const char *a = argv[i];
        if (i)
            fputc(' ', out);
        int plain = a[0] != '\0';
        for (const char *p = a; *p != '\0' && plain; p++)
            plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("_@%+=:,./-", *p) != NULL;
        if (plain) {
            fputs(a, out);
            continue;
        }
        fputc('\'', out);
        for (const char *p = a; *p != '\0'; p++) {
            if (*p == '\'')
                fputs("'\\''", out);
            else
                fputc(*p, out);
        }
        fputc('\'', out);
    }
}

static void print_text(FILE *out, char **argv, const struct runs *R)
{
    fputs("\n vitte stat: ", out);
    put_command(out, argv);
    if (R->n > 1)
        fprintf(out, " (%zu runs, mean +- sd)", R->n);
    fputs("\n\n", out);

    struct line l = {.n = 0};
    vitte_summary s[N_FIGS];
    for (int i = 0; i < N_FIGS; i++) {
        s[i] = summarize(R->fig[i], R->n);
        lput(&l, "  %-30s", figs[i].label);
        put_value(&l, figs[i].kind, s[i].mean);
        if (i == F_RSS && R->n == 1)
            lput(&l, "  (%.0f KiB)", s[i].mean / 1024.0);
        else if (i == F_CPU && R->n == 1)
            lput(&l, "(user + system) / wall");
        put_spread(&l, figs[i].kind, &s[i]);
        lend(out, &l);
    }

    fputs("\n  perf_event counters\n", out);
    double wall = s[F_WALL].mean;
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++) {
        if (R->perf_status[e] == VITTE_PERF_NOT_REQUESTED)
            continue;
        char name[40];
        snprintf(name, sizeof name, "%s%s", vitte_perf_event_name((vitte_perf_event)e),
                 R->perf_user_only[e] ? ":u" : "");
        lput(&l, "  %-30s", name);
        if (R->perf_status[e] != VITTE_PERF_OK) {
            lput(&l, "%14s", vitte_perf_status_name(R->perf_status[e]));
            lend(out, &l);
            continue;
        }
        vitte_summary ps = summarize(R->perf[e], R->n);
        if (e == VITTE_PERF_TASK_CLOCK) {
            /* nanoseconds of CPU: shown in ms, and as CPUs kept busy */
            lput(&l, "%14.3f ms ", ps.mean / 1e6);
            if (ps.n >= 2)
                lput(&l, "  +- %.3f ms (%.1f %%)", ps.stddev / 1e6,
                     ps.mean != 0 ? 100.0 * ps.stddev / ps.mean : 0.0);
            if (wall > 0)
                lput(&l, "   # %.3f CPUs utilized", ps.mean / 1e9 / wall);
        } else {
            put_value(&l, FIG_COUNT, ps.mean);
            put_spread(&l, FIG_COUNT, &ps);
            if (wall > 0 && e <= VITTE_PERF_PAGE_FAULTS)
                lput(&l, "   # %.1f /s", ps.mean / wall);
        }
        lend(out, &l);
    }

    const vitte_command_result *last = &R->last;
    fputc('\n', out);
    if (last->exited)
        fprintf(out, "  exit status %d%s\n", last->exit_code, R->n > 1 ? " (last run)" : "");
    else
        fprintf(out, "  killed by signal %d (%s)%s%s\n", last->signal, strsignal(last->signal),
                last->core_dumped ? ", core dumped" : "", R->n > 1 ? " (last run)" : "");
    fputc('\n', out);
}

/* ---- JSON report ------------------------------------------------------------------ */

static void json_stats(FILE *out, const double *x, size_t n)
{
    vitte_summary s = summarize(x, n);
    fputs("{\"mean\": ", out);
    cli_json_number(out, s.mean);
    fputs(", \"stddev\": ", out);
    cli_json_number(out, s.stddev);
    fputs(", \"min\": ", out);
    cli_json_number(out, s.min);
    fputs(", \"max\": ", out);
    cli_json_number(out, s.max);
    fputs(", \"values\": [", out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", out);
        cli_json_number(out, x[i]);
    }
    fputs("]}", out);
}

static void print_json(FILE *out, char **argv, const struct runs *R)
{
    fputs("{\"command\": [", out);
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (i)
            fputs(", ", out);
        cli_json_string(out, argv[i]);
    }
    fprintf(out, "], \"runs\": %zu", R->n);
    const vitte_command_result *l = &R->last;
    fprintf(out, ", \"exit_status\": %d", l->status);
    if (l->exited)
        fputs(", \"signal\": null", out);
    else
        fprintf(out, ", \"signal\": %d", l->signal);
    fputs(", \"exit_statuses\": [", out);
    for (size_t i = 0; i < R->n; i++)
        fprintf(out, "%s%d", i ? ", " : "", R->status[i]);
    fputc(']', out);
    for (int i = 0; i < N_FIGS; i++) {
        fprintf(out, ", \"%s\": ", figs[i].key);
        json_stats(out, R->fig[i], R->n);
    }
    fputs(", \"perf\": {", out);
    int first = 1;
    for (int e = 0; e < VITTE_PERF_EVENT_COUNT; e++) {
        if (R->perf_status[e] == VITTE_PERF_NOT_REQUESTED)
            continue;
        if (!first)
            fputs(", ", out);
        first = 0;
        cli_json_string(out, vitte_perf_event_name((vitte_perf_event)e));
        fputs(": {\"status\": ", out);
        cli_json_string(out, vitte_perf_status_name(R->perf_status[e]));
        fprintf(out, ", \"user_only\": %s", R->perf_user_only[e] ? "true" : "false");
        fputs(", \"unit\": ", out);
        cli_json_string(out, e == VITTE_PERF_TASK_CLOCK ? "ns" : "");
        if (R->perf_status[e] == VITTE_PERF_OK) {
            fputs(", \"stats\": ", out);
            json_stats(out, R->perf[e], R->n);
        }
        fputc('}', out);
    }
    fputs("}, \"library_version\": ", out);
    cli_json_string(out, vitte_version_string());
    fputs("}\n", out);
}

/* ---- the command -------------------------------------------------------------------- */

static int parse_runs(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > MAX_RUNS)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* A start failure as a shell reports it, and its exit status. */
static int start_failure(char *program, int rc)
{
    switch (rc) {
    case VITTE_ENOENT:
        cli_error("stat", "'%s': command not found", program);
        return EXIT_NOT_FOUND;
    case VITTE_EPERM:
        cli_error("stat", "'%s': permission denied (not an executable file)", program);
        return EXIT_NOT_EXECUTABLE;
    case VITTE_EFORMAT:
        cli_error("stat", "'%s': cannot execute: exec format error", program);
        return EXIT_NOT_EXECUTABLE;
    default:
        cli_error("stat", "cannot run '%s': %s", program, vitte_strerror(rc));
        return EXIT_OWN_FAILURE;
    }
}

int cmd_stat(int argc, char **argv)
{
    struct cli_getopt_state st;
    int json = 0;
    size_t n_runs = 1;
    const char *output = NULL;
    char **prog = NULL;

    cli_getopt_init(&st, "stat", argc, argv);
    while (prog == NULL) {
        int opt = cli_getopt(&st, stat_opts, N_STAT_OPTS);
        switch (opt) {
        case CLI_OPT_END:
            return cli_usage_error("stat", "no program to run (vitte stat [OPTIONS] -- PROGRAM)");
        case OPT_HELP:
            print_help(stdout);
            return CLI_EXIT_OK;
        case OPT_JSON:
            json = 1;
            break;
        case OPT_REPEAT:
            if (parse_runs(st.value, &n_runs) != 0)
                return cli_usage_error("stat", "-r needs a number of runs from 1 to %d, not '%s'",
                                       MAX_RUNS, st.value);
            break;
        case OPT_OUTPUT:
            output = st.value;
            break;
        case CLI_OPT_ARG:
            /* The program: it and everything after it are its own. */
            prog = &argv[st.index - 1];
            break;
        default:
            return CLI_EXIT_USAGE; /* CLI_OPT_ERROR, already reported */
        }
    }

    FILE *out = stderr;
    if (output != NULL && (out = fopen(output, "w")) == NULL) {
        cli_error("stat", "cannot write '%s': %s", output, strerror(errno));
        return EXIT_OWN_FAILURE;
    }

    struct runs R;
    if (runs_alloc(&R, n_runs) != 0) {
        runs_free(&R);
        if (out != stderr)
            fclose(out);
        cli_error("stat", "out of memory");
        return EXIT_OWN_FAILURE;
    }

    struct sigaction saved[N_FORWARDED];
    got_signal = pending_signal = 0;
    install_forwarding(saved);
    int rc = VITTE_OK;
    for (size_t i = 0; i < n_runs && got_signal == 0; i++) {
        vitte_command *cmd;
        rc = vitte_command_start(NULL, prog, &cmd);
        if (rc != VITTE_OK)
            break;
        child_pid = vitte_command_pid(cmd);
        /* A signal that came while the program was being started has not
         * reached it: pass it on now. */
        if (pending_signal != 0)
            kill((pid_t)child_pid, pending_signal);
        vitte_command_result res;
        rc = vitte_command_wait(cmd, &res);
        child_pid = 0;
        vitte_command_destroy(cmd);
        if (rc != VITTE_OK)
            break;
        runs_add(&R, &res);
        /* Interrupted: report what was measured, run no more. */
        if (got_signal != 0 || (!res.exited && (res.signal == SIGINT || res.signal == SIGTERM)))
            break;
    }
    restore_signals(saved);

    int status;
    if (rc != VITTE_OK && R.n == 0) {
        status = start_failure(prog[0], rc);
    } else if (R.n == 0) {
        cli_error("stat", "interrupted by signal %d before '%s' ran", (int)got_signal, prog[0]);
        status = 128 + (int)got_signal;
    } else {
        if (rc != VITTE_OK)
            cli_error("stat", "run %zu of '%s' failed: %s", R.n + 1, prog[0], vitte_strerror(rc));
        if (json)
            print_json(out, prog, &R);
        else
            print_text(out, prog, &R);
        status = R.last.status;
        if (rc != VITTE_OK)
            status = EXIT_OWN_FAILURE;
    }
    runs_free(&R);
    if (out != stderr) {
        int werr = ferror(out);
        if (fclose(out) != 0 || werr) {
            cli_error("stat", "error writing '%s': %s", output, strerror(errno));
            return EXIT_OWN_FAILURE;
        }
    } else if (fflush(out) != 0 || ferror(out)) {
        return EXIT_OWN_FAILURE;
    }
    return status;
}
