#!/usr/bin/env bash
# The main job: install what is needed, build vitte, run the bundled examples.
#
#   scripts/run-example.sh [OUTPUT_DIR]        (default: out, in the current directory)
#
# 1. examples/metrics_demo.c times a computation, counts labelled requests from
#    four threads, records request sizes in a histogram, keeps gauges, counts
#    frames with a meter and their rates in a series; it writes the registry
#    to OUTPUT_DIR as metrics.json, metrics.csv and metrics.prom (Prometheus
#    text) and prints a summary.
# 2. examples/trace_demo.c, a small parallel "build" (a scheduler and four
#    workers, nested spans, async jobs, flows, counters, arguments), is traced
#    to OUTPUT_DIR/trace_demo.vittrace; `vitte inspect` then writes its Chrome
#    trace JSON (trace_demo.json: open it in https://ui.perfetto.dev,
#    chrome://tracing or speedscope), its flamegraph (trace_demo.svg: open it
#    in a browser) and prints its summary.
# 3. examples/session_demo.c runs a performance session (timings, system
#    metrics, an fps series) and writes OUTPUT_DIR/performance_reports/
#    session_demo/report.json, report.md, flamegraph.svg and trace.vittrace.
# 4. examples/profile_demo.c, an ordinary program that knows nothing of vitte
#    (word counting and sorting in two threads, built -O2 without frame
#    pointers), is profiled with `vitte run --profile` into
#    OUTPUT_DIR/profile_demo.vittrace; `vitte inspect` then writes its flame
#    graph (profile_demo.svg), a pprof profile (profile_demo.pb.gz, for
#    `go tool pprof`), a Chrome trace (profile_demo.json) and prints the top
#    functions.
# Builds in build/release (an optimized build: the timings it prints are then
# meaningful).
set -euo pipefail

# A relative OUTPUT_DIR is relative to where the script was started from.
out=${1:-out}
[[ $out == /* ]] || out=$PWD/$out
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

echo "run-example: building (build/release)"
cmake --preset release >/dev/null
cmake --build --preset release --target metrics_demo trace_demo profile_demo session_demo vitte_cli -j2

mkdir -p "$out"
echo
echo "run-example: running build/release/examples/metrics_demo $out"
echo
build/release/examples/metrics_demo "$out"

echo
echo "run-example: running build/release/examples/session_demo $out/performance_reports"
build/release/examples/session_demo "$out/performance_reports"
echo "run-example: session files in $out/performance_reports/session_demo (report.md, report.json, flamegraph.svg, trace.vittrace)"

echo
echo "run-example: tracing build/release/examples/trace_demo to $out/trace_demo.vittrace"
build/release/examples/trace_demo "$out/trace_demo.vittrace"
vitte=build/release/vitte
"$vitte" inspect "$out/trace_demo.vittrace" --format chrome -o "$out/trace_demo.json"
"$vitte" inspect "$out/trace_demo.vittrace" --format svg -o "$out/trace_demo.svg"
echo
"$vitte" inspect "$out/trace_demo.vittrace"

echo
echo "run-example: profiling build/release/examples/profile_demo (vitte run --profile)"
"$vitte" run --profile -o "$out/profile_demo.vittrace" -- build/release/examples/profile_demo
"$vitte" inspect "$out/profile_demo.vittrace" --format svg --title "profile_demo" -o "$out/profile_demo.svg"
"$vitte" inspect "$out/profile_demo.vittrace" --format pprof -o "$out/profile_demo.pb.gz"
"$vitte" inspect "$out/profile_demo.vittrace" --format chrome -o "$out/profile_demo.json"
echo
"$vitte" inspect "$out/profile_demo.vittrace"

out_abs=$(cd "$out" && pwd)
echo
echo "run-example: done.  The outputs are in $out_abs/:"
echo "  metrics.json         metrics as JSON (docs/formats/metrics-json.md)"
echo "  metrics.csv          CSV, one row per figure (name, type, unit, labels, stat, value)"
echo "  metrics.prom         Prometheus text format; check it with: promtool check metrics < $out_abs/metrics.prom"
echo "  trace_demo.vittrace  the trace (docs/formats/vittrace.md); summarize it: $vitte inspect $out_abs/trace_demo.vittrace"
echo "  trace_demo.json      Chrome trace JSON: open in https://ui.perfetto.dev or speedscope"
echo "  trace_demo.svg       flamegraph: open in a browser (hover, click to zoom, search)"
echo "  performance_reports/session_demo/  a session's report.json, report.md, flamegraph.svg, trace.vittrace"
echo "  profile_demo.vittrace  samples of profile_demo's stacks; summarize: $vitte inspect $out_abs/profile_demo.vittrace"
echo "  profile_demo.svg     its flame graph: open in a browser"
echo "  profile_demo.pb.gz   pprof profile: go tool pprof -top $out_abs/profile_demo.pb.gz"
echo "  profile_demo.json    Chrome trace of the samples: https://ui.perfetto.dev or speedscope"
