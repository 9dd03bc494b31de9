/*
 * tenants/ingest.c - a period's cost lines into the store
 * (include/chargeback/ingest.h): which loads a run makes, and each load
 * from begin to commit, from files or from Cost Details reports.
 *
 * Every load begins (and takes its key's lock) before any byte is read
 * or any report requested: a second run of the same period learns at once
 * that one is running, and spends none of Azure's report allowance.
 */
#include "core/common.h"
#include "core/buf.h"
#include "tenants/costfeed.h"
#include "tenants/costreport.h"
#include "tenants/session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
/* next_in points to our const input buffer. */
#define ZLIB_CONST
#include <zlib.h>

#define READ_CHUNK   (1024u * 1024u)
#define MAX_RESTARTS 2
#define FILES_SCOPE  "files"

/* One run. */
struct run {
	cb_store *store;
	const cb_ingest_options *opts;
	cb_ingest_result *result;
	cb__session *session;            /* reports only */
	cb__costreport_limiter *limiter; /* reports only */
	cb__costfeed feed;
	cb_ingest_progress progress;
	int http_status; /* of the last failed load's error */
};

static void
report_progress(struct run *r, const char *phase)
{
	if (r->opts->progress == NULL)
		return;
	r->progress.phase = phase;
	r->progress.bytes = r->feed.bytes;
	r->progress.rows = r->feed.rows;
	r->opts->progress(&r->progress, r->opts->progress_payload);
}

static void
tick(void *payload)
{
	report_progress(payload, "loading");
}

/* ---- the result ---- */

static cb_ingest_load *
add_load(struct run *r, const char *scope, cb_cost_metric metric)
{
	cb_ingest_result *res = r->result;
	cb_ingest_load *l;

	l = cb__reallocarray(res->loads, res->count + 1, sizeof(*l));
	if (l == NULL)
		return NULL;
	res->loads = l;
	l = &res->loads[res->count];
	memset(l, 0, sizeof(*l));
	if ((l->scope = cb__strdup(scope)) == NULL)
		return NULL;
	l->metric = metric;
	res->count++;
	return l;
}

static int
load_failed(struct run *r, cb_ingest_load *l, int error)
{
	const cb_error *e = cb_error_last();

	r->http_status = e ? e->http_status : 0;
	l->error = error;
	cb__free(l->message);
	l->message = cb__strdup(
		e && e->message[0] ? e->message : cb_strerror(error));
	r->result->failed++;
	return error;
}

void
cb_ingest_result_dispose(cb_ingest_result *result)
{
	if (result == NULL)
		return;
	for (size_t i = 0; i < result->count; i++) {
		cb_ingest_load *l = &result->loads[i];

		cb__free(l->scope);
		cb__free(l->source);
		cb__free(l->message);
		cb_cost_totals_dispose(&l->totals);
	}
	cb__free(result->loads);
	memset(result, 0, sizeof(*result));
}

/* ---- files ---- */

static bool
is_gzip(const unsigned char *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Inflate gzip members (a file may hold several, concatenated) into the
 * feed. */
static int
feed_gzip(struct run *r, z_stream *z, const unsigned char *in, size_t len,
	unsigned char *out, const char *path)
{
	int zrc, error;

	z->next_in = in;
	z->avail_in = (uInt)len;
	while (z->avail_in > 0) {
		z->next_out = out;
		z->avail_out = READ_CHUNK;
		zrc = inflate(z, Z_NO_FLUSH);
		if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
				"%s: not a valid gzip file (%s)", path,
				z->msg ? z->msg : "inflate failed");
		error = cb__costfeed_data(
			&r->feed, (const char *)out, READ_CHUNK - z->avail_out);
		if (error < 0)
			return error;
		if (zrc == Z_STREAM_END && inflateReset(z) != Z_OK)
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
				"%s: not a valid gzip file", path);
		if (zrc == Z_BUF_ERROR && z->avail_out != 0)
			break;
	}
	return 0;
}

static int
read_fd(struct run *r, int fd, const char *path, unsigned char *in,
	unsigned char *out)
{
	z_stream z;
	bool gz = false, first = true, z_open = false;
	ssize_t n;
	int error = 0;

	memset(&z, 0, sizeof(z));
	while ((n = read(fd, in, READ_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
				"%s: read: %s", path, strerror(errno));
			break;
		}
		if (first && (gz = is_gzip(in, (size_t)n))) {
			if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
				error = cb__error_set(CB_ENOMEM,
					CB_ERRCLASS_NOMEMORY,
					"%s: cannot start gzip", path);
				break;
			}
			z_open = true;
		}
		first = false;
		error = gz ? feed_gzip(r, &z, in, (size_t)n, out, path)
			   : cb__costfeed_data(
				     &r->feed, (const char *)in, (size_t)n);
		if (error < 0)
			break;
	}
	/* A gzip stream cut short is a truncated file, not a short one. */
	if (error == 0 && gz && z.avail_in == 0 && z.total_in > 0 &&
		z.total_out > 0 && inflate(&z, Z_FINISH) == Z_BUF_ERROR)
		error = cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s: the gzip stream is truncated", path);
	if (z_open)
		inflateEnd(&z);
	return error;
}

