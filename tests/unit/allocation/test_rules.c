/*
 * tests/unit/allocation/test_rules.c - the rule set: every field of a full
 * rules file, each refusal's exact message, the content hash, and the
 * markup matcher (customers, selectors, priority, effective dates).
 */
#include "core/common.h"
#include "core/calendar.h"
#include "tests/support/testsupport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#define assert_ok(expr)                                                   \
	do {                                                              \
		int rc_ = (expr);                                         \
		if (rc_ != 0)                                             \
			fail_msg("%s: %s: %s", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                \
	} while (0)

static void
assert_money(const char *want, cb_money v)
{
	char text[CB_MONEY_STR_MAX];

	assert_int_equal(0, cb_money_format(text, sizeof(text), v));
	assert_string_equal(want, text);
}

static void
assert_day(const char *want, int32_t d)
{
	char text[CB_DAY_TEXT_MAX];

	cb__day_text(text, d);
	assert_string_equal(want, text);
}

static void
fixture_path(char *out, size_t outlen, const char *name)
{
	const char *dir = cb_test_source_dir();

	snprintf(out, outlen, "%s/tests/fixtures/rules/%s", dir ? dir : ".",
		name);
}

static cb_rules *
load_fixture(const char *name)
{
	char path[1024];
	cb_rules *rs = NULL;

	fixture_path(path, sizeof(path), name);
	assert_ok(cb_rules_load(&rs, path));
	return rs;
}

static cb_rules *
load_text(const char *text)
{
	cb_rules *rs = NULL;

	assert_ok(cb_rules_load_string(&rs, text, "r.cfg"));
	return rs;
}

/* ---- the full file ------------------------------------------------------ */

static void
test_rules_full_allocation(void **state)
{
	cb_rules *rs = load_fixture("full.cfg");
	const cb_alloc_rule *a;

	(void)state;
	assert_int_equal(3, cb_rules_alloc_count(rs));
	assert_null(cb_rules_alloc(rs, 3));

	a = cb_rules_alloc(rs, 0);
	assert_string_equal("shared-network", a->name);
	assert_int_equal(10, a->priority);
	assert_int_equal(6, a->line);
	assert_string_equal(
		"11111111-2222-3333-4444-555555555555", a->source.subscription);
	assert_string_equal("rg-hub", a->source.resource_group);
	assert_null(a->source.tag_key);
	assert_null(a->source.meter_category);
	assert_null(a->source.service_family);
	assert_null(a->source.customer);
	assert_int_equal(CB_ALLOC_PERCENT, a->method);
	assert_null(a->proportional_family);
	assert_int_equal(3, a->target_count);
	/* sorted by customer */
	assert_string_equal("adatum", a->targets[0].customer);
	assert_money("33.333333333333333333", a->targets[0].percent);
	assert_int_equal(14, a->targets[0].line);
	assert_string_equal("contoso", a->targets[1].customer);
	assert_money("33.333333333333333333", a->targets[1].percent);
	assert_string_equal("fabrikam", a->targets[2].customer);
	assert_money("33.333333333333333334", a->targets[2].percent);
	assert_null(a->targets[2].cost_centre);
	assert_null(a->targets[2].tag_key);
	assert_null(a->targets[2].resource_group);

	a = cb_rules_alloc(rs, 1);
	assert_string_equal("rd-crosscharge", a->name);
	assert_int_equal(20, a->priority);
	assert_string_equal("contoso", a->source.customer);
	assert_string_equal("costcentre", a->source.tag_key);
	assert_string_equal("shared", a->source.tag_value);
	assert_null(a->source.subscription);
	assert_int_equal(CB_ALLOC_PROPORTIONAL, a->method);
	assert_string_equal("Compute", a->proportional_family);
	assert_int_equal(2, a->target_count);
	assert_null(a->targets[0].customer);
	assert_string_equal("R&D", a->targets[0].cost_centre);
	assert_string_equal("costcentre", a->targets[0].tag_key);
	assert_string_equal("rd", a->targets[0].tag_value);
	assert_null(a->targets[0].resource_group);
	assert_money("0", a->targets[0].percent);
	assert_string_equal("Sales", a->targets[1].cost_centre);
	assert_string_equal("rg-sales", a->targets[1].resource_group);
	assert_null(a->targets[1].tag_key);

	a = cb_rules_alloc(rs, 2);
	assert_string_equal("monitoring", a->name);
	assert_int_equal(30, a->priority);
	assert_string_equal("Log Analytics", a->source.meter_category);
	assert_string_equal(
		"Management and Governance", a->source.service_family);
	assert_int_equal(CB_ALLOC_EVEN, a->method);
	assert_int_equal(2, a->target_count);
	assert_string_equal("contoso", a->targets[0].customer);
	assert_string_equal("fabrikam", a->targets[1].customer);
	assert_int_equal(34, a->targets[1].line);
	cb_rules_free(rs);
}

static void
test_rules_full_markup(void **state)
{
	cb_rules *rs = load_fixture("full.cfg");
	const cb_markup_rule *m;

	(void)state;
	assert_int_equal(4, cb_rules_markup_count(rs));
	assert_null(cb_rules_markup(rs, 4));

	m = cb_rules_markup(rs, 0);
	assert_string_equal("marketplace", m->name);
	assert_int_equal(5, m->priority);
	assert_int_equal(39, m->line);
	assert_int_equal(CB_CUSTOMERS_ALL, m->customers);
	assert_int_equal(0, m->customer_value_count);
	assert_int_equal(CB_PUBLISHER_MARKETPLACE, m->match.publisher_type);
	assert_string_equal("Purchase", m->match.charge_type);
	assert_null(m->match.service_family);
	assert_int_equal(CB_MARKUP_BASE_COST, m->base);
	assert_int_equal(CB_MARKUP_PER_UNIT, m->kind);
	assert_money("0.25", m->per_unit);
	assert_false(m->has_from);
	assert_false(m->has_to);
	assert_false(m->has_minimum);
	assert_false(m->has_reseller_percent);
	assert_null(m->statement_currency);

	m = cb_rules_markup(rs, 1);
	assert_string_equal("contoso-compute", m->name);
	assert_int_equal(10, m->priority);
	assert_int_equal(CB_CUSTOMERS_IDS, m->customers);
	assert_int_equal(2, m->customer_value_count);
	assert_string_equal("adatum", m->customer_values[0]);
	assert_string_equal("contoso", m->customer_values[1]);
	assert_string_equal("Compute", m->match.service_family);
	assert_string_equal("Virtual Machines", m->match.meter_category);
	assert_string_equal("D2s v5", m->match.meter);
	assert_string_equal("OnDemand", m->match.pricing_model);
	assert_string_equal("env", m->match.tag_key);
	assert_string_equal("prod", m->match.tag_value);
	assert_int_equal(CB_PUBLISHER_ANY, m->match.publisher_type);
	assert_null(m->match.charge_type);
	assert_null(m->match.reseller);
	assert_int_equal(CB_MARKUP_BASE_RETAIL, m->base);
	assert_int_equal(CB_MARKUP_PERCENT, m->kind);
	assert_money("-7.5", m->percent);
	assert_true(m->has_from);
	assert_day("2026-01-01", m->effective_from);
	assert_true(m->has_to);
	assert_day("2027-01-01", m->effective_to);
	assert_true(m->has_minimum);
	assert_money("100", m->minimum_monthly);
	assert_string_equal("EUR", m->statement_currency);
	assert_money("0.9231", m->exchange_rate);

	m = cb_rules_markup(rs, 2);
	assert_string_equal("volume", m->name);
	assert_int_equal(50, m->priority);
	assert_int_equal(CB_CUSTOMERS_NAMES, m->customers);
	assert_int_equal(2, m->customer_value_count);
	assert_string_equal("Fabrikam*", m->customer_values[0]);
	assert_string_equal("North?ind", m->customer_values[1]);
	assert_string_equal("Litware", m->match.reseller);
	assert_int_equal(CB_MARKUP_TIERS, m->kind);
	assert_int_equal(3, m->tier_count);
	assert_money("0", m->tiers[0].from);
	assert_true(m->tiers[0].has_to);
	assert_money("10000", m->tiers[0].to);
	assert_money("20", m->tiers[0].percent);
	assert_money("10000", m->tiers[1].from);
	assert_money("50000.5", m->tiers[1].to);
	assert_money("15", m->tiers[1].percent);
	assert_money("50000.5", m->tiers[2].from);
	assert_false(m->tiers[2].has_to);
	assert_money("10", m->tiers[2].percent);
	assert_true(m->has_reseller_percent);
	assert_money("5", m->reseller_percent);

	m = cb_rules_markup(rs, 3);
	assert_string_equal("default", m->name);
	assert_int_equal(1000, m->priority);
	assert_int_equal(CB_MARKUP_PERCENT, m->kind);
	assert_money("15", m->percent);
	assert_int_equal(0, m->tier_count);
	assert_null(m->tiers);

	assert_int_equal(64, strlen(cb_rules_hash(rs)));
	assert_int_equal(64, strspn(cb_rules_hash(rs), "0123456789abcdef"));
	assert_non_null(strstr(cb_rules_source(rs), "full.cfg"));
	cb_rules_free(rs);
}

/* ---- the content hash --------------------------------------------------- */

static void
test_rules_hash_ignores_order_and_layout(void **state)
{
	cb_rules *a = load_fixture("full.cfg");
	cb_rules *b = load_fixture("reordered.cfg");

	(void)state;
	assert_string_equal(cb_rules_hash(a), cb_rules_hash(b));
	cb_rules_free(a);
	cb_rules_free(b);
}

#define HASH_BASE                                                             \
	"markup = ( { name = \"m\"; priority = 1; customers = { all = true; " \
	"}; base = \"cost\"; percent = %s; %s } );\n"

static void
hash_of(char out[CB_RULES_HASH_MAX], const char *percent, const char *more)
{
	char text[512];
	cb_rules *rs;

	snprintf(text, sizeof(text), HASH_BASE, percent, more);
	rs = load_text(text);
	memcpy(out, cb_rules_hash(rs), CB_RULES_HASH_MAX);
	cb_rules_free(rs);
}

static void
test_rules_hash_changes_with_any_value(void **state)
{
	char h0[CB_RULES_HASH_MAX], h1[CB_RULES_HASH_MAX];

	(void)state;
	hash_of(h0, "15", "");
	hash_of(h1, "15.000", " # the same value\n");
	assert_string_equal(h0, h1);
	hash_of(h1, "15.000000000000000001", "");
	assert_string_not_equal(h0, h1);
	hash_of(h1, "15", "minimum_monthly = 0;");
	assert_string_not_equal(h0, h1);
	hash_of(h1, "15", "effective_from = \"2026-01-01\";");
	assert_string_not_equal(h0, h1);

	/* an empty rule set has a hash too, and it is another one */
	cb_rules *rs = load_text("# nothing yet\n");
	assert_int_equal(0, cb_rules_alloc_count(rs));
	assert_int_equal(0, cb_rules_markup_count(rs));
	assert_string_not_equal(h0, cb_rules_hash(rs));
	/* SHA-256 of the canonical form's header alone,
	 * "chargeback-rules-1\n" */
	assert_string_equal("77a3136c3af44442676bdc412833703857c52f7099c53af"
			    "ff435050c6e41726a",
		cb_rules_hash(rs));
	cb_rules_free(rs);
}

/* ---- refusals ----------------------------------------------------------- */

#define MK(body)                                                         \
	"markup = (\n"                                                   \
	"  { name = \"m\"; priority = 1; customers = { all = true; };\n" \
	"    base = \"cost\";\n" body "  }\n"                            \
	");\n"

#define AL(body)                                                  \
	"allocation = (\n"                                        \
	"  { name = \"a\"; priority = 1;\n"                       \
	"    source = { subscription = \"s1\"; };\n" body "  }\n" \
	");\n"

static const struct {
	const char *text;
	const char *message;
} refusals[] = {
	/* syntax */
	{ "markup = ( { name = \"m\" ", "r.cfg:1: '{' is not closed" },
	{ "markup = (\n  { name = \"m\"; }\n",
		"r.cfg:3: ')' missing at the end" },
	{ "colour = \"red\";\n", "r.cfg:1: unknown field 'colour'" },
	{ "markup = ( );\nmarkup = ( );\n",
		"r.cfg:2: duplicate field 'markup' (also on line 1)" },
	{ "markup = red;\n",
		"r.cfg:1: 'red' is not a value (strings are quoted)" },
	{ "/* open\n\n", "r.cfg:1: comment is not closed" },
	{ "markup = \"m\";\n",
		"r.cfg:1: 'markup' must be a list of rules ( { ... }, ... )" },
	/* fields */
	{ MK("    percent = 5; colour = \"red\";\n"),
		"r.cfg:4: markup 'm': unknown field 'colour'" },
	{ "markup = (\n  { name = \"m\"; priority = 1;\n"
	  "    base = \"cost\"; percent = 5; }\n);\n",
		"r.cfg:2: markup 'm': missing required field 'customers'" },
	{ MK(""), "r.cfg:2: markup 'm': needs one of 'percent', 'per_unit' "
		  "and 'tiers'" },
	{ MK("    percent = 5;\n    per_unit = 1;\n"),
		"r.cfg:5: markup 'm': 'percent' and 'per_unit' cannot both "
		"be set" },
	{ MK("    percent = 5; match = { publisher_type = \"microsoft\"; "
	     "};\n"),
		"r.cfg:4: markup 'm': 'publisher_type' must be one of "
		"Microsoft, Marketplace, not 'microsoft'" },
	{ MK("    percent = 5; match = { charge_type = \"Usages\"; };\n"),
		"r.cfg:4: markup 'm': 'charge_type' must be one of Usage, "
		"Purchase, Refund, RoundingAdjustment, UnusedReservation, "
		"UnusedSavingsPlan, not 'Usages'" },
	{ MK("    percent = 5; match = { pricing_model = \"Payg\"; };\n"),
		"r.cfg:4: markup 'm': 'pricing_model' must be one of "
		"OnDemand, Reservation, SavingsPlan, Spot, not 'Payg'" },
	{ MK("    percent = 5; match = { subscription = \"s\"; };\n"),
		"r.cfg:4: markup 'm': unknown field 'subscription'" },
	{ "markup = (\n  { name = \"m\"; priority = 1; customers = { all = "
	  "true; };\n    base = \"list\"; percent = 5; }\n);\n",
		"r.cfg:3: markup 'm': 'base' must be one of cost, retail, not "
		"'list'" },
	{ MK("    percent = 1.5.2;\n"),
		"r.cfg:4: markup 'm': 'percent' must be an exact decimal, not "
		"'1.5.2'" },
	{ MK("    per_unit = \"ten\";\n"),
		"r.cfg:4: markup 'm': 'per_unit' must be an exact decimal, not "
		"'ten'" },
	{ MK("    per_unit = 0.0000000000000000001;\n"),
		"r.cfg:4: markup 'm': 'per_unit' must be an exact decimal, not "
		"'0.0000000000000000001'" },
	{ MK("    percent = true;\n"),
		"r.cfg:4: markup 'm': 'percent' must be an exact decimal, not "
		"a boolean" },
	{ MK("    percent = -100.01;\n"),
		"r.cfg:4: markup 'm': 'percent' must be at least -100, not "
		"'-100.01'" },
	/* dates */
	{ MK("    percent = 5;\n    effective_from = \"2026-03-01\";\n"
	     "    effective_to = \"2026-03-01\";\n"),
		"r.cfg:6: markup 'm': 'effective_to' 2026-03-01 is not after "
		"'effective_from' 2026-03-01" },
	{ MK("    percent = 5; effective_from = \"2026-02-30\";\n"),
		"r.cfg:4: markup 'm': 'effective_from' must be a date "
		"\"YYYY-MM-DD\", not '2026-02-30'" },
	/* tiers */
	{ MK("    tiers = ( { from = 0; to = 100; percent = 10; },\n"
	     "      { from = 50; percent = 5; } );\n"),
		"r.cfg:5: markup 'm': tier 2 (from 50) overlaps tier 1 (to "
		"100)" },
	{ MK("    tiers = ( { from = 0; to = 100; percent = 10; },\n"
	     "      { from = 150; percent = 5; } );\n"),
		"r.cfg:5: markup 'm': tier 2 starts at 150 but tier 1 ends at "
		"100: a gap" },
	{ MK("    tiers = ( { from = 0; percent = 10; },\n"
	     "      { from = 150; percent = 5; } );\n"),
		"r.cfg:4: markup 'm': tier 1 has no 'to' but is not the last" },
	{ MK("    tiers = ( { from = 10; to = 100; percent = 10; } );\n"),
		"r.cfg:4: markup 'm': tier 1 must start at 0, not 10" },
	{ MK("    tiers = ( { from = 0; to = 0; percent = 10; } );\n"),
		"r.cfg:4: markup 'm': tier 1: 'from' 0 is not below 'to' 0" },
	/* currency */
	{ MK("    percent = 5; statement_currency = \"EUR\";\n"),
		"r.cfg:2: markup 'm': missing required field 'exchange_rate' "
		"(with 'statement_currency')" },
	{ MK("    percent = 5; statement_currency = \"eur\"; exchange_rate "
	     "= 1;\n"),
		"r.cfg:4: markup 'm': 'statement_currency' must be an ISO "
		"4217 code such as \"EUR\", not 'eur'" },
	{ MK("    percent = 5; statement_currency = \"EUR\"; exchange_rate "
	     "= 0;\n"),
		"r.cfg:4: markup 'm': 'exchange_rate' must be above 0" },
	/* names and priorities */
	{ "markup = (\n  { name = \"m\"; priority = 1; customers = { all = "
	  "true; }; base = \"cost\"; percent = 1; },\n"
	  "  { name = \"m\"; priority = 2; customers = { all = true; }; "
	  "base = \"cost\"; percent = 1; }\n);\n",
		"r.cfg:3: markup 'm': name already used on line 2" },
	{ "markup = (\n  { name = \"m\"; priority = 7; customers = { all = "
	  "true; }; base = \"cost\"; percent = 1; },\n"
	  "  { name = \"n\";\n    priority = 7; customers = { all = true; "
	  "}; base = \"cost\"; percent = 1; }\n);\n",
		"r.cfg:4: markup 'n': priority 7 is already used by 'm' (line "
		"2)" },
	{ "markup = (\n  { name = \"m\"; priority = 1.5; }\n);\n",
		"r.cfg:2: markup 'm': 'priority' must be a whole number, not "
		"'1.5'" },
	{ MK("    percent = 5; customers = { all = true; };\n"),
		"r.cfg:4: duplicate field 'customers' (also on line 2)" },
	{ "markup = (\n  { name = \"m\"; priority = 1; customers = { all = "
	  "true; ids = [ \"a\" ]; };\n    base = \"cost\"; percent = 1; }\n"
	  ");\n",
		"r.cfg:2: markup 'm': 'customers' takes exactly one of 'all', "
		"'ids' and 'names'" },
	{ "markup = (\n  { name = \"m\"; priority = 1; customers = { ids = "
	  "[ \"a\", \"a\" ]; };\n    base = \"cost\"; percent = 1; }\n);\n",
		"r.cfg:2: markup 'm': 'ids' lists 'a' twice" },
	/* allocation */
	{ AL("    method = \"percent\";\n"
	     "    targets = ( { customer = \"x\"; percent = "
	     "33.333333333333333333; },\n"
	     "      { customer = \"y\"; percent = 33.333333333333333333; },\n"
	     "      { customer = \"z\"; percent = 33.333333333333333333; } "
	     ");\n"),
		"r.cfg:5: allocation 'a': target percentages add up to "
		"99.999999999999999999, not 100" },
	{ AL("    method = \"percent\";\n"
	     "    targets = ( { customer = \"x\"; percent = 60; },\n"
	     "      { customer = \"y\"; } );\n"),
		"r.cfg:6: allocation 'a': missing required field 'percent'" },
	{ AL("    method = \"even\";\n"
	     "    targets = ( { customer = \"x\"; percent = 100; } );\n"),
		"r.cfg:5: allocation 'a': 'percent' applies only to method "
		"\"percent\"" },
	{ AL("    method = \"evenly\";\n    targets = ( { customer = \"x\"; "
	     "} );\n"),
		"r.cfg:4: allocation 'a': 'method' must be one of even, "
		"percent, proportional, not 'evenly'" },
	{ AL("    method = \"even\";\n"
	     "    targets = ( { customer = \"x\"; }, { customer = \"x\"; } "
	     ");\n"),
		"r.cfg:5: allocation 'a': target 'x' is listed twice (also on "
		"line 5)" },
	{ AL("    method = \"even\";\n"
	     "    targets = ( { cost_centre = \"rd\"; } );\n"),
		"r.cfg:5: allocation 'a': cost centre targets need a "
		"'customer' in 'source'" },
	{ AL("    method = \"even\"; proportional_to = \"total\";\n"
	     "    targets = ( { customer = \"x\"; } );\n"),
		"r.cfg:4: allocation 'a': 'proportional_to' applies only to "
		"method \"proportional\"" },
	{ "allocation = (\n  { name = \"a\"; priority = 1;\n"
	  "    source = { customer = \"c\"; }; method = \"even\";\n"
	  "    targets = ( { cost_centre = \"rd\"; } ); }\n);\n",
		"r.cfg:3: allocation 'a': 'source' must select the shared "
		"cost: subscription, resource_group, tag, meter_category or "
		"service_family" },
	{ "allocation = (\n  { name = \"a\"; priority = 1;\n"
	  "    source = { customer = \"c\"; tag = \"cc=shared\"; };\n"
	  "    method = \"proportional\";\n"
	  "    targets = ( { cost_centre = \"rd\"; } ); }\n);\n",
		"r.cfg:5: allocation 'a': cost centre 'rd' needs a 'tag' or "
		"'resource_group' to be weighed" },
	{ "allocation = (\n  { name = \"a\"; priority = 1;\n"
	  "    source = { customer = \"c\"; tag = \"cc=shared\"; };\n"
	  "    method = \"even\";\n"
	  "    targets = ( { customer = \"x\"; } ); }\n);\n",
		"r.cfg:5: allocation 'a': inside customer 'c' the targets must "
		"be cost centres" },
	{ AL("    method = \"even\";\n"
	     "    targets = ( { customer = \"x\"; resource_group = \"rg\"; "
	     "} );\n"),
		"r.cfg:5: allocation 'a': 'tag' and 'resource_group' apply "
		"only to cost centres" },
	{ AL("    method = \"proportional\"; proportional_to = \"usage\";\n"
	     "    targets = ( { customer = \"x\"; } );\n"),
		"r.cfg:4: allocation 'a': 'proportional_to' must be \"total\" "
		"or { service_family = \"...\"; }" },
	{ AL("    method = \"percent\";\n"
	     "    targets = ( { customer = \"x\"; percent = 120; } );\n"),
		"r.cfg:5: allocation 'a': 'percent' must be above 0 and at "
		"most 100, not '120'" },
	{ AL("    method = \"even\";\n"
	     "    targets = ( { customer = \"x\"; cost_centre = \"y\"; } "
	     ");\n"),
		"r.cfg:5: allocation 'a': a target needs exactly one of "
		"'customer' and 'cost_centre'" },
	{ "allocation = ( \"a\" );\n",
		"r.cfg:1: allocation #1: a rule must be a group ({ ... }), not "
		"a string" },
	{ "markup = (\n  { priority = 1; }\n);\n",
		"r.cfg:2: markup #1: missing required field 'name'" },
	{ "markup = (\n  { name = \"m\\q\"; }\n);\n",
		"r.cfg:2: unknown escape '\\q' in a string" },
	{ AL("    method = \"even\";\n    targets = ( );\n"),
		"r.cfg:5: allocation 'a': 'targets' must be a list of 1 or "
		"more groups" },
	{ AL("    method = \"even\";\n"
	     "    targets = ( { customer = \"x\"; tag = \"nokey\"; } );\n"),
		"r.cfg:5: allocation 'a': 'tag' must be a string "
		"\"key=value\"" },
};

static void
test_rules_refusals(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		cb_rules *rs = NULL;
		int rc = cb_rules_load_string(&rs, refusals[i].text, "r.cfg");

		if (rc != CB_ECONFIG || strcmp(refusals[i].message,
						cb_error_last()->message) != 0)
			print_error("case %zu: got %s '%s', want '%s'\n", i,
				cb_error_name(rc), cb_error_last()->message,
				refusals[i].message),
				bad++;
		assert_null(rs);
	}
	assert_int_equal(0, bad);
}

