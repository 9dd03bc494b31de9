/*
 * sql/store_costs.c - loading a period's cost lines (exactly once) and
 * reporting stored cost; the API of include/chargeback/costs.h, the
 * schema of sql/migrations/005_costs.sql.
 *
 * A load, on two connections of its own ("lines" and "descriptors"):
 *
 *   begin   lines: pg_try_advisory_lock(key) - fail fast, CB_ELOCKED;
 *           drop what killed loads of the key left ('loading' rows:
 *           their staging tables, state -> failed); insert the cost_load
 *           row; read the customers' tenant -> customer map.  Each
 *           connection then creates its staging table (LIKE the parent,
 *           plus CHECK (period = P AND load_id = L) so the later ATTACH
 *           needs no scan), BEGINs, TRUNCATEs it and starts COPY ... FROM
 *           STDIN (FORMAT binary, FREEZE): truncated in the same
 *           transaction, the rows go in already frozen (no later rewrite
 *           of every page to set hint bits), and a kill before the commit
 *           leaves an empty table for the next load to drop.  The
 *           table is created outside that transaction because LIKE
 *           locks the parent until commit, which would hold up every
 *           other load's swap for the length of this one's COPY.
 *   row     encode the descriptor (every column but the day and the
 *           amounts) in COPY form; look it up in the bounded cache by its
 *           bytes; a new one gets the next id and goes to the descriptor
 *           stream; the line goes to the line stream; per-currency rows
 *           and sums are kept exactly.  Data is sent in ~256 KB pieces;
 *           nothing is allocated per row once the buffers have grown.
 *   commit  end both COPYs (their row counts must match), give the
 *           descriptors their primary key, commit both; check count and
 *           per-currency sums in SQL against the client's (CB_ECONFLICT);
 *           then ONE transaction: xact lock on the period, month
 *           partitions created if missing, the key's previous leaves
 *           dropped (dropping a partition detaches it), the new ones
 *           attached, loads marked.  ANALYZE, unlock, close.
 *   abort   end the COPYs with an error, roll back, drop what was
 *           committed, mark the load failed, unlock, close.
 *
 * A kill at any point before the swap commits leaves the previous data;
 * the next load of the key removes what it left.  Statements are
 * constant text with parameters, except DDL, which cannot take
 * parameters: it is formatted from the load id (our integer) and the
 * validated period only, never from file data.
 */
#include "core/common.h"
#include "sql/store_internal.h"
#include "sql/store_costs_internal.h"
#include "core/buf.h"
#include "core/calendar.h"
#include "core/fault.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

/* Data is handed to libpq in pieces of about this size: large enough to
 * make the per-call cost vanish, small enough to keep memory flat. */
#define FLUSH_BYTES ((size_t)256 << 10)

/* A descriptor larger than this (in COPY form) is refused: no real line
 * comes close, and it bounds the scratch buffer. */
#define DESCRIPTOR_MAX ((size_t)64 << 20)

/* Billing currencies one load may hold; a file has one or a handful. */
#define CURRENCIES_MAX 1024

/* Fields of a descriptor tuple and of a line tuple. */
#define DESC_FIELDS (4 + CB_COST_TEXT_COUNT - 2 + CB_COST_DATE_COUNT + 2 + 2)
#define LINE_FIELDS (8 + 3 + CB_COST_AMOUNT_COUNT)

/* Column lists of the COPYs, in the order the tuples are encoded: the
 * descriptor's text columns in cb_cost_text_field order, its dates in
 * cb_cost_date_field order, the amounts in cb_cost_amount_field order. */
static const char desc_columns[] =
	"customer_id, period, load_id, descriptor_id, "
	"invoice_id, previous_invoice_id, billing_account_id, "
	"billing_account_name, billing_profile_id, billing_profile_name, "
	"invoice_section_id, invoice_section_name, partner_tenant_id, "
	"partner_name, reseller_name, reseller_mpn_id, customer_tenant_id, "
	"customer_name, cost_center, service_family, product_order_id, "
	"product_order_name, consumed_service, meter_id, meter_name, "
	"meter_category, meter_subcategory, meter_region, product_id, "
	"product_name, subscription_id, subscription_name, publisher_type, "
	"publisher_id, publisher_name, "
	"resource_location, location, unit_of_measure, charge_type, "
	"billing_currency, pricing_currency, service_info1, service_info2, "
	"frequency, term, reservation_id, reservation_name, pricing_model, "
	"benefit_id, benefit_name, provider, cost_allocation_rule_name, "
	"billing_period_start, billing_period_end, service_period_start, "
	"service_period_end, exchange_rate_date, credit_eligible, "
	"pec_applied, additional_info, extra";

static const char line_columns[] =
	"billing_account_id, customer_id, period, load_id, part, line, "
	"descriptor_id, date, resource_group, resource_id, tags, "
	"quantity, effective_price, unit_price, "
	"payg_price, cost_in_billing_currency, cost_in_pricing_currency, "
	"cost_in_usd, payg_cost_in_billing_currency, payg_cost_in_usd, "
	"exchange_rate_pricing_to_billing, partner_earned_credit_rate";

/* The advisory lock keys: 64-bit hashes of a text naming the key (the
 * sync and migration locks are fixed numbers; a collision with them or
 * between two keys is a 2^-64 chance of a spurious CB_ELOCKED). */
static const char sql_try_lock[] =
	"SELECT pg_try_advisory_lock(hashtextextended($1, 0))";
static const char sql_unlock[] =
	"SELECT pg_advisory_unlock(hashtextextended($1, 0))";
static const char sql_period_lock[] =
	"SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

static const char sql_leftovers[] =
	"SELECT load_id FROM chargeback.cost_load"
	" WHERE scope = $1 AND period = $2::date AND metric = $3"
	" AND state = 'loading' ORDER BY load_id";

static const char sql_mark_failed[] =
	"UPDATE chargeback.cost_load SET state = 'failed'"
	" WHERE load_id = $1 AND state = 'loading'";

static const char sql_insert_load[] =
	"INSERT INTO chargeback.cost_load (scope, period, metric, source)"
	" VALUES ($1, $2::date, $3, $4) RETURNING load_id";

/* The newest customer per (account, tenant), live ones first, sorted
 * bytewise as the loader's binary search compares. */
static const char sql_customers[] =
	"SELECT billing_account_id, tenant_id, customer_id FROM ("
	" SELECT DISTINCT ON (billing_account_id, tenant_id)"
	"  billing_account_id, tenant_id, customer_id"
	" FROM chargeback.customer"
	" WHERE tenant_id IS NOT NULL AND tenant_id <> ''"
	" ORDER BY billing_account_id, tenant_id, gone_at IS NOT NULL,"
	"  last_seen DESC, customer_id) c"
	" ORDER BY billing_account_id COLLATE \"C\", tenant_id COLLATE \"C\"";

