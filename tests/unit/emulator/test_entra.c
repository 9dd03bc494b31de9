/*
 * tests/unit/emulator/test_entra.c - armsim's Entra ID over real HTTP:
 * the token endpoint (client secret, HTTP Basic, RS256 and PS256
 * assertions, v1), each refusal with Entra's error shape and AADSTS
 * code, discovery, IMDS, the bearer check on an ARM route (GET /tenants)
 * and the library's own credential (core/auth) getting tokens from it,
 * over plain http and over HTTPS with a throwaway CA.
 *
 * Assertions are signed here with OpenSSL directly, so armsim's verifier
 * is checked against a third reading, not only against core/auth.c.
 */
#include "core/common.h"

#include "core/auth.h"
#include "core/http.h"
#include "emulator/armsim.h"
#include "tests/support/testcert.h"
#include "tests/support/testsupport.h"
#include "tests/support/webclient.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define TENANT "0b6f3c2e-7d41-4a8e-9c55-2f1e8d7a6b90"
#define CLIENT "5c2d9e1f-3a4b-4c6d-8e7f-9a0b1c2d3e4f"
#define SECRET "Xy7~q.Secret+with/odd=chars"
#define FORM   "Content-Type: application/x-www-form-urlencoded"
#define SCOPE  "https%3A%2F%2Fmanagement.azure.com%2F.default"
#define SECRET_FORM                                                    \
	"client_id=" CLIENT "&scope=" SCOPE                            \
	"&client_secret=Xy7~q.Secret%2Bwith%2Fodd%3Dchars&grant_type=" \
	"client_credentials"

static struct cb_test_certs certs;

struct env {
	as_server *s;
	char base[128];
};

static void
start_with(struct env *e, unsigned lifetime, const char *tls_dir)
{
	as_options o;
	char err[512], cert[600], key[600];

	as_options_init(&o);
	o.plain_http = tls_dir == NULL;
	if (tls_dir != NULL) {
		snprintf(cert, sizeof(cert), "%s/server.pem", tls_dir);
		snprintf(key, sizeof(key), "%s/server.key", tls_dir);
		o.tls_cert = cert;
		o.tls_key = key;
	}
	o.customers = 2;
	o.tenant_id = TENANT;
	o.client_id = CLIENT;
	o.client_secret = SECRET;
	o.client_cert = certs.cert;
	o.token_lifetime_s = lifetime;
	if (as_server_start(&e->s, &o, err, sizeof(err)) != 0)
		fail_msg("armsim: %s", err);
	as_server_base(e->s, e->base, sizeof(e->base));
}

static void
start(struct env *e)
{
	start_with(e, 3599, NULL);
}

static void
fetch(struct env *e, cb_test_reply *r, const char *method, const char *path,
	const char *headers, const char *body)
{
	char u[1024];

	snprintf(u, sizeof(u), "%s%s", e->base, path);
	assert_int_equal(0, cb_test_fetch(r, method, u, headers, body));
}

static void
post_token(struct env *e, cb_test_reply *r, const char *body)
{
	fetch(e, r, "POST", "/" TENANT "/oauth2/v2.0/token", FORM, body);
}

static json_t *
body_json(const cb_test_reply *r)
{
	json_t *v = json_loads(r->body, 0, NULL);

	assert_non_null(v);
	return v;
}

static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (v == NULL)
		fail_msg("no string \"%s\"", key);
	return v;
}

/* Entra's flat error, exactly: status, error, the one AADSTS code, the
 * description's first words and its trailer of ids, and no secret. */
