#!/usr/bin/env bash
# The `vitte` command: help, version, `clock`, and the exit codes and
# messages of usage errors (0 ok, 1 failure, 2 usage).
#
# Environment (set by ctest): VITTE_BIN, the vitte binary; exit 77 = skipped.
set -uo pipefail

if [[ -z ${VITTE_BIN:-} || ! -x ${VITTE_BIN:-} ]]; then
    echo "skip: VITTE_BIN not set or not executable (VITTE_BUILD_CLI=OFF?)"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 checks=0

# run ARGS...: run vitte, keep stdout, stderr and the exit status.
run() {
    "$VITTE_BIN" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
    last="vitte $*"
}

fail() {
    failures=$((failures + 1))
    echo "FAIL: $last: $*"
    echo "  exit status: $rc"
    sed 's/^/  stdout: /' "$tmp/out" | head -n 20
    sed 's/^/  stderr: /' "$tmp/err" | head -n 20
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
    [[ -z $err ]] || fail "expected nothing on stderr"
}
expect_no_out() {
    checks=$((checks + 1))
    [[ -z $out ]] || fail "expected nothing on stdout (errors go to stderr)"
}

# ---- help and version ---------------------------------------------------------
for h in --help -h help; do
    run $h
    expect_rc 0
    expect_out '^Usage: vitte '
    expect_out '^  clock +show the clock'
    expect_out '^Examples:'
    expect_no_err
done
main_help=$out

run --version
expect_rc 0
expect_out '^vitte [0-9]+\.[0-9]+\.[0-9]+$'
expect_out '^libvitte [0-9]+\.[0-9]+\.[0-9]+'
expect_no_err
run -V
expect_rc 0
expect_out '^vitte [0-9]+\.[0-9]+\.[0-9]+$'

run help clock
expect_rc 0
expect_out '^Usage: vitte clock'
expect_out '--json'
expect_out '^Examples:'
help_clock=$out
run clock --help
expect_rc 0
checks=$((checks + 1))
[[ $out == "$help_clock" ]] || fail "'vitte clock --help' differs from 'vitte help clock'"
run clock -h
expect_rc 0
expect_out '^Usage: vitte clock'

run help help
expect_rc 0
expect_out '^Usage: vitte help'

run help
checks=$((checks + 1))
[[ $out == "$main_help" ]] || fail "'vitte help' differs from 'vitte --help'"

# ---- clock --------------------------------------------------------------------
run clock
expect_rc 0
expect_out '^source: +(TSC|CLOCK_MONOTONIC)$'
expect_out '^reason: +.+'
expect_out '^tsc frequency: '
expect_out '^resolution: +[0-9.e+-]+ ns$'
expect_out '^cost per call: +[0-9.e+-]+ ns'
expect_out '^calibration: '
expect_no_err

check_clock_json() { # $1: the source expected, or a regex of them
    checks=$((checks + 1))
    if ! python3 -m json.tool "$tmp/out" >/dev/null 2>"$tmp/json-err"; then
        fail "not valid JSON: $(cat "$tmp/json-err")"
        return
    fi
    checks=$((checks + 1))
    python3 - "$tmp/out" "$1" >"$tmp/py" 2>&1 <<'EOF' || fail "$(cat "$tmp/py")"
import json, re, sys
d = json.load(open(sys.argv[1]))
keys = ["source", "tsc_hz", "resolution_ns", "cost_ns", "calibration_ns",
        "calibration_error", "reason", "library_version"]
missing = [k for k in keys if k not in d]
assert not missing, f"missing keys {missing}"
assert re.fullmatch(sys.argv[2], d["source"]), f"source {d['source']!r}"
assert d["resolution_ns"] > 0, "resolution_ns must be > 0"
assert 0 < d["cost_ns"] < 1e6, f"cost_ns {d['cost_ns']} implausible"
if d["source"] == "TSC":
    assert 1e8 < d["tsc_hz"] < 1e11, f"tsc_hz {d['tsc_hz']} implausible"
    assert d["calibration_ns"] > 0
else:
    assert d["tsc_hz"] == 0, "tsc_hz must be 0 when the TSC is not used"
EOF
}

