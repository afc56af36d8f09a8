/* verify.c - integrity, decryptability and restore drills, with a written record. */
#include "jobs/verify.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "pg/archive.h"
#include "pg/globals.h"
#include "jobs/physical.h"
#include "jobs/pitr.h"
#include "jobs/restore.h"
#include "pg/scratch.h"
#include "filter/filter.h"
#include "filter/tar.h"
#include "pg/pg.h"
#include "repo/wal.h"
#include "repo/walrepo.h"
#include "pg/replication.h"

#define DETAILS_MAX (64 * 1024 * 1024)

struct vctx {
	const struct verify_opts *o;
	json_t *problems;
	char prefix[256];
	uint64_t done, total; /* progress: bytes read, the manifest's sizes summed */
	double t0, last;
	/* the restore drill failed in PostgreSQL (not an object that differs from the signed
	 * manifest): the hint says so, and never blames the repository */
	bool drill_restore_failed;
	bool drill_needs_privilege;
};

static double now_s(void);

static void verify_progress(struct vctx *v, bool finished)
{
	if (!v->o->progress)
		return;
	double t = now_s();
	if (!finished && t - v->last < 0.5)
		return;
	v->last = t;
	v->o->progress(v->o->progress_arg, v->o->ids ? "decrypting" : "checking", v->done, v->total,
	               t - v->t0, finished);
}

static void problem(struct vctx *v, const char *object, const char *fmt, ...) PW_PRINTF(3, 4);
static void problem(struct vctx *v, const char *object, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* object names and messages quote the repository: one sanitizer before any output */
	char shown[1100];
	json_t *p = json_object();
	if (object)
		json_object_set_new(p, "object",
		                    json_string(pw_str_printable(shown, sizeof shown, object)));
	json_object_set_new(p, "problem", json_string(pw_str_printable(shown, sizeof shown, msg)));
	json_array_append_new(v->problems, p);
}

/* ---- depth 1 and 2 in one pass per object: hash the ciphertext, optionally decrypt ---- */

struct pass {
	struct pw_sha256_ctx *sha;
	uint64_t bytes;
	struct flt *chain; /* decrypt chain, or NULL */
	int chain_rc;
	struct vctx *v; /* for progress */
};

static int pass_sink(void *arg, const uint8_t *p, size_t n)
{
	struct pass *ps = arg;
	pw_sha256_update(ps->sha, p, n);
	ps->bytes += n;
	ps->v->done += n;
	verify_progress(ps->v, false);
	if (ps->chain && ps->chain_rc == 0) {
		ps->chain_rc = flt_write(ps->chain, p, n);
		if (ps->chain_rc < 0)
			ps->chain_rc = -pw_error_code(); /* keep hashing: depth 1 still reports */
	}
	return 0;
}

static int parser_cb(void *arg, const uint8_t *p, size_t n)
{
	return pgdump_parser_update(arg, p, n);
}

static int null_write(struct flt *f, const uint8_t *p, size_t n)
{
	(void)f, (void)p, (void)n;
	return 0;
}

static int null_finish(struct flt *f)
{
	(void)f;
	return 0;
}

static void null_free(struct flt *f)
{
	pw_free(f);
}

static const struct flt_ops null_ops = {"discard", null_write, null_finish, null_free};

static struct flt *discard(void)
{
	struct flt *f = pw_calloc(1, sizeof *f);
	f->ops = &null_ops;
	return f;
}

/* Check one object; with a chain, also decrypt it. Returns 0 or an operational error. */
/* depth 2 of a physical backup: its archives must parse to the end as the tar reader of
 * restore --type=physical reads them (nothing is written) */
static int tar_nop(void *arg, const struct tar_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}

static int tar_nop_data(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return 0;
}

static const struct tar_ops tar_check_ops = {tar_nop, tar_nop_data, tar_nop};

static bool is_archive(const struct manifest *m, const char *name)
{
	const char *suf = ".tar.zst.age";
	size_t n = strlen(name), k = strlen(suf);
	return m->kind == MANIFEST_PHYSICAL && n > k && strcmp(name + n - k, suf) == 0;
}

static int check_object(struct vctx *v, const struct manifest_object *mo, struct flt *chain,
                        bool *ok_out)
{
	const char *name = mo->name;
	uint64_t size = mo->size;
	char key[512];
	*ok_out = false;
	if (repo_key(key, sizeof key, v->o->stanza, v->o->backup->id, name) < 0 ||
	    !stor_key_valid(key)) {
		pw_error_clear();
		problem(v, name, "the manifest names an object that cannot exist (invalid name)");
		return 0;
	}
	struct pass ps = {pw_sha256_new(), 0, chain, 0, v};
	int rc = stor_get(v->o->repo, key, pass_sink, &ps);
	uint8_t d[32];
	pw_sha256_final(ps.sha, d);
	pw_sha256_free(ps.sha);
	if (rc == -PW_E_NOTFOUND) {
		pw_error_clear();
		problem(v, name, "missing");
		return 0;
	}
	if (rc < 0)
		return rc;
	bool ok = true;
	if (ps.bytes != size) {
		problem(v, name, "size %llu, the manifest says %llu", (unsigned long long)ps.bytes,
		        (unsigned long long)size);
		ok = false;
	} else if (memcmp(d, mo->sha256, 32) != 0) {
		problem(v, name, "SHA-256 differs from the manifest (the object was altered)");
		ok = false;
	}
	if (chain && ps.chain_rc == 0)
		ps.chain_rc = flt_finish(chain);
	if (chain && ps.chain_rc < 0) {
		problem(v, name, "does not decrypt to the end: %s", pw_error_message());
		pw_error_clear();
		ok = false;
	}
	*ok_out = ok;
	return 0;
}

