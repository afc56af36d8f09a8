/* test_wal.c - the WAL object layout (keys built and parsed strictly, signature comments
 * bound to stanza/timeline/object), coverage with gaps and partials, and the replication
 * message codec (every length and flag checked). */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "pg/replication.h"
#include "repo/wal.h"
#include "repo/walrepo.h"

#define SEG16 (16u << 20)

static void test_names_and_keys(void **state)
{
	(void)state;
	char name[25], key[WAL_KEY_MAX];
	wal_seg_name(1, 0x1FF, SEG16, name);
	assert_string_equal(name, "0000000100000001000000FF");
	wal_seg_name(3, 0x100, 64u << 20, name);
	assert_string_equal(name, "000000030000000400000000");
	uint32_t tli;
	uint64_t segno;
	assert_int_equal(wal_seg_parse("0000000100000001000000FF", SEG16, &tli, &segno), 0);
	assert_int_equal(tli, 1);
	assert_int_equal(segno, 0x1FF);
	/* a segment number past the log for this size, lowercase, short, TLI 0 */
	const char *bad[] = {"000000010000000100000100", "0000000100000001000000ff",
	                     "00000001000000010000FF",   "000000000000000100000001",
	                     "0000000100000001000000F/", ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(wal_seg_parse(bad[i], SEG16, &tli, &segno), -PW_E_USAGE);
	assert_int_equal(wal_history_parse("00000002.history", &tli), 0);
	assert_int_equal(tli, 2);
	assert_int_equal(wal_history_parse("00000001.history", &tli), -PW_E_USAGE);
	assert_int_equal(wal_history_parse("0000000X.history", &tli), -PW_E_USAGE);

	assert_int_equal(wal_key_segment("shop", 1, 0x1FF, SEG16, key), 0);
	assert_string_equal(key, "shop/wal/00000001/0000000100000001000000FF.zst.age");
	struct wal_obj o;
	assert_int_equal(wal_key_parse("shop", key, &o), 0);
	assert_true(o.kind == WAL_SEGMENT && !o.signature && o.tli == 1 && o.log == 1 &&
	            o.seg == 0xFF);
	assert_int_equal(wal_key_partial("shop", 1, 0x1FF, SEG16, 0x2000, key), 0);
	assert_string_equal(key,
	                    "shop/wal/00000001/0000000100000001000000FF.partial.00002000.zst.age");
	assert_int_equal(wal_key_parse("shop", key, &o), 0);
	assert_true(o.kind == WAL_PARTIAL && o.end == 0x2000);
	char sk[WAL_KEY_MAX + 16];
	snprintf(sk, sizeof sk, "%s.minisig", key);
	assert_int_equal(wal_key_parse("shop", sk, &o), 0);
	assert_true(o.kind == WAL_PARTIAL && o.signature);
	assert_int_equal(wal_key_history("shop", 2, key), 0);
	assert_string_equal(key, "shop/wal/00000002.history.zst.age");
	assert_int_equal(wal_key_parse("shop", key, &o), 0);
	assert_true(o.kind == WAL_HISTORY && o.tli == 2);

	bool history;
	assert_int_equal(wal_key_for_file("shop", "00000002.history", &tli, &history, key), 0);
	assert_true(history && tli == 2);
	assert_int_equal(wal_key_for_file("shop", "000000020000000000000003", &tli, &history, key),
	                 0);
	assert_string_equal(key, "shop/wal/00000002/000000020000000000000003.zst.age");
	assert_int_equal(wal_key_for_file("shop", "../../etc/passwd", &tli, &history, key),
	                 -PW_E_USAGE);
	assert_int_equal(
	    wal_key_for_file("shop", "000000020000000000000003.partial", &tli, &history, key),
	    -PW_E_USAGE);
	pw_error_clear();

	/* strict parsing: another stanza, a timeline mismatch between directory and name,
	 * lowercase, a zero partial end, extra characters, a prefix stanza */
	const char *keys[] = {
	    "shop2/wal/00000001/000000010000000000000001.zst.age",
	    "sho/wal/00000001/000000010000000000000001.zst.age",
	    "shop/wal/00000002/000000010000000000000001.zst.age",
	    "shop/wal/00000001/00000001000000000000000a.zst.age",
	    "shop/wal/00000001/000000010000000000000001.partial.00000000.zst.age",
	    "shop/wal/00000001/000000010000000000000001.partial.0000100.zst.age",
	    "shop/wal/00000001/000000010000000000000001.zst.age.x",
	    "shop/wal/00000001/000000010000000000000001.zst",
	    "shop/wal/00000001.history.zst.age",
	    "shop/wal/00000000/000000000000000000000001.zst.age",
	    "shop/wal/00000001/000000010000000000000001x.zst.age",
	};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		assert_int_equal(wal_key_parse("shop", keys[i], &o), -PW_E_NOTFOUND);
}

static void test_sig_comment(void **state)
{
	(void)state;
	char c[512];
	struct wal_sig_info in = {.length = SEG16, .segsize = SEG16}, out;
	memset(in.sha256, 0xAB, 32);
	const char *key = "shop/wal/00000001/000000010000000000000001.zst.age";
	assert_int_equal(wal_sig_comment("shop", key, 1, &in, c, sizeof c), 0);
	assert_int_equal(wal_sig_comment_check(c, "shop", key, 1, &out), 0);
	assert_int_equal(out.length, SEG16);
	assert_int_equal(out.segsize, SEG16);
	assert_memory_equal(out.sha256, in.sha256, 32);
	/* the same signature presented for another object, stanza or timeline */
	assert_int_equal(wal_sig_comment_check(c, "shop",
	                                       "shop/wal/00000001/000000010000000000000002.zst.age",
	                                       1, &out),
	                 -PW_E_SIGNATURE);
	assert_int_equal(wal_sig_comment_check(c, "sho", key, 1, &out), -PW_E_SIGNATURE);
	assert_int_equal(wal_sig_comment_check(c, "shop", key, 2, &out), -PW_E_SIGNATURE);
	/* a prefix of the real key must not match either */
	assert_int_equal(wal_sig_comment_check(c, "shop", "shop/wal/00000001/0000000100", 1, &out),
	                 -PW_E_SIGNATURE);
	/* malformed tails */
	const char *tails[] = {"segment_size=16777216 length=x sha256=00",
	                       "segment_size=16777216 length=1 sha256=zz",
	                       "length=1 segment_size=1 sha256=",
	                       "segment_size=99999999999 length=1 sha256=" /* >32 bits */
	                       "abababababababababababababababababababababababababababababababab",
	                       ""};
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		char t[600];
		snprintf(t, sizeof t, "pgward-wal v1 stanza=shop timeline=1 object=%s %s", key,
		         tails[i]);
		assert_int_equal(wal_sig_comment_check(t, "shop", key, 1, &out), -PW_E_SIGNATURE);
	}
	pw_error_clear();
}

