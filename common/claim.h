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
 */
#ifndef RTQ_CLAIM_H
#define RTQ_CLAIM_H

#include <stddef.h>

#include "buf.h"
#include "patch.h"
#include "proto.h"
#include "taskfile.h"

struct claim_req {
	long		 worker;
	size_t		 pos;		/* line of W's last item; 0 at start */
	size_t		 fin_line;	/* item to finish, 1-based; 0: none */
	int		 fin_init;	/* that item was an init line */
	const char	*fin_text;
	size_t		 fin_textlen;
	int		 fin_status;	/* 0..255, PROTO_ST_RELEASE, _LOST */
	const char	*fin_log;	/* a failed task's log, or NULL */
	int		 no_claim;	/* finish only */
	const char	*now;		/* "MM-DD HH:MM:SS" */
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
	struct buf	 init_text;
	struct buf	 task_text;
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
 * failed_only, only failed (and lost) tasks are touched.  Returns the number
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
 * How many pending tasks wait for an earlier task of their group (or a
 * barrier) to end #ok.  Returns the count, or (size_t)-1 (memory).
 */
size_t	claim_blocked(const struct tf_file *);

/* Format a time stamp as the task file holds it: "MM-DD HH:MM:SS". */
struct tm;
void	claim_stamp(const struct tm *, char out[TF_TIMELEN + 1]);

#endif
