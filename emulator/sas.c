/*
 * emulator/sas.c - the MAC behind armsim's signed blob links (sas.h).
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/sas.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string.h>

int
as_sas_mac(const unsigned char *key, size_t keylen, const char *path,
	const char *expiry, unsigned char mac[AS_SAS_MAC_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	cb_buf msg = CB_BUF_INIT;
	int rc = -1;

	/* The newline keeps "a" + "b\nc" apart from "a\nb" + "c". */
	if (cb__buf_printf(&msg, "%s\n%s", path, expiry) == 0 &&
		HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)msg.ptr,
			msg.size, md, &mdlen) != NULL &&
		mdlen == AS_SAS_MAC_LEN) {
		memcpy(mac, md, AS_SAS_MAC_LEN);
		rc = 0;
	}
	cb_buf_dispose(&msg);
	return rc;
}
