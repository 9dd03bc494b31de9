/*
 * core/auth_credential.c - choosing a credential and building its token
 * requests.
 *
 * The choice is made once, in cb_credential_new, and the rules are in
 * include/chargeback/auth.h: explicit options beat environment variables,
 * secret beats certificate beats static token, and managed identity is
 * what is left.  Everything that reaches the wire (a URL, a form field, a
 * header value) is validated here at construction, so a stray CR/LF in an
 * environment variable can never become a second HTTP header.
 */
#include "core/common.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/cloud.h"
#include "core/http.h"
#include "core/log.h"
#include "core/token_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The VM metadata service's token endpoint (azure-api-notes.md d.3). */
#define IMDS_ENDPOINT           "http://169.254.169.254/metadata/identity/oauth2/token"
#define IMDS_API_VERSION        "2018-02-01"
#define APP_SERVICE_API_VERSION "2019-08-01"
#define ASSERTION_TYPE          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/*
 * Longest tenant id, client id or identity header accepted.  Tenant ids
 * are GUIDs or DNS names (at most 253 characters), client ids GUIDs;
 * App Service's header is a GUID.  256 bounds all of them with room.
 */
#define ID_MAX 256

enum { MI_IMDS = 0, MI_APP_SERVICE = 1 };

struct cb_credential {
	int kind;                      /* resolved cb_credential_kind */
	char *tenant_id;               /* owned; secret and certificate */
	char *client_id;               /* owned; secret and certificate */
	char *client_secret;           /* owned, wiped */
	struct cb__auth_cert *cert;    /* owned; certificate kind */
	int assertion_alg;             /* cb_assertion_alg */
	char *authority_host;          /* owned, no trailing slash */
	char *management_endpoint;     /* owned, no trailing slash */
	char *default_scope;           /* owned, endpoint + "/.default" */
	char *token_url;               /* owned; secret and certificate */
	int mi_flavor;                 /* MI_IMDS or MI_APP_SERVICE */
	bool mi_fallback;              /* chosen because nothing else was */
	char *mi_endpoint;             /* owned; managed identity token URL */
	char *mi_client_id;            /* owned or NULL: system-assigned */
	char *mi_header;               /* owned, wiped; X-IDENTITY-HEADER */
	char *static_token;            /* owned, wiped; from option or env */
	char *token_file;              /* owned; static token file */
	char description[512];         /* cb_credential_describe() */
	struct cb__token_cache *cache; /* owned */
	cb__clock_fn clock;            /* NULL: the system clock */
	void *clock_payload;           /* borrowed */
};

/* Resolution state: where each setting comes from. */
struct resolve {
	const cb_credential_options *o;
	cb__env_fn env;
	void *env_payload;
	bool use_env;
};

static const char *
system_env(const char *name, void *payload)
{
	CB_UNUSED(payload);
	return getenv(name);
}

static int64_t
system_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static const char *
env_get(const struct resolve *r, const char *name)
{
	const char *v;

	if (!r->use_env)
		return NULL;
	v = r->env(name, r->env_payload);
	return v && v[0] ? v : NULL;
}

static const char *
opt_get(const char *v)
{
	return v && v[0] ? v : NULL;
}

/*
 * A setting from its option, else its environment variable; *from names
 * the one used, for messages.  NULL when neither is set.
 */
static const char *
pick(const struct resolve *r, const char *opt, const char *optname,
	const char *envname, const char **from)
{
	const char *v;

	if ((v = opt_get(opt)) != NULL) {
		*from = optname;
		return v;
	}
	if (envname != NULL && (v = env_get(r, envname)) != NULL) {
		*from = envname;
		return v;
	}
	*from = NULL;
	return NULL;
}

bool
cb__auth_is_token_text(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
			n >= max)
			return false;
	return n > 0;
}