static void
test_rules_percent_exact(void **state)
{
	cb_rules *rs;
	const cb_alloc_rule *a;

	(void)state;
	rs = load_text(AL(
		"    method = \"percent\";\n"
		"    targets = ( { customer = \"x\"; percent = "
		"\"12.5\"; },\n"
		"      { customer = \"y\"; percent = 0.000000000000000001; },\n"
		"      { customer = \"z\"; percent = "
		"87.499999999999999999; } );\n"));
	a = cb_rules_alloc(rs, 0);
	assert_int_equal(3, a->target_count);
	assert_money("12.5", a->targets[0].percent);
	assert_money("0.000000000000000001", a->targets[1].percent);
	assert_money("87.499999999999999999", a->targets[2].percent);
	cb_rules_free(rs);
}

/* The syntax libconfig allows: ':' for '=', ',' or nothing for ';',
 * arrays, joined strings and escapes, case-free booleans, comments. */
static void
test_rules_syntax_variants(void **state)
{
	cb_rules *rs;
	const cb_markup_rule *m;

	(void)state;
	rs = load_text("markup: ( /* c */ { name: \"con\" \"toso\\x21\\\"\" ,\n"
		       "  priority: -3, customers: { all: TRUE } // x\n"
		       "  base: \"cost\" percent: +.5e1 } )\n");
	m = cb_rules_markup(rs, 0);
	assert_string_equal("contoso!\"", m->name);
	assert_int_equal(-3, m->priority);
	assert_money("5", m->percent);
	cb_rules_free(rs);
}

