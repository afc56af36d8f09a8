/*
 * db_rules.c - the rules that read the server: settings (pg_settings), pg_hba_file_rules,
 * pg_roles / pg_auth_members / pg_authid, pg_namespace / pg_class / pg_proc / pg_language
 * (privilege functions and ACLs only), pg_stat_activity / pg_stat_ssl, and the TLS session.
 *
 * Each statement names catalogs only; none reads a row of a user table. Privileges are
 * tested first (pg_has_role, has_table_privilege, has_function_privilege); a rule that
 * lacks one is `skip` with the GRANT. A query that fails anyway is `skip` with the message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/internal.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "pg/pg.h"
#include "pg/privs.h"

/* Why each rule matters, as the report shows it: a public source (PostgreSQL documentation,
 * CIS PostgreSQL Benchmark, OWASP, a CVE) or a plain reason. */
#define WHY_TLS                                                                                    \
	"without TLS, passwords and data cross the network readable by anyone on the path "        \
	"(PostgreSQL documentation, \"Secure TCP/IP Connections with SSL\"; CIS PostgreSQL "       \
	"Benchmark, \"Ensure TLS is enabled and configured correctly\")"
#define WHY_PIN                                                                                    \
	"a client that accepts any certificate can be sent to an impostor that collects its "      \
	"password (PostgreSQL documentation, \"SSL Support\", sslmode=verify-full; OWASP, "        \
	"\"Certificate and Public Key Pinning\")"
#define WHY_AUTH                                                                                   \
	"trust lets anyone who reaches the port log in as any role, and password sends it in "     \
	"clear (PostgreSQL documentation, \"Trust Authentication\", \"Password Authentication\"; " \
	"CIS PostgreSQL Benchmark, \"Ensure login via host TCP/IP Sockets is configured "          \
	"correctly\")"
#define WHY_SCRAM                                                                                  \
	"an MD5 hash is a password equivalent for md5 authentication (PostgreSQL documentation, "  \
	"\"Password Authentication\"; CIS PostgreSQL Benchmark, SCRAM-SHA-256 password "           \
	"encryption)"
#define WHY_NET                                                                                    \
	"a database that accepts logins from the whole internet is one leaked or guessed "         \
	"password "                                                                                \
	"away from everyone (CIS PostgreSQL Benchmark, \"Ensure login via host TCP/IP Sockets is " \
	"configured correctly\"; OWASP Database Security Cheat Sheet, network)"
#define WHY_SUPER                                                                                  \
	"a superuser bypasses every permission check and can run programs as the server's OS "     \
	"user: least privilege (CIS PostgreSQL Benchmark, \"Ensure excessive administrative "      \
	"privileges are revoked\"; PostgreSQL documentation, \"Role Attributes\")"
#define WHY_UNUSED                                                                                 \
	"an account no system uses is attack surface nobody watches (OWASP Database Security "     \
	"Cheat Sheet, \"Authentication\")"
#define WHY_SHARED                                                                                 \
	"one account per application or person: a shared account cannot be revoked for one "       \
	"user, and the logs cannot tell who did what (OWASP Database Security Cheat Sheet)"
#define WHY_RO                                                                                     \
	"a role meant to read (a backup, a report tool) that can write turns a leaked password "   \
	"into changed or destroyed data; least privilege (CIS PostgreSQL Benchmark, \"Ensure "     \
	"excessive DML privileges are revoked\")"
#define WHY_PUBLIC_CREATE                                                                          \
	"CVE-2018-1058: a schema where PUBLIC may CREATE lets any role plant functions and "       \
	"operators that other roles' queries then run (PostgreSQL documentation, \"Schemas and "   \
	"Privileges\")"
#define WHY_PUBLIC_GRANTS                                                                          \
	"a grant to PUBLIC reaches every role, including ones created later (PostgreSQL "          \
	"documentation, \"Privileges\"; CIS PostgreSQL Benchmark, excessive privileges)"
#define WHY_SECDEF                                                                                 \
	"PostgreSQL documentation, \"Writing SECURITY DEFINER Functions Safely\": without a "      \
	"fixed search_path the caller chooses which objects the owner's privileges run"
#define WHY_LANG                                                                                   \
	"CIS PostgreSQL Benchmark: untrusted procedural languages run code as the server's OS "    \
	"user; install them only where needed"
#define WHY_AUDIT                                                                                  \
	"without connection logs nobody can tell who logged in when (CIS PostgreSQL Benchmark, "   \
	"log_connections, log_disconnections, pgAudit)"
#define WHY_CHECKSUMS                                                                              \
	"checksums make the server report silent storage corruption instead of serving it to "     \
	"pg_dump and into every backup (PostgreSQL documentation, \"Data Checksums\")"
#define WHY_VERSION                                                                                \
	"an unsupported major version gets no security fixes (PostgreSQL versioning policy, "      \
	"https://www.postgresql.org/support/versioning/)"
#define WHY_SESSION_ROLE                                                                           \
	"ALTER DATABASE/ROLE ... SET role (or session_authorization) applies when a session "      \
	"starts: whoever logs in then acts, and is checked, as another role; RESET ROLE only "     \
	"returns to that setting"

struct dbx {
	const struct chk_opts *o;
	const struct chk_repo_state *st; /* the repository (names the backup role) */
	struct pg_conn *c;
	struct chk_report *r;
	bool super, settings_ok, stats_ok, hba_ok, authid_ok;
	char *qrole;           /* current role, quoted for GRANT statements */
	struct pg_result *hba; /* pg_hba_file_rules, NULL if not readable */
	char hba_error[512];
	int hba_bad;            /* lines of pg_hba.conf (on disk) with an error */
	char hba_bad_desc[768]; /* the first few, for evidence */
	char broken[512]; /* the first query failed: every rule that queries is skip with this */
};

/* One row of the first ring's rule table (the shape of rules.h's struct chk_rule). */
struct db_rule {
	const char *id;
	enum chk_severity severity;
	const char *title;
	const char *why;
	void (*run)(struct dbx *x, const struct db_rule *ru);
};

/* Evidence and fix lists stop growing at this many bytes; the rest is counted ("and N
 * more"), so a long list never hits a buffer cap and loses its end. */
#define LIST_BUDGET 8192
#define LIST_CAP (1 << 20)

/* Is there room for one more item in b? If not, count it in *more. */
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

#define DONE(call)                                                                                 \
	do {                                                                                       \
		call;                                                                              \
		return;                                                                            \
	} while (0)

/* A finding; NULL (after adding it as skip) when the server could not be read at all. Such a
 * skip is marked unread: it counts under any --fail-on (a check that saw nothing must not
 * look like a clean one in CI). */
static struct chk_finding *add(struct dbx *x, const struct db_rule *ru)
{
	enum chk_severity sev = ru->severity;
	struct chk_finding *f = chk_add(x->r, ru->id, ru->title, sev, ru->why);
	if (!x->broken[0])
		return f;
	chk_set(f, CHK_SKIP, sev, "could not read the server: %s", x->broken);
	chk_fix(f,
	        "make sure role %s may run queries in database %s (see the message), then run "
	        "pgward check again",
	        x->r->role, x->r->database);
	f->unread = true;
	return NULL;
}

/* A finding for a rule that needs no query (it reads the connection itself). */
static struct chk_finding *add_noquery(struct dbx *x, const struct db_rule *ru)
{
	return chk_add(x->r, ru->id, ru->title, ru->severity, ru->why);
}

