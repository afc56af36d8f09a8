/* privs.c - the one privilege model: what can a role change in this database (see privs.h). */
#include "pg/privs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "pg/pg.h"

#define FIX_CAP (1 << 16)

/* ---- the SQL: three statements, catalogs only, every name schema-qualified ---- */

/* The examined role, the database and its owner, lo_compat_privileges. $1: the role's name
 * (NULL: session_user). */
static const char SQL_SUBJECT[] =
    "select r.oid, r.rolname, r.rolsuper, pg_catalog.current_database(), "
    "d.datdba, pg_catalog.pg_get_userbyid(d.datdba), "
    "pg_catalog.pg_has_role(r.oid, d.datdba, 'MEMBER'), "
    "pg_catalog.current_setting('lo_compat_privileges'), "
    "pg_catalog.quote_ident(pg_catalog.current_database()) "
    "from pg_catalog.pg_roles r, pg_catalog.pg_database d "
    "where r.rolname = coalesce($1::pg_catalog.name, session_user) "
    "and d.datname = pg_catalog.current_database()";

/* Every role the examined role ($1, an oid) can act as: itself, the roles whose privileges it
 * inherits and the roles it may SET ROLE to. %s: the reachability test of role x.oid. */
static const char SQL_REACH[] =
    "select x.rolname, x.oid, x.oid = $1::pg_catalog.oid, "
    "pg_catalog.pg_has_role($1::pg_catalog.oid, x.oid, 'USAGE'), "
    "x.rolsuper, x.rolcreaterole, x.rolcreatedb, x.rolreplication, x.rolbypassrls, "
    "coalesce((select pg_catalog.string_agg(pg_catalog.quote_ident(h.rolname), ', ' "
    "order by h.rolname) from pg_catalog.pg_auth_members am join pg_catalog.pg_roles h "
    "on h.oid = am.roleid where am.member = $1::pg_catalog.oid "
    "and pg_catalog.pg_has_role(am.roleid, x.oid, 'MEMBER')), ''), "
    "exists (select 1 from pg_catalog.pg_db_role_setting s "
    "cross join lateral pg_catalog.unnest(s.setconfig) g(c) "
    "where s.setrole = $1::pg_catalog.oid and s.setdatabase in (0, (select d.oid from "
    "pg_catalog.pg_database d where d.datname = pg_catalog.current_database())) "
    "and g.c = 'role=' operator(pg_catalog.||) x.rolname::pg_catalog.text) "
    "from pg_catalog.pg_roles x where ";
static const char SQL_REACH_END[] = " order by 3 desc, 1";

/* Every write path held by a role of the reach set ($1, an oid[]) or by PUBLIC (grantee 0,
 * in $1 too): grants in
 * ACLs (the owner's own entries excluded: ownership is reported instead) and ownership.
 * Columns: kind, object type, quoted object, schema, privilege, holder oid, count. */
