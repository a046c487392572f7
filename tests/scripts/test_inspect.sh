#!/usr/bin/env bash
# `vitte inspect` on traces written by tests/tools/trace_gen.c through the
# public tracing API: every format checked by a real parser (python3's json
# and csv modules, xmllint for the SVG), the numbers cross-checked between
# formats (folded sums = root span time; Chrome ts/dur = the JSON export's
# nanoseconds; flows bound to their span), filters, several files, and the
# failures: a missing file, a file that is not a trace and a truncated copy
# exit 1 with the file, offset and reason on stderr and still write what
# could be read; usage errors exit 2.
#
# Environment (set by ctest): VITTE_BIN, VITTE_BUILD_DIR; exit 77 = skipped.
set -uo pipefail

if [[ -z ${VITTE_BIN:-} || ! -x ${VITTE_BIN:-} ]]; then
    echo "skip: VITTE_BIN not set or not executable (VITTE_BUILD_CLI=OFF?)"
    exit 77
fi
gen=${VITTE_BUILD_DIR:-}/tests/trace_gen
if [[ ! -x $gen ]]; then
    echo "skip: $gen is not built"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "skip: python3 is needed to parse the exports"
    exit 77
fi
have_xmllint=1
command -v xmllint >/dev/null || have_xmllint=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 checks=0

run() { # run vitte ARGS..., keep stdout, stderr, status
    "$VITTE_BIN" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    last="vitte $*"
}
fail() {
    failures=$((failures + 1))
    echo "FAIL: $last: $*"
    echo "  exit status: $rc"
    head -c 1500 "$tmp/out" | sed 's/^/  stdout: /' | head -n 15
    sed 's/^/  stderr: /' "$tmp/err" | head -n 15
}
expect_rc() {
    checks=$((checks + 1))
    [[ $rc == "$1" ]] || fail "expected exit status $1"
}
expect_out() {
    checks=$((checks + 1))
    grep -qE -- "$1" "$tmp/out" || fail "stdout does not match /$1/"
}
expect_err() {
    checks=$((checks + 1))
    grep -qE -- "$1" "$tmp/err" || fail "stderr does not match /$1/"
}
expect_no_err() {
    checks=$((checks + 1))
    [[ ! -s $tmp/err ]] || fail "expected nothing on stderr"
}
# py SCRIPT ARGS...: a python check; its output is the failure message.
py() {
    checks=$((checks + 1))
    local script=$1
    shift
    python3 -c "$script" "$@" >"$tmp/py" 2>&1 || fail "$(tail -n 5 "$tmp/py")"
}
xml_ok() {
    checks=$((checks + 1))
    if ((have_xmllint)); then
        xmllint --noout "$1" 2>"$tmp/xml" || fail "not well-formed XML: $(head -n 3 "$tmp/xml")"
    fi
}

# ---- a known trace ------------------------------------------------------------------------
trace=$tmp/t.vittrace
if ! "$gen" "$trace" 50 >"$tmp/gen.log" 2>&1; then
    echo "FAIL: trace_gen: $(cat "$tmp/gen.log")"
    exit 1
fi
# 4 workers x 50 iterations: task, parse, compute, 2 kernels = 1000 spans,
# + 4 start + main, setup, join, hostile = 1008 spans; 20 instants,
# 200 counter values, 20 + 20 async, 4 + 4 flow events.
spans=1008 events=1276

# ---- help -------------------------------------------------------------------------------------
run inspect --help
expect_rc 0
expect_out '^Usage: vitte inspect FILE'
expect_out '^Examples:'
expect_out '--min-duration'
help=$(cat "$tmp/out")
run help inspect
checks=$((checks + 1))
[[ $(cat "$tmp/out") == "$help" ]] || fail "'vitte help inspect' differs from 'vitte inspect --help'"

# ---- text ---------------------------------------------------------------------------------------
run inspect "$trace"
expect_rc 0
expect_no_err
expect_out '^file: .*t\.vittrace: pid [0-9]+ \(trace_gen\), format 1\.1, clock (TSC|CLOCK_MONOTONIC).*, complete$'
expect_out "^events: +$events read \\($spans spans, 20 instants, 200 counter values, 40 async, 8 flow\\)"
expect_out '^dropped: +0$'
expect_out '^processes: 1, threads: 5$'
expect_out '^ +count +total +self +self% +mean +p50 +p90 +p99 +max +name$'
expect_out '^ +400 .* kernel$'
expect_out '^ +200 .* task$'
expect_out '^ +4 .* start$'
expect_out '^ +200 .* progress$'
expect_out '^ +20 +checkpoint$'
checks=$((checks + 1))
grep -q '^warnings' "$tmp/out" && fail "a clean trace has no warnings"

