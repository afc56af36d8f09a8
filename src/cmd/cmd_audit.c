/* cmd_audit.c - pgward audit [verify]: print or check the hash-chained audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cmd/commands.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/minisign.h"
#include "repo/catalog.h"
#include "repo/trust.h"
#include "storage/storage.h"

struct print_ctx {
	bool json;
	size_t n;
};

static int print_rec(void *arg, json_t *rec)
{
	struct print_ctx *p = arg;
	p->n++;
	if (p->json) {
		char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "{}");
		pw_free(s);
		return 0;
	}
	json_t *actor = json_object_get(rec, "actor");
	const char *role = json_string_value(json_object_get(actor, "db_role"));
	const char *stanza = json_string_value(json_object_get(rec, "stanza"));
	printf("%-20s %-8s %-8s %-10s user=%s%s%s%s%s",
	       json_string_value(json_object_get(rec, "time")),
	       json_string_value(json_object_get(rec, "command")),
	       json_string_value(json_object_get(rec, "outcome")), stanza ? stanza : "-",
	       json_string_value(json_object_get(actor, "os_user")), role ? " role=" : "",
	       role ? role : "", json_object_get(rec, "error") ? " error=" : "",
	       json_object_get(rec, "error") ? json_string_value(json_object_get(rec, "error"))
	                                     : "");
	printf("\n");
	return 0;
}

char *pw_audit_log_path(const struct pw_config *cfg)
{
	const char *p = pw_cfg_str(cfg, PW_OPT_AUDIT_LOG);
	return p ? pw_strdup(p) : pw_audit_default_path();
}

static char *log_path(struct pw_ctx *ctx)
{
	return pw_audit_log_path(ctx->cfg);
}

bool pw_audit_anchor(struct pw_ctx *ctx, struct manifest_anchor *a)
{
	char *path = log_path(ctx);
	struct pw_audit_report r;
	memset(a, 0, sizeof *a);
	struct pw_error_saved e;
	pw_error_save(&e);
	int rc = pw_audit_verify(path, &r);
	if (rc == 0 && r.records > 0) {
		char host[256] = "";
		gethostname(host, sizeof host - 1);
		a->present = strlen(path) < sizeof a->log && strlen(r.head) < sizeof a->head;
		pw_strlcpy(a->host, host, sizeof a->host);
		pw_strlcpy(a->log, path, sizeof a->log);
		a->records = (int64_t)r.records;
		pw_strlcpy(a->head, r.head, sizeof a->head);
	} else if (rc < 0) {
		char *m = pw_redact(pw_error_message());
		fprintf(stderr,
		        "pgward: warning: the audit log is not anchored in this backup: %s\n", m);
		pw_free(m);
	}
	pw_error_restore(&e);
	pw_free(path);
	return a->present;
}

struct anchor_check {
	char (*hashes)[65];
	size_t n;
};

static int collect_hash(void *arg, size_t lineno, const char hash[65])
{
	struct anchor_check *c = arg;
	(void)lineno;
	c->hashes = pw_realloc(c->hashes, (c->n + 1) * sizeof *c->hashes);
	memcpy(c->hashes[c->n++], hash, 65);
	return 0;
}

/* audit verify --repo: every anchor of this host's log in a backup signed by a trusted key
 * (or by this host's sign-key) must name a record the log still has, unchanged. */
static int verify_anchors(struct pw_ctx *ctx, const char *path, size_t *checked)
{
	struct repo_signers signers = {0};
	int rc = pw_load_signers(ctx, &signers);
	const char *skpath = pw_cfg_str(ctx->cfg, PW_OPT_SIGN_KEY);
	if (rc == 0 && skpath) {
		struct minisign_seckey sk;
		if ((rc = repo_sign_key_load(skpath, &sk)) == 0) {
			struct minisign_pubkey pk;
			minisign_seckey_public(&sk, &pk);
			minisign_seckey_wipe(&sk);
			char b64[MINISIGN_PUB_B64_LEN + 1];
			minisign_pubkey_b64(&pk, b64);
			rc = repo_signers_add(&signers, b64);
		}
	}
	if (rc == 0 && !signers.n) {
		pw_error(PW_E_SIGNATURE, "audit verify --repo needs a key to trust the anchors");
		rc = pw_error_hint("Set sign-key (on the backup host) or trusted-signer: an anchor "
		                   "in an unsigned manifest proves nothing.");
	}
	struct anchor_check ac = {NULL, 0};
	if (rc == 0)
		rc = pw_audit_hashes(path, collect_hash, &ac);
	struct stor *repo = NULL;
	char **names = NULL;
	size_t nn = 0;
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	if (rc == 0)
		rc = catalog_stanzas(repo, &names, &nn);
	for (size_t i = 0; rc == 0 && i < nn; i++) {
		struct backup_list l;
		if ((rc = catalog_list_trusted(repo, names[i], &signers, true, &l)) < 0)
			break;
		for (size_t k = 0; rc == 0 && k < l.n; k++) {
			const struct backup_entry *e = &l.e[k];
			if (!e->complete || !e->manifest->audit_anchor.present ||
			    e->trust.trust != TRUST_SIGNED)
				continue;
			const struct manifest_anchor *a = &e->manifest->audit_anchor;
			if (!pw_streq(a->host, host) || !pw_streq(a->log, path))
				continue; /* another host's or another log's anchor */
			long long rec = a->records;
			const char *head = a->head[0] ? a->head : NULL;
			(*checked)++;
			if (rec < 1 || !head) {
				pw_error(PW_E_AUDIT, "backup %s/%s has a malformed audit anchor",
				         names[i], e->id);
				rc = pw_error_hint(
				    "Investigate: the manifest is signed, so its writer "
				    "holds the signing key.");
			} else if ((size_t)rec > ac.n) {
				pw_error(PW_E_AUDIT,
				         "the audit log has %zu records, but backup %s/%s anchored "
				         "record %lld: records were removed",
				         ac.n, names[i], e->id, (long long)rec);
				rc = pw_error_hint(
				    "The log was truncated or replaced; investigate.");
			} else if (strcmp(ac.hashes[rec - 1], head) != 0) {
				pw_error(
				    PW_E_AUDIT,
				    "audit record %lld is not the one backup %s/%s anchored: the "
				    "log was rewritten",
				    (long long)rec, names[i], e->id);
				rc = pw_error_hint(
				    "Records up to %lld were edited, removed or re-chained "
				    "since that backup; investigate.",
				    (long long)rec);
			}
		}
		catalog_list_free(&l);
	}
	for (size_t i = 0; i < nn; i++)
		pw_free(names[i]);
	pw_free(names);
	stor_free(repo);
	pw_free(ac.hashes);
	repo_signers_free(&signers);
	return rc;
}

