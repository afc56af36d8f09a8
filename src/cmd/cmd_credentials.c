/* cmd_credentials.c - pgward credentials: list, create, set-level, url, rotate, destroy,
 * repair-default, attach, detach (docs/credentials.md). */
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "cred/attach.h"
#include "cred/cred.h"
#include "cred/rotation.h"
#include "filter/filter.h"
#include "filter/keyfile.h"
#include "pg/pg.h"

static void wipe_str(char *s)
{
	OPENSSL_cleanse(s, strlen(s));
}

struct cctx {
	struct pw_ctx *ctx;
	struct cred_conn cc;
	bool json;
	char dbid[1024];             /* host:port/dbname: this database in the attachments record */
	char hostname[256];          /* this host, in the database's attachment notes */
	char *registry;              /* attachments record path */
	struct cred_rot_run run;     /* this process's rotations (cred/rotation.h) */
	struct cred_rot_hooks hooks; /* what the rotation executor asks of this command */
	json_t *out;                 /* JSON report */
};

/* ---- small helpers ---- */

static int parse_duration(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	long mul = 1;
	if (end == s || v < 0)
		goto bad;
	if (*end == 's' || *end == 0)
		mul = 1;
	else if (*end == 'm')
		mul = 60;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'd')
		mul = 86400;
	else
		goto bad;
	if (*end && end[1])
		goto bad;
	if (v > 366L * 86400 / mul)
		goto bad;
	*out = v * mul;
	return 0;
bad:
	pw_error(PW_E_USAGE, "bad duration \"%s\"", s);
	return pw_error_hint("Use a number with s, m, h or d, as 30m.");
}

static void urlenc(struct pw_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			pw_buf_putc(b, (char)c);
		else
			pw_buf_printf(b, "%%%02X", c);
	}
}

static void kv(struct pw_buf *b, const char *k, const char *v)
{
	pw_buf_printf(b, "%s%s='", b->len ? " " : "", k);
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			pw_buf_putc(b, '\\');
		pw_buf_putc(b, *v);
	}
	pw_buf_putc(b, '\'');
}

/* The URL (and conninfo) of a username: the admin connection's host, port, database and
 * CA, sslmode=verify-full. password may be NULL (then left out). Allocated. */
static char *make_url_at(struct cctx *x, json_t *base, const char *user, const char *password,
                         bool conninfo)
{
	/* pg_param returns one reused buffer: copy each value before the next call */
	char h[1024], port[32], root[1024];
	const char *v =
	    base ? json_string_value(json_object_get(base, "host")) : pg_param(x->cc.pg, "host");
	pw_strlcpy(h, v && *v ? v : "localhost", sizeof h);
	v = base ? json_string_value(json_object_get(base, "port")) : pg_param(x->cc.pg, "port");
	pw_strlcpy(port, v && *v ? v : "5432", sizeof port);
	v = base ? json_string_value(json_object_get(base, "sslrootcert"))
	         : pg_param(x->cc.pg, "sslrootcert");
	pw_strlcpy(root, v ? v : "", sizeof root);
	struct pw_buf b = PW_BUF_INIT(16384);
	if (conninfo) {
		kv(&b, "host", h);
		kv(&b, "port", port);
		kv(&b, "dbname", x->cc.dbname);
		kv(&b, "user", user);
		if (password)
			kv(&b, "password", password);
		kv(&b, "sslmode", "verify-full");
		if (*root)
			kv(&b, "sslrootcert", root);
	} else {
		pw_buf_printf(&b, "postgresql://");
		urlenc(&b, user);
		if (password) {
			pw_buf_putc(&b, ':');
			urlenc(&b, password);
		}
		pw_buf_putc(&b, '@');
		if (h[0] == '/') {
			pw_buf_printf(&b, ":%s/", port);
		} else {
			if (strchr(h, ':'))
				pw_buf_printf(&b, "[%s]:%s/", h, port);
			else
				pw_buf_printf(&b, "%s:%s/", h, port);
		}
		urlenc(&b, x->cc.dbname);
		pw_buf_printf(&b, "?sslmode=verify-full");
		if (*root) {
			pw_buf_printf(&b, "&sslrootcert=");
			urlenc(&b, root);
		}
		if (h[0] == '/') {
			pw_buf_printf(&b, "&host=");
			urlenc(&b, h);
		}
	}
	char *s = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 1);
	return s;
}

static char *make_url(struct cctx *x, const char *user, const char *password, bool conninfo)
{
	return make_url_at(x, NULL, user, password, conninfo);
}

/* the password out of a URL we wrote (postgresql://user:PASSWORD@...) */
static struct pw_secret *url_password(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return NULL;
	p += 3;
	const char *at = strchr(p, '@');
	const char *colon = strchr(p, ':');
	if (!at || !colon || colon > at || at - colon - 1 != CRED_PASSWORD_LEN)
		return NULL;
	return pw_secret_new(colon + 1, CRED_PASSWORD_LEN);
}

/* is url's username exactly user? */
static bool url_user_eq(const char *url, const char *user)
{
	const char *p = strstr(url, "://");
	if (!p)
		return false;
	p += 3;
	size_t n = strlen(user);
	return strncmp(p, user, n) == 0 && (p[n] == ':' || p[n] == '@');
}

/* one audit record per step of a change, next to the command's own record */
static void step_audit(struct cctx *x, const char *name, const char *step, json_t *extra)
{
	json_t *d = extra ? extra : json_object();
	json_object_set_new(d, "credential", json_string(name));
	json_object_set_new(d, "step", json_string(step));
	json_object_set_new(d, "database", json_string(x->dbid));
	pw_audit_record(x->ctx, x->cc.admin, 0, d);
	json_decref(d);
}

/* age-encrypt a password to the configured recipients (NULL if none are configured) */
static int seal(struct cctx *x, const struct pw_secret *pw, char **out)
{
	*out = NULL;
	struct pw_keyset ks = {0};
	const char *const *v;
	int rc = 0;
	size_t n = pw_cfg_list(x->ctx->cfg, PW_OPT_RECIPIENT, &v);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_recipient_str(&ks, v[i]);
	n = pw_cfg_list(x->ctx->cfg, PW_OPT_RECIPIENTS_FILE, &v);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_recipients_file(&ks, v[i]);
	if (rc == 0 && ks.nrcpts) {
		struct pw_buf b = PW_BUF_INIT(1 << 16);
		struct flt *chain = NULL;
		rc = flt_age_encrypt(&chain, ks.rcpts, ks.nrcpts, true, flt_buf_sink(&b));
		if (rc == 0)
			rc = flt_write(chain, pw_secret_data(pw), pw_secret_len(pw));
		if (rc == 0)
			rc = flt_finish(chain);
		flt_chain_free(chain);
		if (rc == 0)
			*out = pw_strdup(pw_buf_str(&b));
		pw_buf_free(&b, 0);
	}
	pw_keyset_free(&ks);
	return rc;
}

