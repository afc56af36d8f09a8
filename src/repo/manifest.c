/* manifest.c - the manifest codec: one encoder, one validating decoder. */
#include "repo/manifest.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "repo/catalog.h"

#define DAMAGED_HINT                                                                               \
	"The manifest was not written by pgward or was altered after the backup; run \"pgward "    \
	"verify\" and restore another backup."

/* ---- names and keys ---- */

static bool name_chars_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n == 0 || n >= max || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

bool repo_object_name_valid(const char *name)
{
	return name && name_chars_ok(name, MANIFEST_NAME_MAX);
}

bool repo_backup_id_valid(const char *id)
{
	return id && name_chars_ok(id, MANIFEST_ID_MAX);
}

bool manifest_tag_name_valid(const char *name)
{
	return name && name_chars_ok(name, MANIFEST_TAG_MAX);
}

int repo_key(char *out, size_t size, const char *stanza, const char *id, const char *object)
{
	if (size)
		out[0] = 0;
	if (!stanza || !catalog_valid_stanza(stanza)) {
		pw_error(PW_E_STORAGE, "invalid stanza name \"%.80s\" in a repository key",
		         stanza ? stanza : "");
		return pw_error_hint(
		    "Stanza names are 1-63 letters, digits, '-', '_' and '.'; this is a bug if "
		    "the name came from pgward itself.");
	}
	if (id && !repo_backup_id_valid(id)) {
		pw_error(PW_E_STORAGE, "invalid backup id \"%.80s\" in a repository key", id);
		return pw_error_hint("Backup ids are what \"pgward list\" shows.");
	}
	if (object && (!id || !repo_object_name_valid(object))) {
		pw_error(PW_E_STORAGE, "invalid object name \"%.80s\" in a repository key", object);
		return pw_error_hint("The name was read from the repository and is not one pgward "
		                     "writes; run \"pgward verify\" on the backup.");
	}
	int n = !id       ? snprintf(out, size, "%s/", stanza)
	        : !object ? snprintf(out, size, "%s/%s/", stanza, id)
	                  : snprintf(out, size, "%s/%s/%s", stanza, id, object);
	if (n < 0 || (size_t)n >= size) {
		if (size)
			out[0] = 0;
		pw_error(PW_E_LIMIT, "repository key for \"%s\" is too long", stanza);
		return pw_error_hint("This is a bug; please report it.");
	}
	return 0;
}

/* ---- small helpers ---- */

const char *manifest_kind_name(enum manifest_kind k)
{
	return k == MANIFEST_PHYSICAL ? "physical" : "logical";
}

const char *manifest_lock_name(enum manifest_lock l)
{
	return l == MANIFEST_LOCK_COMPLIANCE   ? "compliance"
	       : l == MANIFEST_LOCK_GOVERNANCE ? "governance"
	                                       : NULL;
}

void manifest_lsn_format(uint64_t lsn, char out[24])
{
	snprintf(out, 24, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

static int hex32(const char *s, size_t n, uint32_t *v)
{
	if (n == 0 || n > 8)
		return -1;
	uint32_t x = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		                               : -1;
		if (d < 0)
			return -1;
		x = (x << 4) | (uint32_t)d;
	}
	*v = x;
	return 0;
}

int manifest_lsn_parse(const char *s, uint64_t *lsn)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	uint32_t hi, lo;
	if (!slash || hex32(s, (size_t)(slash - s), &hi) < 0 ||
	    hex32(slash + 1, strlen(slash + 1), &lo) < 0)
		return -1;
	*lsn = ((uint64_t)hi << 32) | lo;
	return 0;
}

const struct manifest_object *manifest_object(const struct manifest *m, const char *name)
{
	for (size_t i = 0; m && name && i < m->nobjects; i++)
		if (strcmp(m->objects[i].name, name) == 0)
			return &m->objects[i];
	return NULL;
}

