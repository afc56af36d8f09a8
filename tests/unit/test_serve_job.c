/*
 * test_serve_job.c - the service's child jobs (src/daemon/job.c): the environment a job
 * gets (what it needs, none of the service's own secrets), and the result file it writes,
 * read as hostile input (another job's, not JSON, too large, wrong types, a message with
 * control characters, a negative size, duplicate keys).
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "common/err.h"
#include "common/mem.h"
#include "daemon/job.h"

static char dir[] = "/tmp/pgward-servejob-test-XXXXXX";
static char path[128];

static bool has(char **env, const char *kv)
{
	for (size_t i = 0; env[i]; i++)
		if (strcmp(env[i], kv) == 0)
			return true;
	return false;
}

static bool has_name(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return true;
	return false;
}

static void test_env(void **state)
{
	(void)state;
	const char *parent[] = {"PATH=/usr/bin",
	                        "HOME=/home/x",
	                        "PGWARD_DB_PASSWORD=db-secret",
	                        "PGWARD_S3_SECRET_KEY=s3-secret",
	                        "PGWARD_RECIPIENT=age1xyz",
	                        "PGWARD_STATE_FILE=/var/lib/pgward/s.json",
	                        "PGWARD_SERVE_ALLOW_MIXED=yes",
	                        "PGWARD_CONFIG=/etc/other.conf",
	                        "PGWARD_SERVE_JOB=99",
	                        "PGWARD_SERVE_RESULT=/tmp/forged",
	                        "PGWARD_API_TOKEN=api-secret",
	                        "AWS_SECRET_ACCESS_KEY=aws-secret",
	                        "PGPASSWORD=pg-secret",
	                        "PGSSLROOTCERT=/etc/ca.crt",
	                        "PGlower=1",
	                        "SHOP_URL=postgresql://db/shop",
	                        "OTHER_URL=postgresql://db/other",
	                        "WEBHOOK_SECRET=hook",
	                        "TMPDIR=/var/tmp",
	                        "=bad",
	                        "noequals",
	                        NULL};
	char **env = serve_job_env(parent, "backup", "SHOP_URL", pw_command_opts);
	/* what a backup needs */
	assert_true(has(env, "PGWARD_DB_PASSWORD=db-secret"));
	assert_true(has(env, "PGWARD_S3_SECRET_KEY=s3-secret"));
	assert_true(has(env, "PGWARD_RECIPIENT=age1xyz"));
	assert_true(has(env, "AWS_SECRET_ACCESS_KEY=aws-secret"));
	assert_true(has(env, "PGPASSWORD=pg-secret"));
	assert_true(has(env, "PGSSLROOTCERT=/etc/ca.crt"));
	assert_true(has(env, "SHOP_URL=postgresql://db/shop"));
	assert_true(has(env, "TMPDIR=/var/tmp"));
	/* not the service's own, not another stanza's, not the markers (the service sets
	 * those itself), not the configuration file (given as --config) */
	assert_false(has_name(env, "PGWARD_STATE_FILE"));
	assert_false(has_name(env, "PGWARD_SERVE_ALLOW_MIXED"));
	assert_false(has_name(env, "PGWARD_CONFIG"));
	assert_false(has_name(env, "PGWARD_SERVE_JOB"));
	assert_false(has_name(env, "PGWARD_SERVE_RESULT"));
	assert_false(has_name(env, "PGWARD_API_TOKEN"));
	assert_false(has_name(env, "OTHER_URL"));
	assert_false(has_name(env, "WEBHOOK_SECRET"));
	assert_false(has_name(env, "PGlower"));
	/* PATH and HOME come from proc.c's own rule, not from here */
	assert_false(has_name(env, "PATH"));
	assert_false(has_name(env, "HOME"));
	pw_proc_env_free(env);
	/* expire connects to no database: no database password */
	env = serve_job_env(parent, "expire", NULL, pw_command_opts);
	assert_false(has_name(env, "PGWARD_DB_PASSWORD"));
	assert_false(has_name(env, "SHOP_URL"));
	assert_true(has(env, "PGWARD_S3_SECRET_KEY=s3-secret"));
	pw_proc_env_free(env);
	/* an unknown command gets no PGWARD_ option at all */
	env = serve_job_env(parent, "no-such-command", NULL, pw_command_opts);
	assert_false(has_name(env, "PGWARD_DB_PASSWORD"));
	pw_proc_env_free(env);
}

