/*
 * fuzz_minisign.c - libFuzzer target for the minisign parsers (crypto/minisign.c).
 *
 * The input is parsed as a .minisig file, a public key file, a bare "RW..." key and a
 * pgward secret key file. Each must succeed or fail with its documented code, never crash
 * or read out of bounds. A parsed signature is checked against a fixed key and the input
 * itself as message: it must be refused (the fuzzer cannot forge Ed25519), and re-parsing
 * the accepted text gives the same fields.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/minisign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct minisign_sig sig, again;
	int rc = minisign_sig_parse(text, size, &sig);
	if (rc != 0 && rc != -PW_E_SIGNATURE) {
		fprintf(stderr, "sig parse: unexpected %d\n", rc);
		abort();
	}
	if (rc == 0) {
		if (strlen(sig.trusted_comment) > MINISIGN_COMMENT_MAX)
			abort();
		if (minisign_sig_parse(text, size, &again) != 0 ||
		    memcmp(&sig, &again, sizeof sig) != 0)
			abort();
		struct minisign_pubkey pk;
		memset(&pk, 0x42, sizeof pk);
		memcpy(pk.keyid, sig.keyid, sizeof pk.keyid);
		if (minisign_verify(&pk, &sig, data, size) == 0) {
			fprintf(stderr, "a fuzzed signature verified under a fixed key\n");
			abort();
		}
	}
	struct minisign_pubkey pk;
	rc = minisign_pubkey_parse(text, size, &pk);
	if (rc != 0 && rc != -PW_E_KEY && rc != -PW_E_LIMIT)
		abort();
	rc = minisign_pubkey_parse_b64(text, size, &pk);
	if (rc != 0 && rc != -PW_E_KEY)
		abort();
	struct minisign_seckey sk;
	rc = minisign_seckey_parse(text, size, &sk);
	if (rc != 0 && rc != -PW_E_KEY && rc != -PW_E_LIMIT && rc != -PW_E_CRYPTO)
		abort();
	minisign_seckey_wipe(&sk);
	pw_error_clear();
	return 0;
}
