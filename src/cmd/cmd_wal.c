/* cmd_wal.c - wal-stream, wal-fetch (restore_command), wal-push (archive_command), wal-list. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/safefile.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "filter/keyfile.h"
#include "jobs/walprefetch.h"
#include "jobs/walstream.h"
#include "pg/pg.h"
#include "pg/privs.h"
#include "pg/replication.h"
#include "repo/catalog.h"
#include "repo/trust.h"
#include "repo/wal.h"
#include "repo/walrepo.h"
#include "storage/storage.h"

/* wal-fetch: PostgreSQL aborts recovery on an exit status above 125 (and treats any other
 * failure as "not in the archive", which would end recovery early as if successful): every
 * failure but "not there" becomes RECOVERY_STOP (126). */

static int load_sign_key(struct pw_ctx *ctx, struct minisign_seckey *sk)
{
	const char *p = pw_cfg_str(ctx->cfg, PW_OPT_SIGN_KEY);
	if (!p) {
		pw_error(PW_E_SIGNATURE, "WAL needs a sign-key");
		return pw_error_hint("Recovery replays only signed WAL (replaying WAL runs on the "
		                     "data): make a key with \"pgward keygen --sign\" and set "
		                     "sign-key.");
	}
	return repo_sign_key_load(p, sk);
}

static int check_level(struct pw_ctx *ctx, int *level)
{
	long long l = pw_cfg_int(ctx->cfg, PW_OPT_COMPRESS_LEVEL);
	if (l < 1 || l > 19) {
		pw_error(PW_E_CONFIG, "compress-level must be 1-19");
		return pw_error_hint("Check compress-level.");
	}
	*level = (int)l;
	return 0;
}

/* ---- wal-stream ---- */

struct stream_ctx {
	struct pw_ctx *ctx;
	unsigned connects;
};

static int repl_connect(void *arg, struct pg_conn **out)
{
	struct stream_ctx *sc = arg;
	struct pw_ctx *ctx = sc->ctx;
	/* resolved again on every connection: url-env / url-file may name a new primary */
	int rc = pw_db_connect_replication(ctx, "pgward-wal", out);
	sc->connects++;
	if (rc == -PW_E_DB && strstr(pw_error_message(), "replication connection"))
		pw_error_hint("Replication connections need their own pg_hba.conf line, for the "
		              "\"replication\" database: hostssl replication ROLE ADDRESS "
		              "scram-sha-256 (see docs/pitr.md).");
	return rc;
}

int cmd_wal_stream(struct pw_ctx *ctx)
{
	struct pw_keyset ks = {0};
	struct minisign_seckey sk;
	struct stor *repo = NULL;
	struct pg_conn *c = NULL;
	char stanza[64], slot[REPL_SLOT_MAX + 1];
	int level = 3;
	bool have_sk = false;
	int rc = pw_load_recipients(ctx, &ks, "WAL");
	if (rc == 0 && (rc = load_sign_key(ctx, &sk)) == 0)
		have_sk = true;
	if (rc == 0)
		rc = check_level(ctx, &level);
	long long flush = pw_cfg_int(ctx->cfg, PW_OPT_WAL_FLUSH_INTERVAL);
	if (rc == 0 && (flush < 1 || flush > 3600)) {
		pw_error(PW_E_CONFIG, "wal-flush-interval must be 1-3600 seconds");
		rc = pw_error_hint("Check wal-flush-interval.");
	}
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	/* the privilege check runs on an ordinary read-only session */
	if (rc == 0)
		rc = pw_db_connect(ctx, true, false, &c);
	if (rc == 0)
		rc = pw_resolve_stanza(ctx, c, stanza, sizeof stanza);
	if (rc == 0)
		rc = pw_replication_preflight(ctx, c, "Stream WAL", NULL);
	pg_close(c);
	const char *s = pw_cfg_str(ctx->cfg, PW_OPT_WAL_SLOT);
	if (rc == 0 && s) {
		pw_strlcpy(slot, s, sizeof slot);
		if (strlen(s) >= sizeof slot || !repl_slot_name_valid(s)) {
			pw_error(PW_E_CONFIG, "invalid wal-slot \"%s\"", s);
			rc =
			    pw_error_hint("Slot names are 1-63 lowercase letters, digits and '_'.");
		}
	} else if (rc == 0) {
		/* pgward_<stanza>: the stanza's letters lowercased, anything else '_' */
		snprintf(slot, sizeof slot, "pgward_%.56s", stanza);
		for (char *p = slot; *p; p++) {
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
			else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
				*p = '_';
		}
	}
	json_object_set_new(ctx->audit, "stanza", json_string(rc == 0 ? stanza : ""));
	json_object_set_new(ctx->audit, "slot", json_string(rc == 0 ? slot : ""));
	if (rc == 0) {
		struct stream_ctx sc = {.ctx = ctx};
		struct walstream_opts o = {
		    .w = {.repo = repo,
		          .stanza = stanza,
		          .rcpts = ks.rcpts,
		          .nrcpts = ks.nrcpts,
		          .sk = &sk,
		          .level = level},
		    .slot = slot,
		    .flush_interval = (unsigned)flush,
		    .max_retained = pw_cfg_size(ctx->cfg, PW_OPT_WAL_MAX_RETAINED),
		    .connect = repl_connect,
		    .arg = &sc,
		};
		fprintf(stderr,
		        "pgward: streaming WAL of stanza \"%s\" through slot \"%s\" into %s\n",
		        stanza, slot, stor_describe(repo));
		rc = walstream_run(&o);
		if (rc == 0)
			fprintf(stderr, "pgward: stopped; the open segment is stored\n");
	}
	if (have_sk)
		minisign_seckey_wipe(&sk);
	stor_free(repo);
	pw_keyset_free(&ks);
	return rc;
}

