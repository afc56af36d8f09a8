/*
 * walprefetch.h - wal-fetch's prefetch spool: while PostgreSQL replays segment F, one
 * background process fetches, checks and decrypts the next N segments of F's timeline into
 * a private directory, so that the next restore_command is a rename instead of a download,
 * a signature check and a decryption (what pgBackRest's archive-get async does).
 *
 * The spool is a directory the restoring user made (mode 0700, owned by that user, never
 * reached through a final symbolic link): restore writes <data directory>/pg_wal/
 * pgward-prefetch into restore_command, which PostgreSQL never reads (it reads only
 * segment-named files and archive_status in pg_wal, and base backups of the recovered
 * cluster leave pg_wal's other contents out), and which is on the data directory's file
 * system, so serving is a rename.
 *
 * A spooled file is never trusted for its content: before it is served, the object's
 * signature is read from the repository, its trusted comment checked (by a trusted-signer,
 * naming this stanza, object and timeline), and the file must have exactly the plaintext
 * length and SHA-256 that the comment vouches for - what wal-fetch checks on the
 * synchronous path after decrypting. So a file planted or altered in the spool is not
 * served (it is removed, with a warning), and what is served is byte for byte what the
 * synchronous path would serve. The prefetcher stores full signed segments only (never a
 * partial) and stops at the first segment it cannot fetch and check cleanly; it reports
 * nothing: the synchronous path reports that segment when PostgreSQL asks for it.
 */
#ifndef PW_JOBS_WALPREFETCH_H
#define PW_JOBS_WALPREFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/age.h"
#include "repo/trust.h"

struct stor;

#define WALSPOOL_NAME "pgward-prefetch" /* restore's spool: <data dir>/pg_wal/<this> */
#define WALPREFETCH_MAX 64              /* wal-prefetch: 0 (off) to this many segments */

/* ---- pure ---- */

/* The name of the k-th segment (k >= 1) after segment file fname on its timeline;
 * -PW_E_USAGE when fname is not a segment name for segsize or the number overflows. */
int walspool_next(const char *fname, uint32_t segsize, unsigned k, char out[25]);
/* Whether a spool entry is one of the n segments after fname on its timeline (the
 * window a prefetcher started after fname keeps); anything else is removed. */
bool walspool_wanted(const char *entry, const char *fname, uint32_t segsize, unsigned n);

/* ---- the spool directory ---- */

/* Open the spool directory path (created with mode 0700 when create and it is missing;
 * its parent must exist): a directory, not a symbolic link, owned by the current user,
 * with no access for group or others. -PW_E_INSECURE (recorded) otherwise;
 * -PW_E_NOTFOUND when missing and !create. */
int walspool_open(const char *path, bool create, int *dfd);

/* Serve segment file fname from the spool into path (renamed there): 0 when served
 * (*segsize from its signature; when the prefetcher is writing it, after waiting for it);
 * 1 when not (not spooled, or a spooled copy that is not
 * a regular file of ours with one link and mode 0600 at most, or that differs from the
 * signed length and SHA-256 of the object key: removed, with a warning; or the signature
 * could not be read: the synchronous path then says why). Never an error. */
int walspool_take(int dfd, struct stor *repo, const char *stanza, const char *fname,
                  const char *key, uint32_t tli, const struct repo_signers *signers,
                  const char *path, uint32_t *segsize);

/* Become the spool's one prefetcher: 1 and *lockfd (an exclusive lock held while it is
 * open) when no other holds it, else 0. Never an error. */
int walspool_lock(int dfd, int *lockfd);

/* fname was served while a prefetcher runs (its lock is held): tell it, so that it skips
 * what PostgreSQL already has instead of fetching it for nothing (advisory: a file in the
 * spool the prefetcher reads before each segment). */
void walspool_hint(int dfd, const char *fname);

struct walprefetch_opts {
	struct stor *repo;
	const char *stanza;
	const struct repo_signers *signers;
	const struct age_identity *ids;
	size_t nids;
	int dfd;           /* the spool, its lock held */
	const char *after; /* the segment just served */
	uint32_t segsize;
	unsigned n; /* 1..WALPREFETCH_MAX */
};
/* The prefetcher (lock held): removes what is not in the window (the n segments after
 * o->after) and stale temporary files, then fetches each missing segment of the window in
 * order (the full segment object: signature, decryption, length and SHA-256, as
 * walobj_get), writes it to a temporary name and links it in; stops at the first one it
 * cannot get cleanly, at a stop request (walspool_remove) or a signal. Returns how many it
 * stored; errors are not recorded. */
unsigned walprefetch_run(const struct walprefetch_opts *o);

/* Stop the prefetcher of the spool at path (a stop request, then its lock, waited for at
 * most timeout seconds) and remove the spool and everything in it. Best effort: 0, or
 * -PW_E_IO (recorded) when something is left. A missing spool is 0. */
int walspool_remove(const char *path, int timeout);

#endif
