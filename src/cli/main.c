/* `vitte`: the command table and the dispatcher.
 *
 * A new subcommand is one file (cmd_<name>.c), one prototype in cli.h, one
 * row below, docs/cli/vitte-<name>.md and a test in tests/scripts/. */
#include "cli.h"

#include <errno.h>
#include <string.h>

#include <vitte/vitte.h>

static int cmd_help(int argc, char **argv);

static const struct cli_cmd cli_cmds[] = {
    {"clock", cmd_clock, "show the clock vitte uses: source, TSC frequency, resolution, cost"},
    {"inspect", cmd_inspect, "summarize and convert traces: text, Chrome JSON, flame graphs..."},
    {"stat", cmd_stat, "run a program: time, CPU, peak memory, faults, perf counters"},
    {"run", cmd_run, "run a program and sample where its time goes (--profile)"},
    {"bench", cmd_bench, "benchmark commands like hyperfine, with significance tests"},
    {"help", cmd_help, "show the help of vitte or of one command"},
};
#define N_CLI_CMDS (sizeof cli_cmds / sizeof cli_cmds[0])

enum { OPT_HELP, OPT_VERSION };

static const struct cli_opt main_opts[] = {
    {OPT_HELP, 'h', "help", NULL, "show this help"},
    {OPT_VERSION, 'V', "version", NULL, "show the version of vitte and of the loaded library"},
};
#define N_MAIN_OPTS (sizeof main_opts / sizeof main_opts[0])

static void print_main_help(FILE *out)
{
    fputs("Usage: vitte [--help] [--version] COMMAND [ARGS...]\n"
          "\n"
          "vitte is a performance toolkit for C programs.  The library (libvitte,\n"
          "#include <vitte/vitte.h>) gives timers, counters, gauges, histograms,\n"
          "throughput meters and series, exported as JSON, CSV and Prometheus text.\n"
          "This command inspects and drives it.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < N_CLI_CMDS; i++)
        fprintf(out, "  %-8s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
    fputs("\nOptions:\n", out);
    cli_print_options(out, main_opts, N_MAIN_OPTS);
    fputs("\n"
          "Examples:\n"
          "  vitte clock              which clock timestamps come from, and its cost\n"
          "  vitte clock --json       the same as one JSON object, for scripts\n"
          "  vitte help clock         the help of one command (= vitte clock --help)\n"
          "\n"
          "Exit status: 0 success, 1 failure, 2 usage error (nothing was done).\n"
          "See also: docs/cli/vitte.md, and `pkg-config --cflags --libs vitte` to\n"
          "build against the library.\n",
          out);
}

static void print_version(FILE *out)
{
    /* The command's own version (the headers it was built with) and the
     * library's as loaded at run time: they differ when an older or newer
     * libvitte.so is found first, which is worth seeing. */
    fprintf(out, "vitte %s\n", VITTE_VERSION_STRING);
    fprintf(out, "libvitte %s\n", vitte_version_string());
}

static const struct cli_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < N_CLI_CMDS; i++)
        if (strcmp(cli_cmds[i].name, name) == 0)
            return &cli_cmds[i];
    return NULL;
}

static int unknown_cmd(const char *name)
{
    const char *names[N_CLI_CMDS];

    for (size_t i = 0; i < N_CLI_CMDS; i++)
        names[i] = cli_cmds[i].name;
    const char *guess = cli_closest(name, names, N_CLI_CMDS);
    if (guess != NULL)
        return cli_usage_error(NULL, "unknown command '%s' (did you mean '%s'?)", name, guess);
    return cli_usage_error(NULL, "unknown command '%s'", name);
}

static int cmd_help(int argc, char **argv)
{
    static const struct cli_opt help_opts[] = {
        {OPT_HELP, 'h', "help", NULL, "show this help"},
    };
    struct cli_getopt_state st;
    const char *topic = NULL;

    cli_getopt_init(&st, "help", argc, argv);
    for (;;) {
        int opt = cli_getopt(&st, help_opts, 1);
        if (opt == CLI_OPT_END)
            break;
        if (opt == OPT_HELP) {
            fputs("Usage: vitte help [COMMAND]\n"
                  "\n"
                  "Without COMMAND, list the commands; with one, show its help (the same\n"
                  "as `vitte COMMAND --help`).\n"
                  "\n"
                  "Examples:\n"
                  "  vitte help               the commands and the global options\n"
                  "  vitte help clock         how to read the clock report\n",
                  stdout);
            return CLI_EXIT_OK;
        }
        if (opt != CLI_OPT_ARG)
            return CLI_EXIT_USAGE;
        if (topic != NULL)
            return cli_usage_error("help", "one command at a time ('%s' and '%s' given)", topic,
                                   st.value);
        topic = st.value;
    }

    if (topic == NULL) {
        print_main_help(stdout);
        return CLI_EXIT_OK;
    }
    const struct cli_cmd *c = find_cmd(topic);
    if (c == NULL)
        return unknown_cmd(topic);
    /* Every command answers --help itself, so help text lives beside the
     * options it describes and `help X` can never drift from `X --help`. */
    char help_flag[] = "--help";
    char *sub_argv[] = {(char *)c->name, help_flag, NULL};
    return c->run(2, sub_argv);
}

/* A command whose output could not be written (full disk, closed pipe with
 * SIGPIPE ignored) has failed, even if it did its work. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(NULL, "error writing the output: %s", strerror(errno));
        return rc == CLI_EXIT_OK ? CLI_EXIT_FAILURE : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct cli_getopt_state st;

    if (argc < 2) {
        fputs("Usage: vitte [--help] [--version] COMMAND [ARGS...]\n", stderr);
        return cli_usage_error(NULL, "no command given");
    }

    /* Global options come before the command; the first argument that is
     * not one names the command, and everything after it belongs to it. */
    cli_getopt_init(&st, NULL, argc, argv);
    while (st.index < argc && argv[st.index][0] == '-' && argv[st.index][1] != '\0') {
        if (strcmp(argv[st.index], "--") == 0) {
            st.index++; /* "vitte -- clock": the command follows "--" */
            break;
        }
        switch (cli_getopt(&st, main_opts, N_MAIN_OPTS)) {
        case OPT_HELP:
            print_main_help(stdout);
            return finish_output(CLI_EXIT_OK);
        case OPT_VERSION:
            print_version(stdout);
            return finish_output(CLI_EXIT_OK);
        default:
            return CLI_EXIT_USAGE; /* reported by cli_getopt() */
        }
    }
    if (st.index >= argc)
        return cli_usage_error(NULL, "no command given");

    const char *name = argv[st.index];
    const struct cli_cmd *c = find_cmd(name);
    if (c == NULL)
        return unknown_cmd(name);
    return finish_output(c->run(argc - st.index, argv + st.index));
}
