/*
 * faultproxy.c - a fault-injecting HTTP/1.1 reverse proxy for the S3 tests.
 *
 *     faultproxy [options] 127.0.0.1:PORT
 *
 * Listens on 127.0.0.1 (prints the port as the first line on stdout), forwards every request
 * to the loopback upstream (the test S3 server) and, on a schedule fixed by --seed and the
 * request's sequence number, injects a fault instead of (or into) the exchange:
 *
 *   500, 503       an S3-style XML error (InternalError, SlowDown) after reading the request
 *   drop-request   close the connection part-way through the request body, without answering
 *   drop-response  forward the real response but cut the connection in the middle of it
 *   stall          read the request, then send nothing for --stall-seconds, then close
 *   trickle        forward the response, its first --trickle-bytes at --trickle-bps
 *   drop-head      (only when listed) forward the status line of the real response, then
 *                  close: the client sees e.g. "HTTP/1.1 200 OK" and no headers
 *   endless-body   (only when listed) forward the real response without its Content-Length
 *                  (the body ends with the connection), then keep sending bytes after it
 *                  until the client hangs up or --max-seconds (a hostile endpoint)
 * A slow body is "trickle" with a large --trickle-bytes.
 *
 * One thread per client connection. Every response carries "Connection: close" and the
 * connection is closed after it, so a connection holds exactly one request. Request bodies
 * must have a Content-Length (no chunked uploads). A response ends where its Content-Length,
 * its chunked framing (passed on as it is) or the upstream's connection ends. Headers are
 * forwarded unchanged apart from hop-by-hop ones, so SigV4 signatures stay valid.
 *
 * One line per request on stderr:
 *   faultproxy: #7 PUT /bucket/key q=partNumber,uploadId fault=503 status=503 ...
 * The process exits by itself after --max-seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024)
#define IO_BUF (64 * 1024)
#define UNKNOWN_BODY_MAX (64 * 1024 * 1024)

enum fault {
	F_NONE,
	F_500,
	F_503,
	F_DROP_REQ,
	F_DROP_RESP,
	F_STALL,
	F_TRICKLE,
	F_DROP_HEAD, /* not in the default list */
	F_ENDLESS,   /* not in the default list */
	F_COUNT
};
static const char *const fault_names[F_COUNT] = {
    "none",  "500",     "503",       "drop-request", "drop-response",
    "stall", "trickle", "drop-head", "endless-body",
};

static struct {
	uint64_t seed;
	double rate;
	enum fault list[F_COUNT];
	size_t nlist;
	uint64_t start_after, max_faults;
	bool have_match;
	regex_t match;
	unsigned stall_seconds, max_seconds, io_timeout;
	uint64_t trickle_bps, trickle_bytes;
	struct sockaddr_in upstream;
} opt = {.rate = 0,
         .stall_seconds = 30,
         .max_seconds = 600,
         .io_timeout = 120,
         .trickle_bps = 20000,
         .trickle_bytes = 16384};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seq_counter, faults_injected;

/* ---- deterministic schedule ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A pseudo-random number that depends only on the seed, the request number and a salt. */
static uint64_t draw(uint64_t seq, uint64_t salt)
{
	return mix(mix(opt.seed) ^ mix(seq * 0xd1b54a32d192ed03ULL + salt));
}

