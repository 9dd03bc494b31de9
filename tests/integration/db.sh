#!/usr/bin/env bash
# tests/integration/db.sh - `chargeback db migrate|status` end to end:
# exact stdout, stderr and exit status, against a scratch database.
. "$(dirname "$0")/lib.sh"

scratch_db
db=$SCRATCH_DSN
checksum=$(sha256sum "$CB_SOURCE_DIR/sql/migrations/001_partner_hierarchy.sql" | cut -c1-12)

# The embedded migrations, from the folder they are built from, so adding
# one (sync 002, policy 003, budget 004...) does not rewrite this test.
mapfile -t migrations < <(cd "$CB_SOURCE_DIR/sql/migrations" && ls [0-9][0-9][0-9]_*.sql | sed 's/\.sql$//')
known=$((10#${migrations[-1]%%_*}))
plural=s
[ "$known" -eq 1 ] && plural=
rows() { # STATE AT [NAME STATE AT]...: `db status` rows, embedded ones first
	local state=$1 at=$2 w=0 n i
	shift 2
	local extra=("$@") all=("${migrations[@]}")
	for ((i = 0; i < ${#extra[@]}; i += 3)); do all+=("${extra[i]}"); done
	for n in "${all[@]}"; do [ ${#n} -gt $w ] && w=${#n}; done
	for n in "${migrations[@]}"; do row "$w" "$n" "$state" "$at"; done
	for ((i = 0; i < ${#extra[@]}; i += 3)); do
		row "$w" "${extra[i]}" "${extra[i + 1]}" "${extra[i + 2]}"
	done
}
row() { # WIDTH NAME STATE AT
	if [ -n "$4" ]; then printf '%-*s  %-7s  %s\n' "$1" "$2" "$3" "$4"
	else printf '%-*s  %s\n' "$1" "$2" "$3"; fi
}
json_rows() { # STATE AT(or null): the embedded migrations as JSON objects
	local n sep= at=$2
	[ "$at" = null ] || at="\"$at\""
	for n in "${migrations[@]}"; do
		printf '%s{"version":%d,"name":"%s","state":"%s","applied_at":%s}' \
			"$sep" $((10#${n%%_*})) "${n#*_}" "$1" "$at"
		sep=,
	done
}

# An empty database: everything pending, nothing created by looking.
run --dsn "$db" db status
expect_status 0
expect_stdout <<OUT
schema version 0 (this chargeback knows $known): migrations pending: run 'chargeback db migrate'
$(rows pending "")
OUT
expect_stderr </dev/null
run --dsn "$db" --output json db status
expect_status 0
expect_stdout <<OUT
{"schema_version":0,"known_version":$known,"status":"pending","migrations":[$(json_rows pending null)]}
OUT
[ "$(sql "$db" "SELECT count(*) FROM pg_namespace WHERE nspname = 'chargeback'")" = 0 ] ||
	fail "db status created the schema"

# Migrate, with -v showing what was applied.
run --dsn "$db" -v db migrate
expect_status 0
expect_stdout <<OUT
applied $known migration$plural; schema version $known
OUT
expect_stderr_match '[0-9T:.-]+Z info store: applied migration 001_partner_hierarchy in [0-9]+ ms'
expect_stderr_match '[0-9T:.-]+Z info store: applied migration 002_sync in [0-9]+ ms'

# Again: nothing to do, in both formats.
run --dsn "$db" db migrate
expect_status 0
expect_stdout <<OUT
schema version $known is up to date; nothing to apply
OUT
expect_stderr </dev/null
run --dsn "$db" --output json db migrate
expect_status 0
expect_stdout <<OUT
{"applied":0,"schema_version":$known}
OUT

# Status, with the recorded time pinned so the output is exact.
sql "$db" "UPDATE chargeback.schema_migration SET applied_at = '2026-01-31 10:00:00+00'"
run --dsn "$db" db status
expect_status 0
expect_stdout <<OUT
schema version $known (this chargeback knows $known): up to date
$(rows applied 2026-01-31T10:00:00Z)
OUT
expect_stderr </dev/null
run --output=json --dsn "$db" db status
expect_status 0
expect_stdout <<OUT
{"schema_version":$known,"known_version":$known,"status":"up-to-date","migrations":[$(json_rows applied 2026-01-31T10:00:00Z)]}
OUT

# A database migrated by a newer chargeback: refused, and status says why.
sql "$db" "INSERT INTO chargeback.schema_migration (version, name, checksum, chargeback_version, applied_at) VALUES (8, 'from_the_future', 'x', '9.0.0', '2026-02-01 08:30:00+00')"
run --dsn "$db" db migrate
expect_status 1
expect_stdout </dev/null
expect_stderr <<OUT
chargeback: db migrate: database schema is at version 8, newer than this chargeback (knows $known): upgrade chargeback
OUT
run --dsn "$db" db status
expect_status 0
expect_stdout <<OUT
schema version 8 (this chargeback knows $known): the database is newer: upgrade chargeback
$(rows applied 2026-01-31T10:00:00Z 008_from_the_future unknown 2026-02-01T08:30:00Z)
OUT
run --output json --dsn "$db" db status
expect_status 0
expect_stdout <<OUT
{"schema_version":8,"known_version":$known,"status":"newer","migrations":[$(json_rows applied 2026-01-31T10:00:00Z),{"version":8,"name":"from_the_future","state":"unknown","applied_at":"2026-02-01T08:30:00Z"}]}
OUT

# An applied migration edited afterwards: refused, and status shows it.
sql "$db" "DELETE FROM chargeback.schema_migration WHERE version = 8; UPDATE chargeback.schema_migration SET checksum = repeat('ab', 32)"
run --dsn "$db" db migrate
expect_status 1
expect_stderr <<OUT
chargeback: db migrate: migration 001_partner_hierarchy was changed after it was applied (checksum abababababab in the database, $checksum in this chargeback): restore it and put the change in a new migration
OUT
run --dsn "$db" db status
expect_status 0
expect_stdout <<OUT
schema version $known (this chargeback knows $known): an applied migration was changed
$(rows changed 2026-01-31T10:00:00Z)
OUT

# A migration that fails is rolled back and reported with the server's
# message; fixing the cause lets it through.
scratch_db
db2=$SCRATCH_DSN
sql "$db2" "CREATE SCHEMA chargeback; CREATE TABLE chargeback.customer (x int)"
run --dsn "$db2" db migrate
expect_status 1
expect_stdout </dev/null
expect_stderr <<'OUT'
chargeback: db migrate: database: migration 001_partner_hierarchy: relation "customer" already exists
OUT
[ "$(sql "$db2" "SELECT to_regclass('chargeback.billing_account') IS NULL")" = t ] ||
	fail "a failed migration left tables behind"
sql "$db2" "DROP TABLE chargeback.customer"
run --dsn "$db2" db migrate
expect_status 0
expect_stdout <<OUT
applied $known migration$plural; schema version $known
OUT

# Connection failures: one line, exit 1, never the password.
run --dsn "host=/nonexistent password=hunter2" db status
expect_status 1
expect_stdout </dev/null
expect_stderr <<'OUT'
chargeback: db status: database: connection to server on socket "/nonexistent/.s.PGSQL.5432" failed: No such file or directory
OUT
run --dsn "postgresql://u:hunter2@[::1/db" db migrate
expect_status 1
expect_stderr <<'OUT'
chargeback: db migrate: database: invalid connection string: end of string reached when looking for matching "]" in IPv6 host address in URI: "[redacted]"
OUT

finish
