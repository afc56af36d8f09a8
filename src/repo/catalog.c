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
#include <stdio.h>
#include "crypto/prim.h"

#define MANIFEST_MAX (4 * 1024 * 1024)

void catalog_new_id(char out[64], time_t when)
{
	struct tm tm;
	uint16_t r = 0;
	gmtime_r(&when, &tm);
	pw_random(&r, sizeof r);
	char t[32];
	strftime(t, sizeof t, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, 64, "%s-%04x", t, r);
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
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
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

static int collect_cb(void *arg, const struct stor_info *i)
{
	struct collect *c = arg;
	if (strlen(i->key) <= c->plen || memcmp(i->key, c->prefix, c->plen) != 0)
		return 0; /* not under the stanza: never read past the key's end */
	const char *rest = i->key + c->plen; /* "<id>/<object>" */
	const char *slash = strchr(rest, '/');
	if (!slash || strchr(slash + 1, '/') || slash - rest >= 63)
		return 0;
	struct backup_entry *e = entry(c->l, rest, (size_t)(slash - rest));
	e->nobjects++;
	e->stored_bytes += i->size;
	if (!e->first_seen || (i->mtime && i->mtime < e->first_seen))
		e->first_seen = i->mtime;
	if (strcmp(slash + 1, MANIFEST) == 0)
		e->complete = true;
	if (strcmp(slash + 1, MANIFEST_SIG) == 0)
		e->has_signature = true;
	if (strncmp(slash + 1, "verify-", 7) == 0 && strcmp(slash + 1, e->last_verify) > 0)
		pw_strlcpy(e->last_verify, slash + 1, sizeof e->last_verify);
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

int catalog_list(struct stor *s, const char *stanza, struct backup_list *out)
{
	return catalog_list_trusted(s, stanza, NULL, false, out);
}

int catalog_list_trusted(struct stor *s, const char *stanza, const struct repo_signers *signers,
                         bool trusted_only, struct backup_list *out)
{
	memset(out, 0, sizeof *out);
	char prefix[128];
	snprintf(prefix, sizeof prefix, "%s/", stanza);
	struct collect c = {out, prefix, strlen(prefix)};
	int rc = stor_list(s, prefix, collect_cb, &c);
	if (rc < 0)
		return rc;
	if (out->n)
		qsort(out->e, out->n, sizeof *out->e, cmp_entry);
	out->trusted_only = trusted_only;
	for (size_t i = 0; i < out->n; i++) {
		struct backup_entry *e = &out->e[i];
		if (!e->complete)
			continue;
		char key[256];
		struct pw_buf b = PW_BUF_INIT(MANIFEST_MAX);
		/* the verdict is for exactly the bytes parsed below */
		rc = repo_backup_trust(s, stanza, e->id, signers, &e->trust, &b);
		if (rc == 0) {
			json_error_t je;
			e->manifest =
			    json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &je);
			if (!e->manifest || !json_is_object(e->manifest)) {
				json_decref(e->manifest);
				e->manifest = NULL;
				e->complete =
				    false; /* an unreadable manifest does not make a backup */
			}
		}
		pw_buf_free(&b, 0);
		if (rc == -PW_E_LIMIT) { /* a manifest over 4 MiB is not one pgward wrote */
			pw_warn("the manifest of backup %s/%s is too large to be one; the backup "
			        "counts as incomplete",
			        stanza, e->id);
			pw_error_clear();
			e->complete = false;
			rc = 0;
		}
		if (rc == 0 && e->last_verify[0]) {
			struct pw_buf vb = PW_BUF_INIT(MANIFEST_MAX);
			snprintf(key, sizeof key, "%s/%s/%s", stanza, e->id, e->last_verify);
			if (stor_get(s, key, buf_sink, &vb) == 0) {
				json_error_t je;
				json_t *v = json_loadb((const char *)vb.data, vb.len, 0, &je);
				const char *r = json_string_value(json_object_get(v, "result"));
				pw_strlcpy(e->verify_result, r ? r : "?", sizeof e->verify_result);
				e->verify_depth =
				    (int)json_integer_value(json_object_get(v, "depth"));
				json_decref(v);
			}
			pw_error_clear();
			pw_buf_free(&vb, 0);
		}
		if (rc < 0) {
			catalog_list_free(out);
			return rc;
		}
	}
	return 0;
}

void catalog_list_free(struct backup_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->e[i].manifest);
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
		if (before) {
			const char *st = json_string_value(json_object_get(e->manifest, "started"));
			struct tm tm = {0};
			if (!st || !strptime(st, "%Y-%m-%dT%H:%M:%SZ", &tm) ||
			    timegm(&tm) >= before)
				continue;
		}
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
