#!/usr/bin/env bash
# Install the npm consumers pinned in tests/consumers/package-lock.json
# (speedscope, @paulirish/trace_engine, playwright-core) into
# tests/consumers/node_modules.
#
#   tests/consumers/setup.sh           install when missing or out of date
#   tests/consumers/setup.sh --check   exit 0 if installed and current, 1 if not
#
# Idempotent: does nothing when node_modules matches the lock file (npm's own
# record, node_modules/.package-lock.json, is compared with it).  Needs node
# and npm (scripts/install-deps.sh); Chromium is a Debian package
# (scripts/install-deps.sh too), playwright-core never downloads a browser
# here.  When npm cannot reach its registry it says so and exits 1 (npm ci
# has removed the stale node_modules by then; the tests then skip).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here" || exit 1

current() {
    # npm ci writes node_modules/.package-lock.json; its "packages" must
    # equal the lock file's, less the root entry.
    [[ -f node_modules/.package-lock.json ]] || return 1
    command -v node >/dev/null || return 1
    node -e '
        const fs = require("fs");
        const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
        const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
        for (const [p, v] of Object.entries(lock)) {
            if (p === "") continue;
            if (!have[p] || have[p].version !== v.version) process.exit(1);
            if (!fs.existsSync(p)) process.exit(1);
        }' 2>/dev/null
}

if [[ ${1:-} == --check ]]; then
    current
    exit
fi
if current; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "consumers/setup: npm not installed (scripts/install-deps.sh installs nodejs and npm)" >&2
    exit 1
fi

echo "consumers/setup: npm ci in $here"
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core has no install step, but
# say it anyway: the browser is Debian's chromium.  No audit, no funding
# messages: both would ask the network for more than the packages.
if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1; then
    grep -v 'Unknown user config' npm-ci.log | tail -n 15 >&2
    echo "consumers/setup: npm ci failed (is the npm registry reachable? offline, the" \
        "consumer checks are skipped)" >&2
    rm -f npm-ci.log
    exit 1
fi
rm -f npm-ci.log
echo "consumers/setup: installed $(node -p 'Object.keys(require("./package.json").dependencies).join(", ")')"
