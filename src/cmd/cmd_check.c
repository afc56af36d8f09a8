/* cmd_check.c - pgward check [STANZA]: the security checklist over metadata only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "check/check.h"
#include "cmd/commands.h"
#include "repo/trust.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "repo/catalog.h"
#include "pg/pg.h"
#include "storage/storage.h"

/* The clock; PGWARD_NOW (tests and what-if runs) overrides it, as for expire. */
static int now_clock(time_t *out)
{
	const char *n = getenv("PGWARD_NOW");
	*out = pw_now();
	if (n && *n)
		return pw_audit_parse_since(n, *out, out);
	return 0;
}

/* Does the connection use the stanza's own credentials (the backup role)? True when a
 * stanza was named and the database came from the configuration or environment. */
static bool stanza_credentials(struct pw_ctx *ctx)
{
	if (!ctx->stanza)
		return false;
	static const enum pw_opt_id ids[] = {PW_OPT_DB, PW_OPT_URL_ENV, PW_OPT_URL_FILE};
	for (size_t i = 0; i < 3; i++)
		if (pw_cfg_isset(ctx->cfg, ids[i]) &&
		    !strstr(pw_cfg_source(ctx->cfg, ids[i]), "command line"))
			return true;
	return false;
}

/* A retention-daily/weekly/monthly/yearly count (what expire keeps), clamped to 0-4096. */
static int gfs_count(struct pw_config *c, enum pw_opt_id id)
{
	long long v = pw_cfg_int(c, id);
	return v < 0 ? 0 : v > 4096 ? 4096 : (int)v;
}

/* --list-rules: the rule table, in report order, without a connection. */
static int list_rules(struct pw_ctx *ctx)
{
	size_t n = chk_rules_describe(NULL, 0);
	struct chk_rule_desc *v = pw_calloc(n, sizeof *v);
	chk_rules_describe(v, n);
	if (strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_string(v[i].id));
			json_object_set_new(o, "severity",
			                    json_string(chk_severity_name(v[i].severity)));
			json_object_set_new(o, "title", json_string(v[i].title));
			json_object_set_new(o, "why", json_string(v[i].why));
			json_array_append_new(a, o);
		}
		char *s = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
		json_decref(a);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%-28s %-8s %s\n", v[i].id, chk_severity_name(v[i].severity),
			       v[i].title);
	}
	fflush(stdout);
	pw_free(v);
	json_object_set_new(ctx->audit, "list_rules", json_true());
	return 0;
}