/* ---- matching ----------------------------------------------------------- */

static const char match_rules[] =
	"markup = (\n"
	"  { name = \"fallback\"; priority = 100; customers = { all = true; "
	"}; base = \"cost\"; percent = 10; },\n"
	"  { name = \"vm\"; priority = 20; customers = { all = true; };\n"
	"    match = { meter_category = \"Virtual Machines\"; tag = "
	"\"env=prod\"; };\n"
	"    base = \"cost\"; percent = 5; },\n"
	"  { name = \"contoso\"; priority = 10; customers = { ids = ( "
	"\"c-1\" ); };\n"
	"    match = { service_family = \"Compute\"; };\n"
	"    base = \"cost\"; percent = 1;\n"
	"    effective_from = \"2026-02-01\"; effective_to = \"2026-03-01\"; "
	"},\n"
	"  { name = \"market\"; priority = 1; customers = { names = ( "
	"\"Fab*\" ); };\n"
	"    match = { publisher_type = \"Microsoft\"; reseller = \"1234567\"; "
	"};\n"
	"    base = \"cost\"; percent = 2; }\n"
	");\n";

static const char *
find_name(const cb_rules *rs, const cb_markup_line *l)
{
	const cb_markup_rule *m = cb_rules_markup_find(rs, l);

	return m ? m->name : "(none)";
}

