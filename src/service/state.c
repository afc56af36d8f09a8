/* state.c - the service's local state file (see state.h). */
#include "service/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "common/time.h"

struct entry {
	char stanza[SVC_STANZA_MAX + 1];
	struct plan_state st[PLAN_KIND_COUNT];
	bool present[PLAN_KIND_COUNT];
};

struct svc_state {
	struct entry *e;
	size_t n, cap;
};

struct svc_state *svc_state_new(void)
{
	return pw_calloc(1, sizeof(struct svc_state));
}

void svc_state_free(struct svc_state *s)
{
	if (!s)
		return;
	pw_free(s->e);
	pw_free(s);
}

bool svc_stanza_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > SVC_STANZA_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static struct entry *find(const struct svc_state *s, const char *stanza)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].stanza, stanza) == 0)
			return &s->e[i];
	return NULL;
}

const struct plan_state *svc_state_get(const struct svc_state *s, const char *stanza,
                                       enum plan_kind kind)
{
	struct entry *e = stanza ? find(s, stanza) : NULL;
	return e && (unsigned)kind < PLAN_KIND_COUNT && e->present[kind] ? &e->st[kind] : NULL;
}

size_t svc_state_nstanzas(const struct svc_state *s)
{
	return s->n;
}

int svc_state_put(struct svc_state *s, const char *stanza, enum plan_kind kind,
                  struct plan_state **out)
{
	if (!svc_stanza_name_ok(stanza) || (unsigned)kind >= PLAN_KIND_COUNT) {
		char shown[80];
		pw_str_printable(shown, sizeof shown, stanza ? stanza : "");
		pw_error(PW_E_CONFIG, "stanza name \"%s\" cannot be kept in the service state",
		         shown);
		return pw_error_hint(
		    "Stanza names are 1-%d letters, digits, \"_\", \".\" or \"-\".",
		    SVC_STANZA_MAX);
	}
	struct entry *e = find(s, stanza);
	if (!e) {
		if (s->n == SVC_STATE_MAX_STANZAS) {
			pw_error(PW_E_LIMIT, "the service state holds at most %d stanzas",
			         SVC_STATE_MAX_STANZAS);
			return pw_error_hint(
			    "Split the stanzas over several services, each with its "
			    "own state-file.");
		}
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 8;
			s->e = pw_realloc(s->e, s->cap * sizeof *s->e);
		}
		e = &s->e[s->n++];
		memset(e, 0, sizeof *e);
		memcpy(e->stanza, stanza, strlen(stanza) + 1);
	}
	e->present[kind] = true;
	*out = &e->st[kind];
	return 0;
}

/* ---- reading ---- */

/* what, and the name it is about (quoted) when detail is not NULL */
static int damaged(const char *path, const char *what, const char *detail)
{
	char shown[96];
	pw_str_printable(shown, sizeof shown, detail ? detail : "");
	pw_error(PW_E_CONFIG, "service state file \"%s\" is damaged or not pgward's: %s%s%s%s",
	         path, what, detail ? " \"" : "", shown, detail ? "\"" : "");
	return pw_error_hint("Move it aside and restart: the service then treats every schedule "
	                     "as new (no run is replayed), or point state-file elsewhere.");
}

static int get_time(json_t *o, const char *key, const char *path, time_t *out)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 40 ||
	    pw_time_parse(json_string_value(v), PW_TIME_ISO, false, out, NULL) < 0)
		return damaged(path, "this field is not a time (2026-12-06T02:00:00Z):", key);
	return 0;
}

