/*
 * ring2_rules.c - the checklist's second ring (issue 15): the CIS / STIG / splinter items that
 * can be read remotely, as a table of rules (rules.h). Each statement names catalogs, settings
 * or statistics views only (schema-qualified, safe with an empty search_path); none reads a
 * row of a user table. A rule that lacks a privilege is `skip` with the GRANT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/internal.h"
#include "check/rules.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "pg/pg.h"

struct chk_ctx {
	const struct chk_opts *o;
	const struct chk_repo_state *st;
	struct pg_conn *c;
	struct chk_report *r;
	bool super, settings_ok, stats_ok, hba_ok;
	int version;
	char *qrole;
	struct pg_result *hba; /* pg_hba_file_rules, NULL if not readable */
	char hba_error[512];
	char broken[512];
};

#define LIST_BUDGET 8192
#define LIST_CAP (1 << 20)

#define DONE(call)                                                                                 \
	do {                                                                                       \
		call;                                                                              \
		return;                                                                            \
	} while (0)

static bool room(const struct pw_buf *b, size_t *more)
{
	if (b->len < LIST_BUDGET)
		return true;
	(*more)++;
	return false;
}

static void more_tail(struct pw_buf *b, size_t more, const char *sep)
{
	if (more)
		pw_buf_printf(b, "%sand %zu more", sep, more);
}

static int q(struct chk_ctx *x, struct chk_finding *f, const char *sql, int np,
             const char *const *params, struct pg_result **out)
{
	int rc = pg_query(x->c, sql, np, params, out);
	if (rc < 0) {
		if (f) {
			chk_set(f, CHK_SKIP, f->severity, "%s", pw_error_message());
			chk_fix(f, NULL);
		}
		pw_error_clear();
	}
	return rc;
}

/* A setting as pg_settings shows it to this role (and where it comes from): 1 visible, 0 not.
 * What pgward set in its own session (timeouts, read-only) is not the server's: a session
 * value is read as the value a new session starts with (reset_val). */
static int setting2(struct chk_ctx *x, const char *name, char *out, size_t n, char *src,
                    size_t srcn)
{
	struct pg_result *r;
	const char *p[1] = {name};
	out[0] = 0;
	if (src)
		src[0] = 0;
	if (q(x, NULL,
	      "select case when source = 'session' then reset_val else setting end, "
	      "case when source <> 'session' then source when reset_val = boot_val then "
	      "'default' else 'configuration file' end from pg_catalog.pg_settings where name = $1",
	      1, p, &r) < 0)
		return 0;
	int vis = pg_nrows(r) == 1;
	if (vis) {
		pw_strlcpy(out, pg_value(r, 0, 0), n);
		if (src)
			pw_strlcpy(src, pg_value(r, 0, 1), srcn);
	}
	pg_result_free(r);
	return vis;
}

static int setting(struct chk_ctx *x, const char *name, char *out, size_t n)
{
	return setting2(x, name, out, n, NULL, 0);
}

static void skip_settings(struct chk_ctx *x, struct chk_finding *f, const char *name)
{
	chk_set(f, CHK_SKIP, f->severity,
	        "setting %s is not visible to role %s (it needs pg_read_all_settings)", name,
	        x->r->role);
	chk_fix(f, "GRANT pg_read_all_settings TO %s;", x->qrole);
}

static bool is_on(const char *v)
{
	return strcmp(v, "on") == 0 || strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
}

static bool need_hba(struct chk_ctx *x, struct chk_finding *f)
{
	return chk_hba_usable(x->hba, x->hba_ok, x->hba_error, x->r->role, x->qrole, f);
}

/* "name" for pg_hba.conf (a double-quoted name; hba has no escape for a double quote) */
static void hba_name(struct pw_buf *b, const char *name)
{
	if (strchr(name, '"'))
		pw_buf_printf(b,
		              "<%s: a name with a double quote cannot be written in "
		              "pg_hba.conf>",
		              "role");
	else
		pw_buf_printf(b, "\"%s\"", name);
}

