/*
 * include/chargeback/rules.h - the rule set: allocation and markup rules,
 * read from a rules file, validated, and identified by a content hash.
 *
 * The rules live in their own file (libconfig syntax, named by the
 * configuration key rules_file; examples/rules.cfg shows every field).
 * It holds two lists:
 *
 *   allocation = ( { name; priority; source = { selectors };
 *                    method = "even" | "percent" | "proportional";
 *                    proportional_to = "total" | { service_family };
 *                    targets = ( { customer | cost_centre; percent;
 *                                  tag | resource_group }, ... ) }, ... );
 *   markup = ( { name; priority; customers = { all | ids | names };
 *                match = { selectors }; base = "cost" | "retail";
 *                percent | per_unit | tiers = ( { from; to; percent } );
 *                effective_from; effective_to; minimum_monthly;
 *                reseller_percent; statement_currency; exchange_rate },
 *              ... );
 *
 * Everything is checked when the file is read: unknown and missing
 * fields, values of the wrong type, unknown names (method, base,
 * publisher type, charge type, pricing model), amounts that are not exact
 * decimals, percentages that do not add up to exactly 100, overlapping or
 * gapped tiers, dates out of order, duplicate names and priorities.  Each
 * refusal is CB_ECONFIG with a message "FILE:LINE: rule: problem".
 * Numbers are read as their literal text (never through a double), so
 * "33.333333333333333333" is exactly that.
 *
 * The content hash is the SHA-256 of a canonical form of the parsed rules:
 * whitespace, comments, the order of fields and of rules (which are kept
 * sorted by priority) do not change it; any value does.  Every rated line
 * records it, so a statement names the exact rules that priced it.
 *
 * A loaded cb_rules is immutable: threads may read it concurrently.
 */
#ifndef CHARGEBACK_RULES_H
#define CHARGEBACK_RULES_H

#include "chargeback/common.h"
#include "chargeback/config.h"
#include "chargeback/money.h"

CB_BEGIN_DECL

/** A loaded, validated rule set. */
typedef struct cb_rules cb_rules;

/** Largest rules file read, in bytes (16 MiB: far above thousands of
 * rules, and a wrong path pointing at something huge is refused). */
#define CB_RULES_SIZE_MAX ((size_t)16 << 20)

/** Most rules of each kind (allocation, markup) in one file. */
#define CB_RULES_MAX 100000

/** Room for cb_rules_hash(): 64 hex digits and the terminator. */
#define CB_RULES_HASH_MAX 65

/** Publisher type selector (match.publisher_type). */
typedef enum {
	CB_PUBLISHER_ANY = 0,        /**< not set: any publisher */
	CB_PUBLISHER_MICROSOFT = 1,  /**< "Microsoft" */
	CB_PUBLISHER_MARKETPLACE = 2 /**< "Marketplace" */
} cb_publisher_type;

/**
 * Which cost lines a rule applies to: every field set must match (AND);
 * a NULL field (or CB_PUBLISHER_ANY) matches anything.  Names compare
 * ignoring ASCII letter case, as Azure's own names vary in case; a tag
 * matches when the line has a tag of that key (any case) with exactly
 * that value.  Allocation sources use subscription, resource_group, tag,
 * meter_category, service_family and customer; markup selectors use
 * service_family, meter_category, meter, charge_type, publisher_type,
 * pricing_model, reseller and tag.  Strings are borrowed from the
 * cb_rules.
 */
typedef struct {
	const char *subscription;   /**< subscription id */
	const char *resource_group; /**< resource group name */
	const char *tag_key;        /**< with tag_value: "key=value" */
	const char *tag_value;      /**< may be "" */
	const char *meter_category; /**< "Virtual Machines" */
	const char *service_family; /**< "Compute" */
	const char *meter;          /**< meter name */
	/** "Usage", "Purchase", "Refund", "RoundingAdjustment",
	 * "UnusedReservation" or "UnusedSavingsPlan", as written there */
	const char *charge_type;
	int publisher_type; /**< a cb_publisher_type */
	/** "OnDemand", "Reservation", "SavingsPlan" or "Spot" */
	const char *pricing_model;
	const char *reseller; /**< reseller name or MPN id */
	/** allocation only: the source is inside this customer (a
	 * cross-charge to cost centres); the customer's tenant id */
	const char *customer;
} cb_rule_selector;

