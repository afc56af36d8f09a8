/*
 * posix.c - the local-directory driver (the embedded default). Objects are
 * files under the root; directories 0700, files 0600. A write goes to a
 * temporary file in the target directory, is fsynced, and is linked into
 * place (never replacing an object unless asked), then the directory is
 * fsynced: a crash leaves either the whole object or none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/prim.h"
#include "storage/driver.h"

#define TMP_MARK ".pgward-tmp-"
#define READ_BLOCK (1024 * 1024)

struct posix {
	struct stor base;
	char *root;
};

struct posix_writer {
	struct stor_writer base;
	struct posix *p;
	char *path; /* for messages */
	char *tmp;  /* for messages */
	int dfd;    /* the object's directory, reached without following a symlink */
	char *leaf, *tmpleaf;
	int fd;
	bool overwrite;
	bool linked;
};

static int io_fail(const char *what, const char *path)
{
	int e = errno;
	if (e == ENOSPC) {
		pw_error(PW_E_STORAGE, "could not %s \"%s\": no space left on device", what, path);
		return pw_error_hint("Free space in the repository or expire old backups.");
	}
	if (e == EACCES || e == EPERM || e == EROFS) {
		pw_error(PW_E_STORAGE, "could not %s \"%s\": %s", what, path, pw_strerror(e));
		return pw_error_hint(
		    "Check that the user pgward runs as may write the repository.");
	}
	return pw_error(PW_E_STORAGE, "could not %s \"%s\": %s", what, path, pw_strerror(e));
}

/* An error for a path component or object that is a symbolic link, or not a directory or
 * regular file where one is needed: planted in the repository, never followed. */
static int not_regular(const char *path, const char *what)
{
	pw_error(PW_E_STORAGE, "\"%s\" in the repository is %s", path, what);
	return pw_error_hint("pgward never creates one; remove it, and find out who put it "
	                     "there.");
}

/*
 * The directory holding key's last component, opened one component at a time from the
 * root with O_NOFOLLOW: a symlinked stanza or backup directory is never followed out of
 * the repository. With create, missing directories are made (0700). Returns a directory fd
 * (*leaf points into key), or -1 with errno (ELOOP or ENOTDIR: a symlink or a file).
 */
static int open_parent(const struct posix *p, const char *key, bool create, const char **leaf)
{
	int dfd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	for (const char *seg = key;;) {
		const char *slash = strchr(seg, '/');
		if (!slash) {
			*leaf = seg;
			return dfd;
		}
		char name[1100];
		size_t len = (size_t)(slash - seg);
		if (len == 0 || len >= sizeof name) {
			close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, seg, len);
		name[len] = 0;
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST) {
				int e = errno;
				close(dfd);
				errno = e;
				return -1;
			}
			fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int e = errno;
		close(dfd);
		if (fd < 0) {
			errno = e;
			return -1;
		}
		dfd = fd;
		seg = slash + 1;
	}
}

/* The error for a failed open_parent (errno set). */
static int parent_fail(const char *path, bool enoent_is_notfound);

static char *join(const struct posix *p, const char *key)
{
	size_t n = strlen(p->root) + strlen(key) + 2;
	char *s = pw_malloc(n);
	snprintf(s, n, "%s/%s", p->root, key);
	return s;
}

static int mkdirs(char *path, size_t keep)
{
	/* create every directory of path (a file path) below the first keep bytes */
	for (char *s = path + keep + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		int r = mkdir(path, 0700);
		int e = errno;
		*s = '/';
		if (r < 0 && e != EEXIST) {
			errno = e;
			return -1;
		}
	}
	return 0;
}

static int pw_write(struct stor_writer *w, const void *p, size_t n)
{
	struct posix_writer *x = (struct posix_writer *)w;
	if (pw_write_all(x->fd, p, n, x->tmp) < 0) {
		if (errno == ENOSPC)
			return io_fail("write", x->tmp);
		return -pw_error_code();
	}
	return 0;
}

