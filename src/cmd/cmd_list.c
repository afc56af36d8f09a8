/* cmd_list.c - pgward list [STANZA]: the backups in a repository, without any private key. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "repo/catalog.h"
#include "repo/wal.h"
#include "repo/walrepo.h"
#include "storage/storage.h"

static json_t *record_json(const struct verify_summary *v)
{
	char t[PW_TIME_MAX];
	json_t *o = json_object();
	json_object_set_new(o, "record", json_string(v->record));
	json_object_set_new(o, "result", json_string(v->result));
	json_object_set_new(o, "depth", json_integer(v->depth));
	json_object_set_new(o, "time", json_string(pw_time_format(v->when, PW_TIME_ISO, t)));
	/* only a record signed by a trusted-signer key is evidence */
	json_object_set_new(o, "signature", json_string(repo_trust_name(v->sig.trust)));
	json_object_set_new(o, "key_id", v->sig.keyid[0] ? json_string(v->sig.keyid) : json_null());
	return o;
}

/* --allow-unsigned: unsigned verification records count as evidence (as before signing) */
static bool g_allow_unsigned;

static bool shown_verified(const struct backup_entry *e)
{
	return g_allow_unsigned ? catalog_verified_any(e) : catalog_verified(e);
}

static json_t *pin_json(const struct backup_entry *e)
{
	json_t *p = json_object();
	json_object_set_new(p, "pinned",
	                    json_boolean(g_allow_unsigned ? e->pinned_any : e->pinned));
	json_object_set_new(p, "pin", json_string(e->pin_stamp));
	json_object_set_new(p, "signature", json_string(repo_trust_name(e->pin_sig.trust)));
	if (e->unpin_stamp[0])
		json_object_set_new(p, "unpinned_by", json_string(e->unpin_stamp));
	if (e->unpin_ignored[0]) {
		json_object_set_new(p, "unpin_ignored", json_string(e->unpin_ignored));
		json_object_set_new(p, "unpin_ignored_signature",
		                    json_string(repo_trust_name(e->unpin_ignored_sig.trust)));
	}
	return p;
}