static int ask_pass(void *arg, struct pw_secret **out)
{
	return pw_ask_passphrase(arg, "Enter passphrase: ", false, out);
}

/* decrypt a sealed password with the -i identities; 0 with *out NULL if none given */
static int unseal(struct cctx *x, const char *sealed, struct pw_secret **out)
{
	*out = NULL;
	const char *const *v;
	size_t n = pw_cfg_list(x->ctx->cfg, PW_OPT_IDENTITY, &v);
	if (!n || !sealed || !*sealed)
		return 0;
	struct pw_keyset ks = {0};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_identity_file(&ks, v[i], pw_ask_passphrase, x->ctx->cfg);
	for (size_t i = 0; i < ks.nids; i++)
		ks.ids[i].ask = ask_pass, ks.ids[i].ask_arg = x->ctx->cfg;
	struct pw_buf b = PW_BUF_INIT(4096);
	if (rc == 0) {
		struct flt *chain =
		    flt_age_decrypt(ks.ids, ks.nids, AGE_ARMOR_AUTO, flt_buf_sink(&b));
		rc = flt_write(chain, (const uint8_t *)sealed, strlen(sealed));
		if (rc == 0)
			rc = flt_finish(chain);
		flt_chain_free(chain);
	}
	if (rc == 0)
		*out = pw_secret_new(b.data, b.len);
	pw_buf_free(&b, 1);
	pw_keyset_free(&ks);
	return rc;
}

/* ---- attachments ---- */

/* this host's attachments of a credential (new references into reg) */
static json_t *my_attachments(struct cctx *x, json_t *reg, const char *name)
{
	json_t *r = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(reg, i, a)
	{
		if (pw_streq(json_string_value(json_object_get(a, "database")), x->dbid) &&
		    pw_streq(json_string_value(json_object_get(a, "credential")), name))
			json_array_append(r, a);
	}
	return r;
}

/* Write the URL of user (with password) into the attachments of name on this host, each with
 * the server address it was attached with, and run their on-change commands. With only_from,
 * only the attachments whose URL still names that username are rewritten (idempotent). */
static int write_attachments(struct cctx *x, const char *name, const char *user,
                             const struct pw_secret *pw, const char *only_from)
{
	json_t *reg;
	int rc = attach_registry_load(x->registry, &reg);
	if (rc < 0)
		return rc;
	json_t *mine = my_attachments(x, reg, name);
	size_t i;
	json_t *a;
	json_array_foreach(mine, i, a)
	{
		const char *path = json_string_value(json_object_get(a, "path"));
		const char *var = json_string_value(json_object_get(a, "var"));
		struct pw_secret *own = NULL;
		const struct pw_secret *use = pw;
		if (only_from) {
			char *cur = NULL;
			rc = attach_env_get(path, var, &cur);
			bool stale = rc == 0 && cur && url_user_eq(cur, only_from);
			if (stale && !use)
				use = own = url_password(cur);
			if (cur)
				wipe_str(cur);
			pw_free(cur);
			if (rc < 0 || !stale || !use) {
				pw_secret_free(own);
				if (rc < 0)
					break;
				continue;
			}
		}
		char *url = make_url_at(x, a, user, pw_secret_str(use), false);
		rc = attach_env_set(path, var, url);
		wipe_str(url);
		pw_free(url);
		pw_secret_free(own);
		if (rc < 0)
			break;
		/* interrupted: the state recorded in the database is where it was; running the
		 * command again rewrites the files (idempotent) and goes on */
		rc = attach_run_on_change(json_string_value(json_object_get(a, "on_change")), name,
		                          path);
		if (rc < 0)
			break;
	}
	json_decref(mine);
	json_decref(reg);
	return rc;
}

/* the password of username user, from this host's attachments of name (NULL if none) */
static struct pw_secret *password_from_attachments(struct cctx *x, const char *name,
                                                   const char *user)
{
	json_t *reg;
	if (attach_registry_load(x->registry, &reg) < 0) {
		pw_best_effort("reading the attachment registry");
		return NULL;
	}
	json_t *mine = my_attachments(x, reg, name);
	struct pw_secret *pw = NULL;
	size_t i;
	json_t *a;
	json_array_foreach(mine, i, a)
	{
		char *v = NULL;
		if (attach_env_get(json_string_value(json_object_get(a, "path")),
		                   json_string_value(json_object_get(a, "var")), &v) == 0 &&
		    v && url_user_eq(v, user))
			pw = url_password(v);
		pw_best_effort("reading an attached URL");
		if (v)
			wipe_str(v);
		pw_free(v);
		if (pw)
			break;
	}
	json_decref(mine);
	json_decref(reg);
	return pw;
}

/* Are there attachments of the credential on other hosts (from the database's notes)? */
static const char *other_host(struct cctx *x, const struct cred *c)
{
	json_t *att = json_object_get(c->meta, "attachments");
	size_t i;
	json_t *a;
	json_array_foreach(att, i, a)
	{
		const char *h = json_string_value(json_object_get(a, "host"));
		if (h && strcmp(h, x->hostname) != 0)
			return h;
	}
	return NULL;
}

/* a secret to show: top level for create, else under "secrets" by credential name */
static void show_secret(struct cctx *x, const char *name, const char *user,
                        const struct pw_secret *pw, const char *why)
{
	char *url = make_url(x, user, pw_secret_str(pw), false);
	char *ci = make_url(x, user, pw_secret_str(pw), true);
	if (x->json) {
		json_t *secrets = json_object_get(x->out, "secrets");
		if (!secrets) {
			secrets = json_object();
			json_object_set_new(x->out, "secrets", secrets);
		}
		json_t *o = json_object();
		json_object_set_new(o, "username", json_string(user));
		json_object_set_new(o, "url", json_string(url));
		json_object_set_new(o, "conninfo", json_string(ci));
		json_object_set_new(secrets, name, o);
	} else {
		printf("Credential %s: %s (shown once; store it now):\n%s\n", name, why, url);
	}
	wipe_str(url);
	wipe_str(ci);
	pw_free(url);
	pw_free(ci);
}

/* ---- rotation (the state machine and its executor are cred/rotation.c) ---- */

static int hook_find_password(void *arg, const struct cred *c, struct pw_secret **out)
{
	struct cctx *x = arg;
	char rot[80];
	cred_rot_role(c->name, rot, sizeof rot);
	*out = password_from_attachments(x, c->name, rot);
	return *out ? 0 : unseal(x, cred_meta_str(c, "sealed_password_rotating"), out);
}

