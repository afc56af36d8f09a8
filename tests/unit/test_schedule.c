/*
 * test_schedule.c - calendar expressions (src/service/schedule.c): every form, bad
 * expressions with their column, the next run across DST changes in Europe/Berlin and
 * America/New_York (named in the expression, and as the local zone through TZ), month
 * ends and the leap day, jitter bounds and stability, durations.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/time.h"
#include "service/schedule.h"

static time_t T(const char *iso)
{
	time_t t = 0;
	assert_int_equal(pw_time_parse(iso, PW_TIME_ISO, false, &t, NULL), 0);
	return t;
}

/* next run of expr strictly after `after`, as ISO text */
static void expect_next(const char *expr, const char *after, const char *want)
{
	struct sched s;
	char got[PW_TIME_MAX];
	int rc = sched_parse(expr, "test", &s);
	if (rc != 0)
		fail_msg("%s: %s", expr, pw_error_message());
	time_t next = 0;
	rc = sched_next(&s, T(after), &next);
	if (rc != 0)
		fail_msg("%s: %s", expr, pw_error_message());
	pw_time_format(next, PW_TIME_ISO, got);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" after %s: got %s, want %s", expr, after, got, want);
}

static void test_forms(void **state)
{
	(void)state;
	expect_next("hourly UTC", "2026-12-06T22:56:00Z", "2026-12-06T23:00:00Z");
	expect_next("hourly UTC", "2026-12-06T23:00:00Z", "2026-12-07T00:00:00Z"); /* strictly */
	expect_next("daily UTC", "2026-12-06T22:56:00Z", "2026-12-07T00:00:00Z");
	expect_next("weekly UTC", "2026-12-06T10:00:00Z", "2026-12-07T00:00:00Z"); /* Sun->Mon */
	expect_next("weekly 06:00 UTC", "2026-12-07T06:00:00Z", "2026-12-14T06:00:00Z");
	expect_next("monthly UTC", "2026-12-06T10:00:00Z", "2027-01-01T00:00:00Z");
	expect_next("daily 02:00 UTC", "2026-12-06T02:00:00Z", "2026-12-07T02:00:00Z");
	expect_next("daily 02:00 UTC", "2026-12-06T01:59:59Z", "2026-12-06T02:00:00Z");
	expect_next("Mon 03:30 UTC", "2026-12-06T12:00:00Z", "2026-12-07T03:30:00Z");
	expect_next("Mon..Fri 01:15 UTC", "2026-12-11T02:00:00Z", "2026-12-14T01:15:00Z");
	expect_next("Mon..Fri 01:15 UTC", "2026-12-08T00:00:00Z", "2026-12-08T01:15:00Z");
	expect_next("Sat,Sun 10:00 UTC", "2026-12-07T00:00:00Z", "2026-12-12T10:00:00Z");
	expect_next("monday,WED 10:00 UTC", "2026-12-07T10:00:00Z", "2026-12-09T10:00:00Z");
	expect_next("*-*-* 00/6:00 UTC", "2026-12-06T06:00:00Z", "2026-12-06T12:00:00Z");
	expect_next("*-*-* 00/6:00 UTC", "2026-12-06T18:30:00Z", "2026-12-07T00:00:00Z");
	expect_next("*-*-* */4:30 UTC", "2026-12-06T04:31:00Z", "2026-12-06T08:30:00Z");
	expect_next("*-*-* 08..10:0/20 UTC", "2026-12-06T10:40:00Z", "2026-12-07T08:00:00Z");
	expect_next("*-*-* 08..10:0/20 UTC", "2026-12-06T09:25:00Z", "2026-12-06T09:40:00Z");
	expect_next("*-*-* *:0/15 UTC", "2026-12-06T10:07:00Z", "2026-12-06T10:15:00Z");
	expect_next("*-*-01 04:00 UTC", "2026-12-06T10:00:00Z", "2027-01-01T04:00:00Z");
	expect_next("*-*-01 04:00 UTC", "2027-01-01T03:59:00Z", "2027-01-01T04:00:00Z");
	expect_next("2027-*-* 00:00 UTC", "2026-06-06T10:00:00Z", "2027-01-01T00:00:00Z");
	expect_next("2027..2028-06-15 12:00 UTC", "2027-06-15T12:00:00Z", "2028-06-15T12:00:00Z");
	expect_next("*-*-* 02:00:00 UTC", "2026-12-06T10:00:00Z", "2026-12-07T02:00:00Z");
	expect_next("Mon *-*-* 03:30 UTC", "2026-12-06T12:00:00Z", "2026-12-07T03:30:00Z");
	expect_next("Fri *-*-13 00:00 UTC", "2026-12-06T12:00:00Z", "2027-08-13T00:00:00Z");
	expect_next("*-12-25 UTC", "2026-12-06T12:00:00Z", "2026-12-25T00:00:00Z");
	expect_next("Mon", "2026-12-06T12:00:00Z", "2026-12-07T00:00:00Z"); /* TZ=UTC below */
	/* a zone changes the instant */
	expect_next("daily 02:00 Europe/Berlin", "2026-12-06T12:00:00Z", "2026-12-07T01:00:00Z");
	expect_next("daily 02:00 Europe/Berlin", "2026-07-01T12:00:00Z", "2026-07-02T00:00:00Z");
	expect_next("daily 02:00 America/New_York", "2026-12-06T12:00:00Z", "2026-12-07T07:00:00Z");
}

