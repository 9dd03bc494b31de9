/*
 * allocation/rate.c - the rating engine: a period's cost, grouped at the
 * statement grain, priced with the markup rules
 * (include/chargeback/rate.h has the pricing rules in full).
 *
 * The groups come from the store sorted by key.  First allocation: each
 * group an allocation rule's source holds is split over the rule's
 * customers (exactly, largest remainder at the 18th place) and replaced
 * by its parts, and the groups are sorted again.  Then three passes, in
 * key order (customer first):
 *   1. find each group's markup rule, take its base, and add the base
 *      to the customer's volume for (rule, currency) -- the "monthly
 *      volume" tiers are chosen by;
 *   2. price each group (percent, per unit or tier), markup = price -
 *      cost, and add what it bills to the same (rule, currency) total;
 *   3. lay the charge lines out: each customer's groups in key order,
 *      then its minimum-monthly shortfall lines in order of first use.
 * Then the invariants (background A.5) are checked against an
 * independent SQL sum, and only then is anything written.
 *
 * Allocation not applied yet (refused up front): resource group and tag
 * sources, cost-centre targets -- groups at the statement grain carry no
 * resource group or tags.
 */
#include "core/common.h"

#include "chargeback/costs.h"
#include "chargeback/rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* A (customer, rule, currency) of the month: its volume and billing. */
struct rate_agg {
	const char *customer_id;      /* borrowed from the first group */
	const char *currency;         /* borrowed from the first group */
	const cb_markup_rule *rule;   /* borrowed from the rules */
	const cb_charge_group *first; /* first group it priced */
	cb_money volume;              /* sum of the groups' base */
	cb_money billed;              /* sum of what they billed */
};

struct rate_group {
	/* strings owned (the store's die); an allocated part's borrowed
	 * from its source group and the rules */
	cb_charge_group g;
	const cb_markup_rule *rule; /* NULL: billed at cost */
	size_t agg;                 /* index into aggs, when rule */
	bool moved;                 /* allocated away: parts replace it */
	size_t alloc;               /* its allocation rule, or SIZE_MAX */
	bool extra_part;            /* a part after the first of a split */
};

struct rate_run {
	const cb_rules *rules;
	struct rate_group *groups;
	size_t ngroups, cap;
	struct rate_group *parts; /* allocated parts */
	size_t nparts, parts_cap;
	struct rate_group **order; /* what is priced, in key order */
	size_t norder;
	struct rate_agg *aggs;
	size_t naggs, agg_cap;
	size_t cust_start; /* first agg of the current customer */
};

/* Most groups one run keeps in memory: 2^27 (each ~300 bytes plus its
 * strings; a month of 500 customers at the statement grain is far
 * below). */
#define RATE_GROUPS_MAX ((size_t)1 << 27)

static int
dup(const char **out, const char *s)
{
	char *d;

	*out = NULL;
	if (s == NULL)
		return 0;
	if ((d = cb__strdup(s)) == NULL)
		return CB_ENOMEM;
	*out = d;
	return 0;
}

/* The owned strings of a kept group; free: release them first. */
static void
group_strings(cb_charge_group *g, bool free_them)
{
	const char **s[] = { &g->billing_account_id, &g->customer_id,
		&g->customer_name, &g->customer_tenant_id, &g->subscription_id,
		&g->service_family, &g->meter_category, &g->meter_id,
		&g->meter_name, &g->charge_type, &g->publisher_type,
		&g->pricing_model, &g->reseller_name, &g->reseller_mpn_id,
		&g->billing_currency };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (free_them)
			cb__free((void *)(uintptr_t)*s[i]);
		*s[i] = NULL;
	}
}

static void
group_free_strings(cb_charge_group *g)
{
	group_strings(g, true);
}

static int
group_copy(cb_charge_group *dst, const cb_charge_group *src)
{
	*dst = *src;
	group_strings(dst, false); /* until each is copied */
	if (dup(&dst->billing_account_id, src->billing_account_id) < 0 ||
		dup(&dst->customer_id, src->customer_id) < 0 ||
		dup(&dst->customer_name, src->customer_name) < 0 ||
		dup(&dst->customer_tenant_id, src->customer_tenant_id) < 0 ||
		dup(&dst->subscription_id, src->subscription_id) < 0 ||
		dup(&dst->service_family, src->service_family) < 0 ||
		dup(&dst->meter_category, src->meter_category) < 0 ||
		dup(&dst->meter_id, src->meter_id) < 0 ||
		dup(&dst->meter_name, src->meter_name) < 0 ||
		dup(&dst->charge_type, src->charge_type) < 0 ||
		dup(&dst->publisher_type, src->publisher_type) < 0 ||
		dup(&dst->pricing_model, src->pricing_model) < 0 ||
		dup(&dst->reseller_name, src->reseller_name) < 0 ||
		dup(&dst->reseller_mpn_id, src->reseller_mpn_id) < 0 ||
		dup(&dst->billing_currency, src->billing_currency) < 0) {
		group_free_strings(dst);
		return CB_ENOMEM;
	}
	return 0;
}

