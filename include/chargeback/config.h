/*
 * include/chargeback/config.h - the validated contents of chargeback.cfg.
 *
 * The configuration file (libconfig syntax; examples/chargeback.cfg shows
 * and explains every key) is read once, checked completely and copied into
 * a cb_config; nothing else in the program sees the file or libconfig.  A
 * key the schema does not know, a value of the wrong type or out of range,
 * conflicting keys: each is an error naming "file:line" and the key.  The
 * configuration records what the file says: defaults are applied for the
 * numeric and enumerated settings, strings the file leaves out stay NULL,
 * and deciding between credentials (and the AZURE_* environment fallbacks)
 * is the auth module's job.  The one thing resolved here is
 * azure.client_secret_env, read from the environment at load time.
 *
 * Secrets: a file holding a literal client secret, or a database password
 * in its DSN, must not be readable by group or others, and no file may be
 * writable by others (it could redirect the token request to another
 * host); both are refused.  No error message ever contains a secret.
 */
#ifndef CHARGEBACK_CONFIG_H
#define CHARGEBACK_CONFIG_H

#include "chargeback/common.h"
#include "chargeback/buf.h"
#include "chargeback/money.h"

CB_BEGIN_DECL

/** A loaded, validated configuration.  Immutable once loaded, so threads
 * may read it concurrently. */
typedef struct cb_config cb_config;

/** Azure cloud, by its name in the file (azure.cloud). */
typedef enum {
	CB_AZURE_CLOUD_PUBLIC = 0, /**< "public": login.microsoftonline.com */
	CB_AZURE_CLOUD_CHINA = 1,  /**< "china": 21Vianet */
	CB_AZURE_CLOUD_USGOV = 2   /**< "usgov": US Government */
} cb_azure_cloud;

/**
 * The azure section.  Strings are NULL when the file does not set them;
 * all are borrowed from the cb_config and valid until cb_config_free().
 */
typedef struct {
	int cloud; /**< a cb_azure_cloud; default CB_AZURE_CLOUD_PUBLIC */
	/** The cloud's name as written: "public", "china" or "usgov" (the
	 * names cb_cloud_find() takes); static storage, never NULL. */
	const char *cloud_name;
	const char *tenant_id; /**< a GUID or a domain name */
	const char *client_id; /**< application (client) id, a GUID */
	/** The client secret: the literal from the file, or the value of the
	 * variable named by client_secret_env, read at load time.  A secret:
	 * never log or print it. */
	const char *client_secret;
	/** Name of the environment variable client_secret came from, or NULL
	 * when the file holds the secret itself (or none). */
	const char *client_secret_env;
	const char *certificate_path; /**< PEM with certificate and key */
	/** Certificate assertion signature: 0 for "PS256" (RSA-PSS, header
	 * x5t#S256; the default), 1 for "RS256" (PKCS#1 v1.5, header x5t);
	 * the values of auth.h's cb_assertion_alg. */
	int assertion_algorithm;
	bool managed_identity; /**< use IMDS; default false */
	/** Client id of a user-assigned identity (a GUID), or NULL for the
	 * system-assigned one; only with managed_identity. */
	const char *managed_identity_client_id;
	const char *access_token_file; /**< a file holding a bearer token */
	/** Entra ID authority, e.g. "https://login.microsoftonline.com";
	 * NULL: the cloud's.  https, or http on a loopback host. */
	const char *authority_host;
	/** ARM endpoint, e.g. "https://management.azure.com"; NULL: the
	 * cloud's.  https, or http on a loopback host. */
	const char *management_endpoint;
	const char *ca_file; /**< extra trusted CA certificates (PEM) */
} cb_azure_config;

/** The http section: limits of every request to Azure. */
typedef struct {
	int timeout_seconds;         /**< one attempt, 1..3600; default 120 */
	int connect_timeout_seconds; /**< 1..300, <= timeout; default 10 */
	int max_attempts;            /**< tries per request, 1..20; default 6 */
	int deadline_seconds;        /**< one request, retries included,
					  1..86400; default 600 */
	int max_parallel; /**< concurrent requests, 1..64; default 8 */
} cb_http_config;

