/*
 * tests/unit/core/test_cloud.c - the national cloud table and the checks
 * every configured endpoint passes.
 */
#include "core/common.h"
#include "core/cloud.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

static void
assert_error(int code, const char *message)
{
	assert_string_equal(
		cb_error_name(code), cb_error_name(cb_error_last()->code));
	assert_string_equal(message, cb_error_last()->message);
}

static void
test_cloud_find_names_and_aliases(void **state)
{
	const cb_cloud *c = NULL;

	(void)state;
	assert_int_equal(0, cb_cloud_find(&c, "public"));
	assert_string_equal("public", c->name);
	assert_string_equal(
		"https://login.microsoftonline.com", c->authority_host);
	assert_string_equal(
		"https://management.azure.com", c->management_endpoint);
	assert_ptr_equal(c, cb__cloud_default());

	assert_int_equal(0, cb_cloud_find(&c, "China"));
	assert_string_equal("china", c->name);
	assert_string_equal(
		"https://login.partner.microsoftonline.cn", c->authority_host);
	assert_string_equal(
		"https://management.chinacloudapi.cn", c->management_endpoint);

	assert_int_equal(0, cb_cloud_find(&c, "usgov"));
	assert_string_equal(
		"https://login.microsoftonline.us", c->authority_host);
	assert_string_equal(
		"https://management.usgovcloudapi.net", c->management_endpoint);

	assert_int_equal(0, cb_cloud_find(&c, "AzureUSGovernment"));
	assert_string_equal("usgov", c->name);
	assert_int_equal(0, cb_cloud_find(&c, "azurechinacloud"));
	assert_string_equal("china", c->name);
	assert_int_equal(0, cb_cloud_find(&c, "AzureCloud"));
	assert_string_equal("public", c->name);

	c = NULL;
	assert_int_equal(CB_ENOTFOUND, cb_cloud_find(&c, "germany"));
	assert_error(
		CB_ENOTFOUND, "unknown cloud 'germany' (public, china, usgov)");
	assert_null(c);
	assert_int_equal(CB_EINVAL, cb_cloud_find(&c, NULL));
	assert_int_equal(CB_EINVAL, cb_cloud_find(NULL, "public"));
}

static void
url_ok(const char *in, unsigned flags, const char *want)
{
	char *out = NULL;

	assert_int_equal(0, cb__cloud_check_url(&out, in, "endpoint", flags));
	assert_string_equal(want, out);
	cb__free(out);
}

static void
url_bad(const char *in, unsigned flags, const char *message)
{
	char *out = NULL;

	assert_int_equal(
		CB_ECONFIG, cb__cloud_check_url(&out, in, "endpoint", flags));
	assert_error(CB_ECONFIG, message);
	assert_null(out);
}

static void
test_cloud_check_url_accepts_and_normalises(void **state)
{
	(void)state;
	url_ok("https://login.microsoftonline.com/", 0,
		"https://login.microsoftonline.com");
	url_ok("HTTPS://Login.Example.com:8443//", 0,
		"HTTPS://Login.Example.com:8443");
	url_ok("https://adfs.contoso.com/adfs", 0,
		"https://adfs.contoso.com/adfs");
	/* armsim: plain http to loopback, with a plan prefix in the path. */
	url_ok("http://127.0.0.1:41234/_armsim/plan/x/", 0,
		"http://127.0.0.1:41234/_armsim/plan/x");
	url_ok("http://localhost:8081/msi/token", 0,
		"http://localhost:8081/msi/token");
	url_ok("http://[::1]:9/", 0, "http://[::1]:9");
	url_ok("http://127.1.2.3", 0, "http://127.1.2.3");
	url_ok("http://169.254.169.254/metadata/identity/oauth2/token",
		CB__URL_ALLOW_IMDS,
		"http://169.254.169.254/metadata/identity/oauth2/token");
}

