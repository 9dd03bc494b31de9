/*
 * sql/store_sync.c - a sync's snapshot into the store, in one transaction
 * (cb_store_sync_write, include/chargeback/sync.h), and the sync lock.
 *
 * Per table, table-driven (struct table below), inside the transaction:
 *   1. COPY the snapshot's rows into a temporary staging table shaped like
 *      the real one (LIKE), dropped at commit;
 *   2. classify: staging rows with no live row are new (also a row coming
 *      back from gone), rows whose columns differ are changed, naming the
 *      columns;
 *   3. upsert: INSERT ... ON CONFLICT DO UPDATE (first_seen kept,
 *      last_seen = now(), gone_at cleared);
 *   4. mark gone: live rows of the walked billing accounts that are not in
 *      staging get gone_at = now().  Nothing is ever deleted.
 * Tables go parents first (accounts, profiles, customers, subscriptions,
 * policies, budgets) so the foreign keys hold at every step.  The run is
 * recorded in chargeback.sync_run in the same transaction; any failure
 * rolls everything back.
 *
 * Every statement is constant text (table and column names from the static
 * tables here, never data) with data passed as parameters or COPY rows.
 */
#include "core/common.h"
#include "sql/store_internal.h"
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

/* Key of the session-level advisory lock held by a running sync
 * ("cbsynclk" in ASCII); the migrator's is "cbmigrat". */
#define SYNC_LOCK_KEY "7161413322852756587"

/* Most columns a table here has (keys included). */
#define COLS_MAX 16

struct table {
	int kind;                   /* cb_sync_kind */
	const char *name;           /* "customer": chargeback.<name> */
	size_t nkeys;               /* the first nkeys columns are the key */
	const char *cols[COLS_MAX]; /* NULL-ended */
	const char *account;        /* column holding the billing account */
	const char *customer;       /* column holding the customer, or NULL */
	const char *id;             /* column naming the row itself */
	const char *label;          /* display name column, or NULL */
	bool observed; /* has observed_at (set when a value changes) */
	/* Rows of the snapshot, and field col of row r (NULL: SQL NULL);
	 * rows is the bound of r, skip (or NULL) leaves rows out. */
	size_t (*count)(const cb_sync_snapshot *s);
	size_t (*rows)(const cb_sync_snapshot *s);
	bool (*skip)(const cb_sync_snapshot *s, size_t r);
	const char *(*field)(
		const cb_sync_snapshot *s, size_t r, size_t col, char *tmp);
};

/* ---- the snapshot as rows ----------------------------------------- */

static size_t
n_accounts(const cb_sync_snapshot *s)
{
	return s->account_count;
}

static const char *
f_account(const cb_sync_snapshot *s, size_t r, size_t c, char *tmp)
{
	const cb_sync_account *a = &s->accounts[r];
	const char *v[] = { a->id, a->display_name, a->agreement_type,
		a->account_type, a->account_sub_type, a->account_status,
		a->primary_billing_tenant_id };

	CB_UNUSED(tmp);
	return v[c];
}

static size_t
n_profiles(const cb_sync_snapshot *s)
{
	return s->profile_count;
}

static const char *
f_profile(const cb_sync_snapshot *s, size_t r, size_t c, char *tmp)
{
	const cb_sync_profile *p = &s->profiles[r];
	const char *v[] = { p->billing_account_id, p->id, p->display_name,
		p->currency, p->billing_relationship_type, p->system_id,
		p->status, p->status_reason_code,
		p->indirect_billing_account_id, p->indirect_billing_profile_id,
		p->indirect_display_name };

	CB_UNUSED(tmp);
	return v[c];
}

static size_t
n_customers(const cb_sync_snapshot *s)
{
	return s->customer_count;
}

static const char *
f_customer(const cb_sync_snapshot *s, size_t r, size_t c, char *tmp)
{
	const cb_sync_customer *x = &s->customers[r];
	const char *v[] = { x->billing_account_id, x->customer_id,
		x->billing_profile_id, x->display_name, x->tenant_id,
		x->system_id, x->reseller_id, x->reseller_name, x->status,
		x->tags ? x->tags : "{}" };

	CB_UNUSED(tmp);
	return v[c];
}

