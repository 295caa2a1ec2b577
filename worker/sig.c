/*
 * sig: the worker's signals and the waits they end.  See sig.h.
 */
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
static const char *progname = "rtq";

void
say(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
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
}

int
sig_stop_code(void)
{
	return hard_sig == SIGINT ? 130 : hard_sig == SIGHUP ? 129 : 143;
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
	struct pollfd	 pfd;
	double		 end = now_sec() + ms / 1000.0;

	pfd.fd = selfpipe[0];
	pfd.events = POLLIN;
	for (;;) {
		if (got_hard || (!hard_only && got_int))
			return 1;
		ms = (int)((end - now_sec()) * 1000);
		if (ms <= 0)
			return 0;
		if (poll(&pfd, 1, ms) > 0)
			sig_drain();
	}
}

int
sig_nap(int ms)
{
	return sig_nap_until(ms, 0);
}
