/*
 * tests/unit/core/test_auth_credential.c - choosing a credential from
 * options and environment, the exact token requests it builds, and getting
 * tokens from a real local server (tests/support/httpd): what the server
 * receives for each flow, caching and refresh on an injected clock,
 * threads sharing one refresh, static tokens, and error shapes.
 */
#include "core/common.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/http.h"
#include "tests/support/httpd.h"
#include "tests/support/testcert.h"

#include <pthread.h>
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
static cb_test_httpd *srv;

static int
group_setup(void **state)
{
	(void)state;
	cb_test_certs_make(&certs);
	if (cb_init() < 0 || cb_test_httpd_start(&srv, NULL) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	cb_test_httpd_stop(srv);
	cb_shutdown();
	cb_test_certs_remove(&certs);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	cb_test_httpd_clear(srv);
	cb_error_clear();
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

/* ---- getting tokens from a real local server ----------------------- */

#define ASSERT_OK(expr)                                                   \
	do {                                                              \
		int rc_ = (expr);                                         \
		if (rc_ != 0)                                             \
			fail_msg("%s: %s: %s", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                \
	} while (0)

static int64_t
test_clock(void *payload)
{
	return *(const int64_t *)payload;
}

/* A client with fast retries, so failure tests stay quick. */
static cb_http *
client(unsigned attempts)
{
	cb_http_options o = CB_HTTP_OPTIONS_INIT;
	cb_http *h = NULL;

	o.max_attempts = attempts;
	o.backoff_base_ms = 10;
	o.backoff_max_ms = 20;
	o.connect_timeout_ms = 2000;
	o.deadline_ms = 10000;
	o.rng_seed = 7;
	ASSERT_OK(cb__http_new(&h, &o));
	return h;
}

static const char *
srv_url(const char *path)
{
	static char ring[4][256];
	static unsigned next;
	char *buf = ring[next++ % 4];

	return cb_test_httpd_url(srv, buf, sizeof(ring[0]), path);
}

static void
reply_json(const char *route, int status, const char *body)
{
	cb_test_httpd_reply(srv, route, status,
		"Content-Type: application/json; charset=utf-8", body);
}

#define ENTRA_OK(token)                                                      \
	"{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":" \
	"3599,\"access_token\":\"" token "\"}"
#define TOKEN_PATH "/" TENANT "/oauth2/v2.0/token"

/* A credential whose Entra host is the test server. */
static cb_credential *
local_cred(cb_credential_options *o, const char *const *env, int64_t *now)
{
	cb_credential *c = NULL;

	o->authority_host = srv_url("/");
	ASSERT_OK(new_cred(&c, o, env));
	cb__credential_set_clock(c, test_clock, now);
	return c;
}

static void
get_ok(cb_credential *c, cb_http *h, const char *want, int64_t want_exp)
{
	cb_buf t = CB_BUF_INIT;
	int64_t exp = 0;

	ASSERT_OK(cb__credential_get_token(c, h, NULL, &t, &exp));
	assert_string_equal(want, t.ptr);
	assert_int_equal(want_exp, exp);
	cb__auth_buf_wipe(&t);
}

static void
test_credential_get_token_secret_flow_and_cache(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	int64_t now = NOW;
	cb_http *h = client(1);
	cb_credential *c = local_cred(&o, env_secret, &now);
	const cb_test_request *r;

	(void)state;
	reply_json(TOKEN_PATH, 200, ENTRA_OK("tok-1"));
	get_ok(c, h, "tok-1", NOW + 3599);
	assert_int_equal(1, cb_test_httpd_count(srv));
	r = cb_test_httpd_request(srv, 0);
	assert_string_equal("POST", r->method);
	assert_string_equal(TOKEN_PATH, r->target);
	assert_string_equal("application/x-www-form-urlencoded",
		cb_test_request_header(r, "Content-Type"));
	assert_string_equal(
		"application/json", cb_test_request_header(r, "Accept"));
	assert_null(cb_test_request_header(r, "Authorization"));
	assert_string_equal("client_id=" CLIENT "&scope=" ARM_SCOPE_ENC
			    "&client_secret=a%2Bb%2Fc%3Dd%26e~f+g%25"
			    "&grant_type=client_credentials",
		r->body);

	/* Cached until five minutes before expiry: one request for two. */
	now = NOW + 3599 - 301;
	get_ok(c, h, "tok-1", NOW + 3599);
	assert_int_equal(1, cb_test_httpd_count(srv));
	/* Then refreshed, on the injected clock. */
	now = NOW + 3599 - 300;
	reply_json(TOKEN_PATH, 200,
		"{\"token_type\":\"Bearer\",\"expires_in\":600,"
		"\"access_token\":\"tok-2\"}");
	get_ok(c, h, "tok-2", now + 600);
	assert_int_equal(2, cb_test_httpd_count(srv));
	/* A token given for less than the margin is used once, then
	 * refreshed at the next call. */
	now += 301;
	reply_json(TOKEN_PATH, 200, ENTRA_OK("tok-3"));
	get_ok(c, h, "tok-3", now + 3599);
	assert_int_equal(3, cb_test_httpd_count(srv));
	/* Invalidation forgets it. */
	cb__credential_invalidate(c);
	reply_json(TOKEN_PATH, 200, ENTRA_OK("tok-4"));
	get_ok(c, h, "tok-4", now + 3599);
	assert_int_equal(4, cb_test_httpd_count(srv));
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	assert_int_equal(0, cb_test_httpd_pending(srv));
	cb_credential_free(c);
	cb__http_free(h);
}

static void
test_credential_get_token_certificate_flow(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_CERTIFICATE_PATH",
		certs.combined, NULL };
	const char *prefix = "client_id=" CLIENT "&scope=" ARM_SCOPE_ENC
			     "&client_assertion_type=" ASSERTION_TYPE_ENC
			     "&client_assertion=";
	const char *suffix = "&grant_type=client_credentials";
	char header[512], claims[1024], want[1024];
	int64_t now = NOW;
	cb_http *h = client(1);
	cb_credential *c = local_cred(&o, env, &now);
	const cb_test_request *r;
	const char *jws, *jti;
	size_t jws_len;

	(void)state;
	reply_json(TOKEN_PATH, 200, ENTRA_OK("cert-tok"));
	get_ok(c, h, "cert-tok", NOW + 3599);
	assert_int_equal(1, cb_test_httpd_count(srv));
	r = cb_test_httpd_request(srv, 0);
	assert_string_equal("POST", r->method);
	assert_string_equal(TOKEN_PATH, r->target);
	assert_int_equal(0, strncmp(prefix, r->body, strlen(prefix)));
	assert_string_equal(suffix, r->body + r->body_len - strlen(suffix));
	jws = r->body + strlen(prefix);
	jws_len = r->body_len - strlen(prefix) - strlen(suffix);
	/* What the server got verifies against the certificate. */
	assert_true(cb_test_jws_verify(jws, jws_len, certs.cert, header,
		sizeof(header), claims, sizeof(claims)));
	assert_non_null(strstr(header, "\"alg\":\"PS256\""));
	jti = strstr(claims, "\"jti\":\"");
	assert_non_null(jti);
	snprintf(want, sizeof(want),
		"{\"aud\":\"%s\",\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT
		"\",\"jti\":\"%.36s\",\"nbf\":%d,\"iat\":%d,\"exp\":%d}",
		srv_url(TOKEN_PATH), jti + 7, NOW, NOW, NOW + 600);
	assert_string_equal(want, claims);
	cb_credential_free(c);
	cb__http_free(h);
}

static void
test_credential_get_token_managed_identity_shapes(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_user[] = { "AZURE_CLIENT_ID", CLIENT, NULL };
	char ep[256], expires_on[32];
	const char *env_app[] = { "IDENTITY_ENDPOINT", ep, "IDENTITY_HEADER",
		"853b9a84-5bfa-4b22-a3f3-0b9a43d9ad8a", NULL };
	int64_t now = NOW;
	cb_http *h = client(1);
	cb_credential *c = NULL;
	const cb_test_request *r;
	char body[512];

	(void)state;
	/* IMDS: GET, resource= (v1, trailing slash), Metadata: true, and
	 * every number a string. */
	o.imds_endpoint = srv_url("/metadata/identity/oauth2/token");
	ASSERT_OK(new_cred(&c, &o, env_user));
	cb__credential_set_clock(c, test_clock, &now);
	reply_json("/metadata/identity/oauth2/token", 200,
		"{\"access_token\":\"mi-tok\",\"refresh_token\":\"\","
		"\"expires_in\":\"3599\",\"expires_on\":\"1506484173\","
		"\"not_before\":\"1506480273\",\"resource\":"
		"\"https://management.azure.com/\",\"token_type\":\"Bearer\"}");
	get_ok(c, h, "mi-tok", NOW + 3599);
	r = cb_test_httpd_request(srv, 0);
	assert_string_equal("GET", r->method);
	assert_string_equal("/metadata/identity/oauth2/token?api-version="
			    "2018-02-01&resource=https%3A%2F%2Fmanagement."
			    "azure.com%2F&client_id=" CLIENT,
		r->target);
	assert_string_equal("true", cb_test_request_header(r, "Metadata"));
	assert_int_equal(0, r->body_len);
	cb_credential_free(c);

	/* App Service: its endpoint, api-version and header; expires_on. */
	snprintf(ep, sizeof(ep), "%s", srv_url("/msi/token"));
	snprintf(expires_on, sizeof(expires_on), "%d", NOW + 3600);
	snprintf(body, sizeof(body),
		"{\"access_token\":\"as-tok\",\"expires_on\":\"%s\","
		"\"resource\":\"https://management.azure.com/\","
		"\"token_type\":\"Bearer\",\"client_id\":\"5E29463D\"}",
		expires_on);
	reply_json("/msi/token", 200, body);
	ASSERT_OK(new_cred(&c, NULL, env_app));
	cb__credential_set_clock(c, test_clock, &now);
	get_ok(c, h, "as-tok", NOW + 3600);
	r = cb_test_httpd_request(srv, 1);
	assert_string_equal("GET", r->method);
	assert_string_equal("/msi/token?api-version=2019-08-01&resource="
			    "https%3A%2F%2Fmanagement.azure.com%2F",
		r->target);
	assert_string_equal("853b9a84-5bfa-4b22-a3f3-0b9a43d9ad8a",
		cb_test_request_header(r, "X-IDENTITY-HEADER"));
	assert_null(cb_test_request_header(r, "Metadata"));
	assert_int_equal(2, cb_test_httpd_count(srv));
	cb_credential_free(c);
	cb__http_free(h);
}

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(0, chmod(path, (mode_t)mode));
}

static void
test_credential_get_token_static(void **state)
{
	const char *const env[] = { "AZURE_ACCESS_TOKEN", "opaque-token",
		NULL };
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	char path[CB_TEST_PATH_MAX + 16], want[1024];
	const char *claims = "{\"exp\":1767225600}";
	cb_buf jwt = CB_BUF_INIT, t = CB_BUF_INIT;
	const char *env_jwt[] = { "AZURE_ACCESS_TOKEN", NULL, NULL };
	int64_t now = NOW, exp = 0;
	cb_credential *c = NULL;

	(void)state;
	/* No client needed, nothing sent. */
	ASSERT_OK(new_cred(&c, NULL, env));
	ASSERT_OK(cb__credential_get_token(c, NULL, NULL, &t, &exp));
	assert_string_equal("opaque-token", t.ptr);
	assert_int_equal(INT64_MAX, exp);
	cb_credential_free(c);

	/* A JWT's exp is its expiry; past it, a clear error. */
	assert_int_equal(0, cb__buf_puts(&jwt, "eyJhbGciOiJub25lIn0."));
	assert_int_equal(0, cb__auth_base64url(&jwt, claims, strlen(claims)));
	assert_int_equal(0, cb__buf_puts(&jwt, ".c2ln"));
	env_jwt[1] = jwt.ptr;
	ASSERT_OK(new_cred(&c, NULL, env_jwt));
	now = NOW - 1;
	cb__credential_set_clock(c, test_clock, &now);
	ASSERT_OK(cb__credential_get_token(c, NULL, NULL, &t, &exp));
	assert_string_equal(jwt.ptr, t.ptr);
	assert_int_equal(NOW, exp);
	now = NOW;
	assert_int_equal(
		CB_EAUTH, cb__credential_get_token(c, NULL, NULL, &t, &exp));
	assert_error(CB_EAUTH, "static token from AZURE_ACCESS_TOKEN expired "
			       "at 2026-01-01T00:00:00Z");
	cb_credential_free(c);

	/* A file is read again at every call: rotation is picked up. */
	snprintf(path, sizeof(path), "%s/static-token", certs.dir);
	write_file(path, "tok-a\n", 0600);
	o.token_file = path;
	ASSERT_OK(new_cred(&c, &o, NULL));
	ASSERT_OK(cb__credential_get_token(c, NULL, NULL, &t, &exp));
	assert_string_equal("tok-a", t.ptr);
	write_file(path, "tok-b", 0600);
	ASSERT_OK(cb__credential_get_token(c, NULL, NULL, &t, &exp));
	assert_string_equal("tok-b", t.ptr);
	write_file(path, "two words\n", 0600);
	assert_int_equal(
		CB_EAUTH, cb__credential_get_token(c, NULL, NULL, &t, &exp));
	snprintf(want, sizeof(want),
		"token file %s does not hold a token (1 to 32768 printable "
		"characters without blanks)",
		path);
	assert_error(CB_EAUTH, want);
	write_file(path, "tok-c", 0644);
	assert_int_equal(CB_ESECURITY,
		cb__credential_get_token(c, NULL, NULL, &t, &exp));
	cb_credential_free(c);
	unlink(path);
	assert_int_equal(0, cb_test_httpd_count(srv));
	cb__auth_buf_wipe(&t);
	cb_buf_dispose(&jwt);
}

struct token_thread {
	pthread_t thread;
	cb_credential *cred;
	int rc;
	char token[64];
};

static void *
token_thread_run(void *arg)
{
	struct token_thread *t = arg;
	cb_http *h = NULL;
	cb_buf tok = CB_BUF_INIT;

	/* One client per thread: a cb_http is single-threaded. */
	if ((t->rc = cb__http_new(&h, NULL)) == 0)
		t->rc = cb__credential_get_token(t->cred, h, NULL, &tok, NULL);
	snprintf(t->token, sizeof(t->token), "%s", tok.ptr ? tok.ptr : "");
	cb__auth_buf_wipe(&tok);
	cb__http_free(h);
	return NULL;
}

static void
test_credential_get_token_threads_share_one_request(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	struct token_thread t[6];
	cb_test_answer a = { 0 };
	int64_t now = NOW;
	cb_credential *c = local_cred(&o, env_secret, &now);

	(void)state;
	a.body = ENTRA_OK("shared");
	a.headers = "Content-Type: application/json";
	a.delay_ms = 300; /* keep the refresh open while others arrive */
	cb_test_httpd_queue(srv, "POST", TOKEN_PATH, &a);
	for (size_t i = 0; i < CB_ARRAY_SIZE(t); i++) {
		t[i].cred = c;
		assert_int_equal(0, pthread_create(&t[i].thread, NULL,
					    token_thread_run, &t[i]));
	}
	for (size_t i = 0; i < CB_ARRAY_SIZE(t); i++) {
		assert_int_equal(0, pthread_join(t[i].thread, NULL));
		assert_int_equal(0, t[i].rc);
		assert_string_equal("shared", t[i].token);
	}
	assert_int_equal(1, cb_test_httpd_count(srv));
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	cb_credential_free(c);
}

static void
test_credential_get_token_errors(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_cert[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_CERTIFICATE_PATH",
		certs.combined, NULL };
	char want[1024], assertion_part[64];
	int64_t now = NOW;
	cb_http *h = client(1);
	cb_credential *c = local_cred(&o, env_secret, &now);
	const cb_test_request *r;
	cb_buf t = CB_BUF_INIT;
	const char *eq;

	(void)state;
	reply_json(TOKEN_PATH, 401,
		"{\"error\":\"invalid_client\",\"error_description\":"
		"\"AADSTS7000215: Invalid client secret provided. Ensure the "
		"secret being sent in the request is the client secret value, "
		"not the client secret ID.\\r\\nTrace ID: t-1\\r\\nCorrelation "
		"ID: corr-1\\r\\nTimestamp: 2026-01-01 00:00:00Z\","
		"\"error_codes\":[7000215],\"trace_id\":\"t-1\","
		"\"correlation_id\":\"corr-1\"}");
	assert_int_equal(
		CB_EAUTH, cb__credential_get_token(c, h, NULL, &t, NULL));
	snprintf(want, sizeof(want),
		"token request to %s failed: http 401 invalid_client: "
		"AADSTS7000215: Invalid client secret provided. Ensure the "
		"secret being sent in the request is the client secret value, "
		"not the client secret ID.",
		srv_url(TOKEN_PATH));
	assert_error(CB_EAUTH, want);
	assert_int_equal(401, cb_error_last()->http_status);
	assert_string_equal("invalid_client", cb_error_last()->arm_code);
	assert_string_equal("corr-1", cb_error_last()->request_id);
	assert_null(strstr(cb_error_last()->message, "e~f"));
	assert_null(t.ptr);
	/* Failures are not cached: the next call asks again. */
	reply_json(TOKEN_PATH, 200, ENTRA_OK("after"));
	ASSERT_OK(cb__credential_get_token(c, h, NULL, &t, NULL));
	assert_string_equal("after", t.ptr);
	assert_int_equal(2, cb_test_httpd_count(srv));
	cb_credential_free(c);

	/* The certificate flow's assertion never reaches a message. */
	c = local_cred(&o, env_cert, &now);
	reply_json(TOKEN_PATH, 400,
		"{\"error\":\"invalid_client\",\"error_description\":"
		"\"AADSTS700027: Client assertion contains an invalid "
		"signature.\"}");
	assert_int_equal(
		CB_EAUTH, cb__credential_get_token(c, h, NULL, &t, NULL));
	snprintf(want, sizeof(want),
		"token request to %s failed: http 400 invalid_client: "
		"AADSTS700027: Client assertion contains an invalid "
		"signature.",
		srv_url(TOKEN_PATH));
	assert_error(CB_EAUTH, want);
	r = cb_test_httpd_request(srv, 2);
	eq = strstr(r->body, "client_assertion=");
	assert_non_null(eq);
	snprintf(assertion_part, sizeof(assertion_part), "%.40s", eq + 17);
	assert_null(strstr(cb_error_last()->message, assertion_part));
	cb_credential_free(c);

	/* A server error that stays one: the client's code and message. */
	c = local_cred(&o, env_secret, &now);
	reply_json(TOKEN_PATH, 503, "{}");
	assert_int_equal(
		CB_EHTTP, cb__credential_get_token(c, h, NULL, &t, NULL));
	assert_int_equal(503, cb_error_last()->http_status);
	/* An answer that is not a token. */
	reply_json(TOKEN_PATH, 200, "{\"token_type\":\"Bearer\"}");
	assert_int_equal(
		CB_EAUTH, cb__credential_get_token(c, h, NULL, &t, NULL));
	snprintf(want, sizeof(want),
		"token response from %s: access_token: missing",
		srv_url(TOKEN_PATH));
	assert_error(CB_EAUTH, want);
	cb_credential_free(c);
	cb__auth_buf_wipe(&t);
	cb__http_free(h);
}

static void
test_credential_get_token_managed_identity_unreachable(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_none[] = { NULL };
	const char *prefix =
		"no credential is configured (client_secret, "
		"certificate_path, access_token, token_file, "
		"AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or "
		"AZURE_ACCESS_TOKEN) and managed identity is not available: "
		"GET http://127.0.0.1:";
	cb_http *h = client(1);
	cb_credential *c = NULL;
	cb_buf t = CB_BUF_INIT;
	char ep[128];
	int rc;

	(void)state;
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/token",
		cb_test_unused_port());
	o.imds_endpoint = ep;
	/* Chosen because nothing else was: say so. */
	ASSERT_OK(new_cred(&c, &o, env_none));
	assert_int_equal(
		CB_EAUTH, cb__credential_get_token(c, h, NULL, &t, NULL));
	assert_int_equal(
		0, strncmp(prefix, cb_error_last()->message, strlen(prefix)));
	cb_credential_free(c);
	/* Asked for explicitly: the client's own error. */
	o.kind = CB_CREDENTIAL_MANAGED_IDENTITY;
	ASSERT_OK(new_cred(&c, &o, env_none));
	assert_int_equal(
		CB_EHTTP, cb__credential_get_token(c, h, NULL, &t, NULL));
	assert_int_equal(0,
		strncmp("GET http://127.0.0.1:", cb_error_last()->message, 21));
	cb_credential_free(c);

	/* The real metadata address is plain http, and not refused for it
	 * (port 9, discard: nothing answers a token request there). */
	o.imds_endpoint = "http://169.254.169.254:9/metadata/identity/oauth2/"
			  "token";
	ASSERT_OK(new_cred(&c, &o, env_none));
	cb__http_free(h);
	{
		cb_http_options ho = CB_HTTP_OPTIONS_INIT;

		ho.max_attempts = 1;
		ho.connect_timeout_ms = 200;
		ho.timeout_ms = 500;
		ho.deadline_ms = 1000;
		ASSERT_OK(cb__http_new(&h, &ho));
	}
	rc = cb__credential_get_token(c, h, NULL, &t, NULL);
	assert_true(rc != 0 && rc != CB_ESECURITY);
	assert_null(strstr(cb_error_last()->message, "refusing"));
	cb_credential_free(c);
	cb__http_free(h);
	cb__auth_buf_wipe(&t);
}

