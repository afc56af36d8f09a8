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

#endif
