/* config.c - INI (via inih) + environment + argv, with validation and provenance. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"

#define DEFAULT_CONFIG "/etc/pgward/pgward.conf"
#define MAX_LIST 64
#define MAX_SECTIONS 256
#define MAX_CONFIG_LINE 4096

enum layer { L_FILE, L_ENV, L_CLI, L__N };

struct value {
	char *vals[MAX_LIST];
	size_t n;
	char source[320];
	bool set;
};

struct pw_config {
	struct value v[PW_OPT__COUNT][L__N];
	char enum_default[PW_OPT__COUNT][32];
	const char **pos;
	size_t npos;
	char *file;
};

struct pw_config *pw_config_new(void)
{
	struct pw_config *c = pw_calloc(1, sizeof *c);
	return c;
}

static void value_clear(struct value *v)
{
	for (size_t i = 0; i < v->n; i++)
		pw_free(v->vals[i]);
	v->n = 0;
	v->set = false;
}

void pw_config_free(struct pw_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < PW_OPT__COUNT; i++)
		for (size_t l = 0; l < L__N; l++)
			value_clear(&c->v[i][l]);
	pw_free(c->pos);
	pw_free(c->file);
	pw_free(c);
}

/* ---- validation ---- */

static bool enum_has(const char *def, const char *val)
{
	const char *p = strchr(def, '|');
	while (p) {
		const char *s = p + 1;
		p = strchr(s, '|');
		size_t n = p ? (size_t)(p - s) : strlen(s);
		if (strlen(val) == n && strncmp(s, val, n) == 0)
			return true;
	}
	return false;
}

static int check_value(const struct pw_opt_def *d, const char *val, const char *where)
{
	uint64_t u;
	bool b;
	switch (d->type) {
	case T_INT:
		if ((val[0] == '-' ? pw_parse_u64(val + 1, &u) : pw_parse_u64(val, &u)) < 0 ||
		    u > 1000000000) {
			pw_error(PW_E_CONFIG, "invalid value \"%s\" for option \"%s\" (%s)", val,
			         d->name, where);
			return pw_error_hint("\"%s\" takes a whole number.", d->name);
		}
		break;
	case T_SIZE:
		if (pw_parse_size(val, &u) < 0) {
			pw_error(PW_E_CONFIG, "invalid value \"%s\" for option \"%s\" (%s)", val,
			         d->name, where);
			return pw_error_hint("\"%s\" takes a size such as 512KiB, 16MiB or 1GiB.",
			                     d->name);
		}
		break;
	case T_BOOL:
		if (pw_parse_bool(val, &b) < 0) {
			pw_error(PW_E_CONFIG, "invalid value \"%s\" for option \"%s\" (%s)", val,
			         d->name, where);
			return pw_error_hint("\"%s\" takes yes or no.", d->name);
		}
		break;
	case T_ENUM:
		if (!enum_has(d->def, val)) {
			pw_error(PW_E_CONFIG, "invalid value \"%s\" for option \"%s\" (%s)", val,
			         d->name, where);
			char choices[256];
			pw_strlcpy(choices, strchr(d->def, '|') + 1, sizeof choices);
			for (char *q = choices; *q; q++)
				if (*q == '|')
					*q = '/';
			return pw_error_hint("Choose one of %s.", choices);
		}
		break;
	case T_STR:
	case T_LIST:
		if (!*val && d->type == T_LIST) {
			pw_error(PW_E_CONFIG, "empty value for option \"%s\" (%s)", d->name, where);
			return pw_error_hint("Give a value, or remove the setting.");
		}
		break;
	}
	return 0;
}

