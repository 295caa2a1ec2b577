/*
 * tfio: the task file on disk -- locking, reading, the atomic rewrite.
 *
 * Locking: only the sidecar "<file>.lock" is locked (flock, exclusive), the
 * same lock file runtask.sh uses, so a rename of the task file never
 * strands a lock and both tools can serve one file.  The task file itself is
 * opened by path after the lock is taken.  A task file reached through a
 * symlink is locked by both names, the given one first.
 *
 * Rewrite: the new version goes to a temporary file in the directory of the
 * real file (a symlinked task file is rewritten at its target), which gets
 * the old mode (and owner where allowed), is written, fsync'ed, and renamed
 * over the task file; then the directory is fsync'ed.  A crash at any point
 * leaves the old or the new file, never a part of one.
 *
 * Appends: people append with "echo ... >> file", which takes no lock.
 * Just before the rename the file is stat'ed again; if it changed since it
 * was read, the caller is told to redo its work on the new content.  After
 * the rename, bytes that still reached the old file are copied to the end
 * of the new one.  A writer that opened the file before the rename may
 * write after that look, so each replaced inode stays linked beside the
 * task file, as ".NAME.prev.rtq.N" in a ring of TFIO_PREVS, for
 * TFIO_PREV_SECS seconds: every request (under the lock) copies whatever
 * reached them since, and the rewrite looks once more before it lets one
 * go.  What remains is a writer that opened the file more than
 * TFIO_PREVS rewrites or TFIO_PREV_SECS seconds before it writes (see
 * rtq-taskfile(5)).
 */
#ifndef RTQ_TFIO_H
#define RTQ_TFIO_H

#include <sys/types.h>
#include <sys/stat.h>

#include "buf.h"
#include "patch.h"

#define TFIO_PREVS	16	/* previous versions watched for late appends */
#define TFIO_PREV_SECS	5	/* for this long after they were replaced */

/* A replaced version of the task file, kept linked as .NAME.prev.rtq.SLOT */
struct tfio_prev {
	unsigned long long ino;		/* 0: slot unused */
	long long	 size;		/* its bytes already carried over */
	long long	 when;		/* replaced at (seconds since epoch) */
};

struct tfio {
	char		*path;		/* as given, with ~ expanded */
	char		*lockpath;
	int		 lockfd;
	char		*reallockpath;	/* through a symlink: the target's */
	int		 reallockfd;
	int		 fd;		/* the task file, read-only */
	struct stat	 st;		/* of fd, when read */
	struct buf	 data;		/* its content */
	int		 nosync;	/* skip fsync (RTQ_NOSYNC=1) */
	/* the versions recent rewrites replaced (the caller keeps them) */
	struct tfio_prev *prev;		/* TFIO_PREVS of them, or NULL */
	int		*prev_next;	/* the slot the next rewrite takes */
	long long	 carried;	/* bytes of the old inode in the new */
	/*
	 * Called whenever prev changed (a version linked, late bytes
	 * carried), before anything else happens: a kill must not leave a
	 * record behind the links.
	 */
	void		(*prev_saved)(struct tfio *, void *);
	void		*prev_ctx;
};

/* Exit codes of rtq-claim, also used as error classes here. */
#define TFIO_EIO	1	/* could not write: disk full, permissions */
#define TFIO_EFILE	3	/* task file missing, not a file, unreadable */
#define TFIO_EDATA	4	/* content rtq cannot use */

/*
 * Expand "~" and "~user" and make a relative path relative to the home
 * directory.  Returns a new string, or NULL with a message in err.
 */
char	*tfio_expand(const char *path, char *err, size_t errlen);

/*
 * Check that path names a regular, readable task file, open and lock
 * "<path>.lock" (blocking), then read the file.  Returns 0, or a TFIO_E*
 * code with a message in err and nothing created.
 */
int	 tfio_open(struct tfio *, const char *path, char *err, size_t errlen);

/*
 * Like tfio_open, without the lock (reading is safe: every change is a
 * rename); the lock file is opened read-only when it exists, for the
 * liveness table.
 */
int	 tfio_peek(struct tfio *, const char *path, char *err, size_t errlen);

/*
 * Bytes that reached the versions recent rewrites replaced (t->prev),
 * past what was carried before, are appended to the task file, and the
 * file is re-read.  Returns 0 or a TFIO_E* code.
 */
int	 tfio_carry_prev(struct tfio *, char *err, size_t errlen);

/* Re-read the file (after tfio_commit asked for it).  0 or TFIO_E*. */
int	 tfio_reread(struct tfio *, char *err, size_t errlen);

/*
 * Replace the file with the patched version of what was read.  Returns 0,
 * -1 when the file changed since it was read (re-read and redo), or a
 * TFIO_E* code with a message in err and the file as it was.
 */
int	 tfio_commit(struct tfio *, const struct patch *, char *err,
	    size_t errlen);

/* Unlock and release everything. */
void	 tfio_close(struct tfio *);

#endif
