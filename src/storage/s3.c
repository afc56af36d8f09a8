/*
 * s3.c - the S3-compatible driver (AWS, MinIO, Ceph RGW, R2...).
 *
 * Every request is signed by our SigV4 signer and carries the real SHA-256
 * of its in-memory body. Transient failures (connection errors, stalls,
 * 5xx, 429/SlowDown, RequestTimeout) are retried with exponential backoff
 * and full jitter, within a bound on attempts and on total time; permanent
 * errors fail at once with the server's code and message and a hint.
 * Uploads: one PUT below the part size, else a multipart upload whose parts
 * go up from a bounded pool of worker threads (memory = part size x (workers
 * + 1)); a failed or abandoned upload is aborted. Downloads stream; a broken
 * connection resumes with a Range request pinned to the object's ETag.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/thread.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "crypto/sigv4.h"
#include "storage/driver.h"
#include "storage/s3_creds.h"
#include "storage/s3_list.h"

#define MIB (1024 * 1024ULL)
#define RESP_MAX (16 * MIB)
#define MAX_PARTS 10000
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	struct stor base;
	char *bucket;
	char *prefix;      /* "" or "a/b" */
	char *scheme_host; /* "https://host:port" for the URL (path style) */
	char *host;        /* Host header (path style) */
	bool path_style;
	char *region;
	char *ca_file;
	bool insecure;
	struct s3_creds *creds;
	uint64_t part_size;
	unsigned parallel, max_attempts, req_timeout, total_timeout;
	bool cleaning; /* aborting an upload: a signal must not stop the clean-up itself */
	char *sse, *sse_kms, *storage_class;
};

/* ---- one request ---- */

#define MAXKV 16
struct s3_req {
	const char *method;
	const char *key; /* full key (prefix included); NULL = the bucket itself */
	struct sigv4_kv query[MAXKV];
	size_t nquery;
	struct sigv4_kv headers[MAXKV];
	size_t nheaders;
	const uint8_t *body;
	size_t bodylen;
	bool head;
	bool want_xml; /* a 2xx without an XML body is a failed try (a broken proxy or cut reply) */
	/* streamed GET body (2xx only) */
	stor_sink_fn sink;
	void *sink_arg;
	uint64_t delivered;
	int sink_rc;
	/* results */
	long status;
	struct pw_buf resp; /* non-streamed body (capped) */
	char etag[130];
	char version[130];
	uint64_t content_length;
	time_t last_modified;
	time_t retain_until;
	time_t server_date;
	CURLcode curl_code;
	char curl_err[CURL_ERROR_SIZE];
	bool headers_done; /* the blank line ending the response headers arrived */
	/* limits on outside input: a deadline for the request with its retries (monotonic
	 * seconds; 0 = set by call() from the body size), the most body bytes a streamed GET
	 * may deliver (the object size; 0 = no streamed body expected) */
	double deadline, started;
	uint64_t expect_total;
	uint64_t delivered_before; /* delivered when this attempt began (a Range resumes) */
	enum { STOP_NONE, STOP_SIGNAL, STOP_DEADLINE, STOP_OVERFLOW } stop;
	bool cleanup; /* not stopped by a signal (still by the deadline) */
};

static double mono_now(void)
{
	return pw_monotonic();
}

/* Seconds a request moving bytes may take: 60 s + 4 s per MiB (256 KiB/s at the least),
 * capped by s3-total-timeout. */
static double request_budget(unsigned total_timeout, uint64_t bytes)
{
	double t = 60.0 + (double)bytes / (256.0 * 1024.0);
	return t < (double)total_timeout ? t : (double)total_timeout;
}

/* libcurl calls this often while bytes move and about once a second while idle: a signal
 * or the deadline stops the transfer within a second. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct s3_req *r = arg;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (pw_interrupted() && !r->cleanup) {
		r->stop = STOP_SIGNAL;
		return 1;
	}
	if (r->deadline > 0 && mono_now() >= r->deadline) {
		r->stop = STOP_DEADLINE;
		return 1;
	}
	return 0;
}

static void req_init(struct s3_req *r, const char *method, const char *key)
{
	memset(r, 0, sizeof *r);
	r->method = method;
	r->key = key;
	r->resp = PW_BUF_INIT(RESP_MAX);
}

static void req_reset_result(struct s3_req *r)
{
	pw_buf_reset(&r->resp);
	r->status = 0;
	r->content_length = 0;
	r->curl_code = CURLE_OK;
	r->curl_err[0] = 0;
}

static void req_free(struct s3_req *r)
{
	pw_buf_free(&r->resp, 0);
}

static void q_add(struct s3_req *r, const char *k, const char *v)
{
	r->query[r->nquery++] = (struct sigv4_kv){k, v};
}

static void h_add(struct s3_req *r, const char *k, const char *v)
{
	r->headers[r->nheaders++] = (struct sigv4_kv){k, v};
}

static time_t parse_http_date(const char *s)
{
	time_t t;
	if (pw_time_parse_http(s, &t) == 0 || pw_time_parse(s, PW_TIME_ISO, false, &t, NULL) == 0)
		return t;
	return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n;
	char line[1024];
	size_t l = len < sizeof line - 1 ? len : sizeof line - 1;
	memcpy(line, p, l);
	line[l] = 0;
	char *colon = strchr(line, ':');
	if (!colon)
		return len;
	*colon = 0;
	char *v = pw_trim(colon + 1);
	if (strcasecmp(line, "ETag") == 0)
		pw_strlcpy(r->etag, v, sizeof r->etag);
	else if (strcasecmp(line, "x-amz-version-id") == 0)
		pw_strlcpy(r->version, v, sizeof r->version);
	else if (strcasecmp(line, "Content-Length") == 0)
		r->content_length = strtoull(v, NULL, 10);
	else if (strcasecmp(line, "Last-Modified") == 0)
		r->last_modified = parse_http_date(v);
	else if (strcasecmp(line, "Date") == 0)
		r->server_date = parse_http_date(v);
	else if (strcasecmp(line, "x-amz-object-lock-retain-until-date") == 0)
		r->retain_until = parse_http_date(v);
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n;
	if (r->sink && r->status / 100 == 2) {
		/* never more than the object's recorded size, whatever the server announces or
		 * keeps sending */
		if (r->expect_total &&
		    (r->delivered + len > r->expect_total ||
		     r->delivered_before + r->content_length > r->expect_total)) {
			r->stop = STOP_OVERFLOW;
			return 0;
		}
		int rc = r->sink(r->sink_arg, (const uint8_t *)p, len);
		if (rc < 0) {
			r->sink_rc = rc;
			return 0; /* abort the transfer */
		}
		r->delivered += len;
		return len;
	}
	return pw_buf_append(&r->resp, p, len) < 0 ? 0 : len;
}

