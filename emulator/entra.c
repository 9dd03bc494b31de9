/*
 * emulator/entra.c - armsim's Microsoft Entra ID: the token endpoints
 * (client secret, certificate assertion, v1 and v2), the discovery
 * documents MSAL fetches first, a managed-identity (IMDS) endpoint, and
 * the bearer-token check in front of every ARM route.
 *
 * One application is registered: tenant = --tenant-id or the partner's,
 * client id = --client-id or a GUID derived from the seed, secret =
 * --client-secret-env (none: every secret is refused, AADSTS7000215),
 * certificate = --client-cert (none: every assertion is refused,
 * AADSTS700027).  A managed identity with its own ids (from the seed)
 * gets tokens from IMDS.
 *
 * Access tokens are JWTs signed HS256 with a random per-server key, so
 * only this server accepts them; they carry the claims ARM reads (aud,
 * iss, tid, appid, oid, iat, nbf, exp).  Error bodies are Entra's flat
 * shape; ids in them (trace_id) come from the seed and the request
 * number, timestamps from the wall clock, as Entra's do.  No secret,
 * assertion or token ever goes into an error message or the log.
 *
 * Choices where Entra's behaviour is not documented: only the registered
 * tenant issues tokens (any other, "common" and "organizations"
 * included, is AADSTS90002); discovery documents are also served for
 * "common" and "organizations".  A replayed jti is AADSTS50013 and both
 * a secret and an assertion in one request AADSTS90023 [unverified].
 * MSAL asks login.microsoftonline.com itself for instance discovery, so
 * SDK clients pointed here set disableInstanceDiscovery; the
 * /common/discovery/instance route serves clients that ask their
 * authority host instead.
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/entra.h"
#include "emulator/partner.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Clock skew allowed on client assertions' nbf/exp: the 5 minutes of
 * Microsoft.IdentityModel's default, which Entra's own validation uses.
 * Access tokens get none, so a 1 s lifetime is testable. */
#define ASSERTION_SKEW_S 300
/* Most remembered assertion ids; past it the oldest are forgotten.
 * An assertion lives minutes, so a test run stays far below. */
#define JTI_MAX 65536
/* Longest access token armsim issues (about 700 bytes) or reads. */
#define TOKEN_MAX 4096

#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ERROR_HOST "https://login.microsoftonline.com"

struct jti_entry {
	char *id;    /* owned */
	int64_t exp; /* unix seconds; forgotten after exp + skew */
};

struct as_entra {
	char tenant[AS_GUID_LEN + 64]; /* the registered tenant */
	char client_id[AS_GUID_LEN + 64];
	char app_oid[AS_GUID_LEN + 1];      /* its service principal */
	char mi_client_id[AS_GUID_LEN + 1]; /* the managed identity */
	char mi_oid[AS_GUID_LEN + 1];
	/* req->principal points here: "tenant/appid", one per identity. */
	char app_principal[2 * AS_GUID_LEN + 130];
	char mi_principal[2 * AS_GUID_LEN + 66];
	const char *secret;    /* borrowed from opt; NULL: none registered */
	as_cert cert;          /* cert.pub NULL: none registered */
	unsigned char key[32]; /* HS256 key of access tokens */
	struct jti_entry *jti;
	size_t njti, capjti;
};

/* Resources ARM answers to (ARM's own list in its wrong-audience
 * message), with the access token audience each maps to. */
static const struct {
	const char *name;
	const char *aud;
} resources[] = { { "https://management.azure.com/",
			  "https://management.azure.com/" },
	{ "https://management.azure.com", "https://management.azure.com/" },
	{ "https://management.core.windows.net/",
		"https://management.core.windows.net/" },
	{ "https://management.core.windows.net",
		"https://management.core.windows.net/" } };

static int64_t
now_s(const as_req *req)
{
	return req->now_ms / 1000;
}

/* The resource a v1 resource= or IMDS resource= names, or NULL. */
static const char *
resource_aud(const char *resource)
{
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (strcasecmp(resources[i].name, resource) == 0)
			return resources[i].aud;
	return NULL;
}

/* The audience of a v2 scope: "<resource>/.default" (a resource ending
 * in '/' gives the "//.default" that Azure CLI sends), or NULL. */
static const char *
scope_aud(const char *scope)
{
	size_t n = strlen(scope);
	char res[256];

	if (n < 9 || n - 8 >= sizeof(res) ||
		strcmp(scope + n - 9, "/.default") != 0)
		return NULL;
	memcpy(res, scope, n - 8);
	res[n - 8] = '\0';
	/* "https://management.azure.com/" from ".../.default"; a
	 * "//.default" leaves "https://management.azure.com//". */
	if (n - 8 >= 2 && res[n - 9] == '/' && res[n - 10] == '/')
		res[n - 9] = '\0';
	return resource_aud(res);
}

/* ------------------------------------------------------------------ */
/* Request pieces */

/* A form field of the body (application/x-www-form-urlencoded has the
 * query's syntax).  0, or -1 when absent or longer than outlen - 1. */
static int
form_get(const as_req *req, const char *name, char *out, size_t outlen)
{
	as_req f;

	memset(&f, 0, sizeof(f));
	f.query = req->body;
	return as_req_query(&f, name, out, outlen);
}

/* A form field that may be as long as the body (a secret, an
 * assertion): malloc'd, or NULL when absent. */
static char *
form_dup(const as_req *req, const char *name)
{
	char *v = malloc(req->body_len + 1);

	if (v != NULL && form_get(req, name, v, req->body_len + 1) != 0) {
		free(v);
		v = NULL;
	}
	return v;
}

