#!/usr/bin/env bash
# tests/conformance/install.sh - install the pinned official Azure SDKs
# (package-lock.json) with `npm ci`, only when node_modules is missing or
# older than the lock file.  scripts/test runs it before ctest, and run.sh
# runs it too, so a plain `ctest` works on a fresh checkout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
stamp=node_modules/.package-lock.json # npm writes it on every install
if [ -s "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] &&
	[ ! package.json -nt "$stamp" ]; then
	exit 0
fi
echo "conformance: npm ci (official Azure SDKs, pinned)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
