/* restore.c - a backup object -> age -> zstd -> pg_restore --single-transaction. */
#include "jobs/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "pg/archive.h"
#include "pg/child.h"
#include "filter/filter.h"
#include "pg/globals.h"
#include "pg/pg.h"

/* The child's stdin as a sink: keeps draining its stderr so it never blocks on it. */
struct child_sink {
	struct flt base;
	struct child *c;
};

static int cs_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct child_sink *s = (struct child_sink *)f;
	return child_write_in(s->c, p, n, "pg_restore's input");
}

static int cs_finish(struct flt *f)
{
	(void)f;
	return 0;
}

static void cs_free(struct flt *f)
{
	pw_free(f);
}

static const struct flt_ops cs_ops = {"child-stdin", cs_write, cs_finish, cs_free};

/* The data object's bytes on their way in: hashed and counted against what the (signed)
 * manifest records, and counted for the progress line. */
struct checked {
	struct flt *chain;
	struct pw_sha256_ctx *h;
	uint64_t n;
	const struct restore_opts *o; /* for progress, or NULL */
	const char *phase;
	double start, last;
	const uint8_t *expect; /* the manifest's digest: more bytes than its size stop at once */
	uint64_t limit;
};

static void feed_report(struct checked *c)
{
	if (c->o && c->o->progress)
		c->o->progress(c->o->progress_arg, c->phase, c->n, c->o->object_size,
		               pw_monotonic() - c->start, false);
}

static int checked_feed(void *arg, const uint8_t *p, size_t n)
{
	struct checked *c = arg;
	if (c->expect && n > c->limit - c->n) {
		pw_error(
		    PW_E_VERIFY,
		    "the object is larger than its manifest says (%llu bytes): it was replaced "
		    "or altered",
		    (unsigned long long)c->limit);
		return pw_error_hint("Do not use this backup; restore another one and find out who "
		                     "changed the repository.");
	}
	pw_sha256_update(c->h, p, n);
	c->n += n;
	if (c->o && c->o->progress) {
		double now = pw_monotonic();
		if (now - c->last >= 0.5) {
			c->last = now;
			feed_report(c);
		}
	}
	return flt_write(c->chain, p, n);
}

static int get_checked(struct stor *repo, const char *key, const uint8_t *expect_sha256,
                       uint64_t expect_size, struct flt *chain, const struct restore_opts *o,
                       const char *phase)
{
	struct checked c = {chain, pw_sha256_new(), 0,          o, phase, pw_monotonic(),
	                    0,     expect_sha256,   expect_size};
	c.last = c.start;
	int rc = stor_get(repo, key, checked_feed, &c);
	if (rc == -PW_E_VERIFY)
		pw_error_context("object \"%s\"", key);
	uint8_t d[32];
	pw_sha256_final(c.h, d);
	pw_sha256_free(c.h);
	if (rc == 0)
		feed_report(&c);
	if (rc == 0 && expect_sha256 && (c.n != expect_size || memcmp(d, expect_sha256, 32) != 0)) {
		pw_error(PW_E_VERIFY,
		         "object \"%s\" differs from its manifest (%llu bytes, the manifest says "
		         "%llu, or another SHA-256): it was replaced or altered",
		         key, (unsigned long long)c.n, (unsigned long long)expect_size);
		rc = pw_error_hint("Do not use this backup; restore another one and find out who "
		                   "changed the repository.");
	}
	if (rc == 0)
		rc = flt_finish(chain);
	return rc;
}

int restore_get_checked(struct stor *repo, const char *key, const uint8_t *expect_sha256,
                        uint64_t expect_size, struct flt *chain)
{
	return get_checked(repo, key, expect_sha256, expect_size, chain, NULL, NULL);
}

/* A private unnamed file (O_TMPFILE: no name anyone could swap or open) in the spool
 * directory, for the encrypted data object. */
