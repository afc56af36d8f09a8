/* test_safefile.c - the safe writer and trusted reads (common/safefile.h), as an attacker
 * with a planted name would meet them: FIFOs, links, hard links, writable directories. */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/safefile.h"

static char dir[256];

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void put(const char *name, const char *text, mode_t mode)
{
	char p[512];
	path(p, sizeof p, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static int write_text(const char *p, const char *text, unsigned flags)
{
	struct pw_safefile *f;
	int rc = pw_safefile_open(&f, p, 0600, flags);
	if (rc < 0)
		return rc;
	rc = pw_write_all(pw_safefile_fd(f), text, strlen(text), p);
	if (rc == 0)
		rc = pw_safefile_commit(f);
	pw_safefile_free(f);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	umask(022);
	snprintf(dir, sizeof dir, "/tmp/pgward-safefile-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s", dir);
	/* the few names the tests make */
	const char *names[] = {"new", "old",  "fifo", "link",     "hard",   "hard2",   "sub/x",
	                       "sub", "excl", "cfg",  "sticky/x", "sticky", "dlink/y", "dlink"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char p[512];
		path(p, sizeof p, names[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	rmdir(cmd);
	return 0;
}

static void test_write_new_and_replace(void **state)
{
	(void)state;
	char p[512];
	path(p, sizeof p, "new");
	assert_int_equal(write_text(p, "one", 0), 0);
	assert_int_equal(write_text(p, "two", 0), 0);
	struct pw_buf b = PW_BUF_INIT(100);
	assert_int_equal(pw_read_file(p, &b), 0);
	assert_memory_equal(b.data, "two", 3);
	pw_buf_free(&b, 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* exclusive never replaces */
	assert_int_equal(write_text(p, "three", PW_SAFE_EXCLUSIVE), -PW_E_EXISTS);
	path(p, sizeof p, "excl");
	assert_int_equal(write_text(p, "x", PW_SAFE_EXCLUSIVE), 0);
}

static void test_refuses_fifo_link_hardlink(void **state)
{
	(void)state;
	char p[512], t[512];
	path(p, sizeof p, "fifo");
	assert_int_equal(mkfifo(p, 0666), 0);
	assert_int_equal(write_text(p, "secret", 0), -PW_E_INSECURE); /* and does not block */
	put("old", "victim", 0644);
	path(t, sizeof t, "old");
	path(p, sizeof p, "link");
	assert_int_equal(symlink(t, p), 0);
	assert_int_equal(write_text(p, "secret", 0), -PW_E_INSECURE);
	assert_non_null(strstr(pw_error_message(), "symbolic link"));
	path(p, sizeof p, "hard");
	assert_int_equal(link(t, p), 0);
	assert_int_equal(write_text(p, "secret", 0), -PW_E_INSECURE);
	assert_non_null(strstr(pw_error_message(), "hard links"));
	struct pw_buf b = PW_BUF_INIT(100);
	assert_int_equal(pw_read_file(t, &b), 0);
	assert_memory_equal(b.data, "victim", 6);
	pw_buf_free(&b, 0);
	pw_error_clear();
}

static void test_directories(void **state)
{
	(void)state;
	char p[512], d[512];
	/* a world-writable directory without the sticky bit: anyone could swap names */
	path(d, sizeof d, "sub");
	assert_int_equal(mkdir(d, 0700), 0);
	chmod(d, 0777);
	path(p, sizeof p, "sub/x");
	assert_int_equal(write_text(p, "x", 0), -PW_E_INSECURE);
	assert_non_null(strstr(pw_error_message(), "writable by other users"));
	/* sticky and world-writable (like /tmp): a fresh name is fine */
	path(d, sizeof d, "sticky");
	assert_int_equal(mkdir(d, 0700), 0);
	chmod(d, 01777);
	path(p, sizeof p, "sticky/x");
	assert_int_equal(write_text(p, "x", 0), 0);
	/* a link to a directory, in a trusted directory: followed, and checked on the way */
	path(d, sizeof d, "dlink");
	assert_int_equal(symlink(dir, d), 0);
	path(p, sizeof p, "dlink/y");
	assert_int_equal(write_text(p, "y", 0), 0);
	path(p, sizeof p, "y");
	assert_int_equal(unlink(p), 0);
	pw_error_clear();
}

static void test_trusted_read(void **state)
{
	(void)state;
	char p[512];
	struct pw_buf b = PW_BUF_INIT(100);
	put("cfg", "a = b\n", 0644);
	path(p, sizeof p, "cfg");
	assert_int_equal(pw_trusted_read(p, "configuration file", 0, &b), 0);
	assert_int_equal(pw_trusted_read(p, "identity file", PW_TRUST_SECRET, &b), -PW_E_INSECURE);
	chmod(p, 0666);
	assert_int_equal(pw_trusted_read(p, "configuration file", 0, &b), -PW_E_INSECURE);
	assert_non_null(strstr(pw_error_hint_text(), "chmod go-w"));
	path(p, sizeof p, "fifo");
	assert_int_equal(pw_trusted_read(p, "configuration file", 0, &b), -PW_E_IO);
	path(p, sizeof p, "link");
	assert_int_equal(pw_trusted_read(p, "configuration file", 0, &b), -PW_E_INSECURE);
	int fd;
	path(p, sizeof p, "missing");
	assert_int_equal(pw_trusted_open(p, "x", PW_TRUST_MISSING, &fd), 0);
	assert_int_equal(fd, -1);
	pw_buf_free(&b, 0);
	pw_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_new_and_replace),
	    cmocka_unit_test(test_refuses_fifo_link_hardlink),
	    cmocka_unit_test(test_directories),
	    cmocka_unit_test(test_trusted_read),
	};
	setup(NULL);
	int rc = cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
	teardown(NULL);
	return rc;
}
