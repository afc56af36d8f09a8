/* pg.c - connect (TLS verify, pins before the password), typed queries. */
#include "pg/pg.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"

#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define MAX_KW 64

struct pg_conn {
	PGconn *conn;
	bool bounded; /* pg_bound_reads: a filter under TLS, and what it lets through */
	size_t budget, read_max;
	struct pg_tls_info tls;
	int version;
	char user[128];
	char role_change[1024]; /* a setting made the session run as another role (check) */
	char role[128];         /* current_user as verified by session_setup */
	bool read_only;
	PQconninfoOption *info; /* the effective parameters, read once: pg_param's strings */
};

struct pg_result {
	PGresult *res;
};

/* First line of a libpq message, without "FATAL:  " / "ERROR:  " noise. */
static void first_line(const char *msg, char *out, size_t n)
{
	const char *p = msg ? msg : "";
	const char *nl = strchr(p, '\n');
	size_t len = nl ? (size_t)(nl - p) : strlen(p);
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = 0;
}

static int conn_error(const char *msg, const char *password_source)
{
	char line[1024];
	first_line(msg, line, sizeof line);
	if (strstr(msg, "certificate verify failed") || strstr(msg, "root certificate file") ||
	    strstr(msg, "server certificate for")) {
		pw_error(PW_E_TLS, "could not verify the database server: %s", line);
		return pw_error_hint("Give the CA that signed the server certificate with "
		                     "sslrootcert=FILE in the connection string (pgward verifies "
		                     "the server by default: sslmode=verify-full).");
	}
	pw_error(PW_E_DB, "could not connect to the database: %s", line);
	if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied"))
		return pw_error_hint("Check the role's password (%s).",
		                     password_source ? password_source
		                                     : "PGWARD_DB_PASSWORD or db-password in a "
		                                       "mode 0600 config file, or a passfile");
	if (strstr(msg, "no pg_hba.conf entry"))
		return pw_error_hint("The server does not accept this role from this host; a DBA "
		                     "must allow it in pg_hba.conf (hostssl ... scram-sha-256).");
	if (strstr(msg, "Connection refused") || strstr(msg, "could not translate host") ||
	    strstr(msg, "timeout expired"))
		return pw_error_hint("Check the host and port, and that the server is running and "
		                     "reachable from here.");
	if (strstr(msg, "does not exist"))
		return pw_error_hint("Check the database and role names.");
	return pw_error_hint("See the server's message above.");
}

static void spki_pin(X509 *cert, char out[48])
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	uint8_t h[32];
	if (len > 0) {
		pw_sha256(der, (size_t)len, h);
		pw_b64_encode(h, 32, out, true);
	} else {
		out[0] = 0;
	}
	OPENSSL_free(der);
}

static void fill_tls(PGconn *conn, struct pg_tls_info *t)
{
	SSL *ssl = PQsslStruct(conn, "OpenSSL");
	if (!ssl)
		return;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (cert) {
		spki_pin(cert, t->pin);
		X509_NAME_oneline(X509_get_subject_name(cert), t->subject, sizeof t->subject);
		X509_NAME_oneline(X509_get_issuer_name(cert), t->issuer, sizeof t->issuer);
		struct tm tm;
		if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1 &&
		    pw_time_from_fields(&tm, &t->not_after_ts) == 0) {
			char b[PW_TIME_MAX];
			pw_strlcpy(t->not_after, pw_time_format(t->not_after_ts, PW_TIME_ISO, b),
			           sizeof t->not_after);
		}
		t->self_signed = X509_check_issued(cert, cert) == X509_V_OK;
		X509_free(cert);
	}
	t->in_use = true;
	t->verify_result = SSL_get_verify_result(ssl);
	const char *proto = PQsslAttribute(conn, "protocol");
	pw_strlcpy(t->protocol, proto ? proto : "", sizeof t->protocol);
}

static bool pin_matches(const char *pin, const char *const *pins, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = pins[i];
		if (pw_startswith(p, "sha256//"))
			p += 8;
		if (strcmp(p, pin) == 0)
			return true;
	}
	return false;
}

int pg_conninfo_has_password(const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	if (!opts) {
		PQfreemem(err);
		return -1;
	}
	int has = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			has = 1;
	PQconninfoFree(opts);
	return has;
}

static const char *opt_val(PQconninfoOption *opts, const char *kw)
{
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, kw) == 0)
			return o->val;
	return NULL;
}

static int setup_error(PGconn *conn, const char *what)
{
	char line[512];
	first_line(PQerrorMessage(conn), line, sizeof line);
	pw_error(PW_E_DB, "could not %s: %s", what, line);
	return pw_error_hint("This is unexpected; see the server log.");
}

