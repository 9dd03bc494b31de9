/*
 * core/buf.h - writing into a cb_buf from inside the library.
 *
 * Every cb_buf write is capped at CB_BUF_MAX; a caller that needs a tighter
 * bound (an HTTP body, a CSV row) checks its own cap before writing.
 */
#ifndef CB_CORE_BUF_H
#define CB_CORE_BUF_H

#include "chargeback/buf.h"

#include <stdarg.h>

/* 1 GiB: far above any single response, row or statement we produce; past
 * it something is wrong and failing beats exhausting memory. */
#define CB_BUF_MAX ((size_t)1 << 30)

/* Make room for at least extra more bytes (plus the terminator). */
int cb__buf_grow(cb_buf *buf, size_t extra);
int cb__buf_put(cb_buf *buf, const void *data, size_t len);
int cb__buf_puts(cb_buf *buf, const char *s);
int cb__buf_putc(cb_buf *buf, char c);
int cb__buf_printf(cb_buf *buf, const char *fmt, ...) CB_FORMAT_PRINTF(2, 3);
int cb__buf_vprintf(cb_buf *buf, const char *fmt, va_list ap)
	CB_FORMAT_PRINTF(2, 0);
/* Keep the allocation, forget the contents. */
void cb__buf_clear(cb_buf *buf);
/* Hand the bytes to the caller (who frees them with cb__free); buf is
 * reset.  Never NULL on success: an empty buffer gives "". */
char *cb__buf_detach(cb_buf *buf);

#endif
