/* internal.h - what the rule files share inside the check layer. */
#ifndef PW_CHECK_INTERNAL_H
#define PW_CHECK_INTERNAL_H

#include "check/check.h"
#include "common/buf.h"
#include "common/err.h"
#include "repo/catalog.h"

/* Append a finding to the report; evidence and fix are set afterwards. */
struct chk_finding *chk_add(struct chk_report *r, const char *id, const char *title,
                            enum chk_severity sev, const char *why);
/* Set the finding's result, severity and evidence (printf-style). */
void chk_set(struct chk_finding *f, enum chk_result res, enum chk_severity sev, const char *fmt,
             ...) PW_PRINTF(4, 5);
/* Replace the fix text (printf-style; NULL fmt clears it). */
void chk_fix(struct chk_finding *f, const char *fmt, ...) PW_PRINTF(2, 3);
/* Move the contents of b (a NUL-terminated string) into a new allocation. */
char *chk_take(struct pw_buf *b);

/* The repository side: listed once, read by the database rules (backup role) and the
 * backup.* rules. */
struct chk_repo_state {
	bool configured;
	bool listed;
	char error[512]; /* why the repository could not be read ("" if it could) */
	struct backup_list list;
	/* newest complete backup, or NULL; with a trusted-signer, the newest trusted one */
	const struct backup_entry *newest;
	const struct backup_entry *newest_any; /* newest complete backup, trusted or not */
	char backup_role[128];                 /* the role that took it (manifest "role") */
};

void chk_repo_load(const struct chk_opts *o, struct chk_repo_state *st);
void chk_repo_free(struct chk_repo_state *st);

void chk_db_rules(const struct chk_opts *o, const struct chk_repo_state *st, struct chk_report *r);
void chk_backup_rules(const struct chk_opts *o, const struct chk_repo_state *st,
                      struct chk_report *r);
/* The rule tables as rows (the number of rules; the first cap in out). */
size_t chk_db_rule_descs(struct chk_rule_desc *out, size_t cap);
size_t chk_backup_rule_descs(struct chk_rule_desc *out, size_t cap);
size_t chk_ring2_rule_descs(struct chk_rule_desc *out, size_t cap);

/* pg_hba_file_rules, as both rule rings read it (row i of "line_number, type, database,
 * user_name, address, netmask, auth_method, ..."). */
struct pg_result;
struct chk_hba_line chk_hba_row(const struct pg_result *r, int i);
/* "line N: host all all 10.0.0.0/8 md5" into b. */
void chk_hba_describe(struct pw_buf *b, const struct pg_result *r, int i);
/* True when hba can be used; else the finding becomes a skip naming the GRANT (readable
 * false) or the error. */
bool chk_hba_usable(const struct pg_result *hba, bool readable, const char *error, const char *role,
                    const char *qrole, struct chk_finding *f);

#endif
