/* sigv4.c - AWS SigV4 canonical requests and signatures on OpenSSL HMAC/SHA-256. */
#include "crypto/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"

#define SIGV4_BUF_MAX (1024 * 1024)

int sigv4_uri_encode(struct pw_buf *out, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
		    (keep_slash && c == '/')) {
			rc = pw_buf_putc(out, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			rc = pw_buf_append(out, e, 3);
		}
	}
	return rc;
}

/* Remove "." and ".." segments and empty segments; keep a trailing slash. */
static char *normalize(const char *path)
{
	size_t n = strlen(path);
	char **segs = pw_calloc(n + 1, sizeof *segs);
	size_t ns = 0;
	char *copy = pw_strdup(path);
	bool trailing = n > 1 && path[n - 1] == '/';
	for (char *save = NULL, *t = strtok_r(copy, "/", &save); t;
	     t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (ns)
				ns--;
			continue;
		}
		segs[ns++] = t;
	}
	struct pw_buf b = PW_BUF_INIT(SIGV4_BUF_MAX);
	for (size_t i = 0; i < ns; i++)
		pw_buf_printf(&b, "/%s", segs[i]);
	if (ns == 0 || trailing)
		pw_buf_putc(&b, '/');
	pw_buf_str(&b);
	pw_free(copy);
	pw_free(segs);
	return (char *)b.data;
}

struct hdr {
	char *name; /* lowercase */
	struct pw_buf value;
};

