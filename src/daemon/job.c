/* job.c - one job of the service in a child process (see job.h). */
#include "daemon/job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "common/time.h"

#define ENV_JOB "PGWARD_SERVE_JOB"
#define ENV_RESULT "PGWARD_SERVE_RESULT"

extern char **environ;

/* ---- the environment ---- */

static bool has_prefix(const char *kv, const char *p)
{
	return strncmp(kv, p, strlen(p)) == 0;
}

static bool name_is(const char *kv, const char *name)
{
	size_t n = strlen(name);
	return strncmp(kv, name, n) == 0 && kv[n] == '=';
}

/* libpq's variables: PG followed by capitals (PGHOST, PGSSLROOTCERT, PGPASSFILE ...) */
static bool libpq_var(const char *kv)
{
	if (!has_prefix(kv, "PG") || has_prefix(kv, "PGWARD_"))
		return false;
	const char *p = kv + 2;
	if (*p < 'A' || *p > 'Z')
		return false;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	return *p == '=';
}

/* PGWARD_<NAME> of an option the command accepts from the environment (opts: NULL when
 * there is no such command). */
static bool option_var(const char *kv, const enum pw_opt_id *opts, size_t nopts)
{
	if (!has_prefix(kv, "PGWARD_") || !opts)
		return false;
	for (size_t i = 0; i < nopts; i++) {
		const struct pw_opt_def *d = pw_opt_def(opts[i]);
		char env[64];
		if (!(d->where & W_ENV) || opts[i] == PW_OPT_CONFIG)
			continue; /* the configuration file is given as --config */
		pw_opt_env_name(d, env, sizeof env);
		if (name_is(kv, env))
			return true;
	}
	return false;
}

char **serve_job_env(const char *const *parent, const char *command, const char *url_env,
                     serve_job_opts_fn *opts_of)
{
	const enum pw_opt_id *opts = NULL;
	size_t nopts = 0;
	if (!opts_of(command, &opts, &nopts))
		opts = NULL;
	size_t n = 0;
	while (parent && parent[n])
		n++;
	char **out = pw_calloc(n + 1, sizeof *out);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *kv = parent[i];
		if (!strchr(kv, '=') || kv[0] == '=')
			continue;
		bool keep = has_prefix(kv, "AWS_") || libpq_var(kv) || name_is(kv, "TMPDIR") ||
		            name_is(kv, "TZDIR") || name_is(kv, "XDG_STATE_HOME") ||
		            (url_env && *url_env && name_is(kv, url_env)) ||
		            option_var(kv, opts, nopts);
		if (keep && !has_prefix(kv, ENV_JOB) && !has_prefix(kv, ENV_RESULT))
			out[k++] = pw_strdup(kv);
	}
	out[k] = NULL;
	return out;
}

/* ---- the service's side ---- */

static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0) {
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		return (int)fd;
	}
#else
	(void)pid;
#endif
	return -1; /* an old kernel: the loop polls */
}

