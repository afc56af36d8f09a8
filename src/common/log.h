/*
 * log.h - leveled logging with secret redaction. Lines go to a sink that
 * main installs (stderr by default); every line is redacted first.
 */
#ifndef PW_COMMON_LOG_H
#define PW_COMMON_LOG_H

#include "common/err.h"

enum pw_log_level { PW_LOG_ERROR = 0, PW_LOG_WARN, PW_LOG_INFO, PW_LOG_DEBUG };

void pw_log_set_level(enum pw_log_level level);
enum pw_log_level pw_log_get_level(void);
/* Parse "error|warn|info|debug"; returns 0 or -PW_E_CONFIG. */
int pw_log_parse_level(const char *s, enum pw_log_level *out);
void pw_log_set_sink(void (*sink)(enum pw_log_level level, const char *line));

void pw_log(enum pw_log_level level, const char *fmt, ...) PW_PRINTF(2, 3);
#define pw_warn(...) pw_log(PW_LOG_WARN, __VA_ARGS__)
#define pw_info(...) pw_log(PW_LOG_INFO, __VA_ARGS__)
#define pw_debug(...) pw_log(PW_LOG_DEBUG, __VA_ARGS__)

/*
 * Return a newly allocated copy of s with secrets replaced by "********":
 * every live pw_secret, "password=..." in connection strings, the password
 * of "scheme://user:password@host" URLs, and age secret keys.
 */
char *pw_redact(const char *s);

#endif
