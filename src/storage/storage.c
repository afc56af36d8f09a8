/* storage.c - the driver-independent half: address parsing, key rules, hashing writers. */
#include "storage/storage.h"

#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "storage/driver.h"

bool stor_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > 1024 || key[0] == '/' || key[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f || key[i] == '\\')
			return false;
	if (!pw_utf8_valid(key, n))
		return false;
	for (size_t i = 0; i + 1 < n; i++) /* C1 controls (U+0080-U+009F) */
		if ((unsigned char)key[i] == 0xc2 && (unsigned char)key[i + 1] < 0xa0)
			return false;
	for (const char *seg = key; seg;) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (len == 0 || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		seg = slash ? slash + 1 : NULL;
	}
	return true;
}

static int bad_key(const char *key)
{
	/* keys are built from names read from the repository (a listing, a manifest): an
	 * invalid one is hostile or damaged input, not a bug */
	pw_error(PW_E_STORAGE, "invalid object name \"%.300s\"", key); /* escaped when shown */
	return pw_error_hint("pgward never writes such a name: it came from a damaged or "
	                     "tampered repository (see \"pgward verify\").");
}

int stor_open(const struct stor_config *cfg, struct stor **out)
{
	const char *a = cfg->addr;
	*out = NULL;
	if (!a || !*a) {
		pw_error(PW_E_CONFIG, "no repository given");
		return pw_error_hint("Name one with --repo (a directory or s3://bucket/prefix), or "
		                     "set repo in the configuration file.");
	}
	if (pw_startswith(a, "s3://")) {
		const char *b = a + 5;
		const char *slash = strchr(b, '/');
		size_t blen = slash ? (size_t)(slash - b) : strlen(b);
		if (blen < 3 || blen > 63) {
			pw_error(PW_E_CONFIG, "invalid S3 repository address \"%s\"", a);
			return pw_error_hint("Write it as s3://bucket or s3://bucket/prefix.");
		}
		char bucket[64];
		memcpy(bucket, b, blen);
		bucket[blen] = 0;
		for (size_t i = 0; i < blen; i++)
			if (!((bucket[i] >= 'a' && bucket[i] <= 'z') ||
			      (bucket[i] >= '0' && bucket[i] <= '9') || bucket[i] == '-' ||
			      bucket[i] == '.')) {
				pw_error(PW_E_CONFIG, "invalid S3 bucket name \"%s\"", bucket);
				return pw_error_hint("Bucket names use lowercase letters, digits, "
				                     "'-' and '.'.");
			}
		char *prefix = pw_strdup(slash ? slash + 1 : "");
		size_t pl = strlen(prefix);
		while (pl && prefix[pl - 1] == '/')
			prefix[--pl] = 0;
		if (pl && !stor_key_valid(prefix)) {
			pw_free(prefix);
			pw_error(PW_E_CONFIG, "invalid S3 prefix in \"%s\"", a);
			return pw_error_hint("A prefix is a path such as backups/prod, without "
			                     "empty, \".\" or \"..\" parts.");
		}
		int rc = stor_s3_open(cfg, bucket, prefix, out);
		pw_free(prefix);
		return rc;
	}
	if (pw_startswith(a, "file://")) {
		if (!pw_startswith(a, "file:///")) {
			pw_error(PW_E_CONFIG, "invalid repository address \"%s\"", a);
			return pw_error_hint("Use file:///absolute/path or a plain path.");
		}
		return stor_posix_open(a + 7, !cfg->no_create, cfg->must_exist, out);
	}
	if (strstr(a, "://")) {
		pw_error(PW_E_CONFIG, "unsupported repository address \"%s\"", a);
		return pw_error_hint("Use a directory path, file:///path or s3://bucket/prefix.");
	}
	return stor_posix_open(a, !cfg->no_create, cfg->must_exist, out);
}

void stor_free(struct stor *s)
{
	if (s)
		s->ops->free(s);
}

unsigned stor_features(const struct stor *s)
{
	return s->features;
}

long stor_clock_skew(const struct stor *s)
{
	return s->clock_skew;
}

const char *stor_describe(const struct stor *s)
{
	return s->desc;
}

int stor_write_open(struct stor *s, const char *key, const struct stor_write_opts *o,
                    struct stor_writer **out)
{
	static const struct stor_write_opts defaults = {0};
	*out = NULL;
	if (!stor_key_valid(key))
		return bad_key(key);
	if (!o)
		o = &defaults;
	if (o->lock_mode != STOR_LOCK_NONE && !(s->features & STOR_F_OBJECT_LOCK)) {
		pw_error(PW_E_STORAGE, "the repository %s does not support object lock", s->desc);
		return pw_error_hint("Use an S3 bucket created with Object Lock enabled, or turn "
		                     "off lock-days.");
	}
	int rc = s->ops->write_open(s, key, o, out);
	if (rc == 0)
		(*out)->sha = pw_sha256_new();
	return rc;
}

