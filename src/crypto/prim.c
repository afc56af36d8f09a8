/* prim.c - thin wrappers over OpenSSL 3 EVP; each foreign handle lives only here. */
#include "crypto/prim.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/mem.h"

static int fail(const char *what)
{
	return pw_error(PW_E_CRYPTO, "OpenSSL failure in %s", what);
}

int pw_random(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1)
		return fail("RAND_bytes");
	return 0;
}

static int kdf(const char *name, OSSL_PARAM *params, uint8_t *out, size_t outlen)
{
	EVP_KDF *k = EVP_KDF_fetch(NULL, name, NULL);
	if (!k)
		return fail(name);
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(k);
	EVP_KDF_free(k);
	if (!c)
		return fail(name);
	int ok = EVP_KDF_derive(c, out, outlen, params);
	EVP_KDF_CTX_free(c);
	return ok == 1 ? 0 : fail(name);
}

int pw_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
                   const char *info, uint8_t *out, size_t outlen)
{
	OSSL_PARAM p[5], *q = p;
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	if (saltlen)
		*q++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*q = OSSL_PARAM_construct_end();
	return kdf("HKDF", p, out, outlen);
}

int pw_scrypt(const uint8_t *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
              unsigned log_n, uint8_t *out, size_t outlen)
{
	uint64_t n = (uint64_t)1 << log_n;
	uint32_t r = 8, par = 1;
	uint64_t maxmem = (uint64_t)128 * r * (n + 2) + (1 << 20);
	OSSL_PARAM p[7], *q = p;
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, passlen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	*q = OSSL_PARAM_construct_end();
	return kdf("SCRYPT", p, out, outlen);
}

int pw_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
                   uint8_t out[PW_SHA256_LEN])
{
	size_t outlen = 0;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg, len, out,
	               PW_SHA256_LEN, &outlen) ||
	    outlen != PW_SHA256_LEN)
		return fail("HMAC");
	return 0;
}

int pw_sha256(const void *msg, size_t len, uint8_t out[PW_SHA256_LEN])
{
	if (EVP_Digest(msg, len, out, NULL, EVP_sha256(), NULL) != 1)
		return fail("SHA-256");
	return 0;
}

struct pw_sha256_ctx {
	EVP_MD_CTX *md;
};

struct pw_sha256_ctx *pw_sha256_new(void)
{
	struct pw_sha256_ctx *c = pw_malloc(sizeof *c);
	c->md = EVP_MD_CTX_new();
	/* both fail only when OpenSSL cannot allocate (SHA-256 is in every provider) */
	if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		pw_nomem(0);
	return c;
}

void pw_sha256_update(struct pw_sha256_ctx *c, const void *p, size_t n)
{
	EVP_DigestUpdate(c->md, p, n);
}

void pw_sha256_final(struct pw_sha256_ctx *c, uint8_t out[PW_SHA256_LEN])
{
	EVP_DigestFinal_ex(c->md, out, NULL);
}

void pw_sha256_free(struct pw_sha256_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	pw_free(c);
}

struct pw_aead {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
};

struct pw_aead *pw_aead_new(const uint8_t key[PW_AEAD_KEY])
{
	struct pw_aead *a = pw_calloc(1, sizeof *a);
	a->enc = EVP_CIPHER_CTX_new();
	a->dec = EVP_CIPHER_CTX_new();
	if (!a->enc || !a->dec ||
	    EVP_EncryptInit_ex(a->enc, EVP_chacha20_poly1305(), NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(a->dec, EVP_chacha20_poly1305(), NULL, key, NULL) != 1) {
		pw_aead_free(a);
		fail("ChaCha20-Poly1305 init");
		return NULL;
	}
	return a;
}

void pw_aead_free(struct pw_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	pw_free(a);
}

int pw_aead_ctx_seal(struct pw_aead *a, const uint8_t nonce[PW_AEAD_NONCE], const uint8_t *in,
                     size_t n, uint8_t *out)
{
	int l1 = 0, l2 = 0;
	if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, nonce) != 1 ||
	    (n && EVP_EncryptUpdate(a->enc, out, &l1, in, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(a->enc, out + l1, &l2) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_AEAD_GET_TAG, PW_AEAD_TAG, out + n) != 1)
		return fail("ChaCha20-Poly1305 seal");
	return 0;
}

