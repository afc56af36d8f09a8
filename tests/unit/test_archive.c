/*
 * test_archive.c - the pg_dump custom-format parser (src/pg/archive.c).
 *
 * Real archives: the archives in tests/data/pgdump were made once by pg_dump 15 (the
 * test harness's server) and are parsed whole, one byte at a time and in
 * random pieces; each result must equal the .expected file next to it, whose
 * counts came from PostgreSQL itself, not from pgward: rows and bytes from
 * "COPY ... TO STDOUT", TOC order and dump ids from "pg_restore -l". Recipe
 * (tests/harness/lib.sh, pg_start, then in a database "arch"):
 *
 *   create schema alpha; create schema "Beta Schema";
 *   create table alpha.plain (id int primary key, name text);       -- 60 rows
 *   create table "Beta Schema"."Weird ""Table""" (id int, t text, b bytea);
 *     -- 7 rows with newlines, tabs, backslashes, \N-lookalikes, CR, non-ASCII, NULLs
 *   create table alpha.empty (id int);
 *   create table alpha.parted (id int, v text) partition by range (id);
 *     -- partitions parted_lo (100 rows) and parted_hi (50 rows)
 *   create sequence alpha.seq; create materialized view alpha.mv as ...;
 *   select lo_from_bytea(0, 'large object one'); -- and one of 2000 bytes
 *   create table alpha.nocols ();                  -- 3 rows: empty lines
 *   create table "Beta Schema"."tãble ☃" (id bigint, doc jsonb, arr int[]);
 *   create table "Beta Schema".nulls (a int, b text, c timestamptz);
 *   pg_dump -Fc -Z0 arch | cat > pg15_pipe.dump       (not seekable: offsets not set)
 *   pg_dump -Fc -Z0 -f pg15_file.dump arch            (seekable: offsets set)
 *   pg_dump -Fc -Z0 -s arch | cat > pg15_schema.dump  (no data blocks)
 *   pg_dump -Fc -Z1 arch | cat > pg15_z1.dump         (compressed: refused)
 *
 * Other versions: only pg_dump 15 (archive 1.14) is installed here. The 1.15
 * (pg_dump 16: compression algorithm byte in the header) and 1.16 (pg_dump 17:
 * relkind integer in each TOC entry, BLOB METADATA entries, several BLOBS
 * entries) layouts were checked against pg_dump's source (WriteHead/ReadHead,
 * WriteToc/ReadToc in pg_backup_archiver.c, the block functions in
 * pg_backup_custom.c) and are exercised here with archives built by a small
 * writer that follows that layout (synthetic archives below).
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "pg/archive.h"

/* The code of a malformed archive, learned from garbage (so it lives in archive.c only). */
static int archive_err;

/* ---- feeding ---- */

enum mode { WHOLE, BYTES, RANDOM };

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* Feed d in pieces; the summary: info, tables, blobs, and the error if any. */
static int parse(const uint8_t *d, size_t n, enum mode mode, uint32_t seed, struct pw_buf *out)
{
	struct pgdump_parser *p = pgdump_parser_new();
	int rc = 0;
	size_t off = 0;
	while (rc == 0 && off < n) {
		size_t take = n - off;
		if (mode == BYTES)
			take = 1;
		else if (mode == RANDOM) {
			uint32_t r = rnd(&seed);
			take = r % 4 == 0 ? r % (n - off + 1) : (r >> 4) % 17; /* some empty */
			if (take > n - off)
				take = n - off;
		}
		rc = pgdump_parser_update(p, d + off, take);
		off += take;
	}
	if (rc == 0)
		rc = pgdump_parser_final(p);
	const struct pgdump_info *in = pgdump_parser_info(p);
	pw_buf_reset(out);
	assert_int_equal(pw_buf_printf(out,
	                               "version\t%d.%d.%d\nsizes\t%d\t%d\ncompression\t%d\n"
	                               "dbname\t%s\nserver_version\t%s\npgdump_version\t%s\n"
	                               "toc_count\t%d\n",
	                               in->vmaj, in->vmin, in->vrev, in->int_size, in->off_size,
	                               in->compression, in->dbname, in->server_version,
	                               in->pgdump_version, in->toc_count),
	                 0);
	for (size_t i = 0; i < pgdump_parser_ntables(p); i++) {
		const struct pgdump_table *t = pgdump_parser_table(p, i);
		assert_int_equal(pw_buf_printf(out, "table\t%d\t%s\t%s\t%llu\t%llu\n", t->dump_id,
		                               t->schema, t->name, (unsigned long long)t->rows,
		                               (unsigned long long)t->bytes),
		                 0);
	}
	assert_null(pgdump_parser_table(p, pgdump_parser_ntables(p)));
	assert_int_equal(
	    pw_buf_printf(out, "blobs\t%llu\n", (unsigned long long)pgdump_parser_blobs(p)), 0);
	if (rc != 0) {
		/* a failure is recorded, with a hint, and repeated by later calls */
		assert_int_equal(pw_error_code(), -rc);
		assert_true(pw_error_message()[0] != '\0');
		assert_true(pw_error_hint_text()[0] != '\0');
		assert_int_equal(pw_buf_printf(out, "error\t%s\n", pw_error_message()), 0);
		pw_error_clear();
		assert_int_equal(pgdump_parser_update(p, (const uint8_t *)"x", 1), rc);
		assert_int_equal(pgdump_parser_final(p), rc);
		assert_int_equal(pw_error_code(), -rc);
	}
	pgdump_parser_free(p);
	return rc;
}

