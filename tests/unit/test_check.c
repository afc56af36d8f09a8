/* test_check.c - the checklist's pure logic: severity order and --fail-on, the end-of-life
 * table, hba line classification, read-only markers, and the report renderings. */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "check/internal.h"
#include "common/mem.h"

static void t_severity(void **state)
{
	(void)state;
	static const char *names[] = {"info", "low", "medium", "high", "critical"};
	enum chk_severity s;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(chk_severity_parse(names[i], &s), 0);
		assert_int_equal((int)s, i);
		assert_string_equal(chk_severity_name(s), names[i]);
	}
	assert_true(CHK_SEV_INFO < CHK_SEV_LOW && CHK_SEV_LOW < CHK_SEV_MEDIUM &&
	            CHK_SEV_MEDIUM < CHK_SEV_HIGH && CHK_SEV_HIGH < CHK_SEV_CRITICAL);
	assert_int_equal(chk_severity_parse("never", &s), 0);
	assert_int_equal((int)s, CHK_SEV_NEVER);
	assert_string_equal(chk_severity_name(s), "never");
	assert_int_equal(chk_severity_parse("High", &s), -1);
	assert_int_equal(chk_severity_parse("", &s), -1);
	assert_int_equal(chk_severity_parse(NULL, &s), -1);
}

static void t_fail_on(void **state)
{
	(void)state;
	struct chk_finding f = {.severity = CHK_SEV_HIGH, .result = CHK_FAIL};
	assert_true(chk_fails(&f, CHK_SEV_HIGH));
	assert_true(chk_fails(&f, CHK_SEV_INFO));
	assert_false(chk_fails(&f, CHK_SEV_CRITICAL));
	assert_false(chk_fails(&f, (enum chk_severity)CHK_SEV_NEVER));
	f.result = CHK_WARN;
	assert_true(chk_fails(&f, CHK_SEV_MEDIUM));
	/* a skip because the server could not be read counts under any threshold but never */
	struct chk_finding u = {.severity = CHK_SEV_LOW, .result = CHK_SKIP, .unread = true};
	assert_true(chk_fails(&u, CHK_SEV_CRITICAL));
	assert_false(chk_fails(&u, (enum chk_severity)CHK_SEV_NEVER));
	/* pass, skip and info never fail, whatever their severity */
	enum chk_result ok[] = {CHK_PASS, CHK_SKIP, CHK_INFO};
	for (size_t i = 0; i < 3; i++) {
		f.result = ok[i];
		f.severity = CHK_SEV_CRITICAL;
		assert_false(chk_fails(&f, CHK_SEV_INFO));
	}
}

static void t_eol(void **state)
{
	(void)state;
	struct {
		int major;
		const char *date;
	} want[] = {{12, "2024-11-21"}, {13, "2025-11-13"}, {14, "2026-11-12"}, {15, "2027-11-11"},
	            {16, "2028-11-09"}, {17, "2029-11-08"}, {18, "2030-11-14"}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		time_t t = chk_eol_date(want[i].major);
		char buf[16];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
		assert_string_equal(buf, want[i].date);
	}
	assert_int_equal(chk_eol_date(11), 0);
	assert_int_equal(chk_eol_date(19), 0);
}

