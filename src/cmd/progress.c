/* progress.c - one progress line that fits the terminal (see progress.h). */
#include "cmd/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "common/str.h"

bool pw_progress_enabled(const struct pw_ctx *ctx)
{
	if (ctx && pw_cfg_isset(ctx->cfg, PW_OPT_PROGRESS))
		return pw_cfg_bool(ctx->cfg, PW_OPT_PROGRESS);
	return isatty(2) && !getenv("NO_PROGRESS");
}

static void duration(double s, char *out, size_t size)
{
	long t = (long)(s + 0.5);
	if (t < 100)
		snprintf(out, size, "%ld s", t);
	else if (t < 6000)
		snprintf(out, size, "%ld min %02ld s", t / 60, t % 60);
	else
		snprintf(out, size, "%ld h %02ld min", t / 3600, t / 60 % 60);
}

enum { P_PHASE, P_PERCENT, P_ITEMS, P_ITEM, P_BYTES, P_RATE, P_TIME, P__N };

void pw_progress_format(const struct pw_progress_state *s, int width, char *out, size_t size)
{
	char part[P__N][160] = {{0}};
	if (width < 20)
		width = 20;
	if ((size_t)width >= size)
		width = (int)size - 1;
	bool total = s->bytes_total > 0 && s->bytes <= s->bytes_total;
	snprintf(part[P_PHASE], sizeof part[0], "%s", s->phase ? s->phase : "working");
	if (total)
		snprintf(part[P_PERCENT], sizeof part[0], "%3d%%",
		         (int)(100.0 * (double)s->bytes / (double)s->bytes_total));
	if (s->items_total)
		snprintf(part[P_ITEMS], sizeof part[0], "%zu/%zu %s", s->items_done, s->items_total,
		         s->items_what ? s->items_what : "");
	else if (s->items_done)
		snprintf(part[P_ITEMS], sizeof part[0], "%zu %s", s->items_done,
		         s->items_what ? s->items_what : "");
	if (s->item && *s->item)
		pw_str_printable(part[P_ITEM], sizeof part[0], s->item);
	char a[32], b[32];
	pw_human_size(s->bytes, " ", a, sizeof a);
	if (total) {
		pw_human_size(s->bytes_total, " ", b, sizeof b);
		snprintf(part[P_BYTES], sizeof part[0], "%s of %s", a, b);
	} else {
		snprintf(part[P_BYTES], sizeof part[0], "%s", a);
	}
	if (s->seconds > 0.5 && !s->done) {
		pw_human_size((uint64_t)((double)s->bytes / s->seconds), " ", a, sizeof a);
		snprintf(part[P_RATE], sizeof part[0], "%s/s", a);
	}
	if (total && !s->done && s->bytes > 0 && s->seconds > 2) {
		duration(s->seconds * (double)(s->bytes_total - s->bytes) / (double)s->bytes, a,
		         sizeof a);
		snprintf(part[P_TIME], sizeof part[0], "ETA %s", a);
	} else {
		duration(s->seconds, a, sizeof a);
		snprintf(part[P_TIME], sizeof part[0], "%s", a);
	}
	/* until the line fits: drop the rate, shorten the name (to 12 characters, "schema.tabl~"),
	 * drop the time, the name, the count, the bytes, the percentage; cut the phase last */
	static const int steps[] = {P_RATE, -1, P_TIME, P_ITEM, P_ITEMS, P_BYTES, P_PERCENT};
	for (size_t st = 0;; st++) {
		size_t len = strlen(part[P_PHASE]);
		for (int i = P_PERCENT; i < P__N; i++)
			if (*part[i])
				len += (i <= P_ITEMS ? 1 : 2) + strlen(part[i]);
		if (len <= (size_t)width)
			break;
		if (st >= sizeof steps / sizeof *steps) {
			part[P_PHASE][width] = 0;
			break;
		}
		if (steps[st] >= 0) {
			part[steps[st]][0] = 0;
		} else if (*part[P_ITEM]) {
			size_t have = strlen(part[P_ITEM]), over = len - (size_t)width;
			if (have > 12) {
				size_t keep = over < have && have - over > 12 ? have - over : 12;
				/* cut on a character boundary, never inside a UTF-8 sequence */
				while (keep > 1 &&
				       ((unsigned char)part[P_ITEM][keep - 1] & 0xc0) == 0x80)
					keep--;
				part[P_ITEM][keep - 1] = '~';
				part[P_ITEM][keep] = 0;
			}
		}
	}
	size_t n = (size_t)snprintf(out, size, "%s", part[P_PHASE]);
	for (int i = P_PERCENT; i < P__N && n < size; i++) {
		if (!*part[i])
			continue;
		const char *sep = i == P_ITEM && *part[P_ITEMS] ? ": " : i <= P_ITEMS ? " " : ", ";
		if (i == P_ITEM && !*part[P_ITEMS])
			sep = " ";
		n += (size_t)snprintf(out + n, size - n, "%s%s", sep, part[i]);
	}
}

void pw_progress_draw(const struct pw_progress_state *s)
{
	struct winsize ws;
	int width = 80;
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		width = ws.ws_col;
	else if (getenv("COLUMNS"))
		width = (int)strtol(getenv("COLUMNS"), NULL, 10);
	if (width > 300)
		width = 300;
	/* the last column stays free: writing into it wraps on many terminals */
	char line[320];
	pw_progress_format(s, width - 1, line, sizeof line);
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		fprintf(stderr, "\r%-*s\r%s", width - 1, "", line);
	else
		fprintf(stderr, "\r\033[K%s", line);
	if (s->done)
		fputc('\n', stderr);
	fflush(stderr);
}
