/* test_pitr.c - point-in-time recovery's pure parts: recovery targets parsed strictly (UTC
 * only, as PostgreSQL reads them back), restore_command quoted for sh and PostgreSQL's %
 * expansion, control characters refused, and the settings appended to a restored
 * directory's postgresql.auto.conf (its lines kept, one target). */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "jobs/pitr.h"

static void test_targets(void **state)
{
	(void)state;
	struct pitr_target t;
	assert_int_equal(pitr_target_parse(PITR_TIME, "2026-12-07 01:50:00.25+00", &t), 0);
	assert_string_equal(t.value, "2026-12-07 01:50:00.25+00");
	assert_int_equal(pitr_target_parse(PITR_TIME, "2026-12-07T01:50:00Z", &t), 0);
	assert_string_equal(t.value, "2026-12-07 01:50:00+00");
	time_t a = t.time;
	assert_int_equal(pitr_target_parse(PITR_TIME, "2026-12-07T01:50:00.999999", &t), 0);
	assert_int_equal(t.time, a); /* whole seconds */
	const char *bad_times[] = {"2026-12-07 01:50:00+02",
	                           "2026-12-07 01:50:00.+00",
	                           "2026-12-07 01:50:00'; x",
	                           "2026-13-07 01:50:00",
	                           "2026-12-07",
	                           "yesterday",
	                           "2026-12-07 01:50:00 PST"};
	for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++) {
		assert_int_equal(pitr_target_parse(PITR_TIME, bad_times[i], &t), -PW_E_USAGE);
		pw_error_clear();
	}
	assert_int_equal(pitr_target_parse(PITR_LSN, "0/5047bd8", &t), 0);
	assert_string_equal(t.value, "0/5047BD8");
	assert_int_equal(t.lsn, 0x5047BD8);
	assert_int_equal(pitr_target_parse(PITR_LSN, "0/0", &t), -PW_E_USAGE);
	pw_error_clear();
	assert_int_equal(pitr_target_parse(PITR_LSN, "0/5'", &t), -PW_E_USAGE);
	pw_error_clear();
	assert_int_equal(pitr_target_parse(PITR_XID, "1234", &t), 0);
	assert_int_equal(pitr_target_parse(PITR_XID, "4294967296", &t), -PW_E_USAGE);
	pw_error_clear();
	assert_int_equal(pitr_target_parse(PITR_NAME, "it's a point", &t), 0);
	assert_int_equal(pitr_target_parse(PITR_NAME, "a\nrecovery_target_xid = 3", &t),
	                 -PW_E_USAGE);
	pw_error_clear();
	char longname[80];
	memset(longname, 'n', 64);
	longname[64] = 0;
	assert_int_equal(pitr_target_parse(PITR_NAME, longname, &t), -PW_E_USAGE);
	pw_error_clear();
	/* the base must have ended before the target */
	struct manifest m = {.finished = 1000};
	m.physical.stop_lsn = 0x500;
	t.kind = PITR_TIME, t.time = 999;
	assert_false(pitr_base_before(&m, &t));
	t.time = 1000;
	assert_true(pitr_base_before(&m, &t));
	t.kind = PITR_LSN, t.lsn = 0x4FF;
	assert_false(pitr_base_before(&m, &t));
	t.kind = PITR_NAME;
	assert_true(pitr_base_before(&m, &t));
}

static void test_restore_command(void **state)
{
	(void)state;
	struct pw_buf b = PW_BUF_INIT(4096);
	const char *argv[] = {"/usr/bin/pgward",
	                      "wal-fetch",
	                      "shop",
	                      "%f",
	                      "%p",
	                      "--config",
	                      "/etc/we ird'cfg %p/x$(id).conf"};
	assert_int_equal(pitr_restore_command(argv, 7, &b), 0);
	assert_string_equal(pw_buf_str(&b), "'/usr/bin/pgward' 'wal-fetch' 'shop' %f %p '--config' "
	                                    "'/etc/we ird'\\''cfg %%p/x$(id).conf'");
	pw_buf_free(&b, 0);
	struct pw_buf c = PW_BUF_INIT(4096);
	const char *nl[] = {"/usr/bin/pgward", "/x\nrecovery_target_xid = '3'"};
	assert_int_equal(pitr_restore_command(nl, 2, &c), -PW_E_USAGE);
	pw_error_clear();
	pw_buf_free(&c, 0);
}

