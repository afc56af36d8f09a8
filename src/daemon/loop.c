/* loop.c - the service's loop (see loop.h). */
#include "daemon/loop.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "daemon/api.h"
#include "daemon/job.h"
#include "daemon/notify.h"
#include "daemon/sdnotify.h"
#include "daemon/serveconf.h"
#include "daemon/walprobe.h"
#include "service/board.h"
#include "service/plan.h"
#include "service/state.h"

static volatile sig_atomic_t reload_wanted;

static void on_hup(int signo)
{
	(void)signo;
	reload_wanted = 1;
}

#define MAX_RUNNING 64
#define WAL_KIND PLAN_KIND_COUNT /* a running entry that is the supervised wal-stream */
#define WAL_BACKOFF_MAX 300      /* seconds between two starts of a failing wal-stream */
#define WAL_STABLE 600           /* a wal-stream that ran this long starts its backoff anew */

static const char *const job_command[PLAN_KIND_COUNT + 1] = {"backup", "verify", "expire",
                                                             "wal-stream"};

/* A job of the service running in its child process. */
struct running {
	struct serve_job job;
	enum plan_kind kind; /* WAL_KIND: the supervised wal-stream */
	bool cancelled;      /* through the API */
	bool failing;        /* the runs before it failed: a success is a recovery */
	int depth;           /* verify: the depth it runs at */
	char cancel_who[BOARD_WHO_MAX];
};

/* Start one job: a fresh "pgward KIND STANZA --config=FILE" child (serve_job.h). The
 * configuration must still be the one checked: the child reads the file again. */
static int run_job(const struct service *svc, serve_job_opts_fn *opts_of, const struct stanza *st,
                   enum plan_kind k, unsigned id, uint32_t entries, struct running *r)
{
	memset(r, 0, sizeof *r);
	r->kind = k;
	r->depth = k == PLAN_VERIFY ? (int)st->depth : 0;
	const char *args[SCHED_ENTRIES_MAX + 1];
	char tagarg[SCHED_ENTRIES_MAX][SCHED_TAG_MAX + 48];
	size_t nargs = 0;
	/* depth 3 is verify --restore; 1 and 2 follow from the keys (checked before) */
	if (k == PLAN_VERIFY && st->depth == 3)
		args[nargs++] = "--restore";
	/* a backup gets "--tag NAME[:KEEP]" for each entry it stands for (plan_entries) */
	for (size_t e = 0; k == PLAN_BACKUP && e < st->nsched[k]; e++) {
		const struct sched_tag *tg = &st->tags[k][e];
		if (!(entries & (UINT32_C(1) << e)) || !tg->name[0])
			continue;
		char keep[32] = "";
		if (tg->keep)
			serveconf_keep_text(tg->keep, keep, sizeof keep);
		snprintf(tagarg[e], sizeof tagarg[e], "--tag=%s%s%s", tg->name, keep[0] ? ":" : "",
		         keep);
		args[nargs++] = tagarg[e];
	}
	int rc = serveconf_unchanged(svc->path, svc->conf_sha);
	if (rc == 0)
		rc = serve_job_start(&r->job, id, st->name, job_command[k], args, nargs, svc->path,
		                     st->cfg, opts_of, svc->state_path);
	return rc;
}

/* The stanza's schedules and recorded state as the plan takes them; kinds that run now
 * are active. */
static void jobs_of(const struct stanza *st, const struct svc_state *state,
                    const struct running *run, size_t nrun, struct plan_job jobs[PLAN_KIND_COUNT])
{
	for (int k = 0; k < PLAN_KIND_COUNT; k++) {
		memset(&jobs[k], 0, sizeof jobs[k]);
		if (!st->scheduled[k])
			continue;
		jobs[k].sched = st->sched[k];
		jobs[k].nsched = st->nsched[k];
		jobs[k].jitter = st->jitter;
		jobs[k].grace = -1;
		const struct plan_state *ps = svc_state_get(state, st->name, (enum plan_kind)k);
		if (ps)
			jobs[k].st = *ps;
		for (size_t i = 0; i < nrun; i++)
			jobs[k].active |= run[i].kind == (enum plan_kind)k &&
			                  strcmp(run[i].job.stanza, st->name) == 0;
	}
}

/* A job of the stanza (not its wal-stream) runs now. */
static bool stanza_busy(const char *stanza, const struct running *run, size_t nrun)
{
	for (size_t i = 0; i < nrun; i++)
		if (run[i].kind != WAL_KIND && strcmp(run[i].job.stanza, stanza) == 0)
			return true;
	return false;
}

/* The state is written even while a stop signal is pending (file writes stop on it): the
 * record that a run was interrupted is what makes the next start retry it. */
