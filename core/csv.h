/*
 * core/csv.h - what tests may see of the CSV reader beyond its public API.
 */
#ifndef CB_CORE_CSV_H
#define CB_CORE_CSV_H

#include "chargeback/csv.h"

/* Bytes the reader's window holds now: the memory that grows with input. */
size_t cb__csv_reader_window(const cb_csv_reader *reader);

#endif
