/* catalog.c - manifests and listing. */
#include "repo/catalog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"

#define MANIFEST_MAX REPO_MANIFEST_MAX
#define RECORD_MAX (1024 * 1024)

void catalog_new_id(char out[64], time_t when)
{
	uint16_t r = 0;
	pw_random(&r, sizeof r);
	char t[PW_TIME_MAX];
	snprintf(out, 64, "%s-%04x", pw_time_format(when, PW_TIME_COMPACT, t), r);
}

bool catalog_valid_stanza(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return strcmp(s, "pgward-probe") != 0;
}

int catalog_init_repo(struct stor *s)
{
	struct stor_info info;
	if (stor_stat(s, REPO_FILE, &info) == 0)
		return 0;
	if (pw_error_code() != PW_E_NOTFOUND)
		return -pw_error_code();
	pw_error_clear();
	char when[PW_TIME_MAX];
	pw_time_format(pw_now(), PW_TIME_ISO, when);
	char body[256];
	int n = snprintf(body, sizeof body,
	                 "{\"format\": %d, \"tool\": \"pgward %s\", \"created\": \"%s\"}\n",
	                 CATALOG_FORMAT, PGWARD_VERSION, when);
	int rc = stor_put_buf(s, REPO_FILE, body, (size_t)n,
	                      &(struct stor_write_opts){.content_type = "application/json"}, NULL);
	if (rc == -PW_E_EXISTS) { /* another backup created it meanwhile */
		pw_error_clear();
		return 0;
	}
	return rc;
}

struct collect {
	struct backup_list *l;
	const char *prefix;
	size_t plen;
};

static struct backup_entry *entry(struct backup_list *l, const char *id, size_t idlen)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->e[i].id) == idlen && memcmp(l->e[i].id, id, idlen) == 0)
			return &l->e[i];
	l->e = pw_realloc(l->e, (l->n + 1) * sizeof *l->e);
	struct backup_entry *e = &l->e[l->n++];
	memset(e, 0, sizeof *e);
	snprintf(e->id, sizeof e->id, "%.*s", (int)idlen, id);
	return e;
}

void catalog_verify_name(char out[64], time_t when, int depth)
{
	uint32_t r = 0;
	pw_random(&r, sizeof r);
	char t[PW_TIME_MAX];
	snprintf(out, 64, "verify-%s-d%d-%08x.json", pw_time_format(when, PW_TIME_COMPACT, t),
	         depth, r);
}

bool catalog_verify_name_parse(const char *name, time_t *when, int *depth)
{
	const char *end;
	if (!pw_startswith(name, "verify-") ||
	    pw_time_parse(name + 7, PW_TIME_COMPACT, false, when, &end) < 0)
		return false;
	if (strcmp(end, ".json") == 0) { /* the old form */
		*depth = 0;
		return true;
	}
	/* -d<1-3>-<8 hex>.json */
	if (strlen(end) != 17 || end[0] != '-' || end[1] != 'd' || end[2] < '1' || end[2] > '3' ||
	    end[3] != '-' || strcmp(end + 12, ".json") != 0)
		return false;
	for (int i = 4; i < 12; i++)
		if (!isxdigit((unsigned char)end[i]))
			return false;
	*depth = end[2] - '0';
	return true;
}

/* A record or marker dated further ahead than clock skew explains was not written by
 * pgward (it names them by its clock when it writes them): a repository writer planting
 * one would outrank every later genuine record or marker for good. */
#define MARKER_SKEW 300

static bool marker_time_ok(time_t when)
{
	return when <= pw_now() + MARKER_SKEW;
}

/* a is newer than b (time, then name) */
static bool newer(time_t ta, const char *a, time_t tb, const char *b)
{
	return !b[0] || ta > tb || (ta == tb && strcmp(a, b) > 0);
}

#define RECORDS_CAP 4096 /* record names kept per backup (a listing of hostile size) */
#define MARKERS_CAP 4096
#define EVIDENCE_READS 4 /* older records read per depth looking for a trusted one */
#define UNPIN_READS 8    /* unpin markers read looking for a trusted one */
#define MARKER_MAX 4096

