/* Statistics of one or two samples as JSON, for tests/scripts/test_stats_scipy.sh.
 *
 *   stats_tool FILE_A [FILE_B]      samples: numbers separated by white space
 *   stats_tool --seed S NA NB       two samples from a seeded generator
 *                                   (printed too, as "samples_a"/"samples_b")
 *
 * Prints one JSON object: "a"/"b" summaries, "moments_a" (streaming, three
 * accumulators merged), "quantiles_a" at QS below, "ci_a" at 0.90/0.95/0.99,
 * "welch" and "mwu" of a vs b; every call's status as "<name>_status".
 * Non-finite numbers print as null.  Exit 0, or 2 on bad usage or input. */
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
    if (argc == 5 && strcmp(argv[1], "--seed") == 0) {
        rng_state = strtoull(argv[2], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
        na = strtoul(argv[3], NULL, 10);
        nb = strtoul(argv[4], NULL, 10);
        a = generate(na, 10.0);
        b = generate(nb, 10.3);
        generated = 1;
        if (a == NULL || b == NULL) {
            fprintf(stderr, "stats_tool: out of memory\n");
            return 2;
        }
    } else if (argc == 2 || argc == 3) {
        if (read_file(argv[1], &a, &na) != 0 || (argc == 3 && read_file(argv[2], &b, &nb) != 0)) {
            fprintf(stderr, "stats_tool: cannot read the samples\n");
            return 2;
        }
    } else {
        fprintf(stderr, "usage: stats_tool FILE_A [FILE_B] | stats_tool --seed S NA NB\n");
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
    printf("],");
    if (b != NULL) {
        summary("b", &s, vitte_stats_summary(b, nb, &s));
        vitte_test_result r;
        test("welch", &r, vitte_stats_welch_t(a, na, b, nb, &r));
        test("mwu", &r, vitte_stats_mann_whitney(a, na, b, nb, &r));
    }
    printf("\"na\":%zu,\"nb\":%zu}\n", na, nb);
    free(a);
    free(b);
    return 0;
}
