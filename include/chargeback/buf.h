/*
 * include/chargeback/buf.h - a growable byte buffer owned by the caller.
 *
 * Strings handed out by the library arrive in a cb_buf (libgit2's git_buf):
 * the caller declares one with CB_BUF_INIT, passes it in, and releases it
 * with cb_buf_dispose().  ptr is always NUL-terminated when size > 0 or
 * after any successful write, so it can be used as a C string.
 */
#ifndef CHARGEBACK_BUF_H
#define CHARGEBACK_BUF_H

#include "chargeback/common.h"

CB_BEGIN_DECL

/** A caller-owned byte buffer. */
typedef struct {
	char *ptr;    /**< the bytes, NUL-terminated; owned; NULL when empty */
	size_t size;  /**< bytes used, terminator excluded */
	size_t asize; /**< bytes allocated */
} cb_buf;

#define CB_BUF_INIT        \
	{                  \
		NULL, 0, 0 \
	}

/** Release the buffer's memory and reset it to CB_BUF_INIT. NULL is ok. */
CB_EXTERN(void) cb_buf_dispose(cb_buf *buf);

CB_END_DECL

#endif
