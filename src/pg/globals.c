/*
 * globals.c - parse pg_dumpall --globals-only output into the statements pgward applies,
 * and re-emit them canonically. Pure: no I/O, no libpq (see globals.h for why).
 *
 * The input is read as lines between statements (blank lines, "--" comment lines, the
 * preamble's three SET lines, pg_dumpall's \restrict / \unrestrict pair) and as tokens
 * inside a statement (unquoted words, "quoted identifiers", 'strings', numbers, ';' ','
 * '='). Anything else is refused: a backslash at the start of any line, a second
 * statement or text after ';' on the same line, dollar quotes, E'' / U&"" strings, an
 * unterminated quote, a NUL byte, a name longer than PostgreSQL keeps.
 */
#include "pg/globals.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

#define MAX_TOKENS 256
#define MAX_VALUES 64

enum tk_type { TK_WORD, TK_IDENT, TK_STRING, TK_NUMBER, TK_SEMI, TK_COMMA, TK_EQ };

struct token {
	enum tk_type type;
	char *s; /* WORD: lowercased; IDENT/STRING: decoded; NUMBER: digits (with '-') */
	int line;
};

struct parser {
	const char *in;
	size_t len, pos;
	int line;
	struct token tok[MAX_TOKENS];
	size_t ntok, at;
	int stmt_line;
	struct globals *g;
	char restrict_key[129];
	int restrict_state; /* 0 none yet, 1 inside \restrict, 2 after \unrestrict */
	bool any_stmt;
};

/* ---- errors ---- */

/* The input line `line` (1-based), sanitized: printable ASCII as is, anything else as
 * \xNN, at most 60 bytes of input. */