static void
expect_entra_error(const cb_test_reply *r, long status, const char *error,
	long code, const char *desc_start)
{
	json_t *v = body_json(r);
	char want[600], trailer[200], uri[96];
	const char *desc = str(v, "error_description");
	const char *stamp = str(v, "timestamp");

	assert_int_equal(status, r->status);
	assert_int_equal(7, json_object_size(v));
	assert_string_equal(error, str(v, "error"));
	assert_int_equal(1, json_array_size(json_object_get(v, "error_codes")));
	assert_int_equal(code, json_integer_value(json_array_get(
				       json_object_get(v, "error_codes"), 0)));
	snprintf(want, sizeof(want), "AADSTS%ld: %s", code, desc_start);
	if (strncmp(desc, want, strlen(want)) != 0)
		fail_msg(
			"description \"%s\" does not start \"%s\"", desc, want);
	snprintf(trailer, sizeof(trailer),
		"\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		str(v, "trace_id"), str(v, "correlation_id"), stamp);
	assert_non_null(strstr(desc, trailer));
	assert_int_equal(20, strlen(stamp));
	assert_int_equal('Z', stamp[19]);
	snprintf(uri, sizeof(uri),
		"https://login.microsoftonline.com/error?code=%ld", code);
	assert_string_equal(uri, str(v, "error_uri"));
	assert_null(strstr(r->body, "Secret"));
	assert_string_equal(
		"no-store, no-cache", cb_test_reply_header(r, "Cache-Control"));
	json_decref(v);
}

/* A token from a 200 answer, malloc'd; checks the v2 body exactly. */
static char *
expect_token(const cb_test_reply *r, long lifetime)
{
	json_t *v;
	char *tok;

	if (r->status != 200)
		fail_msg("token: %ld %s", r->status, r->body);
	v = body_json(r);
	assert_int_equal(4, json_object_size(v));
	assert_string_equal("Bearer", str(v, "token_type"));
	assert_int_equal(
		lifetime, json_integer_value(json_object_get(v, "expires_in")));
	assert_int_equal(lifetime,
		json_integer_value(json_object_get(v, "ext_expires_in")));
	tok = strdup(str(v, "access_token"));
	json_decref(v);
	return tok;
}

/* GET /tenants with tok; the status. */
static long
arm_get(struct env *e, const char *tok, cb_test_reply *r)
{
	char h[4200];

	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	fetch(e, r, "GET", "/tenants?api-version=2020-01-01", h, NULL);
	return r->status;
}

static void
expect_arm_ok(struct env *e, const char *tok)
{
	cb_test_reply r;

	if (arm_get(e, tok, &r) != 200)
		fail_msg("GET /tenants: %ld %s", r.status, r.body);
	assert_non_null(strstr(r.body, "\"tenantId\":\"" TENANT "\""));
	cb_test_reply_free(&r);
}

/* ------------------------------------------------------------------ */
/* Signing assertions here */

static void
b64url(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	size_t w = 0;

	assert_true(n > 0 && (size_t)n < outlen);
	for (int i = 0; i < n; i++) {
		if (out[i] == '=')
			break;
		out[w++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[w] = '\0';
}

/* base64url of the bytes a hex string spells (the cert thumbprints). */
static void
hex_b64url(const char *hex, char *out, size_t outlen)
{
	unsigned char raw[64];
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		raw[i] = (unsigned char)v;
	}
	b64url(raw, n, out, outlen);
}

static EVP_PKEY *
key_a(void)
{
	FILE *f = fopen(certs.key, "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* A compact JWS of claims: PS256 with x5t#S256, or RS256 with x5t. */
static char *
sign(EVP_PKEY *key, bool pss, const char *claims)
{
	char x5t[64], header[256], h64[400], c64[1200], *out;
	unsigned char sig[512];
	size_t siglen = sizeof(sig), n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	hex_b64url(pss ? certs.sha256_hex : certs.sha1_hex, x5t, sizeof(x5t));
	snprintf(header, sizeof(header),
		"{\"alg\":\"%s\",\"typ\":\"JWT\",\"%s\":\"%s\"}",
		pss ? "PS256" : "RS256", pss ? "x5t#S256" : "x5t", x5t);
	b64url((const unsigned char *)header, strlen(header), h64, sizeof(h64));
	b64url((const unsigned char *)claims, strlen(claims), c64, sizeof(c64));
	n = strlen(h64) + strlen(c64) + 2;
	out = malloc(n + 1024);
	snprintf(out, n + 1024, "%s.%s", h64, c64);
	assert_int_equal(
		1, EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key));
	if (pss) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
		EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
	}
	assert_int_equal(1, EVP_DigestSign(ctx, sig, &siglen,
				    (const unsigned char *)out, n - 1));
	EVP_MD_CTX_free(ctx);
	out[n - 1] = '.';
	b64url(sig, siglen, out + n, 1024);
	return out;
}

static char *
claims(struct env *e, const char *aud_path, const char *iss, const char *jti,
	long nbf_off, long exp_off)
{
	char aud[300], *text;
	long now = (long)time(NULL);
	json_t *c;

	snprintf(aud, sizeof(aud), "%s%s", aud_path[0] == '/' ? e->base : "",
		aud_path);
	c = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "aud", aud, "iss", iss,
		"sub", iss, "jti", jti, "nbf", (json_int_t)(now + nbf_off),
		"exp", (json_int_t)(now + exp_off));
	text = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return text;
}

/* POST an assertion; the reply in r. */
static void
post_assertion(struct env *e, cb_test_reply *r, const char *jws)
{
	char *body = malloc(strlen(jws) + 512);

	snprintf(body, strlen(jws) + 512, "%s%s%s",
		"client_id=" CLIENT "&scope=" SCOPE
		"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
		"client-assertion-type%3Ajwt-bearer&client_assertion=",
		jws, "&grant_type=client_credentials");
	post_token(e, r, body);
	free(body);
}

/* Sign claims with key and POST them. */
static void
try_assertion(struct env *e, cb_test_reply *r, EVP_PKEY *key, bool pss,
	const char *aud, const char *iss, const char *jti, long nbf, long exp)
{
	char *c = claims(e, aud, iss, jti, nbf, exp);
	char *jws = sign(key, pss, c);

	post_assertion(e, r, jws);
	free(jws);
	free(c);
}

#define TOKEN_AUD "/" TENANT "/oauth2/v2.0/token"
#define TENANTS_PREFIX                                                       \
	"{\"value\":[{\"id\":\"/tenants/" TENANT "\",\"tenantId\":\"" TENANT \
	"\",\"tenantCategory\":\"Home\",\"countryCode\":\"US\","             \
	"\"displayName\":"

/* ------------------------------------------------------------------ */
/* Tests */

static void
test_client_secret_gets_a_token_that_arm_accepts(void **state)
{
	struct env e;
	cb_test_reply r;
	char *tok;

	(void)state;
	start(&e);
	post_token(&e, &r, SECRET_FORM);
	tok = expect_token(&r, 3599);
	assert_string_equal("no-store, no-cache",
		cb_test_reply_header(&r, "Cache-Control"));
	cb_test_reply_free(&r);
	/* header.claims.signature, base64url. */
	assert_int_equal(strlen(tok), strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
						  "abcdefghijklmnopqrstuvwxyz"
						  "0123456789-_."));
	assert_null(strchr(strchr(strchr(tok, '.') + 1, '.') + 1, '.'));
	assert_int_equal(200, arm_get(&e, tok, &r));
	assert_int_equal(
		0, strncmp(r.body, TENANTS_PREFIX, strlen(TENANTS_PREFIX)));
	cb_test_reply_free(&r);

	/* The log has the principal, never the secret or the token. */
	fetch(&e, &r, "GET", "/_armsim/requests", NULL, NULL);
	assert_non_null(strstr(r.body, "\"principal\":\"" TENANT "/" CLIENT));
	assert_null(strstr(r.body, "Secret"));
	assert_null(strstr(r.body, tok));
	cb_test_reply_free(&r);
	free(tok);
	as_server_stop(e.s);
}

