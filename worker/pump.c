/*
 * pump: the process between a worker's shell and its output.  See pump.h.
 */
#define _DEFAULT_SOURCE
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "pump.h"
#include "sig.h"

#define CHUNK	65536

struct pstate {
	int		 in[2];		/* the shell's output, error */
	int		 to[2];		/* where they go */
	int		 ctl;
	struct buf	 fwd;		/* frames not yet taken */
	size_t		 fwd_off;
	int		 forwarding;
	long long	 dropped;	/* bytes not kept in the ring */
	struct buf	 ring;		/* the latest bytes not forwarded */
	size_t		 ring_off;
	int		 last_nl[2];	/* the last byte passed on was '\n' */
};

static void
frame(struct pstate *p, char type, const char *s, size_t n)
{
	uint32_t	 len = (uint32_t)n;

	buf_addc(&p->fwd, type);
	buf_add(&p->fwd, &len, sizeof(len));
	if (n > 0)
		buf_add(&p->fwd, s, n);
}

/*
 * Output the worker could not take yet is kept in a ring of the latest
 * PUMP_RING bytes: the mark of what was dropped before them, then the
 * ring, go as soon as there is room (or at the end), so that a task's
 * last words reach the master even when it printed faster than the
 * master could take.
 */
static void
ring_keep(struct pstate *p, const char *s, size_t n)
{
	size_t	 have;

	buf_add(&p->ring, s, n);
	have = p->ring.len - p->ring_off;
	if (have > PUMP_RING) {
		p->dropped += (long long)(have - PUMP_RING);
		p->ring_off += have - PUMP_RING;
	}
	if (p->ring_off > PUMP_RING) {
		memmove(p->ring.s, p->ring.s + p->ring_off, p->ring.len -
		    p->ring_off);
		p->ring.len -= p->ring_off;
		p->ring_off = 0;
	}
}

/* The mark and the ring, as frames (force: whether there is room or not). */
static int
ring_flush(struct pstate *p, int force)
{
	char	 mark[128];
	size_t	 have = p->ring.len - p->ring_off;

	if (have == 0 && p->dropped == 0)
		return 0;
	if (!force && p->fwd.len - p->fwd_off + have + 256 > PUMP_BUF)
		return -1;
	if (p->dropped > 0) {
		snprintf(mark, sizeof(mark), "\n[rtq: %lld bytes of output "
		    "dropped here: the master was slow]\n", p->dropped);
		frame(p, 'o', mark, strlen(mark));
	}
	while (have > 0) {
		size_t k = have < CHUNK ? have : CHUNK;

		frame(p, 'o', p->ring.s + p->ring_off, k);
		p->ring_off += k;
		have -= k;
	}
	buf_reset(&p->ring);
	p->ring_off = 0;
	p->dropped = 0;
	return 0;
}

/* Bytes of stream k: pass them on, and to the worker when forwarding. */
static void
got(struct pstate *p, int k, const char *s, size_t n)
{
	(void)fdio_write_all(p->to[k], s, n);
	p->last_nl[k] = s[n - 1] == '\n';
	if (!p->forwarding)
		return;
	if (ring_flush(p, 0) == -1 ||
	    p->fwd.len - p->fwd_off + n + 5 > PUMP_BUF) {
		ring_keep(p, s, n);
		return;
	}
	frame(p, k == 0 ? 'o' : 'e', s, n);
}

/* Read what stream k has now (all of it with drain).  -1 at its end. */
static int
take(struct pstate *p, int k, int drain)
{
	char	 b[CHUNK];
	ssize_t	 n;

	do {
		n = read(p->in[k], b, sizeof(b));
		if (n > 0)
			got(p, k, b, (size_t)n);
	} while (drain && n > 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		close(p->in[k]);
		p->in[k] = -1;
		return -1;
	}
	return 0;
}

static void
push(struct pstate *p)
{
	ssize_t	 n;

	while (p->fwd_off < p->fwd.len) {
		n = write(p->ctl, p->fwd.s + p->fwd_off, p->fwd.len -
		    p->fwd_off);
		if (n <= 0)
			break;
		p->fwd_off += (size_t)n;
	}
	if (p->fwd_off == p->fwd.len) {
		buf_reset(&p->fwd);
		p->fwd_off = 0;
	}
	if (p->forwarding)
		(void)ring_flush(p, 0);
}

/* A control byte from the worker. */
static void
command(struct pstate *p, char c)
{
	int	 k;

	if (c == 'S' || c == 'N') {
		p->forwarding = c == 'S';
		p->dropped = 0;
	} else if (c == 'E') {
		for (k = 0; k < 2; k++)
			if (p->in[k] != -1)
				(void)take(p, k, 1);
		/* a last line without its line break is ended */
		for (k = 0; k < 2; k++)
			if (!p->last_nl[k]) {
				(void)fdio_write_all(p->to[k], "\n", 1);
				p->last_nl[k] = 1;
			}
		if (p->forwarding)
			(void)ring_flush(p, 1);
		p->forwarding = 0;
		p->dropped = 0;
		buf_reset(&p->ring);
		p->ring_off = 0;
		frame(p, 'E', NULL, 0);
	}
}

