/*
 * core/glob.h - shell-style name patterns, as the configuration's
 * selectors (policies, budgets) and the rules' customer selectors use
 * them.
 */
#ifndef CB_CORE_GLOB_H
#define CB_CORE_GLOB_H

#include <stdbool.h>

/* Shell-style glob, ASCII case-insensitive as Azure compares names: '*'
 * any run of bytes, '?' one byte, everything else itself. */
bool cb__glob_match_ci(const char *pattern, const char *s);

#endif
