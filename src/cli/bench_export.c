/* `vitte bench`: --export-json, --export-csv and --export-markdown.
 *
 * Each is a superset of hyperfine's: its fields and columns first, with the
 * same names, units (seconds) and meaning, then vitte's (confidence
 * intervals, outliers, p-values, verdicts).  docs/cli/vitte-bench.md lists
 * them. */
#include "bench_common.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- units ---------------------------------------------------------------------- */

enum bench_unit bench_unit_for(double v, enum bench_unit forced)
{
    if (forced != BENCH_UNIT_AUTO)
        return forced;
    if (isnan(v))
        return BENCH_UNIT_MS;
    return v < 1e-3 ? BENCH_UNIT_US : v < 1.0 ? BENCH_UNIT_MS : BENCH_UNIT_S;
}

const char *bench_unit_name(enum bench_unit u)
{
    switch (u) {
    case BENCH_UNIT_US:
        return "µs";
    case BENCH_UNIT_S:
        return "s";
    default:
        return "ms";
    }
}

double bench_unit_scale(enum bench_unit u)
{
    switch (u) {
    case BENCH_UNIT_US:
        return 1e6;
    case BENCH_UNIT_S:
        return 1.0;
    default:
        return 1e3;
    }
}

/* ---- JSON ------------------------------------------------------------------------- */

static void json_doubles(FILE *out, const double *x, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", out);
        cli_json_number(out, x[i]);
    }
    fputc(']', out);
}

static void json_sizes(FILE *out, const size_t *x, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%zu", i ? ", " : "", x[i]);
    fputc(']', out);
}

static void json_key_number(FILE *out, const char *key, double v)
{
    fprintf(out, ",\n      \"%s\": ", key);
    cli_json_number(out, v);
}

static void json_interval(FILE *out, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        fputs("null", out);
        return;
    }
    fputc('[', out);
    cli_json_number(out, lo);
    fputs(", ", out);
    cli_json_number(out, hi);
    fputc(']', out);
}

static const char *verdict_word(const struct bench_cmp *c)
{
    return vitte_verdict_name(c->c.verdict);
}

static void json_cmp(FILE *out, const char *key, const struct bench_cmp *c, int baseline)
{
    fprintf(out, ",\n      \"%s\": ", key);
    if (!c->done) {
        fputs("null", out);
        return;
    }
    fputs("{\"against\": ", out);
    cli_json_string(out, c->against);
    fputs(", \"against_mean\": ", out);
    cli_json_number(out, c->other_mean);
    fprintf(out, ", \"against_runs\": %zu", c->other_n);
    fputs(",\n        \"rel_diff\": ", out);
    cli_json_number(out, c->c.rel_diff);
    fputs(", \"rel_diff_ci95\": ", out);
    json_interval(out, c->c.rel_diff_lo, c->c.rel_diff_hi);
    fputs(",\n        \"welch_t\": ", out);
    cli_json_number(out, c->welch_t);
    fputs(", \"welch_df\": ", out);
    cli_json_number(out, c->welch_df);
    fputs(", \"welch_p\": ", out);
    cli_json_number(out, c->welch_p);
    fputs(", \"mann_whitney_u\": ", out);
    cli_json_number(out, c->mw_u);
    fputs(", \"mann_whitney_p\": ", out);
    cli_json_number(out, c->mw_p);
    fputs(",\n        \"cohen_d\": ", out);
    cli_json_number(out, c->c.cohen_d);
    fputs(", \"cliff_delta\": ", out);
    cli_json_number(out, c->c.cliff_delta);
    fprintf(out, ", \"test\": \"%s\", \"p_value\": ",
            c->c.test_used == VITTE_STATS_TEST_MANN_WHITNEY ? "mann-whitney" : "welch");
    cli_json_number(out, c->c.test.p_value);
    fprintf(out, ", \"verdict\": \"%s\"", verdict_word(c));
    if (baseline)
        fprintf(out, ", \"regression\": %s", c->regression ? "true" : "false");
    fputc('}', out);
}