struct strays {
	struct vctx *v;
	const struct manifest *m;
	size_t plen;
};

static int stray_cb(void *arg, const struct stor_info *i)
{
	struct strays *s = arg;
	if (strlen(i->key) < s->plen)
		return 0; /* stor_list_all gives only keys under the prefix */
	const char *name = i->key + s->plen;
	if (i->stray) { /* an invalid name, a symlink, a FIFO: reported, never read */
		problem(s->v, name, "stray: %s", i->stray);
		return 0;
	}
	if (strcmp(name, MANIFEST) == 0 || strcmp(name, MANIFEST_SIG) == 0 ||
	    strncmp(name, "verify-", 7) == 0 || strncmp(name, "pin-", 4) == 0 ||
	    strncmp(name, "unpin-", 6) == 0)
		return 0; /* verification records are expected neighbours */
	if (manifest_object(s->m, name))
		return 0;
	problem(s->v, name, "stray: not named by the manifest");
	return 0;
}

/* ---- depth 3 ---- */

static int count_rows(struct pg_conn *c, const char *schema, const char *table, long long *n)
{
	char *qs = pg_quote_ident(c, schema), *qt = pg_quote_ident(c, table);
	char sql[1024];
	snprintf(sql, sizeof sql, "select count(*) from only %s.%s", qs, qt);
	pw_free(qs);
	pw_free(qt);
	struct pg_result *r;
	int rc = pg_query(c, sql, 0, NULL, &r);
	if (rc == 0) {
		*n = strtoll(pg_value(r, 0, 0), NULL, 10);
		pg_result_free(r);
	}
	return rc;
}

static double now_s(void)
{
	return pw_monotonic();
}

static int interrupted_error(void)
{
	pw_error(PW_E_INTERRUPTED, "interrupted by signal %d", pw_interrupted());
	return pw_error_hint("The scratch database was removed; run the drill again.");
}

/* The scratch server's kind and version into the report. */
static json_t *scratch_report(json_t *rep, const char *kind, struct pg_conn *c)
{
	json_t *sr = json_object();
	json_object_set_new(sr, "kind", json_string(kind));
	struct pg_result *r = NULL;
	if (c && pg_query(c, "show server_version", 0, NULL, &r) == 0)
		json_object_set_new(sr, "server_version", json_string(pg_value(r, 0, 0)));
	pg_result_free(r);
	pw_best_effort("asking the scratch server its version");
	json_object_set_new(rep, "scratch", sr);
	return sr;
}

/* Did pg_restore stop at a statement about privileges (the "(at: ...)" of its message)? */
static bool privilege_statement(const char *message)
{
	static const char *const marks[] = {"(at: GRANT ", "(at: REVOKE ",
	                                    "(at: SET SESSION AUTHORIZATION",
	                                    "(at: ALTER DEFAULT PRIVILEGES"};
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
		if (strstr(message, marks[i]))
			return true;
	return false;
}

/* Restore into the connected scratch database sc and compare every table's rows with the
 * details. A failing restore or a differing count is a problem (0 is returned); an
 * interruption is an error. t0: when the restore's clock started. */
static int restore_compare(struct vctx *v, struct pg_conn *sc, const struct restore_opts *ro,
                           json_t *tables, json_t *rep, double t0, json_t *roles)
{
	/* the drill restores the very object depth 1 checked (no swap in between) */
	struct restore_opts checked = *ro;
	uint8_t digest[32];
	int r = 0;
	if (!checked.have_spool) {
		r = restore_manifest_digest(v->o->backup->manifest, DATA_OBJECT, digest,
		                            &checked.expect_size);
		checked.expect_sha256 = digest;
	}
	checked.object_size = checked.expect_size; /* the progress line's total */
	checked.progress = v->o->progress;
	checked.progress_arg = v->o->progress_arg;
	if (r == 0)
		r = restore_into_db(&checked);
	if (r < 0 && roles && !checked.no_privileges && pw_error_code() == PW_E_DB &&
	    !pw_interrupted() && privilege_statement(pw_error_message())) {
		/* One transaction: nothing was committed. Grants that need more than the drill's
		 * role has (one made by another grantor is replayed with SET SESSION
		 * AUTHORIZATION, superuser only): once more without them, and say so. */
		char why[1024];
		pw_strlcpy(why, pw_error_message(), sizeof why);
		pw_error_clear();
		checked.no_privileges = true;
		r = restore_into_db(&checked);
		char note[1200];
		snprintf(note, sizeof note,
		         "not restored: the restore with them failed (%s); restored again with "
		         "--no-privileges",
		         why);
		json_object_set_new(roles, "privileges", json_string(note));
		json_object_set_new(roles, "restore_options",
		                    json_string("--no-owner --no-privileges"));
	}
	if (r < 0 && (pw_interrupted() || pw_error_code() == PW_E_INTERRUPTED))
		return pw_error_code() == PW_E_INTERRUPTED ? r : interrupted_error();
	/* pg_restore's failure: what it left behind, PostgreSQL's hint (for the record) */
	char dbhint[1024] = "";
	if (r < 0 && pw_error_code() == PW_E_DB)
		pw_strlcpy(dbhint, pw_error_hint_text(), sizeof dbhint);
	if (r < 0 && pw_error_code() == PW_E_VERIFY) {
		problem(v, DATA_OBJECT, "%s", pw_error_message());
		pw_error_clear();
	} else if (r < 0 && restore_needs_privilege(pw_error_message())) {
		/* not damage: an object of the backup needs more than the drill's role has */
		problem(v, DATA_OBJECT,
		        "the restore drill stopped at an object that needs privileges the drill "
		        "never grants (superuser, server programs or files): %s",
		        pw_error_message());
		json_object_set_new(rep, "restore_needs_privilege", json_true());
		v->drill_restore_failed = v->drill_needs_privilege = true;
		pw_error_clear();
	} else if (r < 0) {
		problem(v, DATA_OBJECT, "the restore drill failed: %s", pw_error_message());
		v->drill_restore_failed = true;
		pw_error_clear();
	}
	if (r < 0 && *dbhint) {
		char shown[1100];
		json_object_set_new(json_array_get(v->problems, json_array_size(v->problems) - 1),
		                    "hint",
		                    json_string(pw_str_printable(shown, sizeof shown, dbhint)));
	}
	json_object_set_new(rep, "restore_seconds", json_real(now_s() - t0));
	json_t *counts = json_array();
	long long ntables = 0, nrows = 0;
	for (size_t i = 0; r == 0 && i < json_array_size(tables); i++) {
		if (pw_interrupted()) {
			json_decref(counts);
			return interrupted_error();
		}
		json_t *t = json_array_get(tables, i);
		const char *s = json_string_value(json_object_get(t, "schema"));
		const char *n = json_string_value(json_object_get(t, "name"));
		json_int_t want = json_integer_value(json_object_get(t, "rows"));
		long long got = -1;
		if (!s || !n)
			continue;
		if (count_rows(sc, s, n, &got) < 0) {
			problem(v, NULL, "table %s.%s is missing after the restore", s, n);
			pw_error_clear();
		} else if (got != (long long)want) {
			problem(v, NULL,
			        "table %s.%s has %lld rows after the restore, %lld at backup", s, n,
			        got, (long long)want);
		}
		json_t *c = json_object();
		json_object_set_new(c, "schema", json_string(s));
		json_object_set_new(c, "name", json_string(n));
		json_object_set_new(c, "backup_rows", json_integer(want));
		json_object_set_new(c, "restored_rows", got < 0 ? json_null() : json_integer(got));
		json_array_append_new(counts, c);
		ntables++;
		nrows += got > 0 ? got : 0;
	}
	if (r == 0) {
		json_object_set_new(rep, "tables_compared", json_integer(ntables));
		json_object_set_new(rep, "rows_restored", json_integer(nrows));
		json_object_set_new(rep, "row_counts", counts);
	} else {
		json_decref(counts);
	}
	return 0;
}

