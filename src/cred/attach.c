/* attach.c - environment files and this host's attachment record. */
#include "cred/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define ENV_MAX (1 << 20)

/* Does line assign var ("VAR=", optionally "export VAR=")? Returns the value start or NULL. */
static const char *assigns(const char *line, size_t len, const char *var)
{
	const char *p = line;
	while (p < line + len && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(line + len - p) > 7 && strncmp(p, "export ", 7) == 0)
		p += 7;
	size_t vl = strlen(var);
	if ((size_t)(line + len - p) > vl && strncmp(p, var, vl) == 0 && p[vl] == '=')
		return p + vl + 1;
	return NULL;
}

static int read_env(const char *path, struct pw_buf *b, bool *exists, struct stat *st)
{
	*exists = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		pw_error(PW_E_IO, "cannot open environment file \"%s\": %s", path, strerror(errno));
		return pw_error_hint("Check the path and its permissions.");
	}
	*exists = true;
	int rc = 0;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		pw_error(PW_E_IO, "environment file \"%s\" is not a regular file", path);
		rc = pw_error_hint("Name a regular file (symbolic links are not followed).");
	}
	if (rc == 0)
		close(fd);
	if (rc == 0)
		rc = pw_read_file(path, b);
	return rc;
}

static int write_env(const char *path, struct pw_buf *content, bool exists, const struct stat *st)
{
	struct pw_outfile *f;
	int rc = pw_outfile_open(&f, path, 0600, false);
	if (rc < 0)
		return rc;
	/* the application keeps reading it: same owner as before */
	if (exists && fchown(pw_outfile_fd(f), st->st_uid, st->st_gid) < 0)
		pw_warn("could not keep the owner of \"%s\": %s", path, strerror(errno));
	rc = pw_write_all(pw_outfile_fd(f), content->data, content->len, path);
	if (rc == 0)
		rc = pw_outfile_commit(f);
	pw_outfile_free(f);
	return rc;
}

/* Rebuild the file without var's lines; value != NULL appends "VAR='value'". */
static int rewrite(const char *path, const char *var, const char *value)
{
	if (!*var ||
	    strspn(var, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
	        strlen(var) ||
	    (var[0] >= '0' && var[0] <= '9')) {
		pw_error(PW_E_USAGE, "\"%s\" is not an environment variable name", var);
		return pw_error_hint("Use letters, digits and _ (not starting with a digit), as "
		                     "DATABASE_URL.");
	}
	if (value && strchr(value, '\'')) {
		pw_error(PW_E_INTERNAL, "a URL with a quote cannot go into an environment file");
		return pw_error_hint("This is a bug: URLs are percent-encoded.");
	}
	struct pw_buf in = PW_BUF_INIT(ENV_MAX), out = PW_BUF_INIT(ENV_MAX + 4096);
	bool exists;
	struct stat st;
	int rc = read_env(path, &in, &exists, &st);
	bool found = false;
	if (rc == 0 && in.len) {
		const char *s = pw_buf_str(&in);
		const char *end = s + in.len;
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
			if (assigns(s, len, var)) {
				if (value && !found)
					pw_buf_printf(&out, "%s='%s'\n", var, value);
				found = true;
			} else {
				pw_buf_append(&out, s, len);
				pw_buf_putc(&out, '\n');
			}
			s += len + 1;
		}
	}
	if (rc == 0 && value && !found)
		pw_buf_printf(&out, "%s='%s'\n", var, value);
	if (rc == 0 && (exists || value))
		rc = write_env(path, &out, exists, &st);
	pw_buf_free(&in, 1);
	pw_buf_free(&out, 1);
	return rc;
}

int attach_env_set(const char *path, const char *var, const char *value)
{
	return rewrite(path, var, value);
}

int attach_env_unset(const char *path, const char *var)
{
	return rewrite(path, var, NULL);
}