/* ---- wal-fetch ---- */

struct newest {
	const char *stanza;
	char fname[25];
	uint32_t best_end; /* the largest partial of fname that has a signature beside it */
	uint32_t pending;  /* a partial object seen, its signature not yet (key order) */
	bool later;        /* WAL after fname is stored on this timeline */
};

static int scan_partials(void *arg, const struct stor_info *info)
{
	struct newest *nw = arg;
	struct wal_obj o;
	if (wal_key_parse(nw->stanza, info->key, &o) != 0)
		return 0;
	char name[25];
	snprintf(name, sizeof name, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, o.tli, o.log, o.seg);
	int cmp = strcmp(name, nw->fname);
	/* listings are in key order: an object comes right before its .minisig; an unsigned
	 * partial (a crash between the two writes) is passed over for a smaller signed one */
	if (o.kind == WAL_PARTIAL && cmp == 0 && !o.signature)
		nw->pending = o.end;
	else if (o.kind == WAL_PARTIAL && cmp == 0 && o.end == nw->pending && o.end > nw->best_end)
		nw->best_end = o.end;
	if (cmp > 0 && !o.signature)
		nw->later = true;
	return 0;
}

/* what one wal-fetch loaded, kept for the prefetcher it may start */
struct fetch_state {
	struct pw_keyset ks;
	struct repo_signers signers;
	struct stor *repo;
	int spool;        /* the spool directory, or -1 */
	uint32_t segsize; /* of the segment served whole (0: a partial or a history file) */
	bool from_spool;
};

static int load_identities(struct pw_ctx *ctx, struct pw_keyset *ks)
{
	const char *const *vals;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_IDENTITY, &vals);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_identity_file(ks, vals[i], pw_ask_passphrase, ctx->cfg);
	if (rc == 0 && !ks->nids) {
		pw_error(PW_E_KEY, "wal-fetch needs an identity");
		rc = pw_error_hint("Give the backup identity with --identity FILE.");
	}
	return rc;
}

