/* rotation.c - the rotation state machine (rotation.h) and its executor. */
#include "cred/rotation.h"

#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define QUIET_SECONDS 2 /* no session of a username for this long = drained */

/* ---- the pure part ---- */

static struct cred_rot_step step_to(enum cred_rot_state next, enum cred_rot_action a)
{
	struct cred_rot_step s = {.next = next, .action = a, .refusal = CRED_ROT_REF_NONE};
	return s;
}

static struct cred_rot_step refuse(enum cred_rot_state s, enum cred_rot_refusal why)
{
	struct cred_rot_step r = step_to(s, CRED_ROT_ACT_REFUSE);
	r.refusal = why;
	return r;
}

struct cred_rot_step cred_rot_next(enum cred_rot_state s, enum cred_rot_event ev,
                                   const struct cred_rot_facts *f)
{
	static const struct cred_rot_facts none = {0};
	if (!f)
		f = &none;
	if (s == CRED_ROT_UNKNOWN)
		return refuse(s, CRED_ROT_REF_UNKNOWN_STEP);
	if (ev == CRED_ROT_EV_START)
		return s == CRED_ROT_ACTIVE ? step_to(CRED_ROT_CREATED, CRED_ROT_ACT_CREATE)
		                            : step_to(s, CRED_ROT_ACT_RESUME);
	switch (s) {
	case CRED_ROT_ACTIVE:
		return ev == CRED_ROT_EV_TICK ? step_to(s, CRED_ROT_ACT_NONE)
		                              : refuse(s, CRED_ROT_REF_OUT_OF_ORDER);
	case CRED_ROT_CREATED: {
		if (ev != CRED_ROT_EV_TICK)
			return refuse(s, CRED_ROT_REF_OUT_OF_ORDER);
		/* step 1 ended before the attachments were recorded as having the new URL:
		 * publish the known password, or a fresh one if nobody can hold it */
		if (!f->password_known && f->password_elsewhere)
			return refuse(s, CRED_ROT_REF_PASSWORD_ELSEWHERE);
		struct cred_rot_step r = step_to(CRED_ROT_DRAINING, CRED_ROT_ACT_PUBLISH);
		r.fresh_password = !f->password_known;
		return r;
	}
	case CRED_ROT_DRAINING:
	case CRED_ROT_FINISHING:
		if (ev == CRED_ROT_EV_TICK) {
			struct cred_rot_step r = step_to(s, CRED_ROT_ACT_DRAIN);
			r.terminate = f->deadline;
			r.republish = s == CRED_ROT_FINISHING;
			return r;
		}
		if (ev == CRED_ROT_EV_BUSY)
			return step_to(s, CRED_ROT_ACT_WAIT);
		if (s == CRED_ROT_FINISHING)
			return step_to(CRED_ROT_ACTIVE, CRED_ROT_ACT_FINISH);
		/* without the password there is no alias: clients still on the rotating URL
		 * would fail; wait for a process that knows it, unless the user named it */
		if (!f->password_known && !f->explicit_)
			return step_to(s, CRED_ROT_ACT_WAIT_PASSWORD);
		struct cred_rot_step r = step_to(
		    f->password_known ? CRED_ROT_FINISHING : CRED_ROT_ACTIVE, CRED_ROT_ACT_SWAP);
		r.alias = f->password_known;
		return r;
	case CRED_ROT_UNKNOWN:
		break;
	}
	return refuse(s, CRED_ROT_REF_UNKNOWN_STEP);
}

enum cred_rot_state cred_rot_state_of(json_t *meta)
{
	if (!pw_streq(json_string_value(json_object_get(meta, "state")), "rotating"))
		return CRED_ROT_ACTIVE;
	const char *step =
	    json_string_value(json_object_get(json_object_get(meta, "rotation"), "step"));
	if (pw_streq(step, "created"))
		return CRED_ROT_CREATED;
	if (pw_streq(step, "draining"))
		return CRED_ROT_DRAINING;
	if (pw_streq(step, "finishing"))
		return CRED_ROT_FINISHING;
	return CRED_ROT_UNKNOWN;
}

