/*
 * err.h - numbered error codes and the thread-local error record.
 *
 * A failing function records what went wrong with pw_error() and returns its
 * result (-code); callers may prepend context with pw_error_context() on the
 * way up; main prints the record and exits with the code. Messages follow
 * PostgreSQL's style: lowercase, no final period, names quoted. A hint is a
 * full sentence telling the user what to do.
 */
#ifndef PW_COMMON_ERR_H
#define PW_COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum pw_errcode {
#define PW_ERROR(name, code, summary) PW_E_##name = code,
#include "common/errors.def"
#undef PW_ERROR
};

#if defined(__GNUC__)
#define PW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PW_PRINTF(f, a)
#endif

/* Record an error (replacing any earlier one) and return -code. */
int pw_error(int code, const char *fmt, ...) PW_PRINTF(2, 3);
/* Set the hint of the current error (a full sentence). Returns -code of the current error. */
int pw_error_hint(const char *fmt, ...) PW_PRINTF(1, 2);
/* Prepend "context: " to the current message. Returns -code of the current error. */
int pw_error_context(const char *fmt, ...) PW_PRINTF(1, 2);

/* Current error: code (0 if none), message and hint ("" if none). */
int pw_error_code(void);
const char *pw_error_message(void);
const char *pw_error_hint_text(void);
void pw_error_clear(void);

/*
 * A failure we go on without, named instead of a bare pw_error_clear(): if an error is
 * recorded, logs "<what> failed (going on): <message>" and clears it. pw_best_effort logs at
 * debug (nothing the user must act on: an optional query, a clean-up, an expected "not
 * found"); pw_best_effort_warn at warning (the user should know: something was left behind
 * or skipped). Where the message is shown anyway (copied into a report, a finding or a
 * warning), a plain pw_error_clear() after it is right: nothing is swallowed there.
 */
void pw_best_effort(const char *what_fmt, ...) PW_PRINTF(1, 2);
void pw_best_effort_warn(const char *what_fmt, ...) PW_PRINTF(1, 2);

/* Keep the current error across cleanup that may record (and clear) errors of its own:
 * pw_error_save before the cleanup, pw_error_restore after (which clears the record when
 * there was no error). */
struct pw_error_saved {
	int code;
	char msg[1024];
	char hint[1024];
};
void pw_error_save(struct pw_error_saved *s);
void pw_error_restore(const struct pw_error_saved *s);

/* Name ("AGE_HEADER") and summary of a code; NULL for an unknown code. */
const char *pw_errcode_name(int code);
const char *pw_errcode_summary(int code);
/* Iterate the table: fills code, name and summary for index i; returns 0, or -1 past the end. */
int pw_errcode_at(size_t i, int *code, const char **name, const char **summary);

/* strerror without its static buffer (banned.h): the text of errno value e, in buf. */
const char *pw_strerror_r(int e, char *buf, size_t size);
/* The same in a buffer that lives until the end of the caller's block (an argument). */
#define pw_strerror(e) pw_strerror_r((e), (char[128]){0}, 128)

/* PW_CHECK(): believed true; in every build, records an internal error and returns it if false.
 * PW_ASSERT, for what is proven, is in common/assert.h (which says when to use which). */
#define PW_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return pw_error(PW_E_INTERNAL, "internal check failed: %s (%s:%d)", #cond, \
			                __FILE__, __LINE__);                                       \
	} while (0)

#endif
