/*
 * mem.h - allocation. pw_malloc and friends never return NULL: on exhaustion
 * they call the out-of-memory handler that main installs (which exits with
 * PW_E_NOMEM). Tests may swap the allocator (cmocka's leak-checking one).
 */
#ifndef PW_COMMON_MEM_H
#define PW_COMMON_MEM_H

#include <stddef.h>

void *pw_malloc(size_t n);
void *pw_calloc(size_t count, size_t n);
void *pw_realloc(void *p, size_t n);
void pw_free(void *p);
char *pw_strdup(const char *s);
char *pw_strndup(const char *s, size_t n);

struct pw_allocator {
	void *(*malloc_fn)(size_t n);
	void *(*calloc_fn)(size_t count, size_t n);
	void *(*realloc_fn)(void *p, size_t n);
	void (*free_fn)(void *p);
};
/* Replace the allocator (NULL restores the C library's). Not thread-safe: call at start. */
void pw_set_allocator(const struct pw_allocator *a);
/* Called when an allocation fails; must not return. */
void pw_set_oom_handler(void (*handler)(size_t n));
/*
 * Route jansson's and libxml2's allocations through pw_malloc/pw_free (so the leak checker of
 * the tests sees them, and out of memory ends in one handler). Call once at start, before any
 * JSON or XML exists, and again after pw_set_allocator (main; tests/unit/support.c).
 */
void pw_mem_route_libraries(void);
/* Out of memory outside pw_malloc (a library's constructor returned NULL): the handler, then
 * abort() if it returned. The only abort() besides a debug PW_ASSERT (common/assert.h). */
_Noreturn void pw_nomem(size_t n);

#endif
