/*
 * backup_rules.c - the backup.* rules: read the configuration and the repository's
 * plaintext side only (manifests, verify-<time>.json records, the storage's feature bits).
 * No key is needed and nothing is decrypted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check/internal.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "pg/pg.h"
#include "pg/replication.h"
#include "repo/retention.h"
#include "repo/wal.h"
#include "repo/walrepo.h"
#include "storage/storage.h"

/* Why each rule matters, as the report shows it: a public source or a plain reason. */
#define WHY_RECENT                                                                                 \
	"a backup older than a day loses a day of data when it is needed; a backup never "         \
	"verified may not restore (CIS PostgreSQL Benchmark, \"Ensure a backup and recovery "      \
	"strategy is in place\")"
#define WHY_ENCRYPTED                                                                              \
	"a backup holds every row: unencrypted, whoever reads the storage reads the database; a "  \
	"second recipient is the escrow copy of the key (OWASP Cryptographic Storage Cheat Sheet)"
#define WHY_OFFVENDOR                                                                              \
	"a backup stored with the database's own host or provider is lost with it (an account "    \
	"closure, a region outage, an attacker holding that account): keep copies elsewhere"
#define WHY_RETENTION                                                                              \
	"too short a window misses damage found late; far longer keeps personal data beyond need " \
	"(14 to 30 days of daily backups is the usual balance)"
#define WHY_RESTORE                                                                                \
	"a backup is only as good as its last successful restore (PostgreSQL documentation, "      \
	"\"Backup and Restore\"; test restores regularly)"
#define WHY_IMMUTABLE                                                                              \
	"an attacker who owns the backup host must not be able to delete or rewrite the backups "  \
	"(S3 Object Lock: objects cannot be deleted before their retain-until date)"

#define DAY 86400
/* a backup that started further ahead of now than clock skew explains is not judged */
#define FUTURE_SKEW 300

/* A backup's start time (0 without a decoded manifest). */
static time_t started_at(const struct backup_entry *e)
{
	return e && e->manifest ? e->manifest->started : 0;
}

/* One row of the backup rules' table (the shape of rules.h's struct chk_rule). */
struct bk_rule {
	const char *id;
	enum chk_severity severity;
	const char *title;
	const char *why;
	void (*run)(const struct chk_opts *o, const struct chk_repo_state *st, struct chk_report *r,
	            const struct bk_rule *ru);
};

static void fmt_age(double secs, char *out, size_t n)
{
	if (secs < 0)
		secs = 0;
	if (secs < 2 * 3600)
		snprintf(out, n, "%.0f minutes", secs / 60);
	else if (secs < 3 * DAY)
		snprintf(out, n, "%.1f hours", secs / 3600);
	else
		snprintf(out, n, "%.0f days", secs / DAY);
}

void chk_repo_load(const struct chk_opts *o, struct chk_repo_state *st)
{
	memset(st, 0, sizeof *st);
	const struct chk_backup_opts *b = &o->backup;
	st->configured = b->repo || b->repo_error;
	if (b->repo_error) {
		pw_strlcpy(st->error, b->repo_error, sizeof st->error);
		return;
	}
	if (!b->repo)
		return;
	if (!o->stanza || !*o->stanza) {
		pw_strlcpy(st->error,
		           "no stanza to look for (none was named and the database name is not a "
		           "valid stanza name)",
		           sizeof st->error);
		return;
	}
	if (catalog_list_trusted(b->repo, o->stanza, b->signers, false, &st->list) < 0) {
		pw_strlcpy(st->error, pw_error_message(), sizeof st->error);
		pw_error_clear();
		return;
	}
	st->listed = true;
	st->newest_any = catalog_pick(&st->list, NULL, 0);
	/* with a trusted-signer, the rules judge genuine backups only: a repository writer
	 * without the signing key must not make check pass with a planted "newer" backup
	 * (backup.signed still reports the newest of all) */
	st->list.trusted_only = b->signers && b->signers->n;
	/* and none dated in the future (retention calls those not genuine): a signed manifest
	 * from 2099 would otherwise be "the newest, started 0 minutes ago" for ever */
	st->newest = catalog_pick(&st->list, NULL, o->now + FUTURE_SKEW + 1);
	if (st->newest) {
		pw_strlcpy(st->backup_role, st->newest->manifest->role, sizeof st->backup_role);
	}
}

void chk_repo_free(struct chk_repo_state *st)
{
	catalog_list_free(&st->list);
}

