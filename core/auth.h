/*
 * core/auth.h - Entra ID credentials inside the library.
 *
 * Two halves.  core/auth.c owns OpenSSL (STYLE.md 6.1): certificates and
 * keys, the signed client assertion, digests, randomness and wiping
 * secrets; no OpenSSL type crosses this header.  core/auth_credential.c
 * resolves a credential from options and environment and builds the exact
 * token requests, which are pure functions of the credential, the scope
 * and the time so tests can compare them byte for byte.
 */
#ifndef CB_CORE_AUTH_H
#define CB_CORE_AUTH_H

#include "chargeback/auth.h"
#include "chargeback/buf.h"

#include <stdint.h>

/* ---- core/auth.c: OpenSSL ---------------------------------------------- */

/*
 * Largest certificate, key or token file read, in bytes.  A PEM RSA-4096
 * key is about 3.3 KB and a certificate with its chain a few KB more; a
 * JWT access token is 1-4 KB.  1 MiB is far above any real file and still
 * refuses a wrong path pointing at something huge.
 */
#define CB__AUTH_FILE_MAX ((size_t)1 << 20)

/* Assertion lifetime, seconds: Entra accepts any, Microsoft's guidance is
 * five to ten minutes; the assertion is used at once, so ten is ample. */
#define CB__AUTH_ASSERTION_LIFETIME 600

/* A certificate and its RSA private key. */
struct cb__auth_cert;

/*
 * Read a PEM certificate and RSA private key.  key_path NULL: the key is
 * in cert_path too (the Azure SDKs' AZURE_CLIENT_CERTIFICATE_PATH form),
 * which then must be private to its owner.  The certificate used is the
 * one whose public key matches the private key, so a file with a chain
 * works.  password (may be NULL) decrypts an encrypted key.
 * Returns 0, CB_EIO, CB_ESECURITY, CB_EAUTH (no certificate, no key, key
 * not RSA, wrong password, no matching certificate) or CB_ENOMEM.
 */
int cb__auth_cert_load(struct cb__auth_cert **out, const char *cert_path,
	const char *key_path, const char *password);
void cb__auth_cert_free(struct cb__auth_cert *cert);

/* base64url (no padding) of the SHA-1 / SHA-256 of the certificate's DER:
 * the "x5t" and "x5t#S256" header values.  Borrowed from cert. */
const char *cb__auth_cert_x5t(const struct cb__auth_cert *cert);
const char *cb__auth_cert_x5t_s256(const struct cb__auth_cert *cert);

/*
 * Append a signed client assertion (a compact JWS) to out:
 *   header  {"alg":"PS256","typ":"JWT","x5t#S256":"..."}   (PS256) or
 *           {"alg":"RS256","typ":"JWT","x5t":"..."}        (RS256)
 *   claims  {"aud":aud,"iss":client_id,"sub":client_id,"jti":jti,
 *            "nbf":now,"iat":now,"exp":now+CB__AUTH_ASSERTION_LIFETIME}
 * PS256 is RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518
 * 3.5).  jti NULL: a random UUID.  Returns 0, CB_EAUTH (signing failed),
 * CB_EINVAL (alg) or CB_ENOMEM.
 */
int cb__auth_assertion(cb_buf *out, const struct cb__auth_cert *cert, int alg,
	const char *aud, const char *client_id, int64_t now, const char *jti);

/* True when s is 1..max-1 bytes of printable ASCII without blanks: safe to
 * put in a URL path, a form field or a header (ids, tokens, error codes). */
bool cb__auth_is_token_text(const char *s, size_t max);

/* Room for a SHA-256 as lower-case hex and its terminator. */
#define CB__AUTH_SHA256_HEX 65

/* The SHA-256 of data as 64 lower-case hex digits (content hashes such as
 * the rule set's).  Returns 0, or CB_ERROR if OpenSSL fails. */
int cb__auth_sha256_hex(
	char out[CB__AUTH_SHA256_HEX], const void *data, size_t len);

/* Append base64url without padding (RFC 7515 appendix C). */
int cb__auth_base64url(cb_buf *out, const void *data, size_t len);

/* Decode base64url (padding optional) into out; CB_EPARSE if malformed. */
int cb__auth_base64url_decode(cb_buf *out, const char *s, size_t len);

/* Overwrite memory in a way the compiler cannot drop. */
void cb__auth_cleanse(void *p, size_t len);
/* Wipe then dispose a buffer that held a secret.  NULL is a no-op. */
void cb__auth_buf_wipe(cb_buf *buf);
/* Wipe then free a NUL-terminated secret.  NULL is a no-op. */
void cb__auth_free_secret(char *s);

/*
 * Read a file into out; with secret (a key, a token) it is refused with
 * CB_ESECURITY unless private: owned by us with no group or other
 * permission, or owned by root and at most readable by its group
 * (libpq's rule for key files, which allows root:group 0640 secret
 * mounts).  what names
 * the file's role in messages.  CB_EIO if unreadable or not a regular
 * file, CB_ETOOBIG past CB__AUTH_FILE_MAX.
 */
int cb__auth_read_file(
	cb_buf *out, const char *path, const char *what, bool secret);

/* ---- core/auth_token.c --------------------------------------------------- */

/*
 * Longest access token accepted from a server, a file or the environment.
 * Entra access tokens run 1-4 KB, more with many group claims; 32 KiB is
 * well past that and still far below what would break a request header.
 */