void pw_audit_record(struct pw_ctx *ctx, const char *db_role, int rc, json_t *details)
{
	char *path = log_path(ctx);
	char *err = rc < 0 ? pw_strdup(pw_error_message()) : NULL;
	struct pw_audit_event ev = {.command = ctx->command,
	                            .stanza = ctx->stanza,
	                            .db_role = db_role,
	                            .exit_code = rc < 0 ? -rc : 0,
	                            .error = err,
	                            .details = details};
	/* keep the command's own error record intact */
	struct pw_error_saved e;
	pw_error_save(&e);
	if (pw_audit_append(path, &ev) < 0) {
		char *m = pw_redact(pw_error_message());
		fprintf(stderr, "pgward: warning: the audit record was not written: %s\n", m);
		pw_free(m);
	}
	pw_error_restore(&e);
	pw_free(err);
	pw_free(path);
}

int cmd_audit(struct pw_ctx *ctx)
{
	const char *sub = pw_config_pos(ctx->cfg, 0);
	bool json = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	char *path = log_path(ctx);
	int rc;
	if (sub && strcmp(sub, "verify") == 0) {
		struct pw_audit_report r;
		rc = pw_audit_verify(path, &r);
		size_t anchors = 0;
		/* anchors are checked with --repo, or with a repository and a key configured */
		bool with_repo =
		    pw_cfg_str(ctx->cfg, PW_OPT_REPO) &&
		    (strncmp(pw_cfg_source(ctx->cfg, PW_OPT_REPO), "command line", 12) == 0 ||
		     pw_cfg_str(ctx->cfg, PW_OPT_SIGN_KEY) ||
		     pw_cfg_isset(ctx->cfg, PW_OPT_TRUSTED_SIGNER));
		if (rc == 0 && with_repo)
			rc = verify_anchors(ctx, path, &anchors);
		const char *expect = pw_cfg_str(ctx->cfg, PW_OPT_EXPECT_HEAD);
		if (rc == 0 && expect)
			rc = pw_audit_expect_head(path, expect, r.head, r.records);
		if (rc == 0 && expect && strlen(expect) < 16)
			fprintf(stderr,
			        "pgward: warning: a %zu-digit head prefix stops accidents, not an "
			        "attacker who can write the log (a matching forged record takes "
			        "minutes to find); note 16 digits or more\n",
			        strlen(expect));
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "file", json_string(path));
			json_object_set_new(o, "intact", json_boolean(rc == 0));
			json_object_set_new(o, "records", json_integer((json_int_t)r.records));
			json_object_set_new(o, "head", json_string(r.head));
			if (with_repo)
				json_object_set_new(o, "anchors",
				                    json_integer((json_int_t)anchors));
			if (r.bad_line) {
				json_object_set_new(o, "bad_line",
				                    json_integer((json_int_t)r.bad_line));
				json_object_set_new(o, "reason", json_string(r.reason));
			}
			char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("%s\n", s);
			pw_free(s);
			json_decref(o);
		} else if (rc == 0) {
			printf("audit log %s: intact, %zu records\nhead: %s\n", path, r.records,
			       r.head);
			if (with_repo)
				printf("anchors: %zu in signed backups, all match\n", anchors);
		}
	} else if (sub) {
		pw_error(PW_E_USAGE, "unknown audit subcommand \"%s\"", sub);
		rc = pw_error_hint("Try \"pgward help audit\".");
	} else {
		time_t since = 0;
		const char *s = pw_cfg_str(ctx->cfg, PW_OPT_SINCE);
		rc = s ? pw_audit_parse_since(s, pw_now(), &since) : 0;
		struct print_ctx pc = {json, 0};
		if (rc == 0)
			rc = pw_audit_read(path, since, print_rec, &pc);
	}
	pw_free(path);
	return rc;
}
