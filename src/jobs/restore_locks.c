/*
 * restore_locks.c - will a one-transaction restore fit the target's lock table?
 *
 * pg_restore --single-transaction holds a lock on every relation it creates until it
 * commits; the server's shared lock table has room for max_locks_per_transaction x
 * (max_connections + max_prepared_transactions) of them. A database with thousands of tables
 * (each with its index) overflows the default 64 x 100 and the restore dies near its end
 * with "out of shared memory". Read the archive's table of contents first (from the data
 * object already fetched and checked against the manifest), count what it creates, and say
 * before anything is changed which setting to raise, or how to restore without one
 * transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "pg/archive.h"
#include "jobs/restore.h"
#include "filter/filter.h"
#include "pg/pg.h"

/* the last filter: feeds the parser, and stops the download once the TOC is read */
struct toc_sink {
	struct flt base;
	struct pgdump_parser *parser;
	bool enough;
};

static int ts_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct toc_sink *s = (struct toc_sink *)f;
	if (s->enough)
		return -PW_E_INTERRUPTED;
	int rc = pgdump_parser_update(s->parser, p, n);
	if (rc < 0)
		return rc;
	if (pgdump_parser_info(s->parser)->toc_done) {
		s->enough = true;
		/* not an error: stor_get stops at the first non-zero return */
		return -PW_E_INTERRUPTED;
	}
	return 0;
}

static int ts_finish(struct flt *f)
{
	(void)f;
	return 0;
}

static void ts_free(struct flt *f)
{
	(void)f; /* owned by the caller's stack */
}

static const struct flt_ops ts_ops = {"toc-peek", ts_write, ts_finish, ts_free};

int restore_peek_toc(const struct restore_opts *o, int fd, struct pgdump_info *out)
{
	struct toc_sink s = {.base.ops = &ts_ops, .parser = pgdump_parser_new()};
	struct flt *chain =
	    flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO, flt_zstd_decompress(&s.base));
	uint8_t *buf = pw_malloc(1 << 16);
	int rc = 0;
	off_t off = 0;
	while (rc == 0 && !s.enough) {
		ssize_t r = pread(fd, buf, 1 << 16, off);
		if (r < 0) {
			rc = pw_error(PW_E_IO, "reading the spooled data object: %s",
			              pw_strerror(errno));
			break;
		}
		if (r == 0) {
			rc = flt_finish(chain); /* a small object is decrypted at its end */
			break;
		}
		off += r;
		rc = flt_write(chain, buf, (size_t)r);
	}
	pw_free(buf);
	if (s.enough) {
		pw_best_effort("reading past the table of contents");
		rc = 0;
	} else if (rc == 0 && (rc = pgdump_parser_final(s.parser)) == 0 &&
	           !pgdump_parser_info(s.parser)->toc_done) {
		rc = pw_error(PW_E_ARCHIVE, "the archive ends before its table of contents");
	}
	if (rc == 0)
		*out = *pgdump_parser_info(s.parser);
	flt_chain_free(chain);
	pgdump_parser_free(s.parser);
	return rc;
}

long restore_locks_needed(const struct pgdump_info *in)
{
	/* every relation created, a TOAST table and its index for each table, and room for
	 * what pg_restore and the catalogs lock on the way */
	return (long)in->toc_relations + 2L * in->toc_tables + 100;
}

long restore_locks_per_transaction(const struct pgdump_info *in, long backends)
{
	if (backends < 1)
		backends = 1;
	long need = restore_locks_needed(in);
	long want = (need + backends - 1) / backends;
	return (want + 63) / 64 * 64; /* a round number, at least 64 (the default) */
}

static int setting(struct pg_conn *c, const char *name, long *out)
{
	struct pg_result *r;
	const char *params[] = {name};
	int rc = pg_query(c, "select pg_catalog.current_setting($1)", 1, params, &r);
	if (rc == 0) {
		*out = strtol(pg_value(r, 0, 0), NULL, 10);
		pg_result_free(r);
	}
	return rc;
}

int restore_check_locks(const struct restore_opts *o, int fd)
{
	struct pgdump_info in;
	int rc = restore_peek_toc(o, fd, &in);
	if (rc < 0) {
		/* The object was checked against the (signed) manifest already; a head that
		 * cannot be read is pg_restore's to report, with its own words. The lock check
		 * is advice. */
		pw_best_effort("reading the table of contents for the lock check");
		return 0;
	}
	long per = 0, conns = 0, prepared = 0;
	if ((rc = setting(o->target, "max_locks_per_transaction", &per)) < 0 ||
	    (rc = setting(o->target, "max_connections", &conns)) < 0 ||
	    (rc = setting(o->target, "max_prepared_transactions", &prepared)) < 0)
		return rc;
	long slots = per * (conns + prepared), need = restore_locks_needed(&in);
	if (need <= slots)
		return 0;
	long want = restore_locks_per_transaction(&in, conns + prepared);
	pw_error(PW_E_DB,
	         "restoring this backup in one transaction needs about %ld locks (%d tables, %d "
	         "relations in all), and the target server has room for %ld "
	         "(max_locks_per_transaction %ld x (max_connections %ld + "
	         "max_prepared_transactions %ld)); nothing was restored",
	         need, in.toc_tables, in.toc_relations, slots, per, conns, prepared);
	return pw_error_hint("Set max_locks_per_transaction = %ld on the target server and restart "
	                     "it; or restore with --no-single-transaction or --jobs N, which "
	                     "commit as they go (a failure then leaves the target partly "
	                     "restored).",
	                     want);
}