int manifest_digest(const struct manifest *m, const char *name, uint8_t sha256[32], uint64_t *size)
{
	const struct manifest_object *o = manifest_object(m, name);
	if (!o) {
		pw_error(PW_E_VERIFY, "the manifest records no size and SHA-256 for \"%s\"", name);
		return pw_error_hint("The manifest is damaged; restore another backup.");
	}
	memcpy(sha256, o->sha256, 32);
	*size = o->size;
	return 0;
}

void manifest_clear(struct manifest *m)
{
	if (!m)
		return;
	pw_free(m->objects);
	pw_free(m->recipients);
	memset(m, 0, sizeof *m);
}

void manifest_free(struct manifest *m)
{
	manifest_clear(m);
	pw_free(m);
}

int manifest_add_object(struct manifest *m, const char *name, uint64_t size,
                        const uint8_t sha256[32])
{
	if (m->nobjects >= MANIFEST_OBJECTS_MAX) {
		pw_error(PW_E_LIMIT, "a manifest names at most %d objects", MANIFEST_OBJECTS_MAX);
		return pw_error_hint("This is a bug; please report it.");
	}
	m->objects = pw_realloc(m->objects, (m->nobjects + 1) * sizeof *m->objects);
	struct manifest_object *o = &m->objects[m->nobjects++];
	memset(o, 0, sizeof *o);
	pw_strlcpy(o->name, name, sizeof o->name);
	o->size = size;
	memcpy(o->sha256, sha256, 32);
	return 0;
}

int manifest_add_recipient(struct manifest *m, const char *fingerprint)
{
	if (m->nrecipients >= MANIFEST_RECIPIENTS_MAX) {
		pw_error(PW_E_LIMIT, "a manifest names at most %d recipients",
		         MANIFEST_RECIPIENTS_MAX);
		return pw_error_hint("Encrypt to fewer recipients.");
	}
	m->recipients = pw_realloc(m->recipients, (m->nrecipients + 1) * sizeof *m->recipients);
	pw_strlcpy(m->recipients[m->nrecipients++], fingerprint, sizeof *m->recipients);
	return 0;
}

const struct manifest_tag *manifest_tag(const struct manifest *m, const char *name)
{
	for (size_t i = 0; m && name && i < m->ntags; i++)
		if (strcmp(m->tags[i].name, name) == 0)
			return &m->tags[i];
	return NULL;
}

int manifest_add_tag(struct manifest *m, const char *name, int64_t keep_seconds)
{
	char shown[80];
	pw_str_printable(shown, sizeof shown, name ? name : "");
	if (!manifest_tag_name_valid(name)) {
		pw_error(PW_E_CONFIG, "bad tag name \"%s\"", shown);
		return pw_error_hint("A tag is 1-%d letters, digits, \"_\", \".\" or \"-\", not "
		                     "starting with \".\" or \"-\" (\"daily\", \"pre-upgrade\").",
		                     MANIFEST_TAG_MAX - 1);
	}
	if (manifest_tag(m, name)) {
		pw_error(PW_E_CONFIG, "tag \"%s\" is given twice", shown);
		return pw_error_hint("Give each tag once, with the longest keep it needs.");
	}
	if (keep_seconds < 0 || keep_seconds > MANIFEST_KEEP_MAX) {
		pw_error(PW_E_CONFIG, "the keep of tag \"%s\" is out of range", shown);
		return pw_error_hint("A tag keeps a backup at most 100 years.");
	}
	if (m->ntags >= MANIFEST_TAGS_MAX) {
		pw_error(PW_E_LIMIT, "a backup has at most %d tags", MANIFEST_TAGS_MAX);
		return pw_error_hint("Use fewer tags or fewer schedule entries.");
	}
	struct manifest_tag *t = &m->tags[m->ntags++];
	pw_strlcpy(t->name, name, sizeof t->name);
	t->keep_seconds = keep_seconds;
	return 0;
}

uint64_t manifest_stored_bytes(const struct manifest *m)
{
	uint64_t t = 0;
	for (size_t i = 0; i < m->nobjects; i++)
		t += m->objects[i].size;
	return t;
}

/* ---- decoder ---- */

