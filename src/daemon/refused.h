/*
 * refused.h - what the API does with calls refused for want of a valid token (401), so that
 * a client sending bad tokens in a loop can fill neither the audit log nor the disk: the
 * first few refusals of each peer in a minute are audit records one by one, the rest are
 * counted and summed up in one record per peer and minute ("K more refused calls from PEER
 * in the last minute"), with a cap on both kinds for all peers together; and a peer that
 * keeps failing is slowed down (a delay before its 401 that grows with its failures, bounded).
 *
 * Pure: no clock, no lock, no I/O (the caller passes the time, from a monotonic clock, and
 * holds its own lock); memory is one fixed table, so any number of peers costs the same.
 */
#ifndef PW_DAEMON_REFUSED_H
#define PW_DAEMON_REFUSED_H
#include <stdbool.h>
#include <stddef.h>

#define REFUSED_PEER_MAX 64 /* "unix uid 1000", "203.0.113.7", "2001:db8:1:2::/64" */
#define REFUSED_PEERS                                                                              \
	256                      /* peers tracked at once; a new one evicts the stalest
                                  * (and then waits REFUSED_DELAY_MAX_MS at once) */
#define REFUSED_WINDOW 60        /* seconds: one peer's window, and the global one */
#define REFUSED_LOG_PER_PEER 10  /* refusals recorded one by one per peer and window */
#define REFUSED_LOG_ALL 100      /* ... and for all peers together per window */
#define REFUSED_SUMMARIES 32     /* summary records per window; more are folded into one */
#define REFUSED_FREE 5           /* refusals of a peer in its window before any delay */
#define REFUSED_DELAY_STEP_MS 50 /* then this much more for each further one ... */
#define REFUSED_DELAY_MAX_MS 500 /* ... up to this */

struct refused_summary {
	char peer[REFUSED_PEER_MAX]; /* "" for the refusals of several peers folded together */
	unsigned long count;         /* refused calls not recorded one by one */
	unsigned long peers;         /* how many peers they came from */
};

struct refused;
struct refused *refused_new(void);
void refused_free(struct refused *t);

/* A call from peer refused at now: *record says whether it gets its own audit record (else
 * it is counted for a summary), *delay_ms how long its answer is held. */
void refused_note(struct refused *t, const char *peer, double now, bool *record,
                  unsigned *delay_ms);

/* The summaries due at now (every one still counted when final): at most max go to out;
 * returns how many (call again while it returns max). */
size_t refused_collect(struct refused *t, double now, bool final, struct refused_summary *out,
                       size_t max);

/* Something is counted that a later refused_collect will report. */
bool refused_pending(const struct refused *t);
#endif
