/* child.c - child processes for the PostgreSQL client tools. */
#include "pg/child.h"

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

#define ERR_MAX (64 * 1024)

int child_start(struct child *c, const char *const *argv, const char *const *env, bool want_in,
                bool want_out)
{
	return child_start_as(c, argv, env, want_in, want_out, NULL);
}

int child_start_as(struct child *c, const char *const *argv, const char *const *env, bool want_in,
                   bool want_out, const struct child_as *as)
{
	memset(c, 0, sizeof *c);
	c->in_fd = c->out_fd = c->err_fd = -1;
	c->pid = -1;
	c->err = PW_BUF_INIT(ERR_MAX);
	struct pw_proc_opts o = {
	    .argv = argv,
	    .env = env,
	    .keep_home = true, /* ~/.pgpass, ~/.postgresql for the client tools */
	    .stdin_pipe = want_in,
	    .out = want_out                  ? PW_PROC_OUT_PIPE
	           : as && as->stdout_to_err ? PW_PROC_OUT_TO_ERR
	                                     : PW_PROC_OUT_INHERIT,
	    .err = PW_PROC_OUT_PIPE,
	};
	if (as) {
		o.switch_user = as->switch_user;
		o.uid = as->uid;
		o.gid = as->gid;
		o.groups = as->groups;
		o.ngroups = as->ngroups;
		o.cwd = as->cwd;
		o.clean_env = as->clean_env;
	}
	int rc = pw_proc_start(&o, &c->proc);
	pw_strlcpy(c->name, c->proc.name, sizeof c->name);
	if (rc < 0)
		return rc;
	/* the pipe ends are ours (callers use them directly) */
	c->pid = c->proc.pid;
	c->in_fd = c->proc.in_fd;
	c->out_fd = c->proc.out_fd;
	c->err_fd = c->proc.err_fd;
	c->proc.in_fd = c->proc.out_fd = c->proc.err_fd = -1;
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

/* Wait for the child; SIGINT/SIGTERM stop it (-PW_E_INTERRUPTED). */
static int reap(struct child *c)
{
	if (c->reaped || c->pid <= 0)
		return 0;
	int rc = pw_proc_wait(&c->proc, 0);
	c->status = c->proc.status;
	c->reaped = true;
	return rc < 0 ? rc : 0;
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
	int rc = reap(c);
	if (rc < 0)
		return rc;
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
	/* pg_restore's error names the statement it failed at ("Command was: CREATE
	 * EXTENSION ..."): its first line, control characters replaced */
	char toc[256] = "";
	const char *t = strstr(e, "Command was: ");
	if (t) {
		t += strlen("Command was: ");
		size_t tn = strcspn(t, "\n");
		if (tn > 160)
			tn = 160;
		char cmd[161];
		for (size_t i = 0; i < tn; i++)
			cmd[i] = (unsigned char)t[i] < 0x20 || t[i] == 0x7f ? '?' : t[i];
		cmd[tn] = 0;
		snprintf(toc, sizeof toc, " (at: %s%s)", cmd, t[tn] && t[tn] != '\n' ? "..." : "");
	}
	if (WIFSIGNALED(c->status))
		pw_error(PW_E_DB, "%s (%s) was killed by signal %d%s%s%s", what, c->name,
		         WTERMSIG(c->status), *first ? ": " : "", first, toc);
	else
		pw_error(PW_E_DB, "%s (%s) failed%s%s%s", what, c->name, *first ? ": " : "", first,
		         toc);
	return pw_error_hint("See the message from %s above; nothing was committed.", c->name);
}

void child_free(struct child *c)
{
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->in_fd = c->out_fd = c->err_fd = -1;
	pw_proc_free(&c->proc); /* stops the child's tree if it still runs, and reaps */
	c->reaped = true;
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
