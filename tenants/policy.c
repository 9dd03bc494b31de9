/*
 * tenants/policy.c - customers' "view charges" policies: list, plan,
 * apply, set (include/chargeback/policy.h).
 *
 * The one thing a reader must know: everything that can be wrong with the
 * configuration is found by policy_resolve() before the first request is
 * made, so a bad rule never leaves a half-applied change; everything that
 * can go wrong with ARM is recorded on the customer's item and the other
 * customers go on.  Calls run concurrently through core/http's executor
 * (bounded by http.max_parallel), one phase at a time: reads, then the
 * PUTs, then the confirming reads.
 *
 * api-version 2020-05-01: its PUT is a plain 200, where 2024-04-01 makes
 * it a long-running operation (azure-api-notes.md a.1 item 10) that would
 * need polling for no gain; the confirming GET checks the result anyway.
 */
#include "core/common.h"
#include "chargeback/policy.h"
#include "core/arm.h"
#include "core/buf.h"
#include "core/glob.h"
#include "core/http.h"
#include "core/json.h"
#include "tenants/session.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

#define POLICY_API_VERSION "2020-05-01"

/* Longest ARM path we build: the prefix, an 84-character MCA/MPA account
 * name and a 128-character customer id fit with room to spare. */
#define POLICY_PATH_MAX 512

/* One customer.  item is the public view; its strings point at the owned
 * copies here. */
struct policy_entry {
	cb_policy_item item;
	char *ba;                        /* owned */
	char *id;                        /* owned */
	char *name;                      /* owned */
	char *rid;                       /* owned, or NULL */
	char *rule;                      /* owned, or NULL */
	char *message;                   /* owned, or NULL */
	char request_id[CB_HTTP_ID_MAX]; /* of the last call */
	char current_text[32];           /* viewCharges as ARM wrote it */
	int kind;                        /* winning rule's cb_select_kind */
};

struct cb_policy {
	struct policy_entry *entries; /* owned */
	size_t count;                 /* entries used */
	size_t cap;                   /* entries allocated */
};

const char *
cb_view_charges_name(int view_charges)
{
	switch (view_charges) {
	case CB_VIEW_CHARGES_ALLOWED:
		return "Allowed";
	case CB_VIEW_CHARGES_NOTALLOWED:
		return "NotAllowed";
	default:
		return "none";
	}
}

int
cb_view_charges_parse(int *out, const char *text)
{
	if (out == NULL || text == NULL)
		return CB_EINVAL;
	if (strcasecmp(text, "allowed") == 0)
		*out = CB_VIEW_CHARGES_ALLOWED;
	else if (strcasecmp(text, "notallowed") == 0)
		*out = CB_VIEW_CHARGES_NOTALLOWED;
	else
		return CB_EINVAL;
	return 0;
}

/* ---- the set ------------------------------------------------------------ */

size_t
cb_policy_count(const cb_policy *policy)
{
	return policy ? policy->count : 0;
}

const cb_policy_item *
cb_policy_item_at(const cb_policy *policy, size_t index)
{
	if (policy == NULL || index >= policy->count)
		return NULL;
	return &policy->entries[index].item;
}

void
cb_policy_free(cb_policy *policy)
{
	if (policy == NULL)
		return;
	for (size_t i = 0; i < policy->count; i++) {
		struct policy_entry *e = &policy->entries[i];

		cb__free(e->ba);
		cb__free(e->id);
		cb__free(e->name);
		cb__free(e->rid);
		cb__free(e->rule);
		cb__free(e->message);
	}
	cb__free(policy->entries);
	cb__free(policy);
}