static const char sql_committed[] =
	"SELECT load_id FROM chargeback.cost_load"
	" WHERE scope = $1 AND period = $2::date AND metric = $3"
	" AND state = 'committed' ORDER BY load_id FOR UPDATE";

static const char sql_supersede[] =
	"UPDATE chargeback.cost_load SET state = 'superseded'"
	" WHERE scope = $1 AND period = $2::date AND metric = $3"
	" AND state = 'committed'";

static const char sql_mark_committed[] =
	"UPDATE chargeback.cost_load SET state = 'committed',"
	" committed_at = now(), rows = $2, descriptors = $3,"
	" totals = $4::jsonb WHERE load_id = $1 AND state = 'loading'";

/* One query for every grouping ($3, a cb_costs_by): sums as numeric,
 * read back as text.  Only committed loads are attached to cost_line, so
 * the join with cost_load selects the metric; its state check is a
 * belt for the braces. */
static const char sql_costs[] =
	"WITH g AS ("
	" SELECT CASE $3::int"
	"   WHEN 1 THEN l.customer_id"
	"   WHEN 2 THEN coalesce(d.subscription_id, '')"
	"   WHEN 3 THEN coalesce(d.service_family, '')"
	"   WHEN 4 THEN coalesce(d.meter_category, '')"
	"   WHEN 5 THEN to_char(l.date, 'YYYY-MM-DD') END AS key,"
	"  coalesce(d.billing_currency, '') AS currency,"
	"  count(*) AS rows,"
	"  coalesce(sum(l.cost_in_billing_currency), 0) AS cost,"
	"  coalesce(sum(l.payg_cost_in_billing_currency), 0) AS payg,"
	"  min(CASE $3::int WHEN 1 THEN d.customer_name"
	"   WHEN 2 THEN d.subscription_name END) AS name,"
	"  min(l.billing_account_id) AS account"
	" FROM chargeback.cost_line l"
	" JOIN chargeback.cost_descriptor d ON d.customer_id = l.customer_id"
	"  AND d.period = l.period AND d.load_id = l.load_id"
	"  AND d.descriptor_id = l.descriptor_id"
	" JOIN chargeback.cost_load k ON k.load_id = l.load_id"
	" WHERE l.period = $1::date AND d.period = $1::date"
	"  AND k.metric = $2 AND k.state = 'committed'"
	" GROUP BY 1, 2)"
	" SELECT g.key, CASE WHEN $3::int = 1 THEN coalesce(g.name,"
	"   (SELECT c.display_name FROM chargeback.customer c"
	"    WHERE c.billing_account_id = g.account"
	"    AND c.customer_id = g.key)) ELSE g.name END,"
	"  g.currency, g.rows, g.cost, g.payg"
	" FROM g ORDER BY g.key COLLATE \"C\", g.currency COLLATE \"C\"";

/* Per-currency totals kept by the loader. */
struct currency {
	char code[8];
	size_t len;
	uint64_t rows;
	cb_money cost, payg;
};

struct cb_cost_load {
	/* lines: the control connection (lock, swap) and the first of two
	 * line streams; lines2 the second: the server's side of a COPY is
	 * the bottleneck, two streams use two cores. */
	PGconn *lines, *lines2, *descs;
	char *scope, *source;
	char period[8];       /* "YYYY-MM" */
	char period_date[11]; /* "YYYY-MM-01" */
	const char *metric;
	int32_t first_day, end_day; /* the period: [first_day, end_day) */
	int64_t load_id;
	char load_id_text[24];
	cb_buf lock_key;
	bool locked;
	bool broken; /* a row failed: only abort is possible */

	struct copybuf line_out, line_out2, desc_out, key, prefix, lower;
	bool to_second; /* the next lines go to the second stream */
	/* period and load_id fields, the same in every tuple */
	unsigned char fixed[8 + 12];
	struct cb_cost_cache *cache;
	int64_t next_descriptor;
	uint64_t rows;
	struct currency *cur;
	size_t ncur, capcur;

	PGresult *customers; /* sql_customers */
	int ncustomers;
};

/* ---- small helpers -------------------------------------------------- */

static const char *
metric_text(cb_cost_metric m)
{
	return m == CB_COST_ACTUAL      ? "actual"
	       : m == CB_COST_AMORTIZED ? "amortized"
					: NULL;
}

static int
db_error(PGconn *conn, PGresult *res, const char *what)
{
	return cb__store_error(conn, res, "cost load", what);
}

/* Run a statement with text parameters; *out (if given) owns the
 * result.  area names the API in a message ("cost load", "costs"). */
static int
qa(PGconn *conn, PGresult **out, const char *area, const char *what,
	const char *sql, int nparams, const char *const *params)
{
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return cb__store_error(conn, res, area, what);
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

static int
q(PGconn *conn, PGresult **out, const char *what, const char *sql, int nparams,
	const char *const *params)
{
	return qa(conn, out, "cost load", what, sql, nparams, params);
}

/* Run DDL formatted from our own integers (see the file comment), on
 * the stack: cleanup after an allocation failure must still work. */
#define DDL_MAX 512
static int ddl(PGconn *conn, const char *what, const char *fmt, ...)
	CB_FORMAT_PRINTF(3, 4);

static int
ddl(PGconn *conn, const char *what, const char *fmt, ...)
{
	char stmt[DDL_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(stmt, sizeof(stmt), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(stmt))
		return cb__error_set(CB_ERROR, CB_ERRCLASS_DB,
			"cost load: %s: statement too long", what);
	return q(conn, NULL, what, stmt, 0, NULL);
}

/* Run sql and ignore the outcome (cleanup after a failure: the error
 * that caused it is the one to keep). */
static void
quiet(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	if (conn && PQstatus(conn) == CONNECTION_OK)
		PQclear(PQexecParams(
			conn, sql, nparams, NULL, params, NULL, NULL, 0));
}

static void
notice(void *arg, const PGresult *res)
{
	char line[CB_ERROR_MESSAGE_MAX];

	CB_UNUSED(arg);
	cb__store_first_line(line, sizeof(line),
		PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	cb__log(CB_LOG_DEBUG, "store", "cost load: server: %s", line);
}

/* A second connection with the options of the store's own (PQconninfo
 * gives them all, password included, so nothing needs to be kept). */
static int
connect_like(cb_store *store, PGconn **out)
{
	PQconninfoOption *opts = PQconninfo(store->conn), *o;
	const char **keys = NULL, **values = NULL;
	char line[CB_ERROR_MESSAGE_MAX];
	const char *password = NULL;
	PGconn *conn = NULL;
	size_t n = 0;
	int error = 0;

	if (opts == NULL)
		return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"cost load: out of memory");
	for (o = opts; o->keyword; o++)
		n++;
	keys = cb__calloc(n + 1, sizeof(*keys));
	values = cb__calloc(n + 1, sizeof(*values));
	if (keys == NULL || values == NULL) {
		error = cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"cost load: out of memory");
		goto done;
	}
	n = 0;
	for (o = opts; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0)
			password = o->val;
		keys[n] = o->keyword;
		values[n++] = o->val;
	}
	conn = PQconnectdbParams(keys, values, 0);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		cb__store_first_line(line, sizeof(line),
			conn ? PQerrorMessage(conn) : "out of memory");
		/* The password is never in the message; make sure. */
		if (password && *password && strstr(line, password))
			snprintf(line, sizeof(line), "connection failed");
		error = cb__error_set(CB_EDB, CB_ERRCLASS_DB,
			"database: cost load: connecting: %s", line);
		goto done;
	}
	PQsetNoticeReceiver(conn, notice, NULL);
	*out = conn;
	conn = NULL;