static const char *hook_elsewhere(void *arg, const struct cred *c)
{
	return other_host(arg, c);
}

static int hook_seal(void *arg, const struct pw_secret *pw, char **out)
{
	return seal(arg, pw, out);
}

static int hook_publish(void *arg, const char *name, const char *user, const struct pw_secret *pw,
                        const char *only_from)
{
	return write_attachments(arg, name, user, pw, only_from);
}

static void hook_audit(void *arg, const char *name, const char *step, json_t *extra)
{
	step_audit(arg, name, step, extra);
}

static void hook_show(void *arg, const char *name, const char *user, const struct pw_secret *pw)
{
	show_secret(arg, name, user, pw,
	            "the rotation was resumed with a new password for the rotating username");
}

static const struct cred_rot_hooks rot_hooks_init = {
    .find_password = hook_find_password,
    .elsewhere = hook_elsewhere,
    .seal = hook_seal,
    .publish = hook_publish,
    .audit = hook_audit,
    .show = hook_show,
};

static int advance(struct cctx *x, const char *name, bool wait, bool force, bool explicit_)
{
	return cred_rot_advance(&x->run, name, wait, force, explicit_);
}

/* Any later credentials command advances pending rotations (docs/credentials.md); one that
 * cannot move on is reported and does not stop the command. */
static void advance_all(struct cctx *x)
{
	struct cred *v;
	size_t n;
	if (cred_list(&x->cc, &v, &n) < 0) {
		pw_best_effort_warn("listing the credentials to move their rotations on");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cred_meta_str(&v[i], "state"), "rotating") != 0)
			continue;
		if (advance(x, v[i].name, false, false, false) < 0) {
			char *m = pw_redact(pw_error_message());
			pw_warn("the rotation of \"%s\" did not move on: %s", v[i].name, m);
			pw_free(m);
			pw_error_clear();
		}
	}
	cred_list_free(v, n);
}

/* ---- confirmation ---- */

static int confirm(struct cctx *x, const char *what)
{
	const char *given = pw_cfg_str(x->ctx->cfg, PW_OPT_CONFIRM);
	if (given) {
		if (strcmp(given, x->cc.dbname) == 0)
			return 0;
		pw_error(PW_E_USAGE, "--confirm \"%s\" does not name the database \"%s\"", given,
		         x->cc.dbname);
		return pw_error_hint("Confirm with --confirm %s.", x->cc.dbname);
	}
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || !isatty(0)) {
		if (fd >= 0)
			close(fd);
		pw_error(PW_E_USAGE, "%s is destructive and needs confirmation", what);
		return pw_error_hint("Re-run with --confirm %s.", x->cc.dbname);
	}
	char prompt[512];
	snprintf(prompt, sizeof prompt,
	         "WARNING: destructive action (%s).\nTo proceed, type %s: ", what, x->cc.dbname);
	(void)!write(fd, prompt, strlen(prompt));
	char line[256] = "";
	ssize_t got = read(fd, line, sizeof line - 1);
	close(fd);
	if (got > 0) {
		line[got] = 0;
		line[strcspn(line, "\r\n")] = 0;
	}
	if (got > 0 && strcmp(line, x->cc.dbname) == 0)
		return 0;
	pw_error(PW_E_USAGE, "not confirmed: nothing was changed");
	return pw_error_hint("Type the database name exactly, or use --confirm %s.", x->cc.dbname);
}

/* ---- subcommands ---- */

static const char *username_state(const struct cred *c, bool rotating_username)
{
	json_t *rm = json_object_get(c->meta, "rotation");
	const char *step = json_string_value(json_object_get(rm, "step"));
	if (!step)
		return "active";
	if (strcmp(step, "finishing") == 0)
		return rotating_username ? "waiting for no connections to be revoked" : "active";
	return rotating_username ? "active" : "waiting for no connections to be revoked";
}

static int do_list(struct cctx *x)
{
	struct cred *v;
	size_t n;
	int rc = cred_list(&x->cc, &v, &n);
	if (rc < 0)
		return rc;
	long admin_conns = 0;
	rc = cred_count_sessions(&x->cc, x->cc.admin, &admin_conns);
	json_t *arr = json_array();
	json_t *d = json_object();
	json_object_set_new(d, "name", json_string("default"));
	json_object_set_new(d, "state", json_string("active"));
	json_object_set_new(d, "level", json_string("owner"));
	json_t *du = json_array();
	json_t *duo = json_object();
	json_object_set_new(duo, "username", json_string(x->cc.admin));
	json_object_set_new(duo, "state", json_string("active"));
	json_object_set_new(duo, "connections", json_integer(admin_conns));
	json_array_append_new(du, duo);
	json_object_set_new(d, "usernames", du);
	json_array_append_new(arr, d);
	for (size_t i = 0; i < n; i++) {
		struct cred *c = &v[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(c->name));
		json_object_set_new(o, "state", json_string(cred_meta_str(c, "state")));
		json_object_set_new(o, "level", json_string(cred_meta_str(c, "level")));
		json_t *s = json_object_get(c->meta, "schemas");
		json_object_set_new(o, "schemas", s ? json_incref(s) : json_array());
		json_object_set_new(o, "created", json_string(cred_meta_str(c, "created")));
		json_t *rot = json_object_get(c->meta, "rotated");
		json_object_set_new(o, "rotated", rot ? json_incref(rot) : json_null());
		json_t *us = json_array();
		if (c->has_login) {
			json_t *u = json_object();
			json_object_set_new(u, "username", json_string(c->name));
			json_object_set_new(u, "state", json_string(username_state(c, false)));
			json_object_set_new(u, "connections", json_integer(c->login_conns));
			json_array_append_new(us, u);
		}
		if (c->has_rot) {
			char rn[80];
			cred_rot_role(c->name, rn, sizeof rn);
			json_t *u = json_object();
			json_object_set_new(u, "username", json_string(rn));
			json_object_set_new(u, "state", json_string(username_state(c, true)));
			json_object_set_new(u, "connections", json_integer(c->rot_conns));
			json_array_append_new(us, u);
		}
		json_object_set_new(o, "usernames", us);
		json_t *att = json_object_get(c->meta, "attachments");
		json_object_set_new(
		    o, "attachments",
		    json_integer(json_is_array(att) ? (json_int_t)json_array_size(att) : 0));
		json_array_append_new(arr, o);
	}
	cred_list_free(v, n);
	if (x->json) {
		json_object_set_new(x->out, "database", json_string(x->cc.dbname));
		json_object_set_new(x->out, "default_credential", json_string(x->cc.admin));
		json_object_set_new(x->out, "credentials", arr);
		return rc;
	}
	printf("%-24s %-9s %-10s %-24s %-41s %s\n", "Credential", "State", "Level", "Username",
	       "Username state", "Connections");
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		const char *name = json_string_value(json_object_get(o, "name"));
		json_t *us = json_object_get(o, "usernames");
		size_t k;
		json_t *u;
		if (json_array_size(us) == 0)
			printf("%-24s %-9s %-10s\n", name,
			       json_string_value(json_object_get(o, "state")),
			       json_string_value(json_object_get(o, "level")));
		json_array_foreach(us, k, u)
		{
			printf("%-24s %-9s %-10s %-24s %-41s %lld\n", k ? "" : name,
			       k ? "" : json_string_value(json_object_get(o, "state")),
			       k ? "" : json_string_value(json_object_get(o, "level")),
			       json_string_value(json_object_get(u, "username")),
			       json_string_value(json_object_get(u, "state")),
			       (long long)json_integer_value(json_object_get(u, "connections")));
		}
	}
	json_decref(arr);
	return rc;
}

