/*
 * logsend: a task's output to the master, as the task writes it.
 *
 * The pump (pump.h) hands the worker frames of the running task's output;
 * logsend turns them into "log" requests on the worker's serve session,
 * sent without waiting for their replies (tp_async_send), between the
 * worker's other requests.  Two streams go: "log" (standard output and
 * error as the pump read them) and "err" (standard error alone), each
 * with its own offsets, so that rtq-claim writes every chunk where it
 * belongs (logs.h).  When the session cannot take more, frames stay with
 * the pump, which drops output past its buffer with a mark; when there is
 * no session at all, frames are dropped here, with a mark.  Nothing here
 * ever waits for the master: only logsend_end waits, for the pump, at most
 * LOGSEND_END_MS.  The rest of the worker sees four calls, so that the
 * sender can move to another connection without touching them.
 */
#ifndef RTQ_LOGSEND_H
#define RTQ_LOGSEND_H

#include <poll.h>
#include <stddef.h>

#include "buf.h"
#include "transport.h"

#define LOGSEND_CAP	(10LL * 1024 * 1024)
#define LOGSEND_END_MS	2000

struct logsend {
	int		 ctl;		/* the pump's control socket; -1 none */
	int		 on;		/* copy to the master (not --no-logs) */
	int		 active;	/* a task's output is being sent */
	long long	 cap;
	size_t		 line;
	long		 worker;
	long long	 off[2];	/* of the log and err streams */
	long long	 lost;		/* bytes dropped, not yet marked */
	struct buf	 in;		/* frames read, not yet taken */
	int		 ended;		/* the pump's end frame came */
	int		 said;		/* a refusal was said */
	int		 stale;		/* skip frames up to an end frame */
	int		 active_was;	/* the last task was sent */
};

/* A task starts: its output goes to the master from now on. */
void	logsend_start(struct logsend *, struct tp *, size_t line, long worker);

/* The descriptors to poll while the task runs (at most 3): how many. */
int	logsend_fds(struct logsend *, struct tp *, struct pollfd *);

/* After a poll: take frames and send what the session can take now. */
void	logsend_io(struct logsend *, struct tp *);

/*
 * The task ended: the pump passes on what is left (and ends a last line
 * without a line break), the last chunks go with "end".  Also without
 * logs (on = 0), for the line break.
 */
void	logsend_end(struct logsend *, struct tp *);

#endif
