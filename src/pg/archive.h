/*
 * archive.h - streaming (push-style) parser of pg_dump's custom archive format
 * (pg_dump -Fc), as pgward writes it: -Z0, so every data block holds plain
 * COPY text. While a backup streams, it counts the rows and bytes of every
 * table and the large objects, without any extra query; verify re-reads a
 * decrypted archive to its end with it.
 *
 * Feed the archive in pieces of any size with pgdump_parser_update(), then call
 * pgdump_parser_final(), which returns 0 only if the archive was complete and
 * well formed. Memory stays bounded: data is never buffered, only the names of
 * TABLE DATA entries are kept (each capped), and the TOC size is capped.
 *
 * Archive versions 1.14 to 1.16 are read (pg_dump 12 to 17). Errors are
 * recorded with pw_error() and a hint; an archive with compressed data blocks
 * (not made with -Z0) is refused with a message saying so.
 */
#ifndef PW_PG_ARCHIVE_H
#define PW_PG_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One TABLE DATA entry of the TOC and what its data block held. */
struct pgdump_table {
	const char *schema; /* the entry's namespace ("" if none) */
	const char *name;   /* the entry's tag: the table name */
	int dump_id;
	/* What "COPY ... TO STDOUT" gives: lines and bytes of COPY text, without pg_dump's
	 * "\." end-of-data line (a last line without newline counts as a row). A dump made
	 * with --inserts would count lines of INSERT statements instead. */
	uint64_t rows;
	uint64_t bytes;
};

struct pgdump_info {
	int vmaj, vmin, vrev; /* archive version, e.g. 1.14.0 */
	int int_size, off_size;
	/* As found: for 1.14 the zlib level (-1 default, 0 none, 1-9); from 1.15 on the
	 * algorithm byte (0 none, 1 gzip, 2 lz4, 3 zstd). 0 means uncompressed either way. */
	int compression;
	char dbname[256];
	char server_version[64];
	char pgdump_version[64];
	int toc_count;
	bool toc_done;  /* the whole table of contents has been read */
	int toc_tables; /* TOC entries that create a table ("TABLE") */
	int toc_relations; /* ... a table, index, sequence, (materialized) view, foreign table, constraint */
};

struct pgdump_parser;

/* Never NULL. */
struct pgdump_parser *pgdump_parser_new(void);
/* Feed any number of bytes (n may be 0). Returns 0 or -code; after a failure every
 * further call returns the same failure (and records it again). */
int pgdump_parser_update(struct pgdump_parser *p, const uint8_t *data, size_t n);
/* End of input: 0 only if the archive was complete and well formed. */
int pgdump_parser_final(struct pgdump_parser *p);

/* Valid at any time; fields are filled as the header is read. */
const struct pgdump_info *pgdump_parser_info(const struct pgdump_parser *p);
/* TABLE DATA entries, in TOC order (counts are final once pgdump_parser_final succeeded). */
size_t pgdump_parser_ntables(const struct pgdump_parser *p);
const struct pgdump_table *pgdump_parser_table(const struct pgdump_parser *p, size_t i);
/* Where the data section is: *done = table data blocks read to their end; returns the table
 * whose data is being read now, or NULL (progress reports; counts are not final). */
const struct pgdump_table *pgdump_parser_position(const struct pgdump_parser *p, size_t *done);
/* Large objects seen in the data blocks. */
uint64_t pgdump_parser_blobs(const struct pgdump_parser *p);
/* NULL-safe. */
void pgdump_parser_free(struct pgdump_parser *p);

#endif
