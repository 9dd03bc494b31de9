/*
 * emulator/billing_policy.c - a customer's "view charges" policy
 * (azure-api-notes.md a.1 items 9 and 10): GET and PUT of
 * .../customers/{c}/policies/default under the billing account or under
 * the customer's billing profile.  Off (NotAllowed) until the partner
 * turns it on; the value lives in as_server.billing for the server's
 * life, and both paths read and write the same value.
 *
 * 2024-04-01 declares the PUT a long-running operation that may answer
 * 201 with Location and Retry-After; armsim always completes it at once
 * and answers 200 with the policy, which the spec also allows and every
 * LRO client treats as done.  The 2019-10-01-preview example's eTag
 * parameter is not required (notes: probably a leftover).
 */
#include "core/common.h"

#include "emulator/billing.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The customer a policy route names; the account path has captures
 * {ba}/{c}, the profile path {ba}/{bp}/{c}. */
static const as_customer *
policy_customer(as_server *s, const as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_mpa_account(s, req, 0, resp);
	const as_profile *bp = NULL;

	if (a == NULL)
		return NULL;
	if (req->ncap == 3 &&
		(bp = as_billing_profile(s, a, req, 1, resp)) == NULL)
		return NULL;
	return as_billing_customer(s, a, bp, req, req->ncap - 1, resp);
}

static json_t *
policy_json(as_server *s, const as_req *req, const as_customer *c)
{
	const as_partner *p = s->partner;
	size_t ci = AS_INDEX(p, customers, c);
	bool on = s->billing->view_charges[ci] != 0;
	bool by_profile = req->ncap == 3;
	char id[768], parent[512];
	json_t *props, *o;

	if (by_profile)
		as_billing_profile_id(
			s, &p->profiles[c->profile], parent, sizeof(parent));
	else
		as_billing_account_id(
			&p->accounts[c->account], parent, sizeof(parent));
	snprintf(id, sizeof(id), "%s/customers/%s/policies/default", parent,
		c->id);
	props = json_pack(
		"{s:s}", "viewCharges", on ? "Allowed" : "NotAllowed");
	if (as_billing_version(req) == AS_BV_2024)
		json_object_set_new(
			props, "provisioningState", json_string("Succeeded"));
	o = json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", "default", "type",
		by_profile
			? "Microsoft.Billing/billingAccounts/billingProfiles/"
			  "customers/policies"
			: "Microsoft.Billing/billingAccounts/customers/"
			  "policies",
		"properties", props);
	return o;
}

int
as_billing_policy_get(as_server *s, as_req *req, as_resp *resp)
{
	const as_customer *c = policy_customer(s, req, resp);

	if (c != NULL)
		as_resp_json(resp, 200, policy_json(s, req, c));
	return 0;
}

/* viewCharges from the body: 1 Allowed, 0 NotAllowed, -1 with a 400.
 * The 2024-04-01 enum also lists "Other" and is modelAsString (clients
 * must accept new values); the service itself sets only these two, so
 * armsim refuses anything else (case-insensitively, as ARM reads enums)
 * with the message Azure's request validation gives. */
static int
policy_value(const as_req *req, as_resp *resp)
{
	json_t *body = as_req_json(req, resp), *v;
	const char *text;
	int on = -1;

	if (body == NULL)
		return -1;
	v = json_object_get(json_object_get(body, "properties"), "viewCharges");
	text = json_string_value(v);
	if (text != NULL && strcasecmp(text, "Allowed") == 0)
		on = 1;
	else if (text != NULL && strcasecmp(text, "NotAllowed") == 0)
		on = 0;
	else if (v == NULL)
		as_resp_arm_error(resp, 400, "InvalidRequestContent",
			"The request content was invalid: "
			"properties.viewCharges is required.");
	else
		as_resp_arm_error(resp, 400, "InvalidRequestContent",
			"The request content was invalid: the value '%.64s' "
			"of properties.viewCharges is not one of 'Allowed', "
			"'NotAllowed'.",
			text ? text : "(not a string)");
	json_decref(body);
	return on;
}

int
as_billing_policy_put(as_server *s, as_req *req, as_resp *resp)
{
	const as_customer *c = policy_customer(s, req, resp);
	int on;

	if (c == NULL || (on = policy_value(req, resp)) < 0)
		return 0;
	s->billing->view_charges[AS_INDEX(s->partner, customers, c)] =
		(unsigned char)on;
	as_resp_json(resp, 200, policy_json(s, req, c));
	return 0;
}
