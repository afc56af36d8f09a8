/*
 * render_board.c - render a made-up board (src/service/board.h) as the status page and as
 * /metrics, for the browser test (tests/integration/test_status_page.sh) and to measure
 * the renderers, before and besides the daemon that serves them.
 *
 *     render_board OUTDIR                 OUTDIR/index.html and OUTDIR/metrics.txt of the
 *                                         fixed board below, at 2026-12-07T02:00:00Z
 *     render_board --stanzas N OUTDIR     N healthy stanzas instead; prints the sizes and
 *                                         the CPU time each rendering took
 *
 * The fixed board: "newdb" never succeeded and is overdue; "shop" fails with a hostile
 * message; "main" is healthy with PITR, a recovery window and a restore drill; a stanza
 * whose name and schedule are hostile (names the configuration cannot hold: the renderers
 * must not trust that) and whose repository is unreachable; "drills" only verifies and
 * expires here (the two-host split), its verification running now.
 * Exits 0, or pgward's error code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "service/render.h"

#define NOW ((time_t)1796608800) /* 2026-12-07T02:00:00Z */
#define H 3600
#define D 86400

static void kinds_init(struct board_stanza *s, const char *name)
{
	memset(s, 0, sizeof *s);
	pw_strlcpy(s->name, name, sizeof s->name);
	for (int k = 0; k < PLAN_KIND_COUNT; k++)
		s->kind[k].last_duration = -1;
	s->repo_reachable = -1;
}

static void sched(struct board_kind *k, const char *expr, time_t next, time_t deadline,
                  enum plan_health h)
{
	k->scheduled = true;
	pw_strlcpy(k->schedule, expr, sizeof k->schedule);
	k->next_due = next;
	k->deadline = deadline;
	k->health = h;
	k->st.first_seen = NOW - 30 * D;
}

static void success(struct board_kind *k, time_t end, double took)
{
	k->st.last_start = end - (time_t)took;
	k->st.last_end = end;
	k->st.last_success = end;
	k->st.result = PLAN_RES_OK;
	k->last_duration = took;
	k->runs_total += 1;
}

static void healthy(struct board_stanza *s, const char *name)
{
	kinds_init(s, name);
	struct board_kind *b = &s->kind[PLAN_BACKUP], *v = &s->kind[PLAN_VERIFY];
	sched(b, "daily 02:00 Europe/Berlin", NOW + 23 * H + 300, NOW + D + 12 * H, PLAN_HEALTH_OK);
	success(b, NOW - H, 42.5);
	b->last_bytes = 1610612736; /* 1.5 GiB */
	sched(v, "Sun 04:00 Europe/Berlin", NOW + 5 * D, NOW + 8 * D, PLAN_HEALTH_OK);
	success(v, NOW - 2 * D, 610);
	v->last_depth = 3;
	sched(&s->kind[PLAN_EXPIRE], "daily 06:00", NOW + 4 * H, NOW + D + 10 * H, PLAN_HEALTH_OK);
	success(&s->kind[PLAN_EXPIRE], NOW - 20 * H, 3);
	s->pitr = true;
	s->wal_running = true;
	s->wal_last_durable = NOW - 12;
	s->window_from = NOW - 7 * D;
	s->window_to = NOW - 12;
	s->repo_reachable = 1;
	s->repo_checked = NOW - 60;
}

static struct board_stanza *fixed_board(size_t *n)
{
	struct board_stanza *s = pw_calloc(5, sizeof *s);

	kinds_init(&s[0], "newdb");
	sched(&s[0].kind[PLAN_BACKUP], "daily 02:00", NOW + 22 * H, NOW - 2 * H,
	      PLAN_HEALTH_NEVER_OVERDUE);
	s[0].repo_reachable = 1;
	s[0].repo_checked = NOW - 300;

	kinds_init(&s[1], "shop");
	struct board_kind *b = &s[1].kind[PLAN_BACKUP];
	sched(b, "hourly", NOW + 240, NOW + 6 * H, PLAN_HEALTH_OK);
	success(b, NOW - 5 * H, 30);
	b->last_bytes = 52428800;
	b->st.last_start = NOW - 20 * 60;
	b->st.last_end = NOW - 19 * 60;
	b->st.result = PLAN_RES_FAILED;
	b->st.attempts = 3;
	b->last_exit = 5;
	b->runs_total = 10;
	b->failures_total = 3;
	b->job_id = 41;
	pw_strlcpy(b->last_message,
	           "connection to server failed: <script>alert(1)</script> & \"quoted\" 'single' "
	           "\x1b[31mred\x1b[0m\nnext line",
	           sizeof b->last_message);
	sched(&s[1].kind[PLAN_VERIFY], "daily 05:00", NOW + 3 * H, NOW + D, PLAN_HEALTH_OK);
	success(&s[1].kind[PLAN_VERIFY], NOW - 21 * H, 20);
	s[1].kind[PLAN_VERIFY].last_depth = 1;
	s[1].repo_reachable = 1;
	s[1].repo_checked = NOW - 120;

