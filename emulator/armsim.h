/*
 * emulator/armsim.h - armsim's request pipeline, shared by every module.
 *
 * armsim is a second, independent reading of the Azure wire format
 * (DESIGN.md): it never includes core/arm, core/http, core/auth, core/json
 * or tenants/ (checksrc enforces it).  It shares only generic pieces of
 * core: buf, error, log, money and the CSV writer.
 *
 * One request goes through server.c like this:
 *
 *   reqlog   every request is recorded (secrets redacted) when it ends
 *   control  /_armsim/... paths, which ARM never uses (control.c)
 *   faults   a planned fault for this route and call number (faults.c)
 *   route    router.c finds the handler; none is an ARM error, counted
 *            as a violation, never a default 200
 *   version  the route's api-version family must know ?api-version=
 *   auth     a valid, unexpired bearer token from entra.c
 *   throttle the principal's token bucket (throttle.c)
 *   handler  the module's function fills an as_resp
 *   faults   after-effects on every answer (truncated or malformed
 *            bodies; a 429/503 Retry-After remembered for its caller)
 *
 * Handlers run with the server lock held (as_server.lock), so state
 * (policies, budgets, operations, counters) needs no locking of its own.
 * The partner model is immutable once generated, so blob streams read it
 * without the lock.
 *
 * Every module keeps its state behind an opaque pointer in as_server and
 * exports a route table ending with a zeroed entry.  armsim is a program,
 * not the library: it may print and exit from main.c and uses plain libc
 * allocation (core's cb_buf aside).
 */
#ifndef CB_EMULATOR_ARMSIM_H
#define CB_EMULATOR_ARMSIM_H

#include "chargeback/buf.h"
#include "chargeback/money.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct as_partner;
struct MHD_Connection;

/* Most path segments a request may have; more is a 400. */
#define AS_MAX_SEGMENTS 48
/* Most captures ({name} in a pattern) a route may have. */
#define AS_MAX_CAPTURES 8
/* Most response headers. */
#define AS_MAX_HEADERS 16

/* api-version families (as_route.apis); router.c lists the versions. */
enum {
	AS_API_NONE = 0,        /* no api-version checked (token, blobs...) */
	AS_API_BILLING = 1,     /* 2019-10-01-preview, 2020-05-01, 2024-04-01 */
	AS_API_COSTMGMT = 2,    /* 2022-05-01 ... 2025-03-01 */
	AS_API_CONSUMPTION = 4, /* 2021-10-01, 2024-08-01 */
	AS_API_IMDS = 8         /* 2018-02-01 and later */
};

/* Route flags. */
enum {
	AS_ROUTE_NOAUTH = 1, /* no bearer token (Entra, IMDS, blobs) */
	AS_ROUTE_WRITE = 2,  /* counts against the write bucket */
	AS_ROUTE_DELETE = 4  /* counts against the delete bucket */
};

/* One HTTP request, complete (the body has been read). */
typedef struct as_req {
	const char *method; /* "GET", "PUT"... */
	char *path;         /* as sent, without the query, not decoded */
	const char *query;  /* raw query string without '?', or "" */
	/* Path split on '/', each segment percent-decoded; ':' and '_'
	 * survive untouched (billing account names hold both). */
	char *seg[AS_MAX_SEGMENTS];
	size_t nseg;
	/* Captures of the matched route, by position in the pattern; a
	 * {scope*} capture is the slash-joined segments it covered. */
	char *cap[AS_MAX_CAPTURES];
	size_t ncap;
	char *api_version; /* decoded ?api-version=, or NULL */
	const char *body;  /* NUL-terminated; "" when none */
	size_t body_len;
	const char *principal; /* "tenant/appid" once authorized, or NULL */
	unsigned long seq;     /* request number, from 1 */
	unsigned long call;    /* call number of this route, from 1 */
	const char *route;     /* the matched pattern, or NULL */
	int64_t now_ms;        /* wall clock when the request arrived */
	struct MHD_Connection *conn;
} as_req;

/* Streams a body: writes up to max bytes at pos into buf; returns the
 * count, 0 at the end, or -1 to abort the connection (a truncation). */
typedef long (*as_stream_fn)(void *ctx, uint64_t pos, char *buf, size_t max);

/* A response being built. */
typedef struct as_resp {
	int status;
	size_t nheader;
	char *hname[AS_MAX_HEADERS];
	char *hvalue[AS_MAX_HEADERS];
	cb_buf body;
	/* Instead of body: a stream of stream_len bytes (UINT64_MAX when
	 * unknown, sent chunked); stream_free(ctx) runs when it ends. */
	as_stream_fn stream;
	void *stream_ctx;
	void (*stream_free)(void *ctx);
	uint64_t stream_len;
	/* Fault effects applied by server.c after the handler. */
	bool drop;           /* close the connection, answer nothing */
	int64_t truncate_at; /* >= 0: send only this many body bytes */
	int64_t delay_ms;    /* wait before answering */
	int64_t slow_ms;     /* wait between 4 KiB chunks of the body */
} as_resp;

typedef struct as_server as_server;

