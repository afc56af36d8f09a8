/* board.c - what the running service knows (see board.h). */
#include "service/board.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

struct board {
	pthread_mutex_t mu;
	struct board_data d;
	struct board_request queue[BOARD_QUEUE_MAX];
	size_t nq;
	unsigned last_id;
	struct board_request recent[BOARD_RECENT_MAX]; /* run requests, a ring */
	size_t nrecent;
	int wake[2]; /* a pipe: one byte per queued request */
};

static void kind_init(struct board_kind *k)
{
	memset(k, 0, sizeof *k);
	k->last_duration = -1;
}

struct board *board_new(void)
{
	struct board *b = pw_calloc(1, sizeof *b);
	pthread_mutex_init(&b->mu, NULL);
	b->wake[0] = b->wake[1] = -1;
	if (pipe2(b->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		pthread_mutex_destroy(&b->mu);
		pw_free(b);
		return NULL;
	}
	return b;
}

void board_free(struct board *b)
{
	if (!b)
		return;
	close(b->wake[0]);
	close(b->wake[1]);
	pthread_mutex_destroy(&b->mu);
	pw_free(b->d.stanza);
	pw_free(b);
}

struct board_data *board_lock(struct board *b)
{
	pthread_mutex_lock(&b->mu);
	return &b->d;
}

void board_unlock(struct board *b)
{
	pthread_mutex_unlock(&b->mu);
}

struct board_stanza *board_find(struct board_data *d, const char *name)
{
	for (size_t i = 0; name && i < d->n; i++)
		if (strcmp(d->stanza[i].name, name) == 0)
			return &d->stanza[i];
	return NULL;
}

int board_set_stanzas(struct board *b, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!svc_stanza_name_ok(names[i])) {
			char shown[96];
			return pw_error(PW_E_CONFIG, "bad stanza name \"%s\"",
			                pw_str_printable(shown, sizeof shown, names[i]));
		}
	struct board_stanza *fresh = pw_calloc(n ? n : 1, sizeof *fresh);
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < n; i++) {
		const struct board_stanza *old = board_find(&b->d, names[i]);
		if (old) {
			fresh[i] = *old;
			continue;
		}
		pw_strlcpy(fresh[i].name, names[i], sizeof fresh[i].name);
		for (int k = 0; k < PLAN_KIND_COUNT; k++)
			kind_init(&fresh[i].kind[k]);
		fresh[i].repo_reachable = -1;
	}
	pw_free(b->d.stanza);
	b->d.stanza = fresh;
	b->d.n = n;
	pthread_mutex_unlock(&b->mu);
	return 0;
}

static int enqueue(struct board *b, const struct board_request *r)
{
	if (b->nq == BOARD_QUEUE_MAX)
		return pw_error(PW_E_LIMIT, "%d job requests are already waiting", BOARD_QUEUE_MAX);
	b->queue[b->nq++] = *r;
	char one = 1;
	if (write(b->wake[1], &one, 1) < 0) {
		/* the pipe is full: the loop is awake anyway */
	}
	return 0;
}