/* skip unless the repository was listed; true when rules can read it */
static bool need_repo(const struct chk_opts *o, const struct chk_repo_state *st,
                      struct chk_finding *f)
{
	if (st->listed)
		return true;
	if (!st->configured) {
		chk_set(f, CHK_SKIP, f->severity,
		        "no repository configured, so pgward cannot see this database's backups");
		chk_fix(f,
		        "name the repository: --repo ADDR, or repo = /var/backups/pgward (or "
		        "s3://bucket/prefix) in the [%s] section of pgward.conf",
		        o->stanza && *o->stanza ? o->stanza : "STANZA");
	} else if (!o->stanza || !*o->stanza) {
		chk_set(f, CHK_SKIP, f->severity, "the repository was not read: %s", st->error);
		chk_fix(f, "name the stanza whose backups to judge: pgward check STANZA (letters, "
		           "digits, '-', '_' and '.')");
	} else {
		chk_set(f, CHK_SKIP, f->severity, "the repository could not be read: %s",
		        st->error);
		chk_fix(f, "check the repository options and credentials (pgward repo check "
		           "--repo ADDR)");
	}
	return false;
}

static void rule_recent(const struct chk_opts *o, const struct chk_repo_state *st,
                        struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!need_repo(o, st, f))
		return;
	const struct backup_entry *newest = NULL, *verified = NULL;
	for (size_t i = st->list.n; i-- > 0;) {
		const struct backup_entry *e = &st->list.e[i];
		if (!e->complete || (st->list.trusted_only && e->trust.trust != TRUST_SIGNED) ||
		    started_at(e) > o->now + FUTURE_SKEW)
			continue;
		if (!newest)
			newest = e;
		if (!verified &&
		    catalog_verified(
		        e)) /* no depth failed: a later shallow pass does not hide a drill failure */
			verified = e;
	}
	if (!newest) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH, "no complete backup of stanza %s in %s%s",
		        o->stanza, o->backup.repo_desc,
		        st->newest_any ? " signed by a trusted-signer (see backup.signed)" : "");
		chk_fix(f,
		        "pgward backup %s --repo ADDR -r age1... (daily, e.g. from a systemd "
		        "timer), then pgward verify %s",
		        o->stanza, o->stanza);
		return;
	}
	time_t t = started_at(newest);
	char age[32];
	fmt_age(difftime(o->now, t), age, sizeof age);
	if (!t || difftime(o->now, t) > 26 * 3600.0) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH, "the newest complete backup, %s, started %s ago",
		        newest->id, age);
		chk_fix(f,
		        "schedule pgward backup %s daily (see docs/retention.md for a systemd "
		        "timer) and find out why the last runs did not complete",
		        o->stanza);
		return;
	}
	time_t tv = started_at(verified);
	if (verified && tv && difftime(o->now, tv) <= 26 * 3600.0) {
		char vage[32];
		fmt_age(difftime(o->now, tv), vage, sizeof vage);
		chk_set(f, CHK_PASS, CHK_SEV_HIGH,
		        "backup %s started %s ago and its last verification (%s, depth %d) passed",
		        verified->id, vage, verified->last_verify, verified->verify_depth);
		return;
	}
	/* a record not signed by a trusted key is no evidence: anyone who may write the
	 * repository could plant a "pass" */
	bool unsigned_only = newest->last_verify[0] && catalog_verified_any(newest);
	chk_set(f, CHK_WARN, CHK_SEV_MEDIUM, "backup %s started %s ago but has %s", newest->id, age,
	        unsigned_only ? "only verification records not signed by a trusted-signer key "
	                        "(not counted)"
	        : newest->last_verify[0] ? "a verification that did not pass (pgward list shows "
	                                   "each depth's newest result)"
	                                 : "not been verified");
	if (unsigned_only)
		chk_fix(f,
		        "give the verify host a signing key (sign-key; pgward keygen --sign) and "
		        "add its public key to trusted-signer, then pgward verify %s --repo ADDR",
		        o->stanza);
	else
		chk_fix(f, "pgward verify %s --repo ADDR (after every backup; no key needed)",
		        o->stanza);
}

static void rule_encrypted(const struct chk_opts *o, const struct chk_repo_state *st,
                           struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!need_repo(o, st, f))
		return;
	if (!st->newest) {
		chk_set(f, CHK_SKIP, CHK_SEV_CRITICAL, "no complete backup of stanza %s to inspect",
		        o->stanza);
		chk_fix(f, "pgward backup %s --repo ADDR -r age1... -r age1...(escrow)", o->stanza);
		return;
	}
	size_t n = st->newest->manifest->nrecipients;
	const char *fmt = st->newest->manifest->encryption;
	if (!*fmt || n == 0) {
		chk_set(f, CHK_FAIL, CHK_SEV_CRITICAL,
		        "the manifest of backup %s names no encryption recipient", st->newest->id);
		chk_fix(f,
		        "pgward backup %s -r age1... (pgward always encrypts: this manifest was "
		        "not written by it, or was altered; run pgward verify)",
		        o->stanza);
		return;
	}
	if (n == 1) {
		chk_set(
		    f, CHK_WARN, CHK_SEV_LOW,
		    "backup %s is %s-encrypted to 1 recipient: losing that one private key loses "
		    "every backup",
		    st->newest->id, fmt);
		chk_fix(f,
		        "add an escrow recipient kept offline elsewhere: pgward keygen -o "
		        "escrow.key, then recipient = age1...(escrow) as a second recipient in "
		        "the [%s] section",
		        o->stanza);
		return;
	}
	chk_set(f, CHK_PASS, CHK_SEV_CRITICAL, "backup %s is %s-encrypted to %zu recipients",
	        st->newest->id, fmt, n);
}