const char *cred_rot_state_name(enum cred_rot_state s)
{
	switch (s) {
	case CRED_ROT_ACTIVE:
		return "active";
	case CRED_ROT_CREATED:
		return "created";
	case CRED_ROT_DRAINING:
		return "draining";
	case CRED_ROT_FINISHING:
		return "finishing";
	case CRED_ROT_UNKNOWN:
		break;
	}
	return "unknown";
}

void cred_rot_draining_role(enum cred_rot_state s, const char *name, char *out, size_t size)
{
	if (s == CRED_ROT_DRAINING)
		pw_strlcpy(out, name, size);
	else
		cred_rot_role(name, out, size);
}

bool cred_rot_grace_over(long long now, long long step_at, long long grace)
{
	const long long cap = 10LL * 366 * 86400; /* grace is days in practice */
	if (step_at > now + 300)                  /* not a time pgward recorded: over */
		return true;
	if (step_at < now - cap || grace < 0)
		return true;
	if (grace > cap)
		grace = cap;
	if (step_at > now) /* within clock skew */
		step_at = now;
	return now - step_at >= grace;
}

/* ---- the executor ---- */

void cred_rot_run_clear(struct cred_rot_run *r)
{
	pw_secret_free(r->pw);
	r->pw = NULL;
	r->name[0] = 0;
	r->fresh = r->shown = false;
}

static void remember(struct cred_rot_run *r, const char *name, struct pw_secret *pw)
{
	if (r->pw != pw)
		pw_secret_free(r->pw);
	r->pw = pw;
	pw_strlcpy(r->name, name, sizeof r->name);
}

/* the new password of c's rotation: this process's, or what the hooks find (attachments,
 * the sealed copy); NULL if not known here */
static int rotation_password(struct cred_rot_run *r, const struct cred *c,
                             const struct pw_secret **out)
{
	*out = NULL;
	if (r->pw && strcmp(r->name, c->name) == 0) {
		*out = r->pw;
		return 0;
	}
	struct pw_secret *pw = NULL;
	int rc = r->hooks->find_password(r->hooks->arg, c, &pw);
	if (pw) {
		remember(r, c->name, pw);
		*out = pw;
	}
	return rc;
}

static int quiet(struct cred_rot_run *r, const char *role, bool *out)
{
	*out = false;
	for (int i = 0; i < QUIET_SECONDS * 10; i++) {
		long n;
		int rc = cred_count_sessions(r->cc, role, &n);
		if (rc < 0)
			return rc;
		if (n > 0)
			return 0;
		if (pw_interrupted())
			return pw_error(PW_E_INTERRUPTED, "interrupted");
		usleep(100 * 1000);
	}
	*out = true;
	return 0;
}

static int refusal_error(const struct cred *c, enum cred_rot_state s,
                         const struct cred_rot_step *st, const char *elsewhere)
{
	switch (st->refusal) {
	case CRED_ROT_REF_PASSWORD_ELSEWHERE:
		pw_error(PW_E_CREDENTIAL,
		         "the rotation of \"%s\" stopped in its first step, and its attachments on "
		         "%s may hold the new password",
		         c->name, elsewhere ? elsewhere : "another host");
		return pw_error_hint("Run any \"pgward credentials\" command on %s to finish it "
		                     "there.",
		                     elsewhere ? elsewhere : "that host");
	case CRED_ROT_REF_UNKNOWN_STEP:
		pw_error(PW_E_CREDENTIAL,
		         "the rotation of \"%s\" is in a step this pgward does not know", c->name);
		return pw_error_hint("Finish it with the pgward version that started it, or repair "
		                     "the roles by hand (docs/credentials.md).");
	case CRED_ROT_REF_OUT_OF_ORDER:
	case CRED_ROT_REF_NONE:
		break;
	}
	pw_error(PW_E_INTERNAL, "rotation step out of order in state \"%s\"",
	         cred_rot_state_name(s));
	return pw_error_hint("This is a bug; please report it.");
}

