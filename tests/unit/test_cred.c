/*
 * test_cred.c - the pure parts of credentials (src/cred): name rules, levels, the
 * password generator (length, alphabet, no modulo bias), env files and the URL of
 * an attachment (src/cred/attach.c). The SQL is tested against a real server in
 * tests/integration/test_credentials.sh.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/secret.h"
#include "cred/attach.h"
#include "cred/cred.h"
#include "pg/privs.h"

static void test_names(void **state)
{
	(void)state;
	const char *good[] = {
	    "a",           "analyst",
	    "billing_app", "report-tool-2",
	    "A_b-C",       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" /* 50 */};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(cred_name_check(good[i]), 0);
	const char *bad[] = {"",
	                     "a b",
	                     "a;b",
	                     "a'b",
	                     "a\"b",
	                     "é",
	                     "a\nb",
	                     "a.b",
	                     "a/b",
	                     "x-rotating",
	                     "postgres",
	                     "pg_monitor",
	                     "default",
	                     "public",
	                     "pgward",
	                     "pgward_x",
	                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" /* 51 */};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(cred_name_check(bad[i]), -PW_E_CREDENTIAL);
		assert_true(strlen(pw_error_hint_text()) > 0);
	}
	/* "-rotating" in the middle is fine; only the suffix is reserved */
	assert_int_equal(cred_name_check("x-rotating-b"), 0);
	pw_error_clear();
}

static void test_levels(void **state)
{
	(void)state;
	enum cred_level l;
	assert_int_equal(cred_level_parse("none", &l), 0);
	assert_int_equal(l, CRED_NONE);
	assert_int_equal(cred_level_parse("read-only", &l), 0);
	assert_int_equal(l, CRED_READ_ONLY);
	assert_int_equal(cred_level_parse("read-write", &l), 0);
	assert_int_equal(l, CRED_READ_WRITE);
	assert_string_equal(cred_level_name(CRED_READ_WRITE), "read-write");
	assert_int_equal(cred_level_parse("admin", &l), -PW_E_USAGE);
	assert_int_equal(cred_level_parse("READ-ONLY", &l), -PW_E_USAGE);
	pw_error_clear();
	char b[80];
	cred_priv_role("analyst", b, sizeof b);
	assert_string_equal(b, "pgward:analyst");
	cred_rot_role("analyst", b, sizeof b);
	assert_string_equal(b, "analyst-rotating");
}

static void test_passwords(void **state)
{
	(void)state;
	enum { N = 2000 };
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	long count[62] = {0};
	char prev[CRED_PASSWORD_LEN + 1] = "";
	for (int i = 0; i < N; i++) {
		struct pw_secret *s = NULL;
		assert_int_equal(cred_password_new(&s), 0);
		const char *p = pw_secret_str(s);
		assert_int_equal(strlen(p), CRED_PASSWORD_LEN);
		assert_string_not_equal(p, prev);
		for (const char *c = p; *c; c++) {
			const char *at = strchr(alpha, *c);
			assert_non_null(at);
			count[at - alpha]++;
		}
		memcpy(prev, p, sizeof prev);
		pw_secret_free(s);
	}
	/* 130,000 characters, 2096.8 expected per symbol. A modulo-biased generator
	 * (byte % 62) would give the first 8 symbols 5/4 of the others' share. The chi-square
	 * bound is far above the 61-degree-of-freedom 99.99th percentile (~115). */
	double expect = (double)N * CRED_PASSWORD_LEN / 62.0, chi = 0;
	for (int i = 0; i < 62; i++)
		chi += ((double)count[i] - expect) * ((double)count[i] - expect) / expect;
	assert_true(chi < 140.0);
	long first8 = 0, rest = 0;
	for (int i = 0; i < 62; i++)
		*(i < 8 ? &first8 : &rest) += count[i];
	double ratio = ((double)first8 / 8) / ((double)rest / 54);
	assert_true(ratio > 0.95 && ratio < 1.05);
}