static int pw_commit(struct stor_writer *w, struct stor_write_result *r)
{
	struct posix_writer *x = (struct posix_writer *)w;
	(void)r;
	if (fsync(x->fd) < 0)
		return io_fail("fsync", x->tmp);
	if (close(x->fd) < 0) {
		x->fd = -1;
		return io_fail("close", x->tmp);
	}
	x->fd = -1;
	if (x->overwrite) {
		if (renameat(x->dfd, x->tmpleaf, x->dfd, x->leaf) < 0)
			return io_fail("rename into", x->path);
	} else {
		if (linkat(x->dfd, x->tmpleaf, x->dfd, x->leaf, 0) < 0) {
			if (errno == EEXIST) {
				pw_error(PW_E_EXISTS, "object \"%s\" already exists", x->path);
				return pw_error_hint(
				    "The repository is append-only: objects are never "
				    "replaced.");
			}
			return io_fail("create", x->path);
		}
		unlinkat(x->dfd, x->tmpleaf, 0);
	}
	x->linked = true;
	fsync(x->dfd);
	return 0;
}

static void pw_wfree(struct stor_writer *w)
{
	struct posix_writer *x = (struct posix_writer *)w;
	if (x->fd >= 0)
		close(x->fd);
	if (!x->linked)
		unlinkat(x->dfd, x->tmpleaf, 0);
	close(x->dfd);
	pw_free(x->path);
	pw_free(x->tmp);
	pw_free(x->leaf);
	pw_free(x->tmpleaf);
	pw_free(x);
}

static const struct stor_writer_ops writer_ops = {pw_write, pw_commit, pw_wfree};

static int p_write_open(struct stor *s, const char *key, const struct stor_write_opts *o,
                        struct stor_writer **out)
{
	struct posix *p = (struct posix *)s;
	char *path = join(p, key);
	const char *leaf;
	int dfd = open_parent(p, key, true, &leaf);
	if (dfd < 0) {
		int rc = parent_fail(path, false);
		pw_free(path);
		return rc;
	}
	struct stat st;
	if (!o->overwrite && fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dfd);
		pw_error(PW_E_EXISTS, "object \"%s\" already exists", path);
		pw_free(path);
		return pw_error_hint("The repository is append-only: objects are never replaced.");
	}
	size_t n = strlen(leaf) + 64;
	char *tmpleaf = pw_malloc(n);
	uint32_t rnd = 0;
	pw_random(&rnd, sizeof rnd);
	snprintf(tmpleaf, n, TMP_MARK "%s.%ld.%08x", leaf, (long)getpid(), rnd);
	size_t m = strlen(path) + n;
	char *tmp = pw_malloc(m);
	snprintf(tmp, m, "%.*s%s", (int)(strlen(path) - strlen(leaf)), path, tmpleaf);
	int fd = openat(dfd, tmpleaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = io_fail("create", tmp);
		close(dfd);
		pw_free(tmpleaf);
		pw_free(tmp);
		pw_free(path);
		return rc;
	}
	struct posix_writer *w = pw_calloc(1, sizeof *w);
	w->base.ops = &writer_ops;
	w->p = p;
	w->path = path;
	w->tmp = tmp;
	w->dfd = dfd;
	w->leaf = pw_strdup(leaf);
	w->tmpleaf = tmpleaf;
	w->fd = fd;
	w->overwrite = o->overwrite;
	*out = &w->base;
	return 0;
}

static int not_found(const char *path)
{
	pw_error(PW_E_NOTFOUND, "object \"%s\" does not exist", path);
	return pw_error_hint("Check the repository address and the backup id; \"pgward list\" "
	                     "shows what the repository holds.");
}

static int parent_fail(const char *path, bool enoent_is_notfound)
{
	if (errno == ENOENT && enoent_is_notfound)
		return not_found(path);
	if (errno == ELOOP || errno == ENOTDIR)
		return not_regular(path, "under a symbolic link or a file where a directory "
		                         "belongs");
	return io_fail("open", path);
}