struct upload_src {
	const uint8_t *p;
	size_t n, off;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload_src *u = arg;
	size_t want = size * n, left = u->n - u->off;
	size_t take = want < left ? want : left;
	memcpy(buf, u->p + u->off, take);
	u->off += take;
	return take;
}

static int on_status_header(struct s3_req *r, CURL *h)
{
	long st = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	r->status = st;
	return 0;
}

static size_t on_header_status(char *p, size_t size, size_t n, void *arg)
{
	/* first line: "HTTP/1.1 200 OK" sets the status before the body arrives */
	struct s3_req *r = arg;
	if ((size * n == 2 && p[0] == '\r' && p[1] == '\n') || (size * n == 1 && p[0] == '\n')) {
		r->headers_done = true;
		return size * n;
	}
	if (size * n > 9 && memcmp(p, "HTTP/", 5) == 0) {
		r->headers_done = false;
		const char *sp = memchr(p, ' ', size * n);
		if (sp)
			r->status = strtol(sp + 1, NULL, 10);
		/* a new response (after 100-continue or a redirect): forget old headers */
		r->etag[0] = r->version[0] = 0;
		return size * n;
	}
	return on_header(p, size, n, arg);
}

static void build_url(const struct s3 *s, const struct sigv4_output *o, char **url)
{
	struct pw_buf b = PW_BUF_INIT(64 * 1024);
	if (s->path_style)
		pw_buf_printf(&b, "%s%s", s->scheme_host,
		              pw_buf_str((struct pw_buf *)&o->encoded_path));
	else
		pw_buf_printf(&b, "%s%s", s->scheme_host,
		              pw_buf_str((struct pw_buf *)&o->encoded_path));
	if (o->encoded_query.len)
		pw_buf_printf(&b, "?%s", pw_buf_str((struct pw_buf *)&o->encoded_query));
	pw_buf_str(&b);
	*url = (char *)b.data;
}

/* One attempt. Returns 0 when an HTTP response arrived (any status), or < 0. */
static int attempt(struct s3 *s, CURL *h, struct s3_req *r)
{
	struct s3_cred_snapshot cs;
	int rc = s3_creds_get(s->creds, &cs);
	if (rc < 0)
		return rc;
	char hash[65];
	uint8_t d[32];
	if (r->body && r->bodylen) {
		pw_sha256(r->body, r->bodylen, d);
		pw_hex_encode(d, 32, hash);
	} else {
		pw_strlcpy(hash, EMPTY_SHA256, sizeof hash);
	}
	/* path: /bucket/key (path style) or /key with bucket.host */
	struct pw_buf path = PW_BUF_INIT(4096);
	if (s->path_style)
		pw_buf_printf(&path, "/%s/%s", s->bucket, r->key ? r->key : "");
	else
		pw_buf_printf(&path, "/%s", r->key ? r->key : "");
	struct sigv4_kv hdrs[MAXKV + 1];
	size_t nh = 0;
	hdrs[nh++] = (struct sigv4_kv){"Host", s->host};
	for (size_t i = 0; i < r->nheaders; i++)
		hdrs[nh++] = r->headers[i];
	struct sigv4_input in = {.method = r->method,
	                         .path = pw_buf_str(&path),
	                         .query = r->query,
	                         .nquery = r->nquery,
	                         .headers = hdrs,
	                         .nheaders = nh,
	                         .payload_hash = hash,
	                         .sign_payload_header = true};
	struct sigv4_cred cred = {cs.access_key, pw_secret_str(cs.secret_key),
	                          cs.session_token ? pw_secret_str(cs.session_token) : NULL, false};
	struct sigv4_scope scope = {s->region, "s3", pw_now()};
	struct sigv4_output o;
	rc = sigv4_sign(&in, &cred, &scope, &o);
	s3_creds_put(&cs);
	pw_buf_free(&path, 0);
	if (rc < 0) {
		sigv4_output_free(&o);
		return rc;
	}
	char *url;
	build_url(s, &o, &url);
	struct curl_slist *hl = NULL;
	char line[8192];
	for (size_t i = 0; i < nh; i++) {
		snprintf(line, sizeof line, "%s: %s", hdrs[i].name, hdrs[i].value);
		hl = curl_slist_append(hl, line);
	}
	for (size_t i = 0; i < o.nextra; i++) {
		snprintf(line, sizeof line, "%s: %s", o.extra_name[i], o.extra_value[i]);
		hl = curl_slist_append(hl, line);
	}
	snprintf(line, sizeof line, "Authorization: %s", pw_buf_str(&o.authorization));
	hl = curl_slist_append(hl, line);
	hl = curl_slist_append(hl, "Expect:");
	sigv4_output_free(&o);

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)s->req_timeout);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
	if (r->deadline > 0) { /* a backstop should the progress callback not be called */
		double left = r->deadline - mono_now();
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left > 0 ? left * 1000 : 1) + 2000L);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_status);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	if (s->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	struct upload_src src = {r->body, r->bodylen, 0};
	if (r->head) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &src);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->bodylen);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->bodylen);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	req_reset_result(r);
	r->headers_done = false;
	r->stop = STOP_NONE;
	r->delivered_before = r->delivered;
	r->curl_code = curl_easy_perform(h);
	if (r->curl_code == CURLE_OK && !r->headers_done) {
		/* a reply cut off inside its headers: libcurl may call that a success */
		r->curl_code = CURLE_PARTIAL_FILE;
		pw_strlcpy(r->curl_err, "the reply ended inside its headers", sizeof r->curl_err);
	}
	if (r->curl_code == CURLE_OK)
		on_status_header(r, h);
	if (r->server_date)
		s->base.clock_skew = (long)(r->server_date - pw_now());
	curl_slist_free_all(hl);
	pw_free(url);
	if (r->sink_rc < 0)
		return r->sink_rc;
	return 0;
}

/* ---- errors ---- */

static char *xml_text(xmlNode *n, const char *name)
{
	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
			xmlChar *t = xmlNodeGetContent(n);
			char *s = pw_strdup(t ? (const char *)t : "");
			xmlFree(t);
			return s;
		}
		char *s = xml_text(n->children, name);
		if (s)
			return s;
	}
	return NULL;
}

static xmlDoc *xml_parse(const struct pw_buf *b)
{
	if (!b->len)
		return NULL;
	xmlDoc *doc = xmlReadMemory((const char *)b->data, (int)b->len, "s3.xml", NULL,
	                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                                XML_PARSE_NOBLANKS);
	xmlResetLastError(); /* libxml2 keeps the last error's text until the next one */
	return doc;
}

