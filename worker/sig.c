/*
 * sig: the worker's signals and the waits they end.  See sig.h.
 */
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sig.h"

volatile sig_atomic_t got_int, got_hard, hard_sig, got_any;
static int selfpipe[2] = { -1, -1 };
static int out_watch = -2;	/* 1: stdout is a pipe or socket to poll,
				   -1 not, -2 not looked at yet */
static int out_gone;		/* stdout was found closed */
static const char *progname = "rtq";
static long say_id = -1;	/* say_worker */

void
say_worker(long id)
{
	say_id = id;
}

void
say(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	if (say_id >= 0)
		fprintf(stderr, "[%s %ld] ", progname, say_id);
	else
		fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
on_signal(int sig)
{
	int	 e = errno;
	char	 c = 1;

	got_any = sig;
	if (sig == SIGINT && !got_int && !got_hard)
		got_int = 1;
	else {
		got_hard = 1;
		hard_sig = sig;
	}
	if (selfpipe[1] != -1 && write(selfpipe[1], &c, 1) == -1)
		(void)0;
	errno = e;
}

/* sig_watch_parent: our parent then, and whether it ended (2: said) */
static pid_t parent0 = -1;
static volatile sig_atomic_t parent_gone;

static void
on_parent(int sig)
{
	(void)sig;
	/* a thread of our parent ended, not our parent: nothing to do */
	if (parent_gone || getppid() == parent0)
		return;
	parent_gone = 1;
	on_signal(SIGTERM);
}

int
sig_watch_parent(void)
{
#ifdef __linux__
	struct sigaction sa;
	int		 sig = SIGRTMIN;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_parent;
	sigemptyset(&sa.sa_mask);
	parent0 = getppid();
	if (sigaction(sig, &sa, NULL) == -1 ||
	    prctl(PR_SET_PDEATHSIG, sig) == -1)
		return -1;
	if (getppid() != parent0)	/* it ended before the prctl */
		raise(sig);
	return 0;
#else
	return -1;
#endif
}

int
sig_setup(void)
{
	struct sigaction sa;

	if (pipe(selfpipe) == -1)
		return -1;
	fcntl(selfpipe[0], F_SETFL, O_NONBLOCK);
	fcntl(selfpipe[1], F_SETFL, O_NONBLOCK);
	fcntl(selfpipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(selfpipe[1], F_SETFD, FD_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
sig_fd(void)
{
	return selfpipe[0];
}

void
sig_drain(void)
{
	char	 buf[64];

	while (read(selfpipe[0], buf, sizeof(buf)) > 0)
		;
	if (parent_gone == 1) {
		parent_gone = 2;
		say("the process that started rtq (pid %ld) ended: stopping",
		    (long)parent0);
	}
}

int
sig_stop_code(void)
{
	if (hard_sig == SIGPIPE)
		return 0;
	return hard_sig == SIGINT ? 130 : hard_sig == SIGHUP ? 129 : 143;
}

/* Standard output is closed: a hard stop, unless a signal made one. */
static void
out_closed(void)
{
	out_gone = 1;
	out_watch = -1;
	if (!got_hard) {
		hard_sig = SIGPIPE;
		got_hard = 1;
	}
}

int
sig_out_fd(void)
{
	struct stat	 st;

	/* looked at when first needed: -j's slots get theirs after setup */
	if (out_watch == -2)
		out_watch = fstat(STDOUT_FILENO, &st) == 0 &&
		    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) ?
		    STDOUT_FILENO : -1;
	return out_watch;
}

int
sig_out_check(void)
{
	struct pollfd	 pfd;

	if (sig_out_fd() == -1)
		return out_gone;
	pfd.fd = out_watch;
	pfd.events = 0;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
		out_closed();
	return out_gone;
}

int
sig_out_flush(void)
{
	errno = 0;
	if (fflush(stdout) == EOF && errno == EPIPE) {
		out_closed();
		return 1;
	}
	if (ferror(stdout)) {
		/* an earlier write failed: find out why, if we can */
		clearerr(stdout);
		return sig_out_check();
	}
	return out_gone;
}

double
now_sec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
sig_nap_until(int ms, int hard_only)
{
	struct pollfd	 pfd[2];
	double		 end = now_sec() + ms / 1000.0;

	pfd[0].fd = selfpipe[0];
	pfd[0].events = POLLIN;
	pfd[1].events = 0;
	for (;;) {
		if (got_hard || (!hard_only && got_int))
			return 1;
		ms = (int)((end - now_sec()) * 1000);
		if (ms <= 0)
			return 0;
		pfd[1].fd = sig_out_fd();	/* -1: left out */
		pfd[1].revents = 0;
		if (poll(pfd, 2, ms) > 0) {
			if (pfd[1].revents & (POLLERR | POLLHUP))
				out_closed();
			if (pfd[0].revents & POLLIN)
				sig_drain();
		}
	}
}

int
sig_nap(int ms)
{
	return sig_nap_until(ms, 0);
}
