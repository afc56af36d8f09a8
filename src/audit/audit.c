/* audit.c - hash-chained JSON-lines audit log. */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define AUDIT_LINE_MAX (64 * 1024)
#define AUDIT_FILE_MAX ((size_t)1 << 31)
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

char *pw_audit_default_path(void)
{
	return pw_state_path("audit.log");
}

static void line_hash(const char *line, size_t n, char hex[65])
{
	uint8_t h[32];
	pw_sha256(line, n, h);
	pw_hex_encode(h, 32, hex);
}

/* Read the last line of fd (which must end in '\n'); hash and seq of it. */
static int last_record(int fd, const char *path, char hash[65], long long *seq)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pw_error(PW_E_AUDIT, "could not stat \"%s\": %s", path, pw_strerror(errno));
	if (st.st_size == 0) {
		memcpy(hash, ZERO_HASH, 65);
		*seq = 0;
		return 0;
	}
	off_t end = st.st_size;
	size_t want = end < AUDIT_LINE_MAX + 1 ? (size_t)end : AUDIT_LINE_MAX + 1;
	char *buf = pw_malloc(want + 1);
	ssize_t r = pread(fd, buf, want, end - (off_t)want);
	int rc = 0;
	if (r != (ssize_t)want || buf[want - 1] != '\n') {
		rc = pw_error(PW_E_AUDIT, "audit log \"%s\" does not end with a complete line",
		              path);
		pw_error_hint("Run \"pgward audit verify\" and inspect the log.");
		goto out;
	}
	buf[want - 1] = 0;
	char *start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	line_hash(start, strlen(start), hash);
	json_error_t je;
	json_t *j = json_loads(start, 0, &je);
	json_t *s = j ? json_object_get(j, "seq") : NULL;
	if (!json_is_integer(s)) {
		rc = pw_error(PW_E_AUDIT, "the last record of audit log \"%s\" is malformed", path);
		pw_error_hint("Run \"pgward audit verify\" and inspect the log.");
	} else {
		*seq = json_integer_value(s);
	}
	json_decref(j);
out:
	pw_free(buf);
	return rc;
}

/* One record line chained to prev (hex) with sequence number seq; NULL when too large. */
static char *record_line(const struct pw_audit_event *ev, const char *prev, long long seq,
                         const char *user)
{
	char when[PW_TIME_MAX];
	pw_time_format(pw_now(), PW_TIME_ISO, when);
	json_t *rec = json_object();
	json_object_set_new(rec, "seq", json_integer(seq));
	json_object_set_new(rec, "time", json_string(when));
	json_object_set_new(rec, "command", json_string(ev->command));
	json_object_set_new(rec, "stanza", ev->stanza ? json_string(ev->stanza) : json_null());
	json_object_set_new(rec, "outcome",
	                    json_string(ev->exit_code == 0 ? "success" : "failure"));
	json_object_set_new(rec, "exit_code", json_integer(ev->exit_code));
	if (ev->error) {
		char *clean = pw_redact(ev->error);
		json_object_set_new(rec, "error", json_string(clean));
		pw_free(clean);
	}
	json_t *actor = json_object();
	json_object_set_new(actor, "os_user", json_string(user));
	json_object_set_new(actor, "uid", json_integer((json_int_t)geteuid()));
	json_object_set_new(actor, "pid", json_integer((json_int_t)getpid()));
	json_object_set_new(actor, "db_role", ev->db_role ? json_string(ev->db_role) : json_null());
	json_object_set_new(rec, "actor", actor);
	if (ev->details)
		json_object_set(rec, "details", ev->details);
	json_object_set_new(rec, "prev", json_string(prev));
	char *line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (line && strlen(line) > AUDIT_LINE_MAX) {
		pw_free(line);
		line = NULL;
	}
	return line;
}

int pw_audit_append(const char *path, const struct pw_audit_event *ev)
{
	return pw_audit_append_many(path, ev, 1);
}

int pw_audit_lock_wait_ms = 30000;

static int lock_log(int fd, const char *path)
{
	double end = pw_monotonic() + pw_audit_lock_wait_ms / 1000.0;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return pw_error(PW_E_AUDIT, "could not lock audit log \"%s\": %s", path,
			                pw_strerror(errno));
		if (pw_monotonic() >= end) {
			pw_error(PW_E_AUDIT,
			         "audit log \"%s\" stayed locked by another process for %d s", path,
			         pw_audit_lock_wait_ms / 1000);
			return pw_error_hint("A writer holds it only while it appends: find the "
			                     "process with \"fuser %s\" (stopped, or hung on its "
			                     "disk) and end it.",
			                     path);
		}
		usleep(10 * 1000);
	}
}

