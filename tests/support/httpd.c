/*
 * tests/support/httpd.c - the scriptable test server behind httpd.h.
 *
 * libmicrohttpd calls us three ways per request: the URI log callback
 * (the raw target, before any header is parsed: where a request starts and
 * its arrival time is taken), the access handler (headers, then the body
 * in pieces, then a last call where we answer) and the completion
 * notifier (where the request state is released).  Everything shared is
 * under one mutex.  Plain malloc/free on purpose: see httpd.h.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1

#include "tests/support/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

struct canned {
	struct canned *next;
	char *method; /* NULL: any */
	char *route;
	int status;
	char *headers;
	char *body;
	size_t body_len;
	long delay_ms;
	bool truncate;
	size_t truncate_at;
	bool drop;
	unsigned times; /* left to serve */
};

struct cb_test_httpd {
	struct MHD_Daemon *mhd;
	bool tls;
	int port;
	int64_t t0; /* monotonic ms at start */
	char *key_pem, *cert_pem;
	pthread_mutex_t lock;
	struct canned *queue; /* FIFO */
	cb_test_request **log;
	size_t log_len, log_cap;
	unsigned in_flight, max_in_flight;
	size_t unexpected;
};

/* Per-request state, from the URI callback to the completion notifier. */
struct pending {
	cb_test_httpd *d;
	cb_test_request *req; /* owned until logged */
	bool counted;         /* included in in_flight */
	bool logged;
	bool seen; /* the access handler ran once */
	size_t body_cap;
};

/* Body being served with a planned truncation. */
struct truncated {
	char *body;
	size_t len;
};

static void
httpd_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "httpd: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		httpd_die("out of memory");
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *
xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
request_free(cb_test_request *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->header_count; i++) {
		free(r->header_names[i]);
		free(r->header_values[i]);
	}
	free(r->header_names);
	free(r->header_values);
	free(r->target);
	free(r->path);
	free(r->body);
	free(r);
}

static void
canned_free(struct canned *c)
{
	free(c->method);
	free(c->route);
	free(c->headers);
	free(c->body);
	free(c);
}

static void *
httpd_uri_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
	cb_test_httpd *d = cls;
	struct pending *p = calloc(1, sizeof(*p));
	const union MHD_ConnectionInfo *ci;

	if (p == NULL || (p->req = calloc(1, sizeof(*p->req))) == NULL)
		httpd_die("out of memory");
	p->d = d;
	p->req->target = xstrdup(uri);
	p->req->path = xstrndup(uri, strcspn(uri, "?"));
	p->req->body = xstrdup("");
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		p->req->client_port =
			ntohs(((const struct sockaddr_in *)(const void *)
					ci->client_addr)
					->sin_port);
	pthread_mutex_lock(&d->lock);
	p->req->arrival_ms = clock_ms(CLOCK_MONOTONIC) - d->t0;
	p->req->arrival_epoch_ms = clock_ms(CLOCK_REALTIME);
	p->counted = true;
	p->req->in_flight = ++d->in_flight;
	if (d->in_flight > d->max_in_flight)
		d->max_in_flight = d->in_flight;
	pthread_mutex_unlock(&d->lock);
	return p;
}

static enum MHD_Result
httpd_header_it(
	void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	cb_test_request *r = cls;
	size_t n = r->header_count + 1;

	(void)kind;
	r->header_names = realloc(r->header_names, n * sizeof(char *));
	r->header_values = realloc(r->header_values, n * sizeof(char *));
	if (r->header_names == NULL || r->header_values == NULL)
		httpd_die("out of memory");
	r->header_names[n - 1] = xstrdup(key);
	r->header_values[n - 1] = xstrdup(value ? value : "");
	r->header_count = n;
	return MHD_YES;
}

static bool
route_matches(
	const struct canned *c, const char *method, const cb_test_request *r)
{
	if (c->method && strcmp(c->method, method) != 0)
		return false;
	if (strchr(c->route, '?'))
		return strcmp(c->route, r->target) == 0;
	return strcmp(c->route, r->path) == 0;
}

