/* driver.h - (internal to storage) what a driver implements. */
#ifndef PW_STORAGE_DRIVER_H
#define PW_STORAGE_DRIVER_H

#include "crypto/prim.h"
#include "storage/storage.h"

struct stor_ops {
	const char *name;
	int (*write_open)(struct stor *s, const char *key, const struct stor_write_opts *o,
	                  struct stor_writer **out);
	int (*get)(struct stor *s, const char *key, stor_sink_fn sink, void *arg);
	int (*stat)(struct stor *s, const char *key, struct stor_info *info);
	int (*list)(struct stor *s, const char *prefix,
	            int (*fn)(void *arg, const struct stor_info *info), void *arg);
	int (*remove)(struct stor *s, const char *key, struct stor_remove_result *r);
	int (*list_uploads)(struct stor *s, const char *prefix,
	                    int (*fn)(void *arg, const struct stor_upload *u), void *arg);
	int (*abort_upload)(struct stor *s, const char *key, const char *id);
	void (*free)(struct stor *s);
};

struct stor {
	const struct stor_ops *ops;
	unsigned features;
	long clock_skew;
	char desc[512];
};

struct stor_writer_ops {
	int (*write)(struct stor_writer *w, const void *p, size_t n);
	int (*commit)(struct stor_writer *w, struct stor_write_result *r);
	void (*free)(struct stor_writer *w); /* aborts when not committed */
};

struct stor_writer {
	const struct stor_writer_ops *ops;
	struct pw_sha256_ctx *sha;
	uint64_t bytes;
	bool committed;
	bool failed;
};

int stor_posix_open(const char *root, bool create, bool must_exist, struct stor **out);
/* "host[:port]" or "[v6]:port" names the loopback exactly: localhost, 127.0.0.0/8, ::1. */
bool s3_host_is_loopback(const char *hostport);
int stor_s3_open(const struct stor_config *cfg, const char *bucket, const char *prefix,
                 struct stor **out);

#endif