static size_t split_schemas(const char *s, char ***out)
{
	*out = NULL;
	if (!s || !*s)
		return 0;
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	char **v = pw_calloc(n, sizeof *v);
	size_t k = 0;
	const char *p = s;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		char *item = pw_malloc(len + 1);
		memcpy(item, p, len);
		item[len] = 0;
		v[k++] = pw_strdup(pw_trim(item));
		pw_free(item);
		if (!c)
			break;
		p = c + 1;
	}
	*out = v;
	return k;
}

static void free_schemas(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pw_free(v[i]);
	pw_free(v);
}

/* the attachment note in the database (so destroy refuses from any host) */
static int note_attachment(struct cctx *x, const char *name, const char *path, const char *var,
                           bool add)
{
	struct cred c;
	int rc = cred_get(&x->cc, name, &c);
	if (rc < 0)
		return rc;
	json_t *att = json_object_get(c.meta, "attachments");
	if (!json_is_array(att)) {
		att = json_array();
		json_object_set_new(c.meta, "attachments", att);
	}
	for (size_t i = json_array_size(att); i-- > 0;) {
		json_t *a = json_array_get(att, i);
		if (pw_streq(json_string_value(json_object_get(a, "host")), x->hostname) &&
		    pw_streq(json_string_value(json_object_get(a, "path")), path) &&
		    pw_streq(json_string_value(json_object_get(a, "var")), var))
			json_array_remove(att, i);
	}
	if (add) {
		json_t *a = json_object();
		json_object_set_new(a, "host", json_string(x->hostname));
		json_object_set_new(a, "path", json_string(path));
		json_object_set_new(a, "var", json_string(var));
		json_array_append_new(att, a);
	}
	rc = cred_save_meta(&x->cc, name, c.meta);
	cred_clear(&c);
	return rc;
}

/* The absolute path of an environment file (allocated); a new file's directory must exist.
 * Only the directory is resolved: a symbolic link as the file itself is never followed (the
 * application user could point it at any file of root's; issue 17). */
/* The env file's path made absolute (it is recorded for later rotations) WITHOUT resolving
 * symbolic links: a link is resolved only by the safe walk that writes (common/safefile.c),
 * which refuses one in a directory another user owns. realpath() here let the application
 * user swap a directory for a link between the resolution and the write. */
static int env_path(const char *path0, char **out)
{
	*out = NULL;
	const char *base = strrchr(path0, '/');
	base = base ? base + 1 : path0;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		pw_error(PW_E_IO, "cannot place environment file \"%s\"", path0);
		return pw_error_hint("Name a file; nothing was changed.");
	}
	/* a precheck only (the walk that writes checks again, safely): a missing directory
	 * is refused before any credential is created */
	char *dir = pw_strdup(path0);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	struct stat dst;
	bool is_dir = stat(slash ? (*dir ? dir : "/") : ".", &dst) == 0 && S_ISDIR(dst.st_mode);
	pw_free(dir);
	if (!is_dir) {
		pw_error(PW_E_IO, "cannot place environment file \"%s\"", path0);
		return pw_error_hint("Its directory must exist; nothing was changed.");
	}
	if (path0[0] == '/') {
		*out = pw_strdup(path0);
		return 0;
	}
	char *cwd = getcwd(NULL, 0);
	if (!cwd) {
		pw_error(PW_E_IO, "cannot place environment file \"%s\": %s", path0,
		         pw_strerror(errno));
		return pw_error_hint("Give an absolute path; nothing was changed.");
	}
	struct pw_buf b = PW_BUF_INIT(8192);
	pw_buf_printf(&b, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path0);
	*out = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	free(cwd);
	return 0;
}

