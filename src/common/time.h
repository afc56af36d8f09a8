/*
 * time.h - the one place where times become text and text becomes times, and where "now"
 * comes from. Every timestamp pgward writes is UTC. Parsing is strict (fixed positions,
 * ranges checked, no locale, no strptime leniency): a repository or an endpoint is hostile
 * input, and "2026-02-30" is an error, not March 2nd.
 */
#ifndef PW_COMMON_TIME_H
#define PW_COMMON_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum pw_time_form {
	PW_TIME_ISO,         /* 2026-12-06T19:44:01Z (manifests, records, JSON, reports) */
	PW_TIME_COMPACT,     /* 20261206T194401Z (backup ids, object names, SigV4 x-amz-date) */
	PW_TIME_DATE,        /* 2026-12-06 */
	PW_TIME_DATE_COMPACT /* 20261206 (SigV4 scope) */
};

/* Large enough for every form, with room to spare. */
#define PW_TIME_MAX 32

/* t in the given form into out (always NUL-terminated); returns out. */
char *pw_time_format(time_t t, enum pw_time_form form, char out[PW_TIME_MAX]);

/*
 * Parse s in the given form. PW_TIME_ISO also accepts fractional seconds and a missing
 * "Z" ("2026-12-06T19:44:01.000Z", "2026-12-06T19:44:01" as S3 and STS write them) and, when
 * date_ok, a date alone (midnight UTC). With end == NULL the whole string must be consumed;
 * otherwise *end points after the time. Returns 0, or -PW_E_CONFIG with nothing recorded
 * (callers say what was being parsed).
 */
int pw_time_parse(const char *s, enum pw_time_form form, bool date_ok, time_t *out,
                  const char **end);

/* t broken down in UTC (the one gmtime_r); for calendar arithmetic, never for text. */
void pw_time_fields(time_t t, struct tm *out);
/* The inverse (the one timegm): fields in UTC, checked as pw_time_parse checks them. */
int pw_time_from_fields(const struct tm *tm, time_t *out);
/* t's ISO-8601 week as yyyyww (2026-12-06 -> 202649), the week-numbering year first. */
long pw_time_iso_week(time_t t);

/* An HTTP date ("Sun, 06 Dec 2026 19:44:01 GMT"), as in S3's Last-Modified. */
int pw_time_parse_http(const char *s, time_t *out);

/* "Now" in seconds since the epoch: the real clock unless a test set another. */
time_t pw_now(void);
/* Seconds from a monotonic clock (durations, deadlines); never goes back. */
double pw_monotonic(void);
/* Tests: make pw_now() return what now() returns (NULL: the real clock again). */
void pw_clock_set(time_t (*now)(void));

/* ---- time zones (the service's schedules) ---- */

/* The longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define PW_ZONE_MAX 64

/*
 * Whether zone names a time zone of this system: "UTC", or an IANA name ("Europe/Berlin")
 * made of letters, digits, "_+-" and "/"-separated parts (no "..", no leading "/"), whose
 * file under $TZDIR or /usr/share/zoneinfo is a regular TZif file. Returns 0, or
 * -PW_E_CONFIG with nothing recorded (callers say what was being parsed).
 */
int pw_zone_check(const char *zone);

/*
 * The wall clock of zone at t: *tm (civil fields), *off (seconds east of UTC) and abbr
 * ("CET", may be NULL). zone NULL or "" is the process's local zone (TZ, else
 * /etc/localtime). UTC needs nothing else; another zone sets TZ for the call and restores
 * it (never removing it: other threads may call getenv meanwhile): only one thread may
 * call it (the scheduler's). Returns 0 or -PW_E_CONFIG with nothing recorded.
 */
int pw_zone_local(const char *zone, time_t t, struct tm *tm, long *off, char abbr[16]);

/* The civil fields of t in UTC (days since 1970 -> year, month, day, weekday). */
void pw_time_utc(time_t t, struct tm *tm);

#endif
