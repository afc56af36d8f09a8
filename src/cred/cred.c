/* cred.c - credentials in the database: roles, levels, bookkeeping, rotation steps. */
#include "cred/cred.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/prim.h"
#include "pg/privs.h"

#include <openssl/crypto.h>

/* ---- pure helpers ---- */

int cred_name_check(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > CRED_NAME_MAX) {
		pw_error(PW_E_CREDENTIAL, "credential name \"%.60s%s\" is %s", name,
		         n > 60 ? "..." : "", n ? "longer than 50 characters" : "empty");
		return pw_error_hint("Use 1 to 50 characters from A-Z, a-z, 0-9, _ and - (so that "
		                     "\"<name>-rotating\" fits PostgreSQL's 63-byte names).");
	}
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-')) {
			if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
				pw_error(PW_E_CREDENTIAL,
				         "credential name contains a character outside "
				         "A-Z a-z 0-9 _ - (byte 0x%02x)",
				         (unsigned)(unsigned char)c);
			else
				pw_error(
				    PW_E_CREDENTIAL,
				    "credential name \"%s\" contains '%c', which is not allowed",
				    name, c);
			return pw_error_hint("Use only A-Z, a-z, 0-9, _ and -.");
		}
	}
	size_t sl = strlen(CRED_ROTATING_SUFFIX);
	if (n >= sl && strcmp(name + n - sl, CRED_ROTATING_SUFFIX) == 0) {
		pw_error(PW_E_CREDENTIAL, "credential name \"%s\" ends in \"-rotating\"", name);
		return pw_error_hint("That suffix is reserved for the temporary username of a "
		                     "rotation; choose another name.");
	}
	if (strcmp(name, "postgres") == 0 || strcmp(name, "default") == 0 ||
	    strcmp(name, "public") == 0 || pw_startswith(name, "pg_") ||
	    pw_startswith(name, "pgward")) {
		pw_error(PW_E_CREDENTIAL, "credential name \"%s\" is reserved", name);
		return pw_error_hint("postgres, default, public, pg_* and pgward* are reserved; "
		                     "choose a name that says which system uses it.");
	}
	return 0;
}

int cred_level_parse(const char *s, enum cred_level *out)
{
	if (strcmp(s, "none") == 0)
		*out = CRED_NONE;
	else if (strcmp(s, "read-only") == 0)
		*out = CRED_READ_ONLY;
	else if (strcmp(s, "read-write") == 0)
		*out = CRED_READ_WRITE;
	else {
		pw_error(PW_E_USAGE, "unknown permission level \"%s\"", s);
		return pw_error_hint("Use none, read-only or read-write.");
	}
	return 0;
}

const char *cred_level_name(enum cred_level l)
{
	return l == CRED_READ_ONLY ? "read-only" : l == CRED_READ_WRITE ? "read-write" : "none";
}

int cred_password_new(struct pw_secret **out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char pw[CRED_PASSWORD_LEN + 1];
	unsigned char rnd[64];
	size_t have = 0, used = sizeof rnd;
	while (have < CRED_PASSWORD_LEN) {
		if (used == sizeof rnd) {
			int rc = pw_random(rnd, sizeof rnd);
			if (rc < 0)
				return rc;
			used = 0;
		}
		unsigned char b = rnd[used++];
		if (b >= 248) /* 248 = 4 * 62: reject so every character is equally likely */
			continue;
		pw[have++] = alphabet[b % 62];
	}
	pw[have] = 0;
	*out = pw_secret_from_str(pw);
	OPENSSL_cleanse(pw, sizeof pw);
	OPENSSL_cleanse(rnd, sizeof rnd);
	return 0;
}

void cred_priv_role(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s%s", CRED_PRIV_PREFIX, name);
}

void cred_rot_role(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s%s", name, CRED_ROTATING_SUFFIX);
}

/* ---- SQL helpers ---- */

static int q1(struct cred_conn *cc, const char *sql, int n, const char *const *p, char *out,
              size_t size)
{
	struct pg_result *r;
	int rc = pg_query(cc->pg, sql, n, p, &r);
	if (rc < 0)
		return rc;
	if (out)
		pw_strlcpy(out, pg_nrows(r) ? pg_value(r, 0, 0) : "", size);
	pg_result_free(r);
	return 0;
}

/* Where the statement starting at s ends: the first newline outside a quoted identifier
 * ("..."), a literal ('...') or an escape-string literal (E'...'), which PQescapeIdentifier
 * and PQescapeLiteral produce and which may themselves contain newlines. */
static char *statement_end(char *s)
{
	enum { CODE, IDENT, LIT, ELIT } st = CODE;
	for (char *p = s; *p; p++) {
		switch (st) {
		case CODE:
			if (*p == '\n')
				return p;
			if (*p == '"')
				st = IDENT;
			else if (*p == '\'')
				st = (p > s && (p[-1] == 'E' || p[-1] == 'e') &&
				      (p - 1 == s || p[-2] == ' ' || p[-2] == '('))
				         ? ELIT
				         : LIT;
			break;
		case IDENT:
			if (*p == '"') {
				if (p[1] == '"')
					p++;
				else
					st = CODE;
			}
			break;
		case ELIT:
			if (*p == '\\' && p[1]) {
				p++;
				break;
			}
			/* fall through */
		case LIT:
			if (*p == '\'') {
				if (p[1] == '\'')
					p++;
				else
					st = CODE;
			}
			break;
		}
	}
	return NULL;
}