static void excerpt(const struct parser *p, int line, char *out, size_t size)
{
	size_t i = 0;
	for (int l = 1; l < line && i < p->len; i++)
		if (p->in[i] == '\n')
			l++;
	size_t o = 0, taken = 0;
	for (; i < p->len && p->in[i] != '\n' && taken < 60 && o + 5 < size; i++, taken++) {
		unsigned char c = (unsigned char)p->in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, size - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (i < p->len && p->in[i] != '\n' && o + 4 < size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
}

static int refuse(const struct parser *p, int line, const char *why)
{
	char ex[256];
	excerpt(p, line, ex, sizeof ex);
	pw_error(PW_E_ARCHIVE, "globals line %d: %s: \"%s\"", line, why, ex);
	return pw_error_hint("Nothing was applied. pgward applies only the role and tablespace "
	                     "statements listed in docs/restore.md: a forged or damaged backup "
	                     "looks like this; if the backup is genuine, restore without "
	                     "--globals and apply its roles by hand after reading them.");
}

/* ---- lexing ---- */

/* Consume a newline at p->pos; refuse a backslash right after it. */
static int newline(struct parser *p)
{
	p->pos++;
	p->line++;
	if (p->pos < p->len && p->in[p->pos] == '\\')
		return refuse(p, p->line, "a backslash command inside a statement");
	return 0;
}

static bool is_word_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_word_char(unsigned char c)
{
	return is_word_start(c) || (c >= '0' && c <= '9');
}

/* A quoted token (q is '"' or '\''), doubled quotes inside; decoded into b. */
static int lex_quoted(struct parser *p, char q, struct pw_buf *b, int *line)
{
	*line = p->line;
	p->pos++; /* opening quote */
	for (;;) {
		if (p->pos >= p->len)
			return refuse(p, *line,
			              q == '"' ? "an unterminated quoted name"
			                       : "an unterminated string");
		char c = p->in[p->pos];
		if (c == q) {
			if (p->pos + 1 < p->len && p->in[p->pos + 1] == q) {
				if (pw_buf_putc(b, q) < 0)
					return refuse(p, *line, "a name or string too long");
				p->pos += 2;
				continue;
			}
			p->pos++;
			return 0;
		}
		if (c == '\0')
			return refuse(p, p->line, "a NUL byte");
		if (c == '\n') {
			int rc = newline(p);
			if (rc < 0)
				return rc;
		} else {
			p->pos++;
		}
		if (pw_buf_putc(b, c) < 0)
			return refuse(p, *line, "a name or string too long");
	}
}

static void tokens_free(struct parser *p)
{
	for (size_t i = 0; i < p->ntok; i++)
		pw_free(p->tok[i].s);
	p->ntok = p->at = 0;
}

static int push(struct parser *p, enum tk_type t, char *s, int line)
{
	if (p->ntok == MAX_TOKENS) {
		pw_free(s);
		return refuse(p, p->stmt_line, "a statement too long");
	}
	p->tok[p->ntok++] = (struct token){t, s, line};
	return 0;
}

/* Read the tokens of one statement, up to and including its ';', and check that only
 * blanks follow it on its line. */
static int lex_statement(struct parser *p)
{
	p->stmt_line = p->line;
	for (;;) {
		if (p->pos >= p->len)
			return refuse(p, p->stmt_line, "a statement without its ';'");
		unsigned char c = (unsigned char)p->in[p->pos];
		int line = p->line, rc = 0;
		if (c == ' ' || c == '\t') {
			p->pos++;
		} else if (c == '\n') {
			if ((rc = newline(p)) < 0)
				return rc;
		} else if (c == '"' || c == '\'') {
			struct pw_buf b =
			    PW_BUF_INIT(c == '"' ? GLOBALS_MAX_NAME : GLOBALS_MAX_LITERAL);
			rc = lex_quoted(p, (char)c, &b, &line);
			if (rc == 0 && c == '"' && b.len == 0)
				rc = refuse(p, line, "an empty quoted name");
			if (rc == 0 && memchr(b.data ? (const char *)b.data : "", 0, b.len))
				rc = refuse(p, line, "a NUL byte");
			if (rc == 0)
				rc = push(p, c == '"' ? TK_IDENT : TK_STRING,
				          pw_strndup(b.data ? (const char *)b.data : "", b.len),
				          line);
			pw_buf_free(&b, 0);
			if (rc < 0)
				return rc;
		} else if (is_word_start(c)) {
			size_t s = p->pos;
			while (p->pos < p->len && is_word_char((unsigned char)p->in[p->pos]))
				p->pos++;
			if (p->pos - s > GLOBALS_MAX_NAME)
				return refuse(p, line, "a name longer than PostgreSQL keeps");
			if (p->pos < p->len &&
			    (p->in[p->pos] == '\'' || p->in[p->pos] == '"' || p->in[p->pos] == '&'))
				return refuse(p, line, "a prefixed string (E'', U&\"\", B'' ...)");
			char *w = pw_strndup(p->in + s, p->pos - s);
			for (char *q = w; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q - 'A' + 'a');
			if ((rc = push(p, TK_WORD, w, line)) < 0)
				return rc;
		} else if ((c >= '0' && c <= '9') ||
		           (c == '-' && p->pos + 1 < p->len && p->in[p->pos + 1] >= '0' &&
		            p->in[p->pos + 1] <= '9')) {
			size_t s = p->pos++;
			while (p->pos < p->len && p->in[p->pos] >= '0' && p->in[p->pos] <= '9')
				p->pos++;
			if (p->pos - s > 10)
				return refuse(p, line, "a number out of range");
			if (p->pos < p->len && is_word_char((unsigned char)p->in[p->pos]))
				return refuse(p, line, "a malformed number");
			if ((rc = push(p, TK_NUMBER, pw_strndup(p->in + s, p->pos - s), line)) < 0)
				return rc;
		} else if (c == ';' || c == ',' || c == '=') {
			p->pos++;
			rc = push(p, c == ';' ? TK_SEMI : c == ',' ? TK_COMMA : TK_EQ, NULL, line);
			if (rc < 0)
				return rc;
			if (c == ';')
				break;
		} else if (c == '$') {
			return refuse(p, line, "a dollar quote");
		} else if (c == '-' && p->pos + 1 < p->len && p->in[p->pos + 1] == '-') {
			return refuse(p, line, "a comment inside a statement");
		} else if (c == '\\') {
			return refuse(p, line, "a backslash");
		} else if (c == 0) {
			return refuse(p, line, "a NUL byte");
		} else {
			return refuse(p, line, "a character pgward does not accept here");
		}
	}
	/* only blanks may follow ';' on its line */
	while (p->pos < p->len && (p->in[p->pos] == ' ' || p->in[p->pos] == '\t'))
		p->pos++;
	if (p->pos < p->len && p->in[p->pos] != '\n')
		return refuse(p, p->line, "text after ';' on the same line (a second statement?)");
	if (p->pos < p->len) {
		/* the next line is between statements: the caller judges a backslash there */
		p->pos++;
		p->line++;
	}
	return 0;
}

/* ---- matching ---- */

static const struct token *peek(const struct parser *p)
{
	return p->at < p->ntok ? &p->tok[p->at] : NULL;
}

static bool kw(struct parser *p, const char *word)
{
	const struct token *t = peek(p);
	if (t && t->type == TK_WORD && strcmp(t->s, word) == 0) {
		p->at++;
		return true;
	}
	return false;
}

static bool tk(struct parser *p, enum tk_type type)
{
	const struct token *t = peek(p);
	if (t && t->type == type) {
		p->at++;
		return true;
	}
	return false;
}

/* A name: a quoted identifier, or an unquoted word (already lowercased). Stolen. */
static char *name(struct parser *p)
{
	struct token *t = p->at < p->ntok ? &p->tok[p->at] : NULL;
	if (!t || (t->type != TK_IDENT && t->type != TK_WORD))
		return NULL;
	p->at++;
	char *s = t->s;
	t->s = NULL;
	return s;
}

static char *string(struct parser *p)
{
	struct token *t = p->at < p->ntok ? &p->tok[p->at] : NULL;
	if (!t || t->type != TK_STRING)
		return NULL;
	p->at++;
	char *s = t->s;
	t->s = NULL;
	return s;
}

static int bad(struct parser *p, const char *why)
{
	const struct token *t = peek(p);
	return refuse(p, t ? t->line : p->stmt_line, why);
}

static void stmt_clear(struct gl_stmt *s)
{
	pw_free(s->name);
	pw_free(s->role);
	pw_free(s->grantor);
	pw_free(s->database);
	pw_free(s->param);
	for (size_t i = 0; i < s->nvalues; i++)
		pw_free(s->values[i]);
	pw_free(s->values);
	pw_free(s->text);
	pw_free(s->valid_until);
}

static const struct {
	const char *on, *off;
	unsigned bit;
} attrs[] = {
    {"superuser", "nosuperuser", GL_A_SUPERUSER},
    {"inherit", "noinherit", GL_A_INHERIT},
    {"createrole", "nocreaterole", GL_A_CREATEROLE},
    {"createdb", "nocreatedb", GL_A_CREATEDB},
    {"login", "nologin", GL_A_LOGIN},
    {"replication", "noreplication", GL_A_REPLICATION},
    {"bypassrls", "nobypassrls", GL_A_BYPASSRLS},
};

static int parse_attrs(struct parser *p, struct gl_stmt *s)
{
	bool any = false;
	while (!tk(p, TK_SEMI)) {
		const struct token *t = peek(p);
		if (!t || t->type != TK_WORD)
			return bad(p, "a role attribute pgward does not accept");
		bool done = false;
		for (size_t i = 0; i < sizeof attrs / sizeof attrs[0] && !done; i++) {
			bool on = strcmp(t->s, attrs[i].on) == 0,
			     off = strcmp(t->s, attrs[i].off) == 0;
			if (!on && !off)
				continue;
			if ((s->set | s->clear) & attrs[i].bit)
				return bad(p, "a role attribute given twice");
			if (on)
				s->set |= attrs[i].bit;
			else
				s->clear |= attrs[i].bit;
			p->at++;
			done = true;
		}
		if (done) {
		} else if (kw(p, "connection")) {
			if (s->has_conn_limit || !kw(p, "limit"))
				return bad(p, "a malformed CONNECTION LIMIT");
			const struct token *n = peek(p);
			if (!n || n->type != TK_NUMBER)
				return bad(p, "CONNECTION LIMIT without a number");
			long v = 0;
			const char *d = n->s + (n->s[0] == '-');
			for (; *d; d++)
				v = v * 10 + (*d - '0');
			if (n->s[0] == '-')
				v = -v;
			if (v < -1 || v > INT32_MAX)
				return bad(p, "CONNECTION LIMIT out of range");
			s->has_conn_limit = true;
			s->conn_limit = v;
			p->at++;
		} else if (kw(p, "valid")) {
			if (s->valid_until || !kw(p, "until") || !(s->valid_until = string(p)))
				return bad(p, "a malformed VALID UNTIL");
			if (strlen(s->valid_until) > 64)
				return bad(p, "a VALID UNTIL too long");
		} else if (strcmp(t->s, "password") == 0 || strcmp(t->s, "encrypted") == 0) {
			return bad(
			    p, "a password (backups hold none: pg_dumpall --no-role-passwords)");
		} else {
			return bad(p, "a role attribute pgward does not accept");
		}
		any = true;
	}
	return any ? 0 : bad(p, "ALTER ROLE ... WITH without attributes");
}

static int parse_set(struct parser *p, struct gl_stmt *s)
{
	if (!(s->param = name(p)))
		return bad(p, "a malformed ALTER ROLE ... SET");
	if (strlen(s->param) > GLOBALS_MAX_NAME)
		return bad(p, "a parameter name too long");
	/* a parameter not on the allow-list is parsed all the same: globals_apply() skips
	 * the statement and reports it */
	if (!kw(p, "to") && !tk(p, TK_EQ))
		return bad(p, "a malformed ALTER ROLE ... SET");
	s->values = pw_calloc(MAX_VALUES, sizeof *s->values);
	do {
		if (s->nvalues == MAX_VALUES)
			return bad(p, "a setting with too many values");
		if (!(s->values[s->nvalues] = string(p)))
			return bad(p, "a setting value that is not a string");
		s->nvalues++;
	} while (tk(p, TK_COMMA));
	return tk(p, TK_SEMI) ? 0 : bad(p, "text after the setting's value");
}

static int parse_grant(struct parser *p, struct gl_stmt *s)
{
	s->kind = GL_GRANT_ROLE;
	if (!(s->name = name(p)))
		return bad(p, "a GRANT pgward does not accept");
	if (tk(p, TK_COMMA))
		return bad(p, "a GRANT of several roles (pg_dumpall writes one per line)");
	if (!kw(p, "to"))
		return bad(p, "a GRANT pgward does not accept (only GRANT role TO role)");
	if (!(s->role = name(p)))
		return bad(p, "a GRANT without its member role");
	if (kw(p, "with")) {
		do {
			enum gl_opt *o = kw(p, "admin")     ? &s->admin
			                 : kw(p, "inherit") ? &s->inherit
			                 : kw(p, "set")     ? &s->setopt
			                                    : NULL;
			if (!o)
				return bad(p, "a GRANT option pgward does not accept");
			if (*o != GL_OPT_UNSET)
				return bad(p, "a GRANT option given twice");
			if (o == &s->admin && kw(p, "option"))
				*o = GL_OPT_TRUE;
			else if (kw(p, "true"))
				*o = GL_OPT_TRUE;
			else if (kw(p, "false"))
				*o = GL_OPT_FALSE;
			else
				return bad(p, "a GRANT option without TRUE or FALSE");
		} while (tk(p, TK_COMMA));
	}
	if (kw(p, "granted")) {
		if (!kw(p, "by") || !(s->grantor = name(p)))
			return bad(p, "a malformed GRANTED BY");
	}
	return tk(p, TK_SEMI) ? 0 : bad(p, "text pgward does not accept at the end of a GRANT");
}

static int parse_statement(struct parser *p, struct gl_stmt *s)
{
	s->line = p->stmt_line;
	if (kw(p, "create")) {
		if (kw(p, "role")) {
			s->kind = GL_CREATE_ROLE;
			if (!(s->name = name(p)))
				return bad(p, "CREATE ROLE without a name");
			return tk(p, TK_SEMI) ? 0
			                      : bad(p, "CREATE ROLE with options (pg_dumpall sets "
			                               "them with ALTER ROLE)");
		}
		if (kw(p, "tablespace")) {
			s->kind = GL_CREATE_TABLESPACE;
			if (!(s->name = name(p)) || !kw(p, "owner") || !(s->role = name(p)) ||
			    !kw(p, "location") || !(s->text = string(p)))
				return bad(p, "a CREATE TABLESPACE pgward does not accept");
			if (strlen(s->text) > 4096)
				return bad(p, "a tablespace location too long");
			return tk(p, TK_SEMI) ? 0 : bad(p, "CREATE TABLESPACE with options");
		}
		return bad(p, "a CREATE statement pgward does not accept");
	}
	if (kw(p, "alter")) {
		if (!kw(p, "role") || !(s->name = name(p)))
			return bad(p, "an ALTER statement pgward does not accept");
		if (kw(p, "with")) {
			s->kind = GL_ALTER_ROLE;
			return parse_attrs(p, s);
		}
		s->kind = GL_ROLE_SET;
		if (kw(p, "in")) {
			if (!kw(p, "database") || !(s->database = name(p)))
				return bad(p, "a malformed ALTER ROLE ... IN DATABASE");
		}
		if (!kw(p, "set"))
			return bad(p, "an ALTER ROLE pgward does not accept");
		return parse_set(p, s);
	}
	if (kw(p, "comment")) {
		if (!kw(p, "on"))
			return bad(p, "a COMMENT pgward does not accept");
		if (kw(p, "role"))
			s->kind = GL_COMMENT_ROLE;
		else if (kw(p, "tablespace"))
			s->kind = GL_COMMENT_TABLESPACE;
		else
			return bad(p, "a COMMENT on something other than a role or a tablespace");
		if (!(s->name = name(p)) || !kw(p, "is") || !(s->text = string(p)))
			return bad(p, "a malformed COMMENT");
		return tk(p, TK_SEMI) ? 0 : bad(p, "text after a COMMENT");
	}
	if (kw(p, "grant"))
		return parse_grant(p, s);
	return bad(p, "a statement pgward does not apply");
}

/* SET lines of pg_dumpall's preamble, exactly. 1: consumed; 0: not a SET. */
static int parse_preamble_set(struct parser *p)
{
	if (!kw(p, "set"))
		return 0;
	if (kw(p, "default_transaction_read_only") && tk(p, TK_EQ) && kw(p, "off") &&
	    tk(p, TK_SEMI) && p->at == p->ntok)
		return 1;
	p->at = 1;
	if (kw(p, "standard_conforming_strings") && tk(p, TK_EQ) && kw(p, "on") && tk(p, TK_SEMI) &&
	    p->at == p->ntok)
		return 1;
	p->at = 1;
	if (kw(p, "client_encoding") && tk(p, TK_EQ)) {
		const struct token *t = peek(p);
		if (t && t->type == TK_STRING && t->s[0] && strlen(t->s) < sizeof p->g->encoding) {
			bool ok = true;
			for (const char *c = t->s; *c; c++)
				ok = ok && (is_word_char((unsigned char)*c) || *c == '-');
			p->at++;
			if (ok && tk(p, TK_SEMI) && p->at == p->ntok) {
				pw_strlcpy(p->g->encoding, t->s, sizeof p->g->encoding);
				return 1;
			}
		}
	}
	return refuse(p, p->stmt_line, "a SET pgward does not accept");
}

/* A line starting with a backslash between statements: only pg_dumpall's \restrict KEY
 * (before every statement) and \unrestrict KEY (the same key, after them all). */
static int backslash_line(struct parser *p)
{
	size_t s = p->pos, e = s;
	while (e < p->len && p->in[e] != '\n')
		e++;
	const char *l = p->in + s;
	size_t n = e - s, klen;
	const char *key;
	bool unr;
	if (n > 10 && memcmp(l, "\\restrict ", 10) == 0)
		unr = false, key = l + 10, klen = n - 10;
	else if (n > 12 && memcmp(l, "\\unrestrict ", 12) == 0)
		unr = true, key = l + 12, klen = n - 12;
	else
		return refuse(p, p->line, "a backslash command");
	if (klen >= sizeof p->restrict_key)
		return refuse(p, p->line, "a backslash command");
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return refuse(p, p->line, "a backslash command");
	}
	if (!unr) {
		if (p->restrict_state != 0 || p->any_stmt)
			return refuse(p, p->line, "a \\restrict that is not the first command");
		memcpy(p->restrict_key, key, klen);
		p->restrict_key[klen] = 0;
		p->restrict_state = 1;
	} else {
		if (p->restrict_state != 1 || strlen(p->restrict_key) != klen ||
		    memcmp(p->restrict_key, key, klen) != 0)
			return refuse(p, p->line, "an \\unrestrict without its \\restrict");
		p->restrict_state = 2;
	}
	p->pos = e;
	if (p->pos < p->len) {
		p->pos++;
		p->line++;
	}
	return 0;
}

void globals_free(struct globals *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		stmt_clear(&g->v[i]);
	pw_free(g->v);
	pw_free(g);
}

static int parse_all(struct parser *p)
{
	while (p->pos < p->len) {
		const char *l = p->in + p->pos;
		size_t rest = p->len - p->pos;
		size_t blank = 0;
		while (blank < rest && (l[blank] == ' ' || l[blank] == '\t'))
			blank++;
		if (blank == rest) {
			p->pos = p->len;
			break;
		}
		if (l[blank] == '\n') {
			p->pos += blank + 1;
			p->line++;
			continue;
		}
		if (blank == 0 && rest >= 2 && l[0] == '-' && l[1] == '-') {
			/* a comment line; it must not hide a NUL */
			size_t e = 0;
			while (e < rest && l[e] != '\n') {
				if (l[e] == 0)
					return refuse(p, p->line, "a NUL byte");
				e++;
			}
			p->pos += e;
			if (p->pos < p->len) {
				p->pos++;
				p->line++;
			}
			continue;
		}
		if (blank == 0 && l[0] == '\\') {
			int rc = backslash_line(p);
			if (rc < 0)
				return rc;
			continue;
		}
		if (p->restrict_state == 2)
			return refuse(p, p->line, "a statement after \\unrestrict");
		int rc = lex_statement(p);
		if (rc < 0)
			return rc;
		p->at = 0;
		rc = parse_preamble_set(p);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (p->g->n == GLOBALS_MAX_STMTS)
				return refuse(p, p->stmt_line, "too many statements");
			if (p->g->n == p->g->cap) {
				p->g->cap = p->g->cap ? 2 * p->g->cap : 64;
				p->g->v = pw_realloc(p->g->v, p->g->cap * sizeof *p->g->v);
			}
			struct gl_stmt *s = &p->g->v[p->g->n];
			memset(s, 0, sizeof *s);
			p->at = 0;
			rc = parse_statement(p, s);
			if (rc == 0 && p->at != p->ntok)
				rc = bad(p, "text after the end of a statement");
			if (rc < 0) {
				stmt_clear(s);
				return rc;
			}
			p->g->n++;
			p->any_stmt = true;
		} else if (p->any_stmt) {
			return refuse(p, p->stmt_line, "a SET after the first role statement");
		}
		tokens_free(p);
	}
	if (p->restrict_state == 1)
		return refuse(p, p->line, "a \\restrict without its \\unrestrict");
	return 0;
}

