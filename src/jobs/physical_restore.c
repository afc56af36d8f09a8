/* physical_restore.c - a physical base backup into an empty directory (physical.h). */
#include "jobs/physical.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "filter/tar.h"
#include "jobs/restore.h"
#include "pg/child.h"
#include "repo/catalog.h"

#define ARCHIVES_MAX (MANIFEST_OBJECTS_MAX)

static const char *shown(const char *s, char *buf, size_t n)
{
	return pw_str_printable(buf, n, s);
}

/* Before anything is written: path is absent, or an empty directory of ours (not a link). */
static int check_target(const char *path, bool *exists)
{
	char b[600];
	struct stat st;
	*exists = false;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		pw_error(PW_E_IO, "cannot examine \"%s\": %s", shown(path, b, sizeof b),
		         pw_strerror(errno));
		return pw_error_hint(
		    "Give a directory pgward can create or an empty one of its own.");
	}
	*exists = true;
	if (S_ISLNK(st.st_mode)) {
		pw_error(PW_E_INSECURE, "\"%s\" is a symbolic link", shown(path, b, sizeof b));
		return pw_error_hint("Give the real directory; a restore never follows a link.");
	}
	if (!S_ISDIR(st.st_mode)) {
		pw_error(PW_E_EXISTS, "\"%s\" exists and is not a directory",
		         shown(path, b, sizeof b));
		return pw_error_hint("Give an empty or new directory.");
	}
	if (st.st_uid != geteuid()) {
		pw_error(PW_E_INSECURE, "\"%s\" belongs to another user", shown(path, b, sizeof b));
		return pw_error_hint("Give an empty directory of the user running pgward, or a new "
		                     "one.");
	}
	DIR *d = opendir(path);
	if (!d) {
		pw_error(PW_E_IO, "cannot read \"%s\": %s", shown(path, b, sizeof b),
		         pw_strerror(errno));
		return pw_error_hint("Give an empty or new directory.");
	}
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (!empty) {
		pw_error(PW_E_EXISTS, "\"%s\" is not empty", shown(path, b, sizeof b));
		return pw_error_hint("Give an empty or new directory; a restore never writes over "
		                     "files.");
	}
	return 0;
}

static int open_target(const char *path, bool exists, int *fd)
{
	char b[600];
	if (!exists && mkdir(path, 0700) < 0) {
		pw_error(PW_E_IO, "cannot create \"%s\": %s", shown(path, b, sizeof b),
		         pw_strerror(errno));
		return pw_error_hint("Check that its parent directory exists and is writable.");
	}
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (*fd < 0 || fstat(*fd, &st) < 0 || st.st_uid != geteuid()) {
		pw_error(PW_E_INSECURE, "\"%s\" changed while the restore began",
		         shown(path, b, sizeof b));
		return pw_error_hint("Give a directory no one else can change.");
	}
	if (fchmod(*fd, 0700) < 0) {
		pw_error(PW_E_IO, "cannot set the mode of \"%s\": %s", shown(path, b, sizeof b),
		         pw_strerror(errno));
		return pw_error_hint("PostgreSQL needs its data directory 0700.");
	}
	return 0;
}

/* ---- extraction below one directory ---- */

struct extract {
	const struct physical_restore_opts *o;
	int root;
	bool base; /* base.tar: pg_tblspc/<oid> links to the mapped directories */
	int fd;
	int parent;
	struct physical_restore_result *res;
};

static int x_refuse(const char *name, const char *why)
{
	char b[300];
	pw_error(PW_E_ARCHIVE, "refused base backup archive: %s (\"%s\")", why,
	         shown(name, b, sizeof b));
	return pw_error_hint("The archive is not one PostgreSQL writes; nothing outside the target "
	                     "directory was written. Do not use this backup.");
}

static int x_io(const char *name, const char *what)
{
	char b[300];
	pw_error(PW_E_IO, "cannot %s \"%s\": %s", what, shown(name, b, sizeof b),
	         pw_strerror(errno));
	return pw_error_hint("Check the target directory's free space and permissions.");
}