/* Run a query; on failure the finding becomes skip with the server's message. */
static int q(struct dbx *x, struct chk_finding *f, const char *sql, int np,
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

/* A setting as pg_settings shows it to this role: 1 visible (into out), 0 not visible. */
static int setting(struct dbx *x, const char *name, char *out, size_t n)
{
	struct pg_result *r;
	const char *p[1] = {name};
	out[0] = 0;
	if (q(x, NULL, "select setting from pg_catalog.pg_settings where name = $1", 1, p, &r) < 0)
		return 0;
	int vis = pg_nrows(r) == 1;
	if (vis)
		pw_strlcpy(out, pg_value(r, 0, 0), n);
	pg_result_free(r);
	return vis;
}

/* A setting and where its value comes from (pg_settings.source: "default", "configuration
 * file", "database", "user", "session", ...): 1 visible, 0 not. */
static int setting_src(struct dbx *x, const char *name, char *out, size_t n, char *src, size_t srcn)
{
	struct pg_result *r;
	const char *p[1] = {name};
	out[0] = 0;
	src[0] = 0;
	if (q(x, NULL, "select setting, source from pg_catalog.pg_settings where name = $1", 1, p,
	      &r) < 0)
		return 0;
	int vis = pg_nrows(r) == 1;
	if (vis) {
		pw_strlcpy(out, pg_value(r, 0, 0), n);
		pw_strlcpy(src, pg_value(r, 0, 1), srcn);
	}
	pg_result_free(r);
	return vis;
}

static void skip_settings(struct dbx *x, struct chk_finding *f, const char *name)
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

static int init(struct dbx *x)
{
	struct pg_result *r;
	int rc =
	    pg_query(x->c,
	             "select current_user, pg_catalog.current_database(), "
	             "pg_catalog.current_setting('server_version'), "
	             "coalesce((select rolsuper from pg_catalog.pg_roles where rolname = "
	             "current_user), false), "
	             "pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE'), "
	             "pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'), "
	             "pg_catalog.has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT') and "
	             "pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', "
	             "'EXECUTE'), "
	             "pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')",
	             0, NULL, &r);
	if (rc < 0)
		return rc;
	pw_strlcpy(x->r->role, pg_value(r, 0, 0), sizeof x->r->role);
	pw_strlcpy(x->r->database, pg_value(r, 0, 1), sizeof x->r->database);
	pw_strlcpy(x->r->server_version, pg_value(r, 0, 2), sizeof x->r->server_version);
	x->super = *pg_value(r, 0, 3) == 't';
	x->settings_ok = *pg_value(r, 0, 4) == 't';
	x->stats_ok = *pg_value(r, 0, 5) == 't';
	x->hba_ok = *pg_value(r, 0, 6) == 't';
	x->authid_ok = *pg_value(r, 0, 7) == 't';
	pg_result_free(r);
	x->qrole = chk_quote_ident(x->r->role);
	if (x->hba_ok) {
		rc =
		    pg_query(x->c,
		             "select line_number, type, pg_catalog.array_to_string(database, ','), "
		             "pg_catalog.array_to_string(user_name, ','), address, netmask, "
		             "auth_method, error "
		             "from pg_catalog.pg_hba_file_rules order by line_number",
		             0, NULL, &x->hba);
		if (rc < 0) {
			pw_strlcpy(x->hba_error, pw_error_message(), sizeof x->hba_error);
			pw_error_clear();
			x->hba = NULL;
		}
	}
	/* The view parses pg_hba.conf as it is on disk now. A line with an error means the file
	 * would not load: the server keeps the rules it loaded before, which no view shows. */
	for (int i = 0; x->hba && i < pg_nrows(x->hba); i++) {
		if (pg_isnull(x->hba, i, 7))
			continue;
		size_t l = strlen(x->hba_bad_desc);
		if (x->hba_bad < 3 && l + 8 < sizeof x->hba_bad_desc)
			snprintf(x->hba_bad_desc + l, sizeof x->hba_bad_desc - l, "%sline %s: %s",
			         l ? "; " : "", pg_value(x->hba, i, 0), pg_value(x->hba, i, 7));
		x->hba_bad++;
	}
	return 0;
}

struct chk_hba_line chk_hba_row(const struct pg_result *r, int i)
{
	struct chk_hba_line l = {
	    .type = pg_value(r, i, 1),
	    .databases = pg_value(r, i, 2),
	    .users = pg_value(r, i, 3),
	    .address = pg_isnull(r, i, 4) ? NULL : pg_value(r, i, 4),
	    .netmask = pg_isnull(r, i, 5) ? NULL : pg_value(r, i, 5),
	    .method = pg_value(r, i, 6),
	};
	return l;
}

void chk_hba_describe(struct pw_buf *b, const struct pg_result *r, int i)
{
	struct chk_hba_line l = chk_hba_row(r, i);
	int bits = chk_netmask_bits(l.netmask);
	pw_buf_printf(b, "line %s: %s %s %s", pg_value(r, i, 0), l.type, l.databases, l.users);
	if (l.address && bits >= 0)
		pw_buf_printf(b, " %s/%d", l.address, bits);
	else if (l.address)
		pw_buf_printf(b, " %s", l.address);
	pw_buf_printf(b, " %s", l.method);
}

bool chk_hba_usable(const struct pg_result *hba, bool readable, const char *error, const char *role,
                    const char *qrole, struct chk_finding *f)
{
	if (hba)
		return true;
	if (!readable) {
		chk_set(f, CHK_SKIP, f->severity,
		        "pg_hba_file_rules is not readable by role %s (SELECT on the view and "
		        "EXECUTE on its function are needed)",
		        role);
		chk_fix(f,
		        "-- as a superuser, in the database checked (the view is per database):\n"
		        "GRANT SELECT ON pg_catalog.pg_hba_file_rules TO %s;\n"
		        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO %s;",
		        qrole, qrole);
	} else {
		chk_set(f, CHK_SKIP, f->severity, "pg_hba_file_rules could not be read: %s", error);
		chk_fix(f, NULL);
	}
	return false;
}

/* skip when pg_hba_file_rules cannot be read; true when x->hba is usable */
static bool need_hba(struct dbx *x, struct chk_finding *f)
{
	return chk_hba_usable(x->hba, x->hba_ok, x->hba_error, x->r->role, x->qrole, f);
}

/* After a rule judged the lines: if pg_hba.conf on disk has errors, it cannot pass (what it
 * judged is not what the server runs). */
static void hba_errors(struct dbx *x, struct chk_finding *f)
{
	if (!x->hba_bad || f->result != CHK_PASS)
		return;
	chk_set(f, CHK_WARN, CHK_SEV_MEDIUM,
	        "pg_hba.conf on disk has %d line%s with errors (%s%s): pg_hba_file_rules shows the "
	        "file on disk, and the server keeps the rules it loaded before, which no view "
	        "shows; the lines without errors would pass this rule",
	        x->hba_bad, x->hba_bad == 1 ? "" : "s", x->hba_bad_desc,
	        x->hba_bad > 3 ? "; ..." : "");
	chk_fix(f, "# fix the lines named, then SELECT pg_reload_conf(); and run check again\n"
	           "SELECT line_number, error FROM pg_catalog.pg_hba_file_rules WHERE error IS "
	           "NOT NULL;");
}

static void rule_tls_server(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	char v[64];
	if (!setting(x, "ssl", v, sizeof v))
		DONE(skip_settings(x, f, "ssl"));
	if (is_on(v))
		DONE(chk_set(f, CHK_PASS, CHK_SEV_CRITICAL, "ssl = on"));
	chk_set(f, CHK_FAIL, CHK_SEV_CRITICAL, "ssl = %s: every connection travels in clear", v);
	chk_fix(f, "# postgresql.conf (then SELECT pg_reload_conf();)\nssl = on\n"
	           "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'");
}

static void rule_tls_enforced(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	char v[64];
	if (setting(x, "rds.force_ssl", v, sizeof v)) {
		if (is_on(v))
			DONE(chk_set(f, CHK_PASS, CHK_SEV_HIGH, "rds.force_ssl = %s", v));
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "rds.force_ssl = %s: the server accepts connections without TLS", v);
		DONE(chk_fix(f, "# RDS parameter group of this instance\nrds.force_ssl = 1"));
	}
	if (!need_hba(x, f))
		return;
	struct pw_buf bad = PW_BUF_INIT(LIST_CAP), local = PW_BUF_INIT(LIST_CAP),
	              fix = PW_BUF_INIT(LIST_CAP);
	size_t nbad = 0, more_bad = 0, more_local = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(x->hba); i++) {
		if (!pg_isnull(x->hba, i, 7))
			continue; /* a line with an error: see hba_errors */
		struct chk_hba_line l = chk_hba_row(x->hba, i);
		if (!chk_hba_plaintext(&l) || !chk_hba_accepts(&l))
			continue;
		enum chk_hba_scope s = chk_hba_scope(&l);
		bool lb = s == CHK_HBA_LOOPBACK;
		struct pw_buf *b = lb ? &local : &bad;
		if (room(b, lb ? &more_local : &more_bad)) {
			if (b->len)
				pw_buf_printf(b, "; ");
			chk_hba_describe(b, x->hba, i);
		}
		if (!lb) {
			nbad++;
			if (room(&fix, &more_fix))
				pw_buf_printf(&fix, "%sline %s: change \"%s\" to \"hostssl\"",
				              fix.len ? "\n" : "", pg_value(x->hba, i, 0), l.type);
		}
	}
	more_tail(&bad, more_bad, "; ");
	more_tail(&local, more_local, "; ");
	more_tail(&fix, more_fix, "\n");
	if (nbad) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "%zu pg_hba.conf line%s accept%s remote logins without TLS: %s", nbad,
		        nbad == 1 ? "" : "s", nbad == 1 ? "s" : "", pw_buf_str(&bad));
		pw_buf_printf(&fix, "\n# pg_hba.conf, then SELECT pg_reload_conf();");
		f->fix = chk_take(&fix);
	} else if (local.len) {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "no hba line accepts remote logins without TLS (loopback only: %s)",
		        pw_buf_str(&local));
	} else {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "every host line of pg_hba.conf is hostssl, hostgssenc (or reject)");
	}
	hba_errors(x, f);
	pw_buf_free(&bad, 0);
	pw_buf_free(&local, 0);
	pw_buf_free(&fix, 0);
}

static void rule_tls_min_version(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	char v[64];
	if (!setting(x, "ssl_min_protocol_version", v, sizeof v))
		DONE(skip_settings(x, f, "ssl_min_protocol_version"));
	if (strcmp(v, "TLSv1.2") == 0 || strcmp(v, "TLSv1.3") == 0)
		DONE(chk_set(f, CHK_PASS, CHK_SEV_HIGH, "ssl_min_protocol_version = %s", v));
	chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
	        "ssl_min_protocol_version = %s: clients may negotiate a broken protocol",
	        *v ? v : "(empty)");
	chk_fix(f, "# postgresql.conf (then SELECT pg_reload_conf();)\n"
	           "ssl_min_protocol_version = 'TLSv1.2'");
}

