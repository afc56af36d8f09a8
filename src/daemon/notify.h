/*
 * notify.h - the service's notifications: webhooks on a job's start, success, failure
 * and recovery, and on the dead-man alarm. Posting never blocks the caller: events are
 * queued and delivered (with retries) by the notifier's own thread; a full queue drops the
 * oldest event and says so in the log.
 */
#ifndef PW_DAEMON_NOTIFY_H
#define PW_DAEMON_NOTIFY_H
#include <time.h>

#include "config/config.h"
#include "service/plan.h"

enum notify_what {
	NOTIFY_START,
	NOTIFY_SUCCESS,
	NOTIFY_FAILURE,
	NOTIFY_RECOVERY,      /* a success after one or more failures */
	NOTIFY_DEADMAN,       /* no success within the expected interval */
	NOTIFY_DEADMAN_CLEAR, /* a success again after the alarm */
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

struct notifier;
/* Start as cfg says; *out is NULL when no webhook is configured. */
int notifier_start(const struct pw_config *cfg, struct notifier **out);
/* Queue one event (copied); NULL notifier is a no-op. */
void notifier_post(struct notifier *n, const struct notify_event *ev);
/* Deliver what is queued within a short bound, then stop; NULL is a no-op. */
void notifier_stop(struct notifier *n);
#endif
