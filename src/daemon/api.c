/*
 * api.c - the service's HTTP API (see api.h and docs/api.md).
 *
 * Everything a client sends is hostile until checked: the path is matched byte for byte
 * against the route table (no percent-decoding: our names never need it, so "%2e%2e" or
 * "%00" can never reach a name), a stanza name must be one the service could serve, a job
 * id is digits, a body is at most API_BODY_MAX bytes of JSON with one known field. A caller
 * is authenticated before any route is looked up, so an unauthenticated client learns
 * nothing but 401. Tokens are stored as SHA-256 hashes and compared with CRYPTO_memcmp
 * against every configured hash; the token itself is never copied, logged or returned.
 *
 * libmicrohttpd runs the connections on a small thread pool with a connection limit, a
 * per-connection memory pool (which caps the request line and headers) and a timeout.
 * Every answered call is queued for the audit writer thread, which appends the records in
 * batches (one lock and one fsync per batch). A call that cannot be queued for the audit
 * log (the queue is full) is refused with 503 before anything is done.
 */
#include "daemon/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "daemon/refused.h"
#include "service/render.h"

#define API_THREADS 4
#define API_CONN_MAX 256            /* per listener */
#define API_CONN_PER_IP 32          /* per client address, on TCP */
#define API_CONN_MEMORY (16 * 1024) /* request line + headers must fit */
#define API_TIMEOUT 15              /* seconds of silence before a connection is closed */
#define API_PATH_MAX 256
#define API_BODY_MAX 1024
#define API_TOKENS_MAX 64
#define API_TOKEN_NAME_MAX 63
#define API_RENDER_MAX (8 * 1024 * 1024)
#define AUDIT_QUEUE_MAX 4096
#define AUDIT_LINGER_MS 200         /* the audit writer gathers a batch this long */
#define HELD_MAX (2 * API_CONN_MAX) /* refused calls whose answer is held (both listeners) */
#define TOKEN_PREFIX "pgward_"

enum { SCOPE_READ = 1u, SCOPE_OPERATE = 2u };

struct api_token {
	char name[API_TOKEN_NAME_MAX + 1];
	uint8_t hash[PW_SHA256_LEN];
	unsigned scopes;
};

struct audit_rec {
	char who[API_TOKEN_NAME_MAX + 1]; /* "" unauthenticated */
	char method[8];
	const char *route; /* a route template, or a fixed word */
	char stanza[SVC_STANZA_MAX + 1];
	unsigned status;
	unsigned job;
	const char *reason;          /* a fixed text of ours for a refusal, or NULL */
	char peer[REFUSED_PEER_MAX]; /* refused calls (401): who sent it */
	unsigned long refused;       /* a summary of this many refused calls (0: one call) */
	unsigned long refused_peers;
	char summary[160]; /* its message */
};

struct held {
	struct MHD_Connection *c;
	double due;
};

struct api {
	struct MHD_Daemon *unix_d, *tcp_d;
	struct board *board;
	struct api_hooks hooks;
	struct api_token tokens[API_TOKENS_MAX];
	size_t ntokens;
	pthread_rwlock_t tokens_lock; /* api_reload replaces the tokens */
	char *sock_path;
	dev_t sock_dev;
	ino_t sock_ino;
	struct pw_buf tls_cert, tls_key;
	pthread_mutex_t backups_mu; /* one repository listing at a time */
	/* the audit queue: reserved when a call starts, filled when it is answered */
	pthread_mutex_t amu;
	pthread_cond_t acv;
	struct audit_rec *aq;
	size_t naq, reserved;
	bool astop, athread;
	pthread_t awriter;
	unsigned long audit_failed;
	struct refused *refused; /* under amu */
	/* refused calls whose 401 is held back (suspended connections, resumed by the
	 * holder thread: a delay never occupies one of libmicrohttpd's threads) */
	pthread_mutex_t hmu;
	pthread_cond_t hcv;
	struct held held[HELD_MAX];
	size_t nheld;
	bool hstop, hthread;
	pthread_t holder;
};

/* ---- tokens ---- */

static bool token_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > API_TOKEN_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int parse_scopes(const char *s, unsigned *out)
{
	*out = 0;
	char buf[64];
	if (strlen(s) >= sizeof buf)
		return -1;
	pw_strlcpy(buf, s, sizeof buf);
	char *save;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		t = pw_trim(t);
		if (strcmp(t, "read") == 0)
			*out |= SCOPE_READ;
		else if (strcmp(t, "operate") == 0)
			*out |= SCOPE_OPERATE;
		else
			return -1;
	}
	return *out ? 0 : -1;
}

static void scopes_text(unsigned scopes, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", scopes & SCOPE_READ ? "read" : "",
	         scopes == (SCOPE_READ | SCOPE_OPERATE) ? "," : "",
	         scopes & SCOPE_OPERATE ? "operate" : "");
}

static int bad_token_line(size_t i, const char *why)
{
	pw_error(PW_E_CONFIG, "api-token %zu: %s", i + 1, why);
	return pw_error_hint("Each api-token is NAME:SCOPES:HASH (scopes read, operate), as "
	                     "printed by \"pgward serve --new-token NAME --scope read,operate\".");
}

static int load_tokens(const struct pw_config *cfg, struct api_token *t, size_t *n)
{
	const char *const *vals;
	size_t nv = pw_cfg_list(cfg, PW_OPT_API_TOKEN, &vals);
	*n = 0;
	if (nv > API_TOKENS_MAX) {
		pw_error(PW_E_LIMIT, "more than %d api-token lines", API_TOKENS_MAX);
		return pw_error_hint("Remove tokens no one uses.");
	}
	for (size_t i = 0; i < nv; i++) {
		/* the value holds no secret (a hash of a random token), but only its own
		 * parts are echoed back */
		char line[API_TOKEN_LINE_MAX];
		if (strlen(vals[i]) >= sizeof line)
			return bad_token_line(i, "too long");
		pw_strlcpy(line, vals[i], sizeof line);
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			return bad_token_line(i, "not NAME:SCOPES:HASH");
		*c1 = *c2 = 0;
		const char *name = pw_trim(line), *scopes = pw_trim(c1 + 1),
		           *hash = pw_trim(c2 + 1);
		if (!token_name_ok(name))
			return bad_token_line(i,
			                      "the name is not 1-63 letters, digits, \"_\", \".\" "
			                      "or \"-\"");
		if (parse_scopes(scopes, &t[i].scopes) < 0)
			return bad_token_line(i,
			                      "the scopes are not read, operate or read,operate");
		if (strlen(hash) != 2 * PW_SHA256_LEN ||
		    pw_hex_decode(hash, strlen(hash), t[i].hash, PW_SHA256_LEN) < 0)
			return bad_token_line(i, "the hash is not 64 hex digits (a SHA-256)");
		pw_strlcpy(t[i].name, name, sizeof t[i].name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[j].name, t[i].name) == 0 ||
			    memcmp(t[j].hash, t[i].hash, PW_SHA256_LEN) == 0)
				return bad_token_line(i, "the same name or hash as an earlier one");
		(*n)++;
	}
	return 0;
}

