/*
 * test_rotation.c - the credential rotation state machine (src/cred/rotation.c) without a
 * server: every transition of the pure function, the refusals (an unknown stored step, an
 * event out of order, step 1 stopped while another host may hold the password), the stored
 * state as read back from the bookkeeping, and whole rotations walked through a model of
 * the world with pgward "crashing" after each step and a new process resuming.
 * The executor's SQL is tested in tests/integration/test_credentials.sh.
 */
#include "support.h"

#include <string.h>

#include <jansson.h>

#include "cred/rotation.h"

#define S_ACTIVE CRED_ROT_ACTIVE
#define S_CREATED CRED_ROT_CREATED
#define S_DRAINING CRED_ROT_DRAINING
#define S_FINISHING CRED_ROT_FINISHING
#define S_UNKNOWN CRED_ROT_UNKNOWN

struct tcase {
	enum cred_rot_state s;
	enum cred_rot_event ev;
	struct cred_rot_facts f;
	enum cred_rot_state next;
	enum cred_rot_action action;
	enum cred_rot_refusal refusal;
	bool fresh, terminate, republish, alias;
};

#define KNOWN                                                                                      \
	{                                                                                          \
		.password_known = true                                                             \
	}
#define UNKNOWN_PW                                                                                 \
	{                                                                                          \
		.password_known = false                                                            \
	}
#define ELSEWHERE                                                                                  \
	{                                                                                          \
		.password_known = false, .password_elsewhere = true                                \
	}
#define KNOWN_ELSEWHERE                                                                            \
	{                                                                                          \
		.password_known = true, .password_elsewhere = true                                 \
	}
#define DEADLINE                                                                                   \
	{                                                                                          \
		.deadline = true                                                                   \
	}
#define EXPLICIT                                                                                   \
	{                                                                                          \
		.explicit_ = true                                                                  \
	}
#define NOFACTS                                                                                    \
	{                                                                                          \
		0                                                                                  \
	}

