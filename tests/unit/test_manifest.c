/* test_manifest.c - the manifest codec of repo/manifest.c: round trip, the committed text's
 * shape, every malformed case (not JSON, wrong types, missing fields, huge strings, too many
 * objects, newer format, negative sizes, bad SHA-256, duplicated keys, NUL in strings), the
 * seed manifests in tests/data/manifest, repo_key and the verification record names. */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "repo/catalog.h"
#include "repo/manifest.h"

#define SHA_A "6b86b273ff34fce19c6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"

/* A manifest as backup.c writes it today (with source, lock and audit anchor). */
static const char *FULL = "{\n"
                          "  \"format\": 1,\n"
                          "  \"tool\": \"pgward 0.1.0\",\n"
                          "  \"stanza\": \"shop\",\n"
                          "  \"backup_id\": \"20261206T194401Z-1a2b\",\n"
                          "  \"kind\": \"logical\",\n"
                          "  \"status\": \"complete\",\n"
                          "  \"started\": \"2026-12-06T19:44:01Z\",\n"
                          "  \"finished\": \"2026-12-06T19:44:09Z\",\n"
                          "  \"duration_seconds\": 8.25,\n"
                          "  \"dump_seconds\": 7.5,\n"
                          "  \"server_version\": \"15.8 (Debian 15.8-1.pgdg120+1)\",\n"
                          "  \"pg_dump\": \"/usr/lib/postgresql/15/bin/pg_dump\",\n"
                          "  \"database_size\": 7631663,\n"
                          "  \"raw_bytes\": 1048576,\n"
                          "  \"role\": \"backup_ro\",\n"
                          "  \"privileged\": false,\n"
                          "  \"globals\": true,\n"
                          "  \"compression\": {\n"
                          "    \"algorithm\": \"zstd\",\n"
                          "    \"level\": 3\n"
                          "  },\n"
                          "  \"encryption\": {\n"
                          "    \"format\": \"age-v1\",\n"
                          "    \"recipient_fingerprints\": [\n"
                          "      \"sha256:0123456789abcdef0123456789abcdef\"\n"
                          "    ]\n"
                          "  },\n"
                          "  \"objects\": [\n"
                          "    {\n"
                          "      \"name\": \"data.pgdump.zst.age\",\n"
                          "      \"size\": 1234,\n"
                          "      \"sha256\": \"" SHA_A "\"\n"
                          "    },\n"
                          "    {\n"
                          "      \"name\": \"globals.sql.zst.age\",\n"
                          "      \"size\": 56,\n"
                          "      \"sha256\": \"" SHA_A "\"\n"
                          "    },\n"
                          "    {\n"
                          "      \"name\": \"details.json.age\",\n"
                          "      \"size\": 78,\n"
                          "      \"sha256\": \"" SHA_A "\"\n"
                          "    }\n"
                          "  ],\n"
                          "  \"lock_until\": \"2026-12-20T19:44:01Z\",\n"
                          "  \"lock_mode\": \"governance\",\n"
                          "  \"audit_anchor\": {\n"
                          "    \"host\": \"db1\",\n"
                          "    \"log\": \"/var/lib/pgward/audit.log\",\n"
                          "    \"records\": 12,\n"
                          "    \"head\": \"" SHA_A "\"\n"
                          "  },\n"
                          "  \"source\": {\n"
                          "    \"host\": \"db1.example.net\",\n"
                          "    \"port\": 5432,\n"
                          "    \"standby\": false\n"
                          "  }\n"
                          "}";

static int decode_text(const char *s, struct manifest *m)
{
	return manifest_decode((const uint8_t *)s, strlen(s), m);
}

/* FULL with one change made by fn, decoded. */
static int decode_mutated(void (*fn)(json_t *root, void *arg), void *arg, struct manifest *m)
{
	json_error_t je;
	json_t *j = json_loads(FULL, 0, &je);
	assert_non_null(j);
	fn(j, arg);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(s);
	int rc = decode_text(s, m);
	pw_free(s);
	return rc;
}

/* A path "a" or "a.b" or "objects.0.size" into FULL: set to v (NULL: delete). */
struct edit {
	const char *path;
	json_t *v;
};

