/*
 * include/chargeback/common.h - export and linkage macros shared by every
 * public header.
 *
 * The library is built with -fvisibility=hidden, so a function leaves
 * libchargeback.so only when its declaration says CB_EXTERN: adding to the
 * ABI is always a visible, reviewed act (scripts/check-exports).
 */
#ifndef CHARGEBACK_COMMON_H
#define CHARGEBACK_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
#define CB_BEGIN_DECL extern "C" {
#define CB_END_DECL   }
#else
#define CB_BEGIN_DECL
#define CB_END_DECL
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CB_EXTERN(type)             extern __attribute__((visibility("default"))) type
#define CB_FORMAT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CB_EXTERN(type) extern type
#define CB_FORMAT_PRINTF(fmt, args)
#endif

#endif
