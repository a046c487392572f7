#!/usr/bin/env bash
# Trace exports checked by the tools people read them with
# (tests/consumers/, docs: /work/shared/reference/consumers.md sections 1, 3):
#   speedscope 1.25.0   its own importer in headless Chromium
#                       (tests/consumers/speedscope_check.js): Chrome JSON
#                       and folded stacks, per-function total and self time,
#                       console warnings (nesting problems);
#   DevTools' trace     @paulirish/trace_engine 0.0.65 in node
#   engine              (tests/consumers/trace_engine_check.mjs): slices,
#                       call trees, flows, async spans;
#   xmllint + Chromium  the flame graph SVG parsed, rendered to a PNG and
#                       looked at (tests/consumers/svg_check.sh).
#
# Section 1 proves the checkers on hand-written fixtures
# (tests/consumers/fixtures/, expected values in expected.json) including
# broken ones they must reject.  Section 2 runs when `vitte inspect` exists
# and tests/trace_gen is built: trace_gen writes a trace, vitte inspect
# exports it as chrome, folded, svg and json, and the consumers' numbers must
# equal the span totals of the json export (tests/consumers/expect.py).
#
# Environment (set by ctest): VITTE_SOURCE_DIR, VITTE_BUILD_DIR, VITTE_BIN.
# Exit 77 = skipped because a consumer is missing (the checks that could run
# still ran); scripts/install-deps.sh installs them all.  Each consumer run is
# bounded by a timeout; nothing but 127.0.0.1 is used.
set -uo pipefail

