/*
 * lease.c - the repository lease of a stanza's verifications and expiries (see lease.h).
 *
 * Everything listed is hostile: a name is parsed to its fixed shape or ignored, a claim's
 * body is read up to LEASE_BODY_MAX bytes and only to name its holder (and, for a claim of
 * this host, to see whether its process still runs); nothing listed is ever built into a
 * key but the two names of our own claim and the names the listing gave us back (gc, and
 * "<name>.minisig" of a listed claim or release to check its signature).
 */
#include "repo/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "crypto/minisign.h"
#include "crypto/prim.h"
#include "repo/trust.h"

#define LEASE_DIR "lock/maintenance/"
#define LEASE_ID "lock/maintenance" /* the "backup:" of the signatures' trusted comment */
#define LEASE_BODY_MAX 4096
#define NONCE_HEX 16
#define GC_AFTER 86400

struct claim {
	char name[96]; /* the part after LEASE_DIR */
	time_t until, mtime;
	char nonce[NONCE_HEX + 1];
	bool release;
	bool sig; /* <claim or release>.minisig */
};

struct listing {
	size_t plen;
	struct claim *c;
	size_t n;
};

/* "claim-20261207T050000Z-0123456789abcdef.json" (or release-): until and nonce */
static bool parse_name(const char *name, struct claim *c)
{
	const char *p;
	if (pw_startswith(name, "claim-"))
		p = name + 6, c->release = false;
	else if (pw_startswith(name, "release-"))
		p = name + 8, c->release = true;
	else
		return false;
	if (strlen(p) != 16 + 1 + NONCE_HEX + 5 || p[16] != '-' ||
	    strcmp(p + 17 + NONCE_HEX, ".json") != 0)
		return false;
	char t[17];
	memcpy(t, p, 16);
	t[16] = 0;
	if (pw_time_parse(t, PW_TIME_COMPACT, false, &c->until, NULL) < 0) {
		pw_error_clear();
		return false;
	}
	for (size_t i = 0; i < NONCE_HEX; i++) {
		char ch = p[17 + i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		c->nonce[i] = ch;
	}
	c->nonce[NONCE_HEX] = 0;
	return true;
}

static int list_cb(void *arg, const struct stor_info *i)
{
	struct listing *l = arg;
	if (strlen(i->key) <= l->plen || l->n >= REPO_LEASE_LIST_MAX)
		return 0;
	const char *name = i->key + l->plen;
	struct claim c = {0};
	if (strlen(name) >= sizeof c.name || strchr(name, '/'))
		return 0;
	char base[sizeof c.name];
	pw_strlcpy(base, name, sizeof base);
	size_t bl = strlen(base), sl = strlen(SIGNATURE_SUFFIX);
	if (bl > sl && strcmp(base + bl - sl, SIGNATURE_SUFFIX) == 0)
		base[bl - sl] = 0, c.sig = true;
	if (!parse_name(base, &c))
		return 0;
	pw_strlcpy(c.name, name, sizeof c.name);
	c.mtime = i->mtime;
	l->c = pw_realloc(l->c, (l->n + 1) * sizeof *l->c);
	l->c[l->n++] = c;
	return 0;
}

static int list_claims(struct stor *s, const char *stanza, struct listing *l)
{
	char prefix[REPO_LEASE_KEY_MAX];
	snprintf(prefix, sizeof prefix, "%s/" LEASE_DIR, stanza);
	l->plen = strlen(prefix);
	return stor_list(s, prefix, list_cb, l);
}

/* The release of nonce in the listing, or NULL. */
static const struct claim *release_of(const struct listing *l, const char *nonce)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->c[i].release && !l->c[i].sig && strcmp(l->c[i].nonce, nonce) == 0)
			return &l->c[i];
	return NULL;
}

/* When the claim stops counting (by the storage's clock). */
static time_t live_until(const struct claim *c)
{
	time_t cap = c->mtime ? c->mtime + REPO_LEASE_SECONDS : c->until;
	return c->until < cap ? c->until : cap;
}

