#!/usr/bin/env bash
# `vitte bench`: timings that must come out right (sleep 0.05 vs sleep 0.1),
# verdicts (significant and not), the JSON / CSV / Markdown exports checked
# with python3, parameter scans, --prepare/--setup/--cleanup counts,
# failures, -N, --baseline with --fail-if-slower, and the means beside
# hyperfine's on the same commands (skipped, with a note, without hyperfine).
#
# The commands timed are sleeps, whose time hardly depends on the machine's
# load, and the thresholds are generous: the test must not be flaky on a busy
# CI runner.  About 20 s.
#
# Environment (set by ctest): VITTE_BIN, VITTE_SOURCE_DIR; exit 77 = skipped.
set -uo pipefail

if [[ -z ${VITTE_BIN:-} || ! -x ${VITTE_BIN:-} ]]; then
    echo "skip: VITTE_BIN not set or not executable (VITTE_BUILD_CLI=OFF?)"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "skip: python3 is needed to check the exports"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
failures=0 checks=0

# run ARGS...: vitte bench ARGS, keeping stdout, stderr and the exit status.
run() {
    "$VITTE_BIN" bench "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    last="vitte bench $*"
}

fail() {
    failures=$((failures + 1))
    echo "FAIL: $last: $*"
    echo "  exit status: $rc"
    sed 's/^/  stdout: /' "$tmp/out" | head -n 30
    sed 's/^/  stderr: /' "$tmp/err" | head -n 10
}

expect_rc() {
    checks=$((checks + 1))
    [[ $rc == "$1" ]] || fail "expected exit status $1"
}
expect_out() { # regex that stdout must match
    checks=$((checks + 1))
    grep -qE -- "$1" "$tmp/out" || fail "stdout does not match /$1/"
}
expect_err() { # regex that stderr must match
    checks=$((checks + 1))
    grep -qE -- "$1" "$tmp/err" || fail "stderr does not match /$1/"
}
expect_no_err() {
    checks=$((checks + 1))
    [[ ! -s $tmp/err ]] || fail "expected nothing on stderr (no progress bar without a terminal)"
}
# py FILE... <<'EOF' ... EOF: a python check on files; an assertion fails it.
py() {
    checks=$((checks + 1))
    python3 - "$@" >"$tmp/py" 2>&1 || fail "$(tail -n 5 "$tmp/py")"
}

# ---- help ----------------------------------------------------------------------------
"$VITTE_BIN" help bench >"$tmp/h1" 2>&1
"$VITTE_BIN" bench --help >"$tmp/h2" 2>&1
rc=$? last="vitte bench --help"
checks=$((checks + 1))
if ! [[ $rc == 0 ]] || ! grep -q '^Usage: vitte bench' "$tmp/h2" || ! cmp -s "$tmp/h1" "$tmp/h2"; then
    fail "'vitte bench --help' must print the usage and equal 'vitte help bench'"
fi

# ---- two commands of known duration: means, relative speed, verdict ---------------------
run -r 12 'sleep 0.05' 'sleep 0.1' --export-json a.json --export-csv a.csv \
    --export-markdown a.md
