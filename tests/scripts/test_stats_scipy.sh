#!/usr/bin/env bash
# The statistics module against SciPy/NumPy: seeded random data sets (normal,
# ties, tiny n = 2..5, n = 1000 and 20,000..50,000, identical values, heavy
# tails, a 1e9 offset, unbalanced sizes, lines with noise, injected outliers),
# each run through tests/tools/stats_tool and compared with
# numpy.quantile/median, scipy.stats.describe/skew/kurtosis (bias=True),
# median_abs_deviation(scale=1/1.4826), sem, t.interval, ttest_ind(equal_var=
# False), mannwhitneyu(method='auto', use_continuity=True), linregress (with
# stderr and intercept_stderr), the order-statistic median CI from
# binom.cdf, Tukey fences and modified z-scores from numpy.quantile (the
# flagged sets exactly), Cohen's d, Cliff's delta, moving averages, and the
# bootstrap two ways:
#   - exactly: the tool's resamples replayed in numpy from the documented
#     splitmix64 sequence (docs/stats.md), so the interval ends must agree to
#     rounding (no statistics involved, cannot be flaky);
#   - statistically, against scipy.stats.bootstrap(method='percentile') with
#     its own generator, B = 10,000: each end must agree within 6 sqrt(2)
#     Monte Carlo standard deviations of a sample quantile, sqrt(p(1-p)/B)/f(q),
#     f estimated from the replayed distribution (docs/stats.md explains).
# Fixed seeds everywhere: the test is deterministic.  Tolerances: 1e-9
# relative for moments, quantiles, CI bounds and regression, 1e-6 relative for
# p-values; prints the worst deviation seen per quantity.
#
# Environment (set by ctest): VITTE_BUILD_DIR; exit 77 = skipped (no SciPy).
set -uo pipefail

tool=${VITTE_BUILD_DIR:-}/tests/stats_tool
if [[ ! -x $tool ]]; then
    echo "skip: $tool is not built"
    exit 77
fi
# The first python3 that has SciPy (a pyenv shim may hide the system one).
py=""
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import numpy, scipy.stats' 2>/dev/null; then
        py=$cand
        break
    fi
done
if [[ -z $py ]]; then
    echo "skip: no python3 with numpy and scipy (apt-get install python3-scipy)"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$py" - "$tool" "$tmp" <<'PYEOF'
import json, math, subprocess, sys, warnings
import numpy as np
from scipy import stats

warnings.simplefilter("ignore")  # scipy warns on nearly constant data
tool, tmp = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(20261123)

# ---- data sets: (name, a, b, offset) ----------------------------------------
sets = []
def add(name, a, b, offset=False):
    sets.append((name, np.asarray(a, dtype=float), np.asarray(b, dtype=float), offset))

for i in range(40):  # tiny samples, continuous: exact Mann-Whitney
    na, nb = rng.integers(2, 6, size=2)
    add(f"tiny{i}", rng.normal(0, 1, na), rng.normal(0.5, 2, nb))
for i in range(20):  # tiny with ties
    na, nb = rng.integers(2, 6, size=2)
    add(f"tinyties{i}", rng.integers(0, 3, na), rng.integers(0, 3, nb))
for i in range(40):  # medium normal, sizes around scipy's exact threshold
    na, nb = rng.integers(2, 31, size=2)
    add(f"normal{i}", rng.normal(10, 2, na), rng.normal(10.5, 3, nb))
for i in range(20):  # exact boundary: 8 vs 9, 9 vs 9, 1 vs n
    add(f"b8_9_{i}", rng.normal(0, 1, 8), rng.normal(0.3, 1, 9 + i))
    add(f"b9_9_{i}", rng.normal(0, 1, 9), rng.normal(0.3, 1, 9))
    add(f"one_{i}", rng.normal(0, 1, 1 + i % 3), rng.normal(0, 1, 5 + i))
for i in range(20):  # ties: Poisson counts and rounded times
    n1, n2 = rng.integers(5, 200, size=2)
    add(f"poisson{i}", rng.poisson(4, n1), rng.poisson(4.5, n2))
    add(f"rounded{i}", np.round(rng.normal(5, 1, n1), 1), np.round(rng.normal(5.2, 1, n2), 1))
for i in range(10):  # large n
    add(f"large{i}", rng.normal(100, 5, 1000), rng.normal(100.5, 5, 1000))
    add(f"largelog{i}", rng.lognormal(0, 1, 1000), rng.lognormal(0.05, 1, 1000))
# unbalanced without ties: exact Mann-Whitney (SciPy's exact recursion is slow
# for these, hence their number and sizes)
for m in range(3, 9):
    add(f"unbal{m}", rng.normal(0, 1, m), rng.normal(0.2, 1, 300))
