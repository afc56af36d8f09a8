/* safefile.c - the one safe way to write (and to read a trusted) local file; see safefile.h. */
#include "common/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"

#define MAX_LINKS 40
#define SHOWN_MAX 8192

/* "name (uid N)" or "uid N" for errors */
static void user_name(uid_t uid, char *out, size_t n)
{
	struct passwd pw, *r = NULL;
	char buf[2048];
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &r) == 0 && r)
		snprintf(out, n, "\"%s\" (uid %u)", r->pw_name, (unsigned)uid);
	else
		snprintf(out, n, "uid %u", (unsigned)uid);
}

static int sys_error(int code, const char *what, const char *path)
{
	int e = errno;
	pw_error(code, "could not %s \"%s\": %s", what, path, pw_strerror(e));
	if (e == ENOENT)
		return pw_error_hint("Check the path.");
	return pw_error_hint("Check the path, its permissions and the user pgward runs as.");
}

/* May a user other than root, us and owner change the entries of directory fd? */
static int dir_trust(int fd, const char *shown, uid_t owner, bool *shared)
{
	struct stat st;
	*shared = false;
	if (fstat(fd, &st) < 0)
		return sys_error(PW_E_IO, "stat", shown);
	if (!S_ISDIR(st.st_mode)) {
		pw_error(PW_E_IO, "\"%s\" is not a directory", shown);
		return pw_error_hint("Check the path.");
	}
	char who[300];
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != owner) {
		user_name(st.st_uid, who, sizeof who);
		pw_error(PW_E_INSECURE,
		         "directory \"%s\" belongs to %s, who could swap the file in it", shown,
		         who);
		return pw_error_hint("Use a directory that only root and the file's owner can "
		                     "write, or run pgward as %s.",
		                     who);
	}
	if ((st.st_mode & S_IWOTH) && (st.st_mode & S_ISVTX)) {
		*shared = true; /* /tmp: others cannot rename or remove what is not theirs */
		return 0;
	}
	if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
		user_name(st.st_uid, who, sizeof who);
		pw_error(PW_E_INSECURE,
		         "directory \"%s\" (owner %s, mode %04o) is writable by other users, who "
		         "could swap the file in it",
		         shown, who, (unsigned)(st.st_mode & 07777));
		return pw_error_hint("Run \"chmod go-w %s\", or use a directory only root and the "
		                     "file's owner can write.",
		                     shown);
	}
	return 0;
}

