/*
 * replication.h - a physical replication client (the streaming replication protocol over
 * a pg.c connection opened with .replication): IDENTIFY_SYSTEM, the WAL segment size,
 * physical slots (READ_REPLICATION_SLOT, CREATE_REPLICATION_SLOT ... PHYSICAL RESERVE_WAL),
 * TIMELINE_HISTORY and START_REPLICATION SLOT ... PHYSICAL X/Y TIMELINE n; and a pure
 * parser of the CopyBoth messages ('w' XLogData, 'k' keepalive) and the builder of the
 * standby status update ('r'). Every value from the server is checked and capped.
 */
#ifndef PW_PG_REPLICATION_H
#define PW_PG_REPLICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct pg_conn;

#define REPL_SEG_MIN (1u << 20)
#define REPL_SEG_MAX (64u << 20)  /* a segment is assembled in memory */
#define REPL_DATA_MAX (16u << 20) /* bytes of WAL in one XLogData message */
#define REPL_HISTORY_MAX (1u << 20)
#define REPL_SLOT_MAX 63

struct repl_system {
	char systemid[32];
	uint32_t timeline;
	uint64_t xlogpos;
};

struct repl_slot {
	bool exists;
	bool physical;
	uint64_t restart_lsn; /* 0 when the slot has reserved no WAL */
	uint32_t restart_tli;
};

/* "16/B374D848" <-> 0x16B374D848. Parse: -PW_E_DB on malformed input. */
int repl_lsn_parse(const char *s, uint64_t *out);
void repl_lsn_format(uint64_t lsn, char out[24]);
/* Slot names: 1-63 of [a-z0-9_] (the server's rule). */
bool repl_slot_name_valid(const char *s);

int repl_identify(struct pg_conn *c, struct repl_system *out);
/* SHOW wal_segment_size, checked to be a power of two in [REPL_SEG_MIN, REPL_SEG_MAX]. */
int repl_segment_size(struct pg_conn *c, uint32_t *out);
int repl_read_slot(struct pg_conn *c, const char *slot, struct repl_slot *out);
int repl_create_slot(struct pg_conn *c, const char *slot);
/* The history file of timeline tli: its name ("0000000N.history") and content (capped). */
int repl_timeline_history(struct pg_conn *c, uint32_t tli, char name[32], struct pw_buf *content);
int repl_start(struct pg_conn *c, const char *slot, uint64_t lsn, uint32_t tli);
/* End the stream (ours or the server's end of a timeline): *next with the next timeline
 * and where it starts when the server switched timelines. */
int repl_end_stream(struct pg_conn *c, bool *next, uint32_t *tli, uint64_t *start);

/* ---- pure ---- */

enum repl_msg_kind { REPL_MSG_XLOGDATA = 'w', REPL_MSG_KEEPALIVE = 'k' };

struct repl_msg {
	enum repl_msg_kind kind;
	uint64_t start;    /* w: LSN of data[0] */
	uint64_t wal_end;  /* w, k: the server's end of WAL */
	int64_t send_time; /* microseconds since 2000-01-01 */
	bool reply_requested;
	const uint8_t *data; /* w: points into the message */
	size_t len;
};

/* Parse one CopyData message from the server; -PW_E_DB (recorded) on anything malformed:
 * unknown type, wrong length, data past REPL_DATA_MAX, an LSN that would wrap. */
int repl_parse_msg(const uint8_t *p, size_t n, struct repl_msg *m);

#define REPL_STATUS_LEN 34
/* The standby status update: written/flushed/applied LSNs, our clock, reply request. */
void repl_status_build(uint8_t out[REPL_STATUS_LEN], uint64_t written, uint64_t flushed,
                       uint64_t applied, int64_t now_us, bool reply);
/* Microseconds since 2000-01-01 now. */
int64_t repl_now(void);

#endif
