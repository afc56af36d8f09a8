/*
 * walprobe.h - the time of the last durable WAL (and the recovery window) on the service's
 * board, for the stanzas with wal-stream = yes.
 *
 * A thread of the service reads it from the repository, every SERVE_WAL_PROBE_SECONDS and
 * at once after a reload (serve_wal_kick): the signed stored= time of the object that ends
 * the newest timeline's WAL (the command layer's
 * serve_wal_status_fn: pw_wal_status). Durable means "in the repository", so the
 * repository says it, not the supervised child: the figure stays true when the child hangs
 * without exiting, when another host streams, or when WAL comes from wal-push. One stanza
 * after another, one listing each: at most one WAL and one backup listing per stanza and
 * interval.
 */
#ifndef PW_DAEMON_WALPROBE_H
#define PW_DAEMON_WALPROBE_H

#include <time.h>

#include "service/board.h"

#define SERVE_WAL_PROBE_SECONDS 30

/* The stanza's continuous WAL as the repository holds it, read with the stanza's
 * configuration from the file config_path: *last_durable the time of the last durable WAL
 * (0: none), *from and *to the recovery window (0: none). */
typedef int serve_wal_status_fn(const char *config_path, const char *stanza, time_t *last_durable,
                                time_t *from, time_t *to);

struct serve_wal;
/* Start the thread (config_path is copied: the configuration is re-read for each probe);
 * status reads the repository. */
int serve_wal_start(const char *config_path, struct board *b, serve_wal_status_fn *status,
                    struct serve_wal **out);
/* Probe now (a reload: the stanzas or their repository may have changed). NULL: no-op. */
void serve_wal_kick(struct serve_wal *w);
/* Stop the thread, waiting a few seconds for a probe in flight; false when it did not end
 * (a storage request hangs): then the board must outlive the process. NULL: true. */
bool serve_wal_stop(struct serve_wal *w);
#endif
