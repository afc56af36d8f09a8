/*
 * safefile.h - writing and reading files where another local user may control a
 * directory or plant a name: the one way pgward writes outside its repository.
 *
 * Writing: the directory is resolved one component at a time (openat with
 * O_NOFOLLOW | O_DIRECTORY; a symbolic link is followed only where its directory is
 * trusted), every directory must be writable by no one but root and the target's owner
 * (a sticky world-writable directory such as /tmp is allowed only for a name created
 * fresh), the data goes to a new file made with O_EXCL in that directory and becomes the
 * target by renameat within the same directory. An existing target must be a regular
 * file with one link; a FIFO, device or symbolic link there is refused, never opened.
 * Path "-" is standard output.
 *
 * Reading a file that carries trust (configuration, keys, recipients, records): opened
 * without following a final symbolic link and without blocking (a FIFO never hangs), a
 * regular file owned by root or the current user, not writable by group or others (and
 * for a secret, not readable by them either).
 */
#ifndef PW_COMMON_SAFEFILE_H
#define PW_COMMON_SAFEFILE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/buf.h"

/* pw_safefile_open flags */
#define PW_SAFE_EXCLUSIVE 0x1u /* never replace an existing name (PW_E_EXISTS) */
/* the existing target may belong to another user (an application's env file): its owner
 * counts as trusted for the directory check; the caller gives the new file that owner */
#define PW_SAFE_OTHER_OWNER 0x2u
/* still a new file renamed into place, but neither it nor the directory is fsynced: for a
 * file whose reader needs it complete, not durable (wal-fetch's %p) */
#define PW_SAFE_NO_SYNC 0x4u

struct pw_safefile;
int pw_safefile_open(struct pw_safefile **out, const char *path, mode_t mode, unsigned flags);
int pw_safefile_fd(const struct pw_safefile *f);
/* The existing target as it was checked (a regular file with one link), or NULL. */
const struct stat *pw_safefile_old(const struct pw_safefile *f);
/* Read the existing target (the same inode that was checked) into out; nothing when none. */
int pw_safefile_read_old(struct pw_safefile *f, struct pw_buf *out);
/* fsync, then make the new file the target (renameat in the same directory). */
int pw_safefile_commit(struct pw_safefile *f);
/* Without a commit, removes the temporary file. NULL-safe. */
void pw_safefile_free(struct pw_safefile *f);

/* Open the directory dir for writing into it with the checks above; owner is the uid that
 * besides root may control it. *shared is set for a sticky world-writable directory. */
int pw_safe_opendir(const char *dir, uid_t owner, bool *shared, int *dfd);

/* Create the missing parent directories of path, mode 0700 (a fresh host has no
 * $XDG_STATE_HOME/pgward yet); the opens above then check each directory they write into.
 * On failure: code (a PW_E_* value) with the directory named, and hint as the hint. */
int pw_mkdir_parents(const char *path, int code, const char *hint);

/* Open a log or state file for appending (created with mode if missing): the directory as
 * above, never through a symbolic link, and it must be our own regular file with one link. */
int pw_safe_open_append(const char *path, mode_t mode, int *fd);

/* pw_trusted_open flags */
#define PW_TRUST_SECRET 0x1u  /* also refuse a file group or others may read */
#define PW_TRUST_MISSING 0x2u /* a missing file is *fd = -1 and 0, not an error */
/* follow a final symbolic link (the target is still checked): for files a platform mounts
 * as links, such as Kubernetes projected service-account tokens */
#define PW_TRUST_FOLLOW 0x4u
/* Open a file that carries trust for reading (see above); what names it in errors. */
int pw_trusted_open(const char *path, const char *what, unsigned flags, int *fd);
/* pw_trusted_open and read it whole into out (capped by out->max); "-" is stdin. */
int pw_trusted_read(const char *path, const char *what, unsigned flags, struct pw_buf *out);

#endif