static int save_state(const struct svc_state *state, const char *path)
{
	int sig = pw_interrupted();
	pw_set_interrupted(0);
	int rc = svc_state_save(state, path);
	pw_set_interrupted(sig);
	return rc;
}

/* Every scheduled kind has an entry; a run the last process left "running" was
 * interrupted (it died): recorded as such, so the plan retries it. */
static int adopt(const struct service *svc, struct svc_state *state, time_t now,
                 const struct running *run, size_t nrun)
{
	for (size_t j = 0; j < svc->m; j++)
		for (int k = 0; k < PLAN_KIND_COUNT; k++) {
			if (!svc->all[j].scheduled[k])
				continue;
			struct plan_state *ps;
			int rc = svc_state_put(state, svc->all[j].name, (enum plan_kind)k, &ps);
			if (rc < 0)
				return rc;
			if (!ps->first_seen)
				ps->first_seen = now;
			bool ours = false; /* a job of this process (a reload) */
			for (size_t i = 0; i < nrun; i++)
				ours |= run[i].kind == (enum plan_kind)k &&
				        strcmp(run[i].job.stanza, svc->all[j].name) == 0;
			if (ps->result == PLAN_RES_RUNNING && !ours) {
				char when[PW_TIME_MAX];
				pw_warn(
				    "the %s of stanza \"%s\" started at %s was interrupted (the "
				    "service stopped during it): it is retried",
				    plan_kind_name((enum plan_kind)k), svc->all[j].name,
				    pw_time_format(ps->last_start, PW_TIME_ISO, when));
				ps->result = PLAN_RES_INTERRUPTED;
				ps->attempts++;
			}
		}
	return save_state(state, svc->state_path);
}

static const char *why_text(enum plan_why w)
{
	return w == PLAN_WHY_MISSED  ? "missed while the service was down"
	       : w == PLAN_WHY_RETRY ? "retry"
	       : w == PLAN_WHY_NONE  ? "asked for through the API"
	                             : "scheduled";
}

/* The board lists the served stanzas, in configuration order. */
static int board_load(struct board *b, const struct service *svc)
{
	const char **names = pw_calloc(svc->m ? svc->m : 1, sizeof *names);
	for (size_t j = 0; j < svc->m; j++)
		names[j] = svc->all[j].name;
	int rc = board_set_stanzas(b, names, svc->m);
	pw_free(names);
	struct board_data *d = board_lock(b);
	d->reloaded = pw_now();
	for (size_t j = 0; j < svc->m && rc == 0; j++) {
		struct board_stanza *bs = board_find(d, svc->all[j].name);
		for (int k = 0; k < PLAN_KIND_COUNT && bs; k++) {
			bs->kind[k].scheduled = svc->all[j].scheduled[k];
			pw_strlcpy(bs->kind[k].schedule,
			           svc->all[j].scheduled[k]
			               ? pw_cfg_str(svc->all[j].cfg, serveconf_sched_opt[k])
			               : "",
			           sizeof bs->kind[k].schedule);
		}
		if (bs)
			bs->pitr = svc->all[j].wal;
	}
	board_unlock(b);
	return rc;
}

/* What the plan says of one kind of a stanza, on the board. */
static void board_plan(struct board *b, const char *stanza, enum plan_kind k,
                       const struct plan_job *j, const struct plan_decision *dec,
                       enum plan_health h, time_t deadline)
{
	struct board_data *d = board_lock(b);
	struct board_stanza *bs = board_find(d, stanza);
	if (bs) {
		bs->kind[k].st = j->st;
		bs->kind[k].next_due = dec->action == PLAN_OFF ? 0 : dec->due;
		bs->kind[k].health = h;
		bs->kind[k].deadline = deadline;
	}
	board_unlock(b);
}

/* What a finished job says of its repository: 1 reached, 0 a storage failure, -1 nothing
 * learned. "Running elsewhere" is reported with the storage failures' code, but is none. */
static int job_reached_repo(int exit_code, bool elsewhere)
{
	if (exit_code == 0)
		return 1;
	if (exit_code == PW_E_STORAGE && !elsewhere)
		return 0;
	return -1;
}

