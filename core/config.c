/*
 * core/config.c - chargeback.cfg: libconfig in, a validated cb_config out.
 *
 * The schema is data: a section is a table of keys, a key names its type,
 * its target field in struct cb_config and its constraints, and a section
 * may add a finish hook for rules that span keys (at most one of
 * client_secret and client_secret_env).  A new section is a new table and
 * one line in root_keys; a key whose shape no built-in type covers (a list
 * of rule groups, later) uses CONFIG_CUSTOM with its own parse function.
 *
 * libconfig 1.5 (Debian 12) has behaviours we must not inherit, each
 * handled by config_prescan(), a small tokenizer run over the same text:
 * it opens any file named by "@include" (which would escape the permission
 * check and the hash), it silently wraps integers that do not fit in 32
 * bits (4294967416 reads as 120) or 64 bits with an L suffix, and it gives
 * a list element the line of the token after it (config_mark_lines).  It
 * also copies every string, the secret included, into its own tree, so
 * secret-bearing settings are overwritten before config_destroy(); the
 * same goes for the text we read and for our own copies.
 */
#include "core/common.h"
#include "core/config.h"
#include "core/buf.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

/* The sets below are indexed by the public enums' values. */
static_assert(CB_AZURE_CLOUD_PUBLIC == 0 && CB_AZURE_CLOUD_USGOV == 2,
	"cloud_names follows cb_azure_cloud");
static_assert(CB_LOG_ERROR == 0 && CB_LOG_TRACE == 4,
	"level_names follows cb_log_level");
static_assert(CB_LOG_FORMAT_TEXT == 0 && CB_LOG_FORMAT_JSON == 1,
	"format_names follows cb_log_format");

/* Names in the file, indexed by the stored value. */
static const char *const cloud_names[] = { "public", "china", "usgov", NULL };
/* Indexes are cb_assertion_alg values (auth.h): PS256 0, RS256 1. */
static const char *const assertion_names[] = { "PS256", "RS256", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug",
	"trace", NULL };
static const char *const format_names[] = { "text", "json", NULL };

/*
 * Billing account names go verbatim into ARM paths.  The longest known
 * form, MCA/MPA "{guid}:{guid}_{yyyy-mm-dd}", is 84 characters; EA names
 * are short numbers.  Allowing only [A-Za-z0-9:_-] keeps '/', '?', '%' and
 * ".." out of the URL.
 */
#define CONFIG_BILLING_ACCOUNT_MAX 128

/* A partner has a handful of billing accounts (one per agreement and
 * country); 1000 is far above that and keeps the duplicate check (n^2
 * comparisons) instant. */
#define CONFIG_BILLING_ACCOUNTS_MAX 1000

/* Environment variable names: POSIX portable characters; 255 is far above
 * any real name and keeps the name printable in one message. */
#define CONFIG_ENV_NAME_MAX 255

/* A key name printed in "unknown key" messages is cut here: real keys are
 * short, and a long invented one must not crowd out the line number. */
#define CONFIG_KEY_PRINT_MAX 128

/*
 * Defaults of the http section, each inside the range its key accepts.
 * 120 s an attempt lets a slow ARM page or report poll finish; 10 s to
 * connect is generous on any working network; 6 attempts with backoff
 * ride out a 429 storm of about a minute; 600 s bounds one request and
 * its retries; 8 requests in flight stay under ARM's read refill of 25 a
 * second per principal at typical latencies (../shared/azure-api-notes.md).
 */
#define CONFIG_HTTP_TIMEOUT_DEFAULT  120
#define CONFIG_HTTP_CONNECT_DEFAULT  10
#define CONFIG_HTTP_ATTEMPTS_DEFAULT 6
#define CONFIG_HTTP_DEADLINE_DEFAULT 600
#define CONFIG_HTTP_PARALLEL_DEFAULT 8

struct config_line {
	const char *key; /* the schema's full key name; static */
	unsigned line;   /* 1-based line in the source */
};

struct cb_config {
	char *source;                  /* owned: path or source name */
	uint64_t hash;                 /* FNV-1a 64 of the text */
	const char *dsn;               /* in pool, or NULL */
	cb_azure_config azure;         /* strings in pool, or NULL */
	cb_http_config http;           /* defaults, then the file's values */
	cb_log_config log;             /* defaults, then the file's values */
	const char **billing_accounts; /* owned array; names in pool */
	size_t billing_account_count;  /* entries used */
	cb_policy_rule *policies;      /* owned array; values in pool */
	size_t policy_count;           /* entries used */
	cb_label *labels;   /* owned array; names in pool, members owned */
	size_t label_count; /* entries used */
	char **pool;        /* owned: every string copied from the file */
	size_t pool_count;  /* strings in pool */
	size_t pool_cap;    /* slots allocated in pool */
	struct config_line *lines; /* owned: one per key the source sets */
	size_t line_count;         /* entries used */
	size_t line_cap;           /* entries allocated */
	const char *rules_file;    /* in pool, or NULL */
	cb_budget_config *budgets; /* in blocks: the budgets templates */
	size_t budget_count;       /* entries used */
	void **blocks;             /* owned: arrays the budgets section made */
	size_t block_count;        /* blocks used */
	size_t block_cap;          /* blocks allocated */
};

/* State of one load. */
struct config_loader {
	cb_config *cfg;         /* being filled; owned by the caller */
	bool has_client_secret; /* azure.client_secret written in the text */
	bool has_db_password;   /* database.dsn carries a password */
	const char *text;       /* the source text, for number literals */
};

struct config_key;

enum config_type {
	CONFIG_STRING, /* non-empty string, optionally checked by valid() */
	CONFIG_URL,    /* http(s) base URL, see url_problem() */
	CONFIG_INT,    /* integer in [min, max], stored as int */
	CONFIG_BOOL,   /* true/false, stored as bool */
	CONFIG_ENUM,   /* one of choices, stored as its index (int) */
	CONFIG_GROUP,  /* a nested section */
	CONFIG_CUSTOM  /* parse() does everything */
};

struct config_section {
	const char *path;              /* "" for the root, else "azure" */
	const struct config_key *keys; /* the keys it accepts */
	size_t key_count;
	/* Rules across keys, run after every key of the section is read. */
	int (*finish)(struct config_loader *ld);
};

struct config_key {
	const char *name; /* inside its section: "tenant_id" */
	const char *path; /* for messages: "azure.tenant_id" */
	enum config_type type;
	size_t offset; /* of the target field in struct cb_config */
	int min, max;  /* CONFIG_INT: accepted range */
	const char *const *choices;       /* CONFIG_ENUM: NULL-terminated */
	bool (*valid)(const char *value); /* CONFIG_STRING: extra check */
	const char *what; /* CONFIG_STRING: what valid() accepts */
	const struct config_section *section; /* CONFIG_GROUP */
	int (*parse)(struct config_loader *ld, const config_setting_t *s,
		const struct config_key *key); /* CONFIG_CUSTOM */
};

static int config_fail(const struct config_loader *ld, unsigned line,
	const char *fmt, ...) CB_FORMAT_PRINTF(3, 4);

static int
config_fail(const struct config_loader *ld, unsigned line, const char *fmt, ...)
{
	char msg[CB_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line == 0)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG, "%s: %s",
			ld->cfg->source, msg);
	return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG, "%s:%u: %s",
		ld->cfg->source, line, msg);
}

/* Overwrite memory that held a secret; volatile so it is not elided. */
static void
config_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static uint64_t
config_fnv1a64(const char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Copy s into the configuration's string pool; *out borrows the copy. */
static int
config_pool_dup(struct config_loader *ld, const char **out, const char *s)
{
	cb_config *cfg = ld->cfg;
	char *copy;

	if (cfg->pool_count == cfg->pool_cap) {
		size_t cap = cfg->pool_cap ? cfg->pool_cap * 2 : 16;
		char **p = cb__reallocarray(cfg->pool, cap, sizeof(*p));

		if (p == NULL)
			return CB_ENOMEM;
		cfg->pool = p;
		cfg->pool_cap = cap;
	}
	if ((copy = cb__strdup(s)) == NULL)
		return CB_ENOMEM;
	cfg->pool[cfg->pool_count++] = copy;
	*out = copy;
	return 0;
}

static int
config_record_line(struct config_loader *ld, const char *key, unsigned line)
{
	cb_config *cfg = ld->cfg;

	if (cfg->line_count == cfg->line_cap) {
		size_t cap = cfg->line_cap ? cfg->line_cap * 2 : 16;
		struct config_line *p =
			cb__reallocarray(cfg->lines, cap, sizeof(*p));

		if (p == NULL)
			return CB_ENOMEM;
		cfg->lines = p;
		cfg->line_cap = cap;
	}
	cfg->lines[cfg->line_count].key = key;
	cfg->lines[cfg->line_count].line = line;
	cfg->line_count++;
	return 0;
}

static unsigned
config_line_of(const cb_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->line_count; i++)
		if (strcmp(cfg->lines[i].key, key) == 0)
			return cfg->lines[i].line;
	return 0;
}

/* ---- value checks ---------------------------------------------------- */

static bool
valid_guid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* A DNS name of two or more labels (contoso.onmicrosoft.com). */
static bool
valid_domain(const char *s)
{
	size_t label = 0, labels = 0;

	if (strlen(s) > 253)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || p[-1] == '-')
				return false;
			labels++;
			label = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
		if (*p == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return labels >= 2;
}

static bool
valid_tenant(const char *s)
{
	return valid_guid(s) || valid_domain(s);
}

