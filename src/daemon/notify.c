/*
 * notify.c - the service's webhooks (see notify.h).
 *
 * The loop posts; a queue of at most QUEUE_MAX deliveries (one per event and receiver)
 * sits between it and the notifier's thread, which POSTs with libcurl: connect within 5 s,
 * all within 10 s, no redirect followed, the answer's body read up to a cap and ignored.
 * A failed delivery (no connection, a timeout, HTTP 408, 429 or 5xx) is tried again after
 * 1 s, 5 s and 30 s; any other answer ends it. When the queue is full the oldest delivery
 * is dropped with a warning: the loop never waits for a receiver. Transfers run side by
 * side (libcurl's multi interface), at most one per receiver: a receiver that hangs holds
 * up its own notifications only.
 */
#include "daemon/notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/assert.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/secret.h"
#include "common/str.h"
#include "common/thread.h"
#include "common/time.h"
#include "crypto/prim.h"

#define QUEUE_MAX 64
#define URL_MAX 2048
#define KEY_MIN 16
#define KEY_MAX 512
#define BODY_MAX (16 * 1024)
#define ANSWER_MAX (64 * 1024)
#define CONNECT_TIMEOUT 5L
#define TOTAL_TIMEOUT 10L
#define STOP_BOUND 5.0 /* seconds notifier_stop spends delivering what is queued */
#define MAX_TARGETS 32
#define INFLIGHT_MAX 8

static const double retry_after[] = {1, 5, 30}; /* before the 2nd, 3rd and 4th attempt */
#define ATTEMPTS ((int)(sizeof retry_after / sizeof retry_after[0]) + 1)

static const char *const what_names[NOTIFY__COUNT] = {"start",    "success", "failure",
                                                      "recovery", "deadman", "deadman_clear"};

const char *notify_what_name(enum notify_what w)
{
	return (unsigned)w < NOTIFY__COUNT ? what_names[w] : "?";
}

/* ---- bodies ---- */

static json_t *iso_or_null(time_t t)
{
	char buf[PW_TIME_MAX];
	return t ? json_string(pw_time_format(t, PW_TIME_ISO, buf)) : json_null();
}

/* The message as a receiver may see it: secrets redacted, printable, one line. */
static char *clean_message(const char *m)
{
	if (!m || !*m)
		return NULL;
	char *r = pw_redact(m);
	char *p = pw_str_printable_dup(r);
	pw_free(r);
	return p;
}

static void slack_escape(struct pw_buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '&')
			pw_buf_printf(b, "&amp;");
		else if (*s == '<')
			pw_buf_printf(b, "&lt;");
		else if (*s == '>')
			pw_buf_printf(b, "&gt;");
		else
			pw_buf_putc(b, *s);
	}
}

static int slack_text(const struct notify_event *ev, const char *host, const char *msg,
                      struct pw_buf *t)
{
	const char *kind = plan_kind_name(ev->kind);
	char when[PW_TIME_MAX];
	pw_buf_printf(t, "pgward");
	if (host) {
		pw_buf_printf(t, " on ");
		slack_escape(t, host);
	}
	pw_buf_printf(t, ": ");
	switch (ev->what) {
	case NOTIFY_START:
		pw_buf_printf(t, "the %s of stanza \"%s\" started (job %u)", kind, ev->stanza,
		              ev->job_id);
		break;
	case NOTIFY_SUCCESS:
		pw_buf_printf(t, "the %s of stanza \"%s\" succeeded in %.0f s (job %u)", kind,
		              ev->stanza, ev->duration, ev->job_id);
		break;
	case NOTIFY_FAILURE:
		pw_buf_printf(t, "FAILED: the %s of stanza \"%s\" (job %u, exit %d)", kind,
		              ev->stanza, ev->job_id, ev->exit_code);
		if (msg) {
			pw_buf_printf(t, ": ");
			slack_escape(t, msg);
		}
		break;
	case NOTIFY_RECOVERY:
		pw_buf_printf(t, "RECOVERED: the %s of stanza \"%s\" succeeded again (job %u)",
		              kind, ev->stanza, ev->job_id);
		break;
	case NOTIFY_DEADMAN:
		pw_buf_printf(t, "DEAD-MAN ALARM: stanza \"%s\" has no successful %s since %s",
		              ev->stanza, kind, pw_time_format(ev->deadline, PW_TIME_ISO, when));
		break;
	case NOTIFY_DEADMAN_CLEAR:
		pw_buf_printf(t, "dead-man alarm cleared: stanza \"%s\" has a successful %s again",
		              ev->stanza, kind);
		break;
	default:
		return pw_error(PW_E_INTERNAL, "unknown notification %d", (int)ev->what);
	}
	return 0;
}

