/* walprobe.c - the last durable WAL on the board (see walprobe.h). */
#include "daemon/walprobe.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/thread.h"

#define STOP_WAIT_SECONDS 3

struct serve_wal {
	char *config_path;
	struct board *board;
	serve_wal_status_fn *status;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, kicked, done;
	/* stanzas whose last probe failed: warned once per streak */
	char failing[SVC_STATE_MAX_STANZAS][SVC_STANZA_MAX + 1];
	size_t nfailing;
};

static bool was_failing(struct serve_wal *w, const char *name, bool now_failing)
{
	for (size_t i = 0; i < w->nfailing; i++)
		if (strcmp(w->failing[i], name) == 0) {
			if (!now_failing)
				memcpy(w->failing[i], w->failing[--w->nfailing],
				       sizeof w->failing[i]);
			return true;
		}
	if (now_failing && w->nfailing < SVC_STATE_MAX_STANZAS)
		pw_strlcpy(w->failing[w->nfailing++], name, sizeof w->failing[0]);
	return false;
}

static void probe_all(struct serve_wal *w)
{
	/* the names first: no storage request is made under the board's lock */
	char(*names)[SVC_STANZA_MAX + 1] = pw_calloc(SVC_STATE_MAX_STANZAS, sizeof *names);
	size_t n = 0;
	struct board_data *d = board_lock(w->board);
	for (size_t i = 0; i < d->n && n < SVC_STATE_MAX_STANZAS; i++)
		if (d->stanza[i].pitr)
			pw_strlcpy(names[n++], d->stanza[i].name, sizeof names[0]);
	board_unlock(w->board);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&w->mu);
		bool stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;
		time_t last = 0, from = 0, to = 0;
		int rc = w->status(w->config_path, names[i], &last, &from, &to);
		if (rc < 0) {
			if (!was_failing(w, names[i], true))
				pw_warn("reading the WAL of stanza \"%s\" from the repository: %s",
				        names[i], pw_error_message());
			pw_error_clear();
			continue;
		}
		if (was_failing(w, names[i], false))
			pw_info("the WAL of stanza \"%s\" is readable again", names[i]);
		d = board_lock(w->board);
		struct board_stanza *bs = board_find(d, names[i]);
		if (bs) {
			bs->wal_last_durable = last;
			bs->window_from = from;
			bs->window_to = to;
		}
		board_unlock(w->board);
	}
	pw_free(names);
}

static void *probe_thread(void *arg)
{
	struct serve_wal *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		w->kicked = false;
		pthread_mutex_unlock(&w->mu);
		probe_all(w);
		pthread_mutex_lock(&w->mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SERVE_WAL_PROBE_SECONDS;
		while (!w->stop && !w->kicked &&
		       pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT) {
		}
	}
	w->done = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int serve_wal_start(const char *config_path, struct board *b, serve_wal_status_fn *status,
                    struct serve_wal **out)
{
	struct serve_wal *w = pw_calloc(1, sizeof *w);
	w->config_path = pw_strdup(config_path);
	w->board = b;
	w->status = status;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	int e = pw_thread_create(&w->thread, probe_thread, w);
	if (e != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		pw_free(w->config_path);
		pw_free(w);
		*out = NULL;
		return pw_error(PW_E_INTERNAL, "cannot start the service's WAL thread");
	}
	*out = w;
	return 0;
}

void serve_wal_kick(struct serve_wal *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->kicked = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

bool serve_wal_stop(struct serve_wal *w)
{
	if (!w)
		return true;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_SECONDS;
	while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT) {
	}
	bool done = w->done;
	pthread_mutex_unlock(&w->mu);
	if (!done) {
		/* a storage request hangs: leave the thread (and what it uses) to the exit */
		pw_warn("the WAL thread did not stop within %d s (a repository request hangs)",
		        STOP_WAIT_SECONDS);
		pthread_detach(w->thread);
		return false;
	}
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	pw_free(w->config_path);
	pw_free(w);
	return true;
}
