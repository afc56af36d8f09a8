/*
 * tar.h - a push-style reader of the ustar archives PostgreSQL's BASE_BACKUP sends. Hostile
 * input: every header's checksum is checked, sizes are capped, names are refused when
 * absolute, with a "." or ".." component, an empty component or a control character; only
 * regular files, directories and symbolic links are passed on (the caller decides about a
 * link); hard links, devices, FIFOs and every extension header (pax, GNU long names) are
 * refused. Pure: no I/O. The archive may end with or without its two zero blocks (the
 * server does not send them).
 */
#ifndef PW_FILTER_TAR_H
#define PW_FILTER_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/filter.h"

#define TAR_NAME_MAX 256                 /* prefix "/" name, with the NUL */
#define TAR_SIZE_MAX ((uint64_t)1 << 40) /* one file */

enum tar_type { TAR_FILE = '0', TAR_DIR = '5', TAR_SYMLINK = '2' };

struct tar_entry {
	enum tar_type type;
	char name[TAR_NAME_MAX]; /* validated; no trailing '/' */
	char link[101];          /* TAR_SYMLINK: its target as stored (not validated) */
	uint64_t size;           /* TAR_FILE: bytes of data that follow */
	uint32_t mode;
};

struct tar_ops {
	int (*begin)(void *arg, const struct tar_entry *e);
	int (*data)(void *arg, const uint8_t *p, size_t n);
	int (*end)(void *arg, const struct tar_entry *e);
};

struct tar_reader;
struct tar_reader *tar_reader_new(const struct tar_ops *ops, void *arg);
void tar_reader_free(struct tar_reader *r);
/* Feed bytes; -PW_E_ARCHIVE (recorded, naming the entry) on a malformed or refused archive,
 * or the callbacks' error. */
int tar_reader_update(struct tar_reader *r, const uint8_t *p, size_t n);
/* The end of input: -PW_E_ARCHIVE when it falls inside a header or an entry. */
int tar_reader_finish(struct tar_reader *r);
/* The number of entries passed on so far. */
uint64_t tar_reader_entries(const struct tar_reader *r);

/* A chain sink feeding a reader (not freed with the chain). */
struct flt *flt_tar_sink(struct tar_reader *r);

/* The name rule alone (one leading "./" is dropped): a relative path of non-empty components, none "." or "..", no
 * control character; one trailing '/' is dropped (into out). */
bool tar_name_valid(const char *in, char out[TAR_NAME_MAX]);

#endif