int notify_body(const struct notify_event *ev, enum notify_format f, const char *host,
                struct pw_buf *out)
{
	PW_CHECK((unsigned)ev->what < NOTIFY__COUNT && ev->stanza);
	if (!pw_utf8_valid(ev->stanza, strlen(ev->stanza)))
		return pw_error(PW_E_INTERNAL, "a stanza name that is not UTF-8 in a notification");
	char *shown_host = host ? pw_str_printable_dup(host) : NULL;
	host = shown_host;
	char *msg = ev->what == NOTIFY_FAILURE ? clean_message(ev->message) : NULL;
	json_t *o = json_object();
	int rc = 0;
	if (f == NOTIFY_SLACK) {
		struct pw_buf t = PW_BUF_INIT(BODY_MAX);
		rc = slack_text(ev, host, msg, &t);
		if (rc == 0)
			json_object_set_new(o, "text", json_string(pw_buf_str(&t)));
		pw_buf_free(&t, 0);
	} else {
		bool job = ev->what != NOTIFY_DEADMAN && ev->what != NOTIFY_DEADMAN_CLEAR;
		bool ended = ev->what == NOTIFY_SUCCESS || ev->what == NOTIFY_FAILURE;
		json_object_set_new(o, "event", json_string(notify_what_name(ev->what)));
		json_object_set_new(o, "stanza", json_string(ev->stanza));
		json_object_set_new(o, "kind", json_string(plan_kind_name(ev->kind)));
		json_object_set_new(o, "job_id", job ? json_integer(ev->job_id) : json_null());
		json_object_set_new(o, "at", iso_or_null(ev->at));
		json_object_set_new(o, "exit_code",
		                    ended ? json_integer(ev->exit_code) : json_null());
		json_object_set_new(o, "duration", ended ? json_real(ev->duration) : json_null());
		json_object_set_new(o, "message", msg ? json_string(msg) : json_null());
		json_object_set_new(o, "deadline", job ? json_null() : iso_or_null(ev->deadline));
		json_object_set_new(o, "host", host ? json_string(host) : json_null());
	}
	pw_free(msg);
	pw_free(shown_host);
	char *s = rc == 0 ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (rc == 0 && !s) /* a stanza or host name that is not UTF-8 */
		rc = pw_error(PW_E_INTERNAL, "cannot encode the %s notification of stanza \"%s\"",
		              notify_what_name(ev->what), ev->stanza);
	if (rc == 0)
		rc = pw_buf_append(out, s, strlen(s));
	pw_free(s);
	return rc;
}

int notify_sign(const uint8_t *key, size_t keylen, long long timestamp, const char *body,
                size_t len, char hex[2 * PW_SHA256_LEN + 1])
{
	struct pw_buf m = PW_BUF_INIT(32 + len);
	uint8_t mac[PW_SHA256_LEN];
	int rc = pw_buf_printf(&m, "%lld.", timestamp);
	if (rc == 0)
		rc = pw_buf_append(&m, body, len);
	if (rc == 0)
		rc = pw_hmac_sha256(key, keylen, m.data, m.len, mac);
	if (rc == 0)
		pw_hex_encode(mac, sizeof mac, hex);
	pw_buf_free(&m, 0);
	return rc;
}

/* ---- receivers ---- */

struct target {
	int refs; /* under the notifier's lock once started */
	char *url_file, *secret_file, *ca_file;
	struct pw_secret *url;  /* never shown */
	struct pw_secret *tail; /* its path and query: redacted on their own too */
	struct pw_secret *key;  /* NULL: unsigned */
	enum notify_format format;
	unsigned events; /* bits of enum notify_what */
	char shown[160];
	char **stanzas;
	size_t nstanzas;
};

struct notify_config {
	struct target **t;
	size_t n;
};