static void t_netmask(void **state)
{
	(void)state;
	assert_int_equal(chk_netmask_bits("255.255.255.255"), 32);
	assert_int_equal(chk_netmask_bits("255.255.0.0"), 16);
	assert_int_equal(chk_netmask_bits("255.0.0.0"), 8);
	assert_int_equal(chk_netmask_bits("0.0.0.0"), 0);
	assert_int_equal(chk_netmask_bits("255.255.255.128"), 25);
	assert_int_equal(chk_netmask_bits("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 128);
	assert_int_equal(chk_netmask_bits("ffff:ffff::"), 32);
	assert_int_equal(chk_netmask_bits("::"), 0);
	assert_int_equal(chk_netmask_bits("255.0.255.0"), -1); /* not contiguous */
	assert_int_equal(chk_netmask_bits("nonsense"), -1);
	assert_int_equal(chk_netmask_bits(NULL), -1);
}

static enum chk_hba_scope scope(const char *type, const char *addr, const char *mask)
{
	struct chk_hba_line l = {type, "all", "all", addr, mask, "scram-sha-256"};
	return chk_hba_scope(&l);
}

static void t_hba(void **state)
{
	(void)state;
	assert_int_equal(scope("local", NULL, NULL), CHK_HBA_LOCAL);
	assert_int_equal(scope("host", "0.0.0.0", "0.0.0.0"), CHK_HBA_WORLD);
	assert_int_equal(scope("hostssl", "::", "::"), CHK_HBA_WORLD);
	assert_int_equal(scope("host", "all", NULL), CHK_HBA_WORLD);
	assert_int_equal(scope("host", "127.0.0.1", "255.255.255.255"), CHK_HBA_LOOPBACK);
	assert_int_equal(scope("host", "127.0.0.0", "255.0.0.0"), CHK_HBA_LOOPBACK);
	assert_int_equal(scope("host", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	                 CHK_HBA_LOOPBACK);
	assert_int_equal(scope("host", "samehost", NULL), CHK_HBA_LOOPBACK);
	assert_int_equal(scope("host", "10.0.0.0", "255.0.0.0"), CHK_HBA_WIDE);
	assert_int_equal(scope("host", "10.1.0.0", "255.255.0.0"), CHK_HBA_NARROW);
	assert_int_equal(scope("host", "2001:db8::", "ffff::"), CHK_HBA_WIDE);
	assert_int_equal(scope("host", "2001:db8::", "ffff:ffff:ffff::"), CHK_HBA_NARROW);
	assert_int_equal(scope("host", "app.example.com", NULL), CHK_HBA_NARROW);
	assert_int_equal(scope("host", "samenet", NULL), CHK_HBA_NARROW);

	struct chk_hba_line l = {"host", "all", "all", "0.0.0.0", "0.0.0.0", "reject"};
	assert_false(chk_hba_accepts(&l));
	assert_true(chk_hba_plaintext(&l));
	l.method = "trust";
	assert_true(chk_hba_accepts(&l));
	l.type = "hostssl";
	assert_false(chk_hba_plaintext(&l));
	l.type = "hostnossl";
	assert_true(chk_hba_plaintext(&l));
	l.type = "local";
	assert_false(chk_hba_plaintext(&l));
	/* hostnogssenc accepts plain TCP (and TLS); hostgssenc requires GSSAPI encryption */
	l.type = "hostnogssenc";
	assert_true(chk_hba_plaintext(&l));
	l.type = "hostgssenc";
	assert_false(chk_hba_plaintext(&l));
}

static void t_search_path(void **state)
{
	(void)state;
	assert_true(chk_search_path_safe("pg_catalog, pg_temp"));
	assert_true(chk_search_path_safe("\"\""));
	assert_true(chk_search_path_safe(""));
	assert_true(chk_search_path_safe("pg_catalog"));
	assert_true(chk_search_path_safe("app, pg_temp"));
	assert_true(chk_search_path_safe("\"my, schema\", \"pg_temp\""));
	assert_false(chk_search_path_safe("public"));
	assert_false(chk_search_path_safe("pg_temp, public"));
	assert_false(chk_search_path_safe("\"$user\", public"));
	assert_false(chk_search_path_safe("pg_catalog, \"pg_temp, x\""));
}

static void t_log_setting(void **state)
{
	(void)state;
	assert_true(chk_log_setting_on("on"));
	assert_true(chk_log_setting_on("receipt,authentication,authorization"));
	assert_true(chk_log_setting_on("all"));
	assert_false(chk_log_setting_on("off"));
	assert_false(chk_log_setting_on(""));
	assert_false(chk_log_setting_on("false"));
	assert_false(chk_log_setting_on(NULL));
}

static void t_url_host(void **state)
{
	(void)state;
	char h[64];
	chk_url_host("https://s3.eu-west-1.amazonaws.com", h, sizeof h);
	assert_string_equal(h, "s3.eu-west-1.amazonaws.com");
	chk_url_host("https://user:pass@minio.example.com:9000/x", h, sizeof h);
	assert_string_equal(h, "minio.example.com");
	chk_url_host("https://user@[2001:db8::1]:9000", h, sizeof h);
	assert_string_equal(h, "2001:db8::1");
	chk_url_host("http://127.0.0.1:7480", h, sizeof h);
	assert_string_equal(h, "127.0.0.1");
	chk_url_host("https://host.example/p@th", h, sizeof h);
	assert_string_equal(h, "host.example");
}

static void t_readonly(void **state)
{
	(void)state;
	assert_true(chk_marked_readonly("reporting_readonly", NULL));
	assert_true(chk_marked_readonly("app_ro", ""));
	assert_true(chk_marked_readonly("Read-Only-BI", NULL));
	assert_false(chk_marked_readonly("hero", NULL));
	assert_false(chk_marked_readonly("app", "application role"));
	assert_true(
	    chk_marked_readonly("bi", "{\"level\":\"read-only\",\"schemas\":[\"public\"]}"));
	assert_true(
	    chk_marked_readonly("bi", "{\"state\": \"active\", \"level\" : \"read-only\"}"));
	assert_true(chk_marked_readonly("bi", "readonly account for dashboards"));
	assert_false(chk_marked_readonly("bi", "{\"level\":\"read-write\"}"));
}

static struct chk_report sample(void)
{
	struct chk_report r = {.now = 1795000000};
	snprintf(r.database, sizeof r.database, "shop");
	snprintf(r.role, sizeof r.role, "monitor");
	snprintf(r.server_version, sizeof r.server_version, "15.20");
	struct chk_finding *f = chk_add(&r, "tls.server", "ssl = on", CHK_SEV_CRITICAL, "seed 004");
	chk_set(f, CHK_PASS, CHK_SEV_CRITICAL, "ssl = on");
	f = chk_add(&r, "net.allowlist", "no | world", CHK_SEV_CRITICAL, "seed 004");
	chk_set(f, CHK_FAIL, CHK_SEV_CRITICAL, "line 3: host all all 0.0.0.0/0 md5");
	chk_fix(f, "line 3: replace 0.0.0.0/0\n# pg_hba.conf");
	f = chk_add(&r, "tls.min-version", "TLS 1.2", CHK_SEV_HIGH, "seed 004");
	chk_set(f, CHK_SKIP, CHK_SEV_HIGH, "hidden");
	chk_fix(f, "GRANT pg_read_all_settings TO \"monitor\";");
	f = chk_add(&r, "audit.logging", "logging", CHK_SEV_MEDIUM, "seed 001");
	chk_set(f, CHK_WARN, CHK_SEV_LOW, "no pgaudit");
	return r;
}

static void t_report(void **state)
{
	(void)state;
	struct chk_report r = sample();
	assert_int_equal(chk_count_failing(&r, (enum chk_severity)CHK_SEV_NEVER), 0);
	assert_int_equal(chk_count_failing(&r, CHK_SEV_CRITICAL), 1);
	assert_int_equal(chk_count_failing(&r, CHK_SEV_LOW), 2);

	json_t *j = chk_report_json(&r, CHK_SEV_HIGH);
	assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "failing")), 1);
	assert_true(json_is_null(json_object_get(j, "stanza")));
	json_t *res = json_object_get(j, "results");
	assert_int_equal(json_array_size(res), 4);
	json_t *second = json_array_get(res, 1);
	assert_string_equal(json_string_value(json_object_get(second, "id")), "net.allowlist");
	assert_string_equal(json_string_value(json_object_get(second, "result")), "fail");
	assert_true(json_is_true(json_object_get(second, "fails_threshold")));
	assert_true(json_is_null(json_object_get(json_array_get(res, 0), "fix")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "skip")),
	                 1);
	json_decref(j);

	struct pw_buf b = PW_BUF_INIT(1 << 20);
	chk_render_text(&r, &b);
	const char *t = pw_buf_str(&b);
	assert_non_null(strstr(t, "net.allowlist                critical  fail   no | world\n"));
	assert_non_null(
	    strstr(t, "  fix:      line 3: replace 0.0.0.0/0\n            # pg_hba.conf\n"));
	assert_null(strstr(t, "evidence: ssl = on")); /* pass rows have no details */
	assert_non_null(strstr(t, "4 rules: 1 pass, 1 fail, 1 warn, 1 skip, 0 info"));
	pw_buf_free(&b, 0);

	chk_render_markdown(&r, &b);
	t = pw_buf_str(&b);
	assert_non_null(strstr(t, "| id | severity | result | title |\n|---|---|---|---|\n"));
	assert_non_null(strstr(t, "| `net.allowlist` | critical | **fail** | no \\| world |"));
	assert_non_null(strstr(t, "```\nGRANT pg_read_all_settings TO \"monitor\";\n```"));
	pw_buf_free(&b, 0);
	chk_report_free(&r);
}