static bool
valid_env_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_ENV_NAME_MAX || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static bool
valid_billing_account(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_BILLING_ACCOUNT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != ':' &&
			s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* The hosts a plain-http endpoint may name: only the local emulator may be
 * reached without TLS (DESIGN.md). */
static bool
url_host_is_loopback(const char *host, size_t len)
{
	static const char *const loopback[] = { "localhost", "127.0.0.1",
		"[::1]" };

	for (size_t i = 0; i < CB_ARRAY_SIZE(loopback); i++)
		if (len == strlen(loopback[i]) &&
			strncasecmp(host, loopback[i], len) == 0)
			return true;
	return false;
}

/*
 * What is wrong with an endpoint override, or NULL.  A base URL: http or
 * https, a host, an optional port, an optional path; no credentials (they
 * would end up in logs), query or fragment (we append paths and queries).
 */
static const char *
url_problem(const char *url)
{
	const char *host, *end, *port;
	size_t host_len;
	bool plain;

	if (strncasecmp(url, "https://", 8) == 0) {
		host = url + 8;
		plain = false;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		host = url + 7;
		plain = true;
	} else {
		return "must be an http or https URL";
	}
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "must be an http or https URL";
	if (strpbrk(url, "?#") != NULL)
		return "must not have a query or fragment";
	end = host + strcspn(host, "/");
	if (memchr(host, '@', (size_t)(end - host)) != NULL)
		return "must not hold a user name or password";
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (close == NULL)
			return "must be an http or https URL";
		port = close + 1;
	} else {
		port = host + strcspn(host, ":/");
	}
	host_len = (size_t)(port - host);
	if (host_len == 0)
		return "must be an http or https URL";
	if (port < end) {
		unsigned long n = 0;
		size_t digits = (size_t)(end - port - 1);

		if (*port != ':' || digits == 0 || digits > 5)
			return "must be an http or https URL";
		for (const char *p = port + 1; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return "must be an http or https URL";
			n = n * 10 + (unsigned long)(*p - '0');
		}
		if (n == 0 || n > 65535)
			return "must be an http or https URL";
	}
	if (plain && !url_host_is_loopback(host, host_len))
		return "may use http only for a loopback host "
		       "(localhost, 127.0.0.1 or [::1])";
	return NULL;
}

/*
 * Whether a libpq DSN carries a password: "password=" in keyword/value
 * form or in a URI's query, or "user:password@" in a URI.  Quoted values
 * may give a false positive, which only makes the permission check
 * stricter.
 */
static bool
dsn_has_password(const char *dsn)
{
	const char *p, *q;

	if (strncmp(dsn, "postgresql://", 13) == 0 ||
		strncmp(dsn, "postgres://", 11) == 0) {
		const char *auth = strstr(dsn, "://") + 3;
		size_t n = strcspn(auth, "/?");
		const char *at = NULL;

		for (size_t i = 0; i < n; i++)
			if (auth[i] == '@')
				at = auth + i;
		if (at != NULL && memchr(auth, ':', (size_t)(at - auth)))
			return true;
		if ((q = strchr(dsn, '?')) == NULL)
			return false;
		for (p = q; p != NULL; p = strchr(p + 1, '&'))
			if (strncmp(p + 1, "password=", 9) == 0)
				return true;
		return false;
	}
	for (p = dsn; (p = strstr(p, "password")) != NULL; p += 8) {
		if (p != dsn && !isspace((unsigned char)p[-1]))
			continue;
		for (q = p + 8; isspace((unsigned char)*q); q++)
			;
		if (*q == '=')
			return true;
	}
	return false;
}

/* ---- the pre-scan ---------------------------------------------------- */

struct prescan {
	unsigned include_line;  /* first "@include", 0 if none */
	unsigned overflow_line; /* first integer libconfig would wrap */
	char overflow[48];      /* that integer's text (cut) */
	unsigned *value_lines;  /* owned: line where each value starts */
	size_t value_count;     /* entries used */
	size_t value_cap;       /* entries allocated */
};

/* Note that a value (scalar, '{', '(' or '[') starts on line. */
static int
prescan_value(struct prescan *ps, unsigned line)
{
	if (ps->value_count == ps->value_cap) {
		size_t cap = ps->value_cap ? ps->value_cap * 2 : 64;
		unsigned *p =
			cb__reallocarray(ps->value_lines, cap, sizeof(*p));

		if (p == NULL)
			return CB_ENOMEM;
		ps->value_lines = p;
		ps->value_cap = cap;
	}
	ps->value_lines[ps->value_count++] = line;
	return 0;
}

static bool
prescan_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '*';
}

/*
 * Scan one number token at p (a digit, or a sign and a digit); record it
 * if it is an integer libconfig 1.5 cannot hold: a plain or hex integer
 * outside int, or an L-suffixed one outside int64.  Floats are left alone.
 */
static const char *
prescan_number(struct prescan *ps, const char *p, unsigned line)
{
	const char *start = p, *d, *digits, *q;
	unsigned long long v, limit;
	char text[32];
	bool hex, neg, overflow;
	size_t ls, n;

	for (p++; isalnum((unsigned char)*p) || *p == '.' ||
		  ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E'));
		p++)
		;
	neg = *start == '-';
	d = (*start == '-' || *start == '+') ? start + 1 : start;
	hex = d[0] == '0' && (d[1] == 'x' || d[1] == 'X');
	digits = hex ? d + 2 : d;
	for (q = digits;
		hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q);
		q++)
		;
	for (ls = 0; q[ls] == 'L'; ls++)
		;
	if (q == digits || q + ls != p || ls > 2 || (hex && d != start))
		return p;
	while (q - digits > 1 && *digits == '0')
		digits++;
	n = (size_t)(q - digits);
	limit = ls ? (unsigned long long)INT64_MAX
		   : (unsigned long long)INT_MAX;
	if (neg)
		limit++;
	if (n >= sizeof(text)) {
		overflow = true;
	} else {
		memcpy(text, digits, n);
		text[n] = '\0';
		errno = 0;
		v = strtoull(text, NULL, hex ? 16 : 10);
		overflow = errno == ERANGE || v > limit;
	}
	if (overflow && ps->overflow_line == 0) {
		ps->overflow_line = line;
		snprintf(ps->overflow, sizeof(ps->overflow), "%.*s",
			(int)(p - start < 40 ? p - start : 40), start);
	}
	return p;
}

/*
 * Tokenise the text as libconfig's scanner does (comments, strings, names,
 * numbers) to find "@include" at the start of a line, integers that would
 * be wrapped, and the line where every value starts, in document order:
 * libconfig gives a list element the line of the token after it, so the
 * last element of a list closed on a later line would be misplaced (see
 * config_mark_lines).  Adjacent strings are one value, as libconfig joins
 * them; true and false (any case) are values, never names.  Malformed text
 * is scanned as far as it goes; the parser reports its errors afterwards.
 * Returns 0 or CB_ENOMEM.
 */
static int
config_prescan(struct prescan *ps, const char *p)
{
	unsigned line = 1;
	bool line_start = true, after_string = false;
	int error = 0;

	while (*p && error == 0) {
		unsigned char c = (unsigned char)*p;
		const char *start = p;

		if (c == '\n') {
			line++;
			line_start = true;
			p++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
			c == '\v') {
			p++;
			continue;
		}
		if (line_start && strncmp(p, "@include", 8) == 0) {
			if (ps->include_line == 0)
				ps->include_line = line;
			p += 8;
			line_start = false;
			continue;
		}
		line_start = false;
		if (c == '#' || (c == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
			continue;
		}
		if (c == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p)
				p += 2;
			continue;
		}
		if (c == '"') {
			if (!after_string)
				error = prescan_value(ps, line);
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p)
				p++;
			after_string = true;
			continue;
		}
		after_string = false;
		if (isalpha(c) || c == '*') {
			while (prescan_name_char((unsigned char)*p))
				p++;
			if ((p - start == 4 &&
				    strncasecmp(start, "true", 4) == 0) ||
				(p - start == 5 &&
					strncasecmp(start, "false", 5) == 0))
				error = prescan_value(ps, line);
		} else if (isdigit(c) ||
			   ((c == '-' || c == '+') &&
				   isdigit((unsigned char)p[1]))) {
			p = prescan_number(ps, p, line);
			error = prescan_value(ps, line);
		} else {
			if (c == '{' || c == '(' || c == '[')
				error = prescan_value(ps, line);
			p++;
		}
	}
	return error;
}

static size_t
config_count_settings(const config_setting_t *s)
{
	size_t n = 0;

	if (config_setting_is_aggregate(s))
		for (int i = 0; i < config_setting_length(s); i++)
			n += 1 + config_count_settings(config_setting_get_elem(
					 s, (unsigned)i));
	return n;
}

static void
config_mark_settings(config_setting_t *s, const unsigned *lines, size_t *next)
{
	if (!config_setting_is_aggregate(s))
		return;
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		config_setting_set_hook(e, (void *)(uintptr_t)lines[(*next)++]);
		config_mark_settings(e, lines, next);
	}
}

/*
 * Give every setting, through libconfig's per-setting hook, the line its
 * value starts on.  The pre-scan's values and the tree's settings are both
 * in document order, one value per setting; if the counts differ the scan
 * misread something and libconfig's own lines are kept.
 */
static void
config_mark_lines(config_t *lc, const struct prescan *ps)
{
	size_t next = 0;

	if (config_count_settings(config_root_setting(lc)) != ps->value_count)
		return;
	config_mark_settings(config_root_setting(lc), ps->value_lines, &next);
}

/*
 * The line to report for a setting: a named one where its name is, an
 * element of a list or array where its value starts.
 */
static unsigned
setting_line(const config_setting_t *s)
{
	uintptr_t value_line = (uintptr_t)config_setting_get_hook(s);

	if (config_setting_name(s) == NULL && value_line != 0)
		return (unsigned)value_line;
	return config_setting_source_line(s);
}

/* ---- keys -------------------------------------------------------------- */

static const char *
setting_string(const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return NULL;
	return config_setting_get_string(s);
}

static bool
setting_int(const config_setting_t *s, long long *out)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return true;
	case CONFIG_TYPE_INT64:
		*out = config_setting_get_int64(s);
		return true;
	default:
		return false;
	}
}

static int config_load_section(struct config_loader *ld,
	const config_setting_t *group, const struct config_section *sec);

