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
	char *path;
	char *tmp;
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
		pw_error(PW_E_STORAGE, "could not %s \"%s\": %s", what, path, strerror(e));
		return pw_error_hint(
		    "Check that the user pgward runs as may write the repository.");
	}
	return pw_error(PW_E_STORAGE, "could not %s \"%s\": %s", what, path, strerror(e));
}

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

static void fsync_dir_of(const char *path)
{
	char *d = pw_strdup(path);
	char *slash = strrchr(d, '/');
	if (slash)
		*slash = 0;
	int fd = open(slash ? d : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	pw_free(d);
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
		if (rename(x->tmp, x->path) < 0)
			return io_fail("rename into", x->path);
	} else {
		if (link(x->tmp, x->path) < 0) {
			if (errno == EEXIST) {
				pw_error(PW_E_EXISTS, "object \"%s\" already exists", x->path);
				return pw_error_hint(
				    "The repository is append-only: objects are never "
				    "replaced.");
			}
			return io_fail("create", x->path);
		}
		unlink(x->tmp);
	}
	x->linked = true;
	fsync_dir_of(x->path);
	return 0;
}

static void pw_wfree(struct stor_writer *w)
{
	struct posix_writer *x = (struct posix_writer *)w;
	if (x->fd >= 0)
		close(x->fd);
	if (!x->linked)
		unlink(x->tmp);
	pw_free(x->path);
	pw_free(x->tmp);
	pw_free(x);
}

static const struct stor_writer_ops writer_ops = {pw_write, pw_commit, pw_wfree};

static int p_write_open(struct stor *s, const char *key, const struct stor_write_opts *o,
                        struct stor_writer **out)
{
	struct posix *p = (struct posix *)s;
	char *path = join(p, key);
	if (mkdirs(path, strlen(p->root)) < 0) {
		int rc = io_fail("create directories for", path);
		pw_free(path);
		return rc;
	}
	if (!o->overwrite && access(path, F_OK) == 0) {
		pw_error(PW_E_EXISTS, "object \"%s\" already exists", path);
		pw_free(path);
		return pw_error_hint("The repository is append-only: objects are never replaced.");
	}
	char *slash = strrchr(path, '/');
	size_t n = strlen(path) + 64;
	char *tmp = pw_malloc(n);
	uint32_t rnd = 0;
	pw_random(&rnd, sizeof rnd);
	snprintf(tmp, n, "%.*s/" TMP_MARK "%s.%ld.%08x", (int)(slash - path), path, slash + 1,
	         (long)getpid(), rnd);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = io_fail("create", tmp);
		pw_free(tmp);
		pw_free(path);
		return rc;
	}
	struct posix_writer *w = pw_calloc(1, sizeof *w);
	w->base.ops = &writer_ops;
	w->p = p;
	w->path = path;
	w->tmp = tmp;
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

static int p_get(struct stor *s, const char *key, stor_sink_fn sink, void *arg)
{
	struct posix *p = (struct posix *)s;
	char *path = join(p, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0) {
		rc = errno == ENOENT ? not_found(path) : io_fail("open", path);
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
	struct stat st;
	int rc = 0;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		rc = errno == ENOENT || !S_ISREG(st.st_mode) ? not_found(path)
		                                             : io_fail("stat", path);
	else {
		info->key = key;
		info->size = (uint64_t)st.st_size;
		info->mtime = st.st_mtime;
	}
	pw_free(path);
	return rc;
}

struct entry {
	char *key;
	uint64_t size;
	time_t mtime;
	char *tmpname; /* temporary files only */
};

struct walk {
	struct entry *e;
	size_t n, cap;
	const char *prefix;
	bool temps; /* collect temporary files instead of objects */
};

static int walk_dir(const char *dir, const char *rel, struct walk *w)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return io_fail("list", dir);
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
		if (could && lstat(full, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				rc = walk_dir(full, key, w);
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
				if (strncmp(okey, w->prefix, pl) == 0) {
					if (w->n == w->cap) {
						w->cap = w->cap ? w->cap * 2 : 64;
						w->e = pw_realloc(w->e, w->cap * sizeof *w->e);
					}
					w->e[w->n++] =
					    (struct entry){okey, (uint64_t)st.st_size, st.st_mtime,
					                   pw_strdup(de->d_name)};
				} else {
					pw_free(okey);
				}
			} else if (S_ISREG(st.st_mode) && !w->temps && !is_tmp && kl >= pl) {
				if (w->n == w->cap) {
					w->cap = w->cap ? w->cap * 2 : 64;
					w->e = pw_realloc(w->e, w->cap * sizeof *w->e);
				}
				w->e[w->n++] =
				    (struct entry){key, (uint64_t)st.st_size, st.st_mtime, NULL};
				key = NULL;
			}
		}
		pw_free(full);
		pw_free(key);
	}
	closedir(d);
	return rc;
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
	int rc = walk_dir(p->root, "", &w);
	if (rc == 0 && w.n) /* qsort(NULL, 0) is undefined */
		qsort(w.e, w.n, sizeof *w.e, cmp_entry);
	for (size_t i = 0; i < w.n; i++) {
		if (rc == 0) {
			struct stor_info info = {
			    .key = w.e[i].key, .size = w.e[i].size, .mtime = w.e[i].mtime};
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
	int rc = walk_dir(p->root, "", &w);
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
	if (unlink(tmp) < 0)
		rc = errno == ENOENT ? not_found(tmp) : io_fail("remove", tmp);
	pw_free(tmp);
	pw_free(path);
	return rc;
}

static int p_remove(struct stor *s, const char *key, struct stor_remove_result *r)
{
	struct posix *p = (struct posix *)s;
	char *path = join(p, key);
	int rc = 0;
	if (unlink(path) < 0) {
		rc = errno == ENOENT ? not_found(path) : io_fail("remove", path);
	} else {
		r->removed = true;
		fsync_dir_of(path);
		/* remove directories left empty, up to the root */
		for (char *slash;
		     (slash = strrchr(path, '/')) && (size_t)(slash - path) > strlen(p->root);) {
			*slash = 0;
			if (rmdir(path) < 0)
				break;
		}
	}
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

int stor_posix_open(const char *root, struct stor **out)
{
	struct stat st;
	if (stat(root, &st) == 0 && !S_ISDIR(st.st_mode)) {
		pw_error(PW_E_STORAGE, "repository \"%s\" is not a directory", root);
		return pw_error_hint("Give the path of a directory (it is created if missing).");
	}
	char *r = pw_strdup(root);
	size_t n = strlen(r);
	while (n > 1 && r[n - 1] == '/')
		r[--n] = 0;
	if (stat(r, &st) < 0) {
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
