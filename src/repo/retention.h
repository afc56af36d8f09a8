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
#include "repo/wal.h"

struct retention {
	int days, min, daily, weekly, monthly, yearly;
	long grace_seconds;
	/* recovery-window: keep the newest genuine physical base backup that finished at
	 * least this long ago (the oldest one while none has), so WAL reaches back this far;
	 * 0: none beyond the rules above */
	long window_seconds;
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

/* ---- WAL ----
 * Which WAL objects stay, given the physical base backups the plan keeps (genuine ones:
 * their start LSN and timeline are signed). Kept: every object of a timeline above the
 * oldest kept base's, and of its timeline from the segment holding its start LSN on
 * (history files: from its timeline on). With no kept base, every object stays (WAL
 * streamed before the first base backup is not garbage). Removed: the rest, and a
 * partial whose segment is stored complete (the segment, or a full-size partial, with its
 * signature listed: the caller checks that signature before removing what it
 * supersedes). A signature goes with its object. */
enum retention_wal_verdict {
	RET_WAL_KEEP = 0,
	RET_WAL_OLD,        /* before the oldest kept base's start */
	RET_WAL_SUPERSEDED, /* a partial of a segment stored complete */
};
struct retention_wal_cut {
	bool any; /* a kept base exists: the cut applies */
	uint32_t tli;
	uint64_t segno; /* the first segment kept on tli */
};
/* verdict[i] for objs[i]; superseder[i] (NULL: not wanted) the index of the full object
 * that supersedes objs[i], else n; *cut says where the WAL that stays begins. */
void retention_wal_plan(const struct wal_obj *objs, size_t n, uint32_t segsize,
                        const struct wal_base *kept, size_t nkept, uint8_t *verdict,
                        size_t *superseder, struct retention_wal_cut *cut);

#endif
