/* blockq.c - bounded block queue (mutex + two condition variables). */
#include "common/blockq.h"

#include <pthread.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

struct pw_blockq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pw_block *blocks;
	size_t n;
	struct pw_block **empty, **full; /* stacks / FIFO ring */
	size_t nempty;
	size_t head, count; /* full ring */
	int err;
	char msg[1024], hint[1024];
};

struct pw_blockq *pw_blockq_new(size_t nblocks, size_t size)
{
	struct pw_blockq *q = pw_calloc(1, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->n = nblocks;
	q->blocks = pw_calloc(nblocks, sizeof *q->blocks);
	q->empty = pw_calloc(nblocks, sizeof *q->empty);
	q->full = pw_calloc(nblocks, sizeof *q->full);
	for (size_t i = 0; i < nblocks; i++) {
		q->blocks[i].data = pw_malloc(size);
		q->blocks[i].cap = size;
		q->empty[q->nempty++] = &q->blocks[i];
	}
	return q;
}

void pw_blockq_free(struct pw_blockq *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		pw_free(q->blocks[i].data);
	pw_free(q->blocks);
	pw_free(q->empty);
	pw_free(q->full);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	pw_free(q);
}

struct pw_block *pw_blockq_get_empty(struct pw_blockq *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->nempty && !q->err)
		pthread_cond_wait(&q->cv, &q->mu);
	struct pw_block *b = q->err ? NULL : q->empty[--q->nempty];
	pthread_mutex_unlock(&q->mu);
	if (b) {
		b->len = 0;
		b->eof = false;
	}
	return b;
}

void pw_blockq_push(struct pw_blockq *q, struct pw_block *b)
{
	pthread_mutex_lock(&q->mu);
	q->full[(q->head + q->count) % q->n] = b;
	q->count++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

struct pw_block *pw_blockq_get_full(struct pw_blockq *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->count && !q->err)
		pthread_cond_wait(&q->cv, &q->mu);
	struct pw_block *b = NULL;
	if (!q->err) {
		b = q->full[q->head];
		q->head = (q->head + 1) % q->n;
		q->count--;
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

void pw_blockq_release(struct pw_blockq *q, struct pw_block *b)
{
	pthread_mutex_lock(&q->mu);
	q->empty[q->nempty++] = b;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void pw_blockq_fail(struct pw_blockq *q)
{
	pthread_mutex_lock(&q->mu);
	if (!q->err) {
		q->err = pw_error_code() ? pw_error_code() : PW_E_INTERNAL;
		pw_strlcpy(q->msg, pw_error_message(), sizeof q->msg);
		pw_strlcpy(q->hint, pw_error_hint_text(), sizeof q->hint);
	}
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

int pw_blockq_error(struct pw_blockq *q)
{
	pthread_mutex_lock(&q->mu);
	int err = q->err;
	char msg[1024], hint[1024];
	memcpy(msg, q->msg, sizeof msg);
	memcpy(hint, q->hint, sizeof hint);
	pthread_mutex_unlock(&q->mu);
	if (!err)
		return 0;
	pw_error(err, "%s", msg);
	if (*hint)
		pw_error_hint("%s", hint);
	return -err;
}
