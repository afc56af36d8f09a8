/*
 * check.h - the security checklist (`pgward check`), read from metadata only:
 * catalogs, settings, statistics views, the TLS session, the configuration and the
 * repository's plaintext manifests and verification records. Never a row of user data.
 *
 * Every rule has a stable id (docs/check.md lists them). A rule never fails because of a
 * missing privilege: it tests the privilege first and reports `skip` with the GRANT that
 * would let it run; a query that still fails becomes `skip` with the server's message.
 * This layer prints nothing: the report is data (and text renderings of it).
 */
#ifndef PW_CHECK_CHECK_H
#define PW_CHECK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "common/buf.h"

/* Ordered: a higher value is more severe. */
enum chk_severity { CHK_SEV_INFO, CHK_SEV_LOW, CHK_SEV_MEDIUM, CHK_SEV_HIGH, CHK_SEV_CRITICAL };
/* --fail-on=never: no result changes the exit status. */
#define CHK_SEV_NEVER (CHK_SEV_CRITICAL + 1)

enum chk_result { CHK_PASS, CHK_FAIL, CHK_WARN, CHK_SKIP, CHK_INFO };

#define CHK_SCHEMA_VERSION 1

struct chk_finding {
	const char *id;    /* stable, e.g. "tls.server" */
	const char *title; /* static */
	enum chk_severity severity;
	enum chk_result result;
	char *evidence;  /* what was seen (metadata only) */
	const char *why; /* why it matters: a public source or a plain reason (static) */
	char *fix;       /* SQL or configuration snippet, or the GRANT a skip needs */
	bool unread;     /* skip because the server could not be read at all: counts under any
	                    --fail-on other than never (see chk_fails) */
};

/* One row of the rule table, whatever ring runs it: what "pgward check --list-rules" prints
 * and what docs/check.md's rule table must agree with (tests/integration/test_check_rules.sh). */
struct chk_rule_desc {
	const char *id;
	enum chk_severity severity;
	const char *title;
	const char *why;
};
/* Every rule in report order (database rules, second ring, backup rules): the number of
 * rules, with the first cap of them in out. */
size_t chk_rules_describe(struct chk_rule_desc *out, size_t cap);

struct chk_report {
	struct chk_finding *f;
	size_t n;
	char database[128];
	char role[128];
	char server_version[64];
	char stanza[64]; /* "" when none */
	time_t now;
};

/* What the backup.* rules read; repo NULL = no repository configured. */
struct stor;
struct repo_signers;
struct chk_backup_opts {
	struct stor *repo;
	const char *repo_error;  /* a repository was configured but could not be opened */
	const char *repo_desc;   /* stor_describe(), for evidence */
	const char *repo_addr;   /* the repo option as given */
	const char *s3_endpoint; /* NULL = AWS by region */
	int retention_days, retention_min;
	int retention_daily, retention_weekly, retention_monthly, retention_yearly; /* GFS */
	const char *retention_source; /* "default", "FILE line N", ... */
	long long lock_days;
	const struct repo_signers *signers; /* trusted-signer keys (NULL or empty: none) */
	long long wal_flush_interval;       /* seconds (backup.pitr: how fresh WAL should be) */
	long long recovery_window_days;     /* 0: not configured */
};

struct pg_conn;
struct chk_opts {
	struct pg_conn *db;
	const char *sslmode;            /* effective sslmode of the connection */
	const char *db_host;            /* effective host ("" = unix socket) */
	size_t npins;                   /* pin-sha256 values the connection was checked against */
	bool connecting_is_backup_role; /* check runs with the backup stanza's credentials */
	const char *stanza;             /* "" when none */
	struct chk_backup_opts backup;
	time_t now;
};

int chk_run(const struct chk_opts *o, struct chk_report *out);
void chk_report_free(struct chk_report *r);

