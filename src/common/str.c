/* str.c - small string helpers. */
#include "common/str.h"

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
