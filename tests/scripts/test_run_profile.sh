#!/usr/bin/env bash
# `vitte run --profile` on unmodified programs (issue 4): known CPU shares
# with and without frame pointers, a stripped binary, threads, a shared
# library, recursion; perf record as the peer; go tool pprof and the folded
# output as consumers; exit status pass-through, a crash, fork + exec, a
# missing program, and perf_event denied (seccomp) falling back.
#
# Shares are asserted within 5 points (the issue's tolerance): a sample is a
# millisecond of CPU, and each function gets hundreds of them.
set -euo pipefail
: "${VITTE_BIN:?}" "${VITTE_SOURCE_DIR:?}" "${VITTE_BUILD_DIR:?}"
CC=${CC:-cc}
W=$VITTE_SOURCE_DIR/tests/workloads
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Sanitized builds of vitte sample fine, but LD_PRELOAD-ing an ASan runtime
# into the workloads (the signal sampler) is not supported: that part skips.
sanitized=${VITTE_SANITIZE:-}

# perf_event_open at all?
if ! "$VITTE_BIN" run --profile --sampler perf -q -o probe.vittrace -- true 2>probe.err; then
    if grep -q "perf_event" probe.err; then
        echo "SKIP: perf_event_open is not permitted here: $(cat probe.err)"
        exit 77
    fi
    cat probe.err >&2
    fail "vitte run on /bin/true"
fi

# ---- the workloads ----------------------------------------------------------------
$CC -O2 -g -fPIC -shared -o libprof_lib.so "$W/prof_lib.c"
# shellcheck disable=SC2054 # -Wl,-rpath,DIR is one argument
common=(-O2 -g "$W/prof_shares.c" -L. -lprof_lib -Wl,-rpath,"$tmp" -pthread)
$CC -fomit-frame-pointer -o nofp "${common[@]}"
$CC -fno-omit-frame-pointer -o fp "${common[@]}"
cp nofp stripped
strip --strip-all stripped

# shares FOLDED FUNC...: the share (percent of weight) of stacks holding each
# function (a function counts once per stack), and the share of stacks that
# reach main or worker ("complete").
shares() {
    python3 - "$@" <<'EOF'
import sys
path, funcs = sys.argv[1], sys.argv[2:]
total = 0; got = {f: 0 for f in funcs}; complete = 0
for line in open(path):
    stack, _, w = line.rstrip("\n").rpartition(" ")
    w = int(w); frames = stack.split(";"); total += w
    for f in funcs:
        if f in frames: got[f] += w
    if "main" in frames or "worker" in frames: complete += w
if total == 0: sys.exit("no samples")
print(" ".join("%s=%.1f" % (f, 100.0 * got[f] / total) for f in funcs), "complete=%.1f" % (100.0 * complete / total))
EOF
}

# check_share "heavy=61.2 ..." NAME EXPECTED
check_share() {
    local line=$1 name=$2 want=$3 v
    v=$(tr ' ' '\n' <<<"$line" | sed -n "s/^$name=//p")
    [[ -n $v ]] || fail "no share for $name in: $line"
    python3 -c "import sys; v,w=float('$v'),float('$want'); sys.exit(0 if abs(v-w)<=5 else 1)" ||
        fail "$name: $v% of the samples, expected $want% +- 5 ($line)"
}

profile() { # name args...
    local name=$1
    shift
    set +e
    "$VITTE_BIN" run --profile -o "$name.vittrace" "$@" >"$name.out" 2>"$name.err"
    local rc=$?
    set -e
    echo "$rc"
}

# ---- 1. no frame pointers, DWARF unwinding (the default), 2 threads -----------------
rc=$(profile nofp -- ./nofp 30 2)
cat nofp.err
[[ $rc == 7 ]] || fail "exit status $rc, expected the program's 7"
grep -q "perf sampler" nofp.err || fail "the perf sampler was not used"
grep -q "2 threads" nofp.err || fail "both threads not seen: $(cat nofp.err)"
"$VITTE_BIN" inspect nofp.vittrace -f folded -o nofp.folded
s=$(shares nofp.folded heavy medium recurse lib_work)
echo "nofp (dwarf): $s"
check_share "$s" heavy 60
check_share "$s" medium 30
check_share "$s" recurse 30
check_share "$s" lib_work 10
check_share "$s" complete 100
# recursion: five recurse frames under medium's caller
grep -q "worker;recurse;recurse;recurse;recurse;recurse;medium" nofp.folded ||
    fail "the recursion is not five frames deep in the stacks"

