/*
 * test_privs.c - the pure parts of the privilege model (src/pg/privs.c): the fix of each
 * kind of finding is the SQL it says (names used as quoted, never case-folded, never cut
 * off), large-object fixes list the oids or become a block with no name inside, and the
 * descriptions callers print. The catalog queries are tested against a real server in
 * tests/integration/test_privs.sh.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "pg/privs.h"

static void fix_is(const struct pw_priv_fix_in *in, const char *want)
{
	char *got = pw_priv_fix(in);
	if (strcmp(got, want) != 0)
		fail_msg("fix\n got: %s\nwant: %s", got, want);
	pw_free(got);
}

static void t_grants(void **state)
{
	(void)state;
	struct pw_priv_fix_in in = {.kind = PW_PRIV_TABLE,
	                            .objtype = "TABLE",
	                            .qobject = "\"Mixed Case \"\"Schema\"\"\".\"Owned Tab\"",
	                            .privilege = "INSERT, UPDATE",
	                            .qrole = "\"bk\"",
	                            .qvia = "PUBLIC"};
	fix_is(&in, "REVOKE INSERT, UPDATE ON \"Mixed Case \"\"Schema\"\"\".\"Owned Tab\" FROM "
	            "PUBLIC;");
	in.kind = PW_PRIV_COLUMN;
	in.qobject = "app.users";
	in.privilege = "UPDATE (name, \"E-Mail\")";
	in.qvia = "\"bk\"";
	fix_is(&in, "REVOKE UPDATE (name, \"E-Mail\") ON app.users FROM \"bk\";");
	in.kind = PW_PRIV_SEQUENCE;
	in.objtype = "SEQUENCE";
	in.qobject = "app.orders_id_seq";
	in.privilege = "USAGE";
	fix_is(&in, "REVOKE USAGE ON SEQUENCE app.orders_id_seq FROM \"bk\";");
	in.kind = PW_PRIV_SCHEMA_CREATE;
	in.objtype = "SCHEMA";
	in.qobject = "\"new\nline -- x\"";
	in.privilege = "CREATE";
	fix_is(&in, "REVOKE CREATE ON SCHEMA \"new\nline -- x\" FROM \"bk\";");
	in.kind = PW_PRIV_DATABASE_CREATE;
	in.objtype = "DATABASE";
	in.qobject = "app";
	fix_is(&in, "REVOKE CREATE ON DATABASE app FROM \"bk\";");
}

static void t_owner_attr_membership(void **state)
{
	(void)state;
	/* the issue-13 bug: "ALTER TABLE PUBLic.…" - the type keyword is never folded into the
	 * name, the name never touched */
	struct pw_priv_fix_in in = {.kind = PW_PRIV_OWNER,
	                            .objtype = "TABLE",
	                            .qobject = "public.owned",
	                            .qnew_owner = "\"app owner\""};
	fix_is(&in, "ALTER TABLE public.owned OWNER TO \"app owner\";");
	in.objtype = "FUNCTION";
	in.qobject = "app.\"Fn\"(integer, text)";
	in.qnew_owner = "CURRENT_USER";
	fix_is(&in, "ALTER FUNCTION app.\"Fn\"(integer, text) OWNER TO CURRENT_USER;");
	struct pw_priv_fix_in a = {
	    .kind = PW_PRIV_ATTRIBUTE, .qrole = "\"we\"\"ird\"", .privilege = "CREATEROLE"};
	fix_is(&a, "ALTER ROLE \"we\"\"ird\" NOCREATEROLE;");
	struct pw_priv_fix_in m = {.kind = PW_PRIV_MEMBERSHIP,
	                           .qrole = "\"bk\"",
	                           .qvia = "\"writer\"",
	                           .qhops = "ops, \"Team\"",
	                           .qdatabase = "app"};
	fix_is(&m, "REVOKE ops, \"Team\" FROM \"bk\";");
	m.role_setting = true;
	fix_is(&m, "REVOKE ops, \"Team\" FROM \"bk\"; ALTER ROLE \"bk\" RESET role; ALTER ROLE "
	           "\"bk\" IN DATABASE app RESET role;");
	m.kind = PW_PRIV_PREDEFINED;
	m.role_setting = false;
	m.qhops = "";
	fix_is(&m, "REVOKE \"writer\" FROM \"bk\";");
	struct pw_priv_fix_in l = {.kind = PW_PRIV_LO_COMPAT, .qdatabase = "\"My DB\""};
	fix_is(&l, "ALTER DATABASE \"My DB\" SET lo_compat_privileges = off;");
}