int api_token_new(const char *name, const char *scopes, char token[API_TOKEN_TEXT_MAX],
                  char line[API_TOKEN_LINE_MAX])
{
	unsigned sc;
	if (!name || !token_name_ok(name)) {
		char shown[80];
		pw_error(PW_E_USAGE, "bad token name \"%s\"",
		         pw_str_printable(shown, sizeof shown, name ? name : ""));
		return pw_error_hint("Token names are 1-%d letters, digits, \"_\", \".\" or "
		                     "\"-\": who holds it, e.g. \"grafana\" or \"ops\".",
		                     API_TOKEN_NAME_MAX);
	}
	if (parse_scopes(scopes ? scopes : "", &sc) < 0) {
		pw_error(PW_E_USAGE, "bad --scope");
		return pw_error_hint("Use read, operate or read,operate.");
	}
	uint8_t raw[32], h[PW_SHA256_LEN];
	char hex[2 * sizeof raw + 1], hhex[2 * PW_SHA256_LEN + 1], stext[32];
	int rc = pw_random(raw, sizeof raw);
	if (rc < 0)
		return rc;
	pw_hex_encode(raw, sizeof raw, hex);
	OPENSSL_cleanse(raw, sizeof raw);
	snprintf(token, API_TOKEN_TEXT_MAX, "%s%s", TOKEN_PREFIX, hex);
	OPENSSL_cleanse(hex, sizeof hex);
	if ((rc = pw_sha256(token, strlen(token), h)) < 0)
		return rc;
	pw_hex_encode(h, sizeof h, hhex);
	scopes_text(sc, stext, sizeof stext);
	snprintf(line, API_TOKEN_LINE_MAX, "%s:%s:%s", name, stext, hhex);
	return 0;
}

/* Is "Authorization: Bearer TOKEN" a configured token? Its name and scopes go to *out.
 * Every configured hash is compared (no early exit): the time taken says nothing about
 * which one matched. */
static bool authenticate(struct api *a, const char *header, struct api_token *out)
{
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	const char *tok = header + 7;
	while (*tok == ' ')
		tok++;
	size_t n = strlen(tok);
	if (n == 0 || n > 128)
		return false;
	uint8_t h[PW_SHA256_LEN];
	if (pw_sha256(tok, n, h) < 0) {
		pw_error_clear(); /* an OpenSSL failure: no token is accepted */
		return false;
	}
	bool found = false;
	pthread_rwlock_rdlock(&a->tokens_lock);
	for (size_t i = 0; i < a->ntokens; i++)
		if (CRYPTO_memcmp(h, a->tokens[i].hash, sizeof h) == 0) {
			*out = a->tokens[i];
			found = true;
		}
	pthread_rwlock_unlock(&a->tokens_lock);
	return found;
}

/* ---- the audit writer ---- */

static int audit_exit_code(unsigned status)
{
	if (status < 400)
		return 0;
	switch (status) {
	case 401:
	case 403:
		return PW_E_INSECURE;
	case 404:
		return PW_E_NOTFOUND;
	case 409:
		return PW_E_CONFIG;
	case 413:
	case 414:
	case 431:
	case 503:
		return PW_E_LIMIT;
	default:
		return status >= 500 ? PW_E_INTERNAL : PW_E_USAGE;
	}
}