expect_rc 0
expect_no_err
expect_out '^Benchmark 1: sleep 0\.05$'
expect_out '^  Time \(mean ± σ\): +[0-9.]+ ms ± +[0-9.]+ ms +\[User: .*, System: .*\]$'
expect_out '^  Range \(min … max\): .* 12 runs$'
expect_out '^  95% CI of mean: '
expect_out '^  Outliers: '
expect_out "^  'sleep 0\.05' ran$"
expect_out "^ +[0-9.]+ ± [0-9.]+ times faster than 'sleep 0\.1'"
expect_out "^  'sleep 0\.1': slower, \+[0-9.]+%"
py a.json <<'EOF'
import json, math, statistics, sys
d = json.load(open(sys.argv[1]))
a, b = d["results"]
# sleep's own start (exec, dynamic loader) adds about a millisecond; a busy
# machine can stretch single runs a lot (151 ms for a 100 ms sleep was seen
# in CI), so the bounds check what a sleep cannot undercut, not timings
assert 0.049 <= a["mean"] <= 0.2, f"sleep 0.05: mean {a['mean']}"
assert 0.099 <= b["mean"] <= 0.4, f"sleep 0.1: mean {b['mean']}"
c = b["comparison"]
assert a["comparison"] is None
assert c["verdict"] == "slower" and c["against"] == "sleep 0.05", c
assert c["welch_p"] < 0.01 and c["p_value"] == c["welch_p"], c
assert c["mann_whitney_p"] < 0.01, c
assert 0.3 < c["rel_diff"] < 3, c
lo, hi = c["rel_diff_ci95"]
assert lo <= c["rel_diff"] <= hi, c
assert 1.3 < b["relative"] < 4 and a["relative"] == 1, (a["relative"], b["relative"])
assert b["relative_ci95"][0] < b["relative"] < b["relative_ci95"][1]
assert d["vitte"]["reference"] == "sleep 0.05" and d["vitte"]["shell"] == "/bin/sh"
EOF

# ---- the exports: hyperfine's fields, consistent ----------------------------------------
py a.json a.csv a.md <<'EOF'
import csv, json, math, statistics, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d["results"], list) and len(d["results"]) == 2
for r in d["results"]:
    for k in ("command", "mean", "stddev", "median", "user", "system", "min", "max", "times",
              "exit_codes"):
        assert k in r, f"missing {k}"
    t = r["times"]
    assert len(t) == r["runs"] == 12 == len(r["exit_codes"]) == len(r["memory_usage_byte"])
    assert all(c == 0 for c in r["exit_codes"])
    assert math.isclose(r["mean"], sum(t) / len(t), rel_tol=1e-9), "mean != average of times"
    assert math.isclose(r["stddev"], statistics.stdev(t), rel_tol=1e-6), "stddev (n-1)"
    assert math.isclose(r["median"], statistics.median(t), rel_tol=1e-9), "median"
    assert r["min"] == min(t) and r["max"] == max(t)
    assert 0 <= r["user"] < r["mean"] and 0 <= r["system"] < r["mean"]
    lo, hi = r["ci95"]
    assert lo < r["mean"] < hi, "CI of the mean around the mean"
    blo, bhi = r["ci95_bootstrap"]
    assert blo < r["mean"] < bhi
    o = r["outliers"]
    assert set(o) >= {"tukey", "mzscore", "slow_first_run"}
    assert "parameters" not in r  # only with -P / -L, as hyperfine
    assert all(m > 0 for m in r["memory_usage_byte"])

rows = list(csv.DictReader(open(sys.argv[2])))
head = open(sys.argv[2]).readline().strip().split(",")
assert head[:8] == ["command", "mean", "stddev", "median", "user", "system", "min", "max"], head
assert len(rows) == 2
for row, r in zip(rows, d["results"]):
    assert row["command"] == r["command"]
    for k in ("mean", "stddev", "median", "min", "max"):
        assert math.isclose(float(row[k]), r[k], rel_tol=1e-9), k
    assert int(row["runs"]) == 12
assert rows[0]["verdict"] == "reference" and rows[1]["verdict"] == "slower"

md = [l.rstrip("\n") for l in open(sys.argv[3]) if l.strip()]
assert md[0].startswith("| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |"), md[0]
assert md[1].startswith("|:---|---:|"), md[1]
assert len(md) == 4, md
cells = md[0].count("|")
for l in md:
    assert l.startswith("| ") or l.startswith("|:"), l
    assert l.endswith("|") and l.count("|") == cells, l
assert md[2].startswith("| `sleep 0.05` | ") and "| 1.00 |" in md[2], md[2]
assert "| slower |" in md[3] and " ± " in md[3], md[3]
EOF

