/* libmem.c - the libraries that allocate for us (jansson, libxml2) allocate through pw_malloc. */
#include "common/mem.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlmemory.h>

void pw_mem_route_libraries(void)
{
	/* pw_malloc never returns NULL (the out-of-memory handler): neither library sees one */
	json_set_alloc_funcs(pw_malloc, pw_free);
	xmlMemSetup(pw_free, pw_malloc, pw_realloc, pw_strdup);
	/* libxml2's global state, made now, on the main thread, before any worker parses */
	xmlInitParser();
}
