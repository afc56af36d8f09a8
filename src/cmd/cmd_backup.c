/* cmd_backup.c - pgward backup [STANZA]: preflight, stream, commit, report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/progress.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "jobs/backup.h"
#include "jobs/physical.h"
#include "pg/privs.h"
#include "repo/catalog.h"
#include "jobs/preflight.h"
#include "filter/keyfile.h"
#include "pg/pg.h"
#include "repo/trust.h"
#include "service/schedule.h"
#include "storage/storage.h"

static void progress(void *arg, const struct backup_progress *p)
{
	(void)arg;
	char item[300] = "";
	if (p->table)
		snprintf(item, sizeof item, "%s%s%s", p->schema ? p->schema : "",
		         p->schema && *p->schema ? "." : "", p->table);
	/* the dump has no honest total in bytes (the database's size on disk is not the size
	 * of its dump): the count of tables is the honest measure of how far it is */
	struct pw_progress_state s = {.phase = p->phase,
	                              .item = item,
	                              .items_done = p->tables_done,
	                              .items_total = p->tables_total,
	                              .items_what = "tables",
	                              .bytes = p->raw,
	                              .seconds = p->seconds,
	                              .done = p->done};
	pw_progress_draw(&s);
}

static int print_findings(const struct preflight *p)
{
	for (size_t i = 0; i < p->n; i++)
		fprintf(stderr, "  %s: %s\n      fix: %s\n",
		        p->f[i].kind == F_PRIVILEGE ? "privilege" : "incomplete", p->f[i].what,
		        p->f[i].fix);
	if (p->more)
		fprintf(stderr, "  ... and %zu more\n", p->more);
	return 0;
}

/* The replication connection for BASE_BACKUP (same URL, TLS and pins as the session). */
static int physical_connect(struct pw_ctx *ctx, struct pg_conn **out)
{
	char *ci = NULL;
	int rc = pw_db_conninfo(ctx, &ci);
	if (rc < 0)
		return rc;
	const char *const *pins;
	size_t npins = pw_cfg_list(ctx->cfg, PW_OPT_PIN_SHA256, &pins);
	const char *pw = pw_cfg_str(ctx->cfg, PW_OPT_DB_PASSWORD);
	struct pw_secret *secret = pw ? pw_secret_from_str(pw) : NULL;
	struct pg_connect_opts o = {.conninfo = ci,
	                            .password = secret,
	                            .pins = pins,
	                            .npins = npins,
	                            .application_name = "pgward-basebackup",
	                            .replication = true};
	rc = pg_connect(&o, out);
	pw_secret_free(secret);
	pw_free(ci);
	if (rc == -PW_E_DB && strstr(pw_error_message(), "replication connection"))
		pw_error_hint("Replication connections need their own pg_hba.conf line, for the "
		              "\"replication\" database: hostssl replication ROLE ADDRESS "
		              "scram-sha-256 (see docs/pitr.md).");
	return rc;
}

/* --tag NAME[:KEEP], repeatable: into m's tags (names and caps checked by the manifest's
 * own rule, the keep by the schedules' one), before anything connects. */
static int parse_tags(struct pw_ctx *ctx, struct manifest *m)
{
	const char *const *specs;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_TAG, &specs);
	int rc = 0;
	json_t *audit = n ? json_array() : NULL;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char name[MANIFEST_TAG_MAX + 8], what[MANIFEST_TAG_MAX + 40];
		const char *colon = strchr(specs[i], ':');
		size_t len = colon ? (size_t)(colon - specs[i]) : strlen(specs[i]);
		if (len >= sizeof name)
			len = sizeof name - 1; /* too long for a tag: manifest_add_tag says so */
		memcpy(name, specs[i], len);
		name[len] = 0;
		long keep = 0;
		pw_str_printable(what, sizeof what, name);
		char w2[sizeof what + 16];
		snprintf(w2, sizeof w2, "--tag \"%s\"", what);
		if (colon)
			rc = sched_parse_keep(colon + 1, w2, &keep);
		if (rc == 0)
			rc = manifest_add_tag(m, name, keep);
		if (rc == 0)
			json_array_append_new(audit, json_string(specs[i]));
	}
	if (audit)
		json_object_set_new(ctx->audit, "tags", audit);
	return rc;
}

