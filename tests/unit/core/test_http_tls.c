/*
 * tests/unit/core/test_http_tls.c - TLS verification is always on: a
 * server signed by a throwaway CA (made with the openssl command at test
 * time) is trusted through ca_file, refused without it, and ca_file adds
 * to the system store instead of replacing it.
 */
#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/core/test_http_helpers.h"

static char dir[64];
static cb_test_tls_files tls_a, tls_b;
static cb_test_httpd *srv_a, *srv_b;

static int
group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cb-http-tls-XXXXXX");
	if (cb_init() < 0 || mkdtemp(dir) == NULL ||
		cb_test_make_tls(&tls_a, dir, "a") < 0 ||
		cb_test_make_tls(&tls_b, dir, "b") < 0 ||
		cb_test_httpd_start(&srv_a, &tls_a) < 0 ||
		cb_test_httpd_start(&srv_b, &tls_b) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	cb_test_httpd_stop(srv_a);
	cb_test_httpd_stop(srv_b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	cb_shutdown();
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	cb_test_httpd_clear(srv_a);
	cb_test_httpd_clear(srv_b);
	return 0;
}

static cb_http *
tls_client(const char *system_ca, const char *extra_ca)
{
	cb_http_options o = fast_options();

	o.ca_system_file = system_ca;
	o.ca_file = extra_ca;
	return new_client(&o);
}

static void
test_http_tls_verified_with_ca_file(void **state)
{
	cb_http *h = tls_client(NULL, tls_a.ca);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	char url[128];

	(void)state;
	cb_test_httpd_reply(srv_a, "/t", 200, NULL, "secure");
	assert_ok(do_get(h, url_of(srv_a, "/t"), &resp));
	assert_int_equal(200, resp.status);
	assert_string_equal("secure", resp.body.ptr);
	cb__http_response_dispose(&resp);
	/* the name is checked too: the certificate names localhost */
	snprintf(url, sizeof(url), "https://localhost:%d/t",
		cb_test_httpd_port(srv_a));
	cb_test_httpd_reply(srv_a, "/t", 200, NULL, "by name");
	assert_ok(do_get(h, url, &resp));
	assert_string_equal("by name", resp.body.ptr);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_tls_refused_without_the_ca(void **state)
{
	cb_http *h = tls_client(NULL, NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	char want[512];

	(void)state;
	cb_test_httpd_reply(srv_a, "/t", 200, NULL, "secure");
	assert_code(CB_ESECURITY, do_get(h, url_of(srv_a, "/t?sig=x"), &resp));
	snprintf(want, sizeof(want),
		"^GET https://127\\.0\\.0\\.1:%d/t: tls verification failed: "
		"SSL certificate problem: (unable to get local issuer "
		"certificate|self-signed certificate in certificate chain)$",
		cb_test_httpd_port(srv_a));
	assert_message_matches(want);
	/* never retried, and no request reached the application */
	assert_int_equal(1, resp.attempts);
	assert_int_equal(0, cb_test_httpd_count(srv_a));
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_tls_ca_file_adds_to_the_system_store(void **state)
{
	cb_http *both = tls_client(tls_a.ca, tls_b.ca);
	cb_http *system_only = tls_client(tls_a.ca, NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;

	(void)state;
	/* A stands in for the system store, B is the extra CA: both hold */
	cb_test_httpd_reply(srv_a, "/t", 200, NULL, "a");
	cb_test_httpd_reply(srv_b, "/t", 200, NULL, "b");
	assert_ok(do_get(both, url_of(srv_a, "/t"), &resp));
	assert_string_equal("a", resp.body.ptr);
	cb__http_response_dispose(&resp);
	assert_ok(do_get(both, url_of(srv_b, "/t"), &resp));
	assert_string_equal("b", resp.body.ptr);
	cb__http_response_dispose(&resp);
	/* and without the extra CA, B is refused */
	cb_test_httpd_reply(srv_a, "/t", 200, NULL, "a");
	assert_ok(do_get(system_only, url_of(srv_a, "/t"), &resp));
	cb__http_response_dispose(&resp);
	assert_code(
		CB_ESECURITY, do_get(system_only, url_of(srv_b, "/t"), &resp));
	cb__http_response_dispose(&resp);
	cb__http_free(both);
	cb__http_free(system_only);
}

static void
test_http_tls_bad_ca_files(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h = NULL;
	char want[512];
	unsigned long n;
	int error;

	(void)state;
	o.ca_file = "/nonexistent/ca.pem";
	assert_code(CB_EIO, cb__http_new(&h, &o));
	assert_string_equal("cannot read CA file '/nonexistent/ca.pem': No "
			    "such file or directory",
		cb_error_last()->message);
	assert_null(h);
	o.ca_file = tls_a.key;
	assert_code(CB_EINVAL, cb__http_new(&h, &o));
	snprintf(want, sizeof(want), "CA file '%s' holds no PEM certificate",
		tls_a.key);
	assert_string_equal(want, cb_error_last()->message);
	o.ca_file = NULL;
	o.ca_system_file = "/nonexistent/bundle.crt";
	assert_code(CB_EIO, cb__http_new(&h, &o));
	o.ca_file = dir; /* a directory */
	o.ca_system_file = NULL;
	assert_code(CB_EIO, cb__http_new(&h, &o));
	assert_null(h);

	/* OOM walk over loading both files */
	o.ca_file = tls_b.ca;
	o.ca_system_file = tls_a.ca;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__http_new(&h, &o);
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_null(h);
	}
	assert_true(n > 2);
	cb__http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_http_tls_verified_with_ca_file, setup),
		cmocka_unit_test_setup(
			test_http_tls_refused_without_the_ca, setup),
		cmocka_unit_test_setup(
			test_http_tls_ca_file_adds_to_the_system_store, setup),
		cmocka_unit_test_setup(test_http_tls_bad_ca_files, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