static void
test_secret_refusals_have_entra_codes(void **state)
{
	struct env e;
	cb_test_reply r;

	(void)state;
	start(&e);
	fetch(&e, &r, "POST",
		"/11111111-2222-4333-8444-555555555555/oauth2/"
		"v2.0/token",
		FORM, SECRET_FORM);
	expect_entra_error(&r, 400, "invalid_request", 90002,
		"Tenant '11111111-2222-4333-8444-555555555555' not found.");
	cb_test_reply_free(&r);

	post_token(&e, &r,
		"client_id=" CLIENT "&scope=" SCOPE
		"&client_secret=wrong&grant_type=client_credentials");
	expect_entra_error(&r, 401, "invalid_client", 7000215,
		"Invalid client secret provided. Ensure the secret being "
		"sent in the request is the client secret value, not the "
		"client secret ID, for a secret added to app '" CLIENT "'.");
	cb_test_reply_free(&r);

	post_token(&e, &r,
		"client_id=99999999-2222-4333-8444-555555555555&scope=" SCOPE
		"&client_secret=x&grant_type=client_credentials");
	expect_entra_error(&r, 400, "unauthorized_client", 700016,
		"Application with identifier "
		"'99999999-2222-4333-8444-555555555555' was not found in the "
		"directory '" TENANT "'.");
	cb_test_reply_free(&r);

	post_token(&e, &r,
		"client_id=" CLIENT "&scope=" SCOPE
		"&grant_type=client_credentials");
	expect_entra_error(&r, 401, "invalid_client", 7000216,
		"'client_assertion', 'client_secret' or 'request' is "
		"required for the 'client_credentials' grant type.");
	cb_test_reply_free(&r);

	post_token(&e, &r,
		"client_id=" CLIENT "&scope=https%3A%2F%2Fmanagement.azure.com"
		"%2Fuser_impersonation&client_secret=x&grant_type="
		"client_credentials");
	expect_entra_error(&r, 400, "invalid_scope", 1002012,
		"The provided value for scope https://management.azure.com/"
		"user_impersonation is not valid.");
	cb_test_reply_free(&r);

	post_token(&e, &r,
		"client_id=" CLIENT "&scope=https%3A%2F%2Fgraph.microsoft.com"
		"%2F.default&client_secret=x&grant_type=client_credentials");
	expect_entra_error(&r, 400, "invalid_resource", 500011,
		"The resource principal named "
		"https://graph.microsoft.com/.default was not found");
	cb_test_reply_free(&r);

	post_token(&e, &r, "client_id=" CLIENT "&scope=" SCOPE);
	expect_entra_error(&r, 400, "invalid_request", 900144,
		"The request body must contain the following parameter: "
		"'grant_type'.");
	cb_test_reply_free(&r);

	post_token(&e, &r,
		"client_id=" CLIENT "&scope=" SCOPE "&grant_type=password");
	expect_entra_error(&r, 400, "unsupported_grant_type", 70003,
		"The app requested an unsupported grant type 'password'.");
	cb_test_reply_free(&r);

	/* client-request-id comes back as the correlation id. */
	fetch(&e, &r, "POST", "/" TENANT "/oauth2/v2.0/token",
		FORM "\nclient-request-id: 01234567-89ab-4cde-8f01-"
		     "23456789abcd",
		"client_id=" CLIENT "&scope=" SCOPE);
	assert_non_null(strstr(r.body, "\"correlation_id\":\"01234567-89ab-"
				       "4cde-8f01-23456789abcd\""));
	assert_string_equal("01234567-89ab-4cde-8f01-23456789abcd",
		cb_test_reply_header(&r, "client-request-id"));
	cb_test_reply_free(&r);
	as_server_stop(e.s);
}

