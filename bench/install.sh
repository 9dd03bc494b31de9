#!/usr/bin/env bash
# bench/install.sh - install the benchmarks' pinned JavaScript references
# (package-lock.json: DuckDB's @duckdb/node-api for bench/ingest) with
# `npm ci`, only when node_modules is missing or older than the lock file.
# bench/ingest runs it before a full run; its smoke run (ctest
# bench.ingest_smoke) does not use DuckDB, so the test suite never needs
# this download.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
stamp=node_modules/.package-lock.json # npm writes it on every install
if [ -s "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] &&
	[ ! package.json -nt "$stamp" ]; then
	exit 0
fi
echo "bench: npm ci (DuckDB's @duckdb/node-api, pinned)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
