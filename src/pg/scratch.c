/* scratch.c - a throwaway PostgreSQL cluster on a private unix socket, removed afterwards. */
#include "pg/scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "pg/child.h"

#define PG_ROOT "/usr/lib/postgresql"
#define PORT "5432" /* any number: the socket lives in our own directory, there is no TCP */
#define MAX_GROUPS 64

struct scratch {
	char dir[128]; /* short: checked against the socket address length */
	char datadir[160];
	char bindir[128];
	char user[64];
	int major;
	struct child_as as;
	gid_t groups[MAX_GROUPS];
	bool start_tried, ready;
	double start_seconds;
};

static double now_s(void)
{
	return pw_monotonic();
}

static void nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* a + b into out (truncated; the directory is short, checked in make_dir) */
static void path_join(char *out, size_t size, const char *a, const char *b)
{
	size_t n = pw_strlcpy(out, a, size);
	if (n < size)
		pw_strlcpy(out + n, b, size - n);
}

/* ---- finding the server programs ---- */

static bool has_server(int v, char *dir, size_t size)
{
	static const char *const progs[] = {"initdb", "pg_ctl", "postgres"};
	snprintf(dir, size, PG_ROOT "/%d/bin", v);
	for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/%s", dir, progs[i]);
		if (access(p, X_OK) != 0)
			return false;
	}
	return true;
}

int scratch_find_bindir(int min_major, char *out, size_t size, int *major)
{
	int exact = 0, newest = 0;
	DIR *d = opendir(PG_ROOT);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		uint64_t v;
		char dir[128];
		if (pw_parse_u64(e->d_name, &v) < 0 || v > 99 || (int)v < min_major ||
		    !has_server((int)v, dir, sizeof dir))
			continue;
		if ((int)v == min_major)
			exact = (int)v;
		else if ((int)v > newest)
			newest =
			    (int)v; /* pg_restore of a custom archive works into newer servers */
	}
	if (d)
		closedir(d);
	int best = exact ? exact : newest;
	if (!best) {
		if (min_major > 0) {
			pw_error(
			    PW_E_CONFIG,
			    "no PostgreSQL server programs (initdb, pg_ctl, postgres) of version "
			    "%d or newer are installed in " PG_ROOT,
			    min_major);
			return pw_error_hint("Install postgresql-%d or use --scratch-url.",
			                     min_major);
		}
		pw_error(PW_E_CONFIG,
		         "no PostgreSQL server programs (initdb, pg_ctl, postgres) are "
		         "installed in " PG_ROOT);
		return pw_error_hint(
		    "Install a postgresql-NN server package or use --scratch-url.");
	}
	*major = best;
	has_server(best, out, size);
	return 0;
}

/* ---- running the server programs ---- */

/* A scratch cluster's directory "pgward-scratch-XXXXXX" or its data directory below it
 * (initdb's bootstrap postgres runs in the former, the server in the latter). */
static bool is_scratch_dir(const char *p, size_t len)
{
	const char *name = p + len;
	while (name > p && name[-1] != '/')
		name--;
	return (size_t)(p + len - name) == strlen("pgward-scratch-XXXXXX") &&
	       strncmp(name, "pgward-scratch-", strlen("pgward-scratch-")) == 0;
}

static bool is_scratch_datadir(const char *path)
{
	const char *end = strrchr(path, '/');
	if (end && strcmp(end, "/data") == 0)
		return is_scratch_dir(path, (size_t)(end - path));
	return is_scratch_dir(path, strlen(path));
}

/* A running PostgreSQL server (a process named postgres; its working directory is its
 * data directory) whose data directory belongs to uid and is not a scratch cluster's.
 * Its data directory into out. */
