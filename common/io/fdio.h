/*
 * fdio: whole reads and writes on file descriptors, for the programs (not
 * for the pure library in common/, which does no I/O and cannot include
 * this header).  Every function retries on EINTR and on short counts;
 * failures return -1 with errno set (ENOMEM when a buffer could not grow).
 */
#ifndef RTQ_FDIO_H
#define RTQ_FDIO_H

#include <sys/types.h>

#include <stddef.h>

#include "buf.h"

/* Write all n bytes of s to fd.  Returns 0 or -1. */
int	 fdio_write_all(int fd, const void *s, size_t n);
/* read(2), retried on EINTR.  Returns what read returned. */
ssize_t	 fdio_read(int fd, void *s, size_t n);
/* Append everything up to end of file on fd to b.  Returns 0 or -1. */
int	 fdio_read_all(int fd, struct buf *b);
/* Append the whole file at path to b.  Returns 0 or -1. */
int	 fdio_read_file(const char *path, struct buf *b);
/*
 * Create or truncate path (mode for a new file) and write s to it, closing
 * it.  Returns 0 or -1.
 */
int	 fdio_write_file(const char *path, const void *s, size_t n, int mode);
/* Copy from one descriptor to another until end of file.  0 or -1. */
int	 fdio_copy(int from, int to);
/* $TMPDIR when set and not empty, else "/tmp". */
const char *fdio_tmpdir(void);
/* A wait(2) status as a shell says it: the exit code, or 128 + signal. */
int	 fdio_exit_code(int wstatus);
/*
 * Wait for child pid to exit, looking after 1, 2, 4 ... ms, then every
 * 50 (a child told to go exits within a few ms): target (pid, or -pid for
 * its process group) gets TERM once term_ms have passed (0: never), KILL
 * once kill_ms have, each followed by CONT.  Returns 0 with its wait
 * status in *status, or -1 (waitpid failed: not our child).
 */
int	 fdio_reap(pid_t pid, pid_t target, int term_ms, int kill_ms,
	    int *status);

#endif
