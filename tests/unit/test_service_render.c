/*
 * test_service_render.c - the board's renderings for people and machines
 * (src/service/metrics.c, src/service/page.c).
 *
 * /metrics: every output is checked by the strict exposition-format checker
 * (tests/tools/promcheck.c), which is itself shown to reject what it must; "never
 * succeeded" is ever_succeeded 0 and no timestamp (never a 0 that reads as 1970); facts
 * the service does not know are absent; kinds this host does not run are absent; hostile
 * stanza names and schedules cannot break a line or a label.
 * The page: hostile names, schedules and messages come out as text (no tag, no control
 * character, valid UTF-8), each stanza's state is a word, the CSP's style hash matches the
 * style sheet, and a cap on the output is an error, not a truncated page.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/prim.h"
#include "promcheck.h"
#include "service/render.h"

#define NOW ((time_t)1796608800) /* 2026-12-07T02:00:00Z */
#define H 3600
#define D 86400

static const char hostile_name[] = "x\"><script>alert(2)</script>&'\x01\xff\n"
                                   "pgward_fake 1\\";
static const char hostile_message[] = "failed: <script>alert(1)</script> & \"q\" 's' \x1b[31m"
                                      "\nnext line";

static void stanza_init(struct board_stanza *s, const char *name)
{
	memset(s, 0, sizeof *s);
	pw_strlcpy(s->name, name, sizeof s->name);
	for (int k = 0; k < PLAN_KIND_COUNT; k++)
		s->kind[k].last_duration = -1;
	s->repo_reachable = -1;
}

static void schedule(struct board_kind *k, const char *expr, enum plan_health h)
{
	k->scheduled = true;
	pw_strlcpy(k->schedule, expr, sizeof k->schedule);
	k->health = h;
	k->deadline = NOW + D;
	k->next_due = NOW + H;
}

/* Four stanzas: 0 never backed up (overdue), 1 failing with a hostile message, 2 healthy
 * with everything known, 3 a hostile name and schedule. */
static struct board_stanza fixture[4];
static struct board_data board;

static void build(void)
{
	stanza_init(&fixture[0], "newdb");
	schedule(&fixture[0].kind[PLAN_BACKUP], "daily 02:00", PLAN_HEALTH_NEVER_OVERDUE);
	fixture[0].kind[PLAN_BACKUP].deadline = NOW - 2 * H;

	stanza_init(&fixture[1], "shop");
	struct board_kind *b = &fixture[1].kind[PLAN_BACKUP];
	schedule(b, "hourly", PLAN_HEALTH_OK);
	b->st.last_success = NOW - 5 * H;
	b->st.result = PLAN_RES_FAILED;
	b->st.attempts = 3;
	b->st.last_end = NOW - 19 * 60;
	b->last_exit = 5;
	b->runs_total = 10;
	b->failures_total = 3;
	b->last_duration = 30;
	pw_strlcpy(b->last_message, hostile_message, sizeof b->last_message);

	stanza_init(&fixture[2], "main");
	b = &fixture[2].kind[PLAN_BACKUP];
	schedule(b, "daily 02:00 Europe/Berlin", PLAN_HEALTH_OK);
	b->st.last_success = NOW - H;
	b->st.result = PLAN_RES_OK;
	b->last_duration = 42.5;
	b->last_bytes = 1610612736;
	b->runs_total = 4;
	struct board_kind *v = &fixture[2].kind[PLAN_VERIFY];
	schedule(v, "Sun 04:00", PLAN_HEALTH_OK);
	v->st.last_success = NOW - 2 * D;
	v->st.result = PLAN_RES_OK;
	v->last_depth = 3;
	v->running = true;
	v->job_id = 17;
	fixture[2].pitr = true;
	fixture[2].wal_running = true;
	fixture[2].wal_last_durable = NOW - 12;
	fixture[2].window_from = NOW - 7 * D;
	fixture[2].window_to = NOW - 12;
	fixture[2].repo_reachable = 1;
	fixture[2].repo_checked = NOW - 60;

	stanza_init(&fixture[3], hostile_name);
	schedule(&fixture[3].kind[PLAN_BACKUP], "daily \"02:00\" \\ <b>\n# TYPE x",
	         PLAN_HEALTH_NEVER_YET);
	fixture[3].repo_reachable = 0;

	board = (struct board_data){
	    .started = NOW - 3 * D, .reloaded = NOW - H, .n = 4, .stanza = fixture};
}