/** The log section. */
typedef struct {
	int level;  /**< a cb_log_level; default CB_LOG_WARN */
	int format; /**< a cb_log_format; default CB_LOG_FORMAT_TEXT */
} cb_log_config;

/** Largest configuration file or string accepted, in bytes: 8 MiB, far
 * above a hand-kept file even with rule tables for thousands of
 * customers; past it something other than a configuration was named. */
#define CB_CONFIG_SIZE_MAX ((size_t)8 << 20)

/**
 * Load and validate a configuration file.
 *
 * Refused, with CB_ESECURITY: a file writable by others, and a file that
 * holds a literal azure.client_secret or a password in database.dsn while
 * group or others have any access to it (mode & 077).  Only regular files
 * are read.
 *
 * @param[out] out  receives the configuration; the caller owns it and
 *                  releases it with cb_config_free().  Untouched on failure.
 * @param path      the file; used as written in error messages.
 * @return 0; CB_ENOTFOUND if the file does not exist; CB_ECONFIG for a
 *         syntax or validation error ("path:line: ..."); CB_ESECURITY as
 *         above; CB_EIO if it cannot be read; CB_ENOMEM.
 */
CB_EXTERN(int) cb_config_load(cb_config **out, const char *path);

/**
 * Load and validate a configuration from memory, as cb_config_load() does
 * but without the file permission checks.  Meant for tests and for callers
 * that read the text themselves.
 *
 * @param[out] out    as for cb_config_load().
 * @param text        the configuration text, NUL-terminated; not kept.
 * @param source_name the name errors use in place of a path ("<string>"
 *                    if NULL); copied.
 * @return 0, CB_ECONFIG or CB_ENOMEM.
 */
/* scripts/check-exports wants the name on the CB_EXTERN line. */
/* clang-format off */
CB_EXTERN(int) cb_config_load_string(cb_config **out, const char *text,
	const char *source_name);
/* clang-format on */

/**
 * Release a configuration, overwriting the secrets it holds first.
 * NULL is a no-op.
 */
CB_EXTERN(void) cb_config_free(cb_config *cfg);

/**
 * The path or source name the configuration was loaded from.  Borrowed:
 * valid until cb_config_free().
 */
CB_EXTERN(const char *) cb_config_source(const cb_config *cfg);

/**
 * The line of @p key ("azure.certificate_path") in the source, so a later
 * check can name it ("chargeback.cfg:7: ..."); 0 if the key is not set.
 */
CB_EXTERN(unsigned) cb_config_key_line(const cb_config *cfg, const char *key);

/**
 * database.dsn: a libpq connection string or URI, or NULL.  May hold a
 * password: never log or print it.  Borrowed: valid until cb_config_free().
 */
CB_EXTERN(const char *) cb_config_dsn(const cb_config *cfg);

/** The azure section.  Borrowed: valid until cb_config_free(). */
CB_EXTERN(const cb_azure_config *) cb_config_azure(const cb_config *cfg);

/** The http section.  Borrowed: valid until cb_config_free(). */
CB_EXTERN(const cb_http_config *) cb_config_http(const cb_config *cfg);

/** The log section.  Borrowed: valid until cb_config_free(). */
CB_EXTERN(const cb_log_config *) cb_config_log(const cb_config *cfg);

/**
 * Number of names in billing_accounts; 0 when the file has no such key
 * (callers then use every billing account the credentials can list).
 */
CB_EXTERN(size_t) cb_config_billing_account_count(const cb_config *cfg);

/**
 * The @p index-th billing account name, in file order, or NULL if out of
 * range.  Names are 1..128 characters of [A-Za-z0-9:_-] and distinct.
 * Borrowed: valid until cb_config_free().
 */
/* clang-format off */
CB_EXTERN(const char *) cb_config_billing_account(const cb_config *cfg,
	size_t index);
/* clang-format on */

