/* preflight.c - read-only proof and completeness checks, all from the catalogs. */
#include "jobs/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "pg/pg.h"
#include "pg/privs.h"

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
	f->what = pw_strdup(what);
	f->fix = pw_strdup(fix);
}

static const char *SYS = "n.nspname <> 'information_schema' and "
                         "n.nspname operator(pg_catalog.!~) '^pg_'";

static int rows(struct pg_conn *c, const char *sql, struct pg_result **r)
{
	return pg_query(c, sql, 0, NULL, r);
}

/* Principle 1, from the one privilege model (pg/privs.c): the role may change nothing.
 * BYPASSRLS is no write (the completeness check below even asks for it). */
static void privilege_findings(struct preflight *p, const struct pw_privs *m)
{
	char what[1024];
	for (size_t i = 0; i < m->n; i++) {
		const struct pw_priv_finding *f = &m->f[i];
		if (f->kind == PW_PRIV_ATTRIBUTE && strcmp(f->privilege, "BYPASSRLS") == 0)
			continue;
		char *d = pw_priv_describe(f);
		switch (f->kind) {
		case PW_PRIV_ATTRIBUTE:
			if (strcmp(f->privilege, "SUPERUSER") == 0)
				snprintf(what, sizeof what, "role \"%s\" is a superuser", p->role);
			else
				snprintf(what, sizeof what, "role \"%s\" has %s", p->role,
				         f->privilege);
			break;
		case PW_PRIV_SCHEMA_CREATE:
			snprintf(what, sizeof what, "role \"%s\" may CREATE in schema %s (%s)",
			         p->role, f->object, pw_priv_path_name(f->path));
			break;
		case PW_PRIV_DATABASE_CREATE:
			snprintf(what, sizeof what, "role \"%s\" may CREATE in database %s (%s)",
			         p->role, f->object, pw_priv_path_name(f->path));
			break;
		case PW_PRIV_OWNER: {
			char type[32];
			pw_strlcpy(type, f->objtype, sizeof type);
			for (char *q = type; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q + 32);
			snprintf(what, sizeof what, "role \"%s\" owns %s %s", p->role, type,
			         f->object);
			break;
		}
		case PW_PRIV_LO_COMPAT:
			snprintf(what, sizeof what,
			         "role \"%s\" holds %s: any role may write any large object",
			         p->role, d);
			break;
		case PW_PRIV_PREDEFINED:
			snprintf(what, sizeof what, "role \"%s\" holds %s (%s)", p->role, d,
			         pw_priv_path_name(f->path));
			break;
		case PW_PRIV_MEMBERSHIP:
			snprintf(what, sizeof what, "role \"%s\" holds %s", p->role, d);
			break;
		default:
			snprintf(what, sizeof what, "role \"%s\" holds %s (%s)", p->role, d,
			         f->path == PW_PATH_PUBLIC ? "granted to PUBLIC" : "granted to it");
			break;
		}
		pw_free(d);
		add(p, F_PRIVILEGE, what, f->fix);
	}
}

