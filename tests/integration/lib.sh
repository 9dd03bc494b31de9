# tests/integration/lib.sh - sourced by the CLI integration tests.
#
# Runs the real `chargeback` ($CHARGEBACK, set by CTest) against the real
# PostgreSQL of $CHARGEBACK_TEST_DSN, in scratch databases created here and
# dropped on exit, so tests run in parallel with each other and with the
# unit tests.  Either variable missing is a failure, never a skip.
#
#   run ARGS...          run chargeback; keeps stdout, stderr, exit status
#   expect_status N      the last run exited with N
#   expect_stdout        the last run's stdout is exactly stdin (heredoc)
#   expect_stderr        the same for stderr
#   expect_stderr_match  stderr matches the extended regex $1, whole line
#   scratch_db           create a database; sets SCRATCH_DB, SCRATCH_DSN
#   sql DSN SQL          run SQL through psql, print the result unaligned
#   finish               report; exit 1 if any expectation failed
#
# Each run happens in an empty working directory with CHARGEBACK_DSN,
# CHARGEBACK_CONFIG and libpq's PG* variables unset, so nothing from the
# caller's environment leaks into a golden output.
set -uo pipefail

if [ -z "${CHARGEBACK:-}" ] || [ ! -x "$CHARGEBACK" ]; then
	echo "FAIL: CHARGEBACK must name the chargeback binary (CTest sets it)" >&2
	exit 1
fi
if [ -z "${CHARGEBACK_TEST_DSN:-}" ]; then
	echo "FAIL: CHARGEBACK_TEST_DSN is not set: run scripts/test, or" \
		"scripts/pg-local start; eval \"\$(scripts/pg-local env)\";" \
		"export CHARGEBACK_TEST_DSN=\$CHARGEBACK_DSN" >&2
	exit 1
fi
case $CHARGEBACK_TEST_DSN in
*://*)
	echo "FAIL: CHARGEBACK_TEST_DSN must be keyword=value, not a URI" >&2
	exit 1
	;;
esac
PSQL=$(command -v psql || true)
[ -n "$PSQL" ] || PSQL=$(pg_config --bindir 2>/dev/null)/psql
if [ ! -x "$PSQL" ]; then
	echo "FAIL: psql not found (scripts/bootstrap installs it)" >&2
	exit 1
fi

unset CHARGEBACK_DSN CHARGEBACK_CONFIG PGHOST PGHOSTADDR PGPORT PGDATABASE \
	PGUSER PGSERVICE PGOPTIONS
TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d)
TEST_WORKDIR=$TEST_TMP/work
mkdir -p "$TEST_WORKDIR"
CB_SOURCE_DIR=${CB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
failures=0
checks=0
scratch_dbs=()
last_cmd=

cleanup() {
	for db in "${scratch_dbs[@]}"; do
		sql "$CHARGEBACK_TEST_DSN" "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
	done
	rm -rf "$TEST_TMP"
}
trap cleanup EXIT

sql() { # DSN SQL
	"$PSQL" "$1" -X -q -v ON_ERROR_STOP=1 -tA -c "$2"
}

scratch_db() {
	SCRATCH_DB=cb_it_${TEST_NAME}_$$_${#scratch_dbs[@]}
	sql "$CHARGEBACK_TEST_DSN" "CREATE DATABASE $SCRATCH_DB TEMPLATE template0" ||
		{ echo "FAIL: cannot create database $SCRATCH_DB" >&2; exit 1; }
	scratch_dbs+=("$SCRATCH_DB")
	SCRATCH_DSN="$CHARGEBACK_TEST_DSN dbname=$SCRATCH_DB"
}

run() {
	last_cmd="chargeback $*"
	(cd "$TEST_WORKDIR" && exec "$CHARGEBACK" "$@") \
		>"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr"
	last_status=$?
}

fail() {
	failures=$((failures + 1))
	echo "FAIL: $last_cmd: $*"
}

expect_status() {
	checks=$((checks + 1))
	if [ "$last_status" -ne "$1" ]; then
		fail "exit status $last_status, expected $1"
		sed 's/^/  stderr: /' "$TEST_TMP/stderr"
	fi
}

expect_file() { # which
	checks=$((checks + 1))
	cat >"$TEST_TMP/expected"
	if ! diff -u "$TEST_TMP/expected" "$TEST_TMP/$1" >"$TEST_TMP/diff"; then
		fail "$1 differs (- expected, + actual):"
		sed 's/^/  /' "$TEST_TMP/diff"
	fi
}

expect_stdout() { expect_file stdout; }
expect_stderr() { expect_file stderr; }

expect_stderr_match() {
	checks=$((checks + 1))
	if ! grep -qxE "$1" "$TEST_TMP/stderr"; then
		fail "no stderr line matches /$1/:"
		sed 's/^/  stderr: /' "$TEST_TMP/stderr"
	fi
}

finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$TEST_NAME: $failures of $checks checks failed"
		exit 1
	fi
	echo "$TEST_NAME: all $checks checks passed"
	exit 0
}