static int
overflow(const cb_charge_group *g)
{
	return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
		"rating: customer '%s' %s: an amount is out of range",
		g->customer_id, g->billing_currency);
}

/* The (customer, rule, currency) aggregate of group r, added if new.
 * Aggregates of one customer are contiguous from cust_start. */
static int
agg_find(struct rate_run *run, struct rate_group *r)
{
	for (size_t i = run->cust_start; i < run->naggs; i++) {
		struct rate_agg *a = &run->aggs[i];

		if (a->rule == r->rule &&
			strcmp(a->currency, r->g.billing_currency) == 0) {
			r->agg = i;
			return 0;
		}
	}
	if (run->naggs == run->agg_cap) {
		size_t cap = run->agg_cap ? run->agg_cap * 2 : 64;
		struct rate_agg *v =
			cb__reallocarray(run->aggs, cap, sizeof(*v));

		if (v == NULL)
			return CB_ENOMEM;
		run->aggs = v;
		run->agg_cap = cap;
	}
	r->agg = run->naggs++;
	run->aggs[r->agg] = (struct rate_agg){
		.customer_id = r->g.customer_id,
		.currency = r->g.billing_currency,
		.rule = r->rule,
		.volume = CB_MONEY_ZERO,
		.billed = CB_MONEY_ZERO,
	};
	return 0;
}

/* Keep each group the store hands over (strings copied). */
static int
collect(const cb_charge_group *g, void *payload)
{
	struct rate_run *run = payload;
	struct rate_group *r;
	int error;

	if (run->ngroups == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 1024;
		struct rate_group *v;

		if (run->cap >= RATE_GROUPS_MAX)
			return cb__error_set(CB_ERROR, CB_ERRCLASS_INVALID,
				"rating: more than %zu groups in one period",
				RATE_GROUPS_MAX);
		if ((v = cb__reallocarray(run->groups, cap, sizeof(*v))) ==
			NULL)
			return CB_ENOMEM;
		run->groups = v;
		run->cap = cap;
	}
	r = &run->groups[run->ngroups];
	memset(r, 0, sizeof(*r));
	if ((error = group_copy(&r->g, g)) < 0)
		return error;
	run->ngroups++;
	return 0;
}

/* Pass 1 for one group in key order: its rule, its base, and the base
 * added to the customer's volume under the rule. */
static int
markup_assign(struct rate_run *run, struct rate_group *r)
{
	cb_markup_line line;
	int error;

	/* Partner-level lines (no customer: Azure's rounding adjustments)
	 * are the partner's own and are not marked up. */
	if (r->g.customer_id[0] == '\0')
		return 0;
	memset(&line, 0, sizeof(line));
	/* Rules name customers by tenant id. */
	line.customer_id = r->g.customer_tenant_id ? r->g.customer_tenant_id
						   : r->g.customer_id;
	line.customer_name = r->g.customer_name;
	line.service_family = r->g.service_family;
	line.meter_category = r->g.meter_category;
	line.meter = r->g.meter_name;
	line.charge_type = r->g.charge_type;
	line.publisher_type = r->g.publisher_type;
	line.pricing_model = r->g.pricing_model;
	line.reseller = r->g.reseller_name;
	line.reseller_mpn_id = r->g.reseller_mpn_id;
	line.date = r->g.date;
	if ((r->rule = cb_rules_markup_find(run->rules, &line)) == NULL)
		return 0;
	if (r->rule->base == CB_MARKUP_BASE_RETAIL) {
		if (r->g.retail_missing > 0)
			return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
				"%s:%u: markup rule '%s' prices retail cost, "
				"but %llu cost line%s of customer '%s' (meter "
				"'%s') ha%s no paygCostInBillingCurrency",
				cb_rules_source(run->rules), r->rule->line,
				r->rule->name,
				(unsigned long long)r->g.retail_missing,
				r->g.retail_missing == 1 ? "" : "s",
				r->g.customer_id,
				r->g.meter_name ? r->g.meter_name : "",
				r->g.retail_missing == 1 ? "s" : "ve");
		r->g.base = r->g.retail;
	} else {
		r->g.base = r->g.cost;
	}
	if ((error = agg_find(run, r)) < 0)
		return error;
	if (cb_money_add(&run->aggs[r->agg].volume, run->aggs[r->agg].volume,
		    r->g.base) < 0)
		return overflow(&r->g);
	return 0;
}