static void abs_after_ms(struct timespec *until, long ms)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* A summary of refused calls as an audit record (the writer's own: no call reserved it). */
static void summary_rec(const struct refused_summary *sm, struct audit_rec *r)
{
	memset(r, 0, sizeof *r);
	pw_strlcpy(r->method, "-", sizeof r->method);
	r->route = "unauthenticated";
	r->status = 401;
	r->refused = sm->count;
	r->refused_peers = sm->peers;
	if (sm->peer[0]) {
		pw_strlcpy(r->peer, sm->peer, sizeof r->peer);
		snprintf(r->summary, sizeof r->summary,
		         "%lu more refused calls from %s in the last minute", sm->count, sm->peer);
	} else {
		snprintf(r->summary, sizeof r->summary,
		         "%lu more refused calls from %lu other peers in the last minute",
		         sm->count, sm->peers);
	}
	r->reason = r->summary;
}

#define SUMMARY_BATCH 64

static void *audit_writer(void *arg)
{
	struct api *a = arg;
	size_t cap = AUDIT_QUEUE_MAX + SUMMARY_BATCH;
	struct audit_rec *batch = pw_calloc(cap, sizeof *batch);
	struct pw_audit_event *ev = pw_calloc(cap, sizeof *ev);
	json_t **details = pw_calloc(cap, sizeof *details);
	struct refused_summary *sums = pw_calloc(SUMMARY_BATCH, sizeof *sums);
	pthread_mutex_lock(&a->amu);
	for (;;) {
		/* wait for records; while refused calls are counted, wake each second to write
		 * the summaries of the windows that ended */
		while (a->naq == 0 && !(a->astop && a->reserved == 0)) {
			if (!refused_pending(a->refused)) {
				pthread_cond_wait(&a->acv, &a->amu);
				continue;
			}
			struct timespec until;
			abs_after_ms(&until, 1000);
			if (pthread_cond_timedwait(&a->acv, &a->amu, &until) != 0)
				break;
		}
		bool last = a->astop && a->reserved == 0 && a->naq == 0;
		if (a->naq > 0) {
			/* linger a moment for the records of calls answered meanwhile: a busy
			 * client costs one fsync per AUDIT_LINGER_MS, not one per call (the calls
			 * are answered already; a stop or a queue half full ends the wait) */
			struct timespec until;
			abs_after_ms(&until, AUDIT_LINGER_MS);
			while (!a->astop && a->naq < AUDIT_QUEUE_MAX / 2 &&
			       pthread_cond_timedwait(&a->acv, &a->amu, &until) == 0) {
			}
		}
		size_t n = a->naq;
		memcpy(batch, a->aq, n * sizeof *batch);
		a->naq = 0;
		a->reserved -= n;
		size_t m = refused_collect(a->refused, pw_monotonic(), last, sums, SUMMARY_BATCH);
		pthread_cond_broadcast(&a->acv);
		pthread_mutex_unlock(&a->amu);
		for (size_t i = 0; i < m; i++)
			summary_rec(&sums[i], &batch[n + i]);
		n += m;
		for (size_t i = 0; i < n; i++) {
			const struct audit_rec *r = &batch[i];
			details[i] = json_object();
			json_object_set_new(details[i], "token",
			                    r->who[0] ? json_string(r->who) : json_null());
			json_object_set_new(details[i], "method", json_string(r->method));
			json_object_set_new(details[i], "route", json_string(r->route));
			json_object_set_new(details[i], "status", json_integer(r->status));
			if (r->job)
				json_object_set_new(details[i], "job_id", json_integer(r->job));
			if (r->peer[0])
				json_object_set_new(details[i], "peer", json_string(r->peer));
			if (r->refused) {
				json_object_set_new(details[i], "refused_calls",
				                    json_integer((json_int_t)r->refused));
				json_object_set_new(details[i], "refused_peers",
				                    json_integer((json_int_t)r->refused_peers));
				json_object_set_new(details[i], "window_seconds",
				                    json_integer(REFUSED_WINDOW));
			}
			ev[i] = (struct pw_audit_event){.command = "api",
			                                .stanza = r->stanza[0] ? r->stanza : NULL,
			                                .exit_code = audit_exit_code(r->status),
			                                .error = r->reason,
			                                .details = details[i]};
		}
		if (n > 0 && pw_audit_append_many(a->hooks.audit_path, ev, n) < 0) {
			/* the calls were answered: say so loudly, once in a while */
			if (a->audit_failed++ % 1000 == 0)
				pw_log(PW_LOG_ERROR, "%zu API audit records were not written: %s",
				       n, pw_error_message());
			pw_error_clear();
		}
		for (size_t i = 0; i < n; i++)
			json_decref(details[i]);
		pthread_mutex_lock(&a->amu);
		if (last && m < SUMMARY_BATCH)
			break;
	}
	pthread_mutex_unlock(&a->amu);
	pw_free(sums);
	pw_free(details);
	pw_free(ev);
	pw_free(batch);
	return NULL;
}

static bool audit_reserve(struct api *a)
{
	pthread_mutex_lock(&a->amu);
	bool ok = !a->astop && a->reserved < AUDIT_QUEUE_MAX;
	if (ok)
		a->reserved++;
	pthread_mutex_unlock(&a->amu);
	return ok;
}

/* A reserved record that will not be written (a refused call counted for a summary). */
static void audit_release(struct api *a)
{
	pthread_mutex_lock(&a->amu);
	a->reserved--;
	pthread_cond_broadcast(&a->acv);
	pthread_mutex_unlock(&a->amu);
}

static void audit_commit(struct api *a, const struct audit_rec *r)
{
	pthread_mutex_lock(&a->amu);
	a->aq[a->naq++] = *r; /* naq <= reserved <= AUDIT_QUEUE_MAX */
	pthread_cond_signal(&a->acv);
	pthread_mutex_unlock(&a->amu);
}

/* ---- refused calls: who sent them, and holding their answer ---- */

/* The peer a refusal is counted for: the client's IPv4 address, its IPv6 /64 (one host
 * commonly holds a whole /64), or on the unix socket its user id. */
static void peer_of(struct MHD_Connection *c, char *out, size_t size)
{
	pw_strlcpy(out, "unknown", size);
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char ip[INET6_ADDRSTRLEN];
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip))
			pw_strlcpy(out, ip, size);
	} else if (sa && sa->sa_family == AF_INET6) {
		struct in6_addr net = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&net)) {
			if (inet_ntop(AF_INET, &net.s6_addr[12], ip, sizeof ip))
				pw_strlcpy(out, ip, size);
			return;
		}
		memset(&net.s6_addr[8], 0, 8);
		if (inet_ntop(AF_INET6, &net, ip, sizeof ip))
			snprintf(out, size, "%s/64", ip);
	} else {
		const union MHD_ConnectionInfo *fi =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct ucred cr;
		socklen_t len = sizeof cr;
		if (fi && getsockopt(fi->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
			snprintf(out, size, "unix uid %u", (unsigned)cr.uid);
		else
			pw_strlcpy(out, "unix", size);
	}
}

/* The holder: resumes each held connection when its delay is over (then libmicrohttpd
 * calls on_request again, which sends the 401). */
static void *holder(void *arg)
{
	struct api *a = arg;
	pthread_mutex_lock(&a->hmu);
	while (!a->hstop) {
		double now = pw_monotonic(), next = 0;
		for (size_t i = 0; i < a->nheld;) {
			if (a->held[i].due <= now) {
				MHD_resume_connection(a->held[i].c);
				a->held[i] = a->held[--a->nheld];
				continue;
			}
			if (!next || a->held[i].due < next)
				next = a->held[i].due;
			i++;
		}
		if (!next) {
			pthread_cond_wait(&a->hcv, &a->hmu);
			continue;
		}
		struct timespec until;
		abs_after_ms(&until, (long)((next - now) * 1000) + 1);
		pthread_cond_timedwait(&a->hcv, &a->hmu, &until);
	}
	for (size_t i = 0; i < a->nheld; i++)
		MHD_resume_connection(a->held[i].c);
	a->nheld = 0;
	pthread_mutex_unlock(&a->hmu);
	return NULL;
}

/* Hold a refused call's answer for ms; false: answer now (the service stops, or too many
 * are held). Suspending under hmu: the holder cannot resume it before it is suspended. */
static bool hold(struct api *a, struct MHD_Connection *c, unsigned ms)
{
	pthread_mutex_lock(&a->hmu);
	bool ok = a->hthread && !a->hstop && a->nheld < HELD_MAX;
	if (ok) {
		a->held[a->nheld++] = (struct held){c, pw_monotonic() + ms / 1000.0};
		MHD_suspend_connection(c);
		pthread_cond_signal(&a->hcv);
	}
	pthread_mutex_unlock(&a->hmu);
	return ok;
}

/* ---- requests ---- */

struct req {
	bool reserved;        /* an audit slot is held */
	bool held;            /* a refused call whose 401 waits in the holder */
	bool token_sent;      /* it carried an Authorization header */
	bool answered;        /* a response was queued */
	bool too_big;         /* the body passed API_BODY_MAX */
	int route;            /* index into routes, -1 none */
	struct api_token tok; /* the caller's token (a copy: a reload may replace the table) */
	struct audit_rec rec;
	char stanza[SVC_STANZA_MAX + 1];
	unsigned id;
	struct pw_buf body;
};

typedef void handler_fn(struct api *a, struct MHD_Connection *c, struct req *r);
static handler_fn h_status, h_stanzas, h_stanza, h_backups, h_run, h_job, h_cancel, h_metrics,
    h_page;

/* The route table: the paths docs/openapi.yaml describes (test_serve_api.sh checks both
 * ways). {name} is a stanza name, {id} a job id. */
static const struct route {
	const char *method, *path;
	unsigned scope;
	handler_fn *fn;
} routes[] = {
    {"GET", "/v1/status", SCOPE_READ, h_status},
    {"GET", "/v1/stanzas", SCOPE_READ, h_stanzas},
    {"GET", "/v1/stanzas/{name}", SCOPE_READ, h_stanza},
    {"GET", "/v1/stanzas/{name}/backups", SCOPE_READ, h_backups},
    {"POST", "/v1/stanzas/{name}/jobs", SCOPE_OPERATE, h_run},
    {"GET", "/v1/jobs/{id}", SCOPE_READ, h_job},
    {"DELETE", "/v1/jobs/{id}", SCOPE_OPERATE, h_cancel},
    {"GET", "/metrics", SCOPE_READ, h_metrics},
    {"GET", "/", SCOPE_READ, h_page},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static enum MHD_Result send_response(struct api *a, struct MHD_Connection *c, struct req *r,
                                     unsigned status, const char *ctype, const void *body,
                                     size_t len, const char *hname, const char *hvalue)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (hname)
		MHD_add_response_header(resp, hname, hvalue);
	enum MHD_Result ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	r->rec.status = status;
	if (r->reserved) {
		r->reserved = false;
		audit_commit(a, &r->rec);
	}
	return ok;
}

static enum MHD_Result send_json(struct api *a, struct MHD_Connection *c, struct req *r,
                                 unsigned status, json_t *j, const char *hname, const char *hvalue)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!s) {
		static const char oom[] = "{\"error\": {\"status\": 500, \"message\": \"out of "
		                          "memory\"}}\n";
		r->rec.reason = "out of memory";
		return send_response(a, c, r, 500, "application/json", oom, sizeof oom - 1, NULL,
		                     NULL);
	}
	size_t n = strlen(s);
	struct pw_buf b = PW_BUF_INIT(n + 2);
	enum MHD_Result ok = MHD_NO;
	if (pw_buf_append(&b, s, n) == 0 && pw_buf_putc(&b, '\n') == 0)
		ok = send_response(a, c, r, status, "application/json", b.data, b.len, hname,
		                   hvalue);
	pw_buf_free(&b, 0);
	pw_free(s);
	return ok;
}

