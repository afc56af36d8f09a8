/*
 * cred.h - named database credentials (docs/credentials.md): a NOLOGIN
 * privilege role "pgward:<name>" holds the grants and owns what the
 * credential creates; the LOGIN usernames "<name>" (and "<name>-rotating"
 * during a rotation) are members of it and act as it (ALTER ROLE ... SET
 * role). pgward's bookkeeping is a JSON comment on the privilege role, so no
 * local state is needed to list or rotate. Passwords reach the server only
 * as SCRAM-SHA-256 verifiers computed here.
 */
#ifndef PW_CRED_CRED_H
#define PW_CRED_CRED_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/secret.h"
#include "pg/pg.h"

#define CRED_PRIV_PREFIX "pgward:"
#define CRED_NAME_MAX 50
#define CRED_ROTATING_SUFFIX "-rotating"
#define CRED_PASSWORD_LEN 65

enum cred_level { CRED_NONE, CRED_READ_ONLY, CRED_READ_WRITE };

/* The admin session (the default credential) and what pgward knows of it. */
struct cred_conn {
	struct pg_conn *pg;
	char admin[64];  /* current_user: the default credential */
	char dbname[64]; /* current_database() */
	bool admin_superuser;
	long limit; /* most credentials per database */
};

/* One credential as stored in the database. */
struct cred {
	char name[64];
	json_t *meta;   /* the comment of the privilege role (owned) */
	bool has_login; /* role <name> exists */
	bool has_rot;   /* role <name>-rotating exists */
	long login_conns;
	long rot_conns;
};

/* Pure helpers (unit-tested). */
int cred_name_check(const char *name);
int cred_level_parse(const char *s, enum cred_level *out);
const char *cred_level_name(enum cred_level l);
struct pw_priv_finding;
/* Does the level allow this finding of the privilege model (pg/privs.h)? read-write: row
 * writes (INSERT, UPDATE, DELETE; sequences) in its own schemas (a JSON array of names);
 * no level: TRUNCATE, CREATE, ownership, attributes other than BYPASSRLS, large objects,
 * writing roles. A membership in priv_role (the credential's privilege role, checked on
 * its own) is allowed. */
bool cred_level_allows(const struct pw_priv_finding *f, enum cred_level level, json_t *schemas,
                       const char *priv_role);
/* 65 characters of [A-Za-z0-9] from the OS CSPRNG, without modulo bias. */
int cred_password_new(struct pw_secret **out);
/* role names for a credential */
void cred_priv_role(const char *name, char *out, size_t size);
void cred_rot_role(const char *name, char *out, size_t size);

/* Start: refuse followers, learn the admin role, take the credentials lock. */
int cred_open(struct pg_conn *pg, long limit, struct cred_conn *cc);
/* All credentials of the database, sorted by name (caller frees with cred_list_free). */
int cred_list(struct cred_conn *cc, struct cred **out, size_t *n);
void cred_list_free(struct cred *v, size_t n);
/* One credential; -PW_E_CREDENTIAL (with a hint) when there is none of that name. */
int cred_get(struct cred_conn *cc, const char *name, struct cred *out);
void cred_clear(struct cred *c);
/* The meta field helpers. */
const char *cred_meta_str(const struct cred *c, const char *key);
int cred_save_meta(struct cred_conn *cc, const char *name, json_t *meta);

/* create: the roles, the level, the bookkeeping; one transaction. schemas NULL = all. */
int cred_create(struct cred_conn *cc, const char *name, enum cred_level level,
                const char *const *schemas, size_t nschemas, bool cluster_wide,
                const struct pw_secret *password, const char *sealed);
/* Revoke what the old level granted, grant the new one, verify; one transaction. */
int cred_set_level(struct cred_conn *cc, const char *name, enum cred_level level,
                   const char *const *schemas, size_t nschemas, bool cluster_wide);
/* Reassign owned objects to the default credential and drop the roles; one transaction. */
int cred_destroy(struct cred_conn *cc, const char *name);
/* Give the default credential back its ownership and ADMIN OPTION; report what was done. */
int cred_repair_default(struct cred_conn *cc, json_t *report);

/* Rotation steps (the orchestration with attachments is in the command layer). */
int cred_rotate_create(struct cred_conn *cc, const char *name, const struct pw_secret *password,
                       long grace, bool force, const char *sealed);
int cred_set_password(struct cred_conn *cc, const char *role, const struct pw_secret *password);
/* Sessions of a role now (client backends). */
int cred_count_sessions(struct cred_conn *cc, const char *role, long *out);
/* Terminate the sessions of role (all, or those older than older_than seconds). */
int cred_terminate(struct cred_conn *cc, const char *role, long *killed);
/* Step 3: drop <name>, rename <name>-rotating to <name>; with alias_password, a
 * short-lived "<name>-rotating" alias is created with the same password so clients
 * that still reconnect with the rotating URL keep working until they drain. */
int cred_rotate_swap(struct cred_conn *cc, const char *name,
                     const struct pw_secret *alias_password);
/* Step 4: drop the alias. */
int cred_rotate_finish(struct cred_conn *cc, const char *name);
/* The server's clock (seconds since the epoch) and an ISO-8601 UTC string of it. */
int cred_now(struct cred_conn *cc, long long *epoch, char *iso, size_t isosize);

#endif
