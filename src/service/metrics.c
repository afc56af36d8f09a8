/*
 * metrics.c - the board in the Prometheus text exposition format 0.0.4 (see render.h and
 * docs/service.md, "Metrics").
 *
 * One table of metric families. Each family is written once: its HELP and TYPE lines,
 * then all its samples together (the format requires a family's samples to be adjacent),
 * per service, per stanza, or per stanza and job kind.
 *
 * A fact the service does not know is no sample, never a made-up value: a job kind that
 * never succeeded has pgward_job_ever_succeeded 0 and no last-success timestamp (a 0 would
 * read as 1970 and a "time since" alert on it would fire for the wrong reason, or a
 * "timestamp > X" one stay silent for the wrong reason); an unknown repository
 * reachability, size or depth is absent rather than 0. Alerts on "never" use the explicit
 * 0/1 series (docs/alerts.yml).
 *
 * Label values are the stanza name, the job kind, the schedule expression and the
 * version: each passes the one display sanitizer (pw_str_printable: no control character,
 * no invalid UTF-8, which a scraper would reject) and then the format's escaping (\\, \",
 * \n), so no value can end a line or a label. One-line failure messages are not exported:
 * free text is no label (every new message would be a new series); the page and the API
 * show them.
 */
#include "service/render.h"

#include <math.h>
#include <string.h>

#include "common/str.h"

bool svc_kind_shown(const struct board_kind *k)
{
	return k->scheduled || k->running || k->runs_total > 0 || k->st.last_start > 0 ||
	       k->st.last_success > 0 || k->st.result != PLAN_RES_NONE;
}

enum scope { PER_SERVICE, PER_STANZA, PER_KIND };
#define ALL_KINDS (-1)

struct ctx {
	const struct board_data *d;
	const struct board_stanza *s;
	const struct board_kind *k;
	time_t now;
};

/* false: no sample (the fact is not known, or does not apply) */
typedef bool (*value_fn)(const struct ctx *c, double *v);
/* an extra label's value */
typedef const char *(*label_fn)(const struct ctx *c);

struct family {
	const char *name;
	const char *type;
	enum scope scope;
	int only; /* PER_KIND: ALL_KINDS (a "kind" label) or the one kind it is about */
	value_fn value;
	const char *extra_label; /* NULL or the name of one more label */
	label_fn extra;
	const char *help;
};

static bool since(time_t t, time_t now, double *v)
{
	if (t <= 0)
		return false;
	*v = now > t ? (double)(now - t) : 0;
	return true;
}

static bool at(time_t t, double *v)
{
	if (t <= 0)
		return false;
	*v = (double)t;
	return true;
}

static bool v_one(const struct ctx *c, double *v)
{
	(void)c;
	*v = 1;
	return true;
}

static bool v_started(const struct ctx *c, double *v)
{
	return at(c->d->started, v);
}

static bool v_reloaded(const struct ctx *c, double *v)
{
	return at(c->d->reloaded, v);
}

static bool v_stanzas(const struct ctx *c, double *v)
{
	*v = (double)c->d->n;
	return true;
}

static bool v_scheduled(const struct ctx *c, double *v)
{
	*v = 1;
	return c->k->scheduled;
}

static bool v_ever(const struct ctx *c, double *v)
{
	*v = c->k->st.last_success > 0;
	return true;
}

static bool v_last_success(const struct ctx *c, double *v)
{
	return at(c->k->st.last_success, v);
}

static bool v_since_success(const struct ctx *c, double *v)
{
	return since(c->k->st.last_success, c->now, v);
}

static bool v_duration(const struct ctx *c, double *v)
{
	*v = c->k->last_duration;
	return isfinite(*v) && *v >= 0;
}

static bool v_consecutive(const struct ctx *c, double *v)
{
	*v = c->k->st.attempts;
	return true;
}

static bool v_failures(const struct ctx *c, double *v)
{
	*v = (double)c->k->failures_total;
	return true;
}

static bool v_skipped(const struct ctx *c, double *v)
{
	*v = (double)c->k->skipped_total;
	return true;
}

static bool v_runs(const struct ctx *c, double *v)
{
	*v = (double)c->k->runs_total;
	return true;
}

static bool v_running(const struct ctx *c, double *v)
{
	*v = c->k->running;
	return true;
}

static bool v_next(const struct ctx *c, double *v)
{
	return at(c->k->next_due, v);
}

static bool v_overdue(const struct ctx *c, double *v)
{
	*v = c->k->health == PLAN_HEALTH_OVERDUE || c->k->health == PLAN_HEALTH_NEVER_OVERDUE;
	return c->k->scheduled;
}

static bool v_deadline(const struct ctx *c, double *v)
{
	return c->k->scheduled && at(c->k->deadline, v);
}

static bool v_size(const struct ctx *c, double *v)
{
	*v = (double)c->k->last_bytes;
	return c->k->last_bytes > 0;
}

static bool v_depth(const struct ctx *c, double *v)
{
	*v = c->k->last_depth;
	return c->k->last_depth > 0;
}