# ---- the same command twice: no significant change ----------------------------------------
# A difference must be significant AND beyond the noise threshold: 20 % of a
# 50 ms sleep is 10 ms, which no scheduling delay averages to.
run -r 10 --noise 20 -n first -n second 'sleep 0.05' 'sleep 0.05' --export-json same.json
expect_rc 0
expect_out "^  'second': no significant change"
py same.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["results"][1]["comparison"]
assert c["verdict"] == "no change", c
assert d["vitte"]["noise"] == 0.2
EOF

# ---- parameter scans ----------------------------------------------------------------------
run -r 2 -P ms 1 3 -n 'nap {ms}' 'sleep 0.00{ms}' --export-json p.json --export-csv p.csv
expect_rc 0
expect_out '^Benchmark 3: nap 3$'
py p.json p.csv <<'EOF'
import csv, json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
assert [x["command"] for x in r] == ["nap 1", "nap 2", "nap 3"], [x["command"] for x in r]
assert [x["command_line"] for x in r] == ["sleep 0.001", "sleep 0.002", "sleep 0.003"]
assert [x["parameters"] for x in r] == [{"ms": "1"}, {"ms": "2"}, {"ms": "3"}]
rows = list(csv.DictReader(open(sys.argv[2])))
assert [x["parameter_ms"] for x in rows] == ["1", "2", "3"], rows
EOF
run -r 2 -N -P x 0 1 -D 0.5 'sleep {x}e-3' -L y a,b --export-json d.json
expect_rc 0
py d.json <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
got = [(x["parameters"]["x"], x["parameters"]["y"]) for x in r]
assert got == [("0.0", "a"), ("0.0", "b"), ("0.5", "a"), ("0.5", "b"), ("1.0", "a"),
               ("1.0", "b")], got
assert r[2]["command"] == "sleep 0.5e-3"
EOF

# ---- --setup once, --prepare before every run (warm-up included), --cleanup once -----------
run -w 2 -r 3 --setup 'echo s >>count' --prepare 'echo p >>count' --cleanup 'echo c >>count' \
    'true' 'true'
expect_rc 0
checks=$((checks + 1))
counts=$(sort count | uniq -c | awk '{printf "%s%s ", $2, $1}')
[[ $counts == "c2 p10 s2 " ]] || fail "setup, prepare, cleanup counts: $counts (want c2 p10 s2)"
run -r 2 --prepare 'exit 3' true
expect_rc 1
expect_err "the --prepare command 'exit 3' exited with status 3"

# ---- failures -------------------------------------------------------------------------------
run -r 3 'sleep 0.001' false --export-json gone.json
expect_rc 1
expect_err "command 'false' exited with status 1; use --ignore-failure"
checks=$((checks + 1))
[[ ! -e gone.json ]] || fail "an export of a stopped benchmark must not be left behind"
run -r 3 -N 'sh -c "kill -9 \$\$"'
expect_rc 1
expect_err 'killed by signal 9'
run -r 3 -i 'exit 4' --export-json fail.json
expect_rc 0
expect_out 'Warning: Ignoring non-zero exit code'
py fail.json <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
assert r["exit_codes"] == [4, 4, 4] and r["failed_runs"] == 3, r["exit_codes"]
EOF

# ---- -N: no shell ---------------------------------------------------------------------------
run -N -r 5 --strict 'sleep 0.01' "sh -c 'exit 0'" --export-json n.json
expect_rc 0
py n.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["vitte"]["shell"] is None and d["vitte"]["shell_spawn_time"] is None
assert d["vitte"]["strict"] is True
assert 0.0095 < d["results"][0]["mean"] < 0.03, d["results"][0]["mean"]
EOF
run -N -r 2 'no-such-command-vitte x'
expect_rc 1
expect_err "cannot run 'no-such-command-vitte': command not found"
run -N -r 2 'echo "unterminated'
expect_rc 2
expect_err 'unterminated double quote'

# ---- output: hidden by default, --show-output keeps it -----------------------------------------
run -r 2 'echo vitte-visible-output'
checks=$((checks + 1))
grep -q '^vitte-visible-output$' "$tmp/out" && fail "the command's output must go to /dev/null"
run -r 2 --show-output 'echo vitte-visible-output'
expect_out '^vitte-visible-output$'
run -q -r 2 true --export-json - # the JSON alone on stdout
expect_rc 0
py out <<'EOF'
import json, sys
assert json.load(open(sys.argv[1]))["results"][0]["command"] == "true"
EOF

