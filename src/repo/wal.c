/* wal.c - WAL object keys, signature comments and coverage (pure). */
#include "repo/wal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"

static uint64_t segs_per_log(uint32_t segsize)
{
	return 0x100000000ULL / segsize;
}

void wal_seg_name(uint32_t tli, uint64_t segno, uint32_t segsize, char out[25])
{
	uint64_t per = segs_per_log(segsize);
	snprintf(out, 25, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, tli, (uint32_t)(segno / per),
	         (uint32_t)(segno % per));
}

/* exactly n uppercase hex digits */
static bool hexn(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

static int not_a_name(const char *name)
{
	pw_error(PW_E_USAGE, "\"%.40s\" is not a WAL file name", name);
	return pw_error_hint("PostgreSQL passes %%f: 24 hexadecimal digits (a segment) or "
	                     "0000000N.history.");
}

int wal_seg_parse(const char *name, uint32_t segsize, uint32_t *tli, uint64_t *segno)
{
	uint32_t t, log, seg;
	if (strlen(name) != 24 || !hexn(name, 8, &t) || !hexn(name + 8, 8, &log) ||
	    !hexn(name + 16, 8, &seg) || t == 0 || seg >= segs_per_log(segsize))
		return not_a_name(name);
	*tli = t;
	*segno = (uint64_t)log * segs_per_log(segsize) + seg;
	return 0;
}

int wal_history_parse(const char *name, uint32_t *tli)
{
	uint32_t t;
	if (strlen(name) != 16 || !hexn(name, 8, &t) || strcmp(name + 8, ".history") != 0 || t < 2)
		return not_a_name(name);
	*tli = t;
	return 0;
}

static int key_done(int n, char out[WAL_KEY_MAX])
{
	if (n < 0 || n >= WAL_KEY_MAX) {
		out[0] = 0;
		return pw_error(PW_E_INTERNAL, "WAL object key too long");
	}
	return 0;
}

int wal_key_segment(const char *stanza, uint32_t tli, uint64_t segno, uint32_t segsize,
                    char out[WAL_KEY_MAX])
{
	char name[25];
	wal_seg_name(tli, segno, segsize, name);
	return key_done(snprintf(out, WAL_KEY_MAX, "%s/" WAL_DIR "/%08" PRIX32 "/%s" WAL_OBJ_SUFFIX,
	                         stanza, tli, name),
	                out);
}

int wal_key_partial(const char *stanza, uint32_t tli, uint64_t segno, uint32_t segsize,
                    uint32_t end, char out[WAL_KEY_MAX])
{
	char name[25];
	wal_seg_name(tli, segno, segsize, name);
	return key_done(snprintf(out, WAL_KEY_MAX,
	                         "%s/" WAL_DIR "/%08" PRIX32
	                         "/%s.partial.%08" PRIX32 WAL_OBJ_SUFFIX,
	                         stanza, tli, name, end),
	                out);
}

int wal_key_partial_prefix(const char *stanza, uint32_t tli, uint64_t segno, uint32_t segsize,
                           char out[WAL_KEY_MAX])
{
	char name[25];
	wal_seg_name(tli, segno, segsize, name);
	return key_done(snprintf(out, WAL_KEY_MAX, "%s/" WAL_DIR "/%08" PRIX32 "/%s.partial.",
	                         stanza, tli, name),
	                out);
}

int wal_key_history(const char *stanza, uint32_t tli, char out[WAL_KEY_MAX])
{
	return key_done(snprintf(out, WAL_KEY_MAX,
	                         "%s/" WAL_DIR "/%08" PRIX32 ".history" WAL_OBJ_SUFFIX, stanza,
	                         tli),
	                out);
}

int wal_key_parse(const char *stanza, const char *key, struct wal_obj *o)
{
	memset(o, 0, sizeof *o);
	size_t sl = strlen(stanza), kl = strlen(key);
	if (kl > WAL_KEY_MAX || kl < sl + 5 || memcmp(key, stanza, sl) != 0 ||
	    memcmp(key + sl, "/" WAL_DIR "/", 5) != 0)
		return -PW_E_NOTFOUND;
	const char *p = key + sl + 5;
	size_t n = strlen(p);
	const size_t sigl = strlen(".minisig"), sufl = strlen(WAL_OBJ_SUFFIX);
	if (n > sigl && strcmp(p + n - sigl, ".minisig") == 0) {
		o->signature = true;
		n -= sigl;
	}
	if (n < sufl || memcmp(p + n - sufl, WAL_OBJ_SUFFIX, sufl) != 0)
		return -PW_E_NOTFOUND;
	n -= sufl;
	/* now p[0..n) is "TTTTTTTT.history", "TTTTTTTT/<24>" or "TTTTTTTT/<24>.partial.<8>" */
	if (n < 9 || !hexn(p, 8, &o->tli) || o->tli == 0)
		return -PW_E_NOTFOUND;
	if (n == 16 && memcmp(p + 8, ".history", 8) == 0 && o->tli >= 2) {
		o->kind = WAL_HISTORY;
		return 0;
	}
	uint32_t t;
	if (p[8] != '/' || (n != 33 && n != 50) || !hexn(p + 9, 8, &t) || t != o->tli ||
	    !hexn(p + 17, 8, &o->log) || !hexn(p + 25, 8, &o->seg))
		return -PW_E_NOTFOUND;
	if (n == 33) {
		o->kind = WAL_SEGMENT;
		return 0;
	}
	if (memcmp(p + 33, ".partial.", 9) != 0 || !hexn(p + 42, 8, &o->end) || o->end == 0)
		return -PW_E_NOTFOUND;
	o->kind = WAL_PARTIAL;
	return 0;
}

int wal_key_for_file(const char *stanza, const char *fname, uint32_t *tli, bool *history,
                     char out[WAL_KEY_MAX])
{
	uint32_t t, log, seg;
	*history = false;
	if (strlen(fname) == 16 && wal_history_parse(fname, tli) == 0) {
		*history = true;
		return wal_key_history(stanza, *tli, out);
	}
	pw_error_clear();
	if (strlen(fname) != 24 || !hexn(fname, 8, &t) || !hexn(fname + 8, 8, &log) ||
	    !hexn(fname + 16, 8, &seg) || t == 0)
		return not_a_name(fname);
	*tli = t;
	return key_done(snprintf(out, WAL_KEY_MAX, "%s/" WAL_DIR "/%08" PRIX32 "/%s" WAL_OBJ_SUFFIX,
	                         stanza, t, fname),
	                out);
}

#define COMMENT_HEAD "pgward-wal v1 stanza=%s timeline=%" PRIu32 " object=%s "

int wal_sig_comment(const char *stanza, const char *key, uint32_t tli,
                    const struct wal_sig_info *in, char *out, size_t size)
{
	char hex[65], when[PW_TIME_MAX] = "";
	pw_hex_encode(in->sha256, 32, hex);
	if (in->stored > 0)
		pw_time_format(in->stored, PW_TIME_COMPACT, when);
	int n = snprintf(
	    out, size, COMMENT_HEAD "segment_size=%" PRIu32 " length=%" PRIu64 " sha256=%s%s%s",
	    stanza, tli, key, in->segsize, in->length, hex, *when ? " stored=" : "", when);
	if (n < 0 || (size_t)n >= size)
		return pw_error(PW_E_INTERNAL, "WAL signature comment too long");
	return 0;
}

static int malformed(const char *key)
{
	pw_error_clear();
	pw_error(PW_E_SIGNATURE, "the signature of \"%s\" has a malformed trusted comment", key);
	return pw_error_hint("Do not replay this object; restore it from a trusted copy.");
}

/* "name=<decimal> " at *p; advances */
static bool field_u64(const char **p, const char *name, uint64_t *v)
{
	size_t nl = strlen(name);
	if (strncmp(*p, name, nl) != 0 || (*p)[nl] != '=')
		return false;
	const char *s = *p + nl + 1, *e = strchr(s, ' ');
	char num[24];
	if (!e || e == s || (size_t)(e - s) >= sizeof num)
		return false;
	memcpy(num, s, (size_t)(e - s));
	num[e - s] = 0;
	if (pw_parse_u64(num, v) < 0) {
		pw_error_clear();
		return false;
	}
	*p = e + 1;
	return true;
}

int wal_sig_comment_check(const char *comment, const char *stanza, const char *key, uint32_t tli,
                          struct wal_sig_info *out)
{
	memset(out, 0, sizeof *out);
	char head[WAL_KEY_MAX + 160];
	int n = snprintf(head, sizeof head, COMMENT_HEAD, stanza, tli, key);
	if (n < 0 || (size_t)n >= sizeof head || strncmp(comment, head, (size_t)n) != 0) {
		pw_error(PW_E_SIGNATURE, "the signature of \"%s\" is for another object", key);
		return pw_error_hint("Its trusted comment does not name this stanza, timeline and "
		                     "object: the object was moved, swapped or forged. Do not "
		                     "replay it; restore the object from a trusted copy.");
	}
	const char *p = comment + n;
	uint64_t seg = 0, len = 0;
	if (!field_u64(&p, "segment_size", &seg) || seg > UINT32_MAX ||
	    !field_u64(&p, "length", &len) || !pw_startswith(p, "sha256=") || strlen(p + 7) < 64 ||
	    pw_hex_decode(p + 7, 64, out->sha256, 32) != 0)
		return malformed(key);
	/* then nothing (written before the time was recorded) or " stored=<compact time>" */
	p += 7 + 64;
	if (*p) {
		time_t t;
		const char *end;
		if (!pw_startswith(p, " stored=") ||
		    pw_time_parse(p + 8, PW_TIME_COMPACT, false, &t, &end) < 0 || *end || t <= 0)
			return malformed(key);
		out->stored = t;
	}
	out->length = len;
	out->segsize = (uint32_t)seg;
	return 0;
}

/* ---- coverage ---- */

struct seg_ent {
	uint32_t tli;
	uint64_t segno;
	bool complete;
	uint32_t pend; /* largest partial end */
};

static int ent_cmp(const void *a, const void *b)
{
	const struct seg_ent *x = a, *y = b;
	if (x->tli != y->tli)
		return x->tli < y->tli ? -1 : 1;
	if (x->segno != y->segno)
		return x->segno < y->segno ? -1 : 1;
	return 0;
}

static void add_gap(struct wal_coverage *c, uint64_t from, uint64_t to)
{
	if (c->ngaps < WAL_GAPS_MAX)
		c->gap[c->ngaps] = (struct wal_gap){from, to};
	c->ngaps++;
}

int wal_coverage(const struct wal_obj *objs, size_t n, uint32_t segsize, struct wal_coverage **out,
                 size_t *nout)
{
	*out = NULL;
	*nout = 0;
	uint64_t per = segs_per_log(segsize);
	struct seg_ent *e = pw_calloc(n ? n : 1, sizeof *e);
	size_t ne = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wal_obj *o = &objs[i];
		if (o->signature || o->kind == WAL_HISTORY || o->seg >= per ||
		    (o->kind == WAL_PARTIAL && o->end > segsize))
			continue;
		/* a full-size partial stands for the segment (stored so after a crash left the
		 * segment's object unsigned) */
		bool full = o->kind == WAL_SEGMENT || o->end == segsize;
		e[ne++] = (struct seg_ent){o->tli, (uint64_t)o->log * per + o->seg, full,
		                           o->kind == WAL_PARTIAL && !full ? o->end : 0};
	}
	qsort(e, ne, sizeof *e, ent_cmp);
	/* merge duplicates (a segment and its partials) */
	size_t m = 0;
	for (size_t i = 0; i < ne; i++) {
		if (m && e[m - 1].tli == e[i].tli && e[m - 1].segno == e[i].segno) {
			e[m - 1].complete |= e[i].complete;
			if (e[i].pend > e[m - 1].pend)
				e[m - 1].pend = e[i].pend;
			continue;
		}
		e[m++] = e[i];
	}
	struct wal_coverage *cov = NULL;
	size_t nc = 0;
	for (size_t i = 0; i < m; i++) {
		if (!nc || cov[nc - 1].tli != e[i].tli) {
			cov = pw_realloc(cov, (nc + 1) * sizeof *cov);
			memset(&cov[nc], 0, sizeof *cov);
			cov[nc].tli = e[i].tli;
			cov[nc].from = e[i].segno * segsize;
			nc++;
		}
		struct wal_coverage *c = &cov[nc - 1];
		uint64_t start = e[i].segno * segsize;
		if (i && e[i - 1].tli == e[i].tli && c->to < start)
			add_gap(c, c->to, start);
		if (e[i].complete) {
			c->segments++;
			c->to = start + segsize;
			c->ends_partial = false;
		} else {
			c->partials++;
			c->to = start + e[i].pend;
			c->ends_partial = true;
		}
	}
	/* a history file counts with its signature beside it: an unsigned one is never
	 * followed (wal-fetch answers "not stored"; docs/pitr.md) */
	for (size_t i = 0; i < n; i++) {
		if (!objs[i].signature || objs[i].kind != WAL_HISTORY)
			continue;
		bool obj = false;
		for (size_t j = 0; j < n && !obj; j++)
			obj = !objs[j].signature && objs[j].kind == WAL_HISTORY &&
			      objs[j].tli == objs[i].tli;
		for (size_t k = 0; k < nc && obj; k++)
			if (objs[i].tli == cov[k].tli)
				cov[k].history = true;
	}
	pw_free(e);
	*out = cov;
	*nout = nc;
	return 0;
}

