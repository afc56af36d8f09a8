/* walrepo.c - a stanza's WAL objects as stored: listing, checks without a key. */
#include "repo/walrepo.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/minisign.h"

#define SIG_SUFFIX ".minisig"

bool wal_segsize_valid(uint64_t v)
{
	return v >= WAL_SEGSIZE_MIN && v <= WAL_SEGSIZE_MAX && !(v & (v - 1));
}

int walrepo_sig_key(const char *key, char out[WALREPO_SIG_KEY_MAX])
{
	int n = snprintf(out, WALREPO_SIG_KEY_MAX, "%s" SIG_SUFFIX, key);
	return n < 0 || n >= WALREPO_SIG_KEY_MAX ? pw_error(PW_E_INTERNAL, "key too long") : 0;
}

static int buf_sink(void *arg, const uint8_t *p, size_t n)
{
	return pw_buf_append(arg, p, n);
}

int walrepo_get(struct stor *repo, const char *key, struct pw_buf *out)
{
	return stor_get(repo, key, buf_sink, out);
}

/* key's signature: read, by one of signers, its trusted comment valid and naming stanza,
 * key and tli (*si); *pk the signer. The object itself is not read. */
static int read_sig(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                    const struct repo_signers *signers, uint64_t cap, struct minisign_sig *sig,
                    const struct minisign_pubkey **pk, struct wal_sig_info *si, bool *unsig)
{
	char skey[WAL_KEY_MAX + 16];
	*pk = NULL;
	int rc = walrepo_sig_key(key, skey);
	if (rc < 0)
		return rc;
	struct pw_buf sb = PW_BUF_INIT(MINISIGN_FILE_MAX);
	rc = walrepo_get(repo, skey, &sb);
	if (rc == -PW_E_NOTFOUND) {
		pw_error_clear();
		if (unsig)
			*unsig = true;
		pw_error(PW_E_SIGNATURE, "WAL object \"%s\" is unsigned", key);
		rc = pw_error_hint("Recovery replays only WAL signed by a trusted-signer: WAL "
		                   "replay runs on the data. Find where the object came from.");
		goto out;
	}
	if (rc == 0)
		rc = minisign_sig_parse((const char *)sb.data, sb.len, sig);
	for (size_t i = 0; rc == 0 && signers && i < signers->n && !*pk; i++)
		if (memcmp(signers->k[i].keyid, sig->keyid, MINISIGN_KEYID_LEN) == 0)
			*pk = &signers->k[i];
	if (rc == 0 && !*pk) {
		char kid[17];
		minisign_keyid_hex(sig->keyid, kid);
		pw_error(PW_E_SIGNATURE,
		         "WAL object \"%s\" is signed by key %s, which is not a "
		         "trusted-signer",
		         key, kid);
		rc = pw_error_hint("Add the backup host's public key with trusted-signer, if you "
		                   "trust it.");
		goto out;
	}
	if (rc == 0)
		rc = wal_sig_comment_check(sig->trusted_comment, stanza, key, tli, si);
	if (rc == 0 && si->length > cap) {
		pw_error(PW_E_WAL, "WAL object \"%s\" claims %" PRIu64 " bytes, more than expected",
		         key, si->length);
		rc = pw_error_hint("Do not replay it; restore the object from a trusted copy.");
	}
out:
	pw_buf_free(&sb, 0);
	return rc;
}

int walrepo_fetch_signed(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                         const struct repo_signers *signers, uint64_t cap, struct pw_buf *ct,
                         struct wal_sig_info *si, bool *unsig)
{
	if (unsig)
		*unsig = false;
	memset(si, 0, sizeof *si);
	struct stor_info info;
	int rc = stor_stat(repo, key, &info);
	if (rc == -PW_E_NOTFOUND) {
		pw_error_clear();
		return -PW_E_NOTFOUND;
	}
	if (rc < 0)
		return rc;
	struct minisign_sig sig;
	const struct minisign_pubkey *pk = NULL;
	rc = read_sig(repo, stanza, key, tli, signers, cap, &sig, &pk, si, unsig);
	/* the object's size is known from the listing (within the cap): one allocation */
	if (rc == 0 && info.size <= ct->max)
		rc = pw_buf_reserve(ct, (size_t)info.size);
	if (rc == 0)
		rc = walrepo_get(repo, key, ct);
	if (rc == 0 && (rc = minisign_verify(pk, &sig, ct->data, ct->len)) < 0) {
		pw_error_context("WAL object \"%s\" does not match its signature", key);
		pw_error_hint("The object was altered or replaced after it was signed. Do not "
		              "replay it; restore the object from a trusted copy.");
	}
	return rc;
}

