/*
 * test_lease.c - the repository lease of a stanza's verifications and expiries
 * (src/repo/lease.c) on a local repository: a second taker loses and names the holder; a
 * release frees it; a claim whose lease ended, a forged claim with a far-future end but an
 * old object time, and a claim of this host whose process is gone do not count; hostile
 * names in the lock directory are ignored; gc removes only what ended a day ago. Signed
 * claims: a job that trusts keys counts only claims (and releases) signed by one of them.
 */
#include "support.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/time.h"
#include "crypto/minisign.h"
#include "repo/lease.h"
#include "repo/trust.h"
#include "storage/storage.h"

#define LOCKDIR "shop/lock/maintenance/"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void put(struct stor *s, const char *key, const char *text)
{
	struct stor_write_opts wo = {0};
	assert_int_equal(stor_put_buf(s, key, text, strlen(text), &wo, NULL), 0);
}

static size_t count(const char *dir, const char *prefix)
{
	char p[512];
	snprintf(p, sizeof p, "%s/" LOCKDIR, dir);
	DIR *d = opendir(p);
	size_t n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

/* Set the object's time (the posix driver's mtime) to t. */
static void age(const char *dir, const char *key, time_t t)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, key);
	struct timeval tv[2] = {{t, 0}, {t, 0}};
	assert_int_equal(utimes(p, tv), 0);
}

