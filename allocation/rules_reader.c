/*
 * allocation/rules_reader.c - the rules file's syntax (see rules_reader.h
 * for the grammar and why it is not libconfig).
 *
 * A recursive-descent reader over the NUL-terminated text, depth bounded
 * by RULES_DEPTH_MAX; every node records its line.  Errors name the file,
 * the line and what was expected.
 */
#include "core/common.h"
#include "allocation/rules_reader.h"
#include "core/buf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

struct reader {
	const char *p;      /* next character */
	const char *end;    /* the terminating NUL */
	unsigned line;      /* of p */
	const char *source; /* for messages */
};

static int reader_fail(const struct reader *r, unsigned line, const char *fmt,
	...) CB_FORMAT_PRINTF(3, 4);

static int
reader_fail(const struct reader *r, unsigned line, const char *fmt, ...)
{
	char msg[CB_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG, "%s:%u: %s",
		r->source, line, msg);
}

void
cb__rules_node_free(struct rnode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->count; i++)
		cb__rules_node_free(n->kids[i]);
	cb__free(n->kids);
	cb__free(n->name);
	cb__free(n->text);
	cb__free(n);
}

struct rnode *
cb__rules_member(struct rnode *g, const char *name)
{
	if (g == NULL || g->kind != RN_GROUP)
		return NULL;
	for (size_t i = 0; i < g->count; i++) {
		if (strcmp(g->kids[i]->name, name) == 0) {
			g->kids[i]->used = true;
			return g->kids[i];
		}
	}
	return NULL;
}

static struct rnode *
node_new(enum rnode_kind kind, unsigned line)
{
	struct rnode *n = cb__calloc(1, sizeof(*n));

	if (n != NULL) {
		n->kind = kind;
		n->line = line;
	}
	return n;
}

static int
node_add(struct rnode *parent, struct rnode *kid)
{
	if (parent->count == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct rnode **k =
			cb__reallocarray(parent->kids, cap, sizeof(*k));

		if (k == NULL)
			return CB_ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->count++] = kid;
	return 0;
}

/* Skip blanks, newlines and comments. */
static int
reader_skip(struct reader *r)
{
	for (;;) {
		char c = *r->p;

		if (c == '\n') {
			r->line++;
			r->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
			   c == '\v') {
			r->p++;
		} else if (c == '#' || (c == '/' && r->p[1] == '/')) {
			r->p += strcspn(r->p, "\n");
		} else if (c == '/' && r->p[1] == '*') {
			unsigned start = r->line;

			for (r->p += 2;
				*r->p && !(r->p[0] == '*' && r->p[1] == '/');
				r->p++)
				r->line += *r->p == '\n';
			if (*r->p == '\0')
				return reader_fail(
					r, start, "comment is not closed");
			r->p += 2;
		} else if (c == '\0' && r->p < r->end) {
			return reader_fail(r, r->line, "NUL byte in the file");
		} else {
			return 0;
		}
	}
}

static bool
name_start(int c)
{
	return isalpha(c) || c == '*';
}

static bool
name_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '*';
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One or more adjacent "..." strings, joined, into n->text. */
static int
reader_string(struct reader *r, struct rnode *n)
{
	cb_buf b = CB_BUF_INIT;
	int error = 0;

	while (*r->p == '"') {
		unsigned start = r->line;

		for (r->p++; *r->p != '"'; r->p++) {
			char c = *r->p;

			if (c == '\0' || c == '\n') {
				error = reader_fail(
					r, start, "string is not closed");
				goto done;
			}
			if (c == '\\') {
				int h1, h2;

				switch (r->p[1]) {
				case '"':
				case '\\':
					c = r->p[1];
					break;
				case 'n':
					c = '\n';
					break;
				case 't':
					c = '\t';
					break;
				case 'r':
					c = '\r';
					break;
				case 'f':
					c = '\f';
					break;
				case 'x':
					h1 = hex_value((unsigned char)r->p[2]);
					h2 = h1 < 0 ? -1
						    : hex_value((unsigned char)r
									->p[3]);
					if (h2 < 0 || (h1 == 0 && h2 == 0)) {
						error = reader_fail(r, r->line,
							"bad \\x escape in a "
							"string");
						goto done;
					}
					c = (char)(h1 * 16 + h2);
					r->p += 2;
					break;
				default:
					error = reader_fail(r, r->line,
						"unknown escape '\\%c' in a "
						"string",
						isprint((unsigned char)r->p[1])
							? r->p[1]
							: '?');
					goto done;
				}
				r->p++;
			}
			if ((error = cb__buf_putc(&b, c)) < 0)
				goto done;
		}
		r->p++;
		if ((error = reader_skip(r)) < 0)
			goto done;
	}
	n->text = cb__buf_detach(&b);
	error = n->text ? 0 : CB_ENOMEM;
done:
	cb_buf_dispose(&b);
	return error;
}

static int reader_value(struct reader *r, struct rnode **out, unsigned depth);

