/* `vitte bench`: benchmark commands, hyperfine's way, and say whether they
 * differ.
 *
 * Each command runs many times (posix_spawn + wait4: wall, user, system time
 * and peak RSS per run); each gets a summary, a confidence interval of its
 * mean and its outliers (reported, never dropped); two or more get their
 * speed relative to the fastest and a significance verdict against the
 * reference (Welch's t and Mann-Whitney U, p < alpha AND a difference beyond
 * the noise threshold, by vitte_stats_compare()).  --baseline does the same
 * against a saved JSON export, and --fail-if-slower turns a regression into
 * exit status 1, for CI.
 *
 * Helpers: bench_run.c (spawning), bench_json.c (reading baselines),
 * bench_export.c (JSON, CSV, Markdown); docs/cli/vitte-bench.md. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vitte/vitte.h>

#include "bench_common.h"

enum {
    OPT_HELP = 100,
    OPT_WARMUP,
    OPT_MIN_RUNS,
    OPT_MAX_RUNS,
    OPT_RUNS,
    OPT_PREPARE,
    OPT_SETUP,
    OPT_CLEANUP,
    OPT_SCAN,
    OPT_STEP,
    OPT_LIST,
    OPT_NAME,
    OPT_SHELL,
    OPT_NO_SHELL,
    OPT_IGNORE,
    OPT_SHOW_OUTPUT,
    OPT_STYLE,
    OPT_QUIET,
    OPT_UNIT,
    OPT_REFERENCE,
    OPT_ALPHA,
    OPT_NOISE,
    OPT_TEST,
    OPT_STRICT,
    OPT_RESAMPLES,
    OPT_JSON,
    OPT_CSV,
    OPT_MD,
    OPT_BASELINE,
    OPT_FAIL_SLOWER
};

static const struct cli_opt bench_opts[] = {
    {OPT_WARMUP, 'w', "warmup", "N", "N unmeasured runs first (default 0)"},
    {OPT_MIN_RUNS, 'm', "min-runs", "N", "at least N runs (default 10)"},
    {OPT_MAX_RUNS, 'M', "max-runs", "N", "at most N runs (default: no limit)"},
    {OPT_RUNS, 'r', "runs", "N", "exactly N runs (default: >= 10 and >= 3 s)"},
    {OPT_PREPARE, 'p', "prepare", "CMD", "run CMD before each run (see below)"},
    {OPT_SETUP, 's', "setup", "CMD", "run CMD before each command's runs"},
    {OPT_CLEANUP, 'c', "cleanup", "CMD", "run CMD after each command's runs"},
    {OPT_SCAN, 'P', "parameter-scan", "NAME MIN MAX", "a benchmark per {NAME} in MIN..MAX"},
    {OPT_STEP, 'D', "parameter-step-size", "STEP", "the step of -P (default 1)"},
    {OPT_LIST, 'L', "parameter-list", "NAME A,B", "a benchmark per {NAME} in the list"},
    {OPT_NAME, 'n', "command-name", "NAME", "name the next command in the report"},
    {OPT_SHELL, 'S', "shell", "SHELL", "SHELL -c runs commands (default /bin/sh)"},
    {OPT_NO_SHELL, 'N', NULL, NULL, "no shell: split into words, run directly"},
    {OPT_IGNORE, 'i', "ignore-failure", NULL, "keep going when a command exits non-zero"},
    {OPT_SHOW_OUTPUT, 0, "show-output", NULL, "keep the commands' stdout and stderr"},
    {OPT_STYLE, 0, "style", "STYLE", "auto, basic, full, nocolor, color, none"},
    {OPT_QUIET, 'q', "quiet", NULL, "no report, no progress (--style none)"},
    {OPT_UNIT, 'u', "time-unit", "UNIT", "microsecond, millisecond or second"},
    {OPT_REFERENCE, 0, "reference", "CMD", "run CMD first, compare the others to it"},
    {OPT_ALPHA, 0, "alpha", "A", "significance level (default 0.05)"},
    {OPT_NOISE, 0, "noise", "PCT", "smallest change, in % (default 1)"},
    {OPT_TEST, 0, "test", "TEST", "welch (default) or mann-whitney: verdicts"},
    {OPT_STRICT, 0, "strict", NULL, "a change needs its whole CI beyond noise"},
    {OPT_RESAMPLES, 0, "resamples", "B", "bootstrap resamples (10000; 0: none)"},
    {OPT_JSON, 0, "export-json", "FILE", "all runs and figures as JSON (-: stdout)"},
    {OPT_CSV, 0, "export-csv", "FILE", "the summary as CSV"},
    {OPT_MD, 0, "export-markdown", "FILE", "the summary as a Markdown table"},
    {OPT_BASELINE, 0, "baseline", "FILE", "compare with a JSON export, by name"},
    {OPT_FAIL_SLOWER, 0, "fail-if-slower", "PCT", "exit 1 if > PCT % slower than the baseline"},
    {OPT_HELP, 'h', "help", NULL, "show this help"},
};
#define N_BENCH_OPTS (sizeof bench_opts / sizeof bench_opts[0])

static void print_help(FILE *out)
{
    fputs("Usage: vitte bench [options] COMMAND...\n"
          "\n"
          "Run each COMMAND many times and report its time: mean +- standard\n"
          "deviation, median, range, a 95% confidence interval of the mean (Student t\n"
          "and bootstrap), user and system time, peak memory and outliers (reported,\n"
          "never dropped).  With two commands or more: how many times faster the\n"
          "fastest is, with its uncertainty, and whether each command differs\n"
          "significantly from the first (or --reference): Welch's t test and\n"
          "Mann-Whitney U, a change only if p < alpha AND the difference of the means\n"
          "is beyond the noise threshold.  Options and output follow hyperfine's.\n"
          "\n"
          "A COMMAND is one argument, run with /bin/sh -c (whose start-up time is\n"
          "measured and subtracted) or, with -N, split into words and run directly.\n"
          "Its stdin, stdout and stderr are /dev/null.  Each command runs at least\n"
          "10 times and for at least 3 s, unless --runs says how many.  A command\n"
          "that exits non-zero stops everything (exit status 1), unless\n"
          "--ignore-failure.  {NAME} in a command, its name, --prepare, --setup and\n"
          "--cleanup is replaced by the values of -P or -L.  One --prepare is for\n"
          "every command; or give one per command, in order.\n"
          "\n"
          "Options:\n",
          out);
    cli_print_options(out, bench_opts, N_BENCH_OPTS);
    fputs("\n"
          "Examples:\n"
          "  vitte bench 'sleep 0.1' 'sleep 0.12'     which is faster, significantly?\n"
          "  vitte bench -N -w 3 'gzip -kf big.txt'   no shell, 3 warm-up runs\n"
          "  vitte bench -P n 1 4 'make -j{n}'        one benchmark per value of n\n"
          "  vitte bench -n app --export-json base.json ./app-v1\n"
          "  vitte bench -n app --baseline base.json --fail-if-slower 5 ./app-v2\n"
          "\n"
          "Exit status: 0 success, 1 a command failed or is slower than the baseline\n"
          "(--fail-if-slower), 2 usage error (nothing was run).\n"
          "See also: docs/cli/vitte-bench.md\n",
          out);
}

/* ---- options ------------------------------------------------------------------ */

#define MAX_PARAMS 8
#define MAX_VALUES 100000
#define SHELL_RUNS 50 /* runs of the empty command that measure the shell */

struct param {
    const char *name;
    char **values; /* allocated */
    size_t n;
};

enum style { STYLE_AUTO, STYLE_BASIC, STYLE_FULL, STYLE_NOCOLOR, STYLE_COLOR, STYLE_NONE };

