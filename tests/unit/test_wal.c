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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_and_keys),
	    cmocka_unit_test(test_sig_comment),
	    cmocka_unit_test(test_coverage),
	    cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
