/*
 * enc.h - strict text encodings: hex and base64 (RFC 4648 standard alphabet),
 * padded or unpadded. Decoders reject non-canonical input (stray characters,
 * non-zero trailing bits, wrong padding).
 */
#ifndef PW_COMMON_ENC_H
#define PW_COMMON_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void pw_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly 2*outlen hex digits (either case). Returns 0 or -1. */
int pw_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

/* Encoded length of n bytes, without the NUL. */
size_t pw_b64_encoded_len(size_t n, bool pad);
/* Encode into out (pw_b64_encoded_len + 1 bytes), NUL-terminated; returns the length. */
size_t pw_b64_encode(const uint8_t *in, size_t n, char *out, bool pad);
/*
 * Decode inlen characters into out (capacity outcap). With pad, the input
 * must be a multiple of 4 with '=' padding; without, there must be none.
 * Returns the decoded length, or -1 if the input is not canonical base64
 * or does not fit.
 */
long pw_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap, bool pad);
/* Maximum decoded size of inlen characters. */
size_t pw_b64_decoded_max(size_t inlen);

#endif
