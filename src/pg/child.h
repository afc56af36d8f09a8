/*
 * child.h - running pg_dump / pg_dumpall / pg_restore. Secrets go in the
 * child's environment (never argv); stdin/stdout are pipes we stream
 * through; stderr is captured (capped) for error messages. Children die with
 * us (PR_SET_PDEATHSIG) and are killed when freed before they finished.
 */
#ifndef PW_PG_CHILD_H
#define PW_PG_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/proc.h"

/* What a PostgreSQL client program said when it failed, from its stderr: the "error:" line
 * (PostgreSQL's ERROR when the server refused), DETAIL, HINT, the TOC entry pg_restore was
 * processing ("from TOC entry 1234; 1259 16385 TABLE public t owner") and the statement
 * ("Command was: ..."). Each sanitized with pw_str_printable and capped; "" when absent. */
struct child_error {
	char error[400];
	char detail[300];
	char hint[300];
	char toc[200];
	char command[200];
};
/* The process itself is started by common/proc.c: argv only, an allow-list environment
 * (PATH, HOME, locale, TZ and the caller's strings; nothing of ours for a child that
 * changes user), descriptors closed, own process group whose whole tree is stopped on
 * SIGINT/SIGTERM or when freed early. */
struct child {
	struct pw_proc proc;
	pid_t pid;  /* proc.pid: signals to it stop the program */
	int in_fd;  /* write end of the child's stdin, or -1 */
	int out_fd; /* read end of the child's stdout, or -1 */
	int err_fd; /* read end of the child's stderr */
	struct pw_buf err;
	char name[64];
	bool reaped;
	int status;
	bool stop_on_interrupt; /* kept for callers: every child is stopped on an interruption */
	struct child_error why; /* after a failing child_finish: what it said */
};

/*
 * Start argv[0] (a full path). env: the "NAME=VALUE" strings this child needs (a password,
 * PGOPTIONS...), added to the allow-list environment (NULL-terminated; may be NULL).
 * want_in / want_out: create pipes.
 */
int child_start(struct child *c, const char *const *argv, const char *const *env, bool want_in,
                bool want_out);

/* How to run a child other than as we are (for the server programs of a throwaway cluster). */
struct child_as {
	bool switch_user; /* drop to uid/gid/groups before exec (needs root) */
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups, resolved by the caller (getgrouplist) */
	size_t ngroups;
	const char *cwd;    /* chdir there (as the new user) before exec, or NULL */
	bool stdout_to_err; /* the child's stdout is captured with its stderr */
	bool clean_env;     /* nothing of our environment, only env (implied by switch_user) */
};
/* child_start with a child_as (NULL: as child_start). Credentials are changed in the forked
 * child with setgroups/setgid/setuid only (no lookups: async-signal-safe), and a child that
 * could regain root refuses to run. */
int child_start_as(struct child *c, const char *const *argv, const char *const *env, bool want_in,
                   bool want_out, const struct child_as *as);
/* Write p to the child's stdin, draining its stderr while the pipe is full (a child that
 * blocks on a full stderr pipe never reads its stdin). -PW_E_IO naming what on a failed
 * write (EPIPE: the child stopped reading). */
int child_write_in(struct child *c, const uint8_t *p, size_t n, const char *what);
/* Drain stderr (non-blocking) into c->err; call now and then while streaming. */
void child_poll_stderr(struct child *c);
/* Close our pipe ends, wait for exit; returns 0 if it exited 0, -PW_E_INTERRUPTED when pgward
 * got SIGINT/SIGTERM meanwhile (the child was stopped), else -PW_E_DB with what its stderr
 * said (child_error_text, parsed into c->why; PostgreSQL's HINT as the hint, else a plain
 * one: callers say what the failure leaves behind). */
int child_finish(struct child *c, const char *what);
void child_error_parse(const char *stderr_text, struct child_error *out);
/* "error; DETAIL: detail; from TOC entry ...; at: command" (the parts present) into out. */
void child_error_text(const struct child_error *ce, char *out, size_t size);

/* Kill (if running) and reap; frees buffers. */
void child_free(struct child *c);

/* Find the newest installed PostgreSQL client program (pg_dump...) of major >= min_major. */
int pg_tool_path(const char *tool, int server_major, char *out, size_t size);

#endif
