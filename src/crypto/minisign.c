/* minisign.c - minisign's key and signature formats over the Ed25519/BLAKE2b of prim.c. */
#include "crypto/minisign.h"

#include <string.h>

#include <openssl/crypto.h>

#include "common/enc.h"
#include "common/err.h"
#include "crypto/prim.h"

static const uint8_t ALG_ED[2] = {'E', 'd'};
static const uint8_t ALG_PREHASH[2] = {'E', 'D'};
#define UNTRUSTED "untrusted comment: "
#define TRUSTED "trusted comment: "
#define SECKEY_TAG "PWSK-1:"

int minisign_keygen(struct minisign_seckey *sk)
{
	int rc = pw_random(sk->seed, sizeof sk->seed);
	if (rc == 0)
		rc = pw_random(sk->keyid, sizeof sk->keyid);
	if (rc == 0)
		rc = pw_ed25519_public(sk->seed, sk->pk);
	if (rc < 0)
		minisign_seckey_wipe(sk);
	return rc;
}

void minisign_seckey_wipe(struct minisign_seckey *sk)
{
	OPENSSL_cleanse(sk, sizeof *sk);
}

void minisign_seckey_public(const struct minisign_seckey *sk, struct minisign_pubkey *pk)
{
	memcpy(pk->keyid, sk->keyid, sizeof pk->keyid);
	memcpy(pk->pk, sk->pk, sizeof pk->pk);
}

void minisign_keyid_hex(const uint8_t keyid[MINISIGN_KEYID_LEN], char out[17])
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < MINISIGN_KEYID_LEN; i++) {
		uint8_t b = keyid[MINISIGN_KEYID_LEN - 1 - i];
		out[2 * i] = hex[b >> 4];
		out[2 * i + 1] = hex[b & 15];
	}
	out[16] = 0;
}

void minisign_pubkey_b64(const struct minisign_pubkey *pk, char out[MINISIGN_PUB_B64_LEN + 1])
{
	uint8_t raw[42];
	memcpy(raw, ALG_ED, 2);
	memcpy(raw + 2, pk->keyid, 8);
	memcpy(raw + 10, pk->pk, 32);
	pw_b64_encode(raw, sizeof raw, out, true);
}

int minisign_pubkey_parse_b64(const char *s, size_t n, struct minisign_pubkey *pk)
{
	uint8_t raw[42];
	if (n != MINISIGN_PUB_B64_LEN || pw_b64_decode(s, n, raw, sizeof raw, true) != 42) {
		pw_error(PW_E_KEY, "not a minisign public key (expected 56 base64 characters)");
		return pw_error_hint("A public key looks like \"RW...\" (the second line of the "
		                     ".pub file written by \"pgward keygen --sign\").");
	}
	if (memcmp(raw, ALG_ED, 2) != 0) {
		pw_error(PW_E_KEY, "unsupported public key algorithm (not Ed25519)");
		return pw_error_hint(
		    "Use a key made by \"pgward keygen --sign\" or \"minisign -G\".");
	}
	memcpy(pk->keyid, raw + 2, 8);
	memcpy(pk->pk, raw + 10, 32);
	return 0;
}