add("unbal3x1000", rng.normal(0, 1, 3), rng.normal(0.2, 1, 1000))
for i in range(15):  # heavy tails
    add(f"cauchy{i}", rng.standard_cauchy(50 + 10 * i), rng.standard_cauchy(40))
    add(f"pareto{i}", rng.pareto(1.5, 100), rng.pareto(1.2, 80))
    add(f"lognorm{i}", rng.lognormal(0, 2.5, 30), rng.lognormal(0.5, 2.5, 30))
for i in range(10):  # identical values
    c = float(rng.normal(3, 1))
    add(f"ident{i}", np.full(2 + i, c), np.full(3 + i, c))
    add(f"identdiff{i}", np.full(2 + i, c), rng.normal(c, 1, 5 + i))
for i in range(15):  # large offset: values 1e9 + small noise
    n1, n2 = rng.integers(2, 300, size=2)
    add(f"offset{i}", 1e9 + rng.normal(0, 1, n1), 1e9 + rng.normal(0.1, 1, n2), offset=True)
    add(f"offsetint{i}", 1e9 + np.arange(1, n1 + 1), 1e9 + 0.5 + np.arange(1, n2 + 1),
        offset=True)

for i in range(30):  # lines: b against a (linregress), some exact, some noisy
    n = int(rng.integers(2, 200))
    x = rng.uniform(0, 100, n) if i % 3 else rng.integers(0, 20, n).astype(float)
    noise = [0.0, 1e-12, 0.1, 10.0][i % 4]
    add(f"line{i}", x, 3.0 + 0.5 * x + rng.normal(0, noise, n) if noise else 3.0 + 0.5 * x)
for i in range(6):  # timestamps far from 0 against a counter
    n = int(rng.integers(3, 100))
    t = 1.7e9 + 10.0 * np.arange(n)
    add(f"tsline{i}", t, np.cumsum(rng.poisson(50, n)).astype(float))
add("xconst", np.full(5, 2.0), np.arange(5.0))
for i in range(20):  # outliers injected into normal data, some rounded (ties)
    n = int(rng.integers(5, 400))
    x = rng.normal(100, 5, n)
    k = int(rng.integers(1, 4))
    x[rng.choice(n, k, replace=False)] += rng.choice([-1, 1], k) * rng.uniform(5, 60, k) * 5
    if i % 2:
        x = np.round(x)
    add(f"outl{i}", x, rng.normal(101, 5, n))
for i in range(3):  # large: order statistics by selection (n > 4096)
    n = [5001, 20000, 50000][i]
    x = rng.lognormal(0, 1, n)
    x[rng.choice(n, 20, replace=False)] *= 50
    add(f"big{i}", np.round(x, 3) if i == 1 else x, rng.lognormal(0.02, 1, n))

# ---- comparison ---------------------------------------------------------------
worst = {}
checks = 0
failures = 0
exact_mwu = asym_mwu = 0

def check(ds, what, got, ref, rtol, atol=0.0):
    global checks, failures
    checks += 1
    if ref is None or not math.isfinite(ref):
        ok = got is None
        dev = 0.0 if ok else math.inf
    elif got is None:
        ok, dev = False, math.inf
    else:
        diff = abs(got - ref)
        # deviation relative to the reference, or to the absolute tolerance's
        # scale when the reference is near 0
        dev = diff / max(abs(ref), atol / rtol if rtol > 0 else atol, 1e-300)
        ok = diff <= max(rtol * abs(ref), atol)
    key = what.split("[")[0]
    if dev > worst.get(key, (0.0, ""))[0]:
        worst[key] = (dev, ds)
    if not ok:
        failures += 1
        if failures <= 30:
            print(f"FAIL {ds}: {what}: got {got!r}, scipy {ref!r}")

def fnum(v):
    return None if v is None or not math.isfinite(v) else float(v)

