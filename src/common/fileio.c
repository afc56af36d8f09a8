/* fileio.c - local-file helpers. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/safefile.h"

static int io_error(const char *what, const char *path)
{
	int e = errno;
	if (e == ENOENT) {
		pw_error(PW_E_NOTFOUND, "could not %s \"%s\": %s", what, path, pw_strerror(e));
		return pw_error_hint("Check the path.");
	}
	if (e == EACCES || e == EPERM) {
		pw_error(PW_E_IO, "could not %s \"%s\": %s", what, path, pw_strerror(e));
		return pw_error_hint("Check the file's permissions and the user pgward runs as.");
	}
	return pw_error(PW_E_IO, "could not %s \"%s\": %s", what, path, pw_strerror(e));
}

static volatile sig_atomic_t interrupted;

void pw_set_interrupted(int signo)
{
	interrupted = signo;
}

int pw_interrupted(void)
{
	return interrupted;
}

static int stop_error(void)
{
	pw_error(PW_E_INTERRUPTED, "interrupted by signal %d", (int)interrupted);
	return pw_error_hint("Nothing was left half-written; run the command again.");
}

ssize_t pw_read_some(int fd, void *p, size_t n, const char *what)
{
	for (;;) {
		if (interrupted)
			return stop_error();
		ssize_t r = read(fd, p, n);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return io_error("read", what);
	}
}

int pw_write_all(int fd, const void *p, size_t n, const char *what)
{
	const uint8_t *b = p;
	while (n) {
		if (interrupted)
			return stop_error();
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return io_error("write", what);
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int pw_read_file(const char *path, struct pw_buf *out)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_error("open", path);
	uint8_t chunk[65536];
	int rc = 0;
	for (;;) {
		ssize_t r = pw_read_some(fd, chunk, sizeof chunk, path);
		if (r < 0) {
			rc = (int)r;
			break;
		}
		if (r == 0)
			break;
		if ((rc = pw_buf_append(out, chunk, (size_t)r)) < 0) {
			pw_error_context("reading \"%s\"", path);
			break;
		}
	}
	if (!is_stdin)
		close(fd);
	return rc;
}

int pw_check_private_fd(int fd, const char *path, const char *what)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return io_error("stat", path);
	if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		pw_error(PW_E_INSECURE, "%s \"%s\" is accessible by other users (mode %04o)", what,
		         path, (unsigned)(st.st_mode & 07777));
		return pw_error_hint("Run \"chmod 600 %s\" so that only its owner can read it.",
		                     path);
	}
	return 0;
}

/* pw_outfile is the safe writer of safefile.c (kept for its callers) */
struct pw_outfile {
	struct pw_safefile *sf;
};

int pw_outfile_open(struct pw_outfile **out, const char *path, mode_t mode, bool exclusive)
{
	*out = NULL;
	struct pw_safefile *sf;
	int rc = pw_safefile_open(&sf, path, mode, exclusive ? PW_SAFE_EXCLUSIVE : 0);
	if (rc < 0)
		return rc;
	struct pw_outfile *f = pw_calloc(1, sizeof *f);
	f->sf = sf;
	*out = f;
	return 0;
}

int pw_outfile_fd(const struct pw_outfile *f)
{
	return pw_safefile_fd(f->sf);
}

int pw_outfile_commit(struct pw_outfile *f)
{
	return pw_safefile_commit(f->sf);
}

void pw_outfile_free(struct pw_outfile *f)
{
	if (!f)
		return;
	pw_safefile_free(f->sf);
	pw_free(f);
}

char *pw_state_path(const char *file)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct pw_buf b = PW_BUF_INIT(4096);
	if (state && *state)
		pw_buf_printf(&b, "%s/pgward/%s", state, file);
	else if (home && *home)
		pw_buf_printf(&b, "%s/.local/state/pgward/%s", home, file);
	else
		pw_buf_printf(&b, "/var/lib/pgward/%s", file);
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}