/* A job starts (running) or ends (its facts) on the board. */
static void board_job(struct board *b, const char *stanza, enum plan_kind k, unsigned id,
                      const struct plan_state *ps, bool running, int exit_code, const char *message,
                      int depth, uint64_t bytes, bool skipped)
{
	struct board_data *d = board_lock(b);
	struct board_stanza *bs = board_find(d, stanza);
	if (bs) {
		struct board_kind *bk = &bs->kind[k];
		bk->st = *ps;
		bk->running = running;
		bk->job_id = id;
		if (!running) {
			bk->last_duration = (double)(ps->last_end - ps->last_start);
			bk->last_exit = exit_code;
			bk->runs_total++;
			if (skipped) {
				bk->skipped_total++;
				pw_str_printable(bk->last_message, sizeof bk->last_message,
				                 message ? message : "");
			} else if (exit_code) {
				bk->failures_total++;
				pw_str_printable(bk->last_message, sizeof bk->last_message,
				                 message ? message : "");
			} else {
				bk->last_message[0] = '\0';
				if (k == PLAN_VERIFY)
					bk->last_depth = depth;
				if (k == PLAN_BACKUP && bytes)
					bk->last_bytes = bytes;
			}
			int reached = job_reached_repo(exit_code, skipped);
			if (reached >= 0) {
				bs->repo_reachable = reached;
				bs->repo_checked = pw_now();
			}
		}
	}
	board_unlock(b);
}

/* The supervised wal-stream of a stanza on the board. */
static void board_wal(struct board *b, const char *stanza, bool running, int exit_code)
{
	struct board_data *d = board_lock(b);
	struct board_stanza *bs = board_find(d, stanza);
	if (bs) {
		bs->wal_running = running;
		if (!running && exit_code == PW_E_STORAGE) {
			bs->repo_reachable = 0;
			bs->repo_checked = pw_now();
		}
	}
	board_unlock(b);
}

static void notify(struct notifier *n, enum notify_what what, const char *stanza, enum plan_kind k,
                   unsigned id, const struct plan_state *ps, int exit_code, const char *message)
{
	struct notify_event ev = {.what = what,
	                          .stanza = stanza,
	                          .kind = k,
	                          .job_id = id,
	                          .at = pw_now(),
	                          .exit_code = exit_code,
	                          .message = message};
	if (ps && ps->last_end >= ps->last_start && ps->last_end)
		ev.duration = (double)(ps->last_end - ps->last_start);
	notifier_post(n, &ev);
}

/* What the loop shares between its steps. */
struct loop {
	struct service svc;
	struct svc_state *state;
	struct board *board;
	struct notifier *notifier;
	struct running run[MAX_RUNNING];
	size_t nrun;
	size_t max_jobs;
	bool once;
	const struct serve_hooks *hooks;
	int failed_rc; /* --once: the first failure */
	char failed_what[160];
	struct board_request asked[BOARD_QUEUE_MAX]; /* run requests waiting for their stanza */
	size_t nasked;
};

static struct stanza *find_stanza(struct loop *L, const char *name)
{
	for (size_t j = 0; j < L->svc.m; j++)
		if (strcmp(L->svc.all[j].name, name) == 0)
			return &L->svc.all[j];
	return NULL;
}

/* A run has ended (or could not start): the state file first, then the board, the log and
 * the notifications. */
static int record_end(struct loop *L, const char *stanza, enum plan_kind k, unsigned id,
                      bool failing, int depth, bool interrupted, const struct serve_job_result *res)
{
	struct plan_state *ps;
	int rc = svc_state_put(L->state, stanza, k, &ps);
	if (rc < 0)
		return rc;
	ps->last_end = pw_now();
	if (res->elsewhere && !interrupted) {
		/* not a failure (no failure event, no failure count, no backoff): the job of
		 * the stanza runs on another host; the next slot runs it again */
		ps->result = PLAN_RES_SKIPPED;
		char msg[BOARD_MSG_MAX];
		snprintf(msg, sizeof msg, "skipped: running elsewhere (%.*s)", BOARD_MSG_MAX - 40,
		         res->message);
		pw_info("the %s of stanza \"%s\" was skipped (job %u): %s", plan_kind_name(k),
		        stanza, id, res->message);
		rc = save_state(L->state, L->svc.state_path);
		board_job(L->board, stanza, k, id, ps, false, res->exit_code, msg, depth, 0, true);
		return rc;
	}
	bool ok = res->exit_code == 0 && !interrupted;
	ps->result = ok ? PLAN_RES_OK : interrupted ? PLAN_RES_INTERRUPTED : PLAN_RES_FAILED;
	ps->attempts = ok ? 0 : ps->attempts + 1;
	int code = ok ? 0 : res->exit_code ? res->exit_code : PW_E_INTERRUPTED;
	if (ok) {
		ps->last_success = ps->last_end;
		ps->last_success_start = ps->last_start;
		char size[48] = "";
		if (res->stored_bytes) {
			char h[32];
			pw_human_size(res->stored_bytes, " ", h, sizeof h);
			snprintf(size, sizeof size, ", stored %s", h);
		}
		pw_info("the %s of stanza \"%s\" succeeded (job %u%s)", plan_kind_name(k), stanza,
		        id, size);
	} else {
		pw_log(PW_LOG_ERROR, "scheduled %s of stanza \"%s\" %s (job %u, exit %d): %s",
		       plan_kind_name(k), stanza, interrupted ? "was interrupted" : "failed", id,
		       code, res->message[0] ? res->message : "no message");
		if (!L->failed_rc) {
			L->failed_rc = -(code > 0 && code < 256 ? code : PW_E_INTERNAL);
			snprintf(L->failed_what, sizeof L->failed_what, "the %s of stanza \"%s\"",
			         plan_kind_name(k), stanza);
		}
	}
	rc = save_state(L->state, L->svc.state_path);
	board_job(L->board, stanza, k, id, ps, false, code, res->message, depth, res->stored_bytes,
	          false);
	notify(L->notifier, ok ? NOTIFY_SUCCESS : NOTIFY_FAILURE, stanza, k, id, ps, code,
	       ok ? NULL : res->message);
	if (ok && failing)
		notify(L->notifier, NOTIFY_RECOVERY, stanza, k, id, ps, 0, NULL);
	return rc;
}

