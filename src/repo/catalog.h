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

#include "repo/trust.h"
#include "storage/storage.h"

#define CATALOG_FORMAT 1
#define REPO_FILE "pgward-repo.json"
#define MANIFEST "manifest.json"
#define DATA_OBJECT "data.pgdump.zst.age"
#define GLOBALS_OBJECT "globals.sql.zst.age"
#define DETAILS_OBJECT "details.json.age"

struct backup_entry {
	char id[64];
	bool complete;
	json_t *manifest; /* NULL when incomplete (or unreadable) */
	uint64_t stored_bytes;
	size_t nobjects;
	time_t first_seen;      /* mtime of the oldest object */
	char last_verify[64];   /* newest verify-<time>.json, "" if never verified */
	char verify_result[16]; /* its result: pass, fail or error */
	int verify_depth;
	struct repo_verdict trust; /* who signed the manifest (catalog_list_trusted) */
	bool has_signature;        /* a manifest.json.minisig object is there */
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
/* Stanzas present in the repository. */
int catalog_stanzas(struct stor *s, char ***names, size_t *n);

#endif