static bool local_host(const char *h)
{
	return !h || !*h || *h == '/' || strcasecmp(h, "localhost") == 0 ||
	       strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

/* The provider a host name belongs to, by domain; NULL if unknown. */
static const char *provider(const char *host)
{
	static const struct {
		const char *suffix, *name;
	} table[] = {
	    {"amazonaws.com", "AWS"},
	    {"amazonaws.com.cn", "AWS"},
	    {"azure.com", "Microsoft Azure"},
	    {"windows.net", "Microsoft Azure"},
	    {"googleapis.com", "Google Cloud"},
	    {"ondigitalocean.com", "DigitalOcean"},
	    {"digitaloceanspaces.com", "DigitalOcean"},
	    {"aivencloud.com", "Aiven"},
	    {"supabase.co", "Supabase"},
	    {"supabase.com", "Supabase"},
	    {"neon.tech", "Neon"},
	    {"render.com", "Render"},
	    {"cloudflarestorage.com", "Cloudflare"},
	    {"backblazeb2.com", "Backblaze"},
	    {"wasabisys.com", "Wasabi"},
	    {"scw.cloud", "Scaleway"},
	    {"ovh.net", "OVHcloud"},
	    {"cloud.ovh.net", "OVHcloud"},
	    {"linodeobjects.com", "Akamai/Linode"},
	    {"linode.com", "Akamai/Linode"},
	    {"hetzner.com", "Hetzner"},
	    {"your-objectstorage.com", "Hetzner"},
	};
	if (!host)
		return NULL;
	size_t hl = strlen(host);
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		size_t sl = strlen(table[i].suffix);
		if (hl >= sl && strcasecmp(host + hl - sl, table[i].suffix) == 0 &&
		    (hl == sl || host[hl - sl - 1] == '.'))
			return table[i].name;
	}
	return NULL;
}

/* host of "https://[user[:password]@]host[:port]/..." into out */
void chk_url_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	/* userinfo ends at the last '@' of the authority (before the path, query or fragment) */
	size_t auth = strcspn(p, "/?#");
	for (size_t i = auth; i-- > 0;)
		if (p[i] == '@') {
			p += i + 1;
			auth -= i + 1;
			break;
		}
	size_t len = strcspn(p, ":/?#");
	if (len > auth)
		len = auth;
	if (*p == '[') {
		p++;
		len = strcspn(p, "]/");
	}
	snprintf(out, n, "%.*s", (int)len, p);
}

/* The S3 endpoint the repository uses: the one the opened storage describes ("s3://bucket
 * at https://host"), else the same precedence as the storage layer (s3-endpoint,
 * AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL); NULL = AWS by region. */
static const char *s3_endpoint(const struct chk_opts *o)
{
	const char *d = o->backup.repo_desc;
	const char *at = d ? strstr(d, " at ") : NULL;
	if (o->backup.repo && at && (strstr(at, "://")))
		return at + 4;
	const char *ep = o->backup.s3_endpoint;
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL_S3");
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL");
	return ep && *ep ? ep : NULL;
}

