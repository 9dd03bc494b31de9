/*
 * tests/unit/core/test_auth.c - the OpenSSL half of auth: base64url,
 * certificates and keys, x5t digests, and client assertions verified by an
 * independent verifier (tests/support/testcert.c).
 */
#include "core/common.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/http.h"
#include "tests/support/testcert.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static struct cb_test_certs certs;

static int
group_setup(void **state)
{
	(void)state;
	cb_test_certs_make(&certs);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	cb_test_certs_remove(&certs);
	return 0;
}

static void
assert_error(int code, const char *message)
{
	assert_string_equal(
		cb_error_name(code), cb_error_name(cb_error_last()->code));
	assert_string_equal(message, cb_error_last()->message);
}

static void
b64_case(const char *in, size_t len, const char *want)
{
	cb_buf b = CB_BUF_INIT, d = CB_BUF_INIT;

	assert_int_equal(0, cb__auth_base64url(&b, in, len));
	assert_string_equal(want, b.ptr ? b.ptr : "");
	assert_int_equal(
		0, cb__auth_base64url_decode(&d, b.ptr ? b.ptr : "", b.size));
	assert_int_equal(len, d.size);
	if (len)
		assert_memory_equal(in, d.ptr, len);
	cb_buf_dispose(&b);
	cb_buf_dispose(&d);
}

static void
test_auth_base64url_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10, without padding. */
	b64_case("", 0, "");
	b64_case("f", 1, "Zg");
	b64_case("fo", 2, "Zm8");
	b64_case("foo", 3, "Zm9v");
	b64_case("foob", 4, "Zm9vYg");
	b64_case("fooba", 5, "Zm9vYmE");
	b64_case("foobar", 6, "Zm9vYmFy");
	/* The url alphabet: 62 and 63 are '-' and '_'. */
	b64_case("\xfb\xff\xbf", 3, "-_-_");
	b64_case("\x00\x10\x83", 3, "ABCD");
}

static void
test_auth_base64url_decode_refuses_malformed(void **state)
{
	cb_buf d = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__auth_base64url_decode(&d, "Zm9vYg==", 8));
	assert_string_equal("foob", d.ptr);
	cb_buf_dispose(&d);
	assert_int_equal(CB_EPARSE, cb__auth_base64url_decode(&d, "Zm9v+g", 6));
	assert_error(CB_EPARSE, "malformed base64url text");
	assert_int_equal(CB_EPARSE, cb__auth_base64url_decode(&d, "Z", 1));
	/* "Zh" has stray low bits: not the canonical encoding of "f". */
	assert_int_equal(CB_EPARSE, cb__auth_base64url_decode(&d, "Zh", 2));
	cb_buf_dispose(&d);
}

static void
hex_to_bytes(unsigned char *out, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(1, sscanf(hex + 2 * i, "%2x", &v));
		out[i] = (unsigned char)v;
	}
}

static void
test_auth_x5t_documented_vector(void **state)
{
	unsigned char sha1[20];
	cb_buf b = CB_BUF_INIT;

	(void)state;
	/* Microsoft's certificate-credentials page (azure-api-notes d.2). */
	hex_to_bytes(sha1, "84E05C1D98BCE3A5421D225B140B36E86A3D5534", 20);
	assert_int_equal(0, cb__auth_base64url(&b, sha1, sizeof(sha1)));
	assert_string_equal("hOBcHZi846VCHSJbFAs26Go9VTQ", b.ptr);
	cb_buf_dispose(&b);
}

/* base64url of the bytes spelled by a hex digest. */
static void
x5t_of_hex(char *out, size_t outlen, const char *hex)
{
	unsigned char d[32];
	size_t n = strlen(hex) / 2;
	cb_buf b = CB_BUF_INIT;

	hex_to_bytes(d, hex, n);
	assert_int_equal(0, cb__auth_base64url(&b, d, n));
	snprintf(out, outlen, "%s", b.ptr);
	cb_buf_dispose(&b);
}