static void rule_tls_this_connection(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add_noquery(x, ru);
	const struct pg_tls_info *t = pg_tls(x->c);
	const char *mode = x->o->sslmode && *x->o->sslmode ? x->o->sslmode : "?";
	const char *host = x->o->db_host ? x->o->db_host : "";
	if (!t->in_use && (!*host || *host == '/' || *host == '@')) {
		/* libpq ignores sslmode over a unix socket: nothing crosses a network */
		DONE(chk_set(f, CHK_INFO, CHK_SEV_HIGH,
		             "pgward connected over the local socket %s: no network, so no TLS "
		             "(libpq ignores sslmode=%s there); connect over TCP to judge the "
		             "server's certificate",
		             *host ? host : "(default directory)", mode));
	}
	if (!t->in_use) {
		chk_set(f, CHK_FAIL, CHK_SEV_CRITICAL,
		        "the connection pgward made is not encrypted (sslmode=%s)", mode);
		DONE(chk_fix(f, "connect with sslmode=verify-full (pgward's default) to a server "
		                "with ssl = on"));
	}
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	enum chk_result res = CHK_PASS;
	enum chk_severity sev = CHK_SEV_HIGH;
	pw_buf_printf(&ev, "%s, sslmode=%s, certificate %s issued by %s",
	              *t->protocol ? t->protocol : "TLS", mode, t->subject, t->issuer);
	if (strcmp(mode, "verify-full") != 0) {
		res = CHK_FAIL;
		pw_buf_printf(&ev, "; %s",
		              strcmp(mode, "verify-ca") == 0
		                  ? "the chain was verified but not the host name"
		                  : "neither the chain nor the host name was verified");
		if (t->verify_result != 0)
			pw_buf_printf(&ev,
			              " (the chain does not verify against the CAs here: "
			              "X509 error %ld)",
			              t->verify_result);
		pw_buf_printf(&fix, "connect with sslmode=verify-full and sslrootcert=<CA file>");
	} else {
		pw_buf_printf(&ev, "; chain and host name verified");
	}
	if (x->o->npins)
		pw_buf_printf(&ev, "; public key pinned (%zu pin%s)", x->o->npins,
		              x->o->npins == 1 ? "" : "s");
	if (t->self_signed) {
		pw_buf_printf(&ev, "; the certificate is self-signed");
		if (!x->o->npins) {
			if (res == CHK_PASS)
				res = CHK_WARN, sev = CHK_SEV_MEDIUM;
			pw_buf_printf(&fix,
			              "%spin the server's key: pgward pin --db URL, then "
			              "pin-sha256 = <value> in the stanza",
			              fix.len ? "\n" : "");
		}
	} else if (res == CHK_FAIL && !x->o->npins) {
		pw_buf_printf(&fix, "\nor pin the server's key: pgward pin --db URL, then "
		                    "pin-sha256 = <value>");
	}
	if (t->not_after_ts) {
		double days = difftime(t->not_after_ts, x->o->now) / 86400.0;
		pw_buf_printf(&ev, "; expires %s (%.0f days)", t->not_after, days);
		if (days < 30) {
			if (res == CHK_PASS)
				res = CHK_WARN, sev = CHK_SEV_MEDIUM;
			pw_buf_printf(&ev, ": within 30 days");
			pw_buf_printf(&fix,
			              "%srenew the server certificate (ssl_cert_file) before %s, "
			              "then SELECT pg_reload_conf();",
			              fix.len ? "\n" : "", t->not_after);
		}
	}
	if (*t->protocol &&
	    (strcmp(t->protocol, "TLSv1") == 0 || strcmp(t->protocol, "TLSv1.1") == 0))
		res = CHK_FAIL;
	f->evidence = chk_take(&ev);
	f->result = res;
	f->severity = sev;
	if (fix.len)
		f->fix = chk_take(&fix);
	pw_buf_free(&fix, 0);
}

static void rule_tls_live_sessions(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	if (!x->stats_ok) {
		chk_set(f, CHK_SKIP, CHK_SEV_HIGH,
		        "other roles' client addresses and TLS state are hidden from role %s (it "
		        "needs pg_read_all_stats)",
		        x->r->role);
		DONE(chk_fix(f, "GRANT pg_read_all_stats TO %s;", x->qrole));
	}
	struct pg_result *r;
	if (q(x, f,
	      "select a.usename, coalesce(nullif(a.application_name, ''), '(none)'), "
	      "pg_catalog.host(a.client_addr), count(*), "
	      "a.client_addr <<= inet '127.0.0.0/8' or a.client_addr = inet '::1' "
	      "from pg_catalog.pg_stat_activity a join pg_catalog.pg_stat_ssl s on s.pid = a.pid "
	      "left join pg_catalog.pg_stat_gssapi g on g.pid = a.pid "
	      "where a.backend_type in ('client backend', 'walsender') and a.client_addr is not "
	      "null and not "
	      "s.ssl and not coalesce(g.encrypted, false) group by 1, 2, 3, 5 order by 5, 1, 2, 3",
	      0, NULL, &r) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP);
	size_t remote = 0, loop = 0, more = 0;
	for (int i = 0; i < pg_nrows(r); i++) {
		bool lb = *pg_value(r, i, 4) == 't';
		lb ? loop++ : remote++;
		if (room(&ev, &more))
			pw_buf_printf(&ev, "%srole %s, application %s, from %s (%s session%s)",
			              ev.len ? "; " : "", pg_value(r, i, 0), pg_value(r, i, 1),
			              pg_value(r, i, 2), pg_value(r, i, 3),
			              strcmp(pg_value(r, i, 3), "1") == 0 ? "" : "s");
	}
	more_tail(&ev, more, "; ");
	pg_result_free(r);
	if (!remote && !loop) {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "every TCP session open now uses TLS or GSSAPI encryption (sessions open "
		        "right now only)");
	} else {
		chk_set(f, remote ? CHK_FAIL : CHK_WARN, remote ? CHK_SEV_HIGH : CHK_SEV_LOW,
		        "TCP sessions without TLS now%s: %s", remote ? "" : " (loopback only)",
		        pw_buf_str(&ev));
		chk_fix(f,
		        "have those clients connect with sslmode=verify-full, then turn \"host\" "
		        "lines into \"hostssl\" in pg_hba.conf (see tls.enforced)");
	}
	pw_buf_free(&ev, 0);
}

static void rule_auth_no_trust(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	if (!need_hba(x, f))
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t trust = 0, clear = 0, localtrust = 0, more = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(x->hba); i++) {
		if (!pg_isnull(x->hba, i, 7))
			continue;
		struct chk_hba_line l = chk_hba_row(x->hba, i);
		bool local = strcmp(l.type, "local") == 0;
		bool istrust = strcmp(l.method, "trust") == 0;
		if (istrust && local) {
			localtrust++;
			continue;
		}
		if (!istrust && strcmp(l.method, "password") != 0)
			continue;
		istrust ? trust++ : clear++;
		if (room(&ev, &more)) {
			pw_buf_printf(&ev, "%s", ev.len ? "; " : "");
			chk_hba_describe(&ev, x->hba, i);
		}
		if (room(&fix, &more_fix))
			pw_buf_printf(&fix, "%sline %s: %s -> scram-sha-256", fix.len ? "\n" : "",
			              pg_value(x->hba, i, 0), l.method);
	}
	more_tail(&ev, more, "; ");
	more_tail(&fix, more_fix, "\n");
	if (trust || clear) {
		chk_set(f, CHK_FAIL, trust ? CHK_SEV_CRITICAL : CHK_SEV_HIGH,
		        "%zu host line%s with trust (anyone who reaches the port logs in as any "
		        "role), %zu with cleartext password: %s",
		        trust, trust == 1 ? "" : "s", clear, pw_buf_str(&ev));
		pw_buf_printf(&fix, "\n# pg_hba.conf, then SELECT pg_reload_conf();");
		f->fix = chk_take(&fix);
	} else {
		chk_set(f, CHK_PASS, CHK_SEV_CRITICAL,
		        "no trust on host lines and no cleartext password in %d hba line%s%s",
		        pg_nrows(x->hba), pg_nrows(x->hba) == 1 ? "" : "s",
		        localtrust ? " (local socket lines with trust are outside this rule)" : "");
	}
	hba_errors(x, f);
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
}

