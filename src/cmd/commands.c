/* commands.c - the command table: names, help text, accepted options. */
#include "cmd/commands.h"

#include <string.h>

#define OPTS(...)                                                                                  \
	(const enum pw_opt_id[]){__VA_ARGS__},                                                     \
	    sizeof((const enum pw_opt_id[]){__VA_ARGS__}) / sizeof(enum pw_opt_id)

#define COMMON PW_OPT_CONFIG, PW_OPT_LOG_LEVEL, PW_OPT_AUDIT_LOG
/* where a repository is and how to reach it */
#define REPO_OPTS                                                                                  \
	PW_OPT_REPO, PW_OPT_S3_ENDPOINT, PW_OPT_S3_REGION, PW_OPT_S3_URI_STYLE, PW_OPT_S3_CA_FILE, \
	    PW_OPT_S3_TLS_VERIFY, PW_OPT_S3_ACCESS_KEY, PW_OPT_S3_SECRET_KEY,                      \
	    PW_OPT_S3_SESSION_TOKEN, PW_OPT_S3_PROFILE, PW_OPT_S3_TOTAL_TIMEOUT

const struct pw_command pw_commands[] = {
    {"help", "show help for pgward or one command", "[COMMAND]",
     "Without an argument, lists the commands. With a command name, shows its usage, "
     "options and exit codes. \"pgward help exit-codes\" lists every exit code; "
     "\"pgward help config\" lists every option with its config-file key and "
     "environment variable.",
     NULL, OPTS(PW_OPT_LOG_LEVEL), 0, 1, false, cmd_help, false},
    {"keygen", "generate an age identity (X25519 key pair) or a backup signing key",
     "[-o FILE] [--passphrase] | -y FILE | --sign -o FILE",
     "Writes a new identity (\"AGE-SECRET-KEY-1...\") to FILE (created with mode 0600, never "
     "overwritten) or to standard output, and prints its public key (the recipient, "
     "\"age1...\") on standard error. With --passphrase the identity file is itself "
     "encrypted with a passphrase, as \"age-keygen | age -p\" would do. With -y, prints the "
     "recipient of an existing identity file instead.\n\n"
     "Keep identities off the backup host: only recipients are needed to encrypt.\n\n"
     "With --sign, writes a backup signing key instead (Ed25519; FILE mode 0600, unencrypted, "
     "for sign-key on the backup host) and its public key in minisign's format to FILE.pub "
     "(for trusted-signer on restore hosts), and prints the public key (\"RW...\"). See "
     "docs/signing.md.",
     NULL,
     OPTS(COMMON, PW_OPT_OUT_FILE, PW_OPT_PASSPHRASE, PW_OPT_PUBLIC, PW_OPT_PASSPHRASE_FILE,
          PW_OPT_KEY_PASSPHRASE, PW_OPT_WORK_FACTOR, PW_OPT_ARMOR, PW_OPT_SIGN),
     0, 1, true, cmd_keygen, false},
    {"encrypt", "encrypt a file to age recipients or a passphrase",
     "(-r RECIPIENT | -R FILE)... [-a] [-o OUT] [IN]\n       pgward encrypt -p [-a] [-o OUT] [IN]",
     "Encrypts IN (default standard input) into the age v1 format, to every recipient given "
     "with -r and -R (X25519 public keys), or to a passphrase with -p. The output decrypts "
     "with \"pgward decrypt\" or the stock \"age -d\". Output is binary unless -a is given; "
     "binary is never written to a terminal. With -o, the output file appears only when "
     "encryption has completed (a partial file is removed on failure).",
     NULL,
     OPTS(COMMON, PW_OPT_RECIPIENT, PW_OPT_RECIPIENTS_FILE, PW_OPT_PASSPHRASE, PW_OPT_ARMOR,
          PW_OPT_OUT_FILE, PW_OPT_PASSPHRASE_FILE, PW_OPT_KEY_PASSPHRASE, PW_OPT_WORK_FACTOR),
     0, 1, true, cmd_encrypt, false},
    {"decrypt", "decrypt an age file with identities or a passphrase",
     "[-i IDENTITY]... [-o OUT] [IN]",
     "Decrypts IN (default standard input), binary or ASCII-armored, with the identities in "
     "the -i files (plaintext or passphrase-protected identity files), or with a passphrase "
     "when the file was encrypted with one. Each 64 KiB chunk is authenticated before any of "
     "it is written. With -o, the output file appears only when the whole file has "
     "decrypted and authenticated; on failure nothing is left behind. Without -o, output "
     "written before a failure is authentic but incomplete, and the exit code says so.",
     "  10  an identity does not parse\n"
     "  11  the input is not a well-formed age file (header failure)\n"
     "  12  no identity matches the file's recipients\n"
     "  13  the header MAC does not match (the header was altered)\n"
     "  14  the payload is truncated or altered\n"
     "  15  the ASCII armor is malformed\n"
     "  16  passphrase problem: empty, wrong or unavailable\n",
     OPTS(COMMON, PW_OPT_IDENTITY, PW_OPT_OUT_FILE, PW_OPT_PASSPHRASE_FILE, PW_OPT_KEY_PASSPHRASE,
          PW_OPT_MAX_WORK_FACTOR),
     0, 1, true, cmd_decrypt, false},
    {"audit", "print or verify the audit log",
     "[--since TIME] [--output=json] | verify [--expect-head HASH]",
     "Every command that changes or reads protected state appends one JSON record to the "
     "audit log: time, command, stanza, outcome, the OS user and database role, and "
     "non-secret details. Each record carries the SHA-256 of the record before it. "
     "\"pgward audit\" prints the records (all, or since TIME); \"pgward audit verify\" "
     "checks the whole chain and prints the hash of the newest record. Keep that hash "
     "somewhere else: with --expect-head it also proves that no record was cut from the "
     "end.\n\n"
     "Each signed backup records the log's head at that time in its manifest "
     "(\"audit_anchor\"). \"pgward audit verify --repo ADDR\" also checks the log "
     "against every anchor of this host's log in backups signed by a trusted key (or by "
     "sign-key): a log edited, re-chained or truncated before an anchored record fails.",
     "  18  the chain is broken (a record was edited, removed or reordered)\n",
     OPTS(COMMON, PW_OPT_SINCE, PW_OPT_OUTPUT, PW_OPT_EXPECT_HEAD, REPO_OPTS, PW_OPT_SIGN_KEY,
          PW_OPT_TRUSTED_SIGNER),
     0, 1, false, cmd_audit, false},
    {"repo", "check a repository; list, put, get and remove objects",
     "check | ls [PREFIX] | put KEY [FILE] | get KEY [-o FILE] | rm KEY |\n       uploads [PREFIX] "
     "| abort-uploads [PREFIX]    (all with --repo ADDR)",
     "\"pgward repo check\" writes, reads back, lists and removes a probe object under the "
     "repository and reports what the credentials may do (put, get, list, delete - a "
     "backup host that may not delete is fine, even good), whether the bucket has "
     "versioning and object lock, and the clock skew against the server. It fails (exit 30) "
     "when the repository cannot hold backups.\n\n"
     "ls, put, get and rm work on single objects, for inspection and tests; put never "
     "replaces an existing object, and rm reports an object-lock retention date instead of "
     "failing silently. uploads lists incomplete uploads (S3 multipart uploads, or temporary "
     "files a killed process left in a local repository) and abort-uploads removes them. "
     "ADDR is a directory, file:///path or s3://bucket/prefix; S3 "
     "credentials come from s3-access-key/s3-secret-key, AWS_ACCESS_KEY_ID/"
     "AWS_SECRET_ACCESS_KEY, the shared credentials file, a container credentials endpoint "
     "or the instance role, in that order.",
     "  9   the object does not exist\n  30  storage failure (the message names it)\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_OUTPUT, PW_OPT_OUT_FILE, PW_OPT_S3_PART_SIZE,
          PW_OPT_S3_PARALLEL, PW_OPT_S3_MAX_ATTEMPTS, PW_OPT_S3_TIMEOUT, PW_OPT_S3_SSE,
          PW_OPT_S3_SSE_KMS_KEY_ID, PW_OPT_S3_STORAGE_CLASS, PW_OPT_LOCK_MODE, PW_OPT_LOCK_DAYS),
     1, 3, true, cmd_repo, false},
    {"pin", "show a database server's TLS public-key pin (or check one)",
     "--db URL [--pin-sha256 BASE64]...\n       pgward pin BACKUP-ID --repo ADDR",
     "Connects over TLS, verifying the server as every pgward connection does "
     "(sslmode=verify-full unless the URL says otherwise), and prints the SHA-256 of the "
     "server's public key: the value for pin-sha256. Without --pin-sha256 it stops after "
     "the TLS handshake, so no password is needed or sent. With --pin-sha256 it connects "
     "fully and fails (exit 21) unless the server's key matches one of the pins; the pin is "
     "checked before the server can ask for a password. Pins survive certificate renewals "
     "that keep the key, and do not depend on any CA.\n\n"
     "With a backup id instead, pins that backup in the repository: expire keeps it until "
     "\"pgward unpin BACKUP-ID\" signed by a trusted-signer key. The marker is signed with "
     "sign-key when configured (an unsigned pin keeps the backup too, shown as unsigned).",
     "  20  the server could not be reached or refused the connection\n"
     "  21  TLS verification failed or the pin does not match\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_DB, PW_OPT_URL_ENV, PW_OPT_URL_FILE, PW_OPT_DB_PASSWORD,
          PW_OPT_PIN_SHA256, PW_OPT_OUTPUT, PW_OPT_SIGN_KEY),
     0, 1, true, cmd_pin, false},
    {"backup", "back up a database with a read-only role, encrypted, into the repository",
     "[STANZA] --db URL --repo ADDR --recipient age1... [--lock-days N]",
     "Connects with sslmode=verify-full (and pin-sha256 when given), proves the role is "
     "read-only (no superuser, CREATEROLE, CREATEDB, write grants, CREATE or ownership) and "
     "that the dump will be complete (every table readable, no row-level security filtering "
     "it), then streams pg_dump -Fc -Z0 through zstd and age encryption to every recipient "
     "into the repository, with no plaintext on local disk. Roles (without passwords) are "
     "backed up too when the role may read them. The encrypted details and the plaintext "
     "manifest are written last; only a manifest makes a backup complete. Two backups of "
     "one stanza never run at once. Without a stanza, the backup is filed under the "
     "database's name. With sign-key, manifest.json.minisig (the signature of the manifest, "
     "minisign format) is written just before the manifest; without it the backup is "
     "unsigned (one warning line) and restore and verify refuse it unless --allow-unsigned.\n\n"
     "With --type=physical (or type = physical in the stanza): a base backup of the whole "
     "cluster (PostgreSQL 15's BASE_BACKUP over a replication connection) with a role that has "
     "REPLICATION and no write privilege; each archive (base.tar with its WAL, one per "
     "tablespace) and PostgreSQL's backup_manifest become zstd+age objects as they stream, "
     "and the signed manifest records the timeline, start and stop LSN and the tablespaces "
     "(docs/pitr.md).\n\n"
     "--tag NAME[:KEEP] (repeatable) records a tag in the signed manifest: expire keeps the "
     "backup for KEEP from its start (36h, 30d, 12w, 1y) on top of the other retention rules "
     "(docs/retention.md); pgward serve tags each backup with its schedule entries.",
     "  10  a recipient does not parse\n"
     "  20  database connection or dump failure\n  21  TLS verification or pin failure\n"
     "  22  the role is not read-only, or the dump would be incomplete\n"
     "  23  the dump stream is malformed\n"
     "  30  storage failure\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_DB, PW_OPT_URL_ENV, PW_OPT_URL_FILE, PW_OPT_DB_PASSWORD,
          PW_OPT_PIN_SHA256, PW_OPT_RECIPIENT, PW_OPT_RECIPIENTS_FILE, PW_OPT_COMPRESS_LEVEL,
          PW_OPT_COMPRESS_THREADS, PW_OPT_RATE_LIMIT, PW_OPT_ALLOW_PRIVILEGED, PW_OPT_LOCK_DAYS,
          PW_OPT_LOCK_MODE, PW_OPT_OUTPUT, PW_OPT_S3_PART_SIZE, PW_OPT_S3_PARALLEL,
          PW_OPT_S3_MAX_ATTEMPTS, PW_OPT_S3_TIMEOUT, PW_OPT_S3_SSE, PW_OPT_S3_SSE_KMS_KEY_ID,
          PW_OPT_S3_STORAGE_CLASS, PW_OPT_PROGRESS, PW_OPT_SIGN_KEY, PW_OPT_DRY_RUN, PW_OPT_TYPE,
          PW_OPT_TAG),
     0, 1, true, cmd_backup, true},
    {"list", "list the backups in a repository (no key needed)", "[STANZA] --repo ADDR",
     "One row per backup: id, status (complete; incomplete: no manifest; damaged: a manifest "
     "that does not decode, the reason on the next line; newer-format: written by a newer "
     "pgward), start, duration, database size, stored size, compression ratio, the newest "
     "verification result of each depth (\"d1 pass d3 FAIL\"), lock date, and whether a "
     "privileged role took it (or the server was a standby). "
     "Works on the backup host: it reads only the plaintext manifests. The \"signed by\" column "
     "shows who signed each backup: the key id of a trusted-signer, \"unsigned\", \"BAD "
     "SIGNATURE\" or \"untrusted KEYID\". A verification record counts (\"verified\") only "
     "when a trusted-signer key signed it; others are shown as \"(unsigned record)\" and "
     "count only with --allow-unsigned (warned). A pinned backup gets a line saying so, and "
     "names an unpin ignored because no trusted key signed it. \"info\" is an alias.\n\n"
     "Physical backups are marked PHYSICAL. With WAL stored (wal-stream, wal-push), each "
     "stanza ends with its WAL coverage per timeline (from, to, gaps), the physical backups "
     "whose WAL stops at a gap (naming the segment), and the recovery window: \"you can "
     "restore to any moment from\" the end of the oldest physical backup with continuous "
     "WAL \"to\" the signed time of the last durable WAL (times from signatures checked "
     "against trusted-signer, never from the storage). --output=json gives the same under "
     "each physical backup's \"wal\".",
     NULL, OPTS(COMMON, REPO_OPTS, PW_OPT_OUTPUT, PW_OPT_TRUSTED_SIGNER, PW_OPT_ALLOW_UNSIGNED), 0,
     1, false, cmd_list, true},
    {"restore", "restore a backup into a database or a file",
     "[STANZA] [--backup [STANZA/]ID | --before TIME] -i IDENTITY (--target URL | --to-file FILE "
     "| --type=physical --target-dir DIR [--tablespace-map OID=DIR]... [--target-time TIME | "
     "--target-lsn LSN | --target-xid XID | --target-name NAME | --latest] [--target-action "
     "pause|promote|shutdown] [--target-exclusive] [--start PORT])",
     "Picks the newest complete backup (or --backup ID, or the newest before TIME), decrypts "
     "it with the identity, decompresses it and feeds it to pg_restore --single-transaction "
     "--exit-on-error, so a damaged or tampered backup leaves the target database exactly as "
     "it was. The target must hold no tables unless --clean is given; --create makes it first. "
     "A backup's functions, constraints and defaults run during the restore: as a superuser "
     "they run with a superuser's power, so pgward warns then; --role NAME restores as that "
     "role (e.g. the database's owner, with --no-owner). "
     "--to-file writes the "
     "plain pg_dump archive instead (mode 0600). The same backups restore with stock tools: "
     "age -d -i KEY data.pgdump.zst.age | zstd -d | pg_restore -d DB.\n\n"
     "Only a backup signed by a trusted-signer key is restored (the default pick is the "
     "newest such backup); --allow-unsigned accepts any other, with a warning, and is "
     "recorded in the audit log.\n\n"
     "--type=physical restores the newest trusted physical backup into --target-dir DIR "
     "(absent or empty, ours, not a link; created 0700), each tablespace into its "
     "--tablespace-map OID=DIR: every object is checked against the signed manifest before "
     "a byte is extracted, the archives are read by a tar reader that refuses absolute "
     "names, '..', links, devices and FIFOs, then the stock pg_verifybackup checks the "
     "directory and pgward prints the command that starts the server (docs/pitr.md).\n\n"
     "Point-in-time recovery: with --target-time (UTC), --target-lsn, --target-xid, "
     "--target-name (a restore point) or --latest (the end of the stored WAL), the base is the "
     "newest one that ended before the target, and before anything is written pgward proves "
     "from the repository that the stored WAL reaches the target from the base's start "
     "(timelines followed through their signed history files; a gap, a target before the "
     "oldest base or after the last durable WAL is refused, naming the gap's LSNs and "
     "objects). It then writes recovery.signal and appends to postgresql.auto.conf "
     "restore_command = 'pgward wal-fetch ...' (this binary's absolute path and the config "
     "file, identity, repository and trusted-signer of this run, each shell-quoted; never a "
     "secret), the target, recovery_target_action (--target-action, default pause: check "
     "the data, then SELECT pg_wal_replay_resume() to promote) and recovery_target_timeline "
     "= 'latest'. --start PORT (not as root) starts the server on a socket in DIR only "
     "(.s.PGSQL.PORT; no TCP, so no other local user reaches it), waits until recovery reached the "
     "target and reports where it stopped; "
     "a recovery that stopped early (a damaged WAL object: wal-fetch exits 126) is an error "
     "naming the object.",
     "  2   --type=physical: a tablespace has no --tablespace-map\n"
     "  5   --target-dir is a link or another user's directory\n"
     "  6   --to-file: the file exists (--force replaces it); --target-dir is not empty\n"
     "  9   no such backup\n  12  the identity does not match the backup's recipients\n"
     "  14  the backup is damaged (nothing was restored)\n"
     "  20  pg_restore or the target database failed\n"
     "  22  --globals: privileged roles need --allow-privileged-roles (nothing applied)\n"
     "  23  --globals: the roles object holds a statement pgward does not apply;\n"
     "      --type=physical: an archive holds what PostgreSQL never writes\n"
     "  24  the data object (--type=physical: any object) differs from the signed manifest\n"
     "      (nothing was restored); pg_verifybackup refused the restored directory\n"
     "  30  storage failure\n"
     "  31  the backup is unsigned, badly signed or signed by an untrusted key\n"
     "  9   a recovery target before the end of the oldest physical base backup\n"
     "  32  the stored WAL does not reach the recovery target: a gap, or the target is\n"
     "      after the last durable WAL (nothing was written); --start: recovery ended\n"
     "      before the target\n"
     " 126  --start: recovery stopped at a damaged, forged or missing WAL object\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_IDENTITY, PW_OPT_PASSPHRASE_FILE, PW_OPT_KEY_PASSPHRASE,
          PW_OPT_BACKUP_ID, PW_OPT_BEFORE, PW_OPT_TARGET, PW_OPT_TARGET_PASSWORD, PW_OPT_TO_FILE,
          PW_OPT_CREATE, PW_OPT_CLEAN, PW_OPT_NO_OWNER, PW_OPT_RESTORE_ROLE, PW_OPT_JOBS,
          PW_OPT_TEMP_DIR, PW_OPT_TABLE, PW_OPT_SCHEMA, PW_OPT_GLOBALS,
          PW_OPT_ALLOW_PRIVILEGED_ROLES, PW_OPT_FORCE, PW_OPT_PROGRESS, PW_OPT_SINGLE_TRANSACTION,
          PW_OPT_TRUSTED_SIGNER, PW_OPT_ALLOW_UNSIGNED, PW_OPT_TYPE, PW_OPT_TARGET_DIR,
          PW_OPT_TABLESPACE_MAP, PW_OPT_TARGET_TIME, PW_OPT_TARGET_LSN, PW_OPT_TARGET_XID,
          PW_OPT_TARGET_NAME, PW_OPT_LATEST, PW_OPT_TARGET_ACTION, PW_OPT_TARGET_EXCLUSIVE,
          PW_OPT_START_PORT),
     0, 1, true, cmd_restore, true},
    {"verify", "prove backups: integrity without a key, decryption with one, a restore drill",
     "[STANZA] [--backup ID | --all] [-i IDENTITY [--restore [--scratch-url URL | "
     "--scratch-local]]]",
     "One verify or expire of a stanza runs at a time across hosts: verify first takes the "
     "stanza's lease in the repository (a claim object under STANZA/lock/, signed with "
     "sign-key) and exits 30 without checking anything when another host holds it; with "
     "trusted-signer, only claims signed by a trusted-signer key or this sign-key count. "
     "Depth 1, with no key (runs on the backup host): every object the manifest names exists "
     "with its size and ciphertext SHA-256, and objects no manifest names are reported as "
     "strays. Depth 2, with -i: the objects decrypt and decompress to the end, the pg_dump "
     "archive parses to its end, and its per-table row counts match the encrypted details. "
     "For a physical backup, depth 2 parses every archive to its end with the tar reader of "
     "restore --type=physical; its depth 3 (--restore, no scratch option) restores it into "
     "a new 0700 directory under --temp-dir, $TMPDIR or /tmp, checks it with pg_verifybackup, "
     "recovers it to the end of the stored WAL through pgward wal-fetch (the server started "
     "as restore --start starts it: on its socket in that directory only, as the current "
     "user, never as root: exit 5), runs the stock pg_amcheck "
     "--all --install-missing on it, stops the server and removes the directory on every "
     "exit; a WAL object wal-fetch refuses, a gap or pg_amcheck's finding fails it (24, "
     "naming what). "
     "At every depth, a "
     "physical backup's WAL must be stored without a gap from its start to its stop LSN "
     "and on to the end of the stored WAL (a gap fails, naming the missing segment), each "
     "WAL object's signature checked against trusted-signer, nothing decrypted. "
     "Depth 3, with --restore --scratch-url: the backup is restored into a scratch database "
     "(created and dropped on that server) and every table's row count is compared. With "
     "--restore --scratch-local instead, the scratch database lives in a throwaway cluster "
     "pgward starts itself with the installed server programs of the backup's PostgreSQL "
     "version (or a newer one): initdb in a 0700 directory under --temp-dir, $TMPDIR or "
     "/tmp, a unix socket in that directory and no TCP port, run as --scratch-user "
     "(default pgward-scratch, a system user of its own) when pgward runs as root, with an "
     "empty environment; the backup is restored as a role that is not a superuser and may "
     "not run server programs, so code in the backup cannot leave the database (what needs "
     "superuser fails, named); its lock table is sized from the backup's table of contents; "
     "the backup's roles are created there NOLOGIN without privileged attributes or "
     "memberships, and the data restored without owners but with grants and policies "
     "(without a roles object pgward can apply: --no-owner --no-privileges; the report says "
     "which); the cluster is stopped and its directory removed on every exit, "
     "also on SIGINT and SIGTERM. It needs disk space for the restored database. Each run "
     "appends a verify-<time>-d<depth>-<random>.json next to the backup (created exclusively: "
     "concurrent runs keep every record), signed with sign-key (.minisig, written first): "
     "list and check count a record as evidence only when a trusted-signer key signed it. "
     "Default: the newest complete backup "
     "signed by a trusted-signer key; a backup that is not is refused (exit 31) unless "
     "--allow-unsigned.",
     "  24  a backup failed verification (each problem is named)\n"
     "  31  a backup is unsigned, badly signed or signed by an untrusted key\n"
     "  5   verify --restore of a physical backup run as root\n"
     "  130 interrupted; a scratch database or cluster was removed\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_IDENTITY, PW_OPT_PASSPHRASE_FILE, PW_OPT_KEY_PASSPHRASE,
          PW_OPT_BACKUP_ID, PW_OPT_ALL, PW_OPT_RESTORE_DRILL, PW_OPT_SCRATCH_URL,
          PW_OPT_SCRATCH_PASSWORD, PW_OPT_SCRATCH_LOCAL, PW_OPT_SCRATCH_USER, PW_OPT_TEMP_DIR,
          PW_OPT_OUTPUT, PW_OPT_TRUSTED_SIGNER, PW_OPT_ALLOW_UNSIGNED, PW_OPT_PROGRESS,
          PW_OPT_SIGN_KEY),
     0, 1, true, cmd_verify, true},
    {"expire", "remove backups the retention policy no longer keeps (no key needed)",
     "[STANZA] --repo ADDR [--dry-run] [--retention-days N] [--retention-min N] ...",
     "A complete backup is kept if any rule keeps it: younger than retention-days (30), among "
     "the newest retention-min (3), the newest of each of the last retention-daily / -weekly / "
     "-monthly / -yearly days, weeks, months or years, or pinned (\"pgward pin ID\"). "
     "Incomplete backups older than incomplete-grace hours (24) are removed and stale "
     "uploads aborted. A backup's manifest is removed last, so an interrupted expire never "
     "leaves a manifest pointing at missing data. Objects still under Object Lock are reported "
     "as retained until their date and left for a later run. --dry-run prints exactly what "
     "would be removed and why each kept backup is kept. Needs delete permission: run it with "
     "other credentials than the backup host's. One expire or verify of a stanza runs at a "
     "time across hosts: it first takes the stanza's lease in the repository (a claim "
     "object under STANZA/lock/, signed with sign-key when given), and exits 30 without "
     "removing anything when another host holds it (\"another verify or expire ... is running "
     "on host ...\"); only claims signed by a trusted-signer key or this sign-key count.\n\n"
     "Only genuine backups count toward the rules: signed by a trusted-signer key, every "
     "object present with its recorded size, a start time matching the id and not in the "
     "future. Others are reported and removed like incomplete backups after the grace period "
     "(by the repository's object time). Without trusted-signer, expire refuses to run unless "
     "--allow-unsigned (which counts unsigned backups as genuine).\n\n"
     "WAL (continuous archiving): every WAL object from the start of the oldest physical "
     "backup kept (on its timeline, and every later timeline) stays; older WAL, history "
     "files of older timelines and partials of segments stored complete (after their "
     "superseding segment's signature is checked) go, oldest first. With no physical backup "
     "kept, all WAL stays. recovery-window = DAYS also keeps the physical backup that recovery "
     "to any moment of the last DAYS needs. WAL is removed only with a trusted-signer (its "
     "segment size is read from a checked signature).",
     "  31  no trusted-signer is configured (and no --allow-unsigned)\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_DRY_RUN, PW_OPT_RECOVERY_WINDOW, PW_OPT_RETENTION_DAYS,
          PW_OPT_RETENTION_MIN, PW_OPT_RETENTION_DAILY, PW_OPT_RETENTION_WEEKLY,
          PW_OPT_RETENTION_MONTHLY, PW_OPT_RETENTION_YEARLY, PW_OPT_INCOMPLETE_GRACE,
          PW_OPT_LOCK_DAYS, PW_OPT_OUTPUT, PW_OPT_TRUSTED_SIGNER, PW_OPT_ALLOW_UNSIGNED,
          PW_OPT_SIGN_KEY),
     0, 1, true, cmd_expire, true},
    {"unpin", "let expire remove a pinned backup again", "BACKUP-ID --repo ADDR",
     "Appends an unpin marker (the repository stays append-only), signed with sign-key. "
     "Expire honours an unpin only when a trusted-signer key signed it and it is not older "
     "than the newest pin: an unsigned unpin (anyone who may write the repository could "
     "plant one) is ignored and shown, unless expire --allow-unsigned. \"pgward pin "
     "BACKUP-ID\" pins.",
     NULL, OPTS(COMMON, REPO_OPTS, PW_OPT_SIGN_KEY), 1, 1, true, cmd_unpin, false},
    {"credentials", "named least-privilege database credentials: create, rotate, destroy",
     "[list] | create NAME [--level L] [--schemas A,B] [--env-file F] | set-level NAME "
     "LEVEL\n       | url NAME [-i ID] | rotate NAME|--all [--force] [--grace 30m] [--wait]\n"
     "       | destroy NAME --confirm DB [--detach] | repair-default --confirm DB\n"
     "       | attach NAME --env-file F [--var V] [--on-change CMD] | detach NAME --env-file F",
     "Manages credentials as in docs/credentials.md, connected as the default credential "
     "(the database owner, with CREATEROLE; --db, url-env or url-file). A credential is a "
     "NOLOGIN privilege role \"pgward:NAME\" that holds the grants and owns what the "
     "credential creates, and the LOGIN username NAME (plus NAME-rotating during a "
     "rotation) that acts as it. Levels: none (CONNECT only), read-only (SELECT on every "
     "table, view, materialized view, foreign table and sequence of the schemas, including "
     "future ones), read-write (also INSERT, UPDATE, DELETE and nextval; never CREATE, "
     "TRUNCATE or ownership). Each level change revokes the old grants first and is checked "
     "before it commits.\n\n"
     "Passwords are 65 random letters and digits, sent only as SCRAM-SHA-256 verifiers; "
     "create and rotate show the URL once (or write it into attachments), and with "
     "--recipient the password is also sealed to those age keys so \"url -i IDENTITY\" "
     "can show it later.\n\n"
     "rotate creates NAME-rotating with a new password, updates the attachments (running "
     "their --on-change command), waits until NAME has had no session for 2 s (after "
     "--grace, or at once with --force, NAME's sessions are terminated), then drops NAME "
     "and renames NAME-rotating to NAME; a short-lived NAME-rotating alias keeps the "
     "rotating URL working until its clients drain (the alias needs the new password: "
     "this process's, an attachment's, or the sealed copy with -i; without it only an "
     "explicit \"rotate NAME\" finishes, without the alias). Without --wait the command "
     "returns after the first step and every later credentials command moves the rotation "
     "on. Credentials belong to one database. "
     "\"rotate default\" changes the default credential's password in place. destroy and "
     "repair-default need --confirm DBNAME (or typing it on a terminal). Every command "
     "fails on a follower.",
     "  22  the default credential lacks CREATEROLE, or a level would not hold (a PUBLIC\n"
     "      grant, objects it cannot grant on)\n"
     "  27  the database is a follower\n"
     "  28  bad credential name, unknown credential, limit reached, attached, or rotating\n",
     OPTS(COMMON, PW_OPT_DB, PW_OPT_URL_ENV, PW_OPT_URL_FILE, PW_OPT_DB_PASSWORD, PW_OPT_PIN_SHA256,
          PW_OPT_OUTPUT, PW_OPT_LEVEL, PW_OPT_SCHEMAS, PW_OPT_CLUSTER_WIDE, PW_OPT_ENV_FILE,
          PW_OPT_VAR, PW_OPT_ON_CHANGE, PW_OPT_ROTATE_GRACE, PW_OPT_WAIT, PW_OPT_FORCE, PW_OPT_ALL,
          PW_OPT_CONFIRM, PW_OPT_DETACH, PW_OPT_CREDENTIALS_LIMIT, PW_OPT_ATTACHMENTS_FILE,
          PW_OPT_RECIPIENT, PW_OPT_RECIPIENTS_FILE, PW_OPT_IDENTITY, PW_OPT_KEY_PASSPHRASE,
          PW_OPT_PASSPHRASE_FILE),
     0, 3, true, cmd_credentials, false},
    {"check", "security checklist of a database, from metadata only",
     "[STANZA] --db URL [--repo ADDR] [--output=text|json|markdown] [--fail-on=SEVERITY]",
     "Reads catalogs, settings, statistics views and the TLS session - never a row of user "
     "data - and reports each rule of the checklist with a stable id, a severity, a result "
     "(pass, fail, warn, skip or info), the evidence it saw, why it matters and the fix: TLS "
     "(tls.*), authentication and pg_hba.conf (auth.*, net.allowlist), roles (roles.*), "
     "privileges (priv.*), logging (audit.logging), data checksums, the major version's end "
     "of life and, with a repository, the stanza's backups (backup.*: recent and verified, "
     "encrypted, off-vendor, retention, restore drills, object lock, signatures, and "
     "backup.pitr: continuous WAL arriving and the recovery window) and replication slots "
     "(replication.slots: an inactive slot retaining WAL). The connection is "
     "read-only and shows up as application \"pgward-check\".\n\n"
     "An ordinary login is enough: a rule that needs more privilege is skip and names the "
     "GRANT (pg_read_all_settings, pg_read_all_stats, SELECT on pg_hba_file_rules). "
     "--fail-on=high makes the exit status 25 when a rule fails or warns at severity high "
     "or above (for CI); the default, never, exits 0 whenever the check ran. "
     "docs/check.md lists every rule and the JSON format (schema_version 1); --list-rules "
     "prints the rule table (with --output=json: id, severity, title, why) without "
     "connecting.",
     "  20  the database could not be reached\n  21  TLS verification or pin failure\n"
     "  25  a result at or above --fail-on\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_DB, PW_OPT_URL_ENV, PW_OPT_URL_FILE, PW_OPT_DB_PASSWORD,
          PW_OPT_PIN_SHA256, PW_OPT_OUTPUT, PW_OPT_FAIL_ON, PW_OPT_RETENTION_DAYS,
          PW_OPT_RETENTION_MIN, PW_OPT_RETENTION_DAILY, PW_OPT_RETENTION_WEEKLY,
          PW_OPT_RETENTION_MONTHLY, PW_OPT_RETENTION_YEARLY, PW_OPT_LOCK_DAYS,
          PW_OPT_TRUSTED_SIGNER, PW_OPT_LIST_RULES),
     0, 1, true, cmd_check, true},
    {"serve", "the backup service: scheduled backups, verification and expiry",
     "--check-config [STANZA...] [--output=json]\n       pgward serve [--once] [STANZA...] "
     "[--state-file FILE]\n       pgward serve --new-token NAME [--scope read,operate]",
     "Runs each stanza's jobs on its schedules: backup-schedule, verify-schedule (with "
     "verify-depth) and expire-schedule, calendar expressions such as \"daily 02:00\", "
     "\"Mon..Fri 01:15\", \"*-*-* 00/6:00\" or \"*-*-01 04:00 Europe/Berlin\", each run "
     "delayed by a fixed per-stanza jitter below schedule-jitter. At most one job per stanza "
     "runs at a time; runs missed while the service was down run once; failures are retried "
     "with backoff (1 min, 2, 4 ... at most the interval). A schedule may have several entries, "
     "separated by \";\", and in backup-schedule each its own retention: \"hourly keep 2d; "
     "daily 02:00 keep 30d; Sun 03:00 keep 12w tag weekly\"; a slot entries share is one run, "
     "tagged (backup --tag) with every entry it stands for, and expire keeps each backup for "
     "its tags' keeps (docs/service.md).\n\n"
     "With --check-config, validates every schedule of the stanzas given (default: all), "
     "prints the next three runs of each in the schedule's zone and in UTC, checks the state "
     "file, and exits. It refuses (exit 3) a configuration that schedules backups in a "
     "process that also holds an identity (a decryption key): the default is two hosts, "
     "the backup host (recipients, sign-key, storage credentials that cannot delete) "
     "running backups and depth-1 verification, and the key-holding host running restore "
     "drills and expiry. serve-allow-mixed = yes in [global] runs both in one process "
     "anyway.\n\n"
     "Without --check-config, serve checks the same, then runs each job as a child process "
     "of its own, exactly \"pgward backup|verify|expire STANZA\" (each with its own audit "
     "record), jobs of different stanzas in parallel up to serve-max-jobs (default 2); with "
     "wal-stream = yes in a stanza it also runs and supervises \"pgward wal-stream "
     "STANZA\", restarted with backoff. It records each run in state-file, and logs a "
     "dead-man alarm when a schedule has had no success within its interval and a grace. A "
     "run the last process left unfinished is recorded as interrupted and retried; a job "
     "that crashes is a failure and the service goes on. SIGHUP reloads the configuration "
     "(a bad one is refused and the old one stays); SIGTERM stops the running jobs "
     "(SIGTERM, SIGKILL after 2 s), records them as interrupted and exits 0, an interrupted "
     "backup leaving nothing that looks complete. Under systemd (Type=notify) it reports "
     "READY=1, STATUS=, WATCHDOG=1 and STOPPING=1. With --once, it runs what is due now, "
     "waits for it and exits (for cron or a Kubernetes CronJob): 0, or the exit code of the "
     "first job that failed.\n\n"
     "The daemon (not --once) POSTs webhooks to the URLs in webhook-url-file (files of "
     "their own, mode 0600: a URL is a secret; https, or http to this host only) on the "
     "events in webhook-events (start, success, failure, recovery, deadman; default "
     "failure,recovery,deadman), as JSON signed with the key in webhook-secret-file "
     "(X-Pgward-Signature: sha256=HMAC of timestamp \".\" body) or as a Slack "
     "{\"text\"} (webhook-format). Delivery never holds up a job: queued, retried after "
     "1, 5 and 30 s. "
     "With api-token lines in [global], the daemon serves a control-only HTTP API on a unix "
     "socket (api-socket, mode 0600; TCP only with TLS: api-listen, api-tls-cert, "
     "api-tls-key): status, stanzas, backups, jobs, /metrics and a status page with the read "
     "scope; starting and cancelling jobs with the operate scope. Never data, keys or "
     "connection strings; every call is an audit record (docs/api.md). --new-token NAME "
     "prints a new random bearer token once and the api-token line (its SHA-256) to add.",
     NULL,
     OPTS(COMMON, PW_OPT_OUTPUT, PW_OPT_CHECK_CONFIG, PW_OPT_STATE_FILE, PW_OPT_ONCE,
          PW_OPT_API_SOCKET, PW_OPT_NEW_TOKEN, PW_OPT_SCOPE, PW_OPT_SERVE_MAX_JOBS),
     0, 64, false, cmd_serve, false},
    {"wal-stream", "stream WAL continuously into the repository (point-in-time recovery)",
     "[STANZA]",
     "Connects to the database as a physical replication client with a REPLICATION-only "
     "role (see docs/pitr.md), creates the slot wal-slot (default pgward_<stanza>) on first "
     "run, and stores every WAL segment as one encrypted object (zstd, then age to the "
     "recipients) signed with sign-key, which is required. Segments are assembled in "
     "memory: plaintext WAL never touches the disk. Every wal-flush-interval seconds the "
     "open segment is stored as an encrypted partial object when it grew, so a quiet "
     "database is covered too. The server is told that WAL is flushed only once it is "
     "durable in the repository, so the slot keeps everything the repository does not "
     "hold: after a crash or kill -9, the next start resumes from the slot with no gap.\n\n"
     "Runs until SIGTERM or SIGINT (then it stores the open segment's partial and exits 0). "
     "A dropped connection is retried with backoff, resolving db / url-env / url-file "
     "again (a failover); a timeline switch is followed and its history file stored. A "
     "role that could change the database (superuser, any write privilege) is refused as "
     "for backups unless --allow-privileged is given. Warns when the slot retains more "
     "than wal-max-retained.",
     "  20  the database could not be reached at the start\n"
     "  22  the role holds more than REPLICATION (see --allow-privileged)\n"
     "  32  a WAL object conflicts with the repository, or the slot is unusable\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_DB, PW_OPT_URL_ENV, PW_OPT_URL_FILE, PW_OPT_DB_PASSWORD,
          PW_OPT_PIN_SHA256, PW_OPT_RECIPIENT, PW_OPT_RECIPIENTS_FILE, PW_OPT_SIGN_KEY,
          PW_OPT_COMPRESS_LEVEL, PW_OPT_WAL_SLOT, PW_OPT_WAL_FLUSH_INTERVAL,
          PW_OPT_WAL_MAX_RETAINED, PW_OPT_ALLOW_PRIVILEGED),
     0, 1, true, cmd_wal_stream, true},
    {"wal-fetch", "restore_command: fetch one WAL file from the repository", "STANZA %f %p",
     "For PostgreSQL's restore_command (restore_command = 'pgward wal-fetch STANZA %f %p'). "
     "Checks the object's signature (trusted-signer) and that it names this stanza, "
     "timeline and file, decrypts it with the identity, checks its length and SHA-256, and "
     "writes %p atomically with mode 0600. A file that is not in the repository exits 9 "
     "without a message, as PostgreSQL expects at the end of the archive. When the newest "
     "segment of a timeline exists only as a partial object, that partial is served padded "
     "with zeros to the segment size: recovery replays up to the last durable record and "
     "ends there.\n\n"
     "Anything else (a bad or missing signature, an object that does not decrypt or "
     "match, a missing segment when later WAL of its timeline is stored) exits 126, which "
     "PostgreSQL treats as fatal: "
     "recovery stops with the error naming the object instead of ending early as if the "
     "archive were complete.\n\n"
     "With --wal-spool DIR (restore writes DIR = <data dir>/pg_wal/pgward-prefetch), after a "
     "segment is served one background process fetches, checks and decrypts the next "
     "wal-prefetch (default 8) segments of its timeline into DIR, so that replay does not "
     "wait for them; it stops at the first segment it cannot get cleanly and reports "
     "nothing (wal-fetch reports that segment when PostgreSQL asks for it). A spooled "
     "segment is served (renamed to %p) only after the object's signature is read from the "
     "repository and the file has exactly the signed length and SHA-256; anything else in "
     "DIR is removed. %p is written without fsync, as PostgreSQL and pgBackRest do: a "
     "restored segment is read once and fetched again after a crash.",
     "   9  the file is not in the repository (quiet)\n"
     " 126  the object is damaged, forged, unsigned or a gap: recovery must stop\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_IDENTITY, PW_OPT_KEY_PASSPHRASE, PW_OPT_TRUSTED_SIGNER,
          PW_OPT_WAL_PREFETCH, PW_OPT_WAL_SPOOL),
     3, 3, false, cmd_wal_fetch, true},
    {"wal-push", "archive_command: store one WAL file in the repository", "STANZA %p",
     "For PostgreSQL's archive_command (archive_command = 'pgward wal-push STANZA %p'), an "
     "alternative to wal-stream that needs no replication role. Stores the segment or "
     "history file as the same signed, encrypted object wal-stream writes; needs the "
     "recipients and sign-key only. Pushing a file that is already stored with the same "
     "content succeeds without writing; a different content under the same name is "
     "refused (exit 32). Files ending in .partial or .backup are skipped with a warning.",
     "  32  the repository holds different content under this name\n",
     OPTS(COMMON, REPO_OPTS, PW_OPT_RECIPIENT, PW_OPT_RECIPIENTS_FILE, PW_OPT_SIGN_KEY,
          PW_OPT_COMPRESS_LEVEL),
     2, 2, false, cmd_wal_push, true},
    {"wal-list", "show the WAL stored for point-in-time recovery, per timeline", "[STANZA]",
     "Lists the stanza's WAL per timeline: from which LSN to which it is stored, whether it "
     "ends with a partial segment, and every gap (a gap means recovery cannot pass it). "
     "Needs no private key, but a trusted-signer: the segment size that turns object names "
     "into LSNs, and the newest time, are read only from signatures that check (without "
     "one, the objects are counted and no coverage is shown). --output=json for scripts.",
     NULL, OPTS(COMMON, REPO_OPTS, PW_OPT_TRUSTED_SIGNER, PW_OPT_OUTPUT), 0, 1, false, cmd_wal_list,
     true},
};

const size_t pw_ncommands = sizeof pw_commands / sizeof pw_commands[0];

const struct pw_command *pw_command_find(const char *name)
{
	if (strcmp(name, "info") == 0)
		name = "list";
	for (size_t i = 0; i < pw_ncommands; i++)
		if (strcmp(pw_commands[i].name, name) == 0)
			return &pw_commands[i];
	return NULL;
}

bool pw_command_opts(const char *name, const enum pw_opt_id **opts, size_t *n)
{
	const struct pw_command *c = pw_command_find(name);
	*opts = c ? c->opts : NULL;
	*n = c ? c->nopts : 0;
	return c != NULL;
}
