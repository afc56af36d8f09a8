/* time.c - UTC timestamps in and out, strictly; the clock, injectable for tests. */
#include "common/time.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static _Atomic(time_t (*)(void)) fake_now;

time_t pw_now(void)
{
	time_t (*f)(void) = atomic_load(&fake_now);
	return f ? f() : time(NULL);
}

void pw_clock_set(time_t (*now)(void))
{
	atomic_store(&fake_now, now);
}

double pw_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *pw_time_format(time_t t, enum pw_time_form form, char out[PW_TIME_MAX])
{
	struct tm tm;
	size_t n = 0;
	if (gmtime_r(&t, &tm)) {
		switch (form) {
		case PW_TIME_ISO:
			n = strftime(out, PW_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
			break;
		case PW_TIME_COMPACT:
			n = strftime(out, PW_TIME_MAX, "%Y%m%dT%H%M%SZ", &tm);
			break;
		case PW_TIME_DATE:
			n = strftime(out, PW_TIME_MAX, "%Y-%m-%d", &tm);
			break;
		case PW_TIME_DATE_COMPACT:
			n = strftime(out, PW_TIME_MAX, "%Y%m%d", &tm);
			break;
		}
	}
	out[n] = 0;
	return out;
}

void pw_time_fields(time_t t, struct tm *out)
{
	if (!gmtime_r(&t, out))
		memset(out, 0, sizeof *out);
}

long pw_time_iso_week(time_t t)
{
	struct tm tm;
	char b[16];
	pw_time_fields(t, &tm);
	if (strftime(b, sizeof b, "%G%V", &tm) == 0)
		return 0;
	return strtol(b, NULL, 10);
}

/* n decimal digits at *p, advancing it; -1 if any is not a digit. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static bool leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a valid proleptic Gregorian date. */
static long days_from_civil(long y, int m, int d)
{
	static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	long days = (y - 1970) * 365 + d - 1 + before[m - 1];
	/* leap days in [1970, y) (y >= 1970 here), plus this year's if past February */
	long leaps =
	    ((y - 1) / 4 - 1969 / 4) - ((y - 1) / 100 - 1969 / 100) + ((y - 1) / 400 - 1969 / 400);
	return days + leaps + (m > 2 && leap(y) ? 1 : 0);
}

static bool valid_date(int y, int m, int d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && leap(y) ? 1 : 0);
}

static int done(const char *p, const char **end, long y, int mo, int d, int h, int mi, int s,
                time_t *out)
{
	if (!valid_date((int)y, mo, d) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
		return -PW_E_CONFIG;
	if (end)
		*end = p;
	else if (*p)
		return -PW_E_CONFIG;
	*out = (time_t)(days_from_civil(y, mo, d) * 86400L + h * 3600L + mi * 60L + s);
	return 0;
}

int pw_time_from_fields(const struct tm *tm, time_t *out)
{
	return done("", NULL, (long)tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
	            tm->tm_min, tm->tm_sec, out);
}

int pw_time_parse(const char *s, enum pw_time_form form, bool date_ok, time_t *out,
                  const char **end)
{
	const char *p = s ? s : "";
	bool dashed = form == PW_TIME_ISO || form == PW_TIME_DATE;
	int y = digits(&p, 4), mo, d, h = 0, mi = 0, sec = 0;
	if (y < 0 || (dashed && !expect(&p, '-')) || (mo = digits(&p, 2)) < 0 ||
	    (dashed && !expect(&p, '-')) || (d = digits(&p, 2)) < 0)
		return -PW_E_CONFIG;
	if (form == PW_TIME_DATE || form == PW_TIME_DATE_COMPACT ||
	    (form == PW_TIME_ISO && date_ok && *p != 'T'))
		return done(p, end, y, mo, d, 0, 0, 0, out);
	if (!expect(&p, 'T') || (h = digits(&p, 2)) < 0 || (dashed && !expect(&p, ':')) ||
	    (mi = digits(&p, 2)) < 0 || (dashed && !expect(&p, ':')) || (sec = digits(&p, 2)) < 0)
		return -PW_E_CONFIG;
	if (form == PW_TIME_ISO) {
		if (*p == '.') {
			p++;
			const char *f = p;
			while (*p >= '0' && *p <= '9' && p - f < 9)
				p++;
			if (p == f)
				return -PW_E_CONFIG;
		}
		(void)expect(&p, 'Z');
	} else if (!expect(&p, 'Z')) {
		return -PW_E_CONFIG;
	}
	return done(p, end, y, mo, d, h, mi, sec, out);
}

int pw_time_parse_http(const char *s, time_t *out)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	const char *p = s ? s : "";
	/* "Sun, 06 Dec 2026 19:44:01 GMT": the weekday is not checked against the date */
	if (strlen(p) != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
	    strcmp(p + 25, " GMT") != 0)
		return -PW_E_CONFIG;
	p += 5;
	int d = digits(&p, 2), m = 0;
	p++;
	for (; m < 12 && strncmp(p, mon[m], 3) != 0; m++)
		;
	if (d < 0 || m == 12)
		return -PW_E_CONFIG;
	p += 4;
	int y = digits(&p, 4), h, mi, sec;
	if (y < 0 || !expect(&p, ' ') || (h = digits(&p, 2)) < 0 || !expect(&p, ':') ||
	    (mi = digits(&p, 2)) < 0 || !expect(&p, ':') || (sec = digits(&p, 2)) < 0)
		return -PW_E_CONFIG;
	return done(p, &p, y, m + 1, d, h, mi, sec, out);
}

