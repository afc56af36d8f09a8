/* commit.c - what every backup kind shares: the storage sink, the stanza lock and the commit
 * point (see commit.h). */
#include "jobs/commit.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/minisign.h"
#include "crypto/prim.h"
#include "pg/pg.h"
#include "repo/catalog.h"
#include "repo/trust.h"

/* ---- the storage writer as the chain's sink ---- */

struct stor_sink {
	struct flt base;
	struct stor_writer *w;
	uint64_t *stored;
};

static int ss_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct stor_sink *s = (struct stor_sink *)f;
	*s->stored += n;
	return stor_write(s->w, p, n);
}

static int ss_finish(struct flt *f)
{
	(void)f;
	return 0;
}

static void ss_free(struct flt *f)
{
	pw_free(f);
}

static const struct flt_ops ss_ops = {"storage-sink", ss_write, ss_finish, ss_free};

struct flt *job_stor_sink_new(struct stor_writer *w, uint64_t *stored)
{
	struct stor_sink *s = pw_calloc(1, sizeof *s);
	s->base.ops = &ss_ops;
	s->w = w;
	s->stored = stored;
	return &s->base;
}

/* ---- one backup of a stanza at a time ---- */

int job_stanza_lock(struct pg_conn *c, const char *stanza, bool *elsewhere)
{
	*elsewhere = false;
	struct pg_result *pr = NULL;
	const char *lockp[] = {stanza};
	int rc =
	    pg_query(c, "select pg_try_advisory_lock(hashtextextended('pgward backup ' || $1, 0))",
	             1, lockp, &pr);
	if (rc < 0)
		return rc;
	bool locked = *pg_value(pr, 0, 0) == 't';
	pg_result_free(pr);
	if (!locked) {
		*elsewhere = true;
		pw_error(PW_E_STORAGE, "another backup of stanza \"%s\" is running", stanza);
		return pw_error_hint(
		    "Wait for it to finish; two backups of one stanza never run at "
		    "once.");
	}
	return 0;
}

void job_stanza_unlock(struct pg_conn *c, const char *stanza)
{
	/* keeps the error being reported: the lock also goes with the session */
	struct pw_error_saved e;
	pw_error_save(&e);
	struct pg_result *pr = NULL;
	const char *lockp[] = {stanza};
	if (pg_query(c, "select pg_advisory_unlock(hashtextextended('pgward backup ' || $1, 0))", 1,
	             lockp, &pr) == 0)
		pg_result_free(pr);
	pw_error_restore(&e);
}

/* ---- the commit point ---- */

/* Where the backup comes from: host and port as connected, and whether the server was a
 * standby (pg_is_in_recovery). The database name stays in the encrypted details: the
 * manifest is plaintext. */
static void record_source(struct pg_conn *c, struct manifest_source *src)
{
	src->present = true;
	const char *h = pg_param(c, "host");
	if (h)
		pw_str_printable(src->host, sizeof src->host, h);
	const char *p = pg_param(c, "port");
	uint64_t port = 0;
	if (p && pw_parse_u64(p, &port) == 0 && port > 0 && port < 65536)
		src->port = (int)port;
	pw_best_effort("reading the connection's port");
	struct pg_result *r = NULL;
	if (pg_query(c, "select pg_is_in_recovery()", 0, NULL, &r) == 0 && pg_nrows(r) == 1)
		src->standby = strcmp(pg_value(r, 0, 0), "t") == 0;
	pg_result_free(r);
	pw_best_effort("asking the server whether it is a standby");
}

int job_manifest_fill(struct manifest *m, const struct backup_opts *o, const char *id,
                      enum manifest_kind kind, time_t started, time_t finished,
                      const struct stor_write_opts *wo)
{
	m->format = MANIFEST_FORMAT;
	pw_strlcpy(m->tool, "pgward " PGWARD_VERSION, sizeof m->tool);
	pw_strlcpy(m->stanza, o->stanza, sizeof m->stanza);
	pw_strlcpy(m->backup_id, id, sizeof m->backup_id);
	m->kind = kind;
	m->started = started;
	m->finished = finished;
	struct pg_result *vr = NULL;
	if (pg_query(o->conn, "show server_version", 0, NULL, &vr) == 0) {
		pw_str_printable(m->server_version, sizeof m->server_version, pg_value(vr, 0, 0));
		pg_result_free(vr);
	}
	pw_best_effort("asking the server its version");
	pw_strlcpy(m->role, o->preflight ? o->preflight->role : pg_current_user(o->conn),
	           sizeof m->role);
	m->privileged = o->privileged;
	pw_strlcpy(m->compression, "zstd", sizeof m->compression);
	m->compression_level = o->level;
	pw_strlcpy(m->encryption, "age-v1", sizeof m->encryption);
	int rc = 0;
	for (size_t i = 0; i < o->nrcpts && rc == 0; i++) {
		uint8_t h[32];
		char hex[65], fp[80];
		pw_sha256(o->rcpts[i].pub, 32, h);
		pw_hex_encode(h, 16, hex);
		snprintf(fp, sizeof fp, "sha256:%s", hex);
		rc = manifest_add_recipient(m, fp);
	}
	for (size_t i = 0; i < o->ntags && rc == 0; i++)
		rc = manifest_add_tag(m, o->tags[i].name, o->tags[i].keep_seconds);
	if (rc < 0)
		return rc;
	if (o->lock_days > 0) {
		m->lock_until = wo->lock_until;
		m->lock_mode = o->lock_mode == STOR_LOCK_COMPLIANCE ? MANIFEST_LOCK_COMPLIANCE
		                                                    : MANIFEST_LOCK_GOVERNANCE;
	}
	if (o->audit_anchor && o->audit_anchor->present)
		m->audit_anchor = *o->audit_anchor;
	record_source(o->conn, &m->source);
	return 0;
}

int job_manifest_commit(const struct backup_opts *o, const char *id, const struct manifest *m,
                        time_t finished, const struct stor_write_opts *wo, char **text)
{
	*text = NULL;
	struct pw_buf mtext = PW_BUF_INIT(REPO_MANIFEST_MAX);
	char mkey[512];
	int rc = manifest_encode(m, &mtext);
	if (rc == 0)
		rc = repo_key(mkey, sizeof mkey, o->stanza, id, MANIFEST);
	struct stor_write_opts mwo = *wo;
	mwo.content_type = "application/json";
	if (rc == 0 && o->sign_key) { /* the signature first: the manifest stays the commit point */
		struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
		char skey[512];
		rc = repo_key(skey, sizeof skey, o->stanza, id, MANIFEST_SIG);
		if (rc == 0)
			rc = repo_sign_manifest(o->sign_key, o->stanza, id, finished, mtext.data,
			                        mtext.len, &sig);
		struct stor_write_opts swo = *wo;
		swo.content_type = "text/plain";
		if (rc == 0)
			rc = stor_put_buf(o->repo, skey, sig.data, sig.len, &swo, NULL);
		pw_buf_free(&sig, 0);
	}
	if (rc == 0)
		rc = stor_put_buf(o->repo, mkey, mtext.data, mtext.len, &mwo, NULL);
	if (rc == 0)
		*text = pw_strdup(pw_buf_str(&mtext));
	pw_buf_free(&mtext, 0);
	return rc;
}
