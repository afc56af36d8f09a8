/*
 * cmd_serve.c - pgward serve: the backup service. This first slice validates the
 * configuration (--check-config): every schedule, the verification depth against the keys
 * at hand, the state file, and the two-host split (no process schedules backups while
 * holding an identity unless serve-allow-mixed). The loop comes in a later slice.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cmd/commands.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/prim.h"
#include "daemon/api.h"
#include "daemon/notify.h"
#include "repo/manifest.h"
#include "service/board.h"
#include "service/plan.h"
#include "service/render.h"
#include "service/schedule.h"
#include "service/state.h"

#define CONFIG_MAX (1024 * 1024)
#define MAX_STANZAS 256
#define NEXT_RUNS 3

static const enum pw_opt_id sched_opt[PLAN_KIND_COUNT] = {
    PW_OPT_BACKUP_SCHEDULE, PW_OPT_VERIFY_SCHEDULE, PW_OPT_EXPIRE_SCHEDULE};

struct stanza {
	char name[SVC_STANZA_MAX + 1];
	struct pw_config *cfg;
	bool scheduled[PLAN_KIND_COUNT];
	/* each kind's entries ("hourly keep 2d; daily 02:00 keep 30d"), and for backups what
	 * each names its runs and how long they are kept */
	struct sched sched[PLAN_KIND_COUNT][SCHED_ENTRIES_MAX];
	struct sched_tag tags[PLAN_KIND_COUNT][SCHED_ENTRIES_MAX];
	size_t nsched[PLAN_KIND_COUNT];
	long jitter;
	long long depth;
	bool identity;
};

/* The [sections] of the configuration file except [global], in file order (the file was
 * already parsed and checked by config.c; this only collects the names). */
static int list_sections(const char *path, struct stanza **out, size_t *n)
{
	struct pw_buf b = PW_BUF_INIT(CONFIG_MAX);
	int rc = pw_trusted_read(path, "configuration file", 0, &b);
	*out = NULL;
	*n = 0;
	if (rc < 0) {
		pw_buf_free(&b, 0);
		return rc;
	}
	char *text = (char *)pw_buf_str(&b);
	struct stanza *s = pw_calloc(MAX_STANZAS, sizeof *s);
	for (char *save, *line = strtok_r(text, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *t = pw_trim(line);
		if (t[0] != '[')
			continue;
		char *end = strchr(t, ']');
		if (!end)
			continue;
		*end = 0;
		char *name = pw_trim(t + 1);
		if (strcmp(name, "global") == 0)
			continue;
		if (!svc_stanza_name_ok(name)) {
			char shown[80];
			pw_str_printable(shown, sizeof shown, name);
			pw_error(PW_E_CONFIG, "stanza name \"%s\" in \"%s\" cannot be served",
			         shown, path);
			rc = pw_error_hint("Service stanza names are 1-%d letters, digits, \"_\", "
			                   "\".\" or \"-\", not starting with \".\" or \"-\".",
			                   SVC_STANZA_MAX);
		} else if (*n == MAX_STANZAS) {
			pw_error(PW_E_LIMIT, "more than %d stanzas in \"%s\"", MAX_STANZAS, path);
			rc = pw_error_hint("Split them over several configuration files.");
		} else {
			memcpy(s[*n].name, name, strlen(name) + 1);
			(*n)++;
		}
	}
	pw_buf_free(&b, 0);
	if (rc < 0) {
		pw_free(s);
		*n = 0;
		return rc;
	}
	*out = s;
	return 0;
}

/* The stanza's options as every other command sees them: the file, then the environment. */
static int load_stanza(const char *path, struct stanza *st)
{
	st->cfg = pw_config_new();
	struct pw_buf arg = PW_BUF_INIT(8192);
	int rc = pw_buf_printf(&arg, "--config=%s", path);
	if (rc == 0) {
		char *argv[] = {(char *)pw_buf_str(&arg)};
		const enum pw_opt_id allowed[] = {PW_OPT_CONFIG};
		rc = pw_config_parse_args(st->cfg, "serve", 1, argv, allowed, 1);
	}
	if (rc == 0)
		rc = pw_config_load(st->cfg, st->name);
	pw_buf_free(&arg, 0);
	if (rc < 0)
		return pw_error_context("stanza \"%s\"", st->name);
	const char *const *ids;
	st->identity = pw_cfg_list(st->cfg, PW_OPT_IDENTITY, &ids) > 0;
	for (int k = 0; k < PLAN_KIND_COUNT; k++) {
		const char *expr = pw_cfg_str(st->cfg, sched_opt[k]);
		if (!expr || !*expr)
			continue;
		char what[128];
		snprintf(what, sizeof what, "%s of stanza \"%s\" (%s)",
		         pw_opt_def(sched_opt[k])->name, st->name,
		         pw_cfg_source(st->cfg, sched_opt[k]));
		if ((rc = sched_parse_list(expr, what, k == PLAN_BACKUP, st->sched[k], st->tags[k],
		                           &st->nsched[k])) < 0)
			return rc;
		for (size_t e = 0; e < st->nsched[k]; e++) {
			time_t probe;
			if ((rc = sched_next(&st->sched[k][e], pw_now(), &probe)) < 0)
				return pw_error_context("%s", what);
			const char *tag = st->tags[k][e].name;
			if (tag[0] && !manifest_tag_name_valid(tag)) {
				char shown[SCHED_TAG_MAX + 8];
				pw_str_printable(shown, sizeof shown, tag);
				pw_error(PW_E_CONFIG, "%s: bad tag \"%s\"", what, shown);
				return pw_error_hint(
				    "A tag is 1-%d letters, digits, \"_\", \".\" or "
				    "\"-\", not starting with \".\" or \"-\".",
				    SCHED_TAG_MAX - 1);
			}
		}
		st->scheduled[k] = true;
	}
	char what[128];
	snprintf(what, sizeof what, "schedule-jitter of stanza \"%s\"", st->name);
	if ((rc = sched_parse_duration(pw_cfg_str(st->cfg, PW_OPT_SCHEDULE_JITTER), what,
	                               &st->jitter)) < 0)
		return rc;
	st->depth = pw_cfg_int(st->cfg, PW_OPT_VERIFY_DEPTH);
	if (!st->scheduled[PLAN_VERIFY])
		return 0;
	if (st->depth < 1 || st->depth > 3) {
		pw_error(PW_E_CONFIG, "verify-depth of stanza \"%s\" is %lld", st->name, st->depth);
		return pw_error_hint("Use 1 (checksums and signature, no key), 2 (also decrypt: "
		                     "needs an identity) or 3 (also a restore drill).");
	}
	if (st->depth == 1 && st->identity) {
		/* verify decrypts whenever it has a key: depth 1 would silently be depth 2 */
		pw_error(PW_E_CONFIG,
		         "verify-depth 1 of stanza \"%s\", but the stanza holds an identity: "
		         "scheduled verification would decrypt (depth 2)",
		         st->name);
		return pw_error_hint(
		    "Set verify-depth = 2 or 3 on this key-holding host, or remove "
		    "identity from [%s].",
		    st->name);
	}
	if (st->depth >= 2 && !st->identity) {
		pw_error(
		    PW_E_CONFIG,
		    "verify-depth %lld of stanza \"%s\" decrypts backups, but the stanza has no "
		    "identity",
		    st->depth, st->name);
		return pw_error_hint("Schedule depth 2-3 on the key-holding host (set identity "
		                     "there), or use verify-depth = 1 on the backup host.");
	}
	if (st->depth == 3 && !pw_cfg_isset(st->cfg, PW_OPT_SCRATCH_URL) &&
	    !pw_cfg_bool(st->cfg, PW_OPT_SCRATCH_LOCAL)) {
		pw_error(PW_E_CONFIG,
		         "verify-depth 3 of stanza \"%s\" is a restore drill, but no scratch "
		         "server is set",
		         st->name);
		return pw_error_hint("Set scratch-url or scratch-local = yes in [%s].", st->name);
	}
	return 0;
}

/*
 * The two-host split: a process that schedules backups holds storage credentials for the
 * backup host's repository; one that also holds an identity can read every backup it
 * writes, which the split exists to prevent.
 */
static int check_split(struct pw_ctx *ctx, const struct stanza *s, size_t n)
{
	const struct stanza *backup = NULL, *key = NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i].scheduled[PLAN_BACKUP] && (!backup || (s[i].identity && !key)))
			backup = &s[i];
		if (s[i].identity && (!key || &s[i] == backup))
			key = &s[i];
	}
	if (!backup || !key || pw_cfg_bool(ctx->cfg, PW_OPT_SERVE_ALLOW_MIXED))
		return 0;
	if (backup == key)
		pw_error(
		    PW_E_CONFIG,
		    "stanza \"%s\" schedules backups and holds an identity (a decryption key): "
		    "one process would have the backup host's storage credentials and the key "
		    "that decrypts every backup it writes",
		    backup->name);
	else
		pw_error(PW_E_CONFIG,
		         "stanza \"%s\" schedules backups and stanza \"%s\" holds an identity (a "
		         "decryption key): one process would have the backup host's storage "
		         "credentials and a key that decrypts backups",
		         backup->name, key->name);
	return pw_error_hint(
	    "The default is two hosts: serve backups (and verify-depth 1) on the backup host with "
	    "recipients, sign-key and credentials that cannot delete; serve drills (depth 2-3) and "
	    "expiry on the key-holding host. To run both here anyway, set serve-allow-mixed = yes "
	    "in [global] (docs/service.md).");
}