static void target_unref(struct target *t)
{
	if (!t || --t->refs > 0)
		return;
	pw_free(t->url_file);
	pw_free(t->secret_file);
	pw_free(t->ca_file);
	pw_secret_free(t->url);
	pw_secret_free(t->tail);
	pw_secret_free(t->key);
	for (size_t i = 0; i < t->nstanzas; i++)
		pw_free(t->stanzas[i]);
	pw_free(t->stanzas);
	pw_free(t);
}

void notify_config_free(struct notify_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		target_unref(c->t[i]);
	pw_free(c->t);
	pw_free(c);
}

size_t notify_config_count(const struct notify_config *c)
{
	return c ? c->n : 0;
}

/* The first line of a file that carries a secret, trimmed, into a new pw_secret. */
static int read_secret_line(const char *path, const char *what, size_t max, struct pw_secret **out)
{
	struct pw_buf b = PW_BUF_INIT(max + 2);
	int rc = pw_trusted_read(path, what, PW_TRUST_SECRET, &b);
	if (rc == -PW_E_LIMIT) {
		pw_error_clear();
		pw_error(PW_E_LIMIT, "the %s \"%s\" is longer than %zu bytes", what, path, max);
		rc = pw_error_hint("Put only the value on the first line.");
	}
	if (rc < 0) {
		pw_buf_free(&b, 1);
		return rc;
	}
	char *text = (char *)pw_buf_str(&b);
	text[strcspn(text, "\r\n")] = '\0';
	*out = pw_secret_from_str(pw_trim(text));
	pw_buf_free(&b, 1);
	return 0;
}

static bool loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
	       strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

/* The URL must be absolute https (or http to this host), with no whitespace or controls:
 * parsed by libcurl's URL parser, the one the delivery uses. */