/* The directory holding name's last component, created (0700) as needed, never through a
 * link: *last points into name. The caller closes *pfd when it is not x->root. */
static int walk(struct extract *x, const char *name, int *pfd, const char **last)
{
	char comp[TAR_NAME_MAX];
	int cur = x->root;
	const char *p = name;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		size_t n = (size_t)(slash - p);
		memcpy(comp, p, n);
		comp[n] = 0;
		if (mkdirat(cur, comp, 0700) < 0 && errno != EEXIST) {
			if (cur != x->root)
				close(cur);
			return x_io(name, "create a directory for");
		}
		int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cur != x->root)
			close(cur);
		if (next < 0)
			return errno == ELOOP || errno == ENOTDIR
			           ? x_refuse(name, "a path through a link or a file")
			           : x_io(name, "open the directory of");
		cur = next;
		p = slash + 1;
	}
	*pfd = cur;
	*last = p;
	return 0;
}

static const struct phys_ts_map *map_of(const struct physical_restore_opts *o, uint32_t oid)
{
	for (size_t i = 0; i < o->nmap; i++)
		if (o->map[i].oid == oid)
			return &o->map[i];
	return NULL;
}

/* "pg_tblspc/<oid>" -> oid, else 0 */
static uint32_t tblspc_link(const char *name)
{
	const char *pre = "pg_tblspc/";
	if (strncmp(name, pre, strlen(pre)) != 0)
		return 0;
	uint64_t v;
	if (pw_parse_u64(name + strlen(pre), &v) < 0 || v == 0 || v > UINT32_MAX) {
		pw_error_clear();
		return 0;
	}
	return (uint32_t)v;
}

