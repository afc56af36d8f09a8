/* logic.c - the checklist's pure parts: severities, thresholds, the end-of-life table, hba
 * line classification, read-only markers. No I/O: unit-tested in tests/unit/test_check.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check/check.h"
#include "common/buf.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};
static const char *const res_names[] = {"pass", "fail", "warn", "skip", "info"};

const char *chk_severity_name(enum chk_severity s)
{
	return (unsigned)s < 5 ? sev_names[s] : "never";
}

int chk_severity_parse(const char *s, enum chk_severity *out)
{
	if (!s)
		return -1;
	for (int i = 0; i < 5; i++)
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (enum chk_severity)i;
			return 0;
		}
	if (strcmp(s, "never") == 0) {
		*out = (enum chk_severity)CHK_SEV_NEVER;
		return 0;
	}
	return -1;
}

const char *chk_result_name(enum chk_result r)
{
	return (unsigned)r < 5 ? res_names[r] : "?";
}

bool chk_fails(const struct chk_finding *f, enum chk_severity threshold)
{
	if ((int)threshold >= CHK_SEV_NEVER)
		return false;
	if (f->result == CHK_SKIP && f->unread)
		return true;
	return (f->result == CHK_FAIL || f->result == CHK_WARN) && f->severity >= threshold;
}

size_t chk_count_failing(const struct chk_report *r, enum chk_severity threshold)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += chk_fails(&r->f[i], threshold);
	return n;
}

/* https://www.postgresql.org/support/versioning/ (final minor release dates) */
static const struct {
	int major;
	int y, m, d;
} eol_table[] = {
    {12, 2024, 11, 21}, {13, 2025, 11, 13}, {14, 2026, 11, 12}, {15, 2027, 11, 11},
    {16, 2028, 11, 9},  {17, 2029, 11, 8},  {18, 2030, 11, 14},
};

time_t chk_eol_date(int major)
{
	for (size_t i = 0; i < sizeof eol_table / sizeof eol_table[0]; i++)
		if (eol_table[i].major == major) {
			struct tm tm = {.tm_year = eol_table[i].y - 1900,
			                .tm_mon = eol_table[i].m - 1,
			                .tm_mday = eol_table[i].d};
			time_t t;
			return pw_time_from_fields(&tm, &t) == 0 ? t : 0;
		}
	return 0;
}

int chk_netmask_bits(const char *netmask)
{
	if (!netmask || !*netmask)
		return -1;
	unsigned char b[16];
	size_t len;
	if (inet_pton(AF_INET, netmask, b) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, netmask, b) == 1)
		len = 16;
	else
		return -1;
	int bits = 0;
	bool ended = false;
	for (size_t i = 0; i < len; i++)
		for (int k = 7; k >= 0; k--) {
			bool one = (b[i] >> k) & 1;
			if (one && ended)
				return -1; /* not contiguous */
			if (one)
				bits++;
			else
				ended = true;
		}
	return bits;
}

static bool is_loopback_addr(const char *a)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, a, b) == 1)
		return b[0] == 127;
	if (inet_pton(AF_INET6, a, b) == 1) {
		static const unsigned char one[16] = {[15] = 1};
		return memcmp(b, one, 16) == 0;
	}
	return false;
}

enum chk_hba_scope chk_hba_scope(const struct chk_hba_line *l)
{
	if (!l->type || strcmp(l->type, "local") == 0)
		return CHK_HBA_LOCAL;
	const char *a = l->address ? l->address : "";
	if (strcmp(a, "all") == 0)
		return CHK_HBA_WORLD;
	if (strcmp(a, "samehost") == 0)
		return CHK_HBA_LOOPBACK;
	if (strcmp(a, "samenet") == 0)
		return CHK_HBA_NARROW;
	unsigned char b[16];
	bool v4 = inet_pton(AF_INET, a, b) == 1;
	bool v6 = !v4 && inet_pton(AF_INET6, a, b) == 1;
	if (!v4 && !v6)
		return CHK_HBA_NARROW; /* a host name or a .domain suffix */
	int bits = chk_netmask_bits(l->netmask);
	if (bits < 0)
		bits = v4 ? 32 : 128;
	if (bits == 0)
		return CHK_HBA_WORLD;
	if (is_loopback_addr(a) && (v6 ? bits == 128 : bits >= 8))
		return CHK_HBA_LOOPBACK;
	if ((v4 && bits < 16) || (v6 && bits < 32))
		return CHK_HBA_WIDE;
	return CHK_HBA_NARROW;
}

bool chk_hba_plaintext(const struct chk_hba_line *l)
{
	/* host and hostnogssenc accept a plain TCP connection; hostssl needs TLS and hostgssenc
	 * GSSAPI encryption */
	return l->type && (strcmp(l->type, "host") == 0 || strcmp(l->type, "hostnossl") == 0 ||
	                   strcmp(l->type, "hostnogssenc") == 0);
}

bool chk_hba_accepts(const struct chk_hba_line *l)
{
	return !l->method || strcmp(l->method, "reject") != 0;
}

static bool icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return true;
	return false;
}

static bool iendswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