/* The ALTER DATABASE / ALTER ROLE settings of role or session_authorization that apply to
 * this session, and the statements that remove them (into what and fix). */
static void role_settings(PGconn *conn, const char *login, struct pw_buf *what, struct pw_buf *fix)
{
	const char *params[1] = {login};
	PGresult *r = PQexecParams(
	    conn,
	    "select d.datname, r.rolname, pg_catalog.split_part(c, '=', 1), c"
	    " from pg_catalog.pg_db_role_setting s"
	    " left join pg_catalog.pg_database d on d.oid = s.setdatabase"
	    " left join pg_catalog.pg_roles r on r.oid = s.setrole,"
	    " pg_catalog.unnest(s.setconfig) c"
	    " where (s.setdatabase = 0 or d.datname = pg_catalog.current_database())"
	    " and (s.setrole = 0 or r.rolname = $1)"
	    " and pg_catalog.split_part(c, '=', 1) in ('role', 'session_authorization')"
	    " order by s.setdatabase <> 0 and s.setrole <> 0 desc, s.setrole <> 0 desc",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		for (int i = 0; i < PQntuples(r) && i < 4; i++) {
			const char *db = PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0);
			const char *role = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
			const char *name = PQgetvalue(r, i, 2);
			char *qd = db ? PQescapeIdentifier(conn, db, strlen(db)) : NULL;
			char *qr = role ? PQescapeIdentifier(conn, role, strlen(role)) : NULL;
			char target[600];
			if (qd && qr)
				snprintf(target, sizeof target, "ROLE %s IN DATABASE %s", qr, qd);
			else if (qr)
				snprintf(target, sizeof target, "ROLE %s", qr);
			else if (qd)
				snprintf(target, sizeof target, "DATABASE %s", qd);
			else
				snprintf(target, sizeof target, "ROLE ALL");
			pw_buf_printf(what, "%sALTER %s SET %s", what->len ? "; " : "", target,
			              PQgetvalue(r, i, 3));
			pw_buf_printf(fix, "%sALTER %s RESET %s", fix->len ? "; " : "", target,
			              name);
			PQfreemem(qd);
			PQfreemem(qr);
		}
	}
	PQclear(r);
	if (!what->len) {
		pw_buf_printf(what, "a setting of role or session_authorization");
		pw_buf_printf(fix, "ALTER DATABASE ... RESET role / ALTER ROLE ... RESET role");
	}
}

/* Make the session ours before the first query that matters: an empty search_path, who
 * we run as checked against who logged in (ALTER DATABASE/ROLE ... SET role applies at
 * connection start, and RESET ROLE only returns to that value), and the settings pgward
 * depends on set explicitly, whatever the database or role default them to. */
