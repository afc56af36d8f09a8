/* cmd_help.c - help text, exit codes, option reference and the man page, from one source. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "common/err.h"

static void wrap(FILE *out, const char *text, int indent, int width)
{
	const char *p = text;
	while (*p) {
		if (*p == '\n') {
			fputc('\n', out);
			p++;
			continue;
		}
		int col = indent;
		fprintf(out, "%*s", indent, "");
		for (;;) {
			size_t w = strcspn(p, " \n");
			if (col > indent && col + 1 + (int)w > width)
				break;
			if (col > indent) {
				fputc(' ', out);
				col++;
			}
			fwrite(p, 1, w, out);
			col += (int)w;
			p += w;
			if (*p == ' ')
				p++;
			if (!*p || *p == '\n')
				break;
		}
		fputc('\n', out);
		if (*p == '\n')
			p++;
	}
}

/* How an option is given: on the command line when it may be, else as its environment variable
 * or config key (secrets and per-host settings are refused on the command line, so help must
 * not show them as flags). */
static void opt_spelling(const struct pw_opt_def *d, char *out, size_t n)
{
	const char *arg = d->arg ? d->arg : "";
	if (d->where & W_CLI || !d->where) {
		if (d->short_name)
			snprintf(out, n, "-%c, --%s%s%s", d->short_name, d->name, *arg ? " " : "",
			         arg);
		else
			snprintf(out, n, "    --%s%s%s", d->name, *arg ? "=" : "", arg);
	} else if (d->where & W_ENV) {
		char env[64];
		pw_opt_env_name(d, env, sizeof env);
		snprintf(out, n, "    %s=%s (env)", env, *arg ? arg : "1");
	} else {
		snprintf(out, n, "    %s = %s (file)", d->name, *arg ? arg : "true");
	}
}

/* Where one option means something narrower for one command than its table text says. */
static const struct {
	const char *command;
	enum pw_opt_id opt;
	const char *help;
} help_overrides[] = {
    {"keygen", PW_OPT_PASSPHRASE,
     "protect the new identity file with a passphrase (asked on the terminal, or from "
     "passphrase-file / PGWARD_KEY_PASSPHRASE); decrypting with it asks for it again"},
    {"backup", PW_OPT_DRY_RUN,
     "check everything the backup needs (recipients, sign-key, repository, connection, the "
     "role: read-only, every table readable), print the verdict and stop: nothing is dumped "
     "or written"},
    {"keygen", PW_OPT_OUT_FILE,
     "write the new key to FILE (created 0600, never overwritten; - = standard output)"},
};

static const char *opt_help(const struct pw_command *c, const struct pw_opt_def *d)
{
	for (size_t i = 0; c && i < sizeof help_overrides / sizeof help_overrides[0]; i++)
		if (strcmp(help_overrides[i].command, c->name) == 0 &&
		    pw_opt_def(help_overrides[i].opt) == d)
			return help_overrides[i].help;
	return d->help;
}

static void opt_line(FILE *out, const struct pw_command *c, const struct pw_opt_def *d)
{
	char left[128];
	opt_spelling(d, left, sizeof left);
	fprintf(out, "  %-30s", left);
	if (strlen(left) > 30)
		fprintf(out, "\n  %-30s", "");
	fprintf(out, " %s\n", opt_help(c, d));
}

void pw_help_command(FILE *out, const struct pw_command *c)
{
	fprintf(out, "pgward %s - %s\n\nUsage: pgward %s %s\n\n", c->name, c->summary, c->name,
	        c->usage);
	wrap(out, c->description, 0, 80);
	fprintf(out, "\nOptions:\n");
	for (size_t i = 0; i < c->nopts; i++)
		opt_line(out, c, pw_opt_def(c->opts[i]));
	opt_line(out, NULL,
	         &(struct pw_opt_def){.name = "help", .short_name = 'h', .help = "show this help"});
	if (c->audited)
		fprintf(out, "\nEach run appends one record to the audit log (\"pgward help "
		             "audit\").\n");
	fprintf(out, "\nExit status:\n  0   success\n  2   bad command line\n  3   bad "
	             "configuration\n  4   input/output error\n  5   refused for safety\n");
	if (c->exit_codes)
		fputs(c->exit_codes, out);
	fprintf(out, "  (\"pgward help exit-codes\" lists them all)\n");
}

void pw_help_overview(FILE *out)
{
	fprintf(out,
	        "pgward %s - least-privilege, encrypted, verified PostgreSQL backups\n\n"
	        "Usage: pgward COMMAND [OPTIONS] [ARGS]\n\nCommands:\n",
	        PGWARD_VERSION);
	for (size_t i = 0; i < pw_ncommands; i++)
		fprintf(out, "  %-10s %s\n", pw_commands[i].name, pw_commands[i].summary);
	fprintf(out, "\n\"pgward help COMMAND\" or \"pgward COMMAND --help\" shows a command's "
	             "options.\n\"pgward help config\" lists every option, config key and "
	             "environment variable.\n\"pgward help exit-codes\" lists the exit codes.\n"
	             "\"pgward help man\" prints the man page (roff).\n"
	             "\"pgward --version\" prints the version.\n");
}

static void help_exit_codes(FILE *out)
{
	int code;
	const char *name, *summary;
	fprintf(out, "Exit codes (stable; the same for every command):\n\n");
	for (size_t i = 0; pw_errcode_at(i, &code, &name, &summary) == 0; i++)
		fprintf(out, "  %3d  %-12s %s\n", code, name, summary);
}

static const char *where_text(unsigned w, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s", w & W_FILE ? "[global] " : "", w & W_STANZA ? "[stanza] " : "",
	         w & W_ENV ? "env " : "", w & W_CLI ? "command-line" : "");
	return buf;
}

