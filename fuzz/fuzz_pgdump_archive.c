/*
 * fuzz_pgdump_archive.c - libFuzzer target for the pg_dump custom-format parser
 * (src/pg/archive.c).
 *
 * The input is parsed twice: in one piece and in input-dependent pieces (some
 * of them empty). Both runs must agree on the result, the header fields, every
 * table (name, dump id, rows, bytes) and the large-object count. A failure must
 * be recorded with a message; counts must be sane (rows never exceed bytes).
 * Seeds: the real pg_dump archives in tests/data/pgdump.
 *
 * Everything allocated is freed; libFuzzer's leak detection checks it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "pg/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	int rc;
	uint64_t h; /* FNV-1a over everything the parser reports */
	size_t ntables;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ULL;
}

static void mix_str(uint64_t *h, const char *s)
{
	mix(h, s, strlen(s) + 1);
}

static struct result parse(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts)
{
	struct result r = {0, 0xcbf29ce484222325ULL, 0};
	struct pgdump_parser *p = pgdump_parser_new();
	size_t off = 0;
	for (size_t i = 0; i <= ncuts && r.rc == 0; i++) {
		size_t end = i < ncuts ? cuts[i] : size;
		r.rc = pgdump_parser_update(p, data + off, end - off);
		off = end;
	}
	if (r.rc == 0)
		r.rc = pgdump_parser_final(p);
	if (r.rc > 0) {
		fprintf(stderr, "pg_dump archive parser returned a positive result %d\n", r.rc);
		abort();
	}
	if (r.rc < 0 && (pw_error_code() != -r.rc || pw_error_message()[0] == '\0')) {
		fprintf(stderr, "parser returned %d but the error record holds %d (\"%s\")\n", r.rc,
		        pw_error_code(), pw_error_message());
		abort();
	}
	const struct pgdump_info *in = pgdump_parser_info(p);
	int ints[] = {in->vmaj,     in->vmin,        in->vrev,     in->int_size,
	              in->off_size, in->compression, in->toc_count};
	mix(&r.h, ints, sizeof ints);
	mix_str(&r.h, in->dbname);
	mix_str(&r.h, in->server_version);
	mix_str(&r.h, in->pgdump_version);
	r.ntables = pgdump_parser_ntables(p);
	for (size_t i = 0; i < r.ntables; i++) {
		const struct pgdump_table *t = pgdump_parser_table(p, i);
		if (t->rows > t->bytes) {
			fprintf(stderr, "table %d: %llu rows in %llu bytes\n", t->dump_id,
			        (unsigned long long)t->rows, (unsigned long long)t->bytes);
			abort();
		}
		mix_str(&r.h, t->schema);
		mix_str(&r.h, t->name);
		mix(&r.h, &t->dump_id, sizeof t->dump_id);
		mix(&r.h, &t->rows, sizeof t->rows);
		mix(&r.h, &t->bytes, sizeof t->bytes);
	}
	if (pgdump_parser_table(p, r.ntables) != NULL) {
		fprintf(stderr, "pgdump_parser_table past the end is not NULL\n");
		abort();
	}
	uint64_t blobs = pgdump_parser_blobs(p);
	mix(&r.h, &blobs, sizeof blobs);
	pgdump_parser_free(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Cut points from the size and the last byte: mostly small steps (field
	 * boundaries), sometimes anywhere, some pieces empty. */
	size_t cuts[8];
	uint32_t seed = (uint32_t)size * 2654435761u ^ (size ? data[size - 1] : 0u);
	size_t prev = 0;
	for (size_t i = 0; i < 8; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t room = size - prev;
		size_t step = (seed >> 16) & 1 ? (seed >> 8) % 23 : (seed >> 4) % (room + 1);
		cuts[i] = prev + (step < room ? step : room);
		prev = cuts[i];
	}
	struct result whole = parse(data, size, NULL, 0);
	struct result pieces = parse(data, size, cuts, 8);
	if (whole.rc != pieces.rc || whole.h != pieces.h || whole.ntables != pieces.ntables) {
		fprintf(stderr,
		        "parser differs by input split: whole rc %d, %zu tables; pieces rc %d, "
		        "%zu tables\n",
		        whole.rc, whole.ntables, pieces.rc, pieces.ntables);
		abort();
	}
	return 0;
}