int pw_audit_append_many(const char *path, const struct pw_audit_event *evs, size_t n)
{
	int rc = pw_mkdir_parents(path, PW_E_AUDIT, NULL);
	if (rc < 0)
		return rc;
	int fd;
	if ((rc = pw_safe_open_append(path, 0600, &fd)) < 0) {
		if (rc == -PW_E_INSECURE)
			return pw_error_context("audit log");
		char msg[1024];
		pw_strlcpy(msg, pw_error_message(), sizeof msg);
		pw_error(PW_E_AUDIT, "audit log: %s", msg);
		return pw_error_hint("Set a writable path with --audit-log or PGWARD_AUDIT_LOG.");
	}
	/* the user's name before the lock: a name service lookup may be slow */
	char user[64];
	struct passwd *pw = getpwuid(geteuid());
	pw_strlcpy(user, pw ? pw->pw_name : "unknown", sizeof user);
	if ((rc = lock_log(fd, path)) < 0) {
		close(fd);
		return rc;
	}
	char prev[65];
	long long seq = 0;
	if ((rc = last_record(fd, path, prev, &seq)) < 0)
		goto out;
	/* the records are written together and fsynced once: a busy caller (the service's
	 * API) pays one lock and one fsync per batch, and every record is still its own line */
	struct pw_buf all = PW_BUF_INIT((size_t)-1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *line = record_line(&evs[i], prev, ++seq, user);
		if (!line) {
			rc = pw_error(PW_E_AUDIT, "audit record too large");
			break;
		}
		size_t len = strlen(line);
		line_hash(line, len, prev);
		rc = pw_buf_append(&all, line, len);
		if (rc == 0)
			rc = pw_buf_putc(&all, '\n');
		pw_free(line);
	}
	if (rc == 0)
		rc = pw_write_all(fd, all.data, all.len, path);
	pw_buf_free(&all, 0);
	if (rc == 0 && fsync(fd) < 0)
		rc = pw_error(PW_E_AUDIT, "could not fsync audit log \"%s\": %s", path,
		              pw_strerror(errno));
out:
	close(fd); /* releases the lock */
	return rc;
}

static int broken(struct pw_audit_report *r, size_t line, const char *why)
{
	r->bad_line = line;
	pw_strlcpy(r->reason, why, sizeof r->reason);
	pw_error(PW_E_AUDIT, "audit log is broken at line %zu: %s", line, why);
	return pw_error_hint("The log was edited, truncated or reordered after it was written; "
	                     "keep this copy as evidence and investigate.");
}

/* Iterate lines of the file; fn gets each line (NUL-terminated, no '\n'). */
static int each_line(const char *path, int (*fn)(void *, char *, size_t, size_t), void *arg)
{
	/* never blocks on a FIFO planted under the log's name */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		pw_error(PW_E_AUDIT, "audit log \"%s\" is not a regular file", path);
		return pw_error_hint("Name the audit log file itself.");
	}
	int fl;
	if (fd >= 0 && (fl = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	FILE *fp = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (fd >= 0 && !fp)
		close(fd);
	if (!fp) {
		if (errno == ENOENT) {
			pw_error(PW_E_NOTFOUND, "audit log \"%s\" does not exist", path);
			return pw_error_hint("No audited command has run yet with this audit-log "
			                     "setting.");
		}
		return pw_error(PW_E_AUDIT, "could not open audit log \"%s\": %s", path,
		                pw_strerror(errno));
	}
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int rc = 0;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		bool complete = n > 0 && line[n - 1] == '\n';
		if (complete)
			line[--n] = 0;
		if ((size_t)n > AUDIT_LINE_MAX) {
			rc = fn(arg, NULL, 0, lineno);
			break;
		}
		if ((rc = fn(arg, complete ? line : NULL, (size_t)n, lineno)) != 0)
			break;
	}
	free(line);
	fclose(fp);
	return rc < 0 ? rc : 0;
}

struct vctx {
	struct pw_audit_report *r;
	char prev[65];
};

static int verify_line(void *arg, char *line, size_t n, size_t lineno)
{
	struct vctx *v = arg;
	if (!line)
		return broken(v->r, lineno, "incomplete or oversized line");
	json_error_t je;
	json_t *j = json_loadb(line, n, 0, &je);
	if (!j)
		return broken(v->r, lineno, "not a JSON record");
	json_t *seq = json_object_get(j, "seq");
	const char *prev = json_string_value(json_object_get(j, "prev"));
	int rc = 0;
	if (!json_is_integer(seq) || !prev)
		rc = broken(v->r, lineno, "record lacks seq or prev");
	else if (json_integer_value(seq) != (json_int_t)lineno)
		rc = broken(v->r, lineno,
		            "sequence number out of order (a line was removed or "
		            "moved)");
	else if (strcmp(prev, v->prev) != 0)
		rc = broken(v->r, lineno,
		            "hash of the previous line does not match (the previous "
		            "line was edited, removed or moved)");
	json_decref(j);
	if (rc == 0) {
		line_hash(line, n, v->prev);
		v->r->records = lineno;
	}
	return rc;
}

int pw_audit_verify(const char *path, struct pw_audit_report *r)
{
	struct vctx v = {.r = r};
	memset(r, 0, sizeof *r);
	memcpy(v.prev, ZERO_HASH, 65);
	int rc = each_line(path, verify_line, &v);
	memcpy(r->head, v.prev, 65);
	return rc;
}

struct hctx {
	int (*fn)(void *, size_t, const char[65]);
	void *arg;
};