static void fmt_local(const struct sched *sc, time_t t, char *out, size_t size)
{
	struct tm tm;
	char abbr[16], when[40];
	if (pw_zone_local(sc->zone, t, &tm, NULL, abbr) < 0 ||
	    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm) == 0) {
		snprintf(out, size, "?");
		return;
	}
	snprintf(out, size, "%s %s", when, abbr);
}

static const char *why_name(enum plan_why w)
{
	return w == PLAN_WHY_MISSED ? "missed" : w == PLAN_WHY_RETRY ? "retry" : "scheduled";
}

static void tags_text(const struct stanza *st, enum plan_kind k, uint32_t entries, char *out,
                      size_t size);

/* What the state file says about one schedule, and what the plan makes of it now: on bk
 * (the status shape's facts) and, for what only a check shows, in j. */
static int describe_state(const struct stanza *st, enum plan_kind k, time_t now,
                          const struct svc_state *state, struct board_kind *bk, json_t *j,
                          bool text)
{
	const struct plan_state *ps = svc_state_get(state, st->name, k);
	if (!ps) {
		if (text)
			printf("    no run recorded yet: the first is the first slot after the "
			       "service "
			       "starts\n");
		return 0;
	}
	struct plan_job job = {.sched = st->sched[k],
	                       .nsched = st->nsched[k],
	                       .jitter = st->jitter,
	                       .grace = -1,
	                       .st = *ps};
	struct plan_decision d;
	enum plan_health h;
	time_t deadline;
	int rc = plan_job(st->name, k, &job, now, &d);
	if (rc == 0)
		rc = plan_health(st->name, k, &job, now, &h, &deadline);
	if (rc < 0)
		return rc;
	char a[PW_TIME_MAX], b[PW_TIME_MAX], c[PW_TIME_MAX];
	if (text) {
		if (ps->last_start)
			printf("    last run: %s, started %s, attempts failed in a row: %u\n",
			       plan_result_name(ps->result),
			       pw_time_format(ps->last_start, PW_TIME_ISO, a), ps->attempts);
		char tags[SCHED_ENTRIES_MAX * 34];
		tags_text(st, k, d.entries, tags, sizeof tags);
		printf("    due %s (%s%s%s); last success %s; dead-man %s (deadline %s)\n",
		       pw_time_format(d.due, PW_TIME_ISO, b), why_name(d.why),
		       tags[0] ? ", tags " : "", tags,
		       ps->last_success ? pw_time_format(ps->last_success, PW_TIME_ISO, a)
		                        : "never",
		       plan_health_name(h), pw_time_format(deadline, PW_TIME_ISO, c));
	}
	bk->st = *ps;
	bk->next_due = d.due;
	bk->health = h;
	bk->deadline = deadline;
	json_object_set_new(j, "due_why", json_string(why_name(d.why)));
	bool tagged = false;
	for (size_t e = 0; e < st->nsched[k]; e++)
		tagged |= st->tags[k][e].name[0] != 0;
	if (tagged) { /* what that run will be tagged */
		json_t *ta = json_array();
		for (size_t e = 0; e < st->nsched[k]; e++)
			if (d.entries & (UINT32_C(1) << e) && st->tags[k][e].name[0])
				json_array_append_new(ta, json_string(st->tags[k][e].name));
		json_object_set_new(j, "due_tags", ta);
	}
	return 0;
}

