/*
 * emulator/query.c - placeholder: Query and Forecast arrive with issue 3.
 */
#include "core/common.h"

#include "emulator/armsim.h"

const as_route as_query_routes[] = { { NULL, NULL, 0, 0, NULL } };
