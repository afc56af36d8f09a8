/*
 * serveconf.h - the configuration the service runs: the stanzas of its configuration file
 * (those named on the command line, or all), each loaded as every other command sees it and
 * checked - every schedule, the verification depth against the keys at hand, the two-host
 * split (no process schedules backups while holding an identity unless serve-allow-mixed)
 * and the webhooks - with the digest of the file's bytes as checked. `serve --check-config`
 * shows it; the loop (loop.h) runs it and loads it again on SIGHUP.
 */
#ifndef PW_DAEMON_SERVECONF_H
#define PW_DAEMON_SERVECONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "crypto/prim.h"
#include "service/plan.h"
#include "service/schedule.h"
#include "service/state.h"

/* Each kind's schedule option (backup-schedule, verify-schedule, expire-schedule). */
extern const enum pw_opt_id serveconf_sched_opt[PLAN_KIND_COUNT];

struct stanza {
	char name[SVC_STANZA_MAX + 1];
	struct pw_config *cfg;
	bool scheduled[PLAN_KIND_COUNT];
	/* each kind's entries ("hourly keep 2d; daily 02:00 keep 30d"), and for backups what
	 * each names its runs and how long they are kept */
	struct sched sched[PLAN_KIND_COUNT][SCHED_ENTRIES_MAX];
	struct sched_tag tags[PLAN_KIND_COUNT][SCHED_ENTRIES_MAX];
	size_t nsched[PLAN_KIND_COUNT];
	long jitter;
	long long depth;
	bool identity;
	bool wal;           /* wal-stream = yes: a supervised "pgward wal-stream STANZA" */
	double wal_next;    /* pw_monotonic() when it may start again */
	unsigned wal_fails; /* its failed starts in a row (the backoff) */
};

/* The configuration the service runs: the selected stanzas, each loaded and checked. */
struct service {
	const char *path;
	struct stanza *all;
	size_t n, m; /* sections, selected (the first m of all) */
	size_t nsched;
	char *state_path;
	uint8_t conf_sha[PW_SHA256_LEN]; /* the configuration file's bytes as checked */
	struct notify_config *notify;    /* the webhook receivers, read and checked */
};

/* The repository's rule for a tag name (manifest_tag_name_valid, in the command's hands). */
typedef bool serveconf_tag_ok_fn(const char *name);

/* Load and check the service's configuration: cfg's configuration file and positional
 * stanzas, serve-allow-mixed and state-file. On failure svc holds nothing. */
int serveconf_load(const struct pw_config *cfg, serveconf_tag_ok_fn *tag_ok, struct service *svc);
void serveconf_free(struct service *svc);
/* The configuration file still has the bytes the service checked (a job runs only on
 * those): else -PW_E_CONFIG recorded. */
int serveconf_unchanged(const char *path, const uint8_t want[PW_SHA256_LEN]);
/* A tag's keep as a schedule writes it: "30d", "36h". */
void serveconf_keep_text(long keep, char *out, size_t size);
#endif
