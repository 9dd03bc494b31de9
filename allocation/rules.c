/*
 * allocation/rules.c - the rule set: the rules file read into plain
 * structs, every rule checked, a content hash, and the markup matcher the
 * rating engine calls.
 *
 * Where the rules live: in their own file, named by chargeback.cfg's
 * rules_file, not in a section of chargeback.cfg.  libconfig belongs to
 * core/config.c (STYLE.md 6.1) and keeps numbers only as doubles, so a
 * section there would need the exact decimal text found again on its
 * line (core/config.c's config_literal, which refuses two numbers on a
 * line) and a tree API exported from core; rule files are mostly exact
 * decimals in lists.  A file of their own is read by rules_reader.c,
 * which keeps every number's literal text and every value's line, so
 * messages are exact and decimals never pass through binary floating point.  It
 * also lets the rules change (and be hashed) apart from the secret-bearing
 * configuration.
 *
 * Layout: the loader walks the reader's tree one rule at a time, reading
 * known fields by name (cb__rules_member marks them) and then refusing
 * whatever is left as unknown.  Everything the rules borrow lives in
 * blocks owned by the cb_rules.  Rules are sorted by priority (unique),
 * targets and customer lists by value, so the canonical form hashed at
 * the end does not depend on the order of the file.
 */
#include "core/common.h"
#include "core/glob.h"
#include "chargeback/rules.h"
#include "allocation/rules_reader.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/calendar.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct cb_rules {
	char *source;                 /* owned */
	char hash[CB_RULES_HASH_MAX]; /* hex SHA-256 of the canonical form */
	cb_alloc_rule *allocs;        /* in blocks */
	size_t alloc_count;
	cb_markup_rule *markups; /* in blocks */
	size_t markup_count;
	void **blocks; /* owned: every string and array the rules borrow */
	size_t block_count;
	size_t block_cap;
};

/* State of one load. */
struct loader {
	cb_rules *rs;
	char ctx[160]; /* "markup 'retail'": the rule being read */
};

/* Value names accepted in the file, indexed by the stored value where the
 * public enum has one. */
static const char *const method_names[] = { "even", "percent", "proportional",
	NULL };
static const char *const base_names[] = { "cost", "retail", NULL };
static const char *const publisher_names[] = { "", "Microsoft", "Marketplace",
	NULL };
static const char *const charge_type_names[] = { "Usage", "Purchase", "Refund",
	"RoundingAdjustment", "UnusedReservation", "UnusedSavingsPlan", NULL };
static const char *const pricing_model_names[] = { "OnDemand", "Reservation",
	"SavingsPlan", "Spot", NULL };

static_assert(CB_ALLOC_EVEN == 0 && CB_ALLOC_PROPORTIONAL == 2,
	"method_names follows cb_alloc_method");
static_assert(CB_MARKUP_BASE_COST == 0 && CB_MARKUP_BASE_RETAIL == 1,
	"base_names follows cb_markup_base");
static_assert(CB_PUBLISHER_MICROSOFT == 1 && CB_PUBLISHER_MARKETPLACE == 2,
	"publisher_names follows cb_publisher_type");

/* Longest name or value quoted in a message: enough to recognise it,
 * short enough to leave room for the file and line. */
#define RULES_QUOTE_MAX 64

static int loader_fail(const struct loader *ld, unsigned line, const char *fmt,
	...) CB_FORMAT_PRINTF(3, 4);

/* "source:line: ctx: message" (no ctx at the top level). */
static int
loader_fail(const struct loader *ld, unsigned line, const char *fmt, ...)
{
	char msg[CB_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG, "%s:%u: %s%s%s",
		ld->rs->source, line, ld->ctx, *ld->ctx ? ": " : "", msg);
}

/* Keep p (allocated) in the rule set; NULL in, CB_ENOMEM out. */
static int
rules_keep(cb_rules *rs, void *p)
{
	if (p == NULL)
		return CB_ENOMEM;
	if (rs->block_count == rs->block_cap) {
		size_t cap = rs->block_cap ? rs->block_cap * 2 : 32;
		void **b = cb__reallocarray(rs->blocks, cap, sizeof(*b));

		if (b == NULL) {
			cb__free(p);
			return CB_ENOMEM;
		}
		rs->blocks = b;
		rs->block_cap = cap;
	}
	rs->blocks[rs->block_count++] = p;
	return 0;
}

static int
rules_strdup(cb_rules *rs, const char **out, const char *s, size_t n)
{
	char *copy = cb__strndup(s, n);
	int error;

	if ((error = rules_keep(rs, copy)) < 0)
		return error;
	*out = copy;
	return 0;
}

static void *
rules_array(cb_rules *rs, size_t n, size_t size)
{
	void *p = cb__calloc(n ? n : 1, size);

	return rules_keep(rs, p) < 0 ? NULL : p;
}

/* ---- fields ------------------------------------------------------------ */

static const char *
kind_name(const struct rnode *n)
{
	switch (n->kind) {
	case RN_GROUP:
		return "a group";
	case RN_LIST:
		return "a list";
	case RN_STRING:
		return "a string";
	case RN_NUMBER:
		return "a number";
	case RN_BOOL:
		return "a boolean";
	}
	return "a value";
}

/* The member key of g; missing and required: an error at g's line. */
static int
field(struct loader *ld, struct rnode *g, const char *key, bool required,
	struct rnode **out)
{
	*out = cb__rules_member(g, key);
	if (*out == NULL && required)
		return loader_fail(
			ld, g->line, "missing required field '%s'", key);
	return 0;
}

/* Every member of g nobody read is unknown. */
static int
no_unknown(struct loader *ld, const struct rnode *g)
{
	for (size_t i = 0; i < g->count; i++)
		if (!g->kids[i]->used)
			return loader_fail(ld, g->kids[i]->line,
				"unknown field '%.*s'", RULES_QUOTE_MAX,
				g->kids[i]->name);
	return 0;
}

static int
want_group(struct loader *ld, const struct rnode *n, const char *key)
{
	if (n->kind != RN_GROUP)
		return loader_fail(ld, n->line,
			"'%s' must be a group ({ ... }), "
			"not %s",
			key, kind_name(n));
	return 0;
}

