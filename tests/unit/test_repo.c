/* test_repo.c - the trust verdict of repo/trust.c: trusted, unsigned, bad (edited manifest,
 * altered trusted comment, signature for another backup), untrusted key; signer lists. */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "repo/trust.h"

static const char *M = "{\"stanza\": \"shop\", \"backup_id\": \"20261206T000000Z-0001\"}\n";
#define ID "20261206T000000Z-0001"

static void verdict(const char *m, const struct pw_buf *sig, const char *stanza, const char *id,
                    const struct repo_signers *s, struct repo_verdict *v)
{
	repo_trust_check((const uint8_t *)m, strlen(m), sig ? (const char *)sig->data : NULL,
	                 sig ? sig->len : 0, stanza, id, s, v);
}

static void test_verdicts(void **state)
{
	(void)state;
	struct minisign_seckey sk, other;
	assert_int_equal(minisign_keygen(&sk), 0);
	assert_int_equal(minisign_keygen(&other), 0);
	struct minisign_pubkey pk;
	minisign_seckey_public(&sk, &pk);
	char b64[MINISIGN_PUB_B64_LEN + 1], kid[17];
	minisign_pubkey_b64(&pk, b64);
	minisign_keyid_hex(pk.keyid, kid);
	struct repo_signers s = {0};
	assert_int_equal(repo_signers_add(&s, b64), 0);
	assert_int_equal(repo_signers_add(&s, b64), 0); /* duplicates collapse */
	assert_int_equal(s.n, 1);
	assert_int_equal(repo_signers_add(&s, "RWnot-a-key"), -PW_E_NOTFOUND); /* a path */
	pw_error_clear();

	struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX), osig = PW_BUF_INIT(MINISIGN_FILE_MAX);
	assert_int_equal(
	    repo_sign_manifest(&sk, "shop", ID, 1765000000, (const uint8_t *)M, strlen(M), &sig),
	    0);
	assert_int_equal(repo_sign_manifest(&other, "shop", ID, 1765000000, (const uint8_t *)M,
	                                    strlen(M), &osig),
	                 0);
	struct repo_verdict v;
	verdict(M, &sig, "shop", ID, &s, &v);
	assert_int_equal(v.trust, TRUST_SIGNED);
	assert_string_equal(v.keyid, kid);
	char label[64];
	repo_trust_label(&v, label, sizeof label);
	assert_string_equal(label, kid);

	verdict(M, NULL, "shop", ID, &s, &v);
	assert_int_equal(v.trust, TRUST_UNSIGNED);
	assert_string_equal(repo_trust_name(v.trust), "unsigned");

	/* the manifest edited by one byte */
	char edited[256];
	snprintf(edited, sizeof edited, "%s", M);
	edited[3] ^= 1;
	verdict(edited, &sig, "shop", ID, &s, &v);
	assert_int_equal(v.trust, TRUST_BAD);
	repo_trust_label(&v, label, sizeof label);
	assert_string_equal(label, "BAD SIGNATURE");

	/* the same signed manifest found under another id or stanza */
	verdict(M, &sig, "shop", "20261206T000000Z-0002", &s, &v);
	assert_int_equal(v.trust, TRUST_BAD);
	assert_non_null(strstr(v.detail, "another backup"));
	verdict(M, &sig, "shop2", ID, &s, &v);
	assert_int_equal(v.trust, TRUST_BAD);

	/* another key: untrusted, named by its id; with no signers at all: untrusted too */
	verdict(M, &osig, "shop", ID, &s, &v);
	assert_int_equal(v.trust, TRUST_UNTRUSTED);
	repo_trust_label(&v, label, sizeof label);
	assert_memory_equal(label, "untrusted ", 10);
	verdict(M, &sig, "shop", ID, NULL, &v);
	assert_int_equal(v.trust, TRUST_UNTRUSTED);

	/* garbage instead of a signature */
	struct pw_buf junk = PW_BUF_INIT(64);
	pw_buf_printf(&junk, "hello\n");
	verdict(M, &junk, "shop", ID, &s, &v);
	assert_int_equal(v.trust, TRUST_BAD);

	/* a verdict never leaves an error behind */
	assert_int_equal(pw_error_code(), 0);
	assert_int_equal(repo_trust_error(&v, ID, true), -PW_E_SIGNATURE);
	assert_non_null(strstr(pw_error_hint_text(), "--allow-unsigned"));
	pw_error_clear();

	repo_signers_free(&s);
	minisign_seckey_wipe(&sk);
	minisign_seckey_wipe(&other);
	pw_buf_free(&sig, 0);
	pw_buf_free(&osig, 0);
	pw_buf_free(&junk, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verdicts),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
