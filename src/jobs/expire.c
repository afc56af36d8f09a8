/* expire.c - the keep set, and removal in a crash-safe order. */
#include "jobs/expire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "repo/catalog.h"

struct item {
	const struct backup_entry *e;
	time_t t; /* start time */
	bool keep;
	bool pinned;
	json_t *reasons;
};

static time_t start_time(const struct backup_entry *e)
{
	time_t t;
	const char *s =
	    e->manifest ? json_string_value(json_object_get(e->manifest, "started")) : NULL;
	const char *end;
	if (s && pw_time_parse(s, PW_TIME_ISO, false, &t, NULL) == 0)
		return t;
	if (pw_time_parse(e->id, PW_TIME_COMPACT, false, &t, &end) == 0)
		return t;
	return e->first_seen;
}

/* Why a complete backup is not genuine; false if it is. */
static bool not_genuine(const struct expire_opts *o, const struct backup_entry *e, char *why,
                        size_t size)
{
	if (e->trust.trust != TRUST_SIGNED && !o->allow_unsigned) {
		char label[64];
		repo_trust_label(&e->trust, label, sizeof label);
		snprintf(why, size, "not signed by a trusted-signer (%s)", label);
		return true;
	}
	const char *mid = json_string_value(json_object_get(e->manifest, "backup_id"));
	const char *mst = json_string_value(json_object_get(e->manifest, "stanza"));
	if (!pw_streq(mid, e->id) || !pw_streq(mst, o->stanza)) {
		snprintf(why, size, "its manifest names another backup");
		return true;
	}
	time_t t, ti;
	const char *s = json_string_value(json_object_get(e->manifest, "started"));
	const char *iend = NULL;
	if (!s || pw_time_parse(s, PW_TIME_ISO, false, &t, NULL) < 0 ||
	    pw_time_parse(e->id, PW_TIME_COMPACT, false, &ti, &iend) < 0 || *iend != '-') {
		snprintf(why, size, "no valid start time or id");
		return true;
	}
	if (t != ti) {
		snprintf(why, size, "its start time does not match its id");
		return true;
	}
	if (t > o->now + 300) {
		snprintf(why, size, "its start time is in the future");
		return true;
	}
	json_t *objs = json_object_get(e->manifest, "objects");
	if (!json_is_array(objs) || json_array_size(objs) == 0) {
		snprintf(why, size, "its manifest lists no objects");
		return true;
	}
	for (size_t i = 0; i < json_array_size(objs); i++) {
		json_t *mo = json_array_get(objs, i);
		const char *name = json_string_value(json_object_get(mo, "name"));
		json_int_t want = json_integer_value(json_object_get(mo, "size"));
		char key[512];
		struct stor_info info;
		if (!name || strchr(name, '/')) {
			snprintf(why, size, "its manifest names an invalid object");
			return true;
		}
		snprintf(key, sizeof key, "%s/%s/%s", o->stanza, e->id, name);
		if (stor_stat(o->repo, key, &info) < 0) {
			pw_best_effort("looking up object \"%s\"", key);
			snprintf(why, size, "object %.60s is missing", name);
			return true;
		}
		if ((json_int_t)info.size != want) {
			snprintf(why, size, "object %.60s has size %llu, the manifest says %lld",
			         name, (unsigned long long)info.size, (long long)want);
			return true;
		}
	}
	return false;
}

static void keep(struct item *it, const char *why)
{
	it->keep = true;
	json_array_append_new(it->reasons, json_string(why));
}

/* Bucket keys for GFS: day, ISO week, month, year. */
static long bucket(time_t t, char kind)
{
	struct tm tm;
	pw_time_fields(t, &tm);
	switch (kind) {
	case 'd':
		return (long)(t / 86400);
	case 'w':
		return pw_time_iso_week(t);
	case 'm':
		return (long)(tm.tm_year * 12 + tm.tm_mon);
	default:
		return (long)tm.tm_year;
	}
}

