/*
 * buf.h - growable byte buffers with a hard cap, so outside input (config,
 * headers, JSON, XML) can never grow memory without bound.
 */
#ifndef PW_COMMON_BUF_H
#define PW_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct pw_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len; appends past it fail with PW_E_LIMIT */
};

#define PW_BUF_INIT(maxlen) ((struct pw_buf){NULL, 0, 0, (maxlen)})

/* Append bytes; -PW_E_LIMIT (recorded) if the cap would be exceeded. */
int pw_buf_append(struct pw_buf *b, const void *p, size_t n);
/* Room for exactly n more bytes, when the final size is known (e.g. from a signed length):
 * growing by doubling would copy at every step and could allocate nearly twice the size,
 * all of which a wiping free then touches. -PW_E_LIMIT (recorded) past the cap. */
int pw_buf_reserve(struct pw_buf *b, size_t n);
int pw_buf_putc(struct pw_buf *b, char c);
int pw_buf_printf(struct pw_buf *b, const char *fmt, ...) PW_PRINTF(2, 3);
/* Ensure data is NUL-terminated after len (not counted in len); returns the data as a string. */
const char *pw_buf_str(struct pw_buf *b);
/* Drop the first n bytes. */
void pw_buf_consume(struct pw_buf *b, size_t n);
void pw_buf_reset(struct pw_buf *b);
/* Free the storage (wiping it first when wipe is true). The struct is left empty, same cap. */
void pw_buf_free(struct pw_buf *b, int wipe);

#endif