/* Start the job of kind k of stanza st: recorded as running before it starts. */
static int start_job(struct loop *L, struct stanza *st, enum plan_kind k, enum plan_why why,
                     unsigned id)
{
	if (!id)
		id = board_next_id(L->board);
	struct plan_state *ps;
	int rc = svc_state_put(L->state, st->name, k, &ps);
	if (rc < 0)
		return rc;
	/* the entries (tags) this run stands for, from the state before it */
	struct plan_job jobs[PLAN_KIND_COUNT];
	jobs_of(st, L->state, L->run, L->nrun, jobs);
	uint32_t entries = 0;
	ps->last_start = pw_now();
	ps->last_end = 0;
	ps->result = PLAN_RES_RUNNING;
	if ((rc = save_state(L->state, L->svc.state_path)) < 0)
		return rc;
	bool failing = ps->attempts > 0;
	pw_info("starting the %s of stanza \"%s\" (%s) as job %u", plan_kind_name(k), st->name,
	        why_text(why), id);
	board_job(L->board, st->name, k, id, ps, true, 0, NULL, 0, 0, false);
	notify(L->notifier, NOTIFY_START, st->name, k, id, ps, 0, NULL);
	struct running *r = &L->run[L->nrun];
	/* a zone file that vanished fails plan_entries: as a job that could not start */
	if (plan_entries(&jobs[k], ps->last_start, &entries) == 0 &&
	    run_job(&L->svc, L->hooks->command_opts, st, k, id, entries, r) == 0) {
		r->failing = failing;
		L->nrun++;
		return 0;
	}
	/* it could not start: a failed run, retried with backoff */
	struct serve_job_result res = {.exit_code = pw_error_code()};
	if (!res.exit_code)
		res.exit_code = PW_E_INTERNAL;
	pw_str_printable(res.message, sizeof res.message, pw_error_message());
	pw_error_clear();
	return record_end(L, st->name, k, id, failing, 0, false, &res);
}

/* A running job has exited: its facts. service_stop: the service stops it. */
static int job_ended(struct loop *L, struct running *r)
{
	bool stopped_by_us = r->job.stopping;
	unsigned id = r->job.id;
	char stanza[SVC_STANZA_MAX + 1];
	pw_strlcpy(stanza, r->job.stanza, sizeof stanza);
	struct serve_job_result res;
	serve_job_finish(&r->job, &res);
	if (r->kind == WAL_KIND) {
		struct stanza *st = find_stanza(L, stanza);
		board_wal(L->board, stanza, false, res.exit_code);
		if (stopped_by_us)
			return 0;
		if (st) {
			double ran = (double)(pw_now() - r->job.started);
			if (ran >= WAL_STABLE)
				st->wal_fails = 0;
			/* 1 s, 2, 4 ... at most WAL_BACKOFF_MAX */
			long backoff = st->wal_fails < 9 ? 1L << st->wal_fails : WAL_BACKOFF_MAX;
			if (backoff > WAL_BACKOFF_MAX)
				backoff = WAL_BACKOFF_MAX;
			st->wal_fails++;
			st->wal_next = pw_monotonic() + (double)backoff;
			pw_log(PW_LOG_ERROR,
			       "the wal-stream of stanza \"%s\" ended (exit %d): %s; restarting it "
			       "in %ld s",
			       stanza, res.exit_code, res.message[0] ? res.message : "no message",
			       backoff);
		}
		return 0;
	}
	/* stopped by us (a cancel, the service stopping) or by a signal it reported as such:
	 * interrupted, retried with backoff; killed by a signal on its own (a crash): failed */
	bool interrupted =
	    res.exit_code != 0 && (stopped_by_us || res.exit_code == PW_E_INTERRUPTED);
	if (r->cancelled && res.exit_code != 0)
		snprintf(res.message, sizeof res.message, "cancelled through the API%s%s",
		         r->cancel_who[0] ? " by " : "", r->cancel_who);
	return record_end(L, stanza, r->kind, id, r->failing, r->depth, interrupted, &res);
}