static double unit_draw(uint64_t seq, uint64_t salt)
{
	return (double)(draw(seq, salt) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- socket helpers ---- */

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t recv_some(int fd, void *p, size_t n)
{
	for (;;) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = (time_t)opt.io_timeout};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Read an HTTP message head (up to and including the empty line) into buf. Returns the
 * number of bytes read (the head plus maybe the start of the body) and sets *head_len, 0 on
 * EOF before the first byte, -1 on an error, a timeout, EOF inside the head or an
 * oversized head.
 */
static ssize_t read_head(int fd, char *buf, size_t cap, size_t have, size_t *head_len)
{
	size_t n = have;
	for (;;) {
		if (n >= 4) {
			buf[n] = 0;
			char *e = memmem(buf, n, "\r\n\r\n", 4);
			if (e) {
				*head_len = (size_t)(e - buf) + 4;
				return (ssize_t)n;
			}
		}
		if (n >= cap - 1)
			return -1;
		ssize_t r = recv_some(fd, buf + n, cap - 1 - n);
		if (r == 0 && n == 0)
			return 0;
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
}

/* Next header line of a NUL-terminated head: *pos advances; returns false at the end. */
static bool next_header(const char *head, size_t *pos, const char **name, size_t *nlen,
                        const char **val, size_t *vlen, size_t *line_start, size_t *line_end)
{
	const char *p = head + *pos;
	const char *eol = strstr(p, "\r\n");
	if (!eol || eol == p)
		return false;
	*line_start = *pos;
	*line_end = (size_t)(eol - head) + 2;
	*pos = *line_end;
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	if (!colon) {
		*name = p;
		*nlen = 0;
		*val = eol;
		*vlen = 0;
		return true;
	}
	*name = p;
	*nlen = (size_t)(colon - p);
	const char *v = colon + 1;
	while (v < eol && (*v == ' ' || *v == '\t'))
		v++;
	const char *ve = eol;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	*val = v;
	*vlen = (size_t)(ve - v);
	return true;
}

static bool name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}

static bool hop_by_hop(const char *name, size_t nlen)
{
	return name_is(name, nlen, "Connection") || name_is(name, nlen, "Keep-Alive") ||
	       name_is(name, nlen, "Proxy-Connection") || name_is(name, nlen, "Expect") ||
	       name_is(name, nlen, "TE") || name_is(name, nlen, "Upgrade");
}

struct head_info {
	size_t first_line_end; /* offset after the first CRLF */
	bool has_length;
	uint64_t length;
	bool chunked, expect_continue, bad;
	char range[96];
};

/* Parse the headers of a NUL-terminated head. */
static void parse_head(const char *head, struct head_info *hi)
{
	memset(hi, 0, sizeof *hi);
	const char *eol = strstr(head, "\r\n");
	hi->first_line_end = eol ? (size_t)(eol - head) + 2 : strlen(head);
	size_t pos = hi->first_line_end, ls, le, nlen, vlen;
	const char *name, *val;
	while (next_header(head, &pos, &name, &nlen, &val, &vlen, &ls, &le)) {
		if (name_is(name, nlen, "Content-Length")) {
			char tmp[32];
			char *end;
			if (vlen == 0 || vlen >= sizeof tmp) {
				hi->bad = true;
				continue;
			}
			memcpy(tmp, val, vlen);
			tmp[vlen] = 0;
			errno = 0;
			unsigned long long v = strtoull(tmp, &end, 10);
			if (errno || *end || tmp[0] == '-')
				hi->bad = true;
			hi->has_length = true;
			hi->length = v;
		} else if (name_is(name, nlen, "Transfer-Encoding")) {
			hi->chunked =
			    vlen > 0 && !(vlen == 8 && strncasecmp(val, "identity", 8) == 0);
		} else if (name_is(name, nlen, "Expect")) {
			hi->expect_continue =
			    vlen == 12 && strncasecmp(val, "100-continue", 12) == 0;
		} else if (name_is(name, nlen, "Range")) {
			snprintf(hi->range, sizeof hi->range, "%.*s", (int)vlen, val);
		}
	}
}

/* Copy a head without hop-by-hop headers (and, with no_length, without Content-Length and
 * Transfer-Encoding), ending it with "Connection: close". */
static char *rewrite_head_ex(const char *head, size_t head_len, size_t *out_len, bool no_length)
{
	size_t cap = head_len + 32;
	char *o = malloc(cap);
	if (!o)
		return NULL;
	const char *eol = strstr(head, "\r\n");
	size_t n = eol ? (size_t)(eol - head) + 2 : 0;
	memcpy(o, head, n);
	size_t pos = n, ls, le, nlen, vlen;
	const char *name, *val;
	while (next_header(head, &pos, &name, &nlen, &val, &vlen, &ls, &le)) {
		if (hop_by_hop(name, nlen))
			continue;
		if (no_length && (name_is(name, nlen, "Content-Length") ||
		                  name_is(name, nlen, "Transfer-Encoding")))
			continue;
		memcpy(o + n, head + ls, le - ls);
		n += le - ls;
	}
	static const char tail[] = "Connection: close\r\n\r\n";
	memcpy(o + n, tail, sizeof tail - 1);
	*out_len = n + sizeof tail - 1;
	return o;
}

static char *rewrite_head(const char *head, size_t head_len, size_t *out_len)
{
	return rewrite_head_ex(head, head_len, out_len, false);
}

/* ---- the response writer: trickle and cut ---- */

struct out {
	int fd;
	uint64_t sent;
	uint64_t limit; /* cut the connection after this many bytes (UINT64_MAX: never) */
	uint64_t slow;  /* send the first this many bytes at opt.trickle_bps */
	bool cut, failed;
};

/* Returns 0 to go on, -1 when the response must not continue (cut, or the client left). */
static int out_write(struct out *o, const char *p, size_t n)
{
	if (o->cut || o->failed)
		return -1;
	bool cut_here = false;
	if (o->limit != UINT64_MAX && o->sent + n >= o->limit) {
		n = (size_t)(o->limit - o->sent);
		cut_here = true;
	}
	while (n && o->sent < o->slow) {
		uint64_t step = opt.trickle_bps / 20 ? opt.trickle_bps / 20 : 1;
		uint64_t left = o->slow - o->sent;
		size_t c = (size_t)(step < left ? step : left);
		if (c > n)
			c = n;
		if (send_all(o->fd, p, c) < 0) {
			o->failed = true;
			return -1;
		}
		o->sent += c;
		p += c;
		n -= c;
		sleep_ms(opt.trickle_bps ? (uint64_t)c * 1000 / opt.trickle_bps : 50);
	}
	if (n && send_all(o->fd, p, n) < 0) {
		o->failed = true;
		return -1;
	}
	o->sent += n;
	if (cut_here) {
		o->cut = true;
		return -1;
	}
	return 0;
}

/* ---- one request ---- */

struct req {
	uint64_t seq;
	enum fault fault;
	char method[16];
	char path[512];
	char qnames[160];
	char range[96];
	int status;
	uint64_t req_body, resp_bytes;
	const char *note;
};

static void log_req(const struct req *r)
{
	flockfile(stderr);
	fprintf(stderr,
	        "faultproxy: #%" PRIu64 " %s %s q=%s%s%s fault=%s status=%d req_body=%" PRIu64
	        " resp_bytes=%" PRIu64 "%s%s\n",
	        r->seq, r->method, r->path, r->qnames[0] ? r->qnames : "-",
	        r->range[0] ? " range=" : "", r->range, fault_names[r->fault], r->status,
	        r->req_body, r->resp_bytes, r->note ? " note=" : "", r->note ? r->note : "");
	fflush(stderr);
	funlockfile(stderr);
}

/* Method, path (without the query) and the names of the query parameters, for the log. */
static void describe_target(struct req *r, const char *line, const char *target, size_t tlen)
{
	size_t ml = strcspn(line, " ");
	snprintf(r->method, sizeof r->method, "%.*s", (int)ml, line);
	size_t pl = strcspn(target, "? ");
	if (pl > tlen)
		pl = tlen;
	snprintf(r->path, sizeof r->path, "%.*s", (int)pl, target);
	r->qnames[0] = 0;
	if (pl < tlen && target[pl] == '?') {
		const char *q = target + pl + 1, *end = target + tlen;
		size_t n = 0;
		while (q < end) {
			const char *amp = memchr(q, '&', (size_t)(end - q));
			const char *stop = amp ? amp : end;
			const char *eq = memchr(q, '=', (size_t)(stop - q));
			size_t len = (size_t)((eq ? eq : stop) - q);
			int w = snprintf(r->qnames + n, sizeof r->qnames - n, "%s%.*s",
			                 n ? "," : "", (int)len, q);
			if (w < 0 || (size_t)w >= sizeof r->qnames - n)
				break;
			n += (size_t)w;
			q = amp ? amp + 1 : end;
		}
	}
}

/* Number the request and pick its fault (none for a request that cannot be forwarded). */
static enum fault decide(struct req *r, const char *subject, bool can_fault)
{
	enum fault f = F_NONE;
	pthread_mutex_lock(&mu);
	r->seq = ++seq_counter;
	bool eligible =
	    can_fault && opt.nlist > 0 && r->seq > opt.start_after &&
	    (!opt.have_match || !*subject || regexec(&opt.match, subject, 0, NULL, 0) == 0) &&
	    (!opt.max_faults || faults_injected < opt.max_faults);
	if (eligible && unit_draw(r->seq, 1) < opt.rate) {
		f = opt.list[draw(r->seq, 2) % opt.nlist];
		faults_injected++;
	}
	pthread_mutex_unlock(&mu);
	return f;
}

/* Read and discard n request-body bytes. */
static int drain(int fd, uint64_t n, char *buf)
{
	while (n) {
		ssize_t r = recv_some(fd, buf, n < IO_BUF ? (size_t)n : IO_BUF);
		if (r <= 0)
			return -1;
		n -= (uint64_t)r;
	}
	return 0;
}

static void http_date(char *out, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void send_error(int fd, const struct req *r, bool head_only, int status, const char *reason,
                       const char *code, const char *message, uint64_t *sent)
{
	char body[1024], hdr[1024], date[64];
	int bl = snprintf(body, sizeof body,
	                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                  "<Error><Code>%s</Code><Message>%s (injected by faultproxy, request "
	                  "#%" PRIu64 ")</Message><Resource>%s</Resource>"
	                  "<RequestId>faultproxy-%" PRIu64 "</RequestId></Error>\n",
	                  code, message, r->seq, r->path, r->seq);
	if (bl < 0 || (size_t)bl >= sizeof body)
		bl = 0;
	http_date(date, sizeof date);
	int hl = snprintf(hdr, sizeof hdr,
	                  "HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n"
	                  "Content-Length: %d\r\nDate: %s\r\nx-amz-request-id: faultproxy-%" PRIu64
	                  "\r\nConnection: close\r\n\r\n",
	                  status, reason, bl, date, r->seq);
	if (hl < 0 || (size_t)hl >= sizeof hdr)
		return;
	*sent = 0;
	if (send_all(fd, hdr, (size_t)hl) < 0)
		return;
	*sent = (uint64_t)hl;
	if (!head_only && send_all(fd, body, (size_t)bl) == 0)
		*sent += (uint64_t)bl;
}

static int connect_upstream(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd);
	if (connect(fd, (const struct sockaddr *)&opt.upstream, sizeof opt.upstream) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Where a response body ends: a known length, chunked framing, or the end of the connection. */
struct body_track {
	enum { B_LENGTH, B_CHUNKED, B_EOF } kind;
	uint64_t left; /* B_LENGTH: bytes to go; B_CHUNKED: bytes left in this chunk */
	enum { C_SIZE, C_EXT, C_DATA, C_DATA_END, C_TRAILER } cs;
	size_t line;
	bool complete;
};

/* Feed n bytes; returns how many of them belong to the body (all of them until it ends). */
static size_t track(struct body_track *t, const char *p, size_t n)
{
	if (t->complete)
		return 0;
	if (t->kind == B_EOF)
		return n;
	if (t->kind == B_LENGTH) {
		size_t take = t->left < n ? (size_t)t->left : n;
		t->left -= take;
		t->complete = t->left == 0;
		return take;
	}
	size_t i = 0;
	while (i < n && !t->complete) {
		char c = p[i];
		switch (t->cs) {
		case C_SIZE:
		case C_EXT:
			i++;
			if (c == '\n') {
				t->cs = t->left ? C_DATA : C_TRAILER;
				t->line = 0;
			} else if (t->cs == C_SIZE && c != '\r') {
				int d = c >= '0' && c <= '9'   ? c - '0'
				        : c >= 'a' && c <= 'f' ? c - 'a' + 10
				        : c >= 'A' && c <= 'F' ? c - 'A' + 10
				                               : -1;
				if (d < 0)
					t->cs =
					    C_EXT; /* ";ext" or blanks: skip to the line's end */
				else
					t->left = t->left * 16 + (uint64_t)d;
			}
			break;
		case C_DATA: {
			size_t take = t->left < n - i ? (size_t)t->left : n - i;
			i += take;
			t->left -= take;
			if (!t->left)
				t->cs = C_DATA_END;
			break;
		}
		case C_DATA_END: /* the CRLF after the data */
			i++;
			if (c == '\n')
				t->cs = C_SIZE;
			break;
		case C_TRAILER: /* trailer lines, then an empty one */
			i++;
			if (c == '\n') {
				t->complete = t->line == 0;
				t->line = 0;
			} else if (c != '\r') {
				t->line++;
			}
			break;
		}
	}
	return i;
}

/* Forward the request to the upstream and its response back (fault: none, trickle or
 * drop-response). head: the request head, NUL-terminated; pre/npre: body bytes that arrived
 * with it. */
static void forward(int cfd, struct req *r, const char *head, size_t head_len,
                    const struct head_info *hi, const char *pre, size_t npre, char *buf)
{
	bool is_head = strcmp(r->method, "HEAD") == 0;
	uint64_t body = hi->has_length ? hi->length : 0;
	int ufd = connect_upstream();
	if (ufd < 0) {
		r->status = 502;
		r->note = "upstream-unreachable";
		send_error(cfd, r, is_head, 502, "Bad Gateway", "BadGateway",
		           "faultproxy could not reach the upstream", &r->resp_bytes);
		return;
	}
	char *rh = NULL, *rstr = NULL, *chead = NULL, *held = NULL;
	size_t ulen;
	char *uhead = rewrite_head(head, head_len, &ulen);
	int failed = !uhead || send_all(ufd, uhead, ulen) < 0;
	free(uhead);
	/* the request body: first what came with the head, then the rest */
	uint64_t take = npre < body ? npre : body;
	if (!failed && take)
		failed = send_all(ufd, pre, (size_t)take) < 0;
	if (failed) {
		r->note = "upstream-send-failed";
		goto out;
	}
	r->req_body = take;
	while (r->req_body < body) {
		uint64_t want = body - r->req_body;
		ssize_t n = recv_some(cfd, buf, want < IO_BUF ? (size_t)want : IO_BUF);
		if (n <= 0) {
			r->note = "client-left-during-request";
			goto out;
		}
		if (send_all(ufd, buf, (size_t)n) < 0) {
			r->note = "upstream-send-failed";
			goto out;
		}
		r->req_body += (uint64_t)n;
	}
	/* the response head (skipping interim 1xx responses) */
	rh = malloc(HEAD_MAX + 1);
	if (!rh)
		goto out;
	size_t rhl = 0, have = 0;
	ssize_t got;
	for (;;) {
		got = read_head(ufd, rh, HEAD_MAX + 1, have, &rhl);
		if (got <= 0)
			break;
		r->status = (int)strtol(rh + strcspn(rh, " "), NULL, 10);
		if (r->status / 100 != 1)
			break;
		have = (size_t)got - rhl;
		memmove(rh, rh + rhl, have);
	}
	if (got <= 0) {
		r->status = 0;
		r->note = "no-response-from-upstream";
		goto out;
	}
	rstr = strndup(rh, rhl);
	if (!rstr)
		goto out;
	struct head_info ri;
	parse_head(rstr, &ri);
	struct body_track bt = {.kind = B_EOF};
	if (is_head || r->status == 204 || r->status == 304)
		bt.kind = B_LENGTH;
	else if (ri.chunked)
		bt.kind = B_CHUNKED;
	else if (ri.has_length)
		bt = (struct body_track){.kind = B_LENGTH, .left = ri.length};
	bt.complete = bt.kind == B_LENGTH && bt.left == 0;
	uint64_t body_len = bt.kind == B_LENGTH ? bt.left : 0;
	const char *extra = rh + rhl; /* body bytes that came with the head */
	size_t nextra = (size_t)got - rhl, held_len = 0;
	if (r->fault == F_DROP_RESP && bt.kind != B_LENGTH) {
		/* to cut inside a body of unannounced length, read all of it first */
		held = malloc(UNKNOWN_BODY_MAX);
		if (!held)
			goto out;
		size_t t = track(&bt, extra, nextra);
		memcpy(held, extra, t);
		held_len = t;
		while (!bt.complete && held_len < UNKNOWN_BODY_MAX) {
			ssize_t n = recv_some(ufd, held + held_len, UNKNOWN_BODY_MAX - held_len);
			if (n <= 0)
				break;
			held_len += track(&bt, held + held_len, (size_t)n);
		}
		body_len = held_len;
	}
	size_t clen;
	chead = rewrite_head_ex(rstr, rhl, &clen, r->fault == F_ENDLESS && !is_head);
	if (!chead)
		goto out;
	struct out o = {.fd = cfd, .limit = UINT64_MAX};
	if (r->fault == F_TRICKLE)
		o.slow = opt.trickle_bytes;
	if (r->fault == F_DROP_HEAD) {
		o.limit = strcspn(chead, "\n") + 1; /* the status line only */
	} else if (r->fault == F_DROP_RESP) {
		uint64_t d = draw(r->seq, 3);
		if (body_len >= 2) /* somewhere strictly inside the body */
			o.limit = clen + 1 + d % (body_len - 1);
		else /* no body to speak of: inside the head */
			o.limit = 1 + d % (clen - 1);
	}
	int stop = out_write(&o, chead, clen);
	if (held) {
		if (!stop)
			out_write(&o, held, held_len);
	} else {
		size_t t = track(&bt, extra, nextra);
		if (!stop && t)
			stop = out_write(&o, extra, t);
		while (!stop && !bt.complete) {
			ssize_t n = recv_some(ufd, buf, IO_BUF);
			if (n <= 0) {
				if (bt.kind != B_EOF)
					r->note = "upstream-ended-early";
				break;
			}
			t = track(&bt, buf, (size_t)n);
			stop = out_write(&o, buf, t);
		}
	}
	if (r->fault == F_ENDLESS && !is_head && !stop) {
		/* then more, until the client gives up */
		memset(buf, 'x', IO_BUF);
		while (out_write(&o, buf, IO_BUF) == 0)
			;
	}
	r->resp_bytes = o.sent;
	if (o.failed)
		r->note = "client-left-during-response";
out:
	free(chead);
	free(rstr);
	free(held);
	free(rh);
	close(ufd);
}

static void handle(int cfd)
{
	char *head = malloc(HEAD_MAX + 1);
	char *buf = malloc(IO_BUF);
	char *hstr = NULL;
	if (!head || !buf)
		goto done;
	set_timeouts(cfd);
	size_t head_len = 0;
	ssize_t got = read_head(cfd, head, HEAD_MAX + 1, 0, &head_len);
	if (got <= 0) /* an idle connection closed, or garbage: nothing to log */
		goto done;
	hstr = strndup(head, head_len);
	if (!hstr)
		goto done;
	struct req r = {0};
	const char *sp = strchr(hstr, ' ');
	const char *target = sp ? sp + 1 : "";
	size_t tlen = strcspn(target, " \r\n");
	describe_target(&r, hstr, target, tlen);
	struct head_info hi;
	parse_head(hstr, &hi);
	snprintf(r.range, sizeof r.range, "%s", hi.range);
	char subject[2048];
	snprintf(subject, sizeof subject, "%s %.*s", r.method, (int)tlen, target);
	r.fault = decide(&r, subject, sp && !hi.bad && !hi.chunked);
	const char *pre = head + head_len;
	size_t npre = (size_t)got - head_len;
	uint64_t body = hi.has_length ? hi.length : 0;
	bool is_head = strcmp(r.method, "HEAD") == 0;

	if (!sp || hi.bad || hi.chunked) {
		r.status = hi.chunked ? 501 : 400;
		r.note = hi.chunked ? "chunked-request-unsupported" : "bad-request";
		send_error(cfd, &r, is_head, r.status,
		           hi.chunked ? "Not Implemented" : "Bad Request",
		           hi.chunked ? "NotImplemented" : "BadRequest",
		           "faultproxy cannot parse this", &r.resp_bytes);
		log_req(&r);
		goto done;
	}
	if (hi.expect_continue && r.fault != F_DROP_REQ)
		send_all(cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	uint64_t have = npre < body ? npre : body;
	switch (r.fault) {
	case F_500:
	case F_503:
		r.req_body = body;
		if (drain(cfd, body - have, buf) < 0) {
			r.note = "client-left-during-request";
			break;
		}
		r.status = r.fault == F_500 ? 500 : 503;
		if (r.fault == F_500)
			send_error(cfd, &r, is_head, 500, "Internal Server Error", "InternalError",
			           "We encountered an internal error. Please try again.",
			           &r.resp_bytes);
		else
			send_error(cfd, &r, is_head, 503, "Slow Down", "SlowDown",
			           "Please reduce your request rate.", &r.resp_bytes);
		break;
	case F_DROP_REQ: {
		/* read part of the body (none when there is none), then hang up */
		uint64_t keep = body ? draw(r.seq, 3) % body : 0;
		r.req_body = have < keep ? have : keep;
		if (keep > have && drain(cfd, keep - have, buf) == 0)
			r.req_body = keep;
		break;
	}
	case F_STALL: {
		r.req_body = body;
		if (drain(cfd, body - have, buf) < 0) {
			r.note = "client-left-during-request";
			break;
		}
		/* send nothing; stop early if the client gives up */
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			long long ms = (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
			               (t1.tv_nsec - t0.tv_nsec) / 1000000;
			long long left = (long long)opt.stall_seconds * 1000 - ms;
			if (left <= 0)
				break;
			struct pollfd p = {.fd = cfd, .events = POLLIN};
			int pr = poll(&p, 1, (int)(left < 1000 ? left : 1000));
			if (pr < 0 && errno != EINTR)
				break;
			if (pr > 0) {
				ssize_t n = recv_some(cfd, buf, IO_BUF);
				if (n <= 0) {
					r.note = "client-gave-up";
					break;
				}
			}
		}
		break;
	}
	default:
		forward(cfd, &r, hstr, head_len, &hi, pre, npre, buf);
		break;
	}
	log_req(&r);
done:
	shutdown(cfd, SHUT_RDWR);
	close(cfd);
	free(hstr);
	free(head);
	free(buf);
}

static void *conn_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	handle(fd);
	return NULL;
}

/* ---- options ---- */

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "faultproxy: --max-seconds reached, exiting\n";
	ssize_t w = write(2, msg, sizeof msg - 1);
	(void)w;
	_exit(3);
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: faultproxy [--port N] [--seed N] [--fault-rate P] [--faults LIST]\n"
	    "                  [--start-after N] [--max-faults N] [--match ERE]\n"
	    "                  [--stall-seconds S] [--trickle-bps B] [--trickle-bytes N]\n"
	    "                  [--max-seconds T] 127.0.0.1:PORT\n"
	    "       faultproxy [options] --schedule N   (print the faults of requests 1..N)\n"
	    "faults: 500,503,drop-request,drop-response,stall,trickle (the default), drop-head,\n"
	    "        endless-body\n"
	    "--match: only requests whose \"METHOD /path?query\" matches may get a fault\n");
	exit(2);
}

static uint64_t num_arg(const char *name, const char *s, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, "faultproxy: bad value for --%s: \"%s\"\n", name, s);
		exit(2);
	}
	return (uint64_t)v;
}

