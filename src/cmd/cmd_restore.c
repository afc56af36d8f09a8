/*
 * cmd_restore.c - pgward restore: repository -> age decrypt -> zstd -> pg_restore
 * --single-transaction --exit-on-error (so a damaged backup leaves the target as it
 * was), or -> a plain pg_dump archive file with --to-file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cmd/commands.h"
#include "cmd/progress.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "repo/catalog.h"
#include "jobs/restore.h"
#include "jobs/physical.h"
#include "jobs/pitr.h"
#include "jobs/walprefetch.h"
#include "pg/replication.h"
#include "filter/filter.h"
#include "filter/keyfile.h"
#include "pg/globals.h"
#include "pg/pg.h"
#include "storage/storage.h"

#define TARGET_PASSWORD_SOURCE                                                                     \
	"PGWARD_TARGET_PASSWORD, or target-password in a mode 0600 config file"

static int pick_backup(struct pw_ctx *ctx, struct stor *repo, char *stanza, size_t ssize,
                       struct backup_list *l, const struct backup_entry **e,
                       const struct pitr_target *pt)
{
	struct repo_signers signers = {0};
	bool allow = pw_cfg_bool(ctx->cfg, PW_OPT_ALLOW_UNSIGNED);
	int rc = pw_repo_stanza(ctx, repo, stanza, ssize);
	if (rc == 0)
		rc = pw_load_signers(ctx, &signers);
	if (rc == 0)
		rc = catalog_list_trusted(repo, stanza, &signers, !allow, l);
	size_t nsigners = signers.n;
	repo_signers_free(&signers);
	if (rc < 0)
		return rc;
	const char *id = ctx->backup_id;
	const char *before = pw_cfg_str(ctx->cfg, PW_OPT_BEFORE);
	time_t t = 0;
	if (before && (rc = pw_audit_parse_since(before, pw_now(), &t)) < 0)
		return rc;
	/* the default pick is the newest backup of the kind asked for (--type) */
	enum manifest_kind kind = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_TYPE), "physical") == 0
	                              ? MANIFEST_PHYSICAL
	                              : MANIFEST_LOGICAL;
	for (size_t i = 0; i < l->n && !id; i++)
		if (l->e[i].complete && l->e[i].manifest->kind != kind)
			l->e[i].complete = false;
	/* a recovery target: the newest base that ended before it */
	const struct backup_entry *oldest_after = NULL;
	size_t before_target = 0;
	for (size_t i = 0; pt && i < l->n && !id; i++) {
		if (!l->e[i].complete)
			continue;
		if (pitr_base_before(l->e[i].manifest, pt)) {
			before_target++;
			continue;
		}
		if (!oldest_after && (!l->trusted_only || l->e[i].trust.trust == TRUST_SIGNED))
			oldest_after = &l->e[i];
		l->e[i].complete = false;
	}
	if (pt && !id && !before_target && oldest_after) {
		char end[PW_TIME_MAX], lsn[24];
		pw_time_format(oldest_after->manifest->finished, PW_TIME_ISO, end);
		manifest_lsn_format(oldest_after->manifest->physical.stop_lsn, lsn);
		pw_error(PW_E_NOTFOUND,
		         "the target %s is before the end of the oldest physical base backup "
		         "(%s ended at %s, LSN %s)",
		         pt->value, oldest_after->id, end, lsn);
		return pw_error_hint(
		    "Recovery starts from a base backup's end: give a later target "
		    "(\"pgward list %s\" shows the backups).",
		    stanza);
	}
	*e = catalog_pick(l, id, t);
	if (*e && id && (*e)->complete && (*e)->manifest->kind != kind) {
		pw_error(PW_E_USAGE, "backup \"%s\" is a %s backup", id,
		         manifest_kind_name((*e)->manifest->kind));
		return pw_error_hint(kind == MANIFEST_LOGICAL
		                         ? "Restore it with --type=physical --target-dir DIR."
		                         : "Restore it without --type=physical (--target URL).");
	}
	if (!*e && !id && !allow) {
		/* complete backups exist, none by a trusted key: say why the newest is refused */
		l->trusted_only = false;
		const struct backup_entry *newest = catalog_pick(l, NULL, t);
		l->trusted_only = true;
		if (newest)
			return repo_trust_error(&newest->trust, newest->id, nsigners > 0);
	}
	if (!*e) {
		pw_error(PW_E_NOTFOUND,
		         id ? "backup \"%s\" not found in stanza \"%s\""
		            : "no complete backup%s in stanza \"%s\"",
		         id ? id : (before ? " before that time" : ""), stanza);
		return pw_error_hint("\"pgward list %s\" shows the backups.", stanza);
	}
	if ((*e)->state == BACKUP_INCOMPLETE)
		return catalog_entry_usable(*e);
	pw_audit_trust(ctx, *e, allow);
	if ((*e)->trust.trust != TRUST_SIGNED) {
		if (!allow)
			return repo_trust_error(&(*e)->trust, (*e)->id, nsigners > 0);
		char label[64];
		repo_trust_label(&(*e)->trust, label, sizeof label);
		fprintf(stderr,
		        "pgward: warning: restoring backup %s although its signature is not "
		        "trusted (%s; --allow-unsigned, recorded in the audit log)\n",
		        (*e)->id, label);
	}
	/* a damaged manifest or one in a newer format: after the signature (an altered
	 * manifest is a signature problem first), never guessed at */
	return catalog_entry_usable(*e);
}