/* ---- allocation ------------------------------------------------------ */

/* What this version applies: customer targets, even, percent or
 * proportional, sources by subscription, meter category, service family
 * or customer.  Groups carry no resource group or tags, so those sources
 * (and cost-centre targets, which are chosen by them) are refused. */
static int
alloc_supported(const cb_rules *rules)
{
	for (size_t i = 0; i < cb_rules_alloc_count(rules); i++) {
		const cb_alloc_rule *a = cb_rules_alloc(rules, i);
		const char *why = NULL;

		if (a->source.resource_group || a->source.tag_key)
			why = "resource group and tag sources";
		for (size_t t = 0; why == NULL && t < a->target_count; t++)
			if (a->targets[t].customer == NULL)
				why = "cost centre targets";
		if (why)
			return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
				"%s:%u: allocation rule '%s': not applied "
				"yet: %s",
				cb_rules_source(rules), a->line, a->name, why);
	}
	return 0;
}

static bool
same(const char *rule, const char *have)
{
	return rule == NULL || (have != NULL && strcasecmp(rule, have) == 0);
}

/* The allocation rule of lowest priority whose source holds g. */
static const cb_alloc_rule *
alloc_find(const cb_rules *rules, const cb_charge_group *g, size_t *index)
{
	for (size_t i = 0; i < cb_rules_alloc_count(rules); i++) {
		const cb_alloc_rule *a = cb_rules_alloc(rules, i);
		const cb_rule_selector *src = &a->source;

		if (same(src->subscription, g->subscription_id) &&
			same(src->meter_category, g->meter_category) &&
			same(src->service_family, g->service_family) &&
			same(src->customer, g->customer_tenant_id
						    ? g->customer_tenant_id
						    : g->customer_id)) {
			*index = i;
			return a;
		}
	}
	return NULL;
}

static int
parts_grow(struct rate_run *run, size_t n)
{
	struct rate_group *v;
	size_t cap;

	if (run->nparts + n <= run->parts_cap)
		return 0;
	cap = run->parts_cap ? run->parts_cap : 256;
	while (cap < run->nparts + n)
		cap *= 2;
	if (cap > RATE_GROUPS_MAX)
		return cb__error_set(CB_ERROR, CB_ERRCLASS_INVALID,
			"rating: more than %zu allocated parts in one period",
			RATE_GROUPS_MAX);
	if ((v = cb__reallocarray(run->parts, cap, sizeof(*v))) == NULL)
		return CB_ENOMEM;
	run->parts = v;
	run->parts_cap = cap;
	return 0;
}

/* The customer id of lines of tenant @p tenant, else the tenant id as
 * the rule writes it. */
static const char *
alloc_customer(const struct rate_run *run, const char *tenant)
{
	for (size_t i = 0; i < run->ngroups; i++) {
		const cb_charge_group *g = &run->groups[i].g;

		if (g->customer_tenant_id &&
			strcasecmp(g->customer_tenant_id, tenant) == 0)
			return g->customer_id;
	}
	return tenant;
}

/* A proportional rule's weights in one currency, computed once. */
struct rate_weights {
	size_t rule;
	const char *currency; /* borrowed from a group */
	cb_money *w;          /* one per target; owned */
};

/*
 * The weights of proportional rule @p ai for a source in @p currency:
 * each target's own cost in that currency (of the rule's service family
 * when it names one) -- its groups that no allocation source holds; a
 * negative sum weighs 0.
 */
