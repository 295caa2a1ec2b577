/*
 * shell: the worker's long-lived shell.
 *
 * One bash per worker reads commands on a pipe (its stdin) and reports on
 * another (its fd 3); its stdout and stderr are the worker's.  Init lines are
 * eval'ed in the shell itself, so cd, variables, functions and source carry
 * over; after each one the shell writes a snapshot (declare -p, declare -f,
 * the directory) to a file named for the line.  Tasks run in a subshell with
 * job control on, so each is the leader of its own process group (the
 * worker signals the group), with stdin from /dev/null.  A task claimed out
 * of order sources the snapshot of its init line first.  The shell itself
 * sits in its own process group, so a Ctrl-C at the terminal reaches only
 * rtq, which decides what to do with the task.
 */
#ifndef RTQ_SHELL_H
#define RTQ_SHELL_H

#include <sys/types.h>

#include <signal.h>

#include "buf.h"

struct shell {
	pid_t		 pid;
	int		 in;		/* commands to the shell */
	int		 rep;		/* reports from the shell */
	struct buf	 rbuf;		/* unread report bytes */
	char		 dir[4096];	/* private dir for snapshots */
	char		 cwd[4096];	/* shell's directory after last init */
	pid_t		 task;		/* running task's process group */
	int		 out_fd;	/* > 2: the shell's stdout and stderr */
	volatile sig_atomic_t *stop;	/* set: stop an init line (TERM) */
};

/* Runtime variables an init line may set (SPEC 3.4). */
struct shell_vars {
	char	*newtask, *newid, *jumpto;	/* NULL when unset or empty */
};

/*
 * Start the shell (RTQ_SHELL, else bash) in its own process group, with a
 * private directory for its snapshots under TMPDIR; sh->stop is kept, the
 * rest of *sh set.  It inherits rtq's environment; shell_export adds to
 * it.  Returns 0, or -1 with a message in err.
 */
int	shell_start(struct shell *, char *err, size_t errlen);

/* Export NAME=VALUE in the shell. Returns 0 or -1. */
int	shell_export(struct shell *, const char *name, const char *value);

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
 * Start a task in a subshell: from the snapshot of init line snap_line
 * when it exists and was taken of that same text (prelude), else after
 * running prelude (an init line's text, or NULL) in the subshell.  Its
 * output also goes to the file log unless NULL.  Returns 0 with sh->task
 * set, or -1 when the shell is gone.
 */
int	shell_task_start(struct shell *, const char *text, size_t snap_line,
	    const char *prelude, const char *log);

/*
 * Wait for the running task's status: 0-255, or 256 + N when its prelude
 * failed with status N; -1 if the shell is gone.  fd, when not -1, is also
 * polled: returns -3 when it becomes readable first (the caller handles
 * it and calls again).  timeout_ms < 0 waits forever; returns -4 on
 * timeout.
 */
int	shell_task_wait(struct shell *, int fd, int timeout_ms);

/* Send a signal to the running task's process group. */
void	shell_task_kill(struct shell *, int sig);

/* Whether a snapshot of init line `line`, taken of this text, exists. */
int	shell_has_snap(struct shell *, size_t line, const char *text);

/* End the shell and remove its directory. */
void	shell_stop(struct shell *);

/* Free the strings of v and clear it. */
void	shell_vars_free(struct shell_vars *);

#endif
