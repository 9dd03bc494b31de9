/*
 * emulator/costmgmt.c - scopes and calendar arithmetic shared by the
 * Cost Management files (costdetails.c, blobs.c, query.c).
 */
#include "core/common.h"

#include "emulator/calendar.h"
#include "emulator/costmgmt.h"
#include "emulator/partner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Segments of a scope, split on '/'; at most 8 matter here. */
#define SCOPE_SEGS 10

static size_t
split_scope(char *buf, char *seg[SCOPE_SEGS])
{
	size_t n = 0;

	for (char *p = buf; *p != '\0' && n < SCOPE_SEGS;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		seg[n++] = p;
		while (*p != '/' && *p != '\0')
			p++;
		if (*p == '/')
			*p++ = '\0';
	}
	return n;
}

static int
scope_bad(as_resp *resp, const char *scope)
{
	as_resp_arm_error(resp, 400, "BadRequest",
		"The scope '%.300s' is not supported: armsim serves billing "
		"account, billing profile, customer and subscription scopes.",
		scope);
	return -1;
}

static int
scope_subscription(
	as_server *s, const char *id, as_cm_scope *out, as_resp *resp)
{
	const as_subscription *sub = as_partner_subscription(s->partner, id);

	if (sub == NULL) {
		as_resp_arm_error(resp, 404, "SubscriptionNotFound",
			"The subscription '%.60s' could not be found.", id);
		return -1;
	}
	out->kind = AS_SCOPE_SUBSCRIPTION;
	out->account = sub->account;
	out->profile = sub->profile;
	out->customer =
		sub->customer == AS_NO_CUSTOMER ? AS_ANY : sub->customer;
	out->subscription = AS_INDEX(s->partner, subscriptions, sub);
	return 0;
}

static int
not_found(as_resp *resp, const char *what, const char *name)
{
	as_resp_arm_error(resp, 404, "NotFound",
		"The %s '%.200s' was not found.", what, name);
	return -1;
}

/* providers/Microsoft.Billing/billingAccounts/{ba}[/billingProfiles/
 * {bp}][/customers/{c}] */
static int
scope_billing(as_server *s, char **seg, size_t n, as_cm_scope *out,
	as_resp *resp, const char *scope)
{
	const as_partner *p = s->partner;
	const as_account *a;
	const as_profile *bp = NULL;
	const as_customer *c = NULL;
	size_t i = 4;

	if (n < 4 || n % 2 != 0 || strcasecmp(seg[1], "Microsoft.Billing") ||
		strcasecmp(seg[2], "billingAccounts"))
		return scope_bad(resp, scope);
	if ((a = as_partner_account(p, seg[3])) == NULL)
		return not_found(resp, "billing account", seg[3]);
	if (i < n && strcasecmp(seg[i], "billingProfiles") == 0) {
		if ((bp = as_partner_profile(p, a, seg[i + 1])) == NULL)
			return not_found(resp, "billing profile", seg[i + 1]);
		i += 2;
	}
	if (i < n && strcasecmp(seg[i], "customers") == 0) {
		c = as_partner_customer(p, a, seg[i + 1]);
		if (c == NULL || (bp != NULL && &p->profiles[c->profile] != bp))
			return not_found(resp, "customer", seg[i + 1]);
		i += 2;
	}
	if (i != n)
		return scope_bad(resp, scope);
	out->kind = c ? AS_SCOPE_CUSTOMER
		      : (bp ? AS_SCOPE_PROFILE : AS_SCOPE_ACCOUNT);
	out->account = AS_INDEX(p, accounts, a);
	out->profile =
		c ? c->profile : (bp ? AS_INDEX(p, profiles, bp) : AS_ANY);
	out->customer = c ? AS_INDEX(p, customers, c) : AS_ANY;
	out->subscription = AS_ANY;
	return 0;
}

int
as_cm_scope_resolve(
	as_server *s, const char *scope, as_cm_scope *out, as_resp *resp)
{
	char buf[1024], *seg[SCOPE_SEGS];
	size_t n;

	if (strlen(scope) >= sizeof(buf))
		return scope_bad(resp, scope);
	snprintf(buf, sizeof(buf), "%s", scope);
	n = split_scope(buf, seg);
	if (n == 2 && strcasecmp(seg[0], "subscriptions") == 0)
		return scope_subscription(s, seg[1], out, resp);
	if (n >= 1 && strcasecmp(seg[0], "providers") == 0)
		return scope_billing(s, seg, n, out, resp, scope);
	return scope_bad(resp, scope);
}

void
as_cm_scope_filter(const as_cm_scope *sc, as_metric m, as_cost_filter *f)
{
	as_cost_filter_init(f, m, sc->account);
	f->profile = sc->profile;
	f->customer = sc->customer;
	f->subscription = sc->subscription;
}

static bool
digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

int64_t
as_cm_parse_day(const char *t, bool date_only)
{
	int y, m, d;

	if (strlen(t) < 10 || !digits(t, 4) || t[4] != '-' ||
		!digits(t + 5, 2) || t[7] != '-' || !digits(t + 8, 2))
		return INT64_MIN;
	if (t[10] != '\0' && (date_only || t[10] != 'T'))
		return INT64_MIN;
	y = (int)strtol(t, NULL, 10);
	m = (t[5] - '0') * 10 + t[6] - '0';
	d = (t[8] - '0') * 10 + t[9] - '0';
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > as_days_in_month(y, m))
		return INT64_MIN;
	return as_days_from_civil(y, m, d);
}

void
as_cm_period(const as_server *s, int64_t *first, int64_t *last)
{
	const as_partner *p = s->partner;

	*first = as_days_from_civil(p->year, p->month, 1);
	*last = *first + as_days_in_month(p->year, p->month) - 1;
}

void
as_cm_iso_time(int64_t ms, int frac, char *out, size_t outlen)
{
	int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
	int64_t rest = ms - days * 86400000;
	int y, m, d;

	as_civil_from_days(days, &y, &m, &d);
	if (frac == 0)
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
			(int)(rest / 3600000), (int)(rest / 60000 % 60),
			(int)(rest / 1000 % 60));
	else
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03d0000Z",
			y, m, d, (int)(rest / 3600000),
			(int)(rest / 60000 % 60), (int)(rest / 1000 % 60),
			(int)(rest % 1000));
}

int64_t
as_cm_parse_time(const char *t)
{
	int64_t day = INT64_MIN;
	char date[11];
	int hh, mm, ss;

	if (strlen(t) < 20 || t[10] != 'T' || !digits(t + 11, 2) ||
		t[13] != ':' || !digits(t + 14, 2) || t[16] != ':' ||
		!digits(t + 17, 2))
		return INT64_MIN;
	memcpy(date, t, 10);
	date[10] = '\0';
	if ((day = as_cm_parse_day(date, true)) == INT64_MIN)
		return INT64_MIN;
	hh = (t[11] - '0') * 10 + t[12] - '0';
	mm = (t[14] - '0') * 10 + t[15] - '0';
	ss = (t[17] - '0') * 10 + t[18] - '0';
	t += 19;
	if (*t == '.') {
		t++;
		while (*t >= '0' && *t <= '9')
			t++;
	}
	if (strcmp(t, "Z") != 0 || hh > 23 || mm > 59 || ss > 59)
		return INT64_MIN;
	return ((day * 24 + hh) * 60 + mm) * 60000 + (int64_t)ss * 1000;
}
