/* buf.c - capped growable buffers. */
#include "common/assert.h"
#include "common/buf.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/mem.h"

static int reserve(struct pw_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return pw_error(PW_E_LIMIT, "input exceeds the limit of %zu bytes", b->max);
	size_t need = b->len + extra + 1; /* room for a terminating NUL */
	PW_ASSERT(b->len < b->cap || (b->len == 0 && b->cap == 0));
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = pw_realloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int pw_buf_append(struct pw_buf *b, const void *p, size_t n)
{
	int rc = reserve(b, n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int pw_buf_reserve(struct pw_buf *b, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return pw_error(PW_E_LIMIT, "input exceeds the limit of %zu bytes", b->max);
	size_t need = b->len + n + 1; /* room for a terminating NUL */
	if (need <= b->cap)
		return 0;
	b->data = pw_realloc(b->data, need);
	b->cap = need;
	return 0;
}

int pw_buf_putc(struct pw_buf *b, char c)
{
	return pw_buf_append(b, &c, 1);
}

int pw_buf_printf(struct pw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return pw_error(PW_E_INTERNAL, "bad format string");
	int rc = reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	int m = vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	PW_CHECK(m == n); /* the same format and arguments twice */
	b->len += (size_t)n;
	return 0;
}

const char *pw_buf_str(struct pw_buf *b)
{
	if (!b->data) {
		b->data = pw_malloc(1);
		b->cap = 1;
		b->data[0] = 0;
	}
	return (const char *)b->data;
}

void pw_buf_consume(struct pw_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = 0;
}

void pw_buf_reset(struct pw_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void pw_buf_free(struct pw_buf *b, int wipe)
{
	if (b->data && wipe)
		OPENSSL_cleanse(b->data, b->cap);
	pw_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
