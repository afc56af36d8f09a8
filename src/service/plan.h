/*
 * plan.h - the service's pure decisions: what should run now for a stanza, when to retry
 * after a failure, and whether a stanza is overdue (the dead-man alarm). No I/O, no clock:
 * the caller passes the schedule, what the state file says and "now".
 */
#ifndef PW_SERVICE_PLAN_H
#define PW_SERVICE_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "service/schedule.h"

enum plan_kind { PLAN_BACKUP, PLAN_VERIFY, PLAN_EXPIRE, PLAN_KIND_COUNT };

/* How the last run ended. RUNNING without a job in this process means it was interrupted
 * (the process died): it counts as a failure. */
enum plan_result {
	PLAN_RES_NONE,
	PLAN_RES_OK,
	PLAN_RES_FAILED,
	PLAN_RES_RUNNING,
	PLAN_RES_INTERRUPTED,
	PLAN_RES_SKIPPED, /* not run: the same job of the stanza ran elsewhere (another host) */
	PLAN_RES__COUNT
};

/* What the state file holds per stanza and kind (0 = never). */
struct plan_state {
	time_t first_seen; /* when the service first saw this schedule: the anchor before any run */
	time_t last_start; /* start of the last run */
	time_t last_end;   /* end of the last run (0 while running) */
	time_t last_success;       /* end of the last successful run */
	time_t last_success_start; /* start of the last successful run (0: not recorded) */
	enum plan_result result;
	unsigned attempts; /* consecutive failures */
};

/*
 * A kind's schedule is one or more entries (backup-schedule = "hourly keep 2d; daily 02:00
 * keep 30d"): its slots are the union of the entries' slots, so a slot two entries share is
 * one run, jitter and missed runs apply to the union, and each run stands for the entries
 * whose slots it covers (plan_entries).
 */
struct plan_job {
	const struct sched *sched; /* the entries (nsched of them); NULL: not scheduled */
	size_t nsched;             /* 0 is read as 1 */
	long jitter;               /* seconds, schedule-jitter */
	long grace;                /* dead-man grace in seconds; < 0: the default */
	struct plan_state st;
	bool active; /* a job of this kind runs in this process now */
};

enum plan_action {
	PLAN_OFF,     /* not scheduled */
	PLAN_WAIT,    /* nothing to do before `due` */
	PLAN_RUN,     /* start it now */
	PLAN_BUSY,    /* due, but another job of the stanza runs: after it */
	PLAN_RUNNING, /* this kind runs now */
};

enum plan_why {
	PLAN_WHY_NONE,
	PLAN_WHY_SCHEDULED, /* its slot came */
	PLAN_WHY_MISSED,    /* one or more slots passed while the service was down: one run */
	PLAN_WHY_RETRY,     /* the last run failed or was interrupted: backoff elapsed */
};

struct plan_decision {
	enum plan_action action;
	enum plan_why why;
	time_t due;       /* when it runs (or ran due): slot + jitter, or the retry time */
	time_t slot;      /* the schedule's slot this run stands for */
	uint32_t entries; /* bit i: the run stands for a slot of entry i (plan_entries at due) */
};

/* Backoff after `attempts` consecutive failures: 1 min, 2, 4 ... at most interval (>= 60). */
long plan_backoff(unsigned attempts, long interval);

/* The decision for one kind of one stanza, ignoring the other kinds. */
int plan_job(const char *stanza, enum plan_kind kind, const struct plan_job *j, time_t now,
             struct plan_decision *out);

/*
 * The decisions for every kind of one stanza: at most one job per stanza at a time (a due
 * kind waits as PLAN_BUSY while another runs), and when several are due the one due first
 * runs (ties: backup, verify, expire). *run is the kind to start, or PLAN_KIND_COUNT.
 */
int plan_stanza(const char *stanza, const struct plan_job jobs[PLAN_KIND_COUNT], time_t now,
                struct plan_decision out[PLAN_KIND_COUNT], enum plan_kind *run);

/*
 * The entries a run starting at `now` stands for: bit i when entry i has a slot after the
 * start of the last successful run (when the schedule was first seen, before any) and at
 * or before now. A missed run after days down stands for every entry that had a slot; a
 * retry for the slots the failed runs did not cover; a run asked for between slots for
 * the slots it consumes (usually none).
 */
int plan_entries(const struct plan_job *j, time_t now, uint32_t *entries);

/* The next slot of the schedule (every entry) strictly after `after`. */
int plan_next_slot(const struct plan_job *j, time_t after, time_t *slot);

/* The jitter of a slot of the schedule, at most half the gap to the next slot (a run never
 * passes it). */
int plan_slot_jitter(const char *stanza, enum plan_kind kind, const struct plan_job *j, time_t slot,
                     long *out);

/* The entries that have `slot` among their slots (bit i: entry i). */
int plan_slot_entries(const struct plan_job *j, time_t slot, uint32_t *entries);

enum plan_health {
	PLAN_HEALTH_OK,            /* a success within its interval + grace */
	PLAN_HEALTH_NEVER_YET,     /* never succeeded, not overdue yet */
	PLAN_HEALTH_OVERDUE,       /* the dead-man alarm: no success since `deadline` was due */
	PLAN_HEALTH_NEVER_OVERDUE, /* the alarm, and it never succeeded at all */
};

/* The dead-man state: the next success is expected by *deadline. */
int plan_health(const char *stanza, enum plan_kind kind, const struct plan_job *j, time_t now,
                enum plan_health *health, time_t *deadline);

const char *plan_kind_name(enum plan_kind k);
/* "backup" -> PLAN_BACKUP; -1 if unknown. */
int plan_kind_from(const char *s);
const char *plan_result_name(enum plan_result r);
int plan_result_from(const char *s);
const char *plan_health_name(enum plan_health h);

#endif
