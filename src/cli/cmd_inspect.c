/* `vitte inspect`: summarize, filter and convert .vittrace files.
 *
 * A thin driver over vitte_trace_export(): options become a
 * vitte_trace_export_options, the output goes to stdout or to OUT through
 * OUT.tmp renamed when complete (so a reader of OUT never sees half a file),
 * and problems in the input are reported with the file, the offset and the
 * reason while everything that could be read is still written. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vitte/vitte.h>

enum {
    OPT_HELP = 100,
    OPT_FORMAT,
    OPT_OUTPUT,
    OPT_MODULE,
    OPT_TAG,
    OPT_THREAD,
    OPT_MIN_DURATION,
    OPT_FROM,
    OPT_TO,
    OPT_BY,
    OPT_ICICLE,
    OPT_PER_THREAD,
    OPT_TITLE,
    OPT_SYMBOLS
};

static const struct cli_opt inspect_opts[] = {
    {OPT_FORMAT, 'f', "format", "FORMAT", "text (default), chrome, folded, svg, json, csv, pprof"},
    {OPT_OUTPUT, 'o', "output", "OUT", "write to OUT (via OUT.tmp, renamed when complete)"},
    {OPT_MODULE, 0, "module", "M[,M...]", "keep these modules; -M drops one"},
    {OPT_TAG, 0, "tag", "T[,T...]", "keep events with one of these tags; -T drops"},
    {OPT_THREAD, 0, "thread", "NAME|TID", "keep these threads (names or TIDs, comma list)"},
    {OPT_MIN_DURATION, 0, "min-duration", "D", "drop spans shorter than D (e.g. 1ms)"},
    {OPT_FROM, 0, "from", "T", "keep what overlaps [T, ...) after the trace start"},
    {OPT_TO, 0, "to", "T", "keep what overlaps [..., T) after the trace start"},
    {OPT_BY, 0, "by", "KEY", "text: one table per name (default), thread or module"},
    {OPT_ICICLE, 0, "icicle", NULL, "svg: draw top-down (roots at the top)"},
    {OPT_PER_THREAD, 0, "per-thread", NULL, "folded, svg: a root frame per thread"},
    {OPT_TITLE, 0, "title", "TEXT", "svg: the title"},
    {OPT_SYMBOLS, 0, "symbols", "DIR[:DIR]",
     "profiles: binaries and debug files to symbolize with"},
    {OPT_HELP, 'h', "help", NULL, "show this help"},
};
#define N_INSPECT_OPTS (sizeof inspect_opts / sizeof inspect_opts[0])

static void print_help(FILE *out)
{
    fputs("Usage: vitte inspect FILE... [--format FORMAT] [-o OUT] [filters]\n"
          "\n"
          "Read .vittrace files (written by vitte_tracer_create() or VITTE_TRACE=...)\n"
          "and summarize or convert them.  Several files are several processes on one\n"
          "timeline.  Everything streams: a trace larger than memory is fine.\n"
          "\n"
          "Formats:\n"
          "  text     file facts (duration, threads, events, drops), then span names by\n"
          "           self time: count, total, self, mean, p50, p90, p99, max\n"
          "  chrome   Chrome Trace Event JSON: open in https://ui.perfetto.dev,\n"
          "           chrome://tracing or https://www.speedscope.app\n"
          "  folded   one line per stack, \"main;parse;read 12345\" (self ns), for\n"
          "           flamegraph.pl, inferno or speedscope\n"
          "  svg      an interactive flame graph: hover, click to zoom, Ctrl-F to search\n"
          "  json     every event as a JSON object (docs/formats/trace-events-json.md)\n"
          "  csv      every event as a CSV row (docs/formats/trace-events-csv.md)\n"
          "  pprof    profiles (vitte run --profile): gzipped profile.proto for\n"
          "           `go tool pprof` (docs/formats/pprof.md)\n"
          "\n"
          "Options:\n",
          out);
    cli_print_options(out, inspect_opts, N_INSPECT_OPTS);
    fputs("\n"
          "Durations and times take a unit: ns, us, ms or s (1.5ms, 250us, 2s).\n"
          "Filtered-out spans are transparent: their children stay, and their time\n"
          "counts as their parent's self time.\n"
          "\n"
          "Examples:\n"
          "  vitte inspect run.vittrace                         where the time goes\n"
          "  vitte inspect run.vittrace --by thread             the same, per thread\n"
          "  vitte inspect run.vittrace -f chrome -o run.json   for Perfetto or DevTools\n"
          "  vitte inspect run.vittrace -f svg -o flame.svg     a flame graph to open\n"
          "  vitte inspect run.vittrace -f folded | flamegraph.pl > flame.svg\n"
          "  vitte inspect run.vittrace --module io --min-duration 1ms\n"
          "                                                     slow spans of module io\n"
          "  vitte inspect run.vittrace --from 2s --to 2.5s -f chrome -o slice.json\n"
          "                                                     half a second of it\n"
          "  vitte inspect prof.vittrace -f pprof -o cpu.pb.gz  for go tool pprof\n"
          "  vitte inspect client.vittrace server.vittrace -f chrome -o both.json\n"
          "                                                     two processes, one "
          "timeline\n"
          "\n"
          "Exit status: 0 success; 1 a file could not be read completely (missing, not\n"
          "a trace, truncated, corrupt: the message gives the file, the offset and the\n"
          "reason, and whatever could be read is still written, with a warning) or the\n"
          "output could not be written; 2 usage error (nothing was done).\n"
          "See also: docs/cli/vitte-inspect.md\n",
          out);
}

/* "1.5ms" -> 1500000.  Returns 0, or -1 with *why set. */
static int parse_duration(const char *s, uint64_t *ns, const char **why)
{
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6}, {"s", 1e9}};
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno != 0 || !isfinite(v) || v < 0) {
        *why = "not a duration";
        return -1;
    }
    if (*end == '\0') {
        if (v == 0) {
            *ns = 0;
            return 0;
        }
        *why = "needs a unit: ns, us, ms or s (e.g. 5ms)";
        return -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            double r = v * units[i].scale;
            if (r >= 1.8e19) {
                *why = "too large";
                return -1;
            }
            *ns = (uint64_t)llround(r);
            return 0;
        }
    }
    *why = "unknown unit (ns, us, ms or s)";
    return -1;
}