/* Run the statements collected in b, one per line (for clear error positions). */
static int exec_buf(struct cred_conn *cc, struct pw_buf *b)
{
	char *s = (char *)pw_buf_str(b);
	int rc = 0;
	while (*s && rc == 0) {
		char *nl = statement_end(s);
		if (nl)
			*nl = 0;
		if (*s) {
			pw_log(PW_LOG_DEBUG, "sql: %s",
			       strstr(s, " password ") ? "(a role statement with a SCRAM verifier)"
			                               : s);
			rc = pg_exec(cc->pg, s);
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	pw_buf_reset(b);
	return rc;
}

static int cred_begin(struct cred_conn *cc)
{
	return pg_exec(cc->pg, "begin");
}

static int cred_commit(struct cred_conn *cc)
{
	return pg_exec(cc->pg, "commit");
}

static void cred_rollback(struct cred_conn *cc)
{
	struct pw_error_saved e; /* keep the error that caused the rollback */
	pw_error_save(&e);
	(void)pg_exec(cc->pg, "rollback");
	pw_error_restore(&e);
}

/* End the transaction: commit when rc is 0, else roll back keeping the error. */
static int cred_end(struct cred_conn *cc, int rc)
{
	if (rc == 0)
		return cred_commit(cc);
	cred_rollback(cc);
	return rc;
}

int cred_now(struct cred_conn *cc, long long *epoch, char *iso, size_t isosize)
{
	struct pg_result *r;
	int rc = pg_query(cc->pg,
	                  "select extract(epoch from clock_timestamp())::bigint, "
	                  "to_char(clock_timestamp() at time zone 'UTC', "
	                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
	                  0, NULL, &r);
	if (rc < 0)
		return rc;
	if (epoch)
		*epoch = strtoll(pg_value(r, 0, 0), NULL, 10);
	if (iso)
		pw_strlcpy(iso, pg_value(r, 0, 1), isosize);
	pg_result_free(r);
	return 0;
}

int cred_open(struct pg_conn *pg, long limit, struct cred_conn *cc)
{
	memset(cc, 0, sizeof *cc);
	cc->pg = pg;
	cc->limit = limit;
	struct pg_result *r;
	int rc = pg_query(pg,
	                  "select pg_is_in_recovery(), current_user, current_database(), "
	                  "(select rolsuper from pg_roles where rolname = current_user), "
	                  "(select rolcreaterole from pg_roles where rolname = current_user)",
	                  0, NULL, &r);
	if (rc < 0)
		return rc;
	bool follower = strcmp(pg_value(r, 0, 0), "t") == 0;
	pw_strlcpy(cc->admin, pg_value(r, 0, 1), sizeof cc->admin);
	pw_strlcpy(cc->dbname, pg_value(r, 0, 2), sizeof cc->dbname);
	cc->admin_superuser = strcmp(pg_value(r, 0, 3), "t") == 0;
	bool createrole = strcmp(pg_value(r, 0, 4), "t") == 0;
	pg_result_free(r);
	if (follower) {
		pw_error(PW_E_FOLLOWER, "This operation is not supported for follower databases.");
		return pw_error_hint("Connect to the primary: credentials are roles, and roles "
		                     "can only change there (followers receive them).");
	}
	if (!createrole && !cc->admin_superuser) {
		pw_error(PW_E_PRIVILEGE,
		         "role \"%s\" cannot manage credentials: it lacks CREATEROLE", cc->admin);
		return pw_error_hint("Connect as the database owner (the default credential) "
		                     "with CREATEROLE: ALTER ROLE %s CREATEROLE; (as a superuser).",
		                     cc->admin);
	}
	/* one credentials command at a time per cluster (the session lock goes with the
	 * connection, so a killed pgward never leaves it behind) */
	for (int i = 0; i < 300; i++) {
		char got[8];
		rc = q1(cc, "select pg_try_advisory_lock(hashtext('pgward credentials'))", 0, NULL,
		        got, sizeof got);
		if (rc < 0)
			return rc;
		if (strcmp(got, "t") == 0)
			return 0;
		if (i == 0)
			pw_log(PW_LOG_INFO, "waiting for another credentials command to finish");
		usleep(100 * 1000);
	}
	pw_error(PW_E_DB, "another pgward credentials command holds the lock for 30 s");
	return pw_error_hint("Wait for it (a rotation with --wait can take the grace period) and "
	                     "try again.");
}

/* ---- reading ---- */

static const char *const LIST_SQL =
    "select substr(p.rolname, 8), shobj_description(p.oid, 'pg_authid'), "
    "exists (select 1 from pg_roles l where l.rolname = substr(p.rolname, 8)), "
    "exists (select 1 from pg_roles l where l.rolname = substr(p.rolname, 8) || '-rotating'), "
    "(select count(*) from pg_stat_activity a where a.usename = substr(p.rolname, 8) "
    "  and a.backend_type = 'client backend'), "
    "(select count(*) from pg_stat_activity a where a.usename = substr(p.rolname, 8) || "
    "'-rotating' and a.backend_type = 'client backend') "
    "from pg_roles p where p.rolname like 'pgward:%' and not p.rolcanlogin "
    "and ($1::text is null or p.rolname = 'pgward:' || $1) order by 1";

static int load(struct cred_conn *cc, const char *only, struct cred **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct pg_result *r;
	const char *p[1] = {only};
	int rc = pg_query(cc->pg, LIST_SQL, 1, p, &r);
	if (rc < 0)
		return rc;
	size_t rows = (size_t)pg_nrows(r);
	struct cred *v = pw_calloc(rows ? rows : 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < rows; i++) {
		json_error_t je;
		json_t *m = json_loads(pg_value(r, (int)i, 1), 0, &je);
		if (!m || !json_is_object(m) || !json_object_get(m, "pgward")) {
			json_decref(m);
			continue; /* a role named pgward:* that pgward did not make */
		}
		/* role names are cluster-wide; a credential belongs to one database */
		const char *db = json_string_value(json_object_get(m, "database"));
		if (!db || strcmp(db, cc->dbname) != 0) {
			json_decref(m);
			continue;
		}
		struct cred *c = &v[k++];
		pw_strlcpy(c->name, pg_value(r, (int)i, 0), sizeof c->name);
		c->meta = m;
		c->has_login = strcmp(pg_value(r, (int)i, 2), "t") == 0;
		c->has_rot = strcmp(pg_value(r, (int)i, 3), "t") == 0;
		c->login_conns = strtol(pg_value(r, (int)i, 4), NULL, 10);
		c->rot_conns = strtol(pg_value(r, (int)i, 5), NULL, 10);
	}
	pg_result_free(r);
	*out = v;
	*n = k;
	return 0;
}

int cred_list(struct cred_conn *cc, struct cred **out, size_t *n)
{
	return load(cc, NULL, out, n);
}

void cred_clear(struct cred *c)
{
	json_decref(c->meta);
	c->meta = NULL;
}

void cred_list_free(struct cred *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cred_clear(&v[i]);
	pw_free(v);
}

int cred_get(struct cred_conn *cc, const char *name, struct cred *out)
{
	memset(out, 0, sizeof *out);
	if (strcmp(name, cc->admin) == 0 || strcmp(name, "default") == 0) {
		pw_error(PW_E_CREDENTIAL, "\"%s\" is the default credential", name);
		return pw_error_hint("pgward never changes or destroys the default credential; "
		                     "repair-default restores it, rotate rotates it by name.");
	}
	int rc = cred_name_check(name);
	if (rc < 0)
		return rc;
	struct cred *v;
	size_t n;
	rc = load(cc, name, &v, &n);
	if (rc < 0)
		return rc;
	if (n == 0) {
		pw_free(v);
		pw_error(PW_E_CREDENTIAL, "no credential named \"%s\" in database \"%s\"", name,
		         cc->dbname);
		return pw_error_hint("\"pgward credentials\" lists them; create one with "
		                     "\"pgward credentials create %s\".",
		                     name);
	}
	*out = v[0];
	pw_free(v);
	return 0;
}

const char *cred_meta_str(const struct cred *c, const char *key)
{
	const char *s = json_string_value(json_object_get(c->meta, key));
	return s ? s : "";
}

int cred_save_meta(struct cred_conn *cc, const char *name, json_t *meta)
{
	char priv[80];
	cred_priv_role(name, priv, sizeof priv);
	char *text = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *qi = pg_quote_ident(cc->pg, priv);
	char *ql = pg_quote_literal(cc->pg, text);
	struct pw_buf b = PW_BUF_INIT(1 << 20);
	pw_buf_printf(&b, "comment on role %s is %s", qi, ql);
	int rc = pg_exec(cc->pg, pw_buf_str(&b));
	pw_buf_free(&b, 0);
	pw_free(qi);
	pw_free(ql);
	pw_free(text);
	return rc;
}

/* ---- levels ---- */

/* the schemas a level covers: as given (each must exist) or every non-system schema */
static int resolve_schemas(struct cred_conn *cc, const char *const *schemas, size_t n, json_t **out)
{
	json_t *a = json_array();
	if (n == 0) {
		struct pg_result *r;
		int rc = pg_query(cc->pg,
		                  "select nspname from pg_namespace where nspname !~ '^pg_' and "
		                  "nspname <> 'information_schema' order by 1",
		                  0, NULL, &r);
		if (rc < 0) {
			json_decref(a);
			return rc;
		}
		for (int i = 0; i < pg_nrows(r); i++)
			json_array_append_new(a, json_string(pg_value(r, i, 0)));
		pg_result_free(r);
	} else {
		for (size_t i = 0; i < n; i++) {
			char got[8];
			const char *p[1] = {schemas[i]};
			int rc = q1(cc, "select count(*) from pg_namespace where nspname = $1", 1,
			            p, got, sizeof got);
			if (rc < 0) {
				json_decref(a);
				return rc;
			}
			if (strcmp(got, "1") != 0 || pw_startswith(schemas[i], "pg_") ||
			    strcmp(schemas[i], "information_schema") == 0) {
				json_decref(a);
				pw_error(PW_E_CREDENTIAL, "no schema \"%s\" in database \"%s\"",
				         schemas[i], cc->dbname);
				return pw_error_hint("Name existing, non-system schemas with "
				                     "--schemas a,b (or leave it out for all of "
				                     "them).");
			}
			json_array_append_new(a, json_string(schemas[i]));
		}
	}
	*out = a;
	return 0;
}

/* "{a,b}" text-array literal of a JSON array of strings (for $n::text[]) */
static char *array_literal(json_t *a)
{
	struct pw_buf b = PW_BUF_INIT(1 << 20);
	pw_buf_putc(&b, '{');
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (i)
			pw_buf_putc(&b, ',');
		pw_buf_putc(&b, '"');
		for (const char *s = json_string_value(v); s && *s; s++) {
			if (*s == '"' || *s == '\\')
				pw_buf_putc(&b, '\\');
			pw_buf_putc(&b, *s);
		}
		pw_buf_putc(&b, '"');
	}
	pw_buf_putc(&b, '}');
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

/* Roles that create objects in the schemas, for default privileges: the admin, each
 * schema's owner the admin may act for, and the other credentials' privilege roles. */
static int creators(struct cred_conn *cc, const char *schemas_lit, const char *priv,
                    struct pg_result **out)
{
	const char *p[3] = {schemas_lit, priv, cc->admin};
	return pg_query(cc->pg,
	                "select distinct n.nspname, r.rolname from pg_namespace n "
	                "cross join lateral (select $3::text as rolname "
	                "  union select pg_get_userbyid(n.nspowner) "
	                "  union select rolname from pg_roles where rolname like 'pgward:%' "
	                "    and not rolcanlogin) r "
	                "where n.nspname = any($1::text[]) and r.rolname <> $2 "
	                "and r.rolname !~ '^pg_' "
	                "and pg_has_role(current_user, r.rolname, 'MEMBER') "
	                "and not (select rolsuper from pg_roles where rolname = r.rolname "
	                "         and rolname <> current_user) is true "
	                "order by 1, 2",
	                3, p, out);
}

static int revoke_all(struct cred_conn *cc, const char *priv, json_t *old_schemas,
                      bool cluster_wide, struct pw_buf *b)
{
	char *qp = pg_quote_ident(cc->pg, priv);
	int rc = 0;
	/* objects in the schemas pgward granted on before (those that still exist) */
	size_t i;
	json_t *v;
	json_array_foreach(old_schemas, i, v)
	{
		const char *s = json_string_value(v);
		char got[8];
		const char *p[1] = {s};
		rc = q1(cc, "select count(*) from pg_namespace where nspname = $1", 1, p, got,
		        sizeof got);
		if (rc < 0)
			break;
		if (strcmp(got, "1") != 0)
			continue;
		char *qs = pg_quote_ident(cc->pg, s);
		pw_buf_printf(b,
		              "revoke all on all tables in schema %s from %s\n"
		              "revoke all on all sequences in schema %s from %s\n"
		              "revoke all on schema %s from %s\n",
		              qs, qp, qs, qp, qs, qp);
		pw_free(qs);
	}
	/* every default privilege that names the role, whoever defined it */
	struct pg_result *r = NULL;
	const char *p[1] = {priv};
	if (rc == 0)
		rc = pg_query(cc->pg,
		              "select pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype "
		              "from pg_default_acl d left join pg_namespace n on n.oid = "
		              "d.defaclnamespace, aclexplode(d.defaclacl) a "
		              "where a.grantee = (select oid from pg_roles where rolname = $1) "
		              "and d.defaclobjtype in ('r', 'S') "
		              "group by 1, 2, 3",
		              1, p, &r);
	for (int k = 0; rc == 0 && k < pg_nrows(r); k++) {
		char *qr = pg_quote_ident(cc->pg, pg_value(r, k, 0));
		const char *what = strcmp(pg_value(r, k, 2), "S") == 0 ? "sequences" : "tables";
		if (pg_isnull(r, k, 1)) {
			pw_buf_printf(b,
			              "alter default privileges for role %s revoke all on %s "
			              "from %s\n",
			              qr, what, qp);
		} else {
			char *qs = pg_quote_ident(cc->pg, pg_value(r, k, 1));
			pw_buf_printf(b,
			              "alter default privileges for role %s in schema %s revoke "
			              "all on %s from %s\n",
			              qr, qs, what, qp);
			pw_free(qs);
		}
		pw_free(qr);
	}
	pg_result_free(r);
	if (rc == 0 && cluster_wide)
		pw_buf_printf(b, "revoke pg_read_all_data from %s\n", qp);
	pw_free(qp);
	if (rc == 0)
		rc = exec_buf(cc, b);
	return rc;
}

static int grant_level(struct cred_conn *cc, const char *priv, enum cred_level level,
                       json_t *schemas, bool cluster_wide, struct pw_buf *b)
{
	if (level == CRED_NONE)
		return 0;
	char *qp = pg_quote_ident(cc->pg, priv);
	const char *tpriv = level == CRED_READ_WRITE ? "select, insert, update, delete" : "select";
	const char *spriv = level == CRED_READ_WRITE ? "usage, select, update" : "select";
	if (cluster_wide && level == CRED_READ_ONLY) {
		/* pg_read_all_data instead of per-schema grants: every table, now and later */
		if (pg_server_version(cc->pg) < 140000) {
			pw_free(qp);
			pw_error(PW_E_CREDENTIAL, "--cluster-wide needs PostgreSQL 14 or newer");
			return pw_error_hint("pg_read_all_data appeared in PostgreSQL 14; use the "
			                     "per-schema read-only level.");
		}
		pw_buf_printf(b, "grant pg_read_all_data to %s\n", qp);
		pw_free(qp);
		return exec_buf(cc, b);
	}
	size_t i;
	json_t *v;
	json_array_foreach(schemas, i, v)
	{
		char *qs = pg_quote_ident(cc->pg, json_string_value(v));
		pw_buf_printf(b,
		              "grant usage on schema %s to %s\n"
		              "grant %s on all tables in schema %s to %s\n"
		              "grant %s on all sequences in schema %s to %s\n",
		              qs, qp, tpriv, qs, qp, spriv, qs, qp);
		pw_free(qs);
	}
	char *lit = array_literal(schemas);
	struct pg_result *r;
	int rc = creators(cc, lit, priv, &r);
	pw_free(lit);
	for (int k = 0; rc == 0 && k < pg_nrows(r); k++) {
		char *qs = pg_quote_ident(cc->pg, pg_value(r, k, 0));
		char *qr = pg_quote_ident(cc->pg, pg_value(r, k, 1));
		pw_buf_printf(b,
		              "alter default privileges for role %s in schema %s grant %s on "
		              "tables to %s\n"
		              "alter default privileges for role %s in schema %s grant %s on "
		              "sequences to %s\n",
		              qr, qs, tpriv, qp, qr, qs, spriv, qp);
		pw_free(qs);
		pw_free(qr);
	}
	if (rc == 0)
		pg_result_free(r);
	pw_free(qp);
	if (rc == 0)
		rc = exec_buf(cc, b);
	return rc;
}

/* After granting: the level holds, as PostgreSQL sees it (checked in the same transaction),
 * for the privilege role and each username (grants made to a username directly count too). */
/* What a level allows of the privilege model's findings (pg/privs.c): a read-write level
 * writes rows (INSERT, UPDATE, DELETE; sequences) in its own schemas, nothing else; no level
 * includes TRUNCATE, CREATE, ownership, attributes or a writing role. The privilege role's
 * own grants are checked on it, so a username's membership in it is not a finding. */
bool cred_level_allows(const struct pw_priv_finding *f, enum cred_level level, json_t *schemas,
                       const char *priv_role)
{
	if (f->kind == PW_PRIV_ATTRIBUTE && strcmp(f->privilege, "BYPASSRLS") == 0)
		return true;
	if (f->kind == PW_PRIV_MEMBERSHIP && strcmp(f->via, priv_role) == 0)
		return true;
	if (level != CRED_READ_WRITE ||
	    (f->kind != PW_PRIV_TABLE && f->kind != PW_PRIV_COLUMN && f->kind != PW_PRIV_SEQUENCE))
		return false;
	bool mine = false;
	size_t i;
	json_t *v;
	json_array_foreach(schemas, i, v) mine |= strcmp(json_string_value(v), f->schema) == 0;
	if (!mine)
		return false;
	if (f->kind != PW_PRIV_TABLE)
		return true; /* columns: INSERT/UPDATE only; sequences: UPDATE/USAGE */
	for (const char *q = f->privilege; *q;) {
		size_t n = strcspn(q, ", ");
		if (!(n == 6 && (strncmp(q, "INSERT", n) == 0 || strncmp(q, "UPDATE", n) == 0 ||
		                 strncmp(q, "DELETE", n) == 0)))
			return false;
		q += n;
		q += strspn(q, ", ");
	}
	return true;
}

static int verify_role(struct cred_conn *cc, const char *role, enum cred_level level,
                       json_t *schemas, const char *lit, bool cluster_wide, const char *priv_role)
{
	struct pg_result *r = NULL;
	struct pw_privs m;
	int rc = pw_privs_scan(cc->pg, role, &m);
	for (size_t i = 0; rc == 0 && i < m.n; i++) {
		const struct pw_priv_finding *f = &m.f[i];
		if (cred_level_allows(f, level, schemas, priv_role))
			continue;
		char *d = pw_priv_describe(f);
		pw_error(PW_E_PRIVILEGE,
		         "level %s does not hold: role \"%s\" would still have %s%s%s%s",
		         cred_level_name(level), role, d, f->kind == PW_PRIV_MEMBERSHIP ? "" : " (",
		         f->kind == PW_PRIV_MEMBERSHIP ? "" : pw_priv_path_name(f->path),
		         f->kind == PW_PRIV_MEMBERSHIP ? "" : ")");
		rc = pw_error_hint("Remove it where it comes from: %s; nothing was changed.",
		                   f->fix);
		pw_free(d);
	}
	pw_privs_free(&m);
	if (rc == 0 && !cluster_wide) {
		/* reading outside the level: a warning (PUBLIC SELECT grants are the DBA's choice) */
		const char *q[3] = {role, lit, level == CRED_NONE ? "f" : "t"};
		rc = pg_query(
		    cc->pg,
		    "select n.nspname || '.' || c.relname from pg_class c "
		    "join pg_namespace n on n.oid = c.relnamespace "
		    "where n.nspname !~ '^pg_' and n.nspname <> 'information_schema' "
		    "and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') "
		    "and not ($3::bool and n.nspname = any($2::text[])) "
		    "and (has_table_privilege($1, c.oid, 'SELECT') or case when c.relkind <> 'S' "
		    "then has_any_column_privilege($1, c.oid, 'SELECT') else false end) "
		    "union all select 'every table (pg_read_all_data)' "
		    "where pg_has_role($1, 'pg_read_all_data', 'USAGE') order by 1 limit 4",
		    3, q, &r);
		if (rc == 0 && pg_nrows(r) > 0)
			pw_warn("role \"%s\" (level %s) can also read %s%s: granted to PUBLIC or "
			        "through another role, not by pgward",
			        role, cred_level_name(level), pg_value(r, 0, 0),
			        pg_nrows(r) > 1 ? " and more" : "");
		pg_result_free(r);
	}
	return rc;
}

static int verify_level(struct cred_conn *cc, const char *name, enum cred_level level,
                        json_t *schemas, bool cluster_wide)
{
	char priv[80], rot[80];
	cred_priv_role(name, priv, sizeof priv);
	cred_rot_role(name, rot, sizeof rot);
	char *lit = array_literal(schemas);
	struct pg_result *r = NULL;
	int rc = 0;
	if (level != CRED_NONE) {
		const char *p[2] = {priv, lit};
		rc = pg_query(cc->pg,
		              "select n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner) "
		              "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
		              "where n.nspname = any($2::text[]) "
		              "and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') "
		              "and not has_table_privilege($1, c.oid, 'SELECT') "
		              "order by 1 limit 6",
		              2, p, &r);
		if (rc == 0 && pg_nrows(r) > 0) {
			pw_error(PW_E_PRIVILEGE,
			         "the default credential \"%s\" could not grant SELECT on %s "
			         "(owned by %s)%s",
			         cc->admin, pg_value(r, 0, 0), pg_value(r, 0, 1),
			         pg_nrows(r) > 1 ? " and other objects" : "");
			rc = pw_error_hint(
			    "Objects must be owned by the default credential: run "
			    "\"pgward credentials repair-default\", or ALTER ... OWNER "
			    "TO %s; nothing was changed.",
			    cc->admin);
		}
		pg_result_free(r);
	}
	const char *roles[3] = {priv, name, rot};
	for (int i = 0; i < 3 && rc == 0; i++) {
		bool exists = true;
		if (i > 0) {
			struct pg_result *e;
			const char *q[1] = {roles[i]};
			rc =
			    pg_query(cc->pg, "select 1 from pg_roles where rolname = $1", 1, q, &e);
			if (rc < 0)
				break;
			exists = pg_nrows(e) > 0;
			pg_result_free(e);
		}
		if (exists)
			rc = verify_role(cc, roles[i], level, schemas, lit, cluster_wide, priv);
	}
	pw_free(lit);
	return rc;
}

static int apply_level(struct cred_conn *cc, const char *name, json_t *meta, enum cred_level level,
                       const char *const *schemas, size_t nschemas, bool cluster_wide)
{
	char priv[80];
	cred_priv_role(name, priv, sizeof priv);
	if (cluster_wide && level != CRED_READ_ONLY) {
		pw_error(PW_E_USAGE, "--cluster-wide goes with --level read-only only");
		return pw_error_hint("pg_read_all_data is the cluster-wide read-only role; there "
		                     "is no cluster-wide write level.");
	}
	json_t *ns = NULL;
	int rc = resolve_schemas(cc, schemas, nschemas, &ns);
	if (rc < 0)
		return rc;
	json_t *old = json_object_get(meta, "schemas");
	json_t *both = json_array();
	json_array_extend(both, ns);
	if (json_is_array(old))
		json_array_extend(both, old);
	struct pw_buf b = PW_BUF_INIT(4 << 20);
	rc = revoke_all(cc, priv, both, json_is_true(json_object_get(meta, "cluster_wide")), &b);
	json_decref(both);
	if (rc == 0)
		rc = grant_level(cc, priv, level, ns, cluster_wide, &b);
	pw_buf_free(&b, 0);
	if (rc == 0)
		rc = verify_level(cc, name, level, ns, cluster_wide);
	if (rc == 0) {
		json_object_set_new(meta, "level", json_string(cred_level_name(level)));
		json_object_set(meta, "schemas", ns);
		json_object_set_new(meta, "cluster_wide", json_boolean(cluster_wide));
	}
	json_decref(ns);
	return rc;
}

/* ---- create / set-level / destroy ---- */

static int role_exists(struct cred_conn *cc, const char *role, bool *exists, bool *super)
{
	struct pg_result *r;
	const char *p[1] = {role};
	int rc = pg_query(cc->pg, "select rolsuper from pg_roles where rolname = $1", 1, p, &r);
	if (rc < 0)
		return rc;
	*exists = pg_nrows(r) > 0;
	if (super)
		*super = *exists && strcmp(pg_value(r, 0, 0), "t") == 0;
	pg_result_free(r);
	return 0;
}

/* CREATE ROLE for a username of the credential (same statements for rotation) */
static int create_login(struct cred_conn *cc, const char *name, const char *role,
                        const struct pw_secret *password)
{
	char priv[80];
	cred_priv_role(name, priv, sizeof priv);
	char *verifier = NULL;
	int rc = pg_scram_verifier(cc->pg, role, password, &verifier);
	if (rc < 0)
		return rc;
	char *qr = pg_quote_ident(cc->pg, role);
	char *qp = pg_quote_ident(cc->pg, priv);
	char *qv = pg_quote_literal(cc->pg, verifier);
	char *qa = pg_quote_ident(cc->pg, cc->admin);
	char *ql = pg_quote_literal(cc->pg, priv);
	json_t *c = json_object();
	json_object_set_new(c, "pgward", json_integer(1));
	json_object_set_new(c, "credential", json_string(name));
	json_object_set_new(c, "username", json_true());
	char *ctext = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(c);
	char *qc = pg_quote_literal(cc->pg, ctext);
	pw_free(ctext);
	struct pw_buf b = PW_BUF_INIT(1 << 16);
	pw_buf_printf(&b,
	              "create role %s login inherit nosuperuser nocreatedb nocreaterole "
	              "noreplication nobypassrls password %s in role %s\n"
	              "alter role %s set role = %s\n"
	              "comment on role %s is %s\n",
	              qr, qv, qp, qr, ql, qr, qc);
	if (!cc->admin_superuser)
		pw_buf_printf(&b, "grant %s to %s with admin option\n", qr, qa);
	rc = exec_buf(cc, &b);
	pw_buf_free(&b, 1);
	OPENSSL_cleanse(verifier, strlen(verifier));
	pw_free(verifier);
	pw_free(qr);
	pw_free(qp);
	pw_free(qv);
	pw_free(qa);
	pw_free(qc);
	pw_free(ql);
	return rc;
}

int cred_create(struct cred_conn *cc, const char *name, enum cred_level level,
                const char *const *schemas, size_t nschemas, bool cluster_wide,
                const struct pw_secret *password, const char *sealed)
{
	int rc = cred_name_check(name);
	if (rc < 0)
		return rc;
	if (strcmp(name, cc->admin) == 0) {
		pw_error(PW_E_CREDENTIAL, "\"%s\" is the default credential", name);
		return pw_error_hint("Choose another name.");
	}
	char priv[80], rot[80];
	cred_priv_role(name, priv, sizeof priv);
	cred_rot_role(name, rot, sizeof rot);
	const char *roles[3] = {name, priv, rot};
	for (int i = 0; i < 3; i++) {
		bool exists, super;
		rc = role_exists(cc, roles[i], &exists, &super);
		if (rc < 0)
			return rc;
		if (super) {
			pw_error(PW_E_CREDENTIAL, "role \"%s\" is a superuser", roles[i]);
			return pw_error_hint(
			    "pgward does not manage superuser roles; choose another "
			    "name.");
		}
		if (exists) {
			pw_error(PW_E_CREDENTIAL, "role \"%s\" already exists", roles[i]);
			return pw_error_hint(
			    "Role names are cluster-wide: another database's "
			    "credential or a role pgward did not create has it, and "
			    "pgward does not take roles over; choose another name.");
		}
	}
	struct cred *all;
	size_t n;
	rc = cred_list(cc, &all, &n);
	if (rc < 0)
		return rc;
	cred_list_free(all, n);
	if ((long)n >= cc->limit) {
		pw_error(PW_E_CREDENTIAL, "database \"%s\" already has %zu credentials (limit %ld)",
		         cc->dbname, n, cc->limit);
		return pw_error_hint("Destroy one that is no longer used, or raise "
		                     "credentials-limit if you really need more.");
	}
	char now[40];
	rc = cred_now(cc, NULL, now, sizeof now);
	if (rc < 0)
		return rc;
	json_t *meta = json_object();
	json_object_set_new(meta, "pgward", json_integer(1));
	json_object_set_new(meta, "credential", json_string(name));
	json_object_set_new(meta, "database", json_string(cc->dbname));
	json_object_set_new(meta, "level", json_string("none"));
	json_object_set_new(meta, "schemas", json_array());
	json_object_set_new(meta, "cluster_wide", json_false());
	json_object_set_new(meta, "state", json_string("active"));
	json_object_set_new(meta, "created", json_string(now));
	json_object_set_new(meta, "rotated", json_null());
	if (sealed)
		json_object_set_new(meta, "sealed_password", json_string(sealed));
	rc = cred_begin(cc);
	if (rc == 0) {
		char *qp = pg_quote_ident(cc->pg, priv);
		char *qa = pg_quote_ident(cc->pg, cc->admin);
		char *qd = pg_quote_ident(cc->pg, cc->dbname);
		struct pw_buf b = PW_BUF_INIT(1 << 16);
		pw_buf_printf(&b,
		              "create role %s nologin inherit nosuperuser nocreatedb nocreaterole "
		              "noreplication nobypassrls\n",
		              qp);
		if (!cc->admin_superuser)
			pw_buf_printf(&b, "grant %s to %s with admin option\n", qp, qa);
		rc = exec_buf(cc, &b);
		char got[8] = "";
		if (rc == 0)
			rc = q1(cc,
			        "select has_database_privilege(current_user, current_database(), "
			        "'CONNECT WITH GRANT OPTION')",
			        0, NULL, got, sizeof got);
		if (rc == 0 && strcmp(got, "t") == 0) {
			pw_buf_printf(&b, "grant connect on database %s to %s\n", qd, qp);
			rc = exec_buf(cc, &b);
		}
		pw_buf_free(&b, 0);
		pw_free(qp);
		pw_free(qa);
		pw_free(qd);
	}
	if (rc == 0)
		rc = create_login(cc, name, name, password);
	if (rc == 0)
		rc = apply_level(cc, name, meta, level, schemas, nschemas, cluster_wide);
	if (rc == 0)
		rc = cred_save_meta(cc, name, meta);
	rc = cred_end(cc, rc);
	json_decref(meta);
	return rc;
}

static int refuse_rotating(const struct cred *c, const char *what)
{
	if (strcmp(cred_meta_str(c, "state"), "rotating") != 0)
		return 0;
	pw_error(PW_E_CREDENTIAL, "credential \"%s\" is being rotated; cannot %s it now", c->name,
	         what);
	return pw_error_hint("Let the rotation finish (\"pgward credentials rotate %s --wait\", "
	                     "or --force to end the old sessions now), then retry.",
	                     c->name);
}

int cred_set_level(struct cred_conn *cc, const char *name, enum cred_level level,
                   const char *const *schemas, size_t nschemas, bool cluster_wide)
{
	struct cred c;
	int rc = cred_get(cc, name, &c);
	if (rc < 0)
		return rc;
	rc = refuse_rotating(&c, "change the level of");
	if (rc == 0 && level != CRED_READ_WRITE) {
		/* owning objects is write access: refuse rather than leave it */
		char priv[80], got[16];
		cred_priv_role(name, priv, sizeof priv);
		const char *p[1] = {priv};
		rc = q1(cc,
		        "select count(*) from pg_shdepend where deptype = 'o' and classid <> "
		        "'pg_default_acl'::regclass and refobjid = "
		        "(select oid from pg_roles where rolname = $1) and dbid = (select oid "
		        "from pg_database where datname = current_database())",
		        1, p, got, sizeof got);
		if (rc == 0 && strcmp(got, "0") != 0) {
			pw_error(PW_E_PRIVILEGE,
			         "credential \"%s\" owns %s object(s), which %s does not allow",
			         name, got, cred_level_name(level));
			rc = pw_error_hint("Give them to the default credential first: REASSIGN "
			                   "OWNED BY \"%s\" TO %s; (or run repair-default).",
			                   priv, cc->admin);
		}
	}
	if (rc == 0)
		rc = cred_begin(cc);
	else {
		cred_clear(&c);
		return rc;
	}
	if (rc == 0)
		rc = apply_level(cc, name, c.meta, level, schemas, nschemas, cluster_wide);
	if (rc == 0)
		rc = cred_save_meta(cc, name, c.meta);
	rc = cred_end(cc, rc);
	cred_clear(&c);
	return rc;
}

/* REASSIGN + DROP OWNED + DROP ROLE for the given roles that exist, to new_owner */
static int drop_roles(struct cred_conn *cc, const char *const *roles, size_t n,
                      const char *new_owner, struct pw_buf *b)
{
	char *qo = pg_quote_ident(cc->pg, new_owner);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool exists;
		rc = role_exists(cc, roles[i], &exists, NULL);
		if (rc < 0 || !exists)
			continue;
		char *qr = pg_quote_ident(cc->pg, roles[i]);
		pw_buf_printf(b, "reassign owned by %s to %s\ndrop owned by %s\ndrop role %s\n", qr,
		              qo, qr, qr);
		pw_free(qr);
	}
	pw_free(qo);
	if (rc == 0)
		rc = exec_buf(cc, b);
	if (rc < 0 && strstr(pw_error_message(), "cannot be dropped because"))
		pw_error_hint("The role still has privileges or objects in another database of "
		              "the cluster: run DROP OWNED BY there first; nothing was changed.");
	return rc;
}

int cred_destroy(struct cred_conn *cc, const char *name)
{
	struct cred c;
	int rc = cred_get(cc, name, &c);
	if (rc < 0)
		return rc;
	char priv[80], rot[80];
	cred_priv_role(name, priv, sizeof priv);
	cred_rot_role(name, rot, sizeof rot);
	rc = cred_begin(cc);
	if (rc == 0) {
		/* the usernames first (their objects go to the privilege role's new owner too) */
		const char *roles[3] = {rot, name, priv};
		struct pw_buf b = PW_BUF_INIT(1 << 16);
		rc = drop_roles(cc, roles, 3, cc->admin, &b);
		pw_buf_free(&b, 0);
	}
	rc = cred_end(cc, rc);
	cred_clear(&c);
	return rc;
}

int cred_repair_default(struct cred_conn *cc, json_t *report)
{
	struct cred *all;
	size_t n;
	int rc = cred_list(cc, &all, &n);
	if (rc < 0)
		return rc;
	json_t *reassigned = json_array();
	json_t *granted = json_array();
	json_t *left = json_array();
	rc = cred_begin(cc);
	struct pw_buf b = PW_BUF_INIT(4 << 20);
	char *qa = pg_quote_ident(cc->pg, cc->admin);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char priv[80], rot[80];
		cred_priv_role(all[i].name, priv, sizeof priv);
		cred_rot_role(all[i].name, rot, sizeof rot);
		const char *roles[3] = {priv, all[i].name, rot};
		char *qp = pg_quote_ident(cc->pg, priv);
		char *ql = pg_quote_literal(cc->pg, priv);
		for (int k = 0; k < 3; k++) {
			bool exists;
			rc = role_exists(cc, roles[k], &exists, NULL);
			if (rc < 0 || !exists)
				continue;
			char *qr = pg_quote_ident(cc->pg, roles[k]);
			if (!cc->admin_superuser) {
				pw_buf_printf(&b, "grant %s to %s with admin option\n", qr, qa);
				json_array_append_new(granted, json_string(roles[k]));
			}
			if (k > 0) /* usernames: members of the privilege role, acting as it */
				pw_buf_printf(&b, "grant %s to %s\nalter role %s set role = %s\n",
				              qp, qr, qr, ql);
			pw_free(qr);
		}
		pw_free(qp);
		pw_free(ql);
		if (rc == 0)
			rc = exec_buf(cc, &b);
	}
	/* every object of the database (and the database itself) owned by another role */
	struct pg_result *r = NULL;
	if (rc == 0)
		rc = pg_query(cc->pg,
		              "select distinct a.rolname, a.rolsuper, "
		              "pg_has_role(current_user, a.oid, 'MEMBER') from pg_shdepend d "
		              "join pg_roles a on a.oid = d.refobjid "
		              "where d.deptype = 'o' and d.refclassid = 'pg_authid'::regclass "
		              "and d.classid <> 'pg_default_acl'::regclass "
		              "and (d.dbid = (select oid from pg_database where datname = "
		              "current_database()) or (d.dbid = 0 and d.classid = "
		              "'pg_database'::regclass and d.objid = (select oid from pg_database "
		              "where datname = current_database()))) "
		              "and a.rolname <> current_user order by 1",
		              0, NULL, &r);
	for (int k = 0; rc == 0 && r && k < pg_nrows(r); k++) {
		const char *owner = pg_value(r, k, 0);
		bool super = strcmp(pg_value(r, k, 1), "t") == 0;
		bool member = strcmp(pg_value(r, k, 2), "t") == 0;
		if (super || (!member && !cc->admin_superuser) || owner[0] == 0 ||
		    pw_startswith(owner, "pg_")) {
			json_array_append_new(left, json_string(owner));
			continue;
		}
		char *qo = pg_quote_ident(cc->pg, owner);
		pw_buf_printf(&b, "reassign owned by %s to %s\n", qo, qa);
		pw_free(qo);
		json_array_append_new(reassigned, json_string(owner));
	}
	pg_result_free(r);
	if (rc == 0)
		rc = exec_buf(cc, &b);
	pw_buf_free(&b, 0);
	pw_free(qa);
	rc = cred_end(cc, rc);
	json_object_set_new(report, "reassigned_from", reassigned);
	json_object_set_new(report, "admin_option_on", granted);
	json_object_set_new(report, "not_reassignable", left);
	cred_list_free(all, n);
	return rc;
}

