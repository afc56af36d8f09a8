/*
 * pg.h - the libpq wrapper. Connections verify TLS fully by default
 * (sslmode=verify-full); a weaker mode must be asked for and is warned
 * about. Public-key pins (SHA-256 of the server's SubjectPublicKeyInfo, as
 * `pgward pin` prints) are checked right after the TLS handshake, before the
 * server asks for a password, so a mismatching server never sees one.
 * The PGconn lives only here.
 */
#ifndef PW_PG_PG_H
#define PW_PG_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/secret.h"

struct pg_connect_opts {
	const char *conninfo;             /* libpq connection string or URL */
	const struct pw_secret *password; /* or NULL (then PGPASSWORD / passfile as libpq does) */
	const char *const *pins;          /* base64 SHA-256 SPKI pins (optionally "sha256//...") */
	size_t npins;
	bool read_only;               /* default_transaction_read_only=on for the session */
	const char *application_name; /* default "pgward" */
	bool stop_after_tls;          /* for `pgward pin`: handshake only, no authentication */
	/* A session that a database or role setting (ALTER ... SET role / session_authorization)
	 * makes run as another role is refused (PW_E_PRIVILEGE); with this (check), it is
	 * returned to the login role and the setting reported by pg_role_change. */
	bool allow_role_change;
	/* A private cluster pgward started itself, reached over a unix socket in a 0700
	 * directory (verify --scratch-local): sslmode=disable there is expected, not warned
	 * about. Refused (PW_E_INTERNAL) unless host is an absolute path and no hostaddr. */
	bool private_socket;
	/* Where this connection's password comes from, for the hint when it is refused
	 * (default: the backup database's db-password / PGWARD_DB_PASSWORD). */
	const char *password_source;
	/* A physical replication connection (replication=true, wal-stream): only replication
	 * commands run on it (pg_repl_exec, pg_copy_*), never SQL, so there is no session to
	 * set up; TLS verification and pins apply as for any connection. */
	bool replication;
};

struct pg_tls_info {
	char pin[48]; /* base64 of the SHA-256 of the server's SubjectPublicKeyInfo */
	char subject[256];
	char issuer[256];
	char not_after[64];
	char protocol[32];
	bool in_use;         /* the connection is encrypted */
	bool self_signed;    /* the server certificate signs itself */
	long verify_result;  /* OpenSSL's X509_V_* result of the chain check (0 = verified) */
	time_t not_after_ts; /* the server certificate's notAfter (0 when unknown) */
};

struct pg_conn;
struct pg_result;

int pg_connect(const struct pg_connect_opts *o, struct pg_conn **out);
void pg_close(struct pg_conn *c);
/* TLS facts of the connection (valid after pg_connect). */
const struct pg_tls_info *pg_tls(const struct pg_conn *c);
int pg_server_version(const struct pg_conn *c);
const char *pg_current_user(const struct pg_conn *c);
/* With allow_role_change: what changed the session's role and the fix, or NULL. */
const char *pg_role_change(const struct pg_conn *c);
/* Effective connection parameters, for child processes (pg_dump): no password. The string
 * lives as long as the connection (each call returns its own; none overwrites another). */
const char *pg_param(const struct pg_conn *c, const char *keyword);

/* Run one statement with text parameters; -PW_E_DB with the server's message on failure. */
int pg_query(struct pg_conn *c, const char *sql, int nparams, const char *const *params,
             struct pg_result **out);
int pg_exec(struct pg_conn *c, const char *sql);
int pg_nrows(const struct pg_result *r);
int pg_ncols(const struct pg_result *r);
/* Value at row/column ("" for NULL; see pg_isnull). */
const char *pg_value(const struct pg_result *r, int row, int col);
bool pg_isnull(const struct pg_result *r, int row, int col);
void pg_result_free(struct pg_result *r);

/* conninfo with dbname replaced, as key='value' pairs (allocated); the old dbname into old. */
int pg_conninfo_with_dbname(const char *conninfo, const char *dbname, char **out, char *old,
                            size_t oldsize);