/* An error: {"error": {"status", "message"}}; message is a fixed text of ours (never an
 * echo of what the client sent). */
static enum MHD_Result send_error(struct api *a, struct MHD_Connection *c, struct req *r,
                                  unsigned status, const char *message, const char *hname,
                                  const char *hvalue)
{
	r->rec.reason = message;
	return send_json(
	    a, c, r, status,
	    json_pack("{s:{s:i,s:s}}", "error", "status", (int)status, "message", message), hname,
	    hvalue);
}

static enum MHD_Result send_401(struct api *a, struct MHD_Connection *c, struct req *r)
{
	return send_error(a, c, r, 401, "a valid bearer token is needed", "WWW-Authenticate",
	                  r->token_sent ? "Bearer realm=\"pgward\", error=\"invalid_token\""
	                                : "Bearer realm=\"pgward\"");
}

static void h_status(struct api *a, struct MHD_Connection *c, struct req *r)
{
	struct board_data *d = board_lock(a->board);
	json_t *j = svc_status_json(d, pw_now());
	board_unlock(a->board);
	send_json(a, c, r, 200, j, NULL, NULL);
}

static void h_stanzas(struct api *a, struct MHD_Connection *c, struct req *r)
{
	struct board_data *d = board_lock(a->board);
	json_t *arr = json_array();
	for (size_t i = 0; i < d->n; i++)
		json_array_append_new(arr, svc_status_stanza_json(&d->stanza[i]));
	board_unlock(a->board);
	send_json(a, c, r, 200, json_pack("{s:o}", "stanzas", arr), NULL, NULL);
}

static void h_stanza(struct api *a, struct MHD_Connection *c, struct req *r)
{
	struct board_data *d = board_lock(a->board);
	const struct board_stanza *bs = board_find(d, r->stanza);
	json_t *j = bs ? svc_status_stanza_json(bs) : NULL;
	board_unlock(a->board);
	if (!bs)
		send_error(a, c, r, 404, "no such stanza is served", NULL, NULL);
	else
		send_json(a, c, r, 200, j, NULL, NULL);
}

static bool served(struct api *a, const char *stanza)
{
	bool ok = board_find(board_lock(a->board), stanza) != NULL;
	board_unlock(a->board);
	return ok;
}

static void h_backups(struct api *a, struct MHD_Connection *c, struct req *r)
{
	if (!served(a, r->stanza)) {
		send_error(a, c, r, 404, "no such stanza is served", NULL, NULL);
		return;
	}
	if (!a->hooks.backups) {
		send_error(a, c, r, 501, "listing backups is not available", NULL, NULL);
		return;
	}
	if (pthread_mutex_trylock(&a->backups_mu) != 0) {
		send_error(a, c, r, 503, "another listing of the repository is running",
		           "Retry-After", "2");
		return;
	}
	json_t *arr = NULL;
	int rc = a->hooks.backups(a->hooks.arg, r->stanza, &arr);
	pthread_mutex_unlock(&a->backups_mu);
	if (rc < 0) {
		/* the message may name a bucket or a path: it goes to the service's log (which
		 * redacts), the client gets the class of failure */
		pw_warn("API: listing the backups of stanza \"%s\" failed: %s", r->stanza,
		        pw_error_message());
		pw_error_clear();
		json_decref(arr);
		send_error(a, c, r, 502,
		           "the repository could not be listed (the service's log "
		           "says why)",
		           NULL, NULL);
		return;
	}
	send_json(a, c, r, 200, json_pack("{s:s,s:o}", "stanza", r->stanza, "backups", arr), NULL,
	          NULL);
}