static uint8_t *slurp(const char *rel, size_t *n)
{
	char path[512];
	FILE *f = fopen(pw_test_data(rel, path, sizeof path), "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	uint8_t *d = NULL;
	size_t len = 0, cap = 0, r;
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			d = realloc(d, cap + 1);
			assert_non_null(d);
		}
		r = fread(d + len, 1, cap - len, f);
		len += r;
	} while (r > 0);
	fclose(f);
	d[len] = 0;
	*n = len;
	return d;
}

/* The .expected file without its comment lines. */
static char *expected(const char *rel)
{
	size_t n;
	char *raw = (char *)slurp(rel, &n);
	char *out = malloc(n + 1), *o = out;
	assert_non_null(out);
	for (char *line = raw; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (line[0] != '#') {
			memcpy(o, line, len);
			o += len;
		}
		line += len;
	}
	*o = 0;
	free(raw);
	return out;
}

static void check_real(const char *name)
{
	char rel[128];
	size_t n;
	snprintf(rel, sizeof rel, "pgdump/%s.dump", name);
	uint8_t *d = slurp(rel, &n);
	snprintf(rel, sizeof rel, "pgdump/%s.expected", name);
	char *want = expected(rel);
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	int rc = parse(d, n, WHOLE, 0, &sum);
	assert_string_equal(pw_buf_str(&sum), want);
	assert_int_equal(parse(d, n, BYTES, 0, &sum), rc);
	assert_string_equal(pw_buf_str(&sum), want);
	for (uint32_t seed = 1; seed <= 40; seed++) {
		assert_int_equal(parse(d, n, RANDOM, seed, &sum), rc);
		assert_string_equal(pw_buf_str(&sum), want);
	}
	pw_buf_free(&sum, 0);
	free(want);
	free(d);
}

static int group_setup(void **state)
{
	pw_test_group_setup(state);
	struct pgdump_parser *p = pgdump_parser_new();
	int rc = pgdump_parser_update(p, (const uint8_t *)"PGDMX", 5);
	pgdump_parser_free(p);
	archive_err = -rc;
	return archive_err > 0 && archive_err != PW_E_INTERNAL && archive_err != PW_E_LIMIT ? 0
	                                                                                    : -1;
}

/* ---- real archives from pg_dump 15 ---- */

static void test_pg15_pipe(void **state)
{
	(void)state;
	check_real("pg15_pipe");
}

static void test_pg15_file(void **state)
{
	(void)state;
	check_real("pg15_file");
}

static void test_pg15_schema_only(void **state)
{
	(void)state;
	check_real("pg15_schema");
}

static void test_pg15_compressed(void **state)
{
	(void)state;
	check_real("pg15_z1");
	size_t n;
	uint8_t *d = slurp("pgdump/pg15_z1.dump", &n);
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	assert_int_equal(parse(d, n, WHOLE, 0, &sum), -archive_err);
	assert_non_null(strstr(pw_buf_str(&sum), "-Z0"));
	pw_buf_free(&sum, 0);
	free(d);
}

