/* findings.c - adding findings to a report: every rule file calls these, and check.c runs
 * the rules (kept apart so the rules and the runner do not call each other in a circle). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check/internal.h"
#include "common/mem.h"
#include "common/str.h"

PW_PRINTF(1, 0) static char *vfmt(const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return pw_strdup("");
	char *s = pw_malloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

struct chk_finding *chk_add(struct chk_report *r, const char *id, const char *title,
                            enum chk_severity sev, const char *why)
{
	r->f = pw_realloc(r->f, (r->n + 1) * sizeof *r->f);
	struct chk_finding *f = &r->f[r->n++];
	memset(f, 0, sizeof *f);
	f->id = id;
	f->title = title;
	f->severity = sev;
	f->result = CHK_SKIP;
	f->why = why;
	return f;
}

void chk_set(struct chk_finding *f, enum chk_result res, enum chk_severity sev, const char *fmt,
             ...)
{
	f->result = res;
	f->severity = sev;
	va_list ap;
	va_start(ap, fmt);
	char *s = vfmt(fmt, ap);
	va_end(ap);
	pw_free(f->evidence);
	f->evidence = s;
}

void chk_fix(struct chk_finding *f, const char *fmt, ...)
{
	pw_free(f->fix);
	f->fix = NULL;
	if (!fmt)
		return;
	va_list ap;
	va_start(ap, fmt);
	f->fix = vfmt(fmt, ap);
	va_end(ap);
}

char *chk_take(struct pw_buf *b)
{
	char *s = pw_strdup(b->len ? pw_buf_str(b) : "");
	pw_buf_free(b, 0);
	return s;
}
