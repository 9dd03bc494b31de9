/*
 * core/common.h - the first include of every library .c file.
 *
 * Feature macros must be set before any system header is read, so this file
 * comes first (PostgreSQL's "c.h first" rule).  It also brings in the public
 * API and the internal allocation and error helpers that every module uses.
 */
#ifndef CB_CORE_COMMON_H
#define CB_CORE_COMMON_H

/* POSIX.1-2008 for strndup, clock_gettime, getline; _DEFAULT_SOURCE for
 * timegm and strcasecmp-family helpers glibc hides under strict C11. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chargeback/chargeback.h"
#include "core/alloc.h"
#include "core/errors.h"

/* Number of elements of a true array (not a pointer). */
#define CB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Mark a parameter deliberately unused (callbacks with fixed signatures). */
#define CB_UNUSED(x) ((void)(x))

#endif
