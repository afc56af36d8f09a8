/*
 * state.h - the service's small local state file: per stanza and job kind, when the
 * schedule was first seen, the last run's start, end and result, the last success and the
 * count of consecutive failures (and since when the last success ran). Nothing the repository holds (backups, manifests,
 * verification records) is copied here.
 *
 * JSON, written with common/safefile.h (a new 0600 file renamed over the old one: a crash
 * leaves the old or the new file, never half of one), read with the trusted-file checks
 * (our own file, no one else may read or write it). A damaged, foreign or too large file
 * is a clear error (exit 3), never a crash and never silently reset: resetting would
 * re-run every missed job and hide a dead-man alarm.
 */
#ifndef PW_SERVICE_STATE_H
#define PW_SERVICE_STATE_H

#include <stddef.h>

#include "service/plan.h"

#define SVC_STATE_FORMAT "pgward-service-state"
#define SVC_STATE_VERSION 1
#define SVC_STATE_MAX_BYTES (256 * 1024)
#define SVC_STATE_MAX_STANZAS 512
#define SVC_STANZA_MAX 63

struct svc_state;

struct svc_state *svc_state_new(void);
void svc_state_free(struct svc_state *s);

/* Parse a state file's text; path names it in errors. */
int svc_state_parse(const char *data, size_t len, const char *path, struct svc_state **out);
/* Load path; a missing file is an empty state. */
int svc_state_load(const char *path, struct svc_state **out);
/* The JSON text (allocated with pw_malloc; pw_free it). */
char *svc_state_dump(const struct svc_state *s);
/* Write atomically, mode 0600. */
int svc_state_save(const struct svc_state *s, const char *path);

/* The entry of stanza and kind, or NULL when there is none. */
const struct plan_state *svc_state_get(const struct svc_state *s, const char *stanza,
                                       enum plan_kind kind);
/* The entry of stanza and kind, created empty when missing (-PW_E_LIMIT over the cap,
 * -PW_E_CONFIG for a bad stanza name; recorded). */
int svc_state_put(struct svc_state *s, const char *stanza, enum plan_kind kind,
                  struct plan_state **out);
size_t svc_state_nstanzas(const struct svc_state *s);

/* Whether name is a stanza name the state file accepts (1-63 of [A-Za-z0-9_.-], no
 * leading "." or "-"). */
bool svc_stanza_name_ok(const char *name);

#endif
