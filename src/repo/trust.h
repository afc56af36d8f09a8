/*
 * trust.h - who signed a backup. The backup host signs the exact bytes of
 * <stanza>/<id>/manifest.json with its signing key (minisign format) and writes
 * manifest.json.minisig before the manifest; readers configure trusted-signer keys and
 * get one typed verdict per backup. The manifest names every object with its size and
 * ciphertext SHA-256, so a trusted signature vouches for the whole backup.
 */
#ifndef PW_REPO_TRUST_H
#define PW_REPO_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "crypto/minisign.h"
#include "storage/storage.h"

#define SIGNATURE_SUFFIX ".minisig"
#define MANIFEST_SIG "manifest.json.minisig"
#define REPO_MANIFEST_MAX (4 * 1024 * 1024)

enum repo_trust {
	TRUST_UNCHECKED = 0, /* incomplete backup, or verdicts not asked for */
	TRUST_SIGNED,        /* a valid signature by a trusted signer */
	TRUST_UNSIGNED,      /* no manifest.json.minisig */
	TRUST_BAD,           /* malformed, or not valid for these manifest bytes */
	TRUST_UNTRUSTED,     /* a well-formed signature by a key that is not trusted */
};

struct repo_verdict {
	enum repo_trust trust;
	char keyid[17];   /* the signature's key id (SIGNED, UNTRUSTED, BAD when parsed) */
	char detail[256]; /* why, for BAD and UNTRUSTED */
};

struct repo_signers {
	struct minisign_pubkey *k;
	size_t n;
};

/* Add a trusted signer: a public key "RW..." or the path of a .pub file. */
int repo_signers_add(struct repo_signers *s, const char *value);
void repo_signers_free(struct repo_signers *s);

/* Load a signing key file (refused when group/world-readable). */
int repo_sign_key_load(const char *path, struct minisign_seckey *sk);

/* The .minisig text for manifest bytes m: trusted comment names stanza, backup id and time. */
int repo_sign_manifest(const struct minisign_seckey *sk, const char *stanza, const char *id,
                       time_t when, const uint8_t *m, size_t n, struct pw_buf *out);

/* The verdict for manifest bytes m and the signature text (sig NULL: none), found under
 * <stanza>/<id>/: the trusted comment must name that stanza and id, so a genuine signed
 * manifest copied under another id is BAD. Pure. */
void repo_trust_check(const uint8_t *m, size_t n, const char *sig, size_t sn, const char *stanza,
                      const char *id, const struct repo_signers *s, struct repo_verdict *v);

/* Read <stanza>/<id>/manifest.json into *manifest (capped) and judge it with its
 * .minisig. A storage error other than a missing signature is returned. */
int repo_backup_trust(struct stor *st, const char *stanza, const char *id,
                      const struct repo_signers *s, struct repo_verdict *v,
                      struct pw_buf *manifest);

/* Objects beside a backup other than its manifest (verification records, pin and unpin
 * markers) are signed the same way, each in <name>.minisig written before the object: the
 * trusted comment is "timestamp:<when>\tfile:<name>\tstanza:<s>\tbackup:<id>" followed by
 * extra ("\tdepth:3\tresult:pass" for a record; "" for a marker). */
int repo_sign_object(const struct minisign_seckey *sk, const char *file, const char *stanza,
                     const char *id, const char *extra, time_t when, const uint8_t *m, size_t n,
                     struct pw_buf *out);
/* The verdict for object bytes m named file under <stanza>/<id>/ and its signature text
 * (sig NULL: none): TRUST_SIGNED only when the trusted comment names exactly that file,
 * stanza and backup and carries every "key:value" of extra (tab-separated). Pure. */
void repo_object_check(const uint8_t *m, size_t n, const char *sig, size_t sn, const char *file,
                       const char *stanza, const char *id, const char *extra,
                       const struct repo_signers *s, struct repo_verdict *v);
/* Read <stanza>/<id>/<file>.minisig (capped) into sig; -PW_E_NOTFOUND (cleared) leaves it
 * empty and returns 0 with *found false. Other errors are returned. */
int repo_object_sig(struct stor *st, const char *stanza, const char *id, const char *file,
                    struct pw_buf *sig, bool *found);

/* "trusted", "unsigned", "bad-signature", "untrusted" ("" when unchecked). */
const char *repo_trust_name(enum repo_trust t);
/* For people: the key id, "unsigned", "BAD SIGNATURE", "untrusted RW<keyid>". */
void repo_trust_label(const struct repo_verdict *v, char *out, size_t size);
/* Record -PW_E_SIGNATURE for a backup that is not TRUST_SIGNED, naming why, with a hint. */
int repo_trust_error(const struct repo_verdict *v, const char *id, bool have_signers);

#endif