static int check_url(struct target *t, const char *stanza)
{
	const char *u = pw_secret_str(t->url);
	int rc = 0;
	bool clean = *u != '\0';
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		clean &= *p > 0x20 && *p < 0x7f;
	CURLU *h = curl_url();
	if (!h)
		pw_nomem(0);
	char *scheme = NULL, *host = NULL, *path = NULL, *query = NULL;
	if (!clean || curl_url_set(h, CURLUPART_URL, u, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		pw_error(PW_E_CONFIG, "the webhook URL in \"%s\" (stanza \"%s\") is not a URL",
		         t->url_file, stanza);
		rc = pw_error_hint("Put one absolute URL, such as https://hooks.example.com/..., "
		                   "on the file's first line.");
	} else if (strcmp(scheme, "https") != 0 &&
	           !(strcmp(scheme, "http") == 0 && loopback(host))) {
		pw_error(PW_E_INSECURE,
		         "the webhook URL in \"%s\" (stanza \"%s\") is %s to \"%s\": notifications "
		         "and their token would cross the network in clear text",
		         t->url_file, stanza, scheme, host);
		rc = pw_error_hint("Use an https:// URL (http:// is accepted for 127.0.0.1, ::1 "
		                   "and localhost only).");
	} else {
		snprintf(t->shown, sizeof t->shown, "%s://%s/...", scheme, host);
		struct pw_buf tail = PW_BUF_INIT(URL_MAX * 2);
		if (curl_url_get(h, CURLUPART_PATH, &path, 0) == CURLUE_OK)
			pw_buf_printf(&tail, "%s", path);
		if (curl_url_get(h, CURLUPART_QUERY, &query, 0) == CURLUE_OK)
			pw_buf_printf(&tail, "?%s", query);
		/* redact the token part on its own too: a line may show a path without host */
		if (tail.len > 4)
			t->tail = pw_secret_from_str(pw_buf_str(&tail));
		pw_buf_free(&tail, 1);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(h);
	return rc;
}

static int parse_events(const char *s, const char *stanza, unsigned *out)
{
	char *copy = pw_strdup(s ? s : "");
	int rc = 0;
	*out = 0;
	for (char *save, *w = strtok_r(copy, ",", &save); w && rc == 0;
	     w = strtok_r(NULL, ",", &save)) {
		w = pw_trim(w);
		if (strcmp(w, "all") == 0) {
			*out |= (1u << NOTIFY__COUNT) - 1;
			continue;
		}
		int i = 0;
		while (i < NOTIFY_DEADMAN && strcmp(w, what_names[i]) != 0)
			i++;
		if (i < NOTIFY_DEADMAN)
			*out |= 1u << i;
		else if (strcmp(w, "deadman") == 0)
			*out |= 1u << NOTIFY_DEADMAN | 1u << NOTIFY_DEADMAN_CLEAR;
		else {
			char shown[40];
			pw_str_printable(shown, sizeof shown, w);
			pw_error(PW_E_CONFIG,
			         "webhook-events of stanza \"%s\": unknown event \"%s\"", stanza,
			         shown);
			rc = pw_error_hint("Use a comma-separated list of start, success, failure, "
			                   "recovery and deadman, or all.");
		}
	}
	if (rc == 0 && *out == 0) {
		pw_error(PW_E_CONFIG, "webhook-events of stanza \"%s\" is empty", stanza);
		rc = pw_error_hint("Name at least one event, or remove webhook-url-file.");
	}
	pw_free(copy);
	return rc;
}

static const char *opt_or_empty(const struct pw_config *cfg, enum pw_opt_id id)
{
	return pw_cfg_isset(cfg, id) ? pw_cfg_str(cfg, id) : "";
}

static bool same_target(const struct target *t, const char *url_file, const char *secret_file,
                        const char *ca_file, enum notify_format f, unsigned events)
{
	return strcmp(t->url_file, url_file) == 0 &&
	       strcmp(t->secret_file ? t->secret_file : "", secret_file) == 0 &&
	       strcmp(t->ca_file ? t->ca_file : "", ca_file) == 0 && t->format == f &&
	       t->events == events;
}

static int add_target(struct notify_config *c, const struct notify_stanza *st, const char *url_file)
{
	const struct pw_config *cfg = st->cfg;
	const char *secret_file = opt_or_empty(cfg, PW_OPT_WEBHOOK_SECRET_FILE);
	const char *ca_file = opt_or_empty(cfg, PW_OPT_WEBHOOK_CA_FILE);
	enum notify_format f = strcmp(pw_cfg_str(cfg, PW_OPT_WEBHOOK_FORMAT), "slack") == 0
	                           ? NOTIFY_SLACK
	                           : NOTIFY_JSON;
	unsigned events;
	int rc = parse_events(pw_cfg_str(cfg, PW_OPT_WEBHOOK_EVENTS), st->name, &events);
	if (rc < 0)
		return rc;
	struct target *t = NULL;
	for (size_t i = 0; i < c->n && !t; i++)
		if (same_target(c->t[i], url_file, secret_file, ca_file, f, events))
			t = c->t[i];
	if (!t) {
		if (c->n == MAX_TARGETS) {
			pw_error(PW_E_LIMIT, "more than %d different webhook receivers",
			         MAX_TARGETS);
			return pw_error_hint(
			    "Share receivers between stanzas (set them in [global]).");
		}
		t = pw_calloc(1, sizeof *t);
		t->refs = 1;
		t->url_file = pw_strdup(url_file);
		t->secret_file = *secret_file ? pw_strdup(secret_file) : NULL;
		t->ca_file = *ca_file ? pw_strdup(ca_file) : NULL;
		t->format = f;
		t->events = events;
		c->t = pw_realloc(c->t, (c->n + 1) * sizeof *c->t);
		c->t[c->n++] = t;
		rc = read_secret_line(url_file, "webhook URL file", URL_MAX, &t->url);
		if (rc == 0)
			rc = check_url(t, st->name);
		if (rc == 0 && t->secret_file) {
			rc = read_secret_line(t->secret_file, "webhook secret file", KEY_MAX,
			                      &t->key);
			if (rc == 0 && pw_secret_len(t->key) < KEY_MIN) {
				pw_error(PW_E_CONFIG,
				         "the webhook secret in \"%s\" is shorter than %d bytes",
				         t->secret_file, KEY_MIN);
				rc = pw_error_hint("Make one with: openssl rand -hex 32 > FILE "
				                   "(mode 0600).");
			}
		}
		if (rc == 0 && t->ca_file) {
			int fd = -1;
			rc = pw_trusted_open(t->ca_file, "webhook CA file", 0, &fd);
			if (fd >= 0)
				close(fd);
		}
		if (rc < 0)
			return pw_error_context("stanza \"%s\"", st->name);
	}
	t->stanzas = pw_realloc(t->stanzas, (t->nstanzas + 1) * sizeof *t->stanzas);
	t->stanzas[t->nstanzas++] = pw_strdup(st->name);
	return 0;
}

int notify_config_load(const struct notify_stanza *st, size_t n, struct notify_config **out)
{
	struct notify_config *c = pw_calloc(1, sizeof *c);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *const *files;
		size_t nf = pw_cfg_list(st[i].cfg, PW_OPT_WEBHOOK_URL_FILE, &files);
		for (size_t j = 0; j < nf && rc == 0; j++)
			rc = add_target(c, &st[i], files[j]);
	}
	if (rc < 0) {
		notify_config_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

void notify_config_target(const struct notify_config *c, size_t i, struct notify_target_info *out)
{
	memset(out, 0, sizeof *out);
	if (!c || i >= c->n)
		return;
	const struct target *t = c->t[i];
	out->url_file = t->url_file;
	pw_strlcpy(out->shown, t->shown, sizeof out->shown);
	out->format = t->format;
	out->is_signed = t->key != NULL;
	size_t len = 0;
	for (int w = 0; w < NOTIFY__COUNT; w++) {
		if (!(t->events & (1u << w)) || w == NOTIFY_DEADMAN_CLEAR)
			continue;
		int k = snprintf(out->events + len, sizeof out->events - len, "%s%s",
		                 len ? "," : "", what_names[w]);
		if (k > 0 && (size_t)k < sizeof out->events - len)
			len += (size_t)k;
	}
	len = 0;
	for (size_t s = 0; s < t->nstanzas; s++) {
		size_t need = strlen(t->stanzas[s]) + 2;
		if (len + need + 4 >= sizeof out->stanzas) {
			snprintf(out->stanzas + len, sizeof out->stanzas - len, "...");
			break;
		}
		len += (size_t)snprintf(out->stanzas + len, sizeof out->stanzas - len, "%s%s",
		                        s ? ", " : "", t->stanzas[s]);
	}
}

/* ---- the notifier ---- */

struct item {
	struct target *t;
	char *body;
	size_t len;
	enum notify_what what;
	char stanza[64];
	char id[40]; /* X-Pgward-Delivery: the same on every attempt */
	int attempts;
	double next; /* monotonic: not before */
	/* while in flight */
	CURL *h;
	struct curl_slist *hl;
	size_t seen;
	char err[CURL_ERROR_SIZE];
};

struct alarm {
	char *stanza;
	unsigned kinds; /* bits of plan_kind with an announced alarm */
};

struct notifier {
	pthread_mutex_t lock;
	pthread_t thread;
	CURLM *multi;
	bool stopping;
	struct notify_config *cfg;
	struct item q[QUEUE_MAX]; /* waiting, in posting order */
	size_t nq;
	struct item *fly[INFLIGHT_MAX]; /* in flight (the thread's alone) */
	size_t nfly;
	unsigned long long seq;
	struct alarm *alarms;
	size_t nalarms;
	char host[256];
};

static void item_free(struct item *it)
{
	if (it->h)
		curl_easy_cleanup(it->h);
	curl_slist_free_all(it->hl);
	target_unref(it->t);
	pw_free(it->body);
	memset(it, 0, sizeof *it);
}

/* Append (under the lock); a full queue drops its oldest. */
static void enqueue(struct notifier *n, struct item *it)
{
	if (n->nq == QUEUE_MAX) {
		pw_warn("webhook queue full (%d waiting): the %s notification of stanza \"%s\" "
		        "to \"%s\" is dropped",
		        QUEUE_MAX, notify_what_name(n->q[0].what), n->q[0].stanza,
		        n->q[0].t->url_file);
		item_free(&n->q[0]);
		memmove(&n->q[0], &n->q[1], (QUEUE_MAX - 1) * sizeof n->q[0]);
		n->nq--;
	}
	n->q[n->nq++] = *it;
}

static size_t discard_answer(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	struct item *it = arg;
	it->seen += size * nmemb;
	return it->seen > ANSWER_MAX ? 0 : size * nmemb; /* a receiver that talks on: cut */
}

/* Prepare one POST of it (false: it cannot be sent, logged). */
static bool prepare(struct item *it, double timeout)
{
	const struct target *t = it->t;
	char line[160], hex[2 * PW_SHA256_LEN + 1];
	it->h = curl_easy_init();
	if (!it->h)
		pw_nomem(0);
	it->hl = curl_slist_append(it->hl, "Content-Type: application/json");
	it->hl = curl_slist_append(it->hl, "User-Agent: pgward");
	it->hl = curl_slist_append(it->hl, "Expect:");
	snprintf(line, sizeof line, "X-Pgward-Event: %s", notify_what_name(it->what));
	it->hl = curl_slist_append(it->hl, line);
	snprintf(line, sizeof line, "X-Pgward-Delivery: %s", it->id);
	it->hl = curl_slist_append(it->hl, line);
	if (t->key) {
		/* signed at each attempt: the timestamp is when it was sent */
		long long ts = (long long)pw_now();
		if (notify_sign(pw_secret_data(t->key), pw_secret_len(t->key), ts, it->body,
		                it->len, hex) < 0) {
			pw_best_effort_warn("signing the %s notification of stanza \"%s\"",
			                    notify_what_name(it->what), it->stanza);
			return false;
		}
		snprintf(line, sizeof line, "X-Pgward-Timestamp: %lld", ts);
		it->hl = curl_slist_append(it->hl, line);
		snprintf(line, sizeof line, "X-Pgward-Signature: sha256=%s", hex);
		it->hl = curl_slist_append(it->hl, line);
	}
	if (!it->hl)
		pw_nomem(0);
	long ms = (long)(timeout * 1000);
	ms = ms < 1 ? 1 : ms;
	CURL *h = it->h;
	it->seen = 0;
	it->err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, pw_secret_str(t->url));
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 ms < CONNECT_TIMEOUT * 1000 ? ms : CONNECT_TIMEOUT * 1000);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (t->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, it->hl);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_answer);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, it);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, it->err);
	curl_easy_setopt(h, CURLOPT_PRIVATE, it);
	return true;
}

