/*
 * test_age_vectors.c - runs every C2SP CCTV age vector in tests/data/age
 * (copied from the CCTV project; 0BSD/CC0/Unlicense) as its own test case.
 * Each vector is decrypted twice: in one piece and in small random pieces;
 * both must give the expected outcome and the SHA-256 of all plaintext
 * released (even before a payload failure). Hybrid (post-quantum) vectors
 * are skipped and counted as skipped.
 */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/secret.h"
#include "crypto/age.h"

struct vec {
	char path[2048];
	char name[256];
};

struct sink {
	EVP_MD_CTX *md;
	size_t n;
};

static int sink_emit(void *arg, const uint8_t *p, size_t n)
{
	struct sink *s = arg;
	EVP_DigestUpdate(s->md, p, n);
	s->n += n;
	return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static uint8_t *inflate_all(const uint8_t *in, size_t n, size_t *outlen)
{
	size_t cap = 1 << 20, len = 0;
	uint8_t *out = malloc(cap);
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit(&z), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	int zr;
	do {
		if (cap - len < 65536) {
			cap *= 2;
			out = realloc(out, cap);
		}
		z.next_out = out + len;
		z.avail_out = (uInt)(cap - len);
		zr = inflate(&z, Z_NO_FLUSH);
		len = cap - z.avail_out;
	} while (zr == Z_OK);
	assert_int_equal(zr, Z_STREAM_END);
	inflateEnd(&z);
	*outlen = len;
	return out;
}

static int expect_code(const char *e)
{
	if (!strcmp(e, "success"))
		return 0;
	if (!strcmp(e, "no match"))
		return -PW_E_AGE_NOMATCH;
	if (!strcmp(e, "HMAC failure"))
		return -PW_E_AGE_MAC;
	if (!strcmp(e, "header failure"))
		return -PW_E_AGE_HEADER;
	if (!strcmp(e, "payload failure"))
		return -PW_E_AGE_PAYLOAD;
	if (!strcmp(e, "armor failure"))
		return -PW_E_AGE_ARMOR;
	fail_msg("unknown expectation \"%s\"", e);
	return 1;
}

static void run_vector(void **state)
{
	const struct vec *v = *state;
	size_t len;
	uint8_t *raw = read_all(v->path, &len);
	raw[len] = 0;

	char expect[64] = "", payload[65] = "", compressed[16] = "";
	bool armored = false;
	struct age_identity ids[8];
	struct pw_secret *secrets[8];
	size_t nids = 0, nsec = 0;
	bool hybrid = strstr(v->name, "hybrid") != NULL;

	/* textual header up to the first empty line */
	char *p = (char *)raw;
	for (;;) {
		char *nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = 0;
		if (!*p) {
			p = nl + 1;
			break;
		}
		char *colon = strstr(p, ": ");
		assert_non_null(colon);
		*colon = 0;
		const char *k = p, *val = colon + 2;
		if (!strcmp(k, "expect"))
			snprintf(expect, sizeof expect, "%s", val);
		else if (!strcmp(k, "payload"))
			snprintf(payload, sizeof payload, "%s", val);
		else if (!strcmp(k, "compressed"))
			snprintf(compressed, sizeof compressed, "%s", val);
		else if (!strcmp(k, "armored"))
			armored = !strcmp(val, "yes");
		else if (!strcmp(k, "identity") && !strncmp(val, "AGE-SECRET-KEY-1", 16)) {
			assert_true(nids < 8);
			ids[nids].kind = AGE_ID_X25519;
			ids[nids].ask = NULL;
			assert_int_equal(age_identity_parse(val, &ids[nids].x25519), 0);
			nids++;
		} else if (!strcmp(k, "identity")) {
			hybrid = true; /* a post-quantum identity */
		} else if (!strcmp(k, "passphrase")) {
			assert_true(nids < 8 && nsec < 8);
			secrets[nsec] = pw_secret_from_str(val);
			ids[nids] = (struct age_identity){.kind = AGE_ID_SCRYPT,
			                                  .passphrase = secrets[nsec]};
			nids++;
			nsec++;
		}
		p = nl + 1;
	}
	if (hybrid) {
		for (size_t i = 0; i < nsec; i++)
			pw_secret_free(secrets[i]);
		free(raw);
		skip(); /* ML-KEM hybrid recipients are not implemented */
	}
	size_t blen = len - (size_t)(p - (char *)raw);
	uint8_t *body = (uint8_t *)p, *inflated = NULL;
	if (!strcmp(compressed, "zlib")) {
		inflated = inflate_all(body, blen, &blen);
		body = inflated;
	}
	int want = expect_code(expect);

	for (int mode = 0; mode < 2; mode++) {
		struct sink s = {EVP_MD_CTX_new(), 0};
		EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
		struct age_dec *d =
		    age_dec_new(ids, nids, armored ? AGE_ARMOR_YES : AGE_ARMOR_NO, sink_emit, &s);
		int rc = 0;
		if (mode == 0) {
			rc = age_dec_update(d, body, blen);
		} else {
			unsigned seed = 12345;
			for (size_t off = 0; off < blen && rc == 0;) {
				seed = seed * 1103515245 + 12345;
				size_t step = 1 + (seed >> 8) % 9000;
				if (step > blen - off)
					step = blen - off;
				rc = age_dec_update(d, body + off, step);
				off += step;
			}
		}
		if (rc == 0)
			rc = age_dec_final(d);
		age_dec_free(d);
		uint8_t h[32];
		char hex[65];
		EVP_DigestFinal_ex(s.md, h, NULL);
		EVP_MD_CTX_free(s.md);
		pw_hex_encode(h, 32, hex);
		if (rc != want)
			fail_msg("%s (%s): expected %s (%d), got %d: %s", v->name,
			         mode ? "pieces" : "whole", expect, want, rc, pw_error_message());
		if (payload[0] && strcmp(hex, payload) != 0)
			fail_msg("%s (%s): payload hash %s, expected %s (%zu bytes released)",
			         v->name, mode ? "pieces" : "whole", hex, payload, s.n);
	}
	for (size_t i = 0; i < nsec; i++)
		pw_secret_free(secrets[i]);
	free(inflated);
	free(raw);
}

static int cmp_vec(const void *a, const void *b)
{
	return strcmp(((const struct vec *)a)->name, ((const struct vec *)b)->name);
}

int main(void)
{
	char dir[1024];
	pw_test_data("age", dir, sizeof dir);
	DIR *dh = opendir(dir);
	if (!dh) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 1;
	}
	struct vec *vecs = calloc(512, sizeof *vecs);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dh)) && n < 512) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "LICENSE") ||
		    !strcmp(e->d_name, "README.md"))
			continue;
		snprintf(vecs[n].path, sizeof vecs[n].path, "%s/%s", dir, e->d_name);
		snprintf(vecs[n].name, sizeof vecs[n].name, "%s", e->d_name);
		n++;
	}
	closedir(dh);
	qsort(vecs, n, sizeof *vecs, cmp_vec);
	struct CMUnitTest *tests = calloc(n, sizeof *tests);
	for (size_t i = 0; i < n; i++) {
		tests[i].name = vecs[i].name;
		tests[i].test_func = run_vector;
		tests[i].initial_state = &vecs[i];
	}
	int failed = _cmocka_run_group_tests("age_vectors", tests, n, pw_test_group_setup, NULL);
	free(tests);
	free(vecs);
	return failed;
}