static void
test_rules_first_match_by_priority(void **state)
{
	cb_rules *rs = load_text(match_rules);
	cb_rule_tag tags[] = { { "Owner", "ann" }, { "ENV", "prod" } };
	cb_markup_line l = { 0 };

	(void)state;
	assert_string_equal("market", cb_rules_markup(rs, 0)->name);
	assert_string_equal("contoso", cb_rules_markup(rs, 1)->name);
	assert_string_equal("vm", cb_rules_markup(rs, 2)->name);
	assert_string_equal("fallback", cb_rules_markup(rs, 3)->name);

	l.customer_id = "C-1"; /* ids compare ignoring case */
	l.customer_name = "Contoso";
	l.service_family = "compute";
	l.meter_category = "Virtual Machines";
	l.date = cb__days_from_civil(2026, 2, 15);
	assert_string_equal("contoso", find_name(rs, &l));

	/* outside the effective dates: to is exclusive, from inclusive */
	l.date = cb__days_from_civil(2026, 3, 1);
	assert_string_equal("fallback", find_name(rs, &l));
	l.tags = tags;
	l.tag_count = 2;
	assert_string_equal("vm", find_name(rs, &l));
	l.date = cb__days_from_civil(2026, 2, 1);
	assert_string_equal("contoso", find_name(rs, &l));
	l.date = cb__days_from_civil(2026, 1, 31);
	assert_string_equal("vm", find_name(rs, &l));

	/* tag values are exact */
	tags[1].value = "Prod";
	assert_string_equal("fallback", find_name(rs, &l));

	/* names by glob, reseller by MPN id, "Azure" counts as Microsoft */
	l.customer_id = "f-9";
	l.customer_name = "fabrikam ltd";
	l.publisher_type = "Azure";
	l.reseller = "Litware";
	l.reseller_mpn_id = "1234567";
	assert_string_equal("market", find_name(rs, &l));
	l.publisher_type = "Marketplace";
	assert_string_equal("fallback", find_name(rs, &l));
	l.publisher_type = NULL;
	assert_string_equal("fallback", find_name(rs, &l));

	assert_int_equal(0, cb_markup_rule_matches(NULL, &l));
	assert_null(cb_rules_markup_find(NULL, &l));
	cb_rules_free(rs);

	/* no rule matches */
	rs = load_text(MK("    percent = 1; match = { meter = \"x\"; };\n"));
	l.meter = "y";
	assert_null(cb_rules_markup_find(rs, &l));
	l.meter = "X";
	assert_string_equal("m", find_name(rs, &l));
	cb_rules_free(rs);
}