/**
 * Identify the configuration's exact text, to record which configuration
 * made a change: the 64-bit FNV-1a hash of the bytes read (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3) as 16 lower-case hex digits.
 * The same bytes always give the same hash.  It is not cryptographic: it
 * tells versions apart, it does not prove a file was not forged.  A
 * literal client secret in the file is hashed with the rest; 64 bits say
 * nothing useful about a random Entra secret, but record the hash, not the
 * text, and prefer azure.client_secret_env.
 *
 * @param[out] out  receives the 16 digits, replacing its contents.
 * @return 0, CB_EINVAL or CB_ENOMEM.
 */
CB_EXTERN(int) cb_config_hash(cb_buf *out, const cb_config *cfg);

/* ---- customer policies (the policies and labels keys) ---------------- */

/** A customer's "view charges" policy: may the customer see its own
 * Azure charges (ARM policies/default, properties.viewCharges). */
typedef enum {
	CB_VIEW_CHARGES_NOTALLOWED = 0, /**< "NotAllowed"; Azure's default */
	CB_VIEW_CHARGES_ALLOWED = 1     /**< "Allowed" */
} cb_view_charges;

/**
 * How a policy rule or label member picks customers.  The values are the
 * precedence: when several rules select a customer, the one with the
 * highest kind wins (customer id > label > reseller > name pattern >
 * all); two rules of the same kind selecting one customer with different
 * values are an error (cb_config_load() finds those it can see in the
 * file; cb_policy_plan() the rest, once the customers are known).
 */
typedef enum {
	CB_SELECT_ALL = 0,      /**< every customer; value NULL */
	CB_SELECT_NAME = 1,     /**< display name glob (* and ?), any case */
	CB_SELECT_RESELLER = 2, /**< the indirect reseller's MPN id */
	CB_SELECT_LABEL = 3,    /**< a label of the labels section */
	CB_SELECT_CUSTOMER = 4  /**< a customer id (ARM name), any case */
} cb_select_kind;

/** One entry of the policies list.  Borrowed from the cb_config. */
typedef struct {
	int kind;          /**< a cb_select_kind */
	const char *value; /**< id, label, MPN id or pattern; NULL for all */
	int view_charges;  /**< a cb_view_charges */
	unsigned line;     /**< where the entry starts in the file */
} cb_policy_rule;

/** One member of a label: a customer id or a name pattern. */
typedef struct {
	int kind;          /**< CB_SELECT_CUSTOMER or CB_SELECT_NAME */
	const char *value; /**< the id or the pattern */
	unsigned line;     /**< its line in the file */
} cb_label_member;

/** A label of the labels section.  Borrowed from the cb_config. */
typedef struct {
	const char *name;               /**< the label's key */
	unsigned line;                  /**< where it is defined */
	const cb_label_member *members; /**< customers first, then names */
	size_t member_count;            /**< at least 1 */
} cb_label;

/** Number of entries in the policies list (0 without the key). */
CB_EXTERN(size_t) cb_config_policy_rule_count(const cb_config *cfg);

/** The @p index-th policies entry in file order, or NULL if out of
 * range.  Borrowed: valid until cb_config_free(). */
/* clang-format off */
CB_EXTERN(const cb_policy_rule *) cb_config_policy_rule(const cb_config *cfg,
	size_t index);
/* clang-format on */

/** Number of labels defined (0 without the labels key). */
CB_EXTERN(size_t) cb_config_label_count(const cb_config *cfg);

/** The @p index-th label in file order, or NULL if out of range.
 * Borrowed: valid until cb_config_free(). */
CB_EXTERN(const cb_label *) cb_config_label(const cb_config *cfg, size_t index);

/** The label called @p name, or NULL.  Borrowed as cb_config_label(). */
/* clang-format off */
CB_EXTERN(const cb_label *) cb_config_label_find(const cb_config *cfg,
	const char *name);
/* clang-format on */

/* ---- budgets (chargeback budget; include/chargeback/budget.h) ---------- */

