/* status.c - the board as the API's status resource (see render.h). A first cut: the
 * API lane makes this the one shape of the API and of `serve --check-config --output=json`. */
#include "service/render.h"

json_t *svc_status_json(const struct board_data *d, time_t now)
{
	(void)now;
	json_t *stanzas = json_array();
	for (size_t i = 0; stanzas && i < d->n; i++)
		json_array_append_new(stanzas, json_pack("{s:s}", "name", d->stanza[i].name));
	return stanzas ? json_pack("{s:o}", "stanzas", stanzas) : NULL;
}