/* A non-empty string into the rule set. */
static int
get_string(struct loader *ld, struct rnode *g, const char *key, bool required,
	const char **out)
{
	struct rnode *n;
	int error;

	*out = NULL;
	if ((error = field(ld, g, key, required, &n)) < 0 || n == NULL)
		return error;
	if (n->kind != RN_STRING || *n->text == '\0')
		return loader_fail(
			ld, n->line, "'%s' must be a non-empty string", key);
	return rules_strdup(ld->rs, out, n->text, strlen(n->text));
}

/* A string among choices: its index into *out. */
static int
get_choice(struct loader *ld, struct rnode *g, const char *key, bool required,
	const char *const *choices, int *out)
{
	char list[256] = "";
	size_t used = 0;
	struct rnode *n;
	int error;

	if ((error = field(ld, g, key, required, &n)) < 0 || n == NULL)
		return error;
	for (int i = 0; choices[i] != NULL; i++) {
		if (*choices[i] == '\0')
			continue;
		if (n->kind == RN_STRING && strcmp(n->text, choices[i]) == 0) {
			*out = i;
			return 0;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used,
			"%s%s", used ? ", " : "", choices[i]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	if (n->kind != RN_STRING)
		return loader_fail(
			ld, n->line, "'%s' must be one of %s", key, list);
	return loader_fail(ld, n->line, "'%s' must be one of %s, not '%.*s'",
		key, list, RULES_QUOTE_MAX, n->text);
}

/* An exact decimal: a number as written, or a string holding one. */
static int
get_decimal(struct loader *ld, struct rnode *n, const char *key, cb_money *out)
{
	if ((n->kind != RN_NUMBER && n->kind != RN_STRING) ||
		cb_money_parse(out, n->text, strlen(n->text)) < 0) {
		if (n->kind == RN_NUMBER || n->kind == RN_STRING)
			return loader_fail(ld, n->line,
				"'%s' must be an exact decimal, not '%.*s'",
				key, RULES_QUOTE_MAX, n->text);
		return loader_fail(ld, n->line,
			"'%s' must be an exact decimal, not %s", key,
			kind_name(n));
	}
	return 0;
}

static int
get_decimal_field(struct loader *ld, struct rnode *g, const char *key,
	bool required, cb_money *out, bool *present)
{
	struct rnode *n;
	int error;

	if (present != NULL)
		*present = false;
	if ((error = field(ld, g, key, required, &n)) < 0 || n == NULL)
		return error;
	if ((error = get_decimal(ld, n, key, out)) < 0)
		return error;
	if (present != NULL)
		*present = true;
	return 0;
}

/* A whole number (priority): digits, optionally signed, in int64. */
static int
get_priority(struct loader *ld, struct rnode *g, int64_t *out, unsigned *line)
{
	struct rnode *n;
	char *end;
	long long v;
	int error;

	if ((error = field(ld, g, "priority", true, &n)) < 0)
		return error;
	*line = n->line;
	errno = 0;
	if (n->kind == RN_NUMBER) {
		v = strtoll(n->text, &end, 10);
		if (errno == 0 && *end == '\0') {
			*out = v;
			return 0;
		}
	}
	return loader_fail(ld, n->line,
		"'priority' must be a whole number%s%.*s%s",
		n->kind == RN_NUMBER ? ", not '" : "", RULES_QUOTE_MAX,
		n->kind == RN_NUMBER ? n->text : "",
		n->kind == RN_NUMBER ? "'" : "");
}

/* "YYYY-MM-DD", a real calendar day from 1970 to 9999. */
static bool
parse_day(const char *s, int32_t *out)
{
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > cb__days_in_month(y, m))
		return false;
	*out = cb__days_from_civil(y, m, d);
	return true;
}

static int
get_day(struct loader *ld, struct rnode *g, const char *key, int32_t *out,
	bool *present, unsigned *line)
{
	struct rnode *n;
	int error;

	*present = false;
	if ((error = field(ld, g, key, false, &n)) < 0 || n == NULL)
		return error;
	if (n->kind != RN_STRING || !parse_day(n->text, out))
		return loader_fail(ld, n->line,
			"'%s' must be a date \"YYYY-MM-DD\"%s%.*s%s", key,
			n->kind == RN_STRING ? ", not '" : "", RULES_QUOTE_MAX,
			n->kind == RN_STRING ? n->text : "",
			n->kind == RN_STRING ? "'" : "");
	*present = true;
	*line = n->line;
	return 0;
}

/* "key=value" (value may be empty) into two strings. */
static int
get_tag(struct loader *ld, struct rnode *g, const char *key,
	const char **key_out, const char **value_out)
{
	struct rnode *n;
	const char *eq;
	int error;

	if ((error = field(ld, g, key, false, &n)) < 0 || n == NULL)
		return error;
	if (n->kind != RN_STRING || (eq = strchr(n->text, '=')) == NULL ||
		eq == n->text)
		return loader_fail(ld, n->line,
			"'%s' must be a string \"key=value\"", key);
	if ((error = rules_strdup(
		     ld->rs, key_out, n->text, (size_t)(eq - n->text))) < 0 ||
		(error = rules_strdup(
			 ld->rs, value_out, eq + 1, strlen(eq + 1))) < 0)
		return error;
	return 0;
}

/* ---- selectors ---------------------------------------------------------- */

enum {
	SEL_SUBSCRIPTION = 1 << 0,
	SEL_RESOURCE_GROUP = 1 << 1,
	SEL_TAG = 1 << 2,
	SEL_METER_CATEGORY = 1 << 3,
	SEL_SERVICE_FAMILY = 1 << 4,
	SEL_METER = 1 << 5,
	SEL_CHARGE_TYPE = 1 << 6,
	SEL_PUBLISHER_TYPE = 1 << 7,
	SEL_PRICING_MODEL = 1 << 8,
	SEL_RESELLER = 1 << 9,
	SEL_CUSTOMER = 1 << 10
};

#define SEL_ALLOCATION                                     \
	(SEL_SUBSCRIPTION | SEL_RESOURCE_GROUP | SEL_TAG | \
		SEL_METER_CATEGORY | SEL_SERVICE_FAMILY | SEL_CUSTOMER)
#define SEL_MARKUP                                                         \
	(SEL_SERVICE_FAMILY | SEL_METER_CATEGORY | SEL_METER |             \
		SEL_CHARGE_TYPE | SEL_PUBLISHER_TYPE | SEL_PRICING_MODEL | \
		SEL_RESELLER | SEL_TAG)

/* Read the selectors allowed in the group g; any other field is unknown.
 * Returns the number set through *count. */
static int
get_selector(struct loader *ld, struct rnode *g, unsigned allowed,
	cb_rule_selector *sel, size_t *count)
{
	int error, choice;

	memset(sel, 0, sizeof(*sel));
	if (((allowed & SEL_SUBSCRIPTION) &&
		    (error = get_string(ld, g, "subscription", false,
			     &sel->subscription)) < 0) ||
		((allowed & SEL_RESOURCE_GROUP) &&
			(error = get_string(ld, g, "resource_group", false,
				 &sel->resource_group)) < 0) ||
		((allowed & SEL_TAG) &&
			(error = get_tag(ld, g, "tag", &sel->tag_key,
				 &sel->tag_value)) < 0) ||
		((allowed & SEL_METER_CATEGORY) &&
			(error = get_string(ld, g, "meter_category", false,
				 &sel->meter_category)) < 0) ||
		((allowed & SEL_SERVICE_FAMILY) &&
			(error = get_string(ld, g, "service_family", false,
				 &sel->service_family)) < 0) ||
		((allowed & SEL_METER) && (error = get_string(ld, g, "meter",
						   false, &sel->meter)) < 0) ||
		((allowed & SEL_RESELLER) &&
			(error = get_string(ld, g, "reseller", false,
				 &sel->reseller)) < 0) ||
		((allowed & SEL_CUSTOMER) &&
			(error = get_string(ld, g, "customer", false,
				 &sel->customer)) < 0))
		return error;
	if (allowed & SEL_CHARGE_TYPE) {
		choice = -1;
		if ((error = get_choice(ld, g, "charge_type", false,
			     charge_type_names, &choice)) < 0)
			return error;
		if (choice >= 0)
			sel->charge_type = charge_type_names[choice];
	}
	if (allowed & SEL_PRICING_MODEL) {
		choice = -1;
		if ((error = get_choice(ld, g, "pricing_model", false,
			     pricing_model_names, &choice)) < 0)
			return error;
		if (choice >= 0)
			sel->pricing_model = pricing_model_names[choice];
	}
	if ((allowed & SEL_PUBLISHER_TYPE) &&
		(error = get_choice(ld, g, "publisher_type", false,
			 publisher_names, &sel->publisher_type)) < 0)
		return error;
	if ((error = no_unknown(ld, g)) < 0)
		return error;
	*count = (sel->subscription != NULL) + (sel->resource_group != NULL) +
		 (sel->tag_key != NULL) + (sel->meter_category != NULL) +
		 (sel->service_family != NULL) + (sel->meter != NULL) +
		 (sel->charge_type != NULL) + (sel->publisher_type != 0) +
		 (sel->pricing_model != NULL) + (sel->reseller != NULL) +
		 (sel->customer != NULL);
	return 0;
}

/* ---- rule names --------------------------------------------------------- */

/* Read the rule's name into ld->ctx ("markup 'x'"; "markup #3" while it
 * is unknown) and check it is unique among the first `index' rules. */
static int
get_name(struct loader *ld, struct rnode *g, const char *kind, size_t index,
	const char **names, const unsigned *lines, const char **out)
{
	int error;

	snprintf(ld->ctx, sizeof(ld->ctx), "%s #%zu", kind, index + 1);
	if (g->kind != RN_GROUP)
		return loader_fail(ld, g->line,
			"a rule must be a group ({ ... }), not %s",
			kind_name(g));
	if ((error = get_string(ld, g, "name", true, out)) < 0)
		return error;
	snprintf(ld->ctx, sizeof(ld->ctx), "%s '%.*s'", kind, RULES_QUOTE_MAX,
		*out);
	for (size_t i = 0; i < index; i++)
		if (strcmp(names[i], *out) == 0)
			return loader_fail(ld,
				cb__rules_member(g, "name")->line,
				"name already used on line %u", lines[i]);
	return 0;
}

/* ---- allocation --------------------------------------------------------- */

static int
target_cmp(const void *a, const void *b)
{
	const cb_alloc_target *x = a, *y = b;
	const char *kx = x->customer ? x->customer : x->cost_centre;
	const char *ky = y->customer ? y->customer : y->cost_centre;

	return strcmp(kx, ky);
}

static int
get_targets(struct loader *ld, struct rnode *g, cb_alloc_rule *r)
{
	struct rnode *list;
	cb_alloc_target *t;
	cb_money sum = CB_MONEY_ZERO, hundred = cb_money_from_int(100);
	int error;

	if ((error = field(ld, g, "targets", true, &list)) < 0)
		return error;
	if (list->kind != RN_LIST || list->count == 0)
		return loader_fail(ld, list->line,
			"'targets' must be a list of 1 or more groups");
	if ((t = rules_array(ld->rs, list->count, sizeof(*t))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < list->count; i++) {
		struct rnode *e = list->kids[i];
		struct rnode *pn;
		size_t set;

		if ((error = want_group(ld, e, "targets")) < 0)
			return error;
		t[i].line = e->line;
		if ((error = get_string(
			     ld, e, "customer", false, &t[i].customer)) < 0 ||
			(error = get_string(ld, e, "cost_centre", false,
				 &t[i].cost_centre)) < 0 ||
			(error = get_tag(ld, e, "tag", &t[i].tag_key,
				 &t[i].tag_value)) < 0 ||
			(error = get_string(ld, e, "resource_group", false,
				 &t[i].resource_group)) < 0)
			return error;
		pn = cb__rules_member(e, "percent");
		if ((error = no_unknown(ld, e)) < 0)
			return error;
		if ((t[i].customer != NULL) == (t[i].cost_centre != NULL))
			return loader_fail(ld, e->line,
				"a target needs exactly one of 'customer' "
				"and 'cost_centre'");
		if (r->source.customer == NULL && t[i].cost_centre != NULL)
			return loader_fail(ld, e->line,
				"cost centre targets need a 'customer' in "
				"'source'");
		if (r->source.customer != NULL && t[i].customer != NULL)
			return loader_fail(ld, e->line,
				"inside customer '%.*s' the targets must be "
				"cost centres",
				RULES_QUOTE_MAX, r->source.customer);
		set = (t[i].tag_key != NULL) + (t[i].resource_group != NULL);
		if (t[i].customer != NULL && set > 0)
			return loader_fail(ld, e->line,
				"'tag' and 'resource_group' apply only to "
				"cost centres");
		if (set > 1)
			return loader_fail(ld, e->line,
				"a cost centre takes one of 'tag' and "
				"'resource_group'");
		if (t[i].cost_centre != NULL && set == 0 &&
			r->method == CB_ALLOC_PROPORTIONAL)
			return loader_fail(ld, e->line,
				"cost centre '%.*s' needs a 'tag' or "
				"'resource_group' to be weighed",
				RULES_QUOTE_MAX, t[i].cost_centre);
		if (r->method == CB_ALLOC_PERCENT) {
			if (pn == NULL)
				return loader_fail(ld, e->line,
					"missing required field 'percent'");
			if ((error = get_decimal(
				     ld, pn, "percent", &t[i].percent)) < 0)
				return error;
			if (cb_money_sign(t[i].percent) <= 0 ||
				cb_money_cmp(t[i].percent, hundred) > 0)
				return loader_fail(ld, pn->line,
					"'percent' must be above 0 and at "
					"most 100, not '%.*s'",
					RULES_QUOTE_MAX, pn->text);
			if (cb_money_add(&sum, sum, t[i].percent) < 0)
				return loader_fail(ld, pn->line,
					"percentages out of range");
		} else if (pn != NULL) {
			return loader_fail(ld, pn->line,
				"'percent' applies only to method "
				"\"percent\"");
		}
		for (size_t j = 0; j < i; j++)
			if (target_cmp(&t[i], &t[j]) == 0)
				return loader_fail(ld, e->line,
					"target '%.*s' is listed twice (also "
					"on line %u)",
					RULES_QUOTE_MAX,
					t[i].customer ? t[i].customer
						      : t[i].cost_centre,
					t[j].line);
	}
	if (r->method == CB_ALLOC_PERCENT && cb_money_cmp(sum, hundred) != 0) {
		char text[CB_MONEY_STR_MAX];

		cb_money_format(text, sizeof(text), sum);
		return loader_fail(ld, list->line,
			"target percentages add up to %s, not 100", text);
	}
	qsort(t, list->count, sizeof(*t), target_cmp);
	r->targets = t;
	r->target_count = list->count;
	return 0;
}

static int
get_alloc(struct loader *ld, struct rnode *g, cb_alloc_rule *r)
{
	struct rnode *src, *pt;
	size_t set;
	int error;

	r->line = g->line;
	if ((error = field(ld, g, "source", true, &src)) < 0 ||
		(error = want_group(ld, src, "source")) < 0 ||
		(error = get_selector(
			 ld, src, SEL_ALLOCATION, &r->source, &set)) < 0)
		return error;
	if (set == 0 || (set == 1 && r->source.customer != NULL))
		return loader_fail(ld, src->line,
			"'source' must select the shared cost: subscription, "
			"resource_group, tag, meter_category or "
			"service_family");
	if ((error = get_choice(
		     ld, g, "method", true, method_names, &r->method)) < 0)
		return error;
	if ((pt = cb__rules_member(g, "proportional_to")) != NULL) {
		if (r->method != CB_ALLOC_PROPORTIONAL)
			return loader_fail(ld, pt->line,
				"'proportional_to' applies only to method "
				"\"proportional\"");
		if (pt->kind == RN_GROUP) {
			if ((error = get_string(ld, pt, "service_family", true,
				     &r->proportional_family)) < 0 ||
				(error = no_unknown(ld, pt)) < 0)
				return error;
		} else if (pt->kind != RN_STRING ||
			   strcmp(pt->text, "total") != 0) {
			return loader_fail(ld, pt->line,
				"'proportional_to' must be \"total\" or "
				"{ service_family = \"...\"; }");
		}
	}
	if ((error = get_targets(ld, g, r)) < 0)
		return error;
	return no_unknown(ld, g);
}

/* ---- markup ------------------------------------------------------------- */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
get_customers(struct loader *ld, struct rnode *g, cb_markup_rule *r)
{
	static const char *const keys[] = { "all", "ids", "names" };
	struct rnode *c, *n = NULL, *all;
	const char **v;
	size_t set = 0;
	int error;

	if ((error = field(ld, g, "customers", true, &c)) < 0 ||
		(error = want_group(ld, c, "customers")) < 0)
		return error;
	for (int k = 0; k < 3; k++) {
		struct rnode *m = cb__rules_member(c, keys[k]);

		if (m != NULL) {
			set++;
			r->customers = k;
			n = m;
		}
	}
	if ((error = no_unknown(ld, c)) < 0)
		return error;
	if (set != 1)
		return loader_fail(ld, c->line,
			"'customers' takes exactly one of 'all', 'ids' and "
			"'names'");
	if (r->customers == CB_CUSTOMERS_ALL) {
		all = n;
		if (all->kind != RN_BOOL || strcmp(all->text, "true") != 0)
			return loader_fail(ld, all->line,
				"'all' must be true (or list 'ids' or "
				"'names')");
		return 0;
	}
	if (n->kind != RN_LIST || n->count == 0)
		return loader_fail(ld, n->line,
			"'%s' must be a list of 1 or more strings",
			keys[r->customers]);
	if ((v = rules_array(ld->rs, n->count, sizeof(*v))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < n->count; i++) {
		struct rnode *e = n->kids[i];

		if (e->kind != RN_STRING || *e->text == '\0')
			return loader_fail(ld, e->line,
				"'%s' entries must be non-empty strings",
				keys[r->customers]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[j], e->text) == 0)
				return loader_fail(ld, e->line,
					"'%s' lists '%.*s' twice",
					keys[r->customers], RULES_QUOTE_MAX,
					e->text);
		if ((error = rules_strdup(
			     ld->rs, &v[i], e->text, strlen(e->text))) < 0)
			return error;
	}
	qsort(v, n->count, sizeof(*v), str_cmp);
	r->customer_values = v;
	r->customer_value_count = n->count;
	return 0;
}

static int
get_tiers(struct loader *ld, struct rnode *list, cb_markup_rule *r)
{
	cb_markup_tier *t;
	char a[CB_MONEY_STR_MAX], b[CB_MONEY_STR_MAX];
	int error;

	if (list->kind != RN_LIST || list->count == 0)
		return loader_fail(ld, list->line,
			"'tiers' must be a list of 1 or more groups");
	if ((t = rules_array(ld->rs, list->count, sizeof(*t))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < list->count; i++) {
		struct rnode *e = list->kids[i];

		if ((error = want_group(ld, e, "tiers")) < 0 ||
			(error = get_decimal_field(
				 ld, e, "from", true, &t[i].from, NULL)) < 0 ||
			(error = get_decimal_field(ld, e, "to", false, &t[i].to,
				 &t[i].has_to)) < 0 ||
			(error = get_decimal_field(ld, e, "percent", true,
				 &t[i].percent, NULL)) < 0 ||
			(error = no_unknown(ld, e)) < 0)
			return error;
		cb_money_format(a, sizeof(a), t[i].from);
		if (i == 0 && cb_money_sign(t[i].from) != 0)
			return loader_fail(ld, e->line,
				"tier 1 must start at 0, not %s", a);
		if (t[i].has_to && cb_money_cmp(t[i].from, t[i].to) >= 0) {
			cb_money_format(b, sizeof(b), t[i].to);
			return loader_fail(ld, e->line,
				"tier %zu: 'from' %s is not below 'to' %s",
				i + 1, a, b);
		}
		if (i > 0) {
			int c;

			if (!t[i - 1].has_to)
				return loader_fail(ld, list->kids[i - 1]->line,
					"tier %zu has no 'to' but is not the "
					"last",
					i);
			c = cb_money_cmp(t[i].from, t[i - 1].to);
			cb_money_format(b, sizeof(b), t[i - 1].to);
			if (c < 0)
				return loader_fail(ld, e->line,
					"tier %zu (from %s) overlaps tier %zu "
					"(to %s)",
					i + 1, a, i, b);
			if (c > 0)
				return loader_fail(ld, e->line,
					"tier %zu starts at %s but tier %zu "
					"ends at %s: a gap",
					i + 1, a, i, b);
		}
	}
	r->tiers = t;
	r->tier_count = list->count;
	return 0;
}

static bool
valid_currency(const char *s)
{
	return strlen(s) == 3 && isupper((unsigned char)s[0]) &&
	       isupper((unsigned char)s[1]) && isupper((unsigned char)s[2]);
}

static int
get_markup(struct loader *ld, struct rnode *g, cb_markup_rule *r)
{
	static const char *const kinds[] = { "percent", "per_unit", "tiers" };
	struct rnode *m, *k[3], *rate = NULL;
	cb_money hundred = cb_money_from_int(100), minus100;
	unsigned from_line = 0, to_line = 0;
	size_t set, nkind = 0;
	int error;

	r->line = g->line;
	cb_money_neg(&minus100, hundred);
	if ((error = get_customers(ld, g, r)) < 0)
		return error;
	if ((m = cb__rules_member(g, "match")) != NULL &&
		((error = want_group(ld, m, "match")) < 0 ||
			(error = get_selector(
				 ld, m, SEL_MARKUP, &r->match, &set)) < 0))
		return error;
	if ((error = get_choice(ld, g, "base", true, base_names, &r->base)) < 0)
		return error;
	for (int i = 0; i < 3; i++) {
		if ((k[i] = cb__rules_member(g, kinds[i])) == NULL)
			continue;
		if (nkind++ > 0) {
			int first = k[0] ? 0 : 1;

			return loader_fail(ld, k[i]->line,
				"'%s' and '%s' cannot both be set",
				kinds[first], kinds[i]);
		}
		r->kind = i;
	}
	if (nkind == 0)
		return loader_fail(ld, g->line,
			"needs one of 'percent', 'per_unit' and 'tiers'");
	if (k[0] != NULL) {
		if ((error = get_decimal(ld, k[0], "percent", &r->percent)) < 0)
			return error;
		if (cb_money_cmp(r->percent, minus100) < 0)
			return loader_fail(ld, k[0]->line,
				"'percent' must be at least -100, not '%.*s'",
				RULES_QUOTE_MAX, k[0]->text);
	} else if (k[1] != NULL) {
		if ((error = get_decimal(ld, k[1], "per_unit", &r->per_unit)) <
			0)
			return error;
	} else if ((error = get_tiers(ld, k[2], r)) < 0) {
		return error;
	}
	if ((error = get_day(ld, g, "effective_from", &r->effective_from,
		     &r->has_from, &from_line)) < 0 ||
		(error = get_day(ld, g, "effective_to", &r->effective_to,
			 &r->has_to, &to_line)) < 0)
		return error;
	if (r->has_from && r->has_to && r->effective_to <= r->effective_from) {
		char f[CB_DAY_TEXT_MAX], t[CB_DAY_TEXT_MAX];

		cb__day_text(f, r->effective_from);
		cb__day_text(t, r->effective_to);
		return loader_fail(ld, to_line,
			"'effective_to' %s is not after 'effective_from' %s", t,
			f);
	}
	if ((error = get_decimal_field(ld, g, "minimum_monthly", false,
		     &r->minimum_monthly, &r->has_minimum)) < 0)
		return error;
	if (r->has_minimum && cb_money_sign(r->minimum_monthly) < 0)
		return loader_fail(ld,
			cb__rules_member(g, "minimum_monthly")->line,
			"'minimum_monthly' must not be negative");
	if ((error = get_decimal_field(ld, g, "reseller_percent", false,
		     &r->reseller_percent, &r->has_reseller_percent)) < 0 ||
		(error = get_string(ld, g, "statement_currency", false,
			 &r->statement_currency)) < 0)
		return error;
	if (r->statement_currency != NULL &&
		!valid_currency(r->statement_currency))
		return loader_fail(ld,
			cb__rules_member(g, "statement_currency")->line,
			"'statement_currency' must be an ISO 4217 code such "
			"as \"EUR\", not '%.*s'",
			RULES_QUOTE_MAX, r->statement_currency);
	if ((rate = cb__rules_member(g, "exchange_rate")) != NULL) {
		if ((error = get_decimal(
			     ld, rate, "exchange_rate", &r->exchange_rate)) < 0)
			return error;
		if (cb_money_sign(r->exchange_rate) <= 0)
			return loader_fail(ld, rate->line,
				"'exchange_rate' must be above 0");
		if (r->statement_currency == NULL)
			return loader_fail(ld, rate->line,
				"'exchange_rate' needs 'statement_currency'");
	} else if (r->statement_currency != NULL) {
		return loader_fail(ld, g->line,
			"missing required field 'exchange_rate' (with "
			"'statement_currency')");
	}
	return no_unknown(ld, g);
}

/* ---- the rule set ---------------------------------------------------------
 */

static int
alloc_cmp(const void *a, const void *b)
{
	const cb_alloc_rule *x = a, *y = b;

	return (x->priority > y->priority) - (x->priority < y->priority);
}

static int
markup_cmp(const void *a, const void *b)
{
	const cb_markup_rule *x = a, *y = b;

	return (x->priority > y->priority) - (x->priority < y->priority);
}

/* Read every rule of one list (kind "allocation" or "markup"). */
static int
load_list(struct loader *ld, struct rnode *root, const char *kind, bool markup)
{
	cb_rules *rs = ld->rs;
	struct rnode *list = cb__rules_member(root, kind);
	const char **names = NULL;
	unsigned *lines = NULL, *prio_lines = NULL;
	size_t n;
	int error;

	if (list == NULL)
		return 0;
	if (list->kind != RN_LIST)
		return loader_fail(ld, list->line,
			"'%s' must be a list of rules ( { ... }, ... )", kind);
	if ((n = list->count) > CB_RULES_MAX)
		return loader_fail(ld, list->line, "more than %d %s rules",
			CB_RULES_MAX, kind);
	if ((names = cb__calloc(n ? n : 1, sizeof(*names))) == NULL ||
		(lines = cb__calloc(n ? n : 1, sizeof(*lines))) == NULL ||
		(prio_lines = cb__calloc(n ? n : 1, sizeof(*prio_lines))) ==
			NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	if (markup) {
		if ((rs->markups = rules_array(rs, n, sizeof(*rs->markups))) ==
			NULL) {
			error = CB_ENOMEM;
			goto done;
		}
	} else if ((rs->allocs = rules_array(rs, n, sizeof(*rs->allocs))) ==
		   NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct rnode *g = list->kids[i];
		int64_t prio = 0;

		if ((error = get_name(
			     ld, g, kind, i, names, lines, &names[i])) < 0 ||
			(error = get_priority(ld, g, &prio, &prio_lines[i])) <
				0)
			goto done;
		lines[i] = cb__rules_member(g, "name")->line;
		for (size_t j = 0; j < i; j++) {
			int64_t other = markup ? rs->markups[j].priority
					       : rs->allocs[j].priority;

			if (other == prio) {
				error = loader_fail(ld, prio_lines[i],
					"priority %" PRId64
					" is already used by '%.*s' (line %u)",
					prio, RULES_QUOTE_MAX, names[j],
					prio_lines[j]);
				goto done;
			}
		}
		if (markup) {
			rs->markups[i].name = names[i];
			rs->markups[i].priority = prio;
			error = get_markup(ld, g, &rs->markups[i]);
		} else {
			rs->allocs[i].name = names[i];
			rs->allocs[i].priority = prio;
			error = get_alloc(ld, g, &rs->allocs[i]);
		}
		if (error < 0)
			goto done;
	}
	if (markup) {
		qsort(rs->markups, n, sizeof(*rs->markups), markup_cmp);
		rs->markup_count = n;
	} else {
		qsort(rs->allocs, n, sizeof(*rs->allocs), alloc_cmp);
		rs->alloc_count = n;
	}
	error = 0;
done:
	*ld->ctx = '\0';
	cb__free(names);
	cb__free(lines);
	cb__free(prio_lines);
	return error;
}

/* ---- canonical form and hash ----------------------------------------------
 */

/* Each value as "key=" length ":" bytes ";", NULL as "key=-;": no value
 * can be mistaken for another whatever bytes it holds. */
static int
canon_str(cb_buf *b, const char *key, const char *s)
{
	if (s == NULL)
		return cb__buf_printf(b, "%s=-;", key);
	return cb__buf_printf(b, "%s=%zu:%s;", key, strlen(s), s);
}

static int
canon_money(cb_buf *b, const char *key, cb_money v, bool present)
{
	char t[CB_MONEY_STR_MAX];

	if (!present)
		return canon_str(b, key, NULL);
	cb_money_format(t, sizeof(t), v);
	return canon_str(b, key, t);
}

static int
canon_day(cb_buf *b, const char *key, int32_t d, bool present)
{
	char t[CB_DAY_TEXT_MAX];

	if (!present)
		return canon_str(b, key, NULL);
	cb__day_text(t, d);
	return canon_str(b, key, t);
}

static int
canon_selector(cb_buf *b, const cb_rule_selector *s)
{
	int error;

	if ((error = canon_str(b, "subscription", s->subscription)) < 0 ||
		(error = canon_str(b, "resource_group", s->resource_group)) <
			0 ||
		(error = canon_str(b, "tag_key", s->tag_key)) < 0 ||
		(error = canon_str(b, "tag_value", s->tag_value)) < 0 ||
		(error = canon_str(b, "meter_category", s->meter_category)) <
			0 ||
		(error = canon_str(b, "service_family", s->service_family)) <
			0 ||
		(error = canon_str(b, "meter", s->meter)) < 0 ||
		(error = canon_str(b, "charge_type", s->charge_type)) < 0 ||
		(error = cb__buf_printf(
			 b, "publisher=%d;", s->publisher_type)) < 0 ||
		(error = canon_str(b, "pricing_model", s->pricing_model)) < 0 ||
		(error = canon_str(b, "reseller", s->reseller)) < 0 ||
		(error = canon_str(b, "customer", s->customer)) < 0)
		return error;
	return 0;
}

static int
canon_alloc(cb_buf *b, const cb_alloc_rule *r)
{
	int error;

	if ((error = cb__buf_printf(
		     b, "allocation{priority=%" PRId64 ";", r->priority)) < 0 ||
		(error = canon_str(b, "name", r->name)) < 0 ||
		(error = canon_selector(b, &r->source)) < 0 ||
		(error = cb__buf_printf(b, "method=%d;", r->method)) < 0 ||
		(error = canon_str(
			 b, "proportional_family", r->proportional_family)) < 0)
		return error;
	for (size_t i = 0; i < r->target_count; i++) {
		const cb_alloc_target *t = &r->targets[i];

		if ((error = cb__buf_puts(b, "target{")) < 0 ||
			(error = canon_str(b, "customer", t->customer)) < 0 ||
			(error = canon_str(b, "cost_centre", t->cost_centre)) <
				0 ||
			(error = canon_str(b, "tag_key", t->tag_key)) < 0 ||
			(error = canon_str(b, "tag_value", t->tag_value)) < 0 ||
			(error = canon_str(
				 b, "resource_group", t->resource_group)) < 0 ||
			(error = canon_money(b, "percent", t->percent,
				 r->method == CB_ALLOC_PERCENT)) < 0 ||
			(error = cb__buf_puts(b, "}")) < 0)
			return error;
	}
	return cb__buf_puts(b, "}\n");
}

static int
canon_markup(cb_buf *b, const cb_markup_rule *r)
{
	int error;

	if ((error = cb__buf_printf(
		     b, "markup{priority=%" PRId64 ";", r->priority)) < 0 ||
		(error = canon_str(b, "name", r->name)) < 0 ||
		(error = cb__buf_printf(b, "customers=%d;", r->customers)) < 0)
		return error;
	for (size_t i = 0; i < r->customer_value_count; i++)
		if ((error = canon_str(b, "customer", r->customer_values[i])) <
			0)
			return error;
	if ((error = canon_selector(b, &r->match)) < 0 ||
		(error = cb__buf_printf(
			 b, "base=%d;kind=%d;", r->base, r->kind)) < 0 ||
		(error = canon_money(b, "percent", r->percent,
			 r->kind == CB_MARKUP_PERCENT)) < 0 ||
		(error = canon_money(b, "per_unit", r->per_unit,
			 r->kind == CB_MARKUP_PER_UNIT)) < 0)
		return error;
	for (size_t i = 0; i < r->tier_count; i++) {
		const cb_markup_tier *t = &r->tiers[i];

		if ((error = canon_money(b, "tier_from", t->from, true)) < 0 ||
			(error = canon_money(b, "tier_to", t->to, t->has_to)) <
				0 ||
			(error = canon_money(
				 b, "tier_percent", t->percent, true)) < 0)
			return error;
	}
	if ((error = canon_day(b, "from", r->effective_from, r->has_from)) <
			0 ||
		(error = canon_day(b, "to", r->effective_to, r->has_to)) < 0 ||
		(error = canon_money(b, "minimum", r->minimum_monthly,
			 r->has_minimum)) < 0 ||
		(error = canon_money(b, "reseller_percent", r->reseller_percent,
			 r->has_reseller_percent)) < 0 ||
		(error = canon_str(b, "currency", r->statement_currency)) < 0 ||
		(error = canon_money(b, "exchange_rate", r->exchange_rate,
			 r->statement_currency != NULL)) < 0)
		return error;
	return cb__buf_puts(b, "}\n");
}

static int
rules_hash(cb_rules *rs)
{
	cb_buf b = CB_BUF_INIT;
	int error;

	if ((error = cb__buf_puts(&b, "chargeback-rules-1\n")) < 0)
		goto done;
	for (size_t i = 0; i < rs->alloc_count; i++)
		if ((error = canon_alloc(&b, &rs->allocs[i])) < 0)
			goto done;
	for (size_t i = 0; i < rs->markup_count; i++)
		if ((error = canon_markup(&b, &rs->markups[i])) < 0)
			goto done;
	error = cb__auth_sha256_hex(rs->hash, b.ptr, b.size);
done:
	cb_buf_dispose(&b);
	return error;
}

/* ---- loading --------------------------------------------------------------
 */

void
cb_rules_free(cb_rules *rules)
{
	if (rules == NULL)
		return;
	for (size_t i = 0; i < rules->block_count; i++)
		cb__free(rules->blocks[i]);
	cb__free(rules->blocks);
	cb__free(rules->source);
	cb__free(rules);
}

static int
rules_load_text(
	cb_rules **out, const char *text, size_t len, const char *source)
{
	struct loader ld = { 0 };
	struct rnode *root = NULL;
	cb_rules *rs;
	int error;

	if ((rs = cb__calloc(1, sizeof(*rs))) == NULL ||
		(rs->source = cb__strdup(source)) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	ld.rs = rs;
	if ((error = cb__rules_read(&root, text, len, source)) < 0 ||
		(error = load_list(&ld, root, "allocation", false)) < 0 ||
		(error = load_list(&ld, root, "markup", true)) < 0 ||
		(error = no_unknown(&ld, root)) < 0 ||
		(error = rules_hash(rs)) < 0)
		goto done;
	*out = rs;
	rs = NULL;
	error = 0;
done:
	cb__rules_node_free(root);
	cb_rules_free(rs);
	return error;
}

int
cb_rules_load_string(cb_rules **out, const char *text, const char *source_name)
{
	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(text);
	return rules_load_text(out, text, strlen(text),
		source_name ? source_name : "<string>");
}

static int
rules_os_error(const char *path, int err)
{
	char msg[256];

	if (strerror_r(err, msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "error %d", err);
	return cb__error_set(
		err == ENOENT || err == ENOTDIR ? CB_ENOTFOUND : CB_EIO,
		CB_ERRCLASS_OS, "cannot read '%s': %s", path, msg);
}

int
cb_rules_load(cb_rules **out, const char *path)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	int fd, error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return rules_os_error(path, errno);
	if (fstat(fd, &st) < 0) {
		error = rules_os_error(path, errno);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"cannot read '%s': not a regular file", path);
		goto done;
	}
	if ((unsigned long long)st.st_size > CB_RULES_SIZE_MAX) {
		error = cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s: larger than %zu bytes", path, CB_RULES_SIZE_MAX);
		goto done;
	}
	if ((text = cb__malloc((size_t)st.st_size + 1)) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = rules_os_error(path, errno);
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	error = rules_load_text(out, text, got, path);
done:
	cb__free(text);
	close(fd);
	return error;
}

int
cb_rules_load_config(cb_rules **out, const cb_config *cfg)
{
	const char *file, *source, *slash;
	char *path = NULL;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	if ((file = cb_config_rules_file(cfg)) == NULL)
		return cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_CONFIG,
			"%s: no 'rules_file' is configured",
			cb_config_source(cfg));
	source = cb_config_source(cfg);
	if (file[0] != '/' && source != NULL &&
		(slash = strrchr(source, '/')) != NULL) {
		size_t dir = (size_t)(slash - source) + 1, n = strlen(file);

		if ((path = cb__malloc(dir + n + 1)) == NULL)
			return CB_ENOMEM;
		memcpy(path, source, dir);
		memcpy(path + dir, file, n + 1);
	}
	error = cb_rules_load(out, path ? path : file);
	cb__free(path);
	return error;
}

/* ---- accessors ------------------------------------------------------------
 */

const char *
cb_rules_source(const cb_rules *rules)
{
	return rules ? rules->source : NULL;
}

const char *
cb_rules_hash(const cb_rules *rules)
{
	return rules ? rules->hash : NULL;
}

size_t
cb_rules_alloc_count(const cb_rules *rules)
{
	return rules ? rules->alloc_count : 0;
}

const cb_alloc_rule *
cb_rules_alloc(const cb_rules *rules, size_t index)
{
	if (rules == NULL || index >= rules->alloc_count)
		return NULL;
	return &rules->allocs[index];
}

size_t
cb_rules_markup_count(const cb_rules *rules)
{
	return rules ? rules->markup_count : 0;
}

const cb_markup_rule *
cb_rules_markup(const cb_rules *rules, size_t index)
{
	if (rules == NULL || index >= rules->markup_count)
		return NULL;
	return &rules->markups[index];
}

/* ---- matching -------------------------------------------------------------
 */

/* A rule's value (NULL: anything) against the line's (NULL: none). */
static bool
same_ci(const char *rule, const char *line)
{
	return rule == NULL || (line != NULL && strcasecmp(rule, line) == 0);
}

static bool
customer_matches(const cb_markup_rule *r, const cb_markup_line *l)
{
	for (size_t i = 0; i < r->customer_value_count; i++) {
		const char *v = r->customer_values[i];

		if (r->customers == CB_CUSTOMERS_IDS && l->customer_id &&
			strcasecmp(v, l->customer_id) == 0)
			return true;
		if (r->customers == CB_CUSTOMERS_NAMES && l->customer_name &&
			cb__glob_match_ci(v, l->customer_name))
			return true;
	}
	return r->customers == CB_CUSTOMERS_ALL;
}

static bool
publisher_matches(int want, const char *have)
{
	if (want == CB_PUBLISHER_ANY)
		return true;
	if (have == NULL)
		return false;
	if (want == CB_PUBLISHER_MARKETPLACE)
		return strcasecmp(have, "Marketplace") == 0;
	/* Microsoft's own charges are "Microsoft" in MPA/MCA files and
	 * "Azure" in some exports. */
	return strcasecmp(have, "Microsoft") == 0 ||
	       strcasecmp(have, "Azure") == 0;
}

int
cb_markup_rule_matches(const cb_markup_rule *r, const cb_markup_line *l)
{
	const cb_rule_selector *s;
	bool tag = false;

	if (r == NULL || l == NULL)
		return 0;
	s = &r->match;
	if (!customer_matches(r, l) ||
		(r->has_from && l->date < r->effective_from) ||
		(r->has_to && l->date >= r->effective_to) ||
		!same_ci(s->service_family, l->service_family) ||
		!same_ci(s->meter_category, l->meter_category) ||
		!same_ci(s->meter, l->meter) ||
		!same_ci(s->charge_type, l->charge_type) ||
		!same_ci(s->pricing_model, l->pricing_model) ||
		!publisher_matches(s->publisher_type, l->publisher_type))
		return 0;
	if (s->reseller != NULL && !same_ci(s->reseller, l->reseller) &&
		!same_ci(s->reseller, l->reseller_mpn_id))
		return 0;
	if (s->tag_key == NULL)
		return 1;
	for (size_t i = 0; i < l->tag_count && !tag; i++)
		tag = l->tags[i].key != NULL && l->tags[i].value != NULL &&
		      strcasecmp(l->tags[i].key, s->tag_key) == 0 &&
		      strcmp(l->tags[i].value, s->tag_value) == 0;
	return tag;
}

const cb_markup_rule *
cb_rules_markup_find(const cb_rules *rules, const cb_markup_line *line)
{
	if (rules == NULL || line == NULL)
		return NULL;
	for (size_t i = 0; i < rules->markup_count; i++)
		if (cb_markup_rule_matches(&rules->markups[i], line))
			return &rules->markups[i];
	return NULL;
}
