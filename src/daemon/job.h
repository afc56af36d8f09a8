/*
 * job.h - one job of the service, in a child process: a fresh
 * "pgward backup|verify|expire|wal-stream STANZA --config=FILE" (fork and exec of
 * /proc/self/exe through common/proc.c: its own process group under a keeper, every
 * descriptor but 0-2 closed, an allow-list environment). A crash or a leak in one job
 * cannot take the service down, and no process state is shared between jobs.
 *
 * The child's environment: PATH, HOME, LANG, LC_*, TZ (proc.c's rule), the variables the
 * job's libraries read (AWS_*, libpq's PG*, TMPDIR, TZDIR, XDG_STATE_HOME), the stanza's
 * url-env variable, and PGWARD_<OPTION> only for options the job's command accepts: the
 * service's own secrets (API tokens, webhook URLs) never reach a job.
 *
 * Two variables tell the child that the service runs it (docs/service.md):
 *   PGWARD_SERVE_JOB=ID       its audit record says "scheduled_by": "serve", "serve_job": ID
 *   PGWARD_SERVE_RESULT=FILE  it writes its result there at exit (a new 0600 file): exit
 *                             code, one-line message and hint (redacted), and its audit
 *                             details (backup: "stored_bytes")
 * The service reads that file as hostile input (size cap, types checked, printable).
 */
#ifndef PW_DAEMON_JOB_H
#define PW_DAEMON_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "common/proc.h"
#include "config/config.h"
#include "service/board.h"

#define SERVE_JOB_RESULT_MAX (64 * 1024)

struct serve_job {
	unsigned id;
	char stanza[SVC_STANZA_MAX + 1];
	char command[16]; /* backup, verify, expire, wal-stream */
	struct pw_proc proc;
	int pidfd;      /* readable when the keeper exited; -1: poll */
	char *result;   /* the result file's path (owned) */
	time_t started; /* pw_now() at the start */
	bool stopping;  /* we asked it to stop (cancel or the service stopping) */
	double stop_at; /* pw_monotonic() of that request */
	bool forced;    /* the keeper did not end in time: SIGKILL sent to it */
};

struct serve_job_result {
	int exit_code;               /* 0 ok; the job's exit code; 128+N for signal N */
	int signal;                  /* > 0: the job process died of this signal */
	bool reported;               /* the job wrote its result file */
	char message[BOARD_MSG_MAX]; /* one line, printable; "" on success */
	uint64_t stored_bytes;       /* backup: the stored size; 0 unknown */
	bool elsewhere; /* it did not run: the same job of the stanza runs elsewhere (exit 30) */
};

/* The options command takes (its table is the command layer's): *opts and *n, false when
 * there is no such command. A job's environment passes PGWARD_<OPTION> only for these. */
typedef bool serve_job_opts_fn(const char *command, const enum pw_opt_id **opts, size_t *n);

#define SERVE_JOB_ARGS_MAX 16
/* Start a job: "pgward COMMAND STANZA --config=PATH ARGS...". args: at most
 * SERVE_JOB_ARGS_MAX more options ("--restore", "--tag=daily:30d"). cfg: the stanza's
 * options as loaded (for url-env); result_dir: where the result file goes (the state file's
 * directory). On failure nothing runs. */
int serve_job_start(struct serve_job *j, unsigned id, const char *stanza, const char *command,
                    const char *const *args, size_t nargs, const char *config_path,
                    const struct pw_config *cfg, serve_job_opts_fn *opts_of,
                    const char *result_base);
/* Has it exited (never blocks)? */
bool serve_job_poll(struct serve_job *j);
/* Ask it to stop: SIGTERM to its process group, SIGKILL after PW_PROC_GRACE_MS (the
 * keeper's rule); a second call does nothing. */
void serve_job_stop(struct serve_job *j);
/* After it exited: what happened (the result file read and removed), and free it. */
void serve_job_finish(struct serve_job *j, struct serve_job_result *r);
/* Stop and reap without reading a result (the service is going down hard). */
void serve_job_free(struct serve_job *j);

/* The child's side, called by main for audited commands: note the service in the audit
 * details (audit: the command's, NULL if none; before the command runs), and write the
 * result file (after). No-ops unless PGWARD_SERVE_JOB is set. */
void serve_job_child_begin(json_t *audit);
/* "[shop backup] " when this process is a job of the service (else ""): the prefix of its
 * log lines, so that a journal reader can tell interleaved jobs apart. stanza: NULL if
 * none; command: NULL gives "". */
void serve_job_child_tag(const char *stanza, const char *command, char *out, size_t size);
void serve_job_child_end(json_t *audit, int rc);

/* Read a result file into r (r->exit_code set before: the message is kept only for a
 * failure). Anything malformed, too large, of another job or not ours is ignored (a
 * warning): r->reported stays false. Exposed for the unit test. */
void serve_job_read_result(unsigned id, const char *path, struct serve_job_result *r);
/* The environment given to a job of command (NULL-terminated, pw_proc_env_free): see above.
 * Exposed for the unit test. */
char **serve_job_env(const char *const *parent, const char *command, const char *url_env,
                     serve_job_opts_fn *opts_of);
#endif