static const char *const SQL_WRITES[] = {
    "with r as (select n.oid, n.nspname, n.nspowner, n.nspacl, "
    "pg_catalog.quote_ident(n.nspname) as q from pg_catalog.pg_namespace n "
    "where n.nspname <> 'information_schema' "
    "and n.nspname operator(pg_catalog.!~) '^pg_'), "
    "rel as (select c.oid, c.relkind, c.relowner, c.relacl, r.nspname, "
    "r.q operator(pg_catalog.||) '.' operator(pg_catalog.||) "
    "pg_catalog.quote_ident(c.relname) as q "
    "from pg_catalog.pg_class c join r on r.oid = c.relnamespace "
    "where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')) "
    /* table and sequence grants */
    "select * from (select 'grant' as k, case when rel.relkind = 'S' then 'SEQUENCE' else "
    "'TABLE' end as objtype, rel.q as object, rel.nspname as schema, "
    "pg_catalog.string_agg(a.privilege_type, ', ' order by a.privilege_type) as privilege, "
    "a.grantee as holder, 0::pg_catalog.int8 as n "
    "from rel cross join lateral pg_catalog.aclexplode(rel.relacl) a "
    "where a.grantee = any ($1::pg_catalog.oid[]) and a.grantee <> rel.relowner "
    "and a.privilege_type = any (case when rel.relkind = 'S' "
    "then '{UPDATE,USAGE}'::pg_catalog.text[] "
    "else '{INSERT,UPDATE,DELETE,TRUNCATE,TRIGGER,MAINTAIN}'::pg_catalog.text[] end) "
    "group by 2, 3, 4, 6 ",
    /* column grants: "UPDATE (a, b), INSERT (c)" */
    "union all select 'column', 'TABLE', g.q, g.nspname, "
    "pg_catalog.string_agg(g.p, ', ' order by g.p), g.grantee, 0 from ("
    "select rel.q, rel.nspname, a.grantee, a.privilege_type operator(pg_catalog.||) ' (' "
    "operator(pg_catalog.||) pg_catalog.string_agg(pg_catalog.quote_ident(att.attname), "
    "', ' order by att.attnum) operator(pg_catalog.||) ')' as p "
    "from rel join pg_catalog.pg_attribute att on att.attrelid = rel.oid "
    "and att.attnum > 0 and not att.attisdropped "
    "cross join lateral pg_catalog.aclexplode(att.attacl) a "
    "where rel.relkind <> 'S' and a.grantee = any ($1::pg_catalog.oid[]) "
    "and a.grantee <> rel.relowner and a.privilege_type in ('INSERT', 'UPDATE') "
    "group by rel.q, rel.nspname, a.grantee, a.privilege_type) g group by 3, 4, 6 ",
    /* CREATE on schemas and on the database */
    "union all select 'create', 'SCHEMA', r.q, r.nspname, 'CREATE', a.grantee, 0 "
    "from r cross join lateral pg_catalog.aclexplode(r.nspacl) a "
    "where a.privilege_type = 'CREATE' and a.grantee = any ($1::pg_catalog.oid[]) "
    "and a.grantee <> r.nspowner "
    "union all select 'create', 'DATABASE', pg_catalog.quote_ident(d.datname), '', "
    "'CREATE', a.grantee, 0 "
    "from pg_catalog.pg_database d cross join lateral pg_catalog.aclexplode(d.datacl) a "
    "where d.datname = pg_catalog.current_database() and a.privilege_type = 'CREATE' "
    "and a.grantee = any ($1::pg_catalog.oid[]) and a.grantee <> d.datdba ",
    /* ownership */
    "union all select 'owner', case rel.relkind when 'S' then 'SEQUENCE' when 'v' then "
    "'VIEW' when 'm' then 'MATERIALIZED VIEW' when 'f' then 'FOREIGN TABLE' else 'TABLE' "
    "end, rel.q, rel.nspname, 'OWNER', rel.relowner, 0 from rel "
    "where rel.relowner = any ($1::pg_catalog.oid[]) "
    /* a sequence linked to a table (serial, identity) follows the table's owner */
    "and not (rel.relkind = 'S' and exists (select 1 from pg_catalog.pg_depend d "
    "where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = rel.oid "
    "and d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
    "and d.deptype in ('a', 'i'))) "
    "union all select 'owner', 'SCHEMA', r.q, r.nspname, 'OWNER', r.nspowner, 0 from r "
    "where r.nspowner = any ($1::pg_catalog.oid[]) "
    "union all select 'owner', case p.prokind when 'p' then 'PROCEDURE' when 'a' then "
    "'AGGREGATE' else 'FUNCTION' end, r.q operator(pg_catalog.||) '.' "
    "operator(pg_catalog.||) pg_catalog.quote_ident(p.proname) operator(pg_catalog.||) '(' "
    "operator(pg_catalog.||) pg_catalog.pg_get_function_identity_arguments(p.oid) "
    "operator(pg_catalog.||) ')', r.nspname, 'OWNER', p.proowner, 0 "
    "from pg_catalog.pg_proc p join r on r.oid = p.pronamespace "
    "where p.proowner = any ($1::pg_catalog.oid[]) "
    "union all select 'owner', case t.typtype when 'd' then 'DOMAIN' else 'TYPE' end, "
    "r.q operator(pg_catalog.||) '.' operator(pg_catalog.||) "
    "pg_catalog.quote_ident(t.typname), r.nspname, 'OWNER', t.typowner, 0 "
    "from pg_catalog.pg_type t join r on r.oid = t.typnamespace "
    "where t.typowner = any ($1::pg_catalog.oid[]) and (t.typtype in ('d', 'e', 'r') or "
    "(t.typtype = 'c' and exists (select 1 from pg_catalog.pg_class k "
    "where k.oid = t.typrelid and k.relkind = 'c'))) "
    "union all select 'owner', 'DATABASE', pg_catalog.quote_ident(d.datname), '', 'OWNER', "
    "d.datdba, 0 from pg_catalog.pg_database d "
    "where d.datname = pg_catalog.current_database() "
    "and d.datdba = any ($1::pg_catalog.oid[]) ",
    /* large objects: UPDATE grants and ownership, one row per holder */
    "union all select 'lo', 'LARGE OBJECT', pg_catalog.array_to_string((pg_catalog.array_agg("
    "m.oid order by m.oid))[1:50], ', '), '', 'UPDATE', a.grantee, pg_catalog.count(*) "
    "from pg_catalog.pg_largeobject_metadata m "
    "cross join lateral pg_catalog.aclexplode(m.lomacl) a "
    "where a.privilege_type = 'UPDATE' and a.grantee = any ($1::pg_catalog.oid[]) "
    "and a.grantee <> m.lomowner group by a.grantee "
    "union all select 'lo', 'LARGE OBJECT', pg_catalog.array_to_string((pg_catalog.array_agg("
    "m.oid order by m.oid))[1:50], ', '), '', 'OWNER', m.lomowner, pg_catalog.count(*) "
    "from pg_catalog.pg_largeobject_metadata m "
    "where m.lomowner = any ($1::pg_catalog.oid[]) group by m.lomowner "
    ") u order by case when u.k = 'grant' and u.objtype = 'TABLE' then 0 when u.k = "
    "'column' then 1 when u.k = 'grant' then 2 when u.k = 'lo' then 3 when u.k = 'owner' "
    "then 4 else 5 end, u.object, u.holder"};

