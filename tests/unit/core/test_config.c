/*
 * tests/unit/core/test_config.c - loading and validating chargeback.cfg.
 *
 * Most cases are data: tests/data/config/<case>/ holds chargeback.cfg and
 * either "error" (the exact message; the code must be CB_ECONFIG) or
 * "expected" (a dump of every accessor, see config_dump()), and optionally
 * "env" (NAME=value to set, or NAME alone to unset, for the case only).
 * Adding a case is adding a folder.  No message may contain "hunter2", the
 * secret every case uses.  The functions here cover what data cannot: file
 * permissions, files that cannot be read, the hash, allocation failures
 * and the example configuration.
 */
#include "core/common.h"
#include "core/buf.h"
#include "core/config.h"
#include "tests/support/testsupport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* The secret value every test configuration uses. */
#define SECRET_MARK "hunter2"

/* ---- helpers ------------------------------------------------------------ */

/* Read a whole file into a NUL-terminated string (caller frees), or NULL
 * if it does not exist. */
static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	cb_buf b = CB_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(0, cb__buf_put(&b, chunk, n));
	fclose(f);
	return cb__buf_detach(&b);
}

/* Replace path with text, then set its mode (not via umask: exact). */
static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(len, fwrite(text, 1, len, f));
	assert_int_equal(0, fclose(f));
	assert_int_equal(0, chmod(path, mode));
}

static void
make_temp_dir(char *out, size_t outlen)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(
		out, outlen, "%s/cb-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(out));
}

static void
remove_temp(const char *dir, const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	unlink(path);
}

/* Strip one trailing newline (files end with one). */
static void
chomp(char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
}

static void
dump_string(cb_buf *b, const char *key, const char *v)
{
	if (v == NULL)
		cb__buf_printf(b, "%s = NULL\n", key);
	else
		cb__buf_printf(b, "%s = \"%s\"\n", key, v);
}

/*
 * Every accessor's value, then "line <key> = N" for every key the source
 * sets (sections before their keys), in schema order.
 */
static char *
config_dump(const cb_config *cfg)
{
	const cb_azure_config *az = cb_config_azure(cfg);
	const cb_http_config *http = cb_config_http(cfg);
	const cb_log_config *log = cb_config_log(cfg);
	cb_buf b = CB_BUF_INIT;
	char section[64] = "";
	const char *key;

	dump_string(&b, "source", cb_config_source(cfg));
	dump_string(&b, "database.dsn", cb_config_dsn(cfg));
	cb__buf_printf(
		&b, "azure.cloud = %d \"%s\"\n", az->cloud, az->cloud_name);
	dump_string(&b, "azure.tenant_id", az->tenant_id);
	dump_string(&b, "azure.client_id", az->client_id);
	dump_string(&b, "azure.client_secret", az->client_secret);
	dump_string(&b, "azure.client_secret_env", az->client_secret_env);
	dump_string(&b, "azure.certificate_path", az->certificate_path);
	cb__buf_printf(&b, "azure.assertion_algorithm = %d\n",
		az->assertion_algorithm);
	cb__buf_printf(&b, "azure.managed_identity = %s\n",
		az->managed_identity ? "true" : "false");
	dump_string(&b, "azure.managed_identity_client_id",
		az->managed_identity_client_id);
	dump_string(&b, "azure.access_token_file", az->access_token_file);
	dump_string(&b, "azure.authority_host", az->authority_host);
	dump_string(&b, "azure.management_endpoint", az->management_endpoint);
	dump_string(&b, "azure.ca_file", az->ca_file);
	cb__buf_printf(
		&b, "http.timeout_seconds = %d\n", http->timeout_seconds);
	cb__buf_printf(&b, "http.connect_timeout_seconds = %d\n",
		http->connect_timeout_seconds);
	cb__buf_printf(&b, "http.max_attempts = %d\n", http->max_attempts);
	cb__buf_printf(
		&b, "http.deadline_seconds = %d\n", http->deadline_seconds);
	cb__buf_printf(&b, "http.max_parallel = %d\n", http->max_parallel);
	cb__buf_printf(&b, "log.level = %d\n", log->level);
	cb__buf_printf(&b, "log.format = %d\n", log->format);
	cb__buf_printf(&b, "billing_accounts = %zu\n",
		cb_config_billing_account_count(cfg));
	for (size_t i = 0; i < cb_config_billing_account_count(cfg); i++)
		cb__buf_printf(&b, "billing_accounts[%zu] = \"%s\"\n", i,
			cb_config_billing_account(cfg, i));
	assert_null(cb_config_billing_account(
		cfg, cb_config_billing_account_count(cfg)));
	for (size_t i = 0; (key = cb__config_schema_key(i)) != NULL; i++) {
		const char *dot = strchr(key, '.');

		if (dot != NULL && (strlen(section) != (size_t)(dot - key) ||
					   strncmp(section, key,
						   (size_t)(dot - key)) != 0)) {
			snprintf(section, sizeof(section), "%.*s",
				(int)(dot - key), key);
			if (cb_config_key_line(cfg, section) > 0)
				cb__buf_printf(&b, "line %s = %u\n", section,
					cb_config_key_line(cfg, section));
		}
		if (cb_config_key_line(cfg, key) > 0)
			cb__buf_printf(&b, "line %s = %u\n", key,
				cb_config_key_line(cfg, key));
	}
	return cb__buf_detach(&b);
}

