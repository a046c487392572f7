#!/usr/bin/env bash
# The pprof export read by the real consumer, `go tool pprof` (Go 1.19 on
# Debian 12; /work/shared/reference/consumers.md section 2).
#
# tests/tools/internal/pprof_gen.c writes a profile from known synthetic
# samples through the export sink (1000 x 1 ms CPU samples: vec_dot inlined
# into compute 60%, parse 30%, copy_bytes 10%; threads "main" tid 1001 and
# "worker" tid 1002; see its header), and pprof must show:
#   -top        the flat shares, cumulative times, type and duration;
#   -traces     the inline frame marked "(inline)" above the function it was
#               inlined into, and the thread labels;
#   -tagfocus   thread=worker (a string label) and tid=1001 (a number label)
#               selecting those threads' samples only;
#   -raw        the mappings with their build ids and has_* flags;
#   default     no attempt to re-symbolize (the has_* flags say it is done);
# and an empty profile (no samples) reads as a valid empty profile with its
# warning in the comments.  A truncated file must be rejected (the checker
# can fail).
#
# Environment (set by ctest): VITTE_BUILD_DIR.  Exit 77 = skipped: go or the
# tool missing.  go runs offline (GOPROXY=off, GOTOOLCHAIN=local) with HOME
# and caches in a temporary directory.
set -uo pipefail

gen=${VITTE_BUILD_DIR:-}/tests/pprof_gen
if [[ -z ${VITTE_BUILD_DIR:-} || ! -x $gen ]]; then
    echo "skip: $gen not built (VITTE_BUILD_DIR=${VITTE_BUILD_DIR:-unset})"
    exit 77
fi
if ! command -v go >/dev/null; then
    echo "skip: go not installed (apt-get install golang-go)"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/bin"
export HOME=$tmp/home GOCACHE=$tmp/home/gocache GOPATH=$tmp/home/go GOTOOLCHAIN=local \
    GOPROXY=off GOFLAGS='' PPROF_TMPDIR=$tmp/home PPROF_BINARY_PATH=$tmp/bin

failures=0
fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

# pp NAME ARGS...: go tool pprof ARGS into $tmp/NAME (stderr $tmp/NAME.err);
# its status returned.
pp() {
    local name=$1
    shift
    timeout -k 5 120 go tool pprof "$@" >"$tmp/$name" 2>"$tmp/$name.err"
}

# expect_has FILE REGEX WHAT: FILE has a line matching REGEX (grep -E).
expect_has() {
    grep -Eq -- "$2" "$tmp/$1" || fail "$3: no line matching /$2/ in:$(sed 's/^/\n    /' "$tmp/$1")"
}

# top_row FILE NAME: "flat flat% cum cum%" of the -top row for NAME ("-" if none).
top_row() {
    awk -v name="$2" '
        started {
            n = $6; for (i = 7; i <= NF; i++) n = n " " $i
            if (n == name) { print $1, $2, $4, $5; found = 1; exit }
        }
        $1 == "flat" && $2 == "flat%" { started = 1 }
        END { if (!found) print "-" }' "$tmp/$1"
}

# expect_row FILE NAME "FLAT FLAT% CUM CUM%" WHAT
expect_row() {
    local got
    got=$(top_row "$1" "$2")
    [[ $got == "$3" ]] || fail "$4: $2: expected '$3', pprof shows '$got'"
}

if ! "$gen" "$tmp/demo.pb.gz" 2>"$tmp/gen.err"; then
    fail "pprof_gen: $(cat "$tmp/gen.err")"
    exit 1
fi
if [[ -s $tmp/gen.err ]]; then
    fail "pprof_gen warned: $(cat "$tmp/gen.err")"
fi

# ---- -top: flat shares ---------------------------------------------------------------
echo "== go tool pprof -top"
if pp top -top -symbolize=none "$tmp/demo.pb.gz"; then
    sed 's/^/  /' "$tmp/top"
    expect_has top '^File: demo$' "-top"
    expect_has top '^Build ID: 0123456789abcdef0123456789abcdef01234567$' "-top"
    expect_has top '^Type: cpu$' "-top"
    expect_has top '^Duration: 1s, Total samples = 1000ms' "-top"
    expect_row top "vec_dot (inline)" "600ms 60.00% 600ms 60.00%" "-top"
    expect_row top "parse" "300ms 30.00% 300ms 30.00%" "-top"
    expect_row top "copy_bytes" "100ms 10.00% 100ms 10.00%" "-top"
    expect_row top "compute" "0 0% 700ms 70.00%" "-top"
    expect_row top "main" "0 0% 1000ms 100%" "-top"
else
    fail "-top exited non-zero: $(cat "$tmp/top.err")"
fi

