/* cmd_expire.c - pgward expire, pin ID and unpin ID: retention without any private key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "cmd/commands.h"
#include "repo/trust.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "repo/catalog.h"
#include "repo/lease.h"
#include "jobs/expire.h"
#include "storage/storage.h"

/* The clock; PGWARD_NOW (tests and what-if runs) overrides it. */
static int now_clock(time_t *out)
{
	const char *n = getenv("PGWARD_NOW");
	*out = pw_now();
	if (n && *n)
		return pw_audit_parse_since(n, *out, out);
	return 0;
}

struct expire_counts {
	size_t kept, removed, retained;
};

/* One line per backup of the report: keep, would remove, removed, or retained (an object
 * lock refused the delete: the backup stays, with its manifest, until a later run). */
static void print_rows(json_t *rows, const char *stanza, bool dry, bool incomplete,
                       struct expire_counts *n)
{
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *x = json_array_get(rows, i);
		bool keep = pw_streq(json_string_value(json_object_get(x, "action")), "keep");
		json_t *ret = json_object_get(x, "retained");
		const char *verb = keep  ? "keep"
		                   : dry ? "would remove"
		                   : ret ? "retained"
		                         : "removed";
		printf("%-7s %s/%s", verb, stanza,
		       json_string_value(json_object_get(x, "backup_id")));
		if (incomplete) {
			printf("  (%s)", json_string_value(json_object_get(x, "reason")));
		} else {
			json_t *why = json_object_get(x, "reasons");
			for (size_t k = 0; k < json_array_size(why); k++)
				printf("%s%s", k ? "; " : "  (",
				       json_string_value(json_array_get(why, k)));
			printf("%s", json_array_size(why) ? ")" : "");
		}
		if (ret && !keep && !dry)
			printf(" until %s (object lock); a later expire removes it",
			       json_string_value(
			           json_object_get(json_array_get(ret, 0), "retained_until")));
		printf("\n");
		if (keep)
			n->kept++;
		else if (ret && !dry)
			n->retained++;
		else
			n->removed++;
	}
}

/* WAL: one line for what stays, one per reason for what goes (the objects are in the
 * JSON report) */
static void print_wal(json_t *w, const char *stanza, bool dry)
{
	const char *action = json_string_value(json_object_get(w, "action"));
	json_int_t n = json_integer_value(json_object_get(w, "objects"));
	if (!action || !n)
		return;
	if (pw_streq(action, "keep all")) {
		printf("keep    %s WAL: all %lld objects (%s)\n", stanza, (long long)n,
		       json_string_value(json_object_get(w, "reason")));
		return;
	}
	json_int_t old = json_integer_value(json_object_get(w, "removed_before_cut"));
	json_int_t sup = json_integer_value(json_object_get(w, "removed_superseded"));
	json_t *ret = json_object_get(w, "retained");
	printf("keep    %s WAL from segment %s on (the start of the oldest physical backup kept, "
	       "%s)\n",
	       stanza, json_string_value(json_object_get(w, "keep_from")),
	       json_string_value(json_object_get(w, "oldest_kept_backup")));
	if (old)
		printf("%-7s %lld WAL objects before it\n", dry ? "would remove" : "removed",
		       (long long)old);
	if (sup)
		printf("%-7s %lld partial WAL objects of segments stored complete\n",
		       dry ? "would remove" : "removed", (long long)sup);
	if (json_array_size(ret))
		printf(
		    "retained %zu WAL objects until %s (object lock); a later expire removes "
		    "them\n",
		    json_array_size(ret),
		    json_string_value(json_object_get(json_array_get(ret, 0), "retained_until")));
	if (!old && !sup && !json_array_size(ret))
		printf("keep    %s WAL: nothing before it\n", stanza);
}