static json_t *entry_json(const char *stanza, const struct backup_entry *e)
{
	char t[PW_TIME_MAX];
	json_t *o = json_object();
	json_object_set_new(o, "stanza", json_string(stanza));
	json_object_set_new(o, "backup_id", json_string(e->id));
	json_object_set_new(o, "status", json_string(catalog_state_name(e->state)));
	if (e->damage[0])
		json_object_set_new(o, "damage", json_string(e->damage));
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)e->stored_bytes));
	json_object_set_new(o, "objects", json_integer((json_int_t)e->nobjects));
	if (e->state != BACKUP_INCOMPLETE) {
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
		/* a later shallower pass never hides a deeper failure: newest per depth */
		json_t *bd = json_array();
		for (int d = 1; d <= 3; d++)
			if (e->by_depth[d].record[0])
				json_array_append_new(bd, record_json(&e->by_depth[d]));
		json_object_set_new(o, "verification_by_depth", bd);
		json_object_set_new(o, "verified", json_boolean(shown_verified(e)));
	}
	if (e->pin_stamp[0])
		json_object_set_new(o, "pin", pin_json(e));
	const struct manifest *m = e->manifest;
	if (m) {
		json_object_set_new(o, "kind", json_string(manifest_kind_name(m->kind)));
		if (m->kind == MANIFEST_PHYSICAL) {
			char a[24], b[24];
			manifest_lsn_format(m->physical.start_lsn, a);
			manifest_lsn_format(m->physical.stop_lsn, b);
			json_t *ph = json_object();
			json_object_set_new(ph, "timeline", json_integer(m->physical.timeline));
			json_object_set_new(ph, "start_lsn", json_string(a));
			json_object_set_new(ph, "stop_lsn", json_string(b));
			json_object_set_new(o, "physical", ph);
		}
		json_object_set_new(o, "started",
		                    json_string(pw_time_format(m->started, PW_TIME_ISO, t)));
		json_object_set_new(o, "finished",
		                    json_string(pw_time_format(m->finished, PW_TIME_ISO, t)));
		json_object_set_new(o, "duration_seconds", json_real(m->duration_seconds));
		json_object_set_new(o, "database_size", json_integer((json_int_t)m->database_size));
		json_object_set_new(o, "raw_bytes", json_integer((json_int_t)m->raw_bytes));
		if (m->server_version[0])
			json_object_set_new(o, "server_version", json_string(m->server_version));
		json_object_set_new(o, "privileged", json_boolean(m->privileged));
		json_object_set_new(o, "globals", json_boolean(m->globals));
		json_object_set_new(o, "lock_until",
		                    m->lock_until
		                        ? json_string(pw_time_format(m->lock_until, PW_TIME_ISO, t))
		                        : json_null());
		if (m->ntags) {
			json_t *tags = json_array();
			for (size_t i = 0; i < m->ntags; i++)
				json_array_append_new(
				    tags,
				    json_pack(
				        "{s:s, s:o}", "name", m->tags[i].name, "keep_seconds",
				        m->tags[i].keep_seconds
				            ? json_integer((json_int_t)m->tags[i].keep_seconds)
				            : json_null()));
			json_object_set_new(o, "tags", tags);
		}
		json_t *enc = json_object();
		json_object_set_new(enc, "format", json_string(m->encryption));
		json_t *fps = json_array();
		for (size_t i = 0; i < m->nrecipients; i++)
			json_array_append_new(fps, json_string(m->recipients[i]));
		json_object_set_new(enc, "recipient_fingerprints", fps);
		json_object_set_new(o, "encryption", enc);
		if (m->source.present) {
			json_t *src = json_object();
			json_object_set_new(src, "host",
			                    m->source.host[0] ? json_string(m->source.host)
			                                      : json_null());
			json_object_set_new(src, "port",
			                    m->source.port ? json_integer(m->source.port)
			                                   : json_null());
			json_object_set_new(src, "standby", json_boolean(m->source.standby));
			json_object_set_new(o, "source", src);
		}
	}
	return o;
}

/* "d1 pass d3 FAIL": the newest result of each depth that was run */
static void verified_text(const struct backup_entry *e, char *out, size_t size)
{
	size_t n = 0;
	out[0] = 0;
	for (int d = 1; d <= 3 && n < size; d++) {
		const struct verify_summary *v = &e->by_depth[d];
		if (!v->record[0])
			continue;
		char r[24];
		pw_str_printable(r, sizeof r, v->result);
		bool pass = strcmp(v->result, "pass") == 0;
		if (!pass)
			for (char *c = r; *c; c++)
				*c = (char)toupper((unsigned char)*c);
		/* a record not signed by a trusted key is shown, never evidence */
		const char *why = v->sig.trust == TRUST_SIGNED      ? ""
		                  : v->sig.trust == TRUST_UNSIGNED  ? " (unsigned record)"
		                  : v->sig.trust == TRUST_UNTRUSTED ? " (untrusted record)"
		                                                    : " (BAD SIGNATURE record)";
		int k = snprintf(out + n, size - n, "%sd%d %s%s", n ? " " : "", d, r, why);
		if (k < 0)
			break;
		n += (size_t)k;
	}
	if (!out[0])
		pw_strlcpy(out, e->last_verify[0] ? "?" : "never", size);
}