/* The tags an entries mask stands for, "hourly,daily" ("" when none), into out. */
static void tags_text(const struct stanza *st, enum plan_kind k, uint32_t entries, char *out,
                      size_t size)
{
	out[0] = 0;
	for (size_t e = 0; e < st->nsched[k]; e++)
		if (entries & (UINT32_C(1) << e) && st->tags[k][e].name[0])
			snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? "," : "",
			         st->tags[k][e].name);
}

static void keep_text(long keep, char *out, size_t size)
{
	snprintf(out, size, "%ld%s", keep % 86400 ? keep / 3600 : keep / 86400,
	         keep % 86400 ? "h" : "d");
}

/* A schedule of several entries, or of tagged ones: each entry with its tag, its keep and
 * its own next runs (the union's runs are above it). */
static int describe_entries(const struct stanza *st, enum plan_kind k, time_t now, json_t *j,
                            bool text)
{
	json_t *entries = json_array();
	for (size_t e = 0; e < st->nsched[k]; e++) {
		const struct sched *sc = &st->sched[k][e];
		const struct sched_tag *tg = &st->tags[k][e];
		char keep[32] = "";
		if (tg->keep)
			keep_text(tg->keep, keep, sizeof keep);
		if (text)
			printf("    entry %zu: %s  (zone %s%s%s%s%s)\n", e + 1, sc->text,
			       sc->zone[0] ? sc->zone : "local", tg->name[0] ? ", tag " : "",
			       tg->name, keep[0] ? ", keep " : "", keep);
		json_t *x = json_object(), *next = json_array();
		time_t t = now;
		for (int i = 0; i < NEXT_RUNS; i++) {
			int rc = sched_next(sc, t, &t);
			if (rc < 0) {
				json_decref(next);
				json_decref(x);
				json_decref(entries);
				return rc;
			}
			char local[80], utc[PW_TIME_MAX];
			fmt_local(sc, t, local, sizeof local);
			pw_time_format(t, PW_TIME_ISO, utc);
			if (text)
				printf("      %-24s %s\n", local, utc);
			json_array_append_new(next, json_string(utc));
		}
		json_object_set_new(x, "schedule", json_string(sc->text));
		json_object_set_new(x, "zone", sc->zone[0] ? json_string(sc->zone) : json_null());
		json_object_set_new(x, "tag", tg->name[0] ? json_string(tg->name) : json_null());
		json_object_set_new(x, "keep_seconds",
		                    tg->keep ? json_integer(tg->keep) : json_null());
		json_object_set_new(x, "next", next);
		json_array_append_new(entries, x);
	}
	json_object_set_new(j, "entries", entries);
	return 0;
}

static int describe(const struct stanza *st, enum plan_kind k, time_t now,
                    const struct svc_state *state, struct board_kind *bk, json_t *j, bool text)
{
	const struct sched *sc = &st->sched[k][0];
	struct plan_job pj = {.sched = st->sched[k], .nsched = st->nsched[k], .jitter = st->jitter};
	bool tagged = false, one_zone = true;
	for (size_t e = 0; e < st->nsched[k]; e++) {
		tagged |= st->tags[k][e].name[0] != 0;
		one_zone &= strcmp(st->sched[k][e].zone, sc->zone) == 0;
	}
	const char *expr = pw_cfg_str(st->cfg, sched_opt[k]);
	json_t *runs = json_array();
	if (text)
		printf("  %-7s %s  (zone %s, jitter below %lds)\n", plan_kind_name(k), expr,
		       !one_zone     ? "per entry"
		       : sc->zone[0] ? sc->zone
		                     : "local",
		       st->jitter);
	time_t t = now;
	for (int i = 0; i < NEXT_RUNS; i++) {
		time_t slot;
		long jit;
		uint32_t ents;
		int rc = plan_next_slot(&pj, t, &slot);
		if (rc == 0)
			rc = plan_slot_jitter(st->name, k, &pj, slot, &jit);
		if (rc == 0)
			rc = plan_slot_entries(&pj, slot, &ents);
		if (rc < 0) {
			json_decref(runs);
			return rc;
		}
		/* shown in the zone of the first entry whose slot it is */
		const struct sched *zs = sc;
		for (size_t e = 0; e < st->nsched[k]; e++)
			if (ents & (UINT32_C(1) << e)) {
				zs = &st->sched[k][e];
				break;
			}
		char local[80], utc[PW_TIME_MAX], run[PW_TIME_MAX], tags[SCHED_ENTRIES_MAX * 34];
		fmt_local(zs, slot, local, sizeof local);
		pw_time_format(slot, PW_TIME_ISO, utc);
		pw_time_format(slot + jit, PW_TIME_ISO, run);
		tags_text(st, k, ents, tags, sizeof tags);
		if (text)
			printf("    %-24s %s  runs at %s%s%s\n", local, utc, run,
			       tags[0] ? "  tags " : "", tags);
		json_t *r = json_object();
		json_object_set_new(r, "local", json_string(local));
		json_object_set_new(r, "slot", json_string(utc));
		json_object_set_new(r, "run_at", json_string(run));
		json_object_set_new(r, "jitter_seconds", json_integer(jit));
		if (tagged) {
			json_t *ta = json_array();
			for (size_t e = 0; e < st->nsched[k]; e++)
				if (ents & (UINT32_C(1) << e) && st->tags[k][e].name[0])
					json_array_append_new(ta, json_string(st->tags[k][e].name));
			json_object_set_new(r, "tags", ta);
		}
		json_array_append_new(runs, r);
		t = slot;
	}
	bk->scheduled = true;
	bk->last_duration = -1;
	pw_strlcpy(bk->schedule, expr, sizeof bk->schedule);
	json_object_set_new(j, "zone", sc->zone[0] ? json_string(sc->zone) : json_null());
	json_object_set_new(j, "jitter_max_seconds", json_integer(st->jitter));
	if (k == PLAN_VERIFY)
		json_object_set_new(j, "depth", json_integer(st->depth));
	json_object_set_new(j, "next", runs);
	int rc = 0;
	if (st->nsched[k] > 1 || tagged)
		rc = describe_entries(st, k, now, j, text);
	if (rc == 0)
		rc = describe_state(st, k, now, state, bk, j, text);
	return rc;
}