static int session_setup(struct pg_conn *c, const struct pg_connect_opts *o)
{
	PGconn *conn = c->conn;
	/* An empty search_path before any other statement: a role that may create objects in a
	 * schema on the path (or set the path with ALTER ROLE/DATABASE ... SET) cannot make
	 * pgward's queries call its functions or operators instead of pg_catalog's. Every
	 * query names user objects schema-qualified. */
	PGresult *r = PQexec(conn, "select pg_catalog.set_config('search_path', '', false),"
	                           " current_user, session_user");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		return setup_error(conn, "clear search_path");
	}
	char cur[128], ses[128];
	pw_strlcpy(cur, PQgetvalue(r, 0, 1), sizeof cur);
	pw_strlcpy(ses, PQgetvalue(r, 0, 2), sizeof ses);
	PQclear(r);
	/* pgward's own credentials: login role X acts as its privilege role pgward:X (ALTER ROLE
	 * X SET role, src/cred/cred.c), a role X is a member of; that is the design */
	bool own_credential = strcmp(ses, c->user) == 0 && strncmp(cur, "pgward:", 7) == 0;
	if (!own_credential && (strcmp(cur, c->user) != 0 || strcmp(ses, c->user) != 0)) {
		struct pw_buf what = PW_BUF_INIT(4096), fix = PW_BUF_INIT(4096);
		role_settings(conn, c->user, &what, &fix);
		const char *runas = strcmp(ses, c->user) != 0 ? ses : cur;
		int rc = 0;
		if (!o->allow_role_change) {
			pw_error(PW_E_PRIVILEGE,
			         "the database session runs as \"%s\", not as \"%s\" that pgward "
			         "logged in as (%s)",
			         runas, c->user, pw_buf_str(&what));
			rc = pw_error_hint(
			    "A database or role setting changes who pgward runs as; pgward refuses "
			    "to act with another role's privileges. Remove it: %s.",
			    pw_buf_str(&fix));
		} else {
			snprintf(c->role_change, sizeof c->role_change,
			         "sessions of \"%s\" run as \"%s\" (%s); fix: %s", c->user, runas,
			         pw_buf_str(&what), pw_buf_str(&fix));
		}
		pw_buf_free(&what, 0);
		pw_buf_free(&fix, 0);
		if (rc < 0)
			return rc;
		/* check: back to the role that logged in, then report the setting */
		r = PQexec(conn, "set session authorization default; set role none");
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok)
			return setup_error(conn, "reset the session's role");
		r = PQexec(conn, "select current_user, session_user");
		ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		     strcmp(PQgetvalue(r, 0, 0), c->user) == 0 &&
		     strcmp(PQgetvalue(r, 0, 1), c->user) == 0;
		PQclear(r);
		if (!ok) {
			pw_error(PW_E_PRIVILEGE,
			         "the database session cannot be returned to \"%s\"", c->user);
			return pw_error_hint(
			    "Remove the role settings of the database and the role "
			    "(ALTER ... RESET role).");
		}
	}
	/* what pgward verified: child sessions (pg_dump, pg_restore) are pinned to it */
	pw_strlcpy(c->role, own_credential ? cur : c->user, sizeof c->role);
	c->read_only = o->read_only;
	const char *params[1] = {o->read_only ? "on" : "off"};
	r = PQexecParams(
	    conn,
	    "select pg_catalog.set_config('default_transaction_read_only', $1, false),"
	    " pg_catalog.set_config('statement_timeout', '0', false),"
	    " pg_catalog.set_config('lock_timeout', '0', false),"
	    " pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false),"
	    " pg_catalog.current_setting('default_transaction_read_only')",
	    1, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	          strcmp(PQgetvalue(r, 0, 4), params[0]) == 0;
	PQclear(r);
	if (!ok)
		return setup_error(conn, "set the session's settings");
	return 0;
}

const char *pg_role_change(const struct pg_conn *c)
{
	return c->role_change[0] ? c->role_change : NULL;
}

