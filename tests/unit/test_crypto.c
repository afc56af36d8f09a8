/* test_crypto.c - keys, bech32, header round trips, STREAM edge sizes, armor, tampering. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/secret.h"
#include "crypto/age.h"

static int to_buf(void *arg, const uint8_t *p, size_t n)
{
	return pw_buf_append(arg, p, n);
}

static void test_keys(void **state)
{
	(void)state;
	/* known pair from the age vectors (x25519) */
	struct age_x25519 k;
	assert_int_equal(
	    age_identity_parse("AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDR"
	                       "WSVLPS7HSRWQ8GKT5Y",
	                       &k),
	    -PW_E_KEY); /* wrong checksum/length */
	struct age_x25519 g;
	assert_int_equal(age_x25519_generate(&g), 0);
	char id[AGE_IDENTITY_STRLEN + 1], rc[AGE_RECIPIENT_STRLEN + 1];
	age_identity_encode(&g, id);
	age_recipient_encode(g.pub, rc);
	assert_int_equal(strlen(id), AGE_IDENTITY_STRLEN);
	assert_int_equal(strlen(rc), AGE_RECIPIENT_STRLEN);
	assert_memory_equal(id, "AGE-SECRET-KEY-1", 16);
	assert_memory_equal(rc, "age1", 4);
	assert_int_equal(age_identity_parse(id, &k), 0);
	assert_memory_equal(k.pub, g.pub, 32);
	uint8_t pub[32];
	assert_int_equal(age_recipient_parse(rc, pub), 0);
	assert_memory_equal(pub, g.pub, 32);
	/* case rules: identities uppercase, recipients lowercase; no mixed case */
	char lower[AGE_IDENTITY_STRLEN + 1];
	for (size_t i = 0; i <= AGE_IDENTITY_STRLEN; i++)
		lower[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] + 32 : id[i]);
	assert_int_equal(age_identity_parse(lower, &k), -PW_E_KEY);
	char mixed[AGE_RECIPIENT_STRLEN + 1];
	memcpy(mixed, rc, sizeof mixed);
	mixed[10] = (char)(mixed[10] >= 'a' && mixed[10] <= 'z' ? mixed[10] - 32 : mixed[10]);
	if (strcmp(mixed, rc) != 0)
		assert_int_equal(age_recipient_parse(mixed, pub), -PW_E_KEY);
	/* a flipped character breaks the checksum */
	char bad[AGE_RECIPIENT_STRLEN + 1];
	memcpy(bad, rc, sizeof bad);
	bad[20] = bad[20] == 'q' ? 'p' : 'q';
	assert_int_equal(age_recipient_parse(bad, pub), -PW_E_KEY);
	assert_int_equal(age_recipient_parse(id, pub), -PW_E_KEY); /* identity is no recipient */
}