static int
config_load_enum(struct config_loader *ld, const config_setting_t *s,
	const struct config_key *key, int *field)
{
	const char *v = setting_string(s);
	char list[256] = "";
	size_t used = 0;

	for (int i = 0; key->choices[i] != NULL; i++) {
		if (v != NULL && strcmp(v, key->choices[i]) == 0) {
			*field = i;
			return 0;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used,
			"%s%s", i ? ", " : "", key->choices[i]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	return config_fail(
		ld, setting_line(s), "'%s' must be one of %s", key->path, list);
}

static int
config_load_key(struct config_loader *ld, const config_setting_t *s,
	const struct config_key *key)
{
	unsigned line = setting_line(s);
	char *field = (char *)ld->cfg + key->offset;
	const char *v, *problem;
	long long n;
	int error;

	if ((error = config_record_line(ld, key->path, line)) < 0)
		return error;
	switch (key->type) {
	case CONFIG_STRING:
		v = setting_string(s);
		if (v == NULL || *v == '\0' ||
			(key->valid != NULL && !key->valid(v)))
			return config_fail(ld, line, "'%s' must be %s",
				key->path,
				key->what ? key->what : "a non-empty string");
		return config_pool_dup(ld, (const char **)(void *)field, v);
	case CONFIG_URL:
		if ((v = setting_string(s)) == NULL)
			return config_fail(ld, line,
				"'%s' must be an http or https URL", key->path);
		if ((problem = url_problem(v)) != NULL)
			return config_fail(
				ld, line, "'%s' %s", key->path, problem);
		return config_pool_dup(ld, (const char **)(void *)field, v);
	case CONFIG_INT:
		if (!setting_int(s, &n) || n < key->min || n > key->max)
			return config_fail(ld, line,
				"'%s' must be an integer from %d to %d",
				key->path, key->min, key->max);
		*(int *)(void *)field = (int)n;
		return 0;
	case CONFIG_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_fail(ld, line,
				"'%s' must be true or false", key->path);
		*(bool *)(void *)field = config_setting_get_bool(s) != 0;
		return 0;
	case CONFIG_ENUM:
		return config_load_enum(ld, s, key, (int *)(void *)field);
	case CONFIG_GROUP:
		if (!config_setting_is_group(s))
			return config_fail(ld, line,
				"'%s' must be a group ({ ... })", key->path);
		return config_load_section(ld, s, key->section);
	case CONFIG_CUSTOM:
		return key->parse(ld, s, key);
	}
	return cb__error_set(CB_ERROR, CB_ERRCLASS_CONFIG,
		"config: key '%s' has no type", key->path);
}

static int
config_load_section(struct config_loader *ld, const config_setting_t *group,
	const struct config_section *sec)
{
	int count = config_setting_length(group);
	int error;

	for (int i = 0; i < count; i++) {
		const config_setting_t *s =
			config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct config_key *key = NULL;

		for (size_t k = 0; k < sec->key_count; k++) {
			if (strcmp(sec->keys[k].name, name) == 0) {
				key = &sec->keys[k];
				break;
			}
		}
		if (key == NULL)
			return config_fail(ld, setting_line(s),
				"unknown key '%s%s%.*s'", sec->path,
				*sec->path ? "." : "", CONFIG_KEY_PRINT_MAX,
				name);
		if ((error = config_load_key(ld, s, key)) < 0)
			return error;
	}
	return sec->finish ? sec->finish(ld) : 0;
}

/* ---- sections ---------------------------------------------------------- */

static int
database_finish(struct config_loader *ld)
{
	if (ld->cfg->dsn != NULL && dsn_has_password(ld->cfg->dsn))
		ld->has_db_password = true;
	return 0;
}

static int
azure_finish(struct config_loader *ld)
{
	cb_azure_config *az = &ld->cfg->azure;
	unsigned secret_line = config_line_of(ld->cfg, "azure.client_secret");
	unsigned env_line = config_line_of(ld->cfg, "azure.client_secret_env");
	const char *value;
	int error;

	az->cloud_name = cloud_names[az->cloud];
	if (secret_line && env_line)
		return config_fail(ld,
			secret_line > env_line ? secret_line : env_line,
			"set only one of 'azure.client_secret' and "
			"'azure.client_secret_env'");
	if (az->client_secret != NULL)
		ld->has_client_secret = true;
	if (az->client_secret_env != NULL) {
		value = getenv(az->client_secret_env);
		if (value == NULL || *value == '\0')
			return config_fail(ld, env_line,
				"environment variable '%s' named by "
				"'azure.client_secret_env' is %s",
				az->client_secret_env,
				value ? "empty" : "not set");
		if ((error = config_pool_dup(ld, &az->client_secret, value)) <
			0)
			return error;
	}
	if (az->managed_identity_client_id != NULL && !az->managed_identity)
		return config_fail(ld,
			config_line_of(
				ld->cfg, "azure.managed_identity_client_id"),
			"'azure.managed_identity_client_id' needs "
			"'azure.managed_identity = true'");
	return 0;
}

static int
http_finish(struct config_loader *ld)
{
	const cb_http_config *http = &ld->cfg->http;
	unsigned a = config_line_of(ld->cfg, "http.timeout_seconds");
	unsigned b = config_line_of(ld->cfg, "http.connect_timeout_seconds");

	if (http->connect_timeout_seconds > http->timeout_seconds)
		return config_fail(ld, a > b ? a : b,
			"'http.connect_timeout_seconds' must not exceed "
			"'http.timeout_seconds'");
	return 0;
}

static int
billing_accounts_parse(struct config_loader *ld, const config_setting_t *s,
	const struct config_key *key)
{
	cb_config *cfg = ld->cfg;
	unsigned line = setting_line(s);
	int count, error;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return config_fail(ld, line,
			"'%s' must be a list of billing account names",
			key->path);
	if ((count = config_setting_length(s)) == 0)
		return config_fail(ld, line,
			"'%s' is empty: name at least one billing account, "
			"or leave the key out",
			key->path);
	if (count > CONFIG_BILLING_ACCOUNTS_MAX)
		return config_fail(ld, line, "'%s' lists more than %d names",
			key->path, CONFIG_BILLING_ACCOUNTS_MAX);
	cfg->billing_accounts =
		cb__calloc((size_t)count, sizeof(*cfg->billing_accounts));
	if (cfg->billing_accounts == NULL)
		return CB_ENOMEM;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e =
			config_setting_get_elem(s, (unsigned)i);
		const char *v = setting_string(e);
		unsigned eline = setting_line(e);

		if (v == NULL || !valid_billing_account(v))
			return config_fail(ld, eline,
				"'%s' entries must be 1 to %d characters of "
				"A-Z a-z 0-9 : _ -",
				key->path, CONFIG_BILLING_ACCOUNT_MAX);
		for (size_t j = 0; j < cfg->billing_account_count; j++)
			if (strcmp(cfg->billing_accounts[j], v) == 0)
				return config_fail(ld, eline,
					"billing account '%s' is listed twice",
					v);
		error = config_pool_dup(ld,
			&cfg->billing_accounts[cfg->billing_account_count], v);
		if (error < 0)
			return error;
		cfg->billing_account_count++;
	}
	return 0;
}

/* ---- policies and labels ----------------------------------------------- */

/*
 * A partner has hundreds to a few thousand customers; a policy rule or a
 * label member per customer stays under 10,000, and the tie checks
 * (n^2 comparisons of short strings) stay instant at that size.
 */
#define CONFIG_POLICIES_MAX      10000
#define CONFIG_LABEL_MEMBERS_MAX 10000

/* A name pattern is matched against a display name (Azure allows 256
 * characters there). */
#define CONFIG_PATTERN_MAX 256

/* MPN (Partner) ids are numbers of 6 to 10 digits; 32 leaves room. */
#define CONFIG_MPN_MAX 32

static const char *const view_charges_names[] = { "notallowed", "allowed",
	NULL };
static_assert(CB_VIEW_CHARGES_NOTALLOWED == 0 && CB_VIEW_CHARGES_ALLOWED == 1,
	"view_charges_names follows cb_view_charges");

/* Customer ids go verbatim into ARM paths, as billing account names do:
 * GUIDs or "Q7GV-UUVA-PJA-TGB", so the same character set. */
static bool
valid_customer_id(const char *s)
{
	return valid_billing_account(s);
}

static bool
valid_mpn(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_MPN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool
valid_pattern(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CONFIG_PATTERN_MAX;
}

/* Selector keys of a policies entry, indexed by cb_select_kind. */
static const char *const select_keys[] = { "all", "name", "reseller", "label",
	"customer" };

/* "customer 'x'", for the tie message. */
static void
select_describe(char *out, size_t outlen, int kind, const char *value)
{
	static const char *const what[] = { "", "name pattern", "reseller",
		"label", "customer" };

	if (kind == CB_SELECT_ALL)
		snprintf(out, outlen, "every customer ('all')");
	else
		snprintf(out, outlen, "%s '%.*s'", what[kind], 160, value);
}

/* Two entries name the same selector: ids, patterns and MPN ids compare
 * as Azure compares names (any case); labels are keys (exact). */
static bool
select_same(int kind, const char *a, const char *b)
{
	if (kind == CB_SELECT_ALL)
		return true;
	if (kind == CB_SELECT_LABEL)
		return strcmp(a, b) == 0;
	return strcasecmp(a, b) == 0;
}

/* A string value of a selector key, checked. */
static int
policy_string(struct config_loader *ld, const config_setting_t *m,
	const char *key, bool (*valid)(const char *), const char *what,
	const char **out)
{
	const char *v = setting_string(m);

	if (v == NULL || !valid(v))
		return config_fail(ld, setting_line(m),
			"'policies.%s' must be %s", key, what);
	return config_pool_dup(ld, out, v);
}

/* One entry of the policies list into r. */
static int
policy_entry(
	struct config_loader *ld, const config_setting_t *e, cb_policy_rule *r)
{
	unsigned line = setting_line(e);
	const char *selector = NULL;
	bool has_value = false;
	int error;

	r->line = line;
	if (!config_setting_is_group(e))
		return config_fail(ld, line,
			"'policies' entries must be groups "
			"({ customer = \"...\"; view_charges = \"allowed\"; })");
	for (int i = 0; i < config_setting_length(e); i++) {
		const config_setting_t *m =
			config_setting_get_elem(e, (unsigned)i);
		const char *name = config_setting_name(m);
		int kind = -1;

		if (strcmp(name, "view_charges") == 0) {
			const char *v = setting_string(m);

			r->view_charges = -1;
			for (int k = 0; v && view_charges_names[k]; k++)
				if (strcasecmp(v, view_charges_names[k]) == 0)
					r->view_charges = k;
			if (r->view_charges < 0)
				return config_fail(ld, setting_line(m),
					"'policies.view_charges' must be "
					"allowed or notallowed");
			has_value = true;
			continue;
		}
		for (int k = 0; k < (int)CB_ARRAY_SIZE(select_keys); k++)
			if (strcmp(name, select_keys[k]) == 0)
				kind = k;
		if (kind < 0)
			return config_fail(ld, setting_line(m),
				"unknown key 'policies.%.*s'",
				CONFIG_KEY_PRINT_MAX, name);
		if (selector != NULL)
			return config_fail(ld, setting_line(m),
				"a 'policies' entry has two selectors ('%s' "
				"and '%s'): give one per entry",
				selector, name);
		selector = select_keys[kind];
		r->kind = kind;
		switch (kind) {
		case CB_SELECT_ALL:
			if (config_setting_type(m) != CONFIG_TYPE_BOOL ||
				!config_setting_get_bool(m))
				return config_fail(ld, setting_line(m),
					"'policies.all' must be true");
			error = 0;
			break;
		case CB_SELECT_CUSTOMER:
			error = policy_string(ld, m, name, valid_customer_id,
				"a customer id: 1 to 128 characters of A-Z "
				"a-z 0-9 : _ -",
				&r->value);
			break;
		case CB_SELECT_RESELLER:
			error = policy_string(ld, m, name, valid_mpn,
				"an MPN id (1 to 32 digits)", &r->value);
			break;
		case CB_SELECT_NAME:
			error = policy_string(ld, m, name, valid_pattern,
				"a name pattern of 1 to 256 characters",
				&r->value);
			break;
		default: /* CB_SELECT_LABEL */
			error = policy_string(ld, m, name, valid_pattern,
				"a label name", &r->value);
			break;
		}
		if (error < 0)
			return error;
	}
	if (selector == NULL)
		return config_fail(ld, line,
			"a 'policies' entry needs a selector: all, customer, "
			"label, reseller or name");
	if (!has_value)
		return config_fail(ld, line,
			"a 'policies' entry needs 'view_charges' (allowed or "
			"notallowed)");
	return 0;
}

static int
policies_parse(struct config_loader *ld, const config_setting_t *s,
	const struct config_key *key)
{
	cb_config *cfg = ld->cfg;
	unsigned line = setting_line(s);
	int count, error;

	if (!config_setting_is_list(s))
		return config_fail(ld, line,
			"'%s' must be a list of groups ( { ... }, ... )",
			key->path);
	if ((count = config_setting_length(s)) > CONFIG_POLICIES_MAX)
		return config_fail(ld, line, "'%s' has more than %d entries",
			key->path, CONFIG_POLICIES_MAX);
	if (count == 0)
		return 0;
	cfg->policies = cb__calloc((size_t)count, sizeof(*cfg->policies));
	if (cfg->policies == NULL)
		return CB_ENOMEM;
	for (int i = 0; i < count; i++) {
		cb_policy_rule *r = &cfg->policies[i];
		char what[200];

		error = policy_entry(
			ld, config_setting_get_elem(s, (unsigned)i), r);
		if (error < 0)
			return error;
		for (size_t j = 0; j < cfg->policy_count; j++) {
			const cb_policy_rule *o = &cfg->policies[j];

			if (o->kind != r->kind ||
				!select_same(r->kind, o->value, r->value) ||
				o->view_charges == r->view_charges)
				continue;
			select_describe(what, sizeof(what), r->kind, r->value);
			return config_fail(ld, r->line,
				"%s is selected at lines %u and %u with "
				"different view_charges (%s, %s)",
				what, o->line, r->line,
				view_charges_names[o->view_charges],
				view_charges_names[r->view_charges]);
		}
		cfg->policy_count++;
	}
	return 0;
}

/* The customers or names list of a label, appended to members. */
static int
label_list(struct config_loader *ld, const config_setting_t *m,
	const char *label, cb_label_member *members, size_t *count)
{
	bool ids = strcmp(config_setting_name(m), "customers") == 0;
	int n;

	if ((!config_setting_is_array(m) && !config_setting_is_list(m)) ||
		(n = config_setting_length(m)) == 0)
		return config_fail(ld, setting_line(m),
			"'labels.%s.%s' must be a non-empty list of %s", label,
			config_setting_name(m),
			ids ? "customer ids" : "name patterns");
	for (int i = 0; i < n; i++) {
		const config_setting_t *e =
			config_setting_get_elem(m, (unsigned)i);
		const char *v = setting_string(e);
		cb_label_member *mb = &members[*count];
		int error;

		if (v == NULL ||
			!(ids ? valid_customer_id(v) : valid_pattern(v)))
			return config_fail(ld, setting_line(e),
				"'labels.%s.%s' entries must be %s", label,
				config_setting_name(m),
				ids ? "customer ids: 1 to 128 characters of "
				      "A-Z a-z 0-9 : _ -"
				    : "name patterns of 1 to 256 characters");
		mb->kind = ids ? CB_SELECT_CUSTOMER : CB_SELECT_NAME;
		mb->line = setting_line(e);
		if ((error = config_pool_dup(ld, &mb->value, v)) < 0)
			return error;
		(*count)++;
	}
	return 0;
}

static int
label_entry(struct config_loader *ld, const config_setting_t *g, cb_label *l)
{
	const char *name = config_setting_name(g);
	cb_label_member *members;
	size_t total = 0, count = 0;
	int error;

	l->line = setting_line(g);
	if ((error = config_pool_dup(ld, &l->name, name)) < 0)
		return error;
	if (!config_setting_is_group(g))
		return config_fail(ld, l->line,
			"'labels.%s' must be a group "
			"({ customers = [ ... ]; names = [ ... ]; })",
			name);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m =
			config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);

		if (strcmp(key, "customers") != 0 && strcmp(key, "names") != 0)
			return config_fail(ld, setting_line(m),
				"unknown key 'labels.%s.%.*s'", name,
				CONFIG_KEY_PRINT_MAX, key);
		if (config_setting_is_aggregate(m))
			total += (size_t)config_setting_length(m);
	}
	if (total == 0 && config_setting_length(g) == 0)
		return config_fail(ld, l->line,
			"label '%s' is empty: give customers or names", name);
	if (total > CONFIG_LABEL_MEMBERS_MAX)
		return config_fail(ld, l->line,
			"label '%s' has more than %d members", name,
			CONFIG_LABEL_MEMBERS_MAX);
	if ((members = cb__calloc(total ? total : 1, sizeof(*members))) == NULL)
		return CB_ENOMEM;
	l->members = members;
	/* customers first, then names, whatever the order in the file */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < config_setting_length(g); i++) {
			const config_setting_t *m =
				config_setting_get_elem(g, (unsigned)i);
			bool ids = strcmp(config_setting_name(m),
					   "customers") == 0;

			if (ids != (pass == 0))
				continue;
			error = label_list(ld, m, name, members, &count);
			if (error < 0)
				return error;
		}
	}
	l->member_count = count;
	return 0;
}