/* The object being decoded ("objects[2]", "source"), so a message names the whole path. */
static _Thread_local const char *parent;

static int damaged(const char *field, const char *what)
{
	pw_error(PW_E_VERIFY, "damaged manifest: field \"%s%s%s\" %s", parent ? parent : "",
	         parent ? "." : "", field, what);
	return pw_error_hint(DAMAGED_HINT);
}

/* The member key of o: NULL (absent or JSON null) when optional, else damaged. */
static int member(json_t *o, const char *key, bool required, json_t **out)
{
	json_t *v = json_object_get(o, key);
	*out = v && !json_is_null(v) ? v : NULL;
	if (!*out && required)
		return damaged(key, "is missing");
	return 0;
}

static int get_str(json_t *o, const char *key, bool required, char *out, size_t size)
{
	json_t *v;
	int rc = member(o, key, required, &v);
	out[0] = 0;
	if (rc < 0 || !v)
		return rc;
	if (!json_is_string(v))
		return damaged(key, "is not a string");
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n >= size) {
		char what[64];
		snprintf(what, sizeof what, "is longer than %zu bytes", size - 1);
		return damaged(key, what);
	}
	if (strlen(s) != n)
		return damaged(key, "contains a NUL character");
	memcpy(out, s, n + 1);
	return 0;
}

static int get_int(json_t *o, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v;
	int rc = member(o, key, required, &v);
	*out = 0;
	if (rc < 0 || !v)
		return rc;
	if (!json_is_integer(v))
		return damaged(key, "is not an integer");
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi) {
		char what[96];
		snprintf(what, sizeof what, "is out of range (%lld, not %lld to %lld)",
		         (long long)x, (long long)lo, (long long)hi);
		return damaged(key, what);
	}
	*out = (int64_t)x;
	return 0;
}

static int get_seconds(json_t *o, const char *key, double *out)
{
	json_t *v;
	int rc = member(o, key, false, &v);
	*out = 0;
	if (rc < 0 || !v)
		return rc;
	if (!json_is_number(v))
		return damaged(key, "is not a number");
	double d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > 1e9)
		return damaged(key, "is out of range (negative or absurd)");
	*out = d;
	return 0;
}

