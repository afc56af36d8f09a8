/*
 * s3_creds.h - (internal to storage) where S3 credentials come from, in order:
 * explicit options / AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
 * the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
 * profile AWS_PROFILE or "default"); the container credentials endpoint
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, as ECS task roles); the EC2
 * instance metadata service (IMDSv2; off when AWS_EC2_METADATA_DISABLED=true).
 * Temporary credentials are refreshed before they expire. Thread-safe.
 */
#ifndef PW_STORAGE_S3_CREDS_H
#define PW_STORAGE_S3_CREDS_H

#include <time.h>

#include "common/secret.h"
#include "storage/storage.h"

struct s3_creds;

/* A snapshot to sign one request with; release with s3_creds_put. */
struct s3_cred_snapshot {
	char *access_key;
	struct pw_secret *secret_key;
	struct pw_secret *session_token; /* or NULL */
	const char *source;              /* "environment", "shared credentials file", ... */
};

int s3_creds_new(const struct stor_config *cfg, struct s3_creds **out);
int s3_creds_get(struct s3_creds *c, struct s3_cred_snapshot *snap);
void s3_creds_put(struct s3_cred_snapshot *snap);
const char *s3_creds_source(struct s3_creds *c);
void s3_creds_free(struct s3_creds *c);

#endif
