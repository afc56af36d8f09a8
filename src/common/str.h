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

#endif