run inspect "$trace" --by thread
expect_rc 0
for w in 0 1 2 3; do
    expect_out "^thread worker-$w \\(tid [0-9]+\\): 251 spans, self "
done
expect_out '^thread main \(tid [0-9]+\): 4 spans'
run inspect "$trace" --by module
expect_rc 0
expect_out '^module work: 200 spans'
expect_out '^module math: 200 spans'

# ---- json events: the reference for the other formats ----------------------------------------------
run inspect "$trace" -f json -o "$tmp/t.events.json"
expect_rc 0
expect_no_err
checks=$((checks + 1))
[[ -s $tmp/t.events.json && ! -e $tmp/t.events.json.tmp ]] || fail "-o did not leave exactly OUT"
py '
import json, sys, collections
d = json.load(open(sys.argv[1]))
assert d["format"] == "vitte-trace-events" and d["version"] == 1, d["format"]
ev = d["events"]
assert len(ev) == int(sys.argv[2]), len(ev)
types = collections.Counter(e["type"] for e in ev)
assert types == {"span": int(sys.argv[3]), "instant": 20, "counter": 200, "async_begin": 20,
                 "async_end": 20, "flow_begin": 4, "flow_end": 4}, types
keys = {"type","pid","tid","ts_ns","dur_ns","self_ns","depth","id","value","name","module","tags",
        "file","line","args"}
for e in ev:
    assert set(e) == keys, set(e) ^ keys
spans = [e for e in ev if e["type"] == "span"]
names = collections.Counter(e["name"] for e in spans)
assert names["kernel"] == 400 and names["task"] == 200 and names["main"] == 1, names
assert names["hostile \"name\" <&>, comma"] == 1, names
for e in spans:
    assert 0 <= e["self_ns"] <= e["dur_ns"], e
task = [e for e in spans if e["name"] == "task"]
assert all(e["module"] == "work" and e["depth"] == 0 for e in task)
assert sorted(e["args"]["i"] for e in task) == sorted(list(range(50)) * 4)
comp = [e for e in spans if e["name"] == "compute"]
assert all(e["tags"] == "hot,simd" and e["module"] == "math" and "scale" in e["args"] for e in comp)
# self time: per thread, the sum of self over all spans = the sum of root durations
by = collections.defaultdict(lambda: [0, 0])
for e in spans:
    by[e["tid"]][0] += e["self_ns"]
    if e["depth"] == 0:
        by[e["tid"]][1] += e["dur_ns"]
for tid, (s, r) in by.items():
    assert s == r, (tid, s, r)
th = {t["name"] for t in d["threads"]}
assert th == {"main", "worker-0", "worker-1", "worker-2", "worker-3"}, th
assert d["summary"]["dropped"] == 0 and d["warnings"] == [], (d["summary"], d["warnings"])
assert d["files"][0]["complete"] is True
' "$tmp/t.events.json" "$events" "$spans"

# ---- chrome --------------------------------------------------------------------------------------
run inspect "$trace" --format chrome -o "$tmp/t.json"
expect_rc 0
expect_no_err
py '
import json, sys, re, collections
from decimal import Decimal
raw = open(sys.argv[1]).read()
d = json.loads(raw)
assert d["displayTimeUnit"] == "ns"
ev = d["traceEvents"]
ph = collections.Counter(e["ph"] for e in ev)
# spans: B/E pairs, each B followed by its E (DevTools pairs them in file order)
assert ph["B"] == ph["E"] == int(sys.argv[3]) and ph["X"] == 0, ph
for i, e in enumerate(ev):
    if e["ph"] == "B":
        n = ev[i + 1]
        assert n["ph"] == "E" and n["name"] == e["name"] and n["tid"] == e["tid"], (e, n)
assert ph["I"] == 20 and ph["C"] == 200, ph
assert ph["b"] == 20 and ph["e"] == 20 and ph["s"] == 4 and ph["f"] == 4, ph
# microseconds with exactly 3 decimals, written as such (no float rounding)
for m in re.finditer(r"\"(ts|dur)\":(-?[0-9.e+]+)", raw):
    assert re.fullmatch(r"-?[0-9]+\.[0-9]{3}", m.group(2)), m.group(0)