static int parse_entry(json_t *o, const char *path, struct plan_state *st)
{
	static const char *const keys[] = {"first_seen",   "last_start",         "last_end",
	                                   "last_success", "last_success_start", "result",
	                                   "attempts"};
	if (!json_is_object(o))
		return damaged(path, "a job entry is not an object", NULL);
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
			known |= strcmp(key, keys[i]) == 0;
		if (!known)
			return damaged(path, "unknown field", key);
	}
	int rc;
	if ((rc = get_time(o, "first_seen", path, &st->first_seen)) < 0 ||
	    (rc = get_time(o, "last_start", path, &st->last_start)) < 0 ||
	    (rc = get_time(o, "last_end", path, &st->last_end)) < 0 ||
	    (rc = get_time(o, "last_success", path, &st->last_success)) < 0 ||
	    (rc = get_time(o, "last_success_start", path, &st->last_success_start)) < 0)
		return rc;
	json_t *r = json_object_get(o, "result");
	int res = json_is_string(r) ? plan_result_from(json_string_value(r)) : -1;
	if (r && res < 0)
		return damaged(path, "unknown result", NULL);
	st->result = r ? (enum plan_result)res : PLAN_RES_NONE;
	json_t *a = json_object_get(o, "attempts");
	if (a &&
	    (!json_is_integer(a) || json_integer_value(a) < 0 || json_integer_value(a) > 1000000))
		return damaged(path, "\"attempts\" is not a count", NULL);
	st->attempts = a ? (unsigned)json_integer_value(a) : 0;
	return 0;
}