static void apply_edit(json_t *root, void *arg)
{
	struct edit *e = arg;
	char buf[128];
	snprintf(buf, sizeof buf, "%s", e->path);
	json_t *parent = root;
	char *last = buf, *dot;
	while ((dot = strchr(last, '.'))) {
		*dot = 0;
		parent = json_is_array(parent)
		             ? json_array_get(parent, (size_t)strtoul(last, NULL, 10))
		             : json_object_get(parent, last);
		assert_non_null(parent);
		last = dot + 1;
	}
	if (json_is_array(parent)) {
		assert_non_null(e->v);
		json_array_set(parent, (size_t)strtoul(last, NULL, 10), e->v);
	} else if (e->v) {
		json_object_set(parent, last, e->v);
	} else {
		json_object_del(parent, last);
	}
}

/* The edit makes the manifest damaged, and the message names field. */
static void expect_damaged(const char *path, json_t *v, const char *field)
{
	struct manifest *m = pw_malloc(sizeof *m);
	struct edit e = {path, v};
	int rc = decode_mutated(apply_edit, &e, m);
	if (rc != -PW_E_VERIFY || !strstr(pw_error_message(), field))
		fail_msg("%s: rc %d, message \"%s\" (expected the field \"%s\" named)", path, rc,
		         pw_error_message(), field);
	assert_non_null(strstr(pw_error_message(), "damaged manifest"));
	assert_true(strlen(pw_error_hint_text()) > 0);
	assert_int_equal(m->nobjects, 0); /* nothing half-decoded is left behind */
	assert_null(m->objects);
	pw_error_clear();
	json_decref(v);
	pw_free(m);
}

static void test_full_decodes(void **state)
{
	(void)state;
	struct manifest *m = pw_malloc(sizeof *m);
	assert_int_equal(decode_text(FULL, m), 0);
	assert_int_equal(m->format, 1);
	assert_string_equal(m->stanza, "shop");
	assert_string_equal(m->backup_id, "20261206T194401Z-1a2b");
	assert_int_equal(m->kind, MANIFEST_LOGICAL);
	assert_int_equal(m->started, 1796586241);
	assert_int_equal(m->finished, 1796586249);
	assert_true(m->duration_seconds == 8.25);
	assert_string_equal(m->server_version, "15.8 (Debian 15.8-1.pgdg120+1)");
	assert_int_equal(m->database_size, 7631663);
	assert_int_equal(m->raw_bytes, 1048576);
	assert_string_equal(m->role, "backup_ro");
	assert_false(m->privileged);
	assert_true(m->globals);
	assert_string_equal(m->compression, "zstd");
	assert_int_equal(m->compression_level, 3);
	assert_int_equal(m->nrecipients, 1);
	assert_int_equal(m->nobjects, 3);
	assert_string_equal(m->objects[2].name, "details.json.age");
	assert_int_equal(m->objects[2].size, 78);
	assert_int_equal(m->objects[0].sha256[0], 0x6b);
	assert_int_equal(m->lock_mode, MANIFEST_LOCK_GOVERNANCE);
	assert_int_equal(m->lock_until, 1796586241 + 14 * 86400);
	assert_true(m->audit_anchor.present);
	assert_int_equal(m->audit_anchor.records, 12);
	assert_true(m->source.present);
	assert_string_equal(m->source.host, "db1.example.net");
	assert_int_equal(m->source.port, 5432);
	assert_false(m->source.standby);
	assert_int_equal(manifest_stored_bytes(m), 1234 + 56 + 78);
	uint8_t sha[32];
	uint64_t size;
	assert_int_equal(manifest_digest(m, "globals.sql.zst.age", sha, &size), 0);
	assert_int_equal(size, 56);
	assert_int_equal(manifest_digest(m, "nope", sha, &size), -PW_E_VERIFY);
	pw_error_clear();

	/* the encoder writes exactly the committed text: same fields, order and form */
	struct pw_buf out = PW_BUF_INIT(REPO_MANIFEST_MAX);
	assert_int_equal(manifest_encode(m, &out), 0);
	assert_string_equal(pw_buf_str(&out), FULL);
	pw_buf_free(&out, 0);
	manifest_free(m);
}