def ref_summary(x, offset):
    # Shift-invariant figures from data shifted by x[0] for the offset sets:
    # exact for 1e9 + noise (Sterbenz), so the reference itself is accurate.
    s = x[0] if offset else 0.0
    y = x - s
    d = stats.describe(y) if len(y) > 1 else None
    mean = s + np.mean(y)
    var = float(np.var(y, ddof=1)) if len(y) > 1 else math.nan
    r = dict(n=len(x), mean=mean, variance=var, stddev=math.sqrt(var),
             min=float(np.min(x)), max=float(np.max(x)), median=float(np.median(x)),
             mad=float(stats.median_abs_deviation(x, scale=1 / 1.4826)),
             skewness=float(stats.skew(y, bias=True)),
             kurtosis=float(stats.kurtosis(y, fisher=True, bias=True)),
             stderr_mean=math.sqrt(var / len(x)))
    r["cv"] = r["stddev"] / mean if mean != 0 else math.nan
    r["offset"] = offset
    if np.ptp(x) == 0 and len(x) > 1:
        # identical values: numpy's mean of them may be off by an ulp, which
        # leaves a variance of ~1e-32; the exact figures are these
        r.update(mean=x[0], variance=0.0, stddev=0.0, stderr_mean=0.0, mad=0.0,
                 skewness=math.nan, kurtosis=math.nan)
        r["cv"] = 0.0 if x[0] != 0 else math.nan
    if d is not None:
        assert abs(d.variance - var) <= 1e-12 * var + 1e-300
    return r

def cmp_summary(ds, key, got, ref, streaming):
    check(ds, f"{key}.n", got["n"], ref["n"], 0)
    for f, tol in [("mean", 1e-12), ("variance", 1e-9), ("stddev", 1e-9), ("min", 0),
                   ("max", 0), ("median", 1e-12), ("mad", 1e-9), ("cv", 1e-9),
                   ("stderr_mean", 1e-9)]:
        if streaming and f in ("median", "mad"):
            check(ds, f"{key}.{f}", got[f], None, 0)
            continue
        if streaming and ref["offset"] and f not in ("min", "max"):
            check(ds, f"{key}.{f}@offset", fnum(got[f]), fnum(ref[f]), 1e-6)
            continue
        # mean: compared relative to the spread too (a mean of 1e9 is only
        # ever known to 1e9 * eps)
        atol = 1e-12 * (abs(ref["mean"]) + ref["stddev"]) if f in ("mean", "median") else 0
        check(ds, f"{key}.{f}", fnum(got[f]), fnum(ref[f]), tol, atol)
    for f in ("skewness", "kurtosis"):
        # relative to the moment scale: both are O(1) numbers near 0 at times.
        # The streaming form keeps its mean in one double: at 1e9 + noise of
        # unit spread that mean moves by ulps of 1.2e-7 at every add, which
        # shows in the third and fourth moments (documented in docs/stats.md).
        if streaming and ref["offset"]:
            check(ds, f"{key}.{f}@offset", fnum(got[f]), fnum(ref[f]), 1e-6, 1e-6)
        else:
            check(ds, f"{key}.{f}", fnum(got[f]), fnum(ref[f]), 1e-9, 1e-9)

LEVELS_BOOT = [0.95, 0.9, 0.99]
BOOT_SEEDS = [0, 2**64 - 1]  # wrap-around of the state, then ordinary seeds

def boot_args(k, na, nb):
    big = max(na, nb)
    B = 10000 if big <= 300 else (2000 if big <= 5000 else 200)
    seed = BOOT_SEEDS[k] if k < len(BOOT_SEEDS) else 1000 + 7919 * k
    return ["--boot", str(B), "--boot-seed", str(seed), "--boot-level",
            repr(LEVELS_BOOT[k % 3])]

def run(ds, a, b, offset, k):
    pa, pb = f"{tmp}/a", f"{tmp}/b"
    np.savetxt(pa, a, fmt="%.17g")
    np.savetxt(pb, b, fmt="%.17g")
    out = subprocess.run([tool] + boot_args(k, len(a), len(b)) + [pa, pb], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)