static void rule_off_vendor(const struct chk_opts *o, const struct chk_repo_state *st,
                            struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!st->configured) {
		need_repo(o, st, f);
		return;
	}
	const char *addr = o->backup.repo_addr ? o->backup.repo_addr : "";
	const char *dbh = o->db_host ? o->db_host : "";
	const char *dbp = provider(dbh);
	bool s3 = pw_startswith(addr, "s3://");
	char rh[256] = "";
	const char *rp;
	if (s3) {
		const char *ep = s3_endpoint(o);
		if (ep) {
			chk_url_host(ep, rh, sizeof rh);
			rp = provider(rh);
		} else {
			pw_strlcpy(rh, "s3.amazonaws.com", sizeof rh);
			rp = "AWS";
		}
	} else {
		rp = NULL;
	}
	const char *dbshow = *dbh ? dbh : "local socket";
	if (!s3) {
		if (local_host(dbh)) {
			chk_set(
			    f, CHK_FAIL, CHK_SEV_MEDIUM,
			    "the repository is a local directory (%s) on the database's own host "
			    "(%s): one machine, one failure, one attacker away from both",
			    addr, dbshow);
			chk_fix(f,
			        "keep backups with another provider: repo = "
			        "s3://bucket/prefix with s3-endpoint = https://<other provider>");
		} else {
			chk_set(
			    f, CHK_INFO, CHK_SEV_MEDIUM,
			    "the repository is a local directory (%s) on this machine, not on the "
			    "database host %s%s%s%s; whether that is off-vendor depends on where "
			    "this machine runs",
			    addr, dbh, dbp ? " (" : "", dbp ? dbp : "", dbp ? ")" : "");
			chk_fix(f,
			        "for an off-vendor copy, use a bucket with another provider: repo "
			        "= s3://bucket/prefix");
		}
		return;
	}
	if ((local_host(dbh) && local_host(rh)) || strcasecmp(dbh, rh) == 0) {
		chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM,
		        "the repository endpoint %s is the database's own host %s", rh, dbshow);
		chk_fix(f, "use an S3 bucket with another provider (s3-endpoint)");
		return;
	}
	if (dbp && rp && strcmp(dbp, rp) == 0) {
		chk_set(f, CHK_WARN, CHK_SEV_MEDIUM,
		        "database %s and repository %s are both at %s: if that provider stops "
		        "serving you, both are gone",
		        dbh, rh, dbp);
		chk_fix(f, "keep a copy with another provider: a second stanza or repository "
		           "with s3-endpoint = https://<other provider>");
		return;
	}
	chk_set(f, CHK_PASS, CHK_SEV_MEDIUM, "database %s (%s), repository %s (%s)", dbshow,
	        dbp ? dbp : "provider unknown", rh, rp ? rp : "provider unknown");
}

static void rule_retention(const struct chk_opts *o, const struct chk_repo_state *st,
                           struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!need_repo(o, st, f))
		return;
	int d = o->backup.retention_days, m = o->backup.retention_min;
	const char *src = o->backup.retention_source ? o->backup.retention_source : "?";
	struct retention rt = {.days = d,
	                       .min = m,
	                       .daily = o->backup.retention_daily,
	                       .weekly = o->backup.retention_weekly,
	                       .monthly = o->backup.retention_monthly,
	                       .yearly = o->backup.retention_yearly,
	                       .grace_seconds = 86400};
	/* daily copies cover max(retention-days, retention-daily) days without a gap; weekly,
	 * monthly and yearly copies (GFS) are a deliberate longer retention, reported as such */
	int window = d > rt.daily ? d : rt.daily;
	long gfs_days = 0;
	if (rt.weekly > 0)
		gfs_days = 7L * rt.weekly;
	if (rt.monthly > 0 && 30L * rt.monthly > gfs_days)
		gfs_days = 30L * rt.monthly;
	if (rt.yearly > 0 && 365L * rt.yearly > gfs_days)
		gfs_days = 365L * rt.yearly;
	char gfs[160] = "";
	if (rt.daily || rt.weekly || rt.monthly || rt.yearly)
		snprintf(gfs, sizeof gfs,
		         "; retention-daily/weekly/monthly/yearly = %d/%d/%d/%d keep older copies "
		         "on purpose (up to about %ld days)",
		         rt.daily, rt.weekly, rt.monthly, rt.yearly,
		         gfs_days > window ? gfs_days : window);
	if (window < 14) {
		chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM,
		        "retention-days = %d (%s)%s: a problem noticed after %d days has no daily "
		        "backup left",
		        d, src, gfs, window);
		chk_fix(f, "retention-days = 30  # [%s] section of pgward.conf", o->stanza);
		return;
	}
	if (window > 30) {
		chk_set(
		    f, CHK_WARN, CHK_SEV_LOW,
		    "retention-days = %d (%s), retention-daily = %d: daily copies older than the "
		    "14-30 days the checklist asks for are kept (more data to protect, and to "
		    "delete on request)",
		    d, src, rt.daily);
		chk_fix(
		    f,
		    "retention-days = 30  # [%s] section of pgward.conf (and retention-daily "
		    "at most 30; keep longer copies with retention-weekly/monthly/yearly), then "
		    "pgward expire",
		    o->stanza);
		return;
	}
	/* expire must actually run: a backup that expire would remove (its own keep rules,
	 * computed in dry-run form: retention-days, -min, GFS, pins) and that is well past the
	 * window says it does not */
	struct retention_opts ro = {
	    .stanza = o->stanza,
	    .r = rt,
	    .now = o->now,
	    .signers = o->backup.signers,
	    .allow_unsigned = true}; /* retention only: signatures are rule backup.signed */
	struct retention_item *plan = NULL;
	retention_plan(&ro, &st->list, &plan);
	const char *stale = NULL;
	double stale_age = 0;
	size_t nstale = 0;
	for (size_t i = 0; i < st->list.n; i++) {
		if (plan[i].cls != RET_GENUINE || plan[i].keep)
			continue;
		const struct backup_entry *e = plan[i].e;
		time_t t = started_at(e);
		double age = difftime(o->now, t);
		if (t && age > (double)(d + 2) * DAY) {
			nstale++;
			if (!stale || age > stale_age)
				stale = e->id, stale_age = age;
		}
	}
	pw_free(plan);
	if (stale) {
		char age[32];
		fmt_age(stale_age, age, sizeof age);
		chk_set(
		    f, CHK_WARN, CHK_SEV_LOW,
		    "retention-days = %d (%s)%s, but %zu backup%s that expire would remove %s "
		    "still there (the oldest, %s, is %s old): pgward expire does not seem to run",
		    d, src, gfs, nstale, nstale == 1 ? "" : "s", nstale == 1 ? "is" : "are", stale,
		    age);
		chk_fix(f, "run pgward expire %s daily with credentials that may delete",
		        o->stanza);
	} else {
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
		        "retention-days = %d (%s), retention-min = %d%s", d, src, m, gfs);
	}
}