static const struct tcase cases[] = {
    /* START: a new rotation only from ACTIVE; a pending one is resumed, never restarted */
    {S_ACTIVE, CRED_ROT_EV_START, NOFACTS, S_CREATED, CRED_ROT_ACT_CREATE, 0, 0, 0, 0, 0},
    {S_CREATED, CRED_ROT_EV_START, NOFACTS, S_CREATED, CRED_ROT_ACT_RESUME, 0, 0, 0, 0, 0},
    {S_DRAINING, CRED_ROT_EV_START, NOFACTS, S_DRAINING, CRED_ROT_ACT_RESUME, 0, 0, 0, 0, 0},
    {S_FINISHING, CRED_ROT_EV_START, NOFACTS, S_FINISHING, CRED_ROT_ACT_RESUME, 0, 0, 0, 0, 0},
    /* TICK on an active credential: nothing pending */
    {S_ACTIVE, CRED_ROT_EV_TICK, KNOWN, S_ACTIVE, CRED_ROT_ACT_NONE, 0, 0, 0, 0, 0},
    /* end of step 1: publish the known password, or a fresh one if nobody can hold it */
    {S_CREATED, CRED_ROT_EV_TICK, KNOWN, S_DRAINING, CRED_ROT_ACT_PUBLISH, 0, 0, 0, 0, 0},
    {S_CREATED, CRED_ROT_EV_TICK, KNOWN_ELSEWHERE, S_DRAINING, CRED_ROT_ACT_PUBLISH, 0, 0, 0, 0, 0},
    {S_CREATED, CRED_ROT_EV_TICK, UNKNOWN_PW, S_DRAINING, CRED_ROT_ACT_PUBLISH, 0, 1, 0, 0, 0},
    {S_CREATED, CRED_ROT_EV_TICK, ELSEWHERE, S_CREATED, CRED_ROT_ACT_REFUSE,
     CRED_ROT_REF_PASSWORD_ELSEWHERE, 0, 0, 0, 0},
    /* step 2: look for sessions; terminate them only at the deadline (grace over, --force) */
    {S_DRAINING, CRED_ROT_EV_TICK, NOFACTS, S_DRAINING, CRED_ROT_ACT_DRAIN, 0, 0, 0, 0, 0},
    {S_DRAINING, CRED_ROT_EV_TICK, DEADLINE, S_DRAINING, CRED_ROT_ACT_DRAIN, 0, 0, 1, 0, 0},
    {S_DRAINING, CRED_ROT_EV_BUSY, KNOWN, S_DRAINING, CRED_ROT_ACT_WAIT, 0, 0, 0, 0, 0},
    /* step 3: the swap keeps an alias when the password is known here */
    {S_DRAINING, CRED_ROT_EV_QUIET, KNOWN, S_FINISHING, CRED_ROT_ACT_SWAP, 0, 0, 0, 0, 1},
    {S_DRAINING, CRED_ROT_EV_QUIET, UNKNOWN_PW, S_DRAINING, CRED_ROT_ACT_WAIT_PASSWORD, 0, 0, 0, 0,
     0},
    {S_DRAINING, CRED_ROT_EV_QUIET, EXPLICIT, S_ACTIVE, CRED_ROT_ACT_SWAP, 0, 0, 0, 0, 0},
    {S_DRAINING,
     CRED_ROT_EV_QUIET,
     {.explicit_ = true, .password_known = true},
     S_FINISHING,
     CRED_ROT_ACT_SWAP,
     0,
     0,
     0,
     0,
     1},
    /* step 4: the alias drains (attachments still on it get the final URL first) */
    {S_FINISHING, CRED_ROT_EV_TICK, NOFACTS, S_FINISHING, CRED_ROT_ACT_DRAIN, 0, 0, 0, 1, 0},
    {S_FINISHING, CRED_ROT_EV_TICK, DEADLINE, S_FINISHING, CRED_ROT_ACT_DRAIN, 0, 0, 1, 1, 0},
    {S_FINISHING, CRED_ROT_EV_BUSY, NOFACTS, S_FINISHING, CRED_ROT_ACT_WAIT, 0, 0, 0, 0, 0},
    {S_FINISHING, CRED_ROT_EV_QUIET, NOFACTS, S_ACTIVE, CRED_ROT_ACT_FINISH, 0, 0, 0, 0, 0},
    {S_FINISHING, CRED_ROT_EV_QUIET, UNKNOWN_PW, S_ACTIVE, CRED_ROT_ACT_FINISH, 0, 0, 0, 0, 0},
    /* out of order: sessions reported where nothing drains */
    {S_ACTIVE, CRED_ROT_EV_QUIET, KNOWN, S_ACTIVE, CRED_ROT_ACT_REFUSE, CRED_ROT_REF_OUT_OF_ORDER,
     0, 0, 0, 0},
    {S_ACTIVE, CRED_ROT_EV_BUSY, KNOWN, S_ACTIVE, CRED_ROT_ACT_REFUSE, CRED_ROT_REF_OUT_OF_ORDER, 0,
     0, 0, 0},
    {S_CREATED, CRED_ROT_EV_QUIET, KNOWN, S_CREATED, CRED_ROT_ACT_REFUSE, CRED_ROT_REF_OUT_OF_ORDER,
     0, 0, 0, 0},
    {S_CREATED, CRED_ROT_EV_BUSY, KNOWN, S_CREATED, CRED_ROT_ACT_REFUSE, CRED_ROT_REF_OUT_OF_ORDER,
     0, 0, 0, 0},
    /* a stored step this pgward does not know: refused whatever happens */
    {S_UNKNOWN, CRED_ROT_EV_START, KNOWN, S_UNKNOWN, CRED_ROT_ACT_REFUSE, CRED_ROT_REF_UNKNOWN_STEP,
     0, 0, 0, 0},
    {S_UNKNOWN, CRED_ROT_EV_TICK, KNOWN, S_UNKNOWN, CRED_ROT_ACT_REFUSE, CRED_ROT_REF_UNKNOWN_STEP,
     0, 0, 0, 0},
    {S_UNKNOWN, CRED_ROT_EV_QUIET, EXPLICIT, S_UNKNOWN, CRED_ROT_ACT_REFUSE,
     CRED_ROT_REF_UNKNOWN_STEP, 0, 0, 0, 0},
    {S_UNKNOWN, CRED_ROT_EV_BUSY, NOFACTS, S_UNKNOWN, CRED_ROT_ACT_REFUSE,
     CRED_ROT_REF_UNKNOWN_STEP, 0, 0, 0, 0},
};

