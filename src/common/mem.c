/* mem.c - allocation through a swappable allocator; out-of-memory goes to main's handler. */
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

static struct pw_allocator alloc = {malloc, calloc, realloc, free};
static void (*oom)(size_t n);

void pw_set_allocator(const struct pw_allocator *a)
{
	if (a)
		alloc = *a;
	else
		alloc = (struct pw_allocator){malloc, calloc, realloc, free};
}

void pw_set_oom_handler(void (*handler)(size_t n))
{
	oom = handler;
}

void pw_nomem(size_t n)
{
	if (oom)
		oom(n);
	abort();
}

static void *nomem(size_t n)
{
	pw_nomem(n);
}

void *pw_malloc(size_t n)
{
	void *p = alloc.malloc_fn(n ? n : 1);
	return p ? p : nomem(n);
}

void *pw_calloc(size_t count, size_t n)
{
	void *p = alloc.calloc_fn(count ? count : 1, n ? n : 1);
	return p ? p : nomem(count * n);
}

void *pw_realloc(void *p, size_t n)
{
	void *q = alloc.realloc_fn(p, n ? n : 1);
	return q ? q : nomem(n);
}

void pw_free(void *p)
{
	if (p)
		alloc.free_fn(p);
}

char *pw_strdup(const char *s)
{
	return pw_strndup(s, strlen(s));
}

char *pw_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = pw_malloc(len + 1);
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}