/* ---- time zones ---- */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mem.h"

int pw_zone_check(const char *zone)
{
	if (!zone || !*zone || strlen(zone) >= PW_ZONE_MAX)
		return -PW_E_CONFIG;
	if (strcmp(zone, "UTC") == 0)
		return 0;
	/* parts of [A-Za-z0-9_+-], separated by single "/", none starting with "." or "-" */
	bool part_start = true;
	for (const char *p = zone; *p; p++) {
		char c = *p;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-' || c == '/';
		if (!ok || (part_start && (c == '/' || c == '-')))
			return -PW_E_CONFIG;
		part_start = c == '/';
	}
	if (part_start)
		return -PW_E_CONFIG;
	const char *dir = getenv("TZDIR");
	char path[512];
	int n =
	    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
	if (n < 0 || (size_t)n >= sizeof path)
		return -PW_E_CONFIG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -PW_E_CONFIG;
	struct stat st;
	char magic[4];
	bool good = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	            read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
	            memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return good ? 0 : -PW_E_CONFIG;
}

/*
 * localtime_r in another zone means switching TZ. The service is multi-threaded, and its
 * other threads read the environment (getenv: configuration, libcurl) meanwhile: adding or
 * removing a variable moves glibc's environment array under a concurrent getenv (a crash),
 * while setting one that exists swaps one pointer (glibc keeps the strings it made). So UTC
 * needs no switch at all, and TZ is never removed: a TZ that was unset is restored as
 * ":/etc/localtime", which glibc reads as it reads an unset TZ.
 */
int pw_zone_local(const char *zone, time_t t, struct tm *tm, long *off, char abbr[16])
{
	bool switch_tz = zone && *zone;
	char *saved = NULL;
	struct tm local;
	if (switch_tz && strcmp(zone, "UTC") == 0) {
		pw_time_fields(t, &local);
		if (tm)
			*tm = local;
		if (off)
			*off = 0;
		if (abbr)
			snprintf(abbr, 16, "UTC");
		return 0;
	}
	if (switch_tz) {
		if (pw_zone_check(zone) < 0)
			return -PW_E_CONFIG;
		const char *old = getenv("TZ");
		saved = pw_strdup(old ? old : ":/etc/localtime");
		setenv("TZ", zone, 1);
	}
	tzset();
	bool ok = localtime_r(&t, &local) != NULL;
	if (switch_tz) {
		setenv("TZ", saved, 1);
		pw_free(saved);
		tzset();
	}
	if (!ok)
		return -PW_E_CONFIG;
	if (tm)
		*tm = local;
	if (off)
		*off = local.tm_gmtoff;
	if (abbr)
		snprintf(abbr, 16, "%s", local.tm_zone ? local.tm_zone : "");
	return 0;
}

void pw_time_utc(time_t t, struct tm *tm)
{
	if (!gmtime_r(&t, tm))
		memset(tm, 0, sizeof *tm);
}
