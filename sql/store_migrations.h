/*
 * sql/store_migrations.h - the schema migrations compiled into the library.
 *
 * sql/embed-migrations.cmake generates the table from sql/migrations/ at
 * build time and guarantees what the store relies on: at least one entry,
 * versions 1..cb__migration_count in order without gaps (so migration v is
 * cb__migrations[v - 1]), and no transaction statements in the SQL.
 */
#ifndef CB_SQL_STORE_MIGRATIONS_H
#define CB_SQL_STORE_MIGRATIONS_H

#include <stddef.h>

struct cb__migration {
	int version;          /* NNN of NNN_<name>.sql; index + 1 */
	const char *name;     /* <name>, [a-z0-9_]; static */
	const char *sql;      /* the file's bytes, NUL-terminated; static */
	size_t sql_len;       /* bytes of sql, terminator excluded */
	const char *checksum; /* SHA-256 of the file, 64 lower-case hex */
};

extern const struct cb__migration cb__migrations[];
extern const size_t cb__migration_count;

#endif
