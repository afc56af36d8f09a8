/*
 * promcheck.h - a strict checker of the Prometheus text exposition format 0.0.4, for the
 * tests of /metrics (tests/unit/test_service_render.c, tests/tools/promcheck.c's command).
 *
 * Stricter than Prometheus' own parser where our output should be: every line is a
 * "# HELP", a "# TYPE" or a sample (no other comment, no blank line, no CR), tokens are
 * separated by exactly one space, the text ends with a newline. Checks:
 *   - metric and label names match their grammar, no label name starts with "__", no
 *     label appears twice in a sample;
 *   - label values are valid UTF-8 without control characters, with only the escapes \\,
 *     \" and \n; HELP texts only \\ and \n;
 *   - values are floats as Prometheus reads them (or NaN, +Inf, -Inf), timestamps integers;
 *   - every family has exactly one HELP and one TYPE, both before its first sample; a known
 *     type; a counter's name ends in _total; a family's samples are adjacent;
 *   - no series (name and labels) appears twice.
 */
#ifndef PW_TESTS_PROMCHECK_H
#define PW_TESTS_PROMCHECK_H
#include <stddef.h>

struct promcheck_family {
	char name[256];
	char type[16];
	size_t samples;
};

struct promcheck_result {
	struct promcheck_family *family; /* in order of appearance (free with promcheck_free) */
	size_t nfamily;
	size_t nsamples;
	char error[512]; /* "line N: what" when the text is rejected */
};

/* 0 when the text is valid, -1 with res->error set. */
int promcheck(const char *text, size_t len, struct promcheck_result *res);
void promcheck_free(struct promcheck_result *res);
#endif