static int hash_line(void *arg, char *line, size_t n, size_t lineno)
{
	struct hctx *c = arg;
	if (!line) {
		pw_error(PW_E_AUDIT, "audit log line %zu is incomplete or oversized", lineno);
		return pw_error_hint("Run \"pgward audit verify\".");
	}
	char h[65];
	line_hash(line, n, h);
	return c->fn(c->arg, lineno, h);
}

int pw_audit_hashes(const char *path, int (*fn)(void *arg, size_t lineno, const char hash[65]),
                    void *arg)
{
	struct hctx c = {fn, arg};
	return each_line(path, hash_line, &c);
}

struct ectx {
	char want[65];
	size_t len;
	size_t matches;
	size_t last; /* line number of the last match */
};

static int expect_line(void *arg, size_t lineno, const char hash[65])
{
	struct ectx *e = arg;
	if (strncmp(hash, e->want, e->len) == 0) {
		e->matches++;
		e->last = lineno;
	}
	return 0;
}

int pw_audit_expect_head(const char *path, const char *expect, const char head[65], size_t records)
{
	struct ectx e = {.len = strlen(expect)};
	if (e.len < 8 || e.len > 64 || strspn(expect, "0123456789abcdefABCDEF") != e.len) {
		pw_error(PW_E_CONFIG, "--expect-head must be 8 to 64 hex digits of a record hash");
		return pw_error_hint("Give the head hash that \"pgward audit verify\" printed, "
		                     "whole or its first 8 or more digits.");
	}
	for (size_t i = 0; i < e.len; i++) {
		char c = expect[i];
		e.want[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	e.want[e.len] = 0;
	int rc = pw_audit_hashes(path, expect_line, &e);
	if (rc < 0)
		return rc;
	if (e.matches > 1) {
		pw_error(PW_E_CONFIG, "--expect-head %s matches %zu records of the audit log",
		         e.want, e.matches);
		return pw_error_hint("Give more digits of the head hash (all 64 are never "
		                     "ambiguous).");
	}
	if (e.matches == 1 && strncmp(head, e.want, e.len) == 0)
		return 0;
	if (e.matches == 1) {
		pw_error(PW_E_AUDIT,
		         "the newest audit record is not the expected one: %s is record %zu of "
		         "%zu (head %.16s...)",
		         e.want, e.last, records, head);
		return pw_error_hint("Records were added after the one you noted: check them "
		                     "with \"pgward audit\", then note the new head.");
	}
	pw_error(PW_E_AUDIT,
	         "the newest audit record is not the expected one (head %.16s..., expected "
	         "%s), and no record of the log has that hash",
	         head, e.want);
	return pw_error_hint("Records were removed from the end of the log, or it was "
	                     "replaced; investigate.");
}

struct rctx {
	time_t since;
	int (*fn)(void *, json_t *);
	void *arg;
};

static int read_line(void *arg, char *line, size_t n, size_t lineno)
{
	struct rctx *c = arg;
	if (!line) {
		pw_error(PW_E_AUDIT, "audit log line %zu is incomplete or oversized", lineno);
		return pw_error_hint("Run \"pgward audit verify\".");
	}
	json_error_t je;
	json_t *j = json_loadb(line, n, 0, &je);
	if (!j) {
		pw_error(PW_E_AUDIT, "audit log line %zu is not JSON", lineno);
		return pw_error_hint("Run \"pgward audit verify\".");
	}
	int rc = 0;
	const char *t = json_string_value(json_object_get(j, "time"));
	time_t when = 0;
	if (t)
		pw_audit_parse_since(t, 0, &when);
	if (when >= c->since)
		rc = c->fn(c->arg, j);
	json_decref(j);
	return rc;
}

int pw_audit_read(const char *path, time_t since, int (*fn)(void *arg, json_t *rec), void *arg)
{
	struct rctx c = {since, fn, arg};
	return each_line(path, read_line, &c);
}

int pw_audit_parse_since(const char *s, time_t now, time_t *out)
{
	size_t n = strlen(s);
	uint64_t v;
	if (n >= 2 && strchr("smhd", s[n - 1])) {
		char digits[24];
		if (n - 1 >= sizeof digits)
			goto bad;
		memcpy(digits, s, n - 1);
		digits[n - 1] = 0;
		if (pw_parse_u64(digits, &v) < 0 || v > 100000000)
			goto bad;
		uint64_t mult = s[n - 1] == 's'   ? 1
		                : s[n - 1] == 'm' ? 60
		                : s[n - 1] == 'h' ? 3600
		                                  : 86400;
		*out = now - (time_t)(v * mult);
		return 0;
	}
	/* a UTC time or a date alone (midnight UTC), nothing after it */
	if (pw_time_parse(s, PW_TIME_ISO, true, out, NULL) < 0)
		goto bad;
	return 0;
bad:
	pw_error(PW_E_USAGE, "invalid time \"%s\"", s);
	return pw_error_hint("Use a date (2026-11-22), a UTC time (2026-11-22T10:00:00Z) or an "
	                     "age such as 90m, 24h or 7d.");
}