int stor_write(struct stor_writer *w, const void *p, size_t n)
{
	if (w->failed)
		return -(pw_error_code() ? pw_error_code() : PW_E_STORAGE);
	pw_sha256_update(w->sha, p, n);
	w->bytes += n;
	int rc = w->ops->write(w, p, n);
	if (rc < 0)
		w->failed = true;
	return rc;
}

int stor_write_commit(struct stor_writer *w, struct stor_write_result *r)
{
	struct stor_write_result tmp;
	if (!r)
		r = &tmp;
	memset(r, 0, sizeof *r);
	PW_CHECK(!w->committed && !w->failed);
	r->bytes = w->bytes;
	pw_sha256_final(w->sha, r->sha256);
	int rc = w->ops->commit(w, r);
	if (rc == 0)
		w->committed = true;
	else
		w->failed = true;
	return rc;
}

void stor_write_free(struct stor_writer *w)
{
	if (!w)
		return;
	pw_sha256_free(w->sha);
	w->ops->free(w);
}

int stor_get(struct stor *s, const char *key, stor_sink_fn sink, void *arg)
{
	if (!stor_key_valid(key))
		return bad_key(key);
	return s->ops->get(s, key, sink, arg);
}

int stor_stat(struct stor *s, const char *key, struct stor_info *info)
{
	if (!stor_key_valid(key))
		return bad_key(key);
	memset(info, 0, sizeof *info);
	return s->ops->stat(s, key, info);
}

struct list_filter {
	const char *prefix;
	size_t plen;
	bool strays; /* give strays to fn (else skip them with a warning) */
	int (*fn)(void *arg, const struct stor_info *info);
	void *arg;
};

static int filter_cb(void *arg, const struct stor_info *info)
{
	struct list_filter *f = arg;
	if (!info->key || strncmp(info->key, f->prefix, f->plen) != 0) {
		/* the driver (a hostile endpoint) answered with a key outside the prefix */
		pw_debug("ignoring \"%.300s\" in a listing of \"%s\": outside the prefix",
		         info->key ? info->key : "", f->prefix);
		return 0;
	}
	struct stor_info i = *info;
	if (!i.stray && !stor_key_valid(i.key))
		i.stray = "not a valid object name";
	if (i.stray && !f->strays) {
		/* the log sink escapes what a terminal would obey (pw_str_printable) */
		pw_warn("skipping stray \"%.300s\" in the repository: %s", i.key, i.stray);
		return 0;
	}
	return f->fn(f->arg, &i);
}

static int list(struct stor *s, const char *prefix, bool strays,
                int (*fn)(void *arg, const struct stor_info *info), void *arg)
{
	prefix = prefix ? prefix : "";
	struct list_filter f = {prefix, strlen(prefix), strays, fn, arg};
	return s->ops->list(s, prefix, filter_cb, &f);
}

int stor_list(struct stor *s, const char *prefix,
              int (*fn)(void *arg, const struct stor_info *info), void *arg)
{
	return list(s, prefix, false, fn, arg);
}

int stor_list_all(struct stor *s, const char *prefix,
                  int (*fn)(void *arg, const struct stor_info *info), void *arg)
{
	return list(s, prefix, true, fn, arg);
}

int stor_remove(struct stor *s, const char *key, struct stor_remove_result *r)
{
	struct stor_remove_result tmp;
	if (!r)
		r = &tmp;
	memset(r, 0, sizeof *r);
	if (!stor_key_valid(key))
		return bad_key(key);
	return s->ops->remove(s, key, r);
}

struct upload_filter {
	const char *prefix;
	int (*fn)(void *arg, const struct stor_upload *u);
	void *arg;
};

static int upload_filter_cb(void *arg, const struct stor_upload *u)
{
	struct upload_filter *f = arg;
	if (!u->key || !u->id || !pw_startswith(u->key, f->prefix))
		return 0;              /* outside the prefix: a hostile or broken endpoint */
	if (!stor_key_valid(u->key)) { /* never handed on: it could not be aborted by name */
		pw_warn("skipping an incomplete upload of \"%.300s\": not a valid object name",
		        u->key);
		return 0;
	}
	return f->fn(f->arg, u);
}

int stor_list_uploads(struct stor *s, const char *prefix,
                      int (*fn)(void *arg, const struct stor_upload *u), void *arg)
{
	struct upload_filter f = {prefix ? prefix : "", fn, arg};
	return s->ops->list_uploads(s, f.prefix, upload_filter_cb, &f);
}

int stor_abort_upload(struct stor *s, const char *key, const char *id)
{
	if (!stor_key_valid(key))
		return bad_key(key);
	return s->ops->abort_upload(s, key, id);
}

int stor_put_buf(struct stor *s, const char *key, const void *p, size_t n,
                 const struct stor_write_opts *o, struct stor_write_result *r)
{
	struct stor_writer *w;
	int rc = stor_write_open(s, key, o, &w);
	if (rc < 0)
		return rc;
	rc = stor_write(w, p, n);
	if (rc == 0)
		rc = stor_write_commit(w, r);
	stor_write_free(w);
	return rc;
}
