/* cmd_verify.c - pgward verify: integrity (no key), decryptability (-i), restore drill. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/progress.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "repo/catalog.h"
#include "repo/lease.h"
#include "common/time.h"
#include "jobs/pitr.h"
#include "jobs/verify.h"
#include "filter/keyfile.h"
#include "pg/pg.h"
#include "storage/storage.h"

static int ask_pass(void *arg, struct pw_secret **out)
{
	return pw_ask_passphrase(arg, "Enter passphrase: ", false, out);
}

/* the progress line: the phase, the backup's id, bytes read of the manifest's sizes */
struct vprogress {
	const char *id;
	bool open; /* drawn without its final newline (the drill's restore) */
};

static void progress(void *arg, const char *phase, uint64_t done, uint64_t total, double seconds,
                     bool finished)
{
	struct vprogress *vp = arg;
	vp->open = !finished;
	struct pw_progress_state s = {.phase = phase,
	                              .item = vp->id,
	                              .bytes = done,
	                              .bytes_total = total,
	                              .seconds = seconds,
	                              .done = finished};
	pw_progress_draw(&s);
}

static void print_report(json_t *rep)
{
	const char *result = json_string_value(json_object_get(rep, "result"));
	printf("%s/%s: %s (depth %lld", json_string_value(json_object_get(rep, "stanza")),
	       json_string_value(json_object_get(rep, "backup_id")), result,
	       (long long)json_integer_value(json_object_get(rep, "depth")));
	json_t *rs = json_object_get(rep, "restore_seconds");
	if (rs)
		printf(", restored in %.1f s", json_real_value(rs));
	json_t *sr = json_object_get(rep, "scratch");
	if (rs && pw_streq(json_string_value(json_object_get(sr, "kind")), "local")) {
		const char *ver = json_string_value(json_object_get(sr, "server_version"));
		printf(" in a local throwaway PostgreSQL %.*s cluster",
		       ver ? (int)strcspn(ver, " ") : 1, ver ? ver : "?");
	}
	printf(")\n");
	json_t *wal = json_object_get(rep, "wal");
	if (json_object_get(wal, "note"))
		printf("  WAL: %s\n", json_string_value(json_object_get(wal, "note")));
	else if (json_object_get(wal, "from_segment"))
		printf("  WAL from segment %s: %s, %s; %lld object%s checked%s\n",
		       json_string_value(json_object_get(wal, "from_segment")),
		       json_is_true(json_object_get(wal, "consistent")) ? "consistent"
		                                                        : "NOT consistent",
		       json_is_true(json_object_get(wal, "reaches_end"))
		           ? "continuous to the end of the stored WAL"
		           : "NOT continuous to the end of the stored WAL",
		       (long long)json_integer_value(json_object_get(wal, "objects_checked")),
		       json_integer_value(json_object_get(wal, "objects_checked")) == 1 ? "" : "s",
		       json_is_true(json_object_get(wal, "signatures_checked"))
		           ? " (signatures)"
		           : " (present only: no trusted-signer)");
	/* a physical drill: restored, recovered, checked (the record is input: sanitized) */
	json_t *dr = json_object_get(rep, "recovery");
	if (json_is_string(json_object_get(dr, "amcheck"))) {
		char a[64], b[64];
		printf(
		    "  restored in %.1f s, recovered to the end of the stored WAL (timeline "
		    "%lld, %s to %s, %lld WAL objects) in %.1f s; pg_amcheck --all passed\n",
		    json_real_value(json_object_get(dr, "restore_seconds")),
		    (long long)json_integer_value(json_object_get(dr, "timeline")),
		    pw_str_printable(a, sizeof a,
		                     json_string_value(json_object_get(dr, "wal_from"))),
		    pw_str_printable(b, sizeof b, json_string_value(json_object_get(dr, "wal_to"))),
		    (long long)json_integer_value(json_object_get(dr, "wal_objects")),
		    json_real_value(json_object_get(dr, "recovery_seconds")));
	}
	json_t *nt = json_object_get(rep, "tables_compared");
	if (nt)
		printf(
		    "  row counts of %lld tables (%lld rows restored) compared with the details\n",
		    (long long)json_integer_value(nt),
		    (long long)json_integer_value(json_object_get(rep, "rows_restored")));
	json_t *roles = json_object_get(rep, "roles");
	if (roles) {
		char src[512], priv[1400];
		printf("  roles: %s; restored with %s: owners %s; privileges %s\n",
		       pw_str_printable(src, sizeof src,
		                        json_string_value(json_object_get(roles, "source"))),
		       json_string_value(json_object_get(roles, "restore_options")),
		       json_string_value(json_object_get(roles, "owners")),
		       pw_str_printable(priv, sizeof priv,
		                        json_string_value(json_object_get(roles, "privileges"))));
		/* role settings not applied (sanitized when recorded; the record is input) */
		json_t *sk = json_object_get(roles, "settings_skipped_list");
		for (size_t i = 0; i < json_array_size(sk) && i < 20; i++) {
			json_t *e = json_array_get(sk, i);
			char role[300], param[300], why[200];
			printf("  role \"%s\": setting \"%s\" not applied (%s)\n",
			       pw_str_printable(role, sizeof role,
			                        json_string_value(json_object_get(e, "role"))),
			       pw_str_printable(param, sizeof param,
			                        json_string_value(json_object_get(e, "parameter"))),
			       pw_str_printable(why, sizeof why,
			                        json_string_value(json_object_get(e, "reason"))));
		}
		json_int_t nsk = json_integer_value(json_object_get(roles, "settings_skipped"));
		if (nsk > (json_int_t)json_array_size(sk) && json_array_size(sk) <= 20)
			printf("  ... and %lld more role settings not applied\n",
			       (long long)(nsk - (json_int_t)json_array_size(sk)));
	}
	json_t *probs = json_object_get(rep, "problems");
	for (size_t i = 0; i < json_array_size(probs); i++) {
		json_t *p = json_array_get(probs, i);
		const char *o = json_string_value(json_object_get(p, "object"));
		printf("  %s%s%s\n", o ? o : "", o ? ": " : "",
		       json_string_value(json_object_get(p, "problem")));
		const char *h = json_string_value(json_object_get(p, "hint"));
		if (h) /* sanitized when recorded */
			printf("    (%s)\n", h);
	}
}