static size_t
n_subscriptions(const cb_sync_snapshot *s)
{
	return s->subscription_count;
}

static const char *
f_subscription(const cb_sync_snapshot *s, size_t r, size_t c, char *tmp)
{
	const cb_sync_subscription *b = &s->subscriptions[r];
	const char *v[] = { b->billing_account_id, b->customer_id,
		b->subscription_id, b->billing_profile_id, b->display_name,
		b->status, b->sku_id, b->sku_description, b->reseller_id,
		b->reseller_name, b->resource_uri };

	CB_UNUSED(tmp);
	return v[c];
}

/* Policies are the customers that have one: rows are the customers,
 * those without a policy skipped. */
static size_t
n_policies(const cb_sync_snapshot *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->customer_count; i++)
		n += s->customers[i].view_charges != NULL;
	return n;
}

static bool
skip_policy(const cb_sync_snapshot *s, size_t r)
{
	return s->customers[r].view_charges == NULL;
}

static const char *
f_policy(const cb_sync_snapshot *s, size_t r, size_t c, char *tmp)
{
	const cb_sync_customer *x = &s->customers[r];
	const char *v[] = { x->billing_account_id, x->customer_id,
		x->view_charges };

	CB_UNUSED(tmp);
	return v[c];
}

static size_t
n_budgets(const cb_sync_snapshot *s)
{
	return s->budget_count;
}

static const char *
f_budget(const cb_sync_snapshot *s, size_t r, size_t c, char *tmp)
{
	const cb_sync_budget *b = &s->budgets[r];
	const char *v[] = { b->billing_account_id, b->customer_id, b->name,
		b->category, b->amount, b->time_grain, b->start_date,
		b->end_date, b->etag,
		b->notifications ? b->notifications : "{}", b->filter, NULL };

	if (c == 11) {
		tmp[0] = b->managed ? 't' : 'f';
		tmp[1] = '\0';
		return tmp;
	}
	return v[c];
}

static const struct table tables[] = {
	{ CB_SYNC_BILLING_ACCOUNT, "billing_account", 1,
		{ "id", "display_name", "agreement_type", "account_type",
			"account_sub_type", "account_status",
			"primary_billing_tenant_id", NULL },
		"id", NULL, "id", "display_name", false, n_accounts, n_accounts,
		NULL, f_account },
	{ CB_SYNC_BILLING_PROFILE, "billing_profile", 2,
		{ "billing_account_id", "id", "display_name", "currency",
			"billing_relationship_type", "system_id", "status",
			"status_reason_code", "indirect_billing_account_id",
			"indirect_billing_profile_id", "indirect_display_name",
			NULL },
		"billing_account_id", NULL, "id", "display_name", false,
		n_profiles, n_profiles, NULL, f_profile },
	{ CB_SYNC_CUSTOMER, "customer", 2,
		{ "billing_account_id", "customer_id", "billing_profile_id",
			"display_name", "tenant_id", "system_id", "reseller_id",
			"reseller_name", "status", "tags", NULL },
		"billing_account_id", "customer_id", "customer_id",
		"display_name", false, n_customers, n_customers, NULL,
		f_customer },
	{ CB_SYNC_SUBSCRIPTION, "subscription", 3,
		{ "billing_account_id", "customer_id", "subscription_id",
			"billing_profile_id", "display_name", "status",
			"sku_id", "sku_description", "reseller_id",
			"reseller_name", "resource_uri", NULL },
		"billing_account_id", "customer_id", "subscription_id",
		"display_name", false, n_subscriptions, n_subscriptions, NULL,
		f_subscription },
	{ CB_SYNC_POLICY, "customer_policy", 2,
		{ "billing_account_id", "customer_id", "view_charges", NULL },
		"billing_account_id", "customer_id", "customer_id", NULL, true,
		n_policies, n_customers, skip_policy, f_policy },
	{ CB_SYNC_BUDGET, "customer_budget", 3,
		{ "billing_account_id", "customer_id", "name", "category",
			"amount", "time_grain", "start_date", "end_date",
			"etag", "notifications", "filter", "managed", NULL },
		"billing_account_id", "customer_id", "name", NULL, true,
		n_budgets, n_budgets, NULL, f_budget },
};

/* ---- SQL text from the tables --------------------------------------- */