/* depth 3 on --scratch-url: a database created on that server, always dropped */
static int drill(struct vctx *v, json_t *tables, const char *datakey, json_t *rep)
{
	const struct verify_opts *o = v->o;
	char name[96];
	uint32_t rnd;
	pw_random(&rnd, sizeof rnd);
	snprintf(name, sizeof name, "pgward_verify_%08x", rnd);
	char *maint = NULL, *scratch = NULL;
	struct pg_conn *mc = NULL, *sc = NULL;
	int rc = pg_conninfo_with_dbname(o->scratch_url, "postgres", &maint, NULL, 0);
	if (rc == 0)
		rc = pg_conninfo_with_dbname(o->scratch_url, name, &scratch, NULL, 0);
	struct pg_connect_opts mo = {.conninfo = maint, .password = o->scratch_password};
	if (rc == 0)
		rc = pg_connect(&mo, &mc);
	bool created = false;
	if (rc == 0) {
		char sql[160];
		snprintf(sql, sizeof sql, "create database %s", name);
		rc = pg_exec(mc, sql);
		created = rc == 0;
	}
	double t0 = now_s();
	struct pg_connect_opts so = {.conninfo = scratch, .password = o->scratch_password};
	if (rc == 0)
		rc = pg_connect(&so, &sc);
	if (rc == 0) {
		struct restore_opts chk = {.target = sc};
		bool super = false;
		if (restore_check_role(&chk, &super) == 0 && super)
			pw_warn(
			    "the --scratch-url role \"%s\" is a superuser: the backup's functions, "
			    "constraints and defaults run with superuser power on that server; "
			    "give a role with CREATEDB only, or use --scratch-local",
			    pg_param(sc, "user"));
		pw_error_clear();
		json_t *sr = scratch_report(rep, "server", sc);
		json_object_set_new(sr, "restore_role_superuser", json_boolean(super));
		struct restore_opts ro = {.repo = o->repo,
		                          .key = datakey,
		                          .ids = o->ids,
		                          .nids = o->nids,
		                          .target = sc,
		                          .password = o->scratch_password};
		rc = restore_compare(v, sc, &ro, tables, rep, t0, NULL);
	}
	pg_close(sc);
	if (created) { /* always drop the scratch database */
		char sql[200];
		snprintf(sql, sizeof sql, "drop database if exists %s with (force)", name);
		struct pw_error_saved e;
		pw_error_save(&e);
		pg_exec(mc, sql);
		pw_error_restore(&e);
	}
	pg_close(mc);
	pw_free(maint);
	pw_free(scratch);
	return rc;
}

/* The major version of the backed-up server, from the manifest ("15.8 (Debian ...)");
 * 0 when it was not recorded. */
static int backup_major(const struct backup_entry *b)
{
	const char *sv = b->manifest ? b->manifest->server_version : "";
	if (!*sv)
		return 0;
	char *end;
	long m = strtol(sv, &end, 10);
	return end != sv && m > 0 && m < 100 ? (int)m : 0;
}

#define LOCAL_DB "pgward_verify"
/* The role the drill restores as: owns the database, nothing else. Not a superuser and
 * not a member of pg_execute_server_program / pg_read_server_files /
 * pg_write_server_files: a function from the backup (a CHECK constraint, an index
 * expression, a default) runs with no way out of the database. */
#define LOCAL_ROLE "pgward_restore"

