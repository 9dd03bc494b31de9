/*
 * sql/store_statement.h - the statements' read of a committed rating run
 * (allocation/statement.c, sql/store_statement.c).  Internal.
 */
#ifndef CB_SQL_STORE_STATEMENT_H
#define CB_SQL_STORE_STATEMENT_H

#include "chargeback/money.h"
#include "chargeback/store.h"

/* One charge line as a statement shows it; strings borrowed (NULL:
 * absent). */
typedef struct {
	const char *subscription_id;
	const char *service_family;
	const char *meter_category;
	const char *meter_id;
	const char *meter_name;
	const char *charge_type;
	bool has_date;
	int32_t date; /* days since 1970 */
	cb_money quantity;
	cb_money billed; /* exact, unrounded */
} cb__statement_line;

/* What a statement says about itself; strings borrowed. */
typedef struct {
	const char *billing_account_id; /* of its first line */
	const char *customer_id;
	const char *customer_name; /* chargeback.customer; NULL unknown */
	const char *currency;
	const char *rules_hash;
	bool provisional;
} cb__statement_head;

typedef int (*cb__statement_group_cb)(const cb__statement_head *head,
	const cb__statement_line *lines, size_t n, void *payload);

/*
 * The committed run of period ("YYYY-MM"): its lines of customer (NULL:
 * every customer but the partner bucket ""), one call per customer and
 * billing currency, bytewise order, lines in the run's order.
 * Returns 0, CB_EINVAL, CB_ENOTFOUND (no committed run; no line of the
 * customer), CB_EDB, CB_ENOMEM, or what cb returned.
 */
int cb__store_statement_groups(cb_store *store, const char *period,
	const char *customer, cb__statement_group_cb cb, void *payload);

#endif
