/* filter.c - chain plumbing and the generic filters (sinks, sha256). */
#include "filter/filter.h"

#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "crypto/prim.h"

#define PUMP_BLOCK (1024 * 1024)
#define SINK_BLOCK (1024 * 1024)

int flt_write(struct flt *f, const uint8_t *p, size_t n)
{
	f->bytes_in += n;
	return f->ops->write(f, p, n);
}

int flt_finish(struct flt *f)
{
	return f->ops->finish(f);
}

void flt_chain_free(struct flt *head)
{
	while (head) {
		struct flt *next = head->next;
		head->ops->free(head);
		head = next;
	}
}

int flt_pump_fd(int fd, const char *name, struct flt *head)
{
	uint8_t *b = pw_malloc(PUMP_BLOCK);
	int rc = 0;
	for (;;) {
		ssize_t r = pw_read_some(fd, b, PUMP_BLOCK, name);
		if (r < 0) {
			rc = (int)r;
			break;
		}
		if (r == 0) {
			rc = flt_finish(head);
			break;
		}
		if ((rc = flt_write(head, b, (size_t)r)) < 0)
			break;
	}
	pw_free(b);
	return rc;
}

/* ---- fd sink ---- */

struct fd_sink {
	struct flt base;
	int fd;
	const char *name;
	uint8_t *buf;
	size_t n;
};

static int fd_flush(struct fd_sink *s)
{
	int rc = s->n ? pw_write_all(s->fd, s->buf, s->n, s->name) : 0;
	s->n = 0;
	return rc;
}

static int fd_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct fd_sink *s = (struct fd_sink *)f;
	if (s->n + n > SINK_BLOCK) {
		int rc = fd_flush(s);
		if (rc < 0)
			return rc;
		if (n >= SINK_BLOCK)
			return pw_write_all(s->fd, p, n, s->name);
	}
	memcpy(s->buf + s->n, p, n);
	s->n += n;
	return 0;
}

static int fd_finish(struct flt *f)
{
	return fd_flush((struct fd_sink *)f);
}

static void fd_free(struct flt *f)
{
	struct fd_sink *s = (struct fd_sink *)f;
	pw_free(s->buf);
	pw_free(s);
}

static const struct flt_ops fd_ops = {"fd-sink", fd_write, fd_finish, fd_free};

struct flt *flt_fd_sink(int fd, const char *name)
{
	struct fd_sink *s = pw_calloc(1, sizeof *s);
	s->base.ops = &fd_ops;
	s->fd = fd;
	s->name = name;
	s->buf = pw_malloc(SINK_BLOCK);
	return &s->base;
}

/* ---- buffer sink ---- */

struct buf_sink {
	struct flt base;
	struct pw_buf *b;
};

static int bs_write(struct flt *f, const uint8_t *p, size_t n)
{
	return pw_buf_append(((struct buf_sink *)f)->b, p, n);
}

static int bs_finish(struct flt *f)
{
	(void)f;
	return 0;
}

static void bs_free(struct flt *f)
{
	pw_free(f);
}

static const struct flt_ops bs_ops = {"buf-sink", bs_write, bs_finish, bs_free};

struct flt *flt_buf_sink(struct pw_buf *b)
{
	struct buf_sink *s = pw_calloc(1, sizeof *s);
	s->base.ops = &bs_ops;
	s->b = b;
	return &s->base;
}

/* ---- sha256 pass-through ---- */

struct sha_flt {
	struct flt base;
	struct pw_sha256_ctx *ctx;
	uint8_t digest[32];
	bool done;
};

static int sha_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct sha_flt *s = (struct sha_flt *)f;
	pw_sha256_update(s->ctx, p, n);
	return f->next ? flt_write(f->next, p, n) : 0;
}

static int sha_finish(struct flt *f)
{
	struct sha_flt *s = (struct sha_flt *)f;
	pw_sha256_final(s->ctx, s->digest);
	s->done = true;
	return f->next ? flt_finish(f->next) : 0;
}

static void sha_free(struct flt *f)
{
	struct sha_flt *s = (struct sha_flt *)f;
	pw_sha256_free(s->ctx);
	pw_free(s);
}

static const struct flt_ops sha_ops = {"sha256", sha_write, sha_finish, sha_free};

struct flt *flt_sha256(struct flt *next)
{
	struct sha_flt *s = pw_calloc(1, sizeof *s);
	s->base.ops = &sha_ops;
	s->base.next = next;
	s->ctx = pw_sha256_new();
	return &s->base;
}

void flt_sha256_result(const struct flt *f, uint8_t out[32], uint64_t *bytes)
{
	const struct sha_flt *s = (const struct sha_flt *)f;
	memcpy(out, s->digest, 32);
	if (bytes)
		*bytes = f->bytes_in;
}
