/*
 * thread.h - starting pgward's threads. Every thread pgward starts takes no signal: SIGTERM,
 * SIGINT and SIGHUP belong to the main thread. Delivered to another thread, a stop signal
 * would set the stop flag without interrupting the main thread's wait (a poll, a read, a
 * sleep), which would then run on to its timeout before it noticed.
 */
#ifndef PW_COMMON_THREAD_H
#define PW_COMMON_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread (threads it starts inherit
 * the mask); the caller's mask is unchanged. 0 or an error number, as pthread_create. */
int pw_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