done:
	if (conn)
		PQfinish(conn);
	cb__free(keys);
	cb__free(values);
	PQconninfoFree(opts);
	return error;
}

/* Append raw bytes to a COPY buffer. */
static int
put(struct copybuf *b, const void *data, size_t n)
{
	int error;

	if ((error = cb__copybuf_reserve(b, n)) < 0)
		return error;
	memcpy(b->ptr + b->len, data, n);
	b->len += n;
	return 0;
}

/* Send what b holds to the COPY on conn. */
static int
flush(PGconn *conn, struct copybuf *b, const char *what)
{
	if (b->len == 0)
		return 0;
	if (PQputCopyData(conn, (const char *)b->ptr, (int)b->len) != 1)
		return db_error(conn, NULL, what);
	b->len = 0;
	return 0;
}

/* ---- begin ---------------------------------------------------------- */

/* Drop the tables of load id and mark it failed (if still 'loading'). */
static int
drop_load(PGconn *conn, const char *id_text)
{
	int error;

	if ((error = ddl(conn, "dropping a killed load's tables",
		     "DROP TABLE IF EXISTS chargeback.cost_line_l%s, "
		     "chargeback.cost_descriptor_l%s",
		     id_text, id_text)) < 0)
		return error;
	return q(conn, NULL, "marking a killed load failed", sql_mark_failed, 1,
		&id_text);
}

/* Earlier loads of the key still 'loading' were killed (we hold the
 * key's lock, so none is running): remove what they left. */
static int
clean_leftovers(cb_cost_load *load)
{
	const char *params[] = { load->scope, load->period_date, load->metric };
	PGresult *res = NULL;
	int error;

	if ((error = q(load->lines, &res, "looking for killed loads",
		     sql_leftovers, 3, params)) < 0)
		return error;
	for (int i = 0; error == 0 && i < PQntuples(res); i++) {
		cb__log(CB_LOG_INFO, "store",
			"cost load: removing killed load %s of %s %s %s",
			PQgetvalue(res, i, 0), load->scope, load->period,
			load->metric);
		error = drop_load(load->lines, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return error;
}

/* Create a staging table, outside any transaction: LIKE locks the parent
 * until commit, and a COPY lasts minutes. */
static int
create_staging(cb_cost_load *load, PGconn *conn, const char *table)
{
	return ddl(conn, "creating a staging table",
		"CREATE TABLE chargeback.%s_l%s (LIKE chargeback.%s, "
		"CHECK (period = '%s' AND load_id = %s))",
		table, load->load_id_text, table, load->period_date,
		load->load_id_text);
}

/* BEGIN and start a COPY into the staging table.  freeze: the only
 * stream into its table, which it TRUNCATEs in the transaction so that
 * COPY FREEZE may write the rows frozen; two streams into one table
 * cannot (the TRUNCATE's lock would serialise them). */
static int
start_copy(cb_cost_load *load, PGconn *conn, const char *table,
	const char *columns, struct copybuf *out, bool freeze)
{
	cb_buf cmd = CB_BUF_INIT;
	PGresult *res = NULL;
	int error;

	if ((error = q(conn, NULL, "starting the staging transaction", "BEGIN",
		     0, NULL)) < 0 ||
		(freeze && (error = ddl(conn, "emptying a staging table",
				    "TRUNCATE chargeback.%s_l%s", table,
				    load->load_id_text)) < 0))
		goto done;
	if ((error = cb__buf_printf(&cmd,
		     "COPY chargeback.%s_l%s (%s) FROM STDIN (FORMAT binary%s)",
		     table, load->load_id_text, columns,
		     freeze ? ", FREEZE" : "")) < 0)
		goto done;
	res = PQexec(conn, cmd.ptr);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
		error = db_error(conn, res, "starting the copy");
		res = NULL;
		goto done;
	}
	error = put(out, cb__copy_header, CB_COPY_HEADER_LEN);
done:
	PQclear(res);
	cb_buf_dispose(&cmd);
	return error;
}

static void load_free(cb_cost_load *load);
static void load_discard(cb_cost_load *load);

int
cb_store_cost_load_begin(
	cb_cost_load **out, cb_store *store, const cb_cost_load_key *key)
{
	cb_cost_load *load = NULL;
	PGresult *res = NULL;
	int year, month, error;
	unsigned char *p;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(key);
	if (key->scope == NULL || *key->scope == '\0')
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost load: the scope is empty");
	if (!cb__month_parse(key->period, &year, &month))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost load: period '%.16s' is not YYYY-MM",
			key->period ? key->period : "");
	if (metric_text(key->metric) == NULL)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost load: unknown metric %d", (int)key->metric);

	if ((load = cb__calloc(1, sizeof(*load))) == NULL ||
		(load->scope = cb__strdup(key->scope)) == NULL ||
		(key->source &&
			(load->source = cb__strdup(key->source)) == NULL)) {
		error = cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"cost load: out of memory");
		goto fail;
	}
	memcpy(load->period, key->period, 8);
	snprintf(load->period_date, sizeof(load->period_date), "%s-01",
		key->period);
	load->metric = metric_text(key->metric);
	load->first_day = cb__days_from_civil(year, month, 1);
	load->end_day = load->first_day + cb__days_in_month(year, month);

	if ((error = connect_like(store, &load->lines)) < 0 ||
		(error = connect_like(store, &load->lines2)) < 0 ||
		(error = connect_like(store, &load->descs)) < 0 ||
		(error = cb__buf_printf(&load->lock_key,
			 "chargeback.cost_load\n%s\n%s\n%s", load->scope,
			 load->period, load->metric)) < 0 ||
		(error = q(load->lines, &res, "taking the load's lock",
			 sql_try_lock, 1,
			 (const char *const[]){ load->lock_key.ptr })) < 0)
		goto fail;
	load->locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	res = NULL;
	if (!load->locked) {
		error = cb__error_set(CB_ELOCKED, CB_ERRCLASS_DB,
			"a load of %s %s %s is already running", load->scope,
			load->period, load->metric);
		goto fail;
	}
	if ((error = clean_leftovers(load)) < 0 ||
		(error = q(load->lines, &res, "recording the load",
			 sql_insert_load, 4,
			 (const char *const[]){ load->scope, load->period_date,
				 load->metric, load->source })) < 0)
		goto fail;
	load->load_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(load->load_id_text, sizeof(load->load_id_text), "%" PRId64,
		load->load_id);
	PQclear(res);
	res = NULL;
	if ((error = q(load->lines, &load->customers, "reading the customers",
		     sql_customers, 0, NULL)) < 0)
		goto fail;
	load->ncustomers = PQntuples(load->customers);

	p = cb__copy_date(load->fixed, load->first_day);
	cb__copy_int8(p, load->load_id);
	if ((error = cb__cost_cache_new(&load->cache, 0)) < 0 ||
		(error = create_staging(load, load->lines, "cost_line")) < 0 ||
		(error = create_staging(load, load->descs, "cost_descriptor")) <
			0 ||
		(error = start_copy(load, load->lines, "cost_line",
			 line_columns, &load->line_out, false)) < 0 ||
		(error = start_copy(load, load->lines2, "cost_line",
			 line_columns, &load->line_out2, false)) < 0 ||
		(error = start_copy(load, load->descs, "cost_descriptor",
			 desc_columns, &load->desc_out, true)) < 0)
		goto fail;
	cb__log(CB_LOG_DEBUG, "store", "cost load %s: %s %s %s started",
		load->load_id_text, load->scope, load->period, load->metric);
	*out = load;
	return 0;
