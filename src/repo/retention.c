/* retention.c - the keep set. */
#include "repo/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/minisign.h"

/* The time in an id "20261122T031500Z-1a2b"; 0 when there is none. */
static time_t id_time(const char *id)
{
	time_t t;
	const char *end;
	if (pw_time_parse(id, PW_TIME_COMPACT, false, &t, &end) < 0 || *end != '-')
		return 0;
	return t;
}

static time_t start_time(const struct backup_entry *e)
{
	if (e->manifest)
		return e->manifest->started;
	time_t t = id_time(e->id);
	return t ? t : e->first_seen;
}

static const struct listed_object *listed(const struct backup_entry *e, const char *name)
{
	for (size_t i = 0; i < e->nlisted; i++)
		if (strcmp(e->objects[i].name, name) == 0)
			return &e->objects[i];
	return NULL;
}

/* Why a complete backup is not genuine; false if it is. */
static bool not_genuine(const struct retention_opts *o, const struct backup_entry *e, char *why,
                        size_t size)
{
	const struct manifest *m = e->manifest;
	if (e->trust.trust != TRUST_SIGNED && !o->allow_unsigned) {
		char label[64];
		repo_trust_label(&e->trust, label, sizeof label);
		snprintf(why, size, "not signed by a trusted-signer (%s)", label);
		return true;
	}
	if (strcmp(m->backup_id, e->id) != 0 || strcmp(m->stanza, o->stanza) != 0) {
		snprintf(why, size, "its manifest names another backup");
		return true;
	}
	time_t ti = id_time(e->id);
	if (!ti) {
		snprintf(why, size, "no valid start time or id");
		return true;
	}
	if (m->started != ti) {
		snprintf(why, size, "its start time does not match its id");
		return true;
	}
	if (m->started > o->now + 300) {
		snprintf(why, size, "its start time is in the future");
		return true;
	}
	for (size_t i = 0; i < m->nobjects; i++) {
		const struct listed_object *lo = listed(e, m->objects[i].name);
		if (!lo) {
			snprintf(why, size, "object %.60s is missing", m->objects[i].name);
			return true;
		}
		if (lo->size != m->objects[i].size) {
			snprintf(why, size, "object %.60s has size %llu, the manifest says %llu",
			         m->objects[i].name, (unsigned long long)lo->size,
			         (unsigned long long)m->objects[i].size);
			return true;
		}
	}
	return false;
}

/* Signed by a trusted key at some point: a manifest whose trusted signature still holds
 * (its objects changed since), or a signature by a trusted key that no longer matches its
 * manifest. That is evidence of tampering, never garbage: deleting it would let anyone who
 * can write to the repository (but not delete) get genuine backups expired. */
static bool trusted_evidence(const struct retention_opts *o, const struct backup_entry *e)
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

/* Pinned: a pin marker and no unpin signed by a trusted key after it; with allow_unsigned
 * (signatures not asked) the newest marker decides, as before markers were signed. */
static bool is_pinned(const struct retention_opts *o, const struct backup_entry *e)
{
	return o->allow_unsigned ? e->pinned_any : e->pinned;
}

static void keep(struct retention_item *it, const char *why)
{
	it->keep = true;
	if (it->nreasons < RETENTION_REASONS_MAX)
		pw_strlcpy(it->reasons[it->nreasons++], why, sizeof it->reasons[0]);
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

static void gfs(struct retention_item **g, size_t n, int count, char kind, const char *label)
{
	if (count <= 0)
		return;
	long seen[4096];
	int nseen = 0;
	/* newest first: the first genuine backup in each new bucket is kept */
	for (size_t i = n; i-- > 0 && nseen < count && nseen < 4096;) {
		long b = bucket(g[i]->t, kind);
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
		keep(g[i], why);
	}
}

/* recovery-window: the newest physical base that finished at least the window ago
 * (WAL from it reaches back that far), or the oldest physical base while none has */
static void keep_window(const struct retention_opts *o, struct retention_item **g, size_t n)
{
	struct retention_item *pick = NULL, *oldest = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct manifest *m = g[i]->e->manifest;
		if (m->kind != MANIFEST_PHYSICAL)
			continue;
		if (!oldest)
			oldest = g[i];
		if (m->finished <= o->now - o->r.window_seconds)
			pick = g[i];
	}
	char why[96];
	if (pick) {
		snprintf(why, sizeof why, "WAL from it covers recovery-window = %ld days",
		         o->r.window_seconds / 86400);
		keep(pick, why);
	} else if (oldest) {
		snprintf(why, sizeof why,
		         "the oldest physical backup, younger than recovery-window = %ld days",
		         o->r.window_seconds / 86400);
		keep(oldest, why);
	}
}

