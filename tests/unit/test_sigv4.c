/*
 * test_sigv4.c - the AWS SigV4 test suite (tests/data/sigv4, from aws-c-auth, Apache-2.0):
 * for each case, the canonical request, string to sign and signature of both the header
 * form and the presigned-query form must match byte for byte.
 */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/enc.h"
#include "common/mem.h"
#include "crypto/prim.h"
#include "crypto/sigv4.h"

struct tcase {
	char dir[2048];
	char name[256];
};

static char *slurp(const char *dir, const char *file)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	size_t r = fread(b, 1, (size_t)n, f);
	b[r] = 0;
	fclose(f);
	return b;
}

static void pct_decode(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		uint8_t v;
		if (*p == '%' && p[1] && p[2] && pw_hex_decode(p + 1, 2, &v, 1) == 0) {
			*o++ = (char)v;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

static void expect_file(const struct tcase *t, const char *file, const char *got)
{
	char *want = slurp(t->dir, file);
	assert_non_null(want);
	if (strcmp(want, got) != 0)
		fail_msg("%s/%s differs:\n--- expected\n%s\n--- got\n%s", t->name, file, want, got);
	free(want);
}

static void run_case(void **state)
{
	const struct tcase *t = *state;
	char *req = slurp(t->dir, "request.txt");
	char *ctxs = slurp(t->dir, "context.json");
	assert_non_null(req);
	assert_non_null(ctxs);
	json_error_t je;
	json_t *ctx = json_loads(ctxs, 0, &je);
	assert_non_null(ctx);
	json_t *c = json_object_get(ctx, "credentials");
	struct sigv4_cred cred = {
	    .access_key = json_string_value(json_object_get(c, "access_key_id")),
	    .secret_key = json_string_value(json_object_get(c, "secret_access_key")),
	    .session_token = json_string_value(json_object_get(c, "token")),
	    .omit_token = json_is_true(json_object_get(ctx, "omit_session_token")),
	};
	struct tm tm = {0};
	strptime(json_string_value(json_object_get(ctx, "timestamp")), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct sigv4_scope scope = {json_string_value(json_object_get(ctx, "region")),
	                            json_string_value(json_object_get(ctx, "service")),
	                            timegm(&tm)};

	/* request line: METHOD SP target SP HTTP/1.1 (the target may contain spaces) */
	char *body = strstr(req, "\n\n");
	if (body) {
		*body = 0;
		body += 2;
	} else {
		body = req + strlen(req);
	}
	char *line_end = strchr(req, '\n');
	if (line_end)
		*line_end = 0;
	char *sp = strchr(req, ' ');
	char *http = strstr(req, " HTTP/1.1");
	assert_non_null(sp);
	assert_non_null(http);
	*sp = 0;
	*http = 0;
	char *target = sp + 1;
	char *q = strchr(target, '?');
	struct sigv4_kv query[32];
	size_t nq = 0;
	if (q) {
		*q++ = 0;
		for (char *save = NULL, *tok = strtok_r(q, "&", &save); tok;
		     tok = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(tok, '=');
			if (eq)
				*eq++ = 0;
			pct_decode(tok);
			if (eq)
				pct_decode(eq);
			query[nq++] = (struct sigv4_kv){tok, eq ? eq : ""};
		}
	}
	/* headers with folded continuation lines */
	struct sigv4_kv hdrs[32];
	char *vals[32];
	size_t nh = 0;
	for (char *l = line_end ? line_end + 1 : NULL; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		if ((*l == ' ' || *l == '\t') && nh) {
			size_t a = strlen(vals[nh - 1]), b = strlen(l);
			vals[nh - 1] = realloc(vals[nh - 1], a + b + 2);
			vals[nh - 1][a] = ' ';
			memcpy(vals[nh - 1] + a + 1, l, b + 1);
			hdrs[nh - 1].value = vals[nh - 1];
		} else {
			char *colon = strchr(l, ':');
			assert_non_null(colon);
			*colon = 0;
			vals[nh] = strdup(colon + 1);
			hdrs[nh] = (struct sigv4_kv){l, vals[nh]};
			nh++;
		}
		l = nl ? nl + 1 : NULL;
	}
	uint8_t h[32];
	char hex[65];
	pw_sha256(body, strlen(body), h);
	pw_hex_encode(h, 32, hex);
	bool sign_body = json_is_true(json_object_get(ctx, "sign_body"));
	struct sigv4_input in = {.method = req,
	                         .path = target,
	                         .query = query,
	                         .nquery = nq,
	                         .headers = hdrs,
	                         .nheaders = nh,
	                         .payload_hash = hex,
	                         .normalize_path = json_is_true(json_object_get(ctx, "normalize")),
	                         .sign_payload_header = sign_body};
	struct sigv4_output out;
	assert_int_equal(sigv4_sign(&in, &cred, &scope, &out), 0);
	expect_file(t, "header-canonical-request.txt", pw_buf_str(&out.canonical_request));
	expect_file(t, "header-string-to-sign.txt", pw_buf_str(&out.string_to_sign));
	expect_file(t, "header-signature.txt", out.signature);
	sigv4_output_free(&out);

	char *qcr = slurp(t->dir, "query-canonical-request.txt");
	if (qcr) {
		free(qcr);
		long exp = (long)json_integer_value(json_object_get(ctx, "expiration_in_seconds"));
		in.sign_payload_header = false;
		assert_int_equal(sigv4_presign(&in, &cred, &scope, exp, &out), 0);
		expect_file(t, "query-canonical-request.txt", pw_buf_str(&out.canonical_request));
		expect_file(t, "query-string-to-sign.txt", pw_buf_str(&out.string_to_sign));
		expect_file(t, "query-signature.txt", out.signature);
		sigv4_output_free(&out);
	}
	for (size_t i = 0; i < nh; i++)
		free(vals[i]);
	json_decref(ctx);
	free(ctxs);
	free(req);
}

static void test_s3_encoding(void **state)
{
	(void)state;
	struct pw_buf b = PW_BUF_INIT(4096);
	const char *key = "db/2026 backup+x/ü~.age";
	assert_int_equal(sigv4_uri_encode(&b, key, strlen(key), true), 0);
	assert_string_equal(pw_buf_str(&b), "db/2026%20backup%2Bx/%C3%BC~.age");
	pw_buf_reset(&b);
	assert_int_equal(sigv4_uri_encode(&b, "a/b", 3, false), 0);
	assert_string_equal(pw_buf_str(&b), "a%2Fb");
	pw_buf_free(&b, 0);
	/* a bare parameter is signed as "uploads=" and the query is sorted */
	struct sigv4_kv q[] = {{"uploads", NULL}, {"prefix", "a b/c"}};
	struct sigv4_kv hd[] = {{"Host", "127.0.0.1:7480"}};
	struct sigv4_input in = {"POST", "/bucket/key",      q,     2,   hd,
	                         1,      "UNSIGNED-PAYLOAD", false, true};
	struct sigv4_cred cr = {"AK", "SK", NULL, false};
	struct sigv4_scope sc = {"us-east-1", "s3", 0};
	struct sigv4_output out;
	assert_int_equal(sigv4_sign(&in, &cr, &sc, &out), 0);
	assert_string_equal(pw_buf_str(&out.encoded_query), "prefix=a%20b%2Fc&uploads=");
	assert_non_null(
	    strstr(pw_buf_str(&out.canonical_request), "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	assert_int_equal(out.nextra, 2);
	sigv4_output_free(&out);
}

static int cmp_case(const void *a, const void *b)
{
	return strcmp(((const struct tcase *)a)->name, ((const struct tcase *)b)->name);
}

int main(void)
{
	char dir[1024];
	pw_test_data("sigv4", dir, sizeof dir);
	DIR *dh = opendir(dir);
	if (!dh)
		return 1;
	struct tcase *cases = calloc(128, sizeof *cases);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dh)) && n < 127) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "LICENSE") == 0)
			continue;
		snprintf(cases[n].dir, sizeof cases[n].dir, "%s/%s", dir, e->d_name);
		snprintf(cases[n].name, sizeof cases[n].name, "%s", e->d_name);
		n++;
	}
	closedir(dh);
	qsort(cases, n, sizeof *cases, cmp_case);
	struct CMUnitTest *tests = calloc(n + 1, sizeof *tests);
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, &cases[i]};
	tests[n] = (struct CMUnitTest){"s3_encoding", test_s3_encoding, NULL, NULL, NULL};
	int failed = _cmocka_run_group_tests("sigv4", tests, n + 1, pw_test_group_setup, NULL);
	free(tests);
	free(cases);
	return failed;
}