static void job_response(struct api *a, struct MHD_Connection *c, struct req *r, unsigned status)
{
	struct board_job_view v;
	if (board_job_find(a->board, r->id, &v) < 0) {
		pw_error_clear();
		send_error(a, c, r, 404, "no such job is known", NULL, NULL);
		return;
	}
	if (!r->stanza[0])
		pw_strlcpy(r->rec.stanza, v.stanza, sizeof r->rec.stanza);
	char loc[48];
	snprintf(loc, sizeof loc, "/v1/jobs/%u", r->id);
	send_json(a, c, r, status, svc_job_json(&v), status == 202 ? "Location" : NULL, loc);
}

static void h_job(struct api *a, struct MHD_Connection *c, struct req *r)
{
	job_response(a, c, r, 200);
}

static void h_run(struct api *a, struct MHD_Connection *c, struct req *r)
{
	if (r->too_big) {
		send_error(a, c, r, 413, "the body is larger than 1024 bytes", NULL, NULL);
		return;
	}
	json_error_t je;
	json_t *j =
	    json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
	json_t *kind = json_object_get(j, "kind");
	int k = json_is_string(kind) ? plan_kind_from(json_string_value(kind)) : -1;
	bool one = json_is_object(j) && json_object_size(j) == 1;
	json_decref(j);
	if (!one || k < 0) {
		send_error(
		    a, c, r, 400,
		    "the body must be a JSON object {\"kind\": \"backup\"|\"verify\"|\"expire\"}",
		    NULL, NULL);
		return;
	}
	struct board_data *d = board_lock(a->board);
	const struct board_stanza *bs = board_find(d, r->stanza);
	bool scheduled = bs && bs->kind[k].scheduled;
	board_unlock(a->board);
	if (!bs) {
		send_error(a, c, r, 404, "no such stanza is served", NULL, NULL);
		return;
	}
	if (!scheduled) {
		/* a kind this service does not schedule belongs to the other host of the split */
		send_error(a, c, r, 409,
		           "this service does not schedule that kind of job for the stanza", NULL,
		           NULL);
		return;
	}
	int rc = board_request_run(a->board, r->stanza, (enum plan_kind)k, r->tok.name, &r->id);
	if (rc < 0) {
		pw_error_clear();
		send_error(a, c, r, rc == -PW_E_LIMIT ? 503 : 404,
		           rc == -PW_E_LIMIT ? "too many job requests are waiting"
		                             : "no such stanza is served",
		           NULL, NULL);
		return;
	}
	r->rec.job = r->id;
	job_response(a, c, r, 202);
}

static void h_cancel(struct api *a, struct MHD_Connection *c, struct req *r)
{
	int rc = board_request_cancel(a->board, r->id, r->tok.name);
	if (rc < 0) {
		pw_error_clear();
		send_error(a, c, r, rc == -PW_E_LIMIT ? 503 : 404,
		           rc == -PW_E_LIMIT ? "too many job requests are waiting"
		                             : "no such job runs or waits",
		           NULL, NULL);
		return;
	}
	job_response(a, c, r, 202);
}

static void send_render(struct api *a, struct MHD_Connection *c, struct req *r,
                        int (*fn)(const struct board_data *, time_t, struct pw_buf *),
                        const char *ctype, const char *hname, const char *hvalue)
{
	struct pw_buf b = PW_BUF_INIT(API_RENDER_MAX);
	struct board_data *d = board_lock(a->board);
	int rc = fn(d, pw_now(), &b);
	board_unlock(a->board);
	if (rc < 0) {
		pw_error_clear();
		send_error(a, c, r, 500, "the rendering failed", NULL, NULL);
	} else {
		send_response(a, c, r, 200, ctype, b.data ? (const void *)b.data : "", b.len, hname,
		              hvalue);
	}
	pw_buf_free(&b, 0);
}

static void h_metrics(struct api *a, struct MHD_Connection *c, struct req *r)
{
	send_render(a, c, r, svc_metrics_render, "text/plain; version=0.0.4; charset=utf-8", NULL,
	            NULL);
}

static void h_page(struct api *a, struct MHD_Connection *c, struct req *r)
{
	/* the page's policy as a header too (frame-ancestors works only there) */
	char csp[SVC_PAGE_CSP_MAX];
	if (svc_page_csp(true, csp) < 0) {
		pw_error_clear();
		send_error(a, c, r, 500, "the rendering failed", NULL, NULL);
		return;
	}
	send_render(a, c, r, svc_page_render, "text/html; charset=utf-8", "Content-Security-Policy",
	            csp);
}

/* ---- routing ---- */

static bool path_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '/' || ch == '_' || ch == '-' || ch == '.';
}

/* Does path match the template? {name} and {id} take one segment, checked by the caller. */
static bool path_match(const char *tmpl, const char *path, char *name, size_t nsize, char *id,
                       size_t isize)
{
	for (;;) {
		if (*tmpl == '{') {
			const char *close = strchr(tmpl, '}');
			const char *end = strchr(path, '/');
			size_t n = end ? (size_t)(end - path) : strlen(path);
			bool is_id = strncmp(tmpl, "{id}", 4) == 0;
			char *dst = is_id ? id : name;
			size_t cap = is_id ? isize : nsize;
			if (n == 0 || n >= cap)
				return false;
			memcpy(dst, path, n);
			dst[n] = 0;
			tmpl = close + 1;
			path += n;
			continue;
		}
		if (*tmpl != *path)
			return false;
		if (!*tmpl)
			return true;
		tmpl++;
		path++;
	}
}