static bool runs_real_cluster(uid_t uid, char *out, size_t size)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;
	while (!found && d && (e = readdir(d))) {
		uint64_t pid;
		if (pw_parse_u64(e->d_name, &pid) < 0)
			continue;
		char path[64], comm[32] = "", cwd[PATH_MAX];
		snprintf(path, sizeof path, "/proc/%llu/comm", (unsigned long long)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, comm, sizeof comm - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = 0;
		comm[strcspn(comm, "\n")] = 0;
		if (strcmp(comm, "postgres") != 0 && strcmp(comm, "postmaster") != 0)
			continue;
		snprintf(path, sizeof path, "/proc/%llu/cwd", (unsigned long long)pid);
		ssize_t l = readlink(path, cwd, sizeof cwd - 1);
		struct stat st;
		if (l <= 0)
			continue;
		cwd[l] = 0;
		if (stat(cwd, &st) == 0 && st.st_uid == uid && !is_scratch_datadir(cwd)) {
			pw_strlcpy(out, cwd, size);
			found = true;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static int refuse_user(const char *name, const char *why)
{
	pw_error(PW_E_INSECURE, "the scratch cluster cannot run as user \"%s\": %s", name, why);
	return pw_error_hint(
	    "The drill runs code from the backup: give it a user of its own "
	    "(useradd --system --no-create-home --shell /usr/sbin/nologin " SCRATCH_OS_USER
	    ") and leave scratch-user unset.");
}

static int resolve_user(struct scratch *s, const char *want)
{
	if (geteuid() != 0) {
		struct passwd *me = getpwuid(geteuid());
		if (me)
			pw_strlcpy(s->user, me->pw_name, sizeof s->user);
		else
			snprintf(s->user, sizeof s->user, "uid %u", (unsigned)geteuid());
		if (want && *want && (!me || strcmp(want, me->pw_name) != 0)) {
			pw_error(PW_E_CONFIG,
			         "scratch-user \"%s\" needs root; pgward runs as \"%s\"", want,
			         s->user);
			return pw_error_hint(
			    "Remove scratch-user: without root the scratch cluster "
			    "runs as the current user.");
		}
		return 0;
	}
	/* as root: a dedicated unprivileged user, never the one that owns real clusters (the
	 * backup's code would run with access to them) */
	const char *name = want && *want ? want : SCRATCH_OS_USER;
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		pw_error(PW_E_CONFIG, "the scratch user \"%s\" does not exist", name);
		return pw_error_hint("Create it: useradd --system --no-create-home --shell "
		                     "/usr/sbin/nologin " SCRATCH_OS_USER
		                     " (tools/deps.sh does), or name another "
		                     "unprivileged user of its own with --scratch-user.");
	}
	if (pw->pw_uid == 0)
		return refuse_user(name, "it is root");
	if (strcmp(name, "postgres") == 0)
		return refuse_user(name, "it is the account of the real PostgreSQL clusters");
	struct stat st;
	if (stat("/var/lib/postgresql", &st) == 0 && st.st_uid == pw->pw_uid)
		return refuse_user(name, "it owns /var/lib/postgresql");
	char datadir[PATH_MAX];
	if (runs_real_cluster(pw->pw_uid, datadir, sizeof datadir)) {
		char why[PATH_MAX + 64];
		snprintf(why, sizeof why, "it owns the running cluster in \"%s\"", datadir);
		return refuse_user(name, why);
	}
	pw_strlcpy(s->user, name, sizeof s->user);
	s->as.switch_user = true;
	s->as.uid = pw->pw_uid;
	s->as.gid = pw->pw_gid;
	int n = MAX_GROUPS;
	if (getgrouplist(name, pw->pw_gid, s->groups, &n) < 0 || n < 1) {
		s->groups[0] = pw->pw_gid; /* more groups than we keep: the primary one only */
		n = 1;
	}
	s->as.groups = s->groups;
	s->as.ngroups = (size_t)n;
	return 0;
}

/* Run a server program as the cluster's user; on failure the error names step. */
static int run(struct scratch *s, const char *const *argv, const char *step)
{
	static const char *const env[] = {"LC_ALL=C", NULL};
	struct child c;
	int rc = child_start_as(&c, argv, env, false, false, &s->as);
	if (rc == 0)
		rc = child_finish(&c, step);
	child_free(&c);
	return rc;
}

/* The first line of the server log that says why it stopped, into out. */
static void server_log_reason(const struct scratch *s, char *out, size_t size)
{
	char path[256];
	path_join(path, sizeof path, s->dir, "/server.log");
	struct pw_buf b = PW_BUF_INIT(1 << 20);
	out[0] = 0;
	if (pw_read_file(path, &b) == 0) {
		const char *t = pw_buf_str(&b);
		const char *p = strstr(t, "FATAL:");
		if (!p)
			p = strstr(t, "ERROR:");
		if (p) {
			size_t n = strcspn(p, "\n");
			if (n >= size)
				n = size - 1;
			memcpy(out, p, n);
			out[n] = 0;
		}
	}
	pw_best_effort("reading the scratch server's log \"%s\"", path);
	pw_buf_free(&b, 0);
}

static int write_conf(struct scratch *s, long max_locks)
{
	char path[256];
	path_join(path, sizeof path, s->datadir, "/postgresql.conf");
	/* the directory belongs to the cluster's user: no symlink, and the file initdb made */
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	uid_t owner = s->as.switch_user ? s->as.uid : geteuid();
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != owner) {
		if (fd >= 0)
			close(fd);
		pw_error(PW_E_INSECURE, "\"%s\" is not the file initdb wrote", path);
		return pw_error_hint("Something changed the scratch cluster's directory while "
		                     "pgward set it up; run the drill again.");
	}
	struct pw_buf b = PW_BUF_INIT(8192);
	pw_buf_printf(&b,
	              "\n# pgward verify --scratch-local: a private throwaway cluster\n"
	              "listen_addresses = ''\n"
	              "port = " PORT "\n"
	              "unix_socket_directories = '%s'\n"
	              "unix_socket_permissions = 0700\n"
	              "ssl = off\n"
	              "fsync = off\n"
	              "synchronous_commit = off\n"
	              "full_page_writes = off\n"
	              "wal_level = minimal\n"
	              "max_wal_senders = 0\n"
	              "autovacuum = off\n"
	              "max_parallel_workers_per_gather = 0\n"
	              "max_parallel_maintenance_workers = 0\n"
	              "logging_collector = off\n"
	              "max_connections = %d\n"
	              "max_prepared_transactions = 0\n",
	              s->dir, SCRATCH_MAX_CONNECTIONS);
	/* sized for the backup's table of contents (restore_locks_per_transaction) */
	if (max_locks > 64)
		pw_buf_printf(&b, "max_locks_per_transaction = %ld\n",
		              max_locks < SCRATCH_MAX_LOCKS ? max_locks : SCRATCH_MAX_LOCKS);
	int rc = pw_write_all(fd, b.data, b.len, path);
	if (close(fd) < 0 && rc == 0)
		rc = pw_error(PW_E_IO, "could not write \"%s\": %s", path, pw_strerror(errno));
	pw_buf_free(&b, 0);
	return rc;
}

static int interrupted_error(void)
{
	pw_error(PW_E_INTERRUPTED, "interrupted by signal %d", pw_interrupted());
	return pw_error_hint("The scratch cluster was stopped and removed; run the drill again.");
}

/* Characters that would need quoting in postgresql.conf or in the shell command pg_ctl
 * builds for the postmaster: refused rather than quoted. */
static bool plain_path(const char *p)
{
	return p[0] == '/' && !strpbrk(p, "\"'\\$`\n\r");
}

int scratch_mkdir(const char *temp_dir, char *out, size_t size)
{
	out[0] = 0;
	const char *parent = temp_dir && *temp_dir ? temp_dir : getenv("TMPDIR");
	if (!parent || !*parent)
		parent = "/tmp";
	char real[PATH_MAX];
	if (!realpath(parent, real)) {
		pw_error(PW_E_IO, "temporary directory \"%s\": %s", parent, pw_strerror(errno));
		return pw_error_hint("Give an existing directory with --temp-dir or TMPDIR.");
	}
	/* <dir>/.s.PGSQL.<port> must fit a unix socket address (any port) */
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1 -
	             strlen("/pgward-scratch-XXXXXX/.s.PGSQL.65535");
	if (strlen(real) > max) {
		pw_error(PW_E_CONFIG,
		         "temporary directory \"%s\" is too long for the scratch cluster's socket "
		         "(at most %zu characters)",
		         real, max);
		return pw_error_hint("Use a shorter --temp-dir, such as /tmp.");
	}
	if (!plain_path(real)) {
		pw_error(PW_E_CONFIG, "temporary directory \"%s\" contains a quote, backslash or $",
		         real);
		return pw_error_hint("Use another --temp-dir, such as /tmp.");
	}
	path_join(out, size, real, "/pgward-scratch-XXXXXX");
	if (!mkdtemp(out)) { /* mode 0700 */
		pw_error(PW_E_IO, "could not create a directory in \"%s\": %s", real,
		         pw_strerror(errno));
		out[0] = 0;
		return pw_error_hint("Give a writable directory with --temp-dir or TMPDIR.");
	}
	return 0;
}

static int make_dir(struct scratch *s, const char *temp_dir)
{
	int rc = scratch_mkdir(temp_dir, s->dir, sizeof s->dir);
	if (rc < 0)
		return rc;
	if (s->as.switch_user && chown(s->dir, s->as.uid, s->as.gid) < 0) {
		pw_error(PW_E_IO, "could not give \"%s\" to user \"%s\": %s", s->dir, s->user,
		         pw_strerror(errno));
		return pw_error_hint("Use a --temp-dir on a file system that allows chown.");
	}
	path_join(s->datadir, sizeof s->datadir, s->dir, "/data");
	s->as.cwd = s->dir;
	s->as.stdout_to_err = true;
	s->as.clean_env = true; /* nothing of ours: the server runs code from the backup */
	return 0;
}

int scratch_start(const struct scratch_opts *o, struct scratch **out)
{
	struct scratch *s = pw_calloc(1, sizeof *s);
	*out = NULL;
	double t0 = now_s();
	int rc = scratch_find_bindir(o->min_major, s->bindir, sizeof s->bindir, &s->major);
	if (rc == 0)
		rc = resolve_user(s, o->user);
	if (rc == 0)
		rc = make_dir(s, o->temp_dir);
	if (rc == 0) {
		char prog[256];
		snprintf(prog, sizeof prog, "%s/initdb", s->bindir);
		const char *argv[] = {prog,
		                      "-D",
		                      s->datadir,
		                      "-U",
		                      SCRATCH_SUPERUSER,
		                      "--auth-local=trust",
		                      "--auth-host=reject",
		                      "-E",
		                      "UTF8",
		                      "--locale=C",
		                      "--no-sync",
		                      NULL};
		rc = run(s, argv, "initdb (scratch cluster)");
		if (rc < 0 && s->as.switch_user && strstr(pw_error_message(), "ermission denied"))
			pw_error_hint(
			    "The cluster runs as user \"%s\": it needs to reach %s (every "
			    "directory above it searchable), or give another --temp-dir "
			    "or --scratch-user.",
			    s->user, s->dir);
		else if (rc < 0)
			pw_error_hint("See the message from initdb; the scratch directory was "
			              "removed.");
	}
	if (rc == 0)
		rc = write_conf(s, o->max_locks_per_transaction);
	if (rc == 0 && pw_interrupted())
		rc = interrupted_error();
	if (rc == 0) {
		char prog[256], log[256], timeout[16];
		snprintf(prog, sizeof prog, "%s/pg_ctl", s->bindir);
		path_join(log, sizeof log, s->dir, "/server.log");
		snprintf(timeout, sizeof timeout, "%d",
		         o->start_timeout > 0 ? o->start_timeout : 60);
		const char *argv[] = {prog, "-D",    s->datadir, "-l",    log, "-w",
		                      "-t", timeout, "-s",       "start", NULL};
		s->start_tried = true;
		rc = run(s, argv, "pg_ctl start (scratch cluster)");
		if (rc < 0) {
			char why[512];
			server_log_reason(s, why, sizeof why);
			if (*why) {
				pw_error(PW_E_DB, "the scratch cluster did not start: %s", why);
			}
			pw_error_hint(
			    "See the server's message; the scratch directory was removed.");
		}
	}
	if (rc == 0 && pw_interrupted())
		rc = interrupted_error();
	if (rc < 0) {
		scratch_free(s);
		return rc;
	}
	s->ready = true;
	s->start_seconds = now_s() - t0;
	*out = s;
	return 0;
}

/* ---- stopping and removing ---- */

static pid_t postmaster_pid(const struct scratch *s)
{
	char path[256], line[32] = "";
	path_join(path, sizeof path, s->datadir, "/postmaster.pid");
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return 0;
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	uint64_t v;
	if (pw_parse_u64(line, &v) < 0 || v < 2 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		rmdir(path);
	else
		unlink(path);
	return 0; /* go on: remove as much as possible */
}

static void stop_server(struct scratch *s)
{
	pid_t pid = postmaster_pid(s);
	/* an interrupted or timed-out start: the postmaster may not have written its pid yet */
	for (int i = 0; !pid && !s->ready && i < 20; i++) {
		nap_ms(100);
		pid = postmaster_pid(s);
	}
	if (!pid)
		return;
	char prog[256];
	snprintf(prog, sizeof prog, "%s/pg_ctl", s->bindir);
	const char *argv[] = {prog, "-D", s->datadir, "-m",   "immediate", "-w",
	                      "-t", "30", "-s",       "stop", NULL};
	if (run(s, argv, "pg_ctl stop (scratch cluster)") < 0)
		pw_debug("%s", pw_error_message());
	/* the postmaster removes its pid file when it exits; still there: it did not */
	if (postmaster_pid(s) == pid && kill(pid, 0) == 0) {
		pw_warn("the scratch cluster's server (pid %d) did not stop; killing it", (int)pid);
		kill(pid, SIGKILL);
		for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
			nap_ms(100);
	}
}

void scratch_rmdir(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (access(dir, F_OK) == 0 || errno != ENOENT)
		pw_warn(
		    "could not remove the scratch cluster's directory \"%s\"; remove it by hand",
		    dir);
}

void scratch_free(struct scratch *s)
{
	if (!s)
		return;
	struct pw_error_saved e;
	pw_error_save(&e);
	if (s->start_tried)
		stop_server(s);
	if (s->dir[0])
		scratch_rmdir(s->dir);
	pw_error_restore(&e);
	pw_free(s);
}

char *scratch_conninfo(const struct scratch *s, const char *dbname)
{
	return scratch_conninfo_as(s, dbname, SCRATCH_SUPERUSER);
}

char *scratch_conninfo_as(const struct scratch *s, const char *dbname, const char *user)
{
	struct pw_buf b = PW_BUF_INIT(PATH_MAX + 512);
	/* no TLS on a unix socket in our own 0700 directory (pg_connect's private_socket) */
	pw_buf_printf(&b,
	              "host='%s' port='" PORT "' user='%s' dbname='%s' "
	              "sslmode='disable'",
	              s->dir, user, dbname);
	pw_buf_str(&b);
	return (char *)b.data;
}

const char *scratch_dir(const struct scratch *s)
{
	return s->dir;
}

const char *scratch_bindir(const struct scratch *s)
{
	return s->bindir;
}

const char *scratch_user(const struct scratch *s)
{
	return s->user;
}

int scratch_major(const struct scratch *s)
{
	return s->major;
}

double scratch_start_seconds(const struct scratch *s)
{
	return s->start_seconds;
}

/* ---- an existing data directory ---- */

static int datadir_prepare(struct scratch *s, int min_major, const char *datadir)
{
	memset(s, 0, sizeof *s);
	if (geteuid() == 0) {
		pw_error(PW_E_INSECURE, "pgward does not start a server as root");
		return pw_error_hint("Run pgward as the user that owns the data directory.");
	}
	int rc = scratch_find_bindir(min_major, s->bindir, sizeof s->bindir, &s->major);
	s->as.cwd = datadir;
	s->as.stdout_to_err = true;
	s->as.clean_env = true; /* nothing of ours: the server runs restore_command */
	return rc;
}

int scratch_datadir_start(int min_major, const char *datadir, const char *log)
{
	struct scratch s;
	int rc = datadir_prepare(&s, min_major, datadir);
	if (rc < 0)
		return rc;
	char prog[256];
	snprintf(prog, sizeof prog, "%s/pg_ctl", s.bindir);
	const char *argv[] = {prog, "-D", datadir, "-l", log, "-W", "-s", "start", NULL};
	return run(&s, argv, "pg_ctl start");
}

void scratch_datadir_stop(int min_major, const char *datadir)
{
	struct pw_error_saved e;
	pw_error_save(&e);
	struct scratch s;
	if (datadir_prepare(&s, min_major, datadir) == 0) {
		char prog[256];
		snprintf(prog, sizeof prog, "%s/pg_ctl", s.bindir);
		const char *argv[] = {prog, "-D", datadir, "-m",   "immediate", "-w",
		                      "-t", "30", "-s",    "stop", NULL};
		if (run(&s, argv, "pg_ctl stop") < 0)
			pw_debug("%s", pw_error_message());
	}
	pw_error_restore(&e);
}

int scratch_datadir_amcheck(int min_major, const char *datadir, int port)
{
	struct scratch s;
	int rc = datadir_prepare(&s, min_major, datadir);
	if (rc < 0)
		return rc;
	char prog[256], p[16];
	snprintf(prog, sizeof prog, "%s/pg_amcheck", s.bindir);
	snprintf(p, sizeof p, "%d", port);
	/* --all: every database that allows connections; --install-missing: amcheck into
	 * each (a throwaway cluster, promoted) */
	const char *argv[] = {
	    prog, "--all", "--install-missing", "--no-password", "-h", datadir, "-p", p, NULL};
	return run(&s, argv, "pg_amcheck");
}