/* Roles that write through their membership alone (no grant in any ACL). */
static const char *const PREDEFINED[] = {"pg_write_all_data", "pg_write_server_files",
                                         "pg_execute_server_program"};

/* ---- pure parts ---- */

const char *pw_priv_path_name(enum pw_priv_path p)
{
	switch (p) {
	case PW_PATH_SELF:
		return "held by the role itself";
	case PW_PATH_PUBLIC:
		return "granted to PUBLIC";
	case PW_PATH_INHERITED:
		return "inherited through role membership";
	case PW_PATH_SET_ROLE:
		return "reachable by SET ROLE";
	}
	return "";
}

/* "ON x" target of a GRANT/REVOKE: tables need no keyword, the others do. */
static void grant_target(struct pw_buf *b, const char *objtype, const char *qobject)
{
	if (strcmp(objtype, "TABLE") == 0)
		pw_buf_printf(b, "%s", qobject);
	else
		pw_buf_printf(b, "%s %s", objtype, qobject);
}

static void lo_do_block(struct pw_buf *b, const char *where, const char *stmt_fmt,
                        const char *fmt_args)
{
	pw_buf_printf(b,
	              "DO $pgward$ DECLARE o pg_catalog.oid; BEGIN FOR o IN SELECT m.oid FROM "
	              "pg_catalog.pg_largeobject_metadata m WHERE %s LOOP EXECUTE "
	              "pg_catalog.format('%s', o, %s); END LOOP; END $pgward$;",
	              where, stmt_fmt, fmt_args);
}

