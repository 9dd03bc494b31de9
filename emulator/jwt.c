/*
 * emulator/jwt.c - JSON Web Tokens for armsim's Entra ID (entra.h).
 *
 * Client assertions are checked the way Entra documents them: RS256 is
 * RSASSA-PKCS1-v1_5 with SHA-256, PS256 is RSASSA-PSS with SHA-256,
 * MGF1-SHA-256 and a salt as long as the digest (RFC 7518 3.5); any
 * other salt length is refused, as a strict verifier would.
 */
#include "core/common.h"

#include "emulator/entra.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

long
as_b64url_encode(const void *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (unsigned long)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		if (o + n + 2 > outlen)
			return -1;
		for (size_t k = 0; k <= n; k++)
			out[o++] = b64url[(v >> (18 - 6 * k)) & 63];
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (long)o;
}

static int
b64url_val(int c)
{
	const char *p = c != '\0' ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

long
as_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	unsigned long acc = 0;
	int bits = 0;
	size_t o = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1ul << bits) - 1;
		}
	}
	return (long)o;
}

/* Decode one JSON part into a NUL-terminated string. */
static int
decode_text(const char *in, size_t len, char *out, size_t outlen)
{
	long n = as_b64url_decode(in, len, (unsigned char *)out, outlen - 1);

	if (n <= 0 || memchr(out, '\0', (size_t)n) != NULL)
		return -1;
	out[n] = '\0';
	return 0;
}

int
as_jws_parse(as_jws *j, const char *text)
{
	const char *d1 = strchr(text, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	long n;

	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return -1;
	j->text = text;
	j->signed_len = (size_t)(d2 - text);
	if (decode_text(text, (size_t)(d1 - text), j->header,
		    sizeof(j->header)) != 0 ||
		decode_text(d1 + 1, (size_t)(d2 - d1 - 1), j->claims,
			sizeof(j->claims)) != 0)
		return -1;
	n = as_b64url_decode(d2 + 1, strlen(d2 + 1), j->sig, sizeof(j->sig));
	if (n <= 0)
		return -1;
	j->sig_len = (size_t)n;
	return 0;
}

bool
as_jws_verify_rsa(const as_jws *j, EVP_PKEY *pub, bool pss)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = false;

	if (ctx == NULL || pub == NULL ||
		EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, pub) != 1)
		goto out;
	if (pss &&
		(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) !=
				1 ||
			EVP_PKEY_CTX_set_rsa_pss_saltlen(
				pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
			EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
		goto out;
	ok = EVP_DigestVerify(ctx, j->sig, j->sig_len,
		     (const unsigned char *)j->text, j->signed_len) == 1;
out:
	EVP_MD_CTX_free(ctx);
	return ok;
}

bool
as_jws_verify_hs256(const as_jws *j, const unsigned char *key, size_t keylen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)j->text,
		    j->signed_len, mac, &maclen) == NULL)
		return false;
	return j->sig_len == maclen && CRYPTO_memcmp(mac, j->sig, maclen) == 0;
}

int
as_jwt_hs256(const unsigned char *key, size_t keylen, const char *claims,
	char *out, size_t outlen)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	long h, c, m;

	h = as_b64url_encode(header, strlen(header), out, outlen);
	if (h < 0 || (size_t)h + 1 >= outlen)
		return -1;
	out[h] = '.';
	c = as_b64url_encode(
		claims, strlen(claims), out + h + 1, outlen - (size_t)h - 1);
	if (c < 0 || (size_t)(h + c) + 2 >= outlen)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)out,
		    (size_t)(h + 1 + c), mac, &maclen) == NULL)
		return -1;
	out[h + 1 + c] = '.';
	m = as_b64url_encode(
		mac, maclen, out + h + c + 2, outlen - (size_t)(h + c) - 2);
	return m < 0 ? -1 : 0;
}

static int
cert_thumbprints(as_cert *c, X509 *x)
{
	unsigned char *der = NULL;
	unsigned char sha1[SHA_DIGEST_LENGTH], sha256[SHA256_DIGEST_LENGTH];
	int len = i2d_X509(x, &der);

	if (len <= 0)
		return -1;
	SHA1(der, (size_t)len, sha1);
	SHA256(der, (size_t)len, sha256);
	OPENSSL_free(der);
	for (size_t i = 0; i < sizeof(sha1); i++)
		snprintf(c->sha1_hex + 2 * i, 3, "%02X", sha1[i]);
	if (as_b64url_encode(sha1, sizeof(sha1), c->x5t, sizeof(c->x5t)) < 0 ||
		as_b64url_encode(sha256, sizeof(sha256), c->x5t_s256,
			sizeof(c->x5t_s256)) < 0)
		return -1;
	return 0;
}

int
as_cert_load(as_cert *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	memset(c, 0, sizeof(*c));
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* PEM_read_X509 skips other blocks (a private key) to the first
	 * certificate. */
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || (c->pub = X509_get_pubkey(x)) == NULL ||
		EVP_PKEY_base_id(c->pub) != EVP_PKEY_RSA ||
		cert_thumbprints(c, x) != 0) {
		snprintf(err, errlen,
			"%s: no RSA certificate for client assertions", path);
		X509_free(x);
		as_cert_free(c);
		return -1;
	}
	X509_free(x);
	return 0;
}

void
as_cert_free(as_cert *c)
{
	EVP_PKEY_free(c->pub);
	c->pub = NULL;
}
