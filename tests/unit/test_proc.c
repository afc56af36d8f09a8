/* test_proc.c - the child environment allow-list, descriptors, and stopping a whole tree. */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/proc.h"

static size_t env_len(char **env)
{
	size_t n = 0;
	while (env[n])
		n++;
	return n;
}

static bool env_has(char **env, const char *kv)
{
	for (size_t i = 0; env[i]; i++)
		if (strcmp(env[i], kv) == 0)
			return true;
	return false;
}

static bool env_has_name(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return true;
	return false;
}

static const char *const parent[] = {"PATH=/opt/bin:/usr/bin",
                                     "HOME=/home/u",
                                     "LANG=de_DE.UTF-8",
                                     "LC_ALL=C.UTF-8",
                                     "LC_=odd",
                                     "TZ=Europe/Berlin",
                                     "PGWARD_KEY_PASSPHRASE=secret",
                                     "PGWARD_DB_PASSWORD=secret",
                                     "AWS_SECRET_ACCESS_KEY=secret",
                                     "AWS_SESSION_TOKEN=secret",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN=secret",
                                     "AWS_WEB_IDENTITY_TOKEN_FILE=/secret",
                                     "PGPASSWORD=secret",
                                     "PGSSLPASSWORD=secret",
                                     "PGPASSFILE=/secret",
                                     "PGHOST=elsewhere",
                                     "LD_PRELOAD=/tmp/evil.so",
                                     "PATHX=no",
                                     "noequals",
                                     "=novalue",
                                     "PATH=/second",
                                     NULL};

static void test_env_allow_list(void **state)
{
	(void)state;
	char **e = pw_proc_env_build(parent, NULL, false, false);
	assert_true(env_has(e, "PATH=/opt/bin:/usr/bin"));
	assert_true(env_has(e, "LANG=de_DE.UTF-8"));
	assert_true(env_has(e, "LC_ALL=C.UTF-8"));
	assert_true(env_has(e, "TZ=Europe/Berlin"));
	assert_false(env_has_name(e, "HOME"));
	assert_false(env_has(e, "LC_=odd"));
	assert_int_equal(env_len(e), 4); /* nothing else: no secret, no PG*, no LD_* */
	pw_proc_env_free(e);

	e = pw_proc_env_build(parent, NULL, true, false);
	assert_true(env_has(e, "HOME=/home/u"));
	assert_int_equal(env_len(e), 5);
	pw_proc_env_free(e);
}

static void test_env_extra(void **state)
{
	(void)state;
	const char *const extra[] = {"PGPASSWORD=for-this-child",
	                             "PGOPTIONS=-c default_transaction_read_only=on",
	                             "TZ=UTC",
	                             "TZ=ignored",
	                             "bad",
	                             NULL};
	char **e = pw_proc_env_build(parent, extra, false, false);
	assert_true(env_has(e, "PGPASSWORD=for-this-child"));
	assert_true(env_has(e, "PGOPTIONS=-c default_transaction_read_only=on"));
	assert_true(env_has(e, "TZ=UTC")); /* the caller's replaces ours */
	assert_false(env_has(e, "TZ=Europe/Berlin"));
	assert_false(env_has(e, "TZ=ignored"));
	assert_false(env_has(e, "bad"));
	assert_int_equal(env_len(e), 6); /* PATH LANG LC_ALL + 3 */
	pw_proc_env_free(e);
}

static void test_env_switch_user(void **state)
{
	(void)state;
	const char *const extra[] = {"LC_ALL=C", NULL};
	char **e = pw_proc_env_build(parent, extra, true, true);
	assert_true(env_has(e, "LC_ALL=C"));
	assert_true(env_has(e, "PATH=" PW_PROC_PATH));
	assert_int_equal(env_len(e), 2); /* nothing of ours */
	pw_proc_env_free(e);
	/* no PATH at all: a fixed one */
	const char *const bare[] = {"HOME=/x", NULL};
	e = pw_proc_env_build(bare, NULL, false, false);
	assert_true(env_has(e, "PATH=" PW_PROC_PATH));
	assert_int_equal(env_len(e), 1);
	pw_proc_env_free(e);
	e = pw_proc_env_build(NULL, NULL, false, false);
	assert_int_equal(env_len(e), 1);
	pw_proc_env_free(e);
}

