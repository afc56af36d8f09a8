/* check.c - run the checklist: repository first (it names the backup role), then the
 * database rules, then the backup rules. Findings keep the order of docs/check.md. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check/internal.h"
#include "check/rules.h"
#include "common/mem.h"
#include "common/str.h"
#include "pg/pg.h"

static char *vfmt(const char *fmt, va_list ap)
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

int chk_run(const struct chk_opts *o, struct chk_report *out)
{
	memset(out, 0, sizeof *out);
	out->now = o->now;
	pw_strlcpy(out->stanza, o->stanza ? o->stanza : "", sizeof out->stanza);
	struct chk_repo_state st;
	chk_repo_load(o, &st);
	chk_db_rules(o, &st, out);
	chk_ring2_rules(o, &st, out);
	chk_backup_rules(o, &st, out);
	chk_repo_free(&st);
	pw_best_effort("running the rules");
	return 0;
}
