/*
 * tests/unit/tenants/test_budget.c - budget templates in the
 * configuration (every validation error, exactly), the history amount's
 * exact rounding, and plan/apply against an in-process armsim and the
 * real PostgreSQL of CHARGEBACK_TEST_DSN (a scratch database per test).
 */
#include "core/common.h"

#include "chargeback/budget.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "sql/store_internal.h"
#include "tests/unit/emulator/fixture.h"

#include <stdlib.h>
#include <unistd.h>

#define SECRET "budget-test-secret"

int cb__budget_round_up(cb_money *out, cb_money sum, cb_money percent,
	int months, cb_money step);

#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

static cb_money
M(const char *s)
{
	cb_money m;

	assert_int_equal(0, cb_money_parse(&m, s, strlen(s)));
	return m;
}

static void
assert_money(const char *want, cb_money m)
{
	char t[CB_MONEY_STR_MAX];

	cb_money_format(t, sizeof(t), m);
	assert_string_equal(want, t);
}

/* ------------------------------------------------------------------ */
/* Configuration */

#define NOTE                                                 \
	"notifications = ( { type = \"Actual\"; operator = " \
	"\"GreaterThan\"; threshold = 80; emails = [\"a@b.example\"]; } );"

static void
test_config_reads_a_template(void **state)
{
	static const char text[] =
		"budgets = (\n"
		"  { name = \"std\"; select = { all = true; };\n"
		"    amount = 1234.56;\n"
		"    time_grain = \"Quarterly\"; start = \"2026-01-01\";\n"
		"    end = \"2027-06-30\";\n"
		"    notifications = (\n"
		"      { type = \"Forecasted\"; operator = "
		"\"GreaterThanOrEqualTo\";\n"
		"        threshold = 99.99; emails = [\"a@b.example\", "
		"\"c@d.example\"];\n"
		"        locale = \"de-de\"; enabled = false; } );\n"
		"    filter = ( { dimension = \"ResourceGroupName\"; values = "
		"[\"rg1\"]; },\n"
		"      { tag = \"env\"; values = [\"prod\", \"dev\"]; } ); },\n"
		"  { name = \"hist\"; select = { customers = [\"c1\", \"c2\"]; "
		"};\n"
		"    history = { percent = \"110\"; months = 3; step = 100; };\n"
		"    time_grain = \"Monthly\"; start = \"2026-02-01\"; " NOTE
		" }\n"
		");\n";
	cb_config *cfg = NULL;
	const cb_budget_config *b;

	(void)state;
	ASSERT_OK(cb_config_load_string(&cfg, text, "t.cfg"));
	assert_int_equal(2, cb_config_budget_count(cfg));
	b = cb_config_budget(cfg, 0);
	assert_string_equal("std", b->name);
	assert_int_equal(2, b->line);
	assert_int_equal(CB_BUDGET_SELECT_ALL, b->select);
	assert_true(b->fixed);
	assert_money("1234.56", b->amount);
	assert_int_equal(CB_BUDGET_QUARTERLY, b->grain);
	assert_string_equal("2026-01-01", b->start);
	assert_string_equal("2027-06-30", b->end);
	assert_int_equal(1, b->notification_count);
	assert_true(b->notifications[0].forecasted);
	assert_true(b->notifications[0].or_equal);
	assert_false(b->notifications[0].enabled);
	assert_money("99.99", b->notifications[0].threshold);
	assert_int_equal(2, b->notifications[0].email_count);
	assert_string_equal("c@d.example", b->notifications[0].emails[1]);
	assert_string_equal("de-de", b->notifications[0].locale);
	assert_int_equal(2, b->filter_count);
	assert_false(b->filters[0].tag);
	assert_true(b->filters[1].tag);
	assert_string_equal("dev", b->filters[1].values[1]);
	b = cb_config_budget(cfg, 1);
	assert_false(b->fixed);
	assert_money("110", b->percent);
	assert_int_equal(3, b->months);
	assert_money("100", b->step);
	assert_int_equal(CB_BUDGET_SELECT_CUSTOMERS, b->select);
	assert_int_equal(2, b->customer_count);
	assert_int_equal(12, b->customer_lines[1]);
	assert_null(cb_config_budget(cfg, 2));
	cb_config_free(cfg);
}