/* The stanza in the status shape (render.h: the API's, one builder), with what only a
 * check shows added to each job (extra, by kind) and to the stanza. */
static json_t *check_stanza_json(const struct stanza *st, const struct board_stanza *bs,
                                 json_t *const extra[PLAN_KIND_COUNT])
{
	json_t *o = svc_status_stanza_json(bs);
	json_object_set_new(o, "identity", json_boolean(st->identity));
	size_t i;
	json_t *job;
	json_array_foreach(json_object_get(o, "jobs"), i, job)
	{
		int k = plan_kind_from(json_string_value(json_object_get(job, "kind")));
		if (k >= 0 && extra[k])
			json_object_update(job, extra[k]);
	}
	return o;
}

/* The configuration the service runs: the selected stanzas, each loaded and checked. */
struct service {
	const char *path;
	struct stanza *all;
	size_t n, m; /* sections, selected (the first m of all) */
	size_t nsched;
	char *state_path;
	uint8_t conf_sha[PW_SHA256_LEN]; /* the configuration file's bytes as checked */
	struct notify_config *notify;    /* the webhook receivers, read and checked */
};

/* The SHA-256 of the configuration file's bytes: a job runs only on the configuration the
 * service checked (a refused reload, or an edit without one, must not reach a job). */
static int conf_digest(const char *path, uint8_t out[PW_SHA256_LEN])
{
	struct pw_buf b = PW_BUF_INIT(4 * 1024 * 1024);
	/* pw_read_file reads "-" from stdin: the configuration is a file (its open says so) */
	int rc = strcmp(path, "-") == 0 ? 0 : pw_read_file(path, &b);
	if (rc == 0)
		rc = pw_sha256(b.data, b.len, out);
	pw_buf_free(&b, 0);
	return rc;
}

static int conf_unchanged(const char *path, const uint8_t want[PW_SHA256_LEN])
{
	uint8_t now[PW_SHA256_LEN];
	int rc = conf_digest(path, now);
	if (rc == 0 && memcmp(now, want, sizeof now) != 0) {
		pw_error(PW_E_CONFIG,
		         "the configuration file \"%s\" changed since the service "
		         "checked it",
		         path);
		rc = pw_error_hint("Send SIGHUP to check and load the new one (a refused one "
		                   "leaves the old in force), or restart the service.");
	}
	return rc;
}

static void service_free(struct service *svc)
{
	for (size_t j = 0; j < svc->m; j++)
		pw_config_free(svc->all[j].cfg);
	pw_free(svc->all);
	pw_free(svc->state_path);
	notify_config_free(svc->notify);
	memset(svc, 0, sizeof *svc);
}

static int service_load(struct pw_ctx *ctx, struct service *svc)
{
	memset(svc, 0, sizeof *svc);
	svc->path = pw_config_file(ctx->cfg);
	if (!svc->path) {
		pw_error(PW_E_CONFIG, "serve needs a configuration file with stanzas");
		return pw_error_hint("Give --config FILE (or PGWARD_CONFIG) with a [stanza] per "
		                     "database and its backup-schedule (docs/service.md).");
	}
	int rc = conf_digest(svc->path, svc->conf_sha);
	if (rc == 0)
		rc = list_sections(svc->path, &svc->all, &svc->n);
	if (rc < 0)
		return rc;
	/* the stanzas named on the command line, or all */
	size_t npos = pw_config_npos(ctx->cfg);
	for (size_t i = 0; i < npos && rc == 0; i++) {
		bool found = false;
		for (size_t j = 0; j < svc->n; j++)
			found |= strcmp(svc->all[j].name, pw_config_pos(ctx->cfg, i)) == 0;
		if (!found) {
			char shown[80];
			pw_str_printable(shown, sizeof shown, pw_config_pos(ctx->cfg, i));
			pw_error(PW_E_CONFIG, "stanza \"%s\" is not defined in \"%s\"", shown,
			         svc->path);
			rc = pw_error_hint("Add a [%s] section, or check the spelling.", shown);
		}
	}
	for (size_t j = 0; j < svc->n && rc == 0; j++) {
		bool wanted = npos == 0;
		for (size_t i = 0; i < npos; i++)
			wanted |= strcmp(svc->all[j].name, pw_config_pos(ctx->cfg, i)) == 0;
		if (wanted)
			svc->all[svc->m++] = svc->all[j];
	}
	for (size_t j = 0; j < svc->m && rc == 0; j++)
		rc = load_stanza(svc->path, &svc->all[j]);
	for (size_t j = 0; j < svc->m && rc == 0; j++)
		for (int k = 0; k < PLAN_KIND_COUNT; k++)
			svc->nsched += svc->all[j].scheduled[k];
	if (rc == 0 && svc->nsched == 0) {
		pw_error(PW_E_CONFIG, "no stanza in \"%s\" has a schedule", svc->path);
		rc = pw_error_hint("Set backup-schedule (e.g. \"daily 02:00\"), verify-schedule or "
		                   "expire-schedule in a [stanza] (docs/service.md).");
	}
	if (rc == 0)
		rc = check_split(ctx, svc->all, svc->m);
	if (rc == 0) {
		struct notify_stanza *ns = pw_calloc(svc->m ? svc->m : 1, sizeof *ns);
		for (size_t j = 0; j < svc->m; j++)
			ns[j] = (struct notify_stanza){svc->all[j].name, svc->all[j].cfg};
		rc = notify_config_load(ns, svc->m, &svc->notify);
		pw_free(ns);
	}
	if (rc == 0) /* what was checked is what the digest names */
		rc = conf_unchanged(svc->path, svc->conf_sha);
	if (rc == 0)
		svc->state_path = pw_cfg_isset(ctx->cfg, PW_OPT_STATE_FILE)
		                      ? pw_strdup(pw_cfg_str(ctx->cfg, PW_OPT_STATE_FILE))
		                      : pw_state_path("service-state.json");
	if (rc < 0)
		service_free(svc);
	return rc;
}

