/* test_catalog.c - the catalog of repo/catalog.c over a local repository: the states
 * (complete, damaged, newer-format, incomplete), stray backup directories, the newest
 * verification record of each depth (old and new names), pins, and the usable check. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/time.h"
#include "repo/catalog.h"

#define SHA "6b86b273ff34fce19c6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"

static void put(struct stor *s, const char *key, const char *text)
{
	struct stor_write_opts o = {.content_type = "application/json"};
	if (stor_put_buf(s, key, text, strlen(text), &o, NULL) < 0)
		fail_msg("put %s: %s", key, pw_error_message());
}

static void manifest(struct stor *s, const char *id, const char *extra)
{
	char key[256], text[1024];
	snprintf(key, sizeof key, "shop/%s/manifest.json", id);
	snprintf(text, sizeof text,
	         "{\"format\": 1, \"stanza\": \"shop\", \"backup_id\": \"%s\", \"status\": "
	         "\"complete\", \"started\": \"2026-12-06T0%c:00:00Z\", \"objects\": [{\"name\": "
	         "\"data.pgdump.zst.age\", \"size\": 4, \"sha256\": \"" SHA "\"}]%s}",
	         id, id[10], extra);
	put(s, key, text);
	snprintf(key, sizeof key, "shop/%s/data.pgdump.zst.age", id);
	put(s, key, "data");
}

static void test_catalog(void **state)
{
	(void)state;
	char dir[] = "/tmp/pgward-test-catalog.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct stor *s = NULL;
	struct stor_config cfg = {.addr = dir};
	assert_int_equal(stor_open(&cfg, &s), 0);

	/* A: complete, verified at three depths over time, pinned then unpinned */
	const char *A = "20261206T010000Z-000a";
	manifest(s, A, "");
	put(s, "shop/20261206T010000Z-000a/verify-20261206T100000Z.json",
	    "{\"depth\": 3, \"result\": \"fail\"}");
	put(s, "shop/20261206T010000Z-000a/verify-20261206T090000Z-d2-0000aaaa.json",
	    "{\"depth\": 2, \"result\": \"fail\"}");
	put(s, "shop/20261206T010000Z-000a/verify-20261206T110000Z-d2-0000bbbb.json",
	    "{\"depth\": 2, \"result\": \"pass\"}");
	put(s, "shop/20261206T010000Z-000a/verify-20261206T110000Z-d1-0000cccc.json",
	    "{\"depth\": 1, \"result\": \"pass\"}");
	/* a record whose name and content disagree on the depth */
	put(s, "shop/20261206T010000Z-000a/verify-20261206T080000Z-d3-0000dddd.json",
	    "{\"depth\": 2, \"result\": \"pass\"}");
	put(s, "shop/20261206T010000Z-000a/pin-20261206T100000Z.json", "{}");
	put(s, "shop/20261206T010000Z-000a/unpin-20261206T110000Z.json", "{}");
	/* B: damaged; C: incomplete; D: newer format; E: pinned, verified by an old record */
	const char *B = "20261206T020000Z-000b", *D = "20261206T040000Z-000d",
	           *E = "20261206T050000Z-000e";
	manifest(s, B, ", \"globals\": \"yes\"");
	put(s, "shop/20261206T030000Z-000c/data.pgdump.zst.age", "data");
	put(s, "shop/20261206T040000Z-000d/manifest.json", "{\"format\": 9}");
	manifest(s, E, "");
	put(s, "shop/20261206T050000Z-000e/verify-20261206T120000Z.json",
	    "{\"depth\": 2, \"result\": \"pass\"}");
	put(s, "shop/20261206T050000Z-000e/pin-20261206T120000Z.json", "{}");
	/* a directory whose name is not a backup id: skipped, never built into a key */
	put(s, "shop/not an id/manifest.json", "{}");

	struct backup_list l;
	assert_int_equal(catalog_list(s, "shop", &l), 0);
	assert_int_equal(l.n, 5);
	const struct backup_entry *a = &l.e[0], *b = &l.e[1], *c = &l.e[2], *d = &l.e[3],
	                          *e = &l.e[4];
	assert_string_equal(a->id, A);
	assert_int_equal(a->state, BACKUP_COMPLETE);
	assert_true(a->complete && a->manifest);
	assert_int_equal(a->manifest->objects[0].size, 4);
	assert_string_equal(a->by_depth[1].result, "pass");
	assert_string_equal(a->by_depth[2].result, "pass"); /* 11:00 pass after a 09:00 fail */
	assert_string_equal(a->by_depth[2].record, "verify-20261206T110000Z-d2-0000bbbb.json");
	assert_string_equal(a->by_depth[3].result, "fail"); /* the old-form record, read */
	assert_string_equal(a->by_depth[3].record, "verify-20261206T100000Z.json");
	assert_false(catalog_verified(a)); /* depth 3's newest failed */
	assert_string_equal(a->last_verify, "verify-20261206T110000Z-d2-0000bbbb.json");
	assert_int_equal(a->verify_depth, 2);
	/* the unpin is newer but unsigned: ignored (shown), the pin stands; without signatures
	 * asked (--allow-unsigned) the newest marker decides */
	assert_true(a->pinned);
	assert_false(a->pinned_any);
	assert_string_equal(a->unpin_ignored, "20261206T110000Z.json");
	assert_int_equal(a->unpin_ignored_sig.trust, TRUST_UNSIGNED);
	assert_int_equal(a->pin_sig.trust, TRUST_UNSIGNED);
	assert_int_equal(catalog_entry_usable(a), 0);

	assert_int_equal(b->state, BACKUP_DAMAGED);
	assert_false(b->complete);
	assert_null(b->manifest);
	assert_non_null(strstr(b->damage, "\"globals\""));
	assert_int_equal(catalog_entry_usable(b), -PW_E_VERIFY);
	assert_non_null(strstr(pw_error_message(), B));
	pw_error_clear();
	assert_int_equal(c->state, BACKUP_INCOMPLETE);
	assert_int_equal(catalog_entry_usable(c), -PW_E_NOTFOUND);
	pw_error_clear();
	assert_string_equal(d->id, D);
	assert_int_equal(d->state, BACKUP_NEWER);
	assert_string_equal(catalog_state_name(d->state), "newer-format");
	assert_int_equal(catalog_entry_usable(d), -PW_E_CONFIG);
	assert_non_null(strstr(pw_error_hint_text(), "Upgrade"));
	pw_error_clear();
	assert_string_equal(e->id, E);
	assert_true(e->pinned);
	assert_string_equal(e->by_depth[2].result, "pass");
	/* an old, unsigned record: shown, counted only without signatures asked */
	assert_false(catalog_verified(e));
	assert_true(catalog_verified_any(e));
	assert_int_equal(e->verify_depth, 2);

	/* the default pick is the newest complete backup; by id any; before a time */
	assert_ptr_equal(catalog_pick(&l, NULL, 0), e);
	assert_ptr_equal(catalog_pick(&l, B, 0), b);
	assert_ptr_equal(catalog_pick(&l, NULL, 1796527000), a); /* before 05:00, after 01:00 */
	assert_null(catalog_pick(&l, NULL, 1796518000));         /* before 01:00 */
	catalog_list_free(&l);
	assert_int_equal(pw_error_code(), 0);

	stor_free(s);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "%s", dir);
	/* remove the temporary repository (files written 0600 by the posix driver) */
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", cmd, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
}

