/* test_retention.c - the keep set of repo/retention.c over a hand-built catalog: age
 * (retention-days), count (retention-min), GFS, pins, object locks, damaged and untrusted
 * backups kept as evidence, future-dated ids, incomplete uploads and the grace period. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/time.h"
#include "repo/retention.h"

#define DAY 86400
/* 2026-12-06T12:00:00Z */
#define NOW ((time_t)1796558400)

static struct backup_list L;

static int atoi_days(const char *s)
{
	return (int)strtol(s, NULL, 10);
}

/* A genuine, trusted backup started `days` days before NOW. */
static struct backup_entry *add(double days)
{
	L.e = pw_realloc(L.e, (L.n + 1) * sizeof *L.e);
	struct backup_entry *e = &L.e[L.n++];
	memset(e, 0, sizeof *e);
	time_t t = NOW - (time_t)(days * DAY);
	char ts[PW_TIME_MAX];
	snprintf(e->id, sizeof e->id, "%s-%04zx", pw_time_format(t, PW_TIME_COMPACT, ts), L.n);
	e->state = BACKUP_COMPLETE;
	e->complete = true;
	e->first_seen = t;
	e->trust.trust = TRUST_SIGNED;
	e->has_signature = true;
	struct manifest *m = pw_calloc(1, sizeof *m);
	snprintf(m->stanza, sizeof m->stanza, "shop");
	snprintf(m->backup_id, sizeof m->backup_id, "%s", e->id);
	m->started = t;
	m->finished = t + 10;
	uint8_t sha[32] = {0};
	assert_int_equal(manifest_add_object(m, "data.pgdump.zst.age", 100, sha), 0);
	e->manifest = m;
	e->objects = pw_calloc(1, sizeof *e->objects);
	e->objects[0] = (struct listed_object){pw_strdup("data.pgdump.zst.age"), 100};
	e->nlisted = 1;
	return e;
}

static void reset(void)
{
	catalog_list_free(&L);
}

static struct retention_item *plan(struct retention r, bool allow_unsigned)
{
	struct retention_opts o = {
	    .stanza = "shop", .r = r, .now = NOW, .allow_unsigned = allow_unsigned};
	struct retention_item *it = NULL;
	retention_plan(&o, &L, &it);
	return it;
}

static bool has_reason(const struct retention_item *it, const char *s)
{
	for (size_t i = 0; i < it->nreasons; i++)
		if (strstr(it->reasons[i], s))
			return true;
	return false;
}

static void test_age_and_count(void **state)
{
	(void)state;
	for (int d = 40; d >= 0; d -= 5) /* 40, 35, ..., 0 days old: 9 backups */
		add(d + 0.1);
	struct retention_item *it = plan((struct retention){.days = 14, .min = 5}, false);
	/* 40..15: older than 14 days; the newest 5 are 20, 15, 10, 5, 0 */
	for (size_t i = 0; i < L.n; i++)
		assert_int_equal(it[i].cls, RET_GENUINE);
	assert_false(it[0].keep); /* 40 days */
	assert_false(it[3].keep); /* 25 days */
	assert_true(it[4].keep);  /* 20 days: among the newest 5 */
	assert_true(has_reason(&it[4], "retention-min"));
	assert_false(has_reason(&it[4], "retention-days"));
	assert_true(it[6].keep); /* 10 days: both rules */
	assert_true(has_reason(&it[6], "retention-days"));
	assert_true(has_reason(&it[6], "retention-min"));
	pw_free(it);
	/* retention-min alone keeps the newest N whatever their age */
	it = plan((struct retention){.days = 0, .min = 2}, false);
	for (size_t i = 0; i < L.n; i++)
		assert_int_equal(it[i].keep, i >= L.n - 2);
	pw_free(it);
	/* nothing kept at all when no rule keeps anything */
	it = plan((struct retention){0}, false);
	for (size_t i = 0; i < L.n; i++)
		assert_false(it[i].keep);
	pw_free(it);
	reset();
}

