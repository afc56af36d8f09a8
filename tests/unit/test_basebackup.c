/* test_basebackup.c - the BASE_BACKUP CopyOut message codec: archive names and locations
 * checked, every length exact, unknown types refused. */
#include "support.h"

#include <string.h>

#include "common/err.h"
#include "pg/basebackup.h"

static int parse(const char *p, size_t n, struct bb_msg *m)
{
	int rc = bb_parse_msg((const uint8_t *)p, n, m);
	pw_error_clear();
	return rc;
}

static void test_archives(void **state)
{
	(void)state;
	struct bb_msg m;
	assert_int_equal(parse("nbase.tar\0", 11, &m), 0);
	assert_int_equal(m.kind, BB_MSG_ARCHIVE);
	assert_string_equal(m.archive, "base.tar");
	assert_int_equal(m.oid, 0);
	assert_string_equal(m.location, "");
	assert_int_equal(parse("n16384.tar\0/srv/ts1\0", 20, &m), 0);
	assert_int_equal(m.oid, 16384);
	assert_string_equal(m.location, "/srv/ts1");
	/* hostile names: a path, a traversal, a relative location, junk after, no NUL */
	static const struct {
		const char *p;
		size_t n;
	} bad[] = {
	    {"n../x.tar\0/a\0", 13},   {"n/etc/passwd\0\0", 14},
	    {"n16384.tar\0rel\0", 15}, {"n16384.tar\0\0", 12},
	    {"nbase.tar\0/a\0", 13},   {"nbase.tar\0\0x", 12},
	    {"nbase.tar", 9},          {"n0.tar\0/a\0", 10},
	    {"n016384.tar\0/a\0", 15}, {"n99999999999.tar\0/a\0", 20},
	    {"n16384.tgz\0/a\0", 14},  {"n.tar\0/a\0", 9},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(parse(bad[i].p, bad[i].n, &m), -PW_E_DB);
}

static void test_other_messages(void **state)
{
	(void)state;
	struct bb_msg m;
	assert_int_equal(parse("dabc", 4, &m), 0);
	assert_int_equal(m.kind, BB_MSG_DATA);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.data, "abc", 3);
	assert_int_equal(parse("m", 1, &m), 0);
	assert_int_equal(m.kind, BB_MSG_MANIFEST);
	assert_int_equal(parse("mx", 2, &m), -PW_E_DB);
	assert_int_equal(parse("p\0\0\0\0\0\x01\0\x02", 9, &m), 0);
	assert_int_equal(m.progress, 0x10002);
	assert_int_equal(parse("p\0\0\0", 4, &m), -PW_E_DB);
	assert_int_equal(parse("x", 1, &m), -PW_E_DB);
	assert_int_equal(parse("", 0, &m), -PW_E_DB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_archives),
	    cmocka_unit_test(test_other_messages),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