struct vrec {
	char key[400];
	char id[64];
	char name[64];
	time_t when;
};
struct vlist {
	struct vrec *v;
	size_t n;
};

static int vcollect(void *arg, const struct stor_info *i)
{
	struct vlist *l = arg;
	const char *slash = strrchr(i->key, '/');
	if (!slash || strncmp(slash + 1, "verify-", 7) != 0 || strlen(i->key) >= 400)
		return 0;
	time_t when;
	int depth;
	if (!catalog_verify_name_parse(slash + 1, &when, &depth) || (depth && depth < 3))
		return 0; /* a record named for a shallower depth is no drill */
	/* <stanza>/<id>/<record>: the id is what precedes the record's name */
	const char *idp = slash;
	while (idp > i->key && idp[-1] != '/')
		idp--;
	if (idp == i->key || slash - idp >= 64 || strlen(slash + 1) >= 64)
		return 0;
	l->v = pw_realloc(l->v, (l->n + 1) * sizeof *l->v);
	struct vrec *r = &l->v[l->n++];
	pw_strlcpy(r->key, i->key, sizeof r->key);
	snprintf(r->id, sizeof r->id, "%.*s", (int)(slash - idp), idp);
	pw_strlcpy(r->name, slash + 1, sizeof r->name);
	r->when = when;
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	time_t x = ((const struct vrec *)a)->when, y = ((const struct vrec *)b)->when;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void rule_restore_tested(const struct chk_opts *o, const struct chk_repo_state *st,
                                struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!need_repo(o, st, f))
		return;
	char prefix[128];
	if (repo_key(prefix, sizeof prefix, o->stanza, NULL, NULL) < 0)
		pw_error_clear(); /* prefix "" lists nothing of a stanza that cannot exist */
	struct vlist l = {0};
	if (stor_list(o->backup.repo, prefix, vcollect, &l) < 0) {
		chk_set(f, CHK_SKIP, CHK_SEV_MEDIUM,
		        "the verification records could not be listed: %s", pw_error_message());
		pw_error_clear();
		pw_free(l.v);
		return;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, newest_first);
	const struct vrec *found = NULL;
	size_t read = 0, recent = 0, unsigned_pass = 0;
	for (size_t i = 0; i < l.n && read < 50 && !found; i++) {
		if (difftime(o->now, l.v[i].when) > 7.0 * DAY)
			break;
		recent++;
		read++;
		/* evidence only when signed by a trusted-signer key (its signature names the
		 * record, depth 3 and "pass"): anyone who may write could plant a record */
		struct verify_summary v = {.when = l.v[i].when};
		time_t when;
		int depth;
		pw_strlcpy(v.record, l.v[i].name, sizeof v.record);
		if (catalog_verify_name_parse(v.record, &when, &depth))
			v.depth = depth;
		catalog_read_record(o->backup.repo, o->stanza, l.v[i].id, o->backup.signers, &v);
		if (v.depth >= 3 && pw_streq(v.result, "pass")) {
			if (v.sig.trust == TRUST_SIGNED)
				found = &l.v[i];
			else
				unsigned_pass++;
		}
	}
	if (found) {
		char age[32];
		fmt_age(difftime(o->now, found->when), age, sizeof age);
		chk_set(f, CHK_PASS, CHK_SEV_MEDIUM, "restore drill passed %s ago (%s)", age,
		        found->key);
	} else {
		chk_set(
		    f, CHK_FAIL, CHK_SEV_MEDIUM,
		    "no passing restore drill of stanza %s in the last 7 days (%zu verification "
		    "record%s in total, %zu in the last 7 days, none at depth 3 with result pass "
		    "signed by a trusted-signer key%s%zu%s)",
		    o->stanza, l.n, l.n == 1 ? "" : "s", recent, unsigned_pass ? "; " : "",
		    unsigned_pass, unsigned_pass ? " unsigned or untrusted, not counted" : "");
		chk_fix(f,
		        "weekly, where the key lives: pgward verify %s -i backup.key --restore "
		        "--scratch-url postgresql://scratch-host/postgres",
		        o->stanza);
	}
	pw_free(l.v);
}

