/*
 * include/chargeback/auth.h - Azure clouds and Microsoft Entra ID
 * credentials.
 *
 * A credential is resolved once, from explicit options first and the Azure
 * SDK environment variables second, and then hands out access tokens for
 * Azure Resource Manager (or another scope) to the rest of the library,
 * caching them and refreshing five minutes before they expire.  Which kind
 * of credential is used when the options leave it to us
 * (CB_CREDENTIAL_AUTO):
 *
 *   1. explicit options: client_secret, else certificate_path, else
 *      access_token / token_file;
 *   2. the environment, in the Azure SDKs' EnvironmentCredential order:
 *      AZURE_CLIENT_SECRET, else AZURE_CLIENT_CERTIFICATE_PATH, then
 *      AZURE_ACCESS_TOKEN;
 *   3. managed identity, as the Azure SDKs' DefaultAzureCredential does
 *      when nothing else is configured (App Service when IDENTITY_ENDPOINT
 *      and IDENTITY_HEADER are set, otherwise the VM metadata service).
 *
 * Any other field (tenant, client id, authority host) is taken from the
 * options when set and from its environment variable otherwise; an empty
 * string counts as not set.  A secret half configured (a client secret
 * without a tenant), two explicit options naming different kinds, or an
 * app named in the options (client_id, tenant_id) with no secret or
 * certificate anywhere is an error, never a silent fall-through to the
 * next kind.  Files holding a key or a token must be private to their
 * owner (or root-owned and at most group-readable), as libpq requires of
 * its key files.
 */
#ifndef CHARGEBACK_AUTH_H
#define CHARGEBACK_AUTH_H

#include "chargeback/common.h"

CB_BEGIN_DECL

/** A national cloud's well-known hosts. */
typedef struct {
	const char *name;                /**< "public", "china" or "usgov" */
	const char *authority_host;      /**< Entra login, no trailing slash */
	const char *management_endpoint; /**< ARM, no trailing slash */
} cb_cloud;

/**
 * Look a cloud up by name: "public", "china", "usgov", or the Azure CLI's
 * "AzureCloud", "AzureChinaCloud", "AzureUSGovernment" (any case).
 *
 * @param[out] out  receives the cloud; static, never freed.  Untouched on
 *                  failure.
 * @param name      the cloud's name.
 * @return 0, or CB_ENOTFOUND for an unknown name (the message lists the
 *         known ones).
 */
CB_EXTERN(int) cb_cloud_find(const cb_cloud **out, const char *name);

/** How a credential obtains tokens. */
typedef enum {
	CB_CREDENTIAL_AUTO = 0,        /**< choose as described at the top */
	CB_CREDENTIAL_SECRET = 1,      /**< client id + client secret */
	CB_CREDENTIAL_CERTIFICATE = 2, /**< client id + certificate assertion */
	CB_CREDENTIAL_MANAGED_IDENTITY = 3, /**< IMDS or App Service */
	CB_CREDENTIAL_STATIC_TOKEN = 4      /**< a token given as is */
} cb_credential_kind;

/** How a certificate assertion is signed. */
typedef enum {
	CB_ASSERTION_PS256 = 0, /**< RSA-PSS SHA-256, header x5t#S256 */
	CB_ASSERTION_RS256 = 1  /**< RSA PKCS#1 v1.5 SHA-256, header x5t */
} cb_assertion_alg;

/** cb_credential_options.flags: ignore every environment variable. */
#define CB_CREDENTIAL_IGNORE_ENV 0x1u

/** The version of cb_credential_options this header describes. */
#define CB_CREDENTIAL_OPTIONS_VERSION 1

/**
 * What a credential is built from.  Start from CB_CREDENTIAL_OPTIONS_INIT
 * and set what you have; NULL means "not given".  Every string is copied.
 */
typedef struct {
	int version;       /**< CB_CREDENTIAL_OPTIONS_VERSION */
	int kind;          /**< a cb_credential_kind */
	unsigned flags;    /**< CB_CREDENTIAL_* flags */
	const char *cloud; /**< cloud name (cb_cloud_find), default "public" */
	/** Entra login host; else AZURE_AUTHORITY_HOST, else the cloud's. */
	const char *authority_host;
	/** ARM endpoint whose "/.default" scope is the default; else cloud's */
	const char *management_endpoint;
	const char *tenant_id;     /**< else AZURE_TENANT_ID */
	const char *client_id;     /**< else AZURE_CLIENT_ID */
	const char *client_secret; /**< else AZURE_CLIENT_SECRET */
	/** PEM certificate, with its key unless certificate_key_path is
	 * set; else AZURE_CLIENT_CERTIFICATE_PATH */
	const char *certificate_path;
	const char *certificate_key_path; /**< PEM private key, optional */
	/** for an encrypted key; else AZURE_CLIENT_CERTIFICATE_PASSWORD */
	const char *certificate_password;
	int assertion_alg; /**< a cb_assertion_alg; default PS256 */
	/** user-assigned identity; else AZURE_CLIENT_ID; NULL = system */
	const char *managed_identity_client_id;
	/** IMDS token URL; default the link-local metadata service */
	const char *imds_endpoint;
	const char *access_token; /**< static token; else AZURE_ACCESS_TOKEN */
	/** static token read from this file at each refresh */
	const char *token_file;
} cb_credential_options;

/* Designated, so -Wmissing-field-initializers stays quiet. */
#define CB_CREDENTIAL_OPTIONS_INIT                       \
	{                                                \
		.version = CB_CREDENTIAL_OPTIONS_VERSION \
	}

/** A resolved credential and its token cache; safe to share by threads. */
typedef struct cb_credential cb_credential;

/**
 * Resolve a credential from @p opts and the environment.  Certificates and
 * keys are read and checked now, so a bad file is reported at start-up.
 *
 * @param[out] out  receives the credential; the caller owns it and
 *                  releases it with cb_credential_free().  Untouched on
 *                  failure.
 * @param opts      the options; NULL is CB_CREDENTIAL_OPTIONS_INIT.
 * @return 0; CB_ECONFIG for missing or inconsistent settings (the message
 *         names the option or variable); CB_ENOTFOUND for an unknown cloud;
 *         CB_EIO for an unreadable file; CB_ESECURITY for a key or token
 *         file readable by group or others; CB_EAUTH for a certificate or
 *         key that cannot be used; CB_EINVAL; CB_ENOMEM.
 */
CB_EXTERN(int)
cb_credential_new(cb_credential **out, const cb_credential_options *opts);

/** Release a credential, wiping the secrets it holds.  NULL is a no-op. */
CB_EXTERN(void) cb_credential_free(cb_credential *cred);

/** The kind that was chosen: never CB_CREDENTIAL_AUTO. */
CB_EXTERN(int) cb_credential_kind_of(const cb_credential *cred);

/** A kind's name ("secret", "certificate", ...), or "unknown". */
CB_EXTERN(const char *) cb_credential_kind_name(int kind);

/**
 * The ARM endpoint this credential's tokens are for, without a trailing
 * slash ("https://management.azure.com").  Borrowed: valid until
 * cb_credential_free(@p cred).
 */
CB_EXTERN(const char *)
cb_credential_management_endpoint(const cb_credential *cred);

/**
 * One line saying what was chosen and from where, with no secret in it
 * ("client secret for client 1234... in tenant contoso.com, from
 * AZURE_CLIENT_SECRET").  Borrowed: valid until cb_credential_free().
 */
CB_EXTERN(const char *) cb_credential_describe(const cb_credential *cred);

CB_END_DECL

#endif
