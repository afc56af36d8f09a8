/* str.h - small string helpers: bounded copy, strict number parsing, trimming. */
#ifndef PW_COMMON_STR_H
#define PW_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy with truncation, always NUL-terminated (dst size > 0). Returns strlen(src). */
size_t pw_strlcpy(char *dst, const char *src, size_t size);
bool pw_streq(const char *a, const char *b);
bool pw_startswith(const char *s, const char *prefix);
/* Strict unsigned decimal: digits only, no sign, no leading zeros (except "0"), no overflow. */
int pw_parse_u64(const char *s, uint64_t *out);
/* Size with optional unit: "64", "16MiB", "50MB", "1G" (K/M/G/T are powers of 1024). */
int pw_parse_size(const char *s, uint64_t *out);
/* Boolean: y/yes/true/on/1 and n/no/false/off/0. */
int pw_parse_bool(const char *s, bool *out);
/* Human-readable size: "512 B", "1.5 MiB" (sep between number and unit). */
void pw_human_size(uint64_t bytes, const char *sep, char *out, size_t size);
/* Trim ASCII whitespace at both ends in place; returns s. */
char *pw_trim(char *s);

/* Length of the valid UTF-8 sequence at p (at most avail bytes; RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF) with its code point in *cp; 0 if not one. */
size_t pw_utf8_seq(const unsigned char *p, size_t avail, unsigned *cp);
/* n bytes of valid UTF-8 without a NUL. */
bool pw_utf8_valid(const char *s, size_t n);
/*
 * The one sanitizer for display: every string that comes from a repository, an S3 endpoint
 * or a database (object and stray names, manifest fields, error texts quoting them) passes
 * it before it reaches a terminal, a log or a report. C0 controls (ESC...), DEL, C1
 * controls and invalid UTF-8 become \xHH, newline, CR and tab \n \r \t, a backslash
 * \\; valid printable UTF-8 stays. Writes into out (truncated with "..." to fit size)
 * and returns out.
 */
const char *pw_str_printable(char *out, size_t size, const char *s);
/* The same into a new string (pw_free it). */
char *pw_str_printable_dup(const char *s);

#endif
