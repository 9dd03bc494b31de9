/*
 * tenants/costnames.c - the names of cost metrics and cost report
 * groupings (chargeback/costs.h), as the CLI and the store spell them.
 */
#include "core/common.h"

#include "chargeback/costs.h"

/* ASCII-only case folding: names never depend on the locale. */
static bool
costnames_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x |= 0x20;
		if (y >= 'A' && y <= 'Z')
			y |= 0x20;
		if (x != y)
			return false;
		if (x == '\0')
			return true;
	}
}

const char *
cb_cost_metric_name(cb_cost_metric metric)
{
	switch (metric) {
	case CB_COST_ACTUAL:
		return "actual";
	case CB_COST_AMORTIZED:
		return "amortized";
	}
	return NULL;
}

int
cb_cost_metric_parse(cb_cost_metric *out, const char *text)
{
	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(text);
	if (costnames_eq(text, "actual"))
		*out = CB_COST_ACTUAL;
	else if (costnames_eq(text, "amortized"))
		*out = CB_COST_AMORTIZED;
	else
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"unknown cost metric '%.64s' (actual or amortized)",
			text);
	return 0;
}

static const char *const costs_by_names[] = {
	[CB_COSTS_BY_CUSTOMER] = "customer",
	[CB_COSTS_BY_SUBSCRIPTION] = "subscription",
	[CB_COSTS_BY_SERVICE_FAMILY] = "service-family",
	[CB_COSTS_BY_METER_CATEGORY] = "meter-category",
	[CB_COSTS_BY_DAY] = "day",
};

const char *
cb_costs_by_name(cb_costs_by by)
{
	if ((size_t)by >= CB_ARRAY_SIZE(costs_by_names))
		return NULL;
	return costs_by_names[by];
}

int
cb_costs_by_parse(cb_costs_by *out, const char *text)
{
	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(text);
	for (size_t i = 0; i < CB_ARRAY_SIZE(costs_by_names); i++)
		if (costs_by_names[i] &&
			costnames_eq(text, costs_by_names[i])) {
			*out = (cb_costs_by)i;
			return 0;
		}
	return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
		"unknown grouping '%.64s' (customer, subscription, "
		"service-family, meter-category or day)",
		text);
}
