/*
 * archive.c - streaming parser of pg_dump's custom archive format (pg_dump -Fc).
 *
 * The format, as pg_dump 12-17 write it (archive versions 1.14-1.16):
 *
 *   integer  sign byte (0 = positive, 1 = negative), then int_size bytes of the
 *            magnitude, least significant first
 *   string   integer length, then that many bytes; length -1 is NULL
 *   offset   flag byte (1 = not set, 2 = set, 3 = no data), then off_size bytes,
 *            least significant first
 *
 *   header   "PGDMP", version major, minor, revision, int_size, off_size and
 *            format (1 = custom) as bytes; compression: an integer zlib level
 *            (-1 = default, 0 = none) before 1.15, one algorithm byte (0 none,
 *            1 gzip, 2 lz4, 3 zstd) from 1.15 on; seven integers of creation time
 *            (sec min hour mday mon year isdst); strings database name, server
 *            version, pg_dump version
 *   TOC      integer entry count, then per entry: integer dump id (> 0), integer
 *            "had a data dumper", strings catalog tableoid and oid, tag, desc,
 *            integer section, strings defn, drop statement, copy statement,
 *            namespace, tablespace, table access method (1.14), integer relkind
 *            (1.16 only), strings owner and "false" (the old WITH OIDS flag),
 *            dependency dump ids as strings ended by a NULL string, offset of
 *            the entry's data block
 *   data     blocks until the end of the input: block type byte, integer dump
 *            id, then
 *              type 1 (data): chunks (integer length > 0, bytes) ended by a
 *                             zero length
 *              type 3 (large objects): per object an integer OID (non-zero)
 *                             and chunks as above; a zero OID ends the block
 *
 * There is no trailer: the archive ends after the last block. pg_dump writing
 * to a pipe cannot seek back, so the data offsets in the TOC stay "not set";
 * written to a file, it rewrites the TOC with the offsets at the end. Either
 * way, every entry whose offset flag is not "no data" gets exactly one block
 * (pg_dump writes one for each entry that has a data dumper), which is how the
 * end is recognized: the input must stop at a block boundary with every such
 * block seen. A set offset must be the block's position.
 *
 * What the versions added: 1.14 (pg_dump 12-15) the table access method
 * string; 1.15 (pg_dump 16) the compression algorithm byte in place of the
 * level integer; 1.16 (pg_dump 17) the relkind integer after the access method,
 * and large objects as BLOB METADATA entries (no data) plus possibly several
 * BLOBS entries (each with a type 3 block) instead of one. Data blocks did not
 * change. In an uncompressed archive, a chunk is whatever pg_dump passed to
 * WriteData, in practice one COPY line each.
 */
#include "pg/archive.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

/* The error code of a malformed archive; to become PW_E_ARCHIVE. */
#define ARCHIVE_ERR PW_E_ARCHIVE

#define MAX_TOC_ENTRIES 10000000
#define MAX_NAME (64 * 1024)         /* a kept string: tag or namespace of a TABLE DATA entry */
#define MAX_KEPT ((size_t)256 << 20) /* everything kept per TOC entry, together */
#define DESC_KEEP 32                 /* a longer desc is none of those looked for */

#define VERSION(maj, min, rev) (((maj)*256 + (min)) * 256 + (rev))
#define V_1_14 VERSION(1, 14, 0)
#define V_1_15 VERSION(1, 15, 0)
#define V_1_16 VERSION(1, 16, 0)
#define V_1_17 VERSION(1, 17, 0)

enum { OFF_NOT_SET = 1, OFF_SET = 2, OFF_NO_DATA = 3 };
enum { BLK_DATA = 1, BLK_BLOBS = 3 };
enum kind { KIND_OTHER, KIND_TABLE, KIND_BLOBS };

enum step {
	S_MAGIC,
	S_VERSION,
	S_SIZES,
	S_COMP_ALGORITHM,
	S_COMP_LEVEL,
	S_TIME,
	S_DBNAME,
	S_SERVER_VERSION,
	S_PGDUMP_VERSION,
	S_TOC_COUNT,
	S_E_DUMP_ID,
	S_E_HAD_DUMPER,
	S_E_TABLEOID,
	S_E_OID,
	S_E_TAG,
	S_E_DESC,
	S_E_SECTION,
	S_E_DEFN,
	S_E_DROP,
	S_E_COPY,
	S_E_NAMESPACE,
	S_E_TABLESPACE,
	S_E_TABLEAM,
	S_E_RELKIND,
	S_E_OWNER,
	S_E_WITH_OIDS,
	S_E_DEP,
	S_E_OFFSET,
	S_BLOCK_TYPE,
	S_BLOCK_ID,
	S_DATA_LEN,
	S_DATA_BODY,
	S_LO_OID,
	S_LO_LEN,
	S_LO_BODY,
};

