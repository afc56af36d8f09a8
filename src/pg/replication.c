/* replication.c - physical replication commands and the CopyBoth message codec. */
#include "pg/replication.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "pg/pg.h"

#define PG_EPOCH_OFFSET 946684800LL /* 2000-01-01 in Unix seconds */

static int bad(const char *what)
{
	pw_error(PW_E_DB, "malformed replication reply: %s", what);
	return pw_error_hint("The server (or something posing as it) sent what PostgreSQL "
	                     "never sends; check the connection's target.");
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int repl_lsn_parse(const char *s, uint64_t *out)
{
	uint64_t hi = 0, lo = 0;
	size_t i = 0, nh = 0, nl = 0;
	for (; s[i] && s[i] != '/'; i++, nh++) {
		int v = hexval((unsigned char)s[i]);
		if (v < 0 || nh >= 8)
			return bad("an LSN is not X/Y in hexadecimal");
		hi = hi << 4 | (uint64_t)v;
	}
	if (s[i] != '/' || nh == 0)
		return bad("an LSN is not X/Y in hexadecimal");
	for (i++; s[i]; i++, nl++) {
		int v = hexval((unsigned char)s[i]);
		if (v < 0 || nl >= 8)
			return bad("an LSN is not X/Y in hexadecimal");
		lo = lo << 4 | (uint64_t)v;
	}
	if (nl == 0)
		return bad("an LSN is not X/Y in hexadecimal");
	*out = hi << 32 | lo;
	return 0;
}

void repl_lsn_format(uint64_t lsn, char out[24])
{
	snprintf(out, 24, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

bool repl_slot_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > REPL_SLOT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	if (pw_parse_u64(s, &v) < 0 || v > UINT32_MAX) {
		pw_error_clear();
		return bad("a number is out of range");
	}
	*out = (uint32_t)v;
	return 0;
}

int repl_identify(struct pg_conn *c, struct repl_system *out)
{
	struct pg_result *r;
	memset(out, 0, sizeof *out);
	int rc = pg_repl_exec(c, "IDENTIFY_SYSTEM", &r);
	if (rc < 0)
		return rc;
	if (pg_nrows(r) != 1 || pg_ncols(r) < 3)
		rc = bad("IDENTIFY_SYSTEM");
	if (rc == 0 && strlen(pg_value(r, 0, 0)) >= sizeof out->systemid)
		rc = bad("IDENTIFY_SYSTEM system id");
	if (rc == 0) {
		pw_strlcpy(out->systemid, pg_value(r, 0, 0), sizeof out->systemid);
		rc = parse_u32(pg_value(r, 0, 1), &out->timeline);
	}
	if (rc == 0)
		rc = repl_lsn_parse(pg_value(r, 0, 2), &out->xlogpos);
	if (rc == 0 && out->timeline == 0)
		rc = bad("IDENTIFY_SYSTEM timeline 0");
	pg_result_free(r);
	return rc;
}

int repl_segment_size(struct pg_conn *c, uint32_t *out)
{
	struct pg_result *r;
	int rc = pg_repl_exec(c, "SHOW wal_segment_size", &r);
	if (rc < 0)
		return rc;
	uint64_t v = 0;
	if (pg_nrows(r) != 1 || pg_ncols(r) != 1 || pw_parse_size(pg_value(r, 0, 0), &v) < 0) {
		pw_error_clear();
		rc = bad("SHOW wal_segment_size");
	}
	pg_result_free(r);
	if (rc == 0 && (v < REPL_SEG_MIN || v > REPL_SEG_MAX || (v & (v - 1)) != 0)) {
		pw_error(PW_E_WAL,
		         "the server's WAL segment size (%" PRIu64 " bytes) is not supported", v);
		return pw_error_hint("pgward assembles a segment in memory and supports powers of "
		                     "two from 1 MB to 64 MB (the default is 16 MB).");
	}
	*out = (uint32_t)v;
	return rc;
}

int repl_read_slot(struct pg_conn *c, const char *slot, struct repl_slot *out)
{
	memset(out, 0, sizeof *out);
	if (!repl_slot_name_valid(slot))
		return pw_error(PW_E_INTERNAL, "invalid slot name");
	char cmd[128];
	snprintf(cmd, sizeof cmd, "READ_REPLICATION_SLOT %s", slot);
	struct pg_result *r;
	int rc = pg_repl_exec(c, cmd, &r);
	if (rc < 0)
		return rc;
	if (pg_nrows(r) != 1 || pg_ncols(r) != 3)
		rc = bad("READ_REPLICATION_SLOT");
	if (rc == 0 && !pg_isnull(r, 0, 0)) {
		out->exists = true;
		out->physical = strcmp(pg_value(r, 0, 0), "physical") == 0;
		if (!pg_isnull(r, 0, 1))
			rc = repl_lsn_parse(pg_value(r, 0, 1), &out->restart_lsn);
		if (rc == 0 && !pg_isnull(r, 0, 2))
			rc = parse_u32(pg_value(r, 0, 2), &out->restart_tli);
	}
	pg_result_free(r);
	return rc;
}

int repl_create_slot(struct pg_conn *c, const char *slot)
{
	if (!repl_slot_name_valid(slot))
		return pw_error(PW_E_INTERNAL, "invalid slot name");
	char cmd[160];
	snprintf(cmd, sizeof cmd, "CREATE_REPLICATION_SLOT %s PHYSICAL RESERVE_WAL", slot);
	struct pg_result *r;
	int rc = pg_repl_exec(c, cmd, &r);
	pg_result_free(r);
	return rc;
}

int repl_timeline_history(struct pg_conn *c, uint32_t tli, char name[32], struct pw_buf *content)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "TIMELINE_HISTORY %" PRIu32, tli);
	struct pg_result *r;
	int rc = pg_repl_exec(c, cmd, &r);
	if (rc < 0)
		return rc;
	char want[32];
	snprintf(want, sizeof want, "%08" PRIX32 ".history", tli);
	if (pg_nrows(r) != 1 || pg_ncols(r) != 2 || strcmp(pg_value(r, 0, 0), want) != 0)
		rc = bad("TIMELINE_HISTORY");
	if (rc == 0) {
		const char *v = pg_value(r, 0, 1);
		size_t n = strlen(v);
		if (n > REPL_HISTORY_MAX || n > content->max)
			rc = bad("TIMELINE_HISTORY too large");
		else
			rc = pw_buf_append(content, v, n);
		pw_strlcpy(name, want, 32);
	}
	pg_result_free(r);
	return rc;
}

