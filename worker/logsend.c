/*
 * logsend: a task's output to the master.  See logsend.h.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "logsend.h"
#include "proto.h"
#include "sig.h"

#define FRAME_HEAD	5

static int chunk(struct logsend *, struct tp *, int, const char *, size_t,
    int);

void
logsend_start(struct logsend *l, struct tp *t, size_t line, long worker)
{
	l->line = line;
	l->worker = worker;
	l->off[0] = l->off[1] = 0;
	l->lost = 0;
	/* frames of a task whose end was not waited for are skipped */
	l->stale = l->active_was && !l->ended;
	l->ended = 0;
	l->said = 0;
	l->active = l->ctl != -1;
	if (l->active && fdio_write_all(l->ctl, l->on ? "S" : "N", 1) == -1)
		l->active = 0;
	l->active_was = l->active;
	/* an empty first chunk: an earlier attempt's file is emptied now */
	if (l->active && l->on && chunk(l, t, 0, NULL, 0, 0) == 0)
		(void)tp_async_io(t);
}

/* Queue one chunk of stream k.  0, or -1 when the session cannot now. */
static int
chunk(struct logsend *l, struct tp *t, int k, const char *s, size_t n,
    int end)
{
	struct proto_req q;

	proto_req_init(&q, PROTO_LOG);
	q.worker = l->worker;
	q.log_line = l->line;
	q.log_err = k;
	q.log_cap = l->cap;
	q.log_off = l->off[k];
	q.log_size = (long long)n;
	q.log_end = end;
	if (tp_async_send(t, &q, s, n) == -1)
		return -1;
	l->off[k] += (long long)n;
	return 0;
}

/* Output of stream k ('o' 0, 'e' 1) to the master, or counted as lost. */
static int
send_data(struct logsend *l, struct tp *t, int k, const char *s, size_t n)
{
	char	 mark[128];

	if (t->serve != 1 || t->spid <= 0) {
		l->lost += (long long)n;	/* no session: dropped */
		return 0;
	}
	if (TP_AQ_MAX - (t->aq.len - t->aq_off) < n + 2 * 256)
		return -1;			/* the pump keeps it */
	if (l->lost > 0) {
		snprintf(mark, sizeof(mark), "\n[rtq: %lld bytes of output "
		    "not sent to the master: no connection]\n", l->lost);
		if (chunk(l, t, 0, mark, strlen(mark), 0) == 0)
			l->lost = 0;
	}
	if (chunk(l, t, 0, s, n, 0) == -1)
		return -1;
	if (k == 1)
		(void)chunk(l, t, 1, s, n, 0);
	return 0;
}

/* Take the complete frames read so far, as far as the session lets. */
static void
take_frames(struct logsend *l, struct tp *t)
{
	uint32_t	 len;
	size_t		 at = 0;
	char		 type;

	while (l->in.len - at >= FRAME_HEAD) {
		type = l->in.s[at];
		memcpy(&len, l->in.s + at + 1, sizeof(len));
		if (l->in.len - at - FRAME_HEAD < len)
			break;
		if (type == 'E' && l->stale)
			l->stale = 0;
		else if (type == 'E')
			l->ended = 1;
		else if (l->stale)
			;
		else if (l->on && send_data(l, t, type == 'e', l->in.s + at +
		    FRAME_HEAD, len) == -1)
			break;
		at += FRAME_HEAD + len;
	}
	if (at > 0) {
		memmove(l->in.s, l->in.s + at, l->in.len - at);
		l->in.len -= at;
	}
}

/* Whether more frames may be read now (the session has room). */
static int
room(const struct logsend *l, const struct tp *t)
{
	return l->in.len < 2 * 65536 && (t->spid <= 0 ||
	    t->aq.len - t->aq_off < TP_AQ_MAX / 2);
}

static void
read_frames(struct logsend *l, struct tp *t)
{
	ssize_t	 n;

	if (buf_grow(&l->in, 65536) == -1)
		return;
	n = read(l->ctl, l->in.s + l->in.len, l->in.cap - l->in.len - 1);
	if (n > 0)
		l->in.len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* the pump is gone */
		close(l->ctl);
		l->ctl = -1;
		l->ended = 1;
	}
	take_frames(l, t);
}

int
logsend_fds(struct logsend *l, struct tp *t, struct pollfd *p)
{
	int	 n = 0;

	if (!l->active)
		return 0;
	if (l->ctl != -1 && room(l, t)) {
		p[n].fd = l->ctl;
		p[n++].events = POLLIN;
	}
	return n + tp_async_fds(t, p + n);
}

void
logsend_io(struct logsend *l, struct tp *t)
{
	struct pollfd	 p;

	if (!l->active)
		return;
	if (tp_async_io(t) == 1 && !l->said) {
		say("the master did not keep the output of line %zu: %s",
		    l->line, t->aerr);
		l->said = 1;
	}
	take_frames(l, t);
	p.fd = l->ctl;
	p.events = POLLIN;
	if (l->ctl != -1 && room(l, t) && poll(&p, 1, 0) == 1)
		read_frames(l, t);
}

void
logsend_end(struct logsend *l, struct tp *t)
{
	struct pollfd	 p[4];
	double		 end = now_sec() + LOGSEND_END_MS / 1000.0;
	int		 n, ms;

	if (!l->active)
		return;
	if (fdio_write_all(l->ctl, "E", 1) == -1)
		l->ended = 1;
	while (!l->ended && (ms = (int)((end - now_sec()) * 1000)) > 0) {
		n = logsend_fds(l, t, p);
		if (n == 0) {
			/* the session cannot take more: drop the rest */
			l->lost += (long long)l->in.len;
			buf_reset(&l->in);
			if (l->ctl != -1)
				read_frames(l, t);
			continue;
		}
		if (poll(p, (nfds_t)n, ms) == -1 && errno != EINTR)
			break;
		logsend_io(l, t);
	}
	if (l->on && t->serve == 1 && t->spid > 0) {
		/* the last chunks: rtq-claim folds the file's tail in */
		if (l->lost > 0) {
			char mark[128];

			snprintf(mark, sizeof(mark), "\n[rtq: %lld bytes of "
			    "output not sent to the master]\n", l->lost);
			(void)chunk(l, t, 0, mark, strlen(mark), 0);
		}
		(void)chunk(l, t, 0, NULL, 0, 1);
		if (l->off[1] > 0)
			(void)chunk(l, t, 1, NULL, 0, 1);
		(void)tp_async_io(t);
	}
	l->active = 0;
}
