/* test_common.c - errors, capped buffers, encodings, secrets and redaction, strings. */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/assert.h"
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

/* pw_buf_reserve: exactly what is asked (no doubling), nothing past the cap, appends within
 * it do not move the data */
static void test_buf_reserve(void **state)
{
	(void)state;
	struct pw_buf b = PW_BUF_INIT(1000);
	assert_int_equal(pw_buf_append(&b, "ab", 2), 0);
	assert_int_equal(pw_buf_reserve(&b, 700), 0);
	assert_int_equal(b.cap, 2 + 700 + 1);
	uint8_t *p = b.data;
	uint8_t z[700] = {0};
	assert_int_equal(pw_buf_append(&b, z, sizeof z), 0);
	assert_ptr_equal(b.data, p);
	assert_int_equal(b.len, 702);
	assert_int_equal(b.data[702], 0);
	assert_int_equal(pw_buf_reserve(&b, 10), 0); /* within the cap of 1000 */
	assert_int_equal(pw_buf_reserve(&b, 299), -PW_E_LIMIT);
	pw_error_clear();
	assert_int_equal(pw_buf_reserve(&b, SIZE_MAX), -PW_E_LIMIT);
	pw_error_clear();
	assert_int_equal(b.len, 702);
	pw_buf_free(&b, 1);
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

/* PW_CHECK: in every build, a false condition records file:line and returns INTERNAL. */
static int checked(int x)
{
	PW_CHECK(x > 0);
	return 0;
}

static void test_check(void **state)
{
	(void)state;
	pw_error_clear();
	assert_int_equal(checked(1), 0);
	assert_int_equal(pw_error_code(), 0);
	assert_int_equal(checked(0), -PW_E_INTERNAL);
	assert_non_null(strstr(pw_error_message(), "internal check failed: x > 0 ("));
	assert_non_null(strstr(pw_error_message(), "test_common.c:"));
	pw_error_clear();
}

/* PW_ASSERT in this (debug) build: a false condition aborts, after saying where. */
static void test_assert_debug(void **state)
{
	(void)state;
#ifdef NDEBUG
	skip();
#else
	int n = 0;
	PW_ASSERT(++n == 1); /* evaluated in a debug build */
	assert_int_equal(n, 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		PW_ASSERT(n == 2);
		_exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
#endif
}

static void test_str_error(void **state)
{
	(void)state;
	assert_string_equal(pw_strerror(ENOENT), "No such file or directory");
	char b[8];
	assert_non_null(pw_strerror_r(EACCES, b, sizeof b));
}

static char logged[512];
static enum pw_log_level logged_level;
static void capture(enum pw_log_level level, const char *line)
{
	logged_level = level;
	pw_strlcpy(logged, line, sizeof logged);
}

/* A named best-effort call says what it swallowed, at the level asked, and clears it. */
static void test_best_effort(void **state)
{
	(void)state;
	pw_log_set_sink(capture);
	enum pw_log_level was = pw_log_get_level();
	pw_log_set_level(PW_LOG_DEBUG);
	logged[0] = 0;
	pw_best_effort("nothing failed");
	assert_string_equal(logged, ""); /* no error recorded: no line */
	pw_error(PW_E_NOTFOUND, "object \"k\" not found");
	pw_best_effort("removing \"%s\"", "k");
	assert_int_equal(pw_error_code(), 0);
	assert_int_equal(logged_level, PW_LOG_DEBUG);
	assert_non_null(strstr(logged, "removing \"k\" failed (going on): object \"k\" not found"));
	pw_error(PW_E_STORAGE, "HTTP 500");
	pw_best_effort_warn("aborting upload %d", 7);
	assert_int_equal(pw_error_code(), 0);
	assert_int_equal(logged_level, PW_LOG_WARN);
	assert_non_null(strstr(logged, "aborting upload 7 failed (going on): HTTP 500"));
	pw_log_set_level(was);
	pw_log_set_sink(NULL);
}

static void test_assert_release(void **state);

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_record),   cmocka_unit_test(test_buf_cap),
	    cmocka_unit_test(test_buf_reserve),    cmocka_unit_test(test_base64_strict),
	    cmocka_unit_test(test_redaction),      cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_check),          cmocka_unit_test(test_assert_debug),
	    cmocka_unit_test(test_assert_release), cmocka_unit_test(test_str_error),
	    cmocka_unit_test(test_best_effort),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}

/* PW_ASSERT in a release build (NDEBUG, as common/assert.h is included again): nothing, and
 * the condition is not evaluated. Last in the file: it changes PW_ASSERT from here on. */
#ifndef NDEBUG
#define NDEBUG
#endif
#include "common/assert.h"

static void test_assert_release(void **state)
{
	(void)state;
	int n = 0;
	PW_ASSERT(++n == 5);
	PW_ASSERT(0);
	assert_int_equal(n, 0);
}