fail:
	PQclear(res);
	load_discard(load);
	return error;
}

/* ---- rows ----------------------------------------------------------- */

/* Compare (a, an) with the NUL-terminated b, bytewise like COLLATE "C". */
static int
cmp_text(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

/* The ARM customer of (account, tenant), or NULL. */
static const char *
customer_of(const cb_cost_load *load, const char *account, size_t account_len,
	const char *tenant, size_t tenant_len)
{
	int lo = 0, hi = load->ncustomers - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int c = cmp_text(account, account_len,
			PQgetvalue(load->customers, mid, 0));

		if (c == 0)
			c = cmp_text(tenant, tenant_len,
				PQgetvalue(load->customers, mid, 1));
		if (c == 0)
			return PQgetvalue(load->customers, mid, 2);
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The totals slot of a billing currency, added when new. */
static int
currency_slot(cb_cost_load *load, const cb_cost_row *row, uint32_t *out)
{
	const cb_cost_text *t = &row->text[CB_COST_BILLING_CURRENCY];
	size_t n = t->ptr ? t->len : 0;
	struct currency *c;

	if (n > sizeof(c->code) - 1)
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_DB,
			"part %" PRIu32 " line %" PRIu64 ": billing currency "
			"'%.*s' is longer than %zu bytes",
			row->part, row->line, (int)(n < 16 ? n : 16), t->ptr,
			sizeof(c->code) - 1);
	for (size_t i = 0; i < load->ncur; i++)
		if (load->cur[i].len == n &&
			memcmp(load->cur[i].code, t->ptr, n) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	if (load->ncur == CURRENCIES_MAX)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_DB,
			"part %" PRIu32 " line %" PRIu64 ": more than %d "
			"billing currencies in one load",
			row->part, row->line, CURRENCIES_MAX);
	if (load->ncur == load->capcur) {
		size_t cap = load->capcur ? load->capcur * 2 : 4;
		struct currency *g =
			cb__reallocarray(load->cur, cap, sizeof(*g));

		if (g == NULL)
			return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
				"cost load: out of memory");
		load->cur = g;
		load->capcur = cap;
	}
	c = &load->cur[load->ncur];
	memset(c, 0, sizeof(*c));
	if (n)
		memcpy(c->code, t->ptr, n);
	c->len = n;
	*out = (uint32_t)load->ncur++;
	return 0;
}

/* The resource columns go with the line, not the descriptor: in real
 * data a descriptor repeats daily for each resource, but a generator (or
 * a file) that names a new resource on every line would otherwise make
 * every descriptor distinct, and the store would write each line twice. */
static bool
line_text(int field)
{
	return field == CB_COST_RESOURCE_GROUP || field == CB_COST_RESOURCE_ID;
}

/* Encode the descriptor's content (everything but the key fields) into
 * load->key. */
static int
encode_descriptor(cb_cost_load *load, const cb_cost_row *row)
{
	size_t need = 4 * (CB_COST_TEXT_COUNT + 3) + 8 * CB_COST_DATE_COUNT +
		      5 * 2 + 3;
	const cb_cost_text *json[2] = { &row->additional_info, &row->extra };
	signed char flags[2] = { row->credit_eligible, row->pec_applied };
	unsigned char *p;
	int error;

	for (int i = 0; i < CB_COST_TEXT_COUNT; i++)
		if (row->text[i].ptr && !line_text(i))
			need += row->text[i].len;
	for (int i = 0; i < 2; i++)
		if (json[i]->ptr)
			need += json[i]->len;
	if (need > DESCRIPTOR_MAX)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_DB,
			"part %" PRIu32 " line %" PRIu64 ": the line's text "
			"columns hold %zu bytes, more than %zu",
			row->part, row->line, need, DESCRIPTOR_MAX);
	load->key.len = 0;
	if ((error = cb__copybuf_reserve(&load->key, need)) < 0)
		return error;
	p = load->key.ptr;
	for (int i = 0; i < CB_COST_TEXT_COUNT; i++) {
		const cb_cost_text *t = &row->text[i];

		if (line_text(i))
			continue;
		if (t->ptr)
			p = cb__copy_text(p, t->ptr, t->len);
		else if (i == CB_COST_BILLING_ACCOUNT_ID)
			p = cb__copy_text(p, "", 0); /* NOT NULL: '' */
		else
			p = cb__copy_null(p);
	}
	for (int i = 0; i < CB_COST_DATE_COUNT; i++)
		p = row->date_present[i] ? cb__copy_date(p, row->dates[i])
					 : cb__copy_null(p);
	for (int i = 0; i < 2; i++)
		p = flags[i] < 0 ? cb__copy_null(p)
				 : cb__copy_bool(p, flags[i] != 0);
	for (int i = 0; i < 2; i++)
		p = json[i]->ptr ? cb__copy_jsonb(p, json[i]->ptr, json[i]->len)
				 : cb__copy_null(p);
	load->key.len = (size_t)(p - load->key.ptr);
	return 0;
}

