/* test_minisign.c - minisign keys and signatures: round trip, stock minisign's vectors
 * ("ED" and legacy "Ed"), every malformed field, wrong key id, flipped bytes. */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "crypto/minisign.h"

static size_t slurp(const char *rel, char *out, size_t cap)
{
	char path[512];
	FILE *f = fopen(pw_test_data(rel, path, sizeof path), "rb");
	assert_non_null(f);
	size_t n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = 0;
	return n;
}

static void sign_text(const struct minisign_seckey *sk, const char *msg, const char *tc,
                      struct pw_buf *out)
{
	assert_int_equal(
	    minisign_sign(sk, (const uint8_t *)msg, strlen(msg), "pgward test", tc, out), 0);
}

static int verify_text(const struct minisign_pubkey *pk, const char *sigtext, const char *msg)
{
	struct minisign_sig sig;
	int rc = minisign_sig_parse(sigtext, strlen(sigtext), &sig);
	if (rc < 0)
		return rc;
	return minisign_verify(pk, &sig, (const uint8_t *)msg, strlen(msg));
}

static void test_round_trip(void **state)
{
	(void)state;
	struct minisign_seckey sk, sk2;
	struct minisign_pubkey pk, pk2;
	assert_int_equal(minisign_keygen(&sk), 0);
	minisign_seckey_public(&sk, &pk);
	/* the public key file and the "RW..." string parse back */
	struct pw_buf pub = PW_BUF_INIT(4096);
	assert_int_equal(minisign_pubkey_write(&pk, &pub), 0);
	const char *pubtext = pw_buf_str(&pub);
	assert_memory_equal(pubtext, "untrusted comment: minisign public key ", 39);
	assert_int_equal(minisign_pubkey_parse(pubtext, pub.len, &pk2), 0);
	assert_memory_equal(&pk, &pk2, sizeof pk);
	char b64[MINISIGN_PUB_B64_LEN + 1];
	minisign_pubkey_b64(&pk, b64);
	assert_memory_equal(b64, "RW", 2);
	assert_int_equal(minisign_pubkey_parse_b64(b64, strlen(b64), &pk2), 0);
	assert_memory_equal(&pk, &pk2, sizeof pk);
	/* the secret key file parses back to the same key */
	struct pw_buf sec = PW_BUF_INIT(4096);
	assert_int_equal(minisign_seckey_write(&sk, &sec), 0);
	assert_int_equal(minisign_seckey_parse(pw_buf_str(&sec), sec.len, &sk2), 0);
	assert_memory_equal(&sk, &sk2, sizeof sk);
	/* sign and verify */
	struct pw_buf sig = PW_BUF_INIT(4096);
	sign_text(&sk, "{\"manifest\": 1}\n", "stanza:main backup:X", &sig);
	assert_int_equal(verify_text(&pk, pw_buf_str(&sig), "{\"manifest\": 1}\n"), 0);
	struct minisign_sig parsed;
	assert_int_equal(minisign_sig_parse(pw_buf_str(&sig), sig.len, &parsed), 0);
	assert_true(parsed.prehashed);
	assert_string_equal(parsed.trusted_comment, "stanza:main backup:X");
	/* another message, another key */
	assert_int_equal(verify_text(&pk, pw_buf_str(&sig), "{\"manifest\": 2}\n"),
	                 -PW_E_SIGNATURE);
	struct minisign_seckey other;
	struct minisign_pubkey opk;
	assert_int_equal(minisign_keygen(&other), 0);
	minisign_seckey_public(&other, &opk);
	assert_int_equal(verify_text(&opk, pw_buf_str(&sig), "{\"manifest\": 1}\n"),
	                 -PW_E_SIGNATURE);
	assert_non_null(strstr(pw_error_message(), "signed by key"));
	/* same key id, different key: the signature itself fails */
	memcpy(opk.keyid, pk.keyid, 8);
	assert_int_equal(verify_text(&opk, pw_buf_str(&sig), "{\"manifest\": 1}\n"),
	                 -PW_E_SIGNATURE);
	assert_non_null(strstr(pw_error_message(), "does not match"));
	/* a secret key file whose public half was swapped is refused */
	struct pw_buf bad = PW_BUF_INIT(4096);
	memcpy(sk2.pk, opk.pk, 32);
	assert_int_equal(minisign_seckey_write(&sk2, &bad), 0);
	assert_int_equal(minisign_seckey_parse(pw_buf_str(&bad), bad.len, &sk2), -PW_E_KEY);
	assert_int_equal(minisign_seckey_parse("nothing\n", 8, &sk2), -PW_E_KEY);
	assert_int_equal(minisign_seckey_parse(pubtext, pub.len, &sk2), -PW_E_KEY);
	/* comments with a line break are never signed */
	assert_true(minisign_sign(&sk, (const uint8_t *)"x", 1, "a\nb", "c", &bad) < 0);
	assert_true(minisign_sign(&sk, (const uint8_t *)"x", 1, "a", "c\rd", &bad) < 0);
	pw_error_clear();
	minisign_seckey_wipe(&sk);
	minisign_seckey_wipe(&sk2);
	minisign_seckey_wipe(&other);
	pw_buf_free(&pub, 0);
	pw_buf_free(&sec, 1);
	pw_buf_free(&sig, 0);
	pw_buf_free(&bad, 1);
}