/* ---- rotation ---- */

int cred_rotate_create(struct cred_conn *cc, const char *name, const struct pw_secret *password,
                       long grace, bool force, const char *sealed)
{
	struct cred c;
	int rc = cred_get(cc, name, &c);
	if (rc < 0)
		return rc;
	rc = refuse_rotating(&c, "start another rotation of");
	char rot[80];
	cred_rot_role(name, rot, sizeof rot);
	bool exists = false;
	if (rc == 0)
		rc = role_exists(cc, rot, &exists, NULL);
	if (rc == 0 && exists) {
		pw_error(PW_E_CREDENTIAL, "role \"%s\" exists but no rotation is recorded", rot);
		rc =
		    pw_error_hint("Drop it (DROP ROLE \"%s\";) after checking nobody uses it, then "
		                  "rotate again.",
		                  rot);
	}
	long long now = 0;
	if (rc == 0)
		rc = cred_now(cc, &now, NULL, 0);
	if (rc == 0)
		rc = cred_begin(cc);
	if (rc < 0) {
		cred_clear(&c);
		return rc;
	}
	rc = create_login(cc, name, rot, password);
	if (rc == 0) {
		json_t *rot_meta = json_object();
		json_object_set_new(rot_meta, "step", json_string("created"));
		json_object_set_new(rot_meta, "started", json_integer(now));
		json_object_set_new(rot_meta, "step_at", json_integer(now));
		json_object_set_new(rot_meta, "grace", json_integer(grace));
		json_object_set_new(rot_meta, "force", json_boolean(force));
		json_object_set_new(c.meta, "state", json_string("rotating"));
		json_object_set_new(c.meta, "rotation", rot_meta);
		if (sealed)
			json_object_set_new(c.meta, "sealed_password_rotating",
			                    json_string(sealed));
		rc = cred_save_meta(cc, name, c.meta);
	}
	rc = cred_end(cc, rc);
	cred_clear(&c);
	return rc;
}