static void start_wal(struct loop *L, struct stanza *st)
{
	struct running *r = &L->run[L->nrun];
	memset(r, 0, sizeof *r);
	r->kind = WAL_KIND;
	unsigned id = board_next_id(L->board);
	int rc = serveconf_unchanged(L->svc.path, L->svc.conf_sha);
	if (rc == 0)
		rc = serve_job_start(&r->job, id, st->name, "wal-stream", NULL, 0, L->svc.path,
		                     st->cfg, L->hooks->command_opts, L->svc.state_path);
	if (rc < 0) {
		pw_log(PW_LOG_ERROR, "cannot start the wal-stream of stanza \"%s\": %s", st->name,
		       pw_error_message());
		pw_error_clear();
		st->wal_fails++;
		st->wal_next = pw_monotonic() + WAL_BACKOFF_MAX;
		return;
	}
	pw_info("started the wal-stream of stanza \"%s\" as job %u", st->name, id);
	board_wal(L->board, st->name, true, 0);
	L->nrun++;
}

/* A request from the API: a run waits for its stanza; a cancel stops a running job or
 * drops a waiting request. */
static void take_request(struct loop *L, const struct board_request *q)
{
	if (!q->cancel) {
		if (L->nasked == BOARD_QUEUE_MAX) {
			pw_warn("job %u of stanza \"%s\" was not queued: %d requests wait", q->id,
			        q->stanza, BOARD_QUEUE_MAX);
			return;
		}
		L->asked[L->nasked++] = *q;
		return;
	}
	for (size_t i = 0; i < L->nrun; i++)
		if (L->run[i].kind != WAL_KIND && L->run[i].job.id == q->id) {
			pw_info("cancelling job %u (the %s of stanza \"%s\")%s%s", q->id,
			        L->run[i].job.command, L->run[i].job.stanza,
			        q->who[0] ? " for " : "", q->who);
			L->run[i].cancelled = true;
			pw_strlcpy(L->run[i].cancel_who, q->who, sizeof L->run[i].cancel_who);
			serve_job_stop(&L->run[i].job);
			return;
		}
	for (size_t i = 0; i < L->nasked; i++)
		if (L->asked[i].id == q->id) {
			pw_info("job %u of stanza \"%s\" was cancelled before it started", q->id,
			        L->asked[i].stanza);
			memmove(&L->asked[i], &L->asked[i + 1],
			        (L->nasked - i - 1) * sizeof L->asked[0]);
			L->nasked--;
			return;
		}
	pw_info("job %u cannot be cancelled: it is no longer running", q->id);
}

struct candidate {
	struct stanza *st;
	enum plan_kind kind;
	enum plan_why why;
	time_t due;
	unsigned id; /* asked for through the API */
};

static int by_due(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	return x->due < y->due ? -1 : x->due > y->due ? 1 : 0;
}

/* The dead-man alarm and the board for every stanza (after the starts: a start is
 * announced before an alarm it may answer). *wake: the next time something is due. */
static int plan_health_all(struct loop *L, enum plan_health *health, time_t *wake)
{
	time_t now = pw_now();
	int rc = 0;
	for (size_t j = 0; j < L->svc.m && rc == 0; j++) {
		struct stanza *st = &L->svc.all[j];
		struct plan_job jobs[PLAN_KIND_COUNT];
		struct plan_decision d[PLAN_KIND_COUNT];
		enum plan_kind run;
		jobs_of(st, L->state, L->run, L->nrun, jobs);
		if ((rc = plan_stanza(st->name, jobs, now, d, &run)) < 0)
			break;
		for (int k = 0; k < PLAN_KIND_COUNT; k++) {
			if (!jobs[k].sched)
				continue;
			if (d[k].action == PLAN_WAIT && d[k].due < *wake)
				*wake = d[k].due;
			enum plan_health h;
			time_t deadline;
			if ((rc = plan_health(st->name, (enum plan_kind)k, &jobs[k], now, &h,
			                      &deadline)) < 0)
				break;
			board_plan(L->board, st->name, (enum plan_kind)k, &jobs[k], &d[k], h,
			           deadline);
			enum plan_health *last = &health[j * PLAN_KIND_COUNT + (size_t)k];
			bool alarm = h == PLAN_HEALTH_OVERDUE || h == PLAN_HEALTH_NEVER_OVERDUE;
			bool was =
			    *last == PLAN_HEALTH_OVERDUE || *last == PLAN_HEALTH_NEVER_OVERDUE;
			char when[PW_TIME_MAX];
			if (alarm != was) {
				struct notify_event ev = {.what = alarm ? NOTIFY_DEADMAN
				                                        : NOTIFY_DEADMAN_CLEAR,
				                          .stanza = st->name,
				                          .kind = (enum plan_kind)k,
				                          .at = now,
				                          .deadline = deadline};
				notifier_post(L->notifier, &ev);
			}
			if (alarm && !was)
				pw_log(PW_LOG_ERROR,
				       "dead-man: stanza \"%s\" has no successful %s since it was "
				       "expected by %s%s",
				       st->name, plan_kind_name((enum plan_kind)k),
				       pw_time_format(deadline, PW_TIME_ISO, when),
				       h == PLAN_HEALTH_NEVER_OVERDUE ? " (it never succeeded)"
				                                      : "");
			else if (!alarm && was)
				pw_info("stanza \"%s\": the %s succeeded again", st->name,
				        plan_kind_name((enum plan_kind)k));
			*last = h;
		}
	}
	return rc;
}

