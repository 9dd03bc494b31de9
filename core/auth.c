/*
 * core/auth.c - everything chargeback asks of OpenSSL: certificates and
 * keys, the signed client assertion, digests, random numbers and wiping.
 *
 * This is the only file that includes OpenSSL (STYLE.md 6.1).  OpenSSL's
 * own error text is copied into messages (never key material), and its
 * error queue is cleared before returning, so a later caller does not
 * inherit a stale error.  Signature parameters are set explicitly rather
 * than left to provider defaults, which differ for PSS salt lengths
 * (background D.5).
 */
#include "core/common.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* base64url of a SHA-1 (20 bytes) is 27 characters, of SHA-256 43. */
#define X5T_MAX 44

struct cb__auth_cert {
	X509 *cert;             /* owned; the certificate matching key */
	EVP_PKEY *key;          /* owned; RSA */
	char x5t[X5T_MAX];      /* base64url(SHA-1(DER)) */
	char x5t_s256[X5T_MAX]; /* base64url(SHA-256(DER)) */
};

/* ---- wiping ------------------------------------------------------------ */

void
cb__auth_cleanse(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

void
cb__auth_buf_wipe(cb_buf *buf)
{
	if (buf == NULL)
		return;
	cb__auth_cleanse(buf->ptr, buf->asize);
	cb_buf_dispose(buf);
}

void
cb__auth_free_secret(char *s)
{
	if (s == NULL)
		return;
	cb__auth_cleanse(s, strlen(s));
	cb__free(s);
}

/* ---- errors ------------------------------------------------------------ */

/* Record code with "<fmt>: <OpenSSL's reason>" and empty OpenSSL's queue. */
static int ssl_error(int code, const char *fmt, ...) CB_FORMAT_PRINTF(2, 3);

static int
ssl_error(int code, const char *fmt, ...)
{
	char what[512], reason[256];
	unsigned long e = ERR_peek_last_error();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ERR_clear_error();
	if (e == 0)
		return cb__error_set(code, CB_ERRCLASS_AUTH, "%s", what);
	ERR_error_string_n(e, reason, sizeof(reason));
	return cb__error_set(code, CB_ERRCLASS_AUTH, "%s: %s", what, reason);
}

/* ---- base64url --------------------------------------------------------- */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
cb__auth_sha256_hex(char out[CB__AUTH_SHA256_HEX], const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != sizeof(md)) {
		ERR_clear_error();
		out[0] = '\0';
		return cb__error_set(
			CB_ERROR, CB_ERRCLASS_AUTH, "sha-256 digest failed");
	}
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

int
cb__auth_base64url(cb_buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	char *w;
	size_t i;
	int error;

	if (len > CB_BUF_MAX / 4 * 3)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_AUTH,
			"base64url input of %zu bytes is too large", len);
	if ((error = cb__buf_grow(out, (len + 2) / 3 * 4)) < 0)
		return error;
	w = out->ptr + out->size;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];

		*w++ = b64url[v >> 18 & 63];
		*w++ = b64url[v >> 12 & 63];
		*w++ = b64url[v >> 6 & 63];
		*w++ = b64url[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		*w++ = b64url[v >> 18 & 63];
		*w++ = b64url[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		*w++ = b64url[v >> 18 & 63];
		*w++ = b64url[v >> 12 & 63];
		*w++ = b64url[v >> 6 & 63];
	}
	out->size = (size_t)(w - out->ptr);
	out->ptr[out->size] = '\0';
	return 0;
}

static int
b64url_value(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

int
cb__auth_base64url_decode(cb_buf *out, const char *s, size_t len)
{
	uint32_t acc = 0;
	int bits = 0, error;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		goto bad;
	if ((error = cb__buf_grow(out, len / 4 * 3 + 2)) < 0)
		return error;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(s[i]);

		if (v < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->ptr[out->size++] = (char)(acc >> bits & 0xff);
		}
	}
	/* Leftover bits must be zero for a canonical encoding. */
	if ((acc & ((1u << bits) - 1)) != 0)
		goto bad;
	out->ptr[out->size] = '\0';
	return 0;
bad:
	return cb__error_set(
		CB_EPARSE, CB_ERRCLASS_AUTH, "malformed base64url text");
}