static int
check_tenant(const char *tenant, const char *from)
{
	size_t n = strlen(tenant);

	/* Entra tenants are GUIDs or domain names; anything else would be
	 * spliced into the token URL's path. */
	if (n > ID_MAX ||
		strspn(tenant, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s is not a tenant id or domain name (letters, "
			"digits, '.' and '-')",
			from);
	return 0;
}

static int
check_id(const char *id, const char *from)
{
	if (!cb__auth_is_token_text(id, ID_MAX))
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s must be 1 to %d printable characters without "
			"blanks",
			from, ID_MAX);
	return 0;
}

static int
dup_into(char **out, const char *s)
{
	if ((*out = cb__strdup(s)) == NULL)
		return CB_ENOMEM;
	return 0;
}

/* ---- the cloud and endpoints ------------------------------------------- */

static int
resolve_cloud(cb_credential *c, const struct resolve *r)
{
	const cb_cloud *cloud = cb__cloud_default();
	const char *v, *from;
	char what[96];
	int error;

	if (opt_get(r->o->cloud) &&
		(error = cb_cloud_find(&cloud, r->o->cloud)) < 0)
		return error;
	v = pick(r, r->o->authority_host, "authority_host",
		"AZURE_AUTHORITY_HOST", &from);
	snprintf(what, sizeof(what), "authority host from %s",
		from ? from : "the cloud table");
	if ((error = cb__cloud_check_url(&c->authority_host,
		     v ? v : cloud->authority_host, what, 0)) < 0)
		return error;
	v = opt_get(r->o->management_endpoint);
	if ((error = cb__cloud_check_url(&c->management_endpoint,
		     v ? v : cloud->management_endpoint, "management_endpoint",
		     0)) < 0)
		return error;
	if ((c->default_scope = cb__malloc(strlen(c->management_endpoint) +
					   sizeof("/.default"))) == NULL)
		return CB_ENOMEM;
	snprintf(c->default_scope,
		strlen(c->management_endpoint) + sizeof("/.default"),
		"%s/.default", c->management_endpoint);
	return 0;
}

/* ---- the kinds --------------------------------------------------------- */

/* Tenant and client id for the secret and certificate kinds. */
static int
resolve_app(cb_credential *c, const struct resolve *r, const char *secret_from)
{
	const char *tenant, *client, *tfrom, *cfrom;
	cb_buf url = CB_BUF_INIT;
	int error;

	tenant = pick(
		r, r->o->tenant_id, "tenant_id", "AZURE_TENANT_ID", &tfrom);
	client = pick(
		r, r->o->client_id, "client_id", "AZURE_CLIENT_ID", &cfrom);
	if (tenant == NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s is set but no tenant is: set tenant_id or "
			"AZURE_TENANT_ID",
			secret_from);
	if (client == NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s is set but no client id is: set client_id or "
			"AZURE_CLIENT_ID",
			secret_from);
	if ((error = check_tenant(tenant, tfrom)) < 0 ||
		(error = check_id(client, cfrom)) < 0)
		return error;
	if ((error = dup_into(&c->tenant_id, tenant)) < 0 ||
		(error = dup_into(&c->client_id, client)) < 0)
		return error;
	if ((error = cb__buf_printf(&url, "%s/%s/oauth2/v2.0/token",
		     c->authority_host, c->tenant_id)) < 0)
		return error;
	c->token_url = cb__buf_detach(&url);
	return c->token_url ? 0 : CB_ENOMEM;
}

static int
resolve_secret(cb_credential *c, const struct resolve *r)
{
	const char *secret, *from;
	int error;

	secret = pick(r, r->o->client_secret, "client_secret",
		"AZURE_CLIENT_SECRET", &from);
	if (secret == NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"no client secret: set client_secret or "
			"AZURE_CLIENT_SECRET");
	if ((error = resolve_app(c, r, from)) < 0)
		return error;
	/* Never echo the value: only its source. */
	if (strlen(secret) > ID_MAX * 4 || strpbrk(secret, "\r\n") != NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s is not a client secret (too long, or holds a "
			"line break)",
			from);
	if ((error = dup_into(&c->client_secret, secret)) < 0)
		return error;
	if (strcmp(from, "AZURE_CLIENT_SECRET") == 0)
		cb__log(CB_LOG_WARN, "auth",
			"client secret taken from AZURE_CLIENT_SECRET: the "
			"environment of a process can be read by others on "
			"some systems; prefer a private file");
	snprintf(c->description, sizeof(c->description),
		"client secret from %s for client %.64s in tenant %.64s", from,
		c->client_id, c->tenant_id);
	return 0;
}

static int
resolve_certificate(cb_credential *c, const struct resolve *r)
{
	const char *path, *from, *password, *pfrom;
	const char *key_path = opt_get(r->o->certificate_key_path);
	int error;

	path = pick(r, r->o->certificate_path, "certificate_path",
		"AZURE_CLIENT_CERTIFICATE_PATH", &from);
	if (path == NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"no client certificate: set certificate_path or "
			"AZURE_CLIENT_CERTIFICATE_PATH");
	if (r->o->assertion_alg != CB_ASSERTION_PS256 &&
		r->o->assertion_alg != CB_ASSERTION_RS256)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"unknown assertion algorithm %d (PS256 or RS256)",
			r->o->assertion_alg);
	c->assertion_alg = r->o->assertion_alg;
	if ((error = resolve_app(c, r, from)) < 0)
		return error;
	password = pick(r, r->o->certificate_password, "certificate_password",
		"AZURE_CLIENT_CERTIFICATE_PASSWORD", &pfrom);
	if ((error = cb__auth_cert_load(&c->cert, path, key_path, password)) <
		0)
		return error;
	snprintf(c->description, sizeof(c->description),
		"client certificate %.200s (%s) from %s for client %.64s in "
		"tenant %.64s",
		path,
		c->assertion_alg == CB_ASSERTION_PS256 ? "PS256" : "RS256",
		from, c->client_id, c->tenant_id);
	return 0;
}

static int
resolve_managed_identity(cb_credential *c, const struct resolve *r)
{
	const char *id, *idfrom, *ep, *hdr;
	int error;

	id = pick(r, r->o->managed_identity_client_id,
		"managed_identity_client_id", "AZURE_CLIENT_ID", &idfrom);
	if (id != NULL) {
		if ((error = check_id(id, idfrom)) < 0 ||
			(error = dup_into(&c->mi_client_id, id)) < 0)
			return error;
	}
	ep = env_get(r, "IDENTITY_ENDPOINT");
	hdr = env_get(r, "IDENTITY_HEADER");
	if (opt_get(r->o->imds_endpoint) == NULL && ep != NULL) {
		/* App Service / Functions: a local token service. */
		if (hdr == NULL)
			return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
				"IDENTITY_ENDPOINT is set but "
				"IDENTITY_HEADER is not");
		if (!cb__auth_is_token_text(hdr, ID_MAX))
			return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
				"IDENTITY_HEADER must be 1 to %d printable "
				"characters without blanks",
				ID_MAX);
		if ((error = cb__cloud_check_url(&c->mi_endpoint, ep,
			     "IDENTITY_ENDPOINT", 0)) < 0 ||
			(error = dup_into(&c->mi_header, hdr)) < 0)
			return error;
		c->mi_flavor = MI_APP_SERVICE;
	} else {
		ep = opt_get(r->o->imds_endpoint);
		if ((error = cb__cloud_check_url(&c->mi_endpoint,
			     ep ? ep : IMDS_ENDPOINT, "imds_endpoint",
			     CB__URL_ALLOW_IMDS)) < 0)
			return error;
		c->mi_flavor = MI_IMDS;
	}
	if (id == NULL)
		snprintf(c->description, sizeof(c->description),
			"managed identity (%s, system-assigned)",
			c->mi_flavor == MI_IMDS ? "instance metadata service"
						: "app service");
	else
		snprintf(c->description, sizeof(c->description),
			"managed identity (%s, client %.64s from %s)",
			c->mi_flavor == MI_IMDS ? "instance metadata service"
						: "app service",
			id, idfrom);
	return 0;
}