static bool method_is(const char *method, const char *want)
{
	return strcmp(method, want) == 0 ||
	       (strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

/* The first call of a request: its headers are in. Answers everything that can be answered
 * before a body (which is all but a good POST). */
static enum MHD_Result start(struct api *a, struct MHD_Connection *c, struct req *r,
                             const char *url, const char *method)
{
	static const char *const known[] = {"GET", "HEAD",  "POST",   "DELETE",
	                                    "PUT", "PATCH", "OPTIONS"};
	pw_strlcpy(r->rec.method, "other", sizeof r->rec.method);
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(method, known[i]) == 0)
			pw_strlcpy(r->rec.method, method, sizeof r->rec.method);
	r->rec.route = "unknown";
	r->route = -1;
	if (!audit_reserve(a)) {
		/* nothing happens that is not recorded */
		static const char busy[] = "{\"error\": {\"status\": 503, \"message\": \"the audit "
		                           "log is behind: try again\"}}\n";
		return send_response(a, c, r, 503, "application/json", busy, sizeof busy - 1,
		                     "Retry-After", "1");
	}
	r->reserved = true;
	if (!authenticate(a, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
	                  &r->tok)) {
		r->token_sent =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") != NULL;
		/* a flood of refusals: the first few of each peer are records one by one, the
		 * rest a summary (the audit writer's); a peer that keeps failing waits */
		bool record;
		unsigned delay;
		peer_of(c, r->rec.peer, sizeof r->rec.peer);
		pthread_mutex_lock(&a->amu);
		refused_note(a->refused, r->rec.peer, pw_monotonic(), &record, &delay);
		pthread_mutex_unlock(&a->amu);
		if (!record) {
			r->reserved = false;
			audit_release(a);
		}
		if (delay && hold(a, c, delay)) {
			r->held = true;
			return MHD_YES;
		}
		return send_401(a, c, r);
	}
	pw_strlcpy(r->rec.who, r->tok.name, sizeof r->rec.who);
	size_t n = strlen(url);
	if (n > API_PATH_MAX)
		return send_error(a, c, r, 414, "the path is too long", NULL, NULL);
	bool clean = url[0] == '/';
	for (size_t i = 0; i < n && clean; i++)
		clean = path_char_ok(url[i]) && !(url[i] == '/' && url[i + 1] == '/');
	if (!clean || strstr(url, "/./") || strstr(url, "/../") ||
	    (n >= 2 && strcmp(url + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(url + n - 3, "/..") == 0))
		return send_error(a, c, r, 400,
		                  "the path may hold only letters, digits, \"/\", \"_\", \"-\" and "
		                  "\".\", and no \".\" or \"..\" segments",
		                  NULL, NULL);
	char name[SVC_STANZA_MAX + 2] = "", id[12] = "";
	char allow[64] = "";
	for (size_t i = 0; i < NROUTES; i++) {
		char nm[sizeof name] = "", ids[sizeof id] = "";
		if (!path_match(routes[i].path, url, nm, sizeof nm, ids, sizeof ids))
			continue;
		r->rec.route = routes[i].path;
		if (!method_is(method, routes[i].method)) {
			snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
			         allow[0] ? ", " : "", routes[i].method);
			continue;
		}
		r->route = (int)i;
		memcpy(name, nm, sizeof name);
		memcpy(id, ids, sizeof id);
		break;
	}
	if (r->route < 0 && allow[0])
		return send_error(a, c, r, 405, "the method is not allowed on this path", "Allow",
		                  allow);
	if (r->route < 0)
		return send_error(a, c, r, 404, "no such resource", NULL, NULL);
	const struct route *rt = &routes[r->route];
	if (strstr(rt->path, "{name}")) {
		if (!svc_stanza_name_ok(name))
			return send_error(a, c, r, 400, "bad stanza name", NULL, NULL);
		pw_strlcpy(r->stanza, name, sizeof r->stanza);
		pw_strlcpy(r->rec.stanza, name, sizeof r->rec.stanza);
	}
	if (strstr(rt->path, "{id}")) {
		uint64_t v = 0;
		bool digits = id[0] != 0;
		for (const char *p = id; *p && digits; p++)
			digits = *p >= '0' && *p <= '9';
		if (!digits || strlen(id) > 10 || pw_parse_u64(id, &v) < 0 || v == 0 ||
		    v > UINT32_MAX) {
			pw_error_clear();
			return send_error(a, c, r, 400, "bad job id", NULL, NULL);
		}
		r->id = (unsigned)v;
		r->rec.job = r->id;
	}
	if (!(r->tok.scopes & rt->scope))
		return send_error(a, c, r, 403,
		                  rt->scope == SCOPE_OPERATE ? "the token lacks the operate scope"
		                                             : "the token lacks the read scope",
		                  NULL, NULL);
	if (strcmp(rt->method, "POST") != 0) {
		rt->fn(a, c, r);
		return MHD_YES;
	}
	/* a POST: its body comes next; say early what it cannot be */
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if (!ct || (strcasecmp(ct, "application/json") != 0 &&
	            strncasecmp(ct, "application/json;", 17) != 0))
		return send_error(a, c, r, 415, "the body must be application/json", NULL, NULL);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	uint64_t len = 0;
	if (cl && (pw_parse_u64(cl, &len) < 0 || len > API_BODY_MAX)) {
		pw_error_clear();
		return send_error(a, c, r, 413, "the body is larger than 1024 bytes", NULL, NULL);
	}
	r->body = PW_BUF_INIT(API_BODY_MAX);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct api *a = cls;
	struct req *r = *con_cls;
	if (!r) {
		r = pw_calloc(1, sizeof *r);
		*con_cls = r;
		return start(a, c, r, url, method);
	}
	if (r->held) { /* a refused call whose delay is over */
		r->held = false;
		*upload_data_size = 0;
		return send_401(a, c, r);
	}
	if (r->answered) { /* a body after an early answer: read and dropped */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!r->too_big && pw_buf_append(&r->body, upload_data, *upload_data_size) < 0) {
			pw_error_clear();
			r->too_big = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->route < 0) /* every other call was answered in start() */
		return MHD_NO;
	routes[r->route].fn(a, c, r);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)c;
	(void)toe;
	struct api *a = cls;
	struct req *r = *con_cls;
	if (!r)
		return;
	if (r->reserved) { /* the client went away before an answer: still a call */
		r->rec.status = 499;
		r->rec.reason = "the connection ended before an answer";
		audit_commit(a, &r->rec);
	}
	pw_buf_free(&r->body, 0);
	pw_free(r);
	*con_cls = NULL;
}

/* No percent-decoding: a path is matched as sent (see the top of this file). */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* ---- listeners ---- */