static void test_round_trip_physical(void **state)
{
	(void)state;
	struct manifest *m = pw_calloc(1, sizeof *m), *back = pw_malloc(sizeof *back);
	m->format = MANIFEST_FORMAT;
	snprintf(m->tool, sizeof m->tool, "pgward test");
	snprintf(m->stanza, sizeof m->stanza, "main");
	snprintf(m->backup_id, sizeof m->backup_id, "20261206T000000Z-0001");
	m->kind = MANIFEST_PHYSICAL;
	m->started = 1796515200;
	m->finished = 1796515260;
	uint8_t sha[32];
	memset(sha, 0xab, 32);
	assert_int_equal(manifest_add_object(m, "base.tar.zst.age", UINT64_C(1) << 40, sha), 0);
	m->physical.timeline = 3;
	m->physical.start_lsn = UINT64_C(0x16B374D48);
	m->physical.stop_lsn = UINT64_C(0x16B375000);
	m->physical.tablespaces[0] = 16384;
	m->physical.tablespaces[1] = UINT32_MAX;
	m->physical.ntablespaces = 2;
	m->source.present = true;
	m->source.standby = true;
	struct pw_buf a = PW_BUF_INIT(REPO_MANIFEST_MAX), b = PW_BUF_INIT(REPO_MANIFEST_MAX);
	assert_int_equal(manifest_encode(m, &a), 0);
	assert_non_null(strstr(pw_buf_str(&a), "\"start_lsn\": \"1/6B374D48\""));
	assert_non_null(strstr(pw_buf_str(&a), "\"host\": null"));
	assert_int_equal(manifest_decode(a.data, a.len, back), 0);
	assert_int_equal(back->kind, MANIFEST_PHYSICAL);
	assert_int_equal(back->physical.timeline, 3);
	assert_true(back->physical.start_lsn == m->physical.start_lsn);
	assert_true(back->physical.stop_lsn == m->physical.stop_lsn);
	assert_true(back->source.standby);
	assert_int_equal(back->physical.ntablespaces, 2);
	assert_int_equal(back->physical.tablespaces[0], 16384);
	assert_true(back->physical.tablespaces[1] == UINT32_MAX);
	assert_true(back->objects[0].size == m->objects[0].size);
	assert_int_equal(manifest_encode(back, &b), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);

	/* tablespaces: OIDs only, distinct, capped; absent decodes as none */
	const char *bad_ts[] = {"[0]", "[16384, 16384]", "[\"16384\"]", "[4294967296]", "{}",
	                        "[-1]"};
	for (size_t i = 0; i < sizeof bad_ts / sizeof *bad_ts; i++) {
		json_t *j = json_loadb((const char *)a.data, a.len, 0, NULL);
		json_object_set_new(json_object_get(j, "physical"), "tablespaces",
		                    json_loads(bad_ts[i], JSON_DECODE_ANY, NULL));
		char *t = json_dumps(j, 0);
		json_decref(j);
		struct manifest d;
		assert_int_equal(manifest_decode((const uint8_t *)t, strlen(t), &d), -PW_E_VERIFY);
		assert_non_null(strstr(pw_error_message(), "tablespaces"));
		pw_error_clear();
		pw_free(t);
	}
	{
		json_t *j = json_loadb((const char *)a.data, a.len, 0, NULL), *big = json_array();
		for (int i = 1; i <= MANIFEST_TABLESPACES_MAX + 1; i++)
			json_array_append_new(big, json_integer(16384 + i));
		json_object_set_new(json_object_get(j, "physical"), "tablespaces", big);
		char *t = json_dumps(j, 0);
		struct manifest d;
		assert_int_equal(manifest_decode((const uint8_t *)t, strlen(t), &d), -PW_E_VERIFY);
		pw_error_clear();
		pw_free(t);
		json_object_del(json_object_get(j, "physical"), "tablespaces");
		t = json_dumps(j, 0);
		json_decref(j);
		assert_int_equal(manifest_decode((const uint8_t *)t, strlen(t), &d), 0);
		assert_int_equal(d.physical.ntablespaces, 0);
		manifest_clear(&d);
		pw_free(t);
	}

	/* the encoder refuses what the decoder would call damaged */
	m->objects[0].name[0] = '/';
	pw_buf_free(&a, 0);
	assert_int_equal(manifest_encode(m, &a), -PW_E_INTERNAL);
	pw_error_clear();
	m->nobjects = 0;
	assert_int_equal(manifest_encode(m, &a), -PW_E_INTERNAL);
	pw_error_clear();
	m->nobjects = 1;
	pw_buf_free(&a, 0);
	pw_buf_free(&b, 0);
	manifest_free(m);
	manifest_free(back);
}