static int
resolve_static(cb_credential *c, const struct resolve *r)
{
	const char *token, *from, *file = opt_get(r->o->token_file);
	cb_buf probe = CB_BUF_INIT;
	int error;

	token = opt_get(r->o->access_token);
	from = "access_token";
	if (token == NULL && file != NULL) {
		/* Read it now so a bad path or mode fails at start-up; it is
		 * read again at each use, as something may rotate it. */
		error = cb__auth_read_file(&probe, file, "token file", true);
		cb__auth_buf_wipe(&probe);
		if (error < 0)
			return error;
		if ((error = dup_into(&c->token_file, file)) < 0)
			return error;
		snprintf(c->description, sizeof(c->description),
			"static token from file %.200s", file);
		return 0;
	}
	if (token == NULL) {
		token = env_get(r, "AZURE_ACCESS_TOKEN");
		from = "AZURE_ACCESS_TOKEN";
	}
	if (token == NULL)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"no static token: set access_token, token_file or "
			"AZURE_ACCESS_TOKEN");
	if (!cb__auth_is_token_text(token, CB__AUTH_TOKEN_MAX))
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s is not a token (1 to %d printable characters "
			"without blanks)",
			from, CB__AUTH_TOKEN_MAX);
	if ((error = dup_into(&c->static_token, token)) < 0)
		return error;
	if (strcmp(from, "AZURE_ACCESS_TOKEN") == 0)
		cb__log(CB_LOG_WARN, "auth",
			"access token taken from AZURE_ACCESS_TOKEN: the "
			"environment of a process can be read by others on "
			"some systems; prefer token_file");
	snprintf(c->description, sizeof(c->description), "static token from %s",
		from);
	return 0;
}