/* Every proper prefix of a complete archive is reported as truncated, never accepted. */
static void check_prefixes(const char *rel)
{
	size_t n;
	uint8_t *d = slurp(rel, &n);
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	assert_int_equal(parse(d, n, WHOLE, 0, &sum), 0);
	for (size_t len = 0; len < n; len++) {
		int rc = parse(d, len, WHOLE, 0, &sum);
		if (rc != -archive_err || !strstr(pw_buf_str(&sum), "error\tpg_dump archive is "
		                                                    "truncated: "))
			fail_msg("prefix of %zu bytes of %s: rc %d, %s", len, rel, rc,
			         pw_buf_str(&sum));
	}
	pw_buf_free(&sum, 0);
	free(d);
}

static void test_truncated(void **state)
{
	(void)state;
	check_prefixes("pgdump/pg15_schema.dump");
	check_prefixes("pgdump/pg15_pipe.dump");
	check_prefixes("pgdump/pg15_file.dump");
}

/* Flipping bytes of a real archive never crashes; errors are recorded (see parse()). */
static void test_damaged(void **state)
{
	(void)state;
	size_t n;
	uint8_t *d = slurp("pgdump/pg15_pipe.dump", &n);
	struct pw_buf sum = PW_BUF_INIT(1 << 20), sum2 = PW_BUF_INIT(1 << 20);
	uint32_t seed = 7;
	for (int i = 0; i < 3000; i++) {
		size_t at = rnd(&seed) % n;
		uint8_t old = d[at];
		d[at] = (uint8_t)rnd(&seed);
		int rc = parse(d, n, WHOLE, 0, &sum);
		assert_int_equal(parse(d, n, RANDOM, seed, &sum2), rc);
		assert_string_equal(pw_buf_str(&sum), pw_buf_str(&sum2));
		d[at] = old;
	}
	pw_buf_free(&sum, 0);
	pw_buf_free(&sum2, 0);
	free(d);
}

static void test_garbage(void **state)
{
	(void)state;
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	static const char *const inputs[] = {
	    "--\n-- PostgreSQL database dump\n--\n",
	    "PGDMX",
	    "\x1f\x8b\x08\x00",
	    "pgdmp",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		assert_int_equal(
		    parse((const uint8_t *)inputs[i], strlen(inputs[i]), BYTES, 0, &sum),
		    -archive_err);
		assert_non_null(strstr(pw_buf_str(&sum), "not a pg_dump custom-format archive"));
	}
	uint8_t junk[4096];
	uint32_t seed = 99;
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)rnd(&seed);
	assert_int_equal(parse(junk, sizeof junk, RANDOM, 3, &sum), -archive_err);
	/* empty, and a bare signature */
	assert_int_equal(parse(junk, 0, WHOLE, 0, &sum), -archive_err);
	assert_non_null(strstr(pw_buf_str(&sum), "truncated: it is empty"));
	assert_int_equal(parse((const uint8_t *)"PGDMP", 5, WHOLE, 0, &sum), -archive_err);
	assert_non_null(strstr(pw_buf_str(&sum), "truncated: it ends in the header"));
	pw_buf_free(&sum, 0);
	pgdump_parser_free(NULL);
}

/* ---- synthetic archives (the layout of pg_dump 12-17) ---- */

struct w {
	struct pw_buf b;
	int vmin;
	int int_size;
};

static void w_bytes(struct w *w, const void *p, size_t n)
{
	assert_int_equal(pw_buf_append(&w->b, p, n), 0);
}

static void w_byte(struct w *w, int c)
{
	uint8_t b = (uint8_t)c;
	w_bytes(w, &b, 1);
}

static void w_int(struct w *w, long long v)
{
	unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	w_byte(w, v < 0);
	for (int i = 0; i < w->int_size; i++, m >>= 8)
		w_byte(w, (int)(m & 0xff));
}

static void w_str(struct w *w, const char *s)
{
	if (!s) {
		w_int(w, -1);
		return;
	}
	w_int(w, (long long)strlen(s));
	w_bytes(w, s, strlen(s));
}

/* A header of version 1.vmin; comp: the level (1.14) or algorithm byte (1.15+). */
static void w_header(struct w *w, int vmaj, int vmin, int comp)
{
	w->b = PW_BUF_INIT(64 << 20);
	w->vmin = vmin;
	w->int_size = 4;
	w_bytes(w, "PGDMP", 5);
	w_byte(w, vmaj);
	w_byte(w, vmin);
	w_byte(w, 0);
	w_byte(w, 4); /* int size */
	w_byte(w, 8); /* offset size */
	w_byte(w, 1); /* custom */
	if (vmin >= 15)
		w_byte(w, comp);
	else
		w_int(w, comp);
	for (int i = 0; i < 7; i++)
		w_int(w, i);
	w_str(w, "db");
	w_str(w, "17.2");
	w_str(w, "17.2");
}