/* end of step 1: the attachments get the rotating URL (with a fresh password if nobody
 * can know the one made in step 1), then the step is recorded */
static int publish(struct cred_rot_run *r, struct cred *c, const char *rot,
                   const struct cred_rot_step *st, const struct pw_secret *pw, long long now)
{
	int rc = 0;
	if (st->fresh_password) {
		struct pw_secret *fresh = NULL;
		char *sealed = NULL;
		rc = cred_password_new(&fresh);
		if (rc == 0)
			rc = r->hooks->seal(r->hooks->arg, fresh, &sealed);
		if (rc == 0)
			rc = cred_set_password(r->cc, rot, fresh);
		if (rc == 0 && sealed)
			json_object_set_new(c->meta, "sealed_password_rotating",
			                    json_string(sealed));
		pw_free(sealed);
		if (rc < 0) {
			pw_secret_free(fresh);
			return rc;
		}
		remember(r, c->name, fresh);
		r->fresh = true;
		pw = fresh;
	}
	rc = r->hooks->publish(r->hooks->arg, c->name, rot, pw, NULL);
	if (rc == 0) {
		json_t *rm = json_object_get(c->meta, "rotation");
		json_object_set_new(rm, "step", json_string(cred_rot_state_name(st->next)));
		json_object_set_new(rm, "step_at", json_integer(now));
		rc = cred_save_meta(r->cc, c->name, c->meta);
	}
	if (rc == 0)
		r->hooks->audit(r->hooks->arg, c->name, "rotate: new username in use", NULL);
	if (rc == 0 && r->fresh && !r->shown) {
		/* nobody has seen this password: show it now, whatever comes next */
		r->hooks->show(r->hooks->arg, c->name, rot, pw);
		r->shown = true;
	}
	return rc;
}

int cred_rot_start(struct cred_rot_run *r, const char *name, long grace, bool force, bool *created)
{
	*created = false;
	struct cred c;
	int rc = cred_get(r->cc, name, &c);
	if (rc < 0)
		return rc;
	enum cred_rot_state s = cred_rot_state_of(c.meta);
	struct cred_rot_step st = cred_rot_next(s, CRED_ROT_EV_START, NULL);
	if (st.action == CRED_ROT_ACT_REFUSE)
		rc = refusal_error(&c, s, &st, NULL);
	cred_clear(&c);
	if (rc < 0 || st.action != CRED_ROT_ACT_CREATE)
		return rc; /* RESUME: the caller advances it */
	struct pw_secret *pw = NULL;
	char *sealed = NULL;
	rc = cred_password_new(&pw);
	if (rc == 0)
		rc = r->hooks->seal(r->hooks->arg, pw, &sealed);
	if (rc == 0)
		rc = cred_rotate_create(r->cc, name, pw, grace, force, sealed);
	pw_free(sealed);
	if (rc < 0) {
		pw_secret_free(pw);
		return rc;
	}
	r->hooks->audit(r->hooks->arg, name, "rotate: new username created", NULL);
	remember(r, name, pw);
	*created = true;
	return 0;
}

