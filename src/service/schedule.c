/* schedule.c - calendar expressions and their next run time (see schedule.h). */
#include "service/schedule.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/str.h"
#include "crypto/prim.h"

#define ALL_MINUTES ((UINT64_C(1) << 60) - 1)
#define ALL_HOURS ((UINT32_C(1) << 24) - 1)
#define ALL_MDAYS (((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MONTHS ((uint16_t)(((1u << 12) - 1) << 1))
#define ALL_WDAYS ((uint8_t)0x7f)
#define YEAR_MIN 1970
#define YEAR_MAX 2199

static const char *const wday_names[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                          "thursday", "friday", "saturday"};

static const char *const hint_text =
    "Write e.g. \"daily 02:00\", \"Mon..Fri 01:15\", \"*-*-* 00/6:00\", \"*-*-01 04:00 "
    "Europe/Berlin\" or \"hourly\" (docs/service.md lists the grammar).";

struct px {
	const char *expr;
	const char *what;
	struct sched *s;
};

PW_PRINTF(3, 4) static int bad(const struct px *x, size_t col, const char *fmt, ...)
{
	char why[160], shown[SCHED_EXPR_MAX + 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	pw_str_printable(shown, sizeof shown, x->expr);
	pw_error(PW_E_CONFIG, "%s: bad schedule \"%s\" at column %zu: %s", x->what, shown, col + 1,
	         why);
	return pw_error_hint("%s", hint_text);
}

/* ---- fields ---- */

/* A weekday name at p[0..n) (3 letters or the full name, any case): 0-6, or -1. */
static int wday_from(const char *p, size_t n)
{
	for (int w = 0; w < 7; w++) {
		size_t full = strlen(wday_names[w]);
		if ((n == 3 || n == full) && strncasecmp(p, wday_names[w], n) == 0)
			return w;
	}
	return -1;
}

/* One value at *p (a number, or a weekday name when names): advances *p; -1 if none. */
static long value_at(const char **p, const char *end, bool names)
{
	const char *q = *p;
	if (names) {
		while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
			q++;
		int w = q > *p ? wday_from(*p, (size_t)(q - *p)) : -1;
		if (w >= 0)
			*p = q;
		return w;
	}
	long v = 0;
	while (q < end && *q >= '0' && *q <= '9' && q - *p < 4)
		v = v * 10 + (*q++ - '0');
	if (q == *p || (q < end && *q >= '0' && *q <= '9'))
		return -1;
	*p = q;
	return v;
}

/*
 * A field p[0..n) at column col: comma list of "*", V, V..V, with an optional "/STEP";
 * sets bits lo..hi of *bits. name says what the field is in errors.
 */
static int field(const struct px *x, const char *p, size_t n, size_t col, int lo, int hi,
                 bool names, const char *name, uint64_t *bits)
{
	const char *end = p + n, *q = p;
	*bits = 0;
	if (n == 0)
		return bad(x, col, "the %s is empty", name);
	for (;;) {
		const char *item = q;
		long a, b;
		bool star = false, ranged = false;
		if (q < end && *q == '*') {
			a = lo, b = hi, star = true;
			q++;
		} else {
			if ((a = value_at(&q, end, names)) < 0)
				return bad(x, col + (size_t)(q - p), "expected %s for the %s",
				           names ? "a weekday (Mon..Sun)" : "a number or \"*\"",
				           name);
			b = a;
			if (end - q >= 2 && q[0] == '.' && q[1] == '.') {
				q += 2;
				const char *at = q;
				if ((b = value_at(&q, end, names)) < 0)
					return bad(x, col + (size_t)(at - p),
					           "expected the end of the %s range", name);
				ranged = true;
			}
		}
		if (a < lo || a > hi || b < lo || b > hi)
			return bad(x, col + (size_t)(item - p), "%s %ld is out of range %d-%d",
			           name, a < lo || a > hi ? a : b, lo, hi);
		if (b < a)
			return bad(x, col + (size_t)(item - p),
			           "the %s range %ld..%ld runs backwards", name, a, b);
		long step = 1;
		if (q < end && *q == '/') {
			q++;
			const char *at = q;
			step = names ? -1 : value_at(&q, end, false);
			if (step < 1)
				return bad(x, col + (size_t)(at - p),
				           "expected a step of 1 or more");
			if (!star && !ranged)
				b = hi; /* "00/6": from 0 to the end */
		}
		for (long v = a; v <= b; v += step)
			*bits |= UINT64_C(1) << v;
		if (q == end)
			return 0;
		if (*q != ',')
			return bad(x, col + (size_t)(q - p), "unexpected \"%c\" in the %s", *q,
			           name);
		q++;
	}
}

static int year_field(const struct px *x, const char *p, size_t n, size_t col)
{
	const char *end = p + n, *q = p;
	if (n == 1 && *p == '*') {
		x->s->year_lo = YEAR_MIN, x->s->year_hi = YEAR_MAX;
		return 0;
	}
	long a = value_at(&q, end, false), b = a;
	if (a >= 0 && end - q >= 2 && q[0] == '.' && q[1] == '.') {
		q += 2;
		b = value_at(&q, end, false);
	}
	if (a < 0 || b < 0 || q != end)
		return bad(x, col + (size_t)(q - p), "expected \"*\", a year or YEAR..YEAR");
	if (a < YEAR_MIN || b > YEAR_MAX || b < a)
		return bad(x, col, "the year must be within %d-%d and not run backwards", YEAR_MIN,
		           YEAR_MAX);
	x->s->year_lo = (int)a, x->s->year_hi = (int)b;
	return 0;
}

/* [YEAR-]MONTH-DAY */
static int date_tok(const struct px *x, const char *p, size_t n, size_t col)
{
	const char *dash[3];
	size_t nd = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '-') {
			if (nd == 2)
				return bad(x, col + i, "a date is [YEAR-]MONTH-DAY");
			dash[nd++] = p + i;
		}
	const char *m = p, *d = dash[nd - 1] + 1;
	if (nd == 2) {
		int rc = year_field(x, p, (size_t)(dash[0] - p), col);
		if (rc < 0)
			return rc;
		m = dash[0] + 1;
	} else {
		x->s->year_lo = YEAR_MIN, x->s->year_hi = YEAR_MAX;
	}
	uint64_t bits;
	int rc = field(x, m, (size_t)(dash[nd - 1] - m), col + (size_t)(m - p), 1, 12, false,
	               "month", &bits);
	if (rc < 0)
		return rc;
	x->s->months = (uint16_t)bits;
	rc = field(x, d, (size_t)(p + n - d), col + (size_t)(d - p), 1, 31, false, "day", &bits);
	x->s->mdays = (uint32_t)bits;
	return rc;
}