static int
policy_add(const cb_store_customer *c, void *payload)
{
	cb_policy *p = payload;
	struct policy_entry *e;

	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct policy_entry *n =
			cb__reallocarray(p->entries, cap, sizeof(*n));

		if (n == NULL)
			return CB_ENOMEM;
		p->entries = n;
		p->cap = cap;
	}
	e = &p->entries[p->count];
	memset(e, 0, sizeof(*e));
	p->count++;
	e->ba = cb__strdup(c->billing_account_id);
	e->id = cb__strdup(c->customer_id);
	e->name = cb__strdup(c->display_name);
	if (c->reseller_id != NULL && *c->reseller_id)
		e->rid = cb__strdup(c->reseller_id);
	if (e->ba == NULL || e->id == NULL || e->name == NULL ||
		(c->reseller_id != NULL && *c->reseller_id && e->rid == NULL))
		return CB_ENOMEM;
	e->item.billing_account_id = e->ba;
	e->item.customer_id = e->id;
	e->item.display_name = e->name;
	e->item.reseller_id = e->rid;
	e->item.current = c->view_charges;
	e->item.desired = CB_VIEW_CHARGES_NONE;
	e->item.previous = CB_VIEW_CHARGES_NONE;
	e->item.request_id = e->request_id;
	e->kind = -1;
	return 0;
}

/* The store's customers, as a new set. */
static int
policy_load(cb_policy **out, const cb_config *cfg, cb_store *store)
{
	cb_policy *p;
	int error;

	if ((p = cb__calloc(1, sizeof(*p))) == NULL)
		return CB_ENOMEM;
	if ((error = cb_store_customer_foreach(store, cfg, policy_add, p)) <
		0) {
		cb_policy_free(p);
		return error;
	}
	/* the entries moved while the array grew */
	for (size_t i = 0; i < p->count; i++)
		p->entries[i].item.request_id = p->entries[i].request_id;
	*out = p;
	return 0;
}

/* Record a failure on e: "customer 'id' (name): <last error> (request id
 * R)"; keeps the code.  The last error stays set. */
static int
policy_fail(struct policy_entry *e, int code)
{
	const cb_error *err = cb_error_last();
	const char *rid = *err->request_id ? err->request_id : e->request_id;
	cb_buf b = CB_BUF_INIT;

	if (*err->request_id)
		snprintf(e->request_id, sizeof(e->request_id), "%s",
			err->request_id);
	if (cb__buf_printf(&b, "customer '%s'", e->id) == 0 &&
		(*e->name == '\0' ||
			cb__buf_printf(&b, " (%s)", e->name) == 0) &&
		cb__buf_printf(&b, ": %s", err->message) == 0 &&
		(*rid == '\0' || strstr(err->message, rid) != NULL ||
			cb__buf_printf(&b, " (request id %s)", rid) == 0)) {
		cb__free(e->message);
		e->message = cb__buf_detach(&b);
	}
	cb_buf_dispose(&b);
	e->item.error = code;
	e->item.message = e->message;
	return code;
}

/* ---- resolving the rules -------------------------------------------- */

static bool
policy_member_matches(const cb_label_member *m, const struct policy_entry *e)
{
	if (m->kind == CB_SELECT_CUSTOMER)
		return strcasecmp(m->value, e->id) == 0;
	return cb__glob_match_ci(m->value, e->name);
}

static bool
policy_matches(const cb_config *cfg, const cb_policy_rule *r,
	const struct policy_entry *e)
{
	const cb_label *l;

	switch (r->kind) {
	case CB_SELECT_ALL:
		return true;
	case CB_SELECT_NAME:
		return cb__glob_match_ci(r->value, e->name);
	case CB_SELECT_RESELLER:
		return e->rid != NULL && strcmp(e->rid, r->value) == 0;
	case CB_SELECT_LABEL:
		if ((l = cb_config_label_find(cfg, r->value)) == NULL)
			return false;
		for (size_t i = 0; i < l->member_count; i++)
			if (policy_member_matches(&l->members[i], e))
				return true;
		return false;
	default:
		return strcasecmp(r->value, e->id) == 0;
	}
}

