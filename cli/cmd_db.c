/*
 * cli/cmd_db.c - `chargeback db migrate|status`: the database schema.
 *
 * Both open the store through the command table's CLI_NEEDS_STORE, so the
 * DSN is found the same way as for every other command.  `status` only
 * reads: it is safe against a database newer than this binary, and is
 * what to run when `migrate` refuses.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static int
db_migrate(struct cli_ctx *ctx, const struct cli_args *args)
{
	int applied = 0, version = 0;

	(void)args;
	if (cb_store_migrate(ctx->store, &applied) < 0 ||
		cb_store_schema_version(ctx->store, &version, NULL) < 0)
		return cli_fail(ctx);
	if (ctx->output == CLI_OUTPUT_JSON) {
		struct cli_json j;

		cli_json_init(&j, stdout);
		cli_json_object(&j, NULL);
		cli_json_int(&j, "applied", applied);
		cli_json_int(&j, "schema_version", version);
		cli_json_end(&j, '}');
	} else if (applied == 0) {
		printf("schema version %d is up to date; nothing to apply\n",
			version);
	} else {
		printf("applied %d migration%s; schema version %d\n", applied,
			applied == 1 ? "" : "s", version);
	}
	return CLI_EXIT_OK;
}

/* The migrations as cb_store_migration_foreach() reports them, copied
 * (its strings are only valid during the callback).  db_list_add returns
 * DB_LIST_NOMEM, a value no library call returns, when out of memory. */
#define DB_LIST_NOMEM 1

struct db_list {
	struct db_row {
		int version;
		int state;
		char *name;       /* owned */
		char *applied_at; /* owned; "" when pending */
	} * rows;                 /* owned */
	size_t count, alloc;
};

static int
db_list_add(const cb_store_migration *m, void *payload)
{
	struct db_list *l = payload;
	struct db_row *r;

	if (l->count == l->alloc) {
		size_t n = l->alloc ? l->alloc * 2 : 8;
		void *p = realloc(l->rows, n * sizeof(*l->rows));

		if (p == NULL)
			return DB_LIST_NOMEM;
		l->rows = p;
		l->alloc = n;
	}
	r = &l->rows[l->count];
	r->version = m->version;
	r->state = m->state;
	r->name = strdup(m->name);
	r->applied_at = strdup(m->applied_at);
	l->count++;
	return r->name && r->applied_at ? 0 : DB_LIST_NOMEM;
}

static void
db_list_free(struct db_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->rows[i].name);
		free(l->rows[i].applied_at);
	}
	free(l->rows);
}

static const char *
db_state_name(int state)
{
	switch (state) {
	case CB_MIGRATION_PENDING:
		return "pending";
	case CB_MIGRATION_APPLIED:
		return "applied";
	case CB_MIGRATION_CHANGED:
		return "changed";
	default:
		return "unknown";
	}
}

/*
 * The one-word verdict: "newer" (this binary cannot use the database),
 * "changed" (an applied migration was edited), "pending" (run migrate),
 * or "up-to-date", in that order of precedence.
 */
static const char *
db_status_word(const struct db_list *l)
{
	bool newer = false, changed = false, pending = false;

	for (size_t i = 0; i < l->count; i++) {
		newer |= l->rows[i].state == CB_MIGRATION_UNKNOWN;
		changed |= l->rows[i].state == CB_MIGRATION_CHANGED;
		pending |= l->rows[i].state == CB_MIGRATION_PENDING;
	}
	return newer     ? "newer"
	       : changed ? "changed"
	       : pending ? "pending"
			 : "up-to-date";
}

static void
db_status_text(const struct db_list *l, int db, int known)
{
	static const struct {
		const char *word, *text;
	} verdicts[] = {
		{ "newer", "the database is newer: upgrade chargeback" },
		{ "changed", "an applied migration was changed" },
		{ "pending",
			"migrations pending: run 'chargeback db migrate'" },
		{ "up-to-date", "up to date" },
	};
	const char *word = db_status_word(l), *verdict = word;
	int width = 0;

	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		if (strcmp(word, verdicts[i].word) == 0)
			verdict = verdicts[i].text;
	printf("schema version %d (this chargeback knows %d): %s\n", db, known,
		verdict);
	for (size_t i = 0; i < l->count; i++)
		if ((int)strlen(l->rows[i].name) > width)
			width = (int)strlen(l->rows[i].name);
	for (size_t i = 0; i < l->count; i++) {
		const struct db_row *r = &l->rows[i];

		if (*r->applied_at)
			printf("%03d_%-*s  %-7s  %s\n", r->version, width,
				r->name, db_state_name(r->state),
				r->applied_at);
		else
			printf("%03d_%-*s  %s\n", r->version, width, r->name,
				db_state_name(r->state));
	}
}

static void
db_status_json(const struct db_list *l, int db, int known)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_int(&j, "schema_version", db);
	cli_json_int(&j, "known_version", known);
	cli_json_str(&j, "status", db_status_word(l));
	cli_json_array(&j, "migrations");
	for (size_t i = 0; i < l->count; i++) {
		const struct db_row *r = &l->rows[i];

		cli_json_object(&j, NULL);
		cli_json_int(&j, "version", r->version);
		cli_json_str(&j, "name", r->name);
		cli_json_str(&j, "state", db_state_name(r->state));
		cli_json_str(&j, "applied_at",
			*r->applied_at ? r->applied_at : NULL);
		cli_json_end(&j, '}');
	}
	cli_json_end(&j, ']');
	cli_json_end(&j, '}');
}

static int
db_status(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct db_list list = { 0 };
	int db = 0, known = 0, rc;

	(void)args;
	if (cb_store_schema_version(ctx->store, &db, &known) < 0)
		return cli_fail(ctx);
	rc = cb_store_migration_foreach(ctx->store, db_list_add, &list);
	if (rc == DB_LIST_NOMEM) {
		fprintf(stderr, "chargeback: %s: out of memory\n", ctx->verb);
		db_list_free(&list);
		return CLI_EXIT_FAILURE;
	}
	if (rc < 0) {
		db_list_free(&list);
		return cli_fail(ctx);
	}
	if (ctx->output == CLI_OUTPUT_JSON)
		db_status_json(&list, db, known);
	else
		db_status_text(&list, db, known);
	db_list_free(&list);
	return CLI_EXIT_OK;
}

const struct cli_cmd cli_db_commands[] = {
	{
		.name = "migrate",
		.run = db_migrate,
		.summary = "apply the migrations the database lacks",
		.help = "Apply the schema migrations this chargeback carries "
			"and the database\nlacks, in order, each in its own "
			"transaction.  Safe to run again, and\nagainst "
			"concurrent runs.  Refuses a database whose schema is "
			"newer than\nthis chargeback, or whose applied "
			"migrations differ from it.",
		.flags = CLI_NEEDS_STORE,
	},
	{
		.name = "status",
		.run = db_status,
		.summary = "show the schema version and every migration",
		.help = "Show the database's schema version, the newest this "
			"chargeback knows,\nand each migration: applied (with "
			"the time, UTC), pending, changed\nsince it was "
			"applied, or unknown to this chargeback.  Changes "
			"nothing.",
		.flags = CLI_NEEDS_STORE,
	},
	{ 0 },
};