static int
alloc_weights(struct rate_run *run, struct rate_weights **cache, size_t *ncache,
	size_t ai, const char *currency, const cb_money **out)
{
	const cb_alloc_rule *a = cb_rules_alloc(run->rules, ai);
	struct rate_weights *v, *e;

	for (size_t i = 0; i < *ncache; i++)
		if ((*cache)[i].rule == ai &&
			strcmp((*cache)[i].currency, currency) == 0) {
			*out = (*cache)[i].w;
			return 0;
		}
	if ((v = cb__reallocarray(*cache, *ncache + 1, sizeof(*v))) == NULL)
		return CB_ENOMEM;
	*cache = v;
	e = &v[*ncache];
	e->rule = ai;
	e->currency = currency;
	if ((e->w = cb__reallocarray(
		     NULL, a->target_count, sizeof(cb_money))) == NULL)
		return CB_ENOMEM;
	(*ncache)++;
	for (size_t t = 0; t < a->target_count; t++)
		e->w[t] = CB_MONEY_ZERO;
	for (size_t i = 0; i < run->ngroups; i++) {
		const struct rate_group *h = &run->groups[i];
		const char *tenant = h->g.customer_tenant_id
					     ? h->g.customer_tenant_id
					     : h->g.customer_id;

		if (h->alloc != SIZE_MAX ||
			strcmp(h->g.billing_currency, currency) != 0 ||
			!same(a->proportional_family, h->g.service_family))
			continue;
		for (size_t t = 0; t < a->target_count; t++)
			if (strcasecmp(a->targets[t].customer, tenant) == 0 &&
				cb_money_add(&e->w[t], e->w[t], h->g.cost) < 0)
				return overflow(&h->g);
	}
	for (size_t t = 0; t < a->target_count; t++)
		if (cb_money_sign(e->w[t]) < 0)
			e->w[t] = CB_MONEY_ZERO;
	*out = e->w;
	return 0;
}

/*
 * Split each group an allocation rule's source holds over the rule's
 * targets: cost, retail and quantity each by largest remainder at the
 * 18th place (cb_money_allocate), so the parts add up to the group
 * exactly (A.5 row conservation, checked again here).  The group is
 * then marked moved and its parts are priced as the targets' lines.
 */
