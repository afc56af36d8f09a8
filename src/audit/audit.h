/*
 * audit.h - the tamper-evident audit log: one JSON object per line, each
 * carrying the SHA-256 of the line before it ("prev") and a sequence number,
 * so an edited, removed or reordered line breaks the chain. Records hold
 * time, command, stanza, outcome, actor (OS user, database role) and
 * non-secret details; never a secret.
 */
#ifndef PW_AUDIT_AUDIT_H
#define PW_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

struct pw_audit_event {
	const char *command;
	const char *stanza;  /* NULL if none */
	const char *db_role; /* NULL if unknown */
	int exit_code;
	const char *error; /* the error message on failure (already redacted), or NULL */
	json_t *details;   /* borrowed; NULL or an object of non-secret facts */
};

/* Default path: $XDG_STATE_HOME/pgward/audit.log or ~/.local/state/pgward/audit.log. */
char *pw_audit_default_path(void);
/* Append one record (creating the file 0600 and its directory 0700). */
int pw_audit_append(const char *path, const struct pw_audit_event *ev);
/* Append n records under one lock with one fsync, each its own chained line. The lock is
 * waited for at most pw_audit_lock_wait_ms (30 s): a process that holds it longer (stopped,
 * or hung in an fsync) is an error naming the log, never a command that hangs with it. */
int pw_audit_append_many(const char *path, const struct pw_audit_event *evs, size_t n);
extern int pw_audit_lock_wait_ms; /* tests shorten it */

struct pw_audit_report {
	size_t records;
	char head[65];   /* hash of the newest line, hex */
	size_t bad_line; /* 0 if the chain is intact */
	char reason[256];
};
/* Check the whole chain. Returns 0 if intact, -PW_E_AUDIT if broken (report says where). */
int pw_audit_verify(const char *path, struct pw_audit_report *r);

/* Call fn with the SHA-256 (hex) of each line, in order (lineno from 1): the values a
 * backup manifest's audit anchor records ("head" after "records" lines). */
int pw_audit_hashes(const char *path, int (*fn)(void *arg, size_t lineno, const char hash[65]),
                    void *arg);

/* --expect-head: EXPECT is the full head hash or a prefix of it (8 to 64 hex digits, any
 * case). Returns 0 when it names the newest record, -PW_E_CONFIG when it is not hex, too
 * short, or a prefix that names more than one record, -PW_E_AUDIT when it names another
 * record or none (the message says which). HEAD and RECORDS come from pw_audit_verify. */
int pw_audit_expect_head(const char *path, const char *expect, const char head[65], size_t records);

/* Call fn for each record (parsed) whose time is >= since (0 = all). */
int pw_audit_read(const char *path, time_t since, int (*fn)(void *arg, json_t *rec), void *arg);

/* Parse "2026-11-22", "2026-11-22T10:00:00Z" or a relative "90m", "24h", "7d". */
int pw_audit_parse_since(const char *s, time_t now, time_t *out);

#endif