# the same spans as the json export, to the nanosecond (decimals read exactly);
# among equal starts on a thread, the outer span comes first (speedscope)
exact = json.loads(raw, parse_float=Decimal)["traceEvents"]
ns = lambda v: int(v * 1000)
got, stacks = [], collections.defaultdict(list)
for e in exact:
    if e["ph"] == "X":
        got.append((e["tid"], e["name"], ns(e["ts"]), ns(e["dur"])))
    elif e["ph"] == "B":
        stacks[e["tid"]].append(e)
    elif e["ph"] == "E":
        b = stacks[e["tid"]].pop()
        assert b["name"] == e["name"] and b.get("args") == e.get("args"), (b, e)
        got.append((e["tid"], e["name"], ns(b["ts"]), ns(e["ts"]) - ns(b["ts"])))
assert not any(stacks.values()), stacks
ref = json.load(open(sys.argv[2]))["events"]
want = sorted((e["tid"], e["name"], e["ts_ns"], e["dur_ns"]) for e in ref if e["type"] == "span")
got.sort()
assert got == want, (len(got), len(want), [x for x in got if x not in want][:3])
# flows: each bound to a slice with the same pid, tid, ts and cat, "s" first
slices = {(e["pid"], e["tid"], e["ts"], e["cat"]) for e in ev if e["ph"] in "XB"}
seen = set()
for e in ev:
    if e["ph"] in "stf":
        assert e["bp"] == "e" and re.fullmatch(r"0x[0-9a-f]+", e["id"]), e
        assert (e["pid"], e["tid"], e["ts"], e["cat"]) in slices, e
        assert e["ph"] == "s" or e["id"] in seen, ("flow step or end before its start", e)
        seen.add(e["id"])
ids = {e["id"] for e in ev if e["ph"] == "s"}
assert ids == {e["id"] for e in ev if e["ph"] == "f"} == {hex(1000 + w) for w in range(4)}, ids
assert {e["id"] for e in ev if e["ph"] == "b"} == {e["id"] for e in ev if e["ph"] == "e"}
assert all(e["s"] == "t" for e in ev if e["ph"] == "I")
assert all(e["args"] == {"progress": e["args"]["progress"]} for e in ev if e["ph"] == "C")
meta = {(e["name"], e["args"]["name"]) for e in ev if e["ph"] == "M"}
assert ("process_name", "trace_gen") in meta, meta
assert {n for k, n in meta if k == "thread_name"} == {"main", "worker-0", "worker-1", "worker-2",
                                                     "worker-3"}, meta
task = [e for e in ev if e["ph"] in "XB" and e["name"] == "task"]
assert len(task) == 200 and all(e["cat"] == "work" and "i" in e["args"] and "kind" in e["args"] for e in task)
comp = [e for e in ev if e["ph"] in "XB" and e["name"] == "compute"]
assert all(e["args"]["tags"] == "hot,simd" for e in comp)
assert d["otherData"]["dropped"] == 0 and d["otherData"]["warnings"] == []
' "$tmp/t.json" "$tmp/t.events.json" "$spans"

# ---- folded ---------------------------------------------------------------------------------------
run inspect "$trace" --format folded -o "$tmp/t.folded"
expect_rc 0
py '
import json, sys, collections
lines = open(sys.argv[1]).read().splitlines()
vals = {}
for l in lines:
    path, v = l.rsplit(" ", 1)
    assert path not in vals, "duplicate " + path
    vals[path] = int(v)
    assert vals[path] > 0
ref = [e for e in json.load(open(sys.argv[2]))["events"] if e["type"] == "span"]
roots = sum(e["dur_ns"] for e in ref if e["depth"] == 0)
assert sum(vals.values()) == roots, (sum(vals.values()), roots)
kernel = sum(e["self_ns"] for e in ref if e["name"] == "kernel")
assert vals["task;compute;kernel"] == kernel, (vals.get("task;compute;kernel"), kernel)
assert vals["task;parse"] == sum(e["self_ns"] for e in ref if e["name"] == "parse")
assert "main;hostile \"name\" <&>, comma" in vals, sorted(vals)
assert lines == sorted(lines)
' "$tmp/t.folded" "$tmp/t.events.json"
run inspect "$trace" --format folded --per-thread
expect_rc 0
expect_out '^worker-2 \(tid [0-9]+\);task;compute;kernel [0-9]+$'
expect_out '^main \(tid [0-9]+\);main;setup [0-9]+$'