static void
test_basic_auth_v1_and_legacy_scope(void **state)
{
	struct env e;
	cb_test_reply r;
	json_t *v;
	char *tok;

	(void)state;
	start(&e);
	/* base64("<client>:Xy7~q.Secret%2Bwith%2Fodd%3Dchars") */
	{
		const char *pair = CLIENT ":Xy7~q.Secret%2Bwith%2Fodd%3Dchars";
		char b64[200], h[300];
		EVP_EncodeBlock((unsigned char *)b64,
			(const unsigned char *)pair, (int)strlen(pair));
		snprintf(h, sizeof(h), FORM "\nAuthorization: Basic %s", b64);
		fetch(&e, &r, "POST", "/" TENANT "/oauth2/v2.0/token", h,
			"scope=" SCOPE "&grant_type=client_credentials");
	}
	tok = expect_token(&r, 3599);
	cb_test_reply_free(&r);
	expect_arm_ok(&e, tok);
	free(tok);

	post_token(&e, &r,
		"client_id=" CLIENT "&scope=https%3A%2F%2Fmanagement.core."
		"windows.net%2F%2F.default&client_secret=Xy7~q.Secret%2Bwith"
		"%2Fodd%3Dchars&grant_type=client_credentials");
	tok = expect_token(&r, 3599);
	cb_test_reply_free(&r);
	expect_arm_ok(&e, tok);
	free(tok);

	fetch(&e, &r, "POST", "/" TENANT "/oauth2/token", FORM,
		"client_id=" CLIENT "&resource=https%3A%2F%2Fmanagement.azure."
		"com%2F&client_secret=Xy7~q.Secret%2Bwith%2Fodd%3Dchars&"
		"grant_type=client_credentials");
	assert_int_equal(200, r.status);
	v = body_json(&r);
	assert_string_equal("3599", str(v, "expires_in"));
	assert_string_equal("3599", str(v, "ext_expires_in"));
	assert_string_equal(
		"https://management.azure.com/", str(v, "resource"));
	assert_int_equal(3599,
		atoll(str(v, "expires_on")) - atoll(str(v, "not_before")));
	expect_arm_ok(&e, str(v, "access_token"));
	json_decref(v);
	cb_test_reply_free(&r);
	as_server_stop(e.s);
}

