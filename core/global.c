/*
 * core/global.c - library version and reference-counted global set-up.
 *
 * libcurl's and OpenSSL's global initialisers are not thread-safe, so they
 * run here, once, from cb_init(); every other module assumes it happened.
 * A module that owns a library with global state adds its init/cleanup
 * pair to global_init_modules() / global_shutdown_modules() below.
 */
#include "core/common.h"
#include "core/http.h"
#include "core/json.h"

static int init_count;

const char *
cb_version(void)
{
	return CB_VERSION_STRING;
}

static int
global_init_modules(void)
{
	int error;

	if ((error = cb__json_global_init()) < 0)
		return error;
	if ((error = cb__http_global_init()) < 0)
		return error;
	return 0;
}

static void
global_shutdown_modules(void)
{
	cb__http_global_shutdown();
}

int
cb_init(void)
{
	int error;

	if (init_count++ > 0)
		return 0;
	if ((error = global_init_modules()) < 0) {
		init_count = 0;
		return error;
	}
	return 0;
}

void
cb_shutdown(void)
{
	if (init_count == 0 || --init_count > 0)
		return;
	global_shutdown_modules();
}
