/*
 * slots: -j N, N workers in one rtq.
 *
 * Each slot is a child process in its own process group (a Ctrl-C reaches
 * it once, forwarded from here) with two pipes to us: its tasks' output
 * (the slot's shell writes there) and rtq's own lines (its banners, its
 * messages).  Task output goes out a line at a time after "[slot I] ", so
 * that the lines of slots do not mix; rtq's lines, which start "[rtq W]",
 * go out as they are.  The two are kept apart so that nothing a task
 * prints can pass for rtq's, and so that a task's last line without a
 * line break is ended before rtq's next line.  A line longer than
 * LINE_MAX_OUT goes out in pieces as it comes; the work is linear in the
 * output.
 */
#define _DEFAULT_SOURCE
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "sig.h"
#include "worker.h"

#define LINE_MAX_OUT	65536

/* One pipe from a slot, and the part of a line not yet written out. */
struct stream {
	int		 fd;		/* -1: closed */
	struct buf	 b;		/* bytes [start, len) not yet out */
	size_t		 start;
	size_t		 scanned;	/* no line break before here */
	int		 mid;		/* a line was begun on our output */
	int		 rtq;		/* rtq's own lines, not a task's */
};

/* Write to our output; a failure is given up (nobody reads any more). */
static void
out(const char *s, size_t n)
{
	(void)fdio_write_all(STDOUT_FILENO, s, n);
}

static struct stream *midline;	/* whose line our output is in */

/*
 * Write s[0..n) of a line; the prefix first when the line starts.  A
 * long line of another slot that is being written out is broken first
 * (its rest comes after its prefix again).
 */
static void
out_part(struct stream *st, const char *prefix, const char *s, size_t n,
    int ends)
{
	if (!st->mid && st->rtq && s[0] == '\001')
		return;		/* a slot's id, from an older rtq: not shown */
	if (midline != NULL && midline != st) {
		out("\n", 1);
		midline->mid = 0;
	}
	if (!st->mid && !(st->rtq && n >= 5 && strncmp(s, "[rtq ", 5) == 0))
		out(prefix, strlen(prefix));
	out(s, n);
	st->mid = !ends;
	midline = st->mid ? st : NULL;
}

/*
 * Write out the complete lines of st, and a long partial one; with flush,
 * also what is left of the last line, ended with a line break.
 */
static void
emit(struct stream *st, const char *prefix, int flush)
{
	char	*s, *nl;
	size_t	 n;

	for (;;) {
		s = st->b.s + st->start;
		n = st->b.len - st->start;
		if (st->scanned < st->start)
			st->scanned = st->start;
		nl = n > 0 ? memchr(st->b.s + st->scanned, '\n', st->b.len -
		    st->scanned) : NULL;
		if (nl == NULL)
			break;
		out_part(st, prefix, s, (size_t)(nl - s) + 1, 1);
		st->start = (size_t)(nl - st->b.s) + 1;
	}
	st->scanned = st->b.len;
	if (n > 0 && (flush || n >= LINE_MAX_OUT)) {
		out_part(st, prefix, s, n, 0);
		st->start = st->b.len;
	}
	if (flush && st->mid) {
		out("\n", 1);
		st->mid = 0;
		midline = NULL;
	}
	if (st->start == st->b.len) {
		buf_reset(&st->b);
		st->start = st->scanned = 0;
	}
}

/* Read what st has now (all of it when drain).  0, or -1 at its end. */
static int
take(struct stream *st, int drain)
{
	ssize_t	 k;

	do {
		if (buf_grow(&st->b, 65536) == -1)
			return -1;
		k = fdio_read(st->fd, st->b.s + st->b.len, st->b.cap -
		    st->b.len - 1);
		if (k > 0)
			st->b.len += (size_t)k;
	} while (drain && k > 0);
	if (k == 0 || (k == -1 && errno != EAGAIN))
		return -1;
	return 0;
}

static void
stream_close(struct stream *st)
{
	if (midline == st)
		midline = NULL;
	if (st->fd != -1)
		close(st->fd);
	st->fd = -1;
	buf_free(&st->b);
}

/* In the child: its ends of the two pipes.  Returns -1 (see slots_run). */
static int
child(int i, int task[2], int own[2], int *slot, int *task_fd)
{
	char	 v[16];

	setpgid(0, 0);
	close(task[0]);
	close(own[0]);
	dup2(own[1], STDOUT_FILENO);
	dup2(own[1], STDERR_FILENO);
	close(own[1]);
	fcntl(task[1], F_SETFD, FD_CLOEXEC);
	snprintf(v, sizeof(v), "%d", i);
	setenv("RTQ_SLOT", v, 1);
	*slot = i;
	*task_fd = task[1];
	return -1;
}