enum outcome { DELIVERED, RETRY, GIVE_UP };

static enum outcome judge(struct item *it, CURLcode cc, char *why, size_t wsize)
{
	long status = 0;
	curl_easy_getinfo(it->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && (cc == CURLE_OK || cc == CURLE_WRITE_ERROR))
		return DELIVERED;
	if (status >= 300 && status < 400) {
		snprintf(why, wsize, "it answered HTTP %ld (redirects are not followed)", status);
		return GIVE_UP;
	}
	if (status) {
		snprintf(why, wsize, "it answered HTTP %ld", status);
		return status >= 500 || status == 408 || status == 429 ? RETRY : GIVE_UP;
	}
	snprintf(why, wsize, "%s", it->err[0] ? it->err : curl_easy_strerror(cc));
	return RETRY;
}

static void log_outcome(const struct item *it, enum outcome o, const char *why, bool last)
{
	if (o == DELIVERED)
		pw_debug("webhook \"%s\": the %s notification of stanza \"%s\" delivered",
		         it->t->url_file, notify_what_name(it->what), it->stanza);
	else if (o == RETRY && !last)
		pw_info("webhook \"%s\": the %s notification of stanza \"%s\" failed (%s): "
		        "retried in %.0f s",
		        it->t->url_file, notify_what_name(it->what), it->stanza, why,
		        retry_after[it->attempts - 1]);
	else
		pw_warn("webhook \"%s\": the %s notification of stanza \"%s\" was not delivered: "
		        "%s (attempt %d of %d)",
		        it->t->url_file, notify_what_name(it->what), it->stanza, why, it->attempts,
		        ATTEMPTS);
}