static void judge_incomplete(const struct retention_opts *o, struct retention_item *it)
{
	const struct backup_entry *e = it->e;
	it->cls = RET_INCOMPLETE;
	if (e->state == BACKUP_NEWER) {
		it->keep = it->evidence = true;
		snprintf(it->reason, sizeof it->reason,
		         "its manifest is in a newer format than this pgward reads: kept (expire "
		         "it with the pgward that wrote it)");
		return;
	}
	if (e->state == BACKUP_DAMAGED) {
		/* aged by the storage's time, never by what the damaged manifest claims */
		bool old = e->first_seen && o->now - e->first_seen >= o->r.grace_seconds;
		it->evidence = e->has_signature || trusted_evidence(o, e);
		it->keep = it->evidence || !old;
		snprintf(it->reason, sizeof it->reason, "%.180s%s", e->damage,
		         it->evidence ? "; a signature is next to it: kept for investigation "
		                        "(remove it with \"pgward repo rm\" once explained)"
		         : old        ? ", older than incomplete-grace"
		                      : ", younger than incomplete-grace");
		return;
	}
	bool old = o->now - it->t >= o->r.grace_seconds;
	/* a signature next to a missing manifest: the manifest was removed after the backup
	 * committed (a backup's signature is written just before its manifest), so it may
	 * have been genuine */
	it->evidence = e->has_signature && e->first_seen;
	it->keep = it->evidence || !old;
	pw_strlcpy(it->reason,
	           it->evidence ? "a signature next to a manifest that cannot be read: kept for "
	                          "investigation (remove it with \"pgward repo rm\" once "
	                          "explained)"
	           : old        ? "incomplete, older than incomplete-grace"
	                        : "incomplete, may still be running",
	           sizeof it->reason);
}

void retention_plan(const struct retention_opts *o, const struct backup_list *l,
                    struct retention_item **items)
{
	struct retention_item *it = pw_calloc(l->n ? l->n : 1, sizeof *it);
	struct retention_item **g = pw_calloc(l->n ? l->n : 1, sizeof *g);
	size_t ng = 0; /* genuine ones, oldest first */
	for (size_t i = 0; i < l->n; i++) {
		const struct backup_entry *e = &l->e[i];
		it[i].e = e;
		it[i].t = start_time(e);
		it[i].locked = e->manifest && e->manifest->lock_until > o->now;
		if (!e->complete) {
			judge_incomplete(o, &it[i]);
			continue;
		}
		char why[200];
		if (not_genuine(o, e, why, sizeof why)) {
			/* never counted toward retention; aged by the storage's time, not by the
			 * manifest's claim */
			it[i].cls = RET_NOT_GENUINE;
			bool old = e->first_seen && o->now - e->first_seen >= o->r.grace_seconds;
			/* signed by a trusted key but altered since: evidence, not garbage (and an
			 * overwritten manifest must not get a genuine backup deleted) */
			it[i].evidence = trusted_evidence(o, e);
			bool pin = it[i].evidence || is_pinned(o, e);
			snprintf(it[i].reason, sizeof it[i].reason, "not genuine: %s%s", why,
			         it[i].evidence
			             ? "; signed by a trusted key and altered since: kept "
			               "for investigation"
			         : pin ? "; pinned"
			         : old ? ", older than incomplete-grace"
			               : "");
			it[i].keep = !old || pin;
			continue;
		}
		it[i].cls = RET_GENUINE;
		g[ng++] = &it[i];
	}
	for (size_t i = 0; i < ng; i++) {
		if (o->now - g[i]->t < (time_t)o->r.days * 86400) {
			char why[64];
			snprintf(why, sizeof why, "younger than %d days (retention-days)",
			         o->r.days);
			keep(g[i], why);
		}
		if (ng - i <= (size_t)(o->r.min > 0 ? o->r.min : 0)) {
			char why[64];
			snprintf(why, sizeof why, "among the newest %d (retention-min)", o->r.min);
			keep(g[i], why);
		}
		if (is_pinned(o, g[i]->e)) {
			const struct backup_entry *e = g[i]->e;
			char why[160];
			snprintf(why, sizeof why, "pinned%s%s%s%s",
			         e->pin_sig.trust == TRUST_SIGNED ? "" : " (unsigned pin)",
			         e->unpin_ignored[0] && !o->allow_unsigned ? "; unpin-" : "",
			         e->unpin_ignored[0] && !o->allow_unsigned ? e->unpin_ignored : "",
			         e->unpin_ignored[0] && !o->allow_unsigned
			             ? " ignored: not signed by a trusted key"
			             : "");
			keep(g[i], why);
		}
	}
	/* tags: each keeps its backup for its own keep from the start (keep-within); on top of
	 * the rules above (the union: a tag never keeps fewer) */
	for (size_t i = 0; i < ng; i++) {
		const struct manifest *m = g[i]->e->manifest;
		for (size_t k = 0; k < m->ntags; k++) {
			int64_t kt = m->tags[k].keep_seconds;
			if (kt <= 0 || o->now - g[i]->t >= kt)
				continue;
			char why[96], until[PW_TIME_MAX];
			snprintf(why, sizeof why, "tagged \"%s\", kept %lld%s, until %s",
			         m->tags[k].name, (long long)(kt % 86400 ? kt / 3600 : kt / 86400),
			         kt % 86400 ? "h" : "d",
			         pw_time_format(g[i]->t + (time_t)kt, PW_TIME_ISO, until));
			keep(g[i], why);
		}
	}
	if (o->r.window_seconds > 0)
		keep_window(o, g, ng);
	gfs(g, ng, o->r.daily, 'd', "day");
	gfs(g, ng, o->r.weekly, 'w', "week");
	gfs(g, ng, o->r.monthly, 'm', "month");
	gfs(g, ng, o->r.yearly, 'y', "year");
	pw_free(g);
	*items = it;
}