/* HOUR:MINUTE[:00] */
static int time_tok(const struct px *x, const char *p, size_t n, size_t col)
{
	const char *c1 = memchr(p, ':', n);
	const char *end = p + n;
	const char *c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	const char *mend = c2 ? c2 : end;
	uint64_t bits;
	int rc = field(x, p, (size_t)(c1 - p), col, 0, 23, false, "hour", &bits);
	if (rc < 0)
		return rc;
	x->s->hours = (uint32_t)bits;
	rc = field(x, c1 + 1, (size_t)(mend - c1 - 1), col + (size_t)(c1 + 1 - p), 0, 59, false,
	           "minute", &x->s->minutes);
	if (rc < 0)
		return rc;
	if (c2) {
		size_t sn = (size_t)(end - c2 - 1);
		bool zero = sn > 0 && sn <= 2;
		for (size_t i = 0; i < sn; i++)
			zero = zero && c2[1 + i] == '0';
		if (!zero)
			return bad(x, col + (size_t)(c2 + 1 - p),
			           "seconds must be 00 (schedules have minute resolution)");
	}
	return 0;
}

static int zone_tok(const struct px *x, const char *p, size_t n, size_t col)
{
	char zone[PW_ZONE_MAX];
	if (n >= sizeof zone || (memcpy(zone, p, n), zone[n] = 0, pw_zone_check(zone) < 0))
		return bad(x, col,
		           "unknown time zone (use \"UTC\" or an IANA name such as "
		           "\"Europe/Berlin\")");
	memcpy(x->s->zone, zone, n + 1);
	return 0;
}

enum tok_kind { TK_WDAYS, TK_DATE, TK_TIME, TK_ZONE, TK_BAD };

static enum tok_kind classify(const char *p, size_t n)
{
	if (memchr(p, ':', n))
		return TK_TIME;
	if ((*p == '*' || (*p >= '0' && *p <= '9')) && memchr(p, '-', n))
		return TK_DATE;
	bool letters = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
	if (*p == '.' || *p == '/')
		return TK_ZONE; /* a path is not a zone name: zone_tok says so */
	if (!letters)
		return TK_BAD;
	bool wd = n != 3 || strncmp(p, "UTC", 3) != 0;
	for (size_t i = 0; i < n && wd; i++)
		wd = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || p[i] == '.' ||
		     p[i] == ',';
	return wd && wday_from(p, strcspn(p, ".,") < n ? strcspn(p, ".,") : n) >= 0 ? TK_WDAYS
	                                                                            : TK_ZONE;
}

