/*
 * tenants/costfile.h - reading cost files: from a Cost Details report's
 * or an export's CSV header and rows to typed cb_cost_row values.
 *
 * Columns are found by header name in any letter case, the partner (MPA,
 * 70 columns), direct MCA and EA sets alike (azure-api-notes.md e.1-e.3),
 * with or without a UTF-8 BOM.  Every value is checked: amounts go from
 * their text to cb_money exactly (exponent forms included) and a value
 * that cannot be held is an error, dates are MM/dd/yyyy or ISO, tags and
 * additionalInfo must be JSON objects (tags may be Azure's brace-less
 * fragment).  An error names the place: "FILE:LINE: column NAME: what is
 * wrong".
 */
#ifndef CB_TENANTS_COSTFILE_H
#define CB_TENANTS_COSTFILE_H

#include "chargeback/costs.h"
#include "chargeback/csv.h"

typedef struct cb__costfile cb__costfile;

/* Which column set a header looked like. */
typedef enum {
	CB__COSTFILE_MPA = 0, /* partner: customerTenantId present */
	CB__COSTFILE_MCA,     /* direct MCA: costInBillingCurrency, no
			       * customer columns */
	CB__COSTFILE_EA,      /* EA: Cost */
} cb__costfile_schema;

/*
 * A reader of one part (one blob or file).  source names it in messages
 * (copied; a URL is cut at its first '?', so no signature is kept); part
 * goes into every row's cb_cost_row.part.
 */
int cb__costfile_new(cb__costfile **out, const char *source, uint32_t part);
void cb__costfile_free(cb__costfile *cf);

/*
 * Map the header of reader (a cb_csv_reader with has_header, after its
 * first row).  CB_EPARSE when a required column is missing ("SOURCE:1:
 * no column costInBillingCurrency (nor Cost)"; required: the usage date,
 * costInBillingCurrency or Cost, billingCurrency), or a column name
 * appears twice.
 */
int cb__costfile_header(cb__costfile *cf, const cb_csv_reader *reader);

/* The column set the header was recognised as. */
cb__costfile_schema cb__costfile_schema_of(const cb__costfile *cf);

/*
 * Type one data row into *out (borrowing from row and from cf until the
 * next call).  CB_EPARSE with "SOURCE:LINE: column NAME: ..." for a wrong
 * field count, a non-decimal or unholdable amount, an impossible date,
 * malformed JSON; CB_EOVERFLOW for an amount beyond cb_money.
 */
int cb__costfile_row(cb__costfile *cf, const cb_csv_row *row,
	cb_cost_row *out);

#endif
