/* test_time.c - UTC timestamps: every form round-trips, odd input is refused, the clock can be set. */
#include "support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/time.h"

static void test_format(void **state)
{
	(void)state;
	char b[PW_TIME_MAX];
	assert_string_equal(pw_time_format(0, PW_TIME_ISO, b), "1970-01-01T00:00:00Z");
	assert_string_equal(pw_time_format(1796499841, PW_TIME_ISO, b), "2026-12-05T19:44:01Z");
	assert_string_equal(pw_time_format(1796499841, PW_TIME_COMPACT, b), "20261205T194401Z");
	assert_string_equal(pw_time_format(1796499841, PW_TIME_DATE, b), "2026-12-05");
	assert_string_equal(pw_time_format(1796499841, PW_TIME_DATE_COMPACT, b), "20261205");
}

static void test_round_trip(void **state)
{
	(void)state;
	char b[PW_TIME_MAX];
	uint64_t x = 7; /* xorshift64: reproducible, and rand is banned (banned.h) */
	/* every form, against the C library's own conversion, over 1970..2200 and leap days */
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		time_t t = (time_t)(x % 7258118400UL);
		if (i < 4)
			t = (time_t[]){951782400, 951868799, 4107542400, 1709164800}[i];
		time_t back;
		for (int f = PW_TIME_ISO; f <= PW_TIME_COMPACT; f++) {
			pw_time_format(t, (enum pw_time_form)f, b);
			assert_int_equal(pw_time_parse(b, (enum pw_time_form)f, false, &back, NULL),
			                 0);
			assert_int_equal((long long)back, (long long)t);
		}
		struct tm tm;
		gmtime_r(&t, &tm);
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		pw_time_format(t, PW_TIME_DATE, b);
		assert_int_equal(pw_time_parse(b, PW_TIME_DATE, false, &back, NULL), 0);
		assert_int_equal((long long)back, (long long)timegm(&tm));
	}
}

static void test_lenient_forms(void **state)
{
	(void)state;
	time_t t;
	const char *end;
	/* S3 and STS write fractions and leave out the Z */
	assert_int_equal(pw_time_parse("2026-12-06T19:44:01.123Z", PW_TIME_ISO, false, &t, NULL),
	                 0);
	assert_int_equal((long long)t, 1796586241);
	assert_int_equal(pw_time_parse("2026-12-06T19:44:01", PW_TIME_ISO, false, &t, NULL), 0);
	assert_int_equal(pw_time_parse("2026-12-06", PW_TIME_ISO, true, &t, NULL), 0);
	assert_int_equal((long long)t, 1796515200);
	/* a backup id: the time, then its suffix */
	assert_int_equal(pw_time_parse("20261206T194401Z-1a2b", PW_TIME_COMPACT, false, &t, &end),
	                 0);
	assert_string_equal(end, "-1a2b");
	assert_int_equal(pw_time_parse_http("Sun, 06 Dec 2026 19:44:01 GMT", &t), 0);
	assert_int_equal((long long)t, 1796586241);
}

static void test_refusals(void **state)
{
	(void)state;
	time_t t = 42;
	const char *bad[] = {"",
	                     "2026-02-30T00:00:00Z",
	                     "2025-02-29T00:00:00Z",
	                     "2026-13-01T00:00:00Z",
	                     "2026-12-06T24:00:00Z",
	                     "2026-12-06T23:60:00Z",
	                     "2026-12-06T23:59:60Z",
	                     "1969-12-31T23:59:59Z",
	                     "2026-12-06 19:44:01Z",
	                     "2026-12-06T19:44:01Zjunk",
	                     "2026-12-06T19:44:01.Z",
	                     "+026-12-06T19:44:01Z",
	                     "2026-1-06T19:44:01Z",
	                     "2026-12-06",
	                     "20261206T194401Z"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(pw_time_parse(bad[i], PW_TIME_ISO, false, &t, NULL), -PW_E_CONFIG);
	assert_int_equal(pw_time_parse(NULL, PW_TIME_ISO, true, &t, NULL), -PW_E_CONFIG);
	assert_int_equal(pw_time_parse("20261206T194401", PW_TIME_COMPACT, false, &t, NULL),
	                 -PW_E_CONFIG);
	assert_int_equal(pw_time_parse("2026-12-06T19:44:01Z", PW_TIME_COMPACT, false, &t, NULL),
	                 -PW_E_CONFIG);
	assert_int_equal(pw_time_parse_http("Sun, 06 Dex 2026 19:44:01 GMT", &t), -PW_E_CONFIG);
	assert_int_equal(pw_time_parse_http("Sun, 06 Dec 2026 19:44:01 UTC", &t), -PW_E_CONFIG);
	assert_int_equal((long long)t, 42); /* untouched on failure */
}

static time_t fixed(void)
{
	return 1234567890;
}

static void test_fields(void **state)
{
	(void)state;
	time_t t;
	assert_int_equal(pw_time_parse("2026-12-06T19:44:01Z", PW_TIME_ISO, false, &t, NULL), 0);
	struct tm tm;
	pw_time_fields(t, &tm);
	assert_int_equal(tm.tm_year, 126);
	assert_int_equal(tm.tm_mon, 11);
	assert_int_equal(tm.tm_mday, 6);
	assert_int_equal(tm.tm_hour, 19);
	time_t back;
	assert_int_equal(pw_time_from_fields(&tm, &back), 0);
	assert_int_equal((long long)back, (long long)t);
	/* fields that name no instant are refused, not normalized */
	struct tm bad = {.tm_year = 126, .tm_mon = 1, .tm_mday = 30};
	assert_int_equal(pw_time_from_fields(&bad, &back), -PW_E_CONFIG);
	bad = (struct tm){.tm_year = 126, .tm_mon = 0, .tm_mday = 1, .tm_hour = 24};
	assert_int_equal(pw_time_from_fields(&bad, &back), -PW_E_CONFIG);
	/* ISO weeks: 2026-12-06 is a Sunday in week 49; 2027-01-01 is in 2026's week 53 */
	assert_int_equal(pw_time_iso_week(t), 202649);
	assert_int_equal(pw_time_parse("2027-01-01", PW_TIME_DATE, false, &t, NULL), 0);
	assert_int_equal(pw_time_iso_week(t), 202653);
	assert_int_equal(pw_time_parse("2024-12-30", PW_TIME_DATE, false, &t, NULL), 0);
	assert_int_equal(pw_time_iso_week(t), 202501);
}

static void test_clock(void **state)
{
	(void)state;
	pw_clock_set(fixed);
	assert_int_equal((long long)pw_now(), 1234567890);
	pw_clock_set(NULL);
	assert_true(pw_now() > 1234567890);
	double a = pw_monotonic(), b = pw_monotonic();
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),        cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_lenient_forms), cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_clock),         cmocka_unit_test(test_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
