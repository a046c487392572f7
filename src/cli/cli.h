/* vitte command line: what main.c and the cmd_<name>.c files share.
 *
 * Each subcommand lives in its own src/cli/cmd_<name>.c and exports only
 * cmd_<name>(argc, argv), where argv[0] is the command's name.  It parses its
 * own options with cli_getopt() below, prints its own help for -h/--help
 * (which is also how `vitte help NAME` reaches it) and returns
 * CLI_EXIT_OK, CLI_EXIT_FAILURE or CLI_EXIT_USAGE.  Only the CLI prints or
 * exits; it reaches the library through <vitte/vitte.h> alone.
 */
#ifndef VITTE_CLI_H
#define VITTE_CLI_H

#include <stddef.h>
#include <stdio.h>

enum {
    CLI_EXIT_OK = 0,      /* success */
    CLI_EXIT_FAILURE = 1, /* the command ran and failed */
    CLI_EXIT_USAGE = 2    /* bad command line: nothing was done */
};

/* One row of the command table in main.c. */
struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;               /* one line for `vitte --help` */
};

/* ---- subcommands (one file each) ------------------------------------------ */

int cmd_clock(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* ---- option parsing --------------------------------------------------------
 * A small table-driven parser, so every subcommand accepts options the same
 * way: --name, --name=VALUE, --name VALUE, -x, -x VALUE, and "--" to end the
 * options.  Options and arguments may be mixed.  Errors are reported on
 * stderr with the closest option name when one is close, so the caller only
 * has to return CLI_EXIT_USAGE. */

struct cli_opt {
    int id;                /* what cli_getopt() returns for this option */
    char short_name;       /* 'h' for -h, or 0 */
    const char *long_name; /* "help" for --help, or NULL */
    const char *arg_name;  /* "FILE" if the option takes a value, NULL if not */
    const char *help;      /* one line for the help text */
};

enum {
    CLI_OPT_END = -1,  /* no more options or arguments */
    CLI_OPT_ARG = -2,  /* a positional argument, in state->value */
    CLI_OPT_ERROR = -3 /* usage error, already reported on stderr */
};

struct cli_getopt_state {
    const char *cmd; /* "clock" (NULL for vitte itself), for messages */
    int argc;
    char **argv;
    int index;         /* next element of argv to look at */
    int only_args;     /* set after "--" */
    const char *value; /* the option's value, or the positional argument */
};

/* argv[0] is skipped (it is the command's name). */
void cli_getopt_init(struct cli_getopt_state *st, const char *cmd, int argc, char **argv);
/* Returns an option's id (value in st->value if it takes one), CLI_OPT_ARG,
 * CLI_OPT_END or CLI_OPT_ERROR. */
int cli_getopt(struct cli_getopt_state *st, const struct cli_opt *opts, size_t n_opts);
/* The "Options:" block of a help text, aligned. */
void cli_print_options(FILE *out, const struct cli_opt *opts, size_t n_opts);

/* ---- messages ------------------------------------------------------------- */

/* "vitte[ CMD]: MESSAGE" on stderr, then a hint to the help; returns
 * CLI_EXIT_USAGE so callers can `return cli_usage_error(...)`. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "vitte[ CMD]: MESSAGE" on stderr for a failure that is not a usage error. */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The candidate closest to word by edit distance, or NULL if none is close
 * enough to be a plausible typo. */
const char *cli_closest(const char *word, const char *const *candidates, size_t n);

/* ---- JSON output helpers -------------------------------------------------- */

/* s as a JSON string, quotes included. */
void cli_json_string(FILE *out, const char *s);
/* A double as a JSON number; NaN and infinities (not representable) as null. */
void cli_json_number(FILE *out, double v);

#endif /* VITTE_CLI_H */
