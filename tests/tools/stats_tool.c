/* Statistics of one or two samples as JSON, for tests/scripts/test_stats_scipy.sh.
 *
 *   stats_tool [OPTIONS] FILE_A [FILE_B]   samples: numbers separated by white space
 *   stats_tool [OPTIONS] --seed S NA NB    two samples from a seeded generator
 *                                          (printed too, as "samples_a"/"samples_b")
 * OPTIONS (bootstrap, also used by the comparison):
 *   --boot B          resamples (default 1000)
 *   --boot-seed S     generator seed (default VITTE_STATS_DEFAULT_SEED)
 *   --boot-level L    level (default 0.95)
 *
 * Prints one JSON object: "a"/"b" summaries, "moments_a" (streaming, three
 * accumulators merged), "quantiles_a" at QS below, "ci_a" at 0.90/0.95/0.99,
 * "median_ci_a" (order statistics) at the same levels, "boot" (bootstrap CIs
 * of a's mean and median and of mean(a)/mean(b)), "tukey_a" and "mz_a"
 * (outliers: fences, counts, flagged indices and classes), "linreg_idx" (a
 * against its index) and "linreg_ab" (b against a, when na = nb), "sma_a"
 * (window min(5, na)), "ewma_a" (alpha 0.3), "welch" and "mwu" of a vs b,
 * and "compare" (baseline a, candidate b; Welch, and Mann-Whitney's p and
 * verdict); every call's status as "status" or "<name>_status".  Non-finite
 * numbers print as null.  Exit 0, or 2 on bad usage or input. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vitte/vitte.h>

static const double QS[] = {0.0, 0.01, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.75, 0.9, 0.99, 1.0};
static const double LEVELS[] = {0.90, 0.95, 0.99};

static void num(const char *key, double v, int comma)
{
    if (key != NULL)
        printf("\"%s\":", key);
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
    if (comma)
        putchar(',');
}

static int read_file(const char *path, double **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t cap = 64, len = 0;
    double *v = malloc(cap * sizeof *v);
    double x;
    while (v != NULL && fscanf(f, "%lf", &x) == 1) {
        if (len == cap) {
            cap *= 2;
            double *nv = realloc(v, cap * sizeof *v);
            if (nv == NULL) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        v[len++] = x;
    }
    const int bad = v == NULL || !feof(f);
    fclose(f);
    if (bad) {
        free(v);
        return -1;
    }
    *out = v;
    *n = len;
    return 0;
}

static uint64_t rng_state;
static double uniform(void)
{
    /* xorshift64*, top 53 bits */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}
static double *generate(size_t n, double mu)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v != NULL && i < n; i++) {
        /* Box-Muller, rounded to 1e-3 so that some ties occur */
        const double u1 = 1.0 - uniform(), u2 = uniform();
        const double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        v[i] = mu + round(z * 1000.0) / 1000.0;
    }
    return v;
}

static void summary(const char *key, const vitte_summary *s, int status)
{
    printf("\"%s_status\":%d,\"%s\":{\"n\":%zu,", key, status, key, s->n);
    num("mean", s->mean, 1);
    num("variance", s->variance, 1);
    num("stddev", s->stddev, 1);
    num("min", s->min, 1);
    num("max", s->max, 1);
    num("median", s->median, 1);
    num("mad", s->mad, 1);
    num("skewness", s->skewness, 1);
    num("kurtosis", s->kurtosis, 1);
    num("cv", s->cv, 1);
    num("stderr_mean", s->stderr_mean, 0);
    printf("},");
}

static void test(const char *key, const vitte_test_result *r, int status)
{
    printf("\"%s_status\":%d,\"%s\":{", key, status, key);
    num("statistic", r->statistic, 1);
    num("p_value", r->p_value, 1);
    num("df", r->df, 0);
    printf("},");
}

static void ci(const char *key, const vitte_ci *c, int status)
{
    if (key != NULL)
        printf("\"%s\":", key);
    printf("{\"status\":%d,", status);
    num("estimate", c->estimate, 1);
    num("lo", c->lo, 1);
    num("hi", c->hi, 1);
    num("level", c->level, 1);
    num("coverage", c->coverage, 1);
    num("stderr_boot", c->stderr_boot, 0);
    printf("}");
}

static void linreg(const char *key, const vitte_linreg *r, int status)
{
    printf("\"%s\":{\"status\":%d,", key, status);
    num("slope", r->slope, 1);
    num("intercept", r->intercept, 1);
    num("r", r->r, 1);
    num("r2", r->r2, 1);
    num("slope_stderr", r->slope_stderr, 1);
    num("intercept_stderr", r->intercept_stderr, 1);
    num("p_value", r->p_value, 0);
    printf("},");
}