/* Settings up to close (or the end of text when close is '\0'). */
static int
reader_settings(struct reader *r, struct rnode *g, char close, unsigned depth)
{
	int error;

	for (;;) {
		struct rnode *v = NULL;
		const char *start;
		unsigned line;
		size_t nlen;

		if ((error = reader_skip(r)) < 0)
			return error;
		if (*r->p == close && (close != '\0' || r->p == r->end)) {
			if (close != '\0')
				r->p++;
			return 0;
		}
		if (!name_start((unsigned char)*r->p))
			return reader_fail(r, r->line,
				close ? "expected a setting name or '}'"
				      : "expected a setting name");
		start = r->p;
		line = r->line;
		while (name_char((unsigned char)*r->p))
			r->p++;
		nlen = (size_t)(r->p - start);
		for (size_t i = 0; i < g->count; i++) {
			size_t n = nlen;

			if (strncmp(g->kids[i]->name, start, n) == 0 &&
				g->kids[i]->name[n] == '\0')
				return reader_fail(r, line,
					"duplicate field '%.*s' (also on line "
					"%u)",
					(int)(n > 64 ? 64 : n), start,
					g->kids[i]->line);
		}
		if ((error = reader_skip(r)) < 0)
			return error;
		if (*r->p != '=' && *r->p != ':')
			return reader_fail(r, r->line,
				"expected '=' after '%.*s'",
				(int)(r->p - start > 64 ? 64 : r->p - start),
				start);
		r->p++;
		if ((error = reader_value(r, &v, depth)) < 0)
			return error;
		v->line = line;
		if ((v->name = cb__strndup(start, nlen)) == NULL) {
			cb__rules_node_free(v);
			return CB_ENOMEM;
		}
		if ((error = node_add(g, v)) < 0) {
			cb__rules_node_free(v);
			return error;
		}
		if ((error = reader_skip(r)) < 0)
			return error;
		if (*r->p == ';' || *r->p == ',')
			r->p++;
	}
}

static int
reader_value(struct reader *r, struct rnode **out, unsigned depth)
{
	struct rnode *n = NULL;
	int error;

	if ((error = reader_skip(r)) < 0)
		return error;
	if (depth >= RULES_DEPTH_MAX)
		return reader_fail(r, r->line, "nested deeper than %d levels",
			RULES_DEPTH_MAX);
	unsigned line = r->line;
	char c = *r->p;

	if (c == '{') {
		if ((n = node_new(RN_GROUP, line)) == NULL)
			return CB_ENOMEM;
		r->p++;
		error = reader_settings(r, n, '}', depth + 1);
		if (error == CB_ECONFIG && *r->p == '\0')
			error = reader_fail(r, line, "'{' is not closed");
	} else if (c == '(' || c == '[') {
		char close = c == '(' ? ')' : ']';

		if ((n = node_new(RN_LIST, line)) == NULL)
			return CB_ENOMEM;
		r->p++;
		for (;;) {
			struct rnode *e = NULL;

			if ((error = reader_skip(r)) < 0)
				break;
			if (*r->p == close) {
				r->p++;
				break;
			}
			if (n->count > 0) {
				if (*r->p != ',') {
					error = reader_fail(r, r->line,
						*r->p ? "expected ',' or '%c'"
						      : "'%c' missing at the "
							"end",
						close);
					break;
				}
				r->p++;
			}
			if ((error = reader_value(r, &e, depth + 1)) < 0)
				break;
			if ((error = node_add(n, e)) < 0) {
				cb__rules_node_free(e);
				break;
			}
		}
	} else if (c == '"') {
		if ((n = node_new(RN_STRING, line)) == NULL)
			return CB_ENOMEM;
		error = reader_string(r, n);
	} else if (isdigit((unsigned char)c) ||
		   ((c == '-' || c == '+' || c == '.') &&
			   (isdigit((unsigned char)r->p[1]) ||
				   r->p[1] == '.'))) {
		const char *start = r->p;

		for (r->p++; isalnum((unsigned char)*r->p) || *r->p == '.' ||
			     ((*r->p == '+' || *r->p == '-') &&
				     (r->p[-1] == 'e' || r->p[-1] == 'E'));
			r->p++)
			;
		if ((n = node_new(RN_NUMBER, line)) == NULL)
			return CB_ENOMEM;
		if ((n->text = cb__strndup(start, (size_t)(r->p - start))) ==
			NULL)
			error = CB_ENOMEM;
	} else if (name_start((unsigned char)c)) {
		const char *start = r->p;
		size_t len;

		while (name_char((unsigned char)*r->p))
			r->p++;
		len = (size_t)(r->p - start);
		if ((len == 4 && strncasecmp(start, "true", 4) == 0) ||
			(len == 5 && strncasecmp(start, "false", 5) == 0)) {
			if ((n = node_new(RN_BOOL, line)) == NULL)
				return CB_ENOMEM;
			if ((n->text = cb__strdup(
				     len == 4 ? "true" : "false")) == NULL)
				error = CB_ENOMEM;
		} else {
			return reader_fail(r, line,
				"'%.*s' is not a value (strings are quoted)",
				(int)(len > 64 ? 64 : len), start);
		}
	} else {
		return reader_fail(r, line,
			c ? "expected a value"
			  : "expected a value, not the "
			    "end of the file");
	}
	if (error < 0) {
		cb__rules_node_free(n);
		return error;
	}
	*out = n;
	return 0;
}

int
cb__rules_read(
	struct rnode **out, const char *text, size_t len, const char *source)
{
	struct reader r = { text, text + len, 1, source };
	struct rnode *root = node_new(RN_GROUP, 1);
	int error;

	if (root == NULL)
		return CB_ENOMEM;
	if ((error = reader_settings(&r, root, '\0', 0)) < 0) {
		cb__rules_node_free(root);
		return error;
	}
	*out = root;
	return 0;
}