/* The effective connection parameters of c (the defaults pgward applied included, the
 * password never) as key='value' pairs for a child process such as pg_dump (allocated).
 * The child goes where c's session is: the one host, address and port it connected to
 * (not the list or the name that may resolve elsewhere by the time the child starts), and
 * with the same TLS, channel-binding and peer requirements. */
char *pg_child_conninfo(struct pg_conn *c, const char *application_name);
/* Where a session is (PQhost, PQhostaddr, PQport; hostaddr NULL or "" for a socket). */
struct pg_child_where {
	const char *host, *hostaddr, *port;
};
/* pg_child_conninfo's pure part: param(arg, keyword) gives the parent's settings (NULL:
 * unset), at where its session is, role the verified current_user ("" none). Allocated. */
char *pg_child_conninfo_build(const char *(*param)(void *arg, const char *keyword), void *arg,
                              const struct pg_child_where *at, const char *application_name,
                              const char *role, bool read_only);
/* Quote an identifier for SQL (allocated). */
char *pg_quote_ident(struct pg_conn *c, const char *ident);

/* Quote a string literal for SQL (allocated), for statements that take no parameters. */
char *pg_quote_literal(struct pg_conn *c, const char *s);
/* The SCRAM-SHA-256 verifier of password for user, computed here (PQencryptPasswordConn):
 * the plaintext never reaches the server (allocated into out). */
int pg_scram_verifier(struct pg_conn *c, const char *user, const struct pw_secret *password,
                      char **out);

/* ---- replication connections (pg_connect_opts.replication) ---- */

/* Run one replication command with the simple query protocol (IDENTIFY_SYSTEM, SHOW,
 * READ_REPLICATION_SLOT, CREATE_REPLICATION_SLOT, TIMELINE_HISTORY). */
int pg_repl_exec(struct pg_conn *c, const char *cmd, struct pg_result **out);
/* Start a CopyBoth stream (START_REPLICATION). */
int pg_copy_both_start(struct pg_conn *c, const char *cmd);
/* Bound what one read of pg_copy_get takes from a TLS connection to about `bytes` (a no-op
 * without TLS). libpq 15 reads all the server has sent into its input buffer in one go and,
 * when TLS still holds decrypted bytes as that buffer fills, doubles the buffer and reads on;
 * it never shrinks it. A reader that falls behind a fast sender (wal-stream storing a segment,
 * or catching up on a backlog) saw it reach 32-64 MiB. With the bound, the rest waits in the
 * kernel, and TCP flow control holds the server back. -PW_E_DB when TLS refuses. */
int pg_bound_reads(struct pg_conn *c, size_t bytes);
/* Wait up to timeout_ms for the next CopyData message: 0 with *msg (free with
 * pg_copy_free) and *len, or *msg NULL when none arrived in time; *done when the server
 * ended the stream (then call pg_copy_finish). -PW_E_DB when the connection broke. */
int pg_copy_get(struct pg_conn *c, int timeout_ms, uint8_t **msg, size_t *len, bool *done);
void pg_copy_free(uint8_t *msg);
/* Send one CopyData message and flush it. */
int pg_copy_put(struct pg_conn *c, const uint8_t *p, size_t n);
/* End the stream from our side (if not yet) and collect what follows: the result set the
 * server sends at the end of a timeline (*tuples, or NULL), then the command's end. */
int pg_copy_finish(struct pg_conn *c, struct pg_result **tuples);

/* Send a replication command whose reply is several results (BASE_BACKUP), then take
 * them one at a time: PG_NEXT_TUPLES (*out set), PG_NEXT_COPY_OUT (read it with
 * pg_copy_get until *done), PG_NEXT_OK (a command's end), PG_NEXT_END (no more).
 * -PW_E_DB with the server's message on an error result. */
enum pg_next { PG_NEXT_TUPLES, PG_NEXT_COPY_OUT, PG_NEXT_OK, PG_NEXT_END };
int pg_repl_send(struct pg_conn *c, const char *cmd);
int pg_repl_next(struct pg_conn *c, const char *cmd, struct pg_result **out, enum pg_next *kind);

/* Is conninfo carrying a password (keyword or URL userinfo)? -1 if it does not parse. */
int pg_conninfo_has_password(const char *conninfo);

#endif