static int
labels_parse(struct config_loader *ld, const config_setting_t *s,
	const struct config_key *key)
{
	cb_config *cfg = ld->cfg;
	int count, error;

	if (!config_setting_is_group(s))
		return config_fail(ld, setting_line(s),
			"'%s' must be a group of labels "
			"({ gold = { customers = [ ... ]; }; })",
			key->path);
	if ((count = config_setting_length(s)) == 0)
		return 0;
	if (count > CONFIG_POLICIES_MAX)
		return config_fail(ld, setting_line(s),
			"'%s' has more than %d labels", key->path,
			CONFIG_POLICIES_MAX);
	if ((cfg->labels = cb__calloc((size_t)count, sizeof(*cfg->labels))) ==
		NULL)
		return CB_ENOMEM;
	for (int i = 0; i < count; i++) {
		/* counted first, so cb_config_free() frees a half-made one */
		cb_label *l = &cfg->labels[cfg->label_count++];

		error = label_entry(
			ld, config_setting_get_elem(s, (unsigned)i), l);
		if (error < 0)
			return error;
	}
	return 0;
}

/* After the whole file: every label a policy names is defined (labels may
 * come after policies in the file). */
static int
root_finish(struct config_loader *ld)
{
	const cb_config *cfg = ld->cfg;

	for (size_t i = 0; i < cfg->policy_count; i++) {
		const cb_policy_rule *r = &cfg->policies[i];

		if (r->kind == CB_SELECT_LABEL &&
			cb_config_label_find(cfg, r->value) == NULL)
			return config_fail(ld, r->line,
				"label '%s' is not defined in 'labels'",
				r->value);
	}
	return 0;
}

/* ---- budgets ------------------------------------------------------------ */

/*
 * budgets = ( { name = ...; select = {...}; amount = ... | history = {...};
 * time_grain; start; end; notifications = (...); filter = (...); }, ... ).
 * Each template, notification, selector and filter is read through a
 * small key table (budget_keys and friends); every rule Azure applies to a
 * customer-scope budget (azure-api-notes.md a.4, emulator/budgets.c) is
 * checked here, so a refusal names the configuration line and nothing is
 * sent.  Amounts, thresholds and percents are exact decimals: a string, an
 * integer, or a number literal re-read from the source text, never through
 * libconfig's double.
 */

/* Templates: a partner has a handful of budget kinds; 1000 is far more. */
#define CONFIG_BUDGETS_MAX 1000
/* The budget name is "cb-" + template name and Azure allows 63
 * characters of [A-Za-z0-9_-]. */