static int attach(struct cctx *x, const char *name, const struct pw_secret *pw)
{
	const char *path0 = pw_cfg_str(x->ctx->cfg, PW_OPT_ENV_FILE);
	const char *var = pw_cfg_str(x->ctx->cfg, PW_OPT_VAR);
	const char *cmd = pw_cfg_str(x->ctx->cfg, PW_OPT_ON_CHANGE);
	char *path = NULL;
	int rc0 = env_path(path0, &path);
	if (rc0 < 0)
		return rc0;
	char rot[80];
	cred_rot_role(name, rot, sizeof rot);
	struct cred c;
	int rc = cred_get(&x->cc, name, &c);
	const char *user = name;
	if (rc == 0 && json_object_get(c.meta, "rotation")) {
		const char *step =
		    json_string_value(json_object_get(json_object_get(c.meta, "rotation"), "step"));
		if (step && strcmp(step, "draining") == 0)
			user = rot;
	}
	char *url = NULL;
	if (rc == 0)
		url = make_url(x, user, pw_secret_str(pw), false);
	json_t *reg = NULL;
	if (rc == 0)
		rc = attach_registry_load(x->registry, &reg);
	if (rc == 0) {
		for (size_t i = json_array_size(reg); i-- > 0;) {
			json_t *a = json_array_get(reg, i);
			if (!pw_streq(json_string_value(json_object_get(a, "path")), path) ||
			    !pw_streq(json_string_value(json_object_get(a, "var")), var))
				continue;
			if (!pw_streq(json_string_value(json_object_get(a, "credential")), name) ||
			    !pw_streq(json_string_value(json_object_get(a, "database")), x->dbid)) {
				pw_error(PW_E_CREDENTIAL,
				         "%s in \"%s\" is attached to credential \"%s\"", var, path,
				         json_string_value(json_object_get(a, "credential")));
				rc = pw_error_hint(
				    "Detach that one first (\"pgward credentials detach %s "
				    "--env-file %s\"), or use another --var.",
				    json_string_value(json_object_get(a, "credential")), path);
				break;
			}
			json_array_remove(reg, i);
		}
	}
	if (rc == 0) {
		json_t *a = json_object();
		json_object_set_new(a, "database", json_string(x->dbid));
		json_object_set_new(a, "credential", json_string(name));
		json_object_set_new(a, "path", json_string(path));
		json_object_set_new(a, "var", json_string(var));
		/* later URLs name the server as this attachment did, whatever address a later
		 * command connects through */
		const char *v = pg_param(x->cc.pg, "host");
		json_object_set_new(a, "host", json_string(v && *v ? v : "localhost"));
		v = pg_param(x->cc.pg, "port");
		json_object_set_new(a, "port", json_string(v && *v ? v : "5432"));
		v = pg_param(x->cc.pg, "sslrootcert");
		if (v && *v)
			json_object_set_new(a, "sslrootcert", json_string(v));
		/* the file first (nothing changed when it cannot be written), then the record */
		if (cmd)
			json_object_set_new(a, "on_change", json_string(cmd));
		rc = attach_env_set(path, var, url);
		if (rc < 0) {
			json_decref(a);
		} else {
			json_array_append_new(reg, a);
			rc = attach_registry_save(x->registry, reg);
		}
	}
	if (rc == 0)
		rc = note_attachment(x, name, path, var, true);
	if (rc == 0)
		rc = attach_run_on_change(cmd, name, path);
	if (rc == 0) {
		json_object_set_new(x->out, "attached", json_string(path));
		json_object_set_new(x->out, "var", json_string(var));
		json_object_set_new(x->ctx->audit, "env_file", json_string(path));
		if (!x->json)
			printf("Attached %s to %s (%s)\n", name, path, var);
	}
	json_decref(reg);
	if (url)
		wipe_str(url);
	pw_free(url);
	pw_free(path);
	if (c.meta)
		cred_clear(&c);
	return rc;
}

/* Remove an attachment: the variable from the file, this host's record, and (note) the
 * database's note; runs the on-change command. missing_ok: no record is not an error. */
static int detach_one(struct cctx *x, const char *name, const char *path, const char *var,
                      bool note, bool missing_ok)
{
	json_t *reg;
	int rc = attach_registry_load(x->registry, &reg);
	if (rc < 0)
		return rc;
	const char *cmd = NULL;
	bool found = false;
	int hook_rc = 0;
	char *rp = NULL;
	if (env_path(path, &rp) < 0)
		pw_best_effort("resolving the environment file path");
	const char *p = rp ? rp : path;
	for (size_t i = json_array_size(reg); i-- > 0;) {
		json_t *a = json_array_get(reg, i);
		if (pw_streq(json_string_value(json_object_get(a, "database")), x->dbid) &&
		    pw_streq(json_string_value(json_object_get(a, "credential")), name) &&
		    pw_streq(json_string_value(json_object_get(a, "path")), p) &&
		    (!var || pw_streq(json_string_value(json_object_get(a, "var")), var))) {
			found = true;
			const char *v = json_string_value(json_object_get(a, "var"));
			rc = attach_env_unset(p, v);
			if (rc == 0 && note)
				rc = note_attachment(x, name, p, v, false);
			if (rc < 0)
				break;
			cmd = json_string_value(json_object_get(a, "on_change"));
			if (cmd && hook_rc == 0)
				hook_rc = attach_run_on_change(cmd, name, p);
			json_array_remove(reg, i);
		}
	}
	if (rc == 0 && !found && !missing_ok) {
		pw_error(PW_E_CREDENTIAL,
		         "credential \"%s\" is not attached to \"%s\" on this host", name, p);
		rc = pw_error_hint("\"pgward credentials\" counts attachments; detach on the host "
		                   "where they were made.");
	}
	if (rc == 0)
		rc = attach_registry_save(x->registry, reg);
	if (rc == 0 && hook_rc < 0) /* the record is saved; say the command was stopped */
		rc = pw_error(PW_E_INTERRUPTED,
		              "interrupted by signal %d while an on-change command "
		              "for \"%s\" ran",
		              pw_interrupted(), p);
	if (rc == -PW_E_INTERRUPTED && hook_rc < 0)
		pw_error_hint("The detach is done; the on-change command was stopped: run it "
		              "by hand if the application needs it.");
	pw_free(rp);
	json_decref(reg);
	return rc;
}

static void print_secret_once(struct cctx *x, const char *name, const char *user,
                              const struct pw_secret *pw, bool attached)
{
	char *url = make_url(x, user, pw_secret_str(pw), false);
	char *ci = make_url(x, user, pw_secret_str(pw), true);
	if (x->json) {
		if (!attached) {
			json_object_set_new(x->out, "url", json_string(url));
			json_object_set_new(x->out, "conninfo", json_string(ci));
		}
		json_object_set_new(x->out, "username", json_string(user));
	} else if (!attached) {
		printf("Credential %s: connection URL (shown once; store it now):\n%s\n", name,
		       url);
	}
	wipe_str(url);
	wipe_str(ci);
	pw_free(url);
	pw_free(ci);
}

static int do_create(struct cctx *x, const char *name)
{
	enum cred_level level;
	int rc = cred_level_parse(pw_cfg_str(x->ctx->cfg, PW_OPT_LEVEL), &level);
	char **schemas = NULL;
	size_t ns = split_schemas(pw_cfg_str(x->ctx->cfg, PW_OPT_SCHEMAS), &schemas);
	struct pw_secret *pw = NULL;
	char *sealed = NULL;
	const char *envf = pw_cfg_str(x->ctx->cfg, PW_OPT_ENV_FILE);
	if (rc == 0 && envf) { /* a bad attachment path is refused before anything is created */
		char *p = NULL;
		rc = env_path(envf, &p);
		pw_free(p);
	}
	if (rc == 0)
		rc = cred_password_new(&pw);
	if (rc == 0)
		rc = seal(x, pw, &sealed);
	if (rc == 0)
		rc = cred_create(&x->cc, name, level, (const char *const *)schemas, ns,
		                 pw_cfg_bool(x->ctx->cfg, PW_OPT_CLUSTER_WIDE), pw, sealed);
	if (rc == 0) {
		step_audit(x, name, "create", NULL);
		json_object_set_new(x->out, "credential", json_string(name));
		json_object_set_new(x->out, "level", json_string(cred_level_name(level)));
		bool attached = false;
		if (pw_cfg_str(x->ctx->cfg, PW_OPT_ENV_FILE)) {
			rc = attach(x, name, pw);
			attached = rc == 0;
		}
		/* the credential exists: its URL is shown unless an attachment holds it */
		print_secret_once(x, name, name, pw, attached);
		if (!x->json)
			printf("Level %s%s%s\n", cred_level_name(level), sealed ? "" : "",
			       sealed
			           ? "; password sealed to the recipients (\"credentials url -i\")"
			           : "");
	}
	pw_free(sealed);
	pw_secret_free(pw);
	free_schemas(schemas, ns);
	return rc;
}