static bool v_repo(const struct ctx *c, double *v)
{
	*v = c->s->repo_reachable > 0;
	return c->s->repo_reachable >= 0;
}

static bool v_repo_checked(const struct ctx *c, double *v)
{
	return at(c->s->repo_checked, v);
}

static bool v_wal_running(const struct ctx *c, double *v)
{
	*v = c->s->wal_running;
	return c->s->pitr;
}

static bool v_wal_ever(const struct ctx *c, double *v)
{
	*v = c->s->wal_last_durable > 0;
	return c->s->pitr;
}

static bool v_wal_last(const struct ctx *c, double *v)
{
	return c->s->pitr && at(c->s->wal_last_durable, v);
}

static bool v_wal_since(const struct ctx *c, double *v)
{
	return c->s->pitr && since(c->s->wal_last_durable, c->now, v);
}

static bool v_window_from(const struct ctx *c, double *v)
{
	return at(c->s->window_from, v);
}

static bool v_window_to(const struct ctx *c, double *v)
{
	return at(c->s->window_to, v);
}

static const char *l_version(const struct ctx *c)
{
	(void)c;
	return PGWARD_VERSION;
}

static const char *l_schedule(const struct ctx *c)
{
	return c->k->schedule;
}

/* clang-format off */
static const struct family families[] = {
	{"pgward_build_info", "gauge", PER_SERVICE, ALL_KINDS, v_one, "version", l_version,
	 "Always 1; the version of the running pgward."},
	{"pgward_service_start_time_seconds", "gauge", PER_SERVICE, ALL_KINDS, v_started, NULL, NULL,
	 "When the service started, in seconds since the epoch."},
	{"pgward_config_last_reload_timestamp_seconds", "gauge", PER_SERVICE, ALL_KINDS, v_reloaded,
	 NULL, NULL, "When the configuration was last loaded or reloaded (SIGHUP)."},
	{"pgward_stanzas", "gauge", PER_SERVICE, ALL_KINDS, v_stanzas, NULL, NULL,
	 "Stanzas the service runs."},
	{"pgward_job_schedule_info", "gauge", PER_KIND, ALL_KINDS, v_scheduled, "schedule", l_schedule,
	 "Always 1 for a job kind scheduled in this process; the schedule expression as configured."},
	{"pgward_job_ever_succeeded", "gauge", PER_KIND, ALL_KINDS, v_ever, NULL, NULL,
	 "1 if the job kind ever succeeded for the stanza, 0 if it never did (then it has no last-success series)."},
	{"pgward_job_last_success_timestamp_seconds", "gauge", PER_KIND, ALL_KINDS, v_last_success,
	 NULL, NULL, "When the last successful run ended; absent while it never succeeded."},
	{"pgward_job_since_last_completion_seconds", "gauge", PER_KIND, ALL_KINDS, v_since_success,
	 NULL, NULL, "Seconds since the last successful run ended; absent while it never succeeded."},
	{"pgward_job_last_duration_seconds", "gauge", PER_KIND, ALL_KINDS, v_duration, NULL, NULL,
	 "How long the last finished run took (success or not); absent before the first one."},
	{"pgward_job_consecutive_failures", "gauge", PER_KIND, ALL_KINDS, v_consecutive, NULL, NULL,
	 "Failed or interrupted runs since the last success (0: the last run succeeded); survives restarts."},
	{"pgward_job_failures_total", "counter", PER_KIND, ALL_KINDS, v_failures, NULL, NULL,
	 "Failed or interrupted runs since the service started."},
	{"pgward_job_skipped_total", "counter", PER_KIND, ALL_KINDS, v_skipped, NULL, NULL,
	 "Runs skipped since the service started because the same job of the stanza ran elsewhere (another host held its lock); not failures."},
	{"pgward_job_runs_total", "counter", PER_KIND, ALL_KINDS, v_runs, NULL, NULL,
	 "Finished runs since the service started."},
	{"pgward_job_running", "gauge", PER_KIND, ALL_KINDS, v_running, NULL, NULL,
	 "1 while a job of this kind runs for the stanza."},
	{"pgward_job_next_run_timestamp_seconds", "gauge", PER_KIND, ALL_KINDS, v_next, NULL, NULL,
	 "When the next run is due (its slot plus jitter, or the retry time); absent when none is planned."},
	{"pgward_job_overdue", "gauge", PER_KIND, ALL_KINDS, v_overdue, NULL, NULL,
	 "The dead-man alarm: 1 when no success came by the deadline (also when it never succeeded), else 0."},
	{"pgward_job_deadline_timestamp_seconds", "gauge", PER_KIND, ALL_KINDS, v_deadline, NULL, NULL,
	 "The next success is expected by then (the dead-man deadline)."},
	{"pgward_backup_last_size_bytes", "gauge", PER_KIND, PLAN_BACKUP, v_size, NULL, NULL,
	 "Stored bytes of the last successful backup; absent while unknown."},
	{"pgward_verify_last_depth", "gauge", PER_KIND, PLAN_VERIFY, v_depth, NULL, NULL,
	 "Depth of the last successful verification in this process (1 checksums and signature, 2 decrypt, 3 restore drill); its time is pgward_job_last_success_timestamp_seconds{kind=\"verify\"}."},
	{"pgward_repository_reachable", "gauge", PER_STANZA, ALL_KINDS, v_repo, NULL, NULL,
	 "1 if the stanza's repository answered when last checked, 0 if not; absent before the first check."},
	{"pgward_repository_last_check_timestamp_seconds", "gauge", PER_STANZA, ALL_KINDS,
	 v_repo_checked, NULL, NULL, "When the repository's reachability was last checked."},
	{"pgward_wal_receiver_running", "gauge", PER_STANZA, ALL_KINDS, v_wal_running, NULL, NULL,
	 "With continuous WAL (PITR): 1 while the stanza's WAL receiver runs."},
	{"pgward_wal_ever_durable", "gauge", PER_STANZA, ALL_KINDS, v_wal_ever, NULL, NULL,
	 "With continuous WAL (PITR): 1 if WAL was ever made durable in the repository, 0 if never."},
	{"pgward_wal_last_durable_timestamp_seconds", "gauge", PER_STANZA, ALL_KINDS, v_wal_last, NULL,
	 NULL, "With continuous WAL (PITR): when WAL was last durable in the repository."},
	{"pgward_wal_since_last_durable_seconds", "gauge", PER_STANZA, ALL_KINDS, v_wal_since, NULL,
	 NULL, "With continuous WAL (PITR): seconds since WAL was last durable in the repository."},
	{"pgward_recovery_window_start_timestamp_seconds", "gauge", PER_STANZA, ALL_KINDS,
	 v_window_from, NULL, NULL, "The earliest point the stanza can be restored to; absent while unknown."},
	{"pgward_recovery_window_end_timestamp_seconds", "gauge", PER_STANZA, ALL_KINDS, v_window_to,
	 NULL, NULL, "The latest point the stanza can be restored to; absent while unknown."},
};
/* clang-format on */

