/* test_tar.c - the ustar reader for base backup archives: what PostgreSQL writes passes in
 * any chunking; absolute names, "..", links, hard links, devices, FIFOs, extension headers,
 * bad checksums, oversized and truncated entries are refused. */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "filter/tar.h"

struct rec {
	char log[2048];
	uint64_t data;
};

static int r_begin(void *arg, const struct tar_entry *e)
{
	struct rec *r = arg;
	size_t n = strlen(r->log);
	snprintf(r->log + n, sizeof r->log - n, "%c:%s:%llu%s%s;", (char)e->type, e->name,
	         (unsigned long long)e->size, e->type == TAR_SYMLINK ? "->" : "", e->link);
	return 0;
}

static int r_data(void *arg, const uint8_t *p, size_t n)
{
	(void)p;
	((struct rec *)arg)->data += n;
	return 0;
}

static int r_end(void *arg, const struct tar_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}

static const struct tar_ops ops = {r_begin, r_data, r_end};

/* one ustar header (+ data, padded) appended to b */
static void add(struct pw_buf *b, const char *name, char type, const char *data, size_t n,
                const char *link)
{
	uint8_t h[512];
	memset(h, 0, sizeof h);
	size_t nl = strlen(name);
	if (nl > 100) { /* prefix/name split at a '/' */
		const char *cut = name + nl - 100;
		while (*cut && *cut != '/')
			cut++;
		memcpy(h + 345, name, (size_t)(cut - name));
		memcpy(h, cut + 1, strlen(cut + 1));
	} else {
		memcpy(h, name, nl);
	}
	snprintf((char *)h + 100, 8, "%07o", 0600);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)n);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (uint8_t)type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	assert_int_equal(pw_buf_append(b, h, 512), 0);
	if (n) {
		assert_int_equal(pw_buf_append(b, data, n), 0);
		uint8_t zero[512] = {0};
		if (n % 512)
			assert_int_equal(pw_buf_append(b, zero, 512 - n % 512), 0);
	}
}

static int feed(const struct pw_buf *b, size_t chunk, struct rec *r)
{
	memset(r, 0, sizeof *r);
	struct tar_reader *t = tar_reader_new(&ops, r);
	int rc = 0;
	for (size_t off = 0; off < b->len && rc == 0; off += chunk)
		rc = tar_reader_update(t, b->data + off,
		                       b->len - off < chunk ? b->len - off : chunk);
	if (rc == 0)
		rc = tar_reader_finish(t);
	tar_reader_free(t);
	return rc;
}

static void test_postgres_archive(void **state)
{
	(void)state;
	struct pw_buf b = PW_BUF_INIT(1 << 20);
	static char big[1300];
	memset(big, 'x', sizeof big);
	add(&b, "PG_VERSION", '0', "15\n", 3, NULL);
	add(&b, "global", '5', NULL, 0, NULL);
	add(&b, "global/1262", '0', big, sizeof big, NULL);
	add(&b, "./pg_wal/", '5', NULL, 0, NULL);
	add(&b, "pg_tblspc/16384", '2', NULL, 0, "/srv/ts");
	char longname[200];
	snprintf(longname, sizeof longname, "base/%0120d/%s", 1, "file");
	add(&b, longname, '0', "y", 1, NULL);
	size_t chunks[] = {1, 7, 511, 512, 513, 1 << 20};
	for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
		struct rec r;
		assert_int_equal(feed(&b, chunks[i], &r), 0);
		char want[600];
		snprintf(want, sizeof want,
		         "0:PG_VERSION:3;5:global:0;0:global/1262:1300;5:pg_wal:0;"
		         "2:pg_tblspc/16384:0->/srv/ts;0:%s:1;",
		         longname);
		assert_string_equal(r.log, want);
		assert_true(r.data == 1304);
	}
	/* with the two zero blocks of a complete tar file */
	uint8_t zero[1024] = {0};
	assert_int_equal(pw_buf_append(&b, zero, sizeof zero), 0);
	struct rec r;
	assert_int_equal(feed(&b, 100, &r), 0);
	/* an entry after them */
	add(&b, "late", '0', "z", 1, NULL);
	assert_int_equal(feed(&b, 100, &r), -PW_E_ARCHIVE);
	pw_error_clear();
	pw_buf_free(&b, 0);
}