int pg_connect(const struct pg_connect_opts *o, struct pg_conn **out)
{
	*out = NULL;
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(o->conninfo ? o->conninfo : "", &err);
	if (!opts) {
		char line[512];
		first_line(err, line, sizeof line);
		PQfreemem(err);
		pw_error(PW_E_CONFIG, "invalid database connection string: %s", line);
		return pw_error_hint("Use a libpq URL (postgresql://user@host:5432/db?sslmode=...) "
		                     "or key=value pairs.");
	}
	const char *kw[MAX_KW];
	const char *val[MAX_KW];
	size_t n = 0;
	for (PQconninfoOption *p = opts; p->keyword && n < MAX_KW - 8; p++) {
		if (!p->val || !*p->val)
			continue;
		if (o->password && strcmp(p->keyword, "password") == 0)
			continue;
		kw[n] = p->keyword;
		val[n] = p->val;
		n++;
	}
	if (o->private_socket) {
		const char *host = opt_val(opts, "host"), *addr = opt_val(opts, "hostaddr");
		if (!host || host[0] != '/' || strchr(host, ',') || (addr && *addr)) {
			PQconninfoFree(opts);
			return pw_error(
			    PW_E_INTERNAL,
			    "a private-socket connection needs a unix socket directory");
		}
	}
	/* Safe defaults the caller did not override. */
	const char *mode = opt_val(opts, "sslmode");
	if (!mode || !*mode) {
		const char *env = getenv("PGSSLMODE");
		mode = env && *env ? env : NULL;
	}
	if (!mode) {
		kw[n] = "sslmode";
		val[n++] = "verify-full";
		mode = "verify-full";
	} else if (strcmp(mode, "verify-full") != 0 && !o->private_socket) {
		pw_warn("sslmode=%s: the database server's identity is %s; verify-full is the "
		        "default for a reason",
		        mode,
		        strcmp(mode, "verify-ca") == 0
		            ? "checked against the CA but not the host name"
		            : "not verified");
	}
	const char *root = opt_val(opts, "sslrootcert");
	if ((!root || !*root) && !getenv("PGSSLROOTCERT") && pw_startswith(mode, "verify")) {
		char def[1024];
		const char *home = getenv("HOME");
		snprintf(def, sizeof def, "%s/.postgresql/root.crt", home ? home : "/nonexistent");
		if (access(def, R_OK) != 0 && access(SYSTEM_CA, R_OK) == 0) {
			kw[n] = "sslrootcert";
			val[n++] =
			    SYSTEM_CA; /* managed databases: public CAs, as a browser would */
		}
	}
	if (o->password) {
		kw[n] = "password";
		val[n++] = pw_secret_str(o->password);
	}
	if (!opt_val(opts, "application_name")) {
		kw[n] = "application_name";
		val[n++] = o->application_name ? o->application_name : "pgward";
	}
	if (o->replication) {
		kw[n] = "replication";
		val[n++] = "true";
	}
	if (!opt_val(opts, "connect_timeout") && !getenv("PGCONNECT_TIMEOUT")) {
		kw[n] = "connect_timeout";
		val[n++] = "15";
	}
	/* read-only is set with SET after connecting (session_setup), never appended to the
	 * options string, where libpq or the server could cut it off */
	kw[n] = NULL;
	val[n] = NULL;

	PGconn *conn = PQconnectStartParams(kw, val, 0);
	PQconninfoFree(opts);
	if (!conn || PQstatus(conn) == CONNECTION_BAD) {
		int rc =
		    conn_error(conn ? PQerrorMessage(conn) : "out of memory", o->password_source);
		PQfinish(conn);
		return rc;
	}
	struct pg_conn *c = pw_calloc(1, sizeof *c);
	c->conn = conn;
	c->info = PQconninfo(conn);
	bool checked = false;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	double deadline = pw_monotonic() + 60;
	for (;;) {
		if (!checked && PQsslInUse(conn) && PQstatus(conn) != CONNECTION_SSL_STARTUP &&
		    PQsslStruct(conn, "OpenSSL")) {
			/* the handshake is done; the server has not asked for a password yet */
			checked = true;
			fill_tls(conn, &c->tls);
			if (o->npins && !pin_matches(c->tls.pin, o->pins, o->npins)) {
				pw_error(PW_E_TLS,
				         "the database server's public key does not match the pin: "
				         "server %s, pinned %s%s",
				         c->tls.pin, o->pins[0],
				         o->npins > 1 ? " (and others)" : "");
				pg_close(c);
				return pw_error_hint(
				    "If the server's key was rotated on purpose, check "
				    "the new pin with \"pgward pin --db URL\" out of band "
				    "and update pin-sha256; otherwise someone may be "
				    "intercepting the connection.");
			}
			if (o->stop_after_tls) {
				*out = c;
				return 0;
			}
		}
		if (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED)
			break;
		struct pollfd pfd = {PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		                     0};
		int pr = poll(&pfd, 1, 1000);
		if (pr < 0 && errno != EINTR) {
			pg_close(c);
			return pw_error(PW_E_DB, "poll failed: %s", pw_strerror(errno));
		}
		if (pw_monotonic() > deadline) {
			pg_close(c);
			pw_error(PW_E_DB, "could not connect to the database: timeout");
			return pw_error_hint(
			    "Check the host and port, and that the server is reachable.");
		}
		if (pr == 0)
			continue;
		st = PQconnectPoll(conn);
	}
	if (st == PGRES_POLLING_FAILED || PQstatus(conn) != CONNECTION_OK) {
		int rc = conn_error(PQerrorMessage(conn), o->password_source);
		pg_close(c);
		return rc;
	}
	if (o->stop_after_tls) {
		/* no TLS at all: nothing to pin */
		pg_close(c);
		pw_error(PW_E_TLS, "the connection is not encrypted, so there is no key to pin");
		return pw_error_hint(
		    "Connect with sslmode=verify-full (the default) to a server with "
		    "ssl = on.");
	}
	if (o->npins && !checked) {
		pg_close(c);
		pw_error(PW_E_TLS, "a pin was given but the connection does not use TLS");
		return pw_error_hint(
		    "Remove sslmode=disable/allow/prefer from the connection string.");
	}
	c->version = PQserverVersion(conn);
	const char *u = PQuser(conn);
	pw_strlcpy(c->user, u ? u : "", sizeof c->user);
	/* a physical walsender runs replication commands only: no SQL, no session to set up */
	int rc = o->replication ? 0 : session_setup(c, o);
	if (rc < 0) {
		pg_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void pg_close(struct pg_conn *c)
{
	if (!c)
		return;
	PQconninfoFree(c->info);
	PQfinish(c->conn);
	pw_free(c);
}

const struct pg_tls_info *pg_tls(const struct pg_conn *c)
{
	return &c->tls;
}

int pg_server_version(const struct pg_conn *c)
{
	return c->version;
}

const char *pg_current_user(const struct pg_conn *c)
{
	return c->user;
}

const char *pg_param(const struct pg_conn *c, const char *keyword)
{
	if (strcmp(keyword, "password") == 0)
		return NULL;
	return c->info ? opt_val(c->info, keyword) : NULL;
}

int pg_query(struct pg_conn *c, const char *sql, int nparams, const char *const *params,
             struct pg_result **out)
{
	*out = NULL;
	PGresult *r = PQexecParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		char line[1024];
		const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		first_line(msg ? msg : PQerrorMessage(c->conn), line, sizeof line);
		const char *sqlstate = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		char state[8] = "";
		if (sqlstate)
			pw_strlcpy(state, sqlstate, sizeof state);
		PQclear(r); /* sqlstate pointed into r */
		pw_error(PW_E_DB, "query failed: %s%s%s%s", line, *state ? " (SQLSTATE " : "",
		         state, *state ? ")" : "");
		if (PQstatus(c->conn) == CONNECTION_BAD)
			return pw_error_hint("The connection to the server was lost.");
		return pw_error_hint("This is unexpected for the query pgward runs; see the "
		                     "server log.");
	}
	struct pg_result *res = pw_calloc(1, sizeof *res);
	res->res = r;
	*out = res;
	return 0;
}

int pg_exec(struct pg_conn *c, const char *sql)
{
	struct pg_result *r;
	int rc = pg_query(c, sql, 0, NULL, &r);
	pg_result_free(r);
	return rc;
}

int pg_nrows(const struct pg_result *r)
{
	return PQntuples(r->res);
}

int pg_ncols(const struct pg_result *r)
{
	return PQnfields(r->res);
}

const char *pg_value(const struct pg_result *r, int row, int col)
{
	return PQgetvalue(r->res, row, col);
}

bool pg_isnull(const struct pg_result *r, int row, int col)
{
	return PQgetisnull(r->res, row, col) != 0;
}

void pg_result_free(struct pg_result *r)
{
	if (!r)
		return;
	PQclear(r->res);
	pw_free(r);
}

int pg_conninfo_with_dbname(const char *conninfo, const char *dbname, char **out, char *old,
                            size_t oldsize)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	*out = NULL;
	if (!opts) {
		PQfreemem(err);
		pw_error(PW_E_CONFIG, "invalid database connection string");
		return pw_error_hint("Use a libpq URL or key=value pairs.");
	}
	struct pw_buf b = PW_BUF_INIT(64 * 1024);
	if (old)
		old[0] = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = o->val;
		if (strcmp(o->keyword, "dbname") == 0) {
			if (old && v)
				pw_strlcpy(old, v, oldsize);
			v = dbname;
		}
		if (!v || !*v)
			continue;
		pw_buf_printf(&b, "%s%s='", b.len ? " " : "", o->keyword);
		for (const char *c = v; *c; c++) {
			if (*c == '\'' || *c == '\\')
				pw_buf_putc(&b, '\\');
			pw_buf_putc(&b, *c);
		}
		pw_buf_putc(&b, '\'');
	}
	PQconninfoFree(opts);
	pw_buf_str(&b);
	*out = (char *)b.data;
	return 0;
}

