/* `vitte clock`: describe the clock behind every vitte timestamp.
 *
 * Worth a command of its own because every figure vitte reports inherits this
 * clock's resolution and cost, and because the choice (TSC or clock_gettime)
 * depends on the machine: a virtual machine without an invariant TSC, or a
 * refused calibration, makes timers coarser and dearer, and this is where a
 * user sees it and why. */
#include "cli.h"

#include <vitte/vitte.h>

enum { OPT_HELP, OPT_JSON };

static const struct cli_opt clock_opts[] = {
    {OPT_JSON, 0, "json", NULL, "print one JSON object (for scripts) instead of text"},
    {OPT_HELP, 'h', "help", NULL, "show this help"},
};
#define N_CLOCK_OPTS (sizeof clock_opts / sizeof clock_opts[0])

static void print_help(FILE *out)
{
    fputs("Usage: vitte clock [--json]\n"
          "\n"
          "Show the clock vitte uses for every timestamp (vitte_now_ns(), timers,\n"
          "meters): its source, the TSC frequency, the resolution, what one reading\n"
          "costs, how the TSC calibration went and why this source was chosen.\n"
          "\n"
          "The source is the CPU's time-stamp counter when it is invariant (constant\n"
          "rate, not stopped in sleep states), calibrated against CLOCK_MONOTONIC over\n"
          "about 20 ms; otherwise clock_gettime(CLOCK_MONOTONIC).  Both count\n"
          "nanoseconds from the same epoch, so timestamps stay comparable.\n"
          "\n"
          "Options:\n",
          out);
    cli_print_options(out, clock_opts, N_CLOCK_OPTS);
    fputs("\n"
          "Environment:\n"
          "  VITTE_CLOCK=monotonic   never use the TSC (for comparison, or when it is\n"
          "                          known to be unreliable on this machine)\n"
          "\n"
          "Examples:\n"
          "  vitte clock                          which clock, how fine, how cheap\n"
          "  vitte clock --json | jq .cost_ns     the cost of one reading, for a script\n"
          "  VITTE_CLOCK=monotonic vitte clock    the same without the TSC, to compare\n"
          "\n"
          "Exit status: 0 success, 1 the clock could not be described, 2 usage error.\n"
          "See also: docs/cli/vitte-clock.md\n",
          out);
}

static void print_json(FILE *out, const vitte_clock_info *info)
{
    fputs("{\"source\": ", out);
    cli_json_string(out, vitte_clock_source_name(info->source));
    fputs(", \"tsc_hz\": ", out);
    cli_json_number(out, info->tsc_hz);
    fputs(", \"resolution_ns\": ", out);
    cli_json_number(out, info->resolution_ns);
    fputs(", \"cost_ns\": ", out);
    cli_json_number(out, info->cost_ns);
    fprintf(out, ", \"calibration_ns\": %llu", (unsigned long long)info->calibration_ns);
    fputs(", \"calibration_error\": ", out);
    cli_json_number(out, info->calibration_error);
    fputs(", \"reason\": ", out);
    cli_json_string(out, info->reason != NULL ? info->reason : "");
    fprintf(out, ", \"library_version\": ");
    cli_json_string(out, vitte_version_string());
    fputs("}\n", out);
}

static void print_text(FILE *out, const vitte_clock_info *info)
{
    fprintf(out, "source:             %s\n", vitte_clock_source_name(info->source));
    fprintf(out, "reason:             %s\n", info->reason != NULL ? info->reason : "");
    if (info->tsc_hz > 0)
        fprintf(out, "tsc frequency:      %.6f GHz\n", info->tsc_hz / 1e9);
    else
        fputs("tsc frequency:      - (TSC not used)\n", out);
    fprintf(out, "resolution:         %.3g ns\n", info->resolution_ns);
    fprintf(out, "cost per call:      %.3g ns (one vitte_now_ns())\n", info->cost_ns);
    if (info->calibration_ns > 0)
        /* The error is the disagreement of two half-interval estimates: a
         * few ppm is normal; the library refuses the TSC when it is large. */
        fprintf(out, "calibration:        %.1f ms interval, error %.3g ppm\n",
                (double)info->calibration_ns / 1e6, info->calibration_error * 1e6);
    else
        fputs("calibration:        - (none)\n", out);
}

int cmd_clock(int argc, char **argv)
{
    struct cli_getopt_state st;
    int json = 0;

    cli_getopt_init(&st, "clock", argc, argv);
    for (;;) {
        int opt = cli_getopt(&st, clock_opts, N_CLOCK_OPTS);
        if (opt == CLI_OPT_END)
            break;
        switch (opt) {
        case OPT_HELP:
            print_help(stdout);
            return CLI_EXIT_OK;
        case OPT_JSON:
            json = 1;
            break;
        case CLI_OPT_ARG:
            return cli_usage_error("clock", "unexpected argument '%s'", st.value);
        default:
            return CLI_EXIT_USAGE; /* CLI_OPT_ERROR, already reported */
        }
    }

    /* wait = 1: a one-shot command should report the final source, not the
     * "calibrating" state every process starts in. */
    vitte_clock_info info;
    int rc = vitte_clock_get_info(&info, 1);
    if (rc != VITTE_OK) {
        cli_error("clock", "cannot describe the clock: %s", vitte_strerror(rc));
        return CLI_EXIT_FAILURE;
    }
    if (json)
        print_json(stdout, &info);
    else
        print_text(stdout, &info);
    return CLI_EXIT_OK;
}
