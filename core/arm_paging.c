/*
 * core/arm_paging.c - following nextLink to the end of a listing.
 *
 * ARM lists answer {"value": [...], "nextLink": "<absolute url>"} and the
 * last page omits nextLink or sets it null; Cost Management Query and
 * Forecast keep it in properties.nextLink and want the same body POSTed
 * again.  Links are requested verbatim (they carry their own api-version
 * and $skiptoken) once cb__arm_check_link has agreed the token may go
 * there.  One page is in memory at a time; what grows with the walk is the
 * list of links already seen, bounded by max_pages, which turns a server
 * that loops (A, B, A...) into an error instead of an endless walk.
 */
#include "core/common.h"
#include "core/arm.h"
#include "core/buf.h"

/* Links already requested in one walk: a 64-bit FNV-1a hash each, with the
 * text compared on a hash match so a collision can never end a walk. */
struct arm_seen {
	uint64_t *hash; /* owned; n entries */
	char **link;    /* owned, each owned; n entries */
	size_t n;       /* entries used */
	size_t cap;     /* entries allocated */
};

static uint64_t
arm_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void
arm_seen_dispose(struct arm_seen *seen)
{
	for (size_t i = 0; i < seen->n; i++)
		cb__free(seen->link[i]);
	cb__free(seen->hash);
	cb__free(seen->link);
	memset(seen, 0, sizeof(*seen));
}

/* 1 if link was seen before, 0 once it is recorded, CB_ENOMEM. */
static int
arm_seen_add(struct arm_seen *seen, const char *link)
{
	uint64_t h = arm_hash(link);
	char *copy;

	for (size_t i = 0; i < seen->n; i++)
		if (seen->hash[i] == h && strcmp(seen->link[i], link) == 0)
			return 1;
	if (seen->n == seen->cap) {
		size_t cap = seen->cap ? seen->cap * 2 : 16;
		uint64_t *hash;
		char **links;

		if ((hash = cb__reallocarray(seen->hash, cap, sizeof(*hash))) ==
			NULL)
			return CB_ENOMEM;
		seen->hash = hash;
		if ((links = cb__reallocarray(
			     seen->link, cap, sizeof(*links))) == NULL)
			return CB_ENOMEM;
		seen->link = links;
		seen->cap = cap;
	}
	if ((copy = cb__strdup(link)) == NULL)
		return CB_ENOMEM;
	seen->hash[seen->n] = h;
	seen->link[seen->n++] = copy;
	return 0;
}

int
cb__arm_pages(cb_arm *arm, const char *method, const char *url,
	const char *body, unsigned flags, const char *next_path,
	cb_arm_page_fn each, void *payload)
{
	struct arm_seen seen = { 0 };
	char where[CB_ARM_WHERE_MAX];
	cb_buf cur = CB_BUF_INIT, next = CB_BUF_INIT;
	cb_json *page = NULL;
	int error;

	CB_ASSERT_ARG(arm);
	CB_ASSERT_ARG(method);
	CB_ASSERT_ARG(url);
	CB_ASSERT_ARG(next_path);
	CB_ASSERT_ARG(each);

	if ((error = cb__buf_puts(&cur, url)) < 0 ||
		(error = arm_seen_add(&seen, url)) < 0)
		goto done;
	for (unsigned pages = 1;; pages++) {
		const char *link = NULL;
		cb_buf swap;

		cb__json_free(page);
		page = NULL;
		if ((error = cb__arm_send(&page, NULL, arm, method, cur.ptr,
			     body, flags)) < 0)
			goto done;
		if (page == NULL)
			break; /* 204: nothing (more) to list */
		if ((error = each(page, payload)) != 0)
			goto done;
		error = cb__json_get_string(&link, page, cb__json_root(page),
			next_path, CB_JSON_OPTIONAL);
		if (error == CB_ENOTFOUND || (error == 0 && *link == '\0'))
			break;
		if (error < 0)
			goto done;

		cb__arm_where(where, sizeof(where), method, cur.ptr);
		cb__buf_clear(&next);
		if ((error = cb__arm_check_link(&next, arm, link, next_path)) <
			0) {
			if (error != CB_ENOMEM)
				cb__error_prefix("%s: ", where);
			goto done;
		}
		if ((error = arm_seen_add(&seen, next.ptr)) < 0)
			goto done;
		if (error == 1) {
			error = cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
				"%s: %s repeats a page already listed "
				"(paging loop) after %u pages",
				where, next_path, pages);
			goto done;
		}
		if (pages >= arm->max_pages) {
			error = cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
				"%s: still a %s after %u pages, the most one "
				"listing may take",
				where, next_path, pages);
			goto done;
		}
		swap = cur;
		cur = next;
		next = swap;
	}
	error = 0;
done:
	cb__json_free(page);
	cb_buf_dispose(&cur);
	cb_buf_dispose(&next);
	arm_seen_dispose(&seen);
	return error;
}

/* cb__arm_list: the page callback that walks "value". */
struct arm_items {
	cb_arm_item_fn each; /* the caller's */
	void *payload;       /* the caller's */
};

static int
arm_list_page(const cb_json *page, void *payload)
{
	struct arm_items *items = payload;
	const cb_json_node *value;
	int error;

	if ((error = cb__json_get_array(
		     &value, page, cb__json_root(page), "value", 0)) < 0)
		return error;
	for (size_t i = 0; i < cb__json_array_size(value); i++)
		if ((error = items->each(page, cb__json_array_get(value, i),
			     items->payload)) != 0)
			return error;
	return 0;
}

static int
arm_paged(cb_arm *arm, const char *method, const char *path,
	const char *api_version, const char *body, unsigned flags,
	const char *next_path, cb_arm_page_fn each, void *payload)
{
	cb_buf url = CB_BUF_INIT;
	int error;

	CB_ASSERT_ARG(arm);
	if ((error = cb__arm_url(&url, arm, path, api_version)) == 0)
		error = cb__arm_pages(arm, method, url.ptr, body, flags,
			next_path, each, payload);
	cb_buf_dispose(&url);
	return error;
}

int
cb__arm_list(cb_arm *arm, const char *path, const char *api_version,
	cb_arm_item_fn each, void *payload)
{
	struct arm_items items = { each, payload };

	CB_ASSERT_ARG(each);
	return arm_paged(arm, "GET", path, api_version, NULL, 0, "nextLink",
		arm_list_page, &items);
}

int
cb__arm_list_pages(cb_arm *arm, const char *path, const char *api_version,
	cb_arm_page_fn each, void *payload)
{
	return arm_paged(arm, "GET", path, api_version, NULL, 0, "nextLink",
		each, payload);
}

int
cb__arm_query(cb_arm *arm, const char *path, const char *api_version,
	const char *body, cb_arm_page_fn each, void *payload)
{
	CB_ASSERT_ARG(body);
	return arm_paged(arm, "POST", path, api_version, body,
		CB_ARM_RETRY_UNSAFE, "properties.nextLink", each, payload);
}
