/* walstream.c - the WAL receiver and the signed, encrypted WAL objects. */
#include "jobs/walstream.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "filter/filter.h"
#include "pg/pg.h"
#include "pg/replication.h"
#include "repo/wal.h"
#include "repo/walrepo.h"
#include "storage/storage.h"

#define STATUS_EVERY 10 /* seconds between status updates when nothing changes */
#define BACKOFF_MAX 30  /* seconds between reconnection attempts, at most */
#define RETAIN_WARN_EVERY 300
/* What one read from the server may take (pg_bound_reads): libpq's input buffer stays within
 * about twice this, plus one message, instead of following a fast sender to 32-64 MiB while a
 * segment is stored or a backlog is caught up. */
#define READ_MAX (512u << 10)

/* ---- objects ---- */

/* An existing object's signature: same plaintext -> 0 (*existed), else -PW_E_WAL. */
static int compare_existing(const struct walobj_writer *w, const char *key, uint32_t tli,
                            const char *skey, uint64_t n, const uint8_t sha[32], bool *unsig)
{
	*unsig = false;
	struct pw_buf sb = PW_BUF_INIT(MINISIGN_FILE_MAX);
	struct pw_buf ob = PW_BUF_INIT((size_t)REPL_SEG_MAX * 2);
	struct minisign_sig sig;
	struct minisign_pubkey pk;
	minisign_seckey_public(w->sk, &pk);
	struct wal_sig_info si;
	int rc = walrepo_get(w->repo, skey, &sb);
	if (rc == -PW_E_NOTFOUND) {
		pw_error_clear();
		*unsig = true;
		pw_error(PW_E_WAL, "WAL object \"%s\" exists without its signature", key);
		rc =
		    pw_error_hint("A crash came between the object and its signature, or someone "
		                  "else wrote it. Check it; once removed, pgward stores it again.");
		goto out;
	}
	if (rc == 0)
		rc = minisign_sig_parse((const char *)sb.data, sb.len, &sig);
	if (rc == 0)
		rc = walrepo_get(w->repo, key, &ob);
	if (rc == 0)
		rc = minisign_verify(&pk, &sig, ob.data, ob.len);
	if (rc == 0)
		rc = wal_sig_comment_check(sig.trusted_comment, w->stanza, key, tli, &si);
	if (rc < 0) {
		pw_error_context("WAL object \"%s\" already exists", key);
		goto out;
	}
	if (si.length != n || memcmp(si.sha256, sha, 32) != 0) {
		pw_error(PW_E_WAL, "WAL object \"%s\" already exists with different content", key);
		rc = pw_error_hint("The repository is append-only: another cluster, or a diverged "
		                   "history, wrote this name. Check that the stanza names this "
		                   "cluster only.");
	}
out:
	pw_buf_free(&sb, 0);
	pw_buf_free(&ob, 0);
	return rc;
}