static int
feed_file(
	struct run *r, const char *path, unsigned char *in, unsigned char *out)
{
	int fd, error;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cb__error_set(CB_EIO, CB_ERRCLASS_OS, "%s: %s", path,
			strerror(errno));
	error = cb__costfeed_begin(&r->feed, path);
	if (error == 0)
		error = read_fd(r, fd, path, in, out);
	if (error == 0)
		error = cb__costfeed_end(&r->feed);
	close(fd);
	return error;
}

static int64_t
files_size(const cb_ingest_options *o)
{
	int64_t total = 0;
	struct stat st;

	for (size_t i = 0; i < o->file_count; i++) {
		if (stat(o->files[i], &st) < 0)
			return -1;
		total += st.st_size;
	}
	return total;
}

static int
feed_files(struct run *r)
{
	const cb_ingest_options *o = r->opts;
	unsigned char *in = cb__malloc(READ_CHUNK);
	unsigned char *out = cb__malloc(READ_CHUNK);
	int error = 0;

	if (in == NULL || out == NULL)
		error = CB_ENOMEM;
	for (size_t i = 0; error == 0 && i < o->file_count; i++)
		error = feed_file(r, o->files[i], in, out);
	cb__free(in);
	cb__free(out);
	return error;
}

/* "file a.csv, b.csv.gz" (base names). */
static char *
files_source(const cb_ingest_options *o)
{
	cb_buf b = CB_BUF_INIT;

	cb__buf_puts(&b, o->file_count == 1 ? "file " : "files ");
	for (size_t i = 0; i < o->file_count; i++) {
		const char *slash = strrchr(o->files[i], '/');

		if (i)
			cb__buf_puts(&b, ", ");
		cb__buf_puts(&b, slash ? slash + 1 : o->files[i]);
	}
	return cb__buf_detach(&b);
}

/* ---- one load ---- */

typedef int (*fill_fn)(struct run *r, cb_ingest_load *l);

/* The load's key scope: the report's scope, or the files' name.  An
 * invoice's or a billing period's lines are only part of the month, so
 * they are loads of their own, never replacing the month's. */
static int
key_scope(cb_buf *out, const struct run *r, const cb_ingest_load *l)
{
	const cb_ingest_options *o = r->opts;

	if (o->file_count == 0 && o->invoice_id)
		return cb__buf_printf(
			out, "%s invoice %s", l->scope, o->invoice_id);
	if (o->file_count == 0 && o->billing_period)
		return cb__buf_printf(out, "%s billing period %s", l->scope,
			o->billing_period);
	return cb__buf_puts(out, l->scope);
}

/* Begin the key's load, fill it, commit it; a CB_ECONFLICT from fill
 * (a report's links expired mid-download) starts the load over. */
static int
run_load(struct run *r, cb_ingest_load *l, const char *source, fill_fn fill)
{
	cb_cost_load_key key = { NULL, r->opts->period, l->metric, source };
	cb_buf name = CB_BUF_INIT;
	cb_cost_load *load = NULL;
	int error, attempt = 0;

	if ((l->source = cb__strdup(source)) == NULL ||
		key_scope(&name, r, l) < 0) {
		error = CB_ENOMEM;
		goto done;
	}
	key.scope = name.ptr;
	do {
		if ((error = cb_store_cost_load_begin(&load, r->store, &key)) <
			0)
			goto done;
		error = cb__costfeed_init(&r->feed, load, r->opts->period);
		r->feed.tick = tick;
		r->feed.tick_payload = r;
		if (error == 0)
			error = fill(r, l);
		cb__costfeed_dispose(&r->feed);
		if (error < 0 || l->no_data) {
			cb_store_cost_load_abort(load);
			load = NULL;
		}
	} while (error == CB_ECONFLICT && ++attempt <= MAX_RESTARTS);
	if (error == 0 && load) {
		report_progress(r, "committing");
		error = cb_store_cost_load_commit(load, &l->totals);
	}
done:
	cb_buf_dispose(&name);
	return error < 0 ? load_failed(r, l, error) : 0;
}

static int
fill_from_files(struct run *r, cb_ingest_load *l)
{
	CB_UNUSED(l);
	return feed_files(r);
}