static void rule_auth_scram(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	char v[64], src[64];
	bool vis = setting_src(x, "password_encryption", v, sizeof v, src, sizeof src);
	bool md5_setting = vis && strcmp(v, "scram-sha-256") != 0;
	/* ALTER DATABASE/ROLE SET (or the client) can change the value this session sees; only
	 * the configuration file (or the built-in default) says what everyone else gets */
	bool server_wide = strcmp(src, "configuration file") == 0 || strcmp(src, "default") == 0;
	struct pw_buf roles = PW_BUF_INIT(LIST_CAP);
	size_t nmd5 = 0, more = 0;
	if (x->authid_ok) {
		struct pg_result *r;
		if (q(x, f,
		      "select rolname from pg_catalog.pg_authid where rolpassword like 'md5%' "
		      "order by 1",
		      0, NULL, &r) < 0) {
			pw_buf_free(&roles, 0);
			return;
		}
		for (int i = 0; i < pg_nrows(r); i++, nmd5++)
			if (room(&roles, &more))
				pw_buf_printf(&roles, "%s%s", roles.len ? ", " : "",
				              pg_value(r, i, 0));
		more_tail(&roles, more, ", ");
		pg_result_free(r);
	}
	if (md5_setting || nmd5) {
		struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
		if (md5_setting) {
			pw_buf_printf(&ev, "password_encryption = %s (source: %s)", v, src);
			pw_buf_printf(&fix, "# postgresql.conf (then SELECT pg_reload_conf();)\n"
			                    "password_encryption = 'scram-sha-256'");
			if (!server_wide)
				pw_buf_printf(
				    &fix, "\n-- and remove the override: ALTER ROLE/DATABASE ... "
				          "RESET password_encryption;");
		}
		if (nmd5) {
			pw_buf_printf(&ev, "%s%zu role%s with an MD5 password hash: %s",
			              ev.len ? "; " : "", nmd5, nmd5 == 1 ? "" : "s",
			              pw_buf_str(&roles));
			pw_buf_printf(&fix,
			              "%sset each password again once password_encryption is "
			              "scram-sha-256: \\password ROLE in psql (or ALTER ROLE ... "
			              "PASSWORD with a client-side hash), then change md5 to "
			              "scram-sha-256 in pg_hba.conf",
			              fix.len ? "\n" : "");
		}
		f->evidence = chk_take(&ev);
		f->result = CHK_FAIL;
		f->fix = chk_take(&fix);
	} else if (!vis) {
		skip_settings(x, f, "password_encryption");
	} else if (!server_wide) {
		chk_set(f, CHK_WARN, CHK_SEV_MEDIUM,
		        "password_encryption = scram-sha-256 in this session, but the value comes "
		        "from source \"%s\" (ALTER ROLE/DATABASE SET or the client), not from the "
		        "configuration file: other roles and databases may get another value",
		        src);
		chk_fix(f, "# postgresql.conf (then SELECT pg_reload_conf();)\n"
		           "password_encryption = 'scram-sha-256'\n"
		           "-- then: ALTER ROLE/DATABASE ... RESET password_encryption;");
	} else if (!x->authid_ok) {
		chk_set(
		    f, CHK_SKIP, CHK_SEV_HIGH,
		    "password_encryption = scram-sha-256 (source: %s); the stored hashes are in "
		    "pg_authid, which only a superuser may read, so roles with an old MD5 hash "
		    "were not checked",
		    src);
		chk_fix(f, "run pgward check once as a superuser (no narrower GRANT shows the "
		           "hash type without the hash)");
	} else {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "password_encryption = scram-sha-256 (source: %s) and no role has an MD5 "
		        "hash",
		        src);
	}
	pw_buf_free(&roles, 0);
}

static void rule_net_allowlist(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	if (!need_hba(x, f))
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	enum chk_result res = CHK_PASS;
	enum chk_severity sev = CHK_SEV_INFO;
	size_t more = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(x->hba); i++) {
		if (!pg_isnull(x->hba, i, 7))
			continue;
		struct chk_hba_line l = chk_hba_row(x->hba, i);
		if (!chk_hba_accepts(&l))
			continue;
		enum chk_hba_scope s = chk_hba_scope(&l);
		if (s != CHK_HBA_WORLD && s != CHK_HBA_WIDE)
			continue;
		bool everyone = strcmp(l.databases, "all") == 0 && strcmp(l.users, "all") == 0;
		enum chk_severity ls = s == CHK_HBA_WIDE ? CHK_SEV_MEDIUM
		                       : everyone        ? CHK_SEV_CRITICAL
		                                         : CHK_SEV_HIGH;
		if (s == CHK_HBA_WORLD)
			res = CHK_FAIL;
		else if (res == CHK_PASS)
			res = CHK_WARN;
		if (ls > sev)
			sev = ls;
		if (room(&ev, &more)) {
			pw_buf_printf(&ev, "%s%s: ", ev.len ? "; " : "",
			              s == CHK_HBA_WIDE ? "wide range"
			              : everyone        ? "open to every address, database and user"
			                                : "open to every address");
			chk_hba_describe(&ev, x->hba, i);
		}
		if (room(&fix, &more_fix))
			pw_buf_printf(&fix,
			              "%sline %s: replace %s with the application servers' "
			              "addresses (e.g. 10.0.1.0/24)",
			              fix.len ? "\n" : "", pg_value(x->hba, i, 0),
			              l.address ? l.address : "the address");
	}
	more_tail(&ev, more, "; ");
	more_tail(&fix, more_fix, "\n");
	if (res == CHK_PASS) {
		chk_set(f, CHK_PASS, CHK_SEV_CRITICAL,
		        "no hba line accepts 0.0.0.0/0, ::/0 or \"all\", and none is wider than "
		        "/16 (IPv4) or /32 (IPv6)");
	} else {
		f->evidence = chk_take(&ev);
		f->result = res;
		f->severity = sev;
		pw_buf_printf(&fix, "\n# pg_hba.conf, then SELECT pg_reload_conf(); also keep the "
		                    "port behind a firewall or private network");
		f->fix = chk_take(&fix);
	}
	hba_errors(x, f);
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
}

static void rule_roles_superusers(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	struct pg_result *r, *m;
	if (q(x, f,
	      "select rolname, oid = 10 from pg_catalog.pg_roles where rolsuper and rolcanlogin "
	      "order by 1",
	      0, NULL, &r) < 0)
		return;
	if (q(x, f,
	      "select r.rolname, string_agg(s.rolname, ', ' order by s.rolname), "
	      "string_agg(pg_catalog.quote_ident(s.rolname), ', ' order by s.rolname) "
	      "from pg_catalog.pg_roles r join pg_catalog.pg_roles s on s.rolsuper and s.oid <> "
	      "r.oid where not r.rolsuper and r.rolname OPERATOR(pg_catalog.!~) '^pg_' and "
	      "pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER') group by 1 order by 1",
	      0, NULL, &m) < 0) {
		pg_result_free(r);
		return;
	}
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	int nsup = pg_nrows(r), nmem = pg_nrows(m);
	size_t more = 0, more_fix = 0;
	pw_buf_printf(&ev, "%d superuser%s with LOGIN", nsup, nsup == 1 ? "" : "s");
	for (int i = 0; i < nsup; i++)
		if (room(&ev, &more))
			pw_buf_printf(&ev, "%s%s", i ? ", " : ": ", pg_value(r, i, 0));
	more_tail(&ev, more, ", ");
	more = 0;
	if (nsup > 1) {
		pw_buf_printf(&fix, "-- keep one superuser for administration (here the bootstrap "
		                    "superuser) and demote the others (or make them NOLOGIN):");
		/* keep the bootstrap superuser (oid 10), or else the first one */
		int keep = 0;
		for (int i = 0; i < nsup; i++)
			if (*pg_value(r, i, 1) == 't')
				keep = i;
		for (int i = 0; i < nsup; i++) {
			if (i == keep)
				continue;
			if (!room(&fix, &more_fix))
				continue;
			char *qn = chk_quote_ident(pg_value(r, i, 0));
			pw_buf_printf(&fix, "\nALTER ROLE %s NOSUPERUSER;", qn);
			pw_free(qn);
		}
	}
	for (int i = 0; i < nmem; i++) {
		if (room(&ev, &more))
			pw_buf_printf(&ev, "; role %s reaches superuser through membership in %s",
			              pg_value(m, i, 0), pg_value(m, i, 1));
		if (!room(&fix, &more_fix))
			continue;
		char *a = chk_quote_ident(pg_value(m, i, 0));
		char *sr = chk_requote(pg_value(m, i, 2));
		pw_buf_printf(
		    &fix,
		    "%s-- a membership that reaches superuser (REVOKE the role in between "
		    "when it is indirect):\nREVOKE %s FROM %s;",
		    fix.len ? "\n" : "", sr, a);
		pw_free(sr);
		pw_free(a);
	}
	if (more)
		pw_buf_printf(&ev, "; and %zu more roles reach superuser through membership", more);
	if (more_fix)
		pw_buf_printf(&fix, "\n-- and %zu more like these", more_fix);
	if (nmem || nsup > 1) {
		f->result = CHK_FAIL;
		f->severity = nmem ? CHK_SEV_CRITICAL : CHK_SEV_HIGH;
		f->evidence = chk_take(&ev);
		f->fix = chk_take(&fix);
	} else {
		f->result = CHK_PASS;
		pw_buf_printf(&ev, "; no other role is a member of a superuser role");
		f->evidence = chk_take(&ev);
	}
	pw_buf_free(&fix, 0);
	pg_result_free(r);
	pg_result_free(m);
}