# ---- -traces: the inline frame -------------------------------------------------------
echo "== go tool pprof -traces"
if pp traces -traces -symbolize=none "$tmp/demo.pb.gz"; then
    # After the header, blocks between dashed lines: labels, then
    # "<value>   <leaf>" and its callers, one frame a line.
    blocks=$(awk '
        /^-+\+-+$/ { if (b != "") print b; b = ""; body = 1; next }
        body { sub(/^ +/, ""); gsub(/ +/, " "); b = b (b == "" ? "" : "|") $0 }
        END { if (b != "") print b }' "$tmp/traces")
    printf '%s\n' "$blocks" | sed 's/^/  /'
    want=(
        "thread: main|pid: 4242|tid: 1001|400ms vec_dot (inline)|compute|main"
        "thread: worker|pid: 4242|tid: 1002|200ms vec_dot (inline)|compute|main"
        "thread: worker|pid: 4242|tid: 1002|300ms parse|main"
        "thread: main|pid: 4242|tid: 1001|100ms copy_bytes|compute|main"
    )
    for w in "${want[@]}"; do
        grep -Fxq -- "$w" <<<"$blocks" || fail "-traces: no block '$w'"
    done
    n=$(grep -c . <<<"$blocks")
    ((n == 4)) || fail "-traces: $n blocks, expected 4"
else
    fail "-traces exited non-zero: $(cat "$tmp/traces.err")"
fi

# ---- -tagfocus: threads --------------------------------------------------------------
echo "== go tool pprof -tagfocus"
if pp worker -top -symbolize=none -tagfocus=thread=worker "$tmp/demo.pb.gz"; then
    expect_has worker '^Showing nodes accounting for 500ms, 50.00% of 1000ms total' \
        "-tagfocus=thread=worker"
    expect_row worker "parse" "300ms 30.00% 300ms 30.00%" "-tagfocus=thread=worker"
    expect_row worker "vec_dot (inline)" "200ms 20.00% 200ms 20.00%" "-tagfocus=thread=worker"
    expect_row worker "copy_bytes" "-" "-tagfocus=thread=worker"
    echo "  thread=worker: $(top_row worker parse | cut -d' ' -f1) parse," \
        "$(top_row worker "vec_dot (inline)" | cut -d' ' -f1) vec_dot"
else
    fail "-tagfocus=thread=worker exited non-zero: $(cat "$tmp/worker.err")"
fi
if pp tid -top -symbolize=none -tagfocus=tid=1001 "$tmp/demo.pb.gz"; then
    expect_has tid '^Showing nodes accounting for 500ms, 50.00% of 1000ms total' "-tagfocus=tid=1001"
    expect_row tid "vec_dot (inline)" "400ms 40.00% 400ms 40.00%" "-tagfocus=tid=1001"
    expect_row tid "copy_bytes" "100ms 10.00% 100ms 10.00%" "-tagfocus=tid=1001"
    expect_row tid "parse" "-" "-tagfocus=tid=1001"
    echo "  tid=1001: $(top_row tid "vec_dot (inline)" | cut -d' ' -f1) vec_dot," \
        "$(top_row tid copy_bytes | cut -d' ' -f1) copy_bytes"
else
    fail "-tagfocus=tid=1001 exited non-zero: $(cat "$tmp/tid.err")"
fi

# ---- -raw: mappings ---------------------------------------------------------------------
echo "== go tool pprof -raw"
if pp raw -raw -symbolize=none "$tmp/demo.pb.gz"; then
    sed -n '/^Mappings/,$p' "$tmp/raw" | sed 's/^/  /'
    expect_has raw '^PeriodType: cpu nanoseconds$' "-raw"
    expect_has raw '^Period: 1000000$' "-raw"
    expect_has raw '^samples/count cpu/nanoseconds$' "-raw"
    expect_has raw \
        '^1: 0x555555554000/0x555555580000/0x0 /usr/bin/demo 0123456789abcdef0123456789abcdef01234567 \[FN\]\[FL\]\[LN\]\[IN\]$' \
        "-raw"
    expect_has raw '^2: 0x7ffff7e00000/0x7ffff7f00000/0x1000 /usr/lib/libfast.so feedfacecafe \[FN\]$' \
        "-raw"
else
    fail "-raw exited non-zero: $(cat "$tmp/raw.err")"
fi

# ---- default options: no re-symbolization attempt ------------------------------------
if pp default -top "$tmp/demo.pb.gz"; then
    if grep -qi 'symboliz' "$tmp/default.err"; then
        fail "pprof tried to symbolize: $(cat "$tmp/default.err")"
    fi
else
    fail "-top (default symbolization) exited non-zero: $(cat "$tmp/default.err")"
fi

# ---- an empty profile ------------------------------------------------------------------
echo "== empty profile"
"$gen" --empty "$tmp/empty.pb.gz" 2>"$tmp/gen-empty.err" || fail "pprof_gen --empty failed"
grep -q 'no stack samples' "$tmp/gen-empty.err" || fail "pprof_gen --empty: no warning reported"
if pp empty -top -symbolize=none "$tmp/empty.pb.gz"; then
    expect_has empty 'Total samples = 0' "empty -top"
else
    fail "empty profile rejected: $(cat "$tmp/empty.err")"
fi
if pp empty-comments -comments "$tmp/empty.pb.gz"; then
    expect_has empty-comments '^warning: no stack samples' "empty -comments"
    sed 's/^/  /' "$tmp/empty-comments"
else
    fail "-comments on the empty profile exited non-zero: $(cat "$tmp/empty-comments.err")"
fi

# ---- the checker can fail -----------------------------------------------------------------
size=$(stat -c %s "$tmp/demo.pb.gz")
head -c $((size / 2)) "$tmp/demo.pb.gz" >"$tmp/cut.pb.gz"
if pp cut -top -symbolize=none "$tmp/cut.pb.gz"; then
    fail "pprof accepted a truncated profile: the checks above prove nothing"
else
    echo "== truncated file rejected: $(head -n 1 "$tmp/cut.err")"
fi

if ((failures != 0)); then
    echo "$failures failure(s)"
    exit 1
fi
echo "ok: go tool pprof reads the pprof export as expected"
