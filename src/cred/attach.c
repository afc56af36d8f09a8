/* attach.c - environment files and this host's attachment record. */
#include "cred/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/proc.h"
#include "common/safefile.h"
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

/* read what fd holds to its end into b (capped by b->max) */
static int read_fd(int fd, const char *path, struct pw_buf *b)
{
	char chunk[8192];
	for (;;) {
		ssize_t n = pw_read_some(fd, chunk, sizeof chunk, path);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		int rc = pw_buf_append(b, chunk, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

/* Open path without following a symbolic link, check it is a regular file, and read it
 * from that same descriptor (no second open by name that a swap could redirect). */
/* length of the line starting at s (without its newline) */
static size_t line_len(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	return nl ? (size_t)(nl - s) : (size_t)(end - s);
}

static int read_env(const char *path, struct pw_buf *b, bool *exists, struct stat *st)
{
	*exists = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		pw_error(PW_E_IO, "cannot open environment file \"%s\": %s", path,
		         pw_strerror(errno));
		return pw_error_hint("Check the path and its permissions (a symbolic link is not "
		                     "followed here).");
	}
	*exists = true;
	int rc = 0;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_nlink != 1) {
		pw_error(PW_E_IO, "environment file \"%s\" is not a regular file with one link",
		         path);
		rc = pw_error_hint("Name a regular file (not a FIFO, device or hard link).");
	}
	if (rc == 0)
		rc = read_fd(fd, path, b);
	close(fd);
	return rc;
}

/* Write content as the new env file through the safe writer f: the old file's owner and
 * group and mode 0600, or 0640 when the application read it through its group before. */
static int write_env(struct pw_safefile *f, const char *path, struct pw_buf *content)
{
	const struct stat *st = pw_safefile_old(f);
	mode_t mode = (mode_t)(st ? 0600 | (st->st_mode & 0040) : 0600);
	int fd = pw_safefile_fd(f);
	int rc = 0;
	/* the application keeps reading it: same owner and group as before, or nothing changes.
	 * fd is the new file pgward created itself, never a name someone else could swap. */
	if (st && (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, mode) < 0)) {
		pw_error(PW_E_IO, "cannot give the new \"%s\" its old owner (uid %u): %s", path,
		         (unsigned)st->st_uid, pw_strerror(errno));
		rc = pw_error_hint("Run pgward as root or as the file's owner; the file was not "
		                   "changed.");
	}
	if (rc == 0)
		rc = pw_write_all(fd, content->data, content->len, path);
	if (rc == 0)
		rc = pw_safefile_commit(f);
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
	/* the directory is resolved without following links, the old file is read through
	 * that directory and must be the regular file that was checked, and the new one is
	 * created there and renamed over it (issue 17: a swap to a device is refused) */
	struct pw_safefile *f = NULL;
	int rc = pw_safefile_open(&f, path, 0600, PW_SAFE_OTHER_OWNER);
	if (rc < 0)
		return pw_error_context("environment file");
	bool exists = pw_safefile_old(f) != NULL;
	rc = pw_safefile_read_old(f, &in);
	bool found = false;
	if (rc == 0 && in.len) {
		const char *s = pw_buf_str(&in);
		const char *end = s + in.len;
		size_t len;
		for (; s < end; s += len + 1) {
			len = line_len(s, end);
			if (assigns(s, len, var)) {
				const char *t = s;
				while (t < s + len && (*t == ' ' || *t == '\t'))
					t++;
				bool exported =
				    (size_t)(s + len - t) > 7 && strncmp(t, "export ", 7) == 0;
				if (value && !found)
					pw_buf_printf(&out, "%s%s='%s'\n",
					              exported ? "export " : "", var, value);
				found = true;
			} else {
				pw_buf_append(&out, s, len);
				pw_buf_putc(&out, '\n');
			}
		}
	}
	if (rc == 0 && value && !found)
		pw_buf_printf(&out, "%s='%s'\n", var, value);
	if (rc == 0 && (exists || value))
		rc = write_env(f, path, &out);
	pw_safefile_free(f);
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
		size_t len;
		for (; s < end; s += len + 1) {
			len = line_len(s, end);
			const char *v = assigns(s, len, var);
			if (v) {
				size_t vl = (size_t)(s + len - v);
				if (vl >= 2 && (v[0] == '\'' || v[0] == '"') && v[vl - 1] == v[0]) {
					v++;
					vl -= 2;
				}
				if (*out)
					OPENSSL_cleanse(*out, strlen(*out));
				pw_free(*out);
				*out = pw_malloc(vl + 1);
				memcpy(*out, v, vl);
				(*out)[vl] = 0;
			}
		}
	}
	pw_buf_free(&in, 1);
	return rc;
}

