/*
 * core/log.c - levels, sinks and the secret scrubber.
 *
 * The scrubber is the last line of defence, not the first: callers already
 * pass URLs through cb__redact_url() and never format tokens.  It knows the
 * shapes secrets take on our wire: "Authorization: <scheme> <value>",
 * "Bearer <token>", form fields (client_secret=, client_assertion=,
 * access_token=, password=, sig=), JSON members ("access_token": "..."),
 * and URL query strings, which carry SAS signatures.
 */
#include "core/common.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define REDACTED "[redacted]"

static atomic_int log_level = CB_LOG_WARN;
static int log_fd = -1;
static int log_format = CB_LOG_FORMAT_TEXT;
static cb_log_cb log_callback;
static void *log_payload;

static const char *const level_names[] = { "error", "warn", "info", "debug",
	"trace" };

void
cb_log_set_level(int level)
{
	if (level < CB_LOG_ERROR)
		level = CB_LOG_ERROR;
	if (level > CB_LOG_TRACE)
		level = CB_LOG_TRACE;
	atomic_store(&log_level, level);
}

int
cb_log_get_level(void)
{
	return atomic_load(&log_level);
}

int
cb_log_to_fd(int fd, int format)
{
	if (format != CB_LOG_FORMAT_TEXT && format != CB_LOG_FORMAT_JSON)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_LOG,
			"unknown log format %d", format);
	log_fd = fd;
	log_format = format;
	log_callback = NULL;
	log_payload = NULL;
	return 0;
}

void
cb_log_set_callback(cb_log_cb cb, void *payload)
{
	log_callback = cb;
	log_payload = payload;
	log_fd = -1;
}

const char *
cb_log_level_name(int level)
{
	if (level < CB_LOG_ERROR || level > CB_LOG_TRACE)
		return "unknown";
	return level_names[level];
}

int
cb_log_level_parse(int *out, const char *name)
{
	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(name);
	for (int i = CB_LOG_ERROR; i <= CB_LOG_TRACE; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return cb__error_set(CB_EINVAL, CB_ERRCLASS_LOG,
		"unknown log level '%.32s' (error, warn, info, debug, trace)",
		name);
}

bool
cb__log_enabled(int level)
{
	return level <= atomic_load(&log_level) &&
	       (log_fd >= 0 || log_callback != NULL);
}

/* Case-insensitive prefix test. */
static bool
scrub_prefix(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (tolower((unsigned char)*s) != *prefix)
			return false;
	return true;
}

struct scrub_out {
	char *p;    /* next byte to write; borrowed */
	size_t len; /* bytes left, terminator included */
};

static void
scrub_put(struct scrub_out *o, const char *s, size_t n)
{
	if (o->len == 0)
		return;
	if (n > o->len - 1)
		n = o->len - 1;
	memcpy(o->p, s, n);
	o->p += n;
	o->len -= n;
	*o->p = '\0';
}

/*
 * If in starts with a secret's key, copy the key, write REDACTED for its
 * value and return how many input bytes were consumed; else 0.
 */
static size_t
scrub_secret(struct scrub_out *o, const char *in, const char *start)
{
	static const char *const fields[] = { "client_secret=",
		"client_assertion=", "access_token=", "refresh_token=",
		"password=", "sig=" };
	static const char *const json_keys[] = { "\"access_token\"",
		"\"refresh_token\"", "\"client_secret\"",
		"\"client_assertion\"", "\"password\"" };
	const char *key_end = NULL, *stops = NULL;

	if (scrub_prefix(in, "authorization:")) {
		key_end = in + strlen("authorization:");
		key_end += strspn(key_end, " ");
		stops = "\r\n,;\"";
	} else if (scrub_prefix(in, "bearer ")) {
		key_end = in + strlen("bearer ");
		stops = " \t\r\n,;\"'";
	} else if (*in == '?' && in > start && in[1] != '\0' &&
		   strchr(" \t\r\n\"'", in[1]) == NULL && in[-1] != ' ') {
		/* A query string after a URL or path: SAS signatures and
		 * tokens live here. */
		key_end = in + 1;
		stops = " \t\r\n\"'<>";
	}
	for (size_t i = 0; !key_end && i < CB_ARRAY_SIZE(fields); i++) {
		if (scrub_prefix(in, fields[i]) &&
			(in == start || !isalnum((unsigned char)in[-1]))) {
			key_end = in + strlen(fields[i]);
			stops = "& \t\r\n\"'";
		}
	}
	for (size_t i = 0; !key_end && i < CB_ARRAY_SIZE(json_keys); i++) {
		const char *v = in + strlen(json_keys[i]);

		if (!scrub_prefix(in, json_keys[i]))
			continue;
		v += strspn(v, " :");
		if (*v == '"') {
			key_end = v + 1;
			stops = "\"";
		}
	}
	if (key_end == NULL)
		return 0;
	scrub_put(o, in, (size_t)(key_end - in));
	scrub_put(o, REDACTED, strlen(REDACTED));
	return (size_t)(key_end - in) + strcspn(key_end, stops);
}

void
cb__log_scrub(char *out, size_t outlen, const char *in)
{
	struct scrub_out o = { out, outlen };
	const char *start = in;

	if (outlen == 0)
		return;
	*out = '\0';
	while (*in) {
		size_t used = scrub_secret(&o, in, start);

		if (used == 0) {
			scrub_put(&o, in, 1);
			used = 1;
		}
		in += used;
	}
}

static void
log_timestamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;

	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03uZ",
		(unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

/* Append s to out as the body of a JSON string (escaped, bounded). */
static size_t
log_json_escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return o;
}

static void
log_write_fd(int fd, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a log write failure must not fail the work */
		line += n;
		len -= (size_t)n;
	}
}

void
cb__log(int level, const char *component, const char *fmt, ...)
{
	char msg[CB_LOG_LINE_MAX], clean[CB_LOG_LINE_MAX], ts[32];
	char line[CB_LOG_LINE_MAX * 2];
	va_list ap;
	int n;

	if (!cb__log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 5, "...", 4);
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	cb__log_scrub(clean, sizeof(clean), msg);

	if (log_callback) {
		snprintf(line, sizeof(line), "%s: %s", component, clean);
		log_callback(level, line, log_payload);
		return;
	}
	log_timestamp(ts, sizeof(ts));
	if (log_format == CB_LOG_FORMAT_JSON) {
		char esc[CB_LOG_LINE_MAX + 64];
		size_t o;

		log_json_escape(esc, sizeof(esc), clean);
		o = (size_t)snprintf(line, sizeof(line),
			"{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"%s\","
			"\"msg\":\"%s\"}\n",
			ts, cb_log_level_name(level), component, esc);
		if (o >= sizeof(line))
			o = sizeof(line) - 1;
		log_write_fd(log_fd, line, o);
	} else {
		size_t o =
			(size_t)snprintf(line, sizeof(line), "%s %s %s: %s\n",
				ts, cb_log_level_name(level), component, clean);

		if (o >= sizeof(line))
			o = sizeof(line) - 1;
		log_write_fd(log_fd, line, o);
	}
}