struct entry {
	int id;
	const char *tag;
	const char *desc;
	const char *ns;
	int state; /* 1 not set, 2 set, 3 no data */
	long long pos;
	const char *defn;
};

static void w_entry(struct w *w, const struct entry *e)
{
	w_int(w, e->id);
	w_int(w, e->state != 3);
	w_str(w, "1259");
	w_str(w, "16384");
	w_str(w, e->tag);
	w_str(w, e->desc);
	w_int(w, 3); /* section */
	w_str(w, e->defn ? e->defn : "");
	w_str(w, "");
	w_str(w, e->state != 3 ? "COPY x FROM stdin;\n" : "");
	w_str(w, e->ns);
	w_str(w, "");
	w_str(w, "heap");
	if (w->vmin >= 16)
		w_int(w, 'r');
	w_str(w, "owner");
	w_str(w, "false");
	w_str(w, "1");
	w_str(w, "2");
	w_str(w, NULL);
	w_byte(w, e->state);
	unsigned long long pos = (unsigned long long)e->pos;
	for (int i = 0; i < 8; i++, pos >>= 8)
		w_byte(w, (int)(pos & 0xff));
}

static void w_chunk(struct w *w, const char *s)
{
	w_int(w, (long long)strlen(s));
	w_bytes(w, s, strlen(s));
}

/* Parse whole, byte by byte and in random pieces (all must agree); summary in *sum. */
static int run(struct w *w, struct pw_buf *sum)
{
	struct pw_buf other = PW_BUF_INIT(1 << 20);
	const uint8_t *d = w->b.data;
	size_t n = w->b.len;
	int rc = parse(d, n, WHOLE, 0, sum);
	assert_int_equal(parse(d, n, BYTES, 0, &other), rc);
	assert_string_equal(pw_buf_str(sum), pw_buf_str(&other));
	for (uint32_t seed = 1; seed < 6; seed++) {
		assert_int_equal(parse(d, n, RANDOM, seed, &other), rc);
		assert_string_equal(pw_buf_str(sum), pw_buf_str(&other));
	}
	pw_buf_free(&other, 0);
	return rc;
}

#define HAS(sum, s) assert_non_null(strstr(pw_buf_str(sum), s))

static void test_version_1_15_and_1_16(void **state)
{
	(void)state;
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	for (int vmin = 14; vmin <= 16; vmin++) {
		struct w w;
		w_header(&w, 1, vmin, 0);
		w_int(&w, vmin >= 16 ? 6 : 4);
		w_entry(&w, &(struct entry){1, "ENCODING", "ENCODING", NULL, 3, 0, "SET x;"});
		w_entry(&w, &(struct entry){5, "t", "TABLE DATA", "s", 1, 0, NULL});
		w_entry(&w, &(struct entry){6, "u", "TABLE DATA", "s", 1, 0, NULL});
		if (vmin >= 16) { /* pg_dump 17: metadata entries and several BLOBS entries */
			w_entry(&w, &(struct entry){7, "16385..16386", "BLOB METADATA", NULL, 3, 0,
			                            "SELECT pg_catalog.lo_create('16385');"});
			w_entry(&w, &(struct entry){8, "BLOBS", "BLOBS", NULL, 1, 0, NULL});
			w_entry(&w, &(struct entry){9, "BLOBS", "BLOBS", NULL, 1, 0, NULL});
		} else {
			w_entry(&w, &(struct entry){8, "BLOBS", "BLOBS", NULL, 1, 0, NULL});
		}
		/* blocks: any order */
		w_byte(&w, 1);
		w_int(&w, 6);
		w_chunk(&w, "1\tone\n");
		w_chunk(&w, "2\ttwo\n");
		w_chunk(&w, "\\.\n\n\n");
		w_int(&w, 0);
		w_byte(&w, 1);
		w_int(&w, 5);
		w_chunk(&w, "x\n");
		w_chunk(&w, "\\.\n\n\n");
		w_int(&w, 0);
		w_byte(&w, 3);
		w_int(&w, 8);
		w_int(&w, 16385);
		w_chunk(&w, "lo data");
		w_chunk(&w, "more");
		w_int(&w, 0);
		w_int(&w, -5); /* an OID above 2^31, as pg_dump writes it */
		w_int(&w, 0);
		w_int(&w, 0);
		if (vmin >= 16) {
			w_byte(&w, 3);
			w_int(&w, 9);
			w_int(&w, 16386);
			w_int(&w, 0);
			w_int(&w, 0);
		}
		assert_int_equal(run(&w, &sum), 0);
		char v[32];
		snprintf(v, sizeof v, "version\t1.%d.0\n", vmin);
		HAS(&sum, v);
		HAS(&sum, "dbname\tdb\n");
		HAS(&sum, "table\t5\ts\tt\t1\t2\ntable\t6\ts\tu\t2\t12\n");
		HAS(&sum, vmin >= 16 ? "blobs\t3\n" : "blobs\t2\n");
		pw_buf_free(&w.b, 0);
	}
	pw_buf_free(&sum, 0);
}

