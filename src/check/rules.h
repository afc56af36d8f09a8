/*
 * rules.h - the rule table of the checklist's second ring (issue 15), and the pure helpers
 * its rules use (unit-tested in tests/unit/test_check_ring2.c).
 *
 * A rule is one row: stable id, default severity, title, why (the public benchmark item it
 * answers) and the function that judges it. The first ring's rules (db_rules.c) and the
 * backup rules (backup_rules.c) are tables of the same shape; chk_rules_describe (check.h)
 * lists all three in report order.
 */
#ifndef PW_CHECK_RULES_H
#define PW_CHECK_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "check/check.h"

struct chk_ctx; /* the connection and what init learnt about the login (ring2_rules.c) */

struct chk_rule {
	const char *id;
	enum chk_severity severity;
	const char *title;
	const char *why;
	void (*run)(struct chk_ctx *x, struct chk_finding *f);
};

struct chk_repo_state;
/* The second ring's rules, after the first ring's database rules (see docs/check.md). */
void chk_ring2_rules(const struct chk_opts *o, const struct chk_repo_state *st,
                     struct chk_report *r);

/* --- pure helpers ------------------------------------------------------------------------ */

/* The date of the latest-minor table (UTC midnight) and the latest minor of a major version
 * in it (-1 if the major is not in the table). */
time_t chk_minor_table_date(void);
int chk_minor_latest(int major);

enum chk_minor_state {
	CHK_MINOR_CURRENT, /* the latest minor of the table (or newer) */
	CHK_MINOR_BEHIND,  /* an older minor than the table's latest */
	CHK_MINOR_UNKNOWN, /* the major version is not in the table */
};
/* Judge server_version_num (e.g. 150020) against the table: *latest = the table's minor (or
 * -1), *behind = how many minor releases older (0 when current), *stale = the table is older
 * than 183 days at now. */
enum chk_minor_state chk_minor_judge(int version_num, time_t now, int *latest, int *behind,
                                     bool *stale);

/* Why an hba line's method is weak ("md5: ...", "ident over TCP: ...", "ldap without TLS:
 * ..."), or NULL when it is not. Lines of type local are judged only for md5. */
const char *chk_hba_weak(const struct chk_hba_line *l);

/* Does an earlier hba line "outer" match every connection that "inner" matches, by connection
 * type and address ("all", or an IPv4/IPv6 network containing inner's)? Databases and users
 * are not compared. */
bool chk_hba_covers(const struct chk_hba_line *outer, const struct chk_hba_line *inner);
/* Is item one of the entries of a comma-separated list (as pg_hba_file_rules shows them)? */
bool chk_list_has(const char *list, const char *item);

/* Is lib in a comma-separated library list (spaces and double quotes allowed, a directory
 * prefix and a ".so" suffix ignored)? */
bool chk_lib_listed(const char *list, const char *lib);

/* Does an OpenSSL cipher list (ssl_ciphers) allow weak TLS 1.2 ciphers? The reasons go to
 * why (";"-separated). */
bool chk_cipher_list_weak(const char *list, char *why, size_t n);
/* Is a negotiated cipher (OpenSSL name) weak: no forward secrecy, CBC, RC4, DES, NULL? */
bool chk_cipher_weak(const char *cipher);

/* Which of time, user, database, process and client does a log_line_prefix lack? Their
 * names go to missing ("; "-separated); false when nothing is missing. */
bool chk_log_prefix_missing(const char *prefix, char *missing, size_t n);

#endif
