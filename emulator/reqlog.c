/*
 * emulator/reqlog.c - the request log and the client's rule breaks,
 * read by tests at /_armsim/requests and /_armsim/violations.
 *
 * Only the method, path, the query with secrets redacted, the status and
 * the principal are kept: never a header, never a body (token requests
 * carry client secrets and assertions in their bodies).
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/reqlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Oldest entries are dropped past this many (a long benchmark run): the
 * log is a ring, so a full log costs no more per request than an empty
 * one. */
#define AS_REQLOG_MAX 100000

struct entry {
	unsigned long seq;
	int64_t ms;
	char *method, *path, *query, *route, *principal, *api_version;
	int status;
};

struct violation {
	unsigned long seq;
	char *kind, *method, *path, *detail;
};

struct as_reqlog {
	struct entry *e; /* ring of AS_REQLOG_MAX, allocated on first use */
	size_t head, n, dropped; /* oldest at e[head] */
	struct violation *v;
	size_t nv, vcap;
};

int
as_reqlog_init(as_server *s, char *err, size_t errlen)
{
	s->reqlog = calloc(1, sizeof(*s->reqlog));
	if (s->reqlog == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
entry_free(struct entry *e)
{
	free(e->method);
	free(e->path);
	free(e->query);
	free(e->route);
	free(e->principal);
	free(e->api_version);
}

void
as_reqlog_clear(as_server *s)
{
	struct as_reqlog *l = s->reqlog;

	for (size_t i = 0; i < l->n; i++)
		entry_free(&l->e[(l->head + i) % AS_REQLOG_MAX]);
	for (size_t i = 0; i < l->nv; i++) {
		free(l->v[i].kind);
		free(l->v[i].method);
		free(l->v[i].path);
		free(l->v[i].detail);
	}
	l->head = l->n = l->nv = l->dropped = 0;
}

void
as_reqlog_free(as_server *s)
{
	if (s->reqlog == NULL)
		return;
	as_reqlog_clear(s);
	free(s->reqlog->e);
	free(s->reqlog->v);
	free(s->reqlog);
	s->reqlog = NULL;
}

static bool
secret_param(const char *name, size_t len)
{
	static const char *const names[] = { "sig", "client_secret",
		"client_assertion", "code", "access_token", "token",
		"downloadToken", "sessiontoken", NULL };

	for (size_t i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == len &&
			strncasecmp(names[i], name, len) == 0)
			return true;
	return false;
}

/* The query with the values of secret parameters replaced. */
char *
as_redact_query(const char *q)
{
	size_t cap = strlen(q) * 2 + 16, o = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	while (*q != '\0') {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);

		if (o > 0)
			out[o++] = '&';
		if (eq != NULL && secret_param(q, (size_t)(eq - q)))
			o += (size_t)snprintf(out + o, cap - o, "%.*s=REDACTED",
				(int)(eq - q), q);
		else
			o += (size_t)snprintf(
				out + o, cap - o, "%.*s", (int)len, q);
		q += len;
		if (*q == '&')
			q++;
	}
	out[o] = '\0';
	return out;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void
as_reqlog_add(as_server *s, const as_req *req, int status)
{
	struct as_reqlog *l = s->reqlog;
	struct entry *e;

	if (l->e == NULL &&
		(l->e = calloc(AS_REQLOG_MAX, sizeof(*l->e))) == NULL)
		return;
	if (l->n == AS_REQLOG_MAX) {
		entry_free(&l->e[l->head]);
		l->head = (l->head + 1) % AS_REQLOG_MAX;
		l->n--;
		l->dropped++;
	}
	e = &l->e[(l->head + l->n++) % AS_REQLOG_MAX];
	memset(e, 0, sizeof(*e));
	e->seq = req->seq;
	e->ms = req->now_ms;
	e->method = dup_or_null(req->method);
	e->path = dup_or_null(req->path);
	e->query = req->query ? as_redact_query(req->query) : NULL;
	e->route = dup_or_null(req->route);
	e->principal = dup_or_null(req->principal);
	e->api_version = dup_or_null(req->api_version);
	e->status = status;
}

void
as_violation(
	as_server *s, const as_req *req, const char *kind, const char *fmt, ...)
{
	struct as_reqlog *l = s->reqlog;
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (l->nv == l->vcap) {
		size_t cap = l->vcap ? l->vcap * 2 : 64;
		struct violation *nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return;
		l->v = nv;
		l->vcap = cap;
	}
	l->v[l->nv].seq = req->seq;
	l->v[l->nv].kind = strdup(kind);
	l->v[l->nv].method = dup_or_null(req->method);
	l->v[l->nv].path = dup_or_null(req->path);
	l->v[l->nv].detail = strdup(detail);
	l->nv++;
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
as_reqlog_json(as_server *s, unsigned long since)
{
	struct as_reqlog *l = s->reqlog;
	json_t *arr = json_array();

	for (size_t i = 0; i < l->n; i++) {
		struct entry *e = &l->e[(l->head + i) % AS_REQLOG_MAX];
		if (e->seq <= since)
			continue;
		json_array_append_new(
			arr, json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:i}",
				     "seq", (json_int_t)e->seq, "timeMs",
				     (json_int_t)e->ms, "method",
				     str_or_null(e->method), "path",
				     str_or_null(e->path), "query",
				     str_or_null(e->query), "route",
				     str_or_null(e->route), "principal",
				     str_or_null(e->principal), "apiVersion",
				     str_or_null(e->api_version), "status",
				     e->status));
	}
	return json_pack("{s:o,s:I}", "requests", arr, "dropped",
		(json_int_t)l->dropped);
}

json_t *
as_violations_json(as_server *s)
{
	struct as_reqlog *l = s->reqlog;
	json_t *arr = json_array(), *by = json_object();

	for (size_t i = 0; i < l->nv; i++) {
		struct violation *v = &l->v[i];
		json_int_t n = json_integer_value(json_object_get(by, v->kind));

		json_object_set_new(by, v->kind, json_integer(n + 1));
		json_array_append_new(arr,
			json_pack("{s:I,s:s,s:o,s:o,s:s}", "seq",
				(json_int_t)v->seq, "kind", v->kind, "method",
				str_or_null(v->method), "path",
				str_or_null(v->path), "detail", v->detail));
	}
	return json_pack("{s:I,s:o,s:o}", "count", (json_int_t)l->nv, "byKind",
		by, "violations", arr);
}
