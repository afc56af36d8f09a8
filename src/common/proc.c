/* proc.c - starting, containing and stopping child processes (see proc.h). */
#include "common/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"

extern char **environ;

/* ---- the environment ---- */

static bool name_is(const char *kv, const char *name)
{
	size_t n = strlen(name);
	return strncmp(kv, name, n) == 0 && kv[n] == '=';
}

static bool allowed(const char *kv, bool keep_home)
{
	return name_is(kv, "PATH") || name_is(kv, "LANG") || name_is(kv, "TZ") ||
	       (keep_home && name_is(kv, "HOME")) ||
	       (strncmp(kv, "LC_", 3) == 0 && kv[3] != '=' && strchr(kv, '='));
}

static bool well_formed(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq && eq != kv;
}

static bool same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");
	return strncmp(a, b, n) == 0 && b[n] == '=';
}

char **pw_proc_env_build(const char *const *parent, const char *const *extra, bool keep_home,
                         bool switch_user)
{
	size_t np = 0, ne = 0;
	while (parent && parent[np])
		np++;
	while (extra && extra[ne])
		ne++;
	char **env = pw_calloc(np + ne + 2, sizeof *env);
	size_t k = 0;
	bool have_path = false;
	for (size_t i = 0; !switch_user && i < np; i++) {
		if (!well_formed(parent[i]) || !allowed(parent[i], keep_home))
			continue;
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = same_name(env[j], parent[i]);
		for (size_t j = 0; j < ne && !dup; j++)
			dup = extra[j] && well_formed(extra[j]) && same_name(extra[j], parent[i]);
		if (dup)
			continue;
		if (name_is(parent[i], "PATH"))
			have_path = true;
		env[k++] = pw_strdup(parent[i]);
	}
	for (size_t j = 0; j < ne; j++) {
		if (!well_formed(extra[j]))
			continue;
		bool dup = false;
		for (size_t i = 0; i < k && !dup; i++)
			dup = same_name(env[i], extra[j]);
		if (dup) /* the first of two strings with one name wins */
			continue;
		if (name_is(extra[j], "PATH"))
			have_path = true;
		env[k++] = pw_strdup(extra[j]);
	}
	if (!have_path)
		env[k++] = pw_strdup("PATH=" PW_PROC_PATH);
	env[k] = NULL;
	return env;
}

void pw_proc_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++) {
		explicit_bzero(env[i], strlen(env[i])); /* may hold a password */
		pw_free(env[i]);
	}
	pw_free(env);
}

/* ---- in the forked processes: system calls only (we may have threads) ---- */

static void close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	struct rlimit rl;
	int max =
	    getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	for (int fd = lowfd; fd < max; fd++)
		close(fd);
}

static void say(const char *a, const char *b)
{
	/* no stdio after fork: one write of "a b\n" (truncated) to the child's stderr */
	char line[512];
	size_t n = 0;
	for (const char *p = a; p && *p && n < sizeof line - 1; p++)
		line[n++] = *p;
	for (const char *p = b; p && *p && n < sizeof line - 1; p++)
		line[n++] = *p;
	line[n++] = '\n';
	ssize_t r = write(2, line, n);
	(void)r;
}

static void nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

static long now_ms(void)
{
	return (long)(pw_monotonic() * 1000);
}

/* The program: descriptors, credentials, exec. Never returns. */
static void run_program(const struct pw_proc_opts *o, char **envp, pid_t keeper, int in, int out,
                        int err)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != keeper)
		_exit(127);
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0)
		_exit(127);
	int fd0 = in >= 0 ? in : nul;
	int fd1 = o->out == PW_PROC_OUT_PIPE      ? out
	          : o->out == PW_PROC_OUT_NULL    ? nul
	          : o->out == PW_PROC_OUT_INHERIT ? 1
	                                          : -1; /* TO_ERR: after fd 2 */
	int fd2 = o->err == PW_PROC_OUT_PIPE ? err : o->err == PW_PROC_OUT_NULL ? nul : 2;
	/* onto 0/1/2 in an order that cannot clobber a source: the sources are >= 3 (pipes made
	 * while 0/1/2 were open, /dev/null opened now) or the descriptor itself (INHERIT) */
	if (dup2(fd0, 0) < 0 || (fd1 >= 0 && fd1 != 1 && dup2(fd1, 1) < 0) ||
	    (fd2 != 2 && dup2(fd2, 2) < 0) || (fd1 < 0 && dup2(2, 1) < 0))
		_exit(127);
	close_from(3);
	if (o->switch_user) {
		if (setgroups(o->ngroups, o->groups) < 0 || setgid(o->gid) < 0 ||
		    setuid(o->uid) < 0) {
			say("error: cannot switch to the child's user: ", pw_strerror(errno));
			_exit(126);
		}
		if (o->uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
			say("error: could regain root after switching user", NULL);
			_exit(126);
		}
		/* a change of credentials clears the death signal: set it again */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != keeper)
			_exit(127);
	}
	if (o->cwd && chdir(o->cwd) < 0) {
		say("error: cannot enter the child's directory: ", pw_strerror(errno));
		_exit(126);
	}
	execve(o->argv[0], (char *const *)o->argv, envp);
	say("error: cannot run ", o->argv[0]);
	_exit(127);
}