static int check_config(struct pw_ctx *ctx)
{
	bool text = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") != 0;
	struct service svc;
	int rc = service_load(ctx, &svc);
	if (rc < 0)
		return rc;
	/* the state file must be readable and pgward's (a damaged one stops the service) */
	struct svc_state *state = NULL;
	rc = svc_state_load(svc.state_path, &state);

	time_t now = pw_now();
	json_t *out = json_object(), *stanzas = json_array();
	if (rc == 0 && text) {
		printf("configuration: %s\n", svc.path);
		printf("state file: %s (%zu stanzas recorded)\n", svc.state_path,
		       svc_state_nstanzas(state));
	}
	for (size_t j = 0; j < svc.m && rc == 0; j++) {
		const struct stanza *st = &svc.all[j];
		struct board_stanza bs;
		json_t *extra[PLAN_KIND_COUNT] = {NULL};
		memset(&bs, 0, sizeof bs);
		pw_strlcpy(bs.name, st->name, sizeof bs.name);
		bs.repo_reachable = -1;
		if (text)
			printf("[%s]%s\n", st->name, st->identity ? "  (holds an identity)" : "");
		for (int k = 0; k < PLAN_KIND_COUNT && rc == 0; k++) {
			if (st->scheduled[k]) {
				extra[k] = json_object();
				rc = describe(st, (enum plan_kind)k, now, state, &bs.kind[k],
				              extra[k], text);
			} else if (text) {
				printf("  %-7s not scheduled\n", plan_kind_name((enum plan_kind)k));
			}
		}
		if (rc == 0)
			json_array_append_new(stanzas, check_stanza_json(st, &bs, extra));
		for (int k = 0; k < PLAN_KIND_COUNT; k++)
			json_decref(extra[k]);
	}
	json_t *hooks = json_array();
	for (size_t i = 0; i < notify_config_count(svc.notify) && rc == 0; i++) {
		struct notify_target_info ti;
		notify_config_target(svc.notify, i, &ti);
		const char *format = ti.format == NOTIFY_SLACK ? "slack" : "json";
		if (text)
			printf("webhook %s (URL from \"%s\"): %s, %s, events %s; stanzas %s\n",
			       ti.shown, ti.url_file, format, ti.is_signed ? "signed" : "unsigned",
			       ti.events, ti.stanzas);
		json_t *h = json_object();
		json_object_set_new(h, "url_file", json_string(ti.url_file));
		json_object_set_new(h, "receiver", json_string(ti.shown));
		json_object_set_new(h, "format", json_string(format));
		json_object_set_new(h, "signed", json_boolean(ti.is_signed));
		json_object_set_new(h, "events", json_string(ti.events));
		json_object_set_new(h, "stanzas", json_string(ti.stanzas));
		json_array_append_new(hooks, h);
	}
	bool api_on = false;
	if (rc == 0)
		rc = api_check(ctx->cfg, &api_on);
	if (rc == 0) {
		bool mixed = pw_cfg_bool(ctx->cfg, PW_OPT_SERVE_ALLOW_MIXED);
		if (text) {
			printf("api: %s\n",
			       api_on ? "on (api-token set; docs/api.md)" : "off (no api-token)");
			printf("ok: %zu stanza%s, %zu schedule%s%s\n", svc.m, svc.m == 1 ? "" : "s",
			       svc.nsched, svc.nsched == 1 ? "" : "s",
			       mixed ? " (serve-allow-mixed: backups and identities in one process)"
			             : "");
		} else {
			char nowbuf[PW_TIME_MAX];
			json_object_set_new(out, "config", json_string(svc.path));
			json_object_set_new(out, "state_file", json_string(svc.state_path));
			json_object_set_new(out, "now",
			                    json_string(pw_time_format(now, PW_TIME_ISO, nowbuf)));
			json_object_set_new(out, "allow_mixed", json_boolean(mixed));
			json_object_set_new(out, "api", json_boolean(api_on));
			json_object_set_new(out, "stanzas", json_incref(stanzas));
			json_object_set_new(out, "webhooks", json_incref(hooks));
			char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			if (s)
				printf("%s\n", s);
			pw_free(s);
		}
	}
	json_decref(stanzas);
	json_decref(hooks);
	json_decref(out);
	svc_state_free(state);
	service_free(&svc);
	return rc;
}

/* ---- the loop ---- */

static volatile sig_atomic_t reload_wanted;

static void on_hup(int signo)
{
	(void)signo;
	reload_wanted = 1;
}

/* One job, in this process, exactly as "pgward backup|verify|expire STANZA" runs it, with
 * its own audit record; a backup gets "--tag NAME[:KEEP]" for each entry it stands for
 * (entries: plan_entries). */
static int run_job(const struct service *svc, const struct stanza *st, enum plan_kind k,
                   uint32_t entries, char *message, size_t msize)
{
	static const char *const command[PLAN_KIND_COUNT] = {"backup", "verify", "expire"};
	int (*const fn[PLAN_KIND_COUNT])(struct pw_ctx *) = {cmd_backup, cmd_verify, cmd_expire};
	struct pw_ctx ctx = {.command = command[k], .stanza = st->name, .audit = json_object()};
	ctx.cfg = pw_config_new();
	struct pw_buf arg = PW_BUF_INIT(8192);
	char tagarg[SCHED_ENTRIES_MAX][SCHED_TAG_MAX + 48];
	char *argv[2 + SCHED_ENTRIES_MAX];
	int argc = 0;
	int rc = pw_buf_printf(&arg, "--config=%s", svc->path);
	if (rc == 0) {
		argv[argc++] = (char *)pw_buf_str(&arg);
		/* depth 3 is verify --restore; 1 and 2 follow from the keys (checked before) */
		if (k == PLAN_VERIFY && st->depth == 3)
			argv[argc++] = (char *)"--restore";
		for (size_t e = 0; k == PLAN_BACKUP && e < st->nsched[k]; e++) {
			const struct sched_tag *tg = &st->tags[k][e];
			if (!(entries & (UINT32_C(1) << e)) || !tg->name[0])
				continue;
			char keep[32] = "";
			if (tg->keep)
				keep_text(tg->keep, keep, sizeof keep);
			snprintf(tagarg[e], sizeof tagarg[e], "--tag=%s%s%s", tg->name,
			         keep[0] ? ":" : "", keep);
			argv[argc++] = tagarg[e];
		}
		const enum pw_opt_id allowed[] = {PW_OPT_CONFIG, PW_OPT_RESTORE_DRILL, PW_OPT_TAG};
		rc = pw_config_parse_args(ctx.cfg, command[k], argc, argv, allowed, 3);
	}
	pw_buf_free(&arg, 0);
	/* the job reads the file again: it must still be the one checked, before and after */
	if (rc == 0)
		rc = conf_unchanged(svc->path, svc->conf_sha);
	if (rc == 0)
		rc = pw_config_load(ctx.cfg, st->name);
	if (rc == 0)
		rc = conf_unchanged(svc->path, svc->conf_sha);
	json_object_set_new(ctx.audit, "scheduled_by", json_string("serve"));
	if (rc == 0)
		rc = fn[k](&ctx);
	if (rc < 0)
		pw_log(PW_LOG_ERROR, "scheduled %s of stanza \"%s\" failed: %s%s%s", command[k],
		       st->name, pw_error_message(), *pw_error_hint_text() ? " - HINT: " : "",
		       pw_error_hint_text());
	/* the message goes to the board (API, page) and the webhooks: redacted now, while the
	 * job's own secrets (its configuration's passwords) are still known to the redactor */
	char *shown = rc < 0 ? pw_redact(pw_error_message()) : NULL;
	pw_strlcpy(message, shown ? shown : "", msize);
	pw_free(shown);
	int sig = pw_interrupted();
	pw_set_interrupted(0); /* the job is over: its record must still be written */
	pw_audit_record(&ctx, ctx.db_role, rc, ctx.audit);
	pw_set_interrupted(sig);
	json_decref(ctx.audit);
	pw_free(ctx.db_role);
	pw_config_free(ctx.cfg);
	pw_error_clear();
	return rc;
}

