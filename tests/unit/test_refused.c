/*
 * test_refused.c - the accounting of refused API calls (src/daemon/refused.c) with a made-up
 * clock: the first calls of a peer are recorded one by one, the rest summed up when its
 * window ends; the cap for all peers together; the delay grows and stays bounded; a table
 * full of peers evicts the stalest into one "other peers" summary; the records written per
 * window stay bounded whatever the number of peers.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "daemon/refused.h"

static size_t collect_all(struct refused *t, double now, bool final, struct refused_summary *out,
                          size_t max)
{
	size_t n = 0, got;
	while (n < max && (got = refused_collect(t, now, final, out + n, max - n)) > 0)
		n += got;
	return n;
}

static void test_one_peer(void **state)
{
	(void)state;
	struct refused *t = refused_new();
	bool rec;
	unsigned delay, recorded = 0, max_delay = 0, last_delay = 0;
	for (int i = 0; i < 2000; i++) {
		refused_note(t, "unix uid 7", 1000.0 + i * 0.01, &rec, &delay);
		recorded += rec;
		assert_true(delay >= last_delay);
		last_delay = delay;
		if (delay > max_delay)
			max_delay = delay;
		if (i < REFUSED_FREE)
			assert_int_equal(delay, 0);
	}
	assert_int_equal(recorded, REFUSED_LOG_PER_PEER);
	assert_int_equal(max_delay, REFUSED_DELAY_MAX_MS);
	assert_true(refused_pending(t));
	struct refused_summary s[8];
	/* nothing is due before the window ends */
	assert_int_equal(collect_all(t, 1030.0, false, s, 8), 0);
	assert_int_equal(collect_all(t, 1060.0, false, s, 8), 1);
	assert_string_equal(s[0].peer, "unix uid 7");
	assert_int_equal(s[0].count, 2000 - REFUSED_LOG_PER_PEER);
	assert_false(refused_pending(t));
	/* a new window: recorded again, no delay at first */
	refused_note(t, "unix uid 7", 1100.0, &rec, &delay);
	assert_true(rec);
	assert_int_equal(delay, 0);
	refused_free(t);
}

static void test_many_peers(void **state)
{
	(void)state;
	struct refused *t = refused_new();
	bool rec;
	unsigned delay;
	unsigned long recorded = 0, total = 0;
	/* 5000 peers, 20 calls each, within one minute: more peers than the table holds */
	char peer[32];
	for (int round = 0; round < 20; round++)
		for (int p = 0; p < 5000; p++) {
			snprintf(peer, sizeof peer, "10.0.%d.%d", p / 256, p % 256);
			refused_note(t, peer, 2000.0 + round * 0.5 + p * 0.0001, &rec, &delay);
			recorded += rec;
			total++;
		}
	assert_int_equal(recorded, REFUSED_LOG_ALL);
	struct refused_summary s[400];
	size_t n = collect_all(t, 2100.0, false, s, 400);
	assert_true(n <= REFUSED_SUMMARIES + 1);
	unsigned long summed = 0;
	for (size_t i = 0; i < n; i++)
		summed += s[i].count;
	assert_int_equal(recorded + summed, total);
	assert_int_equal(s[n - 1].peer[0], 0); /* the folded "other peers" come last */
	assert_true(s[n - 1].peers > 1);
	assert_false(refused_pending(t));
	refused_free(t);
}

static void test_final(void **state)
{
	(void)state;
	struct refused *t = refused_new();
	bool rec;
	unsigned delay;
	for (int i = 0; i < 30; i++)
		refused_note(t, "192.0.2.1", 50.0, &rec, &delay);
	struct refused_summary s[4];
	assert_int_equal(collect_all(t, 51.0, false, s, 4), 0);
	assert_int_equal(collect_all(t, 51.0, true, s, 4), 1); /* a stop writes what is counted */
	assert_int_equal(s[0].count, 30 - REFUSED_LOG_PER_PEER);
	refused_free(t);
}

/* redteam: rotating more peers than the table holds (an IPv6 /56 is 256 /64s) evicts each
 * peer before it comes back, so none ever reached its delay; a peer that had to evict
 * another (the table full of peers refused within the minute) now waits the longest delay
 * at once, and the records stay bounded */
static void test_rotation(void **state)
{
	(void)state;
	struct refused *t = refused_new();
	bool rec;
	unsigned delay, undelayed = 0;
	unsigned long recorded = 0;
	char peer[48];
	for (int round = 0; round < 20; round++)
		for (int p = 0; p <= REFUSED_PEERS; p++) {
			snprintf(peer, sizeof peer, "2001:db8:0:%x::/64", p);
			refused_note(t, peer, 3000.0 + round * 0.5 + p * 0.001, &rec, &delay);
			recorded += rec;
			undelayed += delay == 0;
		}
	/* the first REFUSED_PEERS calls found free entries; every later one evicted */
	assert_int_equal(undelayed, REFUSED_PEERS);
	assert_int_equal(recorded, REFUSED_LOG_ALL);
	/* fewer peers than the table holds: each is delayed after its free calls only */
	struct refused *u = refused_new();
	undelayed = 0;
	for (int round = 0; round < 20; round++)
		for (int p = 0; p < REFUSED_PEERS; p++) {
			snprintf(peer, sizeof peer, "2001:db8:0:%x::/64", p);
			refused_note(u, peer, 3000.0 + round * 0.5 + p * 0.001, &rec, &delay);
			undelayed += delay == 0;
		}
	assert_int_equal(undelayed, REFUSED_PEERS * REFUSED_FREE);
	refused_free(u);
	refused_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_peer),
	    cmocka_unit_test(test_many_peers),
	    cmocka_unit_test(test_final),
	    cmocka_unit_test(test_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
