/* err.c - the thread-local error record and the error-code table. */
#include "common/err.h"
#include "common/assert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW_ERR_MSG_MAX 1024
_Static_assert(sizeof(((struct pw_error_saved *)0)->msg) == PW_ERR_MSG_MAX, "same size");

static _Thread_local struct {
	int code;
	char msg[PW_ERR_MSG_MAX];
	char hint[PW_ERR_MSG_MAX];
} cur;

static const struct {
	int code;
	const char *name;
	const char *summary;
} table[] = {
#define PW_ERROR(name, code, summary) {code, #name, summary},
#include "common/errors.def"
#undef PW_ERROR
};

int pw_error(int code, const char *fmt, ...)
{
	va_list ap;
	if (code <= 0)
		code = PW_E_INTERNAL;
	cur.code = code;
	va_start(ap, fmt);
	vsnprintf(cur.msg, sizeof cur.msg, fmt, ap);
	va_end(ap);
	cur.hint[0] = '\0';
	return -code;
}

int pw_error_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cur.hint, sizeof cur.hint, fmt, ap);
	va_end(ap);
	return -(cur.code ? cur.code : PW_E_INTERNAL);
}

int pw_error_context(const char *fmt, ...)
{
	char ctx[PW_ERR_MSG_MAX];
	char old[PW_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, cur.msg, sizeof old);
	size_t n = strlen(ctx);
	if (n > sizeof cur.msg - 3)
		n = sizeof cur.msg - 3;
	memcpy(cur.msg, ctx, n);
	memcpy(cur.msg + n, ": ", 2);
	size_t room = sizeof cur.msg - n - 2;
	size_t m = strnlen(old, room - 1);
	memcpy(cur.msg + n + 2, old, m);
	cur.msg[n + 2 + m] = '\0';
	return -(cur.code ? cur.code : PW_E_INTERNAL);
}

int pw_error_code(void)
{
	return cur.code;
}

const char *pw_error_message(void)
{
	return cur.msg;
}

const char *pw_error_hint_text(void)
{
	return cur.hint;
}

void pw_error_clear(void)
{
	cur.code = 0;
	cur.msg[0] = '\0';
	cur.hint[0] = '\0';
}

const char *pw_errcode_name(int code)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].code == code)
			return table[i].name;
	return NULL;
}

const char *pw_errcode_summary(int code)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].code == code)
			return table[i].summary;
	return NULL;
}

int pw_errcode_at(size_t i, int *code, const char **name, const char **summary)
{
	if (i >= sizeof table / sizeof table[0])
		return -1;
	*code = table[i].code;
	*name = table[i].name;
	*summary = table[i].summary;
	return 0;
}

void pw_error_save(struct pw_error_saved *s)
{
	s->code = cur.code;
	memcpy(s->msg, cur.msg, sizeof s->msg);
	memcpy(s->hint, cur.hint, sizeof s->hint);
}

void pw_error_restore(const struct pw_error_saved *s)
{
	cur.code = s->code;
	memcpy(cur.msg, s->msg, sizeof cur.msg);
	memcpy(cur.hint, s->hint, sizeof cur.hint);
	if (!s->code)
		pw_error_clear();
}

const char *pw_strerror_r(int e, char *buf, size_t size)
{
	/* the GNU strerror_r (_GNU_SOURCE): returns the text, in buf or a static string */
	return strerror_r(e, buf, size);
}

void pw_assert_failed(const char *cond, const char *file, int line)
{
	/* a debug build only (common/assert.h); stderr directly: the logger may be the culprit */
	fprintf(stderr, "pgward: assertion failed: %s (%s:%d)\n", cond, file, line);
	fflush(stderr);
	abort();
}