/* A transfer that failed (no reply to classify): worth another try unless it never can work. */
static bool transient_transfer(CURLcode c)
{
	return c != CURLE_SSL_CACERT && c != CURLE_PEER_FAILED_VERIFICATION &&
	       c != CURLE_URL_MALFORMAT && c != CURLE_UNSUPPORTED_PROTOCOL &&
	       c != CURLE_COULDNT_RESOLVE_HOST;
}

static int fail_request(struct s3 *s, const struct s3_req *r, const char *code, const char *msg)
{
	char what[1200];
	snprintf(what, sizeof what, "%s s3://%s/%s", r->method, s->bucket, r->key ? r->key : "");
	if (r->curl_code != CURLE_OK) {
		pw_error(PW_E_STORAGE, "%s failed: %s", what,
		         r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->curl_code));
		if (r->curl_code == CURLE_PEER_FAILED_VERIFICATION ||
		    r->curl_code == CURLE_SSL_CACERT)
			return pw_error_hint(
			    "The server's TLS certificate is not trusted; give its "
			    "CA with s3-ca-file.");
		return pw_error_hint("Check s3-endpoint and the network (gave up after %u tries).",
		                     s->max_attempts);
	}
	if (s3_reply_missing(r->status, code)) {
		pw_error(PW_E_NOTFOUND, "object s3://%s/%s does not exist", s->bucket,
		         r->key ? r->key : "");
		return pw_error_hint("Check the repository address and the backup id.");
	}
	pw_error(PW_E_STORAGE, "%s: HTTP %ld %s%s%s", what, r->status, *code ? code : "error",
	         *msg ? ": " : "", msg);
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return pw_error_hint(
		    "The secret key is wrong, or the request was altered on the way.");
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		return pw_error_hint("The access key id is unknown to this server; check the "
		                     "credentials (source: %s).",
		                     s3_creds_source(s->creds));
	if (strcmp(code, "RequestTimeTooSkewed") == 0 ||
	    (s->base.clock_skew > 900 || s->base.clock_skew < -900))
		return pw_error_hint("This machine's clock differs from the server's by %ld s; fix "
		                     "the clock (NTP).",
		                     s->base.clock_skew);
	if (strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
	    strcmp(code, "PermanentRedirect") == 0 || r->status == 301)
		return pw_error_hint("The bucket is in another region; set s3-region.");
	if (strcmp(code, "NoSuchBucket") == 0)
		return pw_error_hint("Create the bucket, or check the repository address.");
	if (r->status == 403)
		return pw_error_hint("The credentials lack a permission for this request (%s); see "
		                     "docs/storage.md for the policy a backup host needs.",
		                     r->method);
	return pw_error_hint("See the server's message above.");
}

/* With retries. ok_status: extra statuses that are not errors (e.g. 404 for stat). */
static int stopped(struct s3 *s, const struct s3_req *r)
{
	const char *shown = r->key ? r->key : ""; /* escaped when shown */
	if (r->stop == STOP_SIGNAL || (r->stop == STOP_NONE && pw_interrupted() && !r->cleanup)) {
		pw_error(PW_E_INTERRUPTED, "interrupted by signal %d during %s s3://%s/%s",
		         pw_interrupted(), r->method, s->bucket, shown);
		return pw_error_hint("Nothing was left half-written; run the command again.");
	}
	if (r->stop == STOP_OVERFLOW) {
		pw_error(PW_E_STORAGE,
		         "%s s3://%s/%s: the server sent more than the %llu bytes the object "
		         "holds",
		         r->method, s->bucket, shown, (unsigned long long)r->expect_total);
		return pw_error_hint("The endpoint or a proxy in front of it is not behaving like "
		                     "S3; check s3-endpoint.");
	}
	pw_error(PW_E_STORAGE, "%s s3://%s/%s did not finish in time (%.0f s)", r->method,
	         s->bucket, shown, r->deadline - r->started);
	return pw_error_hint("The endpoint stalls or is very slow; check the network, or raise "
	                     "s3-total-timeout (now %u s) for large objects on slow links.",
	                     s->total_timeout);
}

static int call(struct s3 *s, CURL *h, struct s3_req *r, long ok_status)
{
	char code[128], msg[512];
	if (r->deadline <= 0) {
		r->started = mono_now();
		r->deadline = r->started + request_budget(s->total_timeout,
		                                          (uint64_t)r->bodylen + r->expect_total);
	}
	r->cleanup = s->cleaning;
	for (unsigned n = 1;; n++) {
		if ((pw_interrupted() && !r->cleanup) || mono_now() >= r->deadline)
			return stopped(s, r);
		int rc = attempt(s, h, r);
		if (rc < 0)
			return rc;
		if (r->stop != STOP_NONE)
			return stopped(s, r);
		if (r->curl_code == CURLE_OK) {
			/* the reply arrived: what it means is s3_reply_classify's (s3_list.c) */
			struct s3_reply rep = {.status = r->status,
			                       .ok_status = ok_status,
			                       .want_xml = r->want_xml,
			                       .body_data = r->sink != NULL,
			                       .body = r->resp.data,
			                       .n = r->resp.len};
			enum s3_reply_kind k =
			    s3_reply_classify(&rep, code, sizeof code, msg, sizeof msg);
			if (k == S3_REPLY_OK)
				return 0;
			if (k == S3_REPLY_FAIL || n >= s->max_attempts || mono_now() >= r->deadline)
				return fail_request(s, r, code, msg);
		} else {
			/* a streamed body that broke off after delivering bytes is not retried
			 * here: the caller resumes it with a Range request from where it stopped */
			if (r->sink && r->delivered > 0)
				return 0;
			code[0] = msg[0] = 0;
			if (!transient_transfer(r->curl_code) || n >= s->max_attempts ||
			    mono_now() >= r->deadline)
				return fail_request(s, r, code, msg);
		}
		/* exponential backoff with full jitter: up to 0.2 s x 2^n, capped at 20 s */
		uint32_t rnd = 0;
		pw_random(&rnd, sizeof rnd);
		double cap = 0.2 * (double)(1u << (n < 7 ? n : 7));
		if (cap > 20)
			cap = 20;
		double wait = cap * (rnd / 4294967296.0);
		pw_debug("retrying %s %s (attempt %u): HTTP %ld %s", r->method,
		         r->key ? r->key : "", n + 1, r->status,
		         r->curl_code ? curl_easy_strerror(r->curl_code) : code);
		/* in slices, so a signal is honoured within a tenth of a second */
		for (double until = mono_now() + wait;
		     mono_now() < until && (!pw_interrupted() || r->cleanup);) {
			struct timespec ts = {0, 100 * 1000 * 1000L};
			nanosleep(&ts, NULL);
		}
	}
}

