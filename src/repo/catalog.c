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
}

static void note_marker(struct backup_entry *e, const char *name)
{
	/* pin-<time>.json / unpin-<time>.json: the newest marker decides */
	const char *stamp = pw_startswith(name, "pin-")     ? name + 4
	                    : pw_startswith(name, "unpin-") ? name + 6
	                                                    : NULL;
	/* <compact time>.json as expire_pin writes it, not in the future: a planted
	 * "pin-~.json" or "unpin-2099...json" would otherwise decide for good */
	time_t when;
	const char *end;
	if (!stamp || pw_time_parse(stamp, PW_TIME_COMPACT, false, &when, &end) < 0 ||
	    strcmp(end, ".json") != 0 || !marker_time_ok(when))
		return;
	if (strlen(stamp) < sizeof e->pin_stamp && strcmp(stamp, e->pin_stamp) >= 0) {
		pw_strlcpy(e->pin_stamp, stamp, sizeof e->pin_stamp);
		e->pinned = pw_startswith(name, "pin-");
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

/* Read one verification record's result (and, for the old form, its depth). */
static void read_record(struct stor *s, const char *stanza, const char *id,
                        struct verify_summary *v)
{
	char key[512];
	struct pw_buf vb = PW_BUF_INIT(RECORD_MAX);
	pw_strlcpy(v->result, "?", sizeof v->result);
	if (repo_key(key, sizeof key, stanza, id, v->record) == 0 &&
	    stor_get(s, key, buf_sink, &vb) == 0) {
		json_error_t je;
		json_t *j = json_loadb((const char *)vb.data, vb.len, JSON_REJECT_DUPLICATES, &je);
		const char *r = json_string_value(json_object_get(j, "result"));
		json_t *d = json_object_get(j, "depth");
		int depth =
		    json_is_integer(d) && json_integer_value(d) >= 1 && json_integer_value(d) <= 3
		        ? (int)json_integer_value(d)
		        : 0;
		if (r && strlen(r) < sizeof v->result && (v->depth == 0 || v->depth == depth)) {
			pw_strlcpy(v->result, r, sizeof v->result);
			v->depth = depth;
		}
		json_decref(j);
	}
	pw_error_clear();
	pw_buf_free(&vb, 0);
}

/* The newest record of each depth, and the newest of all (last_verify). */
static void read_records(struct stor *s, const char *stanza, struct backup_entry *e)
{
	if (!e->complete)
		return;
	for (int d = 0; d <= 3; d++)
		if (e->by_depth[d].record[0])
			read_record(s, stanza, e->id, &e->by_depth[d]);
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
}

bool catalog_verified(const struct backup_entry *e)
{
	bool any = false;
	for (int d = 1; d <= 3; d++) {
		if (!e->by_depth[d].record[0])
			continue;
		if (strcmp(e->by_depth[d].result, "pass") != 0)
			return false;
		any = true;
	}
	return any;
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
		read_records(s, stanza, e);
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