static void print_row(const char *stanza, const struct backup_entry *e)
{
	char st[32] = "-", db[16] = "-", stored[16], ratio[16] = "-", dur[16] = "-";
	char lockbuf[PW_TIME_MAX];
	const char *lock = "-";
	pw_human_size(e->stored_bytes, "", stored, sizeof stored);
	const struct manifest *m = e->manifest;
	if (m) {
		pw_time_format(m->started, PW_TIME_ISO, st);
		pw_human_size((uint64_t)m->database_size, "", db, sizeof db);
		if (e->stored_bytes)
			snprintf(ratio, sizeof ratio, "%.1fx",
			         (double)m->raw_bytes / (double)e->stored_bytes);
		snprintf(dur, sizeof dur, "%.0fs", m->duration_seconds);
		if (m->lock_until)
			lock = pw_time_format(m->lock_until, PW_TIME_ISO, lockbuf);
	}
	char ver[160];
	verified_text(e, ver, sizeof ver);
	if (e->last_verify[0] && !shown_verified(e) && strstr(ver, "record)"))
		snprintf(ver + strlen(ver), sizeof ver - strlen(ver), " - not verified");
	char signer[64] = "-";
	if (e->state != BACKUP_INCOMPLETE)
		repo_trust_label(&e->trust, signer, sizeof signer);
	printf("%-12s %-22s %-12s %-26s %-20s %6s %8s %9s %6s %-24s %s%s%s%s\n", stanza, e->id,
	       catalog_state_name(e->state), signer, st, dur, db, stored, ratio, ver, lock,
	       m && m->privileged ? "  PRIVILEGED" : "", m && m->source.standby ? "  STANDBY" : "",
	       m && m->kind == MANIFEST_PHYSICAL ? "  PHYSICAL" : "");
	if (e->pin_stamp[0]) { /* a pin keeps; only a trusted-signed unpin cancels it */
		bool pinned = g_allow_unsigned ? e->pinned_any : e->pinned;
		bool ignored = e->unpin_ignored[0] && !g_allow_unsigned;
		printf("%-12s   %s%s%s%s%s\n", "", pinned ? "pinned" : "unpinned",
		       pinned && e->pin_sig.trust != TRUST_SIGNED ? " (unsigned pin)" : "",
		       ignored ? "; ignored unpin-" : "", ignored ? e->unpin_ignored : "",
		       ignored ? " (not signed by a trusted key)" : "");
	}
	if (m && m->ntags) { /* names the decoder checked: letters, digits, "_.-" */
		printf("%-12s   tags:", "");
		for (size_t i = 0; i < m->ntags; i++) {
			int64_t k = m->tags[i].keep_seconds;
			if (k)
				printf(" %s (keep %lld%s)", m->tags[i].name,
				       (long long)(k % 86400 ? k / 3600 : k / 86400),
				       k % 86400 ? "h" : "d");
			else
				printf(" %s", m->tags[i].name);
		}
		printf("\n");
	}
	if (e->damage[0]) { /* the decoder's words, sanitized: the manifest is hostile input */
		char d[300];
		printf("%-12s   %s\n", "", pw_str_printable(d, sizeof d, e->damage));
	}
}

/* ---- WAL: coverage per timeline, each physical backup's reach, the recovery window ---- */

struct stanza_wal {
	bool any;         /* WAL objects are stored */
	uint32_t segsize; /* from a checked signature; 0: not known */
	struct wal_coverage *cov;
	size_t nc;
	time_t end_time; /* signed time of the newest object; 0: not known */
	struct wal_base *bases;
	const struct backup_entry **be; /* bases[i]'s entry */
	size_t nb;
	struct wal_window win;
	size_t nobjects;
};

static bool genuine_physical(const struct backup_entry *e)
{
	return e->complete && e->manifest && e->manifest->kind == MANIFEST_PHYSICAL &&
	       (e->trust.trust == TRUST_SIGNED || g_allow_unsigned);
}

static int stanza_wal_load(struct stor *repo, const char *stanza, const struct backup_list *bl,
                           const struct repo_signers *signers, struct stanza_wal *w)
{
	memset(w, 0, sizeof *w);
	struct wal_listing l;
	int rc = wal_listing_load(repo, stanza, &l);
	w->any = rc == 0 && l.n;
	w->nobjects = l.n;
	if (w->any)
		w->segsize = wal_listing_segsize(repo, &l, signers, NULL);
	if (w->segsize)
		rc = wal_listing_coverage(&l, w->segsize, &w->cov, &w->nc);
	if (rc == 0 && w->segsize)
		w->end_time = walrepo_end_time(repo, &l, w->segsize, w->cov, w->nc, signers);
	w->bases = pw_calloc(bl->n ? bl->n : 1, sizeof *w->bases);
	w->be = pw_calloc(bl->n ? bl->n : 1, sizeof *w->be);
	for (size_t i = 0; i < bl->n; i++) {
		const struct backup_entry *e = &bl->e[i];
		if (!genuine_physical(e))
			continue;
		const struct manifest *m = e->manifest;
		w->be[w->nb] = e;
		w->bases[w->nb++] = (struct wal_base){m->physical.timeline, m->physical.start_lsn,
		                                      m->physical.stop_lsn, m->finished};
	}
	if (rc == 0 && w->segsize)
		wal_window(w->cov, w->nc, w->bases, w->nb, w->end_time, &w->win);
	wal_listing_free(&l);
	return rc;
}

