/*
 * worker: what the parts of rtq share -- its options, the state of one
 * worker, the signal flags, and the helpers every part uses.
 *
 *	rtq.c		options, the worker loop, signals
 *	admin.c		--add, --edit, --lock, --reset, --status, --install-master
 *	slots.c		-j N: N workers in child processes
 *	shell.c		the long-lived bash of a worker
 *	transport.c	reaching rtq-claim
 */
#ifndef RTQ_WORKER_H
#define RTQ_WORKER_H

#include <signal.h>
#include <stddef.h>

#include "shell.h"
#include "transport.h"

#define GRACE_MS	5000	/* TERM to KILL, when a task is stopped */
#define BACKOFF_MAX	60
#define RUN_LOST	(-10)	/* run_task: we were declared lost */
#define CLAIM_RELEASE_WORD	(-1)	/* prev_status: give the task back */

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
};

#define MAXSLOTS	64

/* Set by the signal handlers (rtq.c); selfpipe is written on each. */
extern volatile sig_atomic_t got_int, got_hard, hard_sig, got_any;
extern int selfpipe[2];

/* A one-line error and the usage on stderr; exit 2. */
void	 usage_exit(const char *) __attribute__((noreturn));
/* A message on stderr, after "rtq: ". */
void	 say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One request, ssh failures retried with backoff (see rtq.c). */
int	 call(struct worker *, const char *sub, const char *const *words,
	    int n, struct tp_reply *);
/* Sleep up to ms; 1 when a signal asks to stop. */
int	 nap(int ms);
void	 drain_selfpipe(void);
/* The exit status after a stopping signal: 129, 130 or 143. */
int	 stop_code(void);
double	 now_sec(void);
/* A local path made absolute (from the current directory); NULL: memory. */
char	*local_path(const char *);

/* admin.c: the commands that do not run tasks */
int	 do_add(struct worker *);
int	 do_edit(struct worker *);
int	 do_lock(struct worker *);
int	 do_reset(struct worker *);
int	 do_status(struct worker *);
int	 do_install(const char *target, const char *argv0);

/* slots.c: returns the parent's exit status, or -1 in slot *slot */
int	 slots_run(int n, int *slot);

#endif