static int fetch(struct pw_ctx *ctx, struct fetch_state *fs, const char *stanza, const char *fname,
                 const char *path)
{
	struct pw_buf plain = PW_BUF_INIT(REPL_SEG_MAX);
	char key[WAL_KEY_MAX];
	uint32_t tli = 0, segsize = 0;
	bool history = false, unsig = false;
	struct pw_error_saved saved;
	int rc = wal_key_for_file(stanza, fname, &tli, &history, key);
	if (rc == 0)
		rc = pw_load_signers(ctx, &fs->signers);
	if (rc == 0 && !fs->signers.n) {
		pw_error(PW_E_SIGNATURE, "wal-fetch needs a trusted-signer");
		rc = pw_error_hint("Recovery replays only signed WAL: set trusted-signer to the "
		                   "public key of the host that runs wal-stream.");
	}
	if (rc == 0)
		rc = pw_open_repo(ctx, &fs->repo);
	if (rc == 0 && fs->spool >= 0 && !history &&
	    walspool_take(fs->spool, fs->repo, stanza, fname, key, tli, &fs->signers, path,
	                  &fs->segsize) == 0) {
		fs->from_spool = true;
		return 0; /* checked against the signed length and SHA-256, renamed to %p */
	}
	if (rc == 0)
		rc = load_identities(ctx, &fs->ks);
	if (rc == 0)
		rc = walobj_get(fs->repo, stanza, key, tli, &fs->signers, fs->ks.ids, fs->ks.nids,
		                &plain, &segsize, &unsig);
	if (rc == 0 && !history && wal_segsize_valid(segsize) && plain.len == segsize)
		fs->segsize = segsize;
	struct stor *repo = fs->repo;
	if (rc == -PW_E_SIGNATURE && unsig && !history) {
		/* a crash between a segment and its signature: wal-stream stored the segment as
		 * its full-size partial, which is served below (and if there is none, the object
		 * stays refused) */
		pw_error_save(&saved);
		rc = -PW_E_NOTFOUND;
	}
	if (rc == -PW_E_NOTFOUND && !history) {
		/* the newest segment may exist only as partials: serve the largest, padded */
		struct newest nw = {.stanza = stanza};
		pw_strlcpy(nw.fname, fname, sizeof nw.fname);
		char prefix[WAL_KEY_MAX];
		snprintf(prefix, sizeof prefix, "%s/" WAL_DIR "/%08" PRIX32 "/", stanza, tli);
		rc = stor_list(repo, prefix, scan_partials, &nw);
		bool gap = false;
		if (rc == 0 && unsig && !nw.best_end) {
			/* no replacement: the unsigned object is refused */
			pw_error_restore(&saved);
			rc = -PW_E_SIGNATURE;
		} else if (rc == 0 && nw.best_end) {
			snprintf(key, sizeof key,
			         "%s/" WAL_DIR "/%08" PRIX32
			         "/%s.partial.%08" PRIX32 WAL_OBJ_SUFFIX,
			         stanza, tli, fname, nw.best_end);
			rc = walobj_get(repo, stanza, key, tli, &fs->signers, fs->ks.ids,
			                fs->ks.nids, &plain, &segsize, NULL);
			if (rc == -PW_E_NOTFOUND) {
				pw_error(PW_E_WAL, "WAL object \"%s\" vanished while reading it",
				         key);
				rc =
				    pw_error_hint("Retry; check that nothing removes WAL objects.");
			}
			if (rc == 0 && (segsize < REPL_SEG_MIN || segsize > REPL_SEG_MAX ||
			                (segsize & (segsize - 1)) || plain.len > segsize)) {
				pw_error(PW_E_WAL, "WAL object \"%s\" names no valid segment size",
				         key);
				rc = pw_error_hint("Do not replay it.");
			}
			/* a short partial stands in only for the newest segment; never for a complete
			 * segment whose object is unsigned (that would end recovery early) */
			gap = rc == 0 && (nw.later || unsig) && plain.len < segsize;
			if (rc == 0 && !gap && plain.len < segsize) {
				size_t pad = segsize - plain.len;
				rc = pw_buf_reserve(&plain, pad); /* exactly: no doubling to 2x */
				if (rc == 0) {
					uint8_t *z = pw_calloc(1, pad);
					rc = pw_buf_append(&plain, z, pad);
					pw_free(z);
				}
				pw_info("served the partial %s padded to %" PRIu32 " bytes", key,
				        segsize);
			}
		} else if (rc == 0) {
			gap = nw.later;
			if (!gap)
				rc = -PW_E_NOTFOUND;
		}
		if (gap && unsig) {
			/* the unsigned object has no full-size replacement: that is the error */
			pw_error_restore(&saved);
			rc = -PW_E_SIGNATURE;
		} else if (gap) {
			/* not the end of the archive: quiet here would end recovery early as if
			 * it had reached the end */
			if (nw.best_end)
				pw_error(PW_E_WAL,
				         "WAL segment %s is stored only up to byte %" PRIu32
				         " but later WAL exists on its timeline: a gap",
				         fname, nw.best_end);
			else
				pw_error(PW_E_WAL,
				         "WAL segment %s is missing but later WAL exists on its "
				         "timeline: a gap",
				         fname);
			rc = pw_error_hint(
			    "Recovery cannot pass a gap; recover to a target before it, "
			    "or find the missing segment (\"pgward wal-list\").");
		}
	}
	/* %p complete (a new file renamed into place) but not fsynced: PostgreSQL reads a
	 * restored segment once and, after a crash, asks restore_command for it again (it
	 * fsyncs a restored file itself when it keeps one: KeepFileRestoredFromArchive);
	 * pgBackRest's archive-get writes it with noSyncFile and noSyncPath for that reason.
	 * The fsync stalled replay by 60-160 ms a segment on a busy disk. */
	struct pw_safefile *of = NULL;
	if (rc == 0)
		rc = pw_safefile_open(&of, path, 0600, PW_SAFE_NO_SYNC);
	if (rc == 0)
		rc = pw_write_all(pw_safefile_fd(of), plain.data ? plain.data : (const uint8_t *)"",
		                  plain.len, path);
	if (rc == 0)
		rc = pw_safefile_commit(of);
	pw_safefile_free(of);
	pw_buf_free(&plain, 1);
	return rc;
}