static char *full_key(const struct s3 *s, const char *key)
{
	size_t n = strlen(s->prefix) + strlen(key) + 2;
	char *k = pw_malloc(n);
	snprintf(k, n, "%s%s%s", s->prefix, *s->prefix ? "/" : "", key);
	return k;
}

static CURL *new_handle(void)
{
	CURL *h = curl_easy_init();
	if (!h) /* libcurl fails here only when it cannot allocate */
		pw_nomem(0);
	return h;
}

/* ---- stat / get / remove ---- */

static int s_stat(struct stor *st, const char *key, struct stor_info *info)
{
	struct s3 *s = (struct s3 *)st;
	char *k = full_key(s, key);
	struct s3_req r;
	req_init(&r, "HEAD", k);
	r.head = true;
	CURL *h = new_handle();
	int rc = call(s, h, &r, 404);
	if (rc == 0 && r.status == 404) {
		pw_error(PW_E_NOTFOUND, "object s3://%s/%s does not exist", s->bucket, k);
		rc = pw_error_hint("Check the repository address and the backup id.");
	} else if (rc == 0) {
		info->key = key;
		info->size = r.content_length;
		info->mtime = r.last_modified;
		pw_strlcpy(info->etag, r.etag, sizeof info->etag);
	}
	curl_easy_cleanup(h);
	req_free(&r);
	pw_free(k);
	return rc;
}

static int s_get(struct stor *st, const char *key, stor_sink_fn sink, void *arg)
{
	struct s3 *s = (struct s3 *)st;
	/* size and ETag first: the download is checked against both, and every request is
	 * pinned to that ETag (If-Match), so a replaced object is an error, never a splice */
	struct stor_info info;
	int rc = s_stat(st, key, &info);
	if (rc < 0)
		return rc;
	char *k = full_key(s, key);
	CURL *h = new_handle();
	struct s3_req r;
	req_init(&r, "GET", k);
	r.sink = sink;
	r.sink_arg = arg;
	r.expect_total = info.size;
	char range[64], ifmatch[160];
	uint64_t total = info.size;
	/* resume loop: a transfer cut short continues from the last byte delivered */
	for (unsigned resumes = 0; total > 0; resumes++) {
		r.nheaders = 0;
		if (r.delivered) {
			snprintf(range, sizeof range, "bytes=%llu-",
			         (unsigned long long)r.delivered);
			h_add(&r, "Range", range);
		}
		if (info.etag[0]) {
			snprintf(ifmatch, sizeof ifmatch, "%s", info.etag);
			h_add(&r, "If-Match", ifmatch);
		}
		rc = call(s, h, &r, 412);
		if (rc < 0)
			break;
		if (r.status == 412 ||
		    (info.etag[0] && r.etag[0] && strcmp(info.etag, r.etag) != 0)) {
			pw_error(PW_E_STORAGE, "object s3://%s/%s changed while it was being read",
			         s->bucket, k);
			rc = pw_error_hint("Objects in a pgward repository must never be replaced; "
			                   "investigate who wrote it.");
			break;
		}
		if (r.delivered >= total)
			break;
		if (resumes >= s->max_attempts) {
			pw_error(PW_E_STORAGE,
			         "download of s3://%s/%s kept breaking off (%llu of %llu "
			         "bytes)",
			         s->bucket, k, (unsigned long long)r.delivered,
			         (unsigned long long)total);
			rc = pw_error_hint("Check the network path to the S3 endpoint.");
			break;
		}
		pw_debug("resuming download of %s at byte %llu", k,
		         (unsigned long long)r.delivered);
	}
	if (rc == 0 && r.delivered != total) {
		pw_error(PW_E_STORAGE, "short read of s3://%s/%s: %llu of %llu bytes", s->bucket, k,
		         (unsigned long long)r.delivered, (unsigned long long)total);
		rc = pw_error_hint("Run the command again; check the network.");
	}
	curl_easy_cleanup(h);
	req_free(&r);
	pw_free(k);
	return rc;
}

static int s_remove(struct stor *st, const char *key, struct stor_remove_result *res)
{
	struct s3 *s = (struct s3 *)st;
	char *k = full_key(s, key);
	CURL *h = new_handle();
	struct s3_req r;
	req_init(&r, "HEAD", k);
	r.head = true;
	int rc = call(s, h, &r, 404);
	if (rc == 0 && r.status == 404) {
		pw_error(PW_E_NOTFOUND, "object s3://%s/%s does not exist", s->bucket, k);
		rc = pw_error_hint("It may have been removed already.");
	}
	char version[130];
	pw_strlcpy(version, r.version, sizeof version);
	time_t until = r.retain_until;
	if (rc == 0) {
		/* on a versioned bucket, remove the version itself, not just hide it */
		req_free(&r);
		req_init(&r, "DELETE", k);
		if (version[0] && strcmp(version, "null") != 0)
			q_add(&r, "versionId", version);
		rc = call(s, h, &r, 403);
		if (rc == 0 && r.status == 403) {
			if (until > pw_now() || (s->base.features & STOR_F_OBJECT_LOCK)) {
				res->retained = true;
				res->retained_until = until;
				pw_best_effort("removing retained object s3://%s/%s", s->bucket, k);
			} else {
				char code[128], msg[512];
				s3_error_parse(r.resp.data, r.resp.len, code, sizeof code, msg,
				               sizeof msg);
				rc = fail_request(s, &r, code, msg);
			}
		} else if (rc == 0) {
			res->removed = true;
		}
	}
	curl_easy_cleanup(h);
	req_free(&r);
	pw_free(k);
	return rc;
}

/* ---- list ---- */

