/*
 * loop.h - the service's loop (pgward serve): it runs each job as a child process (job.h),
 * several stanzas at once, supervises wal-stream, publishes what it knows on the board,
 * serves the API (api.h), posts events to the notifier (notify.h), talks to systemd
 * (sdnotify.h), reloads its configuration (serveconf.h) on SIGHUP and stops on SIGTERM,
 * stopping its jobs.
 */
#ifndef PW_DAEMON_LOOP_H
#define PW_DAEMON_LOOP_H

#include <stdbool.h>

#include <jansson.h>

#include "config/config.h"
#include "daemon/job.h"
#include "daemon/serveconf.h"
#include "daemon/walprobe.h"

/* What the loop needs from the layers above it (the command layer supplies these). */
struct serve_hooks {
	/* The API's backups resource (api_hooks.backups; arg: the configuration file's path). */
	int (*backups)(void *config_path, const char *stanza, json_t **out);
	serve_wal_status_fn *wal_status; /* the WAL probe's reading of the repository */
	serve_job_opts_fn *command_opts; /* a job's options from the environment */
	serveconf_tag_ok_fn *tag_ok;     /* the repository's rule for a tag name */
	const char *audit_path;          /* where the API's records go */
};

/* Serve cfg's configuration until a stop signal, or with once until nothing is due and
 * nothing runs (no API, webhooks, wal-stream or systemd then). 0, or the first error;
 * with once, a job that failed makes it fail. */
int serve_loop(const struct pw_config *cfg, bool once, const struct serve_hooks *h);
#endif