#define CB__AUTH_TOKEN_MAX 32768

/*
 * Read a token endpoint's answer: for a 2xx, the bearer token (appended to
 * token) and its expiry in unix seconds (now + expires_in, else
 * expires_on; either may be a JSON number or a numeric string).  Any
 * other status is CB_EAUTH "token request to <endpoint> failed: http
 * <status> [<error>][: <description>]", with the status, the error code
 * and the correlation id attached (cb__error_set_http).  endpoint must
 * have no query string.  Returns 0, CB_EAUTH or CB_ENOMEM.
 */
int cb__auth_token_response(cb_buf *token, int64_t *expires_on, int status,
	const char *body, size_t len, const char *endpoint, int64_t now);

/* The "exp" claim of a JWT, unverified: 0, or CB_ENOTFOUND when token is
 * not a JWT or has no numeric exp, or CB_ENOMEM. */
int cb__auth_jwt_expiry(int64_t *exp, const char *token);

/* ---- core/auth_credential.c ------------------------------------------ */

/* Environment lookup; tests pass a table instead of touching environ. */
typedef const char *(*cb__env_fn)(const char *name, void *payload);

/* Wall clock, unix seconds; tests inject one. */
typedef int64_t (*cb__clock_fn)(void *payload);

/* cb_credential_new with an explicit environment (getenv when env NULL). */
int cb__credential_new_env(cb_credential **out,
	const cb_credential_options *opts, cb__env_fn env, void *payload);

/* Replace the clock (NULL restores the system clock).  Not thread-safe:
 * call before sharing the credential. */
void cb__credential_set_clock(
	cb_credential *cred, cb__clock_fn clock, void *payload);

/* The credential's clock: unix seconds. */
int64_t cb__credential_now(const cb_credential *cred);

/* The scope used when callers pass NULL: "<management endpoint>/.default".
 * Borrowed. */
const char *cb__credential_default_scope(const cb_credential *cred);

/* The v2 token endpoint, "<authority>/<tenant>/oauth2/v2.0/token", for the
 * secret and certificate kinds; NULL for the others.  Borrowed. */
const char *cb__credential_token_url(const cb_credential *cred);

enum { CB__TOKEN_POST = 0, CB__TOKEN_GET = 1 };

/* One token request, exactly as it goes on the wire. */
struct cb__token_request {
	int method;     /* CB__TOKEN_POST or CB__TOKEN_GET */
	char *url;      /* owned; GET requests carry their query */
	char *endpoint; /* owned; url without its query, for messages */
	cb_buf body;    /* POST form body; holds a secret, wiped */
	char *header;   /* owned "Name: value" or NULL; may be secret, wiped */
};

/*
 * Build the token request for scope (NULL: the default scope) at time now:
 *   secret       POST <token url>  client_id, scope, client_secret,
 *                grant_type=client_credentials (form-encoded, that order)
 *   certificate  POST <token url>  client_id, scope, client_assertion_type,
 *                client_assertion, grant_type=client_credentials
 *   IMDS         GET <imds>?api-version=2018-02-01&resource=R[&client_id=]
 *                with "Metadata: true"
 *   App Service  GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R
 *                [&client_id=] with "X-IDENTITY-HEADER: $IDENTITY_HEADER"
 * R is the scope's v1 resource (cb__cloud_scope_to_resource).  Static
 * tokens need no request: CB_EINVAL.  Returns 0, CB_EAUTH (signing),
 * CB_EINVAL or CB_ENOMEM; out is all-NULL on failure.
 */
int cb__credential_token_request(struct cb__token_request *out,
	cb_credential *cred, const char *scope, int64_t now);

/* Release a request, wiping its secrets.  Leaves it all-NULL. */
void cb__token_request_dispose(struct cb__token_request *req);

/*
 * Append value to buf application/x-www-form-urlencoded: A-Z a-z 0-9 and
 * "-._~" as is, space as "+", every other byte as %XX (upper case).
 */
int cb__form_encode(cb_buf *buf, const char *value);

/* Append "name=value" (value encoded), preceded by sep when buf is not
 * empty. */
int cb__form_field(cb_buf *buf, char sep, const char *name, const char *value);

/* The client that sends token requests: core/http.h's. */
typedef struct cb_http cb_http;

/*
 * A bearer token for scope (NULL: the default ARM scope) valid now, into
 * token (cleared first; the caller wipes it with cb__auth_buf_wipe), and
 * its expiry in unix seconds into *expires_on (may be NULL; INT64_MAX for
 * a static token whose expiry cannot be read).  Cached per scope and
 * refreshed CB__TOKEN_REFRESH_MARGIN seconds before expiry; concurrent
 * callers share one refresh.  http is the calling thread's client (not
 * used for static tokens).  Returns 0; CB_EAUTH (refused, malformed
 * answer, expired static token, or managed identity unreachable when it
 * was only the fallback); the client's CB_EHTTP, CB_ETHROTTLED,
 * CB_ETIMEOUT, CB_ESECURITY; CB_EIO/CB_ESECURITY (token file); CB_ENOMEM.
 */
int cb__credential_get_token(cb_credential *cred, cb_http *http,
	const char *scope, cb_buf *token, int64_t *expires_on);

/* Forget cached tokens, e.g. after ARM refused one as revoked. */
void cb__credential_invalidate(cb_credential *cred);

#endif
