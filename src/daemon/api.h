/*
 * api.h - the service's control-only HTTP API (libmicrohttpd): status and job control,
 * never data. It reads the board and queues requests on it; it never runs a job itself.
 * Listens on a unix socket by default; TCP only with TLS and only when configured. Every
 * call is an audit record (docs/api.md).
 */
#ifndef PW_DAEMON_API_H
#define PW_DAEMON_API_H
#include <stddef.h>

#include <jansson.h>

#include "config/config.h"
#include "service/board.h"

/* What the API needs from the layers above it (the command layer supplies these). */
struct api_hooks {
	/* The stanza's backups as `pgward list STANZA --output=json` shows them (a JSON
	 * array, *out owned by the caller); NULL: the resource answers 501. */
	int (*backups)(void *arg, const char *stanza, json_t **out);
	void *arg;
	const char *audit_path; /* where each call's record goes */
};

struct api;
/* Check the API's configuration (tokens, socket, TCP needs TLS, the TLS files): what
 * `serve --check-config` and api_start refuse. *enabled: the API would listen. */
int api_check(const struct pw_config *cfg, bool *enabled);
/* Start serving as cfg says; *out is NULL when the API is not configured. */
int api_start(const struct pw_config *cfg, struct board *b, const struct api_hooks *hooks,
              struct api **out);
/* The tokens of a reloaded configuration replace the old ones (a call in flight keeps the
 * token it was admitted with). The listeners stay as started. NULL is a no-op. */
int api_reload(struct api *a, const struct pw_config *cfg);
/* Stop serving (answers in flight finish first, queued audit records are written); NULL
 * is a no-op. */
void api_stop(struct api *a);

#define API_TOKEN_TEXT_MAX 80  /* "pgward_" + 64 hex digits + NUL */
#define API_TOKEN_LINE_MAX 200 /* "NAME:SCOPES:HASH" */
/* A new random token for NAME with SCOPES ("read", "operate" or both, comma-separated):
 * token is the bearer token (shown once), line the api-token value to configure. */
int api_token_new(const char *name, const char *scopes, char token[API_TOKEN_TEXT_MAX],
                  char line[API_TOKEN_LINE_MAX]);
#endif
