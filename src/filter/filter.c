/* filter.c - chain plumbing and the generic filters (sinks, sha256). */
#include "filter/filter.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/blockq.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/thread.h"
#include "crypto/prim.h"

#define PUMP_BLOCK (1024 * 1024)
#define PUMP_BLOCKS 4
#define SINK_BLOCK (1024 * 1024)
#define SINK_BLOCKS 4
#define SYNC_STEP ((off_t)8 * 1024 * 1024)

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

static int pump_simple(int fd, const char *name, struct flt *head)
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

struct reader {
	int fd;
	const char *name;
	struct pw_blockq *q;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	for (;;) {
		struct pw_block *b = pw_blockq_get_empty(r->q);
		if (!b)
			break;
		/* fill the whole block: fewer, larger writes downstream */
		while (b->len < b->cap) {
			ssize_t n = pw_read_some(r->fd, b->data + b->len, b->cap - b->len, r->name);
			if (n < 0) {
				pw_blockq_fail(r->q);
				return NULL;
			}
			if (n == 0) {
				b->eof = true;
				break;
			}
			b->len += (size_t)n;
		}
		bool eof = b->eof;
		pw_blockq_push(r->q, b);
		if (eof)
			break;
	}
	return NULL;
}

int flt_pump_fd(int fd, const char *name, struct flt *head)
{
	struct stat st;
	/* a reader thread only for regular files: their reads never block for long, so the
	 * thread can always be joined; pipes and terminals are read inline */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return pump_simple(fd, name, head);
	struct reader r = {fd, name, pw_blockq_new(PUMP_BLOCKS, PUMP_BLOCK)};
	pthread_t t;
	if (pw_thread_create(&t, reader_main, &r) != 0) {
		pw_blockq_free(r.q);
		return pump_simple(fd, name, head);
	}
	int rc = 0;
	for (;;) {
		struct pw_block *b = pw_blockq_get_full(r.q);
		if (!b) {
			rc = pw_blockq_error(r.q);
			break;
		}
		bool eof = b->eof;
		if (b->len)
			rc = flt_write(head, b->data, b->len);
		pw_blockq_release(r.q, b);
		if (rc < 0) {
			pw_blockq_fail(r.q); /* stops the reader */
			break;
		}
		if (eof) {
			rc = flt_finish(head);
			break;
		}
	}
	pthread_join(t, NULL);
	pw_blockq_free(r.q);
	return rc;
}

/* ---- thread boundary ---- */

struct thr_flt {
	struct flt base;
	struct pw_blockq *q;
	struct pw_block *cur;
	pthread_t thread;
	bool threaded, finished;
};

static void *thr_main(void *arg)
{
	struct thr_flt *t = arg;
	for (;;) {
		struct pw_block *b = pw_blockq_get_full(t->q);
		if (!b)
			break;
		bool eof = b->eof;
		int rc = b->len ? flt_write(t->base.next, b->data, b->len) : 0;
		pw_blockq_release(t->q, b);
		if (rc == 0 && eof)
			rc = flt_finish(t->base.next);
		if (rc < 0) {
			pw_blockq_fail(t->q);
			break;
		}
		if (eof)
			break;
	}
	return NULL;
}

static int thr_send(struct thr_flt *t, bool eof)
{
	t->cur->eof = eof;
	pw_blockq_push(t->q, t->cur);
	t->cur = NULL;
	if (eof)
		return 0;
	t->cur = pw_blockq_get_empty(t->q);
	return t->cur ? 0 : pw_blockq_error(t->q);
}