/* Apply a case's env file, or with restore, unset every name it names. */
static void
env_apply(const char *env, bool restore)
{
	char line[512];
	const char *p = env;

	while (p != NULL && *p) {
		size_t n = strcspn(p, "\n");
		char *eq;

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
		if (line[0] == '\0')
			continue;
		eq = strchr(line, '=');
		if (eq != NULL)
			*eq = '\0';
		if (restore || eq == NULL)
			assert_int_equal(0, unsetenv(line));
		else
			assert_int_equal(0, setenv(line, eq + 1, 1));
	}
}

/* Run one case folder; returns 0 if it passed, 1 after printing why. */
static int
run_case(const char *dir, const char *name)
{
	char path[1024];
	char *text, *error, *expected, *env, *got = NULL;
	cb_config *cfg = NULL;
	int rc, failed = 0;

	snprintf(path, sizeof(path), "%s/%s/chargeback.cfg", dir, name);
	text = read_text(path);
	snprintf(path, sizeof(path), "%s/%s/error", dir, name);
	error = read_text(path);
	snprintf(path, sizeof(path), "%s/%s/expected", dir, name);
	expected = read_text(path);
	snprintf(path, sizeof(path), "%s/%s/env", dir, name);
	env = read_text(path);
	if (text == NULL || (error == NULL) == (expected == NULL)) {
		fprintf(stderr,
			"%s: needs chargeback.cfg and one of error, "
			"expected\n",
			name);
		failed = 1;
		goto done;
	}
	env_apply(env, false);
	rc = cb_config_load_string(&cfg, text, "chargeback.cfg");
	env_apply(env, true);
	if (error != NULL) {
		chomp(error);
		if (rc != CB_ECONFIG || cfg != NULL ||
			cb_error_last()->klass != CB_ERRCLASS_CONFIG ||
			strcmp(cb_error_last()->message, error) != 0) {
			fprintf(stderr,
				"%s: want ECONFIG '%s'\n"
				"%s:  got %s '%s'\n",
				name, error, name, cb_error_name(rc),
				cb_error_last()->message);
			failed = 1;
		}
		if (strstr(cb_error_last()->message, SECRET_MARK) != NULL) {
			fprintf(stderr,
				"%s: the secret leaked into the message\n",
				name);
			failed = 1;
		}
	} else if (rc != 0) {
		fprintf(stderr, "%s: want success, got %s '%s'\n", name,
			cb_error_name(rc), cb_error_last()->message);
		failed = 1;
	} else if (strcmp(got = config_dump(cfg), expected) != 0) {
		fprintf(stderr, "%s: want\n%s%s: got\n%s", name, expected, name,
			got);
		failed = 1;
	}
done:
	cb_config_free(cfg);
	cb__free(got);
	cb__free(text);
	cb__free(error);
	cb__free(expected);
	cb__free(env);
	return failed;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_config_data_cases(void **state)
{
	char dir[512];
	char *names[512];
	size_t count = 0;
	int failed = 0;
	struct dirent *e;
	DIR *d;

	(void)state;
	snprintf(
		dir, sizeof(dir), "%s/tests/data/config", cb_test_source_dir());
	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		assert_true(count < CB_ARRAY_SIZE(names));
		names[count++] = cb__strdup(e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(names[0]), compare_names);
	/* Every error class of the brief has cases; fewer means the data
	 * folder was not found or lost cases. */
	assert_true(count >= 80);
	for (size_t i = 0; i < count; i++) {
		failed += run_case(dir, names[i]);
		cb__free(names[i]);
	}
	if (failed)
		fail_msg("%d of %zu config cases failed", failed, count);
}

static void
test_config_full_values(void **state)
{
	static const char text[] =
		"database = { dsn = \"host=/tmp dbname=cb\"; };\n"
		"azure = {\n"
		"  cloud = \"china\";\n"
		"  tenant_id = \"contoso.onmicrosoft.com\";\n"
		"  client_id = \"00000000-1111-2222-3333-444444444444\";\n"
		"  client_secret = \"s3cr3t\";\n"
		"  certificate_path = \"/c.pem\";\n"
		"  assertion_algorithm = \"RS256\";\n"
		"  managed_identity = true;\n"
		"  managed_identity_client_id = "
		"\"55555555-6666-7777-8888-999999999999\";\n"
		"  access_token_file = \"/t\";\n"
		"  authority_host = \"https://login.chinacloudapi.cn\";\n"
		"  management_endpoint = \"https://management.chinacloudapi.cn\";\n"
		"  ca_file = \"/ca.pem\";\n"
		"};\n"
		"http = { timeout_seconds = 50; connect_timeout_seconds = 5;\n"
		"  max_attempts = 3; deadline_seconds = 900; max_parallel = 2; };\n"
		"log = { level = \"debug\"; format = \"json\"; };\n"
		"billing_accounts = [ \"b1\", \"b2\", \"b3\" ];\n";
	const cb_azure_config *az;
	const cb_http_config *http;
	const cb_log_config *log;
	cb_config *cfg = NULL;

	(void)state;
	assert_int_equal(0, cb_config_load_string(&cfg, text, "full.cfg"));
	assert_string_equal("full.cfg", cb_config_source(cfg));
	assert_string_equal("host=/tmp dbname=cb", cb_config_dsn(cfg));
	az = cb_config_azure(cfg);
	assert_int_equal(CB_AZURE_CLOUD_CHINA, az->cloud);
	assert_string_equal("china", az->cloud_name);
	assert_string_equal("contoso.onmicrosoft.com", az->tenant_id);
	assert_string_equal(
		"00000000-1111-2222-3333-444444444444", az->client_id);
	assert_string_equal("s3cr3t", az->client_secret);
	assert_null(az->client_secret_env);
	assert_string_equal("/c.pem", az->certificate_path);
	assert_int_equal(1, az->assertion_algorithm);
	assert_true(az->managed_identity);
	assert_string_equal("55555555-6666-7777-8888-999999999999",
		az->managed_identity_client_id);
	assert_string_equal("/t", az->access_token_file);
	assert_string_equal(
		"https://login.chinacloudapi.cn", az->authority_host);
	assert_string_equal(
		"https://management.chinacloudapi.cn", az->management_endpoint);
	assert_string_equal("/ca.pem", az->ca_file);
	http = cb_config_http(cfg);
	assert_int_equal(50, http->timeout_seconds);
	assert_int_equal(5, http->connect_timeout_seconds);
	assert_int_equal(3, http->max_attempts);
	assert_int_equal(900, http->deadline_seconds);
	assert_int_equal(2, http->max_parallel);
	log = cb_config_log(cfg);
	assert_int_equal(CB_LOG_DEBUG, log->level);
	assert_int_equal(CB_LOG_FORMAT_JSON, log->format);
	assert_int_equal(3, cb_config_billing_account_count(cfg));
	assert_string_equal("b1", cb_config_billing_account(cfg, 0));
	assert_string_equal("b2", cb_config_billing_account(cfg, 1));
	assert_string_equal("b3", cb_config_billing_account(cfg, 2));
	assert_null(cb_config_billing_account(cfg, 3));
	assert_int_equal(1, cb_config_key_line(cfg, "database.dsn"));
	assert_int_equal(7, cb_config_key_line(cfg, "azure.certificate_path"));
	assert_int_equal(17, cb_config_key_line(cfg, "http.max_parallel"));
	assert_int_equal(19, cb_config_key_line(cfg, "billing_accounts"));
	assert_int_equal(0, cb_config_key_line(cfg, "azure.client_secret_env"));
	assert_int_equal(0, cb_config_key_line(cfg, "no.such.key"));
	cb_config_free(cfg);
}

static void
test_config_defaults_and_null_arguments(void **state)
{
	cb_config *cfg = NULL;

	(void)state;
	assert_int_equal(0, cb_config_load_string(&cfg, "", NULL));
	assert_string_equal("<string>", cb_config_source(cfg));
	assert_null(cb_config_dsn(cfg));
	assert_int_equal(CB_AZURE_CLOUD_PUBLIC, cb_config_azure(cfg)->cloud);
	assert_string_equal("public", cb_config_azure(cfg)->cloud_name);
	assert_int_equal(0, cb_config_azure(cfg)->assertion_algorithm);
	assert_false(cb_config_azure(cfg)->managed_identity);
	assert_int_equal(120, cb_config_http(cfg)->timeout_seconds);
	assert_int_equal(10, cb_config_http(cfg)->connect_timeout_seconds);
	assert_int_equal(6, cb_config_http(cfg)->max_attempts);
	assert_int_equal(600, cb_config_http(cfg)->deadline_seconds);
	assert_int_equal(8, cb_config_http(cfg)->max_parallel);
	assert_int_equal(CB_LOG_WARN, cb_config_log(cfg)->level);
	assert_int_equal(CB_LOG_FORMAT_TEXT, cb_config_log(cfg)->format);
	assert_int_equal(0, cb_config_billing_account_count(cfg));
	assert_null(cb_config_billing_account(cfg, 0));
	assert_int_equal(0, cb_config_key_line(cfg, NULL));
	cb_config_free(cfg);

	assert_int_equal(CB_EINVAL, cb_config_load_string(NULL, "", "x"));
	assert_string_equal("cb_config_load_string: invalid argument: out",
		cb_error_last()->message);
	cfg = NULL;
	assert_int_equal(CB_EINVAL, cb_config_load_string(&cfg, NULL, "x"));
	assert_null(cfg);
	assert_int_equal(CB_EINVAL, cb_config_load(&cfg, NULL));
	assert_int_equal(CB_EINVAL, cb_config_load(NULL, "x.cfg"));
	assert_null(cb_config_source(NULL));
	assert_null(cb_config_dsn(NULL));
	assert_null(cb_config_azure(NULL));
	assert_null(cb_config_http(NULL));
	assert_null(cb_config_log(NULL));
	assert_int_equal(0, cb_config_billing_account_count(NULL));
	assert_null(cb_config_billing_account(NULL, 0));
	assert_int_equal(0, cb_config_key_line(NULL, "azure"));
	cb_config_free(NULL);
}

static void
test_config_env_secret_resolved_at_load(void **state)
{
	static const char text[] =
		"azure = { client_secret_env = \"CB_TEST_CONFIG_SECRET\"; };\n";
	cb_config *cfg = NULL;

	(void)state;
	assert_int_equal(0, setenv("CB_TEST_CONFIG_SECRET", "v@lue=1", 1));
	assert_int_equal(0, cb_config_load_string(&cfg, text, "env.cfg"));
	/* Changing the variable afterwards changes nothing: read once. */
	assert_int_equal(0, setenv("CB_TEST_CONFIG_SECRET", "other", 1));
	assert_string_equal("v@lue=1", cb_config_azure(cfg)->client_secret);
	assert_string_equal("CB_TEST_CONFIG_SECRET",
		cb_config_azure(cfg)->client_secret_env);
	cb_config_free(cfg);

	assert_int_equal(0, unsetenv("CB_TEST_CONFIG_SECRET"));
	cfg = NULL;
	assert_int_equal(
		CB_ECONFIG, cb_config_load_string(&cfg, text, "env.cfg"));
	assert_null(cfg);
	assert_string_equal(
		"env.cfg:1: environment variable 'CB_TEST_CONFIG_SECRET' "
		"named by 'azure.client_secret_env' is not set",
		cb_error_last()->message);
}

static const char secret_cfg[] = "azure = {\n"
				 "  tenant_id = \"contoso.onmicrosoft.com\";\n"
				 "  client_secret = \"hunter2\";\n"
				 "};\n";

/* Load dir/name written with mode; returns the code. */
static int
load_with_mode(const char *dir, const char *name, const char *text, mode_t mode,
	char *path, size_t pathlen)
{
	cb_config *cfg = NULL;
	int rc;

	snprintf(path, pathlen, "%s/%s", dir, name);
	write_file(path, text, strlen(text), mode);
	rc = cb_config_load(&cfg, path);
	if (rc == 0)
		assert_non_null(cfg);
	else
		assert_null(cfg);
	cb_config_free(cfg);
	return rc;
}

static void
test_config_file_permissions(void **state)
{
	char dir[256], path[512], want[2048];
	static const char env_cfg[] =
		"azure = { client_secret_env = \"CB_TEST_CONFIG_SECRET\"; };\n";
	static const char dsn_cfg[] =
		"database = { dsn = \"host=db password=hunter2\"; };\n";
	static const char uri_cfg[] =
		"database = { dsn = \"postgresql://cb:hunter2@db/cb\"; };\n";
	static const char query_cfg[] = "database = { dsn = "
					"\"postgres://db/cb?sslmode=require&"
					"password=hunter2\"; };\n";
	static const char nopw_cfg[] =
		"database = { dsn = \"postgresql://cb@db/cb?passfile=/p\"; };\n";

	(void)state;
	make_temp_dir(dir, sizeof(dir));

	/* A literal secret: 600 is fine, any group/other bit is not. */
	assert_int_equal(0, load_with_mode(dir, "chargeback.cfg", secret_cfg,
				    0600, path, sizeof(path)));
	assert_int_equal(0, load_with_mode(dir, "chargeback.cfg", secret_cfg,
				    0400, path, sizeof(path)));
	assert_int_equal(
		CB_ESECURITY, load_with_mode(dir, "chargeback.cfg", secret_cfg,
				      0644, path, sizeof(path)));
	snprintf(want, sizeof(want),
		"%s: holds a client secret but is readable by group or "
		"others (chmod 600 %s)",
		path, path);
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_CONFIG, cb_error_last()->klass);
	assert_int_equal(
		CB_ESECURITY, load_with_mode(dir, "chargeback.cfg", secret_cfg,
				      0640, path, sizeof(path)));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(
		CB_ESECURITY, load_with_mode(dir, "chargeback.cfg", secret_cfg,
				      0604, path, sizeof(path)));

	/* Naming the variable holds no secret: 644 is fine. */
	assert_int_equal(0, setenv("CB_TEST_CONFIG_SECRET", "hunter2", 1));
	assert_int_equal(0, load_with_mode(dir, "chargeback.cfg", env_cfg, 0644,
				    path, sizeof(path)));
	assert_int_equal(0, unsetenv("CB_TEST_CONFIG_SECRET"));

	/* A password in the DSN, in each of libpq's spellings. */
	assert_int_equal(CB_ESECURITY, load_with_mode(dir, "db.cfg", dsn_cfg,
					       0644, path, sizeof(path)));
	snprintf(want, sizeof(want),
		"%s: holds a database password but is readable by group or "
		"others (chmod 600 %s)",
		path, path);
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(CB_ESECURITY, load_with_mode(dir, "db.cfg", uri_cfg,
					       0644, path, sizeof(path)));
	assert_int_equal(CB_ESECURITY, load_with_mode(dir, "db.cfg", query_cfg,
					       0640, path, sizeof(path)));
	assert_int_equal(0, load_with_mode(dir, "db.cfg", dsn_cfg, 0600, path,
				    sizeof(path)));
	assert_int_equal(0, load_with_mode(dir, "db.cfg", nopw_cfg, 0644, path,
				    sizeof(path)));

	/* Writable by others: refused even without a secret. */
	assert_int_equal(CB_ESECURITY, load_with_mode(dir, "open.cfg",
					       "log = { level = \"info\"; };\n",
					       0646, path, sizeof(path)));
	snprintf(want, sizeof(want), "%s: is writable by others (chmod o-w %s)",
		path, path);
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(0, load_with_mode(dir, "open.cfg",
				    "log = { level = \"info\"; };\n", 0664,
				    path, sizeof(path)));

	/* The check runs on a valid file only; errors come first. */
	assert_int_equal(CB_ECONFIG,
		load_with_mode(dir, "bad.cfg",
			"azure = { client_secret = \"hunter2\"; x = 1; };\n",
			0644, path, sizeof(path)));
	snprintf(want, sizeof(want), "%s:1: unknown key 'azure.x'", path);
	assert_string_equal(want, cb_error_last()->message);

	remove_temp(dir, "chargeback.cfg");
	remove_temp(dir, "db.cfg");
	remove_temp(dir, "open.cfg");
	remove_temp(dir, "bad.cfg");
	assert_int_equal(0, rmdir(dir));
}

