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
cmake --build --preset release --target metrics_demo trace_demo vitte_cli -j2

mkdir -p "$out"
echo
echo "run-example: running build/release/examples/metrics_demo $out"
echo
build/release/examples/metrics_demo "$out"

echo
echo "run-example: tracing build/release/examples/trace_demo to $out/trace_demo.vittrace"
build/release/examples/trace_demo "$out/trace_demo.vittrace"
vitte=build/release/vitte
"$vitte" inspect "$out/trace_demo.vittrace" --format chrome -o "$out/trace_demo.json"
"$vitte" inspect "$out/trace_demo.vittrace" --format svg -o "$out/trace_demo.svg"
echo
"$vitte" inspect "$out/trace_demo.vittrace"

out_abs=$(cd "$out" && pwd)
echo
echo "run-example: done.  The outputs are in $out_abs/:"
echo "  metrics.json         metrics as JSON (docs/formats/metrics-json.md)"
echo "  metrics.csv          CSV, one row per figure (name, type, unit, labels, stat, value)"
echo "  metrics.prom         Prometheus text format; check it with: promtool check metrics < $out_abs/metrics.prom"
echo "  trace_demo.vittrace  the trace (docs/formats/vittrace.md); summarize it: $vitte inspect $out_abs/trace_demo.vittrace"
echo "  trace_demo.json      Chrome trace JSON: open in https://ui.perfetto.dev or speedscope"
echo "  trace_demo.svg       flamegraph: open in a browser (hover, click to zoom, search)"