/* The stanza's schedules and recorded state as the plan takes them. */
static void jobs_of(const struct stanza *st, const struct svc_state *state,
                    struct plan_job jobs[PLAN_KIND_COUNT])
{
	for (int k = 0; k < PLAN_KIND_COUNT; k++) {
		memset(&jobs[k], 0, sizeof jobs[k]);
		if (!st->scheduled[k])
			continue;
		jobs[k].sched = st->sched[k];
		jobs[k].nsched = st->nsched[k];
		jobs[k].jitter = st->jitter;
		jobs[k].grace = -1;
		const struct plan_state *ps = svc_state_get(state, st->name, (enum plan_kind)k);
		if (ps)
			jobs[k].st = *ps;
	}
}

/* The state is written even while a stop signal is pending (file writes stop on it): the
 * record that a run was interrupted is what makes the next start retry it. */
static int save_state(const struct svc_state *state, const char *path)
{
	int sig = pw_interrupted();
	pw_set_interrupted(0);
	int rc = svc_state_save(state, path);
	pw_set_interrupted(sig);
	return rc;
}

/* Every scheduled kind has an entry; a run the last process left "running" was
 * interrupted (it died): recorded as such, so the plan retries it. */
static int adopt(const struct service *svc, struct svc_state *state, time_t now)
{
	for (size_t j = 0; j < svc->m; j++)
		for (int k = 0; k < PLAN_KIND_COUNT; k++) {
			if (!svc->all[j].scheduled[k])
				continue;
			struct plan_state *ps;
			int rc = svc_state_put(state, svc->all[j].name, (enum plan_kind)k, &ps);
			if (rc < 0)
				return rc;
			if (!ps->first_seen)
				ps->first_seen = now;
			if (ps->result == PLAN_RES_RUNNING) {
				char when[PW_TIME_MAX];
				pw_warn(
				    "the %s of stanza \"%s\" started at %s was interrupted (the "
				    "service stopped during it): it is retried",
				    plan_kind_name((enum plan_kind)k), svc->all[j].name,
				    pw_time_format(ps->last_start, PW_TIME_ISO, when));
				ps->result = PLAN_RES_INTERRUPTED;
				ps->attempts++;
			}
		}
	return save_state(state, svc->state_path);
}

static const char *why_text(enum plan_why w)
{
	return w == PLAN_WHY_MISSED  ? "missed while the service was down"
	       : w == PLAN_WHY_RETRY ? "retry"
	       : w == PLAN_WHY_NONE  ? "asked for through the API"
	                             : "scheduled";
}

/* The board lists the served stanzas, in configuration order. */
static int board_load(struct board *b, const struct service *svc)
{
	const char **names = pw_calloc(svc->m ? svc->m : 1, sizeof *names);
	for (size_t j = 0; j < svc->m; j++)
		names[j] = svc->all[j].name;
	int rc = board_set_stanzas(b, names, svc->m);
	pw_free(names);
	struct board_data *d = board_lock(b);
	d->reloaded = pw_now();
	for (size_t j = 0; j < svc->m && rc == 0; j++) {
		struct board_stanza *bs = board_find(d, svc->all[j].name);
		for (int k = 0; k < PLAN_KIND_COUNT && bs; k++) {
			bs->kind[k].scheduled = svc->all[j].scheduled[k];
			pw_strlcpy(bs->kind[k].schedule,
			           svc->all[j].scheduled[k]
			               ? pw_cfg_str(svc->all[j].cfg, sched_opt[k])
			               : "",
			           sizeof bs->kind[k].schedule);
		}
	}
	board_unlock(b);
	return rc;
}

/* What the plan says of one kind of a stanza, on the board. */
static void board_plan(struct board *b, const char *stanza, enum plan_kind k,
                       const struct plan_job *j, const struct plan_decision *dec,
                       enum plan_health h, time_t deadline)
{
	struct board_data *d = board_lock(b);
	struct board_stanza *bs = board_find(d, stanza);
	if (bs) {
		bs->kind[k].st = j->st;
		bs->kind[k].next_due = dec->action == PLAN_OFF ? 0 : dec->due;
		bs->kind[k].health = h;
		bs->kind[k].deadline = deadline;
	}
	board_unlock(b);
}

