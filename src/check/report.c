/* report.c - the checklist report as JSON (schema_version 1, docs/check.md), a text table
 * and a markdown table. Renderings go into buffers; the cmd layer prints them. */
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "common/mem.h"
#include "common/time.h"

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, at
 * most U+10FFFF), with its code point in *cp; 0 if the bytes at p are not one. */
static size_t utf8_seq(const unsigned char *p, unsigned *cp)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, min = 0x80, c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, min = 0x800, c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* s as valid UTF-8 into b: each invalid byte becomes U+FFFD; with controls, so does every
 * C0 control character but a newline (when keep_nl), DEL and every C1 control (ESC, CSI:
 * what a terminal would interpret). Object names come from the server and can hold any of
 * these. */
void chk_clean_text(struct pw_buf *b, const char *s, bool controls, bool keep_nl)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		unsigned cp;
		size_t n = utf8_seq(p, &cp);
		if (n == 0) {
			pw_buf_printf(b, REPLACEMENT);
			p++;
			continue;
		}
		if (controls && ((cp < 0x20 && !(keep_nl && cp == '\n')) || cp == 0x7f ||
		                 (cp >= 0x80 && cp < 0xa0)))
			pw_buf_printf(b, REPLACEMENT);
		else
			pw_buf_append(b, p, n);
		p += n;
	}
	pw_buf_str(b);
}

/* A JSON string of s with invalid UTF-8 replaced (json_string() would return NULL and the
 * key would silently disappear). */
static json_t *jstr(const char *s)
{
	struct pw_buf b = PW_BUF_INIT(SIZE_MAX / 2);
	chk_clean_text(&b, s, false, true);
	json_t *j = json_string(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return j ? j : json_string("");
}

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
	char b[PW_TIME_MAX];
	snprintf(out, 32, "%s", pw_time_format(t, PW_TIME_ISO, b));
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
	json_object_set_new(o, "database", jstr(r->database));
	json_object_set_new(o, "role", jstr(r->role));
	json_object_set_new(o, "server_version", jstr(r->server_version));
	json_object_set_new(o, "stanza", *r->stanza ? jstr(r->stanza) : json_null());
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
		json_object_set_new(x, "id", jstr(f->id));
		json_object_set_new(x, "title", jstr(f->title));
		json_object_set_new(x, "severity", json_string(chk_severity_name(f->severity)));
		json_object_set_new(x, "result", json_string(chk_result_name(f->result)));
		json_object_set_new(x, "evidence", jstr(f->evidence));
		json_object_set_new(x, "why", jstr(f->why));
		json_object_set_new(x, "fix", f->fix ? jstr(f->fix) : json_null());
		json_object_set_new(x, "fails_threshold", json_boolean(chk_fails(f, fail_on)));
		json_array_append_new(arr, x);
	}
	json_object_set_new(o, "results", arr);
	return o;
}

/* Text output: s without control characters (a newline stays when keep_nl). */
static void text(struct pw_buf *b, const char *s, bool keep_nl)
{
	chk_clean_text(b, s, true, keep_nl);
}

/* Lines of s, each prefixed with indent (s may hold newlines). */
static void indented(struct pw_buf *b, const char *label, const char *raw)
{
	struct pw_buf c = PW_BUF_INIT(SIZE_MAX / 2);
	chk_clean_text(&c, raw, true, true);
	const char *s = pw_buf_str(&c);
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
	pw_buf_free(&c, 0);
}

/* One line of s after label: evidence quotes object names, and a newline in a name must
 * not forge a report line, so line breaks show as \n. */
static void one_line(struct pw_buf *b, const char *label, const char *raw)
{
	struct pw_buf c = PW_BUF_INIT(SIZE_MAX / 2);
	chk_clean_text(&c, raw, true, true);
	pw_buf_printf(b, "  %-10s", label);
	for (const char *p = pw_buf_str(&c); *p; p++)
		if (*p == '\n')
			pw_buf_printf(b, "\\n");
		else
			pw_buf_putc(b, *p);
	pw_buf_putc(b, '\n');
	pw_buf_free(&c, 0);
}