/* Object names come from the server: they must not inject markup, escape sequences or break
 * the JSON. */
static void t_report_injection(void **state)
{
	(void)state;
	struct chk_report r = {.now = 1795000000};
	snprintf(r.database, sizeof r.database, "sh`op\x1b[2J");
	snprintf(r.role, sizeof r.role, "mon");
	snprintf(r.server_version, sizeof r.server_version, "15");
	struct chk_finding *f = chk_add(&r, "priv.public-grants", "t", CHK_SEV_MEDIUM, "w");
	chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM,
	        "table public.\"x|y\": [click](http://evil) <img src=x> **b** \x1b]0;t\x07 "
	        "\xc2\x9b"
	        "31m bad\xff\xfe utf8 \xc3\xa9");
	chk_fix(f, "REVOKE ALL ON \"a````b\" FROM PUBLIC;\n```\n# injected\r");

	struct pw_buf b = PW_BUF_INIT(1 << 20);
	chk_render_text(&r, &b);
	const char *t = pw_buf_str(&b);
	assert_null(strchr(t, '\x1b'));
	assert_null(strchr(t, '\x07'));
	assert_null(strchr(t, '\r'));
	assert_null(strstr(t, "\xc2\x9b"));
	assert_null(strstr(t, "\xff"));
	assert_non_null(strstr(t, "\xc3\xa9")); /* valid UTF-8 stays */
	assert_non_null(strstr(t, "database \"sh`op\xef\xbf\xbd[2J\""));
	pw_buf_free(&b, 0);

	chk_render_markdown(&r, &b);
	t = pw_buf_str(&b);
	assert_null(strchr(t, '\x1b'));
	assert_null(strchr(t, '\r'));
	assert_non_null(strstr(t, "database sh\\`op"));
	assert_non_null(strstr(t, "x\\|y"));
	assert_non_null(strstr(t, "\\[click\\](http://evil) \\<img src=x\\> \\*\\*b\\*\\*"));
	/* the fence is longer than the longest backtick run of the fix */
	assert_non_null(strstr(t, "- Fix:\n\n`````\nREVOKE ALL ON \"a````b\" FROM PUBLIC;\n```\n# "
	                          "injected\xef\xbf\xbd\n`````\n"));
	pw_buf_free(&b, 0);

	json_t *j = chk_report_json(&r, CHK_SEV_HIGH);
	json_t *x = json_array_get(json_object_get(j, "results"), 0);
	const char *ev = json_string_value(json_object_get(x, "evidence"));
	assert_non_null(ev); /* invalid UTF-8 does not drop the key */
	assert_non_null(strstr(ev, "bad\xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9"));
	assert_non_null(json_string_value(json_object_get(x, "fix")));
	assert_non_null(json_string_value(json_object_get(j, "database")));
	json_decref(j);
	chk_report_free(&r);
}