static void
test_config_unreadable_files(void **state)
{
	static const char nul_text[] = "log = {\n level = \"info\"; \0 };\n";
	static const char syntax_text[] = "log = {\n\n level = ;\n};\n";
	char dir[256], path[512], want[2048];
	cb_config *cfg = NULL;

	(void)state;
	make_temp_dir(dir, sizeof(dir));

	snprintf(path, sizeof(path), "%s/missing.cfg", dir);
	assert_int_equal(CB_ENOTFOUND, cb_config_load(&cfg, path));
	snprintf(want, sizeof(want),
		"cannot read '%s': No such file or directory", path);
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_OS, cb_error_last()->klass);
	assert_null(cfg);

	assert_int_equal(CB_ENOTFOUND, cb_config_load(&cfg, "x.cfg/y.cfg"));
	assert_int_equal(CB_ENOTFOUND, cb_config_load(&cfg, "no-such.cfg"));
	assert_string_equal("cannot read 'no-such.cfg': No such file or "
			    "directory",
		cb_error_last()->message);

	assert_int_equal(CB_EIO, cb_config_load(&cfg, dir));
	snprintf(want, sizeof(want), "cannot read '%s': not a regular file",
		dir);
	assert_string_equal(want, cb_error_last()->message);

	/* A FIFO is refused without blocking on the open. */
	snprintf(path, sizeof(path), "%s/fifo.cfg", dir);
	assert_int_equal(0, mkfifo(path, 0600));
	assert_int_equal(CB_EIO, cb_config_load(&cfg, path));
	unlink(path);

	/* A NUL byte would hide the rest of the file from the parser. */
	snprintf(path, sizeof(path), "%s/nul.cfg", dir);
	write_file(path, nul_text, sizeof(nul_text) - 1, 0600);
	assert_int_equal(CB_ECONFIG, cb_config_load(&cfg, path));
	snprintf(want, sizeof(want), "%s:2: NUL byte in the file", path);
	assert_string_equal(want, cb_error_last()->message);
	unlink(path);

	/* Syntax errors name the path as given. */
	snprintf(path, sizeof(path), "%s/syntax.cfg", dir);
	write_file(path, syntax_text, strlen(syntax_text), 0644);
	assert_int_equal(CB_ECONFIG, cb_config_load(&cfg, path));
	snprintf(want, sizeof(want), "%s:3: syntax error", path);
	assert_string_equal(want, cb_error_last()->message);
	unlink(path);

	/* Too large for a hand-kept configuration. */
	snprintf(path, sizeof(path), "%s/big.cfg", dir);
	{
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(
			0, fseek(f, (long)CB_CONFIG_SIZE_MAX, SEEK_SET));
		assert_int_equal(1, fwrite("\n", 1, 1, f));
		assert_int_equal(0, fclose(f));
	}
	assert_int_equal(CB_ECONFIG, cb_config_load(&cfg, path));
	snprintf(want, sizeof(want), "%s: larger than 8388608 bytes", path);
	assert_string_equal(want, cb_error_last()->message);
	unlink(path);
	assert_null(cfg);
	assert_int_equal(0, rmdir(dir));
}

