/*
 * api.h - the service's control-only HTTP API (libmicrohttpd): status and job control,
 * never data. It reads the board and queues requests on it; it never runs a job itself.
 * Listens on a unix socket by default; TCP only with TLS and only when configured.
 */
#ifndef PW_DAEMON_API_H
#define PW_DAEMON_API_H
#include "config/config.h"
#include "service/board.h"

struct api;
/* Start serving as cfg says; *out is NULL when the API is not configured. */
int api_start(const struct pw_config *cfg, struct board *b, struct api **out);
/* Stop serving (answers in flight finish first); NULL is a no-op. */
void api_stop(struct api *a);
#endif