static void note_record(struct backup_entry *e, const char *name)
{
	time_t when;
	int depth;
	if (!catalog_verify_name_parse(name, &when, &depth) || strlen(name) >= 64 ||
	    !marker_time_ok(when))
		return;
	/* by_depth[0] holds the newest old-form record until its depth is read */
	struct verify_summary *v = &e->by_depth[depth];
	if (newer(when, name, v->when, v->record)) {
		pw_strlcpy(v->record, name, sizeof v->record);
		v->when = when;
		v->depth = depth;
	}
	/* the new form only: records written before signing (the old form) are never signed */
	if (depth >= 1 && e->nrecords < RECORDS_CAP) {
		e->records = pw_realloc(e->records, (e->nrecords + 1) * sizeof *e->records);
		pw_strlcpy(e->records[e->nrecords++], name, sizeof *e->records);
	}
}

static void note_marker(struct backup_entry *e, const char *name)
{
	/* pin-<time>.json / unpin-<time>.json */
	const char *stamp = pw_startswith(name, "pin-")     ? name + 4
	                    : pw_startswith(name, "unpin-") ? name + 6
	                                                    : NULL;
	/* <compact time>.json as expire_pin writes it, not in the future: a planted
	 * "pin-~.json" or "unpin-2099...json" would otherwise decide for good */
	time_t when;
	const char *end;
	if (!stamp || pw_time_parse(stamp, PW_TIME_COMPACT, false, &when, &end) < 0 ||
	    strcmp(end, ".json") != 0 || !marker_time_ok(when) || strlen(stamp) >= 32)
		return;
	bool unpin = pw_startswith(name, "unpin-");
	/* the newest marker of either kind (what --allow-unsigned goes by) */
	if (strcmp(stamp, e->pin_stamp) >= 0 && strcmp(stamp, e->unpin_stamp) >= 0) {
		e->pinned_any = !unpin;
		pw_strlcpy(e->unpin_stamp, stamp, sizeof e->unpin_stamp); /* scratch until judged */
	}
	if (!unpin && strcmp(stamp, e->pin_stamp) > 0)
		pw_strlcpy(e->pin_stamp, stamp, sizeof e->pin_stamp);
	if (e->nmarkers < MARKERS_CAP) {
		e->markers = pw_realloc(e->markers, (e->nmarkers + 1) * sizeof *e->markers);
		struct marker_name *m = &e->markers[e->nmarkers++];
		pw_strlcpy(m->stamp, stamp, sizeof m->stamp);
		m->unpin = unpin;
	}
}

static int collect_cb(void *arg, const struct stor_info *i)
{
	struct collect *c = arg;
	if (strlen(i->key) <= c->plen || memcmp(i->key, c->prefix, c->plen) != 0)
		return 0; /* not under the stanza: never read past the key's end */
	const char *rest = i->key + c->plen; /* "<id>/<object>" */
	const char *slash = strchr(rest, '/');
	if (!slash || strchr(slash + 1, '/') || slash - rest >= 63)
		return 0;
	char id[64];
	snprintf(id, sizeof id, "%.*s", (int)(slash - rest), rest);
	const char *name = slash + 1;
	if (!repo_backup_id_valid(id)) { /* never built into a key: a stray directory */
		if (strcmp(name, MANIFEST) == 0) {
			char shown[200];
			pw_warn("skipping \"%s%s\": not a backup id pgward writes", c->prefix,
			        pw_str_printable(shown, sizeof shown, id));
		}
		return 0;
	}
	struct backup_entry *e = entry(c->l, rest, (size_t)(slash - rest));
	e->nobjects++;
	e->stored_bytes += i->size;
	if (!e->first_seen || (i->mtime && i->mtime < e->first_seen))
		e->first_seen = i->mtime;
	if (strcmp(name, MANIFEST) == 0)
		e->state = BACKUP_COMPLETE; /* until its manifest is read */
	if (strcmp(name, MANIFEST_SIG) == 0)
		e->has_signature = true;
	if (pw_startswith(name, "verify-")) {
		note_record(e, name);
	} else if (pw_startswith(name, "pin-") || pw_startswith(name, "unpin-")) {
		note_marker(e, name);
	} else {
		e->objects = pw_realloc(e->objects, (e->nlisted + 1) * sizeof *e->objects);
		e->objects[e->nlisted++] = (struct listed_object){pw_strdup(name), i->size};
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct backup_entry *)a)->id, ((const struct backup_entry *)b)->id);
}

