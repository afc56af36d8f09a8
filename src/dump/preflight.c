/* preflight.c - read-only proof and completeness checks, all from the catalogs. */
#include "dump/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "pg/pg.h"

#define MAX_FINDINGS 25

static void add(struct preflight *p, enum finding_kind k, const char *what, const char *fix)
{
	if (p->n >= MAX_FINDINGS) {
		p->more++;
		return;
	}
	p->f = pw_realloc(p->f, (p->n + 1) * sizeof *p->f);
	struct finding *f = &p->f[p->n++];
	f->kind = k;
	pw_strlcpy(f->what, what, sizeof f->what);
	pw_strlcpy(f->fix, fix, sizeof f->fix);
}

static const char *SYS = "n.nspname not in ('pg_catalog', 'information_schema') and "
                         "n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'";

static int rows(struct pg_conn *c, const char *sql, struct pg_result **r)
{
	return pg_query(c, sql, 0, NULL, r);
}

int preflight_run(struct pg_conn *c, struct preflight *p)
{
	memset(p, 0, sizeof *p);
	struct pg_result *r = NULL;
	char sql[2048], what[512], fix[512];
	int rc =
	    rows(c,
	         "select r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, "
	         "current_database(), pg_database_size(current_database()), "
	         "has_database_privilege(current_database(), 'CREATE'), "
	         "has_database_privilege(current_database(), 'TEMP') "
	         "from pg_roles r where r.rolname = current_user",
	         &r);
	if (rc < 0)
		return rc;
	if (pg_nrows(r) != 1) {
		pg_result_free(r);
		return pw_error(PW_E_DB, "cannot read the current role from pg_roles");
	}
	pw_strlcpy(p->role, pg_value(r, 0, 0), sizeof p->role);
	pw_strlcpy(p->database, pg_value(r, 0, 5), sizeof p->database);
	p->database_size = strtoll(pg_value(r, 0, 6), NULL, 10);
	bool super = *pg_value(r, 0, 1) == 't', createrole = *pg_value(r, 0, 2) == 't',
	     createdb = *pg_value(r, 0, 3) == 't', bypassrls = *pg_value(r, 0, 4) == 't',
	     dbcreate = *pg_value(r, 0, 7) == 't';
	pg_result_free(r);
	p->superuser = super;
	p->can_dump_globals = true; /* pg_dumpall --no-role-passwords reads pg_roles only */
	if (super) {
		snprintf(what, sizeof what, "role \"%s\" is a superuser", p->role);
		snprintf(fix, sizeof fix,
		         "back up with a read-only role: CREATE ROLE backup LOGIN PASSWORD '...'; "
		         "GRANT pg_read_all_data TO backup;");
		add(p, F_PRIVILEGE, what, fix);
	}
	if (createrole) {
		snprintf(what, sizeof what, "role \"%s\" has CREATEROLE", p->role);
		snprintf(fix, sizeof fix, "ALTER ROLE \"%s\" NOCREATEROLE;", p->role);
		add(p, F_PRIVILEGE, what, fix);
	}
	if (createdb) {
		snprintf(what, sizeof what, "role \"%s\" has CREATEDB", p->role);
		snprintf(fix, sizeof fix, "ALTER ROLE \"%s\" NOCREATEDB;", p->role);
		add(p, F_PRIVILEGE, what, fix);
	}
	if (dbcreate && !super) {
		snprintf(what, sizeof what, "role \"%s\" may CREATE in database \"%s\"", p->role,
		         p->database);
		snprintf(fix, sizeof fix, "REVOKE CREATE ON DATABASE \"%s\" FROM \"%s\", PUBLIC;",
		         p->database, p->role);
		add(p, F_PRIVILEGE, what, fix);
	}
	if (super) /* everything below is implied; the list would only be noise */
		return 0;

	/* write privileges on relations (membership included) */
	snprintf(sql, sizeof sql,
	         "select n.nspname, c.relname, string_agg(p.priv, ', ' order by p.priv) "
	         "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
	         "cross join (values ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) p(priv) "
	         "where c.relkind in ('r', 'p', 'v', 'f', 'm') and %s "
	         "and has_table_privilege(c.oid, p.priv) group by 1, 2 order by 1, 2",
	         SYS);
	if ((rc = rows(c, sql, &r)) < 0)
		return rc;
	for (int i = 0; i < pg_nrows(r); i++) {
		snprintf(what, sizeof what, "role \"%s\" holds %s on \"%s\".\"%s\"", p->role,
		         pg_value(r, i, 2), pg_value(r, i, 0), pg_value(r, i, 1));
		snprintf(fix, sizeof fix, "REVOKE %s ON \"%s\".\"%s\" FROM \"%s\";",
		         pg_value(r, i, 2), pg_value(r, i, 0), pg_value(r, i, 1), p->role);
		add(p, F_PRIVILEGE, what, fix);
	}
	pg_result_free(r);

	/* CREATE on schemas */
	snprintf(sql, sizeof sql,
	         "select n.nspname from pg_namespace n where %s "
	         "and has_schema_privilege(n.oid, 'CREATE') order by 1",
	         SYS);
	if ((rc = rows(c, sql, &r)) < 0)
		return rc;
	for (int i = 0; i < pg_nrows(r); i++) {
		snprintf(what, sizeof what, "role \"%s\" may CREATE in schema \"%s\"", p->role,
		         pg_value(r, i, 0));
		snprintf(fix, sizeof fix, "REVOKE CREATE ON SCHEMA \"%s\" FROM \"%s\", PUBLIC;",
		         pg_value(r, i, 0), p->role);
		add(p, F_PRIVILEGE, what, fix);
	}
	pg_result_free(r);

	/* owned objects: relations, schemas, functions (an owner can always change them) */
	snprintf(sql, sizeof sql,
	         "select 'table', n.nspname || '.' || c.relname from pg_class c "
	         "join pg_namespace n on n.oid = c.relnamespace "
	         "where %s and pg_has_role(c.relowner, 'USAGE') and c.relkind not in ('i', 'I', "
	         "'t', 'c') "
	         "union all select 'schema', n.nspname from pg_namespace n "
	         "where %s and pg_has_role(n.nspowner, 'USAGE') and n.nspname <> 'public' "
	         "union all select 'function', n.nspname || '.' || p.proname from pg_proc p "
	         "join pg_namespace n on n.oid = p.pronamespace "
	         "where %s and pg_has_role(p.proowner, 'USAGE') order by 1, 2",
	         SYS, SYS, SYS);
	if ((rc = rows(c, sql, &r)) < 0)
		return rc;
	for (int i = 0; i < pg_nrows(r); i++) {
		snprintf(what, sizeof what, "role \"%s\" owns %s %s", p->role, pg_value(r, i, 0),
		         pg_value(r, i, 1));
		snprintf(fix, sizeof fix, "ALTER %s %s OWNER TO <the application's role>;",
		         strcmp(pg_value(r, i, 0), "table") == 0 ? "TABLE" : pg_value(r, i, 0),
		         pg_value(r, i, 1));
		for (char *q = fix; *q && q < fix + 16; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 32);
		add(p, F_PRIVILEGE, what, fix);
	}
	pg_result_free(r);

	/* completeness: everything pg_dump reads must be readable, and not filtered by RLS */
	snprintf(sql, sizeof sql,
	         "select n.nspname, c.relname, case c.relkind when 'S' then 'sequence' else "
	         "'table' end, "
	         "has_table_privilege(c.oid, 'SELECT'), c.relrowsecurity "
	         "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
	         "where c.relkind in ('r', 'p', 'S') and %s "
	         "and (not has_table_privilege(c.oid, 'SELECT') or c.relrowsecurity) order by 1, 2",
	         SYS);
	if ((rc = rows(c, sql, &r)) < 0)
		return rc;
	for (int i = 0; i < pg_nrows(r); i++) {
		bool readable = *pg_value(r, i, 3) == 't';
		bool rls = *pg_value(r, i, 4) == 't';
		if (!readable) {
			snprintf(what, sizeof what, "role \"%s\" cannot read %s \"%s\".\"%s\"",
			         p->role, pg_value(r, i, 2), pg_value(r, i, 0), pg_value(r, i, 1));
			snprintf(fix, sizeof fix,
			         "GRANT SELECT ON \"%s\".\"%s\" TO \"%s\"; (or GRANT "
			         "pg_read_all_data TO \"%s\";)",
			         pg_value(r, i, 0), pg_value(r, i, 1), p->role, p->role);
			add(p, F_INCOMPLETE, what, fix);
		} else if (rls && !bypassrls) {
			snprintf(what, sizeof what,
			         "table \"%s\".\"%s\" has row-level security and role \"%s\" lacks "
			         "BYPASSRLS: the dump would silently miss rows",
			         pg_value(r, i, 0), pg_value(r, i, 1), p->role);
			snprintf(fix, sizeof fix,
			         "ALTER ROLE \"%s\" BYPASSRLS; (as a superuser; it "
			         "grants no write)",
			         p->role);
			add(p, F_INCOMPLETE, what, fix);
		}
	}
	pg_result_free(r);

	/* large objects: pg_read_all_data does not cover them */
	rc = rows(
	    c,
	    "select count(*), string_agg(m.oid::text, ', ' order by m.oid) filter (where true) "
	    "from pg_largeobject_metadata m "
	    "where current_setting('lo_compat_privileges') = 'off' "
	    "and not pg_has_role(m.lomowner, 'USAGE') "
	    "and not exists (select 1 from aclexplode(m.lomacl) a where a.privilege_type = "
	    "'SELECT' and (a.grantee = 0 or pg_has_role(a.grantee, 'USAGE')))",
	    &r);
	if (rc < 0)
		return rc;
	long long nlo = strtoll(pg_value(r, 0, 0), NULL, 10);
	if (nlo > 0) {
		snprintf(what, sizeof what, "role \"%s\" cannot read %lld large object%s", p->role,
		         nlo, nlo == 1 ? "" : "s");
		snprintf(fix, sizeof fix, "GRANT SELECT ON LARGE OBJECT %.300s%s TO \"%s\";",
		         pg_value(r, 0, 1), strlen(pg_value(r, 0, 1)) > 300 ? ", ..." : "",
		         p->role);
		add(p, F_INCOMPLETE, what, fix);
	}
	pg_result_free(r);
	return 0;
}

size_t preflight_count(const struct preflight *p, enum finding_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->f[i].kind == k;
	return n;
}

void preflight_free(struct preflight *p)
{
	pw_free(p->f);
	memset(p, 0, sizeof *p);
}