static void test_env_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/pgward-test-cred-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/app.env", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# comment\nOTHER=1\nexport DATABASE_URL=old\nDATABASE_URL_2=keep\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(attach_env_set(path, "DATABASE_URL", "postgresql://u:p@h/db?x=1&y=2"), 0);
	char *v = NULL;
	assert_int_equal(attach_env_get(path, "DATABASE_URL", &v), 0);
	assert_string_equal(v, "postgresql://u:p@h/db?x=1&y=2");
	pw_free(v);
	assert_int_equal(attach_env_get(path, "DATABASE_URL_2", &v), 0);
	assert_string_equal(v, "keep");
	pw_free(v);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640); /* others lose read, the group keeps it */
	/* other lines kept, in order, the variable once */
	char buf[512] = "";
	f = fopen(path, "r");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	assert_string_equal(
	    buf, "# comment\nOTHER=1\nexport DATABASE_URL='postgresql://u:p@h/db?x=1&y=2'\n"
	         "DATABASE_URL_2=keep\n");
	assert_int_equal(attach_env_unset(path, "DATABASE_URL"), 0);
	assert_int_equal(attach_env_get(path, "DATABASE_URL", &v), 0);
	assert_null(v);
	/* bad variable names never reach the file */
	assert_int_equal(attach_env_set(path, "1BAD", "x"), -PW_E_USAGE);
	assert_int_equal(attach_env_set(path, "A=B", "x"), -PW_E_USAGE);
	assert_int_equal(attach_env_set(path, "", "x"), -PW_E_USAGE);
	pw_error_clear();
	/* a new file is created 0600 */
	char path2[256];
	snprintf(path2, sizeof path2, "%s/new.env", dir);
	assert_int_equal(attach_env_set(path2, "DATABASE_URL", "u"), 0);
	assert_int_equal(stat(path2, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(path);
	unlink(path2);
	rmdir(dir);
}

/* What each level allows of the privilege model's findings (the caller decides). */
static void test_level_allows(void **state)
{
	(void)state;
	json_t *schemas = json_pack("[s, s]", "app", "Mixed");
	struct pw_priv_finding f = {.kind = PW_PRIV_TABLE,
	                            .objtype = (char *)"TABLE",
	                            .object = (char *)"app.t",
	                            .schema = (char *)"app",
	                            .privilege = (char *)"DELETE, INSERT, UPDATE",
	                            .via = (char *)"pgward:a"};
	assert_true(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a"));
	assert_false(cred_level_allows(&f, CRED_READ_ONLY, schemas, "pgward:a"));
	assert_false(cred_level_allows(&f, CRED_NONE, schemas, "pgward:a"));
	f.privilege = (char *)"INSERT, TRUNCATE";
	assert_false(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a")); /* TRUNCATE */
	f.privilege = (char *)"TRIGGER";
	assert_false(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a"));
	f.privilege = (char *)"UPDATE";
	f.schema = (char *)"other";
	assert_false(
	    cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a")); /* not its schema */
	f.schema = (char *)"mixed";
	assert_false(
	    cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a")); /* names are exact */
	f.schema = (char *)"Mixed";
	f.kind = PW_PRIV_COLUMN;
	f.privilege = (char *)"UPDATE (a, \"B\")";
	assert_true(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a"));
	f.kind = PW_PRIV_SEQUENCE;
	f.privilege = (char *)"USAGE";
	assert_true(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a"));
	assert_false(cred_level_allows(&f, CRED_READ_ONLY, schemas, "pgward:a"));
	const enum pw_priv_kind never[] = {PW_PRIV_SCHEMA_CREATE, PW_PRIV_DATABASE_CREATE,
	                                   PW_PRIV_OWNER,         PW_PRIV_LARGE_OBJECT,
	                                   PW_PRIV_LO_COMPAT,     PW_PRIV_PREDEFINED};
	for (size_t i = 0; i < sizeof never / sizeof *never; i++) {
		f.kind = never[i];
		assert_false(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a"));
	}
	f.kind = PW_PRIV_ATTRIBUTE;
	f.privilege = (char *)"BYPASSRLS";
	assert_true(cred_level_allows(&f, CRED_READ_ONLY, schemas, "pgward:a"));
	f.privilege = (char *)"CREATEDB";
	assert_false(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a"));
	/* a username's membership in its own privilege role is checked on that role */
	f.kind = PW_PRIV_MEMBERSHIP;
	f.via = (char *)"pgward:a";
	assert_true(cred_level_allows(&f, CRED_READ_ONLY, schemas, "pgward:a"));
	f.via = (char *)"writer";
	assert_false(cred_level_allows(&f, CRED_READ_WRITE, schemas, "pgward:a"));
	json_decref(schemas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),        cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_passwords),    cmocka_unit_test(test_env_files),
	    cmocka_unit_test(test_level_allows),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