static void
free_secret(char *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

/* "scheme://host" as the client addressed us (the Host header, when it
 * is a plain host[:port]), else the bound address. */
static void
client_base(as_server *s, const as_req *req, char *out, size_t outlen)
{
	const char *h = as_req_header(req, "Host");

	if (h != NULL && *h != '\0' && strlen(h) < 64 &&
		strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789.-:[]") == strlen(h))
		snprintf(out, outlen, "%s://%s", s->scheme, h);
	else
		as_server_base(s, out, outlen);
}

static bool
tenant_is_ours(const as_server *s, const char *tenant)
{
	return strcasecmp(tenant, s->entra->tenant) == 0;
}

/* A GUID for trace ids: deterministic from the seed and request. */
static void
request_guid(as_server *s, const as_req *req, unsigned n, char *out)
{
	uint64_t st = s->opt.seed ^ (0x7472616365ull + req->seq * 977 + n);

	as_rand_guid(&st, out);
}

static bool
is_guid(const char *v)
{
	if (strlen(v) != AS_GUID_LEN)
		return false;
	for (size_t i = 0; i < AS_GUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? v[i] != '-'
			 : strchr("0123456789abcdefABCDEF", v[i]) == NULL ||
					v[i] == '\0')
			return false;
	}
	return true;
}

/* Entra's headers on every token answer; the correlation id echoes the
 * client's client-request-id, as Entra does. */
static void
token_headers(as_resp *resp, const char *trace, const char *corr)
{
	as_resp_header(resp, "Cache-Control", "no-store, no-cache");
	as_resp_header(resp, "Pragma", "no-cache");
	as_resp_header(resp, "x-ms-request-id", "%s", trace);
	as_resp_header(resp, "client-request-id", "%s", corr);
}

/* Entra's flat error:
 *   {"error":"invalid_client","error_description":"AADSTS7000215: ...
 *    \r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...",
 *    "error_codes":[7000215],"timestamp":"2026-10-01 10:00:00Z",
 *    "trace_id":"...","correlation_id":"...","error_uri":"..."} */
static void __attribute__((format(printf, 7, 8)))
entra_error(as_server *s, const as_req *req, as_resp *resp, int status,
	const char *error, long code, const char *fmt, ...)
{
	char msg[1024], desc[1400], stamp[32], trace[AS_GUID_LEN + 1];
	char corr[AS_GUID_LEN + 1], uri[96];
	const char *crid = as_req_header(req, "client-request-id");
	time_t t = (time_t)now_s(req);
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%SZ", &tm);
	request_guid(s, req, 0, trace);
	if (crid != NULL && is_guid(crid))
		snprintf(corr, sizeof(corr), "%s", crid);
	else
		request_guid(s, req, 1, corr);
	snprintf(desc, sizeof(desc),
		"AADSTS%ld: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\n"
		"Timestamp: %s",
		code, msg, trace, corr, stamp);
	snprintf(uri, sizeof(uri), ERROR_HOST "/error?code=%ld", code);
	as_resp_json(resp, status,
		json_pack("{s:s,s:s,s:[I],s:s,s:s,s:s,s:s}", "error", error,
			"error_description", desc, "error_codes",
			(json_int_t)code, "timestamp", stamp, "trace_id", trace,
			"correlation_id", corr, "error_uri", uri));
	token_headers(resp, trace, corr);
}

/* ------------------------------------------------------------------ */
/* Issuing access tokens */

struct grant {
	const char *appid; /* the client or the managed identity */
	const char *oid;
	const char *acr; /* appidacr: "1" secret, "2" certificate or MI */
	const char *aud;
	int64_t iat, exp;
};

static int
issue(as_server *s, const struct grant *g, char *out, size_t outlen)
{
	struct as_entra *e = s->entra;
	char iss[160];
	json_t *c;
	char *text;
	int rc;

	snprintf(iss, sizeof(iss), "https://sts.windows.net/%s/", e->tenant);
	c = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
		"aud", g->aud, "iss", iss, "iat", (json_int_t)g->iat, "nbf",
		(json_int_t)g->iat, "exp", (json_int_t)g->exp, "appid",
		g->appid, "appidacr", g->acr, "idp", iss, "idtyp", "app", "oid",
		g->oid, "sub", g->oid, "tid", e->tenant, "ver", "1.0");
	text = c ? json_dumps(c, JSON_COMPACT) : NULL;
	json_decref(c);
	if (text == NULL)
		return -1;
	rc = as_jwt_hs256(e->key, sizeof(e->key), text, out, outlen);
	free(text);
	return rc;
}

int
as_entra_issue(as_server *s, char *out, size_t outlen)
{
	struct as_entra *e = s->entra;
	struct grant g = { e->client_id, e->app_oid, "1",
		"https://management.azure.com/", (int64_t)time(NULL), 0 };

	g.exp = g.iat + (int64_t)s->opt.token_lifetime_s;
	return issue(s, &g, out, outlen);
}

/* ------------------------------------------------------------------ */
/* Client assertions */

static void
jti_forget_expired(struct as_entra *e, int64_t now)
{
	size_t w = 0;

	for (size_t i = 0; i < e->njti; i++) {
		if (e->jti[i].exp + ASSERTION_SKEW_S < now) {
			free(e->jti[i].id);
			continue;
		}
		e->jti[w++] = e->jti[i];
	}
	e->njti = w;
	if (e->njti >= JTI_MAX) {
		/* The oldest goes: the array is in order of use. */
		free(e->jti[0].id);
		memmove(e->jti, e->jti + 1, --e->njti * sizeof(*e->jti));
	}
}

/* Remember jti until exp; false when it was already used. */
static bool
jti_remember(struct as_entra *e, const char *jti, int64_t exp, int64_t now)
{
	jti_forget_expired(e, now);
	for (size_t i = 0; i < e->njti; i++)
		if (strcmp(e->jti[i].id, jti) == 0)
			return false;
	if (e->njti == e->capjti) {
		size_t cap = e->capjti ? 2 * e->capjti : 64;
		struct jti_entry *n = realloc(e->jti, cap * sizeof(*n));
		if (n == NULL)
			return true; /* cannot remember: accept, as before */
		e->jti = n;
		e->capjti = cap;
	}
	if ((e->jti[e->njti].id = strdup(jti)) != NULL)
		e->jti[e->njti++].exp = exp;
	return true;
}