struct options {
    unsigned long warmup, runs, min_runs, max_runs; /* runs, max_runs: 0 = not set */
    double min_time;
    const char **prepare;
    size_t n_prepare;
    const char *setup, *cleanup;
    const char **names;
    size_t n_names;
    const char **commands;
    size_t n_commands;
    struct param params[MAX_PARAMS];
    size_t n_params;
    const char *scan_name, *scan_min, *scan_max, *scan_step;
    char **shell; /* words; NULL: -N */
    int ignore_failure, show_output;
    enum style style;
    enum bench_unit unit;
    const char *reference;
    double alpha, noise, fail_if_slower;
    int test, strict;
    unsigned long resamples;
    const char *export_json, *export_csv, *export_md, *baseline;
};

static int parse_ulong(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long x = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || x > max)
        return -1;
    *v = x;
    return 0;
}

static int parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno != 0 || end == s || (*end != '\0' && strcmp(end, "%") != 0) || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

/* A plain decimal number (what -P accepts): digits after the point, or -1. */
static int decimals_of(const char *s)
{
    const char *p = s + (*s == '-');
    int digits = 0, dec = -1;
    for (; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            digits++;
            if (dec >= 0)
                dec++;
        } else if (*p == '.' && dec < 0) {
            dec = 0;
        } else {
            return -1;
        }
    }
    if (digits == 0 || dec == 0)
        return -1;
    return dec < 0 ? 0 : dec;
}

static void free_params(struct options *o)
{
    for (size_t i = 0; i < o->n_params; i++)
        bench_free_words(o->params[i].values);
}

static int add_param(struct options *o, const char *name)
{
    if (name[0] == '\0' || strpbrk(name, "{}") != NULL)
        return cli_usage_error("bench", "a parameter name cannot be empty or hold braces: '%s'",
                               name);
    for (size_t i = 0; i < o->n_params; i++)
        if (strcmp(o->params[i].name, name) == 0)
            return cli_usage_error("bench", "parameter '%s' given twice", name);
    if (o->n_params == MAX_PARAMS)
        return cli_usage_error("bench", "at most %d parameters", MAX_PARAMS);
    o->params[o->n_params].name = name;
    o->params[o->n_params].values = NULL;
    o->params[o->n_params].n = 0;
    o->n_params++;
    return CLI_EXIT_OK;
}

/* -P NAME MIN MAX [-D STEP]: MIN, MIN + STEP, ... up to MAX, printed with
 * as many decimals as the most precise of the three. */
static int scan_values(struct options *o)
{
    struct param *pa = NULL;
    for (size_t i = 0; i < o->n_params; i++)
        if (o->params[i].name == o->scan_name)
            pa = &o->params[i];
    const char *step_s = o->scan_step != NULL ? o->scan_step : "1";
    int d0 = decimals_of(o->scan_min), d1 = decimals_of(o->scan_max), d2 = decimals_of(step_s);
    if (d0 < 0 || d1 < 0 || d2 < 0)
        return cli_usage_error("bench", "-P and -D want plain decimal numbers: '%s' '%s' '%s'",
                               o->scan_min, o->scan_max, step_s);
    int dec = d0 > d1 ? d0 : d1;
    dec = dec > d2 ? dec : d2;
    if (dec > 9)
        return cli_usage_error("bench", "-P and -D: at most 9 decimals");
    double lo = strtod(o->scan_min, NULL), hi = strtod(o->scan_max, NULL);
    double step = strtod(step_s, NULL);
    if (!(step > 0))
        return cli_usage_error("bench", "the step of -P must be positive, not '%s'", step_s);
    if (hi < lo)
        return cli_usage_error("bench", "-P %s %s %s: MIN is above MAX", pa->name, o->scan_min,
                               o->scan_max);
    /* counted in units of the last decimal, so 0.1 steps do not drift */
    const double unit = pow(10.0, dec);
    const double a = round(lo * unit), b = round(hi * unit), s = round(step * unit);
    const double count = floor((b - a) / s) + 1;
    if (count > MAX_VALUES)
        return cli_usage_error("bench", "-P gives %.0f values; at most %d", count, MAX_VALUES);
    pa->values = calloc((size_t)count + 1, sizeof *pa->values);
    if (pa->values == NULL)
        return cli_usage_error("bench", "out of memory");
    for (size_t i = 0; i < (size_t)count; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*f", dec, (a + (double)i * s) / unit);
        if (strcmp(buf, "-0") == 0)
            strcpy(buf, "0");
        if ((pa->values[i] = strdup(buf)) == NULL)
            return cli_usage_error("bench", "out of memory");
        pa->n++;
    }
    return CLI_EXIT_OK;
}

static int list_values(struct param *pa, const char *list)
{
    size_t n = 1;
    for (const char *p = list; *p != '\0'; p++)
        n += *p == ',';
    pa->values = calloc(n + 1, sizeof *pa->values);
    if (pa->values == NULL)
        return cli_usage_error("bench", "out of memory");
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if ((pa->values[pa->n] = strndup(p, len)) == NULL)
            return cli_usage_error("bench", "out of memory");
        pa->n++;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return CLI_EXIT_OK;
}