static void progress(void *arg, const char *phase, uint64_t done, uint64_t total, double seconds,
                     bool finished)
{
	(void)arg;
	struct pw_progress_state s = {.phase = phase,
	                              .bytes = done,
	                              .bytes_total = total,
	                              .seconds = seconds,
	                              .done = finished};
	pw_progress_draw(&s);
}

static int ask_pass(void *arg, struct pw_secret **out)
{
	return pw_ask_passphrase(arg, "Enter passphrase: ", false, out);
}

/* The identities (-i) a restore decrypts with; none is an error. */
static int load_identities(struct pw_ctx *ctx, struct pw_keyset *ks)
{
	const char *const *vals;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_IDENTITY, &vals);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_identity_file(ks, vals[i], pw_ask_passphrase, ctx->cfg);
	if (rc == 0 && !ks->nids) {
		pw_error(PW_E_KEY, "restoring needs an identity");
		rc = pw_error_hint(
		    "Give the backup identity with -i FILE (it never needs to live on "
		    "the backup host).");
	}
	for (size_t i = 0; i < ks->nids; i++)
		ks->ids[i].ask = ask_pass, ks->ids[i].ask_arg = ctx->cfg;
	return rc;
}

/* What the target already holds, outside the system schemas and extensions: "3 tables, 1 view,
 * 2 functions" into what ("" when it is empty). Views and functions count: restoring over
 * them fails half-way or, worse, mixes two databases. */
static int target_objects(struct pg_conn *c, char *what, size_t size)
{
	struct pg_result *r;
	int rc = pg_query(
	    c,
	    "with ns as (select oid, nspname from pg_catalog.pg_namespace where nspname not in "
	    "('pg_catalog', 'information_schema') and nspname !~ '^pg_(toast|temp_|toast_temp_)'), "
	    "ext as (select objid, classid from pg_catalog.pg_depend where deptype = 'e') "
	    "select (select count(*) from pg_catalog.pg_class c join ns on ns.oid = c.relnamespace "
	    "        where c.relkind in ('r', 'p', 'f') and (c.oid, "
	    "'pg_catalog.pg_class'::pg_catalog.regclass) "
	    "        not in (select objid, classid from ext)), "
	    "       (select count(*) from pg_catalog.pg_class c join ns on ns.oid = c.relnamespace "
	    "        where c.relkind in ('v', 'm') and (c.oid, "
	    "'pg_catalog.pg_class'::pg_catalog.regclass) "
	    "        not in (select objid, classid from ext)), "
	    "       (select count(*) from pg_catalog.pg_class c join ns on ns.oid = c.relnamespace "
	    "        where c.relkind = 'S' and (c.oid, 'pg_catalog.pg_class'::pg_catalog.regclass) "
	    "        not in (select objid, classid from ext)), "
	    "       (select count(*) from pg_catalog.pg_proc p join ns on ns.oid = p.pronamespace "
	    "        where (p.oid, 'pg_catalog.pg_proc'::pg_catalog.regclass) "
	    "        not in (select objid, classid from ext))",
	    0, NULL, &r);
	if (rc < 0)
		return rc;
	static const char *const kind[] = {"table", "view", "sequence", "function"};
	size_t n = 0;
	what[0] = 0;
	for (int i = 0; i < 4; i++) {
		long v = strtol(pg_value(r, 0, i), NULL, 10);
		if (v > 0 && n < size)
			n += (size_t)snprintf(what + n, size - n, "%s%ld %s%s", n ? ", " : "", v,
			                      kind[i], v == 1 ? "" : "s");
	}
	pg_result_free(r);
	return 0;
}

/* --create: connect to the same server's maintenance database and create the target (or,
 * with drop, remove the one a failed restore created). */
static int maint_database(const char *target, const struct pw_secret *pw, bool drop)
{
	char *maint = NULL, name[256];
	int rc = pg_conninfo_with_dbname(target, "postgres", &maint, name, sizeof name);
	if (rc < 0)
		return rc;
	if (!*name) {
		pw_free(maint);
		pw_error(PW_E_USAGE, "--create needs a database name in --target");
		return pw_error_hint("Write it as postgresql://user@host/NEWDB.");
	}
	struct pg_conn *c = NULL;
	struct pg_connect_opts o = {
	    .conninfo = maint, .password = pw, .password_source = TARGET_PASSWORD_SOURCE};
	rc = pg_connect(&o, &c);
	pw_free(maint);
	if (rc == 0) {
		char *q = pg_quote_ident(c, name);
		char sql[600];
		snprintf(sql, sizeof sql, "%s database %s", drop ? "drop" : "create", q);
		pw_free(q);
		rc = pg_exec(c, sql);
		if (rc < 0 && !drop) {
			pw_error_context("creating database \"%s\"", name);
			if (strstr(pw_error_message(), "42P04"))
				pw_error_hint(
				    "Leave out --create to restore into the existing database "
				    "(it must hold no tables), or pick another name.");
		}
	}
	pg_close(c);
	return rc;
}

/* --globals: apply the backup's roles and tablespaces (parsed, checked, through libpq) and
 * say what was applied, what existed and what is privileged. */