/* The next line of text (without "\n" or "\r\n"); false at the end. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
	if (*p >= end)
		return false;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *e = nl ? nl : end;
	*line = *p;
	*len = (size_t)(e - *p);
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	*p = nl ? nl + 1 : end;
	return true;
}

static bool only_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r')
			return false;
	return true;
}

static bool has_prefix(const char *l, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(l, prefix, k) == 0;
}

static int check_text(const char *text, size_t n, int code, const char *what)
{
	if (n > MINISIGN_FILE_MAX)
		return pw_error(PW_E_LIMIT, "%s is larger than %d bytes", what, MINISIGN_FILE_MAX);
	if (memchr(text, 0, n))
		return pw_error(code, "%s contains a NUL byte", what);
	return 0;
}

int minisign_pubkey_parse(const char *text, size_t n, struct minisign_pubkey *pk)
{
	int rc = check_text(text, n, PW_E_KEY, "the public key file");
	if (rc < 0)
		return rc;
	const char *p = text, *end = text + n, *l;
	size_t len;
	if (!next_line(&p, end, &l, &len))
		return pw_error(PW_E_KEY, "the public key file is empty");
	if (has_prefix(l, len, UNTRUSTED)) {
		if (len - strlen(UNTRUSTED) > MINISIGN_COMMENT_MAX)
			return pw_error(PW_E_KEY, "the public key's comment is too long");
		if (!next_line(&p, end, &l, &len))
			return pw_error(PW_E_KEY, "the public key file has no key line");
	}
	if ((rc = minisign_pubkey_parse_b64(l, len, pk)) < 0)
		return rc;
	if (!only_blank(p, end))
		return pw_error(PW_E_KEY, "the public key file has extra lines after the key");
	return 0;
}

int minisign_pubkey_write(const struct minisign_pubkey *pk, struct pw_buf *out)
{
	char id[17], b64[MINISIGN_PUB_B64_LEN + 1];
	minisign_keyid_hex(pk->keyid, id);
	minisign_pubkey_b64(pk, b64);
	return pw_buf_printf(out, UNTRUSTED "minisign public key %s\n%s\n", id, b64);
}

int minisign_seckey_write(const struct minisign_seckey *sk, struct pw_buf *out)
{
	uint8_t raw[2 + 8 + 32 + 32];
	char b64[sizeof raw / 3 * 4 + 8], id[17];
	memcpy(raw, ALG_ED, 2);
	memcpy(raw + 2, sk->keyid, 8);
	memcpy(raw + 10, sk->seed, 32);
	memcpy(raw + 42, sk->pk, 32);
	pw_b64_encode(raw, sizeof raw, b64, true);
	minisign_keyid_hex(sk->keyid, id);
	int rc = pw_buf_printf(out,
	                       UNTRUSTED "pgward signing key %s (secret: keep it on the backup "
	                                 "host, mode 0600)\n" SECKEY_TAG "%s\n",
	                       id, b64);
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(b64, sizeof b64);
	return rc;
}

int minisign_seckey_parse(const char *text, size_t n, struct minisign_seckey *sk)
{
	int rc = check_text(text, n, PW_E_KEY, "the signing key file");
	if (rc < 0)
		return rc;
	const char *p = text, *end = text + n, *l = NULL;
	size_t len = 0;
	bool found = false;
	while (next_line(&p, end, &l, &len)) {
		if (has_prefix(l, len, SECKEY_TAG)) {
			found = true;
			break;
		}
		if (len && !has_prefix(l, len, UNTRUSTED))
			break;
	}
	if (!found || !only_blank(p, end)) {
		pw_error(PW_E_KEY, "not a pgward signing key file");
		return pw_error_hint("Make one with \"pgward keygen --sign -o FILE\".");
	}
	uint8_t raw[2 + 8 + 32 + 32];
	size_t k = strlen(SECKEY_TAG);
	long got = pw_b64_decode(l + k, len - k, raw, sizeof raw, true);
	rc = 0;
	if (got != (long)sizeof raw || memcmp(raw, ALG_ED, 2) != 0) {
		rc = pw_error(PW_E_KEY, "the signing key file is damaged");
	} else {
		memcpy(sk->keyid, raw + 2, 8);
		memcpy(sk->seed, raw + 10, 32);
		if ((rc = pw_ed25519_public(sk->seed, sk->pk)) == 0 &&
		    CRYPTO_memcmp(sk->pk, raw + 42, 32) != 0)
			rc = pw_error(PW_E_KEY, "the signing key file is damaged (its public key "
			                        "does not match its secret key)");
	}
	OPENSSL_cleanse(raw, sizeof raw);
	if (rc < 0)
		minisign_seckey_wipe(sk);
	return rc;
}

static bool comment_ok(const char *c)
{
	return c && strlen(c) <= MINISIGN_COMMENT_MAX && !strchr(c, '\n') && !strchr(c, '\r');
}

int minisign_sign(const struct minisign_seckey *sk, const uint8_t *msg, size_t n,
                  const char *untrusted_comment, const char *trusted_comment, struct pw_buf *out)
{
	if (!comment_ok(untrusted_comment) || !comment_ok(trusted_comment))
		return pw_error(PW_E_INTERNAL, "signature comment too long or has a line break");
	uint8_t h[PW_BLAKE2B512_LEN], sig[2 + 8 + 64];
	memcpy(sig, ALG_PREHASH, 2);
	memcpy(sig + 2, sk->keyid, 8);
	int rc = pw_blake2b512(msg, n, h);
	if (rc == 0)
		rc = pw_ed25519_sign(sk->seed, h, sizeof h, sig + 10);
	/* the global signature covers the signature and the trusted comment */
	size_t tlen = strlen(trusted_comment);
	uint8_t gmsg[64 + MINISIGN_COMMENT_MAX], gsig[64];
	if (rc == 0) {
		memcpy(gmsg, sig + 10, 64);
		memcpy(gmsg + 64, trusted_comment, tlen);
		rc = pw_ed25519_sign(sk->seed, gmsg, 64 + tlen, gsig);
	}
	if (rc == 0) {
		char s64[104], g64[92];
		pw_b64_encode(sig, sizeof sig, s64, true);
		pw_b64_encode(gsig, sizeof gsig, g64, true);
		rc = pw_buf_printf(out, UNTRUSTED "%s\n%s\n" TRUSTED "%s\n%s\n", untrusted_comment,
		                   s64, trusted_comment, g64);
	}
	return rc;
}