/* A descriptor seen for the first time: decide its customer and
 * currency, send it, remember it. */
static int
new_descriptor(
	cb_cost_load *load, const cb_cost_row *row, struct cb_cost_cached *d)
{
	const cb_cost_text *acct = &row->text[CB_COST_BILLING_ACCOUNT_ID];
	const cb_cost_text *tenant = &row->text[CB_COST_CUSTOMER_TENANT_ID];
	const char *account = acct->ptr ? acct->ptr : "";
	size_t account_len = acct->ptr ? acct->len : 0;
	const char *customer = "";
	size_t customer_len = 0;
	unsigned char *p;
	int error;

	/* customer_id: the rule of 005_costs.sql. */
	if (tenant->ptr && tenant->len > 0) {
		const char *arm;

		load->lower.len = 0;
		if ((error = cb__copybuf_reserve(&load->lower, tenant->len)) <
			0)
			return error;
		for (size_t i = 0; i < tenant->len; i++) {
			char ch = tenant->ptr[i];

			load->lower.ptr[i] =
				(unsigned char)(ch >= 'A' && ch <= 'Z' ? ch + 32
								       : ch);
		}
		arm = customer_of(load, account, account_len,
			(const char *)load->lower.ptr, tenant->len);
		if (arm) {
			customer = arm;
			customer_len = strlen(arm);
		} else {
			customer = (const char *)load->lower.ptr;
			customer_len = tenant->len;
		}
	}
	if ((error = currency_slot(load, row, &d->currency)) < 0)
		return error;
	d->id = ++load->next_descriptor;

	/* Every line of this descriptor starts with these two fields. */
	load->prefix.len = 0;
	if ((error = cb__copybuf_reserve(
		     &load->prefix, 8 + account_len + customer_len)) < 0)
		return error;
	p = cb__copy_text(load->prefix.ptr, account, account_len);
	p = cb__copy_text(p, customer, customer_len);
	load->prefix.len = (size_t)(p - load->prefix.ptr);
	d->prefix = load->prefix.ptr;
	d->prefix_len = (uint32_t)load->prefix.len;

	if ((error = cb__copybuf_reserve(&load->desc_out,
		     2 + 4 + customer_len + sizeof(load->fixed) + 12 +
			     load->key.len)) < 0)
		return error;
	p = load->desc_out.ptr + load->desc_out.len;
	p = cb__copy_u16(p, DESC_FIELDS);
	p = cb__copy_text(p, customer, customer_len);
	memcpy(p, load->fixed, sizeof(load->fixed));
	p += sizeof(load->fixed);
	p = cb__copy_int8(p, d->id);
	memcpy(p, load->key.ptr, load->key.len);
	p += load->key.len;
	load->desc_out.len = (size_t)(p - load->desc_out.ptr);

	return cb__cost_cache_insert(load->cache, load->key.ptr, load->key.len,
		d->id, load->prefix.ptr, load->prefix.len, d->currency);
}

static int
row_error(cb_cost_load *load, int error)
{
	load->broken = true;
	return error;
}

/* Bytes the line's own text columns take (resource group, id, tags). */
static size_t
line_text_bytes(const cb_cost_row *row)
{
	size_t n = row->tags.ptr ? row->tags.len + 1 : 0;

	for (int i = 0; i < CB_COST_TEXT_COUNT; i++)
		if (line_text(i) && row->text[i].ptr)
			n += row->text[i].len;
	return n;
}

static unsigned char *
copy_opt_text(unsigned char *p, const cb_cost_text *t)
{
	return t->ptr ? cb__copy_text(p, t->ptr, t->len) : cb__copy_null(p);
}

int
cb_store_cost_load_row(cb_cost_load *load, const cb_cost_row *row)
{
	struct cb_cost_cached d;
	struct currency *cur;
	struct copybuf *out;
	unsigned char *p;
	int error;

	CB_ASSERT_ARG(load);
	CB_ASSERT_ARG(row);
	if (load->broken)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_DB,
			"cost load %s: an earlier row failed; abort the load",
			load->load_id_text);
	if (row->date < load->first_day || row->date >= load->end_day) {
		char day[CB_DAY_TEXT_MAX];

		cb__day_text(day, row->date);
		return row_error(load,
			cb__error_set(CB_EPARSE, CB_ERRCLASS_DB,
				"part %" PRIu32 " line %" PRIu64 ": date %s is "
				"outside the period %s",
				row->part, row->line, day, load->period));
	}
	if (row->part > (uint32_t)INT32_MAX || row->line > (uint64_t)INT64_MAX)
		return row_error(load,
			cb__error_set(CB_EINVAL, CB_ERRCLASS_DB,
				"part %" PRIu32 " line %" PRIu64 ": part or "
				"line number out of range",
				row->part, row->line));

	if ((error = encode_descriptor(load, row)) < 0)
		return row_error(load, error);
	if (!cb__cost_cache_find(
		    load->cache, load->key.ptr, load->key.len, &d) &&
		(error = new_descriptor(load, row, &d)) < 0)
		return row_error(load, error);

	/* The line. */
	out = load->to_second ? &load->line_out2 : &load->line_out;
	if ((error = cb__copybuf_reserve(out,
		     2 + d.prefix_len + sizeof(load->fixed) + 8 + 12 + 12 + 8 +
			     3 * 4 + line_text_bytes(row) +
			     CB_COST_AMOUNT_COUNT * CB_COPY_NUMERIC_MAX)) < 0)
		return row_error(load, error);
	p = out->ptr + out->len;
	p = cb__copy_u16(p, LINE_FIELDS);
	memcpy(p, d.prefix, d.prefix_len);
	p += d.prefix_len;
	memcpy(p, load->fixed, sizeof(load->fixed));
	p += sizeof(load->fixed);
	p = cb__copy_int4(p, (int32_t)row->part);
	p = cb__copy_int8(p, (int64_t)row->line);
	p = cb__copy_int8(p, d.id);
	p = cb__copy_date(p, row->date);
	p = copy_opt_text(p, &row->text[CB_COST_RESOURCE_GROUP]);
	p = copy_opt_text(p, &row->text[CB_COST_RESOURCE_ID]);
	p = row->tags.ptr ? cb__copy_jsonb(p, row->tags.ptr, row->tags.len)
			  : cb__copy_null(p);
	for (int i = 0; i < CB_COST_AMOUNT_COUNT; i++)
		p = row->amount_present[i]
			    ? cb__copy_numeric(p, row->amounts[i])
			    : cb__copy_null(p);
	out->len = (size_t)(p - out->ptr);

	/* Totals, exact. */
	cur = &load->cur[d.currency];
	if ((row->amount_present[CB_COST_COST_BILLING] &&
		    cb_money_add(&cur->cost, cur->cost,
			    row->amounts[CB_COST_COST_BILLING]) < 0) ||
		(row->amount_present[CB_COST_PAYG_COST_BILLING] &&
			cb_money_add(&cur->payg, cur->payg,
				row->amounts[CB_COST_PAYG_COST_BILLING]) < 0))
		return row_error(
			load, cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
				      "part %" PRIu32 " line %" PRIu64 ": the "
				      "load's sum in '%s' is out of range",
				      row->part, row->line, cur->code));
	cur->rows++;
	load->rows++;

	if (out->len >= FLUSH_BYTES) {
		/* A full buffer goes out, the next lines to the other
		 * stream. */
		error = flush(load->to_second ? load->lines2 : load->lines, out,
			"sending lines");
		load->to_second = !load->to_second;
		if (error < 0)
			return row_error(load, error);
	}
	if (load->desc_out.len >= FLUSH_BYTES &&
		(error = flush(load->descs, &load->desc_out,
			 "sending descriptors")) < 0)
		return row_error(load, error);
	return 0;
}

