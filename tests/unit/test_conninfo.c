/* test_conninfo.c - the connection strings pgward derives (src/pg/pg.c): a password is
 * found in either form, and a database name is replaced with every other parameter kept and
 * quoted, so a hostile name cannot add a parameter. */
#include "support.h"

#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "pg/pg.h"

static void test_has_password(void **state)
{
	(void)state;
	assert_int_equal(pg_conninfo_has_password("postgresql://u:secret@h/db"), 1);
	assert_int_equal(pg_conninfo_has_password("host=h user=u password=secret"), 1);
	assert_int_equal(pg_conninfo_has_password("postgresql://u@h/db?password=x"), 1);
	assert_int_equal(pg_conninfo_has_password("postgresql://u@h/db"), 0);
	assert_int_equal(pg_conninfo_has_password("host=h password=''"), 0); /* empty: none */
	assert_int_equal(pg_conninfo_has_password("host=h user='unterminated"), -1);
}

static void test_with_dbname(void **state)
{
	(void)state;
	char *out = NULL, old[64];
	assert_int_equal(pg_conninfo_with_dbname("postgresql://u@h:5433/shop?sslmode=verify-full",
	                                         "other", &out, old, sizeof old),
	                 0);
	assert_string_equal(old, "shop");
	assert_non_null(strstr(out, "dbname='other'"));
	assert_non_null(strstr(out, "host='h'"));
	assert_non_null(strstr(out, "port='5433'"));
	assert_non_null(strstr(out, "sslmode='verify-full'"));
	assert_null(strstr(out, "shop"));
	pw_free(out);

	/* a name with a quote, a backslash and what looks like a parameter stays one value */
	assert_int_equal(pg_conninfo_with_dbname("host=h", "x' sslmode='disable\\", &out, NULL, 0),
	                 0);
	assert_string_equal(out,
	                    "dbname='x\\' sslmode=\\'disable\\\\' host='h'"); /* libpq's order */
	assert_int_equal(pg_conninfo_has_password(out), 0);
	char *again = NULL;
	assert_int_equal(pg_conninfo_with_dbname(out, "y", &again, old, sizeof old), 0);
	assert_string_equal(old, "x' sslmode='disable\\"); /* it parses back to the same name */
	assert_null(strstr(again, "disable"));
	pw_free(again);
	pw_free(out);

	assert_int_equal(pg_conninfo_with_dbname("host='broken", "db", &out, NULL, 0),
	                 -PW_E_CONFIG);
	assert_null(out);
	pw_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_has_password),
	    cmocka_unit_test(test_with_dbname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