int walobj_put(const struct walobj_writer *w, const char *key, uint32_t tli, uint32_t segsize,
               const uint8_t *plain, size_t n, bool *existed)
{
	*existed = false;
	char skey[WALREPO_SIG_KEY_MAX];
	uint8_t sha[32];
	int rc = walrepo_sig_key(key, skey);
	if (rc < 0)
		return rc;
	pw_sha256(plain, n, sha);
	struct stor_info info;
	rc = stor_stat(w->repo, key, &info);
	if (rc == 0) {
		bool unsig;
		rc = compare_existing(w, key, tli, skey, n, sha, &unsig);
		*existed = rc == 0;
		size_t kl = strlen(key), sl = strlen(WAL_OBJ_SUFFIX);
		struct wal_obj o;
		if (rc < 0 && unsig && segsize && n == segsize &&
		    wal_key_parse(w->stanza, key, &o) == 0 && o.kind == WAL_SEGMENT && kl > sl) {
			/* A crash between a segment and its signature (the repository is append-only,
			 * so the unsigned object stays): store the whole segment as its full-size
			 * partial instead, which wal-fetch and the coverage accept in its place. */
			char pkey[WAL_KEY_MAX];
			int k =
			    snprintf(pkey, sizeof pkey, "%.*s.partial.%08" PRIX32 WAL_OBJ_SUFFIX,
			             (int)(kl - sl), key, segsize);
			if (k > 0 && (size_t)k < sizeof pkey) {
				pw_error_clear();
				pw_warn("WAL object \"%s\" exists without its signature (a crash "
				        "between "
				        "the two?); storing the segment as \"%s\"",
				        key, pkey);
				return walobj_put(w, pkey, tli, segsize, plain, n, existed);
			}
		}
		if (rc < 0 && unsig && wal_key_parse(w->stanza, key, &o) == 0 &&
		    o.kind == WAL_PARTIAL) {
			/* the same for a partial: the caller skips it and stores the next, larger one */
			pw_error_clear();
			pw_error(PW_E_EXISTS, "WAL object \"%s\" exists without its signature",
			         key);
			return pw_error_hint(
			    "A crash came between the object and its signature; the "
			    "next partial replaces it.");
		}
		return rc;
	}
	if (rc != -PW_E_NOTFOUND)
		return rc;
	pw_error_clear();
	/* zstd -> age -> memory, then one object: never plaintext on disk */
	struct pw_buf ct = PW_BUF_INIT(n + n / 8 + (1u << 20));
	struct pw_buf sigtext = PW_BUF_INIT(MINISIGN_FILE_MAX);
	struct flt *chain = flt_buf_sink(&ct), *enc = NULL, *z = NULL;
	rc = flt_age_encrypt(&enc, w->rcpts, w->nrcpts, false, chain);
	if (rc == 0) {
		chain = enc;
		if ((rc = flt_zstd_compress(&z, w->level, 0, chain)) == 0)
			chain = z;
	}
	if (rc == 0)
		rc = flt_write(chain, plain, n);
	if (rc == 0)
		rc = flt_finish(chain);
	flt_chain_free(chain);
	char comment[WAL_KEY_MAX + 256];
	{
		/* signed now: the WAL in it was in our hands by this time (the recovery window's
		 * end is read from the newest object's signature, never from storage mtime) */
		struct wal_sig_info si = {.length = n, .segsize = segsize, .stored = pw_now()};
		memcpy(si.sha256, sha, 32);
		if (rc == 0)
			rc = wal_sig_comment(w->stanza, key, tli, &si, comment, sizeof comment);
	}
	if (rc == 0)
		rc = minisign_sign(w->sk, ct.data, ct.len, "pgward WAL object signature", comment,
		                   &sigtext);
	struct stor_write_opts wo = {.content_type = "application/octet-stream"};
	struct stor_write_result wr;
	if (rc == 0)
		rc = stor_put_buf(w->repo, key, ct.data, ct.len, &wo, &wr);
	if (rc == 0)
		rc = stor_put_buf(w->repo, skey, sigtext.data, sigtext.len, &wo, &wr);
	if (rc < 0)
		pw_error_context("could not store WAL object \"%s\"", key);
	pw_buf_free(&ct, 0);
	pw_buf_free(&sigtext, 0);
	return rc;
}

int walobj_get(struct stor *repo, const char *stanza, const char *key, uint32_t tli,
               const struct repo_signers *signers, const struct age_identity *ids, size_t nids,
               struct pw_buf *plain, uint32_t *segsize, bool *unsig)
{
	struct pw_buf ct = PW_BUF_INIT((size_t)REPL_SEG_MAX + REPL_SEG_MAX / 4);
	struct wal_sig_info si = {0};
	uint8_t have[32];
	int rc = walrepo_fetch_signed(repo, stanza, key, tli, signers, plain->max - plain->len, &ct,
	                              &si, unsig);
	uint64_t len = si.length;
	/* the plaintext's size is known once the signature is checked: one allocation instead
	 * of doubling, which made a 16 MiB segment a 32 MiB buffer that the wiping free touched */
	if (rc == 0)
		rc = pw_buf_reserve(plain, (size_t)len);
	if (rc == 0) {
		struct flt *chain = flt_buf_sink(plain);
		chain = flt_zstd_decompress(chain);
		chain = flt_age_decrypt(ids, nids, AGE_ARMOR_NO, chain);
		rc = flt_write(chain, ct.data, ct.len);
		if (rc == 0)
			rc = flt_finish(chain);
		flt_chain_free(chain);
		if (rc < 0) {
			pw_error_context("could not decrypt WAL object \"%s\"", key);
			pw_error_hint("Check --identity: it must be the backup identity whose "
			              "recipient wal-stream encrypts to.");
		}
	}
	if (rc == 0) {
		if (segsize)
			*segsize = si.segsize;
		pw_sha256(plain->data ? plain->data : (const uint8_t *)"", plain->len, have);
		if (plain->len != len || memcmp(have, si.sha256, 32) != 0) {
			pw_error(PW_E_WAL,
			         "WAL object \"%s\" decrypts to other content than signed", key);
			rc = pw_error_hint(
			    "Do not replay it; restore the object from a trusted copy.");
		}
	}
	if (rc < 0 && rc != -PW_E_NOTFOUND)
		pw_buf_free(plain, 1);
	pw_buf_free(&ct, 0);
	return rc;
}