static void test_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		char type;
		const char *why;
	} bad[] = {
	    {"../x", '0', "component"},
	    {"a/../../x", '0', "component"},
	    {"/etc/passwd", '0', "absolute"},
	    {"a//b", '0', "component"},
	    {"a/./b", '0', "component"},
	    {"..", '5', "component"},
	    {"a\nb", '0', "control"},
	    {"hard", '1', "hard link"},
	    {"dev", '3', "device"},
	    {"blk", '4', "device"},
	    {"fifo", '6', "FIFO"},
	    {"pax", 'x', "unsupported"},
	    {"glob", 'g', "unsupported"},
	    {"././@LongLink", 'L', "unsupported"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct pw_buf b = PW_BUF_INIT(1 << 16);
		add(&b, "ok", '0', "1", 1, NULL);
		add(&b, bad[i].name, bad[i].type, NULL, 0, NULL);
		struct rec r;
		assert_int_equal(feed(&b, 512, &r), -PW_E_ARCHIVE);
		assert_non_null(strstr(pw_error_message(), bad[i].why));
		pw_error_clear();
		pw_buf_free(&b, 0);
	}
	/* a bad checksum, a non-ustar header, a truncated entry, data on a directory, an
	 * empty archive, a size past the cap (base-256) */
	struct pw_buf b = PW_BUF_INIT(1 << 16);
	struct rec r;
	add(&b, "f", '0', "abc", 3, NULL);
	b.data[0] = 'g';
	assert_int_equal(feed(&b, 512, &r), -PW_E_ARCHIVE);
	assert_non_null(strstr(pw_error_message(), "checksum"));
	pw_error_clear();
	b.len = 0;
	add(&b, "f", '0', "abc", 3, NULL);
	b.len -= 509; /* cut inside the data's padding */
	b.len -= 2;   /* and inside the data */
	assert_int_equal(feed(&b, 512, &r), -PW_E_ARCHIVE);
	assert_non_null(strstr(pw_error_message(), "ends inside"));
	pw_error_clear();
	b.len = 0;
	add(&b, "d", '5', "abc", 3, NULL);
	assert_int_equal(feed(&b, 512, &r), -PW_E_ARCHIVE);
	pw_error_clear();
	b.len = 0;
	assert_int_equal(feed(&b, 512, &r), -PW_E_ARCHIVE);
	pw_error_clear();
	add(&b, "huge", '0', NULL, 0, NULL);
	memset(b.data + 124, 0, 12);
	b.data[124] = 0x80;
	b.data[127] = 0x01; /* 2^64 and more: not even representable */
	memset(b.data + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += b.data[i];
	snprintf((char *)b.data + 148, 8, "%06o", sum);
	assert_int_equal(feed(&b, 512, &r), -PW_E_ARCHIVE);
	assert_non_null(strstr(pw_error_message(), "size"));
	pw_error_clear();
	pw_buf_free(&b, 0);
}

static void test_names(void **state)
{
	(void)state;
	char out[TAR_NAME_MAX];
	assert_true(tar_name_valid("./pg_wal/000000010000000000000001", out));
	assert_string_equal(out, "pg_wal/000000010000000000000001");
	assert_true(tar_name_valid("base/1/", out));
	assert_string_equal(out, "base/1");
	assert_false(tar_name_valid("", out));
	assert_false(tar_name_valid("./", out));
	assert_false(tar_name_valid("/", out));
	assert_false(tar_name_valid("a/..", out));
	assert_false(tar_name_valid("../", out));
	assert_false(tar_name_valid("././x", out));
	assert_false(tar_name_valid("x\x7f", out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_postgres_archive),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
