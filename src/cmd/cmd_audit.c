/* cmd_audit.c - pgward audit [verify]: print or check the hash-chained audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "cmd/commands.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"

struct print_ctx {
	bool json;
	size_t n;
};

static int print_rec(void *arg, json_t *rec)
{
	struct print_ctx *p = arg;
	p->n++;
	if (p->json) {
		char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "{}");
		free(s);
		return 0;
	}
	json_t *actor = json_object_get(rec, "actor");
	const char *role = json_string_value(json_object_get(actor, "db_role"));
	const char *stanza = json_string_value(json_object_get(rec, "stanza"));
	printf("%-20s %-8s %-8s %-10s user=%s%s%s%s%s",
	       json_string_value(json_object_get(rec, "time")),
	       json_string_value(json_object_get(rec, "command")),
	       json_string_value(json_object_get(rec, "outcome")), stanza ? stanza : "-",
	       json_string_value(json_object_get(actor, "os_user")), role ? " role=" : "",
	       role ? role : "", json_object_get(rec, "error") ? " error=" : "",
	       json_object_get(rec, "error") ? json_string_value(json_object_get(rec, "error"))
	                                     : "");
	printf("\n");
	return 0;
}

static char *log_path(struct pw_ctx *ctx)
{
	const char *p = pw_cfg_str(ctx->cfg, PW_OPT_AUDIT_LOG);
	return p ? pw_strdup(p) : pw_audit_default_path();
}

void pw_audit_record(struct pw_ctx *ctx, const char *db_role, int rc, json_t *details)
{
	char *path = log_path(ctx);
	char *err = rc < 0 ? pw_strdup(pw_error_message()) : NULL;
	struct pw_audit_event ev = {.command = ctx->command,
	                            .stanza = ctx->stanza,
	                            .db_role = db_role,
	                            .exit_code = rc < 0 ? -rc : 0,
	                            .error = err,
	                            .details = details};
	/* keep the command's own error record intact */
	struct pw_error_saved e;
	pw_error_save(&e);
	if (pw_audit_append(path, &ev) < 0) {
		char *m = pw_redact(pw_error_message());
		fprintf(stderr, "pgward: warning: the audit record was not written: %s\n", m);
		pw_free(m);
	}
	pw_error_restore(&e);
	pw_free(err);
	pw_free(path);
}

int cmd_audit(struct pw_ctx *ctx)
{
	const char *sub = pw_config_pos(ctx->cfg, 0);
	bool json = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	char *path = log_path(ctx);
	int rc;
	if (sub && strcmp(sub, "verify") == 0) {
		struct pw_audit_report r;
		rc = pw_audit_verify(path, &r);
		const char *expect = pw_cfg_str(ctx->cfg, PW_OPT_EXPECT_HEAD);
		bool head_ok = rc < 0 || !expect || strcmp(expect, r.head) == 0;
		if (rc == 0 && !head_ok) {
			pw_error(PW_E_AUDIT,
			         "the newest audit record is not the expected one (head %.16s..., "
			         "expected %.16s...)",
			         r.head, expect);
			pw_error_hint("Records were removed from the end of the log, or it was "
			              "replaced; investigate.");
			rc = -PW_E_AUDIT;
		}
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "file", json_string(path));
			json_object_set_new(o, "intact", json_boolean(rc == 0));
			json_object_set_new(o, "records", json_integer((json_int_t)r.records));
			json_object_set_new(o, "head", json_string(r.head));
			if (r.bad_line) {
				json_object_set_new(o, "bad_line",
				                    json_integer((json_int_t)r.bad_line));
				json_object_set_new(o, "reason", json_string(r.reason));
			}
			char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("%s\n", s);
			free(s);
			json_decref(o);
		} else if (rc == 0) {
			printf("audit log %s: intact, %zu records\nhead: %s\n", path, r.records,
			       r.head);
		}
	} else if (sub) {
		pw_error(PW_E_USAGE, "unknown audit subcommand \"%s\"", sub);
		rc = pw_error_hint("Try \"pgward help audit\".");
	} else {
		time_t since = 0;
		const char *s = pw_cfg_str(ctx->cfg, PW_OPT_SINCE);
		rc = s ? pw_audit_parse_since(s, time(NULL), &since) : 0;
		struct print_ctx pc = {json, 0};
		if (rc == 0)
			rc = pw_audit_read(path, since, print_rec, &pc);
	}
	pw_free(path);
	return rc;
}
