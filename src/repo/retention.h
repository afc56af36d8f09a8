/*
 * retention.h - which backups a stanza keeps: a pure function over the catalog (no
 * storage calls; the expire job does the deleting, check reads the same plan).
 *
 * A complete backup counts toward retention only when it is genuine: signed by a
 * trusted-signer (any signature state with allow_unsigned), its manifest names this stanza
 * and id, its start time matches its id and is not in the future, and every object the
 * manifest names is listed with its recorded size. A genuine backup is kept if any rule
 * keeps it: younger than retention-days, among the newest retention-min, the newest of each
 * of the last N days/weeks/months/years (GFS), pinned, or younger than the keep of one of
 * its tags (the signed manifest's tags[]: a tag only ever adds to the keep set). Everything else is aged by the
 * storage's time and removed after the grace period, except what is evidence: a backup
 * signed by a trusted key and altered since, a signature next to a manifest that is missing
 * or damaged (kept for investigation), and a manifest in a newer format (never judged by
 * an older pgward).
 */
#ifndef PW_REPO_RETENTION_H
#define PW_REPO_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "repo/catalog.h"
#include "repo/trust.h"

struct retention {
	int days, min, daily, weekly, monthly, yearly;
	long grace_seconds;
};

enum retention_class {
	RET_INCOMPLETE,  /* no manifest, a damaged one, or one in a newer format */
	RET_NOT_GENUINE, /* a manifest that decodes, but the backup is not genuine */
	RET_GENUINE,
};

#define RETENTION_REASONS_MAX 8

struct retention_item {
	const struct backup_entry *e;
	enum retention_class cls;
	bool keep;
	bool evidence;    /* kept for investigation (never removed by expire) */
	time_t t;         /* the start time retention went by */
	bool locked;      /* its manifest records an object lock that has not ended: removing
	                   * it fails until then (expire reports it as retained) */
	char reason[320]; /* INCOMPLETE and NOT_GENUINE: why, and the decision */
	char reasons[RETENTION_REASONS_MAX][96]; /* GENUINE: every rule that keeps it */
	size_t nreasons;
};

struct retention_opts {
	const char *stanza;
	struct retention r;
	time_t now;
	const struct repo_signers *signers;
	bool allow_unsigned;
};

/* One item per entry of l, in l's order (oldest first); *items freed with pw_free. */
void retention_plan(const struct retention_opts *o, const struct backup_list *l,
                    struct retention_item **items);

#endif