/* ---- the receiver ---- */

struct ws {
	const struct walstream_opts *o;
	struct pg_conn *c;
	uint32_t segsize;
	uint32_t tli;
	uint64_t segno;
	uint8_t *seg;
	uint32_t filled;         /* contiguous bytes from the segment's start */
	uint32_t stored_partial; /* the largest partial end stored for this segment */
	bool seg_exists;
	uint64_t durable;    /* reported to the server as written and flushed */
	uint64_t sent;       /* the last value sent */
	uint64_t wal_end;    /* the server's end of WAL, from its messages */
	double next_partial; /* pw_monotonic() time of the next partial (wal-flush-interval) */
	time_t last_status, last_warn;
};

static int seg_begin(struct ws *s, uint32_t tli, uint64_t segno)
{
	s->tli = tli;
	s->segno = segno;
	s->filled = 0;
	s->stored_partial = 0;
	s->seg_exists = false;
	char key[WAL_KEY_MAX], skey[WALREPO_SIG_KEY_MAX];
	int rc = wal_key_segment(s->o->w.stanza, tli, segno, s->segsize, key);
	if (rc == 0)
		rc = walrepo_sig_key(key, skey);
	struct stor_info info;
	/* stored = the object AND its signature: an object alone (a crash between the two
	 * writes) is not durable, so the segment is received and stored again (walobj_put
	 * stores it as its full-size partial) before its end is reported as flushed */
	if (rc == 0)
		rc = stor_stat(s->o->w.repo, key, &info);
	if (rc == 0)
		rc = stor_stat(s->o->w.repo, skey, &info);
	if (rc == 0)
		s->seg_exists = true;
	else if (rc == -PW_E_NOTFOUND) {
		pw_error_clear();
		rc = 0;
	}
	return rc;
}

static int partial_max(void *arg, const struct stor_info *info)
{
	struct ws *s = arg;
	struct wal_obj o;
	if (wal_key_parse(s->o->w.stanza, info->key, &o) == 0 && !o.signature &&
	    o.kind == WAL_PARTIAL && o.end > s->stored_partial)
		s->stored_partial = o.end;
	return 0;
}

static int send_status(struct ws *s, bool force)
{
	time_t now = pw_now();
	if (!force && s->sent == s->durable && now - s->last_status < STATUS_EVERY)
		return 0;
	uint8_t msg[REPL_STATUS_LEN];
	repl_status_build(msg, s->durable, s->durable, 0, repl_now(), false);
	int rc = pg_copy_put(s->c, msg, sizeof msg);
	if (rc == 0) {
		s->sent = s->durable;
		s->last_status = now;
	}
	if (s->durable && s->wal_end > s->durable && s->wal_end - s->durable > s->o->max_retained &&
	    now - s->last_warn >= RETAIN_WARN_EVERY) {
		char h[32];
		pw_human_size(s->wal_end - s->durable, " ", h, sizeof h);
		pw_warn("slot \"%s\" retains %s of WAL on the server, more than wal-max-retained: "
		        "the repository is behind",
		        s->o->slot, h);
		s->last_warn = now;
	}
	return rc;
}

static void advance(struct ws *s, uint64_t lsn)
{
	if (lsn > s->durable)
		s->durable = lsn;
}

static int store_partial(struct ws *s)
{
	if (s->seg_exists || s->filled <= s->stored_partial || s->filled == 0)
		return 0;
	char key[WAL_KEY_MAX];
	bool existed;
	int rc = wal_key_partial(s->o->w.stanza, s->tli, s->segno, s->segsize, s->filled, key);
	if (rc == 0)
		rc = walobj_put(&s->o->w, key, s->tli, s->segsize, s->seg, s->filled, &existed);
	if (rc == -PW_E_EXISTS) {
		/* an unsigned leftover of a crash under this name: not durable, skip to the next */
		pw_warn("%s", pw_error_message());
		pw_error_clear();
		s->stored_partial = s->filled;
		return 0;
	}
	if (rc < 0)
		return rc;
	pw_debug("stored %s", key);
	s->stored_partial = s->filled;
	advance(s, s->segno * s->segsize + s->filled);
	return 0;
}

