/*
 * core/config.h - what tests may ask the configuration schema.
 *
 * The schema (core/config.c) is the one list of keys; the test that checks
 * examples/chargeback.cfg documents every key walks it through here, so a
 * key added to the schema without documentation fails the suite.
 */
#ifndef CB_CORE_CONFIG_H
#define CB_CORE_CONFIG_H

#include "chargeback/config.h"

/*
 * The full name ("azure.tenant_id") of the index-th leaf key of the
 * schema, in table order, or NULL past the last one.  Static storage.
 */
const char *cb__config_schema_key(size_t index);

#endif
