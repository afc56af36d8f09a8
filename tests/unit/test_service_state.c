/*
 * test_service_state.c - the service's state file (src/service/state.c): a round trip, the
 * file on disk (0600, atomic, a missing file is empty, a readable-by-others file or a link
 * is refused), and hostile contents: damaged, foreign, too large, too many stanzas, bad
 * names, unknown fields and values - each a clear error, never a crash.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/time.h"
#include "service/state.h"

static char dir[] = "/tmp/pgward-state-test-XXXXXX";

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[128];
	const char *names[] = {"s.json", "link.json", "open.json"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct svc_state *s = svc_state_new();
	struct plan_state *st;
	assert_int_equal(svc_state_put(s, "main", PLAN_BACKUP, &st), 0);
	st->first_seen = 1765000000;
	st->last_start = 1765001000;
	st->last_end = 1765002000;
	st->last_success = 1765002000;
	st->last_success_start = 1765001000;
	st->result = PLAN_RES_OK;
	assert_int_equal(svc_state_put(s, "main", PLAN_VERIFY, &st), 0);
	st->last_start = 1765003000;
	st->result = PLAN_RES_RUNNING;
	st->attempts = 3;
	assert_int_equal(svc_state_put(s, "other.db-1", PLAN_EXPIRE, &st), 0);
	st->result = PLAN_RES_FAILED;
	char *text = svc_state_dump(s);
	struct svc_state *back;
	assert_int_equal(svc_state_parse(text, strlen(text), "t", &back), 0);
	const struct plan_state *b = svc_state_get(back, "main", PLAN_BACKUP);
	assert_non_null(b);
	assert_int_equal(b->first_seen, 1765000000);
	assert_int_equal(b->last_success, 1765002000);
	assert_int_equal(b->last_success_start, 1765001000);
	assert_int_equal(b->result, PLAN_RES_OK);
	b = svc_state_get(back, "main", PLAN_VERIFY);
	assert_int_equal(b->last_success_start, 0); /* absent: never recorded */
	assert_null(strstr(strstr(text, "\"verify\""), "last_success_start"));
	assert_int_equal(b->result, PLAN_RES_RUNNING);
	assert_int_equal(b->attempts, 3);
	assert_int_equal(b->last_end, 0);
	assert_null(svc_state_get(back, "main", PLAN_EXPIRE));
	assert_null(svc_state_get(back, "nope", PLAN_BACKUP));
	assert_int_equal(svc_state_get(back, "other.db-1", PLAN_EXPIRE)->result, PLAN_RES_FAILED);
	assert_int_equal(svc_state_nstanzas(back), 2);
	/* and the same text again */
	char *again = svc_state_dump(back);
	assert_string_equal(text, again);
	pw_free(text);
	pw_free(again);
	svc_state_free(back);
	svc_state_free(s);
}

static void test_on_disk(void **state)
{
	(void)state;
	char path[128], link_path[128];
	snprintf(path, sizeof path, "%s/s.json", dir);
	snprintf(link_path, sizeof link_path, "%s/link.json", dir);
	struct svc_state *s;
	assert_int_equal(svc_state_load(path, &s), 0); /* missing: empty */
	assert_int_equal(svc_state_nstanzas(s), 0);
	struct plan_state *st;
	assert_int_equal(svc_state_put(s, "main", PLAN_BACKUP, &st), 0);
	st->last_start = 1765001000;
	assert_int_equal(svc_state_save(s, path), 0);
	svc_state_free(s);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(svc_state_load(path, &s), 0);
	assert_int_equal(svc_state_get(s, "main", PLAN_BACKUP)->last_start, 1765001000);
	/* saved again over itself (atomic replace) */
	assert_int_equal(svc_state_save(s, path), 0);
	svc_state_free(s);
	/* readable by others: refused */
	chmod(path, 0644);
	assert_int_equal(svc_state_load(path, &s), -PW_E_INSECURE);
	assert_null(s);
	chmod(path, 0600);
	/* a symbolic link: refused, not followed */
	assert_int_equal(symlink(path, link_path), 0);
	assert_true(svc_state_load(link_path, &s) < 0);
	assert_null(s);
	assert_true(svc_state_save(s = svc_state_new(), link_path) < 0);
	svc_state_free(s);
	/* standard input or nothing is not a state file */
	assert_int_equal(svc_state_load("-", &s), -PW_E_CONFIG);
	assert_int_equal(svc_state_load("", &s), -PW_E_CONFIG);
	/* too large on disk: refused before parsing */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < SVC_STATE_MAX_BYTES / 8 + 10; i++)
		fputs("        ", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(svc_state_load(path, &s), -PW_E_LIMIT);
	assert_null(s);
}

struct bad {
	const char *text;
	const char *needle;
};