/* Whether aud names this token endpoint: on this server (as the client
 * addressed it, or the bound address) or on Entra's public host, v2 or
 * v1 token URL, or the authority itself, which Entra also accepts. */
static bool
aud_ok(as_server *s, const as_req *req, const char *aud)
{
	static const char *const suffix[] = { "/oauth2/v2.0/token",
		"/oauth2/token", "", "/", "/v2.0" };
	char bases[3][96], want[300];
	const char *tenant = req->cap[0];

	client_base(s, req, bases[0], sizeof(bases[0]));
	as_server_base(s, bases[1], sizeof(bases[1]));
	snprintf(bases[2], sizeof(bases[2]), "%s", ERROR_HOST);
	for (size_t b = 0; b < 3; b++) {
		for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]);
			i++) {
			snprintf(want, sizeof(want), "%s/%s%s", bases[b],
				tenant, suffix[i]);
			if (strcasecmp(want, aud) == 0)
				return true;
		}
	}
	return false;
}

static bool
aud_claim_ok(as_server *s, const as_req *req, json_t *aud)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return aud_ok(s, req, json_string_value(aud));
	json_array_foreach(aud, i, v)
	{
		if (json_is_string(v) && aud_ok(s, req, json_string_value(v)))
			return true;
	}
	return false;
}

/* Check the signature of an assertion against the registered
 * certificate; 0, or -1 with Entra's error in resp. */
static int
assertion_signature(as_server *s, const as_req *req, as_resp *resp,
	const as_jws *j, const char *client_id)
{
	struct as_entra *e = s->entra;
	json_t *h = json_loads(j->header, 0, NULL);
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const char *x5t = json_string_value(json_object_get(h, "x5t"));
	const char *x5t256 = json_string_value(json_object_get(h, "x5t#S256"));
	bool pss = alg != NULL && strcmp(alg, "PS256") == 0;
	int rc = -1;

	if (alg == NULL || (!pss && strcmp(alg, "RS256") != 0)) {
		entra_error(s, req, resp, 400, "invalid_request", 50027,
			"Invalid JWT token. The client assertion must be "
			"signed with RS256 or PS256.");
	} else if (e->cert.pub == NULL ||
		   (x5t != NULL && strcmp(x5t, e->cert.x5t) != 0) ||
		   (x5t256 != NULL && strcmp(x5t256, e->cert.x5t_s256) != 0)) {
		entra_error(s, req, resp, 401, "invalid_client", 700027,
			"The certificate with identifier used to sign the "
			"client assertion is not registered on application. "
			"[Reason - The key was not found., Please visit the "
			"Azure Portal, Graph Explorer or directly use MS "
			"Graph to see configured keys for app Id '%s'.]",
			client_id);
	} else if (!as_jws_verify_rsa(j, e->cert.pub, pss)) {
		entra_error(s, req, resp, 401, "invalid_client", 700027,
			"Client assertion failed signature validation.");
	} else {
		rc = 0;
	}
	json_decref(h);
	return rc;
}

static void
utc_text(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outlen, "%m/%d/%Y %H:%M:%S", &tm);
}

/* The claims of an assertion: iss = sub = client id, aud, nbf/exp with
 * skew, jti not seen before.  0, or -1 with Entra's error in resp. */
static int
assertion_claims(as_server *s, const as_req *req, as_resp *resp, json_t *c,
	const char *client_id)
{
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *sub = json_string_value(json_object_get(c, "sub"));
	const char *jti = json_string_value(json_object_get(c, "jti"));
	json_t *exp = json_object_get(c, "exp"),
	       *nbf = json_object_get(c, "nbf");
	int64_t now = now_s(req);
	char a[32], b[32];

	if (iss == NULL || sub == NULL || strcmp(iss, client_id) != 0 ||
		strcmp(sub, client_id) != 0) {
		entra_error(s, req, resp, 401, "invalid_client", 700021,
			"Client assertion application identifier doesn't "
			"match 'client_id' parameter. Review the "
			"documentation at https://learn.microsoft.com/entra/"
			"identity-platform/certificate-credentials.");
		return -1;
	}
	if (!aud_claim_ok(s, req, json_object_get(c, "aud"))) {
		entra_error(s, req, resp, 401, "invalid_client", 700023,
			"Client assertion audience claim does not match "
			"Realm issuer. Review the documentation at "
			"https://learn.microsoft.com/entra/identity-platform/"
			"certificate-credentials.");
		return -1;
	}
	if (!json_is_integer(exp) || (nbf != NULL && !json_is_integer(nbf)) ||
		jti == NULL || *jti == '\0') {
		entra_error(s, req, resp, 400, "invalid_request", 50027,
			"Invalid JWT token. The client assertion must carry "
			"integer 'exp' and 'nbf' claims and a 'jti'.");
		return -1;
	}
	if (json_integer_value(exp) + ASSERTION_SKEW_S < now ||
		(nbf != NULL &&
			json_integer_value(nbf) - ASSERTION_SKEW_S > now)) {
		utc_text(now, a, sizeof(a));
		utc_text(json_integer_value(exp), b, sizeof(b));
		entra_error(s, req, resp, 401, "invalid_client", 700024,
			"Client assertion is not within its valid time range. "
			"Current time: %s, expiry time of assertion %s.",
			a, b);
		return -1;
	}
	/* [unverified] Entra documents jti as required and unique but no
	 * public code for a replay; AADSTS50013 is its InvalidAssertion. */
	if (!jti_remember(s->entra, jti, json_integer_value(exp), now)) {
		entra_error(s, req, resp, 401, "invalid_client", 50013,
			"Assertion failed validation: its 'jti' was already "
			"used. Sign a new client assertion for each request.");
		return -1;
	}
	return 0;
}