static void gfs(struct item *it, size_t n, int count, char kind, const char *label)
{
	if (count <= 0)
		return;
	long seen[4096];
	int nseen = 0;
	/* newest first: the first complete backup in each new bucket is kept */
	for (size_t i = n; i-- > 0 && nseen < count && nseen < 4096;) {
		long b = bucket(it[i].t, kind);
		bool dup = false;
		for (int k = 0; k < nseen; k++)
			dup |= seen[k] == b;
		if (dup)
			continue;
		seen[nseen++] = b;
		char why[96];
		snprintf(why, sizeof why, "newest of its %s (retention-%s = %d)", label,
		         kind == 'd'   ? "daily"
		         : kind == 'w' ? "weekly"
		         : kind == 'm' ? "monthly"
		                       : "yearly",
		         count);
		keep(&it[i], why);
	}
}

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
	snprintf(prefix, sizeof prefix, "%s/%s/", o->stanza, id);
	struct objlist l = {.prefix = prefix};
	int rc = stor_list(o->repo, prefix, collect_obj, &l);
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

static bool pinned(struct stor *repo, const char *stanza, const char *id)
{
	char prefix[256];
	snprintf(prefix, sizeof prefix, "%s/%s/", stanza, id);
	struct objlist l = {.prefix = prefix};
	bool pin = false;
	char newest[128] = "";
	if (stor_list(repo, prefix, collect_obj, &l) == 0)
		for (size_t i = 0; i < l.n; i++) {
			const char *name = l.keys[i] + strlen(prefix);
			/* pin-<time>.json / unpin-<time>.json: the newest marker decides */
			const char *stamp = pw_startswith(name, "pin-")     ? name + 4
			                    : pw_startswith(name, "unpin-") ? name + 6
			                                                    : NULL;
			if (stamp && strcmp(stamp, newest) >= 0) {
				pw_strlcpy(newest, stamp, sizeof newest);
				pin = pw_startswith(name, "pin-");
			}
		}
	pw_best_effort("listing the pin markers of %s", prefix);
	for (size_t i = 0; i < l.n; i++)
		pw_free(l.keys[i]);
	pw_free(l.keys);
	return pin;
}

/* Signed by a trusted key at some point: a manifest whose trusted signature still holds
 * (its objects changed since), or a signature by a trusted key that no longer matches its
 * manifest. That is evidence of tampering, never garbage: deleting it would let anyone who
 * can write to the repository (but not delete) get genuine backups expired. */
static bool trusted_evidence(const struct expire_opts *o, const struct backup_entry *e)
{
	if (e->trust.trust == TRUST_SIGNED)
		return true;
	for (size_t k = 0; e->trust.trust == TRUST_BAD && o->signers && k < o->signers->n; k++) {
		char kid[17];
		minisign_keyid_hex(o->signers->k[k].keyid, kid);
		if (strcmp(kid, e->trust.keyid) == 0)
			return true;
	}
	return false;
}