/* A PostgreSQL text[] literal of the names (for = any($1)). */
static char *name_array(const char *const *names, size_t n)
{
	struct pw_buf b = PW_BUF_INIT(LIST_CAP);
	pw_buf_printf(&b, "{");
	for (size_t i = 0; i < n; i++) {
		pw_buf_printf(&b, "%s\"", i ? "," : "");
		for (const char *s = names[i]; *s; s++)
			pw_buf_printf(&b, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
		pw_buf_printf(&b, "\"");
	}
	pw_buf_printf(&b, "}");
	return chk_take(&b);
}

/* ---------------------------------------------------------------------------------------- */

#define WHY_PREDEF                                                                                 \
	"CIS PostgreSQL Benchmark 4.9 (ensure predefined roles are granted only where needed); "   \
	"Crunchy Data PostgreSQL STIG (least privilege): pg_execute_server_program and "           \
	"pg_write_server_files run code or write files as the server's OS user"
#define WHY_HBA_WEAK                                                                               \
	"Crunchy Data PostgreSQL STIG (authenticators protected in transit, no weak "              \
	"authentication); CIS PostgreSQL Benchmark 5.4 (ensure login via host TCP/IP sockets is "  \
	"configured correctly)"
#define WHY_HBA_PRIV                                                                               \
	"pgdsat 5.11 (superuser and replication access from the network); CIS PostgreSQL "         \
	"Benchmark 5.x: administer over the local socket, replicate from named standbys only"
#define WHY_ATTR                                                                                   \
	"CIS PostgreSQL Benchmark 4.3 (ensure excessive administrative privileges are revoked) "   \
	"and 7.1 (a dedicated replication user): CREATEROLE, CREATEDB, REPLICATION and "           \
	"BYPASSRLS each reach beyond one application's data"
#define WHY_MINOR                                                                                  \
	"CIS PostgreSQL Benchmark 1.5 (ensure the latest security patches are applied); Crunchy "  \
	"Data PostgreSQL STIG (security-relevant updates installed promptly)"
#define WHY_RLS                                                                                    \
	"CIS PostgreSQL Benchmark 4.7 (ensure row level security is configured correctly); "       \
	"Supabase splinter lints policy_exists_rls_disabled, rls_enabled_no_policy, "              \
	"rls_policy_always_true"
#define WHY_SECDEF_VIEW                                                                            \
	"Supabase splinter lint security_definer_view: a view runs with its owner's "              \
	"privileges (and bypasses row security as its owner) unless security_invoker is set"
#define WHY_LOG_CONTENT                                                                            \
	"CIS PostgreSQL Benchmark 3.1.x (log_line_prefix, log_min_messages, "                      \
	"log_min_error_statement, debug_print_*, log_file_mode, log_replication_commands)"
#define WHY_CIPHERS "CIS PostgreSQL Benchmark 6.10 (ensure only strong TLS ciphers are used)"
#define WHY_WAL "CIS PostgreSQL Benchmark 7.4 (ensure WAL archiving is configured and functional)"
#define WHY_SLOTS                                                                                  \
	"a replication slot makes the server keep every WAL segment its consumer has not "         \
	"confirmed: an inactive slot (a stopped WAL receiver or standby) fills the disk until "    \
	"the "                                                                                     \
	"database stops, and a lost one broke its consumer's stream (PostgreSQL documentation, "   \
	"\"Replication Slots\")"
#define WHY_UNSAFE                                                                                 \
	"CIS PostgreSQL Benchmark 6.x and 8.3: settings that trade integrity or catalog safety "   \
	"(fsync, full_page_writes, zero_damaged_pages, ignore_checksum_failure, "                  \
	"allow_system_table_mods, lo_compat_privileges, preload libraries) and a configuration "   \
	"that waits for a restart"
#define WHY_EXT                                                                                    \
	"Supabase splinter lints extension_in_public and extension_versions_outdated; Crunchy "    \
	"Data PostgreSQL STIG (only the software that is needed, kept up to date)"
#define WHY_PWPOLICY                                                                               \
	"CIS PostgreSQL Benchmark 5.6 (password complexity, passwordcheck/credcheck); auth_delay " \
	"slows online guessing; Crunchy Data PostgreSQL STIG (authenticator lifetime)"
#define WHY_TIMEOUTS                                                                               \
	"Crunchy Data PostgreSQL STIG (terminate a session after a period of inactivity): "        \
	"idle_in_transaction_session_timeout, idle_session_timeout, statement_timeout"
#define WHY_CONNLIMIT                                                                              \
	"CIS PostgreSQL Benchmark 5.5 (ensure per-account connection limits are used): one "       \
	"runaway application must not take every connection slot"

/* --- roles.dangerous-predefined ---------------------------------------------------------- */

static void rule_dangerous_predefined(struct chk_ctx *x, struct chk_finding *f)
{
	/* the roles marked read-only (their comment or name): pg_read_all_data is how pgward
	 * credentials give them every table */
	struct pg_result *r;
	if (q(x, f,
	      "select rolname, coalesce(pg_catalog.shobj_description(oid, 'pg_authid'), '') "
	      "from pg_catalog.pg_roles",
	      0, NULL, &r) < 0)
		return;
	const char **marked = pw_malloc(((size_t)pg_nrows(r) + 1) * sizeof *marked);
	size_t nmarked = 0;
	for (int i = 0; i < pg_nrows(r); i++)
		if (chk_marked_readonly(pg_value(r, i, 0), pg_value(r, i, 1)))
			marked[nmarked++] = pg_value(r, i, 0);
	char *arr = name_array(marked, nmarked);
	pw_free(marked);
	pg_result_free(r);
	const char *p[1] = {arr};
	int rc = q(x, f,
	           "select r.rolname, p.rolname, r.rolcanlogin, exists (select 1 from "
	           "pg_catalog.pg_auth_members m where m.roleid = p.oid and m.member = r.oid), "
	           "r.rolname = any($1::pg_catalog.text[]) or exists (select 1 from "
	           "pg_catalog.pg_auth_members m join pg_catalog.pg_roles g on g.oid = m.roleid "
	           "where m.member = r.oid and g.rolname = any($1::pg_catalog.text[])) "
	           "from pg_catalog.pg_roles r join pg_catalog.pg_roles p on p.rolname in "
	           "('pg_execute_server_program', 'pg_write_server_files', "
	           "'pg_read_server_files', 'pg_write_all_data', 'pg_read_all_data') and p.oid "
	           "<> r.oid where not r.rolsuper and r.rolname OPERATOR(pg_catalog.!~) '^pg_' "
	           "and pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER') order by 2, 1",
	           1, p, &r);
	pw_free(arr);
	if (rc < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), ok = PW_BUF_INIT(LIST_CAP),
	              fix = PW_BUF_INIT(LIST_CAP);
	size_t nbad = 0, more = 0, more_ok = 0, more_fix = 0;
	enum chk_severity sev = CHK_SEV_HIGH;
	for (int i = 0; i < pg_nrows(r); i++) {
		const char *who = pg_value(r, i, 0), *pre = pg_value(r, i, 1);
		bool direct = *pg_value(r, i, 3) == 't', ro = *pg_value(r, i, 4) == 't';
		bool backup =
		    x->st && x->st->backup_role[0] && strcmp(x->st->backup_role, who) == 0;
		if (strcmp(pre, "pg_read_all_data") == 0 && (ro || backup)) {
			if (room(&ok, &more_ok))
				pw_buf_printf(&ok, "%s%s (%s)", ok.len ? ", " : "", who,
				              backup ? "takes this stanza's backups" : "read-only");
			continue;
		}
		nbad++;
		if (strcmp(pre, "pg_execute_server_program") == 0 ||
		    strcmp(pre, "pg_write_server_files") == 0)
			sev = CHK_SEV_CRITICAL;
		if (room(&ev, &more))
			pw_buf_printf(&ev, "%s%s is %s member of %s%s", ev.len ? "; " : "", who,
			              direct ? "a direct" : "an inherited", pre,
			              *pg_value(r, i, 2) == 't' ? " (LOGIN)" : "");
		if (room(&fix, &more_fix)) {
			char *qw = chk_quote_ident(who);
			if (direct)
				pw_buf_printf(&fix, "%sREVOKE %s FROM %s;", fix.len ? "\n" : "",
				              pre, qw);
			else
				pw_buf_printf(&fix,
				              "%s-- %s holds %s through another role: revoke that "
				              "role's membership (\\du %s)",
				              fix.len ? "\n" : "", who, pre, who);
			pw_free(qw);
		}
	}
	more_tail(&ev, more, "; ");
	more_tail(&ok, more_ok, ", ");
	more_tail(&fix, more_fix, "\n");
	if (!nbad) {
		chk_set(f, CHK_PASS, CHK_SEV_CRITICAL,
		        "no role other than superusers holds pg_execute_server_program, "
		        "pg_write_server_files, pg_read_server_files or pg_write_all_data, and "
		        "pg_read_all_data only where expected%s%s%s",
		        ok.len ? " (" : "", pw_buf_str(&ok), ok.len ? ")" : "");
	} else {
		chk_set(f, CHK_FAIL, sev, "%s%s%s", pw_buf_str(&ev), ok.len ? "; expected: " : "",
		        ok.len ? pw_buf_str(&ok) : "");
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&ev, 0);
	pw_buf_free(&ok, 0);
	pw_buf_free(&fix, 0);
	pg_result_free(r);
}

/* --- auth.hba-weak-methods ----------------------------------------------------------------- */

static void hba_errors_note(struct chk_ctx *x, struct chk_finding *f)
{
	int bad = 0;
	for (int i = 0; i < pg_nrows(x->hba); i++)
		bad += !pg_isnull(x->hba, i, 7);
	if (!bad || f->result == CHK_FAIL)
		return;
	char *old = f->evidence;
	size_t n = strlen(old) + 200;
	f->evidence = pw_malloc(n);
	snprintf(f->evidence, n,
	         "%s; pg_hba.conf on disk has %d line%s with errors, not judged (see "
	         "tls.enforced)",
	         old, bad, bad == 1 ? "" : "s");
	pw_free(old);
	f->result = CHK_WARN;
	f->severity = CHK_SEV_MEDIUM;
}

static void rule_hba_weak(struct chk_ctx *x, struct chk_finding *f)
{
	if (!need_hba(x, f))
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t nbad = 0, more = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(x->hba); i++) {
		if (!pg_isnull(x->hba, i, 7))
			continue;
		struct chk_hba_line l = chk_hba_row(x->hba, i);
		const char *why = chk_hba_weak(&l);
		if (!why)
			continue;
		nbad++;
		if (room(&ev, &more)) {
			pw_buf_printf(&ev, "%s", ev.len ? "; " : "");
			chk_hba_describe(&ev, x->hba, i);
			pw_buf_printf(&ev, " (%s)", why);
		}
		if (!room(&fix, &more_fix))
			continue;
		const char *ln = pg_value(x->hba, i, 0);
		if (strcmp(l.method, "md5") == 0 || strcmp(l.method, "ident") == 0)
			pw_buf_printf(&fix, "%sline %s: %s -> scram-sha-256", fix.len ? "\n" : "",
			              ln, l.method);
		else
			pw_buf_printf(&fix, "%sline %s: %s -> hostssl (or %s -> scram-sha-256)",
			              fix.len ? "\n" : "", ln, l.type, l.method);
	}
	more_tail(&ev, more, "; ");
	more_tail(&fix, more_fix, "\n");
	if (nbad) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH, "%zu hba line%s with a weak method: %s", nbad,
		        nbad == 1 ? "" : "s", pw_buf_str(&ev));
		pw_buf_printf(&fix,
		              "\n# pg_hba.conf, then SELECT pg_reload_conf(); before md5 -> "
		              "scram-sha-256, set password_encryption = 'scram-sha-256' and set "
		              "each password again");
		f->fix = chk_take(&fix);
	} else {
		chk_set(
		    f, CHK_PASS, CHK_SEV_HIGH,
		    "no md5, no ident over TCP, and no method that sends the password in clear "
		    "(password, ldap, radius, pam, bsd) on a line without TLS, in %d hba line%s",
		    pg_nrows(x->hba), pg_nrows(x->hba) == 1 ? "" : "s");
	}
	hba_errors_note(x, f);
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
}

/* --- net.hba-privileged-remote ------------------------------------------------------------- */

