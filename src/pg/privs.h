/*
 * privs.h - the one privilege model: "what can role R change in this database".
 *
 * Read from the catalogs only (ACLs, owners, memberships, role attributes, settings), in
 * three statements whatever the number of objects, schema-qualified (pg_catalog.) and
 * safe with an empty search_path. Each finding names the object, the privilege, the role
 * through which it is held and a fix that is valid SQL: object names are quoted by the
 * server's quote_ident(), role names by libpq's PQescapeIdentifier (pg_quote_ident).
 *
 * The model reports; the caller decides what is allowed (a read-write credential may
 * write in its schemas, a backup role may write nowhere).
 */
#ifndef PW_PG_PRIVS_H
#define PW_PG_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

struct pg_conn;

enum pw_priv_kind {
	PW_PRIV_ATTRIBUTE,       /* SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS */
	PW_PRIV_TABLE,           /* INSERT/UPDATE/DELETE/TRUNCATE/TRIGGER/MAINTAIN on a relation */
	PW_PRIV_COLUMN,          /* INSERT/UPDATE on columns ("UPDATE (a, b)") */
	PW_PRIV_SEQUENCE,        /* UPDATE (setval) or USAGE (nextval) on a sequence */
	PW_PRIV_SCHEMA_CREATE,   /* CREATE on a schema */
	PW_PRIV_DATABASE_CREATE, /* CREATE on the database */
	PW_PRIV_OWNER, /* owns a table, sequence, view, schema, function, type, the database */
	PW_PRIV_LARGE_OBJECT, /* UPDATE on large objects, or owns them (privilege "OWNER") */
	PW_PRIV_LO_COMPAT,    /* lo_compat_privileges = on: every large object is writable */
	PW_PRIV_PREDEFINED,   /* pg_write_all_data, pg_write_server_files, ... */
	PW_PRIV_MEMBERSHIP,   /* member of a role (inherited or by SET ROLE) that can write */
};

enum pw_priv_path {
	PW_PATH_SELF,      /* granted to (or owned by) the role itself */
	PW_PATH_PUBLIC,    /* granted to PUBLIC */
	PW_PATH_INHERITED, /* through a role whose privileges it inherits */
	PW_PATH_SET_ROLE,  /* through a role it may SET ROLE to (NOINHERIT, or attributes) */
};

struct pw_priv_finding {
	enum pw_priv_kind kind;
	enum pw_priv_path path;
	char *objtype;   /* "TABLE", "SEQUENCE", "SCHEMA", "DATABASE", "LARGE OBJECT", "ROLE"... */
	char *object;    /* quoted, schema-qualified ("app"."T" is printed as app."T") */
	char *schema;    /* the schema's name, unquoted ("" when none): for callers' filters */
	char *privilege; /* "UPDATE", "INSERT, UPDATE", "UPDATE (name)", "OWNER", "CREATEDB" */
	char *via;       /* the role holding it, unquoted ("PUBLIC" for PUBLIC) */
	long long count; /* large objects: how many; membership: how many objects through it */
	bool role_setting; /* membership: the role's ALTER ROLE ... SET role names this role */
	char *fix;         /* valid SQL that removes this write path */
};

struct pw_privs {
	struct pw_priv_finding *f;
	size_t n;
	char role[128];     /* the role examined */
	char database[128]; /* current_database() */
	bool superuser;     /* then f holds only the SUPERUSER finding: everything is implied */
};

/* What role can change in the connected database (role NULL: session_user, which is the
 * login role even when an ALTER ROLE ... SET role switched current_user). */
int pw_privs_scan(struct pg_conn *c, const char *role, struct pw_privs *out);
void pw_privs_free(struct pw_privs *p);
/* wal-stream's model: a REPLICATION role may change nothing else. The scan of the connected
 * database, without the role's own REPLICATION attribute (*replication says whether it
 * holds it); what remains is every write path, as for a backup role. */
int pw_privs_scan_replication(struct pg_conn *c, struct pw_privs *out, bool *replication);

/* "UPDATE on app.t", "USAGE on SEQUENCE app.s", "CREATE on SCHEMA app", "CREATEDB",
 * "OWNER of TABLE app.t": the finding as a phrase (allocated). */
char *pw_priv_describe(const struct pw_priv_finding *f);
/* "granted to PUBLIC", "through membership in \"w\" (inherited)"... (static). */
const char *pw_priv_path_name(enum pw_priv_path p);

/* ---- pure helpers (unit-tested without a server) ---- */

/* Inputs of a fix: identifiers already quoted (qobject by quote_ident, the roles by
 * PQescapeIdentifier); qvia is "PUBLIC" for PUBLIC. */
struct pw_priv_fix_in {
	enum pw_priv_kind kind;
	const char *objtype;
	const char *qobject;
	const char *privilege;
	const char *qrole;      /* the role examined */
	const char *qvia;       /* grantee / owner / the role reached through membership */
	const char *qhops;      /* membership: the roles granted directly to the role, listed */
	const char *qdatabase;  /* current database */
	const char *qnew_owner; /* OWNER: the role to give the object to ("CURRENT_USER" ok) */
	bool role_setting;
	/* large objects: the oids (", "-separated) when count <= PW_PRIV_LO_LIST, otherwise
	 * the fix is a DO block that finds them itself by grantee_oid / role_oid */
	const char *lo_oids;
	long long count;
	const char *via_oid;  /* the grantee's oid ("0" for PUBLIC) */
	const char *role_oid; /* the examined role's oid */
};
#define PW_PRIV_LO_LIST 50
/* The fix as SQL (allocated). */
char *pw_priv_fix(const struct pw_priv_fix_in *in);
/* For the preflight's completeness check: SQL granting SELECT on the large objects that
 * role (oid role_oid, quoted qrole) cannot read: the oids listed when count is at most
 * PW_PRIV_LO_LIST, a DO block otherwise (allocated). */
char *pw_priv_lo_read_fix(const char *lo_oids, long long count, const char *qrole,
                          const char *role_oid);

#endif
