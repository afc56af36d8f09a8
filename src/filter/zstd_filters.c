/* zstd_filters.c - zstd compression (libzstd's worker threads) and decompression filters. */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "common/err.h"
#include "common/mem.h"
#include "filter/filter.h"

#define OUT_BLOCK (1024 * 1024)

struct zc {
	struct flt base;
	ZSTD_CCtx *cctx;
	uint8_t *out;
};

static int zerr(const char *what, size_t r)
{
	pw_error(PW_E_INTERNAL, "zstd %s failed: %s", what, ZSTD_getErrorName(r));
	return pw_error_hint("This is unexpected; please report it.");
}

static int zc_drive(struct zc *z, const uint8_t *p, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = {p, n, 0};
	for (;;) {
		ZSTD_outBuffer out = {z->out, OUT_BLOCK, 0};
		size_t r = ZSTD_compressStream2(z->cctx, &out, &in, mode);
		if (ZSTD_isError(r))
			return zerr("compression", r);
		if (out.pos) {
			int rc = flt_write(z->base.next, z->out, out.pos);
			if (rc < 0)
				return rc;
		}
		if (mode == ZSTD_e_end ? r == 0 : in.pos == in.size)
			return 0;
	}
}

static int zc_write(struct flt *f, const uint8_t *p, size_t n)
{
	return zc_drive((struct zc *)f, p, n, ZSTD_e_continue);
}

static int zc_finish(struct flt *f)
{
	int rc = zc_drive((struct zc *)f, NULL, 0, ZSTD_e_end);
	return rc < 0 ? rc : flt_finish(f->next);
}

static void zc_free(struct flt *f)
{
	struct zc *z = (struct zc *)f;
	ZSTD_freeCCtx(z->cctx);
	pw_free(z->out);
	pw_free(z);
}

static const struct flt_ops zc_ops = {"zstd-compress", zc_write, zc_finish, zc_free};

int flt_zstd_compress(struct flt **out, int level, int threads, struct flt *next)
{
	*out = NULL;
	if (level < 1 || level > 19) {
		pw_error(PW_E_CONFIG, "compress-level must be between 1 and 19, not %d", level);
		return pw_error_hint("3 is a good default; higher levels are slower.");
	}
	struct zc *z = pw_calloc(1, sizeof *z);
	z->base.ops = &zc_ops;
	z->base.next = next;
	z->cctx = ZSTD_createCCtx();
	if (!z->cctx)
		pw_nomem(0);
	ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
	if (threads > 0) { /* ignored (single-threaded) if libzstd was built without threads */
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_nbWorkers, threads);
		/* 2 MiB jobs: same speed and ratio here as the default, about a third of the
		 * memory (backup peak RSS 68 -> ~31 MiB measured with the zstd CLI's -B2MiB) */
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_jobSize, 2 * 1024 * 1024);
	}
	z->out = pw_malloc(OUT_BLOCK);
	*out = &z->base;
	return 0;
}

struct zd {
	struct flt base;
	ZSTD_DCtx *dctx;
	uint8_t *out;
	size_t last; /* last ZSTD_decompressStream result: 0 = frame complete */
	bool any;
};

static int zd_bad(const char *why)
{
	pw_error(PW_E_AGE_PAYLOAD, "the compressed stream is damaged: %s", why);
	return pw_error_hint("The backup object is corrupt or truncated; use another backup.");
}

static int zd_write(struct flt *f, const uint8_t *p, size_t n)
{
	struct zd *z = (struct zd *)f;
	ZSTD_inBuffer in = {p, n, 0};
	z->any = z->any || n;
	while (in.pos < in.size) {
		ZSTD_outBuffer out = {z->out, OUT_BLOCK, 0};
		size_t r = ZSTD_decompressStream(z->dctx, &out, &in);
		if (ZSTD_isError(r))
			return zd_bad(ZSTD_getErrorName(r));
		z->last = r;
		if (out.pos) {
			int rc = flt_write(f->next, z->out, out.pos);
			if (rc < 0)
				return rc;
		}
	}
	/* drain what is still buffered inside the decoder (only while it makes progress: once a
	 * frame is complete, another call would report the next frame's header size) */
	while (z->last != 0) {
		ZSTD_outBuffer out = {z->out, OUT_BLOCK, 0};
		size_t r = ZSTD_decompressStream(z->dctx, &out, &in);
		if (ZSTD_isError(r))
			return zd_bad(ZSTD_getErrorName(r));
		if (!out.pos)
			break;
		z->last = r;
		int rc = flt_write(f->next, z->out, out.pos);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int zd_finish(struct flt *f)
{
	struct zd *z = (struct zd *)f;
	if (!z->any || z->last != 0)
		return zd_bad("it ends in the middle of a frame (truncated)");
	return flt_finish(f->next);
}

static void zd_free(struct flt *f)
{
	struct zd *z = (struct zd *)f;
	ZSTD_freeDCtx(z->dctx);
	pw_free(z->out);
	pw_free(z);
}

static const struct flt_ops zd_ops = {"zstd-decompress", zd_write, zd_finish, zd_free};

struct flt *flt_zstd_decompress(struct flt *next)
{
	struct zd *z = pw_calloc(1, sizeof *z);
	z->base.ops = &zd_ops;
	z->base.next = next;
	z->dctx = ZSTD_createDCtx();
	if (!z->dctx)
		pw_nomem(0);
	z->out = pw_malloc(OUT_BLOCK);
	return &z->base;
}