/** How an allocation splits its source cost. */
typedef enum {
	CB_ALLOC_EVEN = 0,        /**< "even": equal shares */
	CB_ALLOC_PERCENT = 1,     /**< "percent": fixed, adding to 100 */
	CB_ALLOC_PROPORTIONAL = 2 /**< "proportional": to each target's cost */
} cb_alloc_method;

/** One target of an allocation: a customer, or a cost centre inside the
 * source's customer. */
typedef struct {
	/** the customer's tenant id; NULL for a cost centre */
	const char *customer;
	/** the cost centre's name; NULL for a customer */
	const char *cost_centre;
	/** a cost centre's resources (its weight in "proportional"): the
	 * resources with this tag ("key=value") ... */
	const char *tag_key;
	const char *tag_value;
	/** ... or in this resource group; both NULL for a customer */
	const char *resource_group;
	cb_money percent; /**< CB_ALLOC_PERCENT only, else zero */
	unsigned line;    /**< where the target starts in the file */
} cb_alloc_target;

/** An allocation rule.  Everything is borrowed from the cb_rules. */
typedef struct {
	const char *name;        /**< unique among allocation rules */
	int64_t priority;        /**< unique; lower applies first */
	cb_rule_selector source; /**< the shared cost it moves */
	int method;              /**< a cb_alloc_method */
	/** CB_ALLOC_PROPORTIONAL: weigh each target by its cost of this
	 * service family; NULL: by its total cost */
	const char *proportional_family;
	const cb_alloc_target *targets; /**< sorted by customer, cost centre */
	size_t target_count;            /**< at least 1 */
	unsigned line;                  /**< where the rule starts */
} cb_alloc_rule;

/** What a markup adds to. */
typedef enum {
	CB_MARKUP_BASE_COST = 0,  /**< "cost": costInBillingCurrency */
	CB_MARKUP_BASE_RETAIL = 1 /**< "retail": paygCostInBillingCurrency */
} cb_markup_base;

/** The kind of adjustment. */
typedef enum {
	CB_MARKUP_PERCENT = 0,  /**< percent of the base; negative: discount */
	CB_MARKUP_PER_UNIT = 1, /**< a fixed amount per unit of quantity */
	CB_MARKUP_TIERS = 2     /**< a percent chosen by monthly volume */
} cb_markup_kind;

/** A volume band: [from, to) of the customer's monthly base amount. */
typedef struct {
	cb_money from;    /**< the first band starts at 0 */
	cb_money to;      /**< meaningful only when has_to */
	bool has_to;      /**< false: open-ended (the last band only) */
	cb_money percent; /**< the adjustment inside this band */
} cb_markup_tier;

/** Which customers a markup rule applies to. */
typedef enum {
	CB_CUSTOMERS_ALL = 0,  /**< every customer */
	CB_CUSTOMERS_IDS = 1,  /**< customers whose tenant id is listed */
	CB_CUSTOMERS_NAMES = 2 /**< customers whose name matches a glob */
} cb_customers_kind;

/** A markup rule.  Everything is borrowed from the cb_rules. */
typedef struct {
	const char *name; /**< unique among markup rules */
	int64_t priority; /**< unique; the lowest matching rule wins */
	int customers;    /**< a cb_customers_kind */
	/** CB_CUSTOMERS_IDS: tenant ids (compared ignoring case);
	 * CB_CUSTOMERS_NAMES: globs, '*' any run, '?' one byte, ignoring
	 * ASCII case.  Sorted. */
	const char *const *customer_values;
	size_t customer_value_count;
	cb_rule_selector match;
	int base;                    /**< a cb_markup_base */
	int kind;                    /**< a cb_markup_kind */
	cb_money percent;            /**< CB_MARKUP_PERCENT */
	cb_money per_unit;           /**< CB_MARKUP_PER_UNIT */
	const cb_markup_tier *tiers; /**< CB_MARKUP_TIERS, ascending */
	size_t tier_count;           /**< 0 unless CB_MARKUP_TIERS */
	bool has_from;               /**< effective_from set */
	int32_t effective_from;      /**< first day, days since 1970 */
	bool has_to;                 /**< effective_to set */
	int32_t effective_to;        /**< first day no longer covered */
	bool has_minimum;            /**< minimum_monthly set */
	cb_money minimum_monthly;    /**< least a month is charged */
	bool has_reseller_percent;   /**< reseller_percent set */
	/** for indirect customers (a line with a reseller): this percent
	 * on top of the rule's own adjustment (the reseller's tier above
	 * the distributor's) */
	cb_money reseller_percent;
	/** ISO 4217 code of the statement, or NULL: the billing currency */
	const char *statement_currency;
	/** billing currency x rate = statement currency; set exactly when
	 * statement_currency is */
	cb_money exchange_rate;
	unsigned line; /**< where the rule starts */
} cb_markup_rule;

