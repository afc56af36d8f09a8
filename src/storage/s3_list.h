/*
 * s3_list.h - (internal to storage) one page of an S3 ListObjectsV2 reply, parsed. Pure (no
 * I/O), so it is unit-tested on recorded replies (tests/data/s3/) and fuzzed
 * (fuzz/fuzz_s3_list.c). The reply is outside input: a hostile or broken endpoint may send
 * keys outside the requested prefix (dropped here), names that are not valid keys (given on
 * as they are; stor_list reports them as strays), sizes that are not numbers, or no XML.
 */
#ifndef PW_STORAGE_S3_LIST_H
#define PW_STORAGE_S3_LIST_H

#include <stdbool.h>
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

/*
 * The <Code> and <Message> of an S3 error document (anywhere in the n bytes of body), each
 * cut to its buffer; "" when absent or when the body is not XML. Pure, like the above:
 * unit-tested on recorded replies (tests/data/s3/replies/).
 */
void s3_error_parse(const uint8_t *body, size_t n, char *code, size_t code_size, char *msg,
                    size_t msg_size);

/* What a reply that arrived (the transfer itself worked) means for its request. */
enum s3_reply_kind {
	S3_REPLY_OK,    /* done (2xx, or the status the caller expects, e.g. 404 for a stat) */
	S3_REPLY_RETRY, /* transient: 5xx, 429, RequestTimeout, SlowDown, InternalError (also in
	                 * a 200: CompleteMultipartUpload reports late failures so), or a 2xx
	                 * without the XML body the request needs */
	S3_REPLY_FAIL   /* permanent: what s3_reply_missing says, or an error to report */
};
struct s3_reply {
	long status;    /* HTTP status */
	long ok_status; /* a further status that is not an error (0: none) */
	bool want_xml;  /* the request needs an XML body (CreateMultipartUpload and the like) */
	bool body_data; /* the body is object data (a GET into a sink), never an error document */
	const uint8_t *body;
	size_t n;
};
/* Classify r; code and msg get the error document's (or "EmptyResponse"), else "". */
enum s3_reply_kind s3_reply_classify(const struct s3_reply *r, char *code, size_t code_size,
                                     char *msg, size_t msg_size);
/* A failed reply that means "no such object" (404 with NoSuchKey or no code), not an error of
 * the request: a stat or get reports NOTFOUND instead. */
bool s3_reply_missing(long status, const char *code);

#endif
