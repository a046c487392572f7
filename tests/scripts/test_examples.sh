#!/usr/bin/env bash
# The bundled example that scripts/run-example.sh runs (examples/metrics_demo):
# it must succeed, lose no count, and write metrics.json, metrics.csv and
# metrics.prom that their consumers accept (python's json module, promtool).
#
# Environment (set by ctest): VITTE_BUILD_DIR; exit 77 = skipped.
set -uo pipefail

demo=${VITTE_BUILD_DIR:-}/examples/metrics_demo
if [[ ! -x $demo ]]; then
    echo "skip: $demo not built (VITTE_BUILD_EXAMPLES=OFF?)"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

# A nested directory that does not exist yet: the demo creates it.
out=$tmp/a/b/out
if ! "$demo" "$out" >"$tmp/stdout" 2>"$tmp/stderr"; then
    fail "metrics_demo exited with status $?"
fi
cat "$tmp/stdout"
sed 's/^/stderr: /' "$tmp/stderr"

grep -q '(none lost)' "$tmp/stdout" || fail "the request counters do not add up"
grep -qE '^timer calcul_intensif: 200 runs, p50 [0-9.]+ us, p99 [0-9.]+ us' "$tmp/stdout" ||
    fail "no timer summary with p50/p99"
for f in metrics.json metrics.csv metrics.prom; do
    [[ -s $out/$f ]] || fail "$out/$f missing or empty"
    grep -qF "$out/$f" "$tmp/stdout" || fail "the demo does not say where $f is"
done

# JSON: valid, and holds every metric the demo registered.
if python3 -m json.tool "$out/metrics.json" >/dev/null 2>"$tmp/json-err"; then
    for name in calcul_intensif demo_requests_total demo_request_size_bytes demo_workers_busy \
        demo_frame_seconds demo_frames fps; do
        grep -q "\"$name" "$out/metrics.json" || fail "metrics.json lacks $name"
    done
else
    fail "metrics.json is not valid JSON: $(cat "$tmp/json-err")"
fi

# CSV: a header, then rows naming the metrics.
[[ $(head -n 1 "$out/metrics.csv") == *name* ]] || fail "metrics.csv has no header naming a name column"
for name in calcul_intensif demo_requests_total fps; do
    grep -q "$name" "$out/metrics.csv" || fail "metrics.csv lacks $name"
done

# Prometheus text: parsed and linted by promtool, the format's own checker.
if command -v promtool >/dev/null; then
    if ! promtool check metrics <"$out/metrics.prom" >"$tmp/promtool" 2>&1; then
        fail "promtool check metrics rejects metrics.prom:"
        cat "$tmp/promtool"
    fi
else
    echo "note: promtool not installed (scripts/install-deps.sh installs it); not checked"
fi
grep -qE '^demo_requests_total\{method="GET",status="200"\} [0-9]+' "$out/metrics.prom" ||
    fail "metrics.prom lacks demo_requests_total{method=\"GET\",status=\"200\"}"

echo "test_examples: $failures failed"
((failures == 0))