int walrepo_signed_info(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                        const struct repo_signers *signers, struct wal_sig_info *si)
{
	memset(si, 0, sizeof *si);
	struct minisign_sig sig;
	const struct minisign_pubkey *pk = NULL;
	int rc = read_sig(repo, stanza, key, tli, signers, WAL_SEGSIZE_MAX, &sig, &pk, si, NULL);
	if (rc == 0 && (rc = minisign_verify_comment(pk, &sig)) < 0)
		pw_error_context("WAL object \"%s\"", key);
	return rc;
}

int walrepo_sig_fits(const struct wal_obj *o, const char *key, const struct wal_sig_info *si,
                     uint32_t segsize)
{
	if (o->kind == WAL_HISTORY ||
	    (si->segsize == segsize &&
	     si->length == (o->kind == WAL_SEGMENT ? (uint64_t)segsize : o->end)))
		return 0;
	return pw_error(PW_E_WAL, "WAL object \"%s\" is signed for another length or segment size",
	                key);
}

int walrepo_check(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                  const struct repo_signers *signers, struct wal_sig_info *si, bool *unsig)
{
	/* a WAL object is at most a segment compressed and encrypted (plus framing) */
	struct pw_buf ct = PW_BUF_INIT((size_t)WAL_SEGSIZE_MAX + WAL_SEGSIZE_MAX / 8);
	int rc =
	    walrepo_fetch_signed(repo, stanza, key, tli, signers, WAL_SEGSIZE_MAX, &ct, si, unsig);
	pw_buf_free(&ct, 0);
	return rc;
}

/* ---- listing ---- */

static int collect(void *arg, const struct stor_info *info)
{
	struct wal_listing *l = arg;
	struct wal_obj o;
	if (wal_key_parse(l->stanza, info->key, &o) != 0)
		return 0; /* not a WAL object name: never ours */
	if (l->n == l->cap) {
		if (l->cap >= 4u << 20) {
			pw_error(PW_E_LIMIT, "more than 4 million WAL objects");
			return pw_error_hint("Expire old WAL (fewer physical backups kept).");
		}
		l->cap = l->cap ? l->cap * 2 : 256;
		l->o = pw_realloc(l->o, l->cap * sizeof *l->o);
		l->keys = pw_realloc(l->keys, l->cap * sizeof *l->keys);
	}
	l->o[l->n] = o;
	l->keys[l->n++] = pw_strdup(info->key);
	return 0;
}

struct keyed {
	char *key;
	struct wal_obj o;
};

static int keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

int wal_listing_load(struct stor *repo, const char *stanza, struct wal_listing *l)
{
	memset(l, 0, sizeof *l);
	l->stanza = stanza;
	char prefix[128];
	int n = snprintf(prefix, sizeof prefix, "%s/" WAL_DIR "/", stanza);
	if (n < 0 || (size_t)n >= sizeof prefix)
		return pw_error(PW_E_INTERNAL, "stanza name too long");
	int rc = stor_list(repo, prefix, collect, l);
	/* key order, whatever the storage's: an object is right before its signature, and a
	 * segment's objects are together */
	struct keyed *k = pw_calloc(l->n ? l->n : 1, sizeof *k);
	for (size_t i = 0; i < l->n; i++)
		k[i] = (struct keyed){l->keys[i], l->o[i]};
	qsort(k, l->n, sizeof *k, keyed_cmp);
	for (size_t i = 0; i < l->n; i++) {
		l->keys[i] = k[i].key;
		l->o[i] = k[i].o;
	}
	pw_free(k);
	return rc;
}

void wal_listing_free(struct wal_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		pw_free(l->keys[i]);
	pw_free(l->keys);
	pw_free(l->o);
	memset(l, 0, sizeof *l);
}

bool wal_listing_signed(const struct wal_listing *l, size_t i)
{
	size_t kl = strlen(l->keys[i]);
	return i + 1 < l->n && l->o[i + 1].signature && strlen(l->keys[i + 1]) == kl + 8 &&
	       strncmp(l->keys[i + 1], l->keys[i], kl) == 0;
}

size_t wal_listing_durable(const struct wal_listing *l, struct wal_obj *out)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->o[i].signature || wal_listing_signed(l, i))
			out[n++] = l->o[i];
	return n;
}

int wal_listing_coverage(const struct wal_listing *l, uint32_t segsize, struct wal_coverage **out,
                         size_t *nout)
{
	struct wal_obj *d = pw_calloc(l->n ? l->n : 1, sizeof *d);
	size_t nd = wal_listing_durable(l, d);
	int rc = wal_coverage(d, nd, segsize, out, nout);
	pw_free(d);
	return rc;
}