static void test_wrong_types(void **state)
{
	(void)state;
	static const struct {
		const char *path, *field;
	} strs[] = {
	    {"tool", "tool"},
	    {"stanza", "stanza"},
	    {"backup_id", "backup_id"},
	    {"kind", "kind"},
	    {"status", "status"},
	    {"started", "started"},
	    {"finished", "finished"},
	    {"server_version", "server_version"},
	    {"pg_dump", "pg_dump"},
	    {"role", "role"},
	    {"globals_note", "globals_note"},
	    {"lock_until", "lock_until"},
	    {"lock_mode", "lock_mode"},
	    {"compression.algorithm", "algorithm"},
	    {"encryption.format", "format"},
	    {"objects.0.name", "name"},
	    {"objects.1.sha256", "sha256"},
	    {"audit_anchor.host", "host"},
	    {"audit_anchor.log", "log"},
	    {"audit_anchor.head", "head"},
	    {"source.host", "host"},
	};
	/* a string field given a number, an array, an object, true */
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
		expect_damaged(strs[i].path, json_integer(1), strs[i].field);
		expect_damaged(strs[i].path, json_array(), strs[i].field);
		expect_damaged(strs[i].path, json_object(), strs[i].field);
		expect_damaged(strs[i].path, json_true(), strs[i].field);
	}
	static const char *ints[] = {"format",           "database_size",        "raw_bytes",
	                             "objects.0.size",   "audit_anchor.records", "source.port",
	                             "compression.level"};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		const char *f = strrchr(ints[i], '.') ? strrchr(ints[i], '.') + 1 : ints[i];
		expect_damaged(ints[i], json_string("12"), f);
		expect_damaged(ints[i], json_real(1.5), f);
		expect_damaged(ints[i], json_false(), f);
	}
	static const char *bools[] = {"privileged", "globals", "source.standby"};
	for (size_t i = 0; i < sizeof bools / sizeof *bools; i++) {
		const char *f = strrchr(bools[i], '.') ? strrchr(bools[i], '.') + 1 : bools[i];
		expect_damaged(bools[i], json_integer(1), f);
		expect_damaged(bools[i], json_string("true"), f);
	}
	expect_damaged("duration_seconds", json_string("8"), "duration_seconds");
	expect_damaged("dump_seconds", json_true(), "dump_seconds");
	static const char *objs[] = {"compression", "encryption", "audit_anchor", "source"};
	for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
		expect_damaged(objs[i], json_string("x"), objs[i]);
		expect_damaged(objs[i], json_array(), objs[i]);
	}
	expect_damaged("objects", json_object(), "objects");
	expect_damaged("objects", json_string("data"), "objects");
	expect_damaged("objects.0", json_string("data"), "objects[0]");
	expect_damaged("encryption.recipient_fingerprints", json_string("sha256:00"),
	               "recipient_fingerprints");
	expect_damaged("encryption.recipient_fingerprints.0", json_integer(7),
	               "recipient_fingerprints");
}

