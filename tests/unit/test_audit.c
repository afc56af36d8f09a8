/* test_audit.c - the hash chain detects edited, removed and reordered records. */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/err.h"
#include "common/time.h"

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

/* --expect-head with a prefix: collect each line's hash prefix (32 bits), find two lines that
 * share one (300,000 lines: about ten such pairs by the birthday bound), and check that
 * prefix is refused as ambiguous; a longer prefix of the same record is not. */
struct prefixes {
	unsigned *p;
	char (*full)[65];
	size_t n;
};

static int collect(void *arg, size_t lineno, const char hash[65])
{
	struct prefixes *x = arg;
	(void)lineno;
	x->p[x->n] = (unsigned)strtoul(
	    (char[9]){hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7], 0},
	    NULL, 16);
	memcpy(x->full[x->n], hash, 65);
	x->n++;
	return 0;
}

struct pi {
	unsigned p;
	size_t i;
};

static int cmp_pi(const void *x, const void *y)
{
	const struct pi *a = x, *b = y;
	return a->p < b->p ? -1 : a->p > b->p;
}

static void test_expect_head_prefix(void **state)
{
	(void)state;
	enum { N = 300000 };
	char lp[300];
	snprintf(lp, sizeof lp, "%s/many.log", dir);
	FILE *f = fopen(lp, "w");
	for (int i = 0; i < N; i++)
		fprintf(f, "{\"seq\":%d}\n", i + 1);
	fclose(f);
	struct prefixes x = {calloc(N, sizeof *x.p), calloc(N, sizeof *x.full), 0};
	assert_int_equal(pw_audit_hashes(lp, collect, &x), 0);
	assert_int_equal(x.n, N);
	struct pi *sorted = calloc(N, sizeof *sorted);
	for (size_t i = 0; i < N; i++)
		sorted[i] = (struct pi){x.p[i], i};
	qsort(sorted, N, sizeof *sorted, cmp_pi);
	size_t a = N, b = N;
	for (size_t i = 1; i < N && a == N; i++)
		if (sorted[i].p == sorted[i - 1].p) {
			a = sorted[i - 1].i < sorted[i].i ? sorted[i - 1].i : sorted[i].i;
			b = sorted[i - 1].i < sorted[i].i ? sorted[i].i : sorted[i - 1].i;
		}
	free(sorted);
	assert_true(a < N);
	char pre[9];
	memcpy(pre, x.full[a], 8);
	pre[8] = 0;
	const char *head = x.full[N - 1];
	assert_int_equal(pw_audit_expect_head(lp, pre, head, N), -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_message(), "matches 2 records"));
	pw_error_clear();
	/* the full hash of the later one of the pair names one record, not the head */
	assert_int_equal(pw_audit_expect_head(lp, x.full[b], head, N), -PW_E_AUDIT);
	pw_error_clear();
	/* the head: whole, a 16-digit prefix, upper case */
	assert_int_equal(pw_audit_expect_head(lp, head, head, N), 0);
	char h16[17];
	memcpy(h16, head, 16);
	h16[16] = 0;
	assert_int_equal(pw_audit_expect_head(lp, h16, head, N), 0);
	for (int i = 0; i < 16; i++)
		if (h16[i] >= 'a')
			h16[i] = (char)(h16[i] - 'a' + 'A');
	assert_int_equal(pw_audit_expect_head(lp, h16, head, N), 0);
	/* malformed */
	assert_int_equal(pw_audit_expect_head(lp, "1234567", head, N), -PW_E_CONFIG);
	pw_error_clear();
	assert_int_equal(pw_audit_expect_head(lp, "1234567g", head, N), -PW_E_CONFIG);
	pw_error_clear();
	free(x.p);
	free(x.full);
	unlink(lp);
}

/* A batch (the service's API) is one chained line per record, after and before singles. */
/* a writer that holds the log's lock (stopped, or hung on its disk) makes an append fail
 * after the wait, naming the log; the next append, once it is released, works */
static void test_lock_wait(void **state)
{
	(void)state;
	unlink(path);
	append_n(1);
	int holder = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(holder >= 0);
	assert_int_equal(flock(holder, LOCK_EX), 0);
	int saved = pw_audit_lock_wait_ms;
	pw_audit_lock_wait_ms = 200;
	struct pw_audit_event ev = {.command = "backup", .exit_code = 0};
	double t0 = pw_monotonic();
	assert_int_equal(pw_audit_append(path, &ev), -PW_E_AUDIT);
	double waited = pw_monotonic() - t0;
	assert_true(waited >= 0.19 && waited < 5);
	assert_non_null(strstr(pw_error_message(), "stayed locked by another process"));
	pw_error_clear();
	close(holder); /* releases it */
	assert_int_equal(pw_audit_append(path, &ev), 0);
	pw_audit_lock_wait_ms = saved;
	struct pw_audit_report r;
	assert_int_equal(pw_audit_verify(path, &r), 0);
	assert_int_equal(r.records, 2);
}

static void test_batch(void **state)
{
	(void)state;
	unlink(path);
	append_n(2);
	struct pw_audit_event ev[3];
	json_t *d[3];
	for (int i = 0; i < 3; i++) {
		d[i] = json_pack("{s:i}", "call", i);
		ev[i] =
		    (struct pw_audit_event){.command = "api",
		                            .stanza = i == 1 ? "main" : NULL,
		                            .exit_code = i == 2 ? 5 : 0,
		                            .error = i == 2 ? "no token password=hunter2" : NULL,
		                            .details = d[i]};
	}
	assert_int_equal(pw_audit_append_many(path, ev, 3), 0);
	append_n(1);
	for (int i = 0; i < 3; i++)
		json_decref(d[i]);
	struct pw_audit_report r;
	assert_int_equal(pw_audit_verify(path, &r), 0);
	assert_int_equal(r.records, 6);
	size_t n;
	char **lines = read_lines(&n);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof want, "{\"seq\":%zu,", i + 1);
		assert_non_null(strstr(lines[i], want));
	}
	assert_non_null(strstr(lines[3], "\"command\":\"api\",\"stanza\":\"main\""));
	assert_non_null(strstr(lines[4], "\"outcome\":\"failure\""));
	assert_null(strstr(lines[4], "hunter2")); /* redacted in a batch too */
	/* a batch line edited breaks the chain at the next line */
	lines[3][strlen(lines[3]) - 3] ^= 1;
	write_lines(lines, n);
	assert_int_equal(pw_audit_verify(path, &r), -PW_E_AUDIT);
	assert_int_equal(r.bad_line, 4);
	pw_error_clear();
	free_lines(lines, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_lock_wait),
	    cmocka_unit_test(test_since),
	    cmocka_unit_test(test_expect_head_prefix),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
