/*
 * core/calendar.h - civil dates as days since 1970-01-01, proleptic
 * Gregorian: how cost lines carry dates (include/chargeback/costs.h), one
 * integer that compares and subtracts, turned into PostgreSQL's date on
 * the wire.  Pure arithmetic, no time zones.
 */
#ifndef CB_CORE_CALENDAR_H
#define CB_CORE_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

/* Room for cb__day_text(): "YYYY-MM-DD" and its terminator, with margin
 * for years beyond 9999. */
#define CB_DAY_TEXT_MAX 16

/* Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil); the
 * caller has checked the date. */
int32_t cb__days_from_civil(int y, int m, int d);

/* "YYYY-MM-DD" of a day. */
void cb__day_text(char out[CB_DAY_TEXT_MAX], int32_t days);

/* Days in month m (1-12) of year y. */
int cb__days_in_month(int y, int m);

/* "YYYY-MM" with a year from 1970 to 9999 -> *year, *month; false for
 * anything else (no sign, no blank, exactly seven characters). */
bool cb__month_parse(const char *s, int *year, int *month);

#endif
