/*
 * refused.c - the accounting of refused API calls (see refused.h).
 *
 * A peer's window starts at its first refusal and lasts REFUSED_WINDOW seconds; when it
 * ends, what it counted becomes one summary and the entry is freed. The global window
 * (started the same way) caps the records one by one and the summaries of all peers
 * together; a summary past that cap, and the count of a peer evicted from the full table,
 * go into one "other peers" summary at the end of the global window. So at most
 * REFUSED_LOG_ALL + REFUSED_SUMMARIES + 1 records are written per window, whatever the
 * number of peers or calls.
 */
#include "daemon/refused.h"

#include <string.h>

#include "common/mem.h"
#include "common/str.h"

struct peer {
	char name[REFUSED_PEER_MAX]; /* "" = a free entry */
	double start, last;
	unsigned long refused, counted; /* in this window: all, and those not recorded */
	bool crowded; /* it took the entry of another (the table was full): delayed at once */
};

struct refused {
	struct peer p[REFUSED_PEERS];
	double gstart; /* the global window; 0 none */
	unsigned logged, summaries;
	unsigned long other_count, other_peers;
};

struct refused *refused_new(void)
{
	return pw_calloc(1, sizeof(struct refused));
}

void refused_free(struct refused *t)
{
	pw_free(t);
}

static void fold(struct refused *t, struct peer *p)
{
	if (p->counted) {
		t->other_count += p->counted;
		t->other_peers++;
	}
	memset(p, 0, sizeof *p);
}

static struct peer *find(struct refused *t, const char *name, double now)
{
	struct peer *free_e = NULL, *stalest = NULL;
	for (size_t i = 0; i < REFUSED_PEERS; i++) {
		struct peer *p = &t->p[i];
		if (!p->name[0]) {
			if (!free_e)
				free_e = p;
			continue;
		}
		if (strcmp(p->name, name) == 0) {
			if (now - p->start >= REFUSED_WINDOW && !p->counted) {
				/* a window that ended with nothing to sum up: a new one */
				p->start = now;
				p->refused = 0;
				p->crowded = false;
			}
			return p;
		}
		if (!stalest || p->last < stalest->last)
			stalest = p;
	}
	struct peer *p = free_e;
	if (!p) {
		/* more peers refused within the window than the table holds: a client rotating
		 * addresses (an IPv6 /56 holds 256 /64s) would evict each of them before it came
		 * back, and none would ever wait; one that has to evict waits the longest */
		p = stalest;
		fold(t, p);
		p->crowded = true;
	}
	pw_strlcpy(p->name, name, sizeof p->name);
	p->start = p->last = now;
	return p;
}

void refused_note(struct refused *t, const char *peer, double now, bool *record, unsigned *delay_ms)
{
	if (!t->gstart || (now - t->gstart >= REFUSED_WINDOW && !t->other_count)) {
		t->gstart = now;
		t->logged = t->summaries = 0;
	}
	struct peer *p = find(t, peer[0] ? peer : "unknown", now);
	p->last = now;
	p->refused++;
	*record = p->refused <= REFUSED_LOG_PER_PEER && t->logged < REFUSED_LOG_ALL;
	if (*record)
		t->logged++;
	else
		p->counted++;
	unsigned long over = p->refused > REFUSED_FREE ? p->refused - REFUSED_FREE : 0;
	*delay_ms = p->crowded || over >= REFUSED_DELAY_MAX_MS / REFUSED_DELAY_STEP_MS
	                ? REFUSED_DELAY_MAX_MS
	                : (unsigned)over * REFUSED_DELAY_STEP_MS;
}

static bool ended(double start, double now, bool final)
{
	return final || now - start >= REFUSED_WINDOW;
}

size_t refused_collect(struct refused *t, double now, bool final, struct refused_summary *out,
                       size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < REFUSED_PEERS && n < max; i++) {
		struct peer *p = &t->p[i];
		if (!p->name[0] || !ended(p->start, now, final))
			continue;
		if (p->counted && t->summaries < REFUSED_SUMMARIES) {
			t->summaries++;
			pw_strlcpy(out[n].peer, p->name, sizeof out[n].peer);
			out[n].count = p->counted;
			out[n].peers = 1;
			n++;
			memset(p, 0, sizeof *p);
		} else {
			fold(t, p);
		}
	}
	if (n < max && t->gstart && ended(t->gstart, now, final)) {
		if (t->other_count) {
			out[n].peer[0] = 0;
			out[n].count = t->other_count;
			out[n].peers = t->other_peers;
			n++;
		}
		t->gstart = 0;
		t->logged = t->summaries = 0;
		t->other_count = t->other_peers = 0;
	}
	return n;
}

bool refused_pending(const struct refused *t)
{
	if (t->other_count)
		return true;
	for (size_t i = 0; i < REFUSED_PEERS; i++)
		if (t->p[i].counted)
			return true;
	return false;
}