int sched_parse(const char *expr, const char *what, struct sched *out)
{
	memset(out, 0, sizeof *out);
	struct px x = {.expr = expr ? expr : "", .what = what ? what : "schedule", .s = out};
	size_t len = strlen(x.expr);
	if (len > SCHED_EXPR_MAX) {
		char shown[48];
		pw_str_printable(shown, sizeof shown, x.expr);
		pw_error(PW_E_CONFIG, "%s: schedule \"%s...\" is longer than %d bytes", x.what,
		         shown, SCHED_EXPR_MAX);
		return pw_error_hint("%s", hint_text);
	}
	memcpy(out->text, x.expr, len + 1);
	out->minutes = 1, out->hours = 1, out->mdays = ALL_MDAYS, out->months = ALL_MONTHS;
	out->wdays = ALL_WDAYS, out->year_lo = YEAR_MIN, out->year_hi = YEAR_MAX;

	/* tokens */
	struct {
		const char *p;
		size_t n;
	} tok[5];
	size_t nt = 0;
	for (size_t i = 0; i < len;) {
		if (x.expr[i] == ' ' || x.expr[i] == '\t') {
			i++;
			continue;
		}
		unsigned char c = (unsigned char)x.expr[i];
		if (c < 0x21 || c > 0x7e)
			return bad(&x, i, "unexpected character");
		if (nt == 5)
			return bad(&x, i, "too many parts");
		size_t j = i;
		while (j < len && x.expr[j] != ' ' && x.expr[j] != '\t') {
			c = (unsigned char)x.expr[j];
			if (c < 0x21 || c > 0x7e)
				return bad(&x, j, "unexpected character");
			j++;
		}
		tok[nt].p = x.expr + i, tok[nt].n = j - i;
		nt++;
		i = j;
	}
	if (nt == 0)
		return bad(&x, 0, "the schedule is empty");
	size_t col0 = (size_t)(tok[0].p - x.expr);

	/* shorthands */
	static const char *const shorthand[] = {"hourly", "daily", "weekly", "monthly"};
	for (size_t k = 0; k < 4; k++) {
		if (tok[0].n != strlen(shorthand[k]) ||
		    strncmp(tok[0].p, shorthand[k], tok[0].n) != 0)
			continue;
		size_t t = 1;
		if (k == 0) {
			out->hours = ALL_HOURS; /* minute 0 of every hour */
		} else if (t < nt && classify(tok[t].p, tok[t].n) == TK_TIME) {
			int rc = time_tok(&x, tok[t].p, tok[t].n, (size_t)(tok[t].p - x.expr));
			if (rc < 0)
				return rc;
			t++;
		}
		if (k == 2)
			out->wdays = 1u << 1; /* Monday */
		if (k == 3)
			out->mdays = 1u << 1;
		if (t < nt) {
			if (classify(tok[t].p, tok[t].n) != TK_ZONE)
				return bad(&x, (size_t)(tok[t].p - x.expr),
				           "expected %s after \"%s\"",
				           k == 0 ? "nothing or a time zone"
				                  : "a time (02:00) or a time zone",
				           shorthand[k]);
			int rc = zone_tok(&x, tok[t].p, tok[t].n, (size_t)(tok[t].p - x.expr));
			if (rc < 0)
				return rc;
			t++;
		}
		if (t < nt)
			return bad(&x, (size_t)(tok[t].p - x.expr), "unexpected \"%.*s\"",
			           (int)(tok[t].n > 20 ? 20 : tok[t].n), tok[t].p);
		return 0;
	}
	(void)col0;

	/* [WEEKDAYS] [DATE] [TIME] [ZONE], in this order */
	enum tok_kind last = TK_WDAYS;
	bool seen_any = false;
	for (size_t t = 0; t < nt; t++) {
		size_t col = (size_t)(tok[t].p - x.expr);
		enum tok_kind k = classify(tok[t].p, tok[t].n);
		if (k == TK_BAD)
			return bad(&x, col,
			           "expected a weekday (Mon), a date (*-*-01), a time (02:00) or a "
			           "time zone");
		if (seen_any && k <= last)
			return bad(&x, col,
			           "parts go in the order weekdays, date, time, zone, each at most "
			           "once");
		seen_any = true;
		last = k;
		int rc = 0;
		uint64_t bits;
		switch (k) {
		case TK_WDAYS:
			rc = field(&x, tok[t].p, tok[t].n, col, 0, 6, true, "weekday", &bits);
			out->wdays = (uint8_t)bits;
			break;
		case TK_DATE:
			rc = date_tok(&x, tok[t].p, tok[t].n, col);
			break;
		case TK_TIME:
			rc = time_tok(&x, tok[t].p, tok[t].n, col);
			break;
		default:
			rc = zone_tok(&x, tok[t].p, tok[t].n, col);
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (last == TK_ZONE && nt == 1)
		return bad(&x, col0, "a time zone alone is not a schedule");
	return 0;
}

/* ---- next run ---- */

static int offset_at(const struct sched *s, time_t t, long *off)
{
	if (pw_zone_local(s->zone, t, NULL, off, NULL) < 0) {
		pw_error(PW_E_CONFIG, "could not read the time zone \"%s\"",
		         s->zone[0] ? s->zone : "(local)");
		return pw_error_hint("Check that tzdata is installed and TZ names a zone.");
	}
	return 0;
}

/*
 * The instant of the wall time w (seconds since 1970 as if the zone were UTC): the one
 * instant, the first of two (autumn), or the end of the gap (spring).
 */
static int wall_to_utc(const struct sched *s, time_t w, time_t *out)
{
	long oa, ob, check;
	int rc;
	if ((rc = offset_at(s, w - 86400, &oa)) < 0 || (rc = offset_at(s, w + 86400, &ob)) < 0)
		return rc;
	time_t ta = w - oa, tb = w - ob;
	bool va, vb;
	if ((rc = offset_at(s, ta, &check)) < 0)
		return rc;
	va = check == oa;
	if ((rc = offset_at(s, tb, &check)) < 0)
		return rc;
	vb = check == ob;
	if (va && vb) {
		*out = ta < tb ? ta : tb;
		return 0;
	}
	if (va || vb) {
		*out = va ? ta : tb;
		return 0;
	}
	/* in a gap: the first instant with the later offset */
	time_t lo = w - 86400, hi = w + 86400;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if ((rc = offset_at(s, mid, &check)) < 0)
			return rc;
		if (check == ob)
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return 0;
}

static bool day_matches(const struct sched *s, long day)
{
	struct tm tm;
	pw_time_utc((time_t)day * 86400, &tm);
	int year = tm.tm_year + 1900;
	return year >= s->year_lo && year <= s->year_hi && (s->months >> (tm.tm_mon + 1)) & 1 &&
	       (s->mdays >> tm.tm_mday) & 1 && (s->wdays >> tm.tm_wday) & 1;
}

static long floor_div(long long a, long b)
{
	long long q = a / b;
	return (long)(q - ((a % b) != 0 && ((a < 0) != (b < 0))));
}

int sched_next(const struct sched *s, time_t after, time_t *next)
{
	long off;
	int rc = offset_at(s, after, &off);
	if (rc < 0)
		return rc;
	long first = floor_div((long long)after + off, 86400) - 1;
	for (long day = first; day < first + SCHED_HORIZON_DAYS; day++) {
		if (!day_matches(s, day))
			continue;
		time_t base = (time_t)day * 86400;
		long o1, o2;
		if ((rc = offset_at(s, base - 86400, &o1)) < 0 ||
		    (rc = offset_at(s, base + 2 * 86400, &o2)) < 0)
			return rc;
		bool steady = o1 == o2;
		for (int h = 0; h < 24; h++) {
			if (!((s->hours >> h) & 1))
				continue;
			for (int m = 0; m < 60; m++) {
				if (!((s->minutes >> m) & 1))
					continue;
				time_t w = base + h * 3600 + m * 60, t;
				if (w + 14 * 3600 <= after)
					continue; /* at least 12 hours before `after` in any zone */
				if (steady) {
					t = w - o1;
					if (t <= after)
						continue;
					long check;
					if ((rc = offset_at(s, t, &check)) < 0)
						return rc;
					if (check == o1) {
						*next = t;
						return 0;
					}
					steady =
					    false; /* two changes in three days: ask each time */
				}
				if ((rc = wall_to_utc(s, w, &t)) < 0)
					return rc;
				if (t > after) {
					*next = t;
					return 0;
				}
			}
		}
	}
	char shown[SCHED_EXPR_MAX + 8];
	pw_str_printable(shown, sizeof shown, s->text);
	pw_error(PW_E_CONFIG, "schedule \"%s\" never runs (no match within %ld years)", shown,
	         SCHED_HORIZON_DAYS / 366);
	return pw_error_hint("Check the date: a day that no month has (*-02-30) never comes.");
}

int sched_interval(const struct sched *s, time_t t, long *seconds)
{
	time_t a, b;
	int rc = sched_next(s, t, &a);
	if (rc == 0)
		rc = sched_next(s, a, &b);
	if (rc == 0)
		*seconds = (long)(b - a);
	return rc;
}

long sched_jitter(const char *stanza, const char *kind, time_t slot, long jitter)
{
	if (jitter <= 0)
		return 0;
	char msg[256];
	int n = snprintf(msg, sizeof msg, "pgward-jitter\n%s\n%s\n%lld", stanza ? stanza : "",
	                 kind ? kind : "", (long long)slot);
	if (n < 0)
		return 0;
	uint8_t h[PW_SHA256_LEN];
	if (pw_sha256(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, h) < 0)
		return 0;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return (long)(v % (uint64_t)jitter);
}

int sched_parse_duration(const char *s, const char *what, long *out)
{
	const char *p = s ? s : "";
	long v = 0;
	const char *q = p;
	while (*q >= '0' && *q <= '9' && q - p < 7)
		v = v * 10 + (*q++ - '0');
	long unit = 0;
	if (q > p) {
		if (*q == 0 && v == 0)
			unit = 1;
		else if (q[0] && !q[1])
			unit = q[0] == 's' ? 1 : q[0] == 'm' ? 60 : q[0] == 'h' ? 3600 : 0;
	}
	if (!unit || v * unit > 7 * 86400L) {
		char shown[40];
		pw_str_printable(shown, sizeof shown, p);
		pw_error(PW_E_CONFIG, "%s: bad duration \"%s\"", what, shown);
		return pw_error_hint("Write a number with s, m or h (\"10m\", \"90s\"), at most a "
		                     "week; 0 for none.");
	}
	*out = v * unit;
	return 0;
}

int sched_parse_keep(const char *s, const char *what, long *out)
{
	const char *p = s ? s : "";
	long v = 0;
	const char *q = p;
	while (*q >= '0' && *q <= '9' && q - p < 7)
		v = v * 10 + (*q++ - '0');
	long unit = 0;
	if (q > p && q[0] && !q[1])
		unit = q[0] == 'h'   ? 3600
		       : q[0] == 'd' ? 86400
		       : q[0] == 'w' ? 7 * 86400
		       : q[0] == 'y' ? 365 * 86400
		                     : 0;
	if (!unit || v < 1 || v > SCHED_KEEP_MAX / unit) {
		char shown[40];
		pw_str_printable(shown, sizeof shown, p);
		pw_error(PW_E_CONFIG, "%s: bad keep \"%s\"", what, shown);
		return pw_error_hint(
		    "Write a number with h, d, w or y (365 days): \"36h\", \"30d\", "
		    "\"12w\", \"1y\"; from 1 hour to 100 years.");
	}
	*out = v * unit;
	return 0;
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return n == strlen(w) && strncasecmp(p, w, n) == 0;
}

PW_PRINTF(3, 4) static int bad_entry(const char *what, const char *entry, const char *fmt, ...)
{
	char why[160], shown[SCHED_EXPR_MAX + 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	pw_str_printable(shown, sizeof shown, entry);
	pw_error(PW_E_CONFIG, "%s: bad schedule entry \"%s\": %s", what, shown, why);
	return pw_error_hint("Separate entries with \";\"; after an entry's calendar expression "
	                     "write \"keep DURATION\" and \"tag NAME\" (backup-schedule only): "
	                     "\"hourly keep 2d; daily 02:00 keep 30d; Sun 03:00 keep 12w tag "
	                     "weekly\" (docs/service.md).");
}

/* One entry at e[0..n): the expression into *s, the clauses into *t. */
static int parse_entry(const char *e, size_t n, const char *what, bool with_tags, struct sched *s,
                       struct sched_tag *t)
{
	char buf[SCHED_EXPR_MAX + 128];
	memset(t, 0, sizeof *t);
	if (n >= sizeof buf) {
		pw_strlcpy(buf, e, 48);
		return bad_entry(what, buf, "longer than %zu bytes", sizeof buf - 1);
	}
	memcpy(buf, e, n);
	buf[n] = 0;
	char *entry = pw_trim(buf);
	if (!*entry)
		return bad_entry(what, entry, "an entry is empty");
	/* the clauses start at the first word "keep" or "tag": no calendar word is either */
	char *clause = NULL;
	for (char *p = entry; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t w = strcspn(p, " \t");
		if (w && (word_is(p, w, "keep") || word_is(p, w, "tag"))) {
			clause = p;
			break;
		}
		p += w;
	}
	char expr[SCHED_EXPR_MAX + 128], whole[SCHED_EXPR_MAX + 128];
	pw_strlcpy(expr, entry, sizeof expr);
	pw_strlcpy(whole, entry, sizeof whole); /* for messages: the clauses are cut up below */
	if (clause)
		expr[clause - entry] = 0;
	char *x = pw_trim(expr);
	if (!*x)
		return bad_entry(what, whole, "no calendar expression before \"%.8s\"", clause);
	int rc = sched_parse(x, what, s);
	if (rc < 0)
		return rc;
	bool has_keep = false, has_tag = false;
	while (clause && *clause) {
		if (!with_tags)
			return bad_entry(what, whole,
			                 "keep and tag belong to backup-schedule entries");
		char *save, *word = strtok_r(clause, " \t", &save),
		            *arg = strtok_r(NULL, " \t", &save);
		if (!word)
			break;
		bool is_keep = strcasecmp(word, "keep") == 0, is_tag = strcasecmp(word, "tag") == 0;
		if (!is_keep && !is_tag)
			return bad_entry(what, whole, "\"%.20s\" is neither keep nor tag", word);
		if ((is_keep && has_keep) || (is_tag && has_tag))
			return bad_entry(what, whole, "%s is given twice", word);
		if (!arg)
			return bad_entry(what, whole, "%s needs a value", word);
		if (is_keep) {
			char w2[SCHED_EXPR_MAX + 48];
			snprintf(w2, sizeof w2, "%s, entry \"%.60s\"", what, x);
			if ((rc = sched_parse_keep(arg, w2, &t->keep)) < 0)
				return rc;
			has_keep = true;
		} else {
			if (strlen(arg) >= sizeof t->name)
				return bad_entry(what, whole, "the tag is longer than %d bytes",
				                 SCHED_TAG_MAX - 1);
			pw_strlcpy(t->name, arg, sizeof t->name);
			has_tag = true;
		}
		clause = save;
	}
	if (with_tags && !has_tag && has_keep) {
		size_t w = strcspn(x, " \t");
		static const char *const named[] = {"hourly", "daily", "weekly", "monthly"};
		for (size_t i = 0; i < sizeof named / sizeof *named; i++)
			if (word_is(x, w, named[i]))
				pw_strlcpy(t->name, named[i], sizeof t->name);
	}
	if (has_keep && !t->name[0])
		return bad_entry(what, whole, "a keep needs a name: add \"tag NAME\"");
	return 0;
}

int sched_parse_list(const char *text, const char *what, bool with_tags, struct sched *out,
                     struct sched_tag *tags, size_t *n)
{
	*n = 0;
	const char *p = text ? text : "";
	if (strlen(p) > SCHED_LIST_MAX) {
		char shown[48];
		pw_str_printable(shown, sizeof shown, p);
		pw_error(PW_E_CONFIG, "%s: schedule \"%s...\" is longer than %d bytes", what, shown,
		         SCHED_LIST_MAX);
		return pw_error_hint("Use at most %d entries of at most %d bytes each.",
		                     SCHED_ENTRIES_MAX, SCHED_EXPR_MAX);
	}
	size_t count = 1;
	for (const char *q = p; *q; q++)
		count += *q == ';';
	if (count > SCHED_ENTRIES_MAX) {
		pw_error(PW_E_CONFIG, "%s: more than %d schedule entries", what, SCHED_ENTRIES_MAX);
		return pw_error_hint("Merge entries (\"Mon,Thu 02:00\") or use fewer.");
	}
	for (;;) {
		size_t len = strcspn(p, ";");
		int rc = parse_entry(p, len, what, with_tags, &out[*n], &tags[*n]);
		if (rc < 0)
			return rc;
		for (size_t i = 0; tags[*n].name[0] && i < *n; i++)
			if (strcmp(tags[i].name, tags[*n].name) == 0)
				return bad_entry(
				    what, out[*n].text,
				    "the tag \"%s\" names another entry too (name them "
				    "apart with \"tag NAME\")",
				    tags[i].name);
		(*n)++;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}
