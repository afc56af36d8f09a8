/* log.c - leveled, redacted logging. */
#include "common/log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/secret.h"

#define MASK "********"

static enum pw_log_level cur_level = PW_LOG_WARN;
static void (*cur_sink)(enum pw_log_level, const char *);

void pw_log_set_level(enum pw_log_level level)
{
	cur_level = level;
}

enum pw_log_level pw_log_get_level(void)
{
	return cur_level;
}

int pw_log_parse_level(const char *s, enum pw_log_level *out)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum pw_log_level)i;
			return 0;
		}
	pw_error(PW_E_CONFIG, "invalid log level \"%s\"", s);
	return pw_error_hint("Use one of error, warn, info or debug.");
}

void pw_log_set_sink(void (*sink)(enum pw_log_level, const char *))
{
	cur_sink = sink;
}

void pw_log(enum pw_log_level level, const char *fmt, ...)
{
	if (level > cur_level || !cur_sink)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	char *clean = pw_redact(line);
	cur_sink(level, clean);
	pw_free(clean);
}

struct redact_ctx {
	char *s;
};

static void mask_all(char *s, const char *needle, size_t nlen)
{
	/* Overwrite each occurrence in place with '\x01' markers; expanded later. */
	char *p = s;
	while ((p = strstr(p, needle)) != NULL) {
		memset(p, '\x01', nlen);
		p += nlen;
	}
}

static void mask_secret(const char *text, size_t len, void *arg)
{
	struct redact_ctx *c = arg;
	mask_all(c->s, text, len);
}

static int is_url_scheme_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

char *pw_redact(const char *in)
{
	char *s = pw_strdup(in);
	struct redact_ctx c = {s};
	pw_secret_foreach(mask_secret, &c);

	/* password=VALUE (libpq conninfo), value quoted or up to whitespace */
	for (char *p = s; (p = strcasestr(p, "password")) != NULL;) {
		char *q = p + 8;
		while (*q == ' ')
			q++;
		if (*q != '=') {
			p += 8;
			continue;
		}
		q++;
		while (*q == ' ')
			q++;
		if (*q == '\'') {
			char *e = q + 1;
			while (*e && *e != '\'') {
				if (*e == '\\' && e[1])
					*e++ = '\x01';
				*e++ = '\x01';
			}
			p = e;
		} else {
			char *e = q;
			while (*e && !isspace((unsigned char)*e) && *e != '&')
				*e++ = '\x01';
			p = e;
		}
	}

	/* scheme://user:password@ */
	for (char *p = s; (p = strstr(p, "://")) != NULL; p += 3) {
		if (p == s || !is_url_scheme_char(p[-1]))
			continue;
		char *auth = p + 3;
		size_t alen = strcspn(auth, "/?# \t\n");
		char *at = memchr(auth, '@', alen);
		if (!at)
			continue;
		char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon)
			for (char *e = colon + 1; e < at; e++)
				*e = '\x01';
	}

	/* AGE-SECRET-KEY-1... (bech32, uppercase) */
	for (char *p = s; (p = strstr(p, "AGE-SECRET-KEY-1")) != NULL;) {
		char *e = p + 16;
		while (isalnum((unsigned char)*e))
			*e++ = '\x01';
		p = e;
	}

	/* PWSK-1:... (a pgward signing key, base64) */
	for (char *p = s; (p = strstr(p, "PWSK-1:")) != NULL;) {
		char *e = p + 7;
		while (isalnum((unsigned char)*e) || *e == '+' || *e == '/' || *e == '=')
			*e++ = '\x01';
		p = e;
	}

	/* Expand runs of markers into one mask. */
	struct pw_buf out = PW_BUF_INIT(SIZE_MAX / 2);
	for (char *p = s; *p;) {
		if (*p == '\x01') {
			pw_buf_append(&out, MASK, strlen(MASK));
			while (*p == '\x01')
				p++;
		} else {
			pw_buf_putc(&out, *p++);
		}
	}
	pw_buf_str(&out);
	pw_free(s);
	return (char *)out.data;
}

PW_PRINTF(2, 0) static void best_effort(enum pw_log_level level, const char *fmt, va_list ap)
{
	if (!pw_error_code())
		return;
	char what[256];
	vsnprintf(what, sizeof what, fmt, ap);
	pw_log(level, "%s failed (going on): %s", what, pw_error_message());
	pw_error_clear();
}

void pw_best_effort(const char *what_fmt, ...)
{
	va_list ap;
	va_start(ap, what_fmt);
	best_effort(PW_LOG_DEBUG, what_fmt, ap);
	va_end(ap);
}

void pw_best_effort_warn(const char *what_fmt, ...)
{
	va_list ap;
	va_start(ap, what_fmt);
	best_effort(PW_LOG_WARN, what_fmt, ap);
	va_end(ap);
}
