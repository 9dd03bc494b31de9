/*
 * tests/support/testcert.c - throwaway keys and certificates, and an
 * independent JWS verifier.
 *
 * Deliberately written against OpenSSL directly rather than through
 * core/auth.c: a verifier that shared the signer's code could share its
 * mistakes.  The PSS salt length is pinned to 32 bytes here, where the
 * signer says "digest length", so the two readings of RFC 7518 3.5 meet.
 */
#include "core/common.h"
#include "tests/support/testcert.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define CHECK(expr)                                                     \
	do {                                                            \
		if (!(expr)) {                                          \
			fprintf(stderr, "%s:%d: testcert: %s failed\n", \
				__FILE__, __LINE__, #expr);             \
			ERR_print_errors_fp(stderr);                    \
			abort();                                        \
		}                                                       \
	} while (0)

static X509 *
make_cert(EVP_PKEY *key, const char *cn, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name;

	CHECK(x != NULL);
	CHECK(X509_set_version(x, 2) == 1);
	CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1);
	CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL);
	CHECK(X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL);
	CHECK(X509_set_pubkey(x, key) == 1);
	name = X509_get_subject_name(x);
	CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		      (const unsigned char *)cn, -1, -1, 0) == 1);
	CHECK(X509_set_issuer_name(x, name) == 1);
	CHECK(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* Write the PEM items in order; a NULL cert or key is skipped. */
static void
write_pem(const char *path, int mode, X509 *first, X509 *second, EVP_PKEY *key,
	const char *password)
{
	FILE *f;

	unlink(path);
	CHECK((f = fopen(path, "w")) != NULL);
	CHECK(fchmod(fileno(f), (mode_t)mode) == 0);
	if (first)
		CHECK(PEM_write_X509(f, first) == 1);
	if (second)
		CHECK(PEM_write_X509(f, second) == 1);
	if (key && password)
		CHECK(PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(), NULL,
			      0, NULL, (void *)(uintptr_t)password) == 1);
	else if (key)
		CHECK(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ==
			1);
	CHECK(fclose(f) == 0);
}

static void
hex_digest(char *out, X509 *x, const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	CHECK(X509_digest(x, md, d, &n) == 1);
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

#define SET_PATH(field, name)                                                  \
	CHECK(snprintf(tc->field, sizeof(tc->field), "%s/%s", tc->dir, name) < \
		(int)sizeof(tc->field))

void
cb_test_certs_make(struct cb_test_certs *tc)
{
	const char *tmp = getenv("TMPDIR");
	EVP_PKEY *a, *b, *ec;
	X509 *xa, *xb, *xec;

	memset(tc, 0, sizeof(*tc));
	snprintf(tc->dir, sizeof(tc->dir), "%s/cb-testcert-XXXXXX",
		tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(tc->dir) != NULL);
	SET_PATH(cert, "cert.pem");
	SET_PATH(key, "key.pem");
	SET_PATH(combined, "combined.pem");
	SET_PATH(combined_open, "combined-open.pem");
	SET_PATH(key_encrypted, "key-encrypted.pem");
	SET_PATH(chain, "chain.pem");
	SET_PATH(mismatch, "mismatch.pem");
	SET_PATH(ec, "ec.pem");
	SET_PATH(empty, "empty.pem");

	CHECK((a = EVP_RSA_gen(2048)) != NULL);
	CHECK((b = EVP_RSA_gen(2048)) != NULL);
	CHECK((ec = EVP_EC_gen("P-256")) != NULL);
	xa = make_cert(a, "chargeback test A", 1);
	xb = make_cert(b, "chargeback test B", 2);
	xec = make_cert(ec, "chargeback test EC", 3);

	write_pem(tc->cert, 0644, xa, NULL, NULL, NULL);
	write_pem(tc->key, 0600, NULL, NULL, a, NULL);
	write_pem(tc->combined, 0600, xa, NULL, a, NULL);
	write_pem(tc->combined_open, 0644, xa, NULL, a, NULL);
	write_pem(tc->key_encrypted, 0600, NULL, NULL, a, CB_TEST_KEY_PASSWORD);
	write_pem(tc->chain, 0600, xb, xa, a, NULL);
	write_pem(tc->mismatch, 0600, xb, NULL, a, NULL);
	write_pem(tc->ec, 0600, xec, NULL, ec, NULL);
	write_pem(tc->empty, 0600, NULL, NULL, NULL, NULL);
	hex_digest(tc->sha1_hex, xa, EVP_sha1());
	hex_digest(tc->sha256_hex, xa, EVP_sha256());

	X509_free(xa);
	X509_free(xb);
	X509_free(xec);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ec);
}