static int body_sink(void *arg, const uint8_t *p, size_t n)
{
	return pw_buf_append(arg, p, n);
}

/* Read the object c (capped) into b; with keys to trust, *trusted: its .minisig is a valid
 * signature of those bytes by one of them naming this file and stanza. Errors (a missing
 * object or signature included) leave *trusted false and are cleared. */
static void load(struct stor *s, const char *stanza, const struct claim *c,
                 const struct repo_signers *trusted, struct pw_buf *b, bool *is_trusted)
{
	*is_trusted = false;
	char key[REPO_LEASE_KEY_MAX];
	snprintf(key, sizeof key, "%s/" LEASE_DIR "%s", stanza, c->name);
	if (stor_get(s, key, body_sink, b) < 0) {
		pw_error_clear();
		b->len = 0;
		return;
	}
	if (!trusted || !trusted->n)
		return;
	snprintf(key, sizeof key, "%s/" LEASE_DIR "%s" SIGNATURE_SUFFIX, stanza, c->name);
	struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
	if (stor_get(s, key, body_sink, &sig) < 0) {
		pw_error_clear(); /* unsigned (or unreadable): does not count */
	} else {
		struct repo_verdict v;
		repo_object_check(b->data, b->len, (const char *)sig.data, sig.len, c->name, stanza,
		                  LEASE_ID, NULL, trusted, &v);
		*is_trusted = v.trust == TRUST_SIGNED;
	}
	pw_buf_free(&sig, 0);
}

void repo_lease_machine(char *out, size_t size)
{
	char boot[64] = "", ns[64] = "";
	out[0] = 0;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, boot, sizeof boot - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 32)
		return;
	boot[strcspn(boot, "\n")] = 0;
	ssize_t m = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
	if (m <= 0)
		return;
	ns[m] = 0;
	snprintf(out, size, "%s/%s", boot, ns);
}

/* Who holds a claim (from its body b, sanitized); *gone: it is this machine's (the same
 * kernel boot and process namespace, not only the same host name) and its process does not
 * run any more. */
static void holder(const struct pw_buf *b, char *who, size_t size, char *since, bool *gone)
{
	*gone = false;
	pw_strlcpy(who, "another host", size);
	since[0] = 0;
	json_t *o = json_loadb((const char *)b->data, b->len, JSON_REJECT_DUPLICATES, NULL);
	json_t *h = json_object_get(o, "host"), *pid = json_object_get(o, "pid"),
	       *st = json_object_get(o, "started"), *mach = json_object_get(o, "machine");
	char me[REPO_LEASE_MACHINE_MAX];
	repo_lease_machine(me, sizeof me);
	if (json_is_string(h)) {
		char shown[96];
		snprintf(who, size, "host \"%s\"",
		         pw_str_printable(shown, sizeof shown, json_string_value(h)));
		/* a process id is this machine's only on the same boot and in the same process
		 * namespace: two machines may share a host name (cloned VMs, "localhost") */
		if (me[0] && json_is_string(mach) && strcmp(json_string_value(mach), me) == 0 &&
		    json_is_integer(pid) && json_integer_value(pid) > 1 &&
		    json_integer_value(pid) < (1 << 30) &&
		    kill((pid_t)json_integer_value(pid), 0) < 0 && errno == ESRCH)
			*gone = true;
	}
	if (json_is_string(st))
		pw_str_printable(since, 32, json_string_value(st));
	json_decref(o);
}

/* Write key with text, after its signature when sk is given (the signature first: an
 * object is never there without it). */