/* The flagged values: "indices":[..],"classes":[..] */
static void flagged(const uint8_t *cls, const size_t *idx, size_t count)
{
    printf("\"indices\":[");
    for (size_t i = 0; i < count; i++)
        printf("%zu%s", idx[i], i + 1 < count ? "," : "");
    printf("],\"classes\":[");
    for (size_t i = 0; i < count; i++)
        printf("%d%s", cls[idx[i]], i + 1 < count ? "," : "");
    printf("]");
}

static void outliers(const double *a, size_t na)
{
    uint8_t *cls = malloc(na ? na : 1);
    size_t *idx = malloc((na ? na : 1) * sizeof *idx);
    if (cls == NULL || idx == NULL) {
        free(cls);
        free(idx);
        return;
    }
    vitte_tukey_result t;
    int st = vitte_stats_outliers_tukey(a, na, &t, cls, idx);
    printf("\"tukey_a\":{\"status\":%d,", st);
    num("q1", t.q1, 1);
    num("q3", t.q3, 1);
    num("iqr", t.iqr, 1);
    num("low_severe_fence", t.low_severe_fence, 1);
    num("low_mild_fence", t.low_mild_fence, 1);
    num("high_mild_fence", t.high_mild_fence, 1);
    num("high_severe_fence", t.high_severe_fence, 1);
    printf("\"count\":%zu,\"low_severe\":%zu,\"low_mild\":%zu,\"high_mild\":%zu,"
           "\"high_severe\":%zu,",
           t.count, t.low_severe, t.low_mild, t.high_mild, t.high_severe);
    flagged(cls, idx, st == 0 ? t.count : 0);
    vitte_mzscore_result m;
    st = vitte_stats_outliers_mzscore(a, na, VITTE_STATS_MZ_THRESHOLD, &m, cls, idx, NULL);
    printf("},\"mz_a\":{\"status\":%d,", st);
    num("median", m.median, 1);
    num("mad_raw", m.mad_raw, 1);
    printf("\"count\":%zu,\"low\":%zu,\"high\":%zu,", m.count, m.low, m.high);
    flagged(cls, idx, st == 0 ? m.count : 0);
    printf("},");
    free(cls);
    free(idx);
}

static void series(const char *key, const double *v, size_t n, int status)
{
    printf("\"%s\":{\"status\":%d,\"values\":[", key, status);
    for (size_t i = 0; status == 0 && i < n; i++)
        num(NULL, v[i], i + 1 < n);
    printf("]},");
}

static void compare(const double *a, size_t na, const double *b, size_t nb,
                    const vitte_stats_bootstrap_options *bo)
{
    vitte_stats_compare_options o;
    vitte_stats_compare_options_init(&o);
    o.bootstrap = *bo;
    vitte_comparison c;
    int st = vitte_stats_compare(a, na, b, nb, &o, &c);
    printf("\"compare\":{\"status\":%d,", st);
    num("mean_base", c.mean_base, 1);
    num("mean_cand", c.mean_cand, 1);
    num("rel_diff", c.rel_diff, 1);
    num("rel_diff_lo", c.rel_diff_lo, 1);
    num("rel_diff_hi", c.rel_diff_hi, 1);
    num("cohen_d", c.cohen_d, 1);
    num("cliff_delta", c.cliff_delta, 1);
    num("cles", c.cles, 1);
    num("t", c.test.statistic, 1);
    num("p_value", c.test.p_value, 1);
    printf("\"verdict\":%d,", (int)c.verdict);
    o.test = VITTE_STATS_TEST_MANN_WHITNEY;
    st = vitte_stats_compare(a, na, b, nb, &o, &c);
    printf("\"mwu_status\":%d,", st);
    num("mwu_p_value", c.test.p_value, 1);
    printf("\"mwu_verdict\":%d},", (int)c.verdict);
}

static void samples(const char *key, const double *x, size_t n)
{
    printf("\"%s\":[", key);
    for (size_t i = 0; i < n; i++)
        num(NULL, x[i], i + 1 < n);
    printf("],");
}

