/*
 * rotation.h - the rotation of a credential (docs/credentials.md, "Rotation") as a state
 * machine: a pure transition function (state + event + facts -> next state + action, no
 * I/O, unit-tested in tests/unit/test_rotation.c) and the executor that performs the
 * actions through cred.c. What only the command layer can do (attachments, sealing to
 * recipients, the audit log, showing a password) comes in as hooks.
 *
 *   ACTIVE --START--> CREATED --TICK--> DRAINING --QUIET--> FINISHING --QUIET--> ACTIVE
 *                     (new username)    (attachments      (old username     (alias dropped)
 *                                        have its URL)     dropped, renamed,
 *                                                          alias kept)
 *   DRAINING --QUIET, new password unknown here, rotate NAME--> ACTIVE (no alias)
 *
 * The state is stored in the database (the credential's comment: "state", "rotation"."step"),
 * so a rotation survives pgward exiting between steps: the next command resumes it.
 */
#ifndef PW_CRED_ROTATION_H
#define PW_CRED_ROTATION_H

#include <stdbool.h>

#include <jansson.h>

#include "common/secret.h"
#include "cred/cred.h"

enum cred_rot_state {
	CRED_ROT_ACTIVE,    /* no rotation under way */
	CRED_ROT_CREATED,   /* step 1: <name>-rotating exists; attachments may not have it yet */
	CRED_ROT_DRAINING,  /* step 2: attachments have the rotating URL; <name> drains */
	CRED_ROT_FINISHING, /* step 3 done: the alias <name>-rotating drains */
	CRED_ROT_UNKNOWN,   /* "rotating" with a step this pgward does not know */
};

enum cred_rot_event {
	CRED_ROT_EV_START, /* the user asks for a rotation (rotate NAME, --all) */
	CRED_ROT_EV_TICK,  /* look again and move on where the facts allow */
	CRED_ROT_EV_QUIET, /* the draining username has had no session for a while */
	CRED_ROT_EV_BUSY,  /* the draining username still has sessions */
};

enum cred_rot_action {
	CRED_ROT_ACT_NONE,          /* nothing pending */
	CRED_ROT_ACT_CREATE,        /* step 1: create <name>-rotating with a new password */
	CRED_ROT_ACT_RESUME,        /* START on a pending rotation: continue it (TICK) */
	CRED_ROT_ACT_PUBLISH,       /* end of step 1: attachments get the rotating URL */
	CRED_ROT_ACT_DRAIN,         /* step 2 / 4: (terminate, then) look for sessions */
	CRED_ROT_ACT_WAIT,          /* sessions remain: wait (or stop here without --wait) */
	CRED_ROT_ACT_WAIT_PASSWORD, /* drained, but the new password is not known here */
	CRED_ROT_ACT_SWAP,          /* step 3: drop <name>, rename <name>-rotating to <name> */
	CRED_ROT_ACT_FINISH,        /* step 4: drop the alias */
	CRED_ROT_ACT_REFUSE,        /* cannot go on: see refusal */
};

enum cred_rot_refusal {
	CRED_ROT_REF_NONE,
	CRED_ROT_REF_UNKNOWN_STEP,       /* the stored step is not one of ours */
	CRED_ROT_REF_OUT_OF_ORDER,       /* an event that cannot happen in this state */
	CRED_ROT_REF_PASSWORD_ELSEWHERE, /* step 1 stopped; another host may hold the password */
};

/* What the executor found out before asking for the next step. */
struct cred_rot_facts {
	bool explicit_;          /* the user named this credential (rotate NAME or --all) */
	bool password_known;     /* the rotation's new password is known to this process */
	bool password_elsewhere; /* attachments on another host may hold it */
	bool deadline;           /* --force, or the grace period is over */
};

struct cred_rot_step {
	enum cred_rot_state next;
	enum cred_rot_action action;
	enum cred_rot_refusal refusal;
	bool fresh_password; /* PUBLISH: give the rotating username a new password first */
	bool terminate;      /* DRAIN: terminate the draining username's sessions first */
	bool republish;      /* DRAIN in FINISHING: attachments still on the alias get the
	                      * final URL (idempotent; after a crash right after the swap) */
	bool alias;          /* SWAP: keep <name>-rotating as an alias with the same password */
};

/* The pure transition function. */
struct cred_rot_step cred_rot_next(enum cred_rot_state s, enum cred_rot_event ev,
                                   const struct cred_rot_facts *f);
/* The state stored in a credential's bookkeeping (meta: its comment). */
enum cred_rot_state cred_rot_state_of(json_t *meta);
const char *cred_rot_state_name(enum cred_rot_state s);
/* Which username drains in a state (out: "<name>" or "<name>-rotating"). */
void cred_rot_draining_role(enum cred_rot_state s, const char *name, char *out, size_t size);
/* Whether the grace period of a step taken at step_at (seconds, the database's clock) is
 * over at now. step_at and grace come from the role's comment, which whoever has
 * CREATEROLE can rewrite: no value overflows, and a step dated in the future cannot hold
 * the rotation (and the old password) back for good. */
bool cred_rot_grace_over(long long now, long long step_at, long long grace);

/* What the command layer does for the executor. */
struct cred_rot_hooks {
	void *arg;
	/* The rotating username's password from this host's attachments or sealed copy (-i);
	 * 0 with *out NULL when it is not known here. */
	int (*find_password)(void *arg, const struct cred *c, struct pw_secret **out);
	/* Another host holding attachments of c (its name), or NULL. */
	const char *(*elsewhere)(void *arg, const struct cred *c);
	/* Seal a password to the configured recipients (*out NULL if there are none). */
	int (*seal)(void *arg, const struct pw_secret *pw, char **out);
	/* Write user's URL into name's attachments (pw NULL: each keeps its password;
	 * only_from: only those still naming that username) and run their on-change. */
	int (*publish)(void *arg, const char *name, const char *user, const struct pw_secret *pw,
	               const char *only_from);
	/* One audit record per step (takes extra, may be NULL). */
	void (*audit)(void *arg, const char *name, const char *step, json_t *extra);
	/* A password nobody has seen yet (a resumed step 1 made it): show it now. */
	void (*show)(void *arg, const char *name, const char *user, const struct pw_secret *pw);
};

/* One process's rotations: the executor's memory between steps. */
struct cred_rot_run {
	struct cred_conn *cc;
	const struct cred_rot_hooks *hooks;
	char name[64];        /* whose password pw is */
	struct pw_secret *pw; /* the new password of a rotation this process knows */
	bool fresh;           /* pw was made by a resumed step 1 */
	bool shown;           /* and has been shown */
};

/* rotate NAME: on an active credential, step 1 (a new password, the rotating username;
 * *created true: advance next); on a pending one nothing (*created false: advance it). */
int cred_rot_start(struct cred_rot_run *r, const char *name, long grace, bool force, bool *created);
/* Move a pending rotation on as far as it can go now (to the end with wait). explicit_: the
 * user named this credential, so the swap may go ahead without the alias where the new
 * password is not known here. */
int cred_rot_advance(struct cred_rot_run *r, const char *name, bool wait, bool force,
                     bool explicit_);
void cred_rot_run_clear(struct cred_rot_run *r);

#endif