static void test_lease(void **state)
{
	(void)state;
	char dir[] = "/tmp/pgward-test-lease.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct stor *s = NULL;
	struct stor_config cfg = {.addr = dir};
	assert_int_equal(stor_open(&cfg, &s), 0);
	time_t now = pw_now();
	char host[256] = "";
	gethostname(host, sizeof host - 1);

	struct repo_lease a, b;
	bool elsewhere = true;
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere), 0);
	assert_false(elsewhere);
	assert_true(a.held);
	/* a second taker loses, names the holder, and releases its own claim */
	assert_int_equal(repo_lease_take(s, "shop", "expire", now, NULL, &b, &elsewhere),
	                 -PW_E_STORAGE);
	assert_true(elsewhere);
	assert_non_null(strstr(pw_error_message(), "is running on host"));
	pw_error_clear();
	assert_false(b.held);
	assert_int_equal(count(dir, "claim-"), 2);
	assert_int_equal(count(dir, "release-"), 1);
	/* released: free */
	repo_lease_release(s, &a);
	assert_int_equal(repo_lease_take(s, "shop", "expire", now, NULL, &b, &elsewhere), 0);
	repo_lease_release(s, &b);
	/* another stanza's lease is another lease */
	assert_int_equal(repo_lease_take(s, "other", "verify", now, NULL, &a, &elsewhere), 0);
	repo_lease_release(s, &a);

	/* a forged claim of another host, ending in 2099, but its object is 7 hours old */
	char body[512];
	snprintf(body, sizeof body, "{\"host\":\"elsewhere\",\"pid\":1,\"started\":\"x\"}");
	put(s, LOCKDIR "claim-20991231T000000Z-00000000000000aa.json", body);
	age(dir, LOCKDIR "claim-20991231T000000Z-00000000000000aa.json", now - 7 * 3600);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere), 0);
	repo_lease_release(s, &a);
	/* ... the same claim written now holds (at most 6 hours) */
	age(dir, LOCKDIR "claim-20991231T000000Z-00000000000000aa.json", now);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere),
	                 -PW_E_STORAGE);
	assert_non_null(strstr(pw_error_message(), "host \"elsewhere\""));
	pw_error_clear();
	put(s, LOCKDIR "release-20991231T000000Z-00000000000000aa.json", "{}");
	/* redteam: a claim of another machine that has the same host name (two VMs cloned from
	 * one image, both "localhost") and a process id that does not run here: it holds (only
	 * the same kernel boot and process namespace can tell that a process is gone) */
	char boot[REPO_LEASE_MACHINE_MAX];
	repo_lease_machine(boot, sizeof boot);
	assert_true(boot[0] != 0);
	snprintf(body, sizeof body, "{\"host\":\"%s\",\"pid\":%d}", host, (1 << 30) - 1);
	put(s, LOCKDIR "claim-20991231T000000Z-000000000000009a.json", body);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere),
	                 -PW_E_STORAGE);
	pw_error_clear();
	snprintf(body, sizeof body,
	         "{\"host\":\"%s\",\"pid\":%d,\"machine\":\"another boot/pid:[1]\"}", host,
	         (1 << 30) - 1);
	put(s, LOCKDIR "claim-20991231T000000Z-000000000000009b.json", body);
	put(s, LOCKDIR "release-20991231T000000Z-000000000000009a.json", "{}");
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere),
	                 -PW_E_STORAGE);
	pw_error_clear();
	put(s, LOCKDIR "release-20991231T000000Z-000000000000009b.json", "{}");
	/* a claim of this host whose process is gone does not count; a live one does */
	snprintf(body, sizeof body, "{\"host\":\"%s\",\"pid\":%d,\"machine\":\"%s\"}", host,
	         (1 << 30) - 1, boot);
	put(s, LOCKDIR "claim-20991231T000000Z-00000000000000bb.json", body);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere), 0);
	repo_lease_release(s, &a);
	snprintf(body, sizeof body, "{\"host\":\"%s\",\"pid\":%d,\"machine\":\"%s\"}", host,
	         (int)getppid(), boot);
	put(s, LOCKDIR "claim-20991231T000000Z-00000000000000cc.json", body);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere),
	                 -PW_E_STORAGE);
	pw_error_clear();
	put(s, LOCKDIR "release-20991231T000000Z-00000000000000cc.json", "{}");
	/* hostile names are not claims */
	put(s, LOCKDIR "claim-20991231T000000Z-00000000000000DD.json", body);
	put(s, LOCKDIR "claim-2099.json", body);
	put(s, LOCKDIR "claim-20991231T000000Z-00000000000000ee.json.x", body);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere), 0);
	repo_lease_release(s, &a);

	/* redteam: an end past year 9999's or not a time at all; a claim ending in 9999 whose
	 * object is 7 hours old is over like any other */
	put(s, LOCKDIR "claim-99991231T235959Z-00000000000000f1.json", body);
	age(dir, LOCKDIR "claim-99991231T235959Z-00000000000000f1.json", now - 7 * 3600);
	put(s, LOCKDIR "claim-00000000T000000Z-00000000000000f2.json", body);
	put(s, LOCKDIR "claim-20991399T256099Z-00000000000000f3.json", body);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere), 0);
	repo_lease_release(s, &a);
	/* a listing flood: more ended claims than are read (they sort before a live one) never
	 * lets a second taker run: either the live claim is listed, or this taker's own claim
	 * is not and it refuses */
	snprintf(body, sizeof body, "{\"host\":\"elsewhere\",\"pid\":1}");
	put(s, LOCKDIR "claim-20991231T000000Z-00000000000000f4.json", body);
	char k[512];
	for (int i = 0; i < REPO_LEASE_LIST_MAX + 4; i++) { /* written as files: put() syncs each */
		snprintf(k, sizeof k, "%s/" LOCKDIR "claim-19710101T000000Z-%016x.json", dir, i);
		FILE *f = fopen(k, "w");
		assert_non_null(f);
		fclose(f);
	}
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere),
	                 -PW_E_STORAGE);
	assert_false(a.held);
	pw_error_clear();
	put(s, LOCKDIR "release-20991231T000000Z-00000000000000f4.json", "{}");
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere),
	                 -PW_E_STORAGE);
	assert_non_null(strstr(pw_error_message(), "does not list the lease claim"));
	pw_error_clear();
	for (int i = 0; i < REPO_LEASE_LIST_MAX + 4; i++) {
		snprintf(k, sizeof k, "%s/" LOCKDIR "claim-19710101T000000Z-%016x.json", dir, i);
		assert_int_equal(unlink(k), 0);
	}
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere), 0);
	repo_lease_release(s, &a);

	/* gc: what ended more than a day ago goes (claims and their releases), nothing else */
	size_t claims = count(dir, "claim-");
	repo_lease_gc(s, "shop", now);
	assert_int_equal(count(dir, "claim-"), claims);
	repo_lease_gc(s, "shop", now + 6 * 3600 + 86400 + 60);
	/* left: the five hostile names and the claims in 2099 whose objects are new (their
	 * lease ends 6 hours after the object's time: gone too) */
	assert_int_equal(count(dir, "release-"), 0);
	assert_int_equal(count(dir, "claim-"), 5);
	stor_free(s);
	assert_int_equal(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* A claim object name (under LOCKDIR) signed with sk for stanza shop, as another host would
 * write it (the signature first). */
static void put_claim(struct stor *s, const struct minisign_seckey *sk, const char *name,
                      const char *text)
{
	char key[256];
	snprintf(key, sizeof key, LOCKDIR "%s", name);
	if (sk) {
		struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
		assert_int_equal(repo_sign_object(sk, name, "shop", "lock/maintenance", NULL,
		                                  pw_now(), (const uint8_t *)text, strlen(text),
		                                  &sig),
		                 0);
		char skey[300];
		snprintf(skey, sizeof skey, "%s.minisig", key);
		struct stor_write_opts wo = {0};
		assert_int_equal(stor_put_buf(s, skey, sig.data, sig.len, &wo, NULL), 0);
		pw_buf_free(&sig, 0);
	}
	put(s, key, text);
}

static void test_signed(void **state)
{
	(void)state;
	char dir[] = "/tmp/pgward-test-lease.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct stor *s = NULL;
	struct stor_config cfg = {.addr = dir};
	assert_int_equal(stor_open(&cfg, &s), 0);
	time_t now = pw_now();
	/* this host (own key: verify records' signer) trusts the backup host's key */
	struct minisign_seckey own, backup, stranger;
	assert_int_equal(minisign_keygen(&own), 0);
	assert_int_equal(minisign_keygen(&backup), 0);
	assert_int_equal(minisign_keygen(&stranger), 0);
	struct minisign_pubkey pk;
	char b64[MINISIGN_PUB_B64_LEN + 1];
	minisign_seckey_public(&backup, &pk);
	minisign_pubkey_b64(&pk, b64);
	struct repo_signers trusted = {0};
	assert_int_equal(repo_signers_add(&trusted, b64), 0);
	struct repo_lease_keys k = {&own, &trusted}, kb = {&backup, NULL};
	struct repo_lease a;
	bool elsewhere;
	const char *body = "{\"host\":\"elsewhere\",\"pid\":1}";

	/* an unsigned forged claim, and one signed by an untrusted key: ignored */
	put_claim(s, NULL, "claim-20991231T000000Z-00000000000000aa.json", body);
	put_claim(s, &stranger, "claim-20991231T000000Z-00000000000000ab.json", body);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, &k, &a, &elsewhere), 0);
	assert_false(elsewhere);
	repo_lease_release(s, &a);
	/* ... but a job that trusts no key counts them (bounded in time only) */
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, NULL, &a, &elsewhere),
	                 -PW_E_STORAGE);
	pw_error_clear();
	/* a trusted key's signature on another name (a copy: its lease end or nonce changed)
	 * does not count either */
	put_claim(s, &backup, "claim-20991231T000000Z-00000000000000ac.json", body);
	char from[512], to[512];
	snprintf(from, sizeof from,
	         "%s/" LOCKDIR "claim-20991231T000000Z-00000000000000ac.json.minisig", dir);
	snprintf(to, sizeof to,
	         "%s/" LOCKDIR "claim-20991231T000000Z-00000000000000ad.json.minisig", dir);
	assert_int_equal(rename(from, to), 0);
	put(s, LOCKDIR "claim-20991231T000000Z-00000000000000ad.json", body);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, &k, &a, &elsewhere), 0);
	repo_lease_release(s, &a);

	/* the backup host's signed claim (its depth-1 verify) holds the lease ... */
	struct repo_lease b; /* (the backup host trusts its own key: the forgeries are ignored) */
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, &kb, &b, &elsewhere), 0);
	repo_lease_release(s, &b);
	put_claim(s, &backup, "claim-20991231T000000Z-00000000000000b0.json", body);
	assert_int_equal(repo_lease_take(s, "shop", "expire", now, &k, &a, &elsewhere),
	                 -PW_E_STORAGE);
	assert_true(elsewhere);
	pw_error_clear();
	/* ... an unsigned (forged) release does not end it, a signed one does */
	put(s, LOCKDIR "release-20991231T000000Z-00000000000000b0.json", "{}");
	assert_int_equal(repo_lease_take(s, "shop", "expire", now, &k, &a, &elsewhere),
	                 -PW_E_STORAGE);
	pw_error_clear();
	snprintf(from, sizeof from, "%s/" LOCKDIR "release-20991231T000000Z-00000000000000b0.json",
	         dir);
	assert_int_equal(unlink(from), 0); /* (the posix driver does not overwrite) */
	put_claim(s, &backup, "release-20991231T000000Z-00000000000000b0.json", "{}");
	assert_int_equal(repo_lease_take(s, "shop", "expire", now, &k, &a, &elsewhere), 0);
	/* this host's own signed claim holds against another of its jobs; its release (signed)
	 * frees it */
	struct repo_lease c;
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, &k, &c, &elsewhere),
	                 -PW_E_STORAGE);
	pw_error_clear();
	repo_lease_release(s, &a);
	assert_int_equal(repo_lease_take(s, "shop", "verify", now, &k, &c, &elsewhere), 0);
	repo_lease_release(s, &c);
	/* gc removes the signatures with their objects */
	repo_lease_gc(s, "shop", now + 2 * 86400);
	char p[512];
	snprintf(p, sizeof p, "%s/" LOCKDIR, dir);
	DIR *d = opendir(p);
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.')
			assert_null(strstr(e->d_name, "-00000000000000b0.json.minisig"));
	if (d)
		closedir(d);
	repo_signers_free(&trusted);
	minisign_seckey_wipe(&own);
	minisign_seckey_wipe(&backup);
	minisign_seckey_wipe(&stranger);
	stor_free(s);
	assert_int_equal(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lease),
	    cmocka_unit_test(test_signed),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
