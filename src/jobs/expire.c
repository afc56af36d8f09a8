/* expire.c - the keep set, and removal in a crash-safe order. */
#include "jobs/expire.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "repo/catalog.h"
#include "repo/wal.h"
#include "repo/walrepo.h"

struct objlist {
	char **keys;
	size_t n;
	const char *prefix;
};

static int collect_obj(void *arg, const struct stor_info *i)
{
	struct objlist *l = arg;
	if (!pw_startswith(i->key, l->prefix))
		return 0; /* never cut a prefix off a key that does not have it */
	l->keys = pw_realloc(l->keys, (l->n + 1) * sizeof *l->keys);
	l->keys[l->n++] = pw_strdup(i->key);
	return 0;
}

/* Remove every object of a backup, the manifest last. */
static int remove_backup(const struct expire_opts *o, const char *id, json_t *rep)
{
	char prefix[256];
	int rc = repo_key(prefix, sizeof prefix, o->stanza, id, NULL);
	struct objlist l = {.prefix = prefix};
	if (rc == 0)
		rc = stor_list(o->repo, prefix, collect_obj, &l);
	json_t *retained = json_array();
	size_t removed = 0;
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < l.n && rc == 0; i++) {
			bool is_manifest = strcmp(l.keys[i] + strlen(prefix), MANIFEST) == 0;
			if ((pass == 1) != is_manifest)
				continue;
			if (pass == 1 && json_array_size(retained))
				break; /* data still locked: the manifest stays until it can go too */
			struct stor_remove_result rr;
			int r = stor_remove(o->repo, l.keys[i], &rr);
			if (r == -PW_E_NOTFOUND) {
				pw_best_effort("removing \"%s\" (already gone)", l.keys[i]);
				continue;
			}
			if (r < 0) {
				rc = r;
				break;
			}
			if (rr.retained) {
				char when[PW_TIME_MAX] = "unknown";
				if (rr.retained_until)
					pw_time_format(rr.retained_until, PW_TIME_ISO, when);
				json_t *x = json_object();
				json_object_set_new(x, "object",
				                    json_string(l.keys[i] + strlen(prefix)));
				json_object_set_new(x, "retained_until", json_string(when));
				json_array_append_new(retained, x);
			} else {
				removed++;
			}
		}
	}
	for (size_t i = 0; i < l.n; i++)
		pw_free(l.keys[i]);
	pw_free(l.keys);
	json_object_set_new(rep, "objects_removed", json_integer((json_int_t)removed));
	if (json_array_size(retained))
		json_object_set_new(rep, "retained", retained);
	else
		json_decref(retained);
	return rc;
}

struct up_ctx {
	const struct expire_opts *o;
	json_t *arr;
	int rc;
};

static int upload_cb(void *arg, const struct stor_upload *u)
{
	struct up_ctx *c = arg;
	if (u->started && c->o->now - u->started < c->o->r.grace_seconds)
		return 0; /* may belong to a backup that is running now */
	json_t *x = json_object();
	json_object_set_new(x, "key", json_string(u->key));
	json_object_set_new(x, "id", json_string(u->id));
	json_array_append_new(c->arr, x);
	if (!c->o->dry_run)
		return stor_abort_upload(c->o->repo, u->key, u->id);
	return 0;
}

/* ---- WAL ---- */

static void wal_keep_all(json_t *rep, const char *why)
{
	json_object_set_new(rep, "action", json_string("keep all"));
	json_object_set_new(rep, "reason", json_string(why));
}