# ---- 2. frame pointers, kernel callchains ---------------------------------------------
rc=$(profile fp --call-graph fp -- ./fp 40 1)
[[ $rc == 7 ]] || fail "fp: exit status $rc"
"$VITTE_BIN" inspect fp.vittrace -f folded -o fp.folded
s=$(shares fp.folded heavy medium lib_work)
echo "fp (callchain): $s"
check_share "$s" heavy 60
check_share "$s" medium 30
check_share "$s" lib_work 10
check_share "$s" complete 100

# ---- 3. stripped: never a wrong name ----------------------------------------------------
rc=$(profile stripped -- ./stripped 30 1)
[[ $rc == 7 ]] || fail "stripped: exit status $rc"
"$VITTE_BIN" inspect stripped.vittrace -f folded -o stripped.folded
if grep -Eq '(^|;)(heavy|medium|recurse)( |;)' stripped.folded; then
    fail "a stripped binary gave function names it does not have"
fi
grep -q "stripped+0x" stripped.folded || fail "no module+offset frames for the stripped binary"
grep -q "lib_work" stripped.folded || fail "the shared library (not stripped) lost its names"

# ---- 4. the peer: perf record / perf report agree on the top functions -------------------
if command -v perf >/dev/null; then
    perf record -q -F 999 -g -o perf.data ./fp 40 1 >/dev/null 2>perf.err || true # exits 7, as fp does
fi
if [[ -s perf.data ]]; then
    perf report -i perf.data --stdio --no-children --sort symbol 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -3 >perf.top || true
    echo "perf report top:"
    cat perf.top
    for f in heavy medium lib_work; do
        grep -q "$f" perf.top || fail "perf report's top 3 lack $f"
    done
    "$VITTE_BIN" inspect fp.vittrace -f folded |
        python3 -c '
import sys, collections
self = collections.Counter()
for line in sys.stdin:
    stack, _, w = line.rstrip("\n").rpartition(" ")
    self[stack.split(";")[-1]] += int(w)
print(" ".join(f for f, _ in self.most_common(3)))' >vitte.top
    echo "vitte top: $(cat vitte.top)"
    for f in heavy medium lib_work; do
        grep -qw "$f" vitte.top || fail "vitte's top 3 self functions lack $f"
    done
else
    echo "note: perf record not available here ($(head -c 200 perf.err 2>/dev/null)); peer check skipped"
fi

# ---- 5. consumers: go tool pprof, speedscope reads folded (test_trace_consumers) ----------
"$VITTE_BIN" inspect nofp.vittrace -f pprof -o nofp.pb.gz
if command -v go >/dev/null; then
    export HOME=$tmp GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOCACHE=$tmp/gocache
    go tool pprof -top -symbolize=none nofp.pb.gz >pprof.top 2>pprof.err ||
        fail "go tool pprof could not read the profile: $(cat pprof.err)"
    head -12 pprof.top
    # the three leaf functions are the top three by flat time
    grep -E '^ *[0-9.]+(ns|us|ms|s) +[0-9.]+%' pprof.top | awk '{print $6}' | head -3 >pprof.names || true
    for f in heavy medium lib_work; do
        grep -q "^$f" pprof.names || fail "go tool pprof -top: $f not in the top lines"
    done
else
    echo "note: go is not installed; the pprof check is in test_pprof.sh too"
fi

# ---- 6. text summary names the functions --------------------------------------------------
"$VITTE_BIN" inspect nofp.vittrace >nofp.txt || fail "inspect text failed"
grep -q heavy nofp.txt || fail "the text summary does not list heavy"

# ---- 7. a crash: the trace is complete up to it --------------------------------------------
rc=$(profile crash -- ./nofp --crash)
[[ $rc == 139 ]] || fail "crash: exit status $rc, expected 139 (128 + SIGSEGV)"
"$VITTE_BIN" inspect crash.vittrace -f folded -o crash.folded || fail "the crash trace is unreadable"
grep -q heavy crash.folded || fail "the crash trace lost the samples before the crash"

