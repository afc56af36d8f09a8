/* pitr.c - point-in-time recovery: target, reachability, recovery settings, watched start
 * (pitr.h). */
#include "jobs/pitr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "jobs/walprefetch.h"
#include "jobs/walstream.h"
#include "pg/replication.h"
#include "pg/scratch.h"
#include "repo/wal.h"
#include "repo/walrepo.h"
#include "storage/storage.h"

/* ---- the target ---- */

const char *pitr_kind_name(enum pitr_kind k)
{
	static const char *const n[] = {"none", "latest", "time", "lsn", "xid", "name"};
	return n[k];
}

const char *pitr_action_name(enum pitr_action a)
{
	static const char *const n[] = {"pause", "promote", "shutdown"};
	return n[a];
}

static int bad_target(const char *opt, const char *v, const char *hint)
{
	char b[PITR_VALUE_MAX * 2];
	pw_error(PW_E_USAGE, "--target-%s \"%s\" is not valid", opt,
	         pw_str_printable(b, sizeof b, v));
	return pw_error_hint("%s", hint);
}

/* "2026-12-07 01:50:00.25+00" / "...T...Z" / no zone -> "2026-12-07T01:50:00.25Z" */
static int parse_time(const char *v, struct pitr_target *out)
{
	const char *hint = "Give the time in UTC: 2026-12-07T01:50:00.25Z or "
	                   "\"2026-12-07 01:50:00.25+00\" (as PostgreSQL's now() prints it).";
	char s[PITR_VALUE_MAX];
	size_t n = strlen(v);
	if (n < 19 || n >= sizeof s - 2)
		return bad_target("time", v, hint);
	memcpy(s, v, n + 1);
	if (s[10] == ' ')
		s[10] = 'T';
	static const char *const zones[] = {"+00:00", "+00", " UTC", "UTC", "Z"};
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		size_t zl = strlen(zones[i]);
		if (n > zl && strcmp(s + n - zl, zones[i]) == 0) {
			n -= zl;
			s[n] = 0;
			break;
		}
	}
	/* only digits and a fraction after the seconds: the text goes into the config file */
	for (size_t i = 19; i < n; i++)
		if (!(i == 19 && s[i] == '.') && !(i > 19 && s[i] >= '0' && s[i] <= '9'))
			return bad_target("time", v, hint);
	if (n > 19 && n < 21)
		return bad_target("time", v, hint);
	s[n] = 'Z';
	s[n + 1] = 0;
	if (pw_time_parse(s, PW_TIME_ISO, false, &out->time, NULL) < 0)
		return bad_target("time", v, hint);
	/* PostgreSQL reads no zone abbreviation (such as Z) there: a numeric offset */
	s[10] = ' ';
	memcpy(s + n, "+00", 4);
	pw_strlcpy(out->value, s, sizeof out->value);
	return 0;
}

int pitr_target_parse(enum pitr_kind kind, const char *text, struct pitr_target *out)
{
	out->kind = kind;
	out->value[0] = 0;
	if (kind == PITR_NONE || kind == PITR_LATEST)
		return 0;
	uint64_t v;
	switch (kind) {
	case PITR_TIME:
		return parse_time(text, out);
	case PITR_LSN:
		if (repl_lsn_parse(text, &out->lsn) < 0 || out->lsn == 0) {
			pw_error_clear();
			return bad_target("lsn", text,
			                  "Give an LSN as PostgreSQL shows it: X/Y in hexadecimal "
			                  "(pg_current_wal_lsn()).");
		}
		repl_lsn_format(out->lsn, out->value);
		return 0;
	case PITR_XID:
		if (pw_parse_u64(text, &v) < 0 || v < 3 || v > UINT32_MAX) {
			pw_error_clear();
			return bad_target(
			    "xid", text,
			    "Give a transaction id (txid_current() % 2^32), 3 or more.");
		}
		snprintf(out->value, sizeof out->value, "%" PRIu64, v);
		return 0;
	case PITR_NAME:
		for (const char *p = text; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return bad_target("name", text,
				                  "A restore point name has no control "
				                  "characters.");
		if (!*text || strlen(text) >= 64)
			return bad_target("name", text,
			                  "A restore point name has 1-63 bytes "
			                  "(pg_create_restore_point's argument).");
		pw_strlcpy(out->value, text, sizeof out->value);
		return 0;
	default:
		return pw_error(PW_E_INTERNAL, "unknown recovery target kind");
	}
}

bool pitr_base_before(const struct manifest *m, const struct pitr_target *t)
{
	if (t->kind == PITR_TIME)
		return m->finished <= t->time;
	if (t->kind == PITR_LSN)
		return m->physical.stop_lsn <= t->lsn;
	return true;
}

/* ---- what the stored WAL proves ---- */

static uint64_t segno_of(const struct wal_obj *o, uint32_t segsize)
{
	return (uint64_t)o->log * (0x100000000ULL / segsize) + o->seg;
}

/* The segment holding the base's start: for one segment size, the object that serves it
 * (wal_listing_find: the segment, else the largest partial, each with its signature),
 * fetched and checked (signature, decryption, SHA-256); its signature must give that size. */
static int first_segment(struct stor *repo, const struct wal_listing *l,
                         const struct manifest *base, const struct repo_signers *signers,
                         const struct age_identity *ids, size_t nids, struct pitr_plan *p)
{
	uint32_t tli = base->physical.timeline;
	char lsn[24];
	repl_lsn_format(base->physical.start_lsn, lsn);
	/* 16 MiB first (the default), then 1, 2, 4, 8, 32, 64 MiB */
	static const uint32_t order[] = {16, 1, 2, 4, 8, 32, 64};
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		uint32_t s = order[k] << 20;
		size_t i = wal_listing_find(l, tli, base->physical.start_lsn / s, s);
		if (i == l->n)
			continue;
		struct pw_buf plain = PW_BUF_INIT(REPL_SEG_MAX);
		uint32_t got = 0;
		int rc = walobj_get(repo, l->stanza, l->keys[i], tli, signers, ids, nids, &plain,
		                    &got, NULL);
		pw_buf_free(&plain, 1);
		if (rc < 0) {
			pw_error_context("the WAL at the base backup's start (%s) cannot be used",
			                 lsn);
			return rc == -PW_E_NOTFOUND ? -PW_E_WAL : rc;
		}
		if (got != s) /* a segment of another size whose name matches: not this size */
			continue;
		p->segsize = s;
		pw_strlcpy(p->first_key, l->keys[i], sizeof p->first_key);
		return 0;
	}
	pw_error(PW_E_WAL,
	         "the WAL holding the base backup's start (%s on timeline %" PRIu32
	         ") is not stored",
	         lsn, tli);
	return pw_error_hint("Recovery replays the stored WAL from the base backup's start: take "
	                     "base backups while \"pgward wal-stream\" runs (\"pgward wal-list\" "
	                     "shows what is stored).");
}