static int
allocate(struct rate_run *run)
{
	size_t most = 0, total = 0, *first = NULL;
	const char **target_ids = NULL;
	cb_money *w = NULL, *pc = NULL, *pr = NULL, *pq = NULL;
	size_t nrules = cb_rules_alloc_count(run->rules);
	struct rate_weights *cache = NULL;
	size_t ncache = 0;
	int error = 0;

	for (size_t i = 0; i < run->ngroups; i++) {
		size_t ai;

		run->groups[i].alloc =
			alloc_find(run->rules, &run->groups[i].g, &ai)
				? ai
				: SIZE_MAX;
	}

	for (size_t i = 0; i < cb_rules_alloc_count(run->rules); i++)
		if (cb_rules_alloc(run->rules, i)->target_count > most)
			most = cb_rules_alloc(run->rules, i)->target_count;
	if (most == 0)
		return 0;
	/* Each target's customer id, resolved once per run. */
	for (size_t i = 0; i < nrules; i++)
		total += cb_rules_alloc(run->rules, i)->target_count;
	if ((w = cb__reallocarray(NULL, most * 4, sizeof(*w))) == NULL ||
		(first = cb__reallocarray(NULL, nrules, sizeof(*first))) ==
			NULL ||
		(target_ids = cb__reallocarray(
			 NULL, total, sizeof(*target_ids))) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	total = 0;
	for (size_t i = 0; i < nrules; i++) {
		const cb_alloc_rule *a = cb_rules_alloc(run->rules, i);

		first[i] = total;
		for (size_t t = 0; t < a->target_count; t++)
			target_ids[total++] =
				alloc_customer(run, a->targets[t].customer);
	}
	pc = w + most;
	pr = pc + most;
	pq = pr + most;
	for (size_t i = 0; i < run->ngroups && error == 0; i++) {
		struct rate_group *src = &run->groups[i];
		size_t ai = src->alloc, n;
		const cb_alloc_rule *a;
		const cb_money *pw = NULL;
		bool unallocated = false, emitted = false;
		cb_money sum[3] = { CB_MONEY_ZERO, CB_MONEY_ZERO,
			CB_MONEY_ZERO };

		if (ai == SIZE_MAX)
			continue;
		a = cb_rules_alloc(run->rules, ai);
		n = a->target_count;
		if (a->method == CB_ALLOC_PROPORTIONAL) {
			if ((error = alloc_weights(run, &cache, &ncache, ai,
				     src->g.billing_currency, &pw)) < 0)
				break;
			unallocated = true;
			for (size_t t = 0; t < n; t++) {
				w[t] = pw[t];
				if (cb_money_sign(w[t]) > 0)
					unallocated = false;
			}
		} else {
			for (size_t t = 0; t < n; t++)
				w[t] = a->method == CB_ALLOC_PERCENT
					       ? a->targets[t].percent
					       : cb_money_from_int(1);
		}
		if (unallocated) {
			/* No target has any weight: the explicit unallocated
			 * bucket, the partner-level customer "". */
			if ((error = parts_grow(run, 1)) < 0)
				break;
			run->parts[run->nparts] = *src;
			run->parts[run->nparts].moved = false;
			run->parts[run->nparts].extra_part = false;
			run->parts[run->nparts].g.customer_id = "";
			run->parts[run->nparts].g.customer_tenant_id = NULL;
			run->parts[run->nparts].g.customer_name = NULL;
			run->parts[run->nparts].g.source_customer_id =
				src->g.customer_id;
			run->parts[run->nparts].g.allocation_rule = a->name;
			run->nparts++;
			src->moved = true;
			continue;
		}
		if ((error = cb_money_allocate(pc, src->g.cost, w, n, 18)) <
				0 ||
			(error = cb_money_allocate(
				 pr, src->g.retail, w, n, 18)) < 0 ||
			(error = cb_money_allocate(
				 pq, src->g.quantity, w, n, 18)) < 0 ||
			(error = parts_grow(run, n)) < 0)
			break;
		for (size_t t = 0; t < n; t++) {
			struct rate_group *p;

			/* A target of no weight gets nothing: no line. */
			if (cb_money_is_zero(w[t]))
				continue;
			p = &run->parts[run->nparts++];
			*p = *src;
			p->moved = false;
			p->extra_part = emitted;
			emitted = true;
			p->g.customer_id = target_ids[first[ai] + t];
			p->g.customer_tenant_id = a->targets[t].customer;
			p->g.customer_name = NULL;
			p->g.source_customer_id = src->g.customer_id;
			p->g.allocation_rule = a->name;
			p->g.cost = pc[t];
			p->g.retail = pr[t];
			p->g.quantity = pq[t];
			if (cb_money_add(&sum[0], sum[0], pc[t]) < 0 ||
				cb_money_add(&sum[1], sum[1], pr[t]) < 0 ||
				cb_money_add(&sum[2], sum[2], pq[t]) < 0) {
				error = overflow(&src->g);
				break;
			}
		}
		if (error == 0 &&
			(cb_money_cmp(sum[0], src->g.cost) != 0 ||
				cb_money_cmp(sum[1], src->g.retail) != 0 ||
				cb_money_cmp(sum[2], src->g.quantity) != 0))
			error = cb__error_set(CB_EUNBALANCED,
				CB_ERRCLASS_INVALID,
				"rating: allocation rule '%s': the parts of "
				"customer '%s' do not add up to the source",
				a->name, src->g.customer_id);
		src->moved = true;
	}
done:
	for (size_t i = 0; i < ncache; i++)
		cb__free(cache[i].w);
	cb__free(cache);
	cb__free(w);
	cb__free(first);
	cb__free(target_ids);
	return error;
}

static int
str_cmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b ? 0 : a == NULL ? -1 : 1;
	return strcmp(a, b);
}

/* The statement grain's order, as sql/store_rate.c sorts groups (bytes,
 * NULLs first), then the allocation that made a part. */
static int
order_cmp(const void *pa, const void *pb)
{
	const cb_charge_group *a = &(*(struct rate_group *const *)pa)->g;
	const cb_charge_group *b = &(*(struct rate_group *const *)pb)->g;
	const char *const *fa[] = { &a->customer_id, &a->billing_account_id,
		&a->subscription_id, &a->service_family, &a->meter_category,
		&a->meter_id, &a->meter_name, &a->charge_type,
		&a->publisher_type, &a->pricing_model, &a->reseller_name,
		&a->reseller_mpn_id, &a->billing_currency };
	const char *const *fb[] = { &b->customer_id, &b->billing_account_id,
		&b->subscription_id, &b->service_family, &b->meter_category,
		&b->meter_id, &b->meter_name, &b->charge_type,
		&b->publisher_type, &b->pricing_model, &b->reseller_name,
		&b->reseller_mpn_id, &b->billing_currency };
	int c;

	for (size_t i = 0; i < sizeof(fa) / sizeof(fa[0]); i++)
		if ((c = str_cmp(*fa[i], *fb[i])) != 0)
			return c;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	if ((c = str_cmp(a->source_customer_id, b->source_customer_id)) != 0)
		return c;
	return str_cmp(a->allocation_rule, b->allocation_rule);
}