/* ---- the recovery window ---- */

static const struct wal_coverage *cov_of(const struct wal_coverage *cov, size_t nc, uint32_t tli)
{
	for (size_t i = 0; i < nc; i++)
		if (cov[i].tli == tli)
			return &cov[i];
	return NULL;
}

/* The end of the WAL stored without a gap from lsn on c (lsn itself when it is not
 * stored); *unknown when c recorded fewer gaps than it has and lsn is past them. */
static uint64_t cont_end(const struct wal_coverage *c, uint64_t lsn, bool *unknown)
{
	if (lsn < c->from || lsn >= c->to)
		return lsn;
	size_t known = c->ngaps < WAL_GAPS_MAX ? c->ngaps : WAL_GAPS_MAX;
	for (size_t g = 0; g < known; g++) {
		if (c->gap[g].to <= lsn)
			continue;
		return c->gap[g].from <= lsn ? lsn : c->gap[g].from;
	}
	if (c->ngaps > known) {
		/* a gap coverage did not record may follow: claim only what is known */
		*unknown = true;
		return known ? (c->gap[known - 1].to > lsn ? c->gap[known - 1].to : lsn) : lsn;
	}
	return c->to;
}

void wal_reach(const struct wal_coverage *cov, size_t nc, const struct wal_base *b,
               struct wal_reach *out)
{
	memset(out, 0, sizeof *out);
	out->tli = b->tli;
	out->lsn = b->start_lsn;
	const struct wal_coverage *c = cov_of(cov, nc, b->tli);
	if (!c)
		return;
	uint64_t end = cont_end(c, b->start_lsn, &out->unknown);
	out->lsn = end;
	out->consistent = end > b->start_lsn && end >= b->stop_lsn;
	/* the next timeline: the lowest one above whose history is stored and whose WAL
	 * begins within what is reached (a promotion copies the switch segment's start) */
	while (end == c->to && !out->unknown) {
		const struct wal_coverage *next = NULL;
		for (size_t i = 0; i < nc; i++)
			if (cov[i].tli > c->tli && cov[i].history && cov[i].from <= end &&
			    (!next || cov[i].tli < next->tli))
				next = &cov[i];
		if (!next)
			break;
		uint64_t from = next->from;
		c = next;
		end = cont_end(c, from, &out->unknown);
		if (end == from)
			break; /* nothing stored where the timeline begins */
		out->tli = c->tli;
		out->lsn = end;
	}
	/* the end of the stored WAL: the newest timeline's end */
	const struct wal_coverage *last = nc ? &cov[nc - 1] : NULL;
	for (size_t i = 0; i < nc; i++)
		if (cov[i].tli > last->tli)
			last = &cov[i];
	out->to_end = !out->unknown && last && out->tli == last->tli && out->lsn == last->to &&
	              out->lsn > b->start_lsn;
}

void wal_window(const struct wal_coverage *cov, size_t nc, const struct wal_base *bases, size_t nb,
                time_t end_time, struct wal_window *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < nb; i++) {
		struct wal_reach r;
		wal_reach(cov, nc, &bases[i], &r);
		if (!r.consistent || !r.to_end)
			continue;
		if (out->any && bases[i].finished >= out->from)
			continue;
		out->any = true;
		out->base = i;
		out->from = bases[i].finished;
		out->tli = r.tli;
		out->lsn = r.lsn;
	}
	/* 0: unknown (no signed time); never before the window's start */
	if (out->any && end_time)
		out->to = end_time > out->from ? end_time : out->from;
}
