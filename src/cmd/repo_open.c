/* repo_open.c - build a storage configuration from the options and open the repository. */
#include <string.h>

#include "cmd/commands.h"
#include "common/err.h"
#include "common/secret.h"
#include "common/mem.h"
#include "common/str.h"
#include "filter/keyfile.h"
#include "repo/catalog.h"
#include "pg/pg.h"
#include "storage/storage.h"

int pw_open_repo(struct pw_ctx *ctx, struct stor **out)
{
	struct pw_config *c = ctx->cfg;
	long long parallel = pw_cfg_int(c, PW_OPT_S3_PARALLEL);
	long long attempts = pw_cfg_int(c, PW_OPT_S3_MAX_ATTEMPTS);
	long long timeout = pw_cfg_int(c, PW_OPT_S3_TIMEOUT);
	long long total = pw_cfg_int(c, PW_OPT_S3_TOTAL_TIMEOUT);
	uint64_t part = pw_cfg_size(c, PW_OPT_S3_PART_SIZE);
	/* A backup streams at the pace of pg_dump and zstd, far below what 4 x 16 MiB parts in
	 * flight buy; unless told otherwise it keeps 3 x 8 MiB so its peak RSS stays within
	 * quality.md's 64 MiB (P7) whatever the repository. */
	if (strcmp(ctx->command, "backup") == 0) {
		if (!pw_cfg_isset(c, PW_OPT_S3_PART_SIZE))
			part = 8 * 1024 * 1024ULL;
		if (!pw_cfg_isset(c, PW_OPT_S3_PARALLEL))
			parallel = 3;
	}
	if (parallel < 1 || parallel > 32 || attempts < 1 || attempts > 20 || timeout < 1 ||
	    timeout > 3600 || total < 5 || total > 604800 || part < 5 * 1024 * 1024ULL ||
	    part > 5 * 1024 * 1024 * 1024ULL) {
		pw_error(PW_E_CONFIG, "S3 tuning out of range: s3-parallel 1-32, s3-max-attempts "
		                      "1-20, s3-timeout 1-3600, s3-total-timeout 5-604800, "
		                      "s3-part-size 5MiB-5GiB");
		return pw_error_hint("Check those options (\"pgward help config\").");
	}
	/* only the commands that store new objects create a local repository; the others
	 * (list, verify, restore, expire, pin, check...) refuse a missing one, so a mistyped
	 * path is an error, not an empty repository left behind */
	static const char *const creators[] = {"backup", "wal-stream", "wal-push", "repo"};
	bool creates = false;
	for (size_t i = 0; i < sizeof creators / sizeof creators[0]; i++)
		creates |= strcmp(ctx->command, creators[i]) == 0;
	const char *style = pw_cfg_str(c, PW_OPT_S3_URI_STYLE);
	const char *sse = pw_cfg_str(c, PW_OPT_S3_SSE);
	const char *sk = pw_cfg_str(c, PW_OPT_S3_SECRET_KEY);
	const char *tok = pw_cfg_str(c, PW_OPT_S3_SESSION_TOKEN);
	struct pw_secret *secret = sk ? pw_secret_from_str(sk) : NULL;
	struct pw_secret *token = tok ? pw_secret_from_str(tok) : NULL;
	struct stor_config sc = {
	    .addr = pw_cfg_str(c, PW_OPT_REPO),
	    .endpoint = pw_cfg_str(c, PW_OPT_S3_ENDPOINT),
	    .region = pw_cfg_str(c, PW_OPT_S3_REGION),
	    .uri_style = strcmp(style, "auto") == 0 ? NULL : style,
	    .ca_file = pw_cfg_str(c, PW_OPT_S3_CA_FILE),
	    .tls_insecure = !pw_cfg_bool(c, PW_OPT_S3_TLS_VERIFY),
	    .access_key = pw_cfg_str(c, PW_OPT_S3_ACCESS_KEY),
	    .secret_key = secret,
	    .session_token = token,
	    .profile = pw_cfg_str(c, PW_OPT_S3_PROFILE),
	    .part_size = part,
	    .parallel = (unsigned)parallel,
	    .max_attempts = (unsigned)attempts,
	    .request_timeout = (unsigned)timeout,
	    .total_timeout = (unsigned)total,
	    .sse = strcmp(sse, "none") == 0 ? NULL : sse,
	    .sse_kms_key_id = pw_cfg_str(c, PW_OPT_S3_SSE_KMS_KEY_ID),
	    .storage_class = pw_cfg_str(c, PW_OPT_S3_STORAGE_CLASS),
	    .no_create = pw_cfg_bool(c, PW_OPT_DRY_RUN) || !creates,
	    .must_exist = !creates,
	};
	int rc = stor_open(&sc, out);
	pw_secret_free(secret);
	pw_secret_free(token);
	if (rc == 0)
		json_object_set_new(ctx->audit, "repository", json_string(stor_describe(*out)));
	return rc;
}