static int get_bool(json_t *o, const char *key, bool *out)
{
	json_t *v;
	int rc = member(o, key, false, &v);
	*out = false;
	if (rc < 0 || !v)
		return rc;
	if (!json_is_boolean(v))
		return damaged(key, "is not true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_time(json_t *o, const char *key, bool required, time_t *out)
{
	char s[PW_TIME_MAX];
	int rc = get_str(o, key, required, s, sizeof s);
	*out = 0;
	if (rc < 0 || !s[0])
		return rc;
	/* exactly the form the encoder writes: 2026-12-06T19:44:01Z */
	if (strlen(s) != 20 || pw_time_parse(s, PW_TIME_ISO, false, out, NULL) < 0) {
		char shown[64], what[128];
		snprintf(what, sizeof what, "is not a UTC time (YYYY-MM-DDTHH:MM:SSZ): \"%s\"",
		         pw_str_printable(shown, sizeof shown, s));
		return damaged(key, what);
	}
	return 0;
}

static bool lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int decode_objects(json_t *root, struct manifest *m)
{
	json_t *a;
	int rc = member(root, "objects", true, &a);
	if (rc < 0)
		return rc;
	if (!json_is_array(a))
		return damaged("objects", "is not an array");
	if (json_array_size(a) == 0)
		return damaged("objects", "is empty");
	if (json_array_size(a) > MANIFEST_OBJECTS_MAX)
		return damaged("objects", "lists more objects than pgward ever writes (64)");
	m->objects = pw_calloc(json_array_size(a), sizeof *m->objects);
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		struct manifest_object *mo = &m->objects[i];
		char f[64], sha[80];
		int64_t size;
		snprintf(f, sizeof f, "objects[%zu]", i);
		if (!json_is_object(o))
			return damaged(f, "is not an object");
		parent = f;
		if ((rc = get_str(o, "name", true, mo->name, sizeof mo->name)) < 0 ||
		    (rc = get_int(o, "size", true, 0, MANIFEST_SIZE_MAX, &size)) < 0 ||
		    (rc = get_str(o, "sha256", true, sha, sizeof sha)) < 0)
			return rc;
		if (!repo_object_name_valid(mo->name))
			return damaged("name", "is not a valid object name");
		if (!lower_hex(sha, 64) || pw_hex_decode(sha, 64, mo->sha256, 32) < 0)
			return damaged("sha256", "is not 64 lowercase hex digits");
		parent = NULL;
		mo->size = (uint64_t)size;
		for (size_t k = 0; k < i; k++)
			if (strcmp(m->objects[k].name, mo->name) == 0)
				return damaged(f, "names an object twice");
		m->nobjects = i + 1;
	}
	return 0;
}

static int decode_encryption(json_t *root, struct manifest *m)
{
	json_t *e, *fps;
	int rc = member(root, "encryption", false, &e);
	if (rc < 0 || !e)
		return rc;
	if (!json_is_object(e))
		return damaged("encryption", "is not an object");
	parent = "encryption";
	if ((rc = get_str(e, "format", true, m->encryption, sizeof m->encryption)) < 0)
		return rc;
	if (strcmp(m->encryption, "age-v1") != 0)
		return damaged("format", "is not \"age-v1\"");
	if ((rc = member(e, "recipient_fingerprints", true, &fps)) < 0)
		return rc;
	if (!json_is_array(fps))
		return damaged("recipient_fingerprints", "is not an array");
	if (json_array_size(fps) > MANIFEST_RECIPIENTS_MAX)
		return damaged("recipient_fingerprints", "has more than 64 entries");
	m->recipients =
	    pw_calloc(json_array_size(fps) ? json_array_size(fps) : 1, sizeof *m->recipients);
	for (size_t i = 0; i < json_array_size(fps); i++) {
		const char *s = json_string_value(json_array_get(fps, i));
		if (!s || strlen(s) != 39 || strncmp(s, "sha256:", 7) != 0 || !lower_hex(s + 7, 32))
			return damaged("recipient_fingerprints",
			               "holds an entry that is not \"sha256:\" and 32 hex digits");
		memcpy(m->recipients[i], s, 40);
		m->nrecipients = i + 1;
	}
	parent = NULL;
	return 0;
}

static int decode_compression(json_t *root, struct manifest *m)
{
	json_t *c;
	int64_t level;
	int rc = member(root, "compression", false, &c);
	if (rc < 0 || !c)
		return rc;
	if (!json_is_object(c))
		return damaged("compression", "is not an object");
	parent = "compression";
	if ((rc = get_str(c, "algorithm", true, m->compression, sizeof m->compression)) < 0 ||
	    (rc = get_int(c, "level", false, -131072, 22, &level)) < 0)
		return rc;
	if (strcmp(m->compression, "zstd") != 0)
		return damaged("algorithm", "is not \"zstd\"");
	parent = NULL;
	m->compression_level = (int)level;
	return 0;
}

static int decode_anchor(json_t *root, struct manifest *m)
{
	json_t *a;
	struct manifest_anchor *an = &m->audit_anchor;
	int rc = member(root, "audit_anchor", false, &a);
	if (rc < 0 || !a)
		return rc;
	if (!json_is_object(a))
		return damaged("audit_anchor", "is not an object");
	parent = "audit_anchor";
	if ((rc = get_str(a, "host", true, an->host, sizeof an->host)) < 0 ||
	    (rc = get_str(a, "log", true, an->log, sizeof an->log)) < 0 ||
	    (rc = get_int(a, "records", true, 1, INT64_MAX, &an->records)) < 0 ||
	    (rc = get_str(a, "head", true, an->head, sizeof an->head)) < 0)
		return rc;
	parent = NULL;
	an->present = true;
	return 0;
}

static int decode_source(json_t *root, struct manifest *m)
{
	json_t *s;
	int64_t port;
	int rc = member(root, "source", false, &s);
	if (rc < 0 || !s)
		return rc;
	if (!json_is_object(s))
		return damaged("source", "is not an object");
	json_t *sb;
	parent = "source";
	if ((rc = get_str(s, "host", false, m->source.host, sizeof m->source.host)) < 0 ||
	    (rc = get_int(s, "port", false, 1, 65535, &port)) < 0 ||
	    (rc = member(s, "standby", true, &sb)) < 0)
		return rc;
	if (!json_is_boolean(sb))
		return damaged("standby", "is not true or false");
	parent = NULL;
	m->source.standby = json_is_true(sb);
	m->source.port = (int)port;
	m->source.present = true;
	return 0;
}

static int decode_tags(json_t *root, struct manifest *m)
{
	json_t *ts;
	int rc = member(root, "tags", false, &ts);
	if (rc < 0 || !ts)
		return rc;
	if (!json_is_array(ts))
		return damaged("tags", "is not an array");
	if (json_array_size(ts) > MANIFEST_TAGS_MAX)
		return damaged("tags", "has more entries than pgward writes");
	for (size_t i = 0; i < json_array_size(ts); i++) {
		json_t *t = json_array_get(ts, i);
		char f[32];
		snprintf(f, sizeof f, "tags[%zu]", i);
		if (!json_is_object(t))
			return damaged(f, "is not an object");
		struct manifest_tag *mt = &m->tags[i];
		int64_t keep;
		parent = f;
		if ((rc = get_str(t, "name", true, mt->name, sizeof mt->name)) < 0 ||
		    (rc = get_int(t, "keep_seconds", false, 0, MANIFEST_KEEP_MAX, &keep)) < 0)
			return rc;
		if (!manifest_tag_name_valid(mt->name))
			return damaged("name", "is not a tag name");
		for (size_t k = 0; k < i; k++)
			if (strcmp(m->tags[k].name, mt->name) == 0)
				return damaged("name", "names a tag twice");
		parent = NULL;
		mt->keep_seconds = keep;
		m->ntags = i + 1;
	}
	return 0;
}

static int decode_physical(json_t *root, struct manifest *m)
{
	json_t *p;
	int rc = member(root, "physical", m->kind == MANIFEST_PHYSICAL, &p);
	if (rc < 0 || !p)
		return rc;
	if (m->kind != MANIFEST_PHYSICAL)
		return damaged("physical", "is present in a logical backup's manifest");
	if (!json_is_object(p))
		return damaged("physical", "is not an object");
	int64_t tl;
	char a[32], b[32];
	parent = "physical";
	if ((rc = get_int(p, "timeline", true, 1, UINT32_MAX, &tl)) < 0 ||
	    (rc = get_str(p, "start_lsn", true, a, sizeof a)) < 0 ||
	    (rc = get_str(p, "stop_lsn", true, b, sizeof b)) < 0)
		return rc;
	if (manifest_lsn_parse(a, &m->physical.start_lsn) < 0)
		return damaged("start_lsn", "is not an LSN (X/Y in hex)");
	if (manifest_lsn_parse(b, &m->physical.stop_lsn) < 0)
		return damaged("stop_lsn", "is not an LSN (X/Y in hex)");
	if (m->physical.stop_lsn < m->physical.start_lsn)
		return damaged("stop_lsn", "is before start_lsn");
	json_t *ts;
	if ((rc = member(p, "tablespaces", false, &ts)) < 0)
		return rc;
	if (ts) {
		if (!json_is_array(ts))
			return damaged("tablespaces", "is not an array");
		if (json_array_size(ts) > MANIFEST_TABLESPACES_MAX)
			return damaged("tablespaces", "has more entries than pgward writes");
		for (size_t i = 0; i < json_array_size(ts); i++) {
			json_t *v = json_array_get(ts, i);
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > (json_int_t)UINT32_MAX)
				return damaged("tablespaces", "holds something that is not an OID");
			uint32_t oid = (uint32_t)json_integer_value(v);
			for (size_t k = 0; k < m->physical.ntablespaces; k++)
				if (m->physical.tablespaces[k] == oid)
					return damaged("tablespaces", "names an OID twice");
			m->physical.tablespaces[m->physical.ntablespaces++] = oid;
		}
	}
	parent = NULL;
	m->physical.timeline = (uint32_t)tl;
	return 0;
}

