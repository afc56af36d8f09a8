/*
 * manifest.h - the one typed form of a backup's manifest.json, with the one encoder and
 * the one validating decoder. Nothing outside src/repo/ reads a manifest key by name.
 *
 * The text is plaintext JSON in the repository (readable without a key, signed with
 * minisign over its exact bytes), so it names nothing sensitive: the database name, table
 * names and settings are in the encrypted details object. The decoder treats the bytes as
 * hostile: every string is capped, every number range-checked, every field typed; a
 * manifest that breaks a rule is "damaged" (the field is named), never guessed at.
 */
#ifndef PW_REPO_MANIFEST_H
#define PW_REPO_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"

/* The manifest format this build writes and the newest it reads. */
#define MANIFEST_FORMAT 1

/* Caps (a manifest pgward writes is far below every one). */
#define MANIFEST_OBJECTS_MAX 64              /* objects[] */
#define MANIFEST_RECIPIENTS_MAX 64           /* encryption.recipient_fingerprints[] */
#define MANIFEST_NAME_MAX 128                /* an object name */
#define MANIFEST_ID_MAX 64                   /* stanza and backup id, with the NUL */
#define MANIFEST_SHORT_MAX 128               /* tool, server_version, role, lock and kind words */
#define MANIFEST_HOST_MAX 256                /* source.host, audit_anchor.host */
#define MANIFEST_PATH_MAX 1024               /* pg_dump, audit_anchor.log */
#define MANIFEST_NOTE_MAX 512                /* globals_note */
#define MANIFEST_SIZE_MAX (INT64_C(1) << 60) /* any byte count */
#define MANIFEST_TABLESPACES_MAX 32          /* physical.tablespaces[] */
#define MANIFEST_TAGS_MAX 16                 /* tags[] */
#define MANIFEST_TAG_MAX 33                  /* a tag name, with the NUL */
#define MANIFEST_KEEP_MAX (INT64_C(36600) * 86400) /* a tag's keep: 100 years */

enum manifest_kind {
	MANIFEST_LOGICAL = 0, /* pg_dump -Fc */
	MANIFEST_PHYSICAL,    /* reserved for base backups (point-in-time recovery) */
};

enum manifest_lock {
	MANIFEST_LOCK_NONE = 0,
	MANIFEST_LOCK_GOVERNANCE,
	MANIFEST_LOCK_COMPLIANCE,
};

struct manifest_object {
	char name[MANIFEST_NAME_MAX];
	uint64_t size;      /* ciphertext bytes */
	uint8_t sha256[32]; /* of the ciphertext */
};

/* Where the backup was taken from (plaintext, so the database name is not here). */
struct manifest_source {
	bool present;                 /* absent in manifests written before it was recorded */
	char host[MANIFEST_HOST_MAX]; /* "" when not known (a local socket is its directory) */
	int port;                     /* 0 when not known */
	bool standby;                 /* pg_is_in_recovery() at backup time */
};

/* The audit log's head when the backup was taken (cmd_audit.c anchors it). */
struct manifest_anchor {
	bool present;
	char host[MANIFEST_HOST_MAX];
	char log[MANIFEST_PATH_MAX];
	int64_t records; /* >= 1 */
	char head[MANIFEST_SHORT_MAX];
};

/* Reserved for physical backups; encoded only when kind is MANIFEST_PHYSICAL. */
struct manifest_physical {
	uint32_t timeline;
	uint64_t start_lsn, stop_lsn; /* text form "X/Y" (manifest_lsn_format) */
	/* the OIDs of the tablespaces besides the main directory, each stored as the object
	 * "<oid>.tar.zst.age" (their locations are in the encrypted details); distinct, none 0;
	 * absent in manifests written before it was recorded (decoded as none) */
	uint32_t tablespaces[MANIFEST_TABLESPACES_MAX];
	size_t ntablespaces;
};

/*
 * A tag: a name for what the backup stands for ("hourly", "daily": the schedule entries of
 * `pgward serve` whose slot it was, or --tag by hand) and how long that tag keeps it
 * (keep-within, from its start; 0: the tag keeps nothing of its own). Absent in manifests
 * written before tags (decoded as none). A tag can only keep a backup longer than the
 * other retention rules would (repo/retention.h), never shorter.
 */
struct manifest_tag {
	char name[MANIFEST_TAG_MAX];
	int64_t keep_seconds; /* 0 .. MANIFEST_KEEP_MAX */
};

