/*
 * emulator/calendar.h - civil dates as day numbers, for the modules that
 * do arithmetic on the partner's month (costgen, billing, budgets, Cost
 * Management).  Proleptic Gregorian, UTC; no time zone, no libc.
 */
#ifndef CB_EMULATOR_CALENDAR_H
#define CB_EMULATOR_CALENDAR_H

#include <stdint.h>

/* Days in month m of year y.  A month outside 1..12 counts 30 days, so
 * an unchecked option can never index past the table. */
int as_days_in_month(int y, int m);

/* Days since 1970-01-01 of a civil date. */
int64_t as_days_from_civil(int y, int m, int d);

/* The civil date of a day number (the reverse). */
void as_civil_from_days(int64_t days, int *y, int *m, int *d);

#endif
