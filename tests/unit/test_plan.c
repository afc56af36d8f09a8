/*
 * test_plan.c - the service's pure decisions (src/service/plan.c) with the injectable clock:
 * a first run, missed runs after downtime run once, retries with bounded backoff, an
 * interrupted run, one job per stanza at a time, a forged future start, jitter caps, and
 * the dead-man deadline. A small simulation drives the plan minute by minute through days
 * with the service down in between and counts the runs.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/time.h"
#include "service/plan.h"

static time_t T(const char *iso)
{
	time_t t = 0;
	assert_int_equal(pw_time_parse(iso, PW_TIME_ISO, false, &t, NULL), 0);
	return t;
}

static time_t clock_now;
static time_t fake_clock(void)
{
	return clock_now;
}

static struct sched S(const char *expr) {
	struct sched s;
	assert_int_equal(sched_parse(expr, "test", &s), 0);
	return s;
}

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(plan_backoff(0, 86400), 60);
	assert_int_equal(plan_backoff(1, 86400), 60);
	assert_int_equal(plan_backoff(2, 86400), 120);
	assert_int_equal(plan_backoff(3, 86400), 240);
	assert_int_equal(plan_backoff(8, 86400), 60 << 7);
	assert_int_equal(plan_backoff(30, 3600), 3600); /* at most the interval */
	assert_int_equal(plan_backoff(1000000, 3600), 3600);
	assert_int_equal(plan_backoff(5, 30), 60); /* never below a minute */
}

static void test_first_run(void **state)
{
	(void)state;
	struct sched s = S("daily 02:00 UTC");
	struct plan_job j = {.sched = &s, .jitter = 0, .grace = -1};
	struct plan_decision d;
	/* not scheduled */
	struct plan_job off = {0};
	assert_int_equal(plan_job("main", PLAN_BACKUP, &off, T("2026-12-07T01:00:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_OFF);
	/* first seen at 01:00: waits for 02:00, then runs */
	j.st.first_seen = T("2026-12-07T01:00:00Z");
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-07T01:30:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_WAIT);
	assert_int_equal(d.due, T("2026-12-07T02:00:00Z"));
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-07T02:00:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_RUN);
	assert_int_equal(d.why, PLAN_WHY_SCHEDULED);
	/* a success at 02:00 -> the next is tomorrow */
	j.st.last_start = T("2026-12-07T02:00:00Z");
	j.st.last_end = j.st.last_success = T("2026-12-07T02:20:00Z");
	j.st.result = PLAN_RES_OK;
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-07T02:21:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_WAIT);
	assert_int_equal(d.due, T("2026-12-08T02:00:00Z"));
}

static void test_missed_runs_once(void **state)
{
	(void)state;
	struct sched s = S("daily 02:00 UTC");
	struct plan_job j = {.sched = &s, .jitter = 600, .grace = -1};
	j.st.first_seen = T("2026-12-01T00:00:00Z");
	j.st.last_start = T("2026-12-07T02:03:00Z");
	j.st.last_end = j.st.last_success = T("2026-12-07T02:30:00Z");
	j.st.result = PLAN_RES_OK;
	/* down for three days: at restart one run, marked missed, for the first missed slot */
	struct plan_decision d;
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-10T12:00:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_RUN);
	assert_int_equal(d.why, PLAN_WHY_MISSED);
	assert_int_equal(d.slot, T("2026-12-08T02:00:00Z"));
	/* it ran: nothing more until tomorrow's slot */
	j.st.last_start = T("2026-12-10T12:00:00Z");
	j.st.last_end = j.st.last_success = T("2026-12-10T12:30:00Z");
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-10T12:31:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_WAIT);
	assert_int_equal(d.slot, T("2026-12-11T02:00:00Z"));
	assert_true(d.due >= d.slot && d.due < d.slot + 600);
}

/*
 * Minute by minute from `from` to `to` with the service down in [down, up): each RUN starts
 * a job that succeeds after `takes` seconds (or fails when fail_until is later). Returns the
 * number of runs started.
 */