#define CONFIG_BUDGET_NAME_MAX 60
/* Azure's limits: 5 notifications per threshold type, 50 contact
 * e-mails, filter values 1000 (emulator/budgets.c mirrors them). */
#define CONFIG_BUDGET_NOTIFY_MAX 5
#define CONFIG_BUDGET_EMAILS_MAX 50
#define CONFIG_BUDGET_VALUES_MAX 1000
/* Customer ids listed in one selector; a partner's customer count. */
#define CONFIG_BUDGET_CUSTOMERS_MAX 100000
/* Filter expressions ANDed in one budget. */
#define CONFIG_BUDGET_FILTERS_MAX 16
/* Longest decimal literal read (amounts, thresholds): far above any. */
#define CONFIG_DECIMAL_MAX 64

static const char *const budget_grain_names[] = { "Monthly", "Quarterly",
	"Annually", NULL };
static const char *const budget_type_names[] = { "Actual", "Forecasted", NULL };
static const char *const budget_operator_names[] = { "GreaterThan",
	"GreaterThanOrEqualTo", NULL };
static const char *const budget_locales[] = { "en-us", "ja-jp", "zh-cn",
	"de-de", "es-es", "fr-fr", "it-it", "ko-kr", "pt-br", "ru-ru", "zh-tw",
	"cs-cz", "pl-pl", "tr-tr", "da-dk", "en-gb", "hu-hu", "nb-no", "nl-nl",
	"pt-pt", "sv-se", NULL };

/* A zeroed array owned by the configuration. */
static void *
config_block(struct config_loader *ld, size_t n, size_t size)
{
	cb_config *cfg = ld->cfg;
	void *p;

	if (cfg->block_count == cfg->block_cap) {
		size_t cap = cfg->block_cap ? cfg->block_cap * 2 : 16;
		void **b = cb__reallocarray(cfg->blocks, cap, sizeof(*b));

		if (b == NULL)
			return NULL;
		cfg->blocks = b;
		cfg->block_cap = cap;
	}
	if ((p = cb__calloc(n ? n : 1, size)) == NULL)
		return NULL;
	cfg->blocks[cfg->block_count++] = p;
	return p;
}

/* The text of the number literal of setting s, named key, on its line:
 * libconfig keeps only a double.  Found as "key" followed by '=' or ':'
 * on the setting's line; two such keys on one line are ambiguous and
 * refused.  Returns 0, or CB_ECONFIG. */
static int
config_literal(struct config_loader *ld, const config_setting_t *s,
	const char *path, char *out, size_t outlen)
{
	const char *key = config_setting_name(s), *p = ld->text, *hit = NULL;
	unsigned line = config_setting_source_line(s), at = 1;
	size_t klen = key ? strlen(key) : 0;

	while (*p != '\0' && at < line)
		at += *p++ == '\n';
	for (const char *q = p; klen > 0 && *q != '\0' && *q != '\n'; q++) {
		const char *v = q + klen;

		if (strncmp(q, key, klen) != 0 ||
			(q > p && prescan_name_char((unsigned char)q[-1])) ||
			prescan_name_char((unsigned char)*v))
			continue;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=' && *v != ':')
			continue;
		if (hit != NULL)
			return config_fail(ld, line,
				"'%s': write one such number per line, or "
				"quote it",
				path);
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		hit = v;
	}
	if (hit == NULL)
		return config_fail(
			ld, line, "'%s': cannot find its number", path);
	size_t n = strspn(hit, "+-0123456789.eE");
	if (n == 0 || n >= outlen)
		return config_fail(ld, line, "'%s' must be a decimal", path);
	memcpy(out, hit, n);
	out[n] = '\0';
	return 0;
}

/* An exact decimal: "12.50", 12 or 12.50; *text_out (may be NULL) gets its
 * text for messages.  Returns 0, or CB_ECONFIG naming path and what. */
static int
config_decimal(struct config_loader *ld, const config_setting_t *s,
	const char *path, const char *what, cb_money *out)
{
	char text[CONFIG_DECIMAL_MAX];
	const char *v = NULL;
	long long n;
	int error;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		v = config_setting_get_string(s);
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		setting_int(s, &n);
		snprintf(text, sizeof(text), "%lld", n);
		v = text;
		break;
	case CONFIG_TYPE_FLOAT:
		if ((error = config_literal(ld, s, path, text, sizeof(text))) <
			0)
			return error;
		v = text;
		break;
	default:
		return config_fail(
			ld, setting_line(s), "'%s' must be %s", path, what);
	}
	if (cb_money_parse(out, v, strlen(v)) < 0)
		return config_fail(ld, setting_line(s),
			"'%s' must be %s: '%.64s'", path, what, v);
	return 0;
}

/* A list of 1..max non-empty strings into the configuration; line of each
 * into *lines_out when not NULL. */
static int
config_strings(struct config_loader *ld, const config_setting_t *s,
	const char *path, size_t max, bool (*valid)(const char *),
	const char *what, const char *const **out, size_t *count_out,
	const unsigned **lines_out)
{
	unsigned line = setting_line(s);
	const char **v;
	unsigned *lines = NULL;
	int count, error;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return config_fail(
			ld, line, "'%s' must be a list of %s", path, what);
	count = config_setting_length(s);
	if (count == 0 || (size_t)count > max)
		return config_fail(ld, line, "'%s' must list 1 to %zu %s", path,
			max, what);
	if ((v = config_block(ld, (size_t)count, sizeof(*v))) == NULL ||
		(lines_out != NULL && (lines = config_block(ld, (size_t)count,
					       sizeof(*lines))) == NULL))
		return CB_ENOMEM;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e =
			config_setting_get_elem(s, (unsigned)i);
		const char *t = setting_string(e);

		if (t == NULL || *t == '\0' || (valid != NULL && !valid(t)))
			return config_fail(ld, setting_line(e),
				"'%s' entries must be %s", path, what);
		if ((error = config_pool_dup(ld, &v[i], t)) < 0)
			return error;
		if (lines != NULL)
			lines[i] = setting_line(e);
	}
	*out = v;
	*count_out = (size_t)count;
	if (lines_out != NULL)
		*lines_out = lines;
	return 0;
}

static int
config_choice(struct config_loader *ld, const config_setting_t *s,
	const char *path, const char *const *choices, int *out)
{
	const char *v = setting_string(s);
	char list[512] = "";
	size_t used = 0;

	for (int i = 0; choices[i] != NULL; i++) {
		if (v != NULL && strcmp(v, choices[i]) == 0) {
			*out = i;
			return 0;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used,
			"%s%s", i ? ", " : "", choices[i]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	return config_fail(
		ld, setting_line(s), "'%s' must be one of %s", path, list);
}

static bool
valid_budget_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_BUDGET_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* Azure's check (emulator/budgets.c valid_email): local@domain.tld. */
static bool
valid_email(const char *e)
{
	const char *at = strchr(e, '@');

	if (at == NULL || at == e || at[1] == '\0' || strchr(at + 1, '@') ||
		strchr(at + 1, '.') == NULL || strlen(e) > 254)
		return false;
	for (const char *p = e; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == ';')
			return false;
	return true;
}

/* YYYY-MM-DD, a real date from 2017-06-01 (Azure's first) on; into
 * *y, *m, *d. */
static bool
budget_date(const char *s, int *y, int *m, int *d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	     (s[3] - '0');
	*m = (s[5] - '0') * 10 + (s[6] - '0');
	*d = (s[8] - '0') * 10 + (s[9] - '0');
	if (*m < 1 || *m > 12 || *d < 1)
		return false;
	int max = mdays[*m - 1] + (*m == 2 && ((*y % 4 == 0 && *y % 100 != 0) ||
						      *y % 400 == 0));
	return *d <= max && *y * 10000 + *m * 100 + *d >= 20170601;
}

/* A budget section being read: the template and its path prefix. */
struct budget_ctx {
	cb_budget_config *b;
	char path[64]; /* "budgets[3]" */
	bool has_amount, has_history, has_select, has_grain, has_start;
	unsigned amount_line;
};

struct budget_key {
	const char *name;
	int (*parse)(struct config_loader *ld, const config_setting_t *s,
		struct budget_ctx *bc, const char *path);
};

/* Read group s through table: every member must be a known key. */
static int
budget_group(struct config_loader *ld, const config_setting_t *s,
	const char *path, const struct budget_key *table, size_t n,
	struct budget_ctx *bc)
{
	char sub[160];
	int error;

	if (!config_setting_is_group(s))
		return config_fail(ld, setting_line(s),
			"'%s' must be a group { ... }", path);
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e =
			config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(e);
		size_t k;

		for (k = 0; k < n && strcmp(table[k].name, name) != 0; k++)
			;
		snprintf(sub, sizeof(sub), "%s.%s", path, name);
		if (k == n)
			return config_fail(ld, setting_line(e),
				"unknown key '%.*s'", CONFIG_KEY_PRINT_MAX,
				sub);
		if ((error = table[k].parse(ld, e, bc, sub)) < 0)
			return error;
	}
	return 0;
}

static int
bk_name(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	const char *v = setting_string(s);

	if (v == NULL || !valid_budget_name(v))
		return config_fail(ld, setting_line(s),
			"'%s' must be 1 to %d characters of A-Z a-z 0-9 _ - "
			"(the budget is named \"cb-\" + name)",
			path, CONFIG_BUDGET_NAME_MAX);
	return config_pool_dup(ld, &bc->b->name, v);
}

static int
sel_all(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL ||
		!config_setting_get_bool(s))
		return config_fail(ld, setting_line(s),
			"'%s' must be true (leave it out otherwise)", path);
	bc->b->select = CB_BUDGET_SELECT_ALL;
	return 0;
}

static int
sel_customers(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	bc->b->select = CB_BUDGET_SELECT_CUSTOMERS;
	return config_strings(ld, s, path, CONFIG_BUDGET_CUSTOMERS_MAX, NULL,
		"customer ids", &bc->b->customers, &bc->b->customer_count,
		&bc->b->customer_lines);
}