/* WAL the kept physical backups no longer need; rep: the "wal" part of the report. */
static int expire_wal(const struct expire_opts *o, const struct backup_list *bl,
                      const struct retention_item *it, json_t *rep)
{
	struct wal_listing l;
	int rc = wal_listing_load(o->repo, o->stanza, &l);
	struct wal_base *kept = pw_calloc(bl->n ? bl->n : 1, sizeof *kept);
	size_t nkept = 0;
	const char *oldest_id = NULL;
	for (size_t i = 0; i < bl->n; i++) {
		const struct manifest *m = bl->e[i].manifest;
		if (!it[i].keep || it[i].cls != RET_GENUINE || m->kind != MANIFEST_PHYSICAL)
			continue;
		kept[nkept++] = (struct wal_base){m->physical.timeline, m->physical.start_lsn,
		                                  m->physical.stop_lsn, m->finished};
		if (!oldest_id)
			oldest_id = bl->e[i].id;
	}
	json_object_set_new(rep, "objects", json_integer((json_int_t)l.n));
	json_object_set_new(rep, "unchecked", json_array());
	uint32_t segsize = 0;
	if (rc == 0 && !l.n)
		wal_keep_all(rep, "no WAL is stored");
	else if (rc == 0 && !nkept)
		wal_keep_all(rep, "no physical backup is kept: WAL streamed before the first base "
		                  "backup is not garbage");
	else if (rc == 0 && !(o->signers && o->signers->n))
		wal_keep_all(rep, "no trusted-signer to check WAL signatures with");
	else if (rc == 0 && !(segsize = wal_listing_segsize(o->repo, &l, o->signers,
	                                                    json_object_get(rep, "unchecked"))))
		wal_keep_all(rep, "no WAL object's signature checks: the segment size is not "
		                  "known (see \"unchecked\"; \"pgward verify\" names the damage)");
	if (rc < 0 || !segsize) {
		wal_listing_free(&l);
		pw_free(kept);
		return rc;
	}
	uint8_t *verdict = pw_calloc(l.n, 1);
	size_t *by = pw_calloc(l.n, sizeof *by);
	int8_t *byok = pw_calloc(l.n, 1); /* superseder checked: 1 good, -1 bad, 0 not yet */
	struct retention_wal_cut cut;
	retention_wal_plan(l.o, l.n, segsize, kept, nkept, verdict, by, &cut);
	char first[25];
	wal_seg_name(cut.tli, cut.segno, segsize, first);
	json_object_set_new(rep, "action", json_string("expire"));
	json_object_set_new(rep, "segment_size", json_integer(segsize));
	json_object_set_new(rep, "keep_from", json_string(first));
	json_object_set_new(rep, "oldest_kept_backup", json_string(oldest_id));
	json_t *removed = json_array(), *retained = json_array();
	size_t nold = 0, nsup = 0, nret = 0;
	/* listing order: oldest first, an object before its signature, so an interrupted
	 * expire leaves WAL that starts later, never a hole */
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		if (verdict[i] == RET_WAL_SUPERSEDED) {
			size_t f = by[i];
			if (!byok[f]) {
				struct wal_sig_info si;
				int c = walrepo_check(o->repo, o->stanza, l.keys[f], l.o[f].tli,
				                      o->signers, &si, NULL);
				byok[f] = c == 0 && si.segsize == segsize &&
				                  si.length == (uint64_t)segsize
				              ? 1
				              : -1;
				if (c < 0)
					pw_best_effort_warn("WAL partials kept: checking \"%s\"",
					                    l.keys[f]);
			}
			if (byok[f] < 0)
				continue;
		} else if (verdict[i] != RET_WAL_OLD) {
			continue;
		}
		json_t *x = json_object();
		json_object_set_new(x, "object", json_string(l.keys[i]));
		json_object_set_new(x, "reason",
		                    json_string(verdict[i] == RET_WAL_OLD
		                                    ? "before the oldest kept base"
		                                    : "superseded by the segment"));
		struct stor_remove_result rr = {0};
		int r = o->dry_run ? 0 : stor_remove(o->repo, l.keys[i], &rr);
		if (r == -PW_E_NOTFOUND) {
			pw_best_effort("removing \"%s\" (already gone)", l.keys[i]);
			r = 0;
		}
		if (r < 0) {
			json_decref(x);
			rc = r;
			break;
		}
		if (rr.retained) {
			char when[PW_TIME_MAX] = "unknown";
			if (rr.retained_until)
				pw_time_format(rr.retained_until, PW_TIME_ISO, when);
			json_object_set_new(x, "retained_until", json_string(when));
			json_array_append_new(retained, x);
			nret++;
			continue;
		}
		json_array_append_new(removed, x);
		if (verdict[i] == RET_WAL_OLD)
			nold++;
		else
			nsup++;
	}
	json_object_set_new(rep, "removed_before_cut", json_integer((json_int_t)nold));
	json_object_set_new(rep, "removed_superseded", json_integer((json_int_t)nsup));
	json_object_set_new(rep, "removed", removed);
	if (nret)
		json_object_set_new(rep, "retained", retained);
	else
		json_decref(retained);
	pw_free(byok);
	pw_free(by);
	pw_free(verdict);
	wal_listing_free(&l);
	pw_free(kept);
	return rc;
}

