/* support.c - cmocka glue shared by the unit tests. */
#include "support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/mem.h"

static void *t_malloc(size_t n)
{
	return _test_malloc(n, "pgward", 0);
}

static void *t_calloc(size_t c, size_t n)
{
	return _test_calloc(c, n, "pgward", 0);
}

static void *t_realloc(void *p, size_t n)
{
	return _test_realloc(p, n, "pgward", 0);
}

static void t_free(void *p)
{
	_test_free(p, "pgward", 0);
}

void pw_test_use_cmocka_allocator(void)
{
	static const struct pw_allocator a = {t_malloc, t_calloc, t_realloc, t_free};
	static bool routed;
	if (!routed) {
		/* jansson and libxml2 through pw_malloc, so the leak checker sees theirs too; first,
		 * with the C library's allocator, since libxml2's global state (made here) lives
		 * until exit and would count as a leak of the group */
		pw_mem_route_libraries();
		routed = true;
	}
	pw_set_allocator(&a);
}

int pw_test_group_setup(void **state)
{
	(void)state;
	pw_test_use_cmocka_allocator();
	return 0;
}

const char *pw_test_data(const char *rel, char *buf, size_t size)
{
	const char *d = getenv("PGWARD_TESTDATA");
	snprintf(buf, size, "%s/%s", d ? d : "tests/data", rel);
	return buf;
}
