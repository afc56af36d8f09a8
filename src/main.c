/* main.c - argv -> command; maps the error code to the exit status. Nothing else. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/job.h"

/* "[shop backup] " in a job of pgward serve (serve_job_child_tag), else "" */
static char g_tag[192];

static void log_sink(enum pw_log_level level, const char *line)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	/* messages quote repository and database strings: escape what a terminal would obey */
	char *shown = pw_str_printable_dup(line);
	fprintf(stderr, "pgward: %s%s: %s\n", g_tag, names[level], shown);
	pw_free(shown);
}

static void oom(size_t n)
{
	if (n)
		fprintf(stderr, "pgward: error: out of memory (allocating %zu bytes)\n", n);
	else /* pw_nomem(0): a library (OpenSSL, libcurl, zstd) could not allocate */
		fprintf(stderr, "pgward: error: out of memory (in a library)\n");
	_exit(PW_E_NOMEM);
}

static int report(int rc)
{
	if (rc >= 0)
		return 0;
	if (!*pw_error_message()) /* failed quietly on purpose (wal-fetch: not in the archive) */
		return -rc > 0 && -rc < 256 ? -rc : PW_E_INTERNAL;
	char *msg = pw_redact(pw_error_message());
	char *hint = pw_redact(pw_error_hint_text());
	char *smsg = pw_str_printable_dup(msg), *shint = pw_str_printable_dup(hint);
	fprintf(stderr, "pgward: %serror: %s\n", g_tag, smsg);
	if (*hint)
		fprintf(stderr, "%sHINT: %s\n", g_tag, shint);
	pw_free(smsg);
	pw_free(shint);
	pw_free(msg);
	pw_free(hint);
	int code = -rc;
	return code > 0 && code < 256 ? code : PW_E_INTERNAL;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

static void audit(struct pw_ctx *ctx, int rc)
{
	pw_set_interrupted(0); /* the command is over: its record must still be written */
	pw_audit_record(ctx, ctx->db_role, rc, ctx->audit);
}

static void on_signal(int signo)
{
	pw_set_interrupted(signo);
}

/* Before anything could read a secret: no core dump and no ptrace by other processes of the
 * same user (a non-dumpable process's /proc/PID/mem, environ and fds are root's only). */
static void harden(void)
{
	/* 0, 1 and 2 open (/dev/null if they were not): a file or pipe pgward opens never takes
	 * their place, and children get what they expect there */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(PW_E_INTERNAL);
	struct rlimit rl = {0, 0};
	if (setrlimit(RLIMIT_CORE, &rl) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "pgward: error: cannot turn off core dumps\n");
		_exit(PW_E_INTERNAL);
	}
}

/* --backup accepts the STANZA/ID form that backup prints: the STANZA part names the stanza
 * (and must agree with a stanza given as the first argument). */
static int split_backup_id(struct pw_ctx *ctx)
{
	const char *id = pw_cfg_str(ctx->cfg, PW_OPT_BACKUP_ID);
	ctx->backup_id = id;
	const char *slash = id ? strchr(id, '/') : NULL;
	if (!slash)
		return 0;
	size_t n = (size_t)(slash - id);
	if (n == 0 || n >= sizeof ctx->stanza_of_id || !slash[1] || strchr(slash + 1, '/')) {
		pw_error(PW_E_USAGE, "--backup \"%s\" is neither ID nor STANZA/ID", id);
		return pw_error_hint("Give it as \"pgward list\" or \"pgward backup\" print it.");
	}
	memcpy(ctx->stanza_of_id, id, n);
	ctx->stanza_of_id[n] = 0;
	if (ctx->stanza && strcmp(ctx->stanza, ctx->stanza_of_id) != 0) {
		pw_error(PW_E_USAGE, "--backup names stanza \"%s\" but the command names \"%s\"",
		         ctx->stanza_of_id, ctx->stanza);
		return pw_error_hint("Name the stanza once.");
	}
	ctx->stanza = ctx->stanza_of_id;
	ctx->backup_id = slash + 1;
	return 0;
}

int main(int argc, char **argv)
{
	harden();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: blocking I/O returns EINTR and stops */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pw_set_oom_handler(oom);
	pw_mem_route_libraries();
	pw_log_set_sink(log_sink);

	if (argc < 2) {
		pw_help_overview(stderr);
		return PW_E_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 ||
	    strcmp(name, "version") == 0) {
		printf("pgward %s\n", PGWARD_VERSION);
		return 0;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		name = "help";
	const struct pw_command *cmd = pw_command_find(name);
	if (!cmd) {
		pw_error(PW_E_USAGE, "unknown command \"%s\"", name);
		pw_error_hint("Try \"pgward help\".");
		return report(-PW_E_USAGE);
	}
	if (strcmp(cmd->name, "help") != 0 && wants_help(argc - 2, argv + 2)) {
		pw_help_command(stdout, cmd);
		return 0;
	}
	struct pw_ctx ctx = {.command = cmd->name, .audit = json_object()};
	ctx.cfg = pw_config_new();
	int rc =
	    pw_config_parse_args(ctx.cfg, cmd->name, argc - 2, argv + 2, cmd->opts, cmd->nopts);
	if (rc == 0 &&
	    (pw_config_npos(ctx.cfg) < cmd->min_args || pw_config_npos(ctx.cfg) > cmd->max_args)) {
		pw_error(PW_E_USAGE, "wrong number of arguments for \"%s\"", cmd->name);
		rc = pw_error_hint("Try \"pgward help %s\".", cmd->name);
	}
	if (rc == 0 && cmd->takes_stanza && pw_config_npos(ctx.cfg) > 0)
		ctx.stanza = pw_config_pos(ctx.cfg, 0);
	if (rc == 0)
		rc = split_backup_id(&ctx);
	if (rc == 0)
		rc = pw_config_load(ctx.cfg, ctx.stanza);
	/* markdown is check's format; other commands would silently print text */
	if (rc == 0 && strcmp(cmd->name, "check") != 0 &&
	    strcmp(pw_cfg_str(ctx.cfg, PW_OPT_OUTPUT), "markdown") == 0 &&
	    (pw_startswith(pw_cfg_source(ctx.cfg, PW_OPT_OUTPUT), "command line") ||
	     pw_startswith(pw_cfg_source(ctx.cfg, PW_OPT_OUTPUT), "environment"))) {
		pw_error(PW_E_USAGE, "--output=markdown is only for \"pgward check\"");
		rc = pw_error_hint("Use --output=text or --output=json with \"%s\".", cmd->name);
	}
	enum pw_log_level level;
	if (rc == 0 &&
	    (rc = pw_log_parse_level(pw_cfg_str(ctx.cfg, PW_OPT_LOG_LEVEL), &level)) == 0)
		pw_log_set_level(level);
	bool config_ok = rc == 0;
	if (cmd->audited) { /* run by pgward serve: say so in the record and the log */
		serve_job_child_begin(ctx.audit);
		serve_job_child_tag(ctx.stanza, ctx.command, g_tag, sizeof g_tag);
	}
	if (rc == 0)
		rc = cmd->run(&ctx);
	if (cmd->audited && config_ok)
		audit(&ctx, rc);
	if (cmd->audited) /* run by pgward serve: its result for the service */
		serve_job_child_end(ctx.audit, rc);
	int status = report(rc);
	json_decref(ctx.audit);
	pw_free(ctx.db_role);
	pw_config_free(ctx.cfg);
	return status;
}