int expire_run(const struct expire_opts *o, json_t **report)
{
	json_t *rep = json_object();
	*report = rep;
	struct backup_list l;
	int rc = catalog_list_trusted(o->repo, o->stanza, o->signers, false, &l);
	if (rc < 0)
		return rc;
	struct retention_opts ro = {.stanza = o->stanza,
	                            .r = o->r,
	                            .now = o->now,
	                            .signers = o->signers,
	                            .allow_unsigned = o->allow_unsigned};
	struct retention_item *it = NULL;
	retention_plan(&ro, &l, &it);
	json_t *incomplete = json_array();
	json_t *decisions = json_array();
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		if (it[i].cls == RET_GENUINE)
			continue;
		json_t *x = json_object();
		json_object_set_new(x, "backup_id", json_string(it[i].e->id));
		json_object_set_new(x, "action", json_string(it[i].keep ? "keep" : "remove"));
		json_object_set_new(x, "reason", json_string(it[i].reason));
		if (it[i].cls == RET_NOT_GENUINE)
			json_object_set_new(x, "genuine", json_false());
		if (it[i].e->state == BACKUP_DAMAGED || it[i].e->state == BACKUP_NEWER)
			json_object_set_new(x, "state",
			                    json_string(catalog_state_name(it[i].e->state)));
		if (!it[i].keep && !o->dry_run)
			rc = remove_backup(o, it[i].e->id, x);
		json_array_append_new(incomplete, x);
	}
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		if (it[i].cls != RET_GENUINE)
			continue;
		json_t *x = json_object();
		json_object_set_new(x, "backup_id", json_string(it[i].e->id));
		json_object_set_new(x, "action", json_string(it[i].keep ? "keep" : "remove"));
		json_t *reasons = json_array();
		for (size_t k = 0; k < it[i].nreasons; k++)
			json_array_append_new(reasons, json_string(it[i].reasons[k]));
		json_object_set_new(x, "reasons", reasons);
		if (!it[i].keep && !o->dry_run)
			rc = remove_backup(o, it[i].e->id, x);
		json_array_append_new(decisions, x);
	}
	json_t *wal = json_object();
	if (rc == 0)
		rc = expire_wal(o, &l, it, wal);
	json_t *uploads = json_array();
	if (rc == 0) {
		char prefix[128];
		rc = repo_key(prefix, sizeof prefix, o->stanza, NULL, NULL);
		struct up_ctx uc = {o, uploads, 0};
		if (rc == 0)
			rc = stor_list_uploads(o->repo, prefix, upload_cb, &uc);
	}
	pw_free(it);
	catalog_list_free(&l);
	json_object_set_new(rep, "stanza", json_string(o->stanza));
	json_object_set_new(rep, "dry_run", json_boolean(o->dry_run));
	json_object_set_new(rep, "backups", decisions);
	json_object_set_new(rep, "incomplete", incomplete);
	json_object_set_new(rep, "wal", wal);
	json_object_set_new(rep, "stale_uploads", uploads);
	return rc;
}

int expire_pin(struct stor *repo, const char *stanza, const char *id, bool pin, time_t now,
               const struct minisign_seckey *sk)
{
	char key[512], stamp[PW_TIME_MAX], name[64];
	pw_time_format(now, PW_TIME_COMPACT, stamp);
	snprintf(name, sizeof name, "%s-%s.json", pin ? "pin" : "unpin", stamp);
	int krc = repo_key(key, sizeof key, stanza, id, name);
	if (krc < 0)
		return krc;
	char body[128];
	int n =
	    snprintf(body, sizeof body, "{\"%s\": \"%s\"}\n", pin ? "pinned" : "unpinned", stamp);
	int rc = 0;
	if (sk) { /* the signature first: a marker is never there without it */
		char skey[600];
		struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
		rc = repo_sign_object(sk, name, stanza, id, "", now, (const uint8_t *)body,
		                      (size_t)n, &sig);
		if (rc == 0) {
			snprintf(skey, sizeof skey, "%s%s", key, SIGNATURE_SUFFIX);
			rc = stor_put_buf(repo, skey, sig.data, sig.len, NULL, NULL);
		}
		pw_buf_free(&sig, 0);
		if (rc < 0)
			return rc;
	}
	rc = stor_put_buf(repo, key, body, (size_t)n,
	                  &(struct stor_write_opts){.content_type = "application/json"}, NULL);
	if (rc == -PW_E_EXISTS && !sk) { /* the same unsigned marker again within the second */
		pw_error_clear();
		return 0;
	}
	if (rc == -PW_E_EXISTS) /* a signed marker needs its own bytes: another is there */
		return pw_error_hint("A marker of this name (and second) exists already, maybe not "
		                     "written by pgward; run the command again in a second.");
	return rc;
}
