/*
 * cmd_repo.c - pgward repo: check a repository before trusting it, and low-level
 * object tools (ls, put, get, rm) for inspection and tests. Backups never need them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "storage/storage.h"

static bool json_out(struct pw_ctx *ctx)
{
	return strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") == 0;
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	pw_free(s);
}

static int write_opts(struct pw_ctx *ctx, struct stor_write_opts *o)
{
	memset(o, 0, sizeof *o);
	long long days = pw_cfg_int(ctx->cfg, PW_OPT_LOCK_DAYS);
	if (days < 0 || days > 36500) {
		pw_error(PW_E_CONFIG, "lock-days must be between 0 and 36500, not %lld", days);
		return pw_error_hint("Use 0 for no object lock.");
	}
	if (days > 0) {
		o->lock_mode = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_LOCK_MODE), "compliance") == 0
		                   ? STOR_LOCK_COMPLIANCE
		                   : STOR_LOCK_GOVERNANCE;
		o->lock_until = pw_now() + days * 86400;
	}
	return 0;
}

/* ---- check ---- */

struct verdict {
	const char *put, *get, *list, *del;
};

static int count_cb(void *arg, const struct stor_info *i)
{
	(void)i;
	(*(size_t *)arg)++;
	return 0;
}

static int sha_sink(void *arg, const uint8_t *p, size_t n)
{
	pw_sha256_update(arg, p, n);
	return 0;
}

static int repo_check(struct pw_ctx *ctx, struct stor *s)
{
	char key[128];
	uint32_t rnd;
	pw_random(&rnd, sizeof rnd);
	snprintf(key, sizeof key, "pgward-probe/%ld-%ld-%08x", (long)pw_now(), (long)getpid(), rnd);
	uint8_t data[4096];
	pw_random(data, sizeof data);
	struct verdict v = {"failed", "not tried", "not tried", "not tried"};
	char put_err[1024] = "", get_err[1024] = "", list_err[1024] = "", del_err[1024] = "";
	struct stor_write_result wr;
	struct stor_write_opts wo;
	int rc = write_opts(ctx, &wo);
	if (rc < 0)
		return rc;
	bool put_ok = stor_put_buf(s, key, data, sizeof data, &wo, &wr) == 0;
	if (!put_ok)
		pw_strlcpy(put_err, pw_error_message(), sizeof put_err);
	bool get_ok = false;
	if (put_ok) {
		v.put = "ok";
		struct pw_sha256_ctx *h = pw_sha256_new();
		uint8_t got[32];
		int g = stor_get(s, key, sha_sink, h);
		pw_sha256_final(h, got);
		pw_sha256_free(h);
		get_ok = g == 0 && memcmp(got, wr.sha256, 32) == 0;
		v.get = get_ok ? "ok" : "failed";
		if (!get_ok)
			pw_strlcpy(get_err,
			           g < 0 ? pw_error_message() : "read back different bytes",
			           sizeof get_err);
		size_t n = 0;
		bool list_ok = stor_list(s, "pgward-probe/", count_cb, &n) == 0 && n >= 1;
		v.list = list_ok ? "ok" : "failed";
		if (!list_ok)
			pw_strlcpy(list_err, pw_error_message(), sizeof list_err);
		struct stor_remove_result rr;
		int d = stor_remove(s, key, &rr);
		if (d == 0 && rr.removed)
			v.del = "ok";
		else if (d == 0 && rr.retained)
			v.del = "retained (object lock)";
		else {
			v.del = "denied";
			pw_strlcpy(del_err, pw_error_message(), sizeof del_err);
		}
	}
	unsigned f = stor_features(s);
	bool usable = put_ok && get_ok;
	if (json_out(ctx)) {
		json_t *o = json_object();
		json_object_set_new(o, "repository", json_string(stor_describe(s)));
		json_object_set_new(o, "usable", json_boolean(usable));
		json_t *p = json_object();
		json_object_set_new(p, "put", json_string(v.put));
		json_object_set_new(p, "get", json_string(v.get));
		json_object_set_new(p, "list", json_string(v.list));
		json_object_set_new(p, "delete", json_string(v.del));
		json_object_set_new(o, "permissions", p);
		json_object_set_new(o, "object_lock", json_boolean(f & STOR_F_OBJECT_LOCK));
		json_object_set_new(o, "versioning", json_boolean(f & STOR_F_VERSIONING));
		json_object_set_new(o, "atomic_writes", json_boolean(f & STOR_F_ATOMIC_WRITE));
		json_object_set_new(o, "clock_skew_seconds", json_integer(stor_clock_skew(s)));
		print_json(o);
		json_decref(o);
	} else {
		printf("repository:   %s\n", stor_describe(s));
		printf("put:          %s%s%s\n", v.put, *put_err ? " - " : "", put_err);
		printf("get:          %s%s%s\n", v.get, *get_err ? " - " : "", get_err);
		printf("list:         %s%s%s\n", v.list, *list_err ? " - " : "", list_err);
		printf("delete:       %s%s\n", v.del,
		       strcmp(v.del, "denied") == 0
		           ? " (fine for a backup host: expire runs elsewhere)"
		           : "");
		printf("object lock:  %s\n", f & STOR_F_OBJECT_LOCK ? "enabled" : "no");
		printf("versioning:   %s\n", f & STOR_F_VERSIONING ? "enabled" : "no");
		printf("clock skew:   %ld s\n", stor_clock_skew(s));
		printf("verdict:      %s\n", usable ? "this repository can hold backups"
		                                    : "this repository cannot hold backups");
	}
	json_object_set_new(ctx->audit, "usable", json_boolean(usable));
	if (!usable) {
		pw_error(PW_E_STORAGE, "the repository cannot hold backups: %s",
		         *put_err   ? put_err
		         : *get_err ? get_err
		                    : "read-back failed");
		return pw_error_hint("Fix the permissions or the address, and run \"pgward repo "
		                     "check\" again.");
	}
	if (labs(stor_clock_skew(s)) > 300)
		pw_log(PW_LOG_WARN, "this machine's clock is %ld s off the storage server's",
		       stor_clock_skew(s));
	return 0;
}