static int set_shell(struct options *o, const char *s)
{
    bench_free_words(o->shell);
    o->shell = NULL;
    if (strcmp(s, "none") == 0)
        return CLI_EXIT_OK;
    if (strcmp(s, "default") == 0)
        s = "/bin/sh";
    size_t n;
    const char *why;
    if (bench_split_words(s, &o->shell, &n, &why) != 0)
        return cli_usage_error("bench", "--shell '%s': %s", s, why);
    if (n == 0)
        return cli_usage_error("bench", "--shell wants a shell, 'default' or 'none'");
    return CLI_EXIT_OK;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    struct cli_getopt_state st;
    unsigned long v;
    double d;
    int rc;

    cli_getopt_init(&st, "bench", argc, argv);
    for (;;) {
        int id = cli_getopt(&st, bench_opts, N_BENCH_OPTS);
        if (id == CLI_OPT_END)
            break;
        switch (id) {
        case CLI_OPT_ARG:
            o->commands[o->n_commands++] = st.value;
            break;
        case OPT_HELP:
            print_help(stdout);
            return -1;
        case OPT_WARMUP:
        case OPT_MIN_RUNS:
        case OPT_MAX_RUNS:
        case OPT_RUNS:
            if (parse_ulong(st.value, 100000000, &v) != 0 || (v == 0 && id != OPT_WARMUP))
                return cli_usage_error("bench", "--%s wants a whole number%s, not '%s'",
                                       id == OPT_WARMUP     ? "warmup"
                                       : id == OPT_MIN_RUNS ? "min-runs"
                                       : id == OPT_MAX_RUNS ? "max-runs"
                                                            : "runs",
                                       id == OPT_WARMUP ? "" : " >= 1", st.value);
            if (id == OPT_WARMUP)
                o->warmup = v;
            else if (id == OPT_MIN_RUNS)
                o->min_runs = v;
            else if (id == OPT_MAX_RUNS)
                o->max_runs = v;
            else
                o->runs = v;
            break;
        case OPT_PREPARE:
            o->prepare[o->n_prepare++] = st.value;
            break;
        case OPT_SETUP:
            o->setup = st.value;
            break;
        case OPT_CLEANUP:
            o->cleanup = st.value;
            break;
        case OPT_SCAN:
            if (o->scan_name != NULL)
                return cli_usage_error("bench", "-P can be given once (-L more times)");
            if (st.index + 2 > argc)
                return cli_usage_error("bench", "-P wants three values: NAME MIN MAX");
            o->scan_name = st.value;
            o->scan_min = argv[st.index++];
            o->scan_max = argv[st.index++];
            if ((rc = add_param(o, o->scan_name)) != CLI_EXIT_OK)
                return rc;
            break;
        case OPT_STEP:
            o->scan_step = st.value;
            break;
        case OPT_LIST:
            if (st.index + 1 > argc)
                return cli_usage_error("bench", "-L wants two values: NAME A,B,...");
            if ((rc = add_param(o, st.value)) != CLI_EXIT_OK ||
                (rc = list_values(&o->params[o->n_params - 1], argv[st.index++])) != CLI_EXIT_OK)
                return rc;
            break;
        case OPT_NAME:
            o->names[o->n_names++] = st.value;
            break;
        case OPT_SHELL:
            if ((rc = set_shell(o, st.value)) != CLI_EXIT_OK)
                return rc;
            break;
        case OPT_NO_SHELL:
            set_shell(o, "none");
            break;
        case OPT_IGNORE:
            o->ignore_failure = 1;
            break;
        case OPT_SHOW_OUTPUT:
            o->show_output = 1;
            break;
        case OPT_STYLE: {
            static const char *const styles[] = {"auto",    "basic", "full",
                                                 "nocolor", "color", "none"};
            size_t k = 0;
            while (k < 6 && strcmp(styles[k], st.value) != 0)
                k++;
            if (k == 6)
                return cli_usage_error("bench",
                                       "--style is auto, basic, full, nocolor, color "
                                       "or none, not '%s'",
                                       st.value);
            o->style = (enum style)k;
            break;
        }
        case OPT_QUIET:
            o->style = STYLE_NONE;
            break;
        case OPT_UNIT:
            if (strcmp(st.value, "microsecond") == 0 || strcmp(st.value, "us") == 0)
                o->unit = BENCH_UNIT_US;
            else if (strcmp(st.value, "millisecond") == 0 || strcmp(st.value, "ms") == 0)
                o->unit = BENCH_UNIT_MS;
            else if (strcmp(st.value, "second") == 0 || strcmp(st.value, "s") == 0)
                o->unit = BENCH_UNIT_S;
            else
                return cli_usage_error(
                    "bench", "--time-unit is microsecond, millisecond or second, not '%s'",
                    st.value);
            break;
        case OPT_REFERENCE:
            o->reference = st.value;
            break;
        case OPT_ALPHA:
            if (parse_double(st.value, &d) != 0 || !(d > 0 && d < 1))
                return cli_usage_error("bench", "--alpha wants a number in (0, 1), not '%s'",
                                       st.value);
            o->alpha = d;
            break;
        case OPT_NOISE:
            if (parse_double(st.value, &d) != 0 || d < 0 || d >= 1000)
                return cli_usage_error("bench", "--noise wants a percentage >= 0, not '%s'",
                                       st.value);
            o->noise = d / 100.0;
            break;
        case OPT_TEST:
            if (strcmp(st.value, "welch") == 0)
                o->test = VITTE_STATS_TEST_WELCH;
            else if (strcmp(st.value, "mann-whitney") == 0)
                o->test = VITTE_STATS_TEST_MANN_WHITNEY;
            else
                return cli_usage_error("bench", "--test is welch or mann-whitney, not '%s'",
                                       st.value);
            break;
        case OPT_STRICT:
            o->strict = 1;
            break;
        case OPT_RESAMPLES:
            if (parse_ulong(st.value, 10000000, &v) != 0)
                return cli_usage_error("bench", "--resamples wants a whole number, not '%s'",
                                       st.value);
            o->resamples = v;
            break;
        case OPT_JSON:
            o->export_json = st.value;
            break;
        case OPT_CSV:
            o->export_csv = st.value;
            break;
        case OPT_MD:
            o->export_md = st.value;
            break;
        case OPT_BASELINE:
            o->baseline = st.value;
            break;
        case OPT_FAIL_SLOWER:
            if (parse_double(st.value, &d) != 0 || d < 0)
                return cli_usage_error("bench",
                                       "--fail-if-slower wants a percentage >= 0, not "
                                       "'%s'",
                                       st.value);
            o->fail_if_slower = d;
            break;
        default:
            return CLI_EXIT_USAGE; /* reported */
        }
    }

    if (o->scan_name != NULL && (rc = scan_values(o)) != CLI_EXIT_OK)
        return rc;
    if (o->n_commands == 0)
        return cli_usage_error("bench", "no command to benchmark (vitte bench 'CMD' ...)");
    if (o->n_names > o->n_commands)
        return cli_usage_error("bench", "%zu names (-n) for %zu commands", o->n_names,
                               o->n_commands);
    if (o->n_prepare > 1 && o->n_prepare != o->n_commands)
        return cli_usage_error("bench",
                               "--prepare: give one for all commands, or one per command "
                               "(%zu for %zu)",
                               o->n_prepare, o->n_commands);
    if (o->scan_step != NULL && o->scan_name == NULL)
        return cli_usage_error("bench", "-D is the step of -P, which is missing");
    if (o->runs == 0 && o->max_runs != 0 && o->min_runs > o->max_runs)
        return cli_usage_error("bench", "--min-runs %lu is above --max-runs %lu", o->min_runs,
                               o->max_runs);
    if (o->strict && o->resamples == 0)
        return cli_usage_error("bench", "--strict needs the bootstrap (--resamples > 0)");
    if (o->fail_if_slower >= 0 && o->baseline == NULL)
        return cli_usage_error("bench", "--fail-if-slower needs --baseline FILE");
    int to_stdout = 0;
    const char *outs[] = {o->export_json, o->export_csv, o->export_md};
    for (size_t i = 0; i < 3; i++)
        to_stdout += outs[i] != NULL && strcmp(outs[i], "-") == 0;
    if (to_stdout > 1)
        return cli_usage_error("bench", "only one export can go to stdout ('-')");
    return CLI_EXIT_OK;
}

/* ---- the benchmarks to run -------------------------------------------------- */

static char *substitute(const char *s, const struct options *o, const size_t *pick)
{
    if (s == NULL)
        return NULL;
    size_t cap = strlen(s) + 1, len = 0;
    char *r = malloc(cap);
    if (r == NULL)
        return NULL;
    for (const char *p = s; *p != '\0';) {
        const char *val = NULL;
        size_t skip = 1;
        if (*p == '{') {
            for (size_t i = 0; i < o->n_params && val == NULL; i++) {
                size_t nl = strlen(o->params[i].name);
                if (strncmp(p + 1, o->params[i].name, nl) == 0 && p[1 + nl] == '}') {
                    val = o->params[i].values[pick[i]];
                    skip = nl + 2;
                }
            }
        }
        size_t add = val != NULL ? strlen(val) : 1;
        if (len + add + 1 > cap) {
            cap = 2 * (len + add + 1);
            char *g = realloc(r, cap);
            if (g == NULL) {
                free(r);
                return NULL;
            }
            r = g;
        }
        if (val != NULL)
            memcpy(r + len, val, add);
        else
            r[len] = *p;
        len += add;
        p += skip;
    }
    r[len] = '\0';
    return r;
}

static void free_result(struct bench_result *b)
{
    free(b->name);
    free(b->command);
    free(b->prepare);
    free(b->setup);
    free(b->cleanup);
    free(b->params);
    free(b->times);
    free(b->user);
    free(b->system);
    free(b->rss);
    free(b->exit_codes);
    free(b->tukey_idx);
    free(b->mz_idx);
}

