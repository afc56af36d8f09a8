/*
 * test_service_status.c - what the API shows of the board: the job resource's states
 * (board_job_find: queued, accepted, running, finished, superseded, unknown) and the
 * status JSON (svc_status_json / svc_status_stanza_json: nulls for "never", only
 * scheduled kinds, the same object for one stanza and in the list).
 */
#include "support.h"

#include <string.h>

#include "common/err.h"
#include "common/str.h"
#include "service/board.h"
#include "service/render.h"

static struct board *two_stanzas(void)
{
	struct board *b = board_new();
	assert_non_null(b);
	const char *names[] = {"main", "other"};
	assert_int_equal(board_set_stanzas(b, names, 2), 0);
	struct board_data *d = board_lock(b);
	d->stanza[0].kind[PLAN_BACKUP].scheduled = true;
	pw_strlcpy(d->stanza[0].kind[PLAN_BACKUP].schedule, "daily 02:00",
	           sizeof d->stanza[0].kind[PLAN_BACKUP].schedule);
	d->stanza[0].kind[PLAN_EXPIRE].scheduled = true;
	board_unlock(b);
	return b;
}

static void test_job_states(void **state)
{
	(void)state;
	struct board *b = two_stanzas();
	struct board_job_view v;
	unsigned id = 0;
	assert_int_equal(board_job_find(b, 1, &v), -PW_E_NOTFOUND);
	pw_error_clear();
	assert_int_equal(board_request_run(b, "main", PLAN_EXPIRE, "ops", &id), 0);
	assert_int_equal(board_job_find(b, id, &v), 0);
	assert_int_equal(v.state, BOARD_JOB_QUEUED);
	assert_string_equal(v.stanza, "main");
	assert_int_equal(v.kind, PLAN_EXPIRE);
	assert_true(v.requested > 0);

	/* the loop took it: it waits for the stanza */
	struct board_request r;
	assert_true(board_take(b, &r));
	assert_int_equal(r.id, id);
	assert_int_equal(board_job_find(b, id, &v), 0);
	assert_int_equal(v.state, BOARD_JOB_ACCEPTED);

	/* it runs, then ends */
	struct board_data *d = board_lock(b);
	struct board_kind *k = &d->stanza[0].kind[PLAN_EXPIRE];
	k->running = true;
	k->job_id = id;
	k->st.last_start = r.at;
	board_unlock(b);
	assert_int_equal(board_job_find(b, id, &v), 0);
	assert_int_equal(v.state, BOARD_JOB_RUNNING);
	d = board_lock(b);
	k->running = false;
	k->st.last_end = r.at + 5;
	k->st.result = PLAN_RES_FAILED;
	k->last_exit = 30;
	pw_strlcpy(k->last_message, "the bucket said no", sizeof k->last_message);
	board_unlock(b);
	assert_int_equal(board_job_find(b, id, &v), 0);
	assert_int_equal(v.state, BOARD_JOB_FINISHED);
	assert_int_equal(v.exit_code, 30);
	assert_string_equal(v.message, "the bucket said no");
	json_t *j = svc_job_json(&v);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "finished");
	assert_string_equal(json_string_value(json_object_get(j, "result")), "failed");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 30);
	json_decref(j);

	/* a scheduled run of the same kind since: only the newest is kept */
	unsigned next = board_next_id(b);
	d = board_lock(b);
	k->job_id = next;
	k->st.last_start = r.at + 60;
	board_unlock(b);
	assert_int_equal(board_job_find(b, id, &v), 0);
	assert_int_equal(v.state, BOARD_JOB_SUPERSEDED);
	assert_int_equal(v.superseded_by, next);
	/* the scheduled one is known by its kind */
	assert_int_equal(board_job_find(b, next, &v), 0);
	assert_int_equal(v.state, BOARD_JOB_FINISHED);
	assert_int_equal(v.requested, 0);

	/* an unknown stanza, cancelling what is not there */
	assert_int_equal(board_request_run(b, "nope", PLAN_BACKUP, "ops", &id), -PW_E_NOTFOUND);
	pw_error_clear();
	assert_int_equal(board_request_cancel(b, 999, "ops"), -PW_E_NOTFOUND);
	pw_error_clear();
	board_free(b);
}

static void test_status_json(void **state)
{
	(void)state;
	struct board *b = two_stanzas();
	struct board_data *d = board_lock(b);
	d->started = 1765000000;
	json_t *all = svc_status_json(d, 1765000100);
	json_t *one = svc_status_stanza_json(&d->stanza[0]);
	board_unlock(b);
	assert_non_null(all);
	json_t *svc = json_object_get(all, "service");
	assert_string_equal(json_string_value(json_object_get(svc, "started")),
	                    "2025-12-06T05:46:40Z");
	assert_true(json_is_null(json_object_get(svc, "reloaded")));
	json_t *st = json_object_get(all, "stanzas");
	assert_int_equal(json_array_size(st), 2);
	/* the list's stanza and the single stanza resource are the same object */
	assert_true(json_equal(json_array_get(st, 0), one));
	json_t *jobs = json_object_get(one, "jobs");
	assert_int_equal(json_array_size(jobs), 2); /* only the scheduled kinds */
	json_t *bk = json_array_get(jobs, 0);
	assert_string_equal(json_string_value(json_object_get(bk, "kind")), "backup");
	assert_string_equal(json_string_value(json_object_get(bk, "schedule")), "daily 02:00");
	/* never run: nulls, not zeros a reader would take for 1970 */
	const char *nulls[] = {"job_id",     "last",        "due",
	                       "health",     "deadline",    "last_duration_seconds",
	                       "last_bytes", "last_message"};
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		assert_true(json_is_null(json_object_get(bk, nulls[i])));
	assert_null(json_object_get(bk, "last_depth")); /* verify only */
	assert_true(json_is_null(
	    json_object_get(json_object_get(one, "repository"), "reachable"))); /* not known */
	assert_int_equal(json_array_size(json_object_get(json_array_get(st, 1), "jobs")), 0);
	json_decref(one);
	json_decref(all);
	board_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_job_states),
	    cmocka_unit_test(test_status_json),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