int globals_parse(const char *text, size_t len, struct globals **out)
{
	*out = NULL;
	if (len > GLOBALS_MAX_INPUT) {
		pw_error(PW_E_LIMIT, "the globals object is larger than %u MiB",
		         GLOBALS_MAX_INPUT >> 20);
		return pw_error_hint("pg_dumpall's output is capped at that size at backup; "
		                     "this object was not written by pgward backup.");
	}
	struct parser *p = pw_calloc(1, sizeof *p);
	p->in = text;
	p->len = len;
	p->line = 1;
	p->g = pw_calloc(1, sizeof *p->g);
	pw_strlcpy(p->g->encoding, "UTF8", sizeof p->g->encoding);
	int rc = parse_all(p);
	tokens_free(p);
	if (rc < 0)
		globals_free(p->g);
	else
		*out = p->g;
	pw_free(p);
	return rc;
}

/* ---- policy ---- */

bool globals_param_allowed(const char *param)
{
	static const char *const ok[] = {
	    "application_name",
	    "bytea_output",
	    "client_min_messages",
	    "datestyle",
	    "default_statistics_target",
	    "default_transaction_deferrable",
	    "default_transaction_isolation",
	    "default_transaction_read_only",
	    "effective_cache_size",
	    "extra_float_digits",
	    "idle_in_transaction_session_timeout",
	    "idle_session_timeout",
	    "intervalstyle",
	    "jit",
	    "lock_timeout",
	    "maintenance_work_mem",
	    "random_page_cost",
	    "seq_page_cost",
	    "statement_timeout",
	    "timezone",
	    "work_mem",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcasecmp(param, ok[i]) == 0)
			return true;
	return false;
}

