#!/usr/bin/env bash
# The test command: everything CI checks, in the order it checks it.
#
#   scripts/test.sh                  dependencies, format, then dev, asan-ubsan, tsan
#   scripts/test.sh dev              the same with only the presets named
#
# 1. scripts/install-deps.sh (a no-op when everything is installed);
# 2. clang-format --dry-run --Werror over every C file of src include tests
#    bench examples fuzz;
# 3. for each preset of CMakePresets.json: configure, build with warnings as
#    errors (-j2), run the whole ctest suite.  asan-ubsan rebuilds everything
#    with AddressSanitizer + UndefinedBehaviorSanitizer, tsan with
#    ThreadSanitizer (halt_on_error=1).  TSan cannot start on kernels that
#    randomize mmap over more bits than it expects (vm.mmap_rnd_bits > 28,
#    "FATAL: ThreadSanitizer: unexpected memory mapping"); the suite is then
#    rerun under `setarch $(uname -m) -R` (ASLR off for it alone).
#
# Every step runs even when an earlier one failed (a format slip should not
# hide a sanitizer report), then a summary; the exit status is 0 only if all
# passed.  Logs of each step: build/test-logs/.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$PWD
logs=$root/build/test-logs
mkdir -p "$logs"

all_presets=(dev asan-ubsan tsan)
presets=("$@")
((${#presets[@]})) || presets=("${all_presets[@]}")
for p in "${presets[@]}"; do
    case " ${all_presets[*]} " in
    *" $p "*) ;;
    *)
        echo "usage: scripts/test.sh [${all_presets[*]// /|}]..." >&2
        exit 2
        ;;
    esac
done

started=$SECONDS
summary=()      # one line per step
failed_steps=() # names of the steps that failed
tests_passed=0 tests_failed=0 tests_skipped=0

banner() {
    printf '\n==== %s ====\n' "$*"
}

# record NAME RC START [DETAIL]
record() {
    local name=$1 rc=$2 start=$3 detail=${4:-} verdict=PASS
    if ((rc != 0)); then
        verdict=FAIL
        failed_steps+=("$name")
    fi
    summary+=("$(printf '  %-4s  %-34s %5ss  %s' "$verdict" "$name" $((SECONDS - start)) "$detail")")
}

# ---- 1. dependencies --------------------------------------------------------
banner "dependencies (scripts/install-deps.sh)"
t=$SECONDS
scripts/install-deps.sh
rc=$?
record "dependencies" $rc $t
if ((rc != 0)); then
    # Nothing below can work without the tools; say so instead of cascading.
    echo "scripts/test.sh: installing the dependencies failed; stopping" >&2
    printf '%s\n' "${summary[@]}"
    exit 1
fi

# ---- 2. formatting ----------------------------------------------------------
banner "format (clang-format --dry-run --Werror)"
t=$SECONDS
mapfile -t c_files < <(
    for d in src include tests bench examples fuzz; do
        [[ -d $d ]] && find "$d" -type f \( -name '*.c' -o -name '*.h' \)
    done | sort
)
clang-format --version
if ((${#c_files[@]} == 0)); then
    echo "no C files found" >&2
    rc=1
else
    clang-format --dry-run --Werror "${c_files[@]}"
    rc=$?
    ((rc == 0)) && echo "${#c_files[@]} files formatted as .clang-format says"
fi
record "format" $rc $t "${#c_files[@]} files"

# ---- 3. build and test, once per preset -----------------------------------

# run_ctest PRESET LOG: ctest, output shown and kept in LOG.
run_ctest() {
    local preset=$1 log=$2
    shift 2
    "$@" ctest --preset "$preset" 2>&1 | tee "$log"
    return "${PIPESTATUS[0]}"
}

# count_tests LOG: add the log's totals to the counters and describe them in
# $detail (a global: a $(...) subshell would lose the counts).
count_tests() {
    local log=$1 line total failed skipped
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [[ -z $line ]]; then
        detail="no ctest summary"
        return 1
    fi
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    skipped=$(grep -cE '\(Skipped\)$' "$log")
    tests_failed=$((tests_failed + failed))
    tests_skipped=$((tests_skipped + skipped))
    tests_passed=$((tests_passed + total - failed - skipped))
    detail="$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
    ((total > 0))
}

for preset in "${presets[@]}"; do
    banner "$preset: configure and build"
    t=$SECONDS
    cmake --preset "$preset" && cmake --build --preset "$preset" -j2
    rc=$?
    record "$preset: configure + build" $rc $t
    if ((rc != 0)); then
        record "$preset: ctest" 1 $SECONDS "not run: the build failed"
        continue
    fi

    banner "$preset: ctest"
    t=$SECONDS
    log=$logs/ctest-$preset.log
    wrap=()
    case $preset in
    asan-ubsan)
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        ;;
    tsan)
        export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
        ;;
    esac
    run_ctest "$preset" "$log" "${wrap[@]}"
    rc=$?
    note=""
    if ((rc != 0)) && [[ $preset != dev ]] &&
        grep -qE 'unexpected memory mapping|Shadow memory range interleaves' "$log"; then
        # The sanitizer could not lay out its shadow memory under this
        # kernel's ASLR: not a finding about our code.  Again, without ASLR.
        wrap=(setarch "$(uname -m)" -R)
        echo
        echo "scripts/test.sh: the $preset runtime could not map its memory (vm.mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo '?'));"
        echo "scripts/test.sh: rerunning the suite under: ${wrap[*]}"
        run_ctest "$preset" "$log" "${wrap[@]}"
        rc=$?
        note=" (under setarch -R)"
    fi
    count_tests "$log" || rc=1
    record "$preset: ctest" $rc $t "$detail$note"
done

# ---- summary ----------------------------------------------------------------
elapsed=$((SECONDS - started))
banner "summary"
printf '%s\n' "${summary[@]}"
echo "logs: $logs"
if ((${#failed_steps[@]})); then
    printf 'scripts/test.sh: FAILED: %s (%dm%02ds)\n' "$(
        IFS=,
        echo "${failed_steps[*]}"
    )" $((elapsed / 60)) $((elapsed % 60))
    status=1
else
    printf 'scripts/test.sh: all checks passed (%dm%02ds)\n' $((elapsed / 60)) $((elapsed % 60))
    status=0
fi
echo "tests: $tests_passed passed, $tests_failed failed, $tests_skipped skipped"
exit $status