static int restore_globals_cmd(struct pw_ctx *ctx, const struct restore_opts *go, const char *gkey)
{
	struct globals_apply_opts ao = {.allow_privileged =
	                                    pw_cfg_bool(ctx->cfg, PW_OPT_ALLOW_PRIVILEGED_ROLES)};
	struct globals_report r;
	int rc = restore_globals(go, gkey, &ao, &r);
	for (size_t i = 0; i < r.nexisting; i++)
		fprintf(stderr, "pgward: %s\n", r.existing[i]);
	for (size_t i = 0; i < r.nprivileged; i++)
		fprintf(stderr, "pgward: %s privileged: %s\n",
		        rc == 0 ? "warning:" : "refused:", r.privileged[i]);
	/* role settings not applied: one warning each (the first few), with the statement
	 * for an admin who trusts it to run after reading it */
	size_t shown_skipped = rc == 0 && r.nskipped_listed < 20 ? r.nskipped_listed : 20;
	for (size_t i = 0; rc == 0 && i < shown_skipped; i++) {
		const struct globals_skipped *k = &r.skipped[i];
		char role[300], param[300], sql[1200];
		fprintf(stderr,
		        "pgward: warning: role \"%s\": setting \"%s\" not applied (%s): %s\n",
		        pw_str_printable(role, sizeof role, k->role),
		        pw_str_printable(param, sizeof param, k->param), k->why,
		        k->sql ? pw_str_printable(sql, sizeof sql, k->sql)
		               : "(statement too long to show)");
	}
	if (rc == 0 && r.nskipped > shown_skipped)
		fprintf(stderr, "pgward: warning: ... and %zu more role settings not applied\n",
		        r.nskipped - shown_skipped);
	json_t *j = json_object();
	json_object_set_new(j, "allow_privileged_roles", json_boolean(ao.allow_privileged));
	json_object_set_new(j, "privileged", json_integer((json_int_t)r.nprivileged));
	json_object_set_new(j, "existing", json_integer((json_int_t)r.nexisting));
	json_object_set_new(j, "roles_created", json_integer((json_int_t)r.roles));
	json_object_set_new(j, "memberships", json_integer((json_int_t)r.memberships));
	json_object_set_new(j, "tablespaces", json_integer((json_int_t)r.tablespaces));
	json_object_set_new(j, "settings_skipped", json_integer((json_int_t)r.nskipped));
	json_t *sk = json_array(); /* the first 20: an audit record is capped at 64 KiB */
	for (size_t i = 0; i < r.nskipped_listed && i < 20; i++) {
		const struct globals_skipped *k = &r.skipped[i];
		char role[300], param[300], dbn[300];
		json_t *e = json_object();
		json_object_set_new(e, "role",
		                    json_string(pw_str_printable(role, sizeof role, k->role)));
		json_object_set_new(e, "parameter",
		                    json_string(pw_str_printable(param, sizeof param, k->param)));
		if (k->database)
			json_object_set_new(
			    e, "database",
			    json_string(pw_str_printable(dbn, sizeof dbn, k->database)));
		json_object_set_new(e, "reason", json_string(k->why));
		json_array_append_new(sk, e);
	}
	json_object_set_new(j, "settings_skipped_list", sk);
	json_object_set_new(ctx->audit, "globals", j);
	if (rc == 0)
		printf("applied the backup's globals: %zu role%s, %zu membership%s, %zu setting%s, "
		       "%zu comment%s, %zu tablespace%s (%zu existed)\n",
		       r.roles, r.roles == 1 ? "" : "s", r.memberships,
		       r.memberships == 1 ? "" : "s", r.settings, r.settings == 1 ? "" : "s",
		       r.comments, r.comments == 1 ? "" : "s", r.tablespaces,
		       r.tablespaces == 1 ? "" : "s", r.nexisting);
	globals_report_free(&r);
	return rc;
}

/* ---- point-in-time recovery: the target, and the restore_command ---- */

/* --target-time/-lsn/-xid/-name/--latest (one at most), --target-action, --target-exclusive,
 * --start PORT: checked before anything is read or written */
static int recovery_target(struct pw_ctx *ctx, const char *dir, struct pitr_target *pt, int *port)
{
	static const struct {
		enum pw_opt_id id;
		enum pitr_kind kind;
	} opts[] = {{PW_OPT_TARGET_TIME, PITR_TIME},
	            {PW_OPT_TARGET_LSN, PITR_LSN},
	            {PW_OPT_TARGET_XID, PITR_XID},
	            {PW_OPT_TARGET_NAME, PITR_NAME},
	            {PW_OPT_LATEST, PITR_LATEST}};
	enum pitr_kind kind = PITR_NONE;
	const char *text = NULL;
	size_t n = 0;
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		bool set = opts[i].kind == PITR_LATEST ? pw_cfg_bool(ctx->cfg, opts[i].id)
		                                       : pw_cfg_str(ctx->cfg, opts[i].id) != NULL;
		if (set) {
			n++;
			kind = opts[i].kind;
			text = pw_cfg_str(ctx->cfg, opts[i].id);
		}
	}
	if (n > 1) {
		pw_error(PW_E_USAGE, "give one recovery target, not %zu", n);
		return pw_error_hint("One of --target-time, --target-lsn, --target-xid, "
		                     "--target-name or --latest.");
	}
	int rc = pitr_target_parse(kind, text, pt);
	if (rc < 0)
		return rc;
	const char *act = pw_cfg_str(ctx->cfg, PW_OPT_TARGET_ACTION);
	bool act_set = strcmp(pw_cfg_source(ctx->cfg, PW_OPT_TARGET_ACTION), "default") != 0;
	pt->action = strcmp(act, "promote") == 0    ? PITR_PROMOTE
	             : strcmp(act, "shutdown") == 0 ? PITR_SHUTDOWN
	                                            : PITR_PAUSE;
	pt->exclusive = pw_cfg_bool(ctx->cfg, PW_OPT_TARGET_EXCLUSIVE);
	if (act_set && kind < PITR_TIME) {
		pw_error(PW_E_USAGE, "--target-action needs a target (--target-time, --target-lsn, "
		                     "--target-xid or --target-name)");
		return pw_error_hint(kind == PITR_LATEST
		                         ? "Recovery to the end of the WAL always promotes."
		                         : "Give a recovery target.");
	}
	if (pt->exclusive && (kind < PITR_TIME || kind == PITR_NAME)) {
		pw_error(PW_E_USAGE, "--target-exclusive needs --target-time, --target-lsn or "
		                     "--target-xid");
		return pw_error_hint("A restore point (--target-name) is always reached exactly.");
	}
	if (pw_cfg_isset(ctx->cfg, PW_OPT_START_PORT)) {
		long long p = pw_cfg_int(ctx->cfg, PW_OPT_START_PORT);
		if (p < 1 || p > 65535) {
			pw_error(PW_E_USAGE, "--start takes a port number, 1-65535");
			return pw_error_hint(
			    "It names the socket in DIR (.s.PGSQL.PORT); no TCP port "
			    "is opened.");
		}
		if (kind == PITR_NONE) {
			pw_error(PW_E_USAGE, "--start needs a recovery target");
			return pw_error_hint(
			    "Give --latest to recover to the end of the stored WAL, or "
			    "a --target-*.");
		}
		if ((rc = pitr_refuse_root("--start")) < 0)
			return rc;
		/* DIR/.s.PGSQL.PORT must fit a unix socket address */
		if (strlen(dir) + strlen("/.s.PGSQL.65535") >= 108) {
			pw_error(PW_E_USAGE, "--target-dir is too long for the server's socket");
			return pw_error_hint(
			    "Use a shorter path (at most 92 characters) with --start.");
		}
		if (pitr_start_dir_check(dir) < 0)
			return -PW_E_USAGE;
		*port = (int)p;
	}
	return 0;
}