char *pw_priv_fix(const struct pw_priv_fix_in *in)
{
	struct pw_buf b = PW_BUF_INIT(FIX_CAP);
	switch (in->kind) {
	case PW_PRIV_ATTRIBUTE:
		pw_buf_printf(&b, "ALTER ROLE %s NO%s;", in->qrole, in->privilege);
		break;
	case PW_PRIV_TABLE:
	case PW_PRIV_COLUMN:
	case PW_PRIV_SEQUENCE:
	case PW_PRIV_SCHEMA_CREATE:
	case PW_PRIV_DATABASE_CREATE:
		pw_buf_printf(&b, "REVOKE %s ON ", in->privilege);
		grant_target(&b, in->objtype, in->qobject);
		pw_buf_printf(&b, " FROM %s;", in->qvia);
		break;
	case PW_PRIV_OWNER:
		pw_buf_printf(&b, "ALTER %s %s OWNER TO %s;", in->objtype, in->qobject,
		              in->qnew_owner);
		break;
	case PW_PRIV_LARGE_OBJECT: {
		bool owner = strcmp(in->privilege, "OWNER") == 0;
		if (in->count <= PW_PRIV_LO_LIST && in->lo_oids && *in->lo_oids) {
			if (!owner) {
				pw_buf_printf(&b, "REVOKE UPDATE ON LARGE OBJECT %s FROM %s;",
				              in->lo_oids, in->qvia);
				break;
			}
			const char *p = in->lo_oids;
			while (*p) {
				size_t n = strcspn(p, ", ");
				if (n)
					pw_buf_printf(
					    &b,
					    "%sALTER LARGE OBJECT %.*s OWNER TO %s; GRANT "
					    "SELECT ON LARGE OBJECT %.*s TO %s;",
					    b.len ? " " : "", (int)n, p, in->qnew_owner, (int)n, p,
					    in->qrole);
				p += n;
				p += strspn(p, ", ");
			}
			break;
		}
		/* too many to list: a block that finds them itself (no name inside it) */
		char where[256], args[512];
		if (owner) {
			/* the new owner, then the role's read kept (the old owner's ACL entries
			 * move to the new owner) */
			snprintf(where, sizeof where, "m.lomowner = %s", in->via_oid);
			snprintf(args, sizeof args,
			         "%s, (SELECT pg_catalog.quote_ident(r.rolname) FROM "
			         "pg_catalog.pg_roles r WHERE r.oid = %s)",
			         strcmp(in->qnew_owner, "CURRENT_USER") == 0
			             ? "'CURRENT_USER'"
			             : "(SELECT pg_catalog.quote_ident(d.rolname) FROM "
			               "pg_catalog.pg_roles d JOIN pg_catalog.pg_database b ON "
			               "b.datdba = d.oid WHERE b.datname = "
			               "pg_catalog.current_database())",
			         in->role_oid);
			lo_do_block(&b, where,
			            "ALTER LARGE OBJECT %1$s OWNER TO %2$s; GRANT SELECT ON LARGE "
			            "OBJECT %1$s TO %3$s",
			            args);
		} else {
			snprintf(where, sizeof where,
			         "EXISTS (SELECT 1 FROM pg_catalog.aclexplode(m.lomacl) a WHERE "
			         "a.privilege_type = 'UPDATE' AND a.grantee = %s)",
			         in->via_oid);
			if (strcmp(in->via_oid, "0") == 0)
				snprintf(args, sizeof args, "'PUBLIC'");
			else
				snprintf(args, sizeof args,
				         "(SELECT pg_catalog.quote_ident(r.rolname) FROM "
				         "pg_catalog.pg_roles r WHERE r.oid = %s)",
				         in->via_oid);
			lo_do_block(&b, where, "REVOKE UPDATE ON LARGE OBJECT %s FROM %s", args);
		}
		break;
	}
	case PW_PRIV_LO_COMPAT:
		pw_buf_printf(&b, "ALTER DATABASE %s SET lo_compat_privileges = off;",
		              in->qdatabase);
		break;
	case PW_PRIV_PREDEFINED:
	case PW_PRIV_MEMBERSHIP:
		if (in->qhops && *in->qhops)
			pw_buf_printf(&b, "REVOKE %s FROM %s;", in->qhops, in->qrole);
		if (in->role_setting)
			pw_buf_printf(&b,
			              "%sALTER ROLE %s RESET role; ALTER ROLE %s IN DATABASE %s "
			              "RESET role;",
			              b.len ? " " : "", in->qrole, in->qrole, in->qdatabase);
		if (!b.len)
			pw_buf_printf(&b, "REVOKE %s FROM %s;", in->qvia, in->qrole);
		break;
	}
	const char *s = pw_buf_str(&b);
	char *r = pw_strdup(s);
	pw_buf_free(&b, 0);
	return r;
}