static void
test_assertions_rs256_and_ps256(void **state)
{
	struct env e;
	cb_test_reply r;
	EVP_PKEY *k = key_a();
	char *tok;

	(void)state;
	start(&e);
	try_assertion(&e, &r, k, false, TOKEN_AUD, CLIENT, "jti-rs", -5, 600);
	tok = expect_token(&r, 3599);
	cb_test_reply_free(&r);
	expect_arm_ok(&e, tok);
	free(tok);
	try_assertion(&e, &r, k, true, TOKEN_AUD, CLIENT, "jti-ps", -5, 600);
	tok = expect_token(&r, 3599);
	cb_test_reply_free(&r);
	expect_arm_ok(&e, tok);
	free(tok);
	/* Entra's public host and the v1 token URL are audiences too. */
	try_assertion(&e, &r, k, true,
		"https://login.microsoftonline.com/" TENANT
		"/oauth2/v2.0/token",
		CLIENT, "jti-3", 0, 600);
	assert_int_equal(200, r.status);
	cb_test_reply_free(&r);
	try_assertion(&e, &r, k, false, "/" TENANT "/oauth2/token", CLIENT,
		"jti-4", 0, 600);
	assert_int_equal(200, r.status);
	cb_test_reply_free(&r);
	EVP_PKEY_free(k);
	as_server_stop(e.s);
}

static void
test_assertion_refusals(void **state)
{
	struct env e;
	cb_test_reply r;
	EVP_PKEY *k = key_a(), *other = EVP_RSA_gen(2048);
	char *jws, *c;

	(void)state;
	start(&e);
	try_assertion(&e, &r, other, true, TOKEN_AUD, CLIENT, "a", 0, 600);
	expect_entra_error(&r, 401, "invalid_client", 700027,
		"Client assertion failed signature validation.");
	cb_test_reply_free(&r);
	try_assertion(&e, &r, other, false, TOKEN_AUD, CLIENT, "b", 0, 600);
	expect_entra_error(&r, 401, "invalid_client", 700027,
		"Client assertion failed signature validation.");
	cb_test_reply_free(&r);

	try_assertion(&e, &r, k, true,
		"https://login.microsoftonline.com/other/oauth2/v2.0/token",
		CLIENT, "c", 0, 600);
	expect_entra_error(&r, 401, "invalid_client", 700023,
		"Client assertion audience claim does not match Realm "
		"issuer.");
	cb_test_reply_free(&r);

	try_assertion(&e, &r, k, true, TOKEN_AUD,
		"99999999-2222-4333-8444-555555555555", "d", 0, 600);
	expect_entra_error(&r, 401, "invalid_client", 700021,
		"Client assertion application identifier doesn't match "
		"'client_id' parameter.");
	cb_test_reply_free(&r);

	/* Expired beyond the 5-minute skew; not yet valid likewise. */
	try_assertion(&e, &r, k, true, TOKEN_AUD, CLIENT, "e", -1000, -400);
	expect_entra_error(&r, 401, "invalid_client", 700024,
		"Client assertion is not within its valid time range. "
		"Current time: ");
	cb_test_reply_free(&r);
	try_assertion(&e, &r, k, true, TOKEN_AUD, CLIENT, "f", 400, 1000);
	expect_entra_error(&r, 401, "invalid_client", 700024,
		"Client assertion is not within its valid time range.");
	cb_test_reply_free(&r);

	/* The same assertion twice: the second is a replay. */
	c = claims(&e, TOKEN_AUD, CLIENT, "once", 0, 600);
	jws = sign(k, true, c);
	post_assertion(&e, &r, jws);
	assert_int_equal(200, r.status);
	cb_test_reply_free(&r);
	post_assertion(&e, &r, jws);
	expect_entra_error(&r, 401, "invalid_client", 50013,
		"Assertion failed validation: its 'jti' was already used.");
	cb_test_reply_free(&r);
	free(jws);
	free(c);

	post_assertion(&e, &r, "not.a-jwt");
	expect_entra_error(&r, 400, "invalid_request", 50027,
		"Invalid JWT token. Token format not valid.");
	cb_test_reply_free(&r);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
	as_server_stop(e.s);
}