static void
run(struct pstate *p)
{
	struct pollfd	 pfd[3];
	char		 c[64];
	ssize_t		 n;
	double		 gone_at = 0;
	int		 k, i;

	for (;;) {
		if (p->in[0] == -1 && p->in[1] == -1)
			break;
		if (gone_at > 0 && now_sec() > gone_at + PUMP_LINGER_MS / 1000.0)
			break;
		for (k = 0; k < 2; k++) {
			pfd[k].fd = p->in[k];
			pfd[k].events = POLLIN;
		}
		pfd[2].fd = p->ctl;
		pfd[2].events = POLLIN | (p->fwd.len > p->fwd_off ? POLLOUT :
		    0);
		if (poll(pfd, 3, gone_at > 0 ? 100 : -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* a start before the output it is for */
		if (p->ctl != -1 && (pfd[2].revents & (POLLIN | POLLHUP |
		    POLLERR))) {
			n = read(p->ctl, c, sizeof(c));
			if (n <= 0 && !(n == -1 && (errno == EAGAIN ||
			    errno == EINTR))) {
				/* the worker is gone */
				close(p->ctl);
				p->ctl = -1;
				p->forwarding = 0;
				gone_at = now_sec();
				continue;
			}
			for (i = 0; i < n; i++)
				command(p, c[i]);
			push(p);
		}
		for (k = 0; k < 2; k++)
			if (pfd[k].fd != -1 && (pfd[k].revents & (POLLIN |
			    POLLHUP | POLLERR)))
				(void)take(p, k, 0);
		if (p->ctl != -1 && (pfd[2].revents & POLLOUT))
			push(p);
	}
	_exit(0);
}

int
pump_pipes(struct pump *pu, char *err, size_t errlen)
{
	int	 a[2], b[2];

	pu->pid = 0;
	pu->ctl = -1;
	if (pipe(a) == -1)
		goto fail;
	if (pipe(b) == -1) {
		close(a[0]);
		close(a[1]);
		goto fail;
	}
	fcntl(a[0], F_SETFD, FD_CLOEXEC);
	fcntl(b[0], F_SETFD, FD_CLOEXEC);
	fcntl(a[1], F_SETFD, FD_CLOEXEC);
	fcntl(b[1], F_SETFD, FD_CLOEXEC);
	pu->rd_out = a[0];
	pu->sh_out = a[1];
	pu->rd_err = b[0];
	pu->sh_err = b[1];
	return 0;
fail:
	snprintf(err, errlen, "pipe: %s", strerror(errno));
	return -1;
}

int
pump_start(struct pump *pu, int out, int err_to, char *err, size_t errlen)
{
	struct pstate	 p;
	struct sigaction sa;
	int		 sv[2], fd, keep[5];
	long		 max;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pu->pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pu->pid == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		memset(&p, 0, sizeof(p));
		p.in[0] = keep[0] = pu->rd_out;
		p.in[1] = keep[1] = pu->rd_err;
		p.to[0] = keep[2] = out;
		p.to[1] = keep[3] = err_to == -1 ? out : err_to;
		p.ctl = keep[4] = sv[1];
		max = sysconf(_SC_OPEN_MAX);
		if (max < 0 || max > 65536)
			max = 65536;
		for (fd = 3; fd < max; fd++)
			if (fd != keep[0] && fd != keep[1] && fd != keep[2] &&
			    fd != keep[3] && fd != keep[4])
				close(fd);
		fcntl(p.in[0], F_SETFL, O_NONBLOCK);
		fcntl(p.in[1], F_SETFL, O_NONBLOCK);
		fcntl(p.ctl, F_SETFL, O_NONBLOCK);
		p.last_nl[0] = p.last_nl[1] = 1;
		run(&p);
	}
	close(sv[1]);
	close(pu->rd_out);
	close(pu->rd_err);
	close(pu->sh_out);
	close(pu->sh_err);
	pu->rd_out = pu->rd_err = pu->sh_out = pu->sh_err = -1;
	pu->ctl = sv[0];
	fcntl(pu->ctl, F_SETFD, FD_CLOEXEC);
	return 0;
}

void
pump_stop(struct pump *pu)
{
	int	 st;

	if (pu->ctl != -1)
		close(pu->ctl);
	pu->ctl = -1;
	if (pu->pid <= 0)
		return;
	(void)fdio_reap(pu->pid, pu->pid, 0, PUMP_LINGER_MS + 1000, &st);
	pu->pid = 0;
}
