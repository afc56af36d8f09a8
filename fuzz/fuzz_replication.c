/*
 * fuzz_replication.c - libFuzzer target for what a (hostile) server or repository feeds the
 * WAL code: the CopyBoth message parser (pg/replication.c), LSN text, WAL object keys and
 * signature comments (repo/wal.c).
 *
 * Each must succeed or fail with its documented code, never crash or read out of bounds;
 * an accepted XLogData message's data lies inside the input and within REPL_DATA_MAX; a
 * parsed key builds back to the same text.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "pg/replication.h"
#include "repo/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repl_msg m;
	int rc = repl_parse_msg(data, size, &m);
	if (rc != 0 && rc != -PW_E_DB)
		abort();
	if (rc == 0 && m.kind == REPL_MSG_XLOGDATA &&
	    (m.data < data || m.data + m.len != data + size || m.len > REPL_DATA_MAX))
		abort();
	pw_error_clear();

	char text[2048];
	size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
	memcpy(text, data, n);
	text[n] = 0;
	uint64_t lsn;
	rc = repl_lsn_parse(text, &lsn);
	if (rc != 0 && rc != -PW_E_DB)
		abort();
	if (rc == 0) {
		char back[24];
		uint64_t again;
		repl_lsn_format(lsn, back);
		if (repl_lsn_parse(back, &again) != 0 || again != lsn)
			abort();
	}
	pw_error_clear();

	struct wal_obj o;
	rc = wal_key_parse("shop", text, &o);
	if (rc != 0 && rc != -PW_E_NOTFOUND)
		abort();
	if (rc == 0 && !o.signature) {
		char key[WAL_KEY_MAX];
		const uint32_t segsize = 1u << 24;
		uint64_t segno = (uint64_t)o.log * 256 + o.seg;
		int b = 0;
		if (o.kind == WAL_HISTORY)
			b = wal_key_history("shop", o.tli, key);
		else if (o.seg < 256 && o.kind == WAL_SEGMENT)
			b = wal_key_segment("shop", o.tli, segno, segsize, key);
		else if (o.seg < 256)
			b = wal_key_partial("shop", o.tli, segno, segsize, o.end, key);
		else
			key[0] = 0, b = 1;
		if (b == 0 && strcmp(key, text) != 0)
			abort();
	}
	struct wal_sig_info si;
	rc = wal_sig_comment_check(text, "shop",
	                           "shop/wal/00000001/000000010000000000000001.zst.age", 1, &si);
	if (rc != 0 && rc != -PW_E_SIGNATURE)
		abort();
	pw_error_clear();
	return 0;
}