static void test_gfs_and_pins(void **state)
{
	(void)state;
	for (int d = 100; d >= 1; d--)
		add(d);
	L.e[0].pinned = true; /* 100 days old */
	struct retention_item *it = plan((struct retention){.daily = 3, .weekly = 2}, false);
	assert_true(it[0].keep);
	assert_true(has_reason(&it[0], "pinned"));
	size_t kept = 0;
	for (size_t i = 0; i < L.n; i++)
		kept += it[i].keep;
	/* 3 daily (the newest 3 days), up to 2 weekly among them or older, and the pin */
	assert_true(kept >= 4 && kept <= 6);
	assert_true(it[L.n - 1].keep && has_reason(&it[L.n - 1], "retention-daily"));
	assert_true(has_reason(&it[L.n - 1], "retention-weekly"));
	assert_false(it[50].keep);
	pw_free(it);
	reset();
}

static void test_not_genuine(void **state)
{
	(void)state;
	struct backup_entry *e;
	add(50);     /* 0: genuine, old */
	e = add(50); /* 1: unsigned */
	e->trust.trust = TRUST_UNSIGNED;
	e->has_signature = false;
	e = add(50); /* 2: signed by another key */
	e->trust.trust = TRUST_UNTRUSTED;
	e = add(50); /* 3: an object is missing */
	pw_free(e->objects[0].name);
	e->objects[0].name = pw_strdup("other");
	e = add(50); /* 4: an object's size changed */
	e->objects[0].size = 99;
	e = add(50); /* 5: the manifest names another backup */
	snprintf(e->manifest->backup_id, sizeof e->manifest->backup_id, "%s", L.e[0].id);
	e = add(-30); /* 6: future-dated id and start */
	e->first_seen = NOW - 60 * DAY;
	e = add(50); /* 7: start time does not match the id */
	e->manifest->started += 3600;
	e = add(50); /* 8: unsigned, pinned */
	e->trust.trust = TRUST_UNSIGNED;
	e->pinned = true;
	e = add(0.01); /* 9: unsigned, too young to remove */
	e->trust.trust = TRUST_UNSIGNED;
	struct retention_item *it =
	    plan((struct retention){.min = 10, .grace_seconds = DAY}, false);
	assert_int_equal(it[0].cls, RET_GENUINE);
	assert_true(it[0].keep); /* retention-min 10 counts only genuine backups */
	for (size_t i = 1; i < L.n; i++)
		if (it[i].cls != RET_NOT_GENUINE)
			fail_msg("backup %zu counted as genuine", i);
	assert_non_null(strstr(it[1].reason, "not signed by a trusted-signer"));
	assert_false(it[1].keep);
	assert_false(it[2].keep);
	assert_non_null(strstr(it[3].reason, "missing"));
	assert_non_null(strstr(it[4].reason, "size 99"));
	/* signed by a trusted key but altered since: evidence, kept */
	assert_true(it[3].keep && it[3].evidence);
	assert_true(it[4].keep && it[4].evidence);
	assert_true(it[5].keep && it[5].evidence);
	assert_non_null(strstr(it[5].reason, "names another backup"));
	assert_non_null(strstr(it[6].reason, "in the future"));
	assert_non_null(strstr(it[7].reason, "does not match its id"));
	assert_true(it[8].keep);
	assert_non_null(strstr(it[8].reason, "pinned"));
	assert_true(it[9].keep); /* aged by the storage's time: younger than the grace */
	pw_free(it);
	/* allow_unsigned: the unsigned ones count again */
	it = plan((struct retention){.min = 10, .grace_seconds = DAY}, true);
	assert_int_equal(it[1].cls, RET_GENUINE);
	assert_int_equal(it[2].cls, RET_GENUINE);
	assert_int_equal(it[3].cls, RET_NOT_GENUINE);
	pw_free(it);
	reset();
}

