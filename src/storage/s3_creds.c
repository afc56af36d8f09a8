/* s3_creds.c - the S3 credential provider chain. */
#include "storage/s3_creds.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/safefile.h"
#include "common/str.h"
#include "common/time.h"

#define REFRESH_MARGIN 300 /* refresh temporary credentials this many seconds early */
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_HOST "http://169.254.169.254"

enum source { SRC_STATIC, SRC_CONTAINER, SRC_IMDS };

struct s3_creds {
	pthread_mutex_t lock;
	enum source src;
	const char *src_name;
	char *access_key;
	struct pw_secret *secret;
	struct pw_secret *token;
	time_t expires; /* 0 = never */
	char *container_uri;
};

static void clear(struct s3_creds *c)
{
	pw_free(c->access_key);
	pw_secret_free(c->secret);
	pw_secret_free(c->token);
	c->access_key = NULL;
	c->secret = c->token = NULL;
}

static void set_static(struct s3_creds *c, const char *ak, const char *sk, const char *tok,
                       const char *name)
{
	clear(c);
	c->access_key = pw_strdup(ak);
	c->secret = pw_secret_from_str(sk);
	c->token = tok && *tok ? pw_secret_from_str(tok) : NULL;
	c->src = SRC_STATIC;
	c->src_name = name;
	c->expires = 0;
}

/* ---- shared credentials file ---- */

struct ini_find {
	const char *profile;
	char *ak, *sk, *tok;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini_find *f = user;
	if (strcmp(section, f->profile) != 0)
		return 1;
	char **slot = strcmp(name, "aws_access_key_id") == 0       ? &f->ak
	              : strcmp(name, "aws_secret_access_key") == 0 ? &f->sk
	              : strcmp(name, "aws_session_token") == 0     ? &f->tok
	                                                           : NULL;
	if (slot) {
		pw_free(*slot);
		*slot = pw_strdup(value);
	}
	return 1;
}

static int from_file(struct s3_creds *c, const char *profile_opt, bool *found)
{
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char def[1024];
	if (!path || !*path) {
		const char *home = getenv("HOME");
		if (!home)
			return 0;
		snprintf(def, sizeof def, "%s/.aws/credentials", home);
		path = def;
	}
	const char *profile = profile_opt ? profile_opt : getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	/* a regular file of root or ours, private, never a FIFO that would block */
	int cfd;
	int rc = pw_trusted_open(path, "AWS shared credentials file",
	                         PW_TRUST_SECRET | PW_TRUST_MISSING, &cfd);
	if (rc < 0)
		return rc;
	FILE *fp = cfd >= 0 ? fdopen(cfd, "r") : NULL;
	if (cfd >= 0 && !fp)
		close(cfd);
	if (!fp) {
		if (profile_opt || getenv("AWS_PROFILE")) {
			pw_error(PW_E_CONFIG,
			         "AWS profile \"%s\" requested but \"%s\" cannot be read", profile,
			         path);
			return pw_error_hint("Create the shared credentials file, or set "
			                     "AWS_SHARED_CREDENTIALS_FILE.");
		}
		return 0;
	}
	struct ini_find f = {.profile = profile};
	if (rc == 0 && ini_parse_file(fp, ini_cb, &f) != 0) {
		pw_error(PW_E_CONFIG, "cannot parse AWS shared credentials file \"%s\"", path);
		rc = pw_error_hint("Check its INI syntax.");
	}
	fclose(fp);
	if (rc == 0 && f.ak && f.sk) {
		set_static(c, f.ak, f.sk, f.tok, "shared credentials file");
		*found = true;
	} else if (rc == 0 && (profile_opt || getenv("AWS_PROFILE"))) {
		pw_error(PW_E_CONFIG, "profile \"%s\" in \"%s\" has no access key and secret",
		         profile, path);
		rc = pw_error_hint("Add aws_access_key_id and aws_secret_access_key under "
		                   "[%s].",
		                   profile);
	}
	pw_free(f.ak);
	if (f.sk)
		memset(f.sk, 0, strlen(f.sk));
	pw_free(f.sk);
	if (f.tok)
		memset(f.tok, 0, strlen(f.tok));
	pw_free(f.tok);
	return rc;
}

/* ---- HTTP helpers for the metadata endpoints ---- */