typedef int (*as_handler)(as_server *s, as_req *req, as_resp *resp);

/* A route: method, pattern and handler.  Pattern segments are literals
 * (matched case-insensitively, as ARM does), {name} (one segment) or one
 * {scope*} (one or more segments, for Cost Management scopes). */
typedef struct as_route {
	const char *method;
	const char *pattern;
	unsigned apis;  /* AS_API_*: which api-versions are accepted */
	unsigned flags; /* AS_ROUTE_* */
	as_handler fn;
} as_route;

/* Options, from the command line (main.c) or a test. */
typedef struct as_options {
	const char *bind;      /* "127.0.0.1" */
	unsigned port;         /* 0: any free port */
	const char *port_file; /* write the port here once listening */
	bool plain_http;       /* default is HTTPS */
	const char *tls_cert;  /* PEM server certificate (chain) */
	const char *tls_key;   /* PEM private key */
	/* The generated partner (partner.c). */
	uint64_t seed;
	unsigned customers;
	unsigned subscriptions_per_customer;
	unsigned rows_per_subscription_day;
	int period_year, period_month; /* the month of cost lines */
	const char *partner_file;      /* load the partner from JSON */
	/* Registered application (entra.c). */
	const char *tenant_id; /* NULL: the partner's tenant */
	const char *client_id; /* NULL: a fixed default */
	const char *client_secret;
	const char *client_cert; /* PEM certificate for assertions */
	unsigned token_lifetime_s;
	/* Behaviour. */
	unsigned page_size;     /* items per list page (nextLink after) */
	unsigned lro_polls;     /* 202 answers before an operation ends */
	unsigned retry_after_s; /* Retry-After on LROs */
	unsigned blob_rows;     /* cost details rows per blob (0: 500000) */
	const char *fault_plan; /* JSON fault plan file (faults.c) */
	const char *throttle;   /* throttle settings, "reads=250/25,..." */
	bool quiet;
} as_options;

/* Set every option to its default. */
void as_options_init(as_options *o);

/* Per-module state, opaque to the others. */
struct as_entra;
struct as_billing;
struct as_costdetails;
struct as_budgets;
struct as_throttle;
struct as_faults;
struct as_reqlog;
struct as_router;

struct as_server {
	as_options opt;
	pthread_mutex_t lock;
	struct as_partner *partner;
	char scheme[8]; /* "https" or "http" */
	unsigned port;  /* the bound port */
	char host[64];  /* "127.0.0.1:port", for links */
	struct as_entra *entra;
	struct as_billing *billing;
	struct as_costdetails *costdetails;
	struct as_budgets *budgets;
	struct as_throttle *throttle;
	struct as_faults *faults;
	struct as_reqlog *reqlog;
	struct as_router *router;
	void *mhd; /* struct MHD_Daemon */
	char tls_cert_pem[16384];
	char tls_key_pem[16384];
};

/* ---------------------------------------------------------------- */
/* server.c */

/* Build the state (partner, modules) from o and start listening.
 * Returns 0, or -1 with a message in err. */
int as_server_start(
	as_server **out, const as_options *o, char *err, size_t errlen);
void as_server_stop(as_server *s);

/* The base URL for links ("https://127.0.0.1:port"), into out. */
void as_server_base(const as_server *s, char *out, size_t outlen);

/* ---------------------------------------------------------------- */
/* Request helpers (server.c) */

/* A request header (case-insensitive), or NULL. */
const char *as_req_header(const as_req *req, const char *name);

/* A query parameter, percent-decoded into out; 0, or -1 when absent
 * (or longer than outlen - 1). */
int as_req_query(const as_req *req, const char *name, char *out, size_t outlen);

/* The request body as JSON; NULL and a 400 ARM error in resp when it is
 * not JSON (or not an object). */
json_t *as_req_json(const as_req *req, as_resp *resp);

/* as_req_json() keeping every number exact: each becomes a string of
 * AS_NUM_MARK and its literal text (as as_json_number_text() makes, so
 * it is written back as the same number).  A client string holding
 * U+0001 is refused with a 400; jansson's error column is left out of
 * messages, the quoting having moved it. */
json_t *as_req_json_exact(const as_req *req, as_resp *resp);

/* ---------------------------------------------------------------- */
/* Response helpers (respond.c) */