static void rule_immutable(const struct chk_opts *o, const struct chk_repo_state *st,
                           struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!need_repo(o, st, f))
		return;
	unsigned feat = stor_features(o->backup.repo);
	if (!(feat & STOR_F_OBJECT_LOCK)) {
		chk_set(f, CHK_WARN, CHK_SEV_MEDIUM,
		        "%s cannot lock objects: whoever controls it (or the backup host's "
		        "credentials) can delete or overwrite the backups",
		        o->backup.repo_desc);
		chk_fix(f, "use an S3 bucket created with Object Lock: repo = s3://bucket/prefix, "
		           "lock-days = 14 (at most retention-days)");
		return;
	}
	char until0b[PW_TIME_MAX];
	const char *until0 =
	    st->newest && st->newest->manifest->lock_until
	        ? pw_time_format(st->newest->manifest->lock_until, PW_TIME_ISO, until0b)
	        : NULL;
	if ((feat & STOR_F_OBJECT_LOCK_ASSUMED) && !until0) {
		/* the probe got HTTP 403: whether the bucket can lock is unknown */
		chk_set(
		    f, CHK_SKIP, CHK_SEV_MEDIUM,
		    "%s: the bucket's object lock configuration could not be read (HTTP 403), so "
		    "whether it can lock objects is unknown%s%s%s",
		    o->backup.repo_desc, st->newest ? "; backup " : "",
		    st->newest ? st->newest->id : "",
		    st->newest ? " was written without a lock" : "");
		chk_fix(
		    f, "allow s3:GetBucketObjectLockConfiguration on the bucket to the credentials "
		       "pgward uses (and use a bucket created with Object Lock, lock-days = 14)");
		return;
	}
	if (!st->newest) {
		chk_set(f, CHK_SKIP, CHK_SEV_MEDIUM,
		        "the bucket supports object lock; no complete backup to inspect");
		chk_fix(f, "lock-days = 14  # [%s] section, then pgward backup", o->stanza);
		return;
	}
	char untilb[PW_TIME_MAX];
	const struct manifest *nm = st->newest->manifest;
	const char *until =
	    nm->lock_until ? pw_time_format(nm->lock_until, PW_TIME_ISO, untilb) : NULL;
	if (!until) {
		chk_set(f, CHK_FAIL, CHK_SEV_MEDIUM,
		        "the bucket supports object lock but backup %s was written without a lock "
		        "(lock-days = %lld)",
		        st->newest->id, o->backup.lock_days);
		chk_fix(f, "lock-days = 14  # [%s] section: at most retention-days (%d)", o->stanza,
		        o->backup.retention_days);
		return;
	}
	double days = difftime(nm->lock_until, nm->started) / DAY;
	const char *mode = manifest_lock_name(nm->lock_mode);
	if (days > o->backup.retention_days + 0.5) {
		chk_set(f, CHK_WARN, CHK_SEV_LOW,
		        "backup %s is locked (%s) until %s, %.0f days, longer than retention-days "
		        "%d: expire cannot remove it before",
		        st->newest->id, mode ? mode : "?", until, days, o->backup.retention_days);
		chk_fix(f, "lock-days = %d  # at most retention-days", o->backup.retention_days);
		return;
	}
	chk_set(f, CHK_PASS, CHK_SEV_MEDIUM,
	        "backup %s is locked (%s mode) until %s (%.0f days, within retention-days %d)",
	        st->newest->id, mode ? mode : "?", until, days, o->backup.retention_days);
}

#define WHY_SIGNED                                                                                 \
	"age recipients are public keys: whoever can write to the repository can forge a backup "  \
	"that decrypts and restores; a signature by the backup host's key, checked against "       \
	"trusted-signer, tells genuine backups from forged ones (docs/signing.md)"

static void rule_signed(const struct chk_opts *o, const struct chk_repo_state *st,
                        struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!need_repo(o, st, f))
		return;
	if (!o->backup.signers || !o->backup.signers->n) {
		chk_set(
		    f, CHK_FAIL, CHK_SEV_HIGH,
		    "no trusted-signer is configured: nothing tells a genuine backup of stanza %s "
		    "from one forged with the public age key",
		    o->stanza);
		chk_fix(f,
		        "pgward keygen --sign -o /etc/pgward/sign.key (on the backup host: "
		        "sign-key = /etc/pgward/sign.key); trusted-signer = RW... (its public key) "
		        "on restore hosts and here");
		return;
	}
	if (!st->newest_any) {
		chk_set(f, CHK_SKIP, CHK_SEV_HIGH, "no complete backup of stanza %s to inspect",
		        o->stanza);
		chk_fix(f, "pgward backup %s with sign-key set", o->stanza);
		return;
	}
	char label[64];
	repo_trust_label(&st->newest_any->trust, label, sizeof label);
	if (st->newest_any->trust.trust != TRUST_SIGNED) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "the newest backup %s is not signed by a trusted-signer (%s)",
		        st->newest_any->id, label);
		chk_fix(f,
		        "set sign-key on the backup host (pgward keygen --sign) and add its public "
		        "key to trusted-signer; then pgward verify");
		return;
	}
	chk_set(f, CHK_PASS, CHK_SEV_HIGH, "the newest backup %s is signed by trusted key %s",
	        st->newest_any->id, label);
}

