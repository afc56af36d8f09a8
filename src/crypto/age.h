/*
 * age.h - the age v1 file format (C2SP age.md) on OpenSSL primitives.
 * Pure: no file or network I/O. Data moves through push-style state
 * machines that hand their output to a callback:
 *
 *   age_enc  plaintext -> header + nonce + STREAM chunks (+ optional armor)
 *   age_dec  (armored or binary) age file -> plaintext, each chunk released
 *            only after it authenticates
 *
 * Errors: PW_E_AGE_HEADER, PW_E_AGE_NOMATCH, PW_E_AGE_MAC, PW_E_AGE_PAYLOAD,
 * PW_E_AGE_ARMOR, PW_E_KEY, PW_E_PASSPHRASE, PW_E_CRYPTO.
 */
#ifndef PW_CRYPTO_AGE_H
#define PW_CRYPTO_AGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/secret.h"

#define AGE_FILE_KEY_LEN 16
#define AGE_CHUNK 65536
#define AGE_TAG 16
#define AGE_ENC_CHUNK (AGE_CHUNK + AGE_TAG)
#define AGE_NONCE_LEN 16
#define AGE_HEADER_MAX (1024 * 1024) /* refuse headers larger than this */
#define AGE_SCRYPT_DEFAULT_WORK 18   /* as the age CLI */
#define AGE_SCRYPT_MAX_WORK 22       /* decrypt refuses more, as the age CLI */
#define AGE_RECIPIENT_STRLEN 62      /* "age1" + 52 data + 6 checksum */
#define AGE_IDENTITY_STRLEN 74       /* "AGE-SECRET-KEY-1" + 52 + 6 */
#define AGE_ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define AGE_ARMOR_END "-----END AGE ENCRYPTED FILE-----"

/* ---- keys ------------------------------------------------------------- */

struct age_x25519 {
	uint8_t secret[32]; /* zero for a recipient-only key */
	uint8_t pub[32];
};

int age_x25519_generate(struct age_x25519 *k);
/* "AGE-SECRET-KEY-1..." (uppercase) -> key with its public half. */
int age_identity_parse(const char *s, struct age_x25519 *k);
/* "age1..." (lowercase) -> public key. */
int age_recipient_parse(const char *s, uint8_t pub[32]);
void age_identity_encode(const struct age_x25519 *k, char out[AGE_IDENTITY_STRLEN + 1]);
void age_recipient_encode(const uint8_t pub[32], char out[AGE_RECIPIENT_STRLEN + 1]);

/* bech32 (BIP 173, no length limit). Returns data length or -1. hrp_out gets the HRP as written. */
long age_bech32_decode(const char *s, char *hrp_out, size_t hrpcap, uint8_t *data, size_t datacap);
int age_bech32_encode(const char *hrp, const uint8_t *data, size_t n, bool upper, char *out,
                      size_t outcap);

/* What a decryptor may use to unwrap a file key. */
enum age_identity_kind { AGE_ID_X25519, AGE_ID_SCRYPT };
struct age_identity {
	enum age_identity_kind kind;
	struct age_x25519 x25519;
	const struct pw_secret *passphrase; /* borrowed; AGE_ID_SCRYPT */
	unsigned max_work;                  /* AGE_ID_SCRYPT; 0 = AGE_SCRYPT_MAX_WORK */
	/* AGE_ID_SCRYPT without a passphrase: asked for only when an scrypt stanza is met;
	 * the decryptor owns (and wipes) what it returns. */
	int (*ask)(void *arg, struct pw_secret **out);
	void *ask_arg;
};

/* What an encryptor wraps the file key to. */
struct age_recipient {
	enum age_identity_kind kind;
	uint8_t pub[32];                    /* AGE_ID_X25519 */
	const struct pw_secret *passphrase; /* borrowed; AGE_ID_SCRYPT */
	unsigned work;                      /* AGE_ID_SCRYPT; 0 = AGE_SCRYPT_DEFAULT_WORK */
};

/* ---- header ----------------------------------------------------------- */

#define AGE_MAX_ARGS 16
struct age_stanza {
	char *type;
	char *args[AGE_MAX_ARGS];
	size_t nargs;
	uint8_t *body;
	size_t bodylen;
};

struct age_header {
	struct age_stanza *stanzas;
	size_t nstanzas;
	uint8_t mac[32];
	size_t mac_covered; /* bytes from the start through "---" */
	size_t len;         /* total header bytes, through the MAC line's newline */
};

/*
 * Parse a header at the start of buf. Returns 0 when complete (h filled),
 * 1 when more bytes are needed, or -PW_E_AGE_HEADER.
 */
int age_header_parse(const uint8_t *buf, size_t len, struct age_header *h);
void age_header_free(struct age_header *h);
/* Encode the stanzas and the "---" mark (no MAC) into out. */
int age_header_encode_stanzas(const struct age_header *h, struct pw_buf *out);

/* ---- STREAM ------------------------------------------------------------ */

struct age_stream;
struct age_stream *age_stream_new(const uint8_t file_key[AGE_FILE_KEY_LEN],
                                  const uint8_t nonce[AGE_NONCE_LEN]);
/* Seal n <= AGE_CHUNK bytes into out (n + 16 bytes); advances the counter. */
int age_stream_seal(struct age_stream *s, const uint8_t *in, size_t n, bool last, uint8_t *out);
/* Open n (16..AGE_ENC_CHUNK) bytes; 0 and advances on success, 1 if it does not authenticate. */
int age_stream_open(struct age_stream *s, const uint8_t *in, size_t n, bool last, uint8_t *out);
uint64_t age_stream_counter(const struct age_stream *s);
void age_stream_free(struct age_stream *s);

/* ---- streaming encrypt / decrypt --------------------------------------- */

/* Output callback: returns 0, or a negative error code to stop. */
typedef int (*age_emit_fn)(void *arg, const uint8_t *p, size_t n);

struct age_enc;
/* Recipients are copied; passphrases are borrowed until age_enc_new returns. */
int age_enc_new(struct age_enc **out, const struct age_recipient *r, size_t n, bool armor,
                age_emit_fn emit, void *arg);
int age_enc_update(struct age_enc *e, const uint8_t *p, size_t n);
int age_enc_final(struct age_enc *e);
void age_enc_free(struct age_enc *e);

enum age_armor_mode { AGE_ARMOR_AUTO, AGE_ARMOR_YES, AGE_ARMOR_NO };
struct age_dec;
/* Identities are copied (passphrases stay borrowed for the decryptor's life). */
struct age_dec *age_dec_new(const struct age_identity *ids, size_t n, enum age_armor_mode armor,
                            age_emit_fn emit, void *arg);
int age_dec_update(struct age_dec *d, const uint8_t *p, size_t n);
int age_dec_final(struct age_dec *d);
void age_dec_free(struct age_dec *d);

/* ---- ASCII armor -------------------------------------------------------- */

struct age_armor_enc;
struct age_armor_enc *age_armor_enc_new(age_emit_fn emit, void *arg);
int age_armor_enc_update(struct age_armor_enc *a, const uint8_t *p, size_t n);
int age_armor_enc_final(struct age_armor_enc *a);
void age_armor_enc_free(struct age_armor_enc *a);

struct age_armor_dec;
struct age_armor_dec *age_armor_dec_new(age_emit_fn emit, void *arg);
int age_armor_dec_update(struct age_armor_dec *a, const uint8_t *p, size_t n);
int age_armor_dec_final(struct age_armor_dec *a);
void age_armor_dec_free(struct age_armor_dec *a);

#endif
