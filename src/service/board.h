/*
 * board.h - what the running service knows, in one place, shared between the scheduling
 * loop (the only writer of job facts) and the API's threads (readers, and the writers of
 * requests: "run this job now", "cancel that one").
 *
 * Everything on the board is metadata the plaintext manifest or the state file already
 * holds: names, times, results, sizes, exit codes and one-line messages. Never a URL, a
 * key, a password, a token or table data: the API and the status page show the board as
 * it is, so what must not leave the process must never be put here.
 *
 * Locking: board_lock() returns the data, held under the board's mutex until
 * board_unlock(). Hold it briefly: copy or render, then unlock. The loop waits on
 * board_wake_fd() (readable when a request is queued) besides its timers and children.
 */
#ifndef PW_SERVICE_BOARD_H
#define PW_SERVICE_BOARD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "service/plan.h"
#include "service/state.h"

#define BOARD_MSG_MAX 300   /* one-line message of the last failure */
#define BOARD_SCHED_MAX 128 /* the schedule expression as configured */
#define BOARD_WHO_MAX 64    /* the token's name that asked for a job */
#define BOARD_QUEUE_MAX 64  /* pending requests; more is -PW_E_LIMIT */

/* One job kind of one stanza. */
struct board_kind {
	bool scheduled;
	char schedule[BOARD_SCHED_MAX];   /* the expression as configured ("" when none) */
	struct plan_state st;             /* what the state file says (times, result, attempts) */
	time_t next_due;                  /* the next run (0: none planned) */
	enum plan_health health;          /* the dead-man state */
	time_t deadline;                  /* the next success is expected by then */
	bool running;                     /* a job of this kind runs now */
	unsigned job_id;                  /* its id while running, else the last one's */
	double last_duration;             /* seconds of the last finished run; < 0: none yet */
	uint64_t last_bytes;              /* backup: stored bytes of the last success; 0 unknown */
	int last_depth;                   /* verify: depth of the last successful run; 0 never */
	int last_exit;                    /* exit code of the last finished run */
	char last_message[BOARD_MSG_MAX]; /* one line, printable, "" after a success */
	uint64_t runs_total;              /* finished runs since the service started */
	uint64_t failures_total;          /* failed or interrupted runs since then */
	uint64_t skipped_total;           /* runs skipped since then: the job ran elsewhere */
};

struct board_stanza {
	char name[SVC_STANZA_MAX + 1];
	struct board_kind kind[PLAN_KIND_COUNT];
	bool pitr;               /* continuous WAL is supervised for this stanza */
	bool wal_running;        /* its receiver runs now */
	time_t wal_last_durable; /* when WAL was last durable in the repository; 0: never */
	time_t window_from;      /* the recovery window (0: unknown or none) */
	time_t window_to;
	int repo_reachable;  /* 1 yes, 0 no, -1 not known yet */
	time_t repo_checked; /* when that was last seen */
};

struct board_data {
	time_t started;  /* when the service started */
	time_t reloaded; /* when the configuration was last (re)loaded */
	size_t n;
	struct board_stanza *stanza; /* in configuration order */
};

struct board_request {
	unsigned id; /* > 0: the job id the API returned */
	bool cancel; /* false: run `kind` of `stanza` now; true: cancel job `id` */
	char stanza[SVC_STANZA_MAX + 1];
	enum plan_kind kind;
	char who[BOARD_WHO_MAX]; /* the token's name, for the audit record */
	time_t at;
};

struct board;

struct board *board_new(void);
void board_free(struct board *b);

struct board_data *board_lock(struct board *b);
void board_unlock(struct board *b);

/* Set the stanza list (on start and reload): stanzas that stay keep their facts, new
 * ones start empty (never succeeded), removed ones go. */
int board_set_stanzas(struct board *b, const char *const *names, size_t n);
/* The stanza named name, or NULL (call with the board locked). */
struct board_stanza *board_find(struct board_data *d, const char *name);

/* The API's side. Queue "run kind of stanza now"; *id is the job id it will run under.
 * -PW_E_NOTFOUND for an unknown stanza, -PW_E_LIMIT when the queue is full (recorded). */
int board_request_run(struct board *b, const char *stanza, enum plan_kind kind, const char *who,
                      unsigned *id);
/* Queue "cancel job id" (-PW_E_NOTFOUND when no job of that id runs or is queued). */
int board_request_cancel(struct board *b, unsigned id, const char *who);

/* What the board knows of one job id, for the API's job resource. Jobs asked for through
 * the API are remembered (the newest BOARD_RECENT_MAX) from the request on; a scheduled
 * job is known while it is its kind's running or last one. */
#define BOARD_RECENT_MAX 128
enum board_job_state {
	BOARD_JOB_QUEUED,     /* waiting on the board for the loop */
	BOARD_JOB_ACCEPTED,   /* taken by the loop: it waits for its stanza to be free */
	BOARD_JOB_RUNNING,    /* its kind's running job */
	BOARD_JOB_FINISHED,   /* its kind's last finished job (st, exit_code, message) */
	BOARD_JOB_SUPERSEDED, /* its kind ran again since: only the newest run is kept */
};
struct board_job_view {
	unsigned id;
	char stanza[SVC_STANZA_MAX + 1];
	enum plan_kind kind;
	enum board_job_state state;
	time_t requested; /* 0: a scheduled job */
	struct plan_state st;
	int exit_code;
	char message[BOARD_MSG_MAX];
	unsigned superseded_by;
};
/* -PW_E_NOTFOUND (recorded) when the board knows nothing of id. */
int board_job_find(struct board *b, unsigned id, struct board_job_view *out);

/* The loop's side: take the oldest request (false: none). */
bool board_take(struct board *b, struct board_request *out);
/* A job id for a run the loop starts on its own (a schedule), unique in this process. */
unsigned board_next_id(struct board *b);
/* Readable while requests are queued; the loop polls it. */
int board_wake_fd(const struct board *b);
#endif