def compare(ds, a, b, offset, res):
    for key, x in (("a", a), ("b", b)):
        assert res[key + "_status"] == 0, (ds, key)
        cmp_summary(ds, key, res[key], ref_summary(x, offset), False)
    assert res["moments_a_status"] == 0, ds
    cmp_summary(ds, "moments", res["moments_a"], ref_summary(a, offset), True)
    qs = res["quantiles_q"]
    refq = np.quantile(a, qs)
    spread = float(np.max(a) - np.min(a))
    for q, got, ref in zip(qs, res["quantiles_a"], refq):
        check(ds, f"quantile[{q}]", got, float(ref), 1e-12, 1e-12 * spread)
    n = len(a)
    for ci in res["ci_a"]:
        if n < 2:
            assert ci["status"] == -1, ds
            continue
        se = stats.sem(a - (a[0] if offset else 0))
        m = (a[0] if offset else 0) + np.mean(a - (a[0] if offset else 0))
        if np.ptp(a) == 0:
            check(ds, "ci.lo", ci["lo"], float(a[0]), 0, 0)
            check(ds, "ci.hi", ci["hi"], float(a[0]), 0, 0)
            continue
        # scipy 1.10's t.ppf is off by up to ~4e-11 relative (df = 1, 2 have
        # closed forms to check against); one Newton step on its accurate
        # t.sf makes the reference exact to ~1e-15.
        q = (1 + ci["level"]) / 2
        t0 = stats.t.ppf(q, n - 1)
        t1 = t0 + (stats.t.sf(t0, n - 1) - (1 - q)) / stats.t.pdf(t0, n - 1)
        lo, hi = m - t1 * se, m + t1 * se
        check(ds, "ci.halfwidth", (ci["hi"] - ci["lo"]) / 2, (hi - lo) / 2, 1e-9)
        check(ds, "ci.lo", ci["lo"], float(lo), 1e-12, 1e-9 * (hi - lo))
        check(ds, "ci.hi", ci["hi"], float(hi), 1e-12, 1e-9 * (hi - lo))
    # Welch
    na, nb = len(a), len(b)
    sh = a[0] if offset else 0.0
    va = np.var(a - sh, ddof=1) / na if na > 1 else math.nan
    vb = np.var(b - sh, ddof=1) / nb if nb > 1 else math.nan
    if na < 2 or nb < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        check(ds, "welch.status", res["welch_status"], -1, 0)
    else:
        check(ds, "welch.status", res["welch_status"], 0, 0)
        t, p = stats.ttest_ind(a - sh, b - sh, equal_var=False)
        df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
        w = res["welch"]
        check(ds, "welch.t", w["statistic"], float(t), 1e-9, 1e-12)
        check(ds, "welch.df", w["df"], float(df), 1e-9)
        check(ds, "welch.p", w["p_value"], float(p), 1e-6, 1e-300)
    # Mann-Whitney
    global exact_mwu, asym_mwu
    check(ds, "mwu.status", res["mwu_status"], 0, 0)
    u, p = stats.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method="auto")
    ties = len(np.unique(np.concatenate([a, b]))) < na + nb
    if not ties and min(na, nb) <= 8:
        exact_mwu += 1
    else:
        asym_mwu += 1
    m = res["mwu"]
    check(ds, "mwu.U", m["statistic"], float(u), 0, 1e-9)
    check(ds, "mwu.p", m["p_value"], float(p), 1e-6, 1e-300)


# ---- second part: bootstrap, median CI, outliers, trends, comparison ------------

U = np.uint64
GAMMA, C1, C2 = U(0x9E3779B97F4A7C15), U(0xBF58476D1CE4E5B9), U(0x94D049BB133111EB)
M32 = U(0xFFFFFFFF)

def sm_draws(seed, start, count):
    """splitmix64 outputs for draws start .. start + count - 1 (docs/stats.md)."""
    j = np.arange(start + 1, start + count + 1, dtype=np.uint64)
    z = U(seed) + j * GAMMA  # wraps modulo 2^64
    z = (z ^ (z >> U(30))) * C1
    z = (z ^ (z >> U(27))) * C2
    return z ^ (z >> U(31))

def mul_hi(z, n):
    """floor(z * n / 2^64) for n < 2^32, exact in uint64: with z = z1 2^32 + z0,
    z n / 2^64 = (z1 n + z0 n / 2^32) / 2^32, and the floors nest."""
    assert n < 2**32
    n = U(n)
    return (((z >> U(32)) * n) + (((z & M32) * n) >> U(32))) >> U(32)