/* A TOC entry that declares a data block. */
struct dentry {
	int64_t pos;  /* the block's offset when state is OFF_SET */
	size_t table; /* index in tables when kind is KIND_TABLE */
	int32_t dump_id;
	uint8_t state;
	uint8_t kind;
	bool seen;
};

struct idx {
	int32_t dump_id;
	uint32_t ent;
};

struct table_rec {
	struct pgdump_table pub;
	char *schema;
	char *name;
};

struct pgdump_parser {
	enum step step;
	int failed; /* 0 or the -code of the first failure, replayed after */
	bool finished;
	char errmsg[512];
	char errhint[512];
	uint64_t pos;       /* archive offset of the next input byte */
	uint64_t field_pos; /* archive offset of the field being read */
	int version;
	struct pgdump_info info;

	/* primitive readers */
	uint8_t tok[16];
	size_t tokn;
	int counter;
	bool str_body;
	bool str_null;
	bool str_over;
	uint64_t str_len;
	uint64_t str_left;
	struct pw_buf str;

	/* the TOC entry being read */
	int toc_read;
	int32_t e_dump_id;
	enum kind e_kind;
	bool e_tag_over;
	bool e_ns_over;
	struct pw_buf e_tag;
	struct pw_buf e_ns;

	/* what is kept of the TOC */
	struct dentry *ents;
	size_t nents, capents;
	struct idx *order; /* ents sorted by dump id */
	struct table_rec *tables;
	size_t ntables, captables;
	size_t kept;

	/* data section */
	int block_type;
	uint64_t block_start;
	size_t cur;  /* ents index of the current block */
	size_t hint; /* ents index where the next block is looked for first */
	uint64_t chunk_left;
	uint64_t block_bytes;
	uint64_t trail_nl; /* newlines ending the block's data so far */
	uint32_t hist;     /* the last (up to 4) data bytes before them, the last lowest */
	unsigned hist_len;
	uint64_t blobs;
	size_t tables_done; /* table data blocks read to their end */
	bool in_block;      /* between a data block's header and its end */
};

/* ---- errors ---- */

/* Entries whose restore creates a relation (each holds a lock until a single-transaction
 * restore commits; a constraint may create an index); a table may also get a TOAST table and
 * its index. */
static void count_relation(struct pgdump_parser *p, const char *desc, size_t n)
{
	static const char *const rel[] = {
	    "TABLE",         "INDEX",     "SEQUENCE", "VIEW", "MATERIALIZED VIEW",
	    "FOREIGN TABLE", "CONSTRAINT"};
	for (size_t i = 0; i < sizeof rel / sizeof *rel; i++)
		if (n == strlen(rel[i]) && memcmp(desc, rel[i], n) == 0) {
			p->info.toc_relations++;
			if (i == 0)
				p->info.toc_tables++;
		}
}

static int bad(struct pgdump_parser *p, const char *fmt, ...) PW_PRINTF(2, 3);

static int bad(struct pgdump_parser *p, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	pw_error(ARCHIVE_ERR, "malformed pg_dump archive: %s at offset %" PRIu64, what,
	         p->field_pos);
	return pw_error_hint("The input is not a complete pg_dump custom-format archive, or it "
	                     "was damaged.");
}

static int truncated(const char *fmt, ...) PW_PRINTF(1, 2);

static int truncated(const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	pw_error(ARCHIVE_ERR, "pg_dump archive is truncated: %s", what);
	return pw_error_hint("The archive is incomplete: pg_dump did not finish or the stream "
	                     "was cut short.");
}

/* Remember the failure just recorded, so later calls can report it again. */
static int fail(struct pgdump_parser *p, int rc)
{
	p->failed = rc;
	pw_strlcpy(p->errmsg, pw_error_message(), sizeof p->errmsg);
	pw_strlcpy(p->errhint, pw_error_hint_text(), sizeof p->errhint);
	return rc;
}

static int replay(const struct pgdump_parser *p)
{
	pw_error(-p->failed, "%s", p->errmsg);
	if (p->errhint[0])
		pw_error_hint("%s", p->errhint);
	return p->failed;
}