/* "a b" in a new string, or NULL. */
static char *
policy_join(const char *a, const char *b)
{
	cb_buf buf = CB_BUF_INIT;
	char *out = NULL;

	if (cb__buf_printf(&buf, "%s %s", a, b) == 0)
		out = cb__buf_detach(&buf);
	cb_buf_dispose(&buf);
	return out;
}

/* "customer 'x'" / "label 'gold'" ... for messages and item.rule. */
static const char *const kind_words[] = { "all", "name", "reseller", "label",
	"customer" };
static const char *const kind_what[] = { "every customer ('all')",
	"name pattern", "reseller", "label", "customer" };

static int policy_config_fail(const cb_config *cfg, unsigned line,
	const char *fmt, ...) CB_FORMAT_PRINTF(3, 4);

static int
policy_config_fail(const cb_config *cfg, unsigned line, const char *fmt, ...)
{
	char msg[CB_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line == 0)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG, "%s: %s",
			cb_config_source(cfg), msg);
	return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG, "%s:%u: %s",
		cb_config_source(cfg), line, msg);
}

/* Every customer id a label names is in the store. */
static int
policy_check_labels(const cb_config *cfg, const cb_policy *p)
{
	for (size_t i = 0; i < cb_config_label_count(cfg); i++) {
		const cb_label *l = cb_config_label(cfg, i);

		for (size_t m = 0; m < l->member_count; m++) {
			const cb_label_member *mb = &l->members[m];
			bool found = false;

			if (mb->kind != CB_SELECT_CUSTOMER)
				continue;
			for (size_t c = 0; c < p->count && !found; c++)
				found = strcasecmp(mb->value,
						p->entries[c].id) == 0;
			if (!found)
				return policy_config_fail(cfg, mb->line,
					"label '%s': unknown customer '%s' "
					"(not in the store: run 'chargeback "
					"sync')",
					l->name, mb->value);
		}
	}
	return 0;
}

/*
 * Give every customer its desired value: for each rule, the customers it
 * selects; the most specific kind wins; two rules of one kind with
 * different values on one customer are a tie.  With strict, a rule that
 * selects nobody or names an unknown customer is an error too (plan); a
 * list only shows what it can.
 */
static int
policy_resolve(cb_policy *p, const cb_config *cfg, bool strict)
{
	size_t nrules = cb_config_policy_rule_count(cfg);
	unsigned *lines = NULL;
	int error = 0;

	if (strict && nrules == 0)
		return policy_config_fail(cfg, 0,
			"no 'policies' in the configuration: nothing to plan");
	if (strict && (error = policy_check_labels(cfg, p)) < 0)
		return error;
	if (p->count && (lines = cb__calloc(p->count, sizeof(*lines))) == NULL)
		return CB_ENOMEM;
	/* most specific kind first, so a tie only matters at the level
	 * that decides (whatever the order of the rules in the file) */
	for (size_t i = 0; i < nrules * (CB_SELECT_CUSTOMER + 1); i++) {
		const cb_policy_rule *r =
			cb_config_policy_rule(cfg, i % nrules);
		size_t hits = 0;

		if (r->kind != CB_SELECT_CUSTOMER - (int)(i / nrules))
			continue;

		for (size_t c = 0; c < p->count; c++) {
			struct policy_entry *e = &p->entries[c];

			if (!policy_matches(cfg, r, e))
				continue;
			hits++;
			if (r->kind < e->kind)
				continue;
			if (r->kind == e->kind) {
				if (r->view_charges == e->item.desired)
					continue;
				if (!strict)
					continue;
				error = policy_config_fail(cfg, r->line,
					"customer '%s'%s%s%s is selected by "
					"two %s rules with different "
					"view_charges: line %u (%s) and line "
					"%u (%s)",
					e->id, *e->name ? " (" : "", e->name,
					*e->name ? ")" : "",
					kind_words[r->kind], lines[c],
					e->item.desired ? "allowed"
							: "notallowed",
					r->line,
					r->view_charges ? "allowed"
							: "notallowed");
				goto done;
			}
			e->kind = r->kind;
			e->item.desired = r->view_charges;
			e->item.rule_line = r->line;
			lines[c] = r->line;
			cb__free(e->rule);
			e->rule = NULL;
			if (r->value == NULL)
				e->rule = cb__strdup(kind_words[r->kind]);
			else
				e->rule = policy_join(
					kind_words[r->kind], r->value);
			if (e->rule == NULL) {
				error = CB_ENOMEM;
				goto done;
			}
			e->item.rule = e->rule;
		}
		if (strict && hits == 0) {
			if (r->kind == CB_SELECT_CUSTOMER)
				error = policy_config_fail(cfg, r->line,
					"unknown customer '%s' (not in the "
					"store: run 'chargeback sync')",
					r->value);
			else if (r->kind == CB_SELECT_ALL)
				error = policy_config_fail(cfg, r->line,
					"%s selects no customer: the store "
					"has none (run 'chargeback sync')",
					kind_what[r->kind]);
			else
				error = policy_config_fail(cfg, r->line,
					"%s '%s' selects no customer",
					kind_what[r->kind], r->value);
			goto done;
		}
	}
done:
	cb__free(lines);
	return error;
}