/* A repository writer plants records and markers dated in the future: as the newest by name
 * they would outrank every later genuine verification (a failing drill hidden for good) and
 * every later pgward unpin/pin (junk kept forever, or a pin undone for good). Names that
 * are not pgward's form or lie more than 5 minutes ahead of now are ignored. */
static time_t fake_now(void)
{
	return 1796576400; /* 2026-12-06T17:00:00Z */
}

static void test_future_markers(void **state)
{
	(void)state;
	char dir[] = "/tmp/pgward-test-catalog.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct stor *s = NULL;
	struct stor_config cfg = {.addr = dir};
	assert_int_equal(stor_open(&cfg, &s), 0);
	pw_clock_set(fake_now);
	const char *A = "20261206T010000Z-000a";
	manifest(s, A, "");
	/* planted: a pass at depth 3 dated 2099, a pin that sorts after every stamp */
	put(s, "shop/20261206T010000Z-000a/verify-20991231T235959Z-d3-ffffffff.json",
	    "{\"depth\": 3, \"result\": \"pass\"}");
	put(s, "shop/20261206T010000Z-000a/verify-20991231T235959Z.json",
	    "{\"depth\": 1, \"result\": \"pass\"}");
	put(s, "shop/20261206T010000Z-000a/pin-~.json", "{}");
	put(s, "shop/20261206T010000Z-000a/pin-20991231T235959Z.json", "{}");
	/* genuine: the drill failed at 12:00, the operator unpinned at 13:00 */
	put(s, "shop/20261206T010000Z-000a/verify-20261206T120000Z-d3-0000aaaa.json",
	    "{\"depth\": 3, \"result\": \"fail\"}");
	put(s, "shop/20261206T010000Z-000a/pin-20261206T110000Z.json", "{}");
	put(s, "shop/20261206T010000Z-000a/unpin-20261206T130000Z.json", "{}");
	/* within the 5 minutes of clock skew: still counted */
	put(s, "shop/20261206T010000Z-000a/verify-20261206T170400Z-d1-0000bbbb.json",
	    "{\"depth\": 1, \"result\": \"pass\"}");

	struct backup_list l;
	assert_int_equal(catalog_list(s, "shop", &l), 0);
	assert_int_equal(l.n, 1);
	const struct backup_entry *a = &l.e[0];
	assert_string_equal(a->by_depth[3].record, "verify-20261206T120000Z-d3-0000aaaa.json");
	assert_string_equal(a->by_depth[3].result, "fail");
	assert_string_equal(a->by_depth[1].record, "verify-20261206T170400Z-d1-0000bbbb.json");
	assert_false(catalog_verified(a));
	assert_false(catalog_verified_any(a));
	assert_false(a->pinned_any);
	assert_true(a->pinned); /* the 13:00 unpin is unsigned: ignored */
	assert_string_equal(a->pin_stamp, "20261206T110000Z.json");
	catalog_list_free(&l);
	pw_clock_set(NULL);
	stor_free(s);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
}

