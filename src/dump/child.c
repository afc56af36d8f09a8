/* child.c - child processes for the PostgreSQL client tools. */
#include "dump/child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/str.h"

extern char **environ;

#define ERR_MAX (64 * 1024)

int child_start(struct child *c, const char *const *argv, const char *const *env, bool want_in,
                bool want_out)
{
	return child_start_as(c, argv, env, want_in, want_out, NULL);
}

/* In the forked child: become as->uid. Only system calls, so safe after fork in a process
 * with threads. */
static void become(const struct child_as *as)
{
	if (as->switch_user) {
		if (setgroups(as->ngroups, as->groups) < 0 || setgid(as->gid) < 0 ||
		    setuid(as->uid) < 0) {
			dprintf(2, "error: cannot switch to uid %u: %s\n", (unsigned)as->uid,
			        strerror(errno));
			_exit(126);
		}
		if (as->uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
			dprintf(2, "error: could regain root after switching to uid %u\n",
			        (unsigned)as->uid);
			_exit(126);
		}
	}
	if (as->cwd && chdir(as->cwd) < 0) {
		dprintf(2, "error: cannot enter directory \"%s\": %s\n", as->cwd, strerror(errno));
		_exit(126);
	}
}

int child_start_as(struct child *c, const char *const *argv, const char *const *env, bool want_in,
                   bool want_out, const struct child_as *as)
{
	memset(c, 0, sizeof *c);
	c->in_fd = c->out_fd = c->err_fd = -1;
	c->err = PW_BUF_INIT(ERR_MAX);
	const char *base = strrchr(argv[0], '/');
	pw_strlcpy(c->name, base ? base + 1 : argv[0], sizeof c->name);
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2];
	if ((want_in && pipe2(pin, O_CLOEXEC) < 0) || (want_out && pipe2(pout, O_CLOEXEC) < 0) ||
	    pipe2(perr, O_CLOEXEC) < 0)
		return pw_error(PW_E_IO, "pipe failed: %s", strerror(errno));
	/* environment: ours, minus variables we set, plus env */
	size_t nenv = 0, next = 0;
	while (environ[nenv])
		nenv++;
	while (env && env[next])
		next++;
	char **envp = pw_calloc(nenv + next + 1, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++) {
		bool overridden = false;
		for (size_t j = 0; j < next; j++) {
			size_t l = strcspn(env[j], "=");
			if (strncmp(environ[i], env[j], l + 1) == 0)
				overridden = true;
		}
		if (!overridden)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < next; j++)
		envp[k++] = (char *)env[j];
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		pw_free(envp);
		return pw_error(PW_E_IO, "fork failed: %s", strerror(errno));
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		if (want_in)
			dup2(pin[0], 0);
		else {
			int nul = open("/dev/null", O_RDONLY);
			dup2(nul, 0);
		}
		if (want_out)
			dup2(pout[1], 1);
		else if (as && as->stdout_to_err)
			dup2(perr[1], 1);
		dup2(perr[1], 2);
		if (as)
			become(as);
		execve(argv[0], (char *const *)argv, envp);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	pw_free(envp);
	c->pid = pid;
	if (want_in) {
		close(pin[0]);
		c->in_fd = pin[1];
	}
	if (want_out) {
		close(pout[1]);
		c->out_fd = pout[0];
	}
	close(perr[1]);
	c->err_fd = perr[0];
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

void child_poll_stderr(struct child *c)
{
	char buf[4096];
	for (;;) {
		ssize_t r = read(c->err_fd, buf, sizeof buf);
		if (r <= 0)
			break;
		if (c->err.len < ERR_MAX - 1)
			pw_buf_append(&c->err, buf,
			              (size_t)r < ERR_MAX - 1 - c->err.len
			                  ? (size_t)r
			                  : ERR_MAX - 1 - c->err.len);
	}
}

static void reap(struct child *c)
{
	if (c->reaped || c->pid <= 0)
		return;
	bool stopped = false;
	for (;;) {
		if (c->stop_on_interrupt && !stopped && pw_interrupted()) {
			kill(c->pid, SIGTERM); /* e.g. pg_restore: it rolls back and exits */
			stopped = true;
		}
		/* watching for an interruption: poll, so a signal between the check and the
		 * wait is not missed */
		pid_t r =
		    waitpid(c->pid, &c->status, c->stop_on_interrupt && !stopped ? WNOHANG : 0);
		if (r == 0) {
			struct timespec t = {0, 20 * 1000 * 1000};
			nanosleep(&t, NULL);
			continue;
		}
		if (r > 0 || errno != EINTR)
			break;
	}
	c->reaped = true;
}

int child_finish(struct child *c, const char *what)
{
	if (c->in_fd >= 0) {
		close(c->in_fd);
		c->in_fd = -1;
	}
	if (c->out_fd >= 0) {
		close(c->out_fd);
		c->out_fd = -1;
	}
	/* stderr until EOF */
	fcntl(c->err_fd, F_SETFL, 0);
	child_poll_stderr(c);
	reap(c);
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		return 0;
	char first[1024] = "";
	const char *e = pw_buf_str(&c->err);
	/* the first line that says "error" is the useful one */
	const char *p = strstr(e, "error: ");
	p = p ? p + 7 : e;
	size_t n = strcspn(p, "\n");
	if (n >= sizeof first)
		n = sizeof first - 1;
	memcpy(first, p, n);
	first[n] = 0;
	if (WIFSIGNALED(c->status))
		pw_error(PW_E_DB, "%s (%s) was killed by signal %d%s%s", what, c->name,
		         WTERMSIG(c->status), *first ? ": " : "", first);
	else
		pw_error(PW_E_DB, "%s (%s) failed%s%s", what, c->name, *first ? ": " : "", first);
	return pw_error_hint("See the message from %s above; nothing was committed.", c->name);
}

void child_free(struct child *c)
{
	if (c->pid > 0 && !c->reaped) {
		kill(c->pid, SIGTERM);
		reap(c);
	}
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->in_fd = c->out_fd = c->err_fd = -1;
	pw_buf_free(&c->err, 0);
}

int pg_tool_path(const char *tool, int server_major, char *out, size_t size)
{
	int best = 0;
	DIR *d = opendir("/usr/lib/postgresql");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		uint64_t v;
		if (pw_parse_u64(e->d_name, &v) < 0 || v < (uint64_t)server_major || v > 99)
			continue;
		char p[512];
		snprintf(p, sizeof p, "/usr/lib/postgresql/%s/bin/%s", e->d_name, tool);
		if (access(p, X_OK) == 0 && (best == 0 || (int)v < best))
			best = (int)v; /* the closest version at or above the server's */
	}
	if (d)
		closedir(d);
	if (!best) {
		pw_error(PW_E_CONFIG, "no %s for PostgreSQL %d or newer is installed", tool,
		         server_major);
		return pw_error_hint("Install it: apt-get install postgresql-client-%d",
		                     server_major);
	}
	snprintf(out, size, "/usr/lib/postgresql/%d/bin/%s", best, tool);
	return 0;
}