/* ---- commit and abort ----------------------------------------------- */

/* The columns reports join and group on: statistics on these only take a
 * fraction of a whole-table ANALYZE of 60 text columns. */
static const char analyze_line_columns[] = "customer_id, descriptor_id, date";
static const char analyze_desc_columns[] =
	"customer_id, descriptor_id, billing_currency, subscription_id, "
	"service_family, meter_category, charge_type, publisher_type";

/* Start ANALYZE of a staging table on conn without waiting. */
static void
analyze_send(cb_cost_load *load, PGconn *conn, const char *table,
	const char *columns)
{
	char stmt[DDL_MAX];

	snprintf(stmt, sizeof(stmt), "ANALYZE chargeback.%s_l%s (%s)", table,
		load->load_id_text, columns);
	if (PQsendQuery(conn, stmt) != 1)
		cb__log(CB_LOG_WARN, "store", "cost load %s: analyze: %s",
			load->load_id_text, PQerrorMessage(conn));
}

/* Collect an analyze_send(); a failure only costs statistics. */
static void
analyze_wait(PGconn *conn)
{
	PGresult *res;

	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			cb__log(CB_LOG_WARN, "store", "cost load: analyze: %s",
				PQresultErrorMessage(res));
		PQclear(res);
	}
}

/* End the COPY on conn; *count receives the rows the server took. */
static int
end_copy(PGconn *conn, struct copybuf *b, const char *what, uint64_t *count)
{
	unsigned char trailer[CB_COPY_TRAILER_LEN] = { 0xff, 0xff };
	PGresult *res;
	int error = 0;

	if ((error = put(b, trailer, sizeof(trailer))) < 0 ||
		(error = flush(conn, b, what)) < 0)
		return error;
	if (PQputCopyEnd(conn, NULL) != 1)
		return db_error(conn, NULL, what);
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (error == 0)
				error = db_error(conn, res, what);
			else
				PQclear(res);
			continue;
		}
		*count = strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	return error;
}

static int
cmp_currency(const void *a, const void *b)
{
	const struct currency *x = a, *y = b;

	return strcmp(x->code, y->code);
}

/* Check what the server stored against what was sent: the count, and
 * the two sums over every line.  Summing across currencies means
 * nothing as money; here it is a checksum of the numeric encoding, and
 * it needs no join with the descriptors (a join costs more than the rest
 * of the commit). */
static int
verify(cb_cost_load *load)
{
	cb_buf text = CB_BUF_INIT;
	PGresult *res = NULL;
	cb_money sent[2] = { CB_MONEY_ZERO, CB_MONEY_ZERO }, got;
	static const char *const names[2] = { "costInBillingCurrency",
		"paygCostInBillingCurrency" };
	uint64_t rows;
	int error;

	for (size_t i = 0; i < load->ncur; i++)
		if (cb_money_add(&sent[0], sent[0], load->cur[i].cost) < 0 ||
			cb_money_add(&sent[1], sent[1], load->cur[i].payg) < 0)
			return 0; /* beyond cb_money: the count must do */
	if ((error = cb__buf_printf(&text,
		     "SELECT count(*), "
		     "coalesce(sum(cost_in_billing_currency), 0), "
		     "coalesce(sum(payg_cost_in_billing_currency), 0) "
		     "FROM chargeback.cost_line_l%s",
		     load->load_id_text)) < 0 ||
		(error = q(load->lines, &res, "checking the stored totals",
			 text.ptr, 0, NULL)) < 0)
		goto done;
	rows = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	if (rows != load->rows) {
		error = cb__error_set(CB_ECONFLICT, CB_ERRCLASS_DB,
			"cost load %s: the database holds %" PRIu64
			" lines, %" PRIu64 " were sent",
			load->load_id_text, rows, load->rows);
		goto done;
	}
	for (int k = 0; k < 2; k++) {
		const char *v = PQgetvalue(res, 0, 1 + k);
		char want[CB_MONEY_STR_MAX];

		if ((error = cb_money_parse(&got, v, strlen(v))) < 0)
			goto done;
		if (cb_money_cmp(got, sent[k]) == 0)
			continue;
		cb_money_format(want, sizeof(want), sent[k]);
		error = cb__error_set(CB_ECONFLICT, CB_ERRCLASS_DB,
			"cost load %s: the database sums %s to %s, %s was "
			"sent",
			load->load_id_text, names[k], v, want);
		goto done;
	}
done:
	PQclear(res);
	cb_buf_dispose(&text);
	return error;
}

/* Append a JSON string (the currency codes are short file text). */
static int
json_string(cb_buf *b, const char *s)
{
	int error = cb__buf_putc(b, '"');

	for (; error == 0 && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			error = cb__buf_printf(b, "\\%c", ch);
		else if (ch < 0x20)
			error = cb__buf_printf(b, "\\u%04x", ch);
		else
			error = cb__buf_putc(b, (char)ch);
	}
	return error ? error : cb__buf_putc(b, '"');
}

