/* backup.c - the backup pipeline and its commit point. */
#include "jobs/backup.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "pg/archive.h"
#include "repo/catalog.h"
#include "pg/child.h"
#include "filter/filter.h"
#include "jobs/commit.h"
#include "pg/pg.h"

#define READ_BLOCK (1024 * 1024)
#define GLOBALS_MAX (64 * 1024 * 1024)

static double now_s(void)
{
	return pw_monotonic();
}

/* ---- the raw-stream tap: counting, pacing, progress ---- */

struct raw_tap {
	const struct backup_opts *o;
	struct pgdump_parser *parser; /* per-table rows and bytes, with no extra query */
	struct backup_progress prog;
	double start, last_report;
	uint64_t *stored;
};

static int raw_cb(void *arg, const uint8_t *p, size_t n)
{
	struct raw_tap *t = arg;
	t->prog.raw += n;
	int prc = pgdump_parser_update(t->parser, p, n);
	if (prc < 0)
		return pw_error_context("reading pg_dump's output");
	double el = now_s() - t->start;
	if (t->o->rate_limit) {
		double due = (double)t->prog.raw / (double)t->o->rate_limit;
		if (due > el) {
			double w = due - el;
			struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	if (t->o->progress && el - t->last_report >= 0.5) {
		t->last_report = el;
		const struct pgdump_table *cur =
		    pgdump_parser_position(t->parser, &t->prog.tables_done);
		t->prog.schema = cur ? cur->schema : NULL;
		t->prog.table = cur ? cur->name : NULL;
		t->prog.tables_total = pgdump_parser_ntables(t->parser);
		t->prog.phase = "dumping";
		t->prog.seconds = el;
		t->prog.stored = *t->stored;
		t->o->progress(t->o->progress_arg, &t->prog);
	}
	return 0;
}

/* A phase after the dump: say so at once, so that a long upload does not look like a hang. */
static void report_phase(struct raw_tap *t, const char *phase)
{
	if (!t->o->progress)
		return;
	t->prog.phase = phase;
	(void)pgdump_parser_position(t->parser, &t->prog.tables_done);
	t->prog.tables_total = pgdump_parser_ntables(t->parser);
	t->prog.schema = t->prog.table = NULL;
	t->prog.seconds = now_s() - t->start;
	t->prog.stored = *t->stored;
	t->o->progress(t->o->progress_arg, &t->prog);
}

/* ---- helpers ---- */

static int add_object(struct manifest *m, const char *name, const struct stor_write_result *wr)
{
	return manifest_add_object(m, name, wr->bytes, wr->sha256);
}

struct stream_job {
	const struct backup_opts *o;
	const struct stor_write_opts *wo;
	char key[512];
	int level;
	uint64_t stored;
	struct stor_write_result wr;
};

/* Encrypt (and optionally compress) an in-memory buffer into one object. */
static int put_encrypted(struct stream_job *j, const uint8_t *p, size_t n, bool compress)
{
	struct stor_writer *w = NULL;
	int rc = stor_write_open(j->o->repo, j->key, j->wo, &w);
	if (rc < 0)
		return rc;
	struct flt *chain = job_stor_sink_new(w, &j->stored), *enc = NULL, *z = NULL;
	rc = flt_age_encrypt(&enc, j->o->rcpts, j->o->nrcpts, false, chain);
	if (rc == 0) {
		chain = enc;
		if (compress && (rc = flt_zstd_compress(&z, j->level, 0, chain)) == 0)
			chain = z;
	}
	if (rc == 0)
		rc = flt_write(chain, p, n);
	if (rc == 0)
		rc = flt_finish(chain);
	if (rc == 0)
		rc = stor_write_commit(w, &j->wr);
	flt_chain_free(chain);
	stor_write_free(w);
	return rc;
}

/* Run a child that writes to stdout, collecting it in memory (globals are small). */
static int run_capture(const char *const *argv, const char *const *env, struct pw_buf *out,
                       const char *what)
{
	struct child c;
	int rc = child_start(&c, argv, env, false, true);
	if (rc < 0)
		return rc;
	uint8_t buf[65536];
	for (;;) {
		ssize_t r = pw_read_some(c.out_fd, buf, sizeof buf, what);
		child_poll_stderr(&c);
		if (r <= 0) {
			rc = (int)r;
			break;
		}
		if ((rc = pw_buf_append(out, buf, (size_t)r)) < 0)
			break;
	}
	if (rc == 0)
		rc = child_finish(&c, what);
	child_free(&c);
	return rc;
}

/* ---- the backup ---- */

int backup_run(const struct backup_opts *o, struct backup_result *res)
{
	memset(res, 0, sizeof *res);
	int rc = job_stanza_lock(o->conn, o->stanza, &res->elsewhere);
	if (rc < 0)
		return rc;
	if ((rc = catalog_init_repo(o->repo)) < 0) {
		job_stanza_unlock(o->conn, o->stanza);
		return rc;
	}

	time_t started = pw_now();
	double t0 = now_s();
	catalog_new_id(res->id, started);
	struct stor_write_opts wo = {.content_type = "application/octet-stream"};
	if (o->lock_days > 0) {
		wo.lock_mode = o->lock_mode;
		wo.lock_until = started + (time_t)o->lock_days * 86400;
	}
	int major = pg_server_version(o->conn) / 10000;
	char pg_dump[512], pg_dumpall[512];
	if ((rc = pg_tool_path("pg_dump", major, pg_dump, sizeof pg_dump)) < 0)
		return rc;
	struct manifest *m = pw_calloc(1, sizeof *m);
	char *ci = pg_child_conninfo(o->conn, "pgward backup");
	struct pw_buf envpw = PW_BUF_INIT(4096);
	if (o->password)
		pw_buf_printf(&envpw, "PGPASSWORD=%s", pw_secret_str(o->password));
	const char *env[] = {"PGOPTIONS=-c default_transaction_read_only=on",
	                     envpw.len ? (const char *)envpw.data : NULL, NULL};
	struct pw_buf dbarg = PW_BUF_INIT(64 * 1024);
	pw_buf_printf(&dbarg, "--dbname=%s", ci);

	/* 1. the data object */
	struct stream_job data = {.o = o, .wo = &wo, .level = o->level};
	rc = repo_key(data.key, sizeof data.key, o->stanza, res->id, DATA_OBJECT);
	struct stor_writer *w = NULL;
	struct child c;
	memset(&c, 0, sizeof c);
	c.in_fd = c.out_fd = c.err_fd = -1;
	struct flt *chain = NULL;
	struct raw_tap tap = {
	    .o = o, .start = now_s(), .stored = &data.stored, .parser = pgdump_parser_new()};
	tap.prog.estimate = (uint64_t)(o->preflight ? o->preflight->database_size : 0);
	const char *dump_argv[] = {pg_dump,         "--format=custom",  "--compress=0",
	                           "--no-password", pw_buf_str(&dbarg), NULL};
	if (rc == 0)
		rc = stor_write_open(o->repo, data.key, &wo, &w);
	if (rc == 0) {
		struct flt *sink = job_stor_sink_new(w, &data.stored), *enc = NULL, *z = NULL;
		chain = sink;
		rc = flt_age_encrypt(&enc, o->rcpts, o->nrcpts, false, sink);
		if (rc == 0) {
			chain = enc;
			rc = flt_zstd_compress(&z, o->level, o->threads, chain);
		}
		if (rc == 0) {
			chain = flt_tap(raw_cb, &tap, z);
		}
	}
	if (rc == 0)
		rc = child_start(&c, dump_argv, env, false, true);
	if (rc == 0) {
		uint8_t *buf = pw_malloc(READ_BLOCK);
		for (;;) {
			ssize_t r = pw_read_some(c.out_fd, buf, READ_BLOCK, "pg_dump output");
			child_poll_stderr(&c);
			if (r < 0) {
				rc = (int)r;
				break;
			}
			if (r == 0)
				break;
			if ((rc = flt_write(chain, buf, (size_t)r)) < 0)
				break;
		}
		pw_free(buf);
		if (rc == 0)
			rc = child_finish(&c, "the dump");
		if (rc == 0 && tap.prog.raw == 0) {
			pw_error(PW_E_DB, "pg_dump produced no output");
			rc = pw_error_hint("See pg_dump's messages; nothing was committed.");
		}
		if (rc == 0 && (rc = pgdump_parser_final(tap.parser)) < 0)
			pw_error_context("the dump is incomplete");
		if (rc == 0) {
			report_phase(&tap, "uploading");
			rc = flt_finish(chain);
		}
		if (rc == 0)
			rc = stor_write_commit(w, &data.wr);
	}
	child_free(&c);
	flt_chain_free(chain);
	stor_write_free(w);
	if (rc < 0)
		goto out;
	double dump_seconds = now_s() - t0;

	/* 2. globals: roles (without passwords) and tablespaces, when the role may read them */
	if ((rc = add_object(m, DATA_OBJECT, &data.wr)) < 0)
		goto out;
	char globals_note[512] = "";
	bool globals = false;
	report_phase(&tap, "roles");
	if (pg_tool_path("pg_dumpall", major, pg_dumpall, sizeof pg_dumpall) == 0) {
		const char *ga[] = {pg_dumpall,      "--globals-only",   "--no-role-passwords",
		                    "--no-password", pw_buf_str(&dbarg), NULL};
		struct pw_buf g = PW_BUF_INIT(GLOBALS_MAX);
		int grc = run_capture(ga, env, &g, "the globals dump");
		if (grc == 0) {
			struct stream_job gj = {.o = o, .wo = &wo, .level = o->level};
			rc = repo_key(gj.key, sizeof gj.key, o->stanza, res->id, GLOBALS_OBJECT);
			if (rc == 0)
				rc = put_encrypted(&gj, g.data, g.len, true);
			if (rc == 0) {
				rc = add_object(m, GLOBALS_OBJECT, &gj.wr);
				globals = true;
			}
		} else {
			pw_strlcpy(globals_note, pw_error_message(), sizeof globals_note);
			pw_warn("roles and tablespaces were not backed up: %s", globals_note);
			pw_error_clear();
		}
		pw_buf_free(&g, 1);
		if (rc < 0)
			goto out;
	} else {
		pw_strlcpy(globals_note, pw_error_message(), sizeof globals_note);
		pw_error_clear();
	}

	/* 3. details (encrypted: table names and sizes are sensitive) */
	report_phase(&tap, "committing");
	json_t *details = json_object();
	json_object_set_new(details, "database",
	                    json_string(o->preflight ? o->preflight->database : ""));
	json_object_set_new(details, "database_size",
	                    json_integer(o->preflight ? o->preflight->database_size : 0));
	json_t *settings = json_object();
	struct pg_result *pr = NULL;
	if (pg_query(o->conn,
	             "select name, setting from pg_settings where name in ('server_version', "
	             "'server_encoding', 'lc_collate', 'lc_ctype', 'TimeZone', 'data_checksums', "
	             "'block_size', 'max_connections') order by 1",
	             0, NULL, &pr) == 0) {
		for (int i = 0; i < pg_nrows(pr); i++)
			json_object_set_new(settings, pg_value(pr, i, 0),
			                    json_string(pg_value(pr, i, 1)));
		pg_result_free(pr);
	}
	pw_error_clear();
	json_object_set_new(details, "settings", settings);
	json_object_set_new(details, "raw_dump_bytes", json_integer((json_int_t)tap.prog.raw));
	json_t *tables = json_array();
	for (size_t i = 0; i < pgdump_parser_ntables(tap.parser); i++) {
		const struct pgdump_table *t = pgdump_parser_table(tap.parser, i);
		json_t *to = json_object();
		json_object_set_new(to, "schema", json_string(t->schema));
		json_object_set_new(to, "name", json_string(t->name));
		json_object_set_new(to, "rows", json_integer((json_int_t)t->rows));
		json_object_set_new(to, "bytes", json_integer((json_int_t)t->bytes));
		json_array_append_new(tables, to);
	}
	json_object_set_new(details, "tables", tables);
	json_object_set_new(details, "large_objects",
	                    json_integer((json_int_t)pgdump_parser_blobs(tap.parser)));
	const struct pgdump_info *ai = pgdump_parser_info(tap.parser);
	json_object_set_new(details, "pg_dump_version", json_string(ai->pgdump_version));
	char *dtext = json_dumps(details, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(details);
	struct stream_job dj = {.o = o, .wo = &wo, .level = o->level};
	rc = repo_key(dj.key, sizeof dj.key, o->stanza, res->id, DETAILS_OBJECT);
	if (rc == 0)
		rc = put_encrypted(&dj, (const uint8_t *)dtext, strlen(dtext), false);
	pw_free(dtext);
	if (rc < 0)
		goto out;
	if ((rc = add_object(m, DETAILS_OBJECT, &dj.wr)) < 0)
		goto out;

	/* 4. the manifest: written last, it is the commit point */
	time_t finished = pw_now();
	if ((rc = job_manifest_fill(m, o, res->id, MANIFEST_LOGICAL, started, finished, &wo)) < 0)
		goto out;
	m->duration_seconds = now_s() - t0;
	m->dump_seconds = dump_seconds;
	pw_strlcpy(m->pg_dump, pg_dump, sizeof m->pg_dump);
	m->database_size = o->preflight ? o->preflight->database_size : 0;
	m->raw_bytes = tap.prog.raw;
	m->globals = globals;
	if (!globals)
		pw_str_printable(m->globals_note, sizeof m->globals_note, globals_note);
	if ((rc = job_manifest_commit(o, res->id, m, finished, &wo, &res->manifest_text)) < 0)
		goto out;
	res->manifest = m;
	m = NULL;
	if (o->progress) {
		tap.prog.done = true;
		tap.prog.phase = "done";
		tap.prog.schema = tap.prog.table = NULL;
		tap.prog.seconds = now_s() - t0;
		tap.prog.stored = data.stored;
		o->progress(o->progress_arg, &tap.prog);
	}
out:
	manifest_free(m);
	pgdump_parser_free(tap.parser);
	pw_buf_free(&envpw, 1);
	pw_buf_free(&dbarg, 0);
	pw_free(ci);
	job_stanza_unlock(o->conn, o->stanza);
	return rc;
}

void backup_result_free(struct backup_result *r)
{
	manifest_free(r->manifest);
	pw_free(r->manifest_text);
	r->manifest = NULL;
	r->manifest_text = NULL;
}