/* Signatures made by the stock minisign 0.11 ("ED" default and legacy "Ed", -l). */
static void test_minisign_vectors(void **state)
{
	(void)state;
	char pub[4096], msg[4096], sig[4096];
	struct minisign_pubkey pk;
	size_t n = slurp("minisign/minisign.pub", pub, sizeof pub);
	assert_int_equal(minisign_pubkey_parse(pub, n, &pk), 0);
	char id[17];
	minisign_keyid_hex(pk.keyid, id);
	assert_string_equal(id, "79FEC3730EF3D1BB");
	slurp("minisign/msg.txt", msg, sizeof msg);
	const char *files[] = {"minisign/msg.txt.ED.minisig", "minisign/msg.txt.Ed.minisig"};
	for (size_t i = 0; i < 2; i++) {
		slurp(files[i], sig, sizeof sig);
		assert_int_equal(verify_text(&pk, sig, msg), 0);
		/* one changed byte in the message */
		msg[0] ^= 1;
		assert_int_equal(verify_text(&pk, sig, msg), -PW_E_SIGNATURE);
		msg[0] ^= 1;
	}
	struct minisign_sig s;
	slurp(files[1], sig, sizeof sig);
	assert_int_equal(minisign_sig_parse(sig, strlen(sig), &s), 0);
	assert_false(s.prehashed);
	assert_string_equal(s.trusted_comment, "legacy");
}

