/*
 * sigv4.h - AWS Signature Version 4 (header and presigned-query forms), pure.
 *
 * Written because Debian 12's libcurl signs S3 query strings wrongly; used
 * by the S3 driver and later for RDS IAM tokens. The signer takes the
 * *decoded* path and query parameters and does all encoding itself, and
 * hands back the encoded path and query the request must use, so what is
 * signed is exactly what is sent.
 */
#ifndef PW_CRYPTO_SIGV4_H
#define PW_CRYPTO_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"

struct sigv4_kv {
	const char *name;
	const char *value; /* query: NULL for a bare parameter ("?uploads") */
};

struct sigv4_input {
	const char *method;
	const char *path; /* decoded, starting with '/' */
	const struct sigv4_kv *query;
	size_t nquery;
	const struct sigv4_kv *headers; /* as sent; must include host */
	size_t nheaders;
	const char *payload_hash; /* lowercase hex SHA-256, or "UNSIGNED-PAYLOAD" */
	bool normalize_path;      /* remove dot segments and empty segments (not for S3) */
	bool sign_payload_header; /* add and sign x-amz-content-sha256 (S3 requires it) */
};

struct sigv4_cred {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* or NULL */
	bool omit_token;           /* add the token after signing (some STS flows) */
};

struct sigv4_scope {
	const char *region;
	const char *service;
	time_t when;
};

#define SIGV4_MAX_EXTRA 3
struct sigv4_output {
	struct pw_buf canonical_request;
	struct pw_buf string_to_sign;
	struct pw_buf signed_headers;
	struct pw_buf authorization; /* header form: the Authorization value */
	struct pw_buf encoded_path;
	struct pw_buf encoded_query; /* header form: the canonical query; presign: with X-Amz-* */
	char signature[65];
	char amz_date[17];
	/* headers the request must also carry (header form): name/value pairs */
	char *extra_name[SIGV4_MAX_EXTRA];
	char *extra_value[SIGV4_MAX_EXTRA];
	size_t nextra;
};

int sigv4_sign(const struct sigv4_input *in, const struct sigv4_cred *cred,
               const struct sigv4_scope *scope, struct sigv4_output *out);
int sigv4_presign(const struct sigv4_input *in, const struct sigv4_cred *cred,
                  const struct sigv4_scope *scope, long expires, struct sigv4_output *out);
void sigv4_output_free(struct sigv4_output *out);

/* RFC 3986 encoding as SigV4 wants it (unreserved kept; '/' kept when keep_slash). */
int sigv4_uri_encode(struct pw_buf *out, const char *s, size_t n, bool keep_slash);

#endif