# ---- 8. fork + exec: both processes are sampled ---------------------------------------------
rc=$(profile forkexec -- ./nofp --fork-exec ./fp 20 1)
[[ $rc == 7 ]] || fail "fork-exec: exit status $rc (the exec'd child's 7 expected)"
grep -Eq "2 process" forkexec.err || fail "fork-exec: the child process was not sampled: $(cat forkexec.err)"
"$VITTE_BIN" inspect forkexec.vittrace -f folded --per-thread -o forkexec.folded
python3 - forkexec.folded <<'EOF' || fail "fork-exec: stacks of the exec'd program missing"
import sys
roots = set(l.split(";")[0] for l in open(sys.argv[1]))
print("fork-exec thread roots:", sorted(roots))
sys.exit(0 if len(roots) >= 2 else 1)
EOF

# ---- 9. --system: the program's and the machine's figures as counter tracks --------------------
rc=$(profile system --system --system-interval 20 -- ./nofp 20 1)
[[ $rc == 7 ]] || fail "--system: exit status $rc"
"$VITTE_BIN" inspect system.vittrace -f csv -o system.csv
python3 - system.csv <<'EOF' || fail "--system: counter tracks missing or wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
c = {}
for r in rows:
    if r["type"] == "counter":
        c.setdefault(r["name"], []).append(float(r["value"]))
print("system counters:", {k: len(v) for k, v in sorted(c.items())})
assert len(c.get("cpu_percent", [])) >= 3, "too few cpu_percent readings"
assert max(c["cpu_percent"]) > 50, "a CPU-bound program below 50% CPU"
assert min(c["rss_bytes"]) > 100000, "RSS below 100 kB"
assert "host_cpu_percent" in c and "threads" in c
EOF
"$VITTE_BIN" inspect system.vittrace -f folded -o system.folded
grep -q heavy system.folded || fail "--system: samples missing"

# ---- 10. a missing program: exit 127 and a message -------------------------------------------
set +e
"$VITTE_BIN" run --profile -o missing.vittrace -- ./no-such-program 2>missing.err
rc=$?
set -e
[[ $rc == 127 ]] || fail "missing program: exit $rc, expected 127"
grep -q "no-such-program" missing.err || fail "missing program: no message naming it"
[[ ! -e missing.vittrace ]] || fail "missing program: an empty trace was left behind"

# ---- 11. perf_event denied: a clear error, or the signal sampler ----------------------------
deny=$VITTE_BUILD_DIR/tests/deny_perf
if [[ -x $deny ]]; then
    set +e
    "$deny" "$VITTE_BIN" run --profile --sampler perf -o denied.vittrace -- ./nofp 5 1 2>denied.err
    rc=$?
    set -e
    [[ $rc == 1 ]] || fail "--sampler perf with perf_event denied: exit $rc, expected 1"
    grep -q "perf_event" denied.err || fail "no perf_event explanation: $(cat denied.err)"
    if [[ -z $sanitized ]]; then
        set +e
        "$deny" "$VITTE_BIN" run --profile -o auto.vittrace -- ./nofp 30 1 2>auto.err
        rc=$?
        set -e
        cat auto.err
        grep -q "sampler: signal" auto.err || fail "auto did not say it fell back to the signal sampler"
        if [[ $rc == 7 ]]; then
            "$VITTE_BIN" inspect auto.vittrace -f folded -o auto.folded
            s=$(shares auto.folded heavy medium lib_work)
            echo "signal sampler (fallback): $s"
            # The signal sampler's timers fire on the scheduler tick, and this
            # workload's regular rhythm can beat with it (seen: heavy 50%):
            # here only the fallback and a sane profile are checked;
            # test_profiler.sh checks the signal sampler's shares within 5
            # points on a workload that varies its rhythm (prof_mix).
            python3 - auto.folded <<'EOF' || fail "the signal sampler's profile is not sane: $s"
import sys, collections
self = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, w = line.rstrip("\n").rpartition(" ")
    self[stack.split(";")[-1]] += int(w)
top = [f for f, _ in self.most_common(3)]
print("signal sampler top self functions:", top)
sys.exit(0 if top[0] == "heavy" and set(top) == {"heavy", "medium", "lib_work"} else 1)
EOF
        else
            fail "fallback run: exit $rc"
        fi
    fi
else
    echo "note: $deny not built; the perf_event-denied check is skipped"
fi
# ---- 12. a program built with libvitte: its spans land in the profile --------------------------
tw=$VITTE_BUILD_DIR/tests/traced_work
if [[ -x $tw ]]; then
    rc=$(profile traced -- "$tw")
    [[ $rc == 0 ]] || fail "traced_work: exit $rc"
    grep -q "traced by the program itself are in the profile" traced.err ||
        fail "the program's own spans were not copied: $(cat traced.err)"
    "$VITTE_BIN" inspect traced.vittrace -f csv -o traced.csv
    python3 - traced.csv <<'EOF' || fail "spans and samples are not in one trace"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
