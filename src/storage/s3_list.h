/*
 * s3_list.h - (internal to storage) one page of an S3 ListObjectsV2 reply, parsed. Pure (no
 * I/O), so it is unit-tested on recorded replies (tests/data/s3/) and fuzzed
 * (fuzz/fuzz_s3_list.c). The reply is outside input: a hostile or broken endpoint may send
 * keys outside the requested prefix (dropped here), names that are not valid keys (given on
 * as they are; stor_list reports them as strays), sizes that are not numbers, or no XML.
 */
#ifndef PW_STORAGE_S3_LIST_H
#define PW_STORAGE_S3_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

/*
 * Parse the n bytes of xml. For each <Contents> whose (URL-decoded when the reply says
 * <EncodingType>url</EncodingType>) key starts with full_prefix, call fn with the key less
 * its first strip bytes (strip <= strlen(full_prefix)). A key that decodes to a NUL byte or
 * to bad percent-escapes is given on undecoded with info->stray set. *next_token: the
 * continuation token when the reply is truncated (pw_free it), else NULL; when a truncated
 * reply's token is missing or unusable (a control character in it, written as XML 1.0
 * forbids: Ceph RGW does that, and such characters are repaired to DEL before parsing),
 * *start_after is the page's last key instead (list on with start-after).
 * Returns 0, fn's negative result, or -PW_E_STORAGE (recorded) for an unreadable reply.
 */
int s3_list_parse(const uint8_t *xml, size_t n, const char *full_prefix, size_t strip,
                  int (*fn)(void *arg, const struct stor_info *info), void *arg, char **next_token,
                  char **start_after);

#endif
