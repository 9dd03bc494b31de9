/*
 * allocation/rules_reader.h - the rules file's syntax: a small reader of
 * the libconfig grammar into a tree that keeps every value's line and
 * every number's literal text.
 *
 * Why a reader of our own rather than core/config.c's libconfig: libconfig
 * keeps a number only in binary floating point (the exact text would
 * have to be found again on its line, so two numbers on a line are
 * refused) and gives some
 * list elements the line of the token after them, while a rule file is
 * mostly exact decimals in lists; and libconfig.h belongs to core/config.c
 * alone (STYLE.md 6.1).  The subset read here is what rule files use:
 * settings "name = value;" (':' for '=', ',' or nothing for ';'), groups
 * { }, lists ( ) and arrays [ ], strings with libconfig's escapes
 * (adjacent strings joined), numbers, true and false; comments as
 * in libconfig (hash, two slashes, C style).  No "@include".
 */
#ifndef CB_ALLOCATION_RULES_READER_H
#define CB_ALLOCATION_RULES_READER_H

#include "core/common.h"

/* Nesting deeper than this is refused (a rule file needs 4). */
#define RULES_DEPTH_MAX 16

enum rnode_kind {
	RN_GROUP,  /* { name = value; ... } */
	RN_LIST,   /* ( value, ... ) or [ value, ... ] */
	RN_STRING, /* text: the decoded string */
	RN_NUMBER, /* text: the literal as written ("33.50", "-5", "1e3") */
	RN_BOOL    /* text: "true" or "false" */
};

struct rnode {
	enum rnode_kind kind;
	char *name;    /* owned: the setting's name in a group, else NULL */
	unsigned line; /* the name's line in a group, else the value's */
	char *text;    /* owned: scalars' text, else NULL */
	struct rnode **kids; /* owned: members or elements, in file order */
	size_t count;        /* kids used */
	size_t cap;          /* kids allocated */
	bool used;           /* set by the checker that reads it */
};

/* Read text (len bytes, NUL-terminated) into a root group.  source names
 * the file in messages.  Returns 0, CB_ECONFIG ("source:line: ..."),
 * CB_ENOMEM. */
int cb__rules_read(
	struct rnode **out, const char *text, size_t len, const char *source);

void cb__rules_node_free(struct rnode *n);

/* The member of group g named name, or NULL; marks it used. */
struct rnode *cb__rules_member(struct rnode *g, const char *name);

#endif
