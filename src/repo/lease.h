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
 */
#ifndef PW_REPO_LEASE_H
#define PW_REPO_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "storage/storage.h"

#define REPO_LEASE_SECONDS (6 * 3600)
#define REPO_LEASE_KEY_MAX 200
#define REPO_LEASE_MACHINE_MAX 96

struct repo_lease {
	char claim[REPO_LEASE_KEY_MAX];
	char release[REPO_LEASE_KEY_MAX];
	bool held;
};

/* Take the lease of stanza's verifications and expiries ("what" names the job in the
 * claim). Another live claim: -PW_E_STORAGE ("another verify or expire of stanza ... is
 * running on HOST since T") and *elsewhere set. */
int repo_lease_take(struct stor *s, const char *stanza, const char *what, time_t now,
                    struct repo_lease *l, bool *elsewhere);
/* This machine as a claim names it: the kernel's boot id and the process namespace
 * ("<boot_id>/pid:[<inode>]"), where a process id means the same process; "" when either
 * cannot be read (then no claim is ever taken for one of a dead process of ours). */
void repo_lease_machine(char *out, size_t size);
/* Write the release (best effort: a failure is a warning; the lease then ends by time). */
void repo_lease_release(struct stor *s, struct repo_lease *l);
/* Remove claims and releases whose lease ended more than a day before now (needs delete
 * rights; failures are warnings). */
void repo_lease_gc(struct stor *s, const char *stanza, time_t now);
#endif