static int set_value(struct pw_config *c, enum pw_opt_id id, enum layer l, const char *val,
                     const char *source, bool append)
{
	struct value *v = &c->v[id][l];
	const struct pw_opt_def *d = pw_opt_def(id);
	int rc = check_value(d, val, source);
	if (rc < 0)
		return rc;
	if (!append || d->type != T_LIST)
		value_clear(v);
	if (v->n >= MAX_LIST) {
		pw_error(PW_E_LIMIT, "too many values for option \"%s\" (%s)", d->name, source);
		return pw_error_hint("Give at most %d.", MAX_LIST);
	}
	v->vals[v->n++] = pw_strdup(val);
	v->set = true;
	pw_strlcpy(v->source, source, sizeof v->source);
	return 0;
}

/* ---- argv ---- */

static int unknown_option(const char *command, const char *opt)
{
	pw_error(PW_E_USAGE, "unknown option \"%s\" for \"%s\"", opt, command);
	return pw_error_hint("Try \"pgward help %s\".", command);
}

int pw_config_parse_args(struct pw_config *c, const char *command, int argc, char **argv,
                         const enum pw_opt_id *allowed, size_t nallowed)
{
	bool only_pos = false;
	c->pos = pw_calloc((size_t)argc + 1, sizeof *c->pos);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
			c->pos[c->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		int id = -1;
		const char *val = NULL;
		char name[128];
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			if (n >= sizeof name)
				return unknown_option(command, a);
			memcpy(name, a + 2, n);
			name[n] = 0;
			id = pw_opt_find(name);
			val = eq ? eq + 1 : NULL;
			/* --no-FLAG turns a yes/no option off */
			if (id < 0 && !eq && strncmp(name, "no-", 3) == 0 &&
			    (id = pw_opt_find(name + 3)) >= 0) {
				if (pw_opt_def((enum pw_opt_id)id)->type == T_BOOL)
					val = "no";
				else
					id = -1;
			}
		} else {
			id = pw_opt_find_short(a[1]);
			val = a[2] ? a + 2 : NULL;
			snprintf(name, sizeof name, "%s", id >= 0 ? pw_opt_def(id)->name : a);
		}
		bool ok = false;
		for (size_t k = 0; id >= 0 && k < nallowed; k++)
			ok |= allowed[k] == (enum pw_opt_id)id;
		if (id < 0 || !ok) {
			char shown[140];
			snprintf(shown, sizeof shown, "%.*s",
			         (int)(strchr(a, '=') ? strchr(a, '=') - a : (long)strlen(a)), a);
			return unknown_option(command, shown);
		}
		const struct pw_opt_def *d = pw_opt_def(id);
		if (d->secure) {
			pw_error(PW_E_INSECURE,
			         "option \"%s\" is a secret and may not be given on "
			         "the command line",
			         d->name);
			char env[64];
			pw_opt_env_name(d, env, sizeof env);
			return pw_error_hint(
			    "Any user can read command lines; set it in a mode 0600 "
			    "config file or in the %s environment variable.",
			    env);
		}
		if (!(d->where & W_CLI))
			return unknown_option(command, a);
		if (d->type == T_BOOL) {
			if (val && a[1] != '-') {
				/* bundled short flags are not supported: "-ap" */
				return unknown_option(command, a);
			}
			if (!val)
				val = "yes";
		} else if (!val) {
			if (i + 1 >= argc) {
				pw_error(PW_E_USAGE, "option \"%s\" needs a value", a);
				return pw_error_hint("Try \"pgward help %s\".", command);
			}
			val = argv[++i];
		}
		char src[160];
		snprintf(src, sizeof src, "command line option --%s", d->name);
		int rc = set_value(c, (enum pw_opt_id)id, L_CLI, val, src, true);
		if (rc < 0) {
			if (pw_error_code() == PW_E_CONFIG) {
				/* a bad value on the command line is a usage error */
				char msg[1024], hint[1024];
				pw_strlcpy(msg, pw_error_message(), sizeof msg);
				pw_strlcpy(hint, pw_error_hint_text(), sizeof hint);
				pw_error(PW_E_USAGE, "%s", msg);
				pw_error_hint("%s", hint);
			}
			return -pw_error_code();
		}
	}
	return 0;
}

