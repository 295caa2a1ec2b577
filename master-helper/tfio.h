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
 *
 * The table: the ring (which inode each slot holds, how many of its bytes
 * are in the current file, when it was replaced) is kept with the
 * workers' liveness (live.h) in the lock file of the real file (through a
 * symlink, the target's).  tfio owns it: tfio_open loads it under the
 * lock, the caller changes the liveness part, and it is written (each
 * time only if it changed)
 *   - once at the end of a request, by tfio_save;
 *   - in tfio_commit, before the rename, when the version about to be
 *     replaced was linked into the ring: a kill after the rename must not
 *     leave the link without its record (the link would be ignored, and
 *     appends reaching it lost).  A kill before the rename leaves a record
 *     of the current file, which the next request drops;
 *   - right after bytes were carried from a previous version (before or
 *     after the rename), before anything else happens: a kill must not
 *     leave a record that says they are still to be copied (they would be
 *     copied twice: a task run twice).
 * So a record is never behind its link or the bytes copied.  Letting a
 * version go is recorded with the next write (a record whose link is gone
 * is skipped).  The table is not fsync'ed: this holds against a killed
 * rtq-claim, not against a power cut.
 *
 * A copy that fails (a full disk, a file size limit) takes back what it
 * had appended, so the file is as it was and the record unchanged: the
 * next request copies those bytes again, whole.  Only when something else
 * appended behind our partial copy meanwhile is the partial copy left,
 * and then the record says exactly how much of it got across.  A failed
 * copy before the rename fails the request, with the file as it was; one
 * after the rename (bytes that reached the old version meanwhile) is left
 * to the next request, which copies them from the ring.
 *
 * Names beside the task file: the lock file, the ring and the temporary
 * file are rtq-claim's own, in a directory others may write.  None is
 * ever followed as a symbolic link: a lock file that is a link, or not
 * a regular file, is refused with a message saying what to do (its
 * target would be truncated and overwritten with the table); what is read
 * from it is bounded (LIVE_MAX).  A previous version is copied from only
 * when the name holds a regular file with the device and inode of its
 * record.  (The task file itself may be a symlink: its target is
 * rewritten.)  A new lock file gets the task file's group and is readable
 * and writable by whoever may write the task file.
 *
 * A lock file rtq-claim may open only for reading still locks (lock, and
 * runtask.sh's flock), but every other request is refused at once (exit
 * 3, which workers do not retry): without the table, leases would not
 * work and a dead worker's task would stay running for ever.
 *
 * Leftovers: under the lock, once a minute (TFIO_SWEEP_SECS, on the
 * request's clock), temporary files ".NAME.rtq-XXXXXX" of a killed
 * rtq-claim and ring names no record holds (".NAME.prev.rtq.N[.new]")
 * are removed when they are regular files (the temporaries: ours) not
 * changed for a minute; versions of the ring are let go by every request
 * that takes the lock, TFIO_PREV_SECS after they were replaced.
 *
 * Paths: the real path of the file is resolved once, when it is opened;
 * the temporary file, the ring and the lock of the real file are named
 * after it.  A path too long for the system (PATH_MAX with our suffixes)
 * is refused with a message, never cut.
 */
#ifndef RTQ_TFIO_H
#define RTQ_TFIO_H

#include <sys/types.h>
#include <sys/stat.h>

#include <limits.h>

#include "buf.h"
#include "patch.h"

#define TFIO_PREVS	16	/* previous versions watched for late appends */
#define TFIO_PREV_SECS	5	/* for this long after they were replaced */
#define TFIO_PART_SECS	2	/* a line without its line break, appended
				   to one, is carried only when whole, or
				   this long after the version was replaced */
#define TFIO_SWEEP_SECS	60	/* leftovers: looked for, and as old as this */

/* A replaced version of the task file, kept linked as .NAME.prev.rtq.SLOT */
struct tfio_prev {
	unsigned long long ino;		/* 0: slot unused */
	unsigned long long dev;		/* 0: not recorded (the task file's) */
	long long	 size;		/* its bytes already carried over */
	long long	 when;		/* replaced at (seconds since epoch) */
};

struct live;

struct tfio {
	char		*path;		/* as given, with ~ expanded */
	char		*real;		/* its real path, resolved once */
	char		*dir;		/* the directory of real */
	const char	*base;		/* the last component of real */
	char		*lockpath;
	int		 lockfd;
	char		*reallockpath;	/* through a symlink: the target's */
	int		 reallockfd;
	int		 fd;		/* the task file, read-only */
	struct stat	 st;		/* of fd, when read */
	struct stat	 fst;		/* of the task file, before the lock */
	struct buf	 data;		/* its content */
	int		 nosync;	/* skip fsync (RTQ_NOSYNC=1) */
	long long	 now;		/* the request's clock (clock.h) */
	/* the table in the lock file: liveness and the ring (live.h) */
	struct live	*live;
	int		 livefd;	/* the lock file holding it; -1: none */
	const char	*livepath;
	int		 live_ro;	/* that file opened read-only: errno */
	long long	 carried;	/* bytes of the old inode in the new */
};

/* Exit codes of rtq-claim, also used as error classes here. */
#define TFIO_EIO	1	/* could not write: disk full, permissions */
#define TFIO_EFILE	3	/* task file missing, not a file, unreadable */
#define TFIO_EDATA	4	/* content rtq cannot use */

/* Room for any message of tfio (it names at most two paths). */
#define TFIO_ERRLEN	(2 * PATH_MAX + 512)

/*
 * Expand "~" and "~user" and make a relative path relative to the home
 * directory.  Returns a new string, or NULL with a message in err.
 */
char	*tfio_expand(const char *path, char *err, size_t errlen);

/* Flags of tfio_open. */
#define TFIO_LOCKONLY	0x01	/* only the lock: no table, no sweep */

/*
 * Check that path names a regular, readable task file, open and lock
 * "<path>.lock" (blocking), load the table kept there, read the file, and
 * remove leftovers (see above).  now is the request's clock (the ages of
 * previous versions and leftovers).  With TFIO_LOCKONLY, only lock and
 * read: a lock file that is read-only to us is then fine.  Returns 0, or
 * a TFIO_E* code with a message in err and nothing created but the lock
 * file.  Call tfio_close in either case.
 */
int	 tfio_open(struct tfio *, const char *path, long long now, int flags,
	    char *err, size_t errlen);

/*
 * Like tfio_open, without the lock (reading is safe: every change is a
 * rename); the table is read from the lock file when there is one (else
 * it is empty), and never written.
 */
int	 tfio_peek(struct tfio *, const char *path, char *err, size_t errlen);

/*
 * Bytes that reached the versions recent rewrites replaced (the ring),
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

/*
 * Write the table back to the lock file if it changed: once, at the end
 * of a request.  Returns 0 or TFIO_EIO with a message in err.
 */
int	 tfio_save(struct tfio *, char *err, size_t errlen);

/*
 * Whether two stats of the task file are of one version: the same inode,
 * size and modification time (a rewrite, an append, an editor's save all
 * change one of them).
 */
int	 tfio_same_version(const struct stat *, const struct stat *);

/* Unlock and release everything (the table is not saved). */
void	 tfio_close(struct tfio *);

#endif
