#!/usr/bin/env bash
# The session example (examples/session_demo): it must succeed and write
# DIR/session_demo/report.json (valid JSON with the fields of
# docs/formats/session-report.md), report.md, flamegraph.svg (with the
# timing names) and trace.vittrace.
#
# Environment (set by ctest): VITTE_BUILD_DIR; exit 77 = skipped.
set -uo pipefail

demo=${VITTE_BUILD_DIR:-}/examples/session_demo
if [[ ! -x $demo ]]; then
    echo "skip: $demo not built (VITTE_BUILD_EXAMPLES=OFF?)"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "skip: python3 not found"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

out=$tmp/reports/nested
if ! "$demo" "$out" >"$tmp/stdout" 2>"$tmp/stderr"; then
    fail "session_demo exited with status $?"
fi
cat "$tmp/stdout"
sed 's/^/stderr: /' "$tmp/stderr"
[[ -s $tmp/stderr ]] && fail "session_demo wrote to stderr"

dir=$out/session_demo
for f in report.json report.md flamegraph.svg trace.vittrace midway.json midway.svg; do
    [[ -s $dir/$f ]] || fail "$dir/$f missing or empty"
done
grep -qE '^frames: 60, mean [0-9.]+ ms' "$tmp/stdout" || fail "no frame summary"

python3 - "$dir/report.json" <<'PY' || fail "report.json does not validate"
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["format"] == "vitte-session-report" and r["version"] == 1, r.get("format")
assert r["session"] == "session_demo" and r["complete"] is True
assert r["duration_ns"] > 0 and isinstance(r["pid"], int)
assert r["trace"]["path"].endswith("trace.vittrace") and r["trace"]["events"] > 0
t = {x["name"]: x for x in r["timings"]}
for name, count in [("frame", 60), ("physics", 60), ("render", 60), ("shadows", 60), ("load_level", 1)]:
    x = t[name]
    assert x["count"] == count, (name, x)
    assert x["min_ns"] <= x["mean_ns"] <= x["max_ns"], x
    assert x["min_ns"] * 0.99 <= x["p50_ns"] <= x["p90_ns"] <= x["p99_ns"] <= x["max_ns"] * 1.01, x
    assert abs(x["total_ns"] / x["count"] - x["mean_ns"]) < 1, x
assert t["frame"]["total_ns"] >= t["render"]["total_ns"] + t["physics"]["total_ns"]
totals = [x["total_ns"] for x in r["timings"]]
assert totals == sorted(totals, reverse=True)
assert r["open_timings"] == []
sysm = {x["name"]: x for x in r["system"]["metrics"]}
for name in ["process_cpu_percent", "process_resident_memory_bytes", "process_threads",
             "host_cpu_percent", "host_memory_used_bytes"]:
    assert sysm[name]["count"] >= 1, sysm[name]
assert sysm["process_resident_memory_bytes"]["min"] > 0
assert r["system"]["interval_ns"] == 100000000
s = {x["name"]: x for x in r["series"]}
assert s["fps"]["kind"] == "throughput" and s["fps"]["count"] == 60 and s["fps"]["unit"] == "fps"
m = json.load(open(sys.argv[1].replace("report.json", "midway.json")))
assert m["complete"] is False
PY

for name in frame physics render shadows load_level; do
    grep -q "$name" "$dir/flamegraph.svg" || fail "flamegraph.svg lacks $name"
    grep -q "^| $name | " "$dir/report.md" || fail "report.md has no row for $name"
done
grep -q '^## System metrics' "$dir/report.md" || fail "report.md has no system metrics"
grep -q '^| fps | throughput | fps | 60 |' "$dir/report.md" || fail "report.md has no fps row"
if [[ -n ${VITTE_BIN:-} && -x $VITTE_BIN ]]; then
    "$VITTE_BIN" inspect "$dir/trace.vittrace" >"$tmp/inspect" || fail "vitte inspect rejects the trace"
fi

if ((failures > 0)); then
    echo "$failures failure(s)"
    exit 1
fi
echo "ok"
