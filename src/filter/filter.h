/*
 * filter.h - push-style stream filters. A chain is a singly linked list:
 * each filter transforms what is written to it and writes the result to its
 * `next`. The head owns the chain (flt_chain_free frees all of it).
 *
 *   pump(fd) -> [age-decrypt] -> [sha256] -> sink(fd)
 */
#ifndef PW_FILTER_FILTER_H
#define PW_FILTER_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/age.h"

struct flt;
struct flt_ops {
	const char *name;
	int (*write)(struct flt *f, const uint8_t *p, size_t n);
	int (*finish)(struct flt *f); /* end of input: flush, then finish next */
	void (*free)(struct flt *f);  /* free own state only */
};
struct flt {
	const struct flt_ops *ops;
	struct flt *next;
	uint64_t bytes_in;
};

int flt_write(struct flt *f, const uint8_t *p, size_t n);
int flt_finish(struct flt *f);
void flt_chain_free(struct flt *head);

/* Read fd to EOF in large blocks into the chain, then finish it. */
int flt_pump_fd(int fd, const char *name, struct flt *head);

/* Sink: buffered writes to fd (not owned; not closed). For a regular file, a writer
 * thread overlaps the writes with upstream work; with writeback (for files that will be
 * fsynced), it also starts disk writeback as it goes so the final fsync is short. */
struct flt *flt_fd_sink(int fd, const char *name);
struct flt *flt_fd_sink_writeback(int fd, const char *name);
/* Sink: into a capped in-memory buffer (borrowed). */
struct flt *flt_buf_sink(struct pw_buf *b);
/* Pass-through to another thread: next (and the rest of the chain after it) runs on a
 * thread of its own, fed through a bounded queue, so that its work (a tar extraction's
 * file writes) overlaps the work before it (decryption, decompression). An error of the
 * chain after it is returned by a later write or by finish, in the caller's thread. */
struct flt *flt_thread(struct flt *next);
/* Pass-through that shows every block to fn first (counting, parsing, pacing). */
struct flt *flt_tap(int (*fn)(void *arg, const uint8_t *p, size_t n), void *arg, struct flt *next);
/* Pass-through that hashes and counts what flows through it. */
struct flt *flt_sha256(struct flt *next);
void flt_sha256_result(const struct flt *f, uint8_t out[32], uint64_t *bytes);

/* zstd: level 1-19, threads = compression workers (0 = inline). Frames carry a checksum. */
int flt_zstd_compress(struct flt **out, int level, int threads, struct flt *next);
struct flt *flt_zstd_decompress(struct flt *next);

/* age encryption / decryption (armor optional / auto-detected). */
int flt_age_encrypt(struct flt **out, const struct age_recipient *r, size_t n, bool armor,
                    struct flt *next);
struct flt *flt_age_decrypt(const struct age_identity *ids, size_t n, enum age_armor_mode armor,
                            struct flt *next);

#endif