/* the entries each run of the last simulate stood for (plan_entries at its start) */
static uint32_t sim_entries[512];

static int simulate(struct plan_job *j, const char *from, const char *to, const char *down,
                    const char *up, long takes, time_t fail_until, time_t *starts, int max)
{
	int runs = 0;
	time_t t_down = down ? T(down) : 0, t_up = up ? T(up) : 0;
	time_t running_until = 0;
	pw_clock_set(fake_clock);
	for (clock_now = T(from); clock_now < T(to); clock_now += 60) {
		if (down && clock_now >= t_down && clock_now < t_up) {
			if (j->active) { /* killed mid-job: the state says running */
				j->active = false;
				running_until = 0;
			}
			continue;
		}
		if (j->active && pw_now() >= running_until) {
			j->active = false;
			j->st.last_end = pw_now();
			bool ok = pw_now() >= fail_until;
			j->st.result = ok ? PLAN_RES_OK : PLAN_RES_FAILED;
			j->st.attempts = ok ? 0 : j->st.attempts + 1;
			if (ok) {
				j->st.last_success = pw_now();
				j->st.last_success_start = j->st.last_start;
			}
		}
		struct plan_decision d;
		assert_int_equal(plan_job("main", PLAN_BACKUP, j, pw_now(), &d), 0);
		if (d.action == PLAN_RUN) {
			uint32_t e = 0;
			assert_int_equal(plan_entries(j, pw_now(), &e), 0);
			assert_int_equal(e, d.entries);
			if (runs < 512)
				sim_entries[runs] = e;
			if (runs < max)
				starts[runs] = pw_now();
			runs++;
			j->active = true;
			j->st.last_start = pw_now();
			j->st.last_end = 0;
			j->st.result = PLAN_RES_RUNNING;
			running_until = pw_now() + takes;
		}
	}
	pw_clock_set(NULL);
	return runs;
}

static void test_simulated_downtime(void **state)
{
	(void)state;
	struct sched s = S("daily 02:00 UTC");
	struct plan_job j = {.sched = &s, .jitter = 600, .grace = -1};
	j.st.first_seen = T("2026-12-01T00:00:00Z");
	time_t starts[16];
	/* 10 days, down for 3 days and a half from the 3rd: 2 + 1 (the catch-up) + 4 = 7 */
	int runs = simulate(&j, "2026-12-01T00:00:00Z", "2026-12-11T00:00:00Z",
	                    "2026-12-03T01:00:00Z", "2026-12-06T12:00:00Z", 1200, 0, starts, 16);
	assert_int_equal(runs, 7);
	assert_int_equal(starts[2], T("2026-12-06T12:00:00Z")); /* once, at restart */
	assert_true(starts[3] >= T("2026-12-07T02:00:00Z") &&
	            starts[3] < T("2026-12-07T02:10:00Z"));
	assert_int_equal(j.st.result, PLAN_RES_OK);
}

static void test_retry_backoff(void **state)
{
	(void)state;
	struct sched s = S("daily 02:00 UTC");
	struct plan_job j = {.sched = &s, .jitter = 0, .grace = -1};
	j.st.first_seen = T("2026-12-02T00:00:00Z");
	time_t starts[32];
	/* fails until 03:00 on the 2nd: retries after 1, 2, 4, 8, 16, 32 minutes... */
	int runs = simulate(&j, "2026-12-02T00:00:00Z", "2026-12-02T06:00:00Z", NULL, NULL, 60,
	                    T("2026-12-02T03:00:00Z"), starts, 32);
	assert_true(runs >= 5 && runs <= 9);
	assert_int_equal(starts[0], T("2026-12-02T02:00:00Z"));
	assert_int_equal(starts[1] - starts[0], 60 + 60);  /* ran 1 min, then 1 min backoff */
	assert_int_equal(starts[2] - starts[1], 60 + 120); /* 2 min */
	assert_int_equal(starts[3] - starts[2], 60 + 240); /* 4 min */
	assert_int_equal(j.st.result, PLAN_RES_OK);
	/* a failing hourly job never retries more often than... every minute, then hourly */
	struct sched h = S("hourly UTC");
	struct plan_job k = {.sched = &h, .jitter = 0, .grace = -1};
	k.st.first_seen = T("2026-12-02T00:00:00Z");
	runs = simulate(&k, "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z", NULL, NULL, 60,
	                T("2027-01-01T00:00:00Z"), starts, 32);
	assert_true(runs > 24 && runs < 24 + 8); /* the backoff reaches the interval */
	assert_int_equal(k.st.result, PLAN_RES_FAILED);
}