/* A name from the archive, fit for a message: control characters replaced, length capped. */
static void clean_name(char *out, size_t size, const char *s)
{
	size_t o = 0;
	for (; *s && o + 4 < size; s++)
		out[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* The owner of entry i's data block, for messages. */
static void describe(const struct pgdump_parser *p, size_t i, char *out, size_t size)
{
	const struct dentry *e = &p->ents[i];
	if (e->kind == KIND_TABLE) {
		char s[80], t[80];
		clean_name(s, sizeof s, p->tables[e->table].pub.schema);
		clean_name(t, sizeof t, p->tables[e->table].pub.name);
		snprintf(out, size, "table \"%s.%s\" (dump id %d)", s, t, e->dump_id);
	} else if (e->kind == KIND_BLOBS) {
		snprintf(out, size, "the large objects (dump id %d)", e->dump_id);
	} else {
		snprintf(out, size, "dump id %d", e->dump_id);
	}
}

/* ---- primitive readers ---- */

static void advance(struct pgdump_parser *p, const uint8_t **d, size_t *n, size_t k)
{
	*d += k;
	*n -= k;
	p->pos += k;
}

/* Collect want bytes in p->tok; true once they are all there. */
static bool gather(struct pgdump_parser *p, const uint8_t **d, size_t *n, size_t want)
{
	if (p->tokn == 0)
		p->field_pos = p->pos;
	size_t take = want - p->tokn < *n ? want - p->tokn : *n;
	memcpy(p->tok + p->tokn, *d, take);
	p->tokn += take;
	advance(p, d, n, take);
	return p->tokn == want;
}

static int decode_int(struct pgdump_parser *p, const uint8_t *b, int64_t *v)
{
	if (b[0] > 1)
		return bad(p, "integer sign byte %d", b[0]);
	uint64_t mag = 0;
	for (int i = p->info.int_size; i > 0; i--)
		mag = mag << 8 | b[i];
	if (mag > (uint64_t)INT64_MAX)
		return bad(p, "integer out of range");
	*v = b[0] ? -(int64_t)mag : (int64_t)mag;
	return 1;
}

/* 1: *v is the next integer; 0: more input is needed; < 0: failure. */
static int read_int(struct pgdump_parser *p, const uint8_t **d, size_t *n, int64_t *v)
{
	size_t need = 1 + (size_t)p->info.int_size;
	if (p->tokn == 0 && *n >= need) { /* the common case: all of it in this piece */
		const uint8_t *b = *d;
		p->field_pos = p->pos;
		advance(p, d, n, need);
		return decode_int(p, b, v);
	}
	if (!gather(p, d, n, need))
		return 0;
	p->tokn = 0;
	return decode_int(p, p->tok, v);
}

/*
 * Read a string, keeping its first keep bytes in *into (when into is not NULL);
 * the rest is skipped. 1 once complete (p->str_null, p->str_len and
 * p->str_over describe it), 0 if more input is needed, < 0 on failure.
 */
static int read_str(struct pgdump_parser *p, const uint8_t **d, size_t *n, size_t keep,
                    struct pw_buf *into)
{
	if (!p->str_body) {
		int64_t len;
		int r = read_int(p, d, n, &len);
		if (r <= 0)
			return r;
		if (len < -1 || len > INT32_MAX)
			return bad(p, "string length %" PRId64, len);
		p->str_null = len == -1;
		p->str_len = p->str_left = len < 0 ? 0 : (uint64_t)len;
		p->str_over = false;
		if (into)
			pw_buf_reset(into);
		if (p->str_left == 0)
			return 1;
		p->str_body = true;
		if (*n == 0)
			return 0;
	}
	size_t take = p->str_left < *n ? (size_t)p->str_left : *n;
	if (into) {
		size_t room = keep > into->len ? keep - into->len : 0;
		size_t k = take < room ? take : room;
		if (k) {
			int rc = pw_buf_append(into, *d, k);
			if (rc < 0)
				return rc;
		}
		if (k < take)
			p->str_over = true;
	}
	advance(p, d, n, take);
	p->str_left -= take;
	if (p->str_left)
		return 0;
	p->str_body = false;
	return 1;
}

static int skip_str(struct pgdump_parser *p, const uint8_t **d, size_t *n)
{
	return read_str(p, d, n, 0, NULL);
}

/* ---- header ---- */

static int check_version(struct pgdump_parser *p)
{
	p->info.vmaj = p->tok[0];
	p->info.vmin = p->tok[1];
	p->info.vrev = p->tok[2];
	p->version = VERSION(p->info.vmaj, p->info.vmin, p->info.vrev);
	if (p->version < V_1_14 || p->version >= V_1_17) {
		pw_error(ARCHIVE_ERR, "unsupported pg_dump archive version %d.%d.%d", p->info.vmaj,
		         p->info.vmin, p->info.vrev);
		return pw_error_hint(
		    "pgward reads custom-format archives of versions 1.14 to 1.16, "
		    "as written by pg_dump 12 to 17.");
	}
	return 0;
}

static int check_sizes(struct pgdump_parser *p)
{
	p->info.int_size = p->tok[0];
	p->info.off_size = p->tok[1];
	if (p->info.int_size < 4 || p->info.int_size > 8)
		return bad(p, "integer size %d", p->info.int_size);
	if (p->info.off_size < 4 || p->info.off_size > 8)
		return bad(p, "offset size %d", p->info.off_size);
	if (p->tok[2] != 1) {
		pw_error(ARCHIVE_ERR, "pg_dump archive is not in the custom format (format %d)",
		         p->tok[2]);
		return pw_error_hint("pgward reads archives written by \"pg_dump -Fc\".");
	}
	return 0;
}

static int compressed(const char *what)
{
	pw_error(ARCHIVE_ERR,
	         "pg_dump archive has compressed data blocks (%s): pgward needs an archive made "
	         "with -Z0",
	         what);
	return pw_error_hint("Dump with \"pg_dump -Fc -Z0\": pgward compresses the whole stream "
	                     "itself.");
}

static int check_algorithm(struct pgdump_parser *p)
{
	static const char *const names[] = {"none", "gzip", "lz4", "zstd"};
	p->info.compression = p->tok[0];
	if (p->tok[0] >= sizeof names / sizeof names[0])
		return bad(p, "unknown compression algorithm %d", p->tok[0]);
	return p->tok[0] == 0 ? 0 : compressed(names[p->tok[0]]);
}

static int check_level(struct pgdump_parser *p, int64_t level)
{
	if (level >= INT32_MIN && level <= INT32_MAX)
		p->info.compression = (int)level;
	if (level < -1 || level > 9)
		return bad(p, "compression level %" PRId64, level);
	if (level == 0)
		return 0;
	char what[32];
	if (level < 0)
		snprintf(what, sizeof what, "gzip");
	else
		snprintf(what, sizeof what, "gzip level %d", (int)level);
	return compressed(what);
}

/* Copy a header string (read into p->str) to out. */
static int header_str(struct pgdump_parser *p, char *out, size_t size, const char *what)
{
	if (p->str_over)
		return bad(p, "%s longer than %zu bytes", what, size - 1);
	memcpy(out, p->str.data ? p->str.data : (const uint8_t *)"", p->str.len);
	out[p->str.len] = '\0';
	return 0;
}

/* ---- TOC ---- */

static int keep_bytes(struct pgdump_parser *p, size_t n)
{
	if (n > MAX_KEPT - p->kept) {
		pw_error(PW_E_LIMIT,
		         "pg_dump archive: the table of contents needs more than %zu MiB",
		         MAX_KEPT >> 20);
		return pw_error_hint("The archive holds too many tables for pgward.");
	}
	p->kept += n;
	return 0;
}

static int add_table(struct pgdump_parser *p)
{
	if (p->e_tag_over || p->e_ns_over) {
		pw_error(PW_E_LIMIT,
		         "pg_dump archive: a name of TOC entry %d is longer than %d bytes",
		         p->e_dump_id, MAX_NAME);
		return pw_error_hint("Table names are at most 63 bytes; the archive was damaged.");
	}
	if (memchr(pw_buf_str(&p->e_tag), 0, p->e_tag.len) ||
	    memchr(pw_buf_str(&p->e_ns), 0, p->e_ns.len))
		return bad(p, "NUL byte in a name of TOC entry %d", p->e_dump_id);
	int rc = keep_bytes(p, sizeof(struct table_rec) + p->e_tag.len + p->e_ns.len + 2);
	if (rc < 0)
		return rc;
	if (p->ntables == p->captables) {
		p->captables = p->captables ? 2 * p->captables : 16;
		p->tables = pw_realloc(p->tables, p->captables * sizeof *p->tables);
	}
	struct table_rec *t = &p->tables[p->ntables++];
	t->schema = pw_strndup(pw_buf_str(&p->e_ns), p->e_ns.len);
	t->name = pw_strndup(pw_buf_str(&p->e_tag), p->e_tag.len);
	t->pub.schema = t->schema;
	t->pub.name = t->name;
	t->pub.dump_id = p->e_dump_id;
	t->pub.rows = 0;
	t->pub.bytes = 0;
	return 0;
}

static int add_dentry(struct pgdump_parser *p, int state, int64_t pos)
{
	int rc = keep_bytes(p, sizeof(struct dentry) + sizeof(struct idx));
	if (rc < 0)
		return rc;
	if (p->nents == p->capents) {
		p->capents = p->capents ? 2 * p->capents : 16;
		p->ents = pw_realloc(p->ents, p->capents * sizeof *p->ents);
	}
	struct dentry *e = &p->ents[p->nents++];
	e->pos = pos;
	e->table = p->e_kind == KIND_TABLE ? p->ntables - 1 : 0;
	e->dump_id = p->e_dump_id;
	e->state = (uint8_t)state;
	e->kind = (uint8_t)p->e_kind;
	e->seen = false;
	return 0;
}

static int cmp_idx(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;
	return (x->dump_id > y->dump_id) - (x->dump_id < y->dump_id);
}

/* The TOC is complete: index the entries that declare data, then expect blocks. */
static int end_toc(struct pgdump_parser *p)
{
	if (p->nents) {
		p->order = pw_malloc(p->nents * sizeof *p->order);
		for (size_t i = 0; i < p->nents; i++)
			p->order[i] = (struct idx){p->ents[i].dump_id, (uint32_t)i};
		qsort(p->order, p->nents, sizeof *p->order, cmp_idx);
		for (size_t i = 1; i < p->nents; i++)
			if (p->order[i].dump_id == p->order[i - 1].dump_id)
				return bad(p, "dump id %d appears twice in the table of contents",
				           p->order[i].dump_id);
	}
	p->step = S_BLOCK_TYPE;
	return 0;
}

/* The entry's offset was read (in p->tok): keep what is needed of it. */
static int end_entry(struct pgdump_parser *p)
{
	int state = p->tok[0];
	if (state != OFF_NOT_SET && state != OFF_SET && state != OFF_NO_DATA)
		return bad(p, "data offset flag %d", state);
	uint64_t pos = 0;
	for (int i = p->info.off_size; i > 0; i--)
		pos = pos << 8 | p->tok[i];
	if (state == OFF_SET && pos > (uint64_t)INT64_MAX)
		return bad(p, "data offset out of range");
	int rc = 0;
	if (p->e_kind == KIND_TABLE)
		rc = add_table(p);
	if (rc == 0 && state != OFF_NO_DATA)
		rc = add_dentry(p, state, (int64_t)pos);
	if (rc < 0)
		return rc;
	if (++p->toc_read == p->info.toc_count) {
		p->info.toc_done = true;
		return end_toc(p);
	}
	p->step = S_E_DUMP_ID;
	return 0;
}

/* ---- data ---- */

/* The ents index of dump id, or SIZE_MAX. Blocks normally follow the TOC order. */
static size_t lookup(const struct pgdump_parser *p, int32_t id)
{
	if (p->hint < p->nents && p->ents[p->hint].dump_id == id)
		return p->hint;
	size_t lo = 0, hi = p->nents;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->order[mid].dump_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nents && p->order[lo].dump_id == id ? p->order[lo].ent : SIZE_MAX;
}

static int start_block(struct pgdump_parser *p, int64_t id)
{
	if (id <= 0 || id > INT32_MAX)
		return bad(p, "data block for dump id %" PRId64, id);
	size_t i = lookup(p, (int32_t)id);
	if (i == SIZE_MAX)
		return bad(p,
		           "data block for dump id %" PRId64 ", which has no data in the table "
		           "of contents",
		           id);
	struct dentry *e = &p->ents[i];
	if (e->seen)
		return bad(p, "second data block for dump id %" PRId64, id);
	if ((p->block_type == BLK_BLOBS) != (e->kind == KIND_BLOBS))
		return bad(p, "data block of type %d for dump id %" PRId64 " (%s)", p->block_type,
		           id, e->kind == KIND_BLOBS ? "large objects" : "not large objects");
	if (e->state == OFF_SET && (uint64_t)e->pos != p->block_start)
		return bad(p,
		           "data block for dump id %" PRId64 " at offset %" PRIu64
		           ", but the table of contents says %" PRId64,
		           id, p->block_start, e->pos);
	p->cur = i;
	p->in_block = true;
	p->block_bytes = 0;
	p->trail_nl = 0;
	p->hist = 0;
	p->hist_len = 0;
	p->step = p->block_type == BLK_DATA ? S_DATA_LEN : S_LO_OID;
	return 0;
}

/*
 * pg_dump 12-17 end each table's COPY text with the end-of-data line "\." and
 * two empty lines, written as a chunk of its own. A COPY text row cannot be
 * "\." (a backslash in a value is escaped), so it is recognized at the end of
 * the block and not counted: rows and bytes are those of COPY ... TO STDOUT.
 */
static void end_block(struct pgdump_parser *p)
{
	struct dentry *e = &p->ents[p->cur];
	if (e->kind == KIND_TABLE) {
		struct pgdump_table *t = &p->tables[e->table].pub;
		bool marker = p->trail_nl > 0 && (p->hist & 0xffff) == ('\\' << 8 | '.') &&
		              (p->hist_len == 2 || (p->hist >> 16 & 0xff) == '\n');
		if (marker) {
			t->rows -= p->trail_nl;
			t->bytes -= 2 + p->trail_nl;
		} else if (p->block_bytes && p->trail_nl == 0) {
			t->rows++; /* a last line without its newline */
		}
		p->tables_done++;
	}
	p->in_block = false;
	e->seen = true;
	p->hint = p->cur + 1;
	p->step = S_BLOCK_TYPE;
}

/* Number of '\n' bytes in s[0..n). This runs over every byte of every backup, on pgward's
 * main thread: SSE2 (part of every x86-64) compares 16 bytes at once and sums the matches
 * per byte lane, folded every 255 rounds; elsewhere, eight bytes at a time in a register. */
static uint64_t count_newlines(const uint8_t *s, size_t n)
{
	uint64_t c = 0;
	size_t i = 0;
#if defined(__SSE2__)
	const __m128i nl = _mm_set1_epi8('\n');
	const __m128i zero = _mm_setzero_si128();
	while (i + 16 <= n) {
		__m128i acc = zero;
		size_t rounds = (n - i) / 16;
		if (rounds > 255)
			rounds = 255; /* each byte lane counts up to 255 */
		for (size_t r = 0; r < rounds; r++, i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl)); /* a match is -1 */
		}
		__m128i sums = _mm_sad_epu8(acc, zero); /* two 64-bit lane sums */
		c += (uint64_t)_mm_cvtsi128_si64(sums) +
		     (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums));
	}