static int s_list(struct stor *st, const char *prefix,
                  int (*fn)(void *arg, const struct stor_info *info), void *arg)
{
	struct s3 *s = (struct s3 *)st;
	char *fp = full_key(s, prefix);
	if (!*prefix && *s->prefix) { /* list "prefix/" for the repository root */
		pw_free(fp);
		size_t n = strlen(s->prefix) + 2;
		fp = pw_malloc(n);
		snprintf(fp, n, "%s/", s->prefix);
	}
	size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
	CURL *h = new_handle();
	char *token = NULL, *prev = NULL, *after = NULL;
	int rc = 0;
	do {
		struct s3_req r;
		req_init(&r, "GET", NULL);
		r.want_xml = true;
		q_add(&r, "list-type", "2");
		q_add(&r, "prefix", fp);
		/* keys URL-encoded: a key with a control character still makes valid XML */
		q_add(&r, "encoding-type", "url");
		if (token)
			q_add(&r, "continuation-token", token);
		else if (after)
			q_add(&r, "start-after", after);
		rc = call(s, h, &r, 0);
		pw_free(prev);
		prev = token ? token : after; /* what this page was asked with */
		token = after = NULL;
		if (rc == 0)
			rc = s3_list_parse(r.resp.data, r.resp.len, fp, strip, fn, arg, &token,
			                   &after);
		const char *next = token ? token : after;
		if (rc == 0 && next && prev && strcmp(next, prev) == 0) {
			pw_error(PW_E_STORAGE, "the listing of s3://%s does not move on",
			         s->bucket);
			rc = pw_error_hint("The endpoint is not behaving like S3.");
		}
		req_free(&r);
	} while (rc == 0 && (token || after));
	pw_free(token);
	pw_free(after);
	pw_free(prev);
	curl_easy_cleanup(h);
	pw_free(fp);
	return rc;
}

/* ---- writer ---- */

struct part {
	unsigned number;
	char etag[130];
};

struct job {
	unsigned number;
	uint8_t *data;
	size_t len;
	size_t cap;
	struct job *next;
};

struct s3_writer {
	struct stor_writer base;
	struct s3 *s;
	char *key;
	struct stor_write_opts opts;
	char lock_until[32];
	uint8_t *buf;
	size_t nbuf, cap;
	char *upload_id;
	bool multipart; /* a CreateMultipartUpload was sent (its reply may have been lost) */
	unsigned next_part;
	struct part *parts;
	size_t nparts;
	/* pool */
	pthread_t *threads;
	unsigned nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue, *queue_tail;
	unsigned inflight; /* queued or being uploaded */
	bool stop;
	/* part buffers are recycled, not freed in the workers: memory stays at (workers + 1)
	 * parts, and glibc's per-thread arenas cannot fragment it */
	uint8_t *spare[33];
	size_t spare_cap[33];
	int nspare;
	int err; /* first error code (negative) */
	char errmsg[1024], errhint[1024];
	CURL *h; /* for the caller's own requests */
};

static void add_write_headers(struct s3_writer *w, struct s3_req *r)
{
	struct s3 *s = w->s;
	h_add(r, "Content-Type",
	      w->opts.content_type ? w->opts.content_type : "application/octet-stream");
	if (w->opts.lock_mode != STOR_LOCK_NONE) {
		h_add(r, "x-amz-object-lock-mode",
		      w->opts.lock_mode == STOR_LOCK_COMPLIANCE ? "COMPLIANCE" : "GOVERNANCE");
		h_add(r, "x-amz-object-lock-retain-until-date", w->lock_until);
	}
	if (s->sse)
		h_add(r, "x-amz-server-side-encryption", s->sse);
	if (s->sse_kms)
		h_add(r, "x-amz-server-side-encryption-aws-kms-key-id", s->sse_kms);
	if (s->storage_class)
		h_add(r, "x-amz-storage-class", s->storage_class);
}

static size_t part_size_for(const struct s3 *s, unsigned number)
{
	/* grow every 1000 parts so no upload needs more than 10,000 (max 5 GiB a part) */
	uint64_t ps = s->part_size << ((number - 1) / 1000);
	return ps > 5 * 1024 * MIB ? (size_t)(5 * 1024 * MIB) : (size_t)ps;
}

static int upload_part(struct s3_writer *w, CURL *h, struct job *j, char etag[130])
{
	char num[16];
	snprintf(num, sizeof num, "%u", j->number);
	struct s3_req r;
	req_init(&r, "PUT", w->key);
	q_add(&r, "partNumber", num);
	q_add(&r, "uploadId", w->upload_id);
	r.body = j->data;
	r.bodylen = j->len;
	int rc = 0;
	/* a 200 without an ETag cannot be completed later: count it as a failed try */
	for (unsigned n = 0; n < w->s->max_attempts; n++) {
		rc = call(w->s, h, &r, 0);
		if (rc < 0 || r.etag[0])
			break;
		pw_debug("part %u of %s was answered without an ETag; sending it again", j->number,
		         w->key);
	}
	if (rc == 0 && !r.etag[0]) {
		pw_error(PW_E_STORAGE, "the server accepted part %u of s3://%s/%s without an ETag",
		         j->number, w->s->bucket, w->key);
		rc = pw_error_hint(
		    "The endpoint or a proxy in front of it is not behaving like S3.");
	}
	if (rc == 0)
		pw_strlcpy(etag, r.etag, 130);
	req_free(&r);
	return rc;
}

static void *worker(void *arg)
{
	struct s3_writer *w = arg;
	CURL *h = new_handle();
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->queue && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->queue) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		struct job *j = w->queue;
		w->queue = j->next;
		if (!w->queue)
			w->queue_tail = NULL;
		bool skip = w->err != 0;
		pthread_mutex_unlock(&w->mu);
		char etag[130] = "";
		int rc = skip ? 0 : upload_part(w, h, j, etag);
		pthread_mutex_lock(&w->mu);
		if (rc < 0 && !w->err) {
			w->err = rc;
			pw_strlcpy(w->errmsg, pw_error_message(), sizeof w->errmsg);
			pw_strlcpy(w->errhint, pw_error_hint_text(), sizeof w->errhint);
		} else if (rc == 0 && !skip) {
			w->parts[j->number - 1].number = j->number;
			pw_strlcpy(w->parts[j->number - 1].etag, etag, 130);
		}
		w->inflight--;
		if (w->nspare < (int)(sizeof w->spare / sizeof w->spare[0])) {
			w->spare[w->nspare] = j->data;
			w->spare_cap[w->nspare++] = j->cap;
			j->data = NULL;
		}
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pw_free(j->data);
		pw_free(j);
	}
	curl_easy_cleanup(h);
	return NULL;
}

static int pool_error(struct s3_writer *w)
{
	pw_error(-w->err, "%s", w->errmsg);
	if (w->errhint[0])
		pw_error_hint("%s", w->errhint);
	return w->err;
}