size_t pw_config_npos(const struct pw_config *c)
{
	return c->npos;
}

const char *pw_config_pos(const struct pw_config *c, size_t i)
{
	return i < c->npos ? c->pos[i] : NULL;
}

/* ---- INI file ---- */

struct ini_ctx {
	struct pw_config *c;
	const char *path;
	const char *stanza;
	FILE *fp;
	int lineno;
	char *sections[MAX_SECTIONS];
	size_t nsections;
	int rc;
	bool has_secret;
};

static char *cfg_line_reader(char *str, int num, void *stream)
{
	struct ini_ctx *x = stream;
	if (x->rc < 0)
		return NULL;
	char *r = fgets(str, num, x->fp);
	if (!r)
		return NULL;
	x->lineno++;
	size_t len = strlen(str);
	if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(x->fp)) {
		pw_error(PW_E_CONFIG, "line too long in \"%s\" line %d", x->path, x->lineno);
		pw_error_hint("Lines are limited to %d bytes.", MAX_CONFIG_LINE - 2);
		x->rc = -PW_E_CONFIG;
		return NULL;
	}
	/* section headers: detect duplicates and bad names with the line number */
	char tmp[MAX_CONFIG_LINE];
	pw_strlcpy(tmp, str, sizeof tmp);
	pw_trim(tmp);
	if (tmp[0] == '[') {
		char *end = strchr(tmp, ']');
		if (!end) {
			pw_error(PW_E_CONFIG, "malformed section header in \"%s\" line %d", x->path,
			         x->lineno);
			pw_error_hint("A section header looks like [global] or [mydb].");
			x->rc = -PW_E_CONFIG;
			return NULL;
		}
		*end = 0;
		char *name = pw_trim(tmp + 1);
		bool valid = *name != 0;
		for (char *p = name; *p; p++)
			if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
				valid = false;
		if (!valid) {
			pw_error(PW_E_CONFIG, "invalid section name \"%s\" in \"%s\" line %d", name,
			         x->path, x->lineno);
			pw_error_hint("Section names use letters, digits, '-', '_' and '.'.");
			x->rc = -PW_E_CONFIG;
			return NULL;
		}
		for (size_t i = 0; i < x->nsections; i++)
			if (strcmp(x->sections[i], name) == 0) {
				pw_error(PW_E_CONFIG, "duplicate section [%s] in \"%s\" line %d",
				         name, x->path, x->lineno);
				pw_error_hint("Merge the two [%s] sections into one.", name);
				x->rc = -PW_E_CONFIG;
				return NULL;
			}
		if (x->nsections >= MAX_SECTIONS) {
			pw_error(PW_E_LIMIT, "too many sections in \"%s\"", x->path);
			pw_error_hint("Use at most %d stanzas per file.", MAX_SECTIONS - 1);
			x->rc = -PW_E_LIMIT;
			return NULL;
		}
		x->sections[x->nsections++] = pw_strdup(name);
	}
	return r;
}