static int
check_assertion(as_server *s, const as_req *req, as_resp *resp,
	const char *type, const char *assertion, const char *client_id)
{
	as_jws *j;
	json_t *c = NULL;
	int rc = -1;

	if (type == NULL || strcmp(type, JWT_BEARER) != 0) {
		entra_error(s, req, resp, 400, "invalid_request", 90023,
			"The authentication service request is not valid: "
			"client_assertion_type must be '" JWT_BEARER "'.");
		return -1;
	}
	j = malloc(sizeof(*j));
	if (j == NULL)
		return -1;
	if (as_jws_parse(j, assertion) != 0 ||
		(c = json_loads(j->claims, 0, NULL)) == NULL ||
		!json_is_object(c)) {
		entra_error(s, req, resp, 400, "invalid_request", 50027,
			"Invalid JWT token. Token format not valid.");
	} else if (assertion_signature(s, req, resp, j, client_id) == 0 &&
		   assertion_claims(s, req, resp, c, client_id) == 0) {
		rc = 0;
	}
	json_decref(c);
	free(j);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The token endpoints */

/* What a token request asks for, read from the form. */
struct token_req {
	char grant_type[64];
	char client_id[256];
	char scope[512]; /* v2 scope, or v1 resource */
	char assertion_type[128];
	char *secret;    /* owned, wiped */
	char *assertion; /* owned */
	bool basic;      /* the secret came in HTTP Basic */
};

static void
token_req_free(struct token_req *t)
{
	free_secret(t->secret);
	free(t->assertion);
}

/* Percent-decode [in, in+len) into out, with the form decoder. */
static int
pct_value(const char *in, size_t len, char *out, size_t outlen)
{
	char *q = malloc(len + 3);
	as_req f;
	int rc;

	if (q == NULL)
		return -1;
	memcpy(q, "v=", 2);
	memcpy(q + 2, in, len);
	q[len + 2] = '\0';
	memset(&f, 0, sizeof(f));
	f.query = q;
	rc = as_req_query(&f, "v", out, outlen);
	OPENSSL_cleanse(q, len + 2);
	free(q);
	return rc;
}

/* client_secret_basic: "Basic base64(urlenc(id):urlenc(secret))"
 * (RFC 6749 2.3.1).  0 when absent or read, -1 when malformed. */
static int
read_basic(const as_req *req, struct token_req *t)
{
	const char *h = as_req_header(req, "Authorization");
	size_t n, pad = 0;
	unsigned char *raw;
	char *colon;
	int len, rc = -1;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return 0;
	h += 6;
	n = strlen(h);
	if ((raw = malloc(n + 8)) == NULL)
		return -1;
	len = EVP_DecodeBlock(raw, (const unsigned char *)h, (int)n);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (pad < 2 && pad < n && h[n - 1 - pad] == '=')
		pad++;
	if (len > (int)pad) {
		len -= (int)pad;
		raw[len] = '\0';
		colon = strchr((char *)raw, ':');
		free_secret(t->secret);
		t->secret = colon ? malloc((size_t)len + 1) : NULL;
		if (t->secret != NULL &&
			pct_value((char *)raw, (size_t)(colon - (char *)raw),
				t->client_id, sizeof(t->client_id)) == 0 &&
			pct_value(colon + 1, strlen(colon + 1), t->secret,
				(size_t)len + 1) == 0) {
			t->basic = true;
			rc = 0;
		}
	}
	OPENSSL_cleanse(raw, n + 8);
	free(raw);
	return rc;
}

static int
read_token_req(const as_req *req, struct token_req *t, bool v1)
{
	memset(t, 0, sizeof(*t));
	if (form_get(req, "grant_type", t->grant_type, sizeof(t->grant_type)))
		t->grant_type[0] = '\0';
	if (form_get(req, "client_id", t->client_id, sizeof(t->client_id)))
		t->client_id[0] = '\0';
	if (form_get(
		    req, v1 ? "resource" : "scope", t->scope, sizeof(t->scope)))
		t->scope[0] = '\0';
	if (form_get(req, "client_assertion_type", t->assertion_type,
		    sizeof(t->assertion_type)))
		t->assertion_type[0] = '\0';
	t->secret = form_dup(req, "client_secret");
	t->assertion = form_dup(req, "client_assertion");
	return read_basic(req, t);
}

/* AADSTS900144 for a missing form field; always -1. */
static int
missing(as_server *s, const as_req *req, as_resp *resp, const char *name)
{
	entra_error(s, req, resp, 400, "invalid_request", 900144,
		"The request body must contain the following parameter: "
		"'%s'.",
		name);
	return -1;
}

/* The request's shape: grant, client, scope.  The audience into *aud. */
static int
check_request(as_server *s, const as_req *req, as_resp *resp,
	const struct token_req *t, bool v1, const char **aud)
{
	struct as_entra *e = s->entra;

	if (t->grant_type[0] == '\0')
		return missing(s, req, resp, "grant_type");
	if (strcmp(t->grant_type, "client_credentials") != 0) {
		entra_error(s, req, resp, 400, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '%.60s'.",
			t->grant_type);
		return -1;
	}
	if (t->client_id[0] == '\0')
		return missing(s, req, resp, "client_id");
	if (strcasecmp(t->client_id, e->client_id) != 0) {
		entra_error(s, req, resp, 400, "unauthorized_client", 700016,
			"Application with identifier '%.80s' was not found in "
			"the directory '%s'. This can happen if the "
			"application has not been installed by the "
			"administrator of the tenant or consented to by any "
			"user in the tenant. You may have sent your "
			"authentication request to the wrong tenant.",
			t->client_id, e->tenant);
		return -1;
	}
	if (t->scope[0] == '\0')
		return missing(s, req, resp, v1 ? "resource" : "scope");
	*aud = v1 ? resource_aud(t->scope) : scope_aud(t->scope);
	if (*aud != NULL)
		return 0;
	if (v1 || strstr(t->scope, "/.default") != NULL)
		entra_error(s, req, resp, 400, "invalid_resource", 500011,
			"The resource principal named %.200s was not found in "
			"the tenant named %s. This can happen if the "
			"application has not been installed by the "
			"administrator of the tenant or consented to by any "
			"user in the tenant. You might have sent your "
			"authentication request to the wrong tenant.",
			t->scope, e->tenant);
	else
		entra_error(s, req, resp, 400, "invalid_scope", 1002012,
			"The provided value for scope %.200s is not valid. "
			"Client credential flows must have a scope value with "
			"/.default suffixed to the resource identifier "
			"(application ID URI).",
			t->scope);
	return -1;
}

/* The client's credential: a secret or an assertion, exactly one.
 * appidacr into *acr. */
static int
check_credential(as_server *s, const as_req *req, as_resp *resp,
	const struct token_req *t, const char **acr)
{
	struct as_entra *e = s->entra;
	size_t n;

	if (t->secret != NULL && t->assertion != NULL) {
		/* [unverified] code: Entra's generic invalid request. */
		entra_error(s, req, resp, 400, "invalid_request", 90023,
			"The authentication service request is not valid: "
			"send client_secret or client_assertion, not both.");
		return -1;
	}
	if (t->assertion != NULL) {
		*acr = "2";
		return check_assertion(s, req, resp, t->assertion_type,
			t->assertion, e->client_id);
	}
	if (t->secret == NULL) {
		entra_error(s, req, resp, 401, "invalid_client", 7000216,
			"'client_assertion', 'client_secret' or 'request' is "
			"required for the 'client_credentials' grant type.");
		return -1;
	}
	n = strlen(t->secret);
	*acr = "1";
	if (e->secret != NULL && strlen(e->secret) == n &&
		CRYPTO_memcmp(e->secret, t->secret, n) == 0)
		return 0;
	entra_error(s, req, resp, 401, "invalid_client", 7000215,
		"Invalid client secret provided. Ensure the secret being sent "
		"in the request is the client secret value, not the client "
		"secret ID, for a secret added to app '%s'.",
		e->client_id);
	return -1;
}

/* The success body: v2 numbers, v1 numeric strings and more fields. */
static void
token_ok(as_server *s, const as_req *req, as_resp *resp, const struct grant *g,
	const char *token, bool v1)
{
	char trace[AS_GUID_LEN + 1], corr[AS_GUID_LEN + 1], n[4][24];
	const char *crid = as_req_header(req, "client-request-id");
	json_int_t life = (json_int_t)(g->exp - g->iat);

	request_guid(s, req, 0, trace);
	if (crid != NULL && is_guid(crid))
		snprintf(corr, sizeof(corr), "%s", crid);
	else
		request_guid(s, req, 1, corr);
	if (!v1) {
		as_resp_json(resp, 200,
			json_pack("{s:s,s:I,s:I,s:s}", "token_type", "Bearer",
				"expires_in", life, "ext_expires_in", life,
				"access_token", token));
	} else {
		snprintf(n[0], sizeof(n[0]), "%lld", (long long)life);
		snprintf(n[1], sizeof(n[1]), "%lld", (long long)g->exp);
		snprintf(n[2], sizeof(n[2]), "%lld", (long long)g->iat);
		as_resp_json(resp, 200,
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "token_type",
				"Bearer", "expires_in", n[0], "ext_expires_in",
				n[0], "expires_on", n[1], "not_before", n[2],
				"resource", g->aud, "access_token", token));
	}
	token_headers(resp, trace, corr);
}