/** A tag of a cost line, as key and value (borrowed from the caller). */
typedef struct {
	const char *key;
	const char *value;
} cb_rule_tag;

/**
 * The attributes of one cost line and its customer that markup rules
 * select on.  All borrowed from the caller; a NULL string matches only a
 * rule that does not select on that attribute.
 */
typedef struct {
	const char *customer_id;   /**< customer tenant id */
	const char *customer_name; /**< for name globs */
	const char *service_family;
	const char *meter_category;
	const char *meter;
	const char *charge_type;
	/** "Microsoft" or "Marketplace" ("Azure", as some exports write
	 * Microsoft's own charges, counts as "Microsoft") */
	const char *publisher_type;
	const char *pricing_model;
	/** the reseller's name or MPN id; NULL or "" for a direct customer */
	const char *reseller;
	const char *reseller_mpn_id; /**< also compared with match.reseller */
	const cb_rule_tag *tags;
	size_t tag_count;
	int32_t date; /**< the usage day, days since 1970-01-01 */
} cb_markup_line;

/**
 * Read and validate a rules file.
 *
 * @param[out] out  the rule set; free with cb_rules_free(); untouched on
 *                  failure
 * @param path      the file; refused if larger than CB_RULES_SIZE_MAX
 * @return 0; CB_ENOTFOUND or CB_EIO if it cannot be read; CB_ECONFIG with
 *         "PATH:LINE: ..." when it is not a valid rule set; CB_ENOMEM.
 */
CB_EXTERN(int) cb_rules_load(cb_rules **out, const char *path);

/**
 * As cb_rules_load(), from text in memory; @p source_name (NULL:
 * "<string>") stands for the file name in messages.
 */
CB_EXTERN(int)
cb_rules_load_string(cb_rules **out, const char *text, const char *source_name);

/**
 * Load the rules file the configuration names (rules_file); a relative
 * path is taken from the configuration file's directory.
 *
 * @return as cb_rules_load(); CB_ENOTFOUND when the configuration names
 *         no rules file.
 */
CB_EXTERN(int) cb_rules_load_config(cb_rules **out, const cb_config *cfg);

/** Release a rule set and everything borrowed from it.  NULL is a no-op. */
CB_EXTERN(void) cb_rules_free(cb_rules *rules);

/** The file name given at load, borrowed. */
CB_EXTERN(const char *) cb_rules_source(const cb_rules *rules);

/** The content hash: 64 lower-case hex digits of a SHA-256, borrowed. */
CB_EXTERN(const char *) cb_rules_hash(const cb_rules *rules);

/** Number of allocation rules. */
CB_EXTERN(size_t) cb_rules_alloc_count(const cb_rules *rules);

/** Allocation rule @p index (ascending priority), borrowed; NULL past the
 * end. */
CB_EXTERN(const cb_alloc_rule *)
cb_rules_alloc(const cb_rules *rules, size_t index);

/** Number of markup rules. */
CB_EXTERN(size_t) cb_rules_markup_count(const cb_rules *rules);

/** Markup rule @p index (ascending priority), borrowed; NULL past the
 * end. */
CB_EXTERN(const cb_markup_rule *)
cb_rules_markup(const cb_rules *rules, size_t index);

/**
 * Whether markup rule @p rule applies to @p line: its customers, every
 * selector it sets, and its effective dates (from inclusive, to
 * exclusive) against the line's date.  Pure; returns 1 or 0.
 */
CB_EXTERN(int)
cb_markup_rule_matches(const cb_markup_rule *rule, const cb_markup_line *line);

/**
 * The markup rule that prices @p line: the matching rule of lowest
 * priority, or NULL when none matches.  Pure and thread-safe; borrowed.
 */
CB_EXTERN(const cb_markup_rule *)
cb_rules_markup_find(const cb_rules *rules, const cb_markup_line *line);

CB_END_DECL

#endif