/* ---- calls ------------------------------------------------------------ */

struct policy_call {
	struct policy_entry *e;    /* borrowed */
	struct cb_arm_request req; /* prepared request */
	cb_http_response resp;     /* the answer */
	cb_buf url;                /* absolute URL */
	int code;                  /* what core/http returned */
	struct policy_run *run;    /* borrowed */
};

struct policy_run {
	size_t done, total;            /* for progress */
	const cb_policy_options *opts; /* or NULL */
};

static void
policy_call_done(int error, cb_http_response *resp, void *payload)
{
	struct policy_call *c = payload;

	(void)resp;
	c->code = error;
	c->run->done++;
	if (c->run->opts && c->run->opts->progress)
		c->run->opts->progress(c->run->done, c->run->total,
			c->run->opts->progress_payload);
}

/* properties.viewCharges of a policy body into e (current, text). */
static int
policy_read_value(struct policy_entry *e, const cb_json *doc, int *out)
{
	const char *v = NULL;
	int error;

	if (doc == NULL)
		return cb__error_set(
			CB_EPARSE, CB_ERRCLASS_JSON, "policy: empty answer");
	error = cb__json_get_string(
		&v, doc, cb__json_root(doc), "properties.viewCharges", 0);
	if (error < 0)
		return error;
	snprintf(e->current_text, sizeof(e->current_text), "%s", v);
	/* modelAsString: a value other than these two ("Other") is kept as
	 * text and counts as neither */
	if (strcasecmp(v, "Allowed") == 0)
		*out = CB_VIEW_CHARGES_ALLOWED;
	else if (strcasecmp(v, "NotAllowed") == 0)
		*out = CB_VIEW_CHARGES_NOTALLOWED;
	else
		*out = CB_VIEW_CHARGES_NONE;
	return 0;
}

/*
 * One call per selected entry (sel[i]), all concurrently: method with
 * body (the desired value for PUT).  results[i] receives the value read
 * from the answer; failures are recorded on the entries.  Returns 0, or
 * a code that stops everything (no token, out of memory).
 */
