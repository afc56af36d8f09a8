/*
 * globals_apply.c - apply parsed globals (pg/globals.h) on a connection: look at what the
 * target has, decide what to apply and what is privileged, refuse before anything is
 * applied, then roles in one transaction and tablespaces after it. Every statement is
 * rendered from the parsed fields with libpq's quoting; the backup's text never runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "pg/globals.h"
#include "pg/pg.h"

/* A role of the target that holds no privileged attribute but is a member of a role that
 * does (or of a privileged pg_* role). */
#define A_MEMBER_OF_PRIVILEGED (1u << 16)
#define A_RISKY (GL_A_PRIVILEGED | A_MEMBER_OF_PRIVILEGED)

struct known_role {
	char *name;
	unsigned attrs; /* GL_A_* the target's role has */
};

struct target {
	struct known_role *roles;
	size_t nroles;
	char **spaces, **dbs;
	size_t nspaces, ndbs;
	char **members; /* "role\0member" pairs, as a length-prefixed key */
	size_t nmembers;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_role(const void *a, const void *b)
{
	return strcmp(((const struct known_role *)a)->name, ((const struct known_role *)b)->name);
}

static bool has_str(char *const *v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof *v, cmp_str) != NULL;
}

static const struct known_role *find_role(const struct target *t, const char *name)
{
	struct known_role k = {(char *)name, 0};
	return t->nroles ? bsearch(&k, t->roles, t->nroles, sizeof k, cmp_role) : NULL;
}

/* A key for a (role, member) pair that no pair of names can collide with. */
static char *pair_key(const char *role, const char *member)
{
	struct pw_buf b = PW_BUF_INIT(1024);
	pw_buf_printf(&b, "%zu:%s:%s", strlen(role), role, member);
	char *k = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return k;
}

static void target_free(struct target *t)
{
	for (size_t i = 0; i < t->nroles; i++)
		pw_free(t->roles[i].name);
	for (size_t i = 0; i < t->nspaces; i++)
		pw_free(t->spaces[i]);
	for (size_t i = 0; i < t->ndbs; i++)
		pw_free(t->dbs[i]);
	for (size_t i = 0; i < t->nmembers; i++)
		pw_free(t->members[i]);
	pw_free(t->roles);
	pw_free(t->spaces);
	pw_free(t->dbs);
	pw_free(t->members);
}

static int list_names(struct pg_conn *c, const char *sql, char ***out, size_t *n)
{
	struct pg_result *r;
	int rc = pg_query(c, sql, 0, NULL, &r);
	if (rc < 0)
		return rc;
	*n = (size_t)pg_nrows(r);
	*out = pw_calloc(*n + 1, sizeof **out);
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = pg_ncols(r) == 2
		                ? pair_key(pg_value(r, (int)i, 0), pg_value(r, (int)i, 1))
		                : pw_strdup(pg_value(r, (int)i, 0));
	pg_result_free(r);
	qsort(*out, *n, sizeof **out, cmp_str);
	return 0;
}