static void
test_credential_get_token_survives_oom(void **state)
{
	cb_credential_options o = CB_CREDENTIAL_OPTIONS_INIT;
	const char *const env_cert[] = { "AZURE_TENANT_ID", TENANT,
		"AZURE_CLIENT_ID", CLIENT, "AZURE_CLIENT_CERTIFICATE_PATH",
		certs.combined, NULL };
	int64_t now = NOW;
	cb_http *h = client(1);
	cb_credential *c = local_cred(&o, env_cert, &now);
	cb_buf t = CB_BUF_INIT;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb_test_httpd_clear(srv);
		reply_json(TOKEN_PATH, 200, ENTRA_OK("oom-tok"));
		cb__credential_invalidate(c);
		cb__alloc_fail_after(n);
		error = cb__credential_get_token(c, h, NULL, &t, NULL);
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_true(n < 10000);
	}
	assert_true(n > 5);
	assert_string_equal("oom-tok", t.ptr);
	cb__auth_buf_wipe(&t);
	cb_credential_free(c);
	cb__http_free(h);
}

static void
test_credential_get_token_checks_arguments(void **state)
{
	cb_credential *c = NULL;
	cb_buf t = CB_BUF_INIT;

	(void)state;
	ASSERT_OK(new_cred(&c, NULL, env_secret));
	assert_int_equal(
		CB_EINVAL, cb__credential_get_token(c, NULL, NULL, &t, NULL));
	assert_int_equal(CB_EINVAL,
		cb__credential_get_token(NULL, NULL, NULL, &t, NULL));
	assert_int_equal(
		CB_EINVAL, cb__credential_get_token(c, NULL, NULL, NULL, NULL));
	cb__credential_invalidate(NULL);
	cb_credential_free(c);
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
		cmocka_unit_test_setup(
			test_credential_get_token_secret_flow_and_cache, setup),
		cmocka_unit_test_setup(
			test_credential_get_token_certificate_flow, setup),
		cmocka_unit_test_setup(
			test_credential_get_token_managed_identity_shapes,
			setup),
		cmocka_unit_test_setup(test_credential_get_token_static, setup),
		cmocka_unit_test_setup(
			test_credential_get_token_threads_share_one_request,
			setup),
		cmocka_unit_test_setup(test_credential_get_token_errors, setup),
		cmocka_unit_test_setup(
			test_credential_get_token_managed_identity_unreachable,
			setup),
		cmocka_unit_test_setup(
			test_credential_get_token_survives_oom, setup),
		cmocka_unit_test_setup(
			test_credential_get_token_checks_arguments, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