/* A number literal is read from its text: 0.1 and 1e-2 style values that
 * a double cannot hold come through exactly. */
static void
test_config_reads_number_literals_exactly(void **state)
{
	static const char text[] =
		"budgets = ( { name = \"x\"; select = { all = true; };\n"
		"  amount = 9007199254740993.1;\n"
		"  time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE
		" } );\n";
	cb_config *cfg = NULL;

	(void)state;
	ASSERT_OK(cb_config_load_string(&cfg, text, "t.cfg"));
	assert_money("9007199254740993.1", cb_config_budget(cfg, 0)->amount);
	cb_config_free(cfg);
}

struct bad_case {
	const char *body; /* the template's keys after name */
	const char *want; /* cb_error_last()->message */
};

static void
test_config_refuses_what_azure_would(void **state)
{
	static const struct bad_case cases[] = {
		{ "select = { all = true; }; amount = \"-5\";\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0].amount' must be a positive "
			"exact decimal: '-5'" },
		{ "select = { all = true; }; amount = \"12.3.4\";\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0].amount' must be a positive "
			"exact decimal: '12.3.4'" },
		{ "select = { all = true; }; amount = 0;\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0].amount' must be a positive "
			"exact decimal: '0'" },
		{ "select = { all = true; }; amount = 5; time_grain = "
		  "\"Monthly\";\n"
		  "start = \"2026-01-01\"; notifications = ( { type = "
		  "\"Actual\";\n"
		  "operator = \"GreaterThan\"; threshold = 1000.5; emails = "
		  "[\"a@b.example\"]; } );",
			"t.cfg:4: 'budgets[0].notifications[0].threshold' must "
			"be a percent greater than 0 and at most 1000 with at "
			"most 2 decimals (Azure refuses '1000.5')" },
		{ "select = { all = true; }; amount = 5; time_grain = "
		  "\"Monthly\";\n"
		  "start = \"2026-01-01\"; notifications = ( { type = "
		  "\"Actual\";\n"
		  "operator = \"GreaterThan\"; threshold = \"80.125\"; emails = "
		  "[\"a@b.example\"]; } );",
			"t.cfg:4: 'budgets[0].notifications[0].threshold' must "
			"be a percent greater than 0 and at most 1000 with at "
			"most 2 decimals (Azure refuses '80.125')" },
		{ "select = { all = true; }; amount = 5; time_grain = "
		  "\"Monthly\";\n"
		  "start = \"2026-01-01\"; notifications = ( { type = "
		  "\"Actual\";\n"
		  "operator = \"EqualTo\"; threshold = 80; emails = "
		  "[\"a@b.example\"]; } );",
			"t.cfg:4: 'budgets[0].notifications[0].operator' must "
			"be one of GreaterThan, GreaterThanOrEqualTo" },
		{ "select = { all = true; }; amount = 5; time_grain = "
		  "\"Monthly\";\n"
		  "start = \"2026-01-01\"; notifications = ( { threshold = "
		  "80;\n"
		  "emails = [\"not-an-address\"]; } );",
			"t.cfg:4: 'budgets[0].notifications[0].emails' entries "
			"must be e-mail addresses" },
		{ "select = { all = true; }; amount = 5; time_grain = "
		  "\"Monthly\";\n"
		  "start = \"2026-01-01\"; notifications = ( { threshold = "
		  "80;\n"
		  "emails = [\"a@b.example\"]; roles = [\"Owner\"]; } );",
			"t.cfg:4: 'budgets[0].notifications[0].roles': Azure "
			"accepts contact roles only at subscription and "
			"resource group scopes; customer budgets notify "
			"e-mails" },
		{ "select = { all = true; }; amount = 5; time_grain = "
		  "\"Monthly\";\n"
		  "start = \"2026-01-15\"; " NOTE,
			"t.cfg:3: 'budgets[0].start' must be the first day of "
			"a month: '2026-01-15'" },
		{ "select = { all = true; }; amount = 5; time_grain = "
		  "\"Weekly\";\n"
		  "start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0].time_grain' must be one of "
			"Monthly, Quarterly, Annually" },
		{ "select = { all = true; name = \"A*\"; }; amount = 5;\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0].select' must hold exactly one of "
			"all, customers, name or reseller" },
		{ "select = { all = true; }; amount = 5; history = { };\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0]' needs exactly one of amount and "
			"history" },
		{ "select = { all = true; }; amount = 5; colour = 1;\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: unknown key 'budgets[0].colour'" },
		{ "select = { all = true; }; amount = 5.5; history = { step = "
		  "1.5; };\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0]' needs exactly one of amount and "
			"history" },
		{ "select = { all = true; }; history = { months = 13; };\n"
		  "time_grain = \"Monthly\"; start = \"2026-01-01\"; " NOTE,
			"t.cfg:2: 'budgets[0].history.months' must be an "
			"integer from 1 to 12" },
	};
	char text[2048];

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		cb_config *cfg = NULL;

		snprintf(text, sizeof(text),
			"budgets = ( { name = \"x\";\n%s } );\n",
			cases[i].body);
		if (cb_config_load_string(&cfg, text, "t.cfg") != CB_ECONFIG)
			fail_msg("case %zu loaded", i);
		if (strcmp(cases[i].want, cb_error_last()->message) != 0)
			fail_msg("case %zu:\n want %s\n got  %s", i,
				cases[i].want, cb_error_last()->message);
	}
}