#else
	const uint64_t ones = 0x0101010101010101u, low7 = 0x7f7f7f7f7f7f7f7fu;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		x ^= ones * '\n'; /* newline bytes become zero */
		/* high bit of each byte set iff the byte is non-zero (no carries across bytes) */
		uint64_t t = ((x & low7) + low7) | x;
		c += (uint64_t)__builtin_popcountll(~t & ~low7);
	}
#endif
	for (; i < n; i++)
		c += s[i] == '\n';
	return c;
}

static void hist_push(struct pgdump_parser *p, const uint8_t *s, size_t n)
{
	for (size_t i = n > 4 ? n - 4 : 0; i < n; i++)
		p->hist = p->hist << 8 | s[i];
	p->hist_len = n >= 4 || p->hist_len + n >= 4 ? 4 : p->hist_len + (unsigned)n;
}

/* n > 0 bytes of the current block's data. */
static void data_bytes(struct pgdump_parser *p, const uint8_t *s, size_t n)
{
	struct dentry *e = &p->ents[p->cur];
	p->block_bytes += n;
	if (e->kind != KIND_TABLE)
		return;
	struct pgdump_table *t = &p->tables[e->table].pub;
	t->rows += count_newlines(s, n);
	t->bytes += n;
	/* keep track of how the data ends, for end_block() */
	size_t run = 0;
	while (run < n && s[n - 1 - run] == '\n')
		run++;
	if (run == n) {
		p->trail_nl += n;
		return;
	}
	static const uint8_t newlines[4] = {'\n', '\n', '\n', '\n'};
	hist_push(p, newlines, p->trail_nl < 4 ? (size_t)p->trail_nl : 4);
	hist_push(p, s, n - run);
	p->trail_nl = run;
}

