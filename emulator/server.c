/*
 * emulator/server.c - the HTTP(S) server and the request pipeline
 * (armsim.h describes the order of the steps).
 *
 * libmicrohttpd runs a thread per connection, so a planned delay or a
 * slow body holds up only its own connection, as on a real front end.
 * The request is complete (body read) before the pipeline runs; the
 * pipeline runs under the server lock, but a streamed body (a cost
 * details blob) is produced afterwards without it.
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/partner.h"
#include "emulator/router.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Largest request body read: budgets and query bodies are a few KB. */
#define AS_MAX_BODY ((size_t)1 << 20)

/* One connection's request as it arrives. */
struct pending {
	char *target; /* raw request target, from the URI log callback */
	cb_buf body;
	bool too_big;
	bool started; /* the headers-only first call has been seen */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
		(long)(ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
as_options_init(as_options *o)
{
	memset(o, 0, sizeof(*o));
	o->bind = "127.0.0.1";
	o->seed = 1;
	o->customers = 12;
	o->subscriptions_per_customer = 2;
	o->rows_per_subscription_day = 4;
	o->period_year = 2026;
	o->period_month = 10;
	o->token_lifetime_s = 3599;
	o->page_size = 100;
	o->lro_polls = 2;
	o->retry_after_s = 1;
}

void
as_server_base(const as_server *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s://%s", s->scheme, s->host);
}

/* ------------------------------------------------------------------ */
/* Request helpers */

struct header_find {
	const char *name;
	const char *value;
};

static enum MHD_Result
header_it(
	void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_find *f = cls;

	(void)kind;
	if (strcasecmp(key, f->name) == 0) {
		f->value = value;
		return MHD_NO;
	}
	return MHD_YES;
}

const char *
as_req_header(const as_req *req, const char *name)
{
	struct header_find f = { name, NULL };

	if (req->conn == NULL)
		return NULL;
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_it, &f);
	return f.value;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode [in, in+len) into out; '+' is a space only in queries.
 * Returns the decoded length, or -1 when out is too small. */
static long
pct_decode(const char *in, size_t len, bool plus, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];
		if (c == '%' && i + 2 < len && hexval(in[i + 1]) >= 0 &&
			hexval(in[i + 2]) >= 0) {
			c = hexval(in[i + 1]) * 16 + hexval(in[i + 2]);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

int
as_req_query(const as_req *req, const char *name, char *out, size_t outlen)
{
	const char *p = req->query;
	size_t nlen = strlen(name);

	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		char key[128];

		if (klen < sizeof(key) &&
			pct_decode(p, klen, true, key, sizeof(key)) >= 0 &&
			strlen(key) == nlen && strcasecmp(key, name) == 0) {
			if (eq == NULL)
				return outlen > 0 ? (out[0] = '\0', 0) : -1;
			return pct_decode(eq + 1, len - klen - 1, true, out,
				       outlen) < 0
				       ? -1
				       : 0;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return -1;
}

/* ARM's 400 for a body that is not what the handler can read. */
static json_t *
req_json_bad(as_resp *resp, const char *why)
{
	as_resp_arm_error(resp, 400, "InvalidRequestContent",
		"The request content was invalid and could not be "
		"deserialized: %s.",
		why);
	return NULL;
}

/* text (len bytes) as a JSON object, or NULL with ARM's 400.  column:
 * whether jansson's column is the client's (quoting numbers moves it). */
static json_t *
req_json_object(const char *text, size_t len, bool column, as_resp *resp)
{
	json_error_t e;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	char why[256];

	if (v == NULL) {
		if (column)
			snprintf(why, sizeof(why), "line %d, column %d: %s",
				e.line, e.column, e.text);
		else
			snprintf(why, sizeof(why), "line %d: %s", e.line,
				e.text);
		return req_json_bad(resp, why);
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return req_json_bad(resp, "expected a JSON object");
	}
	return v;
}

json_t *
as_req_json(const as_req *req, as_resp *resp)
{
	if (req->body_len == 0)
		return req_json_bad(resp, "the body is empty");
	/* A string starting with U+0001 would come back out of
	 * as_json_dump() as a bare number when a handler echoes the body
	 * (a cost details manifest echoes its request): refuse it, as
	 * as_req_json_exact() does.  JSON can only spell it escaped. */
	if (strstr(req->body, "\\u0001") != NULL)
		return req_json_bad(
			resp, "a string holds the control character U+0001");
	return req_json_object(req->body, req->body_len, true, resp);
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the JSON number at p (RFC 8259 grammar), or 0. */
static size_t
json_number_len(const char *p, size_t avail)
{
	size_t i = 0;

	if (i < avail && p[i] == '-')
		i++;
	if (i < avail && p[i] == '0')
		i++;
	else if (i < avail && is_digit(p[i]))
		while (i < avail && is_digit(p[i]))
			i++;
	else
		return 0;
	if (i < avail && p[i] == '.') {
		size_t d = ++i;
		while (i < avail && is_digit(p[i]))
			i++;
		if (i == d)
			return 0;
	}
	if (i < avail && (p[i] == 'e' || p[i] == 'E')) {
		size_t d;
		i++;
		if (i < avail && (p[i] == '+' || p[i] == '-'))
			i++;
		d = i;
		while (i < avail && is_digit(p[i]))
			i++;
		if (i == d)
			return 0;
	}
	return i;
}

/* body with every number token turned into "\u0001<literal>"; NULL when
 * a string holds U+0001 itself (the marker; no Azure client sends it). */
static char *
quote_numbers(const char *body, size_t len)
{
	cb_buf out = CB_BUF_INIT;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = body[i];

		if (in_str) {
			if (c == '\\' && i + 1 < len) {
				if (body[i + 1] == 'u' && i + 5 < len &&
					strncasecmp(body + i + 2, "0001", 4) ==
						0)
					goto fail;
				cb__buf_putc(&out, c);
				c = body[++i];
			} else if (c == '"') {
				in_str = false;
			}
			cb__buf_putc(&out, c);
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '-' || is_digit(c)) {
			size_t n = json_number_len(body + i, len - i);
			if (n > 0) {
				cb__buf_printf(&out, "\"\\u0001%.*s\"", (int)n,
					body + i);
				i += n - 1;
				continue;
			}
		}
		cb__buf_putc(&out, c);
	}
	return cb__buf_detach(&out);
fail:
	cb_buf_dispose(&out);
	return NULL;
}

json_t *
as_req_json_exact(const as_req *req, as_resp *resp)
{
	char *text;
	json_t *v;

	if (req->body_len == 0)
		return req_json_bad(resp, "the body is empty");
	if ((text = quote_numbers(req->body, req->body_len)) == NULL)
		return req_json_bad(
			resp, "a string holds the control character U+0001");
	v = req_json_object(text, strlen(text), false, resp);
	cb__free(text);
	return v;
}

/* ------------------------------------------------------------------ */
/* Parsing the request target */

static void
req_free(as_req *req)
{
	for (size_t i = 0; i < req->nseg; i++)
		free(req->seg[i]);
	for (size_t i = 0; i < req->ncap; i++)
		free(req->cap[i]);
	free(req->path);
	free(req->api_version);
}

/* Split target into path, query and decoded segments.  -1 when the
 * path is not one ARM could serve (too many segments, a NUL byte). */
static int
req_parse_target(as_req *req, const char *target)
{
	const char *q = strchr(target, '?');
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	const char *p;
	char *path = strndup(target, plen);
	char buf[2048];

	if (path == NULL)
		return -1;
	req->path = path;
	req->query = q ? q + 1 : "";
	for (p = path; *p != '\0';) {
		const char *slash;
		size_t len;
		long n;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		/* A decoded NUL ("%00") would cut the segment short. */
		if (req->nseg == AS_MAX_SEGMENTS ||
			(n = pct_decode(p, len, false, buf, sizeof(buf))) < 0 ||
			(size_t)n != strlen(buf) ||
			(req->seg[req->nseg] = strdup(buf)) == NULL)
			return -1;
		req->nseg++;
		p += len;
	}
	if (as_req_query(req, "api-version", buf, sizeof(buf)) == 0 &&
		(req->api_version = strdup(buf)) == NULL)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sending the response */

struct body_stream {
	as_resp r; /* owns the body or the stream */
};

static ssize_t
body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body_stream *bs = cls;
	as_resp *r = &bs->r;
	long n;

	if (r->slow_ms > 0 && pos > 0)
		sleep_ms(r->slow_ms);
	if (max > 4096 && r->slow_ms > 0)
		max = 4096;
	if (r->truncate_at >= 0 && pos >= (uint64_t)r->truncate_at)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (r->truncate_at >= 0 && pos + max > (uint64_t)r->truncate_at)
		max = (size_t)((uint64_t)r->truncate_at - pos);
	if (r->stream != NULL) {
		n = r->stream(r->stream_ctx, pos, buf, max);
		if (n < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (n == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		return (ssize_t)n;
	}
	if (pos >= r->body.size)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > r->body.size - pos)
		max = r->body.size - (size_t)pos;
	memcpy(buf, r->body.ptr + pos, max);
	return (ssize_t)max;
}

static void
resp_dispose(as_resp *r)
{
	for (size_t i = 0; i < r->nheader; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	r->nheader = 0;
	cb_buf_dispose(&r->body);
	if (r->stream_free != NULL)
		r->stream_free(r->stream_ctx);
	r->stream = NULL;
	r->stream_free = NULL;
}

static void
body_stream_free(void *cls)
{
	struct body_stream *bs = cls;

	resp_dispose(&bs->r);
	free(bs);
}

/* Hand r to libmicrohttpd.  Takes over r's contents. */
static enum MHD_Result
send_resp(struct MHD_Connection *conn, as_resp *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (r->delay_ms > 0)
		sleep_ms(r->delay_ms);
	if (r->stream == NULL && r->truncate_at < 0 && r->slow_ms <= 0) {
		static char empty[1];

		mr = MHD_create_response_from_buffer(r->body.size,
			r->body.ptr ? r->body.ptr : empty,
			MHD_RESPMEM_MUST_COPY);
		if (mr == NULL) {
			resp_dispose(r);
			return MHD_NO;
		}
		for (size_t i = 0; i < r->nheader; i++)
			MHD_add_response_header(mr, r->hname[i], r->hvalue[i]);
		ret = MHD_queue_response(conn, (unsigned)r->status, mr);
		MHD_destroy_response(mr);
		resp_dispose(r);
		return ret;
	}
	struct body_stream *bs = malloc(sizeof(*bs));
	uint64_t len = r->stream ? r->stream_len : r->body.size;

	if (bs == NULL) {
		resp_dispose(r);
		return MHD_NO;
	}
	bs->r = *r;
	memset(r, 0, sizeof(*r));
	mr = MHD_create_response_from_callback(
		len == UINT64_MAX ? MHD_SIZE_UNKNOWN : len, 64 * 1024,
		body_reader, bs, body_stream_free);
	if (mr == NULL) {
		body_stream_free(bs);
		return MHD_NO;
	}
	for (size_t i = 0; i < bs->r.nheader; i++)
		MHD_add_response_header(mr, bs->r.hname[i], bs->r.hvalue[i]);
	ret = MHD_queue_response(conn, (unsigned)bs->r.status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The pipeline */

static void
run_pipeline(as_server *s, as_req *req, as_resp *resp)
{
	const as_route *rt;
	int how;

	if (as_faults_before(s, req, resp))
		return;
	how = as_router_match(s, req, &rt);
	if (how == AS_MATCH_NONE || how == AS_MATCH_METHOD) {
		as_router_unknown(s, req, resp, how);
		return;
	}
	if (as_router_check_version(s, req, rt, resp) != 0)
		return;
	if (!(rt->flags & AS_ROUTE_NOAUTH) &&
		as_entra_authorize(s, req, resp) != 0)
		return;
	if (!(rt->flags & AS_ROUTE_NOAUTH) &&
		as_throttle_take(s, req, resp) != 0)
		return;
	if (rt->fn(s, req, resp) != 0 && resp->status == 0)
		as_resp_arm_error(resp, 500, "InternalServerError",
			"armsim could not answer this request.");
}

/*
 * ARM sends x-ms-request-id on every answer, errors included; it is what
 * a client quotes to support.  Handlers that set their own (Entra, blobs)
 * keep it; control paths get none.  Derived from the request number, so
 * it is unique per call and the same in every run.
 */
static void
add_request_id(const as_req *req, as_resp *resp)
{
	if (req->path == NULL || strncmp(req->path, "/_armsim/", 9) == 0)
		return;
	for (size_t i = 0; i < resp->nheader; i++)
		if (strcasecmp(resp->hname[i], "x-ms-request-id") == 0)
			return;
	as_resp_header(resp, "x-ms-request-id",
		"00000000-0000-4000-8000-%012lx", req->seq);
}

static enum MHD_Result
handle(as_server *s, struct MHD_Connection *conn, const char *method,
	struct pending *pd)
{
	as_req req;
	as_resp resp;
	enum MHD_Result ret;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	resp.truncate_at = -1;
	req.method = method;
	req.conn = conn;
	req.body = pd->body.ptr ? pd->body.ptr : "";
	req.body_len = pd->body.size;
	req.now_ms = now_ms();
	pthread_mutex_lock(&s->lock);
	req.seq = as_router_next_seq(s);
	if (pd->too_big) {
		as_resp_arm_error(&resp, 413, "RequestEntityTooLarge",
			"The request body is larger than %zu bytes.",
			AS_MAX_BODY);
	} else if (req_parse_target(&req, pd->target ? pd->target : "/") != 0) {
		as_resp_arm_error(&resp, 400, "InvalidRequestUri",
			"The request URI is not valid.");
	} else {
		run_pipeline(s, &req, &resp);
	}
	if (resp.status == 0 && !resp.drop)
		as_resp_arm_error(&resp, 500, "InternalServerError",
			"armsim produced no answer.");
	/* Every answer, a fault's or an error's too: truncations, and
	 * Retry-After answers the client must honour. */
	as_faults_after(s, &req, &resp);
	add_request_id(&req, &resp);
	as_reqlog_add(s, &req, resp.drop ? 0 : resp.status);
	pthread_mutex_unlock(&s->lock);
	req_free(&req);
	if (resp.drop) {
		if (resp.delay_ms > 0)
			sleep_ms(resp.delay_ms);
		resp_dispose(&resp);
		return MHD_NO;
	}
	ret = send_resp(conn, &resp);
	return ret;
}

static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct pending *pd = calloc(1, sizeof(*pd));

	(void)cls;
	(void)conn;
	if (pd != NULL)
		pd->target = strdup(uri);
	return pd;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload_data,
	size_t *upload_size, void **con_cls)
{
	struct pending *pd = *con_cls;

	(void)url;
	(void)version;
	if (pd == NULL)
		return MHD_NO;
	/* libmicrohttpd calls once when the headers are in, before any
	 * body: answering then would hand the handler an empty body. */
	if (!pd->started) {
		pd->started = true;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (pd->body.size + *upload_size > AS_MAX_BODY)
			pd->too_big = true;
		else if (cb__buf_put(&pd->body, upload_data, *upload_size) != 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	return handle(cls, conn, method, pd);
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
	enum MHD_RequestTerminationCode toe)
{
	struct pending *pd = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (pd != NULL) {
		free(pd->target);
		cb_buf_dispose(&pd->body);
		free(pd);
	}
	*con_cls = NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop */

static int
read_pem(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(out, 1, outlen - 1, f);
	if (ferror(f) || n == outlen - 1) {
		snprintf(err, errlen, "%s: unreadable or larger than %zu bytes",
			path, outlen - 2);
		fclose(f);
		return -1;
	}
	out[n] = '\0';
	fclose(f);
	return 0;
}

static int
modules_init(as_server *s, char *err, size_t errlen)
{
	as_partner_opts po = { s->opt.seed, s->opt.customers,
		s->opt.subscriptions_per_customer,
		s->opt.rows_per_subscription_day, s->opt.period_year,
		s->opt.period_month };
	int rc = s->opt.partner_file
			 ? as_partner_load(&s->partner, s->opt.partner_file,
				   err, errlen)
			 : as_partner_generate(&s->partner, &po, err, errlen);

	if (rc != 0 || as_reqlog_init(s, err, errlen) != 0 ||
		as_router_init(s, err, errlen) != 0 ||
		as_entra_init(s, err, errlen) != 0 ||
		as_billing_init(s, err, errlen) != 0 ||
		as_costdetails_init(s, err, errlen) != 0 ||
		as_budgets_init(s, err, errlen) != 0 ||
		as_throttle_init(s, err, errlen) != 0 ||
		as_faults_init(s, err, errlen) != 0)
		return -1;
	return 0;
}

static int
write_port_file(const char *path, unsigned port, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;

	/* Written whole then renamed, so a reader never sees half a port. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 ||
		rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
listen_start(as_server *s, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	struct MHD_Daemon *d;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)s->opt.port);
	if (inet_pton(AF_INET, s->opt.bind, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "--bind %s: not an IPv4 address",
			s->opt.bind);
		return -1;
	}
	if (!s->opt.plain_http)
		flags |= MHD_USE_TLS;
	d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, s,
		MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_URI_LOG_CALLBACK, uri_cb,
		s, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
		MHD_OPTION_CONNECTION_TIMEOUT, 120u,
		s->opt.plain_http ? MHD_OPTION_END : MHD_OPTION_HTTPS_MEM_KEY,
		s->tls_key_pem, MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert_pem,
		MHD_OPTION_END);
	if (d == NULL || (info = MHD_get_daemon_info(
				  d, MHD_DAEMON_INFO_BIND_PORT)) == NULL) {
		if (d != NULL)
			MHD_stop_daemon(d);
		snprintf(err, errlen, "cannot listen on %s:%u%s", s->opt.bind,
			s->opt.port,
			s->opt.plain_http ? ""
					  : " (or the TLS key is unusable)");
		return -1;
	}
	s->mhd = d;
	s->port = info->port;
	snprintf(s->host, sizeof(s->host), "%s:%u", s->opt.bind, s->port);
	return 0;
}

int
as_server_start(as_server **out, const as_options *o, char *err, size_t errlen)
{
	as_server *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->opt = *o;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->scheme, sizeof(s->scheme), "%s",
		o->plain_http ? "http" : "https");
	if (!o->plain_http && (o->tls_cert == NULL || o->tls_key == NULL)) {
		snprintf(err, errlen,
			"HTTPS needs --tls-cert and --tls-key (make a test CA "
			"with scripts/armsim-ca), or give --http");
		as_server_stop(s);
		return -1;
	}
	if ((!o->plain_http &&
		    (read_pem(o->tls_cert, s->tls_cert_pem,
			     sizeof(s->tls_cert_pem), err, errlen) != 0 ||
			    read_pem(o->tls_key, s->tls_key_pem,
				    sizeof(s->tls_key_pem), err,
				    errlen) != 0)) ||
		modules_init(s, err, errlen) != 0 ||
		listen_start(s, err, errlen) != 0 ||
		(o->port_file != NULL && write_port_file(o->port_file, s->port,
						 err, errlen) != 0)) {
		as_server_stop(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
as_server_stop(as_server *s)
{
	if (s == NULL)
		return;
	if (s->mhd != NULL)
		MHD_stop_daemon(s->mhd);
	as_faults_free(s);
	as_throttle_free(s);
	as_budgets_free(s);
	as_costdetails_free(s);
	as_billing_free(s);
	as_entra_free(s);
	as_router_free(s);
	as_reqlog_free(s);
	as_partner_free(s->partner);
	pthread_mutex_destroy(&s->lock);
	/* The key is a throwaway test key, but wipe it all the same. */
	memset(s->tls_key_pem, 0, sizeof(s->tls_key_pem));
	free(s);
}
