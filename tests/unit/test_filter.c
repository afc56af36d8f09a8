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

/* a tap that fails once it has seen `after` bytes (an extraction refusing an entry) */
static int fail_after(void *arg, const uint8_t *p, size_t n)
{
	(void)p;
	size_t *left = arg;
	if (n > *left)
		return pw_error(PW_E_ARCHIVE, "refused at byte %zu", *left);
	*left -= n;
	return 0;
}

/* flt_thread: the chain after it runs on another thread; the bytes arrive in order and
 * whole, and an error there comes back to the writer with its message */
static void test_thread_boundary(void **state)
{
	(void)state;
	enum { N = 5 * 1024 * 1024 + 123 }; /* several of the queue's blocks, and a tail */
	uint8_t *data = malloc(N);
	for (size_t i = 0; i < N; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 13));
	struct pw_buf out = PW_BUF_INIT(N);
	struct flt *head = flt_thread(flt_buf_sink(&out));
	for (size_t off = 0; off < N;) {
		size_t n = (off * 31 + 1000) % 300000 + 1; /* odd sizes, across blocks */
		if (n > N - off)
			n = N - off;
		assert_int_equal(flt_write(head, data + off, n), 0);
		off += n;
	}
	assert_int_equal(flt_finish(head), 0);
	assert_int_equal(out.len, N);
	assert_memory_equal(out.data, data, N);
	flt_chain_free(head);
	pw_buf_free(&out, 0);

	/* the thread's chain fails after 2 MiB: a later write or finish returns its error */
	size_t left = 2 * 1024 * 1024;
	struct pw_buf junk = PW_BUF_INIT(N);
	head = flt_thread(flt_tap(fail_after, &left, flt_buf_sink(&junk)));
	int rc = 0;
	for (size_t off = 0; off < N && rc == 0; off += 65536)
		rc = flt_write(head, data + off, off + 65536 <= N ? 65536 : N - off);
	if (rc == 0)
		rc = flt_finish(head);
	assert_int_equal(rc, -PW_E_ARCHIVE);
	assert_non_null(strstr(pw_error_message(), "refused at byte"));
	pw_error_clear();
	flt_chain_free(head);
	pw_buf_free(&junk, 0);

	/* abandoned before finish (the writer failed elsewhere): free stops the thread */
	struct pw_buf out2 = PW_BUF_INIT(N);
	head = flt_thread(flt_buf_sink(&out2));
	assert_int_equal(flt_write(head, data, 3 * 1024 * 1024), 0);
	flt_chain_free(head);
	pw_buf_free(&out2, 0);
	free(data);
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
	    cmocka_unit_test(test_thread_boundary),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