static int
sel_name(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	const char *v = setting_string(s);

	if (v == NULL || *v == '\0')
		return config_fail(ld, setting_line(s),
			"'%s' must be a name pattern (* and ? wildcards)",
			path);
	bc->b->select = CB_BUDGET_SELECT_NAME;
	return config_pool_dup(ld, &bc->b->pattern, v);
}

static int
sel_reseller(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	const char *v = setting_string(s);

	if (v == NULL || *v == '\0')
		return config_fail(ld, setting_line(s),
			"'%s' must be a reseller MPN id", path);
	bc->b->select = CB_BUDGET_SELECT_RESELLER;
	return config_pool_dup(ld, &bc->b->reseller, v);
}

static const struct budget_key budget_select_keys[] = {
	{ "all", sel_all },
	{ "customers", sel_customers },
	{ "name", sel_name },
	{ "reseller", sel_reseller },
};

static int
bk_select(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int error;

	bc->b->select_line = setting_line(s);
	if ((error = budget_group(ld, s, path, budget_select_keys,
		     CB_ARRAY_SIZE(budget_select_keys), bc)) < 0)
		return error;
	if (config_setting_length(s) != 1)
		return config_fail(ld, setting_line(s),
			"'%s' must hold exactly one of all, customers, name "
			"or reseller",
			path);
	bc->has_select = true;
	return 0;
}

static int
bk_amount(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int error = config_decimal(
		ld, s, path, "a positive exact decimal", &bc->b->amount);

	if (error < 0)
		return error;
	if (cb_money_sign(bc->b->amount) <= 0) {
		char t[CB_MONEY_STR_MAX];

		cb_money_format(t, sizeof(t), bc->b->amount);
		return config_fail(ld, setting_line(s),
			"'%s' must be a positive exact decimal: '%s'", path, t);
	}
	bc->b->fixed = true;
	bc->has_amount = true;
	bc->amount_line = setting_line(s);
	return 0;
}

static int
hk_percent(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int error = config_decimal(
		ld, s, path, "a positive exact decimal", &bc->b->percent);

	if (error == 0 && cb_money_sign(bc->b->percent) <= 0)
		return config_fail(ld, setting_line(s),
			"'%s' must be a positive exact decimal", path);
	return error;
}

static int
hk_months(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	long long n;

	/* Cost Management's Query spans at most a year. */
	if (!setting_int(s, &n) || n < 1 || n > 12)
		return config_fail(ld, setting_line(s),
			"'%s' must be an integer from 1 to 12", path);
	bc->b->months = (int)n;
	return 0;
}

static int
hk_step(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int error = config_decimal(
		ld, s, path, "a positive exact decimal", &bc->b->step);

	if (error == 0 && cb_money_sign(bc->b->step) <= 0)
		return config_fail(ld, setting_line(s),
			"'%s' must be a positive exact decimal", path);
	return error;
}

static const struct budget_key history_keys[] = {
	{ "percent", hk_percent },
	{ "months", hk_months },
	{ "step", hk_step },
};

static int
bk_history(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int error;

	bc->b->percent = cb_money_from_int(100);
	bc->b->months = 3;
	bc->b->step = cb_money_from_int(1);
	if ((error = budget_group(ld, s, path, history_keys,
		     CB_ARRAY_SIZE(history_keys), bc)) < 0)
		return error;
	bc->has_history = true;
	bc->amount_line = setting_line(s);
	return 0;
}

static int
bk_grain(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	bc->has_grain = true;
	return config_choice(ld, s, path, budget_grain_names, &bc->b->grain);
}

static int
bk_date(struct config_loader *ld, const config_setting_t *s, const char *path,
	bool start, const char **out)
{
	const char *v = setting_string(s);
	int y, m, d;

	if (v == NULL || !budget_date(v, &y, &m, &d))
		return config_fail(ld, setting_line(s),
			"'%s' must be a date YYYY-MM-DD on or after "
			"2017-06-01",
			path);
	if (start && d != 1)
		return config_fail(ld, setting_line(s),
			"'%s' must be the first day of a month: '%s'", path, v);
	return config_pool_dup(ld, out, v);
}

static int
bk_start(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	bc->has_start = true;
	return bk_date(ld, s, path, true, &bc->b->start);
}

static int
bk_end(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	return bk_date(ld, s, path, false, &bc->b->end);
}

/* The notification being read: bc->b->notifications is writable here. */
static cb_budget_notification_config *
budget_note(struct budget_ctx *bc)
{
	return (cb_budget_notification_config *)(uintptr_t)&bc->b
		->notifications[bc->b->notification_count];
}

static int
nk_type(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int v, error = config_choice(ld, s, path, budget_type_names, &v);

	budget_note(bc)->forecasted = v == 1;
	return error;
}

static int
nk_operator(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int v, error = config_choice(ld, s, path, budget_operator_names, &v);

	budget_note(bc)->or_equal = v == 1;
	return error;
}

static int
nk_threshold(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	static const char what[] = "a percent greater than 0 and at most 1000 "
				   "with at most 2 decimals";
	cb_money t, r;
	char text[CB_MONEY_STR_MAX];
	int error = config_decimal(ld, s, path, what, &t);

	if (error < 0)
		return error;
	if (cb_money_sign(t) <= 0 ||
		cb_money_cmp(t, cb_money_from_int(1000)) > 0 ||
		cb_money_round(&r, t, 2) < 0 || cb_money_cmp(r, t) != 0) {
		cb_money_format(text, sizeof(text), t);
		return config_fail(ld, setting_line(s),
			"'%s' must be %s (Azure refuses '%s')", path, what,
			text);
	}
	budget_note(bc)->threshold = t;
	return 0;
}

static int
nk_emails(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	cb_budget_notification_config *n = budget_note(bc);

	return config_strings(ld, s, path, CONFIG_BUDGET_EMAILS_MAX,
		valid_email, "e-mail addresses", &n->emails, &n->email_count,
		NULL);
}

static int
nk_roles(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	(void)bc;
	return config_fail(ld, setting_line(s),
		"'%s': Azure accepts contact roles only at subscription and "
		"resource group scopes; customer budgets notify e-mails",
		path);
}

static int
nk_locale(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int v, error = config_choice(ld, s, path, budget_locales, &v);

	if (error < 0)
		return error;
	budget_note(bc)->locale = budget_locales[v];
	return 0;
}

static int
nk_enabled(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return config_fail(ld, setting_line(s),
			"'%s' must be true or false", path);
	budget_note(bc)->enabled = config_setting_get_bool(s) != 0;
	return 0;
}

static const struct budget_key notification_keys[] = {
	{ "type", nk_type },
	{ "operator", nk_operator },
	{ "threshold", nk_threshold },
	{ "emails", nk_emails },
	{ "roles", nk_roles },
	{ "locale", nk_locale },
	{ "enabled", nk_enabled },
};

static int
bk_notifications(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int count = config_setting_length(s), error;
	size_t per_type[2] = { 0, 0 };
	char sub[96];

	if (!config_setting_is_list(s))
		return config_fail(ld, setting_line(s),
			"'%s' must be a list ( { ... }, ... )", path);
	if (count > 2 * CONFIG_BUDGET_NOTIFY_MAX)
		count = 2 * CONFIG_BUDGET_NOTIFY_MAX + 1;
	bc->b->notifications =
		config_block(ld, (size_t)count, sizeof(*bc->b->notifications));
	if (bc->b->notifications == NULL)
		return CB_ENOMEM;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e =
			config_setting_get_elem(s, (unsigned)i);
		cb_budget_notification_config *n;

		snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		if (i == count)
			return config_fail(ld, setting_line(e),
				"'%s': Azure allows at most %d notifications "
				"of each type",
				sub, CONFIG_BUDGET_NOTIFY_MAX);
		n = budget_note(bc);
		n->enabled = true;
		n->line = setting_line(e);
		if ((error = budget_group(ld, e, sub, notification_keys,
			     CB_ARRAY_SIZE(notification_keys), bc)) < 0)
			return error;
		if (config_setting_get_member(e, "threshold") == NULL ||
			n->email_count == 0)
			return config_fail(ld, n->line,
				"'%s' needs a threshold and at least one "
				"e-mail in emails",
				sub);
		if (++per_type[n->forecasted] > CONFIG_BUDGET_NOTIFY_MAX)
			return config_fail(ld, n->line,
				"'%s': Azure allows at most %d %s "
				"notifications",
				sub, CONFIG_BUDGET_NOTIFY_MAX,
				budget_type_names[n->forecasted]);
		for (size_t j = 0; j < bc->b->notification_count; j++) {
			const cb_budget_notification_config *o =
				&bc->b->notifications[j];

			if (o->forecasted == n->forecasted &&
				o->or_equal == n->or_equal &&
				cb_money_cmp(o->threshold, n->threshold) == 0)
				return config_fail(ld, n->line,
					"'%s' repeats notification %zu", sub,
					j);
		}
		bc->b->notification_count++;
	}
	return 0;
}

/* The filter expression being read. */
static cb_budget_filter_config *
budget_filter(struct budget_ctx *bc)
{
	return (cb_budget_filter_config *)(uintptr_t)&bc->b
		->filters[bc->b->filter_count];
}

static bool
valid_filter_name(const char *s)
{
	return *s != '\0' && strlen(s) <= 256;
}

static int
fk_name(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path, bool tag)
{
	cb_budget_filter_config *f = budget_filter(bc);
	const char *v = setting_string(s);

	if (f->name != NULL)
		return config_fail(ld, setting_line(s),
			"'%s': give one of dimension or tag", path);
	if (v == NULL || !valid_filter_name(v))
		return config_fail(ld, setting_line(s),
			"'%s' must be a name of 1 to 256 characters", path);
	f->tag = tag;
	return config_pool_dup(ld, &f->name, v);
}

static int
fk_dimension(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	return fk_name(ld, s, bc, path, false);
}

static int
fk_tag(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	return fk_name(ld, s, bc, path, true);
}

