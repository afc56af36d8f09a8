/* test_config.c - INI + environment + argv precedence, validation, secrets, file modes. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "config/config.h"

static char path[] = "/tmp/pgward-test-config-XXXXXX";

static void write_conf(const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static int setup(void **state)
{
	(void)state;
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	pw_test_use_cmocka_allocator();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static const enum pw_opt_id all[] = {PW_OPT_CONFIG,      PW_OPT_LOG_LEVEL,     PW_OPT_REPO,
                                     PW_OPT_RECIPIENT,   PW_OPT_ARMOR,         PW_OPT_OUT_FILE,
                                     PW_OPT_DB_PASSWORD, PW_OPT_COMPRESS_LEVEL};
#define NALL (sizeof all / sizeof all[0])

static void test_precedence(void **state)
{
	(void)state;
	write_conf("# comment\n[global]\nlog-level = info\nrepo = /g\nrecipient = age1g\n"
	           "[db1]\nrepo = /s\nrecipient = age1a\nrecipient = age1b\n[db2]\nrepo = /x\n",
	           0644);
	struct pw_config *c = pw_config_new();
	char *argv[] = {(char *)"-r", (char *)"age1cli", (char *)"--armor", (char *)"in.txt"};
	assert_int_equal(pw_config_parse_args(c, "encrypt", 4, argv, all, NALL), 0);
	assert_int_equal(pw_config_npos(c), 1);
	assert_string_equal(pw_config_pos(c, 0), "in.txt");
	setenv("PGWARD_LOG_LEVEL", "debug", 1);
	assert_int_equal(pw_config_load_file(c, path, "db1"), 0);
	unsetenv("PGWARD_LOG_LEVEL");
	assert_string_equal(pw_cfg_str(c, PW_OPT_REPO), "/s"); /* stanza beats global */
	assert_true(strstr(pw_cfg_source(c, PW_OPT_REPO), "line 7") != NULL);
	const char *const *vals;
	assert_int_equal(pw_cfg_list(c, PW_OPT_RECIPIENT, &vals), 1); /* CLI replaces the list */
	assert_string_equal(vals[0], "age1cli");
	assert_true(pw_cfg_bool(c, PW_OPT_ARMOR));
	assert_string_equal(pw_cfg_str(c, PW_OPT_LOG_LEVEL), "info"); /* env not loaded here */
	assert_int_equal(pw_cfg_int(c, PW_OPT_COMPRESS_LEVEL), 3);    /* default */
	pw_config_free(c);

	/* environment beats the file, the command line beats the environment */
	c = pw_config_new();
	char *argv2[] = {(char *)"--config", path, (char *)"--repo=/cli"};
	assert_int_equal(pw_config_parse_args(c, "backup", 3, argv2, all, NALL), 0);
	setenv("PGWARD_LOG_LEVEL", "debug", 1);
	setenv("PGWARD_REPO", "/env", 1);
	assert_int_equal(pw_config_load(c, "db1"), 0);
	unsetenv("PGWARD_LOG_LEVEL");
	unsetenv("PGWARD_REPO");
	assert_string_equal(pw_cfg_str(c, PW_OPT_LOG_LEVEL), "debug");
	assert_string_equal(pw_cfg_str(c, PW_OPT_REPO), "/cli");
	assert_int_equal(pw_cfg_list(c, PW_OPT_RECIPIENT, &vals), 2); /* stanza list */
	pw_config_free(c);
}

static void expect_file_error(const char *text, mode_t mode, int code, const char *needle)
{
	write_conf(text, mode);
	struct pw_config *c = pw_config_new();
	assert_int_equal(pw_config_load_file(c, path, "db1"), -code);
	if (!strstr(pw_error_message(), needle))
		fail_msg("message \"%s\" lacks \"%s\"", pw_error_message(), needle);
	assert_true(pw_error_hint_text()[0] != 0);
	pw_config_free(c);
}

static void test_file_errors(void **state)
{
	(void)state;
	expect_file_error("[global]\nbogus = 1\n[db1]\n", 0600, PW_E_CONFIG, "line 2");
	expect_file_error("[db1]\nrepo=/a\n[global]\n\n[db1]\n", 0600, PW_E_CONFIG,
	                  "duplicate section [db1]");
	expect_file_error("[db1]\ncompress-level = high\n", 0600, PW_E_CONFIG, "line 2");
	expect_file_error("[global]\nlog-level = loud\n[db1]\n", 0600, PW_E_CONFIG, "log-level");
	expect_file_error("repo = /x\n[db1]\n", 0600, PW_E_CONFIG, "outside any section");
	expect_file_error("[global]\ndb = postgres://x\n[db1]\n", 0600, PW_E_CONFIG,
	                  "not allowed in section [global]");
	expect_file_error("[db1]\ndb-password = s3cret\n", 0644, PW_E_INSECURE, "holds secrets");
	expect_file_error("[global]\n", 0600, PW_E_CONFIG, "stanza \"db1\" is not defined");
	expect_file_error("[bad name]\n", 0600, PW_E_CONFIG, "invalid section name");
	/* the same secret file with mode 0600 is fine */
	write_conf("[db1]\ndb-password = s3cret\n", 0600);
	struct pw_config *c = pw_config_new();
	assert_int_equal(pw_config_load_file(c, path, "db1"), 0);
	assert_string_equal(pw_cfg_str(c, PW_OPT_DB_PASSWORD), "s3cret");
	pw_config_free(c);
}

static void test_argv_errors(void **state)
{
	(void)state;
	struct pw_config *c = pw_config_new();
	char *a1[] = {(char *)"--nope"};
	assert_int_equal(pw_config_parse_args(c, "encrypt", 1, a1, all, NALL), -PW_E_USAGE);
	assert_string_equal(pw_error_hint_text(), "Try \"pgward help encrypt\".");
	pw_config_free(c);
	c = pw_config_new();
	char *a2[] = {(char *)"--db-password=x"};
	assert_int_equal(pw_config_parse_args(c, "backup", 1, a2, all, NALL), -PW_E_INSECURE);
	assert_non_null(strstr(pw_error_hint_text(), "PGWARD_DB_PASSWORD"));
	pw_config_free(c);
	c = pw_config_new();
	char *a3[] = {(char *)"-o"};
	assert_int_equal(pw_config_parse_args(c, "encrypt", 1, a3, all, NALL), -PW_E_USAGE);
	pw_config_free(c);
	c = pw_config_new();
	char *a4[] = {(char *)"--log-level=loud"};
	assert_int_equal(pw_config_parse_args(c, "encrypt", 1, a4, all, NALL), -PW_E_USAGE);
	pw_config_free(c);
	/* an option not accepted by this command */
	c = pw_config_new();
	char *a5[] = {(char *)"--identity=x"};
	assert_int_equal(pw_config_parse_args(c, "encrypt", 1, a5, all, NALL), -PW_E_USAGE);
	pw_config_free(c);
	c = pw_config_new();
	char *a6[] = {(char *)"--", (char *)"--armor"};
	assert_int_equal(pw_config_parse_args(c, "encrypt", 2, a6, all, NALL), 0);
	assert_string_equal(pw_config_pos(c, 0), "--armor");
	assert_false(pw_cfg_bool(c, PW_OPT_ARMOR));
	pw_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_argv_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