static size_t
ncols(const struct table *t)
{
	size_t n = 0;

	while (t->cols[n])
		n++;
	return n;
}

/* "a, b, c" with each name prefixed (may be ""), columns [from, to). */
static int
col_list(cb_buf *b, const struct table *t, size_t from, size_t to,
	const char *prefix)
{
	int error = 0;

	for (size_t i = from; error == 0 && i < to; i++)
		error = cb__buf_printf(
			b, "%s%s%s", i > from ? ", " : "", prefix, t->cols[i]);
	return error;
}

/* "s.k1 = t.k1 AND ..." */
static int
key_match(cb_buf *b, const struct table *t)
{
	int error = 0;

	for (size_t i = 0; error == 0 && i < t->nkeys; i++)
		error = cb__buf_printf(b, "%ss.%s = t.%s", i ? " AND " : "",
			t->cols[i], t->cols[i]);
	return error;
}

/* "(s.c, ...) IS DISTINCT FROM (t.c, ...)" over the non-key columns, or
 * "false" when there are none. */
static int
differs(cb_buf *b, const struct table *t, const char *s, const char *u)
{
	size_t n = ncols(t);
	int error;

	if (n == t->nkeys)
		return cb__buf_puts(b, "false");
	if ((error = cb__buf_puts(b, "(")) < 0 ||
		(error = col_list(b, t, t->nkeys, n, s)) < 0 ||
		(error = cb__buf_puts(b, ") IS DISTINCT FROM (")) < 0 ||
		(error = col_list(b, t, t->nkeys, n, u)) < 0)
		return error;
	return cb__buf_puts(b, ")");
}

/* The change columns every report query returns: account, customer, id,
 * label (from alias a). */
static int
report_cols(cb_buf *b, const struct table *t, const char *a)
{
	return cb__buf_printf(b, "%s.%s, %s%s%s, %s.%s, %s%s%s", a, t->account,
		t->customer ? a : "", t->customer ? "." : "",
		t->customer ? t->customer : "NULL::text", a, t->id,
		t->label ? a : "", t->label ? "." : "",
		t->label ? t->label : "NULL::text");
}

/* ---- libpq helpers -------------------------------------------------- */

static int
sync_error(cb_store *store, PGresult *res, const char *what)
{
	const char *primary =
		res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char line[CB_ERROR_MESSAGE_MAX];
	size_t n;

	snprintf(line, sizeof(line), "%s",
		primary ? primary : PQerrorMessage(store->conn));
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	cb__error_set(
		CB_EDB, CB_ERRCLASS_DB, "database: sync: %s: %s", what, line);
	if (state)
		cb__error_set_sqlstate(state);
	PQclear(res);
	return CB_EDB;
}