static void rule_hba_privileged(struct chk_ctx *x, struct chk_finding *f)
{
	if (!need_hba(x, f))
		return;
	/* hba lines x login roles that are superusers or may replicate, matched by the line's
	 * user list ("all", the name, "+group" membership); a superuser on any database, a
	 * replication role on the "replication" keyword. "+group" is real membership, direct or
	 * through other roles: pg_has_role would count a superuser as a member of every role,
	 * and hba does not. */
	struct pg_result *r;
	if (q(x, f,
	      "select h.line_number, r.rolname, r.rolsuper, 'replication' = any(h.database) "
	      "from pg_catalog.pg_hba_file_rules h join pg_catalog.pg_roles r on r.rolcanlogin "
	      "and (r.rolsuper or r.rolreplication) where h.error is null and h.type <> 'local' "
	      "and h.auth_method <> 'reject' and ('all' = any(h.user_name) or r.rolname = "
	      "any(h.user_name) or exists (select 1 from pg_catalog.unnest(h.user_name) u join "
	      "pg_catalog.pg_roles g on '+' operator(pg_catalog.||) g.rolname = u where exists "
	      "(with recursive rel(oid) as (select g.oid union select am.member from "
	      "pg_catalog.pg_auth_members am join rel on am.roleid = rel.oid) select 1 from rel "
	      "where rel.oid = r.oid))) and (r.rolsuper or "
	      "'replication' = any(h.database)) order by 1, 2",
	      0, NULL, &r) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t nbad = 0, more = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(r); i++) {
		/* find the line in x->hba for its scope */
		int li = -1;
		for (int j = 0; j < pg_nrows(x->hba); j++)
			if (strcmp(pg_value(x->hba, j, 0), pg_value(r, i, 0)) == 0)
				li = j;
		if (li < 0)
			continue;
		struct chk_hba_line l = chk_hba_row(x->hba, li);
		enum chk_hba_scope s = chk_hba_scope(&l);
		if (s == CHK_HBA_LOCAL || s == CHK_HBA_LOOPBACK)
			continue;
		bool super = *pg_value(r, i, 2) == 't', repl = *pg_value(r, i, 3) == 't';
		const char *who = pg_value(r, i, 1);
		/* the first matching line wins: an earlier reject line for this role, these
		 * databases and a network containing this one's shadows it */
		bool shadowed = false;
		for (int j = 0; j < li && !shadowed; j++) {
			struct chk_hba_line e = chk_hba_row(x->hba, j);
			if (!pg_isnull(x->hba, j, 7) || strcmp(e.method, "reject") != 0)
				continue;
			bool users = chk_list_has(e.users, "all") || chk_list_has(e.users, who);
			bool dbs = repl && !super ? chk_list_has(e.databases, "replication")
			                          : chk_list_has(e.databases, "all");
			shadowed = users && dbs && chk_hba_covers(&e, &l);
		}
		if (shadowed)
			continue;
		nbad++;
		if (room(&ev, &more)) {
			pw_buf_printf(&ev, "%s%s %s from the network by ", ev.len ? "; " : "",
			              super ? "superuser" : "replication role", who);
			chk_hba_describe(&ev, x->hba, li);
			if (repl)
				pw_buf_printf(&ev, " (replication: a copy of every table)");
		}
		if (room(&fix, &more_fix)) {
			int bits = chk_netmask_bits(l.netmask);
			pw_buf_printf(&fix, "%s# above line %s:\nhost%s %s ", fix.len ? "\n" : "",
			              pg_value(r, i, 0), "",
			              repl && !super ? "replication" : "all");
			hba_name(&fix, who);
			if (l.address && bits >= 0)
				pw_buf_printf(&fix, " %s/%d reject", l.address, bits);
			else
				pw_buf_printf(&fix, " %s reject", l.address ? l.address : "all");
		}
	}
	more_tail(&ev, more, "; ");
	more_tail(&fix, more_fix, "\n");
	pg_result_free(r);
	if (nbad) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH, "%s", pw_buf_str(&ev));
		pw_buf_printf(&fix,
		              "\n# pg_hba.conf, then SELECT pg_reload_conf(); administer over the "
		              "local socket or a bastion, and let replication in from the "
		              "standbys' addresses only (the first matching line wins)");
		f->fix = chk_take(&fix);
	} else {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "no hba line outside loopback lets a superuser log in or a replication "
		        "role stream");
	}
	hba_errors_note(x, f);
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
}

/* --- roles.privileged-attributes ----------------------------------------------------------- */

static void rule_privileged_attributes(struct chk_ctx *x, struct chk_finding *f)
{
	struct pg_result *r;
	if (q(x, f,
	      "select rolname, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
	      "rolcanlogin from pg_catalog.pg_roles where not rolsuper and rolname "
	      "OPERATOR(pg_catalog.!~) '^pg_' and (rolcreaterole or rolcreatedb or rolreplication "
	      "or rolbypassrls) order by 1",
	      0, NULL, &r) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), ok = PW_BUF_INIT(LIST_CAP),
	              fix = PW_BUF_INIT(LIST_CAP);
	size_t nbad = 0, more = 0, more_fix = 0, more_ok = 0;
	enum chk_severity sev = CHK_SEV_MEDIUM;
	for (int i = 0; i < pg_nrows(r); i++) {
		const char *who = pg_value(r, i, 0);
		bool cr = *pg_value(r, i, 1) == 't', cd = *pg_value(r, i, 2) == 't',
		     rp = *pg_value(r, i, 3) == 't', by = *pg_value(r, i, 4) == 't';
		bool backup =
		    x->st && x->st->backup_role[0] && strcmp(x->st->backup_role, who) == 0;
		if (backup && by && !cr && !cd && !rp) {
			/* pgward backs up with BYPASSRLS so that a dump holds every row */
			if (room(&ok, &more_ok))
				pw_buf_printf(&ok, "%s%s", ok.len ? ", " : "", who);
			continue;
		}
		nbad++;
		if (cr || rp || by)
			sev = CHK_SEV_HIGH;
		if (room(&ev, &more)) {
			pw_buf_printf(&ev, "%s%s%s:", ev.len ? "; " : "", who,
			              *pg_value(r, i, 5) == 't' ? " (LOGIN)" : "");
			if (cr)
				pw_buf_printf(&ev, " CREATEROLE (creates roles and grants them "
				                   "memberships it administers)");
			if (cd)
				pw_buf_printf(&ev, " CREATEDB (creates databases it owns)");
			if (rp)
				pw_buf_printf(&ev, " REPLICATION (streams a copy of every table)");
			if (by)
				pw_buf_printf(&ev,
				              " BYPASSRLS (ignores every row security policy)");
		}
		if (room(&fix, &more_fix)) {
			char *qw = chk_quote_ident(who);
			pw_buf_printf(&fix, "%sALTER ROLE %s%s%s%s%s;", fix.len ? "\n" : "", qw,
			              cr ? " NOCREATEROLE" : "", cd ? " NOCREATEDB" : "",
			              rp ? " NOREPLICATION" : "", by ? " NOBYPASSRLS" : "");
			pw_free(qw);
		}
	}
	more_tail(&ev, more, "; ");
	more_tail(&ok, more_ok, ", ");
	more_tail(&fix, more_fix, "\n");
	pg_result_free(r);
	if (nbad) {
		chk_set(f, CHK_FAIL, sev,
		        "%zu non-superuser role%s with administrative attributes: %s", nbad,
		        nbad == 1 ? "" : "s", pw_buf_str(&ev));
		pw_buf_printf(&fix, "\n-- keep an attribute only on a role that needs it (a "
		                    "standby's replication role, an administrator)");
		f->fix = chk_take(&fix);
	} else {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "no non-superuser role has CREATEROLE, CREATEDB, REPLICATION or "
		        "BYPASSRLS%s%s%s",
		        ok.len ? " (but BYPASSRLS on the backup role: " : "", pw_buf_str(&ok),
		        ok.len ? ")" : "");
	}
	pw_buf_free(&ev, 0);
	pw_buf_free(&ok, 0);
	pw_buf_free(&fix, 0);
}

/* --- version.minor-current ----------------------------------------------------------------- */

static void rule_minor_current(struct chk_ctx *x, struct chk_finding *f)
{
	int latest, behind;
	bool stale;
	enum chk_minor_state s = chk_minor_judge(x->version, x->o->now, &latest, &behind, &stale);
	char tdate[PW_TIME_MAX];
	pw_time_format(chk_minor_table_date(), PW_TIME_DATE, tdate);
	int major = x->version / 10000;
	if (s == CHK_MINOR_UNKNOWN)
		DONE(chk_set(f, CHK_INFO, CHK_SEV_HIGH,
		             "PostgreSQL %s: major version not in pgward's table of latest minor "
		             "releases (of %s); see version.supported",
		             x->r->server_version, tdate));
	if (s == CHK_MINOR_BEHIND) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "PostgreSQL %s: %d.%d is the latest minor release in pgward's table of %s "
		        "(%d release%s behind; each carries security fixes)%s",
		        x->r->server_version, major, latest, tdate, behind, behind == 1 ? "" : "s",
		        stale ? "; the table is more than 6 months old, newer releases may exist"
		              : "");
		DONE(chk_fix(f,
		             "install the latest %d.x packages and restart the server (a minor "
		             "update needs no dump or pg_upgrade); see "
		             "https://www.postgresql.org/support/versioning/",
		             major));
	}
	if (stale)
		DONE(chk_set(f, CHK_INFO, CHK_SEV_HIGH,
		             "PostgreSQL %s: at or above %d.%d, the latest minor release in "
		             "pgward's table of %s, but the table may be stale (more than 6 months "
		             "old): compare with https://www.postgresql.org/support/versioning/",
		             x->r->server_version, major, latest, tdate));
	chk_set(f, CHK_PASS, CHK_SEV_HIGH,
	        "PostgreSQL %s: the latest minor release (%d.%d in pgward's table of %s)",
	        x->r->server_version, major, latest, tdate);
}