static void roles_note(json_t *roles, const char *source, const char *options, const char *owners,
                       const char *privileges)
{
	json_object_set_new(roles, "source", json_string(source));
	json_object_set_new(roles, "restore_options", json_string(options));
	json_object_set_new(roles, "owners", json_string(owners));
	json_object_set_new(roles, "privileges", json_string(privileges));
}

/* The backup's roles in the drill's cluster, made harmless: its globals object (checked
 * against the manifest, parsed, privileged attributes and memberships left out), then every
 * role it created NOLOGIN NOCREATEDB and granted to the drill's role (ALTER DEFAULT
 * PRIVILEGES FOR ROLE needs that). Owners are never restored (that would need CREATE on
 * every schema for every role); grants, policies and default privileges are. Without a
 * globals object: --no-owner --no-privileges. *with_privileges says which. */
static int drill_roles(struct vctx *v, struct pg_conn *mc, const struct restore_opts *ro,
                       json_t *roles, bool *with_privileges)
{
	*with_privileges = false;
	uint8_t digest[32];
	uint64_t size = 0;
	if (restore_manifest_digest(v->o->backup->manifest, GLOBALS_OBJECT, digest, &size) < 0) {
		pw_best_effort("the backup's roles object"); /* none: said in the record */
		roles_note(roles, "none: the backup has no roles object",
		           "--no-owner --no-privileges", "not restored", "not restored");
		return 0;
	}
	char key[600];
	int krc = repo_key(key, sizeof key, v->o->stanza, v->o->backup->id, GLOBALS_OBJECT);
	if (krc < 0)
		return krc;
	struct restore_opts go = *ro;
	go.target = mc;
	go.expect_sha256 = digest;
	go.expect_size = size;
	struct globals_apply_opts ao = {.strip_privileged = true, .no_tablespaces = true};
	struct globals_report gr;
	int rc = restore_globals(&go, key, &ao, &gr);
	size_t created = gr.roles, privileged = gr.nprivileged;
	/* role settings not applied (a parameter pgward does not apply ...): listed, the
	 * first 20, sanitized (the record is read back with a cap) */
	json_t *skipped = json_array();
	for (size_t i = 0; rc == 0 && i < gr.nskipped_listed && i < 20; i++) {
		const struct globals_skipped *k = &gr.skipped[i];
		char role[300], param[300], why[200], sql[1200];
		json_t *e = json_object();
		json_object_set_new(e, "role",
		                    json_string(pw_str_printable(role, sizeof role, k->role)));
		json_object_set_new(e, "parameter",
		                    json_string(pw_str_printable(param, sizeof param, k->param)));
		json_object_set_new(e, "reason",
		                    json_string(pw_str_printable(why, sizeof why, k->why)));
		if (k->sql)
			json_object_set_new(e, "statement",
			                    json_string(pw_str_printable(sql, sizeof sql, k->sql)));
		json_array_append_new(skipped, e);
	}
	size_t nskipped = gr.nskipped;
	globals_report_free(&gr);
	if (rc < 0) {
		if (pw_interrupted() || rc == -PW_E_INTERRUPTED)
			return rc == -PW_E_INTERRUPTED ? rc : interrupted_error();
		if (rc == -PW_E_VERIFY) { /* differs from the signed manifest */
			problem(v, GLOBALS_OBJECT, "%s", pw_error_message());
			pw_error_clear();
			return 0;
		}
		/* Refused (a statement pgward does not apply, such as COPY; a role setting it
		 * does not apply is skipped and listed, not refused) or failed: the drill goes on without the roles and says why; an
		 * object that needs one then fails the drill with PostgreSQL's own words. */
		char why[1100], shown[1200];
		snprintf(why, sizeof why, "not applied: %s", pw_error_message());
		pw_error_clear(); /* copied into the record */
		roles_note(roles, pw_str_printable(shown, sizeof shown, why),
		           "--no-owner --no-privileges", "not restored", "not restored");
		json_decref(skipped);
		return 0;
	}
	struct pg_result *r = NULL;
	rc = pg_query(mc,
	              "select pg_catalog.quote_ident(rolname) from pg_catalog.pg_roles where "
	              "rolname !~ '^pg_' and rolname not in ('" SCRATCH_SUPERUSER "', '" LOCAL_ROLE
	              "') order by 1",
	              0, NULL, &r);
	for (int i = 0; rc == 0 && i < pg_nrows(r); i++) {
		char sql[400];
		const char *q = pg_value(r, i, 0);
		if (strlen(q) > 300) /* NAMEDATALEN: never; a cap all the same */
			continue;
		snprintf(sql, sizeof sql, "alter role %s nologin nocreatedb nocreaterole", q);
		rc = pg_exec(mc, sql);
		if (rc == 0) {
			snprintf(sql, sizeof sql, "grant %s to " LOCAL_ROLE, q);
			rc = pg_exec(mc, sql);
		}
	}
	pg_result_free(r);
	if (rc < 0) {
		json_decref(skipped);
		return rc;
	}
	json_object_set_new(roles, "roles_created", json_integer((json_int_t)created));
	json_object_set_new(roles, "settings_skipped", json_integer((json_int_t)nskipped));
	json_object_set_new(roles, "settings_skipped_list", skipped);
	json_object_set_new(roles, "privileged_items_left_out",
	                    json_integer((json_int_t)privileged));
	roles_note(roles,
	           "the backup's roles object: roles created NOLOGIN, without privileged "
	           "attributes or memberships",
	           "--no-owner", "not restored (every object belongs to the drill's role)",
	           "restored (grants, row security policies, default privileges)");
	*with_privileges = true;
	return 0;
}