src=${VITTE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cons=$src/tests/consumers
fixtures=$cons/fixtures
chromium=${VITTE_CHROMIUM:-/usr/bin/chromium}

tmp=$(mktemp -d)
child=
cleanup() {
    if [[ -n $child ]]; then
        kill "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=0
missing=()
timings=()
fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

# run SECONDS OUT CMD...: CMD in the background under timeout (so the trap
# can end it by PID), stdout to OUT, stderr to OUT.err; its status returned;
# its wall time added to the timings table.
run() {
    local secs=$1 out=$2 t0 rc
    shift 2
    t0=$(date +%s%N)
    timeout -k 3 "$secs" "$@" >"$out" 2>"$out.err" &
    child=$!
    wait "$child"
    rc=$?
    child=
    timings+=("$(printf '%6d ms  %s' $((($(date +%s%N) - t0) / 1000000)) "${*##*/}")")
    if ((rc == 124 || rc == 137)); then
        echo "  (timed out after ${secs}s: $*)"
    fi
    return "$rc"
}

# expect ARGS...: tests/consumers/expect.py, its lines shown, failures counted.
expect() {
    local out
    out=$(python3 "$cons/expect.py" "$@")
    local rc=$?
    printf '%s\n' "$out" | sed 's/^/  /'
    if ((rc != 0)); then
        failures=$((failures + $(grep -c '^FAIL' <<<"$out") + 0))
        ((rc != 1)) && fail "expect.py $* exited $rc"
    fi
    return 0
}

# ---- what is installed ----------------------------------------------------------------
have_node=0 have_pkgs=0 have_browser=0 have_xmllint=0
if ! command -v python3 >/dev/null; then
    echo "skip: python3 not installed (it checks every report)"
    exit 77
fi
if command -v node >/dev/null; then
    have_node=1
    if "$cons/setup.sh" --check || "$cons/setup.sh"; then
        have_pkgs=1
    else
        missing+=("npm packages of tests/consumers (tests/consumers/setup.sh failed)")
    fi
else
    missing+=("node (apt-get install nodejs)")
fi
if [[ -x $chromium ]]; then
    have_browser=1
else
    missing+=("chromium at $chromium (apt-get install chromium)")
fi
if command -v xmllint >/dev/null; then
    have_xmllint=1
else
    missing+=("xmllint (apt-get install libxml2-utils)")
fi
can_speedscope=$((have_node && have_pkgs && have_browser))
can_engine=$((have_node && have_pkgs))
can_svg=$((have_browser && have_xmllint))

# ss FILE NAME: speedscope's report on FILE into $tmp/NAME.ss.json.
ss() {
    run 45 "$tmp/$2.ss.json" node "$cons/speedscope_check.js" "$1" --timeout-ms 30000
}
# te FILE NAME: the trace engine's report into $tmp/NAME.te.json.
te() {
    run 30 "$tmp/$2.te.json" node "$cons/trace_engine_check.mjs" "$1"
}
# svgc FILE NAME: the SVG check's report into $tmp/NAME.svg.json.
svgc() {
    run 45 "$tmp/$2.svg.json" "$cons/svg_check.sh" "$1" "$tmp/$2.png"
}
show_err() {
    [[ -s $1.err ]] && grep -v -e 'Unknown user config' -e 'unexpected operator' "$1.err" | head -n 5 | sed 's/^/  stderr: /'
    return 0
}

# ==== 1. the checkers on hand-written fixtures ========================================
# No vitte code runs here: under a sanitizer preset it would only repeat the
# unsanitized run, so it is left to that one.
echo "== 1. consumers on tests/consumers/fixtures"
if [[ -n ${VITTE_SANITIZE:-} ]]; then
    echo "section 1 not run: it tests no vitte code (VITTE_SANITIZE=$VITTE_SANITIZE; the plain preset runs it)"
    can_speedscope_fx=0 can_engine_fx=0 can_svg_fx=0
else
    can_speedscope_fx=$can_speedscope can_engine_fx=$can_engine can_svg_fx=$can_svg
fi
if ((can_speedscope_fx)); then
    for f in basic.json stacks.folded equal_ends_be.json; do
        if ss "$fixtures/$f" "fx-$f"; then
            expect fixture "$f" speedscope "$tmp/fx-$f.ss.json"
        else
            show_err "$tmp/fx-$f.ss.json"
            fail "speedscope could not load fixture $f"
        fi
    done
    # Must load, and must complain: the checker sees nesting problems.
    for f in bad_nesting.json equal_ends_x.json; do
        if ss "$fixtures/$f" "fx-$f"; then
            expect fixture "$f" speedscope "$tmp/fx-$f.ss.json"
        else
            show_err "$tmp/fx-$f.ss.json"
            fail "speedscope could not load fixture $f"
        fi
    done
    # Must be refused: not a profile at all.
    printf 'this is not a profile\n' >"$tmp/junk.txt"
    if ss "$tmp/junk.txt" junk; then
        fail "speedscope_check accepted a file that is not a profile"
    elif grep -q 'Unrecognized format' "$tmp/junk.ss.json"; then
        echo "ok: speedscope_check refuses a non-profile (exit 1, 'Unrecognized format')"
    else
        show_err "$tmp/junk.ss.json"
        fail "speedscope_check failed on a non-profile, but not with speedscope's 'Unrecognized format'"
    fi
fi
if ((can_engine_fx)); then
    # flow_cross_cat.json: DevTools drops a flow whose s and f have different
    # cats (the cat of the slice each binds to); flow_order.json: and one
    # whose f comes before its s in the file.
    for f in basic.json bad_nesting.json equal_ends_be.json flow_cross_cat.json flow_order.json; do
        if te "$fixtures/$f" "fx-$f"; then
            expect fixture "$f" trace_engine "$tmp/fx-$f.te.json"
        else
            show_err "$tmp/fx-$f.te.json"
            fail "the trace engine could not parse fixture $f"
        fi
    done
fi
if ((can_svg_fx)); then
    if svgc "$fixtures/flame.svg" fx-flame; then
        expect fixture flame.svg svg "$tmp/fx-flame.svg.json"
    else
        show_err "$tmp/fx-flame.svg.json"
        fail "svg_check rejected fixtures/flame.svg"
    fi
    for f in broken script_error; do
        if svgc "$fixtures/$f.svg" "fx-$f"; then
            fail "svg_check accepted fixtures/$f.svg"
        else
            expect fixture "$f.svg" svg "$tmp/fx-$f.svg.json"
        fi
    done
    printf '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100"></svg>\n' >"$tmp/blank.svg"
    if svgc "$tmp/blank.svg" blank; then
        fail "svg_check accepted a blank SVG"
    elif grep -q 'blank' "$tmp/blank.svg.json"; then
        echo "ok: svg_check refuses a blank drawing"
    else
        fail "svg_check failed on a blank SVG for another reason: $(head -c 300 "$tmp/blank.svg.json")"
    fi
fi

# ==== 2. vitte's own exports ===========================================================
echo "== 2. vitte inspect exports of a tests/trace_gen trace"
gen=${VITTE_BUILD_DIR:-}/tests/trace_gen
if [[ -z ${VITTE_BIN:-} || ! -x ${VITTE_BIN:-} ]] || ! "$VITTE_BIN" inspect --help >/dev/null 2>&1; then
    echo "section 2 not run: \`vitte inspect\` is not available (VITTE_BIN=${VITTE_BIN:-unset})"
elif [[ ! -x $gen ]]; then
    echo "section 2 not run: $gen is not built"
else
    out=$tmp/vitte
    mkdir -p "$out"
    if ! run 30 "$out/gen.log" "$gen" "$out/trace.vittrace" || [[ ! -s $out/trace.vittrace ]]; then
        sed 's/^/  /' "$out/gen.log" "$out/gen.log.err" | head -n 20
        fail "trace_gen did not write $out/trace.vittrace (usage expected: trace_gen OUT.vittrace)"
    else
        echo "ok: trace_gen wrote $(stat -c %s "$out/trace.vittrace") bytes"
        exported=1
        for fmt in chrome folded svg json; do
            ext=$fmt
            [[ $fmt == chrome ]] && ext=json
            [[ $fmt == json ]] && ext=events.json
            if ! run 60 "$out/trace.$ext" "$VITTE_BIN" inspect --format "$fmt" "$out/trace.vittrace" ||
                [[ ! -s $out/trace.$ext ]]; then
                sed 's/^/  /' "$out/trace.$ext.err" | head -n 10
                fail "vitte inspect --format $fmt failed or wrote nothing"
                exported=0
            fi
        done
        if ((exported)); then
            echo "ok: exported chrome, folded, svg, json ($(cd "$out" && wc -c trace.json trace.folded trace.svg trace.events.json | tail -n 1 | awk '{print $1}') bytes)"
            args=(--events "$out/trace.events.json")
            if ((can_speedscope)); then
                if ss "$out/trace.json" v-chrome; then
                    args+=(--speedscope-chrome "$tmp/v-chrome.ss.json")
                else
                    show_err "$tmp/v-chrome.ss.json"
                    fail "speedscope could not load vitte's Chrome JSON: $(grep -o '"warnings".*' -m1 "$tmp/v-chrome.ss.json")"
                fi
                if ss "$out/trace.folded" v-folded; then
                    args+=(--speedscope-folded "$tmp/v-folded.ss.json")
                else
                    show_err "$tmp/v-folded.ss.json"
                    fail "speedscope could not load vitte's folded stacks"
                fi
            fi
            if ((can_engine)); then
                if te "$out/trace.json" v-chrome; then
                    args+=(--trace-engine "$tmp/v-chrome.te.json")
                else
                    show_err "$tmp/v-chrome.te.json"
                    fail "the trace engine could not parse vitte's Chrome JSON"
                fi
            fi
            if ((can_svg)); then
                svgc "$out/trace.svg" v-svg
                args+=(--svg "$tmp/v-svg.svg.json")
            fi
            expect vitte "${args[@]}"
            if ((failures)) && [[ -n ${VITTE_KEEP_EXPORTS:-} ]]; then
                mkdir -p "$VITTE_KEEP_EXPORTS" && cp "$out"/trace.* "$tmp"/v-*.json "$VITTE_KEEP_EXPORTS"/ &&
                    echo "exports and reports kept in $VITTE_KEEP_EXPORTS"
            fi
        fi
    fi
fi

# ---- summary ------------------------------------------------------------------------------
if ((${#timings[@]})); then
    echo "== times"
    printf '  %s\n' "${timings[@]}"
fi
if ((failures)); then
    echo "test_trace_consumers: $failures check(s) failed"
    exit 1
fi
if ((${#missing[@]})); then
    echo "skip: consumers missing: ${missing[*]} (scripts/install-deps.sh installs them)"
    exit 77
fi
echo "test_trace_consumers: all checks passed"