static struct wal_obj seg(uint32_t tli, uint32_t n, enum wal_kind k, uint32_t end)
{
	return (struct wal_obj){.kind = k, .tli = tli, .log = 0, .seg = n, .end = end};
}

static void test_coverage(void **state)
{
	(void)state;
	struct wal_obj objs[] = {
	    seg(1, 3, WAL_SEGMENT, 0),
	    seg(1, 1, WAL_SEGMENT, 0),
	    seg(1, 2, WAL_PARTIAL, 0x1000),
	    seg(1, 2, WAL_SEGMENT, 0), /* superseded */
	    seg(1, 6, WAL_SEGMENT, 0),
	    seg(1, 7, WAL_PARTIAL, 0x100),
	    seg(1, 7, WAL_PARTIAL, 0x2000),
	    seg(1, 5, WAL_PARTIAL, 0x10) /* gap after */,
	    seg(2, 7, WAL_SEGMENT, 0),
	    seg(2, 8, WAL_PARTIAL, 0x20),
	    {.kind = WAL_HISTORY, .tli = 2},
	    {.kind = WAL_HISTORY, .signature = true, .tli = 2},
	    {.kind = WAL_SEGMENT, .signature = true, .tli = 3},
	    seg(1, 4, WAL_PARTIAL, SEG16 + 1) /* impossible end: ignored */,
	};
	struct wal_coverage *c;
	size_t n;
	assert_int_equal(wal_coverage(objs, sizeof objs / sizeof *objs, SEG16, &c, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].tli, 1);
	assert_int_equal(c[0].from, 1ull * SEG16);
	assert_int_equal(c[0].to, 7ull * SEG16 + 0x2000);
	assert_true(c[0].ends_partial);
	/* missing: segment 4 entirely, and 5 after its partial */
	assert_int_equal(c[0].ngaps, 2);
	assert_int_equal(c[0].gap[0].from, 4ull * SEG16);
	assert_int_equal(c[0].gap[0].to, 5ull * SEG16);
	assert_int_equal(c[0].gap[1].from, 5ull * SEG16 + 0x10);
	assert_int_equal(c[0].gap[1].to, 6ull * SEG16);
	assert_false(c[0].history);
	assert_int_equal(c[1].tli, 2);
	assert_int_equal(c[1].ngaps, 0);
	assert_int_equal(c[1].to, 8ull * SEG16 + 0x20);
	assert_true(c[1].history);
	pw_free(c);
	/* a full-size partial stands for its segment (a crash left the segment unsigned) */
	struct wal_obj full[] = {seg(1, 1, WAL_SEGMENT, 0), seg(1, 2, WAL_PARTIAL, SEG16),
	                         seg(1, 3, WAL_SEGMENT, 0)};
	assert_int_equal(wal_coverage(full, 3, SEG16, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].ngaps, 0);
	assert_int_equal(c[0].segments, 3);
	assert_false(c[0].ends_partial);
	pw_free(c);
	assert_int_equal(wal_coverage(NULL, 0, SEG16, &c, &n), 0);
	assert_int_equal(n, 0);
	pw_free(c);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void test_messages(void **state)
{
	(void)state;
	uint8_t m[64] = {'w'};
	put64(m + 1, 0x1000000);
	put64(m + 9, 0x2000000);
	put64(m + 17, 12345);
	memcpy(m + 25, "abcd", 4);
	struct repl_msg r;
	assert_int_equal(repl_parse_msg(m, 29, &r), 0);
	assert_true(r.kind == REPL_MSG_XLOGDATA && r.start == 0x1000000 && r.wal_end == 0x2000000 &&
	            r.len == 4 && memcmp(r.data, "abcd", 4) == 0);
	assert_int_equal(repl_parse_msg(m, 25, &r), 0); /* empty data is legal */
	assert_int_equal(repl_parse_msg(m, 24, &r), -PW_E_DB);
	put64(m + 1, UINT64_MAX - 1); /* data would wrap the address space */
	assert_int_equal(repl_parse_msg(m, 29, &r), -PW_E_DB);
	uint8_t k[18] = {'k'};
	put64(k + 1, 0x3000000);
	k[17] = 1;
	assert_int_equal(repl_parse_msg(k, 18, &r), 0);
	assert_true(r.kind == REPL_MSG_KEEPALIVE && r.reply_requested && r.wal_end == 0x3000000);
	k[17] = 2;
	assert_int_equal(repl_parse_msg(k, 18, &r), -PW_E_DB);
	k[17] = 0;
	assert_int_equal(repl_parse_msg(k, 17, &r), -PW_E_DB);
	assert_int_equal(repl_parse_msg(k, 19, &r), -PW_E_DB);
	uint8_t x[4] = {'x', 0, 0, 0};
	assert_int_equal(repl_parse_msg(x, 4, &r), -PW_E_DB);
	assert_int_equal(repl_parse_msg(x, 0, &r), -PW_E_DB);
	/* the status update: 'r', three LSNs, the clock, the reply flag */
	uint8_t s[REPL_STATUS_LEN];
	repl_status_build(s, 0x10, 0x20, 0, 7, false);
	assert_int_equal(s[0], 'r');
	assert_int_equal(s[8], 0x10);
	assert_int_equal(s[16], 0x20);
	assert_int_equal(s[24], 0);
	assert_int_equal(s[32], 7);
	assert_int_equal(s[33], 0);
	/* LSN text */
	uint64_t l;
	char t[24];
	assert_int_equal(repl_lsn_parse("16/B374D848", &l), 0);
	assert_int_equal(l, 0x16B374D848ull);
	repl_lsn_format(l, t);
	assert_string_equal(t, "16/B374D848");
	const char *badl[] = {"", "/", "1/", "/1", "123456789/0", "1/123456789", "g/1", "1/1/1"};
	for (size_t i = 0; i < sizeof badl / sizeof *badl; i++)
		assert_int_equal(repl_lsn_parse(badl[i], &l), -PW_E_DB);
	assert_true(repl_slot_name_valid("pgward_shop"));
	assert_false(repl_slot_name_valid("pgward-shop"));
	assert_false(repl_slot_name_valid("Pgward"));
	assert_false(repl_slot_name_valid(""));
	assert_false(repl_slot_name_valid("a; DROP"));
	pw_error_clear();
}

/* the signed time: written when given, read back; comments from before it still check;
 * anything else after the hash is refused */
static void test_sig_comment_time(void **state)
{
	(void)state;
	char c[512];
	const char *key = "shop/wal/00000001/000000010000000000000001.zst.age";
	struct wal_sig_info in = {.length = 5, .segsize = SEG16, .stored = 1796601600}, out;
	memset(in.sha256, 0x11, 32);
	assert_int_equal(wal_sig_comment("shop", key, 1, &in, c, sizeof c), 0);
	assert_non_null(strstr(c, " stored=20261207T000000Z"));
	assert_int_equal(wal_sig_comment_check(c, "shop", key, 1, &out), 0);
	assert_int_equal(out.stored, 1796601600);
	in.stored = 0; /* an old comment: no time, still valid */
	assert_int_equal(wal_sig_comment("shop", key, 1, &in, c, sizeof c), 0);
	assert_null(strstr(c, "stored="));
	assert_int_equal(wal_sig_comment_check(c, "shop", key, 1, &out), 0);
	assert_int_equal(out.stored, 0);
	const char *tails[] = {" stored=",
	                       " stored=20261205T000000",
	                       " stored=20261205T000000Zx",
	                       " time=20261205T000000Z",
	                       "0",
	                       " stored=2026-12-05T00:00:00Z",
	                       " stored=20261205T000000Z "};
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		char t[600];
		snprintf(t, sizeof t, "%s%s", c, tails[i]);
		assert_int_equal(wal_sig_comment_check(t, "shop", key, 1, &out), -PW_E_SIGNATURE);
	}
	pw_error_clear();
}

