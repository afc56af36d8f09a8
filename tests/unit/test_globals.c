/*
 * test_globals.c - the globals parser and renderer (src/pg/globals.c).
 *
 * Real data: tests/data/globals/pg15_odd_names.sql is the output of the harness's
 * pg_dumpall 15 --globals-only --no-role-passwords (only the tablespace's temporary
 * directory was replaced by /var/lib/postgresql/ts1), with roles named with a doubled
 * quote, a newline, non-ASCII letters, "--", "; drop role y" and mixed case, a comment
 * with a quote, "--" and a newline, memberships WITH ADMIN OPTION, a setting and a
 * tablespace with a comment (recipe in tests/data/globals/README.md). Its canonical
 * rendering is pg15_odd_names.expected, one statement a line (newlines in names shown as
 * \n), checked by hand against the input.
 *
 * Refusals: each case below is the real file with one line added or changed, so a case
 * fails only for the reason it names.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "pg/globals.h"

/* Quoting like libpq's: identifiers always in double quotes (doubled inside), literals in
 * single quotes (doubled), with E'' and doubled backslashes when there is a backslash. */
static char *t_ident(void *arg, const char *s)
{
	(void)arg;
	struct pw_buf b = PW_BUF_INIT(4096);
	pw_buf_putc(&b, '"');
	for (; *s; s++) {
		if (*s == '"')
			pw_buf_putc(&b, '"');
		pw_buf_putc(&b, *s);
	}
	pw_buf_putc(&b, '"');
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

static char *t_literal(void *arg, const char *s)
{
	(void)arg;
	struct pw_buf b = PW_BUF_INIT(1 << 22);
	if (strchr(s, '\\'))
		pw_buf_printf(&b, " E");
	pw_buf_putc(&b, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			pw_buf_putc(&b, *s);
		pw_buf_putc(&b, *s);
	}
	pw_buf_putc(&b, '\'');
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

static char *slurp(const char *rel, size_t *len)
{
	char path[1024];
	pw_test_data(rel, path, sizeof path);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct pw_buf b = PW_BUF_INIT(1 << 24);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(pw_buf_append(&b, chunk, n), 0);
	fclose(f);
	*len = b.len;
	char *r = pw_strndup(b.data ? (const char *)b.data : "", b.len);
	pw_buf_free(&b, 0);
	return r;
}

/* All statements rendered, one a line, newlines as \n. */
static char *render_all(const struct globals *g, unsigned strip)
{
	struct pw_buf b = PW_BUF_INIT(1 << 24);
	for (size_t i = 0; i < g->n; i++) {
		char *s = globals_render(&g->v[i], strip, t_ident, t_literal, NULL);
		for (const char *c = s; *c; c++)
			if (*c == '\n')
				pw_buf_printf(&b, "\\n");
			else
				pw_buf_putc(&b, *c);
		pw_buf_putc(&b, '\n');
		pw_free(s);
	}
	char *r = pw_strndup(b.data ? (const char *)b.data : "", b.len);
	pw_buf_free(&b, 0);
	return r;
}

static void real_dump_parses_and_renders(void **state)
{
	(void)state;
	size_t len, elen;
	char *in = slurp("globals/pg15_odd_names.sql", &len);
	char *expected = slurp("globals/pg15_odd_names.expected", &elen);
	struct globals *g = NULL;
	int rc = globals_parse(in, len, &g);
	if (rc != 0)
		fail_msg("%s", pw_error_message());
	assert_string_equal(g->encoding, "UTF8");
	char *got = render_all(g, 0);
	assert_string_equal(got, expected);
	/* the typed fields of a few statements */
	const struct gl_stmt *weird = NULL, *admin = NULL, *ts = NULL, *nl = NULL;
	for (size_t i = 0; i < g->n; i++) {
		const struct gl_stmt *s = &g->v[i];
		if (s->kind == GL_ALTER_ROLE && strcmp(s->name, "we\"ird") == 0)
			weird = s;
		if (s->kind == GL_GRANT_ROLE && s->admin == GL_OPT_TRUE)
			admin = s;
		if (s->kind == GL_CREATE_TABLESPACE)
			ts = s;
		if (s->kind == GL_CREATE_ROLE && strcmp(s->name, "new\nline") == 0)
			nl = s;
	}
	assert_non_null(weird);
	assert_true(weird->has_conn_limit);
	assert_int_equal(weird->conn_limit, 5);
	assert_string_equal(weird->valid_until, "2031-01-02 03:04:05+00");
	assert_true(weird->set & GL_A_LOGIN);
	assert_true(weird->clear & GL_A_SUPERUSER);
	assert_non_null(admin);
	assert_string_equal(admin->name, "\xc3\xbcn\xc3\xaf\xe2\x82\xac"
	                                 "ode");
	assert_string_equal(admin->role, "a--b");
	assert_string_equal(admin->grantor, "postgres");
	assert_non_null(ts);
	assert_string_equal(ts->name, "t s");
	assert_string_equal(ts->role, "plain");
	assert_string_equal(ts->text, "/var/lib/postgresql/ts1");
	assert_non_null(nl);
	assert_int_equal(nl->line, 20);
	/* strip: privileged attributes turn into their NO form */
	char *stripped = render_all(g, GL_A_PRIVILEGED);
	assert_null(strstr(stripped, " SUPERUSER"));
	assert_null(strstr(stripped, " REPLICATION"));
	assert_null(strstr(stripped, " BYPASSRLS"));
	assert_null(strstr(stripped, " CREATEROLE"));
	assert_non_null(strstr(stripped, "ALTER ROLE \"supr\" WITH NOSUPERUSER INHERIT"));
	pw_free(stripped);
	pw_free(got);
	globals_free(g);
	pw_free(in);
	pw_free(expected);
}

/* Parse text; expect success with n statements. */
static struct globals *ok(const char *text, size_t n)
{
	struct globals *g = NULL;
	int rc = globals_parse(text, strlen(text), &g);
	if (rc != 0)
		fail_msg("refused: %s\n--- input:\n%s", pw_error_message(), text);
	assert_int_equal(g->n, n);
	return g;
}

static void check_render(const char *text, const char *want)
{
	struct globals *g = ok(text, 1);
	char *s = globals_render(&g->v[0], 0, t_ident, t_literal, NULL);
	assert_string_equal(s, want);
	pw_free(s);
	globals_free(g);
}

static void every_statement_form(void **state)
{
	(void)state;
	check_render("CREATE ROLE plain;\n", "CREATE ROLE \"plain\"");
	check_render("create role \"A\"\"b\";", "CREATE ROLE \"A\"\"b\"");
	check_render("CREATE ROLE MiXed;\n", "CREATE ROLE \"mixed\"");
	check_render("ALTER ROLE r WITH SUPERUSER NOINHERIT CREATEROLE NOCREATEDB LOGIN "
	             "REPLICATION BYPASSRLS CONNECTION LIMIT -1 VALID UNTIL 'infinity';",
	             "ALTER ROLE \"r\" WITH SUPERUSER NOINHERIT CREATEROLE NOCREATEDB LOGIN "
	             "REPLICATION BYPASSRLS CONNECTION LIMIT -1 VALID UNTIL 'infinity'");
	check_render("ALTER ROLE r WITH NOLOGIN;", "ALTER ROLE \"r\" WITH NOLOGIN");
	check_render("ALTER ROLE r SET work_mem TO '64MB';",
	             "ALTER ROLE \"r\" SET \"work_mem\" TO '64MB'");
	check_render("ALTER ROLE r SET \"DateStyle\" = 'ISO, MDY';",
	             "ALTER ROLE \"r\" SET \"DateStyle\" TO 'ISO, MDY'");
	check_render("ALTER ROLE r IN DATABASE \"d b\" SET statement_timeout TO '5s';",
	             "ALTER ROLE \"r\" IN DATABASE \"d b\" SET \"statement_timeout\" TO '5s'");
	check_render("COMMENT ON ROLE r IS 'it''s \\ here';",
	             "COMMENT ON ROLE \"r\" IS  E'it''s \\\\ here'");
	check_render("COMMENT ON TABLESPACE t IS 'x';", "COMMENT ON TABLESPACE \"t\" IS 'x'");
	check_render("GRANT a TO b;", "GRANT \"a\" TO \"b\"");
	check_render("GRANT a TO b WITH ADMIN OPTION GRANTED BY postgres;",
	             "GRANT \"a\" TO \"b\" WITH ADMIN OPTION GRANTED BY \"postgres\"");
	check_render("GRANT a TO b WITH INHERIT FALSE, SET TRUE GRANTED BY \"x\";",
	             "GRANT \"a\" TO \"b\" WITH INHERIT FALSE, SET TRUE GRANTED BY \"x\"");
	check_render("GRANT a TO b WITH ADMIN TRUE, INHERIT TRUE;",
	             "GRANT \"a\" TO \"b\" WITH ADMIN OPTION, INHERIT TRUE");
	check_render("CREATE TABLESPACE t OWNER o LOCATION '/srv/t';",
	             "CREATE TABLESPACE \"t\" OWNER \"o\" LOCATION '/srv/t'");
	/* a list setting value */
	check_render("ALTER ROLE r SET DateStyle TO 'ISO', 'MDY';",
	             "ALTER ROLE \"r\" SET \"datestyle\" TO 'ISO', 'MDY'");
	/* the preamble, comments, blank lines and \restrict are accepted and produce nothing */
	struct globals *g =
	    ok("--\n-- x\n--\n\n\\restrict abc123\n\nSET default_transaction_read_only "
	       "= off;\n\nSET client_encoding = 'LATIN1';\nSET "
	       "standard_conforming_strings = on;\n  \t\nCREATE ROLE a;\n"
	       "\\unrestrict abc123\n\n-- done\n",
	       1);
	assert_string_equal(g->encoding, "LATIN1");
	assert_int_equal(g->v[0].line, 12);
	globals_free(g);
	g = ok("", 0);
	globals_free(g);
	/* a role named like a keyword or with SQL in its name stays one name */
	check_render("CREATE ROLE \"x\"\"; DROP ROLE y; --\";",
	             "CREATE ROLE \"x\"\"; DROP ROLE y; --\"");
	/* multi-line names and strings */
	check_render("COMMENT ON ROLE \"a\nb\" IS 'l1\n-- l2\n';",
	             "COMMENT ON ROLE \"a\nb\" IS 'l1\n-- l2\n'");
}

struct refusal {
	const char *add; /* text inserted after line 16 of the real dump (the first CREATE ROLE) */
	const char *why; /* part of the message */
	int line;        /* the line the message names (0: the inserted line, 17) */
};

static const struct refusal refusals[] = {
    {"\\! touch /tmp/pwned\n", "a backslash command", 0},
    {"\\o /tmp/out\n", "a backslash command", 0},
    {"\\copy x to program 'id'\n", "a backslash command", 0},
    {"\\restrict abc\n", "not the first command", 0},
    {"\\unrestrict nope\n", "without its \\restrict", 0},
    {"  \\! id\n", "a backslash", 0},
    {"COPY x TO PROGRAM 'touch /tmp/pwned';\n", "a statement pgward does not apply", 0},
    {"DO $$begin perform 1; end$$;\n", "a dollar quote", 0},
    {"DO $x$ y $x$;\n", "a dollar quote", 0},
    {"SELECT 1;\n", "a statement pgward does not apply", 0},
    {"CREATE ROLE x SUPERUSER;\n", "CREATE ROLE with options", 0},
    {"CREATE ROLE x; DROP ROLE y;\n", "text after ';' on the same line", 0},
    {"CREATE ROLE x; -- hi\n", "text after ';' on the same line", 0},
    {"CREATE ROLE x -- hi\n;\n", "a comment inside a statement", 0},
    {"CREATE ROLE 'x';\n", "CREATE ROLE without a name", 0},
    {"COMMENT ON ROLE x IS E'\\x41';\n", "a prefixed string", 0},
    {"CREATE ROLE U&\"\\0041\";\n", "a prefixed string", 0},
    {"COMMENT ON ROLE x IS 'a'\n'b';\n", "text after a COMMENT", 18},
    {"COMMENT ON ROLE x IS 'a\n\\! id\n';\n", "a backslash command inside a statement", 18},
    {"CREATE ROLE \"a\n\\! id\";\n", "a backslash command inside a statement", 18},
    {"CREATE ROLE\n\\! id\nx;\n", "a backslash command inside a statement", 18},
    {"ALTER ROLE x WITH SUPERUSER PASSWORD 'p';\n", "a password", 0},
    {"ALTER ROLE x WITH ENCRYPTED PASSWORD 'p';\n", "a password", 0},
    {"ALTER ROLE x WITH LOGIN LOGIN;\n", "given twice", 0},
    {"ALTER ROLE x WITH LOGIN NOLOGIN;\n", "given twice", 0},
    {"ALTER ROLE x WITH;\n", "without attributes", 0},
    {"ALTER ROLE x WITH SYSID 5;\n", "a role attribute pgward does not accept", 0},
    {"ALTER ROLE x WITH IN ROLE pg_execute_server_program;\n",
     "a role attribute pgward does not accept", 0},
    {"ALTER ROLE x WITH CONNECTION LIMIT -2;\n", "out of range", 0},
    {"ALTER ROLE x WITH CONNECTION LIMIT 99999999999;\n", "a number out of range", 0},
    {"ALTER ROLE x SET work_mem TO 64;\n", "not a string", 0},
    /* a parameter pgward does not apply is parsed as strictly as an allowed one */
    {"ALTER ROLE x SET search_path TO evil;\n", "not a string", 0},
    {"ALTER ROLE x SET search_path TO $$evil$$;\n", "a dollar quote", 0},
    {"ALTER ROLE x SET search_path TO E'evil';\n", "a prefixed string", 0},
    {"ALTER ROLE x SET search_path;\n", "a malformed ALTER ROLE ... SET", 0},
    {"ALTER ROLE x SET search_path TO 'a' 'b';\n", "text after the setting's value", 0},
    {"ALTER ROLE x SET search_path TO 'a'; SELECT 1;\n", "text after ';' on the same line", 0},
    {"ALTER ROLE x SET session_preload_libraries TO '/tmp/evil.so'; \\! id\n",
     "text after ';' on the same line", 0},
    {"ALTER ROLE x SET role TO 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', "
     "'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'a', 'b', 'c', 'd', 'e', "
     "'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', "
     "'x', 'y', 'z', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm';\n",
     "too many values", 0},
    {"ALTER ROLE x SET "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa TO 'x';\n",
     "a name longer than PostgreSQL keeps", 0},
    {"ALTER ROLE x RENAME TO y;\n", "an ALTER ROLE pgward does not accept", 0},
    {"ALTER SYSTEM SET archive_command = 'id';\n", "an ALTER statement pgward does not accept", 0},
    {"GRANT a, b TO c;\n", "a GRANT of several roles", 0},
    {"GRANT ALL ON DATABASE d TO c;\n", "a GRANT pgward does not accept", 0},
    {"GRANT SET ON PARAMETER work_mem TO c;\n", "a GRANT pgward does not accept", 0},
    {"GRANT a TO b WITH ADMIN OPTION, ADMIN OPTION;\n", "given twice", 0},
    {"GRANT a TO b WITH GRANT OPTION;\n", "a GRANT option pgward does not accept", 0},
    {"GRANT a TO b GRANTED BY;\n", "a malformed GRANTED BY", 0},
    {"GRANT a TO b; GRANT c TO d;\n", "text after ';' on the same line", 0},
    {"COMMENT ON DATABASE d IS 'x';\n", "a COMMENT on something other", 0},
    {"CREATE TABLESPACE t OWNER o LOCATION '/x' WITH x;\n", "CREATE TABLESPACE with options", 0},
    {"CREATE TABLESPACE t LOCATION '/x';\n", "a CREATE TABLESPACE pgward does not accept", 0},
    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';\n",
     "a character pgward does not accept", 0},
    {"CREATE EXTENSION adminpack;\n", "a CREATE statement pgward does not accept", 0},
    {"SET session_preload_libraries = 'evil';\n", "a SET pgward does not accept", 0},
    {"SET role = postgres;\n", "a SET pgward does not accept", 0},
    {"SET standard_conforming_strings = on;\n", "a SET after the first role statement", 0},
    {"CREATE ROLE x\n", "CREATE ROLE with options", 18},
    {"CREATE ROLE \"\";\n", "an empty quoted name", 0},
    {"CREATE ROLE "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\";\n",
     "a name or string too long", 0},
    {"CREATE ROLE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;\n",
     "a name longer than PostgreSQL keeps", 0},
    {"CREATE ROLE x/*c*/;\n", "a character pgward does not accept", 0},
    {"CREATE ROLE (x);\n", "a character pgward does not accept", 0},
    {"CREATE ROLE x;;\n", "text after ';' on the same line", 0},
    {"CREATE ROLE 5x;\n", "a malformed number", 0},
    {"CREATE ROLE \xc3\xa9t\xc3\xa9;\n", "a character pgward does not accept", 0},
};

static void every_refusal(void **state)
{
	(void)state;
	size_t len;
	char *base = slurp("globals/pg15_odd_names.sql", &len);
	/* the end of line 16 */
	const char *cut = base;
	for (int l = 1; l < 17; l++)
		cut = strchr(cut, '\n') + 1;
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal *r = &refusals[i];
		struct pw_buf b = PW_BUF_INIT(1 << 24);
		pw_buf_append(&b, base, (size_t)(cut - base));
		pw_buf_append(&b, r->add, strlen(r->add));
		pw_buf_append(&b, cut, len - (size_t)(cut - base));
		struct globals *g = (struct globals *)1;
		int rc = globals_parse((const char *)b.data, b.len, &g);
		if (rc != -PW_E_ARCHIVE)
			fail_msg("case %zu (%s): rc %d, %s", i, r->add, rc, pw_error_message());
		assert_null(g);
		char want[64];
		snprintf(want, sizeof want, "globals line %d: ", r->line ? r->line : 17);
		if (!strstr(pw_error_message(), want) || !strstr(pw_error_message(), r->why))
			fail_msg("case %zu: want \"%s\" and \"%s\" in: %s", i, want, r->why,
			         pw_error_message());
		/* the excerpt is sanitized: no control byte reaches the message */
		for (const char *c = pw_error_message(); *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
		assert_non_null(strstr(pw_error_hint_text(), "Nothing was applied"));
		pw_buf_free(&b, 0);
		pw_error_clear();
	}
	pw_free(base);
}

static void structural_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		const char *why;
	} cases[] = {
	    {"CREATE ROLE a;\n\\restrict k1\n", 0, "not the first command"},
	    {"\\restrict k1\nCREATE ROLE a;\n", 0, "without its \\unrestrict"},
	    {"\\restrict k1\nCREATE ROLE a;\n\\unrestrict k2\n", 0, "without its \\restrict"},
	    {"\\restrict k1\n\\unrestrict k1\nCREATE ROLE a;\n", 0, "after \\unrestrict"},
	    {"\\restrict k-1\n", 0, "a backslash command"},
	    {"\\restrict\n", 0, "a backslash command"},
	    {"CREATE ROLE a", 0, "without its ';'"},
	    {"CREATE ROLE a;\nCREATE ROLE \"x;\n", 0, "line 2: an unterminated quoted name"},
	    {"COMMENT ON ROLE x IS 'abc;\nCREATE ROLE a;\n", 0, "line 1: an unterminated string"},
	    {"CREATE ROLE a\0;\n", 15, "a NUL byte"},
	    {"-- c\0\nCREATE ROLE a;\n", 20, "a NUL byte"},
	    {"CREATE ROLE \"a\0\";\n", 18, "a NUL byte"},
	    {"SET client_encoding = 'UTF8; x';\n", 0, "a SET pgward does not accept"},
	    {"SET standard_conforming_strings = off;\n", 0, "a SET pgward does not accept"},
	    {"SET default_transaction_read_only = on;\n", 0, "a SET pgward does not accept"},
	    {"SET search_path = evil;\n", 0, "a SET pgward does not accept"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct globals *g = NULL;
		size_t n = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int rc = globals_parse(cases[i].in, n, &g);
		if (rc != -PW_E_ARCHIVE || !strstr(pw_error_message(), cases[i].why))
			fail_msg("case %zu: rc %d: %s", i, rc, pw_error_message());
		assert_null(g);
		pw_error_clear();
	}
	/* the size cap */
	struct globals *g = NULL;
	assert_int_equal(globals_parse("", GLOBALS_MAX_INPUT + 1u, &g), -PW_E_LIMIT);
	pw_error_clear();
	/* excerpts: control bytes and escape sequences are shown as \xNN */
	const char *esc = "CREATE ROLE x; \x1b]0;pwned\x07\n";
	assert_int_equal(globals_parse(esc, strlen(esc), &g), -PW_E_ARCHIVE);
	assert_non_null(strstr(pw_error_message(), "\\x1b]0;pwned\\x07"));
	pw_error_clear();
}