static int target_read(struct pg_conn *c, struct target *t)
{
	struct pg_result *r;
	int rc = pg_query(c,
	                  "select rolname, rolsuper, rolreplication, rolbypassrls, rolcreaterole "
	                  "from pg_catalog.pg_roles",
	                  0, NULL, &r);
	if (rc < 0)
		return rc;
	t->nroles = (size_t)pg_nrows(r);
	t->roles = pw_calloc(t->nroles + 1, sizeof *t->roles);
	for (int i = 0; i < (int)t->nroles; i++) {
		t->roles[i].name = pw_strdup(pg_value(r, i, 0));
		unsigned a = 0;
		if (strcmp(pg_value(r, i, 1), "t") == 0)
			a |= GL_A_SUPERUSER;
		if (strcmp(pg_value(r, i, 2), "t") == 0)
			a |= GL_A_REPLICATION;
		if (strcmp(pg_value(r, i, 3), "t") == 0)
			a |= GL_A_BYPASSRLS;
		if (strcmp(pg_value(r, i, 4), "t") == 0)
			a |= GL_A_CREATEROLE;
		t->roles[i].attrs = a;
	}
	pg_result_free(r);
	qsort(t->roles, t->nroles, sizeof *t->roles, cmp_role);
	/* roles that are (through any chain of memberships) members of a privileged role: a
	 * membership in one of them is privileged too. The pg_* names kept out are the ones
	 * globals_role_privileged_by_name() calls harmless. */
	char **inpriv = NULL;
	size_t ninpriv = 0;
	rc = list_names(c,
	                "with recursive p(oid) as ("
	                " select oid from pg_catalog.pg_roles where rolsuper or rolreplication"
	                " or rolbypassrls or rolcreaterole or (rolname like 'pg\\_%' and rolname"
	                " not in ('pg_monitor', 'pg_read_all_settings', 'pg_read_all_stats',"
	                " 'pg_stat_scan_tables'))"
	                " union select a.member from pg_catalog.pg_auth_members a join p"
	                " on a.roleid = p.oid)"
	                " select r.rolname from pg_catalog.pg_roles r join p on p.oid = r.oid",
	                &inpriv, &ninpriv);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < t->nroles; i++)
		if (has_str(inpriv, ninpriv, t->roles[i].name) &&
		    !(t->roles[i].attrs & GL_A_PRIVILEGED))
			t->roles[i].attrs |= A_MEMBER_OF_PRIVILEGED;
	for (size_t i = 0; i < ninpriv; i++)
		pw_free(inpriv[i]);
	pw_free(inpriv);
	if ((rc = list_names(c, "select spcname from pg_catalog.pg_tablespace", &t->spaces,
	                     &t->nspaces)) < 0 ||
	    (rc = list_names(c, "select datname from pg_catalog.pg_database", &t->dbs, &t->ndbs)) <
	        0 ||
	    (rc = list_names(c,
	                     "select r.rolname, m.rolname from pg_catalog.pg_auth_members a "
	                     "join pg_catalog.pg_roles r on r.oid = a.roleid "
	                     "join pg_catalog.pg_roles m on m.oid = a.member",
	                     &t->members, &t->nmembers)) < 0)
		return rc;
	return 0;
}

/* A name for a report line: quoted, control bytes, quotes and backslashes as \xNN (names
 * come from the backup: they must not drive the terminal). */
static void put_name(struct pw_buf *b, const char *s)
{
	pw_buf_putc(b, '"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		/* C1 controls in UTF-8 (U+0080..U+009F: CSI is one of them) too */
		bool c1 = *c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f;
		if (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\' || c1) {
			pw_buf_printf(b, "\\x%02x", *c);
			if (c1)
				pw_buf_printf(b, "\\x%02x", *++c);
		} else {
			pw_buf_putc(b, (char)*c);
		}
	}
	pw_buf_putc(b, '"');
}

static void add_line(char ***v, size_t *n, struct pw_buf *b)
{
	*v = pw_realloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = pw_strdup(pw_buf_str(b));
	pw_buf_reset(b);
}

void globals_report_free(struct globals_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nskipped_listed; i++) {
		pw_free(r->skipped[i].role);
		pw_free(r->skipped[i].param);
		pw_free(r->skipped[i].database);
		pw_free(r->skipped[i].sql);
	}
	pw_free(r->skipped);
	for (size_t i = 0; i < r->nexisting; i++)
		pw_free(r->existing[i]);
	for (size_t i = 0; i < r->nprivileged; i++)
		pw_free(r->privileged[i]);
	pw_free(r->existing);
	pw_free(r->privileged);
	memset(r, 0, sizeof *r);
}

static char *q_ident(void *arg, const char *s)
{
	return pg_quote_ident(arg, s);
}

static char *q_literal(void *arg, const char *s)
{
	return pg_quote_literal(arg, s);
}

/* The privileged attributes each role gets from the file's ALTER ROLE statements, sorted
 * by name with duplicates merged (a large forged object must not make planning
 * quadratic). */
static struct known_role *file_roles(const struct globals *g, size_t *n)
{
	struct known_role *v = pw_calloc(g->n + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].kind == GL_ALTER_ROLE)
			v[k++] = (struct known_role){g->v[i].name, g->v[i].set & GL_A_PRIVILEGED};
	qsort(v, k, sizeof *v, cmp_role);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m && strcmp(v[m - 1].name, v[i].name) == 0)
			v[m - 1].attrs |= v[i].attrs;
		else
			v[m++] = v[i];
	}
	*n = m;
	return v; /* names borrowed from g */
}

