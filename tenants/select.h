/*
 * tenants/select.h - matching customers against the configuration's
 * selectors, shared by policy and budget rules.
 */
#ifndef CB_TENANTS_SELECT_H
#define CB_TENANTS_SELECT_H

#include <stdbool.h>

/* Shell-style glob, ASCII case-insensitive as Azure compares names: '*'
 * any run of bytes, '?' one byte, everything else itself. */
bool cb__glob_match_ci(const char *pattern, const char *s);

#endif