/* --- priv.rls-consistency ------------------------------------------------------------------ */

static void rule_rls(struct chk_ctx *x, struct chk_finding *f)
{
	struct pg_result *r;
	if (q(x, f,
	      "select 'off', pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(c.relname), '', '' from pg_catalog.pg_class c join "
	      "pg_catalog.pg_namespace n on n.oid = c.relnamespace where not c.relrowsecurity "
	      "and exists (select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid) "
	      "union all "
	      "select 'nopolicy', pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(c.relname), '', '' from pg_catalog.pg_class c join "
	      "pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.relrowsecurity and "
	      "not exists (select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid) "
	      "union all "
	      "select 'true', pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(c.relname), pg_catalog.quote_ident(p.polname), "
	      "p.polcmd::text from pg_catalog.pg_policy p join pg_catalog.pg_class c on c.oid = "
	      "p.polrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace where "
	      "p.polpermissive and p.polcmd in ('a', 'w', 'd', '*') and 0 = any(p.polroles) and "
	      "(case when p.polcmd = 'a' then pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) "
	      "else coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), "
	      "pg_catalog.pg_get_expr(p.polqual, p.polrelid)) end) = 'true' "
	      "union all "
	      "select 'owner', pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(c.relname), o.rolname, '' from pg_catalog.pg_class c join "
	      "pg_catalog.pg_namespace n on n.oid = c.relnamespace join pg_catalog.pg_roles o on "
	      "o.oid = c.relowner where c.relrowsecurity and not c.relforcerowsecurity and "
	      "o.rolcanlogin and not o.rolsuper order by 1, 2, 3",
	      0, NULL, &r) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t more = 0, more_fix = 0;
	enum chk_result res = CHK_PASS;
	enum chk_severity sev = CHK_SEV_HIGH;
	for (int i = 0; i < pg_nrows(r); i++) {
		const char *k = pg_value(r, i, 0), *t = pg_value(r, i, 1), *a = pg_value(r, i, 2);
		bool off = strcmp(k, "off") == 0;
		if (off) {
			res = CHK_FAIL, sev = CHK_SEV_HIGH;
		} else if (res == CHK_PASS) {
			res = CHK_WARN, sev = CHK_SEV_MEDIUM;
		}
		if (room(&ev, &more)) {
			pw_buf_printf(&ev, "%s", ev.len ? "; " : "");
			if (off)
				pw_buf_printf(&ev,
				              "%s has policies but row security is off (the "
				              "policies do nothing)",
				              t);
			else if (strcmp(k, "nopolicy") == 0)
				pw_buf_printf(&ev,
				              "%s has row security on and no policy (only its "
				              "owner sees rows)",
				              t);
			else if (strcmp(k, "true") == 0)
				pw_buf_printf(&ev, "policy %s on %s lets PUBLIC write any row (%s)",
				              a, t, "always true");
			else
				pw_buf_printf(&ev,
				              "%s is owned by LOGIN role %s, which bypasses its "
				              "policies (no FORCE ROW LEVEL SECURITY)",
				              t, a);
		}
		if (!room(&fix, &more_fix))
			continue;
		if (fix.len)
			pw_buf_printf(&fix, "\n");
		/* the server's quote_ident keeps a newline inside quotes: requoted on one line,
		 * and no name inside a -- comment */
		char *qt = chk_requote(t), *qa = chk_requote(a);
		if (off)
			pw_buf_printf(&fix, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;", qt);
		else if (strcmp(k, "nopolicy") == 0)
			pw_buf_printf(
			    &fix,
			    "-- add the policies the table needs (CREATE POLICY ... ON the "
			    "table), or if row security was not meant:\nALTER TABLE %s "
			    "DISABLE ROW LEVEL SECURITY;",
			    qt);
		else if (strcmp(k, "true") == 0)
			pw_buf_printf(&fix,
			              "DROP POLICY %s ON %s; -- then write one with a real "
			              "condition and named roles",
			              qa, qt);
		else
			pw_buf_printf(&fix, "ALTER TABLE %s FORCE ROW LEVEL SECURITY;", qt);
		pw_free(qt);
		pw_free(qa);
	}
	more_tail(&ev, more, "; ");
	more_tail(&fix, more_fix, "\n");
	if (res == CHK_PASS) {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "in database %s, every table with policies has row security on, every "
		        "table with row security has a policy, no write policy to PUBLIC is always "
		        "true, and no LOGIN role owns a table whose policies it bypasses",
		        x->r->database);
	} else {
		chk_set(f, res, sev, "in database %s: %s", x->r->database, pw_buf_str(&ev));
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
	pg_result_free(r);
}

/* --- priv.secdef-views --------------------------------------------------------------------- */

static void rule_secdef_views(struct chk_ctx *x, struct chk_finding *f)
{
	/* views that run as their owner (no security_invoker) although someone else may read
	 * them, whose owner is a superuser or BYPASSRLS, or that read a table with row security
	 * (the view reads it as the owner) */
	struct pg_result *r;
	if (q(x, f,
	      "select pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(v.relname), o.rolname, o.rolsuper or o.rolbypassrls, "
	      "exists (select 1 from pg_catalog.pg_rewrite w join pg_catalog.pg_depend d on "
	      "d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass and d.objid = w.oid and "
	      "d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass join "
	      "pg_catalog.pg_class t on t.oid = d.refobjid where w.ev_class = v.oid and "
	      "t.oid <> v.oid and t.relrowsecurity) "
	      "from pg_catalog.pg_class v join pg_catalog.pg_namespace n on n.oid = "
	      "v.relnamespace join pg_catalog.pg_roles o on o.oid = v.relowner where v.relkind = "
	      "'v' and n.nspname not in ('pg_catalog', 'information_schema') and not "
	      "coalesce(v.reloptions @> array['security_invoker=true'] or v.reloptions @> "
	      "array['security_invoker=on'] or v.reloptions @> array['security_invoker=1'], "
	      "false) and exists (select 1 from pg_catalog.aclexplode(v.relacl) a where "
	      "a.grantee <> v.relowner and a.privilege_type = 'SELECT') order by 1",
	      0, NULL, &r) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t n = 0, more = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(r); i++) {
		bool priv = *pg_value(r, i, 2) == 't', rls = *pg_value(r, i, 3) == 't';
		if (!priv && !rls)
			continue;
		n++;
		if (room(&ev, &more))
			pw_buf_printf(&ev, "%s%s (owner %s%s%s)", ev.len ? "; " : "",
			              pg_value(r, i, 0), pg_value(r, i, 1),
			              priv ? ", superuser or BYPASSRLS" : "",
			              rls ? ", reads a table with row security as its owner" : "");
		if (room(&fix, &more_fix)) {
			char *qv = chk_requote(pg_value(r, i, 0)); /* quote_ident keeps newlines */
			pw_buf_printf(&fix, "%sALTER VIEW %s SET (security_invoker = on);",
			              fix.len ? "\n" : "", qv);
			pw_free(qv);
		}
	}
	more_tail(&ev, more, "; ");
	more_tail(&fix, more_fix, "\n");
	pg_result_free(r);
	if (!n) {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
		        "in database %s, no view readable by other roles runs with a privileged "
		        "owner's rights or around row security",
		        x->r->database);
	} else {
		chk_set(f, CHK_WARN, CHK_SEV_MEDIUM,
		        "in database %s, %zu view%s run%s as %s owner for every reader: %s",
		        x->r->database, n, n == 1 ? "" : "s", n == 1 ? "s" : "",
		        n == 1 ? "its" : "their", pw_buf_str(&ev));
		if (x->version < 150000)
			pw_buf_printf(&fix,
			              "\n-- security_invoker needs PostgreSQL 15; before, own "
			              "the view by an unprivileged role");
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
}

/* --- audit.log-content --------------------------------------------------------------------- */

/* levels of log_min_messages / log_min_error_statement, most verbose first */
static int log_level(const char *v)
{
	static const char *lv[] = {"debug5", "debug4",  "debug3", "debug2", "debug1", "info",
	                           "notice", "warning", "error",  "log",    "fatal",  "panic"};
	for (int i = 0; i < (int)(sizeof lv / sizeof lv[0]); i++)
		if (strcmp(v, lv[i]) == 0)
			return i;
	return -1;
}

static void rule_log_content(struct chk_ctx *x, struct chk_finding *f)
{
	char prefix[512], mm[32], mes[32], rc[32], dp[3][16], mode[16], missing[256];
	if (!setting(x, "log_line_prefix", prefix, sizeof prefix))
		DONE(skip_settings(x, f, "log_line_prefix"));
	if (!setting(x, "log_min_messages", mm, sizeof mm))
		DONE(skip_settings(x, f, "log_min_messages"));
	if (!setting(x, "log_min_error_statement", mes, sizeof mes))
		DONE(skip_settings(x, f, "log_min_error_statement"));
	if (!setting(x, "log_replication_commands", rc, sizeof rc))
		DONE(skip_settings(x, f, "log_replication_commands"));
	static const char *dpn[3] = {"debug_print_parse", "debug_print_rewritten",
	                             "debug_print_plan"};
	for (int i = 0; i < 3; i++)
		if (!setting(x, dpn[i], dp[i], sizeof dp[i]))
			DONE(skip_settings(x, f, dpn[i]));
	if (!setting(x, "log_file_mode", mode, sizeof mode))
		DONE(skip_settings(x, f, "log_file_mode"));
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	enum chk_severity sev = CHK_SEV_INFO;
	pw_buf_printf(&fix, "# postgresql.conf (then SELECT pg_reload_conf();)");
	if (chk_log_prefix_missing(prefix, missing, sizeof missing)) {
		sev = CHK_SEV_MEDIUM;
		pw_buf_printf(&ev, "log_line_prefix = '%s' lacks %s", prefix, missing);
		pw_buf_printf(&fix, "\nlog_line_prefix = '%%m [%%p] %%q%%u@%%d from %%h app=%%a '");
	}
	int lmm = log_level(mm), lmes = log_level(mes);
	if (lmm > log_level("warning")) {
		sev = CHK_SEV_MEDIUM;
		pw_buf_printf(&ev, "%slog_min_messages = %s (warnings are not logged)",
		              ev.len ? "; " : "", mm);
		pw_buf_printf(&fix, "\nlog_min_messages = warning");
	}
	if (lmes > log_level("error")) {
		sev = CHK_SEV_MEDIUM;
		pw_buf_printf(&ev,
		              "%slog_min_error_statement = %s (failing statements are not logged)",
		              ev.len ? "; " : "", mes);
		pw_buf_printf(&fix, "\nlog_min_error_statement = error");
	}
	for (int i = 0; i < 3; i++)
		if (is_on(dp[i])) {
			if (sev < CHK_SEV_LOW)
				sev = CHK_SEV_LOW;
			pw_buf_printf(&ev,
			              "%s%s = on (query trees, with their constants, in the log)",
			              ev.len ? "; " : "", dpn[i]);
			pw_buf_printf(&fix, "\n%s = off", dpn[i]);
		}
	if (!is_on(rc)) {
		if (sev < CHK_SEV_LOW)
			sev = CHK_SEV_LOW;
		pw_buf_printf(&ev, "%slog_replication_commands = %s", ev.len ? "; " : "", rc);
		pw_buf_printf(&fix, "\nlog_replication_commands = on");
	}
	unsigned long m = strtoul(mode, NULL, 8);
	if (m & 0037) { /* group write/execute or any other-access */
		if (sev < CHK_SEV_LOW)
			sev = CHK_SEV_LOW;
		pw_buf_printf(&ev, "%slog_file_mode = %s (others may read the server log)",
		              ev.len ? "; " : "", mode);
		pw_buf_printf(&fix, "\nlog_file_mode = 0600");
	}
	if (sev == CHK_SEV_INFO) {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
		        "log_line_prefix = '%s' (time, user, database, process, client); "
		        "log_min_messages = %s, log_min_error_statement = %s, "
		        "log_replication_commands = %s, debug_print_* off, log_file_mode = %s",
		        prefix, mm, mes, rc, mode);
		pw_buf_free(&fix, 0);
	} else {
		f->evidence = chk_take(&ev);
		f->result = sev >= CHK_SEV_MEDIUM ? CHK_FAIL : CHK_WARN;
		f->severity = sev;
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&ev, 0);
}

/* --- tls.ciphers --------------------------------------------------------------------------- */

static void rule_ciphers(struct chk_ctx *x, struct chk_finding *f)
{
	char list[1024], minv[32], why[512];
	if (!setting(x, "ssl_ciphers", list, sizeof list))
		DONE(skip_settings(x, f, "ssl_ciphers"));
	setting(x, "ssl_min_protocol_version", minv, sizeof minv);
	bool tls13only = strcmp(minv, "TLSv1.3") == 0;
	bool weak = !tls13only && chk_cipher_list_weak(list, why, sizeof why);
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP);
	enum chk_result res = CHK_PASS;
	pw_buf_printf(&ev, "ssl_ciphers = '%s'", list);
	if (tls13only)
		pw_buf_printf(&ev, " (not used: ssl_min_protocol_version = TLSv1.3)");
	if (weak) {
		res = CHK_FAIL;
		pw_buf_printf(&ev, " allows weak TLS 1.2 suites: %s", why);
	}
	/* live sessions: every one with pg_read_all_stats, else only this role's */
	struct pg_result *r;
	if (q(x, f,
	      "select s.version, s.cipher, count(*) from pg_catalog.pg_stat_ssl s where s.ssl "
	      "and s.cipher is not null group by 1, 2 order by 1, 2",
	      0, NULL, &r) < 0) {
		pw_buf_free(&ev, 0);
		return;
	}
	size_t more = 0;
	struct pw_buf bad = PW_BUF_INIT(LIST_CAP);
	for (int i = 0; i < pg_nrows(r); i++) {
		const char *v = pg_value(r, i, 0), *c = pg_value(r, i, 1);
		bool oldv = strcmp(v, "TLSv1") == 0 || strcmp(v, "TLSv1.1") == 0;
		if (!chk_cipher_weak(c) && !oldv)
			continue;
		if (room(&bad, &more))
			pw_buf_printf(&bad, "%s%s %s (%s session%s)", bad.len ? ", " : "", v, c,
			              pg_value(r, i, 2), strcmp(pg_value(r, i, 2), "1") ? "s" : "");
	}
	more_tail(&bad, more, ", ");
	if (bad.len) {
		if (res == CHK_PASS)
			res = CHK_WARN;
		pw_buf_printf(&ev, "; sessions now with a weak cipher: %s", pw_buf_str(&bad));
	} else {
		pw_buf_printf(&ev, "; %d cipher%s in use now, all AEAD with forward secrecy%s",
		              pg_nrows(r), pg_nrows(r) == 1 ? "" : "s",
		              x->stats_ok ? ""
		                          : " (this role's sessions only: other sessions "
		                            "need pg_read_all_stats)");
	}
	pg_result_free(r);
	pw_buf_free(&bad, 0);
	f->evidence = chk_take(&ev);
	f->result = res;
	f->severity = CHK_SEV_MEDIUM;
	if (res != CHK_PASS)
		chk_fix(f, "# postgresql.conf (then SELECT pg_reload_conf();)\n"
		           "ssl_ciphers = 'ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL'\n"
		           "# or, when every client speaks TLS 1.3: ssl_min_protocol_version = "
		           "'TLSv1.3'");
}