struct tle {
	uint32_t tli;
	uint64_t begin, end; /* end: UINT64_MAX for the newest */
};
#define TLE_MAX 64

/* A history file: "<parent tli> <switch LSN> <reason>" lines, ascending, comments with #.
 * -PW_E_WAL when it is not one (it is signed: a bug or a forgery with a stolen key). */
static int parse_history(const char *key, const struct pw_buf *b, uint32_t tli, struct tle *t,
                         size_t *n)
{
	const char *p = (const char *)b->data, *end = p + b->len;
	*n = 0;
	uint64_t prev_end = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[256];
		if (len >= sizeof line)
			len = sizeof line - 1;
		memcpy(line, p, len);
		line[len] = 0;
		p = nl ? nl + 1 : end;
		char *s = pw_trim(line);
		if (!*s || *s == '#')
			continue;
		char *save = NULL, *a = strtok_r(s, " \t", &save),
		     *l = strtok_r(NULL, " \t", &save);
		uint64_t t1 = 0, lsn = 0;
		if (!a || !l || pw_parse_u64(a, &t1) < 0 || repl_lsn_parse(l, &lsn) < 0 ||
		    t1 == 0 || t1 >= tli || lsn < prev_end || *n >= TLE_MAX - 1 ||
		    (*n && t1 <= t[*n - 1].tli)) {
			pw_error_clear();
			pw_error(PW_E_WAL, "timeline history \"%s\" is malformed", key);
			return pw_error_hint("Do not follow it; recover on the base backup's "
			                     "timeline (--target-lsn before the switch).");
		}
		t[*n] = (struct tle){(uint32_t)t1, prev_end, lsn};
		prev_end = lsn;
		(*n)++;
	}
	t[*n] = (struct tle){tli, prev_end, UINT64_MAX};
	(*n)++;
	return 0;
}

static bool has_history(const struct wal_listing *l, uint32_t tli)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->o[i].kind == WAL_HISTORY && !l->o[i].signature && l->o[i].tli == tli)
			return true;
	return false;
}

/* The timelines from the base's to the newest one recovery follows, as PostgreSQL's
 * recovery_target_timeline = 'latest' finds it through wal-fetch: the highest N with the
 * history files of base+1 .. N all stored and checked (signed by a trusted-signer for this
 * stanza, object and timeline; decrypted to what was signed). A history file whose
 * signature does not check is never followed (wal-fetch answers "not stored" for it, so
 * PostgreSQL's probe stops before it): *ignored is its timeline (0: none). */
