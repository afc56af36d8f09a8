/*
 * storage.h - one interface over repository storage: a local directory (the
 * default) or an S3-compatible bucket. Callers never ask which: they check
 * feature bits. Objects are written by streaming writers that report the
 * bytes and SHA-256 they stored, and that never replace an existing object
 * unless asked; reads are push-style (the object streams into a callback).
 * Keys are relative paths ("stanza/id/file"); see stor_key_valid().
 */
#ifndef PW_STORAGE_STORAGE_H
#define PW_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/secret.h"

enum stor_feature {
	STOR_F_ATOMIC_WRITE = 1u << 0, /* an object appears whole or not at all */
	STOR_F_NO_OVERWRITE = 1u << 1, /* creating an existing key fails, atomically */
	STOR_F_OBJECT_LOCK = 1u << 2,  /* per-object retention (WORM) */
	STOR_F_VERSIONING = 1u << 3,   /* removed objects keep older versions */
	STOR_F_ATOMIC_RENAME = 1u << 4,
	/* with STOR_F_OBJECT_LOCK: the bucket's lock configuration could not be read (HTTP 403,
	 * s3:GetBucketObjectLockConfiguration missing), so lock support is assumed and the
	 * server decides when an object is written */
	STOR_F_OBJECT_LOCK_ASSUMED = 1u << 5,
};

enum stor_lock_mode { STOR_LOCK_NONE = 0, STOR_LOCK_GOVERNANCE, STOR_LOCK_COMPLIANCE };

struct stor_config {
	const char *addr; /* path, file:///path or s3://bucket/prefix */
	/* S3 */
	const char *endpoint;  /* https://host[:port]; default from region or AWS_ENDPOINT_URL_S3 */
	const char *region;    /* default AWS_REGION, else us-east-1 */
	const char *uri_style; /* "path", "host" or NULL (path when an endpoint is set) */
	const char *ca_file;   /* CA bundle for TLS */
	bool tls_insecure;     /* turn verification off (warned) */
	const char *access_key; /* explicit credentials (else env, file, container, instance) */
	const struct pw_secret *secret_key;
	const struct pw_secret *session_token;
	const char *profile;      /* shared credentials file profile */
	uint64_t part_size;       /* multipart part size (default 16 MiB) */
	unsigned parallel;        /* parts in flight (default 4) */
	unsigned max_attempts;    /* per request (default 6) */
	unsigned request_timeout; /* seconds without progress before a request is retried (60) */
	unsigned total_timeout;   /* most seconds a request may take with all its retries
	                           * (s3-total-timeout, 3600); below it 60 s + 4 s per MiB */
	const char *sse;          /* NULL, "AES256" or "aws:kms" */
	const char *sse_kms_key_id;
	const char *storage_class;
	/* local: never create the directory (a dry run writes nothing) */
	bool no_create;
	/* local: a missing directory is an error at open (commands that only read or maintain
	 * a repository: a mistyped path must not look like an empty repository) */
	bool must_exist;
};

struct stor_write_opts {
	enum stor_lock_mode lock_mode;
	time_t lock_until;
	const char *content_type;
	bool overwrite; /* default false: the repository is append-only */
};

struct stor_write_result {
	uint64_t bytes;
	uint8_t sha256[32];
	char etag[130];
	char version[130];
};

struct stor_info {
	const char *key;
	uint64_t size;
	time_t mtime;
	char etag[130];
	/* from stor_list_all only: why this entry is a stray that cannot be read as an object
	 * ("not a valid object name", "a symbolic link", "not a regular file"), else NULL */
	const char *stray;
};

struct stor_remove_result {
	bool removed;
	bool retained; /* refused by an object lock */
	time_t retained_until;
};

struct stor;
struct stor_writer;

int stor_open(const struct stor_config *cfg, struct stor **out);
void stor_free(struct stor *s);
unsigned stor_features(const struct stor *s);
/* Seconds the server's clock is ahead of ours (0 when unknown or local). */
long stor_clock_skew(const struct stor *s);
/* "local directory /x" or "s3://bucket/prefix at https://endpoint" */
const char *stor_describe(const struct stor *s);
/* Keys: 1-1024 bytes of valid UTF-8, no leading or trailing '/', no empty, "." or ".."
 * segments, no control characters, DEL or '\\'. Names in a listing that break these rules
 * are strays: never read, never built into another key. */
bool stor_key_valid(const char *key);

int stor_write_open(struct stor *s, const char *key, const struct stor_write_opts *o,
                    struct stor_writer **out);
int stor_write(struct stor_writer *w, const void *p, size_t n);
/* Make the object visible; fills r. After commit or not, free the writer. */
int stor_write_commit(struct stor_writer *w, struct stor_write_result *r);
/* Frees; an uncommitted writer is aborted (no object under the key, no leftovers). */
void stor_write_free(struct stor_writer *w);

/* Stream the object into sink; returns -PW_E_NOTFOUND if it does not exist. */
typedef int (*stor_sink_fn)(void *arg, const uint8_t *p, size_t n);
int stor_get(struct stor *s, const char *key, stor_sink_fn sink, void *arg);
int stor_stat(struct stor *s, const char *key, struct stor_info *info);
/* Call fn for every object whose key starts with prefix, in key order. Keys outside the
 * prefix (a hostile or broken endpoint) are dropped; entries that are not readable objects
 * (an invalid name, a symbolic link, a FIFO...) are skipped with a warning naming them. */
int stor_list(struct stor *s, const char *prefix,
              int (*fn)(void *arg, const struct stor_info *info), void *arg);
/* The same, but strays are given to fn with info->stray set (for the stray check). */
int stor_list_all(struct stor *s, const char *prefix,
                  int (*fn)(void *arg, const struct stor_info *info), void *arg);
int stor_remove(struct stor *s, const char *key, struct stor_remove_result *r);

/* Incomplete uploads (S3 multipart uploads; local temporary files left by a crash). */
struct stor_upload {
	const char *key;
	const char *id;
	time_t started;
};
int stor_list_uploads(struct stor *s, const char *prefix,
                      int (*fn)(void *arg, const struct stor_upload *u), void *arg);
int stor_abort_upload(struct stor *s, const char *key, const char *id);

/* Convenience: write a whole small object from memory. */
int stor_put_buf(struct stor *s, const char *key, const void *p, size_t n,
                 const struct stor_write_opts *o, struct stor_write_result *r);

#endif
