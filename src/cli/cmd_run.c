/* `vitte run`: run a program and record it: its call stacks (--profile),
 * and whatever it traces itself with libvitte.
 *
 * A thin driver over vitte_profile_run() (<vitte/profiler.h>): the library
 * starts the program, samples it and writes the trace; this file parses the
 * options, forwards signals, prints what happened and passes the program's
 * exit status through (death by signal N: 128 + N, like a shell). */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vitte/vitte.h>

enum {
    OPT_HELP = 100,
    OPT_PROFILE,
    OPT_FREQ,
    OPT_CALL_GRAPH,
    OPT_STACK_SIZE,
    OPT_WALL,
    OPT_SAMPLER,
    OPT_NO_FOLLOW,
    OPT_FOLLOW,
    OPT_SYMBOLS,
    OPT_OUT,
    OPT_QUIET,
    OPT_SYSTEM,
    OPT_SYSTEM_INTERVAL
};

static const struct cli_opt run_opts[] = {
    {OPT_PROFILE, 'p', "profile", NULL, "sample the call stacks of the program (and its threads)"},
    {OPT_OUT, 'o', "out", "FILE", "the trace to write (default vitte.vittrace)"},
    {OPT_FREQ, 'F', "freq", "HZ", "samples per second of CPU time, per thread (default 999)"},
    {OPT_CALL_GRAPH, 'g', "call-graph", "MODE",
     "dwarf (default: any binary) or fp (frame pointers)"},
    {OPT_STACK_SIZE, 0, "stack-size", "BYTES",
     "dwarf: user stack copied per sample (default 16384)"},
    {OPT_WALL, 0, "wall", NULL, "wall-clock samples: blocked threads too (signal sampler)"},
    {OPT_SAMPLER, 0, "sampler", "S", "auto (default), perf or signal"},
    {OPT_FOLLOW, 0, "follow-fork", NULL, "also sample child processes (the default)"},
    {OPT_NO_FOLLOW, 0, "no-follow-fork", NULL, "sample only the process started"},
    {OPT_SYMBOLS, 0, "symbols", "DIR[:DIR]", "look for binaries and debug files here too"},
    {OPT_SYSTEM, 0, "system", NULL, "record CPU, memory, IO... of the program and the machine"},
    {OPT_SYSTEM_INTERVAL, 0, "system-interval", "MS", "--system: one reading every MS (100)"},
    {OPT_QUIET, 'q', "quiet", NULL, "print nothing but errors"},
    {OPT_HELP, 'h', "help", NULL, "show this help"},
};
#define N_RUN_OPTS (sizeof run_opts / sizeof run_opts[0])

static void print_help(FILE *out)
{
    fputs("Usage: vitte run --profile [options] [--] PROGRAM [ARGS...]\n"
          "\n"
          "Run PROGRAM (found on PATH, with this environment, stdin and stdout) and\n"
          "sample where its time goes, in every thread and child process, without\n"
          "recompiling it: with or without frame pointers or debug information.\n"
          "The trace is complete even when the program crashes or is interrupted.\n"
          "Read it with `vitte inspect` (text, flame graph, pprof, Chrome...).\n"
          "\n"
          "Samplers:\n"
          "  perf     perf_event_open on the program: exact rate, threads and children\n"
          "           from their first instruction; needs kernel.perf_event_paranoid <= 2\n"
          "           (the default) or CAP_PERFMON\n"
          "  signal   a shim loaded with LD_PRELOAD arms a CPU-time timer per thread;\n"
          "           works where perf_event is denied (containers, seccomp), but the\n"
          "           timers tick at the kernel's HZ (often 250/s) whatever is asked,\n"
          "           so each sample is weighted by the CPU time it measured\n"
          "  auto     perf when permitted, else signal (and says why)\n"
          "\n"
          "Options:\n",
          out);
    cli_print_options(out, run_opts, N_RUN_OPTS);
    fputs("\n"
          "A program built with libvitte also has the spans and counters it traces\n"
          "copied into the profile, on the samples' timeline.  Without --profile,\n"
          "PROGRAM runs with VITTE_TRACE=FILE, so such a program records them there.\n"
          "\n"
          "The exit status is PROGRAM's (128+N when a signal N killed it), 127 when it\n"
          "cannot be started, 1 when vitte itself failed.\n"
          "\n"
          "Examples:\n"
          "  vitte run --profile -- ./server --port 8080\n"
          "  vitte run -p -o build.vittrace -- make -j2\n"
          "  vitte inspect vitte.vittrace                 top functions, self and total\n"
          "  vitte inspect vitte.vittrace -f svg -o fg.svg\n"
          "  vitte inspect vitte.vittrace -f pprof -o cpu.pb.gz && go tool pprof -top cpu.pb.gz\n",
          out);
}

