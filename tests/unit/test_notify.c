/*
 * test_notify.c - the webhook bodies and their signature (src/daemon/notify.c): the JSON
 * document of each event, the Slack text (its markup escaped: a message cannot make a
 * link), secrets and control characters out of messages, and the HMAC against a vector
 * computed with OpenSSL's command line:
 *   printf '%s' "1765069323.$BODY" | openssl dgst -sha256 -hmac "$KEY"
 */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/secret.h"
#include "common/time.h"
#include "daemon/notify.h"

/* printf %s "1765069323.$FAILURE_BODY" | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef */
#define SIGNATURE_VECTOR "2880cca77ec51c296b1352fb736686135dbe7d8d99e6bfedcec7e28affa4ee25"

static time_t T(const char *iso)
{
	time_t t = 0;
	assert_int_equal(pw_time_parse(iso, PW_TIME_ISO, false, &t, NULL), 0);
	return t;
}

static char *body(const struct notify_event *ev, enum notify_format f, const char *host)
{
	struct pw_buf b = PW_BUF_INIT(1 << 16);
	assert_int_equal(notify_body(ev, f, host, &b), 0);
	char *s = strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return s;
}

#define FAILURE_BODY                                                                               \
	"{\"event\":\"failure\",\"stanza\":\"main\",\"kind\":\"backup\",\"job_id\":7,"             \
	"\"at\":\"2026-12-07T01:02:03Z\",\"exit_code\":20,\"duration\":1.5,"                       \
	"\"message\":\"could not connect to \\\"postgresql://u:********@db/x\\\"\","               \
	"\"deadline\":null,\"host\":\"bk1\"}"

static void test_json_failure(void **state)
{
	(void)state;
	struct notify_event ev = {.what = NOTIFY_FAILURE,
	                          .stanza = "main",
	                          .kind = PLAN_BACKUP,
	                          .job_id = 7,
	                          .at = T("2026-12-07T01:02:03Z"),
	                          .exit_code = 20,
	                          .duration = 1.5,
	                          .message =
	                              "could not connect to \"postgresql://u:hunter2@db/x\""};
	char *s = body(&ev, NOTIFY_JSON, "bk1");
	assert_string_equal(s, FAILURE_BODY);
	free(s);
}

static void test_json_deadman(void **state)
{
	(void)state;
	struct notify_event ev = {.what = NOTIFY_DEADMAN,
	                          .stanza = "main",
	                          .kind = PLAN_VERIFY,
	                          .job_id = 3, /* not a job's event: not shown */
	                          .at = T("2026-12-07T01:02:03Z"),
	                          .message = "ignored",
	                          .deadline = T("2026-12-06T03:00:00Z")};
	char *s = body(&ev, NOTIFY_JSON, NULL);
	assert_string_equal(s, "{\"event\":\"deadman\",\"stanza\":\"main\",\"kind\":\"verify\","
	                       "\"job_id\":null,\"at\":\"2026-12-07T01:02:03Z\","
	                       "\"exit_code\":null,\"duration\":null,\"message\":null,"
	                       "\"deadline\":\"2026-12-06T03:00:00Z\",\"host\":null}");
	free(s);
	ev.what = NOTIFY_SUCCESS;
	ev.duration = 12;
	s = body(&ev, NOTIFY_JSON, NULL);
	assert_non_null(strstr(s, "\"event\":\"success\""));
	assert_non_null(strstr(s, "\"job_id\":3"));
	assert_non_null(strstr(s, "\"exit_code\":0,\"duration\":12.0,\"message\":null,"
	                          "\"deadline\":null"));
	free(s);
}

/* A live secret (a webhook URL's token, a password) is redacted from a message, and a
 * message cannot carry terminal escapes or newlines to the receiver. */
static void test_message_cleaned(void **state)
{
	(void)state;
	struct pw_secret *tok = pw_secret_from_str("T0KEN-abcdef-123");
	struct notify_event ev = {.what = NOTIFY_FAILURE,
	                          .stanza = "main",
	                          .kind = PLAN_EXPIRE,
	                          .message = "bad T0KEN-abcdef-123 here\n\x1b[31mred"};
	char *s = body(&ev, NOTIFY_JSON, NULL);
	assert_null(strstr(s, "T0KEN"));
	assert_non_null(strstr(s, "********"));
	json_t *j = json_loads(s, 0, NULL);
	assert_non_null(j);
	const char *m = json_string_value(json_object_get(j, "message"));
	assert_non_null(m);
	assert_null(strchr(m, '\x1b')); /* shown as the text \x1b */
	assert_null(strchr(m, '\n'));
	assert_non_null(strstr(m, "\\x1b[31mred"));
	json_decref(j);
	free(s);
	pw_secret_free(tok);
}