static volatile sig_atomic_t keeper_stop;

static void keeper_on_signal(int signo)
{
	(void)signo;
	keeper_stop = 1;
}

static bool parse_pid(const char *s, pid_t *out)
{
	long v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000000L)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = (pid_t)v;
	return v > 0;
}

/* The parent pid from /proc/PID/stat ("pid (comm) state ppid ..."; comm may hold ')'). */
static pid_t ppid_of(pid_t pid)
{
	char path[64] = "/proc/", digits[16], buf[512];
	size_t nd = 0, at = strlen(path);
	for (unsigned long v = (unsigned long)pid; nd == 0 || v; v /= 10)
		digits[nd++] = (char)('0' + v % 10); /* no stdio after fork */
	while (nd)
		path[at++] = digits[--nd];
	memcpy(path + at, "/stat", 6);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -1;
	p += 4;
	long v = 0;
	while (*p >= '0' && *p <= '9' && v < 1000000000L)
		v = v * 10 + (*p++ - '0');
	return (pid_t)v;
}

/* Signal every process whose parent is us (descendants re-parented to this subreaper). */
static void signal_children(int sig)
{
	pid_t self = getpid();
	int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	char buf[8192];
	for (;;) {
		ssize_t n = getdents64(dfd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
			off += d->d_reclen;
			pid_t pid;
			if (parse_pid(d->d_name, &pid) && pid != self && ppid_of(pid) == self)
				kill(pid, sig);
		}
	}
	close(dfd);
}

/* Reap what has exited; *status of the program when it is among them. false: no child left. */
static bool reap_some(pid_t prog, bool *prog_done, int *status)
{
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, WNOHANG);
		if (w == prog) {
			*prog_done = true;
			*status = st;
			continue;
		}
		if (w > 0)
			continue;
		if (w < 0 && errno == EINTR)
			continue;
		return !(w < 0 && errno == ECHILD);
	}
}