/* The slot's streams after one poll; how many of them closed. */
static int
serve_slot(struct stream st[2], const struct pollfd p[2], const char *prefix)
{
	int	 k, closed = 0;

	/* the task's output first: what it wrote before rtq said more */
	for (k = 0; k < 2; k++) {
		if (st[k].fd == -1 || !(p[k].revents & (POLLIN | POLLHUP |
		    POLLERR)))
			continue;
		if (k == 1 && st[0].fd != -1 && take(&st[0], 1) == -1) {
			emit(&st[0], prefix, 1);
			stream_close(&st[0]);
			closed++;
		}
		if (k == 1 && st[0].fd != -1)
			emit(&st[0], prefix, 1);
		if (take(&st[k], 0) == -1) {
			emit(&st[k], prefix, 1);
			stream_close(&st[k]);
			closed++;
			continue;
		}
		emit(&st[k], prefix, 0);
	}
	return closed;
}

int
slots_run(int n, int *slot, int *task_fd)
{
	struct pollfd	 pfd[2 * MAXSLOTS + 1];
	struct stream	 st[MAXSLOTS][2];
	char		 prefix[MAXSLOTS][32];
	pid_t		 pid[MAXSLOTS];
	int		 ws[MAXSLOTS], reaped[MAXSLOTS];
	int		 i, k, task[2], own[2], open_fds = 0, rv = 0;
	int		 failed = 0;

	for (i = 0; i < n; i++) {
		if (pipe(task) == -1 || pipe(own) == -1 ||
		    (pid[i] = fork()) == -1) {
			say("cannot start slot %d: %s", i, strerror(errno));
			return 1;
		}
		if (pid[i] == 0) {
			/* not the pipes of the slots started before */
			for (k = 0; k < i; k++) {
				close(st[k][0].fd);
				close(st[k][1].fd);
			}
			return child(i, task, own, slot, task_fd);
		}
		setpgid(pid[i], pid[i]);
		reaped[i] = 0;
		close(task[1]);
		close(own[1]);
		memset(st[i], 0, sizeof(st[i]));
		st[i][0].fd = task[0];
		st[i][1].fd = own[0];
		st[i][1].rtq = 1;
		for (k = 0; k < 2; k++) {
			fcntl(st[i][k].fd, F_SETFL, O_NONBLOCK);
			fcntl(st[i][k].fd, F_SETFD, FD_CLOEXEC);
		}
		snprintf(prefix[i], sizeof(prefix[i]), "[slot %d] ", i);
		open_fds += 2;
	}
	while (open_fds > 0) {
		for (i = 0; i < n; i++)
			for (k = 0; k < 2; k++) {
				pfd[2 * i + k].fd = st[i][k].fd;
				pfd[2 * i + k].events = POLLIN;
				pfd[2 * i + k].revents = 0;
			}
		pfd[2 * n].fd = sig_fd();
		pfd[2 * n].events = POLLIN;
		if (poll(pfd, (nfds_t)(2 * n + 1), -1) == -1 && errno != EINTR)
			break;
		if (got_any) {
			/* pass each signal on once */
			int sig = got_any;

			got_any = 0;
			sig_drain();
			for (i = 0; i < n; i++)
				kill(pid[i], sig);
		}
		for (i = 0; i < n; i++) {
			open_fds -= serve_slot(st[i], &pfd[2 * i], prefix[i]);
			/*
			 * The slot's rtq is gone: its tasks' pipe is read to
			 * what is there now, not to an end that a process
			 * left behind by a task may never give.
			 */
			if (st[i][1].fd == -1 && st[i][0].fd != -1 &&
			    waitpid(pid[i], &ws[i], WNOHANG) == pid[i]) {
				reaped[i] = 1;
				(void)take(&st[i][0], 1);
				emit(&st[i][0], prefix[i], 1);
				stream_close(&st[i][0]);
				open_fds--;
			}
		}
	}
	for (i = 0; i < n; i++) {
		while (!reaped[i] && waitpid(pid[i], &ws[i], 0) == -1 &&
		    errno == EINTR)
			;
		k = fdio_exit_code(ws[i]);
		if (k == RTQ_EXIT_FAILED)
			failed = 1;
		else if (k > rv)
			rv = k;
	}
	/* an error or a signal says more than "tasks failed" */
	return rv == 0 && failed ? RTQ_EXIT_FAILED : rv;
}
