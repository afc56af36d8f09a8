/*
 * verify.h - proof, not hope. Three depths per backup:
 *   1 (no key)  every object in the manifest exists with its size and ciphertext SHA-256;
 *               objects no manifest names are listed as strays; a physical backup's WAL
 *               is stored without a gap from its start to its stop LSN and on to the end
 *               of the stored WAL, each object's signature checked (repo/walrepo.h);
 *   2 (-i KEY)  the objects decrypt and decompress to the end, the archive parses to its
 *               end, and its per-table row counts match the encrypted details;
 *   3 (restore) the backup restores into a scratch database and every table's row count
 *               matches the details; the database is on a server the user names, or in a
 *               throwaway cluster pgward starts itself (scratch_local). A physical
 *               backup is restored into a throwaway directory, recovered to the end of
 *               the stored WAL and checked with pg_amcheck (restore_command).
 * Each run appends a verify-<time>-d<depth>-<random>.json next to the backup (created
 * exclusively, never overwritten; see catalog_verify_name).
 */
#ifndef PW_JOBS_VERIFY_H
#define PW_JOBS_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/age.h"
#include "repo/catalog.h"
#include "repo/trust.h"
#include "storage/storage.h"

struct verify_opts {
	struct stor *repo;
	const char *stanza;
	const struct backup_entry *backup;
	const struct age_identity *ids; /* NULL: depth 1 only */
	size_t nids;
	const char *scratch_url; /* depth 3: a server where a scratch database may be created */
	const struct pw_secret *scratch_password;
	bool scratch_local;       /* depth 3 in a throwaway cluster started here (pg/scratch.h) */
	const char *scratch_user; /* its OS user when pgward runs as root (NULL: the default) */
	const char *temp_dir;     /* where its directory goes (NULL: $TMPDIR, else /tmp) */
	/* depth 3 of a physical backup: the restore_command the recovered cluster fetches WAL
	 * with (pgward wal-fetch, as restore --type=physical writes it), and the keys its
	 * WAL objects' signatures are checked against. The backup is restored into a new
	 * directory under temp_dir, recovered to the end of the stored WAL by a server
	 * started as the current user (never root), checked with the stock pg_amcheck --all,
	 * stopped and removed on every path. (Its WAL signatures: signers, below.) */
	const char *restore_command;
	bool record; /* write a verification record */
	/* sign it (<record>.minisig, written first) with this key; NULL: an unsigned record,
	 * which list and check never count as evidence (catalog.h) */
	const struct minisign_seckey *sign_key;
	/* physical backups: the WAL objects recovery from it replays are checked against these
	 * keys, at depth 1 without a key and at depth 3 by the drill's plan (NULL or none:
	 * only that they are there) */
	const struct repo_signers *signers;
	/* Progress, twice a second and once at the end of the objects (finished): bytes read
	 * from the repository out of the sum of the manifest's object sizes; phase "checking"
	 * (depth 1) or "decrypting" (depth 2 and 3); then the drill's restore reports as
	 * restore_opts.progress does (never finished: the caller ends the line). NULL: none. */
	void (*progress)(void *arg, const char *phase, uint64_t done, uint64_t total,
	                 double seconds, bool finished);
	void *progress_arg;
};

/* 0 = the backup passed; -PW_E_VERIFY = a problem was found (report says which);
 * other errors = verification could not run. *report is always set (caller frees). */
int verify_backup(const struct verify_opts *o, json_t **report);

#endif