char *pg_quote_ident(struct pg_conn *c, const char *ident)
{
	char *q = PQescapeIdentifier(c->conn, ident, strlen(ident));
	char *r = pw_strdup(q ? q : "\"\"");
	PQfreemem(q);
	return r;
}

static void append_kv(struct pw_buf *b, const char *k, const char *v)
{
	pw_buf_printf(b, "%s%s='", b->len ? " " : "", k);
	for (const char *c = v; *c; c++) {
		if (*c == '\'' || *c == '\\')
			pw_buf_putc(b, '\\');
		pw_buf_putc(b, *c);
	}
	pw_buf_putc(b, '\'');
}

char *pg_child_conninfo_build(const char *(*param)(void *arg, const char *keyword), void *arg,
                              const struct pg_child_where *at, const char *application_name,
                              const char *role, bool read_only)
{
	/* host, hostaddr and port come from where the session is, not from the settings: a
	 * list of hosts (target_session_attrs), or a name that DNS answers differently a moment
	 * later, would let the child reach another server than the one pgward checked; the
	 * name stays for verify-full's certificate check, the address pins the connection */
	static const char *keys[] = {"dbname",
	                             "user",
	                             "sslmode",
	                             "sslrootcert",
	                             "sslcert",
	                             "sslkey",
	                             "sslcrl",
	                             "sslcrldir",
	                             "sslsni",
	                             "ssl_min_protocol_version",
	                             "ssl_max_protocol_version",
	                             "channel_binding",
	                             "requirepeer",
	                             "connect_timeout",
	                             "gssencmode"};
	struct pw_buf b = PW_BUF_INIT(64 * 1024);
	if (at->host && *at->host)
		append_kv(&b, "host", at->host);
	if (at->hostaddr && *at->hostaddr && at->host && at->host[0] != '/' && at->host[0] != '@')
		append_kv(&b, "hostaddr", at->hostaddr);
	if (at->port && *at->port)
		append_kv(&b, "port", at->port);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = param(arg, keys[i]);
		if (v && *v)
			append_kv(&b, keys[i], v);
	}
	append_kv(&b, "application_name", application_name);
	if (role && *role) {
		/* The child's own session: startup options outrank ALTER DATABASE/ROLE ... SET, so
		 * a role setting added after pgward's check cannot steer pg_dump or pg_restore,
		 * and read-only does not depend on PGOPTIONS (which options= replaces). */
		struct pw_buf o = PW_BUF_INIT(1024);
		pw_buf_printf(&o, "-c role=");
		/* the server splits options at any white space its isspace() knows (a tab, a new
		 * line, in some locales a byte above 0x7f), not only a space: every byte but a
		 * plain ASCII letter or digit is escaped (a backslash takes the next byte as it
		 * is), or a role name read from the database (current_user) could add options */
		for (const char *p = role; *p; p++) {
			unsigned char ch = (unsigned char)*p;
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9')))
				pw_buf_putc(&o, '\\');
			pw_buf_putc(&o, *p);
		}
		pw_buf_printf(&o, " -c client_min_messages=warning%s",
		              read_only ? " -c default_transaction_read_only=on" : "");
		append_kv(&b, "options", pw_buf_str(&o));
		pw_buf_free(&o, 0);
	}
	pw_buf_str(&b);
	return (char *)b.data;
}