static void
test_cloud_check_url_refuses(void **state)
{
	char big[CB__CLOUD_URL_MAX + 32];

	(void)state;
	url_bad("", 0, "endpoint is empty");
	url_bad(NULL, 0, "endpoint is empty");
	url_bad("https://h/a b", 0,
		"endpoint contains a blank or control character");
	url_bad("https://h/\r\nX: y", 0,
		"endpoint contains a blank or control character");
	/* Neither a query (a signature?) nor user information is echoed. */
	url_bad("https://h/p?sig=secret", 0,
		"endpoint must not have a query string or fragment");
	url_bad("https://h/p#f", 0,
		"endpoint must not have a query string or fragment");
	url_bad("https://user:pw@h/p", 0,
		"endpoint must not contain user information");
	url_bad("ftp://h", 0, "endpoint 'ftp://h' is not an http(s) URL");
	url_bad("login.microsoftonline.com", 0,
		"endpoint 'login.microsoftonline.com' is not an http(s) URL");
	url_bad("https:///path", 0,
		"endpoint 'https:///path' has no valid host");
	url_bad("https://h:port", 0,
		"endpoint 'https://h:port' has no valid host");
	url_bad("https://h:", 0, "endpoint 'https://h:' has no valid host");
	url_bad("http://login.microsoftonline.com", 0,
		"endpoint 'http://login.microsoftonline.com' must use https "
		"(plain http only to a loopback host)");
	url_bad("http://169.254.169.254/metadata", 0,
		"endpoint 'http://169.254.169.254/metadata' must use https "
		"(plain http only to a loopback host)");
	url_bad("http://127.0.0.1.evil.com", 0,
		"endpoint 'http://127.0.0.1.evil.com' must use https (plain "
		"http only to a loopback host)");
	url_bad("http://localhost.evil.com", CB__URL_ALLOW_IMDS,
		"endpoint 'http://localhost.evil.com' must use https (plain "
		"http only to a loopback host)");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://", 8);
	url_bad(big, 0, "endpoint is longer than 256 bytes");
}

static void
test_cloud_loopback_detection(void **state)
{
	(void)state;
	assert_true(cb__url_is_loopback("http://127.0.0.1:80/x"));
	assert_true(cb__url_is_loopback("https://LOCALHOST/"));
	assert_true(cb__url_is_loopback("http://[::1]:1"));
	assert_false(cb__url_is_loopback("http://128.0.0.1/"));
	assert_false(cb__url_is_loopback("http://127.0.0/"));
	assert_false(cb__url_is_loopback("https://management.azure.com"));
	assert_false(cb__url_is_loopback("localhost"));
	assert_false(cb__url_is_loopback(NULL));
}

static void
test_cloud_scope_to_resource(void **state)
{
	char *r = NULL;

	(void)state;
	assert_int_equal(0, cb__cloud_scope_to_resource(&r,
				    "https://management.azure.com/.default"));
	assert_string_equal("https://management.azure.com/", r);
	cb__free(r);
	assert_int_equal(
		0, cb__cloud_scope_to_resource(&r, "https://vault.azure.net"));
	assert_string_equal("https://vault.azure.net", r);
	cb__free(r);
	assert_int_equal(0, cb__cloud_scope_to_resource(&r, ".default"));
	assert_string_equal(".default", r);
	cb__free(r);
	assert_int_equal(0, cb__cloud_scope_to_resource(&r, "x.default"));
	assert_string_equal("x.default", r);
	cb__free(r);
}

static void
test_cloud_survives_oom(void **state)
{
	char *out = NULL;

	(void)state;
	cb__alloc_fail_after(1);
	assert_int_equal(CB_ENOMEM,
		cb__cloud_check_url(&out, "https://h/", "endpoint", 0));
	assert_null(out);
	cb__alloc_fail_after(1);
	assert_int_equal(CB_ENOMEM, cb__cloud_scope_to_resource(&out, "s"));
	assert_null(out);
	cb__alloc_fail_after(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cloud_find_names_and_aliases),
		cmocka_unit_test(test_cloud_check_url_accepts_and_normalises),
		cmocka_unit_test(test_cloud_check_url_refuses),
		cmocka_unit_test(test_cloud_loopback_detection),
		cmocka_unit_test(test_cloud_scope_to_resource),
		cmocka_unit_test(test_cloud_survives_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