static int init_result(struct bench_result *b, const struct options *o, const char *cmd,
                       const char *name, const char *prepare, const size_t *pick)
{
    memset(b, 0, sizeof *b);
    b->command = substitute(cmd, o, pick);
    b->name = substitute(name != NULL ? name : cmd, o, pick);
    b->prepare = substitute(prepare, o, pick);
    b->setup = substitute(o->setup, o, pick);
    b->cleanup = substitute(o->cleanup, o, pick);
    if (b->command == NULL || b->name == NULL || (prepare && !b->prepare) ||
        (o->setup && !b->setup) || (o->cleanup && !b->cleanup))
        return -1;
    if (pick != NULL && o->n_params > 0) {
        b->params = calloc(o->n_params, sizeof *b->params);
        if (b->params == NULL)
            return -1;
        b->n_params = o->n_params;
        for (size_t i = 0; i < o->n_params; i++) {
            b->params[i].name = o->params[i].name;
            b->params[i].value = o->params[i].values[pick[i]];
        }
    }
    return 0;
}

/* The reference (if any), then each command with each combination of the
 * parameters' values (the last parameter varying fastest). */
static struct bench_result *plan(const struct options *o, size_t *n_out)
{
    size_t combos = 1;
    for (size_t i = 0; i < o->n_params; i++)
        combos *= o->params[i].n;
    size_t n = o->n_commands * combos + (o->reference != NULL);
    if (combos > MAX_VALUES || n > MAX_VALUES) {
        cli_error("bench", "%zu benchmarks: too many", n);
        return NULL;
    }
    struct bench_result *res = calloc(n, sizeof *res);
    if (res == NULL)
        return NULL;
    size_t k = 0;
    if (o->reference != NULL)
        if (init_result(&res[k++], o, o->reference, NULL, o->n_prepare == 1 ? o->prepare[0] : NULL,
                        NULL) != 0)
            goto nomem;
    size_t pick[MAX_PARAMS] = {0};
    for (size_t c = 0; c < o->n_commands; c++) {
        memset(pick, 0, sizeof pick);
        for (size_t j = 0; j < combos; j++) {
            const char *prep = o->n_prepare == 0   ? NULL
                               : o->n_prepare == 1 ? o->prepare[0]
                                                   : o->prepare[c];
            if (init_result(&res[k++], o, o->commands[c], c < o->n_names ? o->names[c] : NULL, prep,
                            pick) != 0)
                goto nomem;
            for (size_t i = o->n_params; i-- > 0;) { /* next combination */
                if (++pick[i] < o->params[i].n)
                    break;
                pick[i] = 0;
            }
        }
    }
    *n_out = n;
    return res;
nomem:
    cli_error("bench", "out of memory");
    for (size_t i = 0; i < k; i++)
        free_result(&res[i]);
    free(res);
    return NULL;
}

/* ---- the terminal --------------------------------------------------------------- */

struct term {
    FILE *out; /* the report: stdout, or stderr when an export goes to stdout */
    int report, progress, color;
    double last_draw;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *bold(const struct term *t)
{
    return t->color ? "\033[1m" : "";
}
static const char *green(const struct term *t)
{
    return t->color ? "\033[1;32m" : "";
}
static const char *red(const struct term *t)
{
    return t->color ? "\033[1;31m" : "";
}
static const char *reset(const struct term *t)
{
    return t->color ? "\033[0m" : "";
}

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return 80;
}

static void fmt_time(char *buf, size_t len, double v, enum bench_unit u)
{
    snprintf(buf, len, "%.*f %s", u == BENCH_UNIT_S ? 3 : 1, v * bench_unit_scale(u),
             bench_unit_name(u));
}

/* "\r" + the bar + clear to the end of the line, on stderr. */
static void progress(struct term *t, const char *what, size_t done, size_t total, double mean,
                     double eta, enum bench_unit unit, int force)
{
    if (!t->progress)
        return;
    double now = now_s();
    if (!force && now - t->last_draw < 0.1)
        return;
    t->last_draw = now;
    char est[64] = "";
    if (mean > 0 && isfinite(mean)) {
        char tb[32];
        fmt_time(tb, sizeof tb, mean, bench_unit_for(mean, unit));
        snprintf(est, sizeof est, "Current estimate: %s  ", tb);
    }
    int width = term_width();
    int bar = width - 60;
    bar = bar > 40 ? 40 : bar < 10 ? 10 : bar;
    int fill = total > 0 ? (int)((double)bar * (double)done / (double)total) : 0;
    fill = fill > bar ? bar : fill;
    char buf[512];
    int k = snprintf(buf, sizeof buf, "\r  %s%s ", what, est);
    for (int i = 0; i < bar && k < (int)sizeof buf - 8; i++) {
        memcpy(buf + k, i < fill ? "\xe2\x96\x88" : "\xe2\x96\x91", 3); /* full, light shade */
        k += 3;
    }
    buf[k] = '\0';
    fprintf(stderr, "%s %zu/%zu", buf, done, total);
    if (isfinite(eta) && eta >= 0)
        fprintf(stderr, " ETA %02d:%02d:%02d", (int)(eta / 3600), (int)fmod(eta / 60, 60),
                (int)fmod(eta, 60));
    fputs("\033[K", stderr);
    fflush(stderr);
}

static void progress_clear(struct term *t)
{
    if (t->progress) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

/* ---- running ------------------------------------------------------------------------ */

/* What a run's wait status means, for a message. */
static void describe_status(char *buf, size_t len, int st)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, len, "ended with wait status %#x", (unsigned)st);
}

static int failed(int st)
{
    return !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

struct runner {
    const struct options *o;
    struct bench_io io;
    struct term *term;
    double shell_wall, shell_user, shell_system; /* subtracted from each run */
};

/* Runs an auxiliary command (--setup, --prepare, --cleanup); its failure
 * stops everything.  Returns 0 or -1 (reported). */
static int run_aux(struct runner *R, const struct bench_prog *p, const char *opt, const char *cmd)
{
    struct bench_measure m;
    char why[128];
    int rc = bench_prog_run(p, &R->io, R->o->show_output, &m);
    if (rc != 0) {
        progress_clear(R->term);
        cli_error("bench", "cannot run the %s command '%s': %s", opt, cmd, strerror(rc));
        return -1;
    }
    if (failed(m.status)) {
        progress_clear(R->term);
        describe_status(why, sizeof why, m.status);
        cli_error("bench", "the %s command '%s' %s", opt, cmd, why);
        return -1;
    }
    return 0;
}

struct progs {
    struct bench_prog cmd, prepare, setup, cleanup;
};

static void free_progs(struct progs *p)
{
    bench_prog_free(&p->cmd);
    bench_prog_free(&p->prepare);
    bench_prog_free(&p->setup);
    bench_prog_free(&p->cleanup);
}

static int make_progs(const struct options *o, const struct bench_result *b, struct progs *p)
{
    char err[512];
    memset(p, 0, sizeof *p);
    const char *cmds[4] = {b->command, b->prepare, b->setup, b->cleanup};
    struct bench_prog *dst[4] = {&p->cmd, &p->prepare, &p->setup, &p->cleanup};
    for (int i = 0; i < 4; i++) {
        if (cmds[i] == NULL)
            continue;
        int rc = bench_prog_init(dst[i], cmds[i], o->shell, err, sizeof err);
        if (rc != 0) {
            free_progs(p);
            if (rc > 0)
                return cli_usage_error("bench", "%s", err);
            cli_error("bench", "%s", err);
            return -1;
        }
    }
    return 0;
}

static int add_run(struct bench_result *b, const struct bench_measure *m, const struct runner *R)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 64;
        double *t = realloc(b->times, nc * sizeof *t);
        if (t != NULL)
            b->times = t;
        double *u = realloc(b->user, nc * sizeof *u);
        if (u != NULL)
            b->user = u;
        double *s = realloc(b->system, nc * sizeof *s);
        if (s != NULL)
            b->system = s;
        int64_t *r = realloc(b->rss, nc * sizeof *r);
        if (r != NULL)
            b->rss = r;
        int32_t *e = realloc(b->exit_codes, nc * sizeof *e);
        if (e != NULL)
            b->exit_codes = e;
        if (t == NULL || u == NULL || s == NULL || r == NULL || e == NULL)
            return -1;
        b->cap = nc;
    }
    /* as hyperfine: the shell's own start-up, measured beforehand, is not
     * the command's time */
    b->times[b->n] = fmax(m->wall - R->shell_wall, 0.0);
    b->user[b->n] = fmax(m->user - R->shell_user, 0.0);
    b->system[b->n] = fmax(m->system - R->shell_system, 0.0);
    b->rss[b->n] = m->maxrss;
    b->exit_codes[b->n] = WIFEXITED(m->status) ? WEXITSTATUS(m->status) : BENCH_SIGNALED;
    b->failed += failed(m->status) != 0;
    b->n++;
    return 0;
}

