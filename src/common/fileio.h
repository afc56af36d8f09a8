/* fileio.h - small local-file helpers: capped reads, private-mode checks, full writes. */
#ifndef PW_COMMON_FILEIO_H
#define PW_COMMON_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"

/* pgward's per-user state file FILE: $XDG_STATE_HOME/pgward/FILE, else
 * ~/.local/state/pgward/FILE, else /var/lib/pgward/FILE (allocated). */
char *pw_state_path(const char *file);
/* Read a whole file (path "-" = stdin) into out, failing past out->max bytes. */
int pw_read_file(const char *path, struct pw_buf *out);
/* -PW_E_INSECURE (with a chmod hint) if fd's file is readable or writable by group/others. */
int pw_check_private_fd(int fd, const char *path, const char *what);
/* write(2) everything, retrying on EINTR and short writes. */
int pw_write_all(int fd, const void *p, size_t n, const char *what);
/* Set from a signal handler (main): blocking reads and writes stop with PW_E_INTERRUPTED. */
void pw_set_interrupted(int signo);
int pw_interrupted(void);

/* Read up to n bytes, retrying on EINTR; returns bytes read (0 = EOF) or -PW_E_IO. */
ssize_t pw_read_some(int fd, void *p, size_t n, const char *what);

/*
 * An output file written atomically and safely (common/safefile.h): data goes
 * to a new file in the same directory, which becomes `path` only on
 * pw_outfile_commit (fsync + renameat + directory fsync); free without commit
 * removes it. With exclusive, an existing path is never replaced (PW_E_EXISTS).
 * An existing FIFO, device or symbolic link is refused; "-" is standard output.
 */
struct pw_outfile;
int pw_outfile_open(struct pw_outfile **out, const char *path, mode_t mode, bool exclusive);
int pw_outfile_fd(const struct pw_outfile *f);
int pw_outfile_commit(struct pw_outfile *f);
void pw_outfile_free(struct pw_outfile *f);

#endif