static void test_versions_refused(void **state)
{
	(void)state;
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	static const int bad[][2] = {{1, 13}, {1, 17}, {2, 14}, {0, 0}, {1, 12}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct w w;
		w_header(&w, bad[i][0], bad[i][1], 0);
		assert_int_equal(run(&w, &sum), -archive_err);
		HAS(&sum, "unsupported pg_dump archive version");
		pw_buf_free(&w.b, 0);
	}
	/* compression: the level (1.14) or the algorithm byte (1.15 on) */
	static const struct {
		int vmin, comp;
		const char *msg;
	} comp[] = {
	    {14, -1, "compressed data blocks (gzip): pgward needs an archive made with -Z0"},
	    {14, 9, "compressed data blocks (gzip level 9)"},
	    {14, 10, "malformed pg_dump archive: compression level 10"},
	    {15, 1, "compressed data blocks (gzip)"},
	    {15, 2, "compressed data blocks (lz4)"},
	    {16, 3, "compressed data blocks (zstd)"},
	    {16, 4, "malformed pg_dump archive: unknown compression algorithm 4"},
	};
	for (size_t i = 0; i < sizeof comp / sizeof comp[0]; i++) {
		struct w w;
		w_header(&w, 1, comp[i].vmin, comp[i].comp);
		assert_int_equal(run(&w, &sum), -archive_err);
		HAS(&sum, comp[i].msg);
		char c[32];
		snprintf(c, sizeof c, "compression\t%d\n", comp[i].comp);
		HAS(&sum, c);
		pw_buf_free(&w.b, 0);
	}
	/* not the custom format (the directory format's toc.dat has the same header) */
	struct w w;
	w_header(&w, 1, 14, 0);
	w.b.data[10] = 5;
	assert_int_equal(run(&w, &sum), -archive_err);
	HAS(&sum, "not in the custom format (format 5)");
	w.b.data[10] = 1;
	w.b.data[8] = 3; /* int size */
	assert_int_equal(run(&w, &sum), -archive_err);
	HAS(&sum, "malformed pg_dump archive: integer size 3 at offset 8");
	pw_buf_free(&w.b, 0);
	pw_buf_free(&sum, 0);
}

/* A one-table archive (dump id 5) with blocks left to the caller. */
static void one_table(struct w *w, int vmin, int state, long long pos)
{
	w_header(w, 1, vmin, 0);
	w_int(w, 2);
	w_entry(w, &(struct entry){5, "t", "TABLE DATA", "s", state, pos, NULL});
	w_entry(w, &(struct entry){8, "BLOBS", "BLOBS", NULL, 1, 0, NULL});
}

static void blobs_block(struct w *w)
{
	w_byte(w, 3);
	w_int(w, 8);
	w_int(w, 0);
}