/* The metrics of d, checked by promcheck; pw_free the text. */
static char *metrics(const struct board_data *d)
{
	struct pw_buf out = PW_BUF_INIT(1 << 20);
	assert_int_equal(svc_metrics_render(d, NOW, &out), 0);
	char *text = pw_strdup(pw_buf_str(&out));
	pw_buf_free(&out, 0);
	struct promcheck_result res;
	int rc = promcheck(text, strlen(text), &res);
	if (rc != 0)
		fprintf(stderr, "promcheck: %s\n", res.error);
	assert_int_equal(rc, 0);
	promcheck_free(&res);
	return text;
}

static char *page(const struct board_data *d)
{
	struct pw_buf out = PW_BUF_INIT(1 << 20);
	assert_int_equal(svc_page_render(d, NOW, &out), 0);
	char *text = pw_strdup(pw_buf_str(&out));
	pw_buf_free(&out, 0);
	return text;
}

/* Whether text has line as one whole line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* ---- the checker must be able to fail ---- */

static void test_promcheck_rejects(void **state)
{
	(void)state;
	static const char ok[] = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 1\n"
	                         "a_total{x=\"2\"} 2.5e3\n# HELP b B \\\\ \\n.\n# TYPE b gauge\n"
	                         "b NaN\nb{y=\"\\\"\\\\\\n\"} -Inf 1700000000000\n";
	static const struct {
		const char *text, *error;
	} bad[] = {
	    {"# TYPE a gauge\na 1\n", "lacks its HELP"},
	    {"# HELP a A.\na 1\n", "lacks its TYPE"},
	    {"a 1\n", "no HELP and TYPE"},
	    {"# HELP a A.\n# TYPE a gauge\n# TYPE a gauge\na 1\n", "a second TYPE"},
	    {"# HELP a A.\n# HELP a A.\n# TYPE a gauge\na 1\n", "a second HELP"},
	    {"# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\na{x=\"1\"} 1\n",
	     "not adjacent"},
	    {"# HELP a A.\n# TYPE a gauge\na 1\n# HELP a A.\n", "after its samples"},
	    {"# HELP a A.\n# TYPE a counter\na 1\n", "does not end in _total"},
	    {"# HELP a A.\n# TYPE a gauges\na 1\n", "unknown type"},
	    {"# HELP a A.\n# TYPE a gauge\na nan\n", "not a number"},
	    {"# HELP a A.\n# TYPE a gauge\na 1x\n", "not a number"},
	    {"# HELP a A.\n# TYPE a gauge\na  1\n", "not a number"},
	    {"# HELP a A.\n# TYPE a gauge\na 1 1.5\n", "timestamp"},
	    {"# HELP a A.\n# TYPE a gauge\na 1", "newline"},
	    {"# HELP a A.\n# TYPE a gauge\n\na 1\n", "empty line"},
	    {"# HELP a A.\n# TYPE a gauge\na 1\r\n", "CR"},
	    {"# a comment\n", "neither"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n", "escape"},
	    {"# HELP a A\\q.\n# TYPE a gauge\na 1\n", "escape"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"\xff\"} 1\n", "UTF-8"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"\xc0\xaf\"} 1\n", "UTF-8"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"\x1b\"} 1\n", "control"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1} 1\n", "closing quote"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n", "twice"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", "appears twice"},
	    {"# HELP a A.\n# TYPE a gauge\na{__x=\"1\"} 1\n", "reserved"},
	    {"# HELP a A.\n# TYPE a gauge\na{1x=\"1\"} 1\n", "valid name"},
	    {"# HELP a A.\n# TYPE a gauge\na{x=\"1\" y=\"2\"} 1\n", "comma"},
	    {"# HELP 1a A.\n", "valid metric name"},
	};
	struct promcheck_result res;
	assert_int_equal(promcheck(ok, strlen(ok), &res), 0);
	assert_int_equal(res.nfamily, 2);
	assert_int_equal(res.nsamples, 4);
	promcheck_free(&res);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = promcheck(bad[i].text, strlen(bad[i].text), &res);
		if (rc == 0 || !strstr(res.error, bad[i].error))
			fail_msg("case %zu: rc %d, error \"%s\", expected \"%s\"", i, rc, res.error,
			         bad[i].error);
		promcheck_free(&res);
	}
}

/* ---- /metrics ---- */