/* Runs the command; on failure (and no --ignore-failure) reports and
 * returns -1. */
static int run_cmd(struct runner *R, const struct bench_result *b, const struct progs *p,
                   struct bench_measure *m)
{
    if (p->prepare.path != NULL && run_aux(R, &p->prepare, "--prepare", b->prepare) != 0)
        return -1;
    int rc = bench_prog_run(&p->cmd, &R->io, R->o->show_output, m);
    if (rc != 0) {
        progress_clear(R->term);
        cli_error("bench", "cannot run '%s': %s", b->command, strerror(rc));
        return -1;
    }
    if (failed(m->status) && !R->o->ignore_failure) {
        char why[128];
        progress_clear(R->term);
        describe_status(why, sizeof why, m->status);
        cli_error("bench",
                  "command '%s' %s; use --ignore-failure (-i) to benchmark it all the same",
                  b->command, why);
        return -1;
    }
    return 0;
}

static int run_benchmark(struct runner *R, struct bench_result *b, size_t index)
{
    const struct options *o = R->o;
    struct term *t = R->term;
    struct progs p;
    struct bench_measure m;
    int ret = -1;

    if (make_progs(o, b, &p) != 0)
        return -1;
    if (t->report) {
        fprintf(t->out, "%sBenchmark %zu: %s%s\n", bold(t), index + 1, b->name, reset(t));
        fflush(t->out);
    }
    if (p.setup.path != NULL && run_aux(R, &p.setup, "--setup", b->setup) != 0)
        goto out;
    for (unsigned long i = 0; i < o->warmup; i++) {
        progress(t, "Performing warmup runs ", i, o->warmup, NAN, NAN, o->unit, i == 0);
        if (run_cmd(R, b, &p, &m) != 0)
            goto out;
    }

    const double start = now_s();
    size_t total = o->runs ? o->runs : o->min_runs;
    for (;;) {
        if (run_cmd(R, b, &p, &m) != 0)
            goto out;
        if (add_run(b, &m, R) != 0) {
            progress_clear(t);
            cli_error("bench", "out of memory");
            goto out;
        }
        const double elapsed = now_s() - start, per = elapsed / (double)b->n;
        if (o->runs) {
            if (b->n >= o->runs)
                break;
        } else {
            if (o->max_runs && b->n >= o->max_runs)
                break;
            if (b->n >= o->min_runs && elapsed >= o->min_time)
                break;
            /* the number of runs that will fill min_time, for the bar */
            double want = ceil(o->min_time / fmax(per, 1e-9));
            want = fmax(want, (double)o->min_runs);
            if (o->max_runs)
                want = fmin(want, (double)o->max_runs);
            total = (size_t)fmax(want, (double)b->n + 1);
        }
        double sum = 0;
        for (size_t i = 0; i < b->n; i++)
            sum += b->times[i];
        progress(t, "", b->n, total, sum / (double)b->n, per * (double)(total - b->n), o->unit, 0);
    }
    progress_clear(t);
    if (p.cleanup.path != NULL && run_aux(R, &p.cleanup, "--cleanup", b->cleanup) != 0)
        goto out;
    ret = 0;
out:
    free_progs(&p);
    return ret;
}

/* The shell's own start-up and exit, measured with the empty command: the
 * median wall time (robust to a busy machine) and the mean CPU times. */
static int measure_shell(struct runner *R)
{
    struct bench_prog p;
    char err[512];
    double wall[SHELL_RUNS], user = 0, sys = 0;

    if (bench_prog_init(&p, "", R->o->shell, err, sizeof err) != 0) {
        cli_error("bench", "the shell: %s", err);
        return -1;
    }
    progress(R->term, "Measuring the shell's start-up time ", 0, SHELL_RUNS, NAN, NAN, R->o->unit,
             1);
    for (int i = -5; i < SHELL_RUNS; i++) { /* 5 warm-up runs */
        struct bench_measure m;
        int rc = bench_prog_run(&p, &R->io, 0, &m);
        if (rc != 0 || failed(m.status)) {
            char why[128];
            progress_clear(R->term);
            if (rc != 0)
                snprintf(why, sizeof why, "cannot be run: %s", strerror(rc));
            else
                describe_status(why, sizeof why, m.status);
            cli_error("bench",
                      "the shell '%s' %s (running the empty command); -N runs "
                      "commands without a shell",
                      p.path, why);
            bench_prog_free(&p);
            return -1;
        }
        if (i >= 0) {
            wall[i] = m.wall;
            user += m.user;
            sys += m.system;
        }
    }
    progress_clear(R->term);
    bench_prog_free(&p);
    R->shell_wall = vitte_stats_quantile(wall, SHELL_RUNS, 0.5);
    R->shell_user = user / SHELL_RUNS;
    R->shell_system = sys / SHELL_RUNS;
    return 0;
}

/* ---- statistics --------------------------------------------------------------------- */

static void figures(struct bench_result *b, unsigned resamples)
{
    const size_t n = b->n;
    if (vitte_stats_summary(b->times, n, &b->s) != VITTE_OK) {
        memset(&b->s, 0, sizeof b->s);
        b->s.mean = b->s.stddev = b->s.median = b->s.min = b->s.max = NAN;
        b->s.mad = b->s.cv = b->s.stderr_mean = NAN;
    }
    double u = 0, s = 0;
    b->rss_max = 0;
    for (size_t i = 0; i < n; i++) {
        u += b->user[i];
        s += b->system[i];
        if (b->rss[i] > b->rss_max)
            b->rss_max = b->rss[i];
    }
    b->user_mean = n ? u / (double)n : NAN;
    b->system_mean = n ? s / (double)n : NAN;
    b->ci_lo = b->ci_hi = NAN;
    b->rel = b->rel_sd = b->rel_lo = b->rel_hi = NAN;
    if (n >= 2)
        vitte_stats_mean_ci(b->times, n, 0.95, &b->ci_lo, &b->ci_hi);
    if (n >= 2 && resamples > 0) {
        vitte_stats_bootstrap_options bo;
        vitte_stats_bootstrap_options_init(&bo);
        bo.resamples = resamples;
        b->have_boot = vitte_stats_bootstrap_mean_ci(b->times, n, &bo, &b->boot) == VITTE_OK;
    }

    /* outliers: Tukey's fences and the modified z-score (3.5, Iglewicz and
     * Hoaglin); hyperfine's warning threshold is |z| > 10 */
    if (n < 3)
        return;
    double *scores = malloc(n * sizeof *scores);
    b->tukey_idx = malloc(n * sizeof *b->tukey_idx);
    b->mz_idx = malloc(n * sizeof *b->mz_idx);
    if (scores != NULL && b->tukey_idx != NULL && b->mz_idx != NULL &&
        vitte_stats_outliers_tukey(b->times, n, &b->tukey, NULL, b->tukey_idx) == VITTE_OK &&
        vitte_stats_outliers_mzscore(b->times, n, VITTE_STATS_MZ_THRESHOLD, &b->mz, NULL, b->mz_idx,
                                     scores) == VITTE_OK) {
        b->have_outliers = 1;
        for (size_t i = 0; i < n; i++)
            b->n_extreme += fabs(scores[i]) > 10.0;
        b->slow_first = scores[0] > 10.0;
    }
    free(scores);
}