/* A label value: the display sanitizer, then the exposition format's escaping. */
static int put_label(struct pw_buf *out, bool first, const char *name, const char *value)
{
	char shown[4 * BOARD_SCHED_MAX + 8]; /* \xHH per byte of the longest value */
	pw_str_printable(shown, sizeof shown, value ? value : "");
	int rc = pw_buf_printf(out, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = shown; *p && rc == 0; p++) {
		if (*p == '\\')
			rc = pw_buf_append(out, "\\\\", 2);
		else if (*p == '"')
			rc = pw_buf_append(out, "\\\"", 2);
		else if (*p == '\n')
			rc = pw_buf_append(out, "\\n", 2);
		else
			rc = pw_buf_putc(out, *p);
	}
	return rc ? rc : pw_buf_putc(out, '"');
}

static int put_value(struct pw_buf *out, double v)
{
	/* integers (times, counts, bytes) exactly; fractions (durations) to 9 digits. The
	 * value functions never return NaN or an infinity. */
	if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v)
		return pw_buf_printf(out, " %lld\n", (long long)v);
	return pw_buf_printf(out, " %.9g\n", v);
}

static int sample(struct pw_buf *out, const struct family *f, const struct ctx *c, int kind)
{
	double v = 0;
	if (!f->value(c, &v) || !isfinite(v))
		return 0;
	int rc = pw_buf_printf(out, "%s", f->name);
	bool first = true;
	if (rc == 0 && (f->scope != PER_SERVICE || f->extra_label))
		rc = pw_buf_putc(out, '{');
	if (rc == 0 && f->scope != PER_SERVICE) {
		rc = put_label(out, first, "stanza", c->s->name);
		first = false;
	}
	if (rc == 0 && f->scope == PER_KIND && f->only == ALL_KINDS)
		rc = put_label(out, false, "kind", plan_kind_name((enum plan_kind)kind));
	if (rc == 0 && f->extra_label) {
		rc = put_label(out, first, f->extra_label, f->extra(c));
		first = false;
	}
	if (rc == 0 && (f->scope != PER_SERVICE || f->extra_label))
		rc = pw_buf_putc(out, '}');
	return rc ? rc : put_value(out, v);
}

int svc_metrics_render(const struct board_data *d, time_t now, struct pw_buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < sizeof families / sizeof families[0] && rc == 0; i++) {
		const struct family *f = &families[i];
		rc = pw_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		                   f->type);
		struct ctx c = {.d = d, .now = now};
		if (f->scope == PER_SERVICE) {
			if (rc == 0)
				rc = sample(out, f, &c, ALL_KINDS);
			continue;
		}
		for (size_t j = 0; j < d->n && rc == 0; j++) {
			c.s = &d->stanza[j];
			if (f->scope == PER_STANZA) {
				rc = sample(out, f, &c, ALL_KINDS);
				continue;
			}
			for (int k = 0; k < PLAN_KIND_COUNT && rc == 0; k++) {
				c.k = &c.s->kind[k];
				if ((f->only == ALL_KINDS || f->only == k) && svc_kind_shown(c.k))
					rc = sample(out, f, &c, k);
			}
		}
	}
	return rc;
}