int serve_job_start(struct serve_job *j, unsigned id, const char *stanza, const char *command,
                    const char *const *args, size_t nargs, const char *config_path,
                    const struct pw_config *cfg, serve_job_opts_fn *opts_of,
                    const char *result_base)
{
	PW_CHECK(nargs <= SERVE_JOB_ARGS_MAX);
	memset(j, 0, sizeof *j);
	j->pidfd = -1;
	j->proc.pid = -1;
	j->id = id;
	pw_strlcpy(j->stanza, stanza, sizeof j->stanza);
	pw_strlcpy(j->command, command, sizeof j->command);
	struct pw_buf conf = PW_BUF_INIT(8192), res = PW_BUF_INIT(8192), ev = PW_BUF_INIT(64),
	              rv = PW_BUF_INIT(8200);
	int rc = pw_buf_printf(&conf, "--config=%s", config_path);
	if (rc == 0)
		rc = pw_buf_printf(&res, "%s.job-%u", result_base, id);
	if (rc == 0)
		rc = pw_buf_printf(&ev, ENV_JOB "=%u", id);
	if (rc == 0)
		rc = pw_buf_printf(&rv, ENV_RESULT "=%s", pw_buf_str(&res));
	if (rc < 0) {
		pw_buf_free(&conf, 0), pw_buf_free(&res, 0), pw_buf_free(&ev, 0),
		    pw_buf_free(&rv, 0);
		return pw_error_context("starting the %s of stanza \"%s\"", command, stanza);
	}
	j->result = pw_strdup(pw_buf_str(&res));
	/* a file of an earlier process with this id (it died before reading it) */
	if (unlink(j->result) < 0 && errno != ENOENT)
		pw_warn("cannot remove \"%s\": %s", j->result, pw_strerror(errno));
	const char *argv[5 + SERVE_JOB_ARGS_MAX] = {"/proc/self/exe", command, stanza,
	                                            pw_buf_str(&conf)};
	for (size_t i = 0; i < nargs; i++)
		argv[4 + i] = args[i];
	argv[4 + nargs] = NULL;
	char **env = serve_job_env((const char *const *)environ, command,
	                           cfg ? pw_cfg_str(cfg, PW_OPT_URL_ENV) : NULL, opts_of);
	size_t ne = 0;
	while (env[ne])
		ne++;
	env = pw_realloc(env, (ne + 4) * sizeof *env);
	env[ne++] = pw_strdup(pw_buf_str(&ev));
	env[ne++] = pw_strdup(pw_buf_str(&rv));
	env[ne++] = pw_strdup("NO_PROGRESS=1");
	env[ne] = NULL;
	struct pw_proc_opts o = {.argv = argv,
	                         .env = (const char *const *)env,
	                         .keep_home = true,
	                         .out = PW_PROC_OUT_TO_ERR,
	                         .err = PW_PROC_OUT_INHERIT};
	rc = pw_proc_start(&o, &j->proc);
	pw_proc_env_free(env);
	pw_buf_free(&conf, 0), pw_buf_free(&res, 0), pw_buf_free(&ev, 0), pw_buf_free(&rv, 0);
	if (rc < 0) {
		pw_free(j->result);
		j->result = NULL;
		return pw_error_context("starting the %s of stanza \"%s\"", command, stanza);
	}
	j->started = pw_now();
	j->pidfd = pidfd_of(j->proc.pid);
	return 0;
}

bool serve_job_poll(struct serve_job *j)
{
	if (pw_proc_poll(&j->proc))
		return true;
	/* asked to stop long ago: the keeper is stuck; the job dies with it (its death
	 * signal) */
	if (j->stopping && !j->forced &&
	    pw_monotonic() - j->stop_at > PW_PROC_GRACE_MS / 1000.0 + 15) {
		kill(j->proc.pid, SIGKILL);
		j->forced = true;
	}
	return false;
}

void serve_job_stop(struct serve_job *j)
{
	if (j->stopping)
		return;
	j->stopping = true;
	j->stop_at = pw_monotonic();
	pw_proc_stop(&j->proc);
}

/* The result file: the child's own words, read as hostile input. */
void serve_job_read_result(unsigned id, const char *path, struct serve_job_result *r)
{
	struct pw_buf b = PW_BUF_INIT(SERVE_JOB_RESULT_MAX);
	int rc = pw_trusted_read(path, "job result file", PW_TRUST_MISSING, &b);
	if (rc < 0 || b.len == 0) {
		if (rc < 0)
			pw_best_effort_warn("reading the result of job %u", id);
		pw_buf_free(&b, 0);
		return;
	}
	json_error_t err;
	json_t *o = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &err);
	pw_buf_free(&b, 0);
	json_t *job = json_object_get(o, "job"), *ex = json_object_get(o, "exit"),
	       *msg = json_object_get(o, "message"), *hint = json_object_get(o, "hint"),
	       *det = json_object_get(o, "details");
	if (!json_is_object(o) || !json_is_integer(job) || json_integer_value(job) != id ||
	    !json_is_integer(ex) || !json_is_string(msg) || (hint && !json_is_string(hint)) ||
	    (det && !json_is_object(det))) {
		pw_warn("the result file of job %u is not one this service understands: ignored",
		        id);
		json_decref(o);
		return;
	}
	r->reported = true;
	if (r->exit_code != 0 && *json_string_value(msg)) {
		char line[BOARD_MSG_MAX * 2];
		snprintf(line, sizeof line, "%s%s%s", json_string_value(msg),
		         hint && *json_string_value(hint) ? " - HINT: " : "",
		         hint ? json_string_value(hint) : "");
		for (char *p = line; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		pw_str_printable(r->message, sizeof r->message, line);
	}
	r->elsewhere =
	    r->exit_code == PW_E_STORAGE && json_is_true(json_object_get(det, "running_elsewhere"));
	json_t *sb = json_object_get(det, "stored_bytes");
	if (json_is_integer(sb) && json_integer_value(sb) > 0)
		r->stored_bytes = (uint64_t)json_integer_value(sb);
	json_decref(o);
}