static void
test_auth_cert_load_combined_and_digests(void **state)
{
	struct cb__auth_cert *c = NULL;
	char want[64];

	(void)state;
	assert_int_equal(0, cb__auth_cert_load(&c, certs.combined, NULL, NULL));
	x5t_of_hex(want, sizeof(want), certs.sha1_hex);
	assert_string_equal(want, cb__auth_cert_x5t(c));
	assert_int_equal(27, strlen(cb__auth_cert_x5t(c)));
	x5t_of_hex(want, sizeof(want), certs.sha256_hex);
	assert_string_equal(want, cb__auth_cert_x5t_s256(c));
	assert_int_equal(43, strlen(cb__auth_cert_x5t_s256(c)));
	cb__auth_cert_free(c);
}

static void
test_auth_cert_load_separate_chain_and_encrypted(void **state)
{
	struct cb__auth_cert *c = NULL;
	char want[64];

	(void)state;
	x5t_of_hex(want, sizeof(want), certs.sha256_hex);
	/* Certificate file readable by all is fine when the key is apart. */
	assert_int_equal(
		0, cb__auth_cert_load(&c, certs.cert, certs.key, NULL));
	assert_string_equal(want, cb__auth_cert_x5t_s256(c));
	cb__auth_cert_free(c);
	/* The chain's first certificate is not ours: the match is used. */
	c = NULL;
	assert_int_equal(0, cb__auth_cert_load(&c, certs.chain, NULL, NULL));
	assert_string_equal(want, cb__auth_cert_x5t_s256(c));
	cb__auth_cert_free(c);
	c = NULL;
	assert_int_equal(0, cb__auth_cert_load(&c, certs.cert,
				    certs.key_encrypted, CB_TEST_KEY_PASSWORD));
	assert_string_equal(want, cb__auth_cert_x5t_s256(c));
	cb__auth_cert_free(c);
}

static void
test_auth_cert_load_refusals(void **state)
{
	struct cb__auth_cert *c = NULL;
	char msg[2048];
	int rc;

	(void)state;
	rc = cb__auth_cert_load(&c, certs.combined_open, NULL, NULL);
	assert_int_equal(CB_ESECURITY, rc);
	snprintf(msg, sizeof(msg),
		"certificate %s: readable by group or others (mode 0644); "
		"make it private: chmod 600 %s",
		certs.combined_open, certs.combined_open);
	assert_error(CB_ESECURITY, msg);

	/* A key file readable by others is refused too. */
	rc = cb__auth_cert_load(&c, certs.cert, certs.cert, NULL);
	assert_int_equal(CB_ESECURITY, rc);

	rc = cb__auth_cert_load(&c, certs.cert, certs.key_encrypted, NULL);
	assert_int_equal(CB_EAUTH, rc);
	snprintf(msg, sizeof(msg),
		"%s: the private key is encrypted and no password is "
		"configured (certificate_password or "
		"AZURE_CLIENT_CERTIFICATE_PASSWORD)",
		certs.key_encrypted);
	assert_error(CB_EAUTH, msg);

	rc = cb__auth_cert_load(&c, certs.cert, certs.key_encrypted, "nope");
	assert_int_equal(CB_EAUTH, rc);
	snprintf(msg, sizeof(msg),
		"%s: cannot decrypt the private key (wrong password?)",
		certs.key_encrypted);
	assert_int_equal(
		0, strncmp(msg, cb_error_last()->message, strlen(msg)));

	rc = cb__auth_cert_load(&c, certs.mismatch, NULL, NULL);
	assert_int_equal(CB_EAUTH, rc);
	snprintf(msg, sizeof(msg),
		"%s: none of its 1 certificate(s) matches the private key",
		certs.mismatch);
	assert_error(CB_EAUTH, msg);

	rc = cb__auth_cert_load(&c, certs.ec, NULL, NULL);
	assert_int_equal(CB_EAUTH, rc);
	snprintf(msg, sizeof(msg),
		"%s: the private key is not RSA (Entra ID signs client "
		"assertions with RS256 or PS256)",
		certs.ec);
	assert_error(CB_EAUTH, msg);

	rc = cb__auth_cert_load(&c, certs.empty, NULL, NULL);
	assert_int_equal(CB_EAUTH, rc);
	snprintf(msg, sizeof(msg), "%s: no PEM private key found", certs.empty);
	assert_int_equal(
		0, strncmp(msg, cb_error_last()->message, strlen(msg)));

	/* Key alone, no certificate in the certificate file. */
	rc = cb__auth_cert_load(&c, certs.key, NULL, NULL);
	assert_int_equal(CB_EAUTH, rc);
	snprintf(msg, sizeof(msg), "%s: no PEM certificate found", certs.key);
	assert_error(CB_EAUTH, msg);

	rc = cb__auth_cert_load(&c, "/nonexistent/cert.pem", NULL, NULL);
	assert_int_equal(CB_EIO, rc);
	assert_error(CB_EIO, "certificate /nonexistent/cert.pem: cannot "
			     "open: No such file or directory");

	rc = cb__auth_cert_load(&c, certs.dir, NULL, NULL);
	assert_int_equal(CB_EIO, rc);
	snprintf(msg, sizeof(msg), "certificate %s: not a regular file",
		certs.dir);
	assert_error(CB_EIO, msg);
	assert_null(c);
}

