/*
 * status.c - the board as JSON (see render.h): the one shape of the API's status, stanza
 * and job resources and of `serve --check-config --output=json` (which adds what only a
 * check knows: the next runs, the zone, the jitter). Times are ISO UTC strings, null when
 * never; every string is board metadata (names, schedules, one-line messages).
 */
#include "service/render.h"

#include "common/time.h"

static json_t *iso_or_null(time_t t)
{
	char buf[PW_TIME_MAX];
	return t > 0 ? json_string(pw_time_format(t, PW_TIME_ISO, buf)) : json_null();
}

/* jansson refuses invalid UTF-8: a message that is not is shown as null, never dropped
 * silently into a broken document */
static json_t *str_or_null(const char *s)
{
	json_t *j = s && *s ? json_string(s) : NULL;
	return j ? j : json_null();
}

json_t *svc_status_last_json(const struct plan_state *st)
{
	if (st->result == PLAN_RES_NONE && !st->last_start)
		return json_null();
	json_t *last = json_object();
	json_object_set_new(last, "result", json_string(plan_result_name(st->result)));
	json_object_set_new(last, "start", iso_or_null(st->last_start));
	json_object_set_new(last, "end", iso_or_null(st->last_end));
	json_object_set_new(last, "success", iso_or_null(st->last_success));
	json_object_set_new(last, "attempts", json_integer(st->attempts));
	return last;
}

json_t *svc_status_kind_json(enum plan_kind k, const struct board_kind *bk)
{
	json_t *j = json_object();
	json_object_set_new(j, "kind", json_string(plan_kind_name(k)));
	json_object_set_new(j, "schedule", str_or_null(bk->schedule));
	json_object_set_new(j, "running", json_boolean(bk->running));
	json_object_set_new(j, "job_id", bk->job_id ? json_integer(bk->job_id) : json_null());
	json_object_set_new(j, "last", svc_status_last_json(&bk->st));
	json_object_set_new(j, "due", iso_or_null(bk->next_due));
	json_object_set_new(j, "health",
	                    bk->deadline ? json_string(plan_health_name(bk->health)) : json_null());
	json_object_set_new(j, "deadline", iso_or_null(bk->deadline));
	json_object_set_new(j, "last_duration_seconds",
	                    bk->last_duration >= 0 ? json_real(bk->last_duration) : json_null());
	if (k == PLAN_BACKUP)
		json_object_set_new(j, "last_bytes",
		                    bk->last_bytes ? json_integer((json_int_t)bk->last_bytes)
		                                   : json_null());
	if (k == PLAN_VERIFY)
		json_object_set_new(j, "last_depth",
		                    bk->last_depth ? json_integer(bk->last_depth) : json_null());
	json_object_set_new(j, "last_exit", json_integer(bk->last_exit));
	json_object_set_new(j, "last_message", str_or_null(bk->last_message));
	json_object_set_new(j, "runs_total", json_integer((json_int_t)bk->runs_total));
	json_object_set_new(j, "failures_total", json_integer((json_int_t)bk->failures_total));
	json_object_set_new(j, "skipped_total", json_integer((json_int_t)bk->skipped_total));
	return j;
}

json_t *svc_status_stanza_json(const struct board_stanza *bs)
{
	json_t *o = json_object(), *jobs = json_array();
	json_object_set_new(o, "stanza", json_string(bs->name));
	for (int k = 0; k < PLAN_KIND_COUNT; k++)
		if (bs->kind[k].scheduled)
			json_array_append_new(
			    jobs, svc_status_kind_json((enum plan_kind)k, &bs->kind[k]));
	json_object_set_new(o, "jobs", jobs);
	json_t *wal = json_object();
	json_object_set_new(wal, "supervised", json_boolean(bs->pitr));
	json_object_set_new(wal, "running", json_boolean(bs->wal_running));
	json_object_set_new(wal, "last_durable", iso_or_null(bs->wal_last_durable));
	json_object_set_new(o, "wal", wal);
	json_t *win = json_null();
	if (bs->window_from && bs->window_to) {
		win = json_object();
		json_object_set_new(win, "from", iso_or_null(bs->window_from));
		json_object_set_new(win, "to", iso_or_null(bs->window_to));
	}
	json_object_set_new(o, "recovery_window", win);
	json_t *repo = json_object();
	json_object_set_new(repo, "reachable",
	                    bs->repo_reachable < 0 ? json_null()
	                                           : json_boolean(bs->repo_reachable > 0));
	json_object_set_new(repo, "checked", iso_or_null(bs->repo_checked));
	json_object_set_new(o, "repository", repo);
	return o;
}

json_t *svc_status_json(const struct board_data *d, time_t now)
{
	json_t *svc = json_object(), *stanzas = json_array();
	json_object_set_new(svc, "started", iso_or_null(d->started));
	json_object_set_new(svc, "reloaded", iso_or_null(d->reloaded));
	json_object_set_new(svc, "now", iso_or_null(now));
	for (size_t i = 0; i < d->n; i++)
		json_array_append_new(stanzas, svc_status_stanza_json(&d->stanza[i]));
	json_t *o = json_object();
	json_object_set_new(o, "service", svc);
	json_object_set_new(o, "stanzas", stanzas);
	return o;
}

json_t *svc_job_json(const struct board_job_view *v)
{
	static const char *const states[] = {"queued", "accepted", "running", "finished",
	                                     "superseded"};
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(v->id));
	json_object_set_new(o, "stanza", json_string(v->stanza));
	json_object_set_new(o, "kind", json_string(plan_kind_name(v->kind)));
	json_object_set_new(o, "state", json_string(states[v->state]));
	json_object_set_new(o, "requested", iso_or_null(v->requested));
	if (v->state == BOARD_JOB_RUNNING || v->state == BOARD_JOB_FINISHED) {
		json_object_set_new(o, "start", iso_or_null(v->st.last_start));
		json_object_set_new(o, "end", iso_or_null(v->st.last_end));
	}
	if (v->state == BOARD_JOB_FINISHED) {
		json_object_set_new(o, "result", json_string(plan_result_name(v->st.result)));
		json_object_set_new(o, "exit_code", json_integer(v->exit_code));
		json_object_set_new(o, "message", str_or_null(v->message));
	}
	if (v->state == BOARD_JOB_SUPERSEDED)
		json_object_set_new(o, "superseded_by", json_integer(v->superseded_by));
	return o;
}
