/*
 * globals.h - the roles and tablespaces of a backup (pg_dumpall --globals-only
 * --no-role-passwords output), parsed into a typed list of the few statements pgward
 * applies, and applied through libpq.
 *
 * A backup is input from the repository: whoever can write there can forge it. So the
 * text is never run as it is (never through psql): globals_parse() accepts only the
 * statements pg_dumpall writes for roles and tablespaces, refuses everything else with
 * the line number and a sanitized excerpt, and globals_render() re-emits each accepted
 * statement canonically from the parsed fields, quoting every name and string with the
 * caller's quoting functions (libpq's, in globals_apply()).
 *
 * globals_parse() and globals_render() are pure (no I/O, no libpq).
 */
#ifndef PW_PG_GLOBALS_H
#define PW_PG_GLOBALS_H

#include <stdbool.h>
#include <stddef.h>

#define GLOBALS_MAX_INPUT (64u * 1024 * 1024) /* as pg_dumpall's output is capped at backup */
#define GLOBALS_MAX_NAME 63                   /* NAMEDATALEN - 1: longer names are refused */
#define GLOBALS_MAX_LITERAL (1u << 20)        /* a comment, a location, a setting */
#define GLOBALS_MAX_STMTS 200000

enum gl_kind {
	GL_CREATE_ROLE,       /* CREATE ROLE name; */
	GL_ALTER_ROLE,        /* ALTER ROLE name WITH attributes; */
	GL_ROLE_SET,          /* ALTER ROLE name [IN DATABASE db] SET param TO value[, ...]; */
	GL_COMMENT_ROLE,      /* COMMENT ON ROLE name IS 'text'; */
	GL_GRANT_ROLE,        /* GRANT role TO member [WITH options] [GRANTED BY grantor]; */
	GL_CREATE_TABLESPACE, /* CREATE TABLESPACE name OWNER role LOCATION 'dir'; */
	GL_COMMENT_TABLESPACE /* COMMENT ON TABLESPACE name IS 'text'; */
};

/* Role attributes (ALTER ROLE ... WITH): a bit in set (X) or in clear (NOX). */
enum {
	GL_A_SUPERUSER = 1u << 0,
	GL_A_INHERIT = 1u << 1,
	GL_A_CREATEROLE = 1u << 2,
	GL_A_CREATEDB = 1u << 3,
	GL_A_LOGIN = 1u << 4,
	GL_A_REPLICATION = 1u << 5,
	GL_A_BYPASSRLS = 1u << 6,
};
/* Attributes that give power over the whole cluster or its host: SUPERUSER, REPLICATION
 * (reads every byte of the cluster), BYPASSRLS, and CREATEROLE (up to PostgreSQL 15 it can
 * grant itself pg_execute_server_program, that is the server's OS account). */
#define GL_A_PRIVILEGED (GL_A_SUPERUSER | GL_A_REPLICATION | GL_A_BYPASSRLS | GL_A_CREATEROLE)

/* GRANT option: absent, FALSE or TRUE (ADMIN OPTION is TRUE). */
enum gl_opt { GL_OPT_UNSET = 0, GL_OPT_FALSE, GL_OPT_TRUE };

struct gl_stmt {
	enum gl_kind kind;
	int line;       /* first line of the statement in the input */
	char *name;     /* the role (or the tablespace) the statement is about */
	char *role;     /* GRANT: the member; CREATE TABLESPACE: the owner */
	char *grantor;  /* GRANT ... GRANTED BY, or NULL */
	char *database; /* ALTER ROLE ... IN DATABASE, or NULL */
	char *param;    /* ALTER ROLE ... SET: the parameter (as written, unquoted) */
	char **values;  /* ALTER ROLE ... SET: one or more string values */
	size_t nvalues;
	char *text;        /* COMMENT: the text; CREATE TABLESPACE: the location */
	char *valid_until; /* ALTER ROLE: VALID UNTIL, or NULL */
	unsigned set, clear;
	bool has_conn_limit;
	long conn_limit;
	enum gl_opt admin, inherit, setopt; /* GRANT WITH options */
};

struct globals {
	struct gl_stmt *v;
	size_t n, cap;
	char encoding[33]; /* SET client_encoding (default UTF8) */
};

