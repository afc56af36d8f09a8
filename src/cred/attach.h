/*
 * attach.h - attachments: a credential's URL kept in an application's
 * environment file (VAR='url' lines, replaced atomically, mode 0600), and
 * this host's record of them (which file, which variable, which command to
 * run after a change). The record stays on this host, never in the database:
 * a database owner must not be able to make pgward run commands here.
 */
#ifndef PW_CRED_ATTACH_H
#define PW_CRED_ATTACH_H

#include <jansson.h>

/* Set VAR in the env file (created 0600 if missing; other lines kept). */
int attach_env_set(const char *path, const char *var, const char *value);
/* Remove VAR from the env file (a missing file or variable is not an error). */
int attach_env_unset(const char *path, const char *var);
/* The value of VAR (allocated) or NULL when absent; errors only for unreadable files. */
int attach_env_get(const char *path, const char *var, char **out);

/* This host's attachments: a JSON array of {database, credential, path, var, on_change}. */
char *attach_registry_default_path(void);
int attach_registry_load(const char *path, json_t **out);
int attach_registry_save(const char *path, json_t *arr);

/* Run the on-change command with /bin/sh -c; non-zero exit is reported, not fatal. */
int attach_run_on_change(const char *cmd, const char *credential, const char *env_file);

#endif