static void test_incomplete_damaged_newer(void **state)
{
	(void)state;
	struct backup_entry *e;
	e = add(10); /* 0: incomplete, old */
	manifest_free(e->manifest);
	e->manifest = NULL;
	e->complete = false;
	e->state = BACKUP_INCOMPLETE;
	e->has_signature = false;
	e = add(0.001); /* 1: incomplete, may be running */
	manifest_free(e->manifest);
	e->manifest = NULL;
	e->complete = false;
	e->state = BACKUP_INCOMPLETE;
	e->has_signature = false;
	e = add(10); /* 2: damaged, unsigned, old */
	manifest_free(e->manifest);
	e->manifest = NULL;
	e->complete = false;
	e->state = BACKUP_DAMAGED;
	e->has_signature = false;
	e->trust.trust = TRUST_UNSIGNED;
	snprintf(e->damage, sizeof e->damage, "damaged manifest: field \"size\" is not an integer");
	e = add(10); /* 3: damaged, validly signed by the trusted key: evidence */
	manifest_free(e->manifest);
	e->manifest = NULL;
	e->complete = false;
	e->state = BACKUP_DAMAGED;
	e = add(10); /* 4: a newer format: never judged */
	manifest_free(e->manifest);
	e->manifest = NULL;
	e->complete = false;
	e->state = BACKUP_NEWER;
	e->has_signature = false;
	e = add(10); /* 5: incomplete with a signature next to it: evidence */
	manifest_free(e->manifest);
	e->manifest = NULL;
	e->complete = false;
	e->state = BACKUP_INCOMPLETE;
	struct retention_item *it = plan((struct retention){.grace_seconds = DAY}, false);
	for (size_t i = 0; i < L.n; i++)
		assert_int_equal(it[i].cls, RET_INCOMPLETE);
	assert_false(it[0].keep);
	assert_true(it[1].keep);
	assert_false(it[2].keep);
	assert_non_null(strstr(it[2].reason, "damaged manifest"));
	assert_true(it[3].keep && it[3].evidence);
	assert_non_null(strstr(it[3].reason, "investigation"));
	assert_true(it[4].keep && it[4].evidence);
	assert_non_null(strstr(it[4].reason, "newer format"));
	assert_true(it[5].keep && it[5].evidence);
	pw_free(it);
	reset();
}

/* Tags: a table of backups (age, tags with their keep) -> keep or not, under base rules that
 * keep little; then the same with generous base rules: tags only ever add (the union). */