struct manifest {
	int format;
	char tool[MANIFEST_SHORT_MAX];
	char stanza[MANIFEST_ID_MAX];
	char backup_id[MANIFEST_ID_MAX];
	enum manifest_kind kind;
	time_t started, finished;
	double duration_seconds, dump_seconds;
	char server_version[MANIFEST_SHORT_MAX]; /* "" when not recorded */
	char pg_dump[MANIFEST_PATH_MAX];
	int64_t database_size;
	uint64_t raw_bytes;
	char role[MANIFEST_SHORT_MAX];
	bool privileged;
	bool globals;
	char globals_note[MANIFEST_NOTE_MAX]; /* why there are no globals ("" with globals) */
	char compression[MANIFEST_SHORT_MAX]; /* "zstd"; "" when not recorded */
	int compression_level;
	char encryption[MANIFEST_SHORT_MAX]; /* "age-v1"; "" when not recorded */
	char (*recipients)[40];              /* "sha256:<32 hex>" (heap: manifest_clear frees) */
	size_t nrecipients;
	struct manifest_object *objects; /* heap: manifest_clear frees */
	size_t nobjects;
	time_t lock_until; /* 0: not locked */
	enum manifest_lock lock_mode;
	struct manifest_anchor audit_anchor;
	struct manifest_source source;
	struct manifest_physical physical;
	struct manifest_tag tags[MANIFEST_TAGS_MAX]; /* distinct names */
	size_t ntags;
};

/* Free what m holds (objects, recipients) and zero it; manifest_free also frees m
 * (NULL-safe). */
void manifest_clear(struct manifest *m);
void manifest_free(struct manifest *m);
/* Append an object or a recipient fingerprint; -PW_E_LIMIT past the caps. */
int manifest_add_object(struct manifest *m, const char *name, uint64_t size,
                        const uint8_t sha256[32]);
int manifest_add_recipient(struct manifest *m, const char *fingerprint);
/* Append a tag: -PW_E_CONFIG (message, hint) for a name that is not a tag name, a name
 * already there or a keep out of range, -PW_E_LIMIT past the cap. */
int manifest_add_tag(struct manifest *m, const char *name, int64_t keep_seconds);
/* The tag named name, or NULL. */
const struct manifest_tag *manifest_tag(const struct manifest *m, const char *name);

/* The canonical text (2-space indented JSON, fields in a fixed order, newline-free end),
 * appended to out. Returns 0, or -PW_E_INTERNAL for a struct the decoder would refuse
 * (the writer never commits a manifest its own reader calls damaged). */
int manifest_encode(const struct manifest *m, struct pw_buf *out);

/* Decode and validate n bytes into *m (overwritten, not freed: pass a cleared or new
 * struct; manifest_clear it after use). 0; -PW_E_CONFIG when the format is newer than
 * MANIFEST_FORMAT (both versions named, hint: upgrade pgward); -PW_E_VERIFY when the
 * manifest is damaged (not JSON, a required field missing, a field of the wrong type or
 * out of range: the field is named). The message is recorded with pw_error. */
int manifest_decode(const uint8_t *p, size_t n, struct manifest *m);

/* The object named name, or NULL. */
const struct manifest_object *manifest_object(const struct manifest *m, const char *name);
/* Its size and SHA-256; -PW_E_VERIFY (message and hint) when the manifest has none. */
int manifest_digest(const struct manifest *m, const char *name, uint8_t sha256[32], uint64_t *size);
/* The sum of the objects' sizes. */
uint64_t manifest_stored_bytes(const struct manifest *m);

const char *manifest_kind_name(enum manifest_kind k);
const char *manifest_lock_name(enum manifest_lock l); /* NULL for NONE */

/* A PostgreSQL LSN as "X/Y" (uppercase hex, as pg_lsn prints it); parse is strict. */
void manifest_lsn_format(uint64_t lsn, char out[24]);
int manifest_lsn_parse(const char *s, uint64_t *lsn);

/* A name that can be an object of a backup directory: 1-127 bytes of [A-Za-z0-9._-],
 * not starting with '.' or '-'. */
bool repo_object_name_valid(const char *name);
/* A backup id as catalog_new_id makes them: 1-63 bytes of [A-Za-z0-9._-], not starting
 * with '.' or '-'. */
bool repo_backup_id_valid(const char *id);

/* A tag name: 1-32 bytes of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool manifest_tag_name_valid(const char *name);

/*
 * The one way to build a repository key: "<stanza>/<id>/<object>" (object NULL:
 * "<stanza>/<id>/", id and object NULL: "<stanza>/"). Each part is validated (a stanza as
 * catalog_valid_stanza, an id, an object name); -PW_E_STORAGE with the part named when
 * one is not valid, -PW_E_LIMIT when out is too small.
 */
int repo_key(char *out, size_t size, const char *stanza, const char *id, const char *object);

#endif
