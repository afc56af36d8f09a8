/* tar.c - a push-style ustar reader for hostile input (see tar.h). */
#include "filter/tar.h"

#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

#define BLOCK 512

struct tar_reader {
	const struct tar_ops *ops;
	void *arg;
	uint8_t hdr[BLOCK];
	size_t have;        /* bytes of hdr filled */
	uint64_t remaining; /* of the current entry's data */
	uint64_t pad;       /* padding after it */
	bool in_entry;
	int zero_blocks;
	uint64_t entries;
	struct tar_entry e;
};

static int refuse(const char *name, const char *why)
{
	char shown[300];
	pw_str_printable(shown, sizeof shown, name ? name : "");
	pw_error(PW_E_ARCHIVE, "refused base backup archive: %s%s%s%s", why, name ? " (\"" : "",
	         name ? shown : "", name ? "\")" : "");
	return pw_error_hint("The archive is not one PostgreSQL writes; nothing outside the "
	                     "target directory was written. Do not use this backup.");
}

bool tar_name_valid(const char *in, char out[TAR_NAME_MAX])
{
	if (in[0] == '.' && in[1] == '/') /* PostgreSQL names its WAL "./pg_wal/..." */
		in += 2;
	size_t n = strlen(in);
	if (n == 0 || n >= TAR_NAME_MAX || in[0] == '/')
		return false;
	if (in[n - 1] == '/')
		n--;
	if (n == 0)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n) {
			unsigned char ch = (unsigned char)in[i];
			if (ch < 0x20 || ch == 0x7f)
				return false;
			if (ch != '/')
				continue;
		}
		size_t len = i - start;
		if (len == 0 || (len == 1 && in[start] == '.') ||
		    (len == 2 && in[start] == '.' && in[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	memcpy(out, in, n);
	out[n] = 0;
	return true;
}

static bool octal(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && p[i] == ' ')
		i++;
	bool digits = false;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return false;
		v = v << 3 | (uint64_t)(p[i] - '0');
		digits = true;
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != 0)
			return false;
	*out = v;
	return digits;
}

static bool size_field(const uint8_t *p, uint64_t *out)
{
	if (p[0] & 0x80) { /* base-256, as PostgreSQL writes sizes of 8 GB and more */
		if (p[0] != 0x80 || p[1] || p[2] || p[3])
			return false;
		uint64_t v = 0;
		for (int i = 4; i < 12; i++)
			v = v << 8 | p[i];
		*out = v;
		return true;
	}
	return octal(p, 12, out);
}