static void compare(struct bench_cmp *c, const char *against, const double *base, size_t nb,
                    const struct bench_result *b, const struct options *o)
{
    memset(c, 0, sizeof *c);
    c->against = against;
    if (nb < 2 || b->n < 2) {
        c->why_not = "fewer than 2 runs";
        return;
    }
    vitte_stats_compare_options co;
    vitte_stats_compare_options_init(&co);
    co.alpha = o->alpha;
    co.noise = o->noise;
    co.test = (uint32_t)o->test;
    co.strict = o->strict;
    co.bootstrap.resamples = o->resamples > 0 ? (uint32_t)o->resamples : 1;
    int rc = vitte_stats_compare(base, nb, b->times, b->n, &co, &c->c);
    if (rc != VITTE_OK) {
        c->why_not = rc == VITTE_EINVAL ? "a mean time of 0" : vitte_strerror(rc);
        return;
    }
    if (o->resamples == 0)
        c->c.rel_diff_lo = c->c.rel_diff_hi = NAN;
    vitte_test_result w, mw;
    if (vitte_stats_welch_t(b->times, b->n, base, nb, &w) != VITTE_OK) {
        /* both constant: vitte_stats_compare's convention */
        w.statistic = c->c.rel_diff == 0 ? NAN : copysign(INFINITY, c->c.rel_diff);
        w.p_value = c->c.rel_diff == 0 ? 1.0 : 0.0;
        w.df = NAN;
    }
    if (vitte_stats_mann_whitney(b->times, b->n, base, nb, &mw) != VITTE_OK)
        mw.statistic = mw.p_value = NAN;
    c->welch_t = w.statistic;
    c->welch_df = w.df;
    c->welch_p = w.p_value;
    c->mw_u = mw.statistic;
    c->mw_p = mw.p_value;
    c->other_n = nb;
    c->other_mean = c->c.mean_base;
    c->done = 1;
}

/* Speeds relative to the fastest (or the reference): hyperfine's ratio and
 * its standard deviation by first-order propagation of the two standard
 * deviations, and a percentile-bootstrap CI of the ratio of means. */
static void relative(struct bench_result *res, size_t n, size_t f, unsigned resamples)
{
    const struct bench_result *F = &res[f];
    for (size_t k = 0; k < n; k++) {
        struct bench_result *b = &res[k];
        if (k == f) {
            b->rel = 1.0;
            b->rel_sd = 0.0;
            continue;
        }
        if (!(F->s.mean > 0))
            continue;
        b->rel = b->s.mean / F->s.mean;
        if (b->n >= 2 && F->n >= 2 && b->s.mean > 0)
            b->rel_sd =
                b->rel * sqrt(pow(b->s.stddev / b->s.mean, 2) + pow(F->s.stddev / F->s.mean, 2));
        if (resamples > 0 && b->n >= 2 && F->n >= 2) {
            vitte_stats_bootstrap_options bo;
            vitte_ci ci;
            vitte_stats_bootstrap_options_init(&bo);
            bo.resamples = resamples;
            if (vitte_stats_bootstrap_ratio_ci(b->times, b->n, F->times, F->n, &bo, &ci) ==
                VITTE_OK) {
                b->rel_lo = ci.lo;
                b->rel_hi = ci.hi;
            }
        }
    }
}

/* ---- baseline ---------------------------------------------------------------------- */

struct baseline {
    struct bjson *doc;
    const struct bjson *results;
};

