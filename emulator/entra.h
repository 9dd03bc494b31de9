/*
 * emulator/entra.h - the JSON Web Token pieces of armsim's Entra ID
 * (jwt.c), used by entra.c: base64url, compact JWS parsing, RSA
 * signature checks of client assertions against the registered
 * certificate, and the HS256 access tokens armsim issues.
 *
 * This is armsim's own reading of RFC 7515/7518, built directly on
 * OpenSSL; it never shares the client's (core/auth.c) code, so a
 * misreading on one side shows up as a failed token exchange.
 */
#ifndef CB_EMULATOR_ENTRA_H
#define CB_EMULATOR_ENTRA_H

#include <openssl/evp.h>

#include <stdbool.h>
#include <stddef.h>

/* Largest decoded JWS header: an x5c chain of two or three 2 KB
 * certificates, base64, fits with room to spare. */
#define AS_JWS_HEADER_MAX 16384
/* Largest decoded claims set: client assertions carry six short claims. */
#define AS_JWS_CLAIMS_MAX 4096
/* Largest signature: RSA-8192 is 1024 bytes. */
#define AS_JWS_SIG_MAX 1024

/* base64url without padding into out (NUL-terminated); the length, or
 * -1 when out is too small. */
long as_b64url_encode(const void *in, size_t len, char *out, size_t outlen);

/* Decode base64url (padding optional, no other characters); the decoded
 * length, or -1 when malformed or longer than outlen. */
long as_b64url_decode(
	const char *in, size_t len, unsigned char *out, size_t outlen);

/* A compact JWS, split and decoded. */
typedef struct as_jws {
	const char *text;               /* borrowed: the token as sent */
	size_t signed_len;              /* bytes of "header.claims" in text */
	char header[AS_JWS_HEADER_MAX]; /* decoded, NUL-terminated */
	char claims[AS_JWS_CLAIMS_MAX]; /* decoded, NUL-terminated */
	unsigned char sig[AS_JWS_SIG_MAX];
	size_t sig_len;
} as_jws;

/* Split text ("h.c.s", base64url parts) into j; 0, or -1 when it is not
 * a compact JWS or a part is too large. */
int as_jws_parse(as_jws *j, const char *text);

/* Whether j's signature verifies with pub: RS256 (PKCS#1 v1.5) or, with
 * pss, PS256 (PSS, MGF1-SHA-256, salt of exactly 32 bytes). */
bool as_jws_verify_rsa(const as_jws *j, EVP_PKEY *pub, bool pss);

/* Whether j's signature is the HS256 MAC under key. */
bool as_jws_verify_hs256(
	const as_jws *j, const unsigned char *key, size_t keylen);

/* A compact HS256 JWS of the claims JSON text into out; 0, or -1 when
 * out is too small. */
int as_jwt_hs256(const unsigned char *key, size_t keylen, const char *claims,
	char *out, size_t outlen);

/* A registered certificate: its public key and thumbprints. */
typedef struct as_cert {
	EVP_PKEY *pub;     /* owned */
	char x5t[32];      /* base64url SHA-1 of the DER */
	char x5t_s256[48]; /* base64url SHA-256 of the DER */
	char sha1_hex[41]; /* upper-case hex, as Entra prints thumbprints */
} as_cert;

/* Read the first certificate of a PEM file (a combined cert+key file
 * works).  0, or -1 with a message in err. */
int as_cert_load(as_cert *c, const char *path, char *err, size_t errlen);
void as_cert_free(as_cert *c);

#endif
