/*
 * fuzz_s3_list.c - libFuzzer target for the S3 listing parser (src/storage/s3_list.c), which
 * reads what a possibly hostile endpoint sends. Every key handed on must lie under the prefix
 * it was asked for (less the stripped part), be a C string no longer than a key may be, and
 * go through the key rules and the display sanitizer without a memory error; a reply that is
 * refused records an error. Seeds: tests/data/s3.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "storage/s3_list.h"
#include "storage/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FULL_PREFIX "pre/st/"
#define STRIP 4

static int on_key(void *arg, const struct stor_info *i)
{
	size_t *n = arg;
	size_t len = strlen(i->key);
	if (len > 4096 * 3) {
		fprintf(stderr, "a key of %zu bytes was handed on\n", len);
		abort();
	}
	/* the key less the strip must still begin with the rest of the prefix */
	if (strncmp(i->key, &FULL_PREFIX[STRIP], strlen(FULL_PREFIX) - STRIP) != 0) {
		fprintf(stderr, "a key outside the prefix was handed on: %s\n", i->key);
		abort();
	}
	(void)stor_key_valid(i->key);
	char shown[64];
	pw_str_printable(shown, sizeof shown, i->key);
	if (strlen(shown) >= sizeof shown)
		abort();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	char *tok = NULL, *after = NULL;
	int rc = s3_list_parse(data, size, FULL_PREFIX, STRIP, on_key, &n, &tok, &after);
	if (rc < 0 && (pw_error_code() != -rc || !pw_error_message()[0])) {
		fprintf(stderr, "s3_list_parse returned %d without recording it\n", rc);
		abort();
	}
	if ((rc < 0 && (tok || after)) || (tok && after)) {
		fprintf(stderr, "a parse returned a token and a key to start after, or either "
		                "after failing\n");
		abort();
	}
	pw_free(tok);
	pw_free(after);
	pw_error_clear();
	return 0;
}