static void
test_config_limits_notifications(void **state)
{
	cb_buf text = CB_BUF_INIT;
	cb_config *cfg = NULL;

	(void)state;
	cb__buf_puts(&text, "budgets = ( { name = \"x\"; select = { all = "
			    "true; }; amount = 5;\n time_grain = \"Monthly\"; "
			    "start = \"2026-01-01\";\n notifications = (\n");
	for (int i = 1; i <= 6; i++)
		cb__buf_printf(&text,
			"%s{ threshold = %d; emails = [\"a@b.example\"]; }\n",
			i > 1 ? "," : "", i * 10);
	cb__buf_puts(&text, ") } );\n");
	assert_int_equal(
		CB_ECONFIG, cb_config_load_string(&cfg, text.ptr, "t.cfg"));
	assert_string_equal("t.cfg:9: 'budgets[0].notifications[5]': Azure "
			    "allows at most 5 Actual notifications",
		cb_error_last()->message);
	cb_buf_dispose(&text);
}

/* ------------------------------------------------------------------ */
/* Rounding */

static void
test_history_amount_rounds_up_exactly(void **state)
{
	cb_money out;

	(void)state;
	/* 1000 x 110% / 3 = 366.666... -> 400 */
	ASSERT_OK(cb__budget_round_up(&out, M("1000"), M("110"), 3, M("100")));
	assert_money("400", out);
	/* exactly on a step stays: 900 x 100% / 3 = 300 */
	ASSERT_OK(cb__budget_round_up(&out, M("900"), M("100"), 3, M("100")));
	assert_money("300", out);
	/* a hair above a step goes up */
	ASSERT_OK(cb__budget_round_up(
		&out, M("900.000000000000000003"), M("100"), 3, M("100")));
	assert_money("400", out);
	/* cents */
	ASSERT_OK(cb__budget_round_up(&out, M("10"), M("100"), 3, M("0.01")));
	assert_money("3.34", out);
	/* nothing spent: one step, as Azure refuses 0 */
	ASSERT_OK(cb__budget_round_up(&out, M("0"), M("110"), 3, M("100")));
	assert_money("100", out);
}

/* ------------------------------------------------------------------ */
/* Against armsim and PostgreSQL */

static cb_store *admin;
static const char *base_dsn;
static unsigned scratch_seq;

struct fx {
	as_server *s;
	char dbname[64];
	char dsn[1024];
	cb_store *store;
	char start[32]; /* the partner's month, YYYY-MM-01 */
	char as_of[32]; /* the month after it */
};

static void
exec_sql(cb_store *store, const char *sql, int n, const char *const *p)
{
	ASSERT_OK(cb__store_exec(store, NULL, "test", sql, n, p));
}