static void stanza_wal_free(struct stanza_wal *w)
{
	pw_free(w->cov);
	pw_free(w->bases);
	pw_free(w->be);
}

static json_t *wal_json(const struct stanza_wal *w, size_t base)
{
	char a[24], b[24], t[PW_TIME_MAX];
	json_t *o = json_object(), *tls = json_array();
	json_object_set_new(o, "objects", json_integer((json_int_t)w->nobjects));
	json_object_set_new(o, "segment_size", w->segsize ? json_integer(w->segsize) : json_null());
	for (size_t i = 0; i < w->nc; i++) {
		const struct wal_coverage *c = &w->cov[i];
		json_t *x = json_object(), *gaps = json_array();
		manifest_lsn_format(c->from, a);
		manifest_lsn_format(c->to, b);
		json_object_set_new(x, "timeline", json_integer(c->tli));
		json_object_set_new(x, "from_lsn", json_string(a));
		json_object_set_new(x, "to_lsn", json_string(b));
		json_object_set_new(x, "ends_with_partial", json_boolean(c->ends_partial));
		json_object_set_new(x, "gap_count", json_integer((json_int_t)c->ngaps));
		for (size_t g = 0; g < c->ngaps && g < WAL_GAPS_MAX; g++) {
			json_t *gj = json_object();
			manifest_lsn_format(c->gap[g].from, a);
			manifest_lsn_format(c->gap[g].to, b);
			json_object_set_new(gj, "from_lsn", json_string(a));
			json_object_set_new(gj, "to_lsn", json_string(b));
			json_array_append_new(gaps, gj);
		}
		json_object_set_new(x, "gaps", gaps);
		json_array_append_new(tls, x);
	}
	json_object_set_new(o, "timelines", tls);
	if (w->segsize && base < w->nb) {
		struct wal_reach r;
		wal_reach(w->cov, w->nc, &w->bases[base], &r);
		manifest_lsn_format(r.lsn, a);
		json_object_set_new(o, "consistent", json_boolean(r.consistent));
		json_object_set_new(o, "reaches_timeline", json_integer(r.tli));
		json_object_set_new(o, "reaches_lsn", json_string(a));
		json_object_set_new(o, "reaches_end", json_boolean(r.to_end));
	}
	json_t *win = json_null();
	if (w->win.any) {
		win = json_object();
		json_object_set_new(win, "from",
		                    json_string(pw_time_format(w->win.from, PW_TIME_ISO, t)));
		json_object_set_new(win, "to",
		                    w->win.to
		                        ? json_string(pw_time_format(w->win.to, PW_TIME_ISO, t))
		                        : json_null());
		json_object_set_new(win, "from_backup", json_string(w->be[w->win.base]->id));
		manifest_lsn_format(w->win.lsn, a);
		json_object_set_new(win, "to_timeline", json_integer(w->win.tli));
		json_object_set_new(win, "to_lsn", json_string(a));
	}
	json_object_set_new(o, "recovery_window", win);
	return o;
}