static const char *conn_param(void *arg, const char *keyword)
{
	return pg_param(arg, keyword);
}

char *pg_child_conninfo(struct pg_conn *c, const char *application_name)
{
	struct pg_child_where at = {PQhost(c->conn), PQhostaddr(c->conn), PQport(c->conn)};
	return pg_child_conninfo_build(conn_param, c, &at, application_name, c->role, c->read_only);
}

char *pg_quote_literal(struct pg_conn *c, const char *s)
{
	char *q = PQescapeLiteral(c->conn, s, strlen(s));
	/* on failure (invalid encoding) a lone quote: the statement fails, nothing runs with an
	 * empty or wrong value in its place */
	char *r = pw_strdup(q ? q : "'");
	PQfreemem(q);
	return r;
}

int pg_scram_verifier(struct pg_conn *c, const char *user, const struct pw_secret *password,
                      char **out)
{
	*out = NULL;
	char *v = PQencryptPasswordConn(c->conn, pw_secret_str(password), user, "scram-sha-256");
	if (!v) {
		char line[512];
		first_line(PQerrorMessage(c->conn), line, sizeof line);
		pw_error(PW_E_DB, "could not compute the SCRAM verifier: %s", line);
		return pw_error_hint("libpq 10 or newer computes SCRAM-SHA-256 verifiers; check "
		                     "the installed libpq.");
	}
	*out = pw_strdup(v);
	PQfreemem(v);
	return 0;
}

/* ---- replication connections ---- */

static int repl_error(struct pg_conn *c, PGresult *r, const char *cmd)
{
	char line[1024];
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	first_line(msg ? msg : PQerrorMessage(c->conn), line, sizeof line);
	char what[64];
	first_line(cmd, what, sizeof what);
	char *sp = strchr(what, ' ');
	if (sp)
		*sp = 0;
	pw_error(PW_E_DB, "replication command %s failed: %s", what, line);
	return pw_error_hint("Check that the role has the REPLICATION attribute and that "
	                     "pg_hba.conf allows it to the \"replication\" database.");
}

int pg_repl_exec(struct pg_conn *c, const char *cmd, struct pg_result **out)
{
	*out = NULL;
	PGresult *r = PQexec(c->conn, cmd);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		int rc = repl_error(c, r, cmd);
		PQclear(r);
		return rc;
	}
	struct pg_result *res = pw_calloc(1, sizeof *res);
	res->res = r;
	*out = res;
	return 0;
}