/* Run sql with params; *out (if given) owns the result. */
static int
q(cb_store *store, PGresult **out, const char *what, const char *sql,
	int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(
		store->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return sync_error(store, res, what);
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/* One COPY text-format field: \N for NULL, escapes for the rest. */
static int
copy_field(cb_buf *b, const char *v)
{
	int error = 0;

	if (v == NULL)
		return cb__buf_puts(b, "\\N");
	for (; error == 0 && *v; v++) {
		switch (*v) {
		case '\\':
			error = cb__buf_puts(b, "\\\\");
			break;
		case '\t':
			error = cb__buf_puts(b, "\\t");
			break;
		case '\n':
			error = cb__buf_puts(b, "\\n");
			break;
		case '\r':
			error = cb__buf_puts(b, "\\r");
			break;
		default:
			error = cb__buf_putc(b, *v);
		}
	}
	return error;
}

/* COPY the snapshot's rows of t into its staging table. */
static int
stage(cb_store *store, const struct table *t, const cb_sync_snapshot *s)
{
	size_t n = ncols(t), rows = t->rows(s);
	cb_buf sql = CB_BUF_INIT, data = CB_BUF_INIT;
	PGresult *res;
	char tmp[8];
	int error;

	if ((error = cb__buf_printf(&sql,
		     "CREATE TEMPORARY TABLE cb_stage_%s (LIKE chargeback.%s "
		     "INCLUDING DEFAULTS) ON COMMIT DROP",
		     t->name, t->name)) < 0 ||
		(error = q(store, NULL, "staging", sql.ptr, 0, NULL)) < 0)
		goto done;
	cb__buf_clear(&sql);
	if ((error = cb__buf_printf(
		     &sql, "COPY pg_temp.cb_stage_%s (", t->name)) < 0 ||
		(error = col_list(&sql, t, 0, n, "")) < 0 ||
		(error = cb__buf_puts(&sql, ") FROM STDIN")) < 0)
		goto done;
	res = PQexec(store->conn, sql.ptr);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
		error = sync_error(store, res, "copy");
		goto done;
	}
	PQclear(res);
	for (size_t r = 0; error == 0 && r < rows; r++) {
		if (t->skip && t->skip(s, r))
			goto next;
		for (size_t c = 0; error == 0 && c < n; c++)
			if ((c > 0 &&
				    (error = cb__buf_putc(&data, '\t')) < 0) ||
				(error = copy_field(
					 &data, t->field(s, r, c, tmp))) < 0)
				break;
		if (error == 0)
			error = cb__buf_putc(&data, '\n');
	next:
		/* Send in pieces of about 1 MiB: memory stays flat. */
		if (error == 0 && data.size > 0 &&
			(data.size > ((size_t)1 << 20) || r + 1 == rows)) {
			if (PQputCopyData(
				    store->conn, data.ptr, (int)data.size) != 1)
				error = sync_error(store, NULL, "copy");
			cb__buf_clear(&data);
		}
	}
	if (PQputCopyEnd(store->conn, error ? "aborted" : NULL) != 1 &&
		error == 0)
		error = sync_error(store, NULL, "copy");
	while ((res = PQgetResult(store->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && error == 0)
			error = sync_error(store, res, "copy");
		else
			PQclear(res);
	}
	/* Autovacuum never sees temporary tables: without statistics the
	 * planner takes them for a few rows (see mark_gone()). */
	cb__buf_clear(&sql);
	if (error == 0 &&
		(error = cb__buf_printf(
			 &sql, "ANALYZE pg_temp.cb_stage_%s", t->name)) == 0)
		error = q(store, NULL, "staging", sql.ptr, 0, NULL);
done:
	cb_buf_dispose(&sql);
	cb_buf_dispose(&data);
	return error;
}

/* ---- changes -------------------------------------------------------- */

static int
add_change(cb_sync_result *result, int kind, int action, const PGresult *res,
	int row, int first)
{
	cb_sync_change *c;
	size_t n = result->change_count;
	char **dst[5];

	if ((n & (n - 1)) == 0 || n == 0) {
		cb_sync_change *g = cb__reallocarray(
			result->changes, n ? n * 2 : 16, sizeof(*g));

		if (g == NULL)
			return CB_ENOMEM;
		result->changes = g;
	}
	c = &result->changes[n];
	memset(c, 0, sizeof(*c));
	result->change_count++;
	c->kind = kind;
	c->action = action;
	dst[0] = &c->billing_account_id;
	dst[1] = &c->customer_id;
	dst[2] = &c->id;
	dst[3] = &c->name;
	dst[4] = &c->fields;
	for (int i = 0; i < 5 && first + i < PQnfields(res); i++) {
		if (PQgetisnull(res, row, first + i) ||
			(i == 4 && (action != CB_SYNC_CHANGED ||
					   *PQgetvalue(res, row, first + i) ==
						   '\0')))
			continue;
		if ((*dst[i] = cb__strdup(PQgetvalue(res, row, first + i))) ==
			NULL)
			return CB_ENOMEM;
	}
	result->changed[action][kind]++;
	return 0;
}

/* New and changed rows of t (compared with the rows before this sync). */
static int
classify(cb_store *store, const struct table *t, cb_sync_result *result)
{
	size_t n = ncols(t);
	cb_buf sql = CB_BUF_INIT;
	PGresult *res = NULL;
	int error;

	if ((error = cb__buf_printf(&sql,
		     "SELECT t.%s IS NULL OR t.gone_at IS NOT NULL, ",
		     t->cols[0])) < 0 ||
		(error = report_cols(&sql, t, "s")) < 0 ||
		(error = cb__buf_puts(&sql, ", concat_ws(','")) < 0)
		goto done;
	for (size_t i = t->nkeys; i < n; i++)
		if ((error = cb__buf_printf(&sql,
			     ", CASE WHEN s.%s IS DISTINCT FROM t.%s THEN "
			     "'%s' END",
			     t->cols[i], t->cols[i], t->cols[i])) < 0)
			goto done;
	if ((error = cb__buf_printf(&sql,
		     ") FROM pg_temp.cb_stage_%s s LEFT JOIN chargeback.%s t "
		     "ON ",
		     t->name, t->name)) < 0 ||
		(error = key_match(&sql, t)) < 0 ||
		(error = cb__buf_printf(&sql,
			 " WHERE t.%s IS NULL OR t.gone_at IS NOT NULL OR ",
			 t->cols[0])) < 0 ||
		(error = differs(&sql, t, "s.", "t.")) < 0 ||
		(error = q(store, &res, "comparing", sql.ptr, 0, NULL)) < 0)
		goto done;
	for (int r = 0; error == 0 && r < PQntuples(res); r++)
		error = add_change(result, t->kind,
			strcmp(PQgetvalue(res, r, 0), "t") == 0
				? CB_SYNC_NEW
				: CB_SYNC_CHANGED,
			res, r, 1);
done:
	PQclear(res);
	cb_buf_dispose(&sql);
	return error;
}

static int
upsert(cb_store *store, const struct table *t)
{
	size_t n = ncols(t);
	cb_buf sql = CB_BUF_INIT;
	int error;

	if ((error = cb__buf_printf(
		     &sql, "INSERT INTO chargeback.%s AS t (", t->name)) < 0 ||
		(error = col_list(&sql, t, 0, n, "")) < 0 ||
		(error = cb__buf_puts(&sql, ", last_seen) SELECT ")) < 0 ||
		(error = col_list(&sql, t, 0, n, "")) < 0 ||
		(error = cb__buf_printf(&sql,
			 ", now() FROM pg_temp.cb_stage_%s ON CONFLICT (",
			 t->name)) < 0 ||
		(error = col_list(&sql, t, 0, t->nkeys, "")) < 0 ||
		(error = cb__buf_puts(&sql, ") DO UPDATE SET ")) < 0)
		goto done;
	for (size_t i = t->nkeys; i < n; i++)
		if ((error = cb__buf_printf(&sql, "%s = EXCLUDED.%s, ",
			     t->cols[i], t->cols[i])) < 0)
			goto done;
	if (t->observed &&
		((error = cb__buf_puts(&sql, "observed_at = CASE WHEN ")) < 0 ||
			(error = differs(&sql, t, "t.", "EXCLUDED.")) < 0 ||
			(error = cb__buf_puts(&sql,
				 " OR t.gone_at IS NOT NULL THEN now() ELSE "
				 "t.observed_at END, ")) < 0))
		goto done;
	if ((error = cb__buf_puts(&sql, "last_seen = now(), gone_at = NULL")) <
			0 ||
		(error = q(store, NULL, "upserting", sql.ptr, 0, NULL)) < 0)
		goto done;
done:
	cb_buf_dispose(&sql);
	return error;
}

/* Mark gone the live rows of t in scope (a text[] literal of billing
 * accounts; NULL: every row) that staging lacks. */
static int
mark_gone(cb_store *store, const struct table *t, const char *scope,
	cb_sync_result *result)
{
	cb_buf sql = CB_BUF_INIT;
	PGresult *res = NULL;
	int error;

	/* Statistics for the table just upserted: on a first sync (or
	 * before autovacuum came by) the planner took it for one row and
	 * the NOT EXISTS below became a nested loop over staging (9 s for
	 * 15,000 subscriptions, bench/walk). */
	if ((error = cb__buf_printf(&sql, "ANALYZE chargeback.%s", t->name)) <
			0 ||
		(error = q(store, NULL, "marking gone", sql.ptr, 0, NULL)) < 0)
		goto done;
	cb__buf_clear(&sql);
	if ((error = cb__buf_printf(&sql,
		     "UPDATE chargeback.%s t SET gone_at = now() WHERE "
		     "t.gone_at IS NULL AND ($1::text[] IS NULL OR t.%s = "
		     "ANY ($1::text[])) AND NOT EXISTS (SELECT 1 FROM "
		     "pg_temp.cb_stage_%s s WHERE ",
		     t->name, t->account, t->name)) < 0 ||
		(error = key_match(&sql, t)) < 0 ||
		(error = cb__buf_puts(&sql, ") RETURNING ")) < 0 ||
		(error = report_cols(&sql, t, "t")) < 0 ||
		(error = q(store, &res, "marking gone", sql.ptr, 1,
			 (const char *const[]){ scope })) < 0)
		goto done;
	for (int r = 0; error == 0 && r < PQntuples(res); r++)
		error = add_change(result, t->kind, CB_SYNC_GONE, res, r, 0);
done:
	PQclear(res);
	cb_buf_dispose(&sql);
	return error;
}

/* A text[] literal of the snapshot's account ids ({"a","b"}), those with
 * customers only when customers_only. */
static int
scope_literal(cb_buf *b, const cb_sync_snapshot *s, bool customers_only)
{
	int error = cb__buf_putc(b, '{');
	bool first = true;

	for (size_t i = 0; error == 0 && i < s->account_count; i++) {
		if (customers_only && !s->accounts[i].has_customers)
			continue;
		if (!first)
			error = cb__buf_putc(b, ',');
		first = false;
		if (error == 0)
			error = cb__buf_putc(b, '"');
		for (const char *p = s->accounts[i].id; error == 0 && *p; p++)
			if ((*p == '"' || *p == '\\') &&
				(error = cb__buf_putc(b, '\\')) < 0)
				break;
			else if (error == 0)
				error = cb__buf_putc(b, *p);
		if (error == 0)
			error = cb__buf_putc(b, '"');
	}
	return error ? error : cb__buf_putc(b, '}');
}

static int
cmp_change(const void *a, const void *b)
{
	const cb_sync_change *x = a, *y = b;
	const char *xs[] = { x->billing_account_id, x->customer_id, x->id };
	const char *ys[] = { y->billing_account_id, y->customer_id, y->id };

	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->action != y->action)
		return x->action - y->action;
	for (size_t i = 0; i < CB_ARRAY_SIZE(xs); i++) {
		int c = strcmp(xs[i] ? xs[i] : "", ys[i] ? ys[i] : "");

		if (c)
			return c;
	}
	return 0;
}

/* The counts as the JSON object kept in sync_run.counts. */
static int
counts_json(cb_buf *b, const cb_sync_result *r)
{
	static const char *const keys[CB_SYNC_KINDS] = { "billingAccounts",
		"billingProfiles", "customers", "subscriptions", "policies",
		"budgets" };
	int error = cb__buf_putc(b, '{');

	for (int k = 0; error == 0 && k < CB_SYNC_KINDS; k++)
		error = cb__buf_printf(b,
			"%s\"%s\":{\"rows\":%zu,\"new\":%zu,\"changed\":%zu,"
			"\"gone\":%zu}",
			k ? "," : "", keys[k], r->count[k],
			r->changed[CB_SYNC_NEW][k],
			r->changed[CB_SYNC_CHANGED][k],
			r->changed[CB_SYNC_GONE][k]);
	return error ? error : cb__buf_putc(b, '}');
}

static void
rollback(cb_store *store)
{
	PQclear(PQexec(store->conn, "ROLLBACK"));
}

int
cb_store_sync_write(
	cb_store *store, const cb_sync_snapshot *s, cb_sync_result *result)
{
	cb_buf all = CB_BUF_INIT, mpa = CB_BUF_INIT, text = CB_BUF_INIT;
	cb_sync_result r = CB_SYNC_RESULT_INIT;
	char walk_ms[32], requests[32], throttled[32];
	PGresult *res = NULL;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(s);
	CB_ASSERT_ARG(result);
	for (size_t k = 0; k < CB_ARRAY_SIZE(tables); k++)
		r.count[tables[k].kind] = tables[k].count(s);
	r.requests = s->requests;
	r.throttled = s->throttled;
	r.paced = s->paced;
	if ((error = scope_literal(&all, s, false)) < 0 ||
		(error = scope_literal(&mpa, s, true)) < 0)
		goto fail;
	if ((error = q(store, NULL, "begin", "BEGIN", 0, NULL)) < 0)
		goto fail;
	for (size_t k = 0; k < CB_ARRAY_SIZE(tables); k++) {
		const struct table *t = &tables[k];
		const char *scope = t->kind == CB_SYNC_BILLING_ACCOUNT ? NULL
				    : t->kind == CB_SYNC_BILLING_PROFILE
					    ? all.ptr
					    : mpa.ptr;

		if ((error = stage(store, t, s)) < 0 ||
			(error = classify(store, t, &r)) < 0 ||
			(error = upsert(store, t)) < 0)
			goto fail;
		/* Accounts are gone only when every account was listed. */
		if ((t->kind != CB_SYNC_BILLING_ACCOUNT || s->all_accounts) &&
			(error = mark_gone(store, t, scope, &r)) < 0)
			goto fail;
	}
	if (r.change_count > 1)
		qsort(r.changes, r.change_count, sizeof(*r.changes),
			cmp_change);
	snprintf(walk_ms, sizeof(walk_ms), "%ld", s->walk_ms);
	snprintf(requests, sizeof(requests), "%lu", s->requests);
	snprintf(throttled, sizeof(throttled), "%lu", s->throttled);
	if ((error = counts_json(&text, &r)) < 0 ||
		(error = q(store, &res, "recording the run",
			 "INSERT INTO chargeback.sync_run (started, finished, "
			 "status, counts, requests, throttled) VALUES (now() - "
			 "$1::bigint * interval '1 millisecond', "
			 "clock_timestamp(), 'ok', $2::jsonb, $3, $4) "
			 "RETURNING id",
			 4,
			 (const char *const[]){
				 walk_ms, text.ptr, requests, throttled })) < 0)
		goto fail;
	r.run_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	res = NULL;
	if ((error = q(store, NULL, "commit", "COMMIT", 0, NULL)) < 0)
		goto fail;
	cb_buf_dispose(&all);
	cb_buf_dispose(&mpa);
	cb_buf_dispose(&text);
	cb_sync_result_dispose(result);
	*result = r;
	return 0;
fail:
	if (PQtransactionStatus(store->conn) != PQTRANS_IDLE)
		rollback(store);
	PQclear(res);
	cb_buf_dispose(&all);
	cb_buf_dispose(&mpa);
	cb_buf_dispose(&text);
	cb_sync_result_dispose(&r);
	return error;
}

int
cb_store_sync_record_failure(cb_store *store, const char *message)
{
	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(message);
	return q(store, NULL, "recording the failure",
		"INSERT INTO chargeback.sync_run (finished, status, error) "
		"VALUES (clock_timestamp(), 'failed', $1)",
		1, (const char *const[]){ message[0] ? message : "failed" });
}

int
cb_store_sync_lock(cb_store *store)
{
	PGresult *res = NULL;
	int error;

	CB_ASSERT_ARG(store);
	if ((error = q(store, &res, "taking the sync lock",
		     "SELECT pg_try_advisory_lock(" SYNC_LOCK_KEY ")", 0,
		     NULL)) < 0)
		return error;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	/* Who holds it: bigint keys are (classid, objid) = (high, low). */
	if ((error = q(store, &res, "finding the sync lock's holder",
		     "SELECT coalesce(min(pid)::text, '?') FROM pg_locks "
		     "WHERE locktype = 'advisory' AND granted AND objsubid = "
		     "1 AND classid = (" SYNC_LOCK_KEY "::bigint >> 32) AND "
		     "objid = (" SYNC_LOCK_KEY "::bigint & 4294967295) AND "
		     "database = (SELECT oid FROM pg_database WHERE datname "
		     "= current_database())",
		     0, NULL)) < 0)
		return error;
	error = cb__error_set(CB_ELOCKED, CB_ERRCLASS_DB,
		"another sync is running on this database (PostgreSQL "
		"backend %s holds the sync lock); wait for it to finish",
		PQgetvalue(res, 0, 0));
	PQclear(res);
	return error;
}

int
cb_store_sync_unlock(cb_store *store)
{
	CB_ASSERT_ARG(store);
	return q(store, NULL, "releasing the sync lock",
		"SELECT pg_advisory_unlock(" SYNC_LOCK_KEY ")", 0, NULL);
}