static void print_wal(const char *stanza, const struct stanza_wal *w)
{
	char a[24], b[24], t1[PW_TIME_MAX], t2[PW_TIME_MAX];
	if (!w->any && !w->nb)
		return;
	if (!w->any) {
		printf("%-12s WAL: none stored: physical backups restore to their end, no "
		       "point-in-time recovery\n",
		       stanza);
		return;
	}
	if (!w->segsize) {
		printf("%-12s WAL: %zu objects, not read: no WAL object's signature checks against "
		       "trusted-signer (\"pgward verify\" names the problems)\n",
		       stanza, w->nobjects);
		return;
	}
	printf("%-12s WAL (segments of %" PRIu32 " MiB):\n", stanza, w->segsize >> 20);
	for (size_t i = 0; i < w->nc; i++) {
		const struct wal_coverage *c = &w->cov[i];
		manifest_lsn_format(c->from, a);
		manifest_lsn_format(c->to, b);
		printf("%-12s   timeline %" PRIu32 ": from %s to %s%s, %s\n", "", c->tli, a, b,
		       c->ends_partial ? " (last durable partial)" : "",
		       c->ngaps ? "GAPS:" : "no gaps");
		for (size_t g = 0; g < c->ngaps && g < WAL_GAPS_MAX; g++) {
			manifest_lsn_format(c->gap[g].from, a);
			manifest_lsn_format(c->gap[g].to, b);
			printf("%-12s     missing %s to %s\n", "", a, b);
		}
		if (c->ngaps > WAL_GAPS_MAX)
			printf("%-12s     ... and %zu more gaps\n", "", c->ngaps - WAL_GAPS_MAX);
	}
	for (size_t i = 0; i < w->nb; i++) {
		struct wal_reach r;
		wal_reach(w->cov, w->nc, &w->bases[i], &r);
		manifest_lsn_format(r.lsn, a);
		if (!r.consistent || !r.to_end) {
			char seg[25];
			wal_seg_name(r.tli, r.lsn / w->segsize, w->segsize, seg);
			printf("%-12s   backup %s: %s at segment %s (%s)\n", "", w->be[i]->id,
			       r.consistent
			           ? "recovery stops at a gap"
			           : "its WAL is incomplete: restores from its own WAL only, "
			             "WAL missing",
			       seg, a);
		}
	}
	if (!w->win.any) {
		printf("%-12s recovery window: none: no physical backup has continuous WAL to the "
		       "end of the stored WAL\n",
		       stanza);
		return;
	}
	pw_time_format(w->win.from, PW_TIME_ISO, t1);
	if (w->win.to)
		pw_time_format(w->win.to, PW_TIME_ISO, t2);
	manifest_lsn_format(w->win.lsn, a);
	printf("%-12s you can restore to any moment from %s (the end of backup %s) to %s (the "
	       "last durable WAL, %s on timeline %" PRIu32 ")\n",
	       stanza, t1, w->be[w->win.base]->id,
	       w->win.to ? t2 : "the end of the stored WAL (its time is not signed)", a,
	       w->win.tli);
}

/* The backups of one stanza as `list STANZA --output=json` shows them, a physical backup
 * with its WAL facts (trusted-signer keys from ctx's configuration; unsigned records never
 * count as evidence here): the one builder of `list --output=json` and the API's backups. */
static int list_stanza_json(struct pw_ctx *ctx, struct stor *repo, const char *stanza, json_t *arr)
{
	struct repo_signers signers = {0};
	int rc = pw_load_signers(ctx, &signers);
	struct backup_list l;
	memset(&l, 0, sizeof l);
	if (rc == 0)
		rc = catalog_list_trusted(repo, stanza, &signers, false, &l);
	struct stanza_wal w = {0};
	if (rc == 0)
		rc = stanza_wal_load(repo, stanza, &l, &signers, &w);
	for (size_t k = 0, b = 0; rc == 0 && k < l.n; k++) {
		bool phys = genuine_physical(&l.e[k]);
		json_t *e = entry_json(stanza, &l.e[k]);
		if (phys)
			json_object_set_new(e, "wal", wal_json(&w, b));
		json_array_append_new(arr, e);
		b += phys;
	}
	stanza_wal_free(&w);
	catalog_list_free(&l);
	repo_signers_free(&signers);
	return rc;
}