/* Take the answer for this request off the queue (a copy), or NULL. */
static struct canned *
httpd_pop(cb_test_httpd *d, const char *method, const cb_test_request *r)
{
	struct canned **pp, *c, *copy;

	for (pp = &d->queue; (c = *pp) != NULL; pp = &c->next)
		if (route_matches(c, method, r))
			break;
	if (c == NULL)
		return NULL;
	copy = xmalloc(sizeof(*copy));
	*copy = *c;
	copy->next = NULL;
	copy->method = xstrdup(c->method);
	copy->route = xstrdup(c->route);
	copy->headers = xstrdup(c->headers);
	copy->body = xmalloc(c->body_len + 1);
	memcpy(copy->body, c->body, c->body_len + 1);
	if (c->times != CB_TEST_HTTPD_FOREVER && --c->times == 0) {
		*pp = c->next;
		canned_free(c);
	}
	return copy;
}

static void
httpd_add_headers(struct MHD_Response *resp, const char *headers)
{
	const char *p = headers;

	while (p && *p) {
		size_t n = strcspn(p, "\n");
		char *line = xstrndup(p, n), *colon, *v;

		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		if ((colon = strchr(line, ':')) != NULL) {
			*colon = '\0';
			for (v = colon + 1; *v == ' '; v++)
				;
			if (MHD_add_response_header(resp, line, v) != MHD_YES)
				httpd_die("cannot add header '%s'", line);
		}
		free(line);
		p += n;
		if (*p == '\n')
			p++;
	}
}

static ssize_t
httpd_truncated_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct truncated *t = cls;
	size_t n;

	if (pos >= t->len)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->len - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(buf, t->body + pos, n);
	return (ssize_t)n;
}

static void
httpd_truncated_free(void *cls)
{
	struct truncated *t = cls;

	free(t->body);
	free(t);
}