static void
test_config_size_limit_for_strings(void **state)
{
	char *text = malloc(CB_CONFIG_SIZE_MAX + 2);
	cb_config *cfg = NULL;

	(void)state;
	assert_non_null(text);
	memset(text, ' ', CB_CONFIG_SIZE_MAX + 1);
	text[CB_CONFIG_SIZE_MAX + 1] = '\0';
	assert_int_equal(CB_ECONFIG, cb_config_load_string(&cfg, text, "s"));
	assert_string_equal(
		"s: larger than 8388608 bytes", cb_error_last()->message);
	text[CB_CONFIG_SIZE_MAX] = '\0';
	assert_int_equal(0, cb_config_load_string(&cfg, text, "s"));
	cb_config_free(cfg);
	free(text);
}

static char *
hash_of(const cb_config *cfg)
{
	cb_buf b = CB_BUF_INIT;

	assert_int_equal(0, cb_config_hash(&b, cfg));
	assert_int_equal(16, b.size);
	return cb__buf_detach(&b);
}

static char *
hash_text(const char *text)
{
	cb_config *cfg = NULL;
	char *h;

	assert_int_equal(0, cb_config_load_string(&cfg, text, "h.cfg"));
	h = hash_of(cfg);
	cb_config_free(cfg);
	return h;
}