static void
test_auth_cert_load_survives_oom(void **state)
{
	struct cb__auth_cert *c = NULL;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__auth_cert_load(&c, certs.chain, NULL, NULL);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_null(c);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 1);
	cb__auth_cert_free(c);
}

static void
test_auth_uuid_is_random_v4(void **state)
{
	char a[37], b[37];

	(void)state;
	assert_int_equal(0, cb__http_uuid4(a));
	assert_int_equal(0, cb__http_uuid4(b));
	assert_int_equal(36, strlen(a));
	assert_string_not_equal(a, b);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal('-', a[i]);
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	}
	assert_int_equal('4', a[14]);
	assert_non_null(strchr("89ab", a[19]));
}

#define AUD \
	"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"

static void
check_assertion(int alg, const char *alg_name, const char *x5t_name)
{
	struct cb__auth_cert *c = NULL;
	cb_buf jws = CB_BUF_INIT;
	char header[512], claims[1024], want[1024];

	assert_int_equal(0, cb__auth_cert_load(&c, certs.combined, NULL, NULL));
	assert_int_equal(0, cb__auth_assertion(&jws, c, alg, AUD,
				    "11111111-2222-3333-4444-555555555555",
				    1767225600, "jti-\"quoted\"\\1"));
	assert_true(cb_test_jws_verify(jws.ptr, jws.size, certs.cert, header,
		sizeof(header), claims, sizeof(claims)));
	snprintf(want, sizeof(want),
		"{\"alg\":\"%s\",\"typ\":\"JWT\",\"%s\":\"%s\"}", alg_name,
		x5t_name,
		alg == CB_ASSERTION_PS256 ? cb__auth_cert_x5t_s256(c)
					  : cb__auth_cert_x5t(c));
	assert_string_equal(want, header);
	assert_string_equal("{\"aud\":\"" AUD "\","
			    "\"iss\":\"11111111-2222-3333-4444-555555555555\","
			    "\"sub\":\"11111111-2222-3333-4444-555555555555\","
			    "\"jti\":\"jti-\\\"quoted\\\"\\\\1\","
			    "\"nbf\":1767225600,\"iat\":1767225600,"
			    "\"exp\":1767226200}",
		claims);
	/* No padding anywhere, url alphabet only. */
	assert_null(strpbrk(jws.ptr, "=+/"));

	/* A flipped byte in the claims breaks the signature. */
	jws.ptr[strchr(jws.ptr, '.') - jws.ptr + 5] ^= 1;
	assert_false(cb_test_jws_verify(jws.ptr, jws.size, certs.cert, header,
		sizeof(header), claims, sizeof(claims)));
	cb_buf_dispose(&jws);
	cb__auth_cert_free(c);
}

static void
test_auth_assertion_ps256_verifies(void **state)
{
	(void)state;
	check_assertion(CB_ASSERTION_PS256, "PS256", "x5t#S256");
}

static void
test_auth_assertion_rs256_verifies(void **state)
{
	(void)state;
	check_assertion(CB_ASSERTION_RS256, "RS256", "x5t");
}