static void test_settings(void **state)
{
	(void)state;
	char dir[] = "/tmp/pgward-pitr-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	/* the source's own commands (a superuser's ALTER SYSTEM) must not run on the restore host */
	fputs("work_mem = '5MB'\nrecovery_target_xid = '77'\n"
	      "recovery_end_command = 'touch /tmp/pwned'\narchive_cleanup_command = 'id'\n",
	      f);
	fclose(f);
	struct pitr_target t = {0};
	assert_int_equal(pitr_target_parse(PITR_NAME, "it's", &t), 0);
	t.action = PITR_PROMOTE;
	assert_int_equal(pitr_write_settings(dir, &t, "'/p' 'a\\b' 'c'\\''d'", 0), 0);
	struct pw_buf b = PW_BUF_INIT(1 << 16);
	assert_int_equal(pw_read_file(path, &b), 0);
	const char *s = pw_buf_str(&b);
	assert_non_null(strstr(s, "work_mem = '5MB'\nrecovery_target_xid = '77'\n"));
	assert_non_null(strstr(s, "restore_command = '''/p'' ''a\\\\b'' ''c''\\\\''''d'' "));
	/* the prefetch spool, named by its absolute path, in pg_wal */
	char want[512];
	snprintf(want, sizeof want, " ''--wal-spool'' ''%s/pg_wal/pgward-prefetch'''\n", dir);
	assert_non_null(strstr(s, want));
	/* the source's target emptied after it, ours last */
	const char *x = strstr(s, "recovery_target_xid = ''\n");
	assert_non_null(x);
	assert_true(x > strstr(s, "recovery_target_xid = '77'"));
	assert_non_null(strstr(s, "recovery_target_name = 'it''s'\n"));
	assert_non_null(strstr(s, "recovery_target_action = 'promote'\n"));
	assert_non_null(strstr(s, "recovery_target_timeline = 'latest'\n"));
	assert_null(strstr(s, "port ="));
	x = strstr(s, "recovery_end_command = ''\n");
	assert_non_null(x);
	assert_true(x > strstr(s, "recovery_end_command = 'touch"));
	x = strstr(s, "archive_cleanup_command = ''\n");
	assert_non_null(x);
	assert_true(x > strstr(s, "archive_cleanup_command = 'id'"));
	pw_buf_free(&b, 0);
	snprintf(path, sizeof path, "%s/recovery.signal", dir);
	assert_int_equal(access(path, F_OK), 0);
	/* twice: recovery.signal exists, refused (nothing is overwritten) */
	assert_true(pitr_write_settings(dir, &t, "x", 0) < 0);
	pw_error_clear();
	unlink(path);
	snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
	unlink(path);
	/* a link in its place is refused */
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_true(pitr_write_settings(dir, &t, "x", 0) < 0);
	pw_error_clear();
	unlink(path);
	snprintf(path, sizeof path, "%s/recovery.signal", dir);
	unlink(path);
	rmdir(dir);
	/* restore --start: the directory is a setting's value; a line break in its name would
	 * inject a line (recovery_end_command) into postgresql.auto.conf */
	char evil[128];
	snprintf(evil, sizeof evil, "%s\nrecovery_end_command = 'id'\n#", dir);
	assert_int_equal(mkdir(evil, 0700), 0);
	assert_int_equal(pitr_write_settings(evil, &t, "x", 5432), -PW_E_USAGE);
	pw_error_clear();
	snprintf(path, sizeof path, "%s/postgresql.auto.conf", evil);
	assert_int_not_equal(access(path, F_OK), 0);
	rmdir(evil);
	/* restore --start runs the server unattended: none of the source's libraries */
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(pitr_write_settings(dir, &t, "x", 5432), 0);
	snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
	struct pw_buf c = PW_BUF_INIT(1 << 16);
	assert_int_equal(pw_read_file(path, &c), 0);
	s = pw_buf_str(&c);
	assert_non_null(strstr(s, "port = 5432\n"));
	assert_non_null(strstr(s, "shared_preload_libraries = ''\n"));
	assert_non_null(strstr(s, "session_preload_libraries = ''\n"));
	assert_non_null(strstr(s, "local_preload_libraries = ''\n"));
	assert_non_null(strstr(s, "dynamic_library_path = '$libdir'\n"));
	assert_non_null(strstr(s, "jit = 'off'\n"));
	assert_non_null(strstr(s, "external_pid_file = ''\n"));
	pw_buf_free(&c, 0);
	static const char *const made[] = {"postgresql.auto.conf", "postgresql.conf", "pg_hba.conf",
	                                   "recovery.signal"};
	for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, made[i]);
		unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_targets),
	    cmocka_unit_test(test_restore_command),
	    cmocka_unit_test(test_settings),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
