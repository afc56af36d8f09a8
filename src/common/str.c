/* str.c - small string helpers. */
#include "common/str.h"

#include "common/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

size_t pw_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = 0;
	}
	return len;
}

bool pw_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

bool pw_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int pw_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int pw_parse_size(const char *s, uint64_t *out)
{
	char digits[32];
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof digits)
		return -1;
	memcpy(digits, s, n);
	digits[n] = 0;
	uint64_t v;
	if (pw_parse_u64(digits, &v) < 0)
		return -1;
	const char *u = s + n;
	unsigned shift = 0;
	if (*u) {
		switch (toupper((unsigned char)*u)) {
		case 'B':
			shift = 0;
			break;
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		case 'T':
			shift = 40;
			break;
		default:
			return -1;
		}
		if (toupper((unsigned char)*u) != 'B') {
			u++;
			if (*u == 'i' || *u == 'I')
				u++;
			if (*u == 'B' || *u == 'b')
				u++;
		} else {
			u++;
		}
		if (*u)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

int pw_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = {"y", "yes", "true", "on", "1"};
	static const char *no[] = {"n", "no", "false", "off", "0"};
	for (size_t i = 0; i < 5; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

char *pw_trim(char *s)
{
	char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	size_t n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	memmove(s, p, n);
	s[n] = 0;
	return s;
}

void pw_human_size(uint64_t bytes, const char *sep, char *out, size_t size)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, size, i ? "%.1f%s%s" : "%.0f%s%s", v, sep, units[i]);
}

size_t pw_utf8_seq(const unsigned char *p, size_t avail, unsigned *cp)
{
	if (!avail)
		return 0;
	unsigned c = p[0];
	size_t n;
	unsigned min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, min = 0x80, c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, min = 0x800, c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool pw_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	for (size_t i = 0; i < n;) {
		size_t l = pw_utf8_seq(p + i, n - i, &cp);
		if (!l || cp == 0)
			return false;
		i += l;
	}
	return true;
}

/* Append the n bytes at p to out (size bytes, at *len), truncating with "..." when full. */
static bool put(char *out, size_t size, size_t *len, const char *p, size_t n, bool *cut)
{
	if (*cut)
		return false;
	if (*len + n + 4 > size) { /* keep room for "..." and the NUL */
		if (size >= 4) {
			memcpy(out + (*len < size - 4 ? *len : size - 4), "...", 4);
			*len = (*len < size - 4 ? *len : size - 4) + 3;
		}
		*cut = true;
		return false;
	}
	memcpy(out + *len, p, n);
	*len += n;
	out[*len] = 0;
	return true;
}

const char *pw_str_printable(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;
	bool cut = false;
	if (!size)
		return out;
	out[0] = 0;
	if (!s)
		s = "(null)";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n && !cut;) {
		unsigned cp = 0;
		size_t l = pw_utf8_seq(p + i, n - i, &cp);
		char esc[16];
		if (l == 1 && cp == '\n') {
			put(out, size, &len, "\\n", 2, &cut);
		} else if (l == 1 && cp == '\r') {
			put(out, size, &len, "\\r", 2, &cut);
		} else if (l == 1 && cp == '\t') {
			put(out, size, &len, "\\t", 2, &cut);
		} else if (l == 1 && cp == '\\') {
			put(out, size, &len, "\\\\", 2, &cut);
		} else if (l == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			/* invalid UTF-8, a C0 control (ESC...), DEL or a C1 control: each byte
			 * as \xHH */
			size_t k = l ? l : 1;
			for (size_t j = 0; j < k && !cut; j++) {
				esc[0] = '\\', esc[1] = 'x', esc[2] = hex[p[i + j] >> 4],
				esc[3] = hex[p[i + j] & 15];
				put(out, size, &len, esc, 4, &cut);
			}
			l = k;
		} else {
			put(out, size, &len, (const char *)p + i, l, &cut);
		}
		i += l;
	}
	return out;
}

char *pw_str_printable_dup(const char *s)
{
	size_t size = (s ? strlen(s) : 6) * 4 + 8;
	char *out = pw_malloc(size);
	pw_str_printable(out, size, s);
	return out;
}