static int
post_token(as_server *s, as_req *req, as_resp *resp, bool v1)
{
	struct as_entra *e = s->entra;
	struct token_req t;
	struct grant g = { e->client_id, e->app_oid, "1", NULL, now_s(req), 0 };
	char token[TOKEN_MAX];

	if (!tenant_is_ours(s, req->cap[0])) {
		entra_error(s, req, resp, 400, "invalid_request", 90002,
			"Tenant '%.80s' not found. Check to make sure you have "
			"the correct tenant ID and are signing into the "
			"correct cloud. Check with your subscription "
			"administrator, this may happen if there are no "
			"active subscriptions for the tenant.",
			req->cap[0]);
		return 0;
	}
	if (read_token_req(req, &t, v1) != 0) {
		entra_error(s, req, resp, 401, "invalid_client", 7000215,
			"Invalid client secret provided. The Authorization "
			"header is not valid HTTP Basic authentication.");
	} else if (check_request(s, req, resp, &t, v1, &g.aud) == 0 &&
		   check_credential(s, req, resp, &t, &g.acr) == 0) {
		g.exp = g.iat + (int64_t)s->opt.token_lifetime_s;
		if (issue(s, &g, token, sizeof(token)) == 0)
			token_ok(s, req, resp, &g, token, v1);
		OPENSSL_cleanse(token, sizeof(token));
	}
	token_req_free(&t);
	return resp->status != 0 ? 0 : -1;
}

static int
post_token_v2(as_server *s, as_req *req, as_resp *resp)
{
	return post_token(s, req, resp, false);
}

static int
post_token_v1(as_server *s, as_req *req, as_resp *resp)
{
	return post_token(s, req, resp, true);
}

/* ------------------------------------------------------------------ */
/* Discovery */

/* Whether discovery is served for tenant: ours, or the multi-tenant
 * aliases MSAL may ask about; else Entra's invalid_tenant in resp. */
static bool
discovery_tenant(
	as_server *s, const as_req *req, as_resp *resp, const char *tenant)
{
	if (tenant_is_ours(s, tenant) || strcasecmp(tenant, "common") == 0 ||
		strcasecmp(tenant, "organizations") == 0)
		return true;
	entra_error(s, req, resp, 400, "invalid_tenant", 90002,
		"Tenant '%.80s' not found. Check to make sure you have the "
		"correct tenant ID and are signing into the correct cloud.",
		tenant);
	return false;
}