/* Identifiers in printed fixes: one line, exactly that object, never inside a comment. */
static void t_quote_ident(void **state)
{
	(void)state;
	char *q = chk_quote_ident("plain");
	assert_string_equal(q, "\"plain\"");
	pw_free(q);
	q = chk_quote_ident("a\"b;--c");
	assert_string_equal(q, "\"a\"\"b;--c\"");
	pw_free(q);
	q = chk_quote_ident("x\nALTER ROLE evil SUPERUSER;--");
	assert_string_equal(q, "U&\"x\\000AALTER ROLE evil SUPERUSER;--\"");
	assert_null(strchr(q, '\n'));
	pw_free(q);
	q = chk_quote_ident("back\\slash\r\x1b\"\xc3\xa9");
	assert_string_equal(q, "U&\"back\\\\slash\\000D\\001B\"\"\xc3\xa9\"");
	pw_free(q);
	/* the server's quote_ident output, newline inside the quotes */
	q = chk_requote("SCHEMA \"s\nDROP TABLE t;--\".\"t\"\"x\"");
	assert_string_equal(q, "SCHEMA U&\"s\\000ADROP TABLE t;--\".\"t\"\"x\"");
	pw_free(q);
	q = chk_requote("public.orders");
	assert_string_equal(q, "public.orders");
	pw_free(q);

	/* evidence: a newline in a name does not forge a report line */
	struct chk_report r = {.now = 1795000000};
	snprintf(r.database, sizeof r.database, "shop");
	struct chk_finding *f = chk_add(&r, "priv.public-schema-create", "t", CHK_SEV_HIGH, "w");
	chk_set(f, CHK_FAIL, CHK_SEV_HIGH, "schema s\npass roles.superusers (high): forged");
	struct pw_buf b = PW_BUF_INIT(1 << 20);
	chk_render_text(&r, &b);
	assert_null(strstr(pw_buf_str(&b), "\npass roles.superusers"));
	assert_non_null(strstr(pw_buf_str(&b), "schema s\\npass roles.superusers"));
	pw_buf_free(&b, 0);
	chk_render_markdown(&r, &b);
	assert_null(strstr(pw_buf_str(&b), "\npass roles"));
	pw_buf_free(&b, 0);
	chk_report_free(&r);
}

