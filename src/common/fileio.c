/* fileio.c - local-file helpers. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"

static int io_error(const char *what, const char *path)
{
	int e = errno;
	if (e == ENOENT) {
		pw_error(PW_E_NOTFOUND, "could not %s \"%s\": %s", what, path, strerror(e));
		return pw_error_hint("Check the path.");
	}
	if (e == EACCES || e == EPERM) {
		pw_error(PW_E_IO, "could not %s \"%s\": %s", what, path, strerror(e));
		return pw_error_hint("Check the file's permissions and the user pgward runs as.");
	}
	return pw_error(PW_E_IO, "could not %s \"%s\": %s", what, path, strerror(e));
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

struct pw_outfile {
	char *path;
	char *tmp;
	int fd;
	bool exclusive;
	bool done;
	bool direct; /* not a regular file: written in place, nothing to rename or remove */
};

int pw_outfile_open(struct pw_outfile **out, const char *path, mode_t mode, bool exclusive)
{
	*out = NULL;
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a device, FIFO or socket (/dev/null, a named pipe): write to it directly; a
		 * rename would replace it with a regular file */
		if (exclusive) {
			pw_error(PW_E_EXISTS, "output \"%s\" already exists", path);
			return pw_error_hint("Choose another name.");
		}
		if (S_ISDIR(st.st_mode)) {
			pw_error(PW_E_IO, "output \"%s\" is a directory", path);
			return pw_error_hint("Name a file.");
		}
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return io_error("open", path);
		struct pw_outfile *f = pw_calloc(1, sizeof *f);
		f->path = pw_strdup(path);
		f->fd = fd;
		f->direct = true;
		*out = f;
		return 0;
	}
	if (exclusive && access(path, F_OK) == 0) {
		pw_error(PW_E_EXISTS, "output file \"%s\" already exists", path);
		return pw_error_hint(
		    "Choose another name, or remove the file first if you are sure "
		    "it is not needed.");
	}
	size_t n = strlen(path) + 32;
	char *tmp = pw_malloc(n);
	char *dcopy = pw_strdup(path);
	char *bcopy = pw_strdup(path);
	snprintf(tmp, n, "%s/.%s.tmp-%ld", dirname(dcopy), basename(bcopy), (long)getpid());
	pw_free(dcopy);
	pw_free(bcopy);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int rc = io_error("create", tmp);
		pw_free(tmp);
		return rc;
	}
	fchmod(fd, mode); /* umask must not widen or narrow the requested mode */
	struct pw_outfile *f = pw_calloc(1, sizeof *f);
	f->path = pw_strdup(path);
	f->tmp = tmp;
	f->fd = fd;
	f->exclusive = exclusive;
	*out = f;
	return 0;
}

int pw_outfile_fd(const struct pw_outfile *f)
{
	return f->fd;
}

int pw_outfile_commit(struct pw_outfile *f)
{
	if (f->direct) {
		f->done = true;
		return 0;
	}
	if (fsync(f->fd) < 0)
		return io_error("fsync", f->tmp);
	if (close(f->fd) < 0) {
		f->fd = -1;
		return io_error("close", f->tmp);
	}
	f->fd = -1;
	if (f->exclusive) {
		/* link fails if path appeared meanwhile: never replace */
		if (link(f->tmp, f->path) < 0) {
			if (errno == EEXIST) {
				pw_error(PW_E_EXISTS, "output file \"%s\" already exists", f->path);
				return pw_error_hint("Choose another name.");
			}
			return io_error("create", f->path);
		}
		unlink(f->tmp);
	} else if (rename(f->tmp, f->path) < 0) {
		return io_error("rename to", f->path);
	}
	f->done = true;
	char *dcopy = pw_strdup(f->path);
	int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pw_free(dcopy);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

void pw_outfile_free(struct pw_outfile *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (!f->done && !f->direct)
		unlink(f->tmp);
	pw_free(f->path);
	pw_free(f->tmp);
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
