/*
 * tenants/session.c - the credential, HTTP and ARM clients for a command.
 */
#include "core/common.h"

#include "core/auth.h"
#include "tenants/session.h"

static void
credential_options(cb_credential_options *o, const cb_azure_config *az)
{
	o->cloud = az->cloud_name;
	o->authority_host = az->authority_host;
	/* Not az->management_endpoint: the token's audience stays the
	 * cloud's ARM audience (management.azure.com/.default) when the
	 * calls go elsewhere (armsim), as the SDKs' credentialScopes. */
	o->tenant_id = az->tenant_id;
	o->client_id = az->client_id;
	o->client_secret = az->client_secret;
	o->certificate_path = az->certificate_path;
	o->assertion_alg = az->assertion_algorithm;
	o->token_file = az->access_token_file;
	if (az->managed_identity) {
		o->kind = CB_CREDENTIAL_MANAGED_IDENTITY;
		o->managed_identity_client_id = az->managed_identity_client_id;
	}
}

static void
http_options(cb_http_options *o, const cb_config *cfg)
{
	const cb_http_config *h = cb_config_http(cfg);

	o->timeout_ms = (long)h->timeout_seconds * 1000;
	o->connect_timeout_ms = (long)h->connect_timeout_seconds * 1000;
	o->deadline_ms = (long)h->deadline_seconds * 1000;
	o->max_attempts = (unsigned)h->max_attempts;
	o->max_parallel = (unsigned)h->max_parallel;
	o->ca_file = cb_config_azure(cfg)->ca_file;
}

int
cb__session_token(cb_buf *out, const char *scope, void *payload)
{
	cb__session *s = payload;

	return cb__credential_get_token(s->cred, s->http, scope, out, NULL);
}

int
cb__session_open(cb__session **out, const cb_config *cfg)
{
	cb_credential_options co = CB_CREDENTIAL_OPTIONS_INIT;
	cb_http_options ho = CB_HTTP_OPTIONS_INIT;
	cb_arm_options ao = CB_ARM_OPTIONS_INIT;
	cb_ratelimit_options ro = {
		.header = CB_RATELIMIT_ARM_READS_HEADER,
		.ops = CB_RATELIMIT_READS,
		.burst = CB_RATELIMIT_ARM_READS_BURST,
		.refill = CB_RATELIMIT_ARM_READS_REFILL,
	};
	cb__session *s;
	int rc;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	if ((s = cb__calloc(1, sizeof(*s))) == NULL)
		return CB_ENOMEM;
	s->cfg = cfg;
	credential_options(&co, cb_config_azure(cfg));
	http_options(&ho, cfg);
	ro.margin = ho.max_parallel + 2;
	if (ro.margin >= ro.burst)
		ro.margin = ro.burst - 1;
	if ((rc = cb_credential_new(&s->cred, &co)) != 0 ||
		(rc = cb__http_new(&s->http, &ho)) != 0 ||
		(rc = cb__ratelimit_new(&s->reads, &ro)) != 0)
		goto fail;
	cb__http_set_ratelimit(s->http, s->reads);
	ao.http = s->http;
	ao.endpoint = cb_config_azure(cfg)->management_endpoint
			      ? cb_config_azure(cfg)->management_endpoint
			      : cb_credential_management_endpoint(s->cred);
	ao.token = cb__session_token;
	ao.token_payload = s;
	if ((rc = cb__arm_new(&s->arm, &ao)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	cb__session_close(s);
	return rc;
}

void
cb__session_close(cb__session *s)
{
	if (s == NULL)
		return;
	cb__arm_free(s->arm);
	cb__http_free(s->http);
	cb__ratelimit_free(s->reads);
	cb_credential_free(s->cred);
	cb__free(s);
}
