/* test_conninfo.c - the connection strings pgward derives (src/pg/pg.c): a password is
 * found in either form, and a database name is replaced with every other parameter kept and
 * quoted, so a hostile name cannot add a parameter; a child process (pg_dump, pg_restore)
 * goes to the one host and address the checked session reached, with its TLS and
 * channel-binding requirements. */
#include "support.h"

#include <ctype.h>
#include <libpq-fe.h>
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

/* redteam: hostile values (quotes, backslashes, a URL, a socket path with a space) */
static const char *hostile(void *arg, const char *kw)
{
	(void)arg;
	static const char *kv[][2] = {{"dbname", "postgresql://evil.example/x?sslmode=disable"},
	                              {"user", "o'brien\\ host=evil.example"},
	                              {"sslmode", "verify-full"},
	                              {"sslrootcert", "/etc/my ca/ca'1.crt"},
	                              {"channel_binding", "require"}};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		if (strcmp(kv[i][0], kw) == 0)
			return kv[i][1];
	return NULL;
}

/* the value of kw in conninfo ci as libpq parses it ("" none) */
static void parsed(const char *ci, const char *kw, char *out, size_t size)
{
	char *err = NULL;
	PQconninfoOption *o = PQconninfoParse(ci, &err);
	assert_non_null(o);
	out[0] = 0;
	for (PQconninfoOption *p = o; p->keyword; p++)
		if (strcmp(p->keyword, kw) == 0 && p->val)
			snprintf(out, size, "%s", p->val);
	PQconninfoFree(o);
}

/* the server's split of a startup "options" value (pg_split_opts: white space as isspace()
 * separates, a backslash takes the next character as it is) */
static size_t split_opts(const char *s, char words[][128], size_t max)
{
	size_t n = 0;
	while (*s && n < max) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		size_t k = 0;
		bool esc = false;
		for (; *s && (esc || !isspace((unsigned char)*s)); s++) {
			if (!esc && *s == '\\')
				esc = true;
			else if (k < 127) {
				esc = false;
				words[n][k++] = *s;
			}
		}
		words[n++][k] = 0;
	}
	return n;
}

static void test_child_conninfo_hostile(void **state)
{
	(void)state;
	struct pg_child_where at = {"/run/my sock'et", "", "5432"};
	/* a role name with white space other than a space (a tab, a new line) that reads like
	 * more options: it is one role for the server */
	const char *role = "pgward:x\t-c\tdefault_transaction_read_only=off\n-c\vy=z";
	char *ci = pg_child_conninfo_build(hostile, NULL, &at, "a'b\\c", role, true);
	char v[512];
	parsed(ci, "host", v, sizeof v);
	assert_string_equal(v, "/run/my sock'et");
	parsed(ci, "hostaddr", v, sizeof v);
	assert_string_equal(v, "");
	parsed(ci, "dbname", v, sizeof v);
	assert_string_equal(v, "postgresql://evil.example/x?sslmode=disable");
	parsed(ci, "user", v, sizeof v);
	assert_string_equal(v, "o'brien\\ host=evil.example");
	parsed(ci, "sslrootcert", v, sizeof v);
	assert_string_equal(v, "/etc/my ca/ca'1.crt");
	parsed(ci, "sslmode", v, sizeof v);
	assert_string_equal(v, "verify-full");
	parsed(ci, "application_name", v, sizeof v);
	assert_string_equal(v, "a'b\\c");
	parsed(ci, "options", v, sizeof v);
	char w[8][128];
	size_t n = split_opts(v, w, 8);
	assert_int_equal(n, 6);
	assert_string_equal(w[0], "-c");
	char want[160];
	snprintf(want, sizeof want, "role=%s", role);
	assert_string_equal(w[1], want);
	assert_string_equal(w[3], "client_min_messages=warning");
	assert_string_equal(w[5], "default_transaction_read_only=on");
	pw_free(ci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_has_password),
	    cmocka_unit_test(test_with_dbname),
	    cmocka_unit_test(test_child_conninfo),
	    cmocka_unit_test(test_child_conninfo_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
