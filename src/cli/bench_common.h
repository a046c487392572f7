/* `vitte bench`: what cmd_bench.c and its helpers share.
 *
 *   bench_run.c     splitting a command into words, finding it on PATH,
 *                   running it once with posix_spawn and wait4
 *   bench_json.c    a small JSON reader (for --baseline files)
 *   bench_export.c  the JSON, CSV and Markdown exports
 *
 * Everything here is private to the vitte executable. */
#ifndef VITTE_CLI_BENCH_COMMON_H
#define VITTE_CLI_BENCH_COMMON_H

#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vitte/vitte.h>

/* ---- running one command (bench_run.c) ----------------------------------- */

/* A command ready to be spawned: the executable's path (found once, not at
 * every run) and its argument vector. */
struct bench_prog {
    char *path;
    char **argv; /* NULL-terminated, every string allocated */
};

/* Where a spawned command's standard streams go: stdin always from
 * /dev/null; stdout and stderr too, unless the output is shown. */
struct bench_io {
    int devnull;
    posix_spawn_file_actions_t quiet; /* 0, 1, 2 <- /dev/null */
    posix_spawn_file_actions_t shown; /* 0 <- /dev/null */
};

/* One run. */
struct bench_measure {
    double wall;    /* seconds, CLOCK_MONOTONIC from before the spawn to after wait4 */
    double user;    /* seconds, wait4's ru_utime (the command and the children it waited for) */
    double system;  /* seconds, ru_stime */
    int64_t maxrss; /* bytes, ru_maxrss */
    int status;     /* wait status */
};

/* Splits s into words as a shell would for a simple command without
 * expansions: blanks separate words; '...' keeps everything literally;
 * "..." keeps everything but \" and \\ (and \$, \`); a backslash outside
 * quotes escapes the next character.  *words (NULL-terminated, free with
 * bench_free_words) and *n are set on success.
 * Returns 0, or -1 with *err set to a static message. */
int bench_split_words(const char *s, char ***words, size_t *n, const char **err);
void bench_free_words(char **words);

/* Builds the program that runs cmd: through shell (its words, e.g. {"/bin/sh"}
 * or {"bash", "--norc"}; "-c" and cmd are appended) or, shell NULL, cmd split
 * into words.  Returns 0, or with a message in err 1 (cmd cannot be split:
 * a usage error) or -1 (not found, out of memory). */
int bench_prog_init(struct bench_prog *p, const char *cmd, char *const *shell, char *err,
                    size_t err_len);
void bench_prog_free(struct bench_prog *p);

/* Opens /dev/null and prepares the file actions.  Returns 0 or an errno. */
int bench_io_init(struct bench_io *io);
void bench_io_free(struct bench_io *io);

/* Runs p once and waits for it.  Returns 0, or an errno if it could not be
 * started (the exec failed: ENOENT, EACCES, ENOEXEC...). */
int bench_prog_run(const struct bench_prog *p, const struct bench_io *io, int show_output,
                   struct bench_measure *m);

/* ---- JSON reader (bench_json.c) ------------------------------------------ */

enum bjson_type {
    BJSON_NULL,
    BJSON_FALSE,
    BJSON_TRUE,
    BJSON_NUMBER,
    BJSON_STRING,
    BJSON_ARRAY,
    BJSON_OBJECT
};

struct bjson {
    enum bjson_type type;
    double number;
    char *string;        /* BJSON_STRING (NUL-terminated; NULs inside are refused) */
    size_t n;            /* elements of an array or members of an object */
    struct bjson *items; /* [n] */
    char **keys;         /* [n], objects only */
};

/* Parses text[0..len).  Returns the tree (free with bjson_free), or NULL
 * with a message in err (with the line number). */
struct bjson *bjson_parse(const char *text, size_t len, char *err, size_t err_len);
void bjson_free(struct bjson *v);
/* The member key of an object (the first one of that name), or NULL. */
const struct bjson *bjson_get(const struct bjson *obj, const char *key);

