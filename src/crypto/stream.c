/* stream.c - age's STREAM: ChaCha20-Poly1305 over 64 KiB chunks, counter nonces. */
#include "crypto/age.h"

#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/prim.h"

struct age_stream {
	struct pw_aead *aead;
	uint64_t counter;
};

struct age_stream *age_stream_new(const uint8_t file_key[AGE_FILE_KEY_LEN],
                                  const uint8_t nonce[AGE_NONCE_LEN])
{
	uint8_t key[32];
	if (pw_hkdf_sha256(file_key, AGE_FILE_KEY_LEN, nonce, AGE_NONCE_LEN, "payload", key, 32) <
	    0)
		return NULL;
	struct pw_aead *a = pw_aead_new(key);
	OPENSSL_cleanse(key, sizeof key);
	if (!a)
		return NULL;
	struct age_stream *s = pw_calloc(1, sizeof *s);
	s->aead = a;
	return s;
}

static void make_nonce(uint64_t counter, bool last, uint8_t n[12])
{
	memset(n, 0, 12);
	for (int i = 0; i < 8; i++)
		n[10 - i] = (uint8_t)(counter >> (8 * i));
	n[11] = last ? 1 : 0;
}

int age_stream_seal(struct age_stream *s, const uint8_t *in, size_t n, bool last, uint8_t *out)
{
	uint8_t nonce[12];
	PW_CHECK(n <= AGE_CHUNK && (last || n == AGE_CHUNK));
	if (s->counter >= ((uint64_t)1 << 56) - 1)
		return pw_error(PW_E_LIMIT, "age STREAM counter overflow");
	make_nonce(s->counter, last, nonce);
	int rc = pw_aead_ctx_seal(s->aead, nonce, in, n, out);
	if (rc == 0)
		s->counter++;
	return rc;
}

int age_stream_open(struct age_stream *s, const uint8_t *in, size_t n, bool last, uint8_t *out)
{
	uint8_t nonce[12];
	if (n < AGE_TAG || n > AGE_ENC_CHUNK)
		return 1;
	make_nonce(s->counter, last, nonce);
	int rc = pw_aead_ctx_open(s->aead, nonce, in, n, out);
	if (rc == 0)
		s->counter++;
	return rc;
}

uint64_t age_stream_counter(const struct age_stream *s)
{
	return s->counter;
}

void age_stream_free(struct age_stream *s)
{
	if (!s)
		return;
	pw_aead_free(s->aead);
	pw_free(s);
}