/* Exit as the program did. */
static void keeper_exit(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		kill(getpid(), sig);
		_exit(128 + sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

/* The keeper: a subreaper that runs the program and, when told to stop, takes down the
 * program's whole tree. Never returns. */
static void run_keeper(const struct pw_proc_opts *o, char **envp, pid_t parent, int in, int out,
                       int err, const sigset_t *oldmask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = keeper_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* pgward gone: stop the tree */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (getppid() != parent)
		_exit(127);
	pid_t self = getpid();
	pid_t prog = fork();
	if (prog < 0) {
		say("error: fork failed: ", pw_strerror(errno));
		_exit(127);
	}
	if (prog == 0) {
		/* default dispositions and mask for the program */
		sa.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		run_program(o, envp, self, in, out, err);
	}
	(void)oldmask;
	setpgid(prog, prog);
	/* hold nothing of the program's: our pipe copies would keep its reader or writer
	 * alive after it exited */
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	close_from(3);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	bool done = false;
	int status = 0;
	long term_at = 0;
	for (;;) {
		bool any = reap_some(prog, &done, &status);
		if (done && !keeper_stop)
			keeper_exit(status); /* a normal end: what it left running is left alone */
		if (keeper_stop && !term_at) {
			term_at = now_ms();
			kill(-prog, SIGTERM);
			signal_children(SIGTERM);
			continue;
		}
		if (keeper_stop && !any)
			keeper_exit(done ? status : (SIGKILL & 0x7f));
		if (term_at && now_ms() - term_at > PW_PROC_GRACE_MS) {
			kill(-prog, SIGKILL);
			signal_children(SIGKILL);
			if (now_ms() - term_at > PW_PROC_GRACE_MS + 10000)
				keeper_exit(done ? status : (SIGKILL & 0x7f)); /* give up */
		}
		nap_ms(term_at ? 5 : 10);
	}
}

/* ---- in pgward ---- */

static void proc_init(struct pw_proc *p)
{
	memset(p, 0, sizeof *p);
	p->pid = -1;
	p->in_fd = p->out_fd = p->err_fd = -1;
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

int pw_proc_start(const struct pw_proc_opts *o, struct pw_proc *p)
{
	proc_init(p);
	const char *base = strrchr(o->argv[0], '/');
	pw_strlcpy(p->name, base ? base + 1 : o->argv[0], sizeof p->name);
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	if ((o->stdin_pipe && pipe2(pin, O_CLOEXEC) < 0) ||
	    (o->out == PW_PROC_OUT_PIPE && pipe2(pout, O_CLOEXEC) < 0) ||
	    (o->err == PW_PROC_OUT_PIPE && pipe2(perr, O_CLOEXEC) < 0)) {
		int e = errno;
		close_pair(pin), close_pair(pout), close_pair(perr);
		return pw_error(PW_E_IO, "pipe failed: %s", pw_strerror(e));
	}
	char **envp =
	    pw_proc_env_build((const char *const *)environ, o->env, o->keep_home, o->switch_user);
	/* the keeper installs its handlers before a stop signal may reach it */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		run_keeper(o, envp, parent, pin[0], pout[1], perr[1], &old);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pw_proc_env_free(envp);
	if (pid < 0) {
		close_pair(pin), close_pair(pout), close_pair(perr);
		return pw_error(PW_E_IO, "fork failed: %s", pw_strerror(e));
	}
	p->pid = pid;
	if (pin[0] >= 0)
		close(pin[0]);
	p->in_fd = pin[1];
	if (pout[1] >= 0)
		close(pout[1]);
	p->out_fd = pout[0];
	if (perr[1] >= 0)
		close(perr[1]);
	p->err_fd = perr[0];
	return 0;
}

void pw_proc_stop(struct pw_proc *p)
{
	if (p->pid > 0 && !p->reaped && !p->stopped) {
		kill(p->pid, SIGTERM);
		p->stopped = true;
	}
}

bool pw_proc_poll(struct pw_proc *p)
{
	if (p->pid <= 0 || p->reaped)
		return true;
	int st;
	pid_t r;
	do
		r = waitpid(p->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == p->pid) {
		p->status = st;
		p->reaped = true;
	} else if (r < 0) { /* not our child (any more): nothing to wait for */
		p->status = 127 << 8;
		p->reaped = true;
	}
	return p->reaped;
}

int pw_proc_wait(struct pw_proc *p, int timeout_ms)
{
	if (p->pid <= 0 || p->reaped)
		return 0;
	long start = now_ms(), stop_at = 0;
	int interrupted = 0;
	bool forced = false;
	for (;;) {
		if (!p->stopped && pw_interrupted()) {
			interrupted = pw_interrupted();
			pw_proc_stop(p);
		}
		if (!p->stopped && timeout_ms > 0 && now_ms() - start > timeout_ms) {
			p->timed_out = true;
			pw_proc_stop(p);
		}
		if (p->stopped && !stop_at)
			stop_at = now_ms();
		if (stop_at && !forced && now_ms() - stop_at > PW_PROC_GRACE_MS + 15000) {
			kill(p->pid, SIGKILL); /* the keeper is stuck: the program dies with it */
			forced = true;
		}
		int st;
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->status = st;
			p->reaped = true;
			break;
		}
		if (r < 0 && errno != EINTR) {
			p->reaped = true;
			p->status = 127 << 8;
			break;
		}
		nap_ms(10);
	}
	if (interrupted) {
		pw_error(PW_E_INTERRUPTED, "interrupted by signal %d while %s ran", interrupted,
		         p->name);
		return pw_error_hint("%s was stopped; run the command again.", p->name);
	}
	return p->timed_out ? 1 : 0;
}

void pw_proc_free(struct pw_proc *p)
{
	if (!p)
		return;
	if (p->in_fd >= 0)
		close(p->in_fd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->in_fd = p->out_fd = -1;
	if (p->pid > 0 && !p->reaped) {
		struct pw_error_saved e;
		pw_error_save(&e);
		pw_proc_stop(p);
		pw_proc_wait(p, 0);
		pw_error_restore(&e);
	}
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->err_fd = -1;
}

const char *pw_proc_status_str(const struct pw_proc *p, char *buf, size_t size)
{
	if (WIFSIGNALED(p->status))
		snprintf(buf, size, "signal %d", WTERMSIG(p->status));
	else
		snprintf(buf, size, "exit status %d",
		         WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1);
	return buf;
}