static int open_spool(const struct restore_opts *o, int *fd)
{
	const char *dir = o->temp_dir && *o->temp_dir ? o->temp_dir : getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	bool shared;
	int dfd, rc = pw_safe_opendir(dir, geteuid(), &shared, &dfd);
	if (rc < 0)
		return pw_error_context("spool directory (--temp-dir)");
	*fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int err = errno;
	if (*fd < 0 && (err == EOPNOTSUPP || err == EISDIR || err == EINVAL)) {
		/* a file system without O_TMPFILE: a fresh O_EXCL name, unlinked at once */
		unsigned char rnd[8];
		char name[40];
		for (int tries = 0; *fd < 0 && tries < 8; tries++) {
			if (RAND_bytes(rnd, sizeof rnd) != 1)
				break;
			snprintf(name, sizeof name,
			         ".pgward-spool-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
			         rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
			*fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			             0600);
			err = errno;
			if (*fd >= 0)
				unlinkat(dfd, name, 0);
		}
	}
	close(dfd);
	if (*fd < 0) {
		pw_error(PW_E_IO, "could not create a private spool file in \"%s\": %s", dir,
		         pw_strerror(err));
		return pw_error_hint("Give a writable directory on a local file system with "
		                     "--temp-dir (it holds the encrypted data object, never "
		                     "plaintext).");
	}
	return 0;
}

int restore_fetch_verified(const struct restore_opts *o, const char *key, int *fd)
{
	*fd = -1;
	PW_CHECK(o->expect_sha256); /* every caller passes the manifest's digest */
	int f = -1, rc = open_spool(o, &f);
	if (rc < 0)
		return rc;
	struct flt *sink = flt_fd_sink(f, "the spool file");
	rc = get_checked(o->repo, key, o->expect_sha256, o->expect_size, sink, o, "downloading");
	flt_chain_free(sink);
	if (rc == 0 && lseek(f, 0, SEEK_SET) < 0)
		rc = pw_error(PW_E_IO, "rewinding the spool file: %s", pw_strerror(errno));
	if (rc < 0) {
		close(f);
		return rc;
	}
	*fd = f;
	return 0;
}

static int count_cb(void *arg, const uint8_t *p, size_t n)
{
	(void)p;
	struct checked *c = arg;
	c->n += n;
	double now = pw_monotonic();
	if (now - c->last >= 0.5) {
		c->last = now;
		feed_report(c);
	}
	return 0;
}

int restore_pump_verified(const struct restore_opts *o, int fd, const char *phase,
                          struct flt *chain)
{
	struct checked c = {chain, NULL, 0, o, phase, pw_monotonic(), 0, NULL, 0};
	c.last = c.start;
	struct flt *head = o->progress ? flt_tap(count_cb, &c, chain) : chain;
	int rc = flt_pump_fd(fd, "the spool file", head);
	if (rc == 0)
		feed_report(&c);
	flt_chain_free(head);
	return rc;
}

int restore_manifest_digest(const struct manifest *manifest, const char *name, uint8_t sha256[32],
                            uint64_t *size)
{
	return manifest_digest(manifest, name, sha256, size);
}

/* Decrypt and decompress the verified spool vfd into a running child's stdin. */
static int feed_child(const struct restore_opts *o, int vfd, struct child *c)
{
	struct child_sink *cs = pw_calloc(1, sizeof *cs);
	cs->base.ops = &cs_ops;
	cs->c = c;
	struct flt *chain =
	    flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO, flt_zstd_decompress(&cs->base));
	return restore_pump_verified(o, vfd, "restoring", chain);
}

bool restore_needs_privilege(const char *message)
{
	static const char *const marks[] = {
	    "permission denied",    "must be superuser",         "must be owner",
	    "only superuser",       "pg_execute_server_program", "pg_read_server_files",
	    "pg_write_server_files"};
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
		if (strstr(message, marks[i]))
			return true;
	return false;
}

