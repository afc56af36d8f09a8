/* page.c - the board as one self-contained HTML page (see render.h). A first cut: the
 * status-page lane builds the real page. */
#include "service/render.h"

int svc_page_render(const struct board_data *d, time_t now, struct pw_buf *out)
{
	(void)now;
	return pw_buf_printf(out,
	                     "<!doctype html><html><head><meta charset=\"utf-8\"><title>pgward"
	                     "</title></head><body><p>%zu stanzas</p></body></html>\n",
	                     d->n);
}
