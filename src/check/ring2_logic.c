/* ring2_logic.c - the pure helpers of the second ring's rules (see rules.h): the table of
 * latest minor releases, hba method classification, library lists, cipher lists and
 * log_line_prefix. No I/O; unit-tested. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check/rules.h"
#include "common/str.h"

/* The latest minor release of each major version, as announced by the PostgreSQL project
 * (release of 2026-05-14: 18.4, 17.10, 16.14, 15.18, 14.23; 13 and 12 ended with 13.23 on
 * 2025-11-13 and 12.22 on 2024-11-21). Update the table and its date together. */
#define MINOR_TABLE_DATE ((time_t)1778716800) /* 2026-05-14T00:00:00Z */
static const struct {
	int major, minor;
} minors[] = {{12, 22}, {13, 23}, {14, 23}, {15, 18}, {16, 14}, {17, 10}, {18, 4}};

time_t chk_minor_table_date(void)
{
	return MINOR_TABLE_DATE;
}

int chk_minor_latest(int major)
{
	for (size_t i = 0; i < sizeof minors / sizeof minors[0]; i++)
		if (minors[i].major == major)
			return minors[i].minor;
	return -1;
}

enum chk_minor_state chk_minor_judge(int version_num, time_t now, int *latest, int *behind,
                                     bool *stale)
{
	*latest = -1;
	*behind = 0;
	*stale = difftime(now, MINOR_TABLE_DATE) > 183.0 * 86400.0;
	if (version_num < 100000)
		return CHK_MINOR_UNKNOWN; /* 9.6 and older: version.supported fails them */
	int major = version_num / 10000, minor = version_num % 100;
	*latest = chk_minor_latest(major);
	if (*latest < 0)
		return CHK_MINOR_UNKNOWN;
	if (minor >= *latest)
		return CHK_MINOR_CURRENT;
	*behind = *latest - minor;
	return CHK_MINOR_BEHIND;
}

const char *chk_hba_weak(const struct chk_hba_line *l)
{
	const char *m = l->method ? l->method : "";
	bool local = l->type && strcmp(l->type, "local") == 0;
	if (strcmp(m, "md5") == 0)
		return "md5: the stored MD5 hash is a password equivalent and the challenge is "
		       "replayable offline; use scram-sha-256";
	if (local)
		return NULL;
	if (strcmp(m, "ident") == 0)
		return "ident over TCP: the client's own machine (RFC 1413) says who the user is";
	if (!chk_hba_plaintext(l))
		return NULL;
	if (strcmp(m, "password") == 0)
		return "password without TLS: the password crosses the network in clear";
	if (strcmp(m, "ldap") == 0)
		return "ldap without TLS: the client sends the password in clear";
	if (strcmp(m, "radius") == 0)
		return "radius without TLS: the client sends the password in clear";
	if (strcmp(m, "pam") == 0 || strcmp(m, "bsd") == 0)
		return "pam/bsd without TLS: the client sends the password in clear";
	return NULL;
}

