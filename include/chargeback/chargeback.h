/*
 * include/chargeback/chargeback.h - everything public, in one include.
 */
#ifndef CHARGEBACK_H
#define CHARGEBACK_H

#include "chargeback/common.h"
#include "chargeback/errors.h"
#include "chargeback/buf.h"
#include "chargeback/version.h"
#include "chargeback/log.h"
#include "chargeback/config.h"
#include "chargeback/csv.h"
#include "chargeback/store.h"
#include "chargeback/money.h"
#include "chargeback/auth.h"
#include "chargeback/budget.h"
#include "chargeback/sync.h"
#include "chargeback/policy.h"
#include "chargeback/rules.h"
#include "chargeback/costs.h"
#include "chargeback/ingest.h"
#include "chargeback/reconcile.h"
#include "chargeback/rate.h"
#include "chargeback/statement.h"

#endif