int cred_set_password(struct cred_conn *cc, const char *role, const struct pw_secret *password)
{
	char *verifier = NULL;
	int rc = pg_scram_verifier(cc->pg, role, password, &verifier);
	if (rc < 0)
		return rc;
	char *qr = pg_quote_ident(cc->pg, role);
	char *qv = pg_quote_literal(cc->pg, verifier);
	struct pw_buf b = PW_BUF_INIT(1 << 14);
	pw_buf_printf(&b, "alter role %s password %s\n", qr, qv);
	rc = exec_buf(cc, &b);
	pw_buf_free(&b, 1);
	pw_free(qr);
	pw_free(qv);
	OPENSSL_cleanse(verifier, strlen(verifier));
	pw_free(verifier);
	return rc;
}

int cred_count_sessions(struct cred_conn *cc, const char *role, long *out)
{
	char got[32];
	const char *p[1] = {role};
	int rc = q1(cc,
	            "select count(*) from pg_stat_activity where usename = $1 "
	            "and backend_type = 'client backend'",
	            1, p, got, sizeof got);
	*out = rc == 0 ? strtol(got, NULL, 10) : 0;
	return rc;
}

int cred_terminate(struct cred_conn *cc, const char *role, long *killed)
{
	char got[32];
	const char *p[1] = {role};
	int rc = q1(cc,
	            "select count(*) filter (where pg_terminate_backend(pid)) from "
	            "pg_stat_activity where usename = $1 and backend_type = 'client backend' "
	            "and pid <> pg_backend_pid()",
	            1, p, got, sizeof got);
	*killed = rc == 0 ? strtol(got, NULL, 10) : 0;
	return rc;
}