/* Parse pg_dumpall --globals-only output. On refusal, -PW_E_ARCHIVE with "line N: why:
 * excerpt" recorded and *out NULL; nothing partial is returned. */
int globals_parse(const char *text, size_t len, struct globals **out);
void globals_free(struct globals *g);

/* Is the parameter of ALTER ROLE ... SET one pgward applies? (A short allow-list of
 * session settings.) A setting of any other parameter (search_path, role,
 * *_preload_libraries ...) is parsed as strictly as the others but never applied:
 * globals_apply() skips it and lists it in the report. */
bool globals_param_allowed(const char *param);
/* Is a membership in this role privileged by its name alone (pg_execute_server_program,
 * pg_read_server_files, pg_write_all_data ... every predefined pg_* role but a few
 * monitoring ones)? */
bool globals_role_privileged_by_name(const char *role);

/* Quoting callback: an allocated, quoted copy of s (an identifier or a string literal). */
typedef char *(*gl_quote_fn)(void *arg, const char *s);
/* The statement as canonical SQL (allocated, no trailing ';'): keywords from pgward, every
 * name and string through ident() / literal(). strip: attribute bits to turn off
 * (NOSUPERUSER ...) in place of the ones in the statement. */
char *globals_render(const struct gl_stmt *s, unsigned strip, gl_quote_fn ident,
                     gl_quote_fn literal, void *arg);

/* ---- applying (globals_apply.c: libpq) ---- */

struct pg_conn;

struct globals_apply_opts {
	/* apply privileged attributes and memberships (restore --allow-privileged-roles) */
	bool allow_privileged;
	/* instead of refusing, leave them out and list them in report->stripped (a restore
	 * drill in a scratch cluster) */
	bool strip_privileged;
	bool no_tablespaces; /* leave CREATE/COMMENT ON TABLESPACE out */
};

/* A role setting (ALTER ROLE ... SET) parsed but not applied. role, param, database and
 * sql come from the backup: sanitize them (pw_str_printable) before showing them. */
struct globals_skipped {
	char *role, *param;
	char *database; /* IN DATABASE, or NULL */
	/* the statement as canonical SQL (globals_render, libpq's quoting), for an admin who
	 * trusts it to run after reading it; NULL when longer than GLOBALS_SKIPPED_SQL_MAX */
	char *sql;
	const char *why; /* static: why it was not applied */
	int line;
};
#define GLOBALS_SKIPPED_MAX 100             /* listed in the report; nskipped counts all */
#define GLOBALS_SKIPPED_SQL_MAX (16 * 1024) /* a longer statement is listed without its SQL */

struct globals_report {
	/* what was left out, one sentence each (names sanitized): roles and tablespaces that
	 * exist, memberships of roles that exist, settings for a database that does not */
	char **existing;
	size_t nexisting;
	char **privileged; /* privileged attributes and memberships found (applied or not) */
	size_t nprivileged;
	bool stripped; /* privileged items were left out (strip_privileged) */
	/* role settings not applied: a parameter not on the allow-list, or a role this restore
	 * did not create (one that existed in the target keeps its own settings) */
	struct globals_skipped *skipped; /* the first GLOBALS_SKIPPED_MAX of them */
	size_t nskipped_listed, nskipped;
	size_t roles, memberships, comments, settings, tablespaces; /* applied */
	bool roles_committed; /* the role transaction committed (tablespaces come after it) */
};

/* Apply g on c: roles, settings, comments and memberships in one transaction (all or
 * nothing), then each tablespace on its own (CREATE TABLESPACE cannot run in a transaction
 * block). Roles and tablespaces that exist are left as they are and listed; memberships
 * that exist are skipped. A role setting is applied only if its parameter is allowed
 * (globals_param_allowed) and its role is created by this call; any other is skipped and
 * listed in report->skipped. Privileged items are listed in the report; without
 * allow_privileged or strip_privileged they are refused before anything is applied
 * (-PW_E_PRIVILEGE). */
int globals_apply(struct pg_conn *c, const struct globals *g, const struct globals_apply_opts *o,
                  struct globals_report *r);
void globals_report_free(struct globals_report *r);

#endif