static int chain(struct stor *repo, const struct wal_listing *l, const struct manifest *base,
                 const struct repo_signers *signers, const struct age_identity *ids, size_t nids,
                 struct tle *t, size_t *n, uint32_t *ignored)
{
	uint32_t btli = base->physical.timeline, newest = btli;
	*ignored = 0;
	t[0] = (struct tle){btli, 0, UINT64_MAX};
	*n = 1;
	char key[WAL_KEY_MAX];
	struct pw_buf b = PW_BUF_INIT(1 << 20);
	int rc = 0;
	while (rc == 0 && newest < UINT32_MAX && has_history(l, newest + 1)) {
		pw_buf_reset(&b);
		rc = wal_key_history(l->stanza, newest + 1, key);
		if (rc == 0)
			rc = walobj_get(repo, l->stanza, key, newest + 1, signers, ids, nids, &b,
			                NULL, NULL);
		if (rc == -PW_E_SIGNATURE) {
			*ignored = newest + 1;
			pw_warn("timeline history \"%s\" is not followed: %s", key,
			        pw_error_message());
			pw_error_clear();
			rc = 0;
			break;
		}
		if (rc == -PW_E_NOTFOUND)
			rc = pw_error(PW_E_WAL, "timeline history \"%s\" vanished", key);
		if (rc == 0)
			rc = parse_history(key, &b, newest + 1, t, n);
		if (rc == 0)
			newest++;
	}
	pw_buf_free(&b, 1);
	if (rc < 0 || newest == btli)
		return rc;
	/* drop the timelines before the base's; the base must start on it before it ended */
	size_t k = 0;
	while (k < *n && t[k].tli != btli)
		k++;
	if (k == *n || base->physical.start_lsn >= t[k].end) {
		char a[24];
		repl_lsn_format(base->physical.start_lsn, a);
		pw_error(PW_E_WAL,
		         "the newest timeline %" PRIu32 " does not descend from the base backup "
		         "(timeline %" PRIu32 " at %s)",
		         newest, btli, a);
		return pw_error_hint("Give a base backup taken on timeline %" PRIu32 " or one of "
		                     "its ancestors before the switch (--backup ID).",
		                     newest);
	}
	memmove(t, t + k, (*n - k) * sizeof *t);
	*n -= k;
	return 0;
}

static const struct wal_coverage *cov_of(const struct wal_coverage *c, size_t n, uint32_t tli)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].tli == tli)
			return &c[i];
	return NULL;
}

/* The first point of [a, b) on this coverage that is not stored, or b when all of it is. */
static uint64_t first_missing(const struct wal_coverage *c, uint64_t a, uint64_t b)
{
	if (!c || c->from > a || c->to <= a)
		return a;
	uint64_t m = b;
	for (size_t g = 0; g < c->ngaps && g < WAL_GAPS_MAX; g++)
		if (c->gap[g].to > a && c->gap[g].from < m)
			m = c->gap[g].from > a ? c->gap[g].from : a;
	if (c->ngaps > WAL_GAPS_MAX) /* gaps not kept: be safe, nothing past the last kept */
		m = m < c->gap[WAL_GAPS_MAX - 1].to ? m : c->gap[WAL_GAPS_MAX - 1].to;
	return c->to < m ? c->to : m;
}

/* where the stored WAL resumes after a gap starting at m (or 0: never) */
static uint64_t resumes(const struct wal_coverage *c, uint64_t m)
{
	if (!c || m >= c->to)
		return 0;
	if (m < c->from)
		return c->from;
	for (size_t g = 0; g < c->ngaps && g < WAL_GAPS_MAX; g++)
		if (c->gap[g].from <= m && c->gap[g].to > m)
			return c->gap[g].to;
	return 0;
}

static int gap_error(const struct pitr_plan *p, uint32_t tli, uint64_t from, uint64_t to,
                     const struct pitr_target *t)
{
	char a[24], b[24], fa[25], fb[25];
	repl_lsn_format(from, a);
	wal_seg_name(tli, from / p->segsize, p->segsize, fa);
	if (to) {
		repl_lsn_format(to, b);
		wal_seg_name(tli, (to - 1) / p->segsize, p->segsize, fb);
		pw_error(PW_E_WAL,
		         "the stored WAL has a gap on timeline %" PRIu32
		         ": %s to %s is missing (objects %s to %s under %08" PRIX32 "/)",
		         tli, a, b, fa, fb, tli);
	} else {
		pw_error(PW_E_WAL,
		         "the stored WAL on timeline %" PRIu32
		         " ends at %s (object %s is missing) before the target",
		         tli, a, fa);
	}
	if (t->kind == PITR_LATEST || t->kind == PITR_LSN)
		return pw_error_hint("Recovery cannot pass a gap: recover to --target-lsn %s or "
		                     "before, or find the missing objects (\"pgward wal-list\").",
		                     a);
	return pw_error_hint("Recovery cannot pass a gap: recover to a target before %s, or "
	                     "find the missing objects (\"pgward wal-list\").",
	                     a);
}

/* --latest with a history file not followed: WAL (with its signature) stored on that
 * timeline or a later one is past what recovery reaches, so "the end" would be a shorter
 * recovery than the repository holds. */
static int latest_past_ignored(const struct wal_listing *l, uint32_t ignored, uint32_t from_tli)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct wal_obj *o = &l->o[i];
		if (o->signature || o->kind == WAL_HISTORY || o->tli < ignored ||
		    !wal_listing_signed(l, i))
			continue;
		char key[WAL_KEY_MAX];
		if (wal_key_history(l->stanza, ignored, key) < 0)
			return -PW_E_INTERNAL;
		pw_error(PW_E_WAL,
		         "the stored WAL goes on on timeline %" PRIu32 " (\"%s\"), but its history "
		         "\"%s\" is not followed: its signature does not check",
		         o->tli, l->keys[i], key);
		return pw_error_hint(
		    "Recovery follows only history files signed by a "
		    "trusted-signer: recover to a target on timeline %" PRIu32
		    " (--target-lsn), or restore the history file and its signature "
		    "from a trusted copy.",
		    from_tli);
	}
	return 0;
}