static bool target_busy(const struct notifier *n, const struct target *t)
{
	for (size_t i = 0; i < n->nfly; i++)
		if (n->fly[i]->t == t)
			return true;
	return false;
}

/* Start what is due (under the lock): at most one transfer per receiver, so one that
 * hangs holds up only its own notifications. Returns ms until the next is due. */
static long start_due(struct notifier *n, bool draining, double drain_end)
{
	double now = pw_monotonic(), wait = 60.0; /* idle: a post wakes it */
	for (size_t i = 0; i < n->nq;) {
		struct item *w = &n->q[i];
		bool due = draining || w->next <= now;
		if (!due || n->nfly == INFLIGHT_MAX || target_busy(n, w->t)) {
			if (!due && w->next - now < wait)
				wait = w->next - now;
			i++;
			continue;
		}
		struct item *it = pw_malloc(sizeof *it);
		*it = *w;
		memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof n->q[0]);
		n->nq--;
		it->attempts++;
		double timeout = draining ? drain_end - now : TOTAL_TIMEOUT;
		if (!prepare(it, timeout < TOTAL_TIMEOUT ? timeout : TOTAL_TIMEOUT) ||
		    curl_multi_add_handle(n->multi, it->h) != CURLM_OK) {
			item_free(it);
			pw_free(it);
			continue;
		}
		n->fly[n->nfly++] = it;
	}
	return wait <= 0 ? 1 : (long)(wait * 1000) + 1;
}