/* A setting of a parameter pgward does not apply is parsed and kept (globals_apply() skips
 * and reports it); the statements around it are unaffected. */
static void disallowed_settings_kept(void **state)
{
	(void)state;
	struct globals *g =
	    ok("CREATE ROLE app;\n"
	       "ALTER ROLE app SET search_path TO '$user', 'public';\n"
	       "ALTER ROLE app SET role TO 'postgres';\n"
	       "ALTER ROLE app IN DATABASE d SET session_preload_libraries TO '/tmp/evil.so';\n"
	       "ALTER ROLE app SET \"myext.tenant\" = 'it''s';\n"
	       "ALTER ROLE app SET work_mem TO '64MB';\n"
	       "CREATE ROLE other;\n",
	       7);
	static const char *const params[] = {"search_path", "role", "session_preload_libraries",
	                                     "myext.tenant", "work_mem"};
	for (size_t i = 0; i < 5; i++) {
		const struct gl_stmt *s = &g->v[i + 1];
		assert_int_equal(s->kind, GL_ROLE_SET);
		assert_string_equal(s->name, "app");
		assert_string_equal(s->param, params[i]);
		assert_int_equal(s->line, (int)i + 2);
		assert_true(globals_param_allowed(s->param) == (i == 4));
	}
	assert_string_equal(g->v[3].database, "d");
	assert_int_equal(g->v[1].nvalues, 2);
	assert_string_equal(g->v[1].values[0], "$user");
	/* the canonical statement an admin may run after reading it */
	char *sql = globals_render(&g->v[1], 0, t_ident, t_literal, NULL);
	assert_string_equal(sql, "ALTER ROLE \"app\" SET \"search_path\" TO '$user', 'public'");
	pw_free(sql);
	sql = globals_render(&g->v[4], 0, t_ident, t_literal, NULL);
	assert_string_equal(sql, "ALTER ROLE \"app\" SET \"myext.tenant\" TO 'it''s'");
	pw_free(sql);
	sql = globals_render(&g->v[3], 0, t_ident, t_literal, NULL);
	assert_string_equal(sql, "ALTER ROLE \"app\" IN DATABASE \"d\" SET "
	                         "\"session_preload_libraries\" TO '/tmp/evil.so'");
	pw_free(sql);
	globals_free(g);
}

static void policy(void **state)
{
	(void)state;
	assert_true(globals_param_allowed("work_mem"));
	assert_true(globals_param_allowed("DateStyle"));
	assert_false(globals_param_allowed("search_path"));
	assert_false(globals_param_allowed("session_preload_libraries"));
	assert_false(globals_param_allowed("role"));
	assert_false(globals_param_allowed("work_mem "));
	assert_true(globals_role_privileged_by_name("pg_execute_server_program"));
	assert_true(globals_role_privileged_by_name("pg_write_server_files"));
	assert_true(globals_role_privileged_by_name("pg_read_all_data"));
	assert_true(globals_role_privileged_by_name("pg_some_future_role"));
	assert_false(globals_role_privileged_by_name("pg_monitor"));
	assert_false(globals_role_privileged_by_name("app"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(real_dump_parses_and_renders),
	    cmocka_unit_test(every_statement_form),
	    cmocka_unit_test(every_refusal),
	    cmocka_unit_test(structural_refusals),
	    cmocka_unit_test(disallowed_settings_kept),
	    cmocka_unit_test(policy),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