/* ---- files ------------------------------------------------------------- */

int
cb__auth_read_file(cb_buf *out, const char *path, const char *what, bool secret)
{
	struct stat st;
	char chunk[4096];
	ssize_t n;
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"%s %s: cannot open: %s", what, path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"%s %s: cannot stat: %s", what, path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"%s %s: not a regular file", what, path);
		goto done;
	}
	if (secret && st.st_uid != geteuid() && st.st_uid != 0) {
		error = cb__error_set(CB_ESECURITY, CB_ERRCLASS_AUTH,
			"%s %s: owned by another user (uid %u)", what, path,
			(unsigned)st.st_uid);
		goto done;
	}
	/* libpq's rule for key files: private to us, or (for a root-owned
	 * file someone else installed) readable by its group at most. */
	if (secret && (st.st_uid == geteuid()
				      ? (st.st_mode & (S_IRWXG | S_IRWXO)) != 0
				      : (st.st_mode & (S_IWGRP | S_IXGRP |
							      S_IRWXO)) != 0)) {
		error = cb__error_set(CB_ESECURITY, CB_ERRCLASS_AUTH,
			"%s %s: readable by group or others (mode %04o); "
			"make it private: chmod 600 %s",
			what, path, (unsigned)(st.st_mode & 07777), path);
		goto done;
	}
	if ((size_t)st.st_size > CB__AUTH_FILE_MAX) {
		error = cb__error_set(CB_ETOOBIG, CB_ERRCLASS_AUTH,
			"%s %s: larger than %zu bytes", what, path,
			CB__AUTH_FILE_MAX);
		goto done;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
				"%s %s: cannot read: %s", what, path,
				strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		/* The file may have grown since fstat. */
		if (out->size + (size_t)n > CB__AUTH_FILE_MAX) {
			error = cb__error_set(CB_ETOOBIG, CB_ERRCLASS_AUTH,
				"%s %s: larger than %zu bytes", what, path,
				CB__AUTH_FILE_MAX);
			goto done;
		}
		if ((error = cb__buf_put(out, chunk, (size_t)n)) < 0)
			goto done;
	}
done:
	cb__auth_cleanse(chunk, sizeof(chunk));
	close(fd);
	return error;
}

/* ---- certificates ------------------------------------------------------ */

struct pem_secret {
	const char *password; /* borrowed; NULL when none was configured */
	bool asked;           /* OpenSSL needed a password */
};

/* Never let OpenSSL's default callback prompt on a terminal. */
static int
pem_password(char *buf, int size, int rwflag, void *u)
{
	struct pem_secret *pw = u;
	size_t len;

	CB_UNUSED(rwflag);
	pw->asked = true;
	if (pw->password == NULL || size <= 0)
		return -1;
	len = strlen(pw->password);
	if (len > (size_t)size)
		return -1;
	memcpy(buf, pw->password, len);
	return (int)len;
}

static int
digest_x5t(char *out, const X509 *cert, const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	cb_buf b = CB_BUF_INIT;
	int error;

	if (X509_digest(cert, md, d, &n) != 1)
		return ssl_error(CB_EAUTH, "cannot digest the certificate");
	if ((error = cb__auth_base64url(&b, d, n)) < 0)
		return error;
	snprintf(out, X5T_MAX, "%s", b.ptr);
	cb_buf_dispose(&b);
	return 0;
}

void
cb__auth_cert_free(struct cb__auth_cert *cert)
{
	if (cert == NULL)
		return;
	X509_free(cert->cert);
	EVP_PKEY_free(cert->key);
	cb__free(cert);
}

