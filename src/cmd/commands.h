/*
 * commands.h - the command table and what a command's run function gets.
 * Only this layer and main print; commands return 0 or -code.
 */
#ifndef PW_CMD_COMMANDS_H
#define PW_CMD_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "common/secret.h"
#include "config/config.h"
#include "repo/manifest.h"

struct pw_ctx {
	const char *command;
	struct pw_config *cfg;
	const char *stanza; /* NULL if none */
	/* --backup ID, or the ID of --backup STANZA/ID (whose STANZA then names the stanza) */
	const char *backup_id;
	char stanza_of_id[64];
	char *db_role; /* set by commands that connect (owned) */
	json_t *audit; /* details for the audit record; commands add to it */
	bool audited;  /* command sets false to skip auditing (e.g. pure help) */
};

struct pw_command {
	const char *name;
	const char *summary;
	const char *usage;       /* after "pgward NAME " */
	const char *description; /* paragraphs, wrapped at 80 */
	const char *exit_codes;  /* extra lines for the exit-code section, or NULL */
	const enum pw_opt_id *opts;
	size_t nopts;
	size_t min_args, max_args; /* positional arguments */
	bool audited;
	int (*run)(struct pw_ctx *ctx);
	bool takes_stanza; /* first argument is a stanza name */
};

extern const struct pw_command pw_commands[];
extern const size_t pw_ncommands;
const struct pw_command *pw_command_find(const char *name);
/* The options of the command name (pw_command_find's): false when there is none. The
 * service's jobs take their environment by it (serve_job_opts_fn). */
bool pw_command_opts(const char *name, const enum pw_opt_id **opts, size_t *n);

/* The commands. */
int cmd_help(struct pw_ctx *ctx);
int cmd_keygen(struct pw_ctx *ctx);
int cmd_encrypt(struct pw_ctx *ctx);
int cmd_decrypt(struct pw_ctx *ctx);
int cmd_audit(struct pw_ctx *ctx);
int cmd_repo(struct pw_ctx *ctx);
int cmd_pin(struct pw_ctx *ctx);
int cmd_backup(struct pw_ctx *ctx);
int cmd_list(struct pw_ctx *ctx);
int cmd_restore(struct pw_ctx *ctx);
int cmd_verify(struct pw_ctx *ctx);
int cmd_expire(struct pw_ctx *ctx);
int cmd_unpin(struct pw_ctx *ctx);
int cmd_credentials(struct pw_ctx *ctx);
int cmd_check(struct pw_ctx *ctx);
int cmd_serve(struct pw_ctx *ctx);
int cmd_wal_stream(struct pw_ctx *ctx);
int cmd_wal_fetch(struct pw_ctx *ctx);
int cmd_wal_push(struct pw_ctx *ctx);
int cmd_wal_list(struct pw_ctx *ctx);
/* Pin or unpin a backup against expiry (append-only markers). */
int pw_retention_pin(struct pw_ctx *ctx, const char *id, bool pin);
/* Append one audit record for ctx's command (rc < 0: a failure, with the current error's
 * message); the current error record is kept. */
void pw_audit_record(struct pw_ctx *ctx, const char *db_role, int rc, json_t *details);
/* The audit log's path as the commands use it (audit-log, else the default; allocated). */
char *pw_audit_log_path(const struct pw_config *cfg);
/* The backups of one stanza as "list STANZA --output=json" shows them, read with the
 * stanza's configuration from the file config_path (a const char *): the API's backups
 * resource (an api_hooks.backups function). */
int pw_list_backups_json(void *config_path, const char *stanza, json_t **out);
/* The stanza's continuous WAL as the repository holds it, read like pw_list_backups_json:
 * *last_durable the signed stored= time of the object that ends the newest timeline's WAL
 * (0: none, or none that checks), *from and *to the recovery window (0: none). The keys
 * checked are trusted-signer, else the public half of sign-key (the host that streamed the
 * WAL signed it). */
int pw_wal_status(const char *config_path, const char *stanza, time_t *last_durable, time_t *from,
                  time_t *to);
/* The audit log's head for a backup manifest ({"host", "log", "records", "head"}), or NULL
 * when there is no intact log yet (a warning says why). */
/* The audit log's head for a backup's manifest; false (a warning printed) when there is
 * none. */
bool pw_audit_anchor(struct pw_ctx *ctx, struct manifest_anchor *a);
/* Progress lines on a terminal (stderr), "\r"-refreshed; NULL-safe when not a TTY. */

struct stor;
struct pg_conn;
/* The database connection string from db / url-env / url-file (allocated). */
int pw_db_conninfo(struct pw_ctx *ctx, char **out);
/* Connect with the configured password and pins; records the role for the audit log. */
int pw_db_connect(struct pw_ctx *ctx, bool read_only, bool stop_after_tls, struct pg_conn **out);
/* The same, shown to the server as application_name (NULL: "pgward"). */
int pw_db_connect_as(struct pw_ctx *ctx, bool read_only, bool stop_after_tls,
                     const char *application_name, struct pg_conn **out);
/* The role of a replication connection may replicate and change nothing: findings printed,
 * refused (exit 22) unless --allow-privileged; doing ("Stream WAL") starts the hint. */
int pw_replication_preflight(struct pw_ctx *ctx, struct pg_conn *c, const char *doing,
                             bool *privileged);
/* A physical replication connection (no SQL session setup), same conninfo, password, pins. */
int pw_db_connect_replication(struct pw_ctx *ctx, const char *application_name,
                              struct pg_conn **out);
/* The stanza: the first argument, else the database name of c (if given); validated. */
int pw_resolve_stanza(struct pw_ctx *ctx, struct pg_conn *c, char *out, size_t size);
/* The stanza: the first argument, else the only stanza the repository holds. */
/* restore_command = 'pgward wal-fetch STANZA %f %p' with what this run uses to reach the
 * repository and decrypt (cmd_restore.c; restore --type=physical and verify --restore) */
struct pw_buf;
int pw_restore_command(struct pw_ctx *ctx, const char *stanza, struct pw_buf *out);
int pw_repo_stanza(struct pw_ctx *ctx, struct stor *repo, char *out, size_t size);
/* Open the repository named by the options (repo, s3-*). */
int pw_open_repo(struct pw_ctx *ctx, struct stor **out);
struct repo_signers;
struct backup_entry;
struct pw_keyset;
/* The recipients of the configuration (recipient, recipients-file); none is an error that
 * says what is always encrypted (what: "backups", "WAL"). */
int pw_load_recipients(struct pw_ctx *ctx, struct pw_keyset *ks, const char *what);
/* The trusted-signer keys of the configuration. */
int pw_load_signers(struct pw_ctx *ctx, struct repo_signers *out);
/* Add the backup's signature verdict (and --allow-unsigned) to the audit record. */
void pw_audit_trust(struct pw_ctx *ctx, const struct backup_entry *e, bool allow_unsigned);

/* Help printing (used by main for --help). */
void pw_help_command(FILE *out, const struct pw_command *c);
void pw_help_overview(FILE *out);

/* term.c: passphrases from --passphrase-file, key-passphrase, or the terminal. */
int pw_ask_passphrase(void *cfg, const char *prompt, bool confirm, struct pw_secret **out);
/* -PW_E_INSECURE if fd is a terminal and the data would be binary. */
int pw_refuse_binary_tty(int fd, const char *what);

#endif