static void
httpd_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static enum MHD_Result
httpd_access(void *cls, struct MHD_Connection *con, const char *url,
	const char *method, const char *version, const char *upload,
	size_t *upload_size, void **con_cls)
{
	cb_test_httpd *d = cls;
	struct pending *p = *con_cls;
	cb_test_request *r = p->req;
	struct MHD_Response *resp;
	struct canned *c;
	enum MHD_Result ret;
	char body404[512];
	int status;

	(void)url;
	(void)version;
	if (r == NULL) /* already answered */
		return MHD_NO;
	if (!p->seen) {
		/* First call: headers only.  Answering now would skip the
		 * body (and "Expect: 100-continue" handling). */
		p->seen = true;
		snprintf(r->method, sizeof(r->method), "%s", method);
		MHD_get_connection_values(
			con, MHD_HEADER_KIND, httpd_header_it, r);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (r->body_len + *upload_size + 1 > p->body_cap) {
			p->body_cap = (r->body_len + *upload_size + 1) * 2;
			if ((r->body = realloc(r->body, p->body_cap)) == NULL)
				httpd_die("out of memory");
		}
		memcpy(r->body + r->body_len, upload, *upload_size);
		r->body_len += *upload_size;
		r->body[r->body_len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}

	/* The whole request is in: pick the answer and log the request. */
	pthread_mutex_lock(&d->lock);
	c = httpd_pop(d, r->method, r);
	if (c == NULL)
		d->unexpected++;
	r->status = c == NULL ? 404 : c->drop ? 0 : c->status ? c->status : 200;
	status = r->status;
	snprintf(body404, sizeof(body404),
		"{\"error\":{\"code\":\"NotFound\",\"message\":\"no "
		"canned response for %s %.300s\"}}",
		r->method, r->target);
	if (d->log_len == d->log_cap) {
		d->log_cap = d->log_cap ? d->log_cap * 2 : 16;
		d->log = realloc(d->log, d->log_cap * sizeof(*d->log));
		if (d->log == NULL)
			httpd_die("out of memory");
	}
	/* From here on r belongs to the log, which the test may clear at
	 * any time: this thread must not touch it again. */
	d->log[d->log_len++] = r;
	p->logged = true;
	p->req = NULL;
	r = NULL;
	pthread_mutex_unlock(&d->lock);

	if (c && c->delay_ms > 0)
		httpd_sleep_ms(c->delay_ms);
	/* Leave in_flight before the answer leaves, so a client that starts
	 * its next request on receipt is never counted twice. */
	pthread_mutex_lock(&d->lock);
	d->in_flight--;
	p->counted = false;
	pthread_mutex_unlock(&d->lock);

	if (c && c->drop) {
		canned_free(c);
		return MHD_NO;
	}
	if (c == NULL) {
		resp = MHD_create_response_from_buffer(
			strlen(body404), body404, MHD_RESPMEM_MUST_COPY);
		MHD_add_response_header(
			resp, "Content-Type", "application/json");
	} else if (c->truncate) {
		struct truncated *t = xmalloc(sizeof(*t));

		t->body = c->body;
		t->len = c->truncate_at < c->body_len ? c->truncate_at
						      : c->body_len;
		c->body = NULL;
		resp = MHD_create_response_from_callback(c->body_len, 4096,
			httpd_truncated_reader, t, httpd_truncated_free);
	} else {
		resp = MHD_create_response_from_buffer(
			c->body_len, c->body, MHD_RESPMEM_MUST_COPY);
	}
	if (resp == NULL)
		httpd_die("cannot create a response");
	if (c)
		httpd_add_headers(resp, c->headers);
	ret = MHD_queue_response(con, (unsigned)status, resp);
	MHD_destroy_response(resp);
	if (c)
		canned_free(c);
	return ret;
}

static void
httpd_completed(void *cls, struct MHD_Connection *con, void **con_cls,
	enum MHD_RequestTerminationCode toe)
{
	cb_test_httpd *d = cls;
	struct pending *p = *con_cls;

	(void)con;
	(void)toe;
	if (p == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	if (p->counted)
		d->in_flight--;
	pthread_mutex_unlock(&d->lock);
	if (!p->logged)
		request_free(p->req);
	free(p);
	*con_cls = NULL;
}

static char *
httpd_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = xmalloc((size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	} else {
		s[n] = '\0';
	}
	fclose(f);
	return s;
}

int
cb_test_httpd_start(cb_test_httpd **out, const cb_test_tls_files *tls)
{
	cb_test_httpd *d = calloc(1, sizeof(*d));
	struct sockaddr_in sa;
	/* No MHD_USE_ERROR_LOG: truncations and drops are deliberate, and
	 * our own failures abort loudly (httpd_die). */
	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	const union MHD_DaemonInfo *info;

	if (d == NULL)
		return -1;
	pthread_mutex_init(&d->lock, NULL);
	d->t0 = clock_ms(CLOCK_MONOTONIC);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (tls) {
		d->tls = true;
		d->key_pem = httpd_slurp(tls->key);
		d->cert_pem = httpd_slurp(tls->cert);
		if (d->key_pem == NULL || d->cert_pem == NULL) {
			fprintf(stderr, "httpd: cannot read %s or %s\n",
				tls->key, tls->cert);
			cb_test_httpd_stop(d);
			return -1;
		}
		flags |= MHD_USE_TLS;
		d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, d,
			MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_URI_LOG_CALLBACK,
			httpd_uri_cb, d, MHD_OPTION_NOTIFY_COMPLETED,
			httpd_completed, d, MHD_OPTION_HTTPS_MEM_KEY,
			d->key_pem, MHD_OPTION_HTTPS_MEM_CERT, d->cert_pem,
			MHD_OPTION_END);
	} else {
		d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, d,
			MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_URI_LOG_CALLBACK,
			httpd_uri_cb, d, MHD_OPTION_NOTIFY_COMPLETED,
			httpd_completed, d, MHD_OPTION_END);
	}
	if (d->mhd == NULL || (info = MHD_get_daemon_info(d->mhd,
				       MHD_DAEMON_INFO_BIND_PORT)) == NULL) {
		fprintf(stderr, "httpd: cannot start libmicrohttpd\n");
		cb_test_httpd_stop(d);
		return -1;
	}
	d->port = info->port;
	*out = d;
	return 0;
}

void
cb_test_httpd_clear(cb_test_httpd *d)
{
	pthread_mutex_lock(&d->lock);
	while (d->queue) {
		struct canned *c = d->queue;

		d->queue = c->next;
		canned_free(c);
	}
	for (size_t i = 0; i < d->log_len; i++)
		request_free(d->log[i]);
	d->log_len = 0;
	d->max_in_flight = d->in_flight;
	d->unexpected = 0;
	pthread_mutex_unlock(&d->lock);
}

void
cb_test_httpd_stop(cb_test_httpd *d)
{
	if (d == NULL)
		return;
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	cb_test_httpd_clear(d);
	free(d->log);
	free(d->key_pem);
	free(d->cert_pem);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int
cb_test_httpd_port(const cb_test_httpd *d)
{
	return d->port;
}

char *
cb_test_httpd_url(
	const cb_test_httpd *d, char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s://127.0.0.1:%d%s", d->tls ? "https" : "http",
		d->port, path);
	return buf;
}

