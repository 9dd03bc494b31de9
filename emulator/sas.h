/*
 * emulator/sas.h - Azure Storage's shared access signatures, as armsim
 * signs its blob links (invoice PDFs in billing_invoices.c, cost details
 * CSVs in blobs.c).  Each link's sig is HMAC-SHA256 over the blob path
 * and the expiry (se) with a random per-server key; the two endpoints
 * spell the MAC differently (hex, base64url) as their links always have.
 */
#ifndef CB_EMULATOR_SAS_H
#define CB_EMULATOR_SAS_H

#include <stddef.h>

/* Length of the MAC (SHA-256). */
#define AS_SAS_MAC_LEN 32

/* Azure Storage's message with a 403 AuthenticationFailed. */
#define AS_SAS_AUTH_FAILED                                                   \
	"Server failed to authenticate the request. Make sure the value of " \
	"Authorization header is formed correctly including the signature."

/* HMAC-SHA256 of "path\nexpiry" under key, into mac.  0, or -1. */
int as_sas_mac(const unsigned char *key, size_t keylen, const char *path,
	const char *expiry, unsigned char mac[AS_SAS_MAC_LEN]);

#endif