def replay(seed, B, samples, stat):
    """The tool's B bootstrap statistics: resample r draws len(s) indices for
    each sample s in turn, from draw r * sum(len) on."""
    sizes = [len(x) for x in samples]
    per = sum(sizes)
    rows = max(1, 2_000_000 // per)
    out = []
    for r0 in range(0, B, rows):
        nr = min(rows, B - r0)
        z = sm_draws(seed, r0 * per, nr * per).reshape(nr, per)
        parts, off = [], 0
        for x, n in zip(samples, sizes):
            parts.append(x[mul_hi(z[:, off:off + n], n).astype(np.intp)])
            off += n
        out.append(stat(*parts))
    return np.concatenate(out)

def pct_ci(t, level):
    a = (1 - level) / 2  # as scipy.stats.bootstrap: alpha, 1 - alpha
    return np.percentile(t, a * 100), np.percentile(t, (1 - a) * 100)

EPS = np.finfo(float).eps
boot_replays = scipy_boot = scipy_boot_skipped = 0

def check_ci_replay(ds, what, got, t, level, estimate, est_tol_scale):
    global boot_replays
    boot_replays += 1
    assert got["status"] == 0, (ds, what, got)
    lo, hi = pct_ci(t, level)
    se = float(np.std(t, ddof=1)) if len(t) > 1 else math.nan
    scale = (se if math.isfinite(se) else 0.0)
    for key, ref in (("lo", lo), ("hi", hi)):
        atol = 1e-9 * scale + 8 * EPS * abs(ref)
        check(ds, f"boot.{what}.{key}", got[key], float(ref), 0, atol)
    if math.isfinite(se):
        check(ds, f"boot.{what}.stderr", got["stderr_boot"], se, 1e-9,
              16 * EPS * max(abs(lo), abs(hi)))
    check(ds, f"boot.{what}.estimate", got["estimate"], float(estimate), 0,
          16 * EPS * est_tol_scale)
    check(ds, f"boot.{what}.level", got["level"], level, 0)

def mc_tol(t, p, B):
    """6 sqrt(2) Monte Carlo SDs of the p-quantile of B draws; f from t."""
    d = 0.01
    q_lo, q_hi = np.quantile(t, [max(p - d, 0.0), min(p + d, 1.0)])
    width = (min(p + d, 1.0) - max(p - d, 0.0))
    if not q_hi > q_lo:
        return None  # a discrete distribution there: no density
    return 6 * math.sqrt(2) * math.sqrt(p * (1 - p) / B) * (q_hi - q_lo) / width

def check_scipy_boot(ds, what, got, data, stat, t, level, seed):
    """scipy.stats.bootstrap(method='percentile'), its own generator."""
    global scipy_boot, scipy_boot_skipped
    B = 10000
    res = stats.bootstrap(data, stat, n_resamples=B, confidence_level=level,
                          method="percentile", vectorized=True,
                          random_state=np.random.default_rng(seed))
    a = (1 - level) / 2
    for key, p, ref in (("lo", a, res.confidence_interval.low),
                        ("hi", 1 - a, res.confidence_interval.high)):
        tol = mc_tol(t, p, B)
        if tol is None:
            scipy_boot_skipped += 1
            continue
        scipy_boot += 1
        diff = abs(got[key] - ref)
        k = f"scipy_boot.{what} (in MC tolerances)"
        dev = diff / tol
        if dev > worst.get(k, (0.0, ""))[0]:
            worst[k] = (dev, ds)
        if not diff <= tol:
            global failures
            failures += 1
            print(f"FAIL {ds}: scipy bootstrap {what}.{key}: got {got[key]!r}, scipy {ref!r}, "
                  f"tolerance {tol:.3g}")

def one_sign(x):
    return bool(np.all(x > 0) or np.all(x < 0))

def compare_boot(ds, a, b, offset, res, k):
    bt = res["boot"]
    B, seed, level = bt["B"], bt["seed"], bt["level"]
    sa = a[0] if offset else 0.0
    ya = a - sa
    ta = sa + replay(seed, B, [ya], lambda r: r.mean(axis=1))
    check_ci_replay(ds, "mean", bt["mean"], ta, level, sa + np.mean(ya),
                    abs(sa) + np.abs(ya).max())
    tm = replay(seed, B, [a], lambda r: np.median(r, axis=1))
    check_ci_replay(ds, "median", bt["median"], tm, level, np.quantile(a, 0.5),
                    np.abs(a).max())
    ratio_ok = one_sign(b) and len(b) > 0
    if not ratio_ok:
        check(ds, "boot.ratio.status", bt["ratio"]["status"], -1, 0)
        tr = None
    else:
        sb = b[0] if offset else 0.0
        yb = b - sb
        tr = replay(seed, B, [ya, yb],
                    lambda ra, rb: (sa + ra.mean(axis=1)) / (sb + rb.mean(axis=1)))
        est = (sa + np.mean(ya)) / (sb + np.mean(yb))
        check_ci_replay(ds, "ratio", bt["ratio"], tr, level, est, abs(est))
    # scipy's own bootstrap on continuous samples of 10 or more, B = 10,000
    distinct = lambda x: len(np.unique(x)) == len(x)
    if B == 10000 and len(a) >= 10 and distinct(a) and not offset and k % 2 == 0:
        check_scipy_boot(ds, "mean", bt["mean"], (a,), lambda x, axis: np.mean(x, axis=axis),
                         ta, level, 4242 + k)
        if tr is not None and len(b) >= 10 and distinct(b):
            check_scipy_boot(ds, "ratio", bt["ratio"], (a, b),
                             lambda x, y, axis: np.mean(x, axis=axis) / np.mean(y, axis=axis),
                             tr, level, 4343 + k)

def compare_median_ci(ds, a, res):
    n = len(a)
    s = np.sort(a)
    m = np.arange(0, n // 2 + 1)
    cdf = stats.binom.cdf(m, n, 0.5)
    for got in res["median_ci_a"]:
        level = got["level"]
        assert got["status"] == 0, ds
        ok = np.nonzero(cdf <= (1 - level) / 2)[0]
        l = int(ok.max()) + 1 if len(ok) else 1
        check(ds, "medci.lo", got["lo"], float(s[l - 1]), 0)
        check(ds, "medci.hi", got["hi"], float(s[n - l]), 0)
        # the incomplete beta behind both loses ~1e-11 at n = 50,000 (docs/stats.md)
        check(ds, "medci.coverage", got["coverage"], 1 - 2 * float(stats.binom.cdf(l - 1, n, 0.5)),
              1e-10, 1e-15)
        check(ds, "medci.estimate", got["estimate"], float(np.quantile(a, 0.5)), 0)

def compare_outliers(ds, a, res):
    t = res["tukey_a"]
    assert t["status"] == 0, ds
    q1, q3 = np.quantile(a, [0.25, 0.75])
    iqr = q3 - q1
    f = dict(low_severe_fence=q1 - 3.0 * iqr, low_mild_fence=q1 - 1.5 * iqr,
             high_mild_fence=q3 + 1.5 * iqr, high_severe_fence=q3 + 3.0 * iqr)
    check(ds, "tukey.q1", t["q1"], float(q1), 0)
    check(ds, "tukey.q3", t["q3"], float(q3), 0)
    for key, v in f.items():
        check(ds, f"tukey.{key}", t[key], float(v), 0)
    cls = np.zeros(len(a), dtype=int)
    cls[a > f["high_mild_fence"]] = 3
    cls[a > f["high_severe_fence"]] = 4
    cls[a < f["low_mild_fence"]] = 2
    cls[a < f["low_severe_fence"]] = 1
    idx = np.nonzero(cls)[0]
    checks_set(ds, "tukey.flagged", t, idx, cls[idx])
    for key, c in (("low_severe", 1), ("low_mild", 2), ("high_mild", 3), ("high_severe", 4)):
        check(ds, f"tukey.{key}", t[key], int(np.sum(cls == c)), 0)
    m = res["mz_a"]
    assert m["status"] == 0, ds
    med = np.quantile(a, 0.5)
    mad = np.quantile(np.abs(a - med), 0.5)
    check(ds, "mz.median", m["median"], float(med), 0)
    check(ds, "mz.mad_raw", m["mad_raw"], float(mad), 0)
    dev = a - med
    with np.errstate(divide="ignore", invalid="ignore"):
        z = 0.6745 * dev / mad if mad > 0 else np.where(dev == 0, 0.0, np.sign(dev) * np.inf)
    cls = np.where(z > 3.5, 6, np.where(z < -3.5, 5, 0))
    idx = np.nonzero(cls)[0]
    checks_set(ds, "mz.flagged", m, idx, cls[idx])

flagged_total = {}

def checks_set(ds, what, got, idx, cls):
    global checks, failures
    checks += 1
    flagged_total[what] = flagged_total.get(what, 0) + len(idx)
    if got["indices"] != [int(i) for i in idx] or got["classes"] != [int(c) for c in cls] or \
            got["count"] != len(idx):
        failures += 1
        print(f"FAIL {ds}: {what}: got {got['indices']} {got['classes']}, "
              f"numpy {list(idx)} {list(cls)}")

linreg_cases = 0

def ref_linreg(x, y):
    """Accurate reference in long double: sums about the means, SSE from the
    residuals."""
    X, Y = x.astype(np.longdouble), y.astype(np.longdouble)
    n = len(X)
    mx, my = X.sum() / n, Y.sum() / n
    dx, dy = X - mx, Y - my
    sxx, sxy = (dx * dx).sum(), (dx * dy).sum()
    slope = sxy / sxx
    sse = ((dy - slope * dx) ** 2).sum()
    se = np.sqrt(sse / (n - 2) / sxx) if n > 2 else np.longdouble(0)
    return float(slope), float(my - slope * mx), float(se), \
        float(se * np.sqrt(sxx / n + mx * mx)), float(sxx), float(my)

def compare_linreg(ds, key, x, y, res, yshift=0.0):
    """y: the data less yshift (the offset sets): only the intercept moves,
    by yshift, which it can know only to its ulp."""
    global linreg_cases
    got = res[key]
    n = len(y)
    xx = np.arange(n, dtype=float) if x is None else x
    if n < 2 or np.ptp(xx) == 0:
        check(ds, f"{key}.status", got["status"], -1, 0)
        return
    check(ds, f"{key}.status", got["status"], 0, 0)
    linreg_cases += 1
    slope, icpt, se, ise, sxx, ybar = ref_linreg(xx, y)
    sc = stats.linregress(xx, y)
    yscale = float(np.abs(y).max())
    # slope relative, with an absolute part for slopes near 0 (the data's scale)
    sl_atol = 1e-12 * (yscale + 1.0) / math.sqrt(sxx)
    check(ds, f"{key}.slope", got["slope"], slope, 1e-9, sl_atol)
    check(ds, f"{key}.intercept", got["intercept"], icpt + yshift, 1e-9,
          1e-12 * (yscale + abs(slope) * float(np.abs(xx).max())) + 8 * EPS * abs(yshift))
    check(ds, f"{key}.slope_scipy", got["slope"], float(sc.slope), 1e-9, sl_atol)
    check(ds, f"{key}.r", got["r"], float(sc.rvalue), 0, 1e-12)
    check(ds, f"{key}.r2", got["r2"], float(sc.rvalue) ** 2, 0, 1e-12)
    # standard errors: against the long-double reference; against scipy with
    # the cancellation of its (1 - r^2) Syy allowed for.  Absolute floor: a
    # residual is known to the rounding of y and slope * x, ~eps times their
    # size, which bounds what any double computation can give for a (nearly)
    # exact line.
    se_atol = 16 * EPS * (yscale + abs(slope) * float(np.abs(xx).max())) * \
        math.sqrt(n / max(n - 2, 1)) / math.sqrt(sxx)
    check(ds, f"{key}.stderr", got["slope_stderr"], se, 1e-9, se_atol)
    check(ds, f"{key}.intercept_stderr", got["intercept_stderr"], ise, 1e-9,
          se_atol * (float(np.abs(xx).max()) + 1.0))
    one_m_r2 = 1.0 - float(sc.rvalue) ** 2
    if np.ptp(y) == 0:  # scipy's np.cov leaves ~1e-32 for constant y; the exact 0 is checked above
        pass
    elif one_m_r2 > 1e-6:
        check(ds, f"{key}.stderr_scipy", got["slope_stderr"], float(sc.stderr), 1e-9, se_atol)
        check(ds, f"{key}.intercept_stderr_scipy", got["intercept_stderr"],
              float(sc.intercept_stderr), 1e-9, se_atol * (float(np.abs(xx).max()) + 1.0))
        check(ds, f"{key}.p", got["p_value"], float(sc.pvalue), 1e-6, 1e-300)
    else:  # a (nearly) exact line: both p-values ~0
        check(ds, f"{key}.p_exactline", float(got["p_value"] < 1e-10 or sc.pvalue == 1.0), 1.0, 0)

def compare_series(ds, a, res):
    n = len(a)
    w = min(5, n)
    sm = res["sma_a"]
    assert sm["status"] == 0, ds
    spread = float(np.ptp(a))
    for i in range(n):
        ref = math.fsum(a[i - w + 1:i + 1]) / w if i >= w - 1 else None
        check(ds, "sma", sm["values"][i], ref, 1e-12, 1e-12 * spread + 4 * EPS * abs(a[i]))
    ew = res["ewma_a"]
    s_ = a[0]
    for i in range(n):
        if i:
            s_ = s_ + 0.3 * (a[i] - s_)
        check(ds, "ewma", ew["values"][i], float(s_), 0)

verdicts = {}

def compare_two(ds, a, b, offset, res):
    c = res["compare"]
    na, nb = len(a), len(b)
    sh = a[0] if offset else 0.0
    ya, yb = a - sh, b - sh
    ma, mb = sh + np.mean(ya), sh + np.mean(yb)
    if na < 2 or nb < 2 or ma == 0:
        check(ds, "compare.status", c["status"], -1, 0)
        return
    check(ds, "compare.status", c["status"], 0, 0)
    rel = (np.mean(yb) - np.mean(ya)) / ma  # the difference first: no cancellation
    check(ds, "compare.rel_diff", c["rel_diff"], float(rel), 1e-9, 1e-15)
    const = lambda y: 0.0 if np.ptp(y) == 0 else np.sum((y - np.mean(y)) ** 2)
    ss = const(ya) + const(yb)
    sp = math.sqrt(ss / (na + nb - 2))
    if sp == 0:
        d = math.nan if mb == ma else math.copysign(math.inf, mb - ma)
        check(ds, "compare.cohen_d_const", c["cohen_d"], None if math.isnan(d) else d, 0)
    else:
        d = (np.mean(yb) - np.mean(ya)) / sp
        check(ds, "compare.cohen_d", c["cohen_d"], float(d), 1e-9, 1e-12)
    if na * nb <= 4_000_000:
        delta = float(np.mean(np.sign(b[:, None] - a[None, :])))
    else:
        delta = 2 * stats.mannwhitneyu(b, a).statistic / (na * nb) - 1
    check(ds, "compare.cliff_delta", c["cliff_delta"], delta, 1e-12, 1e-12)
    check(ds, "compare.cles", c["cles"], (delta + 1) / 2, 1e-12, 1e-12)
    # relative difference CI: the ratio cand/base replayed (cand drawn first)
    if one_sign(a):
        bt = res["boot"]
        tr = replay(bt["seed"], bt["B"], [yb, ya],
                    lambda rb, ra: (rb.mean(axis=1) - ra.mean(axis=1)) / (sh + ra.mean(axis=1)))
        lo, hi = pct_ci(tr, bt["level"])
        se = float(np.std(tr, ddof=1))
        check(ds, "compare.rel_lo", c["rel_diff_lo"], float(lo), 0,
              1e-9 * se + 16 * EPS * abs(lo) + 1e-15 * abs(rel))
        check(ds, "compare.rel_hi", c["rel_diff_hi"], float(hi), 0,
              1e-9 * se + 16 * EPS * abs(hi) + 1e-15 * abs(rel))
    else:
        check(ds, "compare.rel_lo", c["rel_diff_lo"], None, 0)
    # tests and verdicts (timings: lower is better); ambiguous cases skipped
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        pw = 1.0 if ma == mb else 0.0
    else:
        pw = float(stats.ttest_ind(yb, ya, equal_var=False).pvalue)
        check(ds, "compare.welch_p", c["p_value"], pw, 1e-6, 1e-300)
    # Mann-Whitney's p is symmetric in the samples: the tool's own a-vs-b p,
    # checked against scipy above
    pm = res["mwu"]["p_value"]
    check(ds, "compare.mwu_p", c["mwu_p_value"], pm, 1e-12, 1e-300)
    for key, p in (("verdict", pw), ("mwu_verdict", pm)):
        if abs(p - 0.05) < 1e-6 or abs(abs(rel) - 0.01) < 1e-9:
            continue
        want = 0 if not (p < 0.05 and abs(rel) > 0.01) else (1 if rel < 0 else 2)
        verdicts[want] = verdicts.get(want, 0) + 1
        check(ds, f"compare.{key}", c[key], want, 0)

def compare_extra(ds, a, b, offset, res, k):
    compare_median_ci(ds, a, res)
    compare_outliers(ds, a, res)
    compare_boot(ds, a, b, offset, res, k)
    compare_linreg(ds, "linreg_idx", None, a - (a[0] if offset else 0.0), res,
                   a[0] if offset else 0.0)
    if len(a) == len(b):
        compare_linreg(ds, "linreg_ab", a, b, res)
    compare_series(ds, a, res)
    compare_two(ds, a, b, offset, res)

for k, (ds, a, b, offset) in enumerate(sets):
    res = run(ds, a, b, offset, k)
    compare(ds, a, b, offset, res)
    compare_extra(ds, a, b, offset, res, k)

# Generated by the tool itself from a seed (samples echoed back).
nseed = 0
for seed in range(1, 21):
    na, nb = (2 + seed % 5, 3 + seed % 7) if seed % 2 else (50 * seed, 40 * seed)
    out = subprocess.run([tool] + boot_args(seed + 2, na, nb) +
                         ["--seed", str(seed), str(na), str(nb)], capture_output=True,
                         text=True, check=True).stdout
    res = json.loads(out)
    sa, sb = np.array(res["samples_a"]), np.array(res["samples_b"])
    compare(f"seed{seed}", sa, sb, False, res)
    compare_extra(f"seed{seed}", sa, sb, False, res, seed + 2)
    nseed += 1

print(f"{len(sets)} data-set pairs from numpy + {nseed} generated by the tool; "
      f"{checks} comparisons; Mann-Whitney exact {exact_mwu}, asymptotic {asym_mwu}")
print(f"bootstrap: {boot_replays} intervals replayed exactly, {scipy_boot} ends against "
      f"scipy.stats.bootstrap ({scipy_boot_skipped} skipped: discrete); {linreg_cases} "
      f"regressions; verdicts checked: {verdicts}; outliers flagged (exact sets): "
      f"{flagged_total}")
print("worst relative deviation from scipy/numpy per quantity:")
for k in sorted(worst):
    print(f"  {k:24s} {worst[k][0]:.3g}  ({worst[k][1]})")
if failures:
    print(f"{failures} comparisons failed")
    sys.exit(1)
print("all comparisons within tolerance")
PYEOF