/* ---- ls / put / get / rm ---- */

struct ls_ctx {
	bool json;
	json_t *arr;
};

static int ls_cb(void *arg, const struct stor_info *i)
{
	struct ls_ctx *c = arg;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "key", json_string(i->key));
		json_object_set_new(o, "size", json_integer((json_int_t)i->size));
		json_object_set_new(o, "mtime", json_integer((json_int_t)i->mtime));
		json_array_append_new(c->arr, o);
	} else {
		char shown[4200];
		printf("%12llu  %s\n", (unsigned long long)i->size,
		       pw_str_printable(shown, sizeof shown, i->key));
	}
	return 0;
}

struct up_ctx {
	bool json;
	json_t *arr;
	bool abort;
	struct stor *s;
	size_t n;
};

static int up_cb(void *arg, const struct stor_upload *u)
{
	struct up_ctx *c = arg;
	c->n++;
	if (c->abort)
		return stor_abort_upload(c->s, u->key, u->id);
	char when[PW_TIME_MAX] = "-";
	if (u->started)
		pw_time_format(u->started, PW_TIME_ISO, when);
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "key", json_string(u->key));
		json_object_set_new(o, "id", json_string(u->id));
		json_object_set_new(o, "started", json_string(when));
		json_array_append_new(c->arr, o);
	} else {
		char sk[4200], si[1100];
		printf("%s  %s  %s\n", when, pw_str_printable(sk, sizeof sk, u->key),
		       pw_str_printable(si, sizeof si, u->id));
	}
	return 0;
}

static int fd_sink(void *arg, const uint8_t *p, size_t n)
{
	return pw_write_all(*(int *)arg, p, n, "standard output");
}