bool globals_role_privileged_by_name(const char *role)
{
	static const char *const harmless[] = {"pg_monitor", "pg_read_all_settings",
	                                       "pg_read_all_stats", "pg_stat_scan_tables"};
	if (strncmp(role, "pg_", 3) != 0)
		return false;
	for (size_t i = 0; i < sizeof harmless / sizeof harmless[0]; i++)
		if (strcmp(role, harmless[i]) == 0)
			return false;
	return true;
}

/* ---- rendering ---- */

static void put_q(struct pw_buf *b, gl_quote_fn q, void *arg, const char *s)
{
	char *t = q(arg, s);
	pw_buf_append(b, t, strlen(t));
	pw_free(t);
}

static const char *opt_word(enum gl_opt o)
{
	return o == GL_OPT_TRUE ? "TRUE" : "FALSE";
}

char *globals_render(const struct gl_stmt *s, unsigned strip, gl_quote_fn ident,
                     gl_quote_fn literal, void *arg)
{
	/* every part is capped by the parser: names 63 bytes (quoted: at most 130),
	 * literals 1 MiB (quoted: at most twice that, plus E and quotes), 64 values */
	struct pw_buf b = PW_BUF_INIT(SIZE_MAX / 2);
	switch (s->kind) {
	case GL_CREATE_ROLE:
		pw_buf_printf(&b, "CREATE ROLE ");
		put_q(&b, ident, arg, s->name);
		break;
	case GL_ALTER_ROLE: {
		pw_buf_printf(&b, "ALTER ROLE ");
		put_q(&b, ident, arg, s->name);
		pw_buf_printf(&b, " WITH");
		unsigned set = s->set & ~strip, clear = s->clear | (s->set & strip);
		for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
			const char *w = set & attrs[i].bit     ? attrs[i].on
			                : clear & attrs[i].bit ? attrs[i].off
			                                       : NULL;
			if (!w)
				continue;
			pw_buf_putc(&b, ' ');
			for (const char *c = w; *c; c++)
				pw_buf_putc(&b, (char)(*c - 'a' + 'A'));
		}
		if (s->has_conn_limit)
			pw_buf_printf(&b, " CONNECTION LIMIT %ld", s->conn_limit);
		if (s->valid_until) {
			pw_buf_printf(&b, " VALID UNTIL ");
			put_q(&b, literal, arg, s->valid_until);
		}
		break;
	}
	case GL_ROLE_SET:
		pw_buf_printf(&b, "ALTER ROLE ");
		put_q(&b, ident, arg, s->name);
		if (s->database) {
			pw_buf_printf(&b, " IN DATABASE ");
			put_q(&b, ident, arg, s->database);
		}
		pw_buf_printf(&b, " SET ");
		put_q(&b, ident, arg, s->param);
		pw_buf_printf(&b, " TO ");
		for (size_t i = 0; i < s->nvalues; i++) {
			if (i)
				pw_buf_printf(&b, ", ");
			put_q(&b, literal, arg, s->values[i]);
		}
		break;
	case GL_COMMENT_ROLE:
	case GL_COMMENT_TABLESPACE:
		pw_buf_printf(&b, "COMMENT ON %s ",
		              s->kind == GL_COMMENT_ROLE ? "ROLE" : "TABLESPACE");
		put_q(&b, ident, arg, s->name);
		pw_buf_printf(&b, " IS ");
		put_q(&b, literal, arg, s->text);
		break;
	case GL_GRANT_ROLE: {
		pw_buf_printf(&b, "GRANT ");
		put_q(&b, ident, arg, s->name);
		pw_buf_printf(&b, " TO ");
		put_q(&b, ident, arg, s->role);
		const char *sep = " WITH ";
		if (s->admin == GL_OPT_TRUE) {
			pw_buf_printf(&b, "%sADMIN OPTION", sep);
			sep = ", ";
		} else if (s->admin == GL_OPT_FALSE) {
			pw_buf_printf(&b, "%sADMIN FALSE", sep);
			sep = ", ";
		}
		if (s->inherit != GL_OPT_UNSET) {
			pw_buf_printf(&b, "%sINHERIT %s", sep, opt_word(s->inherit));
			sep = ", ";
		}
		if (s->setopt != GL_OPT_UNSET)
			pw_buf_printf(&b, "%sSET %s", sep, opt_word(s->setopt));
		if (s->grantor) {
			pw_buf_printf(&b, " GRANTED BY ");
			put_q(&b, ident, arg, s->grantor);
		}
		break;
	}
	case GL_CREATE_TABLESPACE:
		pw_buf_printf(&b, "CREATE TABLESPACE ");
		put_q(&b, ident, arg, s->name);
		pw_buf_printf(&b, " OWNER ");
		put_q(&b, ident, arg, s->role);
		pw_buf_printf(&b, " LOCATION ");
		put_q(&b, literal, arg, s->text);
		break;
	}
	char *r = pw_strdup(pw_buf_str(&b));
	pw_buf_free(&b, 0);
	return r;
}