int preflight_run(struct pg_conn *c, struct preflight *p)
{
	memset(p, 0, sizeof *p);
	struct pg_result *r = NULL;
	char sql[2048], what[1024];
	struct pw_privs m;
	int rc = pw_privs_scan(c, NULL, &m);
	if (rc < 0)
		return rc;
	pw_strlcpy(p->role, m.role, sizeof p->role);
	pw_strlcpy(p->database, m.database, sizeof p->database);
	p->superuser = m.superuser;
	p->can_dump_globals = true; /* pg_dumpall --no-role-passwords reads pg_roles only */
	privilege_findings(p, &m);
	pw_privs_free(&m);
	const char *params[1] = {p->role};
	rc = pg_query(c,
	              "select r.oid, r.rolbypassrls, pg_catalog.quote_ident(r.rolname), "
	              "pg_catalog.pg_database_size(pg_catalog.current_database()) "
	              "from pg_catalog.pg_roles r where r.rolname = $1",
	              1, params, &r);
	if (rc < 0)
		return rc;
	if (pg_nrows(r) != 1) {
		pg_result_free(r);
		return pw_error(PW_E_DB, "cannot read role \"%s\" from pg_roles", p->role);
	}
	char role_oid[16];
	pw_strlcpy(role_oid, pg_value(r, 0, 0), sizeof role_oid);
	bool bypassrls = *pg_value(r, 0, 1) == 't';
	p->database_size = strtoll(pg_value(r, 0, 3), NULL, 10);
	pg_result_free(r);
	if (p->superuser) /* everything below is implied; the list would only be noise */
		return 0;
	char *qrole = pg_quote_ident(c, p->role);

	/* completeness: everything pg_dump reads must be readable, and not filtered by RLS */
	snprintf(sql, sizeof sql,
	         "select pg_catalog.quote_ident(n.nspname) operator(pg_catalog.||) '.' "
	         "operator(pg_catalog.||) pg_catalog.quote_ident(c.relname), "
	         "case c.relkind when 'S' then 'sequence' else 'table' end, "
	         "pg_catalog.has_table_privilege(c.oid, 'SELECT'), c.relrowsecurity, "
	         "case c.relkind when 'S' then 'SEQUENCE ' else '' end "
	         "from pg_catalog.pg_class c join pg_catalog.pg_namespace n "
	         "on n.oid = c.relnamespace "
	         "where c.relkind in ('r', 'p', 'S') and %s "
	         "and (not pg_catalog.has_table_privilege(c.oid, 'SELECT') "
	         "or c.relrowsecurity) order by n.nspname, c.relname",
	         SYS);
	if ((rc = rows(c, sql, &r)) < 0) {
		pw_free(qrole);
		return rc;
	}
	for (int i = 0; i < pg_nrows(r); i++) {
		bool readable = *pg_value(r, i, 2) == 't';
		bool rls = *pg_value(r, i, 3) == 't';
		char fix[1024];
		if (!readable) {
			snprintf(what, sizeof what, "role \"%s\" cannot read %s %s", p->role,
			         pg_value(r, i, 1), pg_value(r, i, 0));
			snprintf(fix, sizeof fix, "GRANT SELECT ON %s%s TO %s;", pg_value(r, i, 4),
			         pg_value(r, i, 0), qrole);
			add(p, F_INCOMPLETE, what, fix);
		} else if (rls && !bypassrls) {
			snprintf(what, sizeof what,
			         "table %s has row-level security and role \"%s\" lacks "
			         "BYPASSRLS: the dump would silently miss rows",
			         pg_value(r, i, 0), p->role);
			snprintf(fix, sizeof fix, "ALTER ROLE %s BYPASSRLS;", qrole);
			add(p, F_INCOMPLETE, what, fix);
		}
	}
	pg_result_free(r);

	/* large objects: pg_read_all_data does not cover them */
	rc = rows(c,
	          "select pg_catalog.count(*), pg_catalog.array_to_string((pg_catalog.array_agg("
	          "m.oid order by m.oid))[1:50], ', ') "
	          "from pg_catalog.pg_largeobject_metadata m "
	          "where pg_catalog.current_setting('lo_compat_privileges') = 'off' "
	          "and not pg_catalog.pg_has_role(m.lomowner, 'USAGE') "
	          "and not exists (select 1 from pg_catalog.aclexplode(m.lomacl) a "
	          "where a.privilege_type = 'SELECT' and (a.grantee = 0 or "
	          "pg_catalog.pg_has_role(a.grantee, 'USAGE')))",
	          &r);
	if (rc < 0) {
		pw_free(qrole);
		return rc;
	}
	long long nlo = strtoll(pg_value(r, 0, 0), NULL, 10);
	if (nlo > 0) {
		snprintf(what, sizeof what, "role \"%s\" cannot read %lld large object%s", p->role,
		         nlo, nlo == 1 ? "" : "s");
		char *fix = pw_priv_lo_read_fix(pg_value(r, 0, 1), nlo, qrole, role_oid);
		add(p, F_INCOMPLETE, what, fix);
		pw_free(fix);
	}
	pg_result_free(r);
	pw_free(qrole);
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
	for (size_t i = 0; i < p->n; i++) {
		pw_free(p->f[i].what);
		pw_free(p->f[i].fix);
	}
	pw_free(p->f);
	memset(p, 0, sizeof *p);
}