static int
policy_calls(cb__session *s, struct policy_entry **sel, size_t n,
	const char *method, int *results, const cb_policy_options *opts)
{
	struct policy_run run = { 0, n, opts };
	struct policy_call *calls;
	int error = 0;

	if (n == 0)
		return 0;
	if ((calls = cb__calloc(n, sizeof(*calls))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct cb_arm_request init = CB_ARM_REQUEST_INIT;
		cb_http_response rinit = CB_HTTP_RESPONSE_INIT;

		calls[i].req = init;
		calls[i].resp = rinit;
		calls[i].url = (cb_buf)CB_BUF_INIT;
		calls[i].e = sel[i];
		calls[i].run = &run;
	}
	for (size_t i = 0; i < n && error == 0; i++) {
		struct policy_call *c = &calls[i];
		char path[POLICY_PATH_MAX];
		const char *body = NULL;

		snprintf(path, sizeof(path),
			"/providers/Microsoft.Billing/billingAccounts/%s/"
			"customers/%s/policies/default",
			c->e->ba, c->e->id);
		if (strcmp(method, "PUT") == 0)
			body = c->e->item.desired == CB_VIEW_CHARGES_ALLOWED
				       ? "{\"properties\":{\"viewCharges\":"
					 "\"Allowed\"}}"
				       : "{\"properties\":{\"viewCharges\":"
					 "\"NotAllowed\"}}";
		if ((error = cb__arm_url(
			     &c->url, s->arm, path, POLICY_API_VERSION)) < 0 ||
			(error = cb__arm_request_prepare(&c->req, s->arm,
				 method, c->url.ptr, body)) < 0 ||
			(error = cb__http_submit(s->http, &c->req.http,
				 &c->resp, policy_call_done, c)) < 0)
			break;
	}
	if (error == 0) {
		error = cb__http_run(s->http);
	} else {
		/* the submitted calls complete with CB_ECANCELED */
		cb__http_abort(s->http);
		cb__http_run(s->http);
	}
	for (size_t i = 0; i < n && error == 0; i++) {
		struct policy_call *c = &calls[i];
		cb_json *doc = NULL;
		int rc;

		snprintf(c->e->request_id, sizeof(c->e->request_id), "%s",
			c->resp.request_id);
		rc = cb__arm_result(
			&doc, method, c->url.ptr, c->code, &c->resp);
		if (rc == 0)
			rc = policy_read_value(c->e, doc, &results[i]);
		cb__json_free(doc);
		if (rc == CB_ENOMEM)
			error = rc;
		else if (rc < 0)
			policy_fail(c->e, rc);
	}
	for (size_t i = 0; i < n; i++) {
		cb__arm_request_dispose(&calls[i].req);
		cb__http_response_dispose(&calls[i].resp);
		cb_buf_dispose(&calls[i].url);
	}
	cb__free(calls);
	return error;
}

/* Read the current value of every entry from ARM. */
static int
policy_read_all(cb__session *s, cb_policy *p, const cb_policy_options *opts)
{
	struct policy_entry **sel;
	int *values;
	int error;

	if (p->count == 0)
		return 0;
	sel = cb__calloc(p->count, sizeof(*sel));
	values = cb__calloc(p->count, sizeof(*values));
	if (sel == NULL || values == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < p->count; i++) {
		sel[i] = &p->entries[i];
		values[i] = CB_VIEW_CHARGES_NONE;
		p->entries[i].item.current = CB_VIEW_CHARGES_NONE;
	}
	error = policy_calls(s, sel, p->count, "GET", values, opts);
	for (size_t i = 0; i < p->count && error == 0; i++)
		if (p->entries[i].item.error == 0)
			p->entries[i].item.current = values[i];
done:
	cb__free(sel);
	cb__free(values);
	return error;
}

static void
policy_mark_changes(cb_policy *p)
{
	for (size_t i = 0; i < p->count; i++) {
		cb_policy_item *it = &p->entries[i].item;

		it->change = it->error == 0 &&
			     it->desired != CB_VIEW_CHARGES_NONE &&
			     it->current != it->desired;
	}
}

static int
policy_failures(const cb_policy *p)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->entries[i].item.error != 0)
			return 1;
	return 0;
}

/* ---- the operations ------------------------------------------------- */

