/*
 * tests/unit/core/test_arm_helpers.h - shared by the test_arm*.c files: an
 * ARM client on the local test server with a static token, a fake clock,
 * and the Azure example files.  Include after <cmocka.h>.
 */
#ifndef CB_TEST_ARM_HELPERS_H
#define CB_TEST_ARM_HELPERS_H

#include "core/common.h"
#include "core/arm.h"
#include "core/buf.h"
#include "core/json.h"
#include "tests/support/testsupport.h"
#include "tests/unit/core/test_http_helpers.h"

#include <stdio.h>
#include <stdlib.h>

#define TEST_TOKEN       "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJhcm0ifQ.c2ln"
#define TEST_AUTH_HEADER "Bearer " TEST_TOKEN

/* What the token provider hands out, and how often it was asked. */
struct test_token {
	const char *token; /* NULL: fail with CB_EAUTH */
	unsigned calls;
	char scope[128]; /* the last scope asked for */
};

static inline int
test_token_fn(cb_buf *out, const char *scope, void *payload)
{
	struct test_token *t = payload;

	t->calls++;
	snprintf(t->scope, sizeof(t->scope), "%s", scope ? scope : "(null)");
	if (t->token == NULL)
		return cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"test provider: no token today");
	return cb__buf_puts(out, t->token);
}

/* A clock that only moves when we "sleep", recording every wait. */
struct fake_clock {
	int64_t now;
	long slept[64];
	unsigned sleeps;
};

static inline int64_t
fake_clock_now(void *payload)
{
	return ((struct fake_clock *)payload)->now;
}

static inline void
fake_clock_sleep(long ms, void *payload)
{
	struct fake_clock *c = payload;

	if (c->sleeps < CB_ARRAY_SIZE(c->slept))
		c->slept[c->sleeps] = ms;
	c->sleeps++;
	c->now += ms;
}

/* The test server's base URL, "http://127.0.0.1:PORT". */
static inline const char *
base_of(cb_test_httpd *d)
{
	static char buf[64];

	return cb_test_httpd_url(d, buf, sizeof(buf), "");
}

/* Options for a client of srv with a static token; the caller adjusts. */
static inline cb_arm_options
arm_options(cb_http *http, cb_test_httpd *srv, struct test_token *tok)
{
	cb_arm_options o = CB_ARM_OPTIONS_INIT;

	o.http = http;
	o.endpoint = base_of(srv);
	o.token = test_token_fn;
	o.token_payload = tok;
	return o;
}

static inline cb_arm *
new_arm(const cb_arm_options *o)
{
	cb_arm *arm = NULL;

	assert_ok(cb__arm_new(&arm, o));
	return arm;
}

/* A whole file into a NUL-terminated malloc'd string. */
static inline char *
read_text_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal((size_t)n, fread(s, 1, (size_t)n, f));
	s[n] = '\0';
	fclose(f);
	if (len_out)
		*len_out = (size_t)n;
	return s;
}

/* Parse <shared>/azure-api-examples/<rel>, an Azure REST API spec
 * example (see its PROVENANCE.md).  The caller frees the document. */
static inline cb_json *
example_load(const char *rel)
{
	char path[1024];
	cb_json *doc = NULL;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/azure-api-examples/%s",
		cb_test_shared_dir(), rel);
	text = read_text_file(path, &len);
	assert_ok(cb__json_parse(&doc, text, len, rel));
	free(text);
	return doc;
}

/* Replace every occurrence of from by to in s (malloc'd, freed). */
static inline char *
str_replace_all(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *out, *o;
	const char *p;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	assert_non_null(out);
	o = out;
	for (p = s;;) {
		const char *hit = strstr(p, from);

		if (hit == NULL) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, to, tl);
		o += tl;
		p = hit + fl;
	}
	free(s);
	return out;
}

/*
 * The text of the value at @p path in example @p rel ("responses.200.body",
 * "responses.202.headers.Location"), with Azure's host (with or without
 * ":443") replaced by @p base when not NULL.  malloc'd.
 */
static inline char *
example_text(const char *rel, const char *path, const char *base)
{
	cb_json *doc = example_load(rel);
	const cb_json_node *node = NULL;
	cb_buf buf = CB_BUF_INIT;
	const char *s;
	char *text;

	assert_ok(cb__json_get_node(&node, doc, cb__json_root(doc), path, 0));
	if ((s = cb__json_string_value(node)) != NULL) {
		text = strdup(s);
	} else {
		assert_ok(cb__json_dump(&buf, node));
		text = strdup(buf.ptr);
	}
	assert_non_null(text);
	cb_buf_dispose(&buf);
	cb__json_free(doc);
	if (base) {
		text = str_replace_all(
			text, "https://management.azure.com:443", base);
		text = str_replace_all(
			text, "https://management.azure.com", base);
	}
	return text;
}

/* The i-th request the server got, which must exist. */
static inline const cb_test_request *
req_at(cb_test_httpd *srv, size_t i)
{
	const cb_test_request *r = cb_test_httpd_request(srv, i);

	if (r == NULL)
		fail_msg("no request %zu (got %zu)", i,
			cb_test_httpd_count(srv));
	return r;
}

/* Method, exact target and the bearer token of the i-th request. */
static inline void
assert_request(
	cb_test_httpd *srv, size_t i, const char *method, const char *target)
{
	const cb_test_request *r = req_at(srv, i);

	assert_string_equal(method, r->method);
	assert_string_equal(target, r->target);
	assert_string_equal(
		TEST_AUTH_HEADER, cb_test_request_header(r, "Authorization"));
}

static inline void
assert_error(int code, int klass, int status, const char *arm_code,
	const char *request_id, const char *message)
{
	const cb_error *e = cb_error_last();

	assert_string_equal(message, e->message);
	assert_string_equal(cb_error_name(code), cb_error_name(e->code));
	assert_int_equal(klass, e->klass);
	assert_int_equal(status, e->http_status);
	assert_string_equal(arm_code, e->arm_code);
	assert_string_equal(request_id, e->request_id);
}

#endif