static void roundtrip(size_t size, bool armor, size_t nrcpt, bool passphrase)
{
	struct age_x25519 keys[3];
	struct age_recipient r[3];
	struct pw_secret *pass = pw_secret_from_str("correct horse battery staple");
	for (size_t i = 0; i < nrcpt; i++) {
		assert_int_equal(age_x25519_generate(&keys[i]), 0);
		r[i] = (struct age_recipient){.kind = AGE_ID_X25519};
		memcpy(r[i].pub, keys[i].pub, 32);
	}
	if (passphrase) {
		r[0] =
		    (struct age_recipient){.kind = AGE_ID_SCRYPT, .passphrase = pass, .work = 10};
		nrcpt = 1;
	}
	uint8_t *plain = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		plain[i] = (uint8_t)(i * 31 + 7);
	struct pw_buf ct = PW_BUF_INIT(SIZE_MAX / 2), pt = PW_BUF_INIT(SIZE_MAX / 2);
	struct age_enc *e;
	assert_int_equal(age_enc_new(&e, r, nrcpt, armor, to_buf, &ct), 0);
	/* write in uneven pieces */
	for (size_t off = 0; off < size;) {
		size_t step = off % 3 == 0 ? 70000 : 1000;
		if (step > size - off)
			step = size - off;
		assert_int_equal(age_enc_update(e, plain + off, step), 0);
		off += step;
	}
	assert_int_equal(age_enc_final(e), 0);
	age_enc_free(e);
	if (armor)
		assert_memory_equal(ct.data, AGE_ARMOR_BEGIN, strlen(AGE_ARMOR_BEGIN));
	else
		assert_memory_equal(ct.data, "age-encryption.org/v1\n", 22);
	/* every recipient can decrypt */
	for (size_t k = 0; k < nrcpt; k++) {
		struct age_identity id = {.kind = passphrase ? AGE_ID_SCRYPT : AGE_ID_X25519};
		if (passphrase)
			id.passphrase = pass;
		else
			id.x25519 = keys[k];
		pw_buf_reset(&pt);
		struct age_dec *d = age_dec_new(&id, 1, AGE_ARMOR_AUTO, to_buf, &pt);
		assert_int_equal(age_dec_update(d, ct.data, ct.len), 0);
		assert_int_equal(age_dec_final(d), 0);
		age_dec_free(d);
		assert_int_equal(pt.len, size);
		if (size)
			assert_memory_equal(pt.data, plain, size);
	}
	/* a stranger cannot */
	if (!passphrase) {
		struct age_identity other = {.kind = AGE_ID_X25519};
		assert_int_equal(age_x25519_generate(&other.x25519), 0);
		struct age_dec *d = age_dec_new(&other, 1, AGE_ARMOR_AUTO, to_buf, &pt);
		assert_int_equal(age_dec_update(d, ct.data, ct.len), -PW_E_AGE_NOMATCH);
		age_dec_free(d);
	}
	/* one flipped byte in the last payload byte: payload failure, nothing past it */
	if (!armor && !passphrase) {
		struct age_identity id = {.kind = AGE_ID_X25519, .x25519 = keys[0]};
		ct.data[ct.len - 1] ^= 1;
		pw_buf_reset(&pt);
		struct age_dec *d = age_dec_new(&id, 1, AGE_ARMOR_AUTO, to_buf, &pt);
		int rc = age_dec_update(d, ct.data, ct.len);
		if (rc == 0)
			rc = age_dec_final(d);
		assert_int_equal(rc, -PW_E_AGE_PAYLOAD);
		age_dec_free(d);
		assert_true(pt.len < size || size == 0);
		assert_int_equal(pt.len % AGE_CHUNK, 0);
		/* truncation by one chunk boundary is detected too */
		ct.data[ct.len - 1] ^= 1;
		if (size > AGE_CHUNK) {
			size_t cut =
			    ct.len - (size % AGE_CHUNK ? size % AGE_CHUNK + 16 : AGE_ENC_CHUNK);
			d = age_dec_new(&id, 1, AGE_ARMOR_AUTO, to_buf, &pt);
			rc = age_dec_update(d, ct.data, cut);
			if (rc == 0)
				rc = age_dec_final(d);
			assert_int_equal(rc, -PW_E_AGE_PAYLOAD);
			age_dec_free(d);
		}
	}
	pw_buf_free(&ct, 0);
	pw_buf_free(&pt, 0);
	pw_secret_free(pass);
	free(plain);
}

static void test_roundtrip_sizes(void **state)
{
	(void)state;
	const size_t sizes[] = {0,
	                        1,
	                        47,
	                        48,
	                        49,
	                        AGE_CHUNK - 1,
	                        AGE_CHUNK,
	                        AGE_CHUNK + 1,
	                        2 * AGE_CHUNK,
	                        3 * AGE_CHUNK + 17};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		roundtrip(sizes[i], false, 1, false);
		roundtrip(sizes[i], true, 2, false);
	}
	roundtrip(200000, false, 3, false);
}

