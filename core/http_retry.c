/*
 * core/http_retry.c - the parts of the HTTP client that need no network:
 * how long a server asks us to wait, how long we back off when it does
 * not say, and the random request ids.
 *
 * Azure names waits in more than one header at once (Retry-After plus
 * x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after and friends, see
 * azure-api-notes.md c.2), and each reflects a different quota; waiting
 * less than any of them only earns another 429, so the longest one wins.
 */
#include "core/common.h"
#include "core/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *const http_months[] = { "jan", "feb", "mar", "apr", "may",
	"jun", "jul", "aug", "sep", "oct", "nov", "dec" };

static const char *
retry_skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* n decimal digits (at least min, at most max) into *out. */
static bool
retry_digits(const char **p, int min, int max, int *out)
{
	const char *s = *p;
	int v = 0, n = 0;

	while (n < max && isdigit((unsigned char)s[n])) {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n < min || isdigit((unsigned char)s[n]))
		return false;
	*out = v;
	*p = s + n;
	return true;
}

static bool
retry_month(const char **p, int *out)
{
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(*p, http_months[i], 3) == 0) {
			*out = i;
			*p += 3;
			return true;
		}
	}
	return false;
}

/* "HH:MM:SS" */
static bool
retry_clock(const char **p, struct tm *tm)
{
	return retry_digits(p, 2, 2, &tm->tm_hour) && *(*p)++ == ':' &&
	       retry_digits(p, 2, 2, &tm->tm_min) && *(*p)++ == ':' &&
	       retry_digits(p, 2, 2, &tm->tm_sec) && tm->tm_hour < 24 &&
	       tm->tm_min < 60 && tm->tm_sec <= 60;
}

static bool
retry_lit(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncasecmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/*
 * The three HTTP-date forms of RFC 9110 5.6.7:
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   RFC 850      Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime      Sun Nov  6 08:49:37 1994
 */
static bool
retry_http_date(const char *s, int64_t *epoch_ms)
{
	struct tm tm;
	const char *p = s;
	int wday_len = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	while (isalpha((unsigned char)p[wday_len]))
		wday_len++;
	if (wday_len < 3 || wday_len > 9)
		return false;
	p += wday_len;
	if (*p == ',') {
		char sep;

		p++;
		if (*p++ != ' ' || !retry_digits(&p, 1, 2, &tm.tm_mday))
			return false;
		sep = *p++;
		if ((sep != ' ' && sep != '-') ||
			!retry_month(&p, &tm.tm_mon) || *p++ != sep)
			return false;
		if (sep == ' ') {
			if (!retry_digits(&p, 4, 4, &tm.tm_year))
				return false;
		} else {
			/* RFC 850's two-digit year: RFC 9110 says a year
			 * more than 50 years ahead is in the past. */
			if (!retry_digits(&p, 2, 2, &tm.tm_year))
				return false;
			tm.tm_year += tm.tm_year < 70 ? 2000 : 1900;
		}
		if (*p++ != ' ' || !retry_clock(&p, &tm) ||
			!retry_lit(&p, " GMT"))
			return false;
	} else {
		if (*p++ != ' ' || !retry_month(&p, &tm.tm_mon) || *p++ != ' ')
			return false;
		if (*p == ' ')
			p++;
		if (!retry_digits(&p, 1, 2, &tm.tm_mday) || *p++ != ' ' ||
			!retry_clock(&p, &tm) || *p++ != ' ' ||
			!retry_digits(&p, 4, 4, &tm.tm_year))
			return false;
	}
	if (*retry_skip_blanks(p) != '\0' || tm.tm_mday < 1 || tm.tm_mday > 31)
		return false;
	tm.tm_year -= 1900;
	if ((t = timegm(&tm)) == (time_t)-1)
		return false;
	*epoch_ms = (int64_t)t * 1000;
	return true;
}

/* "12" or "1.5" seconds (the fraction is a courtesy: some throttling
 * headers carry one) into milliseconds, capped. */
static bool
retry_seconds(const char *s, long *out_ms)
{
	int64_t ms = 0;
	int frac = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (ms <= CB_HTTP_RETRY_AFTER_MAX_MS)
			ms = ms * 10 + (*p - '0') * 1000;
	}
	if (*p == '.') {
		int scale = 100;

		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*retry_skip_blanks(p) != '\0')
		return false;
	ms += frac;
	*out_ms = ms > CB_HTTP_RETRY_AFTER_MAX_MS ? CB_HTTP_RETRY_AFTER_MAX_MS
						  : (long)ms;
	return true;
}