static int cmp_hdr(const void *a, const void *b)
{
	return strcmp(((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

/* Trim and collapse runs of whitespace (including folded lines) to one space. */
static void append_trimmed(struct pw_buf *b, const char *v)
{
	while (isspace((unsigned char)*v))
		v++;
	bool space = false;
	for (; *v; v++) {
		if (isspace((unsigned char)*v)) {
			space = true;
			continue;
		}
		if (space)
			pw_buf_putc(b, ' ');
		space = false;
		pw_buf_putc(b, *v);
	}
}

struct qp {
	struct pw_buf k, v;
};

static int cmp_qp(const void *a, const void *b)
{
	const struct qp *x = a, *y = b;
	int c = strcmp(pw_buf_str((struct pw_buf *)&x->k), pw_buf_str((struct pw_buf *)&y->k));
	return c ? c
	         : strcmp(pw_buf_str((struct pw_buf *)&x->v), pw_buf_str((struct pw_buf *)&y->v));
}

static void canonical_query(const struct sigv4_kv *q, size_t n, const struct sigv4_kv *extra,
                            size_t nextra, struct pw_buf *out)
{
	size_t total = n + nextra;
	struct qp *p = pw_calloc(total ? total : 1, sizeof *p);
	for (size_t i = 0; i < total; i++) {
		const struct sigv4_kv *kv = i < n ? &q[i] : &extra[i - n];
		p[i].k = PW_BUF_INIT(SIGV4_BUF_MAX);
		p[i].v = PW_BUF_INIT(SIGV4_BUF_MAX);
		sigv4_uri_encode(&p[i].k, kv->name, strlen(kv->name), false);
		if (kv->value)
			sigv4_uri_encode(&p[i].v, kv->value, strlen(kv->value), false);
		pw_buf_str(&p[i].k);
		pw_buf_str(&p[i].v);
	}
	if (total)
		qsort(p, total, sizeof *p, cmp_qp);
	for (size_t i = 0; i < total; i++) {
		pw_buf_printf(out, "%s%s=%s", i ? "&" : "", pw_buf_str(&p[i].k),
		              pw_buf_str(&p[i].v));
		pw_buf_free(&p[i].k, 0);
		pw_buf_free(&p[i].v, 0);
	}
	pw_buf_str(out);
	pw_free(p);
}

static void add_extra(struct sigv4_output *out, const char *name, const char *value)
{
	out->extra_name[out->nextra] = pw_strdup(name);
	out->extra_value[out->nextra] = pw_strdup(value);
	out->nextra++;
}

static int hmac(const uint8_t *key, size_t klen, const char *msg, uint8_t out[32])
{
	return pw_hmac_sha256(key, klen, (const uint8_t *)msg, strlen(msg), out);
}

static int do_sign(const struct sigv4_input *in, const struct sigv4_cred *cred,
                   const struct sigv4_scope *scope, long expires, struct sigv4_output *out)
{
	bool presign = expires > 0;
	char date[PW_TIME_MAX], stamp[PW_TIME_MAX], scope_str[256];
	pw_strlcpy(out->amz_date, pw_time_format(scope->when, PW_TIME_COMPACT, stamp),
	           sizeof out->amz_date);
	pw_time_format(scope->when, PW_TIME_DATE_COMPACT, date);
	snprintf(scope_str, sizeof scope_str, "%s/%s/%s/aws4_request", date, scope->region,
	         scope->service);

	/* headers: given + x-amz-date (+ content sha, + token) */
	size_t cap = in->nheaders + 3;
	struct hdr *h = pw_calloc(cap, sizeof *h);
	size_t nh = 0;
	struct sigv4_kv extra[3];
	size_t nex = 0;
	if (!presign) {
		extra[nex++] = (struct sigv4_kv){"X-Amz-Date", out->amz_date};
		if (in->sign_payload_header)
			extra[nex++] = (struct sigv4_kv){"X-Amz-Content-Sha256", in->payload_hash};
		if (cred->session_token && !cred->omit_token)
			extra[nex++] =
			    (struct sigv4_kv){"X-Amz-Security-Token", cred->session_token};
	}
	for (size_t i = 0; i < in->nheaders + nex; i++) {
		const struct sigv4_kv *kv =
		    i < in->nheaders ? &in->headers[i] : &extra[i - in->nheaders];
		char *lname = pw_strdup(kv->name);
		for (char *c = lname; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		size_t k;
		for (k = 0; k < nh; k++)
			if (strcmp(h[k].name, lname) == 0)
				break;
		if (k == nh) {
			h[nh].name = lname;
			h[nh].value = PW_BUF_INIT(SIGV4_BUF_MAX);
			nh++;
		} else {
			pw_free(lname);
			pw_buf_putc(&h[k].value, ',');
		}
		append_trimmed(&h[k].value, kv->value);
	}
	qsort(h, nh, sizeof *h, cmp_hdr);
	for (size_t i = 0; i < nh; i++)
		pw_buf_printf(&out->signed_headers, "%s%s", i ? ";" : "", h[i].name);
	pw_buf_str(&out->signed_headers);

	/* path */
	char *path = in->normalize_path ? normalize(in->path) : pw_strdup(in->path);
	sigv4_uri_encode(&out->encoded_path, path, strlen(path), true);
	pw_buf_str(&out->encoded_path);
	pw_free(path);

	/* query */
	struct sigv4_kv pq[6];
	size_t npq = 0;
	char cred_str[512], exp_str[32];
	if (presign) {
		snprintf(cred_str, sizeof cred_str, "%s/%s", cred->access_key, scope_str);
		snprintf(exp_str, sizeof exp_str, "%ld", expires);
		pq[npq++] = (struct sigv4_kv){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
		pq[npq++] = (struct sigv4_kv){"X-Amz-Credential", cred_str};
		pq[npq++] = (struct sigv4_kv){"X-Amz-Date", out->amz_date};
		pq[npq++] = (struct sigv4_kv){"X-Amz-Expires", exp_str};
		if (cred->session_token && !cred->omit_token)
			pq[npq++] = (struct sigv4_kv){"X-Amz-Security-Token", cred->session_token};
		pq[npq++] =
		    (struct sigv4_kv){"X-Amz-SignedHeaders", pw_buf_str(&out->signed_headers)};
	}
	struct pw_buf cq = PW_BUF_INIT(SIGV4_BUF_MAX);
	canonical_query(in->query, in->nquery, pq, npq, &cq);

	/* canonical request */
	struct pw_buf *cr = &out->canonical_request;
	pw_buf_printf(cr, "%s\n%s\n%s\n", in->method, pw_buf_str(&out->encoded_path),
	              pw_buf_str(&cq));
	for (size_t i = 0; i < nh; i++)
		pw_buf_printf(cr, "%s:%s\n", h[i].name, pw_buf_str(&h[i].value));
	pw_buf_printf(cr, "\n%s\n%s", pw_buf_str(&out->signed_headers), in->payload_hash);

	uint8_t hash[32];
	char hexhash[65];
	pw_sha256(cr->data, cr->len, hash);
	pw_hex_encode(hash, 32, hexhash);
	pw_buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", out->amz_date,
	              scope_str, hexhash);

	/* signing key: HMAC chain over date, region, service, "aws4_request" */
	size_t sklen = strlen(cred->secret_key) + 5;
	char *k0 = pw_malloc(sklen);
	snprintf(k0, sklen, "AWS4%s", cred->secret_key);
	uint8_t k1[32], k2[32], k3[32], k4[32], sig[32];
	int rc = hmac((const uint8_t *)k0, strlen(k0), date, k1);
	if (rc == 0)
		rc = hmac(k1, 32, scope->region, k2);
	if (rc == 0)
		rc = hmac(k2, 32, scope->service, k3);
	if (rc == 0)
		rc = hmac(k3, 32, "aws4_request", k4);
	if (rc == 0)
		rc = hmac(k4, 32, pw_buf_str(&out->string_to_sign), sig);
	OPENSSL_cleanse(k0, sklen);
	OPENSSL_cleanse(k4, sizeof k4);
	pw_free(k0);
	if (rc == 0) {
		pw_hex_encode(sig, 32, out->signature);
		if (presign) {
			pw_buf_printf(&out->encoded_query, "%s&X-Amz-Signature=%s", pw_buf_str(&cq),
			              out->signature);
			if (cred->session_token && cred->omit_token) {
				struct pw_buf t = PW_BUF_INIT(SIGV4_BUF_MAX);
				sigv4_uri_encode(&t, cred->session_token,
				                 strlen(cred->session_token), false);
				pw_buf_printf(&out->encoded_query, "&X-Amz-Security-Token=%s",
				              pw_buf_str(&t));
				pw_buf_free(&t, 0);
			}
		} else {
			pw_buf_append(&out->encoded_query, cq.data, cq.len);
			pw_buf_printf(&out->authorization,
			              "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
			              "Signature=%s",
			              cred->access_key, scope_str, pw_buf_str(&out->signed_headers),
			              out->signature);
			for (size_t i = 0; i < nex; i++)
				add_extra(out, extra[i].name, extra[i].value);
			if (cred->session_token && cred->omit_token)
				add_extra(out, "X-Amz-Security-Token", cred->session_token);
		}
		pw_buf_str(&out->encoded_query);
		pw_buf_str(&out->authorization);
	}
	pw_buf_free(&cq, 0);
	for (size_t i = 0; i < nh; i++) {
		pw_free(h[i].name);
		pw_buf_free(&h[i].value, 0);
	}
	pw_free(h);
	return rc;
}

static void init_out(struct sigv4_output *out)
{
	memset(out, 0, sizeof *out);
	out->canonical_request = PW_BUF_INIT(SIGV4_BUF_MAX);
	out->string_to_sign = PW_BUF_INIT(SIGV4_BUF_MAX);
	out->signed_headers = PW_BUF_INIT(SIGV4_BUF_MAX);
	out->authorization = PW_BUF_INIT(SIGV4_BUF_MAX);
	out->encoded_path = PW_BUF_INIT(SIGV4_BUF_MAX);
	out->encoded_query = PW_BUF_INIT(SIGV4_BUF_MAX);
}

int sigv4_sign(const struct sigv4_input *in, const struct sigv4_cred *cred,
               const struct sigv4_scope *scope, struct sigv4_output *out)
{
	init_out(out);
	return do_sign(in, cred, scope, 0, out);
}

int sigv4_presign(const struct sigv4_input *in, const struct sigv4_cred *cred,
                  const struct sigv4_scope *scope, long expires, struct sigv4_output *out)
{
	init_out(out);
	if (expires <= 0)
		return pw_error(PW_E_USAGE, "presigned requests need a positive expiry");
	return do_sign(in, cred, scope, expires, out);
}

void sigv4_output_free(struct sigv4_output *out)
{
	pw_buf_free(&out->canonical_request, 0);
	pw_buf_free(&out->string_to_sign, 0);
	pw_buf_free(&out->signed_headers, 0);
	pw_buf_free(&out->authorization, 0);
	pw_buf_free(&out->encoded_path, 0);
	pw_buf_free(&out->encoded_query, 0);
	for (size_t i = 0; i < out->nextra; i++) {
		pw_free(out->extra_name[i]);
		pw_free(out->extra_value[i]);
	}
	out->nextra = 0;
}
