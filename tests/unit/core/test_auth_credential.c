/*
 * tests/unit/core/test_auth_credential.c - choosing a credential from
 * options and environment, and the exact token requests it builds.
 */
#include "core/common.h"
#include "core/auth.h"
#include "core/buf.h"
#include "tests/support/testcert.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define NOW           1767225600
#define TENANT        "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define CLIENT        "11111111-2222-3333-4444-555555555555"
#define ARM_SCOPE_ENC "https%3A%2F%2Fmanagement.azure.com%2F.default"
#define TOKEN_URL \
	"https://login.microsoftonline.com/" TENANT "/oauth2/v2.0/token"
#define ASSERTION_TYPE_ENC \
	"urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"

static struct cb_test_certs certs;

static int
group_setup(void **state)
{
	(void)state;
	cb_test_certs_make(&certs);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	cb_test_certs_remove(&certs);
	return 0;
}

/* A fake environment: NULL-terminated name/value pairs. */
static const char *
table_env(const char *name, void *payload)
{
	const char *const *kv = payload;

	for (; kv && kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static int
new_cred(cb_credential **out, const cb_credential_options *o,
	const char *const *env)
{
	return cb__credential_new_env(
		out, o, table_env, (void *)(uintptr_t)env);
}

static void
assert_error(int code, const char *message)
{
	assert_string_equal(
		cb_error_name(code), cb_error_name(cb_error_last()->code));
	assert_string_equal(message, cb_error_last()->message);
}

/* The credential fails to resolve with exactly this error. */
static void
resolve_fails(const cb_credential_options *o, const char *const *env, int code,
	const char *message)
{
	cb_credential *c = NULL;

	assert_int_equal(code, new_cred(&c, o, env));
	assert_error(code, message);
	assert_null(c);
}

static void
test_credential_form_encoding(void **state)
{
	cb_buf b = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__form_encode(&b, "AZaz09-._~ !\"#$%&'()*+,/:;"
						"<=>?@[\\]^`{|}\xc3\xa9\x7f"));
	assert_string_equal("AZaz09-._~+%21%22%23%24%25%26%27%28%29%2A%2B%2C"
			    "%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D"
			    "%C3%A9%7F",
		b.ptr);
	cb_buf_dispose(&b);
	assert_int_equal(0, cb__form_field(&b, '&', "a", "1 2"));
	assert_int_equal(0, cb__form_field(&b, '&', "b", ""));
	assert_string_equal("a=1+2&b=", b.ptr);
	cb_buf_dispose(&b);
}

static const char *const env_secret[] = { "AZURE_TENANT_ID", TENANT,
	"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_SECRET", "a+b/c=d&e~f g%",
	NULL };

static void
test_credential_secret_request_is_exact(void **state)
{
	cb_credential *c = NULL;
	struct cb__token_request r;

	(void)state;
	assert_int_equal(0, new_cred(&c, NULL, env_secret));
	assert_int_equal(CB_CREDENTIAL_SECRET, cb_credential_kind_of(c));
	assert_string_equal("client secret from AZURE_CLIENT_SECRET for "
			    "client " CLIENT " in tenant " TENANT,
		cb_credential_describe(c));
	assert_string_equal("https://management.azure.com",
		cb_credential_management_endpoint(c));
	assert_string_equal("https://management.azure.com/.default",
		cb__credential_default_scope(c));
	assert_string_equal(TOKEN_URL, cb__credential_token_url(c));

	assert_int_equal(0, cb__credential_token_request(&r, c, NULL, NOW));
	assert_int_equal(CB__TOKEN_POST, r.method);
	assert_string_equal(TOKEN_URL, r.url);
	assert_string_equal(TOKEN_URL, r.endpoint);
	assert_null(r.header);
	assert_string_equal("client_id=" CLIENT "&scope=" ARM_SCOPE_ENC
			    "&client_secret=a%2Bb%2Fc%3Dd%26e~f+g%25"
			    "&grant_type=client_credentials",
		r.body.ptr);
	cb__token_request_dispose(&r);
	assert_null(r.url);
	assert_null(r.body.ptr);

	/* Another scope, as given. */
	assert_int_equal(0, cb__credential_token_request(&r, c,
				    "https://storage.azure.com/.default", NOW));
	assert_string_equal("client_id=" CLIENT
			    "&scope=https%3A%2F%2Fstorage.azure.com%2F.default"
			    "&client_secret=a%2Bb%2Fc%3Dd%26e~f+g%25"
			    "&grant_type=client_credentials",
		r.body.ptr);
	cb__token_request_dispose(&r);
	cb_credential_free(c);
}

static void
test_credential_options_beat_environment(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env[] = { "AZURE_TENANT_ID", "env-tenant",
		"AZURE_CLIENT_ID", "env-client", "AZURE_CLIENT_SECRET",
		"env-secret", "AZURE_AUTHORITY_HOST",
		"https://login.microsoftonline.us/", NULL };
	cb_credential *c = NULL;
	struct cb__token_request r;

	(void)state;
	/* Environment alone, including the authority host. */
	assert_int_equal(0, new_cred(&c, &o, env));
	assert_string_equal("https://login.microsoftonline.us/env-tenant/"
			    "oauth2/v2.0/token",
		cb__credential_token_url(c));
	cb_credential_free(c);

	/* Each option wins over its variable; the secret stays from env. */
	o.tenant_id = "contoso.onmicrosoft.com";
	o.client_id = "opt-client";
	o.authority_host = "http://127.0.0.1:8400/sts/";
	assert_int_equal(0, new_cred(&c, &o, env));
	assert_string_equal("client secret from AZURE_CLIENT_SECRET for "
			    "client opt-client in tenant "
			    "contoso.onmicrosoft.com",
		cb_credential_describe(c));
	assert_int_equal(0, cb__credential_token_request(&r, c, NULL, NOW));
	assert_string_equal("http://127.0.0.1:8400/sts/"
			    "contoso.onmicrosoft.com/oauth2/v2.0/token",
		r.url);
	assert_string_equal("client_id=opt-client&scope=" ARM_SCOPE_ENC
			    "&client_secret=env-secret"
			    "&grant_type=client_credentials",
		r.body.ptr);
	cb__token_request_dispose(&r);
	cb_credential_free(c);

	/* And the explicit secret wins too. */
	o.client_secret = "opt-secret";
	assert_int_equal(0, new_cred(&c, &o, env));
	assert_string_equal("client secret from client_secret for client "
			    "opt-client in tenant contoso.onmicrosoft.com",
		cb_credential_describe(c));
	cb_credential_free(c);

	/* Empty strings count as unset, as the Azure SDKs treat them. */
	o.client_secret = "";
	o.tenant_id = "";
	assert_int_equal(0, new_cred(&c, &o, env));
	assert_string_equal("client secret from AZURE_CLIENT_SECRET for "
			    "client opt-client in tenant env-tenant",
		cb_credential_describe(c));
	cb_credential_free(c);

	/* IGNORE_ENV: nothing from the environment, so managed identity. */
	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.flags = CB_CREDENTIAL_IGNORE_ENV;
	assert_int_equal(0, new_cred(&c, &o, env));
	assert_int_equal(
		CB_CREDENTIAL_MANAGED_IDENTITY, cb_credential_kind_of(c));
	cb_credential_free(c);
}

static void
test_credential_clouds_and_endpoints(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	cb_credential *c = NULL;
	struct cb__token_request r;

	(void)state;
	o.cloud = "usgov";
	assert_int_equal(0, new_cred(&c, &o, env_secret));
	assert_string_equal("https://login.microsoftonline.us/" TENANT
			    "/oauth2/v2.0/token",
		cb__credential_token_url(c));
	assert_string_equal("https://management.usgovcloudapi.net/.default",
		cb__credential_default_scope(c));
	assert_int_equal(0, cb__credential_token_request(&r, c, NULL, NOW));
	assert_string_equal("client_id=" CLIENT "&scope=https%3A%2F%2F"
			    "management.usgovcloudapi.net%2F.default"
			    "&client_secret=a%2Bb%2Fc%3Dd%26e~f+g%25"
			    "&grant_type=client_credentials",
		r.body.ptr);
	cb__token_request_dispose(&r);
	cb_credential_free(c);

	o.cloud = "china";
	assert_int_equal(0, new_cred(&c, &o, env_secret));
	assert_string_equal("https://login.partner.microsoftonline.cn/" TENANT
			    "/oauth2/v2.0/token",
		cb__credential_token_url(c));
	assert_string_equal("https://management.chinacloudapi.cn",
		cb_credential_management_endpoint(c));
	cb_credential_free(c);

	/* Every host overridable: armsim on loopback. */
	o.cloud = "public";
	o.authority_host = "http://127.0.0.1:9/_armsim/plan/a/";
	o.management_endpoint = "http://127.0.0.1:9/_armsim/plan/a/";
	assert_int_equal(0, new_cred(&c, &o, env_secret));
	assert_string_equal("http://127.0.0.1:9/_armsim/plan/a",
		cb_credential_management_endpoint(c));
	assert_string_equal("http://127.0.0.1:9/_armsim/plan/a/.default",
		cb__credential_default_scope(c));
	assert_string_equal("http://127.0.0.1:9/_armsim/plan/a/" TENANT
			    "/oauth2/v2.0/token",
		cb__credential_token_url(c));
	cb_credential_free(c);

	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.cloud = "mars";
	resolve_fails(&o, env_secret, CB_ENOTFOUND,
		"unknown cloud 'mars' (public, china, usgov)");
	o.cloud = NULL;
	o.management_endpoint = "http://management.example.com";
	resolve_fails(&o, env_secret, CB_ECONFIG,
		"management_endpoint 'http://management.example.com' must "
		"use https (plain http only to a loopback host)");
	{
		const char *const env[] = { "AZURE_TENANT_ID", TENANT,
			"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_SECRET", "s",
			"AZURE_AUTHORITY_HOST", "http://login.evil.example",
			NULL };

		resolve_fails(NULL, env, CB_ECONFIG,
			"authority host from AZURE_AUTHORITY_HOST "
			"'http://login.evil.example' must use https (plain "
			"http only to a loopback host)");
	}
}

static void
test_credential_auto_precedence(void **state)
{
	cb_credential *c = NULL;
	const char *const env_both[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_SECRET", "s",
		"AZURE_CLIENT_CERTIFICATE_PATH", certs.combined,
		"AZURE_ACCESS_TOKEN", "tok", NULL };
	const char *const env_cert[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_CERTIFICATE_PATH",
		certs.combined, "AZURE_ACCESS_TOKEN", "tok", NULL };
	const char *const env_token[] = { "AZURE_ACCESS_TOKEN", "tok",
		"AZURE_CLIENT_ID", CLIENT, NULL };
	const char *const env_none[] = { NULL };
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	char want[1024];

	(void)state;
	assert_int_equal(0, new_cred(&c, NULL, env_both));
	assert_int_equal(CB_CREDENTIAL_SECRET, cb_credential_kind_of(c));
	cb_credential_free(c);

	assert_int_equal(0, new_cred(&c, NULL, env_cert));
	assert_int_equal(CB_CREDENTIAL_CERTIFICATE, cb_credential_kind_of(c));
	snprintf(want, sizeof(want),
		"client certificate %s (PS256) from "
		"AZURE_CLIENT_CERTIFICATE_PATH for client " CLIENT
		" in tenant " TENANT,
		certs.combined);
	assert_string_equal(want, cb_credential_describe(c));
	cb_credential_free(c);

	assert_int_equal(0, new_cred(&c, NULL, env_token));
	assert_int_equal(CB_CREDENTIAL_STATIC_TOKEN, cb_credential_kind_of(c));
	assert_string_equal("static token from AZURE_ACCESS_TOKEN",
		cb_credential_describe(c));
	cb_credential_free(c);

	assert_int_equal(0, new_cred(&c, NULL, env_none));
	assert_int_equal(
		CB_CREDENTIAL_MANAGED_IDENTITY, cb_credential_kind_of(c));
	assert_string_equal("managed identity (instance metadata service, "
			    "system-assigned)",
		cb_credential_describe(c));
	cb_credential_free(c);

	/* An explicit option beats every variable, whatever its kind. */
	o.access_token = "opt-token";
	assert_int_equal(0, new_cred(&c, &o, env_both));
	assert_int_equal(CB_CREDENTIAL_STATIC_TOKEN, cb_credential_kind_of(c));
	assert_string_equal(
		"static token from access_token", cb_credential_describe(c));
	cb_credential_free(c);
	o.access_token = NULL;
	o.certificate_path = certs.combined;
	o.assertion_alg = CB_ASSERTION_RS256;
	assert_int_equal(0, new_cred(&c, &o, env_both));
	assert_int_equal(CB_CREDENTIAL_CERTIFICATE, cb_credential_kind_of(c));
	snprintf(want, sizeof(want),
		"client certificate %s (RS256) from certificate_path for "
		"client " CLIENT " in tenant " TENANT,
		certs.combined);
	assert_string_equal(want, cb_credential_describe(c));
	cb_credential_free(c);

	/* An explicit kind ignores the others. */
	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.kind = CB_CREDENTIAL_MANAGED_IDENTITY;
	assert_int_equal(0, new_cred(&c, &o, env_both));
	assert_int_equal(
		CB_CREDENTIAL_MANAGED_IDENTITY, cb_credential_kind_of(c));
	assert_string_equal("managed identity (instance metadata service, "
			    "client " CLIENT " from AZURE_CLIENT_ID)",
		cb_credential_describe(c));
	cb_credential_free(c);
}

static void
test_credential_configuration_errors(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_no_tenant[] = { "AZURE_CLIENT_ID", CLIENT,
		"AZURE_CLIENT_SECRET", "s", NULL };
	const char *const env_no_client[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_SECRET", "s", NULL };
	const char *const env_bad_tenant[] = { "AZURE_TENANT_ID", "../x",
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_SECRET", "s", NULL };
	const char *const env_bad_secret[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_SECRET", "s\r\nX: 1",
		NULL };
	const char *const env_none[] = { NULL };

	(void)state;
	resolve_fails(NULL, env_no_tenant, CB_ECONFIG,
		"AZURE_CLIENT_SECRET is set but no tenant is: set tenant_id or "
		"AZURE_TENANT_ID");
	resolve_fails(NULL, env_no_client, CB_ECONFIG,
		"AZURE_CLIENT_SECRET is set but no client id is: set "
		"client_id or AZURE_CLIENT_ID");
	resolve_fails(NULL, env_bad_tenant, CB_ECONFIG,
		"AZURE_TENANT_ID is not a tenant id or domain name (letters, "
		"digits, '.' and '-')");
	/* The message names the source, never the value. */
	resolve_fails(NULL, env_bad_secret, CB_ECONFIG,
		"AZURE_CLIENT_SECRET is not a client secret (too long, or "
		"holds a line break)");

	o.client_secret = "s";
	o.certificate_path = "/x.pem";
	resolve_fails(&o, env_none, CB_ECONFIG,
		"both client_secret and certificate_path are set: choose one "
		"credential");
	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.access_token = "t";
	o.token_file = "/t";
	resolve_fails(&o, env_none, CB_ECONFIG,
		"both access_token and token_file are set: choose one "
		"credential");

	/* An app in the configuration without its secret is a mistake. */
	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.client_id = CLIENT;
	resolve_fails(&o, env_none, CB_ECONFIG,
		"client_id is set but no client secret or certificate is "
		"(client_secret, certificate_path, AZURE_CLIENT_SECRET or "
		"AZURE_CLIENT_CERTIFICATE_PATH)");

	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.kind = CB_CREDENTIAL_SECRET;
	resolve_fails(&o, env_none, CB_ECONFIG,
		"no client secret: set client_secret or AZURE_CLIENT_SECRET");
	o.kind = CB_CREDENTIAL_CERTIFICATE;
	resolve_fails(&o, env_none, CB_ECONFIG,
		"no client certificate: set certificate_path or "
		"AZURE_CLIENT_CERTIFICATE_PATH");
	o.kind = CB_CREDENTIAL_STATIC_TOKEN;
	resolve_fails(&o, env_none, CB_ECONFIG,
		"no static token: set access_token, token_file or "
		"AZURE_ACCESS_TOKEN");
	o.kind = 42;
	resolve_fails(&o, env_none, CB_EINVAL, "unknown credential kind 42");
	o.kind = CB_CREDENTIAL_CERTIFICATE;
	o.certificate_path = certs.combined;
	o.tenant_id = TENANT;
	o.client_id = CLIENT;
	o.assertion_alg = 3;
	resolve_fails(&o, env_none, CB_ECONFIG,
		"unknown assertion algorithm 3 (PS256 or RS256)");

	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.version = 2;
	resolve_fails(&o, env_none, CB_EINVAL,
		"cb_credential_options.version is 2, expected 1");
	assert_int_equal(
		CB_EINVAL, cb__credential_new_env(NULL, NULL, table_env,
				   (void *)(uintptr_t)env_none));
}

static void
test_credential_certificate_request_verifies(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, NULL };
	cb_credential *c = NULL;
	struct cb__token_request r;
	char header[512], claims[1024], want[1024];
	const char *prefix = "client_id=" CLIENT "&scope=" ARM_SCOPE_ENC
			     "&client_assertion_type=" ASSERTION_TYPE_ENC
			     "&client_assertion=";
	const char *suffix = "&grant_type=client_credentials";
	const char *jws, *jti;
	size_t jws_len;

	(void)state;
	for (int alg = CB_ASSERTION_PS256; alg <= CB_ASSERTION_RS256; alg++) {
		o.certificate_path = certs.cert;
		o.certificate_key_path = certs.key;
		o.assertion_alg = alg;
		assert_int_equal(0, new_cred(&c, &o, env));
		assert_int_equal(
			0, cb__credential_token_request(&r, c, NULL, NOW));
		assert_int_equal(CB__TOKEN_POST, r.method);
		assert_string_equal(TOKEN_URL, r.url);
		assert_null(r.header);
		assert_int_equal(
			0, strncmp(prefix, r.body.ptr, strlen(prefix)));
		assert_true(r.body.size > strlen(prefix) + strlen(suffix));
		assert_string_equal(
			suffix, r.body.ptr + r.body.size - strlen(suffix));
		jws = r.body.ptr + strlen(prefix);
		jws_len = r.body.size - strlen(prefix) - strlen(suffix);
		/* The assertion needs no form escaping: url-safe alphabet. */
		assert_int_equal(
			jws_len, strspn(jws, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "abcdefghijklmnopqrstuvwxyz"
					     "0123456789-_."));
		assert_true(cb_test_jws_verify(jws, jws_len, certs.cert, header,
			sizeof(header), claims, sizeof(claims)));
		if (alg == CB_ASSERTION_PS256)
			assert_non_null(strstr(header, "\"x5t#S256\":"));
		else
			assert_non_null(strstr(header, "\"x5t\":"));
		jti = strstr(claims, "\"jti\":\"");
		assert_non_null(jti);
		snprintf(want, sizeof(want),
			"{\"aud\":\"" TOKEN_URL "\",\"iss\":\"" CLIENT
			"\",\"sub\":\"" CLIENT "\",\"jti\":\"%.36s\","
			"\"nbf\":%d,\"iat\":%d,\"exp\":%d}",
			jti + 7, NOW, NOW, NOW + 600);
		assert_string_equal(want, claims);
		cb__token_request_dispose(&r);
		cb_credential_free(c);
		c = NULL;
	}
}

static void
test_credential_managed_identity_requests(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_none[] = { NULL };
	const char *const env_user[] = { "AZURE_CLIENT_ID", CLIENT, NULL };
	const char *const env_app[] = { "IDENTITY_ENDPOINT",
		"http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER",
		"853b9a84-5bfa-4b22-a3f3-0b9a43d9ad8a", NULL };
	cb_credential *c = NULL;
	struct cb__token_request r;

	(void)state;
	assert_int_equal(0, new_cred(&c, NULL, env_none));
	assert_int_equal(0, cb__credential_token_request(&r, c, NULL, NOW));
	assert_int_equal(CB__TOKEN_GET, r.method);
	assert_string_equal("http://169.254.169.254/metadata/identity/oauth2/"
			    "token?api-version=2018-02-01&resource=https%3A%2F"
			    "%2Fmanagement.azure.com%2F",
		r.url);
	assert_string_equal("http://169.254.169.254/metadata/identity/oauth2/"
			    "token",
		r.endpoint);
	assert_string_equal("Metadata: true", r.header);
	assert_null(r.body.ptr);
	cb__token_request_dispose(&r);
	cb_credential_free(c);

	/* User-assigned through AZURE_CLIENT_ID, endpoint overridden. */
	o.imds_endpoint = "http://127.0.0.1:5000/token/";
	assert_int_equal(0, new_cred(&c, &o, env_user));
	assert_int_equal(0, cb__credential_token_request(
				    &r, c, "https://vault.azure.net", NOW));
	assert_string_equal("http://127.0.0.1:5000/token?api-version="
			    "2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
			    "&client_id=" CLIENT,
		r.url);
	cb__token_request_dispose(&r);
	cb_credential_free(c);

	/* App Service: its own endpoint, api-version and header. */
	assert_int_equal(0, new_cred(&c, NULL, env_app));
	assert_string_equal("managed identity (app service, system-assigned)",
		cb_credential_describe(c));
	assert_int_equal(0, cb__credential_token_request(&r, c, NULL, NOW));
	assert_int_equal(CB__TOKEN_GET, r.method);
	assert_string_equal("http://127.0.0.1:41741/msi/token?api-version="
			    "2019-08-01&resource=https%3A%2F%2Fmanagement."
			    "azure.com%2F",
		r.url);
	assert_string_equal("http://127.0.0.1:41741/msi/token", r.endpoint);
	assert_string_equal(
		"X-IDENTITY-HEADER: 853b9a84-5bfa-4b22-a3f3-0b9a43d9ad8a",
		r.header);
	cb__token_request_dispose(&r);
	cb_credential_free(c);

	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.managed_identity_client_id = "mi-client";
	assert_int_equal(0, new_cred(&c, &o, env_app));
	assert_string_equal("managed identity (app service, client mi-client "
			    "from managed_identity_client_id)",
		cb_credential_describe(c));
	assert_int_equal(0, cb__credential_token_request(&r, c, NULL, NOW));
	assert_string_equal("http://127.0.0.1:41741/msi/token?api-version="
			    "2019-08-01&resource=https%3A%2F%2Fmanagement."
			    "azure.com%2F&client_id=mi-client",
		r.url);
	cb__token_request_dispose(&r);
	cb_credential_free(c);
}

static void
test_credential_managed_identity_refusals(void **state)
{
	const char *const env_no_header[] = { "IDENTITY_ENDPOINT",
		"http://127.0.0.1:1/t", NULL };
	const char *const env_crlf[] = { "IDENTITY_ENDPOINT",
		"http://127.0.0.1:1/t", "IDENTITY_HEADER", "a\r\nX-Evil: 1",
		NULL };
	const char *const env_remote[] = { "IDENTITY_ENDPOINT",
		"http://10.0.0.1/t", "IDENTITY_HEADER", "h", NULL };
	const char *const env_bad_id[] = { "AZURE_CLIENT_ID", "a b", NULL };
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;

	(void)state;
	resolve_fails(NULL, env_no_header, CB_ECONFIG,
		"IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not");
	resolve_fails(NULL, env_crlf, CB_ECONFIG,
		"IDENTITY_HEADER must be 1 to 256 printable characters "
		"without blanks");
	resolve_fails(NULL, env_remote, CB_ECONFIG,
		"IDENTITY_ENDPOINT 'http://10.0.0.1/t' must use https (plain "
		"http only to a loopback host)");
	resolve_fails(NULL, env_bad_id, CB_ECONFIG,
		"AZURE_CLIENT_ID must be 1 to 256 printable characters "
		"without blanks");
	o.imds_endpoint = "http://169.254.169.254.nip.io/";
	resolve_fails(&o, NULL, CB_ECONFIG,
		"imds_endpoint 'http://169.254.169.254.nip.io/' must use "
		"https (plain http only to a loopback host)");
}

static void
test_credential_static_tokens(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_bad[] = { "AZURE_ACCESS_TOKEN", "ey\r\nX: 1",
		NULL };
	char path[CB_TEST_PATH_MAX + 16], want[2048];
	cb_credential *c = NULL;
	struct cb__token_request r;
	FILE *f;

	(void)state;
	resolve_fails(NULL, env_bad, CB_ECONFIG,
		"AZURE_ACCESS_TOKEN is not a token (1 to 32768 printable "
		"characters without blanks)");

	o.access_token = "eyJ.a.b";
	assert_int_equal(0, new_cred(&c, &o, NULL));
	assert_int_equal(
		CB_EINVAL, cb__credential_token_request(&r, c, NULL, NOW));
	assert_error(
		CB_EINVAL, "a static-token credential sends no token request");
	assert_null(cb__credential_token_url(c));
	cb_credential_free(c);

	snprintf(path, sizeof(path), "%s/token", certs.dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("eyJ.a.b\n", f);
	fclose(f);
	assert_int_equal(0, chmod(path, 0644));
	o = (cb_credential_options)CB_CREDENTIAL_OPTIONS_INIT;
	o.token_file = path;
	snprintf(want, sizeof(want),
		"token file %s: readable by group or others (mode 0644); "
		"make it private: chmod 600 %s",
		path, path);
	resolve_fails(&o, NULL, CB_ESECURITY, want);
	assert_int_equal(0, chmod(path, 0600));
	assert_int_equal(0, new_cred(&c, &o, NULL));
	snprintf(want, sizeof(want), "static token from file %s", path);
	assert_string_equal(want, cb_credential_describe(c));
	cb_credential_free(c);
	unlink(path);
}

static void
test_credential_accessors_and_free_tolerate_null(void **state)
{
	(void)state;
	cb_credential_free(NULL);
	assert_int_equal(CB_CREDENTIAL_AUTO, cb_credential_kind_of(NULL));
	assert_string_equal("", cb_credential_describe(NULL));
	assert_string_equal("", cb_credential_management_endpoint(NULL));
	assert_string_equal("secret", cb_credential_kind_name(1));
	assert_string_equal("certificate", cb_credential_kind_name(2));
	assert_string_equal("managed-identity", cb_credential_kind_name(3));
	assert_string_equal("static-token", cb_credential_kind_name(4));
	assert_string_equal("auto", cb_credential_kind_name(0));
	assert_string_equal("unknown", cb_credential_kind_name(9));
}

/* Build a credential from env and one request; every step may fail. */
static int
build_and_request(const cb_credential_options *o, const char *const *env)
{
	cb_credential *c = NULL;
	struct cb__token_request r;
	int error;

	if ((error = new_cred(&c, o, env)) < 0)
		return error;
	error = cb__credential_token_request(&r, c, NULL, NOW);
	if (error == 0)
		cb__token_request_dispose(&r);
	cb_credential_free(c);
	return error;
}

static void
oom_walk(const cb_credential_options *o, const char *const *env)
{
	unsigned long n;
	int error;

	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = build_and_request(o, env);
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
	}
	assert_true(n > 5);
}

static void
test_credential_survives_oom(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_cert[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_CERTIFICATE_PATH",
		certs.combined, NULL };
	const char *const env_app[] = { "IDENTITY_ENDPOINT",
		"http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER", "h",
		"AZURE_CLIENT_ID", CLIENT, NULL };

	(void)state;
	oom_walk(NULL, env_secret);
	oom_walk(NULL, env_cert);
	oom_walk(NULL, env_app);
	o.imds_endpoint = "http://127.0.0.1:1/t";
	oom_walk(&o, env_app);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credential_form_encoding),
		cmocka_unit_test(test_credential_secret_request_is_exact),
		cmocka_unit_test(test_credential_options_beat_environment),
		cmocka_unit_test(test_credential_clouds_and_endpoints),
		cmocka_unit_test(test_credential_auto_precedence),
		cmocka_unit_test(test_credential_configuration_errors),
		cmocka_unit_test(test_credential_certificate_request_verifies),
		cmocka_unit_test(test_credential_managed_identity_requests),
		cmocka_unit_test(test_credential_managed_identity_refusals),
		cmocka_unit_test(test_credential_static_tokens),
		cmocka_unit_test(
			test_credential_accessors_and_free_tolerate_null),
		cmocka_unit_test(test_credential_survives_oom),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
