/*
 * pitr.h - point-in-time recovery of a physical base backup (restore --type=physical with
 * a target): the target, the base it needs, the proof that the stored WAL reaches it
 * (before anything is written), the recovery settings written into the restored
 * directory, and a start of the server that watches recovery to its end.
 */
#ifndef PW_JOBS_PITR_H
#define PW_JOBS_PITR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "crypto/age.h"
#include "repo/manifest.h"
#include "repo/trust.h"

struct stor;

enum pitr_kind { PITR_NONE, PITR_LATEST, PITR_TIME, PITR_LSN, PITR_XID, PITR_NAME };
enum pitr_action { PITR_PAUSE, PITR_PROMOTE, PITR_SHUTDOWN };

#define PITR_VALUE_MAX 64

struct pitr_target {
	enum pitr_kind kind;
	char value[PITR_VALUE_MAX]; /* as written to recovery_target_* (checked, normalized) */
	time_t time;                /* PITR_TIME: the whole seconds of the target */
	uint64_t lsn;               /* PITR_LSN */
	bool exclusive;             /* recovery_target_inclusive = off */
	enum pitr_action action;
};

/* Parse what the user gave: kind and text (NULL for PITR_NONE and PITR_LATEST). Times are
 * UTC only: "2026-12-07T01:50:00.25Z", "2026-12-07 01:50:00.25+00" (as PostgreSQL prints
 * them) or without a zone; -PW_E_USAGE with a hint for anything else. */
int pitr_target_parse(enum pitr_kind kind, const char *text, struct pitr_target *out);
const char *pitr_kind_name(enum pitr_kind k); /* "time", "lsn", ... */
const char *pitr_action_name(enum pitr_action a);

/* The base backup m can serve the target: it ended (stop LSN, finished time) at or before
 * it. Always true for xid, name and latest (any base: recovery replays forward). */
bool pitr_base_before(const struct manifest *m, const struct pitr_target *t);

/* What the stored WAL proves, from the base's start to the target. */
struct pitr_plan {
	uint32_t segsize;    /* from the first segment's signature (verified) */
	uint32_t base_tli;   /* the base backup's timeline */
	uint32_t target_tli; /* the newest timeline descending from it (the one replayed into) */
	uint64_t from;       /* the base's start LSN */
	uint64_t end;        /* the end of the WAL reachable without a gap */
	time_t end_time;     /* when the object that ends the WAL within reach was stored: the
	                      * time in its checked signature (0: none recorded) */
	uint32_t ignored;    /* a timeline whose history file is stored but does not check:
	                      * never followed (0: none) */
	size_t objects;      /* WAL objects needed (segments and partials) */
	char first_key[256]; /* the first object recovery asks for (fetched and checked) */
};

/* List the stanza's WAL; fetch, check and decrypt the segment holding the base's start
 * (its signature gives the segment size) and, for a newer timeline, its history file
 * (signed, like every WAL object); follow the timelines from the base's to the newest one
 * descending from it through history files that check (one that does not is never
 * followed: out->ignored); prove [base start, target) is stored without a gap. A gap, a
 * target past the last durable WAL (for a time, the signed time of the object that ends
 * it), --latest with WAL stored past an ignored history, a timeline the base is not on:
 * -PW_E_WAL, naming the gap (LSNs and object names) or the end. Nothing is written. */
int pitr_plan_make(struct stor *repo, const char *stanza, const struct manifest *base,
                   const struct pitr_target *t, const struct repo_signers *signers,
                   const struct age_identity *ids, size_t nids, struct pitr_plan *out);

/* The restore_command's text from argv: each argument shell-quoted ('...', ' as '\''),
 * % doubled (PostgreSQL expands %f, %p, %r and %%), except the tokens "%f" and "%p",
 * written as they are. A control character in an argument: -PW_E_USAGE. */
int pitr_restore_command(const char *const *argv, size_t argc, struct pw_buf *out);

/* Into the restored directory (after pg_verifybackup): recovery.signal (new) and, appended
 * to postgresql.auto.conf (its lines kept), restore_command, the target, the action and
 * recovery_target_timeline = 'latest'. port > 0: also what --start needs (port on
 * 127.0.0.1, a socket in dir, archive_mode and ssl off, the log in English on stderr). */
/* restore --start: can DIR be the server's socket directory (a setting's value)? No control
 * character, comma or double quote; -PW_E_USAGE otherwise. */
int pitr_start_dir_check(const char *dir);

int pitr_write_settings(const char *dir, const struct pitr_target *t, const char *restore_command,
                        int port);
/* wal-fetch's prefetch spool for the restored directory dir (which exists): its absolute
 * path + "/pg_wal/" WALSPOOL_NAME. pitr_write_settings appends "--wal-spool" and it to
 * restore_command; whoever ends the recovery removes it (walspool_remove). */
int pitr_spool_path(const char *dir, char *out, size_t size);

/* --start: what recovery reached. */
struct pitr_reached {
	char stop[256]; /* "recovery stopping before commit of transaction 745, time ..." */
	char redo[128]; /* "redo done at 0/5000100 ..." */
	char last[160]; /* "last completed transaction was at log time ..." */
	char state[32]; /* "promoted", "paused", "shut down" */
	double seconds;
	char log[300]; /* the server's log file */
};

/* A recovery that pgward starts itself (restore --start, verify --restore of a physical
 * backup) runs the server and its restore_command as the current user: as root,
 * -PW_E_INSECURE naming what (such as "--start") with the hint to run as the server's
 * user; else 0. */
int pitr_refuse_root(const char *what);

/* Start the server on dir (scratch_datadir_start) and watch its log until recovery ended
 * as the action says (promoted and ready, paused, or shut down), at most timeout seconds.
 * A FATAL (restore_command's exit 126: the object named from wal-fetch's message in the
 * log; a target not reached) is an error and the server is stopped; so is a timeout. */
int pitr_start_watch(const char *dir, int major, const struct pitr_target *t, int timeout,
                     struct pitr_reached *out);

#endif