int
cb_policy_list(cb_policy **out, const cb_config *cfg, cb_store *store,
	int source, const cb_policy_options *opts)
{
	cb__session *s = NULL;
	cb_policy *p = NULL;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(
		source == CB_POLICY_FROM_ARM || source == CB_POLICY_FROM_STORE);
	if ((error = policy_load(&p, cfg, store)) < 0)
		return error;
	if ((error = policy_resolve(p, cfg, false)) < 0)
		goto done;
	if (source == CB_POLICY_FROM_ARM) {
		if ((error = cb__session_open(&s, cfg)) < 0 ||
			(error = policy_read_all(s, p, opts)) < 0)
			goto done;
	}
	policy_mark_changes(p);
	*out = p;
	p = NULL;
	error = policy_failures(*out);
done:
	cb__session_close(s);
	cb_policy_free(p);
	return error;
}

int
cb_policy_plan(cb_policy **out, const cb_config *cfg, cb_store *store,
	const cb_policy_options *opts)
{
	cb__session *s = NULL;
	cb_policy *p = NULL;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	CB_ASSERT_ARG(store);
	if ((error = policy_load(&p, cfg, store)) < 0)
		return error;
	if ((error = policy_resolve(p, cfg, true)) < 0 ||
		(error = cb__session_open(&s, cfg)) < 0 ||
		(error = policy_read_all(s, p, opts)) < 0)
		goto done;
	policy_mark_changes(p);
	*out = p;
	p = NULL;
	error = policy_failures(*out);
done:
	cb__session_close(s);
	cb_policy_free(p);
	return error;
}

/* PUT, confirm and record every entry with change set; entries without a
 * change but with a value read get their store value confirmed. */
static int
policy_write(cb__session *s, cb_policy *p, const cb_config *cfg,
	cb_store *store, const char *source, const cb_policy_options *opts)
{
	struct policy_entry **sel = NULL;
	int *values = NULL;
	char(*put_ids)[CB_HTTP_ID_MAX] = NULL;
	char(*old)[32] = NULL;
	cb_buf hash = CB_BUF_INIT;
	size_t n = 0, m = 0;
	int error;

	if ((error = cb_config_hash(&hash, cfg)) < 0)
		goto done;
	sel = cb__calloc(p->count + 1, sizeof(*sel));
	values = cb__calloc(p->count + 1, sizeof(*values));
	put_ids = cb__calloc(p->count + 1, sizeof(*put_ids));
	old = cb__calloc(p->count + 1, sizeof(*old));
	if (sel == NULL || values == NULL || put_ids == NULL || old == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < p->count; i++) {
		struct policy_entry *e = &p->entries[i];

		if (e->item.error == 0 && e->item.change) {
			e->item.previous = e->item.current;
			memcpy(old[n], e->current_text, sizeof(old[n]));
			sel[n++] = e;
		} else if (e->item.error == 0 &&
			   e->item.current != CB_VIEW_CHARGES_NONE &&
			   cb_store_policy_confirm(
				   store, e->ba, e->id, e->item.current) < 0) {
			policy_fail(e, cb__error_code());
		}
	}
	if ((error = policy_calls(s, sel, n, "PUT", values, opts)) < 0)
		goto done;
	/* the confirming reads, for the PUTs that were accepted */
	for (size_t i = 0; i < n; i++) {
		if (sel[i]->item.error != 0)
			continue;
		memcpy(put_ids[m], sel[i]->request_id, sizeof(put_ids[m]));
		memcpy(old[m], old[i], sizeof(old[m]));
		sel[m++] = sel[i];
	}
	if ((error = policy_calls(s, sel, m, "GET", values, opts)) < 0)
		goto done;
	for (size_t i = 0; i < m; i++) {
		struct policy_entry *e = sel[i];
		cb_policy_change ch = {
			.billing_account_id = e->ba,
			.customer_id = e->id,
			.old_value = *old[i] ? old[i] : "none",
			.new_value = e->item.desired,
			.config_hash = hash.ptr,
			.source = source,
			.request_id = put_ids[i],
		};

		memcpy(e->request_id, put_ids[i], sizeof(e->request_id));
		if (e->item.error != 0)
			continue;
		if (values[i] != e->item.desired) {
			cb__error_set(CB_ECONFLICT, CB_ERRCLASS_AZURE,
				"PUT policies/default was accepted, but a "
				"re-read shows viewCharges '%s', not '%s'",
				e->current_text,
				cb_view_charges_name(e->item.desired));
			policy_fail(e, CB_ECONFLICT);
			continue;
		}
		if (cb_store_policy_record(store, &ch) < 0) {
			cb__error_prefix("changed in Azure but not recorded: ");
			policy_fail(e, cb__error_code());
			continue;
		}
		e->item.current = e->item.desired;
		e->item.changed = true;
	}
	error = 0;
done:
	cb_buf_dispose(&hash);
	cb__free(sel);
	cb__free(values);
	cb__free(put_ids);
	cb__free(old);
	return error;
}