/* ---- the state machine: each call consumes at least one byte of *n > 0 ---- */

static int step(struct pgdump_parser *p, const uint8_t **d, size_t *n)
{
	int64_t v = 0;
	int r = 0;
	switch (p->step) {
	case S_MAGIC: {
		bool all = gather(p, d, n, 5);
		if (memcmp(p->tok, "PGDMP", p->tokn) != 0) {
			pw_error(ARCHIVE_ERR,
			         "not a pg_dump custom-format archive: no \"PGDMP\" signature");
			return pw_error_hint("pgward reads archives written by \"pg_dump -Fc\".");
		}
		if (all) {
			p->tokn = 0;
			p->step = S_VERSION;
		}
		return 0;
	}
	case S_VERSION:
		if (!gather(p, d, n, 3))
			return 0;
		p->tokn = 0;
		p->step = S_SIZES;
		return check_version(p);
	case S_SIZES:
		if (!gather(p, d, n, 3))
			return 0;
		p->tokn = 0;
		p->step = p->version >= V_1_15 ? S_COMP_ALGORITHM : S_COMP_LEVEL;
		return check_sizes(p);
	case S_COMP_ALGORITHM:
		if (!gather(p, d, n, 1))
			return 0;
		p->tokn = 0;
		p->step = S_TIME;
		return check_algorithm(p);
	case S_COMP_LEVEL:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		p->step = S_TIME;
		return check_level(p, v);
	case S_TIME:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		if (++p->counter == 7)
			p->step = S_DBNAME;
		return 0;
	case S_DBNAME:
		if ((r = read_str(p, d, n, sizeof p->info.dbname - 1, &p->str)) <= 0)
			return r;
		p->step = S_SERVER_VERSION;
		return header_str(p, p->info.dbname, sizeof p->info.dbname, "database name");
	case S_SERVER_VERSION:
		if ((r = read_str(p, d, n, sizeof p->info.server_version - 1, &p->str)) <= 0)
			return r;
		p->step = S_PGDUMP_VERSION;
		return header_str(p, p->info.server_version, sizeof p->info.server_version,
		                  "server version");
	case S_PGDUMP_VERSION:
		if ((r = read_str(p, d, n, sizeof p->info.pgdump_version - 1, &p->str)) <= 0)
			return r;
		p->step = S_TOC_COUNT;
		return header_str(p, p->info.pgdump_version, sizeof p->info.pgdump_version,
		                  "pg_dump version");
	case S_TOC_COUNT:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		if (v < 0)
			return bad(p, "TOC entry count %" PRId64, v);
		if (v > MAX_TOC_ENTRIES) {
			pw_error(PW_E_LIMIT,
			         "pg_dump archive has %" PRId64 " TOC entries, more than %d", v,
			         MAX_TOC_ENTRIES);
			return pw_error_hint(
			    "The archive is too large for pgward, or it was damaged.");
		}
		p->info.toc_count = (int)v;
		p->step = S_E_DUMP_ID;
		p->info.toc_done = v == 0;
		return v == 0 ? end_toc(p) : 0;

	case S_E_DUMP_ID:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		if (v <= 0 || v > INT32_MAX)
			return bad(p, "TOC entry dump id %" PRId64, v);
		p->e_dump_id = (int32_t)v;
		p->e_kind = KIND_OTHER;
		p->step = S_E_HAD_DUMPER;
		return 0;
	case S_E_HAD_DUMPER:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		if (v != 0 && v != 1)
			return bad(p, "TOC entry data dumper flag %" PRId64, v);
		p->step = S_E_TABLEOID;
		return 0;
	case S_E_TABLEOID:
	case S_E_OID:
	case S_E_DEFN:
	case S_E_DROP:
	case S_E_COPY:
	case S_E_TABLESPACE:
	case S_E_OWNER:
		if ((r = skip_str(p, d, n)) <= 0)
			return r;
		p->step = (enum step)(p->step + 1);
		return 0;
	case S_E_TAG:
		if ((r = read_str(p, d, n, MAX_NAME, &p->e_tag)) <= 0)
			return r;
		p->e_tag_over = p->str_over;
		p->step = S_E_DESC;
		return 0;
	case S_E_DESC:
		if ((r = read_str(p, d, n, DESC_KEEP, &p->str)) <= 0)
			return r;
		if (!p->str_null && p->str_len == 10 && memcmp(p->str.data, "TABLE DATA", 10) == 0)
			p->e_kind = KIND_TABLE;
		else if (!p->str_null && p->str_len == 5 && memcmp(p->str.data, "BLOBS", 5) == 0)
			p->e_kind = KIND_BLOBS;
		if (!p->str_null)
			count_relation(p, (const char *)p->str.data, (size_t)p->str_len);
		p->step = S_E_SECTION;
		return 0;
	case S_E_SECTION:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		p->step = S_E_DEFN;
		return 0;
	case S_E_NAMESPACE:
		if (p->e_kind == KIND_TABLE)
			r = read_str(p, d, n, MAX_NAME, &p->e_ns);
		else
			r = skip_str(p, d, n);
		if (r <= 0)
			return r;
		p->e_ns_over = p->str_over;
		p->step = S_E_TABLESPACE;
		return 0;
	case S_E_TABLEAM:
		if ((r = skip_str(p, d, n)) <= 0)
			return r;
		p->step = p->version >= V_1_16 ? S_E_RELKIND : S_E_OWNER;
		return 0;
	case S_E_RELKIND:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		p->step = S_E_OWNER;
		return 0;
	case S_E_WITH_OIDS: /* always "false" from pg_dump; pg_restore fails on NULL */
		if ((r = skip_str(p, d, n)) <= 0)
			return r;
		if (p->str_null)
			return bad(p, "NULL WITH OIDS flag in TOC entry %d", p->e_dump_id);
		p->step = S_E_DEP;
		return 0;
	case S_E_DEP:
		if ((r = skip_str(p, d, n)) <= 0)
			return r;
		if (p->str_null)
			p->step = S_E_OFFSET;
		return 0;
	case S_E_OFFSET:
		if (!gather(p, d, n, 1 + (size_t)p->info.off_size))
			return 0;
		p->tokn = 0;
		return end_entry(p);

	case S_BLOCK_TYPE:
		p->block_start = p->pos;
		gather(p, d, n, 1);
		p->tokn = 0;
		p->block_type = p->tok[0];
		if (p->block_type != BLK_DATA && p->block_type != BLK_BLOBS)
			return bad(p, "data block type %d", p->block_type);
		p->step = S_BLOCK_ID;
		return 0;
	case S_BLOCK_ID:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		return start_block(p, v);
	case S_DATA_LEN:
	case S_LO_LEN:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		if (v < 0 || v > INT32_MAX)
			return bad(p, "data chunk length %" PRId64, v);
		if (v > 0) {
			p->chunk_left = (uint64_t)v;
			p->step = p->step == S_DATA_LEN ? S_DATA_BODY : S_LO_BODY;
		} else if (p->step == S_DATA_LEN) {
			end_block(p);
		} else {
			p->step = S_LO_OID;
		}
		return 0;
	case S_DATA_BODY:
	case S_LO_BODY: {
		size_t take = p->chunk_left < *n ? (size_t)p->chunk_left : *n;
		if (p->step == S_DATA_BODY)
			data_bytes(p, *d, take);
		advance(p, d, n, take);
		p->chunk_left -= take;
		if (p->chunk_left == 0)
			p->step = p->step == S_DATA_BODY ? S_DATA_LEN : S_LO_LEN;
		return 0;
	}
	case S_LO_OID:
		if ((r = read_int(p, d, n, &v)) <= 0)
			return r;
		if (v == 0) {
			end_block(p);
			return 0;
		}
		if (v < -(int64_t)UINT32_MAX || v > (int64_t)UINT32_MAX)
			return bad(p, "large object OID %" PRId64, v);
		p->blobs++;
		p->step = S_LO_LEN;
		return 0;
	}
	return pw_error(PW_E_INTERNAL, "pg_dump archive parser in unknown state %d", (int)p->step);
}