static void fetch_state_free(struct fetch_state *fs)
{
	if (fs->spool >= 0)
		close(fs->spool);
	stor_free(fs->repo);
	repo_signers_free(&fs->signers);
	pw_keyset_free(&fs->ks);
}

/* After segment fname was served: one detached process fetches the next segments into the
 * spool, unless one runs (its lock). It stays in PostgreSQL's process group (the server's
 * stop signals reach it; PostgreSQL waits for the command it started, not for it), keeps
 * no descriptor of the server's open, and ends with _exit: the parent's buffers, audit
 * record and exit status are the parent's. */
static void start_prefetch(struct pw_ctx *ctx, struct fetch_state *fs, const char *stanza,
                           const char *fname, unsigned n)
{
	int lk;
	if (!walspool_lock(fs->spool, &lk)) {
		walspool_hint(fs->spool, fname); /* one runs: it skips what was served */
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0) { /* the parent (or no child): the child holds the lock */
		close(lk);
		return;
	}
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd <= 2 && nul >= 0; fd++)
		dup2(nul, fd);
	if (nul > 2)
		close(nul);
	/* a fresh connection: the parent's (libcurl, TLS) closes as the parent exits */
	stor_free(fs->repo);
	fs->repo = NULL;
	int rc = fs->ks.nids ? 0 : load_identities(ctx, &fs->ks);
	if (rc == 0)
		rc = pw_open_repo(ctx, &fs->repo);
	if (rc == 0) {
		struct walprefetch_opts o = {.repo = fs->repo,
		                             .stanza = stanza,
		                             .signers = &fs->signers,
		                             .ids = fs->ks.ids,
		                             .nids = fs->ks.nids,
		                             .dfd = fs->spool,
		                             .after = fname,
		                             .segsize = fs->segsize,
		                             .n = n};
		walprefetch_run(&o);
	}
	fetch_state_free(fs);
	close(lk);
	_exit(0);
}

int cmd_wal_fetch(struct pw_ctx *ctx)
{
	const char *fname = pw_config_pos(ctx->cfg, 1), *path = pw_config_pos(ctx->cfg, 2);
	const char *spool = pw_cfg_str(ctx->cfg, PW_OPT_WAL_SPOOL);
	long long n = pw_cfg_int(ctx->cfg, PW_OPT_WAL_PREFETCH);
	char stanza[64];
	struct fetch_state fs = {.spool = -1};
	int rc = 0;
	if (n < 0 || n > WALPREFETCH_MAX) {
		pw_error(PW_E_CONFIG, "wal-prefetch must be 0-%d", WALPREFETCH_MAX);
		rc = pw_error_hint("Check wal-prefetch (0 turns prefetching off).");
	}
	if (rc == 0)
		rc = pw_resolve_stanza(ctx, NULL, stanza, sizeof stanza);
	if (rc == 0 && spool && n > 0 && walspool_open(spool, true, &fs.spool) < 0) {
		/* never fatal: the spool only saves time; an unsafe one is not used */
		pw_warn("%s; fetching without prefetch", pw_error_message());
		pw_error_clear();
	}
	if (rc == 0)
		rc = fetch(ctx, &fs, stanza, fname, path);
	if (rc == 0 && fs.from_spool)
		pw_info("%s served from the prefetch spool", fname);
	if (rc == 0 && fs.spool >= 0 && fs.segsize)
		start_prefetch(ctx, &fs, stanza, fname, (unsigned)n);
	fetch_state_free(&fs);
	size_t fl = fname ? strlen(fname) : 0;
	if (rc == -PW_E_SIGNATURE && fl == 16 && strcmp(fname + 8, ".history") == 0) {
		/* a timeline history whose signature does not check is never followed: "not
		 * stored", so PostgreSQL's probe for newer timelines stops before it and recovery
		 * stays on the timelines it can prove (restore's plan refuses --latest when WAL
		 * is stored past it; docs/pitr.md) */
		pw_warn("%s is not followed: %s", fname, pw_error_message());
		pw_error_clear();
		return -PW_E_NOTFOUND;
	}
	if (rc == -PW_E_NOTFOUND) {
		/* the end of the archive: PostgreSQL asks for what may not exist, quietly */
		pw_error_clear();
		pw_info("%s is not in the repository", fname);
		return -PW_E_NOTFOUND;
	}
	if (rc < 0 && rc != -PW_E_USAGE && rc != -PW_E_CONFIG)
		return -PW_E_RECOVERY_STOP;
	return rc;
}