static const char *
query1(cb_store *store, const char *sql)
{
	static cb_buf out = CB_BUF_INIT;

	ASSERT_OK(cb__store_exec(store, &out, "test", sql, 0, NULL));
	return out.ptr;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	as_options o;
	char stmt[128];
	const as_partner *p;
	int y, m;

	assert_non_null(f);
	as_test_options(&o, 3);
	o.client_secret = SECRET;
	o.throttle = AS_TEST_CM_THROTTLE;
	f->s = as_test_start(&o);
	p = f->s->partner;
	snprintf(f->start, sizeof(f->start), "%04d-%02d-01", p->year, p->month);
	y = p->month == 12 ? p->year + 1 : p->year;
	m = p->month == 12 ? 1 : p->month + 1;
	snprintf(f->as_of, sizeof(f->as_of), "%04d-%02d-01", y, m);
	snprintf(f->dbname, sizeof(f->dbname), "cb_test_budget_%ld_%u",
		(long)getpid(), scratch_seq++);
	snprintf(f->dsn, sizeof(f->dsn), "%s dbname=%s", base_dsn, f->dbname);
	snprintf(stmt, sizeof(stmt), "CREATE DATABASE %s TEMPLATE template0",
		f->dbname);
	exec_sql(admin, stmt, 0, NULL);
	ASSERT_OK(cb_store_open(&f->store, f->dsn));
	ASSERT_OK(cb_store_migrate(f->store, NULL));
	for (size_t i = 0; i < p->naccounts; i++) {
		const char *a[] = { p->accounts[i].name };
		exec_sql(f->store,
			"INSERT INTO chargeback.billing_account (id) VALUES "
			"($1)",
			1, a);
	}
	for (size_t i = 0; i < p->ncustomers; i++) {
		const as_customer *c = &p->customers[i];
		const char *a[] = { p->accounts[c->account].name, c->id,
			c->display,
			c->reseller_mpn[0] ? c->reseller_mpn : NULL };
		exec_sql(f->store,
			"INSERT INTO chargeback.customer (billing_account_id,"
			" customer_id, display_name, reseller_id) VALUES ($1,"
			" $2, $3, $4)",
			4, a);
	}
	setenv("CB_TEST_BUDGET_SECRET", SECRET, 1);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	char stmt[128];

	cb_store_close(f->store);
	snprintf(
		stmt, sizeof(stmt), "DROP DATABASE %s WITH (FORCE)", f->dbname);
	exec_sql(admin, stmt, 0, NULL);
	as_server_stop(f->s);
	free(f);
	return 0;
}

/* A configuration for f's armsim with budgets text appended. */
static cb_config *
config(struct fx *f, const char *budgets)
{
	char base[128], text[8192];
	const char *tenant, *client;
	cb_config *cfg = NULL;

	as_server_base(f->s, base, sizeof(base));
	as_entra_ids(f->s, &tenant, &client);
	snprintf(text, sizeof(text),
		"azure = { tenant_id = \"%s\"; client_id = \"%s\";\n"
		"  client_secret_env = \"CB_TEST_BUDGET_SECRET\";\n"
		"  authority_host = \"%s\"; management_endpoint = \"%s\"; };\n"
		"%s",
		tenant, client, base, base, budgets);
	ASSERT_OK(cb_config_load_string(&cfg, text, "test.cfg"));
	return cfg;
}

static cb_budget_plan *
plan(struct fx *f, cb_config *cfg, int mode)
{
	cb_budget_options o = CB_BUDGET_OPTIONS_INIT;
	cb_budget_plan *p = NULL;

	o.mode = mode;
	o.as_of = f->as_of;
	ASSERT_OK(cb_budget_plan_new(&p, cfg, f->store, &o));
	return p;
}

static size_t
count_action(const cb_budget_plan *p, int action)
{
	size_t n = 0;

	for (size_t i = 0; i < cb_budget_plan_count(p); i++)
		n += cb_budget_plan_item(p, i)->action == action;
	return n;
}

static void
fixed_template(char *out, size_t outlen, const struct fx *f, const char *amount)
{
	snprintf(out, outlen,
		"budgets = ( { name = \"std\"; select = { all = true; };\n"
		"  amount = %s; time_grain = \"Monthly\"; start = \"%s\";\n"
		"  notifications = ( { threshold = 80; emails = "
		"[\"ops@partner.example\"]; locale = \"en-us\"; },\n"
		"    { type = \"Forecasted\"; threshold = 100.5; emails = "
		"[\"ops@partner.example\"]; } );\n"
		"  filter = ( { dimension = \"ResourceGroupName\"; values = "
		"[\"rg-a\", \"rg-b\"]; } ); } );\n",
		amount, f->start);
}