/* Open key for reading: no symlink anywhere below the root, no FIFO or device (O_NONBLOCK:
 * a FIFO cannot hang the open), only a regular file. */
static int open_object(const struct posix *p, const char *key, const char *path, int *fd_out,
                       struct stat *st)
{
	const char *leaf;
	int dfd = open_parent(p, key, false, &leaf);
	if (dfd < 0)
		return parent_fail(path, true);
	int fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		errno = e;
		if (e == ENOENT)
			return not_found(path);
		if (e == ELOOP)
			return not_regular(path, "a symbolic link, not an object");
		return io_fail("open", path);
	}
	if (fstat(fd, st) < 0) {
		int rc = io_fail("stat", path);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return not_regular(path,
		                   "not a regular file (a FIFO, socket, device or directory)");
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	*fd_out = fd;
	return 0;
}

static int p_get(struct stor *s, const char *key, stor_sink_fn sink, void *arg)
{
	struct posix *p = (struct posix *)s;
	char *path = join(p, key);
	int fd = -1;
	struct stat st;
	int rc = open_object(p, key, path, &fd, &st);
	if (rc < 0) {
		pw_free(path);
		return rc;
	}
	uint8_t *b = pw_malloc(READ_BLOCK);
	for (;;) {
		ssize_t r = pw_read_some(fd, b, READ_BLOCK, path);
		if (r <= 0) {
			rc = (int)r;
			break;
		}
		if ((rc = sink(arg, b, (size_t)r)) < 0)
			break;
	}
	pw_free(b);
	close(fd);
	pw_free(path);
	return rc;
}

static int p_stat(struct stor *s, const char *key, struct stor_info *info)
{
	struct posix *p = (struct posix *)s;
	char *path = join(p, key);
	const char *leaf;
	struct stat st;
	int rc = 0;
	int dfd = open_parent(p, key, false, &leaf);
	if (dfd < 0) {
		rc = parent_fail(path, true);
	} else if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = errno == ENOENT ? not_found(path) : io_fail("stat", path);
	} else if (S_ISLNK(st.st_mode)) {
		rc = not_regular(path, "a symbolic link, not an object");
	} else if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? not_found(path)
		                         : not_regular(path, "not a regular file (a FIFO, socket, "
		                                             "device or directory)");
	} else {
		info->key = key;
		info->size = (uint64_t)st.st_size;
		info->mtime = st.st_mtime;
	}
	if (dfd >= 0)
		close(dfd);
	pw_free(path);
	return rc;
}

struct entry {
	char *key;
	uint64_t size;
	time_t mtime;
	char *tmpname;     /* temporary files only */
	const char *stray; /* a symlink or a special file: listed as a stray, never read */
};

struct walk {
	struct entry *e;
	size_t n, cap;
	const char *prefix;
	bool temps; /* collect temporary files instead of objects */
	int depth;
};

static void add_entry(struct walk *w, struct entry e)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->e = pw_realloc(w->e, w->cap * sizeof *w->e);
	}
	w->e[w->n++] = e;
}

/* List the directory open at dfd (taken over and closed), dir its path for messages, rel
 * its key. Subdirectories are opened from their parent with O_NOFOLLOW. */
