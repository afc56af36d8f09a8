/*
 * backup.h - one logical backup: pg_dump -Fc -Z0 (read-only session) ->
 * zstd -> age (to every recipient) -> repository, then globals, the encrypted
 * details, and the plaintext manifest last. Nothing plaintext touches local
 * disk; a failure at any point leaves no manifest, so no complete backup.
 */
#ifndef PW_JOBS_BACKUP_H
#define PW_JOBS_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/age.h"
#include "crypto/minisign.h"
#include "jobs/preflight.h"
#include "repo/manifest.h"
#include "storage/storage.h"

struct pg_conn;

struct backup_progress {
	const char *phase; /* "dumping", "uploading", "roles", "committing" */
	/* the table whose data pg_dump is sending now (NULL between tables), and how many of the
	 * archive's tables are done: an honest count from the archive's table of contents */
	const char *schema, *table;
	size_t tables_done, tables_total;
	uint64_t raw;      /* bytes read from pg_dump */
	uint64_t stored;   /* bytes of ciphertext written */
	uint64_t estimate; /* database size (a rough guide to the dump size) */
	double seconds;
	bool done;
};

struct backup_opts {
	struct pg_conn *conn; /* connected, read-only session, preflight passed */
	const struct preflight *preflight;
	const struct pw_secret *password;
	struct stor *repo;
	const char *stanza;
	const struct age_recipient *rcpts;
	size_t nrcpts;
	int level;
	int threads;
	bool privileged; /* --allow-privileged was needed */
	int lock_days;
	enum stor_lock_mode lock_mode;
	uint64_t rate_limit; /* bytes per second read from pg_dump; 0 = unlimited */
	/* signs manifest.json (manifest.json.minisig is written just before it); NULL: the
	 * backup is unsigned */
	const struct minisign_seckey *sign_key;
	/* borrowed: recorded in the manifest as "audit_anchor" (NULL or not present: none) */
	const struct manifest_anchor *audit_anchor;
	/* borrowed: the tags recorded in the manifest (what the backup stands for and how long
	 * each keeps it: repo/retention.h) */
	const struct manifest_tag *tags;
	size_t ntags;
	void (*progress)(void *arg, const struct backup_progress *p);
	void *progress_arg;
};

struct backup_result {
	char id[64];
	struct manifest *manifest; /* owned: what was committed */
	char *manifest_text;       /* owned: its exact bytes (as signed) */
	bool elsewhere; /* refused: another backup of the stanza holds its lock (exit 30) */
};

int backup_run(const struct backup_opts *o, struct backup_result *r);
void backup_result_free(struct backup_result *r);

#endif