static json_t *
strings(const char *const *v)
{
	json_t *a = json_array();

	for (; *v != NULL; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/* The OpenID configuration, v2 (v1 has v1 endpoints and the
 * sts.windows.net issuer), with every endpoint on this server. */
static int
openid_config(as_server *s, as_req *req, as_resp *resp, bool v1)
{
	static const char *const auth_methods[] = { "client_secret_post",
		"private_key_jwt", "client_secret_basic", NULL };
	static const char *const modes[] = { "query", "fragment", "form_post",
		NULL };
	static const char *const types[] = { "code", "id_token",
		"code id_token", "id_token token", NULL };
	static const char *const scopes[] = { "openid", "profile", "email",
		"offline_access", NULL };
	static const char *const rs256[] = { "RS256", NULL };
	static const char *const pairwise[] = { "pairwise", NULL };
	const char *tenant = req->cap[0];
	const char *tid =
		tenant_is_ours(s, tenant) ? s->entra->tenant : "{tenantid}";
	const char *ver = v1 ? "" : "/v2.0";
	char base[96], t[6][320];

	if (!discovery_tenant(s, req, resp, tenant))
		return 0;
	client_base(s, req, base, sizeof(base));
	snprintf(t[0], sizeof(t[0]), "%s/%s/oauth2%s/token", base, tenant, ver);
	snprintf(t[1], sizeof(t[1]), "%s/%s/discovery%s/keys", base, tenant,
		ver);
	snprintf(t[2], sizeof(t[2]), "%s/%s/oauth2%s/authorize", base, tenant,
		ver);
	snprintf(t[3], sizeof(t[3]), "%s/%s/oauth2%s/devicecode", base, tenant,
		ver);
	snprintf(
		t[4], sizeof(t[4]), "%s/%s/oauth2%s/logout", base, tenant, ver);
	if (v1)
		snprintf(
			t[5], sizeof(t[5]), "https://sts.windows.net/%s/", tid);
	else
		snprintf(t[5], sizeof(t[5]), "%s/%s/v2.0", base, tid);
	as_resp_json(resp, 200,
		json_pack("{s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:b,s:s,s:s,"
			  "s:b,s:b,s:s,s:s,s:s,s:s}",
			"token_endpoint", t[0],
			"token_endpoint_auth_methods_supported",
			strings(auth_methods), "jwks_uri", t[1],
			"response_modes_supported", strings(modes),
			"subject_types_supported", strings(pairwise),
			"id_token_signing_alg_values_supported", strings(rs256),
			"response_types_supported", strings(types),
			"scopes_supported", strings(scopes), "issuer", t[5],
			"request_uri_parameter_supported", 0,
			"authorization_endpoint", t[2],
			"device_authorization_endpoint", t[3],
			"http_logout_supported", 1,
			"frontchannel_logout_supported", 1,
			"end_session_endpoint", t[4], "cloud_instance_name",
			"microsoftonline.com", "cloud_graph_host_name",
			"graph.windows.net", "msgraph_host",
			"graph.microsoft.com"));
	return 0;
}

static int
get_openid_v2(as_server *s, as_req *req, as_resp *resp)
{
	return openid_config(s, req, resp, false);
}

static int
get_openid_v1(as_server *s, as_req *req, as_resp *resp)
{
	return openid_config(s, req, resp, true);
}

/* The signing keys: armsim signs with a symmetric key it never
 * publishes, so the set is empty (nobody but armsim checks tokens). */
static int
get_keys(as_server *s, as_req *req, as_resp *resp)
{
	if (discovery_tenant(s, req, resp, req->cap[0]))
		as_resp_json(resp, 200, json_pack("{s:[]}", "keys"));
	return 0;
}

/* Instance discovery: for an authorization endpoint on this server,
 * this server is the one alias of its cloud.  Another host is Entra's
 * invalid_instance (AADSTS50049). */
static int
get_instance(as_server *s, as_req *req, as_resp *resp)
{
	char ep[512], base[96], tenant[128], disc[400];
	size_t blen;
	const char *p, *slash, *host;

	client_base(s, req, base, sizeof(base));
	blen = strlen(base);
	if (as_req_query(req, "authorization_endpoint", ep, sizeof(ep)) != 0 ||
		strncasecmp(ep, base, blen) != 0 || ep[blen] != '/') {
		entra_error(s, req, resp, 400, "invalid_instance", 50049,
			"Unknown or invalid instance.");
		return 0;
	}
	p = ep + blen + 1;
	slash = strchr(p, '/');
	snprintf(tenant, sizeof(tenant), "%.*s",
		(int)(slash ? (size_t)(slash - p) : strlen(p)), p);
	snprintf(disc, sizeof(disc),
		"%s/%s/v2.0/.well-known/"
		"openid-configuration",
		base, tenant[0] ? tenant : "common");
	host = strstr(base, "://") + 3;
	as_resp_json(resp, 200,
		json_pack("{s:s,s:s,s:[{s:s,s:s,s:[s]}]}",
			"tenant_discovery_endpoint", disc, "api-version", "1.1",
			"metadata", "preferred_network", host,
			"preferred_cache", host, "aliases", host));
	return 0;
}

/* ------------------------------------------------------------------ */
/* IMDS */

/* IMDS's own error shape: {"error":..., "error_description":...};
 * always 0, the handler's answer. */
static int
imds_error(as_resp *resp, const char *error, const char *desc)
{
	as_resp_json(resp, 400,
		json_pack("{s:s,s:s}", "error", error, "error_description",
			desc));
	return 0;
}

static int
get_imds(as_server *s, as_req *req, as_resp *resp)
{
	struct as_entra *e = s->entra;
	const char *md = as_req_header(req, "Metadata");
	char resource[256], id[128], token[TOKEN_MAX], n[3][24];
	struct grant g = { e->mi_client_id, e->mi_oid, "2", NULL, now_s(req),
		0 };

	if (md == NULL || strcasecmp(md, "true") != 0)
		return imds_error(resp, "invalid_request",
			"Required metadata header not specified");
	if (as_req_query(req, "resource", resource, sizeof(resource)) != 0)
		return imds_error(resp, "invalid_request",
			"Required audience parameter not specified");
	if ((as_req_query(req, "client_id", id, sizeof(id)) == 0 &&
		    strcasecmp(id, e->mi_client_id) != 0) ||
		(as_req_query(req, "object_id", id, sizeof(id)) == 0 &&
			strcasecmp(id, e->mi_oid) != 0) ||
		as_req_query(req, "msi_res_id", id, sizeof(id)) == 0)
		return imds_error(
			resp, "invalid_request", "Identity not found");
	if ((g.aud = resource_aud(resource)) == NULL)
		return imds_error(resp, "invalid_resource",
			"AADSTS500011: The resource principal named "
			"was not found in the tenant.");
	g.exp = g.iat + (int64_t)s->opt.token_lifetime_s;
	if (issue(s, &g, token, sizeof(token)) != 0)
		return -1;
	snprintf(n[0], sizeof(n[0]), "%u", s->opt.token_lifetime_s);
	snprintf(n[1], sizeof(n[1]), "%lld", (long long)g.exp);
	snprintf(n[2], sizeof(n[2]), "%lld", (long long)g.iat);
	as_resp_json(resp, 200,
		json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "access_token",
			token, "client_id", e->mi_client_id, "expires_in", n[0],
			"expires_on", n[1], "ext_expires_in", n[0],
			"not_before", n[2], "resource", g.aud, "token_type",
			"Bearer"));
	OPENSSL_cleanse(token, sizeof(token));
	return 0;
}

/* ------------------------------------------------------------------ */
/* The bearer token in front of ARM */

/* What armsim needs from a token it issued. */
struct claims {
	const char *principal; /* borrowed from entra state */
	char aud[128];
	int64_t exp, nbf;
};

/* Read an access token armsim issued: 0, or -1 when it is malformed,
 * its MAC is wrong, or it names an identity armsim never registered. */
static int
read_token(as_server *s, const char *token, struct claims *out)
{
	struct as_entra *e = s->entra;
	as_jws *j = strlen(token) < TOKEN_MAX ? malloc(sizeof(*j)) : NULL;
	json_t *h = NULL, *c = NULL;
	const char *alg, *tid, *appid, *aud;
	int rc = -1;

	if (j == NULL || as_jws_parse(j, token) != 0 ||
		(h = json_loads(j->header, 0, NULL)) == NULL ||
		(alg = json_string_value(json_object_get(h, "alg"))) == NULL ||
		strcmp(alg, "HS256") != 0 ||
		!as_jws_verify_hs256(j, e->key, sizeof(e->key)) ||
		(c = json_loads(j->claims, 0, NULL)) == NULL)
		goto out;
	tid = json_string_value(json_object_get(c, "tid"));
	appid = json_string_value(json_object_get(c, "appid"));
	aud = json_string_value(json_object_get(c, "aud"));
	if (tid == NULL || appid == NULL || aud == NULL ||
		strlen(aud) >= sizeof(out->aud) ||
		!json_is_integer(json_object_get(c, "exp")) ||
		!json_is_integer(json_object_get(c, "nbf")) ||
		strcmp(tid, e->tenant) != 0)
		goto out;
	if (strcmp(appid, e->client_id) == 0)
		out->principal = e->app_principal;
	else if (strcmp(appid, e->mi_client_id) == 0)
		out->principal = e->mi_principal;
	else
		goto out;
	snprintf(out->aud, sizeof(out->aud), "%s", aud);
	out->exp = json_integer_value(json_object_get(c, "exp"));
	out->nbf = json_integer_value(json_object_get(c, "nbf"));
	rc = 0;
out:
	json_decref(h);
	json_decref(c);
	free(j);
	return rc;
}

/* ARM's 401, with a WWW-Authenticate naming this server's authority. */
static int __attribute__((format(printf, 6, 7)))
unauthorized(as_server *s, const as_req *req, as_resp *resp, const char *code,
	const char *desc, const char *fmt, ...)
{
	char msg[512], base[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	client_base(s, req, base, sizeof(base));
	as_resp_arm_error(resp, 401, code, "%s", msg);
	as_resp_header(resp, "WWW-Authenticate",
		"Bearer authorization_uri=\"%s/%s\", error=\"invalid_token\", "
		"error_description=\"%s\"",
		base, s->entra->tenant, desc);
	return -1;
}

/* "10/1/2026 9:05:00 AM": the .NET invariant format ARM's messages use. */
static void
arm_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int h;

	gmtime_r(&tt, &tm);
	h = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
	snprintf(out, outlen, "%d/%d/%d %d:%02d:%02d %s", tm.tm_mon + 1,
		tm.tm_mday, tm.tm_year + 1900, h, tm.tm_min, tm.tm_sec,
		tm.tm_hour < 12 ? "AM" : "PM");
}

int
as_entra_authorize(as_server *s, as_req *req, as_resp *resp)
{
	const char *h = as_req_header(req, "Authorization");
	struct claims c;
	char a[40], b[40];

	if (h == NULL)
		return unauthorized(s, req, resp, "AuthenticationFailed",
			"The authentication failed because of missing "
			"'Authorization' header.",
			"Authentication failed. The 'Authorization' header is "
			"missing.");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return unauthorized(s, req, resp, "AuthenticationFailed",
			"The authentication failed because of an invalid "
			"'Authorization' header.",
			"Authentication failed. The 'Authorization' header is "
			"provided in an invalid format.");
	if (read_token(s, h + 7, &c) != 0)
		return unauthorized(s, req, resp, "InvalidAuthenticationToken",
			"The access token is invalid.",
			"The access token is invalid.");
	if (resource_aud(c.aud) == NULL)
		return unauthorized(s, req, resp, "InvalidAuthenticationToken",
			"The access token is from the wrong audience.",
			"The access token has been obtained for wrong audience "
			"or resource '%.100s'. It should exactly match with "
			"one of the allowed audiences "
			"'https://management.core.windows.net/',"
			"'https://management.core.windows.net',"
			"'https://management.azure.com/',"
			"'https://management.azure.com'.",
			c.aud);
	if (now_s(req) >= c.exp) {
		arm_time(c.exp, a, sizeof(a));
		arm_time(now_s(req), b, sizeof(b));
		as_violation(s, req, "expired-token",
			"bearer token used %lld s after it expired",
			(long long)(now_s(req) - c.exp));
		return unauthorized(s, req, resp, "ExpiredAuthenticationToken",
			"The access token expiry UTC time is earlier than "
			"current UTC time.",
			"The access token expiry UTC time '%s' is earlier "
			"than current UTC time '%s'.",
			a, b);
	}
	if (now_s(req) < c.nbf)
		return unauthorized(s, req, resp, "InvalidAuthenticationToken",
			"The access token is not yet valid.",
			"The access token is not valid yet: its 'nbf' is in "
			"the future.");
	req->principal = c.principal;
	return 0;
}

/* ------------------------------------------------------------------ */
/* GET /tenants: ARM's list of the caller's tenants (az account tenant
 * list), the smallest authenticated ARM route, so a token can be tried
 * without any billing state. */

static int
get_tenants(as_server *s, as_req *req, as_resp *resp)
{
	static const char *const versions[] = { "2016-06-01", "2020-01-01",
		"2022-12-01", NULL };
	const char *const *v = versions;
	char id[160], domain[160];

	if (req->api_version == NULL) {
		as_resp_arm_error(resp, 400, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is "
			"required for all requests.");
		return 0;
	}
	while (*v != NULL && strcmp(*v, req->api_version) != 0)
		v++;
	if (*v == NULL) {
		as_resp_arm_error(resp, 400, "InvalidApiVersionParameter",
			"The api-version '%.40s' is invalid. The supported "
			"versions are '2016-06-01', '2020-01-01', "
			"'2022-12-01'.",
			req->api_version);
		return 0;
	}
	snprintf(id, sizeof(id), "/tenants/%s", s->entra->tenant);
	snprintf(domain, sizeof(domain), "armsim%.8s.onmicrosoft.com",
		s->entra->tenant);
	as_resp_json(resp, 200,
		json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:[s],s:s,s:s}]}", "value",
			"id", id, "tenantId", s->entra->tenant,
			"tenantCategory", "Home", "countryCode", "US",
			"displayName", s->partner->name, "domains", domain,
			"tenantType", "AAD", "defaultDomain", domain));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Routes and state */