static int decode_root(json_t *root, struct manifest *m)
{
	int64_t v;
	char word[MANIFEST_SHORT_MAX];
	int rc;
	if (!json_is_object(root))
		return damaged("(top level)", "is not a JSON object");
	/* the format first: a newer manifest may use any other field differently */
	if ((rc = get_int(root, "format", true, 1, INT32_MAX, &v)) < 0)
		return rc;
	if (v > MANIFEST_FORMAT) {
		pw_error(PW_E_CONFIG,
		         "the manifest is in format %lld, newer than this pgward (%s) reads "
		         "(format %d)",
		         (long long)v, PGWARD_VERSION, MANIFEST_FORMAT);
		return pw_error_hint("Upgrade pgward to the version that wrote this backup (its "
		                     "\"tool\" field names it) or newer.");
	}
	m->format = (int)v;
	/* required: what every pgward manifest had from the start (format, stanza,
	 * backup_id, status, started, objects); the rest is optional but typed */
	if ((rc = get_str(root, "tool", false, m->tool, sizeof m->tool)) < 0 ||
	    (rc = get_str(root, "stanza", true, m->stanza, sizeof m->stanza)) < 0 ||
	    (rc = get_str(root, "backup_id", true, m->backup_id, sizeof m->backup_id)) < 0)
		return rc;
	if (!catalog_valid_stanza(m->stanza))
		return damaged("stanza", "is not a valid stanza name");
	if (!repo_backup_id_valid(m->backup_id))
		return damaged("backup_id", "is not a valid backup id");
	if ((rc = get_str(root, "kind", false, word, sizeof word)) < 0)
		return rc;
	if (!word[0] || strcmp(word, "logical") == 0)
		m->kind = MANIFEST_LOGICAL;
	else if (strcmp(word, "physical") == 0)
		m->kind = MANIFEST_PHYSICAL;
	else
		return damaged("kind", "is neither \"logical\" nor \"physical\"");
	if ((rc = get_str(root, "status", true, word, sizeof word)) < 0)
		return rc;
	if (strcmp(word, "complete") != 0)
		return damaged("status", "is not \"complete\"");
	if ((rc = get_time(root, "started", true, &m->started)) < 0 ||
	    (rc = get_time(root, "finished", false, &m->finished)) < 0 ||
	    (rc = get_seconds(root, "duration_seconds", &m->duration_seconds)) < 0 ||
	    (rc = get_seconds(root, "dump_seconds", &m->dump_seconds)) < 0 ||
	    (rc = get_str(root, "server_version", false, m->server_version,
	                  sizeof m->server_version)) < 0 ||
	    (rc = get_str(root, "pg_dump", false, m->pg_dump, sizeof m->pg_dump)) < 0 ||
	    (rc = get_int(root, "database_size", false, 0, MANIFEST_SIZE_MAX, &m->database_size)) <
	        0 ||
	    (rc = get_int(root, "raw_bytes", false, 0, MANIFEST_SIZE_MAX, &v)) < 0)
		return rc;
	m->raw_bytes = (uint64_t)v;
	if ((rc = get_str(root, "role", false, m->role, sizeof m->role)) < 0 ||
	    (rc = get_bool(root, "privileged", &m->privileged)) < 0 ||
	    (rc = get_bool(root, "globals", &m->globals)) < 0 ||
	    (rc = get_str(root, "globals_note", false, m->globals_note, sizeof m->globals_note)) <
	        0 ||
	    (rc = decode_compression(root, m)) < 0 || (rc = decode_encryption(root, m)) < 0 ||
	    (rc = decode_objects(root, m)) < 0 ||
	    (rc = get_time(root, "lock_until", false, &m->lock_until)) < 0 ||
	    (rc = get_str(root, "lock_mode", false, word, sizeof word)) < 0)
		return rc;
	if (!word[0])
		m->lock_mode = MANIFEST_LOCK_NONE;
	else if (strcmp(word, "governance") == 0)
		m->lock_mode = MANIFEST_LOCK_GOVERNANCE;
	else if (strcmp(word, "compliance") == 0)
		m->lock_mode = MANIFEST_LOCK_COMPLIANCE;
	else
		return damaged("lock_mode", "is neither \"governance\" nor \"compliance\"");
	if ((m->lock_mode == MANIFEST_LOCK_NONE) != (m->lock_until == 0))
		return damaged("lock_mode", "and \"lock_until\" are not both set or both null");
	if ((rc = decode_anchor(root, m)) < 0 || (rc = decode_source(root, m)) < 0 ||
	    (rc = decode_physical(root, m)) < 0 || (rc = decode_tags(root, m)) < 0)
		return rc;
	return 0;
}

