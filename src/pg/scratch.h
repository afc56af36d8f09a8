/*
 * scratch.h - a throwaway PostgreSQL cluster for restore drills (verify --scratch-local).
 *
 * scratch_start: finds the server programs (initdb, pg_ctl, postgres) of the backup's major
 * version in /usr/lib/postgresql/<major>/bin, else of the newest installed version above it;
 * creates a 0700 directory under the temp dir; runs initdb (superuser "pgward", trust for
 * the local socket only, no host connections) and starts the server listening on a unix
 * socket in that directory only (listen_addresses = '', fsync off). As root, the server
 * programs run as a dedicated unprivileged user (SCRATCH_OS_USER), which owns the directory;
 * they get an empty environment (PATH and LC_ALL=C only).
 * scratch_free: stops the server (immediate) and removes the whole directory. It runs on
 * every path; a failing scratch_start has already cleaned up after itself.
 */
#ifndef PW_PG_SCRATCH_H
#define PW_PG_SCRATCH_H

#include <stddef.h>

#define SCRATCH_SUPERUSER "pgward"
/* As root, the OS user of the cluster: a dedicated system user. "postgres", root, a user
 * owning /var/lib/postgresql or the data directory of a running (non-scratch) cluster are
 * refused, by default or named with scratch-user. */
#define SCRATCH_OS_USER "pgward-scratch"

/* max_connections of a scratch cluster (the lock table holds this many x
 * max_locks_per_transaction) */
#define SCRATCH_MAX_CONNECTIONS 20
/* the cap on max_locks_per_transaction (x 20 connections: about 330,000 lock slots, some
 * 100 MB of shared memory): a table of contents cannot make the drill's server huge */
#define SCRATCH_MAX_LOCKS 16384

struct scratch_opts {
	int min_major;        /* the backup's server major version (0: unknown, any) */
	const char *temp_dir; /* parent of the cluster directory (NULL: $TMPDIR, else /tmp) */
	const char *user;     /* as root: the server's OS user (NULL: SCRATCH_OS_USER) */
	int start_timeout;    /* seconds pg_ctl start may wait (0: 60) */
	/* max_locks_per_transaction for the cluster (0: the server's default, 64); it has
	 * SCRATCH_MAX_CONNECTIONS connections and no prepared transactions */
	long max_locks_per_transaction;
};

struct scratch;

int scratch_start(const struct scratch_opts *o, struct scratch **out);
/* Stop the server and remove its directory; keeps the current error record. NULL-safe. */
void scratch_free(struct scratch *s);

/* libpq conninfo for dbname over the cluster's socket, as SCRATCH_SUPERUSER (allocated). */
char *scratch_conninfo(const struct scratch *s, const char *dbname);
/* the same as another role of the cluster */
char *scratch_conninfo_as(const struct scratch *s, const char *dbname, const char *user);
const char *scratch_dir(const struct scratch *s);
const char *scratch_bindir(const struct scratch *s);
const char *scratch_user(const struct scratch *s); /* the OS user the server runs as */
int scratch_major(const struct scratch *s);
double scratch_start_seconds(const struct scratch *s);

/* An existing data directory (a restore's: restore --type=physical --start): pg_ctl start
 * without waiting, as the current user (never as root: the caller refuses that), with an
 * empty environment (PATH and LC_ALL=C), the server's output into log. The caller watches
 * the log and stops the server with scratch_datadir_stop when it gives up. */
int scratch_datadir_start(int min_major, const char *datadir, const char *log);
/* pg_ctl stop -m immediate; best effort, keeps the current error record. */
void scratch_datadir_stop(int min_major, const char *datadir);

/* A new 0700 directory under temp_dir (NULL: $TMPDIR, else /tmp) whose socket path
 * (<dir>/.s.PGSQL.<port>) fits, into out. */
int scratch_mkdir(const char *temp_dir, char *out, size_t size);
/* Remove dir and all below it (no link followed, no other file system); warns on failure. */
void scratch_rmdir(const char *dir);
/* The stock pg_amcheck --all --install-missing (of min_major, as scratch_find_bindir finds
 * it) against the server on datadir's socket and port, as the current user (never root);
 * 0, or -PW_E_DB with what it printed. */
int scratch_datadir_amcheck(int min_major, const char *datadir, int port);

/* The directory of the server programs for min_major (see above), or an error with a hint. */
int scratch_find_bindir(int min_major, char *out, size_t size, int *major);

#endif