int pw_resolve_stanza(struct pw_ctx *ctx, struct pg_conn *c, char *out, size_t size)
{
	const char *s = ctx->stanza;
	if (!s && c)
		s = pg_param(c, "dbname");
	if (!s || !*s) {
		pw_error(PW_E_USAGE, "no stanza given");
		return pw_error_hint("Name the stanza (a section of the configuration file) as the "
		                     "first argument.");
	}
	if (!catalog_valid_stanza(s)) {
		pw_error(PW_E_USAGE, "invalid stanza name \"%s\"", s);
		return pw_error_hint("Stanza names use letters, digits, '-', '_' and '.', up to 63 "
		                     "characters.");
	}
	pw_strlcpy(out, s, size);
	return 0;
}

int pw_repo_stanza(struct pw_ctx *ctx, struct stor *repo, char *out, size_t size)
{
	if (ctx->stanza)
		return pw_resolve_stanza(ctx, NULL, out, size);
	char **names = NULL;
	size_t n = 0;
	int rc = catalog_stanzas(repo, &names, &n);
	if (rc == 0 && n != 1) {
		pw_error(PW_E_USAGE,
		         n ? "the repository holds %zu stanzas"
		           : "the repository holds no "
		             "backups%.0zu",
		         n);
		rc = pw_error_hint(
		    n ? "Name the stanza as the first argument (\"pgward list\" shows "
		        "them)."
		      : "Check --repo.");
	}
	if (rc == 0)
		pw_strlcpy(out, names[0], size);
	for (size_t i = 0; i < n; i++)
		pw_free(names[i]);
	pw_free(names);
	return rc;
}

/* Public keys only: a backup host never holds a passphrase or an identity. */
int pw_load_recipients(struct pw_ctx *ctx, struct pw_keyset *ks, const char *what)
{
	const char *const *v;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_RECIPIENT, &v);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_recipient_str(ks, v[i]);
	n = pw_cfg_list(ctx->cfg, PW_OPT_RECIPIENTS_FILE, &v);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_recipients_file(ks, v[i]);
	if (rc == 0 && ks->nrcpts == 0) {
		pw_error(PW_E_KEY, "no recipients: %s are always encrypted", what);
		rc = pw_error_hint("Give the public key of the backup identity with --recipient "
		                   "age1... (make one offline with \"pgward keygen\").");
	}
	return rc;
}

int pw_load_signers(struct pw_ctx *ctx, struct repo_signers *out)
{
	const char *const *v;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_TRUSTED_SIGNER, &v);
	for (size_t i = 0; i < n; i++) {
		int rc = repo_signers_add(out, v[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void pw_audit_trust(struct pw_ctx *ctx, const struct backup_entry *e, bool allow_unsigned)
{
	json_object_set_new(ctx->audit, "signature", json_string(repo_trust_name(e->trust.trust)));
	json_object_set_new(ctx->audit, "signed_by",
	                    e->trust.keyid[0] ? json_string(e->trust.keyid) : json_null());
	if (allow_unsigned)
		json_object_set_new(ctx->audit, "allow_unsigned", json_true());
}