static int buf_sink(void *arg, const uint8_t *p, size_t n)
{
	return pw_buf_append(arg, p, n);
}

/* Read and judge <stanza>/<id>/manifest.json, then decode exactly the bytes judged. */
static int read_manifest(struct stor *s, const char *stanza, const struct repo_signers *signers,
                         struct backup_entry *e)
{
	if (e->state != BACKUP_COMPLETE)
		return 0;
	e->complete = false;
	struct pw_buf b = PW_BUF_INIT(MANIFEST_MAX);
	/* the verdict is for exactly the bytes decoded below */
	int rc = repo_backup_trust(s, stanza, e->id, signers, &e->trust, &b);
	if (rc == 0) {
		struct manifest *m = pw_malloc(sizeof *m);
		int d = manifest_decode(b.data, b.len, m);
		if (d == 0) {
			e->manifest = m;
			e->complete = true;
		} else {
			pw_free(m);
			e->state = d == -PW_E_CONFIG ? BACKUP_NEWER : BACKUP_DAMAGED;
			pw_strlcpy(e->damage, pw_error_message(), sizeof e->damage);
			pw_error_clear();
		}
	} else if (rc == -PW_E_LIMIT) { /* a manifest over 4 MiB is not one pgward wrote */
		pw_warn("the manifest of backup %s/%s is too large to be one; the backup counts as "
		        "damaged",
		        stanza, e->id);
		e->state = BACKUP_DAMAGED;
		pw_strlcpy(e->damage, "damaged manifest: larger than 4 MiB", sizeof e->damage);
		pw_error_clear();
		rc = 0;
	} else if (rc == -PW_E_NOTFOUND) { /* removed since the listing */
		e->state = BACKUP_INCOMPLETE;
		pw_error_clear();
		rc = 0;
	}
	pw_buf_free(&b, 0);
	return rc;
}

/* Read <stanza>/<id>/<name> (at most cap bytes) into b; false when it cannot be read. */
static bool read_object(struct stor *s, const char *stanza, const char *id, const char *name,
                        struct pw_buf *b)
{
	char key[512];
	bool ok =
	    repo_key(key, sizeof key, stanza, id, name) == 0 && stor_get(s, key, buf_sink, b) == 0;
	pw_error_clear();
	return ok;
}

/* The verdict for object bytes b named name, by its .minisig (extra: see trust.h). */
static void judge_object(struct stor *s, const char *stanza, const char *id, const char *name,
                         const char *extra, const struct pw_buf *b,
                         const struct repo_signers *signers, struct repo_verdict *v)
{
	struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
	bool found = false;
	if (repo_object_sig(s, stanza, id, name, &sig, &found) < 0) {
		memset(v, 0, sizeof *v);
		v->trust = TRUST_BAD;
		snprintf(v->detail, sizeof v->detail, "the signature could not be read: %.200s",
		         pw_error_message());
		pw_error_clear();
	} else {
		repo_object_check(b->data, b->len, found ? (const char *)sig.data : NULL, sig.len,
		                  name, stanza, id, extra, signers, v);
	}
	pw_buf_free(&sig, 0);
}