int pw_safe_opendir(const char *dir, uid_t owner, bool *shared, int *dfd)
{
	*dfd = -1;
	*shared = false;
	if (!*dir)
		dir = ".";
	if (strlen(dir) >= SHOWN_MAX) {
		pw_error(PW_E_LIMIT, "path \"%.64s...\" is too long", dir);
		return pw_error_hint("Use a path shorter than %d bytes.", SHOWN_MAX);
	}
	char shown[SHOWN_MAX + NAME_MAX + 2];
	snprintf(shown, sizeof shown, "%s", dir[0] == '/' ? "/" : ".");
	int fd = open(shown, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sys_error(PW_E_IO, "open directory", shown);
	bool sh = false;
	int rc = dir_trust(fd, shown, owner, &sh);
	char *work = pw_strdup(dir);
	const char *p = work;
	int links = 0;
	while (rc == 0 && *p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		char comp[NAME_MAX + 1];
		if (len > NAME_MAX) {
			pw_error(PW_E_LIMIT, "a component of \"%s\" is longer than %d bytes", dir,
			         NAME_MAX);
			rc = pw_error_hint("Check the path.");
			break;
		}
		memcpy(comp, p, len);
		comp[len] = 0;
		p += len;
		if (strcmp(comp, ".") == 0)
			continue;
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			char target[PATH_MAX];
			ssize_t tl = readlinkat(fd, comp, target, sizeof target - 1);
			if (tl > 0) {
				target[tl] = 0;
				if (sh) {
					/* a link in /tmp may be anyone's: never follow it */
					pw_error(
					    PW_E_INSECURE,
					    "\"%s/%s\" is a symbolic link in a directory every "
					    "user can write",
					    shown, comp);
					rc = pw_error_hint("Name the real directory.");
					break;
				}
				/* nor one in a directory another user owns: that user can swap it
				 * between a directory and a link to anywhere while we walk */
				struct stat dst;
				if (fstat(fd, &dst) < 0 ||
				    (dst.st_uid != 0 && dst.st_uid != geteuid())) {
					pw_error(
					    PW_E_INSECURE,
					    "\"%s/%s\" is a symbolic link in a directory owned by "
					    "another user (uid %u)",
					    shown, comp, (unsigned)dst.st_uid);
					rc = pw_error_hint(
					    "Name the real directory, so that nobody can "
					    "redirect where pgward writes.");
					break;
				}
				if (++links > MAX_LINKS) {
					pw_error(PW_E_IO, "too many symbolic links in \"%s\"", dir);
					rc = pw_error_hint("Check the path.");
					break;
				}
				/* the link lives in a directory only trusted users write: follow it,
				 * checking every component of its target the same way */
				size_t nl = (size_t)tl + strlen(p) + 2;
				char *nw = pw_malloc(nl);
				snprintf(nw, nl, "%s/%s", target, p);
				pw_free(work);
				work = nw;
				p = work;
				if (target[0] == '/') {
					close(fd);
					snprintf(shown, sizeof shown, "/");
					fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
					if (fd < 0) {
						rc = sys_error(PW_E_IO, "open directory", "/");
						break;
					}
					rc = dir_trust(fd, shown, owner, &sh);
				}
				continue;
			}
			errno = ENOTDIR;
		}
		size_t sl = strlen(shown);
		if (sl < SHOWN_MAX)
			snprintf(shown + sl, sizeof shown - sl, "%s%s",
			         shown[sl - 1] == '/' ? "" : "/", comp);
		if (nfd < 0) {
			rc = sys_error(errno == ENOENT ? PW_E_NOTFOUND : PW_E_IO, "open directory",
			               shown);
			break;
		}
		close(fd);
		fd = nfd;
		rc = dir_trust(fd, shown, owner, &sh);
	}
	pw_free(work);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*shared = sh;
	*dfd = fd;
	return 0;
}

struct pw_safefile {
	char *path;
	char *base;
	char tmp[NAME_MAX + 1];
	int dfd;
	int fd;
	bool direct; /* standard output */
	bool has_old;
	bool no_replace;
	bool no_sync;
	bool done;
	struct stat old;
};

static void free_file(struct pw_safefile *f)
{
	if (f->fd >= 0 && !f->direct)
		close(f->fd);
	if (f->dfd >= 0) {
		if (!f->done && !f->direct && f->tmp[0])
			unlinkat(f->dfd, f->tmp, 0);
		close(f->dfd);
	}
	pw_free(f->path);
	pw_free(f->base);
	pw_free(f);
}

/* the existing target: a regular file with one link, belonging to us or to owner (and with
 * PW_SAFE_EXCLUSIVE none at all: anything unsafe there is named as unsafe first) */
static int check_old(struct pw_safefile *f, uid_t owner, bool shared, unsigned flags)
{
	const struct stat *st = &f->old;
	if (S_ISDIR(st->st_mode)) {
		pw_error(PW_E_IO, "output \"%s\" is a directory", f->path);
		return pw_error_hint("Name a file.");
	}
	if (S_ISLNK(st->st_mode)) {
		pw_error(PW_E_INSECURE,
		         "output \"%s\" is a symbolic link; pgward does not write "
		         "through one",
		         f->path);
		return pw_error_hint("Name the file itself, or write to standard output with "
		                     "\"-o -\".");
	}
	if (!S_ISREG(st->st_mode)) {
		pw_error(PW_E_INSECURE,
		         "output \"%s\" exists and is not a regular file (a FIFO, "
		         "device or socket); pgward does not write into one",
		         f->path);
		return pw_error_hint("Name a new file, or write to standard output with \"-o -\" "
		                     "and redirect it.");
	}
	char who[300];
	if (st->st_uid != geteuid() && (st->st_uid != owner || shared)) {
		user_name(st->st_uid, who, sizeof who);
		pw_error(PW_E_INSECURE, "output \"%s\" exists and belongs to %s", f->path, who);
		return pw_error_hint("Remove it first if it may be replaced, or choose another "
		                     "name.");
	}
	if (st->st_nlink != 1) {
		pw_error(PW_E_INSECURE, "output \"%s\" has %lu hard links", f->path,
		         (unsigned long)st->st_nlink);
		return pw_error_hint("Another name for the same file could be anywhere: remove it "
		                     "first, or choose another name.");
	}
	if (flags & PW_SAFE_EXCLUSIVE) {
		pw_error(PW_E_EXISTS, "output file \"%s\" already exists", f->path);
		return pw_error_hint("Choose another name, or remove the file first if you are "
		                     "sure it is not needed.");
	}
	return 0;
}

