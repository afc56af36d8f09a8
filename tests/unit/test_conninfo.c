/* test_conninfo.c - the connection strings pgward derives (src/pg/pg.c): a password is
 * found in either form, and a database name is replaced with every other parameter kept and
 * quoted, so a hostile name cannot add a parameter; a child process (pg_dump, pg_restore)
 * goes to the one host and address the checked session reached, with its TLS and
 * channel-binding requirements. */
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

/* the parent's settings: a list of two hosts, channel binding required */
static const char *settings(void *arg, const char *kw)
{
	(void)arg;
	static const char *kv[][2] = {{"host", "a.example,b.example"},
	                              {"hostaddr", "192.0.2.1,192.0.2.2"},
	                              {"port", "5432,6432"},
	                              {"dbname", "shop"},
	                              {"user", "backup"},
	                              {"sslmode", "verify-full"},
	                              {"sslrootcert", "/etc/ca.crt"},
	                              {"channel_binding", "require"},
	                              {"requirepeer", ""},
	                              {"password", "never"}};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		if (strcmp(kv[i][0], kw) == 0)
			return kv[i][1];
	return NULL;
}

static void test_child_conninfo(void **state)
{
	(void)state;
	struct pg_child_where at = {"b.example", "192.0.2.2", "6432"};
	char *ci = pg_child_conninfo_build(settings, NULL, &at, "pgward backup", "bk", true);
	assert_string_equal(ci, "host='b.example' hostaddr='192.0.2.2' port='6432' "
	                        "dbname='shop' user='backup' sslmode='verify-full' "
	                        "sslrootcert='/etc/ca.crt' channel_binding='require' "
	                        "application_name='pgward backup' options='-c role=bk -c "
	                        "client_min_messages=warning -c default_transaction_read_only=on'");
	pw_free(ci);
	/* a unix socket: no address; no role: no options */
	struct pg_child_where sock = {"/run/postgresql", "", "5432"};
	ci = pg_child_conninfo_build(settings, NULL, &sock, "x", "", false);
	assert_non_null(strstr(ci, "host='/run/postgresql' port='5432' dbname="));
	assert_null(strstr(ci, "hostaddr"));
	assert_null(strstr(ci, "options"));
	assert_null(strstr(ci, "never"));
	pw_free(ci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_has_password),
	    cmocka_unit_test(test_with_dbname),
	    cmocka_unit_test(test_child_conninfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