/* The COPY end-of-data marker is not counted, however the data is chunked. */
static void test_copy_marker(void **state)
{
	(void)state;
	static const struct {
		const char *chunks[6];
		const char *want;
	} cases[] = {
	    {{"a\n", "\\", ".", "\n", "\n", "\n"}, "\t1\t2\n"},
	    {{"a\n\\.\n\n\n"}, "\t1\t2\n"},
	    {{"a\nb"}, "\t2\t3\n"},           /* no newline at the end: still a row */
	    {{"a\nb\n"}, "\t2\t4\n"},         /* no marker (pg_dump always writes one) */
	    {{"\n\n", "\\.\n"}, "\t2\t2\n"},  /* a table without columns: empty rows */
	    {{"\\.\n\n\n"}, "\t0\t0\n"},      /* an empty table */
	    {{"x\\.\n\n\n"}, "\t3\t6\n"},     /* "x\." is no marker */
	    {{"x\n\\.y\n"}, "\t2\t6\n"},      /* neither is "\.y" */
	    {{"x\n\\", ".\n\n"}, "\t1\t2\n"}, /* two newlines after it */
	    {{"", ""}, "\t0\t0\n"},
	};
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct w w;
		one_table(&w, 14, 1, 0);
		w_byte(&w, 1);
		w_int(&w, 5);
		for (size_t c = 0; c < 6 && cases[i].chunks[c]; c++)
			if (cases[i].chunks[c][0])
				w_chunk(&w, cases[i].chunks[c]);
		w_int(&w, 0);
		blobs_block(&w);
		assert_int_equal(run(&w, &sum), 0);
		char want[64];
		snprintf(want, sizeof want, "table\t5\ts\tt%s", cases[i].want);
		if (!strstr(pw_buf_str(&sum), want))
			fail_msg("case %zu: want \"%s\" in:\n%s", i, want, pw_buf_str(&sum));
		pw_buf_free(&w.b, 0);
	}
	pw_buf_free(&sum, 0);
}

enum damage {
	D_UNKNOWN_ID,
	D_SECOND_BLOCK,
	D_BLOCK_TYPE_2,
	D_BLOBS_FOR_TABLE,
	D_DATA_FOR_BLOBS,
	D_MISSING_BLOCK,
	D_TRAILING,
	D_NEGATIVE_CHUNK,
	D_SIGN_BYTE,
	D_DUP_TOC_ID,
	D_OFFSET_FLAG,
	D_DUMP_ID_ZERO,
	D_STRING_LEN,
	D_POS_MISMATCH,
	D_POS_MATCH,
	D_WITH_OIDS_NULL,
	D_NEG_TOC_COUNT,
	D_ZERO_OID_OK,
	D_COUNT
};