# ---- --baseline and --fail-if-slower ------------------------------------------------------------
run -q -r 10 -n job 'sleep 0.02' --export-json base.json
expect_rc 0
run -r 10 -n job 'sleep 0.08' --baseline base.json --fail-if-slower 10 --export-json cur.json
expect_rc 1
expect_err "regression: 'job' is [0-9.]+% slower than in the baseline base.json"
expect_out "^  'job': slower"
py cur.json <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["results"][0]["baseline"]
assert b["verdict"] == "slower" and b["regression"] is True and b["rel_diff"] > 1.5, b
EOF
# the same command against its baseline, with a threshold no noise reaches
run -r 10 -n job 'sleep 0.02' -n other 'sleep 0.001' --baseline base.json --fail-if-slower 200
expect_rc 0
expect_out "^  'other': not compared \(not in the baseline\)"
run -r 2 true --baseline no-such-file.json
expect_rc 1
expect_err 'cannot open the baseline'

# ---- usage errors -------------------------------------------------------------------------------
run
expect_rc 2
expect_err 'no command to benchmark'
run --runs 0 true
expect_rc 2
run --fail-if-slower 5 true
expect_rc 2
expect_err 'needs --baseline'
run --warmpu 3 true
expect_rc 2
expect_err "did you mean '--warmup'"
run -P x 1 true
expect_rc 2
run -D 2 true
expect_rc 2

# ---- beside hyperfine -------------------------------------------------------------------------
# Both subtract the shell's start-up time; the means must agree within their
# noise: 3 standard deviations or 10 %, whichever is larger.  The CPU loop's
# time depends on what else the machine runs, which can change between the
# two tools' runs: a disagreement is measured again once before it counts.
if command -v hyperfine >/dev/null; then
    # shellcheck disable=SC2016 # expanded by the benchmarked shell
    loop='i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'
    for attempt in 1 2; do
        "$VITTE_BIN" bench -q -r 15 -w 2 'sleep 0.05' "$loop" --export-json v.json </dev/null
        rc=$? last="vitte bench -r 15 -w 2 'sleep 0.05' '$loop'"
        rm -f h.json
        hyperfine -r 15 -w 2 --style none 'sleep 0.05' "$loop" --export-json h.json \
            >/dev/null 2>&1 </dev/null || echo "note: hyperfine failed"
        [[ $rc == 0 && -s h.json ]] || break
        python3 - v.json h.json >"$tmp/py" 2>&1 <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))["results"]
h = json.load(open(sys.argv[2]))["results"]
ok = True
for a, b in zip(v, h):
    assert a["command"] == b["command"]
    tol = max(3 * max(a["stddev"], b["stddev"]), 0.10 * b["mean"])
    agree = abs(a["mean"] - b["mean"]) <= tol
    ok = ok and agree
    print(f"  {a['command'][:28]!r}: vitte {a['mean']*1e3:.2f} +- {a['stddev']*1e3:.2f} ms, "
          f"hyperfine {b['mean']*1e3:.2f} +- {b['stddev']*1e3:.2f} ms: "
          f"{'agree' if agree else 'DISAGREE'} (tolerance {tol*1e3:.2f} ms)")
sys.exit(0 if ok else 1)
EOF
        py_rc=$?
        echo "beside hyperfine (attempt $attempt):"
        cat "$tmp/py"
        ((py_rc == 0)) && break
    done
    checks=$((checks + 1))
    [[ $rc == 0 ]] || fail "vitte bench failed"
    if [[ -s h.json ]]; then
        checks=$((checks + 1))
        ((py_rc == 0)) || fail "the means of vitte bench and hyperfine disagree (above)"
    fi
else
    echo "note: hyperfine not installed; the side-by-side comparison is skipped"
fi

echo "test_bench: $checks checks, $failures failed"
((failures == 0))
