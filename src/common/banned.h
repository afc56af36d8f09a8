/*
 * banned.h - functions pgward never calls, refused by the compiler. meson.build force-includes
 * this file (-include) into every C file, so a banned call is a build error, not a review
 * comment. It is also the one list: tools/banned.sh reads the names from the poison lines
 * below (the lint of the test suite, and a check that the build still force-includes this).
 *
 * The system headers that declare these functions come first: a poisoned name is an error
 * wherever it appears after the pragma, and their declarations must not be.
 *
 * Why each is banned, and what to use instead:
 *   sprintf vsprintf strcpy strcat strncpy  no bound, or a bound that does not terminate:
 *                                           snprintf, pw_strlcpy, struct pw_buf
 *   strtok                                  hidden state: strtok_r, pw_split
 *   atoi atol                               no error, undefined on overflow: pw_parse_u64
 *   gets                                    no bound at all
 *   system                                  a shell: pw_proc (argv only, clean environment)
 *   strerror                                not thread-safe: pw_strerror
 *   gmtime localtime asctime ctime          static buffers, local time: common/time.h
 *   rand                                    predictable: pw_random (OpenSSL)
 *   tmpnam mktemp                           races: pw_safe_* (O_EXCL), mkstemp, mkdtemp
 */
#ifndef PW_COMMON_BANNED_H
#define PW_COMMON_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* tools/banned.sh parses the names from the lines that start with the pragma */
#pragma GCC poison sprintf vsprintf strcpy strcat strncpy
#pragma GCC poison strtok atoi atol gets system
#pragma GCC poison strerror gmtime localtime asctime ctime
#pragma GCC poison tmpnam mktemp

/*
 * Names that library headers included later use for other things (OpenSSL's evp.h names a
 * parameter "rand") cannot be poisoned: a call is an error through a deprecated
 * redeclaration instead (warnings are errors; system headers only declare). banned.sh parses
 * these too: a line starting "PW_BANNED_CALL(".
 */
#define PW_BANNED_CALL(decl)                                                                       \
	decl __attribute__((deprecated("banned function (src/common/banned.h)")))
PW_BANNED_CALL(int rand(void));

#endif
