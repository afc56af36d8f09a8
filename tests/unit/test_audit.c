/* test_audit.c - the hash chain detects edited, removed and reordered records. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/err.h"

static char dir[] = "/tmp/pgward-test-audit-XXXXXX";
static char path[256];

static void append_n(int n)
{
	for (int i = 0; i < n; i++) {
		json_t *d = json_object();
		json_object_set_new(d, "i", json_integer(i));
		struct pw_audit_event ev = {.command = "encrypt",
		                            .exit_code = i == 2 ? 14 : 0,
		                            .error = i == 2 ? "payload password=hunter2 bad" : NULL,
		                            .details = d};
		assert_int_equal(pw_audit_append(path, &ev), 0);
		json_decref(d);
	}
}

static char **read_lines(size_t *n)
{
	FILE *f = fopen(path, "r");
	char **lines = calloc(64, sizeof *lines);
	char buf[8192];
	*n = 0;
	while (fgets(buf, sizeof buf, f))
		lines[(*n)++] = strdup(buf);
	fclose(f);
	return lines;
}

static void write_lines(char **lines, size_t n)
{
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < n; i++)
		fputs(lines[i], f);
	fclose(f);
}

static void free_lines(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/sub/audit.log", dir);
	return 0;
}

static void test_chain(void **state)
{
	(void)state;
	unlink(path);
	append_n(5);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct pw_audit_report r;
	assert_int_equal(pw_audit_verify(path, &r), 0);
	assert_int_equal(r.records, 5);
	assert_int_equal(strlen(r.head), 64);
	size_t n;
	char **lines = read_lines(&n);
	assert_int_equal(n, 5);
	assert_null(strstr(lines[2], "hunter2")); /* errors are redacted */
	assert_non_null(strstr(lines[2], "\"outcome\":\"failure\""));

	/* edited */
	char *orig = strdup(lines[1]);
	char *p = strstr(lines[1], "encrypt");
	memcpy(p, "decrypt", 7);
	write_lines(lines, n);
	assert_int_equal(pw_audit_verify(path, &r), -PW_E_AUDIT);
	assert_int_equal(r.bad_line, 3);
	free(lines[1]);
	lines[1] = orig;
	/* removed */
	write_lines(lines + 1, n - 1);
	assert_int_equal(pw_audit_verify(path, &r), -PW_E_AUDIT);
	assert_int_equal(r.bad_line, 1);
	char *mid[4] = {lines[0], lines[1], lines[3], lines[4]};
	write_lines(mid, 4);
	assert_int_equal(pw_audit_verify(path, &r), -PW_E_AUDIT);
	assert_int_equal(r.bad_line, 3);
	/* reordered */
	char *re[5] = {lines[0], lines[2], lines[1], lines[3], lines[4]};
	write_lines(re, 5);
	assert_int_equal(pw_audit_verify(path, &r), -PW_E_AUDIT);
	/* restored, then truncated at the end: the chain holds, the head changes */
	write_lines(lines, n);
	assert_int_equal(pw_audit_verify(path, &r), 0);
	char head[65];
	memcpy(head, r.head, 65);
	write_lines(lines, n - 1);
	assert_int_equal(pw_audit_verify(path, &r), 0);
	assert_string_not_equal(head, r.head);
	/* appending continues the chain after a restore */
	write_lines(lines, n);
	append_n(1);
	assert_int_equal(pw_audit_verify(path, &r), 0);
	assert_int_equal(r.records, 6);
	free_lines(lines, n);
}

static void test_since(void **state)
{
	(void)state;
	time_t t;
	assert_int_equal(pw_audit_parse_since("2026-11-22", 0, &t), 0);
	assert_int_equal(t, 1795305600);
	assert_int_equal(pw_audit_parse_since("2026-11-22T01:00:00Z", 0, &t), 0);
	assert_int_equal(t, 1795305600 + 3600);
	assert_int_equal(pw_audit_parse_since("24h", 100000, &t), 0);
	assert_int_equal(t, 100000 - 86400);
	assert_int_equal(pw_audit_parse_since("yesterday", 0, &t), -PW_E_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_since),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