int main(int argc, char **argv)
{
    double *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int generated = 0;
    vitte_stats_bootstrap_options bo;
    vitte_stats_bootstrap_options_init(&bo);
    bo.resamples = 1000;
    int arg = 1;
    while (arg + 1 < argc && strncmp(argv[arg], "--boot", 6) == 0) {
        if (strcmp(argv[arg], "--boot") == 0)
            bo.resamples = (uint32_t)strtoul(argv[arg + 1], NULL, 10);
        else if (strcmp(argv[arg], "--boot-seed") == 0)
            bo.seed = strtoull(argv[arg + 1], NULL, 10);
        else if (strcmp(argv[arg], "--boot-level") == 0)
            bo.level = strtod(argv[arg + 1], NULL);
        else
            break;
        arg += 2;
    }
    const int rest = argc - arg;
    if (rest == 4 && strcmp(argv[arg], "--seed") == 0) {
        rng_state = strtoull(argv[arg + 1], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
        na = strtoul(argv[arg + 2], NULL, 10);
        nb = strtoul(argv[arg + 3], NULL, 10);
        a = generate(na, 10.0);
        b = generate(nb, 10.3);
        generated = 1;
        if (a == NULL || b == NULL) {
            fprintf(stderr, "stats_tool: out of memory\n");
            return 2;
        }
    } else if (rest == 1 || rest == 2) {
        if (read_file(argv[arg], &a, &na) != 0 ||
            (rest == 2 && read_file(argv[arg + 1], &b, &nb) != 0)) {
            fprintf(stderr, "stats_tool: cannot read the samples\n");
            return 2;
        }
    } else {
        fprintf(stderr, "usage: stats_tool [--boot B] [--boot-seed S] [--boot-level L] "
                        "FILE_A [FILE_B] | ... --seed S NA NB\n");
        return 2;
    }

    printf("{");
    if (generated) {
        samples("samples_a", a, na);
        samples("samples_b", b, nb);
    }
    vitte_summary s;
    summary("a", &s, vitte_stats_summary(a, na, &s));

    /* streaming: three accumulators over thirds of a, merged */
    vitte_moments part[3], all;
    for (int k = 0; k < 3; k++)
        vitte_moments_init(&part[k]);
    for (size_t i = 0; i < na; i++)
        vitte_moments_add(&part[i * 3 / (na ? na : 1)], a[i]);
    vitte_moments_init(&all);
    int st = 0;
    for (int k = 0; k < 3 && st == 0; k++)
        st = vitte_moments_merge(&all, &part[k]);
    if (st == 0)
        st = vitte_moments_summary(&all, &s);
    summary("moments_a", &s, st);

    printf("\"quantiles_q\":[");
    for (size_t i = 0; i < sizeof QS / sizeof QS[0]; i++)
        num(NULL, QS[i], i + 1 < sizeof QS / sizeof QS[0]);
    printf("],\"quantiles_a\":[");
    for (size_t i = 0; i < sizeof QS / sizeof QS[0]; i++)
        num(NULL, vitte_stats_quantile(a, na, QS[i]), i + 1 < sizeof QS / sizeof QS[0]);
    printf("],\"ci_a\":[");
    for (size_t i = 0; i < sizeof LEVELS / sizeof LEVELS[0]; i++) {
        double lo, hi;
        st = vitte_stats_mean_ci(a, na, LEVELS[i], &lo, &hi);
        printf("{\"level\":%.17g,\"status\":%d,", LEVELS[i], st);
        num("lo", lo, 1);
        num("hi", hi, 0);
        printf("}%s", i + 1 < sizeof LEVELS / sizeof LEVELS[0] ? "," : "");
    }
    printf("],\"median_ci_a\":[");
    for (size_t i = 0; i < sizeof LEVELS / sizeof LEVELS[0]; i++) {
        vitte_ci c;
        ci(NULL, &c, vitte_stats_median_ci(a, na, LEVELS[i], &c));
        printf("%s", i + 1 < sizeof LEVELS / sizeof LEVELS[0] ? "," : "");
    }
    printf("],\"boot\":{\"B\":%u,\"seed\":%" PRIu64 ",\"level\":%.17g,", bo.resamples, bo.seed,
           bo.level);
    vitte_ci c;
    ci("mean", &c, vitte_stats_bootstrap_mean_ci(a, na, &bo, &c));
    printf(",");
    ci("median", &c, vitte_stats_bootstrap_median_ci(a, na, &bo, &c));
    if (b != NULL) {
        printf(",");
        ci("ratio", &c, vitte_stats_bootstrap_ratio_ci(a, na, b, nb, &bo, &c));
    }
    printf("},");
    outliers(a, na);
    vitte_linreg lr;
    linreg("linreg_idx", &lr, vitte_stats_linreg(NULL, a, na, &lr));
    if (b != NULL && na == nb)
        linreg("linreg_ab", &lr, vitte_stats_linreg(a, b, na, &lr));
    double *sm = malloc((na ? na : 1) * sizeof *sm);
    if (sm != NULL) {
        series("sma_a", sm, na, vitte_stats_sma(a, na, na < 5 ? na : 5, sm));
        series("ewma_a", sm, na, vitte_stats_ewma(a, na, 0.3, sm));
        free(sm);
    }
    if (b != NULL) {
        summary("b", &s, vitte_stats_summary(b, nb, &s));
        vitte_test_result r;
        test("welch", &r, vitte_stats_welch_t(a, na, b, nb, &r));
        test("mwu", &r, vitte_stats_mann_whitney(a, na, b, nb, &r));
        compare(a, na, b, nb, &bo);
    }
    printf("\"na\":%zu,\"nb\":%zu}\n", na, nb);
    free(a);
    free(b);
    return 0;
}