/* Signed records and markers: a repository writer without a trusted key can plant records
 * and unpin markers, but only what a trusted-signer key signed is evidence or cancels a
 * pin. */
static struct minisign_seckey g_trusted, g_other;

static void put_signed(struct stor *s, const struct minisign_seckey *sk, const char *id,
                       const char *name, const char *sig_for, int depth, const char *result,
                       const char *text)
{
	char key[256];
	snprintf(key, sizeof key, "shop/%s/%s", id, name);
	put(s, key, text);
	if (!sk)
		return;
	struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
	int rc = depth ? catalog_sign_record(sk, "shop", id, sig_for, depth, result, 0, text,
	                                     strlen(text), &sig)
	               : repo_sign_object(sk, sig_for, "shop", id, "", 0, (const uint8_t *)text,
	                                  strlen(text), &sig);
	assert_int_equal(rc, 0);
	snprintf(key, sizeof key, "shop/%s/%s.minisig", id, name);
	struct pw_buf z = PW_BUF_INIT(8192);
	assert_int_equal(pw_buf_append(&z, sig.data, sig.len), 0);
	assert_int_equal(pw_buf_append(&z, "", 1), 0);
	put(s, key, (const char *)z.data);
	pw_buf_free(&z, 0);
	pw_buf_free(&sig, 0);
}

