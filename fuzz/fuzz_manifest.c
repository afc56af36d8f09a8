/*
 * fuzz_manifest.c - libFuzzer target for the way a backup's manifest is read: the bytes
 * of manifest.json and its .minisig go through repo_trust_check (signature parse and check,
 * trusted comment bound to stanza and id), then the same bytes are parsed as JSON as the
 * catalog does (duplicate keys refused) and the objects' sizes and SHA-256 are read as
 * restore does (restore_manifest_digest). Input: manifest bytes, a line "--minisig--",
 * then the signature text (or no such line: unsigned). Nothing may crash, leak or read out
 * of bounds; a random signature must never be judged trusted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "jobs/restore.h"
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
	json_error_t je;
	json_t *j = json_loadb((const char *)m, mn, JSON_REJECT_DUPLICATES, &je);
	if (j) {
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			uint8_t sha[32];
			uint64_t sz = 0;
			if (restore_manifest_digest(j, names[i], sha, &sz) < 0)
				pw_error_clear();
		}
		json_decref(j);
	}
	pw_error_clear();
	free(st);
	repo_signers_free(&signers);
	return 0;
}