static int do_url(struct cctx *x, const char *name)
{
	struct cred c;
	int rc = cred_get(&x->cc, name, &c);
	if (rc < 0)
		return rc;
	char rot[80];
	cred_rot_role(name, rot, sizeof rot);
	const char *step =
	    json_string_value(json_object_get(json_object_get(c.meta, "rotation"), "step"));
	bool use_rot = step && strcmp(step, "draining") == 0;
	const char *user = use_rot ? rot : name;
	struct pw_secret *pw = NULL;
	rc = unseal(x, cred_meta_str(&c, use_rot ? "sealed_password_rotating" : "sealed_password"),
	            &pw);
	if (rc == 0 && !pw)
		pw = password_from_attachments(x, name, user);
	if (rc == 0) {
		char *url = make_url(x, user, pw ? pw_secret_str(pw) : NULL, false);
		char *ci = make_url(x, user, pw ? pw_secret_str(pw) : NULL, true);
		if (x->json) {
			json_object_set_new(x->out, "credential", json_string(name));
			json_object_set_new(x->out, "username", json_string(user));
			json_object_set_new(x->out, "url", json_string(url));
			json_object_set_new(x->out, "conninfo", json_string(ci));
			json_object_set_new(x->out, "password_included", json_boolean(pw != NULL));
		} else {
			printf("Connection info string:\n  \"%s\"\nConnection URL:\n  %s\n", ci,
			       url);
			if (!pw)
				printf("(no password: it was shown once at create/rotate; give -i "
				       "IDENTITY when passwords are sealed to recipients, or "
				       "rotate)\n");
		}
		wipe_str(url);
		wipe_str(ci);
		pw_free(url);
		pw_free(ci);
	}
	pw_secret_free(pw);
	cred_clear(&c);
	return rc;
}

static int do_rotate_default(struct cctx *x)
{
	/* the default credential keeps its role (it owns everything): new password in place */
	struct pw_secret *pw = NULL;
	int rc = cred_password_new(&pw);
	if (rc == 0)
		rc = cred_set_password(&x->cc, x->cc.admin, pw);
	if (rc == 0) {
		step_audit(x, "default", "rotate default: new password", NULL);
		show_secret(x, "default", x->cc.admin, pw,
		            "new password of the default credential");
		pw_warn("the default credential's password changed in place: its old password "
		        "stopped working now; update db-password/url for pgward itself");
	}
	pw_secret_free(pw);
	return rc;
}

/* rotate NAME: step 1 of a new rotation then as far as it goes, or a pending one continued */
static int rotate_one(struct cctx *x, const char *name, long grace, bool force, bool wait)
{
	bool created = false;
	int rc = cred_rot_start(&x->run, name, grace, force, &created);
	if (rc < 0 || !created)
		return rc == 0 ? advance(x, name, wait, force, true) : rc;
	char rot[80];
	cred_rot_role(name, rot, sizeof rot);
	/* step 1 ends with the attachments holding the new URL (done by advance) */
	json_t *reg;
	bool attached = false;
	if (attach_registry_load(x->registry, &reg) == 0) {
		json_t *mine = my_attachments(x, reg, name);
		attached = json_array_size(mine) > 0;
		json_decref(mine);
		json_decref(reg);
	}
	pw_best_effort("reading the attachment registry");
	rc = advance(x, name, wait, force, true);
	if (!attached && !(x->run.fresh && x->run.shown)) {
		/* shown whatever happened after the commit: the new username exists now */
		struct pw_error_saved e;
		pw_error_save(&e);
		struct cred c;
		bool active = false;
		if (cred_get(&x->cc, name, &c) == 0) {
			active = strcmp(cred_meta_str(&c, "state"), "active") == 0;
			cred_clear(&c);
		}
		show_secret(x, name, active ? name : rot, x->run.pw,
		            active ? "new connection URL"
		                   : "new connection URL (the username becomes the credential's "
		                     "name, same password, when the rotation completes)");
		pw_error_restore(&e);
	}
	return rc;
}

static int do_rotate(struct cctx *x, const char *name)
{
	long grace = 0;
	int rc = parse_duration(pw_cfg_str(x->ctx->cfg, PW_OPT_ROTATE_GRACE), &grace);
	if (rc < 0)
		return rc;
	bool force = pw_cfg_bool(x->ctx->cfg, PW_OPT_FORCE);
	bool wait = pw_cfg_bool(x->ctx->cfg, PW_OPT_WAIT);
	bool all = pw_cfg_bool(x->ctx->cfg, PW_OPT_ALL);
	if (!!name == all) {
		pw_error(PW_E_USAGE, "rotate needs a credential name or --all (not both)");
		return pw_error_hint(
		    "pgward credentials rotate NAME, or --all for every credential "
		    "including the default one.");
	}
	json_t *done = json_array();
	if (name && (strcmp(name, "default") == 0 || strcmp(name, x->cc.admin) == 0)) {
		rc = do_rotate_default(x);
		json_array_append_new(done, json_string("default"));
	} else if (name) {
		struct cred c;
		rc = cred_get(&x->cc, name, &c);
		if (rc == 0) {
			cred_clear(&c);
			/* a rotation already under way: this command continues it */
			rc = rotate_one(x, name, grace, force, wait);
			json_array_append_new(done, json_string(name));
		}
	} else {
		struct cred *v;
		size_t n;
		rc = cred_list(&x->cc, &v, &n);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			rc = rotate_one(x, v[i].name, grace, force, wait);
			json_array_append_new(done, json_string(v[i].name));
		}
		if (rc == 0)
			cred_list_free(v, n);
		else
			cred_list_free(v, n);
		if (rc == 0) {
			rc = do_rotate_default(x);
			json_array_append_new(done, json_string("default"));
		}
	}
	/* report where each rotation stands */
	json_t *st = json_array();
	size_t i;
	json_t *nm;
	json_array_foreach(done, i, nm)
	{
		const char *cn = json_string_value(nm);
		json_t *o = json_object();
		json_object_set_new(o, "credential", json_string(cn));
		struct cred c;
		if (strcmp(cn, "default") != 0 && cred_get(&x->cc, cn, &c) == 0) {
			const char *step = json_string_value(
			    json_object_get(json_object_get(c.meta, "rotation"), "step"));
			json_object_set_new(o, "state", json_string(cred_meta_str(&c, "state")));
			if (step)
				json_object_set_new(o, "step", json_string(step));
			if (!x->json)
				printf("%s: %s%s%s\n", cn, cred_meta_str(&c, "state"),
				       step ? ", step " : "", step ? step : "");
			cred_clear(&c);
		} else {
			pw_best_effort("reading credential \"%s\"", cn);
			json_object_set_new(o, "state", json_string("active"));
			if (!x->json)
				printf("%s: active\n", cn);
		}
		json_array_append_new(st, o);
	}
	json_object_set_new(x->out, "rotations", st);
	json_object_set_new(x->ctx->audit, "rotated", done);
	return rc;
}

