/* s3_list.c - parse one page of an S3 ListObjectsV2 reply, and classify replies (s3_list.h). */
#include "storage/s3_list.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"

#define KEY_MAX 4096 /* S3 keys are at most 1024 bytes; a longer one is a stray */

static const char *child_text(xmlNode *parent, const char *name, xmlChar **hold)
{
	for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
			*hold = xmlNodeGetContent(c);
			return *hold ? (const char *)*hold : "";
		}
	*hold = NULL;
	return NULL;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* URL-decode s (application/x-www-form-urlencoded as S3 uses it: %XX and '+' for a space);
 * NULL for a bad escape or a NUL byte. */
static char *url_decode(const char *s)
{
	size_t n = strlen(s);
	char *o = pw_malloc(n + 1), *q = o;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h = i + 2 < n ? hexval(s[i + 1]) : -1;
			int l = h >= 0 ? hexval(s[i + 2]) : -1;
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				pw_free(o);
				return NULL;
			}
			*q++ = (char)(h * 16 + l);
			i += 2;
		} else if (s[i] == '+') {
			*q++ = ' ';
		} else {
			*q++ = s[i];
		}
	}
	*q = 0;
	return o;
}

static time_t iso_time(const char *s)
{
	time_t t;
	return s && pw_time_parse(s, PW_TIME_ISO, false, &t, NULL) == 0 ? t : 0;
}

/* Is cp a character XML 1.0 allows? */
static bool xml_char(unsigned long cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/*
 * Ceph RGW writes a key or continuation token holding a control character as a character
 * reference (&#x1b;) or raw, which XML 1.0 forbids, so the whole page would be unreadable
 * because of one hostile name. Such characters become &#x7f; (DEL: allowed in XML, and it
 * makes the name an invalid key, a stray); returns a repaired copy, or NULL if none was
 * needed.
 */
static char *repair(const uint8_t *xml, size_t n, size_t *out_n)
{
	bool bad = false;
	for (size_t i = 0; i < n && !bad; i++)
		bad = (xml[i] < 0x20 && xml[i] != 9 && xml[i] != 10 && xml[i] != 13) ||
		      (xml[i] == '&' && i + 1 < n && xml[i + 1] == '#');
	if (!bad)
		return NULL;
	static const char del[] = "&#x7f;";
	char *o = pw_malloc(n * 6 + 1);
	size_t k = 0;
	bool changed = false;
	for (size_t i = 0; i < n;) {
		if (xml[i] < 0x20 && xml[i] != 9 && xml[i] != 10 && xml[i] != 13) {
			memcpy(o + k, del, 6);
			k += 6;
			i++;
			changed = true;
			continue;
		}
		if (xml[i] == '&' && i + 2 < n && xml[i + 1] == '#') {
			size_t j = i + 2;
			bool hex = xml[j] == 'x' || xml[j] == 'X';
			if (hex)
				j++;
			unsigned long cp = 0;
			size_t digits = 0;
			for (; j < n && digits < 8; j++, digits++) {
				int d = hex ? hexval((char)xml[j])
				            : (xml[j] >= '0' && xml[j] <= '9' ? xml[j] - '0' : -1);
				if (d < 0)
					break;
				cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			}
			if (digits && j < n && xml[j] == ';' && !xml_char(cp)) {
				memcpy(o + k, del, 6);
				k += 6;
				i = j + 1;
				changed = true;
				continue;
			}
		}
		o[k++] = (char)xml[i++];
	}
	o[k] = 0;
	if (!changed) {
		pw_free(o);
		return NULL;
	}
	*out_n = k;
	return o;
}

int s3_list_parse(const uint8_t *xml, size_t n, const char *full_prefix, size_t strip,
                  int (*fn)(void *arg, const struct stor_info *info), void *arg, char **next_token,
                  char **start_after)
{
	*next_token = NULL;
	*start_after = NULL;
	size_t plen = strlen(full_prefix);
	if (strip > plen)
		strip = plen;
	size_t rn = 0;
	char *fixed = repair(xml, n, &rn);
	if (fixed) {
		xml = (const uint8_t *)fixed;
		n = rn;
	}
	char *last = NULL; /* the last key of the page, for start-after */
	xmlDoc *doc = n && n < INT_MAX ? xmlReadMemory((const char *)xml, (int)n, "list.xml", NULL,
	                                               XML_PARSE_NONET | XML_PARSE_NOERROR |
	                                                   XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS)
	                               : NULL;
	xmlResetLastError(); /* libxml2 keeps the last error's text until the next one */
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	pw_free(fixed);
	if (!root || strcmp((const char *)root->name, "ListBucketResult") != 0) {
		if (doc)
			xmlFreeDoc(doc);
		pw_error(PW_E_STORAGE, "unreadable listing from the S3 endpoint");
		return pw_error_hint("The endpoint may not be an S3 server.");
	}
	xmlChar *hold;
	const char *enc = child_text(root, "EncodingType", &hold);
	bool url = enc && strcmp(enc, "url") == 0;
	xmlFree(hold);
	int rc = 0;
	for (xmlNode *c = root->children; c && rc == 0; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "Contents") != 0)
			continue;
		xmlChar *hk, *hs, *hm, *he;
		const char *raw = child_text(c, "Key", &hk);
		const char *size = child_text(c, "Size", &hs);
		const char *lm = child_text(c, "LastModified", &hm);
		const char *et = child_text(c, "ETag", &he);
		if (raw && strlen(raw) <= KEY_MAX) {
			char *dec = url ? url_decode(raw) : NULL;
			const char *key = url ? (dec ? dec : raw) : raw;
			if (!url || dec) {
				pw_free(last);
				last = pw_strdup(key);
			}
			/* keys outside the prefix are dropped: never read past its end */
			if (strncmp(key, full_prefix, plen) == 0) {
				uint64_t sz = 0;
				struct stor_info info = {.key = key + strip, .mtime = iso_time(lm)};
				if (size && pw_parse_u64(size, &sz) == 0)
					info.size = sz;
				if (et)
					pw_strlcpy(info.etag, et, sizeof info.etag);
				if (url && !dec)
					info.stray = "not a valid object name";
				rc = fn(arg, &info);
			}
			pw_free(dec);
		}
		xmlFree(hk);
		xmlFree(hs);
		xmlFree(hm);
		xmlFree(he);
	}
	if (rc == 0) {
		const char *trunc = child_text(root, "IsTruncated", &hold);
		bool more = trunc && strcmp(trunc, "true") == 0;
		xmlFree(hold);
		if (more) {
			const char *tok = child_text(root, "NextContinuationToken", &hold);
			/* a token with a repaired character is not the server's: go on after the
			 * last key instead */
			if (tok && *tok && strlen(tok) <= KEY_MAX && !strchr(tok, 0x7f))
				*next_token = pw_strdup(tok);
			xmlFree(hold);
			if (!*next_token && last && strchr(last, 0x7f) == NULL) {
				*start_after = last;
				last = NULL;
			}
			if (!*next_token && !*start_after) {
				pw_error(PW_E_STORAGE,
				         "a truncated listing from the S3 endpoint has no "
				         "continuation token");
				rc = pw_error_hint("The endpoint is not behaving like S3.");
			}
		}
	}
	pw_free(last);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- error documents and what a reply means ---- */