/* Several entries: the union of their slots, one run per slot, each run tagged with the
 * entries whose slots it covers; missed runs and retries carry the slots they stand for. */
enum { H = 1, D = 2, W = 4 }; /* entry bits: hourly, daily 02:00, Sun 03:00 */

static void test_entries(void **state)
{
	(void)state;
	struct sched s[3] = {S("hourly UTC"), S("daily 02:00 UTC"), S("Sun 03:00 UTC")};
	struct plan_job j = {.sched = s, .nsched = 3, .jitter = 600, .grace = -1};
	/* first seen Friday 2026-12-04 00:30 */
	j.st.first_seen = T("2026-12-04T00:30:00Z");
	struct plan_decision d;
	time_t next;
	assert_int_equal(plan_next_slot(&j, T("2026-12-04T01:00:00Z"), &next), 0);
	assert_int_equal(next, T("2026-12-04T02:00:00Z"));
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-04T00:40:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_WAIT);
	assert_int_equal(d.slot, T("2026-12-04T01:00:00Z"));
	assert_int_equal(d.entries, H);
	/* jitter once per slot, under half the union's gap (30 min, not the daily's 12 h) */
	for (time_t t = T("2026-12-04T00:00:00Z"); t < T("2026-12-12T00:00:00Z"); t += 3600) {
		long jit;
		assert_int_equal(plan_slot_jitter("main", PLAN_BACKUP, &j, t, &jit), 0);
		assert_true(jit >= 0 && jit < 600);
	}
	struct plan_job big = j;
	big.jitter = 7 * 86400;
	long jit;
	assert_int_equal(
	    plan_slot_jitter("main", PLAN_BACKUP, &big, T("2026-12-04T02:00:00Z"), &jit), 0);
	assert_true(jit < 1800);
	uint32_t e;
	assert_int_equal(plan_slot_entries(&j, T("2026-12-06T03:00:00Z"), &e), 0);
	assert_int_equal(e, H | W);
	assert_int_equal(plan_slot_entries(&j, T("2026-12-06T02:00:00Z"), &e), 0);
	assert_int_equal(e, H | D);
	assert_int_equal(plan_slot_entries(&j, T("2026-12-06T02:30:00Z"), &e), 0);
	assert_int_equal(e, 0);

	/* three days minute by minute (Fri 00:30 to Mon 00:30), each run takes 5 minutes: one
	 * run per hour (the 02:00 slot of hourly and daily is one run), tagged daily once a
	 * day and weekly once, on Sunday at 03:00 */
	time_t starts[128];
	int runs = simulate(&j, "2026-12-04T00:30:00Z", "2026-12-07T00:30:00Z", NULL, NULL, 300, 0,
	                    starts, 128);
	assert_int_equal(runs, 72);
	int daily = 0, weekly = 0;
	for (int i = 0; i < runs; i++) {
		assert_true(sim_entries[i] & H);
		if (sim_entries[i] & D) {
			daily++;
			struct tm tm;
			pw_time_fields(starts[i], &tm);
			assert_int_equal(tm.tm_hour, 2);
		}
		if (sim_entries[i] & W) {
			weekly++;
			assert_true(starts[i] >= T("2026-12-06T03:00:00Z") &&
			            starts[i] < T("2026-12-06T03:10:00Z"));
		}
	}
	assert_int_equal(daily, 3);
	assert_int_equal(weekly, 1);

	/* down from Sunday 01:30 to Tuesday 09:40: one missed run at restart, standing for
	 * every entry that had a slot meanwhile */
	memset(&j.st, 0, sizeof j.st);
	j.st.first_seen = T("2026-12-04T00:30:00Z");
	runs = simulate(&j, "2026-12-06T00:30:00Z", "2026-12-08T10:30:00Z", "2026-12-06T01:30:00Z",
	                "2026-12-08T09:40:00Z", 300, 0, starts, 128);
	/* 00:30 (the slots since Friday), 01:00's run, then down; at restart one run */
	assert_int_equal(starts[2], T("2026-12-08T09:40:00Z"));
	assert_int_equal(sim_entries[1], H);
	assert_int_equal(sim_entries[2], H | D | W);
	assert_int_equal(runs, 4); /* and the 10:00 slot */
	assert_int_equal(sim_entries[3], H);
}

