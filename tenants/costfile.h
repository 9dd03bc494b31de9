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
 * wrong: "value"" (the value cut at 64 bytes).
 *
 * An empty value is absent, as is a column the file lacks.  Columns no
 * cb_cost_row field holds (EA's AccountOwnerId, PartNumber, OfferId, ...)
 * go into cb_cost_row.extra, those with a non-empty value, in file order.
 * Text must be valid UTF-8 without NUL bytes (what PostgreSQL takes).
 * Nothing is allocated per row: a row's JSON (tags, additionalInfo,
 * extra) is written to one scratch buffer that is reused, whose size
 * is bounded by the CSV reader's row cap.
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
 * costInBillingCurrency or Cost, billingCurrency), a column name
 * appears twice, or two names of one field both appear ("SOURCE:1:
 * columns Cost and costInBillingCurrency are the same field").  May be
 * called again (another part's header).
 */
int cb__costfile_header(cb__costfile *cf, const cb_csv_reader *reader);

/* The column set the header was recognised as. */
cb__costfile_schema cb__costfile_schema_of(const cb__costfile *cf);

/*
 * Type one data row into *out (borrowing from row and from cf until the
 * next call).  CB_EPARSE with "SOURCE:LINE: row has N fields, the header
 * has M", or "SOURCE:LINE: column NAME: WHAT: "value"" where WHAT is "not
 * a decimal number", "more than 18 decimal places", "not a date",
 * "impossible date" (02/30/2026), "not a whole day" (a time other than
 * midnight UTC), "no usage date (it is required)", "not a boolean",
 * "malformed JSON at byte N (why)", "invalid UTF-8 at byte N" or "NUL
 * byte at byte N"; CB_EOVERFLOW for an amount beyond cb_money ("out of
 * range"); CB_EINVAL before cb__costfile_header().
 */
int cb__costfile_row(cb__costfile *cf, const cb_csv_row *row, cb_cost_row *out);

#endif