static void t_large_objects(void **state)
{
	(void)state;
	struct pw_priv_fix_in in = {.kind = PW_PRIV_LARGE_OBJECT,
	                            .privilege = "UPDATE",
	                            .qrole = "\"bk\"",
	                            .qvia = "PUBLIC",
	                            .lo_oids = "16404, 30828",
	                            .count = 2,
	                            .via_oid = "0",
	                            .role_oid = "16390",
	                            .qnew_owner = "\"postgres\""};
	fix_is(&in, "REVOKE UPDATE ON LARGE OBJECT 16404, 30828 FROM PUBLIC;");
	in.privilege = "OWNER";
	fix_is(&in, "ALTER LARGE OBJECT 16404 OWNER TO \"postgres\"; GRANT SELECT ON LARGE OBJECT "
	            "16404 TO \"bk\"; ALTER LARGE OBJECT 30828 OWNER TO \"postgres\"; GRANT "
	            "SELECT ON LARGE OBJECT 30828 TO \"bk\";");
	/* more than can be listed: a complete block, never "30828,, ..." */
	in.count = PW_PRIV_LO_LIST + 1;
	in.privilege = "UPDATE";
	in.via_oid = "16391";
	char *fix = pw_priv_fix(&in);
	assert_non_null(strstr(fix, "DO $pgward$"));
	assert_non_null(strstr(fix, "a.grantee = 16391"));
	assert_non_null(strstr(fix, "REVOKE UPDATE ON LARGE OBJECT %s FROM %s"));
	assert_null(strstr(fix, ", ..."));
	assert_null(strstr(fix, "\"bk\"")); /* no name inside the block: nothing to escape */
	assert_string_equal(fix + strlen(fix) - 9, "$pgward$;");
	pw_free(fix);
	in.via_oid = "0";
	fix = pw_priv_fix(&in);
	assert_non_null(strstr(fix, "o, 'PUBLIC')"));
	pw_free(fix);
	in.privilege = "OWNER";
	in.via_oid = "16390";
	in.qnew_owner = "CURRENT_USER";
	fix = pw_priv_fix(&in);
	assert_non_null(strstr(fix, "m.lomowner = 16390"));
	assert_non_null(strstr(fix, "OWNER TO %2$s; GRANT SELECT ON LARGE OBJECT %1$s TO %3$s"));
	pw_free(fix);
	/* the preflight's read fix */
	fix = pw_priv_lo_read_fix("1, 2", 2, "\"b k\"", "16390");
	assert_string_equal(fix, "GRANT SELECT ON LARGE OBJECT 1, 2 TO \"b k\";");
	pw_free(fix);
	fix = pw_priv_lo_read_fix("1, 2", 5000, "\"b k\"", "16390");
	assert_non_null(strstr(fix, "DO $pgward$"));
	assert_non_null(strstr(fix, "pg_catalog.pg_has_role(16390, m.lomowner, 'USAGE')"));
	assert_null(strstr(fix, "\"b k\""));
	pw_free(fix);
}

static void t_describe(void **state)
{
	(void)state;
	struct pw_priv_finding f = {.kind = PW_PRIV_SEQUENCE,
	                            .objtype = (char *)"SEQUENCE",
	                            .object = (char *)"app.s",
	                            .privilege = (char *)"USAGE",
	                            .via = (char *)"bk"};
	char *d = pw_priv_describe(&f);
	assert_string_equal(d, "USAGE on SEQUENCE app.s");
	pw_free(d);
	f.kind = PW_PRIV_COLUMN;
	f.objtype = (char *)"TABLE";
	f.object = (char *)"app.users";
	f.privilege = (char *)"UPDATE (name)";
	d = pw_priv_describe(&f);
	assert_string_equal(d, "UPDATE (name) on app.users");
	pw_free(d);
	f.kind = PW_PRIV_MEMBERSHIP;
	f.path = PW_PATH_SET_ROLE;
	f.via = (char *)"writer";
	f.count = 3;
	f.role_setting = true;
	d = pw_priv_describe(&f);
	assert_string_equal(d, "UPDATE (name) on app.users and 2 more through SET ROLE to "
	                       "\"writer\" (set by ALTER ROLE ... SET role)");
	pw_free(d);
	f.kind = PW_PRIV_OWNER;
	f.objtype = (char *)"SCHEMA";
	f.object = (char *)"\"Mixed\"";
	d = pw_priv_describe(&f);
	assert_string_equal(d, "OWNER of SCHEMA \"Mixed\"");
	pw_free(d);
	assert_string_equal(pw_priv_path_name(PW_PATH_PUBLIC), "granted to PUBLIC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_grants),
	    cmocka_unit_test(t_owner_attr_membership),
	    cmocka_unit_test(t_large_objects),
	    cmocka_unit_test(t_describe),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
