/*
 * core/cloud.c - the national cloud table and endpoint checks.
 *
 * Hosts are those of Microsoft's national cloud page (azure-api-notes.md
 * section d.4).  China lists the current Entra host; the older
 * login.chinacloudapi.cn still works and can be set as an override.
 * Apps are registered separately in each cloud, so a cloud is a whole:
 * its login host and its ARM endpoint change together unless overridden.
 */
#include "core/common.h"
#include "core/cloud.h"

#include <strings.h>

static const cb_cloud clouds[] = {
	{ "public", "https://login.microsoftonline.com",
		"https://management.azure.com" },
	{ "china", "https://login.partner.microsoftonline.cn",
		"https://management.chinacloudapi.cn" },
	{ "usgov", "https://login.microsoftonline.us",
		"https://management.usgovcloudapi.net" },
};

/* The Azure CLI's names (az cloud list), so a value copied from there
 * works too; same order as clouds[]. */
static const char *const cli_names[] = { "AzureCloud", "AzureChinaCloud",
	"AzureUSGovernment" };

const cb_cloud *
cb__cloud_default(void)
{
	return &clouds[0];
}

int
cb_cloud_find(const cb_cloud **out, const char *name)
{
	CB_ASSERT_ARG(out != NULL);
	CB_ASSERT_ARG(name != NULL);
	for (size_t i = 0; i < CB_ARRAY_SIZE(clouds); i++) {
		if (strcasecmp(name, clouds[i].name) == 0 ||
			strcasecmp(name, cli_names[i]) == 0) {
			*out = &clouds[i];
			return 0;
		}
	}
	return cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_CONFIG,
		"unknown cloud '%.64s' (public, china, usgov)", name);
}

/* The host part of an authority ("h", "h:443", "[::1]:8080") as [b, e). */
static void
url_host(const char *authority, size_t len, const char **b, const char **e)
{
	const char *end = authority + len;

	*b = authority;
	if (len > 0 && authority[0] == '[') {
		const char *close = memchr(authority, ']', len);

		*b = authority + 1;
		*e = close ? close : end;
		return;
	}
	*e = memchr(authority, ':', len);
	if (*e == NULL)
		*e = end;
}

/* The authority of url after "scheme://", as [*b, *b + *len). */
static bool
url_authority(const char *url, const char **b, size_t *len)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return false;
	*b = p + 3;
	*len = strcspn(*b, "/");
	return true;
}

static bool
host_equals(const char *b, const char *e, const char *want)
{
	size_t n = (size_t)(e - b);

	return n == strlen(want) && strncasecmp(b, want, n) == 0;
}

static bool
host_is_loopback(const char *b, const char *e)
{
	const char *p;
	int dots = 0;

	if (host_equals(b, e, "localhost") || host_equals(b, e, "::1"))
		return true;
	/* 127.0.0.0/8 in dotted form: "127." then digits and three dots. */
	if ((size_t)(e - b) < 7 || strncmp(b, "127.", 4) != 0)
		return false;
	for (p = b; p < e; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return false;
	}
	return dots == 3;
}

bool
cb__url_is_loopback(const char *url)
{
	const char *a, *hb, *he;
	size_t alen;

	if (url == NULL || !url_authority(url, &a, &alen))
		return false;
	url_host(a, alen, &hb, &he);
	return host_is_loopback(hb, he);
}

static bool
port_is_valid(const char *authority, size_t len, const char *host_end)
{
	const char *end = authority + len;
	const char *p = host_end;

	if (p < end && *p == ']')
		p++;
	if (p == end)
		return true;
	if (*p != ':' || p + 1 == end || end - (p + 1) > 5)
		return false;
	for (p++; p < end; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

int
cb__cloud_check_url(
	char **out, const char *url, const char *what, unsigned flags)
{
	const char *a, *hb, *he;
	size_t alen, len;
	bool https, http;
	char *copy;

	/* Checks that must not echo the URL come first: it may hold a
	 * password or a signature. */
	if (url == NULL || url[0] == '\0')
		return cb__error_set(
			CB_ECONFIG, CB_ERRCLASS_CONFIG, "%s is empty", what);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
				"%s contains a blank or control character",
				what);
	if (strpbrk(url, "?#") != NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s must not have a query string or fragment", what);
	len = strlen(url);
	if (len > CB__CLOUD_URL_MAX)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s is longer than %d bytes", what, CB__CLOUD_URL_MAX);
	https = strncasecmp(url, "https://", 8) == 0;
	http = strncasecmp(url, "http://", 7) == 0;
	if (!url_authority(url, &a, &alen) || (!https && !http))
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s '%s' is not an http(s) URL", what, url);
	if (memchr(a, '@', alen) != NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s must not contain user information", what);
	url_host(a, alen, &hb, &he);
	if (hb == he || !port_is_valid(a, alen, he))
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s '%s' has no valid host", what, url);
	if (http && !host_is_loopback(hb, he) &&
		!((flags & CB__URL_ALLOW_IMDS) &&
			host_equals(hb, he, "169.254.169.254")))
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s '%s' must use https (plain http only to a "
			"loopback host)",
			what, url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if ((copy = cb__strndup(url, len)) == NULL)
		return CB_ENOMEM;
	*out = copy;
	return 0;
}

int
cb__cloud_scope_to_resource(char **out, const char *scope)
{
	static const char suffix[] = ".default";
	size_t len = strlen(scope), slen = sizeof(suffix) - 1;
	char *copy;

	if (len > slen && scope[len - slen - 1] == '/' &&
		strcmp(scope + len - slen, suffix) == 0)
		len -= slen;
	if ((copy = cb__strndup(scope, len)) == NULL)
		return CB_ENOMEM;
	*out = copy;
	return 0;
}