/* Read the private key from the PEM text in data. */
static int
cert_read_key(EVP_PKEY **out, const cb_buf *data, const char *path,
	const char *password)
{
	struct pem_secret pw = { password, false };
	BIO *bio;

	if ((bio = BIO_new_mem_buf(
		     data->ptr ? data->ptr : "", (int)data->size)) == NULL)
		return ssl_error(CB_ENOMEM, "%s: cannot read", path);
	*out = PEM_read_bio_PrivateKey(bio, NULL, pem_password, &pw);
	BIO_free(bio);
	if (*out != NULL) {
		ERR_clear_error();
		return 0;
	}
	if (pw.asked && password == NULL) {
		ERR_clear_error();
		return cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s: the private key is encrypted and no password "
			"is configured (certificate_password or "
			"AZURE_CLIENT_CERTIFICATE_PASSWORD)",
			path);
	}
	if (pw.asked)
		return ssl_error(CB_EAUTH,
			"%s: cannot decrypt the private key (wrong password?)",
			path);
	return ssl_error(CB_EAUTH, "%s: no PEM private key found", path);
}

/* Find, among the PEM certificates in data, the one matching key. */
static int
cert_find_match(X509 **out, const cb_buf *data, const char *path, EVP_PKEY *key)
{
	BIO *bio;
	X509 *x;
	int seen = 0;

	if ((bio = BIO_new_mem_buf(
		     data->ptr ? data->ptr : "", (int)data->size)) == NULL)
		return ssl_error(CB_ENOMEM, "%s: cannot read", path);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		seen++;
		if (X509_check_private_key(x, key) == 1) {
			BIO_free(bio);
			ERR_clear_error();
			*out = x;
			return 0;
		}
		X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (seen == 0)
		return cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s: no PEM certificate found", path);
	return cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
		"%s: none of its %d certificate(s) matches the private key",
		path, seen);
}

int
cb__auth_cert_load(struct cb__auth_cert **out, const char *cert_path,
	const char *key_path, const char *password)
{
	struct cb__auth_cert *c = NULL;
	cb_buf cert_pem = CB_BUF_INIT, key_pem = CB_BUF_INIT;
	const cb_buf *keysrc = &cert_pem;
	int error;

	CB_ASSERT_ARG(out != NULL);
	CB_ASSERT_ARG(cert_path != NULL);
	if ((error = cb__auth_read_file(&cert_pem, cert_path, "certificate",
		     key_path == NULL)) < 0)
		goto done;
	if (key_path != NULL) {
		if ((error = cb__auth_read_file(
			     &key_pem, key_path, "private key", true)) < 0)
			goto done;
		keysrc = &key_pem;
	}
	if ((c = cb__calloc(1, sizeof(*c))) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	if ((error = cert_read_key(&c->key, keysrc,
		     key_path ? key_path : cert_path, password)) < 0)
		goto done;
	if (EVP_PKEY_base_id(c->key) != EVP_PKEY_RSA) {
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s: the private key is not RSA (Entra ID signs "
			"client assertions with RS256 or PS256)",
			key_path ? key_path : cert_path);
		goto done;
	}
	if ((error = cert_find_match(&c->cert, &cert_pem, cert_path, c->key)) <
		0)
		goto done;
	if ((error = digest_x5t(c->x5t, c->cert, EVP_sha1())) < 0 ||
		(error = digest_x5t(c->x5t_s256, c->cert, EVP_sha256())) < 0)
		goto done;
	*out = c;
	c = NULL;
done:
	cb__auth_cert_free(c);
	cb__auth_buf_wipe(&cert_pem);
	cb__auth_buf_wipe(&key_pem);
	return error;
}

const char *
cb__auth_cert_x5t(const struct cb__auth_cert *cert)
{
	return cert->x5t;
}

const char *
cb__auth_cert_x5t_s256(const struct cb__auth_cert *cert)
{
	return cert->x5t_s256;
}

/* ---- the client assertion ---------------------------------------------- */

/* Append s as a JSON string literal. */
static int
json_string(cb_buf *out, const char *s)
{
	int error = cb__buf_putc(out, '"');

	for (; error == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			error = cb__buf_printf(out, "\\%c", c);
		else if (c < 0x20)
			error = cb__buf_printf(out, "\\u%04x", c);
		else
			error = cb__buf_putc(out, (char)c);
	}
	return error < 0 ? error : cb__buf_putc(out, '"');
}

static int
assertion_json(cb_buf *header, cb_buf *claims, const struct cb__auth_cert *cert,
	int alg, const char *aud, const char *client_id, int64_t now,
	const char *jti)
{
	int error;

	if (alg == CB_ASSERTION_PS256)
		error = cb__buf_printf(header,
			"{\"alg\":\"PS256\",\"typ\":\"JWT\",\"x5t#S256\":\"%s\"}",
			cert->x5t_s256);
	else
		error = cb__buf_printf(header,
			"{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"%s\"}",
			cert->x5t);
	if (error < 0)
		return error;
	if ((error = cb__buf_puts(claims, "{\"aud\":")) < 0 ||
		(error = json_string(claims, aud)) < 0 ||
		(error = cb__buf_puts(claims, ",\"iss\":")) < 0 ||
		(error = json_string(claims, client_id)) < 0 ||
		(error = cb__buf_puts(claims, ",\"sub\":")) < 0 ||
		(error = json_string(claims, client_id)) < 0 ||
		(error = cb__buf_puts(claims, ",\"jti\":")) < 0 ||
		(error = json_string(claims, jti)) < 0)
		return error;
	return cb__buf_printf(claims,
		",\"nbf\":%" PRId64 ",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}",
		now, now, now + CB__AUTH_ASSERTION_LIFETIME);
}

/* Sign the first len bytes of in, appending base64url(signature). */
static int
assertion_sign(cb_buf *out, const struct cb__auth_cert *cert, int alg,
	const char *in, size_t len)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int error = 0;

	if ((md = EVP_MD_CTX_new()) == NULL) {
		error = ssl_error(CB_ENOMEM, "cannot sign the assertion");
		goto done;
	}
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, cert->key) != 1) {
		error = ssl_error(CB_EAUTH, "cannot sign the assertion");
		goto done;
	}
	if (alg == CB_ASSERTION_PS256) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) !=
				1 ||
			EVP_PKEY_CTX_set_rsa_pss_saltlen(
				pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
			EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1) {
			error = ssl_error(
				CB_EAUTH, "cannot set up PS256 signing");
			goto done;
		}
	} else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		error = ssl_error(CB_EAUTH, "cannot set up RS256 signing");
		goto done;
	}
	if (EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)in, len) !=
		1) {
		error = ssl_error(CB_EAUTH, "cannot sign the assertion");
		goto done;
	}
	if ((sig = cb__malloc(siglen)) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)in, len) !=
		1) {
		error = ssl_error(CB_EAUTH, "cannot sign the assertion");
		goto done;
	}
	error = cb__auth_base64url(out, sig, siglen);