/* The groups to price, in key order: the unmoved groups and the
 * parts. */
static int
order_build(struct rate_run *run)
{
	size_t n = 0;

	run->order = cb__reallocarray(
		NULL, run->ngroups + run->nparts, sizeof(*run->order));
	if (run->order == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < run->ngroups; i++)
		if (!run->groups[i].moved)
			run->order[n++] = &run->groups[i];
	for (size_t i = 0; i < run->nparts; i++)
		run->order[n++] = &run->parts[i];
	run->norder = n;
	if (run->nparts > 0)
		qsort(run->order, n, sizeof(*run->order), order_cmp);
	return 0;
}

/*
 * v x percent / 100, rounded once at the 18th place as
 * round(v * percent / 100, 18) is in SQL, whenever percent has at most
 * 16 decimals (percent / 100 is then exact and the product is the only
 * rounding) or v x percent has at most 18 (the product is exact and the
 * division is the only rounding) -- every percentage and amount seen in
 * practice.  Beyond both, the two roundings may differ from SQL's one by
 * 10^-18.
 */
static int
percent_of(cb_money *out, cb_money v, cb_money percent)
{
	const cb_money hundred = cb_money_from_int(100);
	cb_money factor, back, product;
	int error;

	if ((error = cb_money_div(&factor, percent, hundred)) < 0)
		return error;
	if (cb_money_mul(&back, factor, hundred) == 0 &&
		cb_money_cmp(back, percent) == 0)
		return cb_money_mul(out, v, factor);
	if ((error = cb_money_mul(&product, v, percent)) < 0)
		return error;
	return cb_money_div(out, product, hundred);
}

/* The band of a tier rule holding volume v (the first for v < 0). */
static const cb_markup_tier *
tier_for(const cb_markup_rule *rule, cb_money v)
{
	for (size_t i = 0; i < rule->tier_count; i++) {
		const cb_markup_tier *t = &rule->tiers[i];

		if (cb_money_cmp(v, t->from) >= 0 &&
			(!t->has_to || cb_money_cmp(v, t->to) < 0))
			return t;
	}
	return rule->tier_count ? &rule->tiers[0] : NULL;
}

/* Pass 2: price one group. */
static int
price(struct rate_run *run, struct rate_group *r)
{
	cb_charge_group *g = &r->g;
	const cb_markup_rule *rule = r->rule;
	cb_money adj = CB_MONEY_ZERO, p;
	const cb_markup_tier *t;

	if (rule == NULL) {
		g->base = g->cost;
		g->markup = CB_MONEY_ZERO;
		g->billed = g->cost;
		return 0;
	}
	switch (rule->kind) {
	case CB_MARKUP_PERCENT:
		if (percent_of(&adj, g->base, rule->percent) < 0)
			return overflow(g);
		break;
	case CB_MARKUP_PER_UNIT:
		if (cb_money_mul(&adj, g->quantity, rule->per_unit) < 0)
			return overflow(g);
		break;
	case CB_MARKUP_TIERS:
		t = tier_for(rule, run->aggs[r->agg].volume);
		if (t && percent_of(&adj, g->base, t->percent) < 0)
			return overflow(g);
		break;
	default:
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s:%u: markup rule '%s': unknown kind %d",
			cb_rules_source(run->rules), rule->line, rule->name,
			rule->kind);
	}
	if (cb_money_add(&p, g->base, adj) < 0)
		return overflow(g);
	if (rule->has_reseller_percent && g->reseller_name &&
		g->reseller_name[0]) {
		if (percent_of(&adj, p, rule->reseller_percent) < 0 ||
			cb_money_add(&p, p, adj) < 0)
			return overflow(g);
	}
	g->billed = p;
	if (cb_money_sub(&g->markup, p, g->cost) < 0 ||
		cb_money_add(&run->aggs[r->agg].billed,
			run->aggs[r->agg].billed, p) < 0)
		return overflow(g);
	if (run->aggs[r->agg].first == NULL)
		run->aggs[r->agg].first = g;
	return 0;
}