static void test_slack(void **state)
{
	(void)state;
	struct notify_event ev = {.what = NOTIFY_FAILURE,
	                          .stanza = "main",
	                          .kind = PLAN_BACKUP,
	                          .job_id = 9,
	                          .exit_code = 30,
	                          .message = "<https://evil.example|click here> & more"};
	char *s = body(&ev, NOTIFY_SLACK, "bk<1>");
	assert_string_equal(s, "{\"text\":\"pgward on bk&lt;1&gt;: FAILED: the backup of stanza "
	                       "\\\"main\\\" (job 9, exit 30): &lt;https://evil.example|click "
	                       "here&gt; &amp; more\"}");
	free(s);
	const enum notify_what all[] = {NOTIFY_START, NOTIFY_SUCCESS, NOTIFY_RECOVERY,
	                                NOTIFY_DEADMAN, NOTIFY_DEADMAN_CLEAR};
	const char *want[] = {"started", "succeeded in", "RECOVERED", "DEAD-MAN ALARM",
	                      "alarm cleared"};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		ev.what = all[i];
		s = body(&ev, NOTIFY_SLACK, NULL);
		assert_non_null(strstr(s, want[i]));
		assert_null(strstr(s, "evil")); /* only a failure carries its message */
		free(s);
	}
}

static void test_bad_events(void **state)
{
	(void)state;
	struct pw_buf b = PW_BUF_INIT(1 << 16);
	struct notify_event ev = {.what = NOTIFY__COUNT, .stanza = "main"};
	assert_int_equal(notify_body(&ev, NOTIFY_JSON, NULL, &b), -PW_E_INTERNAL);
	pw_error_clear();
	ev.what = NOTIFY_START;
	ev.stanza = "\xff\xfe"; /* not UTF-8: no body, an error */
	assert_true(notify_body(&ev, NOTIFY_JSON, NULL, &b) < 0);
	pw_error_clear();
	assert_int_equal(b.len, 0);
	pw_buf_free(&b, 0);
	assert_string_equal(notify_what_name(NOTIFY_DEADMAN_CLEAR), "deadman_clear");
	assert_string_equal(notify_what_name(NOTIFY__COUNT), "?");
}

static void test_signature(void **state)
{
	(void)state;
	const char *key = "0123456789abcdef0123456789abcdef";
	const char *b = FAILURE_BODY;
	char hex[65];
	assert_int_equal(
	    notify_sign((const uint8_t *)key, strlen(key), 1765069323LL, b, strlen(b), hex), 0);
	assert_string_equal(hex, SIGNATURE_VECTOR);
	/* the timestamp is covered: another one, another signature */
	char other[65];
	assert_int_equal(
	    notify_sign((const uint8_t *)key, strlen(key), 1765069324LL, b, strlen(b), other), 0);
	assert_string_not_equal(hex, other);
}

/* ---- receivers from the configuration ---- */

static char dir[64];

static void put(const char *name, const char *text, mode_t mode)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

/* Load the configuration text for the stanzas named; returns the loader's result. */
static int load(const char *conf, const char *const *names, size_t n, struct notify_config **out)
{
	char path[128];
	snprintf(path, sizeof path, "%s/pgward.conf", dir);
	put("pgward.conf", conf, 0600);
	struct pw_config *cfg[4];
	struct notify_stanza st[4];
	for (size_t i = 0; i < n; i++) {
		cfg[i] = pw_config_new();
		assert_int_equal(pw_config_load_file(cfg[i], path, names[i]), 0);
		st[i] = (struct notify_stanza){names[i], cfg[i]};
	}
	int rc = notify_config_load(st, n, out);
	for (size_t i = 0; i < n; i++)
		pw_config_free(cfg[i]);
	return rc;
}

