/* serveconf.c - the configuration the service runs, loaded and checked (see serveconf.h). */
#include "daemon/serveconf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "common/time.h"
#include "daemon/notify.h"

#define CONFIG_MAX (1024 * 1024)
#define MAX_STANZAS 256

const enum pw_opt_id serveconf_sched_opt[PLAN_KIND_COUNT] = {
    PW_OPT_BACKUP_SCHEDULE, PW_OPT_VERIFY_SCHEDULE, PW_OPT_EXPIRE_SCHEDULE};

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
static int load_stanza(const char *path, serveconf_tag_ok_fn *tag_ok, struct stanza *st)
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
	st->wal = pw_cfg_bool(st->cfg, PW_OPT_WAL_STREAM_SUPERVISED);
	for (int k = 0; k < PLAN_KIND_COUNT; k++) {
		const char *expr = pw_cfg_str(st->cfg, serveconf_sched_opt[k]);
		if (!expr || !*expr)
			continue;
		char what[128];
		snprintf(what, sizeof what, "%s of stanza \"%s\" (%s)",
		         pw_opt_def(serveconf_sched_opt[k])->name, st->name,
		         pw_cfg_source(st->cfg, serveconf_sched_opt[k]));
		if ((rc = sched_parse_list(expr, what, k == PLAN_BACKUP, st->sched[k], st->tags[k],
		                           &st->nsched[k])) < 0)
			return rc;
		for (size_t e = 0; e < st->nsched[k]; e++) {
			time_t probe, again;
			if ((rc = sched_next(&st->sched[k][e], pw_now(), &probe)) < 0)
				return pw_error_context("%s", what);
			/* a schedule repeats: the plan needs the slot after each run (jitter,
			 * backoff, the dead-man deadline); one date with its year runs once */
			if (sched_next(&st->sched[k][e], probe, &again) < 0) {
				pw_error_clear();
				char shown[SCHED_EXPR_MAX + 8];
				pw_str_printable(shown, sizeof shown, st->sched[k][e].text);
				pw_error(PW_E_CONFIG, "%s: schedule \"%s\" runs only once", what,
				         shown);
				return pw_error_hint("A schedule must repeat (leave out the year: "
				                     "\"*-01-01 00:00\"); for one run, run the job "
				                     "itself (\"pgward backup STANZA\").");
			}
			const char *tag = st->tags[k][e].name;
			if (tag[0] && !tag_ok(tag)) {
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
	/* verify and expire take the repository's lease with claims signed by sign-key: a
	 * host without one writes unsigned claims, which a host that trusts keys ignores */
	if ((st->scheduled[PLAN_VERIFY] || st->scheduled[PLAN_EXPIRE]) &&
	    !pw_cfg_isset(st->cfg, PW_OPT_SIGN_KEY))
		pw_warn("stanza \"%s\" schedules %s without a sign-key: its lease claims are "
		        "unsigned, so another host that trusts keys may run a verify or expire of "
		        "it at the same time (set sign-key, and add its public key to the other "
		        "hosts' trusted-signer; docs/service.md)",
		        st->name,
		        st->scheduled[PLAN_VERIFY] && st->scheduled[PLAN_EXPIRE]
		            ? "verification and expiry"
		        : st->scheduled[PLAN_VERIFY] ? "verification"
		                                     : "expiry");
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
static int check_split(const struct pw_config *cfg, const struct stanza *s, size_t n)
{
	const struct stanza *backup = NULL, *key = NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i].scheduled[PLAN_BACKUP] && (!backup || (s[i].identity && !key)))
			backup = &s[i];
		if (s[i].identity && (!key || &s[i] == backup))
			key = &s[i];
	}
	if (!backup || !key || pw_cfg_bool(cfg, PW_OPT_SERVE_ALLOW_MIXED))
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

void serveconf_keep_text(long keep, char *out, size_t size)
{
	snprintf(out, size, "%ld%s", keep % 86400 ? keep / 3600 : keep / 86400,
	         keep % 86400 ? "h" : "d");
}

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

int serveconf_unchanged(const char *path, const uint8_t want[PW_SHA256_LEN])
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

void serveconf_free(struct service *svc)
{
	for (size_t j = 0; j < svc->m; j++)
		pw_config_free(svc->all[j].cfg);
	pw_free(svc->all);
	pw_free(svc->state_path);
	notify_config_free(svc->notify);
	memset(svc, 0, sizeof *svc);
}

int serveconf_load(const struct pw_config *cfg, serveconf_tag_ok_fn *tag_ok, struct service *svc)
{
	memset(svc, 0, sizeof *svc);
	svc->path = pw_config_file(cfg);
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
	size_t npos = pw_config_npos(cfg);
	for (size_t i = 0; i < npos && rc == 0; i++) {
		bool found = false;
		for (size_t j = 0; j < svc->n; j++)
			found |= strcmp(svc->all[j].name, pw_config_pos(cfg, i)) == 0;
		if (!found) {
			char shown[80];
			pw_str_printable(shown, sizeof shown, pw_config_pos(cfg, i));
			pw_error(PW_E_CONFIG, "stanza \"%s\" is not defined in \"%s\"", shown,
			         svc->path);
			rc = pw_error_hint("Add a [%s] section, or check the spelling.", shown);
		}
	}
	for (size_t j = 0; j < svc->n && rc == 0; j++) {
		bool wanted = npos == 0;
		for (size_t i = 0; i < npos; i++)
			wanted |= strcmp(svc->all[j].name, pw_config_pos(cfg, i)) == 0;
		if (wanted)
			svc->all[svc->m++] = svc->all[j];
	}
	for (size_t j = 0; j < svc->m && rc == 0; j++)
		rc = load_stanza(svc->path, tag_ok, &svc->all[j]);
	for (size_t j = 0; j < svc->m && rc == 0; j++)
		for (int k = 0; k < PLAN_KIND_COUNT; k++)
			svc->nsched += svc->all[j].scheduled[k];
	bool wal = false;
	for (size_t j = 0; j < svc->m && rc == 0; j++)
		wal |= svc->all[j].wal;
	if (rc == 0 && svc->nsched == 0 && !wal) {
		pw_error(PW_E_CONFIG, "no stanza in \"%s\" has a schedule", svc->path);
		rc = pw_error_hint("Set backup-schedule (e.g. \"daily 02:00\"), verify-schedule or "
		                   "expire-schedule in a [stanza] (docs/service.md).");
	}
	if (rc == 0)
		rc = check_split(cfg, svc->all, svc->m);
	if (rc == 0) {
		struct notify_stanza *ns = pw_calloc(svc->m ? svc->m : 1, sizeof *ns);
		for (size_t j = 0; j < svc->m; j++)
			ns[j] = (struct notify_stanza){svc->all[j].name, svc->all[j].cfg};
		rc = notify_config_load(ns, svc->m, &svc->notify);
		pw_free(ns);
	}
	if (rc == 0) /* what was checked is what the digest names */
		rc = serveconf_unchanged(svc->path, svc->conf_sha);
	if (rc == 0)
		svc->state_path = pw_cfg_isset(cfg, PW_OPT_STATE_FILE)
		                      ? pw_strdup(pw_cfg_str(cfg, PW_OPT_STATE_FILE))
		                      : pw_state_path("service-state.json");
	if (rc < 0)
		serveconf_free(svc);
	return rc;
}
