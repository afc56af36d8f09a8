/* recipients.h - (internal to crypto) file-key wrapping for X25519 and scrypt stanzas. */
#ifndef PW_CRYPTO_RECIPIENTS_H
#define PW_CRYPTO_RECIPIENTS_H

#include "crypto/age.h"

int age_x25519_wrap(const uint8_t pub[32], const uint8_t file_key[AGE_FILE_KEY_LEN],
                    struct age_stanza *s);
/* 0 = unwrapped, 1 = not for this identity, < 0 = header failure. */
int age_x25519_unwrap(const struct age_x25519 *id, const struct age_stanza *s,
                      uint8_t file_key[AGE_FILE_KEY_LEN]);
int age_scrypt_wrap(const struct pw_secret *pass, unsigned work,
                    const uint8_t file_key[AGE_FILE_KEY_LEN], struct age_stanza *s);
int age_scrypt_unwrap(const struct pw_secret *pass, unsigned max_work, const struct age_stanza *s,
                      uint8_t file_key[AGE_FILE_KEY_LEN]);

#endif
