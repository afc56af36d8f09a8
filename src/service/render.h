/*
 * render.h - the board (board.h) shown three ways, each with one owner:
 *   svc_status_json   the API's status resource, and `serve --check-config --output=json`
 *                     (the same shape: one function builds both)           (status.c)
 *   svc_metrics_render Prometheus text exposition for /metrics               (metrics.c)
 *   svc_page_render    the status page: one self-contained HTML document     (page.c)
 * Pure: no I/O, no clock (the caller passes now). Call with the board locked, or on a copy.
 * Everything rendered is board metadata; every string from the configuration or a message
 * is escaped for its format (JSON by jansson, label values and HTML by the renderer).
 */
#ifndef PW_SERVICE_RENDER_H
#define PW_SERVICE_RENDER_H
#include <time.h>

#include <jansson.h>

#include "common/buf.h"
#include "service/board.h"

/* The status resource: {"service": {...}, "stanzas": [stanza...]}. */
json_t *svc_status_json(const struct board_data *d, time_t now);
/* One stanza: {"stanza", "jobs": [one per scheduled kind], "wal", "recovery_window",
 * "repository"}; `serve --check-config --output=json` adds to the same objects. */
json_t *svc_status_stanza_json(const struct board_stanza *bs);
json_t *svc_status_kind_json(enum plan_kind k, const struct board_kind *bk);
/* What the state file says of the last run, or null when there was none. */
json_t *svc_status_last_json(const struct plan_state *st);
/* The job resource (board_job_find). */
json_t *svc_job_json(const struct board_job_view *v);
int svc_metrics_render(const struct board_data *d, time_t now, struct pw_buf *out);
int svc_page_render(const struct board_data *d, time_t now, struct pw_buf *out);
#endif