#define WHY_PITR                                                                                   \
	"without continuous WAL a restore returns the database to the time of a backup and what "  \
	"came after is lost; WAL that stopped arriving, or a gap after the last base backup, "     \
	"silently shortens what can be recovered (PostgreSQL documentation, \"Continuous "         \
	"Archiving and Point-in-Time Recovery\")"

/* the server's current WAL position (0 when it cannot be read) */
static uint64_t server_lsn(const struct chk_opts *o)
{
	struct pg_result *r = NULL;
	uint64_t v = 0;
	if (o->db &&
	    pg_query(o->db,
	             "select case when pg_catalog.pg_is_in_recovery() then "
	             "pg_catalog.pg_last_wal_receive_lsn() else "
	             "pg_catalog.pg_current_wal_lsn() end::text",
	             0, NULL, &r) == 0 &&
	    pg_nrows(r) == 1 && pg_value(r, 0, 0) && repl_lsn_parse(pg_value(r, 0, 0), &v) < 0)
		v = 0;
	pw_error_clear(); /* shown as "not read" in the evidence */
	pg_result_free(r);
	return v;
}

static void rule_pitr(const struct chk_opts *o, const struct chk_repo_state *st,
                      struct chk_report *r, const struct bk_rule *ru)
{
	struct chk_finding *f = chk_add(r, ru->id, ru->title, ru->severity, ru->why);
	if (!need_repo(o, st, f))
		return;
	struct wal_listing l;
	struct wal_coverage *cov = NULL;
	size_t nc = 0;
	struct wal_base *bases = NULL;
	if (wal_listing_load(o->backup.repo, o->stanza, &l) < 0) {
		chk_set(f, CHK_SKIP, f->severity, "the WAL could not be listed: %s",
		        pw_error_message());
		pw_error_clear();
		chk_fix(f, "check the repository options and credentials (pgward repo check)");
		goto out;
	}
	if (!l.n) {
		chk_set(f, CHK_WARN, CHK_SEV_MEDIUM,
		        "no continuous WAL is stored for stanza %s: a restore returns the database "
		        "to the time of a backup, and what came after is lost",
		        o->stanza);
		chk_fix(f,
		        "run pgward wal-stream %s as a service and take physical backups (pgward "
		        "backup %s --type=physical); see docs/pitr.md",
		        o->stanza, o->stanza);
		goto out;
	}
	if (!o->backup.signers || !o->backup.signers->n) {
		chk_set(f, CHK_SKIP, f->severity,
		        "%zu WAL objects are stored, but without trusted-signer their signatures "
		        "(and times) cannot be checked",
		        l.n);
		chk_fix(f,
		        "trusted-signer = RW... (the public key of the host that runs wal-stream)");
		goto out;
	}
	uint32_t segsize = wal_listing_segsize(o->backup.repo, &l, o->backup.signers, NULL);
	if (!segsize) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "%zu WAL objects are stored, and none that was tried is signed by a "
		        "trusted-signer: recovery would refuse them",
		        l.n);
		chk_fix(f, "pgward verify %s names the objects; check trusted-signer", o->stanza);
		goto out;
	}
	if (wal_listing_coverage(&l, segsize, &cov, &nc) < 0 || !nc) {
		pw_error_clear();
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH, "only history files are stored: no WAL segment");
		chk_fix(f, "pgward wal-stream %s", o->stanza);
		goto out;
	}
	time_t end = walrepo_end_time(o->backup.repo, &l, segsize, cov, nc, o->backup.signers);
	const struct wal_coverage *last = &cov[0];
	for (size_t i = 1; i < nc; i++)
		if (cov[i].tli > last->tli)
			last = &cov[i];
	bases = pw_calloc(st->list.n ? st->list.n : 1, sizeof *bases);
	size_t nb = 0;
	const struct backup_entry **be = pw_calloc(st->list.n ? st->list.n : 1, sizeof *be);
	for (size_t i = 0; i < st->list.n; i++) {
		const struct backup_entry *e = &st->list.e[i];
		if (!e->complete || !e->manifest || e->manifest->kind != MANIFEST_PHYSICAL ||
		    e->trust.trust != TRUST_SIGNED)
			continue;
		const struct manifest *m = e->manifest;
		be[nb] = e;
		bases[nb++] = (struct wal_base){m->physical.timeline, m->physical.start_lsn,
		                                m->physical.stop_lsn, m->finished};
	}
	struct wal_window w;
	wal_window(cov, nc, bases, nb, end, &w);
	char at[24], srv[24] = "not read", age[32] = "an unknown time (not signed)";
	manifest_lsn_format(last->to, at);
	uint64_t cur = server_lsn(o);
	if (cur)
		manifest_lsn_format(cur, srv);
	if (end)
		fmt_age(difftime(o->now, end), age, sizeof age);
	long long flush = o->backup.wal_flush_interval > 0 ? o->backup.wal_flush_interval : 10;
	bool behind = cur > last->to;
	bool old = end ? difftime(o->now, end) > (double)(2 * flush + 60) : true;
	if (behind && old) {
		chk_set(
		    f, CHK_FAIL, CHK_SEV_HIGH,
		    "the stored WAL ends at %s on timeline %u (stored %s ago), the server is at "
		    "%s: WAL is not arriving (wal-flush-interval = %lld s)",
		    at, last->tli, age, srv, flush);
		chk_fix(
		    f,
		    "start pgward wal-stream %s (contrib/ has a systemd unit) and read its log; "
		    "pgward wal-list %s shows what is stored",
		    o->stanza, o->stanza);
	} else if (!w.any) {
		chk_set(f, CHK_FAIL, CHK_SEV_HIGH,
		        "WAL is stored up to %s, but no physical backup signed by a trusted-signer "
		        "has continuous WAL to it: there is no point-in-time recovery",
		        at);
		chk_fix(f,
		        "pgward backup %s --type=physical (wal-stream running); pgward verify %s "
		        "names a gap",
		        o->stanza, o->stanza);
	} else {
		char t1[PW_TIME_MAX], t2[PW_TIME_MAX] = "the end of the stored WAL", len[32];
		pw_time_format(w.from, PW_TIME_ISO, t1);
		if (w.to)
			pw_time_format(w.to, PW_TIME_ISO, t2);
		fmt_age(difftime(w.to ? w.to : o->now, w.from), len, sizeof len);
		long long want = o->backup.recovery_window_days;
		bool short_window = want > 0 && difftime(o->now, w.from) < (double)want * DAY;
		chk_set(
		    f, short_window ? CHK_WARN : CHK_PASS,
		    short_window ? CHK_SEV_MEDIUM : CHK_SEV_HIGH,
		    "continuous WAL to %s (stored %s ago; the server is at %s); you can restore "
		    "to any moment from %s to %s (%s)%s",
		    at, age, srv, t1, t2, len,
		    short_window ? ", shorter than recovery-window" : "");
		if (short_window)
			chk_fix(f,
			        "the window grows as WAL is kept: recovery-window = %lld keeps the "
			        "physical backup it needs once one is that old",
			        want);
	}
	pw_free(be);
