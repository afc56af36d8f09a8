/* walrepo.c - a stanza's WAL objects as stored: listing, checks without a key. */
#include "repo/walrepo.h"

#include <inttypes.h>
#include <stdio.h>
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

static int sig_key(const char *key, char out[WAL_KEY_MAX + 16])
{
	int n = snprintf(out, WAL_KEY_MAX + 16, "%s" SIG_SUFFIX, key);
	return n < 0 || n >= WAL_KEY_MAX + 16 ? pw_error(PW_E_INTERNAL, "key too long") : 0;
}

static int buf_sink(void *arg, const uint8_t *p, size_t n)
{
	return pw_buf_append(arg, p, n);
}

static int get_capped(struct stor *repo, const char *key, struct pw_buf *out)
{
	return stor_get(repo, key, buf_sink, out);
}

int walrepo_fetch_signed(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                         const struct repo_signers *signers, uint64_t cap, struct pw_buf *ct,
                         struct wal_sig_info *si, bool *unsig)
{
	if (unsig)
		*unsig = false;
	memset(si, 0, sizeof *si);
	char skey[WAL_KEY_MAX + 16];
	int rc = sig_key(key, skey);
	if (rc < 0)
		return rc;
	struct stor_info info;
	rc = stor_stat(repo, key, &info);
	if (rc == -PW_E_NOTFOUND) {
		pw_error_clear();
		return -PW_E_NOTFOUND;
	}
	if (rc < 0)
		return rc;
	struct pw_buf sb = PW_BUF_INIT(MINISIGN_FILE_MAX);
	struct minisign_sig sig;
	const struct minisign_pubkey *pk = NULL;
	rc = get_capped(repo, skey, &sb);
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
		rc = minisign_sig_parse((const char *)sb.data, sb.len, &sig);
	for (size_t i = 0; rc == 0 && signers && i < signers->n && !pk; i++)
		if (memcmp(signers->k[i].keyid, sig.keyid, MINISIGN_KEYID_LEN) == 0)
			pk = &signers->k[i];
	if (rc == 0 && !pk) {
		char kid[17];
		minisign_keyid_hex(sig.keyid, kid);
		pw_error(PW_E_SIGNATURE,
		         "WAL object \"%s\" is signed by key %s, which is not a "
		         "trusted-signer",
		         key, kid);
		rc = pw_error_hint("Add the backup host's public key with trusted-signer, if you "
		                   "trust it.");
		goto out;
	}
	if (rc == 0)
		rc = wal_sig_comment_check(sig.trusted_comment, stanza, key, tli, si);
	if (rc == 0 && si->length > cap) {
		pw_error(PW_E_WAL, "WAL object \"%s\" claims %" PRIu64 " bytes, more than expected",
		         key, si->length);
		rc = pw_error_hint("Do not replay it; restore the object from a trusted copy.");
	}
	if (rc == 0)
		rc = get_capped(repo, key, ct);
	if (rc == 0 && (rc = minisign_verify(pk, &sig, ct->data, ct->len)) < 0) {
		pw_error_context("WAL object \"%s\" does not match its signature", key);
		pw_error_hint("The object was altered or replaced after it was signed. Do not "
		              "replay it; restore the object from a trusted copy.");
	}
out:
	pw_buf_free(&sb, 0);
	return rc;
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

int wal_listing_load(struct stor *repo, const char *stanza, struct wal_listing *l)
{
	memset(l, 0, sizeof *l);
	l->stanza = stanza;
	char prefix[128];
	int n = snprintf(prefix, sizeof prefix, "%s/" WAL_DIR "/", stanza);
	if (n < 0 || (size_t)n >= sizeof prefix)
		return pw_error(PW_E_INTERNAL, "stanza name too long");
	return stor_list(repo, prefix, collect, l);
}

void wal_listing_free(struct wal_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		pw_free(l->keys[i]);
	pw_free(l->keys);
	pw_free(l->o);
	memset(l, 0, sizeof *l);
}

static bool signed_listed(const struct wal_listing *l, size_t i)
{
	for (size_t k = 0; k < l->n; k++)
		if (l->o[k].signature && l->o[k].kind == l->o[i].kind &&
		    l->o[k].tli == l->o[i].tli && l->o[k].log == l->o[i].log &&
		    l->o[k].seg == l->o[i].seg && l->o[k].end == l->o[i].end)
			return true;
	return false;
}

size_t wal_listing_find(const struct wal_listing *l, uint32_t tli, uint64_t segno, uint32_t segsize)
{
	uint64_t per = 0x100000000ULL / segsize;
	size_t best = l->n;
	for (size_t i = 0; i < l->n; i++) {
		const struct wal_obj *o = &l->o[i];
		if (o->signature || o->kind == WAL_HISTORY || o->tli != tli ||
		    (uint64_t)o->log * per + o->seg != segno || !signed_listed(l, i))
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