static int walk_dir(int dfd, const char *dir, const char *rel, struct walk *w)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int rc = io_fail("list", dir);
		close(dfd);
		return rc;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		bool is_tmp = strncmp(de->d_name, TMP_MARK, strlen(TMP_MARK)) == 0;
		if (de->d_name[0] == '.' && !(w->temps && is_tmp)) /* ".", "..", hidden files */
			continue;
		size_t n1 = strlen(dir) + strlen(de->d_name) + 2;
		size_t n2 = strlen(rel) + strlen(de->d_name) + 2;
		char *full = pw_malloc(n1), *key = pw_malloc(n2);
		snprintf(full, n1, "%s/%s", dir, de->d_name);
		snprintf(key, n2, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		struct stat st;
		/* only descend where the prefix can still match */
		size_t kl = strlen(key), pl = strlen(w->prefix);
		bool could = strncmp(key, w->prefix, kl < pl ? kl : pl) == 0;
		if (could && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode) && w->depth < 64) {
				int sub = openat(dirfd(d), de->d_name,
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0) {
					w->depth++;
					rc = walk_dir(sub, full, key, w);
					w->depth--;
				} else if (errno != ENOENT) {
					rc = io_fail("list", full);
				}
			} else if (S_ISREG(st.st_mode) && w->temps && is_tmp) {
				/* ".pgward-tmp-NAME.PID.RAND" stands for the object rel/NAME */
				const char *name = de->d_name + strlen(TMP_MARK);
				const char *dot = strrchr(name, '.');
				const char *dot2 = NULL;
				for (const char *q = name; dot && q < dot; q++)
					if (*q == '.')
						dot2 = q;
				size_t nl = dot2 ? (size_t)(dot2 - name) : strlen(name);
				size_t n3 = strlen(rel) + nl + 2;
				char *okey = pw_malloc(n3);
				snprintf(okey, n3, "%s%s%.*s", rel, *rel ? "/" : "", (int)nl, name);
				if (strncmp(okey, w->prefix, pl) == 0)
					add_entry(w, (struct entry){okey, (uint64_t)st.st_size,
					                            st.st_mtime,
					                            pw_strdup(de->d_name), NULL});
				else
					pw_free(okey);
			} else if (!w->temps && !is_tmp && kl >= pl) {
				const char *stray =
				    S_ISREG(st.st_mode)   ? NULL
				    : S_ISLNK(st.st_mode) ? "a symbolic link"
				    : S_ISDIR(st.st_mode)
				        ? "a directory nested too deep"
				        : "not a regular file (a FIFO, socket or device)";
				add_entry(w,
				          (struct entry){
				              key, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0,
				              st.st_mtime, NULL, stray});
				key = NULL;
			}
		}
		pw_free(full);
		pw_free(key);
	}
	closedir(d);
	return rc;
}