static void test_transitions(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct tcase *c = &cases[i];
		struct cred_rot_step st = cred_rot_next(c->s, c->ev, &c->f);
		print_message("case %zu: %s\n", i, cred_rot_state_name(c->s));
		assert_int_equal(st.next, c->next);
		assert_int_equal(st.action, c->action);
		assert_int_equal(st.refusal, c->refusal);
		assert_int_equal(st.fresh_password, c->fresh);
		assert_int_equal(st.terminate, c->terminate);
		assert_int_equal(st.republish, c->republish);
		assert_int_equal(st.alias, c->alias);
		/* a refusal never moves the state */
		if (st.action == CRED_ROT_ACT_REFUSE)
			assert_int_equal(st.next, c->s);
	}
	/* no facts given = nothing known */
	struct cred_rot_step st = cred_rot_next(S_CREATED, CRED_ROT_EV_TICK, NULL);
	assert_int_equal(st.action, CRED_ROT_ACT_PUBLISH);
	assert_true(st.fresh_password);
	/* an out-of-range state is refused, not guessed */
	st = cred_rot_next((enum cred_rot_state)42, CRED_ROT_EV_TICK, NULL);
	assert_int_equal(st.action, CRED_ROT_ACT_REFUSE);
}

/* Every (state, event, facts) combination: total (never an undefined action), and only the
 * documented moves change the state. */
static void test_total(void **state)
{
	(void)state;
	for (int s = S_ACTIVE; s <= S_UNKNOWN; s++)
		for (int ev = CRED_ROT_EV_START; ev <= CRED_ROT_EV_BUSY; ev++)
			for (unsigned bits = 0; bits < 16; bits++) {
				struct cred_rot_facts f = {.explicit_ = bits & 1,
				                           .password_known = bits & 2,
				                           .password_elsewhere = bits & 4,
				                           .deadline = bits & 8};
				struct cred_rot_step st = cred_rot_next(
				    (enum cred_rot_state)s, (enum cred_rot_event)ev, &f);
				assert_true(st.action <= CRED_ROT_ACT_REFUSE);
				assert_true(st.next <= S_UNKNOWN);
				if ((int)st.next != s) {
					bool ok = (s == S_ACTIVE && st.next == S_CREATED) ||
					          (s == S_CREATED && st.next == S_DRAINING) ||
					          (s == S_DRAINING && (st.next == S_FINISHING ||
					                               st.next == S_ACTIVE)) ||
					          (s == S_FINISHING && st.next == S_ACTIVE);
					assert_true(ok);
				}
				/* the old username is dropped only once drained */
				if (st.action == CRED_ROT_ACT_SWAP ||
				    st.action == CRED_ROT_ACT_FINISH)
					assert_int_equal(ev, CRED_ROT_EV_QUIET);
				/* an alias only with a password to give it */
				if (st.alias)
					assert_true(f.password_known);
				/* sessions are terminated only at the deadline */
				if (st.terminate)
					assert_true(f.deadline);
			}
}

static enum cred_rot_state state_of(const char *json)
{
	json_error_t e;
	json_t *m = json_loads(json, 0, &e);
	assert_non_null(m);
	enum cred_rot_state s = cred_rot_state_of(m);
	json_decref(m);
	return s;
}

