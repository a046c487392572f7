#!/usr/bin/env bash
# The main job: install what is needed, build vitte, run the bundled example.
#
#   scripts/run-example.sh [OUTPUT_DIR]        (default: out, in the current directory)
#
# examples/metrics_demo.c times a computation, counts labelled requests from
# four threads, records request sizes in a histogram, keeps gauges, counts
# frames with a meter and their rates in a series; then writes the registry
# to OUTPUT_DIR as metrics.json, metrics.csv and metrics.prom (Prometheus
# text) and prints a summary.  Builds in build/release (an optimized build:
# the timings it prints are then meaningful).
set -euo pipefail

# A relative OUTPUT_DIR is relative to where the script was started from.
out=${1:-out}
[[ $out == /* ]] || out=$PWD/$out
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

echo "run-example: building (build/release)"
cmake --preset release >/dev/null
cmake --build --preset release --target metrics_demo -j2

echo
echo "run-example: running build/release/examples/metrics_demo $out"
echo
build/release/examples/metrics_demo "$out"

out_abs=$(cd "$out" && pwd)
echo
echo "run-example: done.  The metrics are in $out_abs/:"
echo "  metrics.json  JSON (docs/formats/metrics-json.md)"
echo "  metrics.csv   CSV, one row per figure (name, type, unit, labels, stat, value)"
echo "  metrics.prom  Prometheus text format; check it with: promtool check metrics < $out_abs/metrics.prom"