/* What to start for every stanza: due first, at most max_jobs at once, one per stanza;
 * a stanza with nothing due takes a request from the API. */
static int plan_all(struct loop *L, size_t *started)
{
	time_t now = pw_now();
	struct candidate *cand = pw_calloc(L->svc.m ? L->svc.m : 1, sizeof *cand);
	size_t nc = 0;
	int rc = 0;
	for (size_t j = 0; j < L->svc.m && rc == 0; j++) {
		struct stanza *st = &L->svc.all[j];
		struct plan_job jobs[PLAN_KIND_COUNT];
		struct plan_decision d[PLAN_KIND_COUNT];
		enum plan_kind run;
		jobs_of(st, L->state, L->run, L->nrun, jobs);
		if ((rc = plan_stanza(st->name, jobs, now, d, &run)) < 0)
			break;
		if (stanza_busy(st->name, L->run, L->nrun))
			continue;
		unsigned id = 0;
		if (run == PLAN_KIND_COUNT)
			for (size_t i = 0; i < L->nasked; i++)
				if (strcmp(L->asked[i].stanza, st->name) == 0) {
					run = L->asked[i].kind; /* asked for through the API */
					d[run].why = PLAN_WHY_NONE;
					d[run].due = now;
					id = L->asked[i].id;
					break;
				}
		if (run != PLAN_KIND_COUNT)
			cand[nc++] = (struct candidate){st, run, d[run].why, d[run].due, id};
	}
	qsort(cand, nc, sizeof *cand, by_due);
	size_t jobs_running = 0;
	for (size_t i = 0; i < L->nrun; i++)
		jobs_running += L->run[i].kind != WAL_KIND;
	for (size_t i = 0; i < nc && rc == 0 && jobs_running < L->max_jobs &&
	                   L->nrun < MAX_RUNNING && !pw_interrupted();
	     i++) {
		if (cand[i].id) /* the request is served: off the queue */
			for (size_t a = 0; a < L->nasked; a++)
				if (L->asked[a].id == cand[i].id) {
					memmove(&L->asked[a], &L->asked[a + 1],
					        (L->nasked - a - 1) * sizeof L->asked[0]);
					L->nasked--;
					break;
				}
		size_t before = L->nrun;
		rc = start_job(L, cand[i].st, cand[i].kind, cand[i].why, cand[i].id);
		jobs_running += L->nrun - before;
		(*started)++;
	}
	pw_free(cand);
	/* requests for stanzas no longer served */
	for (size_t a = 0; a < L->nasked;)
		if (!find_stanza(L, L->asked[a].stanza)) {
			pw_warn(
			    "job %u of stanza \"%s\" was not run: the stanza is no longer served",
			    L->asked[a].id, L->asked[a].stanza);
			memmove(&L->asked[a], &L->asked[a + 1],
			        (L->nasked - a - 1) * sizeof L->asked[0]);
			L->nasked--;
		} else {
			a++;
		}
	return rc;
}

/* The supervised wal-streams: started when due, stopped when no longer configured. */
static void supervise_wal(struct loop *L, double *wake_mono)
{
	for (size_t i = 0; i < L->nrun; i++) {
		if (L->run[i].kind != WAL_KIND)
			continue;
		struct stanza *st = find_stanza(L, L->run[i].job.stanza);
		if (!st || !st->wal)
			serve_job_stop(&L->run[i].job);
	}
	for (size_t j = 0; j < L->svc.m && !L->once && !pw_interrupted(); j++) {
		struct stanza *st = &L->svc.all[j];
		if (!st->wal)
			continue;
		bool running = false;
		for (size_t i = 0; i < L->nrun && !running; i++)
			running = L->run[i].kind == WAL_KIND &&
			          strcmp(L->run[i].job.stanza, st->name) == 0;
		if (running)
			continue;
		if (pw_monotonic() >= st->wal_next && L->nrun < MAX_RUNNING)
			start_wal(L, st);
		else if (st->wal_next < *wake_mono)
			*wake_mono = st->wal_next;
	}
}