int pw_safefile_open(struct pw_safefile **out, const char *path, mode_t mode, unsigned flags)
{
	*out = NULL;
	struct pw_safefile *f = pw_calloc(1, sizeof *f);
	f->dfd = -1;
	f->fd = -1;
	f->path = pw_strdup(path);
	if (strcmp(path, "-") == 0) {
		f->direct = true;
		f->fd = 1;
		*out = f;
		return 0;
	}
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		pw_error(PW_E_IO, "output \"%s\" names a directory", path);
		free_file(f);
		return pw_error_hint("Name a file.");
	}
	f->base = pw_strdup(base);
	char *dir = pw_strdup(path);
	if (!slash)
		snprintf(dir, strlen(path) + 1, ".");
	else if (slash == path)
		dir[1] = 0;
	else
		dir[slash - path] = 0;
	uid_t owner = geteuid();
	struct stat ls;
	if ((flags & PW_SAFE_OTHER_OWNER) && lstat(path, &ls) == 0 && S_ISREG(ls.st_mode))
		owner = ls.st_uid;
	bool shared = false;
	int rc = pw_safe_opendir(dir, owner, &shared, &f->dfd);
	pw_free(dir);
	if (rc < 0) {
		free_file(f);
		return rc;
	}
	if (fstatat(f->dfd, f->base, &f->old, AT_SYMLINK_NOFOLLOW) == 0) {
		f->has_old = true;
		rc = check_old(f, owner, shared, flags);
	} else if (errno != ENOENT) {
		rc = sys_error(PW_E_IO, "stat", path);
	} else if (owner != geteuid()) {
		pw_error(PW_E_IO, "\"%s\" changed while it was checked", path);
		rc = pw_error_hint("Run the command again.");
	}
	f->no_replace = (flags & PW_SAFE_EXCLUSIVE) || (shared && !f->has_old);
	f->no_sync = flags & PW_SAFE_NO_SYNC;
	/* the new file: a fresh name in that directory, never one that exists */
	for (int i = 0; rc == 0 && i < 16; i++) {
		/* not a time: a nonce, so the name is hard to guess (O_EXCL makes it safe anyway) */
		unsigned long r = 0;
		if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
			r = ((unsigned long)getpid() << 12) ^ ((unsigned long)i * 2654435761u);
		snprintf(f->tmp, sizeof f->tmp, ".%.200s.tmp-%08lx", f->base, r & 0xffffffffu);
		f->fd = openat(f->dfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		               0600);
		if (f->fd >= 0)
			break;
		if (errno != EEXIST) {
			f->tmp[0] = 0;
			rc = sys_error(PW_E_IO, "create a file next to", path);
		}
	}
	if (rc == 0 && f->fd < 0) {
		f->tmp[0] = 0;
		pw_error(PW_E_IO, "could not create a new file next to \"%s\"", path);
		rc = pw_error_hint("Someone keeps creating the names pgward picks: use a private "
		                   "directory.");
	}
	struct stat st;
	if (rc == 0 && (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	                st.st_uid != geteuid())) {
		pw_error(PW_E_INSECURE, "the new file next to \"%s\" is not the one pgward created",
		         path);
		rc = pw_error_hint("Someone is tampering with the directory: use a private one.");
	}
	if (rc == 0 && fchmod(f->fd, mode) < 0) /* umask must not widen or narrow it */
		rc = sys_error(PW_E_IO, "chmod", path);
	if (rc < 0) {
		free_file(f);
		return rc;
	}
	*out = f;
	return 0;
}

int pw_safefile_fd(const struct pw_safefile *f)
{
	return f->fd;
}