static void test_metrics_empty(void **state)
{
	(void)state;
	struct board_data d = {0};
	char *m = metrics(&d);
	assert_true(has_line(m, "pgward_stanzas 0"));
	assert_true(has_line(m, "pgward_build_info{version=\"" PGWARD_VERSION "\"} 1"));
	/* unknown start and reload times are absent, not 0 */
	assert_null(strstr(m, "\npgward_service_start_time_seconds "));
	assert_null(strstr(m, "\npgward_config_last_reload_timestamp_seconds "));
	assert_non_null(strstr(m, "# TYPE pgward_job_failures_total counter\n"));
	pw_free(m);
}

static void test_metrics_never_succeeded(void **state)
{
	(void)state;
	build();
	char *m = metrics(&board);
	assert_true(has_line(m, "pgward_job_ever_succeeded{stanza=\"newdb\",kind=\"backup\"} 0"));
	assert_true(has_line(m, "pgward_job_overdue{stanza=\"newdb\",kind=\"backup\"} 1"));
	/* no timestamp that would read as 1970, no "since" that would read as 56 years */
	assert_null(strstr(m, "pgward_job_last_success_timestamp_seconds{stanza=\"newdb\""));
	assert_null(strstr(m, "pgward_job_since_last_completion_seconds{stanza=\"newdb\""));
	assert_null(strstr(m, "pgward_job_last_duration_seconds{stanza=\"newdb\""));
	assert_null(strstr(m, "pgward_repository_reachable{stanza=\"newdb\""));
	assert_true(has_line(m, "pgward_job_deadline_timestamp_seconds{stanza=\"newdb\","
	                        "kind=\"backup\"} 1796601600"));
	pw_free(m);
}

static void test_metrics_values(void **state)
{
	(void)state;
	build();
	char *m = metrics(&board);
	assert_true(has_line(m, "pgward_stanzas 4"));
	assert_true(has_line(m, "pgward_service_start_time_seconds 1796349600"));
	assert_true(has_line(m, "pgward_job_ever_succeeded{stanza=\"main\",kind=\"backup\"} 1"));
	assert_true(has_line(m, "pgward_job_last_success_timestamp_seconds{stanza=\"main\","
	                        "kind=\"backup\"} 1796605200"));
	assert_true(has_line(
	    m, "pgward_job_since_last_completion_seconds{stanza=\"main\",kind=\"backup\"} 3600"));
	assert_true(
	    has_line(m, "pgward_job_last_duration_seconds{stanza=\"main\",kind=\"backup\"} 42.5"));
	assert_true(has_line(m, "pgward_backup_last_size_bytes{stanza=\"main\"} 1610612736"));
	assert_true(has_line(m, "pgward_verify_last_depth{stanza=\"main\"} 3"));
	assert_true(has_line(m, "pgward_job_running{stanza=\"main\",kind=\"verify\"} 1"));
	assert_true(has_line(m, "pgward_job_running{stanza=\"main\",kind=\"backup\"} 0"));
	assert_true(has_line(m, "pgward_job_next_run_timestamp_seconds{stanza=\"main\","
	                        "kind=\"backup\"} 1796612400"));
	assert_true(has_line(m, "pgward_job_schedule_info{stanza=\"main\",kind=\"backup\","
	                        "schedule=\"daily 02:00 Europe/Berlin\"} 1"));
	assert_true(has_line(m, "pgward_wal_since_last_durable_seconds{stanza=\"main\"} 12"));
	assert_true(has_line(m, "pgward_wal_ever_durable{stanza=\"main\"} 1"));
	assert_true(has_line(m, "pgward_wal_receiver_running{stanza=\"main\"} 1"));
	assert_true(has_line(m, "pgward_recovery_window_start_timestamp_seconds{stanza=\"main\"} "
	                        "1796004000"));
	assert_true(has_line(m, "pgward_repository_reachable{stanza=\"main\"} 1"));
	/* failing: the counters and the consecutive failures */
	assert_true(has_line(m, "pgward_job_failures_total{stanza=\"shop\",kind=\"backup\"} 3"));
	assert_true(has_line(m, "pgward_job_runs_total{stanza=\"shop\",kind=\"backup\"} 10"));
	assert_true(
	    has_line(m, "pgward_job_consecutive_failures{stanza=\"shop\",kind=\"backup\"} 3"));
	assert_true(has_line(m, "pgward_job_overdue{stanza=\"shop\",kind=\"backup\"} 0"));
	/* no PITR: no WAL series; a window not known: none */
	assert_null(strstr(m, "pgward_wal_ever_durable{stanza=\"shop\""));
	assert_null(strstr(m, "pgward_recovery_window_start_timestamp_seconds{stanza=\"shop\""));
	/* free text is no label */
	assert_null(strstr(m, "alert(1)"));
	assert_null(strstr(m, "next line"));
	pw_free(m);
}