static void put(const char *text, size_t len)
{
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	chmod(path, 0600);
}

static void read_as(unsigned id, int exit_code, struct serve_job_result *r)
{
	memset(r, 0, sizeof *r);
	r->exit_code = exit_code;
	serve_job_read_result(id, path, r);
	pw_error_clear();
}

#define PUT(s) put(s, strlen(s))

static void test_result(void **state)
{
	(void)state;
	struct serve_job_result r;
	PUT("{\"job\":7,\"exit\":0,\"message\":\"\",\"hint\":\"\",\"details\":{\"stored_bytes\":"
	    "12345,\"backup_id\":\"x\"}}");
	read_as(7, 0, &r);
	assert_true(r.reported);
	assert_int_equal(r.stored_bytes, 12345);
	assert_string_equal(r.message, "");
	/* a failure: the message and hint on one printable line */
	PUT("{\"job\":7,\"exit\":20,\"message\":\"cannot connect\\n\\u001b[31mred\",\"hint\":"
	    "\"check it\"}");
	read_as(7, 20, &r);
	assert_true(r.reported);
	assert_null(strchr(r.message, '\n'));
	assert_null(strchr(r.message, '\033'));
	assert_non_null(strstr(r.message, "cannot connect"));
	assert_non_null(strstr(r.message, "HINT: check it"));
	/* another job's file, or the right job's with wrong types: ignored */
	PUT("{\"job\":8,\"exit\":0,\"message\":\"\"}");
	read_as(7, 0, &r);
	assert_false(r.reported);
	PUT("{\"job\":\"7\",\"exit\":0,\"message\":\"\"}");
	read_as(7, 0, &r);
	assert_false(r.reported);
	PUT("{\"job\":7,\"exit\":0,\"message\":5}");
	read_as(7, 0, &r);
	assert_false(r.reported);
	PUT("{\"job\":7,\"exit\":0,\"message\":\"\",\"details\":[]}");
	read_as(7, 0, &r);
	assert_false(r.reported);
	PUT("[1,2,3]");
	read_as(7, 0, &r);
	assert_false(r.reported);
	PUT("not json at all");
	read_as(7, 0, &r);
	assert_false(r.reported);
	PUT("{\"job\":7,\"job\":8,\"exit\":0,\"message\":\"\"}");
	read_as(7, 0, &r);
	assert_false(r.reported);
	/* a negative or absurd size is no size */
	PUT("{\"job\":7,\"exit\":0,\"message\":\"\",\"details\":{\"stored_bytes\":-5}}");
	read_as(7, 0, &r);
	assert_true(r.reported);
	assert_int_equal(r.stored_bytes, 0);
	/* too large: not read at all */
	size_t big = SERVE_JOB_RESULT_MAX + 10;
	char *huge = pw_malloc(big);
	memset(huge, ' ', big);
	memcpy(huge, "{\"job\":7,\"exit\":0,\"message\":\"\"}", 31);
	put(huge, big);
	pw_free(huge);
	read_as(7, 0, &r);
	assert_false(r.reported);
	/* a file others may write is not trusted */
	PUT("{\"job\":7,\"exit\":0,\"message\":\"\",\"details\":{\"stored_bytes\":1}}");
	chmod(path, 0622);
	read_as(7, 0, &r);
	assert_false(r.reported);
	/* a symbolic link is not followed */
	char link[160];
	snprintf(link, sizeof link, "%s/link", dir);
	chmod(path, 0600);
	assert_int_equal(symlink(path, link), 0);
	memset(&r, 0, sizeof r);
	serve_job_read_result(7, link, &r);
	pw_error_clear();
	assert_false(r.reported);
	unlink(link);
	/* missing: nothing reported, no error left */
	unlink(path);
	read_as(7, 9, &r);
	assert_false(r.reported);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_result),
	};
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/result", dir);
	int rc = cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
	unlink(path);
	rmdir(dir);
	return rc;
}