/* ---- wal-push ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int cmd_wal_push(struct pw_ctx *ctx)
{
	const char *path = pw_config_pos(ctx->cfg, 1);
	const char *fname = strrchr(path, '/');
	fname = fname ? fname + 1 : path;
	if (ends_with(fname, ".partial") || ends_with(fname, ".backup")) {
		pw_warn("skipped %s: wal-push stores segments and history files", fname);
		return 0;
	}
	char stanza[64], key[WAL_KEY_MAX];
	struct pw_keyset ks = {0};
	struct minisign_seckey sk;
	struct stor *repo = NULL;
	struct pw_buf data = PW_BUF_INIT(REPL_SEG_MAX);
	uint32_t tli = 0, segsize = 0;
	bool history = false, have_sk = false, existed = false;
	int level = 3;
	int rc = pw_resolve_stanza(ctx, NULL, stanza, sizeof stanza);
	if (rc == 0)
		rc = wal_key_for_file(stanza, fname, &tli, &history, key);
	if (rc == 0)
		rc = pw_load_recipients(ctx, &ks, "WAL");
	if (rc == 0 && (rc = load_sign_key(ctx, &sk)) == 0)
		have_sk = true;
	if (rc == 0)
		rc = check_level(ctx, &level);
	if (rc == 0)
		rc = pw_read_file(path, &data);
	if (rc == 0 && !history) {
		segsize = (uint32_t)data.len;
		if (data.len < REPL_SEG_MIN || (data.len & (data.len - 1)) != 0) {
			pw_error(PW_E_WAL, "\"%s\" is not a whole WAL segment (%zu bytes)", path,
			         data.len);
			rc = pw_error_hint("archive_command passes complete segments: check the "
			                   "command (%%p, not a partial file).");
		}
	}
	if (rc == 0)
		rc = pw_open_repo(ctx, &repo);
	if (rc == 0) {
		struct walobj_writer w = {.repo = repo,
		                          .stanza = stanza,
		                          .rcpts = ks.rcpts,
		                          .nrcpts = ks.nrcpts,
		                          .sk = &sk,
		                          .level = level};
		rc = walobj_put(&w, key, tli, segsize, data.data ? data.data : (const uint8_t *)"",
		                data.len, &existed);
	}
	if (rc == 0)
		pw_info("%s %s", existed ? "already stored:" : "stored", key);
	json_object_set_new(ctx->audit, "object", json_string(rc == 0 ? key : ""));
	if (have_sk)
		minisign_seckey_wipe(&sk);
	pw_buf_free(&data, 1);
	stor_free(repo);
	pw_keyset_free(&ks);
	return rc;
}

/* ---- wal-list ---- */