int restore_check_role(const struct restore_opts *o, bool *super)
{
	*super = false;
	struct pg_result *r = NULL;
	const char *role = o->role && *o->role ? o->role : NULL;
	const char *params[] = {role};
	int rc = pg_query(o->target,
	                  role ? "select r.rolsuper, pg_has_role(session_user, r.oid, 'member') "
	                         "from pg_catalog.pg_roles r where r.rolname = $1"
	                       : "select r.rolsuper, true from pg_catalog.pg_roles r "
	                         "where r.rolname = session_user",
	                  role ? 1 : 0, role ? params : NULL, &r);
	if (rc < 0)
		return rc;
	if (role && pg_nrows(r) != 1) {
		pg_result_free(r);
		pw_error(PW_E_USAGE, "role \"%s\" does not exist in the target", role);
		return pw_error_hint("Name an existing role with --role, such as the database's "
		                     "owner.");
	}
	if (role && strcmp(pg_value(r, 0, 1), "t") != 0) {
		pg_result_free(r);
		pw_error(PW_E_USAGE, "the login role may not SET ROLE to \"%s\"", role);
		return pw_error_hint("Grant it to the login role (GRANT \"%s\" TO ...), or log in "
		                     "as that role.",
		                     role);
	}
	*super = pg_nrows(r) == 1 && strcmp(pg_value(r, 0, 0), "t") == 0;
	pg_result_free(r);
	return 0;
}

/* After pg_restore failed (the error record holds what it said, c->why its parts): the
 * hint says what state the target is in. One transaction: nothing was committed. Else what
 * pg_restore restored before it stopped stays: count the target's tables against the
 * archive's. */
static int failed_hint(const struct restore_opts *o, const struct child *c, int vfd, int rc)
{
	if (rc == -PW_E_INTERRUPTED || pw_error_code() != PW_E_DB)
		return rc;
	char pghint[400] = "";
	if (*c->why.hint) {
		size_t n = strlen(c->why.hint);
		bool stop = n && c->why.hint[n - 1] == '.';
		snprintf(pghint, sizeof pghint, "PostgreSQL's hint: %s%s ", c->why.hint,
		         stop ? "" : ".");
	}
	if (o->jobs <= 1 && !o->no_single_transaction)
		return pw_error_hint(
		    "%spg_restore ran in one transaction: nothing was committed and "
		    "the target is as it was.",
		    pghint);
	struct pw_error_saved e;
	pw_error_save(&e);
	struct pgdump_info in;
	bool have_toc = restore_peek_toc(o, vfd, &in) == 0;
	struct pg_result *r = NULL;
	long long now = -1;
	if (pg_query(o->target,
	             "select count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n "
	             "on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname <> "
	             "'information_schema' and n.nspname !~ '^pg_'",
	             0, NULL, &r) == 0)
		now = strtoll(pg_value(r, 0, 0), NULL, 10);
	pg_result_free(r);
	pw_error_restore(&e);
	char state[200] = "";
	if (now >= 0 && have_toc)
		snprintf(state, sizeof state, " (it now holds %lld tables; the backup has %d)", now,
		         in.toc_tables);
	else if (now >= 0)
		snprintf(state, sizeof state, " (it now holds %lld tables)", now);
	return pw_error_hint(
	    "%s%s commits as it goes, so what it restored before the error "
	    "stays: the target is partly restored%s. Drop it, or fix the cause "
	    "and restore again with --clean.",
	    pghint, o->jobs > 1 ? "pg_restore --jobs" : "pg_restore without one transaction",
	    state);
}

