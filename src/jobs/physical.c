/* physical.c - the physical base backup and its commit point. */
#include "jobs/physical.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/blockq.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/thread.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "filter/filter.h"
#include "jobs/commit.h"
#include "pg/basebackup.h"
#include "pg/pg.h"
#include "repo/catalog.h"
#include "repo/trust.h"

#define IDLE_MAX 30 /* minutes without a message from the server */

/* ---- one object: zstd -> age -> storage ---- */

struct obj {
	struct stor_writer *w;
	struct flt *chain;
	char name[MANIFEST_NAME_MAX];
	uint64_t *stored;
};

struct job {
	const struct backup_opts *o;
	struct stor_write_opts wo;
	const char *id;
	struct manifest *m;
	struct obj cur;
	bool open;
	struct backup_progress prog;
	double start, last;
};

/* threads < 0: no compression (the details, as in logical backups) */
static int obj_open(struct job *j, const char *name, int threads)
{
	char key[512];
	int rc = repo_key(key, sizeof key, j->o->stanza, j->id, name);
	if (rc < 0)
		return rc;
	if (manifest_object(j->m, name)) {
		pw_error(PW_E_DB, "the server sent archive \"%s\" twice", name);
		return pw_error_hint("Retry the backup; nothing was committed.");
	}
	memset(&j->cur, 0, sizeof j->cur);
	pw_strlcpy(j->cur.name, name, sizeof j->cur.name);
	if ((rc = stor_write_open(j->o->repo, key, &j->wo, &j->cur.w)) < 0)
		return rc;
	struct flt *chain = job_stor_sink_new(j->cur.w, &j->prog.stored), *enc = NULL, *z = NULL;
	rc = flt_age_encrypt(&enc, j->o->rcpts, j->o->nrcpts, false, chain);
	if (rc == 0) {
		chain = enc;
		if (threads >= 0 && (rc = flt_zstd_compress(&z, j->o->level, threads, chain)) == 0)
			chain = z;
	}
	j->cur.chain = chain;
	j->open = true;
	return rc;
}

static void obj_abort(struct job *j)
{
	if (!j->open)
		return;
	flt_chain_free(j->cur.chain);
	stor_write_free(j->cur.w);
	j->open = false;
}

static int obj_close(struct job *j)
{
	if (!j->open)
		return 0;
	struct stor_write_result wr;
	int rc = flt_finish(j->cur.chain);
	if (rc == 0)
		rc = stor_write_commit(j->cur.w, &wr);
	if (rc == 0)
		rc = manifest_add_object(j->m, j->cur.name, wr.bytes, wr.sha256);
	obj_abort(j);
	return rc;
}

static void report(struct job *j, const char *phase)
{
	if (!j->o->progress)
		return;
	j->prog.phase = phase;
	j->prog.seconds = pw_monotonic() - j->start;
	j->o->progress(j->o->progress_arg, &j->prog);
}

