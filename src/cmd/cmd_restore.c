/*
 * cmd_restore.c - pgward restore: repository -> age decrypt -> zstd -> pg_restore
 * --single-transaction --exit-on-error (so a damaged backup leaves the target as it
 * was), or -> a plain pg_dump archive file with --to-file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cmd/commands.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/str.h"
#include "dump/catalog.h"
#include "dump/restore.h"
#include "filter/filter.h"
#include "filter/keyfile.h"
#include "pg/pg.h"
#include "storage/storage.h"

static int flt_feed(void *arg, const uint8_t *p, size_t n)
{
	return flt_write(arg, p, n);
}

static int pick_backup(struct pw_ctx *ctx, struct stor *repo, char *stanza, size_t ssize,
                       struct backup_list *l, const struct backup_entry **e)
{
	int rc = pw_repo_stanza(ctx, repo, stanza, ssize);
	if (rc < 0)
		return rc;
	if ((rc = catalog_list(repo, stanza, l)) < 0)
		return rc;
	const char *id = pw_cfg_str(ctx->cfg, PW_OPT_BACKUP_ID);
	const char *before = pw_cfg_str(ctx->cfg, PW_OPT_BEFORE);
	time_t t = 0;
	if (before && (rc = pw_audit_parse_since(before, time(NULL), &t)) < 0)
		return rc;
	*e = catalog_pick(l, id, t);
	if (!*e) {
		pw_error(PW_E_NOTFOUND,
		         id ? "backup \"%s\" not found in stanza \"%s\""
		            : "no complete backup%s in stanza \"%s\"",
		         id ? id : (before ? " before that time" : ""), stanza);
		return pw_error_hint("\"pgward list %s\" shows the backups.", stanza);
	}
	if (!(*e)->complete) {
		pw_error(PW_E_NOTFOUND, "backup \"%s\" is incomplete (it has no manifest)",
		         (*e)->id);
		return pw_error_hint("An incomplete backup was interrupted; pick a complete one.");
	}
	return 0;
}

static int ask_pass(void *arg, struct pw_secret **out)
{
	return pw_ask_passphrase(arg, "Enter passphrase: ", false, out);
}

static int target_has_tables(struct pg_conn *c, bool *has)
{
	struct pg_result *r;
	int rc = pg_query(
	    c,
	    "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
	    "where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', "
	    "'information_schema') and n.nspname not like 'pg\\_toast%'",
	    0, NULL, &r);
	if (rc == 0) {
		*has = strcmp(pg_value(r, 0, 0), "0") != 0;
		pg_result_free(r);
	}
	return rc;
}

/* --create: connect to the same server's maintenance database and create the target. */
static int create_database(const char *target, const struct pw_secret *pw)
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
	struct pg_connect_opts o = {.conninfo = maint, .password = pw};
	rc = pg_connect(&o, &c);
	pw_free(maint);
	if (rc == 0) {
		char *q = pg_quote_ident(c, name);
		char sql[600];
		snprintf(sql, sizeof sql, "create database %s", q);
		pw_free(q);
		rc = pg_exec(c, sql);
		if (rc < 0) {
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

int cmd_restore(struct pw_ctx *ctx)
{
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
	if (target && pg_conninfo_has_password(target) > 0) {
		pw_error(PW_E_INSECURE, "the --target connection string contains a password");
		return pw_error_hint("Put it in PGWARD_TARGET_PASSWORD or a mode 0600 config file "
		                     "(target-password).");
	}
	const char *const *vals;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_IDENTITY, &vals);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_identity_file(&ks, vals[i], pw_ask_passphrase, ctx->cfg);
	if (rc == 0 && !ks.nids) {
		pw_error(PW_E_KEY, "restoring needs an identity");
		rc = pw_error_hint(
		    "Give the backup identity with -i FILE (it never needs to live on "
		    "the backup host).");
	}
	for (size_t i = 0; i < ks.nids; i++)
		ks.ids[i].ask = ask_pass, ks.ids[i].ask_arg = ctx->cfg;
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	if (rc == 0)
		rc = pick_backup(ctx, repo, stanza, sizeof stanza, &l, &e);
	if (rc < 0)
		goto out;
	json_object_set_new(ctx->audit, "stanza", json_string(stanza));
	json_object_set_new(ctx->audit, "backup_id", json_string(e->id));
	char key[512];
	snprintf(key, sizeof key, "%s/%s/%s", stanza, e->id, DATA_OBJECT);

	if (to_file) {
		struct pw_outfile *of = NULL;
		bool to_stdout = strcmp(to_file, "-") == 0; /* a safe writer: common/safefile.h */
		if (to_stdout)
			rc = pw_refuse_binary_tty(1, "a pg_dump archive");
		if (rc == 0 && (rc = pw_outfile_open(&of, to_file, 0600, false)) == 0) {
			struct flt *chain = flt_age_decrypt(
			    ks.ids, ks.nids, AGE_ARMOR_NO,
			    flt_zstd_decompress(flt_fd_sink_writeback(pw_outfile_fd(of), to_file)));
			rc = stor_get(repo, key, flt_feed, chain);
			if (rc == 0)
				rc = flt_finish(chain);
			flt_chain_free(chain);
			if (rc == 0)
				rc = pw_outfile_commit(of);
		}
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
	if (pw_cfg_bool(ctx->cfg, PW_OPT_CREATE) && (rc = create_database(target, secret)) < 0) {
		pw_secret_free(secret);
		goto out;
	}
	struct pg_conn *tc = NULL;
	struct pg_connect_opts o = {.conninfo = target, .password = secret};
	rc = pg_connect(&o, &tc);
	bool has = false;
	if (rc == 0)
		rc = target_has_tables(tc, &has);
	if (rc == 0 && has && !pw_cfg_bool(ctx->cfg, PW_OPT_CLEAN)) {
		pw_error(PW_E_USAGE, "the target database \"%s\" already holds tables",
		         pg_param(tc, "dbname"));
		rc = pw_error_hint("Restore into an empty database (--create makes one), or pass "
		                   "--clean to replace its objects.");
	}
	const char *const *tables, *const *schemas;
	size_t ntables = pw_cfg_list(ctx->cfg, PW_OPT_TABLE, &tables);
	size_t nschemas = pw_cfg_list(ctx->cfg, PW_OPT_SCHEMA, &schemas);
	if (rc == 0 && pw_cfg_bool(ctx->cfg, PW_OPT_GLOBALS)) {
		if (!json_is_true(json_object_get(e->manifest, "globals"))) {
			pw_error(PW_E_NOTFOUND,
			         "backup %s holds no roles (the backup role could not "
			         "read them)",
			         e->id);
			rc = pw_error_hint(
			    "Restore without --globals, or create the roles by hand.");
		} else {
			char gkey[512];
			snprintf(gkey, sizeof gkey, "%s/%s/%s", stanza, e->id, GLOBALS_OBJECT);
			struct restore_opts go = {.repo = repo,
			                          .ids = ks.ids,
			                          .nids = ks.nids,
			                          .target = tc,
			                          .password = secret};
			int failed = 0;
			rc = restore_globals(&go, gkey, &failed);
			if (rc == 0 && failed)
				fprintf(
				    stderr,
				    "pgward: warning: %d role or tablespace statement%s did not "
				    "apply (usually: it exists already)\n",
				    failed, failed == 1 ? "" : "s");
		}
	}
	if (rc == 0) {
		struct restore_opts ro = {.repo = repo,
		                          .key = key,
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
		                          .temp_dir = pw_cfg_str(ctx->cfg, PW_OPT_TEMP_DIR)};
		rc = restore_into_db(&ro);
	}
	pw_secret_free(secret);
	if (tc) {
		json_object_set_new(ctx->audit, "target", json_string(pg_param(tc, "dbname")));
		if (rc == 0)
			printf("restored %s/%s into database \"%s\"\n", stanza, e->id,
			       pg_param(tc, "dbname"));
		pg_close(tc);
	}
out:
	catalog_list_free(&l);
	stor_free(repo);
	pw_keyset_free(&ks);
	return rc;
}