static int x_begin(void *arg, const struct tar_entry *e)
{
	struct extract *x = arg;
	int pfd = -1;
	const char *last = NULL;
	int rc = walk(x, e->name, &pfd, &last);
	if (rc < 0)
		return rc;
	if (e->type == TAR_DIR) {
		if (mkdirat(pfd, last, 0700) < 0) {
			struct stat st;
			if (errno != EEXIST || fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				rc = errno == EEXIST
				         ? x_refuse(e->name, "a directory over another entry")
				         : x_io(e->name, "create directory");
		}
	} else if (e->type == TAR_FILE) {
		x->fd =
		    openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (x->fd < 0)
			rc = errno == EEXIST ? x_refuse(e->name, "an entry that appears twice")
			                     : x_io(e->name, "create");
		else
			x->res->files++;
	} else {
		uint32_t oid = x->base ? tblspc_link(e->name) : 0;
		const struct phys_ts_map *m = oid ? map_of(x->o, oid) : NULL;
		if (!oid)
			rc = x_refuse(e->name, "a symbolic link (only pg_tblspc/<oid> may be one)");
		else if (!m) {
			pw_error(PW_E_USAGE,
			         "the backup has tablespace %" PRIu32 " and no mapping for it",
			         oid);
			rc = pw_error_hint(
			    "Add --tablespace-map %" PRIu32 "=DIR (an empty directory).", oid);
		} else if (symlinkat(m->dir, pfd, last) < 0) {
			rc = x_io(e->name, "create the tablespace link");
		}
	}
	if (pfd != x->root)
		close(pfd);
	return rc;
}

static int x_data(void *arg, const uint8_t *p, size_t n)
{
	struct extract *x = arg;
	x->res->bytes += n;
	return pw_write_all(x->fd, p, n, "a restored file");
}

static int x_end(void *arg, const struct tar_entry *e)
{
	struct extract *x = arg;
	if (e->type == TAR_FILE && x->fd >= 0) {
		int rc = close(x->fd);
		x->fd = -1;
		if (rc < 0)
			return x_io(e->name, "write");
	}
	return 0;
}

static const struct tar_ops x_ops = {x_begin, x_data, x_end};

/* "<oid>.tar.zst.age" -> oid; base.tar -> 0; anything else -> -1 (not an archive) */
static int64_t archive_oid(const char *name)
{
	if (strcmp(name, PHYS_BASE_OBJECT) == 0)
		return 0;
	const char *suf = ".tar.zst.age";
	size_t n = strlen(name), sl = strlen(suf);
	if (n <= sl || n - sl > 10 || strcmp(name + n - sl, suf) != 0)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n - sl; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	return v && v <= UINT32_MAX ? (int64_t)v : -1;
}

struct spool {
	const struct manifest_object *obj;
	int64_t oid;
	int fd;
};

static int fetch(const struct physical_restore_opts *o, const struct manifest_object *mo, int *fd)
{
	char key[512];
	int rc = repo_key(key, sizeof key, o->stanza, o->id, mo->name);
	struct restore_opts ro = {.repo = o->repo,
	                          .key = key,
	                          .ids = o->ids,
	                          .nids = o->nids,
	                          .temp_dir = o->temp_dir,
	                          .expect_sha256 = mo->sha256,
	                          .expect_size = mo->size,
	                          .object_size = mo->size,
	                          .progress = o->progress,
	                          .progress_arg = o->progress_arg};
	if (rc == 0)
		rc = restore_fetch_verified(&ro, key, fd);
	return rc;
}

static int pump(const struct physical_restore_opts *o, const struct manifest_object *mo, int fd,
                struct flt *sink)
{
	char key[512];
	int rc = repo_key(key, sizeof key, o->stanza, o->id, mo->name);
	struct restore_opts ro = {.repo = o->repo,
	                          .key = key,
	                          .ids = o->ids,
	                          .nids = o->nids,
	                          .object_size = mo->size,
	                          .progress = o->progress,
	                          .progress_arg = o->progress_arg};
	struct flt *chain =
	    flt_age_decrypt(o->ids, o->nids, AGE_ARMOR_NO, flt_zstd_decompress(sink));
	if (rc < 0) {
		flt_chain_free(chain);
		return rc;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		flt_chain_free(chain);
		return pw_error(PW_E_IO, "cannot rewind the spool file");
	}
	return restore_pump_verified(&ro, fd, "extracting", chain);
}

/* PostgreSQL's manifest is written under this name, and takes its own name only once the
 * directory is on disk and pg_verifybackup passed it: a directory with a backup_manifest is
 * a complete, durable restore (a failed or interrupted one has none). */
#define MANIFEST_PENDING "backup_manifest.pgward-pending"

/* pg_verifybackup starts (it reads what is in the page cache) while the written files go to
 * disk: syncfs of each target directory's filesystem, then the tool's verdict */
static int verifybackup(const struct physical_restore_opts *o, const int *sync_fds, size_t nsync)
{
	uint64_t major = 0;
	const char *v = o->manifest->server_version;
	while (*v >= '0' && *v <= '9' && major < 1000)
		major = major * 10 + (uint64_t)(*v++ - '0');
	char tool[512];
	int rc = pg_tool_path("pg_verifybackup", (int)major, tool, sizeof tool);
	if (rc < 0)
		return rc;
	struct pw_buf mpath = PW_BUF_INIT(8192);
	if ((rc = pw_buf_printf(&mpath, "%s/" MANIFEST_PENDING, o->target_dir)) < 0) {
		pw_buf_free(&mpath, 0);
		return rc;
	}
	const char *argv[] = {tool,       "--quiet",        "--manifest-path", pw_buf_str(&mpath),
	                      "--ignore", MANIFEST_PENDING, o->target_dir,     NULL};
	struct child c;
	rc = child_start(&c, argv, NULL, false, false);
	pw_buf_free(&mpath, 0);
	if (rc < 0)
		return rc;
	int serr = 0;
	for (size_t i = 0; i < nsync && !serr; i++)
		if (syncfs(sync_fds[i]) < 0)
			serr = errno;
	rc = child_finish(&c, "pg_verifybackup");
	child_free(&c);
	if (serr) { /* not durable: that is the error, whatever the tool said */
		if (rc < 0)
			pw_error_clear();
		errno = serr;
		return x_io(o->target_dir, "sync");
	}
	if (rc == -PW_E_INTERRUPTED)
		return rc; /* stopped, not refused */
	if (rc < 0) {
		pw_error_context("pg_verifybackup refused the restored directory");
		return -PW_E_VERIFY;
	}
	return 0;
}

int physical_restore_run(const struct physical_restore_opts *o, struct physical_restore_result *res)
{
	memset(res, 0, sizeof *res);
	const struct manifest *m = o->manifest;
	if (m->kind != MANIFEST_PHYSICAL) {
		pw_error(PW_E_USAGE, "backup %s is a logical backup", o->id);
		return pw_error_hint("Restore it without --type=physical (into a database).");
	}
	/* 1. what to extract, and every tablespace mapped */
	struct spool sp[ARCHIVES_MAX];
	size_t nsp = 0;
	const struct manifest_object *bm = manifest_object(m, PHYS_MANIFEST_OBJECT);
	for (size_t i = 0; i < m->nobjects && nsp < ARCHIVES_MAX; i++) {
		int64_t oid = archive_oid(m->objects[i].name);
		if (oid < 0)
			continue;
		bool listed = false;
		for (size_t k = 0; k < m->physical.ntablespaces; k++)
			listed = listed || m->physical.tablespaces[k] == (uint32_t)oid;
		if (oid > 0 && !listed) {
			pw_error(PW_E_VERIFY,
			         "backup %s has object %s for a tablespace its manifest "
			         "does not list",
			         o->id, m->objects[i].name);
			return pw_error_hint(
			    "The manifest is not one pgward writes; do not use this "
			    "backup.");
		}
		if (oid > 0 && !map_of(o, (uint32_t)oid)) {
			pw_error(PW_E_USAGE,
			         "backup %s has tablespace %" PRId64 " and no mapping for it",
			         o->id, oid);
			return pw_error_hint("Add --tablespace-map %" PRId64
			                     "=DIR (an empty directory "
			                     "of yours, or a new one).",
			                     oid);
		}
		sp[nsp++] = (struct spool){&m->objects[i], oid, -1};
	}
	if (nsp != m->physical.ntablespaces + 1 && bm && manifest_object(m, PHYS_BASE_OBJECT)) {
		pw_error(PW_E_VERIFY,
		         "backup %s lists %zu tablespace%s and has %zu archive%s besides "
		         "base.tar",
		         o->id, m->physical.ntablespaces, m->physical.ntablespaces == 1 ? "" : "s",
		         nsp ? nsp - 1 : 0, nsp == 2 ? "" : "s");
		return pw_error_hint("Its manifest names no such object; restore another backup.");
	}
	if (!bm || !manifest_object(m, PHYS_BASE_OBJECT)) {
		pw_error(PW_E_VERIFY, "backup %s lacks %s", o->id,
		         bm ? "base.tar" : "backup_manifest");
		return pw_error_hint("Its manifest names no such object; restore another backup.");
	}
	/* 2. the target and the tablespace directories: refused before anything is written */
	bool exists = false, mexists[ARCHIVES_MAX] = {false};
	int rc = check_target(o->target_dir, &exists);
	for (size_t i = 0; i < o->nmap && i < ARCHIVES_MAX && rc == 0; i++) {
		if (o->map[i].dir[0] != '/') {
			pw_error(PW_E_USAGE,
			         "--tablespace-map %" PRIu32 "=%s: not an absolute path",
			         o->map[i].oid, o->map[i].dir);
			rc = pw_error_hint("Tablespace directories are absolute paths.");
		} else {
			rc = check_target(o->map[i].dir, &mexists[i]);
		}
	}
	if (rc < 0)
		return rc;
	/* 3. every object fetched and checked (size, SHA-256) before a byte is extracted */
	int bmfd = -1;
	for (size_t i = 0; i < nsp && rc == 0; i++)
		rc = fetch(o, sp[i].obj, &sp[i].fd);
	if (rc == 0)
		rc = fetch(o, bm, &bmfd);
	/* 4. extract (each directory kept open: synced in 5.) */
	int root = -1, sync_fds[ARCHIVES_MAX];
	size_t nsync = 0;
	if (rc == 0)
		rc = open_target(o->target_dir, exists, &root);
	for (size_t i = 0; i < nsp && rc == 0; i++) {
		int dfd = root;
		const struct phys_ts_map *mp = NULL;
		if (sp[i].oid > 0) {
			mp = map_of(o, (uint32_t)sp[i].oid);
			size_t k = (size_t)(mp - o->map);
			if ((rc = open_target(mp->dir, k < ARCHIVES_MAX && mexists[k], &dfd)) < 0)
				break;
		}
		struct extract x = {
		    .o = o, .root = dfd, .base = sp[i].oid == 0, .fd = -1, .res = res};
		struct tar_reader *tr = tar_reader_new(&x_ops, &x);
		/* the files are written on a thread of their own, beside the decryption and
		 * decompression */
		rc = pump(o, sp[i].obj, sp[i].fd, flt_thread(flt_tar_sink(tr)));
		if (x.fd >= 0)
			close(x.fd);
		tar_reader_free(tr);
		if (rc < 0)
			pw_error_context("extracting %s", sp[i].obj->name);
		if (dfd != root)
			sync_fds[nsync++] = dfd;
	}
	bool pending = false;
	if (rc == 0) {
		struct stat st;
		bool named = fstatat(root, "backup_manifest", &st, AT_SYMLINK_NOFOLLOW) == 0;
		int fd = named ? -1
		               : openat(root, MANIFEST_PENDING,
		                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (named || errno == EEXIST))
			rc = x_refuse(named ? "backup_manifest" : MANIFEST_PENDING,
			              "a file of pgward's manifest's name in the archive");
		else if (fd < 0)
			rc = x_io("backup_manifest", "create");
		else {
			pending = true;
			rc = pump(o, bm, bmfd, flt_fd_sink(fd, "backup_manifest"));
			if (close(fd) < 0 && rc == 0)
				rc = x_io("backup_manifest", "write");
		}
	}
	for (size_t i = 0; i < nsp; i++)
		if (sp[i].fd >= 0)
			close(sp[i].fd);
	if (bmfd >= 0)
		close(bmfd);
	/* 5. on disk, and the stock check of what was written against PostgreSQL's own
	 * manifest; then the manifest takes its name (and that is on disk too) */
	if (rc == 0) {
		sync_fds[nsync++] = root;
		rc = verifybackup(o, sync_fds, nsync);
		nsync--;
	}
	if (rc == 0 &&
	    renameat2(root, MANIFEST_PENDING, root, "backup_manifest", RENAME_NOREPLACE) < 0)
		rc = errno == EEXIST ? x_refuse("backup_manifest",
		                                "a file named backup_manifest in the archive")
		                     : x_io("backup_manifest", "rename");
	if (rc == 0) {
		pending = false;
		if (fsync(root) < 0)
			rc = x_io(o->target_dir, "sync");
	}
	res->verified = rc == 0;
	if (pending && unlinkat(root, MANIFEST_PENDING, 0) < 0 && errno != ENOENT)
		pw_warn("cannot remove \"%s/" MANIFEST_PENDING "\": %s", o->target_dir,
		        pw_strerror(errno));
	if (rc < 0 && root >= 0) {
		char b[600];
		pw_error_hint(
		    "\"%s\" holds a partial restore: remove it (and any mapped tablespace "
		    "directory) before trying again, and never start a server on it.",
		    shown(o->target_dir, b, sizeof b));
	}
	for (size_t i = 0; i < nsync; i++)
		close(sync_fds[i]);
	if (root >= 0)
		close(root);
	return rc;
}