kinds = {}
for r in rows:
    kinds.setdefault(r["type"], []).append(r)
spans = [r for r in kinds.get("span", []) if r["name"] == "inner"]
print("traced_work:", {k: len(v) for k, v in kinds.items()})
assert len(spans) == 20, "20 inner spans expected"
assert len(kinds.get("sample", [])) > 20, "samples missing"
# the same clock: most samples fall inside an "inner" span
inside = 0
iv = [(int(s["ts_ns"]), int(s["ts_ns"]) + int(s["dur_ns"])) for s in spans]
smp = kinds["sample"]
for s in smp:
    t = int(s["ts_ns"])
    inside += any(a <= t <= b + 2000000 for a, b in iv)
print("samples inside inner spans: %d of %d" % (inside, len(smp)))
assert inside >= 0.8 * len(smp)
EOF
    if compgen -G "traced.vittrace.spans-*" >/dev/null; then
        fail "the program's side trace was left behind after being copied"
    fi
else
    echo "note: $tw not built; the spans-in-the-profile check is skipped"
fi

# ---- 13. SIGTERM to vitte reaches the program; the trace is still complete ---------------------
set +e
"$VITTE_BIN" run --profile -q -o term.vittrace -- ./nofp 100000 1 >/dev/null 2>term.err &
vpid=$!
sleep 1
kill -TERM "$vpid"
wait "$vpid"
rc=$?
set -e
[[ $rc == 143 ]] || fail "SIGTERM: exit $rc, expected 143 (128 + SIGTERM, the program's death)"
"$VITTE_BIN" inspect term.vittrace >term.txt 2>&1 || fail "the trace of a terminated program is not complete: $(tail -3 term.txt)"
grep -q "signal 15" term.txt || fail "the text report does not say the program died of signal 15"

# ---- 14. --wall: blocked time is sampled too ----------------------------------------------------
if [[ -z $sanitized ]]; then
    $CC -O2 -g -o sleeper "$W/prof_sleep.c"
    rc=$(profile wall --wall -- ./sleeper)
    [[ $rc == 0 ]] || fail "--wall: exit $rc"
    grep -q "sampler: signal" wall.err || fail "--wall did not say which sampler it used"
    "$VITTE_BIN" inspect wall.vittrace -f folded -o wall.folded
    python3 - wall.folded <<'EOF' || fail "--wall: the sleep is not in the samples"
import sys
tot = sleep = 0
for line in open(sys.argv[1]):
    stack, _, w = line.rstrip("\n").rpartition(" ")
    tot += int(w)
    if "sleep" in stack.split(";")[-1]:
        sleep += int(w)
print("wall: %.0f ms sampled, %.0f ms in sleep" % (tot / 1e6, sleep / 1e6))
assert tot > 250e6, "less than 250 ms of wall time sampled"
assert sleep > 150e6, "the 300 ms sleep is missing"
EOF
fi

# ---- 15. symbolizing later: vitte inspect --symbols finds the unstripped twin --------------------
mkdir -p symdir
cp nofp symdir/stripped # the same build id, with its symbols
"$VITTE_BIN" inspect stripped.vittrace -f folded --symbols "$tmp/symdir" -o resym.folded
grep -Eq '(^|;)heavy( |;)' resym.folded || fail "--symbols DIR: the stripped binary's functions were not named"

# ---- 16. speedscope reads the folded stacks ---------------------------------------------------
cons=$VITTE_SOURCE_DIR/tests/consumers
if [[ -d $cons/node_modules/speedscope ]] && command -v chromium >/dev/null; then
    timeout -k 3 90 node "$cons/speedscope_check.js" nofp.folded --timeout-ms 30000 >ss.json 2>ss.err ||
        fail "speedscope could not read the folded profile: $(head -c 300 ss.err)"
    python3 - ss.json <<'EOF' || fail "speedscope's view of the folded profile is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] and "collapsed" in r["importer"], r["importer"]
p = r["profiles"][0]
share = p["frames"]["heavy"]["self"] / p["total_weight"] * 100
print("speedscope: heavy %.1f%% self" % share)
assert abs(share - 60) <= 5
EOF
else
    echo "note: speedscope or chromium missing; tests/consumers/setup.sh installs it"
fi

echo "PASS"