void chk_render_text(const struct chk_report *r, struct pw_buf *b)
{
	pw_buf_printf(b, "pgward check: database \"");
	text(b, r->database, false);
	pw_buf_printf(b, "\" as role \"");
	text(b, r->role, false);
	pw_buf_printf(b, "\", PostgreSQL ");
	text(b, r->server_version, false);
	if (*r->stanza) {
		pw_buf_printf(b, ", stanza \"");
		text(b, r->stanza, false);
		pw_buf_printf(b, "\"");
	}
	pw_buf_printf(b, "\n\n%-28s %-9s %-6s %s\n", "ID", "SEVERITY", "RESULT", "TITLE");
	for (size_t i = 0; i < r->n; i++) {
		const struct chk_finding *f = &r->f[i];
		pw_buf_printf(b, "%-28s %-9s %-6s ", f->id, chk_severity_name(f->severity),
		              chk_result_name(f->result));
		text(b, f->title, false);
		pw_buf_putc(b, '\n');
	}
	bool any = false;
	for (size_t i = 0; i < r->n; i++) {
		const struct chk_finding *f = &r->f[i];
		if (f->result == CHK_PASS)
			continue;
		if (!any)
			pw_buf_printf(b, "\nDetails (everything but pass):\n");
		any = true;
		pw_buf_printf(b, "\n%s %s (%s): ", chk_result_name(f->result), f->id,
		              chk_severity_name(f->severity));
		text(b, f->title, false);
		pw_buf_putc(b, '\n');
		one_line(b, "evidence:", f->evidence ? f->evidence : "");
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

/* Inline markdown text (a table cell, a list item, a heading): one line, every ASCII
 * character that could start markup backslash-escaped (CommonMark allows escaping any ASCII
 * punctuation), no control characters. Object names cannot close the cell, open a link,
 * an image, a code span, emphasis or raw HTML. */
static void md_cell(struct pw_buf *b, const char *raw)
{
	struct pw_buf c = PW_BUF_INIT(SIZE_MAX / 2);
	chk_clean_text(&c, raw, true, true);
	for (const char *p = pw_buf_str(&c); *p; p++) {
		if (*p == '\n')
			pw_buf_printf(b, "\\\\n"); /* a line break in a name shows as \n */
		else if (strchr("\\`*_[]<>#!|~&", *p))
			pw_buf_printf(b, "\\%c", *p);
		else
			pw_buf_putc(b, *p);
	}
	pw_buf_free(&c, 0);
}

/* The longest run of backticks in s. */
static size_t backtick_run(const char *s)
{
	size_t best = 0, cur = 0;
	for (; s && *s; s++) {
		cur = *s == '`' ? cur + 1 : 0;
		if (cur > best)
			best = cur;
	}
	return best;
}

/* A fenced code block whose fence is longer than any backtick run in the text (so the text
 * cannot close it), without control characters. */
static void md_code(struct pw_buf *b, const char *raw)
{
	struct pw_buf c = PW_BUF_INIT(SIZE_MAX / 2);
	chk_clean_text(&c, raw, true, true);
	const char *s = pw_buf_str(&c);
	size_t n = backtick_run(s) + 1;
	if (n < 3)
		n = 3;
	for (size_t i = 0; i < n; i++)
		pw_buf_putc(b, '`');
	pw_buf_printf(b, "\n%s\n", s);
	for (size_t i = 0; i < n; i++)
		pw_buf_putc(b, '`');
	pw_buf_putc(b, '\n');
	pw_buf_free(&c, 0);
}

void chk_render_markdown(const struct chk_report *r, struct pw_buf *b)
{
	pw_buf_printf(b, "## pgward check\n\ndatabase ");
	md_cell(b, r->database);
	pw_buf_printf(b, " as role ");
	md_cell(b, r->role);
	pw_buf_printf(b, ", PostgreSQL ");
	md_cell(b, r->server_version);
	if (*r->stanza) {
		pw_buf_printf(b, ", stanza ");
		md_cell(b, r->stanza);
	}
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
		pw_buf_printf(b, "\n#### `%s`: %s (%s)\n\n", f->id, chk_result_name(f->result),
		              chk_severity_name(f->severity));
		md_cell(b, f->title);
		pw_buf_printf(b, "\n\n- Evidence: ");
		md_cell(b, f->evidence ? f->evidence : "");
		if (f->why) {
			pw_buf_printf(b, "\n- Why: ");
			md_cell(b, f->why);
		}
		pw_buf_printf(b, "\n");
		if (f->fix) {
			pw_buf_printf(b, "- Fix:\n\n");
			md_code(b, f->fix);
		}
	}
}
