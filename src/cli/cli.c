/* vitte command line: option parsing, messages and JSON helpers shared by
 * the subcommands (see cli.h). */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* Longest word cli_closest() compares; longer ones are not typos worth a hint. */
#define CLOSEST_MAX_LEN 63

static void print_prefix(const char *cmd)
{
    if (cmd != NULL)
        fprintf(stderr, "vitte %s: ", cmd);
    else
        fputs("vitte: ", stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    print_prefix(cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    /* Point at the help that explains the mistake, and at the command list:
     * someone who typed a bad option may also be in the wrong command. */
    if (cmd != NULL)
        fprintf(stderr, "\nSee 'vitte %s --help', or 'vitte --help' for all commands.\n", cmd);
    else
        fputs("\nSee 'vitte --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

/* The option parser reports a usage error, then returns CLI_OPT_ERROR (not
 * an exit code, which could be mistaken for an option id). */
#define opt_error(...) (cli_usage_error(__VA_ARGS__), CLI_OPT_ERROR)

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    print_prefix(cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Optimal string alignment distance (Levenshtein plus adjacent swaps, the
 * commonest typo).  Only called on words of at most CLOSEST_MAX_LEN bytes, so
 * the three rows fit on the stack without a VLA. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t rows[3][CLOSEST_MAX_LEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *cli_closest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t lw = strlen(word);

    if (lw == 0 || lw > CLOSEST_MAX_LEN)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *c = candidates[i];
        if (c == NULL || strlen(c) > CLOSEST_MAX_LEN)
            continue;
        size_t d = edit_distance(word, c);
        /* An abbreviation ("cl" for "clock") is as good as one typo. */
        if (lw >= 2 && strncmp(word, c, lw) == 0)
            d = 1;
        /* At most two edits, and fewer than the word's length: otherwise any
         * short word would be "close" to any short command. */
        if (d <= 2 && d < lw && d < best_d) {
            best = c;
            best_d = d;
        }
    }
    return best;
}

void cli_getopt_init(struct cli_getopt_state *st, const char *cmd, int argc, char **argv)
{
    st->cmd = cmd;
    st->argc = argc;
    st->argv = argv;
    st->index = 1;
    st->only_args = 0;
    st->value = NULL;
}

static int unknown_long(struct cli_getopt_state *st, const struct cli_opt *opts, size_t n_opts,
                        const char *arg, size_t name_len)
{
    char word[CLOSEST_MAX_LEN + 1];
    const char *names[32];
    size_t n_names = 0;

    for (size_t i = 0; i < n_opts && n_names < sizeof names / sizeof names[0]; i++)
        if (opts[i].long_name != NULL)
            names[n_names++] = opts[i].long_name;
    const char *guess = NULL;
    if (name_len <= CLOSEST_MAX_LEN) {
        memcpy(word, arg + 2, name_len);
        word[name_len] = '\0';
        guess = cli_closest(word, names, n_names);
    }
    if (guess != NULL)
        return opt_error(st->cmd, "unknown option '%s' (did you mean '--%s'?)", arg, guess);
    return opt_error(st->cmd, "unknown option '%s'", arg);
}

static int take_value(struct cli_getopt_state *st, const struct cli_opt *o, const char *inline_val)
{
    if (inline_val != NULL) {
        st->value = inline_val;
        return o->id;
    }
    if (st->index >= st->argc) {
        if (o->long_name != NULL)
            return opt_error(st->cmd, "option '--%s' needs a value (--%s %s)", o->long_name,
                             o->long_name, o->arg_name);
        return opt_error(st->cmd, "option '-%c' needs a value (-%c %s)", o->short_name,
                         o->short_name, o->arg_name);
    }
    st->value = st->argv[st->index++];
    return o->id;
}

int cli_getopt(struct cli_getopt_state *st, const struct cli_opt *opts, size_t n_opts)
{
    st->value = NULL;
    if (st->index >= st->argc)
        return CLI_OPT_END;

    const char *arg = st->argv[st->index++];
    if (st->only_args || arg[0] != '-' || arg[1] == '\0') {
        st->value = arg; /* "-" alone is an argument (stdin, by convention) */
        return CLI_OPT_ARG;
    }
    if (strcmp(arg, "--") == 0) {
        st->only_args = 1;
        return cli_getopt(st, opts, n_opts);
    }

    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        for (size_t i = 0; i < n_opts; i++) {
            const struct cli_opt *o = &opts[i];
            if (o->long_name == NULL || strlen(o->long_name) != len ||
                strncmp(o->long_name, name, len) != 0)
                continue;
            if (o->arg_name == NULL) {
                if (eq != NULL)
                    return opt_error(st->cmd, "option '--%s' takes no value", o->long_name);
                return o->id;
            }
            return take_value(st, o, eq != NULL ? eq + 1 : NULL);
        }
        return unknown_long(st, opts, n_opts, arg, len);
    }

    for (size_t i = 0; i < n_opts; i++) {
        const struct cli_opt *o = &opts[i];
        if (o->short_name == 0 || o->short_name != arg[1])
            continue;
        if (o->arg_name == NULL) {
            if (arg[2] != '\0')
                break; /* "-hx": no bundling, report the whole word */
            return o->id;
        }
        return take_value(st, o, arg[2] != '\0' ? arg + 2 : NULL);
    }
    return opt_error(st->cmd, "unknown option '%s'", arg);
}

void cli_print_options(FILE *out, const struct cli_opt *opts, size_t n_opts)
{
    char left[128];
    int width = 0;

    /* Two passes: measure the widest "-x, --name ARG" column, then print. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n_opts; i++) {
            const struct cli_opt *o = &opts[i];
            int n;
            if (o->short_name != 0 && o->long_name != NULL)
                n = snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->long_name);
            else if (o->long_name != NULL)
                n = snprintf(left, sizeof left, "    --%s", o->long_name);
            else
                n = snprintf(left, sizeof left, "-%c", o->short_name);
            if (o->arg_name != NULL && n >= 0 && (size_t)n < sizeof left)
                n += snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg_name);
            if (pass == 0) {
                if (n > width)
                    width = n;
            } else {
                fprintf(out, "  %-*s  %s\n", width, left, o->help);
            }
        }
    }
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out); /* UTF-8 passes through unchanged */
        }
    }
    fputc('"', out);
}

void cli_json_number(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.12g", v);
    else
        fputs("null", out);
}
