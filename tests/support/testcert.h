/*
 * tests/support/testcert.h - throwaway RSA keys and self-signed
 * certificates, made at test time in a private temporary directory and
 * removed afterwards (no private key is ever committed), plus an
 * independent JWS verifier built directly on OpenSSL.
 */
#ifndef CB_TESTS_SUPPORT_TESTCERT_H
#define CB_TESTS_SUPPORT_TESTCERT_H

#include <stdbool.h>
#include <stddef.h>

#define CB_TEST_PATH_MAX 512

/* The password of key_encrypted. */
#define CB_TEST_KEY_PASSWORD "pw-for-tests"

struct cb_test_certs {
	char dir[CB_TEST_PATH_MAX];
	char cert[CB_TEST_PATH_MAX];          /* certificate A only, 0644 */
	char key[CB_TEST_PATH_MAX];           /* key A only, 0600 */
	char combined[CB_TEST_PATH_MAX];      /* cert A then key A, 0600 */
	char combined_open[CB_TEST_PATH_MAX]; /* same, 0644 */
	char key_encrypted[CB_TEST_PATH_MAX]; /* key A, AES, 0600 */
	char chain[CB_TEST_PATH_MAX];         /* cert B, cert A, key A, 0600 */
	char mismatch[CB_TEST_PATH_MAX];      /* cert B, key A, 0600 */
	char ec[CB_TEST_PATH_MAX];            /* EC cert + key, 0600 */
	char empty[CB_TEST_PATH_MAX];         /* zero bytes, 0600 */
	/* SHA-1 and SHA-256 of certificate A's DER, lower-case hex. */
	char sha1_hex[41];
	char sha256_hex[65];
};

/* Make every file above; 0 on success.  Aborts the test on failure. */
void cb_test_certs_make(struct cb_test_certs *tc);
void cb_test_certs_remove(struct cb_test_certs *tc);

/*
 * Verify a compact JWS against the certificate in cert_path with OpenSSL
 * alone: RS256 as PKCS#1 v1.5, PS256 as PSS with MGF1-SHA-256 and a salt
 * of exactly 32 bytes.  On success the decoded header and claims are
 * copied into header/claims (NUL-terminated) and true is returned.
 */
bool cb_test_jws_verify(const char *jws, size_t len, const char *cert_path,
	char *header, size_t header_len, char *claims, size_t claims_len);

#endif
