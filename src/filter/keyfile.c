/* keyfile.c - identity and recipient files. */
#include "filter/keyfile.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "filter/filter.h"

#define KEYFILE_MAX (1024 * 1024)

void pw_keyset_own_secret(struct pw_keyset *k, struct pw_secret *s)
{
	k->secrets = pw_realloc(k->secrets, (k->nsecrets + 1) * sizeof *k->secrets);
	k->secrets[k->nsecrets++] = s;
}

void pw_keyset_free(struct pw_keyset *k)
{
	if (k->ids)
		OPENSSL_cleanse(k->ids, k->nids * sizeof *k->ids);
	pw_free(k->ids);
	pw_free(k->rcpts);
	for (size_t i = 0; i < k->nsecrets; i++)
		pw_secret_free(k->secrets[i]);
	pw_free(k->secrets);
	memset(k, 0, sizeof *k);
}

static struct age_identity *new_id(struct pw_keyset *k)
{
	struct age_identity *old = k->ids;
	k->ids = pw_calloc(k->nids + 1, sizeof *k->ids);
	if (old) {
		memcpy(k->ids, old, k->nids * sizeof *k->ids);
		OPENSSL_cleanse(old, k->nids * sizeof *old);
		pw_free(old);
	}
	return &k->ids[k->nids++];
}

static struct age_recipient *new_rcpt(struct pw_keyset *k)
{
	k->rcpts = pw_realloc(k->rcpts, (k->nrcpts + 1) * sizeof *k->rcpts);
	memset(&k->rcpts[k->nrcpts], 0, sizeof *k->rcpts);
	return &k->rcpts[k->nrcpts++];
}

int pw_keyset_add_recipient_str(struct pw_keyset *k, const char *s)
{
	uint8_t pub[32];
	if (pw_startswith(s, "ssh-")) {
		pw_error(PW_E_KEY, "SSH recipients are not supported");
		return pw_error_hint("Use an age X25519 recipient (\"age1...\"); make one with "
		                     "\"pgward keygen\".");
	}
	int rc = age_recipient_parse(s, pub);
	if (rc < 0)
		return rc;
	struct age_recipient *r = new_rcpt(k);
	r->kind = AGE_ID_X25519;
	memcpy(r->pub, pub, 32);
	return 0;
}

/* Call fn for each non-comment, non-blank line with its 1-based number. */
static int for_lines(char *text, const char *origin,
                     int (*fn)(struct pw_keyset *, const char *, const char *, int),
                     struct pw_keyset *k, int *count)
{
	int lineno = 0;
	*count = 0;
	for (char *save = NULL, *line = text; line; line = save) {
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		lineno++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = 0;
		if (len == 0 || line[0] == '#')
			continue;
		int rc = fn(k, line, origin, lineno);
		if (rc < 0)
			return rc;
		(*count)++;
	}
	return 0;
}

static int recipient_line(struct pw_keyset *k, const char *line, const char *origin, int lineno)
{
	int rc = pw_keyset_add_recipient_str(k, line);
	if (rc < 0)
		pw_error_context("%s line %d", origin, lineno);
	return rc;
}

int pw_keyset_add_recipients_file(struct pw_keyset *k, const char *path)
{
	struct pw_buf b = PW_BUF_INIT(KEYFILE_MAX);
	int count = 0;
	/* who may write it decides who can read the backups: root or us only */
	int rc = pw_trusted_read(path, "recipients file", 0, &b);
	if (rc == 0)
		rc = for_lines((char *)pw_buf_str(&b), path, recipient_line, k, &count);
	if (rc == 0 && count == 0) {
		pw_error(PW_E_KEY, "recipients file \"%s\" holds no recipients", path);
		rc = pw_error_hint("Add one \"age1...\" public key per line.");
	}
	pw_buf_free(&b, 0);
	return rc;
}

int pw_keyset_add_passphrase_recipient(struct pw_keyset *k, struct pw_secret *pass, unsigned work)
{
	pw_keyset_own_secret(k, pass);
	struct age_recipient *r = new_rcpt(k);
	r->kind = AGE_ID_SCRYPT;
	r->passphrase = pass;
	r->work = work;
	return 0;
}

int pw_keyset_add_passphrase_identity(struct pw_keyset *k, struct pw_secret *pass,
                                      unsigned max_work)
{
	pw_keyset_own_secret(k, pass);
	struct age_identity *id = new_id(k);
	id->kind = AGE_ID_SCRYPT;
	id->passphrase = pass;
	id->max_work = max_work;
	return 0;
}