static void test_passphrase(void **state)
{
	(void)state;
	roundtrip(100, false, 1, true);
	roundtrip(AGE_CHUNK + 5, true, 1, true);
	/* passphrase cannot be mixed with other recipients */
	struct pw_secret *p = pw_secret_from_str("pw-pw-pw");
	struct age_recipient r[2] = {{.kind = AGE_ID_SCRYPT, .passphrase = p, .work = 10},
	                             {.kind = AGE_ID_X25519}};
	struct age_enc *e;
	struct pw_buf ct = PW_BUF_INIT(1 << 20);
	assert_int_equal(age_enc_new(&e, r, 2, false, to_buf, &ct), -PW_E_USAGE);
	assert_int_equal(age_enc_new(&e, r, 0, false, to_buf, &ct), -PW_E_KEY);
	/* wrong passphrase: no match; work factor above the cap: header failure */
	assert_int_equal(age_enc_new(&e, r, 1, false, to_buf, &ct), 0);
	assert_int_equal(age_enc_final(e), 0);
	age_enc_free(e);
	struct pw_secret *wrong = pw_secret_from_str("not-it");
	struct age_identity id = {.kind = AGE_ID_SCRYPT, .passphrase = wrong};
	struct pw_buf pt = PW_BUF_INIT(1 << 20);
	struct age_dec *d = age_dec_new(&id, 1, AGE_ARMOR_NO, to_buf, &pt);
	assert_int_equal(age_dec_update(d, ct.data, ct.len), -PW_E_AGE_NOMATCH);
	age_dec_free(d);
	id.passphrase = p;
	id.max_work = 9;
	d = age_dec_new(&id, 1, AGE_ARMOR_NO, to_buf, &pt);
	assert_int_equal(age_dec_update(d, ct.data, ct.len), -PW_E_AGE_HEADER);
	assert_non_null(strstr(pw_error_message(), "work factor"));
	age_dec_free(d);
	pw_secret_free(wrong);
	pw_secret_free(p);
	pw_buf_free(&ct, 0);
	pw_buf_free(&pt, 0);
}

static void test_header_roundtrip(void **state)
{
	(void)state;
	const char *hdr = "age-encryption.org/v1\n"
	                  "-> X25519 abc def\n"
	                  "AAAA\n"
	                  "-> grease\n"
	                  "\n"
	                  "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
	struct age_header h;
	size_t len = strlen(hdr);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(age_header_parse((const uint8_t *)hdr, cut, &h), 1);
	assert_int_equal(age_header_parse((const uint8_t *)hdr, len, &h), 0);
	assert_int_equal(h.nstanzas, 2);
	assert_string_equal(h.stanzas[0].type, "X25519");
	assert_int_equal(h.stanzas[0].nargs, 2);
	assert_int_equal(h.stanzas[0].bodylen, 3);
	assert_int_equal(h.stanzas[1].bodylen, 0);
	assert_int_equal(h.len, len);
	struct pw_buf out = PW_BUF_INIT(4096);
	assert_int_equal(age_header_encode_stanzas(&h, &out), 0);
	assert_int_equal(out.len, h.mac_covered);
	assert_memory_equal(out.data, hdr, out.len);
	age_header_free(&h);
	pw_buf_free(&out, 0);
	assert_int_equal(age_header_parse((const uint8_t *)"garbage\n", 8, &h), -PW_E_AGE_HEADER);
	assert_int_equal(age_header_parse((const uint8_t *)"age-encryption.org/v2\n", 22, &h),
	                 -PW_E_AGE_HEADER);
}

static void test_armor_strict(void **state)
{
	(void)state;
	struct pw_buf out = PW_BUF_INIT(1 << 20);
	struct age_armor_dec *a = age_armor_dec_new(to_buf, &out);
	const char *good = "\n  " AGE_ARMOR_BEGIN "\r\nYWJj\r\n" AGE_ARMOR_END "\r\n \n";
	assert_int_equal(age_armor_dec_update(a, (const uint8_t *)good, strlen(good)), 0);
	assert_int_equal(age_armor_dec_final(a), 0);
	assert_int_equal(out.len, 3);
	age_armor_dec_free(a);
	const char *bad[] = {
	    AGE_ARMOR_BEGIN "\nYWJj \n" AGE_ARMOR_END "\n",
	    AGE_ARMOR_BEGIN "\nYWJ\n" AGE_ARMOR_END "\n",
	    AGE_ARMOR_BEGIN "\nYWJj\n" AGE_ARMOR_END "\nx",
	    AGE_ARMOR_BEGIN "\nYWJj\n",
	    "x" AGE_ARMOR_BEGIN "\nYWJj\n" AGE_ARMOR_END "\n",
	    AGE_ARMOR_BEGIN "\nYQ==\nYWJj\n" AGE_ARMOR_END "\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pw_buf_reset(&out);
		a = age_armor_dec_new(to_buf, &out);
		int rc = age_armor_dec_update(a, (const uint8_t *)bad[i], strlen(bad[i]));
		if (rc == 0)
			rc = age_armor_dec_final(a);
		assert_int_equal(rc, -PW_E_AGE_ARMOR);
		age_armor_dec_free(a);
	}
	pw_buf_free(&out, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),         cmocka_unit_test(test_roundtrip_sizes),
	    cmocka_unit_test(test_passphrase),   cmocka_unit_test(test_header_roundtrip),
	    cmocka_unit_test(test_armor_strict),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
