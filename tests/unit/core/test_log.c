/*
 * tests/unit/core/test_log.c - levels, sinks and the secret scrubber.
 */
#include "core/common.h"
#include "core/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

struct captured {
	int count;
	int level;
	char line[CB_LOG_LINE_MAX * 2];
};

static void
capture_cb(int level, const char *line, void *payload)
{
	struct captured *c = payload;

	c->count++;
	c->level = level;
	snprintf(c->line, sizeof(c->line), "%s", line);
}

static void
scrub_case(const char *in, const char *want)
{
	char s[512];

	cb__log_scrub(s, sizeof(s), in);
	assert_string_equal(want, s);
}

static void
test_log_scrubs_every_secret_shape(void **state)
{
	(void)state;
	scrub_case("Authorization: Bearer eyJ0eXAi.abc.def",
		"Authorization: [redacted]");
	scrub_case("header authorization: Basic dXNlcjpwYXNz, next",
		"header authorization: [redacted], next");
	scrub_case(
		"token bearer eyJhbGciOi end", "token bearer [redacted] end");
	scrub_case(
		"grant_type=client_credentials&client_secret=s3cr3t~x&scope=a",
		"grant_type=client_credentials&client_secret=[redacted]&scope=a");
	scrub_case("client_assertion=eyJ.x.y&client_id=1",
		"client_assertion=[redacted]&client_id=1");
	scrub_case(
		"GET https://h.blob.core.windows.net/r/1?sv=2020&sig=AbC%3D 200",
		"GET https://h.blob.core.windows.net/r/1?[redacted] 200");
	scrub_case("{\"token_type\":\"Bearer\",\"access_token\":\"eyJ.a.b\"}",
		"{\"token_type\":\"Bearer\",\"access_token\":\"[redacted]\"}");
	scrub_case("{\"client_secret\": \"abc\"}",
		"{\"client_secret\": \"[redacted]\"}");
	scrub_case("password=ab", "password=[redacted]");
	scrub_case(
		"nothing secret here: 12 rows", "nothing secret here: 12 rows");
	scrub_case("error_code=5", "error_code=5");
	scrub_case("is it? yes", "is it? yes");
	scrub_case("?", "?");
}

static void
test_log_levels_filter_and_callback_receives_scrubbed_lines(void **state)
{
	struct captured c = { 0 };

	(void)state;
	cb_log_set_callback(capture_cb, &c);
	cb_log_set_level(CB_LOG_INFO);
	cb__log(CB_LOG_DEBUG, "http", "hidden %d", 1);
	assert_int_equal(0, c.count);
	cb__log(CB_LOG_INFO, "http", "GET %s: %d", "https://x/y?sig=zz", 200);
	assert_int_equal(1, c.count);
	assert_int_equal(CB_LOG_INFO, c.level);
	/* the query runs to the next blank, so its colon goes too */
	assert_string_equal("http: GET https://x/y?[redacted] 200", c.line);
	cb__log(CB_LOG_WARN, "auth", "two\nlines");
	assert_string_equal("auth: two lines", c.line);
	assert_true(cb__log_enabled(CB_LOG_ERROR));
	assert_false(cb__log_enabled(CB_LOG_DEBUG));
	cb_log_set_callback(NULL, NULL);
	assert_false(cb__log_enabled(CB_LOG_ERROR));
	cb_log_set_level(CB_LOG_WARN);
}

static void
read_fd_line(int fd, char *out, size_t len)
{
	ssize_t n = read(fd, out, len - 1);

	assert_true(n > 0);
	out[n] = '\0';
}

static void
test_log_fd_sink_writes_text_and_json_lines(void **state)
{
	int p[2];
	char got[4096];

	(void)state;
	assert_int_equal(0, pipe(p));
	cb_log_set_level(CB_LOG_DEBUG);
	assert_int_equal(0, cb_log_to_fd(p[1], CB_LOG_FORMAT_JSON));
	cb__log(CB_LOG_DEBUG, "arm", "say \"hi\" client_secret=abc");
	read_fd_line(p[0], got, sizeof(got));
	assert_non_null(strstr(got, "\"level\":\"debug\",\"component\":\"arm\","
				    "\"msg\":\"say \\\"hi\\\" "
				    "client_secret=[redacted]\"}\n"));
	assert_int_equal(0, strncmp(got, "{\"ts\":\"", 7));

	assert_int_equal(0, cb_log_to_fd(p[1], CB_LOG_FORMAT_TEXT));
	cb__log(CB_LOG_ERROR, "db", "connection lost");
	read_fd_line(p[0], got, sizeof(got));
	assert_non_null(strstr(got, "Z error db: connection lost\n"));

	assert_int_equal(CB_EINVAL, cb_log_to_fd(p[1], 7));
	cb_log_to_fd(-1, CB_LOG_FORMAT_TEXT);
	cb_log_set_level(CB_LOG_WARN);
	close(p[0]);
	close(p[1]);
}

static void
test_log_level_names_round_trip(void **state)
{
	int level = -1;

	(void)state;
	for (int i = CB_LOG_ERROR; i <= CB_LOG_TRACE; i++) {
		assert_int_equal(
			0, cb_log_level_parse(&level, cb_log_level_name(i)));
		assert_int_equal(i, level);
	}
	assert_int_equal(CB_EINVAL, cb_log_level_parse(&level, "loud"));
	assert_string_equal("unknown log level 'loud' (error, warn, info, "
			    "debug, trace)",
		cb_error_last()->message);
	assert_string_equal("unknown", cb_log_level_name(9));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_scrubs_every_secret_shape),
		cmocka_unit_test(
			test_log_levels_filter_and_callback_receives_scrubbed_lines),
		cmocka_unit_test(test_log_fd_sink_writes_text_and_json_lines),
		cmocka_unit_test(test_log_level_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
