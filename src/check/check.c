/* check.c - run the checklist: repository first (it names the backup role), then the
 * database rules, then the backup rules. Findings keep the order of docs/check.md. */
#include <string.h>

#include "check/internal.h"
#include "check/rules.h"
#include "common/str.h"
#include "pg/pg.h"

size_t chk_rules_describe(struct chk_rule_desc *out, size_t cap)
{
	size_t (*const ring[])(struct chk_rule_desc *, size_t) = {
	    chk_db_rule_descs, chk_ring2_rule_descs, chk_backup_rule_descs};
	size_t n = 0;
	for (size_t i = 0; i < sizeof ring / sizeof ring[0]; i++) {
		size_t k = ring[i](out, cap);
		size_t used = k < cap ? k : cap;
		n += k;
		cap -= used;
		if (out)
			out += used;
	}
	return n;
}

int chk_run(const struct chk_opts *o, struct chk_report *out)
{
	memset(out, 0, sizeof *out);
	out->now = o->now;
	pw_strlcpy(out->stanza, o->stanza ? o->stanza : "", sizeof out->stanza);
	struct chk_repo_state st;
	chk_repo_load(o, &st);
	chk_db_rules(o, &st, out);
	chk_ring2_rules(o, &st, out);
	chk_backup_rules(o, &st, out);
	chk_repo_free(&st);
	pw_best_effort("running the rules");
	return 0;
}
