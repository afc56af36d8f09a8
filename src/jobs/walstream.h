/*
 * walstream.h - continuous WAL into the repository (wal-stream), and the signed,
 * encrypted WAL objects that wal-push writes and wal-fetch reads.
 *
 * The receiver assembles each segment in memory (never plaintext on disk), stores it as
 * one object (zstd -> age -> storage, then its signature), stores an encrypted partial of
 * the open segment every flush interval when it grew, and reports to the server as
 * written and flushed only what is durable in the repository, so the physical slot never
 * releases WAL the repository does not hold.
 */
#ifndef PW_JOBS_WALSTREAM_H
#define PW_JOBS_WALSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "crypto/age.h"
#include "crypto/minisign.h"
#include "repo/trust.h"

struct stor;
struct pg_conn;

struct walobj_writer {
	struct stor *repo;
	const char *stanza;
	const struct age_recipient *rcpts;
	size_t nrcpts;
	const struct minisign_seckey *sk;
	int level;
};

/* Store plain as key (object, then key.minisig). When the key already holds a validly
 * signed object with the same plaintext, nothing is written and *existed is set; a
 * different plaintext or a bad signature is -PW_E_WAL. A complete segment whose object
 * exists unsigned (a crash between the two writes) is stored as its full-size partial. */
int walobj_put(const struct walobj_writer *w, const char *key, uint32_t tli, uint32_t segsize,
               const uint8_t *plain, size_t n, bool *existed);

/* Read key: its signature must be by one of signers and name this stanza, key and
 * timeline; then decrypt, check length and SHA-256 into plain (capped by plain->max);
 * *segsize (NULL: not wanted) from the signature; *unsig (or NULL) when the object exists
 * without a signature.
 * -PW_E_NOTFOUND (not recorded as a failure) when the object does not exist. */
int walobj_get(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
               const struct repo_signers *signers, const struct age_identity *ids, size_t nids,
               struct pw_buf *plain, uint32_t *segsize, bool *unsig);

struct walstream_opts {
	struct walobj_writer w;
	const char *slot;
	unsigned flush_interval; /* seconds, >= 1 */
	uint64_t max_retained;   /* warn when the slot holds more WAL than this */
	/* a new replication connection; called again after each drop, so the URL is
	 * re-resolved from url-env / url-file */
	int (*connect)(void *arg, struct pg_conn **out);
	void *arg;
};

/* Run until a signal (then the open segment's partial is stored: returns 0) or an error
 * that retrying cannot fix. */
int walstream_run(const struct walstream_opts *o);

#endif
