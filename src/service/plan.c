/* plan.c - what should run now, retries and the dead-man deadline (see plan.h). */
#include "service/plan.h"

#include <string.h>

#include "common/err.h"

static const char *const kind_names[PLAN_KIND_COUNT] = {"backup", "verify", "expire"};
static const char *const result_names[PLAN_RES__COUNT] = {"none",    "ok",          "failed",
                                                          "running", "interrupted", "skipped"};
static const char *const health_names[] = {"ok", "never-yet", "overdue", "never-overdue"};

const char *plan_kind_name(enum plan_kind k)
{
	return (unsigned)k < PLAN_KIND_COUNT ? kind_names[k] : "?";
}

int plan_kind_from(const char *s)
{
	for (int k = 0; k < PLAN_KIND_COUNT; k++)
		if (s && strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *plan_result_name(enum plan_result r)
{
	return (unsigned)r < PLAN_RES__COUNT ? result_names[r] : "?";
}

int plan_result_from(const char *s)
{
	for (int r = 0; r < PLAN_RES__COUNT; r++)
		if (s && strcmp(s, result_names[r]) == 0)
			return r;
	return -1;
}

const char *plan_health_name(enum plan_health h)
{
	return (unsigned)h <= PLAN_HEALTH_NEVER_OVERDUE ? health_names[h] : "?";
}

long plan_backoff(unsigned attempts, long interval)
{
	long cap = interval < 60 ? 60 : interval;
	long b = 60;
	for (unsigned i = 1; i < attempts && b < cap; i++)
		b *= 2;
	return b < cap ? b : cap;
}

static size_t nentries(const struct plan_job *j)
{
	return !j->sched ? 0 : j->nsched ? j->nsched : 1;
}

int plan_next_slot(const struct plan_job *j, time_t after, time_t *slot)
{
	*slot = 0;
	for (size_t i = 0; i < nentries(j); i++) {
		time_t t;
		int rc = sched_next(&j->sched[i], after, &t);
		if (rc < 0)
			return rc;
		if (!*slot || t < *slot)
			*slot = t;
	}
	return 0;
}

/* The gap between the two slots of the union that follow t (sched_interval of one entry). */
static int interval_of(const struct plan_job *j, time_t t, long *seconds)
{
	if (nentries(j) == 1)
		return sched_interval(j->sched, t, seconds);
	time_t a, b;
	int rc = plan_next_slot(j, t, &a);
	if (rc == 0)
		rc = plan_next_slot(j, a, &b);
	*seconds = rc == 0 ? (long)(b - a) : 0;
	return rc;
}

int plan_entries(const struct plan_job *j, time_t now, uint32_t *entries)
{
	*entries = 0;
	time_t since = j->st.last_success_start;
	if (!since && j->st.last_success) /* a state file from before it was recorded */
		since = j->st.result == PLAN_RES_OK ? j->st.last_start : j->st.last_success;
	if (!since)
		since = j->st.first_seen;
	if (!since || since > now)
		since = now;
	for (size_t i = 0; i < nentries(j) && i < 32; i++) {
		time_t t;
		int rc = sched_next(&j->sched[i], since, &t);
		if (rc < 0)
			return rc;
		if (t <= now)
			*entries |= UINT32_C(1) << i;
	}
	return 0;
}

int plan_slot_entries(const struct plan_job *j, time_t slot, uint32_t *entries)
{
	*entries = 0;
	for (size_t i = 0; i < nentries(j) && i < 32; i++) {
		time_t t;
		int rc = sched_next(&j->sched[i], slot - 1, &t);
		if (rc < 0)
			return rc;
		if (t == slot)
			*entries |= UINT32_C(1) << i;
	}
	return 0;
}

int plan_slot_jitter(const char *stanza, enum plan_kind kind, const struct plan_job *j, time_t slot,
                     long *out)
{
	*out = 0;
	if (j->jitter <= 0)
		return 0;
	time_t after;
	int rc = plan_next_slot(j, slot, &after);
	if (rc < 0)
		return rc;
	long cap = (long)(after - slot) / 2;
	*out = sched_jitter(stanza, plan_kind_name(kind), slot, j->jitter < cap ? j->jitter : cap);
	return 0;
}

static bool failed(const struct plan_job *j)
{
	return j->st.result == PLAN_RES_FAILED || j->st.result == PLAN_RES_INTERRUPTED ||
	       (j->st.result == PLAN_RES_RUNNING && !j->active);
}

int plan_job(const char *stanza, enum plan_kind kind, const struct plan_job *j, time_t now,
             struct plan_decision *out)
{
	memset(out, 0, sizeof *out);
	if (!j->sched)
		return 0; /* PLAN_OFF */
	if (j->active) {
		out->action = PLAN_RUNNING;
		out->due = j->st.last_start;
		return 0;
	}
	/* the last start (or when the schedule was first seen) anchors the next slot; a time
	 * after now (the clock went back, or a forged state file) counts as now, so it can
	 * never push the next run out of reach */
	time_t anchor = j->st.last_start ? j->st.last_start : j->st.first_seen;
	if (anchor == 0 || anchor > now)
		anchor = now;
	time_t slot, after_slot;
	long jit;
	int rc = plan_next_slot(j, anchor, &slot);
	if (rc == 0)
		rc = plan_next_slot(j, slot, &after_slot);
	if (rc == 0)
		rc = plan_slot_jitter(stanza, kind, j, slot, &jit);
	if (rc < 0)
		return rc;
	out->slot = slot;
	out->due = slot + jit;
	/* several slots passed while the service was down: still one run */
	out->why = after_slot <= now ? PLAN_WHY_MISSED : PLAN_WHY_SCHEDULED;
	if (failed(j)) {
		time_t end = j->st.last_end ? j->st.last_end : j->st.last_start;
		if (end == 0 || end > now)
			end = now;
		long interval;
		if ((rc = interval_of(j, end, &interval)) < 0)
			return rc;
		time_t retry = end + plan_backoff(j->st.attempts ? j->st.attempts : 1, interval);
		if (retry < out->due) {
			out->due = retry;
			out->why = PLAN_WHY_RETRY;
		}
	}
	out->action = now >= out->due ? PLAN_RUN : PLAN_WAIT;
	return plan_entries(j, now > out->due ? now : out->due, &out->entries);
}

int plan_stanza(const char *stanza, const struct plan_job jobs[PLAN_KIND_COUNT], time_t now,
                struct plan_decision out[PLAN_KIND_COUNT], enum plan_kind *run)
{
	bool busy = false;
	*run = PLAN_KIND_COUNT;
	for (int k = 0; k < PLAN_KIND_COUNT; k++) {
		int rc = plan_job(stanza, (enum plan_kind)k, &jobs[k], now, &out[k]);
		if (rc < 0)
			return rc;
		busy |= out[k].action == PLAN_RUNNING;
	}
	for (int k = 0; k < PLAN_KIND_COUNT; k++) {
		if (out[k].action != PLAN_RUN)
			continue;
		if (!busy && (*run == PLAN_KIND_COUNT || out[k].due < out[*run].due))
			*run = (enum plan_kind)k;
	}
	for (int k = 0; k < PLAN_KIND_COUNT; k++)
		if (out[k].action == PLAN_RUN && (enum plan_kind)k != *run)
			out[k].action = PLAN_BUSY;
	return 0;
}

int plan_health(const char *stanza, enum plan_kind kind, const struct plan_job *j, time_t now,
                enum plan_health *health, time_t *deadline)
{
	*health = PLAN_HEALTH_OK;
	*deadline = 0;
	if (!j->sched)
		return 0;
	bool never = j->st.last_success == 0;
	time_t base = never ? j->st.first_seen : j->st.last_success;
	if (base == 0 || base > now)
		base = now;
	time_t s1;
	long interval, jit;
	int rc = plan_next_slot(j, base, &s1);
	if (rc == 0)
		rc = interval_of(j, s1 - 1, &interval);
	if (rc == 0)
		rc = plan_slot_jitter(stanza, kind, j, s1, &jit);
	if (rc < 0)
		return rc;
	long grace = j->grace;
	if (grace < 0) {
		/* default: half an interval, at least an hour (a job takes time), at most 12 */
		grace = interval / 2;
		grace = grace < 3600 ? 3600 : grace > 12 * 3600 ? 12 * 3600 : grace;
	}
	*deadline = s1 + jit + grace;
	if (now >= *deadline)
		*health = never ? PLAN_HEALTH_NEVER_OVERDUE : PLAN_HEALTH_OVERDUE;
	else if (never)
		*health = PLAN_HEALTH_NEVER_YET;
	return 0;
}