/* depth 3 with --scratch-local: a throwaway cluster started here, stopped and removed on
 * every path. The data object is fetched and checked first: its table of contents sizes
 * the cluster's lock table (restore_locks_per_transaction, as a restore's own check does).
 * The backup's roles are applied harmlessly (drill_roles); tablespaces are not restored
 * (rows are what is compared). */
static int drill_local(struct vctx *v, json_t *tables, const char *datakey, json_t *rep)
{
	const struct verify_opts *o = v->o;
	struct restore_opts ro = {.repo = o->repo,
	                          .key = datakey,
	                          .ids = o->ids,
	                          .nids = o->nids,
	                          .temp_dir = o->temp_dir,
	                          .no_owner = true,
	                          .no_privileges = true,
	                          .no_tablespaces = true};
	uint8_t digest[32];
	int vfd = -1;
	int rc = restore_manifest_digest(o->backup->manifest, DATA_OBJECT, digest, &ro.expect_size);
	if (rc == 0) {
		ro.expect_sha256 = digest;
		rc = restore_fetch_verified(&ro, datakey, &vfd);
	}
	if (rc < 0) {
		if (pw_interrupted() || rc == -PW_E_INTERRUPTED)
			return rc == -PW_E_INTERRUPTED ? rc : interrupted_error();
		if (rc != -PW_E_VERIFY)
			return rc; /* the repository or the temp dir: an operational error */
		problem(v, DATA_OBJECT, "%s", pw_error_message());
		pw_error_clear();
		return 0;
	}
	ro.have_spool = true;
	ro.spool_fd = vfd;
	struct pgdump_info toc;
	long locks = 0;
	if (restore_peek_toc(&ro, vfd, &toc) == 0)
		locks = restore_locks_per_transaction(&toc, SCRATCH_MAX_CONNECTIONS);
	else /* unreadable: pg_restore says why, in its own words */
		pw_best_effort("reading the table of contents to size the drill's lock table");
	struct scratch_opts so = {.min_major = backup_major(o->backup),
	                          .temp_dir = o->temp_dir,
	                          .user = o->scratch_user,
	                          .max_locks_per_transaction = locks};
	struct scratch *cl = NULL;
	struct pg_conn *mc = NULL, *sc = NULL;
	char *maint = NULL, *target = NULL;
	json_t *roles = json_object();
	bool with_privileges = false;
	rc = scratch_start(&so, &cl);
	if (rc == 0) {
		maint = scratch_conninfo(cl, "postgres");
		target = scratch_conninfo_as(cl, LOCAL_DB, LOCAL_ROLE);
		struct pg_connect_opts mo = {.conninfo = maint, .private_socket = true};
		rc = pg_connect(&mo, &mc);
	}
	if (rc == 0)
		rc = pg_exec(mc, "create role " LOCAL_ROLE " login nosuperuser nocreatedb "
		                 "nocreaterole noreplication nobypassrls");
	if (rc == 0)
		rc = pg_exec(mc, "create database " LOCAL_DB " owner " LOCAL_ROLE);
	if (rc == 0)
		rc = drill_roles(v, mc, &ro, roles, &with_privileges);
	if (rc == 0 && pw_interrupted())
		rc = interrupted_error();
	double t0 = now_s();
	struct pg_connect_opts tc = {.conninfo = target, .private_socket = true};
	if (rc == 0)
		rc = pg_connect(&tc, &sc);
	if (rc == 0) {
		/* what the session can do, for the record: checked, not assumed */
		struct pg_result *r = NULL;
		rc = pg_query(sc,
		              "select r.rolsuper, pg_has_role(current_user, "
		              "'pg_execute_server_program', 'usage') or pg_has_role(current_user, "
		              "'pg_read_server_files', 'usage') or pg_has_role(current_user, "
		              "'pg_write_server_files', 'usage') from pg_roles r where r.rolname = "
		              "current_user",
		              0, NULL, &r);
		if (rc == 0 && (pg_nrows(r) != 1 || strcmp(pg_value(r, 0, 0), "f") != 0 ||
		                strcmp(pg_value(r, 0, 1), "f") != 0)) {
			pw_error(PW_E_INTERNAL, "the drill's role \"" LOCAL_ROLE
			                        "\" is a superuser or may run programs");
			rc = pw_error_hint("This is a bug; the drill did not run.");
		}
		pg_result_free(r);
	}
	if (rc == 0) {
		json_t *sr = scratch_report(rep, "local", sc);
		json_object_set_new(sr, "bin_dir", json_string(scratch_bindir(cl)));
		json_object_set_new(sr, "os_user", json_string(scratch_user(cl)));
		json_object_set_new(sr, "restore_role", json_string(LOCAL_ROLE));
		json_object_set_new(sr, "restore_role_superuser", json_false());
		json_object_set_new(sr, "start_seconds", json_real(scratch_start_seconds(cl)));
		json_object_set_new(
		    sr, "max_locks_per_transaction",
		    json_integer(
		        locks > 64 ? (locks < SCRATCH_MAX_LOCKS ? locks : SCRATCH_MAX_LOCKS) : 64));
		json_object_set_new(rep, "roles", json_incref(roles));
		ro.target = sc;
		ro.no_privileges = !with_privileges;
		rc = restore_compare(v, sc, &ro, tables, rep, t0, with_privileges ? roles : NULL);
	}
	json_decref(roles);
	pg_close(sc);
	pg_close(mc);
	scratch_free(cl); /* stops the server and removes its directory; keeps the error */
	close(vfd);
	pw_free(maint);
	pw_free(target);
	return rc;
}

/* ---- depth 3 of a physical backup ---- */

/* A TCP port on 127.0.0.1 free now (the kernel's pick; the server binds it a moment
 * later: another process taking it in between makes the start fail, never a wrong drill) */