static int identity_line(struct pw_keyset *k, const char *line, const char *origin, int lineno)
{
	struct age_x25519 key;
	if (pw_startswith(line, "AGE-PLUGIN-")) {
		pw_error(PW_E_KEY, "%s line %d: age plugin identities are not supported", origin,
		         lineno);
		return pw_error_hint("Use an X25519 identity made by \"pgward keygen\" or "
		                     "\"age-keygen\".");
	}
	if (pw_startswith(line, "-----BEGIN")) {
		pw_error(PW_E_KEY, "%s line %d: SSH and PEM keys are not supported", origin,
		         lineno);
		return pw_error_hint("Use an X25519 identity made by \"pgward keygen\" or "
		                     "\"age-keygen\".");
	}
	int rc = age_identity_parse(line, &key);
	if (rc < 0) {
		/* never echo the line: it may be a secret key with a typo */
		pw_error(PW_E_KEY, "%s line %d: malformed age identity", origin, lineno);
		return pw_error_hint("An identity line starts with \"AGE-SECRET-KEY-1\", as "
		                     "written by \"pgward keygen\".");
	}
	struct age_identity *id = new_id(k);
	id->kind = AGE_ID_X25519;
	id->x25519 = key;
	OPENSSL_cleanse(&key, sizeof key);
	return 0;
}

int pw_keyset_add_identity_text(struct pw_keyset *k, const char *text, size_t len,
                                const char *origin)
{
	char *copy = pw_strndup(text, len);
	int count = 0;
	int rc = for_lines(copy, origin, identity_line, k, &count);
	OPENSSL_cleanse(copy, len);
	pw_free(copy);
	if (rc == 0 && count == 0) {
		pw_error(PW_E_KEY, "\"%s\" holds no identities", origin);
		rc = pw_error_hint("An identity file has one \"AGE-SECRET-KEY-1...\" line per "
		                   "key; make one with \"pgward keygen -o FILE\".");
	}
	return rc;
}

static bool looks_encrypted(const struct pw_buf *b)
{
	const char *s = (const char *)b->data;
	size_t i = 0;
	while (i < b->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return (b->len - i >= 21 && memcmp(s + i, "age-encryption.org/v1", 21) == 0) ||
	       (b->len - i >= strlen(AGE_ARMOR_BEGIN) &&
	        memcmp(s + i, AGE_ARMOR_BEGIN, strlen(AGE_ARMOR_BEGIN)) == 0);
}

int pw_keyset_add_identity_file(struct pw_keyset *k, const char *path, pw_passphrase_fn ask,
                                void *arg)
{
	struct pw_buf b = PW_BUF_INIT(KEYFILE_MAX);
	/* a passphrase-protected file may be readable by others (it is encrypted); the
	 * private-mode check of a plain one follows below */
	int rc = pw_trusted_read(path, "identity file", 0, &b);
	if (rc < 0)
		goto out;
	if (looks_encrypted(&b)) {
		/* a passphrase-protected identity file: decrypt it in memory */
		struct pw_secret *pass = NULL;
		char prompt[512];
		snprintf(prompt, sizeof prompt,
		         "Enter passphrase for identity file \"%s\": ", path);
		if (!ask) {
			pw_error(PW_E_PASSPHRASE, "identity file \"%s\" is passphrase-protected",
			         path);
			rc = pw_error_hint("Run interactively, or set PGWARD_PASSPHRASE_FILE.");
			goto out;
		}
		if ((rc = ask(arg, prompt, false, &pass)) < 0)
			goto out;
		struct age_identity pid = {.kind = AGE_ID_SCRYPT, .passphrase = pass};
		struct pw_buf plain = PW_BUF_INIT(KEYFILE_MAX);
		struct flt *sink = flt_buf_sink(&plain);
		struct flt *dec = flt_age_decrypt(&pid, 1, AGE_ARMOR_AUTO, sink);
		rc = flt_write(dec, b.data, b.len);
		if (rc == 0)
			rc = flt_finish(dec);
		flt_chain_free(dec);
		pw_secret_free(pass);
		if (rc == -PW_E_AGE_NOMATCH) {
			pw_error(PW_E_PASSPHRASE, "wrong passphrase for identity file \"%s\"",
			         path);
			rc = pw_error_hint("Try again with the passphrase the file was protected "
			                   "with.");
		} else if (rc < 0) {
			rc = pw_error_context("decrypting identity file \"%s\"", path);
		}
		if (rc == 0)
			rc = pw_keyset_add_identity_text(k, (const char *)plain.data, plain.len,
			                                 path);
		pw_buf_free(&plain, 1);
		goto out;
	}
	if (strcmp(path, "-") != 0) {
		/* a plain identity must also be private (no link, no FIFO: never blocks) */
		int fd;
		rc = pw_trusted_open(path, "identity file", PW_TRUST_SECRET, &fd);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			goto out;
	}
	rc = pw_keyset_add_identity_text(k, (const char *)b.data, b.len, path);
out:
	pw_buf_free(&b, 1);
	return rc;
}