static int cfg_on_value(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	char where[320];
	snprintf(where, sizeof where, "%s line %d", x->path, x->lineno);
	if (!*section) {
		pw_error(PW_E_CONFIG, "option \"%s\" outside any section in \"%s\" line %d", name,
		         x->path, x->lineno);
		pw_error_hint("Put global options under [global] and per-database options under "
		              "[<stanza>].");
		x->rc = -PW_E_CONFIG;
		return 0;
	}
	int id = pw_opt_find(name);
	const struct pw_opt_def *d = id >= 0 ? pw_opt_def(id) : NULL;
	bool is_global = strcmp(section, "global") == 0;
	if (!d || !(d->where & (W_FILE | W_STANZA))) {
		pw_error(PW_E_CONFIG, "unknown option \"%s\" in \"%s\" line %d", name, x->path,
		         x->lineno);
		pw_error_hint("See \"pgward help config\" for the options a config file may set.");
		x->rc = -PW_E_CONFIG;
		return 0;
	}
	if (is_global ? !(d->where & W_FILE) : !(d->where & W_STANZA)) {
		pw_error(PW_E_CONFIG,
		         "option \"%s\" is not allowed in section [%s] (\"%s\" line %d)", name,
		         section, x->path, x->lineno);
		pw_error_hint(is_global ? "Set \"%s\" in a stanza section instead."
		                        : "Set \"%s\" in the [global] section instead.",
		              name);
		x->rc = -PW_E_CONFIG;
		return 0;
	}
	if (d->secure)
		x->has_secret = true;
	int rc = check_value(d, value, where);
	if (rc < 0) {
		x->rc = rc;
		return 0;
	}
	/* [global] applies to all; the named stanza overrides; other stanzas are only checked */
	if (is_global || (x->stanza && strcmp(section, x->stanza) == 0)) {
		struct value *v = &x->c->v[id][L_FILE];
		bool from_global = v->set && strstr(v->source, "[global]") != NULL;
		if (is_global && v->set && !from_global)
			return 1; /* the stanza's own value wins, whatever the order */
		bool stanza_overrides = !is_global && from_global;
		char src[400];
		snprintf(src, sizeof src, "%s [%s]", where, section);
		rc = set_value(x->c, (enum pw_opt_id)id, L_FILE, value, src, !stanza_overrides);
		if (rc < 0) {
			x->rc = rc;
			return 0;
		}
	}
	return 1;
}

int pw_config_load_file(struct pw_config *c, const char *path, const char *stanza)
{
	struct ini_ctx x = {.c = c, .path = path, .stanza = stanza};
	/* it names the repository, the recipients and the commands pgward runs: only root or
	 * the user running pgward may own it, no one else may write it, and a FIFO or a
	 * symbolic link is refused without blocking (common/safefile.h) */
	int fd;
	int rc0 = pw_trusted_open(path, "configuration file", PW_TRUST_MISSING, &fd);
	if (rc0 < 0)
		return rc0;
	if (fd < 0) {
		pw_error(PW_E_CONFIG, "could not open configuration file \"%s\": %s", path,
		         pw_strerror(ENOENT));
		return pw_error_hint("Check the path given with --config or PGWARD_CONFIG.");
	}
	struct stat st;
	fstat(fd, &st);
	x.fp = fdopen(fd, "r");
	if (!x.fp) {
		close(fd);
		return pw_error(PW_E_NOMEM, "fdopen failed");
	}
	int r = ini_parse_stream(cfg_line_reader, &x, cfg_on_value, &x);
	fclose(x.fp);
	if (x.rc < 0 || r != 0)
		for (size_t i = 0; i < x.nsections; i++)
			pw_free(x.sections[i]);
	if (x.rc < 0)
		return x.rc;
	if (r != 0) {
		pw_error(PW_E_CONFIG, "syntax error in \"%s\" line %d", path, r > 0 ? r : x.lineno);
		return pw_error_hint("Each line is a [section], \"name = value\", a comment "
		                     "starting with # or ;, or blank.");
	}
	if (stanza) {
		bool found = false;
		for (size_t i = 0; i < x.nsections; i++)
			found |= strcmp(x.sections[i], stanza) == 0;
		if (!found) {
			for (size_t i = 0; i < x.nsections; i++)
				pw_free(x.sections[i]);
			pw_error(PW_E_CONFIG, "stanza \"%s\" is not defined in \"%s\"", stanza,
			         path);
			return pw_error_hint("Add a [%s] section, or check the spelling.", stanza);
		}
	}
	for (size_t i = 0; i < x.nsections; i++)
		pw_free(x.sections[i]);
	if (x.has_secret && (st.st_mode & 077)) {
		pw_error(PW_E_INSECURE,
		         "configuration file \"%s\" holds secrets but is accessible by other users "
		         "(mode %04o)",
		         path, (unsigned)(st.st_mode & 07777));
		return pw_error_hint("Run \"chmod 600 %s\".", path);
	}
	pw_free(c->file);
	c->file = pw_strdup(path);
	return 0;
}