/* ---- WAL ---- */

static uint64_t segno_of(const struct wal_obj *o, uint32_t segsize)
{
	return (uint64_t)o->log * (0x100000000ULL / segsize) + o->seg;
}

static bool same_seg(const struct wal_obj *a, const struct wal_obj *b)
{
	return a->kind != WAL_HISTORY && b->kind != WAL_HISTORY && a->tli == b->tli &&
	       a->log == b->log && a->seg == b->seg;
}

struct seg_ix {
	uint32_t tli, log, seg;
	size_t i;
};

static int ix_cmp(const void *a, const void *b)
{
	const struct seg_ix *x = a, *y = b;
	if (x->tli != y->tli)
		return x->tli < y->tli ? -1 : 1;
	if (x->log != y->log)
		return x->log < y->log ? -1 : 1;
	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* For each partial smaller than a segment: the index of the full object (a segment, or a
 * full-size partial, whose signature is listed too) of its segment, else n. One sort. */
static void superseders(const struct wal_obj *objs, size_t n, uint32_t segsize, size_t *by)
{
	struct seg_ix *sx = pw_calloc(n ? n : 1, sizeof *sx);
	size_t *ix = pw_calloc(n ? n : 1, sizeof *ix), m = 0;
	for (size_t i = 0; i < n; i++) {
		by[i] = n;
		if (objs[i].kind != WAL_HISTORY)
			sx[m++] = (struct seg_ix){objs[i].tli, objs[i].log, objs[i].seg, i};
	}
	qsort(sx, m, sizeof *sx, ix_cmp);
	for (size_t k = 0; k < m; k++)
		ix[k] = sx[k].i;
	pw_free(sx);
	for (size_t a = 0; a < m;) {
		size_t b = a;
		while (b < m && same_seg(&objs[ix[a]], &objs[ix[b]]))
			b++;
		size_t full = n;
		for (size_t k = a; k < b && full == n; k++) {
			const struct wal_obj *f = &objs[ix[k]];
			if (f->signature || !(f->kind == WAL_SEGMENT ||
			                      (f->kind == WAL_PARTIAL && f->end == segsize)))
				continue;
			for (size_t j = a; j < b; j++) /* and its signature */
				if (objs[ix[j]].signature && objs[ix[j]].kind == f->kind &&
				    objs[ix[j]].end == f->end)
					full = ix[k];
		}
		for (size_t k = a; k < b && full < n; k++)
			if (objs[ix[k]].kind == WAL_PARTIAL && objs[ix[k]].end < segsize)
				by[ix[k]] = full;
		a = b;
	}
	pw_free(ix);
}

void retention_wal_plan(const struct wal_obj *objs, size_t n, uint32_t segsize,
                        const struct wal_base *kept, size_t nkept, uint8_t *verdict,
                        size_t *superseder, struct retention_wal_cut *cut)
{
	memset(cut, 0, sizeof *cut);
	for (size_t i = 0; i < nkept; i++) {
		uint64_t s = kept[i].start_lsn / segsize;
		if (!cut->any || kept[i].tli < cut->tli ||
		    (kept[i].tli == cut->tli && s < cut->segno)) {
			cut->any = true;
			cut->tli = kept[i].tli;
			cut->segno = s;
		}
	}
	size_t *by = pw_calloc(n ? n : 1, sizeof *by);
	superseders(objs, n, segsize, by);
	for (size_t i = 0; i < n; i++) {
		const struct wal_obj *o = &objs[i];
		verdict[i] = RET_WAL_KEEP;
		if (!cut->any)
			continue;
		if (o->kind == WAL_HISTORY) {
			if (o->tli < cut->tli)
				verdict[i] = RET_WAL_OLD;
			continue;
		}
		if (o->tli < cut->tli || (o->tli == cut->tli && segno_of(o, segsize) < cut->segno))
			verdict[i] = RET_WAL_OLD;
		else if (by[i] < n)
			verdict[i] = RET_WAL_SUPERSEDED;
	}
	if (superseder)
		memcpy(superseder, by, n * sizeof *by);
	pw_free(by);
}
