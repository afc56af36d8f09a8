/*
 * fuzz_manifest.c - libFuzzer target for the way a backup's manifest is read: the bytes
 * of manifest.json and its .minisig go through repo_trust_check (signature parse and check,
 * trusted comment bound to stanza and id), then the same bytes go through the one
 * validating decoder the catalog uses (manifest_decode), the objects' sizes and SHA-256 are
 * read as restore does (manifest_digest), and a manifest that decodes is encoded again and
 * must decode to the same text (the codec is a fixed point). Input: manifest bytes, a line
 * "--minisig--", then the signature text (or no such line: unsigned). Nothing may crash,
 * leak or read out of bounds; a random signature must never be judged trusted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "repo/manifest.h"
#include "repo/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
    "manifest.json", "data.pgdump.zst.age", "globals.sql.zst.age", "details.json.age", "../x", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n--minisig--\n";
	const uint8_t *m = data, *sig = NULL;
	size_t mn = size, sn = 0;
	for (size_t i = 0; i + sizeof sep - 1 <= size; i++)
		if (memcmp(data + i, sep, sizeof sep - 1) == 0) {
			mn = i;
			sig = data + i + sizeof sep - 1;
			sn = size - i - (sizeof sep - 1);
			break;
		}
	/* one fixed trusted signer: a random signature cannot be by it */
	struct repo_signers signers = {0};
	if (repo_signers_add(&signers, "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3") <
	    0)
		pw_error_clear();
	char *st = malloc(sn + 1);
	if (!st)
		abort();
	if (sn)
		memcpy(st, sig, sn);
	st[sn] = 0;
	struct repo_verdict v;
	repo_trust_check(m, mn, sig ? st : NULL, sn, "shop", "20261206T194401Z-1a2b", &signers, &v);
	if (v.trust == TRUST_SIGNED)
		abort(); /* forged without the secret key */
	if (strlen(v.keyid) > 16 || strlen(v.detail) >= sizeof v.detail)
		abort();
	struct manifest *mf = malloc(sizeof *mf), *back = malloc(sizeof *back);
	if (!mf || !back)
		abort();
	memset(mf, 0, sizeof *mf);
	memset(back, 0, sizeof *back);
	int rc = manifest_decode(m, mn, mf);
	if (rc < 0 && rc != -PW_E_VERIFY && rc != -PW_E_CONFIG)
		abort(); /* damaged or newer, nothing else */
	if (rc == 0) {
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			uint8_t sha[32];
			uint64_t sz = 0;
			if (manifest_digest(mf, names[i], sha, &sz) < 0)
				pw_error_clear();
		}
		struct pw_buf a = PW_BUF_INIT(REPO_MANIFEST_MAX),
		              b = PW_BUF_INIT(REPO_MANIFEST_MAX);
		if (manifest_encode(mf, &a) < 0 || manifest_decode(a.data, a.len, back) < 0 ||
		    manifest_encode(back, &b) < 0 || a.len != b.len ||
		    memcmp(a.data, b.data, a.len))
			abort(); /* what decodes must encode, and encode the same again */
		pw_buf_free(&a, 0);
		pw_buf_free(&b, 0);
	}
	manifest_clear(mf);
	manifest_clear(back);
	free(mf);
	free(back);
	pw_error_clear();
	free(st);
	repo_signers_free(&signers);
	return 0;
}