/*
 * The kind to use when the caller left it to us; see auth.h.  Explicit
 * options that name two different kinds are a configuration error: the
 * caller said two things.
 */
static int
choose_kind(int *kind, const struct resolve *r)
{
	const cb_credential_options *o = r->o;
	static const struct {
		size_t offset; /* of the option in cb_credential_options */
		const char *name;
		int kind;
	} explicit[] = {
		{ offsetof(cb_credential_options, client_secret),
			"client_secret", CB_CREDENTIAL_SECRET },
		{ offsetof(cb_credential_options, certificate_path),
			"certificate_path", CB_CREDENTIAL_CERTIFICATE },
		{ offsetof(cb_credential_options, access_token), "access_token",
			CB_CREDENTIAL_STATIC_TOKEN },
		{ offsetof(cb_credential_options, token_file), "token_file",
			CB_CREDENTIAL_STATIC_TOKEN },
	};
	const char *named[CB_ARRAY_SIZE(explicit)];
	int kinds[CB_ARRAY_SIZE(explicit)], n = 0;

	for (size_t i = 0; i < CB_ARRAY_SIZE(explicit); i++) {
		const char *v;

		memcpy(&v, (const char *)o + explicit[i].offset, sizeof(v));
		if (opt_get(v) != NULL) {
			named[n] = explicit[i].name;
			kinds[n++] = explicit[i].kind;
		}
	}
	if (n > 1)
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"both %s and %s are set: choose one credential",
			named[0], named[1]);
	if (n == 1) {
		*kind = kinds[0];
		return 0;
	}
	if (env_get(r, "AZURE_CLIENT_SECRET"))
		*kind = CB_CREDENTIAL_SECRET;
	else if (env_get(r, "AZURE_CLIENT_CERTIFICATE_PATH"))
		*kind = CB_CREDENTIAL_CERTIFICATE;
	else if (env_get(r, "AZURE_ACCESS_TOKEN"))
		*kind = CB_CREDENTIAL_STATIC_TOKEN;
	else if (opt_get(o->client_id) || opt_get(o->tenant_id))
		/* An app named in the configuration without its secret is a
		 * mistake, not a request for the VM's identity. */
		return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
			"%s is set but no client secret or certificate is "
			"(client_secret, certificate_path, "
			"AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)",
			opt_get(o->client_id) ? "client_id" : "tenant_id");
	else
		*kind = CB_CREDENTIAL_MANAGED_IDENTITY;
	return 0;
}

void
cb_credential_free(cb_credential *c)
{
	if (c == NULL)
		return;
	cb__token_cache_free(c->cache);
	cb__free(c->tenant_id);
	cb__free(c->client_id);
	cb__auth_free_secret(c->client_secret);
	cb__auth_cert_free(c->cert);
	cb__free(c->authority_host);
	cb__free(c->management_endpoint);
	cb__free(c->default_scope);
	cb__free(c->token_url);
	cb__free(c->mi_endpoint);
	cb__free(c->mi_client_id);
	cb__auth_free_secret(c->mi_header);
	cb__auth_free_secret(c->static_token);
	cb__free(c->token_file);
	cb__auth_cleanse(c, sizeof(*c));
	cb__free(c);
}

