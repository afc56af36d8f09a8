/* trust.c - signing manifests and judging their signatures (see trust.h). */
#include "repo/trust.h"

#include "repo/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/str.h"

int repo_signers_add(struct repo_signers *s, const char *value)
{
	struct minisign_pubkey pk;
	int rc;
	if (strncmp(value, "RW", 2) == 0 && strlen(value) == MINISIGN_PUB_B64_LEN) {
		rc = minisign_pubkey_parse_b64(value, strlen(value), &pk);
	} else {
		struct pw_buf b = PW_BUF_INIT(MINISIGN_FILE_MAX);
		rc = pw_read_file(value, &b);
		if (rc == 0)
			rc = minisign_pubkey_parse((const char *)b.data, b.len, &pk);
		pw_buf_free(&b, 0);
	}
	if (rc < 0) {
		pw_error_context("trusted-signer \"%.80s\"", value);
		if (!*pw_error_hint_text())
			pw_error_hint(
			    "Give the signing key's public key (\"RW...\") or the path of "
			    "its .pub file (\"pgward keygen --sign\" writes both).");
		return rc;
	}
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(&s->k[i], &pk, sizeof pk) == 0)
			return 0;
	s->k = pw_realloc(s->k, (s->n + 1) * sizeof *s->k);
	s->k[s->n++] = pk;
	return 0;
}

void repo_signers_free(struct repo_signers *s)
{
	pw_free(s->k);
	s->k = NULL;
	s->n = 0;
}

int repo_sign_key_load(const char *path, struct minisign_seckey *sk)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		pw_error(PW_E_IO, "cannot open signing key \"%s\": %s", path, pw_strerror(errno));
		return pw_error_hint("Check sign-key; make a key with \"pgward keygen --sign -o "
		                     "FILE\".");
	}
	int rc = pw_check_private_fd(fd, path, "signing key");
	close(fd);
	if (rc < 0)
		return rc;
	struct pw_buf b = PW_BUF_INIT(MINISIGN_FILE_MAX);
	rc = pw_read_file(path, &b);
	if (rc == 0)
		rc = minisign_seckey_parse((const char *)b.data, b.len, sk);
	pw_buf_free(&b, 1);
	if (rc < 0)
		pw_error_context("signing key \"%s\"", path);
	return rc;
}

static void trusted_comment(const char *stanza, const char *id, time_t when, char *out, size_t size)
{
	snprintf(out, size, "timestamp:%lld\tfile:manifest.json\tstanza:%s\tbackup:%s",
	         (long long)when, stanza, id);
}

int repo_sign_manifest(const struct minisign_seckey *sk, const char *stanza, const char *id,
                       time_t when, const uint8_t *m, size_t n, struct pw_buf *out)
{
	char tc[256], uc[128], kid[17];
	trusted_comment(stanza, id, when, tc, sizeof tc);
	minisign_keyid_hex(sk->keyid, kid);
	snprintf(uc, sizeof uc, "pgward backup manifest signed by key %s", kid);
	return minisign_sign(sk, m, n, uc, tc, out);
}

/* The value of "name:" in a tab-separated trusted comment, into out; false if absent. */
static bool tc_field(const char *tc, const char *name, char *out, size_t size)
{
	size_t k = strlen(name);
	for (const char *p = tc; p && *p;) {
		const char *tab = strchr(p, '\t');
		size_t len = tab ? (size_t)(tab - p) : strlen(p);
		if (len > k && memcmp(p, name, k) == 0 && p[k] == ':') {
			snprintf(out, size, "%.*s", (int)(len - k - 1), p + k + 1);
			return true;
		}
		p = tab ? tab + 1 : NULL;
	}
	return false;
}