static void test_month_ends_and_leap_day(void **state)
{
	(void)state;
	expect_next("*-*-31 12:00 UTC", "2027-01-31T13:00:00Z", "2027-03-31T12:00:00Z");
	expect_next("*-*-30 12:00 UTC", "2027-01-30T13:00:00Z", "2027-03-30T12:00:00Z");
	expect_next("*-02-29 00:00 UTC", "2026-12-06T00:00:00Z", "2028-02-29T00:00:00Z");
	expect_next("*-02-29 00:00 UTC", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z");
	expect_next("Mon *-02-29 00:00 UTC", "2026-12-06T00:00:00Z", "2044-02-29T00:00:00Z");
	expect_next("*-*-28..31 23:00 UTC", "2027-02-28T23:00:00Z", "2027-03-28T23:00:00Z");
	/* never: a day no month has, or a year that has passed */
	struct sched s;
	time_t next;
	assert_int_equal(sched_parse("*-02-30 00:00 UTC", "test", &s), 0);
	assert_int_equal(sched_next(&s, T("2026-12-06T00:00:00Z"), &next), -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_message(), "never runs"));
	assert_non_null(pw_error_hint_text());
	assert_int_equal(sched_parse("2020-*-* 00:00 UTC", "test", &s), 0);
	assert_int_equal(sched_next(&s, T("2026-12-06T00:00:00Z"), &next), -PW_E_CONFIG);
}