int svc_state_parse(const char *data, size_t len, const char *path, struct svc_state **out)
{
	*out = NULL;
	if (len > SVC_STATE_MAX_BYTES) {
		pw_error(PW_E_LIMIT, "service state file \"%s\" is larger than %d bytes", path,
		         SVC_STATE_MAX_BYTES);
		return pw_error_hint("It holds a few lines per stanza: it is not pgward's, or "
		                     "damaged; move it aside.");
	}
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char where[64];
		snprintf(where, sizeof where, "not JSON (line %d)", je.line);
		return damaged(path, where, NULL);
	}
	int rc = 0;
	json_t *fmt = json_object_get(root, "format"), *ver = json_object_get(root, "version");
	json_t *stanzas = json_object_get(root, "stanzas");
	if (!json_is_object(root) || !json_is_string(fmt) ||
	    strcmp(json_string_value(fmt), SVC_STATE_FORMAT) != 0) {
		rc = damaged(path, "no \"format\": \"" SVC_STATE_FORMAT "\"", NULL);
	} else if (!json_is_integer(ver) || json_integer_value(ver) != SVC_STATE_VERSION) {
		pw_error(PW_E_CONFIG,
		         "service state file \"%s\" has version %lld; this pgward "
		         "reads version %d",
		         path, json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL,
		         SVC_STATE_VERSION);
		rc = pw_error_hint("Run the pgward that wrote it, or move the file aside.");
	} else if (!json_is_object(stanzas)) {
		rc = damaged(path, "\"stanzas\" is not an object", NULL);
	} else if (json_object_size(stanzas) > SVC_STATE_MAX_STANZAS) {
		rc = damaged(path, "too many stanzas", NULL);
	}
	struct svc_state *s = svc_state_new();
	const char *name;
	json_t *jobs;
	if (rc == 0)
		json_object_foreach(stanzas, name, jobs)
		{
			if (!svc_stanza_name_ok(name)) {
				rc = damaged(path, "bad stanza name", name);
				break;
			}
			if (!json_is_object(jobs)) {
				rc = damaged(path, "not an object: stanza", name);
				break;
			}
			const char *kname;
			json_t *job;
			json_object_foreach(jobs, kname, job)
			{
				int k = plan_kind_from(kname);
				struct plan_state *st;
				if (k < 0) {
					rc = damaged(path, "unknown job kind", kname);
					break;
				}
				if ((rc = svc_state_put(s, name, (enum plan_kind)k, &st)) < 0 ||
				    (rc = parse_entry(job, path, st)) < 0)
					break;
			}
			if (rc < 0)
				break;
		}
	json_decref(root);
	if (rc < 0) {
		svc_state_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int svc_state_load(const char *path, struct svc_state **out)
{
	*out = NULL;
	if (!path || !*path || strcmp(path, "-") == 0) {
		pw_error(PW_E_CONFIG, "state-file must name a file");
		return pw_error_hint("Set state-file to a path such as "
		                     "/var/lib/pgward/service-state.json.");
	}
	int fd;
	int rc =
	    pw_trusted_open(path, "service state file", PW_TRUST_SECRET | PW_TRUST_MISSING, &fd);
	if (rc < 0)
		return rc;
	if (fd < 0) {
		*out = svc_state_new();
		return 0;
	}
	struct pw_buf b = PW_BUF_INIT(SVC_STATE_MAX_BYTES + 1);
	uint8_t chunk[8192];
	for (;;) {
		ssize_t r = pw_read_some(fd, chunk, sizeof chunk, path);
		if (r <= 0) {
			rc = (int)r;
			break;
		}
		if (b.len + (size_t)r > SVC_STATE_MAX_BYTES + 1)
			r = (ssize_t)(SVC_STATE_MAX_BYTES + 1 - b.len);
		if ((rc = pw_buf_append(&b, chunk, (size_t)r)) < 0 || b.len > SVC_STATE_MAX_BYTES)
			break;
	}
	close(fd);
	if (rc == 0)
		rc = svc_state_parse(b.len ? (const char *)b.data : "", b.len, path, out);
	pw_buf_free(&b, 0);
	return rc;
}

/* ---- writing ---- */

static void put_time(json_t *o, const char *key, time_t t)
{
	char buf[PW_TIME_MAX];
	if (t)
		json_object_set_new(o, key, json_string(pw_time_format(t, PW_TIME_ISO, buf)));
}

char *svc_state_dump(const struct svc_state *s)
{
	json_t *root = json_object(), *stanzas = json_object();
	json_object_set_new(root, "format", json_string(SVC_STATE_FORMAT));
	json_object_set_new(root, "version", json_integer(SVC_STATE_VERSION));
	for (size_t i = 0; i < s->n; i++) {
		json_t *jobs = json_object();
		for (int k = 0; k < PLAN_KIND_COUNT; k++) {
			if (!s->e[i].present[k])
				continue;
			const struct plan_state *st = &s->e[i].st[k];
			json_t *o = json_object();
			put_time(o, "first_seen", st->first_seen);
			put_time(o, "last_start", st->last_start);
			put_time(o, "last_end", st->last_end);
			put_time(o, "last_success", st->last_success);
			put_time(o, "last_success_start", st->last_success_start);
			json_object_set_new(o, "result", json_string(plan_result_name(st->result)));
			json_object_set_new(o, "attempts", json_integer(st->attempts));
			json_object_set_new(jobs, plan_kind_name((enum plan_kind)k), o);
		}
		json_object_set_new(stanzas, s->e[i].stanza, jobs);
	}
	json_object_set_new(root, "stanzas", stanzas);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	char *out = pw_strdup(text ? text : "{}");
	pw_free(text);
	return out;
}

int svc_state_save(const struct svc_state *s, const char *path)
{
	if (!path || !*path || strcmp(path, "-") == 0) {
		pw_error(PW_E_CONFIG, "state-file must name a file");
		return pw_error_hint("Set state-file to a path such as "
		                     "/var/lib/pgward/service-state.json.");
	}
	int rc =
	    pw_mkdir_parents(path, PW_E_IO, "Create it, or set state-file to a writable place.");
	if (rc < 0)
		return rc;
	char *text = svc_state_dump(s);
	struct pw_safefile *f;
	rc = pw_safefile_open(&f, path, 0600, 0);
	if (rc == 0) {
		rc = pw_write_all(pw_safefile_fd(f), text, strlen(text), path);
		if (rc == 0)
			rc = pw_write_all(pw_safefile_fd(f), "\n", 1, path);
		if (rc == 0)
			rc = pw_safefile_commit(f);
		pw_safefile_free(f);
	}
	pw_free(text);
	return rc;
}