static int free_port(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	         getsockname(fd, (struct sockaddr *)&a, &len) == 0;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (!ok) {
		pw_error(PW_E_IO, "no free TCP port on 127.0.0.1: %s", pw_strerror(e));
		return pw_error_hint("The drill's server listens on 127.0.0.1; check the loopback "
		                     "interface.");
	}
	*port = ntohs(a.sin_port);
	return 0;
}

/* A failure that says the backup or its WAL is bad (a problem, exit 24), not that the
 * drill could not run. PW_E_DB is the server's or a program's refusal (pg_verifybackup, a
 * FATAL during recovery, pg_amcheck): mostly the backup, sometimes the host (a port taken
 * in between, a missing role for pg_amcheck); the message says which, and never a pass. */
static bool drill_damage(int rc)
{
	return rc == -PW_E_VERIFY || rc == -PW_E_ARCHIVE || rc == -PW_E_WAL ||
	       rc == -PW_E_RECOVERY_STOP || rc == -PW_E_DB;
}

/* Restore the base (physical_restore_run: every object checked, pg_verifybackup), prove
 * the stored WAL reaches on from it (pitr_plan_make), recover to its end with the server
 * started as restore --start does (pitr_write_settings, pitr_start_watch), run
 * pg_amcheck --all, stop the server; the directory is removed on every path. */
static int drill_physical(struct vctx *v, json_t *rep)
{
	const struct verify_opts *o = v->o;
	const struct manifest *m = o->backup->manifest;
	int major = backup_major(o->backup);
	struct pitr_target t;
	struct pitr_plan plan = {0};
	struct physical_restore_result res = {0};
	struct pitr_reached r = {0};
	char dir[PATH_MAX] = "", what[64] = "";
	int port = 0;
	bool started = false;
	json_t *dr = json_object();
	json_object_set_new(rep, "recovery", dr);
	int rc = pitr_target_parse(PITR_LATEST, NULL, &t);
	if (rc == 0)
		rc = pitr_refuse_root("verify --restore of a physical backup");
	if (rc == 0 && !o->restore_command)
		rc = pw_error(PW_E_INTERNAL, "the physical drill has no restore_command");
	if (rc == 0)
		rc = free_port(&port);
	/* the WAL first: nothing is written when it does not reach on from the base */
	if (rc == 0) {
		pw_strlcpy(what, "the stored WAL", sizeof what);
		rc = pitr_plan_make(o->repo, o->stanza, m, &t, o->signers, o->ids, o->nids, &plan);
	}
	if (rc == 0)
		rc = scratch_mkdir(o->temp_dir, dir, sizeof dir);
	double t0 = now_s();
	if (rc == 0) {
		pw_strlcpy(what, "the base backup", sizeof what);
		struct physical_restore_opts po = {.repo = o->repo,
		                                   .stanza = o->stanza,
		                                   .id = o->backup->id,
		                                   .manifest = m,
		                                   .ids = o->ids,
		                                   .nids = o->nids,
		                                   .target_dir = dir,
		                                   .temp_dir = o->temp_dir};
		rc = physical_restore_run(&po, &res);
	}
	if (rc == 0) {
		json_object_set_new(dr, "restore_seconds", json_real(now_s() - t0));
		json_object_set_new(dr, "files", json_integer((json_int_t)res.files));
		json_object_set_new(dr, "bytes", json_integer((json_int_t)res.bytes));
		rc = pitr_write_settings(dir, &t, o->restore_command, port);
	}
	if (rc == 0) {
		pw_strlcpy(what, "recovery", sizeof what);
		started = true;
		rc = pitr_start_watch(dir, major, &t, 3600, &r);
	}
	if (rc == 0) {
		char a[24], b[24];
		repl_lsn_format(plan.from, a);
		repl_lsn_format(plan.end, b);
		json_object_set_new(dr, "wal_from", json_string(a));
		json_object_set_new(dr, "wal_to", json_string(b));
		json_object_set_new(dr, "timeline", json_integer(plan.target_tli));
		json_object_set_new(dr, "wal_objects", json_integer((json_int_t)plan.objects));
		json_object_set_new(dr, "recovery_seconds", json_real(r.seconds));
		if (*r.redo)
			json_object_set_new(dr, "redo", json_string(r.redo));
		if (*r.last)
			json_object_set_new(dr, "last", json_string(r.last));
		pw_strlcpy(what, "pg_amcheck", sizeof what);
		double t1 = now_s();
		rc = scratch_datadir_amcheck(major, dir, port);
		if (rc == 0) {
			json_object_set_new(dr, "amcheck", json_string("passed"));
			json_object_set_new(dr, "amcheck_seconds", json_real(now_s() - t1));
		}
	}
	if (started)
		scratch_datadir_stop(major, dir); /* keeps the error record */
	if (dir[0]) {
		struct pw_error_saved e;
		pw_error_save(&e);
		scratch_rmdir(dir);
		pw_error_restore(&e);
	}
	if (rc < 0 && (pw_interrupted() || rc == -PW_E_INTERRUPTED))
		return rc == -PW_E_INTERRUPTED ? rc : interrupted_error();
	if (rc < 0 && *what && drill_damage(rc)) {
		/* the backup or its WAL: a problem naming what failed, with the message (the
		 * object wal-fetch refused, pg_amcheck's finding) */
		problem(v, NULL, "%s: %s", what, pw_error_message());
		json_object_set_new(dr, "failed", json_string(what));
		pw_error_clear();
		return 0;
	}
	return rc;
}

/* ---- the whole verification ---- */

