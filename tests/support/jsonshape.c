/*
 * tests/support/jsonshape.c - see jsonshape.h.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1

#include "tests/support/jsonshape.h"
#include "tests/support/testsupport.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

static bool
ignored(const char *path, const char *const *ignore)
{
	for (; ignore != NULL && *ignore != NULL; ignore++)
		if (strcmp(path, *ignore) == 0)
			return true;
	return false;
}

static bool
shape(json_t *e, json_t *a, const char *path, const char *const *ignore,
	char *why, size_t whylen)
{
	char sub[1024];

	if (json_is_null(e) || ignored(path, ignore))
		return true;
	if (strcmp(type_name(e), type_name(a)) != 0) {
		snprintf(why, whylen, "%s: expected %s, found %s",
			path[0] ? path : "(top)", type_name(e), type_name(a));
		return false;
	}
	if (json_is_object(e)) {
		const char *k;
		json_t *ev;

		json_object_foreach(e, k, ev)
		{
			json_t *av = json_object_get(a, k);
			snprintf(sub, sizeof(sub), "%s%s%s", path,
				path[0] ? "." : "", k);
			if (ignored(sub, ignore))
				continue;
			if (av == NULL) {
				if (json_is_null(ev))
					continue;
				snprintf(why, whylen, "%s: missing", sub);
				return false;
			}
			if (!shape(ev, av, sub, ignore, why, whylen))
				return false;
		}
	} else if (json_is_array(e) && json_array_size(e) > 0) {
		size_t i;
		json_t *av;

		snprintf(sub, sizeof(sub), "%s[]", path);
		if (json_array_size(a) == 0) {
			snprintf(why, whylen, "%s: empty, the example has %zu",
				path[0] ? path : "(top)", json_array_size(e));
			return false;
		}
		json_array_foreach(a, i, av)
		{
			if (!shape(json_array_get(e, 0), av, sub, ignore, why,
				    whylen))
				return false;
		}
	}
	return true;
}

bool
cb_test_json_shape(const char *expected, const char *actual,
	const char *const *ignore, char *why, size_t whylen)
{
	json_error_t err;
	json_t *e = json_loads(expected, 0, &err), *a;
	bool ok;

	if (e == NULL) {
		snprintf(why, whylen, "expected is not JSON: %s", err.text);
		return false;
	}
	a = json_loads(actual, 0, &err);
	if (a == NULL) {
		snprintf(why, whylen, "actual is not JSON: %s", err.text);
		json_decref(e);
		return false;
	}
	ok = shape(e, a, "", ignore, why, whylen);
	json_decref(e);
	json_decref(a);
	return ok;
}

static json_t *
load_example(const char *relpath)
{
	char path[2048];
	json_error_t err;

	snprintf(path, sizeof(path), "%s/azure-api-examples/%s",
		cb_test_shared_dir(), relpath);
	return json_load_file(path, 0, &err);
}

char *
cb_test_example_response(const char *relpath, const char *status)
{
	json_t *ex = load_example(relpath), *body;
	char *text = NULL;

	body = json_object_get(
		json_object_get(json_object_get(ex, "responses"), status),
		"body");
	if (body != NULL)
		text = json_dumps(body, JSON_ENCODE_ANY);
	json_decref(ex);
	return text;
}

char *
cb_test_example_parameter(const char *relpath, const char *name)
{
	json_t *ex = load_example(relpath), *v;
	char *text = NULL;

	v = json_object_get(json_object_get(ex, "parameters"), name);
	if (json_is_string(v))
		text = strdup(json_string_value(v));
	else if (v != NULL)
		text = json_dumps(v, JSON_ENCODE_ANY);
	json_decref(ex);
	return text;
}