static int
totals_json(cb_buf *b, const cb_cost_load *load)
{
	int error = cb__buf_putc(b, '{');

	for (size_t i = 0; error == 0 && i < load->ncur; i++) {
		const struct currency *c = &load->cur[i];
		char cost[CB_MONEY_STR_MAX], payg[CB_MONEY_STR_MAX];

		cb_money_format(cost, sizeof(cost), c->cost);
		cb_money_format(payg, sizeof(payg), c->payg);
		if ((i && (error = cb__buf_putc(b, ',')) < 0) ||
			(error = json_string(b, c->code)) < 0)
			break;
		error = cb__buf_printf(b,
			":{\"rows\":%" PRIu64
			",\"cost\":\"%s\",\"paygCost\":\"%s\"}",
			c->rows, cost, payg);
	}
	return error ? error : cb__buf_putc(b, '}');
}

/* The swap: one transaction makes the staged tables the key's data. */
static int
swap(cb_cost_load *load)
{
	const char *key[] = { load->scope, load->period_date, load->metric };
	char month[16], rows[24], descriptors[24];
	cb_buf period_lock = CB_BUF_INIT, totals = CB_BUF_INIT;
	PGresult *res = NULL;
	int error;

	snprintf(month, sizeof(month), "y%.4sm%.2s", load->period,
		load->period + 5);
	snprintf(rows, sizeof(rows), "%" PRIu64, load->rows);
	snprintf(descriptors, sizeof(descriptors), "%" PRId64,
		load->next_descriptor);
	if ((error = cb__buf_printf(&period_lock, "chargeback.cost_period\n%s",
		     load->period)) < 0 ||
		(error = totals_json(&totals, load)) < 0)
		goto done;
	if ((error = q(load->lines, NULL, "starting the swap", "BEGIN", 0,
		     NULL)) < 0 ||
		(error = q(load->lines, NULL, "taking the period's lock",
			 sql_period_lock, 1,
			 (const char *const[]){ period_lock.ptr })) < 0)
		goto done;
	for (int t = 0; t < 2; t++) {
		const char *table = t ? "cost_descriptor" : "cost_line";

		if ((error = ddl(load->lines, "creating the month's partition",
			     "CREATE TABLE IF NOT EXISTS chargeback.%s_%s "
			     "PARTITION OF chargeback.%s FOR VALUES IN ('%s') "
			     "PARTITION BY LIST (load_id)",
			     table, month, table, load->period_date)) < 0)
			goto done;
	}
	if ((error = q(load->lines, &res, "finding the replaced load",
		     sql_committed, 3, key)) < 0)
		goto done;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *old = PQgetvalue(res, r, 0);

		/* Dropping a partition detaches it first. */
		if ((error = ddl(load->lines, "dropping the replaced load",
			     "DROP TABLE IF EXISTS chargeback.cost_line_l%s, "
			     "chargeback.cost_descriptor_l%s",
			     old, old)) < 0)
			goto done;
	}
	for (int t = 0; t < 2; t++) {
		const char *table = t ? "cost_descriptor" : "cost_line";

		if ((error = ddl(load->lines, "attaching the new load",
			     "ALTER TABLE chargeback.%s_%s ATTACH PARTITION "
			     "chargeback.%s_l%s FOR VALUES IN (%s)",
			     table, month, table, load->load_id_text,
			     load->load_id_text)) < 0)
			goto done;
	}
	PQclear(res);
	res = NULL;
	if ((error = q(load->lines, NULL, "marking the replaced load",
		     sql_supersede, 3, key)) < 0 ||
		(error = q(load->lines, &res, "marking the load committed",
			 sql_mark_committed, 4,
			 (const char *const[]){ load->load_id_text, rows,
				 descriptors, totals.ptr })) < 0)
		goto done;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		error = cb__error_set(CB_ECONFLICT, CB_ERRCLASS_DB,
			"cost load %s: the load is no longer 'loading' "
			"(another run cleaned it up)",
			load->load_id_text);
		goto done;
	}
	cb__fault_point("swap");
	error = q(load->lines, NULL, "committing the swap", "COMMIT", 0, NULL);
	if (error == 0)
		cb__fault_point("committed");
done:
	if (error && PQtransactionStatus(load->lines) != PQTRANS_IDLE)
		quiet(load->lines, "ROLLBACK", 0, NULL);
	PQclear(res);
	cb_buf_dispose(&period_lock);
	cb_buf_dispose(&totals);
	return error;
}

static int
fill_totals(const cb_cost_load *load, cb_cost_totals *out)
{
	cb_cost_totals t = CB_COST_TOTALS_INIT;

	t.load_id = load->load_id;
	t.rows = load->rows;
	t.descriptors = (uint64_t)load->next_descriptor;
	if (load->ncur && (t.currencies = cb__calloc(
				   load->ncur, sizeof(*t.currencies))) == NULL)
		return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"cost load: out of memory");
	t.currency_count = load->ncur;
	for (size_t i = 0; i < load->ncur; i++) {
		memcpy(t.currencies[i].currency, load->cur[i].code,
			sizeof(t.currencies[i].currency));
		t.currencies[i].rows = load->cur[i].rows;
		t.currencies[i].cost = load->cur[i].cost;
		t.currencies[i].payg_cost = load->cur[i].payg;
	}
	*out = t;
	return 0;
}