static int
fk_values(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	cb_budget_filter_config *f = budget_filter(bc);

	return config_strings(ld, s, path, CONFIG_BUDGET_VALUES_MAX, NULL,
		"values", &f->values, &f->value_count, NULL);
}

static const struct budget_key filter_keys[] = {
	{ "dimension", fk_dimension },
	{ "tag", fk_tag },
	{ "values", fk_values },
};

static int
bk_filter(struct config_loader *ld, const config_setting_t *s,
	struct budget_ctx *bc, const char *path)
{
	int count = config_setting_length(s), error;
	char sub[96];

	if (!config_setting_is_list(s) || count == 0 ||
		count > CONFIG_BUDGET_FILTERS_MAX)
		return config_fail(ld, setting_line(s),
			"'%s' must be a list of 1 to %d { dimension | tag; "
			"values; }",
			path, CONFIG_BUDGET_FILTERS_MAX);
	bc->b->filters =
		config_block(ld, (size_t)count, sizeof(*bc->b->filters));
	if (bc->b->filters == NULL)
		return CB_ENOMEM;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e =
			config_setting_get_elem(s, (unsigned)i);
		cb_budget_filter_config *f = budget_filter(bc);

		snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		f->line = setting_line(e);
		if ((error = budget_group(ld, e, sub, filter_keys,
			     CB_ARRAY_SIZE(filter_keys), bc)) < 0)
			return error;
		if (f->name == NULL || f->value_count == 0)
			return config_fail(ld, f->line,
				"'%s' needs dimension or tag, and values", sub);
		bc->b->filter_count++;
	}
	return 0;
}

static const struct budget_key budget_keys[] = {
	{ "name", bk_name },
	{ "select", bk_select },
	{ "amount", bk_amount },
	{ "history", bk_history },
	{ "time_grain", bk_grain },
	{ "start", bk_start },
	{ "end", bk_end },
	{ "notifications", bk_notifications },
	{ "filter", bk_filter },
};

static int
budgets_parse(struct config_loader *ld, const config_setting_t *s,
	const struct config_key *key)
{
	cb_config *cfg = ld->cfg;
	int count = config_setting_length(s), error;

	if (!config_setting_is_list(s) || count == 0 ||
		count > CONFIG_BUDGETS_MAX)
		return config_fail(ld, setting_line(s),
			"'%s' must be a list of 1 to %d budget templates "
			"( { ... }, ... )",
			key->path, CONFIG_BUDGETS_MAX);
	cfg->budgets = config_block(ld, (size_t)count, sizeof(*cfg->budgets));
	if (cfg->budgets == NULL)
		return CB_ENOMEM;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e =
			config_setting_get_elem(s, (unsigned)i);
		struct budget_ctx bc = { .b = &cfg->budgets[i] };
		unsigned line = setting_line(e);

		snprintf(bc.path, sizeof(bc.path), "budgets[%d]", i);
		bc.b->line = line;
		if ((error = budget_group(ld, e, bc.path, budget_keys,
			     CB_ARRAY_SIZE(budget_keys), &bc)) < 0)
			return error;
		if (bc.b->name == NULL || !bc.has_select || !bc.has_grain ||
			!bc.has_start)
			return config_fail(ld, line,
				"'%s' needs name, select, time_grain and "
				"start",
				bc.path);
		if (bc.has_amount == bc.has_history)
			return config_fail(ld,
				bc.has_amount ? bc.amount_line : line,
				"'%s' needs exactly one of amount and history",
				bc.path);
		if (bc.b->end != NULL && strcmp(bc.b->end, bc.b->start) <= 0)
			return config_fail(ld,
				config_setting_source_line(
					config_setting_get_member(e, "end")),
				"'%s.end' must be after start", bc.path);
		for (int j = 0; j < i; j++)
			if (strcasecmp(cfg->budgets[j].name, bc.b->name) == 0)
				return config_fail(ld, line,
					"'%s': budget name '%s' is used twice",
					bc.path, bc.b->name);
		cfg->budget_count++;
	}
	return 0;
}

/* ---- the schema -------------------------------------------------------- */

#define KEY(sec, key) .name = key, .path = sec "." key
#define FIELD(f)      .offset = offsetof(struct cb_config, f)
#define GROUP(sec, def) \
	.name = sec, .path = sec, .type = CONFIG_GROUP, .section = def

static const struct config_key database_keys[] = {
	{ KEY("database", "dsn"), .type = CONFIG_STRING, FIELD(dsn) },
};

static const struct config_key azure_keys[] = {
	{ KEY("azure", "cloud"), .type = CONFIG_ENUM, FIELD(azure.cloud),
		.choices = cloud_names },
	{ KEY("azure", "tenant_id"), .type = CONFIG_STRING,
		FIELD(azure.tenant_id), .valid = valid_tenant,
		.what = "a GUID or a domain name" },
	{ KEY("azure", "client_id"), .type = CONFIG_STRING,
		FIELD(azure.client_id), .valid = valid_guid, .what = "a GUID" },
	{ KEY("azure", "client_secret"), .type = CONFIG_STRING,
		FIELD(azure.client_secret) },
	{ KEY("azure", "client_secret_env"), .type = CONFIG_STRING,
		FIELD(azure.client_secret_env), .valid = valid_env_name,
		.what = "an environment variable name" },
	{ KEY("azure", "certificate_path"), .type = CONFIG_STRING,
		FIELD(azure.certificate_path) },
	{ KEY("azure", "assertion_algorithm"), .type = CONFIG_ENUM,
		FIELD(azure.assertion_algorithm), .choices = assertion_names },
	{ KEY("azure", "managed_identity"), .type = CONFIG_BOOL,
		FIELD(azure.managed_identity) },
	{ KEY("azure", "managed_identity_client_id"), .type = CONFIG_STRING,
		FIELD(azure.managed_identity_client_id), .valid = valid_guid,
		.what = "a GUID" },
	{ KEY("azure", "access_token_file"), .type = CONFIG_STRING,
		FIELD(azure.access_token_file) },
	{ KEY("azure", "authority_host"), .type = CONFIG_URL,
		FIELD(azure.authority_host) },
	{ KEY("azure", "management_endpoint"), .type = CONFIG_URL,
		FIELD(azure.management_endpoint) },
	{ KEY("azure", "ca_file"), .type = CONFIG_STRING,
		FIELD(azure.ca_file) },
};

/* Ranges: a minute-long ARM call is slow, an hour is broken; twenty tries
 * with backoff span far longer than any throttling window ARM sends; a
 * day bounds one request; 64 connections exceed what one principal's
 * ARM quota can use (250-token bucket). */
static const struct config_key http_keys[] = {
	{ KEY("http", "timeout_seconds"), .type = CONFIG_INT,
		FIELD(http.timeout_seconds), .min = 1, .max = 3600 },
	{ KEY("http", "connect_timeout_seconds"), .type = CONFIG_INT,
		FIELD(http.connect_timeout_seconds), .min = 1, .max = 300 },
	{ KEY("http", "max_attempts"), .type = CONFIG_INT,
		FIELD(http.max_attempts), .min = 1, .max = 20 },
	{ KEY("http", "deadline_seconds"), .type = CONFIG_INT,
		FIELD(http.deadline_seconds), .min = 1, .max = 86400 },
	{ KEY("http", "max_parallel"), .type = CONFIG_INT,
		FIELD(http.max_parallel), .min = 1, .max = 64 },
};

static const struct config_key log_keys[] = {
	{ KEY("log", "level"), .type = CONFIG_ENUM, FIELD(log.level),
		.choices = level_names },
	{ KEY("log", "format"), .type = CONFIG_ENUM, FIELD(log.format),
		.choices = format_names },
};

static const struct config_section database_section = { "database",
	database_keys, CB_ARRAY_SIZE(database_keys), database_finish };
static const struct config_section azure_section = { "azure", azure_keys,
	CB_ARRAY_SIZE(azure_keys), azure_finish };
static const struct config_section http_section = { "http", http_keys,
	CB_ARRAY_SIZE(http_keys), http_finish };
static const struct config_section log_section = { "log", log_keys,
	CB_ARRAY_SIZE(log_keys), NULL };

static const struct config_key root_keys[] = {
	{ GROUP("database", &database_section) },
	{ GROUP("azure", &azure_section) },
	{ GROUP("http", &http_section) },
	{ GROUP("log", &log_section) },
	{ .name = "billing_accounts",
		.path = "billing_accounts",
		.type = CONFIG_CUSTOM,
		.parse = billing_accounts_parse },
	{ .name = "budgets",
		.path = "budgets",
		.type = CONFIG_CUSTOM,
		.parse = budgets_parse },
	{ .name = "labels",
		.path = "labels",
		.type = CONFIG_CUSTOM,
		.parse = labels_parse },
	{ .name = "policies",
		.path = "policies",
		.type = CONFIG_CUSTOM,
		.parse = policies_parse },
	{ .name = "rules_file",
		.path = "rules_file",
		.type = CONFIG_STRING,
		FIELD(rules_file) },
};

static const struct config_section root_section = { "", root_keys,
	CB_ARRAY_SIZE(root_keys), root_finish };

/* Settings whose text is secret, wiped in libconfig's tree before it is
 * destroyed. */
static const char *const secret_settings[] = { "azure.client_secret",
	"database.dsn" };

#undef KEY
#undef FIELD
#undef GROUP

const char *
cb__config_schema_key(size_t index)
{
	for (size_t i = 0; i < root_section.key_count; i++) {
		const struct config_key *k = &root_section.keys[i];

		if (k->type != CONFIG_GROUP) {
			if (index-- == 0)
				return k->path;
			continue;
		}
		if (index < k->section->key_count)
			return k->section->keys[index].path;
		index -= k->section->key_count;
	}
	return NULL;
}

/* ---- loading ----------------------------------------------------------- */

