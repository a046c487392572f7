#!/usr/bin/env bash
# The cost of `vitte run --profile` on a CPU-bound program, beside perf
# record, in the same run (docs/benchmarks.md, "Profiling").
#
#   bench/bench_run_profile.sh [VITTE_BIN] [ROUNDS]
#
# The workload is tests/workloads/prof_shares.c (one thread, -O2 -g, no frame
# pointers, about 1.7 s of CPU), built here.  Configurations run interleaved,
# ROUNDS times (default 5); each line gives the median whole-command wall
# time (the profiler's own start, drain, unwinding, symbolization and exit
# included) and its ratio to the program run alone (compare the FP build's
# lines with "plain (FP build)", that binary alone).  perf record's time
# includes writing perf.data only: perf unwinds and symbolizes later, in perf
# report (not timed here), so the comparison favours perf.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/..
vitte=${1:-$src/build/release/vitte}
rounds=${2:-5}
[[ -x $vitte ]] || {
    echo "usage: $0 VITTE_BIN [ROUNDS] (build it first: cmake --preset release)" >&2
    exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cc -O2 -g -fPIC -shared -o libprof_lib.so "$src/tests/workloads/prof_lib.c"
cc -O2 -g -fomit-frame-pointer -o nofp "$src/tests/workloads/prof_shares.c" -L. -lprof_lib \
    -Wl,-rpath,"$tmp" -pthread
cc -O2 -g -fno-omit-frame-pointer -o fp "$src/tests/workloads/prof_shares.c" -L. -lprof_lib \
    -Wl,-rpath,"$tmp" -pthread
units=100

have_perf=0
if command -v perf >/dev/null && perf record -q -F 99 -o probe.data true >/dev/null 2>&1; then
    have_perf=1
fi

names=("plain" "plain (FP build)" "vitte run -p (dwarf, 999 Hz)" "vitte run -p -g fp (FP build)"
    "vitte run -p --sampler signal")
cmds=("./nofp $units 1"
    "./fp $units 1"
    "$vitte run -p -q -o v.vittrace -- ./nofp $units 1"
    "$vitte run -p -q -g fp -o f.vittrace -- ./fp $units 1"
    "$vitte run -p -q --sampler signal -o s.vittrace -- ./nofp $units 1")
if ((have_perf)); then
    names+=("perf record -F 999 -g (FP build)" "perf record -F 999 --call-graph dwarf")
    cmds+=("perf record -q -F 999 -g -o p.data ./fp $units 1"
        "perf record -q -F 999 --call-graph dwarf -o d.data ./nofp $units 1")
fi

declare -A t
for ((r = 0; r < rounds; r++)); do
    for i in "${!cmds[@]}"; do
        t0=$(date +%s%N)
        ${cmds[$i]} >/dev/null 2>&1 || true # the workload exits 7
        t1=$(date +%s%N)
        t[$i]="${t[$i]:-} $(((t1 - t0) / 1000))"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(median <<<"${t[0]}")
echo "vitte run --profile overhead: prof_shares $units units, 1 thread, $rounds interleaved rounds"
echo "machine: $(nproc) CPUs, $(uname -r); whole-command wall time, median"
printf '%-42s %10s %8s\n' "configuration" "wall ms" "ratio"
for i in "${!cmds[@]}"; do
    m=$(median <<<"${t[$i]}")
    awk -v n="${names[$i]}" -v m="$m" -v b="$base" 'BEGIN { printf "%-42s %10.1f %8.3f\n", n, m / 1000, m / b }'
done
for f in v.vittrace f.vittrace s.vittrace; do
    if [[ -e $f ]]; then echo "file $f $(stat -c %s "$f") bytes"; fi
done
if ((have_perf)); then
    for f in p.data d.data; do
        if [[ -e $f ]]; then echo "file $f $(stat -c %s "$f") bytes"; fi
    done
fi
((have_perf)) || echo "(perf record is not usable here: its lines are missing)"
