/*
 * render.h - the board (board.h) shown three ways, each with one owner:
 *   svc_status_json   the API's status resource, and `serve --check-config --output=json`
 *                     (the same shape: one function builds both)           (status.c)
 *   svc_metrics_render Prometheus text exposition for /metrics               (metrics.c)
 *   svc_page_render    the status page: one self-contained HTML document     (page.c)
 * Pure: no I/O, no clock (the caller passes now). Call with the board locked, or on a copy.
 * Everything rendered is board metadata; every string from the configuration or a message
 * is escaped for its format (JSON by jansson, label values and HTML by the renderer).
 * Sizes, for the caller's cap: per stanza with every kind scheduled and PITR, about 2 KiB
 * of page and 3.3 KiB of metrics (512 stanzas, the state file's limit: 1.1 MB and 1.7 MB;
 * `render_board --stanzas N DIR` measures); over the cap is -PW_E_LIMIT, never a
 * truncated rendering.
 */
#ifndef PW_SERVICE_RENDER_H
#define PW_SERVICE_RENDER_H
#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "common/buf.h"
#include "service/board.h"

/* Whether a job kind of a stanza is shown (metrics, page): it is scheduled in this process,
 * or it ran (here, or in an earlier process, as the state file says). A kind that is neither
 * belongs to the other host of the two-host split: showing it as "never succeeded" would
 * raise an alarm for a job that is not this host's to run. */
bool svc_kind_shown(const struct board_kind *k);

/* NULL only when out of memory. */
json_t *svc_status_json(const struct board_data *d, time_t now);
int svc_metrics_render(const struct board_data *d, time_t now, struct pw_buf *out);
int svc_page_render(const struct board_data *d, time_t now, struct pw_buf *out);

/* What the API sends with them. */
#define SVC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SVC_PAGE_CONTENT_TYPE "text/html; charset=utf-8"
/* The page's Content-Security-Policy (the page carries it as a meta element; with
 * header, as the API should also send it, it adds frame-ancestors 'none', which a meta
 * element cannot carry). */
#define SVC_PAGE_CSP_MAX 256
int svc_page_csp(bool header, char out[SVC_PAGE_CSP_MAX]);
#endif
