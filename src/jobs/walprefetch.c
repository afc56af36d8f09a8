/* walprefetch.c - wal-fetch's prefetch spool (walprefetch.h). */
#include "jobs/walprefetch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/prim.h"
#include "jobs/walstream.h"
#include "repo/wal.h"
#include "repo/walrepo.h"

#define LOCK_NAME "lock"
#define STOP_NAME "stop"
#define TMP_SUFFIX ".tmp"
#define HINT_NAME "asked" /* the newest segment served while a prefetcher ran */

/* ---- pure ---- */

int walspool_next(const char *fname, uint32_t segsize, unsigned k, char out[25])
{
	uint32_t tli;
	uint64_t segno;
	out[0] = 0;
	if (!wal_segsize_valid(segsize) || wal_seg_parse(fname, segsize, &tli, &segno) < 0) {
		pw_error_clear();
		return -PW_E_USAGE;
	}
	/* the last segment name is FFFFFFFF/(segments per log - 1) */
	uint64_t last = 0xFFFFFFFFULL * (0x100000000ULL / segsize) + (0x100000000ULL / segsize - 1);
	if (k == 0 || segno > last || last - segno < k)
		return -PW_E_USAGE;
	wal_seg_name(tli, segno + k, segsize, out);
	return 0;
}

bool walspool_wanted(const char *entry, const char *fname, uint32_t segsize, unsigned n)
{
	uint32_t t1, t2;
	uint64_t s1, s2;
	if (!wal_segsize_valid(segsize) || wal_seg_parse(fname, segsize, &t1, &s1) < 0 ||
	    wal_seg_parse(entry, segsize, &t2, &s2) < 0) {
		pw_error_clear();
		return false;
	}
	return t1 == t2 && s2 > s1 && s2 - s1 <= n;
}

/* ---- the directory ---- */

static int insecure(const char *path, const char *why)
{
	char b[600];
	pw_error(PW_E_INSECURE, "the prefetch spool \"%s\" %s", pw_str_printable(b, sizeof b, path),
	         why);
	return pw_error_hint("It must be a directory of the user that runs the server, mode 0700, "
	                     "that pgward made: remove it (wal-fetch makes it again), and find "
	                     "out who changed it.");
}

int walspool_open(const char *path, bool create, int *dfd)
{
	*dfd = -1;
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
		char b[600];
		return pw_error(errno == ENOENT ? PW_E_NOTFOUND : PW_E_IO,
		                "cannot create the prefetch spool \"%s\": %s",
		                pw_str_printable(b, sizeof b, path), pw_strerror(errno));
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return pw_error(PW_E_NOTFOUND, "no prefetch spool");
	if (fd < 0)
		return insecure(path, errno == ELOOP || errno == ENOTDIR
		                          ? "is not a directory (a symbolic link?)"
		                          : "cannot be opened");
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return insecure(path, "is not a directory");
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return insecure(path, "belongs to another user");
	}
	if (st.st_mode & 077) {
		close(fd);
		return insecure(path, "is open to other users (its mode is not 0700)");
	}
	*dfd = fd;
	return 0;
}

/* ---- serving ---- */

/* a spooled copy that must not be served: removed, and said (PostgreSQL's log) */
static int reject(int dfd, const char *fname, const char *why)
{
	unlinkat(dfd, fname, 0);
	pw_warn("the prefetched copy of %s was not used (%s): fetching it from the repository",
	        fname, why);
	return 1;
}

/* fd's content: exactly n bytes whose SHA-256 is want */
static bool same_content(int fd, uint64_t n, const uint8_t want[32])
{
	struct pw_sha256_ctx *h = pw_sha256_new();
	uint8_t *b = pw_malloc(1u << 20), got[32];
	uint64_t total = 0;
	ssize_t r;
	while ((r = pw_read_some(fd, b, 1u << 20, "the prefetched copy")) > 0) {
		total += (uint64_t)r;
		if (total > n)
			break;
		pw_sha256_update(h, b, (size_t)r);
	}
	pw_sha256_final(h, got);
	pw_sha256_free(h);
	pw_free(b);
	if (r < 0)
		pw_error_clear();
	return r == 0 && total == n && memcmp(got, want, 32) == 0;
}