/* Wait for a child to exit, a request, a signal or the timeout (seconds). */
static void wait_events(struct loop *L, double timeout)
{
	struct pollfd pfd[MAX_RUNNING + 1];
	nfds_t n = 0;
	pfd[n++] = (struct pollfd){.fd = board_wake_fd(L->board), .events = POLLIN};
	for (size_t i = 0; i < L->nrun; i++) {
		if (L->run[i].job.pidfd >= 0)
			pfd[n++] = (struct pollfd){.fd = L->run[i].job.pidfd, .events = POLLIN};
		else if (timeout > 0.25)
			timeout = 0.25; /* no pidfd (an old kernel): poll waitpid */
	}
	if (timeout < 0.01)
		timeout = 0.01;
	poll(pfd, n, (int)(timeout * 1000));
}

static void sd_status(struct loop *L)
{
	char s[160];
	size_t jobs = 0, wal = 0;
	for (size_t i = 0; i < L->nrun; i++)
		*(L->run[i].kind == WAL_KIND ? &wal : &jobs) += 1;
	snprintf(s, sizeof s, "serving %zu stanza%s: %zu job%s running, %zu wal-stream%s", L->svc.m,
	         L->svc.m == 1 ? "" : "s", jobs, jobs == 1 ? "" : "s", wal, wal == 1 ? "" : "s");
	sdn_status(s);
}

/* The service stops: every running job is asked to stop (SIGTERM to its process group,
 * SIGKILL after the grace), waited for, and recorded as interrupted. */
static int stop_all(struct loop *L)
{
	int rc = 0;
	for (size_t i = 0; i < L->nrun; i++)
		serve_job_stop(&L->run[i].job);
	for (size_t i = 0; i < L->nrun; i++) {
		int r = job_ended(L, &L->run[i]);
		if (r < 0 && rc == 0)
			rc = r;
	}
	L->nrun = 0;
	return rc;
}