static int on_data(struct job *j, const uint8_t *p, size_t n)
{
	if (!j->open)
		return pw_error(PW_E_DB, "the server sent data before naming its archive");
	j->prog.raw += n;
	double el = pw_monotonic() - j->start;
	if (j->o->rate_limit) {
		double due = (double)j->prog.raw / (double)j->o->rate_limit;
		if (due > el) {
			double w = due - el;
			struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	if (el - j->last >= 0.5) {
		j->last = el;
		report(j, "copying");
	}
	return flt_write(j->cur.chain, p, n);
}

static bool known_tablespace(const struct bb_start *st, uint32_t oid)
{
	for (size_t i = 0; i < st->nts; i++)
		if (st->ts[i].oid == oid)
			return true;
	return false;
}

/* ---- the receiver thread: the connection -> a bounded queue of messages ----
 *
 * Receiving (libpq, TLS) ran in series with compressing, encrypting and writing: while the
 * main thread worked, nothing read the socket and the server waited; while it waited for the
 * server, the compression workers idled. A thread now reads the stream into RECV_BLOCKS
 * blocks of RECV_BLOCK bytes (memory stays bounded: when they are full, it stops reading and
 * TCP holds the server back); the main thread parses and stores what it takes from them.
 * A block holds messages as a 4-byte length and the message; a data message ('d') larger
 * than a block's room is split into several, any other one must fit in a block. */

#define RECV_BLOCK (1u << 20)
#define RECV_BLOCKS 8
#define RECV_WAIT_MS 1000 /* the receiver looks at the queue at least this often */

struct receiver {
	struct pg_conn *repl;
	struct pw_blockq *q;
};

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	struct pw_block *b = NULL;
	double last = pw_monotonic(); /* of the last message */
	for (;;) {
		uint8_t *msg = NULL;
		size_t len = 0;
		bool done = false;
		if (pg_copy_get(r->repl, RECV_WAIT_MS, &msg, &len, &done) < 0)
			break;
		if (done) {
			if (!b && !(b = pw_blockq_get_empty(r->q)))
				return NULL;
			b->eof = true;
			pw_blockq_push(r->q, b);
			return NULL;
		}
		if (!msg) {
			if (pw_blockq_error(r->q) < 0) /* the main thread failed: stop */
				return NULL;
			if (pw_monotonic() - last < IDLE_MAX * 60.0)
				continue;
			pw_error(PW_E_DB, "the server sent nothing for %d minutes", IDLE_MAX);
			pw_error_hint("See the server log; nothing was committed.");
			break;
		}
		last = pw_monotonic();
		bool data = msg[0] == 'd';
		if (len == 0 || (!data && len > RECV_BLOCK - 4)) {
			pg_copy_free(msg);
			pw_error(PW_E_DB, "malformed base backup stream: a message of %zu bytes",
			         len);
			pw_error_hint("The server (or something posing as it) sent what PostgreSQL "
			              "never sends; nothing was committed.");
			break;
		}
		/* [length][type][bytes]: a data message in as many pieces as it takes */
		size_t off = 1, need = data ? 4 + 2 : 4 + len;
		do {
			if (b && b->cap - b->len < need) {
				pw_blockq_push(r->q, b);
				b = NULL;
			}
			if (!b && !(b = pw_blockq_get_empty(r->q))) {
				pg_copy_free(msg);
				return NULL;
			}
			size_t room = b->cap - b->len - 5, k = len - off < room ? len - off : room;
			put_u32(b->data + b->len, (uint32_t)(k + 1));
			b->data[b->len + 4] = msg[0];
			memcpy(b->data + b->len + 5, msg + off, k);
			b->len += 5 + k;
			off += k;
		} while (off < len);
		pg_copy_free(msg);
	}
	pw_blockq_fail(r->q);
	return NULL;
}

/* One message from the stream, in the main thread. */
static int on_msg(struct job *j, const struct bb_start *st, const uint8_t *msg, size_t len,
                  bool *manifest)
{
	struct bb_msg m;
	int rc = bb_parse_msg(msg, len, &m);
	if (rc == 0 && m.kind == BB_MSG_ARCHIVE) {
		if (*manifest)
			rc = pw_error(PW_E_DB, "the server sent an archive after its manifest");
		else if (m.oid && !known_tablespace(st, m.oid))
			rc = pw_error(PW_E_DB,
			              "the server sent an archive for tablespace %" PRIu32
			              " it did not list",
			              m.oid);
		if (rc == 0)
			rc = obj_close(j);
		char name[MANIFEST_NAME_MAX];
		snprintf(name, sizeof name, "%s.zst.age", m.archive);
		if (rc == 0)
			rc = obj_open(j, name, j->o->threads);
	} else if (rc == 0 && m.kind == BB_MSG_MANIFEST) {
		if (*manifest)
			rc = pw_error(PW_E_DB, "the server sent two backup manifests");
		if (rc == 0)
			rc = obj_close(j);
		if (rc == 0)
			rc = obj_open(j, PHYS_MANIFEST_OBJECT, 0);
		*manifest = true;
	} else if (rc == 0 && m.kind == BB_MSG_DATA) {
		rc = on_data(j, m.data, m.len);
	} else if (rc == 0 && m.kind == BB_MSG_PROGRESS) {
		/* the server's own count; ours (raw) is what arrived */
	}
	return rc;
}

/* The CopyOut stream: one object per archive, then backup_manifest. */
static int receive(struct job *j, struct pg_conn *repl, const struct bb_start *st, bool *manifest)
{
	*manifest = false;
	/* libpq's input buffer would otherwise grow with a fast server (pg_bound_reads) */
	int rc = pg_bound_reads(repl, RECV_BLOCK / 2);
	if (rc < 0)
		return rc;
	struct receiver r = {repl, pw_blockq_new(RECV_BLOCKS, RECV_BLOCK)};
	pthread_t t;
	if (pw_thread_create(&t, receiver_main, &r) != 0) {
		pw_blockq_free(r.q);
		return pw_error(PW_E_INTERNAL, "could not start the receiver thread");
	}
	bool eof = false;
	while (rc == 0 && !eof) {
		struct pw_block *b = pw_blockq_get_full(r.q);
		if (!b) {
			rc = pw_blockq_error(r.q);
			break;
		}
		eof = b->eof;
		for (size_t off = 0; rc == 0 && off < b->len;) {
			uint32_t n;
			memcpy(&n, b->data + off, sizeof n);
			rc = on_msg(j, st, b->data + off + 4, n, manifest);
			off += 4 + (size_t)n;
		}
		pw_blockq_release(r.q, b);
	}
	if (rc < 0)
		pw_blockq_fail(r.q); /* stops the receiver */
	pthread_join(t, NULL);
	pw_blockq_free(r.q);
	if (rc < 0)
		return rc;
	report(j, "uploading");
	return obj_close(j);
}

static int put_details(struct job *j, const struct bb_start *st, uint64_t stop_lsn)
{
	json_t *d = json_object();
	json_object_set_new(d, "kind", json_string("physical"));
	json_t *ts = json_array();
	for (size_t i = 0; i < st->nts; i++) {
		json_t *t = json_object();
		json_object_set_new(t, "oid", json_integer(st->ts[i].oid));
		json_object_set_new(t, "location", json_string(st->ts[i].location));
		json_object_set_new(t, "size_kb", json_integer((json_int_t)st->ts[i].size_kb));
		json_array_append_new(ts, t);
	}
	json_object_set_new(d, "tablespaces", ts);
	char a[24], b[24];
	manifest_lsn_format(st->start_lsn, a);
	manifest_lsn_format(stop_lsn, b);
	json_object_set_new(d, "start_lsn", json_string(a));
	json_object_set_new(d, "stop_lsn", json_string(b));
	char *text = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(d);
	int rc = obj_open(j, DETAILS_OBJECT, -1);
	if (rc == 0)
		rc = flt_write(j->cur.chain, (const uint8_t *)text, strlen(text));
	pw_free(text);
	if (rc == 0)
		rc = obj_close(j);
	obj_abort(j);
	return rc;
}

static int commit_manifest(struct job *j, struct backup_result *res, time_t started, double t0)
{
	struct manifest *m = j->m;
	time_t finished = pw_now();
	int rc = job_manifest_fill(m, j->o, res->id, MANIFEST_PHYSICAL, started, finished, &j->wo);
	if (rc < 0)
		return rc;
	m->duration_seconds = pw_monotonic() - t0;
	m->dump_seconds = m->duration_seconds;
	m->database_size = (int64_t)j->prog.estimate;
	m->raw_bytes = j->prog.raw;
	m->globals = true; /* a base backup holds the whole cluster, roles included */
	return job_manifest_commit(j->o, res->id, m, finished, &j->wo, &res->manifest_text);
}

static int physical_backup_locked(const struct backup_opts *o, struct pg_conn *repl,
                                  struct backup_result *res);

int physical_backup_run(const struct backup_opts *o, struct pg_conn *repl,
                        struct backup_result *res)
{
	memset(res, 0, sizeof *res);
	/* one backup of a stanza at a time, logical or physical (backup.c's lock) */
	int rc = job_stanza_lock(o->conn, o->stanza, &res->elsewhere);
	if (rc < 0)
		return rc;
	rc = physical_backup_locked(o, repl, res);
	job_stanza_unlock(o->conn, o->stanza);
	return rc;
}

static int physical_backup_locked(const struct backup_opts *o, struct pg_conn *repl,
                                  struct backup_result *res)
{
	int rc = catalog_init_repo(o->repo);
	if (rc < 0)
		return rc;
	time_t started = pw_now();
	double t0 = pw_monotonic();
	catalog_new_id(res->id, started);
	struct job j = {.o = o, .id = res->id, .start = t0};
	j.wo.content_type = "application/octet-stream";
	if (o->lock_days > 0) {
		j.wo.lock_mode = o->lock_mode;
		j.wo.lock_until = started + (time_t)o->lock_days * 86400;
	}
	j.m = pw_calloc(1, sizeof *j.m);
	char label[80];
	snprintf(label, sizeof label, "pgward %s", res->id);
	struct bb_start st;
	rc = bb_begin(repl, label, &st);
	if (rc == 0) {
		for (size_t i = 0; i < st.nts; i++)
			if (st.ts[i].size_kb > 0)
				j.prog.estimate += (uint64_t)st.ts[i].size_kb * 1024;
		report(&j, "copying");
	}
	bool have_manifest = false;
	if (rc == 0)
		rc = receive(&j, repl, &st, &have_manifest);
	obj_abort(&j);
	uint64_t stop_lsn = 0;
	uint32_t stop_tli = 0;
	if (rc == 0)
		rc = bb_finish(repl, &stop_lsn, &stop_tli);
	if (rc == 0 && (!have_manifest || !manifest_object(j.m, PHYS_BASE_OBJECT))) {
		pw_error(PW_E_DB, "the base backup ended without %s",
		         have_manifest ? "base.tar" : "its backup_manifest");
		rc = pw_error_hint("Retry the backup; nothing was committed.");
	}
	if (rc == 0 && (stop_tli != st.timeline || stop_lsn < st.start_lsn)) {
		pw_error(PW_E_DB,
		         "the base backup ended on timeline %" PRIu32 " (it began on %" PRIu32 ")",
		         stop_tli, st.timeline);
		rc = pw_error_hint("The server was promoted during the backup; take a new one.");
	}
	if (rc < 0) {
		pw_error_context("the base backup");
		goto out;
	}
	j.m->physical.timeline = st.timeline;
	j.m->physical.start_lsn = st.start_lsn;
	j.m->physical.stop_lsn = stop_lsn;
	for (size_t i = 0; i < st.nts; i++) {
		if (!st.ts[i].oid)
			continue;
		char name[MANIFEST_NAME_MAX];
		snprintf(name, sizeof name, "%" PRIu32 ".tar.zst.age", st.ts[i].oid);
		if (!manifest_object(j.m, name) ||
		    j.m->physical.ntablespaces >= MANIFEST_TABLESPACES_MAX) {
			pw_error(PW_E_DB,
			         "the base backup lacks the archive of tablespace %" PRIu32,
			         st.ts[i].oid);
			rc = pw_error_hint("Retry the backup; nothing was committed.");
			goto out;
		}
		j.m->physical.tablespaces[j.m->physical.ntablespaces++] = st.ts[i].oid;
	}
	report(&j, "committing");
	if ((rc = put_details(&j, &st, stop_lsn)) < 0)
		goto out;
	if ((rc = commit_manifest(&j, res, started, t0)) < 0)
		goto out;
	res->manifest = j.m;
	j.m = NULL;
	if (o->progress) {
		j.prog.done = true;
		report(&j, "done");
	}
out:
	manifest_free(j.m);
	return rc;
}
