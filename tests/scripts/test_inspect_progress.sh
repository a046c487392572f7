#!/usr/bin/env bash
# vitte inspect shows its progress on a terminal for large inputs, erases it
# when done, and prints nothing of the kind when stderr is not a terminal.
set -u
build=$(cd "${VITTE_BUILD_DIR:?}" && pwd)
vitte=$(realpath "${VITTE_BIN:?}")
gen=$build/tests/trace_gen
command -v script >/dev/null || {
    echo "skip: script (util-linux) is missing"
    exit 77
}
[[ -x $gen ]] || {
    echo "skip: $gen not built"
    exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$tmp/big.vittrace" 400000 >/dev/null 2>&1
size=$(stat -c %s "$tmp/big.vittrace")
((size > 8 * 1024 * 1024)) || {
    echo "FAIL: trace_gen wrote only $size bytes; need more than 8 MiB"
    exit 1
}
# A terminal for stderr (and stdout), output to a file.
script -qc "'$vitte' inspect '$tmp/big.vittrace' --format folded -o '$tmp/out.folded'" /dev/null \
    >"$tmp/tty.log" 2>&1
rc=0
grep -q 'vitte inspect: reading .*% (.* of .* MB)' "$tmp/tty.log" ||
    { echo "FAIL: no progress line on a terminal"; rc=1; }
grep -q $'\033\[K' "$tmp/tty.log" || { echo "FAIL: the progress line is not erased"; rc=1; }
[[ -s $tmp/out.folded ]] || { echo "FAIL: no output written"; rc=1; }
# Not a terminal: no progress.
"$vitte" inspect "$tmp/big.vittrace" --format folded -o "$tmp/out2.folded" 2>"$tmp/pipe.err"
if grep -q 'reading' "$tmp/pipe.err"; then
    echo "FAIL: progress printed although stderr is not a terminal"
    rc=1
fi
cmp -s "$tmp/out.folded" "$tmp/out2.folded" || { echo "FAIL: the two outputs differ"; rc=1; }
((rc == 0)) && echo "test_inspect_progress: all checks passed ($size-byte trace)"
exit $rc