static void help_config(FILE *out)
{
	fprintf(out,
	        "Options: command line (--name=value) beats environment (PGWARD_NAME) beats the "
	        "\nconfiguration file ([<stanza>] beats [global]). The file is --config, "
	        "PGWARD_CONFIG,\nor /etc/pgward/pgward.conf when it exists. Secrets (marked "
	        "secret) are refused on the\ncommand line; a config file holding one must be mode "
	        "0600. Any config file must be a\nregular file of root or the user running pgward "
	        "that no one else can write.\n\n");
	for (size_t i = 0; i < PW_OPT__COUNT; i++) {
		const struct pw_opt_def *d = pw_opt_def((enum pw_opt_id)i);
		char env[64], w[96];
		pw_opt_env_name(d, env, sizeof env);
		fprintf(out, "%s%s\n", d->name, d->secure ? " (secret)" : "");
		fprintf(out, "    %s\n", d->help);
		fprintf(out, "    where: %s", where_text(d->where, w, sizeof w));
		if (d->where & W_ENV)
			fprintf(out, "  variable: %s", env);
		if (d->def) {
			size_t n = strcspn(d->def, "|");
			fprintf(out, "  default: %.*s", (int)n, d->def);
		}
		fprintf(out, "\n");
	}
}

static void roff_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\n') {
			fputs("\n.br\n", out);
			while (s[1] == ' ')
				s++;
		} else
			fputc(*s, out);
	}
}

static void help_man(FILE *out)
{
	int code;
	const char *name, *summary;
	fprintf(out, "'\\\" t\n.\\\" generated by \"pgward help man\" from the command and option "
	             "tables\n");
	fprintf(out, ".TH PGWARD 1 \"\" \"pgward %s\" \"User Commands\"\n", PGWARD_VERSION);
	fprintf(out, ".SH NAME\npgward \\- least\\-privilege, encrypted, verified PostgreSQL "
	             "backups\n.SH SYNOPSIS\n.B pgward\n.I COMMAND\n[\\fIOPTIONS\\fR] "
	             "[\\fIARGS\\fR]\n.SH COMMANDS\n");
	for (size_t i = 0; i < pw_ncommands; i++) {
		const struct pw_command *c = &pw_commands[i];
		fprintf(out, ".SS \"pgward %s\"\n", c->name);
		fprintf(out, ".B pgward %s\n", c->name);
		roff_escape(out, c->usage);
		fprintf(out, "\n.PP\n");
		roff_escape(out, c->description);
		fprintf(out, "\n.PP\nOptions:\n.RS\n");
		for (size_t k = 0; k < c->nopts; k++) {
			const struct pw_opt_def *d = pw_opt_def(c->opts[k]);
			char sp[128];
			opt_spelling(d, sp, sizeof sp);
			fprintf(out, ".TP\n\\fB");
			roff_escape(out, sp + strspn(sp, " "));
			fprintf(out, "\\fR\n");
			roff_escape(out, opt_help(c, d));
			fprintf(out, "\n");
		}
		fprintf(out, ".RE\n");
		if (c->audited)
			fprintf(out, ".PP\nEach run appends one record to the audit log.\n");
		if (c->exit_codes) {
			/* the command's own codes, as "pgward help COMMAND" lists them */
			fprintf(out, ".PP\nExit status besides 0, 2, 3, 4 and 5:\n.RS\n");
			for (const char *l = c->exit_codes; *l;) {
				size_t n = strcspn(l, "\n");
				const char *p = l + strspn(l, " ");
				size_t digits = strspn(p, "0123456789");
				const char *t =
				    p; /* a line without a code continues the one before */
				if (digits && p + digits < l + n) {
					t = p + digits + strspn(p + digits, " ");
					fprintf(out, ".TP\n\\fB%.*s\\fR\n", (int)digits, p);
				}
				if (t < l + n) {
					char line[512];
					snprintf(line, sizeof line, "%.*s", (int)(l + n - t), t);
					roff_escape(out, line);
					fputc('\n', out);
				}
				l += n + (l[n] == '\n');
			}
			fprintf(out, ".RE\n");
		}
	}
	fprintf(out, ".SH CONFIGURATION\nOptions come from the command line, then "
	             "PGWARD_\\fINAME\\fR environment variables, then the INI file "
	             "(\\fB\\-\\-config\\fR, PGWARD_CONFIG or /etc/pgward/pgward.conf): "
	             "[global] then [\\fIstanza\\fR]. Run \\fBpgward help config\\fR for the "
	             "full list.\n.SH EXIT STATUS\n.TS\nl l l.\n");
	for (size_t i = 0; pw_errcode_at(i, &code, &name, &summary) == 0; i++)
		fprintf(out, "%d\t%s\t%s\n", code, name, summary);
	fprintf(out, ".TE\n.SH SEE ALSO\n\\fBage\\fR(1), \\fBpg_dump\\fR(1), "
	             "\\fBpg_restore\\fR(1)\n");
}

int cmd_help(struct pw_ctx *ctx)
{
	const char *topic = pw_config_pos(ctx->cfg, 0);
	if (!topic) {
		pw_help_overview(stdout);
		return 0;
	}
	if (strcmp(topic, "exit-codes") == 0) {
		help_exit_codes(stdout);
		return 0;
	}
	if (strcmp(topic, "config") == 0) {
		help_config(stdout);
		return 0;
	}
	if (strcmp(topic, "man") == 0) {
		help_man(stdout);
		return 0;
	}
	const struct pw_command *c = pw_command_find(topic);
	if (!c) {
		pw_error(PW_E_USAGE, "unknown command \"%s\"", topic);
		return pw_error_hint("Try \"pgward help\".");
	}
	pw_help_command(stdout, c);
	return 0;
}
