/* db_open.c - where the database URL comes from, and connecting with the configured safety. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/commands.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "pg/pg.h"
#include "pg/privs.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* The connection string from --db, url-env or url-file (newly allocated). */
int pw_db_conninfo(struct pw_ctx *ctx, char **out)
{
	struct pw_config *c = ctx->cfg;
	const char *db = pw_cfg_str(c, PW_OPT_DB);
	const char *env = pw_cfg_str(c, PW_OPT_URL_ENV);
	const char *file = pw_cfg_str(c, PW_OPT_URL_FILE);
	int given = !!db + !!env + !!file;
	*out = NULL;
	if (given == 0) {
		pw_error(PW_E_CONFIG, "no database given");
		return pw_error_hint("Name it with --db URL, url-env = DATABASE_URL or url-file = "
		                     "PATH.");
	}
	if (given > 1) {
		pw_error(PW_E_CONFIG, "db, url-env and url-file are alternatives; %d were given",
		         given);
		return pw_error_hint("Keep one of them.");
	}
	if (db) {
		int has = pg_conninfo_has_password(db);
		if (has > 0 && strstr(pw_cfg_source(c, PW_OPT_DB), "command line")) {
			pw_error(PW_E_INSECURE, "the --db connection string contains a password");
			return pw_error_hint(
			    "Any user can read command lines: put the password in "
			    "PGWARD_DB_PASSWORD, a mode 0600 config file (db-password), "
			    "a passfile, or pass the URL through url-env.");
		}
		*out = pw_strdup(db);
		return 0;
	}
	if (env) {
		const char *v = getenv(env);
		if (!v || !*v) {
			pw_error(PW_E_CONFIG, "environment variable %s (url-env) is not set", env);
			return pw_error_hint("Export %s with the database URL, or fix url-env.",
			                     env);
		}
		*out = pw_strdup(v);
		return 0;
	}
	struct pw_buf b = PW_BUF_INIT(64 * 1024);
	/* a regular file of root or ours that no one else can write (never a FIFO) */
	int fd;
	int rc = pw_trusted_open(file, "url-file", 0, &fd);
	char chunk[4096];
	while (rc == 0) {
		ssize_t r = pw_read_some(fd, chunk, sizeof chunk, file);
		if (r <= 0) {
			rc = (int)r;
			break;
		}
		rc = pw_buf_append(&b, chunk, (size_t)r);
	}
	OPENSSL_cleanse(chunk, sizeof chunk);
	if (rc == 0) {
		char *v = pw_trim((char *)pw_buf_str(&b));
		if (pg_conninfo_has_password(v) > 0)
			rc = pw_check_private_fd(fd, file, "url-file");
		if (rc == 0 && !*v) {
			pw_error(PW_E_CONFIG, "url-file \"%s\" is empty", file);
			rc = pw_error_hint("Write the database URL into it.");
		}
		if (rc == 0)
			*out = pw_strdup(v);
	}
	if (fd >= 0)
		close(fd);
	pw_buf_free(&b, 1);
	return rc;
}

int pw_db_connect(struct pw_ctx *ctx, bool read_only, bool stop_after_tls, struct pg_conn **out)
{
	return pw_db_connect_as(ctx, read_only, stop_after_tls, NULL, out);
}

/* Connect with the configured conninfo (resolved again each time: url-env / url-file may
 * name a new primary), password and pins; o gives the rest. */
static int connect_with(struct pw_ctx *ctx, struct pg_connect_opts o, struct pg_conn **out)
{
	char *ci = NULL;
	int rc = pw_db_conninfo(ctx, &ci);
	if (rc < 0)
		return rc;
	const char *pw = pw_cfg_str(ctx->cfg, PW_OPT_DB_PASSWORD);
	struct pw_secret *secret = pw ? pw_secret_from_str(pw) : NULL;
	o.conninfo = ci;
	o.password = secret;
	o.npins = pw_cfg_list(ctx->cfg, PW_OPT_PIN_SHA256, &o.pins);
	rc = pg_connect(&o, out);
	pw_secret_free(secret);
	pw_free(ci);
	return rc;
}

int pw_db_connect_as(struct pw_ctx *ctx, bool read_only, bool stop_after_tls,
                     const char *application_name, struct pg_conn **out)
{
	struct pg_connect_opts o = {.read_only = read_only,
	                            .application_name = application_name,
	                            .stop_after_tls = stop_after_tls,
	                            /* check reports a setting that changes the session's role
	                             * (rule roles.session-role); everything else refuses it */
	                            .allow_role_change = application_name &&
	                                                 !strcmp(application_name, "pgward-check")};
	int rc = connect_with(ctx, o, out);
	if (rc == 0 && !stop_after_tls)
		ctx->db_role = pw_strdup(pg_current_user(*out));
	return rc;
}

int pw_db_connect_replication(struct pw_ctx *ctx, const char *application_name,
                              struct pg_conn **out)
{
	return connect_with(
	    ctx,
	    (struct pg_connect_opts){.application_name = application_name, .replication = true},
	    out);
}

int pw_replication_preflight(struct pw_ctx *ctx, struct pg_conn *c, const char *doing,
                             bool *privileged)
{
	struct pw_privs p;
	bool repl = false;
	int rc = pw_privs_scan_replication(c, &p, &repl);
	if (rc < 0)
		return rc;
	bool allow = pw_cfg_bool(ctx->cfg, PW_OPT_ALLOW_PRIVILEGED);
	for (size_t i = 0; i < p.n && i < 20; i++) {
		char *d = pw_priv_describe(&p.f[i]);
		fprintf(stderr, "  privilege: role \"%s\" holds %s (%s)\n      fix: %s\n", p.role,
		        d, pw_priv_path_name(p.f[i].path), p.f[i].fix ? p.f[i].fix : "");
		pw_free(d);
	}
	if (privileged)
		*privileged = p.n > 0;
	if (!repl && !p.superuser) {
		pw_error(PW_E_PRIVILEGE, "role \"%s\" lacks the REPLICATION attribute", p.role);
		rc = pw_error_hint("ALTER ROLE %s REPLICATION (docs/pitr.md gives the role and the "
		                   "pg_hba.conf line).",
		                   p.role);
	} else if (p.n && !allow) {
		pw_error(PW_E_PRIVILEGE,
		         "role \"%s\" could change database \"%s\" (%zu finding%s above)", p.role,
		         p.database, p.n, p.n == 1 ? "" : "s");
		rc =
		    pw_error_hint("%s with a role that has REPLICATION and nothing else (apply the "
		                  "fixes shown), or pass --allow-privileged.",
		                  doing);
	} else if (p.n) {
		fprintf(stderr,
		        "pgward: warning: a privileged role (--allow-privileged); the audit "
		        "record and a backup's manifest record it\n");
	} else {
		fprintf(stderr,
		        "pgward: role \"%s\" has REPLICATION and no write privilege: it reads "
		        "every database of the cluster (the WAL carries every change) and can "
		        "change none\n",
		        p.role);
	}
	json_object_set_new(ctx->audit, "privileged", json_boolean(p.n > 0));
	pw_privs_free(&p);
	return rc;
}