int expire_run(const struct expire_opts *o, json_t **report)
{
	json_t *rep = json_object();
	*report = rep;
	struct backup_list l;
	int rc = catalog_list_trusted(o->repo, o->stanza, o->signers, false, &l);
	if (rc < 0)
		return rc;
	struct item *it = pw_calloc(l.n ? l.n : 1, sizeof *it);
	size_t nc = 0; /* complete ones, oldest first, in it[0..nc) */
	json_t *incomplete = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct backup_entry *e = &l.e[i];
		if (!e->complete) {
			time_t t = start_time(e);
			json_t *x = json_object();
			json_object_set_new(x, "backup_id", json_string(e->id));
			bool old = o->now - t >= o->r.grace_seconds;
			/* a signature next to an unreadable manifest: the manifest was
			 * overwritten after the backup committed (a backup's signature is written
			 * just before its manifest), so it may have been genuine */
			bool evidence = e->has_signature && e->first_seen;
			if (evidence)
				old = false;
			json_object_set_new(x, "action", json_string(old ? "remove" : "keep"));
			json_object_set_new(
			    x, "reason",
			    json_string(evidence ? "a signature next to a manifest that cannot be "
			                           "read: kept for investigation (remove it with "
			                           "\"pgward repo rm\" once explained)"
			                : old    ? "incomplete, older than incomplete-grace"
			                         : "incomplete, may still be running"));
			if (old && !o->dry_run && (rc = remove_backup(o, e->id, x)) < 0)
				break;
			json_array_append_new(incomplete, x);
			continue;
		}
		char why[200];
		if (not_genuine(o, e, why, sizeof why)) {
			/* never counted toward retention; aged by the storage's time, not by the
			 * manifest's claim */
			json_t *x = json_object();
			json_object_set_new(x, "backup_id", json_string(e->id));
			bool old = e->first_seen && o->now - e->first_seen >= o->r.grace_seconds;
			/* signed by a trusted key but altered since: evidence, not garbage (and an
			 * overwritten manifest must not get a genuine backup deleted) */
			bool tampered = trusted_evidence(o, e);
			bool pin = tampered || pinned(o->repo, o->stanza, e->id);
			char reason[300];
			snprintf(reason, sizeof reason, "not genuine: %s%s", why,
			         tampered ? "; signed by a trusted key and altered since: kept for "
			                    "investigation"
			         : pin    ? "; pinned"
			         : old    ? ", older than incomplete-grace"
			                  : "");
			json_object_set_new(x, "action",
			                    json_string(old && !pin ? "remove" : "keep"));
			json_object_set_new(x, "reason", json_string(reason));
			json_object_set_new(x, "genuine", json_false());
			if (old && !pin && !o->dry_run && (rc = remove_backup(o, e->id, x)) < 0)
				break;
			json_array_append_new(incomplete, x);
			continue;
		}
		it[nc] = (struct item){e, start_time(e), false, false, json_array()};
		nc++;
	}
	json_t *decisions = json_array();
	if (rc == 0) {
		for (size_t i = 0; i < nc; i++) {
			if (o->now - it[i].t < (time_t)o->r.days * 86400) {
				char why[64];
				snprintf(why, sizeof why, "younger than %d days (retention-days)",
				         o->r.days);
				keep(&it[i], why);
			}
			if (nc - i <= (size_t)o->r.min) {
				char why[64];
				snprintf(why, sizeof why, "among the newest %d (retention-min)",
				         o->r.min);
				keep(&it[i], why);
			}
			if (pinned(o->repo, o->stanza, it[i].e->id)) {
				it[i].pinned = true;
				keep(&it[i], "pinned");
			}
		}
		gfs(it, nc, o->r.daily, 'd', "day");
		gfs(it, nc, o->r.weekly, 'w', "week");
		gfs(it, nc, o->r.monthly, 'm', "month");
		gfs(it, nc, o->r.yearly, 'y', "year");
		for (size_t i = 0; i < nc && rc == 0; i++) {
			json_t *x = json_object();
			json_object_set_new(x, "backup_id", json_string(it[i].e->id));
			json_object_set_new(x, "action",
			                    json_string(it[i].keep ? "keep" : "remove"));
			json_object_set_new(x, "reasons", json_incref(it[i].reasons));
			if (!it[i].keep && !o->dry_run)
				rc = remove_backup(o, it[i].e->id, x);
			json_array_append_new(decisions, x);
		}
	}
	json_t *uploads = json_array();
	if (rc == 0) {
		char prefix[128];
		snprintf(prefix, sizeof prefix, "%s/", o->stanza);
		struct up_ctx uc = {o, uploads, 0};
		rc = stor_list_uploads(o->repo, prefix, upload_cb, &uc);
	}
	for (size_t i = 0; i < nc; i++)
		json_decref(it[i].reasons);
	pw_free(it);
	catalog_list_free(&l);
	json_object_set_new(rep, "stanza", json_string(o->stanza));
	json_object_set_new(rep, "dry_run", json_boolean(o->dry_run));
	json_object_set_new(rep, "backups", decisions);
	json_object_set_new(rep, "incomplete", incomplete);
	json_object_set_new(rep, "stale_uploads", uploads);
	return rc;
}

int expire_pin(struct stor *repo, const char *stanza, const char *id, bool pin, time_t now)
{
	char key[256], stamp[PW_TIME_MAX];
	pw_time_format(now, PW_TIME_COMPACT, stamp);
	snprintf(key, sizeof key, "%s/%s/%s-%s.json", stanza, id, pin ? "pin" : "unpin", stamp);
	char body[128];
	int n =
	    snprintf(body, sizeof body, "{\"%s\": \"%s\"}\n", pin ? "pinned" : "unpinned", stamp);
	int rc = stor_put_buf(repo, key, body, (size_t)n,
	                      &(struct stor_write_opts){.content_type = "application/json"}, NULL);
	return rc == -PW_E_EXISTS ? 0 : rc;
}
