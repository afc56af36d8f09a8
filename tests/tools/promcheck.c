/*
 * promcheck.c - the strict checker of the Prometheus text format (see promcheck.h).
 * Written from the format's description (prometheus.io, "Exposition formats", text
 * format 0.0.4), on purpose sharing no code with the renderer it checks.
 *
 * With PROMCHECK_MAIN it is also a command:
 *     promcheck [-n] FILE     exit 0 valid, 1 rejected (the reason on stderr), 2 usage
 * -n prints each family as "NAME TYPE SAMPLES", one a line.
 */
#include "promcheck.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fam {
	char name[256];
	char type[16];
	bool help, typed, started, closed;
	size_t samples;
};

struct label {
	const char *name, *value; /* into the line */
	size_t nlen, vlen;
};

struct checker {
	struct promcheck_result *res;
	size_t line;
	struct fam *fam;
	size_t nfam, capfam;
	long current; /* the family whose samples are being read, or -1 */
	char **keys;  /* every series, "name{l1=v1,...}" with labels sorted */
	size_t nkeys, capkeys;
};

static int fail(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct checker *c, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(c->res->error, sizeof c->res->error, "line %zu: %s", c->line, what);
	return -1;
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(p, n * size);
	if (!q)
		abort();
	*cap = n;
	return q;
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Length of the metric name (colon allowed) or label name (not) at p. */
static size_t name_len(const char *p, const char *end, bool colon)
{
	size_t n = 0;
	while (p + n < end &&
	       (is_alpha(p[n]) || (colon && p[n] == ':') || (n > 0 && is_digit(p[n]))))
		n++;
	return n;
}

/* One UTF-8 sequence (RFC 3629) at p: its length, 0 if invalid; *cp its code point. */
static size_t utf8(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
	size_t n;
	unsigned v, min;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2, v = p[0] & 0x1fu, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, v = p[0] & 0x0fu, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, v = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Text of a HELP line or a label value between p and end: valid UTF-8, no control
 * characters, only the escapes allowed (quote: \" too, and an unescaped " ends it). For a
 * label value, *stop is set to the closing quote. */
static int check_text(struct checker *c, const char *p, const char *end, bool quoted,
                      const char **stop, const char *what)
{
	while (p < end) {
		if (quoted && *p == '"') {
			*stop = p;
			return 0;
		}
		if (*p == '\\') {
			if (p + 1 == end)
				return fail(c, "%s ends in a lone backslash", what);
			if (p[1] != '\\' && p[1] != 'n' && !(quoted && p[1] == '"'))
				return fail(c, "%s has the escape \\%c, which is not allowed", what,
				            p[1]);
			p += 2;
			continue;
		}
		unsigned cp;
		size_t n = utf8((const unsigned char *)p, (const unsigned char *)end, &cp);
		if (n == 0)
			return fail(c, "%s is not valid UTF-8", what);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return fail(c, "%s has the control character U+%04X", what, cp);
		p += n;
	}
	if (quoted)
		return fail(c, "%s has no closing quote", what);
	return 0;
}

static long find_family(struct checker *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nfam; i++)
		if (strlen(c->fam[i].name) == len && memcmp(c->fam[i].name, name, len) == 0)
			return (long)i;
	return -1;
}

static long add_family(struct checker *c, const char *name, size_t len)
{
	long i = find_family(c, name, len);
	if (i >= 0)
		return i;
	if (len >= sizeof c->fam[0].name)
		return -1;
	c->fam = grow(c->fam, &c->capfam, c->nfam + 1, sizeof *c->fam);
	struct fam *f = &c->fam[c->nfam];
	memset(f, 0, sizeof *f);
	memcpy(f->name, name, len);
	return (long)c->nfam++;
}

/* A HELP or TYPE line names a family: the samples of the one before end there. */
static void close_current(struct checker *c, long except)
{
	if (c->current >= 0 && c->current != except)
		c->fam[c->current].closed = true;
	if (c->current != except)
		c->current = -1;
}

static int meta_line(struct checker *c, const char *p, const char *end)
{
	bool help = strncmp(p, "# HELP ", 7) == 0;
	if (!help && strncmp(p, "# TYPE ", 7) != 0)
		return fail(c, "a comment that is neither \"# HELP\" nor \"# TYPE\"");
	p += 7;
	size_t n = name_len(p, end, true);
	if (n == 0)
		return fail(c, "%s without a valid metric name", help ? "HELP" : "TYPE");
	if (p + n == end || p[n] != ' ')
		return fail(c, "%s: the name is not followed by one space and text",
		            help ? "HELP" : "TYPE");
	long fi = add_family(c, p, n);
	if (fi < 0)
		return fail(c, "metric name too long");
	close_current(c, fi);
	struct fam *f = &c->fam[fi];
	if (f->started)
		return fail(c, "%s of \"%s\" after its samples", help ? "HELP" : "TYPE", f->name);
	const char *text = p + n + 1;
	if (help) {
		if (f->help)
			return fail(c, "a second HELP for \"%s\"", f->name);
		f->help = true;
		const char *stop = NULL;
		if (text == end)
			return fail(c, "an empty HELP for \"%s\"", f->name);
		return check_text(c, text, end, false, &stop, "HELP text");
	}
	if (f->typed)
		return fail(c, "a second TYPE for \"%s\"", f->name);
	f->typed = true;
	size_t tl = (size_t)(end - text);
	const char *types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (tl == strlen(types[i]) && memcmp(text, types[i], tl) == 0) {
			memcpy(f->type, types[i], tl + 1);
			size_t nl = strlen(f->name);
			if (i == 0 && (nl < 6 || strcmp(f->name + nl - 6, "_total") != 0))
				return fail(c, "the counter \"%s\" does not end in _total",
				            f->name);
			return 0;
		}
	return fail(c, "unknown type \"%.*s\"", (int)(tl > 40 ? 40 : tl), text);
}

/* [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)? | NaN | +Inf | -Inf */
static bool float_ok(const char *p, const char *end)
{
	size_t len = (size_t)(end - p);
	if ((len == 3 && memcmp(p, "NaN", 3) == 0) || (len == 4 && memcmp(p, "+Inf", 4) == 0) ||
	    (len == 4 && memcmp(p, "-Inf", 4) == 0))
		return true;
	if (p < end && (*p == '+' || *p == '-'))
		p++;
	size_t digits = 0;
	while (p < end && is_digit(*p))
		p++, digits++;
	if (p < end && *p == '.') {
		p++;
		while (p < end && is_digit(*p))
			p++, digits++;
	}
	if (digits == 0)
		return false;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		size_t e = 0;
		while (p < end && is_digit(*p))
			p++, e++;
		if (e == 0)
			return false;
	}
	return p == end;
}