char *attach_registry_default_path(void)
{
	return pw_state_path("attachments.json");
}

int attach_registry_load(const char *path, json_t **out)
{
	*out = NULL;
	int fd;
	int rc =
	    pw_trusted_open(path, "attachments record", PW_TRUST_SECRET | PW_TRUST_MISSING, &fd);
	if (rc < 0)
		return rc;
	if (fd < 0) {
		*out = json_array();
		return 0;
	}
	/* it names commands pgward runs: only its owner, who must be us, may write it */
	struct stat st;
	if (rc == 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid() || !S_ISREG(st.st_mode))) {
		pw_error(PW_E_INSECURE, "attachments record \"%s\" is not a file of this user",
		         path);
		rc = pw_error_hint("It names commands pgward runs: it must belong to the user "
		                   "running pgward (uid %u).",
		                   (unsigned)geteuid());
	}
	struct pw_buf b = PW_BUF_INIT(ENV_MAX);
	if (rc == 0)
		rc = read_fd(fd, path, &b);
	close(fd);
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
			pw_error(PW_E_IO, "cannot create directory \"%s\": %s", p,
			         pw_strerror(errno));
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
	pw_free(text);
	return rc;
}

#define ON_CHANGE_TIMEOUT 120 /* seconds */

/* The on-change command's time limit in milliseconds: PGWARD_TEST_ON_CHANGE_TIMEOUT_MS lets
 * the tests use a short one (not an option: nobody should need it). */
static int on_change_timeout_ms(void)
{
	const char *t = getenv("PGWARD_TEST_ON_CHANGE_TIMEOUT_MS");
	uint64_t v;
	if (t && pw_parse_u64(t, &v) == 0 && v > 0 && v < (uint64_t)ON_CHANGE_TIMEOUT * 1000)
		return (int)v;
	return ON_CHANGE_TIMEOUT * 1000;
}

int attach_run_on_change(const char *cmd, const char *credential, const char *env_file)
{
	if (!cmd || !*cmd)
		return 0;
	/* the command is the operator's shell command line; its environment is the allow-list
	 * (PATH, HOME, locale, TZ) and these two, never a secret of ours */
	struct pw_buf c1 = PW_BUF_INIT(8192), c2 = PW_BUF_INIT(8192);
	pw_buf_printf(&c1, "PGWARD_CREDENTIAL=%s", credential);
	pw_buf_printf(&c2, "PGWARD_ENV_FILE=%s", env_file);
	const char *env[] = {pw_buf_str(&c1), pw_buf_str(&c2), NULL};
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	/* stdout is pgward's report: the command's output goes to our stderr */
	struct pw_proc_opts o = {.argv = argv,
	                         .env = env,
	                         .keep_home = true,
	                         .out = PW_PROC_OUT_TO_ERR,
	                         .err = PW_PROC_OUT_INHERIT};
	struct pw_proc p;
	int rc = pw_proc_start(&o, &p);
	pw_buf_free(&c1, 0);
	pw_buf_free(&c2, 0);
	if (rc < 0)
		return pw_error_context("cannot start the on-change command");
	int timeout = on_change_timeout_ms();
	rc = pw_proc_wait(&p, timeout);
	pw_proc_free(&p);
	if (rc < 0) { /* interrupted: the command's whole tree was stopped */
		pw_error(PW_E_INTERRUPTED,
		         "interrupted by signal %d while the on-change command for \"%s\" ran",
		         pw_interrupted(), env_file);
		return pw_error_hint("The command was stopped and the environment file already "
		                     "holds the new URL; run the command again to finish.");
	}
	char st[64];
	if (rc == 1) {
		pw_warn(
		    "the on-change command for \"%s\" (%s) ran longer than %d ms and was killed "
		    "with everything it started",
		    env_file, cmd, timeout);
		return 0;
	}
	if (WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0)
		return 0;
	pw_warn("the on-change command for \"%s\" (%s) failed with %s", env_file, cmd,
	        pw_proc_status_str(&p, st, sizeof st));
	return 0;
}
