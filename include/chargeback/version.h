/*
 * include/chargeback/version.h - library version and global set-up.
 *
 * cb_init() must be called once before any other call that talks to the
 * network (it initialises libcurl and OpenSSL); it is reference counted, so
 * libraries built on us may call it too.  cb_shutdown() undoes one call.
 */
#ifndef CHARGEBACK_VERSION_H
#define CHARGEBACK_VERSION_H

#include "chargeback/common.h"

CB_BEGIN_DECL

/** The library version, "MAJOR.MINOR.PATCH".  Static storage. */
CB_EXTERN(const char *) cb_version(void);

/**
 * Initialise global state (libcurl, OpenSSL).  Thread-unsafe: call it
 * from the main thread before starting others.
 * @return 0 or CB_ERROR.
 */
CB_EXTERN(int) cb_init(void);

/** Undo one cb_init(); the last one releases global state. */
CB_EXTERN(void) cb_shutdown(void);

CB_END_DECL

#endif