int cred_rotate_swap(struct cred_conn *cc, const char *name, const struct pw_secret *alias_password)
{
	struct cred c;
	int rc = cred_get(cc, name, &c);
	if (rc < 0)
		return rc;
	char priv[80], rot[80], now_iso[40];
	cred_priv_role(name, priv, sizeof priv);
	cred_rot_role(name, rot, sizeof rot);
	long long now = 0;
	rc = cred_now(cc, &now, now_iso, sizeof now_iso);
	if (rc == 0)
		rc = cred_begin(cc);
	if (rc < 0) {
		cred_clear(&c);
		return rc;
	}
	struct pw_buf b = PW_BUF_INIT(1 << 16);
	const char *old[1] = {name};
	/* what the old username owns goes to the privilege role (the credential keeps it) */
	rc = drop_roles(cc, old, 1, priv, &b);
	if (rc == 0) {
		char *qr = pg_quote_ident(cc->pg, rot);
		char *qn = pg_quote_ident(cc->pg, name);
		pw_buf_printf(&b, "alter role %s rename to %s\n", qr, qn);
		rc = exec_buf(cc, &b);
		pw_free(qr);
		pw_free(qn);
	}
	json_t *rm = json_object_get(c.meta, "rotation");
	if (rc == 0 && alias_password) {
		rc = create_login(cc, name, rot, alias_password);
		json_object_set_new(rm, "step", json_string("finishing"));
		json_object_set_new(rm, "step_at", json_integer(now));
	} else if (rc == 0) {
		json_object_set_new(c.meta, "state", json_string("active"));
		json_object_del(c.meta, "rotation");
	}
	if (rc == 0) {
		json_object_set_new(c.meta, "rotated", json_string(now_iso));
		json_t *s = json_object_get(c.meta, "sealed_password_rotating");
		if (s) {
			json_object_set(c.meta, "sealed_password", s);
			json_object_del(c.meta, "sealed_password_rotating");
		}
		rc = cred_save_meta(cc, name, c.meta);
	}
	pw_buf_free(&b, 0);
	rc = cred_end(cc, rc);
	cred_clear(&c);
	return rc;
}

int cred_rotate_finish(struct cred_conn *cc, const char *name)
{
	struct cred c;
	int rc = cred_get(cc, name, &c);
	if (rc < 0)
		return rc;
	char priv[80], rot[80];
	cred_priv_role(name, priv, sizeof priv);
	cred_rot_role(name, rot, sizeof rot);
	rc = cred_begin(cc);
	if (rc == 0) {
		struct pw_buf b = PW_BUF_INIT(1 << 16);
		const char *alias[1] = {rot};
		rc = drop_roles(cc, alias, 1, priv, &b);
		pw_buf_free(&b, 0);
	}
	if (rc == 0) {
		json_object_set_new(c.meta, "state", json_string("active"));
		json_object_del(c.meta, "rotation");
		rc = cred_save_meta(cc, name, c.meta);
	}
	rc = cred_end(cc, rc);
	cred_clear(&c);
	return rc;
}