/* reach and window over tables of coverage; LSNs in segments of 16 MiB */
#define S(n) ((uint64_t)(n)*SEG16)

struct reach_case {
	const char *name;
	struct wal_base b;
	bool consistent, to_end;
	uint32_t tli;
	uint64_t lsn;
};

static void test_reach(void **state)
{
	(void)state;
	/* timeline 1: segments 2..9 with segment 5 missing, then 6..9 (to 10);
	 * timeline 2 (history stored) from segment 8 to 12 + 0x100 (a partial);
	 * timeline 4 (no history stored) from segment 20 */
	struct wal_obj objs[] = {
	    seg(1, 2, WAL_SEGMENT, 0),       seg(1, 3, WAL_SEGMENT, 0),
	    seg(1, 4, WAL_SEGMENT, 0),       seg(1, 6, WAL_SEGMENT, 0),
	    seg(1, 7, WAL_SEGMENT, 0),       seg(1, 8, WAL_SEGMENT, 0),
	    seg(1, 9, WAL_SEGMENT, 0),       seg(2, 8, WAL_SEGMENT, 0),
	    seg(2, 9, WAL_SEGMENT, 0),       seg(2, 10, WAL_SEGMENT, 0),
	    seg(2, 11, WAL_SEGMENT, 0),      seg(2, 12, WAL_PARTIAL, 0x100),
	    {.kind = WAL_HISTORY, .tli = 2}, {.kind = WAL_HISTORY, .signature = true, .tli = 2},
	};
	struct wal_coverage *c;
	size_t n;
	assert_int_equal(wal_coverage(objs, sizeof objs / sizeof *objs, SEG16, &c, &n), 0);
	const struct reach_case cases[] = {
	    {"before the gap: consistent, stops at the gap",
	     {1, S(2) + 40, S(3) + 8, 100},
	     true,
	     false,
	     1,
	     S(5)},
	    {"stop LSN in the gap: not consistent",
	     {1, S(4) + 40, S(5) + 8, 100},
	     false,
	     false,
	     1,
	     S(5)},
	    {"start in the gap: nothing", {1, S(5) + 40, S(6), 100}, false, false, 1, S(5) + 40},
	    {"after the gap: follows timeline 2 to the end",
	     {1, S(6) + 40, S(7), 100},
	     true,
	     true,
	     2,
	     S(12) + 0x100},
	    {"on timeline 2", {2, S(10), S(11), 100}, true, true, 2, S(12) + 0x100},
	    {"stop in the partial", {2, S(12), S(12) + 0x80, 100}, true, true, 2, S(12) + 0x100},
	    {"stop past the stored end",
	     {2, S(12), S(12) + 0x200, 100},
	     false,
	     true,
	     2,
	     S(12) + 0x100},
	    {"a timeline with no WAL", {3, S(8), S(9), 100}, false, false, 3, S(8)},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct wal_reach r;
		wal_reach(c, n, &cases[i].b, &r);
		if (r.consistent != cases[i].consistent || r.to_end != cases[i].to_end ||
		    r.tli != cases[i].tli || r.lsn != cases[i].lsn)
			fail_msg("%s: consistent %d to_end %d tli %u lsn %llx", cases[i].name,
			         r.consistent, r.to_end, r.tli, (unsigned long long)r.lsn);
	}
	/* the window: the oldest base that reaches the end, to the signed end time */
	struct wal_base bases[] = {
	    {1, S(2) + 40, S(3), 1000}, /* stops at the gap */
	    {1, S(6) + 40, S(7), 2000}, /* reaches the end */
	    {2, S(10), S(11), 3000},    /* reaches the end, newer */
	};
	struct wal_window w;
	wal_window(c, n, bases, 3, 5000, &w);
	assert_true(w.any);
	assert_int_equal(w.base, 1);
	assert_int_equal(w.from, 2000);
	assert_int_equal(w.to, 5000);
	assert_int_equal(w.tli, 2);
	assert_int_equal(w.lsn, S(12) + 0x100);
	wal_window(c, n, bases, 3, 0, &w); /* no signed time: the end is unknown */
	assert_true(w.any);
	assert_int_equal(w.to, 0);
	wal_window(c, n, bases, 1, 5000, &w); /* only the base before the gap */
	assert_false(w.any);
	/* timeline 2's history without its signature (the last entry): never followed */
	struct wal_obj unsig[sizeof objs / sizeof *objs - 1];
	memcpy(unsig, objs, sizeof unsig);
	struct wal_coverage *u;
	size_t nu;
	assert_int_equal(wal_coverage(unsig, sizeof unsig / sizeof *unsig, SEG16, &u, &nu), 0);
	assert_int_equal(nu, 2);
	assert_false(u[1].history);
	struct wal_reach ur;
	wal_reach(u, nu, &(struct wal_base){1, S(6) + 40, S(7), 100}, &ur);
	assert_true(ur.consistent);
	assert_int_equal(ur.tli, 1);
	assert_int_equal(ur.lsn, S(10));
	assert_false(ur.to_end);
	pw_free(u);
	/* a newer timeline without its history file: timeline 2 no longer reaches the end */
	struct wal_obj more[sizeof objs / sizeof *objs + 1];
	memcpy(more, objs, sizeof objs);
	more[sizeof objs / sizeof *objs] = seg(4, 20, WAL_SEGMENT, 0);
	pw_free(c);
	assert_int_equal(wal_coverage(more, sizeof more / sizeof *more, SEG16, &c, &n), 0);
	wal_window(c, n, bases, 3, 5000, &w);
	assert_false(w.any);
	pw_free(c);
	/* more gaps than coverage records: never claims past the recorded ones */
	struct wal_obj many[2 * WAL_GAPS_MAX + 4];
	size_t k = 0;
	for (uint32_t i = 0; i < WAL_GAPS_MAX + 2; i++)
		many[k++] = seg(1, 2 * i, WAL_SEGMENT, 0);
	assert_int_equal(wal_coverage(many, k, SEG16, &c, &n), 0);
	assert_true(c[0].ngaps > WAL_GAPS_MAX);
	struct wal_reach r;
	struct wal_base late = {1, S(2 * (WAL_GAPS_MAX + 1)), S(2 * (WAL_GAPS_MAX + 1)) + 8, 1};
	wal_reach(c, n, &late, &r);
	assert_true(r.unknown);
	assert_false(r.to_end);
	pw_free(c);
}