/* --- data.wal-archiving -------------------------------------------------------------------- */

static void rule_wal_archiving(struct chk_ctx *x, struct chk_finding *f)
{
	char mode[32];
	if (!setting(x, "archive_mode", mode, sizeof mode))
		DONE(skip_settings(x, f, "archive_mode"));
	struct pg_result *a;
	if (q(x, f,
	      "select archived_count, failed_count, coalesce(last_failed_wal, ''), "
	      "coalesce(pg_catalog.to_char(last_failed_time at time zone 'UTC', "
	      "'YYYY-MM-DD HH24:MI:SS'), ''), coalesce(pg_catalog.to_char(last_archived_time at "
	      "time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'), ''), last_failed_time is not null and "
	      "(last_archived_time is null or last_failed_time > last_archived_time), "
	      "coalesce(pg_catalog.now() - last_archived_time > interval '1 day', true) "
	      "from pg_catalog.pg_stat_archiver",
	      0, NULL, &a) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	enum chk_result res = CHK_PASS;
	enum chk_severity sev = CHK_SEV_HIGH;
	bool on = strcmp(mode, "on") == 0 || strcmp(mode, "always") == 0;
	pw_buf_printf(&ev, "archive_mode = %s", mode);
	if (!on) {
		res = CHK_WARN, sev = CHK_SEV_MEDIUM;
		pw_buf_printf(&ev,
		              " (no WAL archive: without one, or WAL streamed through a "
		              "replication slot such as pgward wal-stream's (backup.pitr judges "
		              "that), there is no point-in-time recovery)");
		pw_buf_printf(&fix, "# postgresql.conf, then restart\narchive_mode = on\n"
		                    "archive_command = '<copy %%p to the archive>'  # or "
		                    "archive_library");
	} else if (pg_nrows(a) == 1) {
		bool failing = *pg_value(a, 0, 5) == 't', stale = *pg_value(a, 0, 6) == 't';
		pw_buf_printf(&ev, "; %s archived, %s failed", pg_value(a, 0, 0),
		              pg_value(a, 0, 1));
		if (failing) {
			res = CHK_FAIL, sev = CHK_SEV_HIGH;
			pw_buf_printf(
			    &ev, "; archiving is failing now: last failure %s UTC (%s)%s%s",
			    pg_value(a, 0, 3), pg_value(a, 0, 2),
			    *pg_value(a, 0, 4) ? " after the last success " : ", no success",
			    pg_value(a, 0, 4));
			pw_buf_printf(&fix, "fix archive_command (the server log says why it "
			                    "fails); WAL piles up in pg_wal until it works");
		} else if (stale) {
			res = CHK_WARN, sev = CHK_SEV_MEDIUM;
			pw_buf_printf(&ev, "; no segment archived in the last 24 h (last: %s)",
			              *pg_value(a, 0, 4) ? pg_value(a, 0, 4) : "never");
			pw_buf_printf(&fix, "# postgresql.conf: a quiet server archives nothing "
			                    "without it\narchive_timeout = '15min'");
		}
	}
	pg_result_free(a);
	f->evidence = chk_take(&ev);
	f->result = res;
	f->severity = sev;
	if (fix.len)
		f->fix = chk_take(&fix);
	pw_buf_free(&fix, 0);
}

/* --- replication.slots --------------------------------------------------------------------- */

/* pg_replication_slots is metadata every role may read (no privilege to test). An inactive
 * slot holding WAL is high whatever the amount: it grows until the disk is full. */
static void rule_slots(struct chk_ctx *x, struct chk_finding *f)
{
	struct pg_result *s;
	if (q(x, f,
	      "select slot_name, slot_type, active, coalesce(wal_status, '') = 'lost', "
	      "coalesce(pg_catalog.pg_wal_lsn_diff(case when pg_catalog.pg_is_in_recovery() then "
	      "pg_catalog.pg_last_wal_replay_lsn() else pg_catalog.pg_current_wal_lsn() end, "
	      "restart_lsn), 0), restart_lsn is not null from pg_catalog.pg_replication_slots "
	      "order by 1",
	      0, NULL, &s) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t more = 0;
	int bad = 0, n = pg_nrows(s);
	for (int i = 0; i < n; i++) {
		const char *name = pg_value(s, i, 0);
		bool active = *pg_value(s, i, 2) == 't', lost = *pg_value(s, i, 3) == 't';
		double bytes = strtod(pg_value(s, i, 4), NULL);
		bool holds = *pg_value(s, i, 5) == 't'; /* WAL from restart_lsn on is kept */
		if ((active && !lost) || (!lost && !holds))
			continue;
		bad++;
		char h[32];
		pw_human_size(bytes > 0 ? (uint64_t)bytes : 0, " ", h, sizeof h);
		if (room(&ev, &more)) {
			if (lost)
				pw_buf_printf(
				    &ev,
				    "%s%s replication slot %s is lost (the server removed "
				    "WAL it needed: its consumer cannot resume)",
				    bad > 1 ? "; " : "", pg_value(s, i, 1), name);
			else
				pw_buf_printf(&ev,
				              "%sinactive %s replication slot %s retains %s of WAL",
				              bad > 1 ? "; " : "", pg_value(s, i, 1), name, h);
		}
		char *lit = pg_quote_literal(x->c, name);
		pw_buf_printf(
		    &fix,
		    "%sSELECT pg_catalog.pg_drop_replication_slot(%s); -- only if nothing "
		    "will consume it again",
		    fix.len ? "\n" : "", lit);
		pw_free(lit);
	}
	more_tail(&ev, more, "; ");
	if (!bad)
		pw_buf_printf(&ev,
		              n ? "%d replication slot%s, each active or reserving no WAL"
		                : "no replication slot",
		              n, n == 1 ? "" : "s");
	pg_result_free(s);
	f->evidence = chk_take(&ev);
	f->result = bad ? CHK_FAIL : CHK_PASS;
	f->severity = CHK_SEV_HIGH;
	if (bad) {
		pw_buf_printf(&fix,
		              "\n-- or start its consumer again (pgward wal-stream STANZA, the "
		              "standby); and cap what a slot may hold: max_slot_wal_keep_size");
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&fix, 0);
}

/* --- config.unsafe-settings ---------------------------------------------------------------- */

static void rule_unsafe_settings(struct chk_ctx *x, struct chk_finding *f)
{
	static const struct {
		const char *name, *safe, *what;
		enum chk_severity sev;
	} bad[] = {
	    {"fsync", "on", "a crash can corrupt the cluster", CHK_SEV_HIGH},
	    {"full_page_writes", "on", "a crash can leave torn pages", CHK_SEV_HIGH},
	    {"zero_damaged_pages", "off", "damaged pages are silently zeroed (data lost)",
	     CHK_SEV_HIGH},
	    {"ignore_checksum_failure", "off", "corrupt pages are read as good", CHK_SEV_HIGH},
	    {"allow_system_table_mods", "off", "superusers may alter the catalogs' structure",
	     CHK_SEV_HIGH},
	    {"lo_compat_privileges", "off", "every role may read and write every large object",
	     CHK_SEV_MEDIUM},
	};
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	enum chk_severity sev = CHK_SEV_INFO;
	char v[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!setting(x, bad[i].name, v, sizeof v)) {
			pw_buf_free(&ev, 0);
			pw_buf_free(&fix, 0);
			DONE(skip_settings(x, f, bad[i].name));
		}
		if (strcmp(v, bad[i].safe) == 0)
			continue;
		if (bad[i].sev > sev)
			sev = bad[i].sev;
		pw_buf_printf(&ev, "%s%s = %s (%s)", ev.len ? "; " : "", bad[i].name, v,
		              bad[i].what);
		pw_buf_printf(&fix, "%sALTER SYSTEM SET %s = %s;", fix.len ? "\n" : "", bad[i].name,
		              bad[i].safe);
	}
	/* libraries loaded into every session by configuration (session_) or by any user from
	 * $libdir/plugins (local_) */
	static const char *libs[] = {"session_preload_libraries", "local_preload_libraries"};
	for (size_t i = 0; i < 2; i++) {
		if (!setting(x, libs[i], v, sizeof v) || !*v)
			continue;
		if (sev < CHK_SEV_MEDIUM)
			sev = CHK_SEV_MEDIUM;
		pw_buf_printf(&ev, "%s%s = '%s' (loaded into every session; check each library)",
		              ev.len ? "; " : "", libs[i], v);
		pw_buf_printf(&fix, "%sALTER SYSTEM RESET %s; -- if not needed",
		              fix.len ? "\n" : "", libs[i]);
	}
	char spl[1024];
	bool spl_vis = setting(x, "shared_preload_libraries", spl, sizeof spl);
	struct pg_result *r;
	if (q(x, f, "select name from pg_catalog.pg_settings where pending_restart order by 1", 0,
	      NULL, &r) < 0) {
		pw_buf_free(&ev, 0);
		pw_buf_free(&fix, 0);
		return;
	}
	if (pg_nrows(r)) {
		if (sev < CHK_SEV_MEDIUM)
			sev = CHK_SEV_MEDIUM;
		pw_buf_printf(&ev,
		              "%s%d setting%s changed in the configuration but waiting for a "
		              "restart (the server runs the old value):",
		              ev.len ? "; " : "", pg_nrows(r), pg_nrows(r) == 1 ? "" : "s");
		for (int i = 0; i < pg_nrows(r) && i < 20; i++)
			pw_buf_printf(&ev, " %s", pg_value(r, i, 0));
		pw_buf_printf(&fix,
		              "%s# restart the server (pg_ctl restart, systemctl restart "
		              "postgresql) so the pending settings apply",
		              fix.len ? "\n" : "");
	}
	pg_result_free(r);
	if (sev == CHK_SEV_INFO) {
		chk_set(
		    f, CHK_PASS, CHK_SEV_HIGH,
		    "fsync and full_page_writes on; zero_damaged_pages, ignore_checksum_failure, "
		    "allow_system_table_mods, lo_compat_privileges off; no session or local "
		    "preload library; nothing waits for a restart; shared_preload_libraries = "
		    "%s%s%s",
		    spl_vis ? "'" : "", spl_vis ? spl : "(hidden: needs pg_read_all_settings)",
		    spl_vis ? "'" : "");
		pw_buf_free(&ev, 0);
		pw_buf_free(&fix, 0);
		return;
	}
	if (fix.len && strstr(pw_buf_str(&fix), "ALTER SYSTEM"))
		pw_buf_printf(&fix, "\nSELECT pg_catalog.pg_reload_conf();");
	f->evidence = chk_take(&ev);
	f->result = CHK_FAIL;
	f->severity = sev;
	f->fix = chk_take(&fix);
}

/* --- priv.extensions ----------------------------------------------------------------------- */

static void rule_extensions(struct chk_ctx *x, struct chk_finding *f)
{
	struct pg_result *r;
	if (q(x, f,
	      "select e.extname, n.nspname, pg_catalog.has_schema_privilege('public', n.oid, "
	      "'CREATE'), e.extversion, coalesce(a.default_version, ''), e.extrelocatable "
	      "from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = "
	      "e.extnamespace left join pg_catalog.pg_available_extensions a on a.name = "
	      "e.extname where e.extname <> 'plpgsql' order by 1",
	      0, NULL, &r) < 0)
		return;
	static const char *risky[] = {"adminpack",   "file_fdw",   "dblink",     "postgres_fdw",
	                              "pageinspect", "pg_surgery", "xml2",       "pg_freespacemap",
	                              "lo",          "plperlu",    "plpython3u", "pltclu"};
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	enum chk_result res = CHK_PASS;
	enum chk_severity sev = CHK_SEV_MEDIUM;
	size_t more = 0;
	for (int i = 0; i < pg_nrows(r); i++) {
		const char *e = pg_value(r, i, 0), *ns = pg_value(r, i, 1);
		char *qe = chk_quote_ident(e), *qn = chk_quote_ident(ns);
		if (*pg_value(r, i, 2) == 't') {
			res = CHK_FAIL, sev = CHK_SEV_MEDIUM;
			if (room(&ev, &more))
				pw_buf_printf(&ev,
				              "%sextension %s is in schema %s, where PUBLIC may "
				              "CREATE (anyone can plant objects its functions "
				              "resolve)",
				              ev.len ? "; " : "", e, ns);
			pw_buf_printf(&fix, "%sREVOKE CREATE ON SCHEMA %s FROM PUBLIC;",
			              fix.len ? "\n" : "", qn);
		}
		const char *dv = pg_value(r, i, 4);
		if (*dv && strcmp(dv, pg_value(r, i, 3)) != 0) {
			if (res == CHK_PASS)
				res = CHK_WARN, sev = CHK_SEV_LOW;
			if (room(&ev, &more))
				pw_buf_printf(&ev,
				              "%sextension %s %s is older than the installed "
				              "%s",
				              ev.len ? "; " : "", e, pg_value(r, i, 3), dv);
			pw_buf_printf(&fix, "%sALTER EXTENSION %s UPDATE;", fix.len ? "\n" : "",
			              qe);
		}
		for (size_t k = 0; k < sizeof risky / sizeof risky[0]; k++)
			if (strcmp(e, risky[k]) == 0) {
				if (res == CHK_PASS)
					res = CHK_WARN, sev = CHK_SEV_LOW;
				if (room(&ev, &more))
					pw_buf_printf(&ev,
					              "%sextension %s reaches beyond the database "
					              "(server files, other servers or raw pages)",
					              ev.len ? "; " : "", e);
				pw_buf_printf(&fix, "%sDROP EXTENSION %s; -- if nothing uses it",
				              fix.len ? "\n" : "", qe);
			}
		pw_free(qe);
		pw_free(qn);
	}
	more_tail(&ev, more, "; ");
	if (res == CHK_PASS) {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
		        "database %s: %d extension%s besides plpgsql, none in a schema PUBLIC may "
		        "write to, none outdated, none on pgward's list of risky ones",
		        x->r->database, pg_nrows(r), pg_nrows(r) == 1 ? "" : "s");
	} else {
		f->evidence = chk_take(&ev);
		f->result = res;
		f->severity = sev;
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
	pg_result_free(r);
}

/* --- auth.password-policy ------------------------------------------------------------------ */

static void rule_password_policy(struct chk_ctx *x, struct chk_finding *f)
{
	char spl[1024], at[32];
	if (!setting(x, "shared_preload_libraries", spl, sizeof spl))
		DONE(skip_settings(x, f, "shared_preload_libraries"));
	if (!setting(x, "authentication_timeout", at, sizeof at))
		DONE(skip_settings(x, f, "authentication_timeout"));
	struct pg_result *r;
	if (q(x, f,
	      "select count(*) filter (where rolvaliduntil is null or rolvaliduntil = 'infinity'), "
	      "count(*) from pg_catalog.pg_roles where rolcanlogin and not rolsuper and rolname "
	      "OPERATOR(pg_catalog.!~) '^pg_'",
	      0, NULL, &r) < 0)
		return;
	bool quality = chk_lib_listed(spl, "passwordcheck") || chk_lib_listed(spl, "credcheck");
	bool delay = chk_lib_listed(spl, "auth_delay");
	long secs = strtol(at, NULL, 10);
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	enum chk_severity sev = CHK_SEV_INFO;
	pw_buf_printf(&ev, "shared_preload_libraries = '%s'", spl);
	pw_buf_printf(&fix, "# postgresql.conf");
	if (!quality) {
		sev = CHK_SEV_MEDIUM;
		pw_buf_printf(&ev, "; no password quality module (passwordcheck, credcheck)");
	}
	if (!delay) {
		if (sev < CHK_SEV_LOW)
			sev = CHK_SEV_LOW;
		pw_buf_printf(&ev, "; auth_delay not loaded (failed logins answered at once)");
	}
	if (!quality || !delay) {
		pw_buf_printf(&fix,
		              " (restart for shared_preload_libraries)\n"
		              "shared_preload_libraries = '%s%s%s%s'",
		              spl, *spl ? ", " : "", !quality ? "passwordcheck" : "",
		              !delay ? (!quality ? ", auth_delay" : "auth_delay") : "");
		if (!delay)
			pw_buf_printf(&fix, "\nauth_delay.milliseconds = 500");
	}
	pw_buf_printf(&ev, "; authentication_timeout = %ss", at);
	if (secs > 60) {
		if (sev < CHK_SEV_LOW)
			sev = CHK_SEV_LOW;
		pw_buf_printf(&ev, " (more than 60 s for an unauthenticated connection)");
		pw_buf_printf(&fix, "\nauthentication_timeout = '30s'  # reload is enough");
	}
	pw_buf_printf(&ev, "; %s of %s non-superuser LOGIN role%s have no VALID UNTIL",
	              pg_value(r, 0, 0), pg_value(r, 0, 1),
	              strcmp(pg_value(r, 0, 1), "1") ? "s" : "");
	pg_result_free(r);
	if (sev == CHK_SEV_INFO) {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM, "%s", pw_buf_str(&ev));
		pw_buf_free(&ev, 0);
		pw_buf_free(&fix, 0);
		return;
	}
	pw_buf_printf(&fix, "\n-- passwordcheck sees only passwords sent in clear (CREATE/ALTER "
	                    "ROLE ... PASSWORD 'x'); for expiry: ALTER ROLE name VALID UNTIL "
	                    "'2027-01-01';");
	f->evidence = chk_take(&ev);
	f->result = CHK_WARN;
	f->severity = sev;
	f->fix = chk_take(&fix);
}