void
cb_test_certs_remove(struct cb_test_certs *tc)
{
	const char *files[] = { tc->cert, tc->key, tc->combined,
		tc->combined_open, tc->key_encrypted, tc->chain, tc->mismatch,
		tc->ec, tc->empty };

	for (size_t i = 0; i < CB_ARRAY_SIZE(files); i++)
		unlink(files[i]);
	rmdir(tc->dir);
}

/* base64url to bytes with OpenSSL's decoder (after mapping the alphabet
 * and restoring the padding); returns the length or -1. */
static int
b64url_decode(unsigned char *out, size_t outlen, const char *s, size_t len)
{
	char std[8192];
	size_t n = 0;
	int got;

	if (len + 4 > sizeof(std) || (len + 3) / 4 * 3 > outlen)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+' || c == '/' || c == '=')
			return -1; /* not the url alphabet, or padded */
		std[n++] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	while (n % 4)
		std[n++] = '=';
	got = EVP_DecodeBlock(out, (const unsigned char *)std, (int)n);
	if (got < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = len; i % 4; i++)
		got--;
	return got;
}

bool
cb_test_jws_verify(const char *jws, size_t len, const char *cert_path,
	char *header, size_t header_len, char *claims, size_t claims_len)
{
	const char *dot1 = memchr(jws, '.', len), *dot2;
	unsigned char sig[1024];
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	X509 *x = NULL;
	FILE *f;
	bool ok = false, pss;
	int n;

	if (dot1 == NULL || (dot2 = memchr(dot1 + 1, '.',
				     len - (size_t)(dot1 + 1 - jws))) == NULL)
		return false;
	n = b64url_decode((unsigned char *)header, header_len - 1, jws,
		(size_t)(dot1 - jws));
	if (n < 0)
		return false;
	header[n] = '\0';
	n = b64url_decode((unsigned char *)claims, claims_len - 1, dot1 + 1,
		(size_t)(dot2 - dot1 - 1));
	if (n < 0)
		return false;
	claims[n] = '\0';
	if (strstr(header, "\"alg\":\"PS256\"") != NULL)
		pss = true;
	else if (strstr(header, "\"alg\":\"RS256\"") != NULL)
		pss = false;
	else
		return false;
	n = b64url_decode(
		sig, sizeof(sig), dot2 + 1, len - (size_t)(dot2 + 1 - jws));
	if (n <= 0)
		return false;

	if ((f = fopen(cert_path, "r")) == NULL)
		return false;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		goto done;
	CHECK((md = EVP_MD_CTX_new()) != NULL);
	if (EVP_DigestVerifyInit(
		    md, &pctx, EVP_sha256(), NULL, X509_get0_pubkey(x)) != 1)
		goto done;
	if (pss) {
		CHECK(EVP_PKEY_CTX_set_rsa_padding(
			      pctx, RSA_PKCS1_PSS_PADDING) == 1);
		CHECK(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1);
		CHECK(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1);
	} else {
		CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) ==
			1);
	}
	ok = EVP_DigestVerify(md, sig, (size_t)n, (const unsigned char *)jws,
		     (size_t)(dot2 - jws)) == 1;
done:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	X509_free(x);
	return ok;
}
