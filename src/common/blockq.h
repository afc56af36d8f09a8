/*
 * blockq.h - a bounded queue of fixed-size blocks between two threads (one
 * producer, one consumer). Memory is nblocks x size, whatever the stream
 * length. Either side can fail the queue; the other side sees the error.
 */
#ifndef PW_COMMON_BLOCKQ_H
#define PW_COMMON_BLOCKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_block {
	uint8_t *data;
	size_t len; /* bytes used */
	size_t cap;
	bool eof; /* the producer's last block (may be empty) */
};

struct pw_blockq;
struct pw_blockq *pw_blockq_new(size_t nblocks, size_t size);
void pw_blockq_free(struct pw_blockq *q);

/* Producer: take an empty block (waits), fill it, then push it. NULL if the queue failed. */
struct pw_block *pw_blockq_get_empty(struct pw_blockq *q);
void pw_blockq_push(struct pw_blockq *q, struct pw_block *b);
/* Consumer: take the next full block (waits), use it, then release it. NULL if failed. */
struct pw_block *pw_blockq_get_full(struct pw_blockq *q);
void pw_blockq_release(struct pw_blockq *q, struct pw_block *b);

/* Fail the queue with the calling thread's current error (code + message + hint). */
void pw_blockq_fail(struct pw_blockq *q);
/* If failed: re-raise the stored error in the calling thread and return -code; else 0. */
int pw_blockq_error(struct pw_blockq *q);

#endif