int cred_rot_advance(struct cred_rot_run *r, const char *name, bool wait, bool force,
                     bool explicit_)
{
	char rot[80];
	cred_rot_role(name, rot, sizeof rot);
	bool warned = false;
	for (;;) {
		struct cred c;
		int rc = cred_get(r->cc, name, &c);
		if (rc < 0)
			return rc;
		enum cred_rot_state s = cred_rot_state_of(c.meta);
		json_t *rm = json_object_get(c.meta, "rotation");
		long grace = (long)json_integer_value(json_object_get(rm, "grace"));
		long long step_at = json_integer_value(json_object_get(rm, "step_at"));
		force = force || json_is_true(json_object_get(rm, "force"));
		struct cred_rot_facts f = {.explicit_ = explicit_};
		long long now = 0;
		if (s != CRED_ROT_ACTIVE && s != CRED_ROT_UNKNOWN)
			rc = cred_now(r->cc, &now, NULL, 0);
		f.deadline = force || cred_rot_grace_over(now, step_at, grace);
		const struct pw_secret *pw = NULL;
		const char *elsewhere = NULL;
		if (rc == 0 && s == CRED_ROT_CREATED) {
			rc = rotation_password(r, &c, &pw);
			f.password_known = pw != NULL;
			elsewhere = r->hooks->elsewhere(r->hooks->arg, &c);
			f.password_elsewhere = elsewhere != NULL;
		}
		struct cred_rot_step st = cred_rot_next(s, CRED_ROT_EV_TICK, &f);
		if (rc == 0 && st.action == CRED_ROT_ACT_REFUSE)
			rc = refusal_error(&c, s, &st, elsewhere);
		if (rc < 0 || st.action == CRED_ROT_ACT_NONE) {
			cred_clear(&c);
			return rc;
		}
		if (st.action == CRED_ROT_ACT_PUBLISH) {
			rc = publish(r, &c, rot, &st, pw, now);
			cred_clear(&c);
			if (rc < 0)
				return rc;
			continue;
		}
		/* DRAIN */
		char draining[80];
		cred_rot_draining_role(s, name, draining, sizeof draining);
		long killed = 0;
		if (st.republish)
			rc = r->hooks->publish(r->hooks->arg, name, name, NULL, rot);
		if (rc == 0 && st.terminate) {
			rc = cred_terminate(r->cc, draining, &killed);
			if (rc == 0 && killed) {
				json_t *d = json_object();
				json_object_set_new(d, "terminated", json_integer(killed));
				json_object_set_new(d, "username", json_string(draining));
				r->hooks->audit(r->hooks->arg, name,
				                force ? "rotate: sessions terminated (--force)"
				                      : "rotate: sessions terminated (grace over)",
				                d);
			}
		}
		bool q = false;
		if (rc == 0)
			rc = quiet(r, draining, &q);
		if (rc == 0 && q && s == CRED_ROT_DRAINING) {
			rc = rotation_password(r, &c, &pw);
			f.password_known = pw != NULL;
		}
		if (rc < 0) {
			cred_clear(&c);
			return rc;
		}
		st = cred_rot_next(s, q ? CRED_ROT_EV_QUIET : CRED_ROT_EV_BUSY, &f);
		switch (st.action) {
		case CRED_ROT_ACT_WAIT_PASSWORD:
			if (!warned)
				pw_warn("the rotation of \"%s\" waits: its new password is not "
				        "known here "
				        "(run \"pgward credentials rotate %s\" on the host of its "
				        "attachments, or with -i IDENTITY; \"rotate %s\" here "
				        "finishes it "
				        "without the rotating alias)",
				        name, name, name);
			warned = true;
			break;
		case CRED_ROT_ACT_SWAP:
			/* step 3: the new username takes the name; an alias keeps the rotating URL
			 * working until the applications have the final one */
			rc = cred_rotate_swap(r->cc, name, st.alias ? pw : NULL);
			if (rc == 0) {
				r->hooks->audit(r->hooks->arg, name,
				                "rotate: old username dropped, new one renamed",
				                NULL);
				if (st.alias)
					rc = r->hooks->publish(r->hooks->arg, name, name, pw, NULL);
				else
					pw_warn("credential \"%s\": clients must now use username "
					        "\"%s\" "
					        "with the rotating username's password (that "
					        "username is "
					        "gone)",
					        name, name);
			}
			cred_clear(&c);
			if (rc < 0)
				return rc;
			continue;
		case CRED_ROT_ACT_FINISH: /* the alias has drained */
			rc = cred_rotate_finish(r->cc, name);
			if (rc == 0)
				r->hooks->audit(r->hooks->arg, name, "rotate: complete", NULL);
			cred_clear(&c);
			return rc;
		case CRED_ROT_ACT_WAIT:
			break;
		default:
			rc = refusal_error(&c, s, &st, NULL);
			break;
		}
		cred_clear(&c);
		if (rc < 0 || !wait)
			return rc;
		if (pw_interrupted())
			return pw_error(PW_E_INTERRUPTED,
			                "interrupted while waiting for the rotation");
		sleep(1);
	}
}