static void test_missing_and_range(void **state)
{
	(void)state;
	/* what every pgward manifest had from the start; the rest is optional (but typed) */
	static const char *required[] = {"format", "stanza",  "backup_id",
	                                 "status", "started", "objects"};
	for (size_t i = 0; i < sizeof required / sizeof *required; i++)
		expect_damaged(required[i], NULL, required[i]);
	expect_damaged("objects.0.sha256", NULL, "sha256");
	expect_damaged("objects.0.size", NULL, "size");
	expect_damaged("objects.2.name", NULL, "name");
	expect_damaged("encryption.format", NULL, "format");
	expect_damaged("source.standby", NULL, "standby");
	expect_damaged("audit_anchor.records", NULL, "records");
	/* optional fields may be absent (older manifests) */
	struct manifest *m = pw_malloc(sizeof *m);
	static const char *optional[] = {
	    "tool",         "kind",   "finished",    "server_version", "duration_seconds",
	    "audit_anchor", "source", "compression", "encryption",     "role",
	    "privileged",   "globals"};
	for (size_t i = 0; i < sizeof optional / sizeof *optional; i++) {
		struct edit e = {optional[i], NULL};
		if (decode_mutated(apply_edit, &e, m) != 0)
			fail_msg("without %s: %s", optional[i], pw_error_message());
		manifest_clear(m);
	}
	pw_free(m);

	/* the message names the whole path of a nested field */
	expect_damaged("objects.2.size", json_integer(-3), "\"objects[2].size\"");
	expect_damaged("source.port", json_integer(0), "\"source.port\"");
	expect_damaged("audit_anchor.head", json_integer(0), "\"audit_anchor.head\"");
	expect_damaged("compression.level", json_integer(99), "\"compression.level\"");
	/* negative and out-of-range numbers */
	expect_damaged("objects.0.size", json_integer(-1), "size");
	expect_damaged("objects.0.size", json_integer(INT64_MAX), "size");
	expect_damaged("database_size", json_integer(-5), "database_size");
	expect_damaged("raw_bytes", json_integer(-1), "raw_bytes");
	expect_damaged("duration_seconds", json_real(-0.5), "duration_seconds");
	expect_damaged("source.port", json_integer(0), "port");
	expect_damaged("source.port", json_integer(65536), "port");
	expect_damaged("audit_anchor.records", json_integer(0), "records");
	expect_damaged("format", json_integer(0), "format");
	expect_damaged("format", json_integer(-1), "format");
	/* values that are not what pgward writes */
	expect_damaged("kind", json_string("incremental"), "kind");
	expect_damaged("status", json_string("running"), "status");
	expect_damaged("started", json_string("2026-02-30T00:00:00Z"), "started");
	expect_damaged("started", json_string("2026-12-06T19:44:01.5Z"), "started");
	expect_damaged("finished", json_string("yesterday"), "finished");
	expect_damaged("lock_mode", json_string("forever"), "lock_mode");
	expect_damaged("lock_mode", json_null(), "lock_mode"); /* lock_until without a mode */
	expect_damaged("compression.algorithm", json_string("gzip"), "algorithm");
	expect_damaged("encryption.format", json_string("none"), "encryption.format");
	expect_damaged("stanza", json_string("../etc"), "stanza");
	expect_damaged("backup_id", json_string("a/b"), "backup_id");
	expect_damaged("objects.0.name", json_string("../../x"), "name");
	expect_damaged("objects.0.name", json_string("a/b"), "name");
	expect_damaged("objects.0.name", json_string(""), "name");
	expect_damaged("objects.1.name", json_string("data.pgdump.zst.age"), "twice");
	expect_damaged("objects", json_array(), "objects");
	expect_damaged("physical", json_object(), "physical"); /* in a logical manifest */
	/* bad SHA-256 */
	expect_damaged("objects.0.sha256", json_string("00"), "sha256");
	expect_damaged(
	    "objects.0.sha256",
	    json_string("6B86B273FF34FCE19C6B804EFF5A3F5747ADA4EAA22F1D49C01E52DDB7875B4B"),
	    "sha256");
	expect_damaged(
	    "objects.0.sha256",
	    json_string("zb86b273ff34fce19c6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"),
	    "sha256");
	expect_damaged("objects.0.sha256", json_string(SHA_A "00"), "sha256");
	expect_damaged("encryption.recipient_fingerprints.0",
	               json_string("sha256:0123456789ABCDEF0123456789abcdef"),
	               "recipient_fingerprints");
}

static void test_caps(void **state)
{
	(void)state;
	char *big = pw_malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = 0;
	static const char *fields[] = {"tool",        "server_version", "pg_dump",
	                               "role",        "globals_note",   "audit_anchor.log",
	                               "source.host", "objects.0.name", "stanza",
	                               "backup_id"};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		const char *f = strrchr(fields[i], '.') ? strrchr(fields[i], '.') + 1 : fields[i];
		expect_damaged(fields[i], json_string(big), f);
	}
	pw_free(big);
	/* too many objects, too many recipients */
	json_t *objs = json_array();
	for (int i = 0; i < MANIFEST_OBJECTS_MAX + 1; i++) {
		char name[32];
		snprintf(name, sizeof name, "o%d", i);
		json_array_append_new(
		    objs, json_pack("{s:s, s:i, s:s}", "name", name, "size", 1, "sha256", SHA_A));
	}
	expect_damaged("objects", objs, "objects");
	json_t *fps = json_array();
	for (int i = 0; i < MANIFEST_RECIPIENTS_MAX + 1; i++)
		json_array_append_new(fps, json_string("sha256:0123456789abcdef0123456789abcdef"));
	expect_damaged("encryption.recipient_fingerprints", fps, "recipient_fingerprints");
	/* 64 objects is the most, and fine */
	json_t *ok = json_array();
	for (int i = 0; i < MANIFEST_OBJECTS_MAX; i++) {
		char name[32];
		snprintf(name, sizeof name, "o%d", i);
		json_array_append_new(
		    ok, json_pack("{s:s, s:i, s:s}", "name", name, "size", i, "sha256", SHA_A));
	}
	struct manifest *m = pw_malloc(sizeof *m);
	struct edit e = {"objects", ok};
	assert_int_equal(decode_mutated(apply_edit, &e, m), 0);
	assert_int_equal(m->nobjects, MANIFEST_OBJECTS_MAX);
	json_decref(ok);
	manifest_free(m);
}

