/*
 * schedule.h - calendar expressions for the service (a subset of systemd.time's calendar
 * events, minute resolution) and the next run time after a given one, in a time zone.
 *
 *   hourly | daily [TIME] | weekly [TIME] | monthly [TIME]              [ZONE]
 *   [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:00]]                  [ZONE]
 *
 * WEEKDAYS: Mon, Tue.. (or full names), lists "Mon,Wed", ranges "Mon..Fri". Each number
 * field: "*", N, N..M, N/STEP, N..M/STEP, a star with a step, and comma lists of those ("00/6" is
 * 0,6,12,18). ZONE: "UTC" or an IANA name ("Europe/Berlin"); default the local zone.
 * A wall time that does not exist (spring forward) runs at the end of the gap; one that
 * exists twice (autumn) runs once, at the first. Pure apart from reading the zone files.
 */
#ifndef PW_SERVICE_SCHEDULE_H
#define PW_SERVICE_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/time.h"

/* The longest expression accepted. */
#define SCHED_EXPR_MAX 200
/* sched_next looks this many days ahead before calling an expression impossible. */
#define SCHED_HORIZON_DAYS (366L * 30)

struct sched {
	uint64_t minutes; /* bit m: minute m, 0-59 */
	uint32_t hours;   /* bit h: hour h, 0-23 */
	uint32_t mdays;   /* bit d: day of month d, 1-31 */
	uint16_t months;  /* bit m: month m, 1-12 */
	uint8_t wdays;    /* bit w: weekday w, 0 = Sunday */
	int year_lo, year_hi;
	char zone[PW_ZONE_MAX]; /* "" = the local zone */
	char text[SCHED_EXPR_MAX + 1];
};

/*
 * Parse expr into *out. A bad expression is -PW_E_CONFIG with a message that names the
 * column and what was expected, and a hint with examples; what names the setting
 * ("backup-schedule of stanza \"main\"").
 */
int sched_parse(const char *expr, const char *what, struct sched *out);

/*
 * The first run time strictly after `after`. -PW_E_CONFIG (recorded) when the expression
 * never matches within SCHED_HORIZON_DAYS ("*-02-30") or the zone cannot be read.
 */
int sched_next(const struct sched *s, time_t after, time_t *next);

/* The nominal interval around t: the gap between the two runs that follow t. */
int sched_interval(const struct sched *s, time_t t, long *seconds);

/*
 * The jitter of one run: a deterministic offset in [0, jitter) seconds from a hash of the
 * stanza, the job kind and the slot (the scheduled time), so restarts do not move it and
 * stanzas on one schedule spread out. 0 when jitter <= 0.
 */
long sched_jitter(const char *stanza, const char *kind, time_t slot, long jitter);

/* "10m", "90s", "2h", "0": seconds into *out (at most a week). -PW_E_CONFIG recorded. */
int sched_parse_duration(const char *s, const char *what, long *out);

/* The most entries of one schedule option, and the longest option text. */
#define SCHED_ENTRIES_MAX 8
#define SCHED_LIST_MAX 2048
/* A tag name with its NUL (the repository's rule, manifest_tag_name_valid, says which
 * characters; the same size as MANIFEST_TAG_MAX). */
#define SCHED_TAG_MAX 33
/* The longest keep: 100 years (MANIFEST_KEEP_MAX). */
#define SCHED_KEEP_MAX (36600L * 86400)

/* What one entry of a backup schedule names its runs, and how long they are kept. */
struct sched_tag {
	char name[SCHED_TAG_MAX]; /* "": its runs are not tagged */
	long keep;                /* seconds; 0: the tag keeps nothing of its own */
};

/*
 * A schedule option: up to SCHED_ENTRIES_MAX entries separated by ";", each a calendar
 * expression followed by the clauses "keep DURATION" and "tag NAME", in any order, each at
 * most once ("hourly keep 2d; daily 02:00 keep 30d; Sun 03:00 keep 12w tag weekly").
 * An entry without "tag" is named by its leading word when that is hourly, daily, weekly
 * or monthly, else it has no name; "keep" needs a name; names are distinct. With
 * with_tags false (verify-schedule, expire-schedule) the clauses are refused and no entry
 * is named. out and tags hold SCHED_ENTRIES_MAX each; -PW_E_CONFIG recorded (what names
 * the setting).
 */
int sched_parse_list(const char *text, const char *what, bool with_tags, struct sched *out,
                     struct sched_tag *tags, size_t *n);

/* A keep: a number with h, d, w or y (365 days): "36h", "2d", "12w", "1y"; 1 hour to 100
 * years, in seconds. -PW_E_CONFIG recorded (what names the setting). */
int sched_parse_keep(const char *s, const char *what, long *out);

#endif