static void test_metrics_pitr_never_durable(void **state)
{
	(void)state;
	build();
	fixture[2].wal_last_durable = 0;
	fixture[2].wal_running = false;
	char *m = metrics(&board);
	assert_true(has_line(m, "pgward_wal_ever_durable{stanza=\"main\"} 0"));
	assert_null(strstr(m, "pgward_wal_since_last_durable_seconds{stanza=\"main\""));
	assert_null(strstr(m, "pgward_wal_last_durable_timestamp_seconds{stanza=\"main\""));
	pw_free(m);
}

static void test_metrics_hostile(void **state)
{
	(void)state;
	build();
	char *m = metrics(&board); /* promcheck passed: no broken line, label or escape */
	/* every line is a HELP, a TYPE or a sample of ours: nothing injected */
	for (const char *p = m; *p;) {
		if (!pw_startswith(p, "# HELP pgward_") && !pw_startswith(p, "# TYPE pgward_") &&
		    !pw_startswith(p, "pgward_"))
			fail_msg("a line that is not ours: %.60s", p);
		assert_false(pw_startswith(p, "pgward_fake"));
		p = strchr(p, '\n') + 1;
	}
	/* the name: sanitized (control bytes, invalid UTF-8 as \xHH text), then escaped */
	assert_true(has_line(m, "pgward_job_ever_succeeded{stanza=\"x\\\"><script>alert(2)"
	                        "</script>&'\\\\x01\\\\xff\\\\npgward_fake 1\\\\\\\\\",kind="
	                        "\"backup\"} 0"));
	assert_non_null(
	    strstr(m, "schedule=\"daily \\\"02:00\\\" \\\\\\\\ <b>\\\\n# TYPE x\"} 1\n"));
	assert_true(has_line(m, "pgward_repository_reachable{stanza=\"x\\\"><script>alert(2)"
	                        "</script>&'\\\\x01\\\\xff\\\\npgward_fake 1\\\\\\\\\"} 0"));
	pw_free(m);
}

static void test_metrics_kinds_not_here(void **state)
{
	(void)state;
	build();
	/* never scheduled here, never ran: the other host's job, no "never succeeded" alarm */
	char *m = metrics(&board);
	assert_null(strstr(m, "kind=\"expire\""));
	assert_null(strstr(m, "{stanza=\"newdb\",kind=\"verify\"}"));
	pw_free(m);
	/* one that ran (through the API) but is not scheduled: shown, without a dead-man */
	fixture[0].kind[PLAN_EXPIRE].runs_total = 1;
	fixture[0].kind[PLAN_EXPIRE].st.result = PLAN_RES_OK;
	fixture[0].kind[PLAN_EXPIRE].st.last_success = NOW - 60;
	m = metrics(&board);
	assert_true(has_line(m, "pgward_job_ever_succeeded{stanza=\"newdb\",kind=\"expire\"} 1"));
	assert_null(strstr(m, "pgward_job_overdue{stanza=\"newdb\",kind=\"expire\"}"));
	assert_null(strstr(m, "pgward_job_schedule_info{stanza=\"newdb\",kind=\"expire\""));
	pw_free(m);
}

static void test_metrics_odd_values(void **state)
{
	(void)state;
	build();
	/* a success "in the future" (a clock that went back) is 0 s ago, not negative; a
	 * duration that is not a number is absent */
	fixture[2].kind[PLAN_BACKUP].st.last_success = NOW + 500;
	fixture[2].kind[PLAN_BACKUP].last_duration = 0.0 / 0.0;
	fixture[1].kind[PLAN_BACKUP].last_duration = 1e300 * 1e300;
	char *m = metrics(&board);
	assert_true(has_line(
	    m, "pgward_job_since_last_completion_seconds{stanza=\"main\",kind=\"backup\"} 0"));
	assert_null(strstr(m, "pgward_job_last_duration_seconds{stanza=\"main\",kind=\"backup\"}"));
	assert_null(strstr(m, "pgward_job_last_duration_seconds{stanza=\"shop\",kind=\"backup\"}"));
	pw_free(m);
}