static void
test_config_hash_is_fnv1a64_of_the_text(void **state)
{
	static const char text[] = "log = { level = \"info\"; };\n";
	char dir[256], path[512];
	cb_config *cfg = NULL;
	cb_buf b = CB_BUF_INIT;
	char *h1, *h2, *h3;

	(void)state;
	/* The FNV-1a 64 offset basis (the hash of no bytes), and the text
	 * above hashed independently (Python, the reference algorithm). */
	h1 = hash_text("");
	assert_string_equal("cbf29ce484222325", h1);
	cb__free(h1);
	h1 = hash_text(text);
	assert_string_equal("6e1af5f10d9b0a8d", h1);

	/* Stable across loads, from a string or a file alike. */
	h2 = hash_text(text);
	assert_string_equal(h1, h2);
	make_temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/chargeback.cfg", dir);
	write_file(path, text, strlen(text), 0600);
	assert_int_equal(0, cb_config_load(&cfg, path));
	h3 = hash_of(cfg);
	assert_string_equal(h1, h3);
	cb_config_free(cfg);
	unlink(path);
	assert_int_equal(0, rmdir(dir));
	cb__free(h2);
	cb__free(h3);

	/* Any change, even one that means the same, changes it. */
	h2 = hash_text("log = { level = \"info\"; }; \n");
	assert_string_not_equal(h1, h2);
	cb__free(h2);
	h2 = hash_text("log = { level = \"debug\"; };\n");
	assert_string_equal("e0fd773e96a9378e", h2);
	cb__free(h2);

	/* The buffer's previous contents are replaced. */
	assert_int_equal(0, cb_config_load_string(&cfg, "", "h.cfg"));
	assert_int_equal(0, cb__buf_puts(&b, "old contents"));
	assert_int_equal(0, cb_config_hash(&b, cfg));
	assert_string_equal("cbf29ce484222325", b.ptr);
	assert_int_equal(CB_EINVAL, cb_config_hash(NULL, cfg));
	assert_int_equal(CB_EINVAL, cb_config_hash(&b, NULL));
	cb_config_free(cfg);
	cb_buf_dispose(&b);
	cb__free(h1);
}

