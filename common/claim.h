/*
 * claim: what rtq-claim does to a task file, as pure functions.
 *
 * Every function here takes the current file (split into lines) and a
 * request, and answers with a patch (the new version of the file, as
 * splices) and a reply.  Nothing here reads a clock, a file or the
 * environment: the caller passes the time stamp, and holds the lock.
 *
 * The claim algorithm (SPEC 2.3), one request of worker W at position P:
 *
 *  1. Finish the item W reports: search its line L, then L-1, L+1, L-2, ...
 *     for a line whose task text matches and whose last annotation is W's.
 *     Open: close it (" END) #ok", or " END) #errorN" and uncomment).
 *     Already closed with the same status: a repeated report, no change.
 *     Not found: append an orphan report.  Init lines are not annotated.
 *  2. Scan from the top with two sets of group names: names that block
 *     both #: and #+ lines (the #: groups of earlier tasks not yet ok) and
 *     names that block #: lines (the #+ groups of earlier tasks not yet ok,
 *     with the hidden empty #+ group every task has).  The first of these
 *     ends the scan:
 *	- an init line W may run, below P: not blocked, return it (position
 *	  becomes its line); blocked, answer "wait";
 *	- a pending or failed task W may run (affinity, not failed by W
 *	  before), not blocked: claim it;
 *	- a task already marked running by W: a claim whose reply W never
 *	  got; return it again, unchanged.
 *     A task above P is returned with the last init line above it that W
 *     may run, and P stays.  Init lines at or above P are only remembered.
 *  3. Nothing found: "wait" when some task may still come to W (pending
 *     but blocked, or running elsewhere and able to fail back to W), else
 *     "none".
 *
 * Failures (issue 12): a failed task is uncommented for another attempt
 * while its failed attempts ("#lost" not counted) are at most its retry
 * limit ("#retries=N" on the line, else W's); past it, or when it was
 * killed, it stays commented: failed for good.  Such a line never ends
 * ok, so the lines of its groups below it can never run: they are
 * "blocked by failed line N", and no worker waits for them.  A failed
 * line that a -j sibling of W failed goes to W only when no live worker of
 * another process could take it.  A "#PAUSED" line stops the scan: W
 * gets nothing below it (but its own claim whose reply it missed) and
 * waits.
 *
 * Batches (issue 14): a request with batch K > 1 claims up to K tasks in
 * one scan.  After the first, a task is taken only below W's position
 * so far (so it runs in the shell as it is), and an init line W may run
 * below P ends the batch, as does a #PAUSED line.  Near the end of the
 * queue the batch shrinks to its share of what is left: when the scan
 * finds fewer than K claimable lines for each live worker, W gets
 * (found / live workers, rounded up).  Every task after the first is
 * marked "queued" (its annotation reads "(START ... queued"): claimed,
 * not started.  W reports "start" when it starts one, and the results
 * with the times they started and ended; released (the worker stopped),
 * a queued line is pending again at once, and when W is declared lost it
 * goes back like a running one.  A request may report more items than
 * one (more[]): each is finished as the first.
 */
#ifndef RTQ_CLAIM_H
#define RTQ_CLAIM_H

#include <stddef.h>

#include "buf.h"
#include "patch.h"
#include "proto.h"
#include "taskfile.h"

/* One more item a request reports (a batch's), after the fin_ one. */
struct claim_fin {
	size_t		 line;		/* 1-based */
	int		 init;
	const char	*text;
	size_t		 textlen;
	int		 status;	/* as fin_status, or PROTO_ST_START */
	const char	*log;
	const char	*start, *end;	/* its stamps; NULL: now */
};

struct claim_req {
	long		 worker;
	size_t		 pos;		/* line of W's last item; 0 at start */
	size_t		 fin_line;	/* item to finish, 1-based; 0: none */
	int		 fin_init;	/* that item was an init line */
	const char	*fin_text;
	size_t		 fin_textlen;
	int		 fin_status;	/* 0..255, PROTO_ST_RELEASE, _LOST,
					   _KILLED */
	const char	*fin_log;	/* a failed task's log, or NULL */
	long		 retries;	/* W's retry limit; -1: none */
	const char	*fin_start;	/* the stamps of a batch's task (it */
	const char	*fin_end;	/* started, ended); NULL: now */
	const struct claim_fin *more;	/* more items to finish, after */
	size_t		 nmore;
	size_t		 batch;		/* claim up to this many tasks (0: 1) */
	int		 no_claim;	/* finish only */
	const char	*now;		/* "MM-DD HH:MM:SS" */
	/*
	 * Other workers, for "another machine": the live ones (heard from
	 * within their lease), and those of them in W's process (-j slots).
	 */
	const long	*live;
	size_t		 nlive;
	const long	*sibs;
	size_t		 nsibs;
};

enum claim_answer {
	CLAIM_WORK,			/* init_line and/or task_line */
	CLAIM_WAIT,			/* nothing now; ask again later */
	CLAIM_NONE			/* nothing W could ever run */
};