/* ---- reports ---- */

static int
sink_begin(uint32_t part, const char *source, int64_t bytes, void *payload)
{
	struct run *r = payload;

	CB_UNUSED(part);
	/* The total grows as blobs begin: a manifest's sizes are known
	 * blob by blob here. */
	if (bytes >= 0)
		r->progress.bytes_total =
			(r->progress.bytes_total < 0
					? 0
					: r->progress.bytes_total) +
			bytes;
	report_progress(r, "downloading");
	return cb__costfeed_begin(&r->feed, source);
}

static int
sink_data(const char *data, size_t len, void *payload)
{
	struct run *r = payload;

	return cb__costfeed_data(&r->feed, data, len);
}

static int
sink_end(uint32_t part, void *payload)
{
	struct run *r = payload;

	CB_UNUSED(part);
	return cb__costfeed_end(&r->feed);
}

/* The load's source becomes "report <operation id>". */
static int
name_source(cb_ingest_load *l, const char *operation_id)
{
	cb_buf b = CB_BUF_INIT;

	if (cb__buf_printf(&b, "report %s", operation_id) < 0)
		return CB_ENOMEM;
	cb__free(l->source);
	l->source = cb__buf_detach(&b);
	return 0;
}

static int
fill_from_report(struct run *r, cb_ingest_load *l)
{
	const cb_ingest_options *o = r->opts;
	cb__costreport_request req = { l->scope, l->metric, NULL, o->invoice_id,
		o->billing_period };
	cb__costreport_sink sink = { sink_begin, sink_data, sink_end, r };
	cb__costreport_info info;
	int error;

	if (o->invoice_id == NULL && o->billing_period == NULL)
		req.period = o->period;
	memset(&info, 0, sizeof(info));
	r->progress.bytes_total = -1;
	report_progress(r, "requesting");
	error = cb__costreport_fetch(
		r->session, r->limiter, &req, &sink, &info);
	if (error == 0) {
		l->no_data = info.no_data;
		if (info.operation_id[0])
			error = name_source(l, info.operation_id);
	}
	return error;
}

/* ---- which loads ---- */

static int
add_scope(const char *id, void *payload)
{
	cb_buf *scopes = payload;

	return cb__buf_printf(scopes,
		"/providers/Microsoft.Billing/"
		"billingAccounts/%s%c",
		id, '\0');
}

/* The report scopes, NUL-separated in *out: --scope, else the
 * configuration's billing accounts, else those sync recorded. */
static int
report_scopes(cb_buf *out, struct run *r, const cb_config *cfg)
{
	size_t n = cb_config_billing_account_count(cfg);
	int error = 0;

	if (r->opts->scope)
		return cb__buf_put(
			out, r->opts->scope, strlen(r->opts->scope) + 1);
	for (size_t i = 0; error == 0 && i < n; i++)
		error = add_scope(cb_config_billing_account(cfg, i), out);
	if (error == 0 && n == 0)
		error = cb_store_billing_accounts(r->store, add_scope, out);
	if (error == 0 && out->size == 0)
		error = cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_CONFIG,
			"no billing account to report on: name them in "
			"billing_accounts, run 'chargeback sync' first, or "
			"give --scope");
	return error;
}

static unsigned
metric_count(unsigned metrics)
{
	return (metrics & 1u) + ((metrics >> 1) & 1u);
}

/* Forget load i of the result: narrower loads replaced it. */
static void
remove_load(struct run *r, size_t i)
{
	cb_ingest_result *res = r->result;
	cb_ingest_load *l = &res->loads[i];

	if (l->error)
		res->failed--;
	cb__free(l->scope);
	cb__free(l->source);
	cb__free(l->message);
	cb_cost_totals_dispose(&l->totals);
	memmove(l, l + 1, (res->count - i - 1) * sizeof(*l));
	res->count--;
}

struct narrower {
	struct run *r;
	const char *account_scope;
	cb_cost_metric metric;
	size_t count;
};

static int report_load(struct run *r, const char *scope, cb_cost_metric metric,
	bool may_narrow);

static int
profile_load(const char *id, void *payload)
{
	struct narrower *n = payload;
	cb_buf scope = CB_BUF_INIT;
	int error;

	if (cb__buf_printf(
		    &scope, "%s/billingProfiles/%s", n->account_scope, id) < 0)
		return CB_ENOMEM;
	n->r->progress.load_count++;
	error = report_load(n->r, scope.ptr, n->metric, false);
	cb_buf_dispose(&scope);
	n->count++;
	return error;
}

/* An account's report refused (403): one per billing profile instead,
 * when sync knows the profiles; else the refusal stays the answer. */