static int server_major(const struct manifest *m)
{
	int major = 0;
	for (const char *v = m->server_version; *v >= '0' && *v <= '9' && major < 1000; v++)
		major = major * 10 + (*v - '0');
	return major;
}

/* path made absolute (the server runs restore_command in the data directory) */
static int absolute(const char *what, const char *path, char *out, size_t size)
{
	char *r = realpath(path, NULL);
	if (!r) {
		char b[300];
		pw_error(PW_E_CONFIG, "%s \"%s\": %s", what, pw_str_printable(b, sizeof b, path),
		         pw_strerror(errno));
		return pw_error_hint(
		    "restore_command needs it by its absolute path: give an existing "
		    "file.");
	}
	size_t n = pw_strlcpy(out, r, size);
	free(r);
	if (n >= size)
		return pw_error(PW_E_LIMIT, "%s: path too long", what);
	return 0;
}

#define RC_ARGS_MAX 64

struct rc_args {
	const char *argv[RC_ARGS_MAX];
	char store[RC_ARGS_MAX][4096];
	size_t n;
};

static void rc_add(struct rc_args *a, const char *v)
{
	if (a->n < RC_ARGS_MAX) {
		pw_strlcpy(a->store[a->n], v, sizeof a->store[a->n]);
		a->argv[a->n] = a->store[a->n];
		a->n++;
	}
}

static bool given(struct pw_ctx *ctx, enum pw_opt_id id)
{
	const char *src = pw_cfg_source(ctx->cfg, id);
	return pw_startswith(src, "environment") || pw_startswith(src, "command line");
}

/* restore_command = 'pgward wal-fetch STANZA %f %p' with what this run used to reach the
 * repository and decrypt: the config file, the audit log, and the options given in the
 * environment or on the command line that wal-fetch needs, paths made absolute; never a
 * secret (those come from the config file) */