static int thr_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct thr_flt *t = (struct thr_flt *)f;
	if (!t->threaded)
		return flt_write(f->next, p, n);
	while (n) {
		size_t take = t->cur->cap - t->cur->len < n ? t->cur->cap - t->cur->len : n;
		memcpy(t->cur->data + t->cur->len, p, take);
		t->cur->len += take;
		p += take;
		n -= take;
		if (t->cur->len == t->cur->cap) {
			int rc = thr_send(t, false);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int thr_finish(struct flt *f)
{
	struct thr_flt *t = (struct thr_flt *)f;
	if (!t->threaded)
		return flt_finish(f->next);
	int rc = thr_send(t, true);
	pthread_join(t->thread, NULL);
	t->finished = true;
	return rc < 0 ? rc : pw_blockq_error(t->q);
}

static void thr_free(struct flt *f)
{
	struct thr_flt *t = (struct thr_flt *)f;
	if (t->threaded && !t->finished) {
		pw_blockq_fail(t->q); /* an abandoned chain: stop the thread */
		pthread_join(t->thread, NULL);
	}
	pw_blockq_free(t->q);
	pw_free(t);
}

static const struct flt_ops thr_ops = {"thread", thr_write, thr_finish, thr_free};

struct flt *flt_thread(struct flt *next)
{
	struct thr_flt *t = pw_calloc(1, sizeof *t);
	t->base.ops = &thr_ops;
	t->base.next = next;
	t->q = pw_blockq_new(SINK_BLOCKS, SINK_BLOCK);
	t->cur = pw_blockq_get_empty(t->q);
	t->threaded = pw_thread_create(&t->thread, thr_main, t) == 0; /* else: inline */
	return &t->base;
}

/* ---- fd sink ----
 * To a regular file, the write(2)s run on a thread of their own (flt_thread) and, with
 * writeback, start the disk's writeback every few MiB (sync_file_range), so a later fsync
 * is short and disk time overlaps the work upstream. To pipes and terminals, writes are
 * inline and buffered: a thread blocked on a pipe nobody reads could not be joined. */

struct fd_sink {
	struct flt base;
	int fd;
	const char *name;
	bool writeback;
	struct pw_block local; /* pipes and terminals: buffered here */
	off_t off, synced, waited;
};

static int fd_write_through(struct fd_sink *s, const uint8_t *p, size_t n)
{
	int rc = pw_write_all(s->fd, p, n, s->name);
	s->off += (off_t)n;
	if (rc == 0 && s->writeback && s->off - s->synced >= SYNC_STEP) {
		sync_file_range(s->fd, s->synced, s->off - s->synced, SYNC_FILE_RANGE_WRITE);
		/* keep at most a few steps of dirty pages: wait for older writeback */
		if (s->synced - s->waited >= 4 * SYNC_STEP) {
			sync_file_range(s->fd, s->waited, s->synced - s->waited,
			                SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			                    SYNC_FILE_RANGE_WAIT_AFTER);
			s->waited = s->synced;
		}
		s->synced = s->off;
	}
	return rc;
}

static int fd_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct fd_sink *s = (struct fd_sink *)f;
	struct pw_block *b = &s->local;
	if (!b->data)
		return fd_write_through(s, p, n); /* a regular file: whole blocks from its thread */
	if (b->len + n > b->cap) {
		int rc = b->len ? pw_write_all(s->fd, b->data, b->len, s->name) : 0;
		b->len = 0;
		if (rc < 0)
			return rc;
		if (n >= b->cap)
			return pw_write_all(s->fd, p, n, s->name);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static int fd_finish(struct flt *f)
{
	struct fd_sink *s = (struct fd_sink *)f;
	int rc = s->local.len ? pw_write_all(s->fd, s->local.data, s->local.len, s->name) : 0;
	s->local.len = 0;
	return rc;
}

static void fd_free(struct flt *f)
{
	struct fd_sink *s = (struct fd_sink *)f;
	pw_free(s->local.data);
	pw_free(s);
}

static const struct flt_ops fd_ops = {"fd-sink", fd_write, fd_finish, fd_free};

static struct flt *fd_sink_new(int fd, const char *name, bool writeback)
{
	struct fd_sink *s = pw_calloc(1, sizeof *s);
	s->base.ops = &fd_ops;
	s->writeback = writeback;
	s->fd = fd;
	s->name = name;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return flt_thread(&s->base);
	s->local.data = pw_malloc(SINK_BLOCK);
	s->local.cap = SINK_BLOCK;
	return &s->base;
}

struct flt *flt_fd_sink(int fd, const char *name)
{
	return fd_sink_new(fd, name, false);
}

struct flt *flt_fd_sink_writeback(int fd, const char *name)
{
	return fd_sink_new(fd, name, true);
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

/* ---- tap ---- */

struct tap {
	struct flt base;
	int (*fn)(void *arg, const uint8_t *p, size_t n);
	void *arg;
};

static int tap_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct tap *t = (struct tap *)f;
	int rc = t->fn(t->arg, p, n);
	return rc < 0 ? rc : flt_write(f->next, p, n);
}

static int tap_finish(struct flt *f)
{
	return flt_finish(f->next);
}

static void tap_free(struct flt *f)
{
	pw_free(f);
}

static const struct flt_ops tap_ops = {"tap", tap_write, tap_finish, tap_free};

struct flt *flt_tap(int (*fn)(void *arg, const uint8_t *p, size_t n), void *arg, struct flt *next)
{
	struct tap *t = pw_calloc(1, sizeof *t);
	t->base.ops = &tap_ops;
	t->base.next = next;
	t->fn = fn;
	t->arg = arg;
	return &t->base;
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