bool chk_marked_readonly(const char *name, const char *comment)
{
	if (name &&
	    (icontains(name, "readonly") || icontains(name, "read_only") ||
	     icontains(name, "read-only") || iendswith(name, "_ro") || iendswith(name, "-ro")))
		return true;
	if (!comment || !*comment)
		return false;
	/* {"level":"read-only",...} (pgward credentials), spaces allowed around the colon */
	for (const char *p = strstr(comment, "\"level\""); p; p = strstr(p + 1, "\"level\"")) {
		const char *q = p + 7;
		while (isspace((unsigned char)*q))
			q++;
		if (*q != ':')
			continue;
		q++;
		while (isspace((unsigned char)*q))
			q++;
		if (strncmp(q, "\"read-only\"", 11) == 0)
			return true;
	}
	return icontains(comment, "read-only") || icontains(comment, "readonly");
}

bool chk_search_path_safe(const char *value)
{
	/* the entries of "a, \"b c\", pg_temp" (as proconfig stores them), unquoted */
	char last[128] = "";
	bool only_catalog = true;
	const char *p = value ? value : "";
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		char item[128];
		size_t n = 0;
		if (*p == '"') {
			for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
				if (*p == '"')
					p++; /* "" inside quotes */
				if (n + 1 < sizeof item)
					item[n++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			for (; *p && *p != ',' && *p != ' '; p++)
				if (n + 1 < sizeof item)
					item[n++] = *p;
		}
		item[n] = 0;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		if (*item && strcmp(item, "pg_catalog") != 0)
			only_catalog = false;
		pw_strlcpy(last, item, sizeof last);
	}
	return only_catalog || strcmp(last, "pg_temp") == 0;
}

bool chk_log_setting_on(const char *v)
{
	/* on/true/1 before PostgreSQL 18; a list of aspects (receipt, authentication,
	 * authorization, setup_durations, all) from 18 on; off, false, 0 or empty: off */
	if (!v)
		return false;
	while (*v == ' ')
		v++;
	return *v && strcasecmp(v, "off") != 0 && strcasecmp(v, "false") != 0 &&
	       strcmp(v, "0") != 0 && strcasecmp(v, "no") != 0;
}

/* Does the code point need an escape to stay on one line and out of a terminal's reach? */
static bool unprintable(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029;
}

/* The n bytes at s as the body of a U&"..." identifier: "" for ", \\ for \, \XXXX or
 * \+XXXXXX for what cannot be shown (invalid UTF-8 becomes U+FFFD: such a name cannot be
 * written here, and the statement then fails instead of naming another object). */
static void put_unicode_ident(struct pw_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	pw_buf_printf(b, "U&\"");
	for (size_t i = 0; i < n;) {
		unsigned cp;
		size_t l = pw_utf8_seq(p + i, n - i, &cp);
		if (!l) {
			cp = 0xfffd;
			l = 1;
		}
		if (cp == '"')
			pw_buf_printf(b, "\"\"");
		else if (cp == '\\')
			pw_buf_printf(b, "\\\\");
		else if (unprintable(cp) || cp == 0xfffd)
			pw_buf_printf(b, cp > 0xffff ? "\\+%06X" : "\\%04X", cp);
		else
			pw_buf_append(b, p + i, l);
		i += l;
	}
	pw_buf_printf(b, "\"");
}

static bool needs_unicode(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned cp;
		size_t l = pw_utf8_seq(p + i, n - i, &cp);
		if (!l || unprintable(cp))
			return true;
		i += l;
	}
	return false;
}

char *chk_quote_ident(const char *name)
{
	struct pw_buf b = PW_BUF_INIT(SIZE_MAX / 2);
	size_t n = strlen(name);
	if (needs_unicode(name, n)) {
		put_unicode_ident(&b, name, n);
	} else {
		pw_buf_putc(&b, '"');
		for (const char *p = name; *p; p++) {
			if (*p == '"')
				pw_buf_putc(&b, '"');
			pw_buf_putc(&b, *p);
		}
		pw_buf_putc(&b, '"');
	}
	pw_buf_str(&b);
	return (char *)b.data;
}

char *chk_requote(const char *sql)
{
	struct pw_buf b = PW_BUF_INIT(SIZE_MAX / 2);
	struct pw_buf id = PW_BUF_INIT(SIZE_MAX / 2);
	const char *p = sql ? sql : "";
	while (*p) {
		if (*p != '"') {
			/* outside quotes a server-quoted fragment holds only plain names,
			 * keywords and punctuation; anything unprintable is shown escaped */
			unsigned cp;
			size_t l = pw_utf8_seq((const unsigned char *)p, strlen(p), &cp);
			if (!l || unprintable(cp)) {
				pw_buf_printf(&b, "\\x%02x", (unsigned char)*p);
				p++;
			} else {
				pw_buf_append(&b, p, l);
				p += l;
			}
			continue;
		}
		/* a quoted identifier: up to the quote that is not doubled */
		pw_buf_reset(&id);
		const char *q = p + 1;
		for (; *q; q++) {
			if (*q == '"') {
				if (q[1] == '"') {
					pw_buf_putc(&id, '"');
					q++;
					continue;
				}
				break;
			}
			pw_buf_putc(&id, *q);
		}
		const char *name = pw_buf_str(&id);
		char *quoted = chk_quote_ident(name);
		pw_buf_printf(&b, "%s", quoted);
		pw_free(quoted);
		p = *q ? q + 1 : q;
	}
	pw_buf_free(&id, 0);
	pw_buf_str(&b);
	return (char *)b.data;
}
