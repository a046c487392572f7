#!/usr/bin/env bash
# VITTE_TRACE: tracing an instrumented program with no code in main.
#   - the bundled trace_demo under VITTE_TRACE (it uses the active tracer);
#   - SIGTERM during such a run: the trace is flushed and ended;
#   - %p in the path: a forked child writes its own file.
set -u
build=$(cd "${VITTE_BUILD_DIR:?}" && pwd)
vitte=$(realpath "${VITTE_BIN:?}")
demo=$build/examples/trace_demo
forker=$build/tests/fork_traced
[[ -x $demo && -x $forker ]] || {
    echo "skip: $demo or $forker not built"
    exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

# events COUNT_FIELD FILE: a figure from `vitte inspect --format json`'s summary.
spans_of() {
    "$vitte" inspect "$1" --format json 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for e in d["events"] if e["type"]=="span"))'
}

# 1. The demo under VITTE_TRACE.
(cd "$tmp" && VITTE_TRACE="$tmp/env.vittrace" "$demo" >/dev/null)
if [[ -s $tmp/env.vittrace ]]; then
    n=$(spans_of "$tmp/env.vittrace")
    # 1 schedule + 240 enqueue + 240 x (compile, parse, optimize, 3 pass, codegen)
    [[ $n == 1921 ]] && ok "VITTE_TRACE traced trace_demo: $n spans" ||
        fail "VITTE_TRACE: $n spans, want 1921"
    [[ ! -e $tmp/trace_demo.vittrace ]] || fail "trace_demo started a second tracer"
else
    fail "VITTE_TRACE=$tmp/env.vittrace wrote nothing"
fi

# 2. SIGTERM in the middle of a traced run: flushed, ended, signal passed on.
(cd "$tmp" && exec env VITTE_TRACE="$tmp/term.vittrace" "$demo") >/dev/null 2>&1 &
pid=$!
sleep 0.1
kill -TERM $pid
wait $pid
rc=$?
[[ $rc == 143 ]] && ok "SIGTERM still ends the program (status $rc)" ||
    fail "status $rc after SIGTERM, want 143"
if "$vitte" inspect "$tmp/term.vittrace" >"$tmp/term.txt" 2>"$tmp/term.err"; then
    grep -q "complete" "$tmp/term.txt" && ok "the SIGTERM'd trace is complete" ||
        fail "the SIGTERM'd trace is not complete: $(head -3 "$tmp/term.txt")"
else
    fail "vitte inspect on the SIGTERM'd trace failed: $(cat "$tmp/term.err")"
fi

# 3. %p: the parent and its forked child each write a file of their own.  The
# child starts a writer thread of its own in a fork handler: glibc allows it
# (its malloc and pthread_create are fork-safe); ThreadSanitizer cannot follow
# threads started in a forked child ("dup thread with used id"), so this part
# runs in the other builds only.
if [[ ${VITTE_SANITIZE:-} == *thread* ]]; then
    echo "skip: %p after fork (ThreadSanitizer cannot follow threads started after fork)"
else
    (cd "$tmp" && VITTE_TRACE="$tmp/fork-%p.vittrace" "$forker")
    rc=$?
    [[ $rc == 0 ]] && ok "forked child traced to its own file" || fail "fork_traced exited $rc"
    files=("$tmp"/fork-*.vittrace)
    if [[ ${#files[@]} == 2 ]]; then
        counts=$(for f in "${files[@]}"; do spans_of "$f"; done | sort -n | tr '\n' ' ')
        [[ $counts == "100 200 " ]] && ok "parent 200 spans, child 100 spans, in two files" ||
            fail "span counts per file: $counts, want 100 200"
    else
        fail "${#files[@]} files for a forking program with %p, want 2"
    fi
fi

if ((failures)); then
    echo "test_trace_env: $failures check(s) failed"
    exit 1
fi
echo "test_trace_env: all checks passed"
