/*
 * fuzz_globals.c - libFuzzer target for the globals parser (src/pg/globals.c), the
 * gate between a repository's globals object and the target cluster.
 *
 * The input is parsed; a refusal must be recorded with a message whose bytes are all
 * printable (the excerpt is sanitized). An accepted input is rendered statement by
 * statement (quoting as libpq does with standard_conforming_strings on) and the
 * rendering must parse again into the same statements: what pgward runs is exactly
 * what it checked. Seeds: the real pg_dumpall output in tests/data/globals.
 *
 * Everything allocated is freed; libFuzzer's leak detection checks it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "pg/globals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *quote(char q, const char *s)
{
	struct pw_buf b = PW_BUF_INIT(SIZE_MAX / 2);
	pw_buf_putc(&b, q);
	for (; *s; s++) {
		if (*s == q)
			pw_buf_putc(&b, q);
		pw_buf_putc(&b, *s);
	}
	pw_buf_putc(&b, q);
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

static char *q_ident(void *arg, const char *s)
{
	(void)arg;
	return quote('"', s);
}

static char *q_literal(void *arg, const char *s)
{
	(void)arg;
	return quote('\'', s);
}

static char *render_all(const struct globals *g)
{
	struct pw_buf b = PW_BUF_INIT(SIZE_MAX / 2);
	for (size_t i = 0; i < g->n; i++) {
		char *s = globals_render(&g->v[i], 0, q_ident, q_literal, NULL);
		pw_buf_printf(&b, "%s;\n", s);
		pw_free(s);
	}
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct globals *g = NULL;
	int rc = globals_parse((const char *)data, size, &g);
	if (rc > 0) {
		fprintf(stderr, "globals_parse returned a positive result %d\n", rc);
		abort();
	}
	if (rc < 0) {
		const char *m = pw_error_message();
		if (g != NULL || pw_error_code() != -rc || m[0] == '\0') {
			fprintf(stderr, "refusal without its record (rc %d, \"%s\")\n", rc, m);
			abort();
		}
		for (const unsigned char *c = (const unsigned char *)m; *c; c++)
			if (*c < 0x20 || *c == 0x7f) {
				fprintf(stderr, "control byte 0x%02x in the message\n", *c);
				abort();
			}
		pw_error_clear();
		return 0;
	}
	char *once = render_all(g);
	struct globals *g2 = NULL;
	if (globals_parse(once, strlen(once), &g2) != 0) {
		fprintf(stderr, "the rendering does not parse: %s\n---\n%s\n", pw_error_message(),
		        once);
		abort();
	}
	char *twice = render_all(g2);
	if (g2->n != g->n || strcmp(once, twice) != 0) {
		fprintf(stderr, "the rendering parses differently:\n%s---\n%s", once, twice);
		abort();
	}
	pw_free(twice);
	pw_free(once);
	globals_free(g2);
	globals_free(g);
	return 0;
}
