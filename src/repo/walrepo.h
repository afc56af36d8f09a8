/*
 * walrepo.h - a stanza's WAL objects as stored: the listing, the check of one object's
 * signature without any key (by a trusted-signer, naming this stanza, object and timeline,
 * matching the stored bytes), the segment size from a checked signature, coverage and the
 * recovery window with the window's end read from a checked signature (never from the
 * storage's object time). Used by verify, expire, list and check; wal-fetch decrypts on top
 * of the same check (jobs/walstream.c).
 */
#ifndef PW_REPO_WALREPO_H
#define PW_REPO_WALREPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "repo/trust.h"
#include "repo/wal.h"
#include "storage/storage.h"

/* PostgreSQL's WAL segment sizes: powers of two from 1 MiB to 1 GiB */
#define WAL_SEGSIZE_MIN (1u << 20)
#define WAL_SEGSIZE_MAX (1u << 30)
bool wal_segsize_valid(uint64_t v);

/* The key of an object's detached signature ("KEY.minisig"). */
#define WALREPO_SIG_KEY_MAX (WAL_KEY_MAX + 16)
int walrepo_sig_key(const char *key, char out[WALREPO_SIG_KEY_MAX]);
/* The stored bytes of key appended to out (capped by out->max: -PW_E_LIMIT beyond). */
int walrepo_get(struct stor *repo, const char *key, struct pw_buf *out);

/* The object's ciphertext into ct (capped by ct->max), once its signature is found, is by
 * one of signers, names this stanza, key and timeline, and matches the stored bytes; *si
 * from its trusted comment. cap: the most plaintext the comment may claim. *unsig (or
 * NULL) when the object exists without a signature. -PW_E_NOTFOUND (not recorded as a
 * failure) when the object does not exist; -PW_E_SIGNATURE or -PW_E_WAL (recorded,
 * naming the object) when a check fails. */
int walrepo_fetch_signed(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                         const struct repo_signers *signers, uint64_t cap, struct pw_buf *ct,
                         struct wal_sig_info *si, bool *unsig);
/* The signature of key alone (the object is not read): by one of signers, its trusted
 * comment's own signature valid and naming this stanza, key and timeline; *si from it (the
 * plaintext's length and SHA-256, as the signer vouched for them). A missing signature is
 * -PW_E_SIGNATURE. For a copy of the plaintext kept elsewhere (wal-fetch's prefetch
 * spool), checked against si before it is used. */
int walrepo_signed_info(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                        const struct repo_signers *signers, struct wal_sig_info *si);
/* A segment or partial object's checked signature (si) against what its name says: the
 * cluster's segment size, and the whole segment or the partial's end as its length; 0 or
 * -PW_E_WAL naming key. */
int walrepo_sig_fits(const struct wal_obj *o, const char *key, const struct wal_sig_info *si,
                     uint32_t segsize);
/* The same, the ciphertext discarded: a check with no key. */
int walrepo_check(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
                  const struct repo_signers *signers, struct wal_sig_info *si, bool *unsig);

struct wal_listing {
	const char *stanza;
	struct wal_obj *o;
	char **keys; /* o[i]'s key */
	size_t n, cap;
};
/* Every WAL object name of stanza, in the storage's key order (an object right before its
 * signature); names that are not WAL object names are left out. */
int wal_listing_load(struct stor *repo, const char *stanza, struct wal_listing *l);
void wal_listing_free(struct wal_listing *l);
/* o[i]'s signature is listed (the next key is "<key>.minisig"); nothing is checked. */
bool wal_listing_signed(const struct wal_listing *l, size_t i);
/* Into out (room for l->n): the signatures and the objects listed with their signature
 * beside them, in order; their count. An object alone (written, its signature not yet, or
 * a crash between the two) is not durable: wal-fetch refuses it. */
size_t wal_listing_durable(const struct wal_listing *l, struct wal_obj *out);
/* The coverage of what is durable (wal_listing_durable: each object with its signature
 * listed beside it; the signatures themselves are checked where an object is read). The
 * one coverage the readers of a listing use (list, check, restore's pre-check, wal-list,
 * wal-stream's resume point): an object alone (a crash between the two writes, or put
 * there by someone who can write to the bucket) never counts as stored WAL. */
int wal_listing_coverage(const struct wal_listing *l, uint32_t segsize, struct wal_coverage **out,
                         size_t *nout);
/* The index of the object that serves segment segno of tli: the segment, else the largest
 * partial, each only with its signature listed; l->n when there is none. */
size_t wal_listing_find(const struct wal_listing *l, uint32_t tli, uint64_t segno,
                        uint32_t segsize);
/* The segment size from the first of a few objects whose signature checks (the smallest
 * partial first: least to download); 0 when none does (their problems, when problems is
 * not NULL, appended as {"object", "problem"}). */
uint32_t wal_listing_segsize(struct stor *repo, const struct wal_listing *l,
                             const struct repo_signers *signers, json_t *problems);

/* A physical base backup's WAL, with no key: continuous from its start LSN to its stop LSN
 * (else it cannot be restored) and on to the end of the stored WAL (else recovery from it
 * stops at a gap), each object that would be replayed (segment, or the largest partial;
 * history files of later timelines) checked against signers (NULL or none: presence
 * only). Facts into summary (timeline, from_segment, reaches, objects_checked, consistent,
 * reaches_end); each problem appended to problems as {"object", "problem"}, naming the
 * missing segment for a gap. Returns 0 (problems are not errors) or a storage error. */
int walrepo_check_base(struct stor *repo, const struct wal_listing *l, uint32_t segsize,
                       const struct repo_signers *signers, const struct wal_base *b,
                       json_t *summary, json_t *problems);

/* The signed time of the object that ends the newest timeline's coverage (0: none checks,
 * or it was written before the time was signed). */
time_t walrepo_end_time(struct stor *repo, const struct wal_listing *l, uint32_t segsize,
                        const struct wal_coverage *cov, size_t nc,
                        const struct repo_signers *signers);

#endif