static void test_stored_state(void **state)
{
	(void)state;
	assert_int_equal(state_of("{}"), S_ACTIVE);
	assert_int_equal(state_of("{\"state\":\"active\"}"), S_ACTIVE);
	/* a leftover rotation object on an active credential is not a rotation */
	assert_int_equal(state_of("{\"state\":\"active\",\"rotation\":{\"step\":\"draining\"}}"),
	                 S_ACTIVE);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":{\"step\":\"created\"}}"),
	                 S_CREATED);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":{\"step\":\"draining\"}}"),
	                 S_DRAINING);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":{\"step\":\"finishing\"}}"),
	                 S_FINISHING);
	/* hostile or newer bookkeeping: refused, never guessed */
	assert_int_equal(state_of("{\"state\":\"rotating\"}"), S_UNKNOWN);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":{}}"), S_UNKNOWN);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":{\"step\":\"swapped\"}}"),
	                 S_UNKNOWN);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":{\"step\":1}}"), S_UNKNOWN);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":\"draining\"}"), S_UNKNOWN);
	assert_int_equal(state_of("{\"state\":\"rotating\",\"rotation\":{\"step\":\"DRAINING\"}}"),
	                 S_UNKNOWN);
	assert_int_equal(cred_rot_state_of(NULL), S_ACTIVE);
	/* the stored names round-trip */
	assert_string_equal(cred_rot_state_name(S_CREATED), "created");
	assert_string_equal(cred_rot_state_name(S_DRAINING), "draining");
	assert_string_equal(cred_rot_state_name(S_FINISHING), "finishing");
	char out[80];
	cred_rot_draining_role(S_DRAINING, "app", out, sizeof out);
	assert_string_equal(out, "app");
	cred_rot_draining_role(S_FINISHING, "app", out, sizeof out);
	assert_string_equal(out, "app-rotating");
}

/* A model of the world the executor sees: who is connected, who knows the password. */
struct world {
	enum cred_rot_state s;
	int sessions;       /* on the draining username */
	bool attachments;   /* this host's attachments (they hold the password once published) */
	bool published;     /* the rotating URL is in the attachments */
	bool process_knows; /* this process made (or found) the password */
	bool alias_left;    /* <name>-rotating kept as an alias */
	int swaps, finishes, creates, publishes, fresh;
};

/* One process run (rotate NAME with --wait unless stop_after >= 0: then it "crashes" after
 * that many actions). Returns the number of actions taken. */
static int run(struct world *w, bool explicit_, bool start, int stop_after)
{
	int actions = 0;
	if (start) {
		struct cred_rot_step st = cred_rot_next(w->s, CRED_ROT_EV_START, NULL);
		if (st.action == CRED_ROT_ACT_CREATE) {
			w->s = st.next;
			w->creates++;
			w->process_knows = true;
			w->published = false;
			if (++actions == stop_after)
				return actions;
		} else {
			assert_int_equal(st.action, CRED_ROT_ACT_RESUME);
		}
	}
	for (int guard = 0; guard < 100; guard++) {
		struct cred_rot_facts f = {.explicit_ = explicit_};
		f.password_known = w->process_knows || (w->attachments && w->published);
		struct cred_rot_step st = cred_rot_next(w->s, CRED_ROT_EV_TICK, &f);
		switch (st.action) {
		case CRED_ROT_ACT_NONE:
			return actions;
		case CRED_ROT_ACT_PUBLISH:
			if (st.fresh_password) {
				w->fresh++;
				w->process_knows = true;
			}
			w->published = true;
			w->publishes++;
			w->s = st.next;
			break;
		case CRED_ROT_ACT_DRAIN: {
			if (st.terminate)
				w->sessions = 0;
			enum cred_rot_event ev = w->sessions ? CRED_ROT_EV_BUSY : CRED_ROT_EV_QUIET;
			st = cred_rot_next(w->s, ev, &f);
			if (st.action == CRED_ROT_ACT_WAIT) {
				w->sessions--; /* clients reconnect with the new URL over time */
				continue;
			}
			if (st.action == CRED_ROT_ACT_WAIT_PASSWORD)
				return actions;
			if (st.action == CRED_ROT_ACT_SWAP) {
				w->swaps++;
				w->alias_left = st.alias;
				w->sessions = st.alias ? 1 : 0; /* a client still on the alias */
			} else {
				assert_int_equal(st.action, CRED_ROT_ACT_FINISH);
				w->finishes++;
				w->alias_left = false;
			}
			w->s = st.next;
			break;
		}
		default:
			fail_msg("unexpected action %d in %s", st.action,
			         cred_rot_state_name(w->s));
		}
		if (++actions == stop_after)
			return actions;
	}
	fail_msg("rotation did not end");
	return actions;
}

/* Crash after every possible step; a new process (that knows nothing but what the
 * attachments hold) resumes, and the rotation always completes exactly once. */