/* A retry stands for the slots the failed runs did not cover, even when they passed during
 * the successful run before them (a backup longer than the interval). */
static void test_entries_retry(void **state)
{
	(void)state;
	uint32_t e_unused;
	struct sched s[2] = {S("hourly UTC"), S("daily 02:00 UTC")};
	struct plan_job j = {.sched = s, .nsched = 2, .jitter = 0, .grace = -1};
	j.st.first_seen = T("2026-12-01T00:00:00Z");
	/* the 01:00 run took 70 minutes: 02:00 passed during it */
	j.st.last_start = j.st.last_success_start = T("2026-12-02T01:00:00Z");
	j.st.last_end = j.st.last_success = T("2026-12-02T02:10:00Z");
	j.st.result = PLAN_RES_OK;
	struct plan_decision d;
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-02T02:10:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_RUN);
	assert_int_equal(d.entries, H | D);
	/* that run fails; the retry still stands for the daily slot */
	j.st.last_start = T("2026-12-02T02:10:00Z");
	j.st.last_end = T("2026-12-02T02:11:00Z");
	j.st.result = PLAN_RES_FAILED;
	j.st.attempts = 1;
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-02T02:12:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_RUN);
	assert_int_equal(d.why, PLAN_WHY_RETRY);
	assert_int_equal(d.entries, H | D);
	/* a state file from before last_success_start: the last success's end, so the daily
	 * slot of a short run is still carried by its retry */
	j.st.last_success_start = 0;
	j.st.last_success = T("2026-12-02T01:10:00Z");
	assert_int_equal(plan_entries(&j, T("2026-12-02T02:12:00Z"), &e_unused), 0);
	assert_int_equal(e_unused, H | D);
	/* a run asked for between slots stands for none */
	j.st.last_success_start = j.st.last_start = T("2026-12-02T03:00:00Z");
	j.st.result = PLAN_RES_OK;
	assert_int_equal(plan_entries(&j, T("2026-12-02T03:20:00Z"), &e_unused), 0);
	assert_int_equal(e_unused, 0);
	/* an entry list of one is the schedule itself; nsched 0 reads as 1 */
	struct plan_job one = {.sched = s, .jitter = 0, .grace = -1};
	one.st.first_seen = T("2026-12-01T00:00:00Z");
	assert_int_equal(plan_job("main", PLAN_BACKUP, &one, T("2026-12-01T00:10:00Z"), &d), 0);
	assert_int_equal(d.slot, T("2026-12-01T01:00:00Z"));
	assert_int_equal(d.entries, H);
}

static void test_interrupted(void **state)
{
	(void)state;
	struct sched s = S("daily 02:00 UTC");
	struct plan_job j = {.sched = &s, .jitter = 0, .grace = -1};
	j.st.first_seen = T("2026-12-01T00:00:00Z");
	j.st.last_start = T("2026-12-07T02:00:00Z");
	j.st.result = PLAN_RES_RUNNING; /* the process died during the job */
	struct plan_decision d;
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-07T02:10:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_RUN);
	assert_int_equal(d.why, PLAN_WHY_RETRY);
	/* while it runs here, it is RUNNING, not run again */
	j.active = true;
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-07T02:10:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_RUNNING);
	/* a stored "interrupted" is a failure too */
	j.active = false;
	j.st.result = PLAN_RES_INTERRUPTED;
	j.st.last_end = T("2026-12-07T02:05:00Z");
	j.st.attempts = 2;
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, T("2026-12-07T02:06:00Z"), &d), 0);
	assert_int_equal(d.action, PLAN_WAIT);
	assert_int_equal(d.due, T("2026-12-07T02:07:00Z"));
}