int pg_copy_both_start(struct pg_conn *c, const char *cmd)
{
	PGresult *r = PQexec(c->conn, cmd);
	if (PQresultStatus(r) != PGRES_COPY_BOTH) {
		int rc = repl_error(c, r, cmd);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	return 0;
}

/* ---- bounded reads: a filter BIO between OpenSSL and libpq's socket BIO ---- */

static int budget_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int budget_read(BIO *b, char *out, int len)
{
	size_t *left = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (*left == 0) { /* this read's share is used up: "try again later" to OpenSSL */
		BIO_set_retry_read(b);
		return -1;
	}
	if ((size_t)len > *left)
		len = (int)*left;
	int n = BIO_read(BIO_next(b), out, len);
	if (n > 0)
		*left -= (size_t)n;
	BIO_copy_next_retry(b);
	return n;
}

static int budget_write(BIO *b, const char *in, int len)
{
	BIO_clear_retry_flags(b);
	int n = BIO_write(BIO_next(b), in, len);
	BIO_copy_next_retry(b);
	return n;
}

static long budget_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return BIO_ctrl(BIO_next(b), cmd, num, ptr);
}

/* One method for the process: BIO_get_new_index hands out at most 255 types, and wal-stream
 * reconnects for as long as it runs. Never freed (OpenSSL's own methods are not either). */
static BIO_METHOD *budget_method;
static pthread_once_t budget_once = PTHREAD_ONCE_INIT;

static void budget_method_init(void)
{
	int type = BIO_get_new_index();
	BIO_METHOD *m =
	    type > 0 ? BIO_meth_new(type | BIO_TYPE_FILTER, "pgward read budget") : NULL;
	if (m && BIO_meth_set_create(m, budget_create) && BIO_meth_set_read(m, budget_read) &&
	    BIO_meth_set_write(m, budget_write) && BIO_meth_set_ctrl(m, budget_ctrl)) {
		budget_method = m;
		return;
	}
	BIO_meth_free(m);
}

int pg_bound_reads(struct pg_conn *c, size_t bytes)
{
	SSL *ssl = PQsslInUse(c->conn) ? PQsslStruct(c->conn, "OpenSSL") : NULL;
	if (!ssl || c->bounded)
		return 0;
	pthread_once(&budget_once, budget_method_init);
	BIO *sock = SSL_get_rbio(ssl), *f = budget_method && sock ? BIO_new(budget_method) : NULL;
	if (!f || !BIO_up_ref(sock)) {
		BIO_free(f);
		pw_error(PW_E_DB, "could not bound the reads of the TLS connection");
		return pw_error_hint("This is unexpected; please report it.");
	}
	c->budget = SIZE_MAX; /* unbounded outside pg_copy_get (libpq's blocking paths) */
	c->read_max = bytes < 65536 ? 65536 : bytes;
	c->bounded = true;
	BIO_set_data(f, &c->budget);
	BIO_push(f, sock);     /* f -> libpq's socket BIO, which keeps its own reference */
	SSL_set0_rbio(ssl, f); /* drops the SSL's read reference to it (it holds the write one) */
	return 0;
}

int pg_repl_send(struct pg_conn *c, const char *cmd)
{
	if (!PQsendQuery(c->conn, cmd))
		return repl_error(c, NULL, cmd);
	return 0;
}

static int repl_stopped(void)
{
	pw_error(PW_E_INTERRUPTED, "interrupted by signal %d", pw_interrupted());
	return pw_error_hint("Nothing was committed; run the command again.");
}

/* Until a whole result is there: PQgetResult would wait without seeing a signal (libpq
 * retries its poll on EINTR), and a BASE_BACKUP sends nothing while the server runs its
 * checkpoint. A signal (pw_interrupted) cancels the command on the server (its wait for the
 * checkpoint included) and returns -PW_E_INTERRUPTED: the connection is then only fit to be
 * closed. */
static int repl_wait(struct pg_conn *c)
{
	while (PQisBusy(c->conn)) {
		if (pw_interrupted()) {
			PGcancel *k = PQgetCancel(c->conn);
			char err[256];
			if (k && !PQcancel(k, err, sizeof err))
				pw_debug("cancelling the replication command: %s", err);
			PQfreeCancel(k);
			return repl_stopped();
		}
		struct pollfd pfd = {PQsocket(c->conn), POLLIN, 0};
		int pr = poll(&pfd, 1, 1000);
		if (pr < 0 && errno != EINTR)
			return pw_error(
			    PW_E_DB, "poll on the replication connection failed (errno %d)", errno);
		if (pr > 0 && !PQconsumeInput(c->conn))
			break; /* PQgetResult reports the broken connection */
	}
	return 0;
}