static int start_multipart(struct s3_writer *w)
{
	struct s3_req r;
	req_init(&r, "POST", w->key);
	r.want_xml = true;
	w->multipart = true;
	q_add(&r, "uploads", NULL);
	add_write_headers(w, &r);
	int rc = call(w->s, w->h, &r, 0);
	if (rc == 0) {
		xmlDoc *doc = xml_parse(&r.resp);
		w->upload_id = doc ? xml_text(xmlDocGetRootElement(doc), "UploadId") : NULL;
		if (doc)
			xmlFreeDoc(doc);
		if (!w->upload_id || !*w->upload_id) {
			pw_error(PW_E_STORAGE,
			         "the server did not start a multipart upload for s3://%s/%s",
			         w->s->bucket, w->key);
			rc = pw_error_hint("The endpoint may not support multipart uploads.");
		}
	}
	req_free(&r);
	if (rc < 0)
		return rc;
	w->parts = pw_calloc(MAX_PARTS, sizeof *w->parts);
	unsigned want = w->s->parallel;
	w->threads = pw_calloc(want, sizeof *w->threads);
	/* nthreads counts the threads that run (stop_pool joins those): fewer is slower, none
	 * is an error */
	int err = 0;
	while (w->nthreads < want &&
	       (err = pw_thread_create(&w->threads[w->nthreads], worker, w)) == 0)
		w->nthreads++;
	if (w->nthreads == 0) {
		pw_error(PW_E_STORAGE, "could not start an upload thread for s3://%s/%s: %s",
		         w->s->bucket, w->key, pw_strerror(err));
		return pw_error_hint("Lower s3-parallel, or raise the limit on processes "
		                     "(ulimit -u) for this user.");
	}
	if (w->nthreads < want)
		pw_log(PW_LOG_WARN, "s3: %u of %u upload threads started (%s)", w->nthreads, want,
		       pw_strerror(err));
	return 0;
}