static void
test_plan_apply_converges_and_is_idempotent(void **state)
{
	struct fx *f = *state;
	size_t n = f->s->partner->ncustomers;
	char tpl[2048];
	cb_config *cfg;
	cb_budget_plan *p;

	fixed_template(tpl, sizeof(tpl), f, "\"5000.10\"");
	cfg = config(f, tpl);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	assert_int_equal(n, cb_budget_plan_count(p));
	assert_int_equal(n, count_action(p, CB_BUDGET_CREATE));
	assert_string_equal("cb-std", cb_budget_plan_item(p, 0)->budget_name);
	assert_string_equal("5000.1", cb_budget_plan_item(p, 0)->new_amount);
	ASSERT_OK(cb_budget_plan_apply(p, f->store));
	assert_int_equal(0, cb_budget_plan_failures(p));
	assert_int_equal(1, cb_budget_plan_item(p, 0)->applied);
	cb_budget_plan_free(p);
	assert_string_equal("3",
		query1(f->store, "SELECT count(*) FROM chargeback.budget_change"
				 " WHERE action = 'create' AND new_amount = "
				 "5000.10 AND old_amount IS NULL"));

	/* The second plan finds nothing to do. */
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	assert_int_equal(n, count_action(p, CB_BUDGET_UNCHANGED));
	ASSERT_OK(cb_budget_plan_apply(p, f->store));
	cb_budget_plan_free(p);
	assert_string_equal(
		"3", query1(f->store,
			     "SELECT count(*) FROM chargeback.budget_change"));
	cb_config_free(cfg);

	/* A new amount is an update naming the field. */
	fixed_template(tpl, sizeof(tpl), f, "6000");
	cfg = config(f, tpl);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	assert_int_equal(n, count_action(p, CB_BUDGET_UPDATE));
	assert_string_equal(
		"amount: 5000.1 -> 6000", cb_budget_plan_item(p, 0)->changes);
	cb_budget_plan_free(p);

	/* delete mode removes the managed budgets. */
	p = plan(f, cfg, CB_BUDGET_MODE_DELETE);
	assert_int_equal(n, count_action(p, CB_BUDGET_DELETE));
	ASSERT_OK(cb_budget_plan_apply(p, f->store));
	assert_int_equal(0, cb_budget_plan_failures(p));
	cb_budget_plan_free(p);
	p = plan(f, cfg, CB_BUDGET_MODE_LIST);
	assert_int_equal(0, cb_budget_plan_count(p));
	cb_budget_plan_free(p);
	cb_config_free(cfg);
}

/* The history amount: 110 % of the 3-month average of the customer's
 * ActualCost (armsim has cost in its one month), rounded up to 100. */
static void
test_history_amount_from_the_query_api(void **state)
{
	struct fx *f = *state;
	const as_partner *pa = f->s->partner;
	const as_customer *c = &pa->customers[0];
	char tpl[2048], target[1024], body[512], want[CB_MONEY_STR_MAX];
	cb_test_reply r;
	cb_config *cfg;
	cb_budget_plan *p;
	cb_money cost, k = cb_money_from_int(1), cover, target_sum;
	const char *num;

	snprintf(tpl, sizeof(tpl),
		"budgets = ( { name = \"hist\"; select = { customers = "
		"[\"%s\"]; };\n"
		"  history = { percent = 110; months = 3; step = 100; };\n"
		"  time_grain = \"Monthly\"; start = \"%s\"; " NOTE " } );\n",
		c->id, f->start);
	cfg = config(f, tpl);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	assert_int_equal(1, cb_budget_plan_count(p));

	/* The month's cost, asked of armsim directly. */
	snprintf(target, sizeof(target),
		"/providers/Microsoft.Billing/billingAccounts/%s/customers/%s/"
		"providers/Microsoft.CostManagement/query?api-version="
		"2024-08-01",
		pa->accounts[c->account].name, c->id);
	snprintf(body, sizeof(body),
		"{\"type\":\"ActualCost\",\"timeframe\":\"MonthToDate\","
		"\"dataset\":{\"granularity\":\"None\",\"aggregation\":{\"c\":"
		"{\"name\":\"Cost\",\"function\":\"Sum\"}}}}");
	as_test_call(f->s, &r, "POST", target,
		"Content-Type: "
		"application/json",
		body);
	assert_int_equal(200, r.status);
	num = strstr(r.body, "\"rows\":[[");
	assert_non_null(num);
	num += 9;
	assert_int_equal(0, cb_money_parse(&cost, num, strcspn(num, ",")));
	cb_test_reply_free(&r);
	assert_true(cb_money_sign(cost) > 0);
	/* Smallest k with k x 100 x 300 >= cost x 110. */
	assert_int_equal(0, cb_money_mul(&target_sum, cost, M("110")));
	for (;;) {
		cb_money_mul(&cover, k, M("30000"));
		if (cb_money_cmp(cover, target_sum) >= 0)
			break;
		cb_money_add(&k, k, cb_money_from_int(1));
	}
	cb_money_mul(&k, k, M("100"));
	cb_money_format(want, sizeof(want), k);
	assert_string_equal(want, cb_budget_plan_item(p, 0)->new_amount);
	cb_budget_plan_free(p);
	cb_config_free(cfg);
}