int board_request_run(struct board *b, const char *stanza, enum plan_kind kind, const char *who,
                      unsigned *id)
{
	if ((int)kind < 0 || kind >= PLAN_KIND_COUNT)
		return pw_error(PW_E_USAGE, "unknown job kind");
	struct board_request r = {.kind = kind, .at = time(NULL)};
	pw_strlcpy(r.who, who ? who : "", sizeof r.who);
	pthread_mutex_lock(&b->mu);
	int rc = 0;
	char shown[96];
	if (!board_find(&b->d, stanza))
		rc = pw_error(PW_E_NOTFOUND, "no stanza \"%s\" is served",
		              pw_str_printable(shown, sizeof shown, stanza ? stanza : ""));
	if (rc == 0) {
		pw_strlcpy(r.stanza, stanza, sizeof r.stanza);
		r.id = ++b->last_id;
		rc = enqueue(b, &r);
		if (rc == 0)
			b->recent[b->nrecent++ % BOARD_RECENT_MAX] = r;
		if (rc == 0 && id)
			*id = r.id;
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

int board_request_cancel(struct board *b, unsigned id, const char *who)
{
	struct board_request r = {.id = id, .cancel = true, .at = time(NULL)};
	pw_strlcpy(r.who, who ? who : "", sizeof r.who);
	pthread_mutex_lock(&b->mu);
	bool known = false;
	for (size_t i = 0; i < b->nq && !known; i++)
		known = !b->queue[i].cancel && b->queue[i].id == id;
	for (size_t i = 0; i < b->d.n && !known; i++)
		for (int k = 0; k < PLAN_KIND_COUNT && !known; k++)
			known =
			    b->d.stanza[i].kind[k].running && b->d.stanza[i].kind[k].job_id == id;
	int rc = known ? enqueue(b, &r) : pw_error(PW_E_NOTFOUND, "no job %u runs or waits", id);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

int board_job_find(struct board *b, unsigned id, struct board_job_view *out)
{
	memset(out, 0, sizeof *out);
	out->id = id;
	pthread_mutex_lock(&b->mu);
	const struct board_request *asked = NULL;
	for (size_t i = 0; id && i < BOARD_RECENT_MAX && i < b->nrecent; i++)
		if (b->recent[i].id == id)
			asked = &b->recent[i];
	bool found = false;
	for (size_t i = 0; id && i < b->d.n && !found; i++)
		for (int k = 0; k < PLAN_KIND_COUNT && !found; k++) {
			const struct board_kind *bk = &b->d.stanza[i].kind[k];
			if (bk->job_id != id)
				continue;
			found = true;
			pw_strlcpy(out->stanza, b->d.stanza[i].name, sizeof out->stanza);
			out->kind = (enum plan_kind)k;
			out->state = bk->running ? BOARD_JOB_RUNNING : BOARD_JOB_FINISHED;
			out->st = bk->st;
			out->exit_code = bk->last_exit;
			pw_strlcpy(out->message, bk->last_message, sizeof out->message);
		}
	for (size_t i = 0; id && i < b->nq && !found; i++)
		if (!b->queue[i].cancel && b->queue[i].id == id) {
			found = true;
			out->state = BOARD_JOB_QUEUED;
		}
	if (!found && asked) {
		found = true;
		out->state = BOARD_JOB_ACCEPTED;
		const struct board_stanza *bs = board_find(&b->d, asked->stanza);
		const struct board_kind *bk = bs ? &bs->kind[asked->kind] : NULL;
		if (bk && bk->job_id > id && bk->st.last_start >= asked->at) {
			out->state = BOARD_JOB_SUPERSEDED;
			out->superseded_by = bk->job_id;
		}
	}
	if (asked) {
		out->requested = asked->at;
		if (!out->stanza[0]) {
			pw_strlcpy(out->stanza, asked->stanza, sizeof out->stanza);
			out->kind = asked->kind;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return found ? 0 : pw_error(PW_E_NOTFOUND, "no job %u is known", id);
}

bool board_take(struct board *b, struct board_request *out)
{
	pthread_mutex_lock(&b->mu);
	bool got = b->nq > 0;
	if (got) {
		*out = b->queue[0];
		memmove(b->queue, b->queue + 1, (b->nq - 1) * sizeof b->queue[0]);
		b->nq--;
		char one;
		if (read(b->wake[0], &one, 1) < 0) {
			/* nothing to drain */
		}
	}
	pthread_mutex_unlock(&b->mu);
	return got;
}

unsigned board_next_id(struct board *b)
{
	pthread_mutex_lock(&b->mu);
	unsigned id = ++b->last_id;
	pthread_mutex_unlock(&b->mu);
	return id;
}

int board_wake_fd(const struct board *b)
{
	return b->wake[0];
}