/* Per-currency totals, kept sorted by code. */
static int
totals_add(cb_rate_result *res, const cb_charge_group *l, bool count_rows)
{
	cb_rate_currency_total *t = NULL;
	size_t i;

	for (i = 0; i < res->currency_count; i++) {
		int c = strcmp(
			res->currencies[i].currency, l->billing_currency);

		if (c == 0) {
			t = &res->currencies[i];
			break;
		}
		if (c > 0)
			break;
	}
	if (t == NULL) {
		cb_rate_currency_total *v;

		if (strlen(l->billing_currency) >= sizeof(t->currency))
			return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
				"rating: billing currency '%.16s' is not a "
				"currency code",
				l->billing_currency);
		v = cb__reallocarray(
			res->currencies, res->currency_count + 1, sizeof(*v));
		if (v == NULL)
			return CB_ENOMEM;
		res->currencies = v;
		memmove(&v[i + 1], &v[i],
			(res->currency_count - i) * sizeof(*v));
		res->currency_count++;
		t = &v[i];
		memset(t, 0, sizeof(*t));
		memcpy(t->currency, l->billing_currency,
			strlen(l->billing_currency) + 1);
	}
	t->lines++;
	if (count_rows)
		t->rows += l->rows;
	if (cb_money_add(&t->cost, t->cost, l->cost) < 0 ||
		cb_money_add(&t->markup, t->markup, l->markup) < 0 ||
		cb_money_add(&t->billed, t->billed, l->billed) < 0)
		return overflow(l);
	return 0;
}