/* Renderings (allocated strings into b). */
json_t *chk_report_json(const struct chk_report *r, enum chk_severity fail_on);
void chk_render_text(const struct chk_report *r, struct pw_buf *b);
void chk_render_markdown(const struct chk_report *r, struct pw_buf *b);
/* s into b as valid UTF-8 (invalid bytes become U+FFFD); with controls, C0 controls (but a
 * newline when keep_nl), DEL and C1 controls become U+FFFD too. */
void chk_clean_text(struct pw_buf *b, const char *s, bool controls, bool keep_nl);

/* Pure helpers (unit-tested). */
/* name as one SQL identifier for a printed fix: "name" with quotes doubled, or, when it
 * holds a control character (a newline that would end a comment or forge a report line),
 * DEL, a C1 control or invalid UTF-8, the U&"..." form with those as \XXXX escapes, so
 * the identifier stays on one line and names exactly that object. pw_free the result. */
char *chk_quote_ident(const char *name);
/* sql (a fragment the server quoted with quote_ident: names, dots, keywords) with every
 * quoted identifier rewritten by chk_quote_ident. pw_free the result. */
char *chk_requote(const char *sql);
const char *chk_severity_name(enum chk_severity s);
/* "critical" ... "info", "never"; -1 on anything else. */
int chk_severity_parse(const char *s, enum chk_severity *out);
const char *chk_result_name(enum chk_result r);
/* Does this finding make --fail-on=threshold fail? (fail or warn at or above it, or a skip
 * because the server could not be read at all, whatever the threshold but never) */
bool chk_fails(const struct chk_finding *f, enum chk_severity threshold);
size_t chk_count_failing(const struct chk_report *r, enum chk_severity threshold);

/* End of community support of a PostgreSQL major version (12..18); 0 if not in the table. */
time_t chk_eol_date(int major);

/* One pg_hba.conf line as pg_hba_file_rules shows it. */
struct chk_hba_line {
	const char *type;      /* local, host, hostssl, hostnossl, hostgssenc, hostnogssenc */
	const char *databases; /* "{all}" or a list */
	const char *users;
	const char *address; /* NULL/"" for local; "all", "samehost", an IP, a host name */
	const char *netmask; /* NULL when the address was a keyword or a host name */
	const char *method;
};
enum chk_hba_scope {
	CHK_HBA_LOCAL,    /* unix socket */
	CHK_HBA_LOOPBACK, /* 127.0.0.0/8, ::1, samehost */
	CHK_HBA_NARROW,   /* a network or host of reasonable size */
	CHK_HBA_WIDE,     /* IPv4 prefix shorter than /16, IPv6 shorter than /32 */
	CHK_HBA_WORLD,    /* 0.0.0.0/0, ::/0 or "all" */
};
/* Prefix length of a dotted or IPv6 netmask; -1 if it is not a netmask. */
int chk_netmask_bits(const char *netmask);
enum chk_hba_scope chk_hba_scope(const struct chk_hba_line *l);
/* Does the line accept connections without TLS or GSSAPI encryption (host, hostnossl,
 * hostnogssenc)? */
bool chk_hba_plaintext(const struct chk_hba_line *l);
/* Does the line let anyone in? (method other than reject) */
bool chk_hba_accepts(const struct chk_hba_line *l);
/* The host of an endpoint URL ("https://user:pass@[::1]:9000/x" -> "::1") into out. */
void chk_url_host(const char *url, char *out, size_t n);
/* Is a SECURITY DEFINER function's search_path value (proconfig "search_path=...", after
 * the "=") safe: empty, only pg_catalog, or with pg_temp last? */
bool chk_search_path_safe(const char *value);
/* Is log_connections/log_disconnections on (on/true/1, or a PostgreSQL 18 list)? */
bool chk_log_setting_on(const char *v);
/* Does a role's name or comment mark it read-only (see docs/check.md)? */
bool chk_marked_readonly(const char *name, const char *comment);

#endif