static int do_destroy(struct cctx *x, const char *name)
{
	struct cred c;
	int rc = cred_get(&x->cc, name, &c);
	if (rc < 0)
		return rc;
	json_t *att = json_object_get(c.meta, "attachments");
	size_t natt = json_is_array(att) ? json_array_size(att) : 0;
	if (natt && !pw_cfg_bool(x->ctx->cfg, PW_OPT_DETACH)) {
		json_t *a = json_array_get(att, 0);
		pw_error(PW_E_CREDENTIAL,
		         "credential \"%s\" is attached (%zu attachment(s), e.g. %s:%s)", name,
		         natt, json_string_value(json_object_get(a, "host")),
		         json_string_value(json_object_get(a, "path")));
		cred_clear(&c);
		return pw_error_hint("Detach it first (\"pgward credentials detach %s --env-file "
		                     "PATH\" on that host), or add --detach on this host.",
		                     name);
	}
	rc = confirm(x, "destroying a credential");
	/* --detach: every attachment must be on this host */
	for (size_t i = 0; i < natt && rc == 0; i++) {
		json_t *a = json_array_get(att, i);
		if (!pw_streq(json_string_value(json_object_get(a, "host")), x->hostname)) {
			pw_error(PW_E_CREDENTIAL,
			         "credential \"%s\" is attached on another host (%s)", name,
			         json_string_value(json_object_get(a, "host")));
			rc = pw_error_hint("Detach it there first.");
		}
	}
	json_t *todo = json_deep_copy(att);
	cred_clear(&c);
	/* the roles go first: if that fails, the applications keep their URL */
	if (rc == 0)
		rc = cred_destroy(&x->cc, name);
	for (size_t i = 0; rc == 0 && i < json_array_size(todo); i++) {
		json_t *a = json_array_get(todo, i);
		if (detach_one(x, name, json_string_value(json_object_get(a, "path")),
		               json_string_value(json_object_get(a, "var")), false, true) < 0) {
			char *m = pw_redact(pw_error_message());
			pw_warn("credential \"%s\" was destroyed, but detaching %s failed: %s",
			        name, json_string_value(json_object_get(a, "path")), m);
			pw_free(m);
			pw_error_clear();
		}
	}
	json_decref(todo);
	if (rc == 0) {
		step_audit(x, name, "destroy", NULL);
		json_object_set_new(x->out, "destroyed", json_string(name));
		if (!x->json)
			printf("Destroyed credential %s; objects it owned now belong to %s\n", name,
			       x->cc.admin);
	}
	return rc;
}

static int do_repair(struct cctx *x)
{
	int rc = confirm(x, "repairing the default credential");
	if (rc < 0)
		return rc;
	json_t *rep = json_object();
	rc = cred_repair_default(&x->cc, rep);
	if (rc == 0) {
		step_audit(x, "default", "repair-default", json_deep_copy(rep));
		if (!x->json) {
			size_t i;
			json_t *v;
			printf("Default credential: %s\n", x->cc.admin);
			json_array_foreach(json_object_get(rep, "reassigned_from"), i, v)
			    printf("  objects of %s reassigned to %s\n", json_string_value(v),
			           x->cc.admin);
			json_array_foreach(json_object_get(rep, "not_reassignable"), i, v)
			    printf("  objects of %s left as they are (a superuser or a role %s is "
			           "not a member of): ALTER ... OWNER TO %s; as a superuser\n",
			           json_string_value(v), x->cc.admin, x->cc.admin);
			printf("  ADMIN OPTION held on %zu credential role(s)\n",
			       json_array_size(json_object_get(rep, "admin_option_on")));
		}
		json_object_update(x->out, rep);
	}
	json_decref(rep);
	return rc;
}

static int need_name(const char *sub, const char *name)
{
	if (name)
		return 0;
	pw_error(PW_E_USAGE, "credentials %s needs a credential name", sub);
	return pw_error_hint("pgward credentials %s NAME ...", sub);
}