static unsigned file_attrs(const struct known_role *v, size_t n, const char *role)
{
	struct known_role k = {(char *)role, 0};
	const struct known_role *f = n ? bsearch(&k, v, n, sizeof k, cmp_role) : NULL;
	return f ? f->attrs : 0;
}

static void attr_words(struct pw_buf *b, unsigned a)
{
	static const struct {
		unsigned bit;
		const char *w;
	} w[] = {{GL_A_SUPERUSER, "SUPERUSER"},
	         {GL_A_REPLICATION, "REPLICATION"},
	         {GL_A_BYPASSRLS, "BYPASSRLS"},
	         {GL_A_CREATEROLE, "CREATEROLE"},
	         {A_MEMBER_OF_PRIVILEGED, "member of a privileged role"}};
	const char *sep = "";
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
		if (a & w[i].bit) {
			pw_buf_printf(b, "%s%s", sep, w[i].w);
			sep = " ";
		}
}

enum action { ACT_APPLY, ACT_SKIP, ACT_STRIP_GRANT };

/* List a role setting that is not applied (the first GLOBALS_SKIPPED_MAX; all counted). */
static void skip_setting(struct pg_conn *c, struct globals_report *r, const struct gl_stmt *s,
                         const char *why)
{
	r->nskipped++;
	if (r->nskipped_listed == GLOBALS_SKIPPED_MAX)
		return;
	if (!r->skipped)
		r->skipped = pw_calloc(GLOBALS_SKIPPED_MAX, sizeof *r->skipped);
	struct globals_skipped *k = &r->skipped[r->nskipped_listed++];
	k->role = pw_strdup(s->name);
	k->param = pw_strdup(s->param);
	k->database = s->database ? pw_strdup(s->database) : NULL;
	k->why = why;
	k->line = s->line;
	char *sql = globals_render(s, 0, q_ident, q_literal, c);
	if (strlen(sql) <= GLOBALS_SKIPPED_SQL_MAX)
		k->sql = sql;
	else
		pw_free(sql);
}

/* The roles the file creates that the target does not have (sorted, names borrowed). */
static char **created_roles(const struct globals *g, const struct target *t, size_t *n)
{
	char **v = pw_calloc(g->n + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].kind == GL_CREATE_ROLE && !find_role(t, g->v[i].name))
			v[k++] = g->v[i].name;
	qsort(v, k, sizeof *v, cmp_str);
	*n = k;
	return v;
}