int attach_env_get(const char *path, const char *var, char **out)
{
	*out = NULL;
	struct pw_buf in = PW_BUF_INIT(ENV_MAX);
	bool exists;
	struct stat st;
	int rc = read_env(path, &in, &exists, &st);
	if (rc == 0 && in.len) {
		const char *s = pw_buf_str(&in);
		const char *end = s + in.len;
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
			const char *v = assigns(s, len, var);
			if (v) {
				size_t vl = (size_t)(s + len - v);
				if (vl >= 2 && (v[0] == '\'' || v[0] == '"') && v[vl - 1] == v[0]) {
					v++;
					vl -= 2;
				}
				pw_free(*out);
				*out = pw_malloc(vl + 1);
				memcpy(*out, v, vl);
				(*out)[vl] = 0;
			}
			s += len + 1;
		}
	}
	pw_buf_free(&in, 1);
	return rc;
}

char *attach_registry_default_path(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct pw_buf b = PW_BUF_INIT(4096);
	if (state && *state)
		pw_buf_printf(&b, "%s/pgward/attachments.json", state);
	else if (home && *home)
		pw_buf_printf(&b, "%s/.local/state/pgward/attachments.json", home);
	else
		pw_buf_printf(&b, "/var/lib/pgward/attachments.json");
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

int attach_registry_load(const char *path, json_t **out)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			*out = json_array();
			return 0;
		}
		pw_error(PW_E_IO, "cannot open the attachments record \"%s\": %s", path,
		         strerror(errno));
		return pw_error_hint("Check attachments-file and its permissions.");
	}
	/* it names commands pgward runs: nobody else may write it */
	int rc = pw_check_private_fd(fd, path, "attachments record");
	close(fd);
	struct pw_buf b = PW_BUF_INIT(ENV_MAX);
	if (rc == 0)
		rc = pw_read_file(path, &b);
	if (rc == 0) {
		json_error_t je;
		json_t *a = json_loadb((const char *)b.data, b.len, 0, &je);
		if (!json_is_array(a)) {
			json_decref(a);
			pw_error(PW_E_CONFIG, "attachments record \"%s\" is damaged (line %d: %s)",
			         path, je.line, je.text);
			rc = pw_error_hint("Fix or remove it; the environment files themselves are "
			                   "unchanged.");
		} else {
			*out = a;
		}
	}
	pw_buf_free(&b, 0);
	return rc;
}

static int mkdirs(const char *path)
{
	char *p = pw_strdup(path);
	int rc = 0;
	for (char *s = p + 1; *s && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			pw_error(PW_E_IO, "cannot create directory \"%s\": %s", p, strerror(errno));
			rc = pw_error_hint("Set attachments-file to a writable place.");
		}
		*s = '/';
	}
	pw_free(p);
	return rc;
}

int attach_registry_save(const char *path, json_t *arr)
{
	int rc = mkdirs(path);
	if (rc < 0)
		return rc;
	char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct pw_outfile *f;
	rc = pw_outfile_open(&f, path, 0600, false);
	if (rc == 0) {
		rc = pw_write_all(pw_outfile_fd(f), text, strlen(text), path);
		if (rc == 0)
			rc = pw_write_all(pw_outfile_fd(f), "\n", 1, path);
		if (rc == 0)
			rc = pw_outfile_commit(f);
		pw_outfile_free(f);
	}
	free(text);
	return rc;
}

int attach_run_on_change(const char *cmd, const char *credential, const char *env_file)
{
	if (!cmd || !*cmd)
		return 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return pw_error(PW_E_IO, "cannot start the on-change command: %s", strerror(errno));
	if (pid == 0) {
		setenv("PGWARD_CREDENTIAL", credential, 1);
		setenv("PGWARD_ENV_FILE", env_file, 1);
		/* stdout is pgward's report: the command's output goes to stderr */
		dup2(2, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return pw_error(PW_E_IO, "waitpid failed: %s", strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	pw_warn("the on-change command for \"%s\" (%s) failed with %s %d", env_file, cmd,
	        WIFEXITED(status) ? "exit status" : "signal",
	        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}
