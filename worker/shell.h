/*
 * shell: the worker's long-lived shell.
 *
 * One bash per worker reads commands on a pipe (its stdin) and reports on
 * another, on file descriptor SHELL_REPORT_FD (high, so that an init line's
 * "exec 3>file" leaves it alone); its stdout and stderr are the worker's.
 * Init lines are eval'ed in the shell itself, so cd, variables, functions
 * and source carry over; after each one the shell writes a snapshot
 * (variables, functions, options, the directory) to a file named for the
 * line, and shell_mark_start takes one of the environment the worker
 * started in.  Tasks run in a subshell with job control on, so each is the
 * leader of its own process group (the worker signals the group), with
 * stdin from /dev/null.  A task claimed out of order starts from a
 * snapshot: every variable and function of the shell is dropped and the
 * snapshot's are defined.  The shell collects a task's status so that no
 * status, and no errexit (set -e) or nounset of an init line, can end the
 * shell itself.  The shell sits in its own process group, so a Ctrl-C at
 * the terminal reaches only rtq, which decides what to do with the task.
 *
 * Nothing outlives rtq by more than a second or two, even when rtq is
 * killed with SIGKILL: a watcher process, forked by shell_start, reads the
 * running task's process group from a pipe that only rtq writes; at end of
 * file (rtq is gone) it TERMs the task's process group and the shell's, and
 * KILLs what is left a second later.  On Linux the shell also gets SIGKILL
 * when rtq dies (PR_SET_PDEATHSIG).  (A task started in the moment between
 * its fork and rtq passing its process group on is not covered.)
 */
#ifndef RTQ_SHELL_H
#define RTQ_SHELL_H

#include <sys/types.h>

#include <signal.h>
#include <stddef.h>

#include "buf.h"

#define SHELL_REPORT_FD	42	/* the shell's reports to rtq */

/* The environment a task runs in (shell_task_start's env). */
#define SHELL_ENV_START	((size_t)0)	/* as shell_mark_start saw it */
#define SHELL_ENV_NOW	((size_t)-1)	/* the shell's own, as it is */

struct shell {
	pid_t		 pid;
	int		 in;		/* commands to the shell */
	int		 rep;		/* reports from the shell */
	struct buf	 rbuf;		/* unread report bytes */
	char		 dir[4096];	/* private dir for snapshots */
	char		 cwd[4096];	/* shell's directory after last init */
	char		 cwd0[4096];	/* its directory at shell_mark_start */
	pid_t		 task;		/* running task's process group */
	int		 prelude;	/* its prelude's failure, or -1 */
	pid_t		 watch;		/* the watcher process */
	int		 wfd;		/* to the watcher: process groups */
	int		 out_fd;	/* > 2: the shell's stdout and stderr */
	int		 err_fd;	/* > 2: its stderr instead (kept, too) */
	volatile sig_atomic_t *stop;	/* set: stop an init line (TERM) */
};

/* Runtime variables an init line may set (SPEC 3.4). */
struct shell_vars {
	char	*newtask, *newid, *jumpto;	/* NULL when unset or empty */
};

/*
 * Start the shell (RTQ_SHELL, else bash) in its own process group, with a
 * private directory for its snapshots under TMPDIR, and its watcher;
 * sh->stop, sh->out_fd and sh->err_fd are kept, the rest of *sh set.  It inherits
 * rtq's environment; shell_export adds to it.  Returns 0, or -1 with a
 * message in err (shell_stop cleans up in both cases).
 */
int	shell_start(struct shell *, char *err, size_t errlen);

/* Export NAME=VALUE in the shell. Returns 0 or -1. */
int	shell_export(struct shell *, const char *name, const char *value);

/*
 * Forget the snapshots of init lines (they belong to the task file the
 * worker was in) and take the snapshot of the shell's environment as it is
 * now, for tasks that run where the worker started (SHELL_ENV_START).
 * Returns 0, or -1 when the shell is gone.
 */
int	shell_mark_start(struct shell *);

/*
 * Run an init line in the shell and wait for it.  Returns its exit status
 * (0-255), with the runtime variables it set in vars (cleared in the
 * shell; free them with shell_vars_free).  Returns -1 when the shell is
 * gone, then *exitst holds the shell's exit status: N for "exit N" in the
 * init line, 128 + N when signal N ended it.  When *sh->stop is set while
 * the line runs, the shell gets TERM, and so -1.  line names the snapshot.
 */
int	shell_init(struct shell *, const char *text, size_t line,
	    struct shell_vars *, int *exitst);

/*
 * Start a task in a subshell, in the environment env names: SHELL_ENV_NOW
 * (the shell's own), SHELL_ENV_START (the snapshot of shell_mark_start;
 * the shell's own when there is none), or an init line's number, with
 * that line's text in prelude: its snapshot when it exists and was taken
 * of that same text, else the shell's own after running prelude in the
 * subshell.  Its output also goes to the file log unless NULL.  Returns 0
 * with sh->task set, or -1 when the shell is gone.
 */
int	shell_task_start(struct shell *, const char *text, size_t env,
	    const char *prelude, const char *log);

/*
 * Wait for the running task's status: 0-255, or 256 + N when its prelude
 * failed with status N; -1 if the shell is gone (what is left of the task
 * is killed).  fd, when not -1, is polled for input and hupfd, when not
 * -1, for an error or a hang-up (a pipe whose reader is gone): returns -3
 * when one of them comes first (the caller handles it and calls again).
 * timeout_ms < 0 waits forever; returns -4 on timeout.
 */
int	shell_task_wait(struct shell *, int fd, int hupfd, int timeout_ms);

/* Send a signal to the running task's process group. */
void	shell_task_kill(struct shell *, int sig);

/* Whether a snapshot of init line `line`, taken of this text, exists. */
int	shell_has_snap(struct shell *, size_t line, const char *text);

/*
 * End the shell: it reads end of file and exits (an EXIT trap of an init
 * line runs), TERM after a second, KILL a second later; then TERM what
 * init lines left in its process group, send the watcher away and remove
 * the shell's directory.
 */
void	shell_stop(struct shell *);

/* Free the strings of v and clear it. */
void	shell_vars_free(struct shell_vars *);

#endif