static void test_malformed(void **state)
{
	(void)state;
	static const char *const want[D_COUNT] = {
	    [D_UNKNOWN_ID] = "data block for dump id 6, which has no data in the table of contents",
	    [D_SECOND_BLOCK] = "second data block for dump id 5",
	    [D_BLOCK_TYPE_2] = "data block type 2",
	    [D_BLOBS_FOR_TABLE] = "data block of type 3 for dump id 5",
	    [D_DATA_FOR_BLOBS] = "data block of type 1 for dump id 8",
	    [D_MISSING_BLOCK] = "truncated: no data block for the large objects (dump id 8)",
	    [D_TRAILING] = "data block type 120",
	    [D_NEGATIVE_CHUNK] = "data chunk length -3",
	    [D_SIGN_BYTE] = "integer sign byte 2",
	    [D_DUP_TOC_ID] = "dump id 5 appears twice in the table of contents",
	    [D_OFFSET_FLAG] = "data offset flag 4",
	    [D_DUMP_ID_ZERO] = "TOC entry dump id 0",
	    [D_STRING_LEN] = "string length -2",
	    [D_POS_MISMATCH] = "but the table of contents says 1234",
	    [D_POS_MATCH] = NULL,
	    [D_WITH_OIDS_NULL] = "NULL WITH OIDS flag in TOC entry 5",
	    [D_NEG_TOC_COUNT] = "TOC entry count -1",
	    [D_ZERO_OID_OK] = NULL,
	};
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	for (int k = 0; k < D_COUNT; k++) {
		struct w w;
		size_t at;
		long long pos = 0;
		switch (k) {
		case D_DUP_TOC_ID:
			w_header(&w, 1, 15, 0);
			w_int(&w, 2);
			w_entry(&w, &(struct entry){5, "t", "TABLE DATA", "s", 1, 0, NULL});
			w_entry(&w, &(struct entry){5, "u", "TABLE DATA", "s", 1, 0, NULL});
			break;
		case D_OFFSET_FLAG:
			one_table(&w, 16, 4, 0);
			break;
		case D_DUMP_ID_ZERO:
			w_header(&w, 1, 16, 0);
			w_int(&w, 1);
			w_entry(&w, &(struct entry){0, "t", "TABLE DATA", "s", 1, 0, NULL});
			break;
		case D_STRING_LEN:
			w_header(&w, 1, 14, 0);
			w_int(&w, 1);
			w_int(&w, 5);
			w_int(&w, 0);
			w_int(&w, -2);
			break;
		case D_WITH_OIDS_NULL:
			w_header(&w, 1, 14, 0);
			w_int(&w, 1);
			w_entry(&w, &(struct entry){5, "t", "TABLE DATA", "s", 1, 0, NULL});
			/* rewrite the entry's "false" (4 + 5 bytes + "false") as NULL */
			at = w.b.len - 9 - 5 - 2 * 6 - 5;
			assert_memory_equal(w.b.data + at, "false", 5);
			w.b.data[at - 5] = 1;
			w.b.data[at - 4] = 1;
			memmove(w.b.data + at, w.b.data + at + 5, w.b.len - at - 5);
			w.b.len -= 5;
			break;
		case D_NEG_TOC_COUNT:
			w_header(&w, 1, 14, 0);
			w_int(&w, -1);
			break;
		case D_POS_MISMATCH:
		case D_POS_MATCH:
			/* the table's block comes first, right after the TOC */
			one_table(&w, 14, 2, 0);
			pos = (long long)w.b.len;
			pw_buf_free(&w.b, 0);
			one_table(&w, 14, 2, k == D_POS_MATCH ? pos : 1234);
			break;
		default:
			one_table(&w, 14, 1, 0);
			break;
		}
		switch (k) {
		case D_UNKNOWN_ID:
			w_byte(&w, 1);
			w_int(&w, 6);
			break;
		case D_SECOND_BLOCK:
		case D_POS_MISMATCH:
		case D_POS_MATCH:
		case D_MISSING_BLOCK:
		case D_TRAILING:
		case D_ZERO_OID_OK:
			w_byte(&w, 1);
			w_int(&w, 5);
			w_chunk(&w, "row\n");
			w_int(&w, 0);
			if (k == D_SECOND_BLOCK) {
				w_byte(&w, 1);
				w_int(&w, 5);
			}
			if (k == D_MISSING_BLOCK)
				break;
			blobs_block(&w);
			if (k == D_TRAILING)
				w_bytes(&w, "xyz", 3);
			break;
		case D_BLOCK_TYPE_2:
			w_byte(&w, 2);
			w_int(&w, 5);
			break;
		case D_BLOBS_FOR_TABLE:
			w_byte(&w, 3);
			w_int(&w, 5);
			break;
		case D_DATA_FOR_BLOBS:
			w_byte(&w, 1);
			w_int(&w, 8);
			break;
		case D_NEGATIVE_CHUNK:
			w_byte(&w, 1);
			w_int(&w, 5);
			w_int(&w, -3);
			break;
		case D_SIGN_BYTE:
			w_byte(&w, 1);
			w_byte(&w, 2);
			w_bytes(&w, "\5\0\0\0", 4);
			break;
		default:
			break;
		}
		int rc = run(&w, &sum);
		if (!want[k]) {
			assert_int_equal(rc, 0);
			HAS(&sum, "table\t5\ts\tt\t1\t4\n");
		} else {
			assert_int_equal(rc, -archive_err);
			if (!strstr(pw_buf_str(&sum), want[k]))
				fail_msg("case %d: want \"%s\" in:\n%s", k, want[k],
				         pw_buf_str(&sum));
		}
		pw_buf_free(&w.b, 0);
	}
	pw_buf_free(&sum, 0);
}

