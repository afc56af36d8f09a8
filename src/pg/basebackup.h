/*
 * basebackup.h - PostgreSQL 15's BASE_BACKUP over a replication connection (replication.h's
 * connection): the command, its first two result sets (start position and tablespaces), the
 * CopyOut stream's messages ('n' a new archive, 'd' its bytes, 'm' the backup_manifest
 * follows, 'p' progress) and the end position. Every value from the server is checked
 * and capped: an archive name is "base.tar" or "<oid>.tar", a location an absolute path.
 */
#ifndef PW_PG_BASEBACKUP_H
#define PW_PG_BASEBACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pg_conn;

#define BB_TABLESPACES_MAX 32 /* a manifest holds an object per tablespace */
#define BB_LOCATION_MAX 1024
#define BB_ARCHIVE_NAME_MAX 32

struct bb_tablespace {
	uint32_t oid; /* 0: the main data directory */
	char location[BB_LOCATION_MAX];
	int64_t size_kb; /* -1 when the server did not estimate it */
};

struct bb_start {
	uint64_t start_lsn;
	uint32_t timeline;
	struct bb_tablespace ts[BB_TABLESPACES_MAX];
	size_t nts;
};

/* Send BASE_BACKUP (LABEL label, CHECKPOINT 'fast', WAL true, WAIT false, MANIFEST 'yes',
 * TARGET 'client', PROGRESS) and read its start position and tablespace list; on success
 * the connection is in its CopyOut stream (pg_copy_get). label: [A-Za-z0-9 _.-] only. */
int bb_begin(struct pg_conn *c, const char *label, struct bb_start *out);
/* After the CopyOut stream ended: the end position (LSN, timeline) and the command's end. */
int bb_finish(struct pg_conn *c, uint64_t *stop_lsn, uint32_t *stop_tli);

/* ---- pure ---- */

enum bb_msg_kind {
	BB_MSG_ARCHIVE = 'n',
	BB_MSG_DATA = 'd',
	BB_MSG_MANIFEST = 'm',
	BB_MSG_PROGRESS = 'p'
};

struct bb_msg {
	enum bb_msg_kind kind;
	char archive[BB_ARCHIVE_NAME_MAX]; /* n: "base.tar" or "<oid>.tar" */
	uint32_t oid;                      /* n: 0 for base.tar */
	char location[BB_LOCATION_MAX];    /* n: "" for base.tar */
	const uint8_t *data;               /* d: points into the message */
	size_t len;
	uint64_t progress; /* p: bytes sent so far */
};

/* Parse one CopyData message of the BASE_BACKUP stream; -PW_E_DB (recorded) on anything
 * malformed: unknown type, missing terminator, an archive name that is not base.tar or
 * <oid>.tar, a location that is not absolute or too long. */
int bb_parse_msg(const uint8_t *p, size_t n, struct bb_msg *m);

#endif