static int parse_header(struct tar_reader *r)
{
	const uint8_t *h = r->hdr;
	bool zero = true;
	for (size_t i = 0; i < BLOCK && zero; i++)
		zero = h[i] == 0;
	if (zero) {
		r->zero_blocks++;
		return 0;
	}
	if (r->zero_blocks)
		return refuse(NULL, "an entry after the end-of-archive block");
	uint64_t sum = 0, want;
	for (size_t i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	if (!octal(h + 148, 8, &want) || want != sum)
		return refuse(NULL, "a header with a bad checksum");
	if (memcmp(h + 257, "ustar", 5) != 0)
		return refuse(NULL, "a header that is not ustar");
	char raw[TAR_NAME_MAX + 2];
	size_t pl = strnlen((const char *)h + 345, 155), nl = strnlen((const char *)h, 100);
	if (pl) {
		memcpy(raw, h + 345, pl);
		raw[pl] = '/';
		memcpy(raw + pl + 1, h, nl);
		raw[pl + 1 + nl] = 0;
	} else {
		memcpy(raw, h, nl);
		raw[nl] = 0;
	}
	struct tar_entry *e = &r->e;
	memset(e, 0, sizeof *e);
	char type = (char)h[156];
	switch (type) {
	case '0':
	case 0:
		e->type = TAR_FILE;
		break;
	case '5':
		e->type = TAR_DIR;
		break;
	case '2':
		e->type = TAR_SYMLINK;
		break;
	case '1':
		return refuse(raw, "a hard link");
	case '3':
	case '4':
		return refuse(raw, "a device file");
	case '6':
		return refuse(raw, "a FIFO");
	default:
		return refuse(raw, "an unsupported entry type (extension headers are refused)");
	}
	if (!tar_name_valid(raw, e->name))
		return refuse(raw,
		              "a name that is absolute, has a \".\" or \"..\" component, an empty "
		              "component or a control character");
	uint64_t mode, size;
	if (!octal(h + 100, 8, &mode) || mode > 07777)
		return refuse(raw, "a bad mode");
	e->mode = (uint32_t)mode;
	if (!size_field(h + 124, &size) || size > TAR_SIZE_MAX)
		return refuse(raw, "a bad or too large size");
	if (e->type != TAR_FILE && size)
		return refuse(raw, "a directory or link with data");
	e->size = size;
	if (e->type == TAR_SYMLINK) {
		size_t ll = strnlen((const char *)h + 157, 100);
		if (ll == 0)
			return refuse(raw, "a link without a target");
		memcpy(e->link, h + 157, ll);
		e->link[ll] = 0;
	}
	int rc = r->ops->begin(r->arg, e);
	if (rc < 0)
		return rc;
	r->entries++;
	r->remaining = size;
	r->pad = (BLOCK - size % BLOCK) % BLOCK;
	r->in_entry = true;
	if (size == 0) {
		r->in_entry = false;
		return r->ops->end(r->arg, e);
	}
	return 0;
}

int tar_reader_update(struct tar_reader *r, const uint8_t *p, size_t n)
{
	while (n) {
		if (r->in_entry && r->remaining) {
			size_t k = n < r->remaining ? n : (size_t)r->remaining;
			int rc = r->ops->data(r->arg, p, k);
			if (rc < 0)
				return rc;
			r->remaining -= k;
			p += k;
			n -= k;
			if (r->remaining == 0 && r->pad == 0) {
				r->in_entry = false;
				if ((rc = r->ops->end(r->arg, &r->e)) < 0)
					return rc;
			}
			continue;
		}
		if (r->in_entry && r->pad) {
			size_t k = n < r->pad ? n : (size_t)r->pad;
			r->pad -= k;
			p += k;
			n -= k;
			if (r->pad == 0) {
				r->in_entry = false;
				int rc = r->ops->end(r->arg, &r->e);
				if (rc < 0)
					return rc;
			}
			continue;
		}
		size_t k = BLOCK - r->have;
		if (k > n)
			k = n;
		memcpy(r->hdr + r->have, p, k);
		r->have += k;
		p += k;
		n -= k;
		if (r->have == BLOCK) {
			r->have = 0;
			int rc = parse_header(r);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int tar_reader_finish(struct tar_reader *r)
{
	if (r->in_entry || r->have)
		return refuse(r->in_entry ? r->e.name : NULL, "the archive ends inside an entry");
	if (r->entries == 0)
		return refuse(NULL, "an empty archive");
	return 0;
}

uint64_t tar_reader_entries(const struct tar_reader *r)
{
	return r->entries;
}

struct tar_reader *tar_reader_new(const struct tar_ops *ops, void *arg)
{
	struct tar_reader *r = pw_calloc(1, sizeof *r);
	r->ops = ops;
	r->arg = arg;
	return r;
}

void tar_reader_free(struct tar_reader *r)
{
	pw_free(r);
}

struct tar_sink {
	struct flt base;
	struct tar_reader *r;
};

static int ts_write(struct flt *f, const uint8_t *p, size_t n)
{
	return tar_reader_update(((struct tar_sink *)f)->r, p, n);
}

static int ts_finish(struct flt *f)
{
	return tar_reader_finish(((struct tar_sink *)f)->r);
}

static void ts_free(struct flt *f)
{
	pw_free(f);
}

static const struct flt_ops ts_ops = {"tar-reader", ts_write, ts_finish, ts_free};

struct flt *flt_tar_sink(struct tar_reader *r)
{
	struct tar_sink *s = pw_calloc(1, sizeof *s);
	s->base.ops = &ts_ops;
	s->r = r;
	return &s->base;
}