/* A "list STANZA --config=PATH" context and its repository, for the service's threads. */
static int open_for_service(const char *config_path, const char *stanza, struct pw_ctx *ctx,
                            struct stor **repo)
{
	*repo = NULL;
	*ctx = (struct pw_ctx){.command = "list", .stanza = stanza};
	ctx->cfg = pw_config_new();
	if (!catalog_valid_stanza(stanza))
		return pw_error(PW_E_USAGE, "invalid stanza name");
	struct pw_buf arg = PW_BUF_INIT(8192);
	int rc = pw_buf_printf(&arg, "--config=%s", config_path);
	if (rc == 0) {
		char *argv[] = {(char *)pw_buf_str(&arg)};
		const enum pw_opt_id allowed[] = {PW_OPT_CONFIG};
		rc = pw_config_parse_args(ctx->cfg, "list", 1, argv, allowed, 1);
	}
	pw_buf_free(&arg, 0);
	if (rc == 0)
		rc = pw_config_load(ctx->cfg, stanza);
	if (rc == 0)
		rc = pw_open_repo(ctx, repo);
	return rc;
}

int pw_wal_status(const char *config_path, const char *stanza, time_t *last_durable, time_t *from,
                  time_t *to)
{
	*last_durable = *from = *to = 0;
	struct pw_ctx ctx;
	struct stor *repo;
	int rc = open_for_service(config_path, stanza, &ctx, &repo);
	struct repo_signers signers = {0};
	if (rc == 0)
		rc = pw_load_signers(&ctx, &signers);
	const char *skpath = pw_cfg_str(ctx.cfg, PW_OPT_SIGN_KEY);
	if (rc == 0 && !signers.n && skpath && *skpath) {
		struct minisign_seckey sk;
		if ((rc = repo_sign_key_load(skpath, &sk)) == 0) {
			signers.k = pw_calloc(1, sizeof *signers.k);
			minisign_seckey_public(&sk, &signers.k[0]);
			signers.n = 1;
			minisign_seckey_wipe(&sk);
		}
	}
	struct backup_list l;
	memset(&l, 0, sizeof l);
	if (rc == 0)
		rc = catalog_list_trusted(repo, stanza, &signers, false, &l);
	struct stanza_wal w = {0};
	if (rc == 0)
		rc = stanza_wal_load(repo, stanza, &l, &signers, &w);
	if (rc == 0) {
		*last_durable = w.end_time;
		if (w.win.any) {
			*from = w.win.from;
			*to = w.win.to;
		}
	}
	stanza_wal_free(&w);
	catalog_list_free(&l);
	repo_signers_free(&signers);
	stor_free(repo);
	pw_config_free(ctx.cfg);
	return rc;
}

int pw_list_backups_json(void *config_path, const char *stanza, json_t **out)
{
	*out = NULL;
	struct pw_ctx ctx;
	struct stor *repo;
	int rc = open_for_service(config_path, stanza, &ctx, &repo);
	json_t *arr = json_array();
	if (rc == 0)
		rc = list_stanza_json(&ctx, repo, stanza, arr);
	stor_free(repo);
	pw_config_free(ctx.cfg);
	if (rc < 0)
		json_decref(arr);
	else
		*out = arr;
	return rc;
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
	g_allow_unsigned = pw_cfg_bool(ctx->cfg, PW_OPT_ALLOW_UNSIGNED);
	if (g_allow_unsigned)
		pw_warn("--allow-unsigned: verification records and unpin markers not signed by a "
		        "trusted-signer key count as genuine");
	bool json = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	json_t *arr = json_array();
	if (!json && rc == 0)
		printf("%-12s %-22s %-12s %-26s %-20s %6s %8s %9s %6s %-24s %s\n", "stanza",
		       "backup", "status", "signed by", "started", "took", "db size", "stored",
		       "ratio", "verified", "locked until");
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (json) {
			rc = list_stanza_json(ctx, repo, names[i], arr);
			continue;
		}
		struct backup_list l;
		rc = catalog_list_trusted(repo, names[i], &signers, false, &l);
		for (size_t k = 0; rc == 0 && k < l.n; k++)
			print_row(names[i], &l.e[k]);
		struct stanza_wal w = {0};
		if (rc == 0)
			rc = stanza_wal_load(repo, names[i], &l, &signers, &w);
		if (rc == 0)
			print_wal(names[i], &w);
		stanza_wal_free(&w);
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