static int put_signed(struct stor *s, const struct minisign_seckey *sk, const char *stanza,
                      const char *key, const char *text, time_t when)
{
	struct stor_write_opts wo = {.content_type = "application/json"};
	if (sk) {
		const char *file = strrchr(key, '/') + 1;
		char skey[REPO_LEASE_KEY_MAX + 16];
		snprintf(skey, sizeof skey, "%s" SIGNATURE_SUFFIX, key);
		struct pw_buf sig = PW_BUF_INIT(MINISIGN_FILE_MAX);
		int rc = repo_sign_object(sk, file, stanza, LEASE_ID, NULL, when,
		                          (const uint8_t *)text, strlen(text), &sig);
		if (rc == 0)
			rc = stor_put_buf(s, skey, sig.data, sig.len, &wo, NULL);
		pw_buf_free(&sig, 0);
		if (rc < 0)
			return rc;
	}
	return stor_put_buf(s, key, text, strlen(text), &wo, NULL);
}

/* The keys claims must be signed by: k->trusted and k->sign_key's public half. */
static int trust_set(const struct repo_lease_keys *k, struct repo_signers *out)
{
	for (size_t i = 0; k->trusted && i < k->trusted->n; i++) {
		char b64[MINISIGN_PUB_B64_LEN + 1];
		minisign_pubkey_b64(&k->trusted->k[i], b64);
		int rc = repo_signers_add(out, b64);
		if (rc < 0)
			return rc;
	}
	if (k->sign_key) {
		struct minisign_pubkey pk;
		char b64[MINISIGN_PUB_B64_LEN + 1];
		minisign_seckey_public(k->sign_key, &pk);
		minisign_pubkey_b64(&pk, b64);
		return repo_signers_add(out, b64);
	}
	return 0;
}