static void json_result(FILE *out, const struct bench_report *r, size_t k)
{
    const struct bench_result *b = &r->res[k];

    fputs("    {\n      \"command\": ", out);
    cli_json_string(out, b->name);
    json_key_number(out, "mean", b->s.mean);
    json_key_number(out, "stddev", b->s.stddev);
    json_key_number(out, "median", b->s.median);
    json_key_number(out, "user", b->user_mean);
    json_key_number(out, "system", b->system_mean);
    json_key_number(out, "min", b->s.min);
    json_key_number(out, "max", b->s.max);
    fputs(",\n      \"times\": ", out);
    json_doubles(out, b->times, b->n);
    fputs(",\n      \"exit_codes\": [", out);
    for (size_t i = 0; i < b->n; i++) {
        if (i)
            fputs(", ", out);
        if (b->exit_codes[i] == BENCH_SIGNALED)
            fputs("null", out);
        else
            fprintf(out, "%d", (int)b->exit_codes[i]);
    }
    fputc(']', out);
    if (b->n_params > 0) {
        fputs(",\n      \"parameters\": {", out);
        for (size_t i = 0; i < b->n_params; i++) {
            if (i)
                fputs(", ", out);
            cli_json_string(out, b->params[i].name);
            fputs(": ", out);
            cli_json_string(out, b->params[i].value);
        }
        fputc('}', out);
    }
    fputs(",\n      \"memory_usage_byte\": [", out);
    for (size_t i = 0; i < b->n; i++)
        fprintf(out, "%s%lld", i ? ", " : "", (long long)b->rss[i]);
    fputc(']', out);

    /* vitte's own fields */
    fputs(",\n      \"command_line\": ", out);
    cli_json_string(out, b->command);
    fprintf(out, ",\n      \"runs\": %zu, \"warmup\": %d, \"failed_runs\": %zu", b->n, r->warmup,
            b->failed);
    fputs(",\n      \"user_times\": ", out);
    json_doubles(out, b->user, b->n);
    fputs(",\n      \"system_times\": ", out);
    json_doubles(out, b->system, b->n);
    json_key_number(out, "stderr_mean", b->s.stderr_mean);
    json_key_number(out, "mad", b->s.mad);
    json_key_number(out, "cv", b->s.cv);
    fputs(",\n      \"ci95\": ", out);
    json_interval(out, b->ci_lo, b->ci_hi);
    fputs(", \"ci95_bootstrap\": ", out);
    if (b->have_boot)
        json_interval(out, b->boot.lo, b->boot.hi);
    else
        fputs("null", out);
    fputs(",\n      \"outliers\": ", out);
    if (!b->have_outliers) {
        fputs("null", out);
    } else {
        fprintf(out,
                "{\"tukey\": {\"low_severe\": %zu, \"low_mild\": %zu, \"high_mild\": %zu, "
                "\"high_severe\": %zu, \"q1\": ",
                b->tukey.low_severe, b->tukey.low_mild, b->tukey.high_mild, b->tukey.high_severe);
        cli_json_number(out, b->tukey.q1);
        fputs(", \"q3\": ", out);
        cli_json_number(out, b->tukey.q3);
        fputs(", \"indices\": ", out);
        json_sizes(out, b->tukey_idx, b->tukey.count);
        fputs("},\n        \"mzscore\": {\"threshold\": ", out);
        cli_json_number(out, b->mz.threshold);
        fprintf(out, ", \"low\": %zu, \"high\": %zu, \"indices\": ", b->mz.low, b->mz.high);
        json_sizes(out, b->mz_idx, b->mz.count);
        fprintf(out, "},\n        \"beyond_10\": %zu, \"slow_first_run\": %s}", b->n_extreme,
                b->slow_first ? "true" : "false");
    }
    fputs(",\n      \"relative\": ", out);
    cli_json_number(out, b->rel);
    fputs(", \"relative_stddev\": ", out);
    cli_json_number(out, b->rel_sd);
    fputs(", \"relative_ci95\": ", out);
    json_interval(out, b->rel_lo, b->rel_hi);
    fprintf(out, ", \"relative_to\": ");
    cli_json_string(out, r->res[r->fastest].name);
    json_cmp(out, "comparison", &b->ref, 0);
    json_cmp(out, "baseline", &b->base, 1);
    fputs("\n    }", out);
}

void bench_export_json(FILE *out, const struct bench_report *r)
{
    fputs("{\n  \"results\": [\n", out);
    for (size_t k = 0; k < r->n; k++) {
        json_result(out, r, k);
        fputs(k + 1 < r->n ? ",\n" : "\n", out);
    }
    fputs("  ],\n  \"vitte\": {\"version\": ", out);
    cli_json_string(out, VITTE_VERSION_STRING);
    fputs(", \"reference\": ", out);
    cli_json_string(out, r->res[r->reference].name);
    fputs(", \"confidence\": 0.95, \"alpha\": ", out);
    cli_json_number(out, r->alpha);
    fputs(", \"noise\": ", out);
    cli_json_number(out, r->noise);
    fprintf(out, ", \"strict\": %s", r->strict ? "true" : "false");
    fprintf(out, ", \"test\": \"%s\", \"resamples\": %u, \"seed\": %llu,\n    \"shell\": ", r->test,
            r->resamples, (unsigned long long)VITTE_STATS_DEFAULT_SEED);
    if (r->shell != NULL)
        cli_json_string(out, r->shell);
    else
        fputs("null", out);
    fputs(", \"shell_spawn_time\": ", out);
    if (r->shell != NULL) {
        fputs("{\"wall\": ", out);
        cli_json_number(out, r->shell_wall);
        fputs(", \"user\": ", out);
        cli_json_number(out, r->shell_user);
        fputs(", \"system\": ", out);
        cli_json_number(out, r->shell_system);
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    fputs(",\n    \"baseline\": ", out);
    if (r->baseline != NULL)
        cli_json_string(out, r->baseline);
    else
        fputs("null", out);
    fputs(", \"fail_if_slower\": ", out);
    cli_json_number(out, r->fail_if_slower >= 0 ? r->fail_if_slower / 100.0 : NAN);

    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    char date[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) != NULL)
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(", \"host\": ", out);
    cli_json_string(out, host);
    fputs(", \"date\": ", out);
    cli_json_string(out, date);
    fputs("}\n}\n", out);
}