out:
	pw_free(bases);
	pw_free(cov);
	wal_listing_free(&l);
}

static const struct bk_rule bk_rules[] = {
    {"backup.recent", CHK_SEV_HIGH, "a verified, complete backup within the last 26 hours",
     WHY_RECENT, rule_recent},
    {"backup.encrypted", CHK_SEV_CRITICAL,
     "backups encrypted to at least one recipient, two or more recommended", WHY_ENCRYPTED,
     rule_encrypted},
    {"backup.off-vendor", CHK_SEV_MEDIUM,
     "the repository is not on the database's own host or provider", WHY_OFFVENDOR,
     rule_off_vendor},
    {"backup.retention", CHK_SEV_MEDIUM, "retention keeps 14 to 30 days", WHY_RETENTION,
     rule_retention},
    {"backup.restore-tested", CHK_SEV_MEDIUM,
     "a successful restore drill (verify --restore) within the last 7 days", WHY_RESTORE,
     rule_restore_tested},
    {"backup.immutable", CHK_SEV_MEDIUM, "object lock on, lock period within retention",
     WHY_IMMUTABLE, rule_immutable},
    {"backup.signed", CHK_SEV_HIGH, "backups signed by the backup host, trusted-signer configured",
     WHY_SIGNED, rule_signed},
    {"backup.pitr", CHK_SEV_HIGH,
     "continuous WAL arriving, with a physical backup it continues (the recovery window)", WHY_PITR,
     rule_pitr},
};

size_t chk_backup_rule_descs(struct chk_rule_desc *out, size_t cap)
{
	size_t n = sizeof bk_rules / sizeof bk_rules[0];
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = (struct chk_rule_desc){bk_rules[i].id, bk_rules[i].severity,
		                                bk_rules[i].title, bk_rules[i].why};
	return n;
}

void chk_backup_rules(const struct chk_opts *o, const struct chk_repo_state *st,
                      struct chk_report *r)
{
	for (size_t i = 0; i < sizeof bk_rules / sizeof bk_rules[0]; i++)
		bk_rules[i].run(o, st, r, &bk_rules[i]);
}