static void
test_plan_refuses_templates_the_store_cannot_satisfy(void **state)
{
	struct fx *f = *state;
	cb_budget_options o = CB_BUDGET_OPTIONS_INIT;
	cb_budget_plan *p = NULL;
	cb_config *cfg;
	char tpl[1024];

	snprintf(tpl, sizeof(tpl),
		"budgets = ( { name = \"x\"; select = { customers = [\n"
		"  \"nobody\"]; };\n"
		"  amount = 5; time_grain = \"Monthly\"; start = \"%s\"; " NOTE
		" } );\n",
		f->start);
	cfg = config(f, tpl);
	assert_int_equal(CB_ECONFIG, cb_budget_plan_new(&p, cfg, f->store, &o));
	assert_string_equal("test.cfg:5: budget 'x': unknown customer "
			    "'nobody' (not in the store; run chargeback sync)",
		cb_error_last()->message);
	cb_config_free(cfg);

	snprintf(tpl, sizeof(tpl),
		"budgets = ( { name = \"x\";\n"
		"  select = { name = \"No Such *\"; };\n"
		"  amount = 5; time_grain = \"Monthly\"; start = \"%s\"; " NOTE
		" } );\n",
		f->start);
	cfg = config(f, tpl);
	assert_int_equal(CB_ECONFIG, cb_budget_plan_new(&p, cfg, f->store, &o));
	assert_string_equal("test.cfg:5: budget 'x' selects no customer",
		cb_error_last()->message);
	assert_null(p);
	cb_config_free(cfg);
}

/* A budget edited at Azure between plan and apply: armsim refuses the
 * stale eTag; that customer is reported, the others applied. */
static void
test_apply_reports_a_stale_etag(void **state)
{
	struct fx *f = *state;
	const as_partner *pa = f->s->partner;
	const as_customer *c;
	char tpl[2048], target[1024], body[1024];
	cb_config *cfg;
	cb_budget_plan *p;
	const cb_budget_item *it = NULL;
	cb_test_reply r;

	fixed_template(tpl, sizeof(tpl), f, "100");
	cfg = config(f, tpl);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	ASSERT_OK(cb_budget_plan_apply(p, f->store));
	cb_budget_plan_free(p);
	cb_config_free(cfg);

	fixed_template(tpl, sizeof(tpl), f, "200");
	cfg = config(f, tpl);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	it = cb_budget_plan_item(p, 0);
	c = NULL;
	for (size_t i = 0; i < pa->ncustomers; i++)
		if (strcmp(pa->customers[i].id, it->customer_id) == 0)
			c = &pa->customers[i];
	assert_non_null(c);
	if (c == NULL)
		return; /* not reached; tells the optimiser c is set */
	snprintf(target, sizeof(target),
		"/providers/Microsoft.Billing/billingAccounts/%s/customers/%s/"
		"providers/Microsoft.Consumption/budgets/cb-std?api-version="
		"2024-08-01",
		pa->accounts[c->account].name, c->id);
	snprintf(body, sizeof(body),
		"{\"properties\":{\"category\":\"Cost\",\"amount\":150,"
		"\"timeGrain\":\"Monthly\",\"timePeriod\":{\"startDate\":"
		"\"%sT00:00:00Z\"},\"notifications\":{}}}",
		f->start);
	as_test_call(f->s, &r, "PUT", target, "Content-Type: application/json",
		body);
	assert_int_equal(200, r.status);
	cb_test_reply_free(&r);
	ASSERT_OK(cb_budget_plan_apply(p, f->store));
	assert_int_equal(1, cb_budget_plan_failures(p));
	it = cb_budget_plan_item(p, 0);
	assert_int_equal(-1, it->applied);
	assert_non_null(strstr(it->error, "There are changes made to Budget "
					  "cb-std. Please get the latest "
					  "budget to avoid overwrite."));
	assert_non_null(strstr(it->error, "PUT budget: PUT "));
	assert_int_equal(0, strncmp(it->error, "customer '", 10));
	assert_int_equal(1, cb_budget_plan_item(p, 1)->applied);
	assert_int_equal(1, cb_budget_plan_item(p, 2)->applied);
	cb_budget_plan_free(p);
	cb_config_free(cfg);
}