/* Every object recovery will replay, on the timeline that serves its segment (timeline k
 * serves the segments before its switch point's), up to the end of the reach: its
 * signature by a trusted-signer, naming it, for its length and segment size. Only the small
 * signature file is read; the object's bytes are checked by wal-fetch against it. So an
 * object put beside a copied or junk signature by someone who can write to the bucket
 * (the listing shows a signature there) is named here, before anything is written, not in
 * the middle of the recovery. For a target whose position is known (an LSN, the end) that
 * is an error; for a time, xid or name the recovery may stop before it: a warning. */
static int check_replayed(struct stor *repo, const char *stanza, const struct wal_listing *l,
                          const struct tle *tl, size_t nt, const struct pitr_plan *p,
                          const struct repo_signers *signers, const struct pitr_target *t)
{
	if (!signers || !signers->n || p->end <= p->from)
		return 0;
	uint64_t seg = p->from / p->segsize, last = (p->end - 1) / p->segsize;
	for (size_t k = 0; k < nt && seg <= last; k++) {
		uint64_t hi = k + 1 == nt ? last + 1 : tl[k].end / p->segsize;
		for (; seg < hi && seg <= last; seg++) {
			if (pw_interrupted())
				return pw_error(PW_E_INTERRUPTED, "interrupted by signal %d",
				                pw_interrupted());
			size_t i = wal_listing_find(l, tl[k].tli, seg, p->segsize);
			if (i == l->n)
				continue; /* a gap: judged by the coverage */
			const struct wal_obj *o = &l->o[i];
			struct wal_sig_info si;
			int rc =
			    walrepo_signed_info(repo, stanza, l->keys[i], tl[k].tli, signers, &si);
			if (rc == 0)
				rc = walrepo_sig_fits(o, l->keys[i], &si, p->segsize);
			if (rc == -PW_E_SIGNATURE || rc == -PW_E_WAL || rc == -PW_E_NOTFOUND) {
				if (t->kind == PITR_LSN || t->kind == PITR_LATEST) {
					pw_error_context("recovery would replay it");
					return pw_error_hint("Restore the object and its signature "
					                     "from a trusted copy, "
					                     "or recover to a target before it "
					                     "(--target-lsn); \"pgward "
					                     "verify\" names every such object.");
				}
				pw_warn("%s: recovery stops there if the target is after it",
				        pw_error_message());
				pw_error_clear();
				return 0;
			}
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int pitr_plan_make(struct stor *repo, const char *stanza, const struct manifest *base,
                   const struct pitr_target *t, const struct repo_signers *signers,
                   const struct age_identity *ids, size_t nids, struct pitr_plan *p)
{
	memset(p, 0, sizeof *p);
	struct wal_listing l;
	struct wal_coverage *cov = NULL;
	size_t nc = 0, nt = 0;
	struct tle tl[TLE_MAX];
	p->base_tli = base->physical.timeline;
	p->from = base->physical.start_lsn;
	int rc = wal_listing_load(repo, stanza, &l);
	if (rc == 0 && l.n == 0) {
		pw_error(PW_E_WAL, "stanza \"%s\" has no WAL in the repository", stanza);
		rc = pw_error_hint("Point-in-time recovery replays WAL that \"pgward wal-stream\" "
		                   "(or wal-push) stored; without a target, the base backup "
		                   "restores as of its end.");
	}
	if (rc == 0)
		rc = first_segment(repo, &l, base, signers, ids, nids, p);
	if (rc == 0)
		rc = wal_listing_coverage(&l, p->segsize, &cov, &nc);
	if (rc == 0)
		rc = chain(repo, &l, base, signers, ids, nids, tl, &nt, &p->ignored);
	/* walk the chain: segment s is read from the newest timeline that began at or before
	 * it (PostgreSQL's expectedTLEs), so timeline i serves [S(begin), S(end of i)) */
	uint64_t need = t->kind == PITR_LSN ? t->lsn + 1 : UINT64_MAX;
	uint64_t pos = p->from - p->from % (p->segsize ? p->segsize : 1);
	uint32_t end_tli = p->base_tli; /* the timeline p->end is on */
	for (size_t i = 0; rc == 0 && i < nt && pos < need; i++) {
		const struct wal_coverage *c = cov_of(cov, nc, tl[i].tli);
		bool last = i + 1 == nt;
		uint64_t hi = last ? need : tl[i].end - tl[i].end % p->segsize;
		if (hi > need)
			hi = need;
		p->target_tli = tl[i].tli;
		if (hi == UINT64_MAX) /* to the end: as far as this timeline is stored */
			hi = c && c->to > pos ? c->to : pos;
		if (hi <= pos)
			continue;
		uint64_t m = first_missing(c, pos, hi);
		p->end = m;
		end_tli = tl[i].tli;
		if (m == hi) {
			pos = hi;
			continue;
		}
		/* not stored from m on: a gap when WAL resumes after it (or a later timeline
		 * needs what follows), else the end of the stored WAL */
		uint64_t r = resumes(c, m);
		bool gap = r || !last;
		if (gap && (t->kind == PITR_LSN || t->kind == PITR_LATEST)) {
			rc = gap_error(p, tl[i].tli, m, r, t);
		} else if (gap && t->kind != PITR_TIME) { /* xid, name: the target may be before */
			char a[24];
			repl_lsn_format(m, a);
			pw_warn("the stored WAL has a gap at %s on timeline %" PRIu32
			        ": recovery stops there if the target is after it",
			        a, tl[i].tli);
		}
		break; /* a time target is judged by the stored times below */
	}
	if (rc == 0 && p->ignored && t->kind == PITR_LATEST)
		rc = latest_past_ignored(&l, p->ignored, p->target_tli);
	if (rc == 0 && t->kind == PITR_LSN && p->end <= t->lsn) {
		char a[24], b[24];
		repl_lsn_format(t->lsn, a);
		repl_lsn_format(p->end, b);
		pw_error(PW_E_WAL,
		         "the target %s is at or after the end of the stored WAL (%s on timeline "
		         "%" PRIu32 ")",
		         a, b, end_tli);
		rc = pw_error_hint("\"pgward wal-list\" shows the stored WAL; recover to a target "
		                   "before its end, or --latest.");
	}
	uint64_t per = p->segsize ? 0x100000000ULL / p->segsize : 0;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		const struct wal_obj *o = &l.o[i];
		if (o->signature || o->kind == WAL_HISTORY || o->seg >= per)
			continue;
		uint64_t start = segno_of(o, p->segsize) * p->segsize;
		bool on = false;
		for (size_t k = 0; k < nt && !on; k++)
			on = tl[k].tli == o->tli && start < p->end && start + p->segsize > p->from;
		if (on)
			p->objects++;
	}
	if (rc == 0)
		rc = check_replayed(repo, stanza, &l, tl, nt, p, signers, t);
	/* The bound of a time target: the time in the signature of the object that ends the
	 * WAL within reach (stored=, when pgward signed it), never the storage's object time,
	 * which anyone who can write to the bucket sets (and a copy changes). */
	if (rc == 0 && p->end > p->from) {
		size_t i = wal_listing_find(&l, end_tli, (p->end - 1) / p->segsize, p->segsize);
		struct wal_sig_info si;
		int c = i < l.n
		            ? walrepo_check(repo, stanza, l.keys[i], end_tli, signers, &si, NULL)
		            : pw_error(PW_E_WAL, "the WAL object that ends the stored WAL "
		                                 "vanished");
		if (c == 0)
			p->end_time = si.stored;
		else if (t->kind == PITR_TIME || t->kind == PITR_LATEST)
			rc = c; /* recovery replays it, or it bounds the target */
		else
			pw_best_effort("reading the signed time of the newest WAL");
	}
	if (rc == 0 && t->kind == PITR_TIME && !p->end_time) {
		pw_warn("the WAL that ends the stored WAL carries no signed time (stored before "
		        "pgward recorded it): whether it reaches %s shows only when recovery ends",
		        t->value);
	} else if (rc == 0 && t->kind == PITR_TIME && t->time > p->end_time) {
		char a[PW_TIME_MAX], b[24], g[24];
		pw_time_format(p->end_time, PW_TIME_ISO, a);
		repl_lsn_format(p->end, b);
		const struct wal_coverage *c = cov_of(cov, nc, end_tli);
		uint64_t r = resumes(c, p->end);
		if (r) {
			repl_lsn_format(r, g);
			pw_error(PW_E_WAL,
			         "the target %s is after the WAL reachable from the base backup: a "
			         "gap on timeline %" PRIu32 " from %s to %s (the WAL before it was "
			         "stored by %s)",
			         t->value, end_tli, b, g, a);
			rc = pw_error_hint(
			    "Recovery cannot pass a gap: recover to a time before %s, "
			    "or find the missing objects (\"pgward wal-list\").",
			    a);
		} else {
			pw_error(PW_E_WAL,
			         "the target %s is after the last durable WAL (%s on timeline "
			         "%" PRIu32 ", stored %s)",
			         t->value, b, end_tli, a);
			rc = pw_error_hint("Recover to a time before it, or to the end with "
			                   "--latest (a quiet database stores no new WAL: the end "
			                   "is its state now).");
		}
	}
	pw_free(cov);
	wal_listing_free(&l);
	return rc;
}

/* ---- restore_command ---- */

int pitr_restore_command(const char *const *argv, size_t argc, struct pw_buf *out)
{
	for (size_t i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i)
			pw_buf_putc(out, ' ');
		if (strcmp(a, "%f") == 0 || strcmp(a, "%p") == 0) {
			pw_buf_printf(out, "%s", a);
			continue;
		}
		pw_buf_putc(out, '\'');
		for (const char *p = a; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				char b[300];
				pw_error(PW_E_USAGE, "\"%s\" has a control character",
				         pw_str_printable(b, sizeof b, a));
				return pw_error_hint(
				    "restore_command cannot carry it: rename the file or "
				    "directory.");
			}
			if (*p == '\'')
				pw_buf_printf(out, "'\\''");
			else if (*p == '%')
				pw_buf_printf(out, "%%%%");
			else
				pw_buf_putc(out, *p);
		}
		pw_buf_putc(out, '\'');
	}
	if (out->len >= out->max)
		return pw_error(PW_E_LIMIT, "restore_command is too long");
	return 0;
}