/* A transfer ended (under the lock): delivered, queued again after its backoff, or given
 * up. */
static void finish(struct notifier *n, struct item *it, CURLcode cc, bool draining)
{
	char why[CURL_ERROR_SIZE + 64];
	for (size_t i = 0; i < n->nfly; i++)
		if (n->fly[i] == it) {
			n->fly[i] = n->fly[--n->nfly];
			break;
		}
	curl_multi_remove_handle(n->multi, it->h);
	enum outcome o = judge(it, cc, why, sizeof why);
	bool last = it->attempts >= ATTEMPTS || draining;
	log_outcome(it, o, why, last);
	curl_easy_cleanup(it->h);
	it->h = NULL;
	curl_slist_free_all(it->hl);
	it->hl = NULL;
	if (o == RETRY && !last) {
		it->next = pw_monotonic() + retry_after[it->attempts - 1];
		enqueue(n, it);
	} else {
		item_free(it);
	}
	pw_free(it);
}

static void *run(void *arg)
{
	struct notifier *n = arg;
	bool draining = false;
	double drain_end = 0;
	pthread_mutex_lock(&n->lock);
	for (;;) {
		if (n->stopping && !draining) {
			/* what is queued gets one attempt, all within STOP_BOUND */
			draining = true;
			drain_end = pw_monotonic() + STOP_BOUND;
		}
		if (draining && ((n->nq == 0 && n->nfly == 0) || pw_monotonic() >= drain_end))
			break;
		long wait_ms = start_due(n, draining, drain_end);
		if (draining) {
			long left = (long)((drain_end - pw_monotonic()) * 1000) + 1;
			wait_ms = left < wait_ms ? left : wait_ms;
		}
		pthread_mutex_unlock(&n->lock);
		int running = 0;
		curl_multi_perform(n->multi, &running);
		CURLMsg *m;
		int left = 0;
		while ((m = curl_multi_info_read(n->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct item *it = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&it);
			CURLcode cc = m->data.result;
			pthread_mutex_lock(&n->lock);
			finish(n, it, cc, draining);
			pthread_mutex_unlock(&n->lock);
		}
		curl_multi_poll(n->multi, NULL, 0, (int)(wait_ms > 60000 ? 60000 : wait_ms), NULL);
		pthread_mutex_lock(&n->lock);
	}
	size_t lost = n->nq + n->nfly;
	if (lost)
		pw_warn("%zu webhook notification%s not delivered: the service stopped", lost,
		        lost == 1 ? "" : "s");
	while (n->nfly) {
		struct item *it = n->fly[--n->nfly];
		curl_multi_remove_handle(n->multi, it->h);
		item_free(it);
		pw_free(it);
	}
	while (n->nq)
		item_free(&n->q[--n->nq]);
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int notifier_start(struct notify_config **c, struct notifier **out)
{
	*out = NULL;
	if (!*c || (*c)->n == 0) {
		notify_config_free(*c);
		*c = NULL;
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return pw_error(PW_E_INTERNAL, "cannot initialize libcurl for the webhooks");
	struct notifier *n = pw_calloc(1, sizeof *n);
	n->multi = curl_multi_init();
	if (!n->multi)
		pw_nomem(0);
	pthread_mutex_init(&n->lock, NULL);
	if (gethostname(n->host, sizeof n->host - 1) < 0)
		n->host[0] = '\0';
	n->cfg = *c;
	*c = NULL;
	int e = pw_thread_create(&n->thread, run, n);
	if (e != 0) {
		notify_config_free(n->cfg);
		curl_multi_cleanup(n->multi);
		pthread_mutex_destroy(&n->lock);
		pw_free(n);
		pw_error(PW_E_INTERNAL, "cannot start the webhook thread: %s", pw_strerror(e));
		return pw_error_hint("The system is out of threads or memory.");
	}
	*out = n;
	return 0;
}

int notifier_reconfigure(struct notifier **n, struct notify_config **c)
{
	if (!*n)
		return notifier_start(c, n);
	if (!*c || (*c)->n == 0) {
		notify_config_free(*c);
		*c = NULL;
		notifier_stop(*n);
		*n = NULL;
		return 0;
	}
	pthread_mutex_lock(&(*n)->lock);
	struct notify_config *old = (*n)->cfg;
	(*n)->cfg = *c;
	*c = NULL;
	notify_config_free(old); /* queued deliveries hold their own references */
	pthread_mutex_unlock(&(*n)->lock);
	return 0;
}

/* The dead-man alarm is announced once per stanza and kind while it lasts (under the
 * lock); false when this event repeats what was announced. */
static bool alarm_changes(struct notifier *n, const struct notify_event *ev)
{
	if (ev->what != NOTIFY_DEADMAN && ev->what != NOTIFY_DEADMAN_CLEAR)
		return true;
	struct alarm *a = NULL;
	for (size_t i = 0; i < n->nalarms && !a; i++)
		if (strcmp(n->alarms[i].stanza, ev->stanza) == 0)
			a = &n->alarms[i];
	unsigned bit = 1u << (unsigned)ev->kind;
	bool on = a && (a->kinds & bit);
	if ((ev->what == NOTIFY_DEADMAN) == on)
		return false;
	if (!a) {
		n->alarms = pw_realloc(n->alarms, (n->nalarms + 1) * sizeof *n->alarms);
		a = &n->alarms[n->nalarms++];
		a->stanza = pw_strdup(ev->stanza);
		a->kinds = 0;
	}
	a->kinds ^= bit;
	return true;
}

static bool has_stanza(const struct target *t, const char *stanza)
{
	for (size_t i = 0; i < t->nstanzas; i++)
		if (strcmp(t->stanzas[i], stanza) == 0)
			return true;
	return false;
}

void notifier_post(struct notifier *n, const struct notify_event *ev)
{
	if (!n || !ev || !ev->stanza || (unsigned)ev->what >= NOTIFY__COUNT)
		return;
	pthread_mutex_lock(&n->lock);
	if (!n->stopping && alarm_changes(n, ev)) {
		n->seq++;
		for (size_t i = 0; i < n->cfg->n; i++) {
			struct target *t = n->cfg->t[i];
			if (!(t->events & (1u << ev->what)) || !has_stanza(t, ev->stanza))
				continue;
			struct pw_buf b = PW_BUF_INIT(BODY_MAX);
			if (notify_body(ev, t->format, n->host[0] ? n->host : NULL, &b) < 0) {
				pw_buf_free(&b, 0);
				pw_best_effort_warn("building the %s notification of stanza \"%s\"",
				                    notify_what_name(ev->what), ev->stanza);
				continue;
			}
			struct item it = {
			    .t = t, .len = b.len, .what = ev->what, .next = pw_monotonic()};
			it.body = pw_strdup(pw_buf_str(&b));
			pw_buf_free(&b, 0);
			t->refs++;
			pw_strlcpy(it.stanza, ev->stanza, sizeof it.stanza);
			snprintf(it.id, sizeof it.id, "%lld-%llu", (long long)ev->at, n->seq);
			enqueue(n, &it);
		}
	}
	pthread_mutex_unlock(&n->lock);
	curl_multi_wakeup(n->multi);
}

void notifier_stop(struct notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	pthread_mutex_unlock(&n->lock);
	curl_multi_wakeup(n->multi);
	pthread_join(n->thread, NULL);
	curl_multi_cleanup(n->multi);
	notify_config_free(n->cfg);
	for (size_t i = 0; i < n->nalarms; i++)
		pw_free(n->alarms[i].stanza);
	pw_free(n->alarms);
	pthread_mutex_destroy(&n->lock);
	pw_free(n);
}