static void rule_roles_unused(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	if (!x->authid_ok) {
		chk_set(f, CHK_SKIP, CHK_SEV_LOW,
		        "whether a role has a password is in pg_authid, which only a superuser may "
		        "read");
		DONE(chk_fix(f, "run pgward check once as a superuser"));
	}
	struct pg_result *r;
	if (q(x, f,
	      "select a.rolname, a.rolvaliduntil is not null and a.rolvaliduntil < "
	      "pg_catalog.now() "
	      "from pg_catalog.pg_authid a where a.rolcanlogin and a.rolname "
	      "OPERATOR(pg_catalog.!~) '^pg_' and "
	      "(a.rolpassword is null or (a.rolvaliduntil is not null and a.rolvaliduntil < "
	      "pg_catalog.now())) and not exists (select 1 from pg_catalog.pg_stat_activity s "
	      "where "
	      "s.usesysid = a.oid) order by 1",
	      0, NULL, &r) < 0)
		return;
	if (pg_nrows(r) == 0) {
		chk_set(f, CHK_PASS, CHK_SEV_LOW,
		        "every LOGIN role has a valid password or a session now (PostgreSQL keeps "
		        "no last-login time: activity means a session right now)");
	} else {
		struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
		size_t more = 0, more_fix = 0;
		for (int i = 0; i < pg_nrows(r); i++) {
			if (room(&ev, &more))
				pw_buf_printf(
				    &ev, "%s%s (%s)", ev.len ? ", " : "", pg_value(r, i, 0),
				    *pg_value(r, i, 1) == 't' ? "password expired" : "no password");
			if (!room(&fix, &more_fix))
				continue;
			char *qn = chk_quote_ident(pg_value(r, i, 0));
			pw_buf_printf(&fix,
			              "%sALTER ROLE %s NOLOGIN; -- or DROP ROLE after "
			              "REASSIGN OWNED",
			              fix.len ? "\n" : "", qn);
			pw_free(qn);
		}
		more_tail(&ev, more, ", ");
		if (more_fix)
			pw_buf_printf(&fix, "\n-- and %zu more roles like these", more_fix);
		chk_set(f, CHK_WARN, CHK_SEV_LOW,
		        "LOGIN roles with no usable password and no session now: %s (they log in "
		        "only through trust/peer/cert/ident, or not at all)",
		        pw_buf_str(&ev));
		f->fix = chk_take(&fix);
		pw_buf_free(&ev, 0);
	}
	pg_result_free(r);
}

static void rule_roles_shared(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	if (!x->stats_ok) {
		chk_set(f, CHK_SKIP, CHK_SEV_MEDIUM,
		        "other roles' client addresses are hidden from role %s (it needs "
		        "pg_read_all_stats)",
		        x->r->role);
		DONE(chk_fix(f, "GRANT pg_read_all_stats TO %s;", x->qrole));
	}
	struct pg_result *r;
	if (q(x, f,
	      "select a.usename, count(*), "
	      "string_agg(distinct coalesce(nullif(a.application_name, ''), '(none)'), ', '), "
	      "string_agg(distinct coalesce(pg_catalog.host(a.client_addr), 'local socket'), ', ') "
	      "from pg_catalog.pg_stat_activity a where a.backend_type = 'client backend' and "
	      "a.usename is not null and a.pid <> pg_catalog.pg_backend_pid() group by 1 "
	      "having count(distinct coalesce(a.application_name, '')) > 1 or "
	      "count(distinct coalesce(pg_catalog.host(a.client_addr), '')) > 1 order by 1",
	      0, NULL, &r) < 0)
		return;
	if (pg_nrows(r) == 0) {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
		        "each role's open sessions come from one application and one address "
		        "(sessions open right now only)");
	} else {
		struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
		size_t more = 0;
		for (int i = 0; i < pg_nrows(r); i++) {
			if (room(&ev, &more))
				pw_buf_printf(&ev,
				              "%srole %s: %s sessions from applications [%s], "
				              "addresses [%s]",
				              ev.len ? "; " : "", pg_value(r, i, 0),
				              pg_value(r, i, 1), pg_value(r, i, 2),
				              pg_value(r, i, 3));
		}
		more_tail(&ev, more, "; ");
		pw_buf_printf(&fix, "give each application its own role (pgward credentials create "
		                    "NAME, or CREATE ROLE app_name LOGIN ... plus the grants it "
		                    "needs), then rotate the shared role's password");
		chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM, "%s", pw_buf_str(&ev));
		f->fix = chk_take(&fix);
		pw_buf_free(&ev, 0);
	}
	pg_result_free(r);
}

/* A text[] literal of the names (for = any($1::text[])). */
static char *array_literal(char **names, size_t n)
{
	struct pw_buf b = PW_BUF_INIT(1 << 20);
	pw_buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		pw_buf_printf(&b, "%s\"", i ? "," : "");
		for (const char *p = names[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				pw_buf_putc(&b, '\\');
			pw_buf_putc(&b, *p);
		}
		pw_buf_putc(&b, '"');
	}
	pw_buf_putc(&b, '}');
	return chk_take(&b);
}

struct names {
	char **v;
	char **why;
	size_t n;
};

static void names_add(struct names *s, const char *name, const char *why)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0) {
			if (*why && !strstr(s->why[i], why)) {
				size_t n = strlen(s->why[i]) + strlen(why) + 3;
				char *w = pw_malloc(n);
				snprintf(w, n, "%s; %s", s->why[i], why);
				pw_free(s->why[i]);
				s->why[i] = w;
			}
			return;
		}
	s->v = pw_realloc(s->v, (s->n + 1) * sizeof *s->v);
	s->why = pw_realloc(s->why, (s->n + 1) * sizeof *s->why);
	s->v[s->n] = pw_strdup(name);
	s->why[s->n++] = pw_strdup(why);
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++) {
		pw_free(s->v[i]);
		pw_free(s->why[i]);
	}
	pw_free(s->v);
	pw_free(s->why);
}

static void rule_roles_readonly(struct dbx *x, const struct db_rule *ru)
{
	const struct chk_repo_state *st = x->st;
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	struct pg_result *r;
	if (q(x, f,
	      "select r.rolname, r.rolcanlogin, coalesce(pg_catalog.shobj_description(r.oid, "
	      "'pg_authid'), '') from pg_catalog.pg_roles r where r.rolname "
	      "OPERATOR(pg_catalog.!~) '^pg_' order by 1",
	      0, NULL, &r) < 0)
		return;
	struct names ro = {0};
	struct names marked = {0};
	for (int i = 0; i < pg_nrows(r); i++) {
		const char *name = pg_value(r, i, 0);
		const char *comment = pg_value(r, i, 2);
		bool byname = chk_marked_readonly(name, NULL);
		if (chk_marked_readonly(name, comment)) {
			names_add(&ro, name, byname ? "name" : "comment");
			names_add(&marked, name, "");
		}
		if (*st->backup_role && strcmp(st->backup_role, name) == 0)
			names_add(&ro, name, "takes this stanza's backups");
	}
	pg_result_free(r);
	if (x->o->connecting_is_backup_role)
		names_add(&ro, x->r->role, "connects with the backup stanza's credentials");
	/* LOGIN members of a marked (privilege) role act with its grants: check them too. A
	 * member WITH ADMIN OPTION administers the role (the database owner that created a
	 * pgward credential): that is not a read-only account. */
	if (marked.n) {
		char *arr = array_literal(marked.v, marked.n);
		const char *p[1] = {arr};
		if (q(x, f,
		      "select m.rolname, g.rolname from pg_catalog.pg_auth_members am join "
		      "pg_catalog.pg_roles m on m.oid = am.member join pg_catalog.pg_roles g on "
		      "g.oid = am.roleid where g.rolname = any($1::text[]) and m.rolcanlogin "
		      "and not am.admin_option order by 1",
		      1, p, &r) == 0) {
			for (int i = 0; i < pg_nrows(r); i++) {
				char why[200];
				snprintf(why, sizeof why, "member of %s", pg_value(r, i, 1));
				names_add(&ro, pg_value(r, i, 0), why);
			}
			pg_result_free(r);
		}
		pw_free(arr);
		if (f->result == CHK_SKIP && f->evidence) {
			names_free(&ro);
			names_free(&marked);
			return;
		}
	}
	names_free(&marked);
	if (ro.n == 0) {
		chk_set(
		    f, CHK_INFO, CHK_SEV_HIGH,
		    "no role is marked read-only (by name, by a COMMENT ON ROLE with "
		    "\"level\":\"read-only\", as a LOGIN member of such a role, as the role that "
		    "took the stanza's newest backup, or as the stanza's own credentials)");
		chk_fix(f, "mark read-only roles so this rule can hold them to it: COMMENT ON ROLE "
		           "reporting IS '{\"level\":\"read-only\"}';");
		names_free(&ro);
		return;
	}
	/* the one privilege model (pg/privs.c), role by role; BYPASSRLS changes nothing */
	struct pw_buf who = PW_BUF_INIT(LIST_CAP);
	size_t more = 0;
	for (size_t i = 0; i < ro.n; i++)
		if (room(&who, &more))
			pw_buf_printf(&who, "%s%s (%s)", i ? ", " : "", ro.v[i], ro.why[i]);
	more_tail(&who, more, ", ");
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	int n = 0;
	for (size_t i = 0; i < ro.n; i++) {
		struct pw_privs m;
		if (pw_privs_scan(x->c, ro.v[i], &m) < 0) {
			chk_set(f, CHK_SKIP, f->severity, "%s", pw_error_message());
			chk_fix(f, NULL);
			pw_error_clear();
			pw_buf_free(&ev, 0);
			pw_buf_free(&fix, 0);
			pw_buf_free(&who, 0);
			names_free(&ro);
			return;
		}
		for (size_t k = 0; k < m.n; k++) {
			const struct pw_priv_finding *pf = &m.f[k];
			if (pf->kind == PW_PRIV_ATTRIBUTE &&
			    strcmp(pf->privilege, "BYPASSRLS") == 0)
				continue;
			if (n++ >= 20)
				continue;
			char *d = pw_priv_describe(pf);
			pw_buf_printf(&ev, "%s%s holds %s", n > 1 ? "; " : "", ro.v[i], d);
			/* through a role held to read-only itself: its own fix is the one to run
			 * (revoking a credential's username from its privilege role is not) */
			bool held = false;
			for (size_t j = 0; pf->kind == PW_PRIV_MEMBERSHIP && j < ro.n; j++)
				held |= strcmp(ro.v[j], pf->via) == 0;
			if (!held)
				pw_buf_printf(&fix, "%s%s", fix.len ? "\n" : "", pf->fix);
			pw_free(d);
		}
		pw_privs_free(&m);
	}
	if (n == 0) {
		chk_set(
		    f, CHK_PASS, CHK_SEV_HIGH,
		    "checked in database %s: %s; none holds INSERT, UPDATE, DELETE, TRUNCATE "
		    "(table or column), UPDATE or USAGE on a sequence, UPDATE on a large object, "
		    "CREATE on a schema or the database, ownership, pg_write_all_data, "
		    "SUPERUSER, CREATEROLE, CREATEDB or REPLICATION, itself, through PUBLIC or "
		    "through a role it can use",
		    x->r->database, pw_buf_str(&who));
	} else {
		if (n > 20)
			pw_buf_printf(&ev, "; and %d more", n - 20);
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH, "in database %s, among %s: %s", x->r->database,
		        pw_buf_str(&who), pw_buf_str(&ev));
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
	pw_buf_free(&who, 0);
	names_free(&ro);
}