static void
expect_401(struct env *e, const char *auth, const char *code,
	const char *message, const char *desc)
{
	cb_test_reply r;
	char want[700];

	fetch(e, &r, "GET", "/tenants?api-version=2020-01-01", auth, NULL);
	assert_int_equal(401, r.status);
	snprintf(want, sizeof(want),
		"{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
		message);
	assert_string_equal(want, r.body);
	snprintf(want, sizeof(want),
		"Bearer authorization_uri=\"%s/" TENANT
		"\", error=\"invalid_token\", error_description=\"%s\"",
		e->base, desc);
	assert_string_equal(want, cb_test_reply_header(&r, "WWW-Authenticate"));
	cb_test_reply_free(&r);
}

static void
test_arm_refuses_missing_bad_and_expired_tokens(void **state)
{
	struct env e;
	cb_test_reply r;
	char tok[4096], h[4200];
	size_t n;

	(void)state;
	start_with(&e, 1, NULL);
	expect_401(&e, NULL, "AuthenticationFailed",
		"Authentication failed. The 'Authorization' header is "
		"missing.",
		"The authentication failed because of missing "
		"'Authorization' header.");
	expect_401(&e, "Authorization: Basic eDp5", "AuthenticationFailed",
		"Authentication failed. The 'Authorization' header is "
		"provided in an invalid format.",
		"The authentication failed because of an invalid "
		"'Authorization' header.");
	expect_401(&e, "Authorization: Bearer abc.def.ghi",
		"InvalidAuthenticationToken", "The access token is invalid.",
		"The access token is invalid.");

	/* A token with one signature character changed. */
	assert_int_equal(0, as_entra_issue(e.s, tok, sizeof(tok)));
	n = strlen(tok);
	tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	expect_401(&e, h, "InvalidAuthenticationToken",
		"The access token is invalid.", "The access token is invalid.");

	/* A 1-second token works, then expires and counts a violation.
	 * Its exp is whole seconds after iat: issued late in a second, it
	 * would expire before the request reached armsim, so it is issued
	 * as a new second begins. */
	for (time_t t0 = time(NULL); time(NULL) == t0;)
		usleep(1000);
	assert_int_equal(0, as_entra_issue(e.s, tok, sizeof(tok)));
	assert_int_equal(200, arm_get(&e, tok, &r));
	cb_test_reply_free(&r);
	sleep(2);
	assert_int_equal(401, arm_get(&e, tok, &r));
	assert_int_equal(0,
		strncmp(r.body,
			"{\"error\":{\"code\":\"ExpiredAuthenticationToken\","
			"\"message\":\"The access token expiry UTC time '",
			87));
	assert_non_null(strstr(r.body, "' is earlier than current UTC time '"));
	cb_test_reply_free(&r);
	fetch(&e, &r, "GET", "/_armsim/violations", NULL, NULL);
	assert_non_null(strstr(r.body, "\"byKind\":{\"expired-token\":1}"));
	cb_test_reply_free(&r);
	as_server_stop(e.s);
}

