/* api.c - the service's HTTP API (see api.h). A first cut: not configured yet. */
#include "daemon/api.h"

#include <stddef.h>

int api_start(const struct pw_config *cfg, struct board *b, struct api **out)
{
	(void)cfg;
	(void)b;
	*out = NULL;
	return 0;
}

void api_stop(struct api *a)
{
	(void)a;
}