int pg_repl_next(struct pg_conn *c, const char *cmd, struct pg_result **out, enum pg_next *kind)
{
	*out = NULL;
	*kind = PG_NEXT_END;
	int rc = repl_wait(c);
	if (rc < 0)
		return rc;
	PGresult *r = PQgetResult(c->conn);
	if (!r)
		return 0;
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK) {
		*out = pw_calloc(1, sizeof **out);
		(*out)->res = r;
		*kind = PG_NEXT_TUPLES;
		return 0;
	}
	if (st == PGRES_COPY_OUT || st == PGRES_COMMAND_OK) {
		*kind = st == PGRES_COPY_OUT ? PG_NEXT_COPY_OUT : PG_NEXT_OK;
		PQclear(r);
		return 0;
	}
	rc = repl_error(c, r, cmd);
	PQclear(r);
	/* drain what follows the error, so the connection can be closed cleanly */
	for (int i = 0; i < 16 && (r = PQgetResult(c->conn)) != NULL; i++)
		PQclear(r);
	return rc;
}

static int stream_broken(struct pg_conn *c)
{
	char line[512];
	first_line(PQerrorMessage(c->conn), line, sizeof line);
	pw_error(PW_E_DB, "the replication stream broke: %s", *line ? line : "connection lost");
	return pw_error_hint("pgward reconnects; if this repeats, see the server log.");
}

int pg_copy_get(struct pg_conn *c, int timeout_ms, uint8_t **msg, size_t *len, bool *done)
{
	*msg = NULL;
	*len = 0;
	*done = false;
	/* a signal stops the wait (the caller decides: wal-stream stores its partial first) */
	if (pw_interrupted())
		return repl_stopped();
	for (int round = 0; round < 2; round++) {
		char *buf = NULL;
		int n = PQgetCopyData(c->conn, &buf, 1);
		if (n > 0) {
			*msg = (uint8_t *)buf;
			*len = (size_t)n;
			return 0;
		}
		if (n == -1) {
			*done = true;
			return 0;
		}
		if (n == -2)
			return stream_broken(c);
		if (round == 1)
			break;
		/* a bounded read can leave decrypted bytes in TLS that poll() does not see (not
		 * SSL_has_pending: a partly received record would make this loop spin) */
		SSL *ssl = c->bounded ? PQsslStruct(c->conn, "OpenSSL") : NULL;
		if (!ssl || SSL_pending(ssl) <= 0) {
			struct pollfd pfd = {PQsocket(c->conn), POLLIN, 0};
			int pr = poll(&pfd, 1, timeout_ms);
			if (pr < 0 && errno != EINTR)
				return pw_error(
				    PW_E_DB, "poll on the replication connection failed (errno %d)",
				    errno);
			if (pr < 0 && pw_interrupted())
				return repl_stopped();
			if (pr <= 0)
				return 0;
		}
		/* at least one TLS record's worth, so the read is never empty (libpq would take
		 * an empty read of a readable socket for the server's end) */
		c->budget = c->bounded ? c->read_max : SIZE_MAX;
		int ok = PQconsumeInput(c->conn);
		c->budget = SIZE_MAX;
		if (!ok)
			return stream_broken(c);
	}
	return 0;
}

void pg_copy_free(uint8_t *msg)
{
	PQfreemem(msg);
}

int pg_copy_put(struct pg_conn *c, const uint8_t *p, size_t n)
{
	if (n > (size_t)INT32_MAX || PQputCopyData(c->conn, (const char *)p, (int)n) != 1 ||
	    PQflush(c->conn) != 0)
		return stream_broken(c);
	return 0;
}

int pg_copy_finish(struct pg_conn *c, struct pg_result **tuples)
{
	*tuples = NULL;
	if (PQputCopyEnd(c->conn, NULL) != 1 || PQflush(c->conn) != 0)
		return stream_broken(c);
	int rc = 0;
	PGresult *r;
	/* bounded: the copy's end, at most one result set, the command's end */
	for (int i = 0; i < 16 && (r = PQgetResult(c->conn)) != NULL; i++) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK && !*tuples && rc == 0) {
			*tuples = pw_calloc(1, sizeof **tuples);
			(*tuples)->res = r;
			continue;
		}
		if ((st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) && rc == 0)
			rc = repl_error(c, r, "START_REPLICATION");
		PQclear(r);
		if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			/* data still arriving after our end: drain it */
			char *buf;
			int n;
			while ((n = PQgetCopyData(c->conn, &buf, 0)) > 0)
				PQfreemem(buf);
		}
	}
	if (rc < 0) {
		pg_result_free(*tuples);
		*tuples = NULL;
	}
	return rc;
}