static int cmp_label(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
	int r = memcmp(x->name, y->name, n);
	return r ? r : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

static int sample_line(struct checker *c, const char *p, const char *end)
{
	size_t n = name_len(p, end, true);
	if (n == 0)
		return fail(c, "a sample without a valid metric name");
	long fi = find_family(c, p, n);
	if (fi < 0) {
		/* a histogram's or summary's _bucket, _sum, _count */
		const char *suffix[] = {"_bucket", "_sum", "_count"};
		for (size_t i = 0; i < 3 && fi < 0; i++) {
			size_t sl = strlen(suffix[i]);
			if (n > sl && memcmp(p + n - sl, suffix[i], sl) == 0) {
				long g = find_family(c, p, n - sl);
				if (g >= 0 && (strcmp(c->fam[g].type, "histogram") == 0 ||
				               strcmp(c->fam[g].type, "summary") == 0))
					fi = g;
			}
		}
	}
	if (fi < 0)
		return fail(c, "the sample \"%.*s\" has no HELP and TYPE before it", (int)n, p);
	struct fam *f = &c->fam[fi];
	if (!f->help || !f->typed)
		return fail(c, "the family \"%s\" lacks its %s", f->name,
		            f->help ? "TYPE" : "HELP");
	if (f->closed)
		return fail(c, "the samples of \"%s\" are not adjacent", f->name);
	close_current(c, fi);
	c->current = fi;
	f->started = true;
	f->samples++;
	c->res->nsamples++;

	struct label labels[64];
	size_t nl = 0;
	const char *q = p + n;
	if (q < end && *q == '{') {
		q++;
		while (q < end && *q != '}') {
			size_t ln = name_len(q, end, false);
			if (ln == 0)
				return fail(c, "a label without a valid name");
			if (ln >= 2 && q[0] == '_' && q[1] == '_')
				return fail(c, "the label name \"%.*s\" is reserved", (int)ln, q);
			if (q + ln + 1 >= end || q[ln] != '=' || q[ln + 1] != '"')
				return fail(c, "the label \"%.*s\" is not followed by =\"", (int)ln,
				            q);
			const char *v = q + ln + 2, *stop = NULL;
			if (check_text(c, v, end, true, &stop, "a label value") != 0)
				return -1;
			if (nl == sizeof labels / sizeof labels[0])
				return fail(c, "more than 64 labels");
			labels[nl++] = (struct label){q, v, ln, (size_t)(stop - v)};
			q = stop + 1;
			if (q < end && *q == ',')
				q++;
			else if (q < end && *q != '}')
				return fail(c, "labels not separated by a comma");
		}
		if (q == end)
			return fail(c, "the label set is not closed");
		q++;
	}
	if (q == end || *q != ' ')
		return fail(c, "the name or labels are not followed by one space and a value");
	q++;
	const char *sp = memchr(q, ' ', (size_t)(end - q));
	const char *vend = sp ? sp : end;
	if (!float_ok(q, vend))
		return fail(c, "the value \"%.*s\" is not a number",
		            (int)(vend - q > 40 ? 40 : vend - q), q);
	if (sp) {
		const char *t = sp + 1;
		if (t < end && *t == '-')
			t++;
		if (t == end)
			return fail(c, "an empty timestamp");
		for (; t < end; t++)
			if (!is_digit(*t))
				return fail(c, "the timestamp is not an integer");
	}

	qsort(labels, nl, sizeof labels[0], cmp_label);
	size_t klen = n + 3;
	for (size_t i = 0; i < nl; i++) {
		if (i > 0 && cmp_label(&labels[i - 1], &labels[i]) == 0)
			return fail(c, "the label \"%.*s\" appears twice", (int)labels[i].nlen,
			            labels[i].name);
		klen += labels[i].nlen + labels[i].vlen + 4;
	}
	char *key = malloc(klen);
	if (!key)
		abort();
	size_t k = 0;
	memcpy(key + k, p, n), k += n;
	key[k++] = '{';
	for (size_t i = 0; i < nl; i++) {
		memcpy(key + k, labels[i].name, labels[i].nlen), k += labels[i].nlen;
		key[k++] = '=';
		memcpy(key + k, labels[i].value, labels[i].vlen), k += labels[i].vlen;
		key[k++] = ',';
	}
	key[k++] = '}';
	key[k] = '\0';
	c->keys = grow(c->keys, &c->capkeys, c->nkeys + 1, sizeof *c->keys);
	c->keys[c->nkeys++] = key;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int promcheck(const char *text, size_t len, struct promcheck_result *res)
{
	memset(res, 0, sizeof *res);
	struct checker c = {.res = res, .current = -1};
	int rc = 0;
	if (len == 0)
		rc = fail(&c, "empty");
	else if (text[len - 1] != '\n')
		rc = fail(&c, "the text does not end with a newline");
	for (size_t off = 0; rc == 0 && off < len;) {
		const char *p = text + off;
		const char *nl = memchr(p, '\n', len - off);
		const char *end = nl ? nl : text + len;
		c.line++;
		if (memchr(p, '\r', (size_t)(end - p)) || memchr(p, '\0', (size_t)(end - p)))
			rc = fail(&c, "a CR or NUL byte");
		else if (end == p)
			rc = fail(&c, "an empty line");
		else if (*p == '#')
			rc = meta_line(&c, p, end);
		else
			rc = sample_line(&c, p, end);
		off = (size_t)(end - text) + 1;
	}
	if (rc == 0 && c.nkeys > 1) {
		qsort(c.keys, c.nkeys, sizeof *c.keys, cmp_key);
		for (size_t i = 1; i < c.nkeys && rc == 0; i++)
			if (strcmp(c.keys[i - 1], c.keys[i]) == 0) {
				c.line = 0;
				rc = fail(&c, "the series %.300s appears twice", c.keys[i]);
			}
	}
	for (size_t i = 0; rc == 0 && i < c.nfam; i++)
		if (!c.fam[i].help || !c.fam[i].typed) {
			c.line = 0;
			rc = fail(&c, "the family \"%s\" lacks its %s", c.fam[i].name,
			          c.fam[i].help ? "TYPE" : "HELP");
		}
	for (size_t i = 0; i < c.nkeys; i++)
		free(c.keys[i]);
	free(c.keys);
	res->family = calloc(c.nfam ? c.nfam : 1, sizeof *res->family);
	if (!res->family)
		abort();
	for (size_t i = 0; i < c.nfam; i++) {
		memcpy(res->family[i].name, c.fam[i].name, sizeof res->family[i].name);
		memcpy(res->family[i].type, c.fam[i].type, sizeof res->family[i].type);
		res->family[i].samples = c.fam[i].samples;
	}
	res->nfamily = c.nfam;
	free(c.fam);
	return rc;
}

void promcheck_free(struct promcheck_result *res)
{
	free(res->family);
	res->family = NULL;
	res->nfamily = 0;
}

#ifdef PROMCHECK_MAIN
int main(int argc, char **argv)
{
	bool names = argc == 3 && strcmp(argv[1], "-n") == 0;
	if (argc != 2 && !names) {
		fprintf(stderr, "usage: promcheck [-n] FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[argc - 1], "rb");
	if (!f) {
		perror(argv[argc - 1]);
		return 2;
	}
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	size_t got;
	while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap)
			text = realloc(text, cap *= 2);
	}
	fclose(f);
	if (!text)
		abort();
	struct promcheck_result res;
	int rc = promcheck(text, len, &res);
	if (rc != 0)
		fprintf(stderr, "promcheck: %s: %s\n", argv[argc - 1], res.error);
	for (size_t i = 0; rc == 0 && names && i < res.nfamily; i++)
		printf("%s %s %zu\n", res.family[i].name, res.family[i].type,
		       res.family[i].samples);
	promcheck_free(&res);
	free(text);
	return rc ? 1 : 0;
}
#endif
