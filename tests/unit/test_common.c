/* test_common.c - errors, capped buffers, encodings, secrets and redaction, strings. */
#include "support.h"

#include <string.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/secret.h"
#include "common/str.h"

static void test_error_record(void **state)
{
	(void)state;
	assert_int_equal(pw_error(PW_E_CONFIG, "bad \"%s\"", "x"), -PW_E_CONFIG);
	assert_int_equal(pw_error_hint("Fix %d.", 1), -PW_E_CONFIG);
	assert_int_equal(pw_error_context("reading %s", "f"), -PW_E_CONFIG);
	assert_string_equal(pw_error_message(), "reading f: bad \"x\"");
	assert_string_equal(pw_error_hint_text(), "Fix 1.");
	assert_int_equal(pw_error_code(), 3);
	assert_string_equal(pw_errcode_name(PW_E_AGE_PAYLOAD), "AGE_PAYLOAD");
	assert_null(pw_errcode_name(250));
	/* codes are unique and fit an exit status */
	int code, c2;
	const char *n, *s, *n2, *s2;
	for (size_t i = 0; pw_errcode_at(i, &code, &n, &s) == 0; i++) {
		assert_true(code >= 0 && code < 256);
		for (size_t j = i + 1; pw_errcode_at(j, &c2, &n2, &s2) == 0; j++)
			assert_int_not_equal(code, c2);
	}
	pw_error_clear();
	assert_int_equal(pw_error_code(), 0);
}

static void test_buf_cap(void **state)
{
	(void)state;
	struct pw_buf b = PW_BUF_INIT(10);
	assert_int_equal(pw_buf_append(&b, "hello", 5), 0);
	assert_int_equal(pw_buf_printf(&b, "%d", 12345), 0);
	assert_string_equal(pw_buf_str(&b), "hello12345");
	assert_int_equal(pw_buf_putc(&b, 'x'), -PW_E_LIMIT);
	assert_int_equal(b.len, 10);
	pw_buf_consume(&b, 5);
	assert_string_equal(pw_buf_str(&b), "12345");
	pw_buf_free(&b, 1);
	assert_null(b.data);
}

static void test_base64_strict(void **state)
{
	(void)state;
	uint8_t out[64];
	char enc[64];
	assert_int_equal(pw_b64_encode((const uint8_t *)"ab", 2, enc, false), 3);
	assert_string_equal(enc, "YWI");
	assert_int_equal(pw_b64_encode((const uint8_t *)"ab", 2, enc, true), 4);
	assert_string_equal(enc, "YWI=");
	assert_int_equal(pw_b64_decode("YWI", 3, out, sizeof out, false), 2);
	assert_int_equal(pw_b64_decode("YWI=", 4, out, sizeof out, true), 2);
	assert_int_equal(pw_b64_decode("YWI=", 4, out, sizeof out, false), -1); /* padding */
	assert_int_equal(pw_b64_decode("YWJ", 3, out, sizeof out, false), -1);  /* non-canonical */
	assert_int_equal(pw_b64_decode("YWI", 3, out, sizeof out, true), -1);   /* missing pad */
	assert_int_equal(pw_b64_decode("Y", 1, out, sizeof out, false), -1);
	assert_int_equal(pw_b64_decode("YW I", 4, out, sizeof out, false), -1);
	assert_int_equal(pw_b64_decode("YW=I", 4, out, sizeof out, true), -1);
	assert_int_equal(pw_b64_decode("YWJj", 4, out, 2, false), -1); /* does not fit */
	uint8_t h[2];
	assert_int_equal(pw_hex_decode("0aFf", 4, h, 2), 0);
	assert_int_equal(h[0], 0x0a);
	assert_int_equal(h[1], 0xff);
	assert_int_equal(pw_hex_decode("0g", 2, h, 1), -1);
}

static void test_redaction(void **state)
{
	(void)state;
	struct pw_secret *s = pw_secret_from_str("hunter22secret");
	char *r = pw_redact("token hunter22secret here");
	assert_string_equal(r, "token ******** here");
	pw_free(r);
	pw_secret_free(s);
	r = pw_redact("token hunter22secret here");
	assert_string_equal(r, "token hunter22secret here"); /* freed secrets are forgotten */
	pw_free(r);
	r = pw_redact("host=db password=s3cr3t user=x");
	assert_string_equal(r, "host=db password=******** user=x");
	pw_free(r);
	r = pw_redact("host=db password = 'a b\\'c' user=x");
	assert_null(strstr(r, "a b"));
	assert_non_null(strstr(r, "user=x"));
	pw_free(r);
	r = pw_redact("postgresql://alice:pa%40ss@db.example:5432/app?sslmode=verify-full");
	assert_string_equal(r,
	                    "postgresql://alice:********@db.example:5432/app?sslmode=verify-full");
	pw_free(r);
	r = pw_redact("key PWSK-1:RWS70fMOc8P+ec/HZ== end");
	assert_string_equal(r, "key PWSK-1:******** end");
	pw_free(r);
	r = pw_redact("postgresql://alice@db/app");
	assert_string_equal(r, "postgresql://alice@db/app");
	pw_free(r);
	r = pw_redact("key AGE-SECRET-KEY-1QQQQQQ9 end");
	assert_string_equal(r, "key AGE-SECRET-KEY-1******** end");
	pw_free(r);
}

static void test_strings(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(pw_parse_u64("0", &v), 0);
	assert_int_equal(pw_parse_u64("18446744073709551615", &v), 0);
	assert_int_equal(pw_parse_u64("18446744073709551616", &v), -1);
	assert_int_equal(pw_parse_u64("012", &v), -1);
	assert_int_equal(pw_parse_u64("-1", &v), -1);
	assert_int_equal(pw_parse_u64("", &v), -1);
	assert_int_equal(pw_parse_size("16MiB", &v), 0);
	assert_int_equal(v, 16u << 20);
	assert_int_equal(pw_parse_size("50MB", &v), 0);
	assert_int_equal(v, 50u << 20);
	assert_int_equal(pw_parse_size("7", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pw_parse_size("7X", &v), -1);
	assert_int_equal(pw_parse_size("MB", &v), -1);
	bool b;
	assert_int_equal(pw_parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(pw_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(pw_parse_bool("maybe", &b), -1);
	char t[] = "  x y \t\n";
	assert_string_equal(pw_trim(t), "x y");
	char d[4];
	assert_int_equal(pw_strlcpy(d, "abcdef", sizeof d), 6);
	assert_string_equal(d, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_record),  cmocka_unit_test(test_buf_cap),
	    cmocka_unit_test(test_base64_strict), cmocka_unit_test(test_redaction),
	    cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