/* Run sh -c script with stdout piped; its output into out. */
static int run_sh(const char *script, int timeout_ms, struct pw_proc *p, char *out, size_t size)
{
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	const char *env[] = {"PGPASSWORD=only-this", NULL};
	struct pw_proc_opts o = {
	    .argv = argv, .env = env, .out = PW_PROC_OUT_PIPE, .err = PW_PROC_OUT_NULL};
	int rc = pw_proc_start(&o, p);
	assert_int_equal(rc, 0);
	size_t n = 0;
	if (out) {
		for (;;) {
			ssize_t r = read(p->out_fd, out + n, size - 1 - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		out[n] = 0;
	}
	rc = pw_proc_wait(p, timeout_ms);
	pw_proc_free(p);
	return rc;
}

static void test_run_env_and_fds(void **state)
{
	(void)state;
	setenv("PGWARD_KEY_PASSPHRASE", "leak", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "leak", 1);
	int stray = open("/dev/null", O_RDONLY); /* without O_CLOEXEC: still closed */
	assert_true(stray >= 3);
	char out[4096];
	struct pw_proc p;
	char script[256];
	snprintf(script, sizeof script, "env; ls /proc/self/fd | tr '\\n' ' '; exit 3");
	assert_int_equal(run_sh(script, 0, &p, out, sizeof out), 0);
	assert_true(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 3);
	assert_non_null(strstr(out, "PGPASSWORD=only-this"));
	assert_null(strstr(out, "leak"));
	assert_null(strstr(out, "PGWARD_"));
	assert_null(strstr(out, "AWS_"));
	/* 0 1 2 and the directory ls reads: nothing else */
	char *fds = strrchr(out, '\n');
	assert_non_null(fds);
	assert_string_equal(fds + 1, "0 1 2 3 ");
	close(stray);
	unsetenv("PGWARD_KEY_PASSPHRASE");
	unsetenv("AWS_SECRET_ACCESS_KEY");
}

static bool alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

static pid_t read_pid(const char *path)
{
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		int v = 0;
		if (f) {
			int got = fscanf(f, "%d", &v);
			fclose(f);
			if (got == 1 && v > 0)
				return (pid_t)v;
		}
		struct timespec t = {0, 10 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
	return -1;
}

/* A tree that ignores SIGTERM, with a grandchild in its own session: all gone at the timeout */
static void test_timeout_kills_tree(void **state)
{
	(void)state;
	char dir[] = "/tmp/pw-proc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[1024];
	snprintf(script, sizeof script,
	         "trap '' TERM; "
	         "setsid sh -c 'trap \"\" TERM; echo $$ > %s/escaped; while :; do sleep 1; done' "
	         "</dev/null >/dev/null 2>&1 & "
	         "echo $$ > %s/main; while :; do sleep 1; done",
	         dir, dir);
	struct pw_proc p;
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct pw_proc_opts o = {.argv = argv, .out = PW_PROC_OUT_NULL, .err = PW_PROC_OUT_NULL};
	assert_int_equal(pw_proc_start(&o, &p), 0);
	char path[256];
	snprintf(path, sizeof path, "%s/escaped", dir);
	pid_t esc = read_pid(path);
	snprintf(path, sizeof path, "%s/main", dir);
	pid_t main_pid = read_pid(path);
	assert_true(esc > 0 && main_pid > 0);
	assert_int_equal(pw_proc_wait(&p, 300), 1);
	assert_true(p.timed_out);
	assert_true(WIFSIGNALED(p.status));
	pw_proc_free(&p);
	/* the keeper reaped them all before it exited */
	assert_false(alive(main_pid));
	assert_false(alive(esc));
	snprintf(path, sizeof path, "%s/escaped", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/main", dir);
	unlink(path);
	rmdir(dir);
}

static void test_interrupt_stops(void **state)
{
	(void)state;
	struct pw_proc p;
	const char *argv[] = {"/bin/sleep", "30", NULL};
	struct pw_proc_opts o = {.argv = argv, .out = PW_PROC_OUT_NULL, .err = PW_PROC_OUT_NULL};
	assert_int_equal(pw_proc_start(&o, &p), 0);
	pw_set_interrupted(SIGTERM);
	time_t t0 = time(NULL);
	assert_int_equal(pw_proc_wait(&p, 0), -PW_E_INTERRUPTED);
	assert_true(time(NULL) - t0 < 10);
	assert_true(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGTERM);
	pw_set_interrupted(0);
	pw_error_clear();
	pw_proc_free(&p);
}

static void test_exec_failure(void **state)
{
	(void)state;
	struct pw_proc p;
	const char *argv[] = {"/nonexistent/program", NULL};
	struct pw_proc_opts o = {.argv = argv, .out = PW_PROC_OUT_NULL, .err = PW_PROC_OUT_PIPE};
	assert_int_equal(pw_proc_start(&o, &p), 0);
	char buf[512];
	ssize_t n = read(p.err_fd, buf, sizeof buf - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "cannot run /nonexistent/program"));
	assert_int_equal(pw_proc_wait(&p, 0), 0);
	assert_true(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 127);
	pw_proc_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_allow_list),     cmocka_unit_test(test_env_extra),
	    cmocka_unit_test(test_env_switch_user),    cmocka_unit_test(test_run_env_and_fds),
	    cmocka_unit_test(test_timeout_kills_tree), cmocka_unit_test(test_interrupt_stops),
	    cmocka_unit_test(test_exec_failure),
	};
	return cmocka_run_group_tests(tests, pw_test_group_setup, NULL);
}