static int unix_listener(struct api *a, const char *path, int *out)
{
	*out = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		pw_error(PW_E_CONFIG, "api-socket \"%s\" is longer than %zu bytes", path,
		         sizeof sa.sun_path - 1);
		return pw_error_hint("Use a shorter path (a unix socket's name is limited).");
	}
	int rc = pw_mkdir_parents(path, PW_E_CONFIG, NULL);
	if (rc < 0)
		return rc;
	/* the directory: ours (or root's) and writable by no one else, not a sticky /tmp */
	char *dir = pw_strdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		pw_strlcpy(dir, ".", strlen(dir) + 1);
	bool shared = false;
	int dfd = -1;
	rc = pw_safe_opendir(dir, geteuid(), &shared, &dfd);
	if (dfd >= 0)
		close(dfd);
	if (rc == 0 && shared) {
		pw_error(PW_E_INSECURE,
		         "the directory of api-socket \"%s\" is shared (sticky and "
		         "world-writable)",
		         path);
		rc = pw_error_hint("Put the socket in a directory of the service's user, mode 0700 "
		                   "(the default is under $XDG_STATE_HOME/pgward).");
	}
	pw_free(dir);
	if (rc < 0)
		return pw_error_context("api-socket");
	pw_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		/* a stale socket of ours (a service that died) is replaced; a live one, or
		 * anything else, is not touched */
		if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
			pw_error(PW_E_EXISTS,
			         "api-socket \"%s\" exists and is not a socket of this "
			         "user",
			         path);
			return pw_error_hint("Remove it, or set api-socket to another path.");
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			pw_error(PW_E_EXISTS, "api-socket \"%s\" is in use by another process",
			         path);
			return pw_error_hint(
			    "Another pgward serve runs with this socket: stop it, or "
			    "set api-socket to another path.");
		}
		if (unlink(path) < 0 && errno != ENOENT)
			return pw_error(PW_E_IO, "cannot remove the stale api-socket \"%s\": %s",
			                path, pw_strerror(errno));
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pw_error(PW_E_IO, "cannot create a unix socket: %s", pw_strerror(errno));
	/* the directory is the service user's alone: the moment before chmod reveals nothing */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
	    lstat(path, &st) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return pw_error(PW_E_IO, "cannot listen on api-socket \"%s\": %s", path,
		                pw_strerror(e));
	}
	a->sock_path = pw_strdup(path);
	a->sock_dev = st.st_dev;
	a->sock_ino = st.st_ino;
	*out = fd;
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT" */
static int split_listen(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon = strrchr(s, ':');
	const char *h = s, *hend = colon;
	if (colon && s[0] == '[') {
		h = s + 1;
		hend = colon > s && colon[-1] == ']' ? colon - 1 : NULL;
	}
	if (!colon || !hend || hend <= h || (size_t)(hend - h) >= hsize || !colon[1] ||
	    strlen(colon + 1) >= psize) {
		pw_error(PW_E_CONFIG, "api-listen \"%s\" is not HOST:PORT", s);
		return pw_error_hint("For example api-listen = 127.0.0.1:8443 or [::1]:8443.");
	}
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = 0;
	pw_strlcpy(port, colon + 1, psize);
	uint64_t p;
	if (pw_parse_u64(port, &p) < 0 || p == 0 || p > 65535) {
		pw_error(PW_E_CONFIG, "api-listen \"%s\": bad port", s);
		return pw_error_hint("The port is a number 1-65535.");
	}
	return 0;
}

static int tcp_listener(const char *spec, int *out)
{
	char host[256], port[8];
	*out = -1;
	int rc = split_listen(spec, host, sizeof host, port, sizeof port);
	if (rc < 0)
		return rc;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
	                *res = NULL;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g != 0 || !res) {
		pw_error(PW_E_CONFIG, "api-listen \"%s\": %s", spec, gai_strerror(g));
		return pw_error_hint("Name an address of this host.");
	}
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return pw_error(PW_E_IO, "cannot listen on api-listen \"%s\": %s", spec,
		                pw_strerror(e));
	}
	freeaddrinfo(res);
	*out = fd;
	return 0;
}

static int read_tls(const struct pw_config *cfg, struct pw_buf *cert, struct pw_buf *key)
{
	const char *cf = pw_cfg_str(cfg, PW_OPT_API_TLS_CERT),
	           *kf = pw_cfg_str(cfg, PW_OPT_API_TLS_KEY);
	*cert = PW_BUF_INIT(256 * 1024);
	*key = PW_BUF_INIT(64 * 1024);
	int rc = pw_trusted_read(cf, "api-tls-cert", 0, cert);
	if (rc == 0)
		rc = pw_trusted_read(kf, "api-tls-key", PW_TRUST_SECRET, key);
	if (rc == 0 && (!strstr(pw_buf_str(cert), "-----BEGIN CERTIFICATE-----") ||
	                !strstr(pw_buf_str(key), "PRIVATE KEY-----"))) {
		pw_error(PW_E_CONFIG, "api-tls-cert or api-tls-key is not PEM");
		rc = pw_error_hint("api-tls-cert is a PEM certificate chain, api-tls-key its PEM "
		                   "private key.");
	}
	return rc;
}

int api_check(const struct pw_config *cfg, bool *enabled)
{
	struct api_token t[API_TOKENS_MAX];
	size_t n;
	*enabled = false;
	int rc = load_tokens(cfg, t, &n);
	if (rc < 0)
		return rc;
	const char *listen_on = pw_cfg_str(cfg, PW_OPT_API_LISTEN);
	bool tls = pw_cfg_isset(cfg, PW_OPT_API_TLS_CERT) || pw_cfg_isset(cfg, PW_OPT_API_TLS_KEY);
	if (n == 0) {
		if (listen_on || tls || pw_cfg_isset(cfg, PW_OPT_API_SOCKET)) {
			pw_error(PW_E_CONFIG,
			         "the API is configured but no api-token is set: it would "
			         "refuse every call");
			return pw_error_hint(
			    "Make a token with \"pgward serve --new-token NAME "
			    "--scope read\" and add its api-token line to [global].");
		}
		return 0;
	}
	*enabled = true;
	if (listen_on) {
		char host[256], port[8];
		if ((rc = split_listen(listen_on, host, sizeof host, port, sizeof port)) < 0)
			return rc;
		if (!pw_cfg_isset(cfg, PW_OPT_API_TLS_CERT) ||
		    !pw_cfg_isset(cfg, PW_OPT_API_TLS_KEY)) {
			pw_error(PW_E_CONFIG,
			         "api-listen \"%s\" without TLS: the API is served over "
			         "TCP only with TLS",
			         listen_on);
			return pw_error_hint(
			    "Set api-tls-cert and api-tls-key, or remove api-listen "
			    "and use the unix socket (api-socket).");
		}
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			pw_error(PW_E_CONFIG,
			         "this libmicrohttpd has no TLS support: api-listen cannot "
			         "be served");
			return pw_error_hint("Use the unix socket (api-socket) or a libmicrohttpd "
			                     "built with GnuTLS.");
		}
		struct pw_buf c, k;
		rc = read_tls(cfg, &c, &k);
		pw_buf_free(&c, 0);
		pw_buf_free(&k, 1);
		if (rc < 0)
			return rc;
	} else if (tls) {
		pw_error(PW_E_CONFIG, "api-tls-cert or api-tls-key is set without api-listen");
		return pw_error_hint("Set api-listen = HOST:PORT to serve the API over TLS, or "
		                     "remove them.");
	}
	return 0;
}

