/* test_walprefetch.c - wal-fetch's prefetch spool: the window of segments a prefetcher
 * keeps (the next N of the served segment's timeline, across a log boundary, never another
 * timeline, never a non-segment name), the spool directory refused when it is a symbolic
 * link, another mode than 0700 or a file, one lock holder at a time, and removal. */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "jobs/walprefetch.h"

#define SEG16 (16u << 20)

static void test_window(void **state)
{
	(void)state;
	char n[25];
	assert_int_equal(walspool_next("000000010000000000000003", SEG16, 1, n), 0);
	assert_string_equal(n, "000000010000000000000004");
	/* 16 MiB segments: 256 a log; FF is the last, then the next log */
	assert_int_equal(walspool_next("0000000100000000000000FE", SEG16, 2, n), 0);
	assert_string_equal(n, "000000010000000100000000");
	assert_int_equal(walspool_next("000000020000000A000000FF", SEG16, 8, n), 0);
	assert_string_equal(n, "000000020000000B00000007");
	/* not a segment name for this size (0x100 is past the last of a 16 MiB log) */
	assert_int_equal(walspool_next("000000010000000000000100", SEG16, 1, n), -PW_E_USAGE);
	assert_int_equal(walspool_next("00000002.history", SEG16, 1, n), -PW_E_USAGE);
	assert_int_equal(walspool_next("000000010000000000000003", 3u << 20, 1, n), -PW_E_USAGE);
	assert_int_equal(walspool_next("000000010000000000000003", SEG16, 0, n), -PW_E_USAGE);
	/* no name past the last segment */
	assert_int_equal(walspool_next("00000001FFFFFFFF000000FF", SEG16, 1, n), -PW_E_USAGE);

	const char *f = "000000010000000000000003";
	assert_true(walspool_wanted("000000010000000000000004", f, SEG16, 8));
	assert_true(walspool_wanted("00000001000000000000000B", f, SEG16, 8));
	assert_false(walspool_wanted("00000001000000000000000C", f, SEG16, 8)); /* past N */
	assert_false(walspool_wanted("000000010000000000000003", f, SEG16, 8)); /* served */
	assert_false(walspool_wanted("000000010000000000000002", f, SEG16, 8)); /* behind */
	assert_false(walspool_wanted("000000020000000000000004", f, SEG16, 8)); /* timeline */
	assert_false(walspool_wanted("000000010000000000000004.tmp", f, SEG16, 8));
	assert_false(walspool_wanted("00000001000000000000000a", f, SEG16, 8)); /* lowercase */
	assert_false(walspool_wanted("lock", f, SEG16, 8));
	assert_false(walspool_wanted("../000000010000000000000004", f, SEG16, 8));
}

static void test_spool_dir(void **state)
{
	(void)state;
	char base[] = "/tmp/pgward-spool-XXXXXX", p[128], q[256];
	assert_non_null(mkdtemp(base));
	snprintf(p, sizeof p, "%s/spool", base);
	int dfd, lk, lk2;
	/* missing, not to be made */
	assert_int_equal(walspool_open(p, false, &dfd), -PW_E_NOTFOUND);
	pw_error_clear();
	/* made 0700 */
	assert_int_equal(walspool_open(p, true, &dfd), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* one lock holder */
	assert_int_equal(walspool_lock(dfd, &lk), 1);
	assert_int_equal(walspool_lock(dfd, &lk2), 0);
	close(lk);
	assert_int_equal(walspool_lock(dfd, &lk2), 1);
	close(lk2);
	close(dfd);
	/* open to others: refused */
	assert_int_equal(chmod(p, 0750), 0);
	assert_int_equal(walspool_open(p, true, &dfd), -PW_E_INSECURE);
	pw_error_clear();
	assert_int_equal(chmod(p, 0700), 0);
	/* a symbolic link to a directory of ours: refused, never followed */
	snprintf(q, sizeof q, "%s/link", base);
	assert_int_equal(symlink(p, q), 0);
	assert_int_equal(walspool_open(q, true, &dfd), -PW_E_INSECURE);
	pw_error_clear();
	unlink(q);
	/* a file in its place */
	int fd = open(q, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(walspool_open(q, true, &dfd), -PW_E_INSECURE);
	pw_error_clear();
	unlink(q);
	/* removal: everything in it, then the directory; a missing one is fine */
	snprintf(q, sizeof q, "%s/000000010000000000000004", p);
	fd = open(q, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(walspool_remove(p, 1), 0);
	assert_int_not_equal(access(p, F_OK), 0);
	assert_int_equal(walspool_remove(p, 1), 0);
	assert_int_equal(rmdir(base), 0);
}

/* redteam: what the server's own user (or a stale prefetcher) may leave in the spool never
 * hangs wal-fetch or restore's cleanup, and a second link is never served nor followed:
 * a hard link to a file elsewhere is refused before the repository is asked (repo NULL),
 * and only its name in the spool goes; a FIFO named like a segment, "asked", "lock" or
 * "stop" is opened without waiting for a writer or a reader. An alarm ends a hang. */
static void test_spool_planted(void **state)
{
	(void)state;
	char base[] = "/tmp/pgward-spool-XXXXXX", p[128], q[256], out[256];
	assert_non_null(mkdtemp(base));
	snprintf(p, sizeof p, "%s/spool", base);
	snprintf(out, sizeof out, "%s/RECOVERYXLOG", base);
	int dfd;
	uint32_t segsize = 0;
	const char *f = "000000010000000000000004";
	assert_int_equal(walspool_open(p, true, &dfd), 0);
	alarm(20);
	/* a hard link to a file of ours outside the spool */
	snprintf(q, sizeof q, "%s/elsewhere", base);
	int fd = open(q, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	char in[256];
	snprintf(in, sizeof in, "%s/%s", p, f);
	assert_int_equal(link(q, in), 0);
	assert_int_equal(walspool_take(dfd, NULL, "s", f, "k", 1, NULL, out, &segsize), 1);
	assert_int_not_equal(access(out, F_OK), 0); /* nothing served */
	assert_int_not_equal(access(in, F_OK), 0);  /* the spool's name removed */
	assert_int_equal(access(q, F_OK), 0);       /* the file elsewhere untouched */
	/* a FIFO named like the segment */
	assert_int_equal(mkfifo(in, 0600), 0);
	assert_int_equal(walspool_take(dfd, NULL, "s", f, "k", 1, NULL, out, &segsize), 1);
	assert_int_not_equal(access(out, F_OK), 0);
	unlink(in);
	/* a FIFO as the lock while a temporary file says the segment is being written */
	snprintf(q, sizeof q, "%s/lock", p);
	assert_int_equal(mkfifo(q, 0600), 0);
	snprintf(q, sizeof q, "%s/%s.tmp", p, f);
	fd = open(q, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(walspool_take(dfd, NULL, "s", f, "k", 1, NULL, out, &segsize), 1);
	int lk;
	assert_int_equal(walspool_lock(dfd, &lk), 0); /* not a file: no prefetcher */
	/* a FIFO as the hint */
	snprintf(q, sizeof q, "%s/asked", p);
	assert_int_equal(mkfifo(q, 0600), 0);
	walspool_hint(dfd, f);
	/* a FIFO as the stop request: removal still ends */
	snprintf(q, sizeof q, "%s/stop", p);
	assert_int_equal(mkfifo(q, 0600), 0);
	close(dfd);
	assert_int_equal(walspool_remove(p, 1), 0);
	alarm(0);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(q, sizeof q, "%s/elsewhere", base);
	unlink(q);
	assert_int_equal(rmdir(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_spool_dir),
	    cmocka_unit_test(test_spool_planted),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