run clock --json
expect_rc 0
expect_no_err
check_clock_json 'TSC|CLOCK_MONOTONIC'

# Forcing clock_gettime must show in the report, with its reason.
VITTE_CLOCK=monotonic run clock --json
expect_rc 0
check_clock_json CLOCK_MONOTONIC
checks=$((checks + 1))
grep -q 'VITTE_CLOCK' "$tmp/out" || fail "reason does not mention VITTE_CLOCK"

# ---- usage errors: exit 2, a message naming the culprit, a pointer to help ------
run
expect_rc 2
expect_err 'no command'
expect_err "vitte --help"

run nosuch
expect_rc 2
expect_no_out
expect_err "unknown command 'nosuch'"
expect_err "vitte --help"

run clokc # a swap: suggest the command
expect_rc 2
expect_err "unknown command 'clokc' \(did you mean 'clock'\?\)"

run --frobnicate
expect_rc 2
expect_no_out
expect_err "unknown option '--frobnicate'"
expect_err "vitte --help"

run clock --frobnicate
expect_rc 2
expect_no_out
expect_err "^vitte clock: unknown option '--frobnicate'"
expect_err "vitte clock --help"

run clock --jsno
expect_rc 2
expect_err "did you mean '--json'\?"

run clock -x
expect_rc 2
expect_err "unknown option '-x'"

run clock --json=yes
expect_rc 2
expect_err "takes no value"

run clock extra
expect_rc 2
expect_err "unexpected argument 'extra'"

run help nosuch
expect_rc 2
expect_no_out
expect_err "unknown command 'nosuch'"

run help clock help
expect_rc 2

# ---- golden output: help texts and error messages, tests/cli/*.txt -----------------
# A deliberate change of wording: rerun with VITTE_UPDATE_GOLDEN=1 to rewrite the
# files, and review the diff like code.
golden_dir=${VITTE_SOURCE_DIR:-$(dirname "$0")/../..}/tests/cli
golden() { # NAME ARGS...: stdout, then stderr, then the exit status of vitte ARGS
    local name=$1
    shift
    run "$@"
    {
        echo "\$ vitte${*:+ $*}"
        cat "$tmp/out" "$tmp/err"
        echo "[exit $rc]"
    } >>"$tmp/golden-$name.txt"
}
golden vitte-help --help
golden vitte-clock-help help clock
golden usage-errors
golden usage-errors nosuch
golden usage-errors clokc
golden usage-errors --frobnicate
golden usage-errors clock --jsno
golden usage-errors clock --json=yes
golden usage-errors clock extra
golden usage-errors help nosuch
golden usage-errors help clock help
for name in vitte-help vitte-clock-help usage-errors; do
    checks=$((checks + 1))
    if [[ -n ${VITTE_UPDATE_GOLDEN:-} ]]; then
        cp "$tmp/golden-$name.txt" "$golden_dir/$name.txt"
        echo "updated $golden_dir/$name.txt"
    elif ! diff -u "$golden_dir/$name.txt" "$tmp/golden-$name.txt"; then
        failures=$((failures + 1))
        echo "FAIL: output differs from $golden_dir/$name.txt (above; VITTE_UPDATE_GOLDEN=1 rewrites it)"
    fi
done

# ---- output errors are failures, not silent successes -----------------------------
if [[ -w /dev/full ]]; then
    "$VITTE_BIN" --help >/dev/full 2>"$tmp/err"
    rc=$?
    last="vitte --help >/dev/full"
    checks=$((checks + 1))
    [[ $rc == 1 ]] || fail "expected exit status 1 when stdout cannot be written"
fi

echo "test_cli: $checks checks, $failures failed"
((failures == 0))