/* Decide per statement; list what exists and what is privileged. */
static void plan(struct pg_conn *c, const struct globals *g, const struct target *t,
                 const struct globals_apply_opts *o, struct globals_report *r, enum action *act)
{
	struct pw_buf b = PW_BUF_INIT(4096);
	size_t nfile, ncreated;
	struct known_role *file = file_roles(g, &nfile);
	char **created = created_roles(g, t, &ncreated);
	for (size_t i = 0; i < g->n; i++) {
		const struct gl_stmt *s = &g->v[i];
		act[i] = ACT_APPLY;
		switch (s->kind) {
		case GL_CREATE_ROLE:
			if (find_role(t, s->name)) {
				act[i] = ACT_SKIP;
				pw_buf_printf(&b, "role ");
				put_name(&b, s->name);
				pw_buf_printf(&b, " exists already: left as it is");
				add_line(&r->existing, &r->nexisting, &b);
			}
			break;
		case GL_ALTER_ROLE:
			if (find_role(t, s->name)) {
				act[i] = ACT_SKIP;
			} else if (s->set & GL_A_PRIVILEGED) {
				pw_buf_printf(&b, "role ");
				put_name(&b, s->name);
				pw_buf_printf(&b, ": ");
				attr_words(&b, s->set & GL_A_PRIVILEGED);
				add_line(&r->privileged, &r->nprivileged, &b);
			}
			break;
		case GL_ROLE_SET:
			/* a role's settings run in every session it opens: only a role this
			 * restore creates gets them (a forged search_path for the target's own
			 * owner would hijack its sessions), and only allowed parameters */
			if (find_role(t, s->name)) {
				act[i] = ACT_SKIP;
				skip_setting(c, r, s,
				             "the role exists in the target: its settings are left "
				             "as they are");
			} else if (!has_str(created, ncreated, s->name)) {
				act[i] = ACT_SKIP;
				skip_setting(c, r, s, "the backup does not create this role");
			} else if (!globals_param_allowed(s->param)) {
				act[i] = ACT_SKIP;
				skip_setting(c, r, s, "pgward does not apply this parameter");
			} else if (s->database && !has_str(t->dbs, t->ndbs, s->database)) {
				act[i] = ACT_SKIP;
				pw_buf_printf(&b, "setting of role ");
				put_name(&b, s->name);
				pw_buf_printf(&b, " in database ");
				put_name(&b, s->database);
				pw_buf_printf(&b, " (no such database)");
				add_line(&r->existing, &r->nexisting, &b);
			}
			break;
		case GL_COMMENT_ROLE:
			if (find_role(t, s->name))
				act[i] = ACT_SKIP;
			break;
		case GL_GRANT_ROLE: {
			char *k = pair_key(s->name, s->role);
			bool exists = has_str(t->members, t->nmembers, k);
			pw_free(k);
			if (exists) {
				act[i] = ACT_SKIP;
				break;
			}
			if (find_role(t, s->role)) {
				/* a role that exists is left as it is, its memberships too: a
				 * forged object must not widen what an existing role may do */
				act[i] = ACT_SKIP;
				pw_buf_printf(&b, "membership of ");
				put_name(&b, s->role);
				pw_buf_printf(&b, " in ");
				put_name(&b, s->name);
				pw_buf_printf(&b, " (not granted: the role ");
				put_name(&b, s->role);
				pw_buf_printf(&b, " exists)");
				add_line(&r->existing, &r->nexisting, &b);
				break;
			}
			const struct known_role *kr = find_role(t, s->name);
			unsigned a = kr ? kr->attrs & A_RISKY : file_attrs(file, nfile, s->name);
			/* a role the target already has hands its power (ownerships, grants) to a
			 * role from the backup: as privileged as an attribute (a forged object could
			 * otherwise give a new login the application owner's role, red-team finding) */
			bool existing = kr && strncmp(s->name, "pg_", 3) != 0; /* pg_*: by name */
			if (a || existing || globals_role_privileged_by_name(s->name)) {
				pw_buf_printf(&b, "membership of ");
				put_name(&b, s->role);
				pw_buf_printf(&b, " in ");
				put_name(&b, s->name);
				if (a) {
					pw_buf_printf(&b, " (");
					attr_words(&b, a);
					pw_buf_printf(&b, ")");
				} else if (existing) {
					pw_buf_printf(
					    &b, " (a role the target has already%s)",
					    s->admin == GL_OPT_TRUE ? ", WITH ADMIN OPTION" : "");
				}
				add_line(&r->privileged, &r->nprivileged, &b);
				if (o->strip_privileged)
					act[i] = ACT_STRIP_GRANT;
			}
			break;
		}
		case GL_CREATE_TABLESPACE:
			if (o->no_tablespaces) {
				act[i] = ACT_SKIP;
			} else if (has_str(t->spaces, t->nspaces, s->name)) {
				act[i] = ACT_SKIP;
				pw_buf_printf(&b, "tablespace ");
				put_name(&b, s->name);
				pw_buf_printf(&b, " exists already: left as it is");
				add_line(&r->existing, &r->nexisting, &b);
			}
			break;
		case GL_COMMENT_TABLESPACE:
			if (o->no_tablespaces || has_str(t->spaces, t->nspaces, s->name))
				act[i] = ACT_SKIP;
			break;
		}
	}
	pw_free(file);
	pw_free(created);
	pw_buf_free(&b, 0);
}

static bool is_tablespace(const struct gl_stmt *s)
{
	return s->kind == GL_CREATE_TABLESPACE || s->kind == GL_COMMENT_TABLESPACE;
}

static int run(struct pg_conn *c, const struct gl_stmt *s, unsigned strip)
{
	char *sql = globals_render(s, strip, q_ident, q_literal, c);
	int rc = pg_exec(c, sql);
	pw_free(sql);
	if (rc < 0)
		pw_error_context("globals line %d", s->line);
	return rc;
}