void repo_trust_check(const uint8_t *m, size_t n, const char *sig, size_t sn, const char *stanza,
                      const char *id, const struct repo_signers *s, struct repo_verdict *v)
{
	memset(v, 0, sizeof *v);
	if (!sig) {
		v->trust = TRUST_UNSIGNED;
		return;
	}
	struct minisign_sig ms;
	struct pw_error_saved saved;
	pw_error_save(&saved);
	if (minisign_sig_parse(sig, sn, &ms) < 0) {
		v->trust = TRUST_BAD;
		pw_strlcpy(v->detail, pw_error_message(), sizeof v->detail);
		pw_error_restore(&saved);
		return;
	}
	minisign_keyid_hex(ms.keyid, v->keyid);
	const struct minisign_pubkey *pk = NULL;
	for (size_t i = 0; s && i < s->n && !pk; i++)
		if (memcmp(s->k[i].keyid, ms.keyid, MINISIGN_KEYID_LEN) == 0)
			pk = &s->k[i];
	if (!pk) {
		v->trust = TRUST_UNTRUSTED;
		snprintf(v->detail, sizeof v->detail,
		         "signed by key %s, which is not a trusted-signer", v->keyid);
		pw_error_restore(&saved);
		return;
	}
	char fs[128], fb[128];
	if (minisign_verify(pk, &ms, m, n) < 0) {
		v->trust = TRUST_BAD;
		pw_strlcpy(v->detail, pw_error_message(), sizeof v->detail);
	} else if (!tc_field(ms.trusted_comment, "stanza", fs, sizeof fs) ||
	           !tc_field(ms.trusted_comment, "backup", fb, sizeof fb) ||
	           strcmp(fs, stanza) != 0 || strcmp(fb, id) != 0) {
		v->trust = TRUST_BAD;
		snprintf(
		    v->detail, sizeof v->detail,
		    "the signature is for another backup (its trusted comment names %.60s/%.60s)",
		    fs, fb);
	} else {
		v->trust = TRUST_SIGNED;
	}
	pw_error_restore(&saved);
}

static int buf_sink(void *arg, const uint8_t *p, size_t n)
{
	return pw_buf_append(arg, p, n);
}

int repo_sign_object(const struct minisign_seckey *sk, const char *file, const char *stanza,
                     const char *id, const char *extra, time_t when, const uint8_t *m, size_t n,
                     struct pw_buf *out)
{
	char tc[512], uc[128], kid[17];
	snprintf(tc, sizeof tc, "timestamp:%lld\tfile:%s\tstanza:%s\tbackup:%s%s", (long long)when,
	         file, stanza, id, extra ? extra : "");
	minisign_keyid_hex(sk->keyid, kid);
	snprintf(uc, sizeof uc, "pgward %s signed by key %s", file, kid);
	return minisign_sign(sk, m, n, uc, tc, out);
}

/* every "key:value" of want (tab-separated) is a field of the trusted comment tc */
static bool tc_has_all(const char *tc, const char *want)
{
	for (const char *p = want; p && *p;) {
		const char *tab = strchr(p, '\t');
		size_t len = tab ? (size_t)(tab - p) : strlen(p);
		const char *colon = memchr(p, ':', len);
		if (len) {
			char k[64], got[256];
			if (!colon || (size_t)(colon - p) >= sizeof k)
				return false;
			snprintf(k, sizeof k, "%.*s", (int)(colon - p), p);
			if (!tc_field(tc, k, got, sizeof got) ||
			    strlen(got) != len - (size_t)(colon - p) - 1 ||
			    memcmp(got, colon + 1, strlen(got)) != 0)
				return false;
		}
		p = tab ? tab + 1 : NULL;
	}
	return true;
}

void repo_object_check(const uint8_t *m, size_t n, const char *sig, size_t sn, const char *file,
                       const char *stanza, const char *id, const char *extra,
                       const struct repo_signers *s, struct repo_verdict *v)
{
	repo_trust_check(m, n, sig, sn, stanza, id, s, v);
	if (v->trust != TRUST_SIGNED)
		return;
	/* signed by a trusted key for this stanza and backup: now the object itself */
	char want[512];
	snprintf(want, sizeof want, "file:%s%s", file, extra ? extra : "");
	struct minisign_sig ms;
	struct pw_error_saved saved;
	pw_error_save(&saved);
	if (minisign_sig_parse(sig, sn, &ms) < 0 || !tc_has_all(ms.trusted_comment, want)) {
		v->trust = TRUST_BAD;
		snprintf(v->detail, sizeof v->detail,
		         "the signature is for another object (its trusted comment does not name "
		         "%.80s with this content)",
		         file);
	}
	pw_error_restore(&saved);
}

int repo_object_sig(struct stor *st, const char *stanza, const char *id, const char *file,
                    struct pw_buf *sig, bool *found)
{
	char name[256], key[512];
	*found = false;
	if ((size_t)snprintf(name, sizeof name, "%s%s", file, SIGNATURE_SUFFIX) >= sizeof name) {
		pw_error(PW_E_LIMIT, "object name too long: %.80s", file);
		return pw_error_hint("This is not a name pgward writes.");
	}
	int rc = repo_key(key, sizeof key, stanza, id, name);
	if (rc == 0)
		rc = stor_get(st, key, buf_sink, sig);
	if (rc == -PW_E_NOTFOUND) {
		pw_best_effort("reading the signature of %s/%s/%s (none: unsigned)", stanza, id,
		               file);
		return 0;
	}
	if (rc == 0)
		*found = true;
	return rc;
}