void serve_job_finish(struct serve_job *j, struct serve_job_result *r)
{
	memset(r, 0, sizeof *r);
	if (!j->proc.reaped)
		pw_proc_wait(&j->proc, 0);
	int st = j->proc.status;
	if (WIFSIGNALED(st)) {
		r->signal = WTERMSIG(st);
		r->exit_code = 128 + r->signal;
	} else {
		r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : PW_E_INTERNAL;
	}
	if (j->result) {
		serve_job_read_result(j->id, j->result, r);
		if (unlink(j->result) < 0 && errno != ENOENT)
			pw_best_effort("removing \"%s\"", j->result);
	}
	if (r->exit_code != 0 && !r->message[0]) {
		if (r->signal)
			snprintf(r->message, sizeof r->message,
			         "the %s process was killed by signal %d", j->command, r->signal);
		else
			snprintf(r->message, sizeof r->message,
			         "the %s process exited with status %d and left no result",
			         j->command, r->exit_code);
	}
	serve_job_free(j);
}

void serve_job_free(struct serve_job *j)
{
	pw_proc_free(&j->proc);
	if (j->pidfd >= 0)
		close(j->pidfd);
	j->pidfd = -1;
	pw_free(j->result);
	j->result = NULL;
}

/* ---- the child's side ---- */

static unsigned child_job_id(void)
{
	const char *v = getenv(ENV_JOB);
	uint64_t id;
	if (!v || pw_parse_u64(v, &id) < 0 || id == 0 || id > 0xffffffffu)
		return 0;
	return (unsigned)id;
}

void serve_job_child_begin(json_t *audit)
{
	unsigned id = child_job_id();
	if (!id || !audit)
		return;
	json_object_set_new(audit, "scheduled_by", json_string("serve"));
	json_object_set_new(audit, "serve_job", json_integer(id));
}

void serve_job_child_tag(const char *stanza, const char *command, char *out, size_t size)
{
	out[0] = 0;
	if (!child_job_id() || !command)
		return;
	char tag[160], shown[160];
	snprintf(tag, sizeof tag, "%s%s%s", stanza ? stanza : "", stanza ? " " : "", command);
	snprintf(out, size, "[%s] ", pw_str_printable(shown, sizeof shown, tag));
}

void serve_job_child_end(json_t *audit, int rc)
{
	unsigned id = child_job_id();
	const char *path = getenv(ENV_RESULT);
	if (!id || !path || !*path)
		return;
	struct pw_error_saved saved;
	pw_error_save(&saved);
	int sig = pw_interrupted();
	pw_set_interrupted(0); /* the job is over: its result must still be written */
	char *msg = pw_redact(rc < 0 ? pw_error_message() : "");
	char *hint = pw_redact(rc < 0 ? pw_error_hint_text() : "");
	json_t *o = json_object();
	json_object_set_new(o, "job", json_integer(id));
	json_object_set_new(o, "exit", json_integer(rc < 0 ? -rc : 0));
	json_object_set_new(o, "message", json_string(msg));
	json_object_set_new(o, "hint", json_string(hint));
	json_object_set_new(o, "details", audit ? json_incref(audit) : json_object());
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	pw_free(msg);
	pw_free(hint);
	struct pw_safefile *f = NULL;
	int w = text ? pw_safefile_open(&f, path, 0600, PW_SAFE_EXCLUSIVE) : -PW_E_NOMEM;
	if (w == 0)
		w = pw_write_all(pw_safefile_fd(f), text, strlen(text), path);
	if (w == 0)
		w = pw_safefile_commit(f);
	pw_safefile_free(f);
	pw_free(text);
	if (w < 0)
		pw_best_effort_warn("writing the job's result for the service");
	pw_set_interrupted(sig);
	pw_error_restore(&saved);
}