static size_t cap_body(char *p, size_t size, size_t n, void *arg)
{
	struct pw_buf *b = arg;
	return pw_buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

static int http(const char *method, const char *url, struct curl_slist *hdrs, struct pw_buf *out,
                long *status)
{
	CURL *h = curl_easy_init();
	if (!h)
		return pw_error(PW_E_NOMEM, "curl_easy_init failed");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cap_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 2L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* link-local and loopback endpoints: never through a proxy (it would see the token) */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return pw_error(PW_E_STORAGE, "credentials endpoint %s: %s", url,
		                curl_easy_strerror(cc));
	return 0;
}

static int parse_json_creds(struct s3_creds *c, const struct pw_buf *b, const char *what)
{
	json_error_t je;
	json_t *j = json_loadb((const char *)b->data, b->len, 0, &je);
	const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
	const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
	const char *tok = json_string_value(json_object_get(j, "Token"));
	const char *exp = json_string_value(json_object_get(j, "Expiration"));
	int rc = 0;
	if (!ak || !sk) {
		pw_error(PW_E_STORAGE, "%s returned no credentials", what);
		rc = pw_error_hint("Check the role attached to the task or instance.");
	} else {
		enum source keep = c->src;
		const char *name = c->src_name;
		set_static(c, ak, sk, tok, name);
		c->src = keep;
		c->expires = 0;
		time_t t;
		if (exp && pw_time_parse(exp, PW_TIME_ISO, false, &t, NULL) == 0)
			c->expires = t;
	}
	json_decref(j);
	return rc;
}

/* The AWS SDKs' rule for AWS_CONTAINER_CREDENTIALS_FULL_URI: HTTPS to any host, plain HTTP
 * only to loopback or the ECS/EKS link-local addresses. The host is the one curl's own URL
 * parser finds (userinfo, odd IPv4 forms and all), compared as an address, never by prefix. */
static int container_uri_allowed(const char *uri)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = 0;
	if (!u || curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		pw_error(PW_E_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL");
		rc = pw_error_hint("Set it to an https:// URL, or http:// to a loopback or the "
		                   "ECS/EKS link-local address.");
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		goto out;
	bool ok = false;
	if (strcasecmp(scheme, "http") == 0) {
		char h[64];
		size_t hl = strlen(host);
		if (hl >= 2 && hl < sizeof h && host[0] == '[' && host[hl - 1] == ']') {
			memcpy(h, host + 1,
			       hl - 2); /* an IPv6 literal (a zone id fails inet_pton) */
			h[hl - 2] = 0;
		} else {
			pw_strlcpy(h, host, sizeof h);
		}
		unsigned char a4[4], a6[16];
		if (inet_pton(AF_INET, h, a4) == 1) {
			ok = a4[0] == 127 || (a4[0] == 169 && a4[1] == 254 && a4[2] == 170 &&
			                      (a4[3] == 2 || a4[3] == 23));
		} else if (inet_pton(AF_INET6, h, a6) == 1) {
			static const unsigned char lo[16] = {[15] = 1};
			static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23};
			ok = memcmp(a6, lo, 16) == 0 || memcmp(a6, eks, 16) == 0;
		} else {
			ok = strcasecmp(h, "localhost") == 0;
		}
	}
	if (!ok) {
		pw_error(
		    PW_E_INSECURE,
		    "AWS_CONTAINER_CREDENTIALS_FULL_URI uses %s to \"%s\", which is neither HTTPS "
		    "nor a loopback or ECS/EKS link-local address",
		    scheme, host);
		rc = pw_error_hint("The credentials and the authorization token would travel in "
		                   "the clear: use https://, http://127.0.0.1, 169.254.170.2, "
		                   "169.254.170.23 or [fd00:ec2::23].");
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int fetch_container(struct s3_creds *c)
{
	struct curl_slist *h = NULL;
	char hdr[4096];
	const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	struct pw_buf tb = PW_BUF_INIT(4096);
	if (tokfile && *tokfile) {
		if (pw_trusted_read(tokfile, "container authorization token file", PW_TRUST_FOLLOW,
		                    &tb) < 0) {
			pw_buf_free(&tb, 1);
			return -pw_error_code();
		}
		tok = pw_trim((char *)pw_buf_str(&tb));
	}
	if (tok && *tok) {
		snprintf(hdr, sizeof hdr, "Authorization: %s", tok);
		h = curl_slist_append(h, hdr);
	}
	struct pw_buf b = PW_BUF_INIT(64 * 1024);
	long status = 0;
	int rc = http("GET", c->container_uri, h, &b, &status);
	curl_slist_free_all(h);
	pw_buf_free(&tb, 1);
	if (rc == 0 && status != 200) {
		pw_error(PW_E_STORAGE, "container credentials endpoint answered HTTP %ld", status);
		rc = pw_error_hint("Check the task role and AWS_CONTAINER_AUTHORIZATION_TOKEN.");
	}
	if (rc == 0)
		rc = parse_json_creds(c, &b, "the container credentials endpoint");
	pw_buf_free(&b, 1);
	return rc;
}

static int fetch_imds(struct s3_creds *c)
{
	struct pw_buf tok = PW_BUF_INIT(4096), role = PW_BUF_INIT(4096), b = PW_BUF_INIT(64 * 1024);
	struct curl_slist *h =
	    curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
	long status = 0;
	int rc = http("PUT", IMDS_HOST "/latest/api/token", h, &tok, &status);
	curl_slist_free_all(h);
	h = NULL;
	if (rc == 0 && status == 200) {
		char hdr[8192];
		snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token: %s", pw_buf_str(&tok));
		h = curl_slist_append(NULL, hdr);
		rc = http("GET", IMDS_HOST "/latest/meta-data/iam/security-credentials/", h, &role,
		          &status);
	}
	if (rc == 0 && status == 200) {
		char url[1024];
		char *r = pw_trim((char *)pw_buf_str(&role));
		r[strcspn(r, "\n")] = 0;
		snprintf(url, sizeof url, IMDS_HOST "/latest/meta-data/iam/security-credentials/%s",
		         r);
		rc = http("GET", url, h, &b, &status);
	}
	curl_slist_free_all(h);
	if (rc == 0 && status != 200) {
		pw_error(PW_E_STORAGE, "instance metadata service answered HTTP %ld", status);
		rc = pw_error_hint("Attach an IAM role to the instance, or give credentials "
		                   "another way.");
	}
	if (rc == 0)
		rc = parse_json_creds(c, &b, "the instance metadata service");
	pw_buf_free(&tok, 1);
	pw_buf_free(&role, 0);
	pw_buf_free(&b, 1);
	return rc;
}

static int refresh(struct s3_creds *c)
{
	if (c->src == SRC_CONTAINER)
		return fetch_container(c);
	if (c->src == SRC_IMDS)
		return fetch_imds(c);
	return 0;
}

static int no_creds(void)
{
	pw_error(PW_E_STORAGE, "no S3 credentials found");
	return pw_error_hint("Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in "
	                     "~/.aws/credentials, or run with a task or instance role.");
}

int s3_creds_new(const struct stor_config *cfg, struct s3_creds **out)
{
	struct s3_creds *c = pw_calloc(1, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	int rc = 0;
	bool found = false;
	const char *eak = getenv("AWS_ACCESS_KEY_ID"), *esk = getenv("AWS_SECRET_ACCESS_KEY");
	if (cfg->access_key || cfg->secret_key) {
		if (!cfg->access_key || !cfg->secret_key) {
			pw_error(PW_E_CONFIG,
			         "s3-access-key and s3-secret-key must be set together");
			rc = pw_error_hint("Set both, or neither to use the environment, a profile "
			                   "or a role.");
		} else {
			set_static(c, cfg->access_key, pw_secret_str(cfg->secret_key),
			           cfg->session_token ? pw_secret_str(cfg->session_token) : NULL,
			           "configuration");
			found = true;
		}
	} else if (eak && *eak && esk && *esk) {
		set_static(c, eak, esk, getenv("AWS_SESSION_TOKEN"), "environment");
		found = true;
	}
	if (rc == 0 && !found)
		rc = from_file(c, cfg->profile, &found);
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	if (rc == 0 && !found && ((full && *full) || (rel && *rel))) {
		char uri[2048];
		if (full && *full)
			pw_strlcpy(uri, full, sizeof uri);
		else
			snprintf(uri, sizeof uri, "%s%s", CONTAINER_HOST, rel);
		if ((rc = container_uri_allowed(uri)) < 0)
			goto out_uri;
		c->container_uri = pw_strdup(uri);
		c->src = SRC_CONTAINER;
		c->src_name = "container credentials endpoint";
		rc = fetch_container(c);
		found = rc == 0;
	}
out_uri:;
	const char *off = getenv("AWS_EC2_METADATA_DISABLED");
	if (rc == 0 && !found && !(off && strcasecmp(off, "true") == 0)) {
		c->src = SRC_IMDS;
		c->src_name = "instance metadata service";
		if (fetch_imds(c) == 0)
			found = true;
	}
	if (rc == 0 && !found)
		rc = no_creds();
	if (rc < 0) {
		s3_creds_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int s3_creds_get(struct s3_creds *c, struct s3_cred_snapshot *snap)
{
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	if (c->expires && pw_now() > c->expires - REFRESH_MARGIN) {
		rc = refresh(c);
		if (rc == 0)
			pw_debug("refreshed S3 credentials from the %s", c->src_name);
	}
	if (rc == 0) {
		snap->access_key = pw_strdup(c->access_key);
		snap->secret_key =
		    pw_secret_new(pw_secret_data(c->secret), pw_secret_len(c->secret));
		snap->session_token =
		    c->token ? pw_secret_new(pw_secret_data(c->token), pw_secret_len(c->token))
		             : NULL;
		snap->source = c->src_name;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void s3_creds_put(struct s3_cred_snapshot *snap)
{
	pw_free(snap->access_key);
	pw_secret_free(snap->secret_key);
	pw_secret_free(snap->session_token);
	memset(snap, 0, sizeof *snap);
}

const char *s3_creds_source(struct s3_creds *c)
{
	return c->src_name;
}

void s3_creds_free(struct s3_creds *c)
{
	if (!c)
		return;
	clear(c);
	pw_free(c->container_uri);
	pthread_mutex_destroy(&c->lock);
	pw_free(c);
}