int manifest_decode(const uint8_t *p, size_t n, struct manifest *m)
{
	memset(m, 0, sizeof *m);
	json_error_t je;
	/* duplicate keys are refused: two readers must never see two different values */
	json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		pw_error(PW_E_VERIFY, "damaged manifest: not valid JSON (line %d: %.120s)", je.line,
		         je.text);
		return pw_error_hint(DAMAGED_HINT);
	}
	parent = NULL;
	int rc = decode_root(root, m);
	parent = NULL;
	json_decref(root);
	if (rc < 0)
		manifest_clear(m); /* nothing half-decoded is left behind */
	return rc;
}

/* ---- encoder ---- */

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

int manifest_encode(const struct manifest *m, struct pw_buf *out)
{
	char t[PW_TIME_MAX];
	PW_CHECK(m->nobjects >= 1 && m->nobjects <= MANIFEST_OBJECTS_MAX);
	PW_CHECK(m->nrecipients <= MANIFEST_RECIPIENTS_MAX);
	PW_CHECK(m->ntags <= MANIFEST_TAGS_MAX);
	json_t *j = json_object();
	json_object_set_new(j, "format", json_integer(m->format ? m->format : MANIFEST_FORMAT));
	json_object_set_new(j, "tool", json_string(m->tool));
	json_object_set_new(j, "stanza", json_string(m->stanza));
	json_object_set_new(j, "backup_id", json_string(m->backup_id));
	json_object_set_new(j, "kind", json_string(manifest_kind_name(m->kind)));
	json_object_set_new(j, "status", json_string("complete"));
	json_object_set_new(j, "started", json_string(pw_time_format(m->started, PW_TIME_ISO, t)));
	json_object_set_new(j, "finished",
	                    json_string(pw_time_format(m->finished, PW_TIME_ISO, t)));
	json_object_set_new(j, "duration_seconds", json_real(m->duration_seconds));
	json_object_set_new(j, "dump_seconds", json_real(m->dump_seconds));
	if (m->server_version[0])
		json_object_set_new(j, "server_version", json_string(m->server_version));
	json_object_set_new(j, "pg_dump", json_string(m->pg_dump));
	json_object_set_new(j, "database_size", json_integer((json_int_t)m->database_size));
	json_object_set_new(j, "raw_bytes", json_integer((json_int_t)m->raw_bytes));
	json_object_set_new(j, "role", json_string(m->role));
	json_object_set_new(j, "privileged", json_boolean(m->privileged));
	json_object_set_new(j, "globals", json_boolean(m->globals));
	if (!m->globals)
		json_object_set_new(j, "globals_note", json_string(m->globals_note));
	json_t *comp = json_object();
	json_object_set_new(comp, "algorithm",
	                    json_string(m->compression[0] ? m->compression : "zstd"));
	json_object_set_new(comp, "level", json_integer(m->compression_level));
	json_object_set_new(j, "compression", comp);
	json_t *enc = json_object();
	json_object_set_new(enc, "format",
	                    json_string(m->encryption[0] ? m->encryption : "age-v1"));
	json_t *fps = json_array();
	for (size_t i = 0; i < m->nrecipients; i++)
		json_array_append_new(fps, json_string(m->recipients[i]));
	json_object_set_new(enc, "recipient_fingerprints", fps);
	json_object_set_new(j, "encryption", enc);
	json_t *objs = json_array();
	for (size_t i = 0; i < m->nobjects; i++) {
		char hex[65];
		pw_hex_encode(m->objects[i].sha256, 32, hex);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(m->objects[i].name));
		json_object_set_new(o, "size", json_integer((json_int_t)m->objects[i].size));
		json_object_set_new(o, "sha256", json_string(hex));
		json_array_append_new(objs, o);
	}
	json_object_set_new(j, "objects", objs);
	json_object_set_new(j, "lock_until",
	                    m->lock_until
	                        ? json_string(pw_time_format(m->lock_until, PW_TIME_ISO, t))
	                        : json_null());
	json_object_set_new(j, "lock_mode", str_or_null(manifest_lock_name(m->lock_mode)));
	if (m->audit_anchor.present) {
		json_t *a = json_object();
		json_object_set_new(a, "host", json_string(m->audit_anchor.host));
		json_object_set_new(a, "log", json_string(m->audit_anchor.log));
		json_object_set_new(a, "records",
		                    json_integer((json_int_t)m->audit_anchor.records));
		json_object_set_new(a, "head", json_string(m->audit_anchor.head));
		json_object_set_new(j, "audit_anchor", a);
	}
	if (m->source.present) {
		json_t *s = json_object();
		json_object_set_new(s, "host", str_or_null(m->source.host));
		json_object_set_new(
		    s, "port", m->source.port > 0 ? json_integer(m->source.port) : json_null());
		json_object_set_new(s, "standby", json_boolean(m->source.standby));
		json_object_set_new(j, "source", s);
	}
	if (m->kind == MANIFEST_PHYSICAL) {
		char a[24], b[24];
		manifest_lsn_format(m->physical.start_lsn, a);
		manifest_lsn_format(m->physical.stop_lsn, b);
		json_t *p = json_object();
		json_object_set_new(p, "timeline", json_integer((json_int_t)m->physical.timeline));
		json_object_set_new(p, "start_lsn", json_string(a));
		json_object_set_new(p, "stop_lsn", json_string(b));
		json_t *ts = json_array();
		for (size_t i = 0; i < m->physical.ntablespaces; i++)
			json_array_append_new(ts,
			                      json_integer((json_int_t)m->physical.tablespaces[i]));
		json_object_set_new(p, "tablespaces", ts);
		json_object_set_new(j, "physical", p);
	}
	if (m->ntags) { /* absent without tags: an untagged manifest is as before */
		json_t *ts = json_array();
		for (size_t i = 0; i < m->ntags; i++) {
			json_t *tag = json_object();
			json_object_set_new(tag, "name", json_string(m->tags[i].name));
			json_object_set_new(tag, "keep_seconds",
			                    m->tags[i].keep_seconds
			                        ? json_integer((json_int_t)m->tags[i].keep_seconds)
			                        : json_null());
			json_array_append_new(ts, tag);
		}
		json_object_set_new(j, "tags", ts);
	}
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text) { /* a string that is not UTF-8 (a host name, a path) */
		pw_error(PW_E_INTERNAL, "the manifest could not be encoded as JSON");
		return pw_error_hint("A field holds text that is not UTF-8; this is a bug.");
	}
	/* what the readers will decode must decode: never commit a damaged manifest */
	struct manifest *back = pw_malloc(sizeof *back);
	int rc = manifest_decode((const uint8_t *)text, strlen(text), back);
	manifest_free(back);
	if (rc < 0) {
		char why[512];
		pw_strlcpy(why, pw_error_message(), sizeof why);
		pw_free(text);
		pw_error(PW_E_INTERNAL, "the manifest pgward built does not decode: %s", why);
		return pw_error_hint("This is a bug; please report it.");
	}
	rc = pw_buf_append(out, text, strlen(text));
	pw_free(text);
	return rc;
}