static int compare_tables(struct vctx *v, json_t *tables, struct pgdump_parser *p)
{
	size_t n = pgdump_parser_ntables(p);
	if (n != json_array_size(tables))
		problem(v, DETAILS_OBJECT, "the archive has %zu tables, the details list %zu", n,
		        json_array_size(tables));
	for (size_t i = 0; i < n; i++) {
		const struct pgdump_table *t = pgdump_parser_table(p, i);
		bool found = false;
		for (size_t k = 0; k < json_array_size(tables); k++) {
			json_t *d = json_array_get(tables, k);
			if (!pw_streq(json_string_value(json_object_get(d, "schema")), t->schema) ||
			    !pw_streq(json_string_value(json_object_get(d, "name")), t->name))
				continue;
			found = true;
			json_int_t rows = json_integer_value(json_object_get(d, "rows"));
			if ((uint64_t)rows != t->rows)
				problem(
				    v, NULL,
				    "table %s.%s: %llu rows in the archive, %lld in the details",
				    t->schema, t->name, (unsigned long long)t->rows,
				    (long long)rows);
		}
		if (!found)
			problem(v, NULL, "table %s.%s is in the archive but not in the details",
			        t->schema, t->name);
	}
	return 0;
}

/* <record>.minisig, created exclusively before the record: its trusted comment names the
 * stanza, backup, record name, depth and result (catalog_sign_record). */
static int put_record_sig(const struct verify_opts *o, const char *key, const char *name, int depth,
                          json_t *rep, const char *txt, time_t now)
{
	struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
	char skey[460];
	int rc = catalog_sign_record(o->sign_key, o->stanza, o->backup->id, name, depth,
	                             json_string_value(json_object_get(rep, "result")), now, txt,
	                             strlen(txt), &sig);
	if (rc == 0) {
		snprintf(skey, sizeof skey, "%s%s", key, SIGNATURE_SUFFIX);
		rc = stor_put_buf(o->repo, skey, sig.data, sig.len, NULL, NULL);
	}
	pw_buf_free(&sig, 0);
	return rc;
}

/* depth 1 of a physical backup's WAL: continuity and signatures, no key */
static int verify_wal(struct vctx *v, const struct manifest *m, json_t *rep)
{
	struct wal_listing l;
	json_t *w = json_object(), *probs = json_array();
	json_object_set_new(rep, "wal", w);
	int rc = wal_listing_load(v->o->repo, v->o->stanza, &l);
	uint32_t segsize = 0;
	if (rc == 0 && l.n)
		segsize = wal_listing_segsize(v->o->repo, &l, v->o->signers, probs);
	struct wal_base b = {m->physical.timeline, m->physical.start_lsn, m->physical.stop_lsn,
	                     m->finished};
	if (rc == 0 && !l.n)
		json_object_set_new(
		    w, "note",
		    json_string("no WAL is stored for this stanza: the backup restores "
		                "to its end, with no point-in-time recovery after"));
	else if (rc == 0 && !segsize && !json_array_size(probs))
		problem(v, WAL_DIR, "no WAL object's signature could be checked%s",
		        v->o->signers && v->o->signers->n ? "" : " (no trusted-signer)");
	else if (rc == 0 && segsize)
		rc = walrepo_check_base(v->o->repo, &l, segsize, v->o->signers, &b, w, probs);
	for (size_t i = 0; i < json_array_size(probs); i++) {
		json_t *x = json_array_get(probs, i);
		problem(v, json_string_value(json_object_get(x, "object")), "%s",
		        json_string_value(json_object_get(x, "problem")));
	}
	json_decref(probs);
	wal_listing_free(&l);
	return rc;
}

