/* header.c - age v1 header parsing and encoding (strict, canonical). */
#include "crypto/age.h"

#include <string.h>

#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"

#define VERSION_LINE "age-encryption.org/v1"

static int bad(const char *what)
{
	pw_error(PW_E_AGE_HEADER, "malformed age header: %s", what);
	return pw_error_hint("The input is not an age-encrypted file, or it was damaged.");
}

static bool is_b64char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Find the next line [pos, end) ending in '\n'; returns 1 if incomplete. */
static int next_line(const uint8_t *buf, size_t len, size_t pos, size_t *end)
{
	const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
	if (!nl)
		return 1;
	*end = (size_t)(nl - buf);
	return 0;
}

void age_header_free(struct age_header *h)
{
	for (size_t i = 0; i < h->nstanzas; i++) {
		struct age_stanza *s = &h->stanzas[i];
		pw_free(s->type);
		for (size_t j = 0; j < s->nargs; j++)
			pw_free(s->args[j]);
		pw_free(s->body);
	}
	pw_free(h->stanzas);
	memset(h, 0, sizeof *h);
}

static int parse_stanza_line(const uint8_t *l, size_t n, struct age_stanza *s)
{
	/* l points after "-> " */
	size_t i = 0;
	int field = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && l[j] != ' ')
			j++;
		if (j == i)
			return bad("empty stanza argument");
		for (size_t k = i; k < j; k++)
			if (l[k] < 33 || l[k] > 126)
				return bad("invalid character in stanza argument");
		char *a = pw_strndup((const char *)l + i, j - i);
		if (field == 0) {
			s->type = a;
		} else {
			if (s->nargs >= AGE_MAX_ARGS) {
				pw_free(a);
				return bad("too many stanza arguments");
			}
			s->args[s->nargs++] = a;
		}
		field++;
		i = j + 1;
	}
	return 0;
}

int age_header_parse(const uint8_t *buf, size_t len, struct age_header *h)
{
	size_t pos = 0, end;
	size_t vlen = strlen(VERSION_LINE);
	memset(h, 0, sizeof *h);

	if (memcmp(buf, VERSION_LINE, len < vlen ? len : vlen) != 0) {
		if (len >= 19 && memcmp(buf, "age-encryption.org/", 19) == 0)
			return bad("unsupported version");
		return bad("missing \"age-encryption.org/v1\" introduction");
	}
	if (next_line(buf, len, 0, &end))
		return len > AGE_HEADER_MAX ? bad("header too long") : 1;
	if (end != vlen)
		return bad("unsupported version line");
	pos = end + 1;

	size_t cap = 0;
	struct pw_buf body = PW_BUF_INIT(AGE_HEADER_MAX);
	int rc = 0;
	for (;;) {
		if (next_line(buf, len, pos, &end)) {
			rc = len > AGE_HEADER_MAX ? bad("header too long") : 1;
			goto out;
		}
		const uint8_t *l = buf + pos;
		size_t n = end - pos;
		if (n >= 3 && memcmp(l, "---", 3) == 0) {
			uint8_t mac[33];
			if (h->nstanzas == 0) {
				rc = bad("no recipient stanzas");
				goto out;
			}
			if (n != 4 + 43 || l[3] != ' ' ||
			    pw_b64_decode((const char *)l + 4, 43, mac, sizeof mac, false) != 32) {
				rc = bad("malformed MAC line");
				goto out;
			}
			memcpy(h->mac, mac, 32);
			h->mac_covered = pos + 3;
			h->len = end + 1;
			goto out;
		}
		if (n < 3 || memcmp(l, "-> ", 3) != 0) {
			rc = bad("expected a stanza or the MAC line");
			goto out;
		}
		if (h->nstanzas == cap) {
			cap = cap ? cap * 2 : 4;
			h->stanzas = pw_realloc(h->stanzas, cap * sizeof *h->stanzas);
		}
		struct age_stanza *s = &h->stanzas[h->nstanzas++];
		memset(s, 0, sizeof *s);
		if ((rc = parse_stanza_line(l + 3, n - 3, s)) < 0)
			goto out;
		pos = end + 1;
		/* body lines: full 64-column lines, then one short (possibly empty) line */
		pw_buf_reset(&body);
		for (;;) {
			if (next_line(buf, len, pos, &end)) {
				rc = len > AGE_HEADER_MAX ? bad("header too long") : 1;
				goto out;
			}
			size_t bl = end - pos;
			if (bl > 64) {
				rc = bad("stanza body line longer than 64 columns");
				goto out;
			}
			for (size_t k = 0; k < bl; k++)
				if (!is_b64char(buf[pos + k])) {
					rc = bad("invalid character in stanza body");
					goto out;
				}
			pw_buf_append(&body, buf + pos, bl);
			pos = end + 1;
			if (bl < 64)
				break;
		}
		size_t max = pw_b64_decoded_max(body.len);
		s->body = pw_malloc(max);
		long dl = pw_b64_decode((const char *)body.data, body.len, s->body, max, false);
		if (dl < 0) {
			rc = bad("stanza body is not canonical base64");
			goto out;
		}
		s->bodylen = (size_t)dl;
	}
out:
	pw_buf_free(&body, 0);
	if (rc != 0)
		age_header_free(h);
	return rc;
}

int age_header_encode_stanzas(const struct age_header *h, struct pw_buf *out)
{
	int rc = pw_buf_printf(out, "%s\n", VERSION_LINE);
	for (size_t i = 0; rc == 0 && i < h->nstanzas; i++) {
		const struct age_stanza *s = &h->stanzas[i];
		rc = pw_buf_printf(out, "-> %s", s->type);
		for (size_t j = 0; rc == 0 && j < s->nargs; j++)
			rc = pw_buf_printf(out, " %s", s->args[j]);
		if (rc == 0)
			rc = pw_buf_putc(out, '\n');
		size_t elen = pw_b64_encoded_len(s->bodylen, false);
		char *enc = pw_malloc(elen + 1);
		pw_b64_encode(s->body, s->bodylen, enc, false);
		size_t off = 0;
		for (;;) {
			size_t n = elen - off < 64 ? elen - off : 64;
			if (rc == 0)
				rc = pw_buf_append(out, enc + off, n);
			if (rc == 0)
				rc = pw_buf_putc(out, '\n');
			off += n;
			if (n < 64 || rc < 0)
				break;
		}
		pw_free(enc);
	}
	if (rc == 0)
		rc = pw_buf_append(out, "---", 3);
	return rc;
}