/* the durable coverage: an object counts only with its signature listed right after it */
static void test_listing_durable(void **state)
{
	(void)state;
	const char *keys[] = {
	    "s/wal/00000001/000000010000000000000001.zst.age",
	    "s/wal/00000001/000000010000000000000001.zst.age.minisig",
	    "s/wal/00000001/000000010000000000000002.partial.00000100.zst.age",
	    "s/wal/00000001/000000010000000000000002.partial.00000100.zst.age.minisig",
	    /* written, its signature not yet (or a crash between the two) */
	    "s/wal/00000001/000000010000000000000002.partial.00000200.zst.age",
	    "s/wal/00000001/000000010000000000000003.zst.age",
	};
	const size_t nk = sizeof keys / sizeof *keys;
	struct wal_obj o[sizeof keys / sizeof *keys], d[sizeof keys / sizeof *keys];
	char *k[sizeof keys / sizeof *keys];
	for (size_t i = 0; i < nk; i++) {
		assert_int_equal(wal_key_parse("s", keys[i], &o[i]), 0);
		k[i] = (char *)keys[i];
	}
	struct wal_listing l = {.stanza = "s", .o = o, .keys = k, .n = nk, .cap = nk};
	size_t nd = wal_listing_durable(&l, d);
	assert_int_equal(nd, 4);
	struct wal_coverage *c;
	size_t n;
	assert_int_equal(wal_coverage(d, nd, SEG16, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].to, 2 * (uint64_t)SEG16 + 0x100); /* not 0x200, not segment 3 */
	assert_true(c[0].ends_partial);
	pw_free(c);
	/* every object counted, the end would be segment 3's */
	assert_int_equal(wal_coverage(o, nk, SEG16, &c, &n), 0);
	assert_int_equal(c[0].to, 4 * (uint64_t)SEG16);
	pw_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_and_keys),   cmocka_unit_test(test_sig_comment),
	    cmocka_unit_test(test_coverage),         cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_sig_comment_time), cmocka_unit_test(test_reach),
	    cmocka_unit_test(test_listing_durable),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
