/*
 * notify.h - the service's notifications: webhooks on a job's start, success, failure
 * and recovery, and on the dead-man alarm. Posting never blocks the caller: events are
 * queued and delivered (with retries) by the notifier's own thread; a full queue drops the
 * oldest event and says so in the log.
 *
 * The receivers come from the stanzas' configuration (webhook-url-file and friends: a
 * stanza's own list replaces the [global] one). A URL is a secret (it often carries a
 * token): it is held as a pw_secret, so no log line or error shows it, and it is never put
 * into a body, the audit log or check-config's output (notify_target_info names its file).
 */
#ifndef PW_DAEMON_NOTIFY_H
#define PW_DAEMON_NOTIFY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "config/config.h"
#include "service/plan.h"

enum notify_what {
	NOTIFY_START,
	NOTIFY_SUCCESS,
	NOTIFY_FAILURE,
	NOTIFY_RECOVERY,      /* a success after one or more failures */
	NOTIFY_DEADMAN,       /* no success within the expected interval */
	NOTIFY_DEADMAN_CLEAR, /* a success again after the alarm */
	NOTIFY__COUNT
};

struct notify_event {
	enum notify_what what;
	const char *stanza;
	enum plan_kind kind;
	unsigned job_id; /* 0 for the dead-man events */
	time_t at;
	int exit_code;       /* failure: the job's exit code */
	double duration;     /* seconds, for success and failure */
	const char *message; /* failure: its one-line message; may be NULL */
	time_t deadline;     /* dead-man: the success was expected by then */
};

/* "start", "success", "failure", "recovery", "deadman", "deadman_clear". */
const char *notify_what_name(enum notify_what w);

enum notify_format { NOTIFY_JSON, NOTIFY_SLACK };

/*
 * The body of one event (pure: no clock, no I/O): pgward's JSON document, or a Slack
 * {"text": ...} with <, > and & escaped (a message cannot make a link). The message is
 * redacted (pw_redact) and made printable; host may be NULL.
 */
int notify_body(const struct notify_event *ev, enum notify_format f, const char *host,
                struct pw_buf *out);
/* hex HMAC-SHA-256 of "<timestamp>.<body>" under key: the X-Pgward-Signature value after
 * "sha256=". */
int notify_sign(const uint8_t *key, size_t keylen, long long timestamp, const char *body,
                size_t len, char hex[2 * 32 + 1]);

/* A stanza as the notifications see it: its name and its loaded options. */
struct notify_stanza {
	const char *name;
	const struct pw_config *cfg;
};

/* The receivers of every served stanza, read and checked (files, URLs, secrets). */
struct notify_config;
int notify_config_load(const struct notify_stanza *st, size_t n, struct notify_config **out);
void notify_config_free(struct notify_config *c);
size_t notify_config_count(const struct notify_config *c);

/* What check-config shows of receiver i: never the URL (its scheme and host at most). */
struct notify_target_info {
	const char *url_file;
	char shown[160]; /* "https://hooks.example.com/…" */
	enum notify_format format;
	bool is_signed;
	char events[96];   /* "failure,recovery,deadman" */
	char stanzas[256]; /* "main, other" (cut with "...") */
};
void notify_config_target(const struct notify_config *c, size_t i, struct notify_target_info *out);

struct notifier;
/* Start with the receivers of *c (taken: *c becomes NULL); *out is NULL when there are
 * none. */
int notifier_start(struct notify_config **c, struct notifier **out);
/* A reload: the receivers of *c (taken) replace the old ones for new events; what is
 * queued is still delivered to its receiver. Starts or stops the thread as needed. */
int notifier_reconfigure(struct notifier **n, struct notify_config **c);
/* Queue one event (copied) for each receiver of its stanza that wants it; NULL notifier is
 * a no-op. A dead-man alarm already announced to this notifier is not announced again,
 * nor a clearing of none. */
void notifier_post(struct notifier *n, const struct notify_event *ev);
/* Deliver what is queued within a short bound (one attempt each), then stop; NULL is a
 * no-op. */
void notifier_stop(struct notifier *n);
#endif