static int load_env(struct pw_config *c)
{
	for (size_t i = 0; i < PW_OPT__COUNT; i++) {
		const struct pw_opt_def *d = pw_opt_def((enum pw_opt_id)i);
		char env[64];
		if (!(d->where & W_ENV))
			continue;
		pw_opt_env_name(d, env, sizeof env);
		const char *val = getenv(env);
		if (!val)
			continue;
		char src[96];
		snprintf(src, sizeof src, "environment variable %s", env);
		if (d->type == T_LIST) {
			/* a list in the environment is comma- or newline-separated */
			char *copy = pw_strdup(val);
			int rc = 0;
			for (char *save, *tok = strtok_r(copy, ",\n", &save); tok && rc == 0;
			     tok = strtok_r(NULL, ",\n", &save))
				if (*pw_trim(tok))
					rc = set_value(c, (enum pw_opt_id)i, L_ENV, tok, src, true);
			pw_free(copy);
			if (rc < 0)
				return rc;
		} else {
			int rc = set_value(c, (enum pw_opt_id)i, L_ENV, val, src, false);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int pw_config_load(struct pw_config *c, const char *stanza)
{
	int rc = load_env(c);
	if (rc < 0)
		return rc;
	const char *path = pw_cfg_str(c, PW_OPT_CONFIG);
	if (path)
		rc = pw_config_load_file(c, path, stanza);
	else if (access(DEFAULT_CONFIG, F_OK) == 0)
		rc = pw_config_load_file(c, DEFAULT_CONFIG, stanza);
	return rc;
}

/* ---- getters ---- */

static const struct value *top(const struct pw_config *c, enum pw_opt_id id)
{
	for (int l = L__N - 1; l >= 0; l--)
		if (c->v[id][l].set)
			return &c->v[id][l];
	return NULL;
}

bool pw_cfg_isset(const struct pw_config *c, enum pw_opt_id id)
{
	return top(c, id) != NULL;
}

const char *pw_cfg_str(const struct pw_config *c, enum pw_opt_id id)
{
	const struct value *v = top(c, id);
	if (v)
		return v->vals[v->n - 1];
	const struct pw_opt_def *d = pw_opt_def(id);
	if (d->type == T_ENUM && d->def) {
		struct pw_config *m = (struct pw_config *)c;
		size_t n = strcspn(d->def, "|");
		snprintf(m->enum_default[id], sizeof m->enum_default[id], "%.*s", (int)n, d->def);
		return m->enum_default[id];
	}
	return d->def;
}

long long pw_cfg_int(const struct pw_config *c, enum pw_opt_id id)
{
	const char *s = pw_cfg_str(c, id);
	return s ? strtoll(s, NULL, 10) : 0;
}

bool pw_cfg_bool(const struct pw_config *c, enum pw_opt_id id)
{
	const char *s = pw_cfg_str(c, id);
	bool b = false;
	if (s)
		pw_parse_bool(s, &b);
	return b;
}

uint64_t pw_cfg_size(const struct pw_config *c, enum pw_opt_id id)
{
	const char *s = pw_cfg_str(c, id);
	uint64_t u = 0;
	if (s)
		pw_parse_size(s, &u);
	return u;
}

size_t pw_cfg_list(const struct pw_config *c, enum pw_opt_id id, const char *const **vals)
{
	const struct value *v = top(c, id);
	if (!v) {
		*vals = NULL;
		return 0;
	}
	*vals = (const char *const *)v->vals;
	return v->n;
}

const char *pw_cfg_source(const struct pw_config *c, enum pw_opt_id id)
{
	const struct value *v = top(c, id);
	return v ? v->source : "default";
}

const char *pw_config_file(const struct pw_config *c)
{
	return c->file;
}
