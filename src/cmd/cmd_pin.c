/* cmd_pin.c - pgward pin: show (or check) a database server's TLS public-key pin. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "common/err.h"
#include "common/mem.h"
#include "pg/pg.h"

int cmd_pin(struct pw_ctx *ctx)
{
	/* "pgward pin BACKUP-ID": keep that backup whatever the retention policy says */
	if (pw_config_pos(ctx->cfg, 0))
		return pw_retention_pin(ctx, pw_config_pos(ctx->cfg, 0), true);
	const char *const *pins;
	bool check = pw_cfg_list(ctx->cfg, PW_OPT_PIN_SHA256, &pins) > 0;
	struct pg_conn *c;
	/* without pins: the TLS handshake only, no password needed or sent */
	int rc = pw_db_connect(ctx, true, !check, &c);
	if (rc < 0)
		return rc;
	const struct pg_tls_info *t = pg_tls(c);
	bool json = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "pin_sha256", json_string(t->pin));
		json_object_set_new(o, "subject", json_string(t->subject));
		json_object_set_new(o, "issuer", json_string(t->issuer));
		json_object_set_new(o, "not_after", json_string(t->not_after));
		json_object_set_new(o, "protocol", json_string(t->protocol));
		json_object_set_new(o, "pin_checked", json_boolean(check));
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		pw_free(s);
		json_decref(o);
	} else {
		printf("server:     %s\nissuer:     %s\nexpires:    %s\nprotocol:   %s\n",
		       t->subject, t->issuer, t->not_after, t->protocol);
		if (check)
			printf("pin:        matches; authenticated as role \"%s\"\n",
			       pg_current_user(c));
		printf("pin-sha256 = %s\n", t->pin);
	}
	json_object_set_new(ctx->audit, "pin_sha256", json_string(t->pin));
	pg_close(c);
	return 0;
}