/** How a budget template picks its customers (cb_budget_config.select). */
typedef enum {
	CB_BUDGET_SELECT_ALL = 0,       /**< select = { all = true; } */
	CB_BUDGET_SELECT_CUSTOMERS = 1, /**< select = { customers = [...]; } */
	CB_BUDGET_SELECT_NAME = 2,      /**< select = { name = "glob"; } */
	CB_BUDGET_SELECT_RESELLER = 3 /**< select = { reseller = "MPN id"; } */
} cb_budget_select;

/** Budget time grain; the values index "Monthly", "Quarterly",
 * "Annually" (the Cost grains Azure accepts at customer scope). */
typedef enum {
	CB_BUDGET_MONTHLY = 0,
	CB_BUDGET_QUARTERLY = 1,
	CB_BUDGET_ANNUALLY = 2
} cb_budget_grain;

/** One notification of a budget template.  Borrowed from the cb_config. */
typedef struct {
	bool forecasted;    /**< thresholdType Forecasted, else Actual */
	bool or_equal;      /**< GreaterThanOrEqualTo, else GreaterThan */
	bool enabled;       /**< default true */
	cb_money threshold; /**< percent of the amount: 0 < t <= 1000,
				 at most 2 decimals */
	const char *const *emails; /**< 1..50 contact e-mail addresses */
	size_t email_count;
	const char *locale; /**< one of Azure's 21 ("en-us"), or NULL */
	unsigned line;      /**< where the notification starts */
} cb_budget_notification_config;

/** One filter expression: a dimension or a tag, operator In. */
typedef struct {
	bool tag;                  /**< a tag name, else a dimension */
	const char *name;          /**< "ResourceGroupName", "env" */
	const char *const *values; /**< 1..1000 values */
	size_t value_count;
	unsigned line;
} cb_budget_filter_config;

/**
 * One budget template (budgets = ( {...}, ... ); examples/chargeback.cfg).
 * Every string and array is borrowed from the cb_config.
 */
typedef struct {
	const char *name;     /**< 1..60 of [A-Za-z0-9_-]; the budget made from
				   it is named "cb-" + name */
	unsigned line;        /**< where the template starts */
	int select;           /**< a cb_budget_select */
	unsigned select_line; /**< line of the select key */
	const char *const *customers; /**< CUSTOMERS: customer ids */
	size_t customer_count;
	const unsigned *customer_lines; /**< line of each customer id */
	const char *pattern;  /**< NAME: glob on the display name (*, ?) */
	const char *reseller; /**< RESELLER: the reseller's MPN id */
	bool fixed;           /**< amount fixed; else from history */
	cb_money amount;      /**< fixed: the amount, > 0 */
	cb_money percent;     /**< history: percent of the average, > 0 */
	int months;           /**< history: trailing complete months, 1..12 */
	cb_money step;        /**< history: rounded up to a multiple, > 0 */
	int grain;            /**< a cb_budget_grain */
	const char *start;    /**< "YYYY-MM-01" */
	const char *end;      /**< "YYYY-MM-DD" after start, or NULL (Azure:
				   start + 10 years) */
	const cb_budget_notification_config *notifications;
	size_t notification_count; /**< at most 5 Actual + 5 Forecasted */
	const cb_budget_filter_config *filters; /**< ANDed */
	size_t filter_count;
} cb_budget_config;

/**
 * rules_file: the rules file (allocation and markup rules,
 * include/chargeback/rules.h) as written, or NULL.  A relative path is
 * relative to the configuration file's directory (cb_rules_load_config()
 * resolves it).  Borrowed: valid until cb_config_free().
 */
CB_EXTERN(const char *) cb_config_rules_file(const cb_config *cfg);

/** Number of budget templates; 0 without a budgets key. */
CB_EXTERN(size_t) cb_config_budget_count(const cb_config *cfg);

/**
 * The @p index-th budget template, in file order, or NULL if out of range.
 * Borrowed: valid until cb_config_free().
 */
/* clang-format off */
CB_EXTERN(const cb_budget_config *) cb_config_budget(const cb_config *cfg,
	size_t index);
/* clang-format on */

CB_END_DECL

#endif