static void test_hostile(void **state)
{
	(void)state;
	static const struct bad cases[] = {
	    {"", "not JSON"},
	    {"{", "not JSON"},
	    {"[]", "no \"format\""},
	    {"null", "not JSON"},
	    {"{\"format\":\"pgward-audit\",\"version\":1,\"stanzas\":{}}", "no \"format\""},
	    {"{\"format\":\"pgward-service-state\",\"version\":2,\"stanzas\":{}}", "version 2"},
	    {"{\"format\":\"pgward-service-state\",\"version\":\"1\",\"stanzas\":{}}", "version"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":[]}",
	     "\"stanzas\" is not an object"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"../x\":{}}}",
	     "bad stanza name \"../x\""},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"\":{}}}",
	     "bad stanza name"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":[]}}",
	     "not an object"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"restore\":{}"
	     "}"
	     "}}",
	     "unknown job kind \"restore\""},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"backup\":{"
	     "\"cmd\":\"rm -rf /\"}}}}",
	     "unknown field \"cmd\""},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"backup\":{"
	     "\"last_start\":\"2026-13-01T00:00:00Z\"}}}}",
	     "not a time"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"backup\":{"
	     "\"last_start\":12}}}}",
	     "not a time"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"backup\":{"
	     "\"result\":\"bogus\"}}}}",
	     "unknown result"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"backup\":{"
	     "\"attempts\":-1}}}}",
	     "\"attempts\" is not a count"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"backup\":{"
	     "\"attempts\":99999999999}}}}",
	     "\"attempts\" is not a count"},
	    {"{\"format\":\"pgward-service-state\",\"version\":1,\"stanzas\":{\"a\":{\"backup\":"
	     "7}}}",
	     "not an object"},
	    {"{\"format\":\"pgward-service-state\",\"format\":\"pgward-service-state\",\"version\":"
	     "1,"
	     "\"stanzas\":{}}",
	     "not JSON"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct svc_state *s = (struct svc_state *)1;
		pw_error_clear();
		int rc = svc_state_parse(cases[i].text, strlen(cases[i].text), "state.json", &s);
		if (rc != -PW_E_CONFIG)
			fail_msg("case %zu accepted (rc %d)", i, rc);
		assert_null(s);
		if (!strstr(pw_error_message(), cases[i].needle))
			fail_msg("case %zu: \"%s\" not in: %s", i, cases[i].needle,
			         pw_error_message());
		assert_non_null(strstr(pw_error_message(), "\"state.json\""));
		assert_non_null(pw_error_hint_text());
	}
	/* deep nesting: jansson's depth limit, an error and no crash */
	size_t depth = 100000;
	char *deep = pw_malloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = 0;
	struct svc_state *s;
	assert_int_equal(svc_state_parse(deep, 2 * depth, "state.json", &s), -PW_E_CONFIG);
	pw_free(deep);
	/* too large in memory */
	assert_int_equal(svc_state_parse("{}", SVC_STATE_MAX_BYTES + 1, "state.json", &s),
	                 -PW_E_LIMIT);
	/* a NUL inside: not JSON */
	assert_int_equal(svc_state_parse("{\"format\"\0:1}", 13, "state.json", &s), -PW_E_CONFIG);
}

static void test_limits(void **state)
{
	(void)state;
	struct svc_state *s = svc_state_new();
	struct plan_state *st;
	char name[32];
	for (int i = 0; i < SVC_STATE_MAX_STANZAS; i++) {
		snprintf(name, sizeof name, "s%d", i);
		assert_int_equal(svc_state_put(s, name, PLAN_BACKUP, &st), 0);
	}
	assert_int_equal(svc_state_put(s, "one-more", PLAN_BACKUP, &st), -PW_E_LIMIT);
	assert_int_equal(svc_state_put(s, "s1", PLAN_VERIFY, &st), 0); /* existing: fine */
	/* the dump of a full state parses back */
	char *text = svc_state_dump(s);
	struct svc_state *back;
	assert_int_equal(svc_state_parse(text, strlen(text), "t", &back), 0);
	assert_int_equal(svc_state_nstanzas(back), SVC_STATE_MAX_STANZAS);
	svc_state_free(back);
	pw_free(text);
	svc_state_free(s);
	s = svc_state_new();
	assert_int_equal(svc_state_put(s, "../etc", PLAN_BACKUP, &st), -PW_E_CONFIG);
	assert_int_equal(svc_state_put(s, "", PLAN_BACKUP, &st), -PW_E_CONFIG);
	assert_int_equal(svc_state_put(s, "a", PLAN_KIND_COUNT, &st), -PW_E_CONFIG);
	char longname[SVC_STANZA_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	assert_int_equal(svc_state_put(s, longname, PLAN_BACKUP, &st), -PW_E_CONFIG);
	longname[SVC_STANZA_MAX] = 0;
	assert_int_equal(svc_state_put(s, longname, PLAN_BACKUP, &st), 0);
	svc_state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_on_disk),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_limits),
	};
	if (setup(NULL) != 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
	teardown(NULL);
	return rc;
}