char *pw_priv_lo_read_fix(const char *lo_oids, long long count, const char *qrole,
                          const char *role_oid)
{
	struct pw_buf b = PW_BUF_INIT(FIX_CAP);
	if (count <= PW_PRIV_LO_LIST && lo_oids && *lo_oids) {
		pw_buf_printf(&b, "GRANT SELECT ON LARGE OBJECT %s TO %s;", lo_oids, qrole);
	} else {
		char where[512], args[160];
		snprintf(where, sizeof where,
		         "NOT pg_catalog.pg_has_role(%s, m.lomowner, 'USAGE') AND NOT EXISTS "
		         "(SELECT 1 FROM pg_catalog.aclexplode(m.lomacl) a WHERE a.privilege_type "
		         "= 'SELECT' AND (a.grantee = 0 OR pg_catalog.pg_has_role(%s, a.grantee, "
		         "'USAGE')))",
		         role_oid, role_oid);
		snprintf(args, sizeof args,
		         "(SELECT pg_catalog.quote_ident(r.rolname) FROM pg_catalog.pg_roles r "
		         "WHERE r.oid = %s)",
		         role_oid);
		lo_do_block(&b, where, "GRANT SELECT ON LARGE OBJECT %s TO %s", args);
	}
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

char *pw_priv_describe(const struct pw_priv_finding *f)
{
	struct pw_buf b = PW_BUF_INIT(FIX_CAP);
	switch (f->kind) {
	case PW_PRIV_ATTRIBUTE:
		pw_buf_printf(&b, "%s", f->privilege);
		break;
	case PW_PRIV_OWNER:
		pw_buf_printf(&b, "OWNER of %s %s", f->objtype, f->object);
		break;
	case PW_PRIV_LARGE_OBJECT:
		if (strcmp(f->privilege, "OWNER") == 0)
			pw_buf_printf(&b, "OWNER of %lld large object%s (%s%s)", f->count,
			              f->count == 1 ? "" : "s", f->object,
			              f->count > PW_PRIV_LO_LIST ? ", ..." : "");
		else
			pw_buf_printf(&b, "UPDATE on %lld large object%s (%s%s)", f->count,
			              f->count == 1 ? "" : "s", f->object,
			              f->count > PW_PRIV_LO_LIST ? ", ..." : "");
		break;
	case PW_PRIV_LO_COMPAT:
		pw_buf_printf(&b, "UPDATE on every large object (lo_compat_privileges = on)");
		break;
	case PW_PRIV_PREDEFINED:
		pw_buf_printf(&b, "membership in %s", f->via);
		break;
	case PW_PRIV_MEMBERSHIP:
		if (strcmp(f->objtype, "ROLE") == 0)
			pw_buf_printf(&b, "%s", f->privilege);
		else if (strcmp(f->privilege, "OWNER") == 0)
			pw_buf_printf(&b, "OWNER of %s %s", f->objtype, f->object);
		else {
			pw_buf_printf(&b, "%s on ", f->privilege);
			grant_target(&b, f->objtype, f->object);
		}
		if (f->count > 1)
			pw_buf_printf(&b, " and %lld more", f->count - 1);
		pw_buf_printf(&b, " through %s \"%s\"%s",
		              f->path == PW_PATH_INHERITED ? "membership in" : "SET ROLE to",
		              f->via, f->role_setting ? " (set by ALTER ROLE ... SET role)" : "");
		break;
	default:
		pw_buf_printf(&b, "%s on ", f->privilege);
		grant_target(&b, f->objtype, f->object);
		break;
	}
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

/* ---- the scan ---- */

struct reach_role {
	const char *name, *oid, *hops;
	bool self, inherited, setting;
	bool attr[5];
	size_t finding; /* index of its membership finding + 1 (0: none yet) */
};

static const char *const ATTRS[5] = {"SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION",
                                     "BYPASSRLS"};

static struct pw_priv_finding *push(struct pw_privs *p)
{
	p->f = pw_realloc(p->f, (p->n + 1) * sizeof *p->f);
	struct pw_priv_finding *f = &p->f[p->n++];
	memset(f, 0, sizeof *f);
	return f;
}

static void set_strs(struct pw_priv_finding *f, const char *objtype, const char *object,
                     const char *schema, const char *privilege, const char *via)
{
	f->objtype = pw_strdup(objtype);
	f->object = pw_strdup(object);
	f->schema = pw_strdup(schema);
	f->privilege = pw_strdup(privilege);
	f->via = pw_strdup(via);
}

struct ctx {
	struct pg_conn *c;
	struct pw_privs *p;
	char *qrole, *qdb, *qnew_owner;
	const char *role_oid;
	bool dbowner_reached;
};

static void add_membership(struct ctx *x, struct reach_role *g, const char *objtype,
                           const char *object, const char *schema, const char *privilege,
                           enum pw_priv_kind kind)
{
	if (g->finding) {
		struct pw_priv_finding *m = &x->p->f[g->finding - 1];
		m->count++;
		if (strcmp(m->objtype, "ROLE") == 0 && strcmp(objtype, "ROLE") != 0) {
			/* an object is the better example of what the membership gives */
			pw_free(m->objtype);
			pw_free(m->object);
			pw_free(m->schema);
			pw_free(m->privilege);
			m->objtype = pw_strdup(objtype);
			m->object = pw_strdup(object);
			m->schema = pw_strdup(schema);
			m->privilege = pw_strdup(privilege);
		}
		return;
	}
	struct pw_priv_finding *f = push(x->p);
	g->finding = x->p->n;
	f->kind = kind;
	f->path = g->inherited ? PW_PATH_INHERITED : PW_PATH_SET_ROLE;
	f->count = 1;
	f->role_setting = g->setting;
	set_strs(f, objtype, object, schema, privilege, g->name);
	char *qvia = pg_quote_ident(x->c, g->name);
	struct pw_priv_fix_in in = {.kind = kind,
	                            .qrole = x->qrole,
	                            .qvia = qvia,
	                            .qhops = g->hops,
	                            .qdatabase = x->qdb,
	                            .role_setting = g->setting};
	f->fix = pw_priv_fix(&in);
	pw_free(qvia);
}

static enum pw_priv_kind kind_of(const char *k, const char *objtype)
{
	if (strcmp(k, "grant") == 0)
		return strcmp(objtype, "SEQUENCE") == 0 ? PW_PRIV_SEQUENCE : PW_PRIV_TABLE;
	if (strcmp(k, "column") == 0)
		return PW_PRIV_COLUMN;
	if (strcmp(k, "create") == 0)
		return strcmp(objtype, "SCHEMA") == 0 ? PW_PRIV_SCHEMA_CREATE
		                                      : PW_PRIV_DATABASE_CREATE;
	if (strcmp(k, "lo") == 0)
		return PW_PRIV_LARGE_OBJECT;
	return PW_PRIV_OWNER;
}

static int scan(struct ctx *x, bool v16)
{
	struct pw_privs *p = x->p;
	char reach[256];
	if (v16)
		snprintf(reach, sizeof reach,
		         "(pg_catalog.pg_has_role($1::pg_catalog.oid, x.oid, 'USAGE') or "
		         "pg_catalog.pg_has_role($1::pg_catalog.oid, x.oid, 'SET'))");
	else
		snprintf(reach, sizeof reach,
		         "pg_catalog.pg_has_role($1::pg_catalog.oid, x.oid, 'MEMBER')");
	const char *params[1] = {x->role_oid};
	struct pg_result *rr = NULL, *wr = NULL;
	struct pw_buf sql = PW_BUF_INIT(1 << 16);
	pw_buf_printf(&sql, "%s%s%s", SQL_REACH, reach, SQL_REACH_END);
	int rc = pg_query(x->c, pw_buf_str(&sql), 1, params, &rr);
	pw_buf_reset(&sql);
	if (rc < 0) {
		pw_buf_free(&sql, 0);
		return rc;
	}
	int nr = pg_nrows(rr);
	struct reach_role *roles = pw_calloc((size_t)nr + 1, sizeof *roles);
	for (int i = 0; i < nr; i++) {
		struct reach_role *g = &roles[i];
		g->name = pg_value(rr, i, 0);
		g->oid = pg_value(rr, i, 1);
		g->self = *pg_value(rr, i, 2) == 't';
		g->inherited = *pg_value(rr, i, 3) == 't';
		for (int a = 0; a < 5; a++)
			g->attr[a] = *pg_value(rr, i, 4 + a) == 't';
		g->hops = pg_value(rr, i, 9);
		g->setting = *pg_value(rr, i, 10) == 't';
	}
	/* attributes: the role's own, and those of roles it may SET ROLE to */
	for (int i = 0; i < nr; i++) {
		struct reach_role *g = &roles[i];
		for (int a = 0; a < 5; a++) {
			if (!g->attr[a])
				continue;
			if (g->self) {
				struct pw_priv_finding *f = push(p);
				f->kind = PW_PRIV_ATTRIBUTE;
				f->path = PW_PATH_SELF;
				set_strs(f, "ROLE", x->qrole, "", ATTRS[a], g->name);
				struct pw_priv_fix_in in = {.kind = PW_PRIV_ATTRIBUTE,
				                            .qrole = x->qrole,
				                            .privilege = ATTRS[a]};
				f->fix = pw_priv_fix(&in);
			} else if (a != 4) { /* BYPASSRLS of another role is not reachable */
				char *q = pg_quote_ident(x->c, g->name);
				add_membership(x, g, "ROLE", q, "", ATTRS[a], PW_PRIV_MEMBERSHIP);
				pw_free(q);
			}
		}
		for (size_t k = 0; k < sizeof PREDEFINED / sizeof *PREDEFINED; k++)
			if (!g->self && strcmp(g->name, PREDEFINED[k]) == 0) {
				char *q = pg_quote_ident(x->c, g->name);
				add_membership(x, g, "ROLE", q, "", g->name, PW_PRIV_PREDEFINED);
				pw_free(q);
			}
	}
	for (size_t k = 0; k < sizeof SQL_WRITES / sizeof *SQL_WRITES; k++)
		pw_buf_printf(&sql, "%s", SQL_WRITES[k]);
	/* the reach set as an oid[] (0: PUBLIC); oids are digits, nothing to escape */
	struct pw_buf arr = PW_BUF_INIT(1 << 20);
	pw_buf_printf(&arr, "{0");
	for (int i = 0; i < nr; i++)
		pw_buf_printf(&arr, ",%s", roles[i].oid);
	pw_buf_putc(&arr, '}');
	const char *wparams[1] = {pw_buf_str(&arr)};
	rc = pg_query(x->c, pw_buf_str(&sql), 1, wparams, &wr);
	pw_buf_free(&arr, 0);
	pw_buf_free(&sql, 0);
	for (int i = 0; rc == 0 && i < pg_nrows(wr); i++) {
		const char *k = pg_value(wr, i, 0), *objtype = pg_value(wr, i, 1),
		           *object = pg_value(wr, i, 2), *schema = pg_value(wr, i, 3),
		           *priv = pg_value(wr, i, 4), *holder = pg_value(wr, i, 5);
		long long count = strtoll(pg_value(wr, i, 6), NULL, 10);
		enum pw_priv_kind kind = kind_of(k, objtype);
		struct reach_role *g = NULL;
		for (int j = 0; j < nr && strcmp(holder, "0") != 0; j++)
			if (strcmp(roles[j].oid, holder) == 0)
				g = &roles[j];
		if (strcmp(holder, "0") != 0 && !g)
			continue; /* not reachable (cannot happen: same test in both statements) */
		if (g && strcmp(g->name, "pg_database_owner") == 0)
			continue; /* the database's owner: reported as OWNER of the DATABASE */
		if (g && !g->self) {
			add_membership(x, g, objtype, object, schema, priv, PW_PRIV_MEMBERSHIP);
			continue;
		}
		struct pw_priv_finding *f = push(p);
		f->kind = kind;
		f->path = g ? PW_PATH_SELF : PW_PATH_PUBLIC;
		f->count = kind == PW_PRIV_LARGE_OBJECT ? count : 1;
		set_strs(f, objtype, object, schema, priv, g ? g->name : "PUBLIC");
		char *qvia = g ? pg_quote_ident(x->c, g->name) : pw_strdup("PUBLIC");
		struct pw_priv_fix_in in = {.kind = kind,
		                            .objtype = objtype,
		                            .qobject = object,
		                            .privilege = priv,
		                            .qrole = x->qrole,
		                            .qvia = qvia,
		                            .qdatabase = x->qdb,
		                            .qnew_owner = x->qnew_owner,
		                            .lo_oids = object,
		                            .count = count,
		                            .via_oid = holder,
		                            .role_oid = x->role_oid};
		f->fix = pw_priv_fix(&in);
		pw_free(qvia);
	}
	pg_result_free(wr);
	pg_result_free(rr);
	pw_free(roles);
	return rc;
}

int pw_privs_scan(struct pg_conn *c, const char *role, struct pw_privs *out)
{
	memset(out, 0, sizeof *out);
	struct pg_result *r = NULL;
	const char *params[1] = {role};
	int rc = pg_query(c, SQL_SUBJECT, 1, params, &r);
	if (rc < 0)
		return rc;
	if (pg_nrows(r) != 1) {
		pg_result_free(r);
		pw_error(PW_E_DB, "role \"%s\" not found in pg_roles",
		         role ? role : "session_user");
		return pw_error_hint("Check the role name; privileges are read from the catalogs.");
	}
	struct ctx x = {.c = c, .p = out};
	pw_strlcpy(out->role, pg_value(r, 0, 1), sizeof out->role);
	pw_strlcpy(out->database, pg_value(r, 0, 3), sizeof out->database);
	out->superuser = *pg_value(r, 0, 2) == 't';
	x.role_oid = pg_value(r, 0, 0);
	x.qrole = pg_quote_ident(c, out->role);
	x.qdb = pw_strdup(pg_value(r, 0, 8));
	x.dbowner_reached = *pg_value(r, 0, 6) == 't';
	x.qnew_owner =
	    x.dbowner_reached ? pw_strdup("CURRENT_USER") : pg_quote_ident(c, pg_value(r, 0, 5));
	bool lo_compat = strcmp(pg_value(r, 0, 7), "on") == 0;
	if (out->superuser) {
		/* a superuser can do everything: the one finding says it all */
		struct pw_priv_finding *f = push(out);
		f->kind = PW_PRIV_ATTRIBUTE;
		set_strs(f, "ROLE", x.qrole, "", "SUPERUSER", out->role);
		struct pw_priv_fix_in in = {
		    .kind = PW_PRIV_ATTRIBUTE, .qrole = x.qrole, .privilege = "SUPERUSER"};
		f->fix = pw_priv_fix(&in);
	} else {
		if (lo_compat) {
			struct pw_priv_finding *f = push(out);
			f->kind = PW_PRIV_LO_COMPAT;
			f->path = PW_PATH_PUBLIC;
			set_strs(f, "LARGE OBJECT", "", "", "UPDATE", "PUBLIC");
			struct pw_priv_fix_in in = {.kind = PW_PRIV_LO_COMPAT, .qdatabase = x.qdb};
			f->fix = pw_priv_fix(&in);
		}
		rc = scan(&x, pg_server_version(c) >= 160000);
	}
	pg_result_free(r);
	pw_free(x.qrole);
	pw_free(x.qdb);
	pw_free(x.qnew_owner);
	if (rc < 0)
		pw_privs_free(out);
	return rc;
}

void pw_privs_free(struct pw_privs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct pw_priv_finding *f = &p->f[i];
		pw_free(f->objtype);
		pw_free(f->object);
		pw_free(f->schema);
		pw_free(f->privilege);
		pw_free(f->via);
		pw_free(f->fix);
	}
	pw_free(p->f);
	memset(p, 0, sizeof *p);
}

int pw_privs_scan_replication(struct pg_conn *c, struct pw_privs *out, bool *replication)
{
	*replication = false;
	int rc = pw_privs_scan(c, NULL, out);
	if (rc < 0)
		return rc;
	size_t k = 0;
	for (size_t i = 0; i < out->n; i++) {
		struct pw_priv_finding *f = &out->f[i];
		if (f->kind == PW_PRIV_ATTRIBUTE && f->path == PW_PATH_SELF &&
		    strcmp(f->privilege, "REPLICATION") == 0) {
			*replication = true;
			pw_free(f->objtype);
			pw_free(f->object);
			pw_free(f->schema);
			pw_free(f->privilege);
			pw_free(f->via);
			pw_free(f->fix);
			continue;
		}
		out->f[k++] = *f;
	}
	out->n = k;
	return 0;
}