/* ---- CSV ---------------------------------------------------------------------------- */

static void csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_number(FILE *out, double v)
{
    fputc(',', out);
    if (isfinite(v))
        fprintf(out, "%.12g", v);
}

void bench_export_csv(FILE *out, const struct bench_report *r)
{
    fputs("command,mean,stddev,median,user,system,min,max", out);
    for (size_t i = 0; i < r->n_param_names; i++) {
        fputs(",parameter_", out);
        fputs(r->param_names[i], out);
    }
    fputs(",runs,ci95_lo,ci95_hi,relative,relative_stddev,welch_p,mann_whitney_p,verdict,"
          "baseline_rel_diff,baseline_welch_p,baseline_verdict\n",
          out);
    for (size_t k = 0; k < r->n; k++) {
        const struct bench_result *b = &r->res[k];
        csv_field(out, b->name);
        csv_number(out, b->s.mean);
        csv_number(out, b->s.stddev);
        csv_number(out, b->s.median);
        csv_number(out, b->user_mean);
        csv_number(out, b->system_mean);
        csv_number(out, b->s.min);
        csv_number(out, b->s.max);
        for (size_t i = 0; i < r->n_param_names; i++) {
            fputc(',', out);
            for (size_t j = 0; j < b->n_params; j++)
                if (strcmp(b->params[j].name, r->param_names[i]) == 0)
                    csv_field(out, b->params[j].value);
        }
        fprintf(out, ",%zu", b->n);
        csv_number(out, b->ci_lo);
        csv_number(out, b->ci_hi);
        csv_number(out, b->rel);
        csv_number(out, b->rel_sd);
        csv_number(out, b->ref.done ? b->ref.welch_p : NAN);
        csv_number(out, b->ref.done ? b->ref.mw_p : NAN);
        fputc(',', out);
        fputs(k == r->reference ? "reference" : b->ref.done ? verdict_word(&b->ref) : "", out);
        csv_number(out, b->base.done ? b->base.c.rel_diff : NAN);
        csv_number(out, b->base.done ? b->base.welch_p : NAN);
        fputc(',', out);
        fputs(b->base.done ? verdict_word(&b->base) : "", out);
        fputc('\n', out);
    }
}

/* ---- Markdown -------------------------------------------------------------------------- */

static void md_code(FILE *out, const char *s)
{
    /* a code span: | must still be escaped inside a table */
    const int ticks = strchr(s, '`') != NULL;
    fputs(ticks ? "`` " : "`", out);
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
    fputs(ticks ? " ``" : "`", out);
}

void bench_export_markdown(FILE *out, const struct bench_report *r)
{
    double least = INFINITY;
    for (size_t k = 0; k < r->n; k++)
        if (r->res[k].s.mean < least)
            least = r->res[k].s.mean;
    enum bench_unit u = bench_unit_for(least, r->unit);
    const char *un = bench_unit_name(u);
    const double sc = bench_unit_scale(u);
    const int prec = u == BENCH_UNIT_S ? 3 : 1;

    fprintf(out,
            "| Command | Mean [%s] | Min [%s] | Max [%s] | Relative | p (%s) | Verdict |\n"
            "|:---|---:|---:|---:|---:|---:|:---|\n",
            un, un, un, r->test[0] == 'w' ? "Welch" : "Mann-Whitney");
    for (size_t k = 0; k < r->n; k++) {
        const struct bench_result *b = &r->res[k];
        fputs("| ", out);
        md_code(out, b->name);
        fprintf(out, " | %.*f", prec, b->s.mean * sc);
        if (isfinite(b->s.stddev))
            fprintf(out, " ± %.*f", prec, b->s.stddev * sc);
        fprintf(out, " | %.*f | %.*f | %.2f", prec, b->s.min * sc, prec, b->s.max * sc, b->rel);
        if (k != r->fastest && isfinite(b->rel_sd))
            fprintf(out, " ± %.2f", b->rel_sd);
        if (k == r->reference)
            fputs(" |  | reference |\n", out);
        else if (b->ref.done)
            fprintf(out, " | %.2g | %s |\n", b->ref.c.test.p_value, verdict_word(&b->ref));
        else
            fputs(" |  |  |\n", out);
    }
}
