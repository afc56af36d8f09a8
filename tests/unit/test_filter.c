/* test_filter.c - filter chains and key files. */
#include "support.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/enc.h"
#include "common/mem.h"
#include "filter/filter.h"
#include "filter/keyfile.h"

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_chain_roundtrip(void **state)
{
	(void)state;
	struct age_x25519 k;
	assert_int_equal(age_x25519_generate(&k), 0);
	struct age_recipient r = {.kind = AGE_ID_X25519};
	memcpy(r.pub, k.pub, 32);
	struct pw_buf ct = PW_BUF_INIT(1 << 22), pt = PW_BUF_INIT(1 << 22);
	struct flt *sha_ct = flt_sha256(flt_buf_sink(&ct));
	struct flt *enc;
	assert_int_equal(flt_age_encrypt(&enc, &r, 1, false, sha_ct), 0);
	uint8_t *data = malloc(300000);
	memset(data, 'z', 300000);
	assert_int_equal(flt_write(enc, data, 300000), 0);
	assert_int_equal(flt_finish(enc), 0);
	uint8_t h[32], h2[32];
	uint64_t bytes;
	flt_sha256_result(sha_ct, h, &bytes);
	assert_int_equal(bytes, ct.len);
	/* the digest itself, against OpenSSL's one-shot SHA-256 of what reached the sink */
	uint8_t want[32];
	assert_int_equal(EVP_Digest(ct.data, ct.len, want, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(h, want, 32);
	flt_chain_free(enc);
	struct age_identity id = {.kind = AGE_ID_X25519, .x25519 = k};
	struct flt *sha_pt = flt_sha256(flt_buf_sink(&pt));
	struct flt *dec = flt_age_decrypt(&id, 1, AGE_ARMOR_AUTO, sha_pt);
	assert_int_equal(flt_write(dec, ct.data, ct.len), 0);
	assert_int_equal(flt_finish(dec), 0);
	flt_sha256_result(sha_pt, h2, &bytes);
	assert_int_equal(bytes, 300000);
	assert_memory_equal(pt.data, data, 300000);
	/* sha256 of 300000 'z' (python3: hashlib.sha256(b"z" * 300000).hexdigest()) */
	uint8_t want_pt[32];
	assert_int_equal(pw_hex_decode("29aa987eab9aee830fdd20595bcedef6"
	                               "7e8674f4eeac6f017598e7ff8719da23",
	                               64, want_pt, sizeof want_pt),
	                 0);
	assert_memory_equal(h2, want_pt, 32);
	flt_chain_free(dec);
	free(data);
	pw_buf_free(&ct, 0);
	pw_buf_free(&pt, 0);
}

static void test_keyfiles(void **state)
{
	(void)state;
	struct age_x25519 k;
	assert_int_equal(age_x25519_generate(&k), 0);
	char id[AGE_IDENTITY_STRLEN + 1], rc[AGE_RECIPIENT_STRLEN + 1], text[512];
	age_identity_encode(&k, id);
	age_recipient_encode(k.pub, rc);
	char ipath[] = "/tmp/pgward-test-id-XXXXXX";
	close(mkstemp(ipath));
	snprintf(text, sizeof text, "# created: now\n# public key: %s\n\n%s\n", rc, id);
	write_file(ipath, text, 0600);
	struct pw_keyset ks = {0};
	assert_int_equal(pw_keyset_add_identity_file(&ks, ipath, NULL, NULL), 0);
	assert_int_equal(ks.nids, 1);
	assert_memory_equal(ks.ids[0].x25519.pub, k.pub, 32);
	pw_keyset_free(&ks);
	/* group/world-readable plaintext identities are refused */
	chmod(ipath, 0644);
	assert_int_equal(pw_keyset_add_identity_file(&ks, ipath, NULL, NULL), -PW_E_INSECURE);
	pw_keyset_free(&ks);
	/* a bad line is named by number and never echoed */
	write_file(ipath, "# x\nAGE-SECRET-KEY-1NOTAKEY\n", 0600);
	assert_int_equal(pw_keyset_add_identity_file(&ks, ipath, NULL, NULL), -PW_E_KEY);
	assert_non_null(strstr(pw_error_message(), "line 2"));
	assert_null(strstr(pw_error_message(), "NOTAKEY"));
	pw_keyset_free(&ks);
	write_file(ipath, "# only comments\n\n", 0600);
	assert_int_equal(pw_keyset_add_identity_file(&ks, ipath, NULL, NULL), -PW_E_KEY);
	pw_keyset_free(&ks);
	/* recipients file */
	snprintf(text, sizeof text, "# team\n%s\n\n%s\n", rc, rc);
	write_file(ipath, text, 0644);
	assert_int_equal(pw_keyset_add_recipients_file(&ks, ipath), 0);
	assert_int_equal(ks.nrcpts, 2);
	pw_keyset_free(&ks);
	write_file(ipath, "ssh-ed25519 AAAA x\n", 0644);
	assert_int_equal(pw_keyset_add_recipients_file(&ks, ipath), -PW_E_KEY);
	assert_non_null(strstr(pw_error_message(), "SSH"));
	pw_keyset_free(&ks);
	unlink(ipath);
	assert_int_equal(pw_keyset_add_recipients_file(&ks, ipath), -PW_E_NOTFOUND);
	pw_keyset_free(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_roundtrip),
	    cmocka_unit_test(test_keyfiles),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