int verify_backup(const struct verify_opts *o, json_t **report)
{
	struct vctx v = {.o = o, .problems = json_array()};
	/* "<stanza>/<id>/" (the key checks: the id may come from the command line) */
	int krc = repo_key(v.prefix, sizeof v.prefix, o->stanza, o->backup->id, NULL);
	int depth = (o->scratch_url || o->scratch_local || o->restore_command) && o->ids ? 3
	            : o->ids                                                             ? 2
	                                                                                 : 1;
	json_t *rep = json_object();
	*report = rep;
	time_t now = pw_now();
	char when[PW_TIME_MAX];
	pw_time_format(now, PW_TIME_ISO, when);
	json_object_set_new(rep, "stanza", json_string(o->stanza));
	json_object_set_new(rep, "backup_id", json_string(o->backup->id));
	json_object_set_new(rep, "time", json_string(when));
	json_object_set_new(rep, "depth", json_integer(depth));
	json_object_set_new(rep, "tool", json_string("pgward " PGWARD_VERSION));
	int rc = krc;
	const struct manifest *m = o->backup->complete ? o->backup->manifest : NULL;
	if (rc < 0)
		goto done;
	if (!m) {
		char why[300];
		if (o->backup->damage[0])
			snprintf(why, sizeof why, "%s", o->backup->damage);
		problem(&v, MANIFEST, "%s",
		        o->backup->damage[0] ? why
		                             : "missing or unreadable: the backup is incomplete");
		goto done;
	}
	/* strays */
	char pfx[300];
	snprintf(pfx, sizeof pfx, "%s", v.prefix);
	struct strays sc = {&v, m, strlen(pfx)};
	if ((rc = stor_list_all(o->repo, pfx, stray_cb, &sc)) < 0)
		goto done;

	json_t *tables = NULL;
	struct pw_buf details = PW_BUF_INIT(DETAILS_MAX);
	struct pgdump_parser *parser = NULL;
	json_t *objrep = json_array();
	json_object_set_new(rep, "objects", objrep);
	for (size_t i = 0; i < m->nobjects; i++)
		if (m->objects[i].size <= UINT64_MAX - v.total)
			v.total += m->objects[i].size;
	v.t0 = v.last = now_s();
	/* details first (depth 2 needs its tables), then the rest */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < m->nobjects && rc == 0; i++) {
			const struct manifest_object *mo = &m->objects[i];
			const char *name = mo->name;
			bool is_details = pw_streq(name, DETAILS_OBJECT);
			if ((pass == 0) != is_details)
				continue;
			struct flt *chain = NULL;
			struct tar_reader *tr = NULL;
			if (o->ids) {
				if (is_details)
					chain = flt_buf_sink(&details);
				else if (is_archive(m, name))
					chain = flt_zstd_decompress(flt_tar_sink(
					    tr = tar_reader_new(&tar_check_ops, NULL)));
				else if (pw_streq(name, DATA_OBJECT)) {
					parser = pgdump_parser_new();
					chain = flt_zstd_decompress(
					    flt_tap(parser_cb, parser, discard()));
				} else {
					chain = flt_zstd_decompress(discard());
				}
				chain = flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO, chain);
			}
			bool ok = false;
			rc = check_object(&v, mo, chain, &ok);
			flt_chain_free(chain);
			tar_reader_free(tr);
			json_t *orep = json_object();
			json_object_set_new(orep, "name", json_string(name ? name : "?"));
			json_object_set_new(orep, "ok", json_boolean(ok));
			json_array_append_new(objrep, orep);
			if (ok && is_details && o->ids) {
				json_error_t je;
				json_t *d =
				    json_loadb((const char *)details.data, details.len, 0, &je);
				tables = d ? json_incref(json_object_get(d, "tables")) : NULL;
				json_decref(d);
				if (!json_is_array(tables) && m->kind != MANIFEST_PHYSICAL)
					problem(&v, DETAILS_OBJECT,
					        "decrypts, but holds no table list");
			}
			if (ok && parser && pw_streq(name, DATA_OBJECT)) {
				if (pgdump_parser_final(parser) < 0) {
					problem(&v, DATA_OBJECT,
					        "the archive inside is incomplete: %s",
					        pw_error_message());
					pw_error_clear();
				} else if (json_is_array(tables)) {
					compare_tables(&v, tables, parser);
				}
			}
		}
	}
	if (rc == 0)
		verify_progress(&v, true);
	if (rc == 0 && m->kind == MANIFEST_PHYSICAL)
		rc = verify_wal(&v, m, rep);
	pgdump_parser_free(parser);
	pw_buf_free(&details, 1);
	if (rc == 0 && depth == 3 && json_array_size(v.problems) == 0 &&
	    m->kind == MANIFEST_PHYSICAL)
		rc = drill_physical(&v, rep);
	else if (rc == 0 && depth == 3 && json_array_size(v.problems) == 0 &&
	         json_is_array(tables)) {
		char datakey[600];
		snprintf(datakey, sizeof datakey, "%s%s", v.prefix, DATA_OBJECT);
		rc = o->scratch_local ? drill_local(&v, tables, datakey, rep)
		                      : drill(&v, tables, datakey, rep);
	}
	json_decref(tables);
done:
	json_object_set_new(rep, "result",
	                    json_string(rc < 0                        ? "error"
	                                : json_array_size(v.problems) ? "fail"
	                                                              : "pass"));
	json_object_set_new(rep, "problems", v.problems);
	if (v.drill_restore_failed) /* PostgreSQL refused the drill: not damage */
		json_object_set_new(rep, "restore_failed", json_true());
	if (rc == 0 && o->record && o->backup->complete) {
		/* verify-<time>-d<depth>-<random>.json, created exclusively: two verifies in the
		 * same second keep both records (a name taken already is retried) */
		char key[400], name[64];
		char *txt = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		int w = -PW_E_EXISTS;
		for (int tries = 0; tries < 4 && w == -PW_E_EXISTS; tries++) {
			pw_error_clear();
			catalog_verify_name(name, now, depth);
			w = repo_key(key, sizeof key, o->stanza, o->backup->id, name);
			if (w == 0 && o->sign_key)
				w = put_record_sig(o, key, name, depth, rep, txt, now);
			if (w == 0)
				w = stor_put_buf(
				    o->repo, key, txt, strlen(txt),
				    &(struct stor_write_opts){.content_type = "application/json"},
				    NULL);
		}
		pw_free(txt);
		if (w < 0)
			return w;
		json_object_set_new(rep, "record", json_string(name));
		json_object_set_new(rep, "record_signed", json_boolean(o->sign_key != NULL));
	}
	if (rc < 0)
		return rc;
	if (json_array_size(v.problems)) {
		json_t *first = json_array_get(v.problems, 0);
		const char *obj = json_string_value(json_object_get(first, "object"));
		pw_error(PW_E_VERIFY, "backup %s/%s failed verification: %s%s%s%s", o->stanza,
		         o->backup->id, obj ? obj : "", obj ? ": " : "",
		         json_string_value(json_object_get(first, "problem")),
		         json_array_size(v.problems) > 1 ? " (and more)" : "");
		if (v.drill_needs_privilege)
			return pw_error_hint(
			    "The backup's objects match their signed manifest: this is not "
			    "tampering. The drill restores without superuser power; restore this "
			    "backup into a server where that object's owner may create it (with "
			    "--scratch-url) to prove it.");
		if (v.drill_restore_failed)
			return pw_error_hint(
			    "The backup's objects match their signed manifest: this is not "
			    "tampering. PostgreSQL refused the restore for the reason given (a "
			    "missing extension, role or setting on the drill's server); fix that "
			    "and run verify again.");
		return pw_error_hint(
		    "Do not rely on this backup; take a new one, and find out what "
		    "changed the repository.");
	}
	return 0;
}