/* Hand the full buffer to the pool; waits while the pool is full. */
static int submit(struct s3_writer *w)
{
	if (!w->upload_id) {
		int rc = start_multipart(w);
		if (rc < 0)
			return rc;
	}
	if (w->next_part >= MAX_PARTS) {
		pw_error(PW_E_LIMIT, "object s3://%s/%s would need more than %d parts",
		         w->s->bucket, w->key, MAX_PARTS);
		return pw_error_hint("Raise s3-part-size.");
	}
	struct job *j = pw_calloc(1, sizeof *j);
	j->number = ++w->next_part;
	j->data = w->buf;
	j->len = w->nbuf;
	j->cap = w->cap;
	w->nparts = j->number;
	pthread_mutex_lock(&w->mu);
	while (w->inflight >= w->nthreads && !w->err)
		pthread_cond_wait(&w->cv, &w->mu);
	int err = w->err;
	if (!err) {
		if (w->queue_tail)
			w->queue_tail->next = j;
		else
			w->queue = j;
		w->queue_tail = j;
		w->inflight++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (err) {
		pw_free(j->data);
		pw_free(j);
		w->buf = NULL;
		return pool_error(w);
	}
	w->cap = part_size_for(w->s, w->next_part + 1);
	w->buf = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->nspare) {
		w->nspare--;
		if (w->spare_cap[w->nspare] >= w->cap) {
			w->buf = w->spare[w->nspare];
			w->cap = w->spare_cap[w->nspare];
		} else {
			pw_free(w->spare[w->nspare]); /* the part size grew */
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (!w->buf)
		w->buf = pw_malloc(w->cap);
	w->nbuf = 0;
	return 0;
}

static int s_wwrite(struct stor_writer *sw, const void *p, size_t n)
{
	struct s3_writer *w = (struct s3_writer *)sw;
	const uint8_t *b = p;
	while (n) {
		size_t take = w->cap - w->nbuf < n ? w->cap - w->nbuf : n;
		memcpy(w->buf + w->nbuf, b, take);
		w->nbuf += take;
		b += take;
		n -= take;
		if (w->nbuf == w->cap && n) {
			int rc = submit(w);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static void stop_pool(struct s3_writer *w)
{
	if (!w->threads)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	pw_free(w->threads);
	w->threads = NULL;
}

static void abort_upload(struct s3_writer *w)
{
	if (!w->upload_id)
		return;
	struct pw_error_saved e;
	pw_error_save(&e);
	struct s3_req r;
	req_init(&r, "DELETE", w->key);
	q_add(&r, "uploadId", w->upload_id);
	unsigned budget = w->s->max_attempts;
	w->s->max_attempts = budget < 10 ? 10 : budget; /* orphaned parts cost money: try harder */
	bool was = w->s->cleaning;
	w->s->cleaning = true;
	int arc = call(w->s, w->h, &r, 404);
	w->s->cleaning = was;
	w->s->max_attempts = budget;
	if (arc < 0)
		pw_warn(
		    "could not abort multipart upload %s of %s (run \"pgward repo abort-uploads\" "
		    "later): %s",
		    w->upload_id, w->key, pw_error_message());
	req_free(&r);
	pw_free(w->upload_id);
	w->upload_id = NULL;
	pw_error_restore(&e);
}

struct orphan_ctx {
	struct s3_writer *w;
	size_t strip;
};

static int orphan_cb(void *arg, const struct stor_upload *u)
{
	struct orphan_ctx *c = arg;
	struct s3_writer *w = c->w;
	/* the key is this writer's alone: any other upload of it is ours, orphaned by a reply
	 * that was lost on the way (the server started it, we never learned its id) */
	if (strcmp(u->key, w->key + c->strip) != 0 ||
	    (w->upload_id && strcmp(u->id, w->upload_id) == 0))
		return 0;
	struct s3_req r;
	req_init(&r, "DELETE", w->key);
	q_add(&r, "uploadId", u->id);
	(void)call(w->s, w->h, &r, 404);
	req_free(&r);
	pw_best_effort_warn("aborting orphaned upload %s of %s", u->id, w->key);
	return 0;
}

static int s_list_uploads(struct stor *st, const char *prefix,
                          int (*fn)(void *arg, const struct stor_upload *u), void *arg);

static void abort_orphans(struct s3_writer *w)
{
	if (!w->multipart)
		return;
	struct pw_error_saved e;
	pw_error_save(&e);
	size_t strip = *w->s->prefix ? strlen(w->s->prefix) + 1 : 0;
	struct orphan_ctx c = {w, strip};
	bool was = w->s->cleaning;
	w->s->cleaning = true;
	s_list_uploads(&w->s->base, w->key + strip, orphan_cb, &c);
	w->s->cleaning = was;
	pw_error_restore(&e);
}

static int s_commit(struct stor_writer *sw, struct stor_write_result *res)
{
	struct s3_writer *w = (struct s3_writer *)sw;
	int rc;
	if (!w->upload_id) {
		struct s3_req r;
		req_init(&r, "PUT", w->key);
		add_write_headers(w, &r);
		r.body = w->buf;
		r.bodylen = w->nbuf;
		rc = call(w->s, w->h, &r, 0);
		if (rc == 0) {
			pw_strlcpy(res->etag, r.etag, sizeof res->etag);
			pw_strlcpy(res->version, r.version, sizeof res->version);
		}
		req_free(&r);
		return rc;
	}
	if (w->nbuf || w->next_part == 0) {
		rc = submit(w);
		if (rc < 0)
			return rc;
	}
	pthread_mutex_lock(&w->mu);
	while (w->inflight)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	stop_pool(w);
	if (w->err)
		return pool_error(w);
	struct pw_buf x = PW_BUF_INIT(4 * MIB);
	pw_buf_printf(
	    &x, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (size_t i = 0; i < w->nparts; i++)
		pw_buf_printf(&x, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>",
		              w->parts[i].number, w->parts[i].etag);
	pw_buf_printf(&x, "</CompleteMultipartUpload>");
	struct s3_req r;
	req_init(&r, "POST", w->key);
	q_add(&r, "uploadId", w->upload_id);
	r.want_xml = true;
	h_add(&r, "Content-Type", "application/xml");
	r.body = x.data;
	r.bodylen = x.len;
	rc = call(w->s, w->h, &r, 0);
	if (rc == 0) {
		pw_strlcpy(res->version, r.version, sizeof res->version);
		pw_free(w->upload_id);
		w->upload_id = NULL; /* completed: nothing to abort */
		abort_orphans(w);
	}
	req_free(&r);
	pw_buf_free(&x, 0);
	return rc;
}

static void s_wfree(struct stor_writer *sw)
{
	struct s3_writer *w = (struct s3_writer *)sw;
	if (w->threads) {
		pthread_mutex_lock(&w->mu);
		if (!w->err)
			w->err = -PW_E_INTERRUPTED; /* let queued parts be skipped */
		pthread_mutex_unlock(&w->mu);
		stop_pool(w);
	}
	abort_upload(w);
	if (!w->base.committed)
		abort_orphans(w);
	while (w->queue) {
		struct job *j = w->queue;
		w->queue = j->next;
		pw_free(j->data);
		pw_free(j);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	curl_easy_cleanup(w->h);
	pw_free(w->parts);
	pw_free(w->buf);
	for (int i = 0; i < w->nspare; i++)
		pw_free(w->spare[i]);
	pw_free(w->key);
	pw_free(w);
}

static const struct stor_writer_ops s3_writer_ops = {s_wwrite, s_commit, s_wfree};

static int s_write_open(struct stor *st, const char *key, const struct stor_write_opts *o,
                        struct stor_writer **out)
{
	struct s3 *s = (struct s3 *)st;
	if (!o->overwrite) {
		struct stor_info info;
		int rc = s_stat(st, key, &info);
		if (rc == 0) {
			pw_error(PW_E_EXISTS, "object s3://%s/%s%s%s already exists", s->bucket,
			         s->prefix, *s->prefix ? "/" : "", key);
			return pw_error_hint(
			    "The repository is append-only: objects are never replaced.");
		}
		if (rc != -PW_E_NOTFOUND)
			return rc;
		pw_best_effort("checking that s3://%s/%s does not exist yet", s->bucket, key);
	}
	struct s3_writer *w = pw_calloc(1, sizeof *w);
	w->base.ops = &s3_writer_ops;
	w->s = s;
	w->key = full_key(s, key);
	w->opts = *o;
	if (o->lock_mode != STOR_LOCK_NONE) {
		char b[PW_TIME_MAX];
		pw_strlcpy(w->lock_until, pw_time_format(o->lock_until, PW_TIME_ISO, b),
		           sizeof w->lock_until);
	}
	w->cap = part_size_for(s, 1);
	w->buf = pw_malloc(w->cap);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->h = new_handle();
	*out = &w->base;
	return 0;
}

/* ---- open ---- */

static void s_free(struct stor *st)
{
	struct s3 *s = (struct s3 *)st;
	s3_creds_free(s->creds);
	pw_free(s->bucket);
	pw_free(s->prefix);
	pw_free(s->scheme_host);
	pw_free(s->host);
	pw_free(s->region);
	pw_free(s->ca_file);
	pw_free(s->sse);
	pw_free(s->sse_kms);
	pw_free(s->storage_class);
	pw_free(s);
}

static int s_list_uploads(struct stor *st, const char *prefix,
                          int (*fn)(void *arg, const struct stor_upload *u), void *arg)
{
	struct s3 *s = (struct s3 *)st;
	char *fp = full_key(s, prefix);
	size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
	CURL *h = new_handle();
	char *km = NULL, *um = NULL;
	int rc = 0;
	do {
		struct s3_req r;
		req_init(&r, "GET", NULL);
		r.want_xml = true;
		q_add(&r, "uploads", NULL);
		q_add(&r, "prefix", fp);
		if (km)
			q_add(&r, "key-marker", km);
		if (um)
			q_add(&r, "upload-id-marker", um);
		rc = call(s, h, &r, 0);
		pw_free(km);
		pw_free(um);
		km = um = NULL;
		xmlDoc *doc = rc == 0 ? xml_parse(&r.resp) : NULL;
		if (doc) {
			xmlNode *root = xmlDocGetRootElement(doc);
			for (xmlNode *c = root ? root->children : NULL; c && rc == 0; c = c->next) {
				if (c->type != XML_ELEMENT_NODE ||
				    strcmp((const char *)c->name, "Upload"))
					continue;
				char *key = xml_text(c->children, "Key");
				char *id = xml_text(c->children, "UploadId");
				char *ini = xml_text(c->children, "Initiated");
				if (key && id && strlen(key) > strip &&
				    strncmp(key, fp, strlen(fp)) == 0) {
					struct stor_upload u = {key + strip, id,
					                        ini ? parse_http_date(ini) : 0};
					rc = fn(arg, &u);
				}
				pw_free(key);
				pw_free(id);
				pw_free(ini);
			}
			char *trunc = xml_text(root, "IsTruncated");
			if (rc == 0 && trunc && strcmp(trunc, "true") == 0) {
				km = xml_text(root, "NextKeyMarker");
				um = xml_text(root, "NextUploadIdMarker");
			}
			pw_free(trunc);
			xmlFreeDoc(doc);
		}
		req_free(&r);
	} while (rc == 0 && km);
	pw_free(km);
	pw_free(um);
	curl_easy_cleanup(h);
	pw_free(fp);
	return rc;
}

static int s_abort_upload(struct stor *st, const char *key, const char *id)
{
	struct s3 *s = (struct s3 *)st;
	char *k = full_key(s, key);
	CURL *h = new_handle();
	struct s3_req r;
	req_init(&r, "DELETE", k);
	q_add(&r, "uploadId", id);
	int rc = call(s, h, &r, 0);
	req_free(&r);
	curl_easy_cleanup(h);
	pw_free(k);
	return rc;
}

static const struct stor_ops s3_ops = {"s3",     s_write_open,   s_get,          s_stat, s_list,
                                       s_remove, s_list_uploads, s_abort_upload, s_free};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* libxml2 would print a hostile reply's encoding errors straight to stderr */
static void xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx, (void)msg;
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, xml_quiet);
}

/* GET ?versioning and ?object-lock to set feature bits; inconclusive answers assume support. */
static void probe_features(struct s3 *s)
{
	/* a quick look: a dead endpoint must not cost two full retry budgets here */
	unsigned budget = s->max_attempts;
	s->max_attempts = budget < 2 ? budget : 2;
	CURL *h = new_handle();
	struct s3_req r;
	req_init(&r, "GET", NULL);
	q_add(&r, "object-lock", NULL);
	if (call(s, h, &r, 404) == 0) {
		if (r.status == 200 && r.resp.len && memmem(r.resp.data, r.resp.len, "Enabled", 7))
			s->base.features |= STOR_F_OBJECT_LOCK | STOR_F_VERSIONING;
	} else if (pw_error_code() == PW_E_STORAGE && strstr(pw_error_message(), "HTTP 403")) {
		/* cannot tell: let the server decide */
		s->base.features |= STOR_F_OBJECT_LOCK | STOR_F_OBJECT_LOCK_ASSUMED;
	}
	req_free(&r);
	req_init(&r, "GET", NULL);
	q_add(&r, "versioning", NULL);
	if (call(s, h, &r, 404) == 0 && r.resp.len &&
	    memmem(r.resp.data, r.resp.len, "<Status>Enabled</Status>", 24))
		s->base.features |= STOR_F_VERSIONING;
	req_free(&r);
	s->max_attempts = budget;
	pw_best_effort("probing the features of bucket \"%s\"", s->bucket);
	curl_easy_cleanup(h);
}

bool s3_host_is_loopback(const char *hostport)
{
	char h[256];
	if (hostport[0] == '[') { /* [v6]:port */
		const char *end = strchr(hostport, ']');
		if (!end || (end[1] && end[1] != ':'))
			return false;
		snprintf(h, sizeof h, "%.*s", (int)(end - hostport - 1), hostport + 1);
		struct in6_addr a6;
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (strchr(hostport, '@')) /* userinfo: not a plain host */
		return false;
	size_t n = strcspn(hostport, ":");
	if (hostport[n] == ':' && !*(hostport + n + 1))
		return false;
	for (const char *p = hostport[n] ? hostport + n + 1 : ""; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	if (n == 0 || n >= sizeof h)
		return false;
	snprintf(h, sizeof h, "%.*s", (int)n, hostport);
	if (strcasecmp(h, "localhost") == 0)
		return true;
	struct in_addr a4;
	return inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int stor_s3_open(const struct stor_config *cfg, const char *bucket, const char *prefix,
                 struct stor **out)
{
	pthread_once(&curl_once, curl_init_once);
	struct s3 *s = pw_calloc(1, sizeof *s);
	s->base.ops = &s3_ops;
	s->base.features = STOR_F_ATOMIC_WRITE;
	s->bucket = pw_strdup(bucket);
	s->prefix = pw_strdup(prefix);
	const char *region = cfg->region ? cfg->region : getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	s->region = pw_strdup(region && *region ? region : "us-east-1");
	const char *ep = cfg->endpoint;
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL_S3");
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL");
	char def[256];
	bool custom = ep && *ep;
	if (!custom) {
		snprintf(def, sizeof def, "https://s3.%s.amazonaws.com", s->region);
		ep = def;
	}
	if (!pw_startswith(ep, "https://") && !pw_startswith(ep, "http://")) {
		s_free(&s->base);
		pw_error(PW_E_CONFIG, "invalid S3 endpoint \"%s\"", ep);
		return pw_error_hint("Write it as https://host[:port].");
	}
	const char *hp = strstr(ep, "://") + 3;
	size_t hl = strcspn(hp, "/");
	char host[512];
	snprintf(host, sizeof host, "%.*s", (int)hl, hp);
	const char *style = cfg->uri_style;
	if (style && strcmp(style, "path") != 0 && strcmp(style, "host") != 0) {
		s_free(&s->base);
		pw_error(PW_E_CONFIG, "invalid s3-uri-style \"%s\"", style);
		return pw_error_hint("Use path or host.");
	}
	s->path_style = style ? strcmp(style, "path") == 0 : custom;
	char scheme[16];
	snprintf(scheme, sizeof scheme, "%.*s", (int)(hp - ep), ep);
	struct pw_buf b = PW_BUF_INIT(1024);
	if (s->path_style) {
		pw_buf_printf(&b, "%s%s", scheme, host);
		s->host = pw_strdup(host);
	} else {
		pw_buf_printf(&b, "%s%s.%s", scheme, bucket, host);
		char vh[600];
		snprintf(vh, sizeof vh, "%s.%s", bucket, host);
		s->host = pw_strdup(vh);
	}
	s->scheme_host = (char *)pw_buf_str(&b);
	if (pw_startswith(ep, "http://") && !s3_host_is_loopback(host))
		pw_warn("the S3 endpoint %s is not encrypted (http://); use https:// in production",
		        ep);
	s->ca_file = cfg->ca_file ? pw_strdup(cfg->ca_file) : NULL;
	s->insecure = cfg->tls_insecure;
	if (s->insecure)
		pw_warn("TLS certificate verification for %s is turned off (s3-tls-verify=no)", ep);
	s->part_size = cfg->part_size ? cfg->part_size : 16 * MIB;
	if (s->part_size < 5 * MIB)
		s->part_size = 5 * MIB;
	s->parallel = cfg->parallel ? cfg->parallel : 4;
	s->max_attempts = cfg->max_attempts ? cfg->max_attempts : 6;
	s->req_timeout = cfg->request_timeout ? cfg->request_timeout : 60;
	s->total_timeout = cfg->total_timeout ? cfg->total_timeout : 3600;
	s->sse = cfg->sse ? pw_strdup(cfg->sse) : NULL;
	s->sse_kms = cfg->sse_kms_key_id ? pw_strdup(cfg->sse_kms_key_id) : NULL;
	s->storage_class = cfg->storage_class ? pw_strdup(cfg->storage_class) : NULL;
	snprintf(s->base.desc, sizeof s->base.desc, "s3://%s%s%s at %s", bucket, *prefix ? "/" : "",
	         prefix, ep);
	int rc = s3_creds_new(cfg, &s->creds);
	if (rc < 0) {
		s_free(&s->base);
		return rc;
	}
	probe_features(s);
	*out = &s->base;
	return 0;
}