void catalog_read_record(struct stor *s, const char *stanza, const char *id,
                         const struct repo_signers *signers, struct verify_summary *v)
{
	struct pw_buf vb = PW_BUF_INIT(RECORD_MAX);
	pw_strlcpy(v->result, "?", sizeof v->result);
	memset(&v->sig, 0, sizeof v->sig);
	v->sig.trust = TRUST_UNSIGNED;
	if (read_object(s, stanza, id, v->record, &vb)) {
		json_error_t je;
		json_t *j = json_loadb((const char *)vb.data, vb.len, JSON_REJECT_DUPLICATES, &je);
		const char *r = json_string_value(json_object_get(j, "result"));
		json_t *d = json_object_get(j, "depth");
		int depth =
		    json_is_integer(d) && json_integer_value(d) >= 1 && json_integer_value(d) <= 3
		        ? (int)json_integer_value(d)
		        : 0;
		if (r && strlen(r) < sizeof v->result && !strchr(r, '\t') &&
		    (v->depth == 0 || v->depth == depth)) {
			pw_strlcpy(v->result, r, sizeof v->result);
			v->depth = depth;
			/* the signature must name this record, its depth and its result */
			char extra[64];
			snprintf(extra, sizeof extra, "\tdepth:%d\tresult:%s", depth, v->result);
			judge_object(s, stanza, id, v->record, extra, &vb, signers, &v->sig);
		}
		json_decref(j);
	}
	pw_buf_free(&vb, 0);
}

int catalog_sign_record(const struct minisign_seckey *sk, const char *stanza, const char *id,
                        const char *record, int depth, const char *result, time_t when,
                        const char *body, size_t n, struct pw_buf *out)
{
	char extra[64];
	snprintf(extra, sizeof extra, "\tdepth:%d\tresult:%s", depth, result);
	return repo_sign_object(sk, record, stanza, id, extra, when, (const uint8_t *)body, n, out);
}

static int name_desc(const void *a, const void *b)
{
	return strcmp((const char *)b, (const char *)a);
}

/* evidence[d]: the newest record of depth d signed by a trusted key. A repository writer
 * can plant newer unsigned records, but they are never evidence; reading stops after
 * EVIDENCE_READS untrusted records per depth (then the backup just shows unverified). */
static void judge_evidence(struct stor *s, const char *stanza, const struct repo_signers *signers,
                           struct backup_entry *e)
{
	if (!signers || !signers->n || !e->nrecords)
		return;
	qsort(e->records, e->nrecords, sizeof *e->records, name_desc);
	int tries[4] = {0};
	for (size_t i = 0; i < e->nrecords; i++) {
		time_t when;
		int d;
		if (!catalog_verify_name_parse(e->records[i], &when, &d) || d < 1 || d > 3 ||
		    e->evidence[d].record[0] || tries[d] > EVIDENCE_READS)
			continue;
		struct verify_summary v;
		if (strcmp(e->records[i], e->by_depth[d].record) == 0) {
			v = e->by_depth[d]; /* read already */
		} else {
			memset(&v, 0, sizeof v);
			pw_strlcpy(v.record, e->records[i], sizeof v.record);
			v.when = when;
			v.depth = d;
			catalog_read_record(s, stanza, e->id, signers, &v);
			tries[d]++;
		}
		if (v.sig.trust == TRUST_SIGNED && v.depth == d)
			e->evidence[d] = v;
	}
}

/* The newest record of each depth, and the newest of all (last_verify). */
static void read_records(struct stor *s, const char *stanza, const struct repo_signers *signers,
                         struct backup_entry *e)
{
	if (!e->complete)
		return;
	for (int d = 0; d <= 3; d++)
		if (e->by_depth[d].record[0])
			catalog_read_record(s, stanza, e->id, signers, &e->by_depth[d]);
	struct verify_summary old = e->by_depth[0];
	memset(&e->by_depth[0], 0, sizeof e->by_depth[0]);
	if (old.record[0] && old.depth >= 1 && old.depth <= 3 &&
	    newer(old.when, old.record, e->by_depth[old.depth].when, e->by_depth[old.depth].record))
		e->by_depth[old.depth] = old;
	const struct verify_summary *last = old.record[0] ? &old : NULL;
	for (int d = 1; d <= 3; d++) {
		const struct verify_summary *v = &e->by_depth[d];
		if (v->record[0] && (!last || newer(v->when, v->record, last->when, last->record)))
			last = v;
	}
	if (last) {
		pw_strlcpy(e->last_verify, last->record, sizeof e->last_verify);
		pw_strlcpy(e->verify_result, last->result, sizeof e->verify_result);
		e->verify_depth = last->depth;
	}
	judge_evidence(s, stanza, signers, e);
}