int pw_restore_command(struct pw_ctx *ctx, const char *stanza, struct pw_buf *out)
{
	struct rc_args *a = pw_calloc(1, sizeof *a);
	char exe[4096], path[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	int rc = 0;
	if (n <= 0) {
		pw_free(a);
		pw_error(PW_E_IO, "cannot find pgward's own path: %s", pw_strerror(errno));
		return pw_error_hint(
		    "restore_command names pgward by its absolute path; /proc must "
		    "be mounted.");
	}
	exe[n] = 0;
	rc_add(a, exe);
	rc_add(a, "wal-fetch");
	rc_add(a, stanza);
	rc_add(a, "%f");
	rc_add(a, "%p");
	const char *cfg = pw_config_file(ctx->cfg);
	if (cfg && (rc = absolute("config file", cfg, path, sizeof path)) == 0) {
		rc_add(a, "--config");
		rc_add(a, path);
	}
	/* the audit log: this run's (an absolute path; the server has no HOME) */
	const char *al = pw_cfg_str(ctx->cfg, PW_OPT_AUDIT_LOG);
	char *def = al ? NULL : pw_audit_default_path();
	const char *alog = al ? al : def;
	if (rc == 0 && alog[0] != '/') {
		char cwd[2048];
		if (!getcwd(cwd, sizeof cwd))
			rc = pw_error(PW_E_IO, "cannot get the current directory: %s",
			              pw_strerror(errno));
		else
			snprintf(path, sizeof path, "%s/%s", cwd, alog);
	} else if (rc == 0) {
		pw_strlcpy(path, alog, sizeof path);
	}
	pw_free(def);
	if (rc == 0) {
		rc_add(a, "--audit-log");
		rc_add(a, path);
	}
	const char *repo = pw_cfg_str(ctx->cfg, PW_OPT_REPO);
	if (rc == 0 && repo && given(ctx, PW_OPT_REPO)) {
		rc_add(a, "--repo");
		if (strstr(repo, "://") && !pw_startswith(repo, "file://"))
			rc_add(a, repo);
		else if ((rc = absolute("repository",
		                        pw_startswith(repo, "file://") ? repo + 7 : repo, path,
		                        sizeof path)) == 0)
			rc_add(a, path);
	}
	const char *const *vals;
	size_t nv = pw_cfg_list(ctx->cfg, PW_OPT_IDENTITY, &vals);
	for (size_t i = 0; i < nv && rc == 0; i++)
		if ((rc = absolute("identity", vals[i], path, sizeof path)) == 0) {
			rc_add(a, "--identity");
			rc_add(a, path);
		}
	nv = pw_cfg_list(ctx->cfg, PW_OPT_TRUSTED_SIGNER, &vals);
	for (size_t i = 0; i < nv && rc == 0; i++) {
		struct stat st;
		rc_add(a, "--trusted-signer");
		if (stat(vals[i], &st) == 0 &&
		    (rc = absolute("trusted-signer", vals[i], path, sizeof path)) == 0)
			rc_add(a, path);
		else if (rc == 0)
			rc_add(a, vals[i]);
	}
	static const struct {
		enum pw_opt_id id;
		const char *flag;
		bool file;
	} carry[] = {{PW_OPT_PASSPHRASE_FILE, "--passphrase-file", true},
	             {PW_OPT_S3_ENDPOINT, "--s3-endpoint", false},
	             {PW_OPT_S3_REGION, "--s3-region", false},
	             {PW_OPT_S3_URI_STYLE, "--s3-uri-style", false},
	             {PW_OPT_S3_CA_FILE, "--s3-ca-file", true},
	             {PW_OPT_S3_TLS_VERIFY, "--s3-tls-verify", false},
	             {PW_OPT_S3_PROFILE, "--s3-profile", false}};
	for (size_t i = 0; i < sizeof carry / sizeof carry[0] && rc == 0; i++) {
		const char *v = pw_cfg_str(ctx->cfg, carry[i].id);
		if (!v || !given(ctx, carry[i].id))
			continue;
		if (carry[i].file && (rc = absolute(carry[i].flag + 2, v, path, sizeof path)) < 0)
			break;
		char opt[4200];
		snprintf(opt, sizeof opt, "%s=%s", carry[i].flag, carry[i].file ? path : v);
		rc_add(a, opt);
	}
	if (rc == 0 && a->n >= RC_ARGS_MAX)
		rc = pw_error(PW_E_LIMIT, "restore_command has too many arguments");
	if (rc == 0)
		rc = pitr_restore_command(a->argv, a->n, out);
	pw_free(a);
	return rc;
}

static void phys_progress(void *arg, const char *phase, uint64_t done, uint64_t total,
                          double seconds, bool finished)
{
	progress(arg, phase, done, total, seconds, finished);
}

/* restore --type=physical --target-dir DIR [--tablespace-map OID=DIR]... */
static int restore_physical(struct pw_ctx *ctx)
{
	struct stor *repo = NULL;
	struct pw_keyset ks = {0};
	struct backup_list l = {0};
	const struct backup_entry *e = NULL;
	char stanza[64];
	const char *dir = pw_cfg_str(ctx->cfg, PW_OPT_TARGET_DIR);
	if (!dir || !*dir || pw_cfg_str(ctx->cfg, PW_OPT_TARGET) ||
	    pw_cfg_str(ctx->cfg, PW_OPT_TO_FILE)) {
		pw_error(PW_E_USAGE, "--type=physical needs --target-dir DIR (and no --target or "
		                     "--to-file)");
		return pw_error_hint("A base backup becomes a data directory: give a new or empty "
		                     "one.");
	}
	struct pitr_target pt = {0};
	int port = 0;
	int rc = recovery_target(ctx, dir, &pt, &port);
	if (rc < 0)
		return rc;
	const char *const *vals;
	size_t nm = pw_cfg_list(ctx->cfg, PW_OPT_TABLESPACE_MAP, &vals);
	struct phys_ts_map map[PHYS_MAP_MAX];
	if (nm > PHYS_MAP_MAX) {
		pw_error(PW_E_LIMIT, "more than %d --tablespace-map", PHYS_MAP_MAX);
		return pw_error_hint("Map only the backup's tablespaces.");
	}
	for (size_t i = 0; i < nm && rc == 0; i++) {
		const char *eq = strchr(vals[i], '=');
		char oid[16] = "";
		uint64_t v = 0;
		if (eq && (size_t)(eq - vals[i]) < sizeof oid)
			memcpy(oid, vals[i], (size_t)(eq - vals[i]));
		if (!eq || pw_parse_u64(oid, &v) < 0 || v == 0 || v > UINT32_MAX || !eq[1]) {
			pw_error_clear();
			pw_error(PW_E_USAGE, "--tablespace-map \"%s\" is not OID=DIR", vals[i]);
			rc = pw_error_hint("\"pgward list --output=json\" does not show OIDs; the "
			                   "backup's objects are named <oid>.tar.zst.age.");
		}
		map[i] = (struct phys_ts_map){(uint32_t)v, eq ? eq + 1 : ""};
	}
	if (rc == 0)
		rc = load_identities(ctx, &ks);
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	if (rc == 0)
		rc = pick_backup(ctx, repo, stanza, sizeof stanza, &l, &e,
		                 pt.kind != PITR_NONE ? &pt : NULL);
	if (rc == 0 && pt.kind != PITR_NONE && !pitr_base_before(e->manifest, &pt)) {
		char lsn[24];
		manifest_lsn_format(e->manifest->physical.stop_lsn, lsn);
		pw_error(PW_E_USAGE, "backup %s ends (LSN %s) after the target %s", e->id, lsn,
		         pt.value);
		rc = pw_error_hint("Give a base backup that ended before the target, or leave out "
		                   "--backup.");
	}
	/* before anything is written: the stored WAL reaches the target */
	struct repo_signers signers = {0};
	struct pitr_plan plan = {0};
	struct pw_buf cmdline = PW_BUF_INIT(16384);
	if (rc == 0 && pt.kind != PITR_NONE)
		rc = pw_load_signers(ctx, &signers);
	if (rc == 0 && pt.kind != PITR_NONE)
		rc = pitr_plan_make(repo, stanza, e->manifest, &pt, &signers, ks.ids, ks.nids,
		                    &plan);
	if (rc == 0 && pt.kind != PITR_NONE)
		rc = pw_restore_command(ctx, stanza, &cmdline);
	struct physical_restore_result res;
	if (rc == 0) {
		json_object_set_new(ctx->audit, "stanza", json_string(stanza));
		json_object_set_new(ctx->audit, "backup_id", json_string(e->id));
		json_object_set_new(ctx->audit, "target_dir", json_string(dir));
		struct physical_restore_opts o = {
		    .repo = repo,
		    .stanza = stanza,
		    .id = e->id,
		    .manifest = e->manifest,
		    .ids = ks.ids,
		    .nids = ks.nids,
		    .target_dir = dir,
		    .map = map,
		    .nmap = nm,
		    .temp_dir = pw_cfg_str(ctx->cfg, PW_OPT_TEMP_DIR),
		    .progress = pw_progress_enabled(ctx) ? phys_progress : NULL};
		rc = physical_restore_run(&o, &res);
		if (o.progress)
			fputc('\n', stderr);
	}
	if (rc == 0 && pt.kind != PITR_NONE) {
		rc = pitr_write_settings(dir, &pt, pw_buf_str(&cmdline), port);
		json_object_set_new(ctx->audit, "recovery_target",
		                    json_string(pitr_kind_name(pt.kind)));
		json_object_set_new(ctx->audit, "recovery_target_value", json_string(pt.value));
	}
	if (rc == 0 && pt.kind != PITR_NONE) {
		char sz[32], shown[600], a[24], b[24], when[PW_TIME_MAX];
		pw_human_size(res.bytes, " ", sz, sizeof sz);
		pw_str_printable(shown, sizeof shown, dir);
		repl_lsn_format(plan.from, a);
		repl_lsn_format(plan.end, b);
		if (plan.end_time)
			pw_time_format(plan.end_time, PW_TIME_ISO, when);
		else /* written before signatures recorded the time */
			pw_strlcpy(when, "at an unrecorded time", sizeof when);
		printf("restored %s/%s (physical) into %s: %" PRIu64 " files, %s; pg_verifybackup "
		       "passed\n"
		       "recovery to %s%s%s%s%s: the stored WAL reaches it (timeline %" PRIu32
		       " to %" PRIu32 ", %s to %s, the last stored %s)\n"
		       "wrote recovery.signal and, in postgresql.auto.conf, restore_command, "
		       "the target and recovery_target_timeline = 'latest'\n",
		       stanza, e->id, shown, res.files, sz,
		       pt.kind == PITR_LATEST ? "the end of the stored WAL"
		                              : pitr_kind_name(pt.kind),
		       pt.kind == PITR_LATEST ? "" : " ", pt.value,
		       pt.kind >= PITR_TIME ? ", then " : "",
		       pt.kind >= PITR_TIME ? pitr_action_name(pt.action) : "", plan.base_tli,
		       plan.target_tli, a, b, when);
		int major = server_major(e->manifest);
		if (port > 0) {
			struct pitr_reached r;
			fflush(stdout);
			rc = pitr_start_watch(dir, major, &pt, 3600, &r);
			if (rc == 0) {
				printf("started on port %d, socket in %s only: recovery %s after "
				       "%.1f s\n",
				       port, shown, r.state, r.seconds);
				if (*r.stop)
					printf("  %s\n", r.stop);
				if (*r.redo)
					printf("  %s\n", r.redo);
				if (*r.last)
					printf("  %s\n", r.last);
				if (pt.action == PITR_PAUSE && pt.kind >= PITR_TIME)
					printf("check the data, then promote: SELECT "
					       "pg_wal_replay_resume();\n");
				if (pt.action != PITR_SHUTDOWN || pt.kind < PITR_TIME)
					printf("stop it with: pg_ctl -D '%s' stop\n", shown);
			}
		} else {
			printf("the server needs the identity and the repository through "
			       "restore_command: start it as a user that can read them:\n"
			       "  pg_ctl -D '%s' -l '%s/server.log' start\n"
			       "once recovery is over, remove wal-fetch's prefetch spool: "
			       "rm -r '%s/pg_wal/" WALSPOOL_NAME "'\n",
			       shown, shown, shown);
		}
	}
	if (rc == 0 && pt.kind == PITR_NONE) {
		char sz[32], shown[600];
		pw_human_size(res.bytes, " ", sz, sizeof sz);
		pw_str_printable(shown, sizeof shown, dir);
		printf("restored %s/%s (physical) into %s: %" PRIu64 " files, %s; pg_verifybackup "
		       "passed\n"
		       "the backup holds its WAL and starts consistent; check postgresql.conf "
		       "(port, paths) and start it as its owner:\n"
		       "  pg_ctl -D '%s' -l '%s/server.log' start\n",
		       stanza, e->id, shown, res.files, sz, shown, shown);
	}
	pw_buf_free(&cmdline, 0);
	repo_signers_free(&signers);
	catalog_list_free(&l);
	stor_free(repo);
	pw_keyset_free(&ks);
	return rc;
}

int cmd_restore(struct pw_ctx *ctx)
{
	if (strcmp(pw_cfg_str(ctx->cfg, PW_OPT_TYPE), "physical") == 0)
		return restore_physical(ctx);
	struct stor *repo = NULL;
	struct pw_keyset ks = {0};
	struct backup_list l = {0};
	const struct backup_entry *e = NULL;
	char stanza[64];
	const char *to_file = pw_cfg_str(ctx->cfg, PW_OPT_TO_FILE);
	const char *target = pw_cfg_str(ctx->cfg, PW_OPT_TARGET);
	int rc = 0;
	long long jobs = pw_cfg_int(ctx->cfg, PW_OPT_JOBS);
	if (jobs < 1 || jobs > 64) {
		pw_error(PW_E_CONFIG, "--jobs must be between 1 and 64, not %lld", jobs);
		return pw_error_hint(
		    "1 restores in a single transaction; more needs a spool file.");
	}
	if (!!to_file == !!target) {
		pw_error(PW_E_USAGE, "give either --target URL or --to-file FILE");
		return pw_error_hint(
		    "--target restores into a database; --to-file writes the plain "
		    "pg_dump archive.");
	}
	if (pw_cfg_bool(ctx->cfg, PW_OPT_ALLOW_PRIVILEGED_ROLES) &&
	    !pw_cfg_bool(ctx->cfg, PW_OPT_GLOBALS)) {
		pw_error(PW_E_USAGE, "--allow-privileged-roles needs --globals");
		return pw_error_hint("It lets --globals apply the backup's privileged roles; "
		                     "without --globals no role is applied.");
	}
	if (target && pg_conninfo_has_password(target) > 0) {
		pw_error(PW_E_INSECURE, "the --target connection string contains a password");
		return pw_error_hint("Put it in PGWARD_TARGET_PASSWORD or a mode 0600 config file "
		                     "(target-password).");
	}
	if (rc == 0)
		rc = load_identities(ctx, &ks);
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	if (rc == 0)
		rc = pick_backup(ctx, repo, stanza, sizeof stanza, &l, &e, NULL);
	if (rc < 0)
		goto out;
	json_object_set_new(ctx->audit, "stanza", json_string(stanza));
	json_object_set_new(ctx->audit, "backup_id", json_string(e->id));
	char key[512];
	if ((rc = repo_key(key, sizeof key, stanza, e->id, DATA_OBJECT)) < 0)
		goto out;
	/* the data must be the very object the (signed) manifest names */
	uint8_t want[32];
	uint64_t want_size = 0;
	if ((rc = restore_manifest_digest(e->manifest, DATA_OBJECT, want, &want_size)) < 0)
		goto out;

	if (to_file) {
		struct pw_outfile *of = NULL;
		bool to_stdout = strcmp(to_file, "-") == 0; /* a safe writer: common/safefile.h */
		bool force = pw_cfg_bool(ctx->cfg, PW_OPT_FORCE);
		struct stat st;
		if (to_stdout) {
			rc = pw_refuse_binary_tty(1, "a pg_dump archive");
		} else if (!force && lstat(to_file, &st) == 0 && S_ISREG(st.st_mode) &&
		           st.st_uid == geteuid()) {
			/* before anything is fetched; the writer refuses a late one too, and refuses
			 * anything else there (a link, a FIFO, another user's file) as unsafe */
			char shown[600];
			pw_error(PW_E_EXISTS, "\"%s\" exists; --to-file does not replace a file",
			         pw_str_printable(shown, sizeof shown, to_file));
			rc = pw_error_hint("Give a new file name, or add --force to replace it.");
		}
		/* the whole object is checked against the manifest before a byte of it is
		 * decrypted to the output (standard output cannot be taken back) */
		struct restore_opts fo = {.repo = repo,
		                          .key = key,
		                          .ids = ks.ids,
		                          .nids = ks.nids,
		                          .temp_dir = pw_cfg_str(ctx->cfg, PW_OPT_TEMP_DIR),
		                          .expect_sha256 = want,
		                          .expect_size = want_size,
		                          .object_size = want_size,
		                          .progress = pw_progress_enabled(ctx) ? progress : NULL};
		int vfd = -1;
		if (rc == 0)
			rc = restore_fetch_verified(&fo, key, &vfd);
		if (rc == 0 && (rc = pw_outfile_open(&of, to_file, 0600, !force)) == 0) {
			struct flt *chain = flt_age_decrypt(
			    ks.ids, ks.nids, AGE_ARMOR_NO,
			    flt_zstd_decompress(flt_fd_sink_writeback(pw_outfile_fd(of), to_file)));
			rc = restore_pump_verified(&fo, vfd, "writing", chain);
			if (rc == 0)
				rc = pw_outfile_commit(of);
		}
		if (vfd >= 0)
			close(vfd);
		if (fo.progress)
			fputc('\n', stderr);
		pw_outfile_free(of);
		json_object_set_new(ctx->audit, "to_file", json_string(to_file));
		if (rc == 0)
			fprintf(to_stdout ? stderr : stdout,
			        "restored %s/%s into %s (plain pg_dump custom archive)\n", stanza,
			        e->id, to_stdout ? "standard output" : to_file);
		goto out;
	}

	/* into a database */
	const char *tpw = pw_cfg_str(ctx->cfg, PW_OPT_TARGET_PASSWORD);
	struct pw_secret *secret = tpw ? pw_secret_from_str(tpw) : NULL;
	bool created = false;
	if (pw_cfg_bool(ctx->cfg, PW_OPT_CREATE) &&
	    (rc = maint_database(target, secret, false)) < 0) {
		pw_secret_free(secret);
		goto out;
	}
	created = pw_cfg_bool(ctx->cfg, PW_OPT_CREATE);
	struct pg_conn *tc = NULL;
	struct pg_connect_opts o = {
	    .conninfo = target, .password = secret, .password_source = TARGET_PASSWORD_SOURCE};
	rc = pg_connect(&o, &tc);
	char held[256] = "";
	if (rc == 0)
		rc = target_objects(tc, held, sizeof held);
	if (rc == 0 && *held && !pw_cfg_bool(ctx->cfg, PW_OPT_CLEAN)) {
		pw_error(PW_E_USAGE, "the target database \"%s\" is not empty: it holds %s",
		         pg_param(tc, "dbname"), held);
		rc = pw_error_hint("Restore into an empty database (--create makes one), or pass "
		                   "--clean to replace its objects.");
	}
	const char *const *tables, *const *schemas;
	size_t ntables = pw_cfg_list(ctx->cfg, PW_OPT_TABLE, &tables);
	size_t nschemas = pw_cfg_list(ctx->cfg, PW_OPT_SCHEMA, &schemas);
	if (rc == 0 && pw_cfg_bool(ctx->cfg, PW_OPT_GLOBALS)) {
		if (!e->manifest->globals) {
			pw_error(PW_E_NOTFOUND,
			         "backup %s holds no roles (the backup role could not "
			         "read them)",
			         e->id);
			rc = pw_error_hint(
			    "Restore without --globals, or create the roles by hand.");
		} else {
			char gkey[512];
			rc = repo_key(gkey, sizeof gkey, stanza, e->id, GLOBALS_OBJECT);
			struct restore_opts go = {.repo = repo,
			                          .ids = ks.ids,
			                          .nids = ks.nids,
			                          .target = tc,
			                          .password = secret};
			/* the globals must be the object the (signed) manifest names: checked
			 * whole before any of it is applied (it is small), and again as it is
			 * read for applying */
			uint8_t gwant[32];
			if (rc == 0)
				rc = restore_manifest_digest(e->manifest, GLOBALS_OBJECT, gwant,
				                             &go.expect_size);
			if (rc == 0) {
				struct flt *d = flt_sha256(NULL);
				rc = restore_get_checked(repo, gkey, gwant, go.expect_size, d);
				flt_chain_free(d);
				go.expect_sha256 = gwant;
			}
			if (rc == 0)
				rc = restore_globals_cmd(ctx, &go, gkey);
		}
	}
	const char *role = pw_cfg_str(ctx->cfg, PW_OPT_RESTORE_ROLE);
	if (rc == 0) {
		/* the backup's functions, constraints and defaults run as the restoring role */
		struct restore_opts chk = {.target = tc, .role = role};
		bool super = false;
		rc = restore_check_role(&chk, &super);
		if (rc == 0 && super)
			fprintf(stderr,
			        "pgward: warning: restoring as superuser \"%s\": functions, "
			        "constraints and defaults from the backup run with superuser power "
			        "(COPY TO PROGRAM included)\n"
			        "HINT: Restore as the database's owner with --role NAME (and "
			        "--no-owner), or log in as a role that is not a superuser.\n",
			        role && *role ? role : pg_param(tc, "user"));
		if (rc == 0)
			json_object_set_new(ctx->audit, "restore_role_superuser",
			                    json_boolean(super));
	}
	if (rc == 0) {
		struct restore_opts ro = {.repo = repo,
		                          .key = key,
		                          .role = role,
		                          .ids = ks.ids,
		                          .nids = ks.nids,
		                          .target = tc,
		                          .password = secret,
		                          .clean = pw_cfg_bool(ctx->cfg, PW_OPT_CLEAN),
		                          .no_owner = pw_cfg_bool(ctx->cfg, PW_OPT_NO_OWNER),
		                          .tables = tables,
		                          .ntables = ntables,
		                          .schemas = schemas,
		                          .nschemas = nschemas,
		                          .jobs = (int)pw_cfg_int(ctx->cfg, PW_OPT_JOBS),
		                          .temp_dir = pw_cfg_str(ctx->cfg, PW_OPT_TEMP_DIR),
		                          .no_single_transaction =
		                              !pw_cfg_bool(ctx->cfg, PW_OPT_SINGLE_TRANSACTION),
		                          .expect_sha256 = want,
		                          .expect_size = want_size,
		                          .object_size = want_size,
		                          .progress = pw_progress_enabled(ctx) ? progress : NULL};
		rc = restore_into_db(&ro);
		if (ro.progress)
			fputc('\n', stderr); /* the line stays, the messages go below it */
	}
	if (tc) {
		json_object_set_new(ctx->audit, "target", json_string(pg_param(tc, "dbname")));
		if (rc == 0)
			printf("restored %s/%s into database \"%s\"\n", stanza, e->id,
			       pg_param(tc, "dbname"));
		pg_close(tc);
	}
	if (rc < 0 && created) {
		/* leave nothing behind that looks like a restore: drop what --create made */
		struct pw_error_saved saved;
		pw_error_save(&saved);
		if (maint_database(target, secret, true) == 0)
			fprintf(stderr,
			        "pgward: the database this restore created was dropped again\n");
		else
			fprintf(stderr,
			        "pgward: warning: could not drop the database this restore "
			        "created: %s\n",
			        pw_error_message());
		pw_error_restore(&saved);
	}
	pw_secret_free(secret);
out:
	catalog_list_free(&l);
	stor_free(repo);
	pw_keyset_free(&ks);
	return rc;
}
