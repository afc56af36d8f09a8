/*
 * cmd_serve.c - pgward serve: the backup service. --check-config shows the configuration
 * as the service would run it (serveconf.h checks it: every schedule, the verification
 * depth against the keys at hand, the state file, the two-host split); --new-token makes an
 * API token; else the loop of the daemon layer (loop.h) serves, with what it needs from the
 * command layer in its hooks.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cmd/commands.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "daemon/api.h"
#include "daemon/loop.h"
#include "daemon/notify.h"
#include "daemon/serveconf.h"
#include "repo/manifest.h"
#include "service/board.h"
#include "service/plan.h"
#include "service/render.h"
#include "service/schedule.h"
#include "service/state.h"

#define NEXT_RUNS 3

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
			serveconf_keep_text(tg->keep, keep, sizeof keep);
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
	const char *expr = pw_cfg_str(st->cfg, serveconf_sched_opt[k]);
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

static int check_config(struct pw_ctx *ctx)
{
	bool text = strcmp(pw_cfg_str(ctx->cfg, PW_OPT_OUTPUT), "json") != 0;
	struct service svc;
	int rc = serveconf_load(ctx->cfg, manifest_tag_name_valid, &svc);
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
	serveconf_free(&svc);
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
	char *audit_path = pw_audit_log_path(ctx->cfg);
	const struct serve_hooks hooks = {.backups = pw_list_backups_json,
	                                  .wal_status = pw_wal_status,
	                                  .command_opts = pw_command_opts,
	                                  .tag_ok = manifest_tag_name_valid,
	                                  .audit_path = audit_path};
	int rc = serve_loop(ctx->cfg, pw_cfg_bool(ctx->cfg, PW_OPT_ONCE), &hooks);
	pw_free(audit_path);
	return rc;
}
