/*
 * assert.h - invariants, stated (SQLite's discipline).
 *
 *   PW_ASSERT(x)  proven true: the code around it makes x impossible to break. Debug builds
 *                 (no NDEBUG: meson's debug and debugoptimized) print the condition with
 *                 file:line and abort; release builds compile it to nothing (x is not
 *                 evaluated, only type-checked). Never for input, never with side effects.
 *   PW_CHECK(x)   believed true (common/err.h): in every build, if x is false, records
 *                 "internal check failed: x (file:line)" and returns -PW_E_INTERNAL from the
 *                 enclosing function, which must return int.
 *
 * Like <assert.h>, PW_ASSERT follows NDEBUG at each inclusion (the rest is included once).
 * pw_assert_failed and the out-of-memory path (common/mem.c) are the only abort()s.
 */
#include "common/err.h"

#ifndef PW_COMMON_ASSERT_H
#define PW_COMMON_ASSERT_H
_Noreturn void pw_assert_failed(const char *cond, const char *file, int line);
#endif

#undef PW_ASSERT
#ifdef NDEBUG
#define PW_ASSERT(x) ((void)sizeof(!(x)))
#else
#define PW_ASSERT(x) ((x) ? (void)0 : pw_assert_failed(#x, __FILE__, __LINE__))
#endif
