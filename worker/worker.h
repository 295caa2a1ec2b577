/*
 * worker: what the parts of rtq share -- its options and the state of one
 * worker.
 *
 *	rtq.c		main: options, the worker loop
 *	client.c	the requests to rtq-claim (register, next, finish...)
 *	sig.c		signals, the self-pipe and the waits they end
 *	paths.c		this program, rtq-claim beside it, task file paths
 *	admin.c		--add, --edit, --lock, --reset, --status, --install-master
 *	slots.c		-j N: N workers in child processes
 *	shell.c		the long-lived bash of a worker
 *	transport.c	reaching rtq-claim
 */
#ifndef RTQ_WORKER_H
#define RTQ_WORKER_H

#include <stddef.h>

#include "logsend.h"
#include "pump.h"
#include "shell.h"
#include "transport.h"

#define MAXSLOTS	64

struct opts {
	const char	*master;
	const char	*name;
	long		 id;
	int		 xdone;
	double		 poll;
	long		 lease;
	double		 timeout;	/* seconds; 0: none */
	long		 slots;
	const char	*logdir;
	int		 lock, reset, failed, status, add, json, edit;
	double		 watch;		/* --status --watch: seconds */
	char		*command;		/* --add COMMAND */
	const char	*install;		/* --install-master HOST[:DIR] */
	long		 reset_k;
	/* tasks' output on the master (logsend.h, logview.c) */
	int		 nologs;		/* --no-logs */
	long long	 logcap;		/* --log-cap */
	int		 log, follow, all;	/* --log, --follow, --all */
	long		 attempt;		/* --attempt K; 0: the last */
	size_t		 log_line;		/* LINE of --log, --follow */
	long		 retries;	/* --retries: more attempts after a
					   failure (default 1) */
	int		 idle_exit;	/* --exit-when-idle */
	int		 wait, kill, pause, resume;
	struct proto_req *killq;	/* --kill: the lines */
	int		 plan, timeline;	/* --plan, --timeline */
	long		 batch;		/* --batch K: tasks a claim may take;
					   0: auto (grows with the claim's
					   share of the tasks' time) */
	const char	*output;		/* --timeline -o FILE */
};

/*
 * rtq's exit status when it leaves (-x, --exit-when-idle, --wait) a queue
 * with tasks failed for good, waiting for a retry, or blocked behind
 * failed ones.
 */
#define RTQ_EXIT_FAILED	3

/*
 * A task of a batch (--batch): claimed and waiting to run (queued), or
 * run and its result not reported yet.
 */
struct bitem {
	size_t		 line;
	char		*text;
	int		 status;	/* a result; queued: 0, or killed */
	double		 t0, t1;	/* when it started and ended */
	char		*log;		/* a failed task's log, or NULL */
};

struct worker {
	struct opts	*o;
	struct tp	 tp;
	struct shell	 sh;
	long		 id;
	long long	 seq;		/* of requests; a retry keeps it */
	size_t		 pos;
	int		 has_prev;
	int		 prev_init;
	size_t		 prev_line;
	int		 prev_status;
	char		*prev_text;
	char		 prev_log[4096];	/* the failed task's log, or "" */
	char		 where[1024];
	unsigned long long machine;	/* our process; -j slots share it */
	int		 retry_for;	/* seconds to retry before first reached */
	int		 retry_always;	/* and after (queue commands) */
	struct pump	 pump;		/* carries the shell's output */
	struct logsend	 ls;		/* and to the master */
	/* batches (client.c): what to ask for, and what is in hand */
	long		 batch;		/* K of the next claim */
	double		 claim_ms;	/* the last claim took (auto) */
	double		 task_ms;	/* a task takes, on average (auto) */
	double		 prev_t0, prev_t1;	/* the previous task's times */
	int		 prev_batch;	/* it came in a batch: send them */
	struct bitem	*bq;		/* queued: bq[bq_at..bq_n) */
	size_t		 bq_at, bq_n;
	struct bitem	*br;		/* results not reported: br[0..br_n) */
	size_t		 br_n;
	size_t		 started;	/* a queued task that runs now and
					   whose start is not reported: its
					   line, else 0 */
	const char	*started_text;
	double		 started_t0;
};

/*
 * admin.c: the commands that do not run tasks.  Each returns rtq's exit
 * status: 0, or 1 after saying what failed.
 */
int	 do_add(struct worker *);
int	 do_edit(struct worker *);
int	 do_lock(struct worker *);
int	 do_reset(struct worker *);
int	 do_status(struct worker *);
/* logview.c: --log and --follow; rtq's exit status (--follow: the task's) */
int	 do_log(struct worker *);
int	 do_follow(struct worker *);
int	 do_wait(struct worker *);
int	 do_kill(struct worker *);
int	 do_pause(struct worker *, int on);
/*
 * --install-master target, with the rtq-claim beside self.  Returns 0, 1
 * (said), or 2 when target is not HOST or HOST:DIR (not said: a usage
 * error, for the caller to report).
 */
int	 do_install(const char *target, const char *self);

/*
 * slots.c: start n workers in child processes and pass their output on.
 * Returns the parent's exit status (the worst of the children's), or -1
 * in a child, with *slot set to its number (0..n-1) and *task_fd to the
 * pipe its tasks' output goes to (the shell's stdout and stderr).
 */
int	 slots_run(int n, int *slot, int *task_fd);

#endif