done:
	cb__free(sig);
	EVP_MD_CTX_free(md);
	return error;
}

int
cb__auth_assertion(cb_buf *out, const struct cb__auth_cert *cert, int alg,
	const char *aud, const char *client_id, int64_t now, const char *jti)
{
	cb_buf header = CB_BUF_INIT, claims = CB_BUF_INIT, jws = CB_BUF_INIT;
	char uuid[37];
	int error;

	CB_ASSERT_ARG(out != NULL && cert != NULL);
	CB_ASSERT_ARG(aud != NULL && client_id != NULL);
	CB_ASSERT_ARG(alg == CB_ASSERTION_PS256 || alg == CB_ASSERTION_RS256);
	if (jti == NULL) {
		if ((error = cb__http_uuid4(uuid)) < 0)
			return error;
		jti = uuid;
	}
	if ((error = assertion_json(&header, &claims, cert, alg, aud, client_id,
		     now, jti)) < 0 ||
		(error = cb__auth_base64url(&jws, header.ptr, header.size)) <
			0 ||
		(error = cb__buf_putc(&jws, '.')) < 0 ||
		(error = cb__auth_base64url(&jws, claims.ptr, claims.size)) < 0)
		goto done;
	/* Sign "header.claims", then append ".signature". */
	{
		size_t signed_len = jws.size;

		if ((error = cb__buf_putc(&jws, '.')) < 0 ||
			(error = assertion_sign(
				 &jws, cert, alg, jws.ptr, signed_len)) < 0)
			goto done;
	}
	error = cb__buf_put(out, jws.ptr, jws.size);
done:
	cb_buf_dispose(&header);
	cb_buf_dispose(&claims);
	cb__auth_buf_wipe(&jws);
	return error;
}