static void test_metrics_limit(void **state)
{
	(void)state;
	build();
	struct pw_buf out = PW_BUF_INIT(2000);
	assert_int_equal(svc_metrics_render(&board, NOW, &out), -PW_E_LIMIT);
	pw_error_clear();
	pw_buf_free(&out, 0);
}

/* ---- the page ---- */

static void test_page_hostile(void **state)
{
	(void)state;
	build();
	char *p = page(&board);
	/* no tag from data: the only elements are the renderer's */
	for (const char *q = p; *q; q++)
		if ((q[0] == '<') && (q[1] == 's' || q[1] == 'S') &&
		    strncasecmp(q, "<script", 7) == 0)
			fail_msg("a script element: %.60s", q);
	assert_null(strstr(p, "<b>"));
	assert_int_equal(count(p, "<section"), 4);
	assert_int_equal(count(p, "</section>"), 4);
	/* no control character but newlines; valid UTF-8 */
	for (const unsigned char *q = (const unsigned char *)p; *q; q++)
		if (*q < 0x20 && *q != '\n')
			fail_msg("control byte 0x%02x", *q);
	assert_true(pw_utf8_valid(p, strlen(p)));
	/* the message, the name and the schedule as text */
	assert_non_null(strstr(p,
	                       "failed: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; "
	                       "&#39;s&#39; \\x1b[31m\\nnext line"));
	assert_non_null(strstr(p, "data-stanza=\"x&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"
	                          "&amp;&#39;\\x01\\xff\\npgward_fake 1\\\\\""));
	assert_non_null(strstr(p, "[daily &quot;02:00&quot; \\\\ &lt;b&gt;\\n# TYPE x]"));
	pw_free(p);
}

/* The data-state of the stanza named name (as escaped in the page). */
static void assert_state(const char *p, const char *name, const char *want, const char *label)
{
	char needle[256];
	snprintf(needle, sizeof needle, "data-state=\"%s\" data-stanza=\"%s\"", want, name);
	if (!strstr(p, needle))
		fail_msg("no %s", needle);
	const char *s = strstr(p, needle);
	const char *badge = strstr(s, "<span class=\"badge\">");
	assert_non_null(badge);
	assert_true(pw_startswith(badge + strlen("<span class=\"badge\">"), label));
}

static void test_page_states(void **state)
{
	(void)state;
	build();
	char *p = page(&board);
	assert_state(p, "newdb", "never-overdue", "NEVER SUCCEEDED<");
	assert_state(p, "shop", "failing", "FAILING<");
	assert_state(p, "main", "ok", "OK<");
	assert_state(p,
	             "x&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;&amp;&#39;\\x01\\xff\\n"
	             "pgward_fake 1\\\\",
	             "unreachable", "REPOSITORY UNREACHABLE<");
	assert_non_null(strstr(p, "<title>pgward: 3 of 4 stanzas need attention</title>"));
	assert_non_null(strstr(p, "data-summary=\"4 1 3\""));
	/* the facts of the healthy stanza */
	assert_non_null(strstr(p,
	                       "depth 3 (restore drill), <time datetime=\"2026-12-05T02:00:00Z\">"
	                       "2026-12-05 02:00 UTC</time> (2 d ago)"));
	assert_non_null(strstr(p, "verify: running now (job 17)"));
	assert_non_null(strstr(p, "1.5 GiB, took 42 s"));
	assert_non_null(strstr(p, "<dt>WAL</dt><dd data-fact=\"wal\"><span class=\"ok\">receiver "
	                          "running</span>, last durable"));
	assert_non_null(
	    strstr(p, "<dd data-fact=\"window\">from <time datetime=\"2026-11-30T02:00:00Z\">"));
	/* the failing one: its count, exit code and message */
	assert_non_null(
	    strstr(p, "<span class=\"bad\">backup: 3 in a row</span>, the last at <time datetime="
	              "\"2026-12-07T01:41:00Z\">2026-12-07 01:41 UTC</time> (19 min ago), exit 5: "
	              "failed:"));
	/* never backed up: said in words, with the deadline it missed */
	assert_non_null(strstr(p, "<span class=\"bad\">never succeeded</span>"));
	assert_non_null(strstr(p, "NEVER SUCCEEDED, OVERDUE</span>, a success was expected by"));
	pw_free(p);

	/* the other states, worst first */
	fixture[2].kind[PLAN_BACKUP].health = PLAN_HEALTH_OVERDUE;
	fixture[1].kind[PLAN_BACKUP].st.attempts = 0;
	fixture[1].kind[PLAN_BACKUP].st.result = PLAN_RES_OK;
	fixture[0].kind[PLAN_BACKUP].scheduled = false;
	p = page(&board);
	assert_state(p, "main", "overdue", "OVERDUE<");
	assert_state(p, "shop", "ok", "OK<");
	assert_state(p, "newdb", "idle", "NOTHING SCHEDULED HERE<");
	pw_free(p);
	fixture[2].kind[PLAN_BACKUP].health = PLAN_HEALTH_OK;
	fixture[2].wal_running = false;
	fixture[3].repo_reachable = 1;
	p = page(&board);
	assert_state(p, "main", "wal-stopped", "WAL NOT STREAMING<");
	assert_non_null(strstr(p, "WAITING FOR THE FIRST RUN<"));
	pw_free(p);
}