# ---- svg ------------------------------------------------------------------------------------------
run inspect "$trace" --format svg -o "$tmp/t.svg"
expect_rc 0
xml_ok "$tmp/t.svg"
py '
import sys, re
s = open(sys.argv[1]).read()
assert s.startswith("<?xml")
titles = re.findall(r"<title>([^\n<]*)\n", s)
for n in ("all", "task", "compute", "kernel", "parse", "main", "join"):
    assert n in titles, (n, titles[:20])
# (the hostile name is a 2 us span: narrower than the 0.1 px that is drawn when
# the machine is busy; test_trace_export checks escaping in the SVG)
assert s.count("<rect ") > 8 and "fg:w=" in s and "function zoomTo" in s and "id=\"search\"" in s
' "$tmp/t.svg"
run inspect "$trace" --format svg --icicle --per-thread --title 'T <1> & "2"' -o "$tmp/icicle.svg"
expect_rc 0
xml_ok "$tmp/icicle.svg"
checks=$((checks + 1))
grep -q 'T &lt;1&gt; &amp; &quot;2&quot;' "$tmp/icicle.svg" || fail "svg title not escaped"

# ---- csv ------------------------------------------------------------------------------------------
run inspect "$trace" --format csv -o "$tmp/t.csv"
expect_rc 0
py '
import csv, sys, collections
raw = open(sys.argv[1], newline="").read()
assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == int(sys.argv[2]), len(rows)
assert list(rows[0].keys()) == ["type","pid","tid","ts_ns","dur_ns","self_ns","depth","id","value",
                                "name","module","tags","file","line","args"], rows[0].keys()
c = collections.Counter(r["type"] for r in rows)
assert c["span"] == int(sys.argv[3]) and c["counter"] == 200, c
assert any(r["name"] == "hostile \"name\" <&>, comma" and r["module"] == "odd,module" for r in rows)
' "$tmp/t.csv" "$events" "$spans"

