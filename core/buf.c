/*
 * core/buf.c - the growable byte buffer behind cb_buf.
 *
 * Growth is geometric (x1.5) so appending n bytes costs O(n) overall; the
 * buffer is always NUL-terminated after a write so it doubles as a string.
 */
#include "core/common.h"
#include "core/buf.h"

#include <stdio.h>

void
cb_buf_dispose(cb_buf *buf)
{
	if (buf == NULL)
		return;
	cb__free(buf->ptr);
	buf->ptr = NULL;
	buf->size = buf->asize = 0;
}

int
cb__buf_grow(cb_buf *buf, size_t extra)
{
	size_t need, asize;
	char *p;

	if (extra > CB_BUF_MAX || buf->size > CB_BUF_MAX - extra - 1)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_NOMEMORY,
			"buffer would exceed %zu bytes", CB_BUF_MAX);
	need = buf->size + extra + 1;
	if (need <= buf->asize)
		return 0;
	asize = buf->asize ? buf->asize : 64;
	while (asize < need)
		asize += asize / 2;
	if (asize > CB_BUF_MAX + 1)
		asize = CB_BUF_MAX + 1;
	if ((p = cb__realloc(buf->ptr, asize)) == NULL)
		return CB_ENOMEM;
	buf->ptr = p;
	buf->asize = asize;
	return 0;
}

int
cb__buf_put(cb_buf *buf, const void *data, size_t len)
{
	int error;

	if ((error = cb__buf_grow(buf, len)) < 0)
		return error;
	if (len)
		memcpy(buf->ptr + buf->size, data, len);
	buf->size += len;
	buf->ptr[buf->size] = '\0';
	return 0;
}

int
cb__buf_puts(cb_buf *buf, const char *s)
{
	return cb__buf_put(buf, s, strlen(s));
}

int
cb__buf_putc(cb_buf *buf, char c)
{
	return cb__buf_put(buf, &c, 1);
}

int
cb__buf_vprintf(cb_buf *buf, const char *fmt, va_list ap)
{
	va_list copy;
	int n, error;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return cb__error_set(
			CB_ERROR, CB_ERRCLASS_OS, "cannot format '%s'", fmt);
	if ((error = cb__buf_grow(buf, (size_t)n)) < 0)
		return error;
	vsnprintf(buf->ptr + buf->size, (size_t)n + 1, fmt, ap);
	buf->size += (size_t)n;
	return 0;
}

int
cb__buf_printf(cb_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = cb__buf_vprintf(buf, fmt, ap);
	va_end(ap);
	return error;
}

void
cb__buf_clear(cb_buf *buf)
{
	buf->size = 0;
	if (buf->ptr)
		buf->ptr[0] = '\0';
}

char *
cb__buf_detach(cb_buf *buf)
{
	char *p = buf->ptr;

	if (p == NULL)
		return cb__strdup("");
	buf->ptr = NULL;
	buf->size = buf->asize = 0;
	return p;
}
