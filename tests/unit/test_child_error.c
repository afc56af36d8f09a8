/*
 * test_child_error.c - what pgward keeps of a failing PostgreSQL client program's messages
 * (src/pg/child.c: child_error_parse, child_error_text): pg_restore's ERROR, DETAIL, HINT,
 * the TOC entry it was processing and the statement, from its --verbose output; the last
 * "error:" line wins (an object name printed earlier may forge one); every part sanitized
 * and capped; a program that printed no "error:" line is quoted by its last line.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "pg/child.h"

static void t_pg_restore(void **state)
{
	(void)state;
	struct child_error ce;
	child_error_parse("pg_restore: connecting to database for restore\n"
	                  "pg_restore: creating SCHEMA \"s2\"\n"
	                  "pg_restore: while PROCESSING TOC:\n"
	                  "pg_restore: from TOC entry 8; 2615 16391 SCHEMA s2 app_owner\n"
	                  "pg_restore: error: could not execute query: ERROR:  role \"app_owner\" "
	                  "does not exist\n"
	                  "Command was: ALTER SCHEMA s2 OWNER TO app_owner;\n",
	                  &ce);
	assert_string_equal(ce.error,
	                    "could not execute query: ERROR:  role \"app_owner\" does not exist");
	assert_string_equal(ce.toc, "from TOC entry 8; 2615 16391 SCHEMA s2 app_owner");
	assert_string_equal(ce.command, "ALTER SCHEMA s2 OWNER TO app_owner;");
	assert_string_equal(ce.detail, "");
	char text[900];
	child_error_text(&ce, text, sizeof text);
	assert_string_equal(text, "could not execute query: ERROR:  role \"app_owner\" does not "
	                          "exist; from TOC entry 8; 2615 16391 SCHEMA s2 app_owner (at: "
	                          "ALTER SCHEMA s2 OWNER TO app_owner;)");
}

static void t_detail_hint(void **state)
{
	(void)state;
	struct child_error ce;
	child_error_parse("pg_restore: from TOC entry 3339; 0 16428 TABLE DATA fussy postgres\n"
	                  "pg_restore: error: COPY failed for table \"fussy\": ERROR:  new row "
	                  "violates check constraint \"fussy_check\"\n"
	                  "DETAIL:  Failing row contains (1).\n"
	                  "CONTEXT:  COPY fussy, line 1: \"1\"\n"
	                  "HINT:  You might need to increase max_locks_per_transaction.\n",
	                  &ce);
	assert_string_equal(ce.detail, "Failing row contains (1).");
	assert_string_equal(ce.hint, "You might need to increase max_locks_per_transaction.");
	char text[900];
	child_error_text(&ce, text, sizeof text);
	assert_non_null(strstr(text, "; DETAIL: Failing row contains (1).; from TOC entry 3339"));
	/* pg_dump's own (client) detail */
	child_error_parse("pg_dump: error: query failed: ERROR:  permission denied for table t\n"
	                  "pg_dump: detail: Query was: LOCK TABLE public.t IN ACCESS SHARE MODE\n",
	                  &ce);
	assert_string_equal(ce.error, "query failed: ERROR:  permission denied for table t");
	assert_string_equal(ce.detail, "Query was: LOCK TABLE public.t IN ACCESS SHARE MODE");
}

static void t_forged_and_hostile(void **state)
{
	(void)state;
	struct child_error ce;
	/* a table named "x\npg_restore: error: all is well\nHINT:  trust me": printed by
	 * --verbose before the real error, which comes last */
	child_error_parse("pg_restore: creating TABLE \"public.x\n"
	                  "pg_restore: error: all is well\n"
	                  "HINT:  trust me\"\n"
	                  "pg_restore: from TOC entry 9; 1259 1 TABLE public y o\n"
	                  "pg_restore: error: could not execute query: ERROR:  boom\n",
	                  &ce);
	assert_string_equal(ce.error, "could not execute query: ERROR:  boom");
	assert_string_equal(ce.hint, "");
	assert_string_equal(ce.toc, "from TOC entry 9; 1259 1 TABLE public y o");
	/* control characters shown, never passed on; an overlong statement capped */
	char big[4000];
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = 0;
	char in[4200];
	snprintf(in, sizeof in, "pg_restore: error: bad \x1b[31mred\nCommand was: %s\n", big);
	child_error_parse(in, &ce);
	assert_null(strchr(ce.error, 0x1b));
	assert_non_null(strstr(ce.error, "\\x1b[31mred"));
	assert_true(strlen(ce.command) < sizeof ce.command);
	assert_non_null(strstr(ce.command, "..."));
}

static void t_no_error_line(void **state)
{
	(void)state;
	struct child_error ce;
	child_error_parse("initdb: warning: something\n"
	                  "the data directory is not empty\n\n",
	                  &ce);
	assert_string_equal(ce.error, "the data directory is not empty");
	child_error_parse("", &ce);
	assert_string_equal(ce.error, "");
	char text[900];
	child_error_text(&ce, text, sizeof text);
	assert_string_equal(text, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_pg_restore),
	    cmocka_unit_test(t_detail_hint),
	    cmocka_unit_test(t_forged_and_hostile),
	    cmocka_unit_test(t_no_error_line),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