/* --- session.timeouts ---------------------------------------------------------------------- */

static void rule_timeouts(struct chk_ctx *x, struct chk_finding *f)
{
	static const char *names[] = {"idle_in_transaction_session_timeout", "idle_session_timeout",
	                              "statement_timeout", "tcp_keepalives_idle"};
	char v[4][32], src[4][64];
	for (int i = 0; i < 4; i++)
		if (!setting2(x, names[i], v[i], sizeof v[i], src[i], sizeof src[i]))
			DONE(skip_settings(x, f, names[i]));
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	bool warn = false;
	for (int i = 0; i < 4; i++) {
		bool zero = strcmp(v[i], "0") == 0;
		bool server = strcmp(src[i], "configuration file") == 0 ||
		              strcmp(src[i], "default") == 0 || strcmp(src[i], "command line") == 0;
		pw_buf_printf(&ev, "%s%s = %s%s%s%s", i ? ", " : "", names[i], v[i],
		              zero ? " (none)" : "", server ? "" : " (from ", server ? "" : src[i]);
		if (!server)
			pw_buf_printf(&ev, ": this session only)");
		if (i < 2 && (zero || !server)) {
			warn = true;
			pw_buf_printf(&fix, "%s%s = '%s'", fix.len ? "\n" : "", names[i],
			              i == 0 ? "5min" : "1h");
		}
	}
	if (!warn) {
		chk_set(f, CHK_PASS, CHK_SEV_LOW, "%s", pw_buf_str(&ev));
		pw_buf_free(&ev, 0);
		pw_buf_free(&fix, 0);
		return;
	}
	f->evidence = chk_take(&ev);
	f->result = CHK_WARN;
	f->severity = CHK_SEV_LOW;
	pw_buf_printf(&fix, "\n# postgresql.conf (then SELECT pg_reload_conf();); set "
	                    "statement_timeout per role (ALTER ROLE app SET statement_timeout = "
	                    "'30s'), and tcp_keepalives_idle = 300 to find dead clients");
	char *body = chk_take(&fix);
	size_t n = strlen(body) + 64;
	f->fix = pw_malloc(n);
	snprintf(f->fix, n, "# postgresql.conf\n%s", body);
	pw_free(body);
}

