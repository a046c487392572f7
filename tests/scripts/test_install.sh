#!/usr/bin/env bash
# `cmake --install` gives a usable package: headers under include/vitte/,
# both libraries, vitte.pc and a CMake package, and a working `vitte`.  Each
# is proven by the way people use it: a program outside the tree built with
# pkg-config (shared, then static against libvitte.a), a CMake project with
# find_package(vitte), and the installed command run.
#
# Environment (set by ctest): VITTE_SOURCE_DIR, CC, VITTE_SANITIZE; 77 = skip.
set -uo pipefail

if [[ -n ${VITTE_SANITIZE:-} ]]; then
    # An outside program would need the sanitizer runtime on its link line.
    echo "skip: sanitized build ($VITTE_SANITIZE); the dev preset tests the install"
    exit 77
fi
src=${VITTE_SOURCE_DIR:?VITTE_SOURCE_DIR not set}
cc=${CC:-cc}
for tool in cmake pkg-config "$cc"; do
    if ! command -v "$tool" >/dev/null; then
        echo "skip: $tool not installed"
        exit 77
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
failures=0

fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
}
# step LOG_NAME COMMAND...: run quietly; on failure show the log and stop.
step() {
    local log=$tmp/$1.log
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "FAIL: $*"
        tail -n 40 "$log"
        exit 1
    fi
}

# ---- a separate, minimal build of the source tree, installed -----------------------
step configure cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DVITTE_BUILD_TESTS=OFF -DVITTE_BUILD_BENCH=OFF -DVITTE_BUILD_EXAMPLES=OFF
step build cmake --build "$tmp/build" -j2
step install cmake --install "$tmp/build"

for h in vitte.h common.h version.h clock.h metrics.h; do
    [[ -f $prefix/include/vitte/$h ]] || fail "include/vitte/$h not installed"
done
pc=$(find "$prefix" -name vitte.pc -path '*/pkgconfig/*' | head -n 1)
cmake_dir=$(find "$prefix" -name vitteConfig.cmake -printf '%h\n' | head -n 1)
[[ -n $pc ]] || fail "vitte.pc not installed"
[[ -n $cmake_dir ]] || fail "vitteConfig.cmake not installed"
libdir=$(find "$prefix" -name 'libvitte.so*' -printf '%h\n' | head -n 1)
[[ -n $libdir && -f $libdir/libvitte.a ]] || fail "libvitte.so and libvitte.a not installed side by side"
if ((failures)); then
    find "$prefix" | sort
    exit 1
fi
export PKG_CONFIG_PATH=${pc%/*}

# ---- an outside program ------------------------------------------------------------
mkdir -p "$tmp/outside"
cat >"$tmp/outside/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <vitte/vitte.h>

int main(void)
{
    if (vitte_version() != VITTE_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library %s\n", VITTE_VERSION_STRING, vitte_version_string());
        return 1;
    }
    vitte_timer t = vitte_timer_start("outside");
    vitte_metrics *m = vitte_metrics_create();
    vitte_counter_add(vitte_metrics_counter(m, "outside_total", "built outside the tree", NULL), 3);
    vitte_timer_stop(&t);
    if (vitte_metrics_insert_timer(m, &t) != VITTE_OK)
        return 1;
    char *json = vitte_metrics_to_json(m);
    vitte_metrics_destroy(m);
    if (json == NULL)
        return 1;
    printf("%s\n", json);
    free(json);
    return 0;
}
EOF
cd "$tmp/outside" || exit 1

# Shared: exactly the README's line.
step cc-shared sh -c "$cc prog.c \$(pkg-config --cflags --libs vitte) -o prog"
if LD_LIBRARY_PATH=$libdir ./prog >prog.out 2>&1 && grep -q outside_total prog.out; then
    echo "ok: pkg-config, shared: $(pkg-config --cflags --libs vitte)"
else
    fail "the pkg-config (shared) program did not run or print its counter"
    cat prog.out
fi

# Static: pkg-config --static adds the private dependencies (-lpthread -lm);
# -l:libvitte.a picks the archive where -lvitte would prefer the .so.
static_libs=$(pkg-config --static --libs vitte | sed 's/-lvitte\b/-l:libvitte.a/')
step cc-static sh -c "$cc prog.c \$(pkg-config --cflags vitte) $static_libs -o prog_static"
if readelf -d prog_static | grep -q 'libvitte'; then
    fail "prog_static still needs libvitte.so: $(readelf -d prog_static | grep NEEDED)"
elif ./prog_static >prog_static.out 2>&1 && grep -q outside_total prog_static.out; then
    echo "ok: pkg-config --static, against libvitte.a: $static_libs"
else
    fail "the static program did not run or print its counter"
    cat prog_static.out
fi

# ---- a CMake project using find_package -------------------------------------------
mkdir -p "$tmp/cmake-project"
cp prog.c "$tmp/cmake-project/"
cat >"$tmp/cmake-project/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.21)
project(outside LANGUAGES C)
find_package(vitte 0.1 REQUIRED)
add_executable(p prog.c)
target_link_libraries(p vitte::vitte)
add_executable(p_static prog.c)
target_link_libraries(p_static vitte::vitte_static)
EOF
step cmake-configure cmake -S "$tmp/cmake-project" -B "$tmp/cmake-build" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc"
step cmake-build cmake --build "$tmp/cmake-build"
# No LD_LIBRARY_PATH: CMake puts the imported library's directory in the
# build-tree RPATH, as it does for any consumer.
for p in p p_static; do
    if "$tmp/cmake-build/$p" >"$p.out" 2>&1 && grep -q outside_total "$p.out"; then
        echo "ok: find_package(vitte), $p"
    else
        fail "the find_package program $p did not run"
        cat "$p.out"
    fi
done

# ---- the installed command -----------------------------------------------------------
if [[ -x $prefix/bin/vitte ]]; then
    # No LD_LIBRARY_PATH: its RPATH ($ORIGIN/../lib...) must find the library.
    if "$prefix/bin/vitte" --version >version.out 2>&1 &&
        grep -qx "vitte $(pkg-config --modversion vitte)" version.out; then
        echo "ok: installed $(head -n 1 version.out)"
    else
        fail "installed vitte --version failed or disagrees with vitte.pc"
        cat version.out
    fi
else
    fail "bin/vitte not installed"
fi

echo "test_install: $failures failed"
((failures == 0))