int
cb__credential_new_env(cb_credential **out, const cb_credential_options *opts,
	cb__env_fn env, void *payload)
{
	static const cb_credential_options defaults =
		CB_CREDENTIAL_OPTIONS_INIT;
	struct resolve r;
	cb_credential *c = NULL;
	int kind, error;

	CB_ASSERT_ARG(out != NULL);
	if (opts == NULL)
		opts = &defaults;
	if (opts->version != CB_CREDENTIAL_OPTIONS_VERSION)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cb_credential_options.version is %d, expected %d",
			opts->version, CB_CREDENTIAL_OPTIONS_VERSION);
	r.o = opts;
	r.env = env ? env : system_env;
	r.env_payload = payload;
	r.use_env = (opts->flags & CB_CREDENTIAL_IGNORE_ENV) == 0;

	kind = opts->kind;
	if (kind == CB_CREDENTIAL_AUTO && (error = choose_kind(&kind, &r)) < 0)
		return error;
	if ((c = cb__calloc(1, sizeof(*c))) == NULL)
		return CB_ENOMEM;
	c->kind = kind;
	c->mi_fallback = opts->kind == CB_CREDENTIAL_AUTO &&
			 kind == CB_CREDENTIAL_MANAGED_IDENTITY;
	if ((error = resolve_cloud(c, &r)) < 0)
		goto done;
	switch (kind) {
	case CB_CREDENTIAL_SECRET:
		error = resolve_secret(c, &r);
		break;
	case CB_CREDENTIAL_CERTIFICATE:
		error = resolve_certificate(c, &r);
		break;
	case CB_CREDENTIAL_MANAGED_IDENTITY:
		error = resolve_managed_identity(c, &r);
		break;
	case CB_CREDENTIAL_STATIC_TOKEN:
		error = resolve_static(c, &r);
		break;
	default:
		error = cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"unknown credential kind %d", kind);
		break;
	}
	if (error < 0 || (error = cb__token_cache_new(&c->cache)) < 0)
		goto done;
	*out = c;
	c = NULL;
done:
	cb_credential_free(c);
	return error;
}

int
cb_credential_new(cb_credential **out, const cb_credential_options *opts)
{
	return cb__credential_new_env(out, opts, NULL, NULL);
}

int
cb_credential_kind_of(const cb_credential *cred)
{
	return cred ? cred->kind : CB_CREDENTIAL_AUTO;
}

const char *
cb_credential_kind_name(int kind)
{
	switch (kind) {
	case CB_CREDENTIAL_AUTO:
		return "auto";
	case CB_CREDENTIAL_SECRET:
		return "secret";
	case CB_CREDENTIAL_CERTIFICATE:
		return "certificate";
	case CB_CREDENTIAL_MANAGED_IDENTITY:
		return "managed-identity";
	case CB_CREDENTIAL_STATIC_TOKEN:
		return "static-token";
	}
	return "unknown";
}

const char *
cb_credential_management_endpoint(const cb_credential *cred)
{
	return cred ? cred->management_endpoint : "";
}

const char *
cb_credential_describe(const cb_credential *cred)
{
	return cred ? cred->description : "";
}

void
cb__credential_set_clock(cb_credential *cred, cb__clock_fn clock, void *payload)
{
	cred->clock = clock;
	cred->clock_payload = payload;
}

int64_t
cb__credential_now(const cb_credential *cred)
{
	return cred->clock ? cred->clock(cred->clock_payload) : system_clock();
}

const char *
cb__credential_default_scope(const cb_credential *cred)
{
	return cred->default_scope;
}

const char *
cb__credential_token_url(const cb_credential *cred)
{
	return cred->token_url;
}

/* ---- token requests ---------------------------------------------------- */

int
cb__form_encode(cb_buf *buf, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	int error = 0;

	for (const char *p = value; error == 0 && *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' ||
			c == '_' || c == '~') {
			error = cb__buf_putc(buf, (char)c);
		} else if (c == ' ') {
			error = cb__buf_putc(buf, '+');
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			error = cb__buf_put(buf, e, 3);
		}
	}
	return error;
}

int
cb__form_field(cb_buf *buf, char sep, const char *name, const char *value)
{
	int error;

	if (buf->size > 0 && (error = cb__buf_putc(buf, sep)) < 0)
		return error;
	if ((error = cb__buf_puts(buf, name)) < 0 ||
		(error = cb__buf_putc(buf, '=')) < 0)
		return error;
	return cb__form_encode(buf, value);
}

void
cb__token_request_dispose(struct cb__token_request *req)
{
	if (req == NULL)
		return;
	cb__free(req->url);
	cb__free(req->endpoint);
	cb__auth_buf_wipe(&req->body);
	cb__auth_free_secret(req->header);
	memset(req, 0, sizeof(*req));
}

