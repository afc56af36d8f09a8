/*
 * page.c - the board as one self-contained HTML page (see render.h and docs/service.md,
 * "The status page").
 *
 * No external asset and no script: one inline style sheet, allowed by its hash in a
 * Content-Security-Policy meta element whose default is 'none' (so even an injected tag
 * could load nothing, run nothing and send nothing), and a meta refresh. Readable on a
 * phone: a viewport meta, one column under 600px.
 *
 * Every state is a word (OK, FAILING, OVERDUE, NEVER SUCCEEDED ...), the colour only
 * repeats it. Every string that is not markup of this file (stanza names, schedules,
 * messages, and the times and numbers formatted here) goes through put_text(): the one
 * display sanitizer (pw_str_printable: control characters and invalid UTF-8 become \xHH),
 * then HTML escaping of & < > " '. The page carries data-* attributes (stanza, state,
 * fact) for tests and scrapers.
 */
#include "service/render.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/enc.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"

#define PAGE_REFRESH_SECONDS 30

/* The style sheet: its SHA-256 is in the page's CSP (style-src), so it must be written
 * byte for byte as it is here. */
static const char css[] =
    "body{margin:0 auto;max-width:80rem;padding:1rem;background:#f6f8fa;color:#1f2328;"
    "font-family:system-ui,sans-serif;line-height:1.4}"
    "h1{font-size:1.4rem;margin:0}header p{margin:.2rem 0;color:#59636e}"
    "main{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(26rem,100%),1fr));"
    "gap:1rem;margin-top:1rem}"
    "section{background:#fff;border:1px solid #d1d9e0;border-left:.5rem solid #8c959f;"
    "border-radius:.4rem;padding:.75rem 1rem}"
    "h2{font-size:1.15rem;margin:0 0 .5rem;display:flex;flex-wrap:wrap;gap:.5rem;"
    "align-items:center}"
    ".name{overflow-wrap:anywhere}"
    ".badge{font-size:.8rem;font-weight:700;padding:.1rem .6rem;border-radius:1rem;"
    "color:#fff;background:#59636e;white-space:nowrap}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem .8rem;margin:0}"
    "dt{font-weight:600;color:#59636e}dd{margin:0;overflow-wrap:anywhere}"
    "ul{margin:0;padding-left:1.1rem}"
    "section.ok{border-left-color:#1a7f37}.ok .badge{background:#1a7f37}"
    "section.warn{border-left-color:#9a6700}.warn .badge{background:#9a6700}"
    "section.bad{border-left-color:#cf222e}.bad .badge{background:#cf222e}"
    "span.ok{color:#1a7f37;font-weight:600}span.warn{color:#9a6700;font-weight:600}"
    "span.bad{color:#cf222e;font-weight:700}"
    "footer{margin-top:1rem;color:#59636e;font-size:.85rem}"
    "@media (max-width:600px){body{padding:.5rem}main{grid-template-columns:1fr}"
    "dl{grid-template-columns:1fr;gap:0}dd{margin-bottom:.4rem}}";

/* Text: sanitized, then escaped for HTML (element content and quoted attribute values). */
static int put_text(struct pw_buf *out, const char *s)
{
	char *shown = pw_str_printable_dup(s ? s : "");
	int rc = 0;
	for (const char *p = shown; *p && rc == 0; p++) {
		switch (*p) {
		case '&':
			rc = pw_buf_printf(out, "&amp;");
			break;
		case '<':
			rc = pw_buf_printf(out, "&lt;");
			break;
		case '>':
			rc = pw_buf_printf(out, "&gt;");
			break;
		case '"':
			rc = pw_buf_printf(out, "&quot;");
			break;
		case '\'':
			rc = pw_buf_printf(out, "&#39;");
			break;
		default:
			rc = pw_buf_putc(out, *p);
		}
	}
	pw_free(shown);
	return rc;
}

static int put_textf(struct pw_buf *out, const char *fmt, ...) PW_PRINTF(2, 3);
static int put_textf(struct pw_buf *out, const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return put_text(out, text);
}

/* Markup of this file (never data). */
static int put(struct pw_buf *out, const char *markup)
{
	return pw_buf_append(out, markup, strlen(markup));
}