static void test_one_job_per_stanza(void **state)
{
	(void)state;
	struct sched b = S("daily 02:00 UTC"), v = S("daily 02:00 UTC"), e = S("daily 01:00 UTC");
	struct plan_job jobs[PLAN_KIND_COUNT] = {
	    {.sched = &b, .grace = -1}, {.sched = &v, .grace = -1}, {.sched = &e, .grace = -1}};
	for (int k = 0; k < PLAN_KIND_COUNT; k++)
		jobs[k].st.first_seen = T("2026-12-06T12:00:00Z");
	struct plan_decision d[PLAN_KIND_COUNT];
	enum plan_kind run;
	/* all due: expire was due first and runs; the others wait their turn */
	assert_int_equal(plan_stanza("main", jobs, T("2026-12-07T03:00:00Z"), d, &run), 0);
	assert_int_equal(run, PLAN_EXPIRE);
	assert_int_equal(d[PLAN_BACKUP].action, PLAN_BUSY);
	assert_int_equal(d[PLAN_VERIFY].action, PLAN_BUSY);
	/* expire runs: nothing else starts */
	jobs[PLAN_EXPIRE].active = true;
	jobs[PLAN_EXPIRE].st.last_start = T("2026-12-07T03:00:00Z");
	assert_int_equal(plan_stanza("main", jobs, T("2026-12-07T03:01:00Z"), d, &run), 0);
	assert_int_equal(run, PLAN_KIND_COUNT);
	assert_int_equal(d[PLAN_EXPIRE].action, PLAN_RUNNING);
	assert_int_equal(d[PLAN_BACKUP].action, PLAN_BUSY);
	assert_int_equal(d[PLAN_VERIFY].action, PLAN_BUSY);
	/* done: backup and verify tie, backup first */
	jobs[PLAN_EXPIRE].active = false;
	jobs[PLAN_EXPIRE].st.result = PLAN_RES_OK;
	assert_int_equal(plan_stanza("main", jobs, T("2026-12-07T03:05:00Z"), d, &run), 0);
	assert_int_equal(run, PLAN_BACKUP);
	assert_int_equal(d[PLAN_VERIFY].action, PLAN_BUSY);
	assert_int_equal(d[PLAN_EXPIRE].action, PLAN_WAIT);
}

static void test_forged_future(void **state)
{
	(void)state;
	struct sched s = S("daily 02:00 UTC");
	struct plan_job j = {.sched = &s, .jitter = 0, .grace = -1};
	/* a state file (or a clock) that says the last start was in 2099 cannot silence it */
	j.st.first_seen = T("2099-01-01T00:00:00Z");
	j.st.last_start = T("2099-01-01T00:00:00Z");
	j.st.last_success = T("2099-01-01T00:00:00Z");
	j.st.result = PLAN_RES_OK;
	struct plan_decision d;
	time_t now = T("2026-12-07T03:00:00Z");
	assert_int_equal(plan_job("main", PLAN_BACKUP, &j, now, &d), 0);
	assert_int_equal(d.due, T("2026-12-08T02:00:00Z"));
	enum plan_health h;
	time_t deadline;
	assert_int_equal(plan_health("main", PLAN_BACKUP, &j, now, &h, &deadline), 0);
	assert_true(deadline < T("2026-12-09T00:00:00Z"));
}

static void test_jitter_capped(void **state)
{
	(void)state;
	struct sched s = S("*-*-* *:0/5 UTC");
	struct plan_job j = {.sched = &s, .jitter = 3600, .grace = -1};
	for (int i = 0; i < 300; i++) {
		j.st.last_start = T("2026-12-07T00:00:00Z") + i * 300;
		j.st.result = PLAN_RES_OK;
		struct plan_decision d;
		assert_int_equal(plan_job("main", PLAN_BACKUP, &j, j.st.last_start + 1, &d), 0);
		assert_true(d.due >= d.slot && d.due < d.slot + 150); /* half the interval */
	}
}

