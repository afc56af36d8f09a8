/* report.c - the checklist report as JSON (schema_version 1, docs/check.md), a text table
 * and a markdown table. Renderings go into buffers; the cmd layer prints them. */
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "common/mem.h"

void chk_report_free(struct chk_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		pw_free(r->f[i].evidence);
		pw_free(r->f[i].fix);
	}
	pw_free(r->f);
	r->f = NULL;
	r->n = 0;
}

static void iso(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void counts(const struct chk_report *r, size_t c[5])
{
	memset(c, 0, 5 * sizeof *c);
	for (size_t i = 0; i < r->n; i++)
		if ((unsigned)r->f[i].result < 5)
			c[r->f[i].result]++;
}

json_t *chk_report_json(const struct chk_report *r, enum chk_severity fail_on)
{
	char when[32];
	iso(r->now, when);
	json_t *o = json_object();
	json_object_set_new(o, "schema_version", json_integer(CHK_SCHEMA_VERSION));
	json_object_set_new(o, "tool", json_string("pgward " PGWARD_VERSION));
	json_object_set_new(o, "checked_at", json_string(when));
	json_object_set_new(o, "database", json_string(r->database));
	json_object_set_new(o, "role", json_string(r->role));
	json_object_set_new(o, "server_version", json_string(r->server_version));
	json_object_set_new(o, "stanza", *r->stanza ? json_string(r->stanza) : json_null());
	json_object_set_new(o, "fail_on", json_string(chk_severity_name(fail_on)));
	json_object_set_new(o, "failing", json_integer((json_int_t)chk_count_failing(r, fail_on)));
	size_t c[5];
	counts(r, c);
	json_t *sum = json_object();
	for (int i = 0; i < 5; i++)
		json_object_set_new(sum, chk_result_name((enum chk_result)i),
		                    json_integer((json_int_t)c[i]));
	json_object_set_new(o, "summary", sum);
	json_t *arr = json_array();
	for (size_t i = 0; i < r->n; i++) {
		const struct chk_finding *f = &r->f[i];
		json_t *x = json_object();
		json_object_set_new(x, "id", json_string(f->id));
		json_object_set_new(x, "title", json_string(f->title));
		json_object_set_new(x, "severity", json_string(chk_severity_name(f->severity)));
		json_object_set_new(x, "result", json_string(chk_result_name(f->result)));
		json_object_set_new(x, "evidence", json_string(f->evidence ? f->evidence : ""));
		json_object_set_new(x, "why", json_string(f->why ? f->why : ""));
		json_object_set_new(x, "fix", f->fix ? json_string(f->fix) : json_null());
		json_object_set_new(x, "fails_threshold", json_boolean(chk_fails(f, fail_on)));
		json_array_append_new(arr, x);
	}
	json_object_set_new(o, "results", arr);
	return o;
}

static void header_line(const struct chk_report *r, struct pw_buf *b, const char *q)
{
	pw_buf_printf(b, "database %s%s%s as role %s%s%s, PostgreSQL %s", q, r->database, q, q,
	              r->role, q, r->server_version);
	if (*r->stanza)
		pw_buf_printf(b, ", stanza %s%s%s", q, r->stanza, q);
}

/* Lines of s, each prefixed with indent (s may hold newlines). */
static void indented(struct pw_buf *b, const char *label, const char *s)
{
	pw_buf_printf(b, "  %-10s", label);
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\n");
		pw_buf_printf(b, "%.*s\n", (int)n, p);
		p += n;
		if (*p == '\n') {
			p++;
			if (*p)
				pw_buf_printf(b, "  %-10s", "");
		}
	}
	if (!*s)
		pw_buf_putc(b, '\n');
}

void chk_render_text(const struct chk_report *r, struct pw_buf *b)
{
	pw_buf_printf(b, "pgward check: ");
	header_line(r, b, "\"");
	pw_buf_printf(b, "\n\n%-28s %-9s %-6s %s\n", "ID", "SEVERITY", "RESULT", "TITLE");
	for (size_t i = 0; i < r->n; i++) {
		const struct chk_finding *f = &r->f[i];
		pw_buf_printf(b, "%-28s %-9s %-6s %s\n", f->id, chk_severity_name(f->severity),
		              chk_result_name(f->result), f->title);
	}
	bool any = false;
	for (size_t i = 0; i < r->n; i++) {
		const struct chk_finding *f = &r->f[i];
		if (f->result == CHK_PASS)
			continue;
		if (!any)
			pw_buf_printf(b, "\nDetails (everything but pass):\n");
		any = true;
		pw_buf_printf(b, "\n%s %s (%s): %s\n", chk_result_name(f->result), f->id,
		              chk_severity_name(f->severity), f->title);
		indented(b, "evidence:", f->evidence ? f->evidence : "");
		if (f->why)
			indented(b, "why:", f->why);
		if (f->fix)
			indented(b, "fix:", f->fix);
	}
	size_t c[5];
	counts(r, c);
	pw_buf_printf(b, "\n%zu rules: %zu pass, %zu fail, %zu warn, %zu skip, %zu info\n", r->n,
	              c[CHK_PASS], c[CHK_FAIL], c[CHK_WARN], c[CHK_SKIP], c[CHK_INFO]);
}

/* Table cells: no newlines, pipes escaped. */
static void md_cell(struct pw_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '|')
			pw_buf_printf(b, "\\|");
		else if (*p == '\n')
			pw_buf_putc(b, ' ');
		else
			pw_buf_putc(b, *p);
	}
}

void chk_render_markdown(const struct chk_report *r, struct pw_buf *b)
{
	pw_buf_printf(b, "## pgward check\n\n");
	header_line(r, b, "`");
	size_t c[5];
	counts(r, c);
	pw_buf_printf(b, ".\n\n%zu rules: %zu pass, %zu fail, %zu warn, %zu skip, %zu info.\n\n",
	              r->n, c[CHK_PASS], c[CHK_FAIL], c[CHK_WARN], c[CHK_SKIP], c[CHK_INFO]);
	pw_buf_printf(b, "| id | severity | result | title |\n|---|---|---|---|\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct chk_finding *f = &r->f[i];
		pw_buf_printf(b, "| `%s` | %s | %s%s%s | ", f->id, chk_severity_name(f->severity),
		              f->result == CHK_FAIL ? "**" : "", chk_result_name(f->result),
		              f->result == CHK_FAIL ? "**" : "");
		md_cell(b, f->title);
		pw_buf_printf(b, " |\n");
	}
	bool any = false;
	for (size_t i = 0; i < r->n; i++) {
		const struct chk_finding *f = &r->f[i];
		if (f->result == CHK_PASS)
			continue;
		if (!any)
			pw_buf_printf(b, "\n### Details\n");
		any = true;
		pw_buf_printf(b, "\n#### `%s`: %s (%s)\n\n%s\n\n- Evidence: ", f->id,
		              chk_result_name(f->result), chk_severity_name(f->severity), f->title);
		md_cell(b, f->evidence ? f->evidence : "");
		if (f->why) {
			pw_buf_printf(b, "\n- Why: ");
			md_cell(b, f->why);
		}
		pw_buf_printf(b, "\n");
		if (f->fix)
			pw_buf_printf(b, "- Fix:\n\n```\n%s\n```\n", f->fix);
	}
}