int
cb_policy_apply(cb_policy *plan, const cb_config *cfg, cb_store *store,
	const cb_policy_options *opts)
{
	cb__session *s = NULL;
	int error;

	CB_ASSERT_ARG(plan);
	CB_ASSERT_ARG(cfg);
	CB_ASSERT_ARG(store);
	if ((error = cb__session_open(&s, cfg)) < 0 ||
		(error = policy_write(s, plan, cfg, store, "apply", opts)) < 0)
		goto done;
	error = policy_failures(plan);
done:
	cb__session_close(s);
	return error;
}

int
cb_policy_set(cb_policy **out, const cb_config *cfg, cb_store *store,
	const char *customer, int view_charges, const cb_policy_options *opts)
{
	cb__session *s = NULL;
	cb_policy *p = NULL;
	size_t keep = SIZE_MAX;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(customer);
	CB_ASSERT_ARG(view_charges == CB_VIEW_CHARGES_ALLOWED ||
		      view_charges == CB_VIEW_CHARGES_NOTALLOWED);
	if ((error = policy_load(&p, cfg, store)) < 0)
		return error;
	for (size_t i = 0; i < p->count; i++) {
		if (strcasecmp(p->entries[i].id, customer) != 0)
			continue;
		if (keep != SIZE_MAX) {
			error = cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
				"customer '%s' is in billing accounts '%s' "
				"and '%s': name one with billing_accounts",
				customer, p->entries[keep].ba,
				p->entries[i].ba);
			goto done;
		}
		keep = i;
	}
	if (keep == SIZE_MAX) {
		error = cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_INVALID,
			"unknown customer '%s' (not in the store: run "
			"'chargeback sync')",
			customer);
		goto done;
	}
	/* keep only that customer: free the others, move it to the front */
	for (size_t i = 0; i < p->count; i++) {
		struct policy_entry *e = &p->entries[i];

		if (i == keep)
			continue;
		cb__free(e->ba);
		cb__free(e->id);
		cb__free(e->name);
		cb__free(e->rid);
		cb__free(e->rule);
		cb__free(e->message);
	}
	if (keep != 0)
		p->entries[0] = p->entries[keep];
	p->count = 1;
	p->entries[0].item.desired = view_charges;
	p->entries[0].item.request_id = p->entries[0].request_id;
	if ((p->entries[0].rule = cb__strdup("set")) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	p->entries[0].item.rule = p->entries[0].rule;
	if ((error = cb__session_open(&s, cfg)) < 0 ||
		(error = policy_read_all(s, p, opts)) < 0)
		goto done;
	policy_mark_changes(p);
	if ((error = policy_write(s, p, cfg, store, "set", opts)) < 0)
		goto done;
	*out = p;
	p = NULL;
	error = policy_failures(*out);
done:
	cb__session_close(s);
	cb_policy_free(p);
	return error;
}