int repo_backup_trust(struct stor *st, const char *stanza, const char *id,
                      const struct repo_signers *s, struct repo_verdict *v, struct pw_buf *manifest)
{
	char key[512];
	int rc = repo_key(key, sizeof key, stanza, id, "manifest.json");
	if (rc == 0)
		rc = stor_get(st, key, buf_sink, manifest);
	if (rc < 0)
		return rc;
	if ((rc = repo_key(key, sizeof key, stanza, id, MANIFEST_SIG)) < 0)
		return rc;
	struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
	rc = stor_get(st, key, buf_sink, &sig);
	if (rc == -PW_E_NOTFOUND) {
		pw_best_effort("reading the signature of %s/%s (none: unsigned)", stanza, id);
		repo_trust_check(manifest->data, manifest->len, NULL, 0, stanza, id, s, v);
		rc = 0;
	} else if (rc == -PW_E_LIMIT) { /* an oversized signature is a bad one */
		pw_best_effort("reading the signature of %s/%s (too large: bad)", stanza, id);
		memset(v, 0, sizeof *v);
		v->trust = TRUST_BAD;
		pw_strlcpy(v->detail, "the signature file is larger than 4096 bytes",
		           sizeof v->detail);
		rc = 0;
	} else if (rc == 0) {
		repo_trust_check(manifest->data, manifest->len, (const char *)sig.data, sig.len,
		                 stanza, id, s, v);
	} else { /* unreadable (not a regular file, storage error): never trusted, and never a
		  * reason to fail the whole listing */
		memset(v, 0, sizeof *v);
		v->trust = TRUST_BAD;
		snprintf(v->detail, sizeof v->detail, "the signature could not be read: %.200s",
		         pw_error_message());
		pw_error_clear();
		rc = 0;
	}
	pw_buf_free(&sig, 0);
	return rc;
}

const char *repo_trust_name(enum repo_trust t)
{
	switch (t) {
	case TRUST_SIGNED:
		return "trusted";
	case TRUST_UNSIGNED:
		return "unsigned";
	case TRUST_BAD:
		return "bad-signature";
	case TRUST_UNTRUSTED:
		return "untrusted";
	case TRUST_UNCHECKED:
		break;
	}
	return "";
}

void repo_trust_label(const struct repo_verdict *v, char *out, size_t size)
{
	switch (v->trust) {
	case TRUST_SIGNED:
		snprintf(out, size, "%s", v->keyid);
		break;
	case TRUST_UNSIGNED:
		snprintf(out, size, "unsigned");
		break;
	case TRUST_BAD:
		snprintf(out, size, "BAD SIGNATURE");
		break;
	case TRUST_UNTRUSTED:
		snprintf(out, size, "untrusted %s", v->keyid);
		break;
	case TRUST_UNCHECKED:
		snprintf(out, size, "-");
		break;
	}
}

int repo_trust_error(const struct repo_verdict *v, const char *id, bool have_signers)
{
	switch (v->trust) {
	case TRUST_UNSIGNED:
		pw_error(PW_E_SIGNATURE, "backup \"%s\" is not signed", id);
		break;
	case TRUST_BAD:
		pw_error(PW_E_SIGNATURE, "backup \"%s\" has a bad signature: %s", id, v->detail);
		break;
	case TRUST_UNTRUSTED:
		pw_error(PW_E_SIGNATURE, "backup \"%s\" is %s", id, v->detail);
		break;
	default:
		pw_error(PW_E_SIGNATURE, "backup \"%s\" has no checked signature", id);
		break;
	}
	if (!have_signers)
		return pw_error_hint("Configure trusted-signer with the backup host's public key "
		                     "(\"RW...\" or its .pub file), or pass --allow-unsigned to "
		                     "accept this backup anyway (recorded in the audit log).");
	return pw_error_hint("Only a backup signed by a trusted-signer is accepted; add the key "
	                     "to trusted-signer if you trust it, or pass --allow-unsigned to "
	                     "accept this backup anyway (recorded in the audit log).");
}
