/*
 * secret.h - a secret value (password, passphrase, key): wiped when freed,
 * registered for redaction while alive so log lines and error messages that
 * would contain it print "********" instead.
 */
#ifndef PW_COMMON_SECRET_H
#define PW_COMMON_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct pw_secret;

/* Copy n bytes into a new secret (NUL-terminated for text use). */
struct pw_secret *pw_secret_new(const void *p, size_t n);
struct pw_secret *pw_secret_from_str(const char *s);
const uint8_t *pw_secret_data(const struct pw_secret *s);
const char *pw_secret_str(const struct pw_secret *s);
size_t pw_secret_len(const struct pw_secret *s);
/* Wipe and free; NULL-safe. */
void pw_secret_free(struct pw_secret *s);

/* For the redactor: call fn for each live text secret of at least 4 bytes, under a lock. */
void pw_secret_foreach(void (*fn)(const char *text, size_t len, void *arg), void *arg);

#endif