/* --- roles.connection-limits --------------------------------------------------------------- */

static void rule_connection_limits(struct chk_ctx *x, struct chk_finding *f)
{
	struct pg_result *r;
	if (q(x, f,
	      "select rolname from pg_catalog.pg_roles where rolcanlogin and not rolsuper and "
	      "rolconnlimit = -1 and rolname OPERATOR(pg_catalog.!~) '^pg_' order by 1",
	      0, NULL, &r) < 0)
		return;
	if (!pg_nrows(r)) {
		pg_result_free(r);
		DONE(chk_set(f, CHK_PASS, CHK_SEV_LOW,
		             "every non-superuser LOGIN role has a CONNECTION LIMIT"));
	}
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t more = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(r); i++) {
		if (room(&ev, &more))
			pw_buf_printf(&ev, "%s%s", ev.len ? ", " : "", pg_value(r, i, 0));
		if (room(&fix, &more_fix)) {
			char *qn = chk_quote_ident(pg_value(r, i, 0));
			pw_buf_printf(&fix, "%sALTER ROLE %s CONNECTION LIMIT 20;",
			              fix.len ? "\n" : "", qn);
			pw_free(qn);
		}
	}
	more_tail(&ev, more, ", ");
	more_tail(&fix, more_fix, "\n");
	chk_set(f, CHK_WARN, CHK_SEV_LOW, "%d LOGIN role%s without a connection limit: %s",
	        pg_nrows(r), pg_nrows(r) == 1 ? "" : "s", pw_buf_str(&ev));
	pw_buf_printf(&fix, "\n-- size each limit to the application's pool, below "
	                    "max_connections");
	f->fix = chk_take(&fix);
	pw_buf_free(&ev, 0);
	pg_result_free(r);
}