int serve_loop(const struct pw_config *cfg, bool once, const struct serve_hooks *h)
{
	struct loop *L = pw_calloc(1, sizeof *L);
	L->once = once;
	L->hooks = h;
	/* TZ exists from here on, before any thread starts: pw_zone_local then only swaps its
	 * value, which the threads' getenv calls survive (adding or removing a variable moves
	 * the environment under them); ":/etc/localtime" is what an unset TZ means */
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 1);
	int rc = serveconf_load(cfg, h->tag_ok, &L->svc);
	if (rc < 0) {
		pw_free(L);
		return rc;
	}
	long long max_jobs = pw_cfg_int(cfg, PW_OPT_SERVE_MAX_JOBS);
	if (max_jobs < 1 || max_jobs > MAX_RUNNING / 2) {
		pw_error(PW_E_CONFIG, "serve-max-jobs is %lld", max_jobs);
		rc = pw_error_hint("Use 1 to %d jobs at once.", MAX_RUNNING / 2);
	}
	L->max_jobs = (size_t)max_jobs;
	if (rc == 0)
		rc = svc_state_load(L->svc.state_path, &L->state);
	if (rc == 0)
		rc = adopt(&L->svc, L->state, pw_now(), NULL, 0);
	/* the board: what the API, /metrics and the page show; the API and the webhooks are
	 * started only for a daemon, never for --once */
	struct board *board = board_new();
	struct api *api = NULL;
	L->board = board;
	if (!board && rc == 0)
		rc = pw_error(PW_E_NOMEM, "cannot create the service's board");
	if (rc == 0) {
		board_lock(board)->started = pw_now();
		board_unlock(board);
		rc = board_load(board, &L->svc);
	}
	if (rc == 0 && !once)
		rc = notifier_start(&L->svc.notify, &L->notifier);
	const struct api_hooks hooks = {
	    .backups = h->backups, .arg = (void *)L->svc.path, .audit_path = h->audit_path};
	if (rc == 0 && !once)
		rc = api_start(cfg, board, &hooks, &api);
	/* the last durable WAL of the wal-stream stanzas, read from the repository */
	struct serve_wal *wal = NULL;
	if (rc == 0 && !once)
		rc = serve_wal_start(L->svc.path, board, h->wal_status, &wal);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup; /* no SA_RESTART: a sleep returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	if (rc == 0) {
		pw_info("serving %zu stanza%s, %zu schedule%s, at most %zu job%s at once; state in "
		        "%s",
		        L->svc.m, L->svc.m == 1 ? "" : "s", L->svc.nsched,
		        L->svc.nsched == 1 ? "" : "s", L->max_jobs, L->max_jobs == 1 ? "" : "s",
		        L->svc.state_path);
		if (!once)
			sdn_ready("configuration checked, serving");
	}
	double watchdog = once ? 0 : sdn_watchdog_interval(), next_ping = pw_monotonic();
	enum plan_health *health = NULL;
	size_t nhealth = 0, shown_jobs = (size_t)-1;
	while (rc == 0 && !pw_interrupted()) {
		if (watchdog > 0 && pw_monotonic() >= next_ping) {
			sdn_watchdog();
			next_ping = pw_monotonic() + watchdog;
		}
		if (reload_wanted) {
			reload_wanted = 0;
			sdn_status("reloading the configuration");
			struct service fresh;
			/* the API's tokens come with the configuration: a refused one keeps
			 * both (every stanza's configuration holds [global]'s api-token) */
			int lrc = serveconf_load(cfg, h->tag_ok, &fresh);
			if (lrc == 0 && (lrc = api_reload(api, fresh.all[0].cfg)) < 0)
				serveconf_free(&fresh);
			if (lrc == 0) {
				serveconf_free(&L->svc);
				L->svc = fresh;
				rc = adopt(&L->svc, L->state, pw_now(), L->run, L->nrun);
				if (rc == 0 && !once)
					rc = notifier_reconfigure(&L->notifier, &L->svc.notify);
				if (rc == 0)
					rc = board_load(board, &L->svc);
				pw_info("configuration reloaded: %zu stanzas", L->svc.m);
				serve_wal_kick(wal);
			} else {
				pw_log(PW_LOG_ERROR,
				       "reload refused, the old configuration stays: %s",
				       pw_error_message());
				pw_error_clear();
			}
			shown_jobs = (size_t)-1;
			if (rc < 0)
				break;
		}
		if (nhealth != L->svc.m * PLAN_KIND_COUNT) {
			pw_free(health);
			nhealth = L->svc.m * PLAN_KIND_COUNT;
			health = pw_calloc(nhealth ? nhealth : 1, sizeof *health);
		}
		/* the jobs that ended */
		for (size_t i = 0; i < L->nrun && rc == 0;) {
			if (!serve_job_poll(&L->run[i].job)) {
				i++;
				continue;
			}
			rc = job_ended(L, &L->run[i]);
			L->run[i] = L->run[--L->nrun];
		}
		struct board_request q;
		while (rc == 0 && board_take(board, &q))
			take_request(L, &q);
		time_t wake = pw_now() + 60;
		size_t started = 0;
		if (rc == 0)
			rc = plan_all(L, &started);
		if (rc == 0)
			rc = plan_health_all(L, health, &wake);
		double wake_mono = pw_monotonic() + (double)(wake - pw_now());
		if (rc == 0)
			supervise_wal(L, &wake_mono);
		if (rc < 0 || pw_interrupted())
			break;
		if (L->nrun != shown_jobs && !once) {
			sd_status(L);
			shown_jobs = L->nrun;
		}
		if (once && L->nrun == 0 && started == 0)
			break; /* nothing due and nothing running */
		if (started)
			continue; /* another stanza may be due now */
		/* sleep until the next due time (at most a minute, half the watchdog); a child
		 * ending, a request through the API or a signal ends it early */
		double timeout = wake_mono - pw_monotonic();
		if (timeout > 60)
			timeout = 60;
		if (watchdog > 0 && next_ping - pw_monotonic() < timeout)
			timeout = next_ping - pw_monotonic();
		wait_events(L, timeout < 1 && !L->nrun ? 1 : timeout);
	}
	if (!once)
		sdn_stopping();
	if (L->nrun)
		pw_info("stopping %zu running job%s", L->nrun, L->nrun == 1 ? "" : "s");
	int src = stop_all(L);
	if (rc == 0)
		rc = src;
	/* the API's last records (calls answered, refused calls summed up) are written even
	 * while a stop signal is pending (file writes stop on it) */
	int sig = pw_interrupted();
	pw_set_interrupted(0);
	api_stop(api);
	bool wal_ended = serve_wal_stop(wal);
	pw_set_interrupted(sig);
	notifier_stop(L->notifier);
	if (wal_ended)
		board_free(board); /* else the WAL thread still holds it: the exit frees it */
	if (rc == 0 && pw_interrupted())
		pw_info("stopping on signal %d", pw_interrupted());
	pw_free(health);
	svc_state_free(L->state);
	serveconf_free(&L->svc);
	if (rc == 0 && once && L->failed_rc) {
		pw_error(-L->failed_rc, "%s failed (its message is above)", L->failed_what);
		rc = pw_error_hint("The next \"pgward serve --once\" retries it after a backoff; "
		                   "\"pgward serve --check-config\" shows the schedules.");
	}
	pw_free(L);
	return rc;
}