static void rule_public_schema_create(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	struct pg_result *r;
	if (q(x, f,
	      "select pg_catalog.quote_ident(n.nspname) from pg_catalog.pg_namespace n where "
	      "n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_)' and "
	      "pg_catalog.has_schema_privilege('public', n.oid, 'CREATE') "
	      "order by 1",
	      0, NULL, &r) < 0)
		return;
	if (pg_nrows(r) == 0) {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "no schema of database %s grants CREATE to PUBLIC", x->r->database);
	} else {
		struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
		size_t more = 0, more_fix = 0;
		for (int i = 0; i < pg_nrows(r); i++) {
			if (room(&ev, &more))
				pw_buf_printf(&ev, "%s%s", i ? ", " : "", pg_value(r, i, 0));
			if (room(&fix, &more_fix)) {
				char *qs = chk_requote(pg_value(r, i, 0));
				pw_buf_printf(&fix, "%sREVOKE CREATE ON SCHEMA %s FROM PUBLIC;",
				              i ? "\n" : "", qs);
				pw_free(qs);
			}
		}
		more_tail(&ev, more, " ");
		if (more_fix)
			pw_buf_printf(&fix, "\n-- and %zu more schemas like these", more_fix);
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "in database %s, PUBLIC may CREATE in schema%s %s", x->r->database,
		        pg_nrows(r) == 1 ? "" : "s", pw_buf_str(&ev));
		f->fix = chk_take(&fix);
		pw_buf_free(&ev, 0);
	}
	pg_result_free(r);
}

static void rule_public_grants(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	struct pg_result *r;
	if (q(x, f,
	      /* privileges the object had when its extension created it (pg_init_privs) are the
	       * defaults the rule leaves alone */
	      "select 'table', pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(c.relname), "
	      "string_agg(a.privilege_type, ', ' order by a.privilege_type), '', '' "
	      "from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = "
	      "c.relnamespace cross join lateral pg_catalog.aclexplode(c.relacl) a "
	      "where a.grantee = 0 and n.nspname not in ('pg_catalog', 'information_schema') and "
	      "n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_)' and not exists (select 1 "
	      "from pg_catalog.pg_init_privs ip cross join lateral "
	      "pg_catalog.aclexplode(ip.initprivs) ia where ip.objoid = c.oid and ip.classoid = "
	      "'pg_catalog.pg_class'::pg_catalog.regclass and ip.objsubid = 0 and ia.grantee = 0 "
	      "and ia.privilege_type = a.privilege_type) group by 1, 2 "
	      "union all "
	      "select 'column', pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(c.relname) || ' (' || pg_catalog.quote_ident(t.attname) || "
	      "')', string_agg(a.privilege_type, ', ' order by a.privilege_type), "
	      "string_agg(a.privilege_type || ' (' || pg_catalog.quote_ident(t.attname) || ')', "
	      "', ' order by a.privilege_type), pg_catalog.quote_ident(n.nspname) || '.' || "
	      "pg_catalog.quote_ident(c.relname) "
	      "from pg_catalog.pg_attribute t join pg_catalog.pg_class c on c.oid = t.attrelid "
	      "join pg_catalog.pg_namespace n on n.oid = c.relnamespace cross join lateral "
	      "pg_catalog.aclexplode(t.attacl) a where t.attnum > 0 and not t.attisdropped and "
	      "a.grantee = 0 and n.nspname not in ('pg_catalog', 'information_schema') and "
	      "n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_)' and not exists (select 1 "
	      "from pg_catalog.pg_init_privs ip cross join lateral "
	      "pg_catalog.aclexplode(ip.initprivs) ia where ip.objoid = c.oid and ip.classoid = "
	      "'pg_catalog.pg_class'::pg_catalog.regclass and ip.objsubid = t.attnum and "
	      "ia.grantee = 0 and ia.privilege_type = a.privilege_type) group by n.nspname, "
	      "c.relname, t.attname "
	      "union all "
	      "select 'function', p.oid::pg_catalog.regprocedure::text, 'EXECUTE', '', '' "
	      "from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace "
	      "where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema') and "
	      "(p.proacl is null or exists (select 1 from pg_catalog.aclexplode(p.proacl) a "
	      "where a.grantee = 0)) and not exists (select 1 from pg_catalog.pg_init_privs ip "
	      "where ip.objoid = p.oid and ip.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
	      "and (p.proacl is null or exists (select 1 from pg_catalog.aclexplode(ip.initprivs) "
	      "ia where ia.grantee = 0))) and not (p.proacl is null and exists (select 1 from "
	      "pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
	      "and d.objid = p.oid and d.deptype = 'e')) "
	      "union all "
	      "select 'default', coalesce(pg_catalog.quote_ident(n.nspname), '(all schemas)') || "
	      "' for role ' || pg_catalog.pg_get_userbyid(d.defaclrole) || ' on ' || "
	      "d.defaclobjtype::text, string_agg(a.privilege_type, ', ' order by "
	      "a.privilege_type), "
	      "pg_catalog.max(pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.defaclrole))), "
	      "coalesce(pg_catalog.max(pg_catalog.quote_ident(n.nspname)), '') "
	      "from pg_catalog.pg_default_acl d left join pg_catalog.pg_namespace n on n.oid = "
	      "d.defaclnamespace cross join lateral pg_catalog.aclexplode(d.defaclacl) a "
	      "where a.grantee = 0 and d.defaclobjtype in ('r', 'S') group by 1, 2 "
	      "order by 1, 2",
	      0, NULL, &r) < 0)
		return;
	if (pg_nrows(r) == 0) {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
		        "in database %s no table, view, sequence or column is granted to PUBLIC "
		        "(beyond what extensions installed), no default privilege adds one, and no "
		        "SECURITY DEFINER function is executable by PUBLIC",
		        x->r->database);
	} else {
		struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
		bool tables = false;
		for (int i = 0; i < pg_nrows(r) && i < 30; i++) {
			const char *kind = pg_value(r, i, 0), *obj = pg_value(r, i, 1),
			           *priv = pg_value(r, i, 2);
			pw_buf_printf(&ev, "%s%s %s: %s to PUBLIC", i ? "; " : "",
			              strcmp(kind, "default") == 0 ? "default privileges in" : kind,
			              obj, priv);
			/* names come quoted by the server's quote_ident, which keeps a newline
			 * inside the quotes: requoted so no name breaks a line of the fix */
			char *qobj = chk_requote(obj), *q3 = chk_requote(pg_value(r, i, 3)),
			     *q4 = chk_requote(pg_value(r, i, 4));
			if (strcmp(kind, "table") == 0) {
				tables = true;
				pw_buf_printf(&fix, "REVOKE ALL ON %s FROM PUBLIC;\n", qobj);
			} else if (strcmp(kind, "column") == 0) {
				tables = true;
				/* REVOKE SELECT (col), UPDATE (col) ON schema.table */
				pw_buf_printf(&fix, "REVOKE %s ON %s FROM PUBLIC;\n", q3, q4);
			} else if (strcmp(kind, "function") == 0) {
				pw_buf_printf(&fix, "REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC;\n",
				              qobj);
			} else {
				size_t ol = strlen(obj);
				pw_buf_printf(
				    &fix,
				    "ALTER DEFAULT PRIVILEGES FOR ROLE %s%s%s REVOKE ALL ON "
				    "%s FROM PUBLIC;\n",
				    q3, *q4 ? " IN SCHEMA " : "", q4,
				    ol && obj[ol - 1] == 'S' ? "SEQUENCES" : "TABLES");
			}
			pw_free(qobj);
			pw_free(q3);
			pw_free(q4);
		}
		if (pg_nrows(r) > 30)
			pw_buf_printf(&ev, "; and %d more", pg_nrows(r) - 30);
		chk_set(f, tables ? CHK_FAIL : CHK_WARN, CHK_SEV_MEDIUM, "in database %s: %s",
		        x->r->database, pw_buf_str(&ev));
		pw_buf_printf(&fix, "-- then grant to the roles that need it");
		f->fix = chk_take(&fix);
		pw_buf_free(&ev, 0);
	}
	pg_result_free(r);
}