int repl_start(struct pg_conn *c, const char *slot, uint64_t lsn, uint32_t tli)
{
	if (!repl_slot_name_valid(slot))
		return pw_error(PW_E_INTERNAL, "invalid slot name");
	char cmd[200], l[24];
	repl_lsn_format(lsn, l);
	snprintf(cmd, sizeof cmd, "START_REPLICATION SLOT %s PHYSICAL %s TIMELINE %" PRIu32, slot,
	         l, tli);
	int rc = pg_copy_both_start(c, cmd);
	if (rc < 0 && strstr(pw_error_message(), "has already been removed")) {
		char msg[512];
		pw_strlcpy(msg, pw_error_message(), sizeof msg);
		pw_error_clear();
		pw_error(PW_E_WAL, "the server no longer has the WAL at %s: %s", l, msg);
		return pw_error_hint("The repository has a gap there that nothing can fill; take "
		                     "a new base backup (recovery cannot pass the gap).");
	}
	return rc;
}

int repl_end_stream(struct pg_conn *c, bool *next, uint32_t *tli, uint64_t *start)
{
	*next = false;
	struct pg_result *t = NULL;
	int rc = pg_copy_finish(c, &t);
	if (rc == 0 && t) {
		if (pg_nrows(t) != 1 || pg_ncols(t) != 2)
			rc = bad("end of timeline");
		if (rc == 0)
			rc = parse_u32(pg_value(t, 0, 0), tli);
		if (rc == 0)
			rc = repl_lsn_parse(pg_value(t, 0, 1), start);
		*next = rc == 0;
	}
	pg_result_free(t);
	return rc;
}

/* ---- pure ---- */

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

int repl_parse_msg(const uint8_t *p, size_t n, struct repl_msg *m)
{
	memset(m, 0, sizeof *m);
	if (n < 1)
		return bad("an empty message");
	switch (p[0]) {
	case 'w':
		if (n < 25)
			return bad("a short XLogData message");
		m->kind = REPL_MSG_XLOGDATA;
		m->start = be64(p + 1);
		m->wal_end = be64(p + 9);
		m->send_time = (int64_t)be64(p + 17);
		m->data = p + 25;
		m->len = n - 25;
		if (m->len > REPL_DATA_MAX)
			return bad("an XLogData message larger than 16 MB");
		if (m->start > UINT64_MAX - m->len)
			return bad("XLogData past the end of the WAL address space");
		return 0;
	case 'k':
		if (n != 18)
			return bad("a keepalive message of the wrong length");
		m->kind = REPL_MSG_KEEPALIVE;
		m->wal_end = be64(p + 1);
		m->send_time = (int64_t)be64(p + 9);
		if (p[17] > 1)
			return bad("a keepalive's reply flag is not 0 or 1");
		m->reply_requested = p[17] == 1;
		return 0;
	default:
		return bad("an unknown message type");
	}
}

void repl_status_build(uint8_t out[REPL_STATUS_LEN], uint64_t written, uint64_t flushed,
                       uint64_t applied, int64_t now_us, bool reply)
{
	out[0] = 'r';
	put64(out + 1, written);
	put64(out + 9, flushed);
	put64(out + 17, applied);
	put64(out + 25, (uint64_t)now_us);
	out[33] = reply ? 1 : 0;
}

int64_t repl_now(void)
{
	return ((int64_t)pw_now() - PG_EPOCH_OFFSET) * 1000000;
}