int
cb_store_cost_load_commit(cb_cost_load *load, cb_cost_totals *out)
{
	cb_cost_totals totals = CB_COST_TOTALS_INIT;
	uint64_t lines = 0, lines2 = 0, descs = 0;
	int error;

	CB_ASSERT_ARG(load);
	if (load->broken) {
		error = cb__error_set(CB_EINVAL, CB_ERRCLASS_DB,
			"cost load %s: an earlier row failed; nothing was "
			"stored",
			load->load_id_text);
		goto fail;
	}
	if ((error = end_copy(load->lines, &load->line_out, "sending lines",
		     &lines)) < 0 ||
		(error = end_copy(load->lines2, &load->line_out2,
			 "sending lines", &lines2)) < 0 ||
		(error = end_copy(load->descs, &load->desc_out,
			 "sending descriptors", &descs)) < 0)
		goto fail;
	lines += lines2;
	cb__fault_point("copy-end");
	if (lines != load->rows || descs != (uint64_t)load->next_descriptor) {
		error = cb__error_set(CB_ECONFLICT, CB_ERRCLASS_DB,
			"cost load %s: the database took %" PRIu64 " lines "
			"and %" PRIu64 " descriptors, %" PRIu64 " and %" PRId64
			" were sent",
			load->load_id_text, lines, descs, load->rows,
			load->next_descriptor);
		goto fail;
	}
	if ((error = ddl(load->descs, "indexing the descriptors",
		     "ALTER TABLE chargeback.cost_descriptor_l%s ADD PRIMARY "
		     "KEY (customer_id, period, load_id, descriptor_id)",
		     load->load_id_text)) < 0 ||
		(error = q(load->descs, NULL, "committing the descriptors",
			 "COMMIT", 0, NULL)) < 0 ||
		(error = q(load->lines, NULL, "committing the lines", "COMMIT",
			 0, NULL)) < 0 ||
		(error = q(load->lines2, NULL, "committing the lines", "COMMIT",
			 0, NULL)) < 0)
		goto fail;
	if (load->ncur > 1)
		qsort(load->cur, load->ncur, sizeof(*load->cur), cmp_currency);
	/* Statistics now, not when autovacuum comes by (the reports of the
	 * month run right after a load), on the two idle connections while
	 * the totals are checked; the swap's ATTACH waits for them. */
	analyze_send(load, load->lines2, "cost_line", analyze_line_columns);
	analyze_send(
		load, load->descs, "cost_descriptor", analyze_desc_columns);
	/* Everything that may fail is done before the swap commits. */
	error = out ? fill_totals(load, &totals) : 0;
	if (error == 0)
		error = verify(load);
	if (error == 0)
		error = swap(load);
	analyze_wait(load->lines2);
	analyze_wait(load->descs);
	if (error < 0)
		goto fail;
	cb__log(CB_LOG_DEBUG, "store",
		"cost load %s: committed %" PRIu64 " lines, %" PRId64
		" descriptors (cache cleared %zu times)",
		load->load_id_text, load->rows, load->next_descriptor,
		cb__cost_cache_clears(load->cache));
	if (out) {
		cb_cost_totals_dispose(out);
		*out = totals;
	}
	quiet(load->lines, sql_unlock, 1,
		(const char *const[]){ load->lock_key.ptr });
	load_free(load);
	return 0;
fail:
	cb_cost_totals_dispose(&totals);
	load_discard(load);
	return error;
}

/* End a COPY in progress with an error and roll its transaction back. */
static void
cancel(PGconn *conn)
{
	PGresult *res;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		return;
	if (PQputCopyEnd(conn, "load aborted") == 1)
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		quiet(conn, "ROLLBACK", 0, NULL);
}

/* Leave nothing behind, keeping the error that led here: roll back,
 * drop committed staging tables, mark the load failed, unlock, free.  If
 * the server is gone, the next load of the key cleans up. */
static void
load_discard(cb_cost_load *load)
{
	if (load == NULL)
		return;
	cancel(load->descs);
	cancel(load->lines2);
	cancel(load->lines);
	if (load->load_id && load->lines &&
		PQstatus(load->lines) == CONNECTION_OK) {
		char stmt[DDL_MAX];

		snprintf(stmt, sizeof(stmt),
			"DROP TABLE IF EXISTS chargeback.cost_line_l%s, "
			"chargeback.cost_descriptor_l%s",
			load->load_id_text, load->load_id_text);
		quiet(load->lines, stmt, 0, NULL);
		quiet(load->lines, sql_mark_failed, 1,
			(const char *const[]){ load->load_id_text });
	}
	if (load->locked)
		quiet(load->lines, sql_unlock, 1,
			(const char *const[]){ load->lock_key.ptr });
	load_free(load);
}

void
cb_store_cost_load_abort(cb_cost_load *load)
{
	load_discard(load);
}

static void
load_free(cb_cost_load *load)
{
	if (load == NULL)
		return;
	if (load->lines)
		PQfinish(load->lines);
	if (load->lines2)
		PQfinish(load->lines2);
	if (load->descs)
		PQfinish(load->descs);
	PQclear(load->customers);
	cb__cost_cache_free(load->cache);
	cb__copybuf_dispose(&load->line_out);
	cb__copybuf_dispose(&load->line_out2);
	cb__copybuf_dispose(&load->desc_out);
	cb__copybuf_dispose(&load->key);
	cb__copybuf_dispose(&load->prefix);
	cb__copybuf_dispose(&load->lower);
	cb_buf_dispose(&load->lock_key);
	cb__free(load->cur);
	cb__free(load->scope);
	cb__free(load->source);
	cb__free(load);
}

void
cb_cost_totals_dispose(cb_cost_totals *totals)
{
	if (totals == NULL)
		return;
	cb__free(totals->currencies);
	memset(totals, 0, sizeof(*totals));
}

/* ---- reporting ------------------------------------------------------ */

int
cb_store_costs(cb_store *store, const char *period, cb_cost_metric metric,
	cb_costs_by by, cb_costs_group_cb cb, void *payload)
{
	char period_date[11], by_text[8];
	PGresult *res = NULL;
	int year, month, error = 0;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	if (!cb__month_parse(period, &year, &month))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"costs: period '%.16s' is not YYYY-MM",
			period ? period : "");
	if (metric_text(metric) == NULL)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"costs: unknown metric %d", (int)metric);
	if ((int)by < CB_COSTS_BY_NONE || by > CB_COSTS_BY_DAY)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"costs: unknown grouping %d", (int)by);
	snprintf(period_date, sizeof(period_date), "%s-01", period);
	snprintf(by_text, sizeof(by_text), "%d", (int)by);
	if ((error = qa(store->conn, &res, "costs", "reading stored cost",
		     sql_costs, 3,
		     (const char *const[]){
			     period_date, metric_text(metric), by_text })) < 0)
		return error;
	for (int r = 0; error == 0 && r < PQntuples(res); r++) {
		cb_costs_group g = { 0 };
		const char *cost = PQgetvalue(res, r, 4);
		const char *payg = PQgetvalue(res, r, 5);

		g.key = PQgetisnull(res, r, 0) ? NULL : PQgetvalue(res, r, 0);
		g.label = PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1);
		g.currency = PQgetvalue(res, r, 2);
		g.rows = strtoull(PQgetvalue(res, r, 3), NULL, 10);
		if ((error = cb_money_parse(&g.cost, cost, strlen(cost))) < 0 ||
			(error = cb_money_parse(
				 &g.payg_cost, payg, strlen(payg))) < 0)
			break;
		error = cb(&g, payload);
	}
	PQclear(res);
	return error;
}