static void test_config_receivers(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pgward-notify.XXXXXX");
	assert_non_null(mkdtemp(dir));
	put("a.url", "https://hooks.example.com/services/T000/B000/XyZsecretTokenXyZ\n", 0600);
	put("b.url", "http://127.0.0.1:8080/hook?token=QqSecretQq\n", 0600);
	put("c.url", "https://chat.example.org/hooks/CcSecretCc\n", 0600);
	put("k.key", "0123456789abcdef0123\n", 0600);
	char conf[1024];
	snprintf(conf, sizeof conf,
	         "[global]\nwebhook-url-file = %s/a.url\nwebhook-url-file = %s/b.url\n"
	         "webhook-secret-file = %s/k.key\n"
	         "[x]\n[y]\nwebhook-url-file = %s/c.url\nwebhook-format = slack\n"
	         "webhook-events = success, deadman\n[z]\n",
	         dir, dir, dir, dir);
	const char *names[] = {"x", "y", "z"};
	struct notify_config *c = NULL;
	assert_int_equal(load(conf, names, 3, &c), 0);
	/* x and z share the global two; y's own list replaces them */
	assert_int_equal(notify_config_count(c), 3);
	struct notify_target_info ti;
	notify_config_target(c, 0, &ti);
	assert_string_equal(ti.shown, "https://hooks.example.com/...");
	assert_string_equal(ti.stanzas, "x, z");
	assert_string_equal(ti.events, "failure,recovery,deadman");
	assert_true(ti.is_signed);
	assert_int_equal(ti.format, NOTIFY_JSON);
	notify_config_target(c, 1, &ti);
	assert_string_equal(ti.shown, "http://127.0.0.1/...");
	notify_config_target(c, 2, &ti);
	assert_string_equal(ti.stanzas, "y");
	assert_string_equal(ti.events, "success,deadman");
	assert_int_equal(ti.format, NOTIFY_SLACK);
	assert_true(ti.is_signed); /* the global key applies to the stanza's receivers too */
	/* while loaded, the URLs (and their paths alone) are redacted from any line */
	char *r =
	    pw_redact("posting to https://hooks.example.com/services/T000/B000/XyZsecretTokenXyZ "
	              "and /hook?token=QqSecretQq");
	assert_null(strstr(r, "XyZsecretTokenXyZ"));
	assert_null(strstr(r, "QqSecretQq"));
	pw_free(r);
	notify_config_free(c);

	/* refused: clear text to another host, another scheme, spaces, a readable file, a
	 * short key, an unknown event; none of the errors shows the URL */
	struct {
		const char *url, *extra;
		int code;
		const char *needle;
	} bad[] = {
	    {"http://example.com/h/TokA1", "", PW_E_INSECURE, "is http to \"example.com\""},
	    {"ftp://127.0.0.1/h/TokA2", "", PW_E_INSECURE, "is ftp to"},
	    {"https://ex ample.com/TokA3", "", PW_E_CONFIG, "is not a URL"},
	    {"/just/a/path/TokA4", "", PW_E_CONFIG, "is not a URL"},
	    {"https://ok.example.com/TokA5", "webhook-events = start,boom\n", PW_E_CONFIG,
	     "unknown event \"boom\""},
	    {"https://ok.example.com/TokA6", "webhook-events = ,\n", PW_E_CONFIG, "is empty"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char line[160];
		snprintf(line, sizeof line, "%s\n", bad[i].url);
		put("bad.url", line, 0600);
		snprintf(conf, sizeof conf, "[x]\nwebhook-url-file = %s/bad.url\n%s", dir,
		         bad[i].extra);
		assert_int_equal(load(conf, names, 1, &c), -bad[i].code);
		assert_null(c);
		assert_non_null(strstr(pw_error_message(), bad[i].needle));
		assert_null(strstr(pw_error_message(), "Tok"));
		pw_error_clear();
	}
	put("a.url", "https://hooks.example.com/x\n", 0644);
	snprintf(conf, sizeof conf, "[x]\nwebhook-url-file = %s/a.url\n", dir);
	assert_int_equal(load(conf, names, 1, &c), -PW_E_INSECURE);
	pw_error_clear();
	put("a.url", "https://hooks.example.com/x\n", 0600);
	put("short.key", "0123456789\n", 0600);
	snprintf(conf, sizeof conf,
	         "[x]\nwebhook-url-file = %s/a.url\nwebhook-secret-file = %s/short.key\n", dir,
	         dir);
	assert_int_equal(load(conf, names, 1, &c), -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_message(), "shorter than 16 bytes"));
	pw_error_clear();
	/* no receiver: an empty set, and a notifier that is not started */
	assert_int_equal(load("[x]\n", names, 1, &c), 0);
	assert_int_equal(notify_config_count(c), 0);
	struct notifier *n = (struct notifier *)&n;
	assert_int_equal(notifier_start(&c, &n), 0);
	assert_null(n);
	assert_null(c);
	notifier_post(NULL, NULL);
	notifier_stop(NULL);
	const char *files[] = {"a.url",   "b.url",     "c.url",      "k.key",
	                       "bad.url", "short.key", "pgward.conf"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char p[128];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_failure),     cmocka_unit_test(test_json_deadman),
	    cmocka_unit_test(test_message_cleaned),  cmocka_unit_test(test_slack),
	    cmocka_unit_test(test_bad_events),       cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_config_receivers),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
