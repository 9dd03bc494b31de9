/*
 * emulator/respond.c - building answers: headers, JSON bodies with exact
 * numbers, ARM error bodies and nextLink paging.
 *
 * jansson holds numbers in binary floating point, which would round money
 * (DESIGN.md), so an exact number goes into the tree as a string marked with a
 * leading U+0001 and as_json_dump() takes the quotes off after jansson has
 * written the text.  No Azure API sends that character, and armsim never
 * puts client text into a marked string.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/armsim.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MARK "\\u0001"

int
as_resp_header(as_resp *resp, const char *name, const char *fmt, ...)
{
	char value[2048];
	va_list ap;

	if (resp->nheader == AS_MAX_HEADERS)
		return -1;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	/* Replace a header set before: the last word wins. */
	for (size_t i = 0; i < resp->nheader; i++) {
		if (strcasecmp(resp->hname[i], name) == 0) {
			char *v = strdup(value);
			if (v == NULL)
				return -1;
			free(resp->hvalue[i]);
			resp->hvalue[i] = v;
			return 0;
		}
	}
	resp->hname[resp->nheader] = strdup(name);
	resp->hvalue[resp->nheader] = strdup(value);
	if (resp->hname[resp->nheader] == NULL ||
		resp->hvalue[resp->nheader] == NULL) {
		free(resp->hname[resp->nheader]);
		free(resp->hvalue[resp->nheader]);
		return -1;
	}
	resp->nheader++;
	return 0;
}

json_t *
as_json_number_text(const char *literal)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%c%s", AS_NUM_MARK, literal);
	return json_string(buf);
}

json_t *
as_json_money(cb_money v)
{
	char text[64];

	if (cb_money_format(text, sizeof(text), v) != 0)
		return NULL;
	return as_json_number_text(text);
}

char *
as_json_dump(const json_t *v, size_t flags)
{
	char *text = json_dumps(v, flags | JSON_ENCODE_ANY);
	char *r, *w;

	if (text == NULL)
		return NULL;
	/* "\u0001123.45" -> 123.45: the marked string's text has no quote or
	 * backslash, so its closing quote is the next one. */
	for (r = w = text; *r != '\0';) {
		if (r[0] == '"' && strncmp(r + 1, MARK, 6) == 0) {
			r += 7;
			while (*r != '"' && *r != '\0')
				*w++ = *r++;
			if (*r == '"')
				r++;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return text;
}

void
as_resp_json(as_resp *resp, int status, json_t *body)
{
	char *text = body ? as_json_dump(body, JSON_COMPACT) : NULL;

	json_decref(body);
	cb__buf_clear(&resp->body);
	if (text == NULL) {
		resp->status = 500;
		cb__buf_puts(&resp->body,
			"{\"error\":{\"code\":\"InternalServerError\","
			"\"message\":\"armsim could not build the body.\"}}");
	} else {
		resp->status = status;
		cb__buf_puts(&resp->body, text);
		free(text);
	}
	as_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
}

void
as_resp_arm_error(
	as_resp *resp, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	as_resp_json(resp, status,
		json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
			msg));
	as_resp_header(resp, "x-ms-failure-cause", "gateway");
}

/* ------------------------------------------------------------------ */
/* Paging */

long
as_req_skiptoken(const as_req *req, as_resp *resp)
{
	char tok[64];
	char *end;
	long v;

	if (as_req_query(req, "$skiptoken", tok, sizeof(tok)) != 0)
		return 0;
	/* armsim's tokens are "as" and a decimal offset. */
	if (strncmp(tok, "as", 2) != 0 || tok[2] < '0' || tok[2] > '9' ||
		(v = strtol(tok + 2, &end, 10)) < 0 || *end != '\0') {
		as_resp_arm_error(resp, 400, "InvalidSkipToken",
			"The $skiptoken '%.40s' is not valid.", tok);
		return -1;
	}
	return v;
}

void
as_next_link(as_server *s, const as_req *req, size_t next_offset, size_t total,
	char *out, size_t outlen)
{
	char base[128];
	size_t o;
	const char *p = req->query;

	out[0] = '\0';
	if (next_offset >= total)
		return;
	as_server_base(s, base, sizeof(base));
	o = (size_t)snprintf(out, outlen, "%s%s?", base, req->path);
	/* The caller's query, minus any earlier $skiptoken. */
	while (*p != '\0' && o < outlen) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (strncasecmp(p, "$skiptoken=", 11) != 0 &&
			strncasecmp(p, "%24skiptoken=", 13) != 0 && len > 0)
			o += (size_t)snprintf(
				out + o, outlen - o, "%.*s&", (int)len, p);
		p += len;
		if (*p == '&')
			p++;
	}
	if (o < outlen)
		snprintf(out + o, outlen - o, "$skiptoken=as%zu", next_offset);
}

json_t *
as_list_page(as_server *s, const as_req *req, as_resp *resp, json_t *items)
{
	long off = as_req_skiptoken(req, resp);
	size_t total = json_array_size(items), size = s->opt.page_size;
	json_t *page, *obj;
	char next[4096];

	if (off < 0) {
		json_decref(items);
		return NULL;
	}
	if (size == 0)
		size = total > 0 ? total : 1;
	page = json_array();
	for (size_t i = (size_t)off; i < total && i < (size_t)off + size; i++)
		json_array_append(page, json_array_get(items, i));
	json_decref(items);
	obj = json_pack("{s:o}", "value", page);
	as_next_link(s, req, (size_t)off + size, total, next, sizeof(next));
	if (obj != NULL && next[0] != '\0')
		json_object_set_new(obj, "nextLink", json_string(next));
	return obj;
}

int
as_list_window(as_server *s, const as_req *req, as_resp *resp, size_t *first,
	size_t *end)
{
	long off = as_req_skiptoken(req, resp);

	if (off < 0)
		return -1;
	*first = (size_t)off;
	/* Page size 0: one page holds everything (as_list_page()). */
	*end = s->opt.page_size == 0 ? SIZE_MAX
				     : (size_t)off + s->opt.page_size;
	return 0;
}

json_t *
as_list_window_page(
	as_server *s, const as_req *req, json_t *page, size_t end, size_t total)
{
	json_t *obj = json_pack("{s:o}", "value", page);
	char next[4096];

	as_next_link(s, req, end, total, next, sizeof(next));
	if (obj != NULL && next[0] != '\0')
		json_object_set_new(obj, "nextLink", json_string(next));
	return obj;
}

void
as_resp_page(as_server *s, const as_req *req, as_resp *resp, json_t *items)
{
	json_t *obj = as_list_page(s, req, resp, items);

	if (obj != NULL)
		as_resp_json(resp, 200, obj);
}