static volatile sig_atomic_t g_child = 0;

/* Signals sent to vitte with kill(1) go on to the program; those from the
 * terminal (Ctrl-C, Ctrl-\) reach the program directly, being sent to the
 * whole foreground process group, so they are not sent twice. */
static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved_errno = errno; /* kill() may set it */
    if (g_child > 0 && (si == NULL || si->si_code <= 0))
        kill((pid_t)g_child, sig);
    errno = saved_errno;
}

static void on_start(void *arg, int pid)
{
    (void)arg;
    g_child = pid;
}

static void on_message(void *arg, const char *m)
{
    if (!*(const int *)arg)
        fprintf(stderr, "vitte run: %s\n", m);
}

static void on_progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
    if (*(const int *)arg || !isatty(2) || total < 5000)
        return;
    fprintf(stderr, "\rvitte run: %s %llu/%llu%s", what, (unsigned long long)done,
            (unsigned long long)total, done >= total ? "\n" : "");
}

static int exit_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return CLI_EXIT_FAILURE;
}

/* Without --profile: run with VITTE_TRACE set. */
static int run_traced(char **argv, const char *out, int quiet)
{
    if (setenv("VITTE_TRACE", out, 1) != 0) {
        cli_error("run", "setenv: %s", strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("run", "fork: %s", strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "vitte run: cannot run %s: %s\n", argv[0],
                errno == ENOENT ? "command not found" : strerror(errno));
        _exit(127);
    }
    g_child = pid;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    struct stat sb;
    if (!quiet && stat(out, &sb) == 0)
        fprintf(stderr, "vitte run: %s written (%lld bytes)\n", out, (long long)sb.st_size);
    else if (!quiet && exit_code(st) != 127)
        fprintf(stderr,
                "vitte run: %s was not written: the program does not use libvitte's tracer "
                "(use --profile to sample any program)\n",
                out);
    return exit_code(st);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || x > max || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    vitte_run_options o;
    vitte_run_options_init(&o);
    int profile = 0, quiet = 0;
    const char *out = "vitte.vittrace";
    struct cli_getopt_state st;
    cli_getopt_init(&st, "run", argc, argv);
    int prog = -1;
    while (prog < 0) {
        int id = cli_getopt(&st, run_opts, N_RUN_OPTS);
        unsigned long v;
        switch (id) {
        case CLI_OPT_END:
            prog = argc;
            break;
        case CLI_OPT_ARG:
            prog = st.index - 1; /* the program: everything from here is its own */
            break;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_HELP:
            print_help(stdout);
            return CLI_EXIT_OK;
        case OPT_PROFILE:
            profile = 1;
            break;
        case OPT_OUT:
            out = st.value;
            break;
        case OPT_FREQ:
            if (parse_uint(st.value, 100000, &v) != 0 || v == 0)
                return cli_usage_error("run", "--freq wants samples per second, 1 to 100000: '%s'",
                                       st.value);
            o.freq_hz = (uint32_t)v;
            break;
        case OPT_CALL_GRAPH:
            if (strcmp(st.value, "dwarf") == 0)
                o.call_graph = VITTE_CALL_GRAPH_DWARF;
            else if (strcmp(st.value, "fp") == 0)
                o.call_graph = VITTE_CALL_GRAPH_FP;
            else
                return cli_usage_error("run", "--call-graph is dwarf or fp, not '%s'", st.value);
            break;
        case OPT_STACK_SIZE:
            if (parse_uint(st.value, 65528, &v) != 0 || v < 512 || (v & 7))
                return cli_usage_error(
                    "run", "--stack-size wants a multiple of 8 from 512 to 65528, not '%s'",
                    st.value);
            o.stack_bytes = (uint32_t)v;
            break;
        case OPT_WALL:
            o.wall = 1;
            break;
        case OPT_SAMPLER:
            if (strcmp(st.value, "auto") == 0)
                o.sampler = VITTE_SAMPLER_AUTO;
            else if (strcmp(st.value, "perf") == 0)
                o.sampler = VITTE_SAMPLER_PERF;
            else if (strcmp(st.value, "signal") == 0)
                o.sampler = VITTE_SAMPLER_SIGNAL;
            else
                return cli_usage_error("run", "--sampler is auto, perf or signal, not '%s'",
                                       st.value);
            break;
        case OPT_FOLLOW:
            o.no_follow_fork = 0;
            break;
        case OPT_NO_FOLLOW:
            o.no_follow_fork = 1;
            break;
        case OPT_SYMBOLS:
            o.symbol_dirs = st.value;
            break;
        case OPT_QUIET:
            quiet = 1;
            break;
        case OPT_SYSTEM:
            o.system = 1;
            break;
        case OPT_SYSTEM_INTERVAL:
            if (parse_uint(st.value, 3600000, &v) != 0 || v == 0)
                return cli_usage_error("run", "--system-interval wants milliseconds, not '%s'",
                                       st.value);
            o.system_interval_ms = (uint32_t)v;
            o.system = 1;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (prog >= argc)
        return cli_usage_error("run", "no program to run (vitte run --profile -- PROGRAM ARGS)");
    char **pargv = argv + prog;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);

    if (!profile) {
        if (o.system)
            return cli_usage_error("run", "--system goes with --profile");
        return run_traced(pargv, out, quiet);
    }

    o.out = out;
    o.on_start = on_start;
    o.on_message = on_message;
    o.on_progress = on_progress;
    o.arg = &quiet;
    if (getenv("VITTE_PRELOAD") != NULL)
        o.preload = getenv("VITTE_PRELOAD");
    vitte_run_result res;
    int rc = vitte_profile_run(pargv, &o, &res);
    if (rc == VITTE_ENOENT && res.wait_status == -1) {
        cli_error("run", "%s", res.message);
        return 127;
    }
    if (rc != VITTE_OK && res.wait_status == -1) {
        cli_error("run", "%s", res.message[0] ? res.message : vitte_strerror(rc));
        return CLI_EXIT_FAILURE;
    }
    if (rc != VITTE_OK)
        cli_error("run", "%s", res.message[0] ? res.message : vitte_strerror(rc));
    if (!quiet) {
        double cpu = (double)res.cpu_ns / 1e9, wall = (double)res.wall_ns / 1e9;
        fprintf(stderr,
                "vitte run: %llu samples (%s sampler, %.0f/s of CPU) over %.3f s of CPU in "
                "%.3f s, %u thread%s, %u process%s; %llu lost",
                (unsigned long long)res.samples,
                res.sampler == VITTE_SAMPLER_PERF ? "perf" : "signal",
                cpu > 0 ? (double)res.samples / cpu : 0.0, cpu, wall, res.threads,
                res.threads == 1 ? "" : "s", res.processes, res.processes == 1 ? "" : "es",
                (unsigned long long)res.lost);
        if (res.samples > 0)
            fprintf(stderr, ", %.1f%% of stacks incomplete",
                    100.0 * (double)(res.truncated + res.unwind_failed) / (double)res.samples);
        fprintf(stderr, "\nvitte run: wrote %s; see `vitte inspect %s`\n", out, out);
        if (res.message[0] && rc == VITTE_OK)
            fprintf(stderr, "vitte run: %s\n", res.message);
    }
    if (rc != VITTE_OK)
        return CLI_EXIT_FAILURE;
    return exit_code(res.wait_status);
}