/* A progress line on stderr, at most ten times a second, for inputs large
 * enough to take a while.  Warnings erase it first. */
static struct progress {
    uint64_t last_ns;
    int shown;
} progress_line;

static void erase_progress(void)
{
    if (progress_line.shown)
        fputs("\r\033[K", stderr);
    progress_line.shown = 0;
}

static void show_progress(uint64_t done, uint64_t total, void *ud)
{
    (void)ud;
    if (total < (8u << 20))
        return;
    uint64_t now = vitte_now_ns();
    if (progress_line.shown && now - progress_line.last_ns < 100000000ull)
        return;
    int percent = done >= total ? 100 : (int)(done * 100 / total);
    progress_line.last_ns = now;
    progress_line.shown = 1;
    fprintf(stderr, "\rvitte inspect: reading %3d%% (%.0f of %.0f MB)", percent, (double)done / 1e6,
            (double)total / 1e6);
    fflush(stderr);
}

static void print_warning(const char *message, void *ud)
{
    ++*(int *)ud;
    erase_progress();
    cli_error("inspect", "warning: %s", message);
}

int cmd_inspect(int argc, char **argv)
{
    struct cli_getopt_state st;
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    const char *output = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n_files = 0;
    uint64_t from = 0, to = 0;
    int have_from = 0, have_to = 0;
    int rc = CLI_EXIT_USAGE;

    if (files == NULL) {
        cli_error("inspect", "out of memory");
        return CLI_EXIT_FAILURE;
    }
    cli_getopt_init(&st, "inspect", argc, argv);
    for (;;) {
        int opt = cli_getopt(&st, inspect_opts, N_INSPECT_OPTS);
        if (opt == CLI_OPT_END)
            break;
        const char *why = NULL;
        switch (opt) {
        case OPT_HELP:
            print_help(stdout);
            free(files);
            return CLI_EXIT_OK;
        case OPT_FORMAT:
            o.format = vitte_trace_format_from_name(st.value);
            if (o.format == 0) {
                static const char *const names[] = {"text", "chrome", "folded", "svg",
                                                    "json", "csv",    "pprof"};
                const char *guess = cli_closest(st.value, names, sizeof names / sizeof names[0]);
                if (guess != NULL)
                    cli_usage_error("inspect", "unknown format '%s' (did you mean '%s'?)", st.value,
                                    guess);
                else
                    cli_usage_error(
                        "inspect",
                        "unknown format '%s' (text, chrome, folded, svg, json, csv, pprof)",
                        st.value);
                goto out;
            }
            break;
        case OPT_OUTPUT:
            output = st.value;
            break;
        case OPT_MODULE:
            o.module = st.value;
            break;
        case OPT_TAG:
            o.tag = st.value;
            break;
        case OPT_THREAD:
            o.thread = st.value;
            break;
        case OPT_MIN_DURATION:
            if (parse_duration(st.value, &o.min_duration_ns, &why) != 0) {
                cli_usage_error("inspect", "--min-duration '%s': %s", st.value, why);
                goto out;
            }
            break;
        case OPT_FROM:
        case OPT_TO:
            if (parse_duration(st.value, opt == OPT_FROM ? &from : &to, &why) != 0) {
                cli_usage_error("inspect", "--%s '%s': %s", opt == OPT_FROM ? "from" : "to",
                                st.value, why);
                goto out;
            }
            if (opt == OPT_FROM)
                have_from = 1;
            else
                have_to = 1;
            break;
        case OPT_BY:
            if (strcmp(st.value, "name") == 0) {
                o.by = VITTE_TRACE_BY_NAME;
            } else if (strcmp(st.value, "thread") == 0) {
                o.by = VITTE_TRACE_BY_THREAD;
            } else if (strcmp(st.value, "module") == 0) {
                o.by = VITTE_TRACE_BY_MODULE;
            } else {
                cli_usage_error("inspect", "--by '%s': name, thread or module", st.value);
                goto out;
            }
            break;
        case OPT_ICICLE:
            o.icicle = 1;
            break;
        case OPT_PER_THREAD:
            o.per_thread = 1;
            break;
        case OPT_TITLE:
            o.title = st.value;
            break;
        case OPT_SYMBOLS:
            o.symbol_dirs = st.value;
            break;
        case CLI_OPT_ARG:
            files[n_files++] = st.value;
            break;
        default:
            goto out; /* CLI_OPT_ERROR, already reported */
        }
    }
    if (n_files == 0) {
        cli_usage_error("inspect", "no trace file given");
        goto out;
    }
    if (have_to && to <= from) {
        cli_usage_error("inspect", "--to must be after --from");
        goto out;
    }
    /* 0 means "open" to the library: --from 0 is the start anyway, and
     * --to 0 would keep nothing. */
    if (have_to && to == 0) {
        cli_usage_error("inspect", "--to 0 keeps nothing");
        goto out;
    }
    (void)have_from;
    o.from_ns = from;
    o.to_ns = to;

    /* The text summary lists its warnings itself; other formats may have
     * no room for them, so they go to stderr as they are met. */
    int to_file = output != NULL && strcmp(output, "-") != 0;
    if (o.format == VITTE_TRACE_FORMAT_PPROF && !to_file && isatty(STDOUT_FILENO)) {
        cli_usage_error("inspect", "pprof output is binary: write it to a file with -o FILE");
        goto out;
    }
    int warned = 0;
    if (o.format != VITTE_TRACE_FORMAT_TEXT || to_file) {
        o.on_warning = print_warning;
        o.warning_ud = &warned;
    }

    FILE *out = stdout;
    char *tmp = NULL;
    if (to_file) {
        size_t n = strlen(output);
        tmp = malloc(n + 5);
        if (tmp == NULL) {
            cli_error("inspect", "out of memory");
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        memcpy(tmp, output, n);
        memcpy(tmp + n, ".tmp", 5);
        out = fopen(tmp, "w");
        if (out == NULL) {
            cli_error("inspect", "cannot write %s: %s", tmp, strerror(errno));
            free(tmp);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
    }

    /* Long reads show their progress on a terminal (stderr), unless the
     * output itself goes to that terminal. */
    if (isatty(STDERR_FILENO) && (to_file || !isatty(STDOUT_FILENO)))
        o.on_progress = show_progress;

    vitte_diag diag;
    int erc = vitte_trace_export(files, n_files, &o, out, &diag);
    erase_progress();
    int write_failed = fflush(out) != 0 || ferror(out);
    int write_errno = errno;
    if (to_file) {
        if (fclose(out) != 0 && !write_failed) {
            write_failed = 1;
            write_errno = errno;
        }
        if (!write_failed && erc != VITTE_EINVAL && rename(tmp, output) != 0) {
            cli_error("inspect", "cannot rename %s to %s: %s", tmp, output, strerror(errno));
            write_failed = 1;
            write_errno = 0;
        }
        if (write_failed || erc == VITTE_EINVAL)
            unlink(tmp);
        free(tmp);
    }
    if (write_failed) {
        cli_error("inspect", "error writing %s: %s", to_file ? output : "the output",
                  write_errno != 0 ? strerror(write_errno) : "output error");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (erc == VITTE_OK) {
        rc = CLI_EXIT_OK;
    } else if (erc == VITTE_EINVAL) {
        cli_error("inspect", "%s", diag.message);
        rc = CLI_EXIT_USAGE;
    } else {
        /* diag.message is "FILE: reason"; the offset says where.  The
         * warnings printed above said it already, with every other file. */
        if (warned == 0)
            cli_error("inspect", "%s (at byte offset %llu)", diag.message,
                      (unsigned long long)diag.offset);
        if (to_file)
            cli_error("inspect", "%s holds what could be read, with a warning", output);
        else
            cli_error("inspect", "the output holds what could be read, with a warning");
        rc = CLI_EXIT_FAILURE;
    }
out:
    free(files);
    return rc;
}