static void
test_imds(void **state)
{
	struct env e;
	cb_test_reply r;
	json_t *v;
	const char *path = "/metadata/identity/oauth2/token?api-version=2018-"
			   "02-01&resource=https%3A%2F%2Fmanagement.azure."
			   "com%2F";

	(void)state;
	start(&e);
	fetch(&e, &r, "GET", path, NULL, NULL);
	assert_int_equal(400, r.status);
	assert_string_equal("{\"error\":\"invalid_request\",\"error_"
			    "description\":\"Required metadata header not "
			    "specified\"}",
		r.body);
	cb_test_reply_free(&r);
	fetch(&e, &r, "GET",
		"/metadata/identity/oauth2/token?api-version=2018-02-01",
		"Metadata: true", NULL);
	assert_string_equal("{\"error\":\"invalid_request\",\"error_"
			    "description\":\"Required audience parameter not "
			    "specified\"}",
		r.body);
	cb_test_reply_free(&r);
	fetch(&e, &r, "GET",
		"/metadata/identity/oauth2/token?api-version=2018-02-01&"
		"resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=x",
		"Metadata: true", NULL);
	assert_string_equal("{\"error\":\"invalid_request\",\"error_"
			    "description\":\"Identity not found\"}",
		r.body);
	cb_test_reply_free(&r);

	fetch(&e, &r, "GET", path, "Metadata: true", NULL);
	assert_int_equal(200, r.status);
	v = body_json(&r);
	assert_int_equal(8, json_object_size(v));
	assert_string_equal("3599", str(v, "expires_in"));
	assert_string_equal(
		"https://management.azure.com/", str(v, "resource"));
	assert_string_equal("Bearer", str(v, "token_type"));
	assert_int_equal(3599,
		atoll(str(v, "expires_on")) - atoll(str(v, "not_before")));
	expect_arm_ok(&e, str(v, "access_token"));
	json_decref(v);
	cb_test_reply_free(&r);
	as_server_stop(e.s);
}

static void
test_discovery_documents(void **state)
{
	struct env e;
	cb_test_reply r;
	json_t *v;
	char want[1024], path[600];

	(void)state;
	start(&e);
	fetch(&e, &r, "GET",
		"/" TENANT "/v2.0/.well-known/openid-configuration", NULL,
		NULL);
	assert_int_equal(200, r.status);
	v = body_json(&r);
	snprintf(want, sizeof(want), "%s/" TENANT "/oauth2/v2.0/token", e.base);
	assert_string_equal(want, str(v, "token_endpoint"));
	snprintf(want, sizeof(want), "%s/" TENANT "/v2.0", e.base);
	assert_string_equal(want, str(v, "issuer"));
	snprintf(want, sizeof(want), "%s/" TENANT "/oauth2/v2.0/authorize",
		e.base);
	assert_string_equal(want, str(v, "authorization_endpoint"));
	snprintf(want, sizeof(want), "%s/" TENANT "/discovery/v2.0/keys",
		e.base);
	assert_string_equal(want, str(v, "jwks_uri"));
	json_decref(v);
	cb_test_reply_free(&r);

	fetch(&e, &r, "GET", "/nope/v2.0/.well-known/openid-configuration",
		NULL, NULL);
	expect_entra_error(
		&r, 400, "invalid_tenant", 90002, "Tenant 'nope' not found.");
	cb_test_reply_free(&r);

	snprintf(path, sizeof(path),
		"/common/discovery/instance?api-version=1.1&authorization_"
		"endpoint=%s/" TENANT "/oauth2/v2.0/authorize",
		e.base);
	fetch(&e, &r, "GET", path, NULL, NULL);
	assert_int_equal(200, r.status);
	snprintf(want, sizeof(want),
		"{\"tenant_discovery_endpoint\":\"%s/" TENANT
		"/v2.0/.well-known/openid-configuration\",\"api-version\":"
		"\"1.1\",\"metadata\":[{\"preferred_network\":\"%s\","
		"\"preferred_cache\":\"%s\",\"aliases\":[\"%s\"]}]}",
		e.base, e.base + 7, e.base + 7, e.base + 7);
	assert_string_equal(want, r.body);
	cb_test_reply_free(&r);
	fetch(&e, &r, "GET",
		"/common/discovery/instance?api-version=1.1&authorization_"
		"endpoint=https://evil.example/x/oauth2/v2.0/authorize",
		NULL, NULL);
	expect_entra_error(&r, 400, "invalid_instance", 50049,
		"Unknown or invalid instance.");
	cb_test_reply_free(&r);
	as_server_stop(e.s);
}