/* A job starts (running) or ends (its facts) on the board. */
static void board_job(struct board *b, const char *stanza, enum plan_kind k, unsigned id,
                      const struct plan_state *ps, bool running, int exit_code, const char *message,
                      int depth)
{
	struct board_data *d = board_lock(b);
	struct board_stanza *bs = board_find(d, stanza);
	if (bs) {
		struct board_kind *bk = &bs->kind[k];
		bk->st = *ps;
		bk->running = running;
		bk->job_id = id;
		if (!running) {
			bk->last_duration = (double)(ps->last_end - ps->last_start);
			bk->last_exit = exit_code;
			bk->runs_total++;
			if (exit_code) {
				bk->failures_total++;
				pw_str_printable(bk->last_message, sizeof bk->last_message,
				                 message ? message : "");
			} else {
				bk->last_message[0] = '\0';
				if (k == PLAN_VERIFY)
					bk->last_depth = depth;
			}
		}
	}
	board_unlock(b);
}

static void notify(struct notifier *n, enum notify_what what, const char *stanza, enum plan_kind k,
                   unsigned id, const struct plan_state *ps, int exit_code, const char *message)
{
	struct notify_event ev = {.what = what,
	                          .stanza = stanza,
	                          .kind = k,
	                          .job_id = id,
	                          .at = pw_now(),
	                          .exit_code = exit_code,
	                          .message = message};
	if (ps && ps->last_end >= ps->last_start && ps->last_end)
		ev.duration = (double)(ps->last_end - ps->last_start);
	notifier_post(n, &ev);
}

static int serve_loop(struct pw_ctx *ctx, bool once)
{
	struct service svc;
	int rc = service_load(ctx, &svc);
	if (rc < 0)
		return rc;
	struct svc_state *state = NULL;
	rc = svc_state_load(svc.state_path, &state);
	if (rc == 0)
		rc = adopt(&svc, state, pw_now());
	/* the board: what the API, /metrics and the page show; the API and the webhooks are
	 * started only for a daemon, never for --once */
	struct board *board = board_new();
	struct api *api = NULL;
	struct notifier *notifier = NULL;
	if (!board && rc == 0)
		rc = pw_error(PW_E_NOMEM, "cannot create the service's board");
	if (rc == 0) {
		board_lock(board)->started = pw_now();
		board_unlock(board);
		rc = board_load(board, &svc);
	}
	if (rc == 0 && !once)
		rc = notifier_start(&svc.notify, &notifier);
	char *audit_path = pw_audit_log_path(ctx->cfg);
	const struct api_hooks hooks = {
	    .backups = pw_list_backups_json, .arg = (void *)svc.path, .audit_path = audit_path};
	if (rc == 0 && !once)
		rc = api_start(ctx->cfg, board, &hooks, &api);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup; /* no SA_RESTART: a sleep returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	if (rc == 0)
		pw_info("serving %zu stanza%s, %zu schedule%s; state in %s", svc.m,
		        svc.m == 1 ? "" : "s", svc.nsched, svc.nsched == 1 ? "" : "s",
		        svc.state_path);
	int failed_rc = 0;
	char failed_what[160] = "";
	enum plan_health *health = NULL;
	size_t nhealth = 0;
	struct board_request asked = {0};
	while (rc == 0 && !pw_interrupted()) {
		if (reload_wanted) {
			reload_wanted = 0;
			struct service fresh;
			/* the API's tokens come with the configuration: a refused one keeps
			 * both (every stanza's configuration holds [global]'s api-token) */
			int lrc = service_load(ctx, &fresh);
			if (lrc == 0 && (lrc = api_reload(api, fresh.all[0].cfg)) < 0)
				service_free(&fresh);
			if (lrc == 0) {
				service_free(&svc);
				svc = fresh;
				rc = adopt(&svc, state, pw_now());
				if (rc == 0 && !once)
					rc = notifier_reconfigure(&notifier, &svc.notify);
				if (rc == 0)
					rc = board_load(board, &svc);
				pw_info("configuration reloaded: %zu stanzas", svc.m);
			} else {
				pw_log(PW_LOG_ERROR,
				       "reload refused, the old configuration stays: %s",
				       pw_error_message());
				pw_error_clear();
			}
			if (rc < 0)
				break;
		}
		if (nhealth != svc.m * PLAN_KIND_COUNT) {
			pw_free(health);
			nhealth = svc.m * PLAN_KIND_COUNT;
			health = pw_calloc(nhealth ? nhealth : 1, sizeof *health);
		}
		time_t now = pw_now(), wake = now + 60;
		bool ran = false;
		/* a job asked for through the API runs when its stanza has nothing due */
		while (!asked.id && board_take(board, &asked) && asked.cancel) {
			pw_warn("job %u cannot be cancelled: jobs run one at a time in this "
			        "process",
			        asked.id);
			asked.id = 0;
		}
		if (asked.cancel)
			asked.id = 0;
		bool asked_served = false;
		for (size_t j = 0; j < svc.m && rc == 0 && !pw_interrupted(); j++) {
			const struct stanza *st = &svc.all[j];
			struct plan_job jobs[PLAN_KIND_COUNT];
			struct plan_decision d[PLAN_KIND_COUNT];
			enum plan_kind run;
			jobs_of(st, state, jobs);
			if ((rc = plan_stanza(st->name, jobs, now, d, &run)) < 0)
				break;
			unsigned job_id = 0;
			asked_served |= asked.id && strcmp(asked.stanza, st->name) == 0;
			if (run == PLAN_KIND_COUNT && asked.id &&
			    strcmp(asked.stanza, st->name) == 0) {
				run = asked.kind; /* asked for through the API */
				d[run].why = PLAN_WHY_NONE;
				job_id = asked.id;
				asked.id = 0;
			}
			if (run != PLAN_KIND_COUNT) {
				if (!job_id)
					job_id = board_next_id(board);
				struct plan_state *ps;
				if ((rc = svc_state_put(state, st->name, run, &ps)) < 0)
					break;
				ps->last_start = pw_now();
				ps->last_end = 0;
				ps->result = PLAN_RES_RUNNING;
				if ((rc = save_state(state, svc.state_path)) < 0)
					break;
				pw_info("starting the %s of stanza \"%s\" (%s) as job %u",
				        plan_kind_name(run), st->name, why_text(d[run].why),
				        job_id);
				bool failing = ps->attempts > 0;
				board_job(board, st->name, run, job_id, ps, true, 0, NULL, 0);
				notify(notifier, NOTIFY_START, st->name, run, job_id, ps, 0, NULL);
				char message[BOARD_MSG_MAX] = "";
				uint32_t entries =
				    0; /* jobs[run] still holds the state before it */
				int jrc = plan_entries(&jobs[run], ps->last_start, &entries);
				if (jrc == 0)
					jrc = run_job(&svc, st, run, entries, message,
					              sizeof message);
				else /* a zone file that vanished: as a job that failed */
					pw_strlcpy(message, pw_error_message(), sizeof message);
				ps->last_end = pw_now();
				bool stopped = jrc == -PW_E_INTERRUPTED || pw_interrupted();
				ps->result = jrc == 0  ? PLAN_RES_OK
				             : stopped ? PLAN_RES_INTERRUPTED
				                       : PLAN_RES_FAILED;
				ps->attempts = jrc == 0 ? 0 : ps->attempts + 1;
				if (jrc == 0) {
					ps->last_success = ps->last_end;
					ps->last_success_start = ps->last_start;
					pw_info("the %s of stanza \"%s\" succeeded",
					        plan_kind_name(run), st->name);
				} else if (!failed_rc) {
					failed_rc = jrc;
					snprintf(failed_what, sizeof failed_what,
					         "the %s of stanza \"%s\"", plan_kind_name(run),
					         st->name);
				}
				board_job(board, st->name, run, job_id, ps, false,
				          jrc < 0 ? -jrc : 0, message, (int)st->depth);
				notify(notifier, jrc == 0 ? NOTIFY_SUCCESS : NOTIFY_FAILURE,
				       st->name, run, job_id, ps, jrc < 0 ? -jrc : 0, message);
				if (jrc == 0 && failing)
					notify(notifier, NOTIFY_RECOVERY, st->name, run, job_id, ps,
					       0, NULL);
				if ((rc = save_state(state, svc.state_path)) < 0)
					break;
				ran = true;
				jobs_of(st, state, jobs);
			}
			for (int k = 0; k < PLAN_KIND_COUNT; k++) {
				if (!jobs[k].sched)
					continue;
				if (d[k].action == PLAN_WAIT && d[k].due < wake)
					wake = d[k].due;
				enum plan_health h;
				time_t deadline;
				if ((rc = plan_health(st->name, (enum plan_kind)k, &jobs[k],
				                      pw_now(), &h, &deadline)) < 0)
					break;
				board_plan(board, st->name, (enum plan_kind)k, &jobs[k], &d[k], h,
				           deadline);
				enum plan_health *last = &health[j * PLAN_KIND_COUNT + (size_t)k];
				bool alarm =
				    h == PLAN_HEALTH_OVERDUE || h == PLAN_HEALTH_NEVER_OVERDUE;
				bool was = *last == PLAN_HEALTH_OVERDUE ||
				           *last == PLAN_HEALTH_NEVER_OVERDUE;
				char when[PW_TIME_MAX];
				if (alarm != was) {
					struct notify_event ev = {
					    .what = alarm ? NOTIFY_DEADMAN : NOTIFY_DEADMAN_CLEAR,
					    .stanza = st->name,
					    .kind = (enum plan_kind)k,
					    .at = pw_now(),
					    .deadline = deadline};
					notifier_post(notifier, &ev);
				}
				if (alarm && !was)
					pw_log(PW_LOG_ERROR,
					       "dead-man: stanza \"%s\" has no successful %s since "
					       "it was "
					       "expected by %s%s",
					       st->name, plan_kind_name((enum plan_kind)k),
					       pw_time_format(deadline, PW_TIME_ISO, when),
					       h == PLAN_HEALTH_NEVER_OVERDUE
					           ? " (it never succeeded)"
					           : "");
				else if (!alarm && was)
					pw_info("stanza \"%s\": the %s succeeded again", st->name,
					        plan_kind_name((enum plan_kind)k));
				*last = h;
			}
		}
		if (rc < 0 || pw_interrupted())
			break;
		if (once) {
			if (!ran)
				break;
			continue; /* another kind of the same stanza may be due now */
		}
		if (ran)
			continue;
		if (asked.id && !asked_served) {
			pw_warn("job %u of stanza \"%s\" was not run: the stanza is no longer "
			        "served",
			        asked.id, asked.stanza);
			asked.id = 0;
			continue;
		}
		/* sleep until the next due time (at most a minute); a signal or a request
		 * through the API ends it early */
		long secs = (long)(wake - pw_now());
		struct pollfd pfd = {.fd = board_wake_fd(board), .events = POLLIN};
		poll(&pfd, 1, (int)(secs < 1 ? 1 : secs > 60 ? 60 : secs) * 1000);
	}
	api_stop(api);
	pw_free(audit_path);
	notifier_stop(notifier);
	board_free(board);
	if (rc == 0 && pw_interrupted())
		pw_info("stopping on signal %d", pw_interrupted());
	pw_free(health);
	svc_state_free(state);
	service_free(&svc);
	if (rc == 0 && pw_interrupted())
		rc = 0; /* a requested stop is a clean stop */
	if (rc == 0 && once && failed_rc) {
		pw_error(-failed_rc, "%s failed (its message is above)", failed_what);
		rc = pw_error_hint("The next \"pgward serve --once\" retries it after a backoff; "
		                   "\"pgward serve --check-config\" shows the schedules.");
	}
	return rc;
}

