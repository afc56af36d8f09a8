/* recipients.c - wrapping and unwrapping the file key: X25519 and scrypt stanzas. */
#include "crypto/age.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "crypto/prim.h"
#include "crypto/recipients.h"

#define X25519_LABEL "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"

static const uint8_t zero_nonce[PW_AEAD_NONCE];

static int bad(const char *what)
{
	pw_error(PW_E_AGE_HEADER, "malformed age header: %s", what);
	return pw_error_hint("The input is not an age-encrypted file, or it was damaged.");
}

static void stanza_set_body(struct age_stanza *s, const uint8_t *p, size_t n)
{
	s->body = pw_malloc(n);
	memcpy(s->body, p, n);
	s->bodylen = n;
}

static char *b64_nopad(const uint8_t *p, size_t n)
{
	char *out = pw_malloc(pw_b64_encoded_len(n, false) + 1);
	pw_b64_encode(p, n, out, false);
	return out;
}

int age_x25519_wrap(const uint8_t pub[32], const uint8_t file_key[AGE_FILE_KEY_LEN],
                    struct age_stanza *s)
{
	uint8_t eph[32], share[32], shared[32], salt[64], key[32], body[AGE_FILE_KEY_LEN + 16];
	int rc = pw_random(eph, sizeof eph);
	if (rc == 0)
		rc = pw_x25519_public(eph, share);
	if (rc == 0 && pw_x25519_shared(eph, pub, shared) != 0)
		rc = pw_error(PW_E_KEY, "recipient public key is a low-order point");
	if (rc == 0) {
		memcpy(salt, share, 32);
		memcpy(salt + 32, pub, 32);
		rc = pw_hkdf_sha256(shared, 32, salt, 64, X25519_LABEL, key, 32);
	}
	if (rc == 0)
		rc = pw_aead_seal(key, zero_nonce, file_key, AGE_FILE_KEY_LEN, body);
	if (rc == 0) {
		memset(s, 0, sizeof *s);
		s->type = pw_strdup("X25519");
		s->args[s->nargs++] = b64_nopad(share, 32);
		stanza_set_body(s, body, sizeof body);
	}
	OPENSSL_cleanse(eph, sizeof eph);
	OPENSSL_cleanse(shared, sizeof shared);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

/* 0 = unwrapped, 1 = not for this identity, < 0 = header failure. */
int age_x25519_unwrap(const struct age_x25519 *id, const struct age_stanza *s,
                      uint8_t file_key[AGE_FILE_KEY_LEN])
{
	uint8_t share[33], shared[32], salt[64], key[32];
	if (s->nargs != 1)
		return bad("X25519 stanza must have exactly one argument");
	if (pw_b64_decode(s->args[0], strlen(s->args[0]), share, sizeof share, false) != 32)
		return bad("X25519 share is not 32 bytes of canonical base64");
	if (s->bodylen != AGE_FILE_KEY_LEN + 16)
		return bad("X25519 stanza body is not 32 bytes");
	if (pw_x25519_shared(id->secret, share, shared) != 0)
		return bad("X25519 share is a low-order point");
	memcpy(salt, share, 32);
	memcpy(salt + 32, id->pub, 32);
	int rc = pw_hkdf_sha256(shared, 32, salt, 64, X25519_LABEL, key, 32);
	OPENSSL_cleanse(shared, sizeof shared);
	if (rc < 0)
		return rc;
	rc = pw_aead_open(key, zero_nonce, s->body, s->bodylen, file_key);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

static int scrypt_key(const struct pw_secret *pass, const uint8_t salt16[16], unsigned work,
                      uint8_t key[32])
{
	uint8_t salt[sizeof SCRYPT_LABEL - 1 + 16];
	memcpy(salt, SCRYPT_LABEL, sizeof SCRYPT_LABEL - 1);
	memcpy(salt + sizeof SCRYPT_LABEL - 1, salt16, 16);
	return pw_scrypt(pw_secret_data(pass), pw_secret_len(pass), salt, sizeof salt, work, key,
	                 32);
}

int age_scrypt_wrap(const struct pw_secret *pass, unsigned work,
                    const uint8_t file_key[AGE_FILE_KEY_LEN], struct age_stanza *s)
{
	uint8_t salt[16], key[32], body[AGE_FILE_KEY_LEN + 16];
	char wf[8];
	if (work == 0)
		work = AGE_SCRYPT_DEFAULT_WORK;
	if (work > 30)
		return pw_error(PW_E_PASSPHRASE, "scrypt work factor %u is too large", work);
	int rc = pw_random(salt, sizeof salt);
	if (rc == 0)
		rc = scrypt_key(pass, salt, work, key);
	if (rc == 0)
		rc = pw_aead_seal(key, zero_nonce, file_key, AGE_FILE_KEY_LEN, body);
	OPENSSL_cleanse(key, sizeof key);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof *s);
	s->type = pw_strdup("scrypt");
	s->args[s->nargs++] = b64_nopad(salt, 16);
	snprintf(wf, sizeof wf, "%u", work);
	s->args[s->nargs++] = pw_strdup(wf);
	stanza_set_body(s, body, sizeof body);
	return 0;
}

int age_scrypt_unwrap(const struct pw_secret *pass, unsigned max_work, const struct age_stanza *s,
                      uint8_t file_key[AGE_FILE_KEY_LEN])
{
	uint8_t salt[17], key[32];
	if (max_work == 0)
		max_work = AGE_SCRYPT_MAX_WORK;
	if (s->nargs != 2)
		return bad("scrypt stanza must have exactly two arguments");
	if (pw_b64_decode(s->args[0], strlen(s->args[0]), salt, sizeof salt, false) != 16)
		return bad("scrypt salt is not 16 bytes of canonical base64");
	const char *w = s->args[1];
	unsigned work = 0;
	if (!*w || w[0] == '0' || strlen(w) > 2)
		return bad("scrypt work factor is not a positive decimal number");
	for (const char *p = w; *p; p++) {
		if (*p < '0' || *p > '9')
			return bad("scrypt work factor is not a positive decimal number");
		work = work * 10 + (unsigned)(*p - '0');
	}
	if (work > max_work) {
		pw_error(PW_E_AGE_HEADER,
		         "scrypt work factor %u exceeds the limit of %u (decryption would take too "
		         "long)",
		         work, max_work);
		return pw_error_hint("If you trust this file, raise the limit with "
		                     "--max-work-factor=%u.",
		                     work);
	}
	if (s->bodylen != AGE_FILE_KEY_LEN + 16)
		return bad("scrypt stanza body is not 32 bytes");
	int rc = scrypt_key(pass, salt, work, key);
	if (rc < 0)
		return rc;
	rc = pw_aead_open(key, zero_nonce, s->body, s->bodylen, file_key);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}