static void parse_faults(const char *s)
{
	opt.nlist = 0;
	char *copy = strdup(s), *save = NULL;
	if (!copy)
		exit(1);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int f;
		for (f = 1; f < F_COUNT; f++)
			if (strcmp(t, fault_names[f]) == 0)
				break;
		if (f == F_COUNT) {
			fprintf(stderr, "faultproxy: unknown fault \"%s\"\n", t);
			exit(2);
		}
		bool dup = false;
		for (size_t i = 0; i < opt.nlist; i++)
			dup = dup || opt.list[i] == (enum fault)f;
		if (!dup)
			opt.list[opt.nlist++] = (enum fault)f;
	}
	free(copy);
}

static void parse_upstream(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	if (!colon || (size_t)(colon - s) >= sizeof host) {
		fprintf(stderr, "faultproxy: upstream must be 127.x.y.z:PORT, not \"%s\"\n", s);
		exit(2);
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
	memset(&opt.upstream, 0, sizeof opt.upstream);
	opt.upstream.sin_family = AF_INET;
	opt.upstream.sin_port = htons((uint16_t)num_arg("upstream port", colon + 1, 65535));
	if (inet_pton(AF_INET, host, &opt.upstream.sin_addr) != 1 ||
	    (ntohl(opt.upstream.sin_addr.s_addr) >> 24) != 127 || opt.upstream.sin_port == 0) {
		fprintf(stderr, "faultproxy: refusing upstream \"%s\": only 127.x.y.z:PORT\n", s);
		exit(2);
	}
}

static const struct option longopts[] = {
    {"port", required_argument, NULL, 'p'},
    {"seed", required_argument, NULL, 's'},
    {"fault-rate", required_argument, NULL, 'r'},
    {"faults", required_argument, NULL, 'f'},
    {"start-after", required_argument, NULL, 'a'},
    {"max-faults", required_argument, NULL, 'n'},
    {"match", required_argument, NULL, 'm'},
    {"stall-seconds", required_argument, NULL, 'S'},
    {"trickle-bps", required_argument, NULL, 'b'},
    {"trickle-bytes", required_argument, NULL, 'B'},
    {"max-seconds", required_argument, NULL, 'T'},
    {"schedule", required_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
	uint16_t port = 0;
	uint64_t schedule = 0;
	parse_faults("500,503,drop-request,drop-response,stall,trickle");
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = (uint16_t)num_arg("port", optarg, 65535);
			break;
		case 's':
			opt.seed = num_arg("seed", optarg, UINT64_MAX);
			break;
		case 'r': {
			char *end;
			errno = 0;
			opt.rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(opt.rate >= 0 && opt.rate <= 1)) {
				fprintf(stderr, "faultproxy: --fault-rate wants 0..1, not \"%s\"\n",
				        optarg);
				return 2;
			}
			break;
		}
		case 'f':
			parse_faults(optarg);
			break;
		case 'a':
			opt.start_after = num_arg("start-after", optarg, UINT64_MAX);
			break;
		case 'n':
			opt.max_faults = num_arg("max-faults", optarg, UINT64_MAX);
			break;
		case 'm':
			if (opt.have_match)
				regfree(&opt.match);
			if (regcomp(&opt.match, optarg, REG_EXTENDED | REG_NOSUB) != 0) {
				fprintf(stderr, "faultproxy: bad --match expression \"%s\"\n",
				        optarg);
				return 2;
			}
			opt.have_match = true;
			break;
		case 'S':
			opt.stall_seconds = (unsigned)num_arg("stall-seconds", optarg, 86400);
			break;
		case 'b':
			opt.trickle_bps = num_arg("trickle-bps", optarg, UINT32_MAX);
			break;
		case 'B':
			opt.trickle_bytes = num_arg("trickle-bytes", optarg, UINT32_MAX);
			break;
		case 'T':
			opt.max_seconds = (unsigned)num_arg("max-seconds", optarg, 86400);
			break;
		case 'P':
			schedule = num_arg("schedule", optarg, 1000000);
			break;
		default:
			usage();
		}
	}
	if (schedule) {
		/* the plan for requests 1..N (as if all of them matched --match) */
		struct req r;
		for (uint64_t i = 1; i <= schedule; i++) {
			enum fault f = decide(&r, "", true);
			if (f != F_NONE)
				printf("#%" PRIu64 " %s\n", r.seq, fault_names[f]);
		}
		printf("%" PRIu64 " faults in %" PRIu64 " requests\n", faults_injected, schedule);
		return 0;
	}
	if (optind != argc - 1)
		usage();
	parse_upstream(argv[optind]);
	if (opt.max_seconds == 0)
		usage();

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(opt.max_seconds);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		char eb[128];
		fprintf(stderr, "faultproxy: cannot listen on 127.0.0.1:%u: %s\n", port,
		        strerror_r(errno, eb, sizeof eb));
		return 1;
	}
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);
	fprintf(stderr,
	        "faultproxy: listening on 127.0.0.1:%u, upstream %s, seed %" PRIu64
	        ", fault rate %g\n",
	        ntohs(a.sin_port), argv[optind], opt.seed, opt.rate);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EINTR)
				sleep_ms(10);
			continue;
		}
		pthread_t t;
		if (pthread_create(&t, &attr, conn_thread, (void *)(intptr_t)cfd) != 0)
			close(cfd);
	}
}