bool chk_lib_listed(const char *list, const char *lib)
{
	if (!list || !lib || !*lib)
		return false;
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char item[256];
		if (len < sizeof item) {
			memcpy(item, p, len);
			item[len] = 0;
			char *t = pw_trim(item);
			size_t tl = strlen(t);
			if (tl >= 2 && t[0] == '"' && t[tl - 1] == '"') {
				t[tl - 1] = 0;
				t++;
			}
			const char *base = strrchr(t, '/');
			base = base ? base + 1 : t;
			size_t bl = strlen(base);
			if (bl > 3 && strcmp(base + bl - 3, ".so") == 0)
				bl -= 3;
			if (bl == strlen(lib) && strncmp(base, lib, bl) == 0)
				return true;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

static void add_why(char *why, size_t n, const char *s)
{
	if (!why || !n)
		return;
	size_t l = strlen(why);
	if (l + 3 < n)
		snprintf(why + l, n - l, "%s%s", l ? "; " : "", s);
}

bool chk_cipher_list_weak(const char *list, char *why, size_t n)
{
	static const struct {
		const char *tok, *why;
	} weak[] = {
	    {"ALL", "ALL includes unauthenticated and export-grade suites"},
	    {"COMPLEMENTOFALL", "COMPLEMENTOFALL adds the NULL ciphers"},
	    {"eNULL", "eNULL: no encryption"},
	    {"NULL", "NULL: no encryption"},
	    {"aNULL", "aNULL: no authentication (anyone in the middle)"},
	    {"EXPORT", "EXPORT: 40/56-bit export ciphers"},
	    {"EXP", "EXP: 40/56-bit export ciphers"},
	    {"LOW", "LOW: 56/64-bit ciphers"},
	    {"MEDIUM", "MEDIUM: 128-bit ciphers without forward secrecy or with weak modes"},
	    {"RC4", "RC4: broken stream cipher"},
	    {"DES", "DES: 56-bit"},
	    {"3DES", "3DES: 64-bit blocks (Sweet32)"},
	    {"MD5", "MD5 MACs"},
	};
	if (why && n)
		why[0] = 0;
	if (!list)
		return false;
	bool found = false;
	char buf[1024];
	pw_strlcpy(buf, list, sizeof buf);
	for (size_t w = 0; w < sizeof weak / sizeof weak[0]; w++) {
		bool added = false, removed = false;
		const char *p = buf;
		while (*p) {
			size_t len = strcspn(p, ": ,");
			if (len) {
				char tok[128];
				if (len < sizeof tok) {
					memcpy(tok, p, len);
					tok[len] = 0;
					const char *t = tok;
					bool neg = *t == '!' || *t == '-';
					bool move = *t == '+';
					if (neg || move)
						t++;
					/* a token is a "+"-joined set of attributes: a weak one anywhere
					 * in it selects weak suites (HIGH+MEDIUM is an intersection, but
					 * rare; judged weak) */
					char part[128];
					pw_strlcpy(part, t, sizeof part);
					for (char *s = part, *sp; s; s = sp) {
						sp = strchr(s, '+');
						if (sp)
							*sp++ = 0;
						if (strcmp(s, weak[w].tok) == 0) {
							if (neg)
								removed = true;
							else if (!move)
								added = true;
						}
					}
				}
			}
			p += len;
			if (*p)
				p++;
		}
		if (added && !removed) {
			found = true;
			if (why)
				add_why(why, n, weak[w].why);
		}
	}
	return found;
}

bool chk_cipher_weak(const char *cipher)
{
	if (!cipher || !*cipher)
		return false;
	if (strncmp(cipher, "TLS_", 4) == 0)
		return false; /* TLS 1.3 suites: all AEAD with forward secrecy */
	bool fs = strncmp(cipher, "ECDHE-", 6) == 0 || strncmp(cipher, "DHE-", 4) == 0;
	bool aead = strstr(cipher, "GCM") || strstr(cipher, "CHACHA20") || strstr(cipher, "CCM");
	return !(fs && aead);
}

bool chk_log_prefix_missing(const char *prefix, char *missing, size_t n)
{
	bool time_ = false, user = false, db = false, proc = false, client = false;
	for (const char *p = prefix ? prefix : ""; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		while (*p == '-' || (*p >= '0' && *p <= '9'))
			p++; /* padding, e.g. %-10u */
		switch (*p) {
		case 'm':
		case 't':
		case 'n':
			time_ = true;
			break;
		case 'u':
			user = true;
			break;
		case 'd':
			db = true;
			break;
		case 'p':
		case 'c':
			proc = true;
			break;
		case 'h':
		case 'r':
			client = true;
			break;
		case 0:
			p--;
			break;
		default:
			break;
		}
	}
	if (missing && n)
		missing[0] = 0;
	if (!time_)
		add_why(missing, n, "time (%m)");
	if (!user)
		add_why(missing, n, "user (%u)");
	if (!db)
		add_why(missing, n, "database (%d)");
	if (!proc)
		add_why(missing, n, "process (%p)");
	if (!client)
		add_why(missing, n, "client (%h)");
	return !(time_ && user && db && proc && client);
}

/* address bytes and prefix length of an hba line (IPv4 or IPv6 with a netmask); false when
 * the line names a host, a keyword or nothing */
static bool hba_net(const struct chk_hba_line *l, unsigned char addr[16], int *fam, int *bits)
{
	if (!l->address || !l->netmask)
		return false;
	*bits = chk_netmask_bits(l->netmask);
	if (*bits < 0)
		return false;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, l->address, addr) == 1)
		*fam = 4;
	else if (inet_pton(AF_INET6, l->address, addr) == 1)
		*fam = 6;
	else
		return false;
	return true;
}

bool chk_hba_covers(const struct chk_hba_line *outer, const struct chk_hba_line *inner)
{
	if (!outer->type || !inner->type || strcmp(outer->type, "local") == 0 ||
	    strcmp(inner->type, "local") == 0)
		return false;
	/* "host" matches every TCP connection; the others only their kind */
	if (strcmp(outer->type, "host") != 0 && strcmp(outer->type, inner->type) != 0)
		return false;
	if (outer->address && strcmp(outer->address, "all") == 0)
		return true;
	unsigned char a[16], b[16];
	int fa, fb, ba, bb;
	if (!hba_net(outer, a, &fa, &ba) || !hba_net(inner, b, &fb, &bb) || fa != fb || ba > bb)
		return false;
	for (int i = 0; i < ba; i++) {
		int byte = i / 8, bit = 7 - i % 8;
		if (((a[byte] >> bit) & 1) != ((b[byte] >> bit) & 1))
			return false;
	}
	return true;
}

bool chk_list_has(const char *list, const char *item)
{
	if (!list || !item)
		return false;
	size_t n = strlen(item);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, item, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}
