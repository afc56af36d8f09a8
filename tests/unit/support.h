/* support.h - shared cmocka setup: routes pgward's allocator through cmocka's leak checker. */
#ifndef PW_TEST_SUPPORT_H
#define PW_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Install cmocka's test_malloc/test_free as pgward's allocator (call from a group setup). */
void pw_test_use_cmocka_allocator(void);
int pw_test_group_setup(void **state);
/* Path under $PGWARD_TESTDATA into buf. */
const char *pw_test_data(const char *rel, char *buf, size_t size);

#endif