/* Add a header (copied).  Returns 0 or -1 when full. */
int as_resp_header(as_resp *resp, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A JSON body (stolen reference) with Content-Type application/json.
 * Money values put in with as_json_money() come out as exact numbers. */
void as_resp_json(as_resp *resp, int status, json_t *body);

/* ARM's error body: {"error":{"code":...,"message":...}}. */
void as_resp_arm_error(as_resp *resp, int status, const char *code,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The first character of a string that stands for an exact number. */
#define AS_NUM_MARK '\x01'

/* A JSON number holding v exactly (jansson would round it to binary):
 * a marked string that as_json_dump() turns back into a number. */
json_t *as_json_money(cb_money v);
/* The same for an exact decimal literal such as "0.15" or "20180331". */
json_t *as_json_number_text(const char *literal);

/* Serialise with money numbers restored; malloc'd, or NULL. */
char *as_json_dump(const json_t *v, size_t flags);

/* ---------------------------------------------------------------- */
/* Paging (respond.c).  A list is cut into pages of opt.page_size; the
 * page's nextLink is the request URL with $skiptoken=<offset> (absolute,
 * on this server, echoing the caller's api-version and other query
 * parameters), absent on the last page. */

/* The page of items (stolen) that req asks for, as {"value": [...],
 * "nextLink": ...}; the handler may add fields (totalCount) before
 * as_resp_json().  NULL with a 400 in resp when $skiptoken is not one
 * armsim issued. */
json_t *as_list_page(
	as_server *s, const as_req *req, as_resp *resp, json_t *items);

/* as_list_page() answered with 200 at once. */
void as_resp_page(
	as_server *s, const as_req *req, as_resp *resp, json_t *items);

/* For lists long enough that building every item for every page would
 * make a walk quadratic (thousands of customers and subscriptions): the
 * item numbers [*first, *end) the page req asks for, so the handler
 * builds only those; 0, or -1 with a 400 in resp as as_list_page(). */
int as_list_window(as_server *s, const as_req *req, as_resp *resp,
	size_t *first, size_t *end);

/* The page object for the items of that window (page, stolen) out of
 * total, the same answer as_list_page() gives for the whole list. */
json_t *as_list_window_page(as_server *s, const as_req *req, json_t *page,
	size_t end, size_t total);

/* The nextLink for the page after offset+count, into out ("" when
 * offset + count >= total).  For APIs that page inside properties
 * (Query, Forecast). */
void as_next_link(as_server *s, const as_req *req, size_t next_offset,
	size_t total, char *out, size_t outlen);

/* The offset a $skiptoken names (0 without one); -1 and a 400 in resp
 * when the token is not one armsim issued. */
long as_req_skiptoken(const as_req *req, as_resp *resp);

/* ---------------------------------------------------------------- */
/* Module hooks.  Each module file defines its routes and, when it has
 * state, init/free.  init returns 0 or -1 with a message in err. */

extern const as_route as_entra_routes[];
extern const as_route as_billing_routes[];
extern const as_route as_costdetails_routes[];
extern const as_route as_query_routes[];
extern const as_route as_budgets_routes[];
extern const as_route as_faults_routes[];
extern const as_route as_control_routes[];

int as_entra_init(as_server *s, char *err, size_t errlen);
void as_entra_free(as_server *s);
/* Check the bearer token of req; sets req->principal.  Returns 0, or -1
 * with Entra/ARM's 401 in resp. */
int as_entra_authorize(as_server *s, as_req *req, as_resp *resp);
/* An access token for the registered application, as the token endpoint
 * would issue it (for in-process tests).  Returns 0, or -1. */
int as_entra_issue(as_server *s, char *out, size_t outlen);
/* The registered application's tenant and client id (not secrets), for
 * the start-up line and /_armsim/health.  Borrowed. */
void as_entra_ids(
	const as_server *s, const char **tenant, const char **client_id);

int as_billing_init(as_server *s, char *err, size_t errlen);
void as_billing_free(as_server *s);

int as_costdetails_init(as_server *s, char *err, size_t errlen);
void as_costdetails_free(as_server *s);

int as_budgets_init(as_server *s, char *err, size_t errlen);
void as_budgets_free(as_server *s);

int as_throttle_init(as_server *s, char *err, size_t errlen);
void as_throttle_free(as_server *s);
/* Take a token for req; 0 (remaining-* headers added to resp), or -1
 * with a 429 and Retry-After in resp. */
int as_throttle_take(as_server *s, const as_req *req, as_resp *resp);

int as_faults_init(as_server *s, char *err, size_t errlen);
void as_faults_free(as_server *s);
/* A planned fault for req, before routing: 1 when resp now holds the
 * whole answer, else 0 (resp may carry delay/slow settings). */
int as_faults_before(as_server *s, const as_req *req, as_resp *resp);
/* After every answer (the handler's, an error's, a fault's): corrupt or
 * truncate the body when planned, and remember a 429 or 503 with
 * Retry-After so an early retry counts as a violation. */
void as_faults_after(as_server *s, const as_req *req, as_resp *resp);
/* Whether the plan asks for a fault a handler must act out itself, for
 * this request: "expired-link" (a blob link already past validTill),
 * "report-failed" (a cost details report ends Failed),
 * "report-nodata" (ends NoDataFound), "malformed-csv" (a blob with
 * broken rows). */
bool as_faults_flag(as_server *s, const as_req *req, const char *kind);

int as_reqlog_init(as_server *s, char *err, size_t errlen);
void as_reqlog_free(as_server *s);
/* Record a finished request (secrets redacted). */
void as_reqlog_add(as_server *s, const as_req *req, int status);
/* Count a rule the client broke: kind is a short slug such as
 * "retry-before-retry-after", "stale-etag", "expired-token",
 * "unknown-route"; detail a human sentence (no secrets). */
void as_violation(as_server *s, const as_req *req, const char *kind,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