static int
request_post(struct cb__token_request *req, cb_credential *c, const char *scope,
	int64_t now)
{
	cb_buf assertion = CB_BUF_INIT;
	int error;

	req->method = CB__TOKEN_POST;
	if ((error = dup_into(&req->url, c->token_url)) < 0 ||
		(error = dup_into(&req->endpoint, c->token_url)) < 0)
		goto done;
	if ((error = cb__form_field(
		     &req->body, '&', "client_id", c->client_id)) < 0 ||
		(error = cb__form_field(&req->body, '&', "scope", scope)) < 0)
		goto done;
	if (c->kind == CB_CREDENTIAL_SECRET) {
		error = cb__form_field(
			&req->body, '&', "client_secret", c->client_secret);
	} else {
		if ((error = cb__auth_assertion(&assertion, c->cert,
			     c->assertion_alg, c->token_url, c->client_id, now,
			     NULL)) < 0 ||
			(error = cb__form_field(&req->body, '&',
				 "client_assertion_type", ASSERTION_TYPE)) <
				0 ||
			(error = cb__form_field(&req->body, '&',
				 "client_assertion", assertion.ptr)) < 0)
			goto done;
	}
	if (error == 0)
		error = cb__form_field(
			&req->body, '&', "grant_type", "client_credentials");
done:
	cb__auth_buf_wipe(&assertion);
	return error;
}

static int
request_managed_identity(
	struct cb__token_request *req, cb_credential *c, const char *scope)
{
	cb_buf url = CB_BUF_INIT, query = CB_BUF_INIT, hdr = CB_BUF_INIT;
	char *resource = NULL;
	bool imds = c->mi_flavor == MI_IMDS;
	int error;

	req->method = CB__TOKEN_GET;
	if ((error = cb__cloud_scope_to_resource(&resource, scope)) < 0 ||
		(error = cb__form_field(&query, '&', "api-version",
			 imds ? IMDS_API_VERSION : APP_SERVICE_API_VERSION)) <
			0 ||
		(error = cb__form_field(&query, '&', "resource", resource)) <
			0 ||
		(c->mi_client_id &&
			(error = cb__form_field(&query, '&', "client_id",
				 c->mi_client_id)) < 0))
		goto done;
	if ((error = cb__buf_printf(&url, "%s?%s", c->mi_endpoint, query.ptr)) <
		0)
		goto done;
	if (imds)
		error = cb__buf_puts(&hdr, "Metadata: true");
	else
		error = cb__buf_printf(
			&hdr, "X-IDENTITY-HEADER: %s", c->mi_header);
	if (error < 0 || (error = dup_into(&req->endpoint, c->mi_endpoint)) < 0)
		goto done;
	if ((req->url = cb__buf_detach(&url)) == NULL ||
		(req->header = cb__buf_detach(&hdr)) == NULL)
		error = CB_ENOMEM;
done:
	cb__free(resource);
	cb_buf_dispose(&url);
	cb_buf_dispose(&query);
	cb__auth_buf_wipe(&hdr);
	return error;
}

int
cb__credential_token_request(struct cb__token_request *out, cb_credential *cred,
	const char *scope, int64_t now)
{
	struct cb__token_request req = { 0 };
	int error;

	CB_ASSERT_ARG(out != NULL && cred != NULL);
	if (scope == NULL)
		scope = cred->default_scope;
	switch (cred->kind) {
	case CB_CREDENTIAL_SECRET:
	case CB_CREDENTIAL_CERTIFICATE:
		error = request_post(&req, cred, scope, now);
		break;
	case CB_CREDENTIAL_MANAGED_IDENTITY:
		error = request_managed_identity(&req, cred, scope);
		break;
	default:
		error = cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"a %s credential sends no token request",
			cb_credential_kind_name(cred->kind));
		break;
	}
	if (error < 0) {
		cb__token_request_dispose(&req);
		return error;
	}
	*out = req;
	return 0;
}

/* ---- getting tokens ---------------------------------------------------- */

/* What a refresh needs besides the scope. */
struct fetch {
	cb_credential *cred; /* borrowed */
	cb_http *http;       /* borrowed: the calling thread's client */
	int64_t now;         /* when the caller asked, unix seconds */
};