/* ---- the settings ---- */

/* a value in postgresql.conf quotes: ' doubled, \ doubled (the parser unescapes \) */
static void conf_str(struct pw_buf *b, const char *name, const char *v)
{
	pw_buf_printf(b, "%s = '", name);
	for (const char *p = v; *p; p++) {
		if (*p == '\'' || *p == '\\')
			pw_buf_putc(b, *p);
		pw_buf_putc(b, *p);
	}
	pw_buf_printf(b, "'\n");
}

static int dir_io(const char *dir, const char *what)
{
	char b[600];
	pw_error(PW_E_IO, "cannot %s in \"%s\": %s", what, pw_str_printable(b, sizeof b, dir),
	         pw_strerror(errno));
	return pw_error_hint("\"%s\" holds a restored base backup without its recovery settings: "
	                     "remove it before trying again, and never start a server on it.",
	                     b);
}

/* a regular file of ours directly in the directory, opened for appending, or created */
static int open_conf(int dfd, const char *dir, const char *name, bool create, int *fd)
{
	*fd = openat(dfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT && create)
		*fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	if (*fd < 0)
		return dir_io(dir, name);
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		close(*fd);
		*fd = -1;
		pw_error(PW_E_INSECURE, "%s in the restored directory is not a plain file of ours",
		         name);
		return pw_error_hint("Something changed the directory during the restore; restore "
		                     "again into a new one.");
	}
	return 0;
}

