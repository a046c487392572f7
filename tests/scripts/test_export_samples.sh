#!/usr/bin/env bash
# Profiles (samples) through `vitte inspect`, end to end: a small C program
# (two threads; functions taking about 60 %, 30 % (recursive) and 10 % of the
# CPU) is recorded with `vitte run --profile`, then
#   text     must show the profile: the sampler's facts, functions by self
#            and total time with the expected shares, threads, modules;
#   chrome   must be valid JSON whose sample tracks nest and hold, per
#            function, the total time the text summary gives (within the
#            text's 4 significant digits), with the sampler's facts in
#            otherData;
#   speedscope (its own importer in headless Chromium, tests/consumers)
#            must import the Chrome JSON without a warning and find the same
#            per-function totals; DevTools' trace engine too.
#
# Environment (set by ctest): VITTE_BIN, VITTE_BUILD_DIR, VITTE_SOURCE_DIR, CC.
# Exit 77 = skipped: no C compiler, or no sampler permitted here
# (perf_event_open denied and the signal sampler failing too), or a consumer
# missing (the checks that could run still ran).
set -uo pipefail

src=${VITTE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cons=$src/tests/consumers
bin=${VITTE_BIN:-${VITTE_BUILD_DIR:-$src/build}/vitte}
cc=${CC:-cc}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failures=0
missing=()
fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

if [[ ! -x $bin ]] || ! "$bin" run --help >/dev/null 2>&1; then
    echo "skip: \`vitte run\` is not available ($bin)"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "skip: python3 not installed (it checks every export)"
    exit 77
fi
if ! command -v "$cc" >/dev/null; then
    echo "skip: no C compiler ($cc)"
    exit 77
fi

# ---- the program ------------------------------------------------------------------------------
cat >"$tmp/work.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile double sink = 1.0;
static volatile int depth_seen;

#define LOOP(n)                                                                                    \
    double x = 0;                                                                              \
    for (long i = 0; i < (n); i++)                                                             \
        x += (double)i * 1e-9 * sink;                                                          \
    return x

__attribute__((noinline)) static double heavy(long n) { LOOP(n * 6); }
static inline __attribute__((always_inline)) double mix(long n) { LOOP(n); }
__attribute__((noinline)) static double light(long n) { return mix(n) + 1.0; }
__attribute__((noinline)) static double rec(long n, int d)
{
    if (d == 0) {
        LOOP(n);
    }
    double r = rec(n, d - 1);
    depth_seen = d; /* not a tail call */
    return r;
}
__attribute__((noinline)) static double medium(long n) { return rec(n * 3, 4) + 1.0; }

static void *worker(void *arg)
{
    long iters = (long)arg;
    for (int r = 0; r < 10; r++) {
        sink += heavy(iters) * 1e-30;
        sink += medium(iters) * 1e-30;
        sink += light(iters) * 1e-30;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    pthread_t t;
    pthread_create(&t, NULL, worker, (void *)iters);
    worker((void *)iters);
    pthread_join(t, NULL);
    printf("%g\n", sink);
    return 0;
}
EOF
if ! "$cc" -O2 -g -pthread -o "$tmp/work" "$tmp/work.c" 2>"$tmp/cc.err"; then
    sed 's/^/  /' "$tmp/cc.err" | head -n 10
    echo "skip: $cc cannot build the test program"
    exit 77
fi

# ---- recording ----------------------------------------------------------------------------------
prof=$tmp/p.vittrace
if ! timeout 120 "$bin" run --profile -q -o "$prof" -- "$tmp/work" 3000000 >"$tmp/run.out" 2>"$tmp/run.err" ||
    [[ ! -s $prof ]]; then
    sed 's/^/  /' "$tmp/run.err" | head -n 10
    if grep -q -i -E 'perf_event|permi|not allowed|denied|seccomp|LD_PRELOAD' "$tmp/run.err"; then
        echo "skip: no sampler is permitted here"
        exit 77
    fi
    echo "FAIL: vitte run --profile did not record $prof"
    exit 1
fi
echo "ok: vitte run --profile wrote $(stat -c %s "$prof") bytes"

# ---- text ---------------------------------------------------------------------------------------
if ! "$bin" inspect "$prof" >"$tmp/p.txt" 2>"$tmp/p.txt.err"; then
    sed 's/^/  /' "$tmp/p.txt.err" | head -n 5
    fail "vitte inspect (text) failed"
fi
for by in thread module; do
    "$bin" inspect --by "$by" "$prof" >"$tmp/p.$by.txt" 2>/dev/null || fail "vitte inspect --by $by failed"
done
"$bin" inspect -f chrome -o "$tmp/p.json" "$prof" 2>"$tmp/p.json.err" ||
    fail "vitte inspect -f chrome failed: $(head -n 3 "$tmp/p.json.err")"

# The text's tables as JSON: {function: total ns}, and the checks on the
# text itself.
python3 - "$tmp/p.txt" "$tmp/p.thread.txt" "$tmp/p.module.txt" "$tmp/text.json" <<'EOF' || failures=$((failures + 1))
import json, re, sys

text = open(sys.argv[1]).read()
by_thread = open(sys.argv[2]).read()
by_module = open(sys.argv[3]).read()
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)

UNITS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
def table(title):
    """Rows of a function table: {name: (self ns, total ns, samples)}."""
    i = text.find("\n" + title)
    if i < 0:
        return None
    lines = text[i + 1:].split("\n")
    header = lines[1]
    where, func = header.index("where"), header.index("function")
    rows = {}
    for line in lines[2:]:
        if not line.strip() or line.strip().startswith("..."):
            break
        t = line[:where].split()
        name = line[func:]
        rows[name] = (float(t[0]) * UNITS[t[1]], float(t[3]) * UNITS[t[4]], int(t[6]))
    return rows

check("\nprofile (sampled call stacks)\n" in text, "text has a profile section")
m = re.search(r"\nsampler:   (perf|signal), call graph (dwarf|fp), (\d+) Hz asked, ([\d.]+) Hz reached \((\d+) samples in ([\d.]+ \w+) of CPU time\)", text)
check(m is not None, "sampler line: sampler, call graph, asked and reached rates")
if m:
    asked, reached = float(m.group(3)), float(m.group(4))
    print(f"   {m.group(0).strip()}")
    if m.group(1) == "perf":
        check(0.8 * asked <= reached <= 1.2 * asked, f"perf reached {reached:g} Hz of {asked:g} asked")
check(re.search(r"\nsamples:   \d+, lost \d+ \([\d.]+%\), incomplete stacks \d+", text) is not None,
      "samples line: lost and incomplete stacks")
check(re.search(r"\nCPU time:  [\d.]+ \w+ in \d+ samples, 2 threads", text) is not None,
      "CPU time line with 2 threads")
selft, totalt = table("functions by self time"), table("functions by total time")
check(selft is not None and totalt is not None, "functions by self and by total time")
check("\nthreads (CPU time by thread)\n" in text and "\nmodules (self time by module)\n" in text,
      "threads and modules tables")
check("no spans" not in text, "no 'no spans' line for a profile")
check(by_thread.find("\nthreads (") < by_thread.find("\nfunctions by self"), "--by thread: threads first")
check(by_module.find("\nmodules (") < by_module.find("\nfunctions by self"), "--by module: modules first")
if selft and totalt:
    total_ns = float(re.search(r"\nCPU time:  ([\d.]+) (\w+)", text).group(1)) * \
        UNITS[re.search(r"\nCPU time:  ([\d.]+) (\w+)", text).group(2)]
    if "heavy" in selft:
        share = {f: selft.get(f, (0, 0, 0))[0] / total_ns for f in ("heavy", "rec", "light", "mix (inline)")}
        check(0.45 < share["heavy"] < 0.75, f"heavy has {share['heavy']:.1%} self (60% expected)")
        check(0.18 < share["rec"] < 0.42, f"rec has {share['rec']:.1%} self (30% expected)")
        low = share["light"] + share["mix (inline)"]
        check(0.03 < low < 0.2, f"light + mix have {low:.1%} self (10% expected)")
        if "rec" in totalt:
            check(abs(totalt["rec"][1] - selft["rec"][0]) <= 0.002 * totalt["rec"][1] + 1e4,
                  "rec (recursive) total counted once per sample: equals its self time")
        if "worker" in totalt:
            check(totalt["worker"][1] >= 0.97 * total_ns, "worker holds (nearly) all samples")
    else:
        print("note: no symbols in this profile (module+0xoffset names): shares not checked")
json.dump({k: v[1] for k, v in (totalt or {}).items()}, open(sys.argv[4], "w"))
sys.exit(1 if bad else 0)
EOF

# ---- chrome -------------------------------------------------------------------------------------
# The tracks as a consumer reads them: each B/E pair, per track; totals per
# function with nested instances counted once; nesting checked.
python3 - "$tmp/p.json" "$tmp/text.json" "$tmp/chrome.json" <<'EOF' || failures=$((failures + 1))
import json, sys
from collections import defaultdict

doc = json.load(open(sys.argv[1]))
text = json.load(open(sys.argv[2]))
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)