static struct MHD_Daemon *start_daemon(struct api *a, int fd, bool tls)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	if (tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem common[] = {
	    {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
	    {MHD_OPTION_THREAD_POOL_SIZE, API_THREADS, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, API_CONN_MAX, NULL},
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONN_MEMORY, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, API_TIMEOUT, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, a},
	    {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL},
	    /* TCP: one client cannot hold every connection; TLS 1.2 or 1.3 only */
	    {tls ? MHD_OPTION_PER_IP_CONNECTION_LIMIT : MHD_OPTION_END, API_CONN_PER_IP, NULL},
	    {tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, 0,
	     (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
	    {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
	     tls ? (void *)pw_buf_str(&a->tls_cert) : NULL},
	    {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
	     tls ? (void *)pw_buf_str(&a->tls_key) : NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_ARRAY, common,
	                        MHD_OPTION_END);
}

int api_start(const struct pw_config *cfg, struct board *b, const struct api_hooks *hooks,
              struct api **out)
{
	*out = NULL;
	bool enabled;
	int rc = api_check(cfg, &enabled);
	if (rc < 0 || !enabled)
		return rc;
	struct api *a = pw_calloc(1, sizeof *a);
	a->board = b;
	a->hooks = *hooks;
	a->aq = pw_calloc(AUDIT_QUEUE_MAX, sizeof *a->aq);
	pthread_mutex_init(&a->backups_mu, NULL);
	pthread_rwlock_init(&a->tokens_lock, NULL);
	pthread_mutex_init(&a->amu, NULL);
	pthread_cond_init(&a->acv, NULL);
	pthread_mutex_init(&a->hmu, NULL);
	pthread_cond_init(&a->hcv, NULL);
	a->refused = refused_new();
	a->tls_cert = PW_BUF_INIT(0);
	a->tls_key = PW_BUF_INIT(0);
	rc = load_tokens(cfg, a->tokens, &a->ntokens);
	/* the API's threads (the audit writer's and libmicrohttpd's, which inherit this mask)
	 * never take a signal: SIGTERM and SIGHUP must interrupt the loop's wait in the main
	 * thread, not land in a thread that ignores them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (rc == 0 && pthread_create(&a->awriter, NULL, audit_writer, a) != 0)
		rc = pw_error(PW_E_INTERNAL, "cannot start the API's audit writer thread");
	else if (rc == 0)
		a->athread = true;
	if (rc == 0 && pthread_create(&a->holder, NULL, holder, a) != 0)
		rc = pw_error(PW_E_INTERNAL, "cannot start the API's holder thread");
	else if (rc == 0)
		a->hthread = true;
	int ufd = -1, tfd = -1;
	char *sock = pw_cfg_isset(cfg, PW_OPT_API_SOCKET)
	                 ? pw_strdup(pw_cfg_str(cfg, PW_OPT_API_SOCKET))
	                 : pw_state_path("api.sock");
	if (rc == 0)
		rc = unix_listener(a, sock, &ufd);
	if (rc == 0) {
		a->unix_d = start_daemon(a, ufd, false);
		if (!a->unix_d) {
			close(ufd);
			rc = pw_error(PW_E_INTERNAL, "cannot start the API on \"%s\"", sock);
		}
	}
	const char *listen_on = pw_cfg_str(cfg, PW_OPT_API_LISTEN);
	if (rc == 0 && listen_on) {
		rc = read_tls(cfg, &a->tls_cert, &a->tls_key);
		if (rc == 0)
			rc = tcp_listener(listen_on, &tfd);
		if (rc == 0) {
			a->tcp_d = start_daemon(a, tfd, true);
			if (!a->tcp_d) {
				close(tfd);
				pw_error(PW_E_CONFIG, "cannot start the API with TLS on \"%s\"",
				         listen_on);
				rc = pw_error_hint("Check that api-tls-key is the private key of "
				                   "api-tls-cert (PEM).");
			}
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		pw_info("API listening on %s%s%s (%zu token%s)", sock,
		        listen_on ? " and https://" : "", listen_on ? listen_on : "", a->ntokens,
		        a->ntokens == 1 ? "" : "s");
	pw_free(sock);
	if (rc < 0) {
		api_stop(a);
		return rc;
	}
	*out = a;
	return 0;
}

int api_reload(struct api *a, const struct pw_config *cfg)
{
	if (!a)
		return 0;
	struct api_token *t = pw_calloc(API_TOKENS_MAX, sizeof *t);
	size_t n = 0;
	int rc = load_tokens(cfg, t, &n);
	if (rc == 0 && n == 0) {
		pw_error(PW_E_CONFIG, "the new configuration has no api-token");
		rc = pw_error_hint("Restart the service to stop the API; a reload keeps it "
		                   "listening with the tokens it has.");
	}
	if (rc == 0) {
		pthread_rwlock_wrlock(&a->tokens_lock);
		memcpy(a->tokens, t, n * sizeof *t);
		a->ntokens = n;
		pthread_rwlock_unlock(&a->tokens_lock);
		pw_info("API tokens reloaded: %zu", n);
	}
	OPENSSL_cleanse(t, API_TOKENS_MAX * sizeof *t);
	pw_free(t);
	return rc;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	/* held connections are resumed (and answered) first: libmicrohttpd cannot stop with
	 * suspended ones; after this, a refusal is answered at once */
	if (a->hthread) {
		pthread_mutex_lock(&a->hmu);
		a->hstop = true;
		pthread_cond_broadcast(&a->hcv);
		pthread_mutex_unlock(&a->hmu);
		pthread_join(a->holder, NULL);
	}
	if (a->tcp_d)
		MHD_stop_daemon(a->tcp_d);
	if (a->unix_d)
		MHD_stop_daemon(a->unix_d);
	if (a->athread) {
		pthread_mutex_lock(&a->amu);
		a->astop = true;
		pthread_cond_broadcast(&a->acv);
		pthread_mutex_unlock(&a->amu);
		pthread_join(a->awriter, NULL);
	}
	struct stat st;
	if (a->sock_path && lstat(a->sock_path, &st) == 0 && st.st_dev == a->sock_dev &&
	    st.st_ino == a->sock_ino)
		unlink(a->sock_path);
	pw_free(a->sock_path);
	pw_buf_free(&a->tls_cert, 0);
	pw_buf_free(&a->tls_key, 1);
	pthread_mutex_destroy(&a->backups_mu);
	pthread_rwlock_destroy(&a->tokens_lock);
	pthread_cond_destroy(&a->acv);
	pthread_mutex_destroy(&a->amu);
	pthread_cond_destroy(&a->hcv);
	pthread_mutex_destroy(&a->hmu);
	refused_free(a->refused);
	pw_free(a->aq);
	OPENSSL_cleanse(a->tokens, sizeof a->tokens);
	pw_free(a);
}
