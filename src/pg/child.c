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
#include <poll.h>
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
		/* the last ERR_MAX - 1 bytes: a failing program's error is at its end (after
		 * pg_restore --verbose's line per object) */
		size_t n = (size_t)r;
		if (c->err.len + n > ERR_MAX - 1) {
			size_t drop = c->err.len + n - (ERR_MAX - 1);
			if (drop > c->err.len)
				drop = c->err.len;
			memmove(c->err.data, c->err.data + drop, c->err.len - drop);
			c->err.len -= drop;
		}
		pw_buf_append(&c->err, buf, n);
	}
}

int child_write_in(struct child *c, const uint8_t *p, size_t n, const char *what)
{
	/* never block on the child's stdin while it blocks on its full stderr pipe */
	int fl = fcntl(c->in_fd, F_GETFL);
	if (!(fl & O_NONBLOCK))
		fcntl(c->in_fd, F_SETFL, fl | O_NONBLOCK);
	while (n) {
		if (pw_interrupted())
			return pw_write_all(c->in_fd, p, n, what); /* its interruption error */
		child_poll_stderr(c);
		ssize_t w = write(c->in_fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return pw_error(PW_E_IO, "could not write \"%s\": %s", what,
			                pw_strerror(errno));
		struct pollfd pf[2] = {{c->in_fd, POLLOUT, 0}, {c->err_fd, POLLIN, 0}};
		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			return pw_error(PW_E_IO, "waiting for \"%s\": %s", what,
			                pw_strerror(errno));
	}
	return 0;
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
	struct child_error *ce = &c->why;
	child_error_parse(pw_buf_str(&c->err), ce);
	char text[900];
	child_error_text(ce, text, sizeof text);
	if (WIFSIGNALED(c->status))
		pw_error(PW_E_DB, "%s (%s) was killed by signal %d%s%s", what, c->name,
		         WTERMSIG(c->status), *text ? ": " : "", text);
	else if (*text)
		pw_error(PW_E_DB, "%s (%s) failed: %s", what, c->name, text);
	else
		pw_error(PW_E_DB, "%s (%s) failed with status %d and printed no message", what,
		         c->name, WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1);
	/* the callers add what the failure means for them; the server's own hint first */
	if (*ce->hint)
		return pw_error_hint("PostgreSQL's hint: %s", ce->hint);
	return pw_error_hint("Fix the cause %s reports and run again.", c->name);
}

/* The rest of the line at p (up to the newline), sanitized and capped, into out. */
static void take_line(const char *p, char *out, size_t size)
{
	char raw[1024];
	size_t n = strcspn(p, "\n");
	bool cut = n >= sizeof raw;
	if (cut)
		n = sizeof raw - 1;
	memcpy(raw, p, n);
	raw[n] = 0;
	while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\r'))
		raw[--n] = 0;
	pw_str_printable(out, size, raw);
	if (cut && size > 4 && strlen(out) + 4 < size)
		pw_strlcpy(out + strlen(out), "...", size - strlen(out));
}

/* the text after "prefix" with the spaces after it skipped, when line starts with it */
static const char *after(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(line, prefix, n) != 0)
		return NULL;
	line += n;
	while (*line == ' ')
		line++;
	return line;
}

void child_error_parse(const char *e, struct child_error *out)
{
	memset(out, 0, sizeof *out);
	/* The last "error:" line is the one that stopped the program (pg_restore
	 * --exit-on-error stops at its first; an object's name printed earlier by --verbose
	 * may hold a line break and a forged "error:"). The TOC entry is the last one named
	 * before it; DETAIL, HINT and the statement follow it. */
	char toc[sizeof out->toc] = "";
	for (const char *line = e; line && *line;) {
		const char *next = strchr(line, '\n');
		/* the program's own prefix ("pg_restore: "), when the line has one */
		const char *body = line;
		const char *colon = strstr(line, ": ");
		if (colon && (!next || colon < next) && colon - line < 40 &&
		    strncmp(line, "pg_", 3) == 0)
			body = colon + 2;
		const char *v;
		if ((v = after(body, "error:")) != NULL) {
			take_line(v, out->error, sizeof out->error);
			memcpy(out->toc, toc, sizeof toc);
			out->detail[0] = out->hint[0] = out->command[0] = 0;
		} else if (strncmp(body, "from TOC entry", 14) == 0) {
			take_line(body, toc, sizeof toc);
		} else if (!*out->error) {
			/* before the error: nothing else of interest */
		} else if (!*out->detail && ((v = after(body, "DETAIL:")) != NULL ||
		                             (v = after(body, "detail:")) != NULL)) {
			take_line(v, out->detail, sizeof out->detail);
		} else if (!*out->hint && ((v = after(body, "HINT:")) != NULL ||
		                           (v = after(body, "hint:")) != NULL)) {
			take_line(v, out->hint, sizeof out->hint);
		} else if (!*out->command && (v = after(body, "Command was:")) != NULL) {
			take_line(v, out->command, sizeof out->command);
		}
		line = next ? next + 1 : NULL;
	}
	if (!*out->error) {
		/* no "error:" line: the last line that is not empty (a server program's own
		 * words, a crash) */
		const char *last = NULL;
		for (const char *p = e; *p; p++)
			if ((p == e || p[-1] == '\n') && *p != '\n')
				last = p;
		if (last)
			take_line(last, out->error, sizeof out->error);
	}
}

void child_error_text(const struct child_error *ce, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s%s%s%s%s", ce->error, *ce->detail ? "; DETAIL: " : "",
	         ce->detail, *ce->toc ? "; " : "", ce->toc, *ce->command ? " (at: " : "",
	         ce->command, *ce->command ? ")" : "");
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
