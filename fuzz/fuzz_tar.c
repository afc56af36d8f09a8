/*
 * fuzz_tar.c - libFuzzer target for what a hostile repository (a forged, re-encrypted
 * archive) or server feeds a physical restore: the ustar reader (filter/tar.c), fed in
 * chunks of varying size, and the BASE_BACKUP CopyOut message parser (pg/basebackup.c).
 *
 * Each must succeed or fail with its documented code, never crash or read out of bounds;
 * every entry the reader passes on has a valid relative name (tar_name_valid), a known type
 * and a size within TAR_SIZE_MAX; the data it passes on never exceeds the entry's size.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "filter/tar.h"
#include "pg/basebackup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	uint64_t left;
	bool open;
};

static int on_begin(void *arg, const struct tar_entry *e)
{
	struct state *s = arg;
	char again[TAR_NAME_MAX];
	if (s->open || !tar_name_valid(e->name, again) || strcmp(again, e->name) != 0 ||
	    e->size > TAR_SIZE_MAX || (e->type != TAR_FILE && e->size))
		abort();
	if (e->type != TAR_FILE && e->type != TAR_DIR && e->type != TAR_SYMLINK)
		abort();
	s->left = e->size;
	s->open = true;
	return 0;
}

static int on_data(void *arg, const uint8_t *p, size_t n)
{
	struct state *s = arg;
	(void)p;
	if (!s->open || n > s->left)
		abort();
	s->left -= n;
	return 0;
}

static int on_end(void *arg, const struct tar_entry *e)
{
	struct state *s = arg;
	(void)e;
	if (!s->open || s->left)
		abort();
	s->open = false;
	return 0;
}

static const struct tar_ops ops = {on_begin, on_data, on_end};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s = {0};
	struct tar_reader *r = tar_reader_new(&ops, &s);
	size_t chunk = size ? (size_t)data[0] % 700 + 1 : 1;
	int rc = 0;
	for (size_t off = 0; off < size && rc == 0; off += chunk)
		rc = tar_reader_update(r, data + off, size - off < chunk ? size - off : chunk);
	if (rc == 0)
		rc = tar_reader_finish(r);
	if (rc != 0 && rc != -PW_E_ARCHIVE)
		abort();
	tar_reader_free(r);
	pw_error_clear();

	struct bb_msg m;
	rc = bb_parse_msg(data, size, &m);
	if (rc != 0 && rc != -PW_E_DB)
		abort();
	if (rc == 0 && m.kind == BB_MSG_DATA && (m.data != data + 1 || m.len != size - 1))
		abort();
	pw_error_clear();
	return 0;
}
