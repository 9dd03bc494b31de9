/*
 * tests/support/webclient.c - see webclient.h.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1

#include "tests/support/webclient.h"

#include <curl/curl.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *ca_path;

void
cb_test_fetch_ca(const char *ca_file)
{
	free(ca_path);
	ca_path = ca_file ? strdup(ca_file) : NULL;
}

struct sink {
	char *p;
	size_t n;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t len = size * nmemb;
	char *np = realloc(s->p, s->n + len + 1);

	if (np == NULL)
		return 0;
	memcpy(np + s->n, data, len);
	s->n += len;
	np[s->n] = '\0';
	s->p = np;
	return len;
}

/* Keep only the last response's headers (after a 100 Continue). */
static size_t
header_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t len = size * nmemb;

	if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
		free(s->p);
		s->p = NULL;
		s->n = 0;
	}
	return sink_write(data, size, nmemb, ud);
}

int
cb_test_fetch(cb_test_reply *r, const char *method, const char *url,
	const char *headers, const char *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct sink b = { NULL, 0 }, h = { NULL, 0 };
	const char *ca = ca_path ? ca_path : getenv("CB_TEST_CA");

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return -1;
	while (headers != NULL && *headers != '\0') {
		const char *nl = strchr(headers, '\n');
		size_t len = nl ? (size_t)(nl - headers) : strlen(headers);
		char *line = strndup(headers, len);
		hl = curl_slist_append(hl, line);
		free(line);
		headers += len + (nl ? 1 : 0);
	}
	/* No "Expect: 100-continue" dance: keep the exchange simple. */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_write);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcasecmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	r->curl_code = (int)curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	r->body = b.p ? b.p : strdup("");
	r->body_len = b.n;
	r->headers = h.p ? h.p : strdup("");
	return r->status > 0 ? 0 : -1;
}

const char *
cb_test_reply_header(const cb_test_reply *r, const char *name)
{
	static char value[4096];
	size_t nlen = strlen(name);
	const char *p = r->headers;

	while (p != NULL && *p != '\0') {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nlen && strncasecmp(p, name, nlen) == 0 &&
			p[nlen] == ':') {
			const char *v = p + nlen + 1;
			while (*v == ' ')
				v++;
			len -= (size_t)(v - p);
			if (len >= sizeof(value))
				len = sizeof(value) - 1;
			memcpy(value, v, len);
			value[len] = '\0';
			return value;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

void
cb_test_reply_free(cb_test_reply *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}
