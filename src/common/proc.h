/*
 * proc.h - the one way pgward starts a child process.
 *
 * - argv only, never a shell (argv[0] is a full path; a caller that wants a shell, such as a
 *   credentials on-change hook, names /bin/sh itself and says so in its documentation).
 * - An allow-list environment built from scratch: PATH, HOME (if asked), LANG, LC_*, TZ of
 *   ours, plus exactly the NAME=VALUE strings the caller passes for that child. Nothing else
 *   of ours reaches a child: no PGWARD_*, AWS_*, PGPASSWORD, PGSSLPASSWORD... unless the
 *   caller adds it. A child that changes user gets nothing of ours at all (a fixed PATH and
 *   the caller's strings).
 * - Every descriptor but 0, 1 and 2 closed; PR_SET_PDEATHSIG; signals back to default.
 * - Containment: the program runs in its own process group under a small keeper process (a
 *   fork of ours that is a PR_SET_CHILD_SUBREAPER and holds no descriptor of ours). Stopping
 *   the child (timeout, SIGINT/SIGTERM, pw_proc_free before it finished) makes the keeper
 *   send SIGTERM to the group and to every descendant that was re-parented to it (a
 *   process that called setsid or double-forked still descends from the keeper), wait
 *   PW_PROC_GRACE_MS, then SIGKILL them all until none is left. What remains: a descendant
 *   that escapes by becoming a child of a process outside the tree (a request to systemd
 *   or another daemon to start something) - that is no longer the child's process.
 *   Descendants left running after the program exited normally are left alone (a hook may
 *   start a service on purpose).
 */
#ifndef PW_COMMON_PROC_H
#define PW_COMMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PW_PROC_GRACE_MS 2000 /* SIGTERM -> SIGKILL */
#define PW_PROC_PATH "/usr/local/bin:/usr/bin:/bin"

enum pw_proc_out {
	PW_PROC_OUT_PIPE,    /* a pipe we read (out_fd / err_fd) */
	PW_PROC_OUT_TO_ERR,  /* stdout only: the same as the child's stderr */
	PW_PROC_OUT_INHERIT, /* our own descriptor (our stdout / our stderr) */
	PW_PROC_OUT_NULL,    /* /dev/null */
};

struct pw_proc_opts {
	const char *const *argv; /* argv[0]: full path */
	const char *const *env;  /* NAME=VALUE strings for this child (NULL-terminated; may be
	                            NULL) */
	bool keep_home;          /* pass our HOME */
	bool stdin_pipe;         /* else /dev/null */
	enum pw_proc_out out, err;
	/* run as another user (needs root): setgroups/setgid/setuid in the child, which refuses
	 * to run if it could regain root; no environment of ours at all */
	bool switch_user;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	const char *cwd; /* chdir there (as the new user) before exec, or NULL */
	bool clean_env;  /* nothing of ours either (as switch_user), without changing user */
};

struct pw_proc {
	pid_t pid;  /* the keeper (signals go to it; it relays them to the program's tree) */
	int in_fd;  /* write end of the child's stdin, or -1 */
	int out_fd; /* read end of the child's stdout, or -1 */
	int err_fd; /* read end of the child's stderr, or -1 */
	bool reaped;
	int status;     /* the program's wait status (as if it were our child) */
	bool stopped;   /* we asked it to stop */
	bool timed_out; /* pw_proc_wait's deadline passed */
	char name[64];  /* basename of argv[0] */
};

/*
 * The child's environment (allocated array and strings; pw_proc_env_free). parent: the
 * environment to pick from (environ, or a test's). Kept: PATH (else PW_PROC_PATH), HOME if
 * keep_home, LANG, LC_*, TZ; with switch_user none of those but PATH=PW_PROC_PATH. Then
 * every string of extra, replacing a kept one of the same name. Malformed strings (no '='
 * or an empty name) are dropped.
 */
char **pw_proc_env_build(const char *const *parent, const char *const *extra, bool keep_home,
                         bool switch_user);
void pw_proc_env_free(char **env);

/* Start the child; *p is set on every path (pw_proc_free is always safe). */
int pw_proc_start(const struct pw_proc_opts *o, struct pw_proc *p);
/*
 * Wait for the child to exit. timeout_ms <= 0: no deadline. At the deadline or on SIGINT /
 * SIGTERM (pw_interrupted) the child's whole tree is stopped (see above) and reaped; the
 * return is then -PW_E_INTERRUPTED (interrupted) or 1 (timed out, p->timed_out), else 0
 * with p->status set. Never leaves a process of the tree running on an error return.
 */
int pw_proc_wait(struct pw_proc *p, int timeout_ms);
/* Has the child exited? Never blocks: true once it is reaped (p->status set). For a caller
 * that waits on several children at once (the service's loop). */
bool pw_proc_poll(struct pw_proc *p);
/* Ask the keeper to stop the tree (SIGTERM, then SIGKILL after the grace). */
void pw_proc_stop(struct pw_proc *p);
/* Stop (if running) and reap; closes our pipe ends. NULL-safe, idempotent. */
void pw_proc_free(struct pw_proc *p);
/* "exit status 3" / "signal 9" for p->status */
const char *pw_proc_status_str(const struct pw_proc *p, char *buf, size_t size);

#endif