size_t wal_listing_find(const struct wal_listing *l, uint32_t tli, uint64_t segno, uint32_t segsize)
{
	char prefix[WAL_KEY_MAX], name[25];
	wal_seg_name(tli, segno, segsize, name);
	int n = snprintf(prefix, sizeof prefix, "%s/" WAL_DIR "/%08" PRIX32 "/%s", l->stanza, tli,
	                 name);
	if (n < 0 || (size_t)n >= sizeof prefix)
		return l->n;
	size_t lo = 0, hi = l->n; /* the first key >= prefix */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(l->keys[mid], prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t best = l->n;
	for (size_t i = lo; i < l->n && pw_startswith(l->keys[i], prefix); i++) {
		const struct wal_obj *o = &l->o[i];
		if (o->signature || o->kind == WAL_HISTORY || o->tli != tli ||
		    !wal_listing_signed(l, i))
			continue;
		if (o->kind == WAL_SEGMENT)
			return i;
		if (o->end <= segsize && (best == l->n || o->end > l->o[best].end))
			best = i;
	}
	return best;
}

uint32_t wal_listing_segsize(struct stor *repo, const struct wal_listing *l,
                             const struct repo_signers *signers, json_t *problems)
{
	size_t order[8], no = 0, best = l->n;
	for (size_t i = 0; i < l->n; i++) {
		const struct wal_obj *w = &l->o[i];
		if (!w->signature && w->kind == WAL_PARTIAL &&
		    (best == l->n || w->end < l->o[best].end))
			best = i;
	}
	if (best < l->n)
		order[no++] = best;
	for (size_t i = 0; i < l->n && no < 8; i++)
		if (!l->o[i].signature && l->o[i].kind == WAL_SEGMENT)
			order[no++] = i;
	for (size_t k = 0; k < no; k++) {
		struct wal_sig_info si;
		const char *key = l->keys[order[k]];
		int rc =
		    walrepo_check(repo, l->stanza, key, l->o[order[k]].tli, signers, &si, NULL);
		if (rc == 0 && wal_segsize_valid(si.segsize))
			return si.segsize;
		if (rc == 0)
			pw_error(PW_E_WAL, "WAL object \"%s\" names no valid segment size", key);
		if (problems) {
			json_t *x = json_object();
			json_object_set_new(x, "object", json_string(key));
			json_object_set_new(x, "problem", json_string(pw_error_message()));
			json_array_append_new(problems, x);
		}
		pw_best_effort("reading the segment size from \"%s\"", key);
	}
	return 0;
}

/* ---- a base backup's WAL ---- */

static void wal_problem(json_t *problems, const char *object, const char *fmt, ...) PW_PRINTF(3, 4);
static void wal_problem(json_t *problems, const char *object, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *x = json_object();
	json_object_set_new(x, "object", json_string(object));
	json_object_set_new(x, "problem", json_string(msg));
	json_array_append_new(problems, x);
}

/* What a gap at lsn of tli is when the listing holds an object for that segment with no
 * signature beside it (it was not counted as stored). */
static const char *gap_note(const struct wal_listing *l, uint32_t tli, uint64_t lsn,
                            uint32_t segsize)
{
	uint64_t per = 0x100000000ULL / segsize, segno = lsn / segsize;
	for (size_t i = 0; i < l->n; i++) {
		const struct wal_obj *o = &l->o[i];
		if (!o->signature && o->kind != WAL_HISTORY && o->tli == tli &&
		    (uint64_t)o->log * per + o->seg == segno && !wal_listing_signed(l, i))
			return " (an object of it is stored without its signature, which recovery "
			       "refuses)";
	}
	return "";
}

int walrepo_check_base(struct stor *repo, const struct wal_listing *l, uint32_t segsize,
                       const struct repo_signers *signers, const struct wal_base *b,
                       json_t *summary, json_t *problems)
{
	struct wal_coverage *cov = NULL;
	size_t nc = 0;
	int rc = wal_listing_coverage(l, segsize, &cov, &nc);
	if (rc < 0)
		return rc;
	struct wal_reach r;
	wal_reach(cov, nc, b, &r);
	char first[25], miss[25], a[24], z[24];
	wal_seg_name(b->tli, b->start_lsn / segsize, segsize, first);
	wal_seg_name(r.tli, r.lsn / segsize, segsize, miss);
	snprintf(a, sizeof a, "%X/%X", (unsigned)(r.lsn >> 32), (unsigned)r.lsn);
	snprintf(z, sizeof z, "%X/%X", (unsigned)(b->stop_lsn >> 32), (unsigned)b->stop_lsn);
	json_object_set_new(summary, "timeline", json_integer(b->tli));
	json_object_set_new(summary, "from_segment", json_string(first));
	json_object_set_new(summary, "reaches_timeline", json_integer(r.tli));
	json_object_set_new(summary, "reaches_lsn", json_string(a));
	json_object_set_new(summary, "consistent", json_boolean(r.consistent));
	json_object_set_new(summary, "reaches_end", json_boolean(r.to_end));
	/* no WAL from its start on at all: the backup holds the WAL it needs (BASE_BACKUP
	 * WAL true) and wal-fetch answers "not there", so it restores to its end, no further */
	bool later = false;
	for (size_t i = 0; i < nc; i++)
		later |= (cov[i].tli == b->tli && cov[i].to > b->start_lsn) || cov[i].tli > b->tli;
	if (!later && r.lsn == b->start_lsn) {
		json_object_set_new(
		    summary, "note",
		    json_string("no WAL is stored from this backup on: it restores "
		                "to its end, with no point-in-time recovery after"));
		json_object_set_new(summary, "objects_checked", json_integer(0));
		pw_free(cov);
		return 0;
	}
	if (!r.consistent)
		wal_problem(
		    problems, miss,
		    "WAL segment %s is missing%s: the backup needs its WAL up to %s (its stop "
		    "LSN) to be restored, and it is stored only up to %s",
		    miss, gap_note(l, r.tli, r.lsn, segsize), z, a);
	else if (r.unknown)
		wal_problem(
		    problems, miss,
		    "the stored WAL has more gaps than are counted; after %s it is not known "
		    "to be continuous",
		    a);
	else if (!r.to_end)
		wal_problem(problems, miss,
		            "WAL segment %s is missing%s: recovery from this backup stops at %s, "
		            "before the end of the stored WAL (a gap)",
		            miss, gap_note(l, r.tli, r.lsn, segsize), a);
	/* every object recovery would replay from the start segment on */
	size_t checked = 0;
	uint64_t per = 0x100000000ULL / segsize, s0 = b->start_lsn / segsize;
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		const struct wal_obj *o = &l->o[i];
		if (o->signature || o->tli < b->tli)
			continue;
		if (o->kind == WAL_HISTORY && o->tli == b->tli)
			continue; /* its own history: not read when recovery starts on it */
		uint64_t segno = (uint64_t)o->log * per + o->seg;
		if (o->kind != WAL_HISTORY) {
			if (o->tli == b->tli && segno < s0)
				continue;
			if (wal_listing_find(l, o->tli, segno, segsize) != i)
				continue; /* not the object that serves its segment */
		}
		if (!signers || !signers->n)
			continue;
		struct wal_sig_info si;
		int c = walrepo_check(repo, l->stanza, l->keys[i], o->tli, signers, &si, NULL);
		if (c == 0)
			c = walrepo_sig_fits(o, l->keys[i], &si, segsize);
		if (c == -PW_E_SIGNATURE || c == -PW_E_WAL || c == -PW_E_NOTFOUND) {
			wal_problem(problems, l->keys[i], "%s",
			            c == -PW_E_NOTFOUND ? "vanished while checking it"
			                                : pw_error_message());
			pw_error_clear();
			continue;
		}
		if (c < 0)
			rc = c;
		else
			checked++;
	}
	json_object_set_new(summary, "objects_checked", json_integer((json_int_t)checked));
	json_object_set_new(summary, "signatures_checked", json_boolean(signers && signers->n));
	pw_free(cov);
	return rc;
}

time_t walrepo_end_time(struct stor *repo, const struct wal_listing *l, uint32_t segsize,
                        const struct wal_coverage *cov, size_t nc,
                        const struct repo_signers *signers)
{
	if (!nc || !signers || !signers->n)
		return 0;
	const struct wal_coverage *last = &cov[0];
	for (size_t i = 1; i < nc; i++)
		if (cov[i].tli > last->tli)
			last = &cov[i];
	if (last->to == 0)
		return 0;
	size_t i = wal_listing_find(l, last->tli, (last->to - 1) / segsize, segsize);
	struct wal_sig_info si;
	if (i == l->n ||
	    walrepo_check(repo, l->stanza, l->keys[i], last->tli, signers, &si, NULL) < 0) {
		pw_best_effort("reading the time of the newest WAL");
		return 0;
	}
	return si.stored;
}