/* ---- interface ---- */

struct pgdump_parser *pgdump_parser_new(void)
{
	struct pgdump_parser *p = pw_calloc(1, sizeof *p);
	p->str = PW_BUF_INIT(MAX_NAME);
	p->e_tag = PW_BUF_INIT(MAX_NAME);
	p->e_ns = PW_BUF_INIT(MAX_NAME);
	return p;
}

int pgdump_parser_update(struct pgdump_parser *p, const uint8_t *data, size_t n)
{
	if (p->failed)
		return replay(p);
	PW_CHECK(!p->finished); /* not fed after its end */
	PW_CHECK(data || n == 0);
	while (n > 0) {
		int rc = step(p, &data, &n);
		if (rc < 0)
			return fail(p, rc);
	}
	return 0;
}

int pgdump_parser_final(struct pgdump_parser *p)
{
	if (p->failed)
		return replay(p);
	if (p->finished)
		return 0;
	p->finished = true;
	int rc = 0;
	char what[256];
	switch (p->step) {
	case S_BLOCK_TYPE:
		for (size_t i = 0; i < p->nents && rc == 0; i++) {
			if (!p->ents[i].seen) {
				describe(p, i, what, sizeof what);
				rc = truncated("no data block for %s", what);
			}
		}
		break;
	case S_BLOCK_ID:
		rc = truncated("it ends in a data block header");
		break;
	case S_DATA_LEN:
	case S_DATA_BODY:
	case S_LO_OID:
	case S_LO_LEN:
	case S_LO_BODY:
		describe(p, p->cur, what, sizeof what);
		rc = truncated("it ends in the data of %s", what);
		break;
	default:
		if (p->pos == 0)
			rc = truncated("it is empty");
		else if (p->step < S_TOC_COUNT)
			rc = truncated("it ends in the header");
		else if (p->step == S_TOC_COUNT)
			rc = truncated("it ends before the table of contents");
		else
			rc = truncated("it ends in the table of contents (entry %d of %d)",
			               p->toc_read + 1, p->info.toc_count);
		break;
	}
	return rc < 0 ? fail(p, rc) : 0;
}

const struct pgdump_info *pgdump_parser_info(const struct pgdump_parser *p)
{
	return &p->info;
}

size_t pgdump_parser_ntables(const struct pgdump_parser *p)
{
	return p->ntables;
}

const struct pgdump_table *pgdump_parser_table(const struct pgdump_parser *p, size_t i)
{
	return i < p->ntables ? &p->tables[i].pub : NULL;
}

const struct pgdump_table *pgdump_parser_position(const struct pgdump_parser *p, size_t *done)
{
	*done = p->tables_done;
	if (!p->in_block || p->cur >= p->nents || p->ents[p->cur].kind != KIND_TABLE)
		return NULL;
	return &p->tables[p->ents[p->cur].table].pub;
}

uint64_t pgdump_parser_blobs(const struct pgdump_parser *p)
{
	return p->blobs;
}

void pgdump_parser_free(struct pgdump_parser *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ntables; i++) {
		pw_free(p->tables[i].schema);
		pw_free(p->tables[i].name);
	}
	pw_free(p->tables);
	pw_free(p->ents);
	pw_free(p->order);
	pw_buf_free(&p->str, 0);
	pw_buf_free(&p->e_tag, 0);
	pw_buf_free(&p->e_ns, 0);
	pw_free(p);
}
