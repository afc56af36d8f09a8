/*
 * minisign.h - Ed25519 signatures in minisign's formats (pure, no I/O), so that the
 * stock "minisign -V -p key.pub -m FILE" verifies what pgward signs.
 *
 *   public key   "untrusted comment: ...\n" + base64("Ed" || key id (8) || Ed25519 pk (32))
 *   signature    "untrusted comment: ...\n" + base64(alg (2) || key id (8) || sig (64)) + "\n"
 *                "trusted comment: ...\n"   + base64(global sig (64)) + "\n"
 *     alg "Ed": sig = Ed25519(message); "ED": sig = Ed25519(BLAKE2b-512(message)).
 *     global sig = Ed25519(sig || trusted comment text): it binds the trusted comment.
 *
 * pgward signs with "ED" (pre-hashed) and verifies both. The secret key file is
 * pgward's own (minisign's secret key needs a BLAKE2b-256 checksum, which OpenSSL 3.0
 * does not offer): "untrusted comment: ..." + "PWSK-1:" base64("Ed" || key id || seed
 * (32) || pk (32)), unencrypted; the public key inside is checked against the seed.
 * Every parser caps its input; malformed input is -PW_E_SIGNATURE (signatures) or
 * -PW_E_KEY (keys), with the error recorded.
 */
#ifndef PW_CRYPTO_MINISIGN_H
#define PW_CRYPTO_MINISIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define MINISIGN_KEYID_LEN 8
#define MINISIGN_PK_LEN 32
#define MINISIGN_SIG_LEN 64
#define MINISIGN_COMMENT_MAX 1024 /* bytes of a comment, as minisign */
#define MINISIGN_PUB_B64_LEN 56   /* base64 of 42 bytes */
#define MINISIGN_FILE_MAX 4096    /* a .pub or .minisig file larger than this is refused */

struct minisign_pubkey {
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t pk[MINISIGN_PK_LEN];
};

struct minisign_seckey {
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t seed[32];
	uint8_t pk[MINISIGN_PK_LEN];
};

struct minisign_sig {
	bool prehashed; /* "ED" */
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t sig[MINISIGN_SIG_LEN];
	char trusted_comment[MINISIGN_COMMENT_MAX + 1];
	uint8_t global_sig[MINISIGN_SIG_LEN];
};

/* A new key pair with a random key id. Wipe sk with minisign_seckey_wipe. */
int minisign_keygen(struct minisign_seckey *sk);
void minisign_seckey_wipe(struct minisign_seckey *sk);
void minisign_seckey_public(const struct minisign_seckey *sk, struct minisign_pubkey *pk);

/* The key id as minisign prints it: 16 uppercase hex digits (little-endian number). */
void minisign_keyid_hex(const uint8_t keyid[MINISIGN_KEYID_LEN], char out[17]);

/* "RW..." (56 characters + NUL). */
void minisign_pubkey_b64(const struct minisign_pubkey *pk, char out[MINISIGN_PUB_B64_LEN + 1]);
/* Parse the "RW..." string alone. */
int minisign_pubkey_parse_b64(const char *s, size_t n, struct minisign_pubkey *pk);
/* Parse a public key file: an optional "untrusted comment: " line, then the base64 line. */
int minisign_pubkey_parse(const char *text, size_t n, struct minisign_pubkey *pk);
/* Write a public key file (minisign's format). */
int minisign_pubkey_write(const struct minisign_pubkey *pk, struct pw_buf *out);

/* The secret key file (pgward's format, see above). Wipe out with pw_buf_free(.., 1). */
int minisign_seckey_write(const struct minisign_seckey *sk, struct pw_buf *out);
int minisign_seckey_parse(const char *text, size_t n, struct minisign_seckey *sk);

/* Sign msg ("ED") with the comments (no newline in either; each at most
 * MINISIGN_COMMENT_MAX bytes) and append the .minisig text to out. */
int minisign_sign(const struct minisign_seckey *sk, const uint8_t *msg, size_t n,
                  const char *untrusted_comment, const char *trusted_comment, struct pw_buf *out);

/* Parse a .minisig text. */
int minisign_sig_parse(const char *text, size_t n, struct minisign_sig *sig);

/* Check sig over msg with pk: 0 when the key id matches and both the signature and the
 * global signature (trusted comment) are valid; -PW_E_SIGNATURE otherwise (recorded). */
int minisign_verify(const struct minisign_pubkey *pk, const struct minisign_sig *sig,
                    const uint8_t *msg, size_t n);
/* The trusted comment alone: 0 when the key id matches and the global signature (over the
 * signature and the comment) is valid, so the comment is the signer's; says nothing about
 * a message. -PW_E_SIGNATURE otherwise (recorded). */
int minisign_verify_comment(const struct minisign_pubkey *pk, const struct minisign_sig *sig);

#endif