/* ---- the results ------------------------------------------------------------ */

#define BENCH_SIGNALED INT32_MIN /* exit_codes[] of a run a signal ended */

struct bench_param_value {
    const char *name;
    const char *value;
};

/* A comparison of a result with another sample (the reference command, or
 * the same-named command of the baseline). */
struct bench_cmp {
    int done;            /* the figures below exist */
    const char *against; /* the name of the other command */
    const char *why_not; /* done = 0 and a reason to show, or NULL */
    vitte_comparison c;  /* verdict, rel_diff and its bootstrap CI, effect sizes */
    double welch_t, welch_df, welch_p;
    double mw_u, mw_p;
    double other_mean; /* the other sample's mean and size */
    size_t other_n;
    int regression; /* baseline: slower by more than --fail-if-slower */
};

struct bench_result {
    char *name;    /* -n NAME or the command, parameters substituted */
    char *command; /* the command run */
    char *prepare, *setup, *cleanup;
    size_t n_params;
    struct bench_param_value *params;

    /* one entry per timed run */
    size_t n, cap;
    double *times, *user, *system; /* seconds */
    int64_t *rss;                  /* bytes */
    int32_t *exit_codes;           /* BENCH_SIGNALED when a signal ended the run */
    size_t failed;                 /* runs with a non-zero exit (--ignore-failure) */

    /* figures (valid when n >= 1) */
    vitte_summary s;
    double user_mean, system_mean;
    int64_t rss_max;
    double ci_lo, ci_hi; /* Student t, 95 % (NaN for n < 2) */
    vitte_ci boot;       /* percentile bootstrap of the mean (have_boot) */
    int have_boot;
    int have_outliers;
    vitte_tukey_result tukey;
    vitte_mzscore_result mz;
    size_t *tukey_idx, *mz_idx; /* [tukey.count], [mz.count] */
    size_t n_extreme;           /* modified z-score beyond 10 (hyperfine's rule) */
    int slow_first;             /* the first run is one of those, and high */

    /* against the fastest command (or --reference) */
    double rel, rel_sd;    /* ratio of the means; hyperfine's sd propagation */
    double rel_lo, rel_hi; /* bootstrap 95 % CI of the ratio (NaN if none) */

    struct bench_cmp ref;  /* against the reference command */
    struct bench_cmp base; /* against the baseline */
};

/* Time units of the report and of the Markdown table. */
enum bench_unit { BENCH_UNIT_AUTO, BENCH_UNIT_US, BENCH_UNIT_MS, BENCH_UNIT_S };

/* Everything an export needs. */
struct bench_report {
    struct bench_result *res;
    size_t n;
    size_t reference; /* index of the reference command */
    size_t fastest;   /* index the relative speeds are against */
    size_t n_param_names;
    const char *const *param_names;
    int warmup;
    double alpha, noise, fail_if_slower; /* fail_if_slower < 0: not asked */
    const char *test;                    /* "welch" or "mann-whitney" */
    int strict;                          /* --strict */
    unsigned resamples;
    const char *shell;                           /* the shell's words joined, or NULL (-N) */
    double shell_wall, shell_user, shell_system; /* subtracted from every run */
    const char *baseline;                        /* its file name, or NULL */
    enum bench_unit unit;
};

/* ---- exports (bench_export.c) ------------------------------------------------- */

void bench_export_json(FILE *out, const struct bench_report *r);
void bench_export_csv(FILE *out, const struct bench_report *r);
void bench_export_markdown(FILE *out, const struct bench_report *r);

/* The unit for values around v seconds (or the forced one), its name and scale. */
enum bench_unit bench_unit_for(double v, enum bench_unit forced);
const char *bench_unit_name(enum bench_unit u);
double bench_unit_scale(enum bench_unit u);

#endif /* VITTE_CLI_BENCH_COMMON_H */