static int walk_root(const struct posix *p, struct walk *w)
{
	int dfd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : io_fail("list", p->root);
	return walk_dir(dfd, p->root, "", w);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static int p_list(struct stor *s, const char *prefix,
                  int (*fn)(void *arg, const struct stor_info *info), void *arg)
{
	struct posix *p = (struct posix *)s;
	struct walk w = {.prefix = prefix};
	int rc = walk_root(p, &w);
	if (rc == 0 && w.n) /* qsort(NULL, 0) is undefined */
		qsort(w.e, w.n, sizeof *w.e, cmp_entry);
	for (size_t i = 0; i < w.n; i++) {
		if (rc == 0) {
			struct stor_info info = {.key = w.e[i].key,
			                         .size = w.e[i].size,
			                         .mtime = w.e[i].mtime,
			                         .stray = w.e[i].stray};
			rc = fn(arg, &info);
		}
		pw_free(w.e[i].key);
	}
	pw_free(w.e);
	return rc;
}

static int p_list_uploads(struct stor *s, const char *prefix,
                          int (*fn)(void *arg, const struct stor_upload *u), void *arg)
{
	struct posix *p = (struct posix *)s;
	struct walk w = {.prefix = prefix, .temps = true};
	int rc = walk_root(p, &w);
	if (rc == 0 && w.n) /* qsort(NULL, 0) is undefined */
		qsort(w.e, w.n, sizeof *w.e, cmp_entry);
	for (size_t i = 0; i < w.n; i++) {
		if (rc == 0) {
			struct stor_upload u = {w.e[i].key, w.e[i].tmpname, w.e[i].mtime};
			rc = fn(arg, &u);
		}
		pw_free(w.e[i].key);
		pw_free(w.e[i].tmpname);
	}
	pw_free(w.e);
	return rc;
}

static int p_abort_upload(struct stor *s, const char *key, const char *id)
{
	struct posix *p = (struct posix *)s;
	if (strncmp(id, TMP_MARK, strlen(TMP_MARK)) != 0 || strchr(id, '/')) {
		pw_error(PW_E_USAGE, "\"%s\" is not a pgward temporary file", id);
		return pw_error_hint("Use an id printed by \"pgward repo uploads\".");
	}
	char *path = join(p, key);
	char *slash = strrchr(path, '/');
	size_t n = strlen(path) + strlen(id) + 2;
	char *tmp = pw_malloc(n);
	snprintf(tmp, n, "%.*s/%s", (int)(slash - path), path, id);
	int rc = 0;
	const char *leaf;
	int dfd = open_parent(p, key, false, &leaf);
	if (dfd < 0)
		rc = parent_fail(tmp, true);
	else if (unlinkat(dfd, id, 0) < 0)
		rc = errno == ENOENT ? not_found(tmp) : io_fail("remove", tmp);
	if (dfd >= 0)
		close(dfd);
	pw_free(tmp);
	pw_free(path);
	return rc;
}

static int p_remove(struct stor *s, const char *key, struct stor_remove_result *r)
{
	struct posix *p = (struct posix *)s;
	char *path = join(p, key);
	int rc = 0;
	const char *leaf;
	int dfd = open_parent(p, key, false, &leaf);
	if (dfd < 0) {
		rc = parent_fail(path, true);
	} else if (unlinkat(dfd, leaf, 0) < 0) {
		rc = errno == ENOENT ? not_found(path) : io_fail("remove", path);
	} else {
		r->removed = true;
		fsync(dfd);
		/* remove directories left empty, up to the root (each reached without a symlink) */
		char *k = pw_strdup(key);
		for (char *slash; (slash = strrchr(k, '/')) != NULL;) {
			*slash = 0;
			int pfd = open_parent(p, k, false, &leaf);
			if (pfd < 0)
				break;
			int r2 = unlinkat(pfd, leaf, AT_REMOVEDIR);
			close(pfd);
			if (r2 < 0)
				break;
		}
		pw_free(k);
	}
	if (dfd >= 0)
		close(dfd);
	pw_free(path);
	return rc;
}

static void p_free(struct stor *s)
{
	struct posix *p = (struct posix *)s;
	pw_free(p->root);
	pw_free(p);
}

static const struct stor_ops posix_ops = {"posix",  p_write_open,   p_get,          p_stat, p_list,
                                          p_remove, p_list_uploads, p_abort_upload, p_free};

int stor_posix_open(const char *root, bool create, bool must_exist, struct stor **out)
{
	struct stat st;
	if (must_exist && !create && stat(root, &st) < 0 && errno == ENOENT) {
		pw_error(PW_E_NOTFOUND, "repository \"%s\" does not exist", root);
		return pw_error_hint("Check --repo (or repo in the configuration): only a backup, "
		                     "wal-stream or wal-push creates a repository.");
	}
	if (stat(root, &st) == 0 && !S_ISDIR(st.st_mode)) {
		pw_error(PW_E_STORAGE, "repository \"%s\" is not a directory", root);
		return pw_error_hint("Give the path of a directory (it is created if missing).");
	}
	char *r = pw_strdup(root);
	size_t n = strlen(r);
	while (n > 1 && r[n - 1] == '/')
		r[--n] = 0;
	if (create && stat(r, &st) < 0) {
		/* create the root (and its parents) with mode 0700 */
		size_t m = n + 2;
		char *tmp = pw_malloc(m);
		snprintf(tmp, m, "%s/", r);
		int e = mkdirs(tmp, 0);
		pw_free(tmp);
		if (e < 0) {
			int rc = io_fail("create repository directory", r);
			pw_free(r);
			return rc;
		}
	}
	struct posix *p = pw_calloc(1, sizeof *p);
	p->base.ops = &posix_ops;
	p->base.features = STOR_F_ATOMIC_WRITE | STOR_F_NO_OVERWRITE | STOR_F_ATOMIC_RENAME;
	snprintf(p->base.desc, sizeof p->base.desc, "local directory %s", r);
	p->root = r;
	*out = &p->base;
	return 0;
}
