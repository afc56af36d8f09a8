/*
 * restore.h - stream a backup's data object into pg_restore (one transaction, stop at
 * the first error) or into a plain archive file. Used by restore and by verify --restore.
 */
#ifndef PW_JOBS_RESTORE_H
#define PW_JOBS_RESTORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "crypto/age.h"
#include "filter/filter.h"
#include "repo/manifest.h"
#include "storage/storage.h"

struct pg_conn;

struct restore_opts {
	struct stor *repo;
	const char *key; /* the data object */
	const struct age_identity *ids;
	size_t nids;
	struct pg_conn *target; /* connected; pg_restore gets its verified parameters */
	const struct pw_secret *password;
	bool clean;
	bool no_owner;
	bool no_privileges;        /* pg_restore --no-privileges (no GRANT/REVOKE) */
	bool no_tablespaces;       /* pg_restore --no-tablespaces */
	const char *const *tables; /* pg_restore -t */
	size_t ntables;
	const char *const *schemas; /* pg_restore -n */
	size_t nschemas;
	int jobs;                   /* > 1: spool to a 0600 temp file and run pg_restore -j */
	bool no_single_transaction; /* jobs 1 without --single-transaction: commits as it goes */
	const char *temp_dir;       /* for the spool file (default $TMPDIR or /var/tmp) */
	/* the data object's ciphertext as the (signed) manifest records it; checked before
	 * pg_restore may commit (NULL: not checked) */
	const uint8_t *expect_sha256;
	uint64_t expect_size;
	/* have_spool: the data object is already fetched and checked (restore_fetch_verified)
	 * into spool_fd, which restore_into_db reads from its start and does not close */
	bool have_spool;
	int spool_fd;
	const char *role; /* pg_restore --role (SET ROLE after connecting), or NULL */
	/* Progress, twice a second and at the end: bytes of the data object read from the
	 * repository out of object_size (the manifest's size of it; 0 if not known). */
	uint64_t object_size;
	void (*progress)(void *arg, const char *phase, uint64_t done, uint64_t total,
	                 double seconds, bool finished);
	void *progress_arg;
};

/* Stream object key into chain, then check its ciphertext's size and SHA-256 against
 * expect_sha256 / expect_size (when expect_sha256 is not NULL) BEFORE finishing the chain,
 * so a replaced object fails before its last chunk is released. Does not free chain. */
int restore_get_checked(struct stor *repo, const char *key, const uint8_t *expect_sha256,
                        uint64_t expect_size, struct flt *chain);
/* The size and SHA-256 the manifest records for object name; -PW_E_VERIFY if absent. */
int restore_manifest_digest(const struct manifest *manifest, const char *name, uint8_t sha256[32],
                            uint64_t *size);
/* Before a restore into o->target: is the role that will run the backup's code a superuser
 * (o->role if set, else the login role)? *super set; an error when o->role does not exist
 * or the login role may not SET ROLE to it. */
int restore_check_role(const struct restore_opts *o, bool *super);

/* A pg_restore failure (its message) because the restoring role lacks a privilege: an
 * untrusted language or extension, COPY TO/FROM PROGRAM or a file, superuser-only
 * settings. Not damage and not tampering: the restore ran with the least power. */
bool restore_needs_privilege(const char *message);

/* Returns 0, or an error; on any error pg_restore is stopped before it commits. Needs
 * expect_sha256 (the object is fetched and checked first: restore_fetch_verified). A
 * one-transaction restore then checks that the target's lock table can hold it
 * (restore_check_locks). */
int restore_into_db(const struct restore_opts *o);

/* The data object's ciphertext, fetched whole into a private unnamed file in temp_dir
 * (never plaintext) and checked against expect_sha256 / expect_size before anything reads
 * it: no byte of a swapped or altered object ever reaches pg_restore. *fd is at offset 0. */
int restore_fetch_verified(const struct restore_opts *o, const char *key, int *fd);
/* Feed a verified spool (restore_fetch_verified) into chain, which this takes over (and
 * finishes), with progress under phase. */
int restore_pump_verified(const struct restore_opts *o, int fd, const char *phase,
                          struct flt *chain);

struct pgdump_info;
/* Decrypt the verified spool fd only up to the end of the archive's table of contents
 * (restore_locks.c). */
int restore_peek_toc(const struct restore_opts *o, int fd, struct pgdump_info *out);
/* Locks a one-transaction restore of an archive with this table of contents needs, about. */
long restore_locks_needed(const struct pgdump_info *in);
/* The max_locks_per_transaction a server with this many backends (max_connections +
 * max_prepared_transactions) needs for it, rounded up to a multiple of 64: what
 * restore_check_locks asks for and what the local drill's cluster is started with. */
long restore_locks_per_transaction(const struct pgdump_info *in, long backends);
/* -PW_E_DB naming max_locks_per_transaction when the target cannot hold them. */
int restore_check_locks(const struct restore_opts *o, int fd);
/* Apply a globals object (roles, tablespaces): parsed (pg/globals.h), refused whole if it
 * holds anything but pg_dumpall's role and tablespace statements, then applied through
 * libpq on o->target; roles that exist are left as they are and listed in *r. Never psql. */
struct globals_apply_opts;
struct globals_report;
int restore_globals(const struct restore_opts *o, const char *key,
                    const struct globals_apply_opts *ao, struct globals_report *r);

#endif
