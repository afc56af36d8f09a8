/* cmd_list.c - pgward list [STANZA]: the backups in a repository, without any private key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "repo/catalog.h"
#include "storage/storage.h"

static json_t *entry_json(const char *stanza, const struct backup_entry *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "stanza", json_string(stanza));
	json_object_set_new(o, "backup_id", json_string(e->id));
	json_object_set_new(o, "status", json_string(e->complete ? "complete" : "incomplete"));
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)e->stored_bytes));
	json_object_set_new(o, "objects", json_integer((json_int_t)e->nobjects));
	if (e->complete) {
		json_t *sg = json_object();
		json_object_set_new(sg, "verdict", json_string(repo_trust_name(e->trust.trust)));
		json_object_set_new(sg, "key_id",
		                    e->trust.keyid[0] ? json_string(e->trust.keyid) : json_null());
		if (e->trust.detail[0])
			json_object_set_new(sg, "detail", json_string(e->trust.detail));
		json_object_set_new(o, "signature", sg);
	}
	if (e->last_verify[0]) {
		json_t *v = json_object();
		json_object_set_new(v, "record", json_string(e->last_verify));
		json_object_set_new(v, "result", json_string(e->verify_result));
		json_object_set_new(v, "depth", json_integer(e->verify_depth));
		json_object_set_new(o, "last_verification", v);
	}
	if (e->manifest) {
		static const char *keys[] = {"started",       "finished",  "duration_seconds",
		                             "database_size", "raw_bytes", "server_version",
		                             "privileged",    "globals",   "lock_until",
		                             "encryption"};
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			json_t *v = json_object_get(e->manifest, keys[i]);
			if (v)
				json_object_set(o, keys[i], v);
		}
	}
	return o;
}

static void print_row(const char *stanza, const struct backup_entry *e)
{
	char st[32] = "-", db[16] = "-", stored[16], ratio[16] = "-", dur[16] = "-";
	char lockbuf[64];
	const char *lock = "-";
	pw_human_size(e->stored_bytes, "", stored, sizeof stored);
	if (e->manifest) {
		const char *s = json_string_value(json_object_get(e->manifest, "started"));
		if (s) /* manifest fields are repository input: sanitized for the terminal */
			pw_str_printable(st, sizeof st, s);
		json_int_t dbs = json_integer_value(json_object_get(e->manifest, "database_size"));
		json_int_t raw = json_integer_value(json_object_get(e->manifest, "raw_bytes"));
		pw_human_size((uint64_t)dbs, "", db, sizeof db);
		if (e->stored_bytes)
			snprintf(ratio, sizeof ratio, "%.1fx",
			         (double)raw / (double)e->stored_bytes);
		snprintf(dur, sizeof dur, "%.0fs",
		         json_real_value(json_object_get(e->manifest, "duration_seconds")));
		const char *l = json_string_value(json_object_get(e->manifest, "lock_until"));
		if (l)
			lock = pw_str_printable(lockbuf, sizeof lockbuf, l);
	}
	char ver[48] = "never";
	if (e->last_verify[0]) {
		char vr[24];
		snprintf(ver, sizeof ver, "%.8s %s/d%d", e->last_verify + 7,
		         pw_str_printable(vr, sizeof vr, e->verify_result), e->verify_depth);
	}
	char signer[64];
	repo_trust_label(&e->trust, signer, sizeof signer);
	printf(
	    "%-12s %-22s %-10s %-26s %-20s %6s %8s %9s %6s %-20s %s%s\n", stanza, e->id,
	    e->complete ? "complete" : "incomplete", signer, st, dur, db, stored, ratio, ver, lock,
	    e->manifest && json_is_true(json_object_get(e->manifest, "privileged")) ? "  PRIVILEGED"
	                                                                            : "");
}

int cmd_list(struct pw_ctx *ctx)
{
	struct stor *repo;
	int rc = pw_open_repo(ctx, &repo);
	if (rc < 0)
		return rc;
	char **names = NULL;
	size_t n = 0;
	if (ctx->stanza) {
		if (!catalog_valid_stanza(ctx->stanza)) {
			pw_error(PW_E_USAGE, "invalid stanza name \"%s\"", ctx->stanza);
			stor_free(repo);
			return pw_error_hint("Stanza names use letters, digits, '-', '_' and '.'.");
		}
		names = pw_calloc(1, sizeof *names);
		names[0] = pw_strdup(ctx->stanza);
		n = 1;
	} else {
		rc = catalog_stanzas(repo, &names, &n);
	}
	struct repo_signers signers = {0};
	if (rc == 0)
		rc = pw_load_signers(ctx, &signers);
	bool json = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	json_t *arr = json_array();
	if (!json && rc == 0)
		printf("%-12s %-22s %-10s %-26s %-20s %6s %8s %9s %6s %-20s %s\n", "stanza",
		       "backup", "status", "signed by", "started", "took", "db size", "stored",
		       "ratio", "verified", "locked until");
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct backup_list l;
		rc = catalog_list_trusted(repo, names[i], &signers, false, &l);
		for (size_t k = 0; rc == 0 && k < l.n; k++) {
			if (json)
				json_array_append_new(arr, entry_json(names[i], &l.e[k]));
			else
				print_row(names[i], &l.e[k]);
		}
		catalog_list_free(&l);
	}
	if (rc == 0 && json) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		pw_free(s);
	}
	json_decref(arr);
	for (size_t i = 0; i < n; i++)
		pw_free(names[i]);
	pw_free(names);
	repo_signers_free(&signers);
	stor_free(repo);
	return rc;
}
