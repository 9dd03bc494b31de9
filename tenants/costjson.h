/*
 * tenants/costjson.h - the JSON of cost files (tags, additionalInfo):
 * checked and compacted by hand, on the ingest hot path.
 *
 * A cost file holds a JSON object or two per row, a million rows a file,
 * so these checks cannot build a tree (jansson) per row.  They read the
 * text once, check it against RFC 8259 plus what PostgreSQL's jsonb
 * refuses (a \u0000 escape, an unpaired surrogate escape, a number beyond
 * numeric's exponent range), and write it back without insignificant
 * whitespace.  Nesting is bounded so hostile input cannot exhaust the
 * stack.  Nothing allocates.
 */
#ifndef CB_TENANTS_COSTJSON_H
#define CB_TENANTS_COSTJSON_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting of objects and arrays accepted (the outer object is
 * level 1).  Azure's tags are flat and additionalInfo two levels deep. */
#define CB__COSTJSON_MAX_DEPTH 32

/* Why text was refused. */
typedef struct {
	size_t offset;    /* 0-based byte offset into the input */
	const char *what; /* static text: "expected ':'" */
} cb__costjson_error;

/*
 * Check text[0..len) as one JSON object and write it compacted to out,
 * which has room for len + 2 bytes; *out_len receives the bytes written.
 * With fragment set, text that does not start (after white space) with
 * '{' is read as the members of an object without its braces (Azure's
 * tags: "a": "1","b": "2") and written with them.  Returns 0, or -1
 * with *err filled.
 */
int cb__costjson_object(char *out, size_t *out_len, const char *text,
	size_t len, bool fragment, cb__costjson_error *err);

/*
 * The length of the valid UTF-8 sequence starting at p (1..4), or 0 if
 * the bytes at p..end do not start one (a stray continuation byte, an
 * overlong form, a surrogate, past U+10FFFF, cut by end).
 */
size_t cb__utf8_seq(const unsigned char *p, const unsigned char *end);

#endif