static void test_crash_resume(void **state)
{
	(void)state;
	for (int att = 0; att < 2; att++)
		for (int crash = 1; crash <= 6; crash++) {
			struct world w = {.s = S_ACTIVE, .sessions = 3, .attachments = att};
			run(&w, true, true, crash);
			w.process_knows = false; /* the process died with its memory */
			if (w.s != S_ACTIVE)
				run(&w, true, true, -1);
			assert_int_equal(w.s, S_ACTIVE);
			assert_int_equal(w.creates, 1);
			assert_int_equal(w.swaps, 1);
			assert_false(w.alias_left);
			assert_true(w.finishes <= 1);
			/* the alias exists only when someone could give it the password */
			if (w.finishes == 0)
				assert_true(!att && crash >= 2);
		}
}

/* A resumed step 1 in a process that cannot know the password: a fresh password is made
 * (and shown) instead of leaving a username nobody can use. */
static void test_resume_fresh_password(void **state)
{
	(void)state;
	struct world w = {.s = S_ACTIVE, .sessions = 0};
	run(&w, true, true, 1); /* crash right after step 1's commit */
	assert_int_equal(w.s, S_CREATED);
	w.process_knows = false;
	run(&w, false, false, -1); /* any later command */
	assert_int_equal(w.fresh, 1);
	assert_int_equal(w.s, S_ACTIVE);
}

/* A process that is not asked for this credential and does not know the password stops
 * before the swap (clients on the rotating URL would fail); rotate NAME finishes it. */
static void test_wait_for_password(void **state)
{
	(void)state;
	struct world w = {.s = S_DRAINING, .sessions = 0, .published = true};
	run(&w, false, false, -1);
	assert_int_equal(w.s, S_DRAINING);
	assert_int_equal(w.swaps, 0);
	run(&w, true, true, -1);
	assert_int_equal(w.s, S_ACTIVE);
	assert_int_equal(w.swaps, 1);
	assert_int_equal(w.finishes, 0); /* no alias without its password */
}

/* The grace period's end (or --force) is the only thing that terminates sessions: a
 * client that never leaves keeps the rotation in step 2 until then. */
static void test_deadline(void **state)
{
	(void)state;
	struct cred_rot_facts f = {.password_known = true};
	struct cred_rot_step st = cred_rot_next(S_DRAINING, CRED_ROT_EV_TICK, &f);
	assert_false(st.terminate);
	st = cred_rot_next(S_DRAINING, CRED_ROT_EV_BUSY, &f);
	assert_int_equal(st.action, CRED_ROT_ACT_WAIT);
	assert_int_equal(st.next, S_DRAINING);
	f.deadline = true;
	st = cred_rot_next(S_DRAINING, CRED_ROT_EV_TICK, &f);
	assert_true(st.terminate);
	st = cred_rot_next(S_DRAINING, CRED_ROT_EV_QUIET, &f);
	assert_int_equal(st.action, CRED_ROT_ACT_SWAP);
}

/* step_at and grace are read from the role's comment (writable by CREATEROLE): a value
 * that would overflow is no undefined behaviour, and a step dated in the future does not
 * stall the rotation, and so the old password, for good. */
static void test_grace_tampered(void **state)
{
	(void)state;
	const long long now = 1796576400, day = 86400;
	assert_false(cred_rot_grace_over(now, now - 10, 60)); /* within the grace */
	assert_true(cred_rot_grace_over(now, now - 60, 60));  /* just over */
	assert_true(cred_rot_grace_over(now, now - 10, -5));  /* a negative grace is none */
	assert_true(cred_rot_grace_over(now, now + 60, 0));   /* clock skew, no grace */
	/* a step "taken" in 2099 or at the end of time: over, not waiting for ever */
	assert_true(cred_rot_grace_over(now, now + 365 * day * 73, 60));
	assert_true(cred_rot_grace_over(now, 9223372036854775807LL, 1));
	/* an absurd grace: at most ten years */
	assert_false(cred_rot_grace_over(now, now - day, 9223372036854775807LL));
	assert_true(cred_rot_grace_over(now + 3700 * day, now, 9223372036854775807LL));
	assert_true(cred_rot_grace_over(now, -9223372036854775807LL - 1, 60));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transitions),
	    cmocka_unit_test(test_total),
	    cmocka_unit_test(test_stored_state),
	    cmocka_unit_test(test_crash_resume),
	    cmocka_unit_test(test_resume_fresh_password),
	    cmocka_unit_test(test_wait_for_password),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_grace_tampered),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