int cmd_verify(struct pw_ctx *ctx)
{
	struct stor *repo = NULL;
	struct repo_lease lease = {0};
	struct pw_keyset ks = {0};
	struct backup_list l = {0};
	struct repo_signers signers = {0};
	struct minisign_seckey sk;
	bool have_sk = false;
	struct pw_buf rcmd = PW_BUF_INIT(16384); /* a physical drill's restore_command */
	char stanza[64];
	int rc = 0;
	bool drill = pw_cfg_bool(ctx->cfg, PW_OPT_RESTORE_DRILL);
	const char *scratch = pw_cfg_str(ctx->cfg, PW_OPT_SCRATCH_URL);
	bool local = pw_cfg_bool(ctx->cfg, PW_OPT_SCRATCH_LOCAL);
	const char *id = ctx->backup_id;
	bool all = pw_cfg_bool(ctx->cfg, PW_OPT_ALL);
	if (id && all) {
		pw_error(PW_E_USAGE, "--backup and --all are alternatives");
		return pw_error_hint("Verify one backup or all of them.");
	}
	const char *const *vals;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_IDENTITY, &vals);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_identity_file(&ks, vals[i], pw_ask_passphrase, ctx->cfg);
	for (size_t i = 0; i < ks.nids; i++)
		ks.ids[i].ask = ask_pass, ks.ids[i].ask_arg = ctx->cfg;
	if (rc == 0 && scratch && local) {
		pw_error(
		    PW_E_USAGE,
		    "--scratch-url and --scratch-local are alternatives (scratch-url is set by "
		    "%s)",
		    pw_cfg_source(ctx->cfg, PW_OPT_SCRATCH_URL));
		rc = pw_error_hint("Restore drills run either on a server you name or in a "
		                   "throwaway local cluster; give one of them.");
	}
	if (rc == 0 && drill && !ks.nids) {
		pw_error(PW_E_USAGE,
		         "--restore needs -i IDENTITY and --scratch-url URL or --scratch-local");
		rc = pw_error_hint("The drill decrypts the backup and restores it into a scratch "
		                   "database created (and dropped) on the --scratch-url server, or "
		                   "in a throwaway cluster pgward starts here (--scratch-local).");
	}
	if (rc == 0 && scratch && pg_conninfo_has_password(scratch) > 0) {
		pw_error(PW_E_INSECURE, "the --scratch-url connection string contains a password");
		rc = pw_error_hint("Use PGWARD_SCRATCH_PASSWORD or scratch-password in a 0600 "
		                   "config file.");
	}
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	if (rc == 0)
		rc = pw_repo_stanza(ctx, repo, stanza, sizeof stanza);
	bool allow = pw_cfg_bool(ctx->cfg, PW_OPT_ALLOW_UNSIGNED);
	if (rc == 0)
		rc = pw_load_signers(ctx, &signers);
	/* records are signed with sign-key when configured (this host's own key, or the backup
	 * host's): list and check count only records signed by a trusted-signer key */
	const char *skpath = pw_cfg_str(ctx->cfg, PW_OPT_SIGN_KEY);
	if (rc == 0 && skpath && *skpath) {
		rc = repo_sign_key_load(skpath, &sk);
		have_sk = rc == 0;
	}
	/* one verify or expire of the stanza at a time, across hosts (repo/lease.h): claims
	 * signed with sign-key, only those signed by a trusted key count */
	bool elsewhere = false;
	struct repo_lease_keys lk = {have_sk ? &sk : NULL, &signers};
	if (rc == 0)
		rc = repo_lease_take(repo, stanza, "verify", pw_now(), &lk, &lease, &elsewhere);
	if (elsewhere) /* the service records this as skipped, not failed */
		json_object_set_new(ctx->audit, "running_elsewhere", json_true());
	if (rc == 0)
		rc = catalog_list_trusted(repo, stanza, &signers, !allow, &l);
	if (rc < 0)
		goto out;
	const char *sp = pw_cfg_str(ctx->cfg, PW_OPT_SCRATCH_PASSWORD);
	struct pw_secret *spw = sp ? pw_secret_from_str(sp) : NULL;
	bool json = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	json_t *reports = json_array();
	size_t failed = 0, checked = 0, refused = 0, privileged = 0, refusedrill = 0;
	const struct backup_entry *only = all ? NULL : catalog_pick(&l, id, 0);
	if (!all && !only && !id && !allow) {
		/* complete backups exist, none by a trusted key: say why the newest is refused */
		l.trusted_only = false;
		const struct backup_entry *newest = catalog_pick(&l, NULL, 0);
		l.trusted_only = true;
		if (newest)
			rc = repo_trust_error(&newest->trust, newest->id, signers.n > 0);
	}
	if (!all && only && only->state != BACKUP_INCOMPLETE && only->trust.trust != TRUST_SIGNED &&
	    !allow)
		rc = repo_trust_error(&only->trust, only->id, signers.n > 0);
	if (!all && only)
		pw_audit_trust(ctx, only, allow);
	else if (allow)
		json_object_set_new(ctx->audit, "allow_unsigned", json_true());
	if (rc == 0 && !all && !only) {
		pw_error(PW_E_NOTFOUND,
		         id ? "backup \"%s\" not found in stanza \"%s\""
		            : "no complete backup in stanza \"%s\"%.0s",
		         id ? id : stanza, stanza);
		rc = pw_error_hint("\"pgward list\" shows the backups.");
	}
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		const struct backup_entry *e = &l.e[i];
		if (!all && e != only)
			continue;
		if (all && e->state == BACKUP_INCOMPLETE)
			continue; /* incomplete backups are expire's business; list shows them */
		if (all && e->trust.trust != TRUST_SIGNED && !allow) {
			char label[64];
			repo_trust_label(&e->trust, label, sizeof label);
			fprintf(stderr, "pgward: backup %s refused: signature %s%s%s\n", e->id,
			        label, e->trust.detail[0] ? ": " : "", e->trust.detail);
			refused++;
			continue;
		}
		bool physical = e->manifest && e->manifest->kind == MANIFEST_PHYSICAL;
		if (drill && !physical && !scratch && !local) {
			pw_error(PW_E_USAGE,
			         "--restore of a logical backup needs --scratch-url URL or "
			         "--scratch-local");
			rc = pw_error_hint("The drill restores it into a scratch database created "
			                   "(and dropped) on "
			                   "the --scratch-url server, or in a throwaway cluster "
			                   "pgward starts here "
			                   "(--scratch-local).");
			break;
		}
		if (drill && physical && scratch && !local) {
			pw_error(PW_E_USAGE, "--scratch-url does not apply to a physical backup");
			rc = pw_error_hint("The drill of a physical backup recovers it into a "
			                   "throwaway directory here (under --temp-dir); leave out "
			                   "--scratch-url.");
			break;
		}
		/* a physical drill starts a server here, as restore --start does: never as root
		 * (before anything is read); its restore_command is restore's */
		if (drill && physical &&
		    (rc = pitr_refuse_root("verify --restore of a physical "
		                           "backup")) < 0)
			break;
		if (drill && physical && !rcmd.len &&
		    (rc = pw_restore_command(ctx, stanza, &rcmd)) < 0)
			break;
		struct vprogress vp = {.id = e->id};
		struct verify_opts vo = {.repo = repo,
		                         .stanza = stanza,
		                         .backup = e,
		                         .ids = ks.nids ? ks.ids : NULL,
		                         .nids = ks.nids,
		                         .scratch_url = drill && !local ? scratch : NULL,
		                         .scratch_password = spw,
		                         .scratch_local = drill && local,
		                         .scratch_user = pw_cfg_str(ctx->cfg, PW_OPT_SCRATCH_USER),
		                         .temp_dir = pw_cfg_str(ctx->cfg, PW_OPT_TEMP_DIR),
		                         .restore_command =
		                             drill && physical ? pw_buf_str(&rcmd) : NULL,
		                         .record = true,
		                         .sign_key = have_sk ? &sk : NULL,
		                         .signers = &signers,
		                         .progress = pw_progress_enabled(ctx) ? progress : NULL,
		                         .progress_arg = &vp};
		json_t *rep = NULL;
		int v = verify_backup(&vo, &rep);
		if (vp.open)
			fputc('\n', stderr); /* the line stays, the report goes below it */
		checked++;
		if (rep) {
			char label[64];
			repo_trust_label(&e->trust, label, sizeof label);
			json_object_set_new(rep, "signature",
			                    json_string(repo_trust_name(e->trust.trust)));
			json_object_set_new(rep, "signed_by", json_string(label));
		}
		if (v == -PW_E_VERIFY) {
			failed++;
			/* the drill's only problem: an object that needs superuser (not damage) */
			if (json_is_true(json_object_get(rep, "restore_needs_privilege")) &&
			    json_array_size(json_object_get(rep, "problems")) == 1)
				privileged++;
			/* every object matched its manifest; PostgreSQL refused the drill */
			if (json_is_true(json_object_get(rep, "restore_failed")) &&
			    json_array_size(json_object_get(rep, "problems")) == 1)
				refusedrill++;
		} else if (v < 0) {
			rc = v;
		}
		if (json)
			json_array_append(reports, rep);
		else if (rep)
			print_report(rep);
		json_decref(rep);
	}
	if (json) {
		char *s = json_dumps(reports, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		pw_free(s);
	}
	json_decref(reports);
	pw_secret_free(spw);
	json_object_set_new(ctx->audit, "stanza", json_string(stanza));
	json_object_set_new(ctx->audit, "checked", json_integer((json_int_t)checked));
	json_object_set_new(ctx->audit, "failed", json_integer((json_int_t)failed));
	json_object_set_new(ctx->audit, "refused_signature", json_integer((json_int_t)refused));
	if (rc == 0 && refused) {
		pw_error(PW_E_SIGNATURE,
		         "%zu backup%s refused: signature missing, invalid or by an untrusted key "
		         "(named above)%s",
		         refused, refused == 1 ? "" : "s",
		         failed ? "; others failed verification" : "");
		rc = pw_error_hint(signers.n
		                       ? "Only backups signed by a trusted-signer are verified; "
		                         "pass --allow-unsigned to verify the others anyway."
		                       : "Configure trusted-signer with the backup host's "
		                         "public key, or pass --allow-unsigned.");
	} else if (rc == 0 && failed) {
		pw_error(PW_E_VERIFY, "%zu of %zu backup%s failed verification", failed, checked,
		         checked == 1 ? "" : "s");
		if (privileged == failed)
			rc = pw_error_hint(
			    "The backup%s restored up to an object that needs superuser or server "
			    "programs, which the drill never grants (see above); restore it by "
			    "hand "
			    "as an administrator who has read that object.",
			    failed == 1 ? "" : "s");
		else if (refusedrill == failed)
			rc = pw_error_hint(
			    "The backup%s match%s the signed manifest%s, so this is not tampering: "
			    "PostgreSQL refused the restore drill for the reason shown above (a "
			    "missing extension, role or setting on the drill's server). Fix that "
			    "and run verify again.",
			    failed == 1 ? "" : "s", failed == 1 ? "es" : "",
			    failed == 1 ? "" : "s");
		else
			rc = pw_error_hint(
			    "Do not rely on the failing backups; take a new one and find out "
			    "what changed the repository.");
	}
out:
	if (lease.held) {
		struct pw_error_saved e;
		pw_error_save(&e);
		repo_lease_release(repo, &lease);
		pw_error_restore(&e);
	}
	pw_buf_free(&rcmd, 0);
	if (have_sk)
		minisign_seckey_wipe(&sk);
	repo_signers_free(&signers);
	catalog_list_free(&l);
	stor_free(repo);
	pw_keyset_free(&ks);
	return rc;
}
