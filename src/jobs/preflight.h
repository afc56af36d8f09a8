/*
 * preflight.h - principle 1: before reading anything, prove the backup role
 * cannot change the database, and that the dump will be complete. Each
 * finding comes with the statement that fixes it.
 */
#ifndef PW_JOBS_PREFLIGHT_H
#define PW_JOBS_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

struct pg_conn;

enum finding_kind { F_PRIVILEGE, F_INCOMPLETE };

struct finding {
	enum finding_kind kind;
	char *what; /* allocated */
	char *fix;  /* allocated: valid SQL */
};

struct preflight {
	struct finding *f;
	size_t n;
	size_t more; /* findings not listed (beyond the cap) */
	bool superuser;
	bool can_dump_globals; /* may read pg_authid-free role info: pg_dumpall --globals-only */
	char role[128]; /* the login role (session_user), examined with everything it can reach */
	char database[128];
	long long database_size;
};

int preflight_run(struct pg_conn *c, struct preflight *p);
size_t preflight_count(const struct preflight *p, enum finding_kind k);
void preflight_free(struct preflight *p);

#endif
