/*
 * emulator/budgets.h - the scopes budgets and usage details are asked
 * for, resolved against the partner (budgets.c).
 */
#ifndef CB_EMULATOR_BUDGETS_H
#define CB_EMULATOR_BUDGETS_H

#include "emulator/armsim.h"
#include "emulator/partner.h"

enum as_scope_kind {
	AS_BSCOPE_ACCOUNT,
	AS_BSCOPE_PROFILE,
	AS_BSCOPE_CUSTOMER,
	AS_BSCOPE_SUBSCRIPTION,
	AS_BSCOPE_RESOURCE_GROUP
};

/* A resolved scope: indexes into the partner's arrays, (size_t)-1 where
 * the scope names none (a billing account scope has no customer). */
typedef struct as_budget_scope {
	enum as_scope_kind kind;
	size_t account, profile, customer, subscription;
	char resource_group[AS_NAME_MAX];
} as_budget_scope;

/* Resolve a {scope*} capture ("providers/Microsoft.Billing/billingAccounts/
 * {ba}[/customers/{c}|/billingProfiles/{bp}]" or "subscriptions/{sub}
 * [/resourceGroups/{rg}]").  0, or -1 with ARM's 404 (no such parent) or
 * a 400 (another kind of scope) in resp. */
int as_budget_scope_resolve(
	as_server *s, const char *scope, as_budget_scope *sc, as_resp *resp);

/* Handlers of usage.c, served from budgets.c's route table (one table
 * for the Consumption provider's routes). */
int as_usage_list(as_server *s, as_req *req, as_resp *resp);
int as_usage_pricesheet(as_server *s, as_req *req, as_resp *resp);

#endif