static void rule_secdef(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	struct pg_result *r;
	if (q(x, f,
	      "select p.oid::pg_catalog.regprocedure::text, (select pg_catalog.substr(c, 13) from "
	      "pg_catalog.unnest(p.proconfig) c where c like 'search\\_path=%' limit 1) "
	      "from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = "
	      "p.pronamespace where p.prosecdef and n.nspname not in ('pg_catalog', "
	      "'information_schema') order by 1",
	      0, NULL, &r) < 0)
		return;
	struct pw_buf none = PW_BUF_INIT(LIST_CAP), weak = PW_BUF_INIT(LIST_CAP),
	              fix = PW_BUF_INIT(LIST_CAP);
	size_t nnone = 0, nweak = 0, more_none = 0, more_weak = 0, more_fix = 0;
	for (int i = 0; i < pg_nrows(r); i++) {
		const char *fn = pg_value(r, i, 0);
		bool set = !pg_isnull(r, i, 1);
		if (set && chk_search_path_safe(pg_value(r, i, 1)))
			continue;
		if (!set) {
			nnone++;
			if (room(&none, &more_none))
				pw_buf_printf(&none, "%s%s", none.len ? ", " : "", fn);
		} else {
			nweak++;
			if (room(&weak, &more_weak))
				pw_buf_printf(&weak, "%s%s (search_path=%s)", weak.len ? ", " : "",
				              fn, pg_value(r, i, 1));
		}
		if (room(&fix, &more_fix)) {
			char *qf = chk_requote(fn);
			pw_buf_printf(&fix,
			              "%sALTER FUNCTION %s SET search_path = pg_catalog, pg_temp;",
			              fix.len ? "\n" : "", qf);
			pw_free(qf);
		}
	}
	more_tail(&none, more_none, " ");
	more_tail(&weak, more_weak, " ");
	if (more_fix)
		pw_buf_printf(&fix, "\n-- and %zu more functions like these", more_fix);
	if (!nnone && !nweak) {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "every SECURITY DEFINER function in database %s sets search_path, with "
		        "pg_temp last (or only pg_catalog)",
		        x->r->database);
	} else {
		struct pw_buf ev = PW_BUF_INIT(LIST_CAP);
		if (nnone)
			pw_buf_printf(&ev, "SECURITY DEFINER without search_path: %s",
			              pw_buf_str(&none));
		if (nweak)
			pw_buf_printf(
			    &ev,
			    "%sSECURITY DEFINER with a search_path that does not end with "
			    "pg_temp (pg_temp is searched first unless listed, and other "
			    "schemas may be writable): %s",
			    ev.len ? "; " : "", pw_buf_str(&weak));
		chk_set(f, nnone ? CHK_FAIL : CHK_WARN, nnone ? CHK_SEV_HIGH : CHK_SEV_MEDIUM,
		        "in database %s, %s", x->r->database, pw_buf_str(&ev));
		pw_buf_free(&ev, 0);
		f->fix = chk_take(&fix);
	}
	pw_buf_free(&none, 0);
	pw_buf_free(&weak, 0);
	pw_buf_free(&fix, 0);
	pg_result_free(r);
}

static void rule_untrusted_languages(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	struct pg_result *r;
	if (q(x, f,
	      "select l.lanname, coalesce(e.extname, '') from pg_catalog.pg_language l left "
	      "join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_language'::regclass and "
	      "d.objid = l.oid and d.deptype = 'e' left join pg_catalog.pg_extension e on e.oid "
	      "= d.refobjid where l.lanispl and not l.lanpltrusted order by 1",
	      0, NULL, &r) < 0)
		return;
	if (pg_nrows(r) == 0) {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
		        "database %s has no untrusted procedural language", x->r->database);
	} else {
		struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
		for (int i = 0; i < pg_nrows(r); i++) {
			const char *lan = pg_value(r, i, 0), *ext = pg_value(r, i, 1);
			pw_buf_printf(&ev, "%s%s", i ? ", " : "", lan);
			char *qn = chk_quote_ident(*ext ? ext : lan);
			pw_buf_printf(&fix, "%sDROP %s %s; -- if nothing uses it", i ? "\n" : "",
			              *ext ? "EXTENSION" : "LANGUAGE", qn);
			pw_free(qn);
		}
		chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM,
		        "database %s has untrusted language%s %s (code in it runs as the server's "
		        "OS user)",
		        x->r->database, pg_nrows(r) == 1 ? "" : "s", pw_buf_str(&ev));
		f->fix = chk_take(&fix);
		pw_buf_free(&ev, 0);
	}
	pg_result_free(r);
}

static void rule_audit_logging(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	char lc[256], ld[32], pa[256], spl[1024];
	if (!setting(x, "log_connections", lc, sizeof lc))
		DONE(skip_settings(x, f, "log_connections"));
	if (!setting(x, "log_disconnections", ld, sizeof ld))
		DONE(skip_settings(x, f, "log_disconnections"));
	bool pgaudit = setting(x, "pgaudit.log", pa, sizeof pa);
	bool spl_vis = setting(x, "shared_preload_libraries", spl, sizeof spl);
	if (!pgaudit && spl_vis && strstr(spl, "pgaudit"))
		pgaudit = true, pw_strlcpy(pa, "?", sizeof pa);
	struct pw_buf fix = PW_BUF_INIT(4096);
	if (!chk_log_setting_on(lc) || !chk_log_setting_on(ld)) {
		chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM,
		        "log_connections = %s, log_disconnections = %s%s", lc, ld,
		        pgaudit ? "" : ", pgAudit not loaded");
		pw_buf_printf(&fix, "# postgresql.conf (then SELECT pg_reload_conf();)\n"
		                    "log_connections = on\nlog_disconnections = on");
		if (!pgaudit)
			pw_buf_printf(&fix,
			              "\nshared_preload_libraries = 'pgaudit'  # restart; "
			              "package postgresql-NN-pgaudit\npgaudit.log = 'ddl, role'");
		f->fix = chk_take(&fix);
		return;
	}
	if (!pgaudit) {
		chk_set(f, CHK_WARN, CHK_SEV_LOW,
		        "log_connections = %s, log_disconnections = %s; pgAudit is not loaded%s",
		        lc, ld,
		        spl_vis ? ""
		                : " (or shared_preload_libraries is hidden: GRANT "
		                  "pg_read_all_settings to see it)");
		pw_buf_printf(&fix, "# postgresql.conf, then restart\nshared_preload_libraries = "
		                    "'pgaudit'  # package postgresql-NN-pgaudit\n"
		                    "pgaudit.log = 'ddl, role'");
		f->fix = chk_take(&fix);
		return;
	}
	pw_buf_free(&fix, 0);
	if (strcmp(pa, "none") == 0) {
		chk_set(f, CHK_WARN, CHK_SEV_LOW,
		        "log_connections = %s, log_disconnections = %s; pgAudit is loaded but "
		        "pgaudit.log = none",
		        lc, ld);
		DONE(chk_fix(f, "# postgresql.conf (then SELECT pg_reload_conf();)\n"
		                "pgaudit.log = 'ddl, role'"));
	}
	chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
	        "log_connections = %s, log_disconnections = %s, pgAudit loaded (pgaudit.log = %s)",
	        lc, ld, pa);
}

static void rule_checksums(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	char v[32];
	if (!setting(x, "data_checksums", v, sizeof v))
		DONE(skip_settings(x, f, "data_checksums"));
	if (is_on(v))
		DONE(chk_set(f, CHK_PASS, CHK_SEV_MEDIUM, "data_checksums = on"));
	chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM, "data_checksums = %s", v);
	chk_fix(f, "# with the server stopped cleanly (PostgreSQL 12 or later):\n"
	           "pg_checksums --enable -D \"$PGDATA\"");
}