static void test_signed_records(void **state)
{
	(void)state;
	char dir[] = "/tmp/pgward-test-catalog.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct stor *s = NULL;
	struct stor_config cfg = {.addr = dir};
	assert_int_equal(stor_open(&cfg, &s), 0);
	assert_int_equal(minisign_keygen(&g_trusted), 0);
	assert_int_equal(minisign_keygen(&g_other), 0);
	struct minisign_pubkey pk;
	char b64[MINISIGN_PUB_B64_LEN + 1];
	minisign_seckey_public(&g_trusted, &pk);
	minisign_pubkey_b64(&pk, b64);
	struct repo_signers signers = {0};
	assert_int_equal(repo_signers_add(&signers, b64), 0);

	/* A: a planted unsigned pass */
	const char *A = "20261206T010000Z-000a", *B = "20261206T020000Z-000b",
	           *C = "20261206T030000Z-000c", *D = "20261206T040000Z-000d",
	           *E = "20261206T050000Z-000e", *F = "20261206T060000Z-000f";
	const char *pass1 = "{\"depth\": 1, \"result\": \"pass\"}";
	const char *fail1 = "{\"depth\": 1, \"result\": \"fail\"}";
	manifest(s, A, "");
	put_signed(s, NULL, A, "verify-20261206T100000Z-d1-0000aaaa.json", NULL, 1, "pass", pass1);
	/* B: signed by a key that is not trusted */
	manifest(s, B, "");
	put_signed(s, &g_other, B, "verify-20261206T100000Z-d1-0000aaaa.json",
	           "verify-20261206T100000Z-d1-0000aaaa.json", 1, "pass", pass1);
	/* C: signed by the trusted key */
	manifest(s, C, "");
	put_signed(s, &g_trusted, C, "verify-20261206T100000Z-d1-0000aaaa.json",
	           "verify-20261206T100000Z-d1-0000aaaa.json", 1, "pass", pass1);
	/* D: a genuine signature for another record name (same bytes), copied beside a new
	 * name; and a signature naming "pass" over a record that says fail */
	manifest(s, D, "");
	put_signed(s, &g_trusted, D, "verify-20261206T110000Z-d1-0000bbbb.json",
	           "verify-20261206T100000Z-d1-0000aaaa.json", 1, "pass", pass1);
	/* E: a signed fail, then a newer planted unsigned pass: the fail stays the evidence */
	manifest(s, E, "");
	put_signed(s, &g_trusted, E, "verify-20261206T100000Z-d1-0000aaaa.json",
	           "verify-20261206T100000Z-d1-0000aaaa.json", 1, "fail", fail1);
	put_signed(s, NULL, E, "verify-20261206T110000Z-d1-0000bbbb.json", NULL, 1, "pass", pass1);
	/* F: a signed pass, then a newer unsigned fail: shown, but the signed pass counts */
	manifest(s, F, "");
	put_signed(s, &g_trusted, F, "verify-20261206T100000Z-d1-0000aaaa.json",
	           "verify-20261206T100000Z-d1-0000aaaa.json", 1, "pass", pass1);
	put_signed(s, NULL, F, "verify-20261206T110000Z-d1-0000bbbb.json", NULL, 1, "fail", fail1);

	/* pins: A pinned, unsigned unpin after it (ignored); B pinned, unpin signed by the
	 * untrusted key (ignored); C pinned, signed unpin (honoured); D signed unpin before a
	 * later pin (the pin stands); E: an unpin signature copied from another backup */
	const char *pin = "{\"pinned\": \"x\"}", *unpin = "{\"unpinned\": \"x\"}";
	put_signed(s, NULL, A, "pin-20261206T100000Z.json", NULL, 0, NULL, pin);
	put_signed(s, NULL, A, "unpin-20261206T110000Z.json", NULL, 0, NULL, unpin);
	put_signed(s, &g_trusted, B, "pin-20261206T100000Z.json", "pin-20261206T100000Z.json", 0,
	           NULL, pin);
	put_signed(s, &g_other, B, "unpin-20261206T110000Z.json", "unpin-20261206T110000Z.json", 0,
	           NULL, unpin);
	put_signed(s, NULL, C, "pin-20261206T100000Z.json", NULL, 0, NULL, pin);
	put_signed(s, &g_trusted, C, "unpin-20261206T110000Z.json", "unpin-20261206T110000Z.json",
	           0, NULL, unpin);
	put_signed(s, &g_trusted, D, "unpin-20261206T090000Z.json", "unpin-20261206T090000Z.json",
	           0, NULL, unpin);
	put_signed(s, NULL, D, "pin-20261206T100000Z.json", NULL, 0, NULL, pin);
	put_signed(s, NULL, E, "pin-20261206T100000Z.json", NULL, 0, NULL, pin);
	put_signed(s, &g_trusted, E, "unpin-20261206T110000Z.json", "unpin-20261206T120000Z.json",
	           0, NULL, unpin);

	struct backup_list l;
	assert_int_equal(catalog_list_trusted(s, "shop", &signers, false, &l), 0);
	assert_int_equal(l.n, 6);
	const struct backup_entry *a = &l.e[0], *b = &l.e[1], *c = &l.e[2], *d = &l.e[3],
	                          *e = &l.e[4], *f = &l.e[5];
	assert_string_equal(a->by_depth[1].result, "pass");
	assert_int_equal(a->by_depth[1].sig.trust, TRUST_UNSIGNED);
	assert_false(catalog_verified(a));
	assert_true(catalog_verified_any(a));
	assert_int_equal(b->by_depth[1].sig.trust, TRUST_UNTRUSTED);
	assert_false(catalog_verified(b));
	assert_int_equal(c->by_depth[1].sig.trust, TRUST_SIGNED);
	assert_true(catalog_verified(c));
	assert_int_equal(d->by_depth[1].sig.trust, TRUST_BAD);
	assert_false(catalog_verified(d));
	assert_string_equal(e->by_depth[1].result, "pass"); /* shown: the newest */
	assert_string_equal(e->evidence[1].result, "fail"); /* counted: the newest signed */
	assert_false(catalog_verified(e));
	assert_string_equal(f->by_depth[1].result, "fail");
	assert_true(catalog_verified(f));

	assert_true(a->pinned);
	assert_string_equal(a->unpin_ignored, "20261206T110000Z.json");
	assert_true(b->pinned);
	assert_int_equal(b->pin_sig.trust, TRUST_SIGNED);
	assert_int_equal(b->unpin_ignored_sig.trust, TRUST_UNTRUSTED);
	assert_false(c->pinned);
	assert_string_equal(c->unpin_stamp, "20261206T110000Z.json");
	assert_true(d->pinned);
	assert_true(e->pinned);
	assert_int_equal(e->unpin_ignored_sig.trust, TRUST_BAD);
	catalog_list_free(&l);

	/* without trusted keys nothing is evidence and no unpin counts */
	assert_int_equal(catalog_list(s, "shop", &l), 0);
	for (size_t i = 0; i < l.n; i++) {
		assert_false(catalog_verified(&l.e[i]));
		assert_true(!l.e[i].pin_stamp[0] || l.e[i].pinned);
	}
	catalog_list_free(&l);
	assert_int_equal(pw_error_code(), 0);
	repo_signers_free(&signers);
	minisign_seckey_wipe(&g_trusted);
	minisign_seckey_wipe(&g_other);
	stor_free(s);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catalog),
	    cmocka_unit_test(test_future_markers),
	    cmocka_unit_test(test_signed_records),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
