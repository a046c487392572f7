#!/usr/bin/env bash
# Install the Debian packages that building vitte and running its tests need.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --list     print the package list and exit
#
# Idempotent and quiet when there is nothing to do: if every package is
# already installed (asked of dpkg-query) apt is not run at all, so this costs
# nothing on a machine that already has everything and needs no root there.
# Otherwise it installs as root, through sudo when not root, without
# questions (DEBIAN_FRONTEND=noninteractive), and runs `apt-get update` only
# when the package lists cannot provide a missing package.
set -euo pipefail

# One line per reason, so that removing a need removes its line.
packages=(
    build-essential cmake pkg-config # compiler, libc headers, make, the build
    git                              # scripts that list files, the source tree in CI
    libcmocka-dev                    # unit-test harness (tests/unit)
    clang-format                     # formatting check in scripts/test.sh
    python3                          # JSON, CSV and Prometheus-text checks in the script tests
    python3-scipy                    # reference statistics for tests/scripts/test_stats_scipy.sh
    libzstd-dev zlib1g-dev           # trace chunk compression and checksums
    libdw-dev libelf-dev             # the profiler: ELF, DWARF unwinding and symbolization (elfutils)
    libprotobuf-c-dev protobuf-c-compiler golang-github-google-pprof-dev # pprof export: profile.proto + protoc-c
    golang-go                        # go tool pprof: the pprof export's consumer
    linux-perf                       # perf record/report: the profiler's peer in tests and bench
    hyperfine                        # vitte bench's peer in tests and bench
    time                             # /usr/bin/time -v: vitte stat's reference in tests
    jq                               # JSON checks in the script tests
    prometheus                       # promtool and a server: the Prometheus export's consumers
    curl                             # talk to that server on 127.0.0.1
    util-linux                       # setarch, to rerun TSan with ASLR off on some kernels
    g++ prometheus-cpp-dev           # the peer client library measured beside vitte in bench/
    chromium                         # headless browser running speedscope and drawing SVGs (tests/consumers)
    nodejs                           # runs the trace consumers: speedscope, DevTools' trace engine
    libxml2-utils                    # xmllint: the flame graph SVG must be XML
)
# npm installs tests/consumers' pinned packages.  NodeSource's nodejs (on the
# build machines) bundles npm and conflicts with Debian's npm package, so ask
# for that package only when no npm is there.
command -v npm >/dev/null || packages+=(npm)

# The npm consumers (tests/consumers/package-lock.json), after the Debian
# packages.  Not fatal: without them only the trace-consumer test skips, and
# it says why.
npm_consumers() {
    local setup
    setup="$(dirname "${BASH_SOURCE[0]}")/../tests/consumers/setup.sh"
    [[ -x $setup ]] || return 0
    "$setup" || echo "install-deps: warning: tests/consumers' npm packages are not installed" >&2
}

if [[ ${1:-} == --list ]]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    # db:Status-Status is "installed" only for a fully installed package
    # (not half-configured, not removed with its config files left).
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages already installed"
    npm_consumers
    exit 0
fi
echo "install-deps: installing ${missing[*]}"

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    as_root=(sudo)
fi
apt_get() {
    # env inside sudo: sudo resets the environment by default.  The lock
    # timeout waits for an unattended-upgrades run instead of failing.
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -y -q -o DPkg::Lock::Timeout=600 "$@"
}

# The lists need refreshing if any missing package has no installable
# candidate (fresh container with empty lists, or a package new to them).
need_update=0
for p in "${missing[@]}"; do
    candidate=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    if [[ -z $candidate || $candidate == "(none)" ]]; then
        need_update=1
        break
    fi
done
if ((need_update)); then
    apt_get update
fi

# --no-install-recommends keeps prometheus and scipy from pulling in hundreds
# of megabytes nothing here uses.  If the lists were stale (a mirror dropped
# the version they name), refresh them once and try again.
if ! apt_get install --no-install-recommends "${missing[@]}"; then
    if ((need_update)); then
        exit 1
    fi
    echo "install-deps: install failed; refreshing the package lists and retrying" >&2
    apt_get update
    apt_get install --no-install-recommends "${missing[@]}"
fi
npm_consumers
echo "install-deps: done"