static int marker_desc(const void *a, const void *b)
{
	return strcmp(((const struct marker_name *)b)->stamp,
	              ((const struct marker_name *)a)->stamp);
}

/* The verdict for the marker <kind>-<stamp>.json. */
static void judge_marker(struct stor *s, const char *stanza, const char *id, bool unpin,
                         const char *stamp, const struct repo_signers *signers,
                         struct repo_verdict *v)
{
	char name[64];
	snprintf(name, sizeof name, "%s-%s", unpin ? "unpin" : "pin", stamp);
	struct pw_buf b = PW_BUF_INIT(MARKER_MAX);
	if (read_object(s, stanza, id, name, &b)) {
		judge_object(s, stanza, id, name, "", &b, signers, v);
	} else {
		memset(v, 0, sizeof *v);
		v->trust = TRUST_BAD;
		pw_strlcpy(v->detail, "the marker could not be read", sizeof v->detail);
	}
	pw_buf_free(&b, 0);
}

/* A pin keeps the backup whoever wrote it; an unpin at or after the newest pin cancels it
 * only when signed by a trusted key (an unsigned one is ignored, and shown). */
static void judge_pins(struct stor *s, const char *stanza, const struct repo_signers *signers,
                       struct backup_entry *e)
{
	e->unpin_stamp[0] = 0;
	e->pinned = false;
	if (!e->pin_stamp[0])
		return;
	e->pinned = true;
	judge_marker(s, stanza, e->id, false, e->pin_stamp, signers, &e->pin_sig);
	qsort(e->markers, e->nmarkers, sizeof *e->markers, marker_desc);
	int reads = 0;
	for (size_t i = 0; i < e->nmarkers && reads < UNPIN_READS; i++) {
		const struct marker_name *m = &e->markers[i];
		if (strcmp(m->stamp, e->pin_stamp) < 0)
			break;
		if (!m->unpin)
			continue;
		struct repo_verdict v;
		reads++;
		judge_marker(s, stanza, e->id, true, m->stamp, signers, &v);
		if (v.trust == TRUST_SIGNED) {
			pw_strlcpy(e->unpin_stamp, m->stamp, sizeof e->unpin_stamp);
			e->pinned = false;
			return;
		}
		if (!e->unpin_ignored[0]) {
			pw_strlcpy(e->unpin_ignored, m->stamp, sizeof e->unpin_ignored);
			e->unpin_ignored_sig = v;
		}
	}
}

static bool all_pass(const struct verify_summary *by)
{
	bool any = false;
	for (int d = 1; d <= 3; d++) {
		if (!by[d].record[0])
			continue;
		if (strcmp(by[d].result, "pass") != 0)
			return false;
		any = true;
	}
	return any;
}

bool catalog_verified(const struct backup_entry *e)
{
	return all_pass(e->evidence);
}

bool catalog_verified_any(const struct backup_entry *e)
{
	return all_pass(e->by_depth);
}

const char *catalog_state_name(enum backup_state st)
{
	switch (st) {
	case BACKUP_COMPLETE:
		return "complete";
	case BACKUP_DAMAGED:
		return "damaged";
	case BACKUP_NEWER:
		return "newer-format";
	default:
		return "incomplete";
	}
}