/* Replace the first occurrence of from by to in text (into out). */
static void edit(const char *text, const char *from, const char *to, char *out, size_t cap)
{
	const char *p = strstr(text, from);
	assert_non_null(p);
	snprintf(out, cap, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
}

static void test_tampering(void **state)
{
	(void)state;
	struct minisign_seckey sk;
	struct minisign_pubkey pk;
	assert_int_equal(minisign_keygen(&sk), 0);
	minisign_seckey_public(&sk, &pk);
	const char *m = "the manifest";
	struct pw_buf b = PW_BUF_INIT(4096);
	sign_text(&sk, m, "stanza:main", &b);
	char good[2048], t[4096];
	snprintf(good, sizeof good, "%s", pw_buf_str(&b));
	/* the four lines */
	char *l2 = strchr(good, '\n') + 1, *l3 = strchr(l2, '\n') + 1, *l4 = strchr(l3, '\n') + 1;
	size_t off2 = (size_t)(l2 - good), off4 = (size_t)(l4 - good);

	/* the trusted comment altered: the global signature fails */
	edit(good, "stanza:main", "stanza:evil", t, sizeof t);
	assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	assert_non_null(strstr(pw_error_message(), "trusted comment"));
	/* each byte of the signature line and of the global signature flipped (base64 char
	 * changed to another valid one): refused, never accepted */
	for (size_t off = off2 + 14; off < off2 + 99; off++) {
		snprintf(t, sizeof t, "%s", good);
		t[off] = t[off] == 'A' ? 'B' : 'A';
		int rc = verify_text(&pk, t, m);
		assert_true(rc == -PW_E_SIGNATURE);
	}
	for (size_t off = off4; off < off4 + 85; off++) {
		snprintf(t, sizeof t, "%s", good);
		t[off] = t[off] == 'A' ? 'B' : 'A';
		assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	}
	/* the key id in the signature changed: wrong key id */
	snprintf(t, sizeof t, "%s", good);
	t[off2 + 4] = t[off2 + 4] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	/* malformed fields */
	const char *malformed[] = {
	    "",
	    "untrusted comment: x\n",
	    "comment: x\nRUS=\ntrusted comment: y\nAAAA\n",
	    "untrusted comment: x\nnot base64!\ntrusted comment: y\nAAAA\n",
	    "untrusted comment: x\nRUS70fMOc8P+ed+8\ntrusted comment: y\nAAAA\n",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++)
		assert_int_equal(verify_text(&pk, malformed[i], m), -PW_E_SIGNATURE);
	/* missing trusted comment prefix, missing global signature, trailing garbage,
	 * an unknown algorithm, a NUL byte, a comment over 1024 bytes */
	edit(good, "trusted comment: ", "trusted: ", t, sizeof t);
	assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	snprintf(t, sizeof t, "%.*s", (int)off4, good);
	assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	snprintf(t, sizeof t, "%sextra\n", good);
	assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	snprintf(t, sizeof t, "%s", good);
	t[off2 + 1] = 'X'; /* "RU" -> "RX": the algorithm bytes change */
	assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	snprintf(t, sizeof t, "%s", good);
	struct minisign_sig s;
	t[5] = 0;
	assert_int_equal(minisign_sig_parse(t, strlen(good), &s), -PW_E_SIGNATURE);
	char longc[1100];
	memset(longc, 'c', sizeof longc - 1);
	longc[sizeof longc - 1] = 0;
	snprintf(t, sizeof t, "untrusted comment: x\n%.*strusted comment: %s\n%s", (int)(l3 - l2),
	         l2, longc, l4);
	assert_int_equal(verify_text(&pk, t, m), -PW_E_SIGNATURE);
	char huge[5000];
	memset(huge, '\n', sizeof huge);
	assert_int_equal(minisign_sig_parse(huge, sizeof huge, &s), -PW_E_SIGNATURE);
	/* CRLF line ends (a file edited on Windows) still verify */
	char crlf[4096];
	size_t j = 0;
	for (const char *p = good; *p; p++) {
		if (*p == '\n')
			crlf[j++] = '\r';
		crlf[j++] = *p;
	}
	crlf[j] = 0;
	assert_int_equal(verify_text(&pk, crlf, m), 0);
	minisign_seckey_wipe(&sk);
	pw_buf_free(&b, 0);
	pw_error_clear();
}

static void test_pubkey_malformed(void **state)
{
	(void)state;
	struct minisign_pubkey pk;
	const char *bad[] = {
	    "",
	    "RWS70fMOc8P+ecHZLGJmi1k7EQlIoICaW3uUHzr8aGmfMhZpSxypE4p",   /* 55 chars */
	    "RWS70fMOc8P+ecHZLGJmi1k7EQlIoICaW3uUHzr8aGmfMhZpSxypE4p8A", /* 57 chars */
	    "RWS70fMOc8P+ecHZLGJmi1k7EQlIoICaW3uUHzr8aGmfMhZpSxypE4p!",  /* bad char */
	    "RXS70fMOc8P+ecHZLGJmi1k7EQlIoICaW3uUHzr8aGmfMhZpSxypE4p8",  /* algorithm */
	    "untrusted comment: only a comment\n",
	    "untrusted comment: "
	    "x\nRWS70fMOc8P+ecHZLGJmi1k7EQlIoICaW3uUHzr8aGmfMhZpSxypE4p8\nmore\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(minisign_pubkey_parse(bad[i], strlen(bad[i]), &pk), -PW_E_KEY);
	const char *good = "RWS70fMOc8P+ecHZLGJmi1k7EQlIoICaW3uUHzr8aGmfMhZpSxypE4p8\n";
	assert_int_equal(minisign_pubkey_parse(good, strlen(good), &pk), 0);
	pw_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_minisign_vectors),
	    cmocka_unit_test(test_tampering),
	    cmocka_unit_test(test_pubkey_malformed),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