int cmd_wal_list(struct pw_ctx *ctx)
{
	struct stor *repo = NULL;
	struct repo_signers signers = {0};
	char stanza[64];
	struct wal_listing l = {0};
	struct wal_coverage *cov = NULL;
	size_t nc = 0;
	uint32_t segsize = 0;
	time_t newest = 0;
	int rc = pw_open_repo(ctx, &repo);
	if (rc == 0)
		rc = pw_resolve_stanza(ctx, NULL, stanza, sizeof stanza);
	if (rc == 0)
		rc = pw_load_signers(ctx, &signers);
	if (rc == 0)
		rc = wal_listing_load(repo, stanza, &l);
	/* the segment size turns object names into LSNs: only from a signature that checks
	 * (a forged one would move every LSN shown); the newest time likewise, never the
	 * storage's object time */
	if (rc == 0 && l.n)
		segsize = wal_listing_segsize(repo, &l, &signers, NULL);
	/* the coverage of what is durable: each object with its signature (wal-stream reports
	 * WAL as flushed only once both are stored, and wal-fetch serves nothing else) */
	if (rc == 0 && segsize)
		rc = wal_listing_coverage(&l, segsize, &cov, &nc);
	if (rc == 0 && segsize)
		newest = walrepo_end_time(repo, &l, segsize, cov, nc, &signers);
	if (rc == 0 && l.n && !segsize)
		pw_warn("%s: the coverage of %zu WAL objects is not shown: %s", stanza, l.n,
		        signers.n ? "no WAL object's signature checks (\"pgward verify\" names "
		                    "the problems)"
		                  : "it needs trusted-signer (the segment size is read only from a "
		                    "checked signature)");
	bool json = rc == 0 && strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	char when[PW_TIME_MAX] = "";
	if (newest)
		pw_time_format(newest, PW_TIME_ISO, when);
	if (rc == 0 && json) {
		json_t *root = json_object(), *tls = json_array();
		json_object_set_new(root, "stanza", json_string(stanza));
		json_object_set_new(root, "objects", json_integer((json_int_t)l.n));
		json_object_set_new(root, "segment_size",
		                    segsize ? json_integer(segsize) : json_null());
		json_object_set_new(root, "newest_object_time",
		                    newest ? json_string(when) : json_null());
		for (size_t i = 0; i < nc; i++) {
			char a[24], b[24];
			json_t *t = json_object(), *gaps = json_array();
			repl_lsn_format(cov[i].from, a);
			repl_lsn_format(cov[i].to, b);
			json_object_set_new(t, "timeline", json_integer(cov[i].tli));
			json_object_set_new(t, "from_lsn", json_string(a));
			json_object_set_new(t, "to_lsn", json_string(b));
			json_object_set_new(t, "ends_with_partial",
			                    json_boolean(cov[i].ends_partial));
			json_object_set_new(t, "history_stored", json_boolean(cov[i].history));
			json_object_set_new(t, "segments",
			                    json_integer((json_int_t)cov[i].segments));
			json_object_set_new(t, "partials",
			                    json_integer((json_int_t)cov[i].partials));
			json_object_set_new(t, "gap_count", json_integer((json_int_t)cov[i].ngaps));
			for (size_t g = 0; g < cov[i].ngaps && g < WAL_GAPS_MAX; g++) {
				json_t *gj = json_object();
				repl_lsn_format(cov[i].gap[g].from, a);
				repl_lsn_format(cov[i].gap[g].to, b);
				json_object_set_new(gj, "from_lsn", json_string(a));
				json_object_set_new(gj, "to_lsn", json_string(b));
				json_array_append_new(gaps, gj);
			}
			json_object_set_new(t, "gaps", gaps);
			json_array_append_new(tls, t);
		}
		json_object_set_new(root, "timelines", tls);
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		printf("%s\n", s);
		free(s);
		json_decref(root);
	} else if (rc == 0) {
		printf("stanza %s: WAL", stanza);
		if (!l.n)
			printf(": none stored\n");
		else if (!segsize)
			printf(": %zu objects, coverage unknown (no checked signature)\n", l.n);
		else
			printf(" (segments of %" PRIu32 " MiB%s%s)\n", segsize >> 20,
			       newest ? ", newest object stored " : "", when);
		for (size_t i = 0; i < nc; i++) {
			char a[24], b[24];
			repl_lsn_format(cov[i].from, a);
			repl_lsn_format(cov[i].to, b);
			printf("  timeline %" PRIu32 ": from %s to %s%s, %zu segment%s, %s\n",
			       cov[i].tli, a, b,
			       cov[i].ends_partial ? " (last durable partial)" : "",
			       cov[i].segments, cov[i].segments == 1 ? "" : "s",
			       cov[i].ngaps ? "GAPS:" : "no gaps");
			for (size_t g = 0; g < cov[i].ngaps && g < WAL_GAPS_MAX; g++) {
				repl_lsn_format(cov[i].gap[g].from, a);
				repl_lsn_format(cov[i].gap[g].to, b);
				printf("    missing %s to %s\n", a, b);
			}
			if (cov[i].ngaps > WAL_GAPS_MAX)
				printf("    ... and %zu more gaps\n", cov[i].ngaps - WAL_GAPS_MAX);
			if (!cov[i].ngaps) {
				repl_lsn_format(cov[i].from, a);
				repl_lsn_format(cov[i].to, b);
				printf("    you can recover to any moment from %s to %s on this "
				       "timeline, "
				       "from a base backup taken within it\n",
				       a, b);
			}
		}
	}
	pw_free(cov);
	wal_listing_free(&l);
	repo_signers_free(&signers);
	stor_free(repo);
	return rc;
}
