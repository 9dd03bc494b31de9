/*
 * core/glob.c - shell-style name patterns (core/glob.h).
 */
#include "core/common.h"

#include "core/glob.h"

#include <ctype.h>

bool
cb__glob_match_ci(const char *p, const char *s)
{
	const char *star = NULL, *back = NULL;

	/* Greedy with one backtrack point: the last '*' seen absorbs one
	 * more byte each time the rest fails, which is linear per star. */
	while (*s != '\0') {
		if (*p == '*') {
			star = ++p;
			back = s;
		} else if (*p == '?' ||
			   (*p != '\0' && tolower((unsigned char)*p) ==
						  tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star;
			s = ++back;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
