/* metrics.c - the board in Prometheus text format (see render.h). A first cut: the
 * metrics lane names and fills every metric. */
#include "service/render.h"

int svc_metrics_render(const struct board_data *d, time_t now, struct pw_buf *out)
{
	(void)now;
	return pw_buf_printf(out,
	                     "# HELP pgward_stanzas Stanzas the service runs.\n"
	                     "# TYPE pgward_stanzas gauge\npgward_stanzas %zu\n",
	                     d->n);
}
