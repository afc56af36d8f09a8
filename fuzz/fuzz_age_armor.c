/*
 * fuzz_age_armor.c - libFuzzer target for age's ASCII armor.
 *
 * (a) the input goes through age_armor_dec twice: in one piece and in pieces
 *     whose sizes follow from the first input byte; both runs must agree on
 *     the result and on every byte released.
 * (b) round trip: the input, as binary data, is armored with age_armor_enc
 *     (also fed in pieces), decoded again, and must come back unchanged.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/age.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	uint8_t *p;
	size_t n, cap;
};

static int out_emit(void *arg, const uint8_t *p, size_t n)
{
	struct out *o = arg;
	if (n == 0)
		return 0;
	if (o->cap - o->n < n) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap - o->n < n)
			cap *= 2;
		uint8_t *q = realloc(o->p, cap);
		if (!q)
			abort();
		o->p = q;
		o->cap = cap;
	}
	memcpy(o->p + o->n, p, n);
	o->n += n;
	return 0;
}

/* Piece sizes: a small generator seeded from the first input byte. */
struct splitter {
	uint32_t seed;
	bool whole;
};

static size_t next_piece(struct splitter *s, size_t left)
{
	if (s->whole)
		return left;
	s->seed = s->seed * 1103515245u + 12345u;
	uint32_t r = s->seed >> 8;
	size_t n;
	switch (r & 3) {
	case 0:
		n = 1 + (r >> 2) % 4; /* byte by byte, around CR/LF */
		break;
	case 1:
		n = 1 + (r >> 2) % 80; /* around one line */
		break;
	case 2:
		n = (r >> 2) % 4; /* empty updates too */
		break;
	default:
		n = 1 + (r >> 2) % 8192; /* many lines */
		break;
	}
	return n < left ? n : left;
}

static int armor_decode(const uint8_t *p, size_t n, struct splitter sp, struct out *o)
{
	struct age_armor_dec *a = age_armor_dec_new(out_emit, o);
	int rc;
	size_t off = 0;
	do {
		size_t k = next_piece(&sp, n - off);
		rc = age_armor_dec_update(a, p + off, k);
		off += k;
	} while (rc == 0 && off < n);
	if (rc == 0)
		rc = age_armor_dec_final(a);
	age_armor_dec_free(a);
	return rc;
}

static int armor_encode(const uint8_t *p, size_t n, struct splitter sp, struct out *o)
{
	struct age_armor_enc *a = age_armor_enc_new(out_emit, o);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < n;) {
		size_t k = next_piece(&sp, n - off);
		rc = age_armor_enc_update(a, p + off, k);
		off += k;
	}
	if (rc == 0)
		rc = age_armor_enc_final(a);
	age_armor_enc_free(a);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = size ? data[0] * 2654435761u + 1u : 1u;
	struct splitter whole = {0, true}, pieces = {seed, false};

	/* (a) decode: whole vs pieces */
	struct out ow = {0}, op = {0};
	int rw = armor_decode(data, size, whole, &ow);
	int rp = armor_decode(data, size, pieces, &op);
	if (rw != rp || ow.n != op.n || (ow.n && memcmp(ow.p, op.p, ow.n) != 0)) {
		fprintf(stderr,
		        "armor decoder differs by input split: whole rc %d, %zu bytes; pieces rc "
		        "%d, %zu bytes\n",
		        rw, ow.n, rp, op.n);
		abort();
	}
	if (rw > 0 || (rw < 0 && rw != -PW_E_AGE_ARMOR)) {
		fprintf(stderr, "armor decoder: unexpected result %d\n", rw);
		abort();
	}
	free(ow.p);
	free(op.p);

	/* (b) round trip: armor(data) decodes back to data */
	struct out enc = {0}, dec = {0};
	if (armor_encode(data, size, pieces, &enc) != 0) {
		fprintf(stderr, "armor encoder failed: %s\n", pw_error_message());
		abort();
	}
	struct splitter pieces2 = {seed ^ 0x9e3779b9u, false};
	int rc = armor_decode(enc.p, enc.n, pieces2, &dec);
	if (rc != 0 || dec.n != size || (size && memcmp(dec.p, data, size) != 0)) {
		fprintf(stderr,
		        "armor round trip failed: rc %d (%s), %zu bytes in, %zu armored, %zu "
		        "back\n",
		        rc, rc ? pw_error_message() : "", size, enc.n, dec.n);
		abort();
	}
	free(enc.p);
	free(dec.p);
	return 0;
}