static void
test_config_load_string_survives_oom(void **state)
{
	static const char text[] =
		"database = { dsn = \"dbname=cb\"; };\n"
		"azure = {\n"
		"  tenant_id = \"contoso.onmicrosoft.com\";\n"
		"  client_id = \"00000000-1111-2222-3333-444444444444\";\n"
		"  client_secret_env = \"CB_TEST_CONFIG_SECRET\";\n"
		"  certificate_path = \"/c.pem\";\n"
		"  managed_identity = true;\n"
		"  managed_identity_client_id = "
		"\"55555555-6666-7777-8888-999999999999\";\n"
		"  access_token_file = \"/t\";\n"
		"  authority_host = \"https://login.microsoftonline.com\";\n"
		"  management_endpoint = \"https://management.azure.com\";\n"
		"  ca_file = \"/ca.pem\";\n"
		"};\n"
		"http = { max_parallel = 4; };\n"
		"log = { level = \"info\"; };\n"
		"billing_accounts = ( \"1\", \"2\", \"3\", \"4\", \"5\", \"6\",\n"
		"  \"7\", \"8\", \"9\", \"10\", \"11\", \"12\", \"13\", \"14\",\n"
		"  \"15\", \"16\", \"17\", \"18\" );\n";
	cb_config *cfg = NULL;
	unsigned long n;
	int error;

	(void)state;
	assert_int_equal(0, setenv("CB_TEST_CONFIG_SECRET", "hunter2", 1));
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb_config_load_string(&cfg, text, "oom.cfg");
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_int_equal(CB_ENOMEM, cb_error_last()->code);
		assert_null(cfg);
	}
	cb__alloc_fail_after(0);
	/* The pool and the line table each grow past their first size. */
	assert_true(n > 35);
	assert_string_equal("hunter2", cb_config_azure(cfg)->client_secret);
	assert_string_equal("18", cb_config_billing_account(cfg, 17));
	cb_config_free(cfg);
	assert_int_equal(0, unsetenv("CB_TEST_CONFIG_SECRET"));
}