static int write_file(int dfd, const char *dir, const char *name, bool create,
                      const struct pw_buf *b)
{
	int fd;
	int rc = open_conf(dfd, dir, name, create, &fd);
	if (rc < 0)
		return rc;
	rc = pw_write_all(fd, b->data, b->len, name);
	if (rc == 0 && fsync(fd) < 0)
		rc = dir_io(dir, name);
	if (close(fd) < 0 && rc == 0)
		rc = dir_io(dir, name);
	return rc;
}

int pitr_start_dir_check(const char *dir)
{
	/* the directory becomes unix_socket_directories: a line break would end the quoted
	 * value and start a line of its own, a comma or a quote would name another directory */
	for (const char *p = dir; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ',' || *p == '"') {
			char shown[600];
			pw_error(PW_E_USAGE, "restore --start cannot use \"%s\"",
			         pw_str_printable(shown, sizeof shown, dir));
			return pw_error_hint(
			    "Its name becomes the server's socket directory: restore "
			    "into a directory without control characters, commas or "
			    "double quotes.");
		}
	return 0;
}

int pitr_spool_path(const char *dir, char *out, size_t size)
{
	char *r = realpath(dir, NULL);
	if (!r)
		return dir_io(dir, "find the absolute path");
	int n = snprintf(out, size, "%s/pg_wal/" WALSPOOL_NAME, r);
	free(r);
	if (n < 0 || (size_t)n >= size)
		return pw_error(PW_E_LIMIT, "the data directory's path is too long");
	return 0;
}

