/* age_filters.c - the age encryptor and decryptor as chain filters. */
#include "filter/filter.h"

#include "common/err.h"
#include "common/mem.h"

static int emit_next(void *arg, const uint8_t *p, size_t n)
{
	struct flt *next = arg;
	return flt_write(next, p, n);
}

struct enc_flt {
	struct flt base;
	struct age_enc *e;
};

static int enc_write(struct flt *f, const uint8_t *p, size_t n)
{
	return age_enc_update(((struct enc_flt *)f)->e, p, n);
}

static int enc_finish(struct flt *f)
{
	int rc = age_enc_final(((struct enc_flt *)f)->e);
	return rc < 0 ? rc : flt_finish(f->next);
}

static void enc_free(struct flt *f)
{
	age_enc_free(((struct enc_flt *)f)->e);
	pw_free(f);
}

static const struct flt_ops enc_ops = {"age-encrypt", enc_write, enc_finish, enc_free};

int flt_age_encrypt(struct flt **out, const struct age_recipient *r, size_t n, bool armor,
                    struct flt *next)
{
	struct enc_flt *f = pw_calloc(1, sizeof *f);
	f->base.ops = &enc_ops;
	f->base.next = next;
	int rc = age_enc_new(&f->e, r, n, armor, emit_next, next);
	if (rc < 0) {
		pw_free(f);
		*out = NULL;
		return rc;
	}
	*out = &f->base;
	return 0;
}

struct dec_flt {
	struct flt base;
	struct age_dec *d;
};

static int dec_write(struct flt *f, const uint8_t *p, size_t n)
{
	return age_dec_update(((struct dec_flt *)f)->d, p, n);
}

static int dec_finish(struct flt *f)
{
	int rc = age_dec_final(((struct dec_flt *)f)->d);
	return rc < 0 ? rc : flt_finish(f->next);
}

static void dec_free(struct flt *f)
{
	age_dec_free(((struct dec_flt *)f)->d);
	pw_free(f);
}

static const struct flt_ops dec_ops = {"age-decrypt", dec_write, dec_finish, dec_free};

struct flt *flt_age_decrypt(const struct age_identity *ids, size_t n, enum age_armor_mode armor,
                            struct flt *next)
{
	struct dec_flt *f = pw_calloc(1, sizeof *f);
	f->base.ops = &dec_ops;
	f->base.next = next;
	f->d = age_dec_new(ids, n, armor, emit_next, next);
	return &f->base;
}