# ---- filters ----------------------------------------------------------------------------------------
filtered() { # ARGS...: the json export with filters, then a python check on it
    run inspect "$trace" -f json "${@:1:$#-1}" -o "$tmp/f.json"
    expect_rc 0
    py "import json, sys, collections
ev = json.load(open(sys.argv[1]))['events']
spans = [e for e in ev if e['type'] == 'span']
${!#}" "$tmp/f.json"
}
filtered --module math 'assert {e["name"] for e in spans} == {"compute"} and len(spans) == 200, len(spans)'
filtered --module -math,-work 'assert not any(e["module"] in ("math", "work") for e in spans); assert len(spans) == 1008 - 400'
filtered --tag simd 'assert len(spans) == 200 and all(e["name"] == "compute" for e in spans)'
filtered --thread worker-1 'assert len({e["tid"] for e in ev}) == 1 and len(spans) == 251, len(spans)'
main_tid=$(python3 -c 'import json,sys; print([t["tid"] for t in json.load(open(sys.argv[1]))["threads"] if t["name"] == "main"][0])' "$tmp/t.events.json")
filtered --thread "$main_tid" 'assert {e["name"] for e in spans} == {"main", "setup", "join", "hostile \"name\" <&>, comma"}'
filtered --min-duration 5us 'assert spans and all(e["dur_ns"] >= 5000 for e in spans), len(spans)'
# a window in the middle of the workers' tasks (where the trace starts depends on
# the machine: the clock's calibration can come first)
read -r lo hi < <(python3 -c 'import json,sys
t = sorted(e["ts_ns"] for e in json.load(open(sys.argv[1]))["events"] if e["name"] == "task")
lo = t[len(t) // 2]; print(lo, lo + 300000)' "$tmp/t.events.json")
filtered --from "${lo}ns" --to "${hi}ns" "lo, hi = $lo, $hi"'
assert spans and all(e["ts_ns"] < hi and e["ts_ns"] + e["dur_ns"] >= lo for e in spans)
assert all(lo <= e["ts_ns"] < hi for e in ev if e["type"] != "span")
assert any(e["name"] == "task" for e in spans)'
run inspect "$trace" --module nosuch
expect_rc 0
expect_out 'no span, instant, counter or async event passed the filters'
expect_out '^filters: +module=nosuch'

# ---- several files: several processes on one timeline ---------------------------------------------------
"$gen" "$tmp/u.vittrace" 5 >/dev/null 2>&1
run inspect "$trace" "$tmp/u.vittrace"
expect_rc 0
expect_out '^processes: 2, threads: 10$'
expect_out '^timeline: +2 files aligned on CLOCK_MONOTONIC'
run inspect "$trace" "$tmp/u.vittrace" -f chrome -o "$tmp/two.json"
expect_rc 0
py '
import json, sys
d = json.load(open(sys.argv[1]))
procs = [e for e in d["traceEvents"] if e["ph"] == "M" and e["name"] == "process_name"]
assert len({e["pid"] for e in procs}) == 2, procs
starts = sorted(f["offset_ns"] for f in d["otherData"]["files"])
assert starts[0] == 0 and starts[1] > 0, starts
' "$tmp/two.json"

# ---- failures: file, offset, reason; what could be read is still written ----------------------------------
run inspect "$tmp/nosuch.vittrace"
expect_rc 1
expect_err "nosuch\\.vittrace"
expect_err 'No such file|cannot open'
expect_out '^warnings'

echo "this is not a trace" >"$tmp/text.txt"
run inspect "$tmp/text.txt" -f chrome -o "$tmp/text.json"
expect_rc 1
expect_err 'text\.txt: .*not a vitte trace'
py '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["traceEvents"] == [] and any("not a vitte trace" in w for w in d["otherData"]["warnings"])
' "$tmp/text.json"

size=$(stat -c %s "$trace")
head -c $((size * 2 / 3)) "$trace" >"$tmp/cut.vittrace"
run inspect "$tmp/cut.vittrace"
expect_rc 1
expect_err 'cut\.vittrace: .*offset [0-9]+'
expect_out '^warnings'
expect_out 'cut\.vittrace: offset [0-9]+: '
run inspect "$tmp/cut.vittrace" -f chrome -o "$tmp/cut.json"
expect_rc 1
expect_err 'cut\.vittrace'
expect_err 'cut\.json holds what could be read'
py '
import json, sys
d = json.load(open(sys.argv[1]))
n = sum(1 for e in d["traceEvents"] if e["ph"] in "XB")
assert 0 < n < int(sys.argv[2]), n
assert d["otherData"]["warnings"], "no warning"
' "$tmp/cut.json" "$spans"
checks=$((checks + 1))
[[ ! -e $tmp/cut.json.tmp ]] || fail "OUT.tmp left behind"
run inspect "$tmp/cut.vittrace" -f folded
expect_rc 1
expect_out '^task;compute;kernel [0-9]+$'
expect_err 'warning: .*cut\.vittrace: offset [0-9]+'
# a good file beside a bad one: the good one is complete in the output
run inspect "$trace" "$tmp/text.txt" -f json -o "$tmp/mixed.json"
expect_rc 1
py '
import json, sys
d = json.load(open(sys.argv[1]))
assert sum(e["type"] == "span" for e in d["events"]) == int(sys.argv[2])
' "$tmp/mixed.json" "$spans"

# output errors
run inspect "$trace" -o "$tmp/no/such/dir/out.txt"
expect_rc 1
expect_err 'cannot write'
if [[ -w /dev/full ]]; then
    "$VITTE_BIN" inspect "$trace" -f chrome >/dev/full 2>"$tmp/err"
    rc=$?
    last="vitte inspect >/dev/full"
    expect_rc 1
fi

# ---- usage errors: exit 2, nothing done -----------------------------------------------------------------
run inspect
expect_rc 2
expect_err 'no trace file given'
run inspect "$trace" --format chorme
expect_rc 2
expect_err "unknown format 'chorme' \\(did you mean 'chrome'\\?\\)"
run inspect "$trace" --min-duration 5
expect_rc 2
expect_err 'needs a unit'
run inspect "$trace" --min-duration 5parsecs
expect_rc 2
expect_err 'unknown unit'
run inspect "$trace" --by color
expect_rc 2
expect_err "--by 'color'"
run inspect "$trace" --from 2ms --to 1ms
expect_rc 2
expect_err '--to must be after --from'
run inspect "$trace" --frobnicate
expect_rc 2
expect_err "unknown option '--frobnicate'"
run inspect "$trace" -o "$tmp/usage.json" --format nope
expect_rc 2
checks=$((checks + 1))
[[ ! -e $tmp/usage.json && ! -e $tmp/usage.json.tmp ]] || fail "a usage error wrote a file"

if ((!have_xmllint)); then
    echo "test_inspect: $checks checks, $failures failed; xmllint missing (apt-get install libxml2-utils): SVG not parsed"
    ((failures == 0)) && exit 77
    exit 1
fi
echo "test_inspect: $checks checks, $failures failed"
((failures == 0))
