/*
 * progress.h - the live progress line of long commands (backup, restore, verify): one line on
 * stderr that fits the terminal's width at every refresh, with the phase, what is being worked
 * on, bytes done, the rate, and a percentage and ETA only when an honest total is known.
 *
 * On when stderr is a terminal, unless --no-progress / progress = no / PGWARD_PROGRESS=no (or
 * the older NO_PROGRESS); --progress forces it on. TERM=dumb gets no escape sequences (the
 * line is redrawn with a carriage return and blanks). The line never holds a raw name: names
 * from a database or a repository go through pw_str_printable like every printed string.
 */
#ifndef PW_CMD_PROGRESS_H
#define PW_CMD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_ctx;

struct pw_progress_state {
	const char *phase; /* "connecting", "dumping", "uploading", "committing", "restoring"... */
	const char *item;  /* what is being worked on (a table), or NULL */
	size_t items_done, items_total; /* e.g. tables; total 0 = not known */
	const char *items_what;         /* "tables" */
	uint64_t bytes;                 /* bytes done */
	uint64_t bytes_total;           /* an honest total of the same bytes, or 0 */
	double seconds;                 /* since the start */
	bool done;                      /* the last line: ends with a newline */
};

/* Whether this command shows progress (see above). */
bool pw_progress_enabled(const struct pw_ctx *ctx);

/* The line for a terminal of width columns (at least 20 are assumed), without escapes or
 * newline, into out (size > width). Exposed for tests. */
void pw_progress_format(const struct pw_progress_state *s, int width, char *out, size_t size);

/* Draw the line on stderr (the terminal's width is read at each call). */
void pw_progress_draw(const struct pw_progress_state *s);

#endif