int pitr_write_settings(const char *dir, const struct pitr_target *t, const char *restore_command,
                        int port)
{
	if (port > 0 && pitr_start_dir_check(dir) < 0)
		return -PW_E_USAGE;
	/* the prefetch spool, named explicitly (an absolute path: no guess from %p or the
	 * current directory); wal-fetch makes it, mode 0700, on first use */
	char spool[PATH_MAX + 64];
	struct pw_buf cmd = PW_BUF_INIT(16384);
	int rc = pitr_spool_path(dir, spool, sizeof spool);
	if (rc < 0)
		return rc;
	const char *sa[] = {"--wal-spool", spool};
	pw_buf_printf(&cmd, "%s ", restore_command);
	if (pitr_restore_command(sa, 2, &cmd) < 0) {
		/* a name restore_command cannot carry (a control character): no prefetch */
		pw_best_effort_warn("prefetching WAL into \"%s/pg_wal\"", dir);
		pw_buf_reset(&cmd);
		pw_buf_printf(&cmd, "%s", restore_command);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		pw_buf_free(&cmd, 0);
		return dir_io(dir, "open the directory");
	}
	struct pw_buf b = PW_BUF_INIT(64 * 1024);
	char when[PW_TIME_MAX];
	pw_buf_printf(&b,
	              "\n# pgward restore --type=physical, %s: point-in-time recovery (these "
	              "lines override the ones above)\n",
	              pw_time_format(pw_now(), PW_TIME_ISO, when));
	conf_str(&b, "restore_command", pw_buf_str(&cmd));
	pw_buf_free(&cmd, 0);
	/* one target only: a recovery_target_* of the source would make two */
	static const char *const targets[] = {"recovery_target", "recovery_target_lsn",
	                                      "recovery_target_name", "recovery_target_time",
	                                      "recovery_target_xid"};
	for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
		conf_str(&b, targets[i], "");
	if (t->kind >= PITR_TIME) {
		char name[40];
		snprintf(name, sizeof name, "recovery_target_%s", pitr_kind_name(t->kind));
		conf_str(&b, name, t->value);
		conf_str(&b, "recovery_target_inclusive", t->exclusive ? "off" : "on");
		conf_str(&b, "recovery_target_action", pitr_action_name(t->action));
	}
	conf_str(&b, "recovery_target_timeline", "latest");
	/* the source's shell commands stay behind: whoever could ALTER SYSTEM there must not
	 * run a command on the restore host as its user (recovery runs recovery_end_command) */
	conf_str(&b, "recovery_end_command", "");
	conf_str(&b, "archive_cleanup_command", "");
	if (port > 0) {
		pw_buf_printf(
		    &b,
		    "# restore --start: a drill on a socket here only (DIR is 0700: no other\n"
		    "# local user reaches it, whatever the source's pg_hba.conf allows)\n"
		    "port = %d\n",
		    port);
		conf_str(&b, "listen_addresses", "");
		conf_str(&b, "unix_socket_directories", dir);
		conf_str(&b, "archive_mode", "off");
		conf_str(&b, "ssl", "off");
		conf_str(&b, "hot_standby", "on");
		conf_str(&b, "logging_collector", "off");
		conf_str(&b, "log_destination", "stderr");
		conf_str(&b, "log_min_messages", "warning");
		conf_str(&b, "lc_messages", "C");
		/* pgward starts this server unattended: no library the source named (a path in
		 * the restored directory, which the source's superuser could write, is loaded) */
		conf_str(&b, "shared_preload_libraries", "");
		conf_str(&b, "session_preload_libraries", "");
		conf_str(&b, "local_preload_libraries", "");
		conf_str(&b, "dynamic_library_path", "$libdir");
		conf_str(&b, "jit", "off"); /* jit_provider is a path under $libdir, ".." and all */
		/* the postmaster would write its pid into any file of ours the source names */
		conf_str(&b, "external_pid_file", "");
	}
	rc = b.len < b.max ? 0 : pw_error(PW_E_LIMIT, "recovery settings too long");
	if (rc == 0)
		rc = write_file(dfd, dir, "postgresql.auto.conf", true, &b);
	if (rc == 0 && port > 0) {
		/* a data directory whose configuration lives elsewhere (Debian's /etc) */
		struct pw_buf c = PW_BUF_INIT(256);
		struct stat st;
		pw_buf_printf(&c, "# pgward restore --start: the source kept it elsewhere\n");
		if (fstatat(dfd, "postgresql.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT)
			rc = write_file(dfd, dir, "postgresql.conf", true, &c);
		pw_buf_printf(&c, "local all all peer\n");
		if (rc == 0 && fstatat(dfd, "pg_hba.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT)
			rc = write_file(dfd, dir, "pg_hba.conf", true, &c);
		pw_buf_free(&c, 0);
	}
	if (rc == 0) {
		int fd = openat(dfd, "recovery.signal",
		                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || fsync(fd) < 0)
			rc = dir_io(dir, "create recovery.signal");
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && fsync(dfd) < 0)
		rc = dir_io(dir, "sync");
	close(dfd);
	pw_buf_free(&b, 0);
	return rc;
}

/* ---- --start ---- */

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* the rest of the line from the first occurrence of what (sanitized), or "" */
static bool line_of(const char *log, const char *what, bool last, char *out, size_t size)
{
	const char *p = strstr(log, what), *q;
	if (!p) {
		out[0] = 0;
		return false;
	}
	while (last && (q = strstr(p + 1, what)) != NULL)
		p = q;
	size_t n = strcspn(p, "\n");
	char tmp[512];
	if (n >= sizeof tmp)
		n = sizeof tmp - 1;
	memcpy(tmp, p, n);
	tmp[n] = 0;
	pw_str_printable(out, size, tmp);
	return true;
}

static pid_t postmaster(const char *dir, bool *seen)
{
	char path[600], line[32] = "";
	snprintf(path, sizeof path, "%s/postmaster.pid", dir);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	uint64_t v;
	if (n <= 0)
		return 0;
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	if (pw_parse_u64(line, &v) < 0 || v < 2 || v > INT32_MAX) {
		pw_error_clear();
		return 0;
	}
	*seen = true;
	return kill((pid_t)v, 0) == 0 || errno == EPERM ? (pid_t)v : 0;
}

/* the server stopped before recovery ended: why, from its log */
static int stopped_error(const char *log, const char *logpath)
{
	char fetch[400], fatal[400], b[300];
	bool wf = line_of(log, "pgward: error:", false, fetch, sizeof fetch);
	bool fa = line_of(log, "FATAL:", false, fatal, sizeof fatal);
	pw_str_printable(b, sizeof b, logpath);
	if (wf) {
		pw_error(PW_E_RECOVERY_STOP, "recovery stopped: wal-fetch refused a WAL object: %s",
		         fetch + strlen("pgward: error: "));
		return pw_error_hint("The server stopped without reaching the target (%s); nothing "
		                     "was promoted. Restore again to a target before that object, "
		                     "or from a trusted copy of it.",
		                     b);
	}
	if (strstr(log, "recovery ended before configured recovery target was reached")) {
		pw_error(PW_E_WAL, "recovery ended before the target was reached");
		return pw_error_hint("The stored WAL ends before the target (%s): give an earlier "
		                     "target, or --latest.",
		                     b);
	}
	pw_error(PW_E_DB, "the restored server stopped during recovery%s%s", fa ? ": " : "",
	         fa ? fatal : "");
	return pw_error_hint("See its log, %s.", b);
}

int pitr_refuse_root(const char *what)
{
	if (geteuid() != 0)
		return 0;
	pw_error(PW_E_INSECURE, "%s does not run a server as root", what);
	return pw_error_hint("Run pgward as the user the server will run as (such as postgres, "
	                     "with runuser -u postgres --): its restore_command reads the "
	                     "identity and the repository as that user.");
}

int pitr_start_watch(const char *dir, int major, const struct pitr_target *t, int timeout,
                     struct pitr_reached *out)
{
	memset(out, 0, sizeof *out);
	char logpath[600];
	snprintf(logpath, sizeof logpath, "%s/pgward-recovery.log", dir);
	pw_strlcpy(out->log, logpath, sizeof out->log);
	double t0 = pw_monotonic();
	int rc = scratch_datadir_start(major, dir, logpath);
	if (rc < 0)
		return pw_error_context("starting the restored server");
	bool seen = false, done = false, shut = false;
	struct pw_buf b = PW_BUF_INIT(64u << 20);
	/* with a target, the action; without one (--latest, or none), PostgreSQL promotes */
	enum pitr_action act = t->kind >= PITR_TIME ? t->action : PITR_PROMOTE;
	while (rc == 0 && !done) {
		if (pw_interrupted()) {
			rc = pw_error(PW_E_INTERRUPTED, "interrupted by signal %d",
			              pw_interrupted());
			pw_error_hint("The restored server was stopped.");
			break;
		}
		pid_t pid = postmaster(dir, &seen);
		pw_buf_reset(&b);
		if (pw_read_file(logpath, &b) < 0)
			pw_error_clear();
		const char *log = pw_buf_str(&b);
		if (act == PITR_PROMOTE &&
		    strstr(log, "database system is ready to accept connections"))
			done = true;
		else if (act == PITR_PAUSE && strstr(log, "pausing at the end of recovery"))
			done = true;
		else if (act == PITR_SHUTDOWN && strstr(log, "shutdown at recovery target")) {
			shut = true;
			done = !pid && seen;
		}
		if (done) {
			line_of(log, "recovery stopping", true, out->stop, sizeof out->stop);
			line_of(log, "redo done at", true, out->redo, sizeof out->redo);
			line_of(log, "last completed transaction was", true, out->last,
			        sizeof out->last);
			pw_strlcpy(out->state,
			           act == PITR_PROMOTE ? "promoted"
			           : act == PITR_PAUSE ? "paused"
			                               : "shut down",
			           sizeof out->state);
			break;
		}
		if (!pid && (seen || pw_monotonic() - t0 > 30) && !shut) {
			/* gone (or never came): read the log once more, it may have just been written */
			nap(200);
			pw_buf_reset(&b);
			if (pw_read_file(logpath, &b) < 0)
				pw_error_clear();
			rc = stopped_error(pw_buf_str(&b), logpath);
			break;
		}
		if (pw_monotonic() - t0 > timeout) {
			char l[300];
			pw_error(PW_E_DB, "recovery did not finish within %d seconds", timeout);
			rc = pw_error_hint("The restored server was stopped; see its log, %s.",
			                   pw_str_printable(l, sizeof l, logpath));
			break;
		}
		nap(200);
	}
	pw_buf_free(&b, 0);
	out->seconds = pw_monotonic() - t0;
	if (rc < 0)
		scratch_datadir_stop(major, dir);
	/* recovery is over (reached, paused at its target, or stopped): no segment is asked
	 * for again, and the prefetched ones past the target would stay in pg_wal */
	char spool[PATH_MAX + 64];
	struct pw_error_saved e;
	pw_error_save(&e);
	if (pitr_spool_path(dir, spool, sizeof spool) < 0 || walspool_remove(spool, 60) < 0)
		pw_best_effort_warn("removing the prefetch spool");
	pw_error_restore(&e);
	return rc;
}
