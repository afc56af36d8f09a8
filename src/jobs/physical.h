/*
 * physical.h - one physical base backup: BASE_BACKUP over a replication connection
 * (pg/basebackup.h), each archive (base.tar, one per tablespace) and PostgreSQL's
 * backup_manifest streamed through zstd -> age -> storage as one object each, never
 * plaintext on disk; the encrypted details (tablespaces and their locations) and the signed
 * manifest (kind physical, timeline, start and stop LSN) last, as for logical backups.
 */
#ifndef PW_JOBS_PHYSICAL_H
#define PW_JOBS_PHYSICAL_H

#include "jobs/backup.h"

#define PHYS_BASE_OBJECT "base.tar.zst.age"
#define PHYS_MANIFEST_OBJECT "backup_manifest.zst.age"

/* o->conn: an ordinary session (advisory lock, version, source); repl: a replication
 * connection to the same server. o->preflight may be NULL. */
int physical_backup_run(const struct backup_opts *o, struct pg_conn *repl, struct backup_result *r);

/* ---- restore ---- */

#define PHYS_MAP_MAX 32

struct phys_ts_map {
	uint32_t oid;
	const char *dir;
};

struct physical_restore_opts {
	struct stor *repo;
	const char *stanza, *id;
	const struct manifest *manifest; /* the picked backup's (trusted) manifest */
	const struct age_identity *ids;
	size_t nids;
	const char *target_dir; /* empty or absent; created 0700 */
	const struct phys_ts_map *map;
	size_t nmap;
	const char *temp_dir; /* the ciphertext spool (restore_fetch_verified) */
	void (*progress)(void *arg, const char *phase, uint64_t done, uint64_t total,
	                 double seconds, bool finished);
	void *progress_arg;
};

struct physical_restore_result {
	uint64_t files, bytes;
	bool verified; /* pg_verifybackup passed */
};

/* Refuse before writing anything when target_dir (or a mapped tablespace directory) is
 * not empty, not ours or a link, or a tablespace has no mapping; fetch every object and
 * check it against the manifest (size, SHA-256) before any byte is extracted; decrypt and
 * extract with the tar reader (filter/tar.h), only below the target; write
 * backup_manifest; run the stock pg_verifybackup. On a failure after extraction began the
 * directory is left as it is (the message says to remove it). */
int physical_restore_run(const struct physical_restore_opts *o,
                         struct physical_restore_result *res);

#endif