static int
fetch_token(cb_buf *token, int64_t *expires_on, const char *scope, void *p)
{
	struct fetch *f = p;
	struct cb__token_request req = { 0 };
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_http_request hr = { 0 };
	const char *headers[4];
	size_t n = 0;
	int error;

	if ((error = cb__credential_token_request(
		     &req, f->cred, scope, f->now)) < 0)
		return error;
	headers[n++] = "Accept: application/json";
	if (req.method == CB__TOKEN_POST)
		headers[n++] =
			"Content-Type: application/x-www-form-urlencoded";
	if (req.header != NULL)
		headers[n++] = req.header;
	headers[n] = NULL;
	hr.method = req.method == CB__TOKEN_POST ? "POST" : "GET";
	hr.url = req.url;
	hr.headers = headers;
	hr.body = req.body.ptr;
	hr.body_len = req.body.size;
	/* Asking for a token twice has no effect a retry could repeat. */
	hr.retry_unsafe = true;
	error = cb__http_send(f->http, &hr, &resp);
	if (error == 0) {
		error = cb__auth_token_response(token, expires_on, resp.status,
			resp.body.ptr, resp.body.size, req.endpoint, f->now);
	} else if (f->cred->mi_fallback && resp.status == 0 &&
		   error != CB_ENOMEM) {
		char cause[CB_ERROR_MESSAGE_MAX];

		/* No answer at all: most likely not on Azure, and nothing
		 * else was configured.  Say both. */
		snprintf(cause, sizeof(cause), "%s", cb_error_last()->message);
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"no credential is configured (client_secret, "
			"certificate_path, access_token, token_file, "
			"AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or "
			"AZURE_ACCESS_TOKEN) and managed identity is not "
			"available: %s",
			cause);
	}
	/* The body holds the token: wipe it before the memory is reused. */
	cb__auth_buf_wipe(&resp.body);
	cb__http_response_dispose(&resp);
	cb__token_request_dispose(&req);
	return error;
}

/* Remove trailing blanks and line ends a file or editor added. */
static void
trim_end(cb_buf *b)
{
	while (b->size > 0 && strchr(" \t\r\n", b->ptr[b->size - 1]) != NULL)
		b->ptr[--b->size] = '\0';
}

static int
static_token(cb_credential *c, cb_buf *token, int64_t *expires_on, int64_t now)
{
	cb_buf file = CB_BUF_INIT;
	const char *value = c->static_token;
	int64_t exp = INT64_MAX;
	int error;

	if (c->token_file != NULL) {
		if ((error = cb__auth_read_file(
			     &file, c->token_file, "token file", true)) < 0)
			goto done;
		trim_end(&file);
		if (file.size == 0 ||
			!cb__auth_is_token_text(file.ptr, CB__AUTH_TOKEN_MAX)) {
			error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
				"token file %s does not hold a token (1 to %d "
				"printable characters without blanks)",
				c->token_file, CB__AUTH_TOKEN_MAX);
			goto done;
		}
		value = file.ptr;
	}
	error = cb__auth_jwt_expiry(&exp, value);
	if (error == CB_ENOMEM)
		goto done;
	if (error == 0 && exp <= now) {
		char when[32];
		time_t t = (time_t)exp;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			gmtime_r(&t, &tm));
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s expired at %s", c->description, when);
		goto done;
	}
	if (error == CB_ENOTFOUND)
		exp = INT64_MAX; /* not a JWT: its lifetime is unknown */
	cb__buf_clear(token);
	if ((error = cb__buf_puts(token, value)) < 0)
		goto done;
	if (expires_on != NULL)
		*expires_on = exp;
done:
	cb__auth_buf_wipe(&file);
	return error;
}

int
cb__credential_get_token(cb_credential *cred, cb_http *http, const char *scope,
	cb_buf *token, int64_t *expires_on)
{
	struct fetch f;

	CB_ASSERT_ARG(cred != NULL);
	CB_ASSERT_ARG(token != NULL);
	if (scope == NULL)
		scope = cred->default_scope;
	f.cred = cred;
	f.http = http;
	f.now = cb__credential_now(cred);
	if (cred->kind == CB_CREDENTIAL_STATIC_TOKEN)
		return static_token(cred, token, expires_on, f.now);
	CB_ASSERT_ARG(http != NULL);
	return cb__token_cache_get(
		cred->cache, scope, f.now, fetch_token, &f, token, expires_on);
}

void
cb__credential_invalidate(cb_credential *cred)
{
	if (cred != NULL && cred->cache != NULL)
		cb__token_cache_clear(cred->cache);
}