const struct stat *pw_safefile_old(const struct pw_safefile *f)
{
	return f->has_old ? &f->old : NULL;
}

int pw_safefile_read_old(struct pw_safefile *f, struct pw_buf *out)
{
	if (!f->has_old || f->direct)
		return 0;
	int fd = openat(f->dfd, f->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return sys_error(PW_E_IO, "open", f->path);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != f->old.st_dev ||
	    st.st_ino != f->old.st_ino || st.st_nlink != 1) {
		pw_error(PW_E_INSECURE, "\"%s\" was replaced while pgward was reading it", f->path);
		rc = pw_error_hint("Nothing was written; run the command again, and check who "
		                   "else can write that directory.");
	}
	char chunk[8192];
	while (rc == 0) {
		ssize_t n = pw_read_some(fd, chunk, sizeof chunk, f->path);
		if (n <= 0) {
			rc = (int)n;
			break;
		}
		rc = pw_buf_append(out, chunk, (size_t)n);
	}
	close(fd);
	return rc;
}

int pw_safefile_commit(struct pw_safefile *f)
{
	if (f->direct) {
		f->done = true;
		return 0;
	}
	if (!f->no_sync && fsync(f->fd) < 0)
		return sys_error(PW_E_IO, "fsync", f->path);
	int c = close(f->fd);
	f->fd = -1;
	if (c < 0)
		return sys_error(PW_E_IO, "close", f->path);
	if (f->no_replace) {
		/* link fails if the name appeared meanwhile: never replace it */
		if (linkat(f->dfd, f->tmp, f->dfd, f->base, 0) < 0) {
			if (errno == EEXIST) {
				pw_error(PW_E_EXISTS, "output file \"%s\" already exists", f->path);
				return pw_error_hint("Choose another name.");
			}
			return sys_error(PW_E_IO, "create", f->path);
		}
		unlinkat(f->dfd, f->tmp, 0);
	} else if (renameat(f->dfd, f->tmp, f->dfd, f->base) < 0) {
		return sys_error(PW_E_IO, "rename to", f->path);
	}
	f->done = true;
	if (!f->no_sync)
		fsync(f->dfd);
	return 0;
}

void pw_safefile_free(struct pw_safefile *f)
{
	if (f)
		free_file(f);
}

/* The end of a checked open: blocking reads again (it was opened O_NONBLOCK so that a FIFO
 * could not hang it), or closed on any failure. */
static int opened(int f, int rc, const char *path, int *fd)
{
	int fl;
	if (rc == 0 && ((fl = fcntl(f, F_GETFL)) < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) < 0))
		rc = sys_error(PW_E_IO, "open", path);
	if (rc < 0) {
		close(f);
		return rc;
	}
	*fd = f;
	return 0;
}

int pw_trusted_open(const char *path, const char *what, unsigned flags, int *fd)
{
	*fd = -1;
	int f = open(path, O_RDONLY | ((flags & PW_TRUST_FOLLOW) ? 0 : O_NOFOLLOW) | O_NONBLOCK |
	                       O_CLOEXEC);
	if (f < 0) {
		if (errno == ENOENT && (flags & PW_TRUST_MISSING))
			return 0;
		if (errno == ELOOP) {
			pw_error(PW_E_INSECURE, "%s \"%s\" is a symbolic link", what, path);
			return pw_error_hint(
			    "Name the file itself: pgward does not follow a link to "
			    "a file it trusts.");
		}
		int e = errno;
		pw_error(e == ENOENT ? PW_E_NOTFOUND : PW_E_IO, "could not open %s \"%s\": %s",
		         what, path, pw_strerror(e));
		return pw_error_hint("Check the path and its permissions.");
	}
	struct stat st;
	int rc = 0;
	char who[300];
	if (fstat(f, &st) < 0) {
		rc = sys_error(PW_E_IO, "stat", path);
	} else if (!S_ISREG(st.st_mode)) {
		pw_error(PW_E_IO, "%s \"%s\" is not a regular file", what, path);
		rc = pw_error_hint("Name a regular file (not a FIFO, device or directory).");
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		user_name(st.st_uid, who, sizeof who);
		pw_error(PW_E_INSECURE,
		         "%s \"%s\" belongs to %s, not to root or the user running "
		         "pgward",
		         what, path, who);
		char me[300];
		user_name(geteuid(), me, sizeof me);
		rc = pw_error_hint("Its owner could change what pgward trusts: run \"chown %u %s\" "
		                   "(as root) if it is meant for %s.",
		                   (unsigned)geteuid(), path, me);
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		pw_error(PW_E_INSECURE, "%s \"%s\" is writable by other users (mode %04o)", what,
		         path, (unsigned)(st.st_mode & 07777));
		rc = pw_error_hint("Run \"chmod go-w %s\".", path);
	} else if ((flags & PW_TRUST_SECRET) && (st.st_mode & 077)) {
		pw_error(PW_E_INSECURE, "%s \"%s\" is accessible by other users (mode %04o)", what,
		         path, (unsigned)(st.st_mode & 07777));
		rc =
		    pw_error_hint("Run \"chmod 600 %s\" so that only its owner can read it.", path);
	}
	return opened(f, rc, path, fd);
}