int
cb__http_retry_after_parse(
	long *out_ms, const char *value, int64_t now_epoch_ms)
{
	int64_t at;
	const char *s;

	if (out_ms == NULL || value == NULL)
		return CB_EPARSE;
	s = retry_skip_blanks(value);
	if (retry_seconds(s, out_ms))
		return 0;
	if (!retry_http_date(s, &at))
		return CB_EPARSE;
	if (at <= now_epoch_ms)
		*out_ms = 0;
	else if (at - now_epoch_ms > CB_HTTP_RETRY_AFTER_MAX_MS)
		*out_ms = CB_HTTP_RETRY_AFTER_MAX_MS;
	else
		*out_ms = (long)(at - now_epoch_ms);
	return 0;
}

/* x-ms-ratelimit-<anything>-retry-after, as sent by ARM resource
 * providers: microsoft.costmanagement-qpu, -entity, -tenant, -client,
 * microsoft.consumption, retailPrices... */
static bool
retry_is_ms_ratelimit(const char *name)
{
	static const char prefix[] = "x-ms-ratelimit-";
	static const char suffix[] = "-retry-after";
	size_t n = strlen(name), np = sizeof(prefix) - 1,
	       ns = sizeof(suffix) - 1;

	return n > np + ns && strncasecmp(name, prefix, np) == 0 &&
	       strcasecmp(name + n - ns, suffix) == 0;
}

long
cb__http_response_retry_after_ms(
	const cb_http_response *resp, int64_t now_epoch_ms)
{
	long best = -1, ms;

	if (resp == NULL)
		return -1;
	for (size_t i = 0; i < resp->header_count; i++) {
		const cb_http_header *h = &resp->headers[i];

		if (strcasecmp(h->name, "retry-after") != 0 &&
			!retry_is_ms_ratelimit(h->name))
			continue;
		if (cb__http_retry_after_parse(&ms, h->value, now_epoch_ms) ==
				0 &&
			ms > best)
			best = ms;
	}
	return best;
}

/* xorshift64* (Vigna): plenty for spreading retries, and seedable so a
 * test can pin the sequence. */
static uint64_t
retry_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

long
cb__http_backoff_ms(unsigned attempt, long base_ms, long max_ms, uint64_t *rng)
{
	long cap = base_ms > 0 ? base_ms : 0;

	for (unsigned i = 1; i < attempt && cap < max_ms; i++)
		cap = cap > max_ms / 2 ? max_ms : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	if (cap <= 0)
		return 0;
	return (long)(retry_rand(rng) % ((uint64_t)cap + 1));
}

/* Fill buf from the kernel's CSPRNG; /dev/urandom if getrandom() is
 * missing (old kernels, seccomp filters). */
static int
retry_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;
	int fd;

	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == len)
		return 0;
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
		return cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"cannot open /dev/urandom: %s", strerror(errno));
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return cb__error_set(CB_EIO, CB_ERRCLASS_OS,
				"cannot read /dev/urandom");
		}
		got += (size_t)n;
	}
	close(fd);
	return 0;
}

int
cb__http_uuid4(char out[37])
{
	unsigned char b[16];
	int error;

	if ((error = retry_random(b, sizeof(b))) < 0)
		return error;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

uint64_t
cb__http_random_seed(void)
{
	uint64_t seed = 0;

	if (retry_random(&seed, sizeof(seed)) < 0 || seed == 0)
		seed = (uint64_t)time(NULL) | 1;
	return seed;
}