int cmd_backup(struct pw_ctx *ctx)
{
	struct pw_keyset ks = {0};
	struct pg_conn *c = NULL;
	struct stor *repo = NULL;
	struct preflight pf = {0};
	struct backup_result res = {0};
	char stanza[64];
	struct minisign_seckey sk;
	bool sign = false;
	struct manifest *tagm = pw_calloc(1, sizeof *tagm);
	int rc = parse_tags(ctx, tagm);
	if (rc == 0)
		rc = pw_load_recipients(ctx, &ks, "backups");
	const char *skpath = pw_cfg_str(ctx->cfg, PW_OPT_SIGN_KEY);
	if (rc == 0 && skpath) {
		rc = repo_sign_key_load(skpath, &sk);
		sign = rc == 0;
	} else if (rc == 0) {
		fprintf(stderr, "pgward: warning: no sign-key: this backup will be UNSIGNED, and "
		                "restore and verify refuse it without --allow-unsigned (make a key "
		                "with \"pgward keygen --sign\")\n");
	}
	long long level = pw_cfg_int(ctx->cfg, PW_OPT_COMPRESS_LEVEL);
	long long threads = pw_cfg_int(ctx->cfg, PW_OPT_COMPRESS_THREADS);
	long long lock_days = pw_cfg_int(ctx->cfg, PW_OPT_LOCK_DAYS);
	if (rc == 0 && (threads < 0 || threads > 16 || lock_days < 0 || lock_days > 36500)) {
		pw_error(PW_E_CONFIG, "compress-threads must be 0-16 and lock-days 0-36500");
		rc = pw_error_hint("Check those options (\"pgward help config\").");
	}
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	if (rc == 0)
		rc = pw_db_connect(ctx, true, false, &c);
	if (rc == 0)
		rc = pw_resolve_stanza(ctx, c, stanza, sizeof stanza);
	bool physical = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_TYPE), "physical") == 0;
	bool phys_priv = false;
	struct pg_conn *repl = NULL;
	if (rc == 0 && physical)
		rc = pw_replication_preflight(ctx, c, "Take base backups", &phys_priv);
	if (rc == 0 && physical && !pw_cfg_bool(ctx->cfg, PW_OPT_DRY_RUN))
		rc = physical_connect(ctx, &repl);
	if (rc == 0 && !physical)
		rc = preflight_run(c, &pf);
	bool allow = pw_cfg_bool(ctx->cfg, PW_OPT_ALLOW_PRIVILEGED);
	if (rc == 0 && pf.n) {
		size_t np = preflight_count(&pf, F_PRIVILEGE),
		       ni = preflight_count(&pf, F_INCOMPLETE);
		print_findings(&pf);
		if (ni) {
			pw_error(PW_E_PRIVILEGE,
			         "the dump of \"%s\" would be incomplete for role \"%s\" "
			         "(%zu finding%s above)",
			         pf.database, pf.role, ni, ni == 1 ? "" : "s");
			rc = pw_error_hint("Apply the fixes shown; pgward never silently dumps a "
			                   "filtered or partial database.");
		} else if (np && !allow) {
			pw_error(PW_E_PRIVILEGE,
			         "role \"%s\" could change database \"%s\" (%zu finding%s "
			         "above)",
			         pf.role, pf.database, np + pf.more, np + pf.more == 1 ? "" : "s");
			rc = pw_error_hint(
			    "Back up with a read-only role (apply the fixes shown), or "
			    "pass --allow-privileged to proceed; that is recorded in the "
			    "manifest.");
		} else if (np) {
			fprintf(stderr, "pgward: warning: backing up with a privileged role "
			                "(--allow-privileged); the manifest records it\n");
		}
	}
	json_object_set_new(ctx->audit, "stanza", json_string(rc == 0 ? stanza : ""));
	bool dry = pw_cfg_bool(ctx->cfg, PW_OPT_DRY_RUN);
	if (dry)
		json_object_set_new(ctx->audit, "dry_run", json_true());
	if (rc == 0 && dry && physical) {
		printf(
		    "dry run: stanza %s, physical base backup: the role may replicate and change "
		    "nothing%s\n  repository: %s\nnothing was copied or written\n",
		    stanza, phys_priv ? " (privileged: --allow-privileged)" : "",
		    stor_describe(repo));
	} else if (rc == 0 && dry) {
		/* everything a backup checks before its first byte, and no more */
		char size[32];
		pw_human_size((uint64_t)(pf.database_size > 0 ? pf.database_size : 0), " ", size,
		              sizeof size);
		char kid[17] = "", dbname[200], role[200];
		if (sign)
			minisign_keyid_hex(sk.keyid, kid);
		/* names as the server returns them: whoever named them chose every byte */
		pw_str_printable(dbname, sizeof dbname, pf.database);
		pw_str_printable(role, sizeof role, pf.role);
		printf("dry run: stanza %s, database \"%s\" (%s on disk) as role \"%s\": %s\n"
		       "  repository: %s\n  recipients: %zu; %s%s\n"
		       "nothing was dumped or written\n",
		       stanza, dbname, size, role,
		       pf.n ? "privileged (--allow-privileged)" : "read-only, every table readable",
		       stor_describe(repo), ks.nrcpts, sign ? "signed with key " : "UNSIGNED", kid);
	} else if (rc == 0) {
		const char *pw = pw_cfg_str(ctx->cfg, PW_OPT_DB_PASSWORD);
		struct pw_secret *secret = pw ? pw_secret_from_str(pw) : NULL;
		struct backup_opts o = {
		    .conn = c,
		    .preflight = &pf,
		    .password = secret,
		    .repo = repo,
		    .stanza = stanza,
		    .rcpts = ks.rcpts,
		    .nrcpts = ks.nrcpts,
		    .level = (int)level,
		    .threads = (int)threads,
		    .privileged = pf.n && allow,
		    .lock_days = (int)lock_days,
		    .lock_mode = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_LOCK_MODE), "compliance") == 0
		                     ? STOR_LOCK_COMPLIANCE
		                     : STOR_LOCK_GOVERNANCE,
		    .rate_limit = pw_cfg_size(ctx->cfg, PW_OPT_RATE_LIMIT),
		    .progress = pw_progress_enabled(ctx) ? progress : NULL,
		    .sign_key = sign ? &sk : NULL,
		    .tags = tagm->tags,
		    .ntags = tagm->ntags,
		};
		struct manifest_anchor anchor = {0};
		if (sign && pw_audit_anchor(ctx, &anchor))
			o.audit_anchor = &anchor;
		if (physical) {
			o.preflight = NULL;
			o.privileged = phys_priv;
			rc = physical_backup_run(&o, repl, &res);
		} else {
			rc = backup_run(&o, &res);
		}
		pw_secret_free(secret);
		/* the service records this as skipped, not failed (docs/service.md) */
		if (rc < 0 && res.elsewhere)
			json_object_set_new(ctx->audit, "running_elsewhere", json_true());
	}
	if (rc == 0 && !dry) {
		json_object_set_new(ctx->audit, "backup_id", json_string(res.id));
		json_object_set_new(ctx->audit, "privileged",
		                    json_boolean(physical ? phys_priv : pf.n && allow));
		json_object_set_new(ctx->audit, "type",
		                    json_string(physical ? "physical" : "logical"));
		char kid[17] = "";
		if (sign)
			minisign_keyid_hex(sk.keyid, kid);
		json_object_set_new(ctx->audit, "signed_by", sign ? json_string(kid) : json_null());
		json_object_set_new(ctx->audit, "stored_bytes",
		                    json_integer((json_int_t)manifest_stored_bytes(res.manifest)));
		if (strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0) {
			printf("%s\n", res.manifest_text); /* the committed bytes, as signed */
		} else {
			char a[32], b[32];
			pw_human_size(res.manifest->raw_bytes, " ", a, sizeof a);
			pw_human_size(manifest_stored_bytes(res.manifest), " ", b, sizeof b);
			if (physical) {
				char l1[24], l2[24];
				manifest_lsn_format(res.manifest->physical.start_lsn, l1);
				manifest_lsn_format(res.manifest->physical.stop_lsn, l2);
				printf("backup %s/%s complete (physical, timeline %u, %s to %s): "
				       "copied "
				       "%s, stored %s in %.1f s\n",
				       stanza, res.id, res.manifest->physical.timeline, l1, l2, a,
				       b, res.manifest->duration_seconds);
			} else {
				printf("backup %s/%s complete: dump %s, stored %s in %.1f s%s\n",
				       stanza, res.id, a, b, res.manifest->duration_seconds,
				       res.manifest->globals ? "" : " (roles not included)");
			}
		}
	}
	backup_result_free(&res);
	manifest_free(tagm);
	preflight_free(&pf);
	pg_close(repl);
	pg_close(c);
	stor_free(repo);
	pw_keyset_free(&ks);
	if (sign)
		minisign_seckey_wipe(&sk);
	return rc;
}