static void
config_defaults(cb_config *cfg)
{
	cfg->azure.cloud = CB_AZURE_CLOUD_PUBLIC;
	cfg->azure.cloud_name = cloud_names[CB_AZURE_CLOUD_PUBLIC];
	cfg->azure.assertion_algorithm = 0; /* PS256 */
	cfg->http.timeout_seconds = CONFIG_HTTP_TIMEOUT_DEFAULT;
	cfg->http.connect_timeout_seconds = CONFIG_HTTP_CONNECT_DEFAULT;
	cfg->http.max_attempts = CONFIG_HTTP_ATTEMPTS_DEFAULT;
	cfg->http.deadline_seconds = CONFIG_HTTP_DEADLINE_DEFAULT;
	cfg->http.max_parallel = CONFIG_HTTP_PARALLEL_DEFAULT;
	cfg->log.level = CB_LOG_WARN;
	cfg->log.format = CB_LOG_FORMAT_TEXT;
}

static void
config_wipe_tree(config_t *lc)
{
	for (size_t i = 0; i < CB_ARRAY_SIZE(secret_settings); i++) {
		config_setting_t *s = config_lookup(lc, secret_settings[i]);

		if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING &&
			s->value.sval != NULL)
			config_wipe(s->value.sval, strlen(s->value.sval));
	}
}

/* The permission rule for secrets (DESIGN.md), on the file's own mode. */
static int
config_check_secret_mode(const struct config_loader *ld, mode_t mode)
{
	const char *what;

	if ((mode & 077) == 0)
		return 0;
	if (ld->has_client_secret)
		what = "a client secret";
	else if (ld->has_db_password)
		what = "a database password";
	else
		return 0;
	return cb__error_set(CB_ESECURITY, CB_ERRCLASS_CONFIG,
		"%s: holds %s but is readable by group or others "
		"(chmod 600 %s)",
		ld->cfg->source, what, ld->cfg->source);
}

/*
 * Parse and validate text (len bytes, NUL-terminated) into *out.  mode is
 * the file's st_mode, or NULL for a string, which skips the permission
 * rule.
 */
static int
config_load_text(cb_config **out, const char *text, size_t len,
	const char *source, const mode_t *mode)
{
	struct config_loader ld = { 0 };
	struct prescan scan = { 0 };
	cb_config *cfg;
	config_t lc;
	bool lc_live = false;
	int error;

	if ((cfg = cb__calloc(1, sizeof(*cfg))) == NULL)
		return CB_ENOMEM;
	ld.cfg = cfg;
	ld.text = text;
	config_defaults(cfg);
	cfg->hash = config_fnv1a64(text, len);
	if ((cfg->source = cb__strdup(source)) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	if (len > CB_CONFIG_SIZE_MAX) {
		error = config_fail(
			&ld, 0, "larger than %zu bytes", CB_CONFIG_SIZE_MAX);
		goto done;
	}
	if ((error = config_prescan(&scan, text)) < 0)
		goto done;
	if (scan.include_line) {
		error = config_fail(&ld, scan.include_line,
			"@include is not supported: keep the configuration "
			"in one file");
		goto done;
	}
	config_init(&lc);
	lc_live = true;
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		error = config_fail(&ld, (unsigned)config_error_line(&lc), "%s",
			config_error_text(&lc) ? config_error_text(&lc)
					       : "syntax error");
		goto done;
	}
	if (scan.overflow_line) {
		error = config_fail(&ld, scan.overflow_line,
			"integer '%s' is out of range", scan.overflow);
		goto done;
	}
	config_mark_lines(&lc, &scan);
	error = config_load_section(
		&ld, config_root_setting(&lc), &root_section);
	if (error < 0)
		goto done;
	if (mode != NULL && (error = config_check_secret_mode(&ld, *mode)) < 0)
		goto done;
	*out = cfg;
	cfg = NULL;
	error = 0;
done:
	if (lc_live) {
		config_wipe_tree(&lc);
		config_destroy(&lc);
	}
	cb__free(scan.value_lines);
	cb_config_free(cfg);
	return error;
}

int
cb_config_load_string(
	cb_config **out, const char *text, const char *source_name)
{
	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(text);
	return config_load_text(out, text, strlen(text),
		source_name ? source_name : "<string>", NULL);
}

static int
config_os_error(const char *path, int err)
{
	char msg[256];

	if (strerror_r(err, msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "error %d", err);
	return cb__error_set(
		err == ENOENT || err == ENOTDIR ? CB_ENOTFOUND : CB_EIO,
		CB_ERRCLASS_OS, "cannot read '%s': %s", path, msg);
}

/*
 * Read exactly size bytes (the file's size at open) into a new buffer; a
 * file that grows meanwhile is an error rather than a silent cut.  One
 * allocation, never resized, so no stale copy of a secret is left behind.
 */
static int
config_read_fd(int fd, const char *path, size_t size, char **out)
{
	char *text, extra;
	size_t got = 0;
	ssize_t n = 0;
	int error;

	if ((text = cb__malloc(size + 1)) == NULL)
		return CB_ENOMEM;
	while (got < size) {
		n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == size) {
		while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
			;
	}
	if (n < 0) {
		error = config_os_error(path, errno);
		goto fail;
	}
	if (got != size || n > 0) {
		error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"cannot read '%s': it changed while being read", path);
		goto fail;
	}
	text[size] = '\0';
	*out = text;
	return 0;
fail:
	config_wipe(text, size);
	cb__free(text);
	return error;
}

int
cb_config_load(cb_config **out, const char *path)
{
	struct stat st;
	char *text = NULL;
	const char *nul;
	size_t size = 0;
	int fd, error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(path);

	/* O_NONBLOCK: a FIFO must not block the open; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return config_os_error(path, errno);
	if (fstat(fd, &st) < 0) {
		error = config_os_error(path, errno);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"cannot read '%s': not a regular file", path);
		goto done;
	}
	/* Anyone who can write the file can point authority_host at a server
	 * of theirs and receive the client secret. */
	if (st.st_mode & S_IWOTH) {
		error = cb__error_set(CB_ESECURITY, CB_ERRCLASS_CONFIG,
			"%s: is writable by others (chmod o-w %s)", path, path);
		goto done;
	}
	if ((unsigned long long)st.st_size > CB_CONFIG_SIZE_MAX) {
		error = cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s: larger than %zu bytes", path, CB_CONFIG_SIZE_MAX);
		goto done;
	}
	size = (size_t)st.st_size;
	if ((error = config_read_fd(fd, path, size, &text)) < 0)
		goto done;
	if ((nul = memchr(text, '\0', size)) != NULL) {
		unsigned line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		error = cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s:%u: NUL byte in the file", path, line);
		goto done;
	}
	error = config_load_text(out, text, size, path, &st.st_mode);
done:
	if (text != NULL) {
		config_wipe(text, size);
		cb__free(text);
	}
	close(fd);
	return error;
}

void
cb_config_free(cb_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->pool_count; i++) {
		config_wipe(cfg->pool[i], strlen(cfg->pool[i]));
		cb__free(cfg->pool[i]);
	}
	cb__free(cfg->pool);
	cb__free(cfg->lines);
	cb__free(cfg->billing_accounts);
	for (size_t i = 0; i < cfg->block_count; i++)
		cb__free(cfg->blocks[i]);
	cb__free(cfg->blocks);
	cb__free(cfg->policies);
	for (size_t i = 0; i < cfg->label_count; i++)
		cb__free((void *)(uintptr_t)cfg->labels[i].members);
	cb__free(cfg->labels);
	cb__free(cfg->source);
	cb__free(cfg);
}

/* ---- accessors --------------------------------------------------------- */

const char *
cb_config_source(const cb_config *cfg)
{
	return cfg ? cfg->source : NULL;
}

unsigned
cb_config_key_line(const cb_config *cfg, const char *key)
{
	if (cfg == NULL || key == NULL)
		return 0;
	return config_line_of(cfg, key);
}

const char *
cb_config_dsn(const cb_config *cfg)
{
	return cfg ? cfg->dsn : NULL;
}

const cb_azure_config *
cb_config_azure(const cb_config *cfg)
{
	return cfg ? &cfg->azure : NULL;
}

const cb_http_config *
cb_config_http(const cb_config *cfg)
{
	return cfg ? &cfg->http : NULL;
}

const cb_log_config *
cb_config_log(const cb_config *cfg)
{
	return cfg ? &cfg->log : NULL;
}

size_t
cb_config_billing_account_count(const cb_config *cfg)
{
	return cfg ? cfg->billing_account_count : 0;
}

const char *
cb_config_billing_account(const cb_config *cfg, size_t index)
{
	if (cfg == NULL || index >= cfg->billing_account_count)
		return NULL;
	return cfg->billing_accounts[index];
}

const char *
cb_config_rules_file(const cb_config *cfg)
{
	return cfg ? cfg->rules_file : NULL;
}

size_t
cb_config_budget_count(const cb_config *cfg)
{
	return cfg ? cfg->budget_count : 0;
}

const cb_budget_config *
cb_config_budget(const cb_config *cfg, size_t index)
{
	if (cfg == NULL || index >= cfg->budget_count)
		return NULL;
	return &cfg->budgets[index];
}

int
cb_config_hash(cb_buf *out, const cb_config *cfg)
{
	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	cb__buf_clear(out);
	return cb__buf_printf(out, "%016" PRIx64, cfg->hash);
}

size_t
cb_config_policy_rule_count(const cb_config *cfg)
{
	return cfg ? cfg->policy_count : 0;
}

const cb_policy_rule *
cb_config_policy_rule(const cb_config *cfg, size_t index)
{
	if (cfg == NULL || index >= cfg->policy_count)
		return NULL;
	return &cfg->policies[index];
}

size_t
cb_config_label_count(const cb_config *cfg)
{
	return cfg ? cfg->label_count : 0;
}

const cb_label *
cb_config_label(const cb_config *cfg, size_t index)
{
	if (cfg == NULL || index >= cfg->label_count)
		return NULL;
	return &cfg->labels[index];
}

const cb_label *
cb_config_label_find(const cb_config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->label_count; i++)
		if (strcmp(cfg->labels[i].name, name) == 0)
			return &cfg->labels[i];
	return NULL;
}