	healthy(&s[2], "main");

	kinds_init(&s[3], "x\"><script>alert(2)</script>&amp;'\x01\xff\n</section>");
	sched(&s[3].kind[PLAN_BACKUP], "daily \"02:00\" \\ <b>bold</b>\n# TYPE x", NOW + H, NOW + D,
	      PLAN_HEALTH_NEVER_YET);
	s[3].repo_reachable = 0;
	s[3].repo_checked = NOW - 30;

	kinds_init(&s[4], "drills");
	struct board_kind *v = &s[4].kind[PLAN_VERIFY];
	sched(v, "Sun 04:00", 0, NOW + 6 * D, PLAN_HEALTH_OK);
	success(v, NOW - 6 * D, 1800);
	v->running = true;
	v->job_id = 17;
	sched(&s[4].kind[PLAN_EXPIRE], "daily 06:00", NOW + 4 * H, NOW + D + 10 * H,
	      PLAN_HEALTH_OK);
	success(&s[4].kind[PLAN_EXPIRE], NOW - 20 * H, 2);
	s[4].repo_reachable = 1;
	s[4].repo_checked = NOW - 10;

	*n = 5;
	return s;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int write_file(const char *dir, const char *name, const struct pw_buf *b)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return pw_error(PW_E_IO, "cannot create \"%s\"", path);
	size_t n = fwrite(b->data, 1, b->len, f);
	if (fclose(f) != 0 || n != b->len)
		return pw_error(PW_E_IO, "cannot write \"%s\"", path);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t bench = 0;
	if (argc == 4 && strcmp(argv[1], "--stanzas") == 0 && pw_parse_u64(argv[2], &bench) == 0 &&
	    bench > 0 && bench <= 100000) {
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: render_board [--stanzas N] OUTDIR\n");
		return 2;
	}
	struct board_data d = {.started = NOW - 3 * D, .reloaded = NOW - H};
	if (bench) {
		d.n = (size_t)bench;
		d.stanza = pw_calloc(d.n, sizeof *d.stanza);
		for (size_t i = 0; i < d.n; i++) {
			char name[32];
			snprintf(name, sizeof name, "stanza-%05zu", i);
			healthy(&d.stanza[i], name);
		}
	} else {
		d.stanza = fixed_board(&d.n);
	}
	struct pw_buf page = PW_BUF_INIT(256u << 20), metrics = PW_BUF_INIT(256u << 20);
	/* the second of two renderings (the first pays OpenSSL's start-up for the style
	 * sheet's hash), timed in CPU time: the test machine is shared, wall time says more
	 * about the neighbours than about the renderers */
	int rc = 0;
	double t0 = 0, t1 = 0, t2 = 0;
	for (int round = 0; round < 2 && rc == 0; round++) {
		pw_buf_reset(&page);
		pw_buf_reset(&metrics);
		t0 = cpu_seconds();
		rc = svc_page_render(&d, NOW, &page);
		t1 = cpu_seconds();
		if (rc == 0)
			rc = svc_metrics_render(&d, NOW, &metrics);
		t2 = cpu_seconds();
	}
	if (rc == 0)
		rc = write_file(argv[1], "index.html", &page);
	if (rc == 0)
		rc = write_file(argv[1], "metrics.txt", &metrics);
	if (rc == 0 && bench)
		printf(
		    "%zu stanzas: page %zu bytes in %.2f ms, metrics %zu bytes in %.2f ms (CPU)\n",
		    d.n, page.len, (t1 - t0) * 1000, metrics.len, (t2 - t1) * 1000);
	if (rc != 0)
		fprintf(stderr, "render_board: %s\n", pw_error_message());
	pw_buf_free(&page, 0);
	pw_buf_free(&metrics, 0);
	pw_free(d.stanza);
	return rc ? -rc : 0;
}