static int bad_sig(const char *what)
{
	pw_error(PW_E_SIGNATURE, "malformed signature: %s", what);
	return pw_error_hint("The .minisig file was damaged or forged; this backup cannot be "
	                     "trusted.");
}

int minisign_sig_parse(const char *text, size_t n, struct minisign_sig *sig)
{
	memset(sig, 0, sizeof *sig);
	if (n > MINISIGN_FILE_MAX)
		return bad_sig("larger than 4096 bytes");
	if (memchr(text, 0, n))
		return bad_sig("it contains a NUL byte");
	const char *p = text, *end = text + n, *l;
	size_t len;
	if (!next_line(&p, end, &l, &len) || !has_prefix(l, len, UNTRUSTED))
		return bad_sig("no untrusted comment line");
	if (len - strlen(UNTRUSTED) > MINISIGN_COMMENT_MAX)
		return bad_sig("untrusted comment too long");
	if (!next_line(&p, end, &l, &len))
		return bad_sig("no signature line");
	uint8_t raw[2 + 8 + 64 + 1];
	if (pw_b64_decode(l, len, raw, sizeof raw, true) != 74)
		return bad_sig("the signature line is not 74 bytes of base64");
	if (memcmp(raw, ALG_ED, 2) == 0)
		sig->prehashed = false;
	else if (memcmp(raw, ALG_PREHASH, 2) == 0)
		sig->prehashed = true;
	else
		return bad_sig("unknown signature algorithm");
	memcpy(sig->keyid, raw + 2, 8);
	memcpy(sig->sig, raw + 10, 64);
	if (!next_line(&p, end, &l, &len) || !has_prefix(l, len, TRUSTED))
		return bad_sig("no trusted comment line");
	size_t k = strlen(TRUSTED);
	if (len - k > MINISIGN_COMMENT_MAX)
		return bad_sig("trusted comment too long");
	memcpy(sig->trusted_comment, l + k, len - k);
	sig->trusted_comment[len - k] = 0;
	if (!next_line(&p, end, &l, &len))
		return bad_sig("no global signature line");
	if (pw_b64_decode(l, len, raw, sizeof raw, true) != 64)
		return bad_sig("the global signature line is not 64 bytes of base64");
	memcpy(sig->global_sig, raw, 64);
	if (!only_blank(p, end))
		return bad_sig("extra lines after the global signature");
	return 0;
}

static int keyid_check(const struct minisign_pubkey *pk, const struct minisign_sig *sig)
{
	char want[17], got[17];
	if (memcmp(pk->keyid, sig->keyid, MINISIGN_KEYID_LEN) == 0)
		return 0;
	minisign_keyid_hex(pk->keyid, want);
	minisign_keyid_hex(sig->keyid, got);
	return pw_error(PW_E_SIGNATURE, "signed by key %s, not by key %s", got, want);
}

int minisign_verify_comment(const struct minisign_pubkey *pk, const struct minisign_sig *sig)
{
	int rc = keyid_check(pk, sig);
	if (rc < 0)
		return rc;
	uint8_t gmsg[64 + MINISIGN_COMMENT_MAX];
	size_t tlen = strlen(sig->trusted_comment);
	memcpy(gmsg, sig->sig, 64);
	memcpy(gmsg + 64, sig->trusted_comment, tlen);
	if ((rc = pw_ed25519_verify(pk->pk, gmsg, 64 + tlen, sig->global_sig)) != 0)
		return rc < 0 ? rc
		              : pw_error(PW_E_SIGNATURE, "the trusted comment's signature is not "
		                                         "valid (the comment was altered)");
	return 0;
}

int minisign_verify(const struct minisign_pubkey *pk, const struct minisign_sig *sig,
                    const uint8_t *msg, size_t n)
{
	int rc = keyid_check(pk, sig);
	if (rc < 0)
		return rc;
	uint8_t h[PW_BLAKE2B512_LEN];
	if (sig->prehashed) {
		if ((rc = pw_blake2b512(msg, n, h)) < 0)
			return rc;
		msg = h;
		n = sizeof h;
	}
	if ((rc = pw_ed25519_verify(pk->pk, msg, n, sig->sig)) != 0)
		return rc < 0 ? rc
		              : pw_error(PW_E_SIGNATURE, "the signature does not match the file");
	return minisign_verify_comment(pk, sig);
}
