/*
 * emulator/partner.h - the simulated CSP partner: billing accounts,
 * billing profiles, customers and subscriptions, generated from a seed
 * (or loaded from a JSON file) and immutable afterwards.
 *
 * The shape follows what a Microsoft Partner Agreement partner sees
 * (azure-api-notes.md a.1): one MPA billing account whose billing profiles
 * hold the customers (direct, or indirect through a reseller), in several
 * currencies; plus one Microsoft Customer Agreement account (the partner's
 * own Azure use) with an invoice section and billing subscriptions but no
 * customers.  Every identifier is derived from the seed, so the same seed
 * always gives byte-identical answers.
 *
 * Items refer to their parents by index, never by pointer.
 */
#ifndef CB_EMULATOR_PARTNER_H
#define CB_EMULATOR_PARTNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AS_GUID_LEN 36
#define AS_NAME_MAX 128

typedef enum { AS_AGREEMENT_MPA, AS_AGREEMENT_MCA } as_agreement;

typedef struct as_account {
	as_agreement agreement;
	char name[AS_NAME_MAX]; /* "{guid}:{guid}_{yyyy-mm-dd}" */
	char display[AS_NAME_MAX];
} as_account;

typedef struct as_profile {
	size_t account;
	char name[AS_NAME_MAX]; /* "ABCD-EFGH-IJK-LMN" */
	char display[AS_NAME_MAX];
	char currency[4];                  /* "USD", "EUR", "JPY" */
	char system_id[AS_NAME_MAX];       /* "1XXX-11XX-XX1-XXXX-XXX" */
	char invoice_section[AS_NAME_MAX]; /* MCA only; "" for MPA */
	char invoice_section_display[AS_NAME_MAX];
} as_profile;

typedef struct as_customer {
	size_t account, profile;
	char id[AS_GUID_LEN + 1]; /* customer name = its Entra tenant id */
	char display[AS_NAME_MAX];
	bool indirect;                   /* sold through a reseller */
	char reseller_mpn[16];           /* "" when direct */
	char reseller_name[AS_NAME_MAX]; /* "" when direct */
} as_customer;

#define AS_NO_CUSTOMER ((size_t)-1)

typedef struct as_subscription {
	size_t account, profile;
	size_t customer; /* AS_NO_CUSTOMER for MCA subscriptions */
	char id[AS_GUID_LEN + 1];
	char display[AS_NAME_MAX];
	const char *sku_id; /* "0001" Azure plan, "0002" Azure plan DevTest */
} as_subscription;

typedef struct as_partner {
	uint64_t seed;
	int year, month; /* the month of cost lines */
	unsigned rows_per_subscription_day;
	char tenant_id[AS_GUID_LEN + 1]; /* the partner's Entra tenant */
	char name[AS_NAME_MAX];
	as_account *accounts;
	size_t naccounts;
	as_profile *profiles;
	size_t nprofiles;
	as_customer *customers;
	size_t ncustomers;
	as_subscription *subscriptions;
	size_t nsubscriptions;
	/* Invoices computed from the cost lines, filled on first use under
	 * the cache's own lock (costgen.c); the partner stays immutable. */
	struct as_costgen_cache *costgen;
} as_partner;

typedef struct as_partner_opts {
	uint64_t seed;
	unsigned customers;
	unsigned subscriptions_per_customer;
	unsigned rows_per_subscription_day;
	int year, month;
} as_partner_opts;

/* Generate a partner.  Returns 0, or -1 with a message in err. */
int as_partner_generate(
	as_partner **out, const as_partner_opts *o, char *err, size_t errlen);

/* Load a partner from a JSON file (format in docs/armsim.md).  Returns 0,
 * or -1 with "file:line:column: what" in err. */
int as_partner_load(
	as_partner **out, const char *path, char *err, size_t errlen);

void as_partner_free(as_partner *p);

/* Look-ups by name (case-insensitive, as ARM matches names); NULL when
 * there is none. */
const as_account *as_partner_account(const as_partner *p, const char *name);
const as_profile *as_partner_profile(
	const as_partner *p, const as_account *a, const char *name);
const as_customer *as_partner_customer(
	const as_partner *p, const as_account *a, const char *id);
const as_subscription *as_partner_subscription(
	const as_partner *p, const char *id);

/* Index of an item in its array. */
#define AS_INDEX(p, arr, item) ((size_t)((item) - (p)->arr))

/* The deterministic generator every module uses: splitmix64. */
uint64_t as_rand_next(uint64_t *state);
/* A lower-case GUID (version 4 shape) from the generator, into out. */
void as_rand_guid(uint64_t *state, char out[AS_GUID_LEN + 1]);

#endif
