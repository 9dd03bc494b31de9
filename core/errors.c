/*
 * core/errors.c - the per-thread last error and the code table.
 *
 * Everything lives in fixed _Thread_local storage: reporting an error never
 * allocates, and threads never see each other's errors.
 */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>

/* ARM error codes are short identifiers ("InvalidAuthenticationToken",
 * "BudgetNotFound"); request ids are GUIDs (36 chars).  Longer input is
 * truncated, which only costs diagnostic detail. */
#define ERROR_ARM_CODE_MAX   128
#define ERROR_REQUEST_ID_MAX 128

struct error_state {
	cb_error pub;
	char message[CB_ERROR_MESSAGE_MAX];
	char arm_code[ERROR_ARM_CODE_MAX];
	char request_id[ERROR_REQUEST_ID_MAX];
	char sqlstate[6];
};

static _Thread_local struct error_state error_tls;

static struct error_state *
error_state(void)
{
	struct error_state *st = &error_tls;

	/* The public view always points into this thread's buffers. */
	st->pub.message = st->message;
	st->pub.arm_code = st->arm_code;
	st->pub.request_id = st->request_id;
	st->pub.sqlstate = st->sqlstate;
	return st;
}

static void
error_copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = src ? strnlen(src, dstlen - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Messages are one line: a newline from a remote body would break logs. */
static void
error_flatten(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

const cb_error *
cb_error_last(void)
{
	struct error_state *st = error_state();

	if (st->message[0] == '\0' && st->pub.code == 0)
		error_copy(st->message, sizeof(st->message), "no error");
	return &st->pub;
}

void
cb_error_clear(void)
{
	struct error_state *st = error_state();

	memset(&st->pub, 0, sizeof(st->pub));
	st->message[0] = st->arm_code[0] = st->request_id[0] = '\0';
	st->sqlstate[0] = '\0';
	error_state();
}

int
cb__error_set(int code, int klass, const char *fmt, ...)
{
	struct error_state *st;
	va_list ap;

	cb_error_clear();
	st = error_state();
	st->pub.code = code;
	st->pub.klass = klass;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	error_flatten(st->message);
	return code;
}

int
cb__error_prefix(const char *fmt, ...)
{
	struct error_state *st = error_state();
	char old[CB_ERROR_MESSAGE_MAX];
	size_t n;
	va_list ap;

	memcpy(old, st->message, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	n = strlen(st->message);
	if (n < sizeof(st->message) - 1)
		snprintf(st->message + n, sizeof(st->message) - n, "%s", old);
	error_flatten(st->message);
	return st->pub.code;
}

void
cb__error_set_http(int status, const char *arm_code, const char *request_id)
{
	struct error_state *st = error_state();

	st->pub.http_status = status;
	if (arm_code)
		error_copy(st->arm_code, sizeof(st->arm_code), arm_code);
	if (request_id)
		error_copy(st->request_id, sizeof(st->request_id), request_id);
}

void
cb__error_set_sqlstate(const char *sqlstate)
{
	struct error_state *st = error_state();

	error_copy(st->sqlstate, sizeof(st->sqlstate), sqlstate);
}

int
cb__error_code(void)
{
	return error_tls.pub.code;
}

const char *
cb__redact_url(char *out, size_t outlen, const char *url)
{
	size_t n;

	if (outlen == 0)
		return out;
	if (url == NULL)
		url = "";
	n = strcspn(url, "?#");
	if (n > outlen - 1)
		n = outlen - 1;
	memcpy(out, url, n);
	out[n] = '\0';
	return out;
}

const char *
cb_strerror(int code)
{
	switch (code) {
#define CB__ERROR_TEXT(name, value, text) \
	case CB_##name:                   \
		return text;
		CB_ERROR_MAP(CB__ERROR_TEXT)
#undef CB__ERROR_TEXT
	}
	return "unknown error";
}

const char *
cb_error_name(int code)
{
	switch (code) {
#define CB__ERROR_NAME(name, value, text) \
	case CB_##name:                   \
		return #name;
		CB_ERROR_MAP(CB__ERROR_NAME)
#undef CB__ERROR_NAME
	}
	return "unknown";
}