static int load_baseline(const char *path, struct baseline *bl)
{
    memset(bl, 0, sizeof *bl);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cli_error("bench", "cannot open the baseline %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (;;) {
        if (text == NULL)
            break;
        len += fread(text + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *g = realloc(text, 2 * cap);
        if (g == NULL) {
            free(text);
            text = NULL;
            break;
        }
        text = g;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (text == NULL || err) {
        free(text);
        cli_error("bench", "cannot read the baseline %s", path);
        return -1;
    }
    char msg[256];
    bl->doc = bjson_parse(text, len, msg, sizeof msg);
    free(text);
    if (bl->doc == NULL) {
        cli_error("bench", "the baseline %s is not JSON: %s", path, msg);
        return -1;
    }
    bl->results = bjson_get(bl->doc, "results");
    if (bl->results == NULL || bl->results->type != BJSON_ARRAY) {
        cli_error("bench", "the baseline %s has no \"results\" array (not an --export-json file)",
                  path);
        bjson_free(bl->doc);
        return -1;
    }
    return 0;
}

/* The times of the baseline's command named name: an allocated array, or
 * NULL with *why set. */
static double *baseline_times(const struct baseline *bl, const char *name, size_t *n,
                              const char **why)
{
    *n = 0;
    for (size_t i = 0; i < bl->results->n; i++) {
        const struct bjson *r = &bl->results->items[i];
        const struct bjson *cmd = bjson_get(r, "command");
        if (cmd == NULL || cmd->type != BJSON_STRING || strcmp(cmd->string, name) != 0)
            continue;
        const struct bjson *t = bjson_get(r, "times");
        if (t == NULL || t->type != BJSON_ARRAY) {
            *why = "no \"times\" for it in the baseline";
            return NULL;
        }
        double *x = malloc((t->n + 1) * sizeof *x);
        if (x == NULL) {
            *why = "out of memory";
            return NULL;
        }
        for (size_t j = 0; j < t->n; j++)
            if (t->items[j].type == BJSON_NUMBER && isfinite(t->items[j].number))
                x[(*n)++] = t->items[j].number;
        return x;
    }
    *why = "not in the baseline";
    return NULL;
}

/* ---- the report ----------------------------------------------------------------------- */

/* Pads s (UTF-8) to width columns on the left. */
static void put_padded(FILE *out, const char *s, int width)
{
    int cols = 0;
    for (const char *p = s; *p != '\0'; p++)
        cols += ((unsigned char)*p & 0xC0) != 0x80;
    for (; cols < width; cols++)
        fputc(' ', out);
    fputs(s, out);
}

static void print_result(const struct term *t, const struct bench_result *b, const struct runner *R)
{
    FILE *out = t->out;
    const enum bench_unit u = bench_unit_for(b->s.mean, R->o->unit);
    char a[32], c[32], us[32], sy[32];

    fmt_time(us, sizeof us, b->user_mean, u);
    fmt_time(sy, sizeof sy, b->system_mean, u);
    fmt_time(a, sizeof a, b->s.mean, u);
    if (b->n < 2) {
        fputs("  Time (abs ≡):      ", out);
        put_padded(out, a, 9);
        fprintf(out, "               [User: %s, System: %s]\n", us, sy);
    } else {
        fmt_time(c, sizeof c, b->s.stddev, u);
        fputs("  Time (mean ± σ):   ", out);
        put_padded(out, a, 9);
        fputs(" ± ", out);
        put_padded(out, c, 9);
        fprintf(out, "    [User: %s, System: %s]\n", us, sy);
        fmt_time(a, sizeof a, b->s.min, u);
        fmt_time(c, sizeof c, b->s.max, u);
        fputs("  Range (min … max): ", out);
        put_padded(out, a, 9);
        fputs(" … ", out);
        put_padded(out, c, 9);
        fprintf(out, "    %zu runs\n", b->n);
    }
    fmt_time(a, sizeof a, b->s.median, u);
    fputs("  Median:            ", out);
    put_padded(out, a, 9);
    fprintf(out, "                [Peak RSS: %.1f MiB]\n", (double)b->rss_max / 1048576.0);
    if (b->n >= 2) {
        fmt_time(a, sizeof a, b->ci_lo, u);
        fmt_time(c, sizeof c, b->ci_hi, u);
        fputs("  95% CI of mean:    ", out);
        put_padded(out, a, 9);
        fputs(" … ", out);
        put_padded(out, c, 9);
        fputs("    (Student t", out);
        if (b->have_boot) {
            fmt_time(a, sizeof a, b->boot.lo, u);
            fmt_time(c, sizeof c, b->boot.hi, u);
            fprintf(out, "; bootstrap %s … %s", a, c);
        }
        fputs(")\n", out);
    }
    if (b->have_outliers) {
        size_t n_out = b->tukey.count > b->mz.count ? b->tukey.count : b->mz.count;
        fprintf(out, "  Outliers:            ");
        if (n_out == 0)
            fprintf(out, "none of %zu (Tukey's fences, modified z-score > 3.5)\n", b->n);
        else
            fprintf(out,
                    "Tukey's fences: %zu mild, %zu severe; modified z-score > 3.5: %zu "
                    "(of %zu, kept)\n",
                    b->tukey.low_mild + b->tukey.high_mild,
                    b->tukey.low_severe + b->tukey.high_severe, b->mz.count, b->n);
    }
    if (b->failed > 0)
        fprintf(out, "  Warning: Ignoring non-zero exit code (%zu of %zu runs).\n", b->failed,
                b->n);
    if (R->o->shell != NULL && b->s.mean < 5e-3)
        fprintf(out,
                "  Warning: Command took less than 5 ms to complete: the shell's start-up "
                "(%.2f ms, subtracted) is much of it. -N runs it without a shell.\n",
                R->shell_wall * 1e3);
    if (b->slow_first)
        fputs("  Warning: The first run was much slower than the rest (modified z-score > 10):\n"
              "  caches were probably cold. Consider --warmup or --prepare.\n",
              out);
    else if (b->n_extreme > 0)
        fprintf(out,
                "  Warning: Statistical outliers were detected (%zu with a modified z-score > "
                "10).\n  Consider re-running on a quiet machine, or with --warmup or --prepare.\n",
                b->n_extreme);
    fputc('\n', out);
}

static void print_pct(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%+.1f%%", 100.0 * v);
    else
        fputs("?", out);
}

static void print_cmp(const struct term *t, const struct bench_cmp *c, const char *name,
                      const struct options *o, int baseline)
{
    FILE *out = t->out;
    fprintf(out, "  '%s': ", name);
    if (!c->done) {
        fprintf(out, "not compared (%s)\n", c->why_not != NULL ? c->why_not : "?");
        return;
    }
    if (c->c.verdict == VITTE_VERDICT_FASTER)
        fprintf(out, "%sfaster%s, ", green(t), reset(t));
    else if (c->c.verdict == VITTE_VERDICT_SLOWER)
        fprintf(out, "%sslower%s, ", red(t), reset(t));
    else if (c->c.test.p_value < o->alpha)
        fprintf(out, "no significant change (within the %g%% noise), ", o->noise * 100);
    else
        fputs("no significant change, ", out);
    print_pct(out, c->c.rel_diff);
    if (isfinite(c->c.rel_diff_lo)) {
        fputs(" (95% CI ", out);
        print_pct(out, c->c.rel_diff_lo);
        fputs(" … ", out);
        print_pct(out, c->c.rel_diff_hi);
        fputc(')', out);
    }
    if (baseline) {
        char a[32], b[32];
        enum bench_unit u = bench_unit_for(c->other_mean, o->unit);
        fmt_time(a, sizeof a, c->other_mean, u);
        fmt_time(b, sizeof b, c->c.mean_cand, u);
        fprintf(out, ", %s → %s", a, b);
    }
    if (o->test == VITTE_STATS_TEST_WELCH)
        fprintf(out, ", p = %.2g (Mann-Whitney p = %.2g)\n", c->welch_p, c->mw_p);
    else
        fprintf(out, ", p = %.2g (Welch p = %.2g)\n", c->mw_p, c->welch_p);
}

static void print_summary(const struct term *t, const struct bench_report *rep,
                          const struct options *o)
{
    FILE *out = t->out;
    const struct bench_result *res = rep->res;
    const char *test = o->test == VITTE_STATS_TEST_WELCH ? "Welch's t" : "Mann-Whitney U";

    if (rep->n >= 2) {
        const struct bench_result *F = &res[rep->fastest];
        fprintf(out, "%sSummary%s\n  '%s' ran\n", bold(t), reset(t), F->name);
        for (size_t k = 0; k < rep->n; k++) {
            const struct bench_result *b = &res[k];
            if (k == rep->fastest)
                continue;
            if (!isfinite(b->rel)) {
                fprintf(out, "    ? times faster than '%s' (a mean time of 0)\n", b->name);
                continue;
            }
            double r = b->rel, sd = b->rel_sd, lo = b->rel_lo, hi = b->rel_hi;
            const char *how = "faster";
            if (r < 1) { /* only with --reference */
                how = "slower";
                sd = sd / (r * r);
                r = 1 / r;
                double l = 1 / hi;
                hi = 1 / lo;
                lo = l;
            }
            fprintf(out, "    %.2f", r);
            if (isfinite(sd))
                fprintf(out, " ± %.2f", sd);
            fprintf(out, " times %s than '%s'", how, b->name);
            if (isfinite(lo) && isfinite(hi))
                fprintf(out, "   (95%% CI %.3f … %.3f)", lo, hi);
            fputc('\n', out);
        }
        fprintf(out, "\n%sSignificance%s against '%s' (%s test, alpha %g, noise %g%%%s):\n",
                bold(t), reset(t), res[rep->reference].name, test, o->alpha, o->noise * 100,
                o->strict ? ", strict" : "");
        for (size_t k = 0; k < rep->n; k++)
            if (k != rep->reference)
                print_cmp(t, &res[k].ref, res[k].name, o, 0);
    }
    if (rep->baseline != NULL) {
        if (rep->n >= 2)
            fputc('\n', out);
        fprintf(out, "%sBaseline%s %s (%s test, alpha %g, noise %g%%%s):\n", bold(t), reset(t),
                rep->baseline, test, o->alpha, o->noise * 100, o->strict ? ", strict" : "");
        for (size_t k = 0; k < rep->n; k++)
            print_cmp(t, &res[k].base, res[k].name, o, 1);
    }
}

/* ---- the command ----------------------------------------------------------------------- */

static FILE *open_export(const char *path)
{
    if (path == NULL)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        cli_error("bench", "cannot write %s: %s", path, strerror(errno));
    return f;
}

/* Closes an export; one never written (the benchmark stopped) is removed,
 * so that no empty file passes for results. */
static int close_export(FILE *f, const char *path, int written)
{
    if (f == NULL || f == stdout)
        return 0;
    if (!written) {
        fclose(f);
        unlink(path);
        return 0;
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        cli_error("bench", "error writing %s", path);
        return -1;
    }
    return 0;
}

static char *join_words(char *const *w)
{
    size_t len = 1;
    for (size_t i = 0; w[i] != NULL; i++)
        len += strlen(w[i]) + 1;
    char *s = malloc(len);
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; w[i] != NULL; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, w[i]);
    }
    return s;
}