static xmlNode *find_element(xmlNode *n, const char *name)
{
	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return n;
		xmlNode *c = find_element(n->children, name);
		if (c)
			return c;
	}
	return NULL;
}

static void element_text(xmlNode *root, const char *name, char *out, size_t size)
{
	xmlNode *e = find_element(root, name);
	xmlChar *t = e ? xmlNodeGetContent(e) : NULL;
	pw_strlcpy(out, t ? (const char *)t : "", size);
	xmlFree(t);
}

void s3_error_parse(const uint8_t *body, size_t n, char *code, size_t code_size, char *msg,
                    size_t msg_size)
{
	code[0] = msg[0] = 0;
	if (!n || n >= INT_MAX)
		return;
	xmlDoc *doc = xmlReadMemory((const char *)body, (int)n, "s3.xml", NULL,
	                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                                XML_PARSE_NOBLANKS);
	xmlResetLastError(); /* libxml2 keeps the last error's text until the next one */
	if (!doc)
		return;
	xmlNode *root = xmlDocGetRootElement(doc);
	element_text(root, "Code", code, code_size);
	element_text(root, "Message", msg, msg_size);
	xmlFreeDoc(doc);
}

static bool transient_code(const char *code)
{
	return strcmp(code, "RequestTimeout") == 0 || strcmp(code, "SlowDown") == 0 ||
	       strcmp(code, "InternalError") == 0;
}

enum s3_reply_kind s3_reply_classify(const struct s3_reply *r, char *code, size_t code_size,
                                     char *msg, size_t msg_size)
{
	code[0] = msg[0] = 0;
	bool ok2xx = r->status / 100 == 2;
	if (ok2xx || (r->ok_status && r->status == r->ok_status)) {
		if (r->want_xml && ok2xx && (r->n == 0 || !memchr(r->body, '<', r->n))) {
			pw_strlcpy(code, "EmptyResponse", code_size);
			pw_strlcpy(msg, "the reply had no XML body", msg_size);
			return S3_REPLY_RETRY;
		}
		if (ok2xx && r->n && !r->body_data && memmem(r->body, r->n, "<Error>", 7)) {
			s3_error_parse(r->body, r->n, code, code_size, msg, msg_size);
			return transient_code(code) ? S3_REPLY_RETRY : S3_REPLY_FAIL;
		}
		return S3_REPLY_OK;
	}
	s3_error_parse(r->body, r->n, code, code_size, msg, msg_size);
	if (r->status >= 500 || r->status == 429 || transient_code(code))
		return S3_REPLY_RETRY;
	return S3_REPLY_FAIL;
}

bool s3_reply_missing(long status, const char *code)
{
	return status == 404 && (!*code || strcmp(code, "NoSuchKey") == 0);
}