static bool prefetcher_running(int dfd)
{
	/* O_NONBLOCK: a FIFO planted as the lock must not hang wal-fetch (nor anywhere
	 * below: each name in the spool is opened without waiting for another end) */
	int fd = openat(dfd, LOCK_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd); /* (releases it when it was free) */
	return held;
}

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* fname is being written by the running prefetcher (its temporary file exists): wait for
 * it (at most 30 s, while the prefetcher lives) rather than fetch it a second time, which
 * on a busy machine takes the CPU the prefetcher needs. The file opened, or -1 (errno
 * ENOENT) when it did not come. */
static int in_flight(int dfd, const char *fname)
{
	char tmp[40];
	struct stat st;
	snprintf(tmp, sizeof tmp, "%s" TMP_SUFFIX, fname);
	for (int i = 0; i < 1500; i++) {
		int fd = openat(dfd, fname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		if (fstatat(dfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !prefetcher_running(dfd) ||
		    pw_interrupted())
			break;
		nap_ms(20);
	}
	errno = ENOENT;
	return -1;
}

int walspool_take(int dfd, struct stor *repo, const char *stanza, const char *fname,
                  const char *key, uint32_t tli, const struct repo_signers *signers,
                  const char *path, uint32_t *segsize)
{
	int fd = openat(dfd, fname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fd = in_flight(dfd, fname);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return reject(dfd, fname, "not a plain file");
	struct stat st, at;
	struct wal_sig_info si;
	int served = 1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1 || (st.st_mode & 077)) {
		served = reject(dfd, fname, "not a private file of ours with one link");
		goto out;
	}
	/* what the signer vouched for: read now, never from the spool */
	if (walrepo_signed_info(repo, stanza, key, tli, signers, &si) < 0) {
		pw_error_clear(); /* the synchronous path reads it again and says why */
		unlinkat(dfd, fname, 0);
		goto out;
	}
	if (!wal_segsize_valid(si.segsize) || si.length != si.segsize ||
	    (uint64_t)st.st_size != si.length || !same_content(fd, si.length, si.sha256)) {
		served = reject(dfd, fname, "it differs from the signed length and SHA-256");
		goto out;
	}
	/* the name checked is the file hashed: nothing replaced it in between (only this
	 * user writes here, but say so rather than assume it) */
	if (renameat(dfd, fname, AT_FDCWD, path) < 0) {
		unlinkat(dfd, fname, 0);
		goto out;
	}
	if (lstat(path, &at) < 0 || at.st_dev != st.st_dev || at.st_ino != st.st_ino) {
		unlink(path);
		served = reject(dfd, fname, "it was replaced while it was checked");
		goto out;
	}
	*segsize = si.segsize;
	served = 0;
out:
	close(fd);
	return served;
}

/* ---- the prefetcher ---- */

int walspool_lock(int dfd, int *lockfd)
{
	*lockfd = -1;
	int fd =
	    openat(dfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	struct stat st;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 0;
	}
	*lockfd = fd;
	return 1;
}

void walspool_hint(int dfd, const char *fname)
{
	int fd = openat(dfd, HINT_NAME,
	                O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (pw_write_all(fd, fname, strlen(fname), HINT_NAME) < 0)
		pw_error_clear();
	close(fd);
}

/* name was already asked for (the hint names it or a later segment of its timeline) */
static bool behind(int dfd, const char *name, uint32_t segsize)
{
	char h[25] = "";
	int fd = openat(dfd, HINT_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, h, 24);
	close(fd);
	uint32_t t1, t2;
	uint64_t s1, s2;
	if (n != 24 || wal_seg_parse(h, segsize, &t1, &s1) < 0 ||
	    wal_seg_parse(name, segsize, &t2, &s2) < 0) {
		pw_error_clear();
		return false;
	}
	return t1 == t2 && s1 >= s2;
}

static bool stop_requested(int dfd)
{
	struct stat st;
	return pw_interrupted() || fstatat(dfd, STOP_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* everything but the lock and the window goes; false when a stop is requested */
static bool tidy(const struct walprefetch_opts *o)
{
	int fd = dup(o->dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool go = true;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, LOCK_NAME) == 0 ||
		    strcmp(n, HINT_NAME) == 0)
			continue;
		if (strcmp(n, STOP_NAME) == 0) {
			go = false;
			continue;
		}
		if (!walspool_wanted(n, o->after, o->segsize, o->n))
			unlinkat(o->dfd, n,
			         0); /* a directory planted here fails, and stays unserved */
	}
	closedir(d);
	return go;
}

/* plain into the spool as name: a temporary name (O_EXCL), then renamed to name unless
 * it exists */
static bool spool_write(int dfd, const char *name, const struct pw_buf *plain)
{
	char tmp[40];
	snprintf(tmp, sizeof tmp, "%s" TMP_SUFFIX, name);
	unlinkat(dfd, tmp, 0);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = pw_write_all(fd, plain->data, plain->len, name) == 0;
	if (close(fd) < 0)
		ok = false;
	if (ok && stop_requested(dfd))
		ok = false;
	/* a rename that never replaces: the name appears with one link (wal-fetch refuses a
	 * file with two, which link-then-unlink would show for a moment) */
	if (ok && renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) < 0)
		ok = false;
	unlinkat(dfd, tmp, 0);
	pw_error_clear();
	return ok;
}

unsigned walprefetch_run(const struct walprefetch_opts *o)
{
	unsigned stored = 0;
	if (!tidy(o))
		return 0;
	struct pw_buf plain = PW_BUF_INIT(o->segsize);
	for (unsigned k = 1; k <= o->n && !stop_requested(o->dfd); k++) {
		char name[25], key[WAL_KEY_MAX];
		uint32_t tli, segsize = 0;
		uint64_t segno;
		struct stat st;
		if (walspool_next(o->after, o->segsize, k, name) < 0)
			break;
		if (fstatat(o->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue; /* spooled by an earlier prefetcher (checked when served) */
		if (behind(o->dfd, name, o->segsize))
			continue; /* PostgreSQL already had it (fetched while this one lagged) */
		if (wal_seg_parse(name, o->segsize, &tli, &segno) < 0 ||
		    wal_key_segment(o->stanza, tli, segno, o->segsize, key) < 0)
			break;
		pw_buf_reset(&plain);
		/* the full segment object only: a partial, an unsigned or a damaged object, or a
		 * gap stops here, and wal-fetch says why when PostgreSQL asks for it */
		int rc = walobj_get(o->repo, o->stanza, key, tli, o->signers, o->ids, o->nids,
		                    &plain, &segsize, NULL);
		if (rc < 0 || segsize != o->segsize || plain.len != o->segsize)
			break;
		if (!spool_write(o->dfd, name, &plain))
			break;
		stored++;
	}
	pw_buf_free(&plain, 1);
	pw_error_clear();
	return stored;
}

int walspool_remove(const char *path, int timeout)
{
	int dfd;
	int rc = walspool_open(path, false, &dfd);
	if (rc == -PW_E_NOTFOUND) {
		pw_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	int sfd =
	    openat(dfd, STOP_NAME, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (sfd >= 0)
		close(sfd);
	/* the prefetcher sees the stop request between two segments: wait for its lock */
	int lk = -1;
	for (int i = 0; i < timeout * 20 && !walspool_lock(dfd, &lk); i++) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dfd, e->d_name, 0);
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	if (lk >= 0)
		close(lk);
	close(dfd);
	if (rmdir(path) < 0 && errno != ENOENT) {
		char b[600];
		pw_error(PW_E_IO, "cannot remove the prefetch spool \"%s\": %s",
		         pw_str_printable(b, sizeof b, path), pw_strerror(errno));
		return pw_error_hint("Remove it by hand once the server stopped.");
	}
	return 0;
}