static int bench_main(struct options *o)
{
    struct term t = {stdout, 1, 0, 0, 0};
    int rc = CLI_EXIT_FAILURE;
    size_t n = 0;
    struct bench_result *res = NULL;
    struct baseline bl = {NULL, NULL};
    FILE *fj = NULL, *fc = NULL, *fm = NULL;
    char *shell_name = NULL;
    int written = 0;
    struct runner R;
    memset(&R, 0, sizeof R);
    R.io.devnull = -1;
    R.o = o;
    R.term = &t;

    const int to_stdout = (o->export_json && !strcmp(o->export_json, "-")) ||
                          (o->export_csv && !strcmp(o->export_csv, "-")) ||
                          (o->export_md && !strcmp(o->export_md, "-"));
    if (to_stdout)
        t.out = stderr;
    const int tty_err = isatty(2), tty_out = isatty(fileno(t.out));
    const int no_color = getenv("NO_COLOR") != NULL && getenv("NO_COLOR")[0] != '\0';
    switch (o->style) {
    case STYLE_AUTO:
        t.progress = tty_err;
        t.color = tty_out && !no_color;
        break;
    case STYLE_BASIC:
        break;
    case STYLE_FULL:
        t.progress = t.color = 1;
        break;
    case STYLE_NOCOLOR:
        t.progress = tty_err;
        break;
    case STYLE_COLOR:
        t.color = 1;
        break;
    case STYLE_NONE:
        t.report = 0;
        break;
    }

    if ((res = plan(o, &n)) == NULL)
        goto out;
    /* every command must be runnable before the first one runs for minutes */
    for (size_t k = 0; k < n; k++) {
        struct progs p;
        int bad = make_progs(o, &res[k], &p);
        if (bad != 0) {
            if (bad == CLI_EXIT_USAGE)
                rc = CLI_EXIT_USAGE;
            goto out;
        }
        free_progs(&p);
    }
    if (o->baseline != NULL && load_baseline(o->baseline, &bl) != 0)
        goto out;
    if ((o->export_json && (fj = open_export(o->export_json)) == NULL) ||
        (o->export_csv && (fc = open_export(o->export_csv)) == NULL) ||
        (o->export_md && (fm = open_export(o->export_md)) == NULL))
        goto out;
    int err = bench_io_init(&R.io);
    if (err != 0) {
        cli_error("bench", "cannot open /dev/null: %s", strerror(err));
        goto out;
    }
    if (o->shell != NULL) {
        if ((shell_name = join_words(o->shell)) == NULL || measure_shell(&R) != 0)
            goto out;
    }

    for (size_t k = 0; k < n; k++) {
        if (run_benchmark(&R, &res[k], k) != 0)
            goto out;
        figures(&res[k], (unsigned)o->resamples);
        if (t.report)
            print_result(&t, &res[k], &R);
    }

    struct bench_report rep;
    memset(&rep, 0, sizeof rep);
    rep.res = res;
    rep.n = n;
    rep.reference = 0;
    rep.fastest = 0;
    for (size_t k = 1; k < n; k++)
        if (res[k].s.mean < res[rep.fastest].s.mean)
            rep.fastest = k;
    if (o->reference != NULL)
        rep.fastest = 0; /* relative to the reference, as hyperfine --reference */
    relative(res, n, rep.fastest, (unsigned)o->resamples);
    for (size_t k = 1; k < n; k++)
        compare(&res[k].ref, res[0].name, res[0].times, res[0].n, &res[k], o);

    int regressions = 0;
    if (bl.doc != NULL) {
        for (size_t k = 0; k < n; k++) {
            size_t nb;
            const char *why = NULL;
            double *bt = baseline_times(&bl, res[k].name, &nb, &why);
            if (bt == NULL) {
                memset(&res[k].base, 0, sizeof res[k].base);
                res[k].base.why_not = why;
                continue;
            }
            compare(&res[k].base, res[k].name, bt, nb, &res[k], o);
            free(bt);
            struct bench_cmp *c = &res[k].base;
            if (c->done && o->fail_if_slower >= 0 && c->c.verdict == VITTE_VERDICT_SLOWER &&
                c->c.rel_diff * 100 > o->fail_if_slower) {
                c->regression = 1;
                regressions++;
            }
        }
    }

    const char *pnames[MAX_PARAMS];
    for (size_t i = 0; i < o->n_params; i++)
        pnames[i] = o->params[i].name;
    rep.n_param_names = o->n_params;
    rep.param_names = pnames;
    rep.warmup = (int)o->warmup;
    rep.alpha = o->alpha;
    rep.noise = o->noise;
    rep.fail_if_slower = o->fail_if_slower;
    rep.test = o->test == VITTE_STATS_TEST_WELCH ? "welch" : "mann-whitney";
    rep.strict = o->strict;
    rep.resamples = (unsigned)o->resamples;
    rep.shell = shell_name;
    rep.shell_wall = R.shell_wall;
    rep.shell_user = R.shell_user;
    rep.shell_system = R.shell_system;
    rep.baseline = o->baseline;
    rep.unit = o->unit;

    if (t.report)
        print_summary(&t, &rep, o);
    written = 1;
    if (fj != NULL)
        bench_export_json(fj, &rep);
    if (fc != NULL)
        bench_export_csv(fc, &rep);
    if (fm != NULL)
        bench_export_markdown(fm, &rep);

    rc = CLI_EXIT_OK;
    for (size_t k = 0; k < n; k++) {
        const struct bench_cmp *c = &res[k].base;
        if (!c->regression)
            continue;
        char a[32], b[32];
        enum bench_unit u = bench_unit_for(c->other_mean, o->unit);
        fmt_time(a, sizeof a, c->other_mean, u);
        fmt_time(b, sizeof b, c->c.mean_cand, u);
        cli_error("bench",
                  "regression: '%s' is %.1f%% slower than in the baseline %s (%s -> %s, p = %.2g), "
                  "more than --fail-if-slower %g%%",
                  res[k].name, c->c.rel_diff * 100, o->baseline, a, b, c->c.test.p_value,
                  o->fail_if_slower);
        rc = CLI_EXIT_FAILURE;
    }
out:
    if (close_export(fj, o->export_json, written) != 0 ||
        close_export(fc, o->export_csv, written) != 0 ||
        close_export(fm, o->export_md, written) != 0)
        rc = CLI_EXIT_FAILURE;
    fflush(t.out);
    bench_io_free(&R.io);
    bjson_free(bl.doc);
    for (size_t k = 0; k < n; k++)
        free_result(&res[k]);
    free(res);
    free(shell_name);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof o);
    o.min_runs = 10;
    o.min_time = 3.0;
    o.alpha = 0.05;
    o.noise = 0.01;
    o.fail_if_slower = -1;
    o.resamples = VITTE_STATS_DEFAULT_RESAMPLES;
    o.test = VITTE_STATS_TEST_WELCH;
    /* at most argc of each list */
    o.commands = calloc((size_t)argc, sizeof *o.commands);
    o.names = calloc((size_t)argc, sizeof *o.names);
    o.prepare = calloc((size_t)argc, sizeof *o.prepare);
    int rc = CLI_EXIT_FAILURE;
    if (o.commands == NULL || o.names == NULL || o.prepare == NULL) {
        cli_error("bench", "out of memory");
        goto out;
    }
    if (set_shell(&o, "default") != CLI_EXIT_OK)
        goto out;
    rc = parse_options(argc, argv, &o);
    if (rc == -1)
        rc = CLI_EXIT_OK; /* --help */
    else if (rc == CLI_EXIT_OK)
        rc = bench_main(&o);
out:
    free_params(&o);
    bench_free_words(o.shell);
    free(o.commands);
    free(o.names);
    free(o.prepare);
    return rc;
}