static void rule_version(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add_noquery(x, ru);
	int v = pg_server_version(x->c); /* from the connection: needs no query */
	int major = v >= 100000 ? v / 10000 : v / 100;
	time_t eol = chk_eol_date(major);
	char when[PW_TIME_MAX] = "";
	if (eol)
		pw_time_format(eol, PW_TIME_DATE, when);
	if (major < 12 && v >= 100000) {
		chk_set(f, CHK_FAIL, CHK_SEV_CRITICAL,
		        "PostgreSQL %s: major version %d is out of community support",
		        x->r->server_version, major);
	} else if (v < 100000) {
		chk_set(f, CHK_FAIL, CHK_SEV_CRITICAL, "PostgreSQL %s: out of community support",
		        x->r->server_version);
	} else if (!eol) {
		DONE(chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		             "PostgreSQL %s: major version %d is newer than pgward's end-of-life "
		             "table (which ends with 18)",
		             x->r->server_version, major));
	} else if (x->o->now >= eol) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "PostgreSQL %s: major version %d reached end of life on %s",
		        x->r->server_version, major, when);
	} else {
		double days = difftime(eol, x->o->now) / 86400.0;
		if (days < 180) {
			chk_set(
			    f, CHK_WARN, CHK_SEV_LOW,
			    "PostgreSQL %s: major version %d reaches end of life on %s (%.0f days)",
			    x->r->server_version, major, when, days);
		} else {
			DONE(chk_set(f, CHK_PASS, CHK_SEV_HIGH,
			             "PostgreSQL %s: major version %d is supported until %s (%.0f "
			             "days)",
			             x->r->server_version, major, when, days));
		}
	}
	chk_fix(f, "upgrade to a supported major version (pg_upgrade, or a dump and restore: "
	           "pgward backup, then pgward restore into the new server); keep the minor "
	           "version current too");
}

/* A database or role setting of role or session_authorization makes sessions run as
 * another role: pgward check itself would run downgraded (issue 17), other tools and
 * people would run with privileges they did not log in with. pg_connect returned this
 * session to the login role and says what it found (pg_role_change). */
static void rule_session_role(struct dbx *x, const struct db_rule *ru)
{
	struct chk_finding *f = add(x, ru);
	if (!f)
		return;
	const char *mine = pg_role_change(x->c);
	struct pg_result *r;
	if (q(x, f,
	      "select coalesce(d.datname, '(all databases)'), coalesce(r.rolname, '(all roles)'), "
	      "c,"
	      " case when s.setdatabase <> 0 and s.setrole <> 0 then 'ROLE ' ||"
	      " pg_catalog.quote_ident(r.rolname) || ' IN DATABASE ' ||"
	      " pg_catalog.quote_ident(d.datname) when s.setrole <> 0 then 'ROLE ' ||"
	      " pg_catalog.quote_ident(r.rolname) when s.setdatabase <> 0 then 'DATABASE ' ||"
	      " pg_catalog.quote_ident(d.datname) else 'ROLE ALL' end,"
	      " pg_catalog.split_part(c, '=', 1)"
	      " from pg_catalog.pg_db_role_setting s"
	      " left join pg_catalog.pg_database d on d.oid = s.setdatabase"
	      " left join pg_catalog.pg_roles r on r.oid = s.setrole,"
	      " pg_catalog.unnest(s.setconfig) c"
	      " where pg_catalog.split_part(c, '=', 1) in ('role', 'session_authorization')"
	      /* pgward's credentials: login role X acts as pgward:X by design */
	      " and not (s.setdatabase = 0 and s.setrole <> 0 and c like 'role=pgward:%')"
	      " order by 1, 2, 3",
	      0, NULL, &r) < 0)
		return;
	struct pw_buf ev = PW_BUF_INIT(LIST_CAP), fix = PW_BUF_INIT(LIST_CAP);
	size_t more_ev = 0, more_fix = 0;
	int n = pg_nrows(r);
	for (int i = 0; i < n; i++) {
		if (room(&ev, &more_ev))
			pw_buf_printf(&ev, "%sdatabase %s, role %s: %s", ev.len ? "; " : "",
			              pg_value(r, i, 0), pg_value(r, i, 1), pg_value(r, i, 2));
		if (room(&fix, &more_fix))
			pw_buf_printf(&fix, "%sALTER %s RESET %s;", fix.len ? "\n" : "",
			              pg_value(r, i, 3), pg_value(r, i, 4));
	}
	more_tail(&ev, more_ev, " ");
	if (more_fix)
		pw_buf_printf(&fix, "\n-- and %zu more settings like these", more_fix);
	if (mine) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "%s; pgward check returned its session to the login role before running "
		        "the rules%s%s",
		        mine, n ? "; all such settings: " : "", pw_buf_str(&ev));
		f->fix = chk_take(&fix);
	} else if (n) {
		chk_set(f, CHK_WARN, CHK_SEV_MEDIUM,
		        "settings that make sessions run as another role (not this one): %s",
		        pw_buf_str(&ev));
		f->fix = chk_take(&fix);
	} else {
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "no database or role sets role or session_authorization");
	}
	pw_buf_free(&ev, 0);
	pw_buf_free(&fix, 0);
	pg_result_free(r);
}

static const struct db_rule db_rules[] = {
    {"tls.server", CHK_SEV_CRITICAL, "the server offers TLS (ssl = on)", WHY_TLS, rule_tls_server},
    {"tls.enforced", CHK_SEV_HIGH, "remote logins must use TLS (no \"host\" hba line)", WHY_TLS,
     rule_tls_enforced},
    {"tls.min-version", CHK_SEV_HIGH, "TLS 1.2 or newer only (ssl_min_protocol_version)", WHY_TLS,
     rule_tls_min_version},
    {"tls.this-connection", CHK_SEV_HIGH,
     "this connection: TLS, verified chain and host name, certificate not "
     "expiring",
     WHY_PIN, rule_tls_this_connection},
    {"tls.live-sessions", CHK_SEV_HIGH, "no current remote session without TLS", WHY_TLS,
     rule_tls_live_sessions},
    {"auth.no-trust", CHK_SEV_CRITICAL,
     "no trust authentication on host lines, no cleartext password anywhere", WHY_AUTH,
     rule_auth_no_trust},
    {"auth.scram", CHK_SEV_HIGH, "passwords hashed with SCRAM-SHA-256, no MD5 hash left", WHY_SCRAM,
     rule_auth_scram},
    {"net.allowlist", CHK_SEV_CRITICAL,
     "no hba line open to the whole internet; wide ranges warned", WHY_NET, rule_net_allowlist},
    {"roles.superusers", CHK_SEV_HIGH,
     "at most one superuser that can log in; none reachable through membership", WHY_SUPER,
     rule_roles_superusers},
    {"roles.unused", CHK_SEV_LOW, "no LOGIN role without a password and without activity",
     WHY_UNUSED, rule_roles_unused},
    {"roles.shared-account", CHK_SEV_MEDIUM,
     "no role used by several applications or client addresses at once", WHY_SHARED,
     rule_roles_shared},
    {"roles.readonly-is-readonly", CHK_SEV_HIGH,
     "roles marked read-only hold no write privilege anywhere", WHY_RO, rule_roles_readonly},
    {"roles.session-role", CHK_SEV_HIGH,
     "no database or role setting changes who a session runs as", WHY_SESSION_ROLE,
     rule_session_role},
    {"priv.public-schema-create", CHK_SEV_HIGH, "PUBLIC cannot CREATE in any schema",
     WHY_PUBLIC_CREATE, rule_public_schema_create},
    {"priv.public-grants", CHK_SEV_MEDIUM,
     "no table granted to PUBLIC, no SECURITY DEFINER function open to PUBLIC", WHY_PUBLIC_GRANTS,
     rule_public_grants},
    {"priv.secdef-search-path", CHK_SEV_HIGH, "SECURITY DEFINER functions set search_path",
     WHY_SECDEF, rule_secdef},
    {"priv.untrusted-languages", CHK_SEV_MEDIUM, "no untrusted procedural language installed",
     WHY_LANG, rule_untrusted_languages},
    {"audit.logging", CHK_SEV_MEDIUM, "connections and disconnections logged; pgAudit loaded",
     WHY_AUDIT, rule_audit_logging},
    {"data.checksums", CHK_SEV_MEDIUM, "data checksums are on", WHY_CHECKSUMS, rule_checksums},
    {"version.supported", CHK_SEV_HIGH, "the major version still gets security fixes", WHY_VERSION,
     rule_version},
};

size_t chk_db_rule_descs(struct chk_rule_desc *out, size_t cap)
{
	size_t n = sizeof db_rules / sizeof db_rules[0];
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = (struct chk_rule_desc){db_rules[i].id, db_rules[i].severity,
		                                db_rules[i].title, db_rules[i].why};
	return n;
}

void chk_db_rules(const struct chk_opts *o, const struct chk_repo_state *st, struct chk_report *r)
{
	struct dbx x = {.o = o, .st = st, .c = o->db, .r = r};
	if (init(&x) < 0) {
		pw_strlcpy(x.broken, pw_error_message(), sizeof x.broken);
		pw_error_clear();
		/* what the connection itself knows */
		const char *u = pg_current_user(x.c), *d = pg_param(x.c, "dbname");
		pw_strlcpy(r->role, u ? u : "", sizeof r->role);
		pw_strlcpy(r->database, d ? d : "", sizeof r->database);
		int v = pg_server_version(x.c);
		if (v >= 100000)
			snprintf(r->server_version, sizeof r->server_version, "%d.%d", v / 10000,
			         v % 10000);
		else
			snprintf(r->server_version, sizeof r->server_version, "%d.%d.%d", v / 10000,
			         v / 100 % 100, v % 100);
		x.qrole = chk_quote_ident(r->role);
	}
	for (size_t i = 0; i < sizeof db_rules / sizeof db_rules[0]; i++)
		db_rules[i].run(&x, &db_rules[i]);
	pg_result_free(x.hba);
	pw_free(x.qrole);
}
