/*
 * lease.h - one verification or expiry of a stanza at a time, across hosts, with nothing but
 * the repository: the hosts that verify and expire usually cannot reach the source database
 * (the key-holding host of the two-host split), so the backup's advisory lock is not theirs.
 *
 * A job writes a claim object of its own (a new name: no overwrite, no delete needed, so an
 * append-only credential can take part), then lists the claims: if any other live claim is
 * there, it loses (writes a release for its own claim and reports "running elsewhere"); if
 * none, it holds the lease until it writes its release. With a storage whose listing shows
 * every write that finished before it (AWS S3 since 2020, Ceph RGW in one zone, a local
 * directory), two jobs can never both hold it: of two claims, the one written second is
 * listed by its writer together with the first. Both may lose (each sees the other): then
 * both are skipped and run at their next slot. No create-if-absent is needed.
 *
 *   <stanza>/lock/maintenance/claim-<until>-<nonce>.json
 *       {"host","machine","pid","started","until"}
 *   <stanza>/lock/maintenance/release-<until>-<nonce>.json  the claim is over
 *
 * A claim is live until the release of its nonce exists, or its lease ends (at `until` in
 * its name, and never later than REPO_LEASE_SECONDS after the storage's own time of the
 * object: a forged far-future claim holds at most that long), or (same machine only: the
 * same kernel boot and process namespace, "machine"; a host name alone is not unique, two
 * VMs cloned from one image share it) its process is gone. Claims and releases are removed by expire (repo_lease_gc) a day after
 * their lease ended.
 *
 * Signed claims: a job with a signing key writes <name>.minisig before each claim and
 * release (repo_sign_object: the trusted comment names the file, so the lease's end and
 * nonce, and the stanza). A job that trusts keys (trusted-signer, plus its own signing
 * key's public half) counts only claims and releases signed by one of them: whoever can
 * write the repository but holds no trusted key (a stolen bucket credential) can neither
 * block the stanza's verifications and expiries nor end another host's lease. A job that
 * trusts no key at all counts every claim, as above (up to REPO_LEASE_SECONDS each).
 */
#ifndef PW_REPO_LEASE_H
#define PW_REPO_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "repo/trust.h"
#include "storage/storage.h"

#define REPO_LEASE_SECONDS (6 * 3600)
/* objects of the lease directory read from a listing; more are cut (a flood of forged claims) */
#define REPO_LEASE_LIST_MAX 8192
#define REPO_LEASE_KEY_MAX 200
#define REPO_LEASE_MACHINE_MAX 96

struct repo_lease {
	char claim[REPO_LEASE_KEY_MAX];
	char release[REPO_LEASE_KEY_MAX];
	char stanza[64];
	const struct minisign_seckey *sign_key; /* borrowed until the release */
	bool held;
};

struct repo_lease_keys {
	/* signs this job's claim and release; NULL: they are unsigned (and do not count at a
	 * host that trusts keys) */
	const struct minisign_seckey *sign_key;
	/* count only claims and releases signed by one of these or by sign_key; NULL or none
	 * and no sign_key: every claim counts (bounded in time only) */
	const struct repo_signers *trusted;
};

/* Take the lease of stanza's verifications and expiries ("what" names the job in the
 * claim). Another live claim: -PW_E_STORAGE ("another verify or expire of stanza ... is
 * running on HOST since T") and *elsewhere set. Claims ignored because they are not signed
 * by a trusted key are named in one warning. k->sign_key must outlive the release. */
int repo_lease_take(struct stor *s, const char *stanza, const char *what, time_t now,
                    const struct repo_lease_keys *k, struct repo_lease *l, bool *elsewhere);
/* This machine as a claim names it: the kernel's boot id and the process namespace
 * ("<boot_id>/pid:[<inode>]"), where a process id means the same process; "" when either
 * cannot be read (then no claim is ever taken for one of a dead process of ours). */
void repo_lease_machine(char *out, size_t size);
/* Write the release (best effort: a failure is a warning; the lease then ends by time). */
void repo_lease_release(struct stor *s, struct repo_lease *l);
/* Remove claims and releases (and their signatures) whose lease ended more than a day before now (needs delete
 * rights; failures are warnings). */
void repo_lease_gc(struct stor *s, const char *stanza, time_t now);
#endif
