#!/usr/bin/env bash
# tests/integration/cli.sh - the command line itself: dispatch, help,
# version, usage errors and exit codes (0 ok, 1 failed, 2 usage), and where
# the database connection string comes from.  Exact outputs throughout.
. "$(dirname "$0")/lib.sh"

version=$(sed -n 's/^project(chargeback VERSION \([0-9.]*\).*/\1/p' "$CB_SOURCE_DIR/CMakeLists.txt")
[ -n "$version" ] || { echo "FAIL: no version in CMakeLists.txt"; exit 1; }

# --- version -------------------------------------------------------------
run --version
expect_status 0
expect_stdout <<OUT
chargeback $version
OUT
expect_stderr </dev/null
run version
expect_status 0
expect_stdout <<OUT
chargeback $version
OUT
run --output json version
expect_status 0
expect_stdout <<OUT
{"version":"$version"}
OUT

# --- help: every form prints from the same tables ---------------------------
cat >"$TEST_TMP/main-help" <<'OUT'
usage: chargeback [<options>] <command> [<args>]

Cost, markup and chargeback statements for Microsoft CSP partners.

Commands:
  db         inspect and upgrade the database schema
  sync       record the partner hierarchy from Azure
  ingest     load a month of cost lines into the database
  costs      report the stored cost of a month
  reconcile  tie out a month's invoices against the cost lines
  rate       price a month's cost with the markup rules
  statement  write a month's customer statements
  policy     customers' view charges policies: list, plan, apply
  budget     plan and apply customer budgets
  help       show help for a command
  version    print the version

Options:
      --config FILE    read the configuration from FILE
      --dsn DSN        PostgreSQL connection string or URI
      --output FORMAT  text (default) or json
  -v, --verbose        log more on stderr; repeat for more
      --version        print the version and exit
  -h, --help           show this help and exit

Defaults: --config is $CHARGEBACK_CONFIG, else ./chargeback.cfg if it exists;
--dsn is $CHARGEBACK_DSN, else the configuration's database.dsn, else
libpq's environment (PGHOST, PGDATABASE, ...).  Options go before the command.

Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.
Run 'chargeback help <command>' for the help of a command.
OUT
for form in --help -h help; do
	run $form
	expect_status 0
	expect_stdout <"$TEST_TMP/main-help"
	expect_stderr </dev/null
done

cat >"$TEST_TMP/db-help" <<'OUT'
usage: chargeback db <command>

Inspect and upgrade the database schema.

Commands:
  migrate  apply the migrations the database lacks
  status   show the schema version and every migration
OUT
run help db
expect_status 0
expect_stdout <"$TEST_TMP/db-help"
run db --help
expect_status 0
expect_stdout <"$TEST_TMP/db-help"
run --help db
expect_status 0
expect_stdout <"$TEST_TMP/db-help"

cat >"$TEST_TMP/migrate-help" <<'OUT'
usage: chargeback db migrate

Apply the schema migrations this chargeback carries and the database
lacks, in order, each in its own transaction.  Safe to run again, and
against concurrent runs.  Refuses a database whose schema is newer than
this chargeback, or whose applied migrations differ from it.

Options:
  -h, --help  show this help and exit
OUT
run help db migrate
expect_status 0
expect_stdout <"$TEST_TMP/migrate-help"
# --help needs no database: it is answered before any setup.
run --dsn host=/nonexistent db migrate --help
expect_status 0
expect_stdout <"$TEST_TMP/migrate-help"
expect_stderr </dev/null

run help db status
expect_status 0
expect_stdout <<'OUT'
usage: chargeback db status

Show the database's schema version, the newest this chargeback knows,
and each migration: applied (with the time, UTC), pending, changed
since it was applied, or unknown to this chargeback.  Changes nothing.

Options:
  -h, --help  show this help and exit
OUT
run help version
expect_status 0
expect_stdout <<'OUT'
usage: chargeback version

Print the version of chargeback.

Options:
  -h, --help  show this help and exit
OUT

# --- usage errors: exit 2, the problem, then the usage line ---------------
usage_case() { # expected-stderr-line usage-line args...
	local msg=$1 usage=$2
	shift 2
	run "$@"
	expect_status 2
	expect_stdout </dev/null
	printf '%s\n%s\n' "$msg" "$usage" | expect_stderr
}
top='usage: chargeback [<options>] <command> [<args>]'
usage_case 'chargeback: missing command' "$top"
usage_case "chargeback: unknown command 'frob'" "$top" frob
usage_case "chargeback: unknown option '--bogus'" "$top" --bogus db status
usage_case "chargeback: unknown option '-x'" "$top" -vx db status
usage_case "chargeback: option '--dsn' needs a value (DSN)" "$top" --dsn
usage_case "chargeback: option '--version' takes no value" "$top" --version=2
usage_case "chargeback: --output: 'xml' is not text or json" "$top" --output xml db status
usage_case 'chargeback: db: missing command' 'usage: chargeback db <command>' db
usage_case "chargeback: db: unknown option '-v'" 'usage: chargeback db <command>' db -v migrate
usage_case "chargeback: db: unknown command 'frob'" 'usage: chargeback db <command>' db frob
usage_case "chargeback: db status: unexpected argument 'extra'" 'usage: chargeback db status' db status extra
usage_case "chargeback: db migrate: unknown option '--dry-run'" 'usage: chargeback db migrate' db migrate --dry-run
usage_case "chargeback: help: unknown command 'db frob'" 'usage: chargeback help [<command>...]' help db frob
usage_case "chargeback: version: unexpected argument 'now'" 'usage: chargeback version' version now

