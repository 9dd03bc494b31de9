/*
 * core/alloc.h - the only allocation functions library code may call.
 *
 * Funnelling every allocation through here gives two things: a failed
 * allocation always records CB_ENOMEM in the last error (so callers only
 * propagate), and tests can make the Nth allocation fail
 * (cb__alloc_fail_after) to walk every failure path under ASan.
 */
#ifndef CB_CORE_ALLOC_H
#define CB_CORE_ALLOC_H

#include <stddef.h>

/* Each returns NULL and sets CB_ENOMEM on failure. */
void *cb__malloc(size_t size);
void *cb__calloc(size_t nmemb, size_t size);
/* On failure the old block is untouched and still owned by the caller. */
void *cb__realloc(void *ptr, size_t size);
/* Overflow-checked realloc of nmemb * size bytes. */
void *cb__reallocarray(void *ptr, size_t nmemb, size_t size);
char *cb__strdup(const char *s);
char *cb__strndup(const char *s, size_t n);
void cb__free(void *ptr);

/*
 * Test hook: make the nth allocation from now fail (1 = the next one), and
 * every one after it until reset; 0 turns failures off.  Process-wide.
 */
void cb__alloc_fail_after(unsigned long n);

#endif
