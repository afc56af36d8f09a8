/*
 * expire.h - the deleting half of retention (which backups are kept is decided by
 * repo/retention.h over the catalog). Backups the plan does not keep are removed, and
 * stale incomplete uploads aborted. A backup's manifest goes
 * last, so an interrupted expire leaves an incomplete backup, never a manifest without
 * data. Objects still under Object Lock are reported and left for a later run.
 */
#ifndef PW_JOBS_EXPIRE_H
#define PW_JOBS_EXPIRE_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "repo/retention.h"
#include "repo/trust.h"
#include "storage/storage.h"

struct expire_opts {
	struct stor *repo;
	const char *stanza;
	struct retention r;
	time_t now;
	bool dry_run;
	/* Only genuine backups count toward retention: signed by one of these keys (any
	 * signature state with allow_unsigned), every object present with its recorded size,
	 * the start time consistent with the id and not in the future. The rest are reported
	 * and removed like incomplete backups after the grace period (by storage time). */
	const struct repo_signers *signers;
	bool allow_unsigned;
};

/* Fills *report (caller frees): per backup, the decision and the reasons. */
int expire_run(const struct expire_opts *o, json_t **report);
/* Append a pin or unpin marker (append-only), signed when sk is given (<marker>.minisig,
 * written first). A pin keeps the backup; an unpin cancels it only when signed by a
 * trusted-signer key (catalog.h). */
int expire_pin(struct stor *repo, const char *stanza, const char *id, bool pin, time_t now,
               const struct minisign_seckey *sk);

#endif
