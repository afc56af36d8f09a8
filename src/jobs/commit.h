/*
 * commit.h - what every backup kind shares (logical backup.c, physical physical.c): the
 * storage writer as a filter chain's sink, one stanza's backups one at a time, and the
 * commit point - the manifest's common fields, then its signature, then the manifest.
 */
#ifndef PW_JOBS_COMMIT_H
#define PW_JOBS_COMMIT_H

#include <stdint.h>
#include <time.h>

#include "filter/filter.h"
#include "jobs/backup.h"
#include "repo/manifest.h"
#include "storage/storage.h"

/* The storage writer as a chain's last filter; *stored counts the bytes handed to it. */
struct flt *job_stor_sink_new(struct stor_writer *w, uint64_t *stored);

/* One backup of a stanza at a time, logical or physical, across hosts: a session advisory
 * lock on the source database (released by job_stanza_unlock or when the session ends). */
/* *elsewhere: the lock is held by another session (the error is -PW_E_STORAGE then). */
int job_stanza_lock(struct pg_conn *c, const char *stanza, bool *elsewhere);
void job_stanza_unlock(struct pg_conn *c, const char *stanza);

/* The fields every manifest has: format, tool, stanza, id, kind, times, server version,
 * role, encryption and its recipients' fingerprints, compression, object lock (from wo),
 * the audit anchor and the source (host, port, standby). */
int job_manifest_fill(struct manifest *m, const struct backup_opts *o, const char *id,
                      enum manifest_kind kind, time_t started, time_t finished,
                      const struct stor_write_opts *wo);

/* The commit point: encode m, write its signature (with o->sign_key), then the manifest.
 * *text: the committed bytes (allocated) on success. */
int job_manifest_commit(const struct backup_opts *o, const char *id, const struct manifest *m,
                        time_t finished, const struct stor_write_opts *wo, char **text);

#endif