ev = doc["traceEvents"]
od = doc["otherData"]
off = od.get("sample_tid_offset")
check(off == 1 << 30, "otherData.sample_tid_offset is 2^30")
sampler = od["files"][0].get("sampler", {})
check(sampler.get("sampler") in ("perf", "signal") and sampler.get("call_graph") in ("dwarf", "fp")
      and sampler.get("sample_freq", 0) > 0, f"otherData.files[0].sampler: {json.dumps(sampler)}")
check(od.get("samples", 0) > 100, f"otherData.samples = {od.get('samples')}")
names = {e["tid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
tracks = defaultdict(list)
for i, e in enumerate(ev):
    if e["ph"] == "B":
        n = ev[i + 1]
        if n["ph"] != "E" or n["name"] != e["name"] or n["tid"] != e["tid"]:
            bad.append(f"B at {i} not followed by its E")
            continue
        tracks[e["tid"]].append((round(e["ts"] * 1000), round(n["ts"] * 1000), i, e["name"]))
check(len(tracks) == 2 and all(t >= off for t in tracks), "two sample tracks, tids offset by 2^30")
check(all(names.get(t, "").endswith("(CPU samples)") for t in tracks), "tracks named '... (CPU samples)'")
totals = defaultdict(int)
for tid, pairs in tracks.items():
    pairs.sort(key=lambda p: (p[0], p[2]))
    stack = []
    for b, e, i, name in pairs:
        while stack and stack[-1][1] <= b and stack[-1][0] < b:
            stack.pop()
        if stack and e > stack[-1][1]:
            bad.append(f"{name} [{b},{e}] overlaps {stack[-1][3]} on tid {tid}")
        stack.append((b, e, i, name))
    per = defaultdict(list)
    for b, e, i, name in pairs:
        per[name].append((b, e))
    for name, iv in per.items():
        end = None
        for b, e in sorted(iv):
            if end is None or b >= end:
                totals[name] += e - b
                end = e
            elif e > end:
                totals[name] += e - end
                end = e
check(not [b for b in bad if "overlaps" in b or "not followed" in b], "frames nest, B/E adjacent")
mism = []
for name, want in text.items():
    got = totals.get(name, 0)
    if abs(got - want) > want * 0.0006 + 1:
        mism.append(f"{name}: chrome {got} ns, text {want:.0f} ns")
check(not mism and text, f"chrome totals equal the text's for {len(text)} functions" +
      ("" if not mism else ": " + "; ".join(mism[:5])))
json.dump(totals, open(sys.argv[3], "w"))
sys.exit(1 if bad else 0)
EOF

# ---- the consumers --------------------------------------------------------------------------------
have_pkgs=0
if command -v node >/dev/null; then
    if "$cons/setup.sh" --check >/dev/null 2>&1 || "$cons/setup.sh" >/dev/null 2>&1; then
        have_pkgs=1
    else
        missing+=("npm packages of tests/consumers")
    fi
else
    missing+=("node")
fi
if ((have_pkgs)) && [[ -x ${VITTE_CHROMIUM:-/usr/bin/chromium} ]]; then
    if timeout -k 3 60 node "$cons/speedscope_check.js" "$tmp/p.json" --timeout-ms 30000 >"$tmp/ss.json" 2>"$tmp/ss.err"; then
        python3 - "$tmp/ss.json" "$tmp/text.json" <<'EOF' || failures=$((failures + 1))
import json, re, sys
from collections import defaultdict
r = json.load(open(sys.argv[1]))
text = json.load(open(sys.argv[2]))
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)
check(r["ok"] and "Trace Event Format" in (r["importer"] or ""), f"speedscope imported it: {r['importer']}")
check(not r["warnings"], "speedscope printed no warning" + ("" if not r["warnings"] else ": " + str(r["warnings"][:3])))
check(len(r["profiles"]) == 2 and all("CPU samples" in p["name"] for p in r["profiles"]),
      "speedscope: one profile per thread: " + ", ".join(p["name"] for p in r["profiles"]))
tot = defaultdict(float)
for p in r["profiles"]:
    for name, v in p["frames"].items():
        tot[re.sub(r" #\d+$", "", name)] += v["total"] * 1000  # us -> ns
mism = [f"{n}: speedscope {tot.get(n, 0):.0f} ns, text {w:.0f} ns" for n, w in text.items()
        if abs(tot.get(n, 0) - w) > w * 0.0006 + 1]
check(not mism and text, f"speedscope's totals equal the text's for {len(text)} functions" +
      ("" if not mism else ": " + "; ".join(mism[:5])))
sys.exit(1 if bad else 0)
EOF
    else
        sed 's/^/  /' "$tmp/ss.err" | head -n 5
        fail "speedscope could not load the Chrome JSON of a profile: $(head -c 300 "$tmp/ss.json")"
    fi
else
    ((have_pkgs)) && missing+=("chromium")
fi
if ((have_pkgs)); then
    if timeout -k 3 60 node "$cons/trace_engine_check.mjs" "$tmp/p.json" >"$tmp/te.json" 2>"$tmp/te.err"; then
        python3 - "$tmp/te.json" "$tmp/chrome.json" <<'EOF' || failures=$((failures + 1))
import json, sys
from collections import defaultdict
r = json.load(open(sys.argv[1]))
mine = json.load(open(sys.argv[2]))
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)
th = [t for t in r["threads"] if "CPU samples" in (t.get("name") or "")]
check(len(th) == 2, "DevTools' trace engine: two sample tracks")
check(all(not t["dropped"] for t in th), "DevTools' trace engine dropped no frame")
tot = defaultdict(float)
for t in th:
    for name, v in t["functions"].items():
        tot[name] += v["total"] * 1000
mism = [f"{n}: engine {tot.get(n, 0):.0f} ns, tracks {w} ns" for n, w in mine.items()
        if abs(tot.get(n, 0) - w) > w * 1e-6 + 2]
check(not mism, "the engine's totals equal the tracks'" + ("" if not mism else ": " + "; ".join(mism[:5])))
sys.exit(1 if bad else 0)
EOF
    else
        sed 's/^/  /' "$tmp/te.err" | head -n 5
        fail "DevTools' trace engine could not read the Chrome JSON of a profile"
    fi
fi

if ((failures)); then
    if [[ -n ${VITTE_KEEP_EXPORTS:-} ]]; then
        mkdir -p "$VITTE_KEEP_EXPORTS" && cp "$tmp"/p.* "$tmp"/*.json "$VITTE_KEEP_EXPORTS"/ &&
            echo "exports kept in $VITTE_KEEP_EXPORTS"
    fi
    echo "test_export_samples: $failures check(s) failed"
    exit 1
fi
if ((${#missing[@]})); then
    echo "skip: consumers missing: ${missing[*]} (scripts/install-deps.sh installs them)"
    exit 77
fi
echo "test_export_samples: all checks passed"