int pw_trusted_read(const char *path, const char *what, unsigned flags, struct pw_buf *out)
{
	if (strcmp(path, "-") == 0)
		return pw_read_file(path, out);
	int fd;
	int rc = pw_trusted_open(path, what, flags, &fd);
	if (rc < 0 || fd < 0)
		return rc;
	uint8_t chunk[65536];
	for (;;) {
		ssize_t r = pw_read_some(fd, chunk, sizeof chunk, path);
		if (r <= 0) {
			rc = (int)r;
			break;
		}
		if ((rc = pw_buf_append(out, chunk, (size_t)r)) < 0) {
			pw_error_context("reading \"%s\"", path);
			break;
		}
	}
	close(fd);
	return rc;
}

int pw_safe_open_append(const char *path, mode_t mode, int *fd)
{
	*fd = -1;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		pw_error(PW_E_IO, "\"%s\" names a directory", path);
		return pw_error_hint("Name a file.");
	}
	char *dir = pw_strdup(path);
	if (!slash)
		snprintf(dir, strlen(path) + 1, ".");
	else if (slash == path)
		dir[1] = 0;
	else
		dir[slash - path] = 0;
	bool shared;
	int dfd;
	int rc = pw_safe_opendir(dir, geteuid(), &shared, &dfd);
	pw_free(dir);
	if (rc < 0)
		return rc;
	int f = openat(dfd, base, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	               mode);
	close(dfd);
	if (f < 0) {
		if (errno == ELOOP) {
			pw_error(PW_E_INSECURE,
			         "\"%s\" is a symbolic link; pgward does not write "
			         "through one",
			         path);
			return pw_error_hint("Name the file itself.");
		}
		return sys_error(PW_E_IO, "open", path);
	}
	struct stat st;
	char who[300];
	if (fstat(f, &st) < 0) {
		rc = sys_error(PW_E_IO, "stat", path);
	} else if (!S_ISREG(st.st_mode)) {
		pw_error(PW_E_INSECURE, "\"%s\" is not a regular file (a FIFO, device or socket)",
		         path);
		rc = pw_error_hint("Name a regular file.");
	} else if (st.st_uid != geteuid()) {
		user_name(st.st_uid, who, sizeof who);
		pw_error(PW_E_INSECURE, "\"%s\" belongs to %s, not to the user running pgward",
		         path, who);
		rc = pw_error_hint("Remove it, or name a file of your own.");
	} else if (st.st_nlink != 1) {
		pw_error(PW_E_INSECURE, "\"%s\" has %lu hard links", path,
		         (unsigned long)st.st_nlink);
		rc = pw_error_hint("Another name for the same file could be anywhere: name a file "
		                   "with one link.");
	}
	return opened(f, rc, path, fd);
}

int pw_mkdir_parents(const char *path, int code, const char *hint)
{
	char *p = pw_strdup(path);
	int rc = 0;
	for (char *c = p + 1; *c && rc == 0; c++) {
		if (*c != '/')
			continue;
		*c = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = pw_error(code, "cannot create directory \"%s\": %s", p,
			              pw_strerror(errno));
			if (hint)
				pw_error_hint("%s", hint);
		}
		*c = '/';
	}
	pw_free(p);
	return rc;
}