int cmd_expire(struct pw_ctx *ctx)
{
	struct pw_config *c = ctx->cfg;
	struct retention r = {(int)pw_cfg_int(c, PW_OPT_RETENTION_DAYS),
	                      (int)pw_cfg_int(c, PW_OPT_RETENTION_MIN),
	                      (int)pw_cfg_int(c, PW_OPT_RETENTION_DAILY),
	                      (int)pw_cfg_int(c, PW_OPT_RETENTION_WEEKLY),
	                      (int)pw_cfg_int(c, PW_OPT_RETENTION_MONTHLY),
	                      (int)pw_cfg_int(c, PW_OPT_RETENTION_YEARLY),
	                      (long)pw_cfg_int(c, PW_OPT_INCOMPLETE_GRACE) * 3600,
	                      0};
	long long window = pw_cfg_int(c, PW_OPT_RECOVERY_WINDOW);
	if (window >= 0 && window <= 36500)
		r.window_seconds = (long)window * 86400;
	if (r.days < 0 || r.min < 0 || r.daily < 0 || r.weekly < 0 || r.monthly < 0 ||
	    r.yearly < 0 || r.grace_seconds < 0 || r.days > 36500 || window < 0 || window > 36500) {
		pw_error(PW_E_CONFIG, "retention settings must be zero or positive");
		return pw_error_hint("Check the retention-*, recovery-window (0-36500 days) and "
		                     "incomplete-grace options.");
	}
	if (r.days < 14)
		pw_warn(
		    "retention-days = %d: the checklist recommends keeping off-site copies 14 to "
		    "30 days",
		    r.days);
	long long lock = pw_cfg_int(c, PW_OPT_LOCK_DAYS);
	if (lock > r.days)
		pw_warn("lock-days (%lld) exceeds retention-days (%d): locked backups will be kept "
		        "until their lock ends",
		        lock, r.days);
	struct stor *repo;
	int rc = pw_open_repo(ctx, &repo);
	if (rc < 0)
		return rc;
	char stanza[64];
	time_t now;
	rc = pw_repo_stanza(ctx, repo, stanza, sizeof stanza);
	if (rc == 0)
		rc = now_clock(&now);
	json_t *rep = NULL;
	bool dry = pw_cfg_bool(c, PW_OPT_DRY_RUN);
	struct repo_signers signers = {0};
	bool allow = pw_cfg_bool(c, PW_OPT_ALLOW_UNSIGNED);
	if (rc == 0)
		rc = pw_load_signers(ctx, &signers);
	if (rc == 0 && !signers.n && !allow) {
		/* without a trusted key, anyone who can write the repository could fill the
		 * retention slots with fakes: delete nothing */
		pw_error(PW_E_SIGNATURE, "expire needs trusted-signer to tell genuine backups "
		                         "from forged ones");
		rc =
		    pw_error_hint("Configure trusted-signer with the backup host's public key "
		                  "(\"RW...\" or its .pub file), or pass --allow-unsigned to "
		                  "count unsigned backups as genuine (recorded in the audit log).");
	}
	/* one verify or expire of the stanza at a time, across hosts (repo/lease.h); a dry run
	 * writes nothing, not even a claim */
	struct repo_lease lease = {0};
	bool elsewhere = false;
	struct minisign_seckey sk;
	bool have_sk = false;
	const char *skpath = pw_cfg_str(c, PW_OPT_SIGN_KEY);
	if (rc == 0 && !dry && skpath && *skpath) { /* signs the claim (repo/lease.h) */
		rc = repo_sign_key_load(skpath, &sk);
		have_sk = rc == 0;
	}
	struct repo_lease_keys lk = {have_sk ? &sk : NULL, &signers};
	if (rc == 0 && !dry)
		rc = repo_lease_take(repo, stanza, "expire", now, &lk, &lease, &elsewhere);
	if (elsewhere) /* the service records this as skipped, not failed */
		json_object_set_new(ctx->audit, "running_elsewhere", json_true());
	if (rc == 0) {
		struct expire_opts o = {repo, stanza, r, now, dry, &signers, allow};
		rc = expire_run(&o, &rep);
	}
	if (lease.held) {
		struct pw_error_saved e;
		pw_error_save(&e);
		repo_lease_release(repo, &lease);
		if (rc == 0)
			repo_lease_gc(repo, stanza, now);
		pw_error_restore(&e);
	}
	if (have_sk)
		minisign_seckey_wipe(&sk);
	repo_signers_free(&signers);
	if (allow)
		json_object_set_new(ctx->audit, "allow_unsigned", json_true());
	if (rep && strcmp(pw_cfg_str(c, PW_OPT_OUTPUT), "json") == 0) {
		char *s = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		pw_free(s);
	} else if (rep) {
		struct expire_counts n = {0};
		print_rows(json_object_get(rep, "backups"), stanza, dry, false, &n);
		print_rows(json_object_get(rep, "incomplete"), stanza, dry, true, &n);
		json_t *up = json_object_get(rep, "stale_uploads");
		for (size_t i = 0; i < json_array_size(up); i++)
			printf("%s stale upload of %s\n", dry ? "would abort" : "aborted",
			       json_string_value(json_object_get(json_array_get(up, i), "key")));
		print_wal(json_object_get(rep, "wal"), stanza, dry);
		/* the summary counts exactly the lines above: a backup that an object lock keeps
		 * is "retained", not removed */
		if (dry)
			printf("%zu kept, %zu would be removed\n", n.kept, n.removed);
		else if (n.retained)
			printf("%zu kept, %zu removed, %zu retained by object lock (a later expire "
			       "removes them)\n",
			       n.kept, n.removed, n.retained);
		else
			printf("%zu kept, %zu removed\n", n.kept, n.removed);
	}
	if (rep) {
		json_object_set_new(ctx->audit, "stanza", json_string(stanza));
		json_object_set_new(ctx->audit, "dry_run", json_boolean(dry));
	}
	json_decref(rep);
	stor_free(repo);
	return rc;
}