/* The minimum-monthly line of aggregate a, if it bills short. */
static int
minimum_line(const struct rate_agg *a, cb_charge_group *out, bool *any)
{
	cb_money shortfall;

	*any = false;
	if (a->rule == NULL || !a->rule->has_minimum || a->first == NULL)
		return 0;
	if (cb_money_sub(&shortfall, a->rule->minimum_monthly, a->billed) < 0)
		return overflow(a->first);
	if (cb_money_sign(shortfall) <= 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->billing_account_id = a->first->billing_account_id;
	out->customer_id = a->customer_id;
	out->customer_name = a->first->customer_name;
	out->charge_type = "MinimumMonthly";
	out->billing_currency = a->currency;
	out->has_date = false;
	out->markup = shortfall;
	out->billed = shortfall;
	out->rule_name = a->rule->name;
	*any = true;
	return 0;
}

struct stored_total {
	cb_rate_result *res;
	size_t seen;
	int error;
};

/* Compare the engine's cost per currency with SQL's own sum. */
static int
check_stored(const cb_costs_group *grp, void *payload)
{
	struct stored_total *st = payload;
	const cb_rate_currency_total *t = NULL;

	for (size_t i = 0; i < st->res->currency_count; i++)
		if (strcmp(st->res->currencies[i].currency, grp->currency) == 0)
			t = &st->res->currencies[i];
	st->seen++;
	if (t == NULL || cb_money_cmp(t->cost, grp->cost) != 0) {
		char a[CB_MONEY_STR_MAX], b[CB_MONEY_STR_MAX];

		cb_money_format(a, sizeof(a), t ? t->cost : CB_MONEY_ZERO);
		cb_money_format(b, sizeof(b), grp->cost);
		st->error = cb__error_set(CB_EUNBALANCED, CB_ERRCLASS_INVALID,
			"rating: %s: charge lines cost %s but the stored "
			"lines cost %s",
			grp->currency, a, b);
		return 1;
	}
	return 0;
}

static int
check_invariants(cb_store *store, const char *period, cb_rate_result *res)
{
	struct stored_total st = { res, 0, 0 };
	int error;

	for (size_t i = 0; i < res->currency_count; i++) {
		const cb_rate_currency_total *t = &res->currencies[i];
		cb_money net;

		if (cb_money_sub(&net, t->billed, t->markup) < 0 ||
			cb_money_cmp(net, t->cost) != 0)
			return cb__error_set(CB_EUNBALANCED,
				CB_ERRCLASS_INVALID,
				"rating: %s: billed - markup is not the cost",
				t->currency);
	}
	error = cb_store_costs(store, period, CB_COST_ACTUAL, CB_COSTS_BY_NONE,
		check_stored, &st);
	if (st.error)
		return st.error;
	if (error < 0)
		return error;
	if (st.seen != res->currency_count)
		return cb__error_set(CB_EUNBALANCED, CB_ERRCLASS_INVALID,
			"rating: charge lines in %zu currencies but stored "
			"lines in %zu",
			res->currency_count, st.seen);
	return 0;
}

void
cb_rate_result_dispose(cb_rate_result *res)
{
	if (res == NULL)
		return;
	cb__free(res->currencies);
	memset(res, 0, sizeof(*res));
}

int
cb_rate_run_rules(cb_store *store, const cb_rules *rules, const char *period,
	cb_rate_result *out)
{
	struct rate_run run;
	cb_rate_result res = CB_RATE_RESULT_INIT;
	cb_charge_group *lines = NULL;
	size_t nlines = 0, k = 0;
	cb_rate_run_key key;
	int64_t run_id = 0;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(rules);
	CB_ASSERT_ARG(period);
	CB_ASSERT_ARG(out);
	memset(&run, 0, sizeof(run));
	run.rules = rules;
	/* ALLOCATION is applied first (issue 6); what this version cannot
	 * apply is refused before anything is read. */
	if ((error = alloc_supported(rules)) < 0)
		return error;

	if ((error = cb_store_rate_groups(store, period, collect, &run)) < 0)
		goto done;
	if (run.ngroups == 0) {
		error = cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_INVALID,
			"rating: no ActualCost lines of %s are loaded: run "
			"'chargeback ingest --period %s'",
			period, period);
		goto done;
	}
	if ((error = allocate(&run)) < 0 || (error = order_build(&run)) < 0)
		goto done;
	for (size_t i = 0; i < run.norder; i++) {
		if (i == 0 || strcmp(run.order[i - 1]->g.customer_id,
				      run.order[i]->g.customer_id) != 0)
			run.cust_start = run.naggs;
		if ((error = markup_assign(&run, run.order[i])) < 0)
			goto done;
	}
	for (size_t i = 0; i < run.norder; i++)
		if ((error = price(&run, run.order[i])) < 0)
			goto done;

	/* Pass 3: lines in order, each customer's shortfalls after its
	 * groups.  At most one extra line per aggregate. */
	lines = cb__reallocarray(NULL, run.norder + run.naggs, sizeof(*lines));
	if (lines == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i <= run.norder; i++) {
		bool flush =
			i == run.norder ||
			(i > 0 &&
				strcmp(run.order[i]->g.customer_id,
					run.order[i - 1]->g.customer_id) != 0);

		if (flush) {
			const char *cust = run.order[i - 1]->g.customer_id;

			for (; k < run.naggs &&
				strcmp(run.aggs[k].customer_id, cust) == 0;
				k++) {
				bool any;

				if ((error = minimum_line(&run.aggs[k],
					     &lines[nlines], &any)) < 0)
					goto done;
				if (any) {
					if ((error = totals_add(&res,
						     &lines[nlines], true)) < 0)
						goto done;
					nlines++;
				}
			}
		}
		if (i < run.norder) {
			lines[nlines] = run.order[i]->g;
			lines[nlines].rule_name =
				run.order[i]->rule ? run.order[i]->rule->name
						   : NULL;
			if ((error = totals_add(&res, &lines[nlines],
				     !run.order[i]->extra_part)) < 0)
				goto done;
			if (lines[nlines].rule_name == NULL)
				res.unmatched++;
			nlines++;
		}
	}
	res.lines = nlines;
	if ((error = check_invariants(store, period, &res)) < 0)
		goto done;

	key.period = period;
	key.rules_hash = cb_rules_hash(rules);
	if ((error = cb_store_rate_begin(store, &key, &run_id)) < 0)
		goto done;
	if ((error = cb_store_rate_commit(store, &key, run_id, lines, nlines)) <
		0) {
		cb_store_rate_fail(store, run_id);
		goto done;
	}
	res.run_id = run_id;
	snprintf(res.rules_hash, sizeof(res.rules_hash), "%s", key.rules_hash);
	*out = res;
	memset(&res, 0, sizeof(res));
	error = 0;
done:
	cb__free(lines);
	for (size_t i = 0; i < run.ngroups; i++)
		group_free_strings(&run.groups[i].g);
	cb__free(run.groups);
	cb__free(run.parts);
	cb__free(run.order);
	cb__free(run.aggs);
	cb_rate_result_dispose(&res);
	return error;
}

int
cb_rate_run(cb_store *store, const cb_config *config, const char *period,
	cb_rate_result *out)
{
	cb_rules *rules = NULL;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(config);
	CB_ASSERT_ARG(period);
	CB_ASSERT_ARG(out);
	if ((error = cb_rules_load_config(&rules, config)) < 0)
		return error;
	error = cb_rate_run_rules(store, rules, period, out);
	cb_rules_free(rules);
	return error;
}