const as_route as_entra_routes[] = { { "POST", "/{tenant}/oauth2/v2.0/token",
					     AS_API_NONE, AS_ROUTE_NOAUTH,
					     post_token_v2 },
	{ "POST", "/{tenant}/oauth2/token", AS_API_NONE, AS_ROUTE_NOAUTH,
		post_token_v1 },
	{ "GET", "/{tenant}/v2.0/.well-known/openid-configuration", AS_API_NONE,
		AS_ROUTE_NOAUTH, get_openid_v2 },
	{ "GET", "/{tenant}/.well-known/openid-configuration", AS_API_NONE,
		AS_ROUTE_NOAUTH, get_openid_v1 },
	{ "GET", "/{tenant}/discovery/v2.0/keys", AS_API_NONE, AS_ROUTE_NOAUTH,
		get_keys },
	{ "GET", "/common/discovery/instance", AS_API_NONE, AS_ROUTE_NOAUTH,
		get_instance },
	{ "GET", "/metadata/identity/oauth2/token", AS_API_IMDS,
		AS_ROUTE_NOAUTH, get_imds },
	{ "GET", "/tenants", AS_API_NONE, 0, get_tenants },
	{ NULL, NULL, 0, 0, NULL } };

/* Ids go into paths, claims and the principal "tenant/appid": plain
 * GUID-like or domain-like text only. */
