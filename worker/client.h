/*
 * client: a worker's requests to rtq-claim, built from its state (struct
 * worker) and sent through its transport.
 *
 * The previous item's result (has_prev, prev_*) travels with the next
 * request, so a claim costs one exchange; report_prev sends it alone when
 * the worker leaves.  Each request that changes the file carries
 * "ID/SEQ", SEQ new for each request and kept by its retries, so that
 * rtq-claim applies a retried request once.
 */
#ifndef RTQ_CLIENT_H
#define RTQ_CLIENT_H

#include <stddef.h>

#include "transport.h"
#include "worker.h"

/*
 * One request with retries, standard input from in (a seekable file) or
 * -1: ssh failures and a busy or full master are retried with backoff,
 * said once per failure on stderr, for as long as w->retry_for allows
 * before the master was first reached (0: for ever).  Returns TP_OK with
 * the reply in *r (free it), TP_FATAL, TP_SOFT, or TP_RETRY when a signal
 * asked us to stop.
 */
int	 client_call(struct worker *, const struct proto_req *, int in,
	    struct tp_reply *r);

/*
 * Register as worker want (-1: a new id), named by --name or the host
 * name and addresses.  With fallback, an id that a live worker holds
 * there is not an error: a new id is taken instead, and that is said.
 * Returns 0 with w->id set, or -1 (said).
 */
int	 client_register(struct worker *, long want, int fallback);

/*
 * Ask for the next item after w->pos, with the previous result when there
 * is one.  Returns what client_call returns.
 */
int	 client_next(struct worker *, struct tp_reply *r);

/* Keep the result of an item (status, or PROTO_ST_RELEASE) to report. */
void	 client_set_prev(struct worker *, int init, size_t line, int status,
	    const char *text);

/*
 * Report the previous task's result alone (when leaving).  Clears
 * got_hard, so that the report is retried through a hard stop.  Returns
 * 0, or -1 when it could not be reported (said, with what becomes of the
 * task).
 */
int	 client_report_prev(struct worker *);

/*
 * Report the previous task's result alone now, while the worker goes on
 * (its next claim was refused); a stop that came before is kept.
 */
void	 client_flush_prev(struct worker *);

/*
 * Tell the master we are alive (and our lease).  Returns 1 when it says we
 * were declared lost, 2 when rtq --kill asked us to stop the task on
 * *kill_line, 0 otherwise (a failed heartbeat is tried again at the next
 * one, never waited for).
 */
int	 client_heartbeat(struct worker *, size_t *kill_line);

/*
 * The queue's counts (rtq-claim tally).  Returns 0, or -1 (said).
 */
int	 client_tally(struct worker *, struct proto_tally *);


/* Leaving: the master forgets our lease (one try). */
void	 client_goodbye(struct worker *);

/*
 * Batches (--batch).  client_next asks for w->batch tasks, and reports the
 * results in br with the previous one.  A reply of more than one task is
 * kept: the first runs as a task claimed alone, the others wait in bq
 * (client_queue).  client_batch_push moves the previous result to br
 * (before the next queued task runs), client_batch_flush reports br and
 * the start of the task running now (at a heartbeat: a queued task's line
 * reads "queued" in the file until then), client_batch_release gives the
 * queued tasks back at once (Ctrl-C), client_batch_drop forgets them (we
 * were declared lost: they went to others).
 */
int	 client_queue(struct worker *, const struct tp_reply *r, int from);
void	 client_batch_push(struct worker *);
void	 client_batch_flush(struct worker *);
void	 client_batch_release(struct worker *);
void	 client_batch_drop(struct worker *);
/* The next K to ask for, after a claim that took ms (auto). */
void	 client_batch_tune(struct worker *, double ms);

/* Say that the master declared us lost. */
void	 client_say_lost(const struct worker *);

#endif