int pw_aead_ctx_open(struct pw_aead *a, const uint8_t nonce[PW_AEAD_NONCE], const uint8_t *in,
                     size_t n, uint8_t *out)
{
	int l1 = 0, l2 = 0;
	if (n < PW_AEAD_TAG)
		return 1;
	size_t m = n - PW_AEAD_TAG;
	if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_AEAD_SET_TAG, PW_AEAD_TAG, (void *)(in + m)) != 1)
		return fail("ChaCha20-Poly1305 open");
	if ((m && EVP_DecryptUpdate(a->dec, out, &l1, in, (int)m) != 1) ||
	    EVP_DecryptFinal_ex(a->dec, out + l1, &l2) != 1) {
		OPENSSL_cleanse(out, m);
		return 1; /* not authentic */
	}
	return 0;
}

int pw_aead_seal(const uint8_t key[PW_AEAD_KEY], const uint8_t nonce[PW_AEAD_NONCE],
                 const uint8_t *in, size_t n, uint8_t *out)
{
	struct pw_aead *a = pw_aead_new(key);
	if (!a)
		return -PW_E_CRYPTO;
	int rc = pw_aead_ctx_seal(a, nonce, in, n, out);
	pw_aead_free(a);
	return rc;
}

int pw_aead_open(const uint8_t key[PW_AEAD_KEY], const uint8_t nonce[PW_AEAD_NONCE],
                 const uint8_t *in, size_t n, uint8_t *out)
{
	struct pw_aead *a = pw_aead_new(key);
	if (!a)
		return -PW_E_CRYPTO;
	int rc = pw_aead_ctx_open(a, nonce, in, n, out);
	pw_aead_free(a);
	return rc;
}

int pw_x25519_public(const uint8_t secret[32], uint8_t pub[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
	size_t len = 32;
	int ok = k && EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == 32;
	EVP_PKEY_free(k);
	return ok ? 0 : fail("X25519 public key");
}

int pw_x25519_shared(const uint8_t secret[32], const uint8_t peer[32], uint8_t out[32])
{
	static const uint8_t zero[32];
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
	EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	size_t len = 32;
	int ok = k && p && c && EVP_PKEY_derive_init(c) == 1 &&
	         EVP_PKEY_derive_set_peer(c, p) == 1 && EVP_PKEY_derive(c, out, &len) == 1 &&
	         len == 32;
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(p);
	EVP_PKEY_free(k);
	if (!ok || CRYPTO_memcmp(out, zero, 32) == 0)
		return 1; /* low-order point: the caller reports it as a header failure */
	return 0;
}

int pw_blake2b512(const void *msg, size_t len, uint8_t out[PW_BLAKE2B512_LEN])
{
	unsigned int olen = 0;
	if (EVP_Digest(msg, len, out, &olen, EVP_blake2b512(), NULL) != 1 ||
	    olen != PW_BLAKE2B512_LEN)
		return fail("EVP_blake2b512");
	return 0;
}

int pw_ed25519_public(const uint8_t seed[PW_ED25519_SEED], uint8_t pub[PW_ED25519_PUB])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, PW_ED25519_SEED);
	size_t n = PW_ED25519_PUB;
	int ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == PW_ED25519_PUB;
	EVP_PKEY_free(k);
	return ok ? 0 : fail("Ed25519 public key");
}

int pw_ed25519_sign(const uint8_t seed[PW_ED25519_SEED], const uint8_t *msg, size_t len,
                    uint8_t sig[PW_ED25519_SIG])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, PW_ED25519_SEED);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t n = PW_ED25519_SIG;
	int ok = k && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
	         EVP_DigestSign(c, sig, &n, msg, len) == 1 && n == PW_ED25519_SIG;
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return ok ? 0 : fail("Ed25519 sign");
}

int pw_ed25519_verify(const uint8_t pub[PW_ED25519_PUB], const uint8_t *msg, size_t len,
                      const uint8_t sig[PW_ED25519_SIG])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, PW_ED25519_PUB);
	if (!k) /* not a valid point encoding: not a valid signature by it either */
		return 1;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int rc = 1;
	if (!c || EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) != 1)
		rc = fail("Ed25519 verify");
	else if (EVP_DigestVerify(c, sig, PW_ED25519_SIG, msg, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return rc;
}