# --- where the connection string comes from ---------------------------------
# --dsn, else $CHARGEBACK_DSN, else the configuration, else libpq's own
# environment.  Each step is shown by which database answers.
scratch_db
# The marker is far ahead of any real migration (999), so it stays "newer".
sql "$SCRATCH_DSN" "CREATE SCHEMA chargeback; CREATE TABLE chargeback.schema_migration (version int, name text, checksum text, chargeback_version text, applied_at timestamptz); INSERT INTO chargeback.schema_migration VALUES (999, 'marker', 'x', 'x', '2026-01-01 00:00:00+00')"
marked=$SCRATCH_DSN
marked_db=$SCRATCH_DB
known=$(cd "$CB_SOURCE_DIR/sql/migrations" && ls [0-9][0-9][0-9]_*.sql | wc -l)
plural=s
[ "$known" -eq 1 ] && plural=
first_line="schema version 999 (this chargeback knows $known): the database is newer: upgrade chargeback"

CHARGEBACK_DSN=$marked run db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "CHARGEBACK_DSN not used"

CHARGEBACK_DSN=host=/nonexistent run --dsn "$marked" db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "--dsn does not beat CHARGEBACK_DSN"

CHARGEBACK_DSN="$marked" run --dsn host=/nonexistent db status
expect_status 1
expect_stderr <<'OUT'
chargeback: db status: database: connection to server on socket "/nonexistent/.s.PGSQL.5432" failed: No such file or directory
OUT

# Nothing given: libpq's environment decides.
pghost=$(sql "$CHARGEBACK_TEST_DSN" "SELECT CASE WHEN inet_server_addr() IS NULL THEN split_part(current_setting('unix_socket_directories'), ',', 1) ELSE host(inet_server_addr()) END")
pgport=$(sql "$CHARGEBACK_TEST_DSN" "SELECT current_setting('port')")
pguser=$(sql "$CHARGEBACK_TEST_DSN" "SELECT current_user")
PGHOST=$pghost PGPORT=$pgport PGUSER=$pguser PGDATABASE=$marked_db run db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "libpq environment not used"
CHARGEBACK_DSN= PGHOST=$pghost PGPORT=$pgport PGUSER=$pguser PGDATABASE=$marked_db run db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "empty CHARGEBACK_DSN is not 'unset'"

# --- the configuration file ---------------------------------------------------
# --config FILE and $CHARGEBACK_CONFIG must exist; ./chargeback.cfg is read
# when present.  Only commands that need it read it.
run --config missing.cfg db status
expect_status 1
expect_stdout </dev/null
expect_stderr <<'OUT'
chargeback: db status: cannot read 'missing.cfg': No such file or directory
OUT
CHARGEBACK_CONFIG=/nonexistent/chargeback.cfg run db status
expect_status 1
expect_stderr <<'OUT'
chargeback: db status: cannot read '/nonexistent/chargeback.cfg': No such file or directory
OUT

printf 'database = { dsn = "%s"; };\n' "$marked" >"$TEST_WORKDIR/marked.cfg"
printf 'database = { dsn = "host=/nonexistent"; };\n' >"$TEST_WORKDIR/chargeback.cfg"
run db status
expect_status 1
expect_stderr <<'OUT'
chargeback: db status: database: connection to server on socket "/nonexistent/.s.PGSQL.5432" failed: No such file or directory
OUT
run --config marked.cfg db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "--config does not beat ./chargeback.cfg"
CHARGEBACK_CONFIG=marked.cfg run db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "CHARGEBACK_CONFIG does not beat ./chargeback.cfg"
CHARGEBACK_CONFIG=chargeback.cfg run --config marked.cfg db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "--config does not beat CHARGEBACK_CONFIG"
CHARGEBACK_DSN=$marked run db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "CHARGEBACK_DSN does not beat database.dsn"
run --dsn "$marked" db status
expect_status 0
[ "$(head -n 1 "$TEST_TMP/stdout")" = "$first_line" ] || fail "--dsn does not beat database.dsn"

# The configuration's log settings apply, raised by -v.
scratch_db
printf 'database = { dsn = "%s"; };\nlog = { format = "json"; };\n' "$SCRATCH_DSN" >"$TEST_WORKDIR/chargeback.cfg"
run -v db migrate
expect_status 0
expect_stdout <<OUT
applied $known migration$plural; schema version $known
OUT
expect_stderr_match '\{"ts":"[0-9T:.-]+Z","level":"info","component":"store","msg":"applied migration 001_partner_hierarchy in [0-9]+ ms"\}'

# A broken file stops the commands that read it, and only those.
printf 'bogus = 1;\n' >"$TEST_WORKDIR/chargeback.cfg"
run db status
expect_status 1
expect_stderr <<'OUT'
chargeback: db status: chargeback.cfg:1: unknown key 'bogus'
OUT
run version
expect_status 0
expect_stdout <<OUT
chargeback $version
OUT

finish