int catalog_entry_usable(const struct backup_entry *e)
{
	switch (e->state) {
	case BACKUP_COMPLETE:
		return 0;
	case BACKUP_DAMAGED:
		pw_error(PW_E_VERIFY, "backup \"%s\" has a damaged manifest: %s", e->id, e->damage);
		return pw_error_hint("Nothing of it is restored. The manifest was not written by "
		                     "pgward or was altered; pick another backup (\"pgward list\") "
		                     "and find out what changed the repository.");
	case BACKUP_NEWER:
		pw_error(PW_E_CONFIG, "backup \"%s\" cannot be read: %s", e->id, e->damage);
		return pw_error_hint(
		    "Upgrade pgward to the version that wrote this backup or newer.");
	default:
		pw_error(PW_E_NOTFOUND, "backup \"%s\" is incomplete (it has no manifest)", e->id);
		return pw_error_hint("An incomplete backup was interrupted; pick a complete one.");
	}
}

int catalog_list(struct stor *s, const char *stanza, struct backup_list *out)
{
	return catalog_list_trusted(s, stanza, NULL, false, out);
}

int catalog_list_trusted(struct stor *s, const char *stanza, const struct repo_signers *signers,
                         bool trusted_only, struct backup_list *out)
{
	memset(out, 0, sizeof *out);
	char prefix[128];
	int rc = repo_key(prefix, sizeof prefix, stanza, NULL, NULL);
	if (rc < 0)
		return rc;
	struct collect c = {out, prefix, strlen(prefix)};
	rc = stor_list(s, prefix, collect_cb, &c);
	if (rc < 0) {
		catalog_list_free(out);
		return rc;
	}
	if (out->n)
		qsort(out->e, out->n, sizeof *out->e, cmp_entry);
	out->trusted_only = trusted_only;
	for (size_t i = 0; i < out->n; i++) {
		struct backup_entry *e = &out->e[i];
		if ((rc = read_manifest(s, stanza, signers, e)) < 0) {
			catalog_list_free(out);
			return rc;
		}
		read_records(s, stanza, signers, e);
		judge_pins(s, stanza, signers, e);
	}
	return 0;
}

void catalog_list_free(struct backup_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		manifest_free(l->e[i].manifest);
		for (size_t k = 0; k < l->e[i].nlisted; k++)
			pw_free(l->e[i].objects[k].name);
		pw_free(l->e[i].objects);
		pw_free(l->e[i].records);
		pw_free(l->e[i].markers);
	}
	pw_free(l->e);
	memset(l, 0, sizeof *l);
}

const struct backup_entry *catalog_pick(const struct backup_list *l, const char *id, time_t before)
{
	for (size_t i = l->n; i-- > 0;) {
		const struct backup_entry *e = &l->e[i];
		if (id) {
			if (strcmp(e->id, id) == 0)
				return e;
			continue;
		}
		if (!e->complete)
			continue;
		if (l->trusted_only && e->trust.trust != TRUST_SIGNED)
			continue;
		if (before && e->manifest->started >= before)
			continue;
		return e;
	}
	return NULL;
}

struct stanza_ctx {
	char **names;
	size_t n;
};

static int stanza_cb(void *arg, const struct stor_info *i)
{
	struct stanza_ctx *c = arg;
	const char *slash = strchr(i->key, '/');
	if (!slash)
		return 0;
	size_t len = (size_t)(slash - i->key);
	if (c->n && strlen(c->names[c->n - 1]) == len &&
	    memcmp(c->names[c->n - 1], i->key, len) == 0)
		return 0;
	char *name = pw_strndup(i->key, len);
	if (!catalog_valid_stanza(name)) {
		pw_free(name);
		return 0;
	}
	c->names = pw_realloc(c->names, (c->n + 1) * sizeof *c->names);
	c->names[c->n++] = name;
	return 0;
}

int catalog_stanzas(struct stor *s, char ***names, size_t *n)
{
	struct stanza_ctx c = {NULL, 0};
	int rc = stor_list(s, "", stanza_cb, &c);
	*names = c.names;
	*n = c.n;
	return rc;
}
