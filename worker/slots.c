/*
 * slots: -j N, N workers in one rtq.
 */
#define _DEFAULT_SOURCE
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
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

/*
 * A line of a slot's output on ours, after prefix.  A write that fails is
 * given up: the terminal went away, and nobody is left to read it.
 */
static void
out_line(const char *prefix, const char *s, size_t n)
{
	(void)fdio_write_all(STDOUT_FILENO, prefix, strlen(prefix));
	(void)fdio_write_all(STDOUT_FILENO, s, n);
}

/*
 * -j N: N workers, each a child process in its own process group (a
 * Ctrl-C reaches them once, forwarded from here).  Their output comes
 * through a pipe each and goes out a line at a time, each line after the
 * worker's id.  See worker.h.
 */
int
slots_run(int n, int *slot)
{
	struct pollfd	 pfd[MAXSLOTS + 1];
	struct buf	 line[MAXSLOTS];
	char		 prefix[MAXSLOTS][32], chunk[8192], *nl;
	pid_t		 pid[MAXSLOTS];
	ssize_t		 k;
	int		 i, fd[2], open_fds = 0, st, rv = 0;

	for (i = 0; i < n; i++) {
		if (pipe(fd) == -1 || (pid[i] = fork()) == -1) {
			say("cannot start slot %d: %s", i, strerror(errno));
			return 1;
		}
		if (pid[i] == 0) {
			char	 v[16];

			setpgid(0, 0);
			close(fd[0]);
			dup2(fd[1], STDOUT_FILENO);
			dup2(fd[1], STDERR_FILENO);
			close(fd[1]);
			snprintf(v, sizeof(v), "%d", i);
			setenv("RTQ_SLOT", v, 1);
			*slot = i;
			return -1;
		}
		setpgid(pid[i], pid[i]);
		close(fd[1]);
		pfd[i].fd = fd[0];
		pfd[i].events = POLLIN;
		memset(&line[i], 0, sizeof(line[i]));
		snprintf(prefix[i], sizeof(prefix[i]), "[slot %d] ", i);
		open_fds++;
	}
	pfd[n].fd = sig_fd();
	pfd[n].events = POLLIN;
	while (open_fds > 0) {
		if (poll(pfd, (nfds_t)n + 1, -1) == -1 && errno != EINTR)
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
			if (pfd[i].fd == -1 || !(pfd[i].revents & (POLLIN |
			    POLLHUP | POLLERR)))
				continue;
			if ((k = fdio_read(pfd[i].fd, chunk, sizeof(chunk))) <=
			    0) {
				if (line[i].len > 0) {
					buf_addc(&line[i], '\n');
					out_line(prefix[i], line[i].s,
					    line[i].len);
				}
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			buf_add(&line[i], chunk, (size_t)k);
			while (line[i].s != NULL && (nl = memchr(line[i].s,
			    '\n', line[i].len)) != NULL) {
				size_t len = (size_t)(nl - line[i].s) + 1;
				long id;

				if (line[i].s[0] == '\001' && sscanf(line[i].s,
				    "\001id %ld", &id) == 1)
					snprintf(prefix[i], sizeof(prefix[i]),
					    "[%ld] ", id);
				else if (strncmp(line[i].s, "[rtq ", 5) == 0)
					out_line("", line[i].s, len);
				else
					out_line(prefix[i], line[i].s, len);
				memmove(line[i].s, line[i].s + len,
				    line[i].len - len);
				line[i].len -= len;
			}
		}
	}
	for (i = 0; i < n; i++) {
		while (waitpid(pid[i], &st, 0) == -1 && errno == EINTR)
			;
		st = fdio_exit_code(st);
		if (st > rv)
			rv = st;
		buf_free(&line[i]);
	}
	return rv;
}
