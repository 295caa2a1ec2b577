/*
 * sig: the worker's signals and the waits they end.
 *
 * The handlers only set flags and write a byte to a self-pipe; every wait
 * of the worker polls the pipe's read end (sig_fd), so that a signal ends
 * it at once:
 *
 *	SIGINT		got_int: let the running task finish, then stop;
 *	2nd SIGINT,	got_hard, hard_sig: stop the task now (TERM its
 *	SIGTERM, SIGHUP	process group), then stop.
 *
 * got_any holds the last signal of any kind, for -j N to pass on.  SIGPIPE
 * is ignored: a write to a closed pipe fails with EPIPE instead.
 *
 * A worker may also be told to stop when the process that started it
 * ends (sig_watch_parent, used inside a Slurm job): that is a hard stop
 * as by SIGTERM, said once by sig_drain.
 *
 * Standard output closed (its reader went away: "rtq ... | head") counts
 * as a hard stop (got_hard, hard_sig SIGPIPE) that ends rtq quietly with
 * status 0.  It is seen when a write to it fails (sig_out_flush) and, when
 * it is a pipe or a socket, by the waits, which poll it for a hang-up.
 */
#ifndef RTQ_SIG_H
#define RTQ_SIG_H

#include <signal.h>

/* Set by the handlers; got_hard may be cleared to let a report through. */
extern volatile sig_atomic_t got_int, got_hard, hard_sig, got_any;

/*
 * Make the self-pipe and install the handlers.  Returns 0, or -1 with
 * errno set when the pipe could not be made.
 */
int	 sig_setup(void);
/*
 * From now on, the end of our parent process is a hard stop, as SIGTERM
 * (status 143): the kernel sends us a signal when it ends (Linux:
 * PR_SET_PDEATHSIG), and we check that our parent did change, since the
 * kernel sends it when the thread that started us ends.  Returns 0, or -1
 * where that cannot be watched.
 */
int	 sig_watch_parent(void);
/* The read end of the self-pipe: readable after a signal. */
int	 sig_fd(void);
/* Read what the handlers wrote to the self-pipe, without waiting. */
void	 sig_drain(void);
/* Sleep up to ms, waking for a signal.  Returns 1 when asked to stop. */
int	 sig_nap(int ms);
/*
 * The same, but with hard_only, a first Ctrl-C does not end the sleep:
 * returns 1 only on a hard stop.
 */
int	 sig_nap_until(int ms, int hard_only);
/*
 * The exit status after a hard stop: 129 (SIGHUP), 130 or 143 (SIGTERM),
 * 0 when standard output was closed.
 */
int	 sig_stop_code(void);

/*
 * Flush standard output.  Returns 0, or 1 when it is closed (now a hard
 * stop, said to nobody).
 */
int	 sig_out_flush(void);
/*
 * The descriptor to poll (events 0) for standard output hanging up: 1
 * when it is a pipe or a socket not yet found closed, else -1.
 */
int	 sig_out_fd(void);
/* Whether standard output hung up, without waiting (a hard stop if so). */
int	 sig_out_check(void);

/* The monotonic clock in seconds, for the deadlines of the waits. */
double	 now_sec(void);
/*
 * A message and a newline on stderr, after "rtq: ", or after "[rtq W] "
 * once say_worker named the worker W (stdout flushed).
 */
void	 say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 say_worker(long id);

#endif