int cmd_check(struct pw_ctx *ctx)
{
	struct pw_config *c = ctx->cfg;
	if (pw_cfg_bool(c, PW_OPT_LIST_RULES))
		return list_rules(ctx);
	enum chk_severity fail_on;
	if (chk_severity_parse(pw_cfg_str(c, PW_OPT_FAIL_ON), &fail_on) < 0) {
		pw_error(PW_E_USAGE, "invalid --fail-on \"%s\"", pw_cfg_str(c, PW_OPT_FAIL_ON));
		return pw_error_hint("Use critical, high, medium, low, info or never.");
	}
	long long days = pw_cfg_int(c, PW_OPT_RETENTION_DAYS);
	long long min = pw_cfg_int(c, PW_OPT_RETENTION_MIN);
	if (days < 0 || days > 36500 || min < 0 || min > 100000) {
		pw_error(PW_E_CONFIG, "retention-days must be 0-36500 and retention-min 0-100000");
		return pw_error_hint("Check the retention options (\"pgward help config\").");
	}
	time_t now;
	int rc = now_clock(&now);
	if (rc < 0)
		return rc;
	struct pg_conn *db = NULL;
	/* read-only, as application "pgward-check" (server logs show whose statements these are) */
	rc = pw_db_connect_as(ctx, true, false, "pgward-check", &db);
	if (rc < 0)
		return rc;
	char stanza[64] = "";
	/* A stanza named on the command line must be valid. Without one, the database name
	 * serves (as for backup) when it is a valid stanza name; when it is not, check runs
	 * without a stanza and the backup rules say to name one. */
	const char *dbname = pg_param(db, "dbname");
	if (ctx->stanza || (dbname && catalog_valid_stanza(dbname))) {
		rc = pw_resolve_stanza(ctx, db, stanza, sizeof stanza);
		if (rc < 0) {
			pg_close(db);
			return rc;
		}
	}
	struct stor *repo = NULL;
	char repo_error[512] = "";
	if (pw_cfg_str(c, PW_OPT_REPO) && pw_open_repo(ctx, &repo) < 0) {
		/* a repository that cannot be opened makes the backup rules skip, not check fail */
		snprintf(repo_error, sizeof repo_error, "%s", pw_error_message());
		pw_error_clear();
		repo = NULL;
	}
	struct repo_signers signers = {0};
	if (pw_load_signers(ctx, &signers) < 0) {
		/* a bad trusted-signer is a configuration error, as for restore */
		stor_free(repo);
		pg_close(db);
		return -pw_error_code();
	}
	const char *host = pg_param(db, "host");
	char hostbuf[256];
	pw_strlcpy(hostbuf, host ? host : "", sizeof hostbuf);
	const char *mode = pg_param(db, "sslmode");
	char modebuf[32];
	pw_strlcpy(modebuf, mode ? mode : "", sizeof modebuf);
	const char *const *pins;
	size_t npins = pw_cfg_list(c, PW_OPT_PIN_SHA256, &pins);
	struct chk_opts o = {
	    .db = db,
	    .sslmode = modebuf,
	    .db_host = hostbuf,
	    .npins = npins,
	    .connecting_is_backup_role = stanza_credentials(ctx),
	    .stanza = stanza,
	    .backup = {.repo = repo,
	               .repo_error = *repo_error ? repo_error : NULL,
	               .repo_desc = repo ? stor_describe(repo) : "",
	               .repo_addr = pw_cfg_str(c, PW_OPT_REPO),
	               .s3_endpoint = pw_cfg_str(c, PW_OPT_S3_ENDPOINT),
	               .retention_days = (int)days,
	               .retention_min = (int)min,
	               .retention_daily = gfs_count(c, PW_OPT_RETENTION_DAILY),
	               .retention_weekly = gfs_count(c, PW_OPT_RETENTION_WEEKLY),
	               .retention_monthly = gfs_count(c, PW_OPT_RETENTION_MONTHLY),
	               .retention_yearly = gfs_count(c, PW_OPT_RETENTION_YEARLY),
	               .retention_source = pw_cfg_source(c, PW_OPT_RETENTION_DAYS),
	               .lock_days = pw_cfg_int(c, PW_OPT_LOCK_DAYS),
	               .signers = &signers,
	               .wal_flush_interval = pw_cfg_int(c, PW_OPT_WAL_FLUSH_INTERVAL),
	               .recovery_window_days = pw_cfg_int(c, PW_OPT_RECOVERY_WINDOW)},
	    .now = now,
	};
	struct chk_report rep;
	rc = chk_run(&o, &rep);
	if (rc == 0) {
		const char *fmt = pw_cfg_str(c, PW_OPT_OUTPUT);
		if (strcmp(fmt, "json") == 0) {
			json_t *j = chk_report_json(&rep, fail_on);
			char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("%s\n", s);
			pw_free(s);
			json_decref(j);
		} else {
			struct pw_buf b = PW_BUF_INIT(64 << 20);
			if (strcmp(fmt, "markdown") == 0)
				chk_render_markdown(&rep, &b);
			else
				chk_render_text(&rep, &b);
			fwrite(b.data, 1, b.len, stdout);
			pw_buf_free(&b, 0);
		}
		fflush(stdout);
		size_t counts[5] = {0};
		for (size_t i = 0; i < rep.n; i++)
			counts[rep.f[i].result]++;
		size_t failing = chk_count_failing(&rep, fail_on);
		json_object_set_new(ctx->audit, "stanza", json_string(stanza));
		struct pw_buf dbn = PW_BUF_INIT(1024); /* valid UTF-8, or the key would vanish */
		chk_clean_text(&dbn, rep.database, false, false);
		json_object_set_new(ctx->audit, "database", json_string(pw_buf_str(&dbn)));
		pw_buf_free(&dbn, 0);
		json_object_set_new(ctx->audit, "fail_on", json_string(chk_severity_name(fail_on)));
		json_t *sum = json_object();
		for (int i = 0; i < 5; i++)
			json_object_set_new(sum, chk_result_name((enum chk_result)i),
			                    json_integer((json_int_t)counts[i]));
		json_object_set_new(ctx->audit, "summary", sum);
		json_object_set_new(ctx->audit, "failing", json_integer((json_int_t)failing));
		if (failing) {
			pw_error(PW_E_CHECK_FAILED, "%zu result%s at or above --fail-on=%s",
			         failing, failing == 1 ? "" : "s", chk_severity_name(fail_on));
			rc =
			    pw_error_hint("Apply the fixes shown in the report, or raise --fail-on "
			                  "(never: the exit status ignores the results).");
		}
	}
	chk_report_free(&rep);
	repo_signers_free(&signers);
	stor_free(repo);
	pg_close(db);
	return rc;
}