/* ---- files and the configuration ---------------------------------------- */

static void
test_rules_load_config(void **state)
{
	char src[1024], want[1200];
	cb_config *cfg = NULL;
	cb_rules *rs = NULL, *direct;

	(void)state;
	fixture_path(src, sizeof(src), "chargeback.cfg");
	assert_ok(cb_config_load_string(
		&cfg, "rules_file = \"full.cfg\";\n", src));
	assert_string_equal("full.cfg", cb_config_rules_file(cfg));
	assert_ok(cb_rules_load_config(&rs, cfg));
	direct = load_fixture("full.cfg");
	assert_string_equal(cb_rules_hash(direct), cb_rules_hash(rs));
	cb_rules_free(rs);
	cb_rules_free(direct);
	cb_config_free(cfg);

	assert_ok(cb_config_load_string(&cfg, "# none\n", "x.cfg"));
	rs = NULL;
	assert_int_equal(CB_ENOTFOUND, cb_rules_load_config(&rs, cfg));
	assert_string_equal("x.cfg: no 'rules_file' is configured",
		cb_error_last()->message);
	assert_null(rs);
	cb_config_free(cfg);

	/* the example stays valid */
	snprintf(src, sizeof(src), "%s/examples/rules.cfg",
		cb_test_source_dir() ? cb_test_source_dir() : ".");
	assert_ok(cb_rules_load(&rs, src));
	assert_int_equal(2, cb_rules_alloc_count(rs));
	assert_int_equal(4, cb_rules_markup_count(rs));
	cb_rules_free(rs);
	rs = NULL;

	fixture_path(src, sizeof(src), "missing.cfg");
	assert_int_equal(CB_ENOTFOUND, cb_rules_load(&rs, src));
	snprintf(want, sizeof(want),
		"cannot read '%s': No such file or directory", src);
	assert_string_equal(want, cb_error_last()->message);
	assert_null(rs);
}

static void
test_rules_load_survives_oom(void **state)
{
	char path[1024];
	cb_rules *rs = NULL;
	unsigned long n;
	int error;

	(void)state;
	fixture_path(path, sizeof(path), "full.cfg");
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb_rules_load(&rs, path);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_null(rs);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 100);
	cb_rules_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_full_allocation),
		cmocka_unit_test(test_rules_full_markup),
		cmocka_unit_test(test_rules_hash_ignores_order_and_layout),
		cmocka_unit_test(test_rules_hash_changes_with_any_value),
		cmocka_unit_test(test_rules_refusals),
		cmocka_unit_test(test_rules_percent_exact),
		cmocka_unit_test(test_rules_syntax_variants),
		cmocka_unit_test(test_rules_first_match_by_priority),
		cmocka_unit_test(test_rules_load_config),
		cmocka_unit_test(test_rules_load_survives_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