static int store_segment(struct ws *s)
{
	if (!s->seg_exists) {
		char key[WAL_KEY_MAX];
		bool existed;
		int rc = wal_key_segment(s->o->w.stanza, s->tli, s->segno, s->segsize, key);
		if (rc == 0)
			rc = walobj_put(&s->o->w, key, s->tli, s->segsize, s->seg, s->segsize,
			                &existed);
		if (rc < 0)
			return rc;
		pw_info("stored %s", key);
	}
	advance(s, (s->segno + 1) * s->segsize);
	return 0;
}

static int setup_segment(struct ws *s, uint32_t tli, uint64_t segno)
{
	int rc = seg_begin(s, tli, segno);
	char prefix[WAL_KEY_MAX];
	if (rc == 0 && !s->seg_exists)
		rc = wal_key_partial_prefix(s->o->w.stanza, tli, segno, s->segsize, prefix);
	if (rc == 0 && !s->seg_exists)
		rc = stor_list(s->o->w.repo, prefix, partial_max, s);
	return rc;
}

static int on_xlogdata(struct ws *s, const struct repl_msg *m)
{
	uint64_t expect = s->segno * s->segsize + s->filled;
	if (m->start != expect) {
		char a[24], b[24];
		repl_lsn_format(m->start, a);
		repl_lsn_format(expect, b);
		pw_error(PW_E_WAL, "the server sent WAL from %s where %s was expected", a, b);
		return pw_error_hint("pgward reconnects and resumes from the slot.");
	}
	const uint8_t *p = m->data;
	size_t n = m->len;
	while (n) {
		size_t room = s->segsize - s->filled, k = n < room ? n : room;
		memcpy(s->seg + s->filled, p, k);
		s->filled += (uint32_t)k;
		p += k;
		n -= k;
		if (s->filled == s->segsize) {
			int rc = store_segment(s);
			if (rc == 0)
				rc = setup_segment(s, s->tli, s->segno + 1);
			if (rc == 0)
				rc = send_status(s, true);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int store_history(struct ws *s, uint32_t tli)
{
	if (tli < 2)
		return 0;
	char name[32], key[WAL_KEY_MAX];
	struct pw_buf h = PW_BUF_INIT(REPL_HISTORY_MAX);
	bool existed;
	int rc = repl_timeline_history(s->c, tli, name, &h);
	if (rc == 0)
		rc = wal_key_history(s->o->w.stanza, tli, key);
	if (rc == 0)
		rc = walobj_put(&s->o->w, key, tli, 0, h.data ? h.data : (const uint8_t *)"", h.len,
		                &existed);
	if (rc == 0 && !existed)
		pw_info("stored %s", key);
	pw_buf_free(&h, 0);
	return rc;
}

/* The end of the WAL the repository holds for the stanza (on its newest timeline): objects
 * with their signature only (an object alone is not durable, and may be planted). */
static int repo_end(struct ws *s, uint32_t *tli, uint64_t *lsn)
{
	*tli = 0;
	*lsn = 0;
	struct wal_listing l;
	struct wal_coverage *c = NULL;
	size_t nc = 0;
	int rc = wal_listing_load(s->o->w.repo, s->o->w.stanza, &l);
	if (rc == 0)
		rc = wal_listing_coverage(&l, s->segsize, &c, &nc);
	if (rc == 0 && nc) {
		*tli = c[nc - 1].tli;
		*lsn = c[nc - 1].to;
	}
	pw_free(c);
	wal_listing_free(&l);
	return rc;
}

/* One connection's life: resume from the slot, stream until a drop, a signal or an error. */
static int session(struct ws *s, bool *stopped)
{
	const struct walstream_opts *o = s->o;
	struct repl_system sys;
	struct repl_slot slot;
	uint32_t segsize;
	int rc = pg_bound_reads(s->c, READ_MAX);
	if (rc == 0)
		rc = repl_segment_size(s->c, &segsize);
	if (rc == 0 && s->segsize && segsize != s->segsize) {
		pw_error(PW_E_WAL, "the server's WAL segment size changed");
		return pw_error_hint("The URL now names another cluster; use another stanza.");
	}
	if (rc == 0 && !s->seg) {
		s->segsize = segsize;
		s->seg = pw_malloc(segsize);
	}
	if (rc == 0)
		rc = repl_identify(s->c, &sys);
	if (rc == 0)
		rc = repl_read_slot(s->c, o->slot, &slot);
	bool created = false;
	if (rc == 0 && !slot.exists) {
		created = true;
		pw_info("creating physical replication slot \"%s\"", o->slot);
		rc = repl_create_slot(s->c, o->slot);
		if (rc == 0)
			rc = repl_read_slot(s->c, o->slot, &slot);
	}
	if (rc < 0)
		return rc;
	if (!slot.exists || !slot.physical || !slot.restart_lsn) {
		pw_error(PW_E_WAL, "replication slot \"%s\" is %s", o->slot,
		         !slot.exists     ? "missing"
		         : !slot.physical ? "not a physical slot"
		                          : "not reserving WAL");
		return pw_error_hint("Drop it (pg_drop_replication_slot) and let pgward create it, "
		                     "or name another with wal-slot.");
	}
	uint32_t tli = slot.restart_tli ? slot.restart_tli : sys.timeline;
	if (sys.xlogpos > slot.restart_lsn && sys.xlogpos - slot.restart_lsn > o->max_retained) {
		char h[32];
		pw_human_size(sys.xlogpos - slot.restart_lsn, " ", h, sizeof h);
		pw_warn("slot \"%s\" retains %s of WAL on the server, more than wal-max-retained",
		        o->slot, h);
	}
	uint64_t start = slot.restart_lsn;
	/* A slot that starts after the WAL the repository holds (a new slot: first run, or a
	 * promoted standby after a failover) would leave a gap: resume from the repository's
	 * end on its timeline while the server still has that WAL; the server leads us along
	 * the timeline history. */
	uint64_t have = s->durable;
	uint32_t have_tli = s->tli;
	if (!have && created)
		rc = repo_end(s, &have_tli, &have);
	if (rc < 0)
		return rc;
	if (have && have < start && have_tli && have_tli <= sys.timeline) {
		char a[24], b[24];
		repl_lsn_format(start, a);
		repl_lsn_format(have, b);
		pw_warn("slot \"%s\" starts at %s, after the repository's end %s: resuming from "
		        "the repository's end",
		        o->slot, a, b);
		start = have;
		tli = have_tli;
		s->durable = have;
	} else if (!created && (!s->durable || slot.restart_lsn > s->durable)) {
		/* an existing slot is where a status update put it: WAL the repository holds */
		s->durable = slot.restart_lsn;
	}
	/* a slot created now starts at the server's last checkpoint, none of it stored yet:
	 * nothing is reported as flushed (0: the server keeps the slot where it is) until the
	 * first object and its signature are */
	s->sent = 0;
	rc = store_history(s, sys.timeline);
	if (rc == 0)
		rc = setup_segment(s, tli, start / s->segsize);
	if (rc == 0)
		rc = repl_start(s->c, o->slot, s->segno * s->segsize, tli);
	if (rc == 0) {
		char l[24];
		repl_lsn_format(s->segno * s->segsize, l);
		pw_info("streaming WAL from %s on timeline %" PRIu32 " into stanza \"%s\"", l, tli,
		        o->w.stanza);
	}
	s->next_partial = pw_monotonic() + (double)o->flush_interval;
	while (rc == 0) {
		if (pw_interrupted()) {
			/* finish: the open segment's partial, then tell the server */
			pw_set_interrupted(0);
			*stopped = true;
			rc = s->filled == s->segsize ? store_segment(s) : store_partial(s);
			if (rc == 0)
				rc = send_status(s, true);
			bool next;
			uint32_t t;
			uint64_t st;
			if (rc == 0)
				(void)repl_end_stream(s->c, &next, &t, &st);
			pw_error_clear();
			return rc;
		}
		uint8_t *msg;
		size_t len;
		bool done;
		/* wait for the next message at most until the next partial is due (and 1 s) */
		double wait = s->next_partial - pw_monotonic();
		int wait_ms = wait >= 1.0 ? 1000 : wait <= 0.001 ? 1 : (int)(wait * 1000.0);
		rc = pg_copy_get(s->c, wait_ms, &msg, &len, &done);
		if (rc < 0 && pw_interrupted()) {
			/* a signal broke a wait: stop as above */
			pw_error_clear();
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		if (msg) {
			struct repl_msg m;
			rc = repl_parse_msg(msg, len, &m);
			if (rc == 0) {
				if (m.wal_end > s->wal_end)
					s->wal_end = m.wal_end;
				if (m.kind == REPL_MSG_XLOGDATA)
					rc = on_xlogdata(s, &m);
				else if (m.reply_requested)
					rc = send_status(s, true);
			}
			pg_copy_free(msg);
		}
		if (rc == 0 && done) {
			/* the end of a timeline: keep what we have of the segment, follow the next */
			bool next;
			uint32_t ntli;
			uint64_t nstart;
			rc = store_partial(s);
			if (rc == 0)
				rc = repl_end_stream(s->c, &next, &ntli, &nstart);
			if (rc == 0 && !next) {
				pw_error(PW_E_DB, "the server ended the replication stream");
				rc = pw_error_hint("pgward reconnects.");
			}
			if (rc == 0 && (ntli <= s->tli || nstart / s->segsize < s->segno)) {
				pw_error(PW_E_WAL,
				         "the server switched to timeline %" PRIu32 " from %" PRIu32
				         " backwards",
				         ntli, s->tli);
				rc = pw_error_hint("Check the server's timeline history.");
			}
			if (rc == 0)
				rc = store_history(s, ntli);
			if (rc == 0) {
				pw_info("following timeline %" PRIu32, ntli);
				rc = setup_segment(s, ntli, nstart / s->segsize);
			}
			if (rc == 0)
				rc = repl_start(s->c, o->slot, s->segno * s->segsize, ntli);
			continue;
		}
		/* Partials on a fixed cadence of monotonic time: the next one is due an interval
		 * after this one began (not after it was stored, and not rounded to whole seconds
		 * as pw_now() is), so WAL waits at most wal-flush-interval plus one store. */
		double now = pw_monotonic();
		if (rc == 0 && now >= s->next_partial) {
			s->next_partial = now + (double)o->flush_interval;
			rc = store_partial(s);
		}
		if (rc == 0)
			rc = send_status(s, false);
		if (rc < 0 && pw_interrupted()) {
			/* a signal broke a write to the repository: store again, then stop */
			pw_error_clear();
			rc = 0;
		}
	}
	return rc;
}

static bool retryable(int rc)
{
	return rc == -PW_E_DB || rc == -PW_E_STORAGE || rc == -PW_E_IO;
}

int walstream_run(const struct walstream_opts *o)
{
	if (!repl_slot_name_valid(o->slot)) {
		pw_error(PW_E_CONFIG, "invalid wal-slot \"%s\"", o->slot);
		return pw_error_hint("Slot names are 1-63 lowercase letters, digits and '_'.");
	}
	struct ws s = {.o = o};
	unsigned backoff = 1;
	int rc = 0;
	bool streamed = false; /* a session has run: from now on, failures are retried */
	for (;;) {
		bool stopped = false, connected = false;
		rc = o->connect(o->arg, &s.c);
		if (rc == 0) {
			connected = true;
			uint64_t before = s.durable;
			rc = session(&s, &stopped);
			if (s.durable > before)
				backoff = 1;
		}
		pg_close(s.c);
		s.c = NULL;
		if (stopped || pw_interrupted())
			break;
		/* the first connection fails fast (a wrong URL, a missing pg_hba.conf line); later
		 * ones are a failover in progress (an unreachable server, a URL file being
		 * rewritten), retried; a pin or TLS failure never is */
		if (!connected && (!streamed || rc == -PW_E_TLS))
			break;
		if (connected && !retryable(rc))
			break;
		if (connected)
			streamed = true;
		pw_warn("%s; reconnecting in %u s", pw_error_message(), backoff);
		pw_error_clear();
		for (unsigned i = 0; i < backoff * 10 && !pw_interrupted(); i++)
			usleep(100000);
		if (pw_interrupted()) {
			rc = 0;
			break;
		}
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
	if (pw_interrupted()) {
		pw_set_interrupted(0);
		rc = 0;
	}
	pw_free(s.seg);
	return rc;
}