/* A changed start date (Azure cannot update it) is a delete and a
 * create in one update; a changed threshold names the notifications. */
static void
test_update_recreates_for_a_new_start(void **state)
{
	struct fx *f = *state;
	size_t n = f->s->partner->ncustomers;
	char tpl[2048], next[32], want[512];
	cb_config *cfg;
	cb_budget_plan *p;

	snprintf(tpl, sizeof(tpl),
		"budgets = ( { name = \"s\"; select = { all = true; };\n"
		"  amount = 10; time_grain = \"Monthly\"; start = \"%s\";\n"
		"  " NOTE " } );\n",
		f->start);
	cfg = config(f, tpl);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	ASSERT_OK(cb_budget_plan_apply(p, f->store));
	cb_budget_plan_free(p);
	cb_config_free(cfg);

	snprintf(next, sizeof(next), "%s", f->as_of);
	snprintf(tpl, sizeof(tpl),
		"budgets = ( { name = \"s\"; select = { all = true; };\n"
		"  amount = 10; time_grain = \"Monthly\"; start = \"%s\";\n"
		"  notifications = ( { threshold = 90.5; emails = "
		"[\"a@b.example\"]; } ); } );\n",
		next);
	cfg = config(f, tpl);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	assert_int_equal(n, count_action(p, CB_BUDGET_UPDATE));
	snprintf(want, sizeof(want),
		"startDate: %s -> %s; endDate: %04d%s -> %04d%s; "
		"notifications: +Actual_GreaterThan_90_5_Percent, "
		"-Actual_GreaterThan_80_Percent",
		f->start, next, f->s->partner->year + 10, f->start + 4,
		f->s->partner->year + (f->s->partner->month == 12) + 10,
		next + 4);
	assert_string_equal(want, cb_budget_plan_item(p, 0)->changes);
	ASSERT_OK(cb_budget_plan_apply(p, f->store));
	assert_int_equal(0, cb_budget_plan_failures(p));
	cb_budget_plan_free(p);
	p = plan(f, cfg, CB_BUDGET_MODE_PLAN);
	assert_int_equal(n, count_action(p, CB_BUDGET_UNCHANGED));
	cb_budget_plan_free(p);
	cb_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_reads_a_template),
		cmocka_unit_test(test_config_reads_number_literals_exactly),
		cmocka_unit_test(test_config_refuses_what_azure_would),
		cmocka_unit_test(test_config_limits_notifications),
		cmocka_unit_test(test_history_amount_rounds_up_exactly),
		cmocka_unit_test_setup_teardown(
			test_plan_apply_converges_and_is_idempotent, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_history_amount_from_the_query_api, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_plan_refuses_templates_the_store_cannot_satisfy,
			fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_apply_reports_a_stale_etag, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_update_recreates_for_a_new_start, fx_setup,
			fx_teardown),
	};
	int rc;

	base_dsn = getenv("CHARGEBACK_TEST_DSN");
	if (base_dsn == NULL || *base_dsn == '\0') {
		fprintf(stderr, "CHARGEBACK_TEST_DSN is not set\n");
		return 1;
	}
	if (cb_init() < 0 || cb_store_open(&admin, base_dsn) < 0) {
		fprintf(stderr, "%s\n", cb_error_last()->message);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cb_store_close(admin);
	cb_shutdown();
	return rc;
}