static void count(struct globals_report *r, const struct gl_stmt *s)
{
	switch (s->kind) {
	case GL_CREATE_ROLE:
		r->roles++;
		break;
	case GL_GRANT_ROLE:
		r->memberships++;
		break;
	case GL_COMMENT_ROLE:
	case GL_COMMENT_TABLESPACE:
		r->comments++;
		break;
	case GL_ROLE_SET:
		r->settings++;
		break;
	case GL_CREATE_TABLESPACE:
		r->tablespaces++;
		break;
	case GL_ALTER_ROLE:
		break;
	}
}

static int apply(struct pg_conn *c, const struct globals *g, const struct globals_apply_opts *o,
                 struct globals_report *r, const enum action *act)
{
	unsigned strip = o->strip_privileged ? GL_A_PRIVILEGED : 0;
	int rc = pg_exec(c, "begin");
	for (size_t i = 0; i < g->n && rc == 0; i++)
		if (act[i] == ACT_APPLY && !is_tablespace(&g->v[i])) {
			rc = run(c, &g->v[i], strip);
			if (rc == 0)
				count(r, &g->v[i]);
		}
	if (rc == 0)
		rc = pg_exec(c, "commit");
	if (rc < 0) {
		struct pw_error_saved e;
		pw_error_save(&e);
		pg_exec(c, "rollback");
		pw_error_restore(&e);
		r->roles = r->memberships = r->comments = r->settings = 0;
		return pw_error_hint("Nothing of the roles was applied (one transaction). Fix the "
		                     "cause on the target, or restore without --globals.");
	}
	r->roles_committed = true;
	/* CREATE TABLESPACE cannot run in a transaction block: one at a time, after */
	for (size_t i = 0; i < g->n && rc == 0; i++)
		if (act[i] == ACT_APPLY && is_tablespace(&g->v[i])) {
			rc = run(c, &g->v[i], 0);
			if (rc == 0)
				count(r, &g->v[i]);
		}
	if (rc < 0)
		return pw_error_hint("The roles were applied; the tablespaces before this one too. "
		                     "A tablespace's directory must exist, be empty and belong to "
		                     "the server's OS user.");
	return 0;
}

int globals_apply(struct pg_conn *c, const struct globals *g, const struct globals_apply_opts *o,
                  struct globals_report *r)
{
	memset(r, 0, sizeof *r);
	struct target t = {0};
	enum action *act = pw_calloc(g->n + 1, sizeof *act);
	/* names in the file are in its encoding: read and quote in the same one */
	const char *enc[] = {g->encoding};
	struct pg_result *res = NULL;
	int rc =
	    pg_query(c, "select pg_catalog.set_config('client_encoding', $1, false)", 1, enc, &res);
	pg_result_free(res);
	if (rc == 0)
		rc = target_read(c, &t);
	if (rc == 0) {
		plan(c, g, &t, o, r, act);
		r->stripped = o->strip_privileged && r->nprivileged > 0;
		if (r->nprivileged && !o->allow_privileged && !o->strip_privileged) {
			struct pw_buf b = PW_BUF_INIT(2048);
			for (size_t i = 0; i < r->nprivileged && i < 5; i++)
				pw_buf_printf(&b, "%s%s", i ? "; " : "", r->privileged[i]);
			if (r->nprivileged > 5)
				pw_buf_printf(&b, "; and %zu more", r->nprivileged - 5);
			pw_error(PW_E_PRIVILEGE,
			         "the backup's roles hold privileged attributes or memberships: %s",
			         pw_buf_str(&b));
			pw_buf_free(&b, 0);
			rc = pw_error_hint(
			    "Nothing was applied. Check that the backup is genuine, then pass "
			    "--allow-privileged-roles to apply them, or create those roles by "
			    "hand.");
		}
	}
	if (rc == 0)
		rc = apply(c, g, o, r, act);
	{
		struct pw_error_saved e;
		pw_error_save(&e);
		pg_exec(c, "reset client_encoding");
		pw_error_restore(&e);
	}
	target_free(&t);
	pw_free(act);
	return rc;
}