/* A span of seconds, coarse: "42 s", "5 min", "3 h 20 min", "2 d 4 h". */
static void span(time_t secs, char *out, size_t size)
{
	long long s = secs < 0 ? -(long long)secs : (long long)secs;
	if (s < 120)
		snprintf(out, size, "%lld s", s);
	else if (s < 3600)
		snprintf(out, size, "%lld min", s / 60);
	else if (s < 86400 && s % 3600 / 60)
		snprintf(out, size, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else if (s < 86400)
		snprintf(out, size, "%lld h", s / 3600);
	else if (s % 86400 / 3600)
		snprintf(out, size, "%lld d %lld h", s / 86400, s % 86400 / 3600);
	else
		snprintf(out, size, "%lld d", s / 86400);
}

/* <time datetime="2026-12-07T02:00:00Z">2026-12-07 02:00 UTC</time> (3 h ago) */
static int put_time(struct pw_buf *out, time_t t, time_t now)
{
	char iso[PW_TIME_MAX], shown[PW_TIME_MAX], rel[48];
	pw_time_format(t, PW_TIME_ISO, iso);
	pw_strlcpy(shown, iso, sizeof shown);
	if (strlen(shown) == 20) { /* 2026-12-07T02:00:00Z -> 2026-12-07 02:00 */
		shown[10] = ' ';
		shown[16] = '\0';
	}
	span(t - now, rel, sizeof rel);
	int rc = put(out, "<time datetime=\"");
	if (rc == 0)
		rc = put_text(out, iso);
	if (rc == 0)
		rc = put(out, "\">");
	if (rc == 0)
		rc = put_textf(out, "%s UTC", shown);
	if (rc == 0)
		rc = put(out, "</time> ");
	if (rc == 0)
		rc = put_textf(out, t > now ? "(in %s)" : t == now ? "(now)" : "(%s ago)", rel);
	return rc;
}

/* <span class="bad">TEXT</span> */
static int put_mark(struct pw_buf *out, const char *cls, const char *text)
{
	int rc = pw_buf_printf(out, "<span class=\"%s\">", cls);
	if (rc == 0)
		rc = put_text(out, text);
	return rc ? rc : put(out, "</span>");
}

enum level { L_NONE, L_OK, L_WARN, L_BAD };
static const char *const level_class[] = {"none", "ok", "warn", "bad"};

/* The stanza's state, the worst first. */
struct state {
	const char *id;    /* data-state */
	const char *label; /* the badge's words */
	enum level level;
};

static bool failing(const struct board_kind *k)
{
	return k->st.attempts > 0 || k->st.result == PLAN_RES_FAILED ||
	       k->st.result == PLAN_RES_INTERRUPTED;
}

static struct state stanza_state(const struct board_stanza *s)
{
	bool never_overdue = false, overdue = false, fail = false, never_yet = false, any = false;
	for (int k = 0; k < PLAN_KIND_COUNT; k++) {
		const struct board_kind *bk = &s->kind[k];
		if (!svc_kind_shown(bk))
			continue;
		any = true;
		fail |= failing(bk);
		if (!bk->scheduled)
			continue;
		never_overdue |= bk->health == PLAN_HEALTH_NEVER_OVERDUE;
		overdue |= bk->health == PLAN_HEALTH_OVERDUE;
		never_yet |= bk->health == PLAN_HEALTH_NEVER_YET;
	}
	if (never_overdue)
		return (struct state){"never-overdue", "NEVER SUCCEEDED", L_BAD};
	if (overdue)
		return (struct state){"overdue", "OVERDUE", L_BAD};
	if (fail)
		return (struct state){"failing", "FAILING", L_BAD};
	if (s->repo_reachable == 0)
		return (struct state){"unreachable", "REPOSITORY UNREACHABLE", L_BAD};
	if (s->pitr && (!s->wal_running || s->wal_last_durable <= 0))
		return (struct state){"wal-stopped", "WAL NOT STREAMING", L_WARN};
	if (never_yet)
		return (struct state){"never-yet", "WAITING FOR THE FIRST RUN", L_WARN};
	if (!any)
		return (struct state){"idle", "NOTHING SCHEDULED HERE", L_NONE};
	return (struct state){"ok", "OK", L_OK};
}

static int fact_open(struct pw_buf *out, const char *id, const char *title)
{
	return pw_buf_printf(out, "<dt>%s</dt><dd data-fact=\"%s\">", title, id);
}

/* Last backup, last drill: the kind's last success. */
static int put_last(struct pw_buf *out, const struct board_kind *k, enum plan_kind kind, time_t now)
{
	if (!svc_kind_shown(k))
		return put_text(out, "not run by this service");
	if (k->st.last_success <= 0)
		return put_mark(
		    out, k->health == PLAN_HEALTH_NEVER_OVERDUE || failing(k) ? "bad" : "warn",
		    "never succeeded");
	int rc = 0;
	if (kind == PLAN_VERIFY && k->last_depth > 0)
		rc = put_textf(out, "depth %d (%s), ", k->last_depth,
		               k->last_depth >= 3   ? "restore drill"
		               : k->last_depth == 2 ? "decrypted"
		                                    : "checksums and signature");
	if (rc == 0)
		rc = put_time(out, k->st.last_success, now);
	char size[32], took[48];
	if (rc == 0 && kind == PLAN_BACKUP && k->last_bytes > 0) {
		pw_human_size(k->last_bytes, " ", size, sizeof size);
		rc = put_textf(out, ", %s", size);
	}
	if (rc == 0 && k->st.attempts == 0 && k->last_duration >= 0) {
		span((time_t)k->last_duration, took, sizeof took);
		rc = put_textf(out, ", took %s", took);
	}
	return rc;
}

static int put_next(struct pw_buf *out, const struct board_stanza *s, time_t now)
{
	int rc = put(out, "<ul>"), n = 0;
	for (int k = 0; k < PLAN_KIND_COUNT && rc == 0; k++) {
		const struct board_kind *bk = &s->kind[k];
		if (!svc_kind_shown(bk))
			continue;
		n++;
		rc = put(out, "<li>");
		if (rc == 0)
			rc = put_textf(out, "%s: ", plan_kind_name((enum plan_kind)k));
		if (rc == 0 && bk->running)
			rc = put_textf(out, "running now (job %u)", bk->job_id);
		else if (rc == 0 && bk->next_due > 0)
			rc = put_time(out, bk->next_due, now);
		else if (rc == 0)
			rc = put_text(out, bk->scheduled ? "none planned" : "not scheduled");
		if (rc == 0 && bk->scheduled && !bk->running)
			rc = put_textf(out, " [%s]", bk->schedule);
		if (rc == 0)
			rc = put(out, "</li>");
	}
	if (rc == 0 && n == 0)
		rc = put(out, "<li>nothing scheduled here</li>");
	return rc ? rc : put(out, "</ul>");
}

static int put_window(struct pw_buf *out, const struct board_stanza *s, time_t now)
{
	if (s->window_from <= 0 || s->window_to <= 0)
		return put_text(out, "unknown");
	int rc = put(out, "from ");
	if (rc == 0)
		rc = put_time(out, s->window_from, now);
	if (rc == 0)
		rc = put(out, " to ");
	return rc ? rc : put_time(out, s->window_to, now);
}

static int put_failures(struct pw_buf *out, const struct board_stanza *s, time_t now)
{
	int rc = 0, n = 0;
	uint64_t total = 0;
	for (int k = 0; k < PLAN_KIND_COUNT && rc == 0; k++) {
		const struct board_kind *bk = &s->kind[k];
		if (!svc_kind_shown(bk))
			continue;
		total += bk->failures_total;
		if (!failing(bk) && bk->st.result == PLAN_RES_SKIPPED) {
			/* not a failure: the same job of the stanza ran on another host */
			rc = put(out, n++ ? "<br>" : "");
			if (rc == 0)
				rc = put_textf(out, "%s: the last run skipped (running elsewhere)",
				               plan_kind_name((enum plan_kind)k));
			continue;
		}
		if (!failing(bk))
			continue;
		rc = put(out, n++ ? "<br>" : "");
		if (rc == 0) {
			char what[96];
			snprintf(what, sizeof what, "%s: %u in a row",
			         plan_kind_name((enum plan_kind)k),
			         bk->st.attempts ? bk->st.attempts : 1);
			rc = put_mark(out, "bad", what);
		}
		if (rc == 0 && bk->st.result == PLAN_RES_INTERRUPTED)
			rc = put_text(out, ", the last one interrupted");
		if (rc == 0 && bk->st.last_end > 0 && bk->st.result != PLAN_RES_OK) {
			rc = put_text(out, ", the last at ");
			if (rc == 0)
				rc = put_time(out, bk->st.last_end, now);
		}
		if (rc == 0 && bk->last_exit != 0)
			rc = put_textf(out, ", exit %d", bk->last_exit);
		if (rc == 0 && bk->last_message[0])
			rc = put_textf(out, ": %.*s", BOARD_MSG_MAX, bk->last_message);
	}
	if (rc == 0 && n == 0)
		rc = put_mark(out, "ok", "none");
	if (rc == 0 && total > 0)
		rc = put_textf(out, " (%llu since the service started)", (unsigned long long)total);
	return rc;
}

static int put_deadman(struct pw_buf *out, const struct board_stanza *s, time_t now)
{
	int rc = put(out, "<ul>"), n = 0;
	for (int k = 0; k < PLAN_KIND_COUNT && rc == 0; k++) {
		const struct board_kind *bk = &s->kind[k];
		if (!bk->scheduled)
			continue;
		n++;
		rc = put(out, "<li>");
		if (rc == 0)
			rc = put_textf(out, "%s: ", plan_kind_name((enum plan_kind)k));
		const char *cls = "ok", *what = "ok", *when = ", the next success is expected by ";
		switch (bk->health) {
		case PLAN_HEALTH_OK:
			break;
		case PLAN_HEALTH_NEVER_YET:
			cls = "warn", what = "no success yet";
			break;
		case PLAN_HEALTH_OVERDUE:
			cls = "bad", what = "OVERDUE", when = ", a success was expected by ";
			break;
		case PLAN_HEALTH_NEVER_OVERDUE:
		default:
			cls = "bad", what = "NEVER SUCCEEDED, OVERDUE",
			when = ", a success was expected by ";
			break;
		}
		if (rc == 0)
			rc = put_mark(out, cls, what);
		if (rc == 0 && bk->deadline > 0) {
			rc = put_text(out, when);
			if (rc == 0)
				rc = put_time(out, bk->deadline, now);
		}
		if (rc == 0)
			rc = put(out, "</li>");
	}
	if (rc == 0 && n == 0)
		rc = put(out, "<li>nothing scheduled here</li>");
	return rc ? rc : put(out, "</ul>");
}

static int put_wal(struct pw_buf *out, const struct board_stanza *s, time_t now)
{
	int rc = s->wal_running ? put_mark(out, "ok", "receiver running")
	                        : put_mark(out, "warn", "receiver not running");
	if (rc == 0)
		rc = put(out, ", ");
	if (rc == 0 && s->wal_last_durable <= 0)
		return put_mark(out, "bad", "no WAL durable yet");
	if (rc == 0)
		rc = put(out, "last durable ");
	return rc ? rc : put_time(out, s->wal_last_durable, now);
}

static int put_repo(struct pw_buf *out, const struct board_stanza *s, time_t now)
{
	int rc = s->repo_reachable < 0    ? put_text(out, "not checked yet")
	         : s->repo_reachable == 0 ? put_mark(out, "bad", "UNREACHABLE")
	                                  : put_mark(out, "ok", "reachable");
	if (rc == 0 && s->repo_reachable >= 0 && s->repo_checked > 0) {
		rc = put(out, ", checked ");
		if (rc == 0)
			rc = put_time(out, s->repo_checked, now);
	}
	return rc;
}

static int put_stanza(struct pw_buf *out, const struct board_stanza *s, time_t now)
{
	struct state st = stanza_state(s);
	int rc = pw_buf_printf(out, "<section class=\"%s\" data-state=\"%s\" data-stanza=\"",
	                       level_class[st.level], st.id);
	if (rc == 0)
		rc = put_text(out, s->name);
	if (rc == 0)
		rc = put(out, "\"><h2><span class=\"name\">");
	if (rc == 0)
		rc = put_text(out, s->name);
	if (rc == 0)
		rc = put(out, "</span> <span class=\"badge\">");
	if (rc == 0)
		rc = put_text(out, st.label);
	if (rc == 0)
		rc = put(out, "</span></h2><dl>");
	if (rc == 0)
		rc = fact_open(out, "last-backup", "Last backup");
	if (rc == 0)
		rc = put_last(out, &s->kind[PLAN_BACKUP], PLAN_BACKUP, now);
	if (rc == 0)
		rc = put(out, "</dd>");
	if (rc == 0)
		rc = fact_open(out, "last-drill", "Last drill");
	if (rc == 0)
		rc = put_last(out, &s->kind[PLAN_VERIFY], PLAN_VERIFY, now);
	if (rc == 0)
		rc = put(out, "</dd>");
	if (rc == 0)
		rc = fact_open(out, "next-run", "Next run");
	if (rc == 0)
		rc = put_next(out, s, now);
	if (rc == 0)
		rc = put(out, "</dd>");
	if (rc == 0)
		rc = fact_open(out, "window", "Recovery window");
	if (rc == 0)
		rc = put_window(out, s, now);
	if (rc == 0)
		rc = put(out, "</dd>");
	if (rc == 0)
		rc = fact_open(out, "failures", "Failures");
	if (rc == 0)
		rc = put_failures(out, s, now);
	if (rc == 0)
		rc = put(out, "</dd>");
	if (rc == 0)
		rc = fact_open(out, "dead-man", "Dead-man");
	if (rc == 0)
		rc = put_deadman(out, s, now);
	if (rc == 0)
		rc = put(out, "</dd>");
	if (rc == 0 && s->pitr) {
		rc = fact_open(out, "wal", "WAL");
		if (rc == 0)
			rc = put_wal(out, s, now);
		if (rc == 0)
			rc = put(out, "</dd>");
	}
	if (rc == 0)
		rc = fact_open(out, "repository", "Repository");
	if (rc == 0)
		rc = put_repo(out, s, now);
	return rc ? rc : put(out, "</dd></dl></section>\n");
}

int svc_page_csp(bool header, char out[SVC_PAGE_CSP_MAX])
{
	uint8_t digest[PW_SHA256_LEN];
	char hash[64];
	int rc = pw_sha256(css, sizeof css - 1, digest);
	if (rc != 0)
		return rc;
	pw_b64_encode(digest, sizeof digest, hash, true);
	int n = snprintf(out, SVC_PAGE_CSP_MAX,
	                 "default-src 'none'; style-src 'sha256-%s'; base-uri 'none'; "
	                 "form-action 'none'%s",
	                 hash, header ? "; frame-ancestors 'none'" : "");
	PW_CHECK(n > 0 && n < SVC_PAGE_CSP_MAX);
	return 0;
}

int svc_page_render(const struct board_data *d, time_t now, struct pw_buf *out)
{
	char csp[SVC_PAGE_CSP_MAX];
	int rc = svc_page_csp(false, csp);
	if (rc != 0)
		return rc;

	size_t bad = 0, ok = 0;
	for (size_t i = 0; i < d->n; i++) {
		enum level l = stanza_state(&d->stanza[i]).level;
		bad += l == L_BAD || l == L_WARN;
		ok += l == L_OK;
	}
	rc = pw_buf_printf(out,
	                   "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	                   "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">"
	                   "<meta http-equiv=\"refresh\" content=\"%d\">"
	                   "<meta name=\"referrer\" content=\"no-referrer\">"
	                   "<meta name=\"robots\" content=\"noindex\">\n<title>",
	                   csp, PAGE_REFRESH_SECONDS);
	if (rc == 0)
		rc = bad ? put_textf(out, "pgward: %zu of %zu stanzas need attention", bad, d->n)
		         : put_textf(out, "pgward: %zu stanzas, all ok", d->n);
	if (rc == 0)
		rc = pw_buf_printf(out,
		                   "</title>\n<style>%s</style></head>\n<body><header><h1>pgward"
		                   "</h1><p data-summary=\"",
		                   css);
	if (rc == 0)
		rc = put_textf(out, "%zu %zu %zu", d->n, ok, bad);
	if (rc == 0)
		rc = put(out, "\">");
	if (rc == 0)
		rc =
		    bad ? put_textf(out, "%zu of %zu stanzas need attention, %zu ok", bad, d->n, ok)
		        : put_textf(out, "%zu stanzas, %zu ok", d->n, ok);
	if (rc == 0)
		rc = put(out, "</p><p>As of ");
	if (rc == 0)
		rc = put_time(out, now, now);
	if (rc == 0 && d->started > 0) {
		rc = put(out, "; the service started ");
		if (rc == 0)
			rc = put_time(out, d->started, now);
	}
	if (rc == 0)
		rc = put_textf(out, ". This page refreshes every %d s.", PAGE_REFRESH_SECONDS);
	if (rc == 0)
		rc = put(out, "</p></header>\n<main>\n");
	for (size_t i = 0; i < d->n && rc == 0; i++)
		rc = put_stanza(out, &d->stanza[i], now);
	if (rc == 0 && d->n == 0)
		rc = put(out, "<p>No stanzas are configured.</p>\n");
	if (rc == 0)
		rc = put(out, "</main>\n<footer>");
	if (rc == 0)
		rc = put_textf(out, "pgward %s. Metrics: /metrics.", PGWARD_VERSION);
	return rc ? rc : put(out, "</footer></body></html>\n");
}