/* --new-token: the token once on stdout, and the line that makes it valid. */
static int new_token(struct pw_ctx *ctx)
{
	char token[API_TOKEN_TEXT_MAX], line[API_TOKEN_LINE_MAX];
	int rc = api_token_new(pw_cfg_str(ctx->cfg, PW_OPT_NEW_TOKEN),
	                       pw_cfg_str(ctx->cfg, PW_OPT_SCOPE), token, line);
	if (rc < 0)
		return rc;
	printf("%s\napi-token = %s\n", token, line);
	fflush(stdout);
	OPENSSL_cleanse(token, sizeof token);
	fprintf(stderr,
	        "pgward: the first line is the bearer token: it is shown only now (the "
	        "configuration holds its SHA-256). Add the api-token line to [global]: a running "
	        "service with an API takes it on SIGHUP (the first token needs a restart).\n");
	return 0;
}

int cmd_serve(struct pw_ctx *ctx)
{
	if (pw_cfg_isset(ctx->cfg, PW_OPT_NEW_TOKEN))
		return new_token(ctx);
	if (pw_cfg_bool(ctx->cfg, PW_OPT_CHECK_CONFIG))
		return check_config(ctx);
	return serve_loop(ctx, pw_cfg_bool(ctx->cfg, PW_OPT_ONCE));
}