/* pin ID / unpin ID */
int pw_retention_pin(struct pw_ctx *ctx, const char *id, bool pin)
{
	struct stor *repo;
	int rc = pw_open_repo(ctx, &repo);
	if (rc < 0)
		return rc;
	char **names = NULL;
	size_t n = 0;
	char found[64] = "";
	rc = catalog_stanzas(repo, &names, &n);
	for (size_t i = 0; rc == 0 && i < n && !found[0]; i++) {
		if (ctx->stanza && strcmp(ctx->stanza, names[i]) != 0)
			continue;
		struct backup_list l;
		if (catalog_list(repo, names[i], &l) == 0) {
			for (size_t k = 0; k < l.n; k++)
				if (strcmp(l.e[k].id, id) == 0 && l.e[k].complete)
					pw_strlcpy(found, names[i], sizeof found);
			catalog_list_free(&l);
		}
	}
	for (size_t i = 0; i < n; i++)
		pw_free(names[i]);
	pw_free(names);
	if (rc == 0 && !found[0]) {
		pw_error(PW_E_NOTFOUND, "no complete backup \"%s\" in the repository", id);
		rc = pw_error_hint("\"pgward list\" shows the backup ids.");
	}
	time_t now = 0;
	if (rc == 0)
		rc = now_clock(&now);
	/* signed with sign-key when configured: expire honours an unpin only when signed by a
	 * trusted-signer key (anyone who may write the repository could plant one) */
	const char *skpath = pw_cfg_str(ctx->cfg, PW_OPT_SIGN_KEY);
	struct minisign_seckey sk;
	bool have_sk = false;
	if (rc == 0 && skpath && *skpath) {
		rc = repo_sign_key_load(skpath, &sk);
		have_sk = rc == 0;
	}
	if (rc == 0)
		rc = expire_pin(repo, found, id, pin, now, have_sk ? &sk : NULL);
	if (have_sk)
		minisign_seckey_wipe(&sk);
	if (rc == 0)
		printf("%s %s/%s%s\n", pin ? "pinned" : "unpinned", found, id,
		       have_sk ? " (signed)" : " (unsigned)");
	if (rc == 0 && !pin && !have_sk)
		pw_warn(
		    "the unpin marker is not signed: expire ignores it (the backup stays pinned) "
		    "unless run with --allow-unsigned; configure sign-key with a trusted-signer's "
		    "key to unpin");
	json_object_set_new(ctx->audit, "signed", json_boolean(have_sk));
	json_object_set_new(ctx->audit, "backup_id", json_string(id));
	json_object_set_new(ctx->audit, "action", json_string(pin ? "pin" : "unpin"));
	stor_free(repo);
	return rc;
}

int cmd_unpin(struct pw_ctx *ctx)
{
	return pw_retention_pin(ctx, pw_config_pos(ctx->cfg, 0), false);
}
