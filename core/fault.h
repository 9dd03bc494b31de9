/*
 * core/fault.h - kill points for crash tests.
 *
 * A load must survive being killed at any moment (DESIGN.md "Idempotent
 * and crash-safe").  The kill-loop test proves it by killing the loader
 * at named points: CHARGEBACK_FAULT_KILL="POINT:N" makes the N-th time
 * the process passes POINT (1-based) raise SIGKILL, which no cleanup can
 * catch, just like kill -9.  Unset (always, outside tests), a pass costs
 * one predictable branch.
 *
 * Points: "row" (a row sent to the store), "copy-end" (staging written,
 * before its check), "swap" (inside the swap transaction, before COMMIT),
 * "committed" (right after the swap's COMMIT).
 */
#ifndef CB_CORE_FAULT_H
#define CB_CORE_FAULT_H

/* Count a pass through point and die here if the environment says so.
 * Thread-safe enough for one loader thread per point. */
void cb__fault_point(const char *point);

#endif