static void test_dst_berlin(void **state)
{
	(void)state;
	/* spring 2027-03-28: 02:00 CET -> 03:00 CEST; 02:30 does not exist: once at 03:00 */
	expect_next("daily 02:30 Europe/Berlin", "2027-03-27T12:00:00Z", "2027-03-28T01:00:00Z");
	expect_next("daily 02:30 Europe/Berlin", "2027-03-28T01:00:00Z", "2027-03-29T00:30:00Z");
	expect_next("*-*-* 02:00,15,30 Europe/Berlin", "2027-03-28T00:59:00Z",
	            "2027-03-28T01:00:00Z");
	expect_next("*-*-* 02:00,15,30 Europe/Berlin", "2027-03-28T01:00:00Z",
	            "2027-03-29T00:00:00Z"); /* the gap's three slots ran once */
	expect_next("daily 03:00 Europe/Berlin", "2027-03-27T12:00:00Z", "2027-03-28T01:00:00Z");
	expect_next("daily 01:59 Europe/Berlin", "2027-03-27T12:00:00Z", "2027-03-28T00:59:00Z");
	/* autumn 2026-10-25: 03:00 CEST -> 02:00 CET; 02:30 exists twice: once, the first */
	expect_next("daily 02:30 Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
	expect_next("daily 02:30 Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z");
	expect_next("daily 02:30 Europe/Berlin", "2026-10-25T00:45:00Z", "2026-10-26T01:30:00Z");
	expect_next("daily 03:00 Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T02:00:00Z");
	/* the interval across the change is a day of wall time, 23 or 25 hours */
	struct sched s;
	long iv;
	assert_int_equal(sched_parse("daily 04:00 Europe/Berlin", "t", &s), 0);
	assert_int_equal(sched_interval(&s, T("2027-03-27T12:00:00Z"), &iv), 0);
	assert_int_equal(iv, 86400);
	assert_int_equal(sched_interval(&s, T("2027-03-26T12:00:00Z"), &iv), 0);
	assert_int_equal(iv, 23 * 3600);
	assert_int_equal(sched_interval(&s, T("2026-10-23T12:00:00Z"), &iv), 0);
	assert_int_equal(iv, 25 * 3600);
}

/* the local zone from TZ, as a service without a zone in its schedules uses it */
static void test_dst_new_york_local(void **state)
{
	(void)state;
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	setenv("TZ", "America/New_York", 1);
	/* spring 2027-03-14: 02:00 EST -> 03:00 EDT */
	expect_next("daily 02:30", "2027-03-13T12:00:00Z", "2027-03-14T07:00:00Z");
	expect_next("daily 02:30", "2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z");
	/* autumn 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 twice: the first (EDT) only */
	expect_next("daily 01:30", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z");
	expect_next("daily 01:30", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z");
	expect_next("Mon..Fri 01:15", "2026-12-11T12:00:00Z", "2026-12-14T06:15:00Z");
	/* a zone in the expression wins over TZ */
	expect_next("daily 02:30 Europe/Berlin", "2027-03-27T12:00:00Z", "2027-03-28T01:00:00Z");
	/* and TZ is as it was after each call */
	assert_string_equal(getenv("TZ"), "America/New_York");
	setenv("TZ", "UTC", 1);
	expect_next("Mon", "2026-12-06T12:00:00Z", "2026-12-07T00:00:00Z");
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	free(saved);
}

struct bad_case {
	const char *expr;
	const char *needle;
};

static void test_bad_expressions(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"", "column 1: the schedule is empty"},
	    {"   ", "the schedule is empty"},
	    {"daily 25:00", "column 7: hour 25 is out of range 0-23"},
	    {"daily 02:60", "column 10: minute 60 is out of range 0-59"},
	    {"Mon..Fry 01:00", "column 6: expected the end of the weekday range"},
	    {"Fri..Mon 01:00", "column 1: the weekday range 5..1 runs backwards"},
	    {"*-13-01", "column 3: month 13 is out of range 1-12"},
	    {"*-*-32", "column 5: day 32 is out of range 1-31"},
	    {"*-*-0", "column 5: day 0 is out of range 1-31"},
	    {"daily 02:00 Mars/Olympus", "column 13: unknown time zone"},
	    {"daily 02:00 ../../../etc/passwd", "column 13: unknown time zone"},
	    {"daily 02:00 /etc/localtime", "column 13: unknown time zone"},
	    {"daily 02:00 Europe/../Europe/Berlin", "unknown time zone"},
	    {"02:00 Mon", "column 7: parts go in the order"},
	    {"Mon Tue", "column 5: parts go in the order"},
	    {"*-*-* 00/0:00", "column 10: expected a step of 1 or more"},
	    {"*-*-* 00/x:00", "column 10: expected a step"},
	    {"daily 02:00:30", "column 13: seconds must be 00"},
	    {"daily\x01", "column 6: unexpected character"},
	    {"daily 02:00 UTC\n", "unexpected character"},
	    {"Europe/Berlin", "a time zone alone is not a schedule"},
	    {"hourly 02:00", "column 8: expected nothing or a time zone after \"hourly\""},
	    {"daily Mon", "expected a time (02:00) or a time zone after \"daily\""},
	    {"daily 02:00 UTC extra", "column 17: unexpected \"extra\""},
	    {"*", "column 1: expected a weekday"},
	    {"5", "column 1: expected a weekday"},
	    {"*-*-* 1:2:3:4", "seconds must be 00"},
	    {"*-*-* 01,:00", "column 10: expected a number"},
	    {"*-*-* 10000:00", "column 7: expected a number"},
	    {"1969-*-* 00:00", "the year must be within"},
	    {"*-*-*-* 00:00", "column 6: a date is [YEAR-]MONTH-DAY"},
	    {"*-*-* 00:00 UTC UTC", "parts go in the order"},
	    {"a b c d e f", "too many parts"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct sched s;
		pw_error_clear();
		int rc = sched_parse(cases[i].expr, "backup-schedule of stanza \"main\"", &s);
		if (rc != -PW_E_CONFIG)
			fail_msg("\"%s\" was accepted (rc %d)", cases[i].expr, rc);
		const char *msg = pw_error_message();
		if (!strstr(msg, cases[i].needle))
			fail_msg("\"%s\": \"%s\" not in: %s", cases[i].expr, cases[i].needle, msg);
		assert_non_null(strstr(msg, "backup-schedule of stanza \"main\""));
		assert_non_null(strstr(pw_error_hint_text(), "daily 02:00"));
		assert_null(strchr(msg, '\n')); /* one line, control characters shown escaped */
		assert_null(strchr(msg, '\x01'));
	}
	/* the length cap */
	char big[SCHED_EXPR_MAX + 20];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	struct sched s;
	assert_int_equal(sched_parse(big, "t", &s), -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_message(), "longer than"));
	assert_true(strlen(pw_error_message()) < 200);
	/* exactly at the cap is parsed (and here refused for what it says, not its length) */
	memset(big, ' ', SCHED_EXPR_MAX);
	memcpy(big + SCHED_EXPR_MAX - 5, "daily", 5);
	big[SCHED_EXPR_MAX] = 0;
	assert_int_equal(sched_parse(big, "t", &s), 0);
}

static void test_jitter(void **state)
{
	(void)state;
	time_t slot = T("2026-12-07T02:00:00Z");
	int differ = 0;
	long seen_max = 0;
	for (int i = 0; i < 2000; i++) {
		time_t t = slot + (time_t)i * 3600;
		long j = sched_jitter("main", "backup", t, 600);
		assert_true(j >= 0 && j < 600);
		assert_int_equal(j, sched_jitter("main", "backup", t, 600)); /* stable */
		differ += j != sched_jitter("other", "backup", t, 600);
		seen_max = j > seen_max ? j : seen_max;
	}
	assert_true(differ > 1900);  /* stanzas on one schedule spread out */
	assert_true(seen_max > 500); /* and the whole range is used */
	assert_int_equal(sched_jitter("main", "backup", slot, 0), 0);
	assert_int_equal(sched_jitter("main", "backup", slot, -5), 0);
	assert_int_equal(sched_jitter("main", "backup", slot, 1), 0);
	assert_true(sched_jitter("main", "backup", slot, 600) !=
	                sched_jitter("main", "verify", slot, 600) ||
	            sched_jitter("main", "backup", slot + 60, 600) !=
	                sched_jitter("main", "verify", slot + 60, 600));
	/* a known value: restarts and other builds must not move it */
	assert_int_equal(sched_jitter("main", "backup", slot, 600),
	                 sched_jitter("main", "backup", T("2026-12-07T02:00:00Z"), 600));
}

static void test_durations(void **state)
{
	(void)state;
	long v;
	assert_int_equal(sched_parse_duration("10m", "t", &v), 0);
	assert_int_equal(v, 600);
	assert_int_equal(sched_parse_duration("0", "t", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sched_parse_duration("90s", "t", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(sched_parse_duration("2h", "t", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(sched_parse_duration("168h", "t", &v), 0);
	static const char *const bad[] = {"",     "10", "-5m", "10x",       "8d",
	                                  "169h", "m",  "1m1", "99999999s", " 1m"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (sched_parse_duration(bad[i], "schedule-jitter", &v) != -PW_E_CONFIG)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(pw_error_message(), "schedule-jitter: bad duration"));
	}
}

/* A tag's keep: h, d, w, y; 1 hour to 100 years. */
static void test_keep(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		long v;
	} good[] = {{"1h", 3600},
	            {"36h", 36 * 3600},
	            {"2d", 2 * 86400},
	            {"12w", 84 * 86400},
	            {"1y", 365 * 86400},
	            {"100y", 36500L * 86400},
	            {"36600d", SCHED_KEEP_MAX}};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		long v = 0;
		if (sched_parse_keep(good[i].s, "t", &v) != 0 || v != good[i].v)
			fail_msg("\"%s\": %ld, want %ld (%s)", good[i].s, v, good[i].v,
			         pw_error_message());
	}
	static const char *const bad[] = {"",  "0d",  "2",    "2m",     "2 d",       "-1d",
	                                  "d", "1dd", "101y", "36601d", "99999999d", "1.5d"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		long v;
		if (sched_parse_keep(bad[i], "backup-schedule", &v) != -PW_E_CONFIG)
			fail_msg("keep \"%s\" accepted", bad[i]);
		assert_non_null(strstr(pw_error_message(), "backup-schedule: bad keep"));
		assert_true(strlen(pw_error_hint_text()) > 0);
		pw_error_clear();
	}
}

/* Schedule options of several entries, with keep and tag clauses. */
static void test_lists(void **state)
{
	(void)state;
	struct sched s[SCHED_ENTRIES_MAX];
	struct sched_tag t[SCHED_ENTRIES_MAX];
	size_t n;
	assert_int_equal(sched_parse_list("hourly keep 2d; daily 02:00 keep 30d;Sun 03:00 KEEP 12w "
	                                  "tag weekly ;*-*-01 04:00 Europe/Berlin tag monthly-1",
	                                  "t", true, s, t, &n),
	                 0);
	assert_int_equal(n, 4);
	assert_string_equal(s[0].text, "hourly");
	assert_string_equal(t[0].name, "hourly");
	assert_int_equal(t[0].keep, 2 * 86400);
	assert_string_equal(s[1].text, "daily 02:00");
	assert_string_equal(t[1].name, "daily");
	assert_int_equal(t[1].keep, 30 * 86400);
	assert_string_equal(s[2].text, "Sun 03:00");
	assert_string_equal(t[2].name, "weekly");
	assert_int_equal(t[2].keep, 84 * 86400);
	assert_string_equal(s[3].zone, "Europe/Berlin");
	assert_string_equal(t[3].name, "monthly-1");
	assert_int_equal(t[3].keep, 0);
	/* today's single expression is one entry, without a name: a tag only comes with a keep */
	assert_int_equal(sched_parse_list("daily 02:00 Europe/Berlin", "t", true, s, t, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].name, "");
	assert_int_equal(sched_parse_list("*-*-* 00/6:00", "t", true, s, t, &n), 0);
	assert_string_equal(t[0].name, "");
	assert_int_equal(sched_parse_list("tag x keep 1d", "t", true, s, t, &n), -PW_E_CONFIG);
	pw_error_clear();
	/* verify and expire schedules: several entries, never tags */
	assert_int_equal(
	    sched_parse_list("Sun 04:00; Wed 04:00", "verify-schedule", false, s, t, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].name, "");
	static const struct {
		const char *text, *needle;
		bool with_tags;
	} bad[] = {
	    {"", "empty", true},
	    {"daily;", "empty", true},
	    {"daily;; hourly", "empty", true},
	    {"*-*-* 00/6:00 keep 2d", "needs a name", true},
	    {"hourly keep 2d; daily keep 30d tag hourly", "names another entry", true},
	    {"daily 02:00 keep 7d; daily 03:00 keep 7d", "names another entry", true},
	    {"hourly keep 2d keep 3d", "twice", true},
	    {"hourly tag a tag b", "twice", true},
	    {"hourly keep", "needs a value", true},
	    {"hourly tag", "needs a value", true},
	    {"hourly keep 2d forever", "neither keep nor tag", true},
	    {"hourly keep 2x", "bad keep", true},
	    {"hourly keep 0d", "bad keep", true},
	    {"keep 2d", "no calendar expression", true},
	    {"daily 25:00 keep 2d", "hour 25", true},
	    {"hourly tag aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "longer than 32", true},
	    {"daily keep 2d", "belong to backup-schedule", false},
	    {"daily tag x", "belong to backup-schedule", false},
	    {"a;b;c;d;e;f;g;h;i", "more than 8", true},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = sched_parse_list(bad[i].text, "backup-schedule of stanza \"m\"",
		                          bad[i].with_tags, s, t, &n);
		if (rc != -PW_E_CONFIG || !strstr(pw_error_message(), bad[i].needle))
			fail_msg("\"%s\": rc %d, \"%s\" (want \"%s\")", bad[i].text, rc,
			         pw_error_message(), bad[i].needle);
		assert_non_null(strstr(pw_error_message(), "backup-schedule of stanza \"m\""));
		assert_true(strlen(pw_error_hint_text()) > 0);
		pw_error_clear();
	}
	/* the message shows the whole entry, clauses included */
	assert_int_equal(sched_parse_list("daily; hourly keep 2d forever", "t", true, s, t, &n),
	                 -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_message(), "\"hourly keep 2d forever\""));
	pw_error_clear();
	char *huge = malloc(SCHED_LIST_MAX + 2);
	memset(huge, 'a', SCHED_LIST_MAX + 1);
	huge[SCHED_LIST_MAX + 1] = 0;
	assert_int_equal(sched_parse_list(huge, "t", true, s, t, &n), -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_message(), "longer than"));
	pw_error_clear();
	memset(huge, 'a', 300);
	huge[300] = 0;
	assert_int_equal(sched_parse_list(huge, "t", true, s, t, &n), -PW_E_CONFIG);
	pw_error_clear();
	free(huge);
	/* 8 entries is the most, and fine */
	assert_int_equal(
	    sched_parse_list("*:00;*:05;*:10;*:15;*:20;*:25;*:30;*:35", "t", true, s, t, &n), 0);
	assert_int_equal(n, 8);
}

static void test_intervals(void **state)
{
	(void)state;
	struct sched s;
	long iv;
	assert_int_equal(sched_parse("*-*-* 00/6:00 UTC", "t", &s), 0);
	assert_int_equal(sched_interval(&s, T("2026-12-06T01:00:00Z"), &iv), 0);
	assert_int_equal(iv, 6 * 3600);
	assert_int_equal(sched_parse("hourly UTC", "t", &s), 0);
	assert_int_equal(sched_interval(&s, T("2026-12-06T01:00:00Z"), &iv), 0);
	assert_int_equal(iv, 3600);
	assert_int_equal(sched_parse("weekly UTC", "t", &s), 0);
	assert_int_equal(sched_interval(&s, T("2026-12-06T01:00:00Z"), &iv), 0);
	assert_int_equal(iv, 7 * 86400);
}

static void test_zone_helpers(void **state)
{
	(void)state;
	assert_int_equal(pw_zone_check("UTC"), 0);
	assert_int_equal(pw_zone_check("Europe/Berlin"), 0);
	assert_int_equal(pw_zone_check("Europe"), -PW_E_CONFIG); /* a directory */
	assert_int_equal(pw_zone_check(""), -PW_E_CONFIG);
	assert_int_equal(pw_zone_check("Europe//Berlin"), -PW_E_CONFIG);
	assert_int_equal(pw_zone_check("Europe/Berlin/"), -PW_E_CONFIG);
	assert_int_equal(pw_zone_check("-Europe"), -PW_E_CONFIG);
	long off;
	char abbr[16];
	struct tm tm;
	assert_int_equal(pw_zone_local("Europe/Berlin", T("2026-07-01T12:00:00Z"), &tm, &off, abbr),
	                 0);
	assert_int_equal(off, 7200);
	assert_string_equal(abbr, "CEST");
	assert_int_equal(tm.tm_hour, 14);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),           cmocka_unit_test(test_month_ends_and_leap_day),
	    cmocka_unit_test(test_dst_berlin),      cmocka_unit_test(test_dst_new_york_local),
	    cmocka_unit_test(test_bad_expressions), cmocka_unit_test(test_jitter),
	    cmocka_unit_test(test_durations),       cmocka_unit_test(test_intervals),
	    cmocka_unit_test(test_zone_helpers),    cmocka_unit_test(test_keep),
	    cmocka_unit_test(test_lists),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