static void
test_auth_assertion_randomness(void **state)
{
	struct cb__auth_cert *c = NULL;
	cb_buf a = CB_BUF_INIT, b = CB_BUF_INIT;
	char header[512], claims[1024];
	const char *jti;

	(void)state;
	assert_int_equal(0, cb__auth_cert_load(&c, certs.combined, NULL, NULL));
	/* PKCS#1 v1.5 is deterministic: same input, same bytes. */
	assert_int_equal(0, cb__auth_assertion(&a, c, CB_ASSERTION_RS256, AUD,
				    "app", 5, "j"));
	assert_int_equal(0, cb__auth_assertion(&b, c, CB_ASSERTION_RS256, AUD,
				    "app", 5, "j"));
	assert_string_equal(a.ptr, b.ptr);
	cb_buf_dispose(&a);
	cb_buf_dispose(&b);
	/* PSS salts each signature. */
	assert_int_equal(0, cb__auth_assertion(&a, c, CB_ASSERTION_PS256, AUD,
				    "app", 5, "j"));
	assert_int_equal(0, cb__auth_assertion(&b, c, CB_ASSERTION_PS256, AUD,
				    "app", 5, "j"));
	assert_string_not_equal(a.ptr, b.ptr);
	cb_buf_dispose(&a);
	cb_buf_dispose(&b);
	/* Without a jti, a fresh UUID. */
	assert_int_equal(0, cb__auth_assertion(&a, c, CB_ASSERTION_PS256, AUD,
				    "app", 5, NULL));
	assert_true(cb_test_jws_verify(a.ptr, a.size, certs.cert, header,
		sizeof(header), claims, sizeof(claims)));
	jti = strstr(claims, "\"jti\":\"");
	assert_non_null(jti);
	assert_int_equal('"', jti[7 + 36]);
	assert_int_equal('4', jti[7 + 14]);
	cb_buf_dispose(&a);

	assert_int_equal(
		CB_EINVAL, cb__auth_assertion(&a, c, 7, AUD, "app", 5, NULL));
	cb__auth_cert_free(c);
}

static void
test_auth_assertion_survives_oom(void **state)
{
	struct cb__auth_cert *c = NULL;
	cb_buf a = CB_BUF_INIT;
	char header[512], claims[1024];
	unsigned long n;
	int error;

	(void)state;
	assert_int_equal(0, cb__auth_cert_load(&c, certs.combined, NULL, NULL));
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__auth_assertion(
			&a, c, CB_ASSERTION_PS256, AUD, "app", 5, NULL);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 1);
	assert_true(cb_test_jws_verify(a.ptr, a.size, certs.cert, header,
		sizeof(header), claims, sizeof(claims)));
	cb_buf_dispose(&a);
	cb__auth_cert_free(c);
}

static void
test_auth_read_file_and_wipe(void **state)
{
	cb_buf b = CB_BUF_INIT;
	char path[CB_TEST_PATH_MAX + 16], msg[2048];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/token.txt", certs.dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("eyJ0.eyJ1.sig\n", f);
	fclose(f);
	assert_int_equal(0, chmod(path, 0640));
	assert_int_equal(
		CB_ESECURITY, cb__auth_read_file(&b, path, "token file", true));
	snprintf(msg, sizeof(msg),
		"token file %s: readable by group or others (mode 0640); "
		"make it private: chmod 600 %s",
		path, path);
	assert_error(CB_ESECURITY, msg);
	/* Not a secret: any mode will do. */
	assert_int_equal(0, cb__auth_read_file(&b, path, "token file", false));
	assert_string_equal("eyJ0.eyJ1.sig\n", b.ptr);
	cb__auth_buf_wipe(&b);
	assert_null(b.ptr);
	assert_int_equal(0, b.size);
	assert_int_equal(0, chmod(path, 0600));
	assert_int_equal(0, cb__auth_read_file(&b, path, "token file", true));
	assert_int_equal(14, b.size);
	cb__auth_buf_wipe(&b);
	cb__auth_buf_wipe(NULL);
	cb__auth_free_secret(NULL);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_base64url_vectors),
		cmocka_unit_test(test_auth_base64url_decode_refuses_malformed),
		cmocka_unit_test(test_auth_x5t_documented_vector),
		cmocka_unit_test(test_auth_cert_load_combined_and_digests),
		cmocka_unit_test(
			test_auth_cert_load_separate_chain_and_encrypted),
		cmocka_unit_test(test_auth_cert_load_refusals),
		cmocka_unit_test(test_auth_cert_load_survives_oom),
		cmocka_unit_test(test_auth_uuid_is_random_v4),
		cmocka_unit_test(test_auth_assertion_ps256_verifies),
		cmocka_unit_test(test_auth_assertion_rs256_verifies),
		cmocka_unit_test(test_auth_assertion_randomness),
		cmocka_unit_test(test_auth_assertion_survives_oom),
		cmocka_unit_test(test_auth_read_file_and_wipe),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