static void test_limits(void **state)
{
	(void)state;
	struct pw_buf sum = PW_BUF_INIT(1 << 20);
	struct w w;
	w_header(&w, 1, 14, 0);
	w_int(&w, 10000001);
	assert_int_equal(run(&w, &sum), -PW_E_LIMIT);
	HAS(&sum, "10000001 TOC entries, more than 10000000");
	pw_buf_free(&w.b, 0);

	/* a name over 64 KiB: refused for a TABLE DATA entry, ignored for others; a large
	 * definition is skipped, not kept */
	char *big = malloc((64 << 10) + 2);
	assert_non_null(big);
	memset(big, 'n', (64 << 10) + 1);
	big[(64 << 10) + 1] = 0;
	char *defn = malloc((2 << 20) + 1);
	assert_non_null(defn);
	memset(defn, 'd', 2 << 20);
	defn[2 << 20] = 0;
	w_header(&w, 1, 14, 0);
	w_int(&w, 2);
	w_entry(&w, &(struct entry){4, big, "FUNCTION", "s", 3, 0, defn});
	w_entry(&w, &(struct entry){5, big, "TABLE DATA", "s", 1, 0, NULL});
	assert_int_equal(parse(w.b.data, w.b.len, WHOLE, 0, &sum), -PW_E_LIMIT);
	HAS(&sum, "a name of TOC entry 5 is longer than 65536 bytes");
	pw_buf_free(&w.b, 0);
	w_header(&w, 1, 14, 0);
	w_int(&w, 2);
	w_entry(&w, &(struct entry){4, big, "FUNCTION", "s", 3, 0, defn});
	w_entry(&w,
	        &(struct entry){5, big + 1, "TABLE DATA", big + 1, 1, 0, NULL}); /* at the cap */
	w_byte(&w, 1);
	w_int(&w, 5);
	w_int(&w, 0);
	assert_int_equal(parse(w.b.data, w.b.len, RANDOM, 5, &sum), 0);
	struct pw_buf want = PW_BUF_INIT(1 << 20);
	assert_int_equal(pw_buf_printf(&want, "table\t5\t%s\t%s\t0\t0\n", big + 1, big + 1), 0);
	HAS(&sum, pw_buf_str(&want));
	pw_buf_free(&want, 0);
	pw_buf_free(&w.b, 0);
	free(defn);
	free(big);
	pw_buf_free(&sum, 0);
}

static void test_api(void **state)
{
	(void)state;
	size_t n;
	uint8_t *d = slurp("pgdump/pg15_schema.dump", &n);
	struct pgdump_parser *p = pgdump_parser_new();
	assert_int_equal(pgdump_parser_update(p, NULL, 0), 0);
	assert_int_equal(pgdump_parser_update(p, d, n), 0);
	assert_int_equal(pgdump_parser_final(p), 0);
	assert_int_equal(pgdump_parser_final(p), 0);
	assert_string_equal(pgdump_parser_info(p)->dbname, "arch");
	/* fed after the end: a caller bug */
	assert_int_equal(pgdump_parser_update(p, d, 1), -PW_E_INTERNAL);
	pgdump_parser_free(p);
	free(d);
}

/* Byte by byte, the position names each table while its data streams, in TOC order, and
 * counts finished tables. */
static void test_position(void **state)
{
	(void)state;
	size_t n, done = 0, last_done = 0, seen = 0;
	uint8_t *d = slurp("pgdump/pg15_pipe.dump", &n);
	struct pgdump_parser *p = pgdump_parser_new();
	const struct pgdump_table *prev = NULL;
	for (size_t i = 0; i < n; i++) {
		if (i == 64)
			assert_false(pgdump_parser_info(p)->toc_done);
		assert_int_equal(pgdump_parser_update(p, d + i, 1), 0);
		const struct pgdump_table *t = pgdump_parser_position(p, &done);
		assert_true(done >= last_done && done <= pgdump_parser_ntables(p));
		last_done = done;
		if (t && t != prev) {
			assert_ptr_equal(t, pgdump_parser_table(p, done));
			seen++;
		}
		prev = t;
	}
	assert_int_equal(pgdump_parser_final(p), 0);
	/* pg_restore -l: 9 TABLE, 1 MATERIALIZED VIEW, 1 SEQUENCE, 1 CONSTRAINT */
	assert_true(pgdump_parser_info(p)->toc_done);
	assert_int_equal(pgdump_parser_info(p)->toc_tables, 9);
	assert_int_equal(pgdump_parser_info(p)->toc_relations, 12);
	assert_null(pgdump_parser_position(p, &done));
	assert_int_equal(done, pgdump_parser_ntables(p));
	assert_true(seen > 0 && seen <= done);
	pgdump_parser_free(p);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_position),
	    cmocka_unit_test(test_pg15_pipe),
	    cmocka_unit_test(test_pg15_file),
	    cmocka_unit_test(test_pg15_schema_only),
	    cmocka_unit_test(test_pg15_compressed),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_damaged),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_version_1_15_and_1_16),
	    cmocka_unit_test(test_versions_refused),
	    cmocka_unit_test(test_copy_marker),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_api),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
