/*
 * keyfile.h - identity and recipient files in age's formats: one key per
 * line, '#' comments and blank lines allowed. An identity file may itself be
 * passphrase-encrypted (as `age-keygen | age -p` makes); a plaintext identity
 * file must not be accessible by group or others.
 */
#ifndef PW_FILTER_KEYFILE_H
#define PW_FILTER_KEYFILE_H

#include <stdbool.h>

#include "crypto/age.h"

/* Ask for a passphrase (confirm = ask twice). Returns 0 and a secret, or an error. */
typedef int (*pw_passphrase_fn)(void *arg, const char *prompt, bool confirm,
                                struct pw_secret **out);

/* Owns identities, recipients and passphrases; wiped on free. */
struct pw_keyset {
	struct age_identity *ids;
	size_t nids;
	struct age_recipient *rcpts;
	size_t nrcpts;
	struct pw_secret **secrets;
	size_t nsecrets;
};

void pw_keyset_free(struct pw_keyset *k);
/* Keep a secret alive as long as the keyset (takes ownership). */
void pw_keyset_own_secret(struct pw_keyset *k, struct pw_secret *s);

int pw_keyset_add_recipient_str(struct pw_keyset *k, const char *s);
int pw_keyset_add_recipients_file(struct pw_keyset *k, const char *path);
int pw_keyset_add_passphrase_recipient(struct pw_keyset *k, struct pw_secret *pass, unsigned work);
int pw_keyset_add_identity_file(struct pw_keyset *k, const char *path, pw_passphrase_fn ask,
                                void *arg);
int pw_keyset_add_passphrase_identity(struct pw_keyset *k, struct pw_secret *pass,
                                      unsigned max_work);
/* Parse identity text (lines of AGE-SECRET-KEY-1..., comments, blanks). origin names it in errors. */
int pw_keyset_add_identity_text(struct pw_keyset *k, const char *text, size_t len,
                                const char *origin);

#endif