void
cb_test_httpd_queue(cb_test_httpd *d, const char *method, const char *route,
	const cb_test_answer *a)
{
	struct canned *c = calloc(1, sizeof(*c)), **pp;

	if (c == NULL)
		httpd_die("out of memory");
	c->method = xstrdup(method);
	c->route = xstrdup(route);
	c->status = a->status;
	c->headers = xstrdup(a->headers);
	c->body_len = a->body ? (a->body_len ? a->body_len
					     : strlen((const char *)a->body))
			      : 0;
	c->body = xmalloc(c->body_len + 1);
	if (c->body_len)
		memcpy(c->body, a->body, c->body_len);
	c->body[c->body_len] = '\0';
	c->delay_ms = a->delay_ms;
	c->truncate = a->truncate;
	c->truncate_at = a->truncate_at;
	c->drop = a->drop;
	c->times = a->times ? a->times : 1;
	pthread_mutex_lock(&d->lock);
	for (pp = &d->queue; *pp; pp = &(*pp)->next)
		;
	*pp = c;
	pthread_mutex_unlock(&d->lock);
}

void
cb_test_httpd_reply(cb_test_httpd *d, const char *route, int status,
	const char *headers, const char *body)
{
	cb_test_answer a = { 0 };

	a.status = status;
	a.headers = headers;
	a.body = body;
	cb_test_httpd_queue(d, NULL, route, &a);
}

size_t
cb_test_httpd_count(cb_test_httpd *d)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->log_len;
	pthread_mutex_unlock(&d->lock);
	return n;
}

const cb_test_request *
cb_test_httpd_request(cb_test_httpd *d, size_t i)
{
	const cb_test_request *r = NULL;

	pthread_mutex_lock(&d->lock);
	if (i < d->log_len)
		r = d->log[i];
	pthread_mutex_unlock(&d->lock);
	return r;
}

const char *
cb_test_request_header(const cb_test_request *r, const char *name)
{
	for (size_t i = 0; r && i < r->header_count; i++)
		if (strcasecmp(r->header_names[i], name) == 0)
			return r->header_values[i];
	return NULL;
}

unsigned
cb_test_httpd_max_in_flight(cb_test_httpd *d)
{
	unsigned n;

	pthread_mutex_lock(&d->lock);
	n = d->max_in_flight;
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t
cb_test_httpd_unexpected(cb_test_httpd *d)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->unexpected;
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t
cb_test_httpd_pending(cb_test_httpd *d)
{
	size_t n = 0;

	pthread_mutex_lock(&d->lock);
	for (struct canned *c = d->queue; c; c = c->next)
		n += c->times == CB_TEST_HTTPD_FOREVER ? 1 : c->times;
	pthread_mutex_unlock(&d->lock);
	return n;
}

int
cb_test_unused_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if ((rc = system(cmd)) != 0)
		fprintf(stderr, "httpd: '%s' failed (%d)\n", cmd, rc);
	return rc == 0 ? 0 : -1;
}

int
cb_test_make_tls(cb_test_tls_files *out, const char *dir, const char *prefix)
{
	char ext[512], csr[512], cakey[512];

	snprintf(out->ca, sizeof(out->ca), "%s/%s-ca.pem", dir, prefix);
	snprintf(out->cert, sizeof(out->cert), "%s/%s-cert.pem", dir, prefix);
	snprintf(out->key, sizeof(out->key), "%s/%s-key.pem", dir, prefix);
	snprintf(cakey, sizeof(cakey), "%s/%s-ca-key.pem", dir, prefix);
	snprintf(csr, sizeof(csr), "%s/%s.csr", dir, prefix);
	snprintf(ext, sizeof(ext), "%s/%s.ext", dir, prefix);
	/* EC P-256 keys: generated in milliseconds, unlike RSA. */
	return run("openssl req -x509 -newkey ec -pkeyopt "
		   "ec_paramgen_curve:P-256 -nodes -days 2 -subj "
		   "'/CN=chargeback test CA %s' -keyout '%s' -out '%s' "
		   "-addext basicConstraints=critical,CA:TRUE "
		   "-addext keyUsage=critical,keyCertSign,cRLSign "
		   "2>/dev/null",
		       prefix, cakey, out->ca) ||
	       run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		   "-nodes -subj '/CN=127.0.0.1' -keyout '%s' -out '%s' "
		   "2>/dev/null",
		       out->key, csr) ||
	       run("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n"
		   "basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n'"
		   " > '%s'",
		       ext) ||
	       run("openssl x509 -req -in '%s' -CA '%s' -CAkey '%s' "
		   "-CAcreateserial -days 2 -extfile '%s' -out '%s' "
		   "2>/dev/null",
		       csr, out->ca, cakey, ext, out->cert);
}
