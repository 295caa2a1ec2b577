/*
 * logs: each task's output, kept on the master next to the task file.
 *
 * The directory is "<task file>.logs" (the task file's real path, so a
 * symlinked queue has one), created mode 0700 by the first write: output
 * may hold secrets, and everybody reads it through rtq as the master's
 * user.  It is opened with O_NOFOLLOW and must be a directory we own;
 * every file in it is opened relative to it, with O_NOFOLLOW, by a name
 * made here from numbers (never from a worker's words), so a planted
 * symlink cannot redirect a write or a read.
 *
 * One attempt of a task (line L, worker W) has "LL.wW.log" (its standard
 * output and error, in the order the worker read them) and "LL.wW.err"
 * (its standard error alone).  A stream is written at the offsets the
 * worker gives (offset 0 starts the attempt afresh), and bounded by the
 * cap the worker gives: the first cap/2 bytes go to the file itself (the
 * head); past that, bytes go to segment files "LL.wW.log.@START" of cap/8
 * bytes each, START being the stream offset of their first byte, and
 * only the last four segments are kept.  A reader asks for stream
 * offsets: bytes of deleted segments come back as one mark line saying
 * how many were cut.  The end of the attempt (the worker's last chunk)
 * folds the segments into the file: head, mark, tail.  A sidecar
 * "LL.wW.log.cut" ("H X M": bytes H to X were cut, the mark is M bytes)
 * lets a reader map stream offsets onto the folded file.
 */
#ifndef RTQ_LOGS_H
#define RTQ_LOGS_H

#include <stddef.h>

#include "buf.h"

#define LOGS_CAP_MIN	4096LL

struct logs {
	char	*dir;		/* "<real task file>.logs" */
	int	 dirfd;		/* -1: not open (yet) */
};

/*
 * Find the log directory of the task file at path (~ expanded); with
 * create, make it (0700) when missing, and open it.  Returns 0, 1 when it
 * does not exist (and !create), or -1 with err.
 */
int	logs_open(struct logs *, const char *path, int create, char *err,
	    size_t errlen);
void	logs_close(struct logs *);

/*
 * Write n bytes of the stream (err: the .err file, else .log) of attempt
 * (line, worker) at stream offset off, bounded by cap; end: the attempt's
 * output is complete, fold the segments.  Returns 0, or -1 with err.
 */
int	logs_write(struct logs *, size_t line, long worker, int err_stream,
	    long long cap, long long off, const char *data, size_t n,
	    int end, char *err, size_t errlen);

/*
 * Read at most max bytes of a stream from stream offset off into out;
 * *next is the offset to read from next (past a cut: its end).  Returns
 * 1 (the file exists), 0 (it does not), or -1 with err.
 */
int	logs_read(struct logs *, size_t line, long worker, int err_stream,
	    long long off, size_t max, struct buf *out, long long *next,
	    char *err, size_t errlen);

/*
 * The last n lines (at most max bytes) of an attempt's .log into out, and
 * its name in name.  Returns 1, or 0 when there is no such log.
 */
int	logs_tail(struct logs *, size_t line, long worker, int n, size_t max,
	    struct buf *out);

/* The file name of an attempt's .log ("L3.w0.log") into out. */
void	logs_name(size_t line, long worker, int err_stream, char *out,
	    size_t len);

#endif
