/*
 * config.h - options from one table (options.def), read from the INI file
 * ([global] then [<stanza>]), then PGWARD_<NAME> environment variables, then
 * --name=value arguments; later sources win. Every value is type-checked
 * where it is read, so errors name the file and line, variable or argument.
 */
#ifndef PW_CONFIG_CONFIG_H
#define PW_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pw_opt_type { T_STR, T_INT, T_BOOL, T_SIZE, T_ENUM, T_LIST };
enum { W_FILE = 1, W_STANZA = 2, W_ENV = 4, W_CLI = 8 };

enum pw_opt_id {
#define PW_OPT(id, name, sh, type, def, where, secure, arg, help) PW_OPT_##id,
#include "config/options.def"
#undef PW_OPT
	PW_OPT__COUNT
};

struct pw_opt_def {
	enum pw_opt_id id;
	const char *name;
	char short_name;
	enum pw_opt_type type;
	const char *def; /* ENUM: "default|choice|choice..." */
	unsigned where;
	bool secure;
	const char *arg;
	const char *help;
};

const struct pw_opt_def *pw_opt_def(enum pw_opt_id id);
/* Look up by long name; -1 if unknown. */
int pw_opt_find(const char *name);
int pw_opt_find_short(char c);
/* The environment variable name of an option ("PGWARD_LOG_LEVEL") into buf. */
void pw_opt_env_name(const struct pw_opt_def *d, char *buf, size_t size);

struct pw_config;
struct pw_config *pw_config_new(void);
void pw_config_free(struct pw_config *c);

/*
 * Parse argv (after the command name). Only options in allowed[] are
 * accepted; others are usage errors naming the command. Positional arguments
 * are collected (borrowed pointers into argv); "--" ends options.
 */
int pw_config_parse_args(struct pw_config *c, const char *command, int argc, char **argv,
                         const enum pw_opt_id *allowed, size_t nallowed);
size_t pw_config_npos(const struct pw_config *c);
const char *pw_config_pos(const struct pw_config *c, size_t i);

/*
 * Load the config file (if any) for stanza (NULL = none) and the
 * environment. Call after pw_config_parse_args; command-line values keep
 * precedence.
 */
int pw_config_load(struct pw_config *c, const char *stanza);
/* Load from an explicit file only (tests). */
int pw_config_load_file(struct pw_config *c, const char *path, const char *stanza);

bool pw_cfg_isset(const struct pw_config *c, enum pw_opt_id id);
const char *pw_cfg_str(const struct pw_config *c, enum pw_opt_id id);
long long pw_cfg_int(const struct pw_config *c, enum pw_opt_id id);
bool pw_cfg_bool(const struct pw_config *c, enum pw_opt_id id);
uint64_t pw_cfg_size(const struct pw_config *c, enum pw_opt_id id);
size_t pw_cfg_list(const struct pw_config *c, enum pw_opt_id id, const char *const **vals);
/* Where the value came from: "default", "FILE line N", "environment", "command line". */
const char *pw_cfg_source(const struct pw_config *c, enum pw_opt_id id);
/* The config file actually read, or NULL. */
const char *pw_config_file(const struct pw_config *c);

#endif
