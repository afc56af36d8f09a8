/* restore.c - a backup object -> age -> zstd -> pg_restore --single-transaction. */
#include "dump/restore.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "dump/child.h"
#include "filter/filter.h"
#include "pg/pg.h"

/* The child's stdin as a sink: keeps draining its stderr so it never blocks on it. */
struct child_sink {
	struct flt base;
	struct child *c;
};

static int cs_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct child_sink *s = (struct child_sink *)f;
	child_poll_stderr(s->c);
	return pw_write_all(s->c->in_fd, p, n, "pg_restore's input");
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

static int flt_feed(void *arg, const uint8_t *p, size_t n)
{
	return flt_write(arg, p, n);
}

/* Decrypt and decompress one object of the repository into a running child's stdin. */
static int feed_child(const struct restore_opts *o, const char *key, struct child *c)
{
	struct child_sink *cs = pw_calloc(1, sizeof *cs);
	cs->base.ops = &cs_ops;
	cs->c = c;
	struct flt *chain =
	    flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO, flt_zstd_decompress(&cs->base));
	int rc = stor_get(o->repo, key, flt_feed, chain);
	if (rc == 0)
		rc = flt_finish(chain);
	flt_chain_free(chain);
	return rc;
}

int restore_into_db(const struct restore_opts *o)
{
	char pg_restore[512];
	int rc = pg_tool_path("pg_restore", pg_server_version(o->target) / 10000, pg_restore,
	                      sizeof pg_restore);
	if (rc < 0)
		return rc;
	struct pw_buf dbarg = PW_BUF_INIT(16384), envpw = PW_BUF_INIT(4096);
	char *ci = pg_child_conninfo(o->target, "pgward restore"); /* verify-full like ours */
	pw_buf_printf(&dbarg, "--dbname=%s", ci);
	pw_free(ci);
	if (o->password)
		pw_buf_printf(&envpw, "PGPASSWORD=%s", pw_secret_str(o->password));
	const char *env[] = {envpw.len ? (const char *)envpw.data : "PGWARD_NO_PASSWORD=1", NULL};
	size_t nsel = o->ntables + o->nschemas;
	const char **argv = pw_calloc(14 + 2 * nsel, sizeof *argv);
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
			         dir && *dir ? dir : "/var/tmp", strerror(errno));
			rc = pw_error_hint("Give a writable directory with --temp-dir.");
			spool[0] = 0;
			goto out;
		}
		fchmod(fd, 0600);
		struct flt *chain = flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO,
		                                    flt_zstd_decompress(flt_fd_sink(fd, spool)));
		rc = stor_get(o->repo, o->key, flt_feed, chain);
		if (rc == 0)
			rc = flt_finish(chain);
		flt_chain_free(chain);
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
	else
		argv[a++] = "--single-transaction";
	argv[a++] = "--exit-on-error";
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
		rc = child_start(&c, argv, env, false, false);
		c.stop_on_interrupt = true;
		if (rc == 0)
			rc = child_finish(&c, "pg_restore");
		child_free(&c);
		goto out;
	}
	rc = child_start(&c, argv, env, true, false);
	c.stop_on_interrupt = true;
	if (rc == 0) {
		rc = feed_child(o, o->key, &c);
		if (rc < 0 && strstr(pw_error_message(), "pg_restore's input")) {
			/* pg_restore stopped reading: its own status says why (0 when a selective
			 * restore had everything it needed) */
			rc = child_finish(&c, "pg_restore");
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
		} else {
			rc = child_finish(&c, "pg_restore");
		}
		child_free(&c);
	}
out:
	pw_free(argv);
	pw_buf_free(&sel, 0);
	if (spool[0])
		unlink(spool);
	pw_buf_free(&dbarg, 0);
	pw_buf_free(&envpw, 1);
	return rc;
}

int restore_globals(const struct restore_opts *o, const char *key, int *failed)
{
	char psql[512];
	*failed = 0;
	int rc = pg_tool_path("psql", pg_server_version(o->target) / 10000, psql, sizeof psql);
	if (rc < 0)
		return rc;
	struct pw_buf dbarg = PW_BUF_INIT(16384), envpw = PW_BUF_INIT(4096);
	char *ci = pg_child_conninfo(o->target, "pgward restore");
	pw_buf_printf(&dbarg, "--dbname=%s", ci);
	pw_free(ci);
	if (o->password)
		pw_buf_printf(&envpw, "PGPASSWORD=%s", pw_secret_str(o->password));
	const char *env[] = {envpw.len ? (const char *)envpw.data : "PGWARD_NO_PASSWORD=1",
	                     "PGOPTIONS=-c client_min_messages=warning", NULL};
	/* no ON_ERROR_STOP: "role already exists" must not stop the rest */
	const char *argv[] = {psql, "--no-psqlrc", "--quiet", "--no-password", pw_buf_str(&dbarg),
	                      NULL};
	struct child c;
	rc = child_start(&c, argv, env, true, false);
	if (rc == 0) {
		rc = feed_child(o, key, &c);
		int frc = child_finish(&c, "psql (globals)");
		if (rc == 0)
			rc = frc;
		for (const char *p = pw_buf_str(&c.err); (p = strstr(p, "ERROR:")); p += 6)
			(*failed)++;
		child_free(&c);
	}
	pw_buf_free(&dbarg, 0);
	pw_buf_free(&envpw, 1);
	return rc;
}