static void test_page_head(void **state)
{
	(void)state;
	struct board_data d = {0};
	char *p = page(&d);
	assert_true(
	    pw_startswith(p, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"));
	assert_non_null(strstr(p, "<meta name=\"viewport\" content=\"width=device-width"));
	assert_non_null(strstr(p, "<meta http-equiv=\"refresh\" content=\"30\">"));
	assert_non_null(strstr(p, "No stanzas are configured."));
	/* no external asset: no URL at all */
	assert_null(strstr(p, "http:"));
	assert_null(strstr(p, "https:"));
	assert_null(strstr(p, "src="));
	assert_null(strstr(p, "href="));
	/* the CSP: nothing by default, the one style sheet by its hash */
	const char *csp = strstr(p, "content=\"default-src 'none'; style-src 'sha256-");
	assert_non_null(csp);
	csp = strstr(csp, "'sha256-") + 8;
	const char *csp_end = strchr(csp, '\'');
	assert_non_null(csp_end);
	const char *css = strstr(p, "<style>");
	assert_non_null(css);
	css += 7;
	const char *css_end = strstr(css, "</style>");
	assert_non_null(css_end);
	uint8_t digest[PW_SHA256_LEN];
	char b64[64];
	assert_int_equal(pw_sha256(css, (size_t)(css_end - css), digest), 0);
	pw_b64_encode(digest, sizeof digest, b64, true);
	assert_int_equal(strlen(b64), (size_t)(csp_end - csp));
	assert_memory_equal(b64, csp, strlen(b64));
	assert_int_equal(count(p, "<style"), 1);
	/* the same policy for the API's header, with what only a header can carry */
	char meta[SVC_PAGE_CSP_MAX], header[SVC_PAGE_CSP_MAX];
	assert_int_equal(svc_page_csp(false, meta), 0);
	assert_int_equal(svc_page_csp(true, header), 0);
	assert_true(pw_startswith(header, meta));
	assert_string_equal(header + strlen(meta), "; frame-ancestors 'none'");
	char want[SVC_PAGE_CSP_MAX + 32];
	snprintf(want, sizeof want, "content=\"%s\">", meta);
	assert_non_null(strstr(p, want));
	pw_free(p);
}

static void test_page_limit(void **state)
{
	(void)state;
	build();
	struct pw_buf out = PW_BUF_INIT(6000);
	assert_int_equal(svc_page_render(&board, NOW, &out), -PW_E_LIMIT);
	pw_error_clear();
	pw_buf_free(&out, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_promcheck_rejects),
	    cmocka_unit_test(test_metrics_empty),
	    cmocka_unit_test(test_metrics_never_succeeded),
	    cmocka_unit_test(test_metrics_values),
	    cmocka_unit_test(test_metrics_pitr_never_durable),
	    cmocka_unit_test(test_metrics_hostile),
	    cmocka_unit_test(test_metrics_kinds_not_here),
	    cmocka_unit_test(test_metrics_odd_values),
	    cmocka_unit_test(test_metrics_limit),
	    cmocka_unit_test(test_page_hostile),
	    cmocka_unit_test(test_page_states),
	    cmocka_unit_test(test_page_head),
	    cmocka_unit_test(test_page_limit),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