static bool
id_ok(const char *v, size_t max)
{
	size_t n = strlen(v);

	return n > 0 && n < max &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-_") == n;
}

static int
entra_ids(as_server *s, struct as_entra *e, char *err, size_t errlen)
{
	uint64_t st = s->opt.seed ^ 0x656e747261ull; /* "entra" */
	char client[AS_GUID_LEN + 1];

	as_rand_guid(&st, client);
	as_rand_guid(&st, e->app_oid);
	as_rand_guid(&st, e->mi_client_id);
	as_rand_guid(&st, e->mi_oid);
	snprintf(e->tenant, sizeof(e->tenant), "%s",
		s->opt.tenant_id ? s->opt.tenant_id : s->partner->tenant_id);
	snprintf(e->client_id, sizeof(e->client_id), "%s",
		s->opt.client_id ? s->opt.client_id : client);
	if (!id_ok(s->opt.tenant_id ? s->opt.tenant_id : e->tenant,
		    sizeof(e->tenant)) ||
		!id_ok(s->opt.client_id ? s->opt.client_id : e->client_id,
			sizeof(e->client_id))) {
		snprintf(err, errlen,
			"--tenant-id and --client-id must be GUIDs (or domain "
			"names for the tenant)");
		return -1;
	}
	snprintf(e->app_principal, sizeof(e->app_principal), "%s/%s", e->tenant,
		e->client_id);
	snprintf(e->mi_principal, sizeof(e->mi_principal), "%s/%s", e->tenant,
		e->mi_client_id);
	return 0;
}

int
as_entra_init(as_server *s, char *err, size_t errlen)
{
	struct as_entra *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->entra = e;
	if (entra_ids(s, e, err, errlen) != 0 ||
		(s->opt.client_cert != NULL &&
			as_cert_load(&e->cert, s->opt.client_cert, err,
				errlen) != 0))
		return -1;
	if (s->opt.client_secret != NULL && *s->opt.client_secret != '\0')
		e->secret = s->opt.client_secret;
	if (RAND_bytes(e->key, (int)sizeof(e->key)) != 1) {
		snprintf(err, errlen, "no randomness for the token key");
		return -1;
	}
	return 0;
}

void
as_entra_free(as_server *s)
{
	struct as_entra *e = s->entra;

	if (e == NULL)
		return;
	for (size_t i = 0; i < e->njti; i++)
		free(e->jti[i].id);
	free(e->jti);
	as_cert_free(&e->cert);
	OPENSSL_cleanse(e->key, sizeof(e->key));
	free(e);
	s->entra = NULL;
}