/* The rule table: every rule has a unique id of the documented shape, a title and a why, a
 * real severity; the three rings come in report order; a short buffer is never overrun. */
static void t_rule_table(void **state)
{
	(void)state;
	size_t n = chk_rules_describe(NULL, 0);
	assert_true(n >= 40);
	struct chk_rule_desc *v = pw_calloc(n + 1, sizeof *v);
	assert_int_equal(chk_rules_describe(v, n), n);
	assert_null(v[n].id); /* nothing written past n */
	for (size_t i = 0; i < n; i++) {
		assert_non_null(v[i].id);
		assert_true(strlen(v[i].title) > 5 && strlen(v[i].why) > 20);
		assert_true(v[i].severity >= CHK_SEV_INFO && v[i].severity <= CHK_SEV_CRITICAL);
		assert_non_null(strchr(v[i].id, '.'));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(v[i].id, v[j].id);
		/* user-facing: public sources or plain reasons, no internal document names */
		assert_null(strstr(v[i].why, "seed "));
		assert_null(strstr(v[i].why, "spec/"));
		assert_null(strstr(v[i].why, "principle"));
	}
	assert_string_equal(v[0].id, "tls.server");
	assert_string_equal(v[n - 1].id, "backup.pitr");
	/* a buffer shorter than the table: filled up to cap, the count still told */
	struct chk_rule_desc few[3] = {0};
	assert_int_equal(chk_rules_describe(few, 2), n);
	assert_string_equal(few[1].id, v[1].id);
	assert_null(few[2].id);
	pw_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_quote_ident),      cmocka_unit_test(t_severity),
	    cmocka_unit_test(t_fail_on),          cmocka_unit_test(t_eol),
	    cmocka_unit_test(t_netmask),          cmocka_unit_test(t_hba),
	    cmocka_unit_test(t_readonly),         cmocka_unit_test(t_report),
	    cmocka_unit_test(t_report_injection), cmocka_unit_test(t_search_path),
	    cmocka_unit_test(t_log_setting),      cmocka_unit_test(t_url_host),
	    cmocka_unit_test(t_rule_table),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