static int
narrow_to_profiles(struct run *r, const char *scope, cb_cost_metric metric)
{
	struct narrower n = { r, scope, metric, 0 };
	size_t refused = r->result->count - 1;
	int error;

	error = cb_store_billing_profiles(
		r->store, strrchr(scope, '/') + 1, profile_load, &n);
	if (n.count > 0)
		remove_load(r, refused);
	return error;
}

static int
report_load(struct run *r, const char *scope, cb_cost_metric metric,
	bool may_narrow)
{
	cb_ingest_load *l = add_load(r, scope, metric);

	if (l == NULL)
		return CB_ENOMEM;
	r->progress.scope = l->scope;
	r->progress.metric = metric;
	r->http_status = 0;
	if (run_load(r, l, "report", fill_from_report) < 0 && may_narrow &&
		r->http_status == 403)
		return narrow_to_profiles(r, scope, metric);
	r->progress.load_index++;
	return 0;
}

/* Azure reports an invoice at billing profile (or customer) scope only:
 * an account's invoice is looked for in each of its profiles. */
static int
invoice_loads(struct run *r, const char *scope, cb_cost_metric metric)
{
	struct narrower n = { r, scope, metric, 0 };
	int error;

	r->progress.load_count--;
	error = cb_store_billing_profiles(
		r->store, strrchr(scope, '/') + 1, profile_load, &n);
	if (error == 0 && n.count == 0)
		error = cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_CONFIG,
			"%s: no billing profile known to look for invoice %s "
			"in: run 'chargeback sync' first, or give --scope "
			"with the invoice's billing profile",
			scope, r->opts->invoice_id);
	return error;
}

static int
run_reports(struct run *r, const cb_config *cfg)
{
	cb__costreport_limits limits = CB__COSTREPORT_LIMITS_INIT;
	cb_buf scopes = CB_BUF_INIT;
	unsigned metrics = r->opts->metrics ? r->opts->metrics : 1u;
	const char *end;
	int error;

	if ((error = report_scopes(&scopes, r, cfg)) < 0 ||
		(error = cb__session_open(&r->session, cfg)) < 0 ||
		(error = cb__costreport_limiter_new(&r->limiter, &limits)) < 0)
		goto done;
	end = scopes.ptr + scopes.size;
	for (const char *s = scopes.ptr; s < end; s += strlen(s) + 1)
		r->progress.load_count += metric_count(metrics);
	for (const char *s = scopes.ptr; s < end && error == 0;
		s += strlen(s) + 1)
		for (int m = 0; m < 2 && error == 0; m++)
			if (!(metrics & (1u << m)))
				continue;
			else if (r->opts->invoice_id && !r->opts->scope)
				error = invoice_loads(r, s, (cb_cost_metric)m);
			else
				error = report_load(r, s, (cb_cost_metric)m,
					r->opts->scope == NULL);
done:
	cb_buf_dispose(&scopes);
	return error;
}

static int
run_files(struct run *r)
{
	const cb_ingest_options *o = r->opts;
	cb_cost_metric metric = o->metrics == (1u << CB_COST_AMORTIZED)
					? CB_COST_AMORTIZED
					: CB_COST_ACTUAL;
	cb_ingest_load *l;
	char *source;

	if (metric_count(o->metrics) > 1)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"a cost file holds one metric: choose actual or "
			"amortized");
	if ((l = add_load(r, o->scope ? o->scope : FILES_SCOPE, metric)) ==
			NULL ||
		(source = files_source(o)) == NULL)
		return CB_ENOMEM;
	r->progress.scope = l->scope;
	r->progress.metric = metric;
	r->progress.load_count = 1;
	r->progress.bytes_total = files_size(o);
	run_load(r, l, source, fill_from_files);
	cb__free(source);
	return 0;
}

int
cb_ingest_run(cb_store *store, const cb_config *config,
	const cb_ingest_options *opts, cb_ingest_result *result)
{
	struct run r;
	int32_t first, last;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(config);
	CB_ASSERT_ARG(opts);
	CB_ASSERT_ARG(result);
	memset(result, 0, sizeof(*result));
	if ((error = cb__period_days(opts->period, &first, &last)) < 0)
		return error;
	if (opts->metrics & ~3u)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"unknown metric bits %#x", opts->metrics);
	memset(&r, 0, sizeof(r));
	r.store = store;
	r.opts = opts;
	r.result = result;
	error = opts->file_count ? run_files(&r) : run_reports(&r, config);
	cb__costreport_limiter_free(r.limiter);
	cb__session_close(r.session);
	if (error < 0)
		return error;
	if (result->failed)
		return cb__error_set(CB_ERROR, CB_ERRCLASS_NONE,
			"%zu of %zu loads failed", result->failed,
			result->count);
	return 0;
}