/* --- the table ----------------------------------------------------------------------------- */

static const struct chk_rule ring2[] = {
    {"roles.dangerous-predefined", CHK_SEV_CRITICAL,
     "no role holds the predefined roles that reach the server's files and programs or all data",
     WHY_PREDEF, rule_dangerous_predefined},
    {"auth.hba-weak-methods", CHK_SEV_HIGH,
     "no md5, no ident over TCP, no password sent in clear (hba)", WHY_HBA_WEAK, rule_hba_weak},
    {"net.hba-privileged-remote", CHK_SEV_HIGH,
     "superusers and replication not reachable over the network (hba line x role)", WHY_HBA_PRIV,
     rule_hba_privileged},
    {"roles.privileged-attributes", CHK_SEV_HIGH,
     "no CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS on ordinary roles", WHY_ATTR,
     rule_privileged_attributes},
    {"version.minor-current", CHK_SEV_HIGH, "the server runs the latest minor release", WHY_MINOR,
     rule_minor_current},
    {"priv.rls-consistency", CHK_SEV_HIGH,
     "row security and policies agree; no always-true write policy; owners do not bypass", WHY_RLS,
     rule_rls},
    {"priv.secdef-views", CHK_SEV_MEDIUM,
     "views readable by others run as the reader (security_invoker) when the owner is "
     "privileged",
     WHY_SECDEF_VIEW, rule_secdef_views},
    {"audit.log-content", CHK_SEV_MEDIUM,
     "the log says who, where and when; no query trees; log file private", WHY_LOG_CONTENT,
     rule_log_content},
    {"tls.ciphers", CHK_SEV_MEDIUM, "strong TLS ciphers only (configured and in use)", WHY_CIPHERS,
     rule_ciphers},
    {"data.wal-archiving", CHK_SEV_HIGH, "WAL archiving on and working", WHY_WAL,
     rule_wal_archiving},
    {"replication.slots", CHK_SEV_HIGH, "no inactive replication slot retains WAL, none is lost",
     WHY_SLOTS, rule_slots},
    {"config.unsafe-settings", CHK_SEV_HIGH,
     "no setting that trades integrity or catalog safety; nothing waits for a restart", WHY_UNSAFE,
     rule_unsafe_settings},
    {"priv.extensions", CHK_SEV_MEDIUM,
     "extensions not in a schema PUBLIC may write to, current, none risky", WHY_EXT,
     rule_extensions},
    {"auth.password-policy", CHK_SEV_MEDIUM,
     "password quality module and auth_delay loaded; short authentication_timeout", WHY_PWPOLICY,
     rule_password_policy},
    {"session.timeouts", CHK_SEV_LOW, "idle sessions and idle transactions time out", WHY_TIMEOUTS,
     rule_timeouts},
    {"roles.connection-limits", CHK_SEV_LOW, "LOGIN roles have a connection limit", WHY_CONNLIMIT,
     rule_connection_limits},
};

static int init(struct chk_ctx *x)
{
	struct pg_result *r;
	int rc = pg_query(x->c,
	                  "select coalesce((select rolsuper from pg_catalog.pg_roles where "
	                  "rolname = current_user), false), "
	                  "pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE'), "
	                  "pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'), "
	                  "pg_catalog.has_table_privilege('pg_catalog.pg_hba_file_rules', "
	                  "'SELECT') and "
	                  "pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', "
	                  "'EXECUTE')",
	                  0, NULL, &r);
	if (rc < 0)
		return rc;
	x->super = *pg_value(r, 0, 0) == 't';
	x->settings_ok = *pg_value(r, 0, 1) == 't';
	x->stats_ok = *pg_value(r, 0, 2) == 't';
	x->hba_ok = *pg_value(r, 0, 3) == 't';
	pg_result_free(r);
	if (x->hba_ok &&
	    pg_query(x->c,
	             "select line_number, type, pg_catalog.array_to_string(database, ','), "
	             "pg_catalog.array_to_string(user_name, ','), address, netmask, "
	             "auth_method, error from pg_catalog.pg_hba_file_rules order by line_number",
	             0, NULL, &x->hba) < 0) {
		pw_strlcpy(x->hba_error, pw_error_message(), sizeof x->hba_error);
		pw_error_clear();
		x->hba = NULL;
	}
	return 0;
}

size_t chk_ring2_rule_descs(struct chk_rule_desc *out, size_t cap)
{
	size_t n = sizeof ring2 / sizeof ring2[0];
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = (struct chk_rule_desc){ring2[i].id, ring2[i].severity, ring2[i].title,
		                                ring2[i].why};
	return n;
}

void chk_ring2_rules(const struct chk_opts *o, const struct chk_repo_state *st,
                     struct chk_report *r)
{
	struct chk_ctx x = {.o = o, .st = st, .c = o->db, .r = r};
	x.version = pg_server_version(x.c);
	x.qrole = chk_quote_ident(r->role);
	if (init(&x) < 0) {
		pw_strlcpy(x.broken, pw_error_message(), sizeof x.broken);
		pw_error_clear();
	}
	for (size_t i = 0; i < sizeof ring2 / sizeof ring2[0]; i++) {
		const struct chk_rule *ru = &ring2[i];
		struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
		/* the version rule reads the connection only */
		if (x.broken[0] && ru->run != rule_minor_current) {
			chk_set(f, CHK_SKIP, ru->severity, "could not read the server: %s",
			        x.broken);
			chk_fix(
			    f,
			    "make sure role %s may run queries in database %s (see the message), "
			    "then run pgward check again",
			    r->role, r->database);
			f->unread = true;
			continue;
		}
		ru->run(&x, f);
	}
	pg_result_free(x.hba);
	pw_free(x.qrole);
	pw_best_effort("running the second ring");
}
