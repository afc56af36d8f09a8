/*
 * armor.c - age's ASCII armor (strict PEM-like): 64-column padded base64 lines
 * between BEGIN/END lines. Whitespace is allowed only before BEGIN and after
 * END; LF or CRLF line ends; anything else is an armor failure.
 */
#include "crypto/age.h"

#include <string.h>

#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"

static int armor_bad(const char *what)
{
	pw_error(PW_E_AGE_ARMOR, "malformed ASCII armor: %s", what);
	return pw_error_hint("The armored file was damaged or edited; armored age files must "
	                     "be passed on unchanged.");
}

/* ---- encoder ---- */

struct age_armor_enc {
	age_emit_fn emit;
	void *arg;
	uint8_t pend[48];
	size_t npend;
	bool started;
	char line[64 * 66]; /* up to 64 lines at once */
};

struct age_armor_enc *age_armor_enc_new(age_emit_fn emit, void *arg)
{
	struct age_armor_enc *a = pw_calloc(1, sizeof *a);
	a->emit = emit;
	a->arg = arg;
	return a;
}

static int armor_start(struct age_armor_enc *a)
{
	if (a->started)
		return 0;
	a->started = true;
	return a->emit(a->arg, (const uint8_t *)AGE_ARMOR_BEGIN "\n", sizeof AGE_ARMOR_BEGIN);
}

int age_armor_enc_update(struct age_armor_enc *a, const uint8_t *p, size_t n)
{
	int rc = armor_start(a);
	while (rc == 0 && n) {
		if (a->npend || n < 48) {
			size_t take = 48 - a->npend < n ? 48 - a->npend : n;
			memcpy(a->pend + a->npend, p, take);
			a->npend += take;
			p += take;
			n -= take;
			if (a->npend == 48 && n) { /* full line, and more follows */
				pw_b64_encode(a->pend, 48, a->line, true);
				a->line[64] = '\n';
				rc = a->emit(a->arg, (const uint8_t *)a->line, 65);
				a->npend = 0;
			}
			continue;
		}
		/* Encode whole lines straight from the input, keeping the last bytes pending. */
		size_t lines = (n - 1) / 48;
		if (lines > 64)
			lines = 64;
		if (lines == 0) {
			memcpy(a->pend, p, n);
			a->npend = n;
			break;
		}
		size_t o = 0;
		for (size_t i = 0; i < lines; i++) {
			pw_b64_encode(p + 48 * i, 48, a->line + o, true);
			o += 64;
			a->line[o++] = '\n';
		}
		rc = a->emit(a->arg, (const uint8_t *)a->line, o);
		p += 48 * lines;
		n -= 48 * lines;
	}
	return rc;
}

int age_armor_enc_final(struct age_armor_enc *a)
{
	int rc = armor_start(a);
	if (rc == 0 && a->npend) {
		size_t l = pw_b64_encode(a->pend, a->npend, a->line, true);
		a->line[l++] = '\n';
		rc = a->emit(a->arg, (const uint8_t *)a->line, l);
		a->npend = 0;
	}
	if (rc == 0)
		rc = a->emit(a->arg, (const uint8_t *)AGE_ARMOR_END "\n", sizeof AGE_ARMOR_END);
	return rc;
}

void age_armor_enc_free(struct age_armor_enc *a)
{
	pw_free(a);
}

/* ---- decoder ---- */

enum adstate { AD_LEADING, AD_BEGIN, AD_BODY, AD_TRAILING };

struct age_armor_dec {
	age_emit_fn emit;
	void *arg;
	enum adstate st;
	char line[72];
	size_t nline;
	bool last_seen; /* a short or padded line was seen: only END may follow */
	uint8_t out[64 * 48];
	size_t nout;
};

struct age_armor_dec *age_armor_dec_new(age_emit_fn emit, void *arg)
{
	struct age_armor_dec *a = pw_calloc(1, sizeof *a);
	a->emit = emit;
	a->arg = arg;
	return a;
}

static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int flush_out(struct age_armor_dec *a)
{
	int rc = a->nout ? a->emit(a->arg, a->out, a->nout) : 0;
	a->nout = 0;
	return rc;
}

/* Handle one complete line (without its LF / CRLF). */
static int handle_line(struct age_armor_dec *a, const char *l, size_t n)
{
	if (a->st == AD_BEGIN) {
		if (n != strlen(AGE_ARMOR_BEGIN) || memcmp(l, AGE_ARMOR_BEGIN, n) != 0)
			return armor_bad("missing \"" AGE_ARMOR_BEGIN "\" line");
		a->st = AD_BODY;
		return 0;
	}
	if (n == strlen(AGE_ARMOR_END) && memcmp(l, AGE_ARMOR_END, n) == 0) {
		a->st = AD_TRAILING;
		return flush_out(a);
	}
	if (a->last_seen)
		return armor_bad("line after the final base64 line");
	if (n == 0 || n > 64 || n % 4)
		return armor_bad("base64 line of the wrong length");
	if (n < 64 || l[n - 1] == '=')
		a->last_seen = true;
	if (sizeof a->out - a->nout < 48) {
		int rc = flush_out(a);
		if (rc < 0)
			return rc;
	}
	long d = pw_b64_decode(l, n, a->out + a->nout, 48, true);
	if (d < 0)
		return armor_bad("invalid base64");
	a->nout += (size_t)d;
	return 0;
}

int age_armor_dec_update(struct age_armor_dec *a, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		switch (a->st) {
		case AD_LEADING:
			if (is_ws(c))
				continue;
			a->st = AD_BEGIN;
			/* fall through */
		case AD_BEGIN:
		case AD_BODY:
			if (c == '\n') {
				size_t len = a->nline;
				if (len && a->line[len - 1] == '\r')
					len--;
				int rc = handle_line(a, a->line, len);
				a->nline = 0;
				if (rc < 0)
					return rc;
				continue;
			}
			if (a->nline >= sizeof a->line)
				return armor_bad("line too long");
			a->line[a->nline++] = (char)c;
			continue;
		case AD_TRAILING:
			if (!is_ws(c))
				return armor_bad("data after the END line");
			continue;
		}
	}
	return 0;
}

int age_armor_dec_final(struct age_armor_dec *a)
{
	if ((a->st == AD_BODY || a->st == AD_BEGIN) && a->nline) {
		/* the END line without a final newline */
		size_t len = a->nline;
		if (a->line[len - 1] == '\r')
			len--;
		int rc = handle_line(a, a->line, len);
		a->nline = 0;
		if (rc < 0)
			return rc;
	}
	if (a->st != AD_TRAILING)
		return armor_bad(a->st == AD_LEADING ? "empty input" : "missing END line");
	return 0;
}

void age_armor_dec_free(struct age_armor_dec *a)
{
	pw_free(a);
}