/* Tags: optional (FULL has none and encodes without the field), typed, capped, distinct;
 * manifest_add_tag refuses what the decoder would. */
static void test_tags(void **state)
{
	(void)state;
	struct manifest *m = pw_malloc(sizeof *m), *back = pw_malloc(sizeof *back);
	assert_int_equal(decode_text(FULL, m), 0);
	assert_int_equal(m->ntags, 0);
	assert_int_equal(manifest_add_tag(m, "hourly", 2 * 86400), 0);
	assert_int_equal(manifest_add_tag(m, "daily", 30 * 86400), 0);
	assert_int_equal(manifest_add_tag(m, "pre-upgrade.1", 0), 0);
	struct pw_buf a = PW_BUF_INIT(REPO_MANIFEST_MAX), b = PW_BUF_INIT(REPO_MANIFEST_MAX);
	assert_int_equal(manifest_encode(m, &a), 0);
	assert_non_null(strstr(pw_buf_str(&a), "\"tags\": [\n    {\n      \"name\": \"hourly\",\n"
	                                       "      \"keep_seconds\": 172800\n    },"));
	assert_non_null(strstr(pw_buf_str(&a), "\"keep_seconds\": null"));
	assert_int_equal(manifest_decode(a.data, a.len, back), 0);
	assert_int_equal(back->ntags, 3);
	assert_string_equal(back->tags[1].name, "daily");
	assert_int_equal(back->tags[1].keep_seconds, 30 * 86400);
	assert_int_equal(back->tags[2].keep_seconds, 0);
	assert_non_null(manifest_tag(back, "hourly"));
	assert_null(manifest_tag(back, "weekly"));
	assert_int_equal(manifest_encode(back, &b), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	manifest_clear(back);

	/* hostile tags: every one is a damaged manifest naming the field */
	static const struct {
		const char *tags, *field;
	} bad[] = {
	    {"{}", "tags"},
	    {"\"daily\"", "tags"},
	    {"[\"daily\"]", "tags[0]"},
	    {"[{}]", "tags[0].name"},
	    {"[{\"name\": 7}]", "tags[0].name"},
	    {"[{\"name\": \"\"}]", "tags[0].name"},
	    {"[{\"name\": \"../x\"}]", "tags[0].name"},
	    {"[{\"name\": \"-x\"}]", "tags[0].name"},
	    {"[{\"name\": \"a b\"}]", "tags[0].name"},
	    {"[{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]", "tags[0].name"},
	    {"[{\"name\": \"d\"}, {\"name\": \"d\"}]", "tags[1].name"},
	    {"[{\"name\": \"d\", \"keep_seconds\": -1}]", "tags[0].keep_seconds"},
	    {"[{\"name\": \"d\", \"keep_seconds\": 3162240001}]", "tags[0].keep_seconds"},
	    {"[{\"name\": \"d\", \"keep_seconds\": \"30d\"}]", "tags[0].keep_seconds"},
	    {"[{\"name\": \"d\", \"keep_seconds\": 1.5}]", "tags[0].keep_seconds"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_t *v = json_loads(bad[i].tags, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		expect_damaged("tags", v, bad[i].field);
	}
	json_t *many = json_array();
	for (int i = 0; i < MANIFEST_TAGS_MAX + 1; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		json_array_append_new(many, json_pack("{s:s}", "name", name));
	}
	expect_damaged("tags", many, "tags");
	/* null and [] are no tags; keep_seconds may be absent; the longest name is fine */
	static const char *fine[] = {"null", "[]", "[{\"name\": \"x\"}]",
	                             "[{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", "
	                             "\"keep_seconds\": 3162240000}]"};
	for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
		struct edit e = {"tags", json_loads(fine[i], JSON_DECODE_ANY, NULL)};
		if (decode_mutated(apply_edit, &e, back) != 0)
			fail_msg("tags %s: %s", fine[i], pw_error_message());
		json_decref(e.v);
		manifest_clear(back);
	}

	/* the writer's side refuses the same */
	assert_int_equal(manifest_add_tag(m, "daily", 1), -PW_E_CONFIG); /* twice */
	assert_non_null(strstr(pw_error_message(), "twice"));
	pw_error_clear();
	assert_int_equal(manifest_add_tag(m, "a/b", 1), -PW_E_CONFIG);
	assert_true(strlen(pw_error_hint_text()) > 0);
	pw_error_clear();
	assert_int_equal(manifest_add_tag(m, "x", -1), -PW_E_CONFIG);
	pw_error_clear();
	assert_int_equal(manifest_add_tag(m, "x", MANIFEST_KEEP_MAX + 1), -PW_E_CONFIG);
	pw_error_clear();
	for (int i = 3; i < MANIFEST_TAGS_MAX; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		assert_int_equal(manifest_add_tag(m, name, 0), 0);
	}
	assert_int_equal(manifest_add_tag(m, "one-more", 0), -PW_E_LIMIT);
	pw_error_clear();
	pw_buf_free(&a, 0);
	pw_buf_free(&b, 0);
	manifest_free(m);
	pw_free(back);
}

static void test_not_json_and_newer(void **state)
{
	(void)state;
	struct manifest *m = pw_malloc(sizeof *m);
	static const char *bad[] = {
	    "",
	    "{",
	    "null",
	    "[]",
	    "\"manifest\"",
	    "{\"format\": 1, \"format\": 1}",
	    /* a NUL inside a string: JSON allows \u0000, a C string cannot hold it */
	    "{\"format\": 1, \"tool\": \"pgward\", \"stanza\": \"sh\\u0000op\"}",
	    "{\"format\": 1} trailing",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (decode_text(bad[i], m) != -PW_E_VERIFY)
			fail_msg("\"%s\" decoded: %s", bad[i], pw_error_message());
		pw_error_clear();
	}
	/* a raw NUL byte in the middle of the bytes */
	static const char raw[] = "{\"format\": 1,\0 \"tool\": \"x\"}";
	assert_int_equal(manifest_decode((const uint8_t *)raw, sizeof raw - 1, m), -PW_E_VERIFY);
	pw_error_clear();
	/* duplicated keys deep inside, where a second reader might see the other value */
	char *dup = pw_strdup(FULL);
	char *p = strstr(dup, "\"size\": 1234");
	assert_non_null(p);
	memcpy(p, "\"name\": 1234", 12);
	assert_int_equal(decode_text(dup, m), -PW_E_VERIFY);
	pw_error_clear();
	pw_free(dup);

	/* a newer format: a clear error naming both versions, hint to upgrade */
	struct edit e = {"format", json_integer(2)};
	assert_int_equal(decode_mutated(apply_edit, &e, m), -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_message(), "format 2"));
	assert_non_null(strstr(pw_error_message(), "format 1"));
	assert_non_null(strstr(pw_error_hint_text(), "Upgrade pgward"));
	pw_error_clear();
	json_decref(e.v);
	/* newer wins over damage in fields a newer format may have changed */
	assert_int_equal(decode_text("{\"format\": 7, \"objects\": \"elsewhere\"}", m),
	                 -PW_E_CONFIG);
	pw_error_clear();
	pw_free(m);
}

/* Every seed in tests/data/manifest (the fuzz corpus): the ones pgward wrote decode, the
 * malformed ones (bad-*, duplicate-keys) do not. */
static void test_seeds(void **state)
{
	(void)state;
	char dir[512];
	pw_test_data("manifest", dir, sizeof dir);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	int n = 0, good = 0;
	struct manifest *m = pw_malloc(sizeof *m);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		struct pw_buf b = PW_BUF_INIT(REPO_MANIFEST_MAX);
		assert_int_equal(pw_read_file(path, &b), 0);
		const char *text = pw_buf_str(&b);
		const char *sep = strstr(text, "\n--minisig--\n");
		size_t len = sep ? (size_t)(sep - text) : b.len;
		bool bad = strncmp(de->d_name, "bad-", 4) == 0 ||
		           strcmp(de->d_name, "duplicate-keys") == 0;
		int rc = manifest_decode(b.data, len, m);
		if (bad ? rc == 0 : rc != 0)
			fail_msg("seed %s: rc %d (%s)", de->d_name, rc, pw_error_message());
		if (!bad)
			good++;
		manifest_clear(m);
		pw_error_clear();
		pw_buf_free(&b, 0);
		n++;
	}
	closedir(d);
	pw_free(m);
	if (n < 5 || good < 2)
		fail_msg("tests/data/manifest holds %d seeds (%d good): the data is missing", n,
		         good);
}