/*
 * Whether the example documents key (a full "azure.tenant_id") as a
 * commented-out line: "# tenant_id = ..." with only blanks around.
 */
static bool
example_comments_key(const char *text, const char *key)
{
	const char *name = strrchr(key, '.') ? strrchr(key, '.') + 1 : key;
	size_t n = strlen(name);

	for (const char *p = text; p != NULL && *p;) {
		const char *q = p + strspn(p, " \t");

		if (*q == '#') {
			q += 1 + strspn(q + 1, " \t");
			if (strncmp(q, name, n) == 0) {
				q += n + strspn(q + n, " \t");
				if (*q == '=')
					return true;
			}
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return false;
}

static void
test_config_example_documents_every_key(void **state)
{
	char path[1024], dir[256], copy[512];
	cb_config *cfg = NULL;
	const char *key;
	char *text;
	size_t keys = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/chargeback.cfg",
		cb_test_source_dir());
	assert_non_null(text = read_text(path));
	assert_int_equal(0, setenv("AZURE_CLIENT_SECRET", "hunter2", 1));
	if (cb_config_load_string(&cfg, text, "chargeback.cfg") != 0)
		fail_msg("%s", cb_error_last()->message);
	assert_string_equal("hunter2", cb_config_azure(cfg)->client_secret);
	assert_int_equal(1, cb_config_billing_account_count(cfg));
	for (size_t i = 0; (key = cb__config_schema_key(i)) != NULL; i++) {
		keys++;
		if (cb_config_key_line(cfg, key) == 0 &&
			!example_comments_key(text, key))
			fail_msg("examples/chargeback.cfg does not document "
				 "'%s'",
				key);
	}
	assert_int_equal(26, keys);
	cb_config_free(cfg);
	cfg = NULL;

	/* As shipped (no secret in it), it loads from a 644 file too. */
	make_temp_dir(dir, sizeof(dir));
	snprintf(copy, sizeof(copy), "%s/chargeback.cfg", dir);
	write_file(copy, text, strlen(text), 0644);
	if (cb_config_load(&cfg, copy) != 0)
		fail_msg("%s", cb_error_last()->message);
	cb_config_free(cfg);
	unlink(copy);
	assert_int_equal(0, rmdir(dir));
	assert_int_equal(0, unsetenv("AZURE_CLIENT_SECRET"));
	cb__free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_data_cases),
		cmocka_unit_test(test_config_full_values),
		cmocka_unit_test(test_config_defaults_and_null_arguments),
		cmocka_unit_test(test_config_env_secret_resolved_at_load),
		cmocka_unit_test(test_config_file_permissions),
		cmocka_unit_test(test_config_unreadable_files),
		cmocka_unit_test(test_config_size_limit_for_strings),
		cmocka_unit_test(test_config_hash_is_fnv1a64_of_the_text),
		cmocka_unit_test(test_config_load_string_survives_oom),
		cmocka_unit_test(test_config_example_documents_every_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
