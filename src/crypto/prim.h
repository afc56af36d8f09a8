/*
 * prim.h - the OpenSSL 3 primitives pgward composes (never re-implements):
 * HKDF-SHA-256, HMAC-SHA-256, SHA-256, ChaCha20-Poly1305, X25519, scrypt, CSPRNG.
 * Failures of the library are PW_E_CRYPTO.
 */
#ifndef PW_CRYPTO_PRIM_H
#define PW_CRYPTO_PRIM_H

#include <stddef.h>
#include <stdint.h>

#define PW_SHA256_LEN 32
#define PW_AEAD_TAG 16
#define PW_AEAD_KEY 32
#define PW_AEAD_NONCE 12

int pw_random(void *p, size_t n);
int pw_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
                   const char *info, uint8_t *out, size_t outlen);
int pw_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
                   uint8_t out[PW_SHA256_LEN]);
int pw_sha256(const void *msg, size_t len, uint8_t out[PW_SHA256_LEN]);

/* One-shot AEAD: out receives n + 16 bytes (seal) / n - 16 bytes (open). Open returns 0, 1 if not authentic, or a negative error. */
int pw_aead_seal(const uint8_t key[PW_AEAD_KEY], const uint8_t nonce[PW_AEAD_NONCE],
                 const uint8_t *in, size_t n, uint8_t *out);
int pw_aead_open(const uint8_t key[PW_AEAD_KEY], const uint8_t nonce[PW_AEAD_NONCE],
                 const uint8_t *in, size_t n, uint8_t *out);

/* X25519: public key of a secret scalar; shared secret (returns 1 on an all-zero result). */
int pw_x25519_public(const uint8_t secret[32], uint8_t pub[32]);
int pw_x25519_shared(const uint8_t secret[32], const uint8_t peer[32], uint8_t out[32]);

/* scrypt with N = 2^log_n, r = 8, p = 1. */
int pw_scrypt(const uint8_t *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
              unsigned log_n, uint8_t *out, size_t outlen);

/* Incremental SHA-256 (wraps EVP_MD_CTX). */
struct pw_sha256_ctx;
struct pw_sha256_ctx *pw_sha256_new(void);
void pw_sha256_update(struct pw_sha256_ctx *c, const void *p, size_t n);
void pw_sha256_final(struct pw_sha256_ctx *c, uint8_t out[PW_SHA256_LEN]);
void pw_sha256_free(struct pw_sha256_ctx *c);

/* Reusable ChaCha20-Poly1305 context for STREAM (one key, many nonces). */
struct pw_aead;
struct pw_aead *pw_aead_new(const uint8_t key[PW_AEAD_KEY]);
int pw_aead_ctx_seal(struct pw_aead *a, const uint8_t nonce[PW_AEAD_NONCE], const uint8_t *in,
                     size_t n, uint8_t *out);
int pw_aead_ctx_open(struct pw_aead *a, const uint8_t nonce[PW_AEAD_NONCE], const uint8_t *in,
                     size_t n, uint8_t *out);
void pw_aead_free(struct pw_aead *a);

/* BLAKE2b-512 (EVP_blake2b512). */
#define PW_BLAKE2B512_LEN 64
int pw_blake2b512(const void *msg, size_t len, uint8_t out[PW_BLAKE2B512_LEN]);

/* Ed25519 (EVP_PKEY_ED25519): a key pair from a 32-byte seed; sign; verify (0 = valid,
 * 1 = not valid, negative = library failure). */
#define PW_ED25519_SEED 32
#define PW_ED25519_PUB 32
#define PW_ED25519_SIG 64
int pw_ed25519_public(const uint8_t seed[PW_ED25519_SEED], uint8_t pub[PW_ED25519_PUB]);
int pw_ed25519_sign(const uint8_t seed[PW_ED25519_SEED], const uint8_t *msg, size_t len,
                    uint8_t sig[PW_ED25519_SIG]);
int pw_ed25519_verify(const uint8_t pub[PW_ED25519_PUB], const uint8_t *msg, size_t len,
                      const uint8_t sig[PW_ED25519_SIG]);

#endif