struct claim_reply {
	enum claim_answer answer;
	enum proto_fin	 fin;
	size_t		 fin_at;	/* line finished (1-based) */
	size_t		 pos;		/* W's new position */
	size_t		 init_line;	/* 1-based, 0: none */
	size_t		 task_line;	/* 1-based, 0: none */
	int		 paused;	/* wait: a #PAUSED line holds W */
	struct buf	 init_text;
	struct buf	 task_text;
	/* a batch: the tasks after task_line, their texts one after another */
	size_t		 nmore;
	size_t		 more_line[PROTO_MAXBATCH];
	size_t		 more_end[PROTO_MAXBATCH];	/* in more_text */
	struct buf	 more_text;
};

/*
 * Finish the reported item and claim the next one for req->worker.  The
 * patch must be empty; the reply's buffers are owned by the caller (see
 * claim_reply_free).  Returns 0, or -1 with a message in err (a malformed
 * line, out of memory) and the patch to be discarded.
 */
int	claim_next(const struct tf_file *, const struct claim_req *,
	    struct patch *, struct claim_reply *, char *err, size_t errlen);
void	claim_reply_free(struct claim_reply *);

/*
 * Register a worker: insert the "#LASTWORKER" header when missing, take the
 * wanted id (want >= 0) or the next one, keep the header at the largest id
 * handed out, append "# worker W: NAME (now)".  The name must not hold a
 * line break.  Returns the id, or -1 with a message in err.
 */
long	claim_register(const struct tf_file *, long want, const char *name,
	    const char *now, struct patch *, char *err, size_t errlen);

/*
 * Reset the file: strip annotations and uncomment the tasks they had
 * commented, drop orphan reports; with k == 0 (the whole file) also drop
 * the header and registration lines; with k >= 1 only lines from k on are
 * touched and the header and registrations stay (as runtask.sh does).  With
 * failed_only, only failed (and lost) tasks are touched, those failed for
 * good included (a fresh set of attempts), killed ones not.  Returns the number
 * of lines changed or dropped, or -1 (out of memory).
 */
long	claim_reset(const struct tf_file *, size_t k, int failed_only,
	    struct patch *, char *err, size_t errlen);

/*
 * Release the running tasks of workers declared lost: each open annotation
 * of a worker in ids is closed with "#lost" and the line uncommented, so
 * another worker (not those) takes it.  Returns the number of lines, or -1.
 */
long	claim_lost(const struct tf_file *, const long *ids, size_t nids,
	    const char *now, struct patch *, char *err, size_t errlen);

/*
 * The state of the queue: counts of its tasks (struct proto_tally:
 * done, failed, killed, blocked by a failed one, failed and to be
 * retried, pending, running, and whether a #PAUSED line is there).  A
 * failed line counts as failed when it is failed for good, or when no
 * worker of live[0..nlive) may retry it (they all failed it, or none may
 * run it), else as to be retried.  A pending or retried task blocked by
 * a task that never ends ok counts as blocked, not pending.  With by (f->nline entries) given, by[i] is
 * the failed line (1-based) that blocks line i for good, else 0; with
 * waiting (f->nline entries), waiting[i] is 1 for a pending task held
 * back by an earlier one that may still end ok.  Returns 0, or -1
 * (memory).
 */
int	claim_tally(const struct tf_file *, const long *live, size_t nlive,
	    struct proto_tally *, size_t *by, unsigned char *waiting);

/*
 * Kill lines (1-based, n of them): a pending or to-be-retried task is
 * cancelled (commented out, annotated " # worker - # (NOW ... NOW)
 * #killed"); a running one is marked " kill NOW" in its annotation, and
 * its worker's id goes to workers[k] (else -1 there) for the caller to
 * tell it.  Anything else (not a task, finished, an init line) is an
 * error and nothing is changed.  What was done goes to report, a line
 * each.  Returns 0, or -1 with err.
 */
int	claim_kill(const struct tf_file *, const size_t *lines, size_t n,
	    const char *now, struct patch *, long *workers, struct buf *report,
	    char *err, size_t errlen);

/* Whether running item it has been asked to stop by rtq --kill. */
int	claim_kill_asked(const struct tf_item *);

/* Whether running item it is a batch's task not started yet. */
int	claim_queued(const struct tf_item *);

/*
 * Pause (on) or resume: insert "#PAUSED since NOW ..." at the top (after
 * the header), or drop every #PAUSED line.  What was done goes to report.
 * Returns 0 or -1 (memory).
 */
int	claim_pause(const struct tf_file *, int on, const char *now,
	    struct patch *, struct buf *report, char *err, size_t errlen);

/* Format a time stamp as the task file holds it: "MM-DD HH:MM:SS". */
struct tm;
void	claim_stamp(const struct tm *, char out[TF_TIMELEN + 1]);

#endif