int repo_lease_take(struct stor *s, const char *stanza, const char *what, time_t now,
                    const struct repo_lease_keys *k, struct repo_lease *l, bool *elsewhere)
{
	static const struct repo_lease_keys none = {0};
	if (!k)
		k = &none;
	memset(l, 0, sizeof *l);
	l->sign_key = k->sign_key;
	pw_strlcpy(l->stanza, stanza, sizeof l->stanza);
	*elsewhere = false;
	uint8_t raw[NONCE_HEX / 2];
	char nonce[NONCE_HEX + 1], until[PW_TIME_MAX], started[PW_TIME_MAX], until_iso[PW_TIME_MAX];
	int rc = pw_random(raw, sizeof raw);
	if (rc < 0)
		return rc;
	pw_hex_encode(raw, sizeof raw, nonce);
	/* the storage's clock decides what is live: take its view of now */
	time_t snow = now + stor_clock_skew(s);
	pw_time_format(snow + REPO_LEASE_SECONDS, PW_TIME_COMPACT, until);
	pw_time_format(snow + REPO_LEASE_SECONDS, PW_TIME_ISO, until_iso);
	pw_time_format(now, PW_TIME_ISO, started);
	snprintf(l->claim, sizeof l->claim, "%s/" LEASE_DIR "claim-%s-%s.json", stanza, until,
	         nonce);
	snprintf(l->release, sizeof l->release, "%s/" LEASE_DIR "release-%s-%s.json", stanza, until,
	         nonce);
	char host[256] = "", machine[REPO_LEASE_MACHINE_MAX];
	gethostname(host, sizeof host - 1);
	repo_lease_machine(machine, sizeof machine);
	json_t *o =
	    json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "format", "pgward-lease", "version",
	              1, "stanza", stanza, "job", what, "host", host, "machine", machine, "pid",
	              (json_int_t)getpid(), "started", started, "until", until_iso);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return pw_error(PW_E_NOMEM, "out of memory");
	rc = put_signed(s, k->sign_key, stanza, l->claim, text, now);
	pw_free(text);
	if (rc < 0)
		return pw_error_context("writing the lease claim of stanza \"%s\"", stanza);
	struct repo_signers trusted = {0};
	struct listing ls = {0};
	rc = trust_set(k, &trusted);
	if (rc == 0)
		rc = list_claims(s, stanza, &ls);
	if (rc < 0) {
		pw_error_context("listing the lease claims of stanza \"%s\"", stanza);
		l->held = true; /* released below: our claim must not block the others */
		struct pw_error_saved e;
		pw_error_save(&e);
		repo_lease_release(s, l);
		pw_error_restore(&e);
		pw_free(ls.c);
		repo_signers_free(&trusted);
		return rc;
	}
	bool mine_listed = false;
	size_t ignored = 0;
	for (size_t i = 0; i < ls.n && rc == 0; i++) {
		const struct claim *c = &ls.c[i];
		if (c->release || c->sig)
			continue;
		if (strcmp(c->nonce, nonce) == 0) {
			mine_listed = true;
			continue;
		}
		if (live_until(c) <= snow)
			continue;
		const struct claim *r = release_of(&ls, c->nonce);
		bool ok;
		if (r && !trusted.n)
			continue;
		if (r) { /* a release counts when signed like a claim (else anyone ends a lease) */
			struct pw_buf rb = PW_BUF_INIT(LEASE_BODY_MAX);
			load(s, stanza, r, &trusted, &rb, &ok);
			pw_buf_free(&rb, 0);
			if (ok)
				continue;
		}
		struct pw_buf b = PW_BUF_INIT(LEASE_BODY_MAX);
		load(s, stanza, c, &trusted, &b, &ok);
		if (trusted.n && !ok) {
			pw_buf_free(&b, 0);
			ignored++;
			continue;
		}
		char who[128], since[32];
		bool gone;
		holder(&b, who, sizeof who, since, &gone);
		pw_buf_free(&b, 0);
		if (gone)
			continue; /* this host's, and its process is gone (it was killed) */
		*elsewhere = true;
		pw_error(PW_E_STORAGE,
		         "another verify or expire of stanza \"%s\" is running on %s%s%s", stanza,
		         who, since[0] ? " since " : "", since);
		rc = pw_error_hint("It holds the stanza's lease in the repository until it ends "
		                   "(at most %d hours); this run is skipped.",
		                   REPO_LEASE_SECONDS / 3600);
	}
	if (rc == 0 && !mine_listed) {
		/* the storage does not list what was just written: no lease can be trusted */
		pw_error(PW_E_STORAGE,
		         "the repository does not list the lease claim just written for stanza "
		         "\"%s\"",
		         stanza);
		rc = pw_error_hint("The storage's listing is not consistent with its writes (a "
		                   "multi-site replica?): point the repository at one site.");
	}
	if (ignored)
		pw_warn("%zu lease claim%s of stanza \"%s\" ignored: not signed by a trusted key",
		        ignored, ignored == 1 ? "" : "s", stanza);
	pw_free(ls.c);
	repo_signers_free(&trusted);
	l->held = true;
	if (rc < 0) {
		struct pw_error_saved e;
		pw_error_save(&e);
		repo_lease_release(s, l);
		pw_error_restore(&e);
	}
	return rc;
}

void repo_lease_release(struct stor *s, struct repo_lease *l)
{
	if (!l->held)
		return;
	l->held = false;
	if (put_signed(s, l->sign_key, l->stanza, l->release, "{}", pw_now()) < 0)
		pw_best_effort_warn("releasing the lease (it ends by time)");
}

void repo_lease_gc(struct stor *s, const char *stanza, time_t now)
{
	struct listing ls = {0};
	if (list_claims(s, stanza, &ls) < 0) {
		pw_best_effort_warn("listing the lease claims");
		pw_free(ls.c);
		return;
	}
	time_t snow = now + stor_clock_skew(s);
	/* claims first: a release removed before its claim would make the claim live again;
	 * signatures with the releases */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ls.n; i++) {
			const struct claim *c = &ls.c[i];
			if ((c->release || c->sig) != (pass == 1) ||
			    live_until(c) + GC_AFTER > snow)
				continue;
			char key[REPO_LEASE_KEY_MAX];
			snprintf(key, sizeof key, "%s/" LEASE_DIR "%s", stanza, c->name);
			if (stor_remove(s, key, NULL) < 0)
				pw_best_effort_warn("removing the old lease object \"%s\"", key);
		}
	pw_free(ls.c);
}
