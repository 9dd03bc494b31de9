/*
 * core/alloc.c - allocation wrappers with a failure-injection hook.
 *
 * The hook is the one piece of mutable global state besides the per-thread
 * error (STYLE.md 6.4); it is atomic because the HTTP executor may allocate
 * from worker callbacks while a test arms it.
 */
#include "core/common.h"

#include <stdatomic.h>
#include <stdlib.h>

/* 0: off.  Otherwise the number of allocations still allowed plus one. */
static atomic_ulong alloc_countdown;

void
cb__alloc_fail_after(unsigned long n)
{
	atomic_store(&alloc_countdown, n);
}

static bool
alloc_should_fail(void)
{
	unsigned long n = atomic_load(&alloc_countdown);

	while (n > 1) {
		if (atomic_compare_exchange_weak(&alloc_countdown, &n, n - 1))
			return false;
	}
	return n == 1;
}

static void *
alloc_failed(void)
{
	cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY, "out of memory");
	return NULL;
}

void *
cb__malloc(size_t size)
{
	void *p;

	if (alloc_should_fail() || (p = malloc(size ? size : 1)) == NULL)
		return alloc_failed();
	return p;
}

void *
cb__calloc(size_t nmemb, size_t size)
{
	void *p;

	if (alloc_should_fail() ||
		(p = calloc(nmemb ? nmemb : 1, size ? size : 1)) == NULL)
		return alloc_failed();
	return p;
}

void *
cb__realloc(void *ptr, size_t size)
{
	void *p;

	if (alloc_should_fail() || (p = realloc(ptr, size ? size : 1)) == NULL)
		return alloc_failed();
	return p;
}

void *
cb__reallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		return alloc_failed();
	return cb__realloc(ptr, nmemb * size);
}

char *
cb__strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = cb__malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
cb__strdup(const char *s)
{
	return cb__strndup(s, SIZE_MAX);
}

void
cb__free(void *ptr)
{
	free(ptr);
}
