/*
 * fuzz_age_header.c - libFuzzer target for the age header parser and the
 * whole streaming decryptor.
 *
 * (a) age_header_parse(); on success the stanzas are re-encoded and must equal
 *     the input up to and including "---" byte for byte (the parser accepts
 *     only canonical headers, so the round trip must be exact).
 * (b) the input goes through age_dec (AGE_ARMOR_AUTO, one fixed X25519
 *     identity) twice: in one piece and in input-dependent pieces. Both runs
 *     must agree on the result and on every plaintext byte released, so the
 *     header, stanza unwrap, MAC, STREAM and armor paths are all exercised.
 *
 * Everything allocated is freed; libFuzzer's leak detection checks it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "crypto/age.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The identity of most C2SP vectors in tests/data/age (x25519 and others). */
#define FUZZ_IDENTITY "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"

static struct age_identity ident;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memset(&ident, 0, sizeof ident);
	ident.kind = AGE_ID_X25519;
	if (age_identity_parse(FUZZ_IDENTITY, &ident.x25519) != 0) {
		fprintf(stderr, "fuzz_age_header: cannot parse the built-in identity: %s\n",
		        pw_error_message());
		abort();
	}
	return 0;
}

/* Plaintext released by the decryptor: length and FNV-1a hash (reads every byte). */
struct sink {
	size_t n;
	uint64_t h;
};

static int sink_emit(void *arg, const uint8_t *p, size_t n)
{
	struct sink *s = arg;
	for (size_t i = 0; i < n; i++)
		s->h = (s->h ^ p[i]) * 0x100000001b3ULL;
	s->n += n;
	return 0;
}

static void header_round_trip(const uint8_t *data, size_t size)
{
	struct age_header h;
	int rc = age_header_parse(data, size, &h);
	if (rc != 0) {
		if (rc != 1 && rc != -PW_E_AGE_HEADER) {
			fprintf(stderr, "age_header_parse: unexpected result %d\n", rc);
			abort();
		}
		return;
	}
	if (h.nstanzas == 0 || h.mac_covered < 3 || h.len > size || h.mac_covered + 45 != h.len) {
		fprintf(stderr,
		        "age_header_parse: inconsistent header (stanzas %zu, covered %zu, "
		        "len %zu, input %zu)\n",
		        h.nstanzas, h.mac_covered, h.len, size);
		abort();
	}
	struct pw_buf out = PW_BUF_INIT(2 * (size_t)AGE_HEADER_MAX);
	if (age_header_encode_stanzas(&h, &out) != 0) {
		fprintf(stderr, "age_header_encode_stanzas failed: %s\n", pw_error_message());
		abort();
	}
	if (out.len != h.mac_covered || memcmp(out.data, data, out.len) != 0) {
		fprintf(stderr, "header round trip differs: parsed %zu bytes, re-encoded %zu\n",
		        h.mac_covered, out.len);
		abort();
	}
	pw_buf_free(&out, 0);
	age_header_free(&h);
}

/* Decrypt data cut at the given points (ncuts ascending offsets); returns the result. */
static int decrypt(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts,
                   struct sink *s)
{
	struct age_dec *d = age_dec_new(&ident, 1, AGE_ARMOR_AUTO, sink_emit, s);
	int rc = 0;
	size_t off = 0;
	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t end = i < ncuts ? cuts[i] : size;
		rc = age_dec_update(d, data + off, end - off);
		off = end;
	}
	if (rc == 0)
		rc = age_dec_final(d);
	age_dec_free(d);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	header_round_trip(data, size);

	/* Cut points from the size and the last byte: a few pieces, some possibly empty. */
	size_t cuts[3];
	uint32_t seed = (uint32_t)size * 2654435761u ^ (size ? data[size - 1] : 0u);
	size_t prev = 0;
	for (size_t i = 0; i < 3; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t room = size - prev;
		/* mostly small steps (header/nonce boundaries), sometimes anywhere */
		size_t step = (seed >> 16) & 1 ? (seed >> 8) % 97 : (seed >> 4) % (room + 1);
		cuts[i] = prev + (step < room ? step : room);
		prev = cuts[i];
	}

	struct sink whole = {0, 0xcbf29ce484222325ULL}, pieces = {0, 0xcbf29ce484222325ULL};
	int rw = decrypt(data, size, NULL, 0, &whole);
	int rp = decrypt(data, size, cuts, 3, &pieces);
	if (rw != rp || whole.n != pieces.n || whole.h != pieces.h) {
		fprintf(stderr,
		        "decryptor differs by input split (cuts %zu %zu %zu): whole rc %d, %zu "
		        "bytes; pieces rc %d, %zu bytes\n",
		        cuts[0], cuts[1], cuts[2], rw, whole.n, rp, pieces.n);
		abort();
	}
	if (rw > 0) {
		fprintf(stderr, "decryptor returned a positive result %d\n", rw);
		abort();
	}
	/* a failure is recorded (with a message) where it happens */
	if (rw < 0 && (pw_error_code() != -rw || pw_error_message()[0] == '\0')) {
		fprintf(stderr, "decryptor returned %d but the error record holds %d (\"%s\")\n",
		        rw, pw_error_code(), pw_error_message());
		abort();
	}
	return 0;
}