static void test_keys(void **state)
{
	(void)state;
	char k[128];
	assert_int_equal(repo_key(k, sizeof k, "shop", "20261206T194401Z-1a2b", "manifest.json"),
	                 0);
	assert_string_equal(k, "shop/20261206T194401Z-1a2b/manifest.json");
	assert_int_equal(repo_key(k, sizeof k, "shop", "20261206T194401Z-1a2b", NULL), 0);
	assert_string_equal(k, "shop/20261206T194401Z-1a2b/");
	assert_int_equal(repo_key(k, sizeof k, "shop", NULL, NULL), 0);
	assert_string_equal(k, "shop/");
	static const char *bad[][3] = {
	    {"../x", "id", "o"}, {"", "id", "o"},       {"a/b", "id", "o"},
	    {"s", "..", "o"},    {"s", "a/b", "o"},     {"s", "", "o"},
	    {"s", "id", ".."},   {"s", "id", "a/../b"}, {"s", "id", ""},
	    {"s", "id", "x\n"},  {"s", "-rf", "o"},     {"pgward-probe", "id", "o"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (repo_key(k, sizeof k, bad[i][0], bad[i][1], bad[i][2]) != -PW_E_STORAGE)
			fail_msg("key %s/%s/%s accepted", bad[i][0], bad[i][1], bad[i][2]);
		assert_string_equal(k, "");
		pw_error_clear();
	}
	assert_int_equal(repo_key(k, sizeof k, "s", NULL, "o"), -PW_E_STORAGE); /* no id */
	pw_error_clear();
	char small[8];
	assert_int_equal(repo_key(small, sizeof small, "shop", "20261206T194401Z-1a2b", "x"),
	                 -PW_E_LIMIT);
	assert_string_equal(small, "");
	pw_error_clear();
}

static void test_record_names(void **state)
{
	(void)state;
	char a[64], b[64];
	time_t when;
	int depth;
	catalog_verify_name(a, 1796586241, 3);
	catalog_verify_name(b, 1796586241, 3);
	assert_string_not_equal(a, b); /* the same second, two names */
	assert_int_equal(strncmp(a, "verify-20261206T194401Z-d3-", 27), 0);
	assert_true(catalog_verify_name_parse(a, &when, &depth));
	assert_int_equal(when, 1796586241);
	assert_int_equal(depth, 3);
	assert_true(catalog_verify_name_parse("verify-20261206T194401Z.json", &when, &depth));
	assert_int_equal(depth, 0); /* the old form: depth from the record */
	static const char *bad[] = {"verify-20261206T194401Z",
	                            "verify-20261306T194401Z.json",
	                            "verify-20261206T194401Z-d4-0011aabb.json",
	                            "verify-20261206T194401Z-d2-0011aabg.json",
	                            "verify-20261206T194401Z-d2-0011aabb.json.x",
	                            "verify-x.json",
	                            "pin-20261206T194401Z.json"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (catalog_verify_name_parse(bad[i], &when, &depth))
			fail_msg("%s parsed", bad[i]);
	char lsn[24];
	uint64_t v;
	manifest_lsn_format(UINT64_C(0x16B374D48), lsn);
	assert_string_equal(lsn, "1/6B374D48");
	assert_int_equal(manifest_lsn_parse("0/0", &v), 0);
	assert_int_equal(manifest_lsn_parse("FFFFFFFF/FFFFFFFF", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(manifest_lsn_parse("1/", &v), -1);
	assert_int_equal(manifest_lsn_parse("/1", &v), -1);
	assert_int_equal(manifest_lsn_parse("1/1/1", &v), -1);
	assert_int_equal(manifest_lsn_parse("100000000/0", &v), -1);
	assert_int_equal(manifest_lsn_parse("-1/0", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_decodes), cmocka_unit_test(test_round_trip_physical),
	    cmocka_unit_test(test_wrong_types),  cmocka_unit_test(test_missing_and_range),
	    cmocka_unit_test(test_caps),         cmocka_unit_test(test_not_json_and_newer),
	    cmocka_unit_test(test_seeds),        cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_record_names), cmocka_unit_test(test_tags),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