static void test_tags(void **state)
{
	(void)state;
	static const struct {
		double days;     /* age */
		const char *tag; /* "name:keep-days,..." */
		bool keep;       /* with retention-days 1, retention-min 1 */
		const char *why;
	} rows[] = {
	    {40, "", false, NULL},
	    {35, "weekly:84", true, "tagged \"weekly\", kept 84d"},
	    {31, "hourly:2,daily:30", false, NULL}, /* both keeps passed */
	    {29.5, "hourly:2,daily:30", true, "tagged \"daily\""},
	    {20, "daily:30,weekly:84", true, "tagged \"weekly\""},
	    {3, "hourly:2", false, NULL},      /* hourly, older than 2 days */
	    {2.0001, "hourly:2", false, NULL}, /* just past */
	    {1.99, "hourly:2", true, "tagged \"hourly\""},
	    {1.5, "hourly:0,manual:0", false, NULL}, /* tags without keep keep nothing */
	    {1.2, "hourly:2,daily:30", true, "tagged \"daily\""},
	    {0.5, "", true, "retention-days"}, /* the base rules still apply */
	    {0.1, "hourly:2", true, "retention-min"},
	};
	size_t n = sizeof rows / sizeof *rows;
	for (size_t i = 0; i < n; i++) {
		struct backup_entry *e = add(rows[i].days);
		char spec[64];
		snprintf(spec, sizeof spec, "%s", rows[i].tag);
		char *save = NULL;
		for (char *t = strtok_r(spec, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char *colon = strchr(t, ':');
			*colon = 0;
			assert_int_equal(
			    manifest_add_tag(e->manifest, t, (int64_t)atoi_days(colon + 1) * DAY),
			    0);
		}
	}
	struct retention_item *it = plan((struct retention){.days = 1, .min = 1}, false);
	for (size_t i = 0; i < n; i++) {
		if (it[i].keep != rows[i].keep)
			fail_msg("row %zu (%.4g days, \"%s\"): keep %d, expected %d", i,
			         rows[i].days, rows[i].tag, it[i].keep, rows[i].keep);
		if (rows[i].why && !has_reason(&it[i], rows[i].why))
			fail_msg("row %zu: no reason \"%s\" (first: \"%s\")", i, rows[i].why,
			         it[i].nreasons ? it[i].reasons[0] : "");
	}
	assert_true(has_reason(&it[1], "until 2027-01-24T"));
	pw_free(it);
	/* never fewer than without tags: every backup the base rules keep is still kept */
	struct retention base = {.days = 30, .min = 3, .daily = 5};
	it = plan(base, false);
	bool with_tags[64];
	for (size_t i = 0; i < n; i++)
		with_tags[i] = it[i].keep;
	pw_free(it);
	for (size_t i = 0; i < n; i++)
		L.e[i].manifest->ntags = 0;
	it = plan(base, false);
	for (size_t i = 0; i < n; i++)
		assert_true(with_tags[i] || !it[i].keep);
	assert_true(with_tags[1] && !it[1].keep); /* the weekly tag is what keeps it */
	pw_free(it);
	reset();
	/* a tag does not make a backup genuine: an unsigned one with a long keep is aged out */
	struct backup_entry *e = add(50);
	e->trust.trust = TRUST_UNSIGNED;
	e->has_signature = false;
	e->first_seen = NOW - 50 * DAY;
	assert_int_equal(manifest_add_tag(e->manifest, "forever", 36500 * (int64_t)DAY), 0);
	it = plan((struct retention){.days = 1, .min = 1}, false);
	assert_int_equal(it[0].cls, RET_NOT_GENUINE);
	assert_false(it[0].keep);
	pw_free(it);
	reset();
}

static void test_locks(void **state)
{
	(void)state;
	struct backup_entry *e = add(30);
	e->manifest->lock_until = NOW + 5 * DAY;
	e->manifest->lock_mode = MANIFEST_LOCK_COMPLIANCE;
	add(29);
	struct retention_item *it = plan((struct retention){.days = 7}, false);
	/* the plan removes it; the storage refuses until the lock ends (expire reports it) */
	assert_false(it[0].keep);
	assert_true(it[0].locked);
	assert_false(it[1].locked);
	pw_free(it);
	reset();
	/* an empty catalog is an empty plan */
	it = plan((struct retention){.days = 7}, false);
	pw_free(it);
}

/* ---- recovery-window and WAL ---- */

#define SEG ((uint32_t)16 << 20)

static struct backup_entry *addp(double days)
{
	struct backup_entry *e = add(days);
	e->manifest->kind = MANIFEST_PHYSICAL;
	return e;
}

static void test_recovery_window(void **state)
{
	(void)state;
	addp(20); /* 0 */
	addp(9);  /* 1: the newest finished more than 7 days ago */
	add(8);   /* 2: logical, never the window's base */
	addp(3);  /* 3 */
	struct retention r = {.days = 1, .min = 1, .window_seconds = 7 * DAY};
	struct retention_item *it = plan(r, false);
	assert_false(it[0].keep);
	assert_true(it[1].keep && has_reason(&it[1], "recovery-window = 7 days"));
	assert_false(it[2].keep);
	assert_true(it[3].keep); /* the newest (retention-min) */
	pw_free(it);
	/* no physical backup is old enough: the oldest one stays */
	r.window_seconds = 30 * DAY;
	it = plan(r, false);
	assert_true(it[0].keep && has_reason(&it[0], "oldest physical backup"));
	assert_false(it[1].keep);
	pw_free(it);
	/* 0: no window rule */
	r.window_seconds = 0;
	it = plan(r, false);
	assert_false(it[0].keep);
	assert_false(it[1].keep);
	pw_free(it);
	reset();
}

static struct wal_obj w(uint32_t tli, uint32_t seg, enum wal_kind k, uint32_t end, bool sig)
{
	return (struct wal_obj){.kind = k, .signature = sig, .tli = tli, .seg = seg, .end = end};
}

struct wal_case {
	const char *name;
	struct wal_base kept[3];
	size_t nkept;
	const char *expect; /* one letter per object: k keep, o old, s superseded */
};

static void test_wal_plan(void **state)
{
	(void)state;
	const struct wal_obj objs[] = {
	    w(1, 2, WAL_SEGMENT, 0, false),     w(1, 2, WAL_SEGMENT, 0, true),
	    w(1, 3, WAL_PARTIAL, 0x100, false), w(1, 3, WAL_PARTIAL, 0x100, true),
	    w(1, 3, WAL_SEGMENT, 0, false),     w(1, 3, WAL_SEGMENT, 0, true),
	    w(1, 4, WAL_PARTIAL, 0x100, false), w(1, 4, WAL_PARTIAL, 0x100, true),
	    w(1, 4, WAL_SEGMENT, 0, false), /* its signature is missing: supersedes nothing */
	    w(1, 5, WAL_PARTIAL, 0x100, false), w(1, 5, WAL_PARTIAL, SEG, false),
	    w(1, 5, WAL_PARTIAL, SEG, true), /* a full-size partial supersedes the small one */
	    w(1, 6, WAL_PARTIAL, 0x200, false), w(1, 6, WAL_PARTIAL, 0x200, true),
	    {.kind = WAL_HISTORY, .tli = 2},    {.kind = WAL_HISTORY, .tli = 2, .signature = true},
	    w(2, 6, WAL_SEGMENT, 0, false),     w(2, 6, WAL_SEGMENT, 0, true),
	    w(2, 7, WAL_PARTIAL, 0x10, false),  w(2, 7, WAL_PARTIAL, 0x10, true),
	    {.kind = WAL_HISTORY, .tli = 3},    w(3, 9, WAL_SEGMENT, 0, false),
	};
	const size_t n = sizeof objs / sizeof *objs;
	/* objects:       1.2 | 1.3p 1.3 | 1.4p 1.4u | 1.5p 1.5f | 1.6p | h2 | 2.6 | 2.7p | h3 3.9 */
	const struct wal_case cases[] = {
	    {"no base kept: everything stays", {{0}}, 0, "kkkkkkkkkkkkkkkkkkkkkk"},
	    {"a base in segment 3 of timeline 1",
	     {{1, 3ull * SEG + 0x28, 3ull * SEG + 0x1000, 1}},
	     1,
	     "ooSSkkkkkSkkkkkkkkkkkk"},
	    {"the oldest of two bases decides",
	     {{1, 5ull * SEG, 5ull * SEG + 1, 1}, {1, 2ull * SEG + 8, 2ull * SEG + 9, 1}},
	     2,
	     "kkSSkkkkkSkkkkkkkkkkkk"},
	    {"a base on timeline 2: timeline 1 goes, timeline 2 from the base's segment",
	     {{2, 7ull * SEG + 4, 7ull * SEG + 8, 1}},
	     1,
	     "ooooooooooooookkookkkk"},
	    {"bases on two timelines: the lower timeline's cut",
	     {{2, 6ull * SEG, 6ull * SEG + 1, 1}, {1, 6ull * SEG + 4, 6ull * SEG + 8, 1}},
	     2,
	     "ooooooooooookkkkkkkkkk"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		uint8_t v[sizeof objs / sizeof *objs];
		size_t by[sizeof objs / sizeof *objs];
		struct retention_wal_cut cut;
		retention_wal_plan(objs, n, SEG, cases[c].kept, cases[c].nkept, v, by, &cut);
		char got[sizeof objs / sizeof *objs + 1];
		for (size_t i = 0; i < n; i++)
			got[i] = v[i] == RET_WAL_KEEP ? 'k' : v[i] == RET_WAL_OLD ? 'o' : 's';
		got[n] = 0;
		char want[64];
		snprintf(want, sizeof want, "%s", cases[c].expect);
		for (char *p = want; *p; p++)
			if (*p == 'S')
				*p = 's';
		if (strcmp(got, want) != 0)
			fail_msg("%s: got %s, want %s", cases[c].name, got, want);
		if (cases[c].nkept)
			assert_true(cut.any);
	}
	/* a superseded partial names its superseder */
	uint8_t v[sizeof objs / sizeof *objs];
	size_t by[sizeof objs / sizeof *objs];
	struct retention_wal_cut cut;
	struct wal_base b = {1, 0, 1, 1};
	retention_wal_plan(objs, n, SEG, &b, 1, v, by, &cut);
	assert_int_equal(by[2], 4);  /* 1.3 partial -> the segment */
	assert_int_equal(by[9], 10); /* 1.5 partial -> the full-size partial */
	assert_int_equal(by[6], n);  /* 1.4: the segment is unsigned */
	assert_int_equal(by[12], n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_age_and_count),   cmocka_unit_test(test_gfs_and_pins),
	    cmocka_unit_test(test_not_genuine),     cmocka_unit_test(test_incomplete_damaged_newer),
	    cmocka_unit_test(test_locks),           cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_recovery_window), cmocka_unit_test(test_wal_plan),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