int cmd_credentials(struct pw_ctx *ctx)
{
	const char *sub = pw_config_pos(ctx->cfg, 0);
	const char *name = pw_config_pos(ctx->cfg, 1);
	const char *arg2 = pw_config_pos(ctx->cfg, 2);
	if (!sub)
		sub = "list";
	static const char *const subs[] = {"list",   "create",  "set-level",      "url",
	                                   "rotate", "destroy", "repair-default", "attach",
	                                   "detach"};
	bool known = false;
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		known = known || strcmp(sub, subs[i]) == 0;
	if (!known) {
		pw_error(PW_E_USAGE, "unknown credentials command \"%s\"", sub);
		return pw_error_hint("Use list, create, set-level, url, rotate, destroy, "
		                     "repair-default, attach or detach.");
	}
	int rc = 0;
	bool named = strcmp(sub, "list") && strcmp(sub, "repair-default") && strcmp(sub, "rotate");
	if (named)
		rc = need_name(sub, name);
	if (rc == 0 && ((strcmp(sub, "set-level") == 0) != (arg2 != NULL) ||
	                (!named && strcmp(sub, "rotate") && name))) {
		pw_error(PW_E_USAGE, "wrong arguments for credentials %s", sub);
		rc = pw_error_hint("See \"pgward help credentials\".");
	}
	if (rc == 0 && (strcmp(sub, "attach") == 0 || strcmp(sub, "detach") == 0) &&
	    !pw_cfg_str(ctx->cfg, PW_OPT_ENV_FILE)) {
		pw_error(PW_E_USAGE, "credentials %s needs --env-file PATH", sub);
		rc = pw_error_hint("Name the application's environment file, as --env-file "
		                   "/etc/myapp/env.");
	}
	if (rc < 0)
		return rc;
	/* names are checked before anything touches the database */
	if (name && strcmp(sub, "rotate") != 0) {
		rc = cred_name_check(name);
		if (rc < 0)
			return rc;
	}
	json_object_set_new(ctx->audit, "subcommand", json_string(sub));
	if (name)
		json_object_set_new(ctx->audit, "credential", json_string(name));

	struct cctx x = {.ctx = ctx, .hooks = rot_hooks_init};
	x.hooks.arg = &x;
	x.run.cc = &x.cc;
	x.run.hooks = &x.hooks;
	x.json = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
	x.out = json_object();
	const char *reg = pw_cfg_str(ctx->cfg, PW_OPT_ATTACHMENTS_FILE);
	x.registry = reg ? pw_strdup(reg) : attach_registry_default_path();
	if (gethostname(x.hostname, sizeof x.hostname - 1) < 0)
		pw_strlcpy(x.hostname, "unknown", sizeof x.hostname);
	struct pg_conn *pg = NULL;
	rc = pw_db_connect(ctx, false, false, &pg);
	if (rc == 0)
		rc = cred_open(pg, (long)pw_cfg_int(ctx->cfg, PW_OPT_CREDENTIALS_LIMIT), &x.cc);
	if (rc == 0) {
		/* this database in the attachments record: the cluster's system identifier (the
		 * same whatever address or socket reaches it), else host:port */
		struct pg_result *r = NULL;
		if (pg_query(pg, "select system_identifier::text from pg_control_system()", 0, NULL,
		             &r) == 0 &&
		    pg_nrows(r) == 1) {
			snprintf(x.dbid, sizeof x.dbid, "cluster %s/%s", pg_value(r, 0, 0),
			         x.cc.dbname);
		} else {
			pw_best_effort("asking the server for its system identifier");
			const char *h = pg_param(pg, "host");
			char host[256];
			pw_strlcpy(host, h ? h : "", sizeof host);
			const char *p = pg_param(pg, "port");
			snprintf(x.dbid, sizeof x.dbid, "%s:%s/%s", host, p ? p : "5432",
			         x.cc.dbname);
		}
		pg_result_free(r);
		json_object_set_new(ctx->audit, "database", json_string(x.dbid));
	}
	/* pending rotations move on with any credentials command */
	if (rc == 0 && strcmp(sub, "rotate") != 0)
		advance_all(&x);
	if (rc == 0) {
		if (strcmp(sub, "list") == 0)
			rc = do_list(&x);
		else if (strcmp(sub, "create") == 0)
			rc = do_create(&x, name);
		else if (strcmp(sub, "set-level") == 0) {
			enum cred_level level;
			char **schemas = NULL;
			size_t ns = split_schemas(pw_cfg_str(ctx->cfg, PW_OPT_SCHEMAS), &schemas);
			rc = cred_level_parse(arg2, &level);
			if (rc == 0)
				rc =
				    cred_set_level(&x.cc, name, level, (const char *const *)schemas,
				                   ns, pw_cfg_bool(ctx->cfg, PW_OPT_CLUSTER_WIDE));
			if (rc == 0) {
				step_audit(&x, name, "set-level", NULL);
				json_object_set_new(x.out, "credential", json_string(name));
				json_object_set_new(x.out, "level", json_string(arg2));
				if (!x.json)
					printf("Credential %s: level %s\n", name, arg2);
			}
			free_schemas(schemas, ns);
		} else if (strcmp(sub, "url") == 0)
			rc = do_url(&x, name);
		else if (strcmp(sub, "rotate") == 0)
			rc = do_rotate(&x, name);
		else if (strcmp(sub, "destroy") == 0)
			rc = do_destroy(&x, name);
		else if (strcmp(sub, "repair-default") == 0)
			rc = do_repair(&x);
		else if (strcmp(sub, "attach") == 0 || strcmp(sub, "detach") == 0) {
			if (strcmp(sub, "detach") == 0) {
				struct cred c;
				rc = cred_get(&x.cc, name, &c);
				if (rc == 0) {
					cred_clear(&c);
					rc = detach_one(
					    &x, name, pw_cfg_str(ctx->cfg, PW_OPT_ENV_FILE),
					    pw_cfg_str(ctx->cfg, PW_OPT_VAR), true, false);
				}
				if (rc == 0 && !x.json)
					printf("Detached %s from %s\n", name,
					       pw_cfg_str(ctx->cfg, PW_OPT_ENV_FILE));
			} else {
				struct cred c;
				rc = cred_get(&x.cc, name, &c);
				struct pw_secret *pw = NULL;
				char user_now[80];
				pw_strlcpy(user_now, name, sizeof user_now);
				if (rc == 0) {
					const char *step = json_string_value(json_object_get(
					    json_object_get(c.meta, "rotation"), "step"));
					bool use_rot = step && strcmp(step, "draining") == 0;
					if (use_rot)
						cred_rot_role(name, user_now, sizeof user_now);
					pw = password_from_attachments(&x, name, user_now);
					if (!pw)
						rc = unseal(&x,
						            cred_meta_str(
						                &c, use_rot
						                        ? "sealed_password_rotating"
						                        : "sealed_password"),
						            &pw);
					cred_clear(&c);
				}
				if (rc == 0 && !pw) {
					/* the file may already hold this credential's URL */
					char *v = NULL;
					if (attach_env_get(pw_cfg_str(ctx->cfg, PW_OPT_ENV_FILE),
					                   pw_cfg_str(ctx->cfg, PW_OPT_VAR),
					                   &v) == 0 &&
					    v && url_user_eq(v, user_now))
						pw = url_password(v);
					pw_best_effort("reading an attached URL");
					if (v)
						wipe_str(v);
					pw_free(v);
				}
				if (rc == 0 && !pw) {
					pw_error(PW_E_CREDENTIAL,
					         "the password of \"%s\" is not available here",
					         name);
					rc = pw_error_hint("pgward never stores plaintext "
					                   "passwords: attach when creating "
					                   "(create --env-file), give -i IDENTITY "
					                   "if passwords are sealed "
					                   "to recipients, or rotate it with the "
					                   "attachment in place.");
				}
				if (rc == 0)
					rc = attach(&x, name, pw);
				if (rc == 0)
					step_audit(&x, name, "attach", NULL);
				pw_secret_free(pw);
			}
		}
	}
	/* secrets made before a failure are printed too: they exist in the database now */
	if (x.json &&
	    (rc == 0 || json_object_get(x.out, "secrets") || json_object_get(x.out, "url"))) {
		char *s = json_dumps(x.out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		pw_free(s);
	}
	json_decref(x.out);
	cred_rot_run_clear(&x.run);
	pw_free(x.registry);
	pg_close(pg);
	return rc;
}