/* The library's credential (core/auth) against armsim: the client and
 * the emulator read the wire format independently and must agree. */
static void
library_token(struct env *e, int kind, int alg, const char *ca)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	cb_http_options ho = CB_HTTP_OPTIONS_INIT;
	cb_credential *c = NULL;
	cb_http *h = NULL;
	cb_buf tok = CB_BUF_INIT;
	int64_t exp = 0;

	o.flags = CB_CREDENTIAL_IGNORE_ENV;
	o.kind = kind;
	o.authority_host = e->base;
	o.tenant_id = TENANT;
	o.client_id = CLIENT;
	if (kind == CB_CREDENTIAL_SECRET)
		o.client_secret = SECRET;
	else
		o.certificate_path = certs.combined;
	o.assertion_alg = alg;
	ho.max_attempts = 1;
	ho.ca_file = ca;
	assert_int_equal(0, cb_credential_new(&c, &o));
	assert_int_equal(0, cb__http_new(&h, &ho));
	assert_int_equal(0, cb__credential_get_token(c, h, NULL, &tok, &exp));
	assert_true(exp > (int64_t)time(NULL) + 3000);
	expect_arm_ok(e, tok.ptr);
	cb__auth_buf_wipe(&tok);
	cb__http_free(h);
	cb_credential_free(c);
}

static void
test_library_credential_gets_tokens(void **state)
{
	struct env e;

	(void)state;
	start(&e);
	library_token(&e, CB_CREDENTIAL_SECRET, CB_ASSERTION_PS256, NULL);
	library_token(&e, CB_CREDENTIAL_CERTIFICATE, CB_ASSERTION_PS256, NULL);
	library_token(&e, CB_CREDENTIAL_CERTIFICATE, CB_ASSERTION_RS256, NULL);
	as_server_stop(e.s);
}

static void
test_https_with_test_ca(void **state)
{
	struct env e;
	cb_test_reply r;
	char dir[CB_TEST_PATH_MAX + 8], cmd[2048], ca[CB_TEST_PATH_MAX + 16];
	char *tok;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ca", certs.dir);
	snprintf(cmd, sizeof(cmd), "'%s/scripts/armsim-ca' '%s'",
		cb_test_source_dir(), dir);
	assert_int_equal(0, system(cmd));
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	start_with(&e, 3599, dir);
	assert_int_equal(0, strncmp(e.base, "https://127.0.0.1:", 18));
	cb_test_fetch_ca(ca);
	post_token(&e, &r, SECRET_FORM);
	tok = expect_token(&r, 3599);
	cb_test_reply_free(&r);
	expect_arm_ok(&e, tok);
	free(tok);
	library_token(&e, CB_CREDENTIAL_CERTIFICATE, CB_ASSERTION_PS256, ca);
	cb_test_fetch_ca(NULL);
	as_server_stop(e.s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(0, system(cmd));
}

static int
setup(void **state)
{
	(void)state;
	cb_test_certs_make(&certs);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cb_test_certs_remove(&certs);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_client_secret_gets_a_token_that_arm_accepts),
		cmocka_unit_test(test_secret_refusals_have_entra_codes),
		cmocka_unit_test(test_basic_auth_v1_and_legacy_scope),
		cmocka_unit_test(test_assertions_rs256_and_ps256),
		cmocka_unit_test(test_assertion_refusals),
		cmocka_unit_test(
			test_arm_refuses_missing_bad_and_expired_tokens),
		cmocka_unit_test(test_imds),
		cmocka_unit_test(test_discovery_documents),
		cmocka_unit_test(test_library_credential_gets_tokens),
		cmocka_unit_test(test_https_with_test_ca),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
