#!/usr/bin/env bash
# The statistics module against SciPy/NumPy: seeded random data sets (normal,
# ties, tiny n = 2..5, n = 1000, identical values, heavy tails, a 1e9 offset,
# unbalanced sizes), each run through tests/tools/stats_tool and compared with
# numpy.quantile/median, scipy.stats.describe/skew/kurtosis (bias=True),
# median_abs_deviation(scale=1/1.4826), sem, t.interval, ttest_ind(equal_var=
# False) and mannwhitneyu(method='auto', use_continuity=True).  Tolerances:
# 1e-9 relative for moments, quantiles and CI bounds, 1e-6 relative for
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
        dev = diff / max(abs(ref), atol / rtol if rtol > 0 else 0.0, 1e-300)
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

def run(ds, a, b, offset):
    pa, pb = f"{tmp}/a", f"{tmp}/b"
    np.savetxt(pa, a, fmt="%.17g")
    np.savetxt(pb, b, fmt="%.17g")
    out = subprocess.run([tool, pa, pb], capture_output=True, text=True, check=True).stdout
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

for ds, a, b, offset in sets:
    compare(ds, a, b, offset, run(ds, a, b, offset))

# Generated by the tool itself from a seed (samples echoed back).
nseed = 0
for seed in range(1, 21):
    na, nb = (2 + seed % 5, 3 + seed % 7) if seed % 2 else (50 * seed, 40 * seed)
    out = subprocess.run([tool, "--seed", str(seed), str(na), str(nb)], capture_output=True,
                         text=True, check=True).stdout
    res = json.loads(out)
    compare(f"seed{seed}", np.array(res["samples_a"]), np.array(res["samples_b"]), False, res)
    nseed += 1

print(f"{len(sets)} data-set pairs from numpy + {nseed} generated by the tool; "
      f"{checks} comparisons; Mann-Whitney exact {exact_mwu}, asymptotic {asym_mwu}")
print("worst relative deviation from scipy/numpy per quantity:")
for k in sorted(worst):
    print(f"  {k:24s} {worst[k][0]:.3g}  ({worst[k][1]})")
if failures:
    print(f"{failures} comparisons failed")
    sys.exit(1)
print("all comparisons within tolerance")
PYEOF