int restore_into_db(const struct restore_opts *o)
{
	char pg_restore[512];
	int rc = pg_tool_path("pg_restore", pg_server_version(o->target) / 10000, pg_restore,
	                      sizeof pg_restore);
	if (rc < 0)
		return rc;
	/* Nothing of the object reaches pg_restore (or the lock check) before all of it was
	 * checked against the (signed) manifest: a swapped object's SQL would otherwise run
	 * before the last chunk revealed the swap. */
	int vfd = -1;
	if (o->have_spool) { /* fetched and checked by the caller; it closes it */
		vfd = o->spool_fd;
		if (lseek(vfd, 0, SEEK_SET) < 0)
			return pw_error(PW_E_IO, "rewinding the spool file: %s",
			                pw_strerror(errno));
	} else if ((rc = restore_fetch_verified(o, o->key, &vfd)) < 0) {
		return rc;
	}
	if (o->jobs <= 1 && !o->no_single_transaction && (rc = restore_check_locks(o, vfd)) < 0) {
		if (!o->have_spool)
			close(vfd);
		return rc;
	}
	struct pw_buf dbarg = PW_BUF_INIT(16384), envpw = PW_BUF_INIT(4096),
	              rolearg = PW_BUF_INIT(1024);
	char *ci = pg_child_conninfo(o->target, "pgward restore"); /* verify-full like ours */
	pw_buf_printf(&dbarg, "--dbname=%s", ci);
	pw_free(ci);
	if (o->password)
		pw_buf_printf(&envpw, "PGPASSWORD=%s", pw_secret_str(o->password));
	const char *env[] = {envpw.len ? (const char *)envpw.data : NULL, NULL};
	size_t nsel = o->ntables + o->nschemas;
	const char **argv = pw_calloc(20 + 2 * nsel, sizeof *argv);
	struct pw_buf sel = PW_BUF_INIT(1 << 20);
	/* --jobs: pg_restore -j needs a seekable file, so the decrypted archive is spooled to
	 * a private temporary file first (removed on every path) */
	char spool[4096] = "";
	char jobs[32];
	if (o->jobs > 1) {
		const char *dir = o->temp_dir ? o->temp_dir : getenv("TMPDIR");
		/* pg_restore reads the spool back by name: its directory must be one no other
		 * user can swap names in (a sticky /tmp is fine for a fresh mkstemp name) */
		bool shared;
		int dfd;
		if ((rc = pw_safe_opendir(dir && *dir ? dir : "/var/tmp", geteuid(), &shared,
		                          &dfd)) < 0) {
			pw_error_context("spool directory (--temp-dir)");
			goto out;
		}
		close(dfd);
		snprintf(spool, sizeof spool, "%s/pgward-restore-XXXXXX",
		         dir && *dir ? dir : "/var/tmp");
		int fd = mkstemp(spool);
		if (fd < 0) {
			pw_error(PW_E_IO, "could not create a spool file in \"%s\": %s",
			         dir && *dir ? dir : "/var/tmp", pw_strerror(errno));
			rc = pw_error_hint("Give a writable directory with --temp-dir.");
			spool[0] = 0;
			goto out;
		}
		fchmod(fd, 0600);
		struct flt *chain = flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO,
		                                    flt_zstd_decompress(flt_fd_sink(fd, spool)));
		rc = restore_pump_verified(o, vfd, "spooling", chain);
		close(fd);
		if (rc < 0)
			goto out;
		snprintf(jobs, sizeof jobs, "--jobs=%d", o->jobs);
	}
	size_t a = 0;
	argv[a++] = pg_restore;
	if (o->jobs > 1)
		argv[a++] =
		    jobs; /* -j cannot run in one transaction; --exit-on-error still stops */
	else if (!o->no_single_transaction)
		argv[a++] = "--single-transaction";
	argv[a++] = "--exit-on-error";
	/* its line per object is never shown; it makes pg_restore name the TOC entry it
	 * failed at (child.c keeps the end of its messages) */
	argv[a++] = "--verbose";
	argv[a++] = "--no-password";
	if (o->clean) {
		argv[a++] = "--clean";
		argv[a++] = "--if-exists";
	}
	if (o->no_owner)
		argv[a++] = "--no-owner";
	if (o->no_privileges)
		argv[a++] = "--no-privileges";
	if (o->no_tablespaces)
		argv[a++] = "--no-tablespaces";
	if (o->ntables || o->nschemas)
		argv[a++] = "--strict-names"; /* a -t/-n that matches nothing is an error */
	if (o->role && *o->role) {
		pw_buf_printf(&rolearg, "--role=%s", o->role);
		argv[a++] = pw_buf_str(&rolearg);
	}
	for (size_t i = 0; i < o->ntables; i++) {
		argv[a++] = "--table";
		argv[a++] = o->tables[i];
	}
	for (size_t i = 0; i < o->nschemas; i++) {
		argv[a++] = "--schema";
		argv[a++] = o->schemas[i];
	}
	argv[a++] = pw_buf_str(&dbarg);
	if (o->jobs > 1)
		argv[a++] = spool;
	argv[a] = NULL;
	struct child c;
	if (o->jobs > 1) {
		if (o->progress) /* pg_restore -j reads the spool file: no bytes to count */
			o->progress(o->progress_arg, "restoring (pg_restore -j)", 0, 0, 0, false);
		rc = child_start(&c, argv, env, false, false);
		c.stop_on_interrupt = true;
		if (rc == 0 && (rc = child_finish(&c, "pg_restore")) < 0)
			rc = failed_hint(o, &c, vfd, rc);
		child_free(&c);
		goto out;
	}
	rc = child_start(&c, argv, env, true, false);
	c.stop_on_interrupt = true;
	if (rc == 0) {
		rc = feed_child(o, vfd, &c);
		if (rc < 0 && strstr(pw_error_message(), "pg_restore's input")) {
			/* pg_restore stopped reading: its own status says why (0 when a selective
			 * restore had everything it needed) */
			if ((rc = child_finish(&c, "pg_restore")) < 0)
				rc = failed_hint(o, &c, vfd, rc);
		} else if (rc < 0) {
			/* a damaged backup: stop pg_restore before it commits anything */
			int code = pw_error_code();
			char msg[1024], hint[1024];
			pw_strlcpy(msg, pw_error_message(), sizeof msg);
			pw_strlcpy(hint, pw_error_hint_text(), sizeof hint);
			kill(c.pid, SIGKILL);
			child_free(&c);
			pw_error(code, "%s", msg);
			pw_error_hint("%s The target database was left as it was.", hint);
		} else if ((rc = child_finish(&c, "pg_restore")) < 0) {
			rc = failed_hint(o, &c, vfd, rc);
		}
		child_free(&c);
	}