static void test_dead_man(void **state)
{
	(void)state;
	struct sched s = S("daily 02:00 UTC");
	struct plan_job j = {.sched = &s, .jitter = 0, .grace = -1};
	enum plan_health h;
	time_t deadline;
	j.st.first_seen = T("2026-12-06T12:00:00Z");
	/* never succeeded: not yet overdue, then overdue with its own state */
	assert_int_equal(
	    plan_health("main", PLAN_BACKUP, &j, T("2026-12-07T03:00:00Z"), &h, &deadline), 0);
	assert_int_equal(h, PLAN_HEALTH_NEVER_YET);
	assert_int_equal(deadline, T("2026-12-07T14:00:00Z")); /* 02:00 + 12 h grace */
	assert_int_equal(
	    plan_health("main", PLAN_BACKUP, &j, T("2026-12-07T14:00:00Z"), &h, &deadline), 0);
	assert_int_equal(h, PLAN_HEALTH_NEVER_OVERDUE);
	/* a success on the 7th: ok until the 8th's run is 12 hours late */
	j.st.last_success = T("2026-12-07T02:20:00Z");
	assert_int_equal(
	    plan_health("main", PLAN_BACKUP, &j, T("2026-12-08T13:59:00Z"), &h, &deadline), 0);
	assert_int_equal(h, PLAN_HEALTH_OK);
	assert_int_equal(
	    plan_health("main", PLAN_BACKUP, &j, T("2026-12-08T14:00:00Z"), &h, &deadline), 0);
	assert_int_equal(h, PLAN_HEALTH_OVERDUE);
	assert_string_equal(plan_health_name(h), "overdue");
	/* explicit grace */
	j.grace = 0;
	assert_int_equal(
	    plan_health("main", PLAN_BACKUP, &j, T("2026-12-08T02:00:00Z"), &h, &deadline), 0);
	assert_int_equal(h, PLAN_HEALTH_OVERDUE);
	/* hourly: the grace is at least an hour */
	struct sched hs = S("hourly UTC");
	struct plan_job k = {.sched = &hs, .jitter = 0, .grace = -1};
	k.st.last_success = T("2026-12-07T10:05:00Z");
	assert_int_equal(
	    plan_health("main", PLAN_BACKUP, &k, T("2026-12-07T11:59:00Z"), &h, &deadline), 0);
	assert_int_equal(h, PLAN_HEALTH_OK);
	assert_int_equal(deadline, T("2026-12-07T12:00:00Z"));
	/* not scheduled: no alarm */
	struct plan_job off = {0};
	assert_int_equal(
	    plan_health("main", PLAN_BACKUP, &off, T("2026-12-07T11:59:00Z"), &h, &deadline), 0);
	assert_int_equal(h, PLAN_HEALTH_OK);
}

static void test_names(void **state)
{
	(void)state;
	for (int k = 0; k < PLAN_KIND_COUNT; k++)
		assert_int_equal(plan_kind_from(plan_kind_name((enum plan_kind)k)), k);
	for (int r = 0; r < PLAN_RES__COUNT; r++)
		assert_int_equal(plan_result_from(plan_result_name((enum plan_result)r)), r);
	assert_int_equal(plan_kind_from("restore"), -1);
	assert_int_equal(plan_kind_from(NULL), -1);
	assert_int_equal(plan_result_from("OK"), -1);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_first_run),
	    cmocka_unit_test(test_missed_runs_once),
	    cmocka_unit_test(test_simulated_downtime),
	    cmocka_unit_test(test_retry_backoff),
	    cmocka_unit_test(test_interrupted),
	    cmocka_unit_test(test_one_job_per_stanza),
	    cmocka_unit_test(test_forged_future),
	    cmocka_unit_test(test_jitter_capped),
	    cmocka_unit_test(test_dead_man),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_entries),
	    cmocka_unit_test(test_entries_retry),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
