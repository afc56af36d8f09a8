/*
 * catalog.h - the repository format: <stanza>/<backup-id>/ holds the encrypted
 * objects and, written last, the plaintext manifest.json that makes the backup
 * complete. No object is ever rewritten; there is no index and no "latest"
 * pointer. Everything here works without a private key.
 */
#ifndef PW_REPO_CATALOG_H
#define PW_REPO_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "repo/manifest.h"
#include "repo/trust.h"
#include "storage/storage.h"

#define CATALOG_FORMAT 1 /* pgward-repo.json; manifests: MANIFEST_FORMAT */
#define REPO_FILE "pgward-repo.json"
#define MANIFEST "manifest.json"
#define DATA_OBJECT "data.pgdump.zst.age"
#define GLOBALS_OBJECT "globals.sql.zst.age"
#define DETAILS_OBJECT "details.json.age"

/* One object of a backup directory as the listing shows it (for retention's checks). */
struct listed_object {
	char *name;
	uint64_t size;
};

/* A verification record: verify-<time>-d<depth>-<random>.json, or the older
 * verify-<time>.json (depth known only once read). */
struct verify_summary {
	char record[64]; /* "" when there is none */
	char result[16]; /* pass, fail, error; "?" when the record cannot be read */
	int depth;
	time_t when;
	/* its signature (record.minisig): TRUST_SIGNED only by a trusted-signer key whose
	 * trusted comment names this stanza, backup, record name, depth and result */
	struct repo_verdict sig;
};

/* A pin-/unpin- marker's stamp ("<compact time>.json"), as found in the listing. */
struct marker_name {
	char stamp[32];
	bool unpin;
};

enum backup_state {
	BACKUP_INCOMPLETE = 0, /* no manifest.json (interrupted, or being written) */
	BACKUP_COMPLETE,       /* a manifest that decodes: e->manifest */
	BACKUP_DAMAGED,        /* a manifest.json that does not decode (e->damage says why) */
	BACKUP_NEWER,          /* a manifest in a format newer than this pgward reads */
};

struct backup_entry {
	char id[64];
	bool complete; /* state == BACKUP_COMPLETE */
	enum backup_state state;
	struct manifest *manifest; /* decoded; NULL unless complete */
	char damage[256];          /* DAMAGED, NEWER: the decoder's message */
	uint64_t stored_bytes;
	size_t nobjects;
	time_t first_seen;      /* mtime of the oldest object */
	char last_verify[64];   /* newest verification record, "" if never verified */
	char verify_result[16]; /* its result: pass, fail or error */
	int verify_depth;
	struct verify_summary by_depth[4]; /* [1..3]: the newest record of each depth (shown) */
	/* [1..3]: the newest record of each depth signed by a trusted key (evidence) */
	struct verify_summary evidence[4];
	char (*records)[64]; /* every record name listed (judged by read_records) */
	size_t nrecords;
	struct repo_verdict trust; /* who signed the manifest (catalog_list_trusted) */
	bool has_signature;        /* a manifest.json.minisig object is there */
	/* A pin marker keeps the backup (signed or not: the harm is bounded to storage); only
	 * an unpin marker signed by a trusted key, at or after the newest pin, cancels it. */
	bool pinned;                 /* pinned and not cancelled by a trusted unpin */
	bool pinned_any;             /* the newest marker of either kind is a pin (signatures
	                             * not asked: what --allow-unsigned goes by) */
	char pin_stamp[32];          /* the newest pin marker's stamp */
	struct repo_verdict pin_sig; /* its signature */
	char unpin_ignored[32]; /* the newest unpin marker ignored: not signed by a trusted key */
	struct repo_verdict unpin_ignored_sig;
	char unpin_stamp[32]; /* the trusted unpin that cancelled the pin */
	struct marker_name *markers;
	size_t nmarkers;
	struct listed_object *objects; /* every object but records and markers */
	size_t nlisted;
};

struct backup_list {
	struct backup_entry *e;
	size_t n;
	bool trusted_only; /* catalog_pick without an id skips backups not TRUST_SIGNED */
};

/* "20261122T031500Z-1a2b" for now. */
void catalog_new_id(char out[64], time_t when);
bool catalog_valid_stanza(const char *s);
/* Write pgward-repo.json once (no error if it exists). */
int catalog_init_repo(struct stor *s);
/* All backups of a stanza, oldest first. */
int catalog_list(struct stor *s, const char *stanza, struct backup_list *out);
/* The same with a trust verdict per complete backup, judged against signers (NULL: none
 * trusted); with trusted_only, catalog_pick's default is the newest trusted backup. */
int catalog_list_trusted(struct stor *s, const char *stanza, const struct repo_signers *signers,
                         bool trusted_only, struct backup_list *out);
void catalog_list_free(struct backup_list *l);
/* The newest complete backup (signed by a trusted key when l->trusted_only), one by id, or
 * the newest such backup started before t. */
const struct backup_entry *catalog_pick(const struct backup_list *l, const char *id, time_t before);
/* 0 when e is complete; else the error a restore or verify of it must stop with:
 * -PW_E_NOTFOUND (incomplete), -PW_E_VERIFY (damaged manifest), -PW_E_CONFIG (newer
 * format), message naming the backup and a hint. */
int catalog_entry_usable(const struct backup_entry *e);
/* "complete", "incomplete", "damaged", "newer-format" */
const char *catalog_state_name(enum backup_state s);
/* Every depth's newest verification record signed by a trusted key passed (and there is
 * one): unsigned or untrusted records are never evidence. */
bool catalog_verified(const struct backup_entry *e);
/* The same over every record, signed or not (--allow-unsigned, and repositories written
 * before records were signed). */
bool catalog_verified_any(const struct backup_entry *e);
/* Read and judge one record <stanza>/<id>/<v->record> (v->depth from its name, 0 for the
 * old form): fills result, depth and sig. */
void catalog_read_record(struct stor *s, const char *stanza, const char *id,
                         const struct repo_signers *signers, struct verify_summary *v);
/* Sign a record's bytes (its .minisig text into out). */
int catalog_sign_record(const struct minisign_seckey *sk, const char *stanza, const char *id,
                        const char *record, int depth, const char *result, time_t when,
                        const char *body, size_t n, struct pw_buf *out);
/* A new verification record's name: verify-<time>-d<depth>-<8 random hex>.json; two
 * verifies in the same second get different names. */
void catalog_verify_name(char out[64], time_t when, int depth);
/* Parse a record name (new or old form); depth 0 for the old form. */
bool catalog_verify_name_parse(const char *name, time_t *when, int *depth);
/* Stanzas present in the repository. */
int catalog_stanzas(struct stor *s, char ***names, size_t *n);

#endif