int cmd_repo(struct pw_ctx *ctx)
{
	const char *sub = pw_config_pos(ctx->cfg, 0);
	const char *a1 = pw_config_pos(ctx->cfg, 1);
	const char *a2 = pw_config_pos(ctx->cfg, 2);
	if (!sub) {
		pw_error(PW_E_USAGE, "missing repo subcommand");
		return pw_error_hint("Try \"pgward help repo\".");
	}
	json_object_set_new(ctx->audit, "action", json_string(sub));
	bool needs_key = !strcmp(sub, "put") || !strcmp(sub, "get") || !strcmp(sub, "rm");
	bool prefix_arg =
	    !strcmp(sub, "ls") || !strcmp(sub, "uploads") || !strcmp(sub, "abort-uploads");
	if ((needs_key && !a1) || (!needs_key && !prefix_arg && a1) || (strcmp(sub, "put") && a2)) {
		pw_error(PW_E_USAGE, "wrong arguments for \"repo %s\"", sub);
		return pw_error_hint("Try \"pgward help repo\".");
	}
	if (strcmp(sub, "check") && !prefix_arg && !needs_key) {
		pw_error(PW_E_USAGE, "unknown repo subcommand \"%s\"", sub);
		return pw_error_hint("Try \"pgward help repo\".");
	}
	if (needs_key && !stor_key_valid(a1)) {
		pw_error(PW_E_USAGE, "invalid object key \"%s\"", a1);
		return pw_error_hint(
		    "Keys are relative paths without empty, \".\" or \"..\" parts.");
	}
	struct stor *s;
	int rc = pw_open_repo(ctx, &s);
	if (rc < 0)
		return rc;
	if (!strcmp(sub, "check")) {
		rc = repo_check(ctx, s);
	} else if (!strcmp(sub, "ls")) {
		struct ls_ctx c = {json_out(ctx), json_array()};
		rc = stor_list(s, a1 ? a1 : "", ls_cb, &c);
		if (rc == 0 && c.json)
			print_json(c.arr);
		json_decref(c.arr);
	} else if (!strcmp(sub, "uploads") || !strcmp(sub, "abort-uploads")) {
		struct up_ctx c = {json_out(ctx), json_array(), !strcmp(sub, "abort-uploads"), s,
		                   0};
		rc = stor_list_uploads(s, a1 ? a1 : "", up_cb, &c);
		if (rc == 0 && c.json && !c.abort)
			print_json(c.arr);
		if (rc == 0 && c.abort)
			printf("aborted %zu incomplete upload%s\n", c.n, c.n == 1 ? "" : "s");
		json_decref(c.arr);
	} else if (!strcmp(sub, "get")) {
		int fd = 1;
		const char *out = pw_cfg_str(ctx->cfg, PW_OPT_OUT_FILE);
		if (out && strcmp(out, "-") == 0)
			out = NULL; /* -o - is standard output */
		struct pw_outfile *of = NULL;
		if (out && (rc = pw_outfile_open(&of, out, 0600, false)) == 0)
			fd = pw_outfile_fd(of);
		if (rc == 0)
			rc = stor_get(s, a1, fd_sink, &fd);
		if (rc == 0 && of)
			rc = pw_outfile_commit(of);
		pw_outfile_free(of);
	} else if (!strcmp(sub, "put")) {
		int fd = a2 && strcmp(a2, "-") ? open(a2, O_RDONLY | O_CLOEXEC) : 0;
		struct stor_write_opts wo;
		struct stor_writer *w = NULL;
		if (fd < 0) {
			pw_error(PW_E_NOTFOUND, "could not open input file \"%s\"", a2);
			rc = pw_error_hint("Check the path.");
		}
		if (rc == 0)
			rc = write_opts(ctx, &wo);
		if (rc == 0)
			rc = stor_write_open(s, a1, &wo, &w);
		uint8_t *b = pw_malloc(1 << 20);
		while (rc == 0) {
			ssize_t r = pw_read_some(fd, b, 1 << 20, a2 ? a2 : "standard input");
			if (r <= 0) {
				rc = (int)r;
				break;
			}
			rc = stor_write(w, b, (size_t)r);
		}
		struct stor_write_result wr;
		if (rc == 0)
			rc = stor_write_commit(w, &wr);
		if (rc == 0) {
			char hex[65];
			pw_hex_encode(wr.sha256, 32, hex);
			printf("%s  %llu  %s\n", hex, (unsigned long long)wr.bytes, a1);
			json_object_set_new(ctx->audit, "key", json_string(a1));
			json_object_set_new(ctx->audit, "sha256", json_string(hex));
		}
		pw_free(b);
		stor_write_free(w);
		if (fd > 0)
			close(fd);
	} else {
		struct stor_remove_result rr;
		rc = stor_remove(s, a1, &rr);
		json_object_set_new(ctx->audit, "key", json_string(a1));
		if (rc == 0 && rr.retained) {
			char when[PW_TIME_MAX] = "an unknown date";
			if (rr.retained_until)
				pw_time_format(rr.retained_until, PW_TIME_ISO, when);
			pw_error(PW_E_STORAGE, "object \"%s\" is retained until %s (object lock)",
			         a1, when);
			rc =
			    pw_error_hint("Locked objects cannot be removed before their retention "
			                  "date; expire will retry later.");
		}
	}
	stor_free(s);
	return rc;
}
