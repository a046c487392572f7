#!/usr/bin/env bash
# The cost of one run in `vitte bench`, beside hyperfine, in the same run
# (figures: docs/cli/vitte-bench.md, "Cost").
#
#   bench/bench_bench_cmd.sh [VITTE_BIN] [ROUNDS] [RUNS]
#
# Both tools benchmark the trivial command `true` without a shell (-N), so a
# run is almost only the tool's own spawn and wait.  Each tool is started
# with 200 runs and with 200 + RUNS runs (default 2000); the difference of
# the two whole-process wall times divided by RUNS is the cost of one more
# run, with the tools' start-up, analysis and exit cancelled out (vitte's
# 10,000-resample bootstrap, O(runs), is not, and is included).  The tools
# alternate, ROUNDS times (default 3), and the medians are printed, with the
# mean time each tool reported for `true` (the smaller, the less of the
# tool's own work is counted in a measurement) and the ratios.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vitte=${1:-$here/../build/release/vitte}
rounds=${2:-3}
runs=${3:-2000}
[[ -x $vitte ]] || {
    echo "usage: $0 VITTE_BIN [ROUNDS] [RUNS] (build it first: cmake --preset release)" >&2
    exit 2
}
command -v python3 >/dev/null || {
    echo "$0: python3 is needed to read the JSON exports" >&2
    exit 2
}
have_hf=1
command -v hyperfine >/dev/null || {
    have_hf=0
    echo "note: hyperfine is not installed (apt-get install hyperfine): vitte bench alone"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
small=200
large=$((small + runs))

# whole N JSON: run one tool with N runs; print its wall time in ns
whole() {
    local tool=$1 n=$2 json=$3 t0 t1
    t0=$(date +%s%N)
    if [[ $tool == vitte ]]; then
        "$vitte" bench -q -N -r "$n" --export-json "$json" true
    else
        hyperfine -N -r "$n" --style none --export-json "$json" true >/dev/null 2>&1
    fi
    t1=$(date +%s%N)
    echo $((t1 - t0))
}

mean_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$1"; }

tools=(vitte)
((have_hf)) && tools+=(hyperfine)
declare -A per reported med_per med_mean
for ((r = 0; r < rounds; r++)); do
    for tool in "${tools[@]}"; do
        a=$(whole "$tool" $small "$tmp/s.json")
        b=$(whole "$tool" $large "$tmp/l.json")
        per[$tool]="${per[$tool]:-} $(((b - a) / runs))"
        reported[$tool]="${reported[$tool]:-} $(mean_of "$tmp/l.json")"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "cost of one run of \`true\` (-N): $runs runs more, median of $rounds rounds"
echo "$(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-28s %14s %24s\n' tool "wall per run" "reported mean of true"
for tool in "${tools[@]}"; do
    p=$(echo "${per[$tool]}" | median)
    m=$(echo "${reported[$tool]}" | median)
    label="vitte bench -N"
    [[ $tool == hyperfine ]] && label="hyperfine -N ($(hyperfine --version | cut -d' ' -f2))"
    awk -v l="$label" -v p="$p" -v m="$m" 'BEGIN { printf "  %-28s %11.1f us %21.1f us\n", l, p / 1000, m * 1e6 }'
    med_per[$tool]=$p
    med_mean[$tool]=$m
done
if ((have_hf)); then
    awk -v a="${med_per[vitte]}" -v b="${med_per[hyperfine]}" -v c="${med_mean[vitte]}" \
        -v d="${med_mean[hyperfine]}" \
        'BEGIN { printf "  ratio vitte / hyperfine: %.2f (wall per run), %.2f (reported mean)\n", a / b, c / d }'
fi