out:
	if (!o->have_spool)
		close(vfd);
	pw_free(argv);
	pw_buf_free(&rolearg, 0);
	pw_buf_free(&sel, 0);
	if (spool[0])
		unlink(spool);
	pw_buf_free(&dbarg, 0);
	pw_buf_free(&envpw, 1);
	return rc;
}

int restore_globals(const struct restore_opts *o, const char *key,
                    const struct globals_apply_opts *ao, struct globals_report *r)
{
	/* Never psql: the object is parsed into the few role and tablespace statements
	 * pg_dumpall writes (anything else refuses the whole object) and applied through
	 * libpq, each statement rebuilt from the parsed names (pg/globals.h). */
	memset(r, 0, sizeof *r);
	struct pw_buf text = PW_BUF_INIT(GLOBALS_MAX_INPUT);
	struct flt *chain = flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO,
	                                    flt_zstd_decompress(flt_buf_sink(&text)));
	int rc = restore_get_checked(o->repo, key, o->expect_sha256, o->expect_size, chain);
	flt_chain_free(chain);
	struct globals *g = NULL;
	if (rc == 0)
		rc = globals_parse(text.data ? (const char *)text.data : "", text.len, &g);
	if (rc == 0)
		rc = globals_apply(o->target, g, ao, r);
	else
		pw_error_context("%s", key);
	globals_free(g);
	pw_buf_free(&text, 1);
	return rc;
}
