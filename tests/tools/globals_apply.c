/*
 * globals_apply.c - drive globals_apply() (src/pg/globals.h) from a test, for the modes
 * that no command uses yet (the restore drill's strip_privileged, no_tablespaces).
 *
 *     globals_apply CONNINFO FILE [strip] [no-tablespaces] [allow]
 *
 * Parses FILE (pg_dumpall --globals-only text), applies it on CONNINFO (password from
 * PGPASSWORD, as libpq reads it), prints the report (one "existing: ", "privileged: "
 * line each, a "skipped: " line per role setting not applied, then "stripped: yes|no" and the counts) and exits with pgward's error code.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "pg/globals.h"
#include "pg/pg.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
		        "usage: globals_apply CONNINFO FILE [strip] [no-tablespaces] [allow]\n");
		return 2;
	}
	struct globals_apply_opts o = {0};
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "strip") == 0)
			o.strip_privileged = true;
		else if (strcmp(argv[i], "no-tablespaces") == 0)
			o.no_tablespaces = true;
		else if (strcmp(argv[i], "allow") == 0)
			o.allow_privileged = true;
	}
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 4;
	}
	struct pw_buf b = PW_BUF_INIT(GLOBALS_MAX_INPUT);
	char chunk[65536];
	size_t n;
	int rc = 0;
	while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rc = pw_buf_append(&b, chunk, n);
	fclose(f);
	struct globals *g = NULL;
	if (rc == 0)
		rc = globals_parse(b.data ? (const char *)b.data : "", b.len, &g);
	struct pg_conn *c = NULL;
	struct pg_connect_opts co = {.conninfo = argv[1]};
	if (rc == 0)
		rc = pg_connect(&co, &c);
	struct globals_report r = {0};
	if (rc == 0)
		rc = globals_apply(c, g, &o, &r);
	for (size_t i = 0; i < r.nexisting; i++)
		printf("existing: %s\n", r.existing[i]);
	for (size_t i = 0; i < r.nprivileged; i++)
		printf("privileged: %s\n", r.privileged[i]);
	for (size_t i = 0; i < r.nskipped_listed; i++)
		printf("skipped: %s %s: %s: %s\n", r.skipped[i].role, r.skipped[i].param,
		       r.skipped[i].why, r.skipped[i].sql ? r.skipped[i].sql : "(too long)");
	printf("stripped: %s\nroles %zu memberships %zu settings %zu comments %zu tablespaces "
	       "%zu\n",
	       r.stripped ? "yes" : "no", r.roles, r.memberships, r.settings, r.comments,
	       r.tablespaces);
	if (rc < 0)
		fprintf(stderr, "ERROR: %s\nHINT: %s\n", pw_error_message(), pw_error_hint_text());
	globals_report_free(&r);
	globals_free(g);
	pg_close(c);
	pw_buf_free(&b, 0);
	return rc < 0 ? -rc : 0;
}
